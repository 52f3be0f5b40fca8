//! A web form's own page, `GET` or `POST /webForm/{id}`: the finAPI Test Bank's login, plain
//! HTML forms without JavaScript.

use chrono::{DateTime, Utc};

use crate::sim::form::{parse_form, single};
use crate::sim::ops::webform::completion::{complete, expire};
use crate::sim::state::webforms::{FINAL_STATUSES, PAGE_PREFIX};
use crate::sim::state::State;

/// The finAPI Test Bank's PIN; any user id logs in with it.
pub const TEST_BANK_PIN: &str = "123456";

/// A web form's page, `GET` or `POST /webForm/{id}`: the finAPI Test Bank's login. Opening it
/// moves the form to `IN_PROGRESS`; the right PIN completes it, the abort button aborts it, a
/// wrong PIN shows an error and leaves it open. Plain HTML forms, no JavaScript.
pub fn page(
    state: &mut State,
    method: &http::Method,
    id: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> (u16, String) {
    expire(state, now);
    let Some(form) = state.webform.forms.get(id) else {
        return (
            404,
            html("Web form not found", "<p>There is no such web form.</p>"),
        );
    };
    if FINAL_STATUSES.contains(&form.status) {
        let text = format!(
            "<p id=\"status\" data-status=\"{0}\">This web form is {0}.</p>",
            form.status
        );
        return (200, html("Web form finished", &text));
    }
    let mut error = "";
    if method == http::Method::POST {
        let form_body = parse_form(body).unwrap_or_default();
        let field = |k: &str| {
            single(&form_body, k)
                .ok()
                .flatten()
                .unwrap_or("")
                .to_string()
        };
        if field("action") == "abort" {
            let _ = complete(state, id, "ABORTED", now);
            return page(state, &http::Method::GET, id, b"", now);
        }
        if !field("username").trim().is_empty() && field("pin") == TEST_BANK_PIN {
            let _ = complete(state, id, "COMPLETED", now);
            return page(state, &http::Method::GET, id, b"", now);
        }
        error = "<p id=\"error\" class=\"error\">Login failed: wrong user id or PIN.</p>";
    }
    let form = state.webform.forms.get_mut(id).expect("found above");
    form.status = "IN_PROGRESS";
    let body = format!(
        "<h1>finAPI Test Bank</h1>\n<p id=\"status\" data-status=\"IN_PROGRESS\">{kind}</p>\n{error}\n\
<form method=\"post\" action=\"{PAGE_PREFIX}{id}\">\n\
<label>User id <input name=\"username\" autocomplete=\"username\"></label>\n\
<label>PIN <input name=\"pin\" type=\"password\" autocomplete=\"current-password\"></label>\n\
<button name=\"action\" value=\"login\" type=\"submit\">Log in</button>\n\
<button name=\"action\" value=\"abort\" type=\"submit\">Abort</button>\n</form>\n\
<p class=\"hint\">Any user id and the PIN {TEST_BANK_PIN} log in.</p>",
        kind = form.kind,
    );
    (200, html("finAPI Web Form", &body))
}

fn html(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
}

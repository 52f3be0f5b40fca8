//! `Then` steps about the last answer: its status, whether it let the caller through, and the
//! shape of its error body (the shape checks are the model's own, `model::expect`).

use cucumber::{then, when};
use serde_json::Value;

use crate::model::expect::{
    bad_credentials_shape, error_message_shape, refusal_shape, refusal_status,
};
use crate::model::Outcome;
use crate::model::Principal;
use crate::runner::http::HttpRequest;
use crate::runner::Session;

use crate::gherkin::world::named_operation;
use crate::gherkin::{principal, FinapiWorld};

#[then(regex = r"^the answer has status (\d{3})$")]
async fn has_status(world: &mut FinapiWorld, status: u16) {
    let got = world.last().status;
    assert_eq!(got, status, "the answer has status {got}, not {status}");
}

#[then(regex = r"^the request is (allowed|denied|refused)$")]
async fn request_is(world: &mut FinapiWorld, word: String) {
    let status = world.last().status;
    let ok = match word.as_str() {
        "allowed" => (200..300).contains(&status),
        // The role boundary: 401 (no valid token) or 403 (wrong role).
        "denied" => status == 401 || status == 403,
        // Anything but success (token endpoint refusals are 400, 401, 403 or 423).
        _ => !(200..300).contains(&status) && status != 0,
    };
    assert!(ok, "expected the request to be {word}, got status {status}");
}

#[then(regex = r#"^the answer body has "error" and "error_description"$"#)]
async fn bad_credentials_body(world: &mut FinapiWorld) {
    if let Err(why) = bad_credentials_shape(&world.last().body) {
        panic!("{why}");
    }
}

#[then(regex = r#"^the answer body is an ErrorMessage(?: with code "([^"]+)")?$"#)]
async fn error_message_body(world: &mut FinapiWorld, code: String) {
    let code = (!code.is_empty()).then_some(code.as_str());
    if let Err(why) = error_message_shape(&world.last().body, code) {
        panic!("{why}");
    }
}

/// A refusal in the body finAPI gives it: 401 with `{error, error_description}`, 403 with an
/// ErrorMessage coded `UNAUTHORIZED_ACCESS`. With `--strict`, the status the operation
/// documents (`Operation::unauthenticated_status`, `Operation::forbidden_status`, under the
/// suite's readings); by default, as `check` judges, any 401 or 403, in its own body.
#[then(
    regex = r#"^the answer is the refusal "([^"]+)" documents for (a wrong role|a dead token)$"#
)]
async fn documented_refusal(world: &mut FinapiWorld, id: String, what: String) {
    let version = world.api_version();
    let op = named_operation(&world.session().await.catalogue, version, &id);
    let outcome = if what == "a wrong role" {
        Outcome::Forbidden
    } else {
        Outcome::Unauthenticated
    };
    let want = refusal_status(&op, outcome);
    let got = world.last().status;
    assert!(
        world.refuses(got, want),
        "{id} documents {want} for {what}, the answer has {got}"
    );
    if let Err(why) = refusal_shape(&op, got, &world.last().body) {
        panic!("{why}");
    }
}

#[when(regex = r#"^(.+) looks up "([^"]+)" in the user list$"#)]
async fn look_up(world: &mut FinapiWorld, who: String, name: String) {
    let who: Principal = principal(&who);
    let user = world.user(&name).user;
    let client = world.client(who).await;
    let session = world.session().await;
    let token = crate::runner::session::access_token(&session.client_token(&client).await)
        .unwrap_or_else(|| panic!("the {who} cannot get a token"));
    let q = serde_urlencoded::to_string([("userId", &user.id)]).unwrap_or_default();
    let path = format!("{}?{q}", session.path("getUserList"));
    let resp = session
        .http
        .send(&HttpRequest::new(http::Method::GET, path).bearer(Some(token)))
        .await;
    world.last = Some(resp);
}

fn listed_ids(world: &FinapiWorld) -> Vec<String> {
    world
        .last()
        .json()
        .get("users")
        .and_then(Value::as_array)
        .map(|users| {
            users
                .iter()
                .filter_map(|u| u.get("userId").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[then(regex = r#"^the answer lists "([^"]+)"$"#)]
async fn lists_user(world: &mut FinapiWorld, name: String) {
    assert!(
        user_listed(world, &name),
        "\"{name}\" is not in the user list"
    );
}

/// Whether the last answer, a user list the target let through, shows the named user's id.
fn user_listed(world: &mut FinapiWorld, name: &str) -> bool {
    let id = world.user(name).user.id;
    let status = world.last().status;
    assert!(
        (200..300).contains(&status),
        "the user list was refused ({status})"
    );
    listed_ids(world)
        .iter()
        .any(|l| l.eq_ignore_ascii_case(&id))
}

#[then(regex = r"^the answer lists no user$")]
async fn lists_none(world: &mut FinapiWorld) {
    let listed = listed_ids(world);
    assert!(
        listed.is_empty(),
        "the user list shows {} user(s) it must not",
        listed.len()
    );
}

/// The scenario's session and an access token of the admin client.
async fn admin_session(world: &mut FinapiWorld) -> (&Session, String) {
    let admin = world.client(Principal::AdminClient).await;
    let session = world.session().await;
    let token = crate::runner::session::access_token(&session.client_token(&admin).await)
        .unwrap_or_else(|| panic!("the admin client cannot get a token"));
    (session, token)
}

#[when(regex = r#"^the admin client deletes the user "([^"]+)"$"#)]
async fn admin_deletes(world: &mut FinapiWorld, name: String) {
    let user = world.user(&name).user;
    let (session, token) = admin_session(world).await;
    // Only the scenario's own user is named, so nothing else can be deleted.
    let req = HttpRequest::new(http::Method::POST, session.path("deleteUsers"))
        .bearer(Some(token))
        .json(serde_json::json!({ "userIds": [user.id] }));
    let resp = session.http.send(&req).await;
    world.last = Some(resp);
}

#[when(regex = r"^the admin client lists the deleted users$")]
async fn list_deleted(world: &mut FinapiWorld) {
    let (session, token) = admin_session(world).await;
    let path = format!(
        "{}?isDeleted=true&perPage=500&order=userId,desc",
        session.path("getUserList")
    );
    let resp = session
        .http
        .send(&HttpRequest::new(http::Method::GET, path).bearer(Some(token)))
        .await;
    world.last = Some(resp);
}

#[then(regex = r#"^the answer does not show the id of "([^"]+)"$"#)]
async fn id_not_shown(world: &mut FinapiWorld, name: String) {
    assert!(
        !user_listed(world, &name),
        "the id of \"{name}\" is listed in clear"
    );
}

//! The embeddable script finAPI's loader (`@finapi/web-form`) fetches: it shows a web form's
//! page in an iframe and tells the embedding page how the form ended.

use crate::sim::form::query_value;

/// The path of the embeddable script finAPI's loader (`@finapi/web-form`) fetches:
/// `/finapi-webform2.js?t=..&token=<web form id>&tagname=<custom element name>`.
pub const SCRIPT_PATH: &str = crate::model::WEBFORM_SCRIPT_PATH;

/// The embeddable script: it defines the custom element `tagname`, which shows the web form's
/// page in an iframe, fires `loaded` once it is shown, and `complete`, `fail` (with the status
/// as detail) or `abort` once the form ends by any route (polled every half second).
/// `base` is the front door's own address. `(status, body)`; 400 with a JavaScript comment when `tagname` or `token` is unusable.
pub fn script(query: Option<&str>, base: &str) -> (u16, String) {
    let tag = query_value(query, "tagname", |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
    })
    .filter(|t| t.contains('-') && t.starts_with(|c: char| c.is_ascii_lowercase()));
    let token = query_value(query, "token", |c| c.is_ascii_hexdigit() || c == '-');
    let (Some(tag), Some(token)) = (tag, token) else {
        return (
            400,
            "/* finapi-webform2.js needs `tagname` (a custom element name) and `token` (a web form id) */\n"
                .into(),
        );
    };
    let script = r#"(function () {
  var BASE = "__BASE__", TOKEN = "__TOKEN__", TAG = "__TAG__", seq = 0;
  function poll(el, id) {
    var name = "__finapiWebForm" + (++seq);
    var s = document.createElement("script");
    window[name] = function (answer) {
      delete window[name];
      s.remove();
      var st = answer && answer.status;
      if (st === "COMPLETED") { el.dispatchEvent(new CustomEvent("complete")); return; }
      if (st === "ABORTED") { el.dispatchEvent(new CustomEvent("abort")); return; }
      if (st === "COMPLETED_WITH_ERROR" || st === "EXPIRED") {
        el.dispatchEvent(new CustomEvent("fail", { detail: st })); return;
      }
      if (el.isConnected) { el._timer = setTimeout(function () { poll(el, id); }, 500); }
    };
    s.onerror = function () { if (el.isConnected) { el._timer = setTimeout(function () { poll(el, id); }, 500); } };
    s.src = BASE + "/webForm/" + encodeURIComponent(id) + "/status.js?callback=" + name;
    document.head.appendChild(s);
  }
  customElements.define(TAG, class extends HTMLElement {
    connectedCallback() {
      var el = this, id = (el.properties && el.properties.token) || el.token || TOKEN;
      var frame = document.createElement("iframe");
      frame.src = BASE + "/webForm/" + encodeURIComponent(id);
      frame.title = "finAPI Web Form";
      frame.style.width = "100%";
      frame.style.minHeight = "420px";
      frame.style.border = "0";
      frame.addEventListener("load", function once() {
        frame.removeEventListener("load", once);
        el.dispatchEvent(new CustomEvent("loaded"));
      });
      el.appendChild(frame);
      poll(el, id);
    }
    disconnectedCallback() { clearTimeout(this._timer); }
  });
})();
"#;
    (
        200,
        script
            .replace("__BASE__", base)
            .replace("__TOKEN__", &token)
            .replace("__TAG__", &tag),
    )
}

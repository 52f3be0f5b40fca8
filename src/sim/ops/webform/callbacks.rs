//! Web Form callbacks as the simulator decides them: a callback goes only to a loopback host
//! unless the settings allow its host. Every decision is recorded
//! ([`WebForms::callbacks`]); an allowed callback is queued in the state's outbox, which the
//! simulator hands to its caller with the answer. Sending is the front door's job.

use std::net::IpAddr;

use crate::sim::message::Callback;
use crate::sim::state::webforms::WebForms;

/// Whether a callback may go to `callback`'s URL: loopback hosts always, others only when
/// allowed.
pub fn allowed(forms: &WebForms, callback: &Callback) -> Result<(), String> {
    let host = callback.target()?.host;
    let loopback = host
        .parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(host.eq_ignore_ascii_case("localhost"));
    if !loopback
        && !forms
            .callback_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
    {
        return Err(format!(
            "callback host {host} is not loopback and not allowed (allow it explicitly)"
        ));
    }
    Ok(())
}

/// Decide a callback of `body` to `url`: record the decision, and queue the callback when it
/// is allowed.
pub fn queue(forms: &mut WebForms, url: &str, body: String) {
    let callback = Callback {
        url: url.to_string(),
        body,
    };
    let outcome = allowed(forms, &callback);
    if let Err(reason) = &outcome {
        tracing::warn!(reason = %reason, "web form callback refused");
    } else {
        forms.outbox.push(callback.clone());
    }
    forms.callbacks.push((callback, outcome));
}

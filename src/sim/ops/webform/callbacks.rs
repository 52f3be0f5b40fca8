//! Web Form callbacks: a callback goes only to a loopback host unless the settings allow its
//! host; every decision is recorded in [`WebForms::callbacks`].

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration as StdDuration;

use crate::sim::message::Callback;
use crate::sim::state::webforms::WebForms;

/// An `http(s)://host[:port]/path?query` URL taken apart: host, port, path and query.
fn split_url(url: &str) -> Result<(String, u16, String), String> {
    let (scheme, rest) = url.split_once("://").ok_or("not an absolute URL")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        other => return Err(format!("unsupported scheme {other}")),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) => (&rest[..at], rest[at..].to_string()),
        None => (rest, "/".to_string()),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path
    };
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("bad IPv6 host")?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        None => default_port,
        Some(p) => p.parse().map_err(|_| format!("bad port {p}"))?,
    };
    if host.is_empty() || path.contains(['\r', '\n', ' ']) {
        return Err("bad host or path".into());
    }
    Ok((host, port, path))
}

/// Whether a callback may go to `url`: loopback hosts always, others only when allowed.
pub fn callback_allowed(forms: &WebForms, url: &str) -> Result<SocketAddr, String> {
    let (host, port, _) = split_url(url)?;
    let host_bare = host.as_str();
    let loopback = host_bare
        .parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(host_bare.eq_ignore_ascii_case("localhost"));
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
    (host_bare, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| format!("{host} does not resolve"))
}

/// Send a callback in the background (the mock has no TLS: an `https` callback goes out as
/// plain HTTP/1.1 to the same host and port). Recorded in [`WebForms::callbacks`].
pub fn send_callback(forms: &mut WebForms, url: &str, body: String) {
    let callback = Callback {
        url: url.to_string(),
        body: body.clone(),
    };
    let target = callback_allowed(forms, url);
    let outcome = target.as_ref().map(|_| ()).map_err(Clone::clone);
    if let Err(reason) = &outcome {
        tracing::warn!(reason = %reason, "web form callback refused");
    }
    forms.callbacks.push((callback, outcome));
    let Ok(addr) = target else { return };
    let Ok((host, _, path)) = split_url(url) else {
        return;
    };
    std::thread::spawn(move || {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let sent =
            TcpStream::connect_timeout(&addr, StdDuration::from_secs(5)).and_then(|mut s| {
                s.set_write_timeout(Some(StdDuration::from_secs(5)))?;
                s.set_read_timeout(Some(StdDuration::from_secs(5)))?;
                s.write_all(request.as_bytes())?;
                // Wait for the receiver's answer (or its close), so it sees the whole request.
                let mut buf = [0u8; 256];
                let _ = std::io::Read::read(&mut s, &mut buf);
                Ok(())
            });
        if let Err(e) = sent {
            tracing::warn!(error = %e, "web form callback could not be delivered");
        }
    });
}

//! Fuzz target: arbitrary bytes -> a `SimRequest` -> `Simulator::handle`. No input may panic,
//! get a 5xx, or get an error that is not JSON.
//!
//! Input layout (fields split at 0x00): a method selector byte, then path, query, headers
//! (`name: value` lines) and body. `$APP`, `$USER` and `$ADMIN` in a header value become live
//! tokens, so inputs can reach past the guard into the handlers.
#![no_main]

use std::sync::OnceLock;

use finapi_conformance::sim::{SimRequest, Simulator};
use finapi_conformance::world::demo;
use finapi_conformance::World;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;

const METHODS: [&str; 8] = ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "FOO"];

struct Fixture {
    sim: Simulator,
    tokens: [(&'static str, String); 3],
}

fn grant(sim: &Simulator, form: &str) -> String {
    let r = sim.call(
        "POST",
        "/api/v2/oauth/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    r.json()["access_token"].as_str().unwrap_or("").to_string()
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let sim = Simulator::new(&World::demo());
        let client = |(id, secret): (&str, &str)| {
            format!("grant_type=client_credentials&client_id={id}&client_secret={secret}")
        };
        let app = grant(&sim, &client(demo::APP_CLIENT));
        let admin = grant(&sim, &client(demo::ADMIN_CLIENT));
        let user = grant(
            &sim,
            &format!(
                "grant_type=password&client_id={}&client_secret={}&username={}&password={}",
                demo::APP_CLIENT.0,
                demo::APP_CLIENT.1,
                demo::USERS[1].0,
                demo::USERS[1].1
            ),
        );
        Fixture {
            sim,
            tokens: [("$APP", app), ("$USER", user), ("$ADMIN", admin)],
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let mut fields = rest.splitn(4, |b| *b == 0);
    let path = String::from_utf8_lossy(fields.next().unwrap_or_default());
    let query = fields.next().map(String::from_utf8_lossy);
    let header_bytes = fields.next().unwrap_or_default();
    let body = fields.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    for line in header_bytes.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let mut value = line[colon + 1..].trim_ascii().to_vec();
        for (placeholder, token) in &f.tokens {
            if let Some(at) = value
                .windows(placeholder.len())
                .position(|w| w == placeholder.as_bytes())
            {
                value.splice(at..at + placeholder.len(), token.bytes());
            }
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(&value),
        ) {
            headers.append(name, value);
        }
    }
    let method = Method::from_bytes(METHODS[selector as usize % METHODS.len()].as_bytes())
        .expect("valid method");
    let response = f.sim.handle(&SimRequest {
        method: &method,
        path: &path,
        query: query.as_deref(),
        headers: &headers,
        body,
    });
    assert!(response.status < 500, "status {}", response.status);
    if response.status >= 400 {
        assert!(
            serde_json_is_object(&response.body),
            "error body is not a JSON object"
        );
    }
});

/// A tiny check without pulling serde_json in: errors are JSON objects.
fn serde_json_is_object(body: &[u8]) -> bool {
    body.first() == Some(&b'{') && body.last() == Some(&b'}')
}

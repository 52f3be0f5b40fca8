//! Target profiles: the simulator answering like a real, busy deployment instead of the
//! faithful mock, with the same role boundaries.
//!
//! A [`Profile`] is a set of knobs that combine (`serve --profile validate-first,rate-limit`,
//! `FinapiMock::builder().profile(..)`); `staging` switches on all of them. With no profile the
//! simulator is the faithful mock and its hot path only tests one `Option`.
//!
//! | knob             | what the simulator does |
//! |------------------|-------------------------|
//! | `validate-first` | checks the request (body, field types) before the role: a wrong-role call with an invalid body gets 400, not 403 (as Spring bean validation before method security) |
//! | `rate-limit`     | a token bucket on the simulator's clock: [`RateLimit::STAGING`] (burst 40, 20 per second); an empty bucket answers 429 with `Retry-After` |
//! | `flaky`          | seeded: 2% of requests get 503 with `Retry-After: 1`, 0.5% time out (see below) |
//! | `latency`        | seeded: every answer is held for 5 to 60 ms |
//! | `long-tokens`    | access and refresh tokens are 128 characters long (finAPI's V1 maximum) |
//! | `alt-errors`     | the documented alternatives: 401 bodies spell `errorDescription` (as the V1 components example does), ErrorMessage leaves out its optional fields (`bank`, `errors[].multiStepAuthentication`) and dates use the V1 format `YYYY-MM-DD HH:MM:SS.SSS` on both versions |
//! | `seed=N`         | the seed of the 503s, timeouts and latencies (default 1) |
//!
//! Refused requests (429, 503, timeouts) are refused before the simulator looks at them, so
//! they change no state and retrying them is safe.
//!
//! **Delays and timeouts are the front door's job**, never a blocking sleep here: the
//! simulator attaches [`Hints`] to its answer. `serve` holds the answer for `delay` on the
//! simulator's clock ([`Clock::wait`](crate::sim::Clock::wait): a real async sleep on the system clock, an instant move
//! of a fixed clock in tests) and answers a timed-out request by closing the connection
//! without an answer (the client sees the connection drop, as it would after a gateway
//! timeout). The wiremock front door cannot close a connection: it holds the answer for
//! [`HANG`] and then answers 503 (on a fixed clock it moves the clock and answers at once).
//!
//! 503s, timeouts and latencies are drawn from one seeded generator in the order requests
//! arrive: a sequential client sees the same sequence on every run; concurrent clients see
//! the same rates in a different order.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde_json::Value;

use crate::faults::Violation;
use crate::model::ApiVersion;
use crate::sim::dates::moment;
use crate::sim::error::ApiError;
pub use crate::sim::message::Hints;

/// How long the wiremock front door holds a timed-out request before answering 503.
pub const HANG: Duration = Duration::from_secs(60);

/// Length of tokens under `long-tokens` (finAPI V1 documents access tokens of up to 128).
pub const LONG_TOKEN_LEN: usize = 128;

/// A token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed at once after a quiet period.
    pub burst: u32,
    /// Requests the bucket regains per second of the simulator's clock.
    pub per_second: u32,
}

impl RateLimit {
    pub const STAGING: RateLimit = RateLimit {
        burst: 40,
        per_second: 20,
    };
}

/// Seeded unavailability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flaky {
    /// Requests per thousand answered 503 (with `Retry-After: 1`).
    pub unavailable_per_mille: u16,
    /// Requests per thousand that time out.
    pub timeout_per_mille: u16,
}

impl Flaky {
    pub const STAGING: Flaky = Flaky {
        unavailable_per_mille: 20,
        timeout_per_mille: 5,
    };
}

/// Seeded latency, uniform between `min` and `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub min: Duration,
    pub max: Duration,
}

impl Latency {
    pub const STAGING: Latency = Latency {
        min: Duration::from_millis(5),
        max: Duration::from_millis(60),
    };
}

/// A set of knobs; `Profile::default()` is the faithful mock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub validate_first: bool,
    pub rate_limit: Option<RateLimit>,
    pub flaky: Option<Flaky>,
    pub latency: Option<Latency>,
    pub long_tokens: bool,
    pub alt_errors: bool,
    /// Seed of the 503s, timeouts and latencies.
    pub seed: u64,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            validate_first: false,
            rate_limit: None,
            flaky: None,
            latency: None,
            long_tokens: false,
            alt_errors: false,
            seed: 1,
        }
    }
}

/// The knob names `--profile` takes, with what each does (`staging` is all of them).
pub const KNOBS: &[(&str, &str)] = &[
    (
        "validate-first",
        "the request is validated before the role check (400 for a wrong-role call with a bad body)",
    ),
    ("rate-limit", "token bucket (burst 40, 20/s); 429 with Retry-After"),
    ("flaky", "seeded 503s (2%) and timeouts (0.5%, the connection closes)"),
    ("latency", "seeded latency of 5 to 60 ms"),
    ("long-tokens", "128-character tokens"),
    (
        "alt-errors",
        "401 with errorDescription, ErrorMessage without optional fields, V1 dates",
    ),
    ("staging", "all of the above"),
];

impl Profile {
    /// Every knob on: a validating, rate-limited, flaky, slow deployment.
    pub fn staging() -> Profile {
        Profile {
            validate_first: true,
            rate_limit: Some(RateLimit::STAGING),
            flaky: Some(Flaky::STAGING),
            latency: Some(Latency::STAGING),
            long_tokens: true,
            alt_errors: true,
            seed: 1,
        }
    }

    /// Only the knob `name` (one of [`KNOBS`]) on.
    pub fn knob(name: &str) -> Result<Profile, String> {
        Profile::default().with(name)
    }

    /// This profile with the knob `name` switched on (or `seed=N` set).
    pub fn with(mut self, name: &str) -> Result<Profile, String> {
        let name = name.trim();
        if let Some(seed) = name.strip_prefix("seed=") {
            self.seed = seed
                .parse()
                .map_err(|_| format!("`{seed}` is not a seed (a whole number)"))?;
            return Ok(self);
        }
        match name {
            "validate-first" => self.validate_first = true,
            "rate-limit" => self.rate_limit = Some(RateLimit::STAGING),
            "flaky" => self.flaky = Some(Flaky::STAGING),
            "latency" => self.latency = Some(Latency::STAGING),
            "long-tokens" => self.long_tokens = true,
            "alt-errors" => self.alt_errors = true,
            "staging" => {
                let seed = self.seed;
                self = Profile {
                    seed,
                    ..Profile::staging()
                }
            }
            "faithful" | "" => {}
            other => {
                let names: Vec<&str> = KNOBS.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "unknown profile knob `{other}` (known: {}, seed=N)",
                    names.join(", ")
                ));
            }
        }
        Ok(self)
    }

    /// True when no knob is on.
    pub fn is_faithful(&self) -> bool {
        self.names().is_empty()
    }

    /// The names of the knobs that are on.
    pub fn names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let on = [
            (self.validate_first, "validate-first"),
            (self.rate_limit.is_some(), "rate-limit"),
            (self.flaky.is_some(), "flaky"),
            (self.latency.is_some(), "latency"),
            (self.long_tokens, "long-tokens"),
            (self.alt_errors, "alt-errors"),
        ];
        for (is_on, name) in on {
            if is_on {
                out.push(name);
            }
        }
        out
    }
}

impl FromStr for Profile {
    type Err = String;
    /// `staging`, or knob names separated by commas (`validate-first,rate-limit,seed=7`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',').try_fold(Profile::default(), Profile::with)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.names();
        if names.is_empty() {
            f.write_str("faithful")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

/// The profile's moving parts inside a running simulator.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) profile: Profile,
    bucket: Mutex<Bucket>,
    rng: Mutex<SplitMix>,
}

#[derive(Debug)]
struct Bucket {
    /// Thousandths of a request, so refills need no floating point.
    milli_tokens: u64,
    at: DateTime<Utc>,
}

/// splitmix64: tiny, seedable and the same on every platform and crate version.
#[derive(Debug)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// The profile's decision before the simulator looks at a request.
#[derive(Debug)]
pub(crate) enum Admit {
    /// Handle it, then apply these hints.
    Go(Hints),
    /// Answer with this error (429, 503) and these hints, without handling it.
    Refuse(ApiError, Hints),
}

impl Runtime {
    pub(crate) fn new(profile: Profile, now: DateTime<Utc>) -> Runtime {
        let burst = profile.rate_limit.map_or(0, |r| r.burst);
        Runtime {
            rng: Mutex::new(SplitMix(profile.seed)),
            bucket: Mutex::new(Bucket {
                milli_tokens: u64::from(burst) * 1000,
                at: now,
            }),
            profile,
        }
    }

    /// Decide, before handling, whether the request is served, refused or timed out.
    pub(crate) fn admit(&self, now: DateTime<Utc>) -> Admit {
        let p = &self.profile;
        let mut hints = Hints::default();
        if p.latency.is_some() || p.flaky.is_some() {
            let mut rng = self.rng.lock();
            if let Some(l) = p.latency {
                let span = l.max.saturating_sub(l.min).as_millis() as u64;
                let ms = l.min.as_millis() as u64 + rng.below(span + 1);
                hints.delay = Some(Duration::from_millis(ms));
            }
            if let Some(f) = p.flaky {
                let roll = rng.below(1000) as u16;
                if roll < f.timeout_per_mille {
                    hints.close = true;
                    return Admit::Refuse(
                        ApiError::new(503, "UNEXPECTED_ERROR", "the gateway timed out"),
                        hints,
                    );
                }
                if roll < f.timeout_per_mille.saturating_add(f.unavailable_per_mille) {
                    hints.retry_after = Some(1);
                    return Admit::Refuse(
                        ApiError::new(
                            503,
                            "UNEXPECTED_ERROR",
                            "the service is temporarily unavailable",
                        ),
                        hints,
                    );
                }
            }
        }
        if let Some(limit) = p.rate_limit {
            if let Some(wait) = self.take(limit, now) {
                hints.retry_after = Some(wait);
                return Admit::Refuse(
                    ApiError::new(
                        429,
                        "UNEXPECTED_ERROR",
                        format!("too many requests; retry after {wait} s"),
                    ),
                    hints,
                );
            }
        }
        Admit::Go(hints)
    }

    /// Take one request from the bucket; `Some(seconds to wait)` when it is empty.
    fn take(&self, limit: RateLimit, now: DateTime<Utc>) -> Option<u32> {
        let mut b = self.bucket.lock();
        let elapsed_ms = (now - b.at).num_milliseconds().max(0) as u64;
        let cap = u64::from(limit.burst.max(1)) * 1000;
        // per_second requests per 1000 ms = per_second milli-requests per ms.
        let gained = elapsed_ms.saturating_mul(u64::from(limit.per_second));
        b.milli_tokens = b.milli_tokens.saturating_add(gained).min(cap);
        if now > b.at {
            b.at = now;
        }
        if b.milli_tokens >= 1000 {
            b.milli_tokens -= 1000;
            return None;
        }
        let missing = 1000 - b.milli_tokens;
        let per_ms = u64::from(limit.per_second.max(1));
        let wait_ms = missing.div_ceil(per_ms);
        Some(wait_ms.div_ceil(1000).max(1) as u32)
    }
}

/// Breaks that no inert or run-owned probe can show against a simulator with a
/// validate-first profile, with the reason (docs/profiles.md lists the same; a test holds both to
/// this list).
pub const NOT_OBSERVABLE_VALIDATE_FIRST: &[(Violation, &str)] = &[];

/// The deliberate breaks the runner cannot show against a target with `profile`, each with
/// the reason. Every other break is reported under its rule (`tests/profiles.rs`).
pub fn not_observable(profile: &Profile) -> &'static [(Violation, &'static str)] {
    if profile.validate_first {
        NOT_OBSERVABLE_VALIDATE_FIRST
    } else {
        &[]
    }
}

/// A fresh token of [`LONG_TOKEN_LEN`] URL-safe characters (6 random bits each).
pub fn long_token() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    crate::sim::random::random_bytes::<LONG_TOKEN_LEN>()
        .iter()
        .map(|b| ALPHABET[usize::from(b & 63)] as char)
        .collect()
}

/// The token the simulator issues under `profile`: 128 characters under `long-tokens`, else
/// its usual 48.
pub fn fresh_token(profile: Option<&Profile>) -> String {
    if profile.is_some_and(|p| p.long_tokens) {
        long_token()
    } else {
        crate::sim::random::random_token()
    }
}

/// `alt-errors`: rewrite an error body into the documented alternative spelling.
pub fn alter_error_body(body: &mut Value, now: DateTime<Utc>) {
    let Some(obj) = body.as_object_mut() else {
        return;
    };
    if let Some(desc) = obj.remove("error_description") {
        obj.insert("errorDescription".into(), desc);
        return;
    }
    obj.remove("bank");
    if obj.contains_key("date") {
        obj.insert("date".into(), Value::String(moment(ApiVersion::V1, now)));
    }
    if let Some(errors) = obj.get_mut("errors").and_then(Value::as_array_mut) {
        for e in errors {
            if let Some(e) = e.as_object_mut() {
                e.remove("multiStepAuthentication");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_combine_and_print_back() {
        let p: Profile = "validate-first,rate-limit,seed=7".parse().unwrap();
        assert!(p.validate_first && p.rate_limit.is_some() && !p.long_tokens);
        assert_eq!(p.seed, 7);
        assert_eq!(p.to_string(), "validate-first,rate-limit");
        let s: Profile = "staging".parse().unwrap();
        assert_eq!(s, Profile::staging());
        assert_eq!(s.names().len(), KNOBS.len() - 1);
        assert!(Profile::default().is_faithful());
        assert!("nonsense"
            .parse::<Profile>()
            .unwrap_err()
            .contains("known:"));
    }

    #[test]
    fn the_bucket_empties_and_refills_on_the_clock() {
        let clock = crate::sim::Clock::epoch();
        let rt = Runtime::new(
            Profile {
                rate_limit: Some(RateLimit {
                    burst: 2,
                    per_second: 1,
                }),
                ..Profile::default()
            },
            clock.now(),
        );
        assert!(matches!(rt.admit(clock.now()), Admit::Go(_)));
        assert!(matches!(rt.admit(clock.now()), Admit::Go(_)));
        match rt.admit(clock.now()) {
            Admit::Refuse(e, h) => {
                assert_eq!(e.status(), 429);
                assert_eq!(h.retry_after, Some(1));
            }
            other => panic!("{other:?}"),
        }
        clock.advance(Duration::from_secs(1));
        assert!(matches!(rt.admit(clock.now()), Admit::Go(_)));
    }

    #[test]
    fn flaky_answers_follow_the_seed() {
        let run = |seed| {
            let rt = Runtime::new(
                Profile {
                    flaky: Some(Flaky {
                        unavailable_per_mille: 100,
                        timeout_per_mille: 100,
                    }),
                    latency: Some(Latency::STAGING),
                    seed,
                    ..Profile::default()
                },
                Utc::now(),
            );
            (0..200)
                .map(|_| match rt.admit(Utc::now()) {
                    Admit::Go(h) => (0, h.delay),
                    Admit::Refuse(_, h) if h.close => (1, None),
                    Admit::Refuse(..) => (2, None),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        let outcomes = run(3);
        assert!(outcomes.iter().any(|o| o.0 == 1) && outcomes.iter().any(|o| o.0 == 2));
        assert!(outcomes.iter().filter(|o| o.0 == 0).all(|o| o
            .1
            .is_some_and(|d| d >= Latency::STAGING.min && d <= Latency::STAGING.max)));
    }

    #[test]
    fn long_tokens_have_finapis_length() {
        let t = long_token();
        assert_eq!(t.len(), LONG_TOKEN_LEN);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}

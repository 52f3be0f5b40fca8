//! The upstream's own time, which decides whether a token has expired: read from the `Date` of
//! its answers (the mocks stamp it from their clock, a moved clock included) and from the clock
//! calls that pass through (`/__finapi/clock`), never from the proxy's own clock alone.

use std::time::Instant;

use chrono::{DateTime, Utc};

/// How far apart two readings of one moment may be: `Date` has whole seconds, `expires_in`
/// is rounded, and a token is issued a moment before its answer is dated.
const SLACK: chrono::Duration = chrono::Duration::seconds(2);

/// The latest reading of the upstream's time and when the proxy took it.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpstreamClock {
    last: Option<(DateTime<Utc>, Instant)>,
}

impl UpstreamClock {
    /// The upstream said it is `at` now.
    pub fn observe(&mut self, at: DateTime<Utc>) {
        self.last = Some((at, Instant::now()));
    }

    /// The upstream's time now: the latest reading plus the time since (the proxy's own clock
    /// when the upstream never said).
    pub fn now(&self) -> DateTime<Utc> {
        match self.last {
            Some((at, taken)) => chrono::Duration::from_std(taken.elapsed())
                .ok()
                .and_then(|d| at.checked_add_signed(d))
                .unwrap_or(at),
            None => Utc::now(),
        }
    }

    /// The upstream's time for an answer: its own `Date` when it has one (and that becomes
    /// the latest reading), else [`UpstreamClock::now`].
    pub fn at_answer(&mut self, date: Option<DateTime<Utc>>) -> DateTime<Utc> {
        match date {
            Some(at) => {
                self.observe(at);
                at
            }
            None => self.now(),
        }
    }
}

/// An HTTP date (`Date: Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// A token's life at a moment of the upstream's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    /// Not expired, by more than the readings' slack (or it never expires, or its expiry is
    /// not known).
    Alive,
    /// Within the slack of its expiry: neither alive nor expired is shown.
    Edge,
    /// Expired, by more than the slack.
    Expired,
}

/// The life at `now` of a token that expires at `expires` (`None`: not said).
pub(crate) fn life(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Life {
    let Some(at) = expires else {
        return Life::Alive;
    };
    if now >= at + SLACK {
        Life::Expired
    } else if now + SLACK <= at {
        Life::Alive
    } else {
        Life::Edge
    }
}

/// When a token that an answer dated `issued` gave for `seconds` expires (`expires_in`; 0 or
/// absent: not said).
pub(crate) fn expiry(issued: DateTime<Utc>, seconds: Option<u64>) -> Option<DateTime<Utc>> {
    let s = i64::try_from(seconds.filter(|s| *s > 0)?).ok()?;
    issued.checked_add_signed(chrono::Duration::try_seconds(s)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse_and_the_mocks_format_reads_back() {
        let at = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(at.to_rfc3339(), "1994-11-06T08:49:37+00:00");
        assert_eq!(parse_http_date(&crate::sim::http_date(at)), Some(at));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn a_token_is_expired_only_past_the_slack() {
        let t0 = parse_http_date("Mon, 01 Jan 2024 00:00:00 GMT").unwrap();
        let exp = expiry(t0, Some(3600));
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        assert_eq!(life(exp, at(10)), Life::Alive);
        assert_eq!(life(exp, at(3599)), Life::Edge);
        assert_eq!(life(exp, at(3601)), Life::Edge);
        assert_eq!(life(exp, at(3602)), Life::Expired);
        assert_eq!(life(expiry(t0, Some(0)), at(999_999)), Life::Alive);
        assert_eq!(life(None, at(999_999)), Life::Alive);
    }

    #[test]
    fn the_answers_date_is_the_upstreams_time() {
        let mut c = UpstreamClock::default();
        let moved = parse_http_date("Tue, 02 Jan 2024 00:00:00 GMT").unwrap();
        assert_eq!(c.at_answer(Some(moved)), moved);
        let later = c.now();
        assert!(later >= moved && later < moved + chrono::Duration::seconds(5));
    }
}

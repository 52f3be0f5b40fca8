//! The simulator's clock. Tests move it forward instead of waiting for tokens to expire.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

/// A clock that reads the system time, or a fixed start, plus an offset tests can advance.
///
/// Clones share the offset: advancing the handle's clock advances the simulator's.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `None` follows the system clock.
    start: Option<DateTime<Utc>>,
    offset_ms: AtomicI64,
}

impl Clock {
    /// System time; [`Clock::advance`] still moves it forward.
    pub fn system() -> Clock {
        Clock {
            inner: Arc::new(Inner {
                start: None,
                offset_ms: AtomicI64::new(0),
            }),
        }
    }

    /// A frozen clock starting at `start`; only [`Clock::advance`] moves it.
    pub fn fixed(start: DateTime<Utc>) -> Clock {
        Clock {
            inner: Arc::new(Inner {
                start: Some(start),
                offset_ms: AtomicI64::new(0),
            }),
        }
    }

    /// A frozen clock at 2024-01-01T00:00:00Z, for reproducible snapshots.
    pub fn epoch() -> Clock {
        Clock::fixed(
            Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
                .single()
                .expect("valid date"),
        )
    }

    pub fn now(&self) -> DateTime<Utc> {
        let base = self.inner.start.unwrap_or_else(Utc::now);
        let offset = self.inner.offset_ms.load(Ordering::Relaxed);
        // Saturate: a clock advanced past the calendar's end stays at its end.
        chrono::Duration::try_milliseconds(offset)
            .and_then(|d| base.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// True for a frozen clock ([`Clock::fixed`], [`Clock::epoch`]): time passes only when
    /// someone advances it.
    pub fn is_fixed(&self) -> bool {
        self.inner.start.is_some()
    }

    /// Let `by` pass. The system clock sleeps (asynchronously); a fixed clock moves forward to
    /// at least "now + `by`" and returns at once, so tests never wait for real. Waits that
    /// overlap on a fixed clock overlap in its time too, as real ones would: two callers
    /// waiting one second each from the same moment move it by one second, not two.
    pub async fn wait(&self, by: Duration) {
        if !self.is_fixed() {
            tokio::time::sleep(by).await;
            return;
        }
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let start = self.inner.offset_ms.load(Ordering::Relaxed);
        self.inner
            .offset_ms
            .fetch_max(start.saturating_add(ms), Ordering::Relaxed);
    }

    /// Move time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        // Saturating, so that advancing twice by a huge amount cannot wrap into the past.
        let _ = self
            .inner
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(ms))
            });
    }
}

impl Clock {
    /// How far [`Clock::advance`] has moved this clock, in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.inner.offset_ms.load(Ordering::Relaxed)
    }

    /// Take back every advance: the clock reads its base time again (system time, or the
    /// fixed start). `serve`'s control API does this on reset, together with a fresh state.
    pub fn reset(&self) {
        self.inner.offset_ms.store(0, Ordering::Relaxed);
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_a_clone_moves_the_original() {
        let clock = Clock::epoch();
        let before = clock.now();
        clock.clone().advance(Duration::from_secs(3600));
        assert_eq!((clock.now() - before).num_seconds(), 3600);
        assert_eq!(clock.offset_ms(), 3_600_000);
        clock.reset();
        assert_eq!(clock.now(), before);
    }

    #[tokio::test]
    async fn waiting_on_a_fixed_clock_moves_it_without_sleeping() {
        let clock = Clock::epoch();
        let before = clock.now();
        let started = std::time::Instant::now();
        clock.wait(Duration::from_secs(3600)).await;
        assert_eq!((clock.now() - before).num_seconds(), 3600);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

//! Progress of a long run on stderr: a bar with the rate and an ETA when stderr is a terminal
//! (indicatif), otherwise an occasional plain line (every tenth of the run, or every 30 s),
//! fit for CI logs. Stdout stays for the report.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use parking_lot::Mutex;

use crate::runner::Progress;

/// The progress display for this process's stderr.
pub fn for_stderr() -> Progress {
    if std::io::stderr().is_terminal() {
        bar()
    } else {
        plain(Duration::from_secs(30), |line| eprintln!("{line}"))
    }
}

/// A bar with position, rate and ETA, drawn on stderr.
pub fn bar() -> Progress {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} checks  {per_sec}  elapsed {elapsed}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Progress(Arc::new(move |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        if done >= total && !bar.is_finished() {
            let elapsed = bar.elapsed();
            bar.finish_and_clear();
            eprintln!("{total} checks done in {}", human(elapsed));
        }
    }))
}

/// `about 2m 10s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Plain lines through `emit`: at every tenth of the run, at most every `every` otherwise,
/// and at the end, each with the time left at the pace so far.
pub fn plain(every: Duration, emit: impl Fn(&str) + Send + Sync + 'static) -> Progress {
    let started = Instant::now();
    let last = Mutex::new((Instant::now(), 0usize));
    Progress(Arc::new(move |done, total| {
        let mut last = last.lock();
        let tenth = (total / 10).max(1);
        let due = done >= total || done / tenth > last.1 / tenth || last.0.elapsed() >= every;
        if !due || done == last.1 {
            return;
        }
        *last = (Instant::now(), done);
        let elapsed = started.elapsed();
        let left = if done == 0 {
            String::new()
        } else {
            let rest = elapsed.mul_f64((total - done.min(total)) as f64 / done as f64);
            format!(", about {} left", human(rest))
        };
        emit(&format!(
            "progress: {done}/{total} checks ({}%) after {}{left}",
            done * 100 / total.max(1),
            human(elapsed)
        ));
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_come_at_every_tenth_and_at_the_end() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let p = plain(Duration::from_secs(3600), move |l| {
            sink.lock().push(l.to_string())
        });
        for done in 1..=100 {
            (p.0)(done, 100);
        }
        let lines = lines.lock();
        assert_eq!(lines.len(), 10, "{lines:?}");
        assert!(lines[9].starts_with("progress: 100/100 checks (100%)"));
        assert!(lines[0].contains("left"), "{}", lines[0]);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(125)), "2m 05s");
        assert_eq!(human(Duration::from_secs(3 * 3600 + 60)), "3h 01m");
    }
}

//! Patterns of the shapes: a regex matched against the whole string, as finAPI's server does
//! (Java's `@Pattern`), not searched for inside it, and a string that matches it.

use regex::Regex;

/// A compiled pattern and a string that matches it.
#[derive(Debug)]
pub(super) struct Pattern {
    pub(super) regex: Regex,
    pub(super) sample: Option<String>,
}

impl Pattern {
    pub(super) fn compile(pattern: &str) -> Option<Pattern> {
        let regex = Regex::new(&format!("^(?:{pattern})$")).ok()?;
        let sample = sample_for(pattern, 1).filter(|s| regex.is_match(s));
        Some(Pattern { regex, sample })
    }
}

/// A string matching `pattern`, with unbounded repetitions repeated `reps` times (at least
/// their minimum). `None` when the pattern does not parse.
pub(super) fn sample_for(pattern: &str, reps: usize) -> Option<String> {
    use regex_syntax::hir::{Class, Hir, HirKind};
    fn walk(h: &Hir, reps: u32, out: &mut String) {
        match h.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(lit) => out.push_str(&String::from_utf8_lossy(&lit.0)),
            HirKind::Class(Class::Unicode(c)) => {
                let preferred = ['a', 'A', '0'];
                let pick = preferred
                    .into_iter()
                    .find(|p| c.ranges().iter().any(|r| r.start() <= *p && *p <= r.end()))
                    .or_else(|| c.ranges().first().map(|r| r.start()));
                out.extend(pick);
            }
            HirKind::Class(Class::Bytes(c)) => {
                out.extend(c.ranges().first().map(|r| char::from(r.start())));
            }
            HirKind::Repetition(r) => {
                let n = r.min.max(reps.min(r.max.unwrap_or(u32::MAX)));
                for _ in 0..n {
                    walk(&r.sub, reps, out);
                }
            }
            HirKind::Capture(c) => walk(&c.sub, reps, out),
            HirKind::Concat(parts) => parts.iter().for_each(|p| walk(p, reps, out)),
            HirKind::Alternation(alts) => {
                if let Some(first) = alts.first() {
                    walk(first, reps, out);
                }
            }
        }
    }
    let hir = regex_syntax::parse(pattern).ok()?;
    let mut out = String::new();
    walk(&hir, u32::try_from(reps).unwrap_or(u32::MAX), &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_samples_match() {
        for p in [
            "[0-9a-f\\-]*",
            "[A-Za-z0-9¡-ʯ &\\(\\)\\{\\}\\[\\]\\.:,;\\?!\\+\\-_\\$@#~`\\^€]*",
            "^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$",
            "(foo|bar)+-[0-9]{3}",
        ] {
            let compiled = Pattern::compile(p).expect("compiles");
            let sample = compiled.sample.expect("sample");
            assert!(compiled.regex.is_match(&sample), "{p}: {sample}");
        }
    }
}

//! Scrubbing secrets from anything the runner prints or writes.

/// Replaces every known secret with `<redacted>`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 4).collect();
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    pub fn add(&mut self, secret: impl Into<String>) {
        let s = secret.into();
        if s.len() >= 4 {
            self.secrets.push(s);
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// The secrets this redactor knows (to merge redactors).
    pub fn scrub_list(&self) -> Vec<String> {
        self.secrets.clone()
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "<redacted>");
            }
        }
        out
    }
}

/// A URL as shown to people: user info and query string dropped.
pub fn url_for_display(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => "<invalid URL>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_every_secret_and_longest_first() {
        let r = Redactor::new(["abcd".to_string(), "abcdef".to_string()]);
        assert_eq!(r.scrub("x abcdef y abcd"), "x <redacted> y <redacted>");
    }

    #[test]
    fn urls_lose_credentials_and_query() {
        assert_eq!(
            url_for_display("https://u:p@host.example/api?k=v"),
            "https://host.example/api"
        );
    }
}

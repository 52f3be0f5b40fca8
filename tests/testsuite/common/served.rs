//! The `serve` binary in a process of its own, for tests that drive it from outside as a user
//! (or a suite in another language) would: on a free loopback port, ready once its first line
//! names the bound address, killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The crate's binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_finapi-conformance");

/// A running `serve` process and its base URL.
pub struct Served {
    pub child: Child,
    pub url: String,
}

impl Served {
    /// `serve --addr 127.0.0.1:0 ARGS...`, without a control token from the environment.
    pub fn start(args: &[&str]) -> Served {
        let mut child = Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env_remove("FINAPI_CONTROL_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        // Readiness: the first line names the address, printed once the server accepts.
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut first)
            .expect("serve prints its address");
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_string();
        Served { child, url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The `proxy` binary in a process of its own, as a user runs it: a credentials file, a free
//! loopback port, ready once its first line names its address, stopped with SIGTERM (what
//! Ctrl-C or a container runtime sends), after which it writes its report and exits.

use std::io::{BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use super::served::BIN;

/// A running `proxy` and the URL it listens on.
pub struct ProxyProcess {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// Its first line of output (the address it listens on).
    pub first: String,
    pub url: String,
}

/// What a stopped proxy left: its exit code, everything it printed on stdout (the first line
/// included) and on stderr.
pub struct Stopped {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl ProxyProcess {
    /// `proxy --upstream UPSTREAM --addr 127.0.0.1:0 --credentials CREDS ARGS...`, without
    /// client credentials from the environment.
    pub fn start(upstream: &str, creds: &Path, args: &[&str]) -> ProxyProcess {
        let mut child = Command::new(BIN)
            .args(["proxy", "--upstream", upstream, "--addr", "127.0.0.1:0"])
            .arg("--credentials")
            .arg(creds)
            .args(args)
            .env_remove("FINAPI_APP_CLIENT_ID")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the proxy starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let (first, url) = finapi_conformance_test_support::served::first_line(&mut stdout);
        ProxyProcess {
            child,
            stdout,
            first,
            url,
        }
    }

    /// SIGTERM, then everything it printed until it exited.
    pub fn stop(mut self) -> Stopped {
        // SAFETY: signalling a child process this test started.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let mut stdout = std::mem::take(&mut self.first);
        self.stdout
            .read_to_string(&mut stdout)
            .expect("the proxy's stdout");
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .expect("piped stderr")
            .read_to_string(&mut stderr)
            .expect("the proxy's stderr");
        let code = self.child.wait().expect("the proxy exits").code();
        Stopped {
            code,
            stdout,
            stderr,
        }
    }
}

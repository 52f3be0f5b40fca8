//! The `serve` binary in a process of its own, for tests that drive it from outside as a user
//! (or a suite in another language) would: on a free loopback port, ready once its first line
//! names the bound address, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The binary's name, as `Cargo.toml` declares it.
const NAME: &str = "finapi-conformance";

/// The crate's binary, as cargo built it for the running test or benchmark: where cargo says
/// (`CARGO_BIN_EXE_finapi-conformance`, set at run time by cargo 1.94 and later), else beside
/// the running executable's `deps/` directory (`target/<profile>/deps/testsuite-<hash>` ->
/// `target/<profile>/finapi-conformance`), where cargo puts it for integration tests and
/// benchmarks. A test can also name it at compile time: `env!("CARGO_BIN_EXE_finapi-conformance")`.
pub fn bin() -> PathBuf {
    if let Some(path) = std::env::var_os(format!("CARGO_BIN_EXE_{NAME}")) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the running executable's path");
    let mut dir = exe
        .parent()
        .expect("an executable has a directory")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(format!("{NAME}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is not there: run the tests or benchmarks through cargo, which builds it",
        path.display()
    );
    path
}

/// A running `serve` process and its base URL.
pub struct Served {
    pub child: Child,
    pub url: String,
}

impl Served {
    /// `serve --addr 127.0.0.1:0 ARGS...` of the crate's binary ([`bin`]), without a control
    /// token from the environment.
    pub fn start(args: &[&str]) -> Served {
        let mut child = Command::new(bin())
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env_remove("FINAPI_CONTROL_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        // Readiness: the first line names the address, printed once the server accepts.
        let (_, url) = first_line(&mut BufReader::new(
            child.stdout.take().expect("piped stdout"),
        ));
        Served { child, url }
    }
}

/// The first line a `serve` or `proxy` process prints, which it does once it accepts
/// connections (its readiness), and the URL it names. The rest of the output stays in `stdout`.
pub fn first_line(stdout: &mut impl BufRead) -> (String, String) {
    let mut first = String::new();
    stdout
        .read_line(&mut first)
        .expect("the process prints its address");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    (first, url)
}

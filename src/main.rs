//! The `finapi-conformance` binary: `check`, `diff`, `serve`, `features`, `matrix`, `shapes`,
//! `spec-diff`, `proxy`. Its command-line code is private to it (`cli/`, a file per command);
//! what it runs is the library's public API.

mod cli;

use clap::Parser;

use cli::Cli;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(2);
        }
    };
    let code = match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            failure.code
        }
    };
    std::process::exit(code);
}

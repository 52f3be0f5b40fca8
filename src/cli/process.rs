//! What a long-running command shares with the process around it: the signal that stops it
//! (Ctrl-C, or SIGTERM on Unix), and a stdout that may close under it.

use std::io::Write as _;

use futures::future::BoxFuture;
use futures::FutureExt as _;

/// Ctrl-C, or SIGTERM on Unix, listened for from the moment this returns, so a signal that
/// arrives while the command starts up still stops it cleanly: call it before telling anyone
/// the command is up, then await what it gives.
pub async fn stop_signal() -> BoxFuture<'static, ()> {
    let mut stop = ctrl_c_or_sigterm().boxed();
    if futures::poll!(&mut stop).is_ready() {
        return futures::future::ready(()).boxed();
    }
    stop
}

/// The first of Ctrl-C and (on Unix) SIGTERM. If the process cannot listen for a signal, the
/// signal keeps its default effect (it ends the process) and this never completes.
async fn ctrl_c_or_sigterm() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await;
    }
}

/// Write `text` to stdout and flush it. A closed stdout (the reader went away) is no error: it
/// must not take a server down, nor turn a finished run into a crash.
pub fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

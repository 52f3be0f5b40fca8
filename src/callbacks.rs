//! Sending the Web Form callbacks the simulator hands its front doors: each one `POST`ed in
//! the background (plain HTTP/1.1; the mock has no TLS, so an `https` callback goes to the same
//! host and port), never waited for, a failure logged and not retried. Which hosts a callback
//! may go to the simulator has decided already (loopback, unless its settings allow the host).
//!
//! Both front doors use it: [`crate::mock::FinapiMock`] on the runtime its wiremock server
//! answers on, `serve` on its own runtime, and the Rust calls that end a web form on a runtime
//! that does not wait for their caller.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::time::timeout;

use crate::sim::Callback;

/// How long a callback may take to connect, to be written, and to be answered.
const PATIENCE: Duration = Duration::from_secs(5);

/// Send `callbacks` in the background: as tasks on `runtime`, or on a thread of their own
/// without one. Returns at once.
pub(crate) fn deliver(callbacks: Vec<Callback>, runtime: Option<Handle>) {
    if callbacks.is_empty() {
        return;
    }
    match runtime {
        Some(runtime) => {
            for callback in callbacks {
                runtime.spawn(send(callback));
            }
        }
        None => {
            std::thread::spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => {
                        runtime
                            .block_on(futures::future::join_all(callbacks.into_iter().map(send)));
                    }
                    Err(e) => tracing::warn!(error = %e, "no runtime to send web form callbacks"),
                }
            });
        }
    }
}

/// The runtime a caller's callbacks may go out on although the caller may block its own thread
/// right after (a test waiting for the callback): the current one if it has worker threads,
/// else none (a thread of their own).
pub(crate) fn runtime_beside_caller() -> Option<Handle> {
    Handle::try_current()
        .ok()
        .filter(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
}

/// `POST` one callback and wait for the receiver's answer (or its close), so it sees the
/// whole request.
async fn send(callback: Callback) {
    if let Err(e) = post(&callback).await {
        tracing::warn!(error = %e, "web form callback could not be delivered");
    }
}

async fn post(callback: &Callback) -> std::io::Result<()> {
    let target = callback.target().map_err(std::io::Error::other)?;
    let addr = timeout(
        PATIENCE,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await??
    .next()
    .ok_or_else(|| std::io::Error::other(format!("{} does not resolve", target.host)))?;
    let mut stream = timeout(PATIENCE, TcpStream::connect(addr)).await??;
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        target.path,
        target.host,
        callback.body.len(),
        callback.body
    );
    timeout(PATIENCE, stream.write_all(request.as_bytes())).await??;
    let mut answer = [0u8; 256];
    let _ = timeout(PATIENCE, stream.read(&mut answer)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    use super::*;

    /// A receiver on a loopback port: the callback URL, and the first request it gets (head
    /// and body) once it has answered it.
    fn receiver() -> (String, mpsc::Receiver<(String, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "https://127.0.0.1:{}/done?run=7",
            listener.local_addr().unwrap().port()
        );
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(PATIENCE)).unwrap();
            let mut raw = Vec::new();
            let mut buf = [0u8; 512];
            while let Ok(n @ 1..) = stream.read(&mut buf) {
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    if body.len() >= 12 {
                        let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
                        let _ = tx.send((head.to_string(), body.to_string()));
                        return;
                    }
                }
            }
        });
        (url, rx)
    }

    fn callback(url: &str) -> Callback {
        Callback {
            url: url.to_string(),
            body: r#"{"status":"COMPLETED"}"#.to_string(),
        }
    }

    fn assert_received(rx: &mpsc::Receiver<(String, String)>) {
        let (head, body) = rx.recv_timeout(Duration::from_secs(10)).expect("delivered");
        assert!(head.starts_with("POST /done?run=7 HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("\r\nHost: 127.0.0.1\r\n"), "{head}");
        assert!(
            head.contains("\r\nContent-Type: application/json\r\n"),
            "{head}"
        );
        assert_eq!(body, r#"{"status":"COMPLETED"}"#);
    }

    #[test]
    fn a_callback_goes_out_on_a_thread_of_its_own_without_a_runtime() {
        let (url, rx) = receiver();
        deliver(vec![callback(&url)], None);
        assert_received(&rx);
    }

    #[test]
    fn a_callback_goes_out_on_the_runtime_it_is_given() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (url, rx) = receiver();
        deliver(vec![callback(&url)], Some(runtime.handle().clone()));
        assert_received(&rx);
    }
}

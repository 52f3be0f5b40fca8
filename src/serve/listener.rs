//! The one hyper accept loop behind every listening front door (`serve` and the proxy): bind,
//! accept, serve each connection with the given handler, and on shutdown stop accepting and let
//! every open connection finish its in-flight request.
//!
//! Connections are HTTP/1.1 with half-closes allowed (a client that closes its sending side
//! after the request still gets its answer) and without Nagle's delay. Two steps, as with
//! axum's `serve(listener, app).with_graceful_shutdown(..)`: [`Listener::bind`] claims the
//! address (so a busy port is refused before any other work), [`Listener::serve`] starts
//! answering.

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A bound address, not answering yet.
pub(crate) struct Listener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl Listener {
    /// Bind `addr` (port 0 picks a free port).
    pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<Listener> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok(Listener { listener, addr })
    }

    /// The address bound (the real port when port 0 was asked for).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answer every request of every connection with `handler`, on a task of its own, until
    /// [`Serving::shutdown`] (or until the [`Serving`] is dropped): then stop accepting and let
    /// every open connection finish its in-flight request and close.
    pub(crate) fn serve<H, F, B, E>(self, handler: H) -> Serving
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + 'static,
        F: Future<Output = Result<Response<B>, E>> + Send + 'static,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
        E: Into<Box<dyn StdError + Send + Sync>> + 'static,
    {
        let Listener { listener, addr } = self;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let graceful = GracefulShutdown::new();
            loop {
                let stream = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(e) => {
                            // Out of file descriptors and the like: wait a moment instead of
                            // spinning.
                            tracing::debug!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    },
                    // Asked to stop, or the `Serving` is gone.
                    _ = &mut stopped => break,
                };
                let _ = stream.set_nodelay(true);
                let connection = http1::Builder::new()
                    .half_close(true)
                    .serve_connection(TokioIo::new(stream), service_fn(handler.clone()));
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    // A client that resets its connection is no error of ours.
                    let _ = connection.await;
                });
            }
            drop(listener);
            graceful.shutdown().await;
        });
        Serving {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// A listener answering requests.
pub(crate) struct Serving {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Serving {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub(crate) fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, let in-flight requests finish, and wait. A second call returns at once.
    pub(crate) async fn shutdown(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other),
            None => Ok(()),
        }
    }
}

//! The HTTP/1 server under the router, with the limits a listener open to a network needs and
//! `axum::serve` does not expose: a deadline for a request's header, an idle timeout, and a
//! maximum number of connections served at once.
//!
//! - Header timeout: hyper's `header_read_timeout`. hyper starts it whenever it waits for a
//!   request head, so it also bounds how long a kept-alive connection may sit between two
//!   requests: that wait is the shorter of the header and the idle timeout.
//! - Idle timeout: a connection on which no byte moves either way for this long, while none
//!   of its requests is being handled, is closed (a client that stops reading its answer); a
//!   request body that sends no data for this long fails its request.
//! - Connection limit: a connection is accepted only when fewer than the maximum are open.
//!   The next ones wait in the kernel's listen backlog (their TCP handshake completes, their
//!   request is answered once a connection ends) rather than being refused: clients such as
//!   job steps retry a refused connection, but simply wait for a slow one.

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// hyper's cap on a request head (it answers a bare 431 above it); heads above
/// [`crate::MAX_HEADER_BYTES`] but below this get a problem+json 431 from the router.
const MAX_HEAD_BUFFER: usize = 64 * 1024;

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// How long a client has to send a request's complete head.
    pub header_timeout: Duration,
    /// How long a connection may move no byte while none of its requests is being handled.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open connections finish
/// their requests (each is told to close after the one in flight) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let max =
        u32::try_from(options.max_connections.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(max as usize));
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(%error, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "setting TCP_NODELAY");
        }
        tokio::spawn(serve_connection(
            stream,
            app.clone(),
            options,
            slot,
            stopped.clone(),
        ));
    }
    drop(listener);
    // Receivers gone means no connection is left to tell.
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: holding all of them means all ended.
    let _all = slots.acquire_many(max).await;
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    app: Router,
    options: ServeOptions,
    _slot: OwnedSemaphorePermit,
    mut stopped: watch::Receiver<bool>,
) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let io = TokioIo::new(IdleIo::new(stream, options.idle_timeout, in_flight.clone()));
    let body_timeout = options.idle_timeout;
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let handling = Handling::start(&in_flight);
        let request = request.map(|body| Body::new(TimeoutBody::new(body_timeout, body)));
        let response = app.clone().oneshot(request);
        async move {
            response
                .await
                .map(|response| keep_handling(response, handling))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_header_size(MAX_HEAD_BUFFER);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop_requested(&mut stopped) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Timeouts, resets and malformed requests are the client's business, not the server's.
        tracing::debug!(%error, "connection ended");
    }
}

/// Completes once the server stops (or is gone).
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; it is dropped before this returns.
    let _ = stopped.wait_for(|stop| *stop).await.map(|_| ());
}

pub use polyphemus_core::services::Streaming;

/// A marked response's request counts as handled until its body ends, so the idle timeout
/// does not cut a follow while its run is quiet; any other ends being handled here.
fn keep_handling(
    response: axum::response::Response,
    handling: Handling,
) -> axum::response::Response {
    if response.extensions().get::<Streaming>().is_none() {
        return response;
    }
    response.map(|body| {
        Body::from_stream(futures::StreamExt::map(
            body.into_data_stream(),
            move |piece| {
                let _handling = &handling;
                piece
            },
        ))
    })
}

/// Counts a request as being handled while it lives.
struct Handling(Arc<AtomicUsize>);

impl Handling {
    fn start(in_flight: &Arc<AtomicUsize>) -> Self {
        in_flight.fetch_add(1, Ordering::AcqRel);
        Self(in_flight.clone())
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A TCP stream that fails with `TimedOut` once no byte has moved for `timeout` while no
/// request is being handled (a handler may think for longer than that without I/O).
struct IdleIo {
    inner: TcpStream,
    timeout: Duration,
    last_moved: Instant,
    deadline: Pin<Box<Sleep>>,
    in_flight: Arc<AtomicUsize>,
}

impl IdleIo {
    fn new(inner: TcpStream, timeout: Duration, in_flight: Arc<AtomicUsize>) -> Self {
        let now = Instant::now();
        Self {
            inner,
            timeout,
            last_moved: now,
            deadline: Box::pin(tokio::time::sleep_until(now + timeout)),
            in_flight,
        }
    }

    /// Ready with an error once the connection has been idle too long; registers the waker
    /// otherwise. The timer is moved on lazily, when it fires, not at every byte.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            if self.deadline.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = Instant::now();
            let due = self.last_moved + self.timeout;
            if self.in_flight.load(Ordering::Acquire) > 0 {
                self.deadline.as_mut().reset(now + self.timeout);
            } else if due > now {
                self.deadline.as_mut().reset(due);
            } else {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle for too long",
                ));
            }
        }
    }

    fn moved<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
        bytes: bool,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(result) => {
                if bytes {
                    self.last_moved = Instant::now();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.poll_idle(cx).map(Err),
        }
    }
}

impl AsyncRead for IdleIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        let bytes = buf.filled().len() > before;
        this.moved(cx, polled, bytes)
    }
}

impl AsyncWrite for IdleIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        let bytes = matches!(polled, Poll::Ready(Ok(n)) if n > 0);
        this.moved(cx, polled, bytes)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        let bytes = matches!(polled, Poll::Ready(Ok(n)) if n > 0);
        this.moved(cx, polled, bytes)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.moved(cx, polled, false)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

//! A chunked response body written past hyper, straight into the
//! connection: the proxy's event streams (the master's bytes as it wrote
//! them) and `serve`'s (framed as a master frames them).
//!
//! hyper frames every chunk of a body itself, its size line in upper-case
//! hex (`1B3`); a Mesos master writes lower case (`1b3`). To give a
//! framework a master's bytes, a server wraps each connection it hands
//! hyper in a [`Spliceable`], and a response body that is to be written
//! past hyper gets a [`Splice`]: while hyper polls the body, the body
//! writes its chunks, framing and all, through the splice and gives hyper
//! no data; hyper writes the response's head, then nothing until the body
//! ends, then the last chunk (`0\r\n\r\n`), as a master does.
//!
//! The bytes written past hyper must follow the head, which hyper may
//! still hold in its buffer when it first polls the body: a splice's first
//! write waits until a flush of hyper's has completed after that first
//! poll. hyper flushes the connection only once its buffer is written out,
//! and it buffers nothing while the body it is writing gives it nothing.
//! Only for a body hyper frames as chunked (an answer to an HTTP/1.1
//! request, with a body): to HTTP/1.0 hyper writes a body as it comes.
//!
//! It also costs less than hyper's framing, which copies every chunk into
//! hyper's buffer (2-core VM, `docs/performance.md`, "Eleventh run"): the
//! proxy's lane 1.35 → 1.23 µs an event on the realistic mix and 1.47 →
//! 1.24 at 200 B records (`proxy_vs_nginx`, the same run); `serve --pace
//! fast` 0.76× → 1.36× of its bare-hyper ceiling.
//!
//! ```
//! use std::collections::VecDeque;
//! use bytes::Bytes;
//! use mesos_tls::splice::Spliceable;
//! use tokio::io::AsyncWriteExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let (ours, mut theirs) = tokio::io::duplex(1024);
//! let mut conn = Spliceable::new(ours);
//! let mut splice = conn.splicer().splice();
//! conn.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await.unwrap();
//! let mut chunk = VecDeque::from([Bytes::from_static(b"3\r\nabc\r\n")]);
//! // Not before the head has been flushed.
//! let first = std::future::poll_fn(|cx| std::task::Poll::Ready(splice.poll_write_all(cx, &mut chunk))).await;
//! assert!(first.is_pending());
//! conn.flush().await.unwrap();
//! std::future::poll_fn(|cx| splice.poll_write_all(cx, &mut chunk)).await.unwrap();
//! drop((conn, splice));
//! let mut got = Vec::new();
//! tokio::io::AsyncReadExt::read_to_end(&mut theirs, &mut got).await.unwrap();
//! assert!(got.ends_with(b"\r\n\r\n3\r\nabc\r\n"));
//! # });
//! ```

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection as hyper is given it, whose [`Splice`]s write past hyper.
pub struct Spliceable<S> {
    conn: Arc<Mutex<Conn<S>>>,
}

struct Conn<S> {
    io: S,
    /// How many of hyper's flushes have completed, and who waits for the
    /// next one.
    flushes: u64,
    waiter: Option<Waker>,
}

fn lock<S>(conn: &Mutex<Conn<S>>) -> MutexGuard<'_, Conn<S>> {
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

impl<S> std::fmt::Debug for Spliceable<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spliceable").finish_non_exhaustive()
    }
}

impl<S> Spliceable<S> {
    /// Wraps a connection.
    pub fn new(io: S) -> Spliceable<S> {
        Spliceable { conn: Arc::new(Mutex::new(Conn { io, flushes: 0, waiter: None })) }
    }

    /// What makes this connection's [`Splice`]s (kept by whoever answers
    /// its requests, once hyper has the connection).
    pub fn splicer(&self) -> Splicer<S> {
        Splicer { conn: self.conn.clone() }
    }
}

/// Makes a connection's [`Splice`]s.
pub struct Splicer<S> {
    conn: Arc<Mutex<Conn<S>>>,
}

impl<S> Clone for Splicer<S> {
    fn clone(&self) -> Self {
        Splicer { conn: self.conn.clone() }
    }
}

impl<S> std::fmt::Debug for Splicer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Splicer").finish_non_exhaustive()
    }
}

impl<S> Splicer<S> {
    /// The writer of one response body on the connection.
    pub fn splice(&self) -> Splice<S> {
        Splice { conn: self.conn.clone(), turn: Turn::First }
    }
}

/// Writes one response body's bytes past hyper (see the [module](self)).
pub struct Splice<S> {
    conn: Arc<Mutex<Conn<S>>>,
    turn: Turn,
}

/// Whether a [`Splice`] may write.
#[derive(Debug, Clone, Copy)]
enum Turn {
    /// Not tried yet.
    First,
    /// Once a flush of hyper's has completed after this many.
    After(u64),
    /// Yes.
    Ours,
}

impl<S> std::fmt::Debug for Splice<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Splice").field("turn", &self.turn).finish()
    }
}

/// The most pieces a spliced write hands the connection at once.
const SLICES: usize = 64;

impl<S: AsyncWrite + Unpin> Splice<S> {
    /// Writes `pieces` whole, in order, taking them out as they are
    /// written; `Pending` while the connection cannot take more, or while
    /// hyper may still hold the head (called from the body hyper polls,
    /// with hyper's context).
    pub fn poll_write_all(&mut self, cx: &mut Context<'_>, pieces: &mut VecDeque<Bytes>) -> Poll<io::Result<()>> {
        let mut conn = lock(&self.conn);
        pieces.retain(|piece| !piece.is_empty());
        if pieces.is_empty() {
            return Poll::Ready(Ok(()));
        }
        match self.turn {
            Turn::First => {
                self.turn = Turn::After(conn.flushes);
                conn.waiter = Some(cx.waker().clone());
                return Poll::Pending;
            }
            Turn::After(flushes) if flushes == conn.flushes => {
                conn.waiter = Some(cx.waker().clone());
                return Poll::Pending;
            }
            // Flushed since: hyper's buffer is out, and stays empty.
            Turn::After(_) => self.turn = Turn::Ours,
            Turn::Ours => {}
        }
        while !pieces.is_empty() {
            let mut slices = [io::IoSlice::new(&[]); SLICES];
            let count = pieces.len().min(SLICES);
            for (slice, piece) in slices.iter_mut().zip(pieces.iter()) {
                *slice = io::IoSlice::new(piece);
            }
            let mut n = std::task::ready!(Pin::new(&mut conn.io).poll_write_vectored(cx, &slices[..count]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            while n > 0 {
                let Some(first) = pieces.front_mut() else { break };
                if n >= first.len() {
                    n -= first.len();
                    pieces.pop_front();
                } else {
                    first.advance(n);
                    n = 0;
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Spliceable<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut lock(&self.conn).io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Spliceable<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut lock(&self.conn).io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut lock(&self.conn).io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        lock(&self.conn).io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut conn = lock(&self.conn);
        let flushed = Pin::new(&mut conn.io).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            conn.flushes += 1;
            if let Some(waiter) = conn.waiter.take() {
                waiter.wake();
            }
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut lock(&self.conn).io).poll_shutdown(cx)
    }
}

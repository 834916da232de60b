//! A newline-terminated line server on TCP, shared by the PSU, the chamber and the
//! control port: accepts any number of clients, hands each line to the instrument's
//! handler and writes its reply back followed by `\n`.
//!
//! Owns the sockets, line framing and shutdown only; it must not interpret lines. A
//! client that sends an over-long line is dropped; nothing a client sends can panic it.

use super::world::{Power, World};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Longest line accepted, bytes.
pub(crate) const MAX_LINE: usize = 8192;
/// Pause after a failed accept (out of file descriptors, ...).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Returns once the station shuts down.
pub(crate) async fn shutdown(power: &mut watch::Receiver<Power>) {
    loop {
        if power.borrow_and_update().shutdown {
            return;
        }
        if power.changed().await.is_err() {
            return;
        }
    }
}

/// Serves `listener` until the station shuts down; then closes it and every client.
pub(crate) async fn serve<H>(
    name: &'static str,
    listener: TcpListener,
    world: Arc<World>,
    handler: H,
) where
    H: Fn(&str) -> Option<String> + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let mut power = world.subscribe();
    let mut clients = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown(&mut power) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::debug!(server = name, %peer, "client connected");
                    clients.spawn(client(name, stream, peer, handler.clone()));
                }
                Err(e) => {
                    tracing::warn!(server = name, error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(done) = clients.join_next(), if !clients.is_empty() => {
                if let Err(e) = done {
                    tracing::error!(server = name, error = %e, "client task failed");
                }
            }
        }
    }
    drop(listener);
    clients.shutdown().await;
    tracing::debug!(server = name, "server stopped");
}

async fn client<H>(name: &'static str, stream: TcpStream, peer: SocketAddr, handler: Arc<H>)
where
    H: Fn(&str) -> Option<String> + Send + Sync + 'static,
{
    let (mut rd, mut wr) = stream.into_split();
    let mut pending: Vec<u8> = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        let n = match rd.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(server = name, %peer, error = %e, "client read failed");
                break;
            }
        };
        pending.extend_from_slice(&chunk[..n]);
        while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            tracing::trace!(server = name, %peer, line = %text, "line in");
            if let Some(mut reply) = handler(text) {
                reply.push('\n');
                if let Err(e) = wr.write_all(reply.as_bytes()).await {
                    tracing::debug!(server = name, %peer, error = %e, "client write failed");
                    return;
                }
            }
        }
        if pending.len() > MAX_LINE {
            tracing::warn!(server = name, %peer, "line longer than {MAX_LINE} bytes: dropping the client");
            break;
        }
    }
    tracing::debug!(server = name, %peer, "client left");
}

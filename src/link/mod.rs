//! Byte transports to instruments: TCP (a printer's port 9100, a PSU's raw SCPI socket on
//! 5025), serial ports (baud, RTS/CTS or XON/XOFF flow control) and device files such as
//! /dev/usb/lp0. Owns opening, describing and timing out a connection; it knows nothing
//! of the protocol spoken over it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Serial flow control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    #[default]
    None,
    Rtscts,
    Xonxoff,
}

/// Where an instrument is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Endpoint {
    Tcp {
        host: String,
        port: u16,
    },
    Serial {
        path: PathBuf,
        baud: u32,
        flow: Flow,
    },
    Device {
        path: PathBuf,
    },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Serial { path, baud, flow } => {
                write!(f, "serial:{} @ {baud} baud", path.display())?;
                match flow {
                    Flow::None => Ok(()),
                    Flow::Rtscts => f.write_str(" rts/cts"),
                    Flow::Xonxoff => f.write_str(" xon/xoff"),
                }
            }
            Endpoint::Device { path } => write!(f, "device:{}", path.display()),
        }
    }
}

/// An open connection.
pub enum Link {
    Tcp(tokio::net::TcpStream),
    Serial(tokio_serial::SerialStream),
    Device(tokio::fs::File),
}

/// Opens an endpoint, giving up after `timeout`.
pub async fn open(ep: &Endpoint, timeout: Duration) -> std::io::Result<Link> {
    let fut = async {
        match ep {
            Endpoint::Tcp { host, port } => {
                let s = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                s.set_nodelay(true)?;
                Ok(Link::Tcp(s))
            }
            Endpoint::Serial { path, baud, flow } => {
                use tokio_serial::SerialPortBuilderExt;
                let flow = match flow {
                    Flow::None => tokio_serial::FlowControl::None,
                    Flow::Rtscts => tokio_serial::FlowControl::Hardware,
                    Flow::Xonxoff => tokio_serial::FlowControl::Software,
                };
                let s = tokio_serial::new(path.to_string_lossy(), *baud)
                    .flow_control(flow)
                    .open_native_async()
                    .map_err(std::io::Error::other)?;
                Ok(Link::Serial(s))
            }
            Endpoint::Device { path } => {
                let f = tokio::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .await?;
                Ok(Link::Device(f))
            }
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("{ep}: no connection within {:.1} s", timeout.as_secs_f64()),
        )),
    }
}

impl AsyncRead for Link {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Link::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Link::Serial(s) => Pin::new(s).poll_read(cx, buf),
            Link::Device(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Link::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Link::Serial(s) => Pin::new(s).poll_write(cx, buf),
            Link::Device(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Link::Tcp(s) => Pin::new(s).poll_flush(cx),
            Link::Serial(s) => Pin::new(s).poll_flush(cx),
            Link::Device(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Link::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Link::Serial(s) => Pin::new(s).poll_shutdown(cx),
            Link::Device(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// True for the errors that mean the other end is gone (peer closed, pty master gone,
/// USB port unplugged): the link must be reopened, not retried.
pub fn is_link_lost(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        BrokenPipe | ConnectionReset | ConnectionAborted | NotConnected | UnexpectedEof
    ) || e.raw_os_error() == Some(5) // EIO: pty peer closed
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn tcp_round_trip_and_refused_connection() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.expect("accept");
            let mut b = [0u8; 3];
            s.read_exact(&mut b).await.expect("read");
            s.write_all(&b).await.expect("echo");
        });
        let ep = Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        assert_eq!(ep.to_string(), format!("tcp://127.0.0.1:{port}"));
        let mut link = open(&ep, Duration::from_secs(2)).await.expect("open");
        link.write_all(b"abc").await.expect("write");
        let mut b = [0u8; 3];
        link.read_exact(&mut b).await.expect("read back");
        assert_eq!(&b, b"abc");
        server.await.expect("server");
        // nothing listens there any more
        assert!(open(&ep, Duration::from_secs(2)).await.is_err());
    }
}

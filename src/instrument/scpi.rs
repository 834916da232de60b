//! A line-oriented client for SCPI instruments (a PSU's raw socket on port 5025, a
//! chamber controller on a serial port) and for the other line protocols the rig speaks
//! (a serial relay board, the simulated station's control port).
//!
//! Owns: one [`Link`] opened lazily, the command terminator, a per-command timeout, reading
//! one reply line, reading the `SYST:ERR?` queue, and reconnecting once when the link is
//! lost. Must not: know what a command means (the power and chamber drivers do), retry a
//! command more than once, or sleep between attempts.

use super::{InstrumentError, Result};
use crate::link::{self, is_link_lost, Endpoint, Link};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{debug, warn};

/// The longest reply line accepted; a peer that sends more without a newline is not
/// speaking a line protocol.
const MAX_LINE: usize = 64 * 1024;

/// How many error-queue entries `check_errors` drains after the first one.
const MAX_QUEUED_ERRORS: usize = 16;

/// A connection to one line-protocol instrument.
pub struct ScpiClient {
    device: String,
    endpoint: Endpoint,
    timeout: Duration,
    terminator: String,
    link: Option<Link>,
    rx: Vec<u8>,
    connections: u64,
}

/// Why one attempt failed: the link is gone (worth one reconnect) or anything else.
enum Failure {
    Lost(String),
    Other(InstrumentError),
}

impl ScpiClient {
    /// A client for `endpoint`, known in messages as `"<name> (<endpoint>)"`. Nothing is
    /// opened until the first command. Commands end with `"\n"`.
    pub fn new(name: &str, endpoint: Endpoint, timeout: Duration) -> Self {
        ScpiClient {
            device: format!("{name} ({endpoint})"),
            endpoint,
            timeout,
            terminator: "\n".to_string(),
            link: None,
            rx: Vec::new(),
            connections: 0,
        }
    }

    /// Ends every command with `terminator` instead of `"\n"` (a relay board wants
    /// `"\r\n"`). Replies are still read up to `"\n"`, with a trailing `"\r"` trimmed.
    pub fn with_terminator(mut self, terminator: &str) -> Self {
        self.terminator = terminator.to_string();
        self
    }

    /// `"<name> (<endpoint>)"`.
    pub fn device(&self) -> &str {
        &self.device
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The bound on one command (connecting, writing and reading its reply).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How many times the link was opened so far (the first connection counts).
    pub fn connections(&self) -> u64 {
        self.connections
    }

    /// Opens the link now instead of at the first command.
    pub async fn connect(&mut self) -> Result<()> {
        if self.link.is_none() {
            let link = self.open(false).await?;
            self.link = Some(link);
        }
        Ok(())
    }

    /// Closes the link; the next command opens it again.
    pub async fn close(&mut self) {
        if let Some(mut link) = self.link.take() {
            // Best effort: the peer may already be gone.
            let _ = tokio::time::timeout(self.timeout, link.shutdown()).await;
        }
        self.rx.clear();
    }

    /// Sends one command that has no reply.
    pub async fn send(&mut self, cmd: &str) -> Result<()> {
        self.transact(cmd, false).await.map(|_| ())
    }

    /// Sends one query and returns its reply line, trimmed.
    pub async fn query(&mut self, cmd: &str) -> Result<String> {
        match self.transact(cmd, true).await? {
            Some(reply) => Ok(reply),
            // transact always returns a reply when one is wanted; keep the type honest.
            None => Err(InstrumentError::Protocol {
                device: self.device.clone(),
                what: cmd.to_string(),
                reply: "no reply line".to_string(),
            }),
        }
    }

    /// Sends a command of a line protocol that answers `OK` or `ERR <message>` (the
    /// simulated station's control port); the refusal, with its message, is an error.
    pub async fn command_ok(&mut self, cmd: &str) -> Result<()> {
        let reply = self.query(cmd).await?;
        if reply == "OK" {
            return Ok(());
        }
        let reply = match reply.strip_prefix("ERR") {
            Some(msg) if msg.is_empty() || msg.starts_with(' ') => {
                format!("the station refused: {}", msg.trim())
            }
            _ => format!("{reply} (expected OK or ERR <message>)"),
        };
        Err(InstrumentError::Protocol {
            device: self.device.clone(),
            what: cmd.to_string(),
            reply,
        })
    }

    /// Sends a query whose reply is one number (`"+2.350E+01"`, `"12.5 V"`).
    pub async fn query_f64(&mut self, cmd: &str) -> Result<f64> {
        let reply = self.query(cmd).await?;
        parse_reading(&reply).ok_or_else(|| InstrumentError::Protocol {
            device: self.device.clone(),
            what: cmd.to_string(),
            reply: if reply.is_empty() {
                "an empty line (expected a number)".to_string()
            } else {
                format!("{reply} (expected a number)")
            },
        })
    }

    /// Reads `SYST:ERR?`. A non-zero code is a `Protocol` error that names `after` (the
    /// command being checked) and carries every queued error (the queue is drained, so a
    /// stale error never fails the next command).
    pub async fn check_errors(&mut self, after: &str) -> Result<()> {
        let first = self.query("SYST:ERR?").await?;
        let code = self.error_code(&first)?;
        if code == 0 {
            return Ok(());
        }
        let mut errors = vec![first];
        for _ in 0..MAX_QUEUED_ERRORS {
            let next = self.query("SYST:ERR?").await?;
            if self.error_code(&next)? == 0 {
                break;
            }
            errors.push(next);
        }
        warn!(device = %self.device, command = after, errors = ?errors, "instrument reported an error");
        Err(InstrumentError::Protocol {
            device: self.device.clone(),
            what: after.to_string(),
            reply: format!("SYST:ERR? says {}", errors.join("; ")),
        })
    }

    /// Sends `cmds` in order, then checks `SYST:ERR?`. When the link had to be reopened
    /// while checking (so the commands may have been lost with the old connection), the
    /// commands are sent and checked once more.
    pub async fn send_checked(&mut self, cmds: &[String]) -> Result<()> {
        let label = cmds.join("; ");
        let mut resent = false;
        loop {
            for cmd in cmds {
                self.send(cmd).await?;
            }
            let sent_on = self.connections;
            self.check_errors(&label).await?;
            if self.connections == sent_on {
                return Ok(());
            }
            if resent {
                return Err(InstrumentError::LinkLost {
                    device: self.device.clone(),
                    detail: format!("{label}: the link dropped again after a reconnect"),
                });
            }
            warn!(device = %self.device, commands = %label, "link reopened before the check: sending again");
            resent = true;
        }
    }

    fn error_code(&self, reply: &str) -> Result<i64> {
        let head = reply.split(',').next().unwrap_or("").trim();
        head.parse::<i64>().map_err(|_| InstrumentError::Protocol {
            device: self.device.clone(),
            what: "SYST:ERR?".to_string(),
            reply: format!("{reply} (expected <code>,\"<message>\")"),
        })
    }

    async fn open(&mut self, reconnect: bool) -> Result<Link> {
        debug!(device = %self.device, reconnect, "opening link");
        match link::open(&self.endpoint, self.timeout).await {
            Ok(l) => {
                self.connections += 1;
                self.rx.clear();
                Ok(l)
            }
            Err(e) if reconnect => Err(InstrumentError::LinkLost {
                device: self.device.clone(),
                detail: format!("reconnect failed: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(InstrumentError::Timeout {
                device: self.device.clone(),
                what: "connect".to_string(),
                timeout: self.timeout,
            }),
            Err(e) => Err(InstrumentError::Io {
                device: self.device.clone(),
                detail: format!("cannot connect: {e}"),
            }),
        }
    }

    async fn transact(&mut self, cmd: &str, want_reply: bool) -> Result<Option<String>> {
        let mut reconnected = false;
        loop {
            let mut link = match self.link.take() {
                Some(l) => l,
                None => self.open(reconnected).await?,
            };
            debug!(device = %self.device, command = cmd, "scpi →");
            let attempt = tokio::time::timeout(
                self.timeout,
                exchange(&mut link, &mut self.rx, cmd, &self.terminator, want_reply),
            )
            .await;
            match attempt {
                Ok(Ok(reply)) => {
                    if let Some(r) = &reply {
                        debug!(device = %self.device, command = cmd, reply = %r, "scpi ←");
                    }
                    self.link = Some(link);
                    return Ok(reply);
                }
                Ok(Err(Failure::Lost(detail))) => {
                    self.rx.clear();
                    if reconnected {
                        warn!(device = %self.device, command = cmd, %detail, "link lost again after reconnecting");
                        return Err(InstrumentError::LinkLost {
                            device: self.device.clone(),
                            detail: format!("{cmd}: {detail} (also after one reconnect)"),
                        });
                    }
                    warn!(device = %self.device, command = cmd, %detail, "link lost: reconnecting once");
                    reconnected = true;
                }
                Ok(Err(Failure::Other(e))) => {
                    self.rx.clear();
                    return Err(self.name_error(e, cmd));
                }
                Err(_) => {
                    // A late reply would answer the next command: drop the connection.
                    self.rx.clear();
                    warn!(device = %self.device, command = cmd, "no answer in time: closing the link");
                    return Err(InstrumentError::Timeout {
                        device: self.device.clone(),
                        what: cmd.to_string(),
                        timeout: self.timeout,
                    });
                }
            }
        }
    }

    fn name_error(&self, e: InstrumentError, cmd: &str) -> InstrumentError {
        match e {
            InstrumentError::Io { detail, .. } => InstrumentError::Io {
                device: self.device.clone(),
                detail: format!("{cmd}: {detail}"),
            },
            InstrumentError::Protocol { reply, .. } => InstrumentError::Protocol {
                device: self.device.clone(),
                what: cmd.to_string(),
                reply,
            },
            other => other,
        }
    }
}

/// Writes one command and, when wanted, reads one reply line. Errors carry no device
/// name yet (the caller adds it).
async fn exchange(
    link: &mut Link,
    rx: &mut Vec<u8>,
    cmd: &str,
    terminator: &str,
    want_reply: bool,
) -> std::result::Result<Option<String>, Failure> {
    if want_reply && !rx.is_empty() {
        debug!(
            bytes = rx.len(),
            "discarding unsolicited bytes before a query"
        );
        rx.clear();
    }
    let mut out = Vec::with_capacity(cmd.len() + terminator.len());
    out.extend_from_slice(cmd.as_bytes());
    out.extend_from_slice(terminator.as_bytes());
    link.write_all(&out).await.map_err(io_failure)?;
    link.flush().await.map_err(io_failure)?;
    if !want_reply {
        return Ok(None);
    }
    let line = read_line(link, rx).await?;
    Ok(Some(line))
}

async fn read_line(link: &mut Link, rx: &mut Vec<u8>) -> std::result::Result<String, Failure> {
    loop {
        if let Some(pos) = rx.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = rx.drain(..=pos).collect();
            return Ok(String::from_utf8_lossy(&line).trim().to_string());
        }
        if rx.len() > MAX_LINE {
            let head = String::from_utf8_lossy(&rx[..rx.len().min(40)]).to_string();
            return Err(Failure::Other(InstrumentError::Protocol {
                device: String::new(),
                what: String::new(),
                reply: format!("more than {MAX_LINE} bytes without a newline ({head}…)"),
            }));
        }
        let mut buf = [0u8; 1024];
        let n = link.read(&mut buf).await.map_err(io_failure)?;
        if n == 0 {
            return Err(Failure::Lost("the peer closed the connection".to_string()));
        }
        rx.extend_from_slice(&buf[..n]);
    }
}

fn io_failure(e: std::io::Error) -> Failure {
    if is_link_lost(&e) {
        Failure::Lost(e.to_string())
    } else {
        Failure::Other(InstrumentError::Io {
            device: String::new(),
            detail: e.to_string(),
        })
    }
}

/// Reads a number from an instrument's reply: the whole reply, or its first token
/// (`"23.5 C"`, `"12.000,V"`). `None` when neither is a finite number.
pub fn parse_reading(reply: &str) -> Option<f64> {
    let t = reply.trim();
    let whole = t.parse::<f64>().ok();
    let first = || {
        t.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .find(|s| !s.is_empty())
            .and_then(|s| s.parse::<f64>().ok())
    };
    whole.or_else(first).filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::parse_reading;

    #[test]
    fn readings() {
        assert_eq!(parse_reading("+2.350E+01"), Some(23.5));
        assert_eq!(parse_reading(" 12.5 V\r"), Some(12.5));
        assert_eq!(parse_reading("3.3,V"), Some(3.3));
        assert_eq!(parse_reading("NaN"), None);
        assert_eq!(parse_reading("ERR"), None);
        assert_eq!(parse_reading(""), None);
    }
}

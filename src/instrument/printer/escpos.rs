//! The real-protocol printer backend: an ESC/POS printer behind a TCP port, a serial line
//! or a device file.
//!
//! Owns the conversation with the printer: opening (lazily) and reopening the link, the
//! GS I identity and DLE EOT status requests, streaming a job while collecting its
//! process-id acknowledgements, and noticing a lost link (which it drops so that the next
//! call reopens it). It must not encode jobs, judge prints or decide what a stopped job
//! means for a test: it reports how far the job got. It must never panic on what the
//! link delivers, and it never relies on bytes a dying peer may or may not have sent.

use super::{PrintReport, Printer, PrinterIdentity};
use crate::escpos::encode::Job;
use crate::escpos::status::{parse_auto_status, parse_dle_eot, PrinterState, Reply, ReplySplitter};
use crate::instrument::{InstrumentError, Result};
use crate::link::{self, Endpoint, Link};
use async_trait::async_trait;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// Bytes handed to the link per write while streaming a job.
const WRITE_CHUNK: usize = 4096;
/// Bytes read from the link at once.
const READ_BUF: usize = 1024;
/// The most bytes a request's answer may take, whatever else the printer sends with it:
/// the longest reply (a GS I text frame) is 80 bytes, a few stale status bytes may come
/// before it. More is a printer (or something else on its port) flooding the link.
const MAX_REPLY_BYTES: usize = 4096;
/// The most bytes nobody asked for a printer may send while a job streams (automatic
/// status, stray status bytes): a job's own acknowledgements are 7 bytes a band.
const MAX_UNASKED_BYTES: usize = 64 * 1024;
/// After a write fails, how long replies already on their way are still collected.
const LOST_GRACE: Duration = Duration::from_millis(200);
/// First and longest pause between attempts to reopen the link.
const BACKOFF_START: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_millis(500);

/// GS I n requests for the identity, in the order they are sent.
const ID_MODEL: u8 = 67;
const ID_FIRMWARE: u8 = 65;
const ID_MAKER: u8 = 66;
const ID_SERIAL: u8 = 68;

/// An ESC/POS printer spoken to over a link.
pub struct EscposPrinter {
    device: String,
    endpoint: Endpoint,
    link: Option<Link>,
    splitter: ReplySplitter,
    io_timeout: Duration,
}

/// What a reply means to the request waiting on it.
enum Pick<T> {
    /// Not for this request: keep waiting.
    Skip,
    Done(T),
    /// The printer answered, but with something that cannot be this request's reply.
    Bad(String),
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl EscposPrinter {
    /// A printer reached at `endpoint`; `io_timeout` bounds each request's answer. Nothing
    /// is opened yet.
    pub fn new(name: &str, endpoint: Endpoint, io_timeout: Duration) -> Self {
        EscposPrinter {
            device: format!("{name} ({endpoint})"),
            endpoint,
            link: None,
            splitter: ReplySplitter::new(),
            io_timeout,
        }
    }

    /// Opens the link unless it is already open, giving up after `timeout`.
    pub async fn connect(&mut self, timeout: Duration) -> Result<()> {
        if self.link.is_some() {
            return Ok(());
        }
        match link::open(&self.endpoint, timeout).await {
            Ok(l) => {
                tracing::info!(device = %self.device, "printer link open");
                self.link = Some(l);
                self.splitter = ReplySplitter::new();
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(InstrumentError::Timeout {
                device: self.device.clone(),
                what: "opening the link".into(),
                timeout,
            }),
            Err(e) => Err(InstrumentError::Io {
                device: self.device.clone(),
                detail: format!("cannot open the link: {e}"),
            }),
        }
    }

    /// Reads on a device file go through a blocking thread that cannot be called off:
    /// such a link is only read when a reply is really due.
    fn reads_block(&self) -> bool {
        matches!(self.link, Some(Link::Device(_)))
    }

    fn drop_link(&mut self, why: &str) {
        if self.link.take().is_some() {
            tracing::info!(device = %self.device, why, "printer link closed");
        }
        self.splitter = ReplySplitter::new();
    }

    /// Drops the link after an I/O failure and describes it.
    fn io_failure(&mut self, what: &str, e: &std::io::Error) -> InstrumentError {
        if link::is_link_lost(e) {
            self.lost(what, &e.to_string())
        } else {
            tracing::warn!(device = %self.device, what, error = %e, "printer I/O error");
            self.drop_link("I/O error");
            InstrumentError::Io {
                device: self.device.clone(),
                detail: format!("{what}: {e}"),
            }
        }
    }

    fn lost(&mut self, what: &str, detail: &str) -> InstrumentError {
        tracing::warn!(device = %self.device, what, detail, "printer link lost");
        self.drop_link("link lost");
        InstrumentError::LinkLost {
            device: self.device.clone(),
            detail: format!("{what}: {detail}"),
        }
    }

    /// Opens the link if needed and throws away replies nobody waits for any more (late
    /// acknowledgements, automatic status). A link found dead on the way is reopened once.
    async fn ready(&mut self, timeout: Duration) -> Result<()> {
        self.connect(timeout).await?;
        if self.drain_stale().await.is_err() {
            self.connect(timeout).await?;
        }
        Ok(())
    }

    async fn drain_stale(&mut self) -> Result<()> {
        if self.reads_block() {
            return Ok(());
        }
        let mut buf = [0u8; READ_BUF];
        let mut stale = Vec::new();
        let mut drained = 0usize;
        loop {
            if drained > MAX_REPLY_BYTES {
                self.drop_link("flooding");
                return Err(InstrumentError::Protocol {
                    device: self.device.clone(),
                    what: "checking the link".into(),
                    reply: format!(
                        "more than {MAX_REPLY_BYTES} bytes nobody asked for, still coming: the printer floods the link"
                    ),
                });
            }
            stale.clear();
            let Some(l) = self.link.as_mut() else {
                return Ok(());
            };
            // A zero timeout still polls the read once: only bytes already waiting count.
            match tokio::time::timeout(Duration::ZERO, l.read(&mut buf)).await {
                Err(_) => break,
                Ok(Ok(0)) => return Err(self.lost("checking the link", "end of stream")),
                Ok(Ok(n)) => {
                    drained += n;
                    self.splitter.push(buf.get(..n).unwrap_or(&[]), &mut stale);
                    if !stale.is_empty() {
                        tracing::debug!(device = %self.device, replies = stale.len(), "discarded stale replies");
                    }
                }
                Ok(Err(e)) => return Err(self.io_failure("checking the link", &e)),
            }
        }
        Ok(())
    }

    /// Sends `bytes` and waits up to `timeout` for the reply `pick` accepts. Junk bytes
    /// (and an unfinished frame) seen by then make a protocol error instead of a timeout.
    async fn request<T: Send>(
        &mut self,
        what: &str,
        bytes: &[u8],
        timeout: Duration,
        mut pick: impl FnMut(&Reply) -> Pick<T> + Send,
    ) -> Result<T> {
        self.ready(timeout).await?;
        let deadline = Instant::now() + timeout;
        tracing::debug!(device = %self.device, what, "request");
        let Some(l) = self.link.as_mut() else {
            return Err(self.lost(what, "link not open"));
        };
        match tokio::time::timeout_at(deadline, l.write_all(bytes)).await {
            Err(_) => {
                return Err(InstrumentError::Timeout {
                    device: self.device.clone(),
                    what: format!("{what} (sending)"),
                    timeout,
                })
            }
            Ok(Err(e)) => return Err(self.io_failure(&format!("sending {what}"), &e)),
            Ok(Ok(())) => {}
        }
        let mut buf = [0u8; READ_BUF];
        let mut frames = Vec::new();
        let mut junk = Vec::new();
        let mut received = 0usize;
        loop {
            if received > MAX_REPLY_BYTES {
                // Whatever it is sending, it is not an answer: the link is dropped (what is
                // still in flight must not be taken for the next request's reply).
                self.drop_link("flooding");
                return Err(InstrumentError::Protocol {
                    device: self.device.clone(),
                    what: what.to_string(),
                    reply: format!(
                        "{received} bytes without an answer, more than any reply takes ({MAX_REPLY_BYTES}): the printer floods the link"
                    ),
                });
            }
            let Some(l) = self.link.as_mut() else {
                return Err(self.lost(what, "link not open"));
            };
            let n = match tokio::time::timeout_at(deadline, l.read(&mut buf)).await {
                Err(_) => break,
                Ok(Ok(0)) => return Err(self.lost(&format!("waiting for {what}"), "end of stream")),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(self.io_failure(&format!("waiting for {what}"), &e)),
            };
            received += n;
            frames.clear();
            self.splitter.push(buf.get(..n).unwrap_or(&[]), &mut frames);
            for (i, frame) in frames.iter().enumerate() {
                if let Reply::Unknown(b) = frame {
                    if junk.len() < 64 {
                        junk.push(*b);
                    }
                }
                match pick(frame) {
                    Pick::Skip => {
                        tracing::debug!(device = %self.device, what, reply = ?frame, "skipped reply");
                    }
                    Pick::Done(v) => {
                        if let Some(rest) = frames.get(i + 1..).filter(|r| !r.is_empty()) {
                            tracing::debug!(device = %self.device, what, replies = ?rest, "discarded replies after the answer");
                        }
                        return Ok(v);
                    }
                    Pick::Bad(reply) => {
                        return Err(InstrumentError::Protocol {
                            device: self.device.clone(),
                            what: what.to_string(),
                            reply,
                        })
                    }
                }
            }
        }
        // Timed out.
        junk.extend_from_slice(self.splitter.pending());
        if self.reads_block() {
            // The blocking read is still pending: only a fresh link can be written again.
            self.drop_link("read timed out on a device file");
        }
        if junk.is_empty() {
            Err(InstrumentError::Timeout {
                device: self.device.clone(),
                what: what.to_string(),
                timeout,
            })
        } else {
            Err(InstrumentError::Protocol {
                device: self.device.clone(),
                what: what.to_string(),
                reply: format!("unframed bytes {}", hex(&junk)),
            })
        }
    }

    /// GS I n for a framed text reply.
    async fn id_text(&mut self, n: u8) -> Result<String> {
        let what = format!("GS I {n}");
        let timeout = self.io_timeout;
        self.request(&what, &[0x1D, 0x49, n], timeout, |r| match r {
            Reply::IdText(t) => {
                Pick::Done(crate::util::printable(&String::from_utf8_lossy(t)).into_owned())
            }
            _ => Pick::Skip,
        })
        .await
    }

    /// DLE EOT n, applied to `state`.
    async fn status_into(
        &mut self,
        n: u8,
        timeout: Duration,
        state: &mut PrinterState,
    ) -> Result<()> {
        let what = format!("DLE EOT {n}");
        let report = self
            .request(&what, &[0x10, 0x04, n], timeout, |r| match r {
                Reply::Status(b) => match parse_dle_eot(n, *b) {
                    Ok(report) => Pick::Done(report),
                    Err(e) => Pick::Bad(e.to_string()),
                },
                Reply::Unknown(b) => Pick::Bad(format!(
                    "0x{b:02X} is not a status byte (bits 1 and 4 must be set, 0 and 7 clear)"
                )),
                Reply::AutoStatus(bytes) => {
                    tracing::info!(asb = %hex(bytes), "automatic status while waiting for DLE EOT");
                    Pick::Skip
                }
                _ => Pick::Skip,
            })
            .await?;
        report.apply(state);
        Ok(())
    }
}

/// How one print run ended, before it becomes a report.
struct Streamed {
    sent: usize,
    acked: Vec<u32>,
    realtime: usize,
    stopped: Option<String>,
    /// The link must be dropped (lost, failed, or left with a read in flight).
    drop_link: bool,
}

impl EscposPrinter {
    /// Streams `job` over `l` while reading its acknowledgements.
    async fn stream(
        &mut self,
        l: Link,
        job: &Job,
        ack_timeout: Duration,
    ) -> (Streamed, Option<Link>) {
        let read_while_writing = !matches!(l, Link::Device(_));
        let (mut rd, mut wr) = tokio::io::split(l);
        let total = job.bytes.len();
        let expected = job.bands.iter().filter(|b| b.process_id != [0; 4]).count();
        if expected == 0 {
            tracing::warn!(device = %self.device, "job has no process ids: complete means sent, not printed");
        }
        let mut seen = vec![false; job.bands.len()];
        let mut out = Streamed {
            sent: 0,
            acked: Vec::new(),
            realtime: 0,
            stopped: None,
            drop_link: false,
        };
        let mut last_progress = Instant::now();
        // Set when a write failed: why, and when.
        let mut write_failed: Option<(Instant, String)> = None;
        let mut buf = vec![0u8; READ_BUF];
        let mut frames = Vec::new();
        // Bytes the printer sent that were no acknowledgement of this job.
        let mut unasked = 0usize;
        loop {
            if write_failed.is_none() && out.sent == total && out.acked.len() >= expected {
                break;
            }
            if unasked > MAX_UNASKED_BYTES {
                out.stopped = Some(format!(
                    "the printer sent more than {MAX_UNASKED_BYTES} bytes nobody asked for \
                     after {} of {total} bytes of the job: it floods the link",
                    out.sent
                ));
                out.drop_link = true;
                break;
            }
            let writing = write_failed.is_none() && out.sent < total;
            let reading = read_while_writing || !writing;
            let deadline = match &write_failed {
                Some((at, _)) => *at + LOST_GRACE,
                None => last_progress + ack_timeout,
            };
            let chunk = job
                .bytes
                .get(out.sent..total.min(out.sent + WRITE_CHUNK))
                .unwrap_or(&[]);
            tokio::select! {
                r = wr.write(chunk), if writing => match r {
                    Ok(0) => {
                        write_failed = Some((Instant::now(), "the link takes no more bytes".into()));
                    }
                    Ok(n) => {
                        out.sent += n;
                        last_progress = Instant::now();
                    }
                    Err(e) => {
                        let why = if link::is_link_lost(&e) {
                            format!("link lost: {e} after {} of {total} bytes", out.sent)
                        } else {
                            format!("link failed: {e} after {} of {total} bytes", out.sent)
                        };
                        tracing::warn!(device = %self.device, %why, "writing the job failed");
                        write_failed = Some((Instant::now(), why));
                    }
                },
                r = rd.read(&mut buf), if reading => match r {
                    Ok(0) => {
                        out.stopped = Some(match write_failed.take() {
                            Some((_, why)) => why,
                            None => format!("link lost: end of stream after {} of {total} bytes", out.sent),
                        });
                        out.drop_link = true;
                        break;
                    }
                    Ok(n) => {
                        frames.clear();
                        self.splitter.push(buf.get(..n).unwrap_or(&[]), &mut frames);
                        for frame in frames.drain(..) {
                            let size = match &frame {
                                Reply::ProcessId(_) => 0,
                                Reply::IdText(t) => t.len() + 2,
                                Reply::AutoStatus(_) => 4,
                                _ => 1,
                            };
                            if self.on_reply(frame, job, &mut out, &mut seen) {
                                last_progress = Instant::now();
                            } else {
                                unasked += size;
                            }
                        }
                    }
                    Err(e) => {
                        out.stopped = Some(match write_failed.take() {
                            Some((_, why)) => why,
                            None if link::is_link_lost(&e) => {
                                format!("link lost: {e} after {} of {total} bytes", out.sent)
                            }
                            None => format!("link failed: {e} after {} of {total} bytes", out.sent),
                        });
                        out.drop_link = true;
                        break;
                    }
                },
                () = tokio::time::sleep_until(deadline) => {
                    out.stopped = Some(match write_failed.take() {
                        Some((_, why)) => {
                            out.drop_link = true;
                            why
                        }
                        None if out.sent < total => format!(
                            "no progress: the printer took no data for {:.1} s after {} of {total} bytes",
                            ack_timeout.as_secs_f64(),
                            out.sent
                        ),
                        None => format!(
                            "no acknowledgement for {:.1} s after the last byte ({} of {expected} bands acknowledged)",
                            ack_timeout.as_secs_f64(),
                            out.acked.len()
                        ),
                    });
                    // A device file may still have a blocking read in flight.
                    out.drop_link |= !read_while_writing;
                    break;
                }
            }
        }
        if unasked > 0 {
            tracing::warn!(device = %self.device, bytes = unasked, "the printer sent bytes nobody asked for during the job");
        }
        let link = if out.drop_link {
            None
        } else {
            Some(rd.unsplit(wr))
        };
        (out, link)
    }

    /// Handles one reply during a print; true when it acknowledged a new band.
    fn on_reply(&self, frame: Reply, job: &Job, out: &mut Streamed, seen: &mut [bool]) -> bool {
        match frame {
            Reply::ProcessId(id) => {
                let Some(band) = job.band_of_process_id(id) else {
                    tracing::debug!(device = %self.device, id = %hex(&id), "process id not from this job");
                    return false;
                };
                let Some(flag) = seen.get_mut(band.index as usize) else {
                    return false;
                };
                if *flag {
                    tracing::debug!(device = %self.device, band = band.index, "band acknowledged twice");
                    return false;
                }
                *flag = true;
                if out.acked.last().is_some_and(|&last| last > band.index) {
                    tracing::warn!(device = %self.device, band = band.index, "band acknowledged out of order");
                }
                tracing::debug!(device = %self.device, band = band.index, "band printed");
                out.acked.push(band.index);
                true
            }
            Reply::Status(b) => {
                if out.realtime < job.hazards_within(out.sent) {
                    out.realtime += 1;
                    tracing::debug!(device = %self.device, byte = b, "status byte for a real-time sequence in the raster");
                } else {
                    // Counted by the caller (a flood must not become a flood of log lines).
                    tracing::debug!(device = %self.device, byte = b, "status byte nobody asked for");
                }
                false
            }
            Reply::AutoStatus(bytes) => {
                match parse_auto_status(bytes) {
                    Ok(state) => tracing::info!(device = %self.device, ?state, "automatic status"),
                    Err(e) => {
                        tracing::warn!(device = %self.device, error = %e, "bad automatic status")
                    }
                }
                false
            }
            Reply::FlowControl(b) => {
                tracing::trace!(device = %self.device, byte = b, "flow control byte");
                false
            }
            other @ (Reply::IdText(_) | Reply::IdByte(_)) => {
                tracing::debug!(device = %self.device, reply = ?other, "stale id reply during a print");
                false
            }
            Reply::Unknown(b) => {
                tracing::debug!(device = %self.device, byte = b, "unexpected byte from the printer");
                false
            }
        }
    }
}

#[async_trait]
impl Printer for EscposPrinter {
    fn device(&self) -> &str {
        &self.device
    }

    async fn identify(&mut self) -> Result<PrinterIdentity> {
        let model = self.id_text(ID_MODEL).await?;
        let firmware = self.id_text(ID_FIRMWARE).await?;
        let maker = self.id_text(ID_MAKER).await?;
        let serial = self.id_text(ID_SERIAL).await?;
        tracing::info!(device = %self.device, %model, %firmware, %maker, %serial, "printer identified");
        Ok(PrinterIdentity {
            model,
            firmware,
            maker,
            serial,
        })
    }

    async fn status(&mut self) -> Result<PrinterState> {
        let mut state = PrinterState::default();
        let timeout = self.io_timeout;
        for n in 1..=4 {
            self.status_into(n, timeout, &mut state).await?;
        }
        tracing::debug!(device = %self.device, ?state, "printer status");
        Ok(state)
    }

    async fn print(&mut self, job: &Job, ack_timeout: Duration) -> Result<PrintReport> {
        let timeout = self.io_timeout;
        self.ready(timeout).await?;
        let Some(l) = self.link.take() else {
            return Err(self.lost("starting the job", "link not open"));
        };
        let started = Instant::now();
        tracing::info!(device = %self.device, bytes = job.bytes.len(), bands = job.bands.len(), "printing");
        let (out, l) = self.stream(l, job, ack_timeout).await;
        match l {
            Some(l) => self.link = Some(l),
            None => self.drop_link("print stopped"),
        }
        // No band acknowledged on a link that is still there: a printer that rejected
        // the job still answers DLE EOT; one that does not is silent, and that is no
        // verdict on a print but an instrument that does not answer.
        if out.stopped.is_some() && out.acked.is_empty() && self.link.is_some() {
            let mut state = PrinterState::default();
            if let Err(e) = self.status_into(1, timeout, &mut state).await {
                tracing::warn!(device = %self.device, error = %e, "no band acknowledged and no status: the printer is silent");
                self.drop_link("silent after a job");
                return Err(InstrumentError::Timeout {
                    device: self.device.clone(),
                    what: format!(
                        "the job ({} of {} bytes sent, no band acknowledged in {:.1} s) or to DLE EOT 1 after it",
                        out.sent,
                        job.bytes.len(),
                        ack_timeout.as_secs_f64()
                    ),
                    timeout,
                });
            }
        }
        let report = PrintReport {
            bytes_sent: out.sent,
            complete: out.stopped.is_none(),
            bands_printed: out.acked,
            duration_s: started.elapsed().as_secs_f64(),
            realtime_replies: out.realtime,
            stopped: out.stopped,
        };
        match &report.stopped {
            None => tracing::info!(
                device = %self.device,
                bytes = report.bytes_sent,
                bands = report.bands_printed.len(),
                seconds = report.duration_s,
                "job printed"
            ),
            Some(why) => tracing::warn!(
                device = %self.device,
                bytes = report.bytes_sent,
                bands = report.bands_printed.len(),
                %why,
                "job stopped"
            ),
        }
        Ok(report)
    }

    async fn reconnect(&mut self, timeout: Duration) -> Result<()> {
        self.drop_link("reconnecting");
        let deadline = Instant::now() + timeout;
        let mut backoff = BACKOFF_START;
        let mut attempts = 0u32;
        let mut last = String::from("no attempt made");
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            attempts += 1;
            let per_try = remaining.min(self.io_timeout);
            match link::open(&self.endpoint, per_try).await {
                Ok(l) => {
                    self.link = Some(l);
                    self.splitter = ReplySplitter::new();
                    let per_try = deadline
                        .saturating_duration_since(Instant::now())
                        .min(self.io_timeout);
                    let mut state = PrinterState::default();
                    match self.status_into(1, per_try, &mut state).await {
                        Ok(()) => {
                            tracing::info!(device = %self.device, attempts, offline = state.offline, "printer back");
                            return Ok(());
                        }
                        Err(e) => {
                            last = e.to_string();
                            self.drop_link("no answer after reopening");
                        }
                    }
                }
                Err(e) => last = e.to_string(),
            }
            tracing::debug!(device = %self.device, attempts, %last, "printer not back yet");
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            tokio::time::sleep(backoff.min(remaining)).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        Err(InstrumentError::NotSettled {
            device: self.device.clone(),
            what: "reconnect".into(),
            timeout,
            detail: format!("{attempts} attempts, the last: {last}"),
        })
    }
}

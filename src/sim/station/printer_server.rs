//! The simulated printer on the wire: a TCP listener and/or a pty, powered by the PSU.
//!
//! Owns the printer's links and power cycle: booting (after `boot_s` station seconds),
//! accepting TCP connections, keeping the pty pair and the symlink to its slave, and
//! dropping them all when the power goes (output off, brownout, power-cut fault). Each
//! link feeds a job path: a [`SimPrinter`] built for the world of the moment, replaced
//! by a fresh one at every `ESC @` after a cut; pages it cuts go to the scanner the
//! moment each is cut (while the scanner's tray is full the rest of what was read waits,
//! and nothing more is read), replies go back on the link. A firmware of finite print speed keeps the session busy for the
//! rows its head moved (the next read and every reply wait for the paper), and one that
//! acknowledges bands late holds those replies back longer still. It must not model the
//! printer itself, scan on a network task or panic on anything a client sends.
//!
//! The pty: the station keeps only the master. Reading it while no one has the slave
//! open fails (EIO): the session then polls until someone opens the slave again, so the
//! rig may open and close the symlink path as often as it likes. Replies written while no
//! one listens may be lost, as on a serial cable.

use super::scans::ScanQueue;
use super::world::{Power, World};
use super::StationError;
use crate::escpos::status::{self, PrinterState};
use crate::sim::printer::{PageSink, SimPrinter, Stop};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_serial::{SerialPort, SerialStream};

/// How often a pty session looks again for a reader on the slave side.
const PTY_POLL: Duration = Duration::from_millis(20);
/// How long a reply may take to go out before it is dropped (pty) or the link is (TCP).
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
/// After a job halts (ink out, corrupt stream) the printer discards what arrives until
/// the link has been quiet this long, or until a new job's ESC @; then the next bytes
/// start a new job.
const HALT_QUIET: Duration = Duration::from_millis(300);
/// Pause before binding the TCP port again when it is still taken.
const REBIND_BACKOFF: Duration = Duration::from_millis(100);
/// Read size without a baud throttle.
const CHUNK: usize = 16 * 1024;

/// A pty pair for the printer: the master the station reads, the slave's path.
pub(crate) struct Pty {
    master: SerialStream,
    slave: PathBuf,
}

impl Pty {
    /// Opens a raw pty pair and points `link` at its slave.
    pub fn open(link: &Path) -> Result<Pty, StationError> {
        let (master, slave) = SerialStream::pair()?;
        let slave_path = slave.name().map(PathBuf::from).ok_or_else(|| {
            StationError::io(
                "name the pty slave",
                io::Error::other("the pty pair has no slave path"),
            )
        })?;
        // The rig opens the slave by its path; the station keeps only the master.
        drop(slave);
        point_link(link, &slave_path)?;
        tracing::info!(pty = %slave_path.display(), link = %link.display(), "printer pty ready");
        Ok(Pty {
            master,
            slave: slave_path,
        })
    }
}

/// Points the symlink `link` at `target`, replacing an older symlink atomically. Refuses
/// to replace anything that is not a symlink.
fn point_link(link: &Path, target: &Path) -> Result<(), StationError> {
    let shown = link.display().to_string();
    if let Some(parent) = link.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| StationError::io(format!("create the folder of {shown}"), e))?;
    }
    match std::fs::symlink_metadata(link) {
        Ok(m) if !m.file_type().is_symlink() => {
            return Err(StationError::io(
                format!("point {shown} at the printer's pty"),
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "a file that is not a symlink is in the way",
                ),
            ))
        }
        _ => {}
    }
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "printer.tty".into());
    let tmp = link.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .map_err(|e| StationError::io(format!("make a symlink beside {shown}"), e))?;
    std::fs::rename(&tmp, link).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        StationError::io(format!("put the symlink {shown} in place"), e)
    })
}

/// Removes the pty symlink if it is one.
pub(crate) fn remove_link(link: &Path) {
    if let Ok(m) = std::fs::symlink_metadata(link) {
        if m.file_type().is_symlink() {
            match std::fs::remove_file(link) {
                Ok(()) => tracing::debug!(link = %link.display(), "pty symlink removed"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(link = %link.display(), error = %e, "cannot remove the pty symlink")
                }
            }
        }
    }
}

/// Returns once the printer powered in `epoch` has lost power (or the station stops).
async fn power_lost(power: &mut watch::Receiver<Power>, epoch: u64) {
    loop {
        if !power.borrow_and_update().holds(epoch) {
            return;
        }
        if power.changed().await.is_err() {
            return;
        }
    }
}

/// Sleeps until `deadline`; `false` if the power went first.
async fn sleep_powered(power: &mut watch::Receiver<Power>, epoch: u64, deadline: Instant) -> bool {
    tokio::select! {
        _ = tokio::time::sleep_until(deadline) => true,
        _ = power_lost(power, epoch) => false,
    }
}

/// Waits for the output to be on: its power epoch, or `None` when the station stops.
async fn wait_for_output(power: &mut watch::Receiver<Power>) -> Option<u64> {
    loop {
        let p = *power.borrow_and_update();
        if p.shutdown {
            return None;
        }
        if p.output {
            return Some(p.epoch);
        }
        if power.changed().await.is_err() {
            return None;
        }
    }
}

type Links = (Option<TcpListener>, Option<Pty>);

/// The printer's power cycle, until the station stops. `tcp` and `pty` are the links of
/// the printer as booted by `start` (power epoch 0).
pub(crate) async fn run(
    world: Arc<World>,
    scans: ScanQueue,
    tcp: Option<(TcpListener, SocketAddr)>,
    pty: Option<Pty>,
    link: Option<PathBuf>,
) {
    let mut power = world.subscribe();
    let addr = tcp.as_ref().map(|(_, a)| *a);
    let mut booted: Option<Links> = Some((tcp.map(|(l, _)| l), pty));
    loop {
        if booted.is_some() && !power.borrow().holds(0) {
            // Power went before the printer ever served: boot afresh when it returns.
            booted = None;
            if let Some(link) = &link {
                remove_link(link);
            }
        }
        let Some(epoch) = wait_for_output(&mut power).await else {
            break;
        };
        let (listener, pty) = match booted.take() {
            Some(links) => links,
            None => match boot(&world, &mut power, epoch, addr, link.as_deref()).await {
                Some(links) => links,
                None => continue,
            },
        };
        world.set_ready(true);
        tracing::info!(station = %world.spec().name, epoch, "printer up");
        serve_powered(&world, &scans, &mut power, epoch, listener, pty).await;
        world.set_ready(false);
        if let Some(link) = &link {
            remove_link(link);
        }
        tracing::info!(station = %world.spec().name, epoch, "printer down");
    }
    if let Some(link) = &link {
        remove_link(link);
    }
}

/// Boots the printer: waits the boot delay, listens again on its TCP port and makes a new
/// pty pair. `None` when the power went meanwhile.
async fn boot(
    world: &World,
    power: &mut watch::Receiver<Power>,
    epoch: u64,
    addr: Option<SocketAddr>,
    link: Option<&Path>,
) -> Option<Links> {
    let delay = world.spec().boot_wall();
    tracing::info!(station = %world.spec().name, ?delay, "printer booting");
    if !sleep_powered(power, epoch, Instant::now() + delay).await {
        return None;
    }
    let listener = match addr {
        None => None,
        Some(addr) => loop {
            match TcpListener::bind(addr).await {
                Ok(l) => break Some(l),
                Err(e) => {
                    tracing::warn!(%addr, error = %e, "printer port still taken: retrying");
                    if !sleep_powered(power, epoch, Instant::now() + REBIND_BACKOFF).await {
                        return None;
                    }
                }
            }
        },
    };
    let pty = match link {
        None => None,
        Some(link) => match Pty::open(link) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::error!(error = %e, "printer booted without its pty");
                None
            }
        },
    };
    Some((listener, pty))
}

async fn accept(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// Serves the links while the printer is powered; then closes them all.
async fn serve_powered(
    world: &Arc<World>,
    scans: &ScanQueue,
    power: &mut watch::Receiver<Power>,
    epoch: u64,
    listener: Option<TcpListener>,
    pty: Option<Pty>,
) {
    let mut sessions = JoinSet::new();
    if let Some(pty) = pty {
        let link = format!("pty {}", pty.slave.display());
        sessions.spawn(session(
            world.clone(),
            scans.clone(),
            pty.master,
            power.clone(),
            epoch,
            LinkKind::Pty,
            link,
        ));
    }
    loop {
        tokio::select! {
            _ = power_lost(power, epoch) => break,
            accepted = accept(listener.as_ref()) => match accepted {
                Ok((stream, peer)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                    }
                    tracing::info!(%peer, "printer: TCP connection");
                    sessions.spawn(session(
                        world.clone(),
                        scans.clone(),
                        stream,
                        power.clone(),
                        epoch,
                        LinkKind::Tcp,
                        format!("tcp {peer}"),
                    ));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "printer: accept failed");
                    tokio::time::sleep(REBIND_BACKOFF).await;
                }
            },
            Some(done) = sessions.join_next(), if !sessions.is_empty() => {
                if let Err(e) = done {
                    tracing::error!(error = %e, "printer session failed");
                }
            }
        }
    }
    // Connects are refused from here on.
    drop(listener);
    // Every session sees the same loss of power: it tears off its page and ends.
    while let Some(done) = sessions.join_next().await {
        if let Err(e) = done {
            tracing::error!(error = %e, "printer session failed");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    /// The peer closing ends the session.
    Tcp,
    /// The peer may come and go: the session lasts as long as the power.
    Pty,
}

/// Paces reads to a line rate.
struct Throttle {
    bytes_per_s: Option<f64>,
    next: Option<Instant>,
}

impl Throttle {
    fn new(baud: Option<u32>) -> Throttle {
        Throttle {
            bytes_per_s: baud.filter(|b| *b > 0).map(|b| f64::from(b) / 10.0),
            next: None,
        }
    }

    /// Read size: about 20 ms of line time when throttled.
    fn chunk(&self) -> usize {
        match self.bytes_per_s {
            Some(r) => ((r / 50.0) as usize).clamp(1, CHUNK),
            None => CHUNK,
        }
    }

    /// When the next read may happen, if that is still ahead.
    fn ready_at(&self) -> Option<Instant> {
        self.next.filter(|t| *t > Instant::now())
    }

    fn consumed(&mut self, n: usize) {
        if let Some(r) = self.bytes_per_s {
            let now = Instant::now();
            let from = self.next.filter(|t| *t > now).unwrap_or(now);
            let secs = n as f64 / r;
            self.next = Some(from + Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO));
        }
    }
}

async fn session<S>(
    world: Arc<World>,
    scans: ScanQueue,
    mut stream: S,
    mut power: watch::Receiver<Power>,
    epoch: u64,
    kind: LinkKind,
    link: String,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut job = JobPath::new(world.clone(), scans.clone());
    let mut throttle = Throttle::new(world.spec().config.baud);
    let mut buf = vec![0u8; throttle.chunk()];
    // Bytes read but not yet taken by the printer: its output tray was full.
    let mut held: Vec<u8> = Vec::new();
    let mut peer_away = false;
    // Until when the head is still moving the paper for what it was fed: the next read
    // and every reply wait for it.
    let mut busy_until: Option<Instant> = None;
    loop {
        let busy = busy_until.filter(|t| *t > Instant::now());
        if let Some(at) = throttle.ready_at().max(busy) {
            if !sleep_powered(&mut power, epoch, at).await {
                break;
            }
        }
        let fed = if !held.is_empty() {
            // The scanner takes a page from the tray, then the printer goes on.
            tokio::select! {
                _ = power_lost(&mut power, epoch) => break,
                () = scans.room() => {}
            }
            let bytes = std::mem::take(&mut held);
            let fed = job.feed(&bytes);
            if fed.held > 0 {
                held = bytes[bytes.len() - fed.held..].to_vec();
            }
            fed
        } else {
            let read = tokio::select! {
                _ = power_lost(&mut power, epoch) => break,
                r = stream.read(&mut buf) => r,
            };
            let n = match read {
                Ok(n) if n > 0 => n,
                other => {
                    if kind == LinkKind::Tcp {
                        if let Err(e) = other {
                            tracing::debug!(%link, error = %e, "printer link read failed");
                        }
                        tracing::info!(%link, "printer link closed by the peer");
                        break;
                    }
                    // pty with no one on the slave side: look again shortly.
                    if !peer_away {
                        tracing::debug!(%link, "no one on the pty slave");
                        peer_away = true;
                    }
                    if !sleep_powered(&mut power, epoch, Instant::now() + PTY_POLL).await {
                        break;
                    }
                    continue;
                }
            };
            if peer_away {
                tracing::debug!(%link, "someone on the pty slave");
                peer_away = false;
            }
            throttle.consumed(n);
            let fed = job.feed(&buf[..n]);
            if fed.held > 0 {
                held = buf[n - fed.held..n].to_vec();
            }
            fed
        };
        let now = Instant::now();
        if !fed.print_time.is_zero() {
            let from = busy_until.filter(|t| *t > now).unwrap_or(now);
            busy_until = Some(from + fed.print_time);
        }
        if !fed.replies.is_empty() && !fed.reset {
            // Answers come once the rows before them are out of the head; a band
            // acknowledgement as late again as the firmware sends it.
            let mut at = busy_until.filter(|t| *t > now);
            if !fed.ack_delay.is_zero() {
                at = Some(at.unwrap_or(now) + fed.ack_delay);
            }
            if let Some(at) = at {
                if !sleep_powered(&mut power, epoch, at).await {
                    break;
                }
            }
        }
        if !fed.replies.is_empty() {
            let sent = tokio::time::timeout(REPLY_TIMEOUT, async {
                stream.write_all(&fed.replies).await?;
                stream.flush().await
            })
            .await;
            let failed = match sent {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some("timed out".to_string()),
            };
            if let Some(why) = failed {
                if kind == LinkKind::Tcp {
                    tracing::info!(%link, error = %why, "printer reply failed: closing");
                    break;
                }
                tracing::debug!(%link, error = %why, bytes = fed.replies.len(), "pty reply lost");
            }
        }
        if fed.reset {
            tracing::warn!(%link, "printer reset: it reboots");
            world.reset_printer(epoch);
        }
    }
    job.end();
}

/// What feeding one chunk gave.
#[derive(Debug, Default)]
struct Fed {
    /// Bytes at the end of the chunk not taken yet: the scanner has pages enough waiting
    /// (feed them again once there is room).
    held: usize,
    replies: Vec<u8>,
    /// The printer reset itself (brownout, power-cut fault).
    reset: bool,
    /// Wall time the head takes to move the paper for what the chunk printed and fed, at
    /// the firmware's print speed (zero: as fast as the link).
    print_time: Duration,
    /// How late the firmware sends the band acknowledgements among `replies` (zero: none
    /// among them, or sent at once).
    ack_delay: Duration,
}

/// A halted printer: answers DLE EOT from its last state, discards everything else.
struct Halted {
    state: PrinterState,
    last_byte: Instant,
    /// Bytes of `10 04` seen so far (0, 1 or 2).
    dle: u8,
    /// The last byte discarded was ESC (a new job's ESC @ may be split across reads).
    esc: bool,
}

impl Halted {
    fn answer(&mut self, bytes: &[u8], replies: &mut Vec<u8>) {
        self.last_byte = Instant::now();
        for &b in bytes {
            self.dle = match (self.dle, b) {
                (_, 0x10) => 1,
                (1, 0x04) => 2,
                (2, n) => {
                    if let Some(r) = status::dle_eot_reply(n, &self.state) {
                        replies.push(r);
                    }
                    0
                }
                _ => 0,
            };
        }
    }
}

/// One printer job: the simulated printer and what the world must learn from it.
struct Job {
    printer: SimPrinter,
    world: Arc<World>,
    /// Ink level last reported back to the world.
    ink: Option<f64>,
    printing: Printing,
    /// Wall time of one dot row at the firmware's print speed; `None`: as fast as the link.
    row_time: Option<Duration>,
    /// How late the firmware sends each band acknowledgement.
    ack_delay: Duration,
    /// Row times of the head already paced (rows moved and paused).
    paced: f64,
    /// Bytes of the link given to this job so far.
    received: usize,
}

/// Counts this job among the printing ones while it has a page in progress.
struct Printing {
    world: Arc<World>,
    on: bool,
}

impl Printing {
    fn set(&mut self, on: bool) {
        if on != self.on {
            self.world.printing(on);
            self.on = on;
        }
    }
}

impl Drop for Printing {
    fn drop(&mut self) {
        self.set(false);
    }
}

impl Job {
    /// A job whose pages go to `scans` the moment each is cut.
    fn new(world: &Arc<World>, scans: &ScanQueue) -> Job {
        let setup = world.job_setup();
        let (queue, to) = (scans.clone(), world.clone());
        let sink: PageSink = Box::new(move |page| queue.send(&to, page));
        Job {
            printer: SimPrinter::with_head(setup.model, setup.faults, setup.seed, setup.info, None)
                .with_page_sink(sink),
            world: world.clone(),
            ink: setup.ink,
            printing: Printing {
                world: world.clone(),
                on: false,
            },
            row_time: setup.row_time,
            ack_delay: setup.ack_delay,
            paced: 0.0,
            received: 0,
        }
    }

    /// Wall time the head took since the last call: the rows of paper it moved (printed or
    /// fed) and the row times it paused to cool, at the firmware's print speed.
    fn take_print_time(&mut self) -> Duration {
        let Some(row) = self.row_time else {
            return Duration::ZERO;
        };
        let now = self.printer.rows_advanced() as f64 + self.printer.head_status().paused_rows;
        let rows = (now - self.paced).max(0.0);
        self.paced = now;
        Duration::try_from_secs_f64(row.as_secs_f64() * rows).unwrap_or(Duration::ZERO)
    }

    fn report_ink(&mut self, now: Option<f64>) {
        if let (Some(before), Some(now)) = (self.ink, now) {
            self.world.drain_ink(before - now);
            self.ink = Some(now);
        }
    }

    /// Brings the world up to date (the pages went to the scanner as they were cut).
    fn collect(&mut self) {
        let ink = self.printer.head_status().ink_level;
        self.report_ink(ink);
        let on = self.printer.page_rows() > 0 && self.printer.stopped().is_none();
        self.printing.set(on);
    }

    /// Ends the job: the page in progress comes out torn off and is scanned.
    fn finish(self) {
        let Job {
            printer,
            world,
            ink,
            printing,
            ..
        } = self;
        let out = printer.finish();
        if let (Some(before), Some(now)) = (ink, out.head.ink_level) {
            world.drain_ink(before - now);
        }
        if let Some(stop) = &out.stop {
            tracing::info!(?stop, "job stopped early");
        }
        drop(printing);
    }
}

/// The bytes of one link on their way through the printer's jobs.
struct JobPath {
    world: Arc<World>,
    scans: ScanQueue,
    job: Option<Job>,
    halted: Option<Halted>,
}

impl JobPath {
    fn new(world: Arc<World>, scans: ScanQueue) -> JobPath {
        JobPath {
            world,
            scans,
            job: None,
            halted: None,
        }
    }

    fn end_job(&mut self) {
        if let Some(job) = self.job.take() {
            job.finish();
        }
    }

    fn halt(&mut self, state: PrinterState) {
        self.end_job();
        self.halted = Some(Halted {
            state,
            last_byte: Instant::now(),
            dle: 0,
            esc: false,
        });
    }

    fn feed(&mut self, bytes: &[u8]) -> Fed {
        let mut out = Fed::default();
        let mut resumed = Vec::new();
        let mut rest = bytes;
        if let Some(h) = &mut self.halted {
            if h.last_byte.elapsed() < HALT_QUIET {
                // A new job's ESC @ ends the discarding: the job starts there.
                let start = if h.esc && bytes.first() == Some(&b'@') {
                    Some(0)
                } else {
                    bytes
                        .windows(2)
                        .position(|w| w == [0x1B, b'@'])
                        .map(|i| i + 1)
                };
                let Some(at) = start else {
                    h.esc = bytes.last() == Some(&0x1B);
                    h.answer(bytes, &mut out.replies);
                    return out;
                };
                // `at` is the '@'; the ESC before it is this chunk's or the last one's.
                h.answer(&bytes[..at.saturating_sub(1)], &mut out.replies);
                resumed.extend_from_slice(&[0x1B]);
                resumed.extend_from_slice(&bytes[at..]);
                tracing::info!("printer ready again: a new job begins after a halted one");
            } else {
                tracing::info!("printer ready again after a halted job");
            }
            self.halted = None;
            if !resumed.is_empty() {
                rest = &resumed;
            }
        }
        while !rest.is_empty() {
            let job = self
                .job
                .get_or_insert_with(|| Job::new(&self.world, &self.scans));
            let acknowledged = job.printer.acknowledged().len();
            let pages = job.printer.pages_out();
            let before = job.received;
            let taken = job.printer.receive_job_to_page(rest);
            job.received += taken;
            out.print_time += job.take_print_time();
            if job.printer.acknowledged().len() > acknowledged {
                out.ack_delay = out.ack_delay.max(job.ack_delay);
            }
            out.replies.extend(job.printer.take_replies());
            job.collect();
            match job.printer.stopped() {
                Some(Stop::OutOfInk { offset } | Stop::PaperEnd { offset }) => {
                    tracing::warn!(offset, "out of ink or paper: the job halts");
                    let state = job.printer.state();
                    self.halt(state);
                    return out;
                }
                Some(stop) => {
                    tracing::warn!(?stop, "the printer lost power mid-job");
                    out.reset = true;
                    return out;
                }
                None => {}
            }
            if let Some(e) = job.printer.decode_error() {
                tracing::warn!(error = %e, "corrupt job: the job halts");
                // What came after the corrupt command in this read is the halted
                // printer's to look at (status requests, a new job's ESC @).
                let after = e.offset().saturating_sub(before).saturating_add(1);
                let state = PrinterState {
                    offline: true,
                    error: true,
                    ..job.printer.state()
                };
                self.halt(state);
                if let Some(tail) = rest.get(after..).filter(|t| !t.is_empty()) {
                    let more = self.feed(tail);
                    out.replies.extend(more.replies);
                    out.print_time += more.print_time;
                    out.ack_delay = out.ack_delay.max(more.ack_delay);
                    out.reset |= more.reset;
                }
                return out;
            }
            let cut = job.printer.pages_out() > pages;
            if job.printer.job_ended() {
                // An ESC @ after a cut: the next job starts here.
                self.end_job();
            }
            rest = &rest[taken..];
            if cut && !rest.is_empty() && self.scans.is_full() {
                // The tray is full: the rest waits until the scanner has taken a page.
                out.held = rest.len();
                return out;
            }
        }
        out
    }

    /// The link ended or the power went: the page in progress comes out torn off.
    fn end(mut self) {
        self.end_job();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::config::FirmwareImage;
    use crate::sim::station::SimStationSpec;
    use crate::sim::SimConfig;

    fn job_bytes(rows: u32, cut: bool) -> Vec<u8> {
        let mut b = vec![0x1B, 0x40];
        // GS v 0, 2 bytes wide (16 dots), `rows` rows of solid black.
        b.extend_from_slice(&[0x1D, 0x76, 0x30, 0, 2, 0, rows as u8, 0]);
        b.extend(std::iter::repeat_n(0xFFu8, 2 * rows as usize));
        b.extend_from_slice(&[
            0x1D, 0x28, 0x48, 0x06, 0x00, 0x30, 0x30, b'0', b'0', b'0', b'1',
        ]);
        if cut {
            b.extend_from_slice(&[0x1D, 0x56, 0x01]);
        }
        b
    }

    /// A station's world configured by `config`, scanning into a temporary folder, and
    /// one link's job path into it with the pages it sends to the scanner.
    fn station(
        config: SimConfig,
    ) -> (
        tempfile::TempDir,
        Arc<World>,
        JobPath,
        super::super::scans::Receiver,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let world = Arc::new(World::new(SimStationSpec {
            scan_dir: dir.path().to_path_buf(),
            config,
            ..SimStationSpec::default()
        }));
        let (scans, rx) = ScanQueue::new();
        let path = JobPath::new(world.clone(), scans);
        (dir, world, path, rx)
    }

    #[tokio::test]
    async fn a_full_tray_holds_the_rest_of_the_stream_until_a_page_is_scanned() {
        use super::super::scans::TRAY_PAGES;
        let (_dir, _world, mut path, mut rx) = station(SimConfig::default());
        let mut stream = Vec::new();
        for _ in 0..5 {
            stream.extend(job_bytes(10, true));
        }
        // Nothing is scanned yet: the printer stops taking bytes once the tray is full.
        let fed = path.feed(&stream);
        assert!(fed.held > 0, "{fed:?}");
        let queued = rx.take_unscanned();
        assert_eq!(queued, TRAY_PAGES);
        // Pages scanned make room: the rest goes through, a page at a time, and every
        // page comes out once.
        let mut rest = stream[stream.len() - fed.held..].to_vec();
        rx.scanned(queued);
        let mut pages = queued;
        while !rest.is_empty() {
            let fed = path.feed(&rest);
            rest = rest[rest.len() - fed.held..].to_vec();
            while rx.try_recv().is_ok() {
                pages += 1;
            }
        }
        path.end();
        while rx.try_recv().is_ok() {
            pages += 1;
        }
        assert_eq!(pages, 5);
    }

    #[tokio::test]
    async fn back_to_back_jobs_on_one_link_get_fresh_printers() {
        let (_dir, world, mut path, mut rx) = station(SimConfig::default());
        let mut both = job_bytes(40, true);
        world.inject("dead=3".into());
        both.extend(job_bytes(20, true));
        // Split anywhere: the same two pages and two acks come out.
        let (a, b) = both.split_at(37);
        let mut replies = path.feed(a).replies;
        replies.extend(path.feed(b).replies);
        let ack = [0x37, 0x22, b'0', b'0', b'0', b'1', 0];
        assert_eq!(replies, [ack, ack].concat());
        path.end();
        let (n1, p1) = rx.recv().await.expect("page 1");
        let (n2, p2) = rx.recv().await.expect("page 2");
        assert_eq!((n1, n2), (1, 2));
        assert_eq!(p1.height(), 40);
        assert_eq!(p2.height(), 20);
        let status: serde_json::Value = serde_json::from_str(&world.status_json()).expect("json");
        assert_eq!(status["jobs"], 2, "one printer per job");
        assert_eq!(status["printing"], 0);
    }

    #[tokio::test]
    async fn a_good_job_right_after_a_corrupt_one_is_printed() {
        let (_dir, _world, mut path, mut rx) = station(SimConfig::default());
        // A corrupt job (GS v with function 0x31), garbage after it, then at once a good
        // job, its ESC @ split across two reads: the good job prints and is acknowledged.
        let mut stream = vec![
            0x1B, 0x40, 0x1D, 0x76, 0x31, 0, 1, 2, 3, 0x10, 0x04, 0x01, 9, 9,
        ];
        let good = job_bytes(25, true);
        stream.extend_from_slice(&good);
        let cut = stream.len() - good.len() + 1;
        let mut fed = path.feed(&stream[..cut]);
        let second = path.feed(&stream[cut..]);
        fed.replies.extend(second.replies);
        let ack = [0x37, 0x22, b'0', b'0', b'0', b'1', 0];
        assert!(fed.replies.ends_with(&ack), "{:02X?}", fed.replies);
        // The status asked while halted was answered (offline, error).
        assert_eq!(fed.replies.len(), ack.len() + 1, "{:02X?}", fed.replies);
        path.end();
        let mut heights = Vec::new();
        while let Ok((_, page)) = rx.try_recv() {
            heights.push(page.height());
        }
        assert!(heights.contains(&25), "{heights:?}");
    }

    #[tokio::test]
    async fn a_torn_page_comes_out_when_the_link_ends() {
        let (_dir, world, mut path, mut rx) = station(SimConfig::default());
        path.feed(&job_bytes(30, false));
        let status: serde_json::Value = serde_json::from_str(&world.status_json()).expect("json");
        assert_eq!(status["printing"], 1);
        assert!(world.measured_current() > 1.0);
        path.end();
        let (_, page) = rx.recv().await.expect("torn page");
        assert_eq!(page.height(), 30);
        assert!(world.measured_current() < 0.5);
    }

    #[tokio::test]
    async fn out_of_ink_halts_and_answers_status_until_quiet() {
        let (_dir, _world, mut path, _rx) = station(SimConfig {
            ink: 0.0,
            ..SimConfig::default()
        });
        let fed = path.feed(&job_bytes(30, true));
        assert!(!fed.reset);
        assert!(path.halted.is_some());
        // DLE EOT 4 (paper) split over two chunks: paper end.
        assert!(path.feed(&[0x10]).replies.is_empty());
        let r = path.feed(&[0x04, 0x04]).replies;
        assert_eq!(r.len(), 1);
        assert_eq!(r[0] & 0x60, 0x60, "paper end bits: {:#04x}", r[0]);
    }

    #[tokio::test]
    async fn a_paced_firmware_takes_its_rows_time_and_acknowledges_late() {
        let (_dir, world, mut path, _rx) = station(SimConfig {
            print_speed_mm_s: Some(100.0),
            firmware_images: vec![FirmwareImage {
                print_speed_mm_s: Some(25.0),
                ack_delay_ms: 300.0,
                ..FirmwareImage::base("SIM 1.2")
            }],
            ..SimConfig::default()
        });
        let near = |d: Duration, ms: f64| (d.as_secs_f64() * 1000.0 - ms).abs() < 0.01;
        // 80 rows at the station's 100 mm/s, 8 rows a millimetre: 0.1 s; no acknowledgement
        // in the first chunk, one in the second, sent at once.
        let job = job_bytes(80, true);
        let (a, b) = job.split_at(job.len() - 14);
        let fed = path.feed(a);
        assert!(near(fed.print_time, 100.0), "{:?}", fed.print_time);
        assert!(fed.replies.is_empty() && fed.ack_delay.is_zero());
        let fed = path.feed(b);
        assert!(fed.print_time.is_zero() && !fed.replies.is_empty() && fed.ack_delay.is_zero());
        // The next job runs the installed image: four times slower, acknowledged late.
        world
            .install_firmware("SIM 1.2")
            .expect("an image of the station");
        let fed = path.feed(&job_bytes(80, true));
        assert!(near(fed.print_time, 400.0), "{:?}", fed.print_time);
        assert_eq!(fed.ack_delay, Duration::from_millis(300));
        path.end();
    }

    #[test]
    fn throttle_paces_to_the_line_rate() {
        let mut t = Throttle::new(Some(9600));
        assert_eq!(t.chunk(), 19);
        assert!(t.ready_at().is_none());
        t.consumed(960);
        let wait = t
            .ready_at()
            .map(|at| at - Instant::now())
            .unwrap_or_default();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert_eq!(Throttle::new(None).chunk(), CHUNK);
    }

    #[test]
    fn symlinks_are_replaced_but_files_are_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("sub").join("printer.tty");
        point_link(&link, Path::new("/dev/null")).expect("first");
        point_link(&link, Path::new("/dev/zero")).expect("again");
        assert_eq!(
            std::fs::read_link(&link).ok(),
            Some(PathBuf::from("/dev/zero"))
        );
        remove_link(&link);
        assert!(std::fs::symlink_metadata(&link).is_err());
        std::fs::write(&link, b"mine").expect("write");
        assert!(point_link(&link, Path::new("/dev/null")).is_err());
        remove_link(&link);
        assert!(link.exists(), "a plain file is left alone");
    }
}

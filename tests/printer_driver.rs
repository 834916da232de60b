//! The ESC/POS printer driver against fake printers built from the simulated printer,
//! reached over loopback TCP or a pty, speaking the real protocol.

use printrig::escpos::encode::{encode_bitmap, EncodeOptions, Job};
use printrig::escpos::status::{PrinterState, Reply, ReplySplitter};
use printrig::instrument::printer::escpos::EscposPrinter;
use printrig::instrument::printer::Printer;
use printrig::instrument::InstrumentError;
use printrig::link::{Endpoint, Flow};
use printrig::pattern::{render, Bitmap, PatternKind};
use printrig::sim::printer::sim_info;
use printrig::sim::{Faults, SimPrinter};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const HEAD_DOTS: u32 = 576;
/// 115200 baud, 8N1: ten bits on the wire per byte.
const LINE_BYTES_PER_S: usize = 115_200 / 10;
const IO_TIMEOUT: Duration = Duration::from_secs(2);
const ACK_TIMEOUT: Duration = Duration::from_secs(3);

/// How a fake printer behaves.
#[derive(Debug, Clone, Copy, Default)]
struct FakeConfig {
    /// Read at most this many bytes per second (a serial line's pace).
    throttle: Option<usize>,
    /// Power is cut once this many bytes have arrived: the rest is never processed and the
    /// connection closes.
    cut_after: Option<usize>,
    /// Reads everything, answers nothing.
    silent: bool,
}

/// What the fake printer saw.
#[derive(Debug, Default)]
struct FakeStats {
    received: usize,
    /// Bytes received when the first process-id acknowledgement was written back.
    received_at_first_ack: Option<usize>,
    acks_sent: usize,
}

/// Feeds what arrives on `stream` to a fresh simulated printer and writes its replies back
/// after every read, until the peer goes away or the power is cut.
async fn serve<S>(mut stream: S, cfg: FakeConfig, stats: Arc<Mutex<FakeStats>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut sim = SimPrinter::new(HEAD_DOTS, Faults::default(), 1, sim_info(HEAD_DOTS), None);
    let mut received = 0usize;
    let mut buf = vec![0u8; 4096];
    // Throttling: reads of at most 1/20 s worth of bytes, paced by a running budget.
    let started = tokio::time::Instant::now();
    let mut splitter = ReplySplitter::new();
    let mut frames = Vec::new();
    loop {
        let mut want = buf.len();
        if let Some(rate) = cfg.throttle {
            want = want.min((rate / 20).max(1));
            let due = started + Duration::from_secs_f64(received as f64 / rate as f64);
            tokio::time::sleep_until(due).await;
        }
        if let Some(cut) = cfg.cut_after {
            want = want.min(cut.saturating_sub(received));
        }
        let n = match stream.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        received += n;
        stats.lock().expect("stats lock").received = received;
        if cfg.silent {
            continue;
        }
        sim.receive(&buf[..n]);
        let replies = sim.take_replies();
        if !replies.is_empty() {
            frames.clear();
            splitter.push(&replies, &mut frames);
            let acks = frames
                .iter()
                .filter(|f| matches!(f, Reply::ProcessId(_)))
                .count();
            if stream.write_all(&replies).await.is_err() {
                return;
            }
            let mut s = stats.lock().expect("stats lock");
            if acks > 0 && s.received_at_first_ack.is_none() {
                s.received_at_first_ack = Some(received);
            }
            s.acks_sent += acks;
        }
        if cfg.cut_after.is_some_and(|c| received >= c) {
            // What was answered before the cut had time to leave; then the power dies.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return;
        }
    }
}

/// A fake printer on a loopback TCP port; stops (closing every connection) when dropped.
struct TcpFake {
    port: u16,
    stats: Arc<Mutex<FakeStats>>,
    task: JoinHandle<()>,
}

impl TcpFake {
    async fn start(cfg: FakeConfig) -> TcpFake {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        TcpFake::on(listener, cfg)
    }

    fn on(listener: TcpListener, cfg: FakeConfig) -> TcpFake {
        let port = listener.local_addr().expect("addr").port();
        let stats = Arc::new(Mutex::new(FakeStats::default()));
        let st = stats.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                if cfg.cut_after.is_some() {
                    // A dead printer accepts nothing more.
                    drop(listener);
                    serve(sock, cfg, st).await;
                    return;
                }
                conns.spawn(serve(sock, cfg, st.clone()));
            }
        });
        TcpFake { port, stats, task }
    }

    /// Stops listening and closes every connection before returning.
    async fn shutdown(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port: self.port,
        }
    }
}

impl Drop for TcpFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A fake printer on the master side of a pty; the driver opens the slave's path.
struct PtyFake {
    path: PathBuf,
    stats: Arc<Mutex<FakeStats>>,
    task: JoinHandle<()>,
}

impl PtyFake {
    fn start(cfg: FakeConfig) -> PtyFake {
        use tokio_serial::SerialPort;
        let (master, slave) = tokio_serial::SerialStream::pair().expect("pty pair");
        let path = PathBuf::from(slave.name().expect("slave has a path"));
        let stats = Arc::new(Mutex::new(FakeStats::default()));
        let st = stats.clone();
        let task = tokio::spawn(async move {
            // Holding the slave open keeps the master readable before the driver opens
            // the path; both close when the fake ends.
            let _slave = slave;
            serve(master, cfg, st).await;
        });
        PtyFake { path, stats, task }
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint::Serial {
            path: self.path.clone(),
            baud: 115_200,
            flow: Flow::None,
        }
    }
}

impl Drop for PtyFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A fake printer of either kind.
enum Fake {
    Tcp(TcpFake),
    Pty(PtyFake),
}

impl Fake {
    async fn start(over: &str, cfg: FakeConfig) -> Fake {
        match over {
            "tcp" => Fake::Tcp(TcpFake::start(cfg).await),
            _ => Fake::Pty(PtyFake::start(cfg)),
        }
    }

    fn endpoint(&self) -> Endpoint {
        match self {
            Fake::Tcp(f) => f.endpoint(),
            Fake::Pty(f) => f.endpoint(),
        }
    }

    fn stats(&self) -> Arc<Mutex<FakeStats>> {
        match self {
            Fake::Tcp(f) => f.stats.clone(),
            Fake::Pty(f) => f.stats.clone(),
        }
    }
}

/// Every test is bounded: a hang is a failure, not a stuck CI job.
async fn bounded<F: Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test finished in time")
}

/// The fake's byte count once it reaches `want`, or after 2 s.
async fn received_eventually(stats: &Mutex<FakeStats>, want: usize) -> usize {
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        let got = stats.lock().expect("stats").received;
        if got >= want || Instant::now() > until {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn solid_job() -> Job {
    let pattern = render(PatternKind::Solid, HEAD_DOTS, 0).expect("pattern");
    encode_bitmap(&pattern.bitmap, &EncodeOptions::default()).expect("encode")
}

fn all_bands(job: &Job) -> Vec<u32> {
    job.bands.iter().map(|b| b.index).collect()
}

fn assert_complete(job: &Job, report: &printrig::instrument::printer::PrintReport) {
    assert!(report.complete, "{report:?}");
    assert_eq!(report.stopped, None);
    assert_eq!(report.bytes_sent, job.bytes.len());
    assert_eq!(report.bands_printed, all_bands(job));
    assert_eq!(report.realtime_replies, job.realtime_hazards.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_over_tcp_and_status_over_a_pty() {
    bounded(20, async {
        let fake = TcpFake::start(FakeConfig::default()).await;
        let mut p = EscposPrinter::new("receipt", fake.endpoint(), IO_TIMEOUT);
        assert_eq!(
            p.device(),
            format!("receipt (tcp://127.0.0.1:{})", fake.port)
        );
        let id = p.identify().await.expect("identify");
        assert_eq!(id.firmware, format!("SIM {}", printrig::VERSION));
        assert_eq!(id.model, "SIM-80");
        assert_eq!(id.maker, "printrig");
        assert_eq!(id.serial, "SIM0000001");
        // The same link serves the next request.
        assert_eq!(p.status().await.expect("status"), PrinterState::default());

        let pty = PtyFake::start(FakeConfig::default());
        let mut p = EscposPrinter::new("serial", pty.endpoint(), IO_TIMEOUT);
        p.connect(IO_TIMEOUT).await.expect("open the pty");
        assert_eq!(p.status().await.expect("status"), PrinterState::default());
        assert_eq!(p.identify().await.expect("identify").model, "SIM-80");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_over_tcp_and_over_a_pty() {
    bounded(60, async {
        let job = solid_job();
        assert!(job.bands.len() >= 3, "{} bands", job.bands.len());

        let fake = TcpFake::start(FakeConfig::default()).await;
        let mut p = EscposPrinter::new("tcp", fake.endpoint(), IO_TIMEOUT);
        let report = p.print(&job, ACK_TIMEOUT).await.expect("print");
        assert_complete(&job, &report);
        // The link stays usable after a job.
        assert_eq!(p.status().await.expect("status"), PrinterState::default());

        let pty = PtyFake::start(FakeConfig::default());
        let mut p = EscposPrinter::new("pty", pty.endpoint(), IO_TIMEOUT);
        let report = p.print(&job, ACK_TIMEOUT).await.expect("print");
        assert_complete(&job, &report);
        // The feed and cut after the last process id may still be on their way.
        assert_eq!(
            received_eventually(&pty.stats, job.bytes.len()).await,
            job.bytes.len(),
            "the printer got the whole job"
        );
    })
    .await;
}

/// The driver streams at the line's pace: it never waits for a band's acknowledgement
/// before sending the next band.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_is_not_held_up_by_acknowledgements() {
    bounded(60, async {
        let job = solid_job();
        let line_s = job.bytes.len() as f64 / LINE_BYTES_PER_S as f64;
        let cfg = FakeConfig {
            throttle: Some(LINE_BYTES_PER_S),
            ..FakeConfig::default()
        };
        for over in ["tcp", "pty"] {
            let fake = Fake::start(over, cfg).await;
            let (endpoint, stats) = (fake.endpoint(), fake.stats());
            let mut p = EscposPrinter::new(over, endpoint, IO_TIMEOUT);
            p.connect(IO_TIMEOUT).await.expect("connect");
            let t0 = Instant::now();
            let report = p.print(&job, ACK_TIMEOUT).await.expect("print");
            let took = t0.elapsed().as_secs_f64();
            assert_complete(&job, &report);
            let at_first_ack = stats.lock().expect("stats").received_at_first_ack;
            let at_first_ack = at_first_ack.expect("band 0 acknowledged");
            println!(
                "{over}: {} bytes, {} bands, line time {line_s:.2} s, print took {took:.2} s \
                 ({:.2}x); {at_first_ack} bytes in when band 0 was acknowledged \
                 (band 1 starts at {})",
                job.bytes.len(),
                job.bands.len(),
                took / line_s,
                job.bands[1].offset
            );
            assert!(
                took <= 1.5 * line_s + 1.0,
                "{over}: print took {took:.2} s for a line time of {line_s:.2} s"
            );
            assert!(
                at_first_ack > job.bands[1].offset,
                "{over}: band 1 was not on its way when band 0 was acknowledged \
                 ({at_first_ack} bytes in, band 1 at {})",
                job.bands[1].offset
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_cut_stops_the_job_with_the_bands_printed_so_far() {
    bounded(30, async {
        let job = solid_job();
        // The cut falls inside band 2.
        let cut = job.bands[2].offset + 1000;
        assert!(cut < job.bands[2].end);
        let cfg = FakeConfig {
            cut_after: Some(cut),
            ..FakeConfig::default()
        };
        for over in ["tcp", "pty"] {
            let fake = Fake::start(over, cfg).await;
            let mut p = EscposPrinter::new(over, fake.endpoint(), IO_TIMEOUT);
            let t0 = Instant::now();
            let report = p
                .print(&job, Duration::from_secs(10))
                .await
                .expect("a power cut is a report, not an error");
            println!("{over}: {report:?}");
            assert!(!report.complete);
            let why = report.stopped.as_deref().unwrap_or("");
            assert!(why.contains("link lost"), "{over}: {why}");
            assert_eq!(report.bands_printed, vec![0, 1], "{over}");
            assert!(report.bytes_sent >= cut, "{over}");
            // Noticed from the link itself, not from the 10 s acknowledgement timeout.
            assert!(t0.elapsed() < Duration::from_secs(5), "{over}");
            let acks_sent = fake.stats().lock().expect("stats").acks_sent;
            assert_eq!(acks_sent, 2, "{over}: acknowledgements sent before the cut");
            // The next call on the same driver reopens the link, and fails: the dead TCP
            // printer refuses it, the pty's path went with its master.
            let e = p.status().await.expect_err("printer is off");
            println!("{over}: {e}");
            assert_eq!(e.device(), p.device());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_waits_for_a_rebooting_printer_and_gives_up_in_time() {
    bounded(30, async {
        let fake = TcpFake::start(FakeConfig::default()).await;
        let port = fake.port;
        let mut p = EscposPrinter::new("rebooting", fake.endpoint(), IO_TIMEOUT);
        p.status().await.expect("printer up");
        // Power off: the listener and the connection close; back after 1 s.
        fake.shutdown().await;
        let back = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let listener = TcpListener::bind(("127.0.0.1", port))
                .await
                .expect("rebind the same port");
            TcpFake::on(listener, FakeConfig::default())
        });
        let t0 = Instant::now();
        p.reconnect(Duration::from_secs(5))
            .await
            .expect("printer back");
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(900), "{took:?}");
        let _fake = back.await.expect("rebooted fake");
        assert_eq!(p.status().await.expect("status"), PrinterState::default());

        // Nothing listens on a port that was just freed.
        let free = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port: free.local_addr().expect("addr").port(),
        };
        drop(free);
        let mut p = EscposPrinter::new("gone", endpoint, IO_TIMEOUT);
        let t0 = Instant::now();
        let e = p
            .reconnect(Duration::from_secs(1))
            .await
            .expect_err("nothing listens");
        let took = t0.elapsed();
        println!("{e}");
        assert!(took < Duration::from_millis(1500), "{took:?}");
        assert_eq!(e.device(), p.device());
        assert!(e.to_string().starts_with(p.device()), "{e}");
        assert!(matches!(e, InstrumentError::NotSettled { .. }), "{e:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realtime_sequence_in_the_raster_is_tolerated() {
    bounded(30, async {
        // Row 5 packs to ... 10 04 02 ... at byte columns 10..13.
        let mut bitmap = Bitmap::new(HEAD_DOTS, 40);
        for (i, byte) in [0x10u8, 0x04, 0x02].into_iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    bitmap.set((10 + i as u32) * 8 + bit, 5, true);
                }
            }
        }
        bitmap.fill_rect(0, 0, HEAD_DOTS, 2, true);
        let row = (HEAD_DOTS / 8) as usize;
        assert_eq!(
            &bitmap.packed_rows()[5 * row + 10..5 * row + 13],
            &[0x10, 0x04, 0x02]
        );
        let job = encode_bitmap(&bitmap, &EncodeOptions::default()).expect("encode");
        assert_eq!(job.realtime_hazards.len(), 1);

        let fake = TcpFake::start(FakeConfig::default()).await;
        let mut p = EscposPrinter::new("hazard", fake.endpoint(), IO_TIMEOUT);
        let report = p.print(&job, ACK_TIMEOUT).await.expect("print");
        assert_complete(&job, &report);
        assert_eq!(report.realtime_replies, 1);
        // The provoked status byte did not linger to confuse the next request.
        assert_eq!(p.status().await.expect("status"), PrinterState::default());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_that_never_answers_times_out() {
    bounded(20, async {
        let fake = TcpFake::start(FakeConfig {
            silent: true,
            ..FakeConfig::default()
        })
        .await;
        let io_timeout = Duration::from_millis(400);
        let mut p = EscposPrinter::new("mute", fake.endpoint(), io_timeout);
        let t0 = Instant::now();
        let e = p.identify().await.expect_err("no answer");
        let took = t0.elapsed();
        println!("{e}");
        assert!(took >= io_timeout, "{took:?}");
        assert!(took < io_timeout + Duration::from_millis(600), "{took:?}");
        match &e {
            InstrumentError::Timeout { device, what, .. } => {
                assert_eq!(device, p.device());
                assert!(what.starts_with("GS I"), "{what}");
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(e.to_string().contains("GS I 67"), "{e}");
        // A silent printer during a job: no acknowledgement within the ack timeout and no
        // answer to DLE EOT after it is an error naming it (not a print it rejected).
        let job = solid_job();
        let e = p
            .print(&job, Duration::from_millis(300))
            .await
            .expect_err("a job nobody answers");
        match &e {
            InstrumentError::Timeout { device, what, .. } => {
                assert_eq!(device, p.device());
                let sent = format!("{} of {} bytes sent", job.bytes.len(), job.bytes.len());
                assert!(
                    what.starts_with("the job") && what.contains(&sent),
                    "{what}"
                );
                assert!(what.contains("DLE EOT 1"), "{what}");
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
    })
    .await;
}

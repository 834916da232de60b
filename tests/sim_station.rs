//! The simulated station on the real wire: ESC/POS over loopback TCP and a pty, SCPI to
//! the PSU and the chamber, the control port, power cycles, and the scans that come out.
//! Every wait is bounded and every test stops its station.

use image::GrayImage;
use printrig::analysis::{analyze, Analysis};
use printrig::defect::DefectKind;
use printrig::escpos::encode::{encode_bitmap, EncodeOptions, Job};
use printrig::escpos::status::process_id_reply;
use printrig::pattern::{render, Pattern, PatternKind};
use printrig::sim::config::FirmwareImage;
use printrig::sim::station::{SimStation, SimStationSpec};
use printrig::sim::SimConfig;
use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_serial::SerialPortBuilderExt;

/// Bound of any single wait in these tests.
const BOUND: Duration = Duration::from_secs(60);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match timeout(BOUND, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

fn spec(dir: &tempfile::TempDir) -> SimStationSpec {
    SimStationSpec {
        name: "t".into(),
        scan_dir: dir.path().join("scans"),
        ..SimStationSpec::default()
    }
}

async fn start(spec: SimStationSpec) -> SimStation {
    within("station start", SimStation::start(spec))
        .await
        .expect("station starts")
}

fn solid() -> (Pattern, Job) {
    let pattern = render(PatternKind::Solid, 576, 0).expect("pattern");
    let job = encode_bitmap(&pattern.bitmap, &EncodeOptions::default()).expect("job");
    (pattern, job)
}

/// A SCPI / control-port client: one line out, one line back.
struct LineClient {
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
}

impl LineClient {
    async fn connect(addr: SocketAddr) -> LineClient {
        let s = within("line connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        let (rd, wr) = s.into_split();
        LineClient {
            rd: BufReader::new(rd),
            wr,
        }
    }

    async fn send(&mut self, line: &str) {
        within(
            "line send",
            self.wr.write_all(format!("{line}\n").as_bytes()),
        )
        .await
        .expect("send");
    }

    async fn ask(&mut self, line: &str) -> String {
        self.send(line).await;
        let mut reply = String::new();
        let n = within(line, self.rd.read_line(&mut reply))
            .await
            .expect("reply");
        assert!(n > 0, "{line}: connection closed");
        assert!(reply.ends_with('\n'), "{line}: {reply:?}");
        reply.trim_end().to_string()
    }

    async fn ask_f64(&mut self, line: &str) -> f64 {
        let r = self.ask(line).await;
        r.parse()
            .unwrap_or_else(|_| panic!("{line}: not a number: {r}"))
    }
}

/// Sends `bytes` while reading replies until every process id of `job` is acknowledged
/// (in order). Returns all reply bytes.
async fn print_and_collect_acks<S>(stream: S, bytes: &[u8], job: &Job) -> Vec<u8>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let writer = async {
        for chunk in bytes.chunks(4096) {
            wr.write_all(chunk).await.expect("write job");
        }
        wr.flush().await.expect("flush");
        wr
    };
    let reader = async {
        let mut replies = Vec::new();
        let mut buf = [0u8; 1024];
        while !all_acked(&replies, job) {
            let n = rd.read(&mut buf).await.expect("read replies");
            assert!(n > 0, "link closed before every band was acknowledged");
            replies.extend_from_slice(&buf[..n]);
        }
        replies
    };
    let (_wr, replies) = within("job acknowledged", async { tokio::join!(writer, reader) }).await;
    replies
}

/// Every band's process-id reply appears, in order.
fn all_acked(replies: &[u8], job: &Job) -> bool {
    let mut from = 0;
    for band in &job.bands {
        let want = process_id_reply(band.process_id);
        match replies[from..].windows(want.len()).position(|w| w == want) {
            Some(i) => from += i + want.len(),
            None => return false,
        }
    }
    true
}

/// Waits for `path` to appear (scans are written atomically) and decodes it.
async fn wait_for_scan(path: &Path) -> GrayImage {
    within(&format!("scan {}", path.display()), async {
        loop {
            if let Ok(bytes) = tokio::fs::read(path).await {
                return image::load_from_memory(&bytes)
                    .expect("the scan is a valid image")
                    .into_luma8();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

fn scan_path(station: &SimStation, n: u32) -> PathBuf {
    station.scan_dir().join(format!("scan-{n:04}.png"))
}

/// Paper width at 600 dpi, scan pixels.
fn paper_px(dots: u32) -> f64 {
    dots as f64 * 600.0 / printrig::DOT_DPI
}

async fn print_tcp(station: &SimStation, job: &Job) -> Vec<u8> {
    let addr = station.printer_tcp().expect("printer on TCP");
    let stream = within("printer connect", TcpStream::connect(addr))
        .await
        .expect("printer connects");
    print_and_collect_acks(stream, &job.bytes, job).await
    // The stream drops here: the printer sees the link close.
}

async fn print_and_analyse(station: &SimStation, n: u32) -> Analysis {
    let (pattern, job) = solid();
    print_tcp(station, &job).await;
    let img = wait_for_scan(&scan_path(station, n)).await;
    tokio::task::spawn_blocking(move || analyze(&img, &pattern))
        .await
        .expect("analysis")
}

async fn refused(addr: SocketAddr) -> bool {
    match timeout(Duration::from_secs(5), TcpStream::connect(addr)).await {
        Ok(Err(e)) => e.kind() == ErrorKind::ConnectionRefused,
        _ => false,
    }
}

async fn wait_until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    within(what, async {
        while !f().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_a_job_over_tcp_and_scans_the_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(spec(&dir)).await;
    let (pattern, job) = solid();
    assert!(job.bands.len() > 1, "several process ids to wait for");
    let replies = print_tcp(&station, &job).await;
    assert!(all_acked(&replies, &job));

    let img = wait_for_scan(&scan_path(&station, 1)).await;
    let rows = pattern.layout.rows;
    assert!(img.width() as f64 > paper_px(576), "{}", img.width());
    assert!(img.height() as f64 > paper_px(rows), "{}", img.height());
    let a = tokio::task::spawn_blocking(move || analyze(&img, &pattern))
        .await
        .expect("analysis");
    assert!(a.registration.is_some(), "{:?}", a.notes);
    let kinds: Vec<DefectKind> = a.defects.iter().map(|d| d.kind).collect();
    assert!(
        !kinds.iter().any(|k| matches!(
            k,
            DefectKind::DeadElement | DefectKind::BlockDropout | DefectKind::Truncated
        )),
        "a healthy print: {kinds:?}"
    );
    station.stop().await;
    assert!(
        !dir.path().join("scans").join("scan-0002.png").exists(),
        "one page, one scan"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_a_job_over_the_pty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(SimStationSpec {
        printer_tcp: false,
        ..spec(&dir)
    })
    .await;
    assert!(station.printer_tcp().is_none());
    let link = station.printer_pty().expect("pty link");
    assert_eq!(link, dir.path().join("printer.tty"));
    let target = std::fs::read_link(&link).expect("a symlink");
    assert!(target.starts_with("/dev/pts"), "{}", target.display());

    let (_, job) = solid();
    {
        let port = tokio_serial::new(link.to_string_lossy(), 115_200)
            .timeout(Duration::from_secs(5))
            .open_native_async()
            .expect("open the pty slave by the symlink");
        print_and_collect_acks(port, &job.bytes, &job).await;
    }
    let img = wait_for_scan(&scan_path(&station, 1)).await;
    assert!(img.width() as f64 > paper_px(576));

    // The link outlives the rig's port: open it again and query.
    {
        let mut port = tokio_serial::new(link.to_string_lossy(), 115_200)
            .open_native_async()
            .expect("reopen");
        within("pty write", port.write_all(&[0x10, 0x04, 0x01]))
            .await
            .expect("write");
        let mut b = [0u8; 1];
        within("pty status", port.read_exact(&mut b))
            .await
            .expect("status byte");
        assert_eq!(b[0] & 0x93, 0x12);
    }
    station.stop().await;
    assert!(std::fs::symlink_metadata(&link).is_err(), "symlink removed");
}

/// Reads a framed `5F … 00` reply.
async fn read_frame<R: AsyncRead + Unpin>(rd: &mut R) -> Vec<u8> {
    let mut out = Vec::new();
    within("framed reply", async {
        let mut b = [0u8; 1];
        loop {
            rd.read_exact(&mut b).await.expect("frame byte");
            out.push(b[0]);
            if b[0] == 0 {
                break;
            }
        }
    })
    .await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_status_and_firmware_queries_on_both_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(SimStationSpec {
        config: SimConfig {
            firmware: "SIM 9.87-rc1".into(),
            ..SimConfig::default()
        },
        ..spec(&dir)
    })
    .await;
    let mut want = vec![0x5F];
    want.extend_from_slice(b"SIM 9.87-rc1");
    want.push(0);

    let addr = station.printer_tcp().expect("tcp");
    let mut tcp = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let link = station.printer_pty().expect("pty");
    let mut pty = tokio_serial::new(link.to_string_lossy(), 115_200)
        .open_native_async()
        .expect("open pty");

    for n in 1..=4u8 {
        within("write", tcp.write_all(&[0x10, 0x04, n]))
            .await
            .expect("write");
        let mut b = [0u8; 1];
        within("status", tcp.read_exact(&mut b))
            .await
            .expect("one status byte");
        assert_eq!(
            b[0] & 0x93,
            0x12,
            "DLE EOT {n}: fixed bits in {:#04x}",
            b[0]
        );
        if n == 1 {
            assert_eq!(b[0] & 0x08, 0, "online");
        }
    }
    within("write", tcp.write_all(&[0x1D, 0x49, 65]))
        .await
        .expect("write");
    assert_eq!(read_frame(&mut tcp).await, want);

    within("write", pty.write_all(&[0x1D, 0x49, 65, 0x10, 0x04, 0x01]))
        .await
        .expect("write");
    assert_eq!(read_frame(&mut pty).await, want);
    let mut b = [0u8; 1];
    within("status", pty.read_exact(&mut b))
        .await
        .expect("status byte");
    assert_eq!(b[0], 0x12);
    drop(tcp);
    drop(pty);
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psu_speaks_scpi_and_powers_the_printer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(SimStationSpec {
        config: SimConfig {
            time_scale: 10.0,
            boot_s: 5.0, // 0.5 s of wall time
            ..SimConfig::default()
        },
        ..spec(&dir)
    })
    .await;
    let boot_wall = Duration::from_millis(500);
    let mut psu = LineClient::connect(station.psu()).await;
    let idn = psu.ask("*IDN?").await;
    assert!(idn.starts_with("printrig,SIM-PSU,t,"), "{idn}");
    psu.send("VOLT 17.5").await;
    assert_eq!(psu.ask_f64("VOLT?").await, 17.5);
    assert_eq!(psu.ask_f64("MEAS:VOLT?").await, 17.5);
    psu.send("FROBNICATE 3").await;
    assert_eq!(psu.ask("SYST:ERR?").await, "-113,\"Undefined header\"");
    assert_eq!(psu.ask("SYST:ERR?").await, "0,\"No error\"");
    // A second client at the same time.
    let mut other = LineClient::connect(station.psu()).await;
    assert_eq!(other.ask_f64("voltage:level?").await, 17.5);
    psu.send("VOLT 24").await;
    assert_eq!(psu.ask("OUTP?").await, "1");
    let idle = psu.ask_f64("MEAS:CURR?").await;
    assert!(idle > 0.0, "{idle}");

    // Half a job, then the power goes.
    let (_, job) = solid();
    let addr = station.printer_tcp().expect("tcp");
    let link = station.printer_pty().expect("pty");
    let mut printer = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let half = job.bands[job.bands.len() / 2].offset;
    within("half a job", printer.write_all(&job.bytes[..half]))
        .await
        .expect("write");
    let first_ack = process_id_reply(job.bands[0].process_id);
    let mut got = Vec::new();
    within("first band acknowledged", async {
        let mut buf = [0u8; 256];
        while !got.windows(7).any(|w| w == first_ack) {
            let n = printer.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed early");
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    let busy = psu.ask_f64("MEAS:CURR?").await;
    assert!(busy > idle, "printing draws more: {busy} vs {idle}");

    let mut serial = tokio_serial::new(link.to_string_lossy(), 115_200)
        .open_native_async()
        .expect("open the pty");
    assert_eq!(psu.ask("OUTP OFF; OUTP?").await, "0");
    within("pty link dropped", async {
        let mut buf = [0u8; 16];
        loop {
            match serial.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    drop(serial);
    assert_eq!(psu.ask_f64("MEAS:VOLT?").await, 0.0);
    assert_eq!(psu.ask_f64("MEAS:CURR?").await, 0.0);
    within("printer link dropped", async {
        let mut buf = [0u8; 256];
        loop {
            match printer.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    wait_until("connects refused", || refused(addr)).await;
    wait_until("pty symlink removed", || {
        let gone = std::fs::symlink_metadata(&link).is_err();
        async move { gone }
    })
    .await;
    let torn = wait_for_scan(&scan_path(&station, 1)).await;

    // Power back: refused during the boot, then up again.
    psu.send("OUTP ON").await;
    let on_at = Instant::now();
    assert_eq!(psu.ask("OUTP?").await, "1");
    assert!(refused(addr).await, "still booting");
    let printer = within("printer back after boot", async {
        loop {
            if let Ok(s) = TcpStream::connect(addr).await {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let booted_after = on_at.elapsed();
    assert!(
        booted_after >= boot_wall.mul_f64(0.8),
        "booted after {booted_after:?}"
    );
    assert!(std::fs::read_link(&link).is_ok(), "pty symlink back");
    print_and_collect_acks(printer, &job.bytes, &job).await;
    let full = wait_for_scan(&scan_path(&station, 2)).await;
    assert!(
        torn.height() + 200 < full.height(),
        "torn page {} px vs full page {} px",
        torn.height(),
        full.height()
    );
    drop(other);
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chamber_temperature_lags_toward_the_set_point() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(SimStationSpec {
        config: SimConfig {
            time_scale: 600.0, // τ = 300 s → 0.5 s of wall time
            ..SimConfig::default()
        },
        ..spec(&dir)
    })
    .await;
    let mut ch = LineClient::connect(station.chamber()).await;
    assert!(ch.ask("*IDN?").await.starts_with("printrig,SIM-CHAMBER,t,"));
    let t0 = ch.ask("TEMP?").await;
    assert_eq!(t0, "23.00");
    ch.send("TEMP:SPO -10").await;
    assert_eq!(ch.ask_f64("TEMP:SPO?").await, -10.0);
    let started = Instant::now();
    let mut readings = vec![23.0];
    within("chamber settles", async {
        loop {
            let t = ch.ask_f64("TEMP?").await;
            readings.push(t);
            if t < -9.5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        readings.windows(2).all(|w| w[1] <= w[0]),
        "monotonic: {readings:?}"
    );
    assert!(readings.iter().all(|t| *t >= -10.0), "{readings:?}");
    assert!(
        readings.iter().any(|t| *t > -9.0 && *t < 20.0),
        "a lag, not a jump: {readings:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    ch.send("TEMP:SPO 999").await;
    assert_eq!(ch.ask("SYST:ERR?").await, "-222,\"Data out of range\"");
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_dead_element_shows_in_the_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(spec(&dir)).await;
    let mut ctl = LineClient::connect(station.control()).await;
    assert_eq!(ctl.ask("FAULT dead=100").await, "OK");
    let err = ctl.ask("FAULT zebra=1").await;
    assert!(err.starts_with("ERR ") && err.contains("zebra"), "{err}");
    let a = print_and_analyse(&station, 1).await;
    let dead: Vec<(u32, u32)> = a
        .defects
        .iter()
        .filter(|d| d.kind == DefectKind::DeadElement)
        .map(|d| (d.start, d.end))
        .collect();
    assert!(
        dead.iter().any(|&(s, e)| s <= 101 && e + 1 >= 100),
        "dead element near column 100: {:?}",
        a.defects
    );
    let status: serde_json::Value =
        serde_json::from_str(&ctl.ask("STATUS?").await).expect("status json");
    assert_eq!(status["pages"], 1);
    assert_eq!(status["faults"], "dead=100");
    assert_eq!(status["powered"], true);
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latent_block_dropout_appears_below_20_volts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(spec(&dir)).await;
    let mut ctl = LineClient::connect(station.control()).await;
    assert_eq!(ctl.ask("LATENT block=200:64 below_voltage=20").await, "OK");
    let mut psu = LineClient::connect(station.psu()).await;
    psu.send("VOLT 24").await;
    assert_eq!(psu.ask_f64("VOLT?").await, 24.0);
    let at_24 = print_and_analyse(&station, 1).await;
    assert!(
        !at_24.has(DefectKind::BlockDropout),
        "no dropout at 24 V: {:?}",
        at_24.defects
    );
    psu.send("VOLT 19").await;
    assert_eq!(psu.ask_f64("VOLT?").await, 19.0);
    let at_19 = print_and_analyse(&station, 2).await;
    let block = at_19
        .defects
        .iter()
        .find(|d| d.kind == DefectKind::BlockDropout)
        .unwrap_or_else(|| panic!("block missing at 19 V: {:?}", at_19.defects));
    assert!(
        block.start.abs_diff(200) <= 3 && block.end.abs_diff(263) <= 3,
        "{block:?}"
    );
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_leaves_nothing_listening_and_removes_the_symlink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(spec(&dir)).await;
    let link = station.printer_pty().expect("pty");
    assert!(std::fs::read_link(&link).is_ok());
    let addrs = [
        station.printer_tcp().expect("tcp"),
        station.psu(),
        station.chamber(),
        station.control(),
    ];
    // Clients still connected when the station stops are cut off.
    let mut ctl = LineClient::connect(station.control()).await;
    assert_eq!(ctl.ask("INK 0.5").await, "OK");
    let mut printer = within("connect", TcpStream::connect(addrs[0]))
        .await
        .expect("connect");
    within("stop", station.stop()).await;
    for addr in addrs {
        assert!(refused(addr).await, "{addr} still listening");
    }
    assert!(std::fs::symlink_metadata(&link).is_err(), "symlink left");
    let mut buf = [0u8; 16];
    let closed = matches!(
        within("printer closed", printer.read(&mut buf)).await,
        Ok(0) | Err(_)
    );
    assert!(closed);
    let mut line = String::new();
    let n = within("control closed", ctl.rd.read_line(&mut line))
        .await
        .unwrap_or(0);
    assert_eq!(n, 0);
}

/// ESC @, a `width_bytes`×8-dot black raster of `rows` rows, process id "0001", a cut.
fn small_job(width_bytes: u8, rows: u16) -> Vec<u8> {
    let mut b = vec![0x1B, 0x40];
    let [yl, yh] = rows.to_le_bytes();
    b.extend_from_slice(&[0x1D, 0x76, 0x30, 0, width_bytes, 0, yl, yh]);
    b.extend(std::iter::repeat_n(
        0xFF,
        width_bytes as usize * rows as usize,
    ));
    b.extend_from_slice(&[
        0x1D, 0x28, 0x48, 0x06, 0x00, 0x30, 0x30, b'0', b'0', b'0', b'1',
    ]);
    b.extend_from_slice(&[0x1D, 0x56, 0x01]);
    b
}

/// Sends `bytes` on a fresh TCP connection and waits for the "0001" acknowledgement.
async fn send_and_wait_ack(addr: SocketAddr, bytes: &[u8]) {
    let mut s = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    within("write", s.write_all(bytes)).await.expect("write");
    let ack = process_id_reply(*b"0001");
    let mut got = Vec::new();
    within("ack", async {
        let mut buf = [0u8; 64];
        while !got.windows(ack.len()).any(|w| w == ack) {
            let n = s.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before the ack");
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baud_rate_throttles_the_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(SimStationSpec {
        config: SimConfig {
            baud: Some(19_200), // 1920 bytes per second
            ..SimConfig::default()
        },
        ..spec(&dir)
    })
    .await;
    let job = small_job(2, 960); // about 1940 bytes
    let started = Instant::now();
    send_and_wait_ack(station.printer_tcp().expect("tcp"), &job).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(850) && took < Duration::from_secs(10),
        "{} bytes at 19200 baud took {took:?}",
        job.len()
    );
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_print_speed_and_a_late_firmware_hold_the_acknowledgement_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(SimStationSpec {
        config: SimConfig {
            // 400 rows at 50 mm/s (8 rows a millimetre): 1 s.
            print_speed_mm_s: Some(50.0),
            firmware_images: vec![FirmwareImage {
                ack_delay_ms: 600.0,
                ..FirmwareImage::base("SIM 1.2")
            }],
            ..SimConfig::default()
        },
        ..spec(&dir)
    })
    .await;
    let addr = station.printer_tcp().expect("tcp");
    let job = small_job(2, 400);
    let started = Instant::now();
    send_and_wait_ack(addr, &job).await;
    let paced = started.elapsed();
    assert!(
        paced >= Duration::from_millis(950) && paced < Duration::from_secs(10),
        "400 rows at 50 mm/s took {paced:?}"
    );
    // The image acknowledges each band 0.6 s after it printed.
    let mut ctl = LineClient::connect(station.control()).await;
    assert_eq!(ctl.ask("FIRMWARE SIM 1.2").await, "OK");
    let started = Instant::now();
    send_and_wait_ack(addr, &job).await;
    let late = started.elapsed();
    assert!(
        late >= Duration::from_millis(1550) && late < Duration::from_secs(10),
        "{late:?}"
    );
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_later_than_the_rigs_ack_timeout_is_no_answer() {
    use printrig::instrument::printer::escpos::EscposPrinter;
    use printrig::instrument::printer::Printer;
    use printrig::link::Endpoint;
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(SimStationSpec {
        config: SimConfig {
            firmware: "SIM 1.2".into(),
            firmware_images: vec![FirmwareImage {
                ack_delay_ms: 5_000.0,
                ..FirmwareImage::base("SIM 1.2")
            }],
            ..SimConfig::default()
        },
        ..spec(&dir)
    })
    .await;
    let addr = station.printer_tcp().expect("tcp");
    let endpoint = Endpoint::Tcp {
        host: addr.ip().to_string(),
        port: addr.port(),
    };
    let mut printer = EscposPrinter::new("late", endpoint, Duration::from_secs(1));
    let (_, job) = solid();
    let started = Instant::now();
    // The image says nothing for 5 s, not even to DLE EOT: within the rig's bounds that
    // is a printer that does not answer, named, not a print it rejected.
    let e = within("print", printer.print(&job, Duration::from_millis(800)))
        .await
        .expect_err("no answer in time");
    let took = started.elapsed();
    let msg = e.to_string();
    assert!(
        msg.starts_with("late (tcp://") && msg.contains("no band acknowledged in 0.8 s"),
        "{msg}"
    );
    assert!(took < Duration::from_secs(4), "the rig waited {took:?}");
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ink_drains_across_jobs_and_persists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(spec(&dir)).await;
    let addr = station.printer_tcp().expect("tcp");
    let mut ctl = LineClient::connect(station.control()).await;
    assert_eq!(ctl.ask("INK 0.5").await, "OK");
    let ink = |s: String| -> f64 {
        let v: serde_json::Value = serde_json::from_str(&s).expect("json");
        v["ink"].as_f64().expect("ink")
    };
    // 64 dots × 100 rows = 6400 dots per job.
    send_and_wait_ack(addr, &small_job(8, 100)).await;
    let after_one = ink(ctl.ask("STATUS?").await);
    assert!(after_one < 0.5 && after_one > 0.45, "{after_one}");
    send_and_wait_ack(addr, &small_job(8, 100)).await;
    let after_two = ink(ctl.ask("STATUS?").await);
    let (first, second) = (0.5 - after_one, after_one - after_two);
    assert!(
        (second - first).abs() < 0.2 * first,
        "each job drains about as much: {first} then {second}"
    );
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brownout_resets_the_printer_which_boots_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let station = start(SimStationSpec {
        config: SimConfig {
            time_scale: 10.0,
            boot_s: 3.0,
            ..SimConfig::default()
        },
        ..spec(&dir)
    })
    .await;
    let addr = station.printer_tcp().expect("tcp");
    let mut psu = LineClient::connect(station.psu()).await;
    // A full 576-dot row sags 13 V to 10.2 V at the heaters: below the 12 V reset.
    psu.send("VOLT 13").await;
    assert_eq!(psu.ask_f64("VOLT?").await, 13.0);
    let (_, job) = solid();
    let mut s = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let (mut rd, mut wr) = s.split();
    let writer = async {
        // The printer may drop the link before it has read everything.
        let _ = wr.write_all(&job.bytes).await;
    };
    let reader = async {
        let mut replies = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break replies,
                Ok(n) => replies.extend_from_slice(&buf[..n]),
            }
        }
    };
    let (_, replies) = within("link dropped by the reset", async {
        tokio::join!(writer, reader)
    })
    .await;
    assert!(!all_acked(&replies, &job), "the job cannot complete");
    let torn = wait_for_scan(&scan_path(&station, 1)).await;
    assert!(torn.width() as f64 > paper_px(576));
    // Back after the boot delay, still at 13 V (the output never went off).
    wait_until("printer back", || async {
        TcpStream::connect(addr).await.is_ok()
    })
    .await;
    assert_eq!(psu.ask("OUTP?").await, "1");
    psu.send("VOLT 24").await;
    send_and_wait_ack(addr, &small_job(8, 50)).await;
    station.stop().await;
}

//! The simulated printer against a real POS client and a real barcode reader: receipts
//! built by python-escpos (`tests/pos/receipt.py`, in the virtual environment
//! `scripts/setup.sh` makes) are printed through `rig sim print` and sent over TCP to a
//! simulated station as a POS sends them; `zbarimg` (zbar-tools) reads the barcodes and
//! QR codes back from the paper and the scan. Every child process has a bounded wait and
//! every station is stopped.

mod common;

use common::cmd::{rig, text};
use image::GrayImage;
use printrig::sim::station::{SimStation, SimStationSpec};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Bound of any child process or wait in these tests.
const BOUND: Duration = Duration::from_secs(60);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The virtual environment's Python, which has python-escpos.
fn python() -> PathBuf {
    let p = root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh (it makes the venv with python-escpos)",
        p.display()
    );
    p
}

/// Runs a command to its end within `BOUND` (killed past it), capturing its output.
fn bounded(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e} (run scripts/setup.sh)"));
    let start = Instant::now();
    loop {
        match child.try_wait().expect("wait for the child") {
            Some(_) => return child.wait_with_output().expect("child output"),
            None if start.elapsed() > BOUND => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmd:?} took longer than {BOUND:?}");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A receipt built by python-escpos: written to `dest` (a file or `tcp:HOST:PORT`); the
/// codes it holds as zbarimg names them, (symbology, data).
fn receipt(kind: &str, dest: &str) -> Vec<(String, String)> {
    let mut cmd = Command::new(python());
    cmd.arg(root().join("tests/pos/receipt.py"))
        .args([kind, dest]);
    let out = bounded(cmd);
    assert!(
        out.status.success(),
        "receipt.py {kind}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // python-escpos prints its own notes too.
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            (
                v["symbology"].as_str().expect("symbology").to_string(),
                v["data"].as_str().expect("data").to_string(),
            )
        })
        .collect()
}

/// What zbarimg reads from an image, (symbology, data), sorted.
fn zbar(image: &Path) -> Vec<(String, String)> {
    let mut cmd = Command::new("zbarimg");
    cmd.args(["-q", "--set", "*.enable"]).arg(image);
    let out = bounded(cmd);
    // Exit 4: no symbol found.
    assert!(
        matches!(out.status.code(), Some(0 | 4)),
        "zbarimg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut read: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(s, d)| (s.to_string(), d.to_string()))
        .collect();
    read.sort();
    read
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

fn load(path: &Path) -> GrayImage {
    image::open(path).expect("paper PNG").into_luma8()
}

/// Ink (pixels darker than mid-grey) in columns `x0..x1` of rows `y0..y1`.
fn ink(page: &GrayImage, x0: u32, x1: u32, y0: u32, y1: u32) -> u32 {
    let mut n = 0;
    for y in y0..y1.min(page.height()) {
        for x in x0..x1.min(page.width()) {
            if page.get_pixel(x, y).0[0] < 128 {
                n += 1;
            }
        }
    }
    n
}

/// `rig sim print` of a job file in `dir`, with extra arguments: its paper and stderr.
fn sim_print(dir: &Path, job: &Path, more: &[&str]) -> (GrayImage, String) {
    let paper = dir.join(format!(
        "{}.png",
        job.file_stem().and_then(|s| s.to_str()).unwrap_or("paper")
    ));
    let mut cmd = rig();
    cmd.arg("sim")
        .arg("print")
        .arg(job)
        .arg("-o")
        .arg(&paper)
        .args(more)
        .current_dir(dir);
    let out = bounded(cmd);
    assert!(out.status.success(), "rig sim print: {}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (load(&paper), err)
}

#[test]
fn a_python_escpos_receipt_prints_and_reads_back() {
    let t = tempfile::tempdir().expect("tempdir");
    let job = t.path().join("full.bin");
    let sent = receipt("full", job.to_str().expect("utf-8 path"));
    assert_eq!(sent.len(), 5, "four barcodes and a QR code: {sent:?}");
    let (page, err) = sim_print(t.path(), &job, &[]);

    // Every command the client sent is one the printer knows and draws.
    assert!(!err.contains("unknown"), "{err}");
    assert!(!err.contains("does not draw"), "{err}");

    // zbar reads every barcode and the QR code back, with the data sent.
    let paper = t.path().join("full.png");
    assert_eq!(zbar(&paper), sorted(sent));

    // Text lands where the client put it: the first line (16 Font A characters, left)
    // inks columns 0..192 of rows 0..24 only; after four 30-dot lines and two 48-dot
    // ones come font B, inverted and upside-down lines, then "centred" (rows 306..330)
    // around the middle and "right" (rows 336..360) at the right edge.
    assert!(ink(&page, 0, 192, 0, 24) > 300);
    assert_eq!(ink(&page, 196, 576, 0, 30), 0);
    assert_eq!(ink(&page, 0, 230, 306, 330), 0);
    assert!(ink(&page, 240, 336, 306, 330) > 200);
    assert_eq!(ink(&page, 0, 500, 336, 360), 0);
    assert!(ink(&page, 510, 576, 336, 360) > 100);
    // Double height and width (rows 120..168) is taller than a line.
    assert!(ink(&page, 0, 576, 150, 168) > 100);
}

#[test]
fn a_text_receipt_is_as_long_as_its_lines() {
    let t = tempfile::tempdir().expect("tempdir");
    let job = t.path().join("text.bin");
    receipt("text", job.to_str().expect("utf-8 path"));
    let (page, err) = sim_print(t.path(), &job, &[]);
    assert!(!err.contains("unknown"), "{err}");
    // Five lines at the default 30-dot line spacing, cut without a feed.
    assert_eq!((page.width(), page.height()), (576, 5 * 30));
    for line in 0..5 {
        let y = line * 30;
        assert!(ink(&page, 0, 576, y, y + 24) > 100, "line {line} is inked");
        assert_eq!(ink(&page, 0, 576, y + 25, y + 30), 0, "line {line}'s gap");
    }
}

#[test]
fn a_dead_element_through_the_barcodes_shows_in_the_column_profile() {
    let t = tempfile::tempdir().expect("tempdir");
    let job = t.path().join("codes.bin");
    let sent = receipt("codes", job.to_str().expect("utf-8 path"));
    let (healthy, _) = sim_print(t.path(), &job, &[]);
    let h = healthy.height();
    // A column through the middle of the centred codes that prints in the healthy
    // paper on many rows (a bar).
    let col = (280..296)
        .max_by_key(|&x| ink(&healthy, x, x + 1, 0, h))
        .expect("a column");
    assert!(ink(&healthy, col, col + 1, 0, h) > 100);

    let faulty_dir = t.path().join("faulty");
    std::fs::create_dir_all(&faulty_dir).expect("dir");
    let dead = format!("dead={col}");
    let (faulty, _) = sim_print(&faulty_dir, &job, &["--fault", &dead]);
    // The dead element: its column is white on every row, its neighbours still print.
    assert_eq!(ink(&faulty, col, col + 1, 0, h), 0);
    assert!(ink(&faulty, col - 2, col - 1, 0, h) + ink(&faulty, col + 2, col + 3, 0, h) > 0);
    // What zbar makes of it: every read it makes is one of the codes sent (a white line
    // through a bar may cost a read; it never gives wrong data).
    let read = zbar(&faulty_dir.join("codes.png"));
    eprintln!(
        "dead element at column {col}: zbar read {} of {} codes: {read:?}",
        read.len(),
        sent.len()
    );
    for r in &read {
        assert!(sent.contains(r), "misread {r:?}; sent {sent:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pos_sends_a_receipt_over_tcp_and_the_scan_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Any free loopback port: tests run side by side.
    let spec = SimStationSpec {
        name: "pos".into(),
        printer_pty: false,
        scan_dir: dir.path().join("scans"),
        ..SimStationSpec::default()
    };
    let station = tokio::time::timeout(BOUND, SimStation::start(spec))
        .await
        .expect("station starts in time")
        .expect("station starts");
    let addr = station.printer_tcp().expect("printer on TCP");
    let dest = format!("tcp:{}:{}", addr.ip(), addr.port());
    let sent = tokio::task::spawn_blocking(move || receipt("codes", &dest))
        .await
        .expect("client ran");

    let scan = station.scan_dir().join("scan-0001.png");
    let found = tokio::time::timeout(BOUND, async {
        while !scan.exists() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let read = if found.is_ok() {
        let s = scan.clone();
        tokio::task::spawn_blocking(move || zbar(&s))
            .await
            .expect("zbar ran")
    } else {
        Vec::new()
    };
    station.stop().await;
    assert!(found.is_ok(), "no scan of the receipt within {BOUND:?}");
    assert_eq!(read, sorted(sent));
}

/// A random payload for GS k system `m` (function B), or for QR (`m` = 0), and what
/// zbarimg reads from it: (job data, zbar's symbology, zbar's data).
fn payload(m: u8, rng: &mut printrig::util::rng::Rng) -> (Vec<u8>, &'static str, String) {
    let mut pick = |set: &[u8], lo: u64, hi: u64| -> Vec<u8> {
        let n = lo + rng.below(hi - lo + 1);
        (0..n)
            .map(|_| set[rng.below(set.len() as u64) as usize])
            .collect()
    };
    let digits = b"0123456789";
    let check = |ds: &[u8]| {
        let sum: u32 = ds
            .iter()
            .rev()
            .enumerate()
            .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
            .sum();
        char::from(b'0' + ((10 - sum % 10) % 10) as u8)
    };
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match m {
        65 => {
            let d = pick(digits, 11, 11);
            let read = format!("{}{}", s(&d), check(&d));
            (d, "UPC-A", read)
        }
        66 => {
            // Number system 0, six digits; zbar gives the eight digits with the check.
            let mut d = b"0".to_vec();
            d.extend(pick(digits, 6, 6));
            (d, "UPC-E", String::new())
        }
        67 => {
            let mut d = pick(b"12345678", 1, 1);
            d.extend(pick(digits, 11, 11));
            let read = format!("{}{}", s(&d), check(&d));
            (d, "EAN-13", read)
        }
        68 => {
            let d = pick(digits, 7, 7);
            let read = format!("{}{}", s(&d), check(&d));
            (d, "EAN-8", read)
        }
        69 => {
            let d = pick(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%", 1, 12);
            let read = s(&d);
            (d, "CODE-39", read)
        }
        70 => {
            let d = pick(digits, 3, 7);
            let d = [d.clone(), d].concat();
            let read = s(&d);
            (d, "I2/5", read)
        }
        71 => {
            let mut d = pick(b"ABCD", 1, 1);
            // zbar reads CODABAR of four characters or more.
            d.extend(pick(b"0123456789-$:/.+", 2, 12));
            d.extend(pick(b"ABCD", 1, 1));
            let read = s(&d);
            (d, "Codabar", read)
        }
        72 => {
            let d = pick(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%abcxyz", 1, 16);
            let read = s(&d);
            (d, "CODE-93", read)
        }
        73 => {
            // Printable text in code set B, then digit pairs in code set C.
            let text = pick(b"ABCxyz0123456789 !#%&()*+-./:;<=>?@[]^_|~", 1, 10);
            let pairs: Vec<u8> = (0..1 + rng.below(5))
                .map(|_| rng.below(100) as u8)
                .collect();
            let mut d = b"{B".to_vec();
            d.extend(&text);
            d.extend(b"{C");
            d.extend(&pairs);
            let mut read = s(&text);
            for p in pairs {
                read.push_str(&format!("{p:02}"));
            }
            (d, "CODE-128", read)
        }
        _ => {
            let d = pick(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 $%*+-./:",
                1,
                120,
            );
            let read = s(&d);
            (d, "QR-Code", read)
        }
    }
}

/// Every symbology and QR, a few hundred random payloads: printed on the simulated
/// printer, read back by zbar with the same data.
#[test]
fn random_payloads_of_every_symbology_round_trip_through_zbar() {
    use printrig::sim::{print_job, Faults};
    const PER_SYMBOLOGY: usize = 30;
    let t = tempfile::tempdir().expect("tempdir");
    let mut rng = printrig::util::rng::Rng::new(0xba4c0de);
    let mut files = Vec::new();
    let mut expected = Vec::new();
    for m in [65u8, 66, 67, 68, 69, 70, 71, 72, 73, 0] {
        // One page per symbology, the codes centred, 60 rows of paper between them.
        let mut job = b"\x1b@\x1ba\x01\x1dh\x30\x1dw\x02\x1dH\x00".to_vec();
        for _ in 0..PER_SYMBOLOGY {
            let (data, name, read) = payload(m, &mut rng);
            if m == 0 {
                job.extend_from_slice(b"\x1d(k\x03\x001C\x03");
                let len = (data.len() + 3) as u16;
                job.extend_from_slice(b"\x1d(k");
                job.extend_from_slice(&len.to_le_bytes());
                job.extend_from_slice(b"1P0");
                job.extend_from_slice(&data);
                job.extend_from_slice(b"\x1d(k\x03\x001Q0");
            } else {
                job.extend_from_slice(&[0x1D, b'k', m, data.len() as u8]);
                job.extend_from_slice(&data);
            }
            job.extend_from_slice(b"\n\n");
            let read = if m == 66 {
                // UPC-E: the HRI the printer computed (number system, six digits, check).
                let symbol = printrig::sim::barcode::encode(66, &data).expect("UPC-E encodes");
                symbol.hri
            } else {
                read
            };
            expected.push((name.to_string(), read));
        }
        job.extend_from_slice(b"\x1dV\x00");
        let out = print_job(&job, 576, Faults::default(), u64::from(m));
        assert!(out.error.is_none(), "{:?}", out.error);
        let page = out.pages.first().expect("a page");
        let file = t.path().join(format!("m{m}.png"));
        page.save(&file).expect("write the page");
        files.push(file);
    }
    let mut cmd = Command::new("zbarimg");
    cmd.args(["-q", "--set", "*.enable"]).args(&files);
    let out = bounded(cmd);
    let mut read: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(s, d)| (s.to_string(), d.to_string()))
        .collect();
    read.sort();
    let expected = sorted(expected);
    let missing: Vec<_> = expected.iter().filter(|e| !read.contains(e)).collect();
    let extra: Vec<_> = read.iter().filter(|r| !expected.contains(r)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "zbar read {} of {}; missing {missing:?}; misread {extra:?}",
        read.len(),
        expected.len()
    );
}

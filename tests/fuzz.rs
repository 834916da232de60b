//! Fuzzing the readers of what comes to the rig from outside: ESC/POS jobs (the simulated
//! printer's decoder), station and plan files, the journal, and scan images (PNG, JPEG,
//! TIFF, PNM with their truncation checks).
//!
//! A self-contained mutation fuzzer: each target starts from valid inputs and mutates them
//! (bit flips, bytes set to edge values, truncations, splices of two inputs, large numbers
//! written in, ranges repeated or cut, tokens of the format inserted). Every input must
//! give a typed error or a valid result: no panic, no more memory than the target's bound
//! (counted by this binary's allocator, per thread), and an end within a bounded time.
//! Targets also check properties: a job split anywhere decodes as it does whole, a
//! journal that reads takes one more event and reads it back, a scan read from a file is
//! judged as it is from memory.
//!
//! `cargo test --test fuzz` runs a short fixed-seed pass of every target and every input
//! kept under `fixtures/fuzz/` (inputs that once broke a target). The long run:
//!
//! ```text
//! FUZZ_SECONDS=240 nice -n 10 cargo test --test fuzz -- --ignored --nocapture
//! ```
//!
//! (seconds per target; `FUZZ_SEED=n` another sequence, `FUZZ_TARGET=name` one target).
//! An input that breaks a target is written to `target/fuzz-found/<target>-<hash>.bin`;
//! the input in progress to `target/fuzz-found/last-<target>.bin`, for a crash that ends
//! the process.

#[path = "common/mod.rs"]
mod common;

use printrig::util::rng::Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Memory: live and peak bytes allocated by the current thread.

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grew(n: usize) {
    let _ = LIVE.try_with(|l| {
        let v = l.get().saturating_add(n);
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

fn shrank(n: usize) {
    let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(n)));
}

// SAFETY: every call is passed on to the system allocator unchanged; the counters only
// read the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller's contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller's contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller's contract.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as the caller's contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f`, returning what it gave and the most bytes it held at once beyond what the
/// thread held before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get).saturating_sub(base))
}

// ---------------------------------------------------------------------------------------
// Mutations.

/// Numbers that break careless parsers, as text.
const TEXT_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "255",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551616",
    "-9223372036854775809",
    "1e308",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "0.0000001",
    "99999999999999999999999999999",
];

/// Byte patterns of edge values, written over a binary input.
const BINARY_NUMBERS: &[&[u8]] = &[
    &[0x00],
    &[0xFF],
    &[0x7F],
    &[0x80],
    &[0xFF, 0xFF],
    &[0x00, 0x00],
    &[0xFF, 0x7F],
    &[0x00, 0x80],
    &[0xFF, 0xFF, 0xFF, 0xFF],
    &[0x7F, 0xFF, 0xFF, 0xFF],
    &[0xFF, 0xFF, 0xFF, 0x7F],
    &[0x00, 0x00, 0x00, 0x80],
    &[0x00, 0x01, 0x00, 0x00],
    &[0x00, 0x00, 0x01, 0x00],
];

/// Strings that break careless readers of names and paths.
const TEXT_STRINGS: &[&str] = &[
    "",
    " ",
    "..",
    "../../../etc/passwd",
    "/",
    "a/b/c/d/e/f",
    "solid",
    "sim-58mm",
    "nominal",
    "\\u0000",
    "\\ud800",
    "é",
    "\u{202e}",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

struct Mutator {
    rng: Rng,
}

/// The byte range of the first number (digits, with a sign, point or exponent) at or
/// after `from`, if any.
fn number_at(b: &[u8], from: usize) -> Option<(usize, usize)> {
    let start = from + b.get(from..)?.iter().position(u8::is_ascii_digit)?;
    let start = if start > 0 && b[start - 1] == b'-' {
        start - 1
    } else {
        start
    };
    let len = b[start..]
        .iter()
        .skip(1)
        .position(|c| !(c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'_')))
        .map_or(b.len() - start, |n| n + 1);
    Some((start, start + len))
}

/// The byte range of the contents of the first double-quoted string at or after `from`.
fn string_at(b: &[u8], from: usize) -> Option<(usize, usize)> {
    let open = from + b.get(from..)?.iter().position(|&c| c == b'"')? + 1;
    let len = b
        .get(open..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\n')?;
    Some((open, open + len))
}

impl Mutator {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.below(items.len() as u64) as usize]
    }

    fn at(&mut self, len: usize) -> usize {
        self.rng.below(len as u64 + 1) as usize
    }

    /// One to four mutations of `seed` (another seed at hand for splices), at most
    /// `max_len` bytes long.
    fn mutate(&mut self, seed: &[u8], other: &[u8], t: &Target, max_len: usize) -> Vec<u8> {
        let mut b = seed.to_vec();
        let n = 1 + self.rng.below(4);
        for _ in 0..n {
            self.once(&mut b, other, t);
        }
        b.truncate(max_len);
        // Most of the time, checksums made right again: the reader gets past them.
        if let Some(fix) = t.fixup {
            if self.rng.below(4) != 0 {
                fix(&mut b);
            }
        }
        b
    }

    fn once(&mut self, b: &mut Vec<u8>, other: &[u8], t: &Target) {
        match self.rng.below(10) {
            // A bit flipped.
            0 if !b.is_empty() => {
                let i = self.rng.below(b.len() as u64) as usize;
                b[i] ^= 1 << self.rng.below(8);
            }
            // A byte set to anything.
            1 if !b.is_empty() => {
                let i = self.rng.below(b.len() as u64) as usize;
                b[i] = self.rng.below(256) as u8;
            }
            // Cut short.
            2 => {
                let at = self.at(b.len());
                b.truncate(at);
            }
            // The head of this one, the tail of another.
            3 => {
                let at = self.at(b.len());
                let from = self.at(other.len());
                b.truncate(at);
                b.extend_from_slice(&other[from..]);
            }
            // A number in the input (text, or a binary format's text header) replaced by
            // a large one.
            4 => {
                let at = self.at(b.len());
                let num = self.pick(TEXT_NUMBERS).as_bytes();
                match number_at(b, at) {
                    Some((from, to)) => {
                        b.splice(from..to, num.iter().copied());
                    }
                    None => {
                        b.splice(at..at, num.iter().copied());
                    }
                }
            }
            // A string's contents replaced (text), or edge values written over (binary).
            5 => {
                let at = self.at(b.len());
                if t.text {
                    let text = self.pick(TEXT_STRINGS).as_bytes();
                    if let Some((from, to)) = string_at(b, at) {
                        b.splice(from..to, text.iter().copied());
                    }
                } else {
                    let num = *self.pick(BINARY_NUMBERS);
                    let end = (at + num.len()).min(b.len());
                    b.splice(at..end, num.iter().copied());
                }
            }
            // A range repeated.
            6 if !b.is_empty() => {
                let from = self.rng.below(b.len() as u64) as usize;
                let len = 1 + self.rng.below((b.len() - from).min(4096) as u64) as usize;
                let chunk = b[from..from + len].to_vec();
                let times = 1 + self.rng.below(8) as usize;
                let at = self.at(b.len());
                let repeated: Vec<u8> = chunk.iter().copied().cycle().take(len * times).collect();
                b.splice(at..at, repeated);
            }
            // A range cut out.
            7 if !b.is_empty() => {
                let from = self.rng.below(b.len() as u64) as usize;
                let len = 1 + self.rng.below((b.len() - from).min(256) as u64) as usize;
                b.drain(from..from + len);
            }
            // A token of the format inserted.
            8 | 9 if !t.tokens.is_empty() => {
                let tok = *self.pick(t.tokens);
                let at = self.at(b.len());
                b.splice(at..at, tok.iter().copied());
            }
            _ => {
                let at = self.at(b.len());
                b.insert(at, self.rng.below(256) as u8);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Targets.

struct Target {
    name: &'static str,
    /// Text formats get their numbers as digits.
    text: bool,
    tokens: &'static [&'static [u8]],
    /// The most bytes an input of this many bytes may hold at once while it is read.
    memory: fn(usize) -> usize,
    /// The longest input tried.
    max_len: usize,
    seeds: Vec<Vec<u8>>,
    check: fn(&[u8], &Path),
    /// Makes a mutated input's checksums right again.
    fixup: Option<fn(&mut [u8])>,
}

/// CRC-32 (IEEE), as a PNG chunk carries it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Rewrites the CRC of every whole chunk of a PNG, so that a mutated header or data is
/// read as it is, not refused for its checksum.
fn fix_png_crcs(b: &mut [u8]) {
    if !b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return;
    }
    let mut at = 8;
    while at + 12 <= b.len() {
        let len = u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
        let Some(end) = (at + 8).checked_add(len) else {
            return;
        };
        if end + 4 > b.len() {
            return;
        }
        let crc = crc32(&b[at + 4..end]);
        b[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        at = end + 4;
    }
}

const ESCPOS_TOKENS: &[&[u8]] = &[
    b"\x1b@",
    b"\x1d\x76\x30\x00",
    b"\x1d\x76\x30\x03\xff\xff\xff\xff",
    b"\x1b*\x21\xff\xff",
    b"\x1b*\x00\x00\x10",
    b"\x1dk\x49\xff",
    b"\x1dk\x04",
    b"\x1d(k\xff\xff\x31\x50\x30",
    b"\x1d(L\xff\xff\x30\x70",
    b"\x1d8L\xff\xff\xff\xff\x30\x70",
    b"\x1d(H\x06\x00\x30\x30",
    b"\x10\x04\x01",
    b"\x10\x14\x01\x00\x05",
    b"\x1bd\xff",
    b"\x1bJ\xff",
    b"\x1b!\xff",
    b"\x1d!\xff",
    b"\x1dV\x41\xff",
    b"\x1bD\x01\x02\x03",
    b"\x1bW\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\x1c\x70\x01\x00",
    b"\x0a",
    b"\x00",
];

const TOML_TOKENS: &[&[u8]] = &[
    b"[[station]]\n",
    b"[station.sim]\n",
    b"[station.printer]\n",
    b"[[condition]]\n",
    b"[plan]\n",
    b"[condition.accept]\n",
    b"[condition.chamber]\n",
    b"[condition.power_cycle]\n",
    b"\n",
    b"=",
    b"\"",
    b"'",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b"#",
    b"\\u0000",
    b"\xff",
    b"repeats = ",
    b"dots = ",
    b"voltage = ",
    b"patterns = [\"solid\"]\n",
    b"name = \"x\"\n",
    b"kind = \"sim\"\n",
];

const JOURNAL_TOKENS: &[&[u8]] = &[
    b"\n",
    b"{\"event\":\"case_end\"",
    b"{\"event\":\"case_start\",\"time\":\"t\",\"case\":\"s/solid/nominal/r1\",\"attempt\":4294967295}\n",
    b"{\"event\":\"run_start\"",
    b"\"attempt\":",
    b"\"verdict\":\"error\"",
    b"\"last\":true",
    b"\"bytes\":",
    b"\"time\":\"2026-13-45T99:99:99Z\"",
    b"null",
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b",",
    b"\\u0000",
    b"\xff",
];

const IMAGE_TOKENS: &[&[u8]] = &[
    b"IEND\xaeB`\x82",
    b"IDAT",
    b"IHDR",
    b"\xff\xd9",
    b"\xff\xd8",
    b"\xff\xda",
    b"\xff\xc0\x00\x11\x08",
    b"\xff\xc4",
    b"P5\n",
    b"65535 65535\n255\n",
    b"II*\x00",
    b"\x00\x01\x00\x00",
];

fn scratch_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("scratch file");
    p
}

fn check_escpos(bytes: &[u8], _: &Path) {
    use printrig::escpos::decode::{decode_all, Decoder};
    let (whole, result) = decode_all(bytes);
    if let Err(e) = &result {
        assert!(e.offset() <= bytes.len(), "error past the end: {e}");
    }
    // Split anywhere, the same events and the same end.
    let mut rng = Rng::new(bytes.len() as u64 ^ bytes.first().copied().unwrap_or(0) as u64);
    let mut d = Decoder::new();
    let mut parts = Vec::new();
    let mut rest = bytes;
    let split = loop {
        if rest.is_empty() {
            break d.finish(&mut parts);
        }
        let n = 1 + rng.below(rest.len().min(64) as u64) as usize;
        let (head, tail) = rest.split_at(n);
        if let Err(e) = d.push(head, &mut parts) {
            break Err(e);
        }
        rest = tail;
    };
    assert_eq!(parts, whole, "events differ when the job is split");
    assert_eq!(
        split.map_err(|e| e.to_string()),
        result.map_err(|e| e.to_string()),
        "the end differs when the job is split"
    );
}

fn check_stations(bytes: &[u8], dir: &Path) {
    let p = scratch_file(dir, "stations.toml", bytes);
    if let Ok(sf) = printrig::run::load_stations(Some(&p)) {
        // A simulated station as a run starts it (its spec checked, its boot time).
        for st in &sf.stations {
            if let Ok(Some(config)) = printrig::sim::SimConfig::from_station(st) {
                let spec = printrig::sim::station::SimStationSpec::for_station(st, config, dir);
                if spec.validate().is_ok() {
                    let _ = spec.boot_wall();
                }
            }
        }
        // What a run does next with a station file: a plan checked against it.
        let plan = scratch_file(dir, "plan.toml", SMOKE_PLAN.as_bytes());
        let _ = printrig::plan::load_plan(&plan, &sf);
    }
}

fn embedded_stations() -> printrig::plan::StationFile {
    printrig::run::load_stations(None).expect("embedded stations")
}

fn check_plan(bytes: &[u8], dir: &Path) {
    thread_local! {
        static STATIONS: printrig::plan::StationFile = embedded_stations();
    }
    let p = scratch_file(dir, "plan.toml", bytes);
    STATIONS.with(|sf| {
        let Ok(plan) = printrig::plan::load_plan(&p, sf) else {
            return;
        };
        // The step timeouts as a run holds them.
        let t = &plan.timeouts;
        for secs in [t.arrange, t.print, t.scan, t.analyze] {
            let _ = Duration::from_secs_f64(secs);
        }
        // What a run does with a plan that loads: the case limit, then the cases.
        if printrig::plan::check_case_limit(&plan, sf, printrig::plan::DEFAULT_MAX_CASES).is_ok() {
            let cases = printrig::plan::expand(&plan, sf);
            let refs: Vec<_> = cases.iter().collect();
            let _ = printrig::plan::estimate::estimate(&plan, sf, &refs);
        }
    });
}

fn check_journal(bytes: &[u8], dir: &Path) {
    use printrig::record::journal::{read, Event, Journal};
    let p = scratch_file(dir, "journal.ndjson", bytes);
    let Ok(events) = read(&p) else {
        return;
    };
    let _ = printrig::record::results::from_events(&events);
    let _ = printrig::record::recorded_artifacts(&events);
    // What reads is what a resumed run appends to: one more event, read back after it.
    let mut j = Journal::open(&p).expect("a journal that reads opens for appending");
    let ev = Event::Resumed {
        time: "2026-12-03T15:04:47Z".into(),
        pid: 4242,
        remaining: Vec::new(),
    };
    j.append(&ev).expect("append");
    drop(j);
    let again = read(&p).expect("the journal reads after an append");
    assert_eq!(again.len(), events.len() + 1, "one more event");
    assert_eq!(again.last(), Some(&ev));
}

fn check_image(bytes: &[u8], dir: &Path) {
    use printrig::scanfile::{decode_scan, read_scan};
    let from_memory = decode_scan(Path::new("scan.bin"), bytes);
    let p = scratch_file(dir, "scan.bin", bytes);
    let from_file = read_scan(&p);
    assert_eq!(
        from_memory.as_ref().map(|i| i.dimensions()).map_err(|_| ()),
        from_file.as_ref().map(|i| i.dimensions()).map_err(|_| ()),
        "read from a file and from memory, judged otherwise: {:?} / {:?}",
        from_memory.as_ref().err().map(|e| e.to_string()),
        from_file.as_ref().err().map(|e| e.to_string())
    );
    if let (Ok(a), Ok(b)) = (&from_memory, &from_file) {
        assert!(a.as_raw() == b.as_raw(), "different pixels");
    }
}

const SMOKE_PLAN: &str = include_str!("../rig/plans/smoke.toml");

fn escpos_seeds() -> Vec<Vec<u8>> {
    use printrig::escpos::encode::{encode_bitmap, EncodeOptions};
    use printrig::pattern::{render, PatternKind};
    let mut seeds = Vec::new();
    for (kind, dots) in [
        (PatternKind::Solid, 384),
        (PatternKind::Receipt, 384),
        (PatternKind::Ladder, 384),
    ] {
        let p = render(kind, dots, 7).expect("pattern");
        let opts = EncodeOptions {
            band_rows: 64,
            ..EncodeOptions::default()
        };
        let job = encode_bitmap(&p.bitmap, &opts).expect("job");
        // Only the first bands: a short job mutates faster than a whole page.
        let cut = job.bytes.len().min(6000);
        seeds.push(job.bytes[..cut].to_vec());
    }
    // A text receipt: modes, text, a barcode, a QR code, a graphics store and print, a bit
    // image, real-time requests, feeds and a cut.
    let mut r: Vec<u8> = Vec::new();
    r.extend_from_slice(b"\x1b@\x1ba\x01\x1b!\x38SHOP\n\x1b!\x00");
    r.extend_from_slice(b"\x1bE\x01Total\x1bE\x00  12.50\n\x1b-\x01under\x1b-\x00\n\t\x1bd\x02");
    r.extend_from_slice(b"\x1dh\x50\x1dw\x02\x1dH\x02\x1dk\x49\x0a{B12345678\x1dk\x04ABC123\x00");
    r.extend_from_slice(
        b"\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C\x04\x1d(k\x0b\x001P0hello QR\x1d(k\x03\x001Q0",
    );
    r.extend_from_slice(
        b"\x1d(L\x0e\x000p0\x01\x011\x10\x00\x02\x00\xff\xff\xaa\x55\x1d(L\x02\x0002",
    );
    r.extend_from_slice(
        b"\x1b*\x00\x04\x00\xff\x81\x81\xff\n\x10\x04\x01\x10\x04\x04\x1d(H\x06\x0000abcd",
    );
    r.extend_from_slice(b"\x1b3\x40\x1bJ\x10\x1b2\x1c\x2e\x1bt\x10\xe9t\xe9\n\x1dV\x42\x00");
    seeds.push(r);
    seeds
}

fn toml_seeds(which: &str) -> Vec<Vec<u8>> {
    let dir = common::repo_path(&format!("rig/{which}"));
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("shipped files")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let b = std::fs::read(&p).expect("read");
            (p, b)
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, b)| b).collect()
}

fn journal_seeds(dir: &Path) -> Vec<Vec<u8>> {
    use common::fabricate::{write_run, Fab, RunSpec};
    use printrig::record::journal::{Event, GoldenRefs, Step};
    use printrig::verdict::Verdict;
    let run = dir.join("seed-run");
    let all: Vec<String> = (1..=3).map(|r| format!("s/solid/nominal/r{r}")).collect();
    let cases = vec![
        Fab::new(all[0].clone(), Verdict::Pass),
        Fab {
            solid_density: Some(1.2),
            ..Fab::new(all[1].clone(), Verdict::Fail)
        },
        Fab::new(all[2].clone(), Verdict::Error),
    ];
    write_run(
        &run,
        &RunSpec {
            run_id: "20261201T020000Z-0001",
            time: "2026-12-01T02:00:00Z",
            plan_name: "night",
            shard: Some((1, 2)),
            plan_cases: &all,
            files: Some(16),
        },
        &cases,
    );
    let mut journal = std::fs::read(run.join("journal.ndjson")).expect("journal");
    // The events a run writes that a fabricated run does not.
    let more = [
        Event::Firmware {
            time: "2026-12-01T02:00:01Z".into(),
            station: "s".into(),
            identity: printrig::instrument::printer::PrinterIdentity {
                model: "SIM-58".into(),
                firmware: "SIM 1.0".into(),
                maker: "sim".into(),
                serial: "0001".into(),
            },
            instruments: vec![printrig::record::InstrumentAnswer {
                instrument: "power".into(),
                answer: "SIM,PSU,0,1.0".into(),
            }],
        },
        Event::GoldenChanged {
            time: "2026-12-01T02:00:02Z".into(),
            golden: GoldenRefs {
                dir: "/golden".into(),
                records: Vec::new(),
            },
        },
        Event::Resumed {
            time: "2026-12-01T02:00:03Z".into(),
            pid: 77,
            remaining: vec![all[2].clone()],
        },
        Event::StepStart {
            time: "2026-12-01T02:00:04Z".into(),
            case: all[2].clone(),
            attempt: 2,
            step: Step::Scan,
        },
        Event::StepEnd {
            time: "2026-12-01T02:00:05Z".into(),
            case: all[2].clone(),
            attempt: 2,
            step: Step::Scan,
            duration_s: 1.5,
            ok: false,
            error: Some("scanner jammed".into()),
        },
    ];
    for ev in &more {
        journal.extend(serde_json::to_vec(ev).expect("json"));
        journal.push(b'\n');
    }
    vec![journal]
}

fn image_seeds() -> Vec<Vec<u8>> {
    use image::{GrayImage, ImageFormat, Luma};
    let img = GrayImage::from_fn(96, 64, |x, y| {
        Luma([if (x / 8 + y / 8) % 2 == 0 { 20 } else { 235 }])
    });
    let mut seeds = Vec::new();
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Tiff,
        ImageFormat::Pnm,
    ] {
        let mut c = std::io::Cursor::new(Vec::new());
        img.write_to(&mut c, format).expect("encode");
        seeds.push(c.into_inner());
    }
    let rgb = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 90]));
    let mut c = std::io::Cursor::new(Vec::new());
    rgb.write_to(&mut c, ImageFormat::Png).expect("encode");
    seeds.push(c.into_inner());
    seeds
}

fn targets(dir: &Path) -> Vec<Target> {
    vec![
        Target {
            name: "escpos",
            text: false,
            tokens: ESCPOS_TOKENS,
            memory: |_| 256 << 20,
            max_len: 64 << 10,
            seeds: escpos_seeds(),
            check: check_escpos,
            fixup: None,
        },
        Target {
            name: "stations",
            text: true,
            tokens: TOML_TOKENS,
            memory: |_| 64 << 20,
            max_len: 64 << 10,
            seeds: toml_seeds("stations"),
            check: check_stations,
            fixup: None,
        },
        Target {
            name: "plan",
            text: true,
            tokens: TOML_TOKENS,
            memory: |_| 256 << 20,
            max_len: 64 << 10,
            seeds: toml_seeds("plans"),
            check: check_plan,
            fixup: None,
        },
        Target {
            name: "journal",
            text: true,
            tokens: JOURNAL_TOKENS,
            memory: |_| 64 << 20,
            max_len: 256 << 10,
            seeds: journal_seeds(dir),
            check: check_journal,
            fixup: None,
        },
        Target {
            name: "image",
            text: false,
            tokens: IMAGE_TOKENS,
            // The decoder's budget for a file of its size, a grey copy, and the rest.
            memory: |len| 2 * printrig::scanfile::decode_budget(len as u64) as usize + (16 << 20),
            max_len: 256 << 10,
            seeds: image_seeds(),
            check: check_image,
            fixup: Some(fix_png_crcs),
        },
    ]
}

// ---------------------------------------------------------------------------------------
// The loop.

/// The longest one input may take, in a test build under a shared machine's load.
const INPUT_TIME_LIMIT: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Tally {
    inputs: u64,
    slowest: Duration,
    peak: usize,
    /// What broke the target, with the input that did it.
    found: Vec<(String, Vec<u8>)>,
}

fn found_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-found")
}

/// Runs one input through `t`: what broke, if anything.
fn try_one(t: &Target, input: &[u8], scratch: &Path, tally: &mut Tally) {
    let t0 = Instant::now();
    let (outcome, peak) = peak_of(|| catch_unwind(AssertUnwindSafe(|| (t.check)(input, scratch))));
    let took = t0.elapsed();
    tally.inputs += 1;
    tally.slowest = tally.slowest.max(took);
    tally.peak = tally.peak.max(peak);
    let problem = match outcome {
        Err(p) => Some(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| p.downcast_ref::<&str>().copied())
                .unwrap_or("(not a string)")
        )),
        Ok(()) if peak > (t.memory)(input.len()) => Some(format!(
            "held {peak} bytes at once, more than the {} allowed",
            (t.memory)(input.len())
        )),
        Ok(()) if took > INPUT_TIME_LIMIT => Some(format!("took {took:?}")),
        Ok(()) => None,
    };
    if let Some(p) = problem {
        // One input kept per kind of problem (the message up to its first digits).
        let key: String = p.chars().take_while(|c| !c.is_ascii_digit()).collect();
        if !tally.found.iter().any(|(k, _)| k.starts_with(&key)) {
            tally.found.push((p, input.to_vec()));
        }
    }
}

/// A folder for the files a target reads: in memory where the system has one (a journal
/// append syncs to disk, which a disk makes slow).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().expect("scratch")
}

/// Fuzzes target `t` from `seed` for `inputs` inputs or until `until`, whichever first.
fn fuzz(t: &Target, seed: u64, inputs: u64, until: Option<Instant>, keep_last: bool) -> Tally {
    let scratch = scratch();
    let mut m = Mutator {
        rng: Rng::new(seed ^ printrig::plan::fnv1a64(t.name.as_bytes())),
    };
    let mut tally = Tally::default();
    let last = found_dir().join(format!("last-{}.bin", t.name));
    if keep_last {
        std::fs::create_dir_all(found_dir()).expect("found dir");
    }
    // The seeds themselves first: each must be accepted cleanly.
    for s in &t.seeds {
        try_one(t, s, scratch.path(), &mut tally);
    }
    // Inputs that went through whole are mutated further, from time to time.
    let mut pool: Vec<Vec<u8>> = t.seeds.clone();
    while tally.inputs < inputs && until.is_none_or(|u| Instant::now() < u) {
        let a = m.rng.below(pool.len() as u64) as usize;
        let b = m.rng.below(pool.len() as u64) as usize;
        let input = m.mutate(&pool[a], &pool[b], t, t.max_len);
        if keep_last {
            std::fs::write(&last, &input).expect("last input");
        }
        let before = tally.found.len();
        try_one(t, &input, scratch.path(), &mut tally);
        if tally.found.len() == before && m.rng.below(16) == 0 {
            if pool.len() < 64 {
                pool.push(input);
            } else {
                let i = t.seeds.len() + m.rng.below((pool.len() - t.seeds.len()) as u64) as usize;
                pool[i] = input;
            }
        }
    }
    tally
}

/// Writes what broke a target where it can be kept as a regression input; the report.
fn report(t: &Target, tally: &Tally) -> Vec<String> {
    tally
        .found
        .iter()
        .map(|(problem, input)| {
            let hash = &printrig::util::sha256_hex(input)[..12];
            let path = found_dir().join(format!("{}-{hash}.bin", t.name));
            let _ = std::fs::create_dir_all(found_dir());
            let _ = std::fs::write(&path, input);
            format!(
                "{}: {problem} ({} bytes, {})",
                t.name,
                input.len(),
                path.display()
            )
        })
        .collect()
}

/// Panics quietly: the loop reports what it found, once.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

#[test]
fn png_checksums_are_made_right_again() {
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    let mut png = image_seeds().remove(0);
    png[23] ^= 1; // the height's low byte: 64 rows become 65
    let refused = printrig::scanfile::decode_scan(Path::new("w.png"), &png).expect_err("crc");
    assert!(
        refused.to_string().to_lowercase().contains("crc"),
        "{refused}"
    );
    fix_png_crcs(&mut png);
    let read = printrig::scanfile::decode_scan(Path::new("w.png"), &png);
    if let Err(e) = &read {
        assert!(!e.to_string().to_lowercase().contains("crc"), "{e}");
    }
}

#[test]
fn every_target_holds_under_a_short_fixed_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut problems = Vec::new();
    for t in targets(dir.path()) {
        let tally = fuzz(&t, 1, 400, None, false);
        assert!(tally.inputs >= 400, "{}: {} inputs", t.name, tally.inputs);
        problems.extend(report(&t, &tally));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn inputs_that_once_broke_a_target_hold() {
    let dir = scratch();
    let root = common::repo_path("fixtures/fuzz");
    let mut problems = Vec::new();
    let mut seen = 0;
    for t in targets(dir.path()) {
        let Ok(rd) = std::fs::read_dir(root.join(t.name)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd.map(|e| e.expect("entry").path()).collect();
        files.sort();
        let mut tally = Tally::default();
        for f in files {
            let input = std::fs::read(&f).expect("regression input");
            try_one(&t, &input, dir.path(), &mut tally);
            seen += 1;
        }
        problems.extend(report(&t, &tally));
    }
    assert!(seen > 0, "no regression inputs under {}", root.display());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
#[ignore = "long: FUZZ_SECONDS per target (see the module doc)"]
fn fuzz_for_a_while() {
    let secs: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let only = std::env::var("FUZZ_TARGET").ok();
    quiet_panics();
    let dir = tempfile::tempdir().expect("tmp");
    let mut problems = Vec::new();
    for t in targets(dir.path()) {
        if only.as_deref().is_some_and(|o| o != t.name) {
            continue;
        }
        let until = Instant::now() + Duration::from_secs(secs);
        let tally = fuzz(&t, seed, u64::MAX, Some(until), true);
        println!(
            "{}: {} inputs in {secs} s (seed {seed}), slowest {:.3} s, peak {:.1} MiB, {} problem(s)",
            t.name,
            tally.inputs,
            tally.slowest.as_secs_f64(),
            tally.peak as f64 / (1 << 20) as f64,
            tally.found.len()
        );
        problems.extend(report(&t, &tally));
    }
    for p in &problems {
        println!("FOUND {p}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

//! The run journal: append-only NDJSON, one event a line, so a run killed at any point
//! leaves every finished step on record and can be resumed.
//!
//! Every event is written to the file when it happens (a killed process loses nothing
//! written). The file is synced to disk at the commit points: the start or resumption of
//! a run, the end of every case and the end of the run. A machine that loses power may
//! lose the steps of the cases still running, which `--resume` runs again; a finished
//! case is on disk. Syncing at every step cost one disk flush per event (1 530 in a run
//! of 8 stations × 10 cases), each stalling the runtime thread that wrote it.
//!
//! Owns the event types and their file format; it must not decide anything about cases.

use crate::defect::{Axis, DefectKind, Severity};
use crate::instrument::printer::PrinterIdentity;
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A file a run depends on, with its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    pub path: String,
    pub sha256: String,
}

/// The golden records a run judges its cases by: their directory (as an absolute path)
/// and each record it uses, with its sha256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldenRefs {
    pub dir: String,
    pub records: Vec<FileRef>,
}

/// What one of a station's instruments said it is when the run started (the printer's
/// GS I identity, a SCPI `*IDN?` answer), its control characters escaped
/// (`util::printable`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentAnswer {
    /// `printer`, `power` or `chamber`.
    pub instrument: String,
    pub answer: String,
}

impl InstrumentAnswer {
    /// The printer's identity as one answer: `maker model, firmware F, serial S`.
    pub fn printer(id: &PrinterIdentity) -> InstrumentAnswer {
        InstrumentAnswer {
            instrument: "printer".into(),
            answer: format!(
                "{} {}, firmware {}, serial {}",
                id.maker, id.model, id.firmware, id.serial
            ),
        }
    }
}

/// One case of the expanded plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseInfo {
    /// Stable across runs: `station/pattern/condition/rN`.
    pub id: String,
    pub station: String,
    pub model: String,
    pub dots: u32,
    pub pattern: String,
    pub condition: String,
    pub repeat: u32,
}

/// The steps of a case, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Arrange,
    Print,
    Scan,
    Analyze,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Arrange => "arrange",
            Step::Print => "print",
            Step::Scan => "scan",
            Step::Analyze => "analyze",
        }
    }
}

/// A defect as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefectNote {
    /// By its serialised name (`dead_element`, `half_width`, …).
    pub kind: DefectKind,
    pub severity: Severity,
    pub axis: Axis,
    pub start: u32,
    pub end: u32,
    pub depth: f64,
    pub detail: String,
    pub hint: String,
    /// Expected under this condition (e.g. `truncated` after a power cut without resend).
    #[serde(default)]
    pub expected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
// One `run_start` per journal against thousands of small events: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    RunStart {
        time: String,
        run_id: String,
        tool_version: String,
        host: String,
        plan: FileRef,
        /// The plan's `name` and `description` (absent in journals written before they
        /// were kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan_description: Option<String>,
        stations: Vec<FileRef>,
        shard: Option<(u32, u32)>,
        cases: Vec<CaseInfo>,
        /// A sharded run: the ids of every case of the plan, all shards together, in plan
        /// order (how `rig merge` knows the shards cover the plan, and its order).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        plan_cases: Vec<String>,
        /// A merged run: the runs it was joined from (`run_id` of each shard, in shard
        /// order).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        merged_from: Vec<String>,
        /// The plan's `[plan.gate]` margins as the run used them (every key), for `rig gate`
        /// to judge the run by, whatever became of the plan file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gate: Option<serde_json::Value>,
        /// The firmware `rig run --firmware` installed on every station before anything
        /// printed; a resumed run keeps it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        firmware: Option<String>,
        /// The golden records the run started with (absent in journals written before
        /// they were kept); a resume judges by them unless told otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        golden: Option<GoldenRefs>,
    },
    /// A resumed run told (`--golden-dir`) to judge its remaining cases by other golden
    /// records than it started with: which, from here on.
    GoldenChanged { time: String, golden: GoldenRefs },
    /// What a station's printer said it is, read at the start of the run, and what its
    /// other instruments answered in pre-flight (absent in journals written before they
    /// were kept).
    Firmware {
        time: String,
        station: String,
        identity: PrinterIdentity,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        instruments: Vec<InstrumentAnswer>,
    },
    Resumed {
        time: String,
        pid: u32,
        remaining: Vec<String>,
    },
    CaseStart {
        time: String,
        case: String,
        attempt: u32,
    },
    StepStart {
        time: String,
        case: String,
        attempt: u32,
        step: Step,
    },
    StepEnd {
        time: String,
        case: String,
        attempt: u32,
        step: Step,
        duration_s: f64,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Measurement {
        time: String,
        case: String,
        attempt: u32,
        name: String,
        value: serde_json::Value,
    },
    Artifact {
        time: String,
        case: String,
        attempt: u32,
        /// Relative to the run directory.
        path: String,
        sha256: String,
        bytes: u64,
    },
    CaseEnd {
        time: String,
        case: String,
        attempt: u32,
        verdict: Verdict,
        /// The case's last attempt: its verdict is the case's verdict.
        last: bool,
        /// Passed on a retry after a failed or errored attempt.
        recovered: bool,
        reasons: Vec<String>,
        defects: Vec<DefectNote>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    RunEnd {
        time: String,
        verdict: Verdict,
        interrupted: bool,
    },
}

impl Event {
    pub fn case(&self) -> Option<&str> {
        match self {
            Event::CaseStart { case, .. }
            | Event::StepStart { case, .. }
            | Event::StepEnd { case, .. }
            | Event::Measurement { case, .. }
            | Event::Artifact { case, .. }
            | Event::CaseEnd { case, .. } => Some(case),
            _ => None,
        }
    }
}

pub fn now() -> String {
    crate::util::clock::now_rfc3339_precise()
}

/// The longest line (one event) a journal holds: a reader refuses a longer one before it
/// is read whole, and the writer never writes one. The longest event is a run's
/// `run_start`, about 150 bytes a case (200 for a shard, which lists the plan's every
/// case): 64 MiB is a plan of some 300 000 cases.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// The largest journal read or written: about 200 times a night of 20 000 cases (a case
/// writes 4 to 8 KB of events).
pub const MAX_JOURNAL_BYTES: u64 = 1024 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot open journal {path}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot append to journal {path}")]
    Write { path: PathBuf, source: io::Error },
    #[error("journal {path} line {line}: {detail}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    #[error("journal {path} line {line} is longer than the {MAX_LINE_BYTES} bytes a journal line may be (not read further)")]
    LineTooLong { path: PathBuf, line: usize },
    #[error("journal {path} is {bytes} bytes: larger than the {MAX_JOURNAL_BYTES} bytes a journal may be{}", if *writing { " (the event was not written)" } else { " (not read)" })]
    TooLarge {
        path: PathBuf,
        bytes: u64,
        writing: bool,
    },
}

impl JournalError {
    /// The write that failed, when the journal could not be appended to.
    pub fn write_source(&self) -> Option<(&Path, &io::Error)> {
        match self {
            JournalError::Write { path, source } => Some((path, source)),
            _ => None,
        }
    }
}

/// Appends events, one a line; synced to disk at the commit points (see the module doc).
pub struct Journal {
    path: PathBuf,
    file: File,
    /// The file's length: where the next event starts.
    len: u64,
}

impl Journal {
    /// Opens (creating) the journal for appending. A torn tail left by a killed run (bytes
    /// after the last newline, see [`complete_len`]) is cut off first, so the file stays
    /// one event per line and the reader and the writer agree on what was recorded.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let open_err = |source| JournalError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(open_err)?;
        let mut len = file.metadata().map_err(open_err)?.len();
        if len > 0 {
            let keep = complete_len(&mut file).map_err(open_err)?;
            if keep < len {
                tracing::warn!(path = %path.display(), dropped = len - keep, "journal ended in a torn line; cutting it off");
                file.set_len(keep).map_err(open_err)?;
                file.seek(SeekFrom::End(0)).map_err(open_err)?;
                file.sync_all().map_err(open_err)?;
                len = keep;
            }
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            len,
        })
    }

    /// Appends one event, whole or not at all: a write that fails part way (a full disk)
    /// is cut off again, so the next event never lands after half a line. An event longer
    /// than [`MAX_LINE_BYTES`], or one that would take the journal past
    /// [`MAX_JOURNAL_BYTES`], is refused unwritten.
    pub fn append(&mut self, ev: &Event) -> Result<(), JournalError> {
        let werr = |source| JournalError::Write {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(ev).map_err(|e| werr(io::Error::other(e)))?;
        if line.len() > MAX_LINE_BYTES {
            return Err(werr(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {} event of {} bytes is longer than the {MAX_LINE_BYTES} bytes a journal line may be",
                    ev.name(),
                    line.len()
                ),
            )));
        }
        line.push(b'\n');
        let after = self.len + line.len() as u64;
        if after > MAX_JOURNAL_BYTES {
            return Err(JournalError::TooLarge {
                path: self.path.clone(),
                bytes: after,
                writing: true,
            });
        }
        if let Err(e) = self.file.write_all(&line) {
            // Whatever part of the line went out is not an event: cut it off.
            if let Err(cut) = self.file.set_len(self.len) {
                tracing::error!(path = %self.path.display(), error = %cut, "cannot cut a half-written event off the journal");
            }
            return Err(werr(e));
        }
        self.len = after;
        if ev.is_commit_point() {
            self.file.sync_data().map_err(werr)?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Event {
    /// The event's name as the journal writes it (`case_end`).
    pub fn name(&self) -> &'static str {
        match self {
            Event::RunStart { .. } => "run_start",
            Event::GoldenChanged { .. } => "golden_changed",
            Event::Firmware { .. } => "firmware",
            Event::Resumed { .. } => "resumed",
            Event::CaseStart { .. } => "case_start",
            Event::StepStart { .. } => "step_start",
            Event::StepEnd { .. } => "step_end",
            Event::Measurement { .. } => "measurement",
            Event::Artifact { .. } => "artifact",
            Event::CaseEnd { .. } => "case_end",
            Event::RunEnd { .. } => "run_end",
        }
    }

    /// Events after which the journal is synced to disk (see the module doc).
    pub fn is_commit_point(&self) -> bool {
        matches!(
            self,
            Event::RunStart { .. }
                | Event::Resumed { .. }
                | Event::CaseEnd { .. }
                | Event::RunEnd { .. }
        )
    }
}

/// Writes a whole journal at once, atomically (a merged run's): `events`, one a line.
pub fn write_whole(path: &Path, events: &[Event]) -> Result<(), JournalError> {
    let werr = |source| JournalError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    for ev in events {
        serde_json::to_writer(&mut bytes, ev).map_err(|e| werr(io::Error::other(e)))?;
        bytes.push(b'\n');
    }
    crate::util::fsio::write_atomic(path, &bytes).map_err(werr)
}

/// The journal's one rule for a torn tail, shared by [`read`] and [`Journal::open`]: an
/// event is recorded once its line and the newline that ends it are in the file. Bytes
/// after the last newline are a torn line, whether or not they parse: the reader skips them
/// and the writer cuts them off before it appends. (An event written whole but for its
/// newline counts as not written; the resumed run does that step again, so nothing counted
/// done is ever lost.)
///
/// Returns the length of the file up to and including its last newline.
fn complete_len(file: &mut File) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        io::Read::read_exact(file, chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Reads every recorded event (a torn tail is skipped, see [`complete_len`]); a bad line
/// elsewhere is an error naming its line number. A journal larger than
/// [`MAX_JOURNAL_BYTES`] is refused before it is read, a line longer than
/// [`MAX_LINE_BYTES`] once that much of it is read.
pub fn read(path: &Path) -> Result<Vec<Event>, JournalError> {
    let open_err = |source| JournalError::Open {
        path: path.to_path_buf(),
        source,
    };
    // A regular file only: never blocking on a FIFO, never through a link.
    let mut file = crate::util::fsio::open_regular(path).map_err(open_err)?;
    let bytes = file.metadata().map_err(open_err)?.len();
    if bytes > MAX_JOURNAL_BYTES {
        return Err(JournalError::TooLarge {
            path: path.to_path_buf(),
            bytes,
            writing: false,
        });
    }
    let complete = complete_len(&mut file).map_err(open_err)?;
    file.seek(SeekFrom::Start(0)).map_err(open_err)?;
    let mut events = Vec::new();
    let mut reader = BufReader::new(io::Read::take(file, complete));
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        // At most one byte more than a line may be, its newline included.
        let limit = MAX_LINE_BYTES as u64 + 1;
        let got = io::Read::take(&mut reader, limit)
            .read_until(b'\n', &mut line)
            .map_err(open_err)?;
        if got == 0 {
            break;
        }
        // Every line up to `complete` ends in a newline: one without it was cut by the limit.
        if line.pop() != Some(b'\n') {
            return Err(JournalError::LineTooLong {
                path: path.to_path_buf(),
                line: number,
            });
        }
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        match serde_json::from_slice::<Event>(&line) {
            Ok(ev) => events.push(ev),
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: number,
                    detail: e.to_string(),
                })
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(case: &str) -> Event {
        Event::CaseStart {
            time: now(),
            case: case.into(),
            attempt: 1,
        }
    }

    #[test]
    fn appends_reads_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal.ndjson");
        let mut j = Journal::open(&p).expect("open");
        j.append(&start("a")).expect("append");
        j.append(&start("b")).expect("append");
        drop(j);
        // a killed writer left half a line
        let mut f = OpenOptions::new().append(true).open(&p).expect("reopen");
        f.write_all(b"{\"event\":\"case_st").expect("tear");
        drop(f);
        assert_eq!(read(&p).expect("read").len(), 2);
        let mut j = Journal::open(&p).expect("open again");
        j.append(&start("c")).expect("append after tear");
        let evs = read(&p).expect("read");
        let cases: Vec<_> = evs.iter().filter_map(|e| e.case()).collect();
        assert_eq!(cases, ["a", "b", "c"]);
        let text = std::fs::read_to_string(&p).expect("text");
        assert!(text.ends_with('\n') && !text.contains("case_st\""));
    }

    fn end(case: &str) -> Event {
        Event::CaseEnd {
            time: now(),
            case: case.into(),
            attempt: 1,
            verdict: Verdict::Pass,
            last: true,
            recovered: false,
            reasons: Vec::new(),
            defects: Vec::new(),
            error: None,
        }
    }

    fn ended(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::CaseEnd {
                    case, last: true, ..
                } => Some(case.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn torn_at_every_offset_of_the_last_two_lines_each_case_is_recorded_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal.ndjson");
        let mut j = Journal::open(&p).expect("open");
        for ev in [start("a"), end("a"), start("b"), end("b")] {
            j.append(&ev).expect("append");
        }
        drop(j);
        let whole = std::fs::read(&p).expect("bytes");
        let lines: Vec<usize> = whole
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        // From the start of the last two lines to the whole file.
        let from = lines[lines.len() - 3];
        for cut in from..=whole.len() {
            std::fs::write(&p, &whole[..cut]).expect("tear");
            // What a resume sees as done …
            let done = ended(&read(&p).expect("read torn"));
            // … and what the writer keeps once it reopens the file.
            let mut j = Journal::open(&p).expect("reopen");
            assert_eq!(
                ended(&read(&p).expect("read reopened")),
                done,
                "cut at {cut}: the writer dropped a case the reader counted done"
            );
            for case in ["a", "b"] {
                if !done.iter().any(|d| d == case) {
                    j.append(&start(case)).expect("append");
                    j.append(&end(case)).expect("append");
                }
            }
            drop(j);
            let mut all = ended(&read(&p).expect("read resumed"));
            all.sort();
            assert_eq!(all, ["a", "b"], "cut at {cut}");
            let text = std::fs::read(&p).expect("bytes");
            assert_eq!(text.last(), Some(&b'\n'), "cut at {cut}");
        }
    }

    #[test]
    fn a_complete_event_without_its_newline_is_not_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal.ndjson");
        let mut line = serde_json::to_vec(&end("a")).expect("json");
        std::fs::write(&p, &line).expect("write");
        assert!(read(&p).expect("read").is_empty());
        line.push(b'\n');
        std::fs::write(&p, &line).expect("write");
        assert_eq!(ended(&read(&p).expect("read")), ["a"]);
    }

    #[test]
    fn a_line_longer_than_the_bound_is_named_not_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal.ndjson");
        let good = serde_json::to_vec(&start("a")).expect("json");
        let mut f = File::create(&p).expect("create");
        f.write_all(&good).expect("write");
        f.write_all(b"\n").expect("write");
        // Line 2: one byte more than a line may be, then its newline.
        let at = f.stream_position().expect("pos");
        f.set_len(at + MAX_LINE_BYTES as u64 + 1).expect("grow");
        f.seek(SeekFrom::End(0)).expect("end");
        f.write_all(b"\n").expect("write");
        f.write_all(&good).expect("write");
        f.write_all(b"\n").expect("write");
        drop(f);
        match read(&p) {
            Err(e @ JournalError::LineTooLong { line: 2, .. }) => {
                let m = e.to_string();
                assert!(m.contains(&p.display().to_string()), "{m}");
            }
            other => panic!("expected line 2 too long, got {other:?}"),
        }
        // A line exactly at the bound is read (and found not to be an event).
        let mut f = OpenOptions::new().write(true).open(&p).expect("open");
        f.set_len(at + MAX_LINE_BYTES as u64).expect("shrink");
        f.seek(SeekFrom::End(0)).expect("end");
        f.write_all(b"\n").expect("write");
        drop(f);
        assert!(matches!(
            read(&p),
            Err(JournalError::Corrupt { line: 2, .. })
        ));
    }

    #[test]
    fn a_failed_append_leaves_no_half_line_and_oversized_events_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal.ndjson");
        let mut j = Journal::open(&p).expect("open");
        j.append(&start("a")).expect("append");
        let big = Event::Measurement {
            time: now(),
            case: "a".into(),
            attempt: 1,
            name: "huge".into(),
            value: serde_json::Value::String("x".repeat(MAX_LINE_BYTES)),
        };
        let e = j.append(&big).expect_err("too long");
        assert!(e.to_string().contains("journal"), "{e}");
        j.append(&start("b")).expect("append after");
        let cases: Vec<String> = read(&p)
            .expect("read")
            .iter()
            .filter_map(|e| e.case().map(String::from))
            .collect();
        assert_eq!(cases, ["a", "b"]);
        // A journal at its bound takes no more events (its length as the writer counts it).
        j.len = MAX_JOURNAL_BYTES;
        assert!(matches!(
            j.append(&start("c")),
            Err(JournalError::TooLarge { writing: true, .. })
        ));
        let text = std::fs::read_to_string(&p).expect("text");
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    /// Run as a child process by the test of the same name: its file size limit cuts an
    /// append short part way.
    const CUT_SHORT_CHILD: &str = "PRINTRIG_JOURNAL_CUT_SHORT";

    #[test]
    fn an_append_cut_short_by_a_full_disk_leaves_no_half_line() {
        if let Ok(path) = std::env::var(CUT_SHORT_CHILD) {
            let mut j = Journal::open(Path::new(&path)).expect("open");
            j.append(&start("a")).expect("first event");
            let mut rl = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: plain system calls on a process running this one test.
            unsafe {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut rl), 0);
            }
            let was = rl.rlim_cur;
            // Ten bytes of the next event fit, then the write fails (EFBIG).
            rl.rlim_cur = j.len + 10;
            // SAFETY: as above.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &rl) }, 0);
            let e = j.append(&start("b")).expect_err("over the file size limit");
            let (_, source) = e.write_source().expect("a write error");
            assert!(crate::util::fsio::is_storage_full(source), "{e}");
            // Room again: the next event starts on a line of its own.
            rl.rlim_cur = was;
            // SAFETY: as above.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &rl) }, 0);
            j.append(&start("c")).expect("room again");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal.ndjson");
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "record::journal::tests::an_append_cut_short_by_a_full_disk_leaves_no_half_line",
                "--test-threads=1",
            ])
            .env(CUT_SHORT_CHILD, &p)
            .output()
            .expect("child runs");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cases: Vec<String> = read(&p)
            .expect("every line an event")
            .iter()
            .filter_map(|e| e.case().map(String::from))
            .collect();
        assert_eq!(cases, ["a", "c"]);
    }

    #[test]
    fn a_bad_line_in_the_middle_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal.ndjson");
        std::fs::write(&p, "{\"event\":\"nope\"}\n{}\n").expect("write");
        match read(&p) {
            Err(JournalError::Corrupt { line, .. }) => assert_eq!(line, 1),
            other => panic!("expected a corrupt-line error, got {other:?}"),
        }
    }
}

//! A whole `rig run`: load and check the files, expand (and shard) the cases, open or
//! resume the results directory, start simulated stations, drive every station, and
//! finish with the journal's last word and the reports. Ctrl-C stops at the next safe
//! point and leaves the run resumable.

use super::case::{CaseWork, Ctx, CycleAt, PowerCycle, Soak, Timeouts};
use super::preflight;
use super::runner::{execute, Policy, StationJob};
use super::stations::load_stations;
use crate::golden::check::Record;
use crate::golden::GoldenError;
use crate::plan::estimate::{estimate, Estimate};
use crate::plan::{self, CaseSpec, CycleWhen, PlanErrors, StationFile};
use crate::record::journal::{
    self, CaseInfo, Event, FileRef, GoldenRefs, InstrumentAnswer, Journal, JournalError,
};
use crate::record::layout::JOURNAL;
use crate::record::results::{from_events, RunResults};
use crate::record::RunLock;
use crate::report::files::{rebuild, ReportError};
use crate::report::progress::{Display, Progress};
use crate::util::clock::now_rfc3339_precise as now;
use crate::util::fsio::WriteFault;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Exit code of an interrupted run (the journal is left resumable).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Exit code of a run stopped because the rig could not write its own files (a full or
/// read-only disk, a quota, a file size limit, or its journal): the cases in progress are
/// not recorded, and `--resume` does them once there is room.
pub const EXIT_STORAGE: i32 = 4;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub plan: Option<PathBuf>,
    /// Station file; `None` = the embedded simulated stations.
    pub stations: Option<PathBuf>,
    /// Where run directories are created.
    pub results: PathBuf,
    /// Resume this run directory instead of starting a new one.
    pub resume: Option<PathBuf>,
    /// `(i, n)`: run only shard i of n (1-based).
    pub shard: Option<(u32, u32)>,
    /// Where golden records live (`<dir>/<model>/<pattern>.json`); `None`: `golden`, or
    /// for a resumed run the records it started with (checked unchanged).
    pub golden_dir: Option<PathBuf>,
    /// How progress is shown (bars in a terminal, lines in a log, or nothing).
    pub progress: Display,
    /// The history to record into; `None`: `history.sqlite` beside the run directories.
    pub history: Option<PathBuf>,
    /// Install this firmware version on every station before anything prints.
    pub firmware: Option<String>,
    /// The most cases a plan may expand to ([`plan::DEFAULT_MAX_CASES`] by default).
    pub max_cases: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Invalid(PlanErrors),
    #[error("cannot resume {dir}: {detail}")]
    Resume { dir: PathBuf, detail: String },
    #[error("cannot create the results directory {}: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the run stopped: {fault}. The cases in progress are not recorded: make room (or make the disk writable), then `rig run --resume {}`", dir.display())]
    Storage { dir: PathBuf, fault: WriteFault },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Lock(#[from] crate::record::LockError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("no plan given: pass a plan file, or --resume a run directory")]
    NoPlan,
    #[error("pre-flight: {} problem(s); the run did not start:\n  {}", problems.len(), problems.join("\n  "))]
    Preflight { problems: Vec<String> },
    #[error("golden records missing or unusable under {dir}: make the first ones on the rig with `rig golden capture PLAN --golden-dir {}` (then `rig golden review` and `rig golden accept`), bless scans with `rig golden bless`, or pass --golden-dir:\n  {}", dir.display(), missing.join("\n  "))]
    MissingGolden { dir: PathBuf, missing: Vec<String> },
}

impl RunError {
    /// Bad usage or invalid input (exit code 2) as opposed to a rig failure.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            RunError::Invalid(_)
                | RunError::Resume { .. }
                | RunError::NoPlan
                | RunError::MissingGolden { .. }
                | RunError::Preflight { .. }
                | RunError::Create { .. }
                | RunError::Lock(crate::record::LockError::Held { .. })
        )
    }

    /// The rig's own storage failed: the disk is full or read-only (or its journal could
    /// not be written) once the run had started.
    pub fn is_storage_fault(&self) -> bool {
        match self {
            RunError::Storage { .. } => true,
            RunError::Journal(e) => e
                .write_source()
                .is_some_and(|(_, source)| crate::util::fsio::is_storage_full(source)),
            _ => false,
        }
    }

    /// The exit code of a run that ended with this error: 2 bad usage or invalid input,
    /// [`EXIT_STORAGE`] the rig's own storage, 3 any other failure of the rig.
    pub fn exit_code(&self) -> i32 {
        if self.is_invalid_input() {
            2
        } else if self.is_storage_fault() {
            EXIT_STORAGE
        } else {
            3
        }
    }
}

pub struct RunOutcome {
    pub dir: PathBuf,
    pub results: RunResults,
    pub interrupted: bool,
    pub exit_code: i32,
    /// Where the run was recorded in the history, or why it was not.
    pub history: Result<PathBuf, String>,
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

fn new_run_id() -> String {
    let t = time::OffsetDateTime::now_utc();
    let salt = (t.nanosecond() ^ std::process::id().wrapping_mul(2_654_435_761)) & 0xFFFF;
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{salt:04x}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Where golden records are read from when `--golden-dir` is not given.
pub const DEFAULT_GOLDEN_DIR: &str = "golden";

fn absolute(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// The golden directory and every record of `paths` with its sha256, sorted.
fn golden_refs(dir: &Path, paths: HashSet<PathBuf>) -> GoldenRefs {
    let mut records: Vec<FileRef> = paths
        .into_iter()
        .map(|p| FileRef {
            path: absolute(&p),
            sha256: crate::util::sha256_file(&p).unwrap_or_else(|e| format!("unreadable: {e}")),
        })
        .collect();
    records.sort_by(|a, b| a.path.cmp(&b.path));
    GoldenRefs {
        dir: absolute(dir),
        records,
    }
}

/// How the golden records differ from those a run started with, in a sentence.
fn golden_difference(was: &GoldenRefs, now: &GoldenRefs) -> String {
    if was.dir != now.dir {
        return format!(
            "it was started with the golden records of {}, not {}",
            was.dir, now.dir
        );
    }
    let changed: Vec<&str> = now
        .records
        .iter()
        .filter(|r| !was.records.contains(r))
        .map(|r| r.path.as_str())
        .chain(
            was.records
                .iter()
                .filter(|r| !now.records.iter().any(|n| n.path == r.path))
                .map(|r| r.path.as_str()),
        )
        .collect();
    format!(
        "golden record(s) changed since the run started: {}",
        changed.join(", ")
    )
}

/// The page serial of a case: stable, from its id.
fn serial_of(id: &str) -> u16 {
    (plan::fnv1a64(id.as_bytes()) & 0xFFFF) as u16
}

/// A case's golden record under `golden_dir` (the plan names it `golden/<model>/…`).
fn golden_of(c: &CaseSpec, golden_dir: &Path) -> PathBuf {
    golden_dir.join(c.golden.strip_prefix("golden").unwrap_or(&c.golden))
}

fn work_of(c: &CaseSpec, golden_dir: &Path) -> CaseWork {
    let cond = &c.condition;
    CaseWork {
        info: info_of(c),
        pattern: c.pattern,
        serial: serial_of(&c.id),
        golden: golden_of(c, golden_dir),
        tolerances: c.tolerances,
        expected: c.expected.clone(),
        voltage: cond.voltage,
        soak: cond.chamber.map(|s| Soak {
            setpoint: s.setpoint,
            tolerance: s.tolerance,
            soak_s: s.soak_s,
            hold_s: s.hold_s,
            timeout_s: s.timeout_s,
        }),
        ink: cond.ink,
        paper: cond.paper,
        first_attempt: 1,
        ended_before: 0,
        failed_before: false,
        power_cycle: cond.power_cycle.map(|p| PowerCycle {
            at: match p.when {
                CycleWhen::Before => CycleAt::Before,
                CycleWhen::During { at } => CycleAt::During(at),
                CycleWhen::After => CycleAt::After,
            },
            off_s: p.off_s,
            resend: p.resend,
        }),
    }
}

fn info_of(c: &CaseSpec) -> CaseInfo {
    CaseInfo {
        id: c.id.clone(),
        station: c.station.clone(),
        model: c.model.clone(),
        dots: c.dots,
        pattern: c.pattern.name().into(),
        condition: c.condition.name.clone(),
        repeat: c.repeat,
    }
}

/// The attempts a case made before a resumed run.
#[derive(Debug, Default, Clone, Copy)]
struct Tried {
    /// The highest attempt number started (interrupted ones included).
    started: u32,
    /// Attempts that ended with a verdict.
    ended: u32,
    /// One of them failed or errored.
    bad: bool,
}

struct Loaded {
    dir: PathBuf,
    run_id: String,
    plan: plan::Plan,
    stations: StationFile,
    cases: Vec<CaseSpec>,
    done: HashSet<String>,
    /// Per case: the attempts it already started and ended.
    tried: BTreeMap<String, Tried>,
    resumed: bool,
    shard: Option<(u32, u32)>,
    /// Every case id of the plan, before sharding, in plan order.
    all_cases: Vec<String>,
    /// The firmware `--firmware` asked for when the run started (a resumed run keeps it).
    firmware: Option<String>,
    /// The run directory's lock, held until the run ends.
    lock: RunLock,
    /// The golden records a resumed run's journal says it judges by.
    golden: Option<GoldenRefs>,
}

impl Loaded {
    /// Gives up a run that had not started: a new run's directory is removed (it holds
    /// nothing but its lock and what pre-flight left), a resumed one is left as it was.
    fn abandon(self) {
        let Loaded {
            dir, lock, resumed, ..
        } = self;
        if resumed {
            return;
        }
        let lock_file = lock.path().to_path_buf();
        drop(lock);
        let _ = std::fs::remove_file(lock_file);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The firmware a resumed run keeps: the version it was started with (`--firmware`, as its
/// journal recorded it), which a `--firmware` given now must repeat.
fn resumed_firmware(
    started: Option<String>,
    asked: Option<&str>,
) -> Result<Option<String>, String> {
    match (started, asked) {
        (Some(s), Some(a)) if s != a => Err(format!(
            "it was started with --firmware {s}, not {a}: its remaining cases must print on \
             {s} (leave --firmware out to keep it)"
        )),
        (None, Some(a)) => Err(format!(
            "it was started without --firmware: its remaining cases must print on the \
             firmware its first ones did, not {a} (leave --firmware out)"
        )),
        (started, _) => Ok(started),
    }
}

fn load(opts: &RunOptions) -> Result<Loaded, RunError> {
    if let Some(dir) = &opts.resume {
        let resume_err = |detail: String| RunError::Resume {
            dir: dir.clone(),
            detail,
        };
        if !dir.join(JOURNAL).is_file() {
            return Err(resume_err(format!("it holds no {JOURNAL}")));
        }
        // Before the journal is read: a second resume waits for nothing, it is refused.
        let lock = RunLock::acquire(dir)?;
        // Nothing it writes or deletes may leave the directory through a planted link.
        let planted = crate::record::planted(dir);
        if !planted.is_empty() {
            return Err(resume_err(format!(
                "it holds what a run never makes there (nothing was written or deleted): {}",
                planted
                    .iter()
                    .map(|p| format!("{} is a {}", dir.join(&p.path).display(), p.why))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let events = journal::read(&dir.join(JOURNAL)).map_err(|e| resume_err(e.to_string()))?;
        // The temp files the processes before this one were writing when they died.
        let dead: Vec<u32> = lock
            .previous_holder()
            .into_iter()
            .chain(events.iter().filter_map(|e| match e {
                Event::Resumed { pid, .. } => Some(*pid),
                _ => None,
            }))
            .chain(std::iter::once(std::process::id()))
            .collect();
        let removed = crate::record::tidy::remove_dead_temps(dir, &dead);
        if !removed.is_empty() {
            tracing::info!(
                files = removed.len(),
                "removed temp files the run's earlier processes left"
            );
        }
        let Some(Event::RunStart {
            run_id,
            plan: plan_ref,
            stations: station_refs,
            shard,
            firmware: started_on,
            ..
        }) = events
            .iter()
            .find(|e| matches!(e, Event::RunStart { .. }))
            .cloned()
        else {
            return Err(resume_err("its journal has no run_start event".into()));
        };
        let firmware =
            resumed_firmware(started_on, opts.firmware.as_deref()).map_err(resume_err)?;
        let stations = match station_refs.first() {
            Some(s) if s.path.starts_with("embedded:") => {
                load_stations(None).map_err(RunError::Invalid)?
            }
            Some(s) => load_stations(Some(Path::new(&s.path))).map_err(RunError::Invalid)?,
            None => return Err(resume_err("its journal names no station file".into())),
        };
        if let Some(s) = station_refs.first() {
            if s.sha256 != stations.sha256 {
                return Err(resume_err(format!(
                    "the station file {} changed since the run started",
                    s.path
                )));
            }
        }
        let plan =
            plan::load_plan(Path::new(&plan_ref.path), &stations).map_err(RunError::Invalid)?;
        if plan.sha256 != plan_ref.sha256 {
            return Err(resume_err(format!(
                "the plan {} changed since the run started",
                plan_ref.path
            )));
        }
        plan::check_case_limit(&plan, &stations, opts.max_cases)
            .map_err(|e| RunError::Invalid(e.into()))?;
        let mut cases = plan::expand(&plan, &stations);
        let all_cases = cases.iter().map(|c| c.id.clone()).collect();
        if let Some((i, n)) = shard {
            cases = plan::shard(cases, i, n);
        }
        let done = events
            .iter()
            .filter_map(|e| match e {
                Event::CaseEnd {
                    case, last: true, ..
                } => Some(case.clone()),
                _ => None,
            })
            .collect();
        // A resumed case goes on with a new attempt after every one it started; those
        // that ended count against the retries.
        let mut tried: BTreeMap<String, Tried> = BTreeMap::new();
        for e in &events {
            match e {
                Event::CaseStart { case, attempt, .. } => {
                    let t = tried.entry(case.clone()).or_default();
                    t.started = t.started.max(*attempt);
                }
                Event::CaseEnd { case, verdict, .. } => {
                    let t = tried.entry(case.clone()).or_default();
                    t.ended += 1;
                    t.bad |= matches!(
                        verdict,
                        crate::verdict::Verdict::Fail | crate::verdict::Verdict::Error
                    );
                }
                _ => {}
            }
        }
        return Ok(Loaded {
            dir: dir.clone(),
            run_id,
            plan,
            stations,
            cases,
            done,
            tried,
            resumed: true,
            shard,
            all_cases,
            firmware,
            lock,
            golden: events.iter().rev().find_map(|e| match e {
                Event::GoldenChanged { golden, .. } => Some(golden.clone()),
                Event::RunStart { golden, .. } => golden.clone(),
                _ => None,
            }),
        });
    }
    let plan_path = opts.plan.clone().ok_or(RunError::NoPlan)?;
    let stations = load_stations(opts.stations.as_deref()).map_err(RunError::Invalid)?;
    let plan = plan::load_plan(&plan_path, &stations).map_err(RunError::Invalid)?;
    plan::check_case_limit(&plan, &stations, opts.max_cases)
        .map_err(|e| RunError::Invalid(e.into()))?;
    let mut cases = plan::expand(&plan, &stations);
    let all_cases = cases.iter().map(|c| c.id.clone()).collect();
    if let Some((i, n)) = opts.shard {
        cases = plan::shard(cases, i, n);
    }
    let run_id = new_run_id();
    let dir = opts.results.join(&run_id);
    std::fs::create_dir_all(&opts.results)
        .and_then(|_| std::fs::create_dir(&dir))
        .map_err(|source| RunError::Create {
            path: if opts.results.is_dir() {
                dir.clone()
            } else {
                opts.results.clone()
            },
            source,
        })?;
    let lock = RunLock::acquire(&dir)?;
    Ok(Loaded {
        dir,
        run_id,
        plan,
        stations,
        cases,
        done: HashSet::new(),
        tried: BTreeMap::new(),
        resumed: false,
        shard: opts.shard,
        all_cases,
        firmware: opts.firmware.clone(),
        lock,
        golden: None,
    })
}

/// The estimate of a plan on a station file (`None`: the embedded simulated stations),
/// without running anything; a plan of more than `max_cases` cases is refused.
pub fn plan_estimate(
    plan: &Path,
    stations: Option<&Path>,
    max_cases: u64,
) -> Result<Estimate, RunError> {
    let sf = load_stations(stations).map_err(RunError::Invalid)?;
    let p = plan::load_plan(plan, &sf).map_err(RunError::Invalid)?;
    plan::check_case_limit(&p, &sf, max_cases).map_err(|e| RunError::Invalid(e.into()))?;
    let cases = plan::expand(&p, &sf);
    let refs: Vec<&CaseSpec> = cases.iter().collect();
    Ok(estimate(&p, &sf, &refs))
}

/// Runs (or resumes) a plan.
pub async fn run(opts: RunOptions) -> Result<RunOutcome, RunError> {
    run_with(opts, |_| {}).await
}

/// What a run knows once pre-flight has passed: its estimate and, per station (in file
/// order), what its instruments said they are.
pub struct Started {
    pub estimate: Estimate,
    pub instruments: Vec<(String, Vec<InstrumentAnswer>)>,
}

/// [`run`], handing `on_start` what the run knows once pre-flight has passed, before the
/// first case starts (the edge prints it).
pub async fn run_with(
    opts: RunOptions,
    on_start: impl FnOnce(&Started),
) -> Result<RunOutcome, RunError> {
    let l = load(&opts)?;
    let golden_dir: PathBuf = match (&opts.golden_dir, &l.golden) {
        (Some(d), _) => d.clone(),
        (None, Some(g)) => PathBuf::from(&g.dir),
        (None, None) => PathBuf::from(DEFAULT_GOLDEN_DIR),
    };
    // Every golden record must load and fit its case's pattern before anything prints.
    let mut missing: Vec<String> = Vec::new();
    let mut checked: HashSet<PathBuf> = HashSet::new();
    for c in &l.cases {
        let p = golden_of(c, &golden_dir);
        if !checked.insert(p.clone()) {
            continue;
        }
        let fits = crate::pattern::render(c.pattern, c.dots, serial_of(&c.id))
            .map_err(crate::golden::check::CheckError::from)
            .and_then(|pattern| Ok(Record::load_for(&p, &pattern)?));
        match fits {
            Ok(_) => {}
            Err(crate::golden::check::CheckError::Golden(GoldenError::Mismatch {
                what, ..
            })) => missing.push(format!(
                "{} is for {what}, but {} prints {} at {} dots",
                p.display(),
                c.id,
                c.pattern,
                c.dots
            )),
            Err(e) => {
                let pending = crate::golden::pending::pending_path(
                    p.parent().unwrap_or(Path::new(".")),
                    c.pattern.name(),
                );
                let mut line = crate::util::error_chain(&e);
                if pending.exists() {
                    line.push_str(&format!(
                        " ({} is waiting: review and accept it)",
                        pending.display()
                    ));
                }
                missing.push(line);
            }
        }
    }
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        l.abandon();
        return Err(RunError::MissingGolden {
            dir: golden_dir.clone(),
            missing,
        });
    }
    // The records as they are now; a resumed run judges by the ones it started with.
    let golden_now = golden_refs(&golden_dir, checked);
    let golden_changed = match (&l.golden, l.resumed) {
        (Some(was), true) if *was != golden_now => {
            if opts.golden_dir.is_none() {
                return Err(RunError::Resume {
                    dir: l.dir.clone(),
                    detail: format!(
                        "{}: pass --golden-dir to judge its remaining cases by the records as \
                         they are now (it is recorded in the journal)",
                        golden_difference(was, &golden_now)
                    ),
                });
            }
            tracing::warn!(
                was = %was.dir,
                now = %golden_now.dir,
                "the remaining cases are judged by other golden records than the run started with"
            );
            Some(golden_now.clone())
        }
        (None, true) if opts.golden_dir.is_some() => Some(golden_now.clone()),
        _ => None,
    };
    let pending: Vec<&CaseSpec> = l.cases.iter().filter(|c| !l.done.contains(&c.id)).collect();
    // Group the pending cases by station, in file order.
    let mut by_station: BTreeMap<usize, Vec<&CaseSpec>> = BTreeMap::new();
    for c in &pending {
        if let Some(i) = l.stations.stations.iter().position(|s| s.name == c.station) {
            by_station.entry(i).or_default().push(c);
        }
    }
    // Pre-flight: every station that has cases to run is built and its instruments
    // checked before anything prints; one problem anywhere and the run does not start.
    let wanted = by_station
        .into_iter()
        .map(|(i, cases)| {
            let uses_supply = cases
                .iter()
                .any(|c| c.condition.ink.is_some() || c.condition.paper.is_some());
            (&l.stations.stations[i], uses_supply, cases)
        })
        .collect();
    // A new run installs the firmware asked for; a resumed one keeps what it started with.
    let firmware = match (&l.firmware, l.resumed) {
        (None, _) => preflight::Firmware::AsTheyAre,
        (Some(v), false) => preflight::Firmware::Install(v),
        (Some(v), true) => preflight::Firmware::Keep(v),
    };
    let preflight::Prepared {
        sims,
        ready,
        problems,
    } = preflight::prepare(wanted, &l.dir, firmware).await;
    if !problems.is_empty() {
        for s in sims {
            s.stop().await;
        }
        l.abandon();
        return Err(RunError::Preflight { problems });
    }
    on_start(&Started {
        estimate: estimate(&l.plan, &l.stations, &pending),
        instruments: ready
            .iter()
            .map(|(st, _, found, _)| {
                let mut said: Vec<InstrumentAnswer> = found
                    .identity
                    .iter()
                    .map(InstrumentAnswer::printer)
                    .collect();
                said.extend(found.answers.iter().cloned());
                (st.name.clone(), said)
            })
            .collect(),
    });
    let mut journal = Journal::open(&l.dir.join(JOURNAL))?;
    if l.resumed {
        journal.append(&Event::Resumed {
            time: now(),
            pid: std::process::id(),
            remaining: pending.iter().map(|c| c.id.clone()).collect(),
        })?;
        if let Some(golden) = golden_changed {
            journal.append(&Event::GoldenChanged {
                time: now(),
                golden,
            })?;
        }
    } else {
        let station_path = if opts.stations.is_some() {
            std::fs::canonicalize(&l.stations.path)
                .unwrap_or_else(|_| l.stations.path.clone())
                .display()
                .to_string()
        } else {
            format!("embedded:{}", l.stations.path.display())
        };
        journal.append(&Event::RunStart {
            time: now(),
            run_id: l.run_id.clone(),
            tool_version: crate::VERSION.into(),
            host: host(),
            plan: FileRef {
                path: std::fs::canonicalize(&l.plan.path)
                    .unwrap_or_else(|_| l.plan.path.clone())
                    .display()
                    .to_string(),
                sha256: l.plan.sha256.clone(),
            },
            plan_name: Some(l.plan.name.clone()),
            plan_description: l.plan.description.clone(),
            stations: vec![FileRef {
                path: station_path,
                sha256: l.stations.sha256.clone(),
            }],
            shard: l.shard,
            cases: l.cases.iter().map(info_of).collect(),
            plan_cases: if l.shard.is_some() {
                l.all_cases.clone()
            } else {
                Vec::new()
            },
            merged_from: Vec::new(),
            gate: serde_json::to_value(l.plan.gate).ok(),
            firmware: l.firmware.clone(),
            golden: Some(golden_now),
        })?;
    }
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            let term = async {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let term = std::future::pending::<()>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term => {}
            }
            tracing::warn!("interrupt: stopping at the next safe point");
            cancel.store(true, Ordering::SeqCst);
        });
    }
    let history_path = opts.history.clone().unwrap_or_else(|| {
        l.dir
            .parent()
            .unwrap_or(Path::new("."))
            .join(crate::history::FILE)
    });
    // The history starts from the journal as it stands (a resumed run's earlier events,
    // and this run's start).
    let so_far = journal::read(&l.dir.join(JOURNAL)).unwrap_or_default();
    let t = &l.plan.timeouts;
    let ctx = Arc::new(Ctx {
        run_dir: l.dir.clone(),
        journal: Arc::new(Mutex::new(journal)),
        timeouts: Timeouts {
            arrange: Duration::from_secs_f64(t.arrange),
            print: Duration::from_secs_f64(t.print),
            scan: Duration::from_secs_f64(t.scan),
            analyze: Duration::from_secs_f64(t.analyze),
        },
        cancel: cancel.clone(),
        compute: crate::util::compute::ComputeGate::per_core(),
        history: Some(Mutex::new(crate::history::Recorder::open(
            &history_path,
            &l.dir,
            so_far,
        ))),
        fault: Mutex::new(None),
    });
    // A simulated station that cannot write a scan for a full or read-only disk stops the
    // run at once (instead of every case waiting out its scan timeout).
    for s in &sims {
        let mut faults = s.storage_faults();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            while faults.changed().await.is_ok() {
                let fault = faults.borrow_and_update().clone();
                if let Some(fault) = fault {
                    ctx.halt(fault);
                    break;
                }
            }
        });
    }

    let mut jobs = Vec::new();
    for (st, rig, found, cases) in ready {
        if let Some(identity) = found.identity {
            ctx.record(Event::Firmware {
                time: now(),
                station: st.name.clone(),
                identity,
                instruments: found.answers,
            });
        }
        jobs.push(StationJob {
            rig,
            dots: st.printer.dots,
            cases: cases
                .into_iter()
                .map(|c| {
                    let mut w = work_of(c, &golden_dir);
                    if let Some(t) = l.tried.get(&c.id) {
                        w.first_attempt = t.started + 1;
                        w.ended_before = t.ended;
                        w.failed_before = t.bad;
                    }
                    w
                })
                .collect(),
        });
    }
    let total = jobs.iter().map(|j| j.cases.len() as u64).sum();
    let progress = Arc::new(Progress::new(total, opts.progress));
    let policy = Policy {
        retries: l.plan.retries,
        fail_on: l.plan.fail_on,
    };
    execute(jobs, ctx.clone(), policy, progress.clone()).await;
    progress.finish();
    for s in sims {
        s.stop().await;
    }
    let interrupted = cancel.load(Ordering::SeqCst);
    if let Some(fault) = ctx.fault() {
        // Nothing more is written but the journal's last word (when it still can be) and
        // the history: the reports wait for the resume, or `rig report`.
        let verdict = journal::read(&l.dir.join(JOURNAL))
            .map(|events| from_events(&events).verdict)
            .unwrap_or(crate::verdict::Verdict::Aborted);
        ctx.record(Event::RunEnd {
            time: now(),
            verdict,
            interrupted: true,
        });
        if let Some(h) = &ctx.history {
            let finished = match h.lock() {
                Ok(mut h) => h.finish(),
                Err(p) => p.into_inner().finish(),
            };
            if let Err(e) = finished {
                tracing::warn!(error = %e, "history not recorded");
            }
        }
        return Err(RunError::Storage { dir: l.dir, fault });
    }
    let events = journal::read(&l.dir.join(JOURNAL))?;
    let folded = from_events(&events);
    ctx.record(Event::RunEnd {
        time: now(),
        verdict: folded.verdict,
        interrupted,
    });
    let exit_code = if interrupted {
        EXIT_INTERRUPTED
    } else {
        folded.exit_code
    };
    // The whole run into the history, before the report that shows its trends.
    let history = match &ctx.history {
        Some(h) => match h.lock() {
            Ok(mut h) => h.finish(),
            Err(p) => p.into_inner().finish(),
        },
        None => Err("not recorded".into()),
    };
    // The verdict stands even if the report files cannot be written (a full disk): the
    // journal has everything and `rig report` rebuilds them.
    let report_history = history.as_ref().ok().map(PathBuf::as_path);
    let results = match rebuild(&l.dir, report_history) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %crate::util::error_chain(&e), "cannot write the reports");
            folded
        }
    };
    Ok(RunOutcome {
        dir: l.dir,
        results,
        interrupted,
        exit_code,
        history,
    })
}

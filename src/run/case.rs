//! One case on one station: arrange the stress, print, scan, analyse, judge, record. Every
//! step is bounded by its timeout and recorded in the journal; an instrument fault ends
//! the attempt as `error` with its cause, a printer that falls short as `fail`.

use crate::analysis::Defect;
use crate::defect::DefectKind;
use crate::escpos::encode::{encode_bitmap, EncodeError, EncodeOptions, Job};
use crate::golden::check::{self, Cut, Judging, Page, Record};
use crate::golden::{GoldenError, Judgement};
use crate::instrument::chamber::Chamber;
use crate::instrument::power::Power;
use crate::instrument::printer::{PrintReport, Printer};
use crate::instrument::scanner::Scanner;
use crate::instrument::supply::{Consumable, Supply};
use crate::instrument::InstrumentError;
use crate::pattern::{self, Pattern, PatternError, PatternKind};
use crate::record::journal::{CaseInfo, DefectNote, Event, Journal, Step};
use crate::record::layout::{attempt_dir, page_suffix, scan_stem};
use crate::report::overlay::{self, Marks};
use crate::report::progress::StationProgress;
use crate::util::clock::now_rfc3339_precise as now;
use crate::util::compute::ComputeError;
use crate::util::fsio::WriteFault;
use crate::verdict::Verdict;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When a power cycle happens relative to the job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CycleAt {
    Before,
    /// After this fraction of the job's bytes has gone out.
    During(f64),
    After,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerCycle {
    pub at: CycleAt,
    /// Station seconds the output stays off.
    pub off_s: f64,
    /// Send the job again once the printer is back.
    pub resend: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Soak {
    pub setpoint: f64,
    pub tolerance: f64,
    /// Station seconds: the soak before printing, the hold inside tolerance, the limit.
    pub soak_s: f64,
    pub hold_s: f64,
    pub timeout_s: f64,
}

/// A case resolved for running.
#[derive(Debug, Clone)]
pub struct CaseWork {
    pub info: CaseInfo,
    pub pattern: PatternKind,
    pub serial: u16,
    pub golden: PathBuf,
    /// The condition's overrides of the golden record's tolerances.
    pub tolerances: crate::plan::TolerancesOverride,
    pub expected: Vec<DefectKind>,
    pub voltage: Option<f64>,
    pub soak: Option<Soak>,
    pub ink: Option<f64>,
    pub paper: Option<f64>,
    pub power_cycle: Option<PowerCycle>,
    /// The number of the first attempt to run: 1, or for a resumed case the one after
    /// every attempt it started before (an interrupted attempt keeps its number and its
    /// folder, and the next one gets new ones).
    pub first_attempt: u32,
    /// Attempts of this case that ended with a verdict before this run (they count
    /// against the plan's retries; interrupted ones do not).
    pub ended_before: u32,
    /// An ended attempt of this case failed or errored (so a pass now is a recovery).
    pub failed_before: bool,
}

/// Step timeouts, wall seconds.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub arrange: Duration,
    pub print: Duration,
    pub scan: Duration,
    pub analyze: Duration,
}

/// A station's instruments, ready to drive.
pub struct Rig {
    pub name: String,
    pub printer: Box<dyn Printer>,
    pub power: Option<Box<dyn Power>>,
    pub chamber: Option<Box<dyn Chamber>>,
    pub scanner: Box<dyn Scanner>,
    pub supply: Option<Box<dyn Supply>>,
    /// Puts a firmware version on the printer (`rig run --firmware`).
    pub firmware: Option<Box<dyn crate::instrument::firmware::FirmwareInstaller>>,
    /// Station seconds per wall second (simulated stations run faster).
    pub time_scale: f64,
    /// What teardown restores on a supply that sets voltages.
    pub nominal_voltage: Option<f64>,
    pub ambient: f64,
    pub ack_timeout: Duration,
    pub boot_timeout: Duration,
    pub nominal_density: Option<f64>,
    /// Stress the last case left behind, undone by the next case that does not ask for it.
    pub stressed: Stressed,
    /// The soak the chamber finished and has been held at since (the chamber has not been
    /// set elsewhere after it): a later case at the same set point does not soak again.
    pub soaked: Option<Soak>,
}

/// What a case changed on the station.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stressed {
    pub chamber: bool,
    pub ink: bool,
    pub paper: bool,
}

impl Rig {
    pub(crate) fn wall(&self, station_s: f64) -> Duration {
        Duration::from_secs_f64((station_s / self.time_scale.max(1e-6)).max(0.0))
    }

    /// Brings the station back to a safe state: chamber to ambient, PSU to nominal and on.
    /// Best effort: every instrument is tried, the first error is returned.
    pub async fn teardown(&mut self) -> Result<(), InstrumentError> {
        let mut first: Option<InstrumentError> = None;
        if let Some(c) = self.chamber.as_mut() {
            if let Err(e) = c.set_point(self.ambient).await {
                first.get_or_insert(e);
            }
        }
        if let Some(s) = self.supply.as_mut() {
            for (changed, what) in [
                (self.stressed.ink, Consumable::Ink),
                (self.stressed.paper, Consumable::Paper),
            ] {
                if changed {
                    if let Err(e) = s.set_level(what, 1.0).await {
                        first.get_or_insert(e);
                    }
                }
            }
        }
        if let Some(p) = self.power.as_mut() {
            if let (Some(v), Some(nominal)) = (p.voltage(), self.nominal_voltage) {
                if let Err(e) = v.set_voltage(nominal).await {
                    first.get_or_insert(e);
                }
            }
            if let Err(e) = p.set_output(true).await {
                first.get_or_insert(e);
            }
        }
        self.soaked = None;
        if first.is_none() {
            self.stressed = Stressed::default();
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// What the runner shares with every case.
pub struct Ctx {
    pub run_dir: PathBuf,
    pub journal: Arc<Mutex<Journal>>,
    pub timeouts: Timeouts,
    pub cancel: Arc<AtomicBool>,
    /// The queue in front of decoding, analysing and encoding scans: one per core.
    pub compute: crate::util::compute::ComputeGate,
    /// The history the run records into, case by case (none: not recorded).
    pub history: Option<Mutex<crate::history::Recorder>>,
    /// The first of the rig's own files that could not be written (a full or read-only
    /// disk, or the journal): the run stops on it at once.
    pub fault: Mutex<Option<WriteFault>>,
}

impl Ctx {
    pub fn record(&self, ev: Event) {
        let mut j = match self.journal.lock() {
            Ok(j) => j,
            Err(p) => p.into_inner(),
        };
        if let Err(e) = j.append(&ev) {
            // Nothing may run off the record: the run stops, the case unrecorded.
            let fault = match e.write_source() {
                Some((path, source)) => WriteFault::new(path, source),
                None => WriteFault {
                    path: j.path().to_path_buf(),
                    detail: crate::util::error_chain(&e),
                },
            };
            drop(j);
            self.halt(fault);
            return;
        }
        drop(j);
        if let Some(h) = &self.history {
            let mut h = match h.lock() {
                Ok(h) => h,
                Err(p) => p.into_inner(),
            };
            h.note(&ev);
        }
    }

    /// Case `id` has its final verdict: into the history at once.
    pub fn case_done(&self, id: &str) {
        if let Some(h) = &self.history {
            let mut h = match h.lock() {
                Ok(h) => h,
                Err(p) => p.into_inner(),
            };
            h.case_done(id);
        }
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// Stops the run at once on a file of its own it cannot write: every step in progress
    /// ends as interrupted, no case in progress gets a verdict, and the run ends with the
    /// first such fault (see `start`).
    pub fn halt(&self, fault: WriteFault) {
        let mut f = match self.fault.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        if f.is_none() {
            tracing::error!(%fault, "the rig cannot write its own files: stopping the run");
            *f = Some(fault);
        } else {
            tracing::warn!(%fault, "another write failed while the run stops");
        }
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// The write fault the run stopped on, if any.
    pub fn fault(&self) -> Option<WriteFault> {
        match self.fault.lock() {
            Ok(f) => f.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub defects: Vec<DefectNote>,
    /// The rig fault that ended the attempt as `error`, with its causes.
    pub error: Option<String>,
}

/// The run was interrupted inside the attempt: the case stays unfinished.
pub struct Interrupted;

/// A rig fault: the rig could not judge the print, and the attempt ends as `error`.
#[derive(Debug, thiserror::Error)]
pub enum RigError {
    #[error(transparent)]
    Instrument(#[from] InstrumentError),
    #[error("{} step timed out after {:.0} s", step.name(), limit.as_secs_f64())]
    Timeout { step: Step, limit: Duration },
    #[error("{station}: no power control for a power cycle")]
    NoPowerControl { station: String },
    #[error("{station}: no chamber for a soak")]
    NoChamber { station: String },
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Golden(#[from] GoldenError),
    #[error(transparent)]
    Check(#[from] check::CheckError),
    #[error("analysis: {0}")]
    Compute(#[from] ComputeError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} failed: {source}")]
    Task {
        what: &'static str,
        source: tokio::task::JoinError,
    },
    #[error("cannot encode the overlay: {0}")]
    Overlay(String),
    #[error("no page was scanned")]
    NoPage,
}

impl RigError {
    /// The rig's own storage failing under this error (a full or read-only disk, a quota,
    /// a file size limit): not the printer's fault nor the instrument's, and the case must
    /// not be recorded as ended.
    pub fn storage_fault(&self) -> Option<WriteFault> {
        match self {
            RigError::Write { path, source } => WriteFault::storage(path, source),
            RigError::Instrument(InstrumentError::Storage { fault, .. }) => Some(fault.clone()),
            _ => None,
        }
    }
}

type StepResult<T> = Result<T, StepError>;

pub enum StepError {
    /// A rig fault: the case ends as `error`.
    Rig(RigError),
    Interrupted,
}

impl<E: Into<RigError>> From<E> for StepError {
    fn from(e: E) -> Self {
        StepError::Rig(e.into())
    }
}

async fn step<T, F>(
    ctx: &Ctx,
    watch: &StationProgress,
    case: &CaseWork,
    attempt: u32,
    s: Step,
    limit: Duration,
    fut: F,
) -> StepResult<T>
where
    F: Future<Output = StepResult<T>>,
{
    if ctx.cancelled() {
        return Err(StepError::Interrupted);
    }
    ctx.record(Event::StepStart {
        time: now(),
        case: case.info.id.clone(),
        attempt,
        step: s,
    });
    watch.step(&case.info.id, s.name());
    let t0 = Instant::now();
    let cancel = ctx.cancel.clone();
    let watch = async move {
        loop {
            if cancel.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let out = tokio::select! {
        r = tokio::time::timeout(limit, fut) => match r {
            Ok(r) => r,
            Err(_) => Err(StepError::Rig(RigError::Timeout { step: s, limit })),
        },
        _ = watch => Err(StepError::Interrupted),
    };
    ctx.record(Event::StepEnd {
        time: now(),
        case: case.info.id.clone(),
        attempt,
        step: s,
        duration_s: t0.elapsed().as_secs_f64(),
        ok: out.is_ok(),
        error: match &out {
            Err(StepError::Rig(e)) => Some(crate::util::error_chain(e)),
            Err(StepError::Interrupted) => Some("interrupted".into()),
            Ok(_) => None,
        },
    });
    out
}

/// Writes a case artifact atomically and records it. The write (with its two disk flushes)
/// and the hash run on a blocking thread, so they never stall the runtime threads that
/// drive the instruments.
async fn artifact(
    ctx: &Ctx,
    case: &CaseWork,
    attempt: u32,
    rel: &Path,
    bytes: Vec<u8>,
) -> StepResult<()> {
    let path = ctx.run_dir.join(rel);
    let run_dir = ctx.run_dir.clone();
    let rel_owned = rel.to_path_buf();
    let (sha256, len) = tokio::task::spawn_blocking(move || -> Result<(String, u64), RigError> {
        // Only into the run's own folders: never through a link planted in the run directory.
        crate::util::fsio::check_inside(&run_dir, &rel_owned).map_err(|e| RigError::Write {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
        })?;
        crate::util::fsio::write_atomic(&path, &bytes)
            .map_err(|source| RigError::Write { path, source })?;
        Ok((crate::util::sha256_hex(&bytes), bytes.len() as u64))
    })
    .await
    .map_err(|source| RigError::Task {
        what: "artifact write task",
        source,
    })??;
    ctx.record(Event::Artifact {
        time: now(),
        case: case.info.id.clone(),
        attempt,
        path: rel.to_string_lossy().into_owned(),
        sha256,
        bytes: len,
    });
    Ok(())
}

async fn power_off_on(rig: &mut Rig, off_s: f64) -> StepResult<()> {
    let off = rig.wall(off_s);
    let power = rig.power.as_mut().ok_or_else(|| RigError::NoPowerControl {
        station: rig.name.clone(),
    })?;
    power.set_output(false).await?;
    tokio::time::sleep(off).await;
    power.set_output(true).await?;
    rig.printer.reconnect(rig.boot_timeout).await?;
    Ok(())
}

/// Arranges the stress of the condition, and undoes the stress of the case before that
/// this condition does not ask for (a chamber left cold, a supply left low).
async fn arrange(
    rig: &mut Rig,
    ctx: &Ctx,
    watch: &StationProgress,
    case: &CaseWork,
    n: u32,
) -> StepResult<()> {
    if let Some(s) = rig.supply.as_mut() {
        let ink = case.ink.or(rig.stressed.ink.then_some(1.0));
        let paper = case.paper.or(rig.stressed.paper.then_some(1.0));
        if let Some(level) = ink {
            s.set_level(Consumable::Ink, level).await?;
        }
        if let Some(level) = paper {
            s.set_level(Consumable::Paper, level).await?;
        }
        rig.stressed.ink = case.ink.is_some_and(|l| l < 1.0);
        rig.stressed.paper = case.paper.is_some_and(|l| l < 1.0);
    }
    if let Some(p) = rig.power.as_mut() {
        let device = p.device().to_string();
        match (p.voltage(), case.voltage.or(rig.nominal_voltage)) {
            (Some(control), Some(v)) => control.set_voltage(v).await?,
            (None, Some(_)) if case.voltage.is_some() => {
                return Err(InstrumentError::Unsupported {
                    device,
                    what: "set a voltage".into(),
                }
                .into())
            }
            _ => {}
        }
        p.set_output(true).await?;
    }
    // The printer may still be booting (a power cycle that ended in an error).
    if rig.printer.status().await.is_err() {
        rig.printer.reconnect(rig.boot_timeout).await?;
    }
    let back_to_ambient = Soak {
        setpoint: rig.ambient,
        tolerance: 2.0,
        soak_s: 0.0,
        hold_s: 0.0,
        timeout_s: 3600.0,
    };
    let soak = case
        .soak
        .or(rig.stressed.chamber.then_some(back_to_ambient));
    if let Some(soak) = soak {
        let (hold, limit) = (
            rig.wall(soak.hold_s + soak.soak_s),
            rig.wall(soak.timeout_s),
        );
        let kept = rig.soaked.filter(|s| s.setpoint == soak.setpoint);
        let chamber = rig.chamber.as_mut().ok_or_else(|| RigError::NoChamber {
            station: rig.name.clone(),
        })?;
        // Soaked at this set point by an earlier case and held there since: when it still
        // reads within tolerance, the soak is not repeated.
        let reading = match kept {
            Some(_) => Some(chamber.temperature().await?),
            None => None,
        };
        let still = reading.filter(|t| (t - soak.setpoint).abs() <= soak.tolerance);
        if let Some(t) = still {
            ctx.record(Event::Measurement {
                time: now(),
                case: case.info.id.clone(),
                attempt: n,
                name: "soak.kept".into(),
                value: serde_json::json!({ "setpoint": soak.setpoint, "reading": t }),
            });
        } else {
            let poll = (hold / 20).clamp(Duration::from_millis(20), Duration::from_secs(5));
            // Until it is back at ambient, the chamber counts as moved.
            rig.stressed.chamber = true;
            rig.soaked = None;
            let started = now();
            watch.soak_begins(&case.info.id, soak.setpoint, soak.hold_s + soak.soak_s);
            let report = crate::instrument::chamber::soak::soak(
                chamber.as_mut(),
                soak.setpoint,
                soak.tolerance,
                hold,
                limit,
                poll,
                &mut |t| watch.chamber(&case.info.id, t, soak.setpoint),
            )
            .await?;
            ctx.record(Event::Measurement {
                time: now(),
                case: case.info.id.clone(),
                attempt: n,
                name: "soak".into(),
                value: serde_json::json!({
                    "setpoint": soak.setpoint,
                    "tolerance": soak.tolerance,
                    "started": started,
                    "reached_after_s": round3(report.reached_after.as_secs_f64() * rig.time_scale),
                    "held_s": soak.hold_s + soak.soak_s,
                    "last": report.last,
                    "readings": report.readings,
                }),
            });
            rig.soaked = Some(soak);
            rig.stressed.chamber = case.soak.is_some();
        }
    }
    if let Some(PowerCycle {
        at: CycleAt::Before,
        off_s,
        ..
    }) = case.power_cycle
    {
        power_off_on(rig, off_s).await?;
    }
    Ok(())
}

fn job_for(pattern: &Pattern) -> StepResult<Job> {
    Ok(encode_bitmap(&pattern.bitmap, &EncodeOptions::default())?)
}

/// The first `fraction` of a job: the bytes, and the bands complete within them.
fn job_prefix(job: &Job, fraction: f64) -> Job {
    let cut = ((job.bytes.len() as f64) * fraction.clamp(0.0, 1.0)) as usize;
    let mut j = job.clone();
    j.bytes.truncate(cut);
    j.bands.retain(|b| b.end <= cut);
    j.realtime_hazards.retain(|h| h.offset + 3 <= cut);
    j
}

/// What the print step saw: the report of each send (one, or two around a power cut) and
/// the printer's real-time status before and after.
struct Printed {
    reports: Vec<PrintReport>,
    before: crate::escpos::status::PrinterState,
    after: crate::escpos::status::PrinterState,
}

/// The printer's status after a job; a printer that reset under the job (a brownout)
/// gets its bounded boot time to answer again.
async fn status_after(rig: &mut Rig) -> StepResult<crate::escpos::status::PrinterState> {
    match rig.printer.status().await {
        Ok(s) => Ok(s),
        Err(first) => {
            tracing::info!(station = %rig.name, error = %first, "printer silent after the job: waiting for it");
            rig.printer.reconnect(rig.boot_timeout).await?;
            Ok(rig.printer.status().await?)
        }
    }
}

/// What the station's instruments read just before a job: the supply's voltage and
/// current (when it measures), the chamber's temperature, and the ink and paper levels the
/// case set (a supply control sets them and reads nothing back). A reading that fails is
/// recorded as its error: it never ends the case.
async fn applied_stress(rig: &mut Rig, case: &CaseWork) -> serde_json::Value {
    let mut v = serde_json::Map::new();
    if let Some(p) = rig.power.as_mut() {
        let read = match p.measure().await {
            Ok(Some((volts, amps))) => serde_json::json!({ "volts": volts, "amps": amps }),
            Ok(None) => serde_json::Value::Null,
            Err(e) => serde_json::json!({ "error": crate::util::error_chain(&e) }),
        };
        v.insert("power".into(), read);
    }
    if let Some(c) = rig.chamber.as_mut() {
        let read = match c.temperature().await {
            Ok(t) => serde_json::json!({ "celsius": t }),
            Err(e) => serde_json::json!({ "error": crate::util::error_chain(&e) }),
        };
        v.insert("chamber".into(), read);
    }
    if let Some(ink) = case.ink {
        v.insert("ink_set".into(), serde_json::json!(ink));
    }
    if let Some(paper) = case.paper {
        v.insert("paper_set".into(), serde_json::json!(paper));
    }
    serde_json::Value::Object(v)
}

/// Reads the status, prints (with the condition's power cycle), reads the status again.
async fn print(rig: &mut Rig, case: &CaseWork, job: &Job) -> StepResult<Printed> {
    rig.scanner.arm().await?;
    let before = rig.printer.status().await?;
    let mut reports = Vec::new();
    match case.power_cycle {
        Some(PowerCycle {
            at: CycleAt::During(f),
            off_s,
            resend,
        }) => {
            let part = job_prefix(job, f);
            reports.push(rig.printer.print(&part, rig.ack_timeout).await?);
            power_off_on(rig, off_s).await?;
            if resend {
                reports.push(rig.printer.print(job, rig.ack_timeout).await?);
            }
        }
        Some(PowerCycle {
            at: CycleAt::After,
            off_s,
            resend,
        }) => {
            reports.push(rig.printer.print(job, rig.ack_timeout).await?);
            power_off_on(rig, off_s).await?;
            if resend {
                reports.push(rig.printer.print(job, rig.ack_timeout).await?);
            }
        }
        _ => reports.push(rig.printer.print(job, rig.ack_timeout).await?),
    }
    let after = status_after(rig).await?;
    Ok(Printed {
        reports,
        before,
        after,
    })
}

/// The pages a case expects to come out. Around a power cut mid-job, the torn first page
/// exists only if some band printed before the cut (a printer prints a raster band once it
/// has all of it), and the reprint only if the job is sent again.
fn pages_expected(case: &CaseWork, reports: &[PrintReport]) -> usize {
    match case.power_cycle {
        Some(PowerCycle {
            at: CycleAt::During(_),
            resend,
            ..
        }) => {
            let torn = reports.first().is_some_and(|r| !r.bands_printed.is_empty());
            usize::from(torn) + usize::from(resend)
        }
        Some(PowerCycle {
            at: CycleAt::After,
            resend: true,
            ..
        }) => 2,
        _ => 1,
    }
}

/// A page checked, with the files the report shows of it.
struct Checked {
    page: Page,
    json: String,
    overlay: Vec<u8>,
    thumb: Vec<u8>,
}

/// Checks one scan through the one scan-check path and draws its overlay and thumbnail.
fn check_page(
    scan: &Path,
    bytes: Option<&[u8]>,
    pattern: &Pattern,
    record: &Record,
    judging: &Judging,
) -> Result<Checked, RigError> {
    let page = check::check_scan(scan, bytes, pattern, Some(record), judging)?;
    let json = crate::report::analysis_json(&page.analysis, &page.judgement);
    let png = |i: &overlay::Overlay| overlay::png(i).map_err(RigError::Overlay);
    let marks = Marks::of(&page.judgement, &judging.expected);
    let overlay = png(&overlay::draw(&page.scan, &page.analysis, marks))?;
    let thumb = png(&overlay::draw_sized(&page.scan, &page.analysis, marks, 360))?;
    Ok(Checked {
        page,
        json,
        overlay,
        thumb,
    })
}

/// The page's defects as the journal keeps them.
fn notes(defects: &[Defect], expected: &[DefectKind]) -> Vec<DefectNote> {
    defects
        .iter()
        .map(|d| DefectNote {
            kind: d.kind,
            severity: d.severity,
            axis: d.axis,
            start: d.start,
            end: d.end,
            depth: d.depth,
            detail: d.detail.clone(),
            hint: d.hint.into(),
            expected: expected.contains(&d.kind),
        })
        .collect()
}

/// An attempt that ended with a judgement but no page to analyse.
fn judged(j: Judgement, expected: &[DefectKind]) -> AttemptResult {
    AttemptResult {
        verdict: j.verdict,
        defects: notes(&j.defects, expected),
        reasons: j.reasons,
        error: None,
    }
}

/// Runs one attempt of a case.
pub async fn attempt(
    rig: &mut Rig,
    ctx: &Ctx,
    watch: &StationProgress,
    case: &CaseWork,
    dots: u32,
    attempt: u32,
) -> Result<AttemptResult, Interrupted> {
    let id = case.info.id.clone();
    ctx.record(Event::CaseStart {
        time: now(),
        case: id.clone(),
        attempt,
    });
    let result = attempt_steps(rig, ctx, watch, case, dots, attempt).await;
    let out = match result {
        Ok(r) => r,
        Err(StepError::Interrupted) => return Err(Interrupted),
        Err(StepError::Rig(e)) if e.storage_fault().is_some() => {
            // A full or read-only disk ends the run, not the case: the resumed run does
            // the case again once there is room.
            if let Some(fault) = e.storage_fault() {
                ctx.halt(fault);
            }
            return Err(Interrupted);
        }
        Err(StepError::Rig(e)) => {
            let e = crate::util::error_chain(&e);
            AttemptResult {
                verdict: Verdict::Error,
                reasons: vec![format!("rig error: {e}")],
                defects: Vec::new(),
                error: Some(e),
            }
        }
    };
    Ok(out)
}

async fn attempt_steps(
    rig: &mut Rig,
    ctx: &Ctx,
    watch: &StationProgress,
    case: &CaseWork,
    dots: u32,
    n: u32,
) -> StepResult<AttemptResult> {
    let t = ctx.timeouts;
    let dir = attempt_dir(&case.info.id, n);
    step(
        ctx,
        watch,
        case,
        n,
        Step::Arrange,
        t.arrange,
        arrange(rig, ctx, watch, case, n),
    )
    .await?;

    let pattern = pattern::render(case.pattern, dots, case.serial)?;
    let job = job_for(&pattern)?;
    artifact(ctx, case, n, &dir.join("job.bin"), job.bytes.clone()).await?;
    // The stress as applied, read back from the instruments just before the job.
    let applied = applied_stress(rig, case).await;
    ctx.record(Event::Measurement {
        time: now(),
        case: case.info.id.clone(),
        attempt: n,
        name: "stress.applied".into(),
        value: applied,
    });
    let printed = step(
        ctx,
        watch,
        case,
        n,
        Step::Print,
        t.print,
        print(rig, case, &job),
    )
    .await?;
    for (name, st) in [
        ("status.before", &printed.before),
        ("status.after", &printed.after),
    ] {
        ctx.record(Event::Measurement {
            time: now(),
            case: case.info.id.clone(),
            attempt: n,
            name: name.into(),
            value: serde_json::to_value(st).unwrap_or_default(),
        });
    }
    for (i, r) in printed.reports.iter().enumerate() {
        ctx.record(Event::Measurement {
            time: now(),
            case: case.info.id.clone(),
            attempt: n,
            name: format!("print.{}", i + 1),
            value: serde_json::to_value(r).unwrap_or_default(),
        });
    }

    // A printer that answers but printed no band of a job sent whole rejected it: there
    // is no page to wait for, and the print is blank.
    if case.power_cycle.is_none()
        && printed
            .reports
            .iter()
            .all(|r| r.bands_printed.is_empty() && r.stopped.is_some())
    {
        let why = printed
            .reports
            .iter()
            .filter_map(|r| r.stopped.clone())
            .collect::<Vec<_>>()
            .join("; ");
        return Ok(judged(check::rejected_job(&why), &case.expected));
    }
    let pages = pages_expected(case, &printed.reports);
    if pages == 0 {
        return Ok(judged(check::no_page_after_cut(), &case.expected));
    }
    let scan_dir = ctx.run_dir.join(&dir);
    crate::util::fsio::check_inside(&ctx.run_dir, &dir).map_err(|e| RigError::Write {
        path: scan_dir.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
    })?;
    let scans = step(ctx, watch, case, n, Step::Scan, t.scan, async {
        let mut v = Vec::new();
        for i in 1..=pages {
            v.push(rig.scanner.scan(&scan_dir, &scan_stem(i, pages)).await?);
        }
        Ok(v)
    })
    .await?;
    // Each scan file is read once (on a blocking thread): hashed for the journal here,
    // decoded by the analysis. One that cannot be read is reported by the analysis.
    let hashed = tokio::task::spawn_blocking(move || {
        scans
            .into_iter()
            .map(|s| {
                let bytes =
                    crate::util::fsio::read_bounded(&s, crate::scanfile::MAX_SCAN_BYTES).ok();
                let sha256 = bytes.as_deref().map(crate::util::sha256_hex);
                (s, bytes, sha256)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|source| RigError::Task {
        what: "reading the scans",
        source,
    })?;
    let mut read = Vec::with_capacity(hashed.len());
    for (s, bytes, sha256) in hashed {
        if let (Some(bytes), Some(sha256), Ok(rel)) = (&bytes, sha256, s.strip_prefix(&ctx.run_dir))
        {
            ctx.record(Event::Artifact {
                time: now(),
                case: case.info.id.clone(),
                attempt: n,
                path: rel.to_string_lossy().into_owned(),
                sha256,
                bytes: bytes.len() as u64,
            });
        }
        read.push((s, bytes));
    }

    let record = Record::load_for(&case.golden, &pattern)?;
    let nominal = rig.nominal_density;
    let work = case.clone();
    let compute = ctx.compute.clone();
    let checked = step(ctx, watch, case, n, Step::Analyze, t.analyze, async move {
        let pages = compute
            .run(move || -> Result<Vec<Checked>, RigError> {
                let cut_mid_job = matches!(
                    work.power_cycle,
                    Some(PowerCycle {
                        at: CycleAt::During(_),
                        ..
                    })
                );
                let resent = work.power_cycle.is_some_and(|p| p.resend);
                let count = read.len();
                let tolerances = Some(work.tolerances.apply(record.golden.tolerances));
                let mut out = Vec::new();
                for (i, (s, bytes)) in read.into_iter().enumerate() {
                    let cut = if !cut_mid_job {
                        Cut::None
                    } else if i + 1 < count || !resent {
                        Cut::Torn
                    } else {
                        Cut::Reprint
                    };
                    let judging = Judging {
                        nominal_density: nominal,
                        tolerances,
                        expected: check::expected_on_page(&work.expected, cut),
                    };
                    out.push(check_page(
                        &s,
                        bytes.as_deref(),
                        &pattern,
                        &record,
                        &judging,
                    )?);
                }
                Ok(out)
            })
            .await??;
        Ok(pages)
    })
    .await?;

    let mut last = None;
    for (i, mut c) in checked.into_iter().enumerate() {
        let suffix = page_suffix(i + 1, pages);
        artifact(
            ctx,
            case,
            n,
            &dir.join(format!("analysis{suffix}.json")),
            c.json.as_bytes().to_vec(),
        )
        .await?;
        artifact(
            ctx,
            case,
            n,
            &dir.join(format!("overlay{suffix}.png")),
            std::mem::take(&mut c.overlay),
        )
        .await?;
        // The report shows the page the verdict is about (the last one) as the case's,
        // and the pages before it (a power cut's torn page) beside it.
        let thumb = std::mem::take(&mut c.thumb);
        if i + 1 == pages {
            if pages > 1 {
                let json = c.json.as_bytes().to_vec();
                artifact(ctx, case, n, &dir.join("analysis.json"), json).await?;
            }
            artifact(ctx, case, n, &dir.join("thumb.png"), thumb).await?;
        } else {
            let name = format!("thumb{suffix}.png");
            artifact(ctx, case, n, &dir.join(name), thumb).await?;
        }
        ctx.record(Event::Measurement {
            time: now(),
            case: case.info.id.clone(),
            attempt: n,
            name: format!("page.{}", i + 1),
            value: serde_json::json!({
                "verdict": c.page.judgement.verdict,
                "defects": c.page.judgement.defects.iter().map(|d| d.kind).collect::<Vec<_>>(),
                "printed_rows": c.page.analysis.printed_rows,
                "solid_density": c.page.analysis.calibration.as_ref().map(|x| x.solid_density),
            }),
        });
        last = Some(c);
    }
    let Some(c) = last else {
        return Err(RigError::NoPage.into());
    };
    Ok(judged(c.page.judgement, &case.expected))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

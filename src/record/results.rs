//! Run results rebuilt from the journal: per case, its last attempt's verdict, every
//! attempt, its artifacts and measurements; per run, the verdict and the counts. Pure: the
//! caller reads the journal; this only folds its events.

use super::{CaseInfo, DefectNote, Event, FileRef, InstrumentAnswer};
use crate::verdict::Verdict;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub attempt: u32,
    pub verdict: Verdict,
    /// The attempt ended with a verdict; false for one the run was interrupted in (or is
    /// still in).
    pub ended: bool,
    pub reasons: Vec<String>,
    pub error: Option<String>,
    pub steps: Vec<StepTime>,
    /// The files the attempt wrote, relative to the run directory (its own folder).
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepTime {
    pub step: String,
    pub duration_s: f64,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactRef {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    #[serde(flatten)]
    pub info: CaseInfo,
    /// None while the case has not finished (interrupted run).
    pub verdict: Option<Verdict>,
    pub recovered: bool,
    pub reasons: Vec<String>,
    pub defects: Vec<DefectNote>,
    pub error: Option<String>,
    pub firmware: Option<String>,
    pub attempts: Vec<Attempt>,
    pub artifacts: Vec<ArtifactRef>,
    pub measurements: BTreeMap<String, serde_json::Value>,
    pub duration_s: f64,
}

impl CaseResult {
    /// The attempt the verdict is about: the last one that ended (the last one begun when
    /// none has).
    pub fn shown_attempt(&self) -> u32 {
        self.attempts
            .iter()
            .rev()
            .find(|a| a.ended)
            .or(self.attempts.last())
            .map_or(1, |a| a.attempt)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub cases: usize,
    pub pass: usize,
    pub marginal: usize,
    pub fail: usize,
    pub error: usize,
    pub aborted: usize,
    pub unfinished: usize,
    pub recovered: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResults {
    pub schema: &'static str,
    pub run_id: String,
    pub started: String,
    pub ended: Option<String>,
    pub interrupted: bool,
    /// The run was resumed after an interrupt (how many times).
    pub resumed: u32,
    pub tool_version: String,
    pub host: String,
    pub plan: Option<FileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_description: Option<String>,
    pub stations: Vec<FileRef>,
    pub shard: Option<(u32, u32)>,
    /// The shard runs a merged run was joined from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    pub firmware: BTreeMap<String, String>,
    /// Per station, what its instruments said they are when the run started: the
    /// printer first (maker, model, firmware, serial), then the others' pre-flight
    /// answers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub instruments: BTreeMap<String, Vec<InstrumentAnswer>>,
    pub verdict: Verdict,
    pub exit_code: i32,
    pub counts: Counts,
    pub cases: Vec<CaseResult>,
    /// What the report left out of the manifest: symlinks, FIFOs, devices and files that
    /// could not be read in the run directory (never followed or opened).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<super::manifest::Skipped>,
}

pub const SCHEMA: &str = "printrig.summary/1";

/// Folds journal events into results. Events of a case after its last attempt (a resumed
/// run re-running it) replace the earlier ones.
pub fn from_events(events: &[Event]) -> RunResults {
    let mut r = RunResults {
        schema: SCHEMA,
        run_id: String::new(),
        started: String::new(),
        ended: None,
        interrupted: false,
        resumed: 0,
        tool_version: String::new(),
        host: String::new(),
        plan: None,
        plan_name: None,
        plan_description: None,
        stations: Vec::new(),
        shard: None,
        merged_from: Vec::new(),
        firmware: BTreeMap::new(),
        instruments: BTreeMap::new(),
        verdict: Verdict::Pass,
        exit_code: 0,
        counts: Counts::default(),
        cases: Vec::new(),
        skipped: Vec::new(),
    };
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for ev in events {
        match ev {
            Event::RunStart {
                time,
                run_id,
                tool_version,
                host,
                plan,
                plan_name,
                plan_description,
                stations,
                shard,
                cases,
                merged_from,
                ..
            } => {
                r.run_id = run_id.clone();
                r.started = time.clone();
                r.tool_version = tool_version.clone();
                r.host = host.clone();
                r.plan = Some(plan.clone());
                r.plan_name = plan_name.clone();
                r.plan_description = plan_description.clone();
                r.stations = stations.clone();
                r.shard = *shard;
                r.merged_from = merged_from.clone();
                for c in cases {
                    if !index.contains_key(&c.id) {
                        index.insert(c.id.clone(), r.cases.len());
                        r.cases.push(CaseResult {
                            info: c.clone(),
                            verdict: None,
                            recovered: false,
                            reasons: Vec::new(),
                            defects: Vec::new(),
                            error: None,
                            firmware: None,
                            attempts: Vec::new(),
                            artifacts: Vec::new(),
                            measurements: BTreeMap::new(),
                            duration_s: 0.0,
                        });
                    }
                }
            }
            Event::Firmware {
                station,
                identity,
                instruments,
                ..
            } => {
                r.firmware
                    .insert(station.clone(), identity.firmware.clone());
                let mut said = vec![InstrumentAnswer::printer(identity)];
                said.extend(instruments.iter().cloned());
                r.instruments.insert(station.clone(), said);
            }
            // Which golden records the rest of the run judged by: in the journal, for whoever
            // needs to know; the results are the verdicts.
            Event::GoldenChanged { .. } => {}
            Event::Resumed { .. } => {
                r.resumed += 1;
                r.interrupted = false;
                r.ended = None;
            }
            Event::CaseStart { case, attempt, .. } => {
                if let Some(c) = index.get(case).map(|&i| &mut r.cases[i]) {
                    // An attempt started again (the run was killed inside it and resumed)
                    // replaces its unfinished record.
                    c.attempts.retain(|a| a.attempt < *attempt);
                    c.measurements.clear();
                    c.verdict = None;
                    c.attempts.push(Attempt {
                        attempt: *attempt,
                        verdict: Verdict::Aborted,
                        ended: false,
                        reasons: Vec::new(),
                        error: None,
                        steps: Vec::new(),
                        files: Vec::new(),
                    });
                }
            }
            Event::StepEnd {
                case,
                step,
                duration_s,
                ok,
                error,
                ..
            } => {
                if let Some(c) = index.get(case).map(|&i| &mut r.cases[i]) {
                    c.duration_s += duration_s;
                    if let Some(a) = c.attempts.last_mut() {
                        a.steps.push(StepTime {
                            step: step.name().into(),
                            duration_s: *duration_s,
                            ok: *ok,
                            error: error.clone(),
                        });
                    }
                }
            }
            Event::Measurement {
                case, name, value, ..
            } => {
                if let Some(c) = index.get(case).map(|&i| &mut r.cases[i]) {
                    c.measurements.insert(name.clone(), value.clone());
                }
            }
            Event::Artifact {
                case,
                attempt,
                path,
                sha256,
                bytes,
                ..
            } => {
                if let Some(c) = index.get(case).map(|&i| &mut r.cases[i]) {
                    if let Some(a) = c.attempts.iter_mut().find(|a| a.attempt == *attempt) {
                        if !a.files.contains(path) {
                            a.files.push(path.clone());
                        }
                    }
                    c.artifacts.retain(|a| a.path != *path);
                    c.artifacts.push(ArtifactRef {
                        path: path.clone(),
                        sha256: sha256.clone(),
                        bytes: *bytes,
                    });
                }
            }
            Event::CaseEnd {
                case,
                verdict,
                last,
                recovered,
                reasons,
                defects,
                error,
                ..
            } => {
                if let Some(c) = index.get(case).map(|&i| &mut r.cases[i]) {
                    if let Some(a) = c.attempts.last_mut() {
                        a.verdict = *verdict;
                        a.ended = true;
                        a.reasons = reasons.clone();
                        a.error = error.clone();
                    }
                    if *last {
                        c.verdict = Some(*verdict);
                        c.recovered = *recovered;
                        c.reasons = reasons.clone();
                        c.defects = defects.clone();
                        c.error = error.clone();
                    }
                }
            }
            Event::RunEnd {
                time, interrupted, ..
            } => {
                r.ended = Some(time.clone());
                r.interrupted = *interrupted;
            }
            Event::StepStart { .. } => {}
        }
    }
    for c in &mut r.cases {
        c.firmware = r.firmware.get(&c.info.station).cloned();
    }
    let mut counts = Counts {
        cases: r.cases.len(),
        ..Counts::default()
    };
    for c in &r.cases {
        match c.verdict {
            Some(Verdict::Pass) => counts.pass += 1,
            Some(Verdict::Marginal) => counts.marginal += 1,
            Some(Verdict::Fail) => counts.fail += 1,
            Some(Verdict::Error) => counts.error += 1,
            Some(Verdict::Aborted) => counts.aborted += 1,
            None => counts.unfinished += 1,
        }
        counts.recovered += usize::from(c.recovered);
    }
    let verdicts: Vec<Verdict> = r
        .cases
        .iter()
        .map(|c| c.verdict.unwrap_or(Verdict::Aborted))
        .collect();
    r.verdict = Verdict::worst(verdicts.iter().copied());
    r.exit_code = crate::verdict::run_exit_code(verdicts);
    r.counts = counts;
    r
}

//! What the gate weighs: every print of the runs it is given, read through `record` (the
//! journal folded into results) and the history's key measurements of the attempt each
//! verdict is about, plus what each run says of itself (plan, firmware, margins).
//!
//! Reads run directories and the history database; writes nothing and decides nothing.

use super::GateError;
use crate::history::rows::{key_measures, KeyMeasures};
use crate::history::{query, History};
use crate::plan::GateMargins;
use crate::record::journal::{self, Event};
use crate::record::results::{from_events, CaseResult};
use crate::record::JOURNAL;
use crate::verdict::Verdict;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What pairs a baseline print with a candidate print: the same printer model, pattern and
/// condition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PairKey {
    pub model: String,
    /// `None`: every pattern of the model and condition together (the solid density, one
    /// property of the printer that every page carries).
    pub pattern: Option<String>,
    pub condition: String,
}

impl std::fmt::Display for PairKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.model,
            self.pattern.as_deref().unwrap_or("all patterns"),
            self.condition
        )
    }
}

/// One finished case of a run: a print and what was measured on it.
#[derive(Debug, Clone)]
pub struct Print {
    pub run_id: String,
    pub case_id: String,
    pub key: PairKey,
    pub verdict: Verdict,
    /// Kinds of the defects found that the condition did not expect.
    pub defects: BTreeSet<String>,
    pub measures: KeyMeasures,
    /// The print step of the attempt the verdict is about, seconds.
    pub print_s: Option<f64>,
}

/// A run as the gate reads it.
#[derive(Debug, Clone, Serialize)]
pub struct RunRef {
    pub run_id: String,
    pub dir: PathBuf,
    /// The plan's name (its file name for journals from before names were kept).
    pub plan: String,
    /// Firmware versions its printers reported, each once.
    pub firmware: Vec<String>,
    #[serde(skip)]
    pub margins: Option<GateMargins>,
}

/// A print left out of the comparison, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Excluded {
    pub run_id: String,
    pub case_id: String,
    pub why: String,
    /// Lost to an error or an interrupt (evidence missing), as opposed to a print of
    /// another firmware that simply does not belong to this side.
    pub lost: bool,
}

/// The runs of one side (baseline or candidate) and their prints.
#[derive(Debug, Clone, Default)]
pub struct SideRuns {
    pub runs: Vec<RunRef>,
    pub prints: Vec<Print>,
    /// Pairs that had a case on this side, whatever became of it.
    pub keys: BTreeSet<PairKey>,
    pub excluded: Vec<Excluded>,
}

fn print_seconds(case: &CaseResult) -> Option<f64> {
    let shown = case.shown_attempt();
    case.attempts
        .iter()
        .find(|a| a.attempt == shown)?
        .steps
        .iter()
        .find(|s| s.step == "print" && s.ok)
        .map(|s| s.duration_s)
        .filter(|s| s.is_finite())
}

/// Reads the runs in `dirs`; with `firmware`, only the prints made on that firmware count
/// (the others are listed as excluded).
pub fn load(dirs: &[PathBuf], firmware: Option<&str>) -> Result<SideRuns, GateError> {
    let mut side = SideRuns::default();
    for dir in dirs {
        load_run(dir, firmware, &mut side)?;
    }
    Ok(side)
}

fn load_run(dir: &Path, only: Option<&str>, side: &mut SideRuns) -> Result<(), GateError> {
    let events = journal::read(&dir.join(JOURNAL)).map_err(|source| GateError::NotARun {
        dir: dir.to_path_buf(),
        source,
    })?;
    let Some(Event::RunStart { gate, .. }) =
        events.iter().find(|e| matches!(e, Event::RunStart { .. }))
    else {
        return Err(GateError::NoRunStart {
            dir: dir.to_path_buf(),
        });
    };
    let margins = match gate {
        Some(v) => Some(
            serde_json::from_value::<GateMargins>(v.clone()).map_err(|e| GateError::Margins {
                dir: dir.to_path_buf(),
                detail: e.to_string(),
            })?,
        ),
        None => None,
    };
    let results = from_events(&events);
    if side.runs.iter().any(|r| r.run_id == results.run_id) {
        return Err(GateError::SameRunTwice {
            run_id: results.run_id,
            dir: dir.to_path_buf(),
        });
    }
    let plan = results.plan_name.clone().unwrap_or_else(|| {
        results
            .plan
            .as_ref()
            .and_then(|p| Path::new(&p.path).file_stem())
            .map_or_else(|| "?".into(), |s| s.to_string_lossy().into_owned())
    });
    let firmware: BTreeSet<String> = results.firmware.values().cloned().collect();
    side.runs.push(RunRef {
        run_id: results.run_id.clone(),
        dir: dir.to_path_buf(),
        plan,
        firmware: firmware.into_iter().collect(),
        margins,
    });
    for case in &results.cases {
        let key = PairKey {
            model: case.info.model.clone(),
            pattern: Some(case.info.pattern.clone()),
            condition: case.info.condition.clone(),
        };
        side.keys.insert(key.clone());
        let exclude = |why: String| Excluded {
            run_id: results.run_id.clone(),
            case_id: case.info.id.clone(),
            why,
            lost: true,
        };
        if let (Some(want), Some(ran)) = (only, case.firmware.as_deref()) {
            if want != ran {
                side.excluded.push(Excluded {
                    lost: false,
                    ..exclude(format!("printed on firmware {ran}, not {want}"))
                });
                continue;
            }
        }
        let verdict = match case.verdict {
            None => {
                side.excluded
                    .push(exclude("did not finish (the run was interrupted)".into()));
                continue;
            }
            Some(v @ (Verdict::Error | Verdict::Aborted)) => {
                let why = case
                    .error
                    .clone()
                    .unwrap_or_else(|| case.reasons.join("; "));
                side.excluded.push(exclude(format!(
                    "{v}: {why} (an instrument fault is no evidence about firmware)"
                )));
                continue;
            }
            Some(v) => v,
        };
        side.prints.push(Print {
            run_id: results.run_id.clone(),
            case_id: case.info.id.clone(),
            key,
            verdict,
            defects: case
                .defects
                .iter()
                .filter(|d| !d.expected)
                .map(|d| d.kind.name().to_string())
                .collect(),
            measures: key_measures(dir, case),
            print_s: print_seconds(case),
        });
    }
    Ok(())
}

/// The run directories the history holds for firmware `firmware` (of plan `plan` when
/// given): every run must be of one plan, and still on disk.
pub fn from_history(
    history: &Path,
    firmware: &str,
    plan: Option<&str>,
) -> Result<Vec<PathBuf>, GateError> {
    let h = History::open(history, false)?;
    let runs = query::runs_with_firmware(&h, firmware, plan)?;
    if runs.is_empty() {
        return Err(GateError::NoFirmwareRuns {
            history: history.to_path_buf(),
            firmware: firmware.to_string(),
            plan: plan.map(str::to_string),
        });
    }
    let plans: BTreeSet<String> = runs
        .iter()
        .map(|r| r.plan_name.clone().unwrap_or_else(|| "?".into()))
        .collect();
    if plans.len() > 1 {
        return Err(GateError::ManyPlans {
            firmware: firmware.to_string(),
            plans: plans.into_iter().collect(),
        });
    }
    let mut dirs = Vec::new();
    for r in runs {
        let dir = PathBuf::from(&r.dir);
        if !dir.join(JOURNAL).is_file() {
            return Err(GateError::RunGone {
                run_id: r.run_id,
                dir,
            });
        }
        dirs.push(dir);
    }
    Ok(dirs)
}

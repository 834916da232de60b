//! The firmware release gate: is a candidate firmware worse than its baseline on a
//! printer, by more than the lab tolerates, and how sure is that?
//!
//! - `prints`: the runs of each side read through `record` (or found through the
//!   history), every finished print with its measurements;
//! - `compare`: prints paired by printer model, pattern and condition, repeats pooled,
//!   every metric decided against its margin;
//! - `stats`: the intervals, decisions and exact tests.
//!
//! It decides and explains; it must not print (the report module renders a
//! [`GateReport`]) nor run anything.

pub mod compare;
pub mod prints;
pub mod stats;

pub use compare::{compare, GateReport, MetricResult, Outcome, PairResult};
pub use prints::{PairKey, RunRef};

use std::path::PathBuf;

/// Exit code when the candidate regresses somewhere.
pub const EXIT_REGRESSION: i32 = 1;
/// Exit code when the runs cannot be compared (different plans, missing pairs, …).
pub const EXIT_INCOMPARABLE: i32 = 2;
/// Exit code when nothing regresses but something is undecided or a print errored.
pub const EXIT_INCONCLUSIVE: i32 = 3;

/// Why runs cannot be compared. Every one is exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("no {side} runs given")]
    NoRuns { side: &'static str },
    #[error("{}: not a run directory: {source}", dir.display())]
    NotARun {
        dir: PathBuf,
        source: crate::record::JournalError,
    },
    #[error("{}: its journal has no run_start event", dir.display())]
    NoRunStart { dir: PathBuf },
    #[error("{}: the gate margins recorded with the run are unreadable: {detail}", dir.display())]
    Margins { dir: PathBuf, detail: String },
    #[error("run {run_id} is given twice ({})", dir.display())]
    SameRunTwice { run_id: String, dir: PathBuf },
    #[error("run {run_id} is given as both baseline and candidate: a run compared with itself proves nothing")]
    BothSides { run_id: String },
    #[error("the runs are of different plans, so their cases do not pair: {}", plans.join("; "))]
    DifferentPlans { plans: Vec<String> },
    #[error("the runs do not cover the same cases; {}", missing.join("; "))]
    MissingPairs { missing: Vec<String> },
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    #[error("history {}: no run printed on firmware {firmware}{}", history.display(), plan.as_ref().map(|p| format!(" with plan {p}")).unwrap_or_default())]
    NoFirmwareRuns {
        history: PathBuf,
        firmware: String,
        plan: Option<String>,
    },
    #[error("firmware {firmware} ran under several plans ({}): name one with --plan", plans.join(", "))]
    ManyPlans {
        firmware: String,
        plans: Vec<String>,
    },
    #[error("run {run_id} is in the history but its directory {} is gone", dir.display())]
    RunGone { run_id: String, dir: PathBuf },
}

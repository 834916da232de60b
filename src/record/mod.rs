//! The record of a run: the results directory's layout, the journal (event types, the
//! append-only writer, the reader), artifact hashes, the manifest, the check of a run's
//! evidence against its journal and the removal of a killed process's temp files.
//!
//! `run` writes through this module; `report` (and anything else that reads results)
//! reads through it. It decides nothing about cases or verdicts and imports neither of
//! them: it only knows where things are kept and how they are written and read back.

pub mod journal;
pub mod layout;
pub mod lock;
pub mod manifest;
pub mod results;
pub mod tidy;
pub mod verify;

pub use journal::{
    CaseInfo, DefectNote, Event, FileRef, GoldenRefs, InstrumentAnswer, Journal, JournalError, Step,
};
pub use layout::{
    attempt_dir, attempt_folder, case_dir, JOURNAL, JUNIT, MANIFEST, REPORT_HTML, SUMMARY,
};
pub use lock::{LockError, RunLock, LOCK};
pub use manifest::{
    manifest, manifest_listing, manifest_with, planted, recorded_artifacts, walk, Recorded, Skipped,
};
pub use verify::{verify, ArtifactProblem, Verified};

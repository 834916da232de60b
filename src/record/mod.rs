//! The record of a run: the results directory's layout, the journal (event types, the
//! append-only writer, the reader), artifact hashes and the manifest.
//!
//! `run` writes through this module; `report` (and anything else that reads results)
//! reads through it. It decides nothing about cases or verdicts and imports neither of
//! them: it only knows where things are kept and how they are written and read back.

pub mod journal;
pub mod layout;
pub mod manifest;

pub use journal::{CaseInfo, DefectNote, Event, FileRef, Journal, JournalError, Step};
pub use layout::{case_dir, JOURNAL, JUNIT, MANIFEST, REPORT_HTML, SUMMARY};
pub use manifest::{manifest, manifest_with, recorded_artifacts, Recorded};

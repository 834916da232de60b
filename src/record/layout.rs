//! Where a run keeps what it writes, relative to its results directory
//! (`results/<run-id>/`): the journal, the report files, one folder per case for its
//! artifacts and one per simulated station for its working files.
//!
//! Names only: nothing here reads or writes a file.

use std::path::{Path, PathBuf};

/// The append-only event log of the run.
pub const JOURNAL: &str = "journal.ndjson";
/// The run's results as JSON.
pub const SUMMARY: &str = "summary.json";
/// The run's results as JUnit XML (a testsuite per station).
pub const JUNIT: &str = "junit.xml";
/// The self-contained HTML report.
pub const REPORT_HTML: &str = "report.html";
/// sha256 of every file in the run directory.
pub const MANIFEST: &str = "manifest.sha256";

/// The directory of a case's artifacts: `cases/<station>/<pattern>/<condition>/<rN>`.
pub fn case_dir(case_id: &str) -> PathBuf {
    let mut p = PathBuf::from("cases");
    for part in case_id.split('/') {
        p.push(part);
    }
    p
}

/// The directory of one attempt's artifacts inside its case's:
/// `cases/<station>/<pattern>/<condition>/<rN>/attempt-<n>`. Every attempt writes into its
/// own, so a retry never replaces the evidence of the attempt before it.
pub fn attempt_dir(case_id: &str, attempt: u32) -> PathBuf {
    case_dir(case_id).join(format!("attempt-{attempt}"))
}

/// The folder of an attempt's files in run directory `dir`: its own, or the case's for a
/// run written before attempts had folders of their own.
pub fn attempt_folder(dir: &Path, case_id: &str, attempt: u32) -> PathBuf {
    let own = dir.join(attempt_dir(case_id, attempt));
    if own.is_dir() {
        own
    } else {
        dir.join(case_dir(case_id))
    }
}

/// The working directory of a simulated station (its pty link and scanner folder).
pub fn station_dir(station: &str) -> PathBuf {
    PathBuf::from("stations").join(station)
}

/// The stem of the n-th scan (1-based) of an attempt that expects `pages` pages:
/// `scan` for a single page, `scan-1`, `scan-2`, … otherwise.
pub fn scan_stem(n: usize, pages: usize) -> String {
    if pages == 1 {
        "scan".to_string()
    } else {
        format!("scan-{n}")
    }
}

/// The suffix of the n-th page's analysis and overlay files (`analysis-2.json`), empty
/// for a single page.
pub fn page_suffix(n: usize, pages: usize) -> String {
    if pages == 1 {
        String::new()
    } else {
        format!("-{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_id_becomes_nested_folders() {
        assert_eq!(
            case_dir("sim-80mm/solid/nominal/r1"),
            PathBuf::from("cases/sim-80mm/solid/nominal/r1")
        );
    }

    #[test]
    fn every_attempt_has_its_own_folder() {
        assert_eq!(
            attempt_dir("sim-80mm/solid/nominal/r1", 2),
            PathBuf::from("cases/sim-80mm/solid/nominal/r1/attempt-2")
        );
    }

    #[test]
    fn pages_are_numbered_only_when_there_are_several() {
        assert_eq!(scan_stem(1, 1), "scan");
        assert_eq!(scan_stem(2, 2), "scan-2");
        assert_eq!(page_suffix(1, 1), "");
        assert_eq!(page_suffix(1, 2), "-1");
    }
}

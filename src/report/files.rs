//! Writing a run's report files from its journal and artifacts: summary.json, junit.xml,
//! report.html and manifest.sha256, each written atomically. `rig report DIR` and the end
//! of `rig run` both come here, so a report can always be rebuilt.

use super::html::{self, CaseView};
use super::junit;
use super::results::{from_events, RunResults};
use crate::record::{self, case_dir, journal, Recorded, JOURNAL, JUNIT, MANIFEST};
use crate::record::{REPORT_HTML, SUMMARY};
use crate::util::fsio::write_atomic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    #[error("{dir} holds no run: {JOURNAL} has no run_start event")]
    NoRun { dir: PathBuf },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn view_of(dir: &Path, case_id: &str) -> CaseView {
    let cdir = dir.join(case_dir(case_id));
    let mut v = CaseView {
        tolerance: crate::golden::Tolerances::default().column_marginal,
        ..CaseView::default()
    };
    if let Ok(text) = std::fs::read_to_string(cdir.join("analysis.json")) {
        if let Ok(j) = serde_json::from_str::<serde_json::Value>(&text) {
            let arr = |x: Option<&serde_json::Value>| -> Option<Vec<f64>> {
                x?.as_array()
                    .map(|a| a.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
            };
            let cols = arr(j.pointer("/profiles/columns"));
            let deficit = arr(j.pointer("/golden/column_deficit"));
            if let (Some(c), Some(d)) = (&cols, &deficit) {
                if c.len() == d.len() {
                    v.golden = Some(c.iter().zip(d).map(|(m, d)| m + d).collect());
                }
            }
            v.columns = cols;
        }
    }
    v.thumbnail = std::fs::read(cdir.join("thumb.png")).ok();
    v
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic(path, bytes).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Rebuilds every report file of a run directory; returns the results.
pub fn rebuild(dir: &Path) -> Result<RunResults, ReportError> {
    let events = journal::read(&dir.join(JOURNAL))?;
    if !events
        .iter()
        .any(|e| matches!(e, journal::Event::RunStart { .. }))
    {
        return Err(ReportError::NoRun {
            dir: dir.to_path_buf(),
        });
    }
    let results = from_events(&events);
    let mut recorded = record::recorded_artifacts(&events);
    // The report files are hashed from the bytes written, not read back for the manifest.
    let mut put = |name: &str, bytes: &[u8]| -> Result<(), ReportError> {
        write(&dir.join(name), bytes)?;
        recorded.insert(
            name.to_string(),
            Recorded {
                bytes: bytes.len() as u64,
                sha256: crate::util::sha256_hex(bytes),
                at: SystemTime::now(),
            },
        );
        Ok(())
    };
    let mut summary = serde_json::to_string_pretty(&results).unwrap_or_default();
    summary.push('\n');
    put(SUMMARY, summary.as_bytes())?;
    put(JUNIT, junit::render(&results).as_bytes())?;
    let views: BTreeMap<String, CaseView> = results
        .cases
        .iter()
        .map(|c| (c.info.id.clone(), view_of(dir, &c.info.id)))
        .collect();
    put(REPORT_HTML, html::render(&results, &views).as_bytes())?;
    write(
        &dir.join(MANIFEST),
        record::manifest_with(dir, &recorded).as_bytes(),
    )?;
    Ok(results)
}

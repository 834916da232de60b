//! Writing a run's report files from its journal and artifacts: summary.json, junit.xml,
//! report.html and manifest.sha256, each written atomically. `rig report DIR` and the end
//! of `rig run` both come here, so a report can always be rebuilt; `rig report` only under
//! the run directory's lock.

use super::html::{self, BandView, CaseView, FindingView, Picture};
use super::junit;
use crate::golden::ColumnBand;
use crate::record::results::{from_events, CaseResult, RunResults};
use crate::record::{
    self, attempt_dir, attempt_folder, journal, Recorded, JOURNAL, JUNIT, MANIFEST,
};
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
    #[error("{}", evidence_message(dir, *checked, problems))]
    Evidence {
        dir: PathBuf,
        checked: usize,
        problems: Vec<record::ArtifactProblem>,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lock(#[from] record::LockError),
}

fn evidence_message(dir: &Path, checked: usize, problems: &[record::ArtifactProblem]) -> String {
    let mut s = format!(
        "{}: {} of {checked} artifacts recorded in its journal do not match (nothing was rewritten):",
        dir.display(),
        problems.len()
    );
    for p in problems {
        s.push_str(&format!("\n  {p}"));
    }
    s
}

/// Up to this many cases, report.html carries every picture itself; above it, only the
/// pictures of cases that did not pass (the others are linked beside it, in the run
/// directory), so a farm's report stays a size a browser opens.
pub const EMBED_ALL_UP_TO: usize = 200;

/// A picture of the run directory for the report: read into it when `embed`, else linked.
fn picture(dir: &Path, path: &Path, embed: bool) -> Option<Picture> {
    if embed {
        return std::fs::read(path).ok().map(Picture::Embedded);
    }
    let rel = path.strip_prefix(dir).ok()?;
    path.is_file()
        .then(|| Picture::Linked(rel.to_string_lossy().into_owned()))
}

fn view_of(dir: &Path, case: &CaseResult, embed: bool) -> CaseView {
    let case_id = case.info.id.as_str();
    let shown = case.shown_attempt();
    let cdir = attempt_folder(dir, case_id, shown);
    let mut v = CaseView::default();
    if let Ok(text) = std::fs::read_to_string(cdir.join("analysis.json")) {
        if let Ok(j) = serde_json::from_str::<serde_json::Value>(&text) {
            let cols = numbers(j.pointer("/profiles/columns"));
            v.band = band_of(&j, cols.as_deref());
            v.findings = j
                .pointer("/golden/findings")
                .and_then(|f| f.as_array())
                .map(|f| f.iter().map(finding_of).collect())
                .unwrap_or_default();
            v.columns = cols;
        }
    }
    // The pages before the last, each with its own thumbnail.
    for page in 1.. {
        match picture(dir, &cdir.join(format!("thumb-{page}.png")), embed) {
            Some(png) => v.earlier_pages.push((page, png)),
            None => break,
        }
    }
    v.thumbnail = picture(dir, &cdir.join("thumb.png"), embed);
    // The other attempts' pages: each from its own folder.
    for a in case.attempts.iter().filter(|a| a.attempt != shown) {
        let own = dir.join(attempt_dir(case_id, a.attempt));
        if let Some(png) = picture(dir, &own.join("thumb.png"), embed) {
            v.attempt_thumbnails.insert(a.attempt, png);
        }
    }
    v
}

/// An array of numbers from an analysis document (`null` for a value not measured).
fn numbers(x: Option<&serde_json::Value>) -> Option<Vec<f64>> {
    x?.as_array()
        .map(|a| a.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
}

/// The band a page's columns were judged in. An analysis written before the band was
/// kept gives the record's columns (measured plus deficit) at the default tolerance.
fn band_of(j: &serde_json::Value, cols: Option<&[f64]>) -> Option<BandView> {
    if let Some(b) = j.pointer("/golden/column_band") {
        let band: ColumnBand = serde_json::from_value(b.clone()).ok()?;
        return Some(BandView {
            expected: band.expected(),
            marginal_below: band.below(band.marginal),
            fail_below: band.below(band.fail),
            marginal: band.marginal,
            fail: band.fail,
        });
    }
    let deficit = numbers(j.pointer("/golden/column_deficit"))?;
    let cols = cols.filter(|c| c.len() == deficit.len())?;
    let t = crate::golden::Tolerances::default();
    let expected: Vec<f64> = cols.iter().zip(&deficit).map(|(m, d)| m + d).collect();
    Some(BandView {
        marginal_below: expected.iter().map(|g| g - t.column_marginal).collect(),
        fail_below: expected.iter().map(|g| g - t.column_fail).collect(),
        expected,
        marginal: t.column_marginal,
        fail: t.column_fail,
    })
}

fn finding_of(f: &serde_json::Value) -> FindingView {
    let text = |k: &str| f.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let at = |k: &str| f.get(k).and_then(|v| v.as_u64()).map(|v| v as u32);
    FindingView {
        what: text("what"),
        start: at("start"),
        end: at("end"),
        fail: text("severity") == "fail",
        detail: text("detail"),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic(path, bytes).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The journal of a run directory (one that holds a run).
fn run_events(dir: &Path) -> Result<Vec<journal::Event>, ReportError> {
    let events = journal::read(&dir.join(JOURNAL))?;
    if !events
        .iter()
        .any(|e| matches!(e, journal::Event::RunStart { .. }))
    {
        return Err(ReportError::NoRun {
            dir: dir.to_path_buf(),
        });
    }
    Ok(events)
}

/// Checks every artifact a run's journal recorded against the sha256 it recorded (`rig
/// verify`): the results as the journal has them, and what was checked.
pub fn verify(dir: &Path) -> Result<(RunResults, record::Verified), ReportError> {
    let events = run_events(dir)?;
    let checked = record::verify(dir, &events);
    Ok((from_events(&events), checked))
}

/// [`rebuild`] after every artifact is checked against the journal (`rig report`): a
/// missing or changed artifact is an error naming it, and nothing is rewritten, so the
/// manifest never takes in a changed file. The run directory's lock is held throughout: a
/// directory a rig process is running, resuming or merging into is refused (naming it),
/// never rewritten under it.
pub fn rebuild_verified(dir: &Path, history: Option<&Path>) -> Result<RunResults, ReportError> {
    if !dir.join(JOURNAL).is_file() {
        // Not a run directory: said as such, and no lock file left in it.
        run_events(dir)?;
        return Err(ReportError::NoRun {
            dir: dir.to_path_buf(),
        });
    }
    let _lock = record::RunLock::acquire(dir)?;
    let events = run_events(dir)?;
    let checked = record::verify(dir, &events);
    if !checked.ok() {
        return Err(ReportError::Evidence {
            dir: dir.to_path_buf(),
            checked: checked.artifacts,
            problems: checked.problems,
        });
    }
    rebuild_from(dir, &events, history)
}

/// Rebuilds every report file of a run directory; returns the results.
pub fn rebuild(dir: &Path, history: Option<&Path>) -> Result<RunResults, ReportError> {
    let events = run_events(dir)?;
    rebuild_from(dir, &events, history)
}

/// How many runs a case's trend strip shows.
const TREND_RUNS: usize = 12;

fn rebuild_from(
    dir: &Path,
    events: &[journal::Event],
    history: Option<&Path>,
) -> Result<RunResults, ReportError> {
    let mut results = from_events(events);
    // What the manifest will leave out, listed in the summary and on the console.
    results.skipped = record::walk(dir).1;
    for s in &results.skipped {
        tracing::warn!(path = %s.path, why = %s.why, "not in the manifest");
    }
    let mut recorded = record::recorded_artifacts(events);
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
    let mut views: BTreeMap<String, CaseView> = results
        .cases
        .iter()
        .map(|c| {
            let embed = results.cases.len() <= EMBED_ALL_UP_TO
                || c.verdict != Some(crate::verdict::Verdict::Pass);
            (c.info.id.clone(), view_of(dir, c, embed))
        })
        .collect();
    // With a history: each case's last runs up to this one. A history that cannot be read
    // leaves the strips out, never the report.
    let history = history
        .filter(|p| p.is_file())
        .and_then(|p| match crate::history::History::open(p, false) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %crate::util::error_chain(&e), "report without trend strips");
                None
            }
        });
    if let Some(h) = &history {
        for (id, view) in views.iter_mut() {
            match crate::history::query::strip(h, id, &results.started, TREND_RUNS) {
                Ok(points) => {
                    view.trend = points
                        .into_iter()
                        .map(|(run_id, verdict, density)| html::TrendMark {
                            this: run_id == results.run_id,
                            run_id,
                            verdict,
                            solid_density: density,
                        })
                        .collect()
                }
                Err(e) => {
                    tracing::warn!(error = %crate::util::error_chain(&e), "no trend strip");
                    break;
                }
            }
        }
    }
    put(REPORT_HTML, html::render(&results, &views).as_bytes())?;
    write(
        &dir.join(MANIFEST),
        record::manifest_with(dir, &recorded).as_bytes(),
    )?;
    Ok(results)
}

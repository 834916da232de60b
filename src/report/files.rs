//! Writing a run's report files from its journal and artifacts: summary.json, junit.xml,
//! report.html and manifest.sha256, each written atomically. `rig report DIR` and the end
//! of `rig run` both come here, so a report can always be rebuilt.

use super::html::{self, CaseView};
use super::junit;
use super::results::{from_events, RunResults};
use crate::run::journal;
use crate::util::fsio::write_atomic;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub const JOURNAL: &str = "journal.ndjson";

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

/// The directory of a case's artifacts, relative to the run directory.
pub fn case_dir(case_id: &str) -> PathBuf {
    let mut p = PathBuf::from("cases");
    for part in case_id.split('/') {
        p.push(part);
    }
    p
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

/// What the journal says the rig wrote to a path: the size and sha256 of the bytes, and
/// when (after the write).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub bytes: u64,
    pub sha256: String,
    pub at: SystemTime,
}

/// The latest journal record of every artifact path (a later attempt rewrites a case's
/// files and records them again).
pub fn recorded_artifacts(events: &[journal::Event]) -> HashMap<String, Recorded> {
    let mut out = HashMap::new();
    for e in events {
        if let journal::Event::Artifact {
            time,
            path,
            sha256,
            bytes,
            ..
        } = e
        {
            let Ok(at) = OffsetDateTime::parse(time, &Rfc3339) else {
                out.remove(path);
                continue;
            };
            out.insert(
                path.clone(),
                Recorded {
                    bytes: *bytes,
                    sha256: sha256.clone(),
                    at: at.into(),
                },
            );
        }
    }
    out
}

/// sha256 of every file in the run directory (but the manifest itself and temp files).
pub fn manifest(dir: &Path) -> String {
    manifest_with(dir, &HashMap::new())
}

/// [`manifest`], taking the hash the journal recorded for an artifact whose file still has
/// the recorded size and has not been modified since the record: scans and overlays are
/// hashed once, when they are written, not again for the manifest. Any other file is read
/// and hashed.
pub fn manifest_with(dir: &Path, recorded: &HashMap<String, Recorded>) -> String {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                let name = rel.to_string_lossy().to_string();
                let base = e.file_name().to_string_lossy().to_string();
                if name != "manifest.sha256" && !base.starts_with('.') {
                    files.push((name, p));
                }
            }
        }
    }
    files.sort();
    let unchanged = |name: &str, p: &Path| -> Option<&str> {
        let r = recorded.get(name)?;
        let meta = std::fs::metadata(p).ok()?;
        (meta.len() == r.bytes && meta.modified().ok()? <= r.at).then_some(r.sha256.as_str())
    };
    let mut s = String::new();
    for (name, p) in files {
        if let Some(hash) = unchanged(&name, &p) {
            s.push_str(&format!("{hash}  {name}\n"));
        } else if let Ok(hash) = crate::util::sha256_file(&p) {
            s.push_str(&format!("{hash}  {name}\n"));
        }
    }
    s
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
    let mut recorded = recorded_artifacts(&events);
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
    put("summary.json", summary.as_bytes())?;
    put("junit.xml", junit::render(&results).as_bytes())?;
    let views: BTreeMap<String, CaseView> = results
        .cases
        .iter()
        .map(|c| (c.info.id.clone(), view_of(dir, &c.info.id)))
        .collect();
    put("report.html", html::render(&results, &views).as_bytes())?;
    write(
        &dir.join("manifest.sha256"),
        manifest_with(dir, &recorded).as_bytes(),
    )?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_manifest_takes_recorded_hashes_only_for_unchanged_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("cases/a")).expect("mkdir");
        for (name, body) in [("cases/a/scan.png", "scan"), ("cases/a/x.json", "{}")] {
            std::fs::write(d.join(name), body).expect("write");
        }
        std::fs::write(d.join("journal.ndjson"), "j").expect("write");
        let later = SystemTime::now() + Duration::from_secs(3600);
        let rec = |bytes: u64, at: SystemTime| Recorded {
            bytes,
            sha256: "recorded".into(),
            at,
        };
        let mut recorded = HashMap::new();
        // Unchanged since recorded: the recorded hash.
        recorded.insert("cases/a/scan.png".to_string(), rec(4, later));
        // Another size, or written after the record: hashed again.
        recorded.insert("cases/a/x.json".to_string(), rec(3, later));
        recorded.insert("journal.ndjson".to_string(), rec(1, SystemTime::UNIX_EPOCH));
        let m = manifest_with(d, &recorded);
        let plain = manifest(d);
        let hash = |body: &str| crate::util::sha256_hex(body.as_bytes());
        assert_eq!(
            m,
            format!(
                "recorded  cases/a/scan.png\n{}  cases/a/x.json\n{}  journal.ndjson\n",
                hash("{}"),
                hash("j")
            )
        );
        assert_eq!(
            plain,
            format!(
                "{}  cases/a/scan.png\n{}  cases/a/x.json\n{}  journal.ndjson\n",
                hash("scan"),
                hash("{}"),
                hash("j")
            )
        );
    }

    #[test]
    fn the_latest_record_of_a_path_counts() {
        let art = |time: &str, sha: &str| journal::Event::Artifact {
            time: time.into(),
            case: "c".into(),
            attempt: 1,
            path: "cases/c/scan.png".into(),
            sha256: sha.into(),
            bytes: 9,
        };
        let r = recorded_artifacts(&[
            art("2026-11-24T04:00:00.000001Z", "first"),
            art("2026-11-24T04:00:01.5Z", "second"),
        ]);
        let got = r.get("cases/c/scan.png").expect("recorded");
        assert_eq!(got.sha256, "second");
        let want: SystemTime = OffsetDateTime::parse("2026-11-24T04:00:01.5Z", &Rfc3339)
            .expect("time")
            .into();
        assert_eq!(got.at, want);
        // A record whose time does not parse is not trusted.
        let r = recorded_artifacts(&[art("2026-11-24T04:00:00Z", "a"), art("yesterday", "b")]);
        assert!(r.is_empty());
    }
}

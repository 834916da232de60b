//! Pending records: what `rig golden capture` made and nobody has accepted yet, kept as
//! `<dir>/<model>/<pattern>.pending.json` beside the record it would replace
//! (`<pattern>.json`). A run reads only records; `rig golden review` lists the pending
//! ones against the records in use, `rig golden accept` turns them into records.
//!
//! Owns: the pending names, what a capture wrote (`Capture`), listing pending records and
//! accepting one (an atomic rename). Must not: make or judge a record.

use super::{Golden, GoldenError};
use crate::pattern::PatternKind;
use std::path::{Path, PathBuf};

const SUFFIX: &str = ".pending.json";

/// The pending record of `pattern` in a model's folder.
pub fn pending_path(model_dir: &Path, pattern: &str) -> PathBuf {
    model_dir.join(format!("{pattern}{SUFFIX}"))
}

/// The record a pending one becomes (`solid.pending.json` → `solid.json`).
pub fn record_path(pending: &Path) -> PathBuf {
    let name = pending
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name.strip_suffix(SUFFIX).unwrap_or(&name);
    pending.with_file_name(format!("{base}.json"))
}

/// Is this file a pending record (by its name)?
pub fn is_pending(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(SUFFIX))
}

/// Every pending record under `dir` (`<dir>/<model>/*.pending.json`), sorted.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>, GoldenError> {
    let read = |p: &Path| {
        std::fs::read_dir(p).map_err(|source| GoldenError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let mut out = Vec::new();
    for model in read(dir)?.flatten() {
        let m = model.path();
        if !m.is_dir() {
            continue;
        }
        for f in read(&m)?.flatten() {
            let p = f.path();
            if p.is_file() && is_pending(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A pending record beside the record it would replace (if any).
#[derive(Debug)]
pub struct Review {
    pub pending: PathBuf,
    pub record: Golden,
    pub current: Option<Golden>,
}

/// Reads a pending record and the record in use beside it.
pub fn review(pending: &Path) -> Result<Review, GoldenError> {
    let record = Golden::load(pending)?;
    let current_path = record_path(pending);
    let current = if current_path.exists() {
        Some(Golden::load(&current_path)?)
    } else {
        None
    };
    Ok(Review {
        pending: pending.to_path_buf(),
        record,
        current,
    })
}

/// Turns a pending record into the record runs read: checked to be a readable record,
/// then renamed over it (atomically). Returns where it went and the record it replaced.
pub fn accept(pending: &Path) -> Result<(PathBuf, Option<Golden>), GoldenError> {
    if !is_pending(pending) {
        return Err(GoldenError::Parse {
            path: pending.to_path_buf(),
            detail: format!("not a pending record (its name does not end in {SUFFIX})"),
        });
    }
    let r = review(pending)?;
    let to = record_path(pending);
    std::fs::rename(pending, &to).map_err(|source| GoldenError::Write {
        path: to.clone(),
        source,
    })?;
    Ok((to, r.current))
}

/// One pattern of one model: the pending record written (with the record it would
/// replace), or why nothing was written.
#[derive(Debug)]
pub struct Captured {
    pub model: String,
    pub station: String,
    pub pattern: PatternKind,
    pub outcome: Result<Pending, String>,
}

/// A pending record written by a capture.
#[derive(Debug)]
pub struct Pending {
    pub path: PathBuf,
    pub record: Golden,
    /// The record in use now, when there is one.
    pub current: Option<Golden>,
    pub scans: Vec<PathBuf>,
}

/// The capture of a plan: per model and pattern what was written, and the stations left
/// out because another station of their model was captured.
#[derive(Debug, Default)]
pub struct Capture {
    pub captured: Vec<Captured>,
    pub skipped: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_names_map_to_record_names() {
        let p = pending_path(Path::new("golden/tm-80"), "dense-sparse");
        assert_eq!(p, PathBuf::from("golden/tm-80/dense-sparse.pending.json"));
        assert!(is_pending(&p));
        assert_eq!(
            record_path(&p),
            PathBuf::from("golden/tm-80/dense-sparse.json")
        );
        assert!(!is_pending(Path::new("golden/tm-80/solid.json")));
    }

    #[test]
    fn only_a_pending_record_can_be_accepted() {
        let tmp = tempfile::tempdir().expect("tmp");
        let record = tmp.path().join("solid.json");
        std::fs::write(&record, "{}").expect("write");
        let e = accept(&record).expect_err("not pending");
        assert!(e.to_string().contains("not a pending record"), "{e}");
        let broken = tmp.path().join("ladder.pending.json");
        std::fs::write(&broken, "{").expect("write");
        assert!(accept(&broken).is_err());
        assert!(broken.exists(), "a broken pending record stays where it is");
        assert!(!tmp.path().join("ladder.json").exists());
    }
}

//! Checking a run's evidence against its journal: every artifact the journal recorded
//! (scans, analyses, overlays, job bytes) must still be in the run directory with the
//! sha256 recorded when it was written.
//!
//! Reads and hashes files; writes nothing and never trusts a file's size or time.

use super::journal::Event;
use std::collections::BTreeMap;
use std::path::{Component, Path};

/// What is wrong with one recorded artifact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactProblem {
    #[error("{path}: missing (the journal recorded sha256 {recorded})")]
    Missing { path: String, recorded: String },
    #[error(
        "{path}: changed since it was recorded (sha256 {found}, the journal recorded {recorded})"
    )]
    Changed {
        path: String,
        recorded: String,
        found: String,
    },
    #[error("{path}: cannot be read: {error}")]
    Unreadable { path: String, error: String },
    #[error("{path}: not a path inside the run directory")]
    Outside { path: String },
}

/// The outcome of [`verify`]: how many artifacts were checked, and what is wrong.
#[derive(Debug, Clone, Default)]
pub struct Verified {
    pub artifacts: usize,
    pub problems: Vec<ArtifactProblem>,
}

impl Verified {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The sha256 the journal last recorded for every artifact path.
fn recorded(events: &[Event]) -> BTreeMap<&str, &str> {
    let mut out = BTreeMap::new();
    for e in events {
        if let Event::Artifact { path, sha256, .. } = e {
            out.insert(path.as_str(), sha256.as_str());
        }
    }
    out
}

/// Hashes every artifact the journal recorded (its latest record per path) and compares.
pub fn verify(dir: &Path, events: &[Event]) -> Verified {
    let recorded = recorded(events);
    let mut v = Verified {
        artifacts: recorded.len(),
        problems: Vec::new(),
    };
    for (path, want) in recorded {
        let rel = Path::new(path);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            v.problems
                .push(ArtifactProblem::Outside { path: path.into() });
            continue;
        }
        // Never through a planted link, never blocking on a FIFO or device.
        let hashed = crate::util::fsio::check_inside(dir, rel)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))
            .and_then(|_| crate::util::fsio::open_regular(&dir.join(rel)))
            .and_then(crate::util::sha256_reader);
        match hashed {
            Ok(found) if found == want => {}
            Ok(found) => v.problems.push(ArtifactProblem::Changed {
                path: path.into(),
                recorded: want.into(),
                found,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                v.problems.push(ArtifactProblem::Missing {
                    path: path.into(),
                    recorded: want.into(),
                })
            }
            Err(e) => v.problems.push(ArtifactProblem::Unreadable {
                path: path.into(),
                error: e.to_string(),
            }),
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn art(path: &str, body: &str) -> Event {
        Event::Artifact {
            time: "2026-12-03T00:00:00Z".into(),
            case: "c".into(),
            attempt: 1,
            path: path.into(),
            sha256: crate::util::sha256_hex(body.as_bytes()),
            bytes: body.len() as u64,
        }
    }

    #[test]
    fn missing_changed_and_outside_files_are_named() {
        let tmp = tempfile::tempdir().expect("tmp");
        let d = tmp.path();
        std::fs::create_dir_all(d.join("cases/c/attempt-1")).expect("mkdir");
        std::fs::write(d.join("cases/c/attempt-1/scan.png"), "scan").expect("write");
        std::fs::write(d.join("cases/c/attempt-1/analysis.json"), "{edited}").expect("write");
        let events = vec![
            art("cases/c/attempt-1/scan.png", "scan"),
            art("cases/c/attempt-1/analysis.json", "{}"),
            art("cases/c/attempt-1/overlay.png", "overlay"),
            art("../elsewhere.png", "x"),
        ];
        let v = verify(d, &events);
        assert_eq!(v.artifacts, 4);
        let names: Vec<String> = v.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(v.problems.len(), 3, "{names:#?}");
        assert!(
            matches!(&v.problems[0], ArtifactProblem::Outside { path } if path == "../elsewhere.png")
        );
        assert!(
            matches!(&v.problems[1], ArtifactProblem::Changed { path, .. } if path == "cases/c/attempt-1/analysis.json")
        );
        assert!(
            matches!(&v.problems[2], ArtifactProblem::Missing { path, .. } if path == "cases/c/attempt-1/overlay.png")
        );
        assert!(names[1].contains("changed since it was recorded"));
        // Written again and recorded again: the latest record counts.
        std::fs::write(d.join("cases/c/attempt-1/overlay.png"), "overlay").expect("write");
        let v = verify(d, &events[..3]);
        assert_eq!(v.problems.len(), 1);
        let mut again = events[..3].to_vec();
        again.push(art("cases/c/attempt-1/analysis.json", "{edited}"));
        assert!(verify(d, &again).ok());
    }
}

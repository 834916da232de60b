//! `rig merge`: joins the run directories of one plan's shards (each `rig run --shard I/N`
//! on its own rig host) into one results directory, as if one run had covered the plan: a
//! journal of every shard's events under one `run_start` (naming the shards it came from),
//! every recorded artifact, and the report files rebuilt from them by `report`.
//!
//! Refuses, naming it, a shard that is missing, given twice, of another plan or another
//! split, or whose evidence changed since it was recorded, and an output that exists (one
//! a rig process holds, a run or another merge, is named with the holder's pid). Writes
//! only the new directory, made by the merge and held under its lock (`.rig.lock`) while
//! it is built, so a second merge into it or a `rig report` of it waits its turn; removed
//! again if the merge fails. Never changes a shard.

use crate::record::journal::{self, Event, FileRef, JournalError};
use crate::record::results::RunResults;
use crate::record::{ArtifactProblem, LockError, RunLock, JOURNAL};
use crate::report::files::{rebuild, ReportError};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{}: not a run directory: {source}", dir.display())]
    NotARun { dir: PathBuf, source: JournalError },
    #[error("{}: its journal has no run_start event", dir.display())]
    NoRunStart { dir: PathBuf },
    #[error("{}: not a shard (run {run_id} was run without --shard)", dir.display())]
    NotAShard { dir: PathBuf, run_id: String },
    #[error("{}: {detail}", dir.display())]
    Foreign { dir: PathBuf, detail: String },
    #[error("shard {index}/{count} given twice: {} and {}", first.display(), second.display())]
    Duplicate {
        index: u32,
        count: u32,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{}", missing.iter().map(|(i, n)| format!("shard {i}/{n} missing")).collect::<Vec<_>>().join("; "))]
    Missing { missing: Vec<(u32, u32)> },
    #[error("{}: {} of its artifacts changed or missing since the journal recorded them:\n  {}", dir.display(), problems.len(), problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n  "))]
    Evidence {
        dir: PathBuf,
        problems: Vec<ArtifactProblem>,
    },
    #[error("{}: already exists (a merge never writes over a results directory)", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// One shard as read.
struct Shard {
    dir: PathBuf,
    index: u32,
    count: u32,
    run_id: String,
    plan: FileRef,
    plan_cases: Vec<String>,
    events: Vec<Event>,
}

/// The merged run.
pub struct Merged {
    pub dir: PathBuf,
    pub results: RunResults,
    /// How many artifacts were carried over.
    pub artifacts: usize,
}

fn read_shard(dir: &Path) -> Result<Shard, MergeError> {
    let events = journal::read(&dir.join(JOURNAL)).map_err(|source| MergeError::NotARun {
        dir: dir.to_path_buf(),
        source,
    })?;
    let Some(Event::RunStart {
        run_id,
        plan,
        shard,
        plan_cases,
        ..
    }) = events
        .iter()
        .find(|e| matches!(e, Event::RunStart { .. }))
        .cloned()
    else {
        return Err(MergeError::NoRunStart {
            dir: dir.to_path_buf(),
        });
    };
    let Some((index, count)) = shard else {
        return Err(MergeError::NotAShard {
            dir: dir.to_path_buf(),
            run_id,
        });
    };
    Ok(Shard {
        dir: dir.to_path_buf(),
        index,
        count,
        run_id,
        plan,
        plan_cases,
        events,
    })
}

/// Checks that `shards` are every shard of one plan's split, once each; returns them in
/// shard order.
fn complete(mut shards: Vec<Shard>) -> Result<Vec<Shard>, MergeError> {
    shards.sort_by_key(|s| s.index);
    let Some(first) = shards.first() else {
        return Err(MergeError::Missing {
            missing: Vec::new(),
        });
    };
    let (plan, count, all) = (
        first.plan.sha256.clone(),
        first.count,
        first.plan_cases.clone(),
    );
    let first_dir = first.dir.clone();
    for s in &shards {
        if s.plan.sha256 != plan {
            return Err(MergeError::Foreign {
                dir: s.dir.clone(),
                detail: format!(
                    "a shard of another plan ({}, sha256 {}; {} has sha256 {})",
                    s.plan.path,
                    s.plan.sha256.get(..16).unwrap_or(""),
                    first_dir.display(),
                    plan.get(..16).unwrap_or("")
                ),
            });
        }
        if s.count != count {
            return Err(MergeError::Foreign {
                dir: s.dir.clone(),
                detail: format!(
                    "shard {}/{} of another split ({} is a shard of {count})",
                    s.index,
                    s.count,
                    first_dir.display()
                ),
            });
        }
        if !all.is_empty() && !s.plan_cases.is_empty() && s.plan_cases != all {
            return Err(MergeError::Foreign {
                dir: s.dir.clone(),
                detail: format!(
                    "its plan expanded to other cases than {}'s (the stations differ)",
                    first_dir.display()
                ),
            });
        }
    }
    for w in shards.windows(2) {
        if w[0].index == w[1].index {
            return Err(MergeError::Duplicate {
                index: w[0].index,
                count,
                first: w[0].dir.clone(),
                second: w[1].dir.clone(),
            });
        }
    }
    let have: BTreeSet<u32> = shards.iter().map(|s| s.index).collect();
    let missing: Vec<(u32, u32)> = (1..=count)
        .filter(|i| !have.contains(i))
        .map(|i| (i, count))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing });
    }
    Ok(shards)
}

/// The merged run's id: the earliest shard start and a hash of the shards' run ids, so the
/// same shards always merge to the same run.
fn merged_id(shards: &[Shard], started: &str) -> String {
    let joined: Vec<&str> = shards.iter().map(|s| s.run_id.as_str()).collect();
    let hash = crate::util::sha256_hex(joined.join("\n").as_bytes());
    let stamp: String = started
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect();
    format!("{stamp}Z-m{}", hash.get(..8).unwrap_or(""))
}

/// Copies `from` to `to` (a hard link when both are on one file system: the evidence is
/// never written in place, so the two names can share it).
fn carry(from: &Path, to: &Path) -> Result<(), MergeError> {
    let werr = |source| MergeError::Write {
        path: to.to_path_buf(),
        source,
    };
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(werr)?;
    }
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to).map_err(werr)?;
    Ok(())
}

/// The refusal of an output that exists: held by a rig process (named), or there.
fn existing(out: &Path) -> MergeError {
    match RunLock::holder(out) {
        Some(holder) => MergeError::Lock(LockError::Held {
            dir: out.to_path_buf(),
            holder,
        }),
        None => MergeError::Exists {
            path: out.to_path_buf(),
        },
    }
}

/// Merges the shard run directories `dirs` into a new results directory `out`.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Merged, MergeError> {
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(existing(out));
    }
    let shards = complete(
        dirs.iter()
            .map(|d| read_shard(d))
            .collect::<Result<Vec<_>, _>>()?,
    )?;
    // Every shard's evidence hashed, the shards side by side.
    let checked: Vec<crate::record::Verified> = std::thread::scope(|scope| {
        let running: Vec<_> = shards
            .iter()
            .map(|s| scope.spawn(|| crate::record::verify(&s.dir, &s.events)))
            .collect();
        running
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| crate::record::Verified {
                    artifacts: 0,
                    problems: vec![ArtifactProblem::Unreadable {
                        path: JOURNAL.into(),
                        error: "the check of its artifacts failed".into(),
                    }],
                })
            })
            .collect()
    });
    for (s, v) in shards.iter().zip(checked) {
        if !v.ok() {
            return Err(MergeError::Evidence {
                dir: s.dir.clone(),
                problems: v.problems,
            });
        }
    }
    // The output is made here, never over one that exists (another merge may have made it
    // since the check above), and locked while it is built.
    let werr = |source| MergeError::Write {
        path: out.to_path_buf(),
        source,
    };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(werr)?;
    }
    match std::fs::create_dir(out) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(existing(out)),
        Err(e) => return Err(werr(e)),
    }
    let built = RunLock::acquire(out)
        .map_err(MergeError::from)
        .and_then(|lock| Ok((build(&shards, out)?, lock)));
    match built {
        Ok(((artifacts, results), _lock)) => Ok(Merged {
            dir: out.to_path_buf(),
            results,
            artifacts,
        }),
        Err(e) => {
            // Nothing but what this merge made is in it.
            let _ = std::fs::remove_dir_all(out);
            Err(e)
        }
    }
}

/// Writes the merged run into `dir` (made and locked by the caller): its artifacts (how
/// many) and its results.
fn build(shards: &[Shard], dir: &Path) -> Result<(usize, RunResults), MergeError> {
    // The header: the first shard's plan, every shard's stations and cases.
    let mut started: Option<String> = None;
    let mut hosts: Vec<String> = Vec::new();
    let mut stations: Vec<FileRef> = Vec::new();
    let mut cases = Vec::new();
    let mut header = None;
    for s in shards {
        for e in &s.events {
            if let Event::RunStart {
                time,
                host,
                stations: st,
                cases: cs,
                ..
            } = e
            {
                if started.as_deref().is_none_or(|t| time.as_str() < t) {
                    started = Some(time.clone());
                }
                if !hosts.contains(host) {
                    hosts.push(host.clone());
                }
                for f in st {
                    if !stations.contains(f) {
                        stations.push(f.clone());
                    }
                }
                cases.extend(cs.iter().cloned());
                header.get_or_insert_with(|| e.clone());
            }
        }
    }
    // The plan's order when the shards know it.
    let order: BTreeMap<&str, usize> = shards[0]
        .plan_cases
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    if !order.is_empty() {
        cases.sort_by_key(|c| order.get(c.id.as_str()).copied().unwrap_or(usize::MAX));
    }
    let started = started.unwrap_or_default();
    let run_id = merged_id(shards, &started);
    let Some(Event::RunStart {
        tool_version,
        plan,
        plan_name,
        plan_description,
        gate,
        firmware,
        golden,
        ..
    }) = header
    else {
        // Every shard was read with its run_start (`read_shard`).
        return Err(MergeError::NoRunStart {
            dir: shards.first().map_or_else(PathBuf::new, |s| s.dir.clone()),
        });
    };
    let mut events = vec![Event::RunStart {
        time: started,
        run_id,
        tool_version,
        host: hosts.join(","),
        plan,
        plan_name,
        plan_description,
        stations,
        shard: None,
        cases,
        plan_cases: Vec::new(),
        merged_from: shards.iter().map(|s| s.run_id.clone()).collect(),
        gate,
        firmware,
        golden,
    }];
    let mut ended: Option<String> = None;
    let mut interrupted = false;
    let mut artifacts = 0;
    for s in shards {
        let mut shard_end = None;
        for e in &s.events {
            match e {
                Event::RunStart { .. } => {}
                Event::RunEnd {
                    time,
                    interrupted: i,
                    ..
                } => shard_end = Some((time.clone(), *i)),
                Event::Resumed { .. } => {
                    shard_end = None;
                    events.push(e.clone());
                }
                Event::Artifact { path, .. } => {
                    carry(&s.dir.join(path), &dir.join(path))?;
                    artifacts += 1;
                    events.push(e.clone());
                }
                _ => events.push(e.clone()),
            }
        }
        match shard_end {
            Some((t, i)) => {
                interrupted |= i;
                if ended.as_deref().is_none_or(|x| t.as_str() > x) {
                    ended = Some(t);
                }
            }
            // A shard killed before its end: the merged run is as unfinished as it is.
            None => interrupted = true,
        }
    }
    let verdict = crate::record::results::from_events(&events).verdict;
    events.push(Event::RunEnd {
        time: ended.unwrap_or_default(),
        verdict,
        interrupted,
    });
    journal::write_whole(&dir.join(JOURNAL), &events)?;
    let results = rebuild(dir, None)?;
    Ok((artifacts, results))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(index: u32, count: u32, sha: &str) -> Shard {
        Shard {
            dir: PathBuf::from(format!("results/s{index}")),
            index,
            count,
            run_id: format!("run-{index}"),
            plan: FileRef {
                path: "plan.toml".into(),
                sha256: sha.into(),
            },
            plan_cases: Vec::new(),
            events: Vec::new(),
        }
    }

    #[test]
    fn every_shard_once_of_one_plan_or_the_merge_says_which_is_wrong() {
        assert!(complete(vec![shard(2, 2, "a"), shard(1, 2, "a")]).is_ok());
        let e = complete(vec![shard(1, 3, "a"), shard(2, 3, "a")]).err();
        assert_eq!(e.map(|e| e.to_string()), Some("shard 3/3 missing".into()));
        let e = complete(vec![shard(1, 2, "a"), shard(1, 2, "a")]).err();
        assert!(matches!(e, Some(MergeError::Duplicate { index: 1, .. })));
        let e = complete(vec![shard(1, 2, "a"), shard(2, 2, "b")]).err();
        assert!(
            matches!(&e, Some(MergeError::Foreign { dir, .. }) if dir.ends_with("s2")),
            "{e:?}"
        );
        let e = complete(vec![shard(1, 2, "a"), shard(2, 3, "a")]).err();
        assert!(matches!(e, Some(MergeError::Foreign { .. })));
    }
}

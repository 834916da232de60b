//! A run directory a rig process holds is not rewritten by another: `rig report` refuses
//! it and `rig merge` will not write into it, each naming the holder's pid and start
//! time; a second merge into a destination being merged is refused the same way.

use crate::common::cmd::*;
use crate::common::fabricate::{write_run, Fab, RunSpec};
use printrig::verdict::Verdict;
use std::path::{Path, PathBuf};

/// The two shards of a plan of four cases, fabricated under `tmp`.
fn shards(tmp: &Path) -> Vec<PathBuf> {
    let all: Vec<String> = (1..=4).map(|r| format!("s/solid/nominal/r{r}")).collect();
    (1..=2u32)
        .map(|i| {
            let dir = tmp.join(format!("shard-{i}"));
            let cases: Vec<Fab> = all
                .iter()
                .skip(i as usize - 1)
                .step_by(2)
                .map(|id| Fab::new(id.clone(), Verdict::Pass))
                .collect();
            write_run(
                &dir,
                &RunSpec {
                    run_id: &format!("run-{i}"),
                    time: "2026-12-01T02:00:00Z",
                    plan_name: "four",
                    shard: Some((i, 2)),
                    plan_cases: &all,
                    files: Some(64),
                },
                &cases,
            );
            dir
        })
        .collect()
}

fn merge(dirs: &[PathBuf], out: &Path) -> std::process::Output {
    rig()
        .arg("merge")
        .args(dirs)
        .arg("-o")
        .arg(out)
        .output()
        .expect("rig merge")
}

#[test]
fn report_and_merge_refuse_a_run_directory_a_run_holds() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut child, dir) = crate::run_in_progress(tmp.path());
    let pid = child.id();
    let report = run(&["report", dir.to_str().expect("utf8")]);
    let merged = merge(&shards(tmp.path()), &dir);
    let still_running = child.try_wait().expect("wait").is_none();
    child.kill().ok();
    child.wait().expect("reaped");
    assert!(
        still_running,
        "the run ended before report and merge could try: make the plan longer"
    );
    for (what, o) in [("report", &report), ("merge", &merged)] {
        assert_eq!(o.status.code(), Some(2), "{what}: {}", text(o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("pid {pid}")) && err.contains("started 20"),
            "{what}: {err}"
        );
    }
    // Nothing was written into the run: no report files, no merged journal.
    for f in ["summary.json", "report.html", "manifest.sha256"] {
        assert!(!dir.join(f).exists(), "{f} written under a live run");
    }
    let journal = std::fs::read_to_string(dir.join("journal.ndjson")).expect("journal");
    assert!(
        !journal.contains("run-1"),
        "a shard's events in the run's journal"
    );
    // The holder gone, the report is rebuilt.
    let o = run(&["report", dir.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(dir.join("summary.json").is_file());
}

#[test]
fn a_second_merge_into_a_destination_being_merged_is_refused_naming_the_first() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dirs = shards(tmp.path());
    let out = tmp.path().join("merged");
    // What a merge holds while it builds its output.
    std::fs::create_dir(&out).expect("mkdir");
    let first = printrig::record::RunLock::acquire(&out).expect("lock");
    let o = merge(&dirs, &out);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("pid {}", std::process::id())) && err.contains("started 20"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&out).expect("list").count(),
        1,
        "nothing but the lock file"
    );
    drop(first);
    // Not held, but there: refused as before.
    let o = merge(&dirs, &out);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    // A new destination: merged under its own lock, which is free once the merge ends.
    let fresh = tmp.path().join("fresh");
    let o = merge(&dirs, &fresh);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(summary(&fresh)["counts"]["pass"], 4);
    assert!(fresh.join(".rig.lock").is_file());
    assert_eq!(printrig::record::RunLock::holder(&fresh), None);
    let o = run(&["verify", fresh.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

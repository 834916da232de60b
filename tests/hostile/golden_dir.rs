//! A resumed run judges by the golden records it started with: a changed record or
//! another directory is refused unless `--golden-dir` is given, which the journal keeps.

use crate::common::cmd::*;
use std::path::Path;

fn copy_records(to: &Path) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    for model in ["sim-80mm", "sim-58mm"] {
        std::fs::create_dir_all(to.join(model)).expect("mkdir");
        for e in std::fs::read_dir(repo.join(model)).expect("records") {
            let p = e.expect("entry").path();
            std::fs::copy(&p, to.join(model).join(p.file_name().expect("name"))).expect("copy");
        }
    }
}

fn resume(dir: &Path, more: &[&str]) -> std::process::Output {
    rig()
        .args(["run", "--resume", dir.to_str().expect("utf8"), "--quiet"])
        .args(more)
        .output()
        .expect("rig runs")
}

#[test]
fn a_resume_checks_the_golden_records_the_run_started_with() {
    let tmp = tempfile::tempdir().expect("tmp");
    let golden = tmp.path().join("golden");
    copy_records(&golden);
    let plan = write(
        tmp.path(),
        "two.toml",
        "[plan]\nname = \"two\"\nstations = [\"sim-58mm\"]\npatterns = [\"solid\"]\n\
         repeats = 2\nretries = 0\n[[condition]]\nname = \"nominal\"\n",
    );
    let results = tmp.path().join("results");
    let o = run_plan(
        &plan,
        &results,
        &["--golden-dir", golden.to_str().expect("utf8")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let dir = run_dir(&results);
    let journal = std::fs::read_to_string(dir.join("journal.ndjson")).expect("journal");
    let start: serde_json::Value =
        serde_json::from_str(journal.lines().next().expect("first line")).expect("json");
    let record = golden.join("sim-58mm/solid.json");
    let canon = std::fs::canonicalize(&record).expect("canonical");
    assert_eq!(
        start["golden"]["records"][0]["path"],
        canon.display().to_string()
    );
    assert_eq!(
        start["golden"]["records"][0]["sha256"],
        printrig::util::sha256_file(&record).expect("hash")
    );
    // Resumed from another directory without --golden-dir: the records it started with.
    let o = rig()
        .current_dir(tmp.path())
        .args(["run", "--resume", dir.to_str().expect("utf8"), "--quiet"])
        .output()
        .expect("rig runs");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A record edited since: refused by name …
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).expect("read")).expect("json");
    r["tolerances"]["column_fail"] = 0.9.into();
    std::fs::write(&record, serde_json::to_string(&r).expect("json")).expect("write");
    let o = resume(&dir, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&canon.display().to_string()) && err.contains("--golden-dir"),
        "{err}"
    );
    // … as is another directory, unless given explicitly, which the journal keeps.
    let before = std::fs::read_to_string(dir.join("journal.ndjson")).expect("journal");
    let o = resume(&dir, &["--golden-dir", golden.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let after = std::fs::read_to_string(dir.join("journal.ndjson")).expect("journal");
    assert!(after.starts_with(&before), "append-only");
    let changed: Vec<&str> = after
        .lines()
        .filter(|l| l.contains("\"golden_changed\""))
        .collect();
    assert_eq!(changed.len(), 1, "{after}");
    // Now the edited record is the one on record: a plain resume accepts it.
    let o = resume(&dir, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

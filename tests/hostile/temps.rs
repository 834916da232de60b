//! Temp files a killed run left behind: a resume removes the atomic writer's temp files
//! whose writer is dead, and nothing else.

use crate::common::cmd::*;
use std::path::Path;
use std::process::Command;

fn put(path: &Path) {
    std::fs::write(path, "left behind").expect("write");
}

#[test]
fn a_resume_removes_the_temp_files_of_dead_writers_and_nothing_else() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = crate::finished_run(tmp.path());
    let case = dir.join("cases/sim-58mm/solid/nominal/r1/attempt-1");
    assert!(case.is_dir(), "{}", case.display());
    // A writer that has ended, one that is running, and one the lock file names as the
    // run's last process (whatever runs under its pid now: here, this test).
    let mut ended = Command::new("true").spawn().expect("spawn");
    let dead = ended.id();
    ended.wait().expect("reaped");
    let mut sleeper = Command::new("sleep").arg("120").spawn().expect("spawn");
    let alive = sleeper.id();
    let me = std::process::id();
    std::fs::write(
        dir.join(".rig.lock"),
        format!("pid {me}\nstarted 2026-12-03T15:04:47.123456Z\n"),
    )
    .expect("lock file");
    let gone = [
        case.join(format!(".scan.png.tmp-{dead}")),
        case.join(format!(".overlay.png.tmp-{me}")),
        dir.join(format!(".summary.json.tmp-{dead}")),
    ];
    let kept = [
        case.join(format!(".thumb.png.tmp-{alive}")),
        dir.join(format!("notes.tmp-{dead}")),
        dir.join(format!(".notes.tmp-{dead}.bak")),
        case.join(format!(".scan.png.tmp-x{dead}")),
    ];
    for p in gone.iter().chain(&kept) {
        put(p);
    }
    let o = run(&["run", "--resume", dir.to_str().expect("utf8"), "--quiet"]);
    sleeper.kill().ok();
    sleeper.wait().ok();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for p in &gone {
        assert!(!p.exists(), "{} should be removed", p.display());
    }
    for p in &kept {
        assert_eq!(
            std::fs::read_to_string(p).ok().as_deref(),
            Some("left behind"),
            "{} must stay as it was",
            p.display()
        );
    }
    // The run's own files are untouched and still verify.
    let o = run(&["verify", dir.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

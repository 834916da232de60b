//! Two rig processes on one run directory: the second is refused, naming the first.

use crate::common::cmd::*;

#[test]
fn a_second_resume_of_a_run_in_progress_is_refused_with_the_holders_pid() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut child, dir) = crate::run_in_progress(tmp.path());
    let o = run(&["run", "--resume", dir.to_str().expect("utf8"), "--quiet"]);
    let still_running = child.try_wait().expect("wait").is_none();
    let first_pid = child.id();
    child.kill().ok();
    child.wait().expect("reaped");
    if !still_running {
        // The first run finished before the second started: nothing to assert about a lock.
        panic!("the run ended before the second process could try: make the plan longer");
    }
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("pid {first_pid}")) && err.contains("started 20"),
        "{err}"
    );
    // Once the holder is gone (killed: the kernel lets the lock go), the run resumes.
    let o = run(&["run", "--resume", dir.to_str().expect("utf8"), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(summary(&dir)["counts"]["pass"], 6);
}

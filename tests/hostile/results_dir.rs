//! A results directory the rig cannot create is invalid input (exit 2) naming it and why,
//! before anything prints.

use crate::common::cmd::*;
use std::os::unix::fs::PermissionsExt;

const ONE: &str = "[plan]\nname = \"one\"\nstations = [\"sim-58mm\"]\npatterns = [\"solid\"]\n\
                   retries = 0\n[[condition]]\nname = \"nominal\"\n";

#[test]
fn a_results_directory_that_cannot_be_created_is_invalid_input_naming_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plan = write(tmp.path(), "one.toml", ONE);
    // Under a regular file.
    let file = write(tmp.path(), "a-file", "not a directory");
    let results = file.join("results");
    let o = run_plan(&plan, &results, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(results.to_str().expect("utf8")) && err.contains("Not a directory"),
        "{err}"
    );
    assert!(o.stdout.is_empty() || !String::from_utf8_lossy(&o.stdout).contains("PASS"));
    // Under a read-only folder (root writes anywhere: only for other users).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let ro = tmp.path().join("ro");
        std::fs::create_dir(&ro).expect("mkdir");
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        let results = ro.join("results");
        let o = run_plan(&plan, &results, &[]);
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(results.to_str().expect("utf8")) && err.contains("Permission denied"),
            "{err}"
        );
    }
}

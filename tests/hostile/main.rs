//! The rig under hostile instruments, damaged files and planted links: torn and oversized
//! journals, truncated scans, edited golden records, huge plans, two processes on one run
//! directory (runs, reports, merges), temp files of killed runs, a full disk, a results
//! directory that cannot be made, symlinks and FIFOs in a run directory, flooding and
//! silent printers, SCPI replies without end or with escape codes, station programs that
//! leave processes behind or hang, feed and cut bombs, short rolls. Each test asserts the
//! clear error, the bound, and that nothing outside the run directory changed.

#[path = "../common/mod.rs"]
mod common;

mod exec;
mod feed;
mod files;
mod flood;
mod golden_dir;
mod held;
mod journal;
mod journal_bound;
mod links;
mod lock;
mod replies;
mod results_dir;
mod silent;
mod storage;
mod temps;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A plan of two solid cases on the simulated 58 mm station.
pub const TWO_CASES: &str = r#"
[plan]
name = "two"
stations = ["sim-58mm"]
patterns = ["solid"]
repeats = 2
retries = 0
[[condition]]
name = "nominal"
"#;

/// A plan of six cases on the simulated 58 mm station: long enough to be caught running.
const SLOW: &str = r#"
[plan]
name = "slow"
stations = ["sim-58mm"]
patterns = ["solid", "receipt", "elements"]
repeats = 2
retries = 0
[[condition]]
name = "nominal"
"#;

/// Starts `rig run` of a slow plan under `tmp` and waits until its run directory has a
/// journal: the running process (the caller stops it) and its run directory.
#[allow(
    clippy::zombie_processes,
    reason = "the child is handed to the caller, who stops and waits for it"
)]
pub fn run_in_progress(tmp: &Path) -> (Child, PathBuf) {
    use common::cmd::{first_run_dir, rig, write};
    let plan = write(tmp, "slow.toml", SLOW);
    let results = tmp.join("results");
    let mut child = rig()
        .arg("run")
        .arg(&plan)
        .arg("--results")
        .arg(&results)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let t0 = Instant::now();
    loop {
        if let Some(d) = first_run_dir(&results) {
            if d.join("journal.ndjson").is_file() {
                return (child, d);
            }
        }
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no run started");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a command to its end, or kills it after `limit`: a hang fails the test instead
/// of stalling the suite.
pub fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let t0 = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A FIFO at `path`.
pub fn mkfifo(path: &std::path::Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(st.success());
}

/// A finished run of two cases on the built-in 58 mm station; its run directory.
pub fn finished_run(tmp: &std::path::Path) -> std::path::PathBuf {
    let plan = common::cmd::write(
        tmp,
        "two.toml",
        "[plan]\nname = \"two\"\nstations = [\"sim-58mm\"]\npatterns = [\"solid\"]\n\
         repeats = 2\nretries = 0\n[[condition]]\nname = \"nominal\"\n",
    );
    let results = tmp.join("results");
    let o = common::cmd::run_plan(&plan, &results, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", common::cmd::text(&o));
    common::cmd::run_dir(&results)
}

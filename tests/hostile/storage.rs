//! The rig's own disk full under a run: the run stops at once with the path and the
//! system's reason (exit 4), the case in progress is not recorded, and a resume once there
//! is room does it again.
//!
//! The full disk is a file size limit (`RLIMIT_FSIZE`, with `SIGXFSZ` ignored so a write
//! past it fails with `EFBIG`), set on the `rig` process alone: it needs no privileges
//! and touches no real file system.

use crate::common::cmd::*;
use crate::TWO_CASES;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `rig run PLAN --results DIR --quiet` whose files may not grow past `limit` bytes.
fn run_with_file_limit(plan: &Path, results: &Path, limit: u64) -> Command {
    let mut c = rig();
    c.arg("run")
        .arg(plan)
        .arg("--results")
        .arg(results)
        .arg("--quiet");
    // SAFETY: between fork and exec the closure makes two async-signal-safe calls.
    unsafe {
        c.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let rl = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c
}

fn events(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("journal.ndjson"))
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line an event"))
        .collect()
}

#[test]
fn a_full_disk_stops_the_run_at_once_unrecorded_and_a_resume_does_the_case_again() {
    // 1 MiB: the job file (27 kB) and the journal fit, the simulated scanner's page
    // (2.2 MB) does not. 16 KiB: the job file does not.
    for (limit, names) in [(1 << 20, "scan-0001.png"), (16 << 10, "job.bin")] {
        let tmp = tempfile::tempdir().expect("tmp");
        let plan = write(tmp.path(), "two.toml", TWO_CASES);
        let results = tmp.path().join("results");
        // Well within the 60 s the scan step would wait for a scan that never comes.
        let o = crate::output_within(
            run_with_file_limit(&plan, &results, limit),
            Duration::from_secs(40),
        );
        assert_eq!(o.status.code(), Some(4), "{limit}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(names) && err.contains("File too large") && err.contains("--resume"),
            "{limit}: {err}"
        );
        let dir = run_dir(&results);
        let evs = events(&dir);
        let first = "sim-58mm/solid/nominal/r1";
        assert!(
            evs.iter()
                .any(|e| e["event"] == "case_start" && e["case"] == first),
            "{limit}: the first case started"
        );
        assert!(
            !evs.iter().any(|e| e["event"] == "case_end"),
            "{limit}: no case is recorded as ended: {evs:#?}"
        );
        // Room again: the resume does both cases, each recorded once.
        let o = crate::output_within(
            {
                let mut c = rig();
                c.args(["run", "--resume", dir.to_str().expect("utf8"), "--quiet"]);
                c
            },
            Duration::from_secs(120),
        );
        assert_eq!(o.status.code(), Some(0), "{limit}: {}", text(&o));
        let s = summary(&dir);
        assert_eq!(s["counts"]["pass"], 2, "{limit}: {s:#}");
        let mut ends: Vec<String> = events(&dir)
            .iter()
            .filter(|e| e["event"] == "case_end" && e["last"] == true)
            .map(|e| e["case"].as_str().expect("case").to_string())
            .collect();
        ends.sort();
        assert_eq!(
            ends,
            ["sim-58mm/solid/nominal/r1", "sim-58mm/solid/nominal/r2"],
            "{limit}"
        );
        let o = run(&["verify", dir.to_str().expect("utf8")]);
        assert_eq!(o.status.code(), Some(0), "{limit}: {}", text(&o));
    }
}

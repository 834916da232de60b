//! Station programs that start processes of their own: a reading printed by a program
//! that leaves a background process holding its output is the answer, at once, and
//! nothing it started outlives it; a program that hangs is stopped with everything it
//! started at its timeout.

use printrig::instrument::chamber::exec::ExecChamber;
use printrig::instrument::chamber::Chamber;
use printrig::instrument::power::exec::ExecPower;
use printrig::instrument::power::Power;
use printrig::instrument::InstrumentError;
use std::path::Path;
use std::time::{Duration, Instant};

fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The pid a program wrote to `file`.
fn pid_in(file: &Path) -> u32 {
    let s = std::fs::read_to_string(file).expect("pid file");
    s.trim().parse().expect("a pid")
}

/// Whether `pid` is a process still running (a zombie is not: it has ended and only
/// waits to be reaped).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // `pid (comm) S …`: the state follows the last ')'.
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.trim().chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// Waits, bounded, for `pid` to end; whether it did.
fn ends(pid: u32) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        if !running(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Kills a process a failed test left behind.
fn kill(pid: u32) {
    // SAFETY: a plain syscall on a pid this test's program started.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
}

#[tokio::test]
async fn a_reading_left_behind_by_a_background_process_is_the_answer() {
    let tmp = tempfile::tempdir().expect("tmp");
    let pid_file = tmp.path().join("sleep.pid");
    let script = format!("sleep 30 & echo $! > '{}'; echo 5.00", pid_file.display());
    // Long enough that a runner waiting for the background process' end of output
    // would time out long after the answer was there.
    let mut ch = ExecChamber::new(
        "oven",
        argv(&["true"]),
        argv(&["sh", "-c", &script]),
        Duration::from_secs(20),
    );
    let t = ch.temperature().await;
    let sleeper = pid_in(&pid_file);
    let gone = ends(sleeper);
    if !gone {
        kill(sleeper);
    }
    assert_eq!(t.expect("the reading"), 5.0);
    assert!(
        gone,
        "the background `sleep` ({sleeper}) outlived the program"
    );
}

#[tokio::test]
async fn a_hanging_program_is_stopped_with_everything_it_started() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bg = tmp.path().join("bg.pid");
    let sh = tmp.path().join("sh.pid");
    // The program ignores SIGTERM (so SIGKILL has to follow) and its background child
    // does not.
    let script = format!(
        "trap '' TERM; sleep 30 & echo $! > '{}'; echo $$ > '{}'; while :; do sleep 1; done",
        bg.display(),
        sh.display()
    );
    let mut p = ExecPower::new(
        "plug",
        argv(&["sh", "-c", &script]),
        argv(&["true"]),
        Duration::from_millis(1500),
    );
    let e = p.set_output(true).await.expect_err("it never ends");
    let (bg, sh) = (pid_in(&bg), pid_in(&sh));
    let gone = (ends(bg), ends(sh));
    for (pid, ended) in [(bg, gone.0), (sh, gone.1)] {
        if !ended {
            kill(pid);
        }
    }
    assert!(matches!(e, InstrumentError::Timeout { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("plug (exec): no answer to switch on") && msg.contains("stopped"),
        "{msg}"
    );
    assert!(gone.0, "the background `sleep` ({bg}) outlived the timeout");
    assert!(gone.1, "the program ({sh}) outlived the timeout");
}

//! A journal with a line longer than a journal line may be, or larger than a journal may
//! be: an error naming the file (and the line), read no further than the bound, never the
//! whole line in memory.

use crate::common::cmd::*;
use printrig::record::journal::{MAX_JOURNAL_BYTES, MAX_LINE_BYTES};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd` to its end (killed after `limit`): its exit code, stderr and peak resident
/// memory in KiB.
fn measured(mut cmd: Command, limit: Duration) -> (Option<i32>, String, i64) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).ok();
        s
    });
    let pid = child.id() as libc::pid_t;
    let t0 = Instant::now();
    let (status, rss) = loop {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child, without blocking.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(r >= 0, "wait4: {}", std::io::Error::last_os_error());
        if r == pid {
            break (status, usage.ru_maxrss);
        }
        if t0.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("{cmd:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Reaped by wait4 already: std's wait only finds it gone.
    let _ = child.wait();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, reader.join().expect("stderr"), rss)
}

/// `journal` with a line of `len` zero bytes (a hole: no disk) inserted after its
/// `after`-th line.
fn insert_line(journal: &Path, after: usize, len: u64) {
    let text = std::fs::read(journal).expect("journal");
    let mut at = 0;
    for _ in 0..after {
        at += text[at..].iter().position(|&b| b == b'\n').expect("line") + 1;
    }
    let mut f = std::fs::File::create(journal).expect("rewrite");
    f.write_all(&text[..at]).expect("write");
    let end = f.stream_position().expect("pos") + len;
    f.set_len(end).expect("hole");
    f.seek(SeekFrom::Start(end)).expect("seek");
    f.write_all(b"\n").expect("write");
    f.write_all(&text[at..]).expect("write");
}

#[test]
fn an_oversized_journal_line_is_named_without_reading_it_whole() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = crate::finished_run(tmp.path());
    let journal = dir.join("journal.ndjson");
    let original = std::fs::read(&journal).expect("journal");
    // A line of 900 MB in a journal just under the whole-journal bound.
    let line = MAX_JOURNAL_BYTES - original.len() as u64 - 4096;
    assert!(line > 10 * MAX_LINE_BYTES as u64);
    insert_line(&journal, 2, line);
    let shown = journal.to_str().expect("utf8").to_string();
    for args in [
        vec!["report", dir.to_str().expect("utf8")],
        vec!["run", "--resume", dir.to_str().expect("utf8"), "--quiet"],
    ] {
        let mut c = rig();
        c.args(&args);
        let (code, err, rss_kib) = measured(c, Duration::from_secs(60));
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&shown) && err.contains("line 3 is longer than"),
            "{args:?}: {err}"
        );
        // The line is read up to the bound (64 MiB), not whole (900 MB).
        assert!(
            rss_kib < 400 * 1024,
            "{args:?}: peak resident memory {rss_kib} KiB"
        );
    }
    // A journal larger than a journal may be is refused before it is read.
    std::fs::write(&journal, &original).expect("restore");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&journal)
        .expect("open");
    f.set_len(MAX_JOURNAL_BYTES + 1).expect("grow");
    drop(f);
    let o = run(&["report", dir.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&shown) && err.contains("larger than the"),
        "{err}"
    );
}

//! A feed bomb: `ESC d 255` repeated. The paper a job moves is bounded by the roll; the
//! printer reports paper end, as a real one would, instead of printing kilometres.

use crate::common::cmd::*;

#[test]
fn a_feed_bomb_stops_at_paper_end_with_bounded_output() {
    let tmp = tempfile::tempdir().expect("tmp");
    // 30 KB: 10 000 × 255 rows, 2.55 million rows (320 m of paper at 8 dots/mm).
    let mut bomb = vec![0x1B, 0x40];
    for _ in 0..10_000 {
        bomb.extend_from_slice(&[0x1B, 0x64, 255]);
    }
    let job = tmp.path().join("bomb.bin");
    std::fs::write(&job, &bomb).expect("write");
    let out = tmp.path().join("page.png");
    let o = run(&[
        "sim",
        "print",
        job.to_str().expect("utf8"),
        "--head-dots",
        "384",
        "-o",
        out.to_str().expect("utf8"),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("paper end"), "{}", text(&o));
    // What came out is bounded by the roll (one page, at most the longest page kept).
    let written: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".png"))
        .collect();
    assert!(!written.is_empty() && written.len() <= 7, "{written:?}");
    let rows: u64 = written
        .iter()
        .map(|e| u64::from(image::image_dimensions(e.path()).expect("png").1))
        .sum();
    assert!(
        rows <= printrig::sim::head::DEFAULT_ROLL_ROWS,
        "{rows} rows"
    );
}

/// A roll of 5 cm (400 dot rows) under a solid pattern of 560 rows: the job ends at paper
/// end where the paper does, in `rig sim print` (`--roll-m`) and on a simulated station
/// whose file sets `roll_m`.
#[test]
fn a_short_roll_ends_the_job_at_paper_end() {
    let tmp = tempfile::tempdir().expect("tmp");
    let job = tmp.path().join("solid.bin");
    let o = run(&[
        "patterns",
        "escpos",
        "solid",
        "--dots",
        "576",
        "-o",
        job.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page = tmp.path().join("page.png");
    let o = run(&[
        "sim",
        "print",
        job.to_str().expect("utf8"),
        "--roll-m",
        "0.05",
        "-o",
        page.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("page 576×400 dots") && stdout.contains("paper end at the command"),
        "{}",
        text(&o)
    );
    assert_eq!(image::image_dimensions(&page).expect("png"), (576, 400));
    // A roll the simulator cannot have is refused.
    let o = run(&[
        "sim",
        "print",
        job.to_str().expect("utf8"),
        "--roll-m",
        "0",
        "-o",
        page.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    let station = write(
        tmp.path(),
        "short.toml",
        "[[station]]\nname = \"short\"\nkind = \"sim\"\nmodel = \"sim-80mm\"\n\
         [station.printer]\ndots = 576\nlink = { kind = \"tcp\" }\nack_timeout_s = 2\n\
         [station.sim]\ntime_scale = 120.0\nroll_m = 0.05\n",
    );
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"roll\"\npatterns = [\"solid\"]\nretries = 0\n\
         [[condition]]\nname = \"nominal\"\n",
    );
    let results = tmp.path().join("results");
    let o = run_on(&plan, &station, &results);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let s = summary(&run_dir(&results));
    let c = case(&s, "short/solid/nominal/r1");
    let reasons = c["reasons"].to_string();
    assert!(
        reasons.contains("truncated") && reasons.contains("print stops at row 400"),
        "{c:#}"
    );
    // A roll out of range is the station file's error, at its line.
    let bad = write(
        tmp.path(),
        "bad.toml",
        "[[station]]\nname = \"short\"\nkind = \"sim\"\nmodel = \"sim-80mm\"\n\
         [station.printer]\ndots = 576\nlink = { kind = \"tcp\" }\n\
         [station.sim]\nroll_m = -1\n",
    );
    let o = run_on(&plan, &bad, &tmp.path().join("bad"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{}:9:", bad.display())) && err.contains("station.sim.roll_m"),
        "{err}"
    );
}

/// Runs `rig` with `args` to its end; its stdout and its peak resident memory in bytes
/// (the kernel's `ru_maxrss` of that one process).
fn rig_peak_rss(args: &[&str]) -> (String, u64) {
    use std::io::Read;
    let mut child = rig()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("rig runs");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it for the child this test spawned,
    // and reaps it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4");
    // Reaped by wait4 already: this only tells `child` so (it answers ECHILD).
    let _ = child.wait();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{stdout}"
    );
    (stdout, usage.ru_maxrss as u64 * 1024)
}

/// The feed bomb on the 80 mm head, and a cut bomb (a feed and a cut, 10 000 times):
/// every page is written as it is cut, and the process stays small; the 65 536-row page
/// of the feed bomb is the most the printer holds.
#[test]
fn a_cut_bomb_writes_page_after_page_in_bounded_memory() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut feeds = vec![0x1B, 0x40];
    let mut cuts = vec![0x1B, 0x40];
    for _ in 0..10_000 {
        feeds.extend_from_slice(&[0x1B, 0x64, 255]);
        cuts.extend_from_slice(&[0x1B, 0x64, 255, 0x1D, 0x56, 0x01]);
    }
    let feeds_job = tmp.path().join("feeds.bin");
    let cuts_job = tmp.path().join("cuts.bin");
    std::fs::write(&feeds_job, &feeds).expect("write");
    std::fs::write(&cuts_job, &cuts).expect("write");
    const MB: u64 = 1024 * 1024;

    let page = tmp.path().join("feed/page.png");
    std::fs::create_dir_all(page.parent().expect("dir")).expect("mkdir");
    let (out, peak) = rig_peak_rss(&[
        "sim",
        "print",
        feeds_job.to_str().expect("utf8"),
        "-o",
        page.to_str().expect("utf8"),
    ]);
    assert!(
        out.contains("page 576×65536 dots") && out.contains("paper end"),
        "{out}"
    );
    assert!(peak < 200 * MB, "the feed bomb peaked at {} MB", peak / MB);

    let page = tmp.path().join("cut/page.png");
    std::fs::create_dir_all(page.parent().expect("dir")).expect("mkdir");
    let (out, peak) = rig_peak_rss(&[
        "sim",
        "print",
        cuts_job.to_str().expect("utf8"),
        "-o",
        page.to_str().expect("utf8"),
    ]);
    assert!(out.contains("paper end"), "{out}");
    let pages = out.lines().filter(|l| l.starts_with("page 576×")).count();
    let written = std::fs::read_dir(page.parent().expect("dir"))
        .expect("list")
        .count();
    // 52 cut pages of 7 650 rows (4.4 MB each) and the last, torn off at paper end.
    assert!(
        pages > 50 && written == pages,
        "{pages} pages, {written} files"
    );
    assert!(
        peak < 100 * MB,
        "{pages} pages of 7 650 rows peaked at {} MB",
        peak / MB
    );
}

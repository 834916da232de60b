//! Symlinks, FIFOs and devices planted in a run directory or named as outputs: a resume
//! refuses them by name and writes or deletes nothing outside; a report never follows or
//! opens them and lists what it skipped; an output the user named that is a link or a
//! device is written through, never replaced.

use crate::common::cmd::*;
use crate::{finished_run, mkfifo, output_within};
use std::path::Path;
use std::time::Duration;

/// Every file below `dir` with its contents (links not followed).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("list").flatten() {
            let ft = e.file_type().expect("type");
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push((
                    e.path().display().to_string(),
                    std::fs::read(e.path()).expect("read"),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_resume_refuses_links_planted_in_the_run_directory_and_touches_nothing_outside() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = finished_run(tmp.path());
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(outside.join("scans")).expect("mkdir");
    std::fs::write(outside.join("scans/keep.png"), "precious").expect("write");
    std::fs::write(outside.join("keep.txt"), "precious").expect("write");
    let before = snapshot(&outside);
    // A symlinked `stations`, then a symlinked case folder.
    let stations = dir.join("stations");
    let plants = [
        (stations.clone(), outside.clone()),
        (dir.join("cases/sim-58mm/solid/nominal/r3"), outside.clone()),
    ];
    for (link, target) in plants {
        let _ = std::fs::remove_dir_all(&link);
        std::os::unix::fs::symlink(&target, &link).expect("plant");
        let o = output_within(
            {
                let mut c = rig();
                c.args(["run", "--resume", dir.to_str().expect("utf8"), "--quiet"]);
                c
            },
            Duration::from_secs(120),
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&link.display().to_string()) && err.contains("symlink"),
            "{err}"
        );
        assert_eq!(snapshot(&outside), before, "nothing outside changed");
        std::fs::remove_file(&link).expect("unplant");
    }
}

#[test]
fn a_report_skips_fifos_device_links_and_loops_and_lists_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = finished_run(tmp.path());
    let station = dir.join("stations/sim-58mm");
    std::fs::create_dir_all(&station).expect("mkdir");
    let _ = std::fs::remove_file(station.join("printer.tty"));
    std::os::unix::fs::symlink("/dev/zero", station.join("printer.tty")).expect("tty link");
    mkfifo(&dir.join("cases/pipe"));
    std::os::unix::fs::symlink(&dir, dir.join("cases/loop")).expect("loop");
    std::os::unix::fs::symlink(dir.join("cases"), dir.join("cases/up")).expect("loop");
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero")).expect("zero");
    let o = output_within(
        {
            let mut c = rig();
            c.args(["report", dir.to_str().expect("utf8")]);
            c
        },
        Duration::from_secs(60),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for (path, why) in [
        ("cases/pipe", "FIFO"),
        ("cases/loop", "symlink"),
        ("cases/up", "symlink"),
        ("zero", "symlink"),
        ("stations/sim-58mm/printer.tty", "symlink"),
    ] {
        assert!(
            out.contains(&format!("skipped    {path}: {why}")),
            "{path}: {out}"
        );
    }
    let manifest = std::fs::read_to_string(dir.join("manifest.sha256")).expect("manifest");
    assert!(!manifest.contains("pipe") && !manifest.contains("zero") && !manifest.contains("loop"));
    check_files(&dir);
    let s = summary(&dir);
    assert_eq!(s["skipped"].as_array().map(Vec::len), Some(5), "{s:#}");
}

#[test]
fn outputs_named_as_links_or_devices_are_written_through_not_replaced() {
    let tmp = tempfile::tempdir().expect("tmp");
    let real = tmp.path().join("real.json");
    std::fs::write(&real, "old").expect("write");
    let link = tmp.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).expect("link");
    let fixture = crate::common::repo_path("fixtures/solid-576-dead200-150dpi.png");
    for out in [link.as_path(), Path::new("/dev/null")] {
        let o = run(&[
            "analyze",
            fixture.to_str().expect("utf8"),
            "--pattern",
            "solid",
            "--dots",
            "576",
            "--json-out",
            out.to_str().expect("utf8"),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    }
    assert!(std::fs::symlink_metadata(&link)
        .expect("lstat")
        .file_type()
        .is_symlink());
    let json = std::fs::read_to_string(&real).expect("target");
    assert!(json.contains("\"defects\""), "{json}");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata("/dev/null")
        .expect("lstat")
        .file_type()
        .is_char_device());
}

//! End-to-end tests of the `rig` binary: every command run as a user runs it, in a temporary
//! directory, checking the exit code and the words of the output a user (or a script)
//! relies on.

use assert_cmd::Command;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Runs `rig` with `args` in `dir`; returns (exit code, stdout, stderr).
fn rig(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("rig")
        .expect("the rig binary is built")
        .current_dir(dir)
        .env_remove("RIG_LOG")
        .args(args)
        .output()
        .expect("rig runs");
    let code = out.status.code().expect("rig exits with a code");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "rig {args:?} panicked:\n{stderr}"
    );
    (code, stdout, stderr)
}

/// Runs `rig` and requires exit code 0.
fn rig_ok(dir: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = rig(dir, args);
    assert_eq!(
        code, 0,
        "rig {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// Asserts the exit code, with the whole output in the failure message.
fn assert_code(got: &(i32, String, String), want: i32, args: &str) {
    assert_eq!(
        got.0, want,
        "rig {args}: exit code\nstdout:\n{}\nstderr:\n{}",
        got.1, got.2
    );
}

fn golden(model: &str, pattern: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(model)
        .join(format!("{pattern}.json"))
        .display()
        .to_string()
}

fn tmp() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Encodes `pattern` at `dots`, prints it with `faults` and scans it at `dpi`; returns the
/// scan's file name (in `dir`). `tag` keeps the files of several prints apart.
fn print_and_scan(
    dir: &Path,
    tag: &str,
    pattern: &str,
    dots: u32,
    faults: &[&str],
    seed: u64,
    dpi: u32,
) -> String {
    let job = format!("{tag}-job.bin");
    let paper = format!("{tag}-paper.png");
    let scan = format!("{tag}-scan.png");
    let dots = dots.to_string();
    let seed = seed.to_string();
    let dpi = dpi.to_string();
    rig_ok(
        dir,
        &["patterns", "escpos", pattern, "--dots", &dots, "-o", &job],
    );
    let mut args = vec![
        "sim", "print", &job, "-o", &paper, "--seed", &seed, "--dots", &dots,
    ];
    for f in faults {
        args.extend(["--fault", f]);
    }
    rig_ok(dir, &args);
    rig_ok(
        dir,
        &[
            "sim", "scan", &paper, "--dpi", &dpi, "--seed", &seed, "-o", &scan,
        ],
    );
    scan
}

/// `rig analyze SCAN` as the 576-dot solid pattern against the sim-80mm golden record.
fn analyze_solid_576(dir: &Path, scan: &str) -> (i32, String, String) {
    let gold = golden("sim-80mm", "solid");
    rig(
        dir,
        &[
            "analyze",
            scan,
            "--pattern",
            "solid",
            "--dots",
            "576",
            "--golden",
            &gold,
        ],
    )
}

fn png_size(path: &Path) -> (u32, u32) {
    image::image_dimensions(path).expect("a readable PNG")
}

// 1 ───────────────────────────────────────────────────────────────────────────────────────

#[test]
fn new_user_flow_finds_the_dead_right_half() {
    let t = tmp();
    let d = t.path();
    let out = rig_ok(
        d,
        &[
            "patterns", "escpos", "solid", "--dots", "576", "-o", "job.bin",
        ],
    );
    assert!(out.contains("solid at 576 dots"), "{out}");
    assert!(d.join("job.bin").metadata().unwrap().len() > 0);

    let out = rig_ok(
        d,
        &[
            "sim",
            "print",
            "job.bin",
            "--fault",
            "half=right",
            "-o",
            "paper.png",
        ],
    );
    assert!(out.contains("page 576×"), "{out}");
    assert_eq!(png_size(&d.join("paper.png")).0, 576);

    let out = rig_ok(
        d,
        &[
            "sim",
            "scan",
            "paper.png",
            "--dpi",
            "600",
            "--skew",
            "1.5",
            "-o",
            "scan.png",
        ],
    );
    assert!(out.contains("600 dpi"), "{out}");

    let gold = golden("sim-80mm", "solid");
    let args = [
        "analyze",
        "scan.png",
        "--pattern",
        "solid",
        "--dots",
        "576",
        "--golden",
        &gold,
    ];
    let r = rig(d, &args);
    assert_code(&r, 1, "analyze (half=right)");
    let out = &r.1;
    assert!(out.contains("FAIL"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("half_width"))
        .unwrap_or_else(|| panic!("no half_width defect in:\n{out}"));
    assert!(line.contains("on the right"), "{line}");
    // "dots 288–575" (an en dash)
    let range = line
        .split("dots ")
        .nth(1)
        .unwrap_or_else(|| panic!("no dot range in: {line}"));
    let (start, rest) = range
        .split_once('–')
        .unwrap_or_else(|| panic!("no en dash in: {line}"));
    let start: u32 = start.trim().parse().expect("a start dot");
    assert!((286..=290).contains(&start), "start dot {start}: {line}");
    assert!(
        rest.starts_with("575"),
        "the defect runs to the edge: {line}"
    );

    // the same as JSON, with an overlay picture
    let mut json_args = args.to_vec();
    json_args.extend(["--json", "--overlay", "ov.png"]);
    let r = rig(d, &json_args);
    assert_code(&r, 1, "analyze --json");
    let v: serde_json::Value = serde_json::from_str(&r.1).expect("stdout is JSON");
    assert_eq!(v["verdict"], "fail", "{}", r.1);
    let defects = v["defects"].as_array().expect("a defects array");
    let half = defects
        .iter()
        .find(|x| x["kind"] == "half_width")
        .unwrap_or_else(|| panic!("no half_width defect: {defects:?}"));
    assert_eq!(half["side"], "right");
    let start = half["start"].as_u64().expect("a start dot");
    assert!(start.abs_diff(288) <= 2, "start dot {start}");
    let ov = std::fs::read(d.join("ov.png")).expect("the overlay was written");
    assert!(ov.starts_with(&PNG_SIGNATURE), "overlay is not a PNG");
}

// 2 ───────────────────────────────────────────────────────────────────────────────────────

#[test]
fn healthy_print_passes_against_its_golden_record() {
    let t = tmp();
    let d = t.path();
    let scan = print_and_scan(d, "ok", "solid", 576, &[], 1, 300);
    let r = analyze_solid_576(d, &scan);
    assert_code(&r, 0, "analyze (healthy)");
    assert!(r.1.contains("PASS"), "{}", r.1);
    assert!(r.1.contains("no defects"), "{}", r.1);
}

// 3 ───────────────────────────────────────────────────────────────────────────────────────

/// `rig analyze` on bad input: exit 2 and an `error:` line containing every one of `words`.
fn analyze_rejects(d: &Path, scan: &str, extra: &[&str], words: &[&str]) {
    let mut args = vec!["analyze", scan, "--pattern", "solid", "--dots", "576"];
    // clap refuses a repeated flag: a case that sets --pattern or --dots replaces the default
    for pair in extra.chunks(2) {
        match pair {
            ["--pattern", v] => args[3] = *v,
            ["--dots", v] => args[5] = *v,
            other => args.extend_from_slice(other),
        }
    }
    let r = rig(d, &args);
    assert_code(&r, 2, &args.join(" "));
    assert!(
        r.2.contains("error:"),
        "rig {args:?}: no error line:\n{}",
        r.2
    );
    for w in words {
        assert!(
            r.2.contains(w),
            "rig {args:?}: stderr lacks {w:?}:\n{}",
            r.2
        );
    }
}

#[test]
fn analyze_rejects_bad_input_with_a_clear_message() {
    let t = tmp();
    let d = t.path();
    let scan = print_and_scan(d, "ok", "solid", 576, &[], 1, 300);

    std::fs::write(d.join("empty.png"), b"").unwrap();
    analyze_rejects(d, "empty.png", &[], &["empty.png", "empty"]);

    std::fs::write(d.join("notes.txt"), "scan it tomorrow\n").unwrap();
    analyze_rejects(d, "notes.txt", &[], &["notes.txt", "not an image"]);

    let png = std::fs::read(d.join(&scan)).unwrap();
    std::fs::write(d.join("half.png"), &png[..png.len() / 2]).unwrap();
    analyze_rejects(d, "half.png", &[], &["half.png", "damaged or truncated"]);

    analyze_rejects(d, "missing.png", &[], &["missing.png", "cannot read"]);

    analyze_rejects(
        d,
        &scan,
        &["--pattern", "zigzag"],
        &["unknown pattern", "zigzag"],
    );
    analyze_rejects(
        d,
        &scan,
        &["--dots", "577"],
        &["577", "not a supported head width"],
    );

    let ladder = golden("sim-80mm", "ladder");
    analyze_rejects(
        d,
        &scan,
        &["--golden", &ladder],
        &["ladder.json", "is for ladder"],
    );

    std::fs::write(d.join("broken.json"), "{\"schema\": \"printrig.golden/1\",").unwrap();
    analyze_rejects(
        d,
        &scan,
        &["--golden", "broken.json"],
        &["broken.json", "is not valid"],
    );
}

// 4 ───────────────────────────────────────────────────────────────────────────────────────

#[test]
fn another_pattern_on_the_page_is_a_wrong_pattern_failure() {
    let t = tmp();
    let d = t.path();
    let ladder = print_and_scan(d, "ladder", "ladder", 576, &[], 1, 300);
    let r = rig(
        d,
        &["analyze", &ladder, "--pattern", "solid", "--dots", "576"],
    );
    assert_code(&r, 1, "analyze ladder as solid");
    assert!(r.1.contains("wrong_pattern"), "{}", r.1);
    assert!(r.1.contains("FAIL"), "{}", r.1);
}

#[test]
fn a_narrower_page_is_a_wrong_pattern_failure() {
    let t = tmp();
    let d = t.path();
    let narrow = print_and_scan(d, "narrow", "solid", 384, &[], 1, 300);
    let r = rig(
        d,
        &["analyze", &narrow, "--pattern", "solid", "--dots", "576"],
    );
    assert_code(&r, 1, "analyze 384-dot solid at 576");
    assert!(r.1.contains("wrong_pattern"), "{}", r.1);
}

// 5 ───────────────────────────────────────────────────────────────────────────────────────

#[test]
fn blank_paper_is_a_blank_failure() {
    let t = tmp();
    let d = t.path();
    image::GrayImage::from_pixel(576, 600, image::Luma([249]))
        .save(d.join("white.png"))
        .expect("white paper written");
    rig_ok(
        d,
        &[
            "sim",
            "scan",
            "white.png",
            "--dpi",
            "300",
            "-o",
            "white-scan.png",
        ],
    );
    let r = analyze_solid_576(d, "white-scan.png");
    assert_code(&r, 1, "analyze blank page");
    assert!(r.1.contains("blank"), "{}", r.1);
}

// 6 ───────────────────────────────────────────────────────────────────────────────────────

fn bless_args<'a>(scan: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "golden",
        "bless",
        scan,
        "--pattern",
        "solid",
        "--dots",
        "576",
        "--model",
        "sim-80mm",
        "-o",
        out,
    ]
}

#[test]
fn golden_bless_records_provenance_and_guards_the_record() {
    let t = tmp();
    let d = t.path();
    let scan = print_and_scan(d, "a", "solid", 576, &[], 1, 300);

    let out = rig_ok(d, &bless_args(&scan, "out.json"));
    assert!(out.contains("blessed"), "{out}");
    let text = std::fs::read_to_string(d.join("out.json")).expect("record written");
    assert!(text.contains("printrig.golden/1"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("record is JSON");
    let sha = v["provenance"]["scan_sha256"]
        .as_str()
        .expect("a scan_sha256");
    assert_eq!(sha.len(), 64, "{sha}");
    assert!(sha
        .chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    let want: String = Sha256::digest(std::fs::read(d.join(&scan)).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha, want, "scan_sha256 is the scan file's hash");

    // a second bless may not overwrite it silently
    let before = std::fs::read(d.join("out.json")).unwrap();
    let r = rig(d, &bless_args(&scan, "out.json"));
    assert_code(&r, 2, "bless over an existing record");
    assert!(r.2.contains("already exists"), "{}", r.2);
    assert!(r.2.contains("--force"), "{}", r.2);
    assert_eq!(
        std::fs::read(d.join("out.json")).unwrap(),
        before,
        "the record changed though bless refused"
    );

    // --force replaces it and says what changed
    let other = print_and_scan(d, "b", "solid", 576, &[], 7, 300);
    let mut args = bless_args(&other, "out.json");
    args.push("--force");
    let out = rig_ok(d, &args);
    assert!(out.contains("what changed"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out.json")).unwrap()).unwrap();
    assert_ne!(v["provenance"]["scan_sha256"].as_str(), Some(want.as_str()));
}

#[test]
fn golden_bless_refuses_a_print_with_defects() {
    let t = tmp();
    let d = t.path();
    let scan = print_and_scan(d, "bad", "solid", 576, &["half=right"], 1, 300);
    let r = rig(d, &bless_args(&scan, "bad.json"));
    assert_code(&r, 2, "bless a defective print");
    assert!(r.2.contains("has defects"), "{}", r.2);
    assert!(r.2.contains("half_width"), "{}", r.2);
    assert!(!d.join("bad.json").exists(), "a record was written anyway");
}

#[test]
fn golden_bless_from_copies_keeps_their_median_spread_and_scans() {
    let t = tmp();
    let d = t.path();
    // The receipt's column profile has no value where its text leaves a column bare: the
    // record must read back with those gaps.
    let scans: Vec<String> = (1..=3)
        .map(|seed| print_and_scan(d, &format!("c{seed}"), "receipt", 384, &[], seed, 600))
        .collect();
    let mut args = vec!["golden", "bless"];
    args.extend(scans.iter().map(String::as_str));
    args.extend([
        "--pattern",
        "receipt",
        "--dots",
        "384",
        "--model",
        "sim-58mm",
        "-o",
        "rec.json",
    ]);
    let out = rig_ok(d, &args);
    assert!(out.contains("blessed"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("rec.json")).unwrap()).unwrap();
    assert_eq!(v["spread"]["copies"], 3, "{v}");
    let copies = v["provenance"]["copies"]
        .as_array()
        .expect("the copies' scans");
    assert_eq!(copies.len(), 3);
    for (c, scan) in copies.iter().zip(&scans) {
        assert_eq!(c["scan"].as_str(), Some(scan.as_str()));
        assert_eq!(c["sha256"].as_str().map(str::len), Some(64));
    }
    let columns = v["columns"].as_array().expect("a column profile");
    assert!(
        columns.iter().any(|c| c.is_null()),
        "no gaps in {columns:?}"
    );
    assert!(columns.iter().any(|c| c.is_f64()));
    // Tolerances are never narrower than the defaults.
    assert!(
        v["tolerances"]["density_marginal"].as_f64() >= Some(0.25),
        "{v}"
    );
    assert!(
        v["tolerances"]["column_marginal"].as_f64() >= Some(0.12),
        "{v}"
    );

    // The record reads back, and a fourth healthy copy passes against it.
    let fourth = print_and_scan(d, "c4", "receipt", 384, &[], 4, 600);
    let r = rig(
        d,
        &[
            "analyze",
            &fourth,
            "--pattern",
            "receipt",
            "--dots",
            "384",
            "--golden",
            "rec.json",
        ],
    );
    assert_code(&r, 0, "analyze a healthy copy against the record");
}

#[test]
fn golden_bless_refuses_a_copy_that_disagrees_by_name() {
    let t = tmp();
    let d = t.path();
    let a = print_and_scan(d, "a", "solid", 576, &[], 1, 300);
    let b = print_and_scan(d, "b", "solid", 576, &[], 2, 300);
    // A print far colder than the others: no defect of its own, but far lighter.
    let cold = print_and_scan(d, "cold", "solid", 576, &["temp=-30"], 3, 300);
    let mut args = bless_args(&a, "three.json");
    args.insert(3, &b);
    args.insert(4, &cold);
    let r = rig(d, &args);
    assert_code(&r, 2, "bless copies that disagree");
    assert!(r.2.contains("do not agree"), "{}", r.2);
    assert!(r.2.contains(&cold), "{}", r.2);
    assert!(!r.2.contains(&format!("{a} differs")), "{}", r.2);
    assert!(
        !d.join("three.json").exists(),
        "a record was written anyway"
    );
}

// 7 ───────────────────────────────────────────────────────────────────────────────────────

#[test]
fn sim_print_of_a_truncated_job_reports_where_and_keeps_the_paper() {
    let t = tmp();
    let d = t.path();
    rig_ok(
        d,
        &[
            "patterns",
            "escpos",
            "solid",
            "--dots",
            "576",
            "--band-rows",
            "64",
            "-o",
            "job.bin",
            "--manifest",
            "m.json",
        ],
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m.json")).unwrap())
            .expect("manifest is JSON");
    let bands = m["bands"].as_array().expect("a bands array");
    assert!(bands.len() > 4, "{} bands", bands.len());
    let fourth = bands[3]["offset"].as_u64().expect("a band offset") as usize;
    assert_eq!(
        bands[2]["end"].as_u64(),
        Some(fourth as u64),
        "bands follow each other"
    );

    let job = std::fs::read(d.join("job.bin")).unwrap();
    std::fs::write(d.join("cut.bin"), &job[..fourth + 5]).unwrap();
    let r = rig(d, &["sim", "print", "cut.bin", "-o", "paper.png"]);
    assert_code(&r, 2, "sim print cut.bin");
    assert!(r.2.contains("cut.bin"), "{}", r.2);
    assert!(r.2.contains("truncated"), "{}", r.2);
    assert!(
        r.2.contains(&format!("byte {fourth}")),
        "stderr does not name byte {fourth}:\n{}",
        r.2
    );
    assert_eq!(
        png_size(&d.join("paper.png")),
        (576, 192),
        "the three complete bands were printed"
    );

    // An image is not a job: one clear line, no paper.
    let r = rig(d, &["sim", "print", "paper.png", "-o", "p3.png"]);
    assert_code(&r, 2, "sim print of a PNG");
    assert_eq!(r.2.trim().lines().count(), 1, "{}", r.2);
    assert!(
        r.2.contains("paper.png is a PNG image, not an ESC/POS job"),
        "{}",
        r.2
    );
    assert!(!d.join("p3.png").exists());

    std::fs::write(d.join("nothing.bin"), b"").unwrap();
    let r = rig(d, &["sim", "print", "nothing.bin", "-o", "p2.png"]);
    assert_code(&r, 2, "sim print of an empty job");
    assert!(r.2.contains("nothing.bin"), "{}", r.2);
    assert!(r.2.contains("empty"), "{}", r.2);
}

// 8 ───────────────────────────────────────────────────────────────────────────────────────

#[test]
fn sim_rejects_unknown_faults_and_out_of_range_dpi() {
    let t = tmp();
    let d = t.path();
    rig_ok(
        d,
        &[
            "patterns", "escpos", "solid", "--dots", "384", "-o", "job.bin",
        ],
    );
    let r = rig(
        d,
        &[
            "sim", "print", "job.bin", "--fault", "bogus=1", "-o", "p.png",
        ],
    );
    assert_code(&r, 2, "sim print --fault bogus=1");
    assert!(r.2.contains("error:"), "{}", r.2);
    assert!(r.2.contains("bogus"), "{}", r.2);

    rig_ok(d, &["sim", "print", "job.bin", "-o", "p.png"]);
    let r = rig(d, &["sim", "scan", "p.png", "--dpi", "100", "-o", "s.png"]);
    assert_code(&r, 2, "sim scan --dpi 100");
    assert!(r.2.contains("150 to 1200"), "{}", r.2);
    assert!(!d.join("s.png").exists(), "a scan was written anyway");
}

#[test]
fn patterns_list_names_all_five_patterns() {
    let t = tmp();
    let out = rig_ok(t.path(), &["patterns", "list"]);
    for p in ["solid", "ladder", "elements", "dense-sparse", "receipt"] {
        assert!(
            out.lines().any(|l| l.starts_with(p)),
            "{p} not listed:\n{out}"
        );
    }
}

#[test]
fn patterns_render_writes_the_picture_and_its_layout() {
    let t = tmp();
    let d = t.path();
    let out = rig_ok(
        d,
        &[
            "patterns", "render", "elements", "--dots", "384", "-o", "e.png", "--layout", "e.json",
        ],
    );
    assert!(out.contains("elements at 384 dots"), "{out}");
    assert_eq!(png_size(&d.join("e.png")).0, 384);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("e.json")).unwrap())
            .expect("layout is JSON");
    let bands = v["bands"].as_array().expect("a bands array");
    assert!(!bands.is_empty(), "{v}");
}

#[test]
fn sim_print_help_lists_the_fault_kinds() {
    let t = tmp();
    let out = rig_ok(t.path(), &["sim", "print", "--help"]);
    for k in [
        "dead=", "block=", "half=", "tilt=", "ink=", "voltage=", "temp=", "cut=", "banding=",
        "width=",
    ] {
        assert!(out.contains(k), "{k} missing from help:\n{out}");
    }
}

// 9 ───────────────────────────────────────────────────────────────────────────────────────

#[test]
fn power_cut_prints_part_of_the_page_and_analysis_finds_it_truncated() {
    let t = tmp();
    let d = t.path();
    rig_ok(
        d,
        &[
            "patterns", "escpos", "solid", "--dots", "576", "-o", "job.bin",
        ],
    );
    let r = rig(
        d,
        &[
            "sim", "print", "job.bin", "--fault", "cut=0.8", "-o", "p.png",
        ],
    );
    assert_code(&r, 0, "sim print --fault cut=0.8");
    assert!(r.1.contains("power cut"), "{}", r.1);
    rig_ok(d, &["sim", "scan", "p.png", "--dpi", "300", "-o", "s.png"]);
    let r = analyze_solid_576(d, "s.png");
    assert_code(&r, 1, "analyze the cut print");
    assert!(r.1.contains("truncated"), "{}", r.1);
    assert!(r.1.contains("FAIL"), "{}", r.1);
}

#[test]
fn a_long_receipt_strip_scanned_with_a_narrow_margin_passes() {
    let t = tmp();
    let d = t.path();
    // 968 dots of feed after the 568-row solid pattern: a 192 mm receipt.
    rig_ok(
        d,
        &[
            "patterns", "escpos", "solid", "--dots", "576", "--feed", "968", "-o", "job.bin",
        ],
    );
    rig_ok(d, &["sim", "print", "job.bin", "-o", "paper.png"]);
    assert_eq!(png_size(&d.join("paper.png")), (576, 1536));
    rig_ok(
        d,
        &[
            "sim",
            "scan",
            "paper.png",
            "--dpi",
            "300",
            "--skew",
            "-1",
            "--bed-margin",
            "4",
            "-o",
            "scan.png",
        ],
    );
    // (72 + 2·4) mm × (192 + 2·4) mm at 300 dpi.
    assert_eq!(png_size(&d.join("scan.png")), (945, 2362));
    let r = analyze_solid_576(d, "scan.png");
    assert_code(&r, 0, "analyze of the long strip");
    assert!(r.1.contains("no defects"), "{}", r.1);

    let r = rig(
        d,
        &[
            "sim",
            "scan",
            "paper.png",
            "--bed-margin",
            "-2",
            "-o",
            "x.png",
        ],
    );
    assert_code(&r, 2, "a negative bed margin");
    assert!(r.2.contains("bed_margin_mm"), "{}", r.2);
}

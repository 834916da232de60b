//! Damaged and oversized inputs: scans cut short, golden records edited out of range, a
//! plan that would expand to millions of cases. Each is invalid input (exit 2) naming the
//! file and what is wrong, never a verdict or a record.

use crate::common::cmd::*;
use crate::common::repo_path;
use std::path::Path;

fn cut(from: &str, to: &Path, share: f64) {
    let bytes = std::fs::read(repo_path(from)).expect("fixture");
    let n = (bytes.len() as f64 * share) as usize;
    std::fs::write(to, &bytes[..n]).expect("write");
}

#[test]
fn a_scan_cut_short_is_invalid_input_for_analyze_and_bless() {
    let tmp = tempfile::tempdir().expect("tmp");
    let jpg = tmp.path().join("receipt-cut.jpg");
    cut("fixtures/receipt-384-300dpi.jpg", &jpg, 0.4);
    let png = tmp.path().join("solid-cut.png");
    cut("fixtures/solid-576-dead200-150dpi.png", &png, 0.4);
    // The same page as a scanner writes it in TIFF and PNM, each cut short.
    let page = image::open(repo_path("fixtures/solid-576-dead200-150dpi.png"))
        .expect("fixture")
        .to_luma8();
    let mut cut_pages = Vec::new();
    for (name, format) in [
        ("solid-cut.tif", image::ImageFormat::Tiff),
        ("solid-cut.pnm", image::ImageFormat::Pnm),
    ] {
        let mut bytes = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(page.clone())
            .write_to(&mut bytes, format)
            .expect("encodes");
        let bytes = bytes.into_inner();
        let p = tmp.path().join(name);
        std::fs::write(&p, &bytes[..bytes.len() * 2 / 5]).expect("write");
        cut_pages.push(p);
    }
    let gold58 = repo_path("golden/sim-58mm/receipt.json");
    let cases: [(&Path, &str, &str, &str, &str); 4] = [
        (&jpg, "receipt", "384", "sim-58mm", "FF D9"),
        (&png, "solid", "576", "sim-80mm", "IEND"),
        (
            &cut_pages[0],
            "solid",
            "576",
            "sim-80mm",
            "missing the directory",
        ),
        (&cut_pages[1], "solid", "576", "sim-80mm", "raster needs"),
    ];
    for (scan, pattern, dots, model, missing) in cases {
        let scan_s = scan.to_str().expect("utf8");
        let mut args = vec!["analyze", scan_s, "--pattern", pattern, "--dots", dots];
        let g = gold58.to_str().expect("utf8");
        if pattern == "receipt" {
            args.extend(["--golden", g]);
        }
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(scan_s) && err.contains("truncated"), "{err}");
        assert!(err.contains(missing), "{err}");
        assert!(o.stdout.is_empty(), "no verdict: {}", text(&o));

        let out = tmp.path().join(format!("{pattern}.json"));
        let o = run(&[
            "golden",
            "bless",
            scan_s,
            "--pattern",
            pattern,
            "--dots",
            dots,
            "--model",
            model,
            "-o",
            out.to_str().expect("utf8"),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("truncated"),
            "{}",
            text(&o)
        );
        assert!(!out.exists(), "no record blessed from a cut scan");
    }
}

#[test]
fn a_golden_record_out_of_range_is_refused_naming_file_and_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let real = repo_path("golden/sim-80mm/solid.json");
    // The dead-element fixture fails against the real record …
    let fixture = repo_path("fixtures/solid-576-dead200-150dpi.png");
    let analyze = |record: &Path| {
        run(&[
            "analyze",
            fixture.to_str().expect("utf8"),
            "--pattern",
            "solid",
            "--dots",
            "576",
            "--golden",
            record.to_str().expect("utf8"),
        ])
    };
    assert_eq!(analyze(&real).status.code(), Some(1));
    // … and is never judged against an edited one.
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&real).expect("record")).expect("json");
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 7] = [
        ("tolerances.column_fail", |r| {
            r["tolerances"]["column_fail"] = 50.0.into()
        }),
        ("tolerances.column_marginal", |r| {
            r["tolerances"]["column_marginal"] = 100.0.into()
        }),
        ("solid_density", |r| r["solid_density"] = 0.0.into()),
        ("solid_density", |r| r["solid_density"] = (-1.0).into()),
        ("columns[7]", |r| r["columns"][7] = (-1e308).into()),
        ("paper_white", |r| r["paper_white"] = 0.0.into()),
        ("paper_white", |r| r["paper_white"] = 4000.0.into()),
    ];
    for (field, edit) in edits {
        let mut r = original.clone();
        edit(&mut r);
        let p = tmp.path().join("edited.json");
        std::fs::write(&p, serde_json::to_string(&r).expect("json")).expect("write");
        let o = analyze(&p);
        assert_eq!(o.status.code(), Some(2), "{field}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(p.to_str().expect("utf8")) && err.contains(field),
            "{field}: {err}"
        );
    }
}

#[test]
fn a_plan_of_millions_of_cases_is_refused_before_it_is_expanded() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut plan = String::from(
        "[plan]\nname = \"huge\"\npatterns = [\"solid\"]\nrepeats = 1000\nretries = 0\n",
    );
    for i in 0..3000 {
        plan.push_str(&format!("[[condition]]\nname = \"c{i}\"\n"));
    }
    let plan = write(tmp.path(), "huge.toml", &plan);
    let results = tmp.path().join("results");
    let o = run_plan(&plan, &results, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("huge.toml") && err.contains("6000000 cases") && err.contains("--max-cases"),
        "{err}"
    );
    assert!(first_run_dir(&results).is_none(), "nothing was started");
    // The limit is the user's to raise: a small plan under a lower limit is refused too.
    let o = run(&[
        "estimate",
        plan.to_str().expect("utf8"),
        "--max-cases",
        "10",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

//! The analysis JSON of fixed cases, pinned with insta snapshots, and scans the rig did not
//! make in this run (committed fixtures: a 150-dpi PNG and a JPEG).

mod common;

use common::*;
use printrig::defect::DefectKind;
use printrig::golden::check::{check_file, CheckSpec};
use printrig::pattern::PatternKind;
use printrig::report::analysis_json;
use printrig::verdict::Verdict;
use serde_json::Value;

/// Long profiles become a short summary and floats are rounded, so snapshots stay readable.
fn summarise(v: Value) -> Value {
    match v {
        Value::Array(items) if items.len() > 24 => {
            let nums: Vec<f64> = items.iter().filter_map(Value::as_f64).collect();
            if nums.is_empty() {
                return Value::String(format!("[{} items]", items.len()));
            }
            let min = nums.iter().copied().fold(f64::INFINITY, f64::min);
            let max = nums.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mean = nums.iter().sum::<f64>() / nums.len() as f64;
            Value::String(format!(
                "[{} values, {} null; min {min:.3}, mean {mean:.3}, max {max:.3}]",
                items.len(),
                items.len() - nums.len()
            ))
        }
        Value::Array(items) => Value::Array(items.into_iter().map(summarise).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = if k == "blessed_at" {
                        Value::String("[time]".into())
                    } else {
                        summarise(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            serde_json::json!((f * 1e3).round() / 1e3)
        }
        other => other,
    }
}

fn snapshot_of(a: &printrig::analysis::Analysis, j: &printrig::golden::Judgement) -> Value {
    let v: Value = serde_json::from_str(&analysis_json(a, j)).expect("analysis JSON parses");
    summarise(v)
}

fn spec(pattern: &str, dots: u32, golden: &str) -> CheckSpec {
    CheckSpec {
        pattern: pattern.into(),
        dots,
        serial: 0,
        golden: Some(repo_path(golden)),
        nominal_density: None,
    }
}

#[test]
fn fixture_150dpi_dead_element() {
    let c = check_file(
        &repo_path("fixtures/solid-576-dead200-150dpi.png"),
        &spec("solid", 576, "golden/sim-80mm/solid.json"),
    )
    .expect("fixture analyses");
    let d = c
        .analysis
        .defects
        .iter()
        .find(|d| d.kind == DefectKind::DeadElement)
        .expect("dead element found at 150 dpi");
    assert!(d.start.abs_diff(200) <= 2, "{d:?}");
    assert_eq!(c.judgement.verdict, Verdict::Fail);
    insta::assert_json_snapshot!(
        "fixture_150dpi_dead_element",
        snapshot_of(&c.analysis, &c.judgement)
    );
}

#[test]
fn fixture_jpeg_receipt_passes() {
    let c = check_file(
        &repo_path("fixtures/receipt-384-300dpi.jpg"),
        &spec("receipt", 384, "golden/sim-58mm/receipt.json"),
    )
    .expect("JPEG fixture analyses");
    assert!(c.analysis.defects.is_empty(), "{}", describe(&c.analysis));
    assert_eq!(c.judgement.verdict, Verdict::Pass);
    insta::assert_json_snapshot!(
        "fixture_jpeg_receipt",
        snapshot_of(&c.analysis, &c.judgement)
    );
}

fn generated(kind: PatternKind, faults: &[&str], dpi: f64, skew: f64, seed: u64) -> Value {
    let p = print(kind, 576, faults, seed);
    let img = scan_page(&first_page(&p), dpi, skew, seed);
    let g = golden_for(kind, 576);
    let (a, j) = analyze_judged(&img, &p.pattern, Some(&g));
    snapshot_of(&a, &j)
}

#[test]
fn snapshot_half_width_right() {
    insta::assert_json_snapshot!(
        "solid_half_right_600dpi",
        generated(PatternKind::Solid, &["half=right"], 600.0, 1.5, 11)
    );
}

#[test]
fn snapshot_supply_sag() {
    insta::assert_json_snapshot!(
        "dense_sparse_17v5_300dpi",
        generated(PatternKind::DenseSparse, &["voltage=17.5"], 300.0, -2.0, 12)
    );
}

#[test]
fn snapshot_blank_page() {
    let page = image::GrayImage::from_pixel(576, 600, image::Luma([249]));
    let img = scan_page(&page, 300.0, 0.5, 13);
    let p = printrig::pattern::render(PatternKind::Solid, 576, 0).expect("render");
    let (a, j) = analyze_judged(&img, &p, None);
    assert!(a.has(DefectKind::Blank));
    insta::assert_json_snapshot!("blank_page", snapshot_of(&a, &j));
}

#[test]
fn fixtures_stay_small() {
    let mut total = 0u64;
    for e in std::fs::read_dir(repo_path("fixtures")).expect("fixtures dir") {
        total += e.expect("entry").metadata().expect("metadata").len();
    }
    assert!(total < 5 * 1024 * 1024, "fixtures/ holds {total} bytes");
}

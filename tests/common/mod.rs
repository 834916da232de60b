//! Shared test helpers: print a pattern on the simulated printer through the real job path
//! (pattern → ESC/POS → decoder → head), scan it, analyse and judge it.
#![allow(dead_code)]

pub mod cmd;
pub mod fabricate;

use image::GrayImage;
use printrig::analysis::{analyze, Analysis};
use printrig::escpos::encode::{encode_bitmap, EncodeOptions, Job};
use printrig::golden::{judge, Golden, Judgement};
use printrig::pattern::{render, Pattern, PatternKind};
use printrig::sim::{print_job, scan, Faults, PrintOutcome, ScanSettings};
use std::path::PathBuf;

pub struct Printed {
    pub pattern: Pattern,
    pub job: Job,
    pub out: PrintOutcome,
}

pub fn print(kind: PatternKind, dots: u32, faults: &[&str], seed: u64) -> Printed {
    let pattern = render(kind, dots, 0).expect("pattern renders");
    let job = encode_bitmap(&pattern.bitmap, &EncodeOptions::default()).expect("job encodes");
    let faults = Faults::parse_all(faults.iter().copied()).expect("faults parse");
    let out = print_job(&job.bytes, dots, faults, seed);
    Printed { pattern, job, out }
}

/// The first page, or blank paper when nothing came out.
pub fn first_page(p: &Printed) -> GrayImage {
    p.out
        .pages
        .first()
        .cloned()
        .unwrap_or_else(|| GrayImage::from_pixel(p.pattern.layout.dots, 300, image::Luma([249])))
}

pub fn scan_page(page: &GrayImage, dpi: f64, skew: f64, seed: u64) -> GrayImage {
    scan(
        page,
        &ScanSettings {
            dpi,
            skew_deg: skew,
            seed,
            ..ScanSettings::default()
        },
    )
    .expect("scan")
    .image
}

pub fn model_for(dots: u32) -> &'static str {
    if dots == 384 {
        "sim-58mm"
    } else {
        "sim-80mm"
    }
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn golden_for(kind: PatternKind, dots: u32) -> Golden {
    let p = repo_path(&format!("golden/{}/{}.json", model_for(dots), kind.name()));
    Golden::load(&p).expect("committed golden record loads")
}

pub fn analyze_judged(
    img: &GrayImage,
    pattern: &Pattern,
    golden: Option<&Golden>,
) -> (Analysis, Judgement) {
    let a = analyze(img, pattern);
    let j = judge(&a, golden, None);
    (a, j)
}

/// Last pattern row with ink that lies on the printed page, + 1: where a truncated print
/// really stops.
pub fn printed_ink_end(p: &Printed) -> u32 {
    let rows = p
        .out
        .pages
        .first()
        .map(|pg| pg.height())
        .unwrap_or(0)
        .min(p.pattern.layout.rows);
    (0..rows)
        .rev()
        .find(|&y| p.pattern.bitmap.row(y).iter().any(|&d| d != 0))
        .map(|y| y + 1)
        .unwrap_or(0)
}

pub fn describe(a: &Analysis) -> String {
    describe_defects(&a.defects)
}

/// `kind[start..=end](depth)` for each defect.
pub fn describe_defects(defects: &[printrig::analysis::Defect]) -> String {
    defects
        .iter()
        .map(|d| format!("{}[{}..={}]({:.2})", d.kind, d.start, d.end, d.depth))
        .collect::<Vec<_>>()
        .join(", ")
}

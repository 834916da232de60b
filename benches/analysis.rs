//! Speed of the print-quality core: analysis end to end beside the PNG decode of the same
//! scan (an 80 mm × 200 mm receipt strip at 600 and 1200 dpi, and a scan cropped close
//! to the print at 600 dpi), the dot-space coverage kernel beside a plain byte sum over the
//! same buffer, registration on a 3° skew, pattern render + ESC/POS encode, the simulated
//! print and the simulated scan. Figures and how to read them: docs/performance.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use image::GrayImage;
use printrig::analysis::{analyze, dotmap::DotMap, register};
use printrig::escpos::encode::{encode_bitmap, EncodeOptions};
use printrig::golden::{judge, Golden};
use printrig::pattern::{render, PatternKind};
use printrig::sim::{print_job, scan, Faults, ScanSettings};
use std::hint::black_box;
use std::path::Path;

fn paper() -> GrayImage {
    paper_fed(EncodeOptions::default().feed_rows)
}

/// The solid pattern printed with `feed` dots of paper fed after it before the cut.
fn paper_fed(feed: u32) -> GrayImage {
    let p = render(PatternKind::Solid, 576, 0).expect("pattern");
    let opts = EncodeOptions {
        feed_rows: feed,
        ..EncodeOptions::default()
    };
    let job = encode_bitmap(&p.bitmap, &opts).expect("job");
    let out = print_job(&job.bytes, 576, Faults::default(), 1);
    out.pages.into_iter().next().expect("a page")
}

/// Feed after the 568-row pattern that makes a 192 mm receipt (1536 dots): with a 4 mm
/// bed margin on every side its scan is 80 mm × 200 mm.
const STRIP_FEED: u32 = 1536 - 568;

fn scanned_with(paper: &GrayImage, dpi: f64, skew: f64, margin_mm: f64) -> GrayImage {
    scan(
        paper,
        &ScanSettings {
            dpi,
            skew_deg: skew,
            seed: 3,
            bed_margin_mm: margin_mm,
            ..ScanSettings::default()
        },
    )
    .expect("scan")
    .image
}

fn scanned(paper: &GrayImage, dpi: f64, skew: f64) -> GrayImage {
    scanned_with(paper, dpi, skew, ScanSettings::default().bed_margin_mm)
}

fn png(img: &GrayImage) -> Vec<u8> {
    use image::ImageEncoder;
    let mut buf = Vec::new();
    image::codecs::png::PngEncoder::new(&mut buf)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::L8,
        )
        .expect("png");
    buf
}

fn golden() -> Golden {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/sim-80mm/solid.json");
    Golden::load(&p).expect("golden record")
}

fn analysis_vs_decode(c: &mut Criterion) {
    let paper = paper();
    let pattern = render(PatternKind::Solid, 576, 0).expect("pattern");
    let g = golden();
    let strip = paper_fed(STRIP_FEED);
    let cases = [
        (
            "strip_80x200mm_600dpi",
            scanned_with(&strip, 600.0, 1.0, 4.0),
        ),
        (
            "strip_80x200mm_1200dpi",
            scanned_with(&strip, 1200.0, 1.0, 4.0),
        ),
        ("cropped_600dpi", scanned(&paper, 600.0, 1.0)),
    ];
    for (name, img) in cases {
        let bytes = png(&img);
        println!(
            "{name}: {} × {} px, {} bytes of PNG",
            img.width(),
            img.height(),
            bytes.len()
        );
        let mut group = c.benchmark_group(name);
        group.sample_size(20);
        group.bench_function("png_decode", |b| {
            b.iter(|| {
                printrig::scanfile::decode_scan(Path::new("scan.png"), black_box(&bytes))
                    .expect("decode")
            })
        });
        group.bench_function("analyze_end_to_end", |b| {
            b.iter(|| {
                let img = printrig::scanfile::decode_scan(Path::new("scan.png"), black_box(&bytes))
                    .expect("decode");
                let a = analyze(&img, &pattern);
                judge(&a, Some(&g), None)
            })
        });
        group.finish();
    }
}

fn kernel_vs_byte_sum(c: &mut Criterion) {
    let img = scanned(&paper(), 600.0, 1.0);
    let pattern = render(PatternKind::Solid, 576, 0).expect("pattern");
    let survey = register::survey(&img);
    let reg = register::register(&pattern.layout, &survey.candidates).expect("registers");
    let mut group = c.benchmark_group("coverage_kernel_600dpi");
    group.throughput(Throughput::Bytes(img.as_raw().len() as u64));
    group.bench_function("byte_sum", |b| {
        b.iter(|| {
            black_box(img.as_raw())
                .iter()
                .map(|&p| p as u64)
                .sum::<u64>()
        })
    });
    group.bench_function("dot_space_columns", |b| {
        b.iter(|| {
            let map = DotMap::sample(black_box(&img), &reg.map, 576, pattern.layout.rows);
            let mut cols = vec![0f32; 576];
            for band in &pattern.layout.bands {
                for y in band.row_start..band.row_end {
                    for (c, g) in cols.iter_mut().zip(map.row(y)) {
                        *c += *g;
                    }
                }
            }
            cols
        })
    });
    group.finish();
}

fn registration(c: &mut Criterion) {
    let img = scanned(&paper(), 600.0, 3.0);
    let pattern = render(PatternKind::Solid, 576, 0).expect("pattern");
    let mut group = c.benchmark_group("registration_600dpi_3deg");
    group.sample_size(20);
    group.bench_function("survey", |b| b.iter(|| register::survey(black_box(&img))));
    let s = register::survey(&img);
    group.bench_function("register", |b| {
        b.iter(|| register::register(&pattern.layout, black_box(&s.candidates)))
    });
    group.bench_function("survey_and_register", |b| {
        b.iter(|| {
            let s = register::survey(black_box(&img));
            register::register(&pattern.layout, &s.candidates)
        })
    });
    group.finish();
}

fn printing(c: &mut Criterion) {
    let mut group = c.benchmark_group("print_path");
    group.sample_size(20);
    for kind in [PatternKind::Solid, PatternKind::Receipt] {
        group.bench_with_input(
            BenchmarkId::new("render_and_encode", kind.name()),
            &kind,
            |b, k| {
                b.iter(|| {
                    let p = render(*k, 576, 0).expect("pattern");
                    encode_bitmap(&p.bitmap, &EncodeOptions::default()).expect("job")
                })
            },
        );
    }
    let p = render(PatternKind::Solid, 576, 0).expect("pattern");
    let job = encode_bitmap(&p.bitmap, &EncodeOptions::default()).expect("job");
    group.bench_function("sim_print_solid", |b| {
        b.iter(|| print_job(black_box(&job.bytes), 576, Faults::default(), 1))
    });
    let paper = paper();
    for dpi in [600.0, 1200.0] {
        group.bench_with_input(BenchmarkId::new("sim_scan", dpi), &dpi, |b, d| {
            b.iter(|| scanned(black_box(&paper), *d, 1.0))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    analysis_vs_decode,
    kernel_vs_byte_sum,
    registration,
    printing
);
criterion_main!(benches);

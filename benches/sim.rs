//! Speed of the simulated printer and scanner: printing the 576-dot solid pattern, and
//! scanning its page at 1200 dpi (the largest scan a simulated station makes).

use criterion::{criterion_group, criterion_main, Criterion};
use printrig::escpos::encode::{encode_bitmap, EncodeOptions};
use printrig::pattern::{render, PatternKind};
use printrig::sim::{print_job, scan, Faults, ScanSettings};
use std::hint::black_box;

fn sim(c: &mut Criterion) {
    let p = render(PatternKind::Solid, 576, 0).expect("pattern");
    let job = encode_bitmap(&p.bitmap, &EncodeOptions::default()).expect("job");
    let mut group = c.benchmark_group("sim_solid_576");
    group.sample_size(10);
    group.bench_function("print", |b| {
        b.iter(|| print_job(black_box(&job.bytes), 576, Faults::default(), 5))
    });
    let out = print_job(&job.bytes, 576, Faults::default(), 5);
    let paper = out.pages.first().expect("a page").clone();
    let settings = ScanSettings {
        dpi: 1200.0,
        skew_deg: 1.5,
        seed: 8,
        ..ScanSettings::default()
    };
    group.bench_function("scan_1200dpi", |b| {
        b.iter(|| scan(black_box(&paper), &settings).expect("scan"))
    });
    group.finish();
}

criterion_group!(benches, sim);
criterion_main!(benches);

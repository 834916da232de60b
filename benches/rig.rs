//! Speed of the rig around the printer: streaming a job to the simulated printer throttled
//! to 115200 baud on a pty (against the line time of its bytes), and 1 against 8 simulated
//! stations running 10 cases each. Figures: docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion};
use printrig::escpos::encode::{encode_bitmap, EncodeOptions};
use printrig::instrument::printer::escpos::EscposPrinter;
use printrig::instrument::printer::Printer;
use printrig::link::{Endpoint, Flow};
use printrig::pattern::{render, PatternKind};
use printrig::sim::station::{SimStation, SimStationSpec};
use printrig::sim::SimConfig;
use std::time::Duration;

fn streaming(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");
    let station = rt
        .block_on(SimStation::start(SimStationSpec {
            printer_tcp: false,
            printer_pty: true,
            scan_dir: dir.path().join("scans"),
            config: SimConfig {
                baud: Some(115_200),
                ..SimConfig::default()
            },
            ..SimStationSpec::default()
        }))
        .expect("station");
    let pty = station.printer_pty().expect("pty");
    let p = render(PatternKind::Solid, 576, 0).expect("pattern");
    let job = encode_bitmap(&p.bitmap, &EncodeOptions::default()).expect("job");
    let line_time = job.bytes.len() as f64 * 10.0 / 115_200.0;
    println!(
        "solid job: {} bytes, {:.2} s on a 115200-baud line",
        job.bytes.len(),
        line_time
    );
    let mut printer = EscposPrinter::new(
        "bench",
        Endpoint::Serial {
            path: pty,
            baud: 115_200,
            flow: Flow::None,
        },
        Duration::from_secs(5),
    );
    let mut group = c.benchmark_group("stream_solid_115200_baud_pty");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(40));
    group.bench_function("print", |b| {
        b.iter(|| {
            let r = rt
                .block_on(printer.print(&job, Duration::from_secs(10)))
                .expect("print");
            assert!(r.complete, "{r:?}");
        })
    });
    group.finish();
    rt.block_on(station.stop());
}

fn write_plan(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("bench.toml");
    std::fs::write(
        &p,
        "[plan]\nname = \"bench\"\npatterns = [\"solid\", \"ladder\", \"elements\", \"dense-sparse\", \"receipt\"]\nrepeats = 2\n",
    )
    .expect("plan");
    p
}

fn write_stations(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "[[station]]\nname = \"sim-{i}\"\nkind = \"sim\"\nmodel = \"sim-80mm\"\n[station.printer]\ndots = 576\nlink = {{ kind = \"tcp\" }}\n[station.sim]\ntime_scale = 120.0\nseed = {}\n\n",
            i + 1
        ));
    }
    let p = dir.join(format!("stations-{n}.toml"));
    std::fs::write(&p, s).expect("stations");
    p
}

fn concurrency(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let plan = write_plan(dir.path());
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let mut group = c.benchmark_group("stations_x_10_cases");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    for n in [1usize, 8] {
        let stations = write_stations(dir.path(), n);
        group.bench_function(format!("{n}_stations"), |b| {
            b.iter(|| {
                let rt = tokio::runtime::Runtime::new().expect("runtime");
                let out = rt
                    .block_on(printrig::run::start::run(
                        printrig::run::start::RunOptions {
                            plan: Some(plan.clone()),
                            stations: Some(stations.clone()),
                            results: dir.path().join("results"),
                            resume: None,
                            shard: None,
                            golden_dir: Some(golden.clone()),
                            progress: printrig::report::progress::Display::Quiet,
                            history: None,
                            firmware: None,
                            max_cases: printrig::plan::DEFAULT_MAX_CASES,
                        },
                    ))
                    .expect("run");
                assert_eq!(out.results.counts.cases, n * 10);
                assert_eq!(out.exit_code, 0, "{:?}", out.results.counts);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, streaming, concurrency);
criterion_main!(benches);

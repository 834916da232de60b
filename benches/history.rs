//! The history and the farm at a lab's scale: a year of nightly runs (365 runs × 228 cases)
//! answering `runs`, `trend` and `flaky`; and `rig merge` of 8 shards of 1000 cases with
//! their scans, analyses and thumbnails. Figures in docs/performance.md.

#[path = "../tests/common/fabricate.rs"]
mod fabricate;

use criterion::{criterion_group, criterion_main, Criterion};
use fabricate::{write_run, Fab, RunSpec};
use printrig::history::{query, History};
use printrig::verdict::Verdict;
use std::path::PathBuf;
use std::time::Duration;

/// 228 case ids: 4 stations × 19 patterns-and-conditions × 3 repeats.
fn nightly_cases() -> Vec<String> {
    let mut v = Vec::new();
    for s in 0..4 {
        for k in 0..19 {
            for r in 1..=3 {
                v.push(format!("st{s}/p{k}/c{k}/r{r}"));
            }
        }
    }
    v
}

/// A year of nightly runs in one history (recorded as `rig history import` records them).
fn year(dir: &std::path::Path) -> PathBuf {
    let ids = nightly_cases();
    let path = dir.join("history.sqlite");
    let mut h = History::open(&path, true).expect("history");
    for day in 0..365u32 {
        let (month, mday) = (day / 28 + 1, day % 28 + 1);
        let run_id = format!("2026{month:02}{mday:02}T020000Z-{day:04x}");
        let run = dir.join(&run_id);
        let cases: Vec<Fab> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Fab {
                id: id.clone(),
                // A few cases flip now and then; one in 50 fails.
                verdict: if (i * 7 + day as usize * 13).is_multiple_of(50) {
                    Verdict::Fail
                } else {
                    Verdict::Pass
                },
                solid_density: Some(1.2 - day as f64 * 1e-4 + (i % 5) as f64 * 0.01),
            })
            .collect();
        write_run(
            &run,
            &RunSpec {
                run_id: &run_id,
                time: &format!("2026-{month:02}-{mday:02}T02:00:00Z"),
                plan_name: "nightly",
                shard: None,
                plan_cases: &[],
                files: None,
            },
            &cases,
        );
        h.import(&run).expect("import");
        let _ = std::fs::remove_dir_all(&run);
    }
    path
}

fn history_queries(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tmp");
    // Made on first use: a filter that leaves out these benchmarks skips it.
    let made = std::cell::OnceCell::new();
    let history = || made.get_or_init(|| History::open(&year(tmp.path()), false).expect("history"));
    let mut g = c.benchmark_group("history_365_runs_x_228_cases");
    g.bench_function("runs", |b| {
        let h = history();
        b.iter(|| assert_eq!(query::runs(h, 20, None).expect("runs").len(), 20))
    });
    g.bench_function("trend", |b| {
        let h = history();
        b.iter(|| {
            assert_eq!(
                query::trend(h, "st2/p7/c7/r2", 365).expect("trend").len(),
                365
            )
        })
    });
    g.bench_function("flaky_window_20", |b| {
        let h = history();
        b.iter(|| query::flaky(h, 20, query::FLAKY_ABOVE, None).expect("flaky"))
    });
    g.bench_function("new", |b| {
        let h = history();
        b.iter(|| query::new_failures(h, None).expect("new"))
    });
    g.finish();
}

fn merge_shards(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tmp");
    let (shards, per) = (8u32, 1000usize);
    let all: Vec<String> = (0..shards as usize * per)
        .map(|i| format!("st{}/solid/c{}/r1", i % 16, i))
        .collect();
    let dirs: Vec<PathBuf> = (0..shards)
        .map(|k| {
            let run_id = format!("20261201T020000Z-s{k}");
            let dir = tmp.path().join(&run_id);
            let cases: Vec<Fab> = all[k as usize * per..(k as usize + 1) * per]
                .iter()
                .map(|id| Fab::new(id.clone(), Verdict::Pass))
                .collect();
            write_run(
                &dir,
                &RunSpec {
                    run_id: &run_id,
                    time: "2026-12-01T02:00:00Z",
                    plan_name: "farm",
                    shard: Some((k + 1, shards)),
                    plan_cases: &all,
                    // A scan, an analysis and a thumbnail of 24 kB each per case.
                    files: Some(24_000),
                },
                &cases,
            );
            dir
        })
        .collect();
    let mut g = c.benchmark_group("merge");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    let mut n = 0;
    g.bench_function("8_shards_x_1000_cases", |b| {
        b.iter(|| {
            n += 1;
            let out = tmp.path().join(format!("merged-{n}"));
            let m = printrig::merge::merge(&dirs, &out).expect("merge");
            assert_eq!(m.results.counts.cases, 8000);
            // Kept until the end: deleting 30 000 fresh inodes between iterations makes
            // the next ones' mkdirs crawl (ext4 searches recently deleted inodes), which a
            // real merge never meets.
        })
    });
    g.finish();
}

criterion_group!(benches, history_queries, merge_shards);
criterion_main!(benches);

//! Accuracy of the analysis on an independent corpus of synthetic scans (tests/corpus):
//! every sample goes through the path `rig` takes (decoded to 8-bit grey → analyse →
//! judge against a golden record) and is scored against its ground truth.
//!
//! `accuracy_full` runs the whole corpus (thousands of samples; run it in release with
//! `--ignored --nocapture`); `accuracy_fast_subset` runs the first few samples of every
//! class and holds the analysis to the floors it meets today. The table goes to stdout and
//! to `target/accuracy/report.md` (`report-fast.md` for the subset); the full run also
//! writes `target/accuracy/samples.csv`, one line per sample.

mod corpus;

use corpus::{Class, Fault, Nuisance, Orientation, Truth, FAULT_KINDS};
use printrig::analysis::Analysis;
use printrig::defect::DefectKind;
use printrig::golden::check::{check_image, Judging, Page, Record};
use printrig::pattern::{self, PatternKind};
use printrig::verdict::Verdict;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

const SEED: u64 = 20_261_202;

/// The full corpus: samples per class.
const FULL: [(Class, usize); 9] = [
    (Class::Healthy, 700),
    (Class::Faulty, 1300),
    (Class::Turned, 300),
    (Class::Unrelated, 200),
    (Class::ReceiptHalfWidth, 100),
    (Class::EarlyStop, 100),
    (Class::TornOnLid, 150),
    (Class::LightForty, 100),
    (Class::DeepDenseFade, 100),
];

/// The fast subset: the first samples of every class of the full corpus, skipping
/// 1200-dpi scans after the first of each class (they take four times as long).
const FAST: [(Class, usize); 9] = [
    (Class::Healthy, 16),
    (Class::Faulty, 27),
    (Class::Turned, 8),
    (Class::Unrelated, 6),
    (Class::ReceiptHalfWidth, 5),
    (Class::EarlyStop, 5),
    (Class::TornOnLid, 6),
    (Class::LightForty, 5),
    (Class::DeepDenseFade, 5),
];

/// A defect as reported.
#[derive(Debug, Clone)]
struct Found {
    kind: DefectKind,
    start: u32,
    end: u32,
}

/// What the analysis and judgement said about one sample.
#[derive(Debug, Clone)]
struct Outcome {
    /// Index of the sample in its class (`corpus::draw(SEED, class, index)`).
    index: u64,
    truth: Truth,
    verdict: Verdict,
    found: Vec<Found>,
    /// Largest distance, in dots, between the analysis' map and the true one at the four
    /// corners of the pattern; None when nothing registered.
    corner_error: Option<f64>,
    /// Solid density against the record's (1 = as blessed).
    density_ratio: Option<f64>,
    /// The golden comparison's findings, as `what:severity`.
    findings: Vec<String>,
}

impl Outcome {
    fn has(&self, kind: DefectKind) -> bool {
        self.found.iter().any(|f| f.kind == kind)
    }

    fn upright_pattern(&self) -> bool {
        self.truth.orientation == Orientation::Upright && !self.truth.unrelated
    }
}

/// Runs `f` over `items` on every core, keeping the order.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.min(items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() {
                    break;
                }
                let r = f(&items[i]);
                slots.lock().expect("a worker panicked")[i] = Some(r);
            });
        }
    });
    slots
        .into_inner()
        .expect("a worker panicked")
        .into_iter()
        .map(|r| r.expect("every item was processed"))
        .collect()
}

/// The rig a golden record is blessed on: a lab blesses on its own scanner, so records
/// are kept per pattern, width and scanner (sensor, transfer curve to a tenth of its
/// exponent, black level to two levels).
type RigKey = (PatternKind, u32, bool, u32, u32);

fn rig_key(spec: &corpus::Spec) -> RigKey {
    let sc = &spec.scanner;
    (
        spec.kind,
        spec.dots,
        matches!(sc.sensor, corpus::Sensor::Cis),
        sc.gamma.map_or(0, |g| (g * 10.0).round() as u32),
        (sc.black_level / 2.0).round() as u32,
    )
}

/// A golden record blessed from a clean 600-dpi upright scan of a healthy print on the
/// rig `key` names; the note says when the analysis found defects on it (blessed anyway).
fn bless(key: RigKey) -> (Record, Option<String>) {
    let (kind, dots, cis, gamma, black) = key;
    let mut spec = corpus::reference(kind, dots);
    spec.scanner.sensor = if cis {
        corpus::Sensor::Cis
    } else {
        corpus::Sensor::Ccd
    };
    spec.scanner.gamma = (gamma > 0).then(|| gamma as f64 / 10.0);
    spec.scanner.black_level = black as f64 * 2.0;
    let sample = corpus::render(&spec);
    let pattern = pattern::render(kind, dots, 0).expect("corpus widths are supported");
    let a = printrig::analysis::analyze(&sample.image.to_luma8(), &pattern);
    let scan = format!(
        "corpus/reference-{kind}-{dots}-{}-g{gamma}-b{black}.png",
        if cis { "cis" } else { "ccd" }
    );
    let copy = [printrig::golden::Copy {
        analysis: &a,
        scan,
        sha256: String::new(),
    }];
    let (golden, note) = match printrig::golden::bless(&copy, "corpus", None, false) {
        Ok(g) => (g, None),
        Err(e) => (
            printrig::golden::bless(&copy, "corpus", None, true)
                .expect("the reference scan registers"),
            Some(format!("{kind} at {dots} dots: {e}")),
        ),
    };
    let record = Record {
        path: PathBuf::from(format!("corpus/golden/{kind}-{dots}.json")),
        golden,
    };
    (record, note)
}

/// The worst distance, in dots, between where the analysis maps a corner of the pattern
/// (its whole map: the affine transform and the local warp when there is one) and where
/// the generator put it.
fn corner_error(a: &Analysis, t: &Truth) -> Option<f64> {
    let r = a.registration.as_ref()?;
    let m = r.transform;
    let (w, h) = (t.dots as f64, t.ink_end as f64);
    let worst = [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h)]
        .into_iter()
        .enumerate()
        .map(|(i, (x, y))| {
            let (u, v) = match &r.warp {
                Some(warp) => (warp.corners[i][0], warp.corners[i][1]),
                None => (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]),
            };
            let (tu, tv) = t.geometry.dot_to_pixel(x, y);
            (u - tu).hypot(v - tv)
        })
        .fold(0.0, f64::max);
    Some(worst / t.geometry.px_per_dot())
}

/// Scans one sample, then analyses and judges it against `record`.
fn scan_and_judge(spec: &corpus::Spec, record: &Record) -> (Truth, Page) {
    let sample = corpus::render(spec);
    let truth = sample.truth;
    let pattern =
        pattern::render(truth.kind, truth.dots, truth.serial).expect("corpus widths are supported");
    // What decoding a scan file gives: colour to luma, 16 bits scaled to 8.
    let grey = sample.image.into_luma8();
    let page = check_image(grey, &pattern, Some(record), &Judging::default())
        .expect("the record fits its pattern");
    (truth, page)
}

/// Scans, analyses and judges one sample.
fn check(index: u64, spec: &corpus::Spec, records: &BTreeMap<RigKey, Record>) -> Outcome {
    let (truth, page) = scan_and_judge(spec, &records[&rig_key(spec)]);
    Outcome {
        index,
        verdict: page.judgement.verdict,
        found: page
            .judgement
            .defects
            .iter()
            .map(|d| Found {
                kind: d.kind,
                start: d.start,
                end: d.end,
            })
            .collect(),
        corner_error: corner_error(&page.analysis, &truth),
        density_ratio: page.judgement.golden.as_ref().and_then(|c| c.density_ratio),
        findings: page
            .judgement
            .golden
            .iter()
            .flat_map(|c| &c.findings)
            .map(|f| format!("{}:{}:{:.2}", f.what, f.severity.name(), f.worst))
            .collect(),
        truth,
    }
}

struct Run {
    outcomes: Vec<Outcome>,
    notes: Vec<String>,
    seconds: f64,
}

/// The samples of `strata`: the first of every class, with at most `fine` 1200-dpi
/// scans per class when given.
fn select(strata: &[(Class, usize)], fine: Option<usize>) -> Vec<(u64, corpus::Spec)> {
    let mut out = Vec::new();
    for &(class, n) in strata {
        let mut fine_left = fine.unwrap_or(usize::MAX);
        let mut taken = 0;
        for i in 0.. {
            if taken == n {
                break;
            }
            let spec = corpus::draw(SEED, class, i);
            if spec.scanner.dpi >= 1200.0 {
                if fine_left == 0 {
                    continue;
                }
                fine_left -= 1;
            }
            out.push((i, spec));
            taken += 1;
        }
    }
    out
}

fn run(specs: Vec<(u64, corpus::Spec)>, progress: bool) -> Run {
    let start = Instant::now();
    let needed: Vec<RigKey> = specs
        .iter()
        .map(|(_, s)| rig_key(s))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let blessed = parallel_map(&needed, |&key| bless(key));
    let mut notes = Vec::new();
    let mut records = BTreeMap::new();
    for (key, (record, note)) in needed.into_iter().zip(blessed) {
        notes.extend(note);
        records.insert(key, record);
    }
    let done = AtomicUsize::new(0);
    let outcomes = parallel_map(&specs, |(index, spec)| {
        let o = check(*index, spec, &records);
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if progress && n.is_multiple_of(250) {
            eprintln!(
                "{n}/{} samples, {:.0} s",
                specs.len(),
                start.elapsed().as_secs_f64()
            );
        }
        o
    });
    Run {
        outcomes,
        notes,
        seconds: start.elapsed().as_secs_f64(),
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    hits: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, hit: bool) {
        self.total += 1;
        self.hits += hit as usize;
    }

    fn fraction(&self) -> f64 {
        if self.total == 0 {
            f64::NAN
        } else {
            self.hits as f64 / self.total as f64
        }
    }

    fn cell(&self) -> String {
        format!("{:.3} ({}/{})", self.fraction(), self.hits, self.total)
    }
}

/// The twelve measures, in order.
const MEASURES: [&str; 12] = [
    "defect kind found, upright faulty pages",
    "healthy upright pages judged pass",
    "healthy upright pages with any defect (lower is better)",
    "turned 90/180/270: handled or refused as unregistered",
    "unrelated receipts judged unregistered",
    "half_width named on the receipt pattern",
    "column defects located within ±2 dots, upright",
    "truncation at 10–15 % of the length found",
    "torn page on a bright lid: stop within ±2 %, no fade_along",
    "light print at ≈40 % density: light, not blank",
    "dense_line_fade at 50–58 %: dense_line_fade, no block_dropout",
    "registration within 1 dot at the corners, upright",
];

struct Scores {
    rows: [Tally; 12],
    /// The first few samples missing each measure, as (class, index).
    misses: [Vec<(Class, u64)>; 12],
    /// Turned pages by orientation: handled, refused, other.
    turned: BTreeMap<&'static str, [usize; 3]>,
    /// Samples per class.
    classes: BTreeMap<Class, usize>,
    /// Upright pages by fault (None: healthy): kind found, located, registered.
    by_fault: BTreeMap<Option<usize>, [Tally; 3]>,
    /// Healthy upright pages not judged pass, by nuisance and by scan property.
    healthy_by: Vec<(String, Tally)>,
    /// Defect kinds reported on healthy upright pages.
    false_kinds: BTreeMap<DefectKind, usize>,
}

fn located(o: &Outcome) -> bool {
    let Some(f) = o.truth.fault else {
        return false;
    };
    let Some((s, e)) = f.columns(o.truth.dots) else {
        return false;
    };
    o.found
        .iter()
        .any(|d| d.kind == f.kind() && d.start.abs_diff(s) <= 2 && d.end.abs_diff(e) <= 2)
}

/// Counts one sample for measure `i`, keeping the first few that miss it (for row 3,
/// the healthy pages with a defect).
fn mark(
    rows: &mut [Tally; 12],
    misses: &mut [Vec<(Class, u64)>; 12],
    i: usize,
    o: &Outcome,
    hit: bool,
) {
    rows[i].add(hit);
    let bad = if i == 2 { hit } else { !hit };
    if bad {
        misses[i].push((o.truth.class, o.index));
    }
}

fn score(outcomes: &[Outcome]) -> Scores {
    let mut rows = [Tally::default(); 12];
    let mut misses: [Vec<(Class, u64)>; 12] = Default::default();
    let mut turned: BTreeMap<&'static str, [usize; 3]> = BTreeMap::new();
    let mut classes = BTreeMap::new();
    let mut by_fault: BTreeMap<Option<usize>, [Tally; 3]> = BTreeMap::new();
    let mut healthy_by: BTreeMap<String, Tally> = BTreeMap::new();
    let mut false_kinds = BTreeMap::new();
    for o in outcomes {
        let t = &o.truth;
        *classes.entry(t.class).or_insert(0) += 1;
        let upright = o.upright_pattern();
        if let (true, Some(f)) = (upright, t.fault) {
            let hit = o.has(f.kind());
            mark(&mut rows, &mut misses, 0, o, hit);
            let i = FAULT_KINDS.iter().position(|k| *k == f.kind());
            let e = by_fault.entry(i).or_default();
            e[0].add(hit);
            if f.columns(t.dots).is_some() {
                e[1].add(located(o));
                mark(&mut rows, &mut misses, 6, o, located(o));
            }
        }
        if upright && t.fault.is_none() {
            let pass = o.verdict == Verdict::Pass;
            mark(&mut rows, &mut misses, 1, o, pass);
            mark(&mut rows, &mut misses, 2, o, !o.found.is_empty());
            for f in &o.found {
                *false_kinds.entry(f.kind).or_insert(0) += 1;
            }
            let mut keys: Vec<String> = t.nuisances.iter().map(|n| n.name().to_string()).collect();
            if !t
                .nuisances
                .iter()
                .any(|n| !matches!(n, Nuisance::BrightLid { .. } | Nuisance::DarkBed { .. }))
            {
                keys.push("none but the background".into());
            }
            keys.push(format!("{} dpi", t.dpi));
            keys.push(match t.gamma {
                Some(_) => "gamma 1.8–2.4".into(),
                None => "linear transfer".into(),
            });
            keys.push(format!("{} sensor", t.sensor.name()));
            for k in keys {
                healthy_by.entry(k).or_default().add(!pass);
            }
        }
        if t.orientation != Orientation::Upright {
            let handled = o.found.is_empty()
                && o.verdict == Verdict::Pass
                && o.corner_error.is_some_and(|e| e <= 2.0);
            let refused = o.has(DefectKind::Unregistered);
            turned.entry(t.orientation.name()).or_default()[if handled {
                0
            } else if refused {
                1
            } else {
                2
            }] += 1;
            mark(&mut rows, &mut misses, 3, o, handled || refused);
        }
        if t.unrelated {
            mark(
                &mut rows,
                &mut misses,
                4,
                o,
                o.has(DefectKind::Unregistered),
            );
        }
        if !upright {
            continue;
        }
        match t.fault {
            Some(Fault::HalfWidth { .. }) if t.kind == PatternKind::Receipt => {
                mark(&mut rows, &mut misses, 5, o, o.has(DefectKind::HalfWidth))
            }
            Some(Fault::Truncated { stop_row, torn }) => {
                let at = stop_row as f64 / t.ink_end as f64;
                if (0.1..=0.15).contains(&at) {
                    mark(&mut rows, &mut misses, 7, o, o.has(DefectKind::Truncated));
                }
                if torn && t.has("bright lid") {
                    let tol = 0.02 * t.ink_end as f64;
                    let stop_ok = o.found.iter().any(|d| {
                        d.kind == DefectKind::Truncated
                            && (d.start as f64 - t.printed_ink_end as f64).abs() <= tol
                    });
                    mark(
                        &mut rows,
                        &mut misses,
                        8,
                        o,
                        stop_ok && !o.has(DefectKind::FadeAlong),
                    );
                }
            }
            Some(Fault::Light { density }) if (0.35..=0.45).contains(&density) => mark(
                &mut rows,
                &mut misses,
                9,
                o,
                o.has(DefectKind::Light) && !o.has(DefectKind::Blank),
            ),
            Some(Fault::DenseLineFade { level }) if (0.5..=0.58).contains(&level) => mark(
                &mut rows,
                &mut misses,
                10,
                o,
                o.has(DefectKind::DenseLineFade) && !o.has(DefectKind::BlockDropout),
            ),
            _ => {}
        }
        if !matches!(t.fault, Some(Fault::Truncated { .. })) {
            let i = t
                .fault
                .and_then(|f| FAULT_KINDS.iter().position(|k| *k == f.kind()));
            by_fault.entry(i).or_default()[2].add(o.corner_error.is_some_and(|e| e <= 1.0));
            mark(
                &mut rows,
                &mut misses,
                11,
                o,
                o.corner_error.is_some_and(|e| e <= 1.0),
            );
        }
    }
    // Nuisances in their own order first, then the scan properties.
    let mut ordered: Vec<(String, Tally)> = Vec::new();
    let mut names: Vec<String> = vec!["none but the background".to_string()];
    names.extend(Nuisance::NAMES.iter().map(|s| s.to_string()));
    for n in names {
        if let Some(t) = healthy_by.remove(&n) {
            ordered.push((n, t));
        }
    }
    ordered.extend(healthy_by);
    Scores {
        rows,
        misses,
        turned,
        classes,
        by_fault,
        healthy_by: ordered,
        false_kinds,
    }
}

fn report(title: &str, run: &Run, s: &Scores) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "## {title}\n");
    let _ = writeln!(
        w,
        "{} samples (seed {SEED}) in {:.0} s on {} threads.\n",
        run.outcomes.len(),
        run.seconds,
        std::thread::available_parallelism().map_or(2, |n| n.get())
    );
    let classes: Vec<String> = Class::ALL
        .iter()
        .filter_map(|c| s.classes.get(c).map(|n| format!("{} {n}", c.name())))
        .collect();
    let _ = writeln!(w, "Samples: {}.\n", classes.join(", "));
    let _ = writeln!(w, "| # | measure | fraction (count) |\n|---|---|---|");
    for (i, (m, t)) in MEASURES.iter().zip(&s.rows).enumerate() {
        let _ = writeln!(w, "| {} | {m} | {} |", i + 1, t.cell());
    }
    let _ = writeln!(
        w,
        "\nFirst samples counted against each measure (`class:index`, for `corpus::draw`):\n"
    );
    for (i, m) in s.misses.iter().enumerate() {
        if m.is_empty() {
            continue;
        }
        let list: Vec<String> = m
            .iter()
            .take(4)
            .map(|(c, k)| format!("{}:{k}", *c as usize))
            .collect();
        let _ = writeln!(w, "- row {}: {}", i + 1, list.join(", "));
    }
    let _ = writeln!(
        w,
        "\n### Turned pages\n\n| turned | handled | refused (unregistered) | other defects |\n|---|---|---|---|"
    );
    for (k, [a, b, c]) in &s.turned {
        let _ = writeln!(w, "| {k} | {a} | {b} | {c} |");
    }
    let _ = writeln!(
        w,
        "\n### By fault (upright)\n\n| fault | kind found | located ±2 dots | corners within 1 dot |\n|---|---|---|---|"
    );
    let cell = |t: &Tally| {
        if t.total > 0 {
            t.cell()
        } else {
            "—".into()
        }
    };
    for (i, [found, loc, reg]) in &s.by_fault {
        let name = i.map_or("none (healthy)", |i| FAULT_KINDS[i].name());
        let _ = writeln!(
            w,
            "| {name} | {} | {} | {} |",
            cell(found),
            cell(loc),
            cell(reg)
        );
    }
    let _ = writeln!(
        w,
        "\n### Healthy upright pages not judged pass\n\n| pages with | not pass |\n|---|---|"
    );
    for (k, t) in &s.healthy_by {
        let _ = writeln!(w, "| {k} | {} |", t.cell());
    }
    let _ = writeln!(
        w,
        "\n### Defects reported on healthy upright pages\n\n| kind | reports |\n|---|---|"
    );
    for (k, n) in &s.false_kinds {
        let _ = writeln!(w, "| {k} | {n} |");
    }
    if !run.notes.is_empty() {
        let _ = writeln!(w, "\nGolden records blessed despite defects:\n");
        for n in &run.notes {
            let _ = writeln!(w, "- {n}");
        }
    }
    out
}

/// One line per sample: what it was and what was reported.
fn samples_csv(outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "class,index,pattern,dots,dpi,sensor,gamma,orientation,fault,nuisances,verdict,corner_error_dots,density_ratio,findings,defects\n",
    );
    for o in outcomes {
        let t = &o.truth;
        let nuisances: Vec<&str> = t.nuisances.iter().map(|n| n.name()).collect();
        let defects: Vec<String> = o
            .found
            .iter()
            .map(|d| format!("{} {}-{}", d.kind, d.start, d.end))
            .collect();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},\"{}\",{},{},{},{},{},{}",
            t.class.name(),
            o.index,
            if t.unrelated {
                "shop receipt"
            } else {
                t.kind.name()
            },
            t.dots,
            t.dpi,
            t.sensor.name(),
            t.gamma.map_or("linear".into(), |g| format!("{g:.2}")),
            t.orientation.name(),
            t.fault
                .map_or(String::new(), |f| format!("{f:?}"))
                .replace('"', "'"),
            nuisances.join("; "),
            o.verdict.name(),
            o.corner_error.map_or(String::new(), |e| format!("{e:.2}")),
            o.density_ratio.map_or(String::new(), |r| format!("{r:.3}")),
            o.findings.join("; "),
            defects.join("; ")
        );
    }
    out
}

/// `accuracy/` under the target directory.
fn report_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("accuracy")
}

fn write_report(name: &str, text: &str) {
    let dir = report_dir();
    std::fs::create_dir_all(&dir).expect("create the report directory");
    std::fs::write(dir.join(name), text).expect("write the report");
}

#[test]
#[ignore = "thousands of samples: run in release with --ignored --nocapture"]
fn accuracy_full() {
    // ACCURACY_ONLY=healthy,turned limits a run to those classes (a debugging aid; the
    // report then covers only what they measure).
    let only = std::env::var("ACCURACY_ONLY").ok();
    let strata: Vec<(Class, usize)> = FULL
        .iter()
        .copied()
        .filter(|(c, _)| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|n| n.trim() == c.name()))
        })
        .collect();
    let run = run(select(&strata, None), true);
    let scores = score(&run.outcomes);
    let text = report("Accuracy on the full corpus", &run, &scores);
    println!("{text}");
    write_report("report.md", &text);
    write_report("samples.csv", &samples_csv(&run.outcomes));
    write_report("misses.txt", &misses_list(&scores));
}

/// Every sample counted against each measure, a row per measure: `row: class:index …`.
fn misses_list(s: &Scores) -> String {
    s.misses
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.is_empty())
        .map(|(i, m)| {
            let list: Vec<String> = m
                .iter()
                .map(|(c, k)| format!("{}:{k}", *c as usize))
                .collect();
            format!("{}: {}\n", i + 1, list.join(" "))
        })
        .collect()
}

/// One sample of the corpus, for a close look: `ACCURACY_SAMPLE=class:index` (the class's
/// position in `Class::ALL`) writes its scan, analysis and judgement (JSON) and its golden
/// record under `target/accuracy/sample-<class>-<index>/`.
#[test]
#[ignore = "a debugging aid: set ACCURACY_SAMPLE=class:index"]
fn accuracy_sample() {
    let Ok(which) = std::env::var("ACCURACY_SAMPLE") else {
        panic!("set ACCURACY_SAMPLE=class:index");
    };
    let (class, index) = which
        .split_once(':')
        .and_then(|(c, i)| Some((c.parse::<usize>().ok()?, i.parse::<u64>().ok()?)))
        .expect("ACCURACY_SAMPLE is class:index");
    let spec = corpus::draw(SEED, Class::ALL[class], index);
    let (record, _) = bless(rig_key(&spec));
    let (truth, page) = scan_and_judge(&spec, &record);
    let name = format!("sample-{class}-{index}");
    let dir = report_dir().join(&name);
    std::fs::create_dir_all(&dir).expect("create the sample directory");
    page.scan
        .save(dir.join("scan.png"))
        .expect("write the scan");
    std::fs::write(
        dir.join("analysis.json"),
        serde_json::to_string_pretty(&page.analysis).expect("analysis serialises"),
    )
    .expect("write the analysis");
    std::fs::write(
        dir.join("judgement.json"),
        serde_json::to_string_pretty(&page.judgement).expect("judgement serialises"),
    )
    .expect("write the judgement");
    std::fs::write(dir.join("golden.json"), record.golden.to_json()).expect("write the record");
    println!(
        "{name}: {:?}\n{}\ncorner error {:?}\n{}",
        truth,
        page.judgement.verdict.name(),
        corner_error(&page.analysis, &truth),
        page.judgement.reasons.join("\n")
    );
}

/// Floors the analysis meets today on the fast subset (rows as numbered in the table),
/// one sample below what it measured on 2026-12-03 (golden records blessed per rig
/// scanner), so that a regression fails the test while a single borderline page flipping
/// does not. Raise them as the analysis improves. Row 3 counts false alarms, so it holds
/// a ceiling instead.
const FLOORS: [(usize, f64); 11] = [
    (1, 0.96),  // measured 52/53
    (2, 0.87),  // 15/16
    (4, 0.87),  // 8/8
    (5, 0.83),  // 6/6
    (6, 0.83),  // 6/6
    (7, 0.88),  // 16/17
    (8, 0.6),   // 4/5
    (9, 0.88),  // 9/9
    (10, 0.8),  // 5/5
    (11, 0.8),  // 5/5
    (12, 0.94), // 51/53
];
/// Row 3, healthy pages with any defect: measured 1/16.
const CEILING_3: f64 = 0.13;

#[test]
fn accuracy_fast_subset() {
    let run = run(select(&FAST, Some(1)), false);
    let scores = score(&run.outcomes);
    let text = report("Accuracy on the fast subset", &run, &scores);
    println!("{text}");
    write_report("report-fast.md", &text);
    let mut failures = Vec::new();
    for (row, floor) in FLOORS {
        let t = scores.rows[row - 1];
        if t.fraction().is_nan() || t.fraction() < floor {
            failures.push(format!(
                "row {row} ({}): {} below the floor {floor}",
                MEASURES[row - 1],
                t.cell()
            ));
        }
    }
    let t = scores.rows[2];
    if t.fraction().is_nan() || t.fraction() > CEILING_3 {
        failures.push(format!(
            "row 3 ({}): {} above the ceiling {CEILING_3}",
            MEASURES[2],
            t.cell()
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! `rig gate` end to end: the shipped gate plan run on simulated stations with different
//! noise (seeds) and firmware images, compared from run directories and from the
//! history; and the answers for runs that cannot be compared or lost prints to errors.

mod common;

use common::cmd::{rig, run_on_with, run_plan, summary, text, write};
use common::fabricate::{write_run, Fab, RunSpec};
use printrig::verdict::Verdict;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The two simulated stations of rig/stations/sim.toml with their noise from `seed`, a
/// firmware image `SIM 1.3` that kills element 311 of the 80 mm head (and changes nothing
/// on the 58 mm one), and the `images` tables given, on both.
fn stations(seed: u64, images: &str) -> String {
    let station = |name: &str, dots: u32, link: &str, seed: u64, dead: &str| {
        format!(
            "[[station]]\nname = \"{name}\"\nkind = \"sim\"\nmodel = \"{name}\"\n\
             [station.printer]\ndots = {dots}\nlink = {{ kind = \"{link}\" }}\nfirmware = \"SIM 1.0\"\n\
             [station.sim]\ntime_scale = 120.0\nseed = {seed}\n\
             [[station.sim.firmware]]\nversion = \"SIM 1.3\"\nfaults = [{dead}]\n{images}\n"
        )
    };
    station("sim-80mm", 576, "pty", 2 * seed + 1, "\"dead=311\"")
        + &station("sim-58mm", 384, "tcp", 2 * seed + 2, "")
}

/// Runs the shipped gate plan on the station file `stations` (the built-in simulated
/// stations when `None`) into `results`, on `firmware`; its run directory.
fn gate_run(stations: Option<&Path>, results: &Path, firmware: Option<&str>) -> PathBuf {
    let plan = root().join("rig/plans/gate.toml");
    let before: Vec<PathBuf> = dirs(results);
    let more: Vec<&str> = firmware.map_or(Vec::new(), |v| vec!["--firmware", v]);
    let out = match stations {
        Some(st) => run_on_with(&plan, st, results, &more),
        None => run_plan(&plan, results, &more),
    };
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    dirs(results)
        .into_iter()
        .find(|d| !before.contains(d))
        .expect("a new run directory")
}

/// [`gate_run`] on [`stations`] of `seed` (no extra images), written into `tmp`.
fn seeded_run(tmp: &Path, seed: u64, results: &Path, firmware: Option<&str>) -> PathBuf {
    let st = write(tmp, &format!("stations-{seed}.toml"), &stations(seed, ""));
    gate_run(Some(&st), results, firmware)
}

fn dirs(results: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(results)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

fn gate(args: &[&str]) -> (Option<i32>, String, String) {
    let out = rig()
        .arg("gate")
        .args(args)
        .output()
        .expect("rig gate runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn gate_json(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, out, err) = gate(&all);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v)
}

/// The element of `list` in `v` whose `key` is `name`.
fn find<'a>(v: &'a Value, list: &str, key: &str, name: &str) -> &'a Value {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {v}"))
        .iter()
        .find(|x| x[key] == name)
        .unwrap_or_else(|| panic!("no {key} {name} in {}", v["name"]))
}

fn pair<'a>(report: &'a Value, name: &str) -> &'a Value {
    find(report, "pairs", "name", name)
}

fn metric<'a>(pair: &'a Value, name: &str) -> &'a Value {
    find(pair, "metrics", "metric", name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A/A is no regression; a firmware 6 % lighter whose every case passes is a regression
/// on both printers' solid density, from run directories and from the history alike; a
/// firmware that kills one element is a regression on that printer's elements and solid
/// pairs, named by element and dot, and on nothing of the other printer; a firmware that
/// stops compensating dense rows is a regression on the 80 mm dense-sparse pair.
#[test]
fn the_gate_passes_a_a_and_catches_a_lighter_firmware_and_a_dead_element() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lab = tmp.path().join("lab");
    let base = seeded_run(tmp.path(), 1, &lab, None);
    // The images README and docs/gate.md name, on the built-in stations.
    let light = gate_run(None, &lab, Some("SIM 1.1"));
    let sag = gate_run(None, &tmp.path().join("sag"), Some("SIM 1.2"));
    let again = seeded_run(tmp.path(), 2, &tmp.path().join("again"), None);
    let dead = seeded_run(tmp.path(), 4, &tmp.path().join("dead"), Some("SIM 1.3"));

    // The lighter firmware passes every case of its own run.
    let sl = summary(&light);
    assert_eq!(sl["counts"]["pass"], 40, "{}", sl["counts"]);
    assert!(sl["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .all(|c| c["firmware"] == "SIM 1.1"));

    // A/A: the same firmware with other noise.
    let (code, out, err) = gate(&["--baseline", s(&base), "--candidate", s(&again)]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("gate: NO REGRESSION"), "{out}");

    // 6 % lighter.
    let md = tmp.path().join("gate.md");
    let junit = tmp.path().join("gate.xml");
    let (code, r) = gate_json(&[
        "--baseline",
        s(&base),
        "--candidate",
        s(&light),
        "--markdown",
        s(&md),
        "--junit",
        s(&junit),
    ]);
    assert_eq!(code, Some(1), "{r:#}");
    assert_eq!(r["outcome"], "regression");
    assert_eq!(r["exit_code"], 1);
    for printer in ["sim-80mm", "sim-58mm"] {
        let p = pair(&r, &format!("{printer}/all patterns/nominal"));
        let m = metric(p, "solid density");
        assert_eq!(m["decision"], "regression", "{m:#}");
        let (lo, hi) = (m["lo"].as_f64().unwrap(), m["hi"].as_f64().unwrap());
        assert!(lo < -0.03 && hi < -0.03 && lo > -0.10, "{m:#}");
    }
    assert_eq!(r["baseline"]["firmware"][0], "SIM 1.0");
    assert_eq!(r["candidate"]["firmware"][0], "SIM 1.1");
    let md = std::fs::read_to_string(&md).expect("markdown");
    assert!(md.starts_with("## ❌ Firmware gate: regression"), "{md}");
    let regressions = md.find("### Regressions").expect("regressions section");
    assert!(
        regressions < md.find("### Every pair").expect("pairs"),
        "{md}"
    );
    assert!(md.contains("| `sim-80mm/all patterns/nominal` | solid density |"));
    let junit = std::fs::read_to_string(&junit).expect("junit");
    let pairs = r["pairs"].as_array().expect("pairs").len();
    assert!(junit.contains(&format!(
        "tests=\"{pairs}\" failures=\"{}\"",
        r["counts"]["regression"]
    )));
    assert_eq!(junit.matches("<testcase ").count(), pairs);
    assert_eq!(
        junit.matches("<failure ").count(),
        r["counts"]["regression"].as_u64().unwrap() as usize
    );

    // The same runs found through the history they recorded into.
    let history = lab.join("history.sqlite");
    let (code, h) = gate_json(&[
        "--history",
        s(&history),
        "--baseline-firmware",
        "SIM 1.0",
        "--candidate-firmware",
        "SIM 1.1",
    ]);
    assert_eq!(code, Some(1), "{h:#}");
    let decisions = |v: &Value| -> Vec<(String, String)> {
        v["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].to_string(), p["decision"].to_string()))
            .collect()
    };
    assert_eq!(decisions(&h), decisions(&r));
    let (code, _, err) = gate(&[
        "--history",
        s(&history),
        "--baseline-firmware",
        "SIM 1.0",
        "--candidate-firmware",
        "SIM 9",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no run printed on firmware SIM 9"), "{err}");

    // One dead element on the 80 mm head.
    let (code, r) = gate_json(&["--baseline", s(&base), "--candidate", s(&dead)]);
    assert_eq!(code, Some(1), "{r:#}");
    let members = |m: &Value| -> Vec<u64> {
        m["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["decision"] == "regression")
            .map(|x| x["index"].as_u64().unwrap())
            .collect()
    };
    let elements = metric(pair(&r, "sim-80mm/elements/nominal"), "element coverage");
    assert_eq!(elements["decision"], "regression", "{elements:#}");
    assert_eq!(members(elements), vec![311], "{elements:#}");
    assert!(
        elements["detail"]
            .as_str()
            .unwrap()
            .contains("elements 311"),
        "{elements:#}"
    );
    let dots = metric(
        pair(&r, "sim-80mm/solid/nominal"),
        "column coverage (per dot)",
    );
    assert_eq!(dots["decision"], "regression", "{dots:#}");
    assert!(members(dots).contains(&311), "{dots:#}");
    assert!(
        members(dots).iter().all(|d| (309..=313).contains(d)),
        "{dots:#}"
    );
    for p in r["pairs"].as_array().unwrap() {
        if p["model"] == "sim-58mm" {
            assert_ne!(p["decision"], "regression", "{p:#}");
        }
    }

    // Dense rows no longer compensated: full rows print lighter against the page's own
    // solid squares, and the analysis names the fade in every print.
    let (code, r) = gate_json(&["--baseline", s(&base), "--candidate", s(&sag)]);
    assert_eq!(code, Some(1), "{r:#}");
    let ds = pair(&r, "sim-80mm/dense-sparse/nominal");
    assert_eq!(ds["decision"], "regression", "{ds:#}");
    let band = metric(ds, "band dense-1 vs page solid");
    assert_eq!(band["decision"], "regression", "{band:#}");
    assert!(band["hi"].as_f64().unwrap() < -0.10, "{band:#}");
    let fade = metric(ds, "defect dense_line_fade");
    assert_eq!(fade["decision"], "regression", "{fade:#}");
    assert_eq!(fade["candidate"]["count"], 5, "{fade:#}");
}

fn fab_ids(pattern: &str, n: u32) -> Vec<String> {
    (1..=n)
        .map(|r| format!("s/{pattern}/nominal/r{r}"))
        .collect()
}

fn fab(dir: &Path, run_id: &str, plan: &str, cases: Vec<Fab>) -> PathBuf {
    let d = dir.join(run_id);
    write_run(
        &d,
        &RunSpec {
            run_id,
            time: "2026-11-01T00:00:00Z",
            plan_name: plan,
            shard: None,
            plan_cases: &[],
            files: None,
        },
        &cases,
    );
    d
}

fn passing(ids: &[String], density: f64) -> Vec<Fab> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| Fab {
            id: id.clone(),
            verdict: Verdict::Pass,
            solid_density: Some(density + 0.002 * (i % 3) as f64),
        })
        .collect()
}

/// Runs that cannot be compared are exit 2 with the reason; a print lost to an error is
/// no evidence either way and makes the answer inconclusive (exit 3).
#[test]
fn incomparable_runs_are_refused_and_errors_are_no_evidence() {
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let ids = fab_ids("solid", 5);
    let base = fab(t, "base", "gate", passing(&ids, 1.0));
    let other_plan = fab(t, "other", "nightly", passing(&ids, 1.0));
    let (code, _, err) = gate(&["--baseline", s(&base), "--candidate", s(&other_plan)]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("different plans")
            && err.contains("plan gate: baseline base")
            && err.contains("plan nightly: candidate other"),
        "{err}"
    );

    let mut more = ids.clone();
    more.extend(fab_ids("ladder", 1));
    let wider = fab(t, "wider", "gate", passing(&more, 1.0));
    let (code, _, err) = gate(&["--baseline", s(&base), "--candidate", s(&wider)]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("only the candidate has sim-58mm/ladder/nominal"),
        "{err}"
    );

    let (code, _, err) = gate(&["--baseline", s(&base), "--candidate", s(&base)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("run base is given as both baseline and candidate"),
        "{err}"
    );
    let (code, _, err) = gate(&["--baseline", s(&base), "--candidate", s(&t.join("nothing"))]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("nothing") && err.contains("not a run directory"),
        "{err}"
    );

    // Same firmware, one candidate print an instrument error: inconclusive, and said why.
    let mut cases = passing(&ids, 1.0);
    cases[2].verdict = Verdict::Error;
    cases[2].solid_density = None;
    let errored = fab(t, "errored", "gate", cases);
    let (code, out, err) = gate(&["--baseline", s(&base), "--candidate", s(&errored)]);
    assert_eq!(code, Some(3), "{out}\n{err}");
    assert!(
        out.contains("1 candidate print(s) left out: s/solid/nominal/r3 in errored: error"),
        "{out}"
    );
    assert!(out.contains("gate: INCONCLUSIVE"), "{out}");
    // The same runs without the error: no regression.
    let clean = fab(t, "clean", "gate", passing(&ids, 1.0));
    let (code, out, _) = gate(&["--baseline", s(&base), "--candidate", s(&clean)]);
    assert_eq!(code, Some(0), "{out}");
    // And much lighter: a regression.
    let lighter = fab(t, "lighter", "gate", passing(&ids, 0.9));
    let (code, out, _) = gate(&["--baseline", s(&base), "--candidate", s(&lighter)]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("solid density"), "{out}");
}

/// The gate's error rates, measured (docs/gate.md): 40 baseline runs of the shipped gate
/// plan with different noise, each compared with the next (A/A), and candidates at
/// density 0.97, 0.95, 0.94 and 0.90 each compared with the baseline of the same seed.
/// About 200 runs: `cargo test --release --test gate -- --ignored --nocapture
/// power_curve` (GATE_SEEDS=n for fewer seeds).
#[test]
#[ignore = "about 200 runs of the gate plan: a measurement, figures in docs/gate.md"]
fn power_curve() {
    let seeds: u64 = std::env::var("GATE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let densities = [0.97, 0.95, 0.94, 0.90];
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let images: String = densities
        .iter()
        .map(|d| format!("[[station.sim.firmware]]\nversion = \"D {d}\"\ndensity = {d}\n"))
        .collect();
    let run = |seed: u64, firmware: Option<String>, results: &Path| -> PathBuf {
        let st = write(
            t,
            &format!("p-{seed}.toml"),
            &stations(1000 + seed, &images),
        );
        gate_run(Some(&st), results, firmware.as_deref())
    };
    let outcome = |b: &Path, c: &Path| -> String {
        let (_, r) = gate_json(&["--baseline", s(b), "--candidate", s(c)]);
        r["outcome"].as_str().unwrap_or("?").to_string()
    };
    let base: Vec<PathBuf> = (0..seeds)
        .map(|i| run(i, None, &t.join(format!("base-{i}"))))
        .collect();
    let tally = |outcomes: &[String]| -> String {
        let n = |o: &str| outcomes.iter().filter(|x| *x == o).count();
        format!(
            "regression {} · inconclusive {} · no regression {} (of {})",
            n("regression"),
            n("inconclusive"),
            n("no_regression"),
            outcomes.len()
        )
    };
    let aa: Vec<String> = (0..seeds as usize)
        .map(|i| outcome(&base[i], &base[(i + 1) % base.len()]))
        .collect();
    println!("A/A: {}", tally(&aa));
    for d in densities {
        let got: Vec<String> = (0..seeds)
            .map(|i| {
                let c = run(
                    i + 500,
                    Some(format!("D {d}")),
                    &t.join(format!("d{d}-{i}")),
                );
                outcome(&base[i as usize], &c)
            })
            .collect();
        println!("density {d}: {}", tally(&got));
    }
    let false_regressions = aa.iter().filter(|o| *o == "regression").count();
    assert!(
        false_regressions as f64 <= 0.05 * aa.len() as f64,
        "A/A false regressions {false_regressions} of {}",
        aa.len()
    );
}

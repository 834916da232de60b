//! Across nights and hosts: every run recorded in the history, and queried the way a QA
//! lead asks (runs, trend, station drift, flaky cases, new failures); `rig history import`
//! idempotent; and `rig merge` joining a plan's shards into what the unsharded run gives,
//! refusing a missing, duplicated or foreign shard.

mod common;

use common::cmd::*;
use common::fabricate::{write_run, Fab, RunSpec};
use printrig::verdict::Verdict;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Two patterns at nominal and a supply sag on both simulated stations: six cases, the
/// 80 mm station's solid page failing under the sag (its latent block dropout).
const FARM_PLAN: &str = r#"
[plan]
name = "farm"
patterns = ["solid", "elements"]
retries = 0
[[condition]]
name = "nominal"
[[condition]]
name = "low-voltage"
patterns = ["solid"]
voltage = 17.5
[condition.accept]
expected = ["dense_line_fade", "light"]
column_marginal = 0.45
column_fail = 0.6
"#;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// `rig merge DIRS... -o OUT`, waited for.
fn merge<P: AsRef<std::ffi::OsStr>>(dirs: &[P], out: &Path) -> Output {
    rig()
        .arg("merge")
        .args(dirs)
        .arg("-o")
        .arg(out)
        .output()
        .expect("rig merge")
}

fn verdicts(s: &serde_json::Value) -> Vec<(String, String)> {
    s["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().expect("id").to_string(),
                c["verdict"].as_str().unwrap_or("unfinished").to_string(),
            )
        })
        .collect()
}

#[test]
fn merged_shards_give_what_the_unsharded_run_gives_and_bad_sets_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plan = write(tmp.path(), "farm.toml", FARM_PLAN);
    let whole = tmp.path().join("whole");
    let o = run_plan(&plan, &whole, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let unsharded = summary(&run_dir(&whole));
    let want = verdicts(&unsharded);
    assert_eq!(want.len(), 6);

    let mut shard_dirs: Vec<Vec<PathBuf>> = Vec::new();
    for n in 1..=4u32 {
        // The shards of a split run at once, as a CI matrix runs them.
        let children: Vec<_> = (1..=n)
            .map(|i| {
                let results = tmp.path().join(format!("split{n}-{i}"));
                let child = rig()
                    .arg("run")
                    .arg(&plan)
                    .arg("--results")
                    .arg(&results)
                    .args(["--quiet", "--shard", &format!("{i}/{n}")])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn");
                (results, child)
            })
            .collect();
        let mut dirs = Vec::new();
        for (results, child) in children {
            let o = child.wait_with_output().expect("shard run");
            assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
            dirs.push(run_dir(&results));
        }
        let out = tmp.path().join(format!("merged{n}"));
        let o = merge(&dirs, &out);
        // The unsharded run's exit code, verdicts, counts and order.
        assert_eq!(o.status.code(), Some(1), "{n} shards: {}", text(&o));
        let merged = summary(&out);
        assert_eq!(verdicts(&merged), want, "{n} shards");
        assert_eq!(merged["counts"], unsharded["counts"], "{n} shards");
        assert_eq!(merged["verdict"], unsharded["verdict"]);
        assert_eq!(merged["exit_code"], unsharded["exit_code"]);
        assert_eq!(
            merged["merged_from"].as_array().map(Vec::len),
            Some(n as usize)
        );
        // Its evidence verifies, and its junit.xml has a testsuite per station.
        let o = run(&["verify", out.to_str().expect("utf8")]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        check_files(&out);
        let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit");
        assert_eq!(junit.matches("<testsuite ").count(), 2, "{junit}");
        assert_eq!(junit.matches("<testcase ").count(), 6);
        assert!(out.join("report.html").is_file());
        // Merging the same shards again is refused: the output exists.
        let o = merge(&dirs, &out);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
        shard_dirs.push(dirs);
    }

    let refused = |dirs: &[&Path], says: &str| {
        let out = tmp.path().join("refused");
        let o = merge(dirs, &out);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "wanted {says:?}: {err}");
        assert!(!out.exists(), "nothing written");
    };
    // The same shards merge to the same run: merged again elsewhere, a history that holds
    // the first merge leaves the second as it is.
    let again = tmp.path().join("merged2-again");
    let o = merge(&shard_dirs[1], &again);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let first = tmp.path().join("merged2");
    assert_eq!(summary(&again)["run_id"], summary(&first)["run_id"]);
    let h = tmp.path().join("farm.sqlite");
    let h = h.to_str().expect("utf8");
    for (dir, says) in [(&first, "imported "), (&again, "already held ")] {
        let o = run(&[
            "history",
            "import",
            "--history",
            h,
            dir.to_str().expect("utf8"),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(stdout(&o).starts_with(says), "{}", text(&o));
    }
    let three = &shard_dirs[2];
    refused(&[&three[0], &three[2]], "shard 2/3 missing");
    refused(
        &[&three[0], &three[1], &three[1], &three[2]],
        "shard 2/3 given twice",
    );
    let whole_dir = run_dir(&whole);
    refused(&[&three[0], &whole_dir], "not a shard");
    refused(&[&three[0], &shard_dirs[1][1], &three[2]], "another split");
    // A shard of another plan: its journal names another plan file.
    let foreign = tmp.path().join("foreign");
    copy_dir(&three[1], &foreign);
    let journal = std::fs::read_to_string(foreign.join("journal.ndjson")).expect("journal");
    let sha = summary(&three[1])["plan"]["sha256"]
        .as_str()
        .expect("sha")
        .to_string();
    std::fs::write(
        foreign.join("journal.ndjson"),
        journal.replace(&sha, &"0".repeat(64)),
    )
    .expect("write");
    refused(&[&three[0], &foreign, &three[2]], "a shard of another plan");
    // A shard whose evidence changed since it was recorded.
    let changed = tmp.path().join("changed");
    copy_dir(&three[1], &changed);
    let scan = std::fs::read_dir(changed.join("cases"))
        .is_ok()
        .then(|| find_file(&changed.join("cases"), "scan.png"))
        .flatten()
        .expect("a scan");
    std::fs::write(&scan, b"not the scan").expect("write");
    refused(
        &[&three[0], &changed, &three[2]],
        "changed since it was recorded",
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let q = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &q);
        } else if p.is_file() {
            std::fs::copy(&p, &q).expect("copy");
        }
    }
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

#[test]
fn three_runs_make_three_rows_trends_of_three_points_and_a_station_drift() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plan = write(tmp.path(), "farm.toml", FARM_PLAN);
    let results = tmp.path().join("results");
    for _ in 0..3 {
        let o = run_plan(&plan, &results, &[]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            stdout(&o).contains(&format!(
                "history: {}",
                results.join("history.sqlite").display()
            )),
            "{}",
            text(&o)
        );
        // Run ids have a one-second resolution.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let r = results.to_str().expect("utf8");
    let runs = json(&run(&["history", "runs", "--results", r, "--json"]));
    let runs = runs.as_array().expect("runs");
    assert_eq!(runs.len(), 3);
    assert!(
        runs[0]["started"].as_str() > runs[2]["started"].as_str(),
        "newest first"
    );
    for row in runs {
        assert_eq!(row["plan_name"], "farm");
        assert_eq!(
            (row["cases"].as_i64(), row["fail"].as_i64()),
            (Some(6), Some(1))
        );
    }
    let text_runs = stdout(&run(&["history", "runs", "--results", r]));
    assert!(
        text_runs.contains("farm") && text_runs.lines().count() >= 4,
        "{text_runs}"
    );

    let trend = json(&run(&[
        "history",
        "trend",
        "sim-58mm/solid/nominal/r1",
        "--results",
        r,
        "--json",
    ]));
    let points = trend.as_array().expect("points");
    assert_eq!(points.len(), 3);
    for p in points {
        assert_eq!(p["verdict"], "pass");
        assert_eq!(p["firmware"], "SIM 1.0");
        let d = p["solid_density"].as_f64().expect("solid density");
        assert!(d > 0.3, "{p:#}");
        assert!(p["column_min"].as_f64().is_some() && p["column_mean"].as_f64().is_some());
    }
    let station = json(&run(&[
        "history",
        "station",
        "sim-58mm",
        "--results",
        r,
        "--json",
    ]));
    let nominal = station["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["condition"] == "nominal")
        .expect("nominal");
    assert_eq!(nominal["points"].as_array().map(Vec::len), Some(3));
    assert!(
        nominal["points"][0]["element_min"].as_f64().is_some(),
        "{nominal:#}"
    );
    assert!(nominal["density_per_30_days"].as_f64().is_some());
    // An unknown case or station: exit 2, named.
    let o = run(&["history", "trend", "no/such/case/r1", "--results", r]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/case/r1"));

    // The latest report shows each case's last runs.
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&results)
        .expect("results")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let html = std::fs::read_to_string(dirs[2].join("report.html")).expect("report");
    assert!(html.contains("last 3 run(s):"), "trend strip");
    assert!(html.contains("aria-label=\"solid density of the last runs\""));

    // Imported into another history: once, then a no-op.
    let other = tmp.path().join("other.sqlite");
    let mut args = vec![
        "history".to_string(),
        "import".into(),
        "--history".into(),
        other.display().to_string(),
    ];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = run(&args);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(
        stdout(&first).matches("imported ").count(),
        3,
        "{}",
        text(&first)
    );
    let again = run(&args);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(
        stdout(&again).matches("already held ").count(),
        3,
        "{}",
        text(&again)
    );
    let o = run(&[
        "history",
        "runs",
        "--history",
        other.to_str().expect("utf8"),
        "--json",
    ]);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(3));
    // What was recorded live is what an import records.
    let live = json(&run(&[
        "history",
        "trend",
        "sim-80mm/solid/low-voltage/r1",
        "--results",
        r,
        "--json",
    ]));
    let imported = json(&run(&[
        "history",
        "trend",
        "sim-80mm/solid/low-voltage/r1",
        "--history",
        other.to_str().expect("utf8"),
        "--json",
    ]));
    assert_eq!(live, imported);
    // A directory that is not a run: exit 2, named.
    let o = run(&[
        "history",
        "import",
        "--history",
        other.to_str().expect("utf8"),
        tmp.path().to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a run directory"));
}

/// A run directory of plan "nightly" started on day `day` of November, with `verdicts`
/// per case.
fn fabricated_run(root: &Path, day: u32, verdicts: &[(&str, Verdict)]) -> PathBuf {
    let run_id = format!("202611{day:02}T020000Z-00{day:02}");
    let dir = root.join(&run_id);
    let cases: Vec<Fab> = verdicts.iter().map(|(c, v)| Fab::new(*c, *v)).collect();
    write_run(
        &dir,
        &RunSpec {
            run_id: &run_id,
            time: &format!("2026-11-{day:02}T02:00:00Z"),
            plan_name: "nightly",
            shard: None,
            plan_cases: &[],
            files: None,
        },
        &cases,
    );
    dir
}

#[test]
fn a_flipping_case_is_flagged_flaky_and_new_failures_are_told_from_old_ones() {
    use Verdict::{Fail, Pass};
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("results");
    // Ten nights: `edge` flips between pass and fail (a latent fault at its limit);
    // `steady` always passes; `broke` passes until the last night; `dead` fails from
    // night 7 on; `early` flipped twice at the start and has passed since.
    let mut dirs = Vec::new();
    for day in 1..=10u32 {
        let edge = if day % 2 == 0 { Fail } else { Pass };
        let broke = if day == 10 { Fail } else { Pass };
        let dead = if day >= 7 { Fail } else { Pass };
        let early = if day == 2 { Fail } else { Pass };
        dirs.push(fabricated_run(
            &root,
            day,
            &[
                ("s/edge/nominal/r1", edge),
                ("s/steady/nominal/r1", Pass),
                ("s/broke/nominal/r1", broke),
                ("s/dead/nominal/r1", dead),
                ("s/early/nominal/r1", early),
            ],
        ));
    }
    let mut args = vec!["history".to_string(), "import".into(), "--results".into()];
    args.push(root.display().to_string());
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = root.to_str().expect("utf8");

    let flaky = json(&run(&["history", "flaky", "--results", r, "--json"]));
    let flaky = flaky.as_array().expect("flaky");
    let rate = |case: &str| {
        flaky
            .iter()
            .find(|f| f["case_id"] == case)
            .map(|f| (f["flip_rate"].as_f64().expect("rate"), f["flagged"] == true))
    };
    let (edge, flagged) = rate("s/edge/nominal/r1").expect("edge flips");
    assert!(flagged && edge > 0.6, "{flaky:#?}");
    assert_eq!(rate("s/steady/nominal/r1"), None, "never flipped");
    // One change is a regression, not flakiness; flips long ago have faded.
    assert_eq!(rate("s/broke/nominal/r1").map(|r| r.1), Some(false));
    assert_eq!(rate("s/dead/nominal/r1").map(|r| r.1), Some(false));
    assert_eq!(rate("s/early/nominal/r1").map(|r| r.1), Some(false));
    assert_eq!(
        flaky[0]["case_id"], "s/edge/nominal/r1",
        "highest rate first"
    );
    let text_flaky = stdout(&run(&["history", "flaky", "--results", r]));
    assert!(
        text_flaky.contains("FLAKY s/edge/nominal/r1"),
        "{text_flaky}"
    );
    // A window of the last 3 runs sees `dead` failing throughout: no flip.
    let recent = json(&run(&[
        "history",
        "flaky",
        "--window",
        "3",
        "--results",
        r,
        "--json",
    ]));
    assert!(!recent
        .as_array()
        .expect("flaky")
        .iter()
        .any(|f| f["case_id"] == "s/dead/nominal/r1"));

    let new = json(&run(&["history", "new", "--results", r, "--json"]));
    assert_eq!(new["run"]["run_id"], "20261110T020000Z-0010");
    assert_eq!(new["previous"], "20261109T020000Z-0009");
    let ids = |k: &str| -> Vec<(String, u64)> {
        new[k]
            .as_array()
            .expect(k)
            .iter()
            .map(|f| {
                (
                    f["case_id"].as_str().expect("id").to_string(),
                    f["failing_for"].as_u64().expect("n"),
                )
            })
            .collect()
    };
    // `edge` passed the night before: new again. `broke` is new. `dead` fails for 4 nights.
    assert_eq!(
        ids("new"),
        vec![
            ("s/broke/nominal/r1".to_string(), 1),
            ("s/edge/nominal/r1".to_string(), 1)
        ]
    );
    assert_eq!(ids("still"), vec![("s/dead/nominal/r1".to_string(), 4)]);
    let text_new = stdout(&run(&["history", "new", "--results", r]));
    assert!(text_new.contains("failing for 4 run(s)"), "{text_new}");
    // No history there: exit 2 and how to make one.
    let o = run(&[
        "history",
        "runs",
        "--results",
        tmp.path().to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rig history import"));
}

#[test]
fn a_history_that_cannot_be_written_never_costs_the_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plan = write(
        tmp.path(),
        "one.toml",
        "[plan]\nname = \"one\"\nstations = [\"sim-58mm\"]\npatterns = [\"solid\"]\n[[condition]]\nname = \"nominal\"\n",
    );
    // A history where no file can be made: its folder is a file.
    let blocker = write(tmp.path(), "not-a-dir", "x");
    let results = tmp.path().join("results");
    let bad = blocker.join("history.sqlite");
    let o = run_plan(&plan, &results, &["--history", bad.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("history not recorded: "),
        "{}",
        text(&o)
    );
    let s = summary(&run_dir(&results));
    assert_eq!(s["verdict"], "pass");
    check_files(&run_dir(&results));
    // A history file of a newer printrig is left alone, and the run goes on.
    let newer = tmp.path().join("newer.sqlite");
    let c = rusqlite::Connection::open(&newer).expect("sqlite");
    c.pragma_update(None, "user_version", 99).expect("pragma");
    drop(c);
    let results = tmp.path().join("results2");
    let o = run_plan(
        &plan,
        &results,
        &["--history", newer.to_str().expect("utf8")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("written by a newer printrig (schema 99"),
        "{}",
        text(&o)
    );
    let o = run(&[
        "history",
        "runs",
        "--history",
        newer.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn a_large_run_links_its_passing_pages_and_embeds_the_others() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("20261201T020000Z-0big");
    let n = printrig::report::files::EMBED_ALL_UP_TO + 1;
    let cases: Vec<Fab> = (0..n)
        .map(|i| {
            let v = if i == 7 { Verdict::Fail } else { Verdict::Pass };
            Fab::new(format!("st/solid/c{i}/r1"), v)
        })
        .collect();
    write_run(
        &dir,
        &RunSpec {
            run_id: "20261201T020000Z-0big",
            time: "2026-12-01T02:00:00Z",
            plan_name: "big",
            shard: None,
            plan_cases: &[],
            files: Some(300),
        },
        &cases,
    );
    let o = run(&["report", dir.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    assert!(html.contains("src=\"cases/st/solid/c0/r1/attempt-1/thumb.png\""));
    let failed = &html[html.find("id=\"st-solid-c7-r1\"").expect("failed case")..];
    let failed = &failed[..failed.find("</section>").expect("end")];
    assert!(failed.contains("src=\"data:image/png;base64,"), "{failed}");
    assert_eq!(html.matches("src=\"data:image/png").count(), 1);
}

//! Running `rig` as a child process, as a user does: the command, its output, the run
//! directory it made, and station and plan files written for a test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn rig() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rig"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.stdin(Stdio::null());
    c
}

pub fn run(args: &[&str]) -> Output {
    rig().args(args).output().expect("rig runs")
}

/// `rig run PLAN --stations FILE --results DIR --quiet`.
pub fn run_on(plan: &Path, stations: &Path, results: &Path) -> Output {
    run_plan_on(plan, Some(stations), results, &[])
}

/// [`run_on`] with more arguments (`--firmware V`, …).
pub fn run_on_with(plan: &Path, stations: &Path, results: &Path, more: &[&str]) -> Output {
    run_plan_on(plan, Some(stations), results, more)
}

/// `rig run PLAN --results DIR --quiet [more]` on the simulated stations built into rig.
pub fn run_plan(plan: &Path, results: &Path, more: &[&str]) -> Output {
    run_plan_on(plan, None, results, more)
}

fn run_plan_on(plan: &Path, stations: Option<&Path>, results: &Path, more: &[&str]) -> Output {
    let mut c = rig();
    c.arg("run").arg(plan);
    if let Some(s) = stations {
        c.arg("--stations").arg(s);
    }
    c.arg("--results")
        .arg(results)
        .arg("--quiet")
        .args(more)
        .output()
        .expect("rig runs")
}

pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The single run directory under `results`.
pub fn run_dir(results: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(results)
        .expect("results dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

pub fn summary(dir: &Path) -> serde_json::Value {
    let s = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&s).expect("summary parses")
}

pub fn case<'a>(s: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    s["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("case {id} missing"))
}

/// Every artifact in the manifest exists with its hash; every PNG decodes; every JSON
/// parses.
pub fn check_files(dir: &Path) {
    let m = std::fs::read_to_string(dir.join("manifest.sha256")).expect("manifest");
    assert!(!m.is_empty());
    for line in m.lines() {
        let (hash, name) = line.split_once("  ").expect("manifest line");
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(printrig::util::sha256_hex(&bytes), hash, "{name}");
        if name.ends_with(".png") {
            image::load_from_memory(&bytes)
                .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
        }
        if name.ends_with(".json") {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

/// A station file of one simulated 58 mm station (384 dots, TCP printer) with `sim` lines
/// added to its `[station.sim]` table.
pub fn sim_station(name: &str, model: &str, sim: &str) -> String {
    format!(
        "[[station]]\nname = \"{name}\"\nkind = \"sim\"\nmodel = \"{model}\"\n[station.printer]\ndots = 384\nlink = {{ kind = \"tcp\" }}\n[station.sim]\n{sim}"
    )
}

pub fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write");
    p
}

/// The first run directory under `results` so far (a file beside them, the history, is
/// not one).
pub fn first_run_dir(results: &Path) -> Option<PathBuf> {
    std::fs::read_dir(results)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
}

/// A simulated station served by `rig sim station` (stopped with Ctrl-C when dropped):
/// what it printed about where it listens.
pub struct Served {
    child: std::process::Child,
    lines: Vec<String>,
}

impl Served {
    /// `rig sim station FILE --dir DIR`, once it says it is running.
    pub fn start(file: &Path, dir: &Path) -> Served {
        use std::io::{BufRead, BufReader};
        let mut child = rig()
            .args(["sim", "station"])
            .arg(file)
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("rig sim station");
        let mut lines = Vec::new();
        for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
            let line = line.expect("line");
            if line.starts_with("running") {
                break;
            }
            lines.push(line);
        }
        Served { child, lines }
    }

    /// The value of a `  key   value` line (`printer tcp`, `control`, `scans`).
    pub fn field(&self, key: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {key} in {:?}", self.lines))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

//! `rig run` end to end on the simulated stations, over the real protocols: the smoke plan,
//! instrument faults that end cases as errors while the rest go on, kill -9 and Ctrl-C
//! followed by --resume, and malformed files. The rig binary runs as a child process.

mod common;

use common::cmd::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn smoke_plan_on_the_simulated_stations() {
    let tmp = tempfile::tempdir().expect("tmp");
    let results = tmp.path().join("results");
    let o = run(&[
        "run",
        "rig/plans/smoke.toml",
        "--results",
        results.to_str().expect("utf8"),
        "--quiet",
    ]);
    // The latent block dropout of sim-80mm shows under low voltage: a fail.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("report.html"), "{out}");
    let dir = run_dir(&results);
    let s = summary(&dir);
    let cases = s["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 16);
    let mut ids: Vec<&str> = cases
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16, "every case exactly once");
    let lv = case(&s, "sim-80mm/solid/low-voltage/r1");
    assert_eq!(lv["verdict"], "fail", "{lv:#}");
    assert!(lv["defects"]
        .as_array()
        .expect("defects")
        .iter()
        .any(|d| d["kind"] == "block_dropout"));
    for c in cases.iter().filter(|c| c["station"] == "sim-58mm") {
        assert!(
            c["verdict"] == "pass" || c["verdict"] == "marginal",
            "{c:#}"
        );
    }
    for id in [
        "sim-80mm/solid/nominal/r1",
        "sim-80mm/receipt/nominal/r1",
        "sim-58mm/elements/nominal/r1",
    ] {
        assert_eq!(case(&s, id)["verdict"], "pass", "{:#}", case(&s, id));
    }
    // The power cut: the first page is cut short, the reprint passes.
    let pc = case(&s, "sim-80mm/solid/power-cut/r1");
    assert_eq!(pc["verdict"], "pass", "{pc:#}");
    let first = &pc["measurements"]["page.1"];
    assert!(
        first["defects"]
            .as_array()
            .expect("page 1 defects")
            .iter()
            .any(|d| d == "truncated"),
        "{pc:#}"
    );
    assert!(pc["measurements"]["print.1"]["complete"] == true);
    // Firmware read from each printer.
    assert_eq!(s["firmware"]["sim-80mm"], "SIM 1.0");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit");
    assert_eq!(junit.matches("<testcase ").count(), 16);
    assert_eq!(junit.matches("<testsuite ").count(), 2);
    assert!(junit.contains("<failure"));
    let html = std::fs::read_to_string(dir.join("report.html")).expect("html");
    assert!(html.contains("<svg") && html.contains("data:image/png;base64,"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    // A failed case shows every reason, its golden findings included, and the stress as
    // the instruments read it back before the job.
    let lv_section = &html[html
        .find("id=\"sim-80mm-solid-low-voltage-r1\"")
        .expect("section")..];
    let lv_section = &lv_section[..lv_section.find("</section>").expect("section end")];
    assert!(
        lv_section.contains("golden columns (fail): dots 256–319"),
        "{lv_section}"
    );
    assert!(lv_section.contains("as printed: supply 1"), "{lv_section}");
    // The golden finding is framed on the plot (and the thumbnail says what its blue
    // frames are); the golden band is the one the case was judged with, read from the
    // analysis it wrote.
    assert!(
        lv_section.contains("stroke=\"#1e5ae6\"")
            && lv_section.contains("<title>golden columns (fail): dots 256–319")
            && lv_section.contains(">golden finding<")
            && lv_section.contains("blue frames: golden findings"),
        "{lv_section}"
    );
    let lv_analysis: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("cases/sim-80mm/solid/low-voltage/r1/attempt-2/analysis.json"))
            .or_else(|_| {
                std::fs::read(
                    dir.join("cases/sim-80mm/solid/low-voltage/r1/attempt-1/analysis.json"),
                )
            })
            .expect("analysis.json"),
    )
    .expect("json");
    let judged = lv_analysis["golden"]["column_band"]["marginal"]
        .as_f64()
        .expect("the band the columns were judged in");
    assert!(
        lv_section.contains(&format!("marginal more than {judged:.2} below the record"))
            && lv_section.contains(&format!("golden band ±{judged:.2}")),
        "{judged}: {lv_section}"
    );
    // The power cut's torn first page is shown beside the reprint.
    let pc_section = &html[html
        .find("id=\"sim-80mm-solid-power-cut-r1\"")
        .expect("section")..];
    let pc_section = &pc_section[..pc_section.find("</section>").expect("section end")];
    assert_eq!(pc_section.matches("<img ").count(), 2, "{pc_section}");
    assert!(
        pc_section.contains("page 1 of 2 · ") && pc_section.contains("truncated"),
        "{pc_section}"
    );
    assert!(pc_section.contains("page 2 of 2 · "), "{pc_section}");
    // The header names the plan and says what it is for.
    assert!(
        html.contains("plan <b>smoke</b>")
            && html
                .contains("Every pattern at nominal, a power cut mid-job, a supply sag to 17.5 V"),
        "{}",
        &html[..html.len().min(3000)]
    );
    // Failures first; a pattern × condition matrix per station; plots with axis titles
    // and a legend; how long the run took and whether it was resumed.
    let first_section = &html[html.find("<section").expect("sections")..];
    assert!(
        first_section[..200].contains("low-voltage"),
        "the first case shown is a failure: {}",
        &first_section[..200]
    );
    assert_eq!(html.matches("<table class=\"matrix\">").count(), 2);
    assert!(html.contains("printer dot column") && html.contains(">expected defect<"));
    assert!(html.contains(" · ran ") && html.contains("not resumed"));
    let applied = &lv["measurements"]["stress.applied"];
    let volts = applied["power"]["volts"].as_f64().expect("volts read back");
    assert!((volts - 17.5).abs() < 0.5, "{applied:#}");
    check_files(&dir);
    // junit.xml is well-formed XML (checked by Python's parser, as a CI tool would).
    let py = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom as m; m.parse(sys.argv[1])",
        ])
        .arg(dir.join("junit.xml"))
        .output()
        .expect("python3 runs");
    assert!(
        py.status.success(),
        "junit.xml: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    // report.html is well-formed: every element closed, in order (Python's HTML parser).
    const CHECK_HTML: &str = r#"
import sys
from html.parser import HTMLParser
VOID = {"meta", "img", "br", "hr", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors = [], []
    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)
    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.errors.append((tag, self.stack[-3:]))
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
if p.errors or p.stack:
    print("mismatched:", p.errors[:5], "unclosed:", p.stack[-5:])
    sys.exit(1)
"#;
    let py = Command::new("python3")
        .args(["-c", CHECK_HTML])
        .arg(dir.join("report.html"))
        .output()
        .expect("python3 runs");
    assert!(
        py.status.success(),
        "report.html: {}",
        String::from_utf8_lossy(&py.stdout)
    );
    // A coverage plot for every case with a column profile: all 16 (the receipt's is
    // read from its content).
    assert_eq!(html.matches("aria-label=\"column coverage\"").count(), 16);
    // And a trend strip per case from the history the run recorded into: its first run.
    assert_eq!(html.matches("last 1 run(s):").count(), 16);
    // Snapshots, volatile fields redacted.
    insta::assert_json_snapshot!("smoke_summary", s, {
        ".run_id" => "[run id]",
        ".started" => "[time]",
        ".ended" => "[time]",
        ".host" => "[host]",
        ".plan.path" => "[plan path]",
        ".cases[].duration_s" => "[seconds]",
        ".cases[].attempts[].steps[].duration_s" => "[seconds]",
        ".cases[].measurements.*.duration_s" => "[seconds]",
        ".cases[].artifacts[].sha256" => "[sha256]",
        ".cases[].artifacts[].bytes" => "[bytes]",
    });
    let run_id = s["run_id"].as_str().expect("run id").to_string();
    let volatile = |x: &str| -> String {
        let mut out = String::new();
        for (i, p) in x.replace(&run_id, "[run id]").split('"').enumerate() {
            if i % 2 == 1 && (out.ends_with("time=") || out.ends_with("timestamp=")) {
                out.push_str("\"[redacted]");
            } else {
                if i > 0 {
                    out.push('"');
                }
                out.push_str(p);
            }
        }
        out
    };
    insta::assert_snapshot!("smoke_junit", volatile(&junit));
    // The report rebuilds identically from the journal and artifacts.
    let before = std::fs::read(dir.join("junit.xml")).expect("junit");
    let o = run(&["report", dir.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read(dir.join("junit.xml")).expect("junit"), before);
}

const MINI_PLAN: &str = r#"
[plan]
name = "mini"
patterns = ["solid", "receipt", "elements"]
retries = 0
[[condition]]
name = "nominal"
[[condition]]
name = "power-cut"
patterns = ["solid"]
power_cycle = { when = "during", at = 0.5, off_s = 2.0, resend = true }
"#;

fn wait_for_line(dir: &Path, what: &str, limit: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if let Ok(s) = std::fs::read_to_string(dir.join("journal.ndjson")) {
            if s.matches(what).count() > 0 {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn spawn_run(plan: &Path, results: &Path) -> Child {
    rig()
        .args([
            "run",
            plan.to_str().expect("utf8"),
            "--results",
            results.to_str().expect("utf8"),
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rig run")
}

#[test]
fn kill_9_at_several_points_then_resume_runs_every_case_once() {
    // Kill after the run started, in the middle of a case, and after some cases ended.
    for (marker, nth) in [("run_start", 1), ("\"step\":\"scan\"", 2), ("case_end", 3)] {
        let tmp = tempfile::tempdir().expect("tmp");
        let plan = write(tmp.path(), "mini.toml", MINI_PLAN);
        let results = tmp.path().join("results");
        let mut child = spawn_run(&plan, &results);
        let t0 = Instant::now();
        let dir = loop {
            // The run's directory (the history file beside it is not).
            if let Some(d) = first_run_dir(&results) {
                break d;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "no run directory");
            std::thread::sleep(Duration::from_millis(10));
        };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            let s = std::fs::read_to_string(dir.join("journal.ndjson")).unwrap_or_default();
            if s.matches(marker).count() >= nth {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("kill -9");
        child.wait().expect("reaped");
        // The cases that had finished before the kill are in the history already.
        let history = results.join("history.sqlite");
        if marker == "case_end" {
            let h = printrig::history::History::open(&history, false).expect("history");
            let runs = printrig::history::query::runs(&h, 10, None).expect("runs");
            assert_eq!(runs.len(), 1, "{runs:?}");
            assert!(runs[0].pass >= 2, "{runs:?}");
            assert_eq!(runs[0].pass + runs[0].unfinished, 8, "{runs:?}");
        }
        let o = run(&["run", "--resume", dir.to_str().expect("utf8"), "--quiet"]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "after a kill at {marker} #{nth}: {}",
            text(&o)
        );
        let s = summary(&dir);
        let cases = s["cases"].as_array().expect("cases");
        assert_eq!(cases.len(), 8);
        for c in cases {
            assert_eq!(
                c["verdict"], "pass",
                "after a kill at {marker} #{nth}: {c:#}"
            );
        }
        // Each case ended exactly once with a final verdict in the journal.
        let j = std::fs::read_to_string(dir.join("journal.ndjson")).expect("journal");
        for c in cases {
            let id = c["id"].as_str().expect("id");
            let ends = j
                .lines()
                .filter(|l| {
                    l.contains("\"case_end\"")
                        && l.contains(&format!("\"case\":\"{id}\""))
                        && l.contains("\"last\":true")
                })
                .count();
            assert_eq!(ends, 1, "{id} after a kill at {marker} #{nth}");
            // An attempt cut short keeps its number and its folder; the resumed run goes on
            // with the next number, in a folder of its own.
            let attempts = c["attempts"].as_array().expect("attempts");
            for (i, a) in attempts.iter().enumerate() {
                assert_eq!(a["attempt"], i as u64 + 1, "{c:#}");
                assert_eq!(a["ended"], i + 1 == attempts.len(), "{c:#}");
                for f in a["files"].as_array().expect("files") {
                    let f = f.as_str().expect("path");
                    assert!(f.contains(&format!("/attempt-{}/", i + 1)), "{f}");
                    assert!(dir.join(f).is_file(), "{f} kept");
                }
            }
        }
        check_files(&dir);
        let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
        assert!(
            html.contains("resumed 1 time(s) after an interrupt"),
            "after {marker}"
        );
        // The resumed run completes the same history row.
        let h = printrig::history::History::open(&history, false).expect("history");
        let runs = printrig::history::query::runs(&h, 10, None).expect("runs");
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!((runs[0].pass, runs[0].unfinished), (8, 0), "{runs:?}");
        assert_eq!(runs[0].verdict, "pass");
    }
}

#[test]
fn ctrl_c_stops_at_a_safe_point_and_the_run_resumes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plan = write(tmp.path(), "mini.toml", MINI_PLAN);
    let results = tmp.path().join("results");
    let mut child = spawn_run(&plan, &results);
    let t0 = Instant::now();
    let dir = loop {
        if let Some(d) = first_run_dir(&results) {
            break d;
        }
        assert!(t0.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(wait_for_line(&dir, "case_start", Duration::from_secs(60)));
    let pid = child.id().to_string();
    let st = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill -INT");
    assert!(st.success());
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "rig did not stop after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let j = std::fs::read_to_string(dir.join("journal.ndjson")).expect("journal");
    assert!(j.contains("\"interrupted\":true"));
    let o = run(&["run", "--resume", dir.to_str().expect("utf8"), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(summary(&dir)["counts"]["pass"], 8);
}

#[test]
fn preflight_names_every_wrong_device_and_nothing_runs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let absent = tmp.path().join("no-such-folder");
    let scans = tmp.path().join("scans");
    std::fs::create_dir_all(&scans).expect("scans dir");
    let stations = write(
        tmp.path(),
        "stations.toml",
        &format!(
            r#"
[[station]]
name = "good"
kind = "sim"
model = "sim-58mm"
[station.printer]
dots = 384
link = {{ kind = "tcp" }}
[station.sim]
time_scale = 120.0

[[station]]
name = "gone"
kind = "real"
model = "sim-58mm"
[station.printer]
dots = 384
link = {{ kind = "tcp", host = "127.0.0.1", port = {closed} }}
[station.power]
kind = "scpi"
address = {{ kind = "tcp", host = "127.0.0.1", port = {closed} }}
nominal_voltage = 24.0
[station.chamber]
kind = "exec"
set = ["no-such-chamber-tool", "{{celsius}}"]
read = ["no-such-chamber-tool", "read"]
[station.scanner]
kind = "hotfolder"
dir = "{scans}"

[[station]]
name = "unplugged"
kind = "real"
model = "sim-58mm"
[station.printer]
dots = 384
link = {{ kind = "serial", path = "/dev/ttyUSB9", baud = 115200 }}
[station.scanner]
kind = "hotfolder"
dir = "{absent}"
"#,
            scans = scans.display(),
            absent = absent.display()
        ),
    );
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"preflight\"\npatterns = [\"solid\"]\n",
    );
    let results = tmp.path().join("results");
    let o = run_on(&plan, &stations, &results);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pre-flight"), "{err}");
    // One line per problem, each naming its station and device.
    let expect = [
        "station gone: printer: ".to_string(),
        format!("127.0.0.1:{closed}"),
        "station gone: power: ".to_string(),
        "station gone: chamber: ".to_string(),
        "no-such-chamber-tool".to_string(),
        "station unplugged: ".to_string(),
    ];
    for e in &expect {
        assert!(err.contains(e.as_str()), "{e:?} in {err}");
    }
    assert!(
        err.contains("/dev/ttyUSB9") || err.contains(&absent.display().to_string()),
        "{err}"
    );
    assert!(!err.contains("station good"), "{err}");
    // The run did not start: no run directory is left, nothing printed.
    let left: Vec<_> = std::fs::read_dir(&results)
        .map(|rd| rd.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_that_loses_its_printer_is_abandoned_after_one_case() {
    use printrig::sim::station::{SimStation, SimStationSpec};
    let tmp = tempfile::tempdir().expect("tmp");
    let scans = tmp.path().join("dut-scans");
    let station = SimStation::start(SimStationSpec {
        printer_tcp: true,
        printer_pty: false,
        scan_dir: scans.clone(),
        ..SimStationSpec::default()
    })
    .await
    .expect("printer under test starts");
    let port = station.printer_tcp().expect("tcp printer").port();
    let stations = write(
        tmp.path(),
        "stations.toml",
        &format!(
            r#"
[[station]]
name = "lab"
kind = "real"
model = "sim-58mm"
[station.printer]
dots = 384
link = {{ kind = "tcp", host = "127.0.0.1", port = {port} }}
ack_timeout_s = 3
boot_timeout_s = 2
[station.scanner]
kind = "hotfolder"
dir = "{}"
settle_s = 0.1
timeout_s = 5
"#,
            scans.display()
        ),
    );
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"lost\"\npatterns = [\"solid\", \"ladder\", \"elements\", \"receipt\"]\nretries = 2\n[plan.timeouts]\nprint = 10.0\nscan = 10.0\n",
    );
    let results = tmp.path().join("results");
    let child = rig()
        .arg("run")
        .arg(&plan)
        .arg("--stations")
        .arg(&stations)
        .arg("--results")
        .arg(&results)
        .arg("--quiet")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rig runs");
    // The first case ends; then the printer goes away for good.
    let t0 = Instant::now();
    let dir = loop {
        let found = first_run_dir(&results);
        if let Some(d) = found {
            let j = std::fs::read_to_string(d.join("journal.ndjson")).unwrap_or_default();
            if j.contains("\"case_end\"") {
                break d;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no case ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    station.stop().await;
    let o = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("rig ends");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let s = summary(&dir);
    let cases = s["cases"].as_array().expect("cases");
    assert_eq!(cases[0]["verdict"], "pass", "{:#}", cases[0]);
    // The case that met the lost link errors once (no retry can reopen it); every case
    // after it errors at once with the cause, without an attempt of its own.
    let lost = &cases[1];
    assert_eq!(lost["verdict"], "error", "{lost:#}");
    assert_eq!(
        lost["attempts"].as_array().expect("attempts").len(),
        1,
        "{lost:#}"
    );
    for c in &cases[2..] {
        assert_eq!(c["verdict"], "error", "{c:#}");
        let cause = c["error"].as_str().expect("cause");
        assert!(
            cause.contains("station lab abandoned")
                && cause.contains(lost["id"].as_str().expect("id")),
            "{cause}"
        );
        assert!(
            c["attempts"][0]["files"]
                .as_array()
                .expect("files")
                .is_empty(),
            "{c:#}"
        );
    }
}

#[test]
fn a_chamber_that_never_settles_errors_its_case_and_the_next_runs() {
    let tmp = tempfile::tempdir().expect("tmp");
    // A chamber that never reaches its set point: the case errors, the next one runs.
    let slow = write(
        tmp.path(),
        "slow.toml",
        &sim_station(
            "slow",
            "sim-58mm",
            "time_scale = 120.0\nchamber_tau_s = 86400.0\n",
        ),
    );
    let cold = write(
        tmp.path(),
        "cold.toml",
        "[plan]\nname = \"cold\"\npatterns = [\"solid\"]\n[plan.timeouts]\narrange = 20.0\n[[condition]]\nname = \"cold\"\nchamber = { setpoint = -10.0, soak_s = 60.0, tolerance = 0.5, hold_s = 10.0, timeout_s = 120.0 }\n[[condition]]\nname = \"nominal\"\n",
    );
    let results = tmp.path().join("results-cold");
    let o = run_on(&cold, &slow, &results);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let s = summary(&run_dir(&results));
    let c = case(&s, "slow/solid/cold/r1");
    assert_eq!(c["verdict"], "error", "{c:#}");
    assert!(
        c["error"]
            .as_str()
            .expect("cause")
            .contains("did not settle"),
        "{c:#}"
    );
    // Teardown brought the chamber back; the nominal case after it passes.
    assert_eq!(case(&s, "slow/solid/nominal/r1")["verdict"], "pass");
}

#[test]
fn malformed_files_exit_2_with_file_line_column() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plan = write(
        tmp.path(),
        "bad.toml",
        "[plan]\nname = \"bad\"\npatterns = [\"solid\", \"zigzag\"]\n",
    );
    let o = run(&[
        "run",
        plan.to_str().expect("utf8"),
        "--results",
        tmp.path().to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}:3:", plan.display())), "{err}");
    assert!(err.contains("zigzag"), "{err}");
    let stations = write(
        tmp.path(),
        "st.toml",
        "[[station]]\nname = \"x\"\nkind = \"sim\"\nmodel = \"m\"\n[station.printer]\ndots = 0\n",
    );
    let good_plan = write(tmp.path(), "ok.toml", "[plan]\nname = \"ok\"\n");
    let o = run(&[
        "run",
        good_plan.to_str().expect("utf8"),
        "--stations",
        stations.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}:6:", stations.display())), "{err}");
    // Nothing ran: no results directory.
    assert!(!tmp.path().join("results").exists());
}

#[test]
fn sim_station_serves_the_built_in_stations_until_ctrl_c() {
    use std::io::{BufRead, BufReader, Read, Write};
    let tmp = tempfile::tempdir().expect("tmp");
    let mut child = rig()
        .args(["sim", "station", "--station", "sim-58mm", "--dir"])
        .arg(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rig sim station");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut psu = None;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(addr) = line.trim().strip_prefix("psu (SCPI)") {
            psu = Some(addr.trim().to_string());
        }
        if line.starts_with("running") {
            break;
        }
    }
    let psu = psu.expect("the PSU's address is printed");
    let mut s = std::net::TcpStream::connect(&psu).expect("PSU listens");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(b"*IDN?\n").expect("ask");
    let mut buf = [0u8; 128];
    let n = s.read(&mut buf).expect("answer");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("printrig,SIM-PSU,sim-58mm,"));
    drop(s);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill")
        .success());
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "sim station did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    // Stopped: nothing listens any more.
    assert!(std::net::TcpStream::connect(&psu).is_err());
}

#[test]
fn a_golden_record_cut_short_stops_the_run_before_anything_prints() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A copy of the committed records, with the 80 mm solid record's column profile cut
    // in half: compared on a prefix it would let a run pass.
    let golden = tmp.path().join("golden");
    for model in ["sim-80mm", "sim-58mm"] {
        std::fs::create_dir_all(golden.join(model)).expect("mkdir");
        for e in std::fs::read_dir(repo.join("golden").join(model)).expect("records") {
            let p = e.expect("entry").path();
            std::fs::copy(&p, golden.join(model).join(p.file_name().expect("name"))).expect("copy");
        }
    }
    let solid = golden.join("sim-80mm/solid.json");
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&solid).expect("record")).expect("json");
    let columns = record["columns"].as_array_mut().expect("columns");
    assert_eq!(columns.len(), 576);
    columns.truncate(288);
    std::fs::write(&solid, serde_json::to_string(&record).expect("json")).expect("write");

    let results = tmp.path().join("results");
    let o = rig()
        .args(["run", "rig/plans/smoke.toml", "--quiet", "--results"])
        .arg(&results)
        .arg("--golden-dir")
        .arg(&golden)
        .output()
        .expect("rig runs");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&solid.display().to_string()), "{err}");
    assert!(
        err.contains("columns profile has 288 values, the pattern needs 576"),
        "{err}"
    );
    // Nothing printed: no run directory was left behind.
    let left: Vec<_> = std::fs::read_dir(&results)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");

    // `rig analyze` refuses the same record through the same check.
    let o = rig()
        .args([
            "analyze",
            "fixtures/solid-576-dead200-150dpi.png",
            "--pattern",
            "solid",
            "--dots",
            "576",
            "--golden",
        ])
        .arg(&solid)
        .output()
        .expect("rig runs");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("columns profile has 288 values"), "{err}");
}

#[test]
fn a_plan_that_fails_on_marginal_retries_and_keeps_every_attempt() {
    let tmp = tempfile::tempdir().expect("tmp");
    // A head that fades by 15 % across its width: the solid page is marginal.
    let stations = write(
        tmp.path(),
        "stations.toml",
        &sim_station(
            "s58",
            "sim-58mm",
            "time_scale = 120.0\nfaults = [\"tilt=0.15\"]\n",
        ),
    );
    let head = "[plan]\nname = \"strict\"\npatterns = [\"solid\"]\nretries = 1\n";
    let id = "s58/solid/nominal/r1";

    // Marginal is good enough by default: one attempt, exit 0.
    let lenient = write(tmp.path(), "lenient.toml", head);
    let results = tmp.path().join("lenient");
    let o = run_on(&lenient, &stations, &results);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = summary(&run_dir(&results));
    let c = case(&s, id);
    assert_eq!(c["verdict"], "marginal", "{c:#}");
    assert_eq!(c["attempts"].as_array().expect("attempts").len(), 1);

    // fail_on = "marginal": the marginal attempt is failed, retried, and fails the run.
    let strict = write(
        tmp.path(),
        "strict.toml",
        &format!("{head}fail_on = \"marginal\"\n"),
    );
    let results = tmp.path().join("strict");
    let o = run_on(&strict, &stations, &results);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("marginal is a fail under this plan"),
        "{}",
        text(&o)
    );
    let dir = run_dir(&results);
    let s = summary(&dir);
    let c = case(&s, id);
    assert_eq!(c["verdict"], "fail", "{c:#}");
    let attempts = c["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{c:#}");
    // In junit.xml the first attempt is a rerun of a failure, as Surefire writes it.
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<rerunFailure ").count(), 1, "{junit}");
    assert_eq!(junit.matches("<failure ").count(), 1, "{junit}");

    // Each attempt kept its own page, analysis and overlay in its own folder.
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let mut scans = Vec::new();
    for (i, a) in attempts.iter().enumerate() {
        let n = i + 1;
        assert_eq!(a["attempt"], n as u64);
        assert_eq!(a["verdict"], "fail");
        let files: Vec<&str> = a["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f.as_str().expect("path"))
            .collect();
        for name in ["job.bin", "scan.png", "analysis.json", "overlay.png"] {
            let want = format!("cases/{id}/attempt-{n}/{name}");
            assert!(files.contains(&want.as_str()), "{want} in {files:?}");
            assert!(dir.join(&want).is_file(), "{want}");
            assert!(
                html.contains(&format!("href=\"{want}\"")),
                "report links {want}"
            );
        }
        scans.push(
            std::fs::read(dir.join(format!("cases/{id}/attempt-{n}/scan.png"))).expect("scan"),
        );
    }
    assert_ne!(scans[0], scans[1], "two prints, two scans");
    assert!(
        html.contains("attempt #1"),
        "the first attempt's page is shown"
    );
    check_files(&dir);

    // Verified against the journal; a changed or missing artifact is named, exit 2, and
    // `rig report` then rewrites nothing.
    let o = run(&["verify", dir.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("all 10 artifacts match"));
    let analysis = dir.join(format!("cases/{id}/attempt-1/analysis.json"));
    let mut edited = std::fs::read(&analysis).expect("analysis");
    edited.extend_from_slice(b" ");
    std::fs::write(&analysis, &edited).expect("edit");
    let overlay = dir.join(format!("cases/{id}/attempt-2/overlay.png"));
    std::fs::remove_file(&overlay).expect("remove");
    let o = run(&["verify", dir.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("cases/{id}/attempt-1/analysis.json: changed")),
        "{out}"
    );
    assert!(
        out.contains(&format!("cases/{id}/attempt-2/overlay.png: missing")),
        "{out}"
    );
    let manifest = std::fs::read(dir.join("manifest.sha256")).expect("manifest");
    let report = std::fs::read(dir.join("report.html")).expect("report");
    let o = run(&["report", dir.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("attempt-1/analysis.json: changed"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read(dir.join("manifest.sha256")).expect("m"),
        manifest
    );
    assert_eq!(std::fs::read(dir.join("report.html")).expect("r"), report);
}

#[test]
fn a_chamber_condition_soaks_once_and_the_run_says_how_long_first() {
    let tmp = tempfile::tempdir().expect("tmp");
    let stations = write(
        tmp.path(),
        "stations.toml",
        &sim_station(
            "cold-box",
            "sim-58mm",
            "time_scale = 600.0\nchamber_tau_s = 60.0\n",
        ),
    );
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"cold\"\npatterns = [\"solid\", \"ladder\"]\nrepeats = 2\n[plan.timeouts]\narrange = 60.0\n\
         [[condition]]\nname = \"cool\"\nchamber = { setpoint = 10.0, soak_s = 120.0, tolerance = 1.0, hold_s = 60.0, timeout_s = 3000.0 }\n\
         [[condition]]\nname = \"nominal\"\npatterns = [\"solid\"]\n",
    );
    let results = tmp.path().join("results");
    // Logs at info, so that stderr carries lines whose colour codes would show.
    let o = rig()
        .env("RIG_LOG", "info")
        .arg("run")
        .arg(&plan)
        .arg("--stations")
        .arg(&stations)
        .arg("--results")
        .arg(&results)
        .output()
        .expect("rig runs");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("INFO"),
        "{}",
        text(&o)
    );
    // Before the first case: the cases, the soaks (one, not four) and the worst case.
    let out = String::from_utf8_lossy(&o.stdout);
    let first = out.lines().next().unwrap_or_default();
    assert!(first.starts_with("plan: 6 cases on 1 station(s)"), "{out}");
    assert!(
        out.contains("cold-box: 6 cases, 1 chamber soak(s)")
            && out.contains("a soak per case would be 4"),
        "{out}"
    );
    // Not a terminal: one plain line per case as it finishes, numbered, before the
    // summary; no escape codes anywhere.
    let (soaking, lines): (Vec<&str>, Vec<&str>) = out
        .lines()
        .filter(|l| l.starts_with('['))
        .partition(|l| l.contains(" soaking the chamber at "));
    assert_eq!(lines.len(), 6, "{out}");
    // A soak is said when it begins: to 10 °C before the first case, back to ambient
    // before the first nominal one.
    assert_eq!(soaking.len(), 2, "{out}");
    assert!(
        soaking[0].starts_with("[0/6] cold-box/solid/cool/r1 soaking the chamber at 10 °C"),
        "{out}"
    );
    assert!(
        soaking[1].starts_with("[4/6] cold-box/solid/nominal/r1 soaking the chamber at "),
        "{out}"
    );
    assert!(
        lines[0].starts_with("[1/6] cold-box/solid/cool/r1 pass "),
        "{out}"
    );
    assert!(
        lines[5].starts_with("[6/6] cold-box/solid/nominal/r2 pass "),
        "{out}"
    );
    assert!(lines.iter().all(|l| l.ends_with(" s")), "{out}");
    let summary_at = out.find("run ").expect("summary");
    assert!(out.find("[6/6]").expect("last line") < summary_at, "{out}");
    assert!(!out.contains('\u{1b}') && !String::from_utf8_lossy(&o.stderr).contains('\u{1b}'));
    // The journal holds one soak for the condition; the three cases after the first
    // found the chamber still at its set point.
    let dir = run_dir(&results);
    let j = std::fs::read_to_string(dir.join("journal.ndjson")).expect("journal");
    let named = |name: &str| {
        j.lines()
            .filter(|l| {
                l.contains("\"measurement\"") && l.contains(&format!("\"name\":\"{name}\""))
            })
            .collect::<Vec<_>>()
    };
    let soaks = named("soak");
    assert_eq!(
        soaks.len(),
        2,
        "cool, then back to ambient for nominal: {soaks:#?}"
    );
    assert!(
        soaks[0].contains("\"case\":\"cold-box/solid/cool/r1\""),
        "{}",
        soaks[0]
    );
    assert!(soaks[0].contains("\"setpoint\":10.0"), "{}", soaks[0]);
    assert!(
        soaks[1].contains("\"case\":\"cold-box/solid/nominal/r1\""),
        "{}",
        soaks[1]
    );
    let kept = named("soak.kept");
    assert_eq!(kept.len(), 3, "{kept:#?}");
    let s = summary(&dir);
    for c in s["cases"].as_array().expect("cases") {
        assert_eq!(c["verdict"], "pass", "{c:#}");
    }
}

#[test]
fn first_records_of_a_model_are_captured_reviewed_and_accepted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let stations = write(
        tmp.path(),
        "stations.toml",
        &format!(
            "{}{}",
            sim_station("bench", "new-model", "time_scale = 120.0\n"),
            sim_station("bench-2", "new-model", "time_scale = 120.0\n")
        ),
    );
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"bring-up\"\npatterns = [\"solid\"]\n[[condition]]\nname = \"nominal\"\n[[condition]]\nname = \"receipts\"\npatterns = [\"receipt\"]\n",
    );
    let golden = tmp.path().join("golden");
    let g = golden.to_str().expect("utf8");
    let run_plan = |results: &str| {
        rig()
            .arg("run")
            .arg(&plan)
            .arg("--stations")
            .arg(&stations)
            .args(["--golden-dir", g, "--quiet", "--results"])
            .arg(tmp.path().join(results))
            .output()
            .expect("rig runs")
    };
    // A new model has no records: the run refuses and says how to make them.
    let o = run_plan("before");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("rig golden capture"),
        "{}",
        text(&o)
    );

    // Capture: every pattern of the plan (the conditions' own too), 3 copies each.
    let o = rig()
        .args(["golden", "capture"])
        .arg(&plan)
        .arg("--stations")
        .arg(&stations)
        .args(["--golden-dir", g])
        .output()
        .expect("rig runs");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // One station per model: the second unit of the model is left out, and said so.
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("station bench-2 skipped: its model is captured on bench"),
        "{}",
        text(&o)
    );
    for pattern in ["solid", "receipt"] {
        let pending = golden.join(format!("new-model/{pattern}.pending.json"));
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&pending).expect("pending"))
                .expect("a record");
        let copies = record["provenance"]["copies"].as_array().expect("copies");
        assert_eq!(copies.len(), 3, "{record:#}");
        for c in copies {
            let scan = golden
                .join("new-model")
                .join(c["scan"].as_str().expect("scan"));
            let bytes = std::fs::read(&scan).expect("the scan is kept beside the record");
            assert_eq!(printrig::util::sha256_hex(&bytes), c["sha256"]);
        }
        assert!(!golden.join(format!("new-model/{pattern}.json")).exists());
    }
    // A run never uses a pending record, and says one is waiting.
    let o = run_plan("pending");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is waiting: review and accept it"),
        "{}",
        text(&o)
    );

    let o = rig()
        .args(["golden", "review", g])
        .output()
        .expect("rig runs");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("new-model solid at 384 dots, 3 copies")
            && out.contains("new: no record in use yet"),
        "{out}"
    );

    let o = rig()
        .args(["golden", "accept", "--golden-dir", g, "--all"])
        .output()
        .expect("rig runs");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(golden.join("new-model/solid.json").is_file());
    assert!(!golden.join("new-model/solid.pending.json").exists());

    // The run now judges against the model's own records.
    let o = run_plan("after");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn a_firmware_installed_with_the_run_is_what_the_printer_runs_and_reports() {
    let tmp = tempfile::tempdir().expect("tmp");
    // A unit with a second firmware image that prints 6 % lighter.
    let stations = sim_station(
        "unit",
        "sim-58mm",
        "seed = 5
[[station.sim.firmware]]
version = \"SIM 1.1\"\ndensity = 0.94\n",
    );
    let stations = write(tmp.path(), "stations.toml", &stations);
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"fw\"\npatterns = [\"solid\"]\nrepeats = 3\n[[condition]]\nname = \"nominal\"\n",
    );
    let run_fw = |results: &Path, firmware: Option<&str>| match firmware {
        Some(v) => run_on_with(&plan, &stations, results, &["--firmware", v]),
        None => run_on(&plan, &stations, results),
    };
    let density = |s: &serde_json::Value| {
        let v: Vec<f64> = (1..=3)
            .map(|r| {
                case(s, &format!("unit/solid/nominal/r{r}"))["measurements"]["page.1"]
                    ["solid_density"]
                    .as_f64()
                    .expect("solid density")
            })
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    // The base firmware, as the station starts.
    let base = tmp.path().join("base");
    let o = run_fw(&base, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = summary(&run_dir(&base));
    assert_eq!(s["firmware"]["unit"], "SIM 1.0");
    let base_density = density(&s);
    // Installed with the run: the printer is power-cycled, reports it, prints with it.
    let candidate = tmp.path().join("candidate");
    let o = run_fw(&candidate, Some("SIM 1.1"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = summary(&run_dir(&candidate));
    assert_eq!(s["firmware"]["unit"], "SIM 1.1");
    assert!(s["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .all(|c| c["firmware"] == "SIM 1.1"));
    let lighter = 1.0 - density(&s) / base_density;
    eprintln!(
        "solid density {base_density:.4} → {:.4}: {:.1} % lighter",
        density(&s),
        lighter * 100.0
    );
    assert!((0.03..0.15).contains(&lighter), "{lighter}");
    // A version the station has no image of: nothing prints, exit 2, the station named
    // with what it can run.
    let none = tmp.path().join("none");
    let o = run_fw(&none, Some("SIM 9"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("station unit: firmware:")
            && err
                .contains("no firmware image \"SIM 9\" on this station (it has: SIM 1.0, SIM 1.1)"),
        "{err}"
    );
    assert!(first_run_dir(&none).is_none(), "no run directory is left");
}

/// A 576-dot simulated station (time sped up, so that power cycles are short) with `sim`
/// lines added to its `[station.sim]` table.
fn sim_station_80mm(sim: &str) -> String {
    format!(
        "[[station]]\nname = \"unit\"\nkind = \"sim\"\nmodel = \"sim-80mm\"\n\
         [station.printer]\ndots = 576\nlink = {{ kind = \"tcp\" }}\n\
         [station.sim]\nseed = 5\ntime_scale = 120.0\n{sim}"
    )
}

/// The shown attempt of a case in a summary.
fn shown_attempt<'a>(s: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    case(s, id)["attempts"]
        .as_array()
        .and_then(|a| a.last())
        .unwrap_or_else(|| panic!("{id} has no attempt"))
}

/// The wall seconds of the `print` step of a case's shown attempt.
fn print_seconds(s: &serde_json::Value, id: &str) -> f64 {
    shown_attempt(s, id)["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|st| st["step"] == "print")
        .and_then(|st| st["duration_s"].as_f64())
        .unwrap_or_else(|| panic!("no print step in {:#}", case(s, id)))
}

fn has_defect(s: &serde_json::Value, id: &str, kind: &str) -> bool {
    case(s, id)["defects"]
        .as_array()
        .expect("defects")
        .iter()
        .any(|d| d["kind"] == kind)
}

/// The analysis of a case's shown attempt in run directory `dir`.
fn analysis_of(dir: &Path, id: &str) -> serde_json::Value {
    let attempt = shown_attempt(&summary(dir), id)["attempt"]
        .as_u64()
        .expect("attempt number");
    let p = dir
        .join("cases")
        .join(id)
        .join(format!("attempt-{attempt}"))
        .join("analysis.json");
    serde_json::from_slice(&std::fs::read(&p).expect("analysis.json")).expect("json")
}

#[test]
fn a_firmware_image_may_print_slower_acknowledge_late_or_leave_dense_rows_uncompensated() {
    let tmp = tempfile::tempdir().expect("tmp");
    // The unit moves paper at 250 mm/s; SIM 1.2 at 25 mm/s and acknowledges each band
    // 300 ms late; SIM 1.3 does not stretch the pulse of rows that load the supply (a
    // 576-dot head: a 384-dot one sags too little for it to show at 24 V).
    let stations = write(
        tmp.path(),
        "stations.toml",
        &sim_station_80mm(
            "print_speed_mm_s = 250.0\n\
             [[station.sim.firmware]]\nversion = \"SIM 1.2\"\nprint_speed_mm_s = 25.0\nack_delay_ms = 300\n\
             [[station.sim.firmware]]\nversion = \"SIM 1.3\"\ndense_compensation = false\n",
        ),
    );
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"fw\"\npatterns = [\"solid\", \"dense-sparse\"]\nrepeats = 1\n\
         [[condition]]\nname = \"nominal\"\n",
    );
    let run_fw = |name: &str, firmware: Option<&str>| {
        let results = tmp.path().join(name);
        let t0 = Instant::now();
        let o = match firmware {
            Some(v) => run_on_with(&plan, &stations, &results, &["--firmware", v]),
            None => run_on(&plan, &stations, &results),
        };
        eprintln!("{name}: the run took {:.1} s", t0.elapsed().as_secs_f64());
        (o, results)
    };
    const SOLID: &str = "unit/solid/nominal/r1";
    const DENSE: &str = "unit/dense-sparse/nominal/r1";

    let (o, results) = run_fw("base", None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let base_dir = run_dir(&results);
    let base = summary(&base_dir);
    assert!(
        !has_defect(&base, DENSE, "dense_line_fade"),
        "{:#}",
        case(&base, DENSE)
    );

    // Slower paper and late acknowledgements: the same pages, printed clearly slower. A
    // solid is about 560 rows (2.8 s at 25 mm/s, 0.28 s at 250) in 3 bands (0.9 s of
    // delay); the dense-sparse about 470 rows in 2 bands.
    let (o, results) = run_fw("slow", Some("SIM 1.2"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let slow = summary(&run_dir(&results));
    assert_eq!(slow["firmware"]["unit"], "SIM 1.2");
    for id in [SOLID, DENSE] {
        let (b, s) = (print_seconds(&base, id), print_seconds(&slow, id));
        eprintln!("{id}: print {b:.2} s on the base firmware, {s:.2} s on SIM 1.2");
        assert!(
            s >= 2.5,
            "{id}: {s} s is less than its slow paper alone takes"
        );
        assert!(
            s >= 1.5 * b && s - b >= 1.5,
            "{id}: {s} s on SIM 1.2 against {b} s"
        );
    }

    // Dense rows uncompensated: lighter than the sparse blocks beside them.
    let (o, results) = run_fw("plain", Some("SIM 1.3"));
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let plain_dir = run_dir(&results);
    let plain = summary(&plain_dir);
    assert_eq!(plain["firmware"]["unit"], "SIM 1.3");
    assert!(
        has_defect(&plain, DENSE, "dense_line_fade"),
        "{:#}",
        case(&plain, DENSE)
    );
    // The dense bands lose density; the sparse blocks beside them do not.
    let density = |dir: &Path, kind: &str| -> f64 {
        let a = analysis_of(dir, DENSE);
        let v: Vec<f64> = a["bands"]
            .as_array()
            .expect("bands")
            .iter()
            .filter(|b| b["name"].as_str().is_some_and(|n| n.starts_with(kind)))
            .map(|b| b["density"].as_f64().expect("band density"))
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (dense, dense_plain) = (density(&base_dir, "dense"), density(&plain_dir, "dense"));
    let (sparse, sparse_plain) = (density(&base_dir, "sparse"), density(&plain_dir, "sparse"));
    eprintln!(
        "dense bands {dense:.3} → {dense_plain:.3}, sparse blocks {sparse:.3} → {sparse_plain:.3}"
    );
    assert!(dense_plain < 0.9 * dense, "{dense} → {dense_plain}");
    assert!(
        (sparse_plain / sparse - 1.0).abs() < 0.05,
        "{sparse} → {sparse_plain}"
    );
}

/// `rig run PLAN --stations FILE --results DIR --quiet [more]` in the background.
fn spawn_run_on(plan: &Path, stations: &Path, results: &Path, more: &[&str]) -> Child {
    rig()
        .arg("run")
        .arg(plan)
        .arg("--stations")
        .arg(stations)
        .arg("--results")
        .arg(results)
        .arg("--quiet")
        .args(more)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rig run")
}

#[test]
fn a_resumed_run_keeps_the_firmware_it_was_started_with() {
    let tmp = tempfile::tempdir().expect("tmp");
    let stations = write(
        tmp.path(),
        "stations.toml",
        &sim_station(
            "unit",
            "sim-58mm",
            "time_scale = 120.0\n[[station.sim.firmware]]\nversion = \"SIM 1.1\"\ndensity = 0.94\n",
        ),
    );
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"fw\"\npatterns = [\"solid\", \"elements\", \"ladder\", \"receipt\"]\n\
         [[condition]]\nname = \"nominal\"\n",
    );
    let results = tmp.path().join("results");
    let mut child = spawn_run_on(&plan, &stations, &results, &["--firmware", "SIM 1.1"]);
    let t0 = Instant::now();
    let dir = loop {
        if let Some(d) = first_run_dir(&results) {
            break d;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no run directory");
        std::thread::sleep(Duration::from_millis(10));
    };
    // Killed once the first case has ended.
    assert!(
        wait_for_line(&dir, "case_end", Duration::from_secs(60)),
        "no case ended"
    );
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let journal = std::fs::read_to_string(dir.join("journal.ndjson")).expect("journal");
    assert!(
        !journal.contains("run_end"),
        "the run ended before the kill"
    );
    let ended_before = journal.matches("\"case_end\"").count();
    let dir_arg = dir.to_str().expect("utf8");

    // Another firmware would print the rest on something else: refused, both named.
    let o = run(&[
        "run",
        "--resume",
        dir_arg,
        "--quiet",
        "--firmware",
        "SIM 1.0",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot resume")
            && err.contains("started with --firmware SIM 1.1, not SIM 1.0"),
        "{err}"
    );

    // Resumed without --firmware: the restarted station gets SIM 1.1 again first.
    let o = run(&["run", "--resume", dir_arg, "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = summary(&dir);
    let cases = s["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 4);
    for c in cases {
        assert_eq!(c["firmware"], "SIM 1.1", "{c:#}");
    }
    // Cases printed both before the kill and after the resume.
    let journal = std::fs::read_to_string(dir.join("journal.ndjson")).expect("journal");
    let ended = journal.matches("\"case_end\"").count();
    eprintln!("{ended_before} case(s) ended before the kill, {ended} in all");
    assert!(
        (1..ended).contains(&ended_before),
        "{ended_before} of {ended}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    assert!(html.contains("resumed 1 time(s) after an interrupt"));
}

/// A real station's firmware: what its file names is checked before anything prints, and
/// `--firmware` runs the lab's flash tool (here a script speaking to a served simulated
/// printer's control port) and checks the printer reports the version after.
#[test]
fn a_real_station_is_held_to_its_firmware_and_flashed_by_its_own_tool() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().expect("tmp");
    let served = write(
        tmp.path(),
        "served.toml",
        &sim_station(
            "unit",
            "sim-58mm",
            "time_scale = 120.0\n[[station.sim.firmware]]\nversion = \"SIM 1.1\"\ndensity = 0.94\n",
        ),
    );
    let mut child = rig()
        .args(["sim", "station"])
        .arg(&served)
        .arg("--dir")
        .arg(tmp.path().join("served"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rig sim station");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut printer, mut control, mut scans) = (None, None, None);
    for line in lines.by_ref() {
        let line = line.expect("line");
        let field = |k: &str| line.trim().strip_prefix(k).map(|a| a.trim().to_string());
        printer = printer.or(field("printer tcp"));
        control = control.or(field("control"));
        scans = scans.or(field("scans"));
        if line.starts_with("running") {
            break;
        }
    }
    let printer = printer.expect("printer address");
    let (host, port) = printer.rsplit_once(':').expect("host:port");
    let control_port = control
        .expect("control address")
        .rsplit_once(':')
        .map(|(_, p)| p.to_string())
        .expect("port");
    // The lab's flash tool: takes the version, talks to the printer, fails on a refusal.
    let flash = write(
        tmp.path(),
        "flash.py",
        "import socket, sys\n\
         s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)\n\
         s.sendall(('FIRMWARE ' + sys.argv[2] + '\\n').encode())\n\
         reply = s.makefile().readline().strip()\n\
         print(reply)\n\
         sys.exit(0 if reply == 'OK' else 1)\n",
    );
    let station = |expects: &str| {
        format!(
            "[[station]]\nname = \"lab\"\nkind = \"real\"\nmodel = \"sim-58mm\"\n\
             [station.printer]\ndots = 384\nlink = {{ kind = \"tcp\", host = \"{host}\", port = {port} }}\n\
             firmware = \"{expects}\"\n\
             [station.printer.firmware_install]\nexec = [\"python3\", \"{}\", \"{control_port}\", \"{{version}}\"]\ntimeout_s = 30\n\
             [station.scanner]\nkind = \"hotfolder\"\ndir = \"{}\"\n",
            flash.display(),
            scans.as_deref().expect("scans folder")
        )
    };
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"fw\"\npatterns = [\"solid\"]\n[[condition]]\nname = \"nominal\"\n",
    );
    let run_lab = |file: &Path, results: &Path, firmware: Option<&str>| match firmware {
        Some(v) => run_on_with(&plan, file, results, &["--firmware", v]),
        None => run_on(&plan, file, results),
    };
    // The printer runs SIM 1.0, its file says SIM 2.0: found before anything prints.
    let wrong = write(tmp.path(), "wrong.toml", &station("SIM 2.0"));
    let o = run_lab(&wrong, &tmp.path().join("r1"), None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("station lab: printer:")
            && err.contains("reports firmware SIM 1.0, its station file names SIM 2.0"),
        "{err}"
    );
    // Flashed with the run: the tool runs, the printer reports what was asked, the run
    // prints with it.
    let o = run_lab(&wrong, &tmp.path().join("r2"), Some("SIM 1.1"));
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let s = summary(&run_dir(&tmp.path().join("r2")));
    assert_eq!(s["firmware"]["lab"], "SIM 1.1", "{s:#}");
    // A version the tool cannot install: its failure, named, and nothing prints.
    let o = run_lab(&wrong, &tmp.path().join("r3"), Some("SIM 7"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("station lab: firmware:") && err.contains("install firmware SIM 7"),
        "{err}"
    );
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

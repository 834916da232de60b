//! A real-lab station in a run: the printer reached over TCP (the simulated printer,
//! started here as the device under test) and a SANE scanner driven through the real
//! `scanimage` with its `test` backend (scripts/setup.sh installs sane-utils). The test
//! picture holds no pattern (a fail, not a crash); a jammed feeder is a rig error.

use printrig::sim::station::{SimStation, SimStationSpec};
use std::path::Path;
use std::process::{Command, Stdio};

fn sane_config(dir: &Path) {
    std::fs::write(dir.join("dll.conf"), "test\n").expect("dll.conf");
    let system = Path::new("/etc/sane.d/test.conf");
    if system.exists() {
        std::fs::copy(system, dir.join("test.conf")).expect("test.conf");
    }
}

fn require_scanimage() {
    match Command::new("scanimage").arg("--version").stdin(Stdio::null()).output() {
        Ok(_) => {}
        Err(e) => panic!("scanimage is not available ({e}): run scripts/setup.sh (it installs Debian's sane-utils)"),
    }
}

fn station_file(dir: &Path, port: u16, scanimage: &str) -> std::path::PathBuf {
    let p = dir.join(format!("lab-{}.toml", scanimage.len()));
    std::fs::write(
        &p,
        format!(
            r#"
[[station]]
name = "lab"
kind = "real"
model = "sim-80mm"
[station.printer]
dots = 576
link = {{ kind = "tcp", host = "127.0.0.1", port = {port} }}
ack_timeout_s = 10
[station.scanner]
kind = "sane"
device = "test"
resolution = 150
mode = "Gray"
format = "png"
scanimage = "{scanimage}"
timeout_s = 60
"#
        ),
    )
    .expect("station file");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sane_scanner_in_a_run_and_a_jam_is_a_rig_error() {
    require_scanimage();
    let tmp = tempfile::tempdir().expect("tmp");
    let conf = tmp.path().join("sane");
    std::fs::create_dir_all(&conf).expect("sane dir");
    sane_config(&conf);
    let station = SimStation::start(SimStationSpec {
        printer_tcp: true,
        printer_pty: false,
        scan_dir: tmp.path().join("dut-scans"),
        ..SimStationSpec::default()
    })
    .await
    .expect("printer under test starts");
    let port = station.printer_tcp().expect("tcp printer").port();
    let jam = tmp.path().join("scanimage-jammed");
    std::fs::write(
        &jam,
        "#!/bin/sh\nexec scanimage --enable-test-options --read-return-value SANE_STATUS_JAMMED \"$@\"\n",
    )
    .expect("wrapper");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&jam)
        .status()
        .expect("chmod");
    let plan = tmp.path().join("plan.toml");
    std::fs::write(&plan, "[plan]\nname = \"sane\"\npatterns = [\"solid\"]\n").expect("plan");

    let run = |stations: std::path::PathBuf, results: std::path::PathBuf| {
        let conf = conf.clone();
        let plan = plan.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_rig"))
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .env("SANE_CONFIG_DIR", &conf)
                .stdin(Stdio::null())
                .args(["run", plan.to_str().expect("utf8"), "--quiet", "--stations"])
                .arg(stations)
                .arg("--results")
                .arg(results)
                .output()
                .expect("rig runs")
        })
    };
    let summary = |results: &Path| -> serde_json::Value {
        let dir = std::fs::read_dir(results)
            .expect("results")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.is_dir())
            .expect("a run dir");
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary"))
            .expect("summary parses")
    };

    // The SANE test picture is no printed pattern: the print is judged and fails.
    let results = tmp.path().join("results-scan");
    let o = run(station_file(tmp.path(), port, "scanimage"), results.clone())
        .await
        .expect("join");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(1), "{text}");
    let s = summary(&results);
    let c = &s["cases"][0];
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert!(
        c["artifacts"]
            .as_array()
            .expect("artifacts")
            .iter()
            .any(|a| a["path"].as_str().is_some_and(|p| p.ends_with("scan.png"))),
        "{c:#}"
    );
    assert_eq!(s["firmware"]["lab"], "SIM 1.0");

    // A jammed feeder: the case is a rig error naming the scanner, not a printer failure.
    let results = tmp.path().join("results-jam");
    let o = run(
        station_file(tmp.path(), port, jam.to_str().expect("utf8")),
        results.clone(),
    )
    .await
    .expect("join");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(3), "{text}");
    let s = summary(&results);
    let c = &s["cases"][0];
    assert_eq!(c["verdict"], "error", "{c:#}");
    let cause = c["error"].as_str().expect("cause");
    assert!(
        cause.contains("jammed") && cause.contains("sane:test"),
        "{cause}"
    );
    station.stop().await;
}

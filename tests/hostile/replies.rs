//! Instrument replies with terminal escape codes in them: a SCPI supply whose `*IDN?`
//! answer clears the screen and rings the bell, and whose error queue does the same. The
//! run shows and records what it said, escaped (`\x1b[2J`, `\x07`), never the raw bytes.

use crate::common::cmd::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

/// A SCPI supply on loopback whose `*IDN?` answer carries ESC [2J and a bell, as does the
/// error it queues for `VOLT 17.5`; every other query answers as a quiet, healthy
/// supply. Its port.
fn hostile_supply() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(conn) = conn else { break };
            std::thread::spawn(move || {
                let mut out = conn.try_clone().expect("clone");
                let mut queued = false;
                for line in BufReader::new(conn).lines() {
                    let Ok(line) = line else { break };
                    let cmd = line.trim().to_ascii_uppercase();
                    if cmd.starts_with("VOLT 17.5") {
                        queued = true;
                    }
                    let reply = if cmd == "*IDN?" {
                        "ACME\x1b[2J\x07,PSU-1,0042,1.0"
                    } else if cmd.starts_with("SYST:ERR") && std::mem::take(&mut queued) {
                        "-222,\"Data out of range\x1b[2J\x07\""
                    } else if cmd.starts_with("SYST:ERR") {
                        "0,\"No error\""
                    } else if cmd.starts_with("MEAS:VOLT") {
                        "24.0"
                    } else if cmd.ends_with('?') {
                        "0"
                    } else {
                        continue;
                    };
                    if writeln!(out, "{reply}").is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn an_escape_code_in_an_idn_answer_is_shown_escaped_never_raw() {
    let tmp = tempfile::tempdir().expect("tmp");
    let served = write(
        tmp.path(),
        "served.toml",
        &sim_station("unit", "sim-58mm", "time_scale = 120.0\n"),
    );
    let sim = Served::start(&served, &tmp.path().join("served"));
    let printer = sim.field("printer tcp");
    let (host, port) = printer.rsplit_once(':').expect("host:port");
    let station = write(
        tmp.path(),
        "lab.toml",
        &format!(
            "[[station]]\nname = \"lab\"\nkind = \"real\"\nmodel = \"sim-58mm\"\n\
             [station.printer]\ndots = 384\nlink = {{ kind = \"tcp\", host = \"{host}\", port = {port} }}\n\
             [station.power]\nkind = \"scpi\"\naddress = {{ kind = \"tcp\", host = \"127.0.0.1\", port = {} }}\nnominal_voltage = 24.0\n\
             [station.scanner]\nkind = \"hotfolder\"\ndir = \"{}\"\n",
            hostile_supply(),
            sim.field("scans")
        ),
    );
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"idn\"\npatterns = [\"solid\"]\nretries = 0\n[[condition]]\nname = \"nominal\"\n",
    );
    // `rig run PLAN` on the station into `results`.
    let run_on_station = |plan: &std::path::Path, results: &std::path::Path| {
        rig()
            .arg("run")
            .arg(plan)
            .arg("--stations")
            .arg(&station)
            .arg("--results")
            .arg(results)
            .output()
            .expect("rig runs")
    };
    let results = tmp.path().join("results");
    let o = run_on_station(&plan, &results);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let raw = |bytes: &[u8]| bytes.iter().any(|&b| b == 0x1b || b == 0x07);
    let shown = "ACME\\x1b[2J\\x07,PSU-1,0042,1.0";
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!("lab power: {shown}")),
        "{}",
        text(&o)
    );
    assert!(!raw(&o.stdout) && !raw(&o.stderr), "{}", text(&o));
    let dir = run_dir(&results);
    let html = std::fs::read(dir.join("report.html")).expect("report.html");
    assert!(String::from_utf8_lossy(&html).contains(shown));
    let s = summary(&dir);
    assert_eq!(s["instruments"]["lab"][1]["answer"], shown, "{s:#}");
    for f in ["report.html", "junit.xml", "summary.json", "journal.ndjson"] {
        let bytes = std::fs::read(dir.join(f)).expect("report file");
        assert!(!raw(&bytes), "{f} holds a raw escape byte");
    }
    // Rebuilt from the journal, the report says the same.
    let o = run(&["report", dir.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let html = std::fs::read(dir.join("report.html")).expect("report.html");
    assert!(String::from_utf8_lossy(&html).contains(shown) && !raw(&html));

    // A voltage the supply refuses: its error, escape codes and all, ends the case as an
    // error, shown escaped on the console and in every report.
    let sag = write(
        tmp.path(),
        "sag.toml",
        "[plan]\nname = \"sag\"\npatterns = [\"solid\"]\nretries = 0\n\
         [[condition]]\nname = \"sag\"\nvoltage = 17.5\n",
    );
    let results = tmp.path().join("sag");
    let o = run_on_station(&sag, &results);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let refused = "Data out of range\\x1b[2J\\x07";
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(refused),
        "{}",
        text(&o)
    );
    assert!(!raw(&o.stdout) && !raw(&o.stderr), "{}", text(&o));
    let dir = run_dir(&results);
    for f in ["report.html", "junit.xml"] {
        let bytes = std::fs::read(dir.join(f)).expect("report file");
        assert!(String::from_utf8_lossy(&bytes).contains(refused), "{f}");
        assert!(!raw(&bytes), "{f} holds a raw escape byte");
    }
}

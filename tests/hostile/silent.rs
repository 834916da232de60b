//! A printer that accepts the connection and never says a word: every request and the
//! job end with an error naming it within their timeouts; in a run, the cases printed
//! before it fell silent keep their results and the rest end as errors naming it.

use crate::common::cmd::*;
use printrig::escpos::encode::{encode_bitmap, EncodeOptions};
use printrig::instrument::printer::escpos::EscposPrinter;
use printrig::instrument::printer::Printer;
use printrig::link::Endpoint;
use printrig::pattern::{render, PatternKind};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Holds a connection open, reading and dropping what comes, answering nothing.
fn hold(mut s: TcpStream) {
    let mut sink = [0u8; 16 * 1024];
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
}

/// A printer on loopback that accepts every connection and answers nothing. Its port.
fn silent_printer() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || hold(s));
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_printer_ends_every_step_in_its_timeout_naming_it() {
    let port = silent_printer();
    let mut p = EscposPrinter::new(
        "mute-printer",
        Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port,
        },
        Duration::from_secs(1),
    );
    let bound = Duration::from_secs(30);
    let e = tokio::time::timeout(bound, p.identify())
        .await
        .expect("identify ends in time")
        .expect_err("silence is no identity")
        .to_string();
    assert!(e.contains("mute-printer") && e.contains("no answer"), "{e}");
    let e = tokio::time::timeout(bound, p.status())
        .await
        .expect("status ends in time")
        .expect_err("silence is no status")
        .to_string();
    assert!(e.contains("mute-printer") && e.contains("no answer"), "{e}");
    let pattern = render(PatternKind::Solid, 576, 0).expect("pattern");
    let job = encode_bitmap(&pattern.bitmap, &EncodeOptions::default()).expect("job");
    let e = tokio::time::timeout(bound, p.print(&job, Duration::from_secs(2)))
        .await
        .expect("the job ends in time")
        .expect_err("a job nobody answers is no print")
        .to_string();
    assert!(e.contains("mute-printer") && e.contains("no answer"), "{e}");
}

/// A link to `upstream` that relays both ways until `after` bytes went to the printer,
/// then falls silent for good: relays nothing more, answers nothing, and accepts new
/// connections only to hold them. Its port.
fn falls_silent(upstream: String, after: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let silent = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    std::thread::spawn(move || {
        for rig in l.incoming().flatten() {
            let printer = match TcpStream::connect(&upstream) {
                Ok(p) if !silent.load(Ordering::SeqCst) => p,
                _ => {
                    std::thread::spawn(move || hold(rig));
                    continue;
                }
            };
            let (silent, sent) = (silent.clone(), sent.clone());
            let (mut rig_rd, mut rig_wr) = (rig.try_clone().expect("clone"), rig);
            let (mut pr_rd, mut pr_wr) = (printer.try_clone().expect("clone"), printer);
            let to_printer = silent.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = rig_rd.read(&mut buf) {
                    if to_printer.load(Ordering::SeqCst) {
                        continue;
                    }
                    if sent.fetch_add(n, Ordering::SeqCst) + n > after {
                        to_printer.store(true, Ordering::SeqCst);
                        continue;
                    }
                    if pr_wr.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = pr_rd.read(&mut buf) {
                    if !silent.load(Ordering::SeqCst) && rig_wr.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_printer_falling_silent_mid_run_ends_its_station_keeping_what_printed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let served = write(
        tmp.path(),
        "served.toml",
        &sim_station("unit", "sim-58mm", "time_scale = 120.0\n"),
    );
    let sim = Served::start(&served, &tmp.path().join("served"));
    // Silent a little way into the second job: the first case prints and is judged.
    let job = encode_bitmap(
        &render(PatternKind::Solid, 384, 0).expect("pattern").bitmap,
        &EncodeOptions::default(),
    )
    .expect("job");
    let port = falls_silent(sim.field("printer tcp"), job.bytes.len() + 400);
    let station = write(
        tmp.path(),
        "lab.toml",
        &format!(
            "[[station]]\nname = \"lab\"\nkind = \"real\"\nmodel = \"sim-58mm\"\n\
             [station.printer]\ndots = 384\nlink = {{ kind = \"tcp\", host = \"127.0.0.1\", port = {port} }}\n\
             ack_timeout_s = 2\nboot_timeout_s = 2\n\
             [station.scanner]\nkind = \"hotfolder\"\ndir = \"{}\"\nsettle_s = 0.5\n",
            sim.field("scans")
        ),
    );
    let plan = write(
        tmp.path(),
        "plan.toml",
        "[plan]\nname = \"mute\"\npatterns = [\"solid\"]\nrepeats = 3\nretries = 0\n\
         [[condition]]\nname = \"nominal\"\n",
    );
    let results = tmp.path().join("results");
    let mut cmd = rig();
    cmd.arg("run")
        .arg(&plan)
        .arg("--stations")
        .arg(&station)
        .arg("--results")
        .arg(&results)
        .arg("--quiet");
    let t0 = Instant::now();
    let o = crate::output_within(cmd, Duration::from_secs(240));
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let s = summary(&run_dir(&results));
    // The case printed before the silence keeps its verdict and evidence.
    let first = case(&s, "lab/solid/nominal/r1");
    assert_eq!(first["verdict"], "pass", "{first:#}");
    assert!(!first["artifacts"].as_array().expect("artifacts").is_empty());
    // The case it fell silent in is an error naming the printer, the rest of the
    // station's cases errors saying why.
    let second = case(&s, "lab/solid/nominal/r2");
    assert_eq!(second["verdict"], "error", "{second:#}");
    let why = second["error"].as_str().expect("error");
    assert!(
        why.contains("lab printer") && why.contains("no answer"),
        "{why}"
    );
    let third = case(&s, "lab/solid/nominal/r3");
    assert_eq!(third["verdict"], "error", "{third:#}");
    assert!(
        third["error"]
            .as_str()
            .expect("error")
            .contains("abandoned"),
        "{third:#}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("lab/solid/nominal/r2"), "{}", text(&o));
    println!("the run took {:?}: {why}", t0.elapsed());
}

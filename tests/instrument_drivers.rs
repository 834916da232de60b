//! The instrument drivers against the real protocols: SCPI power and chamber against small
//! fake SCPI servers on loopback TCP, a relay on a pty, `exec` commands, SANE's real
//! `scanimage` with its `test` backend, a hot folder fed by a slow writer, and the
//! simulated station's control port (a fake one here). Every wait is bounded.

use printrig::instrument::chamber::{soak, Chamber, ExecChamber, ScpiChamber};
use printrig::instrument::exec;
use printrig::instrument::power::{ExecPower, Power, RelayPower, ScpiPower, VoltageControl};
use printrig::instrument::scanner::{HotFolder, SaneScanner, Scanner};
use printrig::instrument::supply::{Consumable, ExecSupply, PromptSupply, SimSupply, Supply};
use printrig::instrument::{InstrumentError, Result};
use printrig::link::{Endpoint, Flow};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

const T: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------
// A fake SCPI instrument (PSU and chamber in one box)

#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    Normal,
    /// Reads commands and never answers.
    Silent,
    /// Closes the connection on the first command.
    Close,
    /// Closes the first connection on its first command, serves later ones.
    CloseFirst,
}

#[derive(Debug, Default)]
struct Instrument {
    volts: f64,
    on: bool,
    channel: u32,
    errors: VecDeque<String>,
    setpoint: f64,
    temp: f64,
    log: Vec<String>,
    accepts: usize,
}

impl Instrument {
    fn answer(&mut self, line: &str) -> Option<String> {
        self.log.push(line.to_string());
        let (head, arg) = match line.split_once(' ') {
            Some((h, a)) => (h, Some(a.trim())),
            None => (line, None),
        };
        let number = arg.and_then(|a| a.parse::<f64>().ok());
        match (head, arg) {
            ("*IDN?", None) => Some("PRINTRIG,FAKE-PSU,0001,1.0".into()),
            ("INST:NSEL", Some(a)) => {
                match a.parse() {
                    Ok(ch) => self.channel = ch,
                    Err(_) => self.err(-224, "Illegal parameter value"),
                }
                None
            }
            ("VOLT", Some(_)) => {
                match number {
                    Some(v) if (0.0..=30.0).contains(&v) => self.volts = v,
                    Some(_) => self.err(-222, "Data out of range"),
                    None => self.err(-224, "Illegal parameter value"),
                }
                None
            }
            ("OUTP", Some("ON")) => {
                self.on = true;
                None
            }
            ("OUTP", Some("OFF")) => {
                self.on = false;
                None
            }
            ("MEAS:VOLT?", None) => Some(format!("{:.3}", if self.on { self.volts } else { 0.0 })),
            ("MEAS:CURR?", None) => Some(if self.on { "0.250" } else { "0.000" }.into()),
            ("SYST:ERR?", None) => Some(
                self.errors
                    .pop_front()
                    .unwrap_or_else(|| "0,\"No error\"".into()),
            ),
            ("TEMP:SPO", Some(_)) | ("SETP", Some(_)) => {
                match number {
                    Some(c) => self.setpoint = c,
                    None => self.err(-224, "Illegal parameter value"),
                }
                None
            }
            ("TEMP?", None) | ("PV?", None) => {
                // Approaches the set point by up to 4 °C per reading.
                let step = (self.setpoint - self.temp).clamp(-4.0, 4.0);
                self.temp += step;
                Some(if head == "PV?" {
                    format!("{:.2} C", self.temp)
                } else {
                    format!("{:+.4E}", self.temp)
                })
            }
            _ => {
                self.err(-113, "Undefined header");
                None
            }
        }
    }

    fn err(&mut self, code: i32, msg: &str) {
        self.errors.push_back(format!("{code},\"{msg}\""));
    }
}

/// A fake instrument listening on 127.0.0.1; dropping it stops the listener and every
/// connection.
struct Fake {
    port: u16,
    state: Arc<Mutex<Instrument>>,
    task: JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    async fn start(behaviour: Behaviour) -> Fake {
        Self::start_with(
            behaviour,
            Instrument {
                temp: 20.0,
                ..Instrument::default()
            },
        )
        .await
    }

    async fn start_with(behaviour: Behaviour, state: Instrument) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((sock, _)) = listener.accept().await {
                let n = {
                    let mut s = shared.lock().expect("state");
                    s.accepts += 1;
                    s.accepts
                };
                let close = match behaviour {
                    Behaviour::Close => true,
                    Behaviour::CloseFirst => n == 1,
                    _ => false,
                };
                let state = shared.clone();
                conns.spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if close {
                            return;
                        }
                        if behaviour == Behaviour::Silent {
                            continue;
                        }
                        let reply = state.lock().expect("state").answer(line.trim());
                        if let Some(r) = reply {
                            if w.write_all(format!("{r}\n").as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Fake { port, state, task }
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port: self.port,
        }
    }

    fn log(&self) -> Vec<String> {
        self.state.lock().expect("state").log.clone()
    }

    fn accepts(&self) -> usize {
        self.state.lock().expect("state").accepts
    }
}

// ---------------------------------------------------------------------------------------
// SCPI power

#[tokio::test]
async fn scpi_power_identifies_sets_measures_and_switches() {
    let fake = Fake::start(Behaviour::Normal).await;
    let mut psu = ScpiPower::new("psu1", fake.endpoint(), T).with_channel(2);
    assert_eq!(
        psu.device(),
        format!("psu1 (tcp://127.0.0.1:{})", fake.port)
    );
    assert_eq!(
        psu.identify().await.expect("identify"),
        "PRINTRIG,FAKE-PSU,0001,1.0"
    );
    psu.set_voltage(12.5).await.expect("set voltage");
    psu.set_output(true).await.expect("output on");
    let (v, a) = psu
        .measure()
        .await
        .expect("measure")
        .expect("a SCPI PSU measures");
    assert_eq!((v, a), (12.5, 0.25));
    psu.set_output(false).await.expect("output off");
    let (v, a) = psu.measure().await.expect("measure").expect("measured");
    assert_eq!((v, a), (0.0, 0.0));

    let log = fake.log();
    let volt = log
        .iter()
        .position(|l| l == "VOLT 12.5")
        .expect("VOLT sent");
    assert_eq!(
        log[volt - 1],
        "INST:NSEL 2",
        "channel selected first: {log:?}"
    );
    assert_eq!(log[volt + 1], "SYST:ERR?", "checked after the set: {log:?}");
    assert!(log.contains(&"OUTP ON".to_string()) && log.contains(&"OUTP OFF".to_string()));
    assert_eq!(fake.accepts(), 1, "one connection for the whole session");
}

#[tokio::test]
async fn scpi_power_reports_the_error_queue_and_drains_it() {
    let fake = Fake::start(Behaviour::Normal).await;
    let mut psu = ScpiPower::new("psu1", fake.endpoint(), T);
    let e = psu
        .set_voltage(48.0)
        .await
        .expect_err("48 V is out of range");
    match &e {
        InstrumentError::Protocol {
            device,
            what,
            reply,
        } => {
            assert!(device.contains("psu1") && device.contains(&fake.port.to_string()));
            assert_eq!(what, "VOLT 48");
            assert!(
                reply.contains("-222") && reply.contains("Data out of range"),
                "{reply}"
            );
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert!(e.to_string().contains("VOLT 48"), "{e}");
    // the queue was drained: the next good setting passes
    psu.set_voltage(5.0).await.expect("5 V is fine");
    // an unknown command goes through the same check
    let e = psu
        .client()
        .send_checked(&["FROB 1".to_string()])
        .await
        .expect_err("undefined header");
    assert!(e.to_string().contains("-113"), "{e}");
}

#[tokio::test]
async fn scpi_silent_instrument_times_out_within_bound() {
    let fake = Fake::start(Behaviour::Silent).await;
    let timeout = Duration::from_millis(300);
    let mut psu = ScpiPower::new("psu1", fake.endpoint(), timeout);
    let start = Instant::now();
    let e = psu.identify().await.expect_err("no answer");
    let took = start.elapsed();
    assert!(
        matches!(&e, InstrumentError::Timeout { what, .. } if what == "*IDN?"),
        "{e:?}"
    );
    assert!(e.device().contains("psu1"), "{e}");
    assert!(took >= timeout && took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn scpi_closing_instrument_is_reconnected_once_then_link_lost() {
    let fake = Fake::start(Behaviour::Close).await;
    let mut psu = ScpiPower::new("psu1", fake.endpoint(), T);
    let e = tokio::time::timeout(Duration::from_secs(5), psu.identify())
        .await
        .expect("bounded")
        .expect_err("the instrument hangs up");
    assert!(matches!(e, InstrumentError::LinkLost { .. }), "{e:?}");
    assert!(e.device().contains("psu1"), "{e}");
    assert_eq!(
        fake.accepts(),
        2,
        "one connection and exactly one reconnect"
    );
}

#[tokio::test]
async fn scpi_link_lost_once_is_reconnected_transparently() {
    let fake = Fake::start(Behaviour::CloseFirst).await;
    let mut psu = ScpiPower::new("psu1", fake.endpoint(), T);
    assert_eq!(
        psu.identify().await.expect("identify after a reconnect"),
        "PRINTRIG,FAKE-PSU,0001,1.0"
    );
    assert_eq!(fake.accepts(), 2);
}

#[tokio::test]
async fn scpi_nobody_listening_is_an_io_error_naming_the_device() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let ep = Endpoint::Tcp {
        host: "127.0.0.1".into(),
        port,
    };
    let mut psu = ScpiPower::new("psu9", ep, T);
    let e = psu.identify().await.expect_err("refused");
    assert!(matches!(e, InstrumentError::Io { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains(&format!("psu9 (tcp://127.0.0.1:{port})")),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// Relay on a pty

#[tokio::test]
async fn relay_writes_its_lines_on_a_serial_port() {
    use tokio_serial::SerialPort;
    let (mut master, slave) = tokio_serial::SerialStream::pair().expect("pty pair");
    let path = slave.name().expect("slave pty path");
    let ep = Endpoint::Serial {
        path: PathBuf::from(&path),
        baud: 9600,
        flow: Flow::None,
    };
    let mut relay = RelayPower::new("relay1", ep, "RELAY1 ON", "RELAY1 OFF", T);
    assert!(
        relay.device().starts_with("relay1 (serial:"),
        "{}",
        relay.device()
    );
    relay.identify().await.expect("the port opens");
    relay.set_output(true).await.expect("on");
    relay.set_output(false).await.expect("off");
    let want = b"RELAY1 ON\r\nRELAY1 OFF\r\n";
    let mut got = vec![0u8; want.len()];
    tokio::time::timeout(T, master.read_exact(&mut got))
        .await
        .expect("bounded")
        .expect("read the relay's lines");
    assert_eq!(got, want);
    assert!(relay.voltage().is_none(), "a relay sets no voltage");
    assert_eq!(relay.measure().await.expect("measure"), None);
    drop(relay);
    drop(slave);
}

// ---------------------------------------------------------------------------------------
// SCPI chamber and soak

#[tokio::test]
async fn scpi_chamber_default_and_custom_commands() {
    let fake = Fake::start(Behaviour::Normal).await;
    let mut ch = ScpiChamber::new("ch1", fake.endpoint(), T).with_error_check(true);
    ch.set_point(40.0).await.expect("set point");
    assert_eq!(ch.temperature().await.expect("read"), 24.0);
    assert!(fake.log().contains(&"TEMP:SPO 40".to_string()));

    let mut ch = ScpiChamber::new("ch2", fake.endpoint(), T).with_commands("SETP {celsius}", "PV?");
    ch.set_point(10.5).await.expect("set point");
    let t = ch.temperature().await.expect("read");
    assert_eq!(t, 20.0, "\"20.00 C\" parses");
    assert!(fake.log().contains(&"SETP 10.5".to_string()));
}

#[tokio::test]
async fn soak_over_scpi_settles() {
    let fake = Fake::start(Behaviour::Normal).await;
    let mut ch = ScpiChamber::new("ch1", fake.endpoint(), T);
    let mut seen = Vec::new();
    let report = soak(
        &mut ch,
        35.0,
        0.5,
        Duration::from_millis(60),
        Duration::from_secs(3),
        Duration::from_millis(10),
        &mut |t| seen.push(t),
    )
    .await
    .expect("settles");
    assert_eq!(report.last, 35.0);
    assert_eq!(report.readings, seen.len());
    assert_eq!(&seen[..4], &[24.0, 28.0, 32.0, 35.0]);
}

/// A chamber in-process: each reading moves `step` towards the set point, never past
/// `max`.
struct StepChamber {
    temp: f64,
    target: f64,
    step: f64,
    max: f64,
}

#[async_trait::async_trait]
impl Chamber for StepChamber {
    fn device(&self) -> &str {
        "fake-chamber (test)"
    }
    async fn check(&mut self) -> Result<String> {
        Ok("fake".into())
    }
    async fn set_point(&mut self, celsius: f64) -> Result<()> {
        self.target = celsius;
        Ok(())
    }
    async fn temperature(&mut self) -> Result<f64> {
        let d = (self.target - self.temp).clamp(-self.step, self.step);
        self.temp = (self.temp + d).min(self.max);
        Ok(self.temp)
    }
}

#[tokio::test]
async fn soak_reaches_and_holds() {
    let mut ch = StepChamber {
        temp: 20.0,
        target: 20.0,
        step: 3.0,
        max: 100.0,
    };
    let hold = Duration::from_millis(100);
    let poll = Duration::from_millis(10);
    let mut calls = 0;
    let start = Instant::now();
    let report = soak(
        &mut ch,
        45.0,
        0.5,
        hold,
        Duration::from_secs(5),
        poll,
        &mut |_| calls += 1,
    )
    .await
    .expect("reaches 45 °C");
    assert!(start.elapsed() >= hold);
    assert_eq!(report.last, 45.0);
    assert_eq!(report.readings, calls);
    // 9 steps to get there (8 × 3 °C + 1 °C), then the hold
    assert!(report.readings >= 9 + 5, "{report:?}");
    assert!(report.reached_after >= 8 * poll && report.reached_after < Duration::from_secs(2));
}

#[tokio::test]
async fn soak_that_never_gets_there_is_not_settled_in_time() {
    let mut ch = StepChamber {
        temp: 20.0,
        target: 20.0,
        step: 2.0,
        max: 31.5,
    };
    let timeout = Duration::from_millis(400);
    let start = Instant::now();
    let e = soak(
        &mut ch,
        60.0,
        1.0,
        Duration::from_millis(50),
        timeout,
        Duration::from_millis(20),
        &mut |_| {},
    )
    .await
    .expect_err("the heater tops out at 31.5 °C");
    let took = start.elapsed();
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(1),
        "{took:?}"
    );
    assert!(matches!(e, InstrumentError::NotSettled { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("fake-chamber"), "{msg}");
    assert!(msg.contains("60 °C"), "{msg}");
    assert!(msg.contains("last reading 31.5 °C"), "{msg}");
}

// ---------------------------------------------------------------------------------------
// exec

fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn exec_success_failure_and_placeholders() {
    let out = exec::run(
        "dev",
        "say",
        &argv(&["echo", "{volts}"]),
        &[("volts", "12.5".into())],
        T,
    )
    .await
    .expect("echo");
    assert_eq!(out, "12.5\n");

    let mut p = ExecPower::new("plug", argv(&["true"]), argv(&["false"]), T);
    p.set_output(true).await.expect("true succeeds");
    let e = p.set_output(false).await.expect_err("false fails");
    match &e {
        InstrumentError::Command {
            device, what, code, ..
        } => {
            assert_eq!(device, "plug (exec)");
            assert_eq!(what, "switch off");
            assert_eq!(*code, Some(1));
        }
        other => panic!("expected a command error, got {other:?}"),
    }
    assert_eq!(p.measure().await.expect("measure"), None);
    assert!(
        p.voltage().is_none(),
        "without set_voltage the supply only switches"
    );

    let e = exec::run(
        "dev",
        "fail loudly",
        &argv(&["sh", "-c", "echo one >&2; echo two >&2; exit 3"]),
        &[],
        T,
    )
    .await
    .expect_err("exit 3");
    assert!(
        matches!(&e, InstrumentError::Command { code: Some(3), detail, .. } if detail == "one | two"),
        "{e:?}"
    );
    assert!(e.to_string().contains("exit code 3"), "{e}");
}

#[tokio::test]
async fn exec_backends_substitute_their_placeholders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("out.txt");
    let file_s = file.to_string_lossy().into_owned();
    let write = |what: &str| {
        argv(&[
            "sh",
            "-c",
            &format!("echo \"$0\" \"$1\" > '{file_s}'"),
            what,
            "{x}",
        ])
    };

    let mut p =
        ExecPower::new("psu", argv(&["true"]), argv(&["true"]), T).with_set_voltage(argv(&[
            "sh",
            "-c",
            &format!("echo \"$0\" > '{file_s}'"),
            "{volts}",
        ]));
    p.set_voltage(12.5).await.expect("set voltage");
    assert_eq!(std::fs::read_to_string(&file).expect("written"), "12.5\n");

    let mut ch = ExecChamber::new(
        "ch",
        argv(&[
            "sh",
            "-c",
            &format!("echo \"$0\" > '{file_s}'"),
            "{celsius}",
        ]),
        argv(&["sh", "-c", "echo 21.5"]),
        T,
    );
    ch.set_point(-10.0).await.expect("set point");
    assert_eq!(std::fs::read_to_string(&file).expect("written"), "-10\n");
    assert_eq!(ch.temperature().await.expect("read"), 21.5);
    let mut bad = ExecChamber::new("ch", argv(&["true"]), argv(&["echo", "warm"]), T);
    let e = bad.temperature().await.expect_err("not a number");
    assert!(
        matches!(e, InstrumentError::Protocol { .. }) && e.to_string().contains("warm"),
        "{e}"
    );

    let mut s = ExecSupply::new("feeder", write("{what}"), T);
    // "{x}" is no placeholder here: it stays as it is
    s.set_level(Consumable::Ink, 0.25).await.expect("set ink");
    assert_eq!(
        std::fs::read_to_string(&file).expect("written"),
        "ink {x}\n"
    );
    let mut s = ExecSupply::new(
        "feeder",
        argv(&[
            "sh",
            "-c",
            &format!("echo \"$0\" \"$1\" > '{file_s}'"),
            "{what}",
            "{level}",
        ]),
        T,
    );
    s.set_level(Consumable::Paper, 1.0)
        .await
        .expect("set paper");
    assert_eq!(
        std::fs::read_to_string(&file).expect("written"),
        "paper 1\n"
    );
}

#[tokio::test]
async fn exec_timeout_kills_the_program() {
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let e = exec::run("dev", "wait", &argv(&["sleep", "5"]), &[], timeout)
        .await
        .expect_err("too slow");
    let took = start.elapsed();
    assert!(matches!(e, InstrumentError::Timeout { .. }), "{e:?}");
    assert!(took >= timeout && took < Duration::from_secs(2), "{took:?}");
    assert!(e.to_string().starts_with("dev: "), "{e}");
}

#[tokio::test]
async fn exec_missing_program_is_an_io_error_naming_it() {
    let e = exec::run(
        "dev",
        "switch on",
        &argv(&["/nonexistent/printrig-no-such-tool", "on"]),
        &[],
        T,
    )
    .await
    .expect_err("no such program");
    assert!(matches!(e, InstrumentError::Io { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("dev: ") && msg.contains("printrig-no-such-tool"),
        "{msg}"
    );
    let e = exec::run("dev", "switch on", &[], &[], T)
        .await
        .expect_err("empty argv");
    assert!(matches!(e, InstrumentError::Io { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// SANE scanimage with the test backend

/// Fails the test (never skips it) when scanimage is missing.
fn require_scanimage() {
    match std::process::Command::new("scanimage")
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "scanimage is not installed: run scripts/setup.sh (it installs Debian's sane-utils)"
        ),
        Err(e) => panic!("cannot run scanimage ({e}): run scripts/setup.sh"),
    }
}

/// A SANE configuration that enables only the `test` backend.
fn sane_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("dll.conf"), "test\n").expect("dll.conf");
    let system = Path::new("/etc/sane.d/test.conf");
    if system.exists() {
        std::fs::copy(system, dir.path().join("test.conf")).expect("test.conf");
    }
    dir
}

fn test_scanner(config: &Path) -> SaneScanner {
    SaneScanner::new("flatbed", "test")
        .with_resolution(75)
        .with_mode("Gray")
        .with_format("png")
        .with_timeout(Duration::from_secs(30))
        .with_env(vec![(
            "SANE_CONFIG_DIR".to_string(),
            config.to_string_lossy().into_owned(),
        )])
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn sane_test_backend_scans_a_png() {
    require_scanimage();
    let config = sane_config();
    let dest = tempfile::tempdir().expect("tempdir");
    let mut scanner = test_scanner(config.path());
    assert_eq!(scanner.device(), "flatbed (sane:test)");
    let path = scanner.scan(dest.path(), "case-001").await.expect("scan");
    assert_eq!(path, dest.path().join("case-001.png"));
    assert_eq!(
        names_in(dest.path()),
        ["case-001.png"],
        "no partial file left"
    );
    let bytes = std::fs::read(&path).expect("scan file");
    assert!(bytes.starts_with(b"\x89PNG"));
    let img = printrig::scanfile::read_scan(&path).expect("a PNG the rig reads");
    assert!(img.width() >= 32 && img.height() >= 32);
}

#[tokio::test]
async fn sane_preflight_opens_the_device_or_names_what_is_wrong() {
    require_scanimage();
    let config = sane_config();
    let mut scanner = test_scanner(config.path());
    let said = scanner.check().await.expect("the test device opens");
    assert!(said.contains("test"), "{said}");
    // A device that is not attached.
    let env = vec![(
        "SANE_CONFIG_DIR".to_string(),
        config.path().to_string_lossy().into_owned(),
    )];
    let mut absent = SaneScanner::new("flatbed", "nosuch:device").with_env(env.clone());
    let e = absent.check().await.expect_err("no such device");
    assert!(
        e.to_string().starts_with("flatbed (sane:nosuch:device)"),
        "{e}"
    );
    // A scanimage that is not there.
    let mut missing = SaneScanner::new("flatbed", "test")
        .with_program("/nonexistent/scanimage")
        .with_env(env);
    let e = missing.check().await.expect_err("no program");
    assert!(e.to_string().contains("/nonexistent/scanimage"), "{e}");
}

#[tokio::test]
async fn sane_jam_is_a_jam() {
    require_scanimage();
    let config = sane_config();
    let dest = tempfile::tempdir().expect("tempdir");
    let mut scanner = test_scanner(config.path()).with_extra_args(argv(&[
        "--enable-test-options",
        "--read-return-value",
        "SANE_STATUS_JAMMED",
    ]));
    let e = scanner
        .scan(dest.path(), "case-002")
        .await
        .expect_err("jammed");
    match &e {
        InstrumentError::Jam { device, detail } => {
            assert_eq!(device, "flatbed (sane:test)");
            assert!(detail.to_lowercase().contains("jammed"), "{detail}");
        }
        other => panic!("expected a jam, got {other:?}"),
    }
    assert!(names_in(dest.path()).is_empty(), "nothing left behind");
}

#[tokio::test]
async fn sane_failures_carry_the_message() {
    require_scanimage();
    let config = sane_config();
    let dest = tempfile::tempdir().expect("tempdir");
    let mut scanner = SaneScanner::new("flatbed", "nosuchbackend:0")
        .with_resolution(75)
        .with_env(vec![(
            "SANE_CONFIG_DIR".to_string(),
            config.path().to_string_lossy().into_owned(),
        )]);
    let e = scanner
        .scan(dest.path(), "c")
        .await
        .expect_err("no such device");
    match &e {
        InstrumentError::Command {
            device,
            code,
            detail,
            ..
        } => {
            assert_eq!(device, "flatbed (sane:nosuchbackend:0)");
            assert!(code.is_some_and(|c| c != 0));
            assert!(detail.contains("nosuchbackend"), "{detail}");
        }
        other => panic!("expected a command error, got {other:?}"),
    }
    // a program that succeeds without writing anything
    let mut scanner = test_scanner(config.path()).with_program("true");
    let e = scanner.scan(dest.path(), "c").await.expect_err("empty");
    assert!(
        matches!(e, InstrumentError::Io { .. }) && e.to_string().contains("empty"),
        "{e}"
    );
    // a missing scanimage
    let mut scanner = test_scanner(config.path()).with_program("/nonexistent/scanimage");
    let e = scanner.scan(dest.path(), "c").await.expect_err("missing");
    assert!(
        matches!(e, InstrumentError::Io { .. }) && e.to_string().contains("/nonexistent/scanimage"),
        "{e}"
    );
    assert!(names_in(dest.path()).is_empty(), "nothing left behind");
}

// ---------------------------------------------------------------------------------------
// Hot folder

#[tokio::test]
async fn hot_folder_takes_a_settled_new_file_and_ignores_stale_ones() {
    let hot = tempfile::tempdir().expect("tempdir");
    let dest = tempfile::tempdir().expect("tempdir");
    std::fs::write(hot.path().join("old.png"), b"stale scan").expect("stale");
    std::fs::write(hot.path().join("notes.txt"), b"not an image").expect("txt");
    let settle = Duration::from_millis(400);
    let mut folder = HotFolder::new("hf", hot.path(), settle, Duration::from_secs(10))
        .expect("folder")
        .with_poll(Duration::from_millis(20));
    assert!(folder.device().contains(&hot.path().display().to_string()));

    // five chunks 80 ms apart: the size changes well within the settle time
    let target = hot.path().join("SCAN0001.PNG");
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut f = tokio::fs::File::create(&target).await.expect("create");
        for i in 0..5u8 {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(80)).await;
            }
            f.write_all(&[i; 1000]).await.expect("chunk");
            f.flush().await.expect("flush");
        }
        Instant::now()
    });
    let path = tokio::time::timeout(Duration::from_secs(10), folder.scan(dest.path(), "case-7"))
        .await
        .expect("bounded")
        .expect("scan");
    let returned = Instant::now();
    let last_write = writer.await.expect("writer");
    assert!(
        returned.duration_since(last_write) >= settle,
        "taken only once the size stayed the same for the settle time"
    );
    assert_eq!(path, dest.path().join("case-7.png"));
    let bytes = std::fs::read(&path).expect("moved");
    assert_eq!(bytes.len(), 5000, "the whole file");
    assert_eq!(
        names_in(hot.path()),
        ["notes.txt", "old.png"],
        "stale files stay"
    );

    // nothing new: neither the stale file nor the consumed one is returned
    let mut folder = folder.with_timeout(Duration::from_millis(600));
    let start = Instant::now();
    let e = folder
        .scan(dest.path(), "case-8")
        .await
        .expect_err("only stale files");
    assert!(matches!(e, InstrumentError::Timeout { .. }), "{e:?}");
    assert!(start.elapsed() >= Duration::from_millis(600));
    assert!(
        e.to_string().contains(&hot.path().display().to_string()),
        "{e}"
    );
    assert_eq!(names_in(dest.path()), ["case-7.png"]);
}

#[tokio::test]
async fn hot_folder_times_out_naming_the_folder() {
    let hot = tempfile::tempdir().expect("tempdir");
    let dest = tempfile::tempdir().expect("tempdir");
    let timeout = Duration::from_millis(300);
    let mut folder =
        HotFolder::new("hf", hot.path(), Duration::from_millis(50), timeout).expect("folder");
    let start = Instant::now();
    let e = folder
        .scan(dest.path(), "x")
        .await
        .expect_err("nothing arrives");
    let took = start.elapsed();
    assert!(took >= timeout && took < Duration::from_secs(2), "{took:?}");
    match &e {
        InstrumentError::Timeout { device, what, .. } => {
            assert!(device.starts_with("hf (hot folder "), "{device}");
            assert!(what.contains(&hot.path().display().to_string()), "{what}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // A folder that is not there: pre-flight (`check`) names it, and so does a scan.
    let nope = hot.path().join("nope");
    let mut missing = HotFolder::new("hf", &nope, timeout, timeout).expect("built");
    let e = missing.check().await.expect_err("no such folder");
    assert!(matches!(e, InstrumentError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains(&nope.display().to_string()), "{e}");
    let e = missing
        .scan(dest.path(), "x")
        .await
        .expect_err("no such folder");
    assert!(e.to_string().contains(&nope.display().to_string()), "{e}");
    folder.check().await.expect("the watched folder is there");
}

// ---------------------------------------------------------------------------------------
// Supplies

#[tokio::test]
async fn prompt_supply_without_a_terminal_has_no_operator() {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        // Run this same test again with stdin that is not a terminal.
        let exe = std::env::current_exe().expect("test binary");
        let out = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::process::Command::new(exe)
                .args([
                    "--exact",
                    "prompt_supply_without_a_terminal_has_no_operator",
                ])
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("bounded")
        .expect("rerun");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        return;
    }
    let mut s = PromptSupply::new("bench", Duration::from_secs(60));
    let start = Instant::now();
    let e = s
        .set_level(Consumable::Paper, 0.1)
        .await
        .expect_err("nobody to ask");
    assert!(start.elapsed() < Duration::from_secs(1), "returned at once");
    match &e {
        InstrumentError::NoOperator { device, what } => {
            assert_eq!(device, "bench (operator)");
            assert!(what.contains("paper") && what.contains("10 %"), "{what}");
        }
        other => panic!("expected NoOperator, got {other:?}"),
    }
}

/// A fake control port: `INK|PAPER <level>` → `OK`, out of range → `ERR …`, `GARBLE` →
/// nonsense.
async fn control_port() -> (u16, Arc<Mutex<Vec<String>>>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = log.clone();
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        while let Ok((sock, _)) = listener.accept().await {
            let log = shared.clone();
            conns.spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    log.lock().expect("log").push(line.clone());
                    let reply = match line.split_once(' ') {
                        Some(("INK" | "PAPER", v)) => match v.parse::<f64>() {
                            Ok(l) if (0.0..=1.0).contains(&l) => "OK".to_string(),
                            Ok(l) => format!("ERR level {l} out of range"),
                            Err(_) => "ERR not a number".to_string(),
                        },
                        _ => "WHAT?".to_string(),
                    };
                    if w.write_all(format!("{reply}\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (port, log, task)
}

#[tokio::test]
async fn sim_supply_ok_and_err() {
    let (port, log, task) = control_port().await;
    let mut s = SimSupply::loopback("sim", port, T);
    assert_eq!(s.device(), format!("sim (tcp://127.0.0.1:{port})"));
    s.set_level(Consumable::Ink, 0.25).await.expect("ink");
    s.set_level(Consumable::Paper, 1.0).await.expect("paper");
    let e = s
        .set_level(Consumable::Ink, 1.5)
        .await
        .expect_err("refused");
    match &e {
        InstrumentError::Protocol {
            device,
            what,
            reply,
        } => {
            assert!(device.contains(&port.to_string()));
            assert_eq!(what, "INK 1.5");
            assert!(reply.contains("level 1.5 out of range"), "{reply}");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert_eq!(
        *log.lock().expect("log"),
        ["INK 0.25", "PAPER 1", "INK 1.5"]
    );
    task.abort();
}

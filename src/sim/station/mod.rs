//! The simulated station: a printer, a SCPI power supply, a SCPI climate chamber and a
//! fault-injection control port, served on loopback TCP and a pty so that the rig's
//! drivers are tested on the real wire.
//!
//! Owns the station's life cycle (start, the handles the rig needs, stop) and its spec.
//! The shared physical state is `world`; each server is its own module (`printer_server`,
//! `psu`, `chamber`, `control`) and the scanner runs in `scans`. The physics stays in
//! `sim::head` / `sim::printer` / `sim::scanner`: nothing here models ink or paper.
//! It must not panic on anything a client sends, and `stop` must leave no task, port,
//! pty or symlink behind.
//!
//! # Power and links
//!
//! The station starts with the PSU output on and the printer booted. `OUTP OFF` cuts the
//! printer's power: every printer connection is dropped, the TCP listener is closed (so
//! connects are refused), the pty master is closed (the rig's reads of the slave then
//! return end-of-file) and the pty symlink is removed. The page being printed comes out
//! torn off and is scanned. `OUTP ON` boots the printer again after `boot_s` station
//! seconds: it listens on the same TCP port and makes a fresh pty pair, re-pointing the
//! symlink at it. A brownout or a `cut=@N` fault resets the printer the same way while the
//! output stays on.
//!
//! # Time
//!
//! Station time runs `time_scale` times faster than wall time: the chamber's thermal lag
//! and the boot delay are in station seconds. The `baud` throttle is a wall-clock line
//! rate (it stands for the cable, which the rig's drivers time in wall seconds). So are
//! the printer's mechanism and firmware: at a `print_speed_mm_s` (the station's, or its
//! firmware image's) each dot row takes 1/(speed · 8 rows/mm) wall seconds, and an
//! image's `ack_delay_ms` is wall milliseconds, since the rig waits for band
//! acknowledgements (`ack_timeout_s`) in wall seconds too.

mod chamber;
mod control;
mod lines;
mod printer_server;
mod psu;
mod scans;
mod scpi;
mod wire;
mod world;

use crate::sim::config::SimConfig;
use crate::sim::faults::FaultError;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use world::World;

/// A fault that is only present while one of its conditions holds: a printer that drops
/// a driver block when the supply is low, for instance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LatentFault {
    /// The fault in the `KIND=VALUE` syntax of [`crate::sim::Faults::apply`].
    pub fault: String,
    /// Active while the PSU's set voltage is below this, V.
    pub below_voltage: Option<f64>,
    /// Active while the chamber is warmer than this, °C.
    pub above_temperature: Option<f64>,
    /// Active while the chamber is colder than this, °C.
    pub below_temperature: Option<f64>,
    /// Active while the ink level is below this (0..1).
    pub below_ink: Option<f64>,
}

impl LatentFault {
    /// Whether any of the conditions holds for these conditions.
    pub fn active(&self, voltage: f64, temperature: f64, ink: f64) -> bool {
        self.below_voltage.is_some_and(|v| voltage < v)
            || self.above_temperature.is_some_and(|t| temperature > t)
            || self.below_temperature.is_some_and(|t| temperature < t)
            || self.below_ink.is_some_and(|i| ink < i)
    }

    /// Checks the fault's syntax, that a station printer can have it, and that at least
    /// one finite condition is given.
    pub fn validate(&self) -> Result<(), String> {
        let mut scratch = crate::sim::Faults::default();
        scratch.apply(&self.fault).map_err(|e| e.to_string())?;
        if let Some(p) = crate::sim::config::stream_problem(&scratch) {
            return Err(format!("fault '{}': {p}", self.fault));
        }
        let conditions = [
            self.below_voltage,
            self.above_temperature,
            self.below_temperature,
            self.below_ink,
        ];
        if conditions.iter().all(Option::is_none) {
            return Err(format!(
                "latent fault '{}' has no condition: give below_voltage, above_temperature, below_temperature or below_ink",
                self.fault
            ));
        }
        if conditions.iter().flatten().any(|c| !c.is_finite()) {
            return Err(format!(
                "latent fault '{}': conditions must be finite numbers",
                self.fault
            ));
        }
        Ok(())
    }

    /// `KIND=VALUE cond=x …`, as the control port's `LATENT` command takes it.
    pub fn describe(&self) -> String {
        let mut s = self.fault.clone();
        let conds = [
            ("below_voltage", self.below_voltage),
            ("above_temperature", self.above_temperature),
            ("below_temperature", self.below_temperature),
            ("below_ink", self.below_ink),
        ];
        for (name, value) in conds {
            if let Some(v) = value {
                s.push_str(&format!(" {name}={v}"));
            }
        }
        s
    }
}

/// A simulated station to start: its name, head and links, where its scans go, and how
/// it behaves ([`SimConfig`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimStationSpec {
    /// Station name (in the instruments' `*IDN?` replies and the logs).
    pub name: String,
    /// Print head width in dots.
    pub dots: u32,
    /// Model name the printer reports (GS I 67).
    pub model: String,
    /// Serve the printer on loopback TCP (like a network printer on port 9100).
    pub printer_tcp: bool,
    /// The TCP port the printer asks for: that port when it is free, else the next free
    /// one above it (at most `PORT_SEARCH` ports on), else any. `None`: any free port
    /// (what tests running side by side want).
    pub printer_port: Option<u16>,
    /// Serve the printer on a pty (like a serial printer).
    pub printer_pty: bool,
    /// Where scans are written (`scan-0001.png`, ...); created if missing.
    pub scan_dir: PathBuf,
    /// Where the symlink to the current pty slave is kept; default
    /// `scan_dir/../printer.tty`.
    pub pty_link: Option<PathBuf>,
    /// Faults, clock, room, consumables, flatbed and link rate.
    pub config: SimConfig,
}

impl Default for SimStationSpec {
    fn default() -> Self {
        SimStationSpec {
            name: "sim".into(),
            dots: 576,
            model: "sim-80mm".into(),
            printer_tcp: true,
            printer_port: None,
            printer_pty: true,
            scan_dir: std::env::temp_dir().join("printrig-sim").join("scans"),
            pty_link: None,
            config: SimConfig::default(),
        }
    }
}

impl SimStationSpec {
    /// The pty symlink's path: `pty_link`, or `printer.tty` beside the scan folder.
    pub fn pty_link_path(&self) -> PathBuf {
        match &self.pty_link {
            Some(p) => p.clone(),
            None => self
                .scan_dir
                .parent()
                .unwrap_or(&self.scan_dir)
                .join("printer.tty"),
        }
    }

    /// Boot delay in wall time.
    pub fn boot_wall(&self) -> Duration {
        wall(self.config.boot_s, self.config.time_scale)
    }

    /// Checks every value; the first problem found.
    pub fn validate(&self) -> Result<(), StationError> {
        if !self.printer_tcp && !self.printer_pty {
            return Err(StationError::Spec(
                "the printer needs a link: set printer_tcp, printer_pty or both".into(),
            ));
        }
        if self.dots == 0 || self.dots > crate::sim::head::MAX_HEAD_DOTS {
            return Err(StationError::Spec(format!(
                "dots = {}: expected 1 to {}",
                self.dots,
                crate::sim::head::MAX_HEAD_DOTS
            )));
        }
        self.config.validate().map_err(StationError::Spec)
    }
}

/// Station seconds → wall time.
pub(crate) fn wall(station_s: f64, time_scale: f64) -> Duration {
    let s = station_s / time_scale;
    if s.is_finite() && s > 0.0 {
        Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    }
}

/// Why a station could not start.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    #[error("invalid station spec: {0}")]
    Spec(String),
    #[error(transparent)]
    Fault(#[from] FaultError),
    #[error("cannot {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open a pty pair for the printer: {0}")]
    Pty(#[from] tokio_serial::Error),
}

impl StationError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> StationError {
        StationError::Io {
            what: what.into(),
            source,
        }
    }
}

/// A running simulated station. Stop it with [`SimStation::stop`]; dropping it only asks
/// its tasks to end.
pub struct SimStation {
    spec: SimStationSpec,
    world: Arc<World>,
    printer_tcp: Option<SocketAddr>,
    pty_link: Option<PathBuf>,
    psu: SocketAddr,
    chamber: SocketAddr,
    control: SocketAddr,
    servers: Vec<(&'static str, JoinHandle<()>)>,
    scans: scans::ScanQueue,
    scan_worker: Option<JoinHandle<()>>,
    /// The first scan the station could not write for a full or read-only disk.
    storage: tokio::sync::watch::Receiver<Option<crate::util::fsio::WriteFault>>,
}

impl std::fmt::Debug for SimStation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimStation")
            .field("name", &self.spec.name)
            .field("printer_tcp", &self.printer_tcp)
            .field("pty_link", &self.pty_link)
            .field("psu", &self.psu)
            .field("chamber", &self.chamber)
            .field("control", &self.control)
            .finish()
    }
}

/// The port of a network receipt printer (raw TCP printing).
pub const PRINTER_PORT: u16 = 9100;

/// How many ports above its preferred one a printer tries before taking any free port.
pub const PORT_SEARCH: u16 = 100;

/// The printer's listener: its preferred port when free, else the next free one, else any.
async fn bind_printer(preferred: Option<u16>) -> Result<(TcpListener, SocketAddr), StationError> {
    if let Some(first) = preferred {
        for port in (first..=first.saturating_add(PORT_SEARCH)).filter(|&p| p != 0) {
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
                if port != first {
                    tracing::info!(
                        preferred = first,
                        port,
                        "printer port taken: using the next free one"
                    );
                }
                let addr = listener
                    .local_addr()
                    .map_err(|e| StationError::io("read the printer's address".to_string(), e))?;
                return Ok((listener, addr));
            }
        }
    }
    bind_loopback("printer").await
}

async fn bind_loopback(what: &str) -> Result<(TcpListener, SocketAddr), StationError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| StationError::io(format!("listen for the {what} on 127.0.0.1"), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StationError::io(format!("read the {what}'s address"), e))?;
    Ok((listener, addr))
}

impl SimStation {
    /// Starts every server (TCP on 127.0.0.1, ephemeral ports) with the PSU output on and
    /// the printer booted.
    pub async fn start(spec: SimStationSpec) -> Result<SimStation, StationError> {
        spec.validate()?;
        tokio::fs::create_dir_all(&spec.scan_dir)
            .await
            .map_err(|e| {
                StationError::io(
                    format!("create the scan folder {}", spec.scan_dir.display()),
                    e,
                )
            })?;
        let world = Arc::new(World::new(spec.clone()));

        let printer = if spec.printer_tcp {
            Some(bind_printer(spec.printer_port).await?)
        } else {
            None
        };
        let (psu_l, psu) = bind_loopback("PSU").await?;
        let (chamber_l, chamber) = bind_loopback("chamber").await?;
        let (control_l, control) = bind_loopback("control port").await?;
        // Last, so that nothing can fail after the symlink is in place.
        let pty_link = spec.printer_pty.then(|| spec.pty_link_path());
        let pty = match &pty_link {
            Some(link) => Some(printer_server::Pty::open(link)?),
            None => None,
        };

        let (scans, scan_rx) = scans::ScanQueue::new();
        let (storage_tx, storage) = tokio::sync::watch::channel(None);
        let scan_worker = tokio::spawn(scans::run(scan_rx, world.clone(), storage_tx));

        let printer_tcp = printer.as_ref().map(|(_, a)| *a);
        let mut servers = Vec::new();
        servers.push((
            "printer",
            tokio::spawn(printer_server::run(
                world.clone(),
                scans.clone(),
                printer,
                pty,
                pty_link.clone(),
            )),
        ));
        {
            let w = world.clone();
            servers.push((
                "PSU",
                tokio::spawn(lines::serve("PSU", psu_l, world.clone(), move |line| {
                    psu::handle(&w, line)
                })),
            ));
        }
        {
            let w = world.clone();
            servers.push((
                "chamber",
                tokio::spawn(lines::serve(
                    "chamber",
                    chamber_l,
                    world.clone(),
                    move |line| chamber::handle(&w, line),
                )),
            ));
        }
        {
            let w = world.clone();
            servers.push((
                "control",
                tokio::spawn(lines::serve(
                    "control",
                    control_l,
                    world.clone(),
                    move |line| control::handle(&w, line),
                )),
            ));
        }
        tracing::info!(
            station = %spec.name,
            printer_tcp = ?printer_tcp,
            pty = ?pty_link,
            %psu,
            %chamber,
            %control,
            "simulated station started"
        );
        Ok(SimStation {
            spec,
            world,
            printer_tcp,
            pty_link,
            psu,
            chamber,
            control,
            servers,
            scans,
            scan_worker: Some(scan_worker),
            storage,
        })
    }

    /// Says the first scan the station could not write because its scan folder's disk is
    /// full or read-only (the rig's own storage, not the simulated scanner's fault); it
    /// says nothing more once the station has stopped.
    pub fn storage_faults(
        &self,
    ) -> tokio::sync::watch::Receiver<Option<crate::util::fsio::WriteFault>> {
        self.storage.clone()
    }

    /// The printer's TCP address (stable across power cycles).
    pub fn printer_tcp(&self) -> Option<SocketAddr> {
        self.printer_tcp
    }

    /// The stable symlink to the printer's current pty slave (absent while the printer is
    /// off or booting).
    pub fn printer_pty(&self) -> Option<PathBuf> {
        self.pty_link.clone()
    }

    pub fn psu(&self) -> SocketAddr {
        self.psu
    }

    pub fn chamber(&self) -> SocketAddr {
        self.chamber
    }

    pub fn control(&self) -> SocketAddr {
        self.control
    }

    pub fn scan_dir(&self) -> &Path {
        &self.spec.scan_dir
    }

    pub fn spec(&self) -> &SimStationSpec {
        &self.spec
    }

    /// Stops every task, closes every port (the printer's torn page, if any, is still
    /// scanned first) and removes the pty symlink.
    pub async fn stop(mut self) {
        self.world.shutdown();
        for (name, task) in self.servers.drain(..) {
            await_task(name, task).await;
        }
        self.scans.close();
        if let Some(task) = self.scan_worker.take() {
            await_task("scanner", task).await;
        }
        if let Some(link) = &self.pty_link {
            printer_server::remove_link(link);
        }
        tracing::info!(station = %self.spec.name, "simulated station stopped");
    }
}

/// Waits for a task told to stop; one that does not end in time is aborted.
async fn await_task(name: &str, mut task: JoinHandle<()>) {
    const GRACE: Duration = Duration::from_secs(30);
    match tokio::time::timeout(GRACE, &mut task).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(task = name, error = %e, "station task failed"),
        Err(_) => {
            tracing::error!(
                task = name,
                "station task did not stop in time: aborting it"
            );
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for SimStation {
    fn drop(&mut self) {
        // Not stopped: ask the tasks to end on their own.
        if !self.servers.is_empty() {
            self.world.shutdown();
            self.scans.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_is_valid_and_link_sits_beside_the_scans() {
        let spec = SimStationSpec::default();
        spec.validate().expect("default spec");
        assert_eq!(
            spec.pty_link_path(),
            spec.scan_dir.parent().expect("parent").join("printer.tty")
        );
        assert_eq!(spec.boot_wall(), Duration::from_secs(3));
    }

    #[test]
    fn invalid_specs_are_refused_with_the_field_named() {
        let base = SimStationSpec::default();
        let with = |f: &dyn Fn(&mut SimConfig)| {
            let mut s = base.clone();
            f(&mut s.config);
            s
        };
        let cases: Vec<(SimStationSpec, &str)> = vec![
            (
                SimStationSpec {
                    printer_tcp: false,
                    printer_pty: false,
                    ..base.clone()
                },
                "needs a link",
            ),
            (with(&|c| c.time_scale = 0.0), "time_scale"),
            (with(&|c| c.ambient_c = 200.0), "ambient_c"),
            (with(&|c| c.ink = 1.5), "ink"),
            (with(&|c| c.scan_skew_deg = 4.0), "skew_deg"),
            (with(&|c| c.baud = Some(0)), "baud"),
            (
                with(&|c| c.faults = crate::sim::Faults::parse_all(["cut=0.5"]).expect("parse")),
                "byte offset",
            ),
            (
                with(&|c| {
                    c.latent = vec![LatentFault {
                        fault: "dead=3".into(),
                        ..LatentFault::default()
                    }]
                }),
                "no condition",
            ),
            (
                with(&|c| {
                    c.latent = vec![LatentFault {
                        fault: "zebra=3".into(),
                        below_ink: Some(0.5),
                        ..LatentFault::default()
                    }]
                }),
                "zebra",
            ),
        ];
        for (spec, want) in cases {
            let err = spec.validate().expect_err(want).to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
    }

    #[test]
    fn latent_conditions() {
        let l = LatentFault {
            fault: "block=64:64".into(),
            below_voltage: Some(20.0),
            above_temperature: Some(40.0),
            ..LatentFault::default()
        };
        assert!(!l.active(24.0, 23.0, 1.0));
        assert!(l.active(19.0, 23.0, 1.0));
        assert!(l.active(24.0, 41.0, 1.0));
        assert_eq!(
            l.describe(),
            "block=64:64 below_voltage=20 above_temperature=40"
        );
        assert_eq!(wall(10.0, 100.0), Duration::from_millis(100));
        assert_eq!(wall(0.0, 1.0), Duration::ZERO);
    }
}

//! Turning a station into running instruments: for a `sim` station, the simulated station
//! is started in-process first and the station re-described as its loopback addresses;
//! then every station, simulated or real, gets the same drivers from the one builder per
//! instrument kind (`instrument::<kind>::build`), so the code paths are those of real
//! hardware.
//!
//! Owns that sequence and the [`Rig`] it yields. It must not read station files (they
//! are loaded by `stations`) nor know any backend.

use super::case::Rig;
use crate::instrument::{
    chamber, firmware, power, printer, scanner, secs, supply, InstrumentError,
};
use crate::link::Endpoint;
use crate::plan::{PlanErrors, PrinterLink, Station};
use crate::sim::station::{SimStation, SimStationSpec, StationError};
use crate::sim::SimConfig;
use std::path::Path;
use std::time::Duration;

/// Per-command timeout of instrument I/O.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// The room temperature teardown restores when a station has no chamber, °C.
const ROOM_C: f64 = 23.0;

#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("station {station}: {source}")]
    Config {
        station: String,
        #[source]
        source: PlanErrors,
    },
    #[error("station {station}: cannot clear {path}: {source}")]
    Clear {
        station: String,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("station {station}: the simulated station does not start: {source}")]
    Start {
        station: String,
        #[source]
        source: StationError,
    },
}

/// Starts the simulated station `st` describes, its scans and pty under `dir`. `None`
/// for a real station.
pub async fn start_sim(st: &Station, dir: &Path) -> Result<Option<SimStation>, AssembleError> {
    start_sim_on(st, dir, None).await
}

/// [`start_sim`] with the TCP port the printer asks for (that port when free, else the
/// next free one): what `rig sim station` does, so that a POS finds it on 9100.
pub async fn start_sim_on(
    st: &Station,
    dir: &Path,
    printer_port: Option<u16>,
) -> Result<Option<SimStation>, AssembleError> {
    let config = SimConfig::from_station(st).map_err(|source| AssembleError::Config {
        station: st.name.clone(),
        source,
    })?;
    let Some(config) = config else {
        return Ok(None);
    };
    let mut spec = SimStationSpec::for_station(st, config, dir);
    spec.printer_port = printer_port;
    // Scans left by an earlier process (a killed or interrupted run being resumed) are
    // not artifacts (those were moved into the cases): start the station's folder empty.
    // Never through a link: the folder and every folder above it inside the run directory
    // must be the run's own (a planted `stations` symlink would empty a folder elsewhere).
    if let Ok(rel) = spec.scan_dir.strip_prefix(dir) {
        crate::util::fsio::check_inside(dir, rel).map_err(|e| AssembleError::Clear {
            station: st.name.clone(),
            path: spec.scan_dir.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
        })?;
    }
    let is_dir = std::fs::symlink_metadata(&spec.scan_dir).is_ok_and(|m| m.is_dir());
    if is_dir {
        std::fs::remove_dir_all(&spec.scan_dir).map_err(|source| AssembleError::Clear {
            station: st.name.clone(),
            path: spec.scan_dir.clone(),
            source,
        })?;
    }
    SimStation::start(spec)
        .await
        .map(Some)
        .map_err(|source| AssembleError::Start {
            station: st.name.clone(),
            source,
        })
}

/// The instruments of a station; a sim station's must be wired to its running
/// simulation first ([`SimStation::wired`]). Every kind is built even when one fails, so
/// that each problem is reported (named by kind: `printer`, `power`, …).
pub fn build(st: &Station) -> Result<Rig, Vec<(&'static str, InstrumentError)>> {
    let name = &st.name;
    let mut problems = Vec::new();
    let mut keep = |kind: &'static str, e: InstrumentError| problems.push((kind, e));
    let printer = printer::build(name, &st.printer, IO_TIMEOUT).map_err(|e| keep("printer", e));
    let power = power::build(name, &st.power, IO_TIMEOUT).map_err(|e| keep("power", e));
    let chamber = chamber::build(name, &st.chamber, IO_TIMEOUT).map_err(|e| keep("chamber", e));
    let scanner = scanner::build(name, &st.scanner).map_err(|e| keep("scanner", e));
    let supply = supply::build(name, &st.supply, IO_TIMEOUT).map_err(|e| keep("supply", e));
    let firmware = firmware::build(
        name,
        st.printer.firmware_install.as_ref(),
        &port_of(&st.printer.link),
        IO_TIMEOUT,
    )
    .map_err(|e| keep("firmware installer", e));
    let (Ok(printer), Ok(power), Ok(chamber), Ok(scanner), Ok(supply), Ok(firmware)) =
        (printer, power, chamber, scanner, supply, firmware)
    else {
        return Err(problems);
    };
    Ok(Rig {
        name: name.clone(),
        printer,
        power,
        chamber,
        scanner,
        supply,
        firmware,
        time_scale: st.envelope.time_scale,
        nominal_voltage: st.power.nominal_voltage(),
        ambient: st.chamber.ambient().unwrap_or(ROOM_C),
        ack_timeout: secs(st.printer.ack_timeout_s),
        boot_timeout: secs(st.printer.boot_timeout_s),
        nominal_density: st.nominal_density,
        stressed: Default::default(),
        soaked: None,
    })
}

/// The printer's link as a flash tool names it (`{port}`): a serial or device path, or
/// `host:port`.
fn port_of(link: &PrinterLink) -> String {
    match link {
        PrinterLink::Real(Endpoint::Serial { path, .. })
        | PrinterLink::Real(Endpoint::Device { path }) => path.display().to_string(),
        PrinterLink::Real(Endpoint::Tcp { host, port }) => format!("{host}:{port}"),
        PrinterLink::SimPty | PrinterLink::SimTcp => String::new(),
    }
}

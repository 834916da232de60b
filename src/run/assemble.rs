//! Turning station specs into running instruments: real backends for real stations, and
//! for `sim` stations the simulated station started in-process with the rig's ordinary
//! drivers pointed at its servers (the same code paths as real hardware).

use super::case::Rig;
use crate::instrument::chamber::{Chamber, ExecChamber, ScpiChamber};
use crate::instrument::power::{ExecPower, Power, RelayPower, ScpiPower};
use crate::instrument::printer::escpos::EscposPrinter;
use crate::instrument::scanner::{HotFolder, SaneScanner, Scanner};
use crate::instrument::supply::{ExecSupply, PromptSupply, SimSupply, Supply};
use crate::link::{Endpoint, Flow};
use crate::plan::{ChamberSpec, PowerSpec, PrinterLink, ScannerSpec, Station, SupplySpec};
use crate::sim::station::{SimStation, SimStationSpec};
use std::path::Path;
use std::time::Duration;

/// Per-command timeout of instrument I/O.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("station {station}: {detail}")]
    Station { station: String, detail: String },
}

fn err(station: &Station, detail: impl std::fmt::Display) -> AssembleError {
    AssembleError::Station {
        station: station.name.clone(),
        detail: detail.to_string(),
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn loopback(port: u16) -> Endpoint {
    Endpoint::Tcp {
        host: "127.0.0.1".into(),
        port,
    }
}

/// Starts a simulated station for `st` under `dir` (its scans and pty live there).
pub async fn start_sim(st: &Station, dir: &Path) -> Result<SimStation, AssembleError> {
    let sim = st.sim.clone().unwrap_or_default();
    let faults = sim.base_faults().map_err(|e| err(st, e))?;
    let (dpi, skew) = match &st.scanner {
        ScannerSpec::Sim { dpi, skew_deg } => (*dpi, *skew_deg),
        _ => (600.0, 1.0),
    };
    // Scans left by an earlier process (a killed or interrupted run being resumed) are
    // not artifacts (those were moved into the cases): start the station's folder empty.
    let scans = dir.join("scans");
    if scans.exists() {
        std::fs::remove_dir_all(&scans)
            .map_err(|e| err(st, format!("cannot clear {}: {e}", scans.display())))?;
    }
    let spec = SimStationSpec {
        name: st.name.clone(),
        dots: st.printer.dots,
        model: st.model.clone(),
        firmware: st
            .printer
            .firmware
            .clone()
            .unwrap_or_else(|| format!("SIM {}", crate::VERSION)),
        printer_tcp: matches!(st.printer.link, PrinterLink::SimTcp),
        printer_pty: matches!(st.printer.link, PrinterLink::SimPty),
        faults,
        latent: sim.latent.clone(),
        time_scale: sim.time_scale,
        boot_s: sim.boot_s,
        ambient_c: sim.ambient_c,
        chamber_tau_s: sim.chamber_tau_s,
        ink: sim.ink,
        seed: sim.seed,
        nominal_voltage: st.power.nominal_voltage().unwrap_or(24.0),
        scan_dpi: dpi,
        scan_skew_deg: skew,
        scan_dir: scans,
        pty_link: Some(dir.join("printer.tty")),
        baud: sim.baud,
    };
    SimStation::start(spec).await.map_err(|e| err(st, e))
}

/// The instruments of a station. For a sim station, `sim` is its running simulation.
pub fn build(st: &Station, sim: Option<&SimStation>) -> Result<Rig, AssembleError> {
    let name = st.name.clone();
    let time_scale = st.sim.as_ref().map(|s| s.time_scale).unwrap_or(1.0);
    let need_sim = |what: &str| {
        sim.ok_or_else(|| {
            err(
                st,
                format!("{what} is simulated but the station is not running"),
            )
        })
    };
    let printer_ep = match &st.printer.link {
        PrinterLink::Real(ep) => ep.clone(),
        PrinterLink::SimTcp => {
            let s = need_sim("the printer")?;
            let addr = s
                .printer_tcp()
                .ok_or_else(|| err(st, "the simulated printer has no TCP port"))?;
            loopback(addr.port())
        }
        PrinterLink::SimPty => {
            let s = need_sim("the printer")?;
            let path = s
                .printer_pty()
                .ok_or_else(|| err(st, "the simulated printer has no pty"))?;
            Endpoint::Serial {
                path,
                baud: 115_200,
                flow: Flow::None,
            }
        }
    };
    let printer = Box::new(EscposPrinter::new(
        &format!("{name} printer"),
        printer_ep,
        IO_TIMEOUT,
    ));

    let power: Option<Box<dyn Power>> = match &st.power {
        PowerSpec::None => None,
        PowerSpec::Scpi {
            address, channel, ..
        } => {
            let mut p = ScpiPower::new(&format!("{name} power"), address.clone(), IO_TIMEOUT);
            if let Some(c) = channel {
                p = p.with_channel(*c);
            }
            Some(Box::new(p))
        }
        PowerSpec::Relay {
            port,
            baud,
            on,
            off,
        } => Some(Box::new(RelayPower::new(
            &format!("{name} relay"),
            Endpoint::Serial {
                path: port.clone(),
                baud: *baud,
                flow: Flow::None,
            },
            on,
            off,
            IO_TIMEOUT,
        ))),
        PowerSpec::Exec {
            on,
            off,
            set_voltage,
            timeout_s,
            ..
        } => {
            let mut p = ExecPower::new(
                &format!("{name} power"),
                on.clone(),
                off.clone(),
                secs(*timeout_s),
            );
            if let Some(sv) = set_voltage {
                p = p.with_set_voltage(sv.clone());
            }
            Some(Box::new(p))
        }
        PowerSpec::Sim { .. } => {
            let s = need_sim("power")?;
            Some(Box::new(ScpiPower::new(
                &format!("{name} power"),
                loopback(s.psu().port()),
                IO_TIMEOUT,
            )))
        }
    };

    let (chamber, ambient): (Option<Box<dyn Chamber>>, f64) = match &st.chamber {
        ChamberSpec::None => (None, 23.0),
        ChamberSpec::Scpi {
            address,
            set_command,
            read_command,
            ambient,
        } => (
            Some(Box::new(
                ScpiChamber::new(&format!("{name} chamber"), address.clone(), IO_TIMEOUT)
                    .with_commands(set_command, read_command),
            )),
            *ambient,
        ),
        ChamberSpec::Exec {
            set,
            read,
            ambient,
            timeout_s,
        } => (
            Some(Box::new(ExecChamber::new(
                &format!("{name} chamber"),
                set.clone(),
                read.clone(),
                secs(*timeout_s),
            ))),
            *ambient,
        ),
        ChamberSpec::Sim => {
            let s = need_sim("the chamber")?;
            (
                Some(Box::new(ScpiChamber::new(
                    &format!("{name} chamber"),
                    loopback(s.chamber().port()),
                    IO_TIMEOUT,
                ))),
                st.sim.as_ref().map(|x| x.ambient_c).unwrap_or(23.0),
            )
        }
    };

    let scanner: Box<dyn Scanner> = match &st.scanner {
        ScannerSpec::Sane {
            device,
            resolution,
            mode,
            format,
            scanimage,
            timeout_s,
        } => Box::new(
            SaneScanner::new(&format!("{name} scanner"), device)
                .with_resolution(*resolution)
                .with_mode(mode)
                .with_format(format)
                .with_program(scanimage)
                .with_timeout(secs(*timeout_s)),
        ),
        ScannerSpec::Hotfolder {
            dir,
            settle_s,
            timeout_s,
        } => Box::new(
            HotFolder::new(
                &format!("{name} scanner"),
                dir.clone(),
                secs(*settle_s),
                secs(*timeout_s),
            )
            .map_err(|e| err(st, e))?,
        ),
        ScannerSpec::Sim { .. } => {
            let s = need_sim("the scanner")?;
            Box::new(
                HotFolder::new(
                    &format!("{name} scanner"),
                    s.scan_dir().to_path_buf(),
                    Duration::from_millis(150),
                    Duration::from_secs(60),
                )
                .map_err(|e| err(st, e))?
                .with_poll(Duration::from_millis(25)),
            )
        }
    };

    let supply: Option<Box<dyn Supply>> = match &st.supply {
        SupplySpec::None => None,
        SupplySpec::Prompt => Some(Box::new(PromptSupply::new(
            &format!("{name} supply"),
            Duration::from_secs(600),
        ))),
        SupplySpec::Exec { set, timeout_s } => Some(Box::new(ExecSupply::new(
            &format!("{name} supply"),
            set.clone(),
            secs(*timeout_s),
        ))),
        SupplySpec::Sim => {
            let s = need_sim("the supply")?;
            Some(Box::new(SimSupply::new(
                &format!("{name} supply"),
                loopback(s.control().port()),
                IO_TIMEOUT,
            )))
        }
    };

    Ok(Rig {
        name,
        printer,
        power,
        chamber,
        scanner,
        supply,
        time_scale,
        nominal_voltage: st.power.nominal_voltage().unwrap_or(24.0),
        ambient,
        ack_timeout: secs(st.printer.ack_timeout_s),
        boot_timeout: secs(st.printer.boot_timeout_s),
        nominal_density: st.nominal_density,
        stressed: Default::default(),
    })
}

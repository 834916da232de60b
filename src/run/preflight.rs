//! Pre-flight: before any case prints, every station's instruments prove they answer —
//! the printer's link opens and it says who it is, SCPI instruments answer `*IDN?`, the
//! scanner's folder or device is there, station programs can be started — so wrong
//! hardware is found in seconds, not case by case.
//!
//! Owns: building a run's stations (starting the simulated ones), which instrument is
//! checked and how long each may take. Must not: print, move a stress, or write anything
//! but a simulated station's working files (the caller decides what a problem means).

use super::assemble;
use super::case::Rig;
use crate::instrument::printer::PrinterIdentity;
use crate::plan::Station;
use crate::record::layout::station_dir;
use crate::record::InstrumentAnswer;
use crate::sim::station::SimStation;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

/// The longest any one instrument may take to answer in pre-flight.
pub const CHECK_LIMIT: Duration = Duration::from_secs(15);

/// What a station's pre-flight found: the printer's identity when it answered, what the
/// power supply and chamber said they are, and one line per problem naming the device.
#[derive(Debug, Default)]
pub struct Preflight {
    pub identity: Option<PrinterIdentity>,
    pub answers: Vec<InstrumentAnswer>,
    pub problems: Vec<String>,
}

fn answer(instrument: &str, said: &str) -> InstrumentAnswer {
    InstrumentAnswer {
        instrument: instrument.to_string(),
        answer: crate::util::printable(said).into_owned(),
    }
}

async fn bounded<T, F>(device: &str, fut: F) -> Result<T, String>
where
    F: Future<Output = crate::instrument::Result<T>>,
{
    match tokio::time::timeout(CHECK_LIMIT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(crate::util::error_chain(&e)),
        Err(_) => Err(format!(
            "{device}: no answer within {} s",
            CHECK_LIMIT.as_secs()
        )),
    }
}

/// Checks every instrument of a built station. `uses_supply`: some case of the station
/// sets ink or paper (a supply nothing asks for is not checked: an operator prompt is
/// only needed when a case asks for it).
pub async fn check(rig: &mut Rig, uses_supply: bool) -> Preflight {
    let mut out = Preflight::default();
    let device = rig.printer.device().to_string();
    match bounded(&device, rig.printer.identify()).await {
        Ok(id) => out.identity = Some(id),
        Err(e) => out.problems.push(format!("printer: {e}")),
    }
    if let Some(p) = rig.power.as_mut() {
        let device = p.device().to_string();
        match bounded(&device, p.identify()).await {
            Ok(said) => out.answers.push(answer("power", &said)),
            Err(e) => out.problems.push(format!("power: {e}")),
        }
    }
    if let Some(c) = rig.chamber.as_mut() {
        let device = c.device().to_string();
        match bounded(&device, c.check()).await {
            Ok(said) => out.answers.push(answer("chamber", &said)),
            Err(e) => out.problems.push(format!("chamber: {e}")),
        }
    }
    let device = rig.scanner.device().to_string();
    if let Err(e) = bounded(&device, rig.scanner.check()).await {
        out.problems.push(format!("scanner: {e}"));
    }
    if uses_supply {
        if let Some(s) = rig.supply.as_mut() {
            let device = s.device().to_string();
            if let Err(e) = bounded(&device, s.check()).await {
                out.problems.push(format!("supply: {e}"));
            }
        }
    }
    out
}

/// The firmware a run wants its stations' printers to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware<'a> {
    /// Whatever they run (held to the station file's `firmware`, where it names one).
    AsTheyAre,
    /// Install this version on every station first (`rig run --firmware`).
    Install(&'a str),
    /// This version, installed only on a printer that does not report it already: a
    /// resumed run keeps the firmware it was started with.
    Keep(&'a str),
}

/// How long a printer is left without power after a firmware install, station seconds.
const POWER_OFF_S: f64 = 2.0;

/// Puts firmware `version` on the station's printer: its installer, then a power cycle
/// when the station switches the printer's power (else the link is reopened), the printer
/// back within its boot timeout.
async fn install(rig: &mut Rig, version: &str) -> Result<(), String> {
    let chain = |e: &crate::instrument::InstrumentError| crate::util::error_chain(e);
    let Some(installer) = rig.firmware.as_mut() else {
        return Err(format!(
            "firmware: cannot install {version}: the station file declares no [station.printer.firmware_install]"
        ));
    };
    installer
        .install(version)
        .await
        .map_err(|e| format!("firmware: {}", chain(&e)))?;
    let off = rig.wall(POWER_OFF_S);
    if let Some(p) = rig.power.as_mut() {
        p.set_output(false)
            .await
            .map_err(|e| format!("power: after installing {version}: {}", chain(&e)))?;
        tokio::time::sleep(off).await;
        p.set_output(true)
            .await
            .map_err(|e| format!("power: after installing {version}: {}", chain(&e)))?;
    }
    rig.printer
        .reconnect(rig.boot_timeout.max(CHECK_LIMIT))
        .await
        .map_err(|e| format!("printer: after installing {version}: {}", chain(&e)))
}

/// Stations built and checked: the simulations started for them (to stop at the end),
/// the stations ready to run (each with what the caller attached to it and what its
/// instruments said they are), and every problem found, one line each naming the station.
pub struct Prepared<'a, T> {
    pub sims: Vec<SimStation>,
    pub ready: Vec<(&'a Station, Rig, Preflight, T)>,
    pub problems: Vec<String>,
}

/// The version to install on the printer of `rig` first, if any: the one asked for, or
/// the one to keep when the printer does not report it already (or cannot say what it
/// runs).
async fn needs_install<'v>(rig: &mut Rig, firmware: Firmware<'v>) -> Option<&'v str> {
    let version = match firmware {
        Firmware::AsTheyAre => return None,
        Firmware::Install(v) => return Some(v),
        Firmware::Keep(v) => v,
    };
    let device = rig.printer.device().to_string();
    match bounded(&device, rig.printer.identify()).await {
        Ok(id) if id.firmware == version => {
            tracing::info!(
                %device,
                firmware = version,
                "the printer runs the firmware the run was started with"
            );
            None
        }
        Ok(id) => {
            tracing::info!(
                %device,
                reports = %id.firmware,
                firmware = version,
                "installing the firmware the run was started with"
            );
            Some(version)
        }
        Err(e) => {
            tracing::info!(
                %device,
                error = %e,
                firmware = version,
                "the printer does not say what it runs: installing the firmware the run was started with"
            );
            Some(version)
        }
    }
}

/// Starts (a simulated station's simulation, its working files under `dir`), builds and
/// checks every station of `wanted` (`(station, uses_supply, attached)`), first
/// installing the `firmware` asked for on each where it must be. The printer must then
/// report that firmware, or without one the firmware its station file names, if any.
pub async fn prepare<'a, T>(
    wanted: Vec<(&'a Station, bool, T)>,
    dir: &Path,
    firmware: Firmware<'_>,
) -> Prepared<'a, T> {
    let mut out = Prepared {
        sims: Vec::new(),
        ready: Vec::new(),
        problems: Vec::new(),
    };
    for (st, uses_supply, attached) in wanted {
        let sim = match assemble::start_sim(st, &dir.join(station_dir(&st.name))).await {
            Ok(sim) => sim,
            Err(e) => {
                out.problems.push(format!(
                    "station {}: {}",
                    st.name,
                    crate::util::error_chain(&e)
                ));
                continue;
            }
        };
        let wired = sim.as_ref().map(|s| s.wired(st));
        let built = assemble::build(wired.as_ref().unwrap_or(st));
        if let Some(s) = sim {
            out.sims.push(s);
        }
        match built {
            Ok(mut rig) => {
                if let Some(v) = needs_install(&mut rig, firmware).await {
                    if let Err(e) = install(&mut rig, v).await {
                        out.problems.push(format!("station {}: {e}", st.name));
                    }
                }
                let checked = check(&mut rig, uses_supply).await;
                out.problems.extend(
                    checked
                        .problems
                        .iter()
                        .map(|p| format!("station {}: {p}", st.name)),
                );
                let expected = match (firmware, st.printer.firmware.as_deref()) {
                    (Firmware::Install(v), _) => Some((v, "--firmware asked for")),
                    (Firmware::Keep(v), _) => Some((v, "the run was started with --firmware")),
                    (Firmware::AsTheyAre, Some(v)) => Some((v, "its station file names")),
                    (Firmware::AsTheyAre, None) => None,
                };
                if let (Some(id), Some((want, from))) = (&checked.identity, expected) {
                    if id.firmware != want {
                        out.problems.push(format!(
                            "station {}: printer: {} reports firmware {}, {from} {want}",
                            st.name,
                            rig.printer.device(),
                            id.firmware
                        ));
                    }
                }
                out.ready.push((st, rig, checked, attached));
            }
            Err(built) => out.problems.extend(built.iter().map(|(kind, e)| {
                format!(
                    "station {}: {kind}: {}",
                    st.name,
                    crate::util::error_chain(e)
                )
            })),
        }
    }
    out
}

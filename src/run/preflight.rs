//! Pre-flight: before any case prints, every station's instruments prove they answer —
//! the printer's link opens and it says who it is, SCPI instruments answer `*IDN?`, the
//! scanner's folder or device is there, station programs can be started — so wrong
//! hardware is found in seconds, not case by case.
//!
//! Owns: which instrument of a built station is checked and how long each may take. Must
//! not: print, move a stress, or write anything (the run decides what a problem means).

use super::case::Rig;
use crate::instrument::printer::PrinterIdentity;
use std::future::Future;
use std::time::Duration;

/// The longest any one instrument may take to answer in pre-flight.
pub const CHECK_LIMIT: Duration = Duration::from_secs(15);

/// What a station's pre-flight found: the printer's identity when it answered, and one
/// line per problem naming the device.
#[derive(Debug, Default)]
pub struct Preflight {
    pub identity: Option<PrinterIdentity>,
    pub problems: Vec<String>,
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
        if let Err(e) = bounded(&device, p.identify()).await {
            out.problems.push(format!("power: {e}"));
        }
    }
    if let Some(c) = rig.chamber.as_mut() {
        let device = c.device().to_string();
        if let Err(e) = bounded(&device, c.check()).await {
            out.problems.push(format!("chamber: {e}"));
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

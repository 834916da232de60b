//! The `[station.chamber]` table: the climate chamber around the printer (none, SCPI
//! with command templates, exec commands, or the simulated chamber).
//!
//! Owns [`ChamberSpec`] and its reader. It must not drive a chamber or know the
//! simulated chamber's range.

use super::fields::{bounded, command, positive, scpi_address, template};
use super::{instrument_kind, Absent};
use crate::link::Endpoint;
use crate::plan::read::{Diag, Tab};
use serde::{Deserialize, Serialize};

/// The SCPI chamber's set-point command unless the station file gives one.
pub const SCPI_SET_COMMAND: &str = "TEMP:SPO {celsius}";
/// The SCPI chamber's temperature query unless the station file gives one.
pub const SCPI_READ_COMMAND: &str = "TEMP?";

/// The climate chamber around the printer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChamberSpec {
    None,
    Scpi {
        address: Endpoint,
        /// Template with `{celsius}`.
        set_command: String,
        read_command: String,
        /// Teardown setpoint, °C.
        ambient: f64,
    },
    Exec {
        /// argv with `{celsius}`.
        set: Vec<String>,
        /// argv; prints the temperature in °C.
        read: Vec<String>,
        ambient: f64,
        timeout_s: f64,
    },
    /// The simulated chamber (its ambient and lag are declared in `[station.sim]`).
    Sim,
}

impl ChamberSpec {
    /// The set point teardown restores, when the station file gives one (a simulated
    /// chamber's room is the simulator's).
    pub fn ambient(&self) -> Option<f64> {
        match self {
            ChamberSpec::Scpi { ambient, .. } | ChamberSpec::Exec { ambient, .. } => Some(*ambient),
            ChamberSpec::None | ChamberSpec::Sim => None,
        }
    }
}

impl Absent for ChamberSpec {
    fn absent(sim: bool) -> Self {
        if sim {
            ChamberSpec::Sim
        } else {
            ChamberSpec::None
        }
    }
}

pub(super) fn read_chamber(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<ChamberSpec> {
    let Some(kind) = instrument_kind(d, &mut t, sim, &["none", "scpi", "exec"], &["none", "sim"])
    else {
        t.silence();
        return None;
    };
    let spec = (|| match kind.as_str() {
        "none" => Some(ChamberSpec::None),
        "scpi" => {
            let address = scpi_address(d, &mut t);
            let set_command = template(d, &mut t, "set_command", SCPI_SET_COMMAND, &["celsius"]);
            let read_command = template(d, &mut t, "read_command", SCPI_READ_COMMAND, &[]);
            let ambient = bounded(d, &mut t, "ambient", 23.0, -100.0, 200.0);
            Some(ChamberSpec::Scpi {
                address: address?,
                set_command: set_command?,
                read_command: read_command?,
                ambient,
            })
        }
        "exec" => {
            let set = command(d, &mut t, "set", true, &["celsius"], &["celsius"]);
            let read = command(d, &mut t, "read", true, &[], &[]);
            let ambient = bounded(d, &mut t, "ambient", 23.0, -100.0, 200.0);
            let timeout_s = positive(d, &mut t, "timeout_s", 10.0, 86_400.0);
            Some(ChamberSpec::Exec {
                set: set?,
                read: read?,
                ambient,
                timeout_s,
            })
        }
        _ => Some(ChamberSpec::Sim),
    })();
    t.finish(d);
    spec
}

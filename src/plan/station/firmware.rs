//! The `[station.printer.firmware_install]` table: how `rig run --firmware VERSION` puts a
//! firmware version on the station's printer (the lab's flash tool; a simulated station
//! installs through its control port and declares nothing).
//!
//! Owns [`FirmwareInstallSpec`] and its reader. It must not install anything.

use super::fields::{command, positive};
use crate::link::Endpoint;
use crate::plan::read::{Diag, Tab};
use serde::{Deserialize, Serialize};

/// How a firmware version is installed on the printer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FirmwareInstallSpec {
    /// argv with `{version}` and optionally `{port}` (the printer's link), run without a
    /// shell, bounded by `timeout_s`.
    Exec { exec: Vec<String>, timeout_s: f64 },
    /// A simulated station: its firmware images, through its control port.
    Sim,
    /// A running simulated station's control port (what `Sim` becomes once the station is
    /// started; never read from a file).
    SimControl { address: Endpoint },
}

pub(super) fn read_firmware_install(
    d: &mut Diag<'_>,
    mut t: Tab<'_, '_>,
) -> Option<FirmwareInstallSpec> {
    let exec = command(d, &mut t, "exec", true, &["version", "port"], &["version"]);
    let timeout_s = positive(d, &mut t, "timeout_s", 600.0, 86_400.0);
    t.finish(d);
    Some(FirmwareInstallSpec::Exec {
        exec: exec?,
        timeout_s,
    })
}

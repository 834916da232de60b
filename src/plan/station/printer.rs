//! The `[station.printer]` table: the head's width and resolution, how the rig reaches
//! the printer and how long it waits for it.
//!
//! Owns [`PrinterSpec`], [`PrinterLink`] and their reader. It must not open the link
//! (`instrument::printer` does).

use super::fields::{positive, read_endpoint};
use super::firmware::{read_firmware_install, FirmwareInstallSpec};
use crate::link::Endpoint;
use crate::pattern::check_dots;
use crate::plan::read::{Diag, Tab};
use serde::{Deserialize, Serialize};

/// Default port of a printer's raw TCP socket.
pub const PRINTER_TCP_PORT: u16 = 9100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrinterSpec {
    /// Head width in dots: a multiple of 8 from 256 to 2048.
    pub dots: u32,
    /// Dots per inch along and across the feed (default 203.2).
    pub dpi: f64,
    pub link: PrinterLink,
    /// The firmware the printer runs: a real printer must report it (GS I 65) before a
    /// run prints; a simulated one starts on it.
    pub firmware: Option<String>,
    /// How `rig run --firmware` installs a version (a simulated station: always, through
    /// its control port).
    #[serde(default)]
    pub firmware_install: Option<FirmwareInstallSpec>,
    /// How long to wait for a band's acknowledgement, seconds (default 30).
    pub ack_timeout_s: f64,
    /// How long to wait for the printer after power returns, seconds (default 30).
    pub boot_timeout_s: f64,
}

/// How the rig reaches the printer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterLink {
    /// Sim stations: a pseudo-terminal the rig creates.
    SimPty,
    /// Sim stations: a loopback TCP port the rig picks.
    SimTcp,
    /// Real stations: serial, TCP (port 9100 by default) or a device file.
    Real(Endpoint),
}

pub(super) fn read_printer(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<PrinterSpec> {
    let dots = t
        .req(d, "dots", Diag::uint)
        .and_then(|x| match check_dots(x.v) {
            Ok(()) => Some(x.v),
            Err(e) => {
                d.at(&x.span, format!("station.printer.dots: {e}"));
                None
            }
        });
    let dpi = positive(d, &mut t, "dpi", crate::DOT_DPI, 1200.0);
    let link = match t.get("link") {
        Some((_, v)) => d
            .table(v, "station.printer.link")
            .and_then(|lt| read_printer_link(d, lt, sim)),
        None => {
            t.req(d, "link", Diag::string);
            None
        }
    };
    let firmware = t.opt(d, "firmware", Diag::string);
    let firmware_install = match t.get("firmware_install") {
        Some((k, _)) if sim => {
            d.at(
                &k,
                "station.printer.firmware_install: a simulated station installs its firmware images through its control port ([[station.sim.firmware]])",
            );
            None
        }
        Some((_, v)) => d
            .table(v, "station.printer.firmware_install")
            .and_then(|ft| read_firmware_install(d, ft)),
        None => None,
    };
    let firmware_install = if sim {
        Some(FirmwareInstallSpec::Sim)
    } else {
        firmware_install
    };
    let ack_timeout_s = positive(d, &mut t, "ack_timeout_s", 30.0, 86_400.0);
    let boot_timeout_s = positive(d, &mut t, "boot_timeout_s", 30.0, 86_400.0);
    t.finish(d);
    Some(PrinterSpec {
        dots: dots?,
        dpi,
        link: link?,
        firmware: firmware.map(|f| f.v),
        firmware_install,
        ack_timeout_s,
        boot_timeout_s,
    })
}

fn read_printer_link(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<PrinterLink> {
    if sim {
        let kind = t.req(d, "kind", Diag::string)?;
        let link = match kind.v.as_str() {
            "pty" => Some(PrinterLink::SimPty),
            "tcp" => Some(PrinterLink::SimTcp),
            other => {
                d.at(
                    &kind.span,
                    format!(
                        "station.printer.link.kind: a simulated printer is reached over \"pty\" or \"tcp\" (the rig picks the address), not \"{other}\""
                    ),
                );
                t.silence();
                None
            }
        };
        t.finish(d);
        link
    } else {
        read_endpoint(d, t, &["serial", "tcp", "device"], Some(PRINTER_TCP_PORT))
            .map(PrinterLink::Real)
    }
}

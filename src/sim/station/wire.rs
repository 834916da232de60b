//! Between a station file and a running simulated station: the spec a sim station's
//! declaration starts, and the station as the rig's ordinary drivers then see it, every
//! simulated instrument replaced by the real protocol's table aimed at this station's
//! loopback servers (SCPI for the supply and chamber, a hot folder for the flatbed, the
//! printer on TCP or its pty).
//!
//! Owns that translation only: it starts nothing and drives nothing.

use super::{SimStation, SimStationSpec};
use crate::link::{Endpoint, Flow};
use crate::plan::{
    ChamberSpec, FirmwareInstallSpec, PowerSpec, PrinterLink, ScannerSpec, Station, SupplySpec,
    SCPI_READ_COMMAND, SCPI_SET_COMMAND,
};
use crate::sim::config::SimConfig;
use std::path::Path;

/// How long the flatbed's file must stay unchanged to count as written, seconds.
const SCAN_SETTLE_S: f64 = 0.15;
/// How long a scan may take to appear, seconds.
const SCAN_TIMEOUT_S: f64 = 60.0;
/// The line rate the rig opens the simulated printer's pty at (a pty ignores it).
const PTY_BAUD: u32 = 115_200;

impl SimStationSpec {
    /// The spec that simulates `st` as configured, its scans and pty link under `dir`.
    pub fn for_station(st: &Station, config: SimConfig, dir: &Path) -> SimStationSpec {
        SimStationSpec {
            name: st.name.clone(),
            dots: st.printer.dots,
            model: st.model.clone(),
            printer_tcp: matches!(st.printer.link, PrinterLink::SimTcp),
            printer_port: None,
            printer_pty: matches!(st.printer.link, PrinterLink::SimPty),
            scan_dir: dir.join("scans"),
            pty_link: Some(dir.join("printer.tty")),
            config,
        }
    }
}

fn loopback(port: u16) -> Endpoint {
    Endpoint::Tcp {
        host: "127.0.0.1".into(),
        port,
    }
}

impl SimStation {
    /// `declared` as the rig's drivers reach this running station: each simulated
    /// instrument becomes the real protocol's table at this station's address; anything
    /// else is left as declared.
    pub fn wired(&self, declared: &Station) -> Station {
        let mut st = declared.clone();
        let config = &self.spec().config;
        st.printer.link = match &declared.printer.link {
            PrinterLink::SimTcp => match self.printer_tcp() {
                Some(addr) => PrinterLink::Real(loopback(addr.port())),
                None => PrinterLink::SimTcp,
            },
            PrinterLink::SimPty => PrinterLink::Real(Endpoint::Serial {
                path: self.spec().pty_link_path(),
                baud: PTY_BAUD,
                flow: Flow::None,
            }),
            real => real.clone(),
        };
        if let PowerSpec::Sim { .. } = declared.power {
            st.power = PowerSpec::Scpi {
                address: loopback(self.psu().port()),
                channel: None,
                nominal_voltage: config.nominal_voltage,
            };
        }
        if let ChamberSpec::Sim = declared.chamber {
            st.chamber = ChamberSpec::Scpi {
                address: loopback(self.chamber().port()),
                set_command: SCPI_SET_COMMAND.into(),
                read_command: SCPI_READ_COMMAND.into(),
                ambient: config.ambient_c,
            };
        }
        if let ScannerSpec::Sim { .. } = declared.scanner {
            st.scanner = ScannerSpec::Hotfolder {
                dir: self.scan_dir().to_path_buf(),
                settle_s: SCAN_SETTLE_S,
                timeout_s: SCAN_TIMEOUT_S,
            };
        }
        if let Some(FirmwareInstallSpec::Sim) = declared.printer.firmware_install {
            st.printer.firmware_install = Some(FirmwareInstallSpec::SimControl {
                address: loopback(self.control().port()),
            });
        }
        if let SupplySpec::Sim = declared.supply {
            st.supply = SupplySpec::SimControl {
                address: loopback(self.control().port()),
            };
        }
        st.envelope.time_scale = config.time_scale;
        st
    }
}

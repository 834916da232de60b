//! Firmware installers: put a given firmware version on a station's printer before a run
//! (`rig run --firmware`): the lab's flash tool (`exec`), or the simulated station's
//! control port.
//!
//! Owns the [`FirmwareInstaller`] kind and the one place that builds it from a station's
//! `[station.printer.firmware_install]`. Must not power-cycle the printer or read its
//! identity afterwards (the run does both).

pub mod exec;
pub mod sim;

pub use exec::ExecFirmware;
pub use sim::SimFirmware;

use super::{not_running, secs, Result};
use crate::plan::FirmwareInstallSpec;
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
pub trait FirmwareInstaller: Send {
    fn device(&self) -> &str;
    /// Installs `version` on the printer; returns when the installer says it is done.
    async fn install(&mut self, version: &str) -> Result<()>;
}

/// The installer a station declares; `None` when it declares none.
pub fn build(
    name: &str,
    spec: Option<&FirmwareInstallSpec>,
    port: &str,
    io_timeout: Duration,
) -> Result<Option<Box<dyn FirmwareInstaller>>> {
    let device = format!("{name} firmware installer");
    Ok(match spec {
        None => None,
        Some(FirmwareInstallSpec::Exec { exec, timeout_s }) => Some(Box::new(ExecFirmware::new(
            &device,
            exec.clone(),
            port,
            secs(*timeout_s),
        ))),
        Some(FirmwareInstallSpec::SimControl { address }) => Some(Box::new(SimFirmware::new(
            &device,
            address.clone(),
            io_timeout,
        ))),
        Some(FirmwareInstallSpec::Sim) => return Err(not_running(&device)),
    })
}

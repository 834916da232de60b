//! Firmware installed by the lab's own flash tool: one argv with `{version}` and
//! optionally `{port}` (the printer's link: a serial device, `host:port`, a device file),
//! bounded by its timeout.
//!
//! Owns: substituting the placeholders and running the argv. Must not: use a shell.

use super::FirmwareInstaller;
use crate::instrument::{exec, Result};
use async_trait::async_trait;
use std::time::Duration;
use tracing::info;

/// Firmware installed by a command.
pub struct ExecFirmware {
    device: String,
    argv: Vec<String>,
    port: String,
    timeout: Duration,
}

impl ExecFirmware {
    pub fn new(name: &str, argv: Vec<String>, port: &str, timeout: Duration) -> Self {
        ExecFirmware {
            device: format!("{name} (exec)"),
            argv,
            port: port.to_string(),
            timeout,
        }
    }
}

#[async_trait]
impl FirmwareInstaller for ExecFirmware {
    fn device(&self) -> &str {
        &self.device
    }

    async fn install(&mut self, version: &str) -> Result<()> {
        info!(device = %self.device, version, "installing firmware");
        exec::run(
            &self.device,
            &format!("install firmware {version}"),
            &self.argv,
            &[
                ("version", version.to_string()),
                ("port", self.port.clone()),
            ],
            self.timeout,
        )
        .await
        .map(|_| ())
    }
}

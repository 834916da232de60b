//! Firmware installed on the simulated station through its control port:
//! `FIRMWARE <version>`, answered `OK` or `ERR <message>` (a version the station has no
//! image of is refused, naming those it has).
//!
//! Owns: the command. Must not: simulate anything.

use super::FirmwareInstaller;
use crate::instrument::scpi::ScpiClient;
use crate::instrument::Result;
use crate::link::Endpoint;
use async_trait::async_trait;
use std::time::Duration;
use tracing::info;

/// The simulated station's firmware images.
pub struct SimFirmware {
    client: ScpiClient,
}

impl SimFirmware {
    /// The control port at `endpoint`; `timeout` bounds the command.
    pub fn new(name: &str, endpoint: Endpoint, timeout: Duration) -> Self {
        SimFirmware {
            client: ScpiClient::new(name, endpoint, timeout),
        }
    }
}

#[async_trait]
impl FirmwareInstaller for SimFirmware {
    fn device(&self) -> &str {
        self.client.device()
    }

    async fn install(&mut self, version: &str) -> Result<()> {
        info!(device = %self.client.device(), version, "installing simulated firmware");
        self.client.command_ok(&format!("FIRMWARE {version}")).await
    }
}

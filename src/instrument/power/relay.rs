//! A relay board on a serial port that switches the printer's supply: it takes a line
//! (`"ON"`/`"OFF"`, or what the station file says) ended by `"\r\n"`, and answers nothing.
//!
//! Owns: the relay's on/off strings. Must not: pretend to set or measure a voltage (it
//! cannot: `set_voltage` is `Unsupported`, `measure` is `None`).

use super::{Power, VoltageControl};
use crate::instrument::scpi::ScpiClient;
use crate::instrument::Result;
use crate::link::Endpoint;
use async_trait::async_trait;
use std::time::Duration;
use tracing::info;

/// A serial relay that switches the supply on and off.
pub struct RelayPower {
    client: ScpiClient,
    on: String,
    off: String,
}

impl RelayPower {
    /// A relay at `endpoint` (a serial port, or any link) that switches on when sent `on`
    /// and off when sent `off` (each followed by `"\r\n"`).
    pub fn new(name: &str, endpoint: Endpoint, on: &str, off: &str, timeout: Duration) -> Self {
        RelayPower {
            client: ScpiClient::new(name, endpoint, timeout).with_terminator("\r\n"),
            on: on.to_string(),
            off: off.to_string(),
        }
    }
}

#[async_trait]
impl Power for RelayPower {
    fn device(&self) -> &str {
        self.client.device()
    }

    /// A relay has no identity to ask for: this opens the port (so a missing port shows
    /// up here) and describes the relay.
    async fn identify(&mut self) -> Result<String> {
        self.client.connect().await?;
        Ok(format!("relay at {}", self.client.endpoint()))
    }

    async fn set_output(&mut self, on: bool) -> Result<()> {
        let line = if on { &self.on } else { &self.off };
        info!(device = %self.client.device(), on, line = %line, "switching relay");
        self.client.send(line).await
    }

    async fn measure(&mut self) -> Result<Option<(f64, f64)>> {
        Ok(None)
    }

    /// A relay only switches.
    fn voltage(&mut self) -> Option<&mut dyn VoltageControl> {
        None
    }
}

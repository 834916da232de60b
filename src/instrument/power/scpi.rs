//! A SCPI bench supply (raw socket on port 5025, or a serial port): `*IDN?`, `VOLT`,
//! `OUTP ON|OFF`, `MEAS:VOLT?`, `MEAS:CURR?`, with `INST:NSEL` first on a multi-channel
//! supply.
//!
//! Owns: the SCPI commands of a PSU and checking `SYST:ERR?` after every setting. Must
//! not: decide voltages or timing (the runner does), or open links itself (the
//! [`ScpiClient`] does).

use super::{Power, VoltageControl};
use crate::instrument::scpi::ScpiClient;
use crate::instrument::{InstrumentError, Result};
use crate::link::Endpoint;
use async_trait::async_trait;
use std::time::Duration;
use tracing::info;

/// A SCPI power supply.
pub struct ScpiPower {
    client: ScpiClient,
    channel: Option<u32>,
}

impl ScpiPower {
    /// A supply at `endpoint`, known as `"<name> (<endpoint>)"`; `timeout` bounds each
    /// command.
    pub fn new(name: &str, endpoint: Endpoint, timeout: Duration) -> Self {
        Self::from_client(ScpiClient::new(name, endpoint, timeout))
    }

    /// A supply over an existing client.
    pub fn from_client(client: ScpiClient) -> Self {
        ScpiPower {
            client,
            channel: None,
        }
    }

    /// Selects `channel` (`INST:NSEL <channel>`) before every setting and measurement.
    pub fn with_channel(mut self, channel: u32) -> Self {
        self.channel = Some(channel);
        self
    }

    pub fn channel(&self) -> Option<u32> {
        self.channel
    }

    /// The client, for commands this driver does not know.
    pub fn client(&mut self) -> &mut ScpiClient {
        &mut self.client
    }

    fn with_select(&self, cmd: String) -> Vec<String> {
        match self.channel {
            Some(ch) => vec![format!("INST:NSEL {ch}"), cmd],
            None => vec![cmd],
        }
    }
}

#[async_trait]
impl Power for ScpiPower {
    fn device(&self) -> &str {
        self.client.device()
    }

    async fn identify(&mut self) -> Result<String> {
        self.client.query("*IDN?").await
    }

    async fn set_output(&mut self, on: bool) -> Result<()> {
        info!(device = %self.client.device(), on, "switching output");
        let cmds = self.with_select(format!("OUTP {}", if on { "ON" } else { "OFF" }));
        self.client.send_checked(&cmds).await
    }

    async fn measure(&mut self) -> Result<Option<(f64, f64)>> {
        if let Some(ch) = self.channel {
            self.client.send(&format!("INST:NSEL {ch}")).await?;
        }
        let volts = self.client.query_f64("MEAS:VOLT?").await?;
        let amps = self.client.query_f64("MEAS:CURR?").await?;
        Ok(Some((volts, amps)))
    }

    fn voltage(&mut self) -> Option<&mut dyn VoltageControl> {
        Some(self)
    }
}

#[async_trait]
impl VoltageControl for ScpiPower {
    async fn set_voltage(&mut self, volts: f64) -> Result<()> {
        if !volts.is_finite() || volts < 0.0 {
            return Err(InstrumentError::Io {
                device: self.client.device().to_string(),
                detail: format!("refusing to set an invalid voltage ({volts} V)"),
            });
        }
        info!(device = %self.client.device(), volts, "setting voltage");
        let cmds = self.with_select(format!("VOLT {volts}"));
        self.client.send_checked(&cmds).await
    }
}

//! The simulated station's consumables, set over its control port: a line protocol on
//! loopback TCP where `INK <level>` or `PAPER <level>` is answered `OK` or `ERR <message>`.
//!
//! Owns: the two commands and reading their answer. Must not: simulate anything (the
//! simulated station does) or open links itself (the [`ScpiClient`] does).

use super::{Consumable, Supply};
use crate::instrument::scpi::ScpiClient;
use crate::instrument::{InstrumentError, Result};
use crate::link::Endpoint;
use async_trait::async_trait;
use std::time::Duration;
use tracing::info;

/// The simulated station's ink and paper.
pub struct SimSupply {
    client: ScpiClient,
}

impl SimSupply {
    /// The control port at `endpoint`; `timeout` bounds each command.
    pub fn new(name: &str, endpoint: Endpoint, timeout: Duration) -> Self {
        SimSupply {
            client: ScpiClient::new(name, endpoint, timeout),
        }
    }

    /// The control port on `127.0.0.1:<port>`.
    pub fn loopback(name: &str, port: u16, timeout: Duration) -> Self {
        Self::new(
            name,
            Endpoint::Tcp {
                host: "127.0.0.1".to_string(),
                port,
            },
            timeout,
        )
    }
}

#[async_trait]
impl Supply for SimSupply {
    fn device(&self) -> &str {
        self.client.device()
    }

    async fn check(&mut self) -> Result<String> {
        self.client.connect().await?;
        Ok(format!("control port {}", self.client.endpoint()))
    }

    async fn set_level(&mut self, what: Consumable, level: f64) -> Result<()> {
        if !level.is_finite() {
            return Err(InstrumentError::Io {
                device: self.client.device().to_string(),
                detail: format!("refusing to set {} to {level}", what.name()),
            });
        }
        let cmd = match what {
            Consumable::Ink => format!("INK {level}"),
            Consumable::Paper => format!("PAPER {level}"),
        };
        info!(device = %self.client.device(), command = %cmd, "setting simulated consumable");
        self.client.command_ok(&cmd).await
    }
}

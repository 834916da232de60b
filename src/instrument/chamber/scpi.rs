//! A climate chamber controller on a line protocol (SCPI-like, TCP or serial) whose
//! commands differ from vendor to vendor: the station file gives a set template with
//! `{celsius}` (default `TEMP:SPO {celsius}`) and a read query (default `TEMP?`).
//!
//! Owns: filling in the templates and parsing the reading; optionally checking
//! `SYST:ERR?` after a set. Must not: wait for the temperature to settle (that is
//! [`super::soak::soak`]) or open links itself (the [`ScpiClient`] does).

use super::Chamber;
use crate::instrument::scpi::ScpiClient;
use crate::instrument::{InstrumentError, Result};
use crate::link::Endpoint;
use async_trait::async_trait;
use std::time::Duration;
use tracing::info;

/// The default set-point command.
pub const DEFAULT_SET: &str = "TEMP:SPO {celsius}";
/// The default temperature query.
pub const DEFAULT_READ: &str = "TEMP?";

/// A chamber spoken to with command templates.
pub struct ScpiChamber {
    client: ScpiClient,
    set_template: String,
    read_command: String,
    check_errors: bool,
}

impl ScpiChamber {
    /// A chamber at `endpoint` with the default commands and no `SYST:ERR?` check.
    pub fn new(name: &str, endpoint: Endpoint, timeout: Duration) -> Self {
        Self::from_client(ScpiClient::new(name, endpoint, timeout))
    }

    /// A chamber over an existing client, with the default commands.
    pub fn from_client(client: ScpiClient) -> Self {
        ScpiChamber {
            client,
            set_template: DEFAULT_SET.to_string(),
            read_command: DEFAULT_READ.to_string(),
            check_errors: false,
        }
    }

    /// Uses `set` (with `{celsius}` in it) to set the point and the query `read` to read
    /// the temperature.
    pub fn with_commands(mut self, set: &str, read: &str) -> Self {
        self.set_template = set.to_string();
        self.read_command = read.to_string();
        self
    }

    /// Reads `SYST:ERR?` after every set (for controllers that speak full SCPI).
    pub fn with_error_check(mut self, check: bool) -> Self {
        self.check_errors = check;
        self
    }

    /// The client, for commands this driver does not know.
    pub fn client(&mut self) -> &mut ScpiClient {
        &mut self.client
    }
}

#[async_trait]
impl Chamber for ScpiChamber {
    fn device(&self) -> &str {
        self.client.device()
    }

    async fn check(&mut self) -> Result<String> {
        self.client.query("*IDN?").await
    }

    async fn set_point(&mut self, celsius: f64) -> Result<()> {
        if !celsius.is_finite() {
            return Err(InstrumentError::Io {
                device: self.client.device().to_string(),
                detail: format!("refusing to set an invalid set point ({celsius} °C)"),
            });
        }
        let cmd = self.set_template.replace("{celsius}", &celsius.to_string());
        info!(device = %self.client.device(), celsius, command = %cmd, "setting chamber set point");
        if self.check_errors {
            self.client.send_checked(&[cmd]).await
        } else {
            self.client.send(&cmd).await
        }
    }

    async fn temperature(&mut self) -> Result<f64> {
        let read = self.read_command.clone();
        self.client.query_f64(&read).await
    }
}

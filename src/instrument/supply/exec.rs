//! Consumables changed by the station's own command (a feeder robot's CLI, a lab script):
//! one argv with `{what}` (`ink`, `paper`) and `{level}` (0 = empty … 1 = full).
//!
//! Owns: substituting the placeholders and running the argv. Must not: use a shell.

use super::{Consumable, Supply};
use crate::instrument::exec;
use crate::instrument::{InstrumentError, Result};
use async_trait::async_trait;
use std::time::Duration;
use tracing::info;

/// Consumables changed by a command.
pub struct ExecSupply {
    device: String,
    set: Vec<String>,
    timeout: Duration,
}

impl ExecSupply {
    /// Runs `set` (with `{what}` and `{level}`), bounded by `timeout`.
    pub fn new(name: &str, set: Vec<String>, timeout: Duration) -> Self {
        ExecSupply {
            device: format!("{name} (exec)"),
            set,
            timeout,
        }
    }
}

#[async_trait]
impl Supply for ExecSupply {
    fn device(&self) -> &str {
        &self.device
    }

    async fn check(&mut self) -> Result<String> {
        exec::find_program(&self.device, "set a consumable level", &self.set)?;
        Ok(format!("exec supply `{}`", self.set.join(" ")))
    }

    async fn set_level(&mut self, what: Consumable, level: f64) -> Result<()> {
        if !level.is_finite() {
            return Err(InstrumentError::Io {
                device: self.device.clone(),
                detail: format!("refusing to set {} to {level}", what.name()),
            });
        }
        info!(device = %self.device, what = what.name(), level, "setting consumable level");
        exec::run(
            &self.device,
            &format!("set the {} level", what.name()),
            &self.set,
            &[
                ("what", what.name().to_string()),
                ("level", level.to_string()),
            ],
            self.timeout,
        )
        .await
        .map(|_| ())
    }
}

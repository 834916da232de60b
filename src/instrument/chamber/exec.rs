//! A chamber driven by the station's own commands: a set argv with `{celsius}` in it and a
//! read argv whose standard output is the temperature.
//!
//! Owns: which argv runs and parsing the reading. Must not: use a shell or wait for the
//! temperature to settle.

use super::Chamber;
use crate::instrument::exec;
use crate::instrument::{InstrumentError, Result};
use async_trait::async_trait;
use std::time::Duration;
use tracing::{debug, info};

/// A chamber driven by commands.
pub struct ExecChamber {
    device: String,
    set: Vec<String>,
    read: Vec<String>,
    timeout: Duration,
}

impl ExecChamber {
    /// Runs `set` (with `{celsius}`) to set the point and `read` to read the temperature;
    /// each run is bounded by `timeout`.
    pub fn new(name: &str, set: Vec<String>, read: Vec<String>, timeout: Duration) -> Self {
        ExecChamber {
            device: format!("{name} (exec)"),
            set,
            read,
            timeout,
        }
    }
}

#[async_trait]
impl Chamber for ExecChamber {
    fn device(&self) -> &str {
        &self.device
    }

    async fn check(&mut self) -> Result<String> {
        let what = "set the chamber temperature";
        crate::instrument::exec::find_program(&self.device, what, &self.set)?;
        let t = self.temperature().await?;
        Ok(format!("exec chamber reading {t:.1} °C"))
    }

    async fn set_point(&mut self, celsius: f64) -> Result<()> {
        if !celsius.is_finite() {
            return Err(InstrumentError::Io {
                device: self.device.clone(),
                detail: format!("refusing to set an invalid set point ({celsius} °C)"),
            });
        }
        info!(device = %self.device, celsius, "setting chamber set point");
        exec::run(
            &self.device,
            "set the chamber temperature",
            &self.set,
            &[("celsius", celsius.to_string())],
            self.timeout,
        )
        .await
        .map(|_| ())
    }

    async fn temperature(&mut self) -> Result<f64> {
        let what = "read the chamber temperature";
        let out = exec::run(&self.device, what, &self.read, &[], self.timeout).await?;
        let t = exec::parse_number(&self.device, what, &out)?;
        debug!(device = %self.device, celsius = t, "chamber temperature");
        Ok(t)
    }
}

//! Power switched by the station's own commands (a smart plug's CLI, a lab script): one
//! argv to switch on, one to switch off, and optionally one to set the voltage with
//! `{volts}` in it.
//!
//! Owns: which argv runs for which action. Must not: use a shell, or measure (an `exec`
//! supply reports no measurement).

use super::{Power, VoltageControl};
use crate::instrument::exec;
use crate::instrument::{InstrumentError, Result};
use async_trait::async_trait;
use std::time::Duration;
use tracing::info;

/// A supply driven by commands.
pub struct ExecPower {
    device: String,
    on: Vec<String>,
    off: Vec<String>,
    set_voltage: Option<Vec<String>>,
    timeout: Duration,
}

impl ExecPower {
    /// Runs `on` / `off` to switch the output; each run is bounded by `timeout`.
    pub fn new(name: &str, on: Vec<String>, off: Vec<String>, timeout: Duration) -> Self {
        ExecPower {
            device: format!("{name} (exec)"),
            on,
            off,
            set_voltage: None,
            timeout,
        }
    }

    /// Runs `argv` (with `{volts}` substituted) to set the voltage; without it,
    /// `set_voltage` is `Unsupported`.
    pub fn with_set_voltage(mut self, argv: Vec<String>) -> Self {
        self.set_voltage = Some(argv);
        self
    }
}

#[async_trait]
impl Power for ExecPower {
    fn device(&self) -> &str {
        &self.device
    }

    async fn identify(&mut self) -> Result<String> {
        crate::instrument::exec::find_program(&self.device, "switch on", &self.on)?;
        crate::instrument::exec::find_program(&self.device, "switch off", &self.off)?;
        if let Some(set) = &self.set_voltage {
            crate::instrument::exec::find_program(&self.device, "set the voltage", set)?;
        }
        Ok(format!(
            "exec power: on `{}`, off `{}`",
            self.on.join(" "),
            self.off.join(" ")
        ))
    }

    async fn set_output(&mut self, on: bool) -> Result<()> {
        info!(device = %self.device, on, "switching output");
        let (argv, what) = if on {
            (&self.on, "switch on")
        } else {
            (&self.off, "switch off")
        };
        exec::run(&self.device, what, argv, &[], self.timeout)
            .await
            .map(|_| ())
    }

    async fn measure(&mut self) -> Result<Option<(f64, f64)>> {
        Ok(None)
    }

    /// Only with a `set_voltage` command.
    fn voltage(&mut self) -> Option<&mut dyn VoltageControl> {
        if self.set_voltage.is_some() {
            Some(self)
        } else {
            None
        }
    }
}

#[async_trait]
impl VoltageControl for ExecPower {
    async fn set_voltage(&mut self, volts: f64) -> Result<()> {
        let Some(argv) = &self.set_voltage else {
            return Err(InstrumentError::Unsupported {
                device: self.device.clone(),
                what: "set a voltage (no set_voltage command configured)".to_string(),
            });
        };
        if !volts.is_finite() || volts < 0.0 {
            return Err(InstrumentError::Io {
                device: self.device.clone(),
                detail: format!("refusing to set an invalid voltage ({volts} V)"),
            });
        }
        info!(device = %self.device, volts, "setting voltage");
        exec::run(
            &self.device,
            "set the voltage",
            argv,
            &[("volts", volts.to_string())],
            self.timeout,
        )
        .await
        .map(|_| ())
    }
}

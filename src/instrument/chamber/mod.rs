//! Chambers: set a temperature and read it back (SCPI with command templates, `exec`),
//! and the one place that turns a station's `[station.chamber]` table into a driver
//! ([`build`]).

pub mod exec;
pub mod scpi;
pub mod soak;

pub use exec::ExecChamber;
pub use scpi::ScpiChamber;
pub use soak::{soak, SoakReport};

use super::{not_running, secs, Result};
use crate::plan::ChamberSpec;
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
pub trait Chamber: Send {
    fn device(&self) -> &str;
    /// Proves the chamber answers, before a run starts (pre-flight): its identity, or
    /// what it reads.
    async fn check(&mut self) -> Result<String>;
    async fn set_point(&mut self, celsius: f64) -> Result<()>;
    async fn temperature(&mut self) -> Result<f64>;
}

/// The driver for a station's chamber table (`None` for `kind = "none"`).
pub fn build(
    name: &str,
    spec: &ChamberSpec,
    io_timeout: Duration,
) -> Result<Option<Box<dyn Chamber>>> {
    let device = format!("{name} chamber");
    Ok(match spec {
        ChamberSpec::None => None,
        ChamberSpec::Scpi {
            address,
            set_command,
            read_command,
            ..
        } => Some(Box::new(
            ScpiChamber::new(&device, address.clone(), io_timeout)
                .with_commands(set_command, read_command),
        )),
        ChamberSpec::Exec {
            set,
            read,
            timeout_s,
            ..
        } => Some(Box::new(ExecChamber::new(
            &device,
            set.clone(),
            read.clone(),
            secs(*timeout_s),
        ))),
        ChamberSpec::Sim => return Err(not_running(&device)),
    })
}

//! Consumables: bring the ink or paper level to what a condition asks (`prompt` an
//! operator, `exec`, simulated).

pub mod exec;
pub mod prompt;
pub mod sim;

pub use exec::ExecSupply;
pub use prompt::PromptSupply;
pub use sim::SimSupply;

use super::{not_running, secs, Result};
use crate::plan::SupplySpec;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consumable {
    Ink,
    Paper,
}

impl Consumable {
    pub fn name(self) -> &'static str {
        match self {
            Consumable::Ink => "ink",
            Consumable::Paper => "paper",
        }
    }
}

#[async_trait]
pub trait Supply: Send {
    fn device(&self) -> &str;
    /// Proves the supply control can be used, before a run starts (pre-flight).
    async fn check(&mut self) -> Result<String>;
    /// Brings `what` to `level` (0 = empty, 1 = full).
    async fn set_level(&mut self, what: Consumable, level: f64) -> Result<()>;
}

/// How long an operator has to answer a prompt.
const PROMPT_TIMEOUT: Duration = Duration::from_secs(600);

/// The driver for a station's supply table (`None` for `kind = "none"`).
pub fn build(
    name: &str,
    spec: &SupplySpec,
    io_timeout: Duration,
) -> Result<Option<Box<dyn Supply>>> {
    let device = format!("{name} supply");
    Ok(match spec {
        SupplySpec::None => None,
        SupplySpec::Prompt => Some(Box::new(PromptSupply::new(&device, PROMPT_TIMEOUT))),
        SupplySpec::Exec { set, timeout_s } => Some(Box::new(ExecSupply::new(
            &device,
            set.clone(),
            secs(*timeout_s),
        ))),
        SupplySpec::SimControl { address } => Some(Box::new(SimSupply::new(
            &device,
            address.clone(),
            io_timeout,
        ))),
        SupplySpec::Sim => return Err(not_running(&device)),
    })
}

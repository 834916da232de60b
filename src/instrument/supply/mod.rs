//! Consumables: bring the ink or paper level to what a condition asks (`prompt` an
//! operator, `exec`, simulated).

pub mod exec;
pub mod prompt;
pub mod sim;

pub use exec::ExecSupply;
pub use prompt::PromptSupply;
pub use sim::SimSupply;

use super::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

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
    /// Brings `what` to `level` (0 = empty, 1 = full).
    async fn set_level(&mut self, what: Consumable, level: f64) -> Result<()>;
}

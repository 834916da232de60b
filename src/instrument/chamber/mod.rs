//! Chambers: set a temperature and read it back (SCPI with command templates, `exec`).

pub mod exec;
pub mod scpi;
pub mod sim;
pub mod soak;

pub use exec::ExecChamber;
pub use scpi::ScpiChamber;
pub use sim::{sim_chamber, SimChamber};
pub use soak::{soak, SoakReport};

use super::Result;
use async_trait::async_trait;

#[async_trait]
pub trait Chamber: Send {
    fn device(&self) -> &str;
    async fn set_point(&mut self, celsius: f64) -> Result<()>;
    async fn temperature(&mut self) -> Result<f64>;
}

//! Power: the printer's supply (SCPI PSU, serial relay, `exec` command).

pub mod exec;
pub mod relay;
pub mod scpi;
pub mod sim;

pub use exec::ExecPower;
pub use relay::RelayPower;
pub use scpi::ScpiPower;
pub use sim::{sim_power, SimPower};

use super::Result;
use async_trait::async_trait;

#[async_trait]
pub trait Power: Send {
    fn device(&self) -> &str;
    /// Identity string (`*IDN?` for a SCPI PSU).
    async fn identify(&mut self) -> Result<String>;
    /// Sets the output voltage (`Unsupported` for a relay).
    async fn set_voltage(&mut self, volts: f64) -> Result<()>;
    /// Switches the output.
    async fn set_output(&mut self, on: bool) -> Result<()>;
    /// Measured output voltage and current, when the backend can measure.
    async fn measure(&mut self) -> Result<Option<(f64, f64)>>;
}

//! Power: the printer's supply (SCPI PSU, serial relay, `exec` command), and the one
//! place that turns a station's `[station.power]` table into a driver ([`build`]).
//!
//! Switching is every supply's; setting a voltage is a capability ([`VoltageControl`])
//! only some have, asked for with [`Power::voltage`].

pub mod exec;
pub mod relay;
pub mod scpi;

pub use exec::ExecPower;
pub use relay::RelayPower;
pub use scpi::ScpiPower;

use super::{not_running, Result};
use crate::link::{Endpoint, Flow};
use crate::plan::PowerSpec;
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
pub trait Power: Send {
    fn device(&self) -> &str;
    /// Identity string (`*IDN?` for a SCPI PSU).
    async fn identify(&mut self) -> Result<String>;
    /// Switches the output.
    async fn set_output(&mut self, on: bool) -> Result<()>;
    /// Measured output voltage and current, when the backend can measure.
    async fn measure(&mut self) -> Result<Option<(f64, f64)>>;
    /// The supply's programmable voltage, when it has one (a relay only switches).
    fn voltage(&mut self) -> Option<&mut dyn VoltageControl>;
}

/// A supply whose output voltage can be set.
#[async_trait]
pub trait VoltageControl: Send {
    /// Sets the output voltage.
    async fn set_voltage(&mut self, volts: f64) -> Result<()>;
}

/// The driver for a station's power table (`None` for `kind = "none"`). `name` is the
/// station's; `io_timeout` bounds each command of a driver that talks to an instrument.
pub fn build(name: &str, spec: &PowerSpec, io_timeout: Duration) -> Result<Option<Box<dyn Power>>> {
    let device = format!("{name} power");
    Ok(match spec {
        PowerSpec::None => None,
        PowerSpec::Scpi {
            address, channel, ..
        } => {
            let mut p = ScpiPower::new(&device, address.clone(), io_timeout);
            if let Some(c) = channel {
                p = p.with_channel(*c);
            }
            Some(Box::new(p))
        }
        PowerSpec::Relay {
            port,
            baud,
            on,
            off,
        } => Some(Box::new(RelayPower::new(
            &format!("{name} relay"),
            Endpoint::Serial {
                path: port.clone(),
                baud: *baud,
                flow: Flow::None,
            },
            on,
            off,
            io_timeout,
        ))),
        PowerSpec::Exec {
            on,
            off,
            set_voltage,
            timeout_s,
            ..
        } => {
            let mut p = ExecPower::new(&device, on.clone(), off.clone(), super::secs(*timeout_s));
            if let Some(sv) = set_voltage {
                p = p.with_set_voltage(sv.clone());
            }
            Some(Box::new(p))
        }
        PowerSpec::Sim { .. } => return Err(not_running(&device)),
    })
}

//! The simulated station's PSU: it speaks SCPI on a loopback TCP port, so the simulated
//! supply is the real [`ScpiPower`] driver pointed there.
//!
//! Owns: only the constructor that aims the SCPI driver at loopback. Must not: simulate
//! anything (the simulated station does) or differ from the real driver in behaviour.

use super::scpi::ScpiPower;
use crate::link::Endpoint;
use std::time::Duration;

/// The simulated PSU is driven by the real SCPI driver.
pub type SimPower = ScpiPower;

/// The SCPI driver aimed at the simulated station's PSU on `127.0.0.1:<port>`.
pub fn sim_power(name: &str, port: u16, timeout: Duration) -> SimPower {
    ScpiPower::new(
        name,
        Endpoint::Tcp {
            host: "127.0.0.1".to_string(),
            port,
        },
        timeout,
    )
}

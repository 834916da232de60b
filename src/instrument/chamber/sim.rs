//! The simulated station's chamber: it speaks the default chamber commands (`TEMP:SPO`,
//! `TEMP?`) on a loopback TCP port, so the simulated chamber is the real [`ScpiChamber`]
//! driver pointed there.
//!
//! Owns: only the constructor that aims the driver at loopback. Must not: simulate
//! anything or differ from the real driver in behaviour.

use super::scpi::ScpiChamber;
use crate::link::Endpoint;
use std::time::Duration;

/// The simulated chamber is driven by the real template driver.
pub type SimChamber = ScpiChamber;

/// The chamber driver, with the default commands, aimed at `127.0.0.1:<port>`.
pub fn sim_chamber(name: &str, port: u16, timeout: Duration) -> SimChamber {
    ScpiChamber::new(
        name,
        Endpoint::Tcp {
            host: "127.0.0.1".to_string(),
            port,
        },
        timeout,
    )
}

//! The one way a station file is loaded, for every command: read and validated by `plan`,
//! then each simulated station resolved by the simulator (its faults and parameters
//! checked against the simulator's limits, every problem named at its place in the file)
//! and its envelope filled in, so that a plan is checked against what the station reaches.
//!
//! Owns only that sequence; it must not start stations (`assemble` does).

use crate::plan::{self, PlanErrors, SimDeclaration, StationFile};
use crate::sim::SimConfig;
use std::path::Path;

/// Loads the station file at `file`, or the embedded simulated stations when there is
/// none. Every problem in the file, the simulator's included, is reported at once.
pub fn load_stations(file: Option<&Path>) -> Result<StationFile, PlanErrors> {
    let check = |d: &SimDeclaration<'_>| match SimConfig::from_declaration(d) {
        Ok(_) => Vec::new(),
        Err(e) => e.0,
    };
    let mut sf = match file {
        Some(p) => plan::load_stations_with(p, &check)?,
        None => plan::embedded_sim_stations(&check)?,
    };
    for st in &mut sf.stations {
        if let Some(config) = SimConfig::from_station(st)? {
            st.envelope = config.envelope(st);
        }
    }
    Ok(sf)
}

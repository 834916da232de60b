//! Rig runs: loading stations, orchestration of cases on them, resume and sharding; the
//! journal and the results directory are written through `record`.

pub mod assemble;
pub mod capture;
pub mod case;
pub mod preflight;
pub mod runner;
pub mod start;
pub mod stations;

pub use stations::load_stations;

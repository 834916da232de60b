//! Rig runs: orchestration of cases on stations, the journal, resume and sharding.

pub mod case;
pub mod journal;
pub mod runner;

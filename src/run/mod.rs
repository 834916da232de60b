//! Rig runs: orchestration of cases on stations, the journal, resume and sharding.

pub mod assemble;
pub mod case;
pub mod journal;
pub mod runner;
pub mod start;

//! Rig runs: orchestration of cases on stations, the journal, resume and sharding.

pub mod journal;

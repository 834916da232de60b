//! The firmware release gate: is a candidate firmware worse than its baseline on a
//! printer, by more than the lab tolerates, and how sure is that? This holds the
//! statistics (`stats`): intervals for the difference of two sets of repeated prints,
//! decisions against a margin, the exact test for defects counted in k of n prints.
//!
//! Pure: numbers in, decisions out. It must not read runs (they come through `record`)
//! nor print.

pub mod stats;

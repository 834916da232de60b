//! Small helpers shared by every module: a deterministic random source and atomic file
//! writes. Nothing here knows about printers.

pub mod base64;
pub mod clock;
pub mod fsio;
pub mod rng;

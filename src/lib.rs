//! printrig: a hardware-in-the-loop test rig controller for receipt and POS printers.
//!
//! The library holds all logic; the `rig` binary only parses arguments and prints. Modules
//! follow the flow of DESIGN.md: pattern → escpos → (printer) → scan → analysis → golden
//! → report.

pub mod defect;
pub mod escpos;
pub mod pattern;
pub mod util;

/// The tool version recorded in golden records and reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

//! printrig: a hardware-in-the-loop test rig controller for receipt and POS printers.
//!
//! The library holds all logic; the `rig` binary only parses arguments and prints. Modules
//! follow the flow of DESIGN.md: pattern → escpos → (printer) → scan → analysis → golden
//! → report.

pub mod defect;
pub mod escpos;
pub mod pattern;
pub mod sim;
pub mod util;

/// The tool version recorded in golden records and reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod analysis;
pub mod check;
pub mod verdict;

/// Resolution of the printer dot grid: 8 dots per mm.
pub const DOT_DPI: f64 = 203.2;
pub mod golden;
pub mod report;
pub mod scanfile;

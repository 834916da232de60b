//! printrig: a hardware-in-the-loop test rig controller for receipt and POS printers.
//!
//! The library holds all logic; the `rig` binary only parses arguments and prints. Modules
//! follow the flow of docs/design.md: plan → run (pattern → escpos → instrument → scan →
//! golden::check) → record → report, with no import cycle among them.

pub mod analysis;
pub mod defect;
pub mod escpos;
pub mod gate;
pub mod golden;
pub mod history;
pub mod instrument;
pub mod link;
pub mod merge;
pub mod pattern;
pub mod plan;
pub mod record;
pub mod report;
pub mod run;
pub mod scanfile;
pub mod sim;
pub mod util;
pub mod verdict;

/// The tool version recorded in golden records and reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Resolution of the printer dot grid: 8 dots per mm.
pub const DOT_DPI: f64 = 203.2;

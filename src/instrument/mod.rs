//! The instruments of a station, one folder per kind (printer, power, chamber, scanner,
//! supply). Each kind is a trait in its folder's `mod.rs`, beside the one `build`
//! function that turns the station file's table of that kind into a backend; each
//! backend (real protocol, `exec` command) is a file beside its siblings, so adding a
//! backend touches one folder (and its reader in `plan/station/`). A simulated station's
//! instruments are reached with these same drivers, aimed at its servers. Drivers own
//! their link and their timeouts; they never judge prints.

pub mod chamber;
pub mod exec;
pub mod firmware;
pub mod power;
pub mod printer;
pub mod scanner;
pub mod scpi;
pub mod supply;

use crate::util::printable;
use std::time::Duration;

/// Why an instrument could not do what was asked. Every variant names the device (its
/// station-file name and address) so a journal line says which box to look at. What the
/// instrument or program said (`reply`, `detail`) is shown with its control characters
/// escaped (`util::printable`): a reply never reaches a console or report raw.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InstrumentError {
    #[error("{device}: no answer to {what} within {:.1} s", timeout.as_secs_f64())]
    Timeout {
        device: String,
        what: String,
        timeout: Duration,
    },
    #[error("{device}: {}", printable(.detail))]
    Io { device: String, detail: String },
    #[error("{device}: unexpected reply to {what}: {}", printable(.reply))]
    Protocol {
        device: String,
        what: String,
        reply: String,
    },
    #[error("{device}: link lost ({})", printable(.detail))]
    LinkLost { device: String, detail: String },
    #[error("{device}: scanner jammed ({})", printable(.detail))]
    Jam { device: String, detail: String },
    #[error("{device}: {what} failed{}: {}", code.map(|c| format!(" with exit code {c}")).unwrap_or_default(), printable(.detail))]
    Command {
        device: String,
        what: String,
        code: Option<i32>,
        detail: String,
    },
    #[error("{device} cannot {what}")]
    Unsupported { device: String, what: String },
    #[error("{device}: {what} needs an operator, but there is no terminal to ask on")]
    NoOperator { device: String, what: String },
    #[error("{device}: {what} did not settle within {:.0} s ({})", timeout.as_secs_f64(), printable(.detail))]
    NotSettled {
        device: String,
        what: String,
        timeout: Duration,
        detail: String,
    },
    /// The driver could not write the rig's own copy of what the instrument gave (a full
    /// or read-only disk): not the instrument's fault.
    #[error("{device}: {fault}")]
    Storage {
        device: String,
        fault: crate::util::fsio::WriteFault,
    },
}

impl InstrumentError {
    /// The device the error is about.
    pub fn device(&self) -> &str {
        match self {
            InstrumentError::Timeout { device, .. }
            | InstrumentError::Io { device, .. }
            | InstrumentError::Protocol { device, .. }
            | InstrumentError::LinkLost { device, .. }
            | InstrumentError::Jam { device, .. }
            | InstrumentError::Command { device, .. }
            | InstrumentError::Unsupported { device, .. }
            | InstrumentError::NoOperator { device, .. }
            | InstrumentError::NotSettled { device, .. }
            | InstrumentError::Storage { device, .. } => device,
        }
    }
}

pub type Result<T> = std::result::Result<T, InstrumentError>;

/// A simulated instrument asked for before its station was started (the station, once
/// running, turns its instruments into ordinary addresses).
pub(crate) fn not_running(device: &str) -> InstrumentError {
    InstrumentError::Io {
        device: device.to_string(),
        detail: "simulated, but its station is not running".to_string(),
    }
}

/// Seconds from a station file as a duration (negative: zero).
pub(crate) fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

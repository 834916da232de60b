//! Printers: send an ESC/POS job, read identity and status, follow which bands printed;
//! and the one place that turns a station's `[station.printer]` table into a driver
//! ([`build`]).

pub mod escpos;

use super::{not_running, Result};
use crate::escpos::encode::Job;
use crate::escpos::status::PrinterState;
use crate::plan::{PrinterLink, PrinterSpec};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the printer says it is (GS I), its control characters escaped
/// (`util::printable`): it is recorded and shown as it is here.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PrinterIdentity {
    pub model: String,
    pub firmware: String,
    pub maker: String,
    pub serial: String,
}

/// How far a job got.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PrintReport {
    pub bytes_sent: usize,
    /// Band indices whose process id came back (printed), in order.
    pub bands_printed: Vec<u32>,
    /// Every band acknowledged and the job sent whole.
    pub complete: bool,
    pub duration_s: f64,
    /// Extra status bytes received for real-time sequences inside the raster data.
    pub realtime_replies: usize,
    /// Why the job stopped early, when it did (link lost, printer offline, …).
    pub stopped: Option<String>,
}

#[async_trait]
pub trait Printer: Send {
    /// The station-file name and address, for messages.
    fn device(&self) -> &str;
    /// Reads model, firmware, maker and serial (GS I 67, 65, 66, 68).
    async fn identify(&mut self) -> Result<PrinterIdentity>;
    /// Reads the real-time status (DLE EOT 1–4).
    async fn status(&mut self) -> Result<PrinterState>;
    /// Streams the job band by band without waiting on each acknowledgement, and collects
    /// the process-id acknowledgements until every band is accounted for, the link is lost
    /// or `ack_timeout` passes without progress. A job cut short is not an error: the
    /// report says which bands printed.
    async fn print(&mut self, job: &Job, ack_timeout: Duration) -> Result<PrintReport>;
    /// After a power cycle: waits, bounded, for the link to come back (a USB serial port
    /// reappears, a TCP printer accepts connections again) and the printer to answer.
    async fn reconnect(&mut self, timeout: Duration) -> Result<()>;
}

/// The driver for a station's printer table.
pub fn build(name: &str, spec: &PrinterSpec, io_timeout: Duration) -> Result<Box<dyn Printer>> {
    let device = format!("{name} printer");
    match &spec.link {
        PrinterLink::Real(endpoint) => Ok(Box::new(escpos::EscposPrinter::new(
            &device,
            endpoint.clone(),
            io_timeout,
        ))),
        PrinterLink::SimPty | PrinterLink::SimTcp => Err(not_running(&device)),
    }
}

//! The simulated printer's job path: ESC/POS bytes through the decoder to the print head,
//! with the stream-level faults (a power cut at a byte offset) and the replies a real
//! printer sends back (DLE EOT status, GS I ids, GS ( H process ids, automatic status).
//!
//! Owns the order of events only; the physics is the head's, the parsing the decoder's.
//! It must not open links or sleep: callers feed it bytes as they arrive.

use super::faults::{Faults, PowerCut};
use super::head::{Head, HeadModel, HeadStatus, RowOutcome};
use crate::escpos::decode::{DecodeError, Decoder, Event, EventKind, LINE_SPACING_DOTS};
use crate::escpos::status::{self, PrinterInfo, PrinterState};
use image::GrayImage;
use serde::Serialize;

/// Why the printer stopped printing the job before its end.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "cause")]
pub enum Stop {
    /// Power lost after this many bytes had arrived.
    PowerCut { offset: usize },
    /// The supply sagged below the reset threshold while printing the command at `offset`.
    Brownout { offset: usize },
    /// Ink ran out while printing the command at `offset`.
    OutOfInk { offset: usize },
}

/// What came out of the printer for one job.
#[derive(Debug, Clone)]
pub struct PrintOutcome {
    /// Cut pages in order; a last page that was never cut is included (torn off).
    pub pages: Vec<GrayImage>,
    /// Bytes the printer sent back.
    pub replies: Vec<u8>,
    /// Process ids acknowledged (their bands fully printed), in order.
    pub acknowledged: Vec<[u8; 4]>,
    pub stop: Option<Stop>,
    /// The stream was corrupt or ended inside a command: its offset and what was wrong.
    pub error: Option<DecodeError>,
    pub head: HeadStatus,
}

/// A simulated printer fed with bytes as they arrive.
pub struct SimPrinter {
    head: Head,
    decoder: Decoder,
    cut_at: Option<usize>,
    received: usize,
    info: PrinterInfo,
    pages: Vec<GrayImage>,
    replies: Vec<u8>,
    acknowledged: Vec<[u8; 4]>,
    stop: Option<Stop>,
    error: Option<DecodeError>,
    auto_status: bool,
    last_state: PrinterState,
    events: Vec<Event>,
}

impl SimPrinter {
    /// A printer with a `head_dots` head. `job_len`, when known, resolves a power cut given
    /// as a fraction of the job.
    pub fn new(
        head_dots: u32,
        faults: Faults,
        seed: u64,
        info: PrinterInfo,
        job_len: Option<usize>,
    ) -> SimPrinter {
        let cut_at = match faults.power_cut {
            Some(PowerCut::Byte(n)) => Some(n),
            Some(PowerCut::Fraction(f)) => job_len.map(|l| (l as f64 * f.clamp(0.0, 1.0)) as usize),
            None => None,
        };
        SimPrinter {
            head: Head::new(HeadModel::with_dots(head_dots), faults, seed),
            decoder: Decoder::new(),
            cut_at,
            received: 0,
            info,
            pages: Vec::new(),
            replies: Vec::new(),
            acknowledged: Vec::new(),
            stop: None,
            error: None,
            auto_status: false,
            last_state: PrinterState::default(),
            events: Vec::new(),
        }
    }

    /// The printer's status as DLE EOT and automatic status report it.
    pub fn state(&self) -> PrinterState {
        let h = self.head.status();
        PrinterState {
            offline: self.stop.is_some() || h.over_temperature,
            paper_end: h.out_of_ink,
            error: self.stop.is_some() || h.over_temperature,
            auto_recoverable_error: h.over_temperature,
            ..PrinterState::default()
        }
    }

    /// Feeds bytes that arrived on the link.
    pub fn receive(&mut self, bytes: &[u8]) {
        if self.stop.is_some() || self.error.is_some() {
            self.received += bytes.len();
            return;
        }
        let take = match self.cut_at {
            Some(c) => bytes.len().min(c.saturating_sub(self.received)),
            None => bytes.len(),
        };
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        let result = self.decoder.push(&bytes[..take], &mut events);
        self.received += bytes.len();
        for ev in events.drain(..) {
            self.apply(ev);
            if self.stop.is_some() {
                break;
            }
        }
        self.events = events;
        if let Err(e) = result {
            tracing::warn!(error = %e, "simulated printer: corrupt stream");
            self.error = Some(e);
        }
        if self.stop.is_none() {
            if let Some(c) = self.cut_at {
                if self.received >= c {
                    tracing::info!(offset = c, "simulated printer: power cut");
                    self.stop = Some(Stop::PowerCut { offset: c });
                }
            }
        }
        self.maybe_auto_status();
    }

    fn maybe_auto_status(&mut self) {
        let s = self.state();
        if self.auto_status && s != self.last_state {
            self.replies
                .extend_from_slice(&status::auto_status_bytes(&s));
        }
        self.last_state = s;
    }

    fn apply(&mut self, ev: Event) {
        match ev.kind {
            EventKind::Raster(bm) => {
                for y in 0..bm.height() {
                    match self.head.print_row(bm.row(y)) {
                        RowOutcome::Printed => {}
                        RowOutcome::Brownout => {
                            self.stop = Some(Stop::Brownout { offset: ev.offset });
                            return;
                        }
                        RowOutcome::OutOfInk => {
                            self.stop = Some(Stop::OutOfInk { offset: ev.offset });
                            return;
                        }
                    }
                }
            }
            EventKind::LineFeed => self.head.feed(LINE_SPACING_DOTS),
            EventKind::Feed { rows } => self.head.feed(rows),
            EventKind::Cut { .. } => {
                if let Some(p) = self.head.take_page() {
                    self.pages.push(p);
                }
            }
            EventKind::RealtimeStatus { n } => {
                let s = self.state();
                if let Some(b) = status::dle_eot_reply(n, &s) {
                    self.replies.push(b);
                }
            }
            EventKind::PrinterId { n } => {
                if let Some(r) = status::printer_id_reply(n, &self.info) {
                    self.replies.extend_from_slice(&r);
                }
            }
            EventKind::ProcessId { id } => {
                // Everything before it has been printed: acknowledge.
                self.acknowledged.push(id);
                self.replies
                    .extend_from_slice(&status::process_id_reply(id));
            }
            EventKind::AutoStatusBack { mask } => {
                self.auto_status = mask != 0;
                if self.auto_status {
                    let s = self.state();
                    self.replies
                        .extend_from_slice(&status::auto_status_bytes(&s));
                    self.last_state = s;
                }
            }
            EventKind::Init
            | EventKind::Text(_)
            | EventKind::Ignored { .. }
            | EventKind::Unknown { .. } => {}
        }
    }

    /// Replies produced since the last call.
    pub fn take_replies(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.replies)
    }

    /// Ends the job: a truncated stream is recorded as the error, and the paper still in
    /// the printer comes out as the last page.
    pub fn finish(mut self) -> PrintOutcome {
        if self.stop.is_none() && self.error.is_none() {
            let mut events = Vec::new();
            let result = self.decoder.finish(&mut events);
            for ev in events {
                self.apply(ev);
            }
            if let Err(e) = result {
                self.error = Some(e);
            }
        }
        if let Some(p) = self.head.take_page() {
            self.pages.push(p);
        }
        PrintOutcome {
            pages: self.pages,
            replies: self.replies,
            acknowledged: self.acknowledged,
            stop: self.stop,
            error: self.error,
            head: self.head.status(),
        }
    }
}

/// The identity the simulated printer reports (GS I).
pub fn sim_info(dots: u32) -> PrinterInfo {
    PrinterInfo {
        model: if dots <= 384 {
            "SIM-58".into()
        } else {
            "SIM-80".into()
        },
        firmware: format!("SIM {}", crate::VERSION),
        maker: "printrig".into(),
        serial: "SIM0000001".into(),
        model_id: 0x20,
        type_id: 0x02,
    }
}

/// Prints a whole job at once.
pub fn print_job(job: &[u8], head_dots: u32, faults: Faults, seed: u64) -> PrintOutcome {
    let mut p = SimPrinter::new(
        head_dots,
        faults,
        seed,
        sim_info(head_dots),
        Some(job.len()),
    );
    p.receive(job);
    p.finish()
}

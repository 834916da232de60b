//! The simulated printer's job path: ESC/POS bytes through the decoder to the print head,
//! with the stream-level faults (a power cut at a byte offset) and the replies a real
//! printer sends back (DLE EOT status, GS I ids, GS ( H process ids, automatic status).
//!
//! Owns the order of events only; the physics is the head's, the parsing the decoder's.
//! It must not open links or sleep: callers feed it bytes as they arrive.

use super::faults::{Faults, PowerCut};
use super::head::{Head, HeadModel, HeadStatus, RowOutcome};
use super::layout::{Layout, Paper};
use crate::escpos::decode::{DecodeError, Decoder, Event, EventKind};
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
    /// The roll ran out while printing or feeding at the command at `offset`: the printer
    /// reports paper end and prints nothing more of the job.
    PaperEnd { offset: usize },
}

/// Where a printer hands the pages it cuts, the moment each comes out.
pub type PageSink = Box<dyn FnMut(GrayImage) + Send>;

/// Bytes decoded at a time: a piece's commands are printed before the next piece is
/// decoded (a raster decodes to eight times its bytes).
const FEED_PIECE: usize = 64 * 1024;

/// Bytes taken at a time by [`SimPrinter::receive_job_to_page`]: the most pages one piece
/// can cut is about a twentieth of it (a page needs a feed and a cut).
const PAGE_PIECE: usize = 128;

/// What came out of the printer for one job.
#[derive(Debug, Clone)]
pub struct PrintOutcome {
    /// Cut pages in order; a last page that was never cut is included (torn off). Empty
    /// when the printer handed its pages to a [`PageSink`].
    pub pages: Vec<GrayImage>,
    /// Each page's width and height in dots, in order (also of the pages handed out).
    pub page_sizes: Vec<(u32, u32)>,
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
    layout: Layout,
    /// Paper movements waiting for the head (reused between events).
    paper: Vec<Paper>,
    /// A row buffer as wide as the head (reused).
    row: Vec<u8>,
    cut_at: Option<usize>,
    received: usize,
    info: PrinterInfo,
    pages: Vec<GrayImage>,
    page_sizes: Vec<(u32, u32)>,
    /// Takes each page as it comes out instead of `pages`.
    sink: Option<PageSink>,
    replies: Vec<u8>,
    acknowledged: Vec<[u8; 4]>,
    stop: Option<Stop>,
    error: Option<DecodeError>,
    auto_status: bool,
    last_state: PrinterState,
    events: Vec<Event>,
    /// A cut came last: nothing printed or fed since.
    after_cut: bool,
    /// Something was printed, fed or cut on this printer since it was made.
    marked: bool,
    /// The host asked for status or ids before anything was printed.
    queried: bool,
    /// Stream offset of the `ESC @` that started the next job (see [`SimPrinter::receive_job`]).
    next_job_at: Option<usize>,
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
        SimPrinter::with_head(HeadModel::with_dots(head_dots), faults, seed, info, job_len)
    }

    /// A printer with a head of its own constants (a supply or ambient other than the
    /// default head's, for instance). `job_len` as for [`SimPrinter::new`].
    pub fn with_head(
        model: HeadModel,
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
        let dots = model.dots;
        SimPrinter {
            head: Head::new(model, faults, seed),
            decoder: Decoder::new(),
            layout: Layout::new(dots),
            paper: Vec::new(),
            row: Vec::new(),
            cut_at,
            received: 0,
            info,
            pages: Vec::new(),
            page_sizes: Vec::new(),
            sink: None,
            replies: Vec::new(),
            acknowledged: Vec::new(),
            stop: None,
            error: None,
            auto_status: false,
            last_state: PrinterState::default(),
            events: Vec::new(),
            after_cut: false,
            marked: false,
            queried: false,
            next_job_at: None,
        }
    }

    /// Hands every page to `sink` the moment it comes out (cut, or torn off at the end)
    /// instead of keeping it: the printer then holds no page but the one in progress,
    /// however long the job.
    pub fn with_page_sink(mut self, sink: PageSink) -> SimPrinter {
        self.sink = Some(sink);
        self
    }

    /// A page out of the printer: to the sink, or kept.
    fn page_out(&mut self, page: GrayImage) {
        self.page_sizes.push(page.dimensions());
        match self.sink.as_mut() {
            Some(sink) => sink(page),
            None => self.pages.push(page),
        }
    }

    /// The printer's status as DLE EOT and automatic status report it.
    pub fn state(&self) -> PrinterState {
        let h = self.head.status();
        PrinterState {
            offline: self.stop.is_some() || h.over_temperature,
            paper_end: h.out_of_ink || h.paper_out,
            error: self.stop.is_some() || h.over_temperature,
            auto_recoverable_error: h.over_temperature,
            ..PrinterState::default()
        }
    }

    /// Feeds bytes that arrived on the link.
    pub fn receive(&mut self, bytes: &[u8]) {
        self.feed(bytes, false);
    }

    /// Feeds bytes like [`SimPrinter::receive`], but ends this job at an `ESC @` that
    /// follows a cut (nothing printed or fed in between): the start of the next job on a
    /// link that stays open. Returns how many of `bytes` belong to this job; the rest,
    /// from that `ESC @` on, are for a fresh printer. Once the job has ended this way,
    /// every later call takes nothing and returns 0.
    pub fn receive_job(&mut self, bytes: &[u8]) -> usize {
        self.feed(bytes, true)
    }

    /// [`SimPrinter::receive_job`], stopping once a page has come out: the bytes are
    /// taken [`PAGE_PIECE`] at a time, and the piece that cut a page is the last one
    /// taken. Returns how many of `bytes` were taken; the caller gives the rest later
    /// (when the page has gone somewhere), so a job cutting many pages in a few bytes
    /// never has more than a few of them out at once.
    pub fn receive_job_to_page(&mut self, bytes: &[u8]) -> usize {
        let pages = self.page_sizes.len();
        let mut taken = 0;
        while taken < bytes.len() {
            let piece = &bytes[taken..(taken + PAGE_PIECE).min(bytes.len())];
            taken += self.feed(piece, true);
            let over = self.next_job_at.is_some() || self.stop.is_some() || self.error.is_some();
            if over || self.page_sizes.len() > pages {
                break;
            }
        }
        taken
    }

    /// Pages that have come out of this printer so far.
    pub fn pages_out(&self) -> usize {
        self.page_sizes.len()
    }

    /// Whether [`SimPrinter::receive_job`] has found the start of the next job.
    pub fn job_ended(&self) -> bool {
        self.next_job_at.is_some()
    }

    fn feed(&mut self, bytes: &[u8], split_jobs: bool) -> usize {
        if self.next_job_at.is_some() {
            return 0;
        }
        if self.stop.is_some() || self.error.is_some() {
            self.received += bytes.len();
            return bytes.len();
        }
        let take = match self.cut_at {
            Some(c) => bytes.len().min(c.saturating_sub(self.received)),
            None => bytes.len(),
        };
        let base = self.decoder.offset();
        let mut events = std::mem::take(&mut self.events);
        let mut consumed = bytes.len();
        let mut result = Ok(());
        // A piece at a time: what one piece decodes to is printed before the next is
        // decoded, so a long job is never held decoded whole.
        for piece in bytes[..take].chunks(FEED_PIECE) {
            events.clear();
            result = self.decoder.push(piece, &mut events);
            for ev in events.drain(..) {
                // An `ESC @` starts the next job after a cut, and also when only queries
                // (status, ids) came before it on a fresh printer: either way the job
                // gets a printer made for the station as it is now (voltage,
                // temperature, ink).
                let starts_job = self.after_cut || (self.queried && !self.marked);
                if split_jobs && starts_job && matches!(ev.kind, EventKind::Init) {
                    consumed = ev.offset.saturating_sub(base).min(bytes.len());
                    self.next_job_at = Some(ev.offset);
                    tracing::debug!(
                        offset = ev.offset,
                        "simulated printer: ESC @ after a cut starts the next job"
                    );
                    break;
                }
                self.apply(ev);
                if self.stop.is_some() {
                    break;
                }
            }
            if result.is_err() || self.stop.is_some() || self.next_job_at.is_some() {
                break;
            }
        }
        events.clear();
        self.events = events;
        self.received += consumed;
        if let Err(e) = result {
            // An error past the next job's start belongs to that job.
            if self.next_job_at.is_none() {
                tracing::warn!(error = %e, "simulated printer: corrupt stream");
                self.error = Some(e);
            }
        }
        if self.stop.is_none() && self.next_job_at.is_none() {
            if let Some(c) = self.cut_at {
                if self.received >= c {
                    tracing::info!(offset = c, "simulated printer: power cut");
                    self.stop = Some(Stop::PowerCut { offset: c });
                }
            }
        }
        self.maybe_auto_status();
        consumed
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
        if matches!(
            ev.kind,
            EventKind::Raster(_)
                | EventKind::BitImage(_)
                | EventKind::LineFeed
                | EventKind::Feed { .. }
                | EventKind::FeedLines { .. }
                | EventKind::Cut { .. }
                | EventKind::Text(_)
                | EventKind::Barcode { .. }
                | EventKind::Function { .. }
        ) {
            self.marked = true;
        }
        if matches!(
            ev.kind,
            EventKind::RealtimeStatus { .. }
                | EventKind::PrinterId { .. }
                | EventKind::AutoStatusBack { .. }
                | EventKind::TransmitStatus { .. }
        ) {
            self.queried = true;
        }
        match ev.kind {
            EventKind::Cut { .. } => {
                let mut paper = std::mem::take(&mut self.paper);
                self.layout.flush(&mut paper);
                self.run_paper(&mut paper, ev.offset);
                self.paper = paper;
                if self.stop.is_some() {
                    return;
                }
                self.after_cut = true;
                if let Some(p) = self.head.take_page() {
                    self.page_out(p);
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
            EventKind::TransmitStatus { n } => {
                let s = self.state();
                if let Some(b) = status::transmit_status_reply(n, &s) {
                    self.replies.push(b);
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
            EventKind::Ignored { .. } | EventKind::Unknown { .. } => {}
            kind => {
                let mut paper = std::mem::take(&mut self.paper);
                // Text and bit images wait in the line buffer: they are not after the cut.
                if matches!(kind, EventKind::Text(_) | EventKind::BitImage(_)) {
                    self.after_cut = false;
                }
                self.layout.apply(kind, &mut paper);
                if !paper.is_empty() {
                    self.after_cut = false;
                }
                self.run_paper(&mut paper, ev.offset);
                self.paper = paper;
            }
        }
    }

    /// Puts the layout's paper movements through the head, stopping at a brownout or the
    /// end of the ink (the command at `offset` is the one that failed).
    fn run_paper(&mut self, paper: &mut Vec<Paper>, offset: usize) {
        let dots = self.head.model().dots as usize;
        for piece in paper.drain(..) {
            if self.stop.is_some() {
                continue;
            }
            match piece {
                Paper::Feed(rows) => {
                    self.head.feed(rows);
                    if self.head.paper_out() {
                        self.stop = Some(Stop::PaperEnd { offset });
                    }
                }
                Paper::Rows { x, bitmap } => {
                    for y in 0..bitmap.height() {
                        let src = bitmap.row(y);
                        let outcome = if x == 0 {
                            self.head.print_row(src)
                        } else {
                            self.row.clear();
                            self.row.resize(dots, 0);
                            let x = (x as usize).min(dots);
                            let n = src.len().min(dots - x);
                            self.row[x..x + n].copy_from_slice(&src[..n]);
                            self.head.print_row(&self.row)
                        };
                        match outcome {
                            RowOutcome::Printed => {}
                            RowOutcome::Brownout => {
                                self.stop = Some(Stop::Brownout { offset });
                                break;
                            }
                            RowOutcome::OutOfInk => {
                                self.stop = Some(Stop::OutOfInk { offset });
                                break;
                            }
                            RowOutcome::PaperEnd => {
                                self.stop = Some(Stop::PaperEnd { offset });
                                break;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Replies produced since the last call.
    pub fn take_replies(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.replies)
    }

    /// Pages cut since the last call (the page still in the printer stays there).
    pub fn take_pages(&mut self) -> Vec<GrayImage> {
        std::mem::take(&mut self.pages)
    }

    /// Dot rows on the page still in the printer (0 right after a cut).
    pub fn page_rows(&self) -> u32 {
        self.head.rows()
    }

    /// Rows of paper the head has moved since this printer was made, printed or fed, on
    /// every page: with the head's paused row times, what paces a printer of finite speed.
    pub fn rows_advanced(&self) -> u64 {
        self.head.rows_advanced()
    }

    /// Process ids acknowledged so far (their bands fully printed), in order.
    pub fn acknowledged(&self) -> &[[u8; 4]] {
        &self.acknowledged
    }

    /// The head's status now (ink level, temperature, brownout).
    pub fn head_status(&self) -> HeadStatus {
        self.head.status()
    }

    /// Why the printer stopped printing, if it did.
    pub fn stopped(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }

    /// The corrupt command that stopped the decoder, if any.
    pub fn decode_error(&self) -> Option<&DecodeError> {
        self.error.as_ref()
    }

    /// Ends the job: a truncated stream is recorded as the error, and the paper still in
    /// the printer comes out as the last page.
    pub fn finish(mut self) -> PrintOutcome {
        // After the next job's start the decoder has run ahead: its state is that job's.
        if self.stop.is_none() && self.error.is_none() && self.next_job_at.is_none() {
            let mut events = Vec::new();
            let result = self.decoder.finish(&mut events);
            for ev in events {
                self.apply(ev);
            }
            if let Err(e) = result {
                self.error = Some(e);
            }
        }
        if self.layout.line_pending() && self.stop.is_none() {
            tracing::warn!(
                "the job ends with text not followed by LF: a printer keeps it in its buffer, unprinted"
            );
        }
        if let Some(p) = self.head.take_page() {
            self.page_out(p);
        }
        PrintOutcome {
            pages: self.pages,
            page_sizes: self.page_sizes,
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

/// Prints a whole job at once on a printer of `model`, handing each page to `sink` as it
/// comes out (the outcome keeps only their sizes): memory holds one page at a time,
/// however many the job cuts.
pub fn print_job_to(
    job: &[u8],
    model: HeadModel,
    faults: Faults,
    seed: u64,
    sink: PageSink,
) -> PrintOutcome {
    let info = sim_info(model.dots);
    let mut p =
        SimPrinter::with_head(model, faults, seed, info, Some(job.len())).with_page_sink(sink);
    p.receive(job);
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_handed_out_as_they_are_cut_are_the_pages_kept_otherwise() {
        // Three pages: text, a feed and a cut each; the last torn off uncut.
        let mut job = vec![0x1B, 0x40];
        for i in 0..3u8 {
            job.extend_from_slice(b"receipt ");
            job.push(b'0' + i);
            job.extend_from_slice(&[0x0A, 0x1B, 0x64, 40]);
            if i < 2 {
                job.extend_from_slice(&[0x1D, 0x56, 0x01]);
            }
        }
        let kept = print_job(&job, 384, Faults::default(), 7);
        assert_eq!(kept.pages.len(), 3);
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let into = out.clone();
        let sink: PageSink = Box::new(move |page| into.lock().expect("lock").push(page));
        let handed = print_job_to(&job, HeadModel::with_dots(384), Faults::default(), 7, sink);
        assert!(handed.pages.is_empty());
        let sizes: Vec<(u32, u32)> = kept.pages.iter().map(|p| p.dimensions()).collect();
        assert_eq!(handed.page_sizes, sizes);
        assert_eq!(kept.page_sizes, sizes);
        let got = out.lock().expect("lock");
        assert_eq!(got.len(), 3);
        for (a, b) in got.iter().zip(&kept.pages) {
            assert!(a.as_raw() == b.as_raw());
        }
    }

    #[test]
    fn a_feed_bomb_ends_at_the_end_of_the_roll_with_paper_end() {
        let model = HeadModel {
            roll_rows: 10_000,
            ..HeadModel::with_dots(64)
        };
        let mut p = SimPrinter::with_head(model, Faults::default(), 1, sim_info(64), None);
        let mut bomb = vec![0x1B, 0x40];
        for _ in 0..1000 {
            bomb.extend_from_slice(&[0x1B, 0x64, 255]);
        }
        p.receive(&bomb);
        assert!(p.state().paper_end && p.state().offline);
        let out = p.finish();
        assert!(
            matches!(out.stop, Some(Stop::PaperEnd { .. })),
            "{:?}",
            out.stop
        );
        let rows: u32 = out.pages.iter().map(|pg| pg.height()).sum();
        assert_eq!(rows, 10_000, "the whole roll and not a row more");
        assert!(out.head.paper_out);
    }

    /// ESC @, one GS v 0 band of `rows` rows 2 bytes wide filled with `fill`, a cut.
    fn job(rows: u8, fill: u8) -> Vec<u8> {
        let mut b = vec![0x1B, 0x40, 0x1B, 0x40];
        b.extend_from_slice(&[0x1D, 0x76, 0x30, 0, 2, 0, rows, 0]);
        b.extend(std::iter::repeat_n(fill, 2 * rows as usize));
        b.extend_from_slice(&[0x1D, 0x56, 0x01]);
        b
    }

    fn printer() -> SimPrinter {
        SimPrinter::new(576, Faults::default(), 3, sim_info(576), None)
    }

    #[test]
    fn receive_job_stops_at_an_init_after_a_cut() {
        // Raster bytes that spell ESC @ do not end the job; the doubled ESC @ at its
        // start does not either (no cut before it).
        let first = job(10, 0x1B);
        let first_with_init_in_data = [&first[..13], &[0x40], &first[14..]].concat();
        let second = job(5, 0xFF);
        let stream = [first_with_init_in_data.clone(), second.clone()].concat();
        let mut p = printer();
        let taken = p.receive_job(&stream);
        assert_eq!(taken, first_with_init_in_data.len());
        assert!(p.job_ended());
        assert_eq!(p.receive_job(&second), 0);
        let pages = p.take_pages();
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].height(), 10);
        assert!(p.take_pages().is_empty());
        let out = p.finish();
        assert!(
            out.error.is_none() && out.pages.is_empty(),
            "{:?}",
            out.error
        );

        let mut q = printer();
        assert_eq!(q.receive_job(&stream[taken..]), second.len());
        assert!(!q.job_ended());
        assert_eq!(q.page_rows(), 0);
        assert_eq!(q.take_pages().len(), 1);
        assert!(q.stopped().is_none() && q.decode_error().is_none());

        // Plain `receive` keeps one printer for everything.
        let mut r = printer();
        r.receive(&stream);
        assert_eq!(r.finish().pages.len(), 2);
    }

    #[test]
    fn a_job_after_status_queries_gets_a_fresh_printer() {
        // The host asks for status and ids first (as a rig does when it connects); the
        // job's ESC @ then starts a job of its own, so a printer made for the station as
        // it is now prints it.
        let mut p = printer();
        assert_eq!(p.receive_job(&[0x10, 0x04, 0x01, 0x1D, 0x49, 0x41]), 6);
        assert!(!p.job_ended());
        let j = job(4, 0xFF);
        assert_eq!(p.receive_job(&j), 0);
        assert!(p.job_ended());
        // A doubled ESC @ with nothing asked before it stays one job.
        let mut q = printer();
        assert_eq!(q.receive_job(&j), j.len());
        assert!(!q.job_ended());
    }

    #[test]
    fn a_barcode_led_receipt_prints_whole_and_gs_r_is_answered() {
        // A CODE128 barcode whose data spells "V", a QR code and a stored graphic with
        // command bytes in their data, then a raster: one page, no cut inside, and the
        // paper-sensor status asked by GS r 1 answered (paper present: 0). The barcode
        // prints at the default height (162 dots); the QR print has no data stored and
        // the graphic is cut short, so neither prints.
        let mut stream =
            b"\x1b@\x1dkI\x04{BVX\x1d(k\x03\x001Q0\x1d8L\x04\x00\x00\x000p\x1dV".to_vec();
        stream.extend_from_slice(&job(6, 0xFF)[2..]);
        stream.extend_from_slice(b"\x1dr\x01");
        let mut p = printer();
        p.receive(&stream);
        assert_eq!(p.take_replies(), vec![0x00]);
        let out = p.finish();
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.pages.len(), 1);
        assert_eq!(out.pages[0].height(), 162 + 6);
    }

    /// Columns of a page darker than mid-grey somewhere, as counts per column.
    fn column_ink(page: &GrayImage) -> Vec<u32> {
        let mut ink = vec![0u32; page.width() as usize];
        for (x, _, p) in page.enumerate_pixels() {
            if p.0[0] < 128 {
                ink[x as usize] += 1;
            }
        }
        ink
    }

    #[test]
    fn faults_act_on_text_and_barcodes_as_on_rasters() {
        // Left-aligned text across the whole width, a centred CODE128 at module 3.
        let mut job = b"\x1b@".to_vec();
        job.extend(std::iter::repeat_n(b'H', 48));
        job.extend_from_slice(b"\n\x1ba\x01\x1dw\x03\x1dh\x40\x1dkI\x06{B1234\n");
        let healthy = print_job(&job, 576, Faults::default(), 5);
        let ink = column_ink(&healthy.pages[0]);
        // Text inks both halves of the head.
        assert!(ink[..288].iter().sum::<u32>() > 1000 && ink[288..].iter().sum::<u32>() > 1000);
        // A column inside a bar of the barcode: inked on every barcode row.
        let bar_col = (200..376).find(|&x| ink[x] >= 64).expect("a bar");

        let half = print_job(&job, 576, Faults::parse_all(["half=right"]).unwrap(), 5);
        let ink_half = column_ink(&half.pages[0]);
        assert!(ink_half[..288].iter().sum::<u32>() > 1000);
        assert_eq!(ink_half[296..].iter().sum::<u32>(), 0);

        let dead = format!("dead={bar_col}");
        let cut = print_job(&job, 576, Faults::parse_all([dead.as_str()]).unwrap(), 5);
        let ink_dead = column_ink(&cut.pages[0]);
        assert_eq!(
            ink_dead[bar_col], 0,
            "the dead element cuts through the bar"
        );
        assert!(ink_dead[bar_col - 1] >= 64 || ink_dead[bar_col + 1] >= 64);
    }

    #[test]
    fn a_page_in_progress_is_counted_and_torn_off() {
        let mut p = printer();
        let j = job(8, 0xFF);
        p.receive_job(&j[..j.len() - 3]);
        assert_eq!(p.page_rows(), 8);
        assert!(p.take_pages().is_empty());
        assert!(p.head_status().ink_level.is_none());
        let out = p.finish();
        assert_eq!(out.pages.len(), 1);
    }
}

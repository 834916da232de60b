//! Status bytes in both directions: what the (simulated) printer answers and how the rig
//! reads the answers back.
//!
//! Owns the bit layouts of DLE EOT replies, automatic status back (GS a), process-id
//! replies (GS ( H) and printer-id replies (GS I), and the splitter that tells them apart
//! in the reply stream. It must not talk to a link or keep time: callers feed it bytes
//! and states.

use serde::{Deserialize, Serialize};

/// Fixed bits of a DLE EOT reply: bit 1 and bit 4 set, bits 0 and 7 clear.
const DLE_EOT_MASK: u8 = 0x93;
const DLE_EOT_FIXED: u8 = 0x12;
/// Fixed bits of the first ASB byte: bit 4 set, bits 0, 1 and 7 clear.
const ASB_FIRST_MASK: u8 = 0x93;
const ASB_FIRST_FIXED: u8 = 0x10;
/// Fixed bits of the other ASB bytes: bits 4 and 7 clear.
const ASB_REST_MASK: u8 = 0x90;
/// First two bytes of a process-id reply.
const PROCESS_ID_HEADER: [u8; 2] = [0x37, 0x22];
/// Start of a framed GS I reply (terminated by 0x00).
const ID_FRAME_START: u8 = 0x5F;
/// Longest framed GS I reply accepted, start and end bytes included.
pub const MAX_ID_FRAME: usize = 82;
/// Font list reported for GS I 69.
pub const FONTS: &str = "ANK";

/// What the printer knows about itself, as status bits report it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterState {
    pub offline: bool,
    pub cover_open: bool,
    pub paper_end: bool,
    pub paper_near_end: bool,
    /// Some error stopped the printer (see the cause flags).
    pub error: bool,
    pub autocutter_error: bool,
    pub unrecoverable_error: bool,
    /// e.g. head over-temperature: clears by itself.
    pub auto_recoverable_error: bool,
    /// Paper is being fed with the feed button.
    pub feed_button: bool,
}

/// What one DLE EOT reply byte says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum StatusReport {
    /// n = 1.
    Printer { offline: bool },
    /// n = 2.
    OfflineCause {
        cover_open: bool,
        feed_button: bool,
        paper_end: bool,
        error: bool,
    },
    /// n = 3.
    ErrorCause {
        autocutter_error: bool,
        unrecoverable_error: bool,
        auto_recoverable_error: bool,
    },
    /// n = 4.
    Paper { near_end: bool, end: bool },
}

impl StatusReport {
    /// Copies the flags this report covers into `state`, leaving the others alone.
    pub fn apply(&self, state: &mut PrinterState) {
        match *self {
            StatusReport::Printer { offline } => state.offline = offline,
            StatusReport::OfflineCause {
                cover_open,
                feed_button,
                paper_end,
                error,
            } => {
                state.cover_open = cover_open;
                state.feed_button = feed_button;
                state.paper_end = paper_end;
                state.error = error;
            }
            StatusReport::ErrorCause {
                autocutter_error,
                unrecoverable_error,
                auto_recoverable_error,
            } => {
                state.autocutter_error = autocutter_error;
                state.unrecoverable_error = unrecoverable_error;
                state.auto_recoverable_error = auto_recoverable_error;
            }
            StatusReport::Paper { near_end, end } => {
                state.paper_near_end = near_end;
                state.paper_end = end;
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("DLE EOT {0} is not a status request (n must be 1 to 4)")]
    BadRequest(u8),
    #[error("0x{0:02X} is not a status byte (bits 1 and 4 must be set, bits 0 and 7 clear)")]
    NotStatusByte(u8),
    #[error("ASB byte {index} (0x{byte:02X}) breaks the fixed bits of automatic status back")]
    NotAutoStatus { index: usize, byte: u8 },
    #[error("GS I {0} is not a printer-id request this rig knows")]
    BadIdRequest(u8),
    #[error("reply to GS I {n} must start with 0x5F, got 0x{byte:02X}")]
    NotIdFrame { n: u8, byte: u8 },
    #[error("reply to GS I {n} runs past {MAX_ID_FRAME} bytes without its 0x00 end")]
    IdFrameTooLong { n: u8 },
}

fn bit(on: bool, mask: u8) -> u8 {
    if on {
        mask
    } else {
        0
    }
}

/// The one-byte reply to GS r n (transmit status), or `None` for an n without one here.
///
/// n = 1 or 49, paper sensors: bits 0-1 roll near its end, bits 2-3 roll out. n = 2 or 50,
/// the drawer kick-out connector: bit 0 is pin 3, low (0) with no drawer attached. The
/// other bits are fixed at 0.
pub fn transmit_status_reply(n: u8, s: &PrinterState) -> Option<u8> {
    match n {
        1 | 49 => Some(bit(s.paper_near_end, 0x03) | bit(s.paper_end, 0x0C)),
        2 | 50 => Some(0),
        _ => None,
    }
}

/// The one-byte reply to DLE EOT n, or `None` when n is not 1..=4.
///
/// Bits 1 and 4 are always set, 0 and 7 clear. n = 1: bit 3 offline. n = 2: bit 2 cover
/// open, bit 3 paper fed by the feed button, bit 5 stopped by paper end, bit 6 error.
/// n = 3: bit 3 autocutter, bit 5 unrecoverable, bit 6 auto-recoverable. n = 4: bits 2-3
/// paper near end, bits 5-6 paper end.
pub fn dle_eot_reply(n: u8, s: &PrinterState) -> Option<u8> {
    let bits = match n {
        1 => bit(s.offline, 0x08),
        2 => {
            bit(s.cover_open, 0x04)
                | bit(s.feed_button, 0x08)
                | bit(s.paper_end, 0x20)
                | bit(s.error, 0x40)
        }
        3 => {
            bit(s.autocutter_error, 0x08)
                | bit(s.unrecoverable_error, 0x20)
                | bit(s.auto_recoverable_error, 0x40)
        }
        4 => bit(s.paper_near_end, 0x0C) | bit(s.paper_end, 0x60),
        _ => return None,
    };
    Some(DLE_EOT_FIXED | bits)
}

/// Reads a DLE EOT n reply byte. For n = 4 a flag is set if either of its two bits is.
pub fn parse_dle_eot(n: u8, byte: u8) -> Result<StatusReport, StatusError> {
    if !(1..=4).contains(&n) {
        return Err(StatusError::BadRequest(n));
    }
    if byte & DLE_EOT_MASK != DLE_EOT_FIXED {
        return Err(StatusError::NotStatusByte(byte));
    }
    let on = |mask: u8| byte & mask != 0;
    Ok(match n {
        1 => StatusReport::Printer { offline: on(0x08) },
        2 => StatusReport::OfflineCause {
            cover_open: on(0x04),
            feed_button: on(0x08),
            paper_end: on(0x20),
            error: on(0x40),
        },
        3 => StatusReport::ErrorCause {
            autocutter_error: on(0x08),
            unrecoverable_error: on(0x20),
            auto_recoverable_error: on(0x40),
        },
        _ => StatusReport::Paper {
            near_end: on(0x0C),
            end: on(0x60),
        },
    })
}

/// The reply to GS ( H fn 48 once everything before it is printed: `37 22 d1..d4 00`.
pub fn process_id_reply(id: [u8; 4]) -> [u8; 7] {
    let [a, b, c, d] = id;
    [PROCESS_ID_HEADER[0], PROCESS_ID_HEADER[1], a, b, c, d, 0]
}

/// Reads a process-id reply at the start of `bytes`: the id and the bytes it took, or
/// `None` if the bytes do not start with a complete one.
pub fn parse_process_id_reply(bytes: &[u8]) -> Option<([u8; 4], usize)> {
    match *bytes {
        [0x37, 0x22, a, b, c, d, 0, ..] => Some(([a, b, c, d], 7)),
        _ => None,
    }
}

/// What GS I reports about the printer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterInfo {
    pub model: String,
    pub firmware: String,
    pub maker: String,
    pub serial: String,
    pub model_id: u8,
    pub type_id: u8,
}

/// A decoded GS I reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdReply {
    /// n = 1/49, 2/50, 3/51.
    Byte(u8),
    /// n = 65..=69, without the 0x5F and 0x00 framing.
    Text(String),
}

/// Printable ASCII only: framed replies must not contain their 0x00 terminator.
fn frame(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(ID_FRAME_START);
    out.extend(text.bytes().take(MAX_ID_FRAME - 2).map(|b| {
        if (0x20..=0x7E).contains(&b) {
            b
        } else {
            b'?'
        }
    }));
    out.push(0);
    out
}

/// The reply to GS I n, or `None` for an n this printer does not answer. Texts are
/// framed `5F … 00`, with bytes outside printable ASCII replaced by '?'.
pub fn printer_id_reply(n: u8, info: &PrinterInfo) -> Option<Vec<u8>> {
    match n {
        1 | 49 => Some(vec![info.model_id]),
        2 | 50 => Some(vec![info.type_id]),
        3 | 51 => Some(vec![0]),
        65 => Some(frame(&info.firmware)),
        66 => Some(frame(&info.maker)),
        67 => Some(frame(&info.model)),
        68 => Some(frame(&info.serial)),
        69 => Some(frame(FONTS)),
        _ => None,
    }
}

/// Reads the reply to GS I n at the start of `bytes`: `Ok(None)` when more bytes are
/// needed, else the reply and the bytes it took.
pub fn parse_printer_id_reply(
    n: u8,
    bytes: &[u8],
) -> Result<Option<(IdReply, usize)>, StatusError> {
    match n {
        1..=3 | 49..=51 => Ok(bytes.first().map(|&b| (IdReply::Byte(b), 1))),
        65..=69 => {
            let Some(&first) = bytes.first() else {
                return Ok(None);
            };
            if first != ID_FRAME_START {
                return Err(StatusError::NotIdFrame { n, byte: first });
            }
            match bytes.iter().take(MAX_ID_FRAME).position(|&b| b == 0) {
                Some(end) => {
                    let text = bytes.get(1..end).unwrap_or(&[]);
                    let text = String::from_utf8_lossy(text).into_owned();
                    Ok(Some((IdReply::Text(text), end + 1)))
                }
                None if bytes.len() >= MAX_ID_FRAME => Err(StatusError::IdFrameTooLong { n }),
                None => Ok(None),
            }
        }
        _ => Err(StatusError::BadIdRequest(n)),
    }
}

/// The four bytes of automatic status back (GS a), following Epson's basic ASB layout:
///
/// - byte 1: bit 3 offline, bit 4 fixed 1, bit 5 cover open, bit 6 paper fed by the feed
///   button; bits 0, 1, 7 fixed 0 (bit 2, the drawer connector, is always 0 here).
/// - byte 2: bit 1 feed button pushed, bit 2 recoverable (mechanical) error, bit 3
///   autocutter error, bit 5 unrecoverable error, bit 6 auto-recoverable error; bits 4
///   and 7 fixed 0. Bit 2 stands for `error` when no cause flag is set.
/// - byte 3: bits 0-1 paper near end, bits 2-3 paper end; bits 4 and 7 fixed 0.
/// - byte 4: all 0 (reserved; bits 4 and 7 fixed 0).
pub fn auto_status_bytes(s: &PrinterState) -> [u8; 4] {
    let cause = s.autocutter_error || s.unrecoverable_error || s.auto_recoverable_error;
    let first =
        ASB_FIRST_FIXED | bit(s.offline, 0x08) | bit(s.cover_open, 0x20) | bit(s.feed_button, 0x40);
    let second = bit(s.feed_button, 0x02)
        | bit(s.error && !cause, 0x04)
        | bit(s.autocutter_error, 0x08)
        | bit(s.unrecoverable_error, 0x20)
        | bit(s.auto_recoverable_error, 0x40);
    let third = bit(s.paper_near_end, 0x03) | bit(s.paper_end, 0x0C);
    [first, second, third, 0]
}

/// Reads automatic status back bytes (the inverse of `auto_status_bytes`; `error` is set
/// when any error bit of byte 2 is).
pub fn parse_auto_status(bytes: [u8; 4]) -> Result<PrinterState, StatusError> {
    let [first, second, third, fourth] = bytes;
    if first & ASB_FIRST_MASK != ASB_FIRST_FIXED {
        return Err(StatusError::NotAutoStatus {
            index: 0,
            byte: first,
        });
    }
    for (index, byte) in [(1, second), (2, third), (3, fourth)] {
        if byte & ASB_REST_MASK != 0 {
            return Err(StatusError::NotAutoStatus { index, byte });
        }
    }
    Ok(PrinterState {
        offline: first & 0x08 != 0,
        cover_open: first & 0x20 != 0,
        feed_button: first & 0x40 != 0 || second & 0x02 != 0,
        error: second & 0x6C != 0,
        autocutter_error: second & 0x08 != 0,
        unrecoverable_error: second & 0x20 != 0,
        auto_recoverable_error: second & 0x40 != 0,
        paper_near_end: third & 0x03 != 0,
        paper_end: third & 0x0C != 0,
    })
}

/// One reply frame from the printer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// A DLE EOT reply (`(b & 0x93) == 0x12`); which n it answers is up to the caller.
    Status(u8),
    /// Four automatic-status-back bytes.
    AutoStatus([u8; 4]),
    /// A process-id reply: the four id bytes.
    ProcessId([u8; 4]),
    /// A framed GS I reply: the bytes between 0x5F and 0x00.
    IdText(Vec<u8>),
    /// A single-byte GS I reply (model, type, features) announced with `expect_id_byte`.
    IdByte(u8),
    /// XON or XOFF flow control.
    FlowControl(u8),
    /// A byte that starts no known frame.
    Unknown(u8),
}

/// Splits the printer's reply stream into frames, whatever the read boundaries.
///
/// Frames are told apart by their first byte: `(b & 0x93) == 0x10` starts 4 ASB bytes,
/// `37 22` a 7-byte process-id reply, `5F` a GS I text ending in `00`, and any other byte
/// with `(b & 0x93) == 0x12` is a DLE EOT reply. Single-byte GS I replies have no
/// pattern: announce each with `expect_id_byte` and the next byte that does not continue
/// a frame is taken as one. XON/XOFF inside an ASB frame are passed through as
/// `FlowControl` (the four status bytes may be interrupted by them). A frame that breaks
/// its pattern is dropped one byte at a time as `Unknown` and scanning resumes at the
/// next byte.
#[derive(Debug, Clone, Default)]
pub struct ReplySplitter {
    buf: Vec<u8>,
    expected_id_bytes: usize,
}

/// What the start of the buffer holds.
enum Scan {
    NeedMore,
    Frame(Reply, usize),
    /// A flow-control byte at `index` inside an incomplete frame.
    FlowControlAt(usize),
    Junk,
}

fn is_flow_control(b: u8) -> bool {
    b == super::XON || b == super::XOFF
}

fn scan_auto_status(buf: &[u8]) -> Scan {
    let mut frame = [0u8; 4];
    let mut filled = 0;
    for (i, &b) in buf.iter().enumerate() {
        if i > 0 && is_flow_control(b) {
            return Scan::FlowControlAt(i);
        }
        if i > 0 && b & ASB_REST_MASK != 0 {
            return Scan::Junk;
        }
        if let Some(slot) = frame.get_mut(filled) {
            *slot = b;
            filled += 1;
        }
        if filled == 4 {
            return Scan::Frame(Reply::AutoStatus(frame), i + 1);
        }
    }
    Scan::NeedMore
}

fn scan(buf: &[u8]) -> Scan {
    let Some(&first) = buf.first() else {
        return Scan::NeedMore;
    };
    if first == PROCESS_ID_HEADER[0] {
        return match *buf {
            [_]
            | [_, 0x22]
            | [_, 0x22, _]
            | [_, 0x22, _, _]
            | [_, 0x22, _, _, _]
            | [_, 0x22, _, _, _, _] => Scan::NeedMore,
            [_, 0x22, a, b, c, d, 0, ..] => Scan::Frame(Reply::ProcessId([a, b, c, d]), 7),
            _ => Scan::Junk,
        };
    }
    if first == ID_FRAME_START {
        return match buf.iter().take(MAX_ID_FRAME).position(|&b| b == 0) {
            Some(end) => Scan::Frame(
                Reply::IdText(buf.get(1..end).unwrap_or(&[]).to_vec()),
                end + 1,
            ),
            None if buf.len() >= MAX_ID_FRAME => Scan::Junk,
            None => Scan::NeedMore,
        };
    }
    if is_flow_control(first) {
        return Scan::Frame(Reply::FlowControl(first), 1);
    }
    match first & ASB_FIRST_MASK {
        ASB_FIRST_FIXED => scan_auto_status(buf),
        DLE_EOT_FIXED => Scan::Frame(Reply::Status(first), 1),
        _ => Scan::Junk,
    }
}

impl ReplySplitter {
    pub fn new() -> Self {
        ReplySplitter::default()
    }

    /// Announces that the printer owes one single-byte GS I reply (n = 1, 2, 3).
    pub fn expect_id_byte(&mut self) {
        self.expected_id_bytes = self.expected_id_bytes.saturating_add(1);
    }

    /// Bytes held back because they start an incomplete frame.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Adds bytes read from the printer and appends every completed frame to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Reply>) {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(rest) = self.buf.get(start..) {
            if rest.is_empty() {
                break;
            }
            if self.expected_id_bytes > 0 {
                if let Some(&b) = rest.first() {
                    self.expected_id_bytes -= 1;
                    out.push(Reply::IdByte(b));
                    start += 1;
                    continue;
                }
            }
            match scan(rest) {
                Scan::NeedMore => break,
                Scan::Frame(reply, used) => {
                    out.push(reply);
                    start += used;
                }
                Scan::FlowControlAt(i) => {
                    let at = start + i;
                    if at >= self.buf.len() {
                        break;
                    }
                    out.push(Reply::FlowControl(self.buf.remove(at)));
                }
                Scan::Junk => {
                    if let Some(&b) = rest.first() {
                        out.push(Reply::Unknown(b));
                    }
                    start += 1;
                }
            }
        }
        self.buf.drain(..start.min(self.buf.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_single_flags() -> Vec<PrinterState> {
        let mut states = vec![PrinterState::default()];
        for i in 0..9 {
            let mut s = PrinterState::default();
            match i {
                0 => s.offline = true,
                1 => s.cover_open = true,
                2 => s.paper_end = true,
                3 => s.paper_near_end = true,
                4 => s.error = true,
                5 => s.autocutter_error = true,
                6 => s.unrecoverable_error = true,
                7 => s.auto_recoverable_error = true,
                _ => s.feed_button = true,
            }
            states.push(s);
        }
        states
    }

    #[test]
    fn asb_round_trip() {
        for s in all_single_flags() {
            let bytes = auto_status_bytes(&s);
            assert_eq!(bytes[0] & 0x93, 0x10, "{s:?}");
            assert!(bytes[1..].iter().all(|b| b & 0x90 == 0), "{s:?}");
            let mut want = s;
            // A cause flag implies the generic error flag on the way back.
            want.error |= s.autocutter_error || s.unrecoverable_error || s.auto_recoverable_error;
            assert_eq!(parse_auto_status(bytes), Ok(want));
        }
        assert!(parse_auto_status([0x12, 0, 0, 0]).is_err());
        assert!(parse_auto_status([0x10, 0x10, 0, 0]).is_err());
    }

    #[test]
    fn process_id_reply_round_trip() {
        let r = process_id_reply(*b"0123");
        assert_eq!(r, [0x37, 0x22, b'0', b'1', b'2', b'3', 0]);
        assert_eq!(parse_process_id_reply(&r), Some((*b"0123", 7)));
        assert_eq!(parse_process_id_reply(&r[..6]), None);
        assert_eq!(parse_process_id_reply(&[0x37, 0x21, 1, 2, 3, 4, 0]), None);
    }

    #[test]
    fn printer_id_round_trip() {
        let info = PrinterInfo {
            model: "TM-T88VI".into(),
            firmware: "30.01 ESC/POS".into(),
            maker: "EPSON".into(),
            serial: "X5Z\u{e9}001".into(),
            model_id: 0x20,
            type_id: 0x02,
        };
        assert_eq!(printer_id_reply(1, &info), Some(vec![0x20]));
        assert_eq!(printer_id_reply(50, &info), Some(vec![0x02]));
        assert_eq!(printer_id_reply(4, &info), None);
        let model = printer_id_reply(67, &info).expect("model");
        assert_eq!(model, b"_TM-T88VI\0".to_vec());
        for n in [1, 2, 3, 49, 50, 51, 65, 66, 67, 68, 69] {
            let bytes = printer_id_reply(n, &info).expect("reply");
            let (reply, used) = parse_printer_id_reply(n, &bytes)
                .expect("valid")
                .expect("complete");
            assert_eq!(used, bytes.len());
            let want = match n {
                1 | 49 => IdReply::Byte(0x20),
                2 | 50 => IdReply::Byte(0x02),
                3 | 51 => IdReply::Byte(0),
                65 => IdReply::Text("30.01 ESC/POS".into()),
                66 => IdReply::Text("EPSON".into()),
                67 => IdReply::Text("TM-T88VI".into()),
                // Non-ASCII is replaced: the frame must stay plain text.
                68 => IdReply::Text("X5Z??001".into()),
                _ => IdReply::Text("ANK".into()),
            };
            assert_eq!(reply, want, "n = {n}");
            // Every proper prefix asks for more.
            for cut in 0..bytes.len() {
                assert_eq!(parse_printer_id_reply(n, &bytes[..cut]), Ok(None), "n {n}");
            }
        }
        assert!(parse_printer_id_reply(65, b"X").is_err());
        assert!(parse_printer_id_reply(7, b"X").is_err());
        let endless = vec![b'_'; MAX_ID_FRAME];
        assert_eq!(
            parse_printer_id_reply(66, &endless),
            Err(StatusError::IdFrameTooLong { n: 66 })
        );
    }

    #[test]
    fn splitter_separates_interleaved_replies() {
        let offline = PrinterState {
            offline: true,
            cover_open: true,
            ..PrinterState::default()
        };
        let asb = auto_status_bytes(&offline);
        let status = dle_eot_reply(1, &offline).expect("n = 1");
        let mut stream = Vec::new();
        stream.push(status);
        stream.extend_from_slice(&asb);
        stream.extend_from_slice(&process_id_reply(*b"0007"));
        stream.push(dle_eot_reply(4, &PrinterState::default()).expect("n = 4"));
        stream.extend_from_slice(b"_EPSON\0");
        stream.extend_from_slice(&auto_status_bytes(&PrinterState::default()));
        stream.push(0x80); // junk
        stream.extend_from_slice(&process_id_reply(*b"0008"));
        let want = vec![
            Reply::Status(status),
            Reply::AutoStatus(asb),
            Reply::ProcessId(*b"0007"),
            Reply::Status(0x12),
            Reply::IdText(b"EPSON".to_vec()),
            Reply::AutoStatus([0x10, 0, 0, 0]),
            Reply::Unknown(0x80),
            Reply::ProcessId(*b"0008"),
        ];
        for chunk in 1..=stream.len() {
            let mut splitter = ReplySplitter::new();
            let mut out = Vec::new();
            for piece in stream.chunks(chunk) {
                splitter.push(piece, &mut out);
            }
            assert_eq!(out, want, "chunk size {chunk}");
            assert!(splitter.pending().is_empty());
        }
    }

    #[test]
    fn splitter_handles_id_bytes_flow_control_and_broken_frames() {
        let mut splitter = ReplySplitter::new();
        let mut out = Vec::new();
        splitter.expect_id_byte();
        // The id byte 0x12 would otherwise read as a status byte.
        splitter.push(&[0x12, 0x12], &mut out);
        assert_eq!(out, vec![Reply::IdByte(0x12), Reply::Status(0x12)]);
        out.clear();
        // XOFF inside an ASB frame, then the rest of the frame.
        splitter.push(&[0x18, 0x00, 0x13], &mut out);
        assert_eq!(out, vec![Reply::FlowControl(0x13)]);
        splitter.push(&[0x0C, 0x00, 0x11], &mut out);
        assert_eq!(
            out,
            vec![
                Reply::FlowControl(0x13),
                Reply::AutoStatus([0x18, 0x00, 0x0C, 0x00]),
                Reply::FlowControl(0x11),
            ]
        );
        out.clear();
        // A broken process id (no 0x00 end) is dropped byte by byte; the status byte
        // inside it is found again.
        splitter.push(&[0x37, 0x22, 0x30, 0x30, 0x30, 0x31, 0x16], &mut out);
        assert_eq!(
            out,
            vec![
                Reply::Unknown(0x37),
                Reply::Unknown(0x22),
                Reply::Unknown(0x30),
                Reply::Unknown(0x30),
                Reply::Unknown(0x30),
                Reply::Unknown(0x31),
                Reply::Status(0x16),
            ]
        );
        assert!(splitter.pending().is_empty());
    }
}

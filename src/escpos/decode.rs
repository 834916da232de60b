//! Parsing an ESC/POS byte stream the way a printer does, for the simulated printer.
//!
//! Owns the incremental command parser: bytes in (split anywhere), events out, with the
//! offset of every command. It reproduces the real-time rule: `10 04 n` is answered
//! wherever it appears, even inside image data. It must not render pages, keep printer
//! state or reply to anything: the simulated printer decides what an event does. It
//! buffers at most one command (a raster is collected until complete), never the stream.
//!
//! Limits (anything beyond is `DecodeError::Invalid`): a GS v 0 image carries 1 to
//! `MAX_RASTER_DOTS` dots of data per row and 1 to `MAX_RASTER_ROWS` rows (the printed
//! bitmap can be twice as wide or tall with the scaling modes); an ESC * image is at most
//! `MAX_RASTER_DOTS` dots wide once expanded. The data of a barcode, 2-D code or graphics
//! command is kept up to `MAX_FUNCTION_BYTES`; a longer one is skipped whole, unkept.

use super::{
    CAN, CR, DC4, DLE, ENQ, EOT, ESC, FF, FS, GS, HT, LF, MAX_RASTER_DOTS, MAX_RASTER_ROWS,
};
use crate::pattern::Bitmap;

/// The default line spacing (ESC 2), in dots.
pub const LINE_SPACING_DOTS: u32 = 30;
/// Most data bytes of a barcode, 2-D code or graphics command kept for the printer; a
/// longer one is skipped whole and reported as `Ignored` (a GS ( L raster of 2047 × 2303
/// dots with its header fits).
pub const MAX_FUNCTION_BYTES: usize = 600_000;
/// A run of text longer than this is split into several `Text` events.
pub const MAX_TEXT_RUN: usize = 4096;
/// At most this many bytes of an unknown command are kept in `EventKind::Unknown`.
pub const MAX_UNKNOWN_BYTES: usize = 64;
/// Rows of an ESC * bit image once expanded.
pub const BIT_IMAGE_ROWS: u32 = 24;

/// Longest command header the parser buffers (`ESC W xL xH yL yH dxL dxH dyL dyH`).
const HEADER_CAP: usize = 10;

/// One parsed command (or run of text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Offset of the command's first byte in the stream.
    pub offset: usize,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// ESC @.
    Init,
    /// GS v 0, expanded to printed dots (scaling applied): printed at once.
    Raster(Bitmap),
    /// ESC *, expanded to printed dots: it goes into the line like text, and LF prints it.
    BitImage(Bitmap),
    /// A setting of the print mode, layout or barcodes (what the printer does with it is
    /// the printer's).
    Setting(Setting),
    /// HT: to the next tab position.
    Tab,
    /// ESC d n: print the line and feed `lines` lines at the current line spacing.
    FeedLines { lines: u32 },
    /// GS k: a barcode of system `m` (0..=6 function A, 65..=79 function B) with its data.
    Barcode { m: u8, data: Vec<u8> },
    /// GS ( k, GS ( L or GS 8 L with its data after the length (`cn fn …` or `m fn …`);
    /// `command` names which. At most `MAX_FUNCTION_BYTES` of data.
    Function {
        command: &'static str,
        data: Vec<u8>,
    },
    /// A run of printable bytes (0x20..=0x7E, 0x80..=0xFF).
    Text(Vec<u8>),
    /// LF.
    LineFeed,
    /// ESC J n (print the line, feed n dots), or the feed part of GS V 65/66 n.
    Feed { rows: u32 },
    /// GS V (also ESC i / ESC m).
    Cut { partial: bool },
    /// DLE EOT n, n in 1..=4, wherever it appeared (offset = the 0x10 byte).
    RealtimeStatus { n: u8 },
    /// GS I n.
    PrinterId { n: u8 },
    /// GS ( H fn 48: report `id` once everything before it is printed.
    ProcessId { id: [u8; 4] },
    /// GS a n.
    AutoStatusBack { mask: u8 },
    /// GS r n: transmit status (paper sensors, drawer).
    TransmitStatus { n: u8 },
    /// A known command that does not change the simulated paper (beeper, page mode, NV
    /// memory, kanji and the like), skipped whole.
    Ignored { command: &'static str },
    /// An unknown command: its first bytes (at most `MAX_UNKNOWN_BYTES`). For ESC, GS,
    /// FS and DLE only the prefix and the command byte are skipped; GS ( commands are
    /// skipped whole since their length is known. Every known command (the tables below,
    /// barcodes, 2-D codes and graphics included) is skipped whole with its data.
    Unknown { bytes: Vec<u8> },
}

/// A setting command and its parameter, as sent (the printer reads the bits it uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// ESC ! n: font, emphasis, double height and width, underline at once.
    PrintMode(u8),
    /// ESC - n: underline off (0, 48), one dot (1, 49), two dots (2, 50).
    Underline(u8),
    /// ESC 2 (`None`: the default) or ESC 3 n (n dots).
    LineSpacing(Option<u8>),
    /// ESC E n (bit 0).
    Emphasis(u8),
    /// ESC G n (bit 0): double strike, printed as emphasis.
    DoubleStrike(u8),
    /// ESC M n: font A (0, 48) or B (1, 49).
    Font(u8),
    /// ESC a n: left (0, 48), centre (1, 49), right (2, 50).
    Justify(u8),
    /// ESC t n.
    CodeTable(u8),
    /// ESC R n.
    International(u8),
    /// ESC { n (bit 0).
    UpsideDown(u8),
    /// ESC V n: 90° clockwise rotation (1, 2, 49, 50).
    Rotate(u8),
    /// ESC SP n: right-side character spacing in dots.
    CharSpacing(u8),
    /// GS ! n: width (bits 4–6) and height (bits 0–2) magnification minus one.
    CharSize(u8),
    /// GS B n (bit 0): white on black.
    Reverse(u8),
    /// GS L nL nH: left margin in dots.
    LeftMargin(u16),
    /// GS W nL nH: print area width in dots.
    PrintWidth(u16),
    /// ESC $ nL nH: absolute print position in dots from the left margin.
    AbsolutePosition(u16),
    /// ESC \ nL nH: print position moved by a signed number of dots.
    RelativePosition(i16),
    /// ESC D n1 … NUL: horizontal tab positions in characters.
    TabStops(Vec<u8>),
    /// GS H n: HRI characters none (0), above (1), below (2), both (3).
    HriPosition(u8),
    /// GS f n: HRI font A (0, 48) or B (1, 49).
    HriFont(u8),
    /// GS h n: barcode height in dots.
    BarcodeHeight(u8),
    /// GS w n: barcode module width in dots.
    BarcodeWidth(u8),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The stream ended inside a command. `needed` is how many more bytes it needed (at
    /// least, when the header itself is incomplete); `got` how many it had.
    #[error(
        "truncated {command} at byte {offset}: needs {needed} more bytes, stream ended after {got}"
    )]
    Truncated {
        offset: usize,
        command: &'static str,
        needed: usize,
        got: usize,
    },
    #[error("invalid {command} at byte {offset}: {reason}")]
    Invalid {
        offset: usize,
        command: &'static str,
        reason: String,
    },
}

impl DecodeError {
    /// Offset of the command at fault.
    pub fn offset(&self) -> usize {
        match self {
            DecodeError::Truncated { offset, .. } | DecodeError::Invalid { offset, .. } => *offset,
        }
    }
}

/// What the collected payload of a command becomes.
#[derive(Debug, Clone, Copy)]
enum Body {
    /// GS v 0 data.
    Raster {
        width_bytes: u32,
        rows: u32,
        mode: u8,
    },
    /// ESC * data.
    Column { mode: u8 },
    /// GS ( `letter` pL pH data.
    Sized { letter: u8 },
    /// Data of a known command the simulated paper does not show (a downloaded image,
    /// user setup): skipped whole, kept nowhere, reported as `Ignored`.
    Skip,
    /// Data kept for the printer: a barcode (`GS k` function B) or a function of GS ( k,
    /// GS ( L, GS 8 L.
    Keep,
}

#[derive(Debug)]
struct Payload {
    command: &'static str,
    body: Body,
    len: usize,
    got: usize,
    data: Vec<u8>,
}

#[derive(Debug)]
enum State {
    Idle,
    Header,
    Payload(Payload),
    /// Data up to and including a NUL (GS k m = 0..6, ESC D): the data so far, at most
    /// `cap` bytes before the NUL.
    UntilNul {
        command: &'static str,
        data: Vec<u8>,
        cap: usize,
    },
}

/// What the bytes of a command header so far amount to.
enum Step {
    More {
        command: &'static str,
        needed: usize,
    },
    Emit(Vec<EventKind>),
    /// Complete, nothing to report (DLE EOT: the real-time watch reports it).
    Silent,
    Payload {
        command: &'static str,
        body: Body,
        len: usize,
    },
    Invalid {
        command: &'static str,
        reason: String,
    },
    /// The data runs to a NUL, at most `cap` bytes before it.
    UntilNul {
        command: &'static str,
        cap: usize,
    },
}

/// Data of `len` bytes skipped whole.
fn skip(command: &'static str, len: usize) -> Step {
    Step::Payload {
        command,
        body: Body::Skip,
        len,
    }
}

fn more(command: &'static str, needed: usize) -> Step {
    Step::More { command, needed }
}

fn emit(kind: EventKind) -> Step {
    Step::Emit(vec![kind])
}

fn invalid(command: &'static str, reason: String) -> Step {
    Step::Invalid { command, reason }
}

fn unknown(h: &[u8]) -> Step {
    emit(EventKind::Unknown { bytes: h.to_vec() })
}

/// Parameter `i` of a command (callers check the length first).
fn param(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

/// A command with `n` fixed parameter bytes.
fn fixed(command: &'static str, p: &[u8], n: usize, done: impl FnOnce(&[u8]) -> Step) -> Step {
    if p.len() < n {
        more(command, n - p.len())
    } else {
        done(p)
    }
}

/// ESC commands with fixed parameters that do not matter to the rig.
const ESC_IGNORED: &[(u8, &str, usize)] = &[
    (b' ', "ESC SP", 1),
    (b'!', "ESC !", 1),
    (b'$', "ESC $", 2),
    (b'%', "ESC %", 1),
    (b'-', "ESC -", 1),
    (b'2', "ESC 2", 0),
    (b'3', "ESC 3", 1),
    (b'E', "ESC E", 1),
    (b'G', "ESC G", 1),
    (b'M', "ESC M", 1),
    (b'R', "ESC R", 1),
    (b'U', "ESC U", 1),
    (b'V', "ESC V", 1),
    (b'\\', "ESC \\", 2),
    (b'a', "ESC a", 1),
    (b'p', "ESC p", 3),
    (b't', "ESC t", 1),
    (b'{', "ESC {", 1),
    (b'=', "ESC =", 1),
    (b'?', "ESC ?", 1),
    (b'L', "ESC L", 0),
    (b'S', "ESC S", 0),
    (b'T', "ESC T", 1),
    (b'W', "ESC W", 8),
    (b'e', "ESC e", 1),
    (b'r', "ESC r", 1),
    (b'c', "ESC c", 2),
];

/// GS commands with fixed parameters that do not matter to the rig.
const GS_IGNORED: &[(u8, &str, usize)] = &[
    (b'!', "GS !", 1),
    (b'B', "GS B", 1),
    (b'H', "GS H", 1),
    (b'L', "GS L", 2),
    (b'P', "GS P", 2),
    (b'W', "GS W", 2),
    (b'b', "GS b", 1),
    (b'f', "GS f", 1),
    (b'h', "GS h", 1),
    (b'w', "GS w", 1),
    (b'$', "GS $", 2),
    (b'\\', "GS \\", 2),
    (b'T', "GS T", 1),
    (b'^', "GS ^", 3),
    (b':', "GS :", 0),
    (b'/', "GS /", 1),
    (b'g', "GS g", 4),
];

/// GS ( commands (`GS ( letter pL pH data`) the simulated paper does not show yet: QR and
/// 2-D codes (k), graphics (L), user setup (E), and the rest of the family.
const GS_PAREN_SKIPPED: &[(u8, &str)] = &[
    (b'A', "GS ( A"),
    (b'C', "GS ( C"),
    (b'D', "GS ( D"),
    (b'E', "GS ( E"),
    (b'K', "GS ( K"),
    (b'L', "GS ( L"),
    (b'M', "GS ( M"),
    (b'N', "GS ( N"),
    (b'P', "GS ( P"),
    (b'Q', "GS ( Q"),
    (b'k', "GS ( k"),
    (b'z', "GS ( z"),
];

/// FS commands with fixed parameters (kanji and NV bit images) that do not matter to the
/// rig.
const FS_IGNORED: &[(u8, &str, usize)] = &[
    (b'!', "FS !", 1),
    (b'&', "FS &", 0),
    (b'-', "FS -", 1),
    (b'.', "FS .", 0),
    (b'C', "FS C", 1),
    (b'S', "FS S", 2),
    (b'W', "FS W", 1),
    (b'p', "FS p", 2),
];

fn ignored(table: &[(u8, &'static str, usize)], c: u8, p: &[u8], h: &[u8]) -> Step {
    match table.iter().find(|(code, _, _)| *code == c) {
        Some(&(_, command, n)) => fixed(command, p, n, |p| {
            emit(match setting(command, p) {
                Some(s) => EventKind::Setting(s),
                None => EventKind::Ignored { command },
            })
        }),
        None => unknown(h),
    }
}

/// The setting a fixed-length command makes, if the printer draws with it.
fn setting(command: &str, p: &[u8]) -> Option<Setting> {
    let n = param(p, 0);
    let word = u16::from_le_bytes([param(p, 0), param(p, 1)]);
    Some(match command {
        "ESC !" => Setting::PrintMode(n),
        "ESC -" => Setting::Underline(n),
        "ESC 2" => Setting::LineSpacing(None),
        "ESC 3" => Setting::LineSpacing(Some(n)),
        "ESC E" => Setting::Emphasis(n),
        "ESC G" => Setting::DoubleStrike(n),
        "ESC M" => Setting::Font(n),
        "ESC a" => Setting::Justify(n),
        "ESC t" => Setting::CodeTable(n),
        "ESC R" => Setting::International(n),
        "ESC {" => Setting::UpsideDown(n),
        "ESC V" => Setting::Rotate(n),
        "ESC SP" => Setting::CharSpacing(n),
        "ESC $" => Setting::AbsolutePosition(word),
        "ESC \\" => Setting::RelativePosition(word as i16),
        "GS !" => Setting::CharSize(n),
        "GS B" => Setting::Reverse(n),
        "GS L" => Setting::LeftMargin(word),
        "GS W" => Setting::PrintWidth(word),
        "GS H" => Setting::HriPosition(n),
        "GS f" => Setting::HriFont(n),
        "GS h" => Setting::BarcodeHeight(n),
        "GS w" => Setting::BarcodeWidth(n),
        _ => return None,
    })
}

/// Data of `len` bytes kept for the printer when it is not too long, else skipped whole.
fn keep(command: &'static str, len: usize) -> Step {
    if len > MAX_FUNCTION_BYTES {
        tracing::warn!(
            command,
            len,
            "ESC/POS command carries more data than the simulated printer keeps: skipped"
        );
        return skip(command, len);
    }
    Step::Payload {
        command,
        body: Body::Keep,
        len,
    }
}

fn header_step(h: &[u8]) -> Step {
    match h {
        [ESC] => more("ESC", 1),
        [ESC, c, p @ ..] => esc_step(*c, p, h),
        [GS] => more("GS", 1),
        [GS, c, p @ ..] => gs_step(*c, p, h),
        [FS] => more("FS", 1),
        [FS, c, p @ ..] => ignored(FS_IGNORED, *c, p, h),
        [DLE] => more("DLE", 1),
        [DLE, DC4, p @ ..] => fixed("DLE DC4", p, 3, |_| {
            emit(EventKind::Ignored { command: "DLE DC4" })
        }),
        [DLE, EOT] => more("DLE EOT", 1),
        [DLE, EOT, 1..=4] => Step::Silent,
        [DLE, ENQ] => more("DLE ENQ", 1),
        [DLE, ENQ, _] => emit(EventKind::Ignored { command: "DLE ENQ" }),
        // FS c, other DLE commands, DLE EOT with an unknown n.
        _ => unknown(h),
    }
}

fn esc_step(c: u8, p: &[u8], h: &[u8]) -> Step {
    match c {
        b'@' => emit(EventKind::Init),
        b'J' => fixed("ESC J", p, 1, |p| {
            emit(EventKind::Feed {
                rows: u32::from(param(p, 0)),
            })
        }),
        b'd' => fixed("ESC d", p, 1, |p| {
            emit(EventKind::FeedLines {
                lines: u32::from(param(p, 0)),
            })
        }),
        b'*' => fixed("ESC *", p, 3, column_header),
        // ESC ( letter pL pH data (the beeper and its kin): skipped whole.
        b'(' => match *p {
            [] => more("ESC (", 3),
            [_] => more("ESC (", 2),
            [_, _] => more("ESC (", 1),
            [_, lo, hi, ..] => skip("ESC (", usize::from(u16::from_le_bytes([lo, hi]))),
        },
        // Horizontal tab positions, NUL-terminated (at most 32).
        b'D' => Step::UntilNul {
            command: "ESC D",
            cap: 32,
        },
        b'i' => emit(EventKind::Cut { partial: false }),
        b'm' => emit(EventKind::Cut { partial: true }),
        _ => ignored(ESC_IGNORED, c, p, h),
    }
}

fn gs_step(c: u8, p: &[u8], h: &[u8]) -> Step {
    match c {
        b'v' => raster_header(p),
        b'V' => match *p {
            [] | [65 | 66] => more("GS V", 1),
            [0 | 48, ..] => emit(EventKind::Cut { partial: false }),
            [1 | 49, ..] => emit(EventKind::Cut { partial: true }),
            [m @ (65 | 66), n, ..] => {
                let cut = EventKind::Cut { partial: m == 66 };
                if n == 0 {
                    emit(cut)
                } else {
                    Step::Emit(vec![EventKind::Feed { rows: u32::from(n) }, cut])
                }
            }
            [m, ..] => invalid("GS V", format!("cut mode {m}")),
        },
        b'I' => fixed("GS I", p, 1, |p| {
            emit(EventKind::PrinterId { n: param(p, 0) })
        }),
        b'a' => fixed("GS a", p, 1, |p| {
            emit(EventKind::AutoStatusBack { mask: param(p, 0) })
        }),
        b'(' => {
            let known = |f: u8| GS_PAREN_SKIPPED.iter().find(|(l, _)| *l == f).map(|k| k.1);
            let command = |f: u8| match f {
                b'H' => "GS ( H",
                f => known(f).unwrap_or("GS ("),
            };
            match *p {
                [] => more("GS (", 3),
                [f] => more(command(f), 2),
                [f, _] => more(command(f), 1),
                [f, lo, hi, ..] => {
                    let len = usize::from(u16::from_le_bytes([lo, hi]));
                    match known(f) {
                        Some(name @ ("GS ( k" | "GS ( L")) => keep(name, len),
                        Some(name) => skip(name, len),
                        None => Step::Payload {
                            command: command(f),
                            body: Body::Sized { letter: f },
                            len,
                        },
                    }
                }
            }
        }
        b'r' => fixed("GS r", p, 1, |p| {
            emit(EventKind::TransmitStatus { n: param(p, 0) })
        }),
        b'k' => barcode_header(p),
        // GS 8 L p1 p2 p3 p4 data: a graphic with a 32-bit length.
        b'8' => match *p {
            [] => more("GS 8", 1),
            [b'L', ref size @ ..] if size.len() < 4 => more("GS 8 L", 4 - size.len()),
            [b'L', p1, p2, p3, p4, ..] => keep(
                "GS 8 L",
                usize::try_from(u32::from_le_bytes([p1, p2, p3, p4])).unwrap_or(usize::MAX),
            ),
            [f, ..] => invalid("GS 8", format!("function 0x{f:02X} (only L exists)")),
        },
        // GS * x y data: a downloaded bit image of x·8 × y·8 dots.
        b'*' => fixed("GS *", p, 2, |p| {
            skip(
                "GS *",
                usize::from(param(p, 0)) * usize::from(param(p, 1)) * 8,
            )
        }),
        _ => ignored(GS_IGNORED, c, p, h),
    }
}

/// `p` = the bytes after `GS k`: `m d1..dk NUL` (m = 0..6) or `m n d1..dn` (m = 65..73).
fn barcode_header(p: &[u8]) -> Step {
    const CMD: &str = "GS k";
    match *p {
        [] => more(CMD, 1),
        [0..=6, ..] => Step::UntilNul {
            command: CMD,
            cap: 255,
        },
        [65..=79] => more(CMD, 1),
        [65..=79, n, ..] => keep(CMD, usize::from(n)),
        [m, ..] => invalid(CMD, format!("barcode system {m} (0..=6 or 65..=79)")),
    }
}

/// `p` = the bytes after `GS v`.
fn raster_header(p: &[u8]) -> Step {
    const CMD: &str = "GS v 0";
    let (m, xl, xh, yl, yh) = match *p {
        [] => return more(CMD, 6),
        [b'0', m, xl, xh, yl, yh, ..] => (m, xl, xh, yl, yh),
        [b'0', ref rest @ ..] => return more(CMD, 5usize.saturating_sub(rest.len())),
        [f, ..] => return invalid("GS v", format!("function 0x{f:02X} (only 0x30 exists)")),
    };
    let mode = match m {
        0..=3 => m,
        48..=51 => m - 48,
        _ => return invalid(CMD, format!("mode {m}")),
    };
    let width_bytes = u32::from(u16::from_le_bytes([xl, xh]));
    let rows = u32::from(u16::from_le_bytes([yl, yh]));
    if width_bytes == 0 {
        return invalid(CMD, "zero width".to_string());
    }
    if rows == 0 {
        return invalid(CMD, "zero height".to_string());
    }
    if width_bytes * 8 > MAX_RASTER_DOTS {
        return invalid(
            CMD,
            format!(
                "width {} dots exceeds the {MAX_RASTER_DOTS}-dot limit",
                width_bytes * 8
            ),
        );
    }
    if rows > MAX_RASTER_ROWS {
        return invalid(
            CMD,
            format!("height {rows} rows exceeds the {MAX_RASTER_ROWS}-row limit"),
        );
    }
    Step::Payload {
        command: CMD,
        body: Body::Raster {
            width_bytes,
            rows,
            mode,
        },
        len: width_bytes as usize * rows as usize,
    }
}

/// Bytes per column, dot width and dot height of an ESC * mode.
fn column_geometry(mode: u8) -> Option<(usize, u32, u32)> {
    match mode {
        0 => Some((1, 2, 3)),
        1 => Some((1, 1, 3)),
        32 => Some((3, 2, 1)),
        33 => Some((3, 1, 1)),
        _ => None,
    }
}

/// `p` = m nL nH.
fn column_header(p: &[u8]) -> Step {
    const CMD: &str = "ESC *";
    let mode = param(p, 0);
    let Some((per_column, sx, _)) = column_geometry(mode) else {
        return invalid(CMD, format!("mode {mode}"));
    };
    let columns = u32::from(u16::from_le_bytes([param(p, 1), param(p, 2)]));
    if columns == 0 {
        return invalid(CMD, "zero columns".to_string());
    }
    if columns * sx > MAX_RASTER_DOTS {
        return invalid(
            CMD,
            format!(
                "{columns} columns print {} dots, over the {MAX_RASTER_DOTS}-dot limit",
                columns * sx
            ),
        );
    }
    Step::Payload {
        command: CMD,
        body: Body::Column { mode },
        len: columns as usize * per_column,
    }
}

/// GS v 0 data to printed dots. `None` if the data does not match the size.
fn expand_raster(data: &[u8], width_bytes: u32, rows: u32, mode: u8) -> Option<Bitmap> {
    if width_bytes == 0 {
        return None;
    }
    let (sx, sy) = match mode {
        1 => (2, 1),
        2 => (1, 2),
        3 => (2, 2),
        _ => (1, 1),
    };
    let width = width_bytes * 8 * sx;
    let height = rows * sy;
    let mut dots = Vec::with_capacity(width as usize * height as usize);
    let mut line = Vec::with_capacity(width as usize);
    for row in data.chunks_exact(width_bytes as usize) {
        line.clear();
        for &byte in row {
            for bit in (0..8).rev() {
                let dot = (byte >> bit) & 1;
                line.extend(std::iter::repeat_n(dot, sx as usize));
            }
        }
        for _ in 0..sy {
            dots.extend_from_slice(&line);
        }
    }
    Bitmap::from_dots(width, height, dots)
}

/// ESC * data to printed dots (always `BIT_IMAGE_ROWS` rows).
fn expand_columns(data: &[u8], mode: u8) -> Option<Bitmap> {
    let (per_column, sx, sy) = column_geometry(mode)?;
    let columns = u32::try_from(data.len() / per_column).ok()?;
    let mut bitmap = Bitmap::new(columns * sx, BIT_IMAGE_ROWS);
    for (c, column) in (0u32..).zip(data.chunks_exact(per_column)) {
        let bits = column
            .iter()
            .flat_map(|&byte| (0..8).rev().map(move |b| (byte >> b) & 1 != 0));
        for (j, on) in (0u32..).zip(bits) {
            if on {
                for dy in 0..sy {
                    for dx in 0..sx {
                        bitmap.set(c * sx + dx, j * sy + dy, true);
                    }
                }
            }
        }
    }
    Some(bitmap)
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn push_event(out: &mut Vec<Event>, offset: usize, kind: EventKind) {
    if let EventKind::Unknown { bytes } = &kind {
        tracing::warn!(
            offset,
            bytes = %hex(bytes),
            "skipping unknown ESC/POS command"
        );
    }
    out.push(Event { offset, kind });
}

fn is_printable(b: u8) -> bool {
    (0x20..=0x7E).contains(&b) || b >= 0x80
}

/// Incremental ESC/POS parser. Feeding the same bytes in any split gives the same events.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    /// Header bytes of the command being parsed, `hdr[..hlen]`.
    hdr: [u8; HEADER_CAP],
    hlen: usize,
    /// Offset of the command being parsed.
    cmd_start: usize,
    /// Pending text run and its first offset.
    text: Vec<u8>,
    text_start: usize,
    /// Bytes consumed so far.
    offset: usize,
    /// Real-time watch: 0 idle, 1 after 0x10, 2 after 0x10 0x04; `rt_start` = the 0x10.
    rt_state: u8,
    rt_start: usize,
    /// Once an error is reported the decoder keeps reporting it.
    failed: Option<DecodeError>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    pub fn new() -> Self {
        Decoder {
            state: State::Idle,
            hdr: [0; HEADER_CAP],
            hlen: 0,
            cmd_start: 0,
            text: Vec::new(),
            text_start: 0,
            offset: 0,
            rt_state: 0,
            rt_start: 0,
            failed: None,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Feeds more bytes (any split gives identical results) and appends the completed
    /// events to `out`. On a corrupt command returns `Invalid` with the command's offset;
    /// the events before it are already in `out`, and every later call returns the same
    /// error.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Event>) -> Result<(), DecodeError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let in_payload = match &self.state {
                State::Payload(p) => Some(p.len.saturating_sub(p.got)),
                _ => None,
            };
            let result = if let Some(remaining) = in_payload {
                let (chunk, tail) = rest.split_at(remaining.min(rest.len()));
                rest = tail;
                self.payload_bytes(chunk, out)
            } else if let Some((&b, tail)) = rest.split_first() {
                rest = tail;
                self.watch(self.offset, b, out);
                let r = self.step(b, out);
                self.offset += 1;
                r
            } else {
                Ok(())
            };
            if let Err(err) = result {
                self.failed = Some(err.clone());
                return Err(err);
            }
        }
        Ok(())
    }

    /// Declares the end of the stream: emits a pending text run, and fails with
    /// `Truncated` if a command is incomplete.
    pub fn finish(&mut self, out: &mut Vec<Event>) -> Result<(), DecodeError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        self.flush_text(out);
        let header_len = self.hlen.min(HEADER_CAP);
        let err = match &self.state {
            State::Idle => return Ok(()),
            State::Header => {
                let (command, needed) = match header_step(&self.hdr[..header_len]) {
                    Step::More { command, needed } => (command, needed),
                    _ => ("command", 1),
                };
                DecodeError::Truncated {
                    offset: self.cmd_start,
                    command,
                    needed,
                    got: header_len,
                }
            }
            State::Payload(p) => DecodeError::Truncated {
                offset: self.cmd_start,
                command: p.command,
                needed: p.len.saturating_sub(p.got),
                got: header_len + p.got,
            },
            State::UntilNul { command, data, .. } => DecodeError::Truncated {
                offset: self.cmd_start,
                command,
                needed: 1,
                got: header_len + data.len(),
            },
        };
        self.failed = Some(err.clone());
        Err(err)
    }

    /// The real-time watch: sees every byte and reports `10 04 n` (n in 1..=4) as soon as
    /// its third byte arrives, whatever the parser is doing.
    fn watch(&mut self, at: usize, b: u8, out: &mut Vec<Event>) {
        match (self.rt_state, b) {
            (2, 1..=4) => {
                self.rt_state = 0;
                push_event(out, self.rt_start, EventKind::RealtimeStatus { n: b });
            }
            (1, EOT) => self.rt_state = 2,
            (_, DLE) => {
                self.rt_state = 1;
                self.rt_start = at;
            }
            _ => self.rt_state = 0,
        }
    }

    fn flush_text(&mut self, out: &mut Vec<Event>) {
        if !self.text.is_empty() {
            let text = std::mem::take(&mut self.text);
            push_event(out, self.text_start, EventKind::Text(text));
        }
    }

    /// One byte outside any payload.
    fn step(&mut self, b: u8, out: &mut Vec<Event>) -> Result<(), DecodeError> {
        match self.state {
            State::Idle => {
                if is_printable(b) {
                    if self.text.is_empty() {
                        self.text_start = self.offset;
                    }
                    self.text.push(b);
                    if self.text.len() >= MAX_TEXT_RUN {
                        self.flush_text(out);
                    }
                    return Ok(());
                }
                self.flush_text(out);
                match b {
                    LF => push_event(out, self.offset, EventKind::LineFeed),
                    CR => {}
                    HT => push_event(out, self.offset, EventKind::Tab),
                    FF => push_event(out, self.offset, EventKind::Ignored { command: "FF" }),
                    CAN => push_event(out, self.offset, EventKind::Ignored { command: "CAN" }),
                    ESC | GS | FS | DLE => {
                        self.hdr[0] = b;
                        self.hlen = 1;
                        self.cmd_start = self.offset;
                        self.state = State::Header;
                    }
                    _ => push_event(out, self.offset, EventKind::Unknown { bytes: vec![b] }),
                }
                Ok(())
            }
            State::Header => {
                let Some(slot) = self.hdr.get_mut(self.hlen) else {
                    return Err(self.invalid("command", "header too long".to_string()));
                };
                *slot = b;
                self.hlen += 1;
                match header_step(&self.hdr[..self.hlen]) {
                    Step::More { .. } => Ok(()),
                    Step::Silent => {
                        self.state = State::Idle;
                        Ok(())
                    }
                    Step::Emit(kinds) => {
                        self.state = State::Idle;
                        for kind in kinds {
                            push_event(out, self.cmd_start, kind);
                        }
                        Ok(())
                    }
                    Step::Invalid { command, reason } => Err(self.invalid(command, reason)),
                    Step::UntilNul { command, cap } => {
                        self.state = State::UntilNul {
                            command,
                            data: Vec::new(),
                            cap,
                        };
                        Ok(())
                    }
                    Step::Payload { command, body, len } => {
                        let keep = match body {
                            Body::Sized { .. } => len.min(MAX_UNKNOWN_BYTES),
                            Body::Skip => 0,
                            _ => len,
                        };
                        self.state = State::Payload(Payload {
                            command,
                            body,
                            len,
                            got: 0,
                            data: Vec::with_capacity(keep),
                        });
                        if len == 0 {
                            self.complete_payload(out)
                        } else {
                            Ok(())
                        }
                    }
                }
            }
            State::UntilNul {
                command,
                ref mut data,
                cap,
            } => {
                if b == 0 {
                    let data = std::mem::take(data);
                    self.state = State::Idle;
                    let kind = match command {
                        "GS k" => EventKind::Barcode {
                            m: self.hdr[2],
                            data,
                        },
                        "ESC D" => EventKind::Setting(Setting::TabStops(data)),
                        _ => EventKind::Ignored { command },
                    };
                    push_event(out, self.cmd_start, kind);
                    Ok(())
                } else if data.len() >= cap {
                    Err(self.invalid(command, format!("no NUL within {cap} data bytes")))
                } else {
                    data.push(b);
                    Ok(())
                }
            }
            State::Payload(_) => Err(self.invalid(
                "command",
                "internal: payload byte routed to the header parser".to_string(),
            )),
        }
    }

    /// Payload bytes of the current command (`chunk` never runs past its end).
    fn payload_bytes(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), DecodeError> {
        for (i, &b) in chunk.iter().enumerate() {
            self.watch(self.offset + i, b, out);
        }
        self.offset += chunk.len();
        let State::Payload(p) = &mut self.state else {
            return Ok(());
        };
        let room = match p.body {
            Body::Sized { .. } => MAX_UNKNOWN_BYTES.saturating_sub(p.data.len()),
            Body::Skip => 0,
            _ => chunk.len(),
        };
        p.data.extend_from_slice(chunk.get(..room).unwrap_or(chunk));
        p.got += chunk.len();
        if p.got >= p.len {
            self.complete_payload(out)?;
        }
        Ok(())
    }

    fn complete_payload(&mut self, out: &mut Vec<Event>) -> Result<(), DecodeError> {
        let State::Payload(p) = std::mem::replace(&mut self.state, State::Idle) else {
            return Ok(());
        };
        let kind = match p.body {
            Body::Raster {
                width_bytes,
                rows,
                mode,
            } => EventKind::Raster(expand_raster(&p.data, width_bytes, rows, mode).ok_or_else(
                || self.invalid(p.command, "internal: image size mismatch".to_string()),
            )?),
            Body::Column { mode } => {
                EventKind::BitImage(expand_columns(&p.data, mode).ok_or_else(|| {
                    self.invalid(p.command, "internal: image size mismatch".to_string())
                })?)
            }
            Body::Keep if p.command == "GS k" => EventKind::Barcode {
                m: self.hdr[2],
                data: p.data,
            },
            Body::Keep => EventKind::Function {
                command: p.command,
                data: p.data,
            },
            Body::Sized { letter: b'H' } if p.data.first() == Some(&0x30) => {
                match (p.len, p.data.as_slice()) {
                    (6, &[0x30, 0x30, a, b, c, d]) => EventKind::ProcessId { id: [a, b, c, d] },
                    (len, data) => {
                        return Err(self.invalid(
                            p.command,
                            format!(
                                "process id needs 6 parameter bytes with m = 48, got {len} bytes, m = {}",
                                data.get(1).map_or("none".to_string(), |m| m.to_string())
                            ),
                        ))
                    }
                }
            }
            Body::Skip => EventKind::Ignored { command: p.command },
            Body::Sized { .. } => {
                let header = self.hdr.get(..self.hlen).unwrap_or(&[]);
                let mut bytes = header.to_vec();
                bytes.extend_from_slice(&p.data);
                bytes.truncate(MAX_UNKNOWN_BYTES);
                EventKind::Unknown { bytes }
            }
        };
        push_event(out, self.cmd_start, kind);
        Ok(())
    }

    fn invalid(&self, command: &'static str, reason: String) -> DecodeError {
        DecodeError::Invalid {
            offset: self.cmd_start,
            command,
            reason,
        }
    }
}

/// What a file that cannot be an ESC/POS job is, judged by its first bytes (an image, a
/// document, an archive), or `None` when it may be one.
pub fn foreign_format(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"II*\x00", "a TIFF image"),
        (b"MM\x00*", "a TIFF image"),
        (b"GIF8", "a GIF image"),
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x1f\x8b", "a gzip file"),
    ];
    // A BMP starts "BM", its size, then four reserved zero bytes (text may start "BM").
    if bytes.len() >= 14 && bytes.starts_with(b"BM") && bytes[6..10] == [0, 0, 0, 0] {
        return Some("a BMP image");
    }
    SIGNATURES
        .iter()
        .find(|(sig, _)| bytes.starts_with(sig))
        .map(|(_, what)| *what)
}

/// Decodes a whole stream: the events, and whether it ended cleanly.
pub fn decode_all(bytes: &[u8]) -> (Vec<Event>, Result<(), DecodeError>) {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let result = decoder
        .push(bytes, &mut out)
        .and_then(|()| decoder.finish(&mut out));
    (out, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(bytes: &[u8]) -> Vec<EventKind> {
        let (events, result) = decode_all(bytes);
        result.expect("clean stream");
        events.into_iter().map(|e| e.kind).collect()
    }

    #[test]
    fn simple_commands() {
        let got = kinds(b"\x1b@\x1bJ\x05\x1bd\x02\x1dV\x00\x1dV\x31\x1dVB\x03\x1dI\x43\x1da\x0f");
        assert_eq!(
            got,
            vec![
                EventKind::Init,
                EventKind::Feed { rows: 5 },
                EventKind::FeedLines { lines: 2 },
                EventKind::Cut { partial: false },
                EventKind::Cut { partial: true },
                EventKind::Feed { rows: 3 },
                EventKind::Cut { partial: true },
                EventKind::PrinterId { n: 0x43 },
                EventKind::AutoStatusBack { mask: 0x0f },
            ]
        );
    }

    #[test]
    fn settings_consume_their_parameters() {
        // ESC ! 0x41 must not turn 'A' into text; GS L takes two bytes.
        let got = kinds(b"\x1b!\x41\x1b2\x1dL\x41\x42\x1ba\x01\x1b\\\xfe\xff\x1bp\x00\x01\x02x");
        assert_eq!(
            got,
            vec![
                EventKind::Setting(Setting::PrintMode(0x41)),
                EventKind::Setting(Setting::LineSpacing(None)),
                EventKind::Setting(Setting::LeftMargin(0x4241)),
                EventKind::Setting(Setting::Justify(1)),
                EventKind::Setting(Setting::RelativePosition(-2)),
                EventKind::Ignored { command: "ESC p" },
                EventKind::Text(b"x".to_vec()),
            ]
        );
    }

    #[test]
    fn unknown_gs_paren_is_skipped_whole() {
        let got = kinds(b"\x1d(x\x03\x00\x31\x41\x42ok\x1d(H\x02\x00\x31\x31");
        assert_eq!(
            got,
            vec![
                EventKind::Unknown {
                    bytes: b"\x1d(x\x03\x00\x31\x41\x42".to_vec()
                },
                EventKind::Text(b"ok".to_vec()),
                EventKind::Unknown {
                    bytes: b"\x1d(H\x02\x00\x31\x31".to_vec()
                },
            ]
        );
        // A huge unknown command keeps only its first bytes.
        let mut big = b"\x1d(x\x00\x01".to_vec();
        big.extend(std::iter::repeat_n(0x55, 256));
        match kinds(&big).as_slice() {
            [EventKind::Unknown { bytes }] => assert_eq!(bytes.len(), MAX_UNKNOWN_BYTES),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn barcodes_codes_and_graphics_are_skipped_whole_whatever_their_data() {
        let ig = |command| EventKind::Ignored { command };
        // CODE39 payloads starting "V" and "VX" (once read as cut commands), both forms.
        let got = kinds(b"\x1dk\x04VX12\x00a\x1dkE\x04VX12b\x1dkI\x03V\x1dVc");
        let barcode = |m, data: &[u8]| EventKind::Barcode {
            m,
            data: data.to_vec(),
        };
        assert_eq!(
            got,
            vec![
                barcode(4, b"VX12"),
                EventKind::Text(b"a".to_vec()),
                barcode(69, b"VX12"),
                EventKind::Text(b"b".to_vec()),
                barcode(73, b"V\x1dV"),
                EventKind::Text(b"c".to_vec()),
            ]
        );
        let function = |command, data: &[u8]| EventKind::Function {
            command,
            data: data.to_vec(),
        };
        // QR store and print, a GS ( L graphic, a GS 8 L graphic whose data is full of
        // command bytes, a downloaded bit image: one event each, nothing read as commands.
        let mut job = b"\x1d(k\x04\x001A2\x00\x1d(k\x03\x001Q0".to_vec();
        job.extend_from_slice(b"\x1d(L\x06\x000p0\x1dV\x00");
        job.extend_from_slice(b"\x1d8L\x08\x00\x00\x000p\x1b@\x1dV\x00\x0a");
        job.extend_from_slice(b"\x1d*\x01\x01\x1dV\x00\x1dV\x00\x1dV");
        job.extend_from_slice(b"\x1bD\x08\x10\x00\x18\x10\x14\x01\x00\x01\x1cp\x01\x00");
        job.extend_from_slice(b"\x1b(A\x04\x000a\x1dV");
        // The longest fixed header: ESC W, eight parameters (page mode print area).
        job.extend_from_slice(b"\x1bW\x00\x00\x00\x00\x40\x02\x00\x03ok");
        assert_eq!(
            kinds(&job),
            vec![
                function("GS ( k", b"1A2\x00"),
                function("GS ( k", b"1Q0"),
                function("GS ( L", b"0p0\x1dV\x00"),
                function("GS 8 L", b"0p\x1b@\x1dV\x00\x0a"),
                ig("GS *"),
                EventKind::Setting(Setting::TabStops(vec![8, 0x10])),
                ig("CAN"),
                ig("DLE DC4"),
                ig("FS p"),
                ig("ESC ("),
                ig("ESC W"),
                EventKind::Text(b"ok".to_vec()),
            ]
        );
    }

    #[test]
    fn images_and_documents_are_told_apart_from_jobs() {
        assert_eq!(
            foreign_format(b"\x89PNG\r\n\x1a\n\0\0"),
            Some("a PNG image")
        );
        assert_eq!(foreign_format(b"%PDF-1.7"), Some("a PDF document"));
        assert_eq!(foreign_format(b"\x1b@hello\n\x1dV\x00"), None);
        assert_eq!(foreign_format(b"BMW receipt\n\x1dV\x00"), None);
        assert_eq!(
            foreign_format(b"BM\x36\x00\x01\x00\x00\x00\x00\x00\x36\x00\x00\x00"),
            Some("a BMP image")
        );
        assert_eq!(foreign_format(b""), None);
    }

    #[test]
    fn a_corrupt_barcode_or_tab_list_names_its_offset() {
        let (_, r) = decode_all(b"abc\x1dk\x07123");
        assert!(
            matches!(
                &r,
                Err(DecodeError::Invalid {
                    offset: 3,
                    command: "GS k",
                    ..
                })
            ),
            "{r:?}"
        );
        // The stream ends inside a barcode's data.
        let (events, r) = decode_all(b"ok\x1dk\x04ABC");
        assert_eq!(events.len(), 1);
        assert!(
            matches!(
                &r,
                Err(DecodeError::Truncated {
                    offset: 2,
                    command: "GS k",
                    ..
                })
            ),
            "{r:?}"
        );
        let mut tabs = b"\x1bD".to_vec();
        tabs.extend(1..=40u8);
        let (_, r) = decode_all(&tabs);
        assert!(
            matches!(
                &r,
                Err(DecodeError::Invalid {
                    offset: 0,
                    command: "ESC D",
                    ..
                })
            ),
            "{r:?}"
        );
        // A GS 8 L that declares more than it sends is truncated, not allocated.
        let (_, r) = decode_all(b"\x1d8L\xff\xff\xff\x7f0p");
        assert!(
            matches!(
                &r,
                Err(DecodeError::Truncated {
                    command: "GS 8 L",
                    ..
                })
            ),
            "{r:?}"
        );
    }

    #[test]
    fn malformed_process_id_is_invalid() {
        let (_, r) = decode_all(b"ab\x1d(H\x05\x00\x30\x30\x31\x32\x33");
        assert!(
            matches!(
                r,
                Err(DecodeError::Invalid {
                    offset: 2,
                    command: "GS ( H",
                    ..
                })
            ),
            "{r:?}"
        );
    }

    #[test]
    fn long_text_is_split_at_the_cap() {
        let text = vec![b'a'; MAX_TEXT_RUN + 10];
        let (events, r) = decode_all(&text);
        r.expect("clean");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].offset, MAX_TEXT_RUN);
        assert_eq!(events[1].kind, EventKind::Text(vec![b'a'; 10]));
    }

    #[test]
    fn realtime_command_outside_images_is_reported_once() {
        let (events, r) = decode_all(b"A\x10\x04\x03\x10\x04\x07B");
        r.expect("clean");
        assert_eq!(
            events,
            vec![
                Event {
                    offset: 0,
                    kind: EventKind::Text(b"A".to_vec())
                },
                Event {
                    offset: 1,
                    kind: EventKind::RealtimeStatus { n: 3 }
                },
                Event {
                    offset: 4,
                    kind: EventKind::Unknown {
                        bytes: vec![0x10, 0x04, 0x07]
                    }
                },
                Event {
                    offset: 7,
                    kind: EventKind::Text(b"B".to_vec())
                },
            ]
        );
    }

    #[test]
    fn errors_stick() {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        let err = d.push(b"\x1dV\x07", &mut out).expect_err("bad cut mode");
        assert_eq!(err.offset(), 0);
        assert_eq!(err.to_string(), "invalid GS V at byte 0: cut mode 7");
        assert_eq!(d.push(b"\x1b@", &mut out), Err(err.clone()));
        assert_eq!(d.finish(&mut out), Err(err));
        assert!(out.is_empty());
    }

    #[test]
    fn raster_limits() {
        let check = |bytes: &[u8], reason: &str| {
            let (_, r) = decode_all(bytes);
            match r {
                Err(DecodeError::Invalid { reason: got, .. }) => assert_eq!(got, reason),
                other => panic!("{other:?}"),
            }
        };
        check(b"\x1dv0\x00\x00\x00\x01\x00", "zero width");
        check(b"\x1dv0\x00\x01\x00\x00\x00", "zero height");
        check(
            b"\x1dv0\x00\x01\x02\x01\x00",
            "width 4104 dots exceeds the 4096-dot limit",
        );
        check(
            b"\x1dv0\x00\x01\x00\x00\x09",
            "height 2304 rows exceeds the 2303-row limit",
        );
        check(b"\x1dv1", "function 0x31 (only 0x30 exists)");
        check(b"\x1b*\x02\x01\x00", "mode 2");
        check(b"\x1b*\x21\x00\x00", "zero columns");
    }

    /// Random streams drawn from command-ish bytes: never a panic, and byte-by-byte
    /// feeding gives exactly what one push gives.
    #[test]
    fn random_streams_decode_the_same_in_any_split() {
        const ALPHABET: &[u8] = &[
            0x1B, 0x1D, 0x1C, 0x10, 0x04, 0x01, 0x02, 0x00, 0x0A, 0x0D, b'v', b'0', b'*', b'(',
            b'H', b'V', b'@', b'J', b'I', b'a', b'A', 0x21, 0x30, 0x03, 0x41, 0xFF, 0x06, b'k',
            b'8', b'L', b'D', 0x18, 0x14, 0x45,
        ];
        let mut state = 0x1234_5678_u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        for _ in 0..400 {
            let len = next() % 200;
            let bytes: Vec<u8> = (0..len)
                .map(|_| ALPHABET[next() % ALPHABET.len()])
                .collect();
            let (whole, r1) = decode_all(&bytes);
            let mut d = Decoder::new();
            let mut split = Vec::new();
            let mut r2 = Ok(());
            for b in &bytes {
                r2 = d.push(std::slice::from_ref(b), &mut split);
                if r2.is_err() {
                    break;
                }
            }
            if r2.is_ok() {
                r2 = d.finish(&mut split);
            }
            assert_eq!(whole, split, "{bytes:02X?}");
            assert_eq!(r1, r2, "{bytes:02X?}");
            let rt = whole
                .iter()
                .filter(|e| matches!(e.kind, EventKind::RealtimeStatus { .. }))
                .count();
            if r1.is_ok() {
                let expected = super::super::encode::realtime_hazards(&bytes).len();
                assert_eq!(rt, expected, "{bytes:02X?}");
            }
        }
    }
}

//! ESC/POS, the byte language between the rig and the printer.
//!
//! Owns both directions of the wire format: encoding a pattern bitmap into a print job
//! (`encode`), parsing a job the way a printer does (`decode`, used by the simulated
//! printer) and the status replies that flow back (`status`). It must not open links,
//! wait on time or decide what a test means: it turns bitmaps and states into bytes and
//! bytes back into events, nothing more.

pub mod decode;
pub mod encode;
pub mod status;

pub use decode::{decode_all, DecodeError, Decoder, Event, EventKind};
pub use encode::{
    band_of_offset, encode_bitmap, realtime_hazards, CutKind, EncodeError, EncodeOptions, Job,
    JobBand, RealtimeHazard,
};
pub use status::{
    auto_status_bytes, dle_eot_reply, parse_auto_status, parse_dle_eot, parse_printer_id_reply,
    parse_process_id_reply, printer_id_reply, process_id_reply, IdReply, PrinterInfo, PrinterState,
    Reply, ReplySplitter, StatusError, StatusReport,
};

/// Horizontal tab.
pub const HT: u8 = 0x09;
/// Line feed: print the line buffer and advance one line.
pub const LF: u8 = 0x0A;
/// Form feed.
pub const FF: u8 = 0x0C;
/// Carriage return (ignored by printers in the default configuration).
pub const CR: u8 = 0x0D;
/// End of transmission, the second byte of DLE EOT.
pub const EOT: u8 = 0x04;
/// Enquiry, the second byte of DLE ENQ.
pub const ENQ: u8 = 0x05;
/// Data link escape: prefix of the real-time commands.
pub const DLE: u8 = 0x10;
/// Device control 4 (DLE DC4: real-time requests).
pub const DC4: u8 = 0x14;
/// Cancel (page mode: clears the print data of the area).
pub const CAN: u8 = 0x18;
/// XON flow-control byte a printer may insert in its replies.
pub const XON: u8 = 0x11;
/// XOFF flow-control byte a printer may insert in its replies.
pub const XOFF: u8 = 0x13;
/// Escape: prefix of most commands.
pub const ESC: u8 = 0x1B;
/// File separator: prefix of the FS commands (kanji, NV images).
pub const FS: u8 = 0x1C;
/// Group separator: prefix of the GS commands (images, cut, status).
pub const GS: u8 = 0x1D;

/// Widest raster the codec accepts, in dots of image data (before any scaling).
pub const MAX_RASTER_DOTS: u32 = 4096;
/// Most rows one GS v 0 command may carry: many printers refuse taller images.
pub const MAX_RASTER_ROWS: u32 = 2303;

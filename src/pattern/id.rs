//! The pattern id strip: which pattern, its width in dots and a serial number, written as
//! Manchester-coded cells so a scan can be read back by comparing each cell with its twin
//! (robust to light or faded print) and checked with a CRC.

use super::PatternKind;

/// Width of one cell in dots; a bit is two cells (ink+white = 1, white+ink = 0).
pub const CELL_W: u32 = 4;
/// Height of one line of cells in rows.
pub const CELL_H: u32 = 8;
/// Bits per line.
pub const BITS_PER_LINE: u32 = 11;
/// Lines per copy of the strip.
pub const LINES: u32 = 4;
/// Total payload bits: version 4, kind 4, dots 12, serial 16, crc 8.
pub const BITS: u32 = BITS_PER_LINE * LINES;
/// Size of one copy of the strip in dots.
pub const STRIP_W: u32 = BITS_PER_LINE * 2 * CELL_W;
pub const STRIP_H: u32 = LINES * CELL_H;

const VERSION: u64 = 0xA;

/// What the strip says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PatternId {
    pub kind: PatternKind,
    pub dots: u32,
    pub serial: u16,
}

fn crc8(data: u64, nbits: u32) -> u8 {
    // CRC-8/ATM (poly 0x07) over the payload bits, MSB first, with a non-zero init so an
    // all-white or all-black strip never checks.
    let mut crc: u8 = 0x5A;
    for i in (0..nbits).rev() {
        let bit = ((data >> i) & 1) as u8;
        let top = (crc >> 7) & 1;
        crc <<= 1;
        if top ^ bit != 0 {
            crc ^= 0x07;
        }
    }
    crc
}

impl PatternId {
    /// The payload bits, most significant first.
    pub fn bits(&self) -> Vec<bool> {
        let payload: u64 = (VERSION << 32)
            | ((self.kind.code() as u64 & 0xF) << 28)
            | ((self.dots as u64 & 0xFFF) << 16)
            | self.serial as u64;
        let word = (payload << 8) | crc8(payload, 36) as u64;
        (0..BITS).rev().map(|i| (word >> i) & 1 == 1).collect()
    }

    /// Decodes payload bits; `None` when the CRC, version or kind does not check.
    pub fn from_bits(bits: &[bool]) -> Option<PatternId> {
        if bits.len() != BITS as usize {
            return None;
        }
        let word = bits.iter().fold(0u64, |acc, &b| (acc << 1) | b as u64);
        let payload = word >> 8;
        if crc8(payload, 36) != (word & 0xFF) as u8 || (payload >> 32) != VERSION {
            return None;
        }
        let kind = PatternKind::from_code(((payload >> 28) & 0xF) as u8)?;
        Some(PatternId {
            kind,
            dots: ((payload >> 16) & 0xFFF) as u32,
            serial: (payload & 0xFFFF) as u16,
        })
    }

    /// Cell position (x offset in dots, y offset in rows) of bit `i`'s first cell inside
    /// the strip. Its twin is `CELL_W` dots to the right.
    pub fn cell_of(i: u32) -> (u32, u32) {
        let line = i / BITS_PER_LINE;
        let col = i % BITS_PER_LINE;
        (col * 2 * CELL_W, line * CELL_H)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_crc_catches_flips() {
        let id = PatternId {
            kind: PatternKind::Ladder,
            dots: 576,
            serial: 4242,
        };
        let bits = id.bits();
        assert_eq!(PatternId::from_bits(&bits), Some(id));
        for i in 0..bits.len() {
            let mut b = bits.clone();
            b[i] = !b[i];
            assert_eq!(
                PatternId::from_bits(&b),
                None,
                "flip of bit {i} went unnoticed"
            );
        }
        assert_eq!(PatternId::from_bits(&[false; BITS as usize]), None);
        assert_eq!(PatternId::from_bits(&[true; BITS as usize]), None);
    }
}

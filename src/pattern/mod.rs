//! Calibrated test patterns on the printer's own dot grid (1 px = 1 dot).
//!
//! Owns the bitmaps, their fiducials, the pattern id strip and the machine-readable
//! description of every region that analysis relies on. It must not know about scans,
//! links or printers: a pattern is pure data, the same for a given kind, width and serial.

mod bitmap;
pub mod id;
mod kinds;

pub use bitmap::Bitmap;
pub use id::PatternId;

use crate::defect::DefectKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Side of a fiducial mark in dots (a solid square).
pub const FIDUCIAL: u32 = 32;
/// White margin kept around every fiducial.
pub const QUIET: u32 = 12;
/// Left/right margin of fiducials and id strips.
pub const MARGIN: u32 = 8;
/// Rows of the header (top margin, fiducials, id strips) before the body.
pub const HEADER_ROWS: u32 = 96;
/// First row of the top fiducials.
pub const TOP_FIDUCIAL_Y: u32 = 8;
/// First row of the id strips.
pub const ID_Y: u32 = TOP_FIDUCIAL_Y + FIDUCIAL + QUIET;
/// Rows between the body and the bottom fiducials.
pub const FOOTER_GAP: u32 = 16;
/// Rows after the bottom fiducials.
pub const BOTTOM_MARGIN: u32 = 8;
/// Narrowest and widest heads supported.
pub const MIN_DOTS: u32 = 256;
pub const MAX_DOTS: u32 = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PatternKind {
    Solid,
    Ladder,
    Elements,
    DenseSparse,
    Receipt,
}

impl PatternKind {
    pub const ALL: [PatternKind; 5] = [
        PatternKind::Solid,
        PatternKind::Ladder,
        PatternKind::Elements,
        PatternKind::DenseSparse,
        PatternKind::Receipt,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PatternKind::Solid => "solid",
            PatternKind::Ladder => "ladder",
            PatternKind::Elements => "elements",
            PatternKind::DenseSparse => "dense-sparse",
            PatternKind::Receipt => "receipt",
        }
    }

    pub fn parse(s: &str) -> Option<PatternKind> {
        PatternKind::ALL.into_iter().find(|k| k.name() == s)
    }

    pub fn code(self) -> u8 {
        match self {
            PatternKind::Solid => 1,
            PatternKind::Ladder => 2,
            PatternKind::Elements => 3,
            PatternKind::DenseSparse => 4,
            PatternKind::Receipt => 5,
        }
    }

    pub fn from_code(c: u8) -> Option<PatternKind> {
        PatternKind::ALL.into_iter().find(|k| k.code() == c)
    }

    pub fn description(self) -> &'static str {
        match self {
            PatternKind::Solid => "full-width solid bands: dead elements, dropped blocks, half width, fades, banding",
            PatternKind::Ladder => "full-width bands at 12.5/25/50/75/100 % coverage: density response",
            PatternKind::Elements => "every dot column on its own in a staggered staircase: one heater element / nozzle each",
            PatternKind::DenseSparse => "alternating 100 % and 10 % bands: supply sag fades dense lines",
            PatternKind::Receipt => "receipt-like page at about 12 % coverage: text rows, barcode, logo",
        }
    }

    /// The defects this pattern is designed to reveal. Every pattern also reveals
    /// `truncated`, `blank`, `wrong_pattern` and `unregistered`.
    pub fn reveals(self) -> &'static [DefectKind] {
        use DefectKind::*;
        match self {
            PatternKind::Solid => &[
                DeadElement,
                BlockDropout,
                HalfWidth,
                FadeAcross,
                FadeAlong,
                Banding,
                Light,
                Truncated,
            ],
            PatternKind::Ladder => &[Light, HalfWidth, BlockDropout, Truncated],
            PatternKind::Elements => &[DeadElement, BlockDropout, HalfWidth, Truncated],
            PatternKind::DenseSparse => &[DenseLineFade, HalfWidth, Truncated],
            PatternKind::Receipt => &[Truncated, HalfWidth],
        }
    }
}

impl fmt::Display for PatternKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which corner row a fiducial sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edge {
    Top,
    Bottom,
}

/// A solid square registration mark.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fiducial {
    pub edge: Edge,
    /// Left column and top row, in dots.
    pub x: u32,
    pub y: u32,
    pub size: u32,
}

impl Fiducial {
    /// Centre in dot coordinates (dot `i` spans `[i, i+1)`).
    pub fn center(&self) -> (f64, f64) {
        (
            self.x as f64 + self.size as f64 / 2.0,
            self.y as f64 + self.size as f64 / 2.0,
        )
    }
}

/// What a band is made of, which decides how analysis measures it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum BandKind {
    /// Every dot printed.
    Solid,
    /// Diagonal-screen tint: every column and every row holds the same share of dots.
    Tint,
    /// Staircase step: only columns with `x % period == phase` are printed.
    Elements { period: u32, phase: u32 },
    /// Isolated solid blocks `block` dots wide every `pitch` dots, first at `offset`.
    Sparse { offset: u32, block: u32, pitch: u32 },
    /// Free content (text, barcode, logo), compared against the pattern itself.
    Content,
}

/// A named region of the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub name: String,
    #[serde(flatten)]
    pub kind: BandKind,
    /// Rows `[row_start, row_end)` and columns `[col_start, col_end)` in dots.
    pub row_start: u32,
    pub row_end: u32,
    pub col_start: u32,
    pub col_end: u32,
    /// Fraction of dots printed in the band, from the bitmap.
    pub coverage: f64,
}

impl Band {
    pub fn rows(&self) -> u32 {
        self.row_end - self.row_start
    }
}

/// The machine-readable description of a pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    pub kind: PatternKind,
    pub dots: u32,
    pub rows: u32,
    pub serial: u16,
    pub fiducials: Vec<Fiducial>,
    /// Top-left corners of the copies of the id strip.
    pub id_strips: Vec<(u32, u32)>,
    pub bands: Vec<Band>,
    /// Last row holding ink + 1 (the printed length the scan must reach).
    pub ink_end: u32,
}

/// A rendered pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub layout: Layout,
    pub bitmap: Bitmap,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatternError {
    #[error("unknown pattern '{0}' (known: solid, ladder, elements, dense-sparse, receipt)")]
    Unknown(String),
    #[error("{0} dots is not a supported head width: use a multiple of 8 from {MIN_DOTS} to {MAX_DOTS} (e.g. 384, 512, 576, 640)")]
    BadWidth(u32),
}

/// Checks a head width.
pub fn check_dots(dots: u32) -> Result<(), PatternError> {
    if !(MIN_DOTS..=MAX_DOTS).contains(&dots) || !dots.is_multiple_of(8) {
        return Err(PatternError::BadWidth(dots));
    }
    Ok(())
}

/// Column of the left edge of each of the four fiducials in a corner row: both corners
/// and two inner marks at 30 % and 66 % of the width (unequal gaps, so no pair of marks
/// can pass for another pair), so that a print missing a half or
/// a driver block still keeps marks in both the top and the bottom row.
pub fn fiducial_columns(dots: u32) -> [u32; 4] {
    let half = FIDUCIAL / 2;
    let at = |f: f64| ((dots as f64 * f).round() as u32).saturating_sub(half);
    [MARGIN, at(0.3), at(0.66), dots - MARGIN - FIDUCIAL]
}

/// Renders a pattern.
pub fn render(kind: PatternKind, dots: u32, serial: u16) -> Result<Pattern, PatternError> {
    check_dots(dots)?;
    Ok(kinds::render(kind, dots, serial))
}

/// Renders a pattern by name.
pub fn render_named(name: &str, dots: u32, serial: u16) -> Result<Pattern, PatternError> {
    let kind = PatternKind::parse(name).ok_or_else(|| PatternError::Unknown(name.to_string()))?;
    render(kind, dots, serial)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_renders_at_every_common_width() {
        for kind in PatternKind::ALL {
            for dots in [384, 512, 576, 640] {
                let p = render(kind, dots, 7).expect("render");
                assert_eq!(p.bitmap.width(), dots);
                assert_eq!(p.bitmap.height(), p.layout.rows);
                assert_eq!(p.layout.fiducials.len(), 8);
                assert_eq!(p.layout.id_strips.len(), 2);
                for f in &p.layout.fiducials {
                    assert_eq!(
                        p.bitmap.count(f.x, f.y, f.x + f.size, f.y + f.size),
                        (f.size * f.size) as u64
                    );
                    // quiet zone: no ink in the ring around the mark
                    let (x0, y0) = (f.x.saturating_sub(QUIET), f.y.saturating_sub(QUIET));
                    let (x1, y1) = (f.x + f.size + QUIET, f.y + f.size + QUIET);
                    let ring = p.bitmap.count(x0, y0, x1, y1) - (f.size * f.size) as u64;
                    assert_eq!(ring, 0, "{kind} {dots}: ink in the quiet zone of {f:?}");
                }
                for b in &p.layout.bands {
                    assert!(b.row_end <= p.layout.rows && b.col_end <= dots, "{b:?}");
                    assert!(b.coverage > 0.0, "{kind} {dots} band {} is empty", b.name);
                }
                assert!(p.layout.ink_end <= p.layout.rows);
            }
        }
    }

    #[test]
    fn coverage_targets() {
        let cov = |k| {
            let p = render(k, 576, 0).expect("render");
            p.layout.bands.clone()
        };
        let ladder = cov(PatternKind::Ladder);
        let got: Vec<f64> = ladder.iter().map(|b| b.coverage).collect();
        let want = [0.125, 0.25, 0.5, 0.75, 1.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 0.01, "ladder {got:?}");
        }
        // every column of every tint holds the band's share
        let p = render(PatternKind::Ladder, 576, 0).expect("render");
        for b in &p.layout.bands {
            for x in 0..576 {
                let n = p.bitmap.count(x, b.row_start, x + 1, b.row_end) as f64;
                assert_eq!(n / b.rows() as f64, b.coverage, "{} column {x}", b.name);
            }
        }
        let ds = cov(PatternKind::DenseSparse);
        for b in &ds {
            match b.kind {
                BandKind::Solid => assert_eq!(b.coverage, 1.0),
                BandKind::Sparse { .. } => assert!((b.coverage - 0.1).abs() < 0.02, "{b:?}"),
                _ => panic!("unexpected band {b:?}"),
            }
        }
        let r = render(PatternKind::Receipt, 576, 0).expect("render");
        let body_rows = r.layout.ink_end - HEADER_ROWS;
        let ink = r.bitmap.count(0, HEADER_ROWS, 576, HEADER_ROWS + body_rows) as f64;
        let frac = ink / (576.0 * body_rows as f64);
        assert!((0.08..0.16).contains(&frac), "receipt coverage {frac}");
    }

    #[test]
    fn elements_isolate_every_column_once() {
        let p = render(PatternKind::Elements, 576, 0).expect("render");
        let mut seen = vec![0u32; 576];
        for b in &p.layout.bands {
            if let BandKind::Elements { period, phase } = b.kind {
                for x in 0..576 {
                    let n = p.bitmap.count(x, b.row_start, x + 1, b.row_end);
                    if x % period == phase {
                        assert_eq!(n, b.rows() as u64);
                        seen[x as usize] += 1;
                    } else {
                        assert_eq!(n, 0);
                    }
                }
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
    }

    #[test]
    fn bad_widths_are_refused() {
        assert_eq!(
            render(PatternKind::Solid, 0, 0).err(),
            Some(PatternError::BadWidth(0))
        );
        assert!(render(PatternKind::Solid, 577, 0).is_err());
        assert!(render_named("zebra", 576, 0).is_err());
    }

    #[test]
    fn rendering_is_deterministic() {
        let a = render(PatternKind::Receipt, 384, 3).expect("render");
        let b = render(PatternKind::Receipt, 384, 3).expect("render");
        assert_eq!(a.bitmap, b.bitmap);
    }
}

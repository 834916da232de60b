//! GS ( L and GS 8 L, the printer's graphics: raster or column data stored in the print
//! buffer (fn 112, 113) with its scaling, and printed (fn 50). The non-volatile and
//! download graphics functions are parsed whole and named, not drawn (the simulated
//! printer keeps no NV memory).
//!
//! Owns the graphics waiting in the print buffer. It must not lay out: `layout` places
//! the bitmap it returns.

use crate::pattern::Bitmap;

/// Widest and tallest graphic the printer stores (dots, before scaling).
const MAX_WIDTH: u32 = 2047;
const MAX_HEIGHT: u32 = 2400;

/// What a graphics command asks for.
#[derive(Debug)]
pub enum GraphicsOutcome {
    /// Stored, or a setting that does not change the paper.
    Stored,
    Print(Bitmap),
    NotDrawn(String),
}

/// The graphics in the print buffer.
#[derive(Debug, Default)]
pub struct Graphics {
    stored: Option<Bitmap>,
}

impl Graphics {
    /// Applies a GS ( L / GS 8 L command (`data` = m fn parameters…).
    pub fn apply(&mut self, command: &str, data: &[u8]) -> GraphicsOutcome {
        let (f, rest) = match data {
            [_m, f, rest @ ..] => (*f, rest),
            _ => return GraphicsOutcome::NotDrawn(format!("{command} without m and fn")),
        };
        match f {
            // Reference dot density: the simulated head has one.
            1 | 49 => GraphicsOutcome::Stored,
            2 | 50 => match self.stored.take() {
                Some(bm) => GraphicsOutcome::Print(bm),
                None => GraphicsOutcome::Stored,
            },
            112 | 113 => match store(rest, f == 113) {
                Ok(bm) => {
                    self.stored = Some(bm);
                    GraphicsOutcome::Stored
                }
                Err(why) => GraphicsOutcome::NotDrawn(format!("{command} fn {f}: {why}")),
            },
            0 | 48 | 3 | 51 | 4 | 52 | 64..=69 | 80..=85 => {
                GraphicsOutcome::NotDrawn(format!("{command} fn {f} (NV or download graphics)"))
            }
            f => GraphicsOutcome::NotDrawn(format!("{command} fn {f}")),
        }
    }
}

/// `a bx by c xL xH yL yH d…` of fn 112 (raster, rows of bytes, MSB left) or fn 113
/// (columns of bytes, MSB top) to printed dots.
fn store(p: &[u8], columns: bool) -> Result<Bitmap, String> {
    let [tone, bx, by, _colour, xl, xh, yl, yh, data @ ..] = p else {
        return Err("parameters cut short".to_string());
    };
    if *tone != 48 {
        return Err(format!("tone {tone} (only 48, monochrome, is drawn)"));
    }
    let scale = |b: u8| match b {
        1 => Ok(1),
        2 => Ok(2),
        _ => Err(format!("scaling {b} (1 or 2)")),
    };
    let (sx, sy) = (scale(*bx)?, scale(*by)?);
    let w = u32::from(u16::from_le_bytes([*xl, *xh]));
    let h = u32::from(u16::from_le_bytes([*yl, *yh]));
    if w == 0 || h == 0 || w > MAX_WIDTH || h > MAX_HEIGHT {
        return Err(format!(
            "size {w} × {h} dots (1..={MAX_WIDTH} × 1..={MAX_HEIGHT})"
        ));
    }
    let need = if columns {
        (w * h.div_ceil(8)) as usize
    } else {
        (w.div_ceil(8) * h) as usize
    };
    if data.len() < need {
        return Err(format!("{} data bytes for {need}", data.len()));
    }
    let mut bm = Bitmap::new(w * sx, h * sy);
    for y in 0..h {
        for x in 0..w {
            let on = if columns {
                let per = h.div_ceil(8);
                let byte = data[(x * per + y / 8) as usize];
                (byte >> (7 - y % 8)) & 1 == 1
            } else {
                let byte = data[(y * w.div_ceil(8) + x / 8) as usize];
                (byte >> (7 - x % 8)) & 1 == 1
            };
            if on {
                bm.fill_rect(x * sx, y * sy, (x + 1) * sx, (y + 1) * sy, true);
            }
        }
    }
    Ok(bm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_raster_prints_once_with_its_scaling() {
        let mut g = Graphics::default();
        // 10 × 2 dots, doubled across: first row all ink, second row the left dot only.
        let mut cmd = b"0p0\x02\x011\x0a\x00\x02\x00".to_vec();
        cmd.extend_from_slice(&[0xFF, 0xC0, 0x80, 0x00]);
        assert!(matches!(g.apply("GS ( L", &cmd), GraphicsOutcome::Stored));
        match g.apply("GS ( L", b"02") {
            GraphicsOutcome::Print(bm) => {
                assert_eq!((bm.width(), bm.height()), (20, 2));
                assert_eq!(bm.count(0, 0, 20, 1), 20);
                assert_eq!(bm.count(0, 1, 20, 2), 2);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(g.apply("GS ( L", b"02"), GraphicsOutcome::Stored));
        assert!(matches!(
            g.apply("GS ( L", b"0E\x20\x20\x01\x01"),
            GraphicsOutcome::NotDrawn(_)
        ));
    }
}

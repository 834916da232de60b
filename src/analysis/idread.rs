//! Reading the pattern id strip back from a registered scan.

use super::dotmap::DotMap;
use crate::pattern::id::{self, PatternId};

/// Mean grey of a cell's inside (one dot in from the sides, two rows in from top and bottom).
fn cell_mean(map: &DotMap, x: u32, y: u32) -> Option<f64> {
    let (mut s, mut n) = (0.0, 0);
    for yy in y + 2..y + id::CELL_H - 2 {
        for xx in x + 1..x + id::CELL_W - 1 {
            if xx >= map.dots || yy >= map.rows {
                return None;
            }
            let g = map.at(xx, yy);
            if g.is_nan() {
                return None;
            }
            s += g as f64;
            n += 1;
        }
    }
    (n > 0).then(|| s / n as f64)
}

/// Reads one copy of the strip at (sx, sy). Each bit is decided by which of its two cells
/// is darker; a bit whose cells differ by less than `min_contrast` grey levels makes the
/// copy unreadable.
pub fn read_copy(map: &DotMap, sx: u32, sy: u32, min_contrast: f64) -> Option<PatternId> {
    let mut bits = Vec::with_capacity(id::BITS as usize);
    for i in 0..id::BITS {
        let (cx, cy) = PatternId::cell_of(i);
        let a = cell_mean(map, sx + cx, sy + cy)?;
        let b = cell_mean(map, sx + cx + id::CELL_W, sy + cy)?;
        if (a - b).abs() < min_contrast {
            return None;
        }
        bits.push(a < b);
    }
    PatternId::from_bits(&bits)
}

/// Reads every copy; returns the first valid id and how many copies were readable.
pub fn read(map: &DotMap, strips: &[(u32, u32)], min_contrast: f64) -> (Option<PatternId>, u32) {
    let mut first = None;
    let mut n = 0;
    for &(sx, sy) in strips {
        if let Some(pid) = read_copy(map, sx, sy, min_contrast) {
            n += 1;
            first.get_or_insert(pid);
        }
    }
    (first, n)
}

/// How the whole lines of the strip, over every copy, read against `expected`: how many
/// read back as it says, and how many read clearly (every bit with contrast) as something
/// else. A page whose print stopped inside its strip still proves which pattern it is by
/// the lines that printed (each line is 11 bits; two lines agreeing by chance is one in
/// four million); a line that printed and says otherwise disproves it.
pub fn line_agreement(
    map: &DotMap,
    strips: &[(u32, u32)],
    expected: &PatternId,
    min_contrast: f64,
) -> (u32, u32) {
    let want = expected.bits();
    let (mut agree, mut disagree) = (0, 0);
    for &(sx, sy) in strips {
        for line in 0..id::LINES {
            let bits = line * id::BITS_PER_LINE..(line + 1) * id::BITS_PER_LINE;
            let mut read = 0;
            let mut right = 0;
            for i in bits.clone() {
                let (cx, cy) = PatternId::cell_of(i);
                let (Some(a), Some(b)) = (
                    cell_mean(map, sx + cx, sy + cy),
                    cell_mean(map, sx + cx + id::CELL_W, sy + cy),
                ) else {
                    continue;
                };
                if (a - b).abs() >= min_contrast {
                    read += 1;
                    right += want.get(i as usize).is_some_and(|&bit| bit == (a < b)) as u32;
                }
            }
            if read == id::BITS_PER_LINE {
                if right == read {
                    agree += 1;
                } else {
                    disagree += 1;
                }
            }
        }
    }
    (agree, disagree)
}

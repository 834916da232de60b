//! Scanner streaks: a line of dust on the glass or a dirty sensor element draws a thin
//! stripe along the carriage's travel over the whole scan — through the print, and past
//! it into the paper margin and the bed. A stripe that continues beyond the print is the
//! scanner's, not the printer's: its dot columns are not judged, and it is reported as a
//! scanner note (it tells of the rig's health, not the printer's).
//!
//! Owns finding the stripes outside the print and naming the dot columns under them.
//! Pure: reads the image only.

use super::dotmap::median;
use super::register::Affine;
use image::GrayImage;
use serde::Serialize;

/// Rows the scan must show beyond the print, on one side, to be searched.
const MIN_ROWS: u32 = 16;
/// Pixels kept clear of the print's edge (its blur and the marks' quiet zone).
const CLEAR_PX: f64 = 12.0;
/// A stripe stands out from its neighbourhood by at least this many grey levels...
const MIN_CONTRAST: f64 = 6.0;
/// ...and by this many times the neighbourhood's own scatter.
const MIN_SIGMA: f64 = 5.0;
/// Widest stripe taken for dust, in scan pixels.
const MAX_WIDTH_PX: u32 = 8;

/// One stripe along the scanner's travel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Streak {
    /// First and last scan column of the stripe.
    pub scan_columns: [u32; 2],
    /// First and last dot column it crosses (widened by one each side for blur).
    pub dot_columns: [u32; 2],
    /// Mean grey difference from its neighbourhood (negative: darker).
    pub contrast: f64,
    /// Where beyond the print it was seen: `above`, `below` or `both`.
    pub seen: &'static str,
}

/// Per scan column, the median grey of rows `v0..v1` over columns `u0..u1`.
fn column_medians(img: &GrayImage, u0: u32, u1: u32, v0: u32, v1: u32) -> Vec<f64> {
    let step = ((v1 - v0) / 64).max(1);
    (u0..u1)
        .map(|u| {
            let mut vals: Vec<f32> = (v0..v1)
                .step_by(step as usize)
                .map(|v| img.get_pixel(u, v).0[0] as f32)
                .collect();
            median(&mut vals).unwrap_or(f64::NAN)
        })
        .collect()
}

/// The columns (indices into `p`) standing out from a running median of their
/// neighbourhood, with their signed contrast.
fn outliers(p: &[f64]) -> Vec<(usize, f64)> {
    let n = p.len();
    let dev: Vec<f64> = (0..n)
        .map(|i| {
            let lo = i.saturating_sub(15);
            let hi = (i + 16).min(n);
            let mut w: Vec<f32> = p[lo..hi].iter().map(|&v| v as f32).collect();
            median(&mut w).map_or(0.0, |m| p[i] - m)
        })
        .collect();
    let mut abs: Vec<f32> = dev.iter().map(|d| d.abs() as f32).collect();
    let mad = median(&mut abs).unwrap_or(0.0);
    let cut = (MIN_SIGMA * 1.4826 * mad).max(MIN_CONTRAST);
    dev.iter()
        .enumerate()
        .filter(|(_, d)| d.abs() > cut)
        .map(|(i, &d)| (i, d))
        .collect()
}

/// Stripes along the scan's columns that continue beyond the print (whose corners in
/// dot space `dots` × `rows` land on the scan through `map`). Only for a page lying
/// upright or upside down, where the carriage travels along the dot columns.
pub fn find(img: &GrayImage, map: &Affine, dots: u32, rows: u32) -> Vec<Streak> {
    let (w, h) = img.dimensions();
    if !map.orientation_deg().is_multiple_of(180) || w == 0 || h == 0 {
        return Vec::new();
    }
    let corners = [
        map.apply(0.0, 0.0),
        map.apply(dots as f64, 0.0),
        map.apply(0.0, rows as f64),
        map.apply(dots as f64, rows as f64),
    ];
    let umin = corners.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
    let umax = corners
        .iter()
        .map(|c| c.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let vmin = corners.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let vmax = corners
        .iter()
        .map(|c| c.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let (u0, u1) = (umin.max(0.0) as u32, (umax.ceil().max(0.0) as u32).min(w));
    if u1 <= u0 + 32 {
        return Vec::new();
    }
    let above = (vmin - CLEAR_PX).floor();
    let below = (vmax + CLEAR_PX).ceil();
    let mut sides: Vec<(&'static str, Vec<(usize, f64)>)> = Vec::new();
    if above >= MIN_ROWS as f64 {
        let p = column_medians(img, u0, u1, 0, above as u32);
        sides.push(("above", outliers(&p)));
    }
    if below >= 0.0 && (h as f64 - below) >= MIN_ROWS as f64 {
        let p = column_medians(img, u0, u1, below as u32, h);
        sides.push(("below", outliers(&p)));
    }
    // Seen on every side that could be searched, with the same sign.
    let Some((_, first)) = sides.first() else {
        return Vec::new();
    };
    let mut cols: Vec<(usize, f64)> = first
        .iter()
        .filter(|(i, d)| {
            sides[1..].iter().all(|(_, other)| {
                other
                    .iter()
                    .any(|(j, e)| j.abs_diff(*i) <= 1 && e.signum() == d.signum())
            })
        })
        .copied()
        .collect();
    cols.sort_by_key(|c| c.0);
    let seen = if sides.len() > 1 { "both" } else { sides[0].0 };
    // Neighbouring columns form one stripe.
    let mut out = Vec::new();
    let mut k = 0;
    while k < cols.len() {
        let start = k;
        while k + 1 < cols.len() && cols[k + 1].0 == cols[k].0 + 1 {
            k += 1;
        }
        let (a, b) = (cols[start].0 as u32 + u0, cols[k].0 as u32 + u0);
        let contrast = cols[start..=k].iter().map(|c| c.1).sum::<f64>() / (k - start + 1) as f64;
        k += 1;
        if b - a + 1 > MAX_WIDTH_PX {
            continue;
        }
        // The dot columns the stripe crosses, along the middle of the print.
        let y = rows as f64 / 2.0;
        let x_at = |u: f64| (u - map.b * y - map.c) / map.a;
        let (xa, xb) = (x_at(a as f64), x_at(b as f64 + 1.0));
        let (lo, hi) = (xa.min(xb).floor() - 1.0, xa.max(xb).ceil() + 1.0);
        if hi < 0.0 || lo >= dots as f64 {
            continue;
        }
        out.push(Streak {
            scan_columns: [a, b],
            dot_columns: [lo.max(0.0) as u32, (hi as u32).min(dots - 1)],
            contrast: (contrast * 10.0).round() / 10.0,
            seen,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One pixel per dot, the print's corner at scan pixel (50, 100).
    fn print_at_50_100() -> Affine {
        Affine {
            a: 1.0,
            b: 0.0,
            c: 50.0,
            d: 0.0,
            e: 1.0,
            f: 100.0,
        }
    }

    #[test]
    fn a_stripe_through_print_and_margins_is_found_and_placed() {
        // A "print" in rows 100..700, columns 50..650 of an 800 × 800 scan, 1 px per dot;
        // a dark stripe over the whole height at scan columns 300–301.
        let img = GrayImage::from_fn(800, 800, |u, v| {
            let inside = (50..650).contains(&u) && (100..700).contains(&v);
            let base = if inside { 60 } else { 235 };
            let g = if (300..302).contains(&u) {
                base - 50
            } else {
                base
            };
            image::Luma([g.max(0) as u8])
        });
        let map = print_at_50_100();
        let s = find(&img, &map, 600, 600);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].scan_columns, [300, 301]);
        assert_eq!(s[0].dot_columns, [249, 253]);
        assert_eq!(s[0].seen, "both");
        assert!(s[0].contrast < -40.0);
    }

    #[test]
    fn a_line_in_the_print_only_is_not_the_scanners() {
        let img = GrayImage::from_fn(800, 800, |u, v| {
            let inside = (50..650).contains(&u) && (100..700).contains(&v);
            let g = if inside && u != 300 { 60 } else { 235 };
            image::Luma([g])
        });
        let map = print_at_50_100();
        assert!(find(&img, &map, 600, 600).is_empty());
    }
}

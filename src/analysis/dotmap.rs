//! Resampling a registered scan into printer dot space, and the calibration of grey values
//! to coverage and optical density.

use super::register::Affine;
use super::warp::Warp;
use crate::pattern::{Bitmap, Layout};
use image::GrayImage;

/// A value at the centre of every dot of the pattern, row by row: the scan grey as
/// sampled, or the coverage once calibrated ([`DotMap::to_coverage`]); NaN where the dot
/// falls outside the scan.
#[derive(Debug, Clone)]
pub struct DotMap {
    pub dots: u32,
    pub rows: u32,
    pub values: Vec<f32>,
}

impl DotMap {
    /// Samples the scan bilinearly at every dot centre under an affine map.
    pub fn sample(img: &GrayImage, map: &Affine, dots: u32, rows: u32) -> DotMap {
        DotMap::sample_warped(img, &Warp::affine(*map), dots, rows)
    }

    /// Samples the scan bilinearly at every dot centre under a warp. The map's column
    /// part is computed once per column and its row part once per row, in 40.24 fixed
    /// point, and interpolated with 8-bit weights, so the inner loop is integer
    /// arithmetic on four loads; dots whose 2 × 2 neighbourhood leaves the scan are NaN.
    pub fn sample_warped(img: &GrayImage, warp: &Warp, dots: u32, rows: u32) -> DotMap {
        const FRAC: u32 = 24;
        const ONE: f64 = (1u64 << FRAC) as f64;
        const TO_GREY: f32 = 1.0 / 65536.0;
        let (w, h) = img.dimensions();
        let raw = img.as_raw();
        let (wi, hi, wu) = (w as i64, h as i64, w as usize);
        let map = &warp.map;
        // Float-to-int casts saturate (NaN → 0) and the sums wrap: a wild map gives dots
        // outside the scan (NaN), never a panic.
        let fixed = |x: f64| (x * ONE).round() as i64;
        let n = dots as usize;
        // Pixel centres sit at i + 0.5: sample the bilinear surface at (u − ½, v − ½).
        let cols: Vec<(i64, i64)> = (0..n)
            .map(|x| {
                let xc = x as f64 + 0.5;
                let xs = xc + warp.columns.at(xc);
                (fixed(map.a * xs), fixed(map.d * xs))
            })
            .collect();
        let mut values = vec![f32::NAN; n * rows as usize];
        let row_start: Vec<usize> = (0..h as usize).map(|y| y * wu).collect();
        for (y, out) in values.chunks_exact_mut(n.max(1)).enumerate() {
            let yc = y as f64 + 0.5;
            let ys = yc + warp.rows.at(yc);
            let u0 = fixed(map.b * ys + map.c - 0.5);
            let v0 = fixed(map.e * ys + map.f - 0.5);
            for (o, &(cu, cv)) in out.iter_mut().zip(&cols) {
                let (fu, fv) = (u0.wrapping_add(cu), v0.wrapping_add(cv));
                let (ix, iy) = (fu >> FRAC, fv >> FRAC);
                if ix < 0 || iy < 0 || ix + 1 >= wi || iy + 1 >= hi {
                    continue;
                }
                // 8-bit weights, lerps as p0·256 + (p1 − p0)·f: three multiplies, exact in
                // integers and in f32.
                let (ix, iy) = (ix as usize, iy as usize);
                let fx = ((fu >> (FRAC - 8)) & 255) as i32;
                let fy = ((fv >> (FRAC - 8)) & 255) as i32;
                let i = row_start[iy] + ix;
                let q = &raw[i..i + wu + 2];
                let (p00, p10) = (q[0] as i32, q[1] as i32);
                let (p01, p11) = (q[wu] as i32, q[wu + 1] as i32);
                let t = (p00 << 8) + (p10 - p00) * fx;
                let b = (p01 << 8) + (p11 - p01) * fx;
                *o = ((t << 8) + (b - t) * fy) as f32 * TO_GREY;
            }
        }
        DotMap { dots, rows, values }
    }

    pub fn at(&self, x: u32, y: u32) -> f32 {
        self.values[(y * self.dots + x) as usize]
    }

    pub fn row(&self, y: u32) -> &[f32] {
        let s = (y * self.dots) as usize;
        &self.values[s..s + self.dots as usize]
    }

    /// The same dots as coverage under `cal` (NaN stays NaN): computed once, so the
    /// profiles that follow only add.
    pub fn to_coverage(&self, cal: &Calibration) -> DotMap {
        DotMap {
            dots: self.dots,
            rows: self.rows,
            values: self.values.iter().map(|&g| cal.coverage(g)).collect(),
        }
    }

    /// Fraction of dots that fell inside the scan.
    pub fn inside_fraction(&self) -> f64 {
        let n = self.values.iter().filter(|g| !g.is_nan()).count();
        n as f64 / self.values.len().max(1) as f64
    }
}

/// Rounded to three decimals, for figures in the analysis JSON.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Bilinear grey at continuous scan coordinates (pixel `i` spans `[i, i + 1)`).
pub fn bilinear(img: &GrayImage, u: f64, v: f64) -> Option<f64> {
    let (x, y) = (u - 0.5, v - 0.5);
    let (w, h) = img.dimensions();
    if !(x >= 0.0 && y >= 0.0 && x < f64::from(w) - 1.0 && y < f64::from(h) - 1.0) {
        return None;
    }
    let (ix, iy) = (x as u32, y as u32);
    let (fx, fy) = (x - f64::from(ix), y - f64::from(iy));
    let p = |i: u32, j: u32| f64::from(img.get_pixel(i, j).0[0]);
    let t = p(ix, iy) + (p(ix + 1, iy) - p(ix, iy)) * fx;
    let b = p(ix, iy + 1) + (p(ix + 1, iy + 1) - p(ix, iy + 1)) * fx;
    Some(t + (b - t) * fy)
}

/// Paper white and the print's own solid reference, in scan grey.
#[derive(Debug, Clone, Copy)]
pub struct Calibration {
    pub white: f64,
    pub solid: f64,
}

impl Calibration {
    /// 0 = paper, 1 = the solid reference.
    pub fn coverage(&self, grey: f32) -> f32 {
        ((self.white - grey as f64) / (self.white - self.solid).max(1.0)) as f32
    }

    /// Optical density relative to the paper, log10(R_white / R).
    pub fn density(&self, grey: f64) -> f64 {
        (self.white / grey.max(0.5)).log10()
    }

    pub fn solid_density(&self) -> f64 {
        self.density(self.solid)
    }
}

/// Sum and count of the non-NaN values. Eight independent partial sums, so the
/// additions overlap instead of waiting on each other.
pub fn finite_sum(vals: &[f32]) -> (f64, u32) {
    let mut sums = [0f64; 8];
    let mut counts = [0u32; 8];
    let chunks = vals.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for ((s, n), &v) in sums.iter_mut().zip(counts.iter_mut()).zip(chunk) {
            let ok = !v.is_nan();
            *s += if ok { v as f64 } else { 0.0 };
            *n += ok as u32;
        }
    }
    for (i, &v) in tail.iter().enumerate() {
        if !v.is_nan() {
            sums[i] += v as f64;
            counts[i] += 1;
        }
    }
    (sums.iter().sum(), counts.iter().sum())
}

/// [`finite_sum`] over the values at `at`.
pub fn finite_sum_at(vals: &[f32], at: &[usize]) -> (f64, u32) {
    let mut sums = [0f64; 4];
    let mut counts = [0u32; 4];
    for quad in at.chunks(4) {
        for ((s, n), &i) in sums.iter_mut().zip(counts.iter_mut()).zip(quad) {
            let v = vals.get(i).copied().unwrap_or(f32::NAN);
            if !v.is_nan() {
                *s += v as f64;
                *n += 1;
            }
        }
    }
    (sums.iter().sum(), counts.iter().sum())
}

/// Median of the finite values (NaN-free), or None.
pub fn median(vals: &mut [f32]) -> Option<f64> {
    let mut n = 0;
    for i in 0..vals.len() {
        if !vals[i].is_nan() {
            vals[n] = vals[i];
            n += 1;
        }
    }
    if n == 0 {
        return None;
    }
    let v = &mut vals[..n];
    let mid = n / 2;
    v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    Some(v[mid] as f64)
}

/// Dots of the pattern far (≥ 3 dots) from any ink, on a grid, where paper white can be
/// read.
pub fn white_sites(bitmap: &Bitmap, layout: &Layout) -> Vec<(u32, u32)> {
    let r = 3i64;
    let mut out = Vec::new();
    let (w, h) = (
        bitmap.width() as i64,
        layout.ink_end.min(bitmap.height()) as i64,
    );
    let mut y = 4i64;
    while y < h - 4 {
        let mut x = 4i64;
        while x < w - 4 {
            let clear = (y - r..=y + r)
                .all(|yy| (x - r..=x + r).all(|xx| !bitmap.get(xx as u32, yy as u32)));
            if clear {
                out.push((x as u32, y as u32));
            }
            x += 3;
        }
        y += 3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn finite_sums_skip_nan_and_keep_the_tail() {
        let vals: Vec<f32> = (0..21)
            .map(|i| if i % 5 == 0 { f32::NAN } else { i as f32 })
            .collect();
        let want: f64 = (0..21).filter(|i| i % 5 != 0).map(|i| i as f64).sum();
        assert_eq!(finite_sum(&vals), (want, 16));
        assert_eq!(finite_sum(&[]), (0.0, 0));
        assert_eq!(finite_sum_at(&vals, &[1, 5, 20, 7, 99]), (8.0, 2));
    }

    #[test]
    fn sampling_interpolates_and_marks_dots_off_the_scan() {
        // A horizontal ramp: grey = 10·u at pixel u.
        let img = GrayImage::from_fn(40, 20, |u, _| Luma([(u * 10).min(255) as u8]));
        // Two pixels per dot, shifted right by 3 px; dot x's centre is at u = 2x + 4.
        let map = Affine {
            a: 2.0,
            b: 0.0,
            c: 3.0,
            d: 0.0,
            e: 2.0,
            f: 0.0,
        };
        let m = DotMap::sample(&img, &map, 20, 5);
        // Sampled at u − ½ = 2x + 3.5: between pixels 2x+3 and 2x+4.
        assert!((m.at(0, 0) - 35.0).abs() < 0.1, "{}", m.at(0, 0));
        assert!((m.at(5, 2) - 135.0).abs() < 0.1, "{}", m.at(5, 2));
        // x = 18 → u = 40: off the right edge.
        assert!(m.at(18, 0).is_nan());
        let cal = Calibration {
            white: 200.0,
            solid: 0.0,
        };
        let c = m.to_coverage(&cal);
        assert!((c.at(0, 0) - 0.825).abs() < 1e-3);
        assert!(c.at(18, 0).is_nan());
    }
}

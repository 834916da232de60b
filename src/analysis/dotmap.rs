//! Resampling a registered scan into printer dot space, and the calibration of grey values
//! to coverage and optical density.

use super::register::Affine;
use crate::pattern::{Bitmap, Layout};
use image::GrayImage;

/// Scan grey sampled at the centre of every dot of the pattern; NaN where the dot falls
/// outside the scan.
#[derive(Debug, Clone)]
pub struct DotMap {
    pub dots: u32,
    pub rows: u32,
    pub grey: Vec<f32>,
}

impl DotMap {
    pub fn sample(img: &GrayImage, map: &Affine, dots: u32, rows: u32) -> DotMap {
        let (w, h) = img.dimensions();
        let raw = img.as_raw();
        let (wi, hi) = (w as i64, h as i64);
        let mut grey = Vec::with_capacity(dots as usize * rows as usize);
        for y in 0..rows {
            // Pixel centres sit at i + 0.5: sample the bilinear surface at (u − ½, v − ½).
            let (mut u, mut v) = map.apply(0.5, y as f64 + 0.5);
            u -= 0.5;
            v -= 0.5;
            for _ in 0..dots {
                let (x0, y0) = (u.floor(), v.floor());
                let (ix, iy) = (x0 as i64, y0 as i64);
                let val = if ix >= 0 && iy >= 0 && ix + 1 < wi && iy + 1 < hi {
                    let (fx, fy) = ((u - x0) as f32, (v - y0) as f32);
                    let i = (iy * wi + ix) as usize;
                    let p00 = raw[i] as f32;
                    let p10 = raw[i + 1] as f32;
                    let p01 = raw[i + w as usize] as f32;
                    let p11 = raw[i + w as usize + 1] as f32;
                    let top = p00 + (p10 - p00) * fx;
                    let bot = p01 + (p11 - p01) * fx;
                    top + (bot - top) * fy
                } else {
                    f32::NAN
                };
                grey.push(val);
                u += map.a;
                v += map.d;
            }
        }
        DotMap { dots, rows, grey }
    }

    pub fn at(&self, x: u32, y: u32) -> f32 {
        self.grey[(y * self.dots + x) as usize]
    }

    pub fn row(&self, y: u32) -> &[f32] {
        let s = (y * self.dots) as usize;
        &self.grey[s..s + self.dots as usize]
    }

    /// Fraction of dots that fell inside the scan.
    pub fn inside_fraction(&self) -> f64 {
        let n = self.grey.iter().filter(|g| !g.is_nan()).count();
        n as f64 / self.grey.len().max(1) as f64
    }
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

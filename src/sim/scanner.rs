//! The simulated flatbed scanner: printed paper in, an 8-bit scan out, with the exact
//! geometry that produced it.
//!
//! Owns the scan geometry (skew about the print's centre, resolution, scale error,
//! placement on the bed), the optics (pre-filter, Gaussian blur), the sensor (noise,
//! white and black levels) and the ground truth map from dot to scan pixel. It must not
//! analyse the scan or read files; it never panics on settings, it refuses them.
//!
//! Coordinates: dot `i` of the paper covers `[i, i+1)`, scan pixel `u` covers `[u, u+1)`;
//! [`ScanTruth::dot_to_px`] maps these continuous coordinates exactly. A positive skew
//! turns the print clockwise as seen in the scan (image rows run downwards).

use super::{mix, KeyStream, Normals, INK_BLACK, PAPER_WHITE};
use crate::util::rng::Rng;
use image::GrayImage;
use serde::{Deserialize, Serialize};

/// Resolution of the paper image: 203.2 dpi, 8 dots per mm.
pub const PAPER_DPI: f64 = 203.2;
/// Accepted scan resolutions, dpi.
pub const DPI_RANGE: (f64, f64) = (150.0, 1200.0);
/// Largest accepted skew either way, degrees.
pub const MAX_SKEW_DEG: f64 = 3.0;
/// Largest scan produced, pixels.
pub const MAX_SCAN_PIXELS: u64 = 400_000_000;
/// Accepted scale error factors.
pub const SCALE_RANGE: (f64, f64) = (0.9, 1.1);

/// How to scan. `Default`: 600 dpi, no skew, everything else drawn from the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScanSettings {
    /// Scan resolution, 150..=1200 dpi.
    pub dpi: f64,
    /// Rotation of the print on the bed, -3..=3 degrees (positive: clockwise).
    pub skew_deg: f64,
    /// (x, y) scale error factors of the scanner; default drawn from the seed within ±1 %.
    pub scale: Option<(f64, f64)>,
    /// Top-left corner of the (unrotated) paper on the bed, mm; default drawn from the seed
    /// anywhere the whole print stays on the bed.
    pub offset_mm: Option<(f64, f64)>,
    /// The bed is the paper plus this margin on every side, mm.
    pub bed_margin_mm: f64,
    /// Optical blur σ, mm (at least half a scan pixel is always applied).
    pub blur_mm: f64,
    /// Sensor noise σ in scanner grey levels.
    pub noise: f64,
    /// The scanner's grey for the paper white; default 230..=234 (lamp drift, from the seed):
    /// one simulated scanner, so densities blessed on it compare across scans.
    pub white: Option<u8>,
    /// The scanner's grey for full ink black; default 21..=23 (from the seed).
    pub black: Option<u8>,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            dpi: 600.0,
            skew_deg: 0.0,
            scale: None,
            offset_mm: None,
            bed_margin_mm: 12.0,
            blur_mm: 0.03,
            noise: 2.0,
            white: None,
            black: None,
            seed: 0,
        }
    }
}

/// A scan and the truth about how it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub image: GrayImage,
    pub truth: ScanTruth,
}

/// The exact geometry and levels of a scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanTruth {
    pub dpi: f64,
    pub skew_deg: f64,
    /// (x, y) scale error factors used.
    pub scale: (f64, f64),
    /// Top-left corner of the unrotated paper in scan pixels.
    pub offset_px: (f64, f64),
    /// Dot coordinates (x, y) → scan pixel coordinates: `u = a·x + b·y + c`,
    /// `v = d·x + e·y + f`, as `[a, b, c, d, e, f]`.
    pub dot_to_px: [f64; 6],
    /// Scanner grey of the paper white and of full ink black.
    pub white: u8,
    pub black: u8,
    /// Scanner grey of the bare bed (the lid) around the paper.
    pub bed: u8,
}

impl ScanTruth {
    /// Scan pixel coordinates of a dot-space point.
    pub fn map(&self, x: f64, y: f64) -> (f64, f64) {
        let [a, b, c, d, e, f] = self.dot_to_px;
        (a * x + b * y + c, d * x + e * y + f)
    }

    /// Dot-space point of scan pixel coordinates (`None` if the map is degenerate).
    pub fn unmap(&self, u: f64, v: f64) -> Option<(f64, f64)> {
        let [a, b, c, d, e, f] = self.dot_to_px;
        let det = a * e - b * d;
        if det.abs() < 1e-12 || !det.is_finite() {
            return None;
        }
        let (du, dv) = (u - c, v - f);
        Some(((e * du - b * dv) / det, (a * dv - d * du) / det))
    }
}

/// Settings a scan refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScanError {
    #[error("scan resolution {0} dpi is out of range: expected 150 to 1200 dpi")]
    Dpi(f64),
    #[error("skew {0}° is out of range: expected -3 to 3 degrees")]
    Skew(f64),
    #[error("the paper is empty ({width}×{height} dots): nothing to scan")]
    EmptyPaper { width: u32, height: u32 },
    #[error("scan setting {name} = {value} is out of range: expected {expected}")]
    Setting {
        name: &'static str,
        value: f64,
        expected: &'static str,
    },
    #[error("a {width}×{height}-pixel scan is larger than the {MAX_SCAN_PIXELS}-pixel limit: lower the dpi or the bed margin")]
    TooLarge { width: u64, height: u64 },
}

fn check(
    name: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
    expected: &'static str,
) -> Result<(), ScanError> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(ScanError::Setting {
            name,
            value,
            expected,
        })
    }
}

/// Scans a printed page (1 px = 1 dot at [`PAPER_DPI`], 0 = black).
pub fn scan(paper: &GrayImage, settings: &ScanSettings) -> Result<Scan, ScanError> {
    let s = settings;
    if !(s.dpi.is_finite() && (DPI_RANGE.0..=DPI_RANGE.1).contains(&s.dpi)) {
        return Err(ScanError::Dpi(s.dpi));
    }
    if !(s.skew_deg.is_finite() && s.skew_deg.abs() <= MAX_SKEW_DEG) {
        return Err(ScanError::Skew(s.skew_deg));
    }
    let (pw, ph) = paper.dimensions();
    if pw == 0 || ph == 0 {
        return Err(ScanError::EmptyPaper {
            width: pw,
            height: ph,
        });
    }
    check("bed_margin_mm", s.bed_margin_mm, 0.0, 100.0, "0 to 100 mm")?;
    check("blur_mm", s.blur_mm, 0.0, 1.0, "0 to 1 mm")?;
    check("noise", s.noise, 0.0, 64.0, "0 to 64 grey levels")?;
    if let Some((sx, sy)) = s.scale {
        const E: &str = "a scale factor from 0.9 to 1.1";
        check("scale.x", sx, SCALE_RANGE.0, SCALE_RANGE.1, E)?;
        check("scale.y", sy, SCALE_RANGE.0, SCALE_RANGE.1, E)?;
    }

    let rng = Rng::new(s.seed);
    let dpm = PAPER_DPI / 25.4; // dots per mm
    let k = s.dpi / 25.4; // scan pixels per mm
    let (paper_w_mm, paper_h_mm) = (pw as f64 / dpm, ph as f64 / dpm);
    let bed_w_mm = paper_w_mm + 2.0 * s.bed_margin_mm;
    let bed_h_mm = paper_h_mm + 2.0 * s.bed_margin_mm;
    let width = (bed_w_mm * k).round().max(1.0) as u64;
    let height = (bed_h_mm * k).round().max(1.0) as u64;
    if width * height > MAX_SCAN_PIXELS {
        return Err(ScanError::TooLarge { width, height });
    }
    let (width, height) = (width as usize, height as usize);

    if let Some((ox, oy)) = s.offset_mm {
        const E: &str = "a position on the bed, in mm";
        check("offset_mm.x", ox, -paper_w_mm, bed_w_mm, E)?;
        check("offset_mm.y", oy, -paper_h_mm, bed_h_mm, E)?;
    }
    let scale = s.scale.unwrap_or_else(|| {
        let mut r = rng.fork(1);
        (r.range(0.99, 1.01), r.range(0.99, 1.01))
    });
    let (white, black) = {
        let mut rw = rng.fork(3);
        let mut rb = rng.fork(4);
        let white = s.white.unwrap_or_else(|| 230 + rw.below(5) as u8);
        let black = s.black.unwrap_or_else(|| 21 + rb.below(3) as u8);
        (white, black)
    };
    if white <= black {
        return Err(ScanError::Setting {
            name: "white",
            value: white as f64,
            expected: "a white level above the black level",
        });
    }

    // Geometry: rotate about the paper's centre, place on the bed, scale to pixels.
    let theta = s.skew_deg.to_radians();
    let (sin, cos) = theta.sin_cos();
    let (cx, cy) = (pw as f64 / 2.0, ph as f64 / 2.0);
    let offset = s.offset_mm.unwrap_or_else(|| {
        // Half extents of the rotated paper; keep it wholly inside the bed.
        let hx = (cos.abs() * paper_w_mm + sin.abs() * paper_h_mm) / 2.0;
        let hy = (sin.abs() * paper_w_mm + cos.abs() * paper_h_mm) / 2.0;
        let umax = width as f64 / (k * scale.0);
        let vmax = height as f64 / (k * scale.1);
        let mut r = rng.fork(2);
        let mut pick = |lo: f64, hi: f64| {
            if hi > lo {
                r.range(lo, hi)
            } else {
                (lo + hi) / 2.0
            }
        };
        let centre_x = pick(hx, umax - hx);
        let centre_y = pick(hy, vmax - hy);
        (centre_x - paper_w_mm / 2.0, centre_y - paper_h_mm / 2.0)
    });
    let (gx, gy) = (scale.0 * k / dpm, scale.1 * k / dpm); // pixels per dot
    let a = gx * cos;
    let b = -gx * sin;
    let c = scale.0 * k * (offset.0 + paper_w_mm / 2.0) - a * cx - b * cy;
    let d = gy * sin;
    let e = gy * cos;
    let f = scale.1 * k * (offset.1 + paper_h_mm / 2.0) - d * cx - e * cy;
    let dot_to_px = [a, b, c, d, e, f];

    // Levels: paper grey → scanner grey, the bed a few levels off the paper white.
    let gain = (white as f64 - black as f64) / (PAPER_WHITE - INK_BLACK);
    let bed_paper_grey = {
        let mut r = rng.fork(5);
        let delta = r.range(3.0, 6.0);
        if r.uniform() < 0.5 {
            PAPER_WHITE + delta
        } else {
            PAPER_WHITE - delta
        }
    };
    let bed = (black as f64 + (bed_paper_grey - INK_BLACK) * gain)
        .round()
        .clamp(0.0, 255.0) as u8;

    // The paper in grey levels, padded with the bed, box-filtered when the scan is coarser.
    let prefilter_x = box_kernel(1.0 / gx);
    let prefilter_y = box_kernel(1.0 / gy);
    let pad = 1 + prefilter_x.len().max(prefilter_y.len()) / 2;
    let src = Padded::new(
        paper,
        pad,
        bed_paper_grey as f32,
        &prefilter_x,
        &prefilter_y,
    );

    // Optical blur in scan pixels.
    let sigma = (s.blur_mm * k).max(0.5);
    let blur = gaussian_kernel(sigma);
    let r = blur.len() / 2;
    let taps = blur.len();

    // Inverse map: scan pixel centre → paper sample coordinates (dot centres at i + 0.5),
    // shifted into the padded buffer.
    let det = a * e - b * d;
    let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
    let inv = |u: f64, v: f64| {
        let (du, dv) = (u - c, v - f);
        (
            ia * du + ib * dv - 0.5 + pad as f64,
            id * du + ie * dv - 0.5 + pad as f64,
        )
    };

    let mut normals_rng = rng.fork(6);
    let normals = Normals::new(&mut normals_rng);
    let noise_seed = mix(s.seed ^ 0x5CA4_4E01);
    let noise = s.noise as f32;
    let gain = gain as f32;
    let lift = black as f32 - INK_BLACK as f32 * gain;

    let mut out = vec![0u8; width * height];
    let mut line = vec![0f32; width + 2 * r];
    let mut ring = vec![0f32; taps * width];
    let mut acc = vec![0f32; width];
    let mut next_row = 0usize;
    for (v, dst) in out.chunks_exact_mut(width).enumerate() {
        let need = (v + r).min(height - 1);
        while next_row <= need {
            let (x0, y0) = inv(0.5, next_row as f64 + 0.5);
            src.sample_row(x0, y0, ia, id, &mut line[r..r + width]);
            let (first, last) = (line[r], line[r + width - 1]);
            line[..r].fill(first);
            line[r + width..].fill(last);
            let slot = &mut ring[(next_row % taps) * width..(next_row % taps + 1) * width];
            convolve(&line, &blur, slot);
            next_row += 1;
        }
        acc.fill(0.0);
        for (t, &w) in blur.iter().enumerate() {
            let j = (v + t).saturating_sub(r).min(height - 1);
            let slot = &ring[(j % taps) * width..(j % taps + 1) * width];
            for (o, &p) in acc.iter_mut().zip(slot) {
                *o += w * p;
            }
        }
        let mut keys = KeyStream::new(noise_seed ^ v as u64);
        for (o, &p) in dst.iter_mut().zip(&acc) {
            let g = lift + gain * p + noise * normals.at(keys.next_key());
            *o = (g + 0.5).clamp(0.0, 255.0) as u8;
        }
    }

    let image =
        GrayImage::from_raw(width as u32, height as u32, out).ok_or(ScanError::TooLarge {
            width: width as u64,
            height: height as u64,
        })?;
    tracing::debug!(
        dpi = s.dpi,
        skew = s.skew_deg,
        width,
        height,
        white,
        black,
        "scanned"
    );
    Ok(Scan {
        image,
        truth: ScanTruth {
            dpi: s.dpi,
            skew_deg: s.skew_deg,
            scale,
            offset_px: (offset.0 * k * scale.0, offset.1 * k * scale.1),
            dot_to_px,
            white,
            black,
            bed,
        },
    })
}

/// `out[u] = Σ_t w[t]·line[u + t]`, row-major so it vectorises.
fn convolve(line: &[f32], w: &[f32], out: &mut [f32]) {
    out.fill(0.0);
    let n = out.len();
    for (t, &wt) in w.iter().enumerate() {
        for (o, &p) in out.iter_mut().zip(&line[t..t + n]) {
            *o += wt * p;
        }
    }
}

/// A normalised Gaussian over ±3σ.
fn gaussian_kernel(sigma: f64) -> Vec<f32> {
    let r = (3.0 * sigma).ceil().max(1.0) as i64;
    let mut w: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = w.iter().sum();
    w.iter_mut().for_each(|x| *x /= sum);
    w.into_iter().map(|x| x as f32).collect()
}

/// Area average over a box `width` dots wide (centred): the pre-filter when one scan
/// pixel covers more than a dot. A single tap of 1 when `width ≤ 1`.
fn box_kernel(width: f64) -> Vec<f32> {
    if !(width.is_finite() && width > 1.0) {
        return vec![1.0];
    }
    let half = width / 2.0;
    let r = (half - 0.5).ceil().max(0.0) as i64;
    let w: Vec<f64> = (-r..=r)
        .map(|i| {
            let (lo, hi) = (i as f64 - 0.5, i as f64 + 0.5);
            (hi.min(half) - lo.max(-half)).max(0.0) / width
        })
        .collect();
    let sum: f64 = w.iter().sum();
    w.into_iter().map(|x| (x / sum) as f32).collect()
}

/// The paper as grey levels with `pad` dots of bed around it.
struct Padded {
    w: usize,
    h: usize,
    px: Vec<f32>,
    bed: f32,
}

impl Padded {
    fn new(paper: &GrayImage, pad: usize, bed: f32, kx: &[f32], ky: &[f32]) -> Padded {
        let (pw, ph) = (paper.width() as usize, paper.height() as usize);
        let (w, h) = (pw + 2 * pad, ph + 2 * pad);
        let mut px = vec![bed; w * h];
        for (y, src) in paper.as_raw().chunks_exact(pw).take(ph).enumerate() {
            let dst = &mut px[(y + pad) * w + pad..(y + pad) * w + pad + pw];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = s as f32;
            }
        }
        if kx.len() > 1 || ky.len() > 1 {
            px = separable(&px, w, h, kx, ky);
        }
        Padded { w, h, px, bed }
    }

    /// Bilinear samples along a line starting at padded-paper point `(x, y)` (dot
    /// centres at integers), stepping `(dx, dy)` per output sample; the bed outside.
    fn sample_row(&self, mut x: f64, mut y: f64, dx: f64, dy: f64, out: &mut [f32]) {
        let xmax = (self.w - 1) as f64;
        let ymax = (self.h - 1) as f64;
        for o in out.iter_mut() {
            *o = if x >= 0.0 && x < xmax && y >= 0.0 && y < ymax {
                let (ix, iy) = (x as usize, y as usize);
                let (fx, fy) = ((x - ix as f64) as f32, (y - iy as f64) as f32);
                let i = iy * self.w + ix;
                match (
                    self.px.get(i..i + 2),
                    self.px.get(i + self.w..i + self.w + 2),
                ) {
                    (Some(top), Some(bottom)) => {
                        let t = top[0] + (top[1] - top[0]) * fx;
                        let b = bottom[0] + (bottom[1] - bottom[0]) * fx;
                        t + (b - t) * fy
                    }
                    _ => self.bed,
                }
            } else {
                self.bed
            };
            x += dx;
            y += dy;
        }
    }
}

/// Separable convolution with edge replication (the edges are bed, so this is exact).
fn separable(px: &[f32], w: usize, h: usize, kx: &[f32], ky: &[f32]) -> Vec<f32> {
    let rx = kx.len() / 2;
    let ry = ky.len() / 2;
    let mut tmp = vec![0f32; w * h];
    let mut line = vec![0f32; w + 2 * rx];
    for (src, dst) in px.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        line[rx..rx + w].copy_from_slice(src);
        let (first, last) = (src[0], src[w - 1]);
        line[..rx].fill(first);
        line[rx + w..].fill(last);
        convolve(&line, kx, dst);
    }
    let mut out = vec![0f32; w * h];
    for (y, dst) in out.chunks_exact_mut(w).enumerate() {
        for (t, &wt) in ky.iter().enumerate() {
            let j = (y + t).saturating_sub(ry).min(h - 1);
            for (o, &p) in dst.iter_mut().zip(&tmp[j * w..(j + 1) * w]) {
                *o += wt * p;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_are_normalised() {
        for sigma in [0.5, 0.71, 1.42, 3.0] {
            let k = gaussian_kernel(sigma);
            assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert_eq!(k.len() % 2, 1);
        }
        assert_eq!(box_kernel(0.7), vec![1.0]);
        let b = box_kernel(1.355);
        assert_eq!(b.len(), 3);
        assert!((b.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(b[1] > b[0] && (b[0] - b[2]).abs() < 1e-6);
    }

    #[test]
    fn truth_map_inverts() {
        let paper = GrayImage::from_pixel(64, 48, image::Luma([250]));
        let sc = scan(
            &paper,
            &ScanSettings {
                dpi: 300.0,
                skew_deg: 1.5,
                seed: 9,
                ..ScanSettings::default()
            },
        )
        .expect("scan");
        let (u, v) = sc.truth.map(10.0, 20.0);
        let (x, y) = sc.truth.unmap(u, v).expect("invertible");
        assert!((x - 10.0).abs() < 1e-9 && (y - 20.0).abs() < 1e-9);
    }
}

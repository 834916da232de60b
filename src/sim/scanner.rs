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

use super::{mix, normal_blocks, INK_BLACK, NORMAL_BLOCKS, PAPER_WHITE};
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
    let mut sampler = Sampler::new(&src, [ia, ib, c, id, ie, f], pad as f64, width);

    // Sensor: levels and noise; the gain is folded into the vertical blur weights.
    let noise_seed = mix(s.seed ^ 0x5CA4_4E01);
    let sensor = Sensor {
        normals: normal_blocks(),
        noise: s.noise as f32,
        lift: black as f32 - INK_BLACK as f32 * gain as f32,
        weights: blur.iter().map(|w| w * gain as f32).collect(),
    };

    // Work rows are padded to whole LANEs; the columns past the scan's width are dropped.
    let lanes = width.div_ceil(LANE) * LANE;
    let mut out = vec![0u8; width * height];
    let mut line = vec![0f32; lanes + 2 * r];
    let mut ring = vec![0f32; taps * lanes];
    let mut taps_at = vec![0usize; taps];
    // Ring rows that are the bed only (above and below the paper): nothing to blur.
    let mut bed_only = vec![false; taps];
    let mut acc = vec![0f32; lanes];
    let mut next_row = 0usize;
    for (v, dst) in out.chunks_exact_mut(width).enumerate() {
        let need = (v + r).min(height - 1);
        while next_row <= need {
            let slot = next_row % taps;
            let ring_row = &mut ring[slot * lanes..(slot + 1) * lanes];
            bed_only[slot] = sampler.row(next_row, &mut line[r..r + width]);
            if bed_only[slot] {
                ring_row.fill(src.bed);
            } else {
                let (first, last) = (line[r], line[r + width - 1]);
                line[..r].fill(first);
                line[r + width..].fill(last);
                blur_symmetric(&line, &blur, ring_row);
            }
            next_row += 1;
        }
        for (t, at) in taps_at.iter_mut().enumerate() {
            *at = (v + t).saturating_sub(r).min(height - 1) % taps * lanes;
        }
        let flat = taps_at.iter().all(|&at| bed_only[at / lanes]);
        let walk = noise_walk(noise_seed, v);
        sensor.row(
            &ring,
            &taps_at,
            flat.then_some(src.bed),
            walk,
            &mut acc,
            dst,
        );
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

/// Work rows are padded to a multiple of this many pixels (noise comes in blocks of four).
const LANE: usize = 8;

/// Where row `v`'s sensor noise starts in the normal table and how it steps along the row,
/// in blocks. The step is odd, so a row reads distinct blocks (rows up to 65 536 pixels),
/// and rows less than 8 192 apart never share a step, so no row repeats another's noise.
fn noise_walk(seed: u64, v: usize) -> (u16, u16) {
    let key = mix(seed ^ v as u64);
    let mut s = (v as u32).wrapping_add((seed >> 40) as u32) & 0x1FFF;
    // A bijection of 13-bit numbers (odd multipliers, xor-shifts): neighbouring rows get
    // unrelated steps.
    s = s.wrapping_mul(0x0B3D) & 0x1FFF;
    s ^= s >> 6;
    s = s.wrapping_mul(0x1C69) & 0x1FFF;
    s ^= s >> 7;
    (key as u16, ((s << 1) | 1) as u16)
}

/// The scanner's sensor: blurred rows in, grey levels with noise out.
struct Sensor {
    normals: &'static [[f32; 4]; NORMAL_BLOCKS],
    /// Noise σ, grey levels.
    noise: f32,
    /// Scanner grey of paper grey 0: a paper grey `p` reads `lift + gain·p`.
    lift: f32,
    /// Vertical blur weights times the gain (paper grey → scanner grey); symmetric.
    weights: Vec<f32>,
}

impl Sensor {
    /// One scan row: the vertical blur over the ring rows starting at `taps_at` (one a
    /// weight, each `acc.len()` long and horizontally blurred), levels, noise along the
    /// `(start, step)` walk, rounded to grey levels. `flat` is the paper grey when every
    /// one of those rows is that grey alone (the bed): no blur to do. `acc` is scratch, a
    /// multiple of four long.
    fn row(
        &self,
        ring: &[f32],
        taps_at: &[usize],
        flat: Option<f32>,
        (start, step): (u16, u16),
        acc: &mut [f32],
        dst: &mut [u8],
    ) {
        let n = acc.len();
        let lift = match flat {
            Some(grey) => self.lift + grey * self.weights.iter().sum::<f32>(),
            None => self.lift,
        };
        let mut at = start;
        for a in acc.chunks_exact_mut(4) {
            let z = self.normals[usize::from(at) % NORMAL_BLOCKS];
            at = at.wrapping_add(step);
            a.copy_from_slice(&z.map(|z| lift + self.noise * z));
        }
        let row = |&at: &usize| ring.get(at..at + n).unwrap_or(&[]);
        match flat {
            Some(_) => {}
            None if taps_at.len() <= MAX_FIXED_TAPS => {
                let mut rows = [&[][..]; MAX_FIXED_TAPS];
                for (r, at) in rows.iter_mut().zip(taps_at) {
                    *r = row(at);
                }
                blur_taps(acc, &rows[..taps_at.len()], &self.weights, true);
            }
            None => {
                let rows: Vec<&[f32]> = taps_at.iter().map(row).collect();
                blur_taps(acc, &rows, &self.weights, true);
            }
        }
        if let Some(acc) = acc.get(..dst.len()) {
            for (d, &g) in dst.iter_mut().zip(acc) {
                *d = to_grey(g);
            }
        }
    }
}

/// A scanner grey rounded to the nearest whole level in 0..=255. Adding 1.5·2²³ leaves
/// the rounded value in the low mantissa bits (a bit pattern, not a conversion, so it
/// vectorises).
#[inline]
fn to_grey(x: f32) -> u8 {
    const ROUND: f32 = 12_582_912.0;
    (x.clamp(0.0, 255.0) + ROUND).to_bits() as u8
}

/// `out[u] = Σ_t w[t]·line[u + t]` for a symmetric kernel (`w[t] = w[len − 1 − t]`, as
/// [`gaussian_kernel`] makes). `line` is `out.len() + w.len() − 1` long.
fn blur_symmetric(line: &[f32], w: &[f32], out: &mut [f32]) {
    if w.len() > MAX_FIXED_TAPS {
        return convolve(line, w, out);
    }
    let mut rows = [&[][..]; MAX_FIXED_TAPS];
    for (t, row) in rows.iter_mut().enumerate().take(w.len()) {
        *row = line.get(t..).unwrap_or(&[]);
    }
    blur_taps(out, &rows[..w.len()], w, false);
}

/// Most taps of a blur done in one pass; wider kernels (a blur of more than 2.3 scan
/// pixels) go tap by tap.
const MAX_FIXED_TAPS: usize = 15;

/// `out[u] = Σ_t w[t]·rows[t][u]` (added to `out` when `add`), for a symmetric kernel:
/// one pass with the taps in registers for the usual kernel sizes, else a pass per tap.
/// Every row is at least as long as `out`.
fn blur_taps(out: &mut [f32], rows: &[&[f32]], w: &[f32], add: bool) {
    match rows.len() {
        1 => blur_fixed::<1>(out, rows, w, add),
        3 => blur_fixed::<3>(out, rows, w, add),
        5 => blur_fixed::<5>(out, rows, w, add),
        7 => blur_fixed::<7>(out, rows, w, add),
        9 => blur_fixed::<9>(out, rows, w, add),
        11 => blur_fixed::<11>(out, rows, w, add),
        13 => blur_fixed::<13>(out, rows, w, add),
        15 => blur_fixed::<15>(out, rows, w, add),
        _ => {
            if !add {
                out.fill(0.0);
            }
            let taps = rows.len().min(w.len());
            for (t, &wt) in w.iter().enumerate().take(taps) {
                add_scaled(out, rows[t], wt);
            }
        }
    }
}

/// [`blur_taps`] with `T` taps known at compile time; mirrored rows are added before
/// they are weighted (`w[t] = w[T − 1 − t]`).
fn blur_fixed<const T: usize>(out: &mut [f32], rows: &[&[f32]], w: &[f32], add: bool) {
    let n = out.len();
    let (Ok(w), Ok(rows)) = (<[f32; T]>::try_from(w), <[&[f32]; T]>::try_from(rows)) else {
        return;
    };
    let mut exact = [&[][..]; T];
    for (e, r) in exact.iter_mut().zip(rows) {
        match r.get(..n) {
            Some(r) => *e = r,
            None => return,
        }
    }
    let rows = exact;
    for (i, o) in out.iter_mut().enumerate() {
        let mut s = if add { *o } else { 0.0 };
        for t in 0..T / 2 {
            s += w[t] * (rows[t][i] + rows[T - 1 - t][i]);
        }
        s += w[T / 2] * rows[T / 2][i];
        *o = s;
    }
}

/// `acc[u] += w·a[u]`; `a` is at least as long as `acc`.
fn add_scaled(acc: &mut [f32], a: &[f32], w: f32) {
    if let Some(a) = a.get(..acc.len()) {
        for (o, &x) in acc.iter_mut().zip(a) {
            *o += w * x;
        }
    }
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
}

/// Fraction bits of the fixed-point sample coordinates (in dots).
const FRAC: u32 = 24;
/// One dot in fixed point.
const ONE: i64 = 1 << FRAC;
/// Fixed-point fraction → f32 (exact: 24 bits fit an f32's mantissa).
const FRAC_TO_F32: f32 = 1.0 / ONE as f32;

/// A coordinate in fixed point; saturates on values far outside any paper.
fn fixed(x: f64) -> i64 {
    (x * ONE as f64).round() as i64
}

/// Ceiling of `n / d` for `n ≥ 0`, `d > 0`.
fn ceil_div(n: i64, d: i64) -> i64 {
    n / d + i64::from(n % d != 0)
}

/// Linear interpolation of the padded paper at every scan pixel, in two 1-D passes.
///
/// Scan column `u` is a straight line on the paper. Pass one samples each paper row where
/// the scan columns cross it (a row of the scan's width, kept in a small ring while scan
/// rows need it); pass two interpolates down each scan column between the two paper rows
/// around the pixel's sample point. Each sample is taken at the exact point the inverse
/// map gives; with skew, the interpolation runs along the scan column rather than
/// straight down the paper. Coordinates step in fixed point, and the range of a row that
/// lies inside the paper is worked out once, so the inner loops do no bounds arithmetic.
struct Sampler<'a> {
    src: &'a Padded,
    width: usize,
    /// x of paper row `j` at scan column `u`: `x_base + x_per_row·j`, plus `u` steps of
    /// `x_step` (fixed point).
    x_base: f64,
    x_per_row: f64,
    x_step: i64,
    /// y of scan pixel `(u, v)`: `y_base + y_per_row·v`, plus `u` steps of `y_step`.
    y_base: f64,
    y_per_row: f64,
    y_step: i64,
    /// Ring of pass-one rows, `width` samples each, and the paper row each slot holds.
    rows: Vec<f32>,
    held: Vec<i64>,
    /// The bed, for paper rows outside the padded paper.
    bed_row: Vec<f32>,
}

impl<'a> Sampler<'a> {
    /// `inverse` is `[ia, ib, c, id, ie, f]`: the paper point of scan pixel centre `(u, v)`
    /// is `x = ia·(u − c) + ib·(v − f)`, `y = id·(u − c) + ie·(v − f)` (dot centres at
    /// `i + 0.5`), shifted by `pad` into the padded buffer.
    fn new(src: &'a Padded, inverse: [f64; 6], pad: f64, width: usize) -> Sampler<'a> {
        let [ia, ib, c, id, ie, f] = inverse;
        // Along scan column u (centre uc), paper y = id·(uc − c) + ie·(vc − f) − 0.5 + pad
        // gives vc, and so x = (ia − ib·id/ie)·(uc − c) + (ib/ie)·(y + 0.5 − pad) − 0.5 + pad.
        // ie = a/det is positive for every accepted skew and scale.
        let k1 = ia - ib * id / ie;
        let k2 = ib / ie;
        let x_base = k1 * (0.5 - c) + k2 * (0.5 - pad) - 0.5 + pad;
        let y_base = id * (0.5 - c) + ie * (0.5 - f) - 0.5 + pad;
        let y_step = fixed(id);
        // Paper rows one scan row spans, plus the two around it and a spare.
        let span = (width as f64 * id.abs()).ceil();
        let slots = if span.is_finite() {
            (span as usize).saturating_add(4).min(src.h + 1)
        } else {
            src.h + 1
        }
        .max(2);
        Sampler {
            src,
            width,
            x_base,
            x_per_row: k2,
            x_step: fixed(k1),
            y_base,
            y_per_row: ie,
            y_step,
            rows: vec![0.0; slots * width],
            held: vec![i64::MIN; slots],
            bed_row: vec![src.bed; width],
        }
    }

    /// The ring slot holding pass-one paper row `j`, sampled now if it is not there;
    /// `None` outside the padded paper (the bed).
    fn ensure(&mut self, j: i64) -> Option<usize> {
        let jr = usize::try_from(j).ok().filter(|&j| j < self.src.h)?;
        let slot = jr % self.held.len();
        if self.held[slot] != j {
            let x0 = fixed(self.x_base + self.x_per_row * j as f64);
            let paper = &self.src.px[jr * self.src.w..(jr + 1) * self.src.w];
            let out = &mut self.rows[slot * self.width..(slot + 1) * self.width];
            sample_paper_row(paper, self.src.bed, x0, self.x_step, out);
            self.held[slot] = j;
        }
        Some(slot)
    }

    fn slot_row(&self, slot: Option<usize>) -> &[f32] {
        match slot {
            Some(s) => &self.rows[s * self.width..(s + 1) * self.width],
            None => &self.bed_row,
        }
    }

    /// Scan row `v` into `out` (`width` samples). `true` when the whole row lies off the
    /// padded paper: then it is all bed and `out` is left as it was.
    fn row(&mut self, v: usize, out: &mut [f32]) -> bool {
        let n = out.len().min(self.width);
        let mut bed_only = true;
        let y0 = fixed(self.y_base + self.y_per_row * v as f64);
        let dy = self.y_step;
        let mut u = 0usize;
        while u < n {
            let y = y0.wrapping_add((u as i64).wrapping_mul(dy));
            let j = y >> FRAC;
            let frac = y - (j << FRAC);
            // The run of columns whose sample point stays between paper rows j and j + 1.
            let run = match dy {
                0 => n - u,
                d if d > 0 => ceil_div(ONE - frac, d) as usize,
                d => (frac / d.saturating_neg()) as usize + 1,
            };
            let end = u.saturating_add(run.max(1)).min(n);
            let (a, b) = (self.ensure(j), self.ensure(j + 1));
            if a.is_none() && b.is_none() {
                if !bed_only {
                    out[u..end].fill(self.src.bed);
                }
                u = end;
                continue;
            }
            if bed_only {
                out[..u].fill(self.src.bed);
                bed_only = false;
            }
            let (top, bottom) = (self.slot_row(a), self.slot_row(b));
            let fy0 = frac as f32 * FRAC_TO_F32;
            let dfy = dy as f32 * FRAC_TO_F32;
            let fy = (0i32..).map(|k| fy0 + k as f32 * dfy);
            for (((o, &p), &q), fy) in out[u..end]
                .iter_mut()
                .zip(&top[u..end])
                .zip(&bottom[u..end])
                .zip(fy)
            {
                *o = p + (q - p) * fy;
            }
            u = end;
        }
        bed_only
    }
}

/// Samples one padded paper row at `x0`, `x0 + dx`, … (fixed point, dot centres at
/// integers): linear interpolation inside, the bed outside.
fn sample_paper_row(paper: &[f32], bed: f32, x0: i64, dx: i64, out: &mut [f32]) {
    let n = out.len();
    let limit = (paper.len() as i64 - 1) << FRAC;
    // Samples lo..hi lie in [0, limit): both neighbours exist.
    let (lo, hi) = if dx > 0 {
        let lo = if x0 >= 0 { 0 } else { ceil_div(-x0, dx) };
        let hi = if x0 >= limit {
            0
        } else {
            ceil_div(limit - x0, dx)
        };
        let lo = usize::try_from(lo).unwrap_or(n).min(n);
        let hi = usize::try_from(hi).unwrap_or(n).clamp(lo, n);
        (lo, hi)
    } else {
        (0, 0)
    };
    // For 0 ≤ x < limit (checked by the callers below).
    let at = |x: i64| -> f32 {
        let i = (x >> FRAC) as usize;
        let fx = (x & (ONE - 1)) as f32 * FRAC_TO_F32;
        match paper.get(i..i + 2) {
            Some(p) => p[0] + (p[1] - p[0]) * fx,
            None => bed,
        }
    };
    if dx <= 0 {
        let mut x = x0;
        for o in out.iter_mut() {
            *o = if (0..limit).contains(&x) { at(x) } else { bed };
            x = x.wrapping_add(dx);
        }
        return;
    }
    out[..lo].fill(bed);
    out[hi..].fill(bed);
    let mut x = x0.wrapping_add(lo as i64 * dx);
    for o in &mut out[lo..hi] {
        *o = at(x);
        x += dx;
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
            // The blur adds mirrored taps before weighting them.
            assert!(k.iter().eq(k.iter().rev()));
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

    #[test]
    fn sensor_noise_has_its_sigma_and_no_neighbour_correlation() {
        let paper = GrayImage::from_pixel(200, 200, image::Luma([250]));
        let sc = scan(
            &paper,
            &ScanSettings {
                dpi: 300.0,
                skew_deg: 0.7,
                white: Some(200),
                black: Some(20),
                noise: 4.0,
                seed: 11,
                ..ScanSettings::default()
            },
        )
        .expect("scan");
        // A window well inside the paper: the blurred paper is flat there, only noise moves.
        let (x0, y0) = sc.truth.map(40.0, 40.0);
        let (x1, y1) = sc.truth.map(160.0, 160.0);
        let (x0, y0, x1, y1) = (x0 as u32, y0 as u32, x1 as u32, y1 as u32);
        let g = |x: u32, y: u32| sc.image.get_pixel(x, y).0[0] as f64;
        let (mut n, mut sum, mut sq, mut right, mut down) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for y in y0..y1 {
            for x in x0..x1 {
                n += 1.0;
                sum += g(x, y);
                sq += g(x, y) * g(x, y);
            }
        }
        let mean = sum / n;
        let var = sq / n - mean * mean;
        for y in y0..y1 {
            for x in x0..x1 {
                right += (g(x, y) - mean) * (g(x + 1, y) - mean);
                down += (g(x, y) - mean) * (g(x, y + 1) - mean);
            }
        }
        let (right, down) = (right / n / var, down / n / var);
        assert!((mean - 200.0).abs() < 0.3, "mean {mean}");
        // σ² plus the rounding to whole grey levels.
        assert!((var - 16.0 - 1.0 / 12.0).abs() < 0.8, "variance {var}");
        assert!(right.abs() < 0.03 && down.abs() < 0.03, "{right} {down}");
    }
}

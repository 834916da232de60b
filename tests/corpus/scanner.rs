//! The flatbed scanner: sheets of paper placed on the bed, a linear sensor (CCD or CIS)
//! swept along the bed, and the electronics behind it.
//!
//! Every scan pixel looks up the bed position it sees (with the carriage's jitter along
//! the sweep), the sheet lying there and that sheet's reflectance (the paper raster, already
//! softened by the optics at the paper's own resolution); then the aperture blur, a curled
//! edge's defocus, illumination falloff and dust, the sensor's fixed-pattern noise, photon
//! and read noise, and the transfer curve to 8 or 16 bits.

use super::filter;
use super::printer::Print;
use super::rng::{Normals, Rng};
use image::{DynamicImage, ImageBuffer, Luma, Rgb};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensor {
    /// Lens and CCD line: sharper, deeper focus.
    Ccd,
    /// Contact image sensor: a row of chips right under the glass, shallow focus.
    Cis,
}

impl Sensor {
    pub fn name(self) -> &'static str {
        match self {
            Sensor::Ccd => "CCD",
            Sensor::Cis => "CIS",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scanner {
    pub sensor: Sensor,
    pub dpi: f64,
    /// Relative resolution error across (x) and along (y) the sweep.
    pub dpi_error: (f64, f64),
    /// Rotation of the sheet on the bed, degrees (on top of the page's orientation).
    pub skew_deg: f64,
    /// Bare bed kept around the sheets: left, top, right, bottom.
    pub margin_mm: [f64; 4],
    /// Aperture blur, σ in scan pixels.
    pub blur_px: f64,
    /// Carriage jitter along the sweep, σ in scan pixels.
    pub jitter_px: f64,
    /// Transfer curve exponent (output ∝ signal^(1/γ)); None: linear.
    pub gamma: Option<f64>,
    /// Reflectance that reads as full scale, and the black offset in 8-bit levels.
    pub white_ref: f64,
    pub black_level: f64,
    /// Fixed-pattern noise per sensor column: relative gain σ and offset σ (levels).
    pub prnu: f64,
    pub dsnu: f64,
    /// Read noise (levels) and photon noise at full scale (levels).
    pub read_noise: f64,
    pub shot_noise: f64,
    /// CIS: width of one sensor chip and σ of the chips' gains.
    pub chip_mm: f64,
    pub chip_gain: f64,
    /// Defocus of a sheet lifted off the glass, σ in mm at full lift.
    pub defocus_mm: f64,
}

impl Scanner {
    /// Pixels per mm across and along the sweep.
    pub fn px_per_mm(&self) -> (f64, f64) {
        (
            self.dpi * (1.0 + self.dpi_error.0) / 25.4,
            self.dpi * (1.0 + self.dpi_error.1) / 25.4,
        )
    }
}

/// Where a sheet lies: paper coordinates (mm) turned by `theta` about the paper point
/// `paper_centre`, which lands on bed point `bed_centre`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub theta: f64,
    pub paper_centre: (f64, f64),
    pub bed_centre: (f64, f64),
}

impl Place {
    pub fn to_bed(self, p: (f64, f64)) -> (f64, f64) {
        let (s, c) = self.theta.sin_cos();
        let (x, y) = (p.0 - self.paper_centre.0, p.1 - self.paper_centre.1);
        (
            c * x - s * y + self.bed_centre.0,
            s * x + c * y + self.bed_centre.1,
        )
    }

    pub fn to_paper(self, b: (f64, f64)) -> (f64, f64) {
        let (s, c) = self.theta.sin_cos();
        let (x, y) = (b.0 - self.bed_centre.0, b.1 - self.bed_centre.1);
        (
            c * x + s * y + self.paper_centre.0,
            -s * x + c * y + self.paper_centre.1,
        )
    }
}

/// Which edge of a sheet (in its own coordinates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperEdge {
    Left,
    Right,
    /// The end printed first.
    Leading,
    Trailing,
}

/// An edge of the first sheet curled up off the glass: within `zone_mm` of it the paper
/// is foreshortened so the edge shows `pull_mm` further in, shaded and out of focus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curl {
    pub edge: PaperEdge,
    pub pull_mm: f64,
    pub zone_mm: f64,
    pub shade: f64,
}

impl Curl {
    /// Where a point `t` from the edge on the flat sheet shows, measured from the edge.
    pub fn roll(&self, t: f64) -> f64 {
        if t >= self.zone_mm {
            return t;
        }
        let q = 1.0 - t.max(0.0) / self.zone_mm;
        t + self.pull_mm * q * q
    }

    /// The flat distance from the edge that a point at `seen` from the edge comes from,
    /// or None where only bed shows.
    fn unroll(&self, seen: f64) -> Option<f64> {
        if seen >= self.zone_mm {
            return Some(seen);
        }
        if seen < self.pull_mm {
            return None;
        }
        // seen = t + p·(1 − t/Z)², solved for t in [0, Z].
        let (p, z) = (self.pull_mm, self.zone_mm);
        let a = p / (z * z);
        let b = 1.0 - 2.0 * p / z;
        let c = p - seen;
        Some((-b + (b * b - 4.0 * a * c).max(0.0).sqrt()) / (2.0 * a))
    }
}

/// How illumination falls off over the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Falloff {
    /// Lamp ends: darker towards both sides of the sensor line.
    Ends,
    /// Darker towards the right of the image.
    Across,
    /// Darker towards the bottom (lamp warming up during the sweep).
    Along,
}

/// What is on the bed and what happens to the light, besides the scanner itself.
pub struct Scene<'a> {
    pub sheets: Vec<(&'a Print, Place)>,
    /// Reflectance of whatever is behind the sheets (lid or darkness).
    pub background: f64,
    /// Bed position (mm) of the image's top-left corner, and the image size in pixels.
    pub window: (f64, f64),
    pub size: (usize, usize),
    pub curl: Option<Curl>,
    pub falloff: Option<(f64, Falloff)>,
    /// Dust on the glass under the sensor line: first column, width (px), light lost.
    pub dust: Option<(usize, usize, f64)>,
    /// Colour output with these channel gains; None: grey.
    pub rgb: Option<[f64; 3]>,
    pub sixteen_bit: bool,
}

/// Rec. 709 luma weights: what a grey sensor and a luma conversion both see.
const LUMA: [f64; 3] = [0.2126, 0.7152, 0.0722];

/// Scans a scene.
pub fn scan(scene: &Scene, sc: &Scanner, rng: &mut Rng) -> DynamicImage {
    let (w, h) = scene.size;
    let (sx, sy) = sc.px_per_mm();

    // Carriage jitter: a few slow wobbles and a little line-to-line noise, in mm.
    let mut waves = Vec::new();
    for _ in 0..3 {
        waves.push((
            rng.range(20.0, 400.0),
            rng.range(0.0, std::f64::consts::TAU),
        ));
    }
    let jitter: Vec<f64> = (0..h)
        .map(|v| {
            let slow: f64 = waves
                .iter()
                .map(|(p, ph)| (std::f64::consts::TAU * v as f64 / p + ph).sin())
                .sum::<f64>()
                / 1.5f64.sqrt();
            sc.jitter_px * (0.95 * slow + 0.3 * rng.normal()) / sy
        })
        .collect();

    // Reflectance seen by every pixel, which sheet it belongs to (0: bed) and, for a
    // curled edge, how far out of focus it is.
    let mut lum = vec![scene.background as f32; w * h];
    let mut tag = vec![0u8; w * h];
    let mut lift: Option<Vec<f32>> = scene.curl.map(|_| vec![0f32; w * h]);
    for (k, (print, place)) in scene.sheets.iter().enumerate() {
        let (s, c) = place.theta.sin_cos();
        let (du, dv) = (c / sx, -s / sx);
        let curl = if k == 0 { scene.curl } else { None };
        for (v, jit) in jitter.iter().enumerate() {
            let by = scene.window.1 + (v as f64 + 0.5) / sy + jit;
            let bx = scene.window.0 + 0.5 / sx;
            let p0 = place.to_paper((bx, by));
            let Some((u0, u1)) = span(p0, (du, dv), print.width_mm, print.length_mm, w) else {
                continue;
            };
            let row = v * w;
            for u in u0..u1 {
                let (mut x, mut y) = (p0.0 + u as f64 * du, p0.1 + u as f64 * dv);
                let mut shade = 1.0f32;
                if let Some(cu) = &curl {
                    let seen = match cu.edge {
                        PaperEdge::Left => x,
                        PaperEdge::Right => print.width_mm - x,
                        PaperEdge::Leading => y,
                        PaperEdge::Trailing => print.length_mm - y,
                    };
                    if seen < cu.zone_mm {
                        let Some(t) = cu.unroll(seen) else {
                            continue;
                        };
                        match cu.edge {
                            PaperEdge::Left => x = t,
                            PaperEdge::Right => x = print.width_mm - t,
                            PaperEdge::Leading => y = t,
                            PaperEdge::Trailing => y = print.length_mm - t,
                        }
                        let q = (1.0 - t / cu.zone_mm) as f32;
                        shade = 1.0 - cu.shade as f32 * q * q;
                        if let Some(l) = lift.as_mut() {
                            l[row + u] = q * q;
                        }
                    }
                }
                if !print.contains(x, y) {
                    continue;
                }
                lum[row + u] = print.reflectance(x, y) * shade;
                tag[row + u] = k as u8 + 1;
            }
        }
    }

    filter::gaussian(&mut lum, w, h, sc.blur_px);
    if let Some(lift) = lift.as_ref() {
        let mut soft = lum.clone();
        filter::gaussian(&mut soft, w, h, sc.defocus_mm * sx);
        for ((l, s), &q) in lum.iter_mut().zip(&soft).zip(lift) {
            if q > 0.0 {
                *l += (s - *l) * q;
            }
        }
    }
    if let Some((depth, kind)) = scene.falloff {
        for v in 0..h {
            for u in 0..w {
                let (fu, fv) = (u as f64 / w as f64, v as f64 / h as f64);
                let loss = match kind {
                    Falloff::Ends => depth * (2.0 * fu - 1.0).powi(2),
                    Falloff::Across => depth * fu,
                    Falloff::Along => depth * fv,
                };
                lum[v * w + u] *= (1.0 - loss) as f32;
            }
        }
    }
    if let Some((first, width, depth)) = scene.dust {
        // Full loss over the streak, a third of it on the pixel either side.
        for (u, f) in [
            (first.wrapping_sub(1), depth / 3.0),
            (first + width, depth / 3.0),
        ]
        .into_iter()
        .chain((first..first + width).map(|u| (u, depth)))
        {
            if u < w {
                for v in 0..h {
                    lum[v * w + u] *= (1.0 - f) as f32;
                }
            }
        }
    }

    sense(&lum, &tag, scene, sc, rng)
}

/// The run of pixels `u` of a row whose paper coordinates `p0 + u·d` fall within the
/// sheet's rectangle (with a 1 mm allowance), clipped to `0..w`.
fn span(
    p0: (f64, f64),
    d: (f64, f64),
    width: f64,
    length: f64,
    w: usize,
) -> Option<(usize, usize)> {
    let (mut lo, mut hi) = (0.0f64, w as f64);
    for (p, dp, max) in [(p0.0, d.0, width), (p0.1, d.1, length)] {
        let (a, b) = (-1.0, max + 1.0);
        if dp.abs() < 1e-12 {
            if p < a || p > b {
                return None;
            }
            continue;
        }
        let (t0, t1) = ((a - p) / dp, (b - p) / dp);
        lo = lo.max(t0.min(t1));
        hi = hi.min(t0.max(t1));
    }
    if hi <= lo {
        return None;
    }
    Some((
        lo.floor().max(0.0) as usize,
        (hi.ceil() as usize + 1).min(w),
    ))
}

/// The sensor line and electronics: column gains and offsets, noise, transfer curve,
/// quantisation.
fn sense(lum: &[f32], tag: &[u8], scene: &Scene, sc: &Scanner, rng: &mut Rng) -> DynamicImage {
    let (w, h) = scene.size;
    let (sx, _) = sc.px_per_mm();
    let chip_px = (sc.chip_mm * sx).max(8.0);
    let mut chips = Vec::new();
    let gain: Vec<f32> = (0..w)
        .map(|u| {
            let mut g = 1.0 + sc.prnu * rng.normal_within(3.0);
            if sc.sensor == Sensor::Cis {
                let chip = (u as f64 / chip_px) as usize;
                while chips.len() <= chip {
                    chips.push(sc.chip_gain * rng.normal_within(2.5));
                }
                g += chips[chip];
            }
            g as f32
        })
        .collect();
    let offset: Vec<f32> = (0..w)
        .map(|_| (sc.dsnu * rng.normal_within(3.0)) as f32)
        .collect();
    // Colour of every source (bed, sheets) per channel, or its luma for a grey sensor.
    let mut tints: Vec<[f32; 3]> = vec![[1.0; 3]];
    tints.extend(scene.sheets.iter().map(|(p, _)| {
        let t = p.tint;
        // The sheet's white is its luminance: normalise the tint to unit luma.
        let l: f64 = t.iter().zip(LUMA).map(|(a, b)| a * b).sum();
        [(t[0] / l) as f32, (t[1] / l) as f32, (t[2] / l) as f32]
    }));
    let channels = if scene.rgb.is_some() { 3 } else { 1 };
    let cast = scene.rgb.unwrap_or([1.0; 3]);
    let factor: Vec<[f32; 3]> = tints
        .iter()
        .map(|t| {
            if channels == 3 {
                [
                    t[0] * cast[0] as f32,
                    t[1] * cast[1] as f32,
                    t[2] * cast[2] as f32,
                ]
            } else {
                [1.0; 3]
            }
        })
        .collect();

    // Transfer curve and noise σ on normalised signal 0..2 (clipped to full scale
    // above 1), as tables: output level = curve(x + σ(x)·n).
    const STEPS: f32 = 8192.0;
    let top = 2 * STEPS as usize;
    let scale = if scene.sixteen_bit { 257.0 } else { 1.0 };
    let curve: Vec<f32> = (0..=top)
        .map(|i| {
            let x = (i as f64 / STEPS as f64).min(1.0);
            let t = match sc.gamma {
                Some(g) => x.powf(1.0 / g),
                None => x,
            };
            ((sc.black_level + (255.0 - sc.black_level) * t) * scale) as f32
        })
        .collect();
    let sigma: Vec<f32> = (0..=top)
        .map(|i| {
            let x = i as f64 / STEPS as f64;
            ((sc.read_noise.powi(2) + sc.shot_noise.powi(2) * x).sqrt() / 255.0) as f32
        })
        .collect();
    let offset: Vec<f32> = offset.iter().map(|o| o * scale as f32).collect();
    let inv_ref = (1.0 / sc.white_ref) as f32;
    let mut normals = Normals::new(rng.fork());
    let maxv = 255.0 * scale as f32;
    let mut out: Vec<u16> = vec![0; w * h * channels];
    for v in 0..h {
        let row = v * w;
        let dst = &mut out[row * channels..(row + w) * channels];
        let mut level = |x: f32, o: f32| {
            let x = x.clamp(0.0, 2.0);
            let x = (x + sigma[(x * STEPS) as usize] * normals.next()).clamp(0.0, 2.0);
            (curve[(x * STEPS) as usize] + o + 0.5).clamp(0.0, maxv) as u16
        };
        let src = lum[row..row + w].iter().zip(&tag[row..row + w]);
        if channels == 1 {
            for ((d, (&l, _)), (&g, &o)) in dst.iter_mut().zip(src).zip(gain.iter().zip(&offset)) {
                *d = level(l * g * inv_ref, o);
            }
        } else {
            for ((d, (&l, &t)), (&g, &o)) in dst
                .chunks_exact_mut(3)
                .zip(src)
                .zip(gain.iter().zip(&offset))
            {
                let base = l * g * inv_ref;
                let f = &factor[t as usize];
                for (c, fc) in d.iter_mut().zip(f) {
                    *c = level(base * fc, o);
                }
            }
        }
    }
    let (w32, h32) = (w as u32, h as u32);
    let bad = "buffer sized from the image dimensions";
    let bytes = |out: Vec<u16>| out.into_iter().map(|v| v as u8).collect::<Vec<u8>>();
    match (channels, scene.sixteen_bit) {
        (1, true) => DynamicImage::ImageLuma16(
            ImageBuffer::<Luma<u16>, _>::from_raw(w32, h32, out).expect(bad),
        ),
        (1, false) => DynamicImage::ImageLuma8(
            ImageBuffer::<Luma<u8>, _>::from_raw(w32, h32, bytes(out)).expect(bad),
        ),
        (_, true) => DynamicImage::ImageRgb16(
            ImageBuffer::<Rgb<u16>, _>::from_raw(w32, h32, out).expect(bad),
        ),
        (_, false) => DynamicImage::ImageRgb8(
            ImageBuffer::<Rgb<u8>, _>::from_raw(w32, h32, bytes(out)).expect(bad),
        ),
    }
}

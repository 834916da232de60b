//! The thermal print: a bitmap (1 px = 1 dot) through a print head onto a strip of paper.
//!
//! Per dot: each heater element's own density (resistance scatter), heat history along
//! the feed, and the printer faults, which either keep elements from firing or scale the
//! darkness that develops. The energy of every fired dot is then laid on a fine raster of
//! the paper, spread by heat (a small blur) and developed by a steep sigmoid, which gives
//! dots their shape and keeps an unfired element between fired ones white. The rows are
//! laid at the paper feed's own, slightly uneven pitch.

use super::filter;
use super::rng::Rng;
use super::Fault;
use printrig::defect::Side;
use printrig::pattern::Bitmap;
use std::f64::consts::TAU;

/// One dot on the 203.2-dpi grid, in millimetres.
pub const DOT_MM: f64 = 25.4 / 203.2;
/// Dots of blank paper kept around the print in its raster.
const PAD: usize = 2;

/// The paper feed: row pitch off by `error` on average, with a slow wobble of relative
/// size `wobble` and period `period` rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feed {
    pub error: f64,
    pub wobble: f64,
    pub period: f64,
    pub phase: f64,
}

impl Feed {
    /// Paper travel, in mm, from the start of row 0 to the start of (continuous) row `y`.
    pub fn mm(&self, y: f64) -> f64 {
        let w = TAU / self.period;
        DOT_MM
            * (y * (1.0 + self.error)
                + self.wobble / w * (self.phase.cos() - (w * y + self.phase).cos()))
    }

    fn pitch(&self, y: f64) -> f64 {
        DOT_MM * (1.0 + self.error + self.wobble * (TAU / self.period * y + self.phase).sin())
    }

    /// The continuous row at `mm` of travel (the inverse of [`Feed::mm`]).
    pub fn row_at(&self, mm: f64) -> f64 {
        let mut y = mm / (DOT_MM * (1.0 + self.error));
        for _ in 0..4 {
            y -= (self.mm(y) - mm) / self.pitch(y);
        }
        y
    }
}

/// How the head and the thermal paper turn dots into darkness.
#[derive(Debug, Clone, PartialEq)]
pub struct Thermal {
    /// Reflectance of a nominal solid (the developed dye).
    pub black: f64,
    /// Standard deviation of each element's optical density (resistance scatter).
    pub scatter: f64,
    /// Heat spread around a fired dot, σ in dots.
    pub spread: f64,
    /// Extra density after a long run of fired rows, and the share of an element's heat
    /// kept from one row to the next.
    pub history_gain: f64,
    pub history_keep: f64,
    /// Development: darkness is a sigmoid of local energy (1 = a fired dot's own energy)
    /// centred on `threshold` with width `softness`.
    pub threshold: f64,
    pub softness: f64,
    /// Paper mottle: relative standard deviation and cell size.
    pub mottle: f64,
    pub mottle_mm: f64,
    pub feed: Feed,
}

/// The paper roll and how the strip was cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Stock {
    pub width_mm: f64,
    /// Paper before row 0 and after the last row.
    pub lead_mm: f64,
    pub tail_mm: f64,
    /// Sideways offset of the print from the paper's centre line.
    pub lateral_mm: f64,
    /// Luminance reflectance of the paper, and its colour (relative R, G, B).
    pub white: f64,
    pub tint: [f64; 3],
    /// For a torn page: paper left after the last printed row, and how ragged the tear is.
    pub tear_gap_mm: f64,
    pub ragged_mm: f64,
}

/// A fine raster over the printed area: reflectance relative to the paper (1 = paper).
#[derive(Debug, Clone)]
pub struct Raster {
    /// Paper coordinates (mm) of the raster's top-left corner.
    pub x0: f64,
    pub y0: f64,
    pub px_per_mm: f64,
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Raster {
    /// Bilinear value at paper coordinates (mm); 1 outside the raster.
    #[inline]
    pub fn sample(&self, x: f64, y: f64) -> f32 {
        let fx = (x - self.x0) * self.px_per_mm - 0.5;
        let fy = (y - self.y0) * self.px_per_mm - 0.5;
        if !(fx >= 0.0 && fy >= 0.0) {
            return 1.0;
        }
        let (ix, iy) = (fx as usize, fy as usize);
        if ix + 1 >= self.w || iy + 1 >= self.h {
            return 1.0;
        }
        let (tx, ty) = ((fx - ix as f64) as f32, (fy - iy as f64) as f32);
        let i = iy * self.w + ix;
        let d = &self.data;
        let top = d[i] + (d[i + 1] - d[i]) * tx;
        let bottom = d[i + self.w] + (d[i + self.w + 1] - d[i + self.w]) * tx;
        top + (bottom - top) * ty
    }

    /// The scanner's optics (and the area of its pixels) seen on the paper.
    pub fn soften(&mut self, sigma_px: f64) {
        filter::gaussian(&mut self.data, self.w, self.h, sigma_px);
    }
}

/// Low-frequency variation of the paper's whiteness (1 ± a few %).
#[derive(Debug, Clone)]
struct Mottle {
    cell_mm: f64,
    w: usize,
    h: usize,
    data: Vec<f32>,
}

impl Mottle {
    fn new(width_mm: f64, length_mm: f64, cell_mm: f64, sigma: f64, rng: &mut Rng) -> Mottle {
        let w = (width_mm / cell_mm).ceil() as usize + 3;
        let h = (length_mm / cell_mm).ceil() as usize + 3;
        let data = (0..w * h)
            .map(|_| (1.0 + sigma * rng.normal_within(3.0)) as f32)
            .collect();
        Mottle {
            cell_mm,
            w,
            h,
            data,
        }
    }

    #[inline]
    fn at(&self, x: f64, y: f64) -> f32 {
        let fx = (x / self.cell_mm + 1.0).clamp(0.0, (self.w - 2) as f64);
        let fy = (y / self.cell_mm + 1.0).clamp(0.0, (self.h - 2) as f64);
        let (ix, iy) = ((fx as usize).min(self.w - 2), (fy as usize).min(self.h - 2));
        let (tx, ty) = ((fx - ix as f64) as f32, (fy - iy as f64) as f32);
        // Smoothstep weights: no creases at the cell borders.
        let (tx, ty) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
        let i = iy * self.w + ix;
        let d = &self.data;
        let top = d[i] + (d[i + 1] - d[i]) * tx;
        let bottom = d[i + self.w] + (d[i + self.w + 1] - d[i + self.w]) * tx;
        top + (bottom - top) * ty
    }
}

/// The ragged end of a page torn off at the tear bar.
#[derive(Debug, Clone)]
struct Tear {
    step_mm: f64,
    end_mm: Vec<f64>,
}

impl Tear {
    fn end(&self, x: f64) -> f64 {
        let f = (x / self.step_mm).clamp(0.0, (self.end_mm.len() - 1) as f64);
        let i = (f as usize).min(self.end_mm.len() - 2);
        let t = f - i as f64;
        self.end_mm[i] * (1.0 - t) + self.end_mm[i + 1] * t
    }
}

/// A printed strip of paper.
#[derive(Debug, Clone)]
pub struct Print {
    pub width_mm: f64,
    /// Longest extent along the feed.
    pub length_mm: f64,
    /// Paper coordinates (mm) of the corner of dot (0, 0).
    pub origin: (f64, f64),
    pub feed: Feed,
    pub white: f64,
    pub tint: [f64; 3],
    pub raster: Raster,
    mottle: Mottle,
    tear: Option<Tear>,
}

impl Print {
    /// Whether paper coordinates (mm) lie on the paper.
    #[inline]
    pub fn contains(&self, x: f64, y: f64) -> bool {
        if !(x >= 0.0 && x < self.width_mm && y >= 0.0 && y < self.length_mm) {
            return false;
        }
        match &self.tear {
            Some(t) => y < t.end(x),
            None => true,
        }
    }

    /// Luminance reflectance at paper coordinates (mm) on the paper.
    #[inline]
    pub fn reflectance(&self, x: f64, y: f64) -> f32 {
        self.white as f32 * self.mottle.at(x, y) * self.raster.sample(x, y)
    }

    /// Paper coordinates of a continuous dot position.
    pub fn dot_mm(&self, x: f64, y: f64) -> (f64, f64) {
        (self.origin.0 + x * DOT_MM, self.origin.1 + self.feed.mm(y))
    }
}

/// The relative darkness that gives `k` times a nominal solid's optical density, for a
/// solid of relative reflectance `r`.
pub fn darkness_for_density(k: f64, r: f64) -> f64 {
    (1.0 - r.powf(k)) / (1.0 - r)
}

/// Prints `bitmap` with `fault` on `stock`, on a raster of `rp` × `rp` cells per dot.
pub fn print(
    bitmap: &Bitmap,
    fault: Option<&Fault>,
    th: &Thermal,
    stock: &Stock,
    rp: usize,
    rng: &mut Rng,
) -> Print {
    let (w, h) = (bitmap.width() as usize, bitmap.height() as usize);
    let r = (th.black / stock.white).clamp(0.01, 0.5);

    // Faults and variations, per element and per row.
    let mut alive = vec![true; w];
    let mut col_mult = vec![1.0f64; w];
    let mut row_mult = vec![1.0f64; h];
    let mut stop = h;
    let mut dense_level = None;
    let mut torn = false;
    match fault {
        Some(Fault::DeadElement { start, len }) | Some(Fault::BlockDropout { start, len }) => {
            for a in &mut alive[*start as usize..(*start + *len) as usize] {
                *a = false;
            }
        }
        Some(Fault::HalfWidth { side, cut }) => {
            let range = match side {
                Side::Left => 0..*cut as usize,
                Side::Right => *cut as usize..w,
            };
            alive[range].iter_mut().for_each(|a| *a = false);
        }
        Some(Fault::FadeAcross { lighter, depth }) => {
            for (i, m) in col_mult.iter_mut().enumerate() {
                let t = i as f64 / (w - 1) as f64;
                let t = if *lighter == Side::Right { t } else { 1.0 - t };
                *m = 1.0 - depth * t;
            }
        }
        Some(Fault::FadeAlong { start_row, depth }) => {
            let s = *start_row as usize;
            let span = (h.saturating_sub(s)).max(1) as f64;
            for (j, m) in row_mult.iter_mut().enumerate().skip(s) {
                *m = 1.0 - depth * (j - s) as f64 / span;
            }
        }
        Some(Fault::Truncated {
            stop_row,
            torn: is_torn,
        }) => {
            stop = (*stop_row as usize).min(h);
            torn = *is_torn;
        }
        Some(Fault::Light { density }) => {
            let m = darkness_for_density(*density, r);
            row_mult.iter_mut().for_each(|v| *v = m);
        }
        Some(Fault::DenseLineFade { level }) => dense_level = Some(*level),
        Some(Fault::Banding {
            period,
            amplitude,
            phase,
        }) => {
            for (j, m) in row_mult.iter_mut().enumerate() {
                let s = (TAU * j as f64 / period + phase).sin();
                *m = 1.0 - amplitude * (0.5 + 0.5 * s);
            }
        }
        None => {}
    }
    let fired = |i: usize, j: usize| j < stop && alive[i] && bitmap.get(i as u32, j as u32);
    if let Some(level) = dense_level {
        // Supply sag: the more elements fire in a row, the less density each develops.
        for (j, m) in row_mult.iter_mut().enumerate() {
            let n = (0..w).filter(|&i| fired(i, j)).count();
            let f = n as f64 / w as f64;
            let g = ((f - 0.25) / 0.6).clamp(0.0, 1.0);
            let g = g * g * (3.0 - 2.0 * g);
            *m *= darkness_for_density(1.0 - (1.0 - level) * g, r);
        }
    }
    let gain: Vec<f64> = (0..w)
        .map(|_| 1.0 + th.scatter * rng.normal_within(2.5))
        .collect();

    // Darkness multiplier of every dot, with the element's heat history.
    let mut mult = vec![0f32; w * h];
    let mut heat = vec![0f64; w];
    for j in 0..h {
        for i in 0..w {
            // Scatter and history act on the optical density a dot develops; faults on
            // its darkness.
            let od = gain[i] * (1.0 + th.history_gain * heat[i]);
            mult[j * w + i] = (darkness_for_density(od, r) * col_mult[i] * row_mult[j]) as f32;
            let on = if fired(i, j) { 1.0 } else { 0.0 };
            heat[i] = th.history_keep * heat[i] + (1.0 - th.history_keep) * on;
        }
    }

    // Energy on the paper raster: every fired dot fills its cell, rows at the feed pitch.
    let ppm = rp as f64 / DOT_MM;
    let rw = (w + 2 * PAD) * rp;
    let top = th.feed.mm(-(PAD as f64));
    let bottom = th.feed.mm((h + PAD) as f64);
    let rh = ((bottom - top) * ppm).ceil() as usize;
    let row_of: Vec<i64> = (0..rh)
        .map(|b| th.feed.row_at(top + (b as f64 + 0.5) / ppm).floor() as i64)
        .collect();
    let mut energy = vec![0f32; rw * rh];
    let mut cells: Vec<Vec<f32>> = Vec::new();
    for j in 0..h {
        let mut line = vec![0f32; rw];
        for i in 0..w {
            if fired(i, j) {
                let a = (i + PAD) * rp;
                line[a..a + rp].iter_mut().for_each(|v| *v = 1.0);
            }
        }
        cells.push(line);
    }
    for (b, &j) in row_of.iter().enumerate() {
        if j >= 0 && (j as usize) < h {
            energy[b * rw..(b + 1) * rw].copy_from_slice(&cells[j as usize]);
        }
    }
    drop(cells);
    filter::gaussian(&mut energy, rw, rh, th.spread * rp as f64);

    // Development: a steep sigmoid of energy, normalised so a fired dot's own energy is 1.
    const STEPS: usize = 1024;
    let sig = |e: f64| 1.0 / (1.0 + (-(e - th.threshold) / th.softness).exp());
    let (s0, s1) = (sig(0.0), sig(1.0));
    let lut: Vec<f32> = (0..=STEPS)
        .map(|k| ((sig(k as f64 / STEPS as f64) - s0) / (s1 - s0)) as f32)
        .collect();
    let keep = (1.0 - r) as f32;
    for (b, &j) in row_of.iter().enumerate() {
        let out = &mut energy[b * rw..(b + 1) * rw];
        if j < 0 || j as usize >= h {
            out.iter_mut().for_each(|v| *v = 1.0);
            continue;
        }
        let m = &mult[j as usize * w..(j as usize + 1) * w];
        for (c, cell) in out.chunks_exact_mut(rp).enumerate() {
            let i = c.wrapping_sub(PAD);
            let mi = if i < w { m[i] } else { 1.0 };
            for v in cell {
                let d = lut[((*v).clamp(0.0, 1.0) * STEPS as f32) as usize];
                *v = (1.0 - d * mi * keep).max(0.01);
            }
        }
    }

    let origin = (
        (stock.width_mm - w as f64 * DOT_MM) / 2.0 + stock.lateral_mm,
        stock.lead_mm,
    );
    let full_length = origin.1 + th.feed.mm(h as f64) + stock.tail_mm;
    let tear = torn.then(|| {
        let step_mm = 0.5;
        let n = (stock.width_mm / step_mm).ceil() as usize + 2;
        let base = origin.1 + th.feed.mm(stop as f64) + stock.tear_gap_mm;
        let mut y = 0.0f64;
        let end_mm = (0..n)
            .map(|_| {
                y = (y + 0.4 * stock.ragged_mm * rng.normal())
                    .clamp(-stock.ragged_mm, stock.ragged_mm);
                base + y
            })
            .collect();
        Tear { step_mm, end_mm }
    });
    let length_mm = match &tear {
        Some(t) => t.end_mm.iter().copied().fold(0.0, f64::max),
        None => full_length,
    };
    let mottle = Mottle::new(stock.width_mm, length_mm, th.mottle_mm, th.mottle, rng);
    Print {
        width_mm: stock.width_mm,
        length_mm,
        origin,
        feed: th.feed,
        white: stock.white,
        tint: stock.tint,
        raster: Raster {
            x0: origin.0 - PAD as f64 * DOT_MM,
            y0: origin.1 + top,
            px_per_mm: ppm,
            w: rw,
            h: rh,
            data: energy,
        },
        mottle,
        tear,
    }
}

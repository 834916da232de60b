//! The overlay picture: the scan, reduced to a viewable size, with the fiducials, every
//! defect (tinted red or orange by severity, teal where the condition expects it) and every
//! golden finding (framed in blue) marked in printer dot space mapped onto the scan.
//! Drawing and PNG encoding only; no measuring.
//!
//! The picture is kept as palette indices, one byte a pixel: 128 grey levels for the
//! scan, a translucent tint over 32 grey levels for each defect severity, and the opaque
//! outline colours. A scan preview loses nothing visible at 7 bits of grey, and the PNG is
//! a third of the bytes to compress (and about a quarter of the file) that RGB would be.

use crate::analysis::{Analysis, Axis, Defect, Severity};
use crate::defect::DefectKind;
use crate::golden::{Finding, Judgement};
use image::{GrayImage, RgbImage};

/// Longest side of the overlay in pixels.
pub const MAX_SIDE: u32 = 1600;

/// Grey levels of the scan in the palette (indices `0..GREYS`).
const GREYS: usize = 128;
/// Grey levels under each translucent tint.
const TINT_LEVELS: usize = 32;

/// A colour laid over the scan: a translucent tint or an opaque ink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// A failing defect's area.
    FailTint,
    /// A marginal defect's area.
    MarginalTint,
    /// The area of a defect the condition expects.
    ExpectedTint,
    /// The frame drawn when the scan could not be registered.
    Red,
    /// A fiducial found where it was expected.
    Green,
    /// A fiducial that was not found (drawn where it should have been).
    Orange,
    /// Where the page differs from its golden record.
    Blue,
}

const TINTS: [(Mark, [u8; 3], f32); 3] = [
    (Mark::FailTint, [220, 30, 30], 0.45),
    (Mark::MarginalTint, [230, 150, 20], 0.35),
    (Mark::ExpectedTint, [44, 122, 123], 0.45),
];
const INKS: [(Mark, [u8; 3]); 4] = [
    (Mark::Red, [220, 30, 30]),
    (Mark::Green, [20, 170, 40]),
    (Mark::Orange, [240, 140, 0]),
    (Mark::Blue, [30, 90, 230]),
];
const FIRST_TINT: usize = GREYS;
const FIRST_INK: usize = FIRST_TINT + TINTS.len() * TINT_LEVELS;
const PALETTE_LEN: usize = FIRST_INK + INKS.len();
const _: () = assert!(PALETTE_LEN <= 256);

/// The grey value of scan level `i` (of `levels`), rounded.
const fn level_grey(i: usize, levels: usize) -> u8 {
    ((i * 255 + (levels - 1) / 2) / (levels - 1)) as u8
}

/// The palette as RGB triples, in index order.
fn palette() -> Vec<u8> {
    let mut p = Vec::with_capacity(PALETTE_LEN * 3);
    for i in 0..GREYS {
        let g = level_grey(i, GREYS);
        p.extend([g, g, g]);
    }
    for (_, colour, alpha) in TINTS {
        for j in 0..TINT_LEVELS {
            let g = level_grey(j, TINT_LEVELS) as f32;
            p.extend(colour.map(|c| (g * (1.0 - alpha) + c as f32 * alpha).round() as u8));
        }
    }
    for (_, colour) in INKS {
        p.extend(colour);
    }
    p
}

/// For every palette index, the scan grey under it (inks count as white paper).
const GREY_UNDER: [u8; 256] = {
    let mut t = [255u8; 256];
    let mut i = 0;
    while i < GREYS {
        t[i] = level_grey(i, GREYS);
        i += 1;
    }
    let mut k = 0;
    while k < TINTS.len() {
        let mut j = 0;
        while j < TINT_LEVELS {
            t[FIRST_TINT + k * TINT_LEVELS + j] = level_grey(j, TINT_LEVELS);
            j += 1;
        }
        k += 1;
    }
    t
};

/// An overlay picture: one palette index per pixel, rows top to bottom.
#[derive(Clone, Debug)]
pub struct Overlay {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Overlay {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The picture in RGB (what a viewer shows).
    pub fn to_rgb(&self) -> RgbImage {
        let p = palette();
        let mut rgb = Vec::with_capacity(self.pixels.len() * 3);
        for &i in &self.pixels {
            let at = i as usize * 3;
            rgb.extend_from_slice(p.get(at..at + 3).unwrap_or(&[0, 0, 0]));
        }
        RgbImage::from_raw(self.width, self.height, rgb)
            .unwrap_or_else(|| RgbImage::new(self.width, self.height))
    }

    /// Lays `mark` over pixels `x0..=x1` of row `y` (clipped to the picture): a tint keeps
    /// the scan's grey under it (the newest tint wins where two overlap); an ink covers.
    fn mark_span(&mut self, x0: u32, x1: u32, y: u32, mark: Mark) {
        let (w, h) = (self.width, self.height);
        if y >= h || x0 >= w || x1 < x0 {
            return;
        }
        let x1 = x1.min(w - 1);
        let row = y as usize * w as usize;
        let Some(span) = self.pixels.get_mut(row + x0 as usize..=row + x1 as usize) else {
            return;
        };
        if let Some(k) = TINTS.iter().position(|t| t.0 == mark) {
            let base = FIRST_TINT + k * TINT_LEVELS;
            let shift = (256 / TINT_LEVELS).trailing_zeros();
            for p in span {
                *p = (base + (GREY_UNDER[*p as usize] >> shift) as usize) as u8;
            }
        } else if let Some(k) = INKS.iter().position(|t| t.0 == mark) {
            span.fill((FIRST_INK + k) as u8);
        }
    }

    fn mark(&mut self, x: u32, y: u32, mark: Mark) {
        self.mark_span(x, x, y, mark);
    }
}

/// Marks a convex quadrilateral (points in order): the pixels whose centres lie inside
/// (on an edge counts as inside).
fn fill_quad(img: &mut Overlay, q: [(f64, f64); 4], mark: Mark) {
    let minx = q.iter().map(|p| p.0).fold(f64::INFINITY, f64::min).max(0.0) as u32;
    let maxx = q
        .iter()
        .map(|p| p.0)
        .fold(f64::NEG_INFINITY, f64::max)
        .min(img.width() as f64) as u32;
    let miny = q.iter().map(|p| p.1).fold(f64::INFINITY, f64::min).max(0.0) as u32;
    let maxy = q
        .iter()
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max)
        .min(img.height() as f64) as u32;
    let inside = |x: u32, y: u32| {
        let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
        let mut sign = 0i32;
        for i in 0..4 {
            let (a, b) = (q[i], q[(i + 1) % 4]);
            let cross = (b.0 - a.0) * (py - a.1) - (b.1 - a.1) * (px - a.0);
            let s = if cross >= 0.0 { 1 } else { -1 };
            if sign == 0 {
                sign = s;
            } else if s != sign {
                return false;
            }
        }
        true
    };
    // A convex shape meets a row in one run: find its ends, fill between.
    for y in miny..maxy {
        let Some(x0) = (minx..maxx).find(|&x| inside(x, y)) else {
            continue;
        };
        let x1 = (x0..maxx).rev().find(|&x| inside(x, y)).unwrap_or(x0);
        img.mark_span(x0, x1, y, mark);
    }
}

/// Draws a rectangle's frame, `t` pixels thick, inside the given corners.
fn outline(img: &mut Overlay, x0: f64, y0: f64, x1: f64, y1: f64, mark: Mark, t: u32) {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let (x0, y0) = (x0.clamp(0.0, w - 1.0) as u32, y0.clamp(0.0, h - 1.0) as u32);
    let (x1, y1) = (x1.clamp(0.0, w - 1.0) as u32, y1.clamp(0.0, h - 1.0) as u32);
    for k in 0..t {
        img.mark_span(x0, x1, y0 + k, mark);
        img.mark_span(x0, x1, y1.saturating_sub(k), mark);
        for y in y0..=y1 {
            img.mark(x0 + k, y, mark);
            img.mark(x1.saturating_sub(k), y, mark);
        }
    }
}

/// Draws a straight line `t` pixels wide from `a` to `b` (clipped to the picture).
fn line(img: &mut Overlay, a: (f64, f64), b: (f64, f64), mark: Mark, t: u32) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let steps = (dx.abs().max(dy.abs()).ceil() as usize).clamp(1, 1 << 16);
    let (w, h) = (img.width() as f64, img.height() as f64);
    let half = (t as f64 - 1.0) / 2.0;
    for i in 0..=steps {
        let f = i as f64 / steps as f64;
        let (x, y) = (a.0 + dx * f - half, a.1 + dy * f - half);
        if x < -(t as f64) || y < -(t as f64) || x >= w || y >= h {
            continue;
        }
        let (x, y) = (x.max(0.0) as u32, y.max(0.0) as u32);
        for k in 0..t {
            img.mark_span(x, x + t - 1, y + k, mark);
        }
    }
}

/// An overlay (or thumbnail) as PNG bytes: 8-bit palette, for the run's artifacts. The
/// palette's grey levels are in order, so the "up" filter works as it does on grey.
pub fn png(img: &Overlay) -> Result<Vec<u8>, String> {
    crate::scanfile::encode_png(
        &img.pixels,
        img.width,
        img.height,
        crate::scanfile::PngPixels::Indexed {
            palette: &palette(),
        },
    )
}

/// What is marked on a page: its defects (the judgement's: the analysis' own and those
/// judging found), which of their kinds the condition expects, and its golden findings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Marks<'a> {
    pub defects: &'a [Defect],
    pub expected: &'a [DefectKind],
    pub golden: &'a [Finding],
}

impl<'a> Marks<'a> {
    /// The marks of a judged page, with the kinds its condition expects.
    pub fn of(j: &'a Judgement, expected: &'a [DefectKind]) -> Marks<'a> {
        Marks {
            defects: &j.defects,
            expected,
            golden: j.golden_findings(),
        }
    }
}

/// Draws the overlay for a scan, its analysis (registration, fiducials) and what is
/// marked on it.
pub fn draw(scan: &GrayImage, a: &Analysis, marks: Marks) -> Overlay {
    draw_sized(scan, a, marks, MAX_SIDE)
}

/// Draws the overlay reduced so its longest side is at most `max_side` (thumbnails).
pub fn draw_sized(scan: &GrayImage, a: &Analysis, marks: Marks, max_side: u32) -> Overlay {
    let (w, h) = scan.dimensions();
    let k = (w.max(h) as f64 / max_side.max(16) as f64).max(1.0);
    let (ow, oh) = (
        (((w as f64) / k) as u32).max(1),
        (((h as f64) / k) as u32).max(1),
    );
    let mut img = Overlay {
        width: ow,
        height: oh,
        pixels: vec![0; ow as usize * oh as usize],
    };
    // Each picture pixel shows the scan pixel under its centre: the source columns are
    // worked out once, then every row is copied from one scan row.
    let source = |i: u32, n: u32| (((i as f64 + 0.5) * k) as u32).min(n.saturating_sub(1)) as usize;
    let columns: Vec<usize> = (0..ow).map(|x| source(x, w)).collect();
    let scan_w = w as usize;
    let shift = (256 / GREYS).trailing_zeros();
    for (y, out) in img.pixels.chunks_exact_mut(ow as usize).enumerate() {
        let sy = source(y as u32, h);
        let Some(src) = scan.as_raw().get(sy * scan_w..(sy + 1) * scan_w) else {
            continue;
        };
        for (px, &sx) in out.iter_mut().zip(&columns) {
            *px = src.get(sx).copied().unwrap_or(0) >> shift;
        }
    }
    let Some(reg) = &a.registration else {
        outline(&mut img, 0.0, 0.0, ow as f64, oh as f64, Mark::Red, 6);
        return img;
    };
    let t = reg.transform;
    let map = |x: f64, y: f64| {
        (
            (t[0] * x + t[1] * y + t[2]) / k,
            (t[3] * x + t[4] * y + t[5]) / k,
        )
    };
    let (dots, rows) = (a.pattern.dots as f64, a.expected_rows as f64);
    // Expected defects first, failures last: where two overlap, the worse shows.
    let mut tinted: Vec<(Mark, &Defect)> = marks
        .defects
        .iter()
        .map(|d| {
            let mark = match d.severity {
                _ if marks.expected.contains(&d.kind) => Mark::ExpectedTint,
                Severity::Fail => Mark::FailTint,
                Severity::Marginal => Mark::MarginalTint,
            };
            (mark, d)
        })
        .collect();
    tinted.sort_by_key(|(m, _)| match m {
        Mark::ExpectedTint => 0,
        Mark::MarginalTint => 1,
        _ => 2,
    });
    for (mark, d) in tinted {
        let (x0, x1, y0, y1) = match d.axis {
            Axis::Columns => (d.start as f64, d.end as f64 + 1.0, 0.0, rows),
            Axis::Rows => (0.0, dots, d.start as f64, d.end as f64 + 1.0),
            Axis::Page => (0.0, dots, 0.0, rows),
        };
        // Widen one-dot marks so they stay visible when the picture is reduced.
        let pad = if x1 - x0 < 3.0 { 1.5 } else { 0.0 };
        fill_quad(
            &mut img,
            [
                map(x0 - pad, y0),
                map(x1 + pad, y0),
                map(x1 + pad, y1),
                map(x0 - pad, y1),
            ],
            mark,
        );
    }
    // Golden findings, framed: columns and elements run down the page, rows and bands
    // across it; a density finding is the whole page's and is not framed.
    for f in marks.golden {
        let (Some(s), Some(e)) = (f.start, f.end) else {
            continue;
        };
        let (s, e) = (s as f64, e as f64 + 1.0);
        let (x0, x1, y0, y1) = match f.what {
            "columns" | "elements" => (s - 1.0, e + 1.0, 0.0, rows),
            "rows" | "band" => (0.0, dots, s - 1.0, e + 1.0),
            _ => continue,
        };
        let corners = [map(x0, y0), map(x1, y0), map(x1, y1), map(x0, y1)];
        let thick = (img.width().max(img.height()) / 300).clamp(1, 3);
        for i in 0..4 {
            line(
                &mut img,
                corners[i],
                corners[(i + 1) % 4],
                Mark::Blue,
                thick,
            );
        }
    }
    for f in &reg.fiducials {
        let s = 16.0;
        let (c, mark) = match f.found {
            Some([u, v]) => ((u / k, v / k), Mark::Green),
            None => (map(f.expected[0], f.expected[1]), Mark::Orange),
        };
        let r = s * reg.scale_x / k;
        outline(&mut img, c.0 - r, c.1 - r, c.0 + r, c.1 + r, mark, 2);
    }
    img
}

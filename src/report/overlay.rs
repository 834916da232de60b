//! The overlay picture: the scan, reduced to a viewable size, with the fiducials and every
//! defect marked in printer dot space mapped onto the scan.

use crate::analysis::{Analysis, Axis};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, GrayImage, ImageEncoder, RgbImage};

/// Longest side of the overlay in pixels.
pub const MAX_SIDE: u32 = 1600;

fn blend(img: &mut RgbImage, x: u32, y: u32, c: [u8; 3], alpha: f32) {
    if x < img.width() && y < img.height() {
        blend_span(img, x, x, y, c, alpha);
    }
}

/// Blends pixels `x0..=x1` of row `y` (clipped to the image) with a colour.
fn blend_span(img: &mut RgbImage, x0: u32, x1: u32, y: u32, c: [u8; 3], alpha: f32) {
    let (w, h) = img.dimensions();
    if y >= h || x0 >= w {
        return;
    }
    let x1 = x1.min(w - 1);
    let row = y as usize * w as usize * 3;
    let Some(span) = img.get_mut(row + x0 as usize * 3..row + (x1 as usize + 1) * 3) else {
        return;
    };
    let keep = 1.0 - alpha;
    for p in span.chunks_exact_mut(3) {
        for (ch, &want) in p.iter_mut().zip(&c) {
            *ch = (*ch as f32 * keep + want as f32 * alpha) as u8;
        }
    }
}

/// Fills a convex quadrilateral (points in order) with a translucent colour: the pixels
/// whose centres lie inside (on an edge counts as inside).
fn fill_quad(img: &mut RgbImage, q: [(f64, f64); 4], c: [u8; 3], alpha: f32) {
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
        blend_span(img, x0, x1, y, c, alpha);
    }
}

fn outline(img: &mut RgbImage, x0: f64, y0: f64, x1: f64, y1: f64, c: [u8; 3], t: u32) {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let (x0, y0) = (x0.clamp(0.0, w - 1.0) as u32, y0.clamp(0.0, h - 1.0) as u32);
    let (x1, y1) = (x1.clamp(0.0, w - 1.0) as u32, y1.clamp(0.0, h - 1.0) as u32);
    for k in 0..t {
        for x in x0..=x1 {
            blend(img, x, y0 + k, c, 1.0);
            blend(img, x, y1.saturating_sub(k), c, 1.0);
        }
        for y in y0..=y1 {
            blend(img, x0 + k, y, c, 1.0);
            blend(img, x1.saturating_sub(k), y, c, 1.0);
        }
    }
}

/// An overlay (or thumbnail) as PNG bytes, for the run's artifacts.
///
/// Fast compression with the "up" filter on every row: on these noisy pictures it
/// encodes in two thirds of the time adaptive filtering takes, and decodes faster, for
/// about 3 % more bytes. The buffer is sized up front, so it is not regrown and copied.
pub fn png(img: &RgbImage) -> Result<Vec<u8>, String> {
    let mut buf = Vec::with_capacity(img.as_raw().len() / 2 + 4096);
    PngEncoder::new_with_quality(&mut buf, CompressionType::Fast, FilterType::Up)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Draws the overlay for a scan and its analysis.
pub fn draw(scan: &GrayImage, a: &Analysis) -> RgbImage {
    draw_sized(scan, a, MAX_SIDE)
}

/// Draws the overlay reduced so its longest side is at most `max_side` (thumbnails).
pub fn draw_sized(scan: &GrayImage, a: &Analysis, max_side: u32) -> RgbImage {
    let (w, h) = scan.dimensions();
    let k = (w.max(h) as f64 / max_side.max(16) as f64).max(1.0);
    let (ow, oh) = (((w as f64) / k) as u32, ((h as f64) / k) as u32);
    let mut img = RgbImage::new(ow.max(1), oh.max(1));
    // Each picture pixel shows the scan pixel under its centre: the source columns are
    // worked out once, then every row is copied from one scan row.
    let source = |i: u32, n: u32| (((i as f64 + 0.5) * k) as u32).min(n.saturating_sub(1)) as usize;
    let columns: Vec<usize> = (0..img.width()).map(|x| source(x, w)).collect();
    let row_len = img.width() as usize * 3;
    let scan_w = w as usize;
    for (y, out) in img.chunks_exact_mut(row_len).enumerate() {
        let sy = source(y as u32, h);
        let Some(src) = scan.as_raw().get(sy * scan_w..(sy + 1) * scan_w) else {
            continue;
        };
        for (px, &sx) in out.chunks_exact_mut(3).zip(&columns) {
            let g = src.get(sx).copied().unwrap_or(0);
            px.copy_from_slice(&[g, g, g]);
        }
    }
    let red = [220, 30, 30];
    let Some(reg) = &a.registration else {
        outline(&mut img, 0.0, 0.0, ow as f64, oh as f64, red, 6);
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
    for d in &a.defects {
        let (colour, alpha) = match d.severity {
            crate::analysis::Severity::Fail => (red, 0.45),
            crate::analysis::Severity::Marginal => ([230, 150, 20], 0.35),
        };
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
            colour,
            alpha,
        );
    }
    for f in &reg.fiducials {
        let s = 16.0;
        let (c, colour) = match f.found {
            Some([u, v]) => ((u / k, v / k), [20, 170, 40]),
            None => (map(f.expected[0], f.expected[1]), [240, 140, 0]),
        };
        let r = s * reg.scale_x / k;
        outline(&mut img, c.0 - r, c.1 - r, c.0 + r, c.1 + r, colour, 2);
    }
    img
}

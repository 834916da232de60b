//! An ordinary shop receipt with no printrig pattern on it: a logo, lines of text-like
//! glyphs, a 1-D barcode and a QR-like grid of squares.
//!
//! Nothing on it is a solid square mark with a quiet zone: the logo is a wide block with
//! letters knocked out, the QR finders are 7-module rings around a 3-module core.

use super::rng::Rng;
use printrig::pattern::Bitmap;

/// A glyph: 5 × 7 cells, drawn from strokes so it looks like a letter or a digit.
fn glyph(rng: &mut Rng) -> [[bool; 5]; 7] {
    let mut g = [[false; 5]; 7];
    // A few strokes: verticals at the sides or centre, horizontals at top, middle, bottom.
    let strokes = rng.int(2, 4);
    for _ in 0..strokes {
        match rng.int(0, 5) {
            0 => (0..7).for_each(|y| g[y][0] = true),
            1 => (0..7).for_each(|y| g[y][4] = true),
            2 => (0..7).for_each(|y| g[y][2] = true),
            3 => (0..5).for_each(|x| g[0][x] = true),
            4 => (0..5).for_each(|x| g[3][x] = true),
            _ => (0..5).for_each(|x| g[6][x] = true),
        }
    }
    // A diagonal now and then.
    if rng.chance(0.25) {
        for (y, row) in g.iter_mut().enumerate() {
            row[(y * 4 / 6).min(4)] = true;
        }
    }
    g
}

/// Draws a glyph with cells of `cw` × `ch` dots at (x, y); `ink` false knocks it out.
fn draw_glyph(bm: &mut Bitmap, g: &[[bool; 5]; 7], x: u32, y: u32, cw: u32, ch: u32, ink: bool) {
    for (gy, row) in g.iter().enumerate() {
        for (gx, &on) in row.iter().enumerate() {
            if on {
                let (x0, y0) = (x + gx as u32 * cw, y + gy as u32 * ch);
                bm.fill_rect(x0, y0, x0 + cw, y0 + ch, ink);
            }
        }
    }
}

/// A line of text: words of glyphs from `x0` up to `x1` (exclusive); returns the height.
fn text_line(bm: &mut Bitmap, rng: &mut Rng, x0: u32, x1: u32, y: u32, scale: u32) -> u32 {
    let (cw, ch) = (scale, scale + scale / 2);
    let advance = 6 * cw;
    let mut x = x0;
    while x + 5 * cw < x1 {
        let word = rng.int(2, 8);
        for _ in 0..word {
            if x + 5 * cw >= x1 {
                break;
            }
            draw_glyph(bm, &glyph(rng), x, y, cw, ch, true);
            x += advance;
        }
        x += advance;
    }
    7 * ch
}

/// Renders a receipt `dots` wide.
pub fn receipt(dots: u32, rng: &mut Rng) -> Bitmap {
    let rows = 1000;
    let mut bm = Bitmap::new(dots, rows);
    let mut y = rng.int(12, 40);

    // Logo: a wide block with the shop's initials knocked out, centred.
    let (lw, lh) = (rng.int(150, 220).min(dots - 40), rng.int(40, 56));
    let lx = (dots - lw) / 2;
    bm.fill_rect(lx, y, lx + lw, y + lh, true);
    let letters = rng.int(2, 4);
    let cell = (lh - 12) / 7;
    let step = 6 * cell;
    let mut gx = lx + (lw - letters * step) / 2;
    for _ in 0..letters {
        draw_glyph(&mut bm, &glyph(rng), gx, y + 6, cell, cell, false);
        gx += step;
    }
    y += lh + rng.int(14, 24);

    // Shop name and address.
    y += text_line(&mut bm, rng, 24, dots - 24, y, 3) + 8;
    for _ in 0..rng.int(2, 3) {
        y += text_line(&mut bm, rng, 40, dots - 40, y, 2) + 6;
    }
    // Dashed separator.
    let sep = |bm: &mut Bitmap, y: u32| {
        let mut x = 8;
        while x + 8 < dots - 8 {
            bm.fill_rect(x, y, x + 8, y + 2, true);
            x += 14;
        }
    };
    y += 6;
    sep(&mut bm, y);
    y += 12;
    // Items: a description on the left, a price on the right.
    for _ in 0..rng.int(4, 8) {
        text_line(&mut bm, rng, 8, dots * 3 / 5, y, 2);
        let price_w = rng.int(4, 6) * 12;
        text_line(&mut bm, rng, dots - 8 - price_w, dots - 8, y, 2);
        y += 21 + 6;
    }
    sep(&mut bm, y);
    y += 12;
    // Total in larger glyphs.
    text_line(&mut bm, rng, 8, dots / 2, y, 3);
    y += text_line(&mut bm, rng, dots - 8 - 4 * 18, dots - 8, y, 3) + 18;

    // Barcode: bars of 1–4 modules, quiet zones either side.
    let module = rng.int(2, 3);
    let bar_h = rng.int(48, 72);
    let width = 95 * module;
    let mut x = (dots - width) / 2;
    let end = x + width;
    let mut ink = true;
    while x < end {
        let n = rng.int(1, 4) * module;
        if ink {
            bm.fill_rect(x, y, (x + n).min(end), y + bar_h, true);
        }
        x += n;
        ink = !ink;
    }
    y += bar_h + 6;
    y += text_line(&mut bm, rng, (dots - width) / 2, end, y, 2) + 16;

    // QR-like grid: finder rings in three corners, random modules elsewhere.
    let n = rng.pick(&[21u32, 25, 29]);
    let m = rng.int(3, 5);
    let side = n * m;
    let qx = (dots - side) / 2;
    let finder = |bm: &mut Bitmap, fx: u32, fy: u32| {
        let (x0, y0) = (qx + fx * m, y + fy * m);
        bm.fill_rect(x0, y0, x0 + 7 * m, y0 + 7 * m, true);
        bm.fill_rect(x0 + m, y0 + m, x0 + 6 * m, y0 + 6 * m, false);
        bm.fill_rect(x0 + 2 * m, y0 + 2 * m, x0 + 5 * m, y0 + 5 * m, true);
    };
    let near = |a: u32| a < 8;
    let far = |a: u32| a >= n - 8;
    let in_finder = |i: u32, j: u32| (near(i) || far(i)) && near(j) || near(i) && far(j);
    for j in 0..n {
        for i in 0..n {
            if !in_finder(i, j) && rng.chance(0.5) {
                let (x0, y0) = (qx + i * m, y + j * m);
                bm.fill_rect(x0, y0, x0 + m, y0 + m, true);
            }
        }
    }
    finder(&mut bm, 0, 0);
    finder(&mut bm, n - 7, 0);
    finder(&mut bm, 0, n - 7);
    y += side + 16;
    y += text_line(&mut bm, rng, 40, dots - 40, y, 2) + 24;

    // Cut to length.
    let used = y.min(rows);
    let dots_v: Vec<u8> = bm.dots()[..(dots * used) as usize].to_vec();
    Bitmap::from_dots(dots, used, dots_v).expect("a prefix of whole rows")
}

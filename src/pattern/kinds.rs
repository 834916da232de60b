//! Drawing of each pattern kind: the common frame (fiducials, id strips) and the body.

use super::id::{self, PatternId};
use super::*;
use crate::util::rng::Rng;

struct Body {
    rows: u32,
    bands: Vec<Band>,
}

pub(super) fn render(kind: PatternKind, dots: u32, serial: u16) -> Pattern {
    let body_rows = match kind {
        PatternKind::Solid => 416,
        PatternKind::Ladder => 5 * 64 + 4 * 16,
        PatternKind::Elements => 64 + 16 + 8 * 24,
        PatternKind::DenseSparse => 3 * (48 + 8 + 48) + 2 * 8,
        PatternKind::Receipt => 416,
    };
    let bottom_y = HEADER_ROWS + body_rows + FOOTER_GAP;
    let rows = bottom_y + FIDUCIAL + BOTTOM_MARGIN;
    let mut bm = Bitmap::new(dots, rows);

    let mut fiducials = Vec::new();
    for (edge, y) in [(Edge::Top, TOP_FIDUCIAL_Y), (Edge::Bottom, bottom_y)] {
        for x in fiducial_columns(dots) {
            bm.fill_rect(x, y, x + FIDUCIAL, y + FIDUCIAL, true);
            fiducials.push(Fiducial {
                edge,
                x,
                y,
                size: FIDUCIAL,
            });
        }
    }

    let id_strips = vec![(MARGIN, ID_Y), (dots - MARGIN - id::STRIP_W, ID_Y)];
    let pid = PatternId { kind, dots, serial };
    for &(sx, sy) in &id_strips {
        draw_id(&mut bm, &pid, sx, sy);
    }

    let y0 = HEADER_ROWS;
    let body = match kind {
        PatternKind::Solid => solid(&mut bm, y0),
        PatternKind::Ladder => ladder(&mut bm, y0),
        PatternKind::Elements => elements(&mut bm, y0),
        PatternKind::DenseSparse => dense_sparse(&mut bm, y0),
        PatternKind::Receipt => receipt(&mut bm, y0),
    };
    debug_assert_eq!(body.rows, body_rows);
    let mut bands = body.bands;
    for b in &mut bands {
        let n = bm.count(b.col_start, b.row_start, b.col_end, b.row_end) as f64;
        b.coverage = n / ((b.col_end - b.col_start) as f64 * b.rows() as f64);
    }

    Pattern {
        layout: Layout {
            kind,
            dots,
            rows,
            serial,
            fiducials,
            id_strips,
            bands,
            ink_end: bottom_y + FIDUCIAL,
        },
        bitmap: bm,
    }
}

fn draw_id(bm: &mut Bitmap, pid: &PatternId, sx: u32, sy: u32) {
    for (i, bit) in pid.bits().into_iter().enumerate() {
        let (cx, cy) = PatternId::cell_of(i as u32);
        let ink_x = if bit { cx } else { cx + id::CELL_W };
        bm.fill_rect(
            sx + ink_x,
            sy + cy,
            sx + ink_x + id::CELL_W,
            sy + cy + id::CELL_H,
            true,
        );
    }
}

fn band(name: &str, kind: BandKind, r0: u32, r1: u32, dots: u32) -> Band {
    Band {
        name: name.to_string(),
        kind,
        row_start: r0,
        row_end: r1,
        col_start: 0,
        col_end: dots,
        coverage: 0.0,
    }
}

fn solid(bm: &mut Bitmap, y0: u32) -> Body {
    let w = bm.width();
    let mut bands = Vec::new();
    for (i, r0) in [0u32, 216].into_iter().enumerate() {
        let (a, b) = (y0 + r0, y0 + r0 + 200);
        bm.fill_rect(0, a, w, b, true);
        bands.push(band(&format!("solid-{}", i + 1), BandKind::Solid, a, b, w));
    }
    Body { rows: 416, bands }
}

fn ladder(bm: &mut Bitmap, y0: u32) -> Body {
    let w = bm.width();
    let mut bands = Vec::new();
    // Diagonal screen: dot on where (x + 3y) mod 8 < k. Every column and every row holds
    // exactly k dots in each run of 8, so the column profile of a tint is flat.
    for (i, level) in [1u32, 2, 4, 6, 8].into_iter().enumerate() {
        let a = y0 + i as u32 * 80;
        let b = a + 64;
        for y in a..b {
            for x in 0..w {
                if (x + 3 * y) % 8 < level {
                    bm.set(x, y, true);
                }
            }
        }
        let kind = if level == 8 {
            BandKind::Solid
        } else {
            BandKind::Tint
        };
        let pct = level as f64 * 100.0 / 8.0;
        bands.push(band(&format!("tint-{pct}"), kind, a, b, w));
    }
    Body {
        rows: 5 * 64 + 4 * 16,
        bands,
    }
}

fn elements(bm: &mut Bitmap, y0: u32) -> Body {
    let w = bm.width();
    let mut bands = vec![band("solid", BandKind::Solid, y0, y0 + 64, w)];
    bm.fill_rect(0, y0, w, y0 + 64, true);
    let period = 8;
    for phase in 0..period {
        let a = y0 + 80 + phase * 24;
        let b = a + 24;
        let mut x = phase;
        while x < w {
            bm.fill_rect(x, a, x + 1, b, true);
            x += period;
        }
        bands.push(band(
            &format!("step-{phase}"),
            BandKind::Elements { period, phase },
            a,
            b,
            w,
        ));
    }
    Body {
        rows: 64 + 16 + 8 * 24,
        bands,
    }
}

/// Sparse blocks: 8 dots every 80, starting 36 dots in, so they stay off the edges.
pub const SPARSE: BandKind = BandKind::Sparse {
    offset: 36,
    block: 8,
    pitch: 80,
};

fn dense_sparse(bm: &mut Bitmap, y0: u32) -> Body {
    let w = bm.width();
    let mut bands = Vec::new();
    let BandKind::Sparse {
        offset,
        block,
        pitch,
    } = SPARSE
    else {
        unreachable!("SPARSE is a sparse band")
    };
    let mut y = y0;
    for i in 0..3 {
        bm.fill_rect(0, y, w, y + 48, true);
        bands.push(band(
            &format!("dense-{}", i + 1),
            BandKind::Solid,
            y,
            y + 48,
            w,
        ));
        y += 56;
        let mut x = offset;
        while x + block <= w {
            bm.fill_rect(x, y, x + block, y + 48, true);
            x += pitch;
        }
        bands.push(band(&format!("sparse-{}", i + 1), SPARSE, y, y + 48, w));
        y += 56;
    }
    Body {
        rows: y - 8 - y0,
        bands,
    }
}

fn receipt(bm: &mut Bitmap, y0: u32) -> Body {
    let w = bm.width();
    let mut rng = Rng::new(0x5EC3_1B7D);
    // A small font of 36 random glyphs, 5×7 cells drawn at 2×2 dots.
    let glyphs: Vec<[u8; 7]> = (0..36)
        .map(|_| {
            let mut g = [0u8; 7];
            for row in g.iter_mut() {
                for c in 0..5 {
                    if rng.uniform() < 0.42 {
                        *row |= 1 << c;
                    }
                }
            }
            g
        })
        .collect();
    let draw_text = |bm: &mut Bitmap, rng: &mut Rng, y: u32, x0: u32, chars: u32| {
        for i in 0..chars {
            let g = &glyphs[rng.below(glyphs.len() as u64) as usize];
            if rng.uniform() < 0.15 {
                continue; // a space
            }
            let gx = x0 + i * 12;
            for (r, bits) in g.iter().enumerate() {
                for c in 0..5 {
                    if bits & (1 << c) != 0 {
                        let (x, yy) = (gx + c * 2, y + r as u32 * 2);
                        bm.fill_rect(x, yy, x + 2, yy + 2, true);
                    }
                }
            }
        }
    };
    let cols = (w - 2 * MARGIN) / 12;
    let mut bands = Vec::new();
    let mut y = y0;

    // Logo: a ring with a bar, centred.
    let (cx, cy, r_out, r_in) = (w as f64 / 2.0, (y + 40) as f64, 38.0, 24.0);
    for yy in y..y + 80 {
        for x in 0..w {
            let d = ((x as f64 + 0.5 - cx).powi(2) + (yy as f64 + 0.5 - cy).powi(2)).sqrt();
            let bar = (yy as f64 - cy).abs() < 5.0 && (x as f64 - cx).abs() < 60.0;
            if (d <= r_out && d >= r_in) || bar {
                bm.set(x, yy, true);
            }
        }
    }
    bands.push(band("logo", BandKind::Content, y, y + 80, w));
    y += 96;

    // Text: twelve lines of glyphs, ragged right.
    let text_start = y;
    for line in 0..12 {
        let n = if line % 4 == 3 {
            cols / 2
        } else {
            cols - rng.below(cols as u64 / 3) as u32
        };
        draw_text(bm, &mut rng, y + 2, MARGIN, n);
        y += 20;
    }
    bands.push(band("text", BandKind::Content, text_start, y, w));
    y += 16;

    // Barcode: bars 2..6 dots wide across 60 % of the width.
    let bx0 = w / 5;
    let bx1 = w - w / 5;
    let mut x = bx0;
    while x < bx1 {
        let bar = 2 + 2 * rng.below(3) as u32;
        let gap = 2 + 2 * rng.below(3) as u32;
        bm.fill_rect(x, y, (x + bar).min(bx1), y + 64, true);
        x += bar + gap;
    }
    bands.push(band("barcode", BandKind::Content, y, y + 64, w));
    y += 64;
    Body {
        rows: y - y0,
        bands,
    }
}

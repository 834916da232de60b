//! The registration's local part: a shift of every dot column along the head and of every
//! dot row along the feed, on top of the affine fit of the marks, measured at the edges
//! of the marks and of the bands. A curled edge foreshortens the columns near it and a
//! feed that runs unevenly spaces the rows unevenly; one affine map cannot follow either.
//! Pure: works on an in-memory image only.
//!
//! Only edges the printer cannot move are used: the marks' four sides and the top and
//! bottom edges of full-width bands, never the print's own side edges (a dead element at
//! the edge would move those, and the warp would hide it).

use super::dotmap::{bilinear, round3};
use super::register::{Affine, Registration};
use crate::pattern::{BandKind, Layout};
use image::GrayImage;
use serde::Serialize;

/// How far from where the affine fit puts an edge it is looked for, dots.
const REACH: f64 = 4.0;
/// Profile step across an edge, dots.
const STEP: f64 = 0.125;
/// Least step from paper to ink across an edge, as a share of the paper's grey.
const MIN_EDGE_CONTRAST: f64 = 0.06;
/// A mark printing this much wider or narrower than the others along an axis is cut, dots.
const MAX_WIDTH_ERROR: f64 = 1.0;
/// The same for a mark a curled edge of the paper may squeeze: the outermost ones.
const MAX_SQUEEZE: f64 = 2.0;
/// Shifts larger than this are not a scanner's or a curl's: the edge is not the pattern's.
const MAX_SHIFT: f64 = 3.0;
/// How far past the outermost knot a slope is followed: the page's margin beyond its
/// marks, and a little more.
const EXTRAPOLATE: f64 = 16.0;
/// Columns of a band's edge read on each side of the page's centre line, in chunks.
const CHUNK: u32 = 24;

/// Shifts, in dots, at measured positions along one axis; linear between them, and beyond
/// the outermost along the slope of the outermost pair for [`EXTRAPOLATE`] dots, then
/// flat (a slope read over one mark carried across half a page would multiply its noise).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Shifts {
    /// `[position, shift]` pairs in dots, by position.
    pub knots: Vec<[f64; 2]>,
}

impl Shifts {
    pub fn at(&self, p: f64) -> f64 {
        let k = &self.knots;
        match k.len() {
            0 => 0.0,
            1 => k[0][1],
            // Beyond the outermost knots: along the outermost pair's slope for as far as
            // a page's margin reaches past its marks, then flat.
            _ if p <= k[0][0] => {
                let (q, slope) = (k[0], (k[1][1] - k[0][1]) / (k[1][0] - k[0][0]).max(1e-9));
                q[1] - slope * (q[0] - p).min(EXTRAPOLATE)
            }
            n if p >= k[n - 1][0] => {
                let (a, q) = (k[n - 2], k[n - 1]);
                let slope = (q[1] - a[1]) / (q[0] - a[0]).max(1e-9);
                q[1] + slope * (p - q[0]).min(EXTRAPOLATE)
            }
            n => {
                let i = k.partition_point(|q| q[0] <= p).clamp(1, n - 1);
                let ([p0, s0], [p1, s1]) = (k[i - 1], k[i]);
                if p1 - p0 <= 1e-9 {
                    return s0;
                }
                s0 + (s1 - s0) * (p - p0) / (p1 - p0)
            }
        }
    }

    /// The shift at `p` as the knots carry it: between them as [`Shifts::at`], beyond the
    /// last along the last pair's slope however far (where an edge is to be looked for
    /// next, not a shift to apply).
    fn carried(&self, p: f64) -> f64 {
        match self.knots.as_slice() {
            [.., a, q] if p > q[0] => q[1] + (q[1] - a[1]) / (q[0] - a[0]).max(1e-9) * (p - q[0]),
            _ => self.at(p),
        }
    }

    fn from_points(mut pts: Vec<(f64, f64)>) -> Shifts {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Edges at one position (the same mark side in the top and bottom rows) averaged.
        let mut knots: Vec<[f64; 2]> = Vec::new();
        let mut i = 0;
        while i < pts.len() {
            let mut j = i;
            let (mut sum, mut n) = (0.0, 0.0);
            while j < pts.len() && (pts[j].0 - pts[i].0).abs() < 2.0 {
                sum += pts[j].1;
                n += 1.0;
                j += 1;
            }
            knots.push([round3(pts[i].0), round3(sum / n)]);
            i = j;
        }
        Shifts { knots }
    }
}

/// The affine fit and the shifts of columns and rows: dot (x, y) shows at
/// `map(x + columns(x), y + rows(y))`.
#[derive(Debug, Clone)]
pub struct Warp {
    pub map: Affine,
    pub columns: Shifts,
    pub rows: Shifts,
    /// RMS distance of the edges from the warp fitted to them, dots.
    pub residual_dots: f64,
    /// Edges measured.
    pub edges: usize,
}

impl Warp {
    /// No local part: the affine map alone.
    pub fn affine(map: Affine) -> Warp {
        Warp {
            map,
            columns: Shifts::default(),
            rows: Shifts::default(),
            residual_dots: 0.0,
            edges: 0,
        }
    }

    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        self.map.apply(x + self.columns.at(x), y + self.rows.at(y))
    }

    /// The one-dot-wide strip at dot column `x` (inside the head or beside it) as a warp
    /// of its own: sampled as one column, it reads where this warp puts that column.
    pub fn column(&self, x: f64) -> Warp {
        let m = &self.map;
        let shift = self.columns.at(x + 0.5);
        Warp {
            map: Affine {
                c: m.c + m.a * x,
                f: m.f + m.d * x,
                ..*m
            },
            columns: Shifts {
                knots: vec![[0.0, shift]],
            },
            rows: self.rows.clone(),
            residual_dots: self.residual_dots,
            edges: self.edges,
        }
    }
}

/// Which way ink lies from an edge.
#[derive(Clone, Copy)]
enum Ink {
    /// Ink at larger positions (a left or top edge of a mark).
    After,
    Before,
}

/// Where an edge at `at` (dots along `across`) crosses halfway from paper to ink, read on
/// the mean of the lines `along` (the other coordinate). `None` without a clear step.
fn edge(
    img: &GrayImage,
    map: &Affine,
    vertical: bool,
    at: f64,
    along: &[f64],
    ink: Ink,
) -> Option<f64> {
    let n = (2.0 * REACH / STEP).round() as usize + 1;
    let mut profile = Vec::with_capacity(n);
    for k in 0..n {
        let t = at - REACH + k as f64 * STEP;
        let (mut sum, mut cnt) = (0.0, 0.0);
        for &s in along {
            let (x, y) = if vertical { (t, s) } else { (s, t) };
            let (u, v) = map.apply(x, y);
            if let Some(g) = bilinear(img, u, v) {
                sum += g;
                cnt += 1.0;
            }
        }
        if cnt < along.len() as f64 * 0.75 {
            return None;
        }
        profile.push(sum / cnt);
    }
    // Paper and ink levels from the ends of the profile, a dot and a half clear of the edge.
    let clear = (1.5 / STEP) as usize;
    let end = ((REACH - 1.5) / STEP) as usize;
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
    let (lo, hi) = (mean(&profile[..end]), mean(&profile[n - end..]));
    let (paper, dark) = match ink {
        Ink::After => (lo, hi),
        Ink::Before => (hi, lo),
    };
    if paper <= 0.0 || (paper - dark) / paper < MIN_EDGE_CONTRAST {
        return None;
    }
    let half = (paper + dark) / 2.0;
    // The crossing nearest to where the fit puts the edge.
    let mut best: Option<f64> = None;
    for k in clear.min(n - 1)..(n - clear).max(1) {
        let (g0, g1) = (profile[k - 1], profile[k]);
        if (g0 - half) * (g1 - half) <= 0.0 && g0 != g1 {
            let t = at - REACH + (k as f64 - 1.0 + (half - g0) / (g1 - g0)) * STEP;
            if best.is_none_or(|b| (t - at).abs() < (b - at).abs()) {
                best = Some(t);
            }
        }
    }
    best
}

/// Lines `from..to` through the middle half of a span, one per dot.
fn middle(from: u32, to: u32) -> Vec<f64> {
    let q = (to - from) / 4;
    (from + q..to - q).map(|i| f64::from(i) + 0.5).collect()
}

/// A measured edge: where the pattern puts it and where the scan shows it, dots.
struct Seen {
    expected: f64,
    found: f64,
}

/// Both sides of a mark along one axis, and the mark's index in the layout.
type Pair = (Seen, Seen, usize);

/// The sides of every mark used in `reg`, across the head (`vert`) and along the feed.
struct Sides {
    vert: Vec<Pair>,
    horiz: Vec<Pair>,
}

fn mark_sides(img: &GrayImage, layout: &Layout, reg: &Registration) -> Sides {
    let map = &reg.map;
    let mut sides = Sides {
        vert: Vec::new(),
        horiz: Vec::new(),
    };
    for (i, (f, m)) in layout.fiducials.iter().zip(&reg.fiducials).enumerate() {
        if m.found.is_none() || m.rejected {
            continue;
        }
        let (x0, x1) = (f64::from(f.x), f64::from(f.x + f.size));
        let (y0, y1) = (f64::from(f.y), f64::from(f.y + f.size));
        let rows = middle(f.y, f.y + f.size);
        let cols = middle(f.x, f.x + f.size);
        let seen = |expected, found| Seen { expected, found };
        if let (Some(a), Some(b)) = (
            edge(img, map, true, x0, &rows, Ink::After),
            edge(img, map, true, x1, &rows, Ink::Before),
        ) {
            sides.vert.push((seen(x0, a), seen(x1, b), i));
        }
        if let (Some(a), Some(b)) = (
            edge(img, map, false, y0, &cols, Ink::After),
            edge(img, map, false, y1, &cols, Ink::Before),
        ) {
            sides.horiz.push((seen(y0, a), seen(y1, b), i));
        }
    }
    sides
}

/// Dot gain along an axis: how much wider the marks print than the pattern draws them.
fn gain(pairs: &[Pair]) -> f64 {
    if pairs.is_empty() {
        return 0.0;
    }
    pairs
        .iter()
        .map(|(a, b, _)| (b.found - a.found) - (b.expected - a.expected))
        .sum::<f64>()
        / pairs.len() as f64
}

/// The leftmost and rightmost marks' columns.
fn outermost(layout: &Layout) -> (f64, f64) {
    let xs = layout.fiducials.iter().map(|f| f64::from(f.x));
    (
        xs.clone().fold(f64::INFINITY, f64::min),
        xs.fold(f64::NEG_INFINITY, f64::max),
    )
}

/// Keeps the marks whose width is within reach of the others' (gain taken out). A mark
/// whose width is off by more than a curl can squeeze it is cut (by a dead block or a cut
/// width through it): its sides are not where the pattern put them. A curl squeezes the
/// marks near the paper's edge: the outermost marks across the head (those for which
/// `inner` is false), and every mark along the feed, are given more room than the inner
/// ones. Returns the marks left out.
fn whole(pairs: &mut Vec<Pair>, inner: &dyn Fn(f64) -> bool) -> Vec<usize> {
    // The gain the whole marks print with. A cut or squeezed mark only ever reads
    // narrower, so the whole ones are the wider half: the median of that half, which cut
    // marks cannot move even when they are half of them.
    let mut widths: Vec<f64> = pairs
        .iter()
        .map(|(a, b, _)| (b.found - a.found) - (b.expected - a.expected))
        .collect();
    widths.sort_by(f64::total_cmp);
    let upper = &widths[widths.len() / 2..];
    let g = upper.get(upper.len() / 2).copied().unwrap_or(0.0);
    let mut cut = Vec::new();
    pairs.retain(|(a, b, i)| {
        let limit = if inner(a.expected) {
            MAX_WIDTH_ERROR
        } else {
            MAX_SQUEEZE
        };
        let keep = ((b.found - a.found) - (b.expected - a.expected) - g).abs() <= limit;
        if !keep {
            cut.push(*i);
        }
        keep
    });
    cut
}

/// Measures the edges of the marks used in `reg` and of the full-width bands that printed,
/// and fits the shifts of columns and rows. The print's size along each axis may differ
/// from the pattern's by a dot gain (ink spreads past a dot's cell, or falls short of
/// it): the mean width of the marks over the pattern's is taken out, so that only where
/// an edge lies counts, not how thick the ink is.
///
/// Also returns the marks used in `reg` that are not whole (cut across the head or along
/// the feed, by [`whole`]): their centres are not where the pattern put them either, and
/// a fit to them moves every dot.
pub fn fit(img: &GrayImage, layout: &Layout, reg: &Registration) -> (Warp, Vec<usize>) {
    let map = &reg.map;
    let Sides {
        mut vert,
        mut horiz,
    } = mark_sides(img, layout, reg);
    let (left, right) = outermost(layout);
    let mut cut = whole(&mut vert, &|x| x > left && x < right);
    cut.extend(whole(&mut horiz, &|_| false));
    cut.sort_unstable();
    cut.dedup();
    let (gx, gy) = (gain(&vert), gain(&horiz));
    let shifts = |pairs: &[Pair], g: f64| -> Vec<(f64, f64)> {
        pairs
            .iter()
            .flat_map(|(a, b, _)| {
                [
                    (a.expected, a.found + g / 2.0 - a.expected),
                    (b.expected, b.found - g / 2.0 - b.expected),
                ]
            })
            .filter(|p| p.1.abs() <= MAX_SHIFT)
            .collect()
    };
    let mut col_pts = shifts(&vert, gx);
    let mut row_pts = shifts(&horiz, gy);
    // The top and bottom edges of the bands that span the head and are at least half ink,
    // read over chunks of columns across the middle of the page (the median of those
    // that show the edge, so a dead block or a cut width does not move it).
    // Down the page, each edge is looked for where the shifts measured above it carry it
    // (along the slope of the last two): without the bottom row of marks (a print that
    // stopped) the fit cannot know the feed's own scale, and the shift grows row by row.
    let dots = layout.dots;
    let mut band_edges: Vec<(u32, Ink)> = layout
        .bands
        .iter()
        .filter(|b| {
            !matches!(b.kind, BandKind::Content)
                && b.coverage >= 0.45
                && b.col_end - b.col_start >= dots
        })
        .flat_map(|b| [(b.row_start, Ink::After), (b.row_end, Ink::Before)])
        .collect();
    band_edges.sort_by_key(|e| e.0);
    for (at, ink) in band_edges {
        let at = f64::from(at);
        let predicted = Shifts::from_points(row_pts.clone()).carried(at);
        let mut found: Vec<f64> = (1..8)
            .filter_map(|k| {
                let c = dots * k / 8;
                let cols: Vec<f64> = (c.saturating_sub(CHUNK / 2)..(c + CHUNK / 2).min(dots))
                    .map(|i| f64::from(i) + 0.5)
                    .collect();
                edge(img, map, false, at + predicted, &cols, ink)
            })
            .collect();
        if found.len() < 3 {
            continue;
        }
        found.sort_by(f64::total_cmp);
        let med = found[found.len() / 2];
        let g = match ink {
            Ink::After => gy / 2.0,
            Ink::Before => -gy / 2.0,
        };
        let s = med + g - at;
        if (s - predicted).abs() <= MAX_SHIFT {
            row_pts.push((at, s));
        }
    }
    let edges = col_pts.len() + row_pts.len();
    // The affine fit already takes out the mean shift and the slope: what is left is local.
    col_pts.retain(|p| p.1.is_finite());
    row_pts.retain(|p| p.1.is_finite());
    let columns = Shifts::from_points(col_pts.clone());
    let rows = Shifts::from_points(row_pts.clone());
    let sq: f64 = col_pts
        .iter()
        .map(|p| (p.1 - columns.at(p.0)).powi(2))
        .chain(row_pts.iter().map(|p| (p.1 - rows.at(p.0)).powi(2)))
        .sum();
    let warp = Warp {
        map: *map,
        columns,
        rows,
        residual_dots: round3((sq / edges.max(1) as f64).sqrt()),
        edges,
    };
    (warp, cut)
}

#[cfg(test)]
mod tests {
    use crate::analysis::analyze;
    use crate::pattern::{self, Pattern, PatternKind};
    use image::{GrayImage, Luma};

    /// A page as a scanner with `s` pixels per dot would show it, from a known map: dot
    /// (x, y) shows at (40 + s·(x + pull(x)), 40 + s·stretch·y), where `pull` moves the
    /// columns near the left edge inwards as a curled edge does. Each pixel is the mean of
    /// 3 × 3 looks; ink darkens paper by `ink(y)` of the full step.
    struct Page {
        s: f64,
        stretch: f64,
        /// Pull at the left edge and the width it fades over, dots.
        pull: (f64, f64),
    }

    impl Page {
        fn cx(&self, x: f64) -> f64 {
            let (p, z) = self.pull;
            let q = (1.0 - x / z).max(0.0);
            p * q * q
        }

        fn to_pixel(&self, x: f64, y: f64) -> (f64, f64) {
            (
                40.0 + self.s * (x + self.cx(x)),
                40.0 + self.s * self.stretch * y,
            )
        }

        fn to_dot(&self, u: f64, v: f64) -> (f64, f64) {
            let t = (u - 40.0) / self.s;
            // x + cx(x) = t, increasing in x: bisection.
            let (mut lo, mut hi) = (t - 20.0, t + 20.0);
            for _ in 0..40 {
                let m = (lo + hi) / 2.0;
                if m + self.cx(m) < t {
                    lo = m;
                } else {
                    hi = m;
                }
            }
            ((lo + hi) / 2.0, (v - 40.0) / (self.s * self.stretch))
        }

        fn render(&self, p: &Pattern, ink: impl Fn(f64) -> f64) -> GrayImage {
            let (w, h) = self.to_pixel(f64::from(p.layout.dots), f64::from(p.layout.rows));
            let mut img = GrayImage::new(w as u32 + 40, h as u32 + 40);
            for (u, v, px) in img.enumerate_pixels_mut() {
                let mut dark = 0.0;
                for k in 0..9 {
                    let (du, dv) = (
                        f64::from(k % 3) / 3.0 + 1.0 / 6.0,
                        f64::from(k / 3) / 3.0 + 1.0 / 6.0,
                    );
                    let (x, y) = self.to_dot(f64::from(u) + du, f64::from(v) + dv);
                    if x >= 0.0 && y >= 0.0 && p.bitmap.get(x as u32, y as u32) {
                        dark += ink(y) / 9.0;
                    }
                }
                *px = Luma([(220.0 - 190.0 * dark).round() as u8]);
            }
            img
        }

        /// Worst distance, in dots, between the analysis' corners and the page's.
        fn corner_error(&self, p: &Pattern, img: &GrayImage) -> f64 {
            let a = analyze(img, p);
            let r = a.registration.expect("registered");
            assert!(r.proven, "{:?}", a.defects);
            let w = r.warp.expect("a proven fit has its warp");
            let (dx, dy) = (f64::from(p.layout.dots), f64::from(p.layout.ink_end));
            [(0.0, 0.0), (dx, 0.0), (0.0, dy), (dx, dy)]
                .iter()
                .zip(w.corners)
                .map(|(&(x, y), [u, v])| {
                    let (tu, tv) = self.to_pixel(x, y);
                    (u - tu).hypot(v - tv) / self.s
                })
                .fold(0.0, f64::max)
        }
    }

    #[test]
    fn marks_a_cut_narrows_are_left_out_even_when_they_are_half() {
        use super::{whole, Seen, Shifts};
        // Four marks 32 dots wide printing 0.3 dots wider (dot gain); the two a cut width
        // runs through print 27 dots wide.
        let pair = |x: f64, width: f64, i: usize| {
            (
                Seen {
                    expected: x,
                    found: x - 0.15,
                },
                Seen {
                    expected: x + 32.0,
                    found: x - 0.15 + width,
                },
                i,
            )
        };
        let mut pairs = vec![
            pair(24.0, 32.3, 0),
            pair(115.0, 32.3, 1),
            pair(253.0, 27.0, 2),
            pair(360.0, 27.0, 3),
        ];
        assert_eq!(whole(&mut pairs, &|_| true), vec![2, 3]);
        assert_eq!(pairs.len(), 2);
        // Down a page without its bottom marks, the next edge is looked for along the
        // slope of the last two shifts, however far.
        let s = Shifts {
            knots: vec![[96.0, 1.4], [144.0, 1.9]],
        };
        assert!((s.carried(208.0) - (1.9 + 64.0 * 0.5 / 48.0)).abs() < 1e-9);
        assert!((s.at(208.0) - (1.9 + 16.0 * 0.5 / 48.0)).abs() < 1e-9);
    }

    #[test]
    fn marks_too_faint_for_the_page_are_found_where_the_top_row_puts_them() {
        let p = pattern::render(PatternKind::Solid, 576, 7).expect("pattern");
        // The feed stretched by 2 %, the print fading along its length to a quarter: the
        // bottom marks are far lighter than anything the survey takes for a mark.
        let page = Page {
            s: 1.5,
            stretch: 1.02,
            pull: (0.0, 1.0),
        };
        let rows = f64::from(p.layout.rows);
        let img = page.render(&p, |y| {
            if y < 100.0 {
                1.0
            } else {
                1.0 - 0.75 * (y - 100.0) / (rows - 100.0)
            }
        });
        let a = analyze(&img, &p);
        let r = a.registration.as_ref().expect("registered");
        let bottom: Vec<_> = r
            .fiducials
            .iter()
            .filter(|f| f.edge == pattern::Edge::Bottom)
            .collect();
        assert!(
            bottom.iter().all(|f| f.found.is_some() && !f.rejected),
            "{bottom:?}"
        );
        assert!(bottom.iter().any(|f| f.by == Some("local")), "{bottom:?}");
        assert_eq!(r.model, "affine");
        // Without the bottom row the fit would take the feed's scale from the width's and
        // miss the bottom corners by 2 % of the length, 11 dots.
        assert!(page.corner_error(&p, &img) < 0.4);
    }

    #[test]
    fn a_curled_edge_pulls_the_columns_near_it_and_the_warp_follows() {
        let p = pattern::render(PatternKind::Solid, 512, 9).expect("pattern");
        // The left edge pulled in by two dots, fading out over 60 dots.
        let page = Page {
            s: 2.0,
            stretch: 1.0,
            pull: (2.0, 60.0),
        };
        let img = page.render(&p, |_| 1.0);
        let affine_only = {
            let a = analyze(&img, &p);
            let t = a.registration.expect("registered").transform;
            let (tu, tv) = page.to_pixel(0.0, 0.0);
            ((t[2] - tu).hypot(t[5] - tv)) / page.s
        };
        assert!(
            affine_only > 0.8,
            "the affine fit alone is off by {affine_only:.2} dots"
        );
        let err = page.corner_error(&p, &img);
        assert!(err < 0.5, "corners off by {err:.2} dots");
    }
}

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

/// Measures the edges of the marks used in `reg` and of the full-width bands that printed,
/// and fits the shifts of columns and rows. The print's size along each axis may differ
/// from the pattern's by a dot gain (ink spreads past a dot's cell, or falls short of
/// it): the mean width of the marks over the pattern's is taken out, so that only where
/// an edge lies counts, not how thick the ink is.
pub fn fit(img: &GrayImage, layout: &Layout, reg: &Registration) -> Warp {
    let map = &reg.map;
    let mut vert: Vec<(Seen, Seen)> = Vec::new();
    let mut horiz: Vec<(Seen, Seen)> = Vec::new();
    for (f, m) in layout.fiducials.iter().zip(&reg.fiducials) {
        if m.found.is_none() || m.rejected {
            continue;
        }
        let (x0, x1) = (f64::from(f.x), f64::from(f.x + f.size));
        let (y0, y1) = (f64::from(f.y), f64::from(f.y + f.size));
        let rows = middle(f.y, f.y + f.size);
        let cols = middle(f.x, f.x + f.size);
        if let (Some(a), Some(b)) = (
            edge(img, map, true, x0, &rows, Ink::After),
            edge(img, map, true, x1, &rows, Ink::Before),
        ) {
            vert.push((
                Seen {
                    expected: x0,
                    found: a,
                },
                Seen {
                    expected: x1,
                    found: b,
                },
            ));
        }
        if let (Some(a), Some(b)) = (
            edge(img, map, false, y0, &cols, Ink::After),
            edge(img, map, false, y1, &cols, Ink::Before),
        ) {
            horiz.push((
                Seen {
                    expected: y0,
                    found: a,
                },
                Seen {
                    expected: y1,
                    found: b,
                },
            ));
        }
    }
    // Dot gain along each axis: how much wider the marks print than the pattern draws them.
    let gain = |pairs: &[(Seen, Seen)]| -> f64 {
        if pairs.is_empty() {
            return 0.0;
        }
        pairs
            .iter()
            .map(|(a, b)| (b.found - a.found) - (b.expected - a.expected))
            .sum::<f64>()
            / pairs.len() as f64
    };
    // A mark whose width is off the others' by more than a curl can squeeze it is cut (by
    // a dead block or a cut width through it): its sides are not where the pattern put
    // them, and following them would move every column beyond it.
    // A curl squeezes the marks near the paper's edge: the outermost marks across the
    // head, and every mark along the feed, are given more room than the inner ones.
    let (left, right) = (
        layout.fiducials.iter().map(|f| f.x).min().unwrap_or(0),
        layout.fiducials.iter().map(|f| f.x).max().unwrap_or(0),
    );
    let whole = |pairs: &mut Vec<(Seen, Seen)>, inner: &dyn Fn(f64) -> bool| {
        let g = gain(pairs);
        pairs.retain(|(a, b)| {
            let limit = if inner(a.expected) {
                MAX_WIDTH_ERROR
            } else {
                MAX_SQUEEZE
            };
            ((b.found - a.found) - (b.expected - a.expected) - g).abs() <= limit
        });
    };
    whole(&mut vert, &|x| x > f64::from(left) && x < f64::from(right));
    whole(&mut horiz, &|_| false);
    let (gx, gy) = (gain(&vert), gain(&horiz));
    let shifts = |pairs: &[(Seen, Seen)], g: f64| -> Vec<(f64, f64)> {
        pairs
            .iter()
            .flat_map(|(a, b)| {
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
    let dots = layout.dots;
    for b in &layout.bands {
        if matches!(b.kind, BandKind::Content)
            || b.coverage < 0.45
            || b.col_end - b.col_start < dots
        {
            continue;
        }
        for (at, ink) in [(b.row_start, Ink::After), (b.row_end, Ink::Before)] {
            let mut found: Vec<f64> = (1..8)
                .filter_map(|k| {
                    let c = dots * k / 8;
                    let cols: Vec<f64> = (c.saturating_sub(CHUNK / 2)..(c + CHUNK / 2).min(dots))
                        .map(|i| f64::from(i) + 0.5)
                        .collect();
                    edge(img, map, false, f64::from(at), &cols, ink)
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
            let s = med + g - f64::from(at);
            if s.abs() <= MAX_SHIFT {
                row_pts.push((f64::from(at), s));
            }
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
    Warp {
        map: *map,
        columns,
        rows,
        residual_dots: round3((sq / edges.max(1) as f64).sqrt()),
        edges,
    }
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

//! Registration: find the pattern's fiducial marks in a scan and fit the map from printer
//! dot coordinates to scan pixels. Pure: works on an in-memory image only.

use super::dotmap::{bilinear, round3};
use crate::pattern::{Bitmap, Edge, Layout, QUIET};
use image::GrayImage;
use serde::Serialize;

/// Affine map from dot coordinates (x, y) to continuous scan coordinates (u, v), where scan
/// pixel `i` spans `[i, i + 1)`: `u = a·x + b·y + c`, `v = d·x + e·y + f`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Affine {
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub d: f64,
    pub e: f64,
    pub f: f64,
}

impl Affine {
    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.a * x + self.b * y + self.c,
            self.d * x + self.e * y + self.f,
        )
    }

    /// Pixels per dot along the dot x axis and the dot y axis.
    pub fn scale(&self) -> (f64, f64) {
        (self.a.hypot(self.d), self.b.hypot(self.e))
    }

    /// Mean scan pixels per dot of the two axes (never zero).
    pub fn px_per_dot(&self) -> f64 {
        let (sx, sy) = self.scale();
        ((sx + sy) / 2.0).max(1e-9)
    }

    /// Whether the map turns the page over: no page lying on the bed, print to the glass.
    pub fn mirrored(&self) -> bool {
        self.a * self.e - self.b * self.d <= 0.0
    }

    /// Rotation of the dot x axis in the scan, degrees (positive: clockwise on screen).
    pub fn rotation_deg(&self) -> f64 {
        self.d.atan2(self.a).to_degrees()
    }

    /// How the page lay on the bed, in quarter turns clockwise: 0, 90, 180 or 270.
    pub fn orientation_deg(&self) -> u16 {
        let q = (self.rotation_deg() / 90.0).round().rem_euclid(4.0);
        (q as u16 % 4) * 90
    }

    /// Rotation left once the page's quarter turns are taken out: the skew, degrees.
    pub fn skew_deg(&self) -> f64 {
        let r = self.rotation_deg() - f64::from(self.orientation_deg());
        (r + 180.0).rem_euclid(360.0) - 180.0
    }

    /// The map from scan pixels back to dots, if this one is not degenerate.
    pub fn invert(&self) -> Option<Affine> {
        let det = self.a * self.e - self.b * self.d;
        if det.abs() < 1e-12 || !det.is_finite() {
            return None;
        }
        let (a, b, d, e) = (self.e / det, -self.b / det, -self.d / det, self.a / det);
        Some(Affine {
            a,
            b,
            c: -(a * self.c + b * self.f),
            d,
            e,
            f: -(d * self.c + e * self.f),
        })
    }

    pub fn as_array(&self) -> [f64; 6] {
        [self.a, self.b, self.c, self.d, self.e, self.f]
    }

    fn similarity(scale: f64, theta: f64, from: (f64, f64), to: (f64, f64)) -> Affine {
        let (s, c) = theta.sin_cos();
        let (a, b, d, e) = (scale * c, -scale * s, scale * s, scale * c);
        Affine {
            a,
            b,
            c: to.0 - (a * from.0 + b * from.1),
            d,
            e,
            f: to.1 - (d * from.0 + e * from.1),
        }
    }
}

/// A layout point in dots and the scan point it was matched to, in pixels.
type PointPair = ((f64, f64), (f64, f64));

/// Scan pixels per dot accepted by registration: 100 to 2400 dpi scans of a 203.2-dpi
/// print (the rig is specified for 150–1200 dpi).
pub const MIN_PX_PER_DOT: f64 = 100.0 / 203.2;
pub const MAX_PX_PER_DOT: f64 = 2400.0 / 203.2;

/// A dark, square, isolated blob that may be a fiducial.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// Centre in continuous scan coordinates.
    pub u: f64,
    pub v: f64,
    /// Side of the blob in scan pixels.
    pub side: f64,
}

/// What the coarse look at the scan found before registration.
#[derive(Debug, Clone)]
pub struct Survey {
    /// Grey of the paper (the most common bright value).
    pub white: f64,
    /// Fraction of pixels clearly darker than paper.
    pub dark_fraction: f64,
    /// Threshold between ink and paper.
    pub threshold: f64,
    pub candidates: Vec<Candidate>,
}

/// One expected fiducial and where it was found.
#[derive(Debug, Clone, Serialize)]
pub struct FiducialMatch {
    pub edge: Edge,
    pub index: usize,
    /// Centre in dots.
    pub expected: [f64; 2],
    /// Centre in scan pixels, when found.
    pub found: Option<[f64; 2]>,
    /// How it was found: `survey` (a dark square on the whole page) or `local` (matched
    /// to its neighbourhood in the pattern where the others put it: a mark too faint for
    /// the page's threshold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<&'static str>,
    /// Distance between where it was found and where the fit puts it, dots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residual_dots: Option<f64>,
    /// Found, but left out of the fit: farther from the others' fit than a whole mark
    /// can be (a mark cut by a dead block or a half-width print).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rejected: bool,
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub map: Affine,
    pub fiducials: Vec<FiducialMatch>,
    /// RMS distance between fitted and found fiducial centres, in dots.
    pub residual_dots: f64,
    /// True when a full affine fit was possible (marks in two rows); false for a
    /// similarity fit from marks in one line.
    pub affine: bool,
}

impl Registration {
    /// Marks found and used in the fit.
    pub fn found(&self) -> usize {
        self.fiducials
            .iter()
            .filter(|f| f.found.is_some() && !f.rejected)
            .count()
    }
}

/// Longest side, in pixels, of the reduced image the survey labels: about 150 dpi for an
/// 80 mm receipt on a bed with margins, so a 32-dot mark is at least 20 reduced pixels
/// and its 12-dot quiet zone at least 6 on a scan of 150 dpi or more.
const SURVEY_WIDTH: u32 = 560;

/// Looks at the whole scan once: paper white, how much ink, and the square blobs.
///
/// The scan is reduced by box-averaging `f × f` blocks (one pass over the pixels, rows
/// summed into 16-bit accumulators so it vectorises); everything else works on the
/// reduced image, and only the mark centres are refined at full resolution.
pub fn survey(img: &GrayImage) -> Survey {
    survey_levels(img, false)
}

/// The survey with every grey level a light print could sit at looked through for marks,
/// whatever the first split found: a page whose marks the first split missed while it
/// found other squares (a second receipt's QR code or logo beside a light print).
pub fn survey_every_level(img: &GrayImage) -> Survey {
    survey_levels(img, true)
}

fn survey_levels(img: &GrayImage, every: bool) -> Survey {
    let (w, h) = img.dimensions();
    // Rows are summed into a u16 per column: at most 16 rows of 255.
    let f = (w / SURVEY_WIDTH).clamp(1, 16);
    let (rw, rh) = (w / f, h / f);
    if rw == 0 || rh == 0 {
        return Survey {
            white: 255.0,
            dark_fraction: 0.0,
            threshold: 128.0,
            candidates: Vec::new(),
        };
    }
    let (fu, rw_us, w_us) = (f as usize, rw as usize, w as usize);
    let mut reduced = vec![0u8; rw_us * rh as usize];
    let mut acc = vec![0u16; rw_us * fu];
    let raw = img.as_raw();
    // s / (f·f) as a multiply: exact for s ≤ 255·f·f, since the rounding of the reciprocal
    // adds less than s / 2³² < 1 / (f·f).
    let recip = (1u64 << 32).div_ceil((f * f) as u64);
    for (ry, out) in reduced.chunks_exact_mut(rw_us).enumerate() {
        let first = ry * fu;
        let mut rows = raw[first * w_us..(first + fu) * w_us].chunks_exact(w_us);
        if let Some(row) = rows.next() {
            for (a, &p) in acc.iter_mut().zip(&row[..rw_us * fu]) {
                *a = p as u16;
            }
        }
        for row in rows {
            for (a, &p) in acc.iter_mut().zip(&row[..rw_us * fu]) {
                *a += p as u16;
            }
        }
        match fu {
            1 => block_means::<1>(&acc, out, recip),
            2 => block_means::<2>(&acc, out, recip),
            3 => block_means::<3>(&acc, out, recip),
            4 => block_means::<4>(&acc, out, recip),
            5 => block_means::<5>(&acc, out, recip),
            6 => block_means::<6>(&acc, out, recip),
            8 => block_means::<8>(&acc, out, recip),
            _ => {
                for (o, block) in out.iter_mut().zip(acc.chunks_exact(fu)) {
                    let s: u64 = block.iter().map(|&v| v as u64).sum();
                    *o = ((s * recip) >> 32) as u8;
                }
            }
        }
    }
    // Four histograms side by side, so runs of equal values do not wait on one counter.
    let mut hists = [[0u64; 256]; 4];
    let quads = reduced.chunks_exact(4);
    for &v in quads.remainder() {
        hists[0][v as usize] += 1;
    }
    for q in quads {
        for (h, &v) in hists.iter_mut().zip(q) {
            h[v as usize] += 1;
        }
    }
    let mut hist = [0u64; 256];
    for h in &hists {
        for (t, &n) in hist.iter_mut().zip(h) {
            *t += n;
        }
    }
    let total: u64 = hist.iter().sum();
    // Paper white: the most common value above the split between dark and bright (a light
    // print's solid can hold more of the scan than the paper, and read brighter than mid
    // grey: it is still below the split).
    let split = otsu(&hist);
    let white = ((split.ceil() as usize).min(255)..256)
        .max_by_key(|&i| hist[i])
        .unwrap_or(255) as f64;
    let dark_cut = (white * 0.75) as usize;
    let dark: u64 = hist[..dark_cut.min(256)].iter().sum();
    let dark_fraction = if total > 0 {
        dark as f64 / total as f64
    } else {
        0.0
    };
    // Otsu splits paper from ink, however light the ink; on bare paper it splits the
    // noise, which the cap keeps below: nothing within 8 % of the paper is ink.
    let threshold = split.min(white * 0.92);
    let mut candidates = blobs(&reduced, rw, rh, threshold, f, img);
    // A page lying on a lid or bed brighter than itself: the most common bright grey is
    // the lid, and the first split falls between lid and paper. When a paper-like level
    // holds a good share of the scan below that split, the marks are looked for again
    // between it and the ink.
    let below = threshold as usize;
    let below_mass: u64 = hist[..below.min(256)].iter().sum();
    let below_peak = (0..below.min(256)).max_by_key(|&i| hist[i]).unwrap_or(0);
    if below_peak as f64 > 0.45 * white && below_mass * 20 > total {
        let mut lower = [0u64; 256];
        lower[..below].copy_from_slice(&hist[..below]);
        let t2 = otsu(&lower).min(below_peak as f64 * 0.92);
        for c in blobs(&reduced, rw, rh, t2, f, img) {
            if !candidates
                .iter()
                .any(|d| (d.u - c.u).hypot(d.v - c.v) < d.side.max(c.side) / 2.0)
            {
                candidates.push(c);
            }
        }
    }
    // A light print on a bed darker than its ink: the first split falls between bed and
    // paper, and the marks sit with the paper above it. When too few marks were found and
    // some of the scan lies between that split and the paper, they are looked for again
    // between the paper and whatever lies above the split.
    let above_lo = (threshold as usize + 1).min(255);
    let above_hi = ((white * 0.92) as usize).min(255);
    if (every || candidates.len() < 4) && above_lo < above_hi {
        let between: u64 = hist[above_lo..above_hi].iter().sum();
        if between * 500 > total {
            let mut upper = [0u64; 256];
            upper[above_lo..].copy_from_slice(&hist[above_lo..]);
            let t3 = otsu(&upper).clamp(above_lo as f64, white * 0.92);
            for c in blobs(&reduced, rw, rh, t3, f, img) {
                if !candidates
                    .iter()
                    .any(|d| (d.u - c.u).hypot(d.v - c.v) < d.side.max(c.side) / 2.0)
                {
                    candidates.push(c);
                }
            }
        }
    }
    // A light print on a bed darker than anything printed, whose solid covers more of the
    // page than its paper: the first split falls between the bed and the page, and the
    // most common grey above it is the print's solid. When the page itself splits in two
    // levels that each hold a good share of the scan, the marks are looked for between
    // them.
    if every || candidates.len() < 4 {
        let lo = (split.ceil() as usize).min(255);
        let mut page = [0u64; 256];
        page[lo..].copy_from_slice(&hist[lo..]);
        let inner = (otsu(&page).ceil() as usize).clamp(lo, 255);
        let mass = |a: usize, z: usize| hist[a..z].iter().sum::<u64>() as f64;
        let mode = |a: usize, z: usize| (a..z).max_by_key(|&i| hist[i]).unwrap_or(a) as f64;
        if mass(lo, inner) > 0.03 * total as f64
            && mass(inner, 256) > 0.03 * total as f64
            && mode(inner, 256) > 1.15 * mode(lo, inner)
        {
            for c in blobs(&reduced, rw, rh, inner as f64, f, img) {
                if !candidates
                    .iter()
                    .any(|d| (d.u - c.u).hypot(d.v - c.v) < d.side.max(c.side) / 2.0)
                {
                    candidates.push(c);
                }
            }
        }
    }
    Survey {
        white,
        dark_fraction,
        threshold,
        candidates,
    }
}

/// Means of blocks of `F` column sums, `F` known at compile time so the block sum unrolls.
fn block_means<const F: usize>(acc: &[u16], out: &mut [u8], recip: u64) {
    for (o, block) in out.iter_mut().zip(acc.chunks_exact(F)) {
        let s: u32 = block.iter().map(|&v| v as u32).sum();
        *o = ((s as u64 * recip) >> 32) as u8;
    }
}

fn otsu(hist: &[u64; 256]) -> f64 {
    let total: f64 = hist.iter().sum::<u64>() as f64;
    if total == 0.0 {
        return 128.0;
    }
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum();
    let (mut w0, mut sum0, mut best, mut best_t) = (0.0, 0.0, -1.0, 128.0);
    for (t, &n) in hist.iter().enumerate() {
        w0 += n as f64;
        sum0 += t as f64 * n as f64;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let m0 = sum0 / w0;
        let m1 = (sum_all - sum0) / w1;
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as f64 + 0.5;
        }
    }
    best_t
}

/// Connected dark components of the reduced image that look like filled squares, with
/// their centres refined on the full-resolution scan.
fn blobs(
    reduced: &[u8],
    rw: u32,
    rh: u32,
    threshold: f64,
    f: u32,
    img: &GrayImage,
) -> Vec<Candidate> {
    let (rw_us, rh_us) = (rw as usize, rh as usize);
    // Dark where the 3×3 minimum is below the threshold: a dark dilation that closes
    // one-pixel white lines such as a dead element through a mark. Separable: along
    // rows first, then along columns one output row at a time.
    let t = threshold as u8;
    let mut hmin = vec![255u8; rw_us * rh_us];
    for (src, dst) in reduced
        .chunks_exact(rw_us)
        .zip(hmin.chunks_exact_mut(rw_us))
    {
        dst[0] = src[0].min(src[rw_us.min(2) - 1]);
        dst[rw_us - 1] = src[rw_us - 1].min(src[rw_us.saturating_sub(2)]);
        if rw_us > 2 {
            let n = rw_us - 2;
            let (l, m, r, d) = (
                &src[..n],
                &src[1..n + 1],
                &src[2..n + 2],
                &mut dst[1..n + 1],
            );
            for x in 0..n {
                d[x] = l[x].min(m[x]).min(r[x]);
            }
        }
    }
    // Connected dark runs, 4-connected: each row's runs join the overlapping runs of the
    // row above (union-find over run labels), and every run adds its length and extent to
    // its label's statistics. The work goes with the number of runs, not of pixels.
    #[derive(Clone, Copy)]
    struct Stat {
        area: u64,
        x0: usize,
        x1: usize,
        y0: usize,
        y1: usize,
    }
    #[derive(Clone, Copy)]
    struct Run {
        x0: usize,
        x1: usize,
        label: u32,
    }
    fn find(p: &mut [u32], mut i: u32) -> u32 {
        while p[i as usize] != i {
            p[i as usize] = p[p[i as usize] as usize];
            i = p[i as usize];
        }
        i
    }
    let mut parent: Vec<u32> = Vec::new();
    let mut stats: Vec<Stat> = Vec::new();
    let mut above: Vec<Run> = Vec::new();
    let mut here: Vec<Run> = Vec::new();
    let mut line = vec![false; rw_us];
    for y in 0..rh_us {
        let up = &hmin[y.saturating_sub(1) * rw_us..][..rw_us];
        let mid = &hmin[y * rw_us..][..rw_us];
        let down = &hmin[(y + 1).min(rh_us - 1) * rw_us..][..rw_us];
        for (((o, &u), &m), &d) in line.iter_mut().zip(up).zip(mid).zip(down) {
            *o = u.min(m).min(d) < t;
        }
        here.clear();
        let mut j = 0;
        let mut x = 0;
        while x < rw_us {
            if !line[x] {
                x += 1;
                continue;
            }
            let x0 = x;
            while x < rw_us && line[x] {
                x += 1;
            }
            let x1 = x;
            // Runs above that end before this one starts cannot touch later runs either.
            while j < above.len() && above[j].x1 <= x0 {
                j += 1;
            }
            let mut label = u32::MAX;
            let mut k = j;
            while k < above.len() && above[k].x0 < x1 {
                let r = find(&mut parent, above[k].label);
                if label == u32::MAX {
                    label = r;
                } else if r != label {
                    let (lo, hi) = (label.min(r), label.max(r));
                    parent[hi as usize] = lo;
                    label = lo;
                }
                k += 1;
            }
            if label == u32::MAX {
                label = parent.len() as u32;
                parent.push(label);
                stats.push(Stat {
                    area: 0,
                    x0,
                    x1: x1 - 1,
                    y0: y,
                    y1: y,
                });
            }
            let st = &mut stats[label as usize];
            st.area += (x1 - x0) as u64;
            st.x0 = st.x0.min(x0);
            st.x1 = st.x1.max(x1 - 1);
            st.y0 = st.y0.min(y);
            st.y1 = st.y1.max(y);
            here.push(Run { x0, x1, label });
        }
        std::mem::swap(&mut above, &mut here);
    }
    let mut merged: Vec<Option<Stat>> = vec![None; stats.len()];
    for (l, &s) in stats.iter().enumerate() {
        let r = find(&mut parent, l as u32) as usize;
        match &mut merged[r] {
            Some(m) => {
                m.area += s.area;
                m.x0 = m.x0.min(s.x0);
                m.x1 = m.x1.max(s.x1);
                m.y0 = m.y0.min(s.y0);
                m.y1 = m.y1.max(s.y1);
            }
            None => merged[r] = Some(s),
        }
    }
    // Square, filled, not too large: mark candidates, biggest first (fiducials are the
    // largest filled squares on a page); only those kept are refined.
    let mut squares: Vec<Stat> = merged
        .into_iter()
        .flatten()
        .filter(|s| {
            let (bw, bh) = ((s.x1 - s.x0 + 1) as f64, (s.y1 - s.y0 + 1) as f64);
            let aspect = bw / bh;
            let fill = s.area as f64 / (bw * bh);
            bw >= 5.0
                && bh >= 5.0
                && bw <= rw as f64 / 3.0
                && (0.7..=1.43).contains(&aspect)
                && fill >= 0.72
        })
        .collect();
    squares.sort_by_key(|s| std::cmp::Reverse(s.area));
    squares.truncate(48);
    squares
        .into_iter()
        .map(|s| {
            // The dilation grew the blob by one pixel each side.
            let side = ((s.area as f64).sqrt() - 2.0).max(1.0) * f as f64;
            let cu = (s.x0 + s.x1 + 1) as f64 / 2.0 * f as f64;
            let cv = (s.y0 + s.y1 + 1) as f64 / 2.0 * f as f64;
            let (u, v) = refine_centre(img, cu, cv, side, threshold);
            Candidate { u, v, side }
        })
        .collect()
}

/// The centre of a mark, at full resolution: the centroid of its ink in a window of the
/// mark and its quiet zone. A pixel's ink is its darkness between the window's own paper
/// and its darkest, doubled and capped at one: the mark's inside counts whole even where
/// banding or a fade leaves it lighter in part, so the centre is the square's and not its
/// darkest part's; only the blurred edge counts in part, alike on every side.
fn refine_centre(img: &GrayImage, cu: f64, cv: f64, side: f64, threshold: f64) -> (f64, f64) {
    let (w, h) = img.dimensions();
    let r = side * 0.75;
    let x0 = (cu - r).floor().max(0.0) as u32;
    let y0 = (cv - r).floor().max(0.0) as u32;
    let x1 = ((cu + r).ceil() as u32).min(w);
    let y1 = ((cv + r).ceil() as u32).min(h);
    if x1 <= x0 || y1 <= y0 {
        return (cu, cv);
    }
    let raw = img.as_raw();
    let mut hist = [0u32; 256];
    for y in y0..y1 {
        for &g in &raw[(y * w + x0) as usize..(y * w + x1) as usize] {
            hist[g as usize] += 1;
        }
    }
    let n: u32 = hist.iter().sum();
    let quantile = |q: f64| {
        let want = (n as f64 * q).ceil().max(1.0) as u32;
        let mut acc = 0;
        hist.iter()
            .position(|&c| {
                acc += c;
                acc >= want
            })
            .unwrap_or(255) as f64
    };
    let (dark, paper) = (quantile(0.05), quantile(0.95));
    if paper - dark < 8.0 || dark >= threshold {
        return (cu, cv);
    }
    let scale = 2.0 / (paper - dark);
    let (mut sw, mut su, mut sv) = (0.0, 0.0, 0.0);
    for y in y0..y1 {
        let row = &raw[(y * w) as usize..((y + 1) * w) as usize];
        for x in x0..x1 {
            let ink = ((paper - row[x as usize] as f64) * scale).clamp(0.0, 1.0);
            if ink > 0.0 {
                sw += ink;
                su += ink * (x as f64 + 0.5);
                sv += ink * (y as f64 + 0.5);
            }
        }
    }
    if sw > 0.0 {
        (su / sw, sv / sw)
    } else {
        (cu, cv)
    }
}

/// Matches the layout's fiducials to candidates and fits the map. `None` when fewer than
/// two marks agree.
pub fn register(layout: &Layout, candidates: &[Candidate]) -> Option<Registration> {
    register_all(layout, candidates, 1).into_iter().next()
}

/// The `max` best distinct registrations, best first (most marks matched, then the
/// smallest misfit of positions and mark sizes). A print missing some marks can leave
/// two explanations that fit equally well (the left pair of marks taken for the right
/// pair); the caller tells them apart with the id strip.
pub fn register_all(layout: &Layout, candidates: &[Candidate], max: usize) -> Vec<Registration> {
    let pts: Vec<(f64, f64)> = layout.fiducials.iter().map(|f| f.center()).collect();
    let Some(fsize) = layout.fiducials.first().map(|f| f.size as f64) else {
        return Vec::new();
    };
    let mut hyps: Vec<(usize, f64, Vec<Option<usize>>)> = Vec::new();
    for (j, cj) in candidates.iter().enumerate() {
        for (k, ck) in candidates.iter().enumerate() {
            if k <= j || (cj.side - ck.side).abs() > 0.3 * cj.side.max(ck.side) {
                continue;
            }
            let s_est = (cj.side + ck.side) / 2.0 / fsize;
            let (dcu, dcv) = (ck.u - cj.u, ck.v - cj.v);
            let dc = dcu.hypot(dcv);
            let ang_c = dcv.atan2(dcu);
            for (a, pa) in pts.iter().enumerate() {
                for (b, pb) in pts.iter().enumerate() {
                    if a == b {
                        continue;
                    }
                    let (dpx, dpy) = (pb.0 - pa.0, pb.1 - pa.1);
                    let dp = dpx.hypot(dpy);
                    let ratio = dc / (dp * s_est);
                    if !(0.8..=1.25).contains(&ratio) {
                        continue;
                    }
                    // The page may lie turned by quarter turns on the bed, each within a
                    // few degrees of skew.
                    let dang = wrap(ang_c - dpy.atan2(dpx));
                    let quarter = std::f64::consts::FRAC_PI_2;
                    if wrap(dang - (dang / quarter).round() * quarter).abs() > 5f64.to_radians() {
                        continue;
                    }
                    if !(MIN_PX_PER_DOT..=MAX_PX_PER_DOT).contains(&(dc / dp)) {
                        continue;
                    }
                    let map = Affine::similarity(dc / dp, dang, *pa, (cj.u, cj.v));
                    let (n, err, assign) = score(&map, &pts, candidates, fsize);
                    if n >= 2 && !hyps.iter().any(|h| h.2 == assign) {
                        hyps.push((n, err, assign));
                    }
                }
            }
        }
    }
    hyps.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.total_cmp(&y.1)));
    hyps.into_iter()
        .filter_map(|(_, _, assign)| finish(layout, &pts, candidates, &assign))
        .take(max)
        .collect()
}

fn finish(
    layout: &Layout,
    pts: &[(f64, f64)],
    candidates: &[Candidate],
    assign: &[Option<usize>],
) -> Option<Registration> {
    let pairs: Vec<PointPair> = assign
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.map(|j| (pts[i], (candidates[j].u, candidates[j].v))))
        .collect();
    let (map, affine) = fit(&pairs)?;
    // A mirrored fit is not a page lying on the bed (the print faces the glass): refused.
    if map.mirrored() {
        return None;
    }
    let residual_dots = rms_dots(&map, &pairs);
    let fiducials = layout
        .fiducials
        .iter()
        .enumerate()
        .map(|(i, f)| FiducialMatch {
            edge: f.edge,
            index: i,
            expected: [pts[i].0, pts[i].1],
            found: assign[i].map(|j| [candidates[j].u, candidates[j].v]),
            by: assign[i].map(|_| "survey"),
            residual_dots: None,
            rejected: false,
        })
        .collect();
    let mut reg = Registration {
        map,
        fiducials,
        residual_dots,
        affine,
    };
    mark_residuals(&mut reg);
    Some(reg)
}

/// RMS distance, in dots, between where `map` puts the layout points and where they were found.
fn rms_dots(map: &Affine, pairs: &[PointPair]) -> f64 {
    let sq: f64 = pairs
        .iter()
        .map(|(p, c)| {
            let (u, v) = map.apply(p.0, p.1);
            (u - c.0).powi(2) + (v - c.1).powi(2)
        })
        .sum();
    (sq / pairs.len().max(1) as f64).sqrt() / map.px_per_dot()
}

/// Each found mark's distance from where the fit puts it.
fn mark_residuals(reg: &mut Registration) {
    let px_per_dot = reg.map.px_per_dot();
    for m in &mut reg.fiducials {
        m.residual_dots = m.found.map(|[u, v]| {
            let (fu, fv) = reg.map.apply(m.expected[0], m.expected[1]);
            round3((fu - u).hypot(fv - v) / px_per_dot)
        });
    }
}

/// How far from where the fit puts a missing mark the local search looks, dots: a fit
/// from one row of marks takes the feed's scale from the width's, which a stretched feed
/// misses by 2 % (11 dots over a page).
const SEARCH_DOTS: f64 = 16.0;
/// Least normalised correlation between a mark's neighbourhood in the pattern and the
/// scan that counts as the mark: a whole square in its quiet zone correlates above 0.9
/// even faded, blurred or compressed; a mark cut in half stays below.
const MIN_MATCH: f64 = 0.8;
/// Least darkening of the mark against its quiet zone, as a share of the paper's grey.
const MIN_MARK_CONTRAST: f64 = 0.06;
/// A whole mark farther than this from the fit of the others is left out of it, dots: a
/// curled edge moves the outer marks by a dot or two, nothing true by more.
const MAX_MARK_RESIDUAL: f64 = 3.0;

/// The pattern's ink around one mark (the mark and its quiet zone), dot by dot.
struct Template {
    /// Dot centres relative to the mark's centre, and whether the pattern inks them.
    dots: Vec<(f64, f64, bool)>,
}

impl Template {
    fn around(bitmap: &Bitmap, x0: u32, y0: u32, size: u32) -> Template {
        let (x0, y0) = (i64::from(x0), i64::from(y0));
        let (m, s) = (i64::from(QUIET), i64::from(size));
        let c = s as f64 / 2.0;
        let mut dots = Vec::with_capacity(((s + 2 * m) * (s + 2 * m)) as usize);
        for y in y0 - m..y0 + s + m {
            for x in x0 - m..x0 + s + m {
                let ink = x >= 0 && y >= 0 && bitmap.get(x as u32, y as u32);
                dots.push(((x - x0) as f64 + 0.5 - c, (y - y0) as f64 + 0.5 - c, ink));
            }
        }
        Template { dots }
    }

    /// Correlation of the scan with the template centred at dot (cx, cy), sign turned so
    /// that ink on ink is positive, and the darkening of ink against paper as a share of
    /// paper. `None` when part of the window falls off the scan.
    fn score(&self, img: &GrayImage, map: &Affine, cx: f64, cy: f64) -> Option<(f64, f64)> {
        let (mut n1, mut s1, mut n0, mut s0, mut ss) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(dx, dy, ink) in &self.dots {
            let (u, v) = map.apply(cx + dx, cy + dy);
            let g = bilinear(img, u, v)?;
            ss += g * g;
            if ink {
                n1 += 1.0;
                s1 += g;
            } else {
                n0 += 1.0;
                s0 += g;
            }
        }
        if n1 == 0.0 || n0 == 0.0 {
            return None;
        }
        let n = n0 + n1;
        let mean = (s0 + s1) / n;
        let var_s = ss / n - mean * mean;
        let p = n1 / n;
        // Correlation with a 0/1 template: (mean on paper − mean on ink)·√(p(1 − p))/σ.
        let (m0, m1) = (s0 / n0, s1 / n1);
        if var_s <= 1e-9 || m0 <= 0.0 {
            return None;
        }
        let r = (m0 - m1) * (p * (1.0 - p)).sqrt() / var_s.sqrt();
        Some((r, (m0 - m1) / m0))
    }
}

/// Where the mark around dot (cx, cy) best matches, searched within `radius` dots: coarse
/// to fine, then a parabola through the best score and its neighbours on each axis. The
/// centre in dots under `map`, its correlation and contrast.
fn locate(
    img: &GrayImage,
    map: &Affine,
    tpl: &Template,
    (cx, cy): (f64, f64),
    radius: f64,
) -> Option<((f64, f64), f64, f64)> {
    let mut best: Option<(f64, f64, f64)> = None;
    let mut centre = (0.0, 0.0);
    for (reach, step) in [(radius, 2.0), (2.0, 0.5), (0.5, 0.125)] {
        let k = (reach / step).round() as i32;
        let mut round_best: Option<(f64, f64, f64)> = None;
        for j in -k..=k {
            for i in -k..=k {
                let (ox, oy) = (
                    centre.0 + f64::from(i) * step,
                    centre.1 + f64::from(j) * step,
                );
                if let Some((r, _)) = tpl.score(img, map, cx + ox, cy + oy) {
                    if round_best.is_none_or(|b| r > b.2) {
                        round_best = Some((ox, oy, r));
                    }
                }
            }
        }
        let b = round_best?;
        centre = (b.0, b.1);
        best = Some(b);
    }
    let (ox, oy, _) = best?;
    let step = 0.125;
    let at = |dx: f64, dy: f64| tpl.score(img, map, cx + ox + dx, cy + oy + dy).map(|s| s.0);
    let (r0, c0) = tpl.score(img, map, cx + ox, cy + oy)?;
    let vertex = |lo: Option<f64>, hi: Option<f64>| match (lo, hi) {
        (Some(l), Some(h)) => {
            let den = l - 2.0 * r0 + h;
            if den < 0.0 {
                (0.5 * (l - h) / den).clamp(-0.5, 0.5) * step
            } else {
                0.0
            }
        }
        _ => 0.0,
    };
    let fx = vertex(at(-step, 0.0), at(step, 0.0));
    let fy = vertex(at(0.0, -step), at(0.0, step));
    Some(((cx + ox + fx, cy + oy + fy), r0, c0))
}

/// Completes a fit from the survey's marks: looks for every mark it missed where the fit
/// puts it, matching the pattern's ink around the mark (correlation, so a faded or light
/// mark matches as well as a black one), checks that every mark the survey found is a
/// whole square in its quiet zone (a mark cut by a dead block or a half-width print is
/// left out of the fit: its centre is not the square's), and refits on the marks kept.
pub fn complete(
    img: &GrayImage,
    layout: &Layout,
    bitmap: &Bitmap,
    reg: &Registration,
) -> Registration {
    let mut out = reg.clone();
    let radius = if reg.affine {
        SEARCH_DOTS / 2.0
    } else {
        SEARCH_DOTS
    };
    for (f, m) in layout.fiducials.iter().zip(out.fiducials.iter_mut()) {
        let tpl = Template::around(bitmap, f.x, f.y, f.size);
        match m.found {
            Some([u, v]) => {
                let whole = reg.map.invert().and_then(|inv| {
                    let (x, y) = inv.apply(u, v);
                    tpl.score(img, &reg.map, x, y)
                });
                m.rejected = !whole.is_some_and(|(r, _)| r >= MIN_MATCH);
            }
            None => {
                let Some(((x, y), r, contrast)) = locate(img, &reg.map, &tpl, f.center(), radius)
                else {
                    continue;
                };
                if r >= MIN_MATCH && contrast >= MIN_MARK_CONTRAST {
                    let (u, v) = reg.map.apply(x, y);
                    m.found = Some([u, v]);
                    m.by = Some("local");
                }
            }
        }
    }
    // Too few whole marks left: the survey's fit stands as it was.
    if refit(&mut out).is_none() {
        return reg.clone();
    }
    out
}

/// The fit without the marks `cut` (found but not whole, by their measured sides), when
/// at least three marks are left to fit; else `None`.
pub fn without(reg: &Registration, cut: &[usize]) -> Option<Registration> {
    let mut out = reg.clone();
    for &i in cut {
        if let Some(m) = out.fiducials.get_mut(i) {
            m.rejected = true;
        }
    }
    let kept = out
        .fiducials
        .iter()
        .filter(|m| m.found.is_some() && !m.rejected)
        .count();
    if kept < 3 {
        return None;
    }
    refit(&mut out)?;
    Some(out)
}

/// Fits the map to the marks kept, leaving out one by one the mark farthest from the fit
/// of the others while it lies beyond [`MAX_MARK_RESIDUAL`] and the rest keeps a full fit.
/// `None` when the marks kept do not give a fit.
fn refit(reg: &mut Registration) -> Option<()> {
    loop {
        let used: Vec<usize> = (0..reg.fiducials.len())
            .filter(|&i| reg.fiducials[i].found.is_some() && !reg.fiducials[i].rejected)
            .collect();
        let marks: Vec<(usize, PointPair)> = used
            .iter()
            .filter_map(|&i| {
                let m = &reg.fiducials[i];
                m.found
                    .map(|[u, v]| (i, ((m.expected[0], m.expected[1]), (u, v))))
            })
            .collect();
        let pairs = |skip: Option<usize>| -> Vec<PointPair> {
            marks
                .iter()
                .filter(|(i, _)| Some(*i) != skip)
                .map(|(_, p)| *p)
                .collect()
        };
        let (map, affine) = fit(&pairs(None))?;
        if map.mirrored() {
            return None;
        }
        reg.map = map;
        reg.affine = affine;
        mark_residuals(reg);
        reg.residual_dots = rms_dots(&map, &pairs(None));
        // The mark farthest from the fit of the others.
        let mut worst: Option<(usize, f64)> = None;
        for &i in &used {
            let rest = pairs(Some(i));
            let Some((m, true)) = fit(&rest) else {
                continue;
            };
            let f = &reg.fiducials[i];
            let Some([u, v]) = f.found else { continue };
            let (fu, fv) = m.apply(f.expected[0], f.expected[1]);
            let d = (fu - u).hypot(fv - v) / m.px_per_dot();
            if worst.is_none_or(|w| d > w.1) {
                worst = Some((i, d));
            }
        }
        match worst {
            Some((i, d)) if d > MAX_MARK_RESIDUAL && used.len() > 4 => {
                reg.fiducials[i].rejected = true;
            }
            _ => return Some(()),
        }
    }
}

fn wrap(a: f64) -> f64 {
    let t = std::f64::consts::TAU;
    (a + t / 2.0).rem_euclid(t) - t / 2.0
}

/// Inliers of a hypothesis: for each layout point, the nearest candidate within a quarter
/// of a mark and of a consistent size.
fn score(
    map: &Affine,
    pts: &[(f64, f64)],
    cands: &[Candidate],
    fsize: f64,
) -> (usize, f64, Vec<Option<usize>>) {
    let (sx, sy) = map.scale();
    let mark_px = fsize * (sx + sy) / 2.0;
    let tol = 0.25 * mark_px;
    let mut n = 0;
    let mut err = 0.0;
    let mut used = vec![false; cands.len()];
    let mut assign = vec![None; pts.len()];
    for (i, p) in pts.iter().enumerate() {
        let (u, v) = map.apply(p.0, p.1);
        let mut bestj = None;
        let mut bestd = tol;
        for (j, c) in cands.iter().enumerate() {
            if used[j] || (c.side - mark_px).abs() > 0.35 * mark_px {
                continue;
            }
            let d = (c.u - u).hypot(c.v - v);
            if d < bestd {
                bestd = d;
                bestj = Some(j);
            }
        }
        if let Some(j) = bestj {
            used[j] = true;
            assign[i] = Some(j);
            n += 1;
            let size_err = (cands[j].side - mark_px) / mark_px;
            err += (bestd / mark_px).powi(2) + size_err * size_err;
        }
    }
    (n, err, assign)
}

/// Least-squares fit: affine when the points span two dimensions, similarity otherwise.
fn fit(pairs: &[PointPair]) -> Option<(Affine, bool)> {
    let n = pairs.len() as f64;
    if pairs.len() < 2 {
        return None;
    }
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |acc, (p, _)| (acc.0 + p.0 / n, acc.1 + p.1 / n));
    let (mu, mv) = pairs
        .iter()
        .fold((0.0, 0.0), |acc, (_, c)| (acc.0 + c.0 / n, acc.1 + c.1 / n));
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (p, _) in pairs {
        let (x, y) = (p.0 - mx, p.1 - my);
        sxx += x * x;
        sxy += x * y;
        syy += y * y;
    }
    // Smaller eigenvalue of the spread: near zero when the marks lie on one line.
    let tr = sxx + syy;
    let det = sxx * syy - sxy * sxy;
    let lmin = tr / 2.0 - ((tr * tr / 4.0 - det).max(0.0)).sqrt();
    if pairs.len() >= 3 && (lmin / n).sqrt() > 20.0 {
        let (mut sxu, mut syu, mut sxv, mut syv) = (0.0, 0.0, 0.0, 0.0);
        for (p, c) in pairs {
            let (x, y) = (p.0 - mx, p.1 - my);
            let (u, v) = (c.0 - mu, c.1 - mv);
            sxu += x * u;
            syu += y * u;
            sxv += x * v;
            syv += y * v;
        }
        let a = (sxu * syy - syu * sxy) / det;
        let b = (syu * sxx - sxu * sxy) / det;
        let d = (sxv * syy - syv * sxy) / det;
        let e = (syv * sxx - sxv * sxy) / det;
        let m = Affine {
            a,
            b,
            c: mu - a * mx - b * my,
            d,
            e,
            f: mv - d * mx - e * my,
        };
        return Some((m, true));
    }
    // Similarity: u + iv = z·(x + iy) + t, z = α + iβ.
    let (mut num_a, mut num_b, mut den) = (0.0, 0.0, 0.0);
    for (p, c) in pairs {
        let (x, y) = (p.0 - mx, p.1 - my);
        let (u, v) = (c.0 - mu, c.1 - mv);
        num_a += x * u + y * v;
        num_b += x * v - y * u;
        den += x * x + y * y;
    }
    if den <= 0.0 {
        return None;
    }
    let (al, be) = (num_a / den, num_b / den);
    let m = Affine {
        a: al,
        b: -be,
        c: mu - al * mx + be * my,
        d: be,
        e: al,
        f: mv - be * mx - al * my,
    };
    Some((m, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_an_affine_map() {
        let truth = Affine {
            a: 2.9,
            b: -0.1,
            c: 100.0,
            d: 0.12,
            e: 2.95,
            f: 40.0,
        };
        let pts = [(24.0, 24.0), (552.0, 24.0), (24.0, 600.0), (552.0, 600.0)];
        let pairs: Vec<_> = pts.iter().map(|&p| (p, truth.apply(p.0, p.1))).collect();
        let (m, affine) = fit(&pairs).expect("fit");
        assert!(affine);
        for (x, y) in [(0.0, 0.0), (300.0, 300.0)] {
            let (u0, v0) = truth.apply(x, y);
            let (u1, v1) = m.apply(x, y);
            assert!((u0 - u1).abs() < 1e-6 && (v0 - v1).abs() < 1e-6);
        }
        let (m2, affine2) = fit(&pairs[..2]).expect("similarity");
        assert!(!affine2);
        let (u, v) = m2.apply(552.0, 24.0);
        let (tu, tv) = truth.apply(552.0, 24.0);
        assert!((u - tu).abs() < 1e-6 && (v - tv).abs() < 1e-6);
    }

    #[test]
    fn otsu_splits_two_peaks() {
        let mut h = [0u64; 256];
        h[30] = 1000;
        h[230] = 3000;
        let t = otsu(&h);
        assert!(t > 30.0 && t < 230.0);
    }
}

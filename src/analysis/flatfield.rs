//! Flat-field correction from the page itself: the paper's own white, read where the
//! pattern leaves paper bare, as a smooth field over the page, so that illumination
//! falloff across the bed, a tinted roll or a colour cast do not move coverage or
//! density; and where the paper ends, so that a scanner lid or bed beyond a torn-off page
//! is not read as paper (or as ink).
//!
//! Owns the white field's fit and its application to a dot map. Pure: works on the dot map
//! only.

use super::dotmap::{median, round3, DotMap};
use serde::Serialize;

/// Side of the cells whose white is read as one value, in dots.
const CELL: u32 = 32;
/// White sites a cell needs to count.
const MIN_SITES: usize = 4;
/// Cells the surface needs; with fewer, the page is taken as evenly lit.
const MIN_CELLS: usize = 8;
/// A change of the paper's white between neighbouring rows of cells beyond this share,
/// kept by the next row too, is the edge of the paper (light falls off smoothly; a bed or
/// lid differs from paper in a step).
const PAPER_STEP: f64 = 0.06;
/// Along the page, where the white is read from whole rows of cells (a median of many
/// sites, steady to about 1 %), a lid or bed differing from the paper by this share is
/// told from it: a lid nearly as bright as the roll still ends the paper.
const EDGE_STEP: f64 = 0.035;
/// The correction never scales a grey by more than this factor either way.
const MAX_GAIN: f64 = 1.5;

/// A strip of the paper beside the print, outside the head's width: its dot column (below
/// zero or past the last dot) and its grey in every pattern row (NaN off the scan). Where
/// the paper is wider than the print it is bare paper the whole way down, and shows where
/// the paper ends even beside a solid band that has no bare dot of its own.
#[derive(Debug, Clone)]
pub struct Margin {
    pub x: f64,
    pub grey: Vec<f32>,
}

/// The paper's white over the page: a quadratic surface in dot coordinates.
#[derive(Debug, Clone)]
pub struct WhiteField {
    coef: [f64; 6],
    dots: f64,
    rows: f64,
    /// The dot columns and rows the fitted cells' centres span: the surface holds its
    /// edge values beyond them (a quadratic fitted to the header alone would bend
    /// anywhere below it).
    span: [(f64, f64); 2],
    /// The paper's white at the top of the header (beside the first marks), the value
    /// the field is scaled to.
    pub reference: f64,
    /// First pattern row that lies off the paper, when the paper ends before the pattern.
    pub paper_end: Option<u32>,
    /// The grey past the paper's end (bed or lid), as the stepped row read it.
    beyond: f64,
    /// Cells that took part in the fit.
    pub cells: usize,
}

/// How far above the paper's end a torn edge may reach in a column (a tear is ragged by
/// up to about a millimetre either way).
const RAGGED_ROWS: usize = 8;
/// Rows above the paper's edge that its shadow may darken.
const SHADOW_ROWS: usize = 4;

/// What the JSON says about the white field.
#[derive(Debug, Clone, Serialize)]
pub struct WhiteFieldInfo {
    /// Cells of bare paper the field was fitted to.
    pub cells: usize,
    /// Lowest and highest white over the page, relative to the header's.
    pub min: f64,
    pub max: f64,
    /// First pattern row off the paper (a torn-off page on the bed), or null.
    pub paper_end: Option<u32>,
}

fn terms(x: f64, y: f64) -> [f64; 6] {
    [1.0, x, y, x * x, x * y, y * y]
}

impl WhiteField {
    fn norm(&self, x: f64, y: f64) -> (f64, f64) {
        (
            2.0 * x / self.dots.max(1.0) - 1.0,
            2.0 * y / self.rows.max(1.0) - 1.0,
        )
    }

    /// The paper's white at dot (x, y), in scan grey.
    pub fn at(&self, x: f64, y: f64) -> f64 {
        let [(x0, x1), (y0, y1)] = self.span;
        let (u, v) = self.norm(x.clamp(x0, x1), y.clamp(y0, y1));
        terms(u, v).iter().zip(&self.coef).map(|(t, c)| t * c).sum()
    }

    /// Fits the field to the grey of the white sites (dots the pattern leaves bare) of a
    /// sampled map; `header_rows` are known to lie on paper. `None` without enough paper
    /// in the header to start from.
    /// A margin counts only where its header reads as the header's paper (the roll is
    /// wider than the print there).
    pub fn fit(
        map: &DotMap,
        sites: &[(u32, u32)],
        header_rows: u32,
        margins: &[Margin],
    ) -> Option<WhiteField> {
        let (cols, cell_rows) = (map.dots.div_ceil(CELL), map.rows.div_ceil(CELL));
        let mut bins: Vec<Vec<f32>> = vec![Vec::new(); (cols * cell_rows) as usize];
        for &(x, y) in sites {
            if x >= map.dots || y >= map.rows {
                continue;
            }
            let g = map.at(x, y);
            if !g.is_nan() {
                bins[((y / CELL) * cols + x / CELL) as usize].push(g);
            }
        }
        // Cells as (dot column of their centre, row of cells, white).
        let mut cells: Vec<(f64, u32, f64)> = Vec::new();
        for (i, b) in bins.iter_mut().enumerate() {
            if b.len() >= MIN_SITES {
                if let Some(m) = median(b) {
                    let i = i as u32;
                    let x = ((i % cols) * CELL) as f64 + CELL as f64 / 2.0;
                    cells.push((x.min(map.dots as f64), i / cols, m));
                }
            }
        }
        let row_white = |cells: &[(f64, u32, f64)], r: u32| {
            let mut v: Vec<f32> = cells
                .iter()
                .filter(|c| c.1 == r)
                .map(|c| c.2 as f32)
                .collect();
            median(&mut v)
        };
        // The paper's white at the top of the header, beside the first marks (a print
        // that stopped inside its header has paper there and nowhere else); else over
        // the whole header.
        let header_cells = header_rows.div_ceil(CELL).max(1);
        let first_white = row_white(&cells, 0);
        let (reference, from) = match first_white {
            Some(w) => (w, 1),
            None => {
                let mut head: Vec<f32> = cells
                    .iter()
                    .filter(|c| c.1 < header_cells)
                    .map(|c| c.2 as f32)
                    .collect();
                (median(&mut head)?, header_cells)
            }
        };
        // The margins beside the print whose header reads as the header's paper, each
        // scaled so that its header reads as the reference (light falling off across the
        // bed leaves a margin darker or brighter all the way down; the paper's end is a
        // step along it). They show where the paper ends, and take no part in the surface.
        let header_end = (header_rows as usize).min(map.rows as usize);
        let margins: Vec<(&Margin, f64)> = margins
            .iter()
            .filter_map(|m| {
                let mut head: Vec<f32> = m
                    .grey
                    .iter()
                    .take(header_end)
                    .copied()
                    .filter(|g| g.is_finite())
                    .collect();
                let h = median(&mut head).filter(|_| head.len() >= MIN_SITES)?;
                // Paper beside the print reads as the header's paper next to it: light
                // falling off across the bed may leave the print's sides 10–20 % apart.
                let mut near: Vec<f32> = cells
                    .iter()
                    .filter(|c| c.1 < header_cells && (c.0 - m.x).abs() <= 2.0 * CELL as f64)
                    .map(|c| c.2 as f32)
                    .collect();
                let side = median(&mut near).unwrap_or(reference);
                ((h / side - 1.0).abs() <= PAPER_STEP).then_some((m, reference / h))
            })
            .collect();
        let mut walk_cells = cells.clone();
        for (m, scale) in &margins {
            for r in 0..cell_rows {
                let (lo, hi) = ((r * CELL) as usize, ((r + 1) * CELL).min(map.rows) as usize);
                let mut v: Vec<f32> = m
                    .grey
                    .get(lo..hi)
                    .unwrap_or(&[])
                    .iter()
                    .copied()
                    .filter(|g| g.is_finite())
                    .collect();
                if v.len() >= MIN_SITES {
                    if let Some(w) = median(&mut v) {
                        walk_cells.push((m.x, r, w * scale));
                    }
                }
            }
        }
        let whites: Vec<Option<f64>> = (0..cell_rows).map(|r| row_white(&walk_cells, r)).collect();
        // Walk down the page: the paper ends where its white steps away and stays away.
        let mut prev = reference;
        let mut paper_end = None;
        let mut beyond = reference;
        for r in from..cell_rows {
            let Some(w) = whites[r as usize] else {
                continue;
            };
            let off = |v: f64, step: f64| (v / prev - 1.0).abs() > step;
            if off(w, EDGE_STEP) {
                // A small step must hold over the next two rows of cells; near the end
                // of the page, where a curled or shaded trailing edge darkens the paper
                // and too little follows to confirm it, the step must be as large as a
                // bed's or lid's, and hold over what follows.
                let next: Vec<f64> = whites[r as usize + 1..]
                    .iter()
                    .flatten()
                    .take(2)
                    .copied()
                    .collect();
                let ends = if next.len() == 2 {
                    next.iter().all(|&n| off(n, EDGE_STEP))
                } else {
                    off(w, PAPER_STEP) && next.iter().all(|&n| off(n, PAPER_STEP))
                };
                if ends {
                    paper_end = Some(edge_within(map, sites, &margins, r * CELL, prev));
                    beyond = w;
                    break;
                }
                continue;
            }
            prev = w;
        }
        // The scan may end a little past a torn edge, inside the last row of cells that
        // holds any paper: there the paper ends at the first row that steps away, when
        // every row after it that was scanned stays away.
        if paper_end.is_none() {
            if let Some(last) = (0..cell_rows).rev().find(|&r| whites[r as usize].is_some()) {
                let rows = rows_within(
                    map,
                    sites,
                    &margins,
                    last * CELL,
                    (last + 1) * CELL,
                    prev,
                    PAPER_STEP,
                );
                if let Some(i) = rows.iter().position(|r| r.2) {
                    if rows[i..].iter().all(|r| r.2) && rows.len() - i >= 2 {
                        paper_end = Some(rows[i].0);
                        beyond = rows[rows.len() - 1].1;
                    }
                }
            }
        }
        let end_row = paper_end.unwrap_or(map.rows);
        // Only cells wholly on the paper shape the surface; with fewer than three rows of
        // them it could bend any way along the page, and the page is taken as evenly lit.
        cells.retain(|c| ((c.1 + 1) * CELL).min(map.rows) <= end_row);
        let cell_rows_used = cells
            .iter()
            .map(|c| c.1)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let mut field = WhiteField {
            coef: [reference, 0.0, 0.0, 0.0, 0.0, 0.0],
            dots: map.dots as f64,
            rows: end_row as f64,
            span: [(0.0, map.dots as f64), (0.0, end_row as f64)],
            reference,
            paper_end: paper_end.filter(|&e| e < map.rows),
            beyond,
            cells: cells.len(),
        };
        if cells.len() < MIN_CELLS || cell_rows_used < 3 {
            return Some(field);
        }
        // Least squares, twice: the second time without the cells the first fit did not
        // explain (a speck, a dust streak or ink where the pattern has none).
        let centre = |c: &(f64, u32, f64)| {
            (
                c.0,
                ((c.1 * CELL) as f64 + CELL as f64 / 2.0).min(field.rows),
            )
        };
        let mut keep = vec![true; cells.len()];
        for _ in 0..2 {
            let mut ata = [[0.0f64; 6]; 6];
            let mut atb = [0.0f64; 6];
            for (c, _) in cells.iter().zip(&keep).filter(|(_, k)| **k) {
                let (x, y) = centre(c);
                let (u, v) = field.norm(x, y);
                let t = terms(u, v);
                for i in 0..6 {
                    atb[i] += t[i] * c.2;
                    for j in 0..6 {
                        ata[i][j] += t[i] * t[j];
                    }
                }
            }
            let Some(coef) = solve6(ata, atb) else {
                break;
            };
            field.coef = coef;
            let abs: Vec<f32> = cells
                .iter()
                .map(|c| {
                    let (x, y) = centre(c);
                    (c.2 - field.at(x, y)).abs() as f32
                })
                .collect();
            let mad = median(&mut abs.clone()).unwrap_or(0.0);
            let cut = (4.0 * 1.4826 * mad).max(0.01 * reference);
            for (k, r) in keep.iter_mut().zip(&abs) {
                *k = f64::from(*r) <= cut;
            }
        }
        field.cells = keep.iter().filter(|k| **k).count();
        // The surface is known over the cells that shaped it, to their outer sides.
        let half = CELL as f64 / 2.0;
        let mut span = [(f64::INFINITY, f64::NEG_INFINITY); 2];
        for (c, _) in cells.iter().zip(&keep).filter(|(_, k)| **k) {
            let (x, y) = centre(c);
            for (s, v) in span.iter_mut().zip([x, y]) {
                *s = (s.0.min(v - half), s.1.max(v + half));
            }
        }
        if span.iter().all(|s| s.0 <= s.1) {
            field.span = span;
        }
        Some(field)
    }

    /// Scales every dot's grey to the header's paper white (a dot where the paper is
    /// brighter or darker by illumination reads as it would in the header), and turns the
    /// dots off the paper into NaN.
    pub fn apply(&self, map: &mut DotMap) {
        let dots = map.dots as usize;
        // A torn edge is ragged: in each column, the dots just above the paper's end that
        // read as what lies beyond it (and not as paper) are off the paper too. Ink there,
        // against a dark bed, is given up with them.
        // The paper's edge itself casts a thin shadow on a lid: the few rows above the
        // edge that read darker than paper go with it.
        if let Some(e) = self.paper_end.map(|e| e as usize) {
            for x in 0..dots {
                let mut edge = e;
                for y in (e.saturating_sub(RAGGED_ROWS)..e.min(map.rows as usize)).rev() {
                    let g = &mut map.values[y * dots + x];
                    let white = self.at(x as f64 + 0.5, y as f64 + 0.5);
                    let v = *g as f64;
                    if (v - self.beyond).abs() < (v - white).abs() {
                        *g = f32::NAN;
                        edge = y;
                    } else if edge - y <= SHADOW_ROWS && v < white * (1.0 - PAPER_STEP) {
                        *g = f32::NAN;
                    } else {
                        break;
                    }
                }
            }
        }
        for (y, row) in map.values.chunks_exact_mut(dots.max(1)).enumerate() {
            if self.paper_end.is_some_and(|e| y as u32 >= e) {
                row.fill(f32::NAN);
                continue;
            }
            for (x, g) in row.iter_mut().enumerate() {
                *g = (*g as f64 * self.gain(x as f64, y as f64)) as f32;
            }
        }
    }

    /// One grey at dot (x, y) scaled as [`WhiteField::apply`] scales the map's (NaN past
    /// the paper's end).
    pub fn correct(&self, g: f32, x: f64, y: f64) -> f32 {
        if self.paper_end.is_some_and(|e| y >= e as f64) {
            return f32::NAN;
        }
        (g as f64 * self.gain(x, y)) as f32
    }

    /// The factor that brings the paper at dot (x, y) to the reference white.
    fn gain(&self, x: f64, y: f64) -> f64 {
        let w = self.at(x + 0.5, y + 0.5);
        (self.reference / w.max(1.0)).clamp(1.0 / MAX_GAIN, MAX_GAIN)
    }

    /// The field's extremes over the paper, relative to the reference.
    pub fn info(&self) -> WhiteFieldInfo {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for i in 0..=8 {
            for j in 0..=8 {
                let w = self.at(self.dots * i as f64 / 8.0, self.rows * j as f64 / 8.0);
                lo = lo.min(w);
                hi = hi.max(w);
            }
        }
        let r = self.reference.max(1.0);
        WhiteFieldInfo {
            cells: self.cells,
            min: round3(lo / r),
            max: round3(hi / r),
            paper_end: self.paper_end,
        }
    }
}

/// Per row from `start` to `end`, the median grey of its sites and margins, and whether
/// it has stepped away from `paper`.
fn rows_within(
    map: &DotMap,
    sites: &[(u32, u32)],
    margins: &[(&Margin, f64)],
    start: u32,
    end: u32,
    paper: f64,
    step: f64,
) -> Vec<(u32, f64, bool)> {
    let end = end.min(map.rows);
    let mut by_row: std::collections::BTreeMap<u32, Vec<f32>> = Default::default();
    for &(x, y) in sites {
        if (start..end).contains(&y) && x < map.dots {
            let g = map.at(x, y);
            if !g.is_nan() {
                by_row.entry(y).or_default().push(g);
            }
        }
    }
    for (m, scale) in margins {
        for y in start..end {
            if let Some(g) = m.grey.get(y as usize).filter(|g| g.is_finite()) {
                by_row
                    .entry(y)
                    .or_default()
                    .push((*g as f64 * scale) as f32);
            }
        }
    }
    by_row
        .into_iter()
        .filter_map(|(y, mut v)| {
            let w = median(&mut v)?;
            Some((y, w, (w / paper - 1.0).abs() > step))
        })
        .collect()
}

/// The paper's edge to the row, for a step first seen in the band of cells from `start`:
/// the first row, from the band above on (whose median white may still have been the
/// paper's while the edge already crossed it), after which every row has stepped away
/// from `paper`; else the band's first row that has.
fn edge_within(
    map: &DotMap,
    sites: &[(u32, u32)],
    margins: &[(&Margin, f64)],
    start: u32,
    paper: f64,
) -> u32 {
    let rows = rows_within(
        map,
        sites,
        margins,
        start.saturating_sub(CELL),
        start + CELL,
        paper,
        EDGE_STEP,
    );
    let stays = (0..rows.len())
        .rev()
        .take_while(|&i| rows[i].2)
        .last()
        .map(|i| rows[i].0);
    stays
        .or_else(|| rows.iter().find(|r| r.0 >= start && r.2).map(|r| r.0))
        .unwrap_or(start)
}

/// Solves a 6 × 6 system by Gaussian elimination with partial pivoting.
fn solve6(mut a: [[f64; 6]; 6], mut b: [f64; 6]) -> Option<[f64; 6]> {
    for col in 0..6 {
        let piv = (col..6).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col];
        for row in col + 1..6 {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 6];
    for row in (0..6).rev() {
        let s: f64 = (row + 1..6).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_of(dots: u32, rows: u32, f: impl Fn(u32, u32) -> f32) -> DotMap {
        let values = (0..rows)
            .flat_map(|y| (0..dots).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        DotMap { dots, rows, values }
    }

    fn sites(dots: u32, rows: u32) -> Vec<(u32, u32)> {
        (0..rows)
            .step_by(3)
            .flat_map(|y| (0..dots).step_by(3).map(move |x| (x, y)))
            .collect()
    }

    #[test]
    fn falloff_across_and_along_is_flattened() {
        // Paper at 240 in the top-left corner, 20 % darker at the far side, 10 % down the page.
        let light =
            |x: u32, y: u32| 240.0 * (1.0 - 0.2 * x as f64 / 576.0 - 0.1 * y as f64 / 900.0);
        let mut m = map_of(576, 900, |x, y| light(x, y) as f32);
        let f = WhiteField::fit(&m, &sites(576, 900), 96, &[]).expect("field");
        assert_eq!(f.paper_end, None);
        f.apply(&mut m);
        for &(x, y) in &[(0, 0), (575, 0), (300, 450), (575, 899)] {
            let g = m.at(x, y) as f64;
            assert!((g / f.reference - 1.0).abs() < 0.01, "({x}, {y}): {g}");
        }
        let info = f.info();
        assert!(info.min < 0.8 && info.max > 0.98, "{info:?}");
    }

    #[test]
    fn the_paper_ends_where_a_bright_lid_begins() {
        // A page torn off at row 300 on a lid 10 % brighter than the paper.
        let mut m = map_of(384, 900, |_, y| if y < 300 { 230.0 } else { 253.0 });
        let f = WhiteField::fit(&m, &sites(384, 900), 96, &[]).expect("field");
        assert_eq!(f.paper_end, Some(300));
        f.apply(&mut m);
        assert!(m.at(10, 200).is_finite() && m.at(10, 400).is_nan());
    }

    #[test]
    fn a_ragged_tear_on_a_dark_bed_is_off_the_paper_in_every_column() {
        // Torn at about row 300, the edge wandering up to 5 rows above it, on a dark bed.
        let edge = |x: u32| 300 - (x % 11).min(5);
        let mut m = map_of(384, 900, |x, y| if y < edge(x) { 230.0 } else { 20.0 });
        let f = WhiteField::fit(&m, &sites(384, 900), 96, &[]).expect("field");
        let end = f.paper_end.expect("the paper's end");
        assert!((295..=300).contains(&end), "{end}");
        f.apply(&mut m);
        for x in 0..384 {
            assert!(
                m.at(x, edge(x).min(end) - 1).is_finite(),
                "column {x} above the tear"
            );
            for y in edge(x)..end.max(edge(x)) {
                assert!(m.at(x, y).is_nan(), "column {x} row {y} is bed");
            }
        }
    }

    #[test]
    fn an_edge_inside_a_row_of_cells_is_found_to_its_row() {
        // A solid print below its header leaves white sites only in the header; the
        // margins beside it show the paper, torn off at row 119 on a dark bed (a row
        // of cells spans 96–127 and is still mostly paper).
        let (dots, rows) = (384, 560);
        let m = map_of(dots, rows, |_, y| if y < 119 { 230.0 } else { 15.0 });
        let header: Vec<(u32, u32)> = sites(dots, 96);
        let margin = |x: f64| Margin {
            x,
            grey: (0..rows)
                .map(|y| if y < 119 { 231.0 } else { 16.0 })
                .collect(),
        };
        let margins = [margin(-14.0), margin(f64::from(dots) + 9.0)];
        let f = WhiteField::fit(&m, &header, 96, &margins).expect("field");
        assert_eq!(f.paper_end, Some(119));
    }

    #[test]
    fn a_lid_a_few_percent_brighter_than_the_roll_still_ends_it() {
        let m = map_of(384, 600, |_, y| if y < 300 { 228.0 } else { 239.0 });
        let f = WhiteField::fit(&m, &sites(384, 600), 96, &[]).expect("field");
        let end = f.paper_end.expect("the paper's end");
        assert!((298..=300).contains(&end), "{end}");
    }

    #[test]
    fn a_field_read_on_the_header_alone_is_held_flat_below_it() {
        // Light falling off across the header only: below it, where no bare paper was
        // read, the field keeps the header's values instead of bending on.
        let m = map_of(384, 600, |x, y| {
            if y < 96 {
                (240.0 - 0.05 * x as f64 - 0.2 * y as f64) as f32
            } else {
                f32::NAN
            }
        });
        let f = WhiteField::fit(&m, &sites(384, 96), 96, &[]).expect("field");
        for x in [0.0, 200.0, 383.0] {
            let (bottom, header) = (f.at(x, 590.0), f.at(x, 95.0));
            assert!(
                (bottom - header).abs() < 1.0,
                "column {x}: {bottom} vs {header}"
            );
        }
    }

    #[test]
    fn a_speck_does_not_bend_the_field() {
        let mut m = map_of(512, 640, |x, y| {
            if (200..230).contains(&x) && (300..330).contains(&y) {
                120.0
            } else {
                235.0
            }
        });
        let f = WhiteField::fit(&m, &sites(512, 640), 96, &[]).expect("field");
        f.apply(&mut m);
        assert!(
            (m.at(400, 500) as f64 - 235.0).abs() < 1.0,
            "{}",
            m.at(400, 500)
        );
    }
}

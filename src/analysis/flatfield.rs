//! Flat-field correction from the page itself: the paper's own white, read where the
//! pattern leaves paper bare, as a smooth field over the page, so that illumination
//! falloff across the bed, a tinted roll or a colour cast do not move coverage or
//! density; and where the paper ends, so that a scanner lid or bed beyond a torn-off page
//! is not read as paper (or as ink).
//!
//! Owns the white field's fit and its application to a dot map. Pure: works on the dot map
//! only.

use super::dotmap::{median, DotMap};
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
/// The correction never scales a grey by more than this factor either way.
const MAX_GAIN: f64 = 1.5;

/// The paper's white over the page: a quadratic surface in dot coordinates.
#[derive(Debug, Clone)]
pub struct WhiteField {
    coef: [f64; 6],
    dots: f64,
    rows: f64,
    /// The paper's white at the top of the header (beside the first marks), the value
    /// the field is scaled to.
    pub reference: f64,
    /// First pattern row that lies off the paper, when the paper ends before the pattern.
    pub paper_end: Option<u32>,
    /// Cells that took part in the fit.
    pub cells: usize,
}

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
        let (u, v) = self.norm(x, y);
        terms(u, v).iter().zip(&self.coef).map(|(t, c)| t * c).sum()
    }

    /// Fits the field to the grey of the white sites (dots the pattern leaves bare) of a
    /// sampled map; `header_rows` are known to lie on paper. `None` without enough paper
    /// in the header to start from.
    pub fn fit(map: &DotMap, sites: &[(u32, u32)], header_rows: u32) -> Option<WhiteField> {
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
        let mut cells: Vec<(u32, u32, f64)> = Vec::new();
        for (i, b) in bins.iter_mut().enumerate() {
            if b.len() >= MIN_SITES {
                if let Some(m) = median(b) {
                    let i = i as u32;
                    cells.push((i % cols, i / cols, m));
                }
            }
        }
        let row_white = |r: u32| {
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
        let whites: Vec<Option<f64>> = (0..cell_rows).map(row_white).collect();
        let (reference, from) = match whites.first().copied().flatten() {
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
        // Walk down the page: the paper ends where its white steps away and stays away.
        let mut prev = reference;
        let mut paper_end = None;
        for r in from..cell_rows {
            let Some(w) = whites[r as usize] else {
                continue;
            };
            let off = |v: f64| (v / prev - 1.0).abs() > PAPER_STEP;
            if off(w) {
                let next = whites[r as usize + 1..].iter().flatten().next();
                if next.is_none_or(|&n| off(n)) {
                    paper_end = Some(edge_within(map, sites, r * CELL, prev));
                    break;
                }
                continue;
            }
            prev = w;
        }
        let end_row = paper_end.unwrap_or(map.rows);
        cells.retain(|c| c.1 * CELL < end_row);
        let mut field = WhiteField {
            coef: [reference, 0.0, 0.0, 0.0, 0.0, 0.0],
            dots: map.dots as f64,
            rows: end_row as f64,
            reference,
            paper_end: paper_end.filter(|&e| e < map.rows),
            cells: cells.len(),
        };
        if cells.len() < MIN_CELLS {
            return Some(field);
        }
        // Least squares, twice: the second time without the cells the first fit did not
        // explain (a speck, a dust streak or ink where the pattern has none).
        let centre = |c: &(u32, u32, f64)| {
            (
                ((c.0 * CELL) as f64 + CELL as f64 / 2.0).min(field.dots),
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
        Some(field)
    }

    /// Scales every dot's grey to the header's paper white (a dot where the paper is
    /// brighter or darker by illumination reads as it would in the header), and turns the
    /// dots off the paper into NaN.
    pub fn apply(&self, map: &mut DotMap) {
        let dots = map.dots as usize;
        for (y, row) in map.values.chunks_exact_mut(dots.max(1)).enumerate() {
            if self.paper_end.is_some_and(|e| y as u32 >= e) {
                row.fill(f32::NAN);
                continue;
            }
            for (x, g) in row.iter_mut().enumerate() {
                let w = self.at(x as f64 + 0.5, y as f64 + 0.5);
                let gain = (self.reference / w.max(1.0)).clamp(1.0 / MAX_GAIN, MAX_GAIN);
                *g = (*g as f64 * gain) as f32;
            }
        }
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

/// The first row of sites in the band of cells from `start` whose white has stepped away
/// from `paper`: the paper's edge to the row.
fn edge_within(map: &DotMap, sites: &[(u32, u32)], start: u32, paper: f64) -> u32 {
    let end = (start + CELL).min(map.rows);
    let mut by_row: std::collections::BTreeMap<u32, Vec<f32>> = Default::default();
    for &(x, y) in sites {
        if (start..end).contains(&y) && x < map.dots {
            let g = map.at(x, y);
            if !g.is_nan() {
                by_row.entry(y).or_default().push(g);
            }
        }
    }
    by_row
        .into_iter()
        .find(|(_, v)| median(&mut v.clone()).is_some_and(|w| (w / paper - 1.0).abs() > PAPER_STEP))
        .map_or(start, |(y, _)| y)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
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
        let f = WhiteField::fit(&m, &sites(576, 900), 96).expect("field");
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
        let f = WhiteField::fit(&m, &sites(384, 900), 96).expect("field");
        assert_eq!(f.paper_end, Some(300));
        f.apply(&mut m);
        assert!(m.at(10, 200).is_finite() && m.at(10, 400).is_nan());
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
        let f = WhiteField::fit(&m, &sites(512, 640), 96).expect("field");
        f.apply(&mut m);
        assert!(
            (m.at(400, 500) as f64 - 235.0).abs() < 1.0,
            "{}",
            m.at(400, 500)
        );
    }
}

//! Naming defects from the measured profiles. Pure: profiles in, defects out. Thresholds
//! live here as named constants so that reports and docs can quote them.

use super::{Axis, Defect, Severity, Side};
use crate::defect::DefectKind;

/// A column is missing when its coverage is below this share of what the pattern asks for.
pub const MISSING: f64 = 0.5;
/// A 1–2 dot notch this deep below its neighbours is a dead element.
pub const NOTCH_DEPTH: f64 = 0.25;
/// An isolated element printing less than this share of the median element is dead.
pub const ELEMENT_DEAD: f64 = 0.45;
/// … and less than this share is weak (marginal).
pub const ELEMENT_WEAK: f64 = 0.65;
/// Fade across / along, dense-line fade: relative loss that is marginal, and that fails.
pub const FADE_MARGINAL: f64 = 0.12;
pub const FADE_FAIL: f64 = 0.2;
/// A fade across a band's columns: marginal and fail losses.
pub const FADE_LIMITS: (f64, f64) = (FADE_MARGINAL, FADE_FAIL);
/// A fade across the columns of printed content (text, a logo, a barcode): at low
/// resolution through a scanner's transfer curve thin strokes read lighter than bold
/// ones, and a receipt's content differs across its width (names on the left, prices on
/// the right), so a healthy receipt's content profile slopes by up to about 15 %.
pub const CONTENT_FADE_LIMITS: (f64, f64) = (0.2, 0.3);
/// Banding amplitude (coverage) that is marginal, and that fails.
pub const BANDING_MARGINAL: f64 = 0.03;
pub const BANDING_FAIL: f64 = 0.05;
/// Ink rows below this share of the expected ink count as not printed.
pub const PRINTED: f64 = 0.3;
/// Judged rows before a printed row that show whether the print went on there.
pub const PRINTED_RUN: usize = 12;
/// A run of missing columns at least this share of the width is not a column fault.
pub const WHOLE_WIDTH: f64 = 0.9;
/// A run of missing columns at least this share of the width, touching an edge, is half
/// width.
pub const HALF_WIDTH: f64 = 0.25;

/// Confidence: 0.5 at the detection threshold, rising to 0.99 at twice the threshold.
pub fn confidence(depth: f64, threshold: f64) -> f64 {
    if threshold <= 0.0 {
        return 0.99;
    }
    (0.5 + 0.5 * (depth / threshold - 1.0)).clamp(0.5, 0.99)
}

fn severity(loss: f64) -> Severity {
    if loss >= FADE_FAIL {
        Severity::Fail
    } else {
        Severity::Marginal
    }
}

/// Runs of missing columns and narrow notches in a relative column profile.
pub fn column_defects(rel: &[f64]) -> Vec<Defect> {
    let n = rel.len();
    let mut out = Vec::new();
    // A column is missing against what the page's well-printed columns reach (the upper
    // quartile, never above 1): on a print that is weak as a whole (rows of dense lines
    // sagging, a light print) every column is equally short, and none is missing.
    let mut sorted: Vec<f64> = rel.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let reach = sorted
        .get(sorted.len() * 3 / 4)
        .copied()
        .unwrap_or(1.0)
        .clamp(0.2, 1.0);
    let mut missing = vec![false; n];
    for (i, &r) in rel.iter().enumerate() {
        missing[i] = !r.is_nan() && r < MISSING * reach;
    }
    // Runs of missing columns over the columns that have a value: a column without one
    // (the pattern asks too little ink there to judge it, e.g. between a receipt's
    // characters) neither breaks a run nor starts one, and a run from the first or to
    // the last judged column reaches the edge.
    let valid: Vec<usize> = (0..n).filter(|&i| !rel[i].is_nan()).collect();
    let (Some(&first_valid), Some(&last_valid)) = (valid.first(), valid.last()) else {
        return out;
    };
    let mut k = 0;
    while k < valid.len() {
        if !missing[valid[k]] {
            k += 1;
            continue;
        }
        let mut start = valid[k];
        while k < valid.len() && missing[valid[k]] {
            k += 1;
        }
        let mut end = valid[k - 1];
        let touches = start == first_valid || end == last_valid;
        if touches && end > start {
            if start == first_valid {
                start = 0;
            }
            if end == last_valid {
                end = n - 1;
            }
        }
        let len = end - start + 1;
        let judged: Vec<f64> = rel[start..=end]
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .collect();
        // Nearly every column short is not a column fault: the print is light or faded
        // as a whole, which the density and row checks name.
        if len as f64 >= WHOLE_WIDTH * n as f64 {
            continue;
        }
        // One blurred column at the very edge of the band is the scan, not the printer.
        if touches && len == 1 {
            continue;
        }
        let mean: f64 = judged.iter().sum::<f64>() / judged.len().max(1) as f64;
        let depth = (1.0 - mean).clamp(0.0, 1.0);
        let fraction = len as f64 / n as f64;
        let (kind, side) = if touches && fraction >= HALF_WIDTH {
            let side = if start == 0 { Side::Left } else { Side::Right };
            (DefectKind::HalfWidth, Some(side))
        } else if len >= 3 {
            (DefectKind::BlockDropout, None)
        } else {
            (DefectKind::DeadElement, None)
        };
        let what = match kind {
            DefectKind::HalfWidth => "columns missing from the edge",
            DefectKind::BlockDropout => "contiguous columns missing",
            _ => "column missing on every row",
        };
        out.push(Defect {
            kind,
            severity: Severity::Fail,
            axis: Axis::Columns,
            start: start as u32,
            end: end as u32,
            depth,
            fraction,
            confidence: confidence(depth, 1.0 - MISSING),
            side,
            period: None,
            hint: kind.hint(),
            detail: format!(
                "{what}: dots {start}–{end} ({len} dots, {:.0} % of width) at {:.0} % of expected coverage",
                fraction * 100.0,
                mean * 100.0
            ),
        });
    }
    // Notches: 1–2 columns well below their neighbourhood but not below MISSING, by a
    // share of the neighbourhood's coverage and by more than the profile's own scatter
    // from column to column (a profile read from a few dozen dots of text per column is
    // far noisier than one read from a solid band).
    let notch = {
        let mut steps: Vec<f64> = rel
            .windows(2)
            .filter(|w| w[0].is_finite() && w[1].is_finite())
            .map(|w| (w[1] - w[0]).abs())
            .collect();
        steps.sort_by(f64::total_cmp);
        let sigma = steps
            .get(steps.len() / 2)
            .map_or(0.0, |m| 1.4826 * m / std::f64::consts::SQRT_2);
        NOTCH_DEPTH.max(4.0 * sigma)
    };
    let mut c = 2;
    while c + 2 < n {
        if missing[c] || rel[c].is_nan() {
            c += 1;
            continue;
        }
        let lo = c.saturating_sub(8);
        let hi = (c + 9).min(n);
        let mut neigh: Vec<f64> = rel[lo..hi]
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .collect();
        neigh.sort_by(|a, b| a.total_cmp(b));
        let local = neigh.get(neigh.len() * 2 / 3).copied().unwrap_or(1.0);
        let depth = local - rel[c];
        let cut = notch * local.max(1.0);
        if depth >= cut && !missing[c - 1] && !missing[c + 1] {
            let end = if rel[c + 1] < local - cut { c + 1 } else { c };
            if end + 1 < n && rel[end + 1] < local - cut {
                // three or more: not a notch; the missing-run pass covers real blocks
                c = end + 2;
                continue;
            }
            out.push(Defect {
                kind: DefectKind::DeadElement,
                severity: Severity::Fail,
                axis: Axis::Columns,
                start: c as u32,
                end: end as u32,
                depth: depth / local.max(1e-6),
                fraction: (end - c + 1) as f64 / n as f64,
                confidence: confidence(depth, cut),
                side: None,
                period: None,
                hint: DefectKind::DeadElement.hint(),
                detail: format!(
                    "notch at dots {c}–{end}: coverage {:.2} against {:.2} around it",
                    rel[c], local
                ),
            });
            c = end + 1;
        }
        c += 1;
    }
    out
}

/// Dead or weak heater elements from the isolated-element staircase (strengths relative
/// to the median element). Runs of 3 or more are left to the column profile.
pub fn element_defects(strength: &[f64], known: &[Defect]) -> Vec<Defect> {
    let n = strength.len();
    let mut out = Vec::new();
    let covered = |c: usize| {
        known.iter().any(|d| {
            d.axis == Axis::Columns && (d.start as usize) <= c + 1 && c <= d.end as usize + 1
        })
    };
    let mut c = 0;
    while c < n {
        if strength[c].is_nan() || strength[c] >= ELEMENT_WEAK {
            c += 1;
            continue;
        }
        let start = c;
        while c < n && !strength[c].is_nan() && strength[c] < ELEMENT_WEAK {
            c += 1;
        }
        let end = c - 1;
        if end - start + 1 > 2 || covered(start) || covered(end) {
            continue;
        }
        let worst = strength[start..=end]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let dead = worst < ELEMENT_DEAD;
        out.push(Defect {
            kind: DefectKind::DeadElement,
            severity: if dead {
                Severity::Fail
            } else {
                Severity::Marginal
            },
            axis: Axis::Columns,
            start: start as u32,
            end: end as u32,
            depth: 1.0 - worst,
            fraction: (end - start + 1) as f64 / n as f64,
            confidence: confidence(1.0 - worst, 1.0 - ELEMENT_WEAK),
            side: None,
            period: None,
            hint: DefectKind::DeadElement.hint(),
            detail: format!(
                "element{} {start}{} print{} {:.0} % of a typical element",
                if end > start { "s" } else { "" },
                if end > start {
                    format!("–{end}")
                } else {
                    String::new()
                },
                if end > start { "" } else { "s" },
                worst * 100.0
            ),
        });
    }
    out
}

/// Least-squares line through (x, y) points: (intercept, slope).
pub fn line_fit(pts: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = pts.len() as f64;
    if pts.len() < 2 {
        return None;
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    Some((my - slope * mx, slope))
}

/// Coverage sloping across the printed columns.
pub fn fade_across(rel: &[f64], skip: &[Defect], limits: (f64, f64)) -> Option<Defect> {
    let (marginal, fail) = limits;
    let pts: Vec<(f64, f64)> = rel
        .iter()
        .enumerate()
        .filter(|(c, r)| {
            !r.is_nan()
                && **r >= MISSING
                && !skip.iter().any(|d| {
                    d.axis == Axis::Columns && (d.start as usize) <= *c && *c <= d.end as usize
                })
        })
        .map(|(c, &r)| (c as f64, r))
        .collect();
    let (first, last) = (pts.first()?.0, pts.last()?.0);
    if last - first < rel.len() as f64 * 0.2 {
        return None;
    }
    let (b, m) = line_fit(&pts)?;
    let (y0, y1) = (b + m * first, b + m * last);
    let (hi, lo) = (y0.max(y1), y0.min(y1));
    if hi <= 0.0 {
        return None;
    }
    let loss = 1.0 - lo / hi;
    if loss < marginal {
        return None;
    }
    let side = if y1 < y0 { Side::Right } else { Side::Left };
    Some(Defect {
        kind: DefectKind::FadeAcross,
        severity: if loss >= fail {
            Severity::Fail
        } else {
            Severity::Marginal
        },
        axis: Axis::Columns,
        start: first as u32,
        end: last as u32,
        depth: loss,
        fraction: (last - first + 1.0) / rel.len() as f64,
        confidence: confidence(loss, marginal),
        side: Some(side),
        period: None,
        hint: DefectKind::FadeAcross.hint(),
        detail: format!(
            "coverage falls from {hi:.2} to {lo:.2} towards the {} edge",
            side.name()
        ),
    })
}

/// Coverage falling along the feed over the solid rows (row, coverage).
pub fn fade_along(rows: &[(u32, f64)], page_rows: u32) -> Option<Defect> {
    let pts: Vec<(f64, f64)> = rows.iter().map(|&(r, v)| (r as f64, v)).collect();
    let (first, last) = (pts.first()?.0, pts.last()?.0);
    if last - first < 64.0 {
        return None;
    }
    let (b, m) = line_fit(&pts)?;
    let (y0, y1) = (b + m * first, b + m * last);
    if y0 <= 0.0 || y1 >= y0 {
        return None;
    }
    let loss = 1.0 - y1.max(0.0) / y0;
    if loss < FADE_MARGINAL {
        return None;
    }
    Some(Defect {
        kind: DefectKind::FadeAlong,
        severity: severity(loss),
        axis: Axis::Rows,
        start: first as u32,
        end: last as u32,
        depth: loss,
        fraction: (last - first + 1.0) / page_rows.max(1) as f64,
        confidence: confidence(loss, FADE_MARGINAL),
        side: None,
        period: None,
        hint: DefectKind::FadeAlong.hint(),
        detail: format!(
            "solid coverage falls from {y0:.2} to {:.2} between rows {first} and {last}",
            y1.max(0.0)
        ),
    })
}

/// Amplitude spectrum of a detrended run of row values for periods 6..len/2.5.
fn spectrum(vals: &[f64]) -> Vec<(f64, f64)> {
    let n = vals.len();
    let pts: Vec<(f64, f64)> = vals
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as f64, v))
        .collect();
    let Some((b, m)) = line_fit(&pts) else {
        return Vec::new();
    };
    let x: Vec<f64> = pts.iter().map(|&(i, v)| v - (b + m * i)).collect();
    let mut out = Vec::new();
    let mut p = 6.0;
    while p <= n as f64 / 2.5 {
        let w = std::f64::consts::TAU / p;
        // The phasor e^{iwk} by rotation, set exactly every 64 steps so rounding cannot
        // build up.
        let (sw, cw) = w.sin_cos();
        let (mut re, mut im) = (0.0, 0.0);
        let (mut s, mut c) = (0.0f64, 1.0f64);
        for (i, &v) in x.iter().enumerate() {
            if i % 64 == 0 {
                (s, c) = (w * i as f64).sin_cos();
            }
            re += v * c;
            im += v * s;
            (s, c) = (s * cw + c * sw, c * cw - s * sw);
        }
        out.push((p, 2.0 * re.hypot(im) / n as f64));
        p *= 1.03;
    }
    out
}

/// Periodic variation along the feed, from runs of consecutive solid rows.
pub fn banding(runs: &[Vec<(u32, f64)>]) -> Option<Defect> {
    let usable: Vec<&Vec<(u32, f64)>> = runs.iter().filter(|r| r.len() >= 48).collect();
    if usable.is_empty() {
        return None;
    }
    // Average the spectra of runs over the periods they share (shortest run's grid).
    let shortest = usable.iter().map(|r| r.len()).min()?;
    let mut acc: Vec<(f64, f64)> = Vec::new();
    for r in &usable {
        let vals: Vec<f64> = r.iter().take(shortest).map(|p| p.1).collect();
        let s = spectrum(&vals);
        if acc.is_empty() {
            acc = s;
        } else {
            for (a, b) in acc.iter_mut().zip(s) {
                a.1 += b.1;
            }
        }
    }
    let k = usable.len() as f64;
    acc.iter_mut().for_each(|a| a.1 /= k);
    let (period, amp) = acc.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
    let mut amps: Vec<f64> = acc.iter().map(|a| a.1).collect();
    amps.sort_by(|a, b| a.total_cmp(b));
    let floor = amps[amps.len() / 2];
    if amp < BANDING_MARGINAL || amp < 4.0 * floor {
        return None;
    }
    let start = usable.first()?.first()?.0;
    let end = usable.last()?.last()?.0;
    Some(Defect {
        kind: DefectKind::Banding,
        severity: if amp >= BANDING_FAIL {
            Severity::Fail
        } else {
            Severity::Marginal
        },
        axis: Axis::Rows,
        start,
        end,
        depth: amp,
        fraction: 0.0,
        confidence: confidence(amp, BANDING_MARGINAL),
        side: None,
        period: Some(period),
        hint: DefectKind::Banding.hint(),
        detail: format!("coverage varies ±{amp:.3} with a period of {period:.1} rows"),
    })
}

/// The print stopping before the pattern's end. `ink` holds, per row, the share of the
/// expected ink that came out (None where the row expects little ink).
pub fn truncation(ink: &[Option<f64>], ink_end: u32) -> (u32, Option<Defect>) {
    // The print goes on to the last printed row that has printed rows before it: a thin
    // dark line alone far below the print (the shadow of a torn edge on a lid, a hair
    // across the glass) holds ink on a few rows, a print on row after row. Of the judged
    // rows (those asking for ink) up to the candidate, at least half of the last
    // `PRINTED_RUN` must have printed.
    let judged: Vec<(usize, bool)> = ink
        .iter()
        .enumerate()
        .filter_map(|(r, v)| v.map(|v| (r, v >= PRINTED)))
        .collect();
    let printed_end = (0..judged.len())
        .rev()
        .find(|&k| {
            let window = &judged[(k + 1).saturating_sub(PRINTED_RUN)..=k];
            judged[k].1 && 2 * window.iter().filter(|j| j.1).count() >= window.len()
        })
        .map(|k| judged[k].0 as u32 + 1)
        .unwrap_or(0);
    let short = ink_end.saturating_sub(printed_end);
    let tol = (ink_end as f64 * 0.02).max(6.0);
    if (short as f64) <= tol {
        return (printed_end, None);
    }
    let fraction = printed_end as f64 / ink_end.max(1) as f64;
    let depth = 1.0 - fraction;
    (
        printed_end,
        Some(Defect {
            kind: DefectKind::Truncated,
            severity: Severity::Fail,
            axis: Axis::Rows,
            start: printed_end,
            end: ink_end.saturating_sub(1),
            depth,
            fraction,
            confidence: confidence(short as f64, tol),
            side: None,
            period: None,
            hint: DefectKind::Truncated.hint(),
            detail: format!(
                "print stops at row {printed_end} of {ink_end} ({:.0} % of the pattern's length)",
                fraction * 100.0
            ),
        }),
    )
}

/// Dense bands printing lighter than the sparse blocks next to them: (dense OD, sparse OD,
/// first row, last row) per pair.
pub fn dense_line_fade(pairs: &[(f64, f64, u32, u32)], page_rows: u32) -> Option<Defect> {
    let losses: Vec<(f64, u32, u32)> = pairs
        .iter()
        .filter(|p| p.1 > 0.05)
        .map(|&(d, s, a, b)| (1.0 - d / s, a, b))
        .collect();
    if losses.is_empty() {
        return None;
    }
    let loss = losses.iter().map(|l| l.0).sum::<f64>() / losses.len() as f64;
    if loss < FADE_MARGINAL {
        return None;
    }
    let start = losses.iter().map(|l| l.1).min()?;
    let end = losses.iter().map(|l| l.2).max()?;
    Some(Defect {
        kind: DefectKind::DenseLineFade,
        severity: severity(loss),
        axis: Axis::Rows,
        start,
        end,
        depth: loss,
        fraction: (end - start + 1) as f64 / page_rows.max(1) as f64,
        confidence: confidence(loss, FADE_MARGINAL),
        side: None,
        period: None,
        hint: DefectKind::DenseLineFade.hint(),
        detail: format!(
            "dense rows print at {:.0} % of the density of sparse rows",
            (1.0 - loss) * 100.0
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_classified_by_length_and_edge() {
        let mut rel = vec![1.0; 576];
        rel[100] = 0.1;
        for v in &mut rel[200..264] {
            *v = 0.0;
        }
        for v in &mut rel[400..] {
            *v = 0.02;
        }
        let d = column_defects(&rel);
        let kinds: Vec<_> = d.iter().map(|d| (d.kind, d.start, d.end)).collect();
        assert_eq!(
            kinds,
            vec![
                (DefectKind::DeadElement, 100, 100),
                (DefectKind::BlockDropout, 200, 263),
                (DefectKind::HalfWidth, 400, 575)
            ]
        );
        assert_eq!(d[2].side, Some(Side::Right));
    }

    #[test]
    fn notch_and_clean_profiles() {
        let mut rel: Vec<f64> = (0..576)
            .map(|i| 1.0 + 0.01 * ((i % 7) as f64 - 3.0))
            .collect();
        assert!(column_defects(&rel).is_empty());
        rel[300] = 0.62;
        let d = column_defects(&rel);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].kind, d[0].start), (DefectKind::DeadElement, 300));
    }

    #[test]
    fn fades_and_banding() {
        let rel: Vec<f64> = (0..576).map(|i| 1.0 - 0.4 * i as f64 / 575.0).collect();
        let f = fade_across(&rel, &[], FADE_LIMITS).expect("fade");
        assert_eq!(f.side, Some(Side::Right));
        assert!((f.depth - 0.4).abs() < 0.01);
        let flat = vec![1.0; 576];
        assert!(fade_across(&flat, &[], FADE_LIMITS).is_none());

        let run: Vec<(u32, f64)> = (0..200)
            .map(|r| {
                (
                    r,
                    0.9 + 0.1 * (std::f64::consts::TAU * r as f64 / 32.0).sin(),
                )
            })
            .collect();
        let b = banding(&[run]).expect("banding");
        assert!((b.period.expect("period") - 32.0).abs() < 1.5, "{b:?}");
        let still: Vec<(u32, f64)> = (0..200).map(|r| (r, 1.0)).collect();
        assert!(banding(&[still]).is_none());
    }

    #[test]
    fn truncation_point() {
        let mut ink = vec![Some(1.0); 600];
        for v in &mut ink[300..] {
            *v = Some(0.0);
        }
        let (end, d) = truncation(&ink, 600);
        assert_eq!(end, 300);
        assert_eq!(d.expect("truncated").start, 300);
        let full = vec![Some(0.95); 600];
        assert!(truncation(&full, 600).1.is_none());
    }

    #[test]
    fn a_thin_line_far_below_the_print_is_not_where_it_stopped() {
        // Printed to row 72, then bare paper, then the three-row shadow of a torn edge
        // lying on a lid at rows 128–130.
        let mut ink = vec![Some(1.0); 72];
        ink.extend(vec![Some(0.0); 56]);
        ink.extend(vec![Some(0.6); 3]);
        ink.extend(vec![None; 400]);
        assert_eq!(truncation(&ink, 560).0, 72);
        // Rows that ask for no ink (the gaps of a ladder) neither break a print nor
        // lengthen it: lines every fourth row, printed to row 400.
        let ladder: Vec<Option<f64>> = (0..560)
            .map(|r| (r % 4 == 0).then_some(if r < 400 { 0.9 } else { 0.0 }))
            .collect();
        assert_eq!(truncation(&ladder, 560).0, 397);
    }
}

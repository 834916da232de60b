//! Judging an analysis: its defects, the nominal density limit and, when there is one, the
//! golden record, give the verdict and its reasons.
//!
//! Judging reads the analysis and returns its own findings (the page's defects, with a
//! `light` defect the density check adds, and the golden comparison); it never changes
//! the analysis, which stays what was measured.

use super::{median, Golden};
use crate::analysis::{Analysis, Axis, Defect, Severity};
use crate::defect::DefectKind;
use crate::verdict::Verdict;
use serde::{Deserialize, Deserializer, Serialize};

/// Extra allowance for the outermost dot columns on each side (the outermost, then the
/// next): each dot is read at its centre, so where the registration is off by half a dot
/// (or curl bends the edge) the outermost column is read half on bare paper. A dead edge
/// element still loses its whole column.
pub const EDGE_ALLOWANCE: [f64; 2] = [0.35, 0.1];

/// One way the print differs from its golden record.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// "columns", "rows", "elements", "band" or "density".
    pub what: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<u32>,
    /// Largest shortfall against the golden record.
    pub worst: f64,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub model: String,
    pub pattern: String,
    pub condition: Option<String>,
    pub blessed_at: String,
    /// Golden minus measured relative column coverage, per dot (positive: less ink).
    pub column_deficit: Option<Vec<f64>>,
    pub worst_column_deficit: Option<f64>,
    /// The band the columns were judged in, in the page's own coverage units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_band: Option<ColumnBand>,
    /// Measured / golden solid density.
    pub density_ratio: Option<f64>,
    pub findings: Vec<Finding>,
}

/// The band a page's column coverage was judged in: the record's columns and the limits
/// as this page was judged with them (raised for the page's scatter), on the scale the
/// page was measured on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnBand {
    /// The page's level against the record (its columns are compared in shape).
    pub level: f64,
    /// The deficit limits this page was judged with.
    pub marginal: f64,
    pub fail: f64,
    /// The golden record's relative column coverage, per dot (`null`, read as NaN, where
    /// it was not measured).
    #[serde(deserialize_with = "nan_for_null")]
    pub golden: Vec<f64>,
}

/// Numbers written by serde_json, which writes NaN as `null`.
fn nan_for_null<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let v: Vec<Option<f64>> = Deserialize::deserialize(d)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

impl ColumnBand {
    /// What the record expects of each column on this page's scale.
    pub fn expected(&self) -> Vec<f64> {
        self.golden.iter().map(|g| self.level * g).collect()
    }

    /// The coverage below which a column falls short by more than `limit` (the edge
    /// columns with their allowance).
    pub fn below(&self, limit: f64) -> Vec<f64> {
        let last = self.golden.len().saturating_sub(1);
        self.golden
            .iter()
            .enumerate()
            .map(|(c, g)| self.level * (g - limit - edge_allowance(c, last)))
            .collect()
    }
}

/// The allowance of column `c` of `0..=last` ([`EDGE_ALLOWANCE`]).
fn edge_allowance(c: usize, last: usize) -> f64 {
    EDGE_ALLOWANCE
        .get(c.min(last - c.min(last)))
        .copied()
        .unwrap_or(0.0)
}

#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// Every defect of the page: the analysis' own, then those judging found (a `light`
    /// print against the golden or nominal density).
    pub defects: Vec<Defect>,
    /// The density the `light` check used and where it came from.
    pub density_reference: Option<(f64, &'static str)>,
    pub golden: Option<Comparison>,
}

impl Judgement {
    /// Where the page differs from its golden record (none without a record).
    pub fn golden_findings(&self) -> &[Finding] {
        self.golden.as_ref().map_or(&[], |c| c.findings.as_slice())
    }
}

fn runs(values: &[Option<f64>], limit: f64, min_len: usize) -> Vec<(usize, usize, f64)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < values.len() {
        if !values[i].is_some_and(|v| v > limit) {
            i += 1;
            continue;
        }
        let s = i;
        let mut worst: f64 = 0.0;
        while i < values.len() && values[i].is_some_and(|v| v > limit) {
            worst = worst.max(values[i].unwrap_or(0.0));
            i += 1;
        }
        if i - s >= min_len {
            out.push((s, i - 1, worst));
        }
    }
    out
}

fn compare_profile(
    what: &'static str,
    deficit: &[Option<f64>],
    marginal: f64,
    fail: f64,
    min_len: usize,
    unit: &str,
) -> Vec<Finding> {
    runs(deficit, marginal, min_len)
        .into_iter()
        .map(|(s, e, worst)| {
            let mean = deficit[s..=e].iter().flatten().sum::<f64>() / (e - s + 1) as f64;
            Finding {
                severity: if worst > fail {
                    Severity::Fail
                } else {
                    Severity::Marginal
                },
                what,
                start: Some(s as u32),
                end: Some(e as u32),
                worst,
                detail: format!(
                    "{unit} {s}–{e}: {mean:.2} below golden on average, {worst:.2} at worst"
                ),
            }
        })
        .collect()
}

/// The page's level against the record: the median ratio of measured to golden over the
/// values the record expects ink at (golden above `min_golden`). A healthy unit that
/// prints a little darker or lighter, or a scanner that reads tints a little lighter at
/// another resolution, moves every value alike; a printer fault moves some. None when
/// fewer than `min_count` values printed at least half the record's, or when the page is
/// so far off (over double) that the level is the finding.
fn level(
    pairs: impl Iterator<Item = (f64, f64)>,
    min_golden: f64,
    min_count: usize,
) -> Option<f64> {
    // Values under half the record's are missing ink (dead columns, a cut width), not a
    // level: they are left out, so half a page dead does not halve the level.
    let r: Vec<f64> = pairs
        .filter(|(g, m)| g.is_finite() && m.is_finite() && *g > min_golden)
        .map(|(g, m)| m / g)
        .filter(|k| *k >= 0.5)
        .collect();
    if r.len() < min_count {
        return None;
    }
    Some(median(&r)).filter(|k| (0.5..=2.0).contains(k))
}

/// The limits a profile is judged with on this page: the record's, raised where the
/// page's own measurement scatters more (a column or element must stand five robust
/// standard deviations of the page's scatter out of it). A column of text on the receipt
/// holds a few dozen dots and reads far noisier than a column of a solid band; a dead
/// element stands out of either.
fn limits(deficits: &[Option<f64>], marginal: f64, fail: f64) -> (f64, f64) {
    let v: Vec<f64> = deficits.iter().flatten().copied().collect();
    if v.iter().filter(|d| d.is_finite()).count() < 16 {
        return (marginal, fail);
    }
    let mid = median(&v);
    let dev: Vec<f64> = v.iter().map(|d| (d - mid).abs()).collect();
    let sigma = 1.4826 * median(&dev);
    let m = marginal.max(5.0 * sigma);
    (m, fail.max(m + (fail - marginal)))
}

/// How far from its slope a scanner's transfer curve and a unit's dot gain can take the
/// measured-over-golden density ratio per unit of log density (a gamma of 1.8 against
/// 2.4, or 300 dpi against 1200, stays well inside).
const MAX_TINT_SLOPE: f64 = 0.5;

/// The measured-over-golden density ratio expected at golden density `at` from `points`
/// (golden, measured) of the same page: the power law `ratio = a · golden^b` fitted to
/// them in log space, its slope held within ±[`MAX_TINT_SLOPE`]; their median ratio from
/// a single point or points at one density; 1 without any.
fn expected_ratio(points: &[(f64, f64)], at: f64) -> f64 {
    let xy: Vec<(f64, f64)> = points
        .iter()
        .filter(|(g, m)| *g > 0.0 && *m > 0.0)
        .map(|(g, m)| (g.ln(), (m / g).ln()))
        .collect();
    if xy.is_empty() {
        return 1.0;
    }
    let n = xy.len() as f64;
    let (mx, my) = (
        xy.iter().map(|p| p.0).sum::<f64>() / n,
        xy.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = xy.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = xy.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = if xy.len() >= 2 && sxx > 1e-6 {
        (sxy / sxx).clamp(-MAX_TINT_SLOPE, MAX_TINT_SLOPE)
    } else {
        0.0
    };
    (my + slope * (at.ln() - mx)).exp()
}

/// Measured over golden solid density, when the page was calibrated.
fn solid_ratio(a: &Analysis, g: &Golden) -> Option<f64> {
    a.calibration
        .as_ref()
        .map(|c| c.solid_density / g.solid_density.max(1e-6))
}

fn compare(a: &Analysis, g: &Golden) -> Comparison {
    let t = &g.tolerances;
    let mut findings = Vec::new();
    let prof = a.profiles.as_ref();
    let mut column_deficit = None;
    let mut worst_column = None;
    let mut column_band = None;
    if let (Some(gc), Some(mc)) = (g.columns.as_ref(), prof.and_then(|p| p.columns.as_ref())) {
        let last = gc.len().saturating_sub(1);
        // Columns are compared in shape: the level the page prints at is the density
        // check's to judge.
        let page = level(gc.iter().copied().zip(mc.iter().copied()), 0.2, 8).unwrap_or(1.0);
        let k = page;
        let d: Vec<Option<f64>> = gc
            .iter()
            .zip(mc)
            .enumerate()
            .map(|(c, (g, m))| {
                let edge = edge_allowance(c, last);
                (g.is_finite() && m.is_finite()).then(|| {
                    let d = g - m / k;
                    if edge > 0.0 {
                        (d - edge).max(0.0)
                    } else {
                        d
                    }
                })
            })
            .collect();
        let valid: Vec<f64> = d.iter().flatten().copied().collect();
        worst_column = valid.iter().copied().reduce(f64::max);
        let (marginal, fail) = limits(&d, t.column_marginal, t.column_fail);
        findings.extend(compare_profile("columns", &d, marginal, fail, 1, "dots"));
        column_band = Some(ColumnBand {
            level: k,
            marginal,
            fail,
            golden: gc.clone(),
        });
        column_deficit = Some(d.iter().map(|v| v.unwrap_or(f64::NAN)).collect());
    }
    if let (Some(ge), Some(me)) = (g.elements.as_ref(), prof.and_then(|p| p.elements.as_ref())) {
        let d: Vec<Option<f64>> = ge
            .iter()
            .zip(me)
            .map(|(g, m)| (g.is_finite() && m.is_finite()).then(|| g - m))
            .collect();
        let (marginal, fail) = limits(&d, t.element_marginal, t.element_fail);
        findings.extend(compare_profile(
            "elements", &d, marginal, fail, 1, "elements",
        ));
    }
    if let Some(p) = prof {
        // Rows too are compared in shape: missing columns, a lighter unit or a scanner
        // that reads tints lighter take the same share off every row. A tint's rows are
        // compared with the tint's own level (how a tint reads as a whole is the tint
        // comparison's to judge, below), so a row finding there is ink lost within the
        // tint: a gap, a stop, a fade that starts partway.
        let pairs = |r: std::ops::Range<usize>| {
            g.rows[r.clone()]
                .iter()
                .zip(&p.rows[r])
                .filter_map(|(g, m)| Some(((*g)?, (*m)?)))
                .collect::<Vec<_>>()
        };
        let n = g.rows.len().min(p.rows.len());
        let page = level(pairs(0..n).into_iter(), 0.2, 8).unwrap_or(1.0);
        let mut k = vec![page; n];
        for b in a.bands.iter().filter(|b| b.kind == "tint") {
            let r = (b.row_start as usize).min(n)..(b.row_end as usize).min(n);
            if let Some(band) = level(pairs(r.clone()).into_iter(), 0.2, 8) {
                k[r].fill(band);
            }
        }
        let d: Vec<Option<f64>> = g
            .rows
            .iter()
            .zip(&p.rows)
            .zip(&k)
            .map(|((g, m), k)| match (g, m) {
                (Some(g), Some(m)) => Some(g - m / k),
                _ => None,
            })
            .collect();
        findings.extend(compare_profile(
            "rows",
            &d,
            t.row_marginal,
            t.row_fail,
            t.row_run as usize,
            "rows",
        ));
    }
    // Tints are compared in shape too: a unit that prints lighter, with more or less dot
    // gain, or a scanner with another resolution or transfer curve reads every tint off the
    // record by a smooth power of its density (light tints furthest), which is the `light`
    // check's or the scanner's, not a band's. Each tint is held to the power law the other
    // tints and the solid follow; a tint out of line with them is the printer's.
    let tints: Vec<(&crate::analysis::BandMeasure, f64, f64)> = g
        .bands
        .iter()
        .zip(&a.bands)
        .filter(|(gb, mb)| gb.name == mb.name && mb.kind == "tint")
        .filter_map(|(gb, mb)| Some((mb, gb.density?, mb.density?)))
        .filter(|(_, gd, md)| *gd > 0.02 && *md > 0.0)
        .collect();
    let solid = a
        .calibration
        .as_ref()
        .map(|c| (g.solid_density, c.solid_density))
        .filter(|(gd, md)| *gd > 0.02 && *md > 0.0);
    let points: Vec<(f64, f64)> = tints
        .iter()
        .map(|&(_, gd, md)| (gd, md))
        .chain(solid)
        .collect();
    for (i, &(mb, gd, md)) in tints.iter().enumerate() {
        let others: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, p)| *p)
            .collect();
        let loss = 1.0 - md / gd / expected_ratio(&others, gd);
        if loss > t.band_marginal {
            findings.push(Finding {
                severity: if loss > t.band_fail {
                    Severity::Fail
                } else {
                    Severity::Marginal
                },
                what: "band",
                start: Some(mb.row_start),
                end: Some(mb.row_end.saturating_sub(1)),
                worst: loss,
                detail: format!(
                    "band {}: density {md:.3} against {gd:.3} in the golden record",
                    mb.name
                ),
            });
        }
    }
    Comparison {
        model: g.model.clone(),
        pattern: g.pattern.clone(),
        condition: g.condition.clone(),
        blessed_at: g.provenance.blessed_at.clone(),
        column_deficit,
        worst_column_deficit: worst_column,
        column_band,
        density_ratio: solid_ratio(a, g),
        findings,
    }
}

/// Judges an analysis. The judgement's defects gain a `light` defect when the solid density
/// falls short of the golden record's (or, without one, of `nominal_density`).
pub fn judge(a: &Analysis, golden: Option<&Golden>, nominal_density: Option<f64>) -> Judgement {
    judge_with(a, golden, nominal_density, None, &[])
}

/// What a plan's acceptance adds to a judgement: tolerances in place of the golden
/// record's, and defects expected under the condition (reported, but not held against
/// the print).
pub fn judge_with(
    a: &Analysis,
    golden: Option<&Golden>,
    nominal_density: Option<f64>,
    tolerances: Option<super::Tolerances>,
    expected: &[DefectKind],
) -> Judgement {
    let tol = tolerances
        .or(golden.map(|g| g.tolerances))
        .unwrap_or_default();
    let reference = golden
        .map(|g| (g.solid_density, "golden"))
        .or(nominal_density.map(|d| (d, "nominal")));
    let mut defects = a.defects.clone();
    if let (Some((refd, from)), Some(cal)) = (reference, a.calibration.as_ref()) {
        // Density is read against the paper the print is on; a greyer or yellower roll
        // lowers it with ink as black as ever. When the record knows the paper it was
        // blessed on, the solid is read against that paper too, and the print is light
        // only when its ink is light against both (a scan a little darker or brighter
        // than the record's moves the second reading only).
        let against_record = golden
            .and_then(|g| g.paper_white)
            .map(|w| (w / cal.solid.max(0.5)).log10());
        let density = against_record.map_or(cal.solid_density, |d| d.max(cal.solid_density));
        let loss = 1.0 - density / refd.max(1e-6);
        if loss > tol.density_marginal && !a.has(DefectKind::Light) {
            let severity = if loss > tol.density_fail {
                Severity::Fail
            } else {
                Severity::Marginal
            };
            defects.push(Defect {
                kind: DefectKind::Light,
                severity,
                axis: Axis::Page,
                start: 0,
                end: 0,
                depth: loss,
                fraction: 1.0,
                confidence: crate::analysis::defects::confidence(loss, tol.density_marginal),
                side: None,
                period: None,
                hint: DefectKind::Light.hint(),
                detail: match against_record {
                    Some(d) => format!(
                        "solid density {:.3} ({d:.3} against the record's paper) is {:.0} % below the {from} {refd:.3}",
                        cal.solid_density,
                        loss * 100.0
                    ),
                    None => format!(
                        "solid density {:.3} is {:.0} % below the {from} {refd:.3}",
                        cal.solid_density,
                        loss * 100.0
                    ),
                },
            });
        }
    }
    let comparison = golden.filter(|_| a.profiles.is_some()).map(|g| {
        let mut g = g.clone();
        g.tolerances = tol;
        compare(a, &g)
    });
    let mut verdict = Verdict::Pass;
    let mut reasons = Vec::new();
    for d in &defects {
        if expected.contains(&d.kind) {
            reasons.push(format!("{} (expected here): {}", d.kind, d.detail));
            continue;
        }
        verdict = verdict.max(d.severity.verdict());
        reasons.push(format!("{} ({}): {}", d.kind, d.severity.name(), d.detail));
    }
    // Where a defect is expected, the golden comparison would only repeat it.
    let comparison = if defects.iter().any(|d| expected.contains(&d.kind)) {
        comparison.map(|mut c| {
            c.findings.clear();
            c
        })
    } else {
        comparison
    };
    if let Some(c) = &comparison {
        for f in &c.findings {
            verdict = verdict.max(f.severity.verdict());
            reasons.push(format!(
                "golden {} ({}): {}",
                f.what,
                f.severity.name(),
                f.detail
            ));
        }
    }
    Judgement {
        verdict,
        reasons,
        defects,
        density_reference: reference,
        golden: comparison,
    }
}

#[cfg(test)]
mod tests {
    use super::{expected_ratio, ColumnBand, EDGE_ALLOWANCE};

    #[test]
    fn a_column_band_read_back_from_json_gives_the_limits_it_was_judged_with() {
        let band = ColumnBand {
            level: 0.8,
            marginal: 0.2,
            fail: 0.4,
            golden: vec![1.0, 1.0, f64::NAN, 1.0, 1.0, 1.0],
        };
        let json = serde_json::to_string(&band).expect("serialises");
        assert!(json.contains("null"), "{json}");
        let back: ColumnBand = serde_json::from_str(&json).expect("reads back");
        assert!(back.golden[2].is_nan());
        let below = back.below(back.marginal);
        // Inside the page: level × (golden − limit); at the edge, with its allowance.
        assert!((below[3] - 0.8 * 0.8).abs() < 1e-12);
        assert!((below[0] - 0.8 * (0.8 - EDGE_ALLOWANCE[0])).abs() < 1e-12);
        assert!((below[4] - 0.8 * (0.8 - EDGE_ALLOWANCE[1])).abs() < 1e-12);
        assert!(below[2].is_nan());
        assert_eq!(back.expected()[1], 0.8);
    }

    #[test]
    fn tints_read_off_by_a_power_law_are_expected_so() {
        // A scanner that reads a tint at 0.9 · golden^0.12 of the record (light tints
        // furthest), as a 300-dpi scan of a record blessed at 600 dpi does.
        let law = |g: f64| 0.9 * g.powf(0.12);
        let points: Vec<(f64, f64)> = [0.03, 0.07, 0.16, 0.48]
            .into_iter()
            .map(|g| (g, g * law(g)))
            .collect();
        let at = 0.29;
        let want = law(at);
        let got = expected_ratio(&points, at);
        assert!((got - want).abs() < 1e-9, "{got} against {want}");
        // A tint that prints 30 % lighter than that law stands out of it.
        assert!(1.0 - 0.7 * want / got > 0.29);
    }

    #[test]
    fn the_slope_is_held_and_few_points_give_their_ratio() {
        // Ratios that double per e-fold of density are no scanner's: the slope stops at
        // the limit.
        let e = std::f64::consts::E;
        let steep = [(0.1, 0.1 * 0.5), (0.1 * e, 0.1 * e)];
        let r = expected_ratio(&steep, 0.1 * e * e);
        // The line through the points' mean (log ratio ln 0.5 / 2, half an e-fold above
        // the first), at 1.5 e-folds beyond it.
        let expect = (0.5f64.ln() / 2.0 + super::MAX_TINT_SLOPE * 1.5).exp();
        assert!((r - expect).abs() < 1e-9, "{r} against {expect}");
        // One point: its ratio; none: 1.
        assert!((expected_ratio(&[(0.4, 0.3)], 0.05) - 0.75).abs() < 1e-12);
        assert_eq!(expected_ratio(&[], 0.2), 1.0);
    }
}

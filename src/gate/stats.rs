//! The gate's statistics, on repeated prints of one case pair (baseline and candidate):
//!
//! - Welch's t interval for the difference of means, candidate − baseline (a few prints
//!   per side, each side with its own scatter), and for a family of like members (every
//!   column, every element) intervals corrected for their number, on a pooled scatter;
//! - a decision of that interval against a margin `m` (two one-sided tests): a
//!   **regression** when it lies wholly beyond −m on the bad side, **equivalent** when
//!   wholly within ±m, an **improvement** when wholly on the good side of zero and
//!   reaching beyond +m, **inconclusive** otherwise — with how many repeats per side
//!   would narrow it enough to decide;
//! - Fisher's exact test for a defect that shows in k of n prints of each.

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Higher,
    Lower,
}

/// What the prints say about the candidate against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Regression,
    Equivalent,
    Improvement,
    Inconclusive,
}

impl Decision {
    /// Every decision, the worst first.
    pub const WORST_FIRST: [Decision; 4] = [
        Decision::Regression,
        Decision::Inconclusive,
        Decision::Equivalent,
        Decision::Improvement,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Decision::Regression => "regression",
            Decision::Inconclusive => "inconclusive",
            Decision::Equivalent => "equivalent",
            Decision::Improvement => "improvement",
        }
    }
}

/// An interval for candidate − baseline, with the difference of the means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub diff: f64,
    pub lo: f64,
    pub hi: f64,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sum of squared deviations from the mean.
fn sum_sq(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum()
}

/// The mean of `v` and its sample standard deviation (`None` without values, and the
/// deviation `None` with one).
pub fn mean_sd(v: &[f64]) -> (Option<f64>, Option<f64>) {
    if v.is_empty() {
        return (None, None);
    }
    let sd = (v.len() > 1).then(|| (sum_sq(v) / (v.len() - 1) as f64).sqrt());
    (Some(mean(v)), sd)
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms: about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let a = G[1..]
        .iter()
        .enumerate()
        .fold(G[0], |a, (i, g)| a + g / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-14 {
            break;
        }
    }
    h
}

/// The regularised incomplete beta function I_x(a, b).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The `p` quantile of Student's t with `df` degrees of freedom (bisection on the CDF).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let (mut lo, mut hi) = (-1e6, 1e6);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-10 * (1.0 + mid.abs()) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Welch's two-sided `level` (e.g. 0.90) interval of mean(cand) − mean(base): no
/// assumption that both sides scatter alike. `None` unless each side has two finite
/// values. Two sides without any scatter give a zero-width interval.
pub fn welch_interval(base: &[f64], cand: &[f64], level: f64) -> Option<Interval> {
    let base: Vec<f64> = base.iter().copied().filter(|x| x.is_finite()).collect();
    let cand: Vec<f64> = cand.iter().copied().filter(|x| x.is_finite()).collect();
    if base.len() < 2 || cand.len() < 2 {
        return None;
    }
    let (nb, nc) = (base.len() as f64, cand.len() as f64);
    let (vb, vc) = (sum_sq(&base) / (nb - 1.0), sum_sq(&cand) / (nc - 1.0));
    let diff = mean(&cand) - mean(&base);
    let (qb, qc) = (vb / nb, vc / nc);
    let se = (qb + qc).sqrt();
    if se == 0.0 {
        return Some(Interval {
            diff,
            lo: diff,
            hi: diff,
        });
    }
    // Welch–Satterthwaite degrees of freedom.
    let df = (qb + qc).powi(2) / (qb * qb / (nb - 1.0) + qc * qc / (nc - 1.0));
    let t = student_t_quantile(1.0 - (1.0 - level.clamp(0.5, 0.9999)) / 2.0, df.max(1.0));
    Some(Interval {
        diff,
        lo: diff - t * se,
        hi: diff + t * se,
    })
}

/// One member of a family of like measurements (a column, an element) over the prints of
/// each side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    pub index: usize,
    pub interval: Interval,
    pub decision: Decision,
    /// Prints per side it was measured on (the smaller side).
    pub n: usize,
}

/// The members of a family (`base[k][i]`: print `k`'s value of member `i`), each judged
/// against `margin` with a Bonferroni-corrected interval so that the whole family keeps
/// the two-sided `level`. Every member shares one scatter (one head, one scanner), so the
/// scatter is pooled over all members: with a few prints per side a member's own estimate
/// would be too rough. Members measured on fewer than two prints of a side are left out.
pub fn family(
    base: &[Vec<Option<f64>>],
    cand: &[Vec<Option<f64>>],
    level: f64,
    margin: f64,
    better: Better,
) -> Vec<Member> {
    let width = base.iter().chain(cand).map(|v| v.len()).max().unwrap_or(0);
    let column = |side: &[Vec<Option<f64>>], i: usize| -> Vec<f64> {
        side.iter()
            .filter_map(|v| v.get(i).copied().flatten())
            .filter(|x| x.is_finite())
            .collect()
    };
    let mut sides = Vec::new();
    let (mut ss, mut df) = (0.0, 0.0);
    for i in 0..width {
        let (b, c) = (column(base, i), column(cand, i));
        if b.len() < 2 || c.len() < 2 {
            continue;
        }
        ss += sum_sq(&b) + sum_sq(&c);
        df += (b.len() + c.len() - 2) as f64;
        sides.push((i, b, c));
    }
    if sides.is_empty() || df <= 0.0 {
        return Vec::new();
    }
    let sd = (ss / df).sqrt();
    let k = sides.len() as f64;
    let alpha = 1.0 - level.clamp(0.5, 0.9999);
    let t = student_t_quantile(1.0 - alpha / (2.0 * k), df);
    sides
        .into_iter()
        .map(|(index, b, c)| {
            let diff = mean(&c) - mean(&b);
            let half = t * sd * (1.0 / b.len() as f64 + 1.0 / c.len() as f64).sqrt();
            let interval = Interval {
                diff,
                lo: diff - half,
                hi: diff + half,
            };
            Member {
                index,
                interval,
                decision: decide(&interval, margin, better),
                n: b.len().min(c.len()),
            }
        })
        .collect()
}

/// The interval seen from the good side: higher is better.
fn good_side(iv: &Interval, better: Better) -> (f64, f64) {
    match better {
        Better::Higher => (iv.lo, iv.hi),
        Better::Lower => (-iv.hi, -iv.lo),
    }
}

/// The decision of `iv` against margin `margin` (> 0, in the metric's units).
pub fn decide(iv: &Interval, margin: f64, better: Better) -> Decision {
    let m = margin.abs();
    let (lo, hi) = good_side(iv, better);
    if hi < -m {
        Decision::Regression
    } else if lo > -m && hi < m {
        Decision::Equivalent
    } else if lo > 0.0 && hi >= m {
        Decision::Improvement
    } else {
        Decision::Inconclusive
    }
}

/// For an inconclusive interval from `n` prints per side: about how many prints per side
/// would narrow it (its width going as 1/√n) until it lies on one side of the boundary it
/// straddles. `None` when the interval is not inconclusive or has no width.
pub fn repeats_to_settle(iv: &Interval, n: usize, margin: f64, better: Better) -> Option<usize> {
    if decide(iv, margin, better) != Decision::Inconclusive || n == 0 {
        return None;
    }
    let m = margin.abs();
    let (lo, hi) = good_side(iv, better);
    let centre = (lo + hi) / 2.0;
    let half = (hi - lo) / 2.0;
    // The boundary the interval must clear: −m when it is centred below it or straddles
    // it, else +m (equivalence), else 0 (improvement).
    let distance = [-m, m, 0.0]
        .iter()
        .filter(|b| lo <= **b && **b <= hi)
        .map(|b| (centre - b).abs())
        .fold(f64::INFINITY, f64::min);
    if half.is_nan() || half <= 0.0 || !distance.is_finite() {
        return None;
    }
    // A centre on the boundary cannot be settled by more prints alone.
    let wanted = distance.max(half * 0.05);
    Some(((n as f64) * (half / wanted).powi(2)).ceil() as usize)
}

/// ln(k!) by summing logs (k is a count of prints: small).
fn ln_factorial(k: u64) -> f64 {
    (2..=k).map(|i| (i as f64).ln()).sum()
}

fn ln_choose(n: u64, k: u64) -> f64 {
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

/// Fisher's exact test, one-sided: the probability that the candidate shows the defect
/// in `k_cand` or more of its `n_cand` prints when the candidate and the baseline (`k_base`
/// of `n_base`) share one rate. Small: the candidate shows it more often than chance.
pub fn fisher_more(k_base: u64, n_base: u64, k_cand: u64, n_cand: u64) -> f64 {
    let (k_base, k_cand) = (k_base.min(n_base), k_cand.min(n_cand));
    let shown = k_base + k_cand;
    let total = n_base + n_cand;
    if total == 0 {
        return 1.0;
    }
    let all = ln_choose(total, shown);
    let top = shown.min(n_cand);
    (k_cand..=top)
        .filter(|&x| shown - x <= n_base)
        .map(|x| (ln_choose(n_cand, x) + ln_choose(n_base, shown - x) - all).exp())
        .sum::<f64>()
        .min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rng::Rng;

    fn normal(n: usize, mean: f64, sd: f64, seed: u64) -> Vec<f64> {
        let mut r = Rng::new(seed);
        (0..n).map(|_| mean + sd * r.normal()).collect()
    }

    #[test]
    fn student_t_quantiles_match_the_tables() {
        // Two-sided 90 % critical values.
        for (df, t) in [
            (1.0, 6.3138),
            (4.0, 2.1318),
            (8.0, 1.8595),
            (30.0, 1.6973),
            (1e6, 1.6449),
        ] {
            let q = student_t_quantile(0.95, df);
            assert!((q - t).abs() < 2e-4, "df {df}: {q} against {t}");
        }
        assert!((student_t_cdf(0.0, 5.0) - 0.5).abs() < 1e-12);
        assert!((student_t_quantile(0.05, 8.0) + 1.8595).abs() < 2e-4);
    }

    #[test]
    fn the_welch_interval_covers_the_difference_and_narrows_with_prints() {
        let base = normal(10, 1.00, 0.01, 1);
        let cand = normal(10, 0.94, 0.01, 2);
        let iv = welch_interval(&base, &cand, 0.90).expect("interval");
        assert!(iv.lo < iv.diff && iv.diff < iv.hi);
        assert!((iv.diff + 0.06).abs() < 0.015, "{iv:?}");
        // Four times the prints: about half the width.
        let more = welch_interval(&normal(40, 1.00, 0.01, 3), &normal(40, 0.94, 0.01, 4), 0.90)
            .expect("interval");
        let ratio = (more.hi - more.lo) / (iv.hi - iv.lo);
        assert!((0.35..0.7).contains(&ratio), "{ratio}");
        // Over many draws of two like sides the 90 % interval misses zero about 10 % of
        // the time.
        let misses = (0..2000u64)
            .filter(|s| {
                let iv = welch_interval(
                    &normal(5, 1.0, 0.02, 2 * s + 10),
                    &normal(5, 1.0, 0.02, 2 * s + 11),
                    0.90,
                )
                .expect("interval");
                iv.lo > 0.0 || iv.hi < 0.0
            })
            .count();
        assert!((140..=260).contains(&misses), "{misses} of 2000");
        assert_eq!(welch_interval(&[1.0], &cand, 0.9), None);
        assert_eq!(welch_interval(&[f64::NAN, 1.0], &cand, 0.9), None);
        let flat = welch_interval(&[1.0, 1.0], &[0.5, 0.5], 0.9).expect("interval");
        assert_eq!((flat.lo, flat.hi), (-0.5, -0.5));
    }

    #[test]
    fn a_family_names_the_member_that_dropped_and_holds_its_level() {
        let prints = |seed: u64, dead: Option<usize>| -> Vec<Vec<Option<f64>>> {
            (0..5u64)
                .map(|k| {
                    let mut r = Rng::new(seed * 100 + k);
                    (0..400)
                        .map(|i| Some(if Some(i) == dead { 0.1 } else { 1.0 } + 0.01 * r.normal()))
                        .collect()
                })
                .collect()
        };
        let members = family(
            &prints(1, None),
            &prints(2, Some(311)),
            0.90,
            0.10,
            Better::Higher,
        );
        assert_eq!(members.len(), 400);
        let worse: Vec<usize> = members
            .iter()
            .filter(|m| m.decision == Decision::Regression)
            .map(|m| m.index)
            .collect();
        assert_eq!(worse, vec![311]);
        assert!(members
            .iter()
            .filter(|m| m.index != 311)
            .all(|m| m.decision == Decision::Equivalent));
        // Like sides: nothing but equivalent members.
        let same = family(
            &prints(3, None),
            &prints(4, None),
            0.90,
            0.10,
            Better::Higher,
        );
        assert!(same.iter().all(|m| m.decision == Decision::Equivalent));
        // A member seen on one print of a side is left out.
        let mut short = prints(5, None);
        for p in short.iter_mut().skip(1) {
            p[7] = None;
        }
        assert!(family(&short, &prints(6, None), 0.9, 0.1, Better::Higher)
            .iter()
            .all(|m| m.index != 7));
    }

    #[test]
    fn decisions_against_a_margin() {
        let iv = |lo: f64, hi: f64| Interval {
            diff: (lo + hi) / 2.0,
            lo,
            hi,
        };
        let m = 0.03;
        use Decision::*;
        assert_eq!(decide(&iv(-0.08, -0.05), m, Better::Higher), Regression);
        assert_eq!(decide(&iv(-0.02, 0.02), m, Better::Higher), Equivalent);
        assert_eq!(decide(&iv(0.01, 0.06), m, Better::Higher), Improvement);
        assert_eq!(decide(&iv(-0.05, 0.00), m, Better::Higher), Inconclusive);
        // Lower is better (a print duration): the same interval reads the other way.
        assert_eq!(decide(&iv(0.05, 0.08), m, Better::Lower), Regression);
        assert_eq!(decide(&iv(-0.06, -0.01), m, Better::Lower), Improvement);
        // Straddling −m with its centre 0.005 past it and a half-width of 0.015: nine
        // times the prints narrow it to a third, enough to clear the boundary.
        let straddle = iv(-0.05, -0.02);
        assert_eq!(repeats_to_settle(&straddle, 5, m, Better::Higher), Some(45));
        assert_eq!(
            repeats_to_settle(&iv(-0.08, -0.05), 5, m, Better::Higher),
            None
        );
    }

    #[test]
    fn fishers_exact_test_on_defects_counted_in_prints() {
        // 0 of 10 against 6 of 10: unlikely by chance.
        let p = fisher_more(0, 10, 6, 10);
        assert!((p - 0.005418).abs() < 1e-5, "{p}");
        // The same count on both sides: no evidence.
        assert!(fisher_more(3, 10, 3, 10) > 0.5);
        // Fewer on the candidate: p is large.
        assert!(fisher_more(6, 10, 0, 10) > 0.99);
        assert_eq!(fisher_more(0, 0, 0, 0), 1.0);
        // "At least none" is certain.
        assert!((fisher_more(4, 10, 0, 10) - 1.0).abs() < 1e-9);
    }
}

//! The gate's statistics, on repeated prints of one case pair (baseline and candidate):
//!
//! - a percentile bootstrap interval for the difference of means, candidate − baseline,
//!   seeded so that the same prints give the same interval;
//! - a decision of that interval against a margin `m` (two one-sided tests): a
//!   **regression** when it lies wholly beyond −m on the bad side, **equivalent** when
//!   wholly within ±m, an **improvement** when wholly on the good side of zero and
//!   reaching beyond +m, **inconclusive** otherwise — with how many repeats per side
//!   would narrow it enough to decide;
//! - Fisher's exact test for a defect that shows in k of n prints of each.

use crate::util::rng::Rng;

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// What the prints say about the candidate against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Regression,
    Equivalent,
    Improvement,
    Inconclusive,
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

/// The `q` quantile of sorted `v` (linear between order statistics).
fn quantile(v: &[f64], q: f64) -> f64 {
    let x = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (i, f) = (x.floor() as usize, x - x.floor());
    match v.get(i + 1) {
        Some(next) => v[i] + (next - v[i]) * f,
        None => v[i],
    }
}

/// A two-sided `level` (e.g. 0.90) percentile bootstrap interval of mean(cand) −
/// mean(base) from `resamples` resamplings of each side, seeded by `seed`. `None` when a
/// side has no finite value.
pub fn bootstrap_mean_diff(
    base: &[f64],
    cand: &[f64],
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<Interval> {
    let base: Vec<f64> = base.iter().copied().filter(|x| x.is_finite()).collect();
    let cand: Vec<f64> = cand.iter().copied().filter(|x| x.is_finite()).collect();
    if base.is_empty() || cand.is_empty() {
        return None;
    }
    let diff = mean(&cand) - mean(&base);
    let mut rng = Rng::new(seed);
    let mut resample = |v: &[f64]| {
        (0..v.len())
            .map(|_| v[rng.below(v.len() as u64) as usize])
            .sum::<f64>()
            / v.len() as f64
    };
    let mut diffs: Vec<f64> = (0..resamples.max(100))
        .map(|_| resample(&cand) - resample(&base))
        .collect();
    diffs.sort_by(f64::total_cmp);
    let tail = (1.0 - level.clamp(0.5, 0.999)) / 2.0;
    Some(Interval {
        diff,
        lo: quantile(&diffs, tail),
        hi: quantile(&diffs, 1.0 - tail),
    })
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

    fn normal(n: usize, mean: f64, sd: f64, seed: u64) -> Vec<f64> {
        let mut r = Rng::new(seed);
        (0..n).map(|_| mean + sd * r.normal()).collect()
    }

    #[test]
    fn the_bootstrap_interval_covers_the_difference_and_narrows_with_prints() {
        let base = normal(10, 1.00, 0.01, 1);
        let cand = normal(10, 0.94, 0.01, 2);
        let iv = bootstrap_mean_diff(&base, &cand, 0.90, 2000, 7).expect("interval");
        assert!(iv.lo < iv.diff && iv.diff < iv.hi);
        assert!((iv.diff + 0.06).abs() < 0.015, "{iv:?}");
        // Seeded: the same prints give the same interval.
        assert_eq!(bootstrap_mean_diff(&base, &cand, 0.90, 2000, 7), Some(iv));
        // Four times the prints: about half the width.
        let more = bootstrap_mean_diff(
            &normal(40, 1.00, 0.01, 3),
            &normal(40, 0.94, 0.01, 4),
            0.90,
            2000,
            7,
        )
        .expect("interval");
        let ratio = (more.hi - more.lo) / (iv.hi - iv.lo);
        assert!((0.3..0.8).contains(&ratio), "{ratio}");
        assert_eq!(bootstrap_mean_diff(&[], &cand, 0.9, 100, 1), None);
        assert_eq!(bootstrap_mean_diff(&[f64::NAN], &cand, 0.9, 100, 1), None);
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

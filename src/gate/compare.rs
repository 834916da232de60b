//! The comparison: baseline and candidate prints paired by printer model, pattern and
//! condition, the repeats of every run pooled, and every metric of a pair decided against
//! its margin — continuous ones on Welch intervals (relative ones on the logarithm, so
//! that "3 % lighter" means the same on a dark and a light band), families (every column,
//! every element) member by member, counts (a verdict, a defect kind in k of n prints) by
//! Fisher's exact test.
//!
//! Pure: prints in, a [`GateReport`] out.

use super::prints::{Excluded, PairKey, Print, RunRef, SideRuns};
use super::stats::{self, Better, Decision, Interval};
use super::{GateError, EXIT_INCONCLUSIVE, EXIT_REGRESSION};
use crate::plan::GateMargins;
use crate::verdict::Verdict;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub const SCHEMA: &str = "printrig.gate/1";

/// How many members of a family are listed by name.
const LISTED_MEMBERS: usize = 40;

/// What a metric's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Differences are relative to the baseline (0.03 = 3 %).
    Relative,
    /// Coverage, 0..1: differences are absolute.
    Coverage,
    /// Prints showing something, k of n: differences are of the rate.
    Prints,
}

/// One side of a metric.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SideStats {
    /// Prints it was measured on.
    pub n: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sd: Option<f64>,
    /// Count metrics: prints showing it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

/// A member of a family that is not equivalent.
#[derive(Debug, Clone, Serialize)]
pub struct MemberNote {
    pub index: usize,
    pub diff: f64,
    pub lo: f64,
    pub hi: f64,
    pub decision: Decision,
}

/// One metric of one pair.
#[derive(Debug, Clone, Serialize)]
pub struct MetricResult {
    pub metric: String,
    pub unit: Unit,
    pub better: Better,
    pub baseline: SideStats,
    pub candidate: SideStats,
    /// Candidate − baseline (relative for relative metrics; for a family, its worst
    /// member), with its interval.
    pub diff: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    /// The tolerated worsening, in the metric's unit (none for counts).
    pub margin: Option<f64>,
    /// Counts: the one-sided exact p-value of the candidate showing it more often.
    pub p: Option<f64>,
    pub decision: Decision,
    /// Inconclusive: about how many prints per side would settle it.
    pub settle: Option<usize>,
    /// One line for a person.
    pub detail: String,
    /// Families: the members that are not equivalent (worst first, at most 40).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberNote>,
    /// The unit of the sides' means ("s" for a time; empty for a ratio or coverage).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub mean_unit: &'static str,
}

/// One pair of cases and its metrics.
#[derive(Debug, Clone, Serialize)]
pub struct PairResult {
    #[serde(flatten)]
    pub key: PairKey,
    /// `model/pattern/condition`.
    pub name: String,
    pub decision: Decision,
    pub metrics: Vec<MetricResult>,
}

/// One side as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SideSummary {
    pub runs: Vec<RunRef>,
    pub firmware: Vec<String>,
    pub prints: usize,
    pub excluded: Vec<Excluded>,
}

/// The gate's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every pair equivalent or better (exit 0).
    NoRegression,
    /// At least one pair worse by more than its margin (exit 1).
    Regression,
    /// No regression, but something undecided or a print lost to an error (exit 3).
    Inconclusive,
}

impl Outcome {
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::NoRegression => 0,
            Outcome::Regression => EXIT_REGRESSION,
            Outcome::Inconclusive => EXIT_INCONCLUSIVE,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::NoRegression => "no regression",
            Outcome::Regression => "regression",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DecisionCounts {
    pub regression: usize,
    pub inconclusive: usize,
    pub equivalent: usize,
    pub improvement: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    pub schema: &'static str,
    pub plan: String,
    pub margins: GateMargins,
    pub baseline: SideSummary,
    pub candidate: SideSummary,
    /// Pairs by their decision.
    pub counts: DecisionCounts,
    pub pairs: Vec<PairResult>,
    /// What a reader should know (margins taken from where, prints left out, …).
    pub notes: Vec<String>,
    pub outcome: Outcome,
    pub exit_code: i32,
}

/// Worse decisions first: regression, inconclusive, equivalent, improvement.
pub fn severity(d: Decision) -> usize {
    Decision::WORST_FIRST
        .iter()
        .position(|x| *x == d)
        .unwrap_or(Decision::WORST_FIRST.len())
}

fn side_stats(v: &[f64]) -> SideStats {
    let (mean, sd) = stats::mean_sd(v);
    SideStats {
        n: v.len(),
        mean,
        sd,
        count: None,
    }
}

fn pct(x: f64) -> String {
    format!("{:+.1} %", 100.0 * x)
}

/// A continuous metric: `relative` ones compared on the logarithm, their interval given
/// as a relative change.
#[allow(clippy::too_many_arguments)]
fn continuous(
    metric: String,
    base: &[f64],
    cand: &[f64],
    margin: f64,
    better: Better,
    relative: bool,
    level: f64,
) -> MetricResult {
    let keep = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .copied()
            .filter(|x| x.is_finite() && (!relative || *x > 0.0))
            .collect()
    };
    let (base, cand) = (keep(base), keep(cand));
    let logs = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x.ln()).collect() };
    let interval = if relative {
        stats::welch_interval(&logs(&base), &logs(&cand), level).map(|iv| Interval {
            diff: iv.diff.exp() - 1.0,
            lo: iv.lo.exp() - 1.0,
            hi: iv.hi.exp() - 1.0,
        })
    } else {
        stats::welch_interval(&base, &cand, level)
    };
    let n = base.len().min(cand.len());
    let fmt = |x: f64| if relative { pct(x) } else { format!("{x:+.3}") };
    let (decision, detail, settle) = match &interval {
        None => (
            Decision::Inconclusive,
            format!(
                "measured on {} baseline and {} candidate prints: two of each are needed",
                base.len(),
                cand.len()
            ),
            None,
        ),
        Some(iv) => {
            let d = stats::decide(iv, margin, better);
            let settle = stats::repeats_to_settle(iv, n, margin, better);
            let margin_text = match better {
                Better::Higher => format!("−{}", fmt(margin).trim_start_matches('+')),
                Better::Lower => fmt(margin),
            };
            let mut text = match d {
                Decision::Regression => format!("worse by more than the margin ({margin_text})"),
                Decision::Equivalent => format!("within ±{}", fmt(margin).trim_start_matches('+')),
                Decision::Improvement => "better, beyond the margin".to_string(),
                Decision::Inconclusive => {
                    let (lo, hi) = match better {
                        Better::Higher => (iv.lo, iv.hi),
                        Better::Lower => (-iv.hi, -iv.lo),
                    };
                    if lo < -margin && hi >= -margin {
                        format!("may be worse by more than the margin ({margin_text}), or not")
                    } else {
                        format!(
                            "not shown within ±{} (better, or too wide to tell)",
                            fmt(margin).trim_start_matches('+')
                        )
                    }
                }
            };
            if let Some(s) = settle {
                text.push_str(&format!("; about {s} prints per side would settle it"));
            }
            (d, text, settle)
        }
    };
    MetricResult {
        metric,
        unit: if relative {
            Unit::Relative
        } else {
            Unit::Coverage
        },
        better,
        baseline: side_stats(&base),
        candidate: side_stats(&cand),
        diff: interval.map(|i| i.diff),
        lo: interval.map(|i| i.lo),
        hi: interval.map(|i| i.hi),
        margin: Some(margin),
        p: None,
        decision,
        settle,
        detail,
        members: Vec::new(),
        mean_unit: "",
    }
}

/// Prints per side (same ratio as now) at which `kc` of `nc` against `kb` of `nb` would be
/// significant, up to 200; `None` beyond.
fn count_settle(kb: usize, nb: usize, kc: usize, nc: usize, alpha: f64) -> Option<usize> {
    let (rb, rc) = (kb as f64 / nb as f64, kc as f64 / nc as f64);
    (nb.max(nc) + 1..=200).find(|&n| {
        let k_b = (rb * n as f64).round() as u64;
        let k_c = (rc * n as f64).round() as u64;
        stats::fisher_more(k_b, n as u64, k_c, n as u64) < alpha
    })
}

/// A count metric: prints showing it, k of n per side.
fn count(metric: String, base: (usize, usize), cand: (usize, usize), alpha: f64) -> MetricResult {
    let ((kb, nb), (kc, nc)) = (base, cand);
    let side = |k: usize, n: usize| SideStats {
        n,
        mean: (n > 0).then(|| k as f64 / n as f64),
        sd: None,
        count: Some(k),
    };
    let counts = format!("{kb} of {nb} baseline prints, {kc} of {nc} candidate prints");
    let (decision, p, detail, settle) = if nb == 0 || nc == 0 {
        (Decision::Inconclusive, None, counts, None)
    } else {
        let more = stats::fisher_more(kb as u64, nb as u64, kc as u64, nc as u64);
        let less = stats::fisher_more(kc as u64, nc as u64, kb as u64, nb as u64);
        let (rb, rc) = (kb as f64 / nb as f64, kc as f64 / nc as f64);
        if more < alpha {
            (
                Decision::Regression,
                Some(more),
                format!("{counts} (p = {more:.3})"),
                None,
            )
        } else if less < alpha {
            (
                Decision::Improvement,
                Some(more),
                format!("{counts} (fewer, p = {less:.3})"),
                None,
            )
        } else if rc <= rb {
            (Decision::Equivalent, Some(more), counts, None)
        } else {
            let settle = count_settle(kb, nb, kc, nc, alpha);
            let tail = settle.map_or_else(
                || "; more prints alone would hardly settle it".to_string(),
                |s| format!("; at these rates about {s} prints per side would settle it"),
            );
            (
                Decision::Inconclusive,
                Some(more),
                format!("{counts}: more often, but not beyond chance (p = {more:.3}){tail}"),
                settle,
            )
        }
    };
    MetricResult {
        metric,
        unit: Unit::Prints,
        better: Better::Lower,
        baseline: side(kb, nb),
        candidate: side(kc, nc),
        diff: (nb > 0 && nc > 0).then(|| kc as f64 / nc as f64 - kb as f64 / nb as f64),
        lo: None,
        hi: None,
        margin: None,
        p,
        decision,
        settle,
        detail,
        members: Vec::new(),
        mean_unit: "",
    }
}

/// How many ranges of members a detail line lists before it only counts them.
const LISTED_RANGES: usize = 8;

/// Consecutive indices as ranges: `311–312, 400`; past eight ranges, how many more.
fn ranges(mut idx: Vec<usize>) -> String {
    idx.sort_unstable();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && idx[j + 1] == idx[j] + 1 {
            j += 1;
        }
        out.push(if j > i {
            format!("{}–{}", idx[i], idx[j])
        } else {
            idx[i].to_string()
        });
        i = j + 1;
    }
    if out.len() > LISTED_RANGES {
        let more = out.len() - LISTED_RANGES;
        out.truncate(LISTED_RANGES);
        return format!(
            "{} and {more} more ranges ({} in all)",
            out.join(", "),
            idx.len()
        );
    }
    out.join(", ")
}

/// A family of like members (`member`: "dot", "element"), every member judged on its
/// own and the family by its worst.
fn family(
    metric: String,
    member: &str,
    base: &[Vec<Option<f64>>],
    cand: &[Vec<Option<f64>>],
    margin: f64,
    level: f64,
) -> MetricResult {
    let members = stats::family(base, cand, level, margin, Better::Higher);
    let sides = |v: &[Vec<Option<f64>>]| SideStats {
        n: v.len(),
        mean: None,
        sd: None,
        count: None,
    };
    let pick = |d: Decision| -> Vec<&stats::Member> {
        members.iter().filter(|m| m.decision == d).collect()
    };
    let (worse, open) = (pick(Decision::Regression), pick(Decision::Inconclusive));
    let worst = members
        .iter()
        .min_by(|a, b| a.interval.lo.total_cmp(&b.interval.lo));
    let decision = if members.is_empty() {
        Decision::Inconclusive
    } else if !worse.is_empty() {
        Decision::Regression
    } else if !open.is_empty() {
        Decision::Inconclusive
    } else {
        Decision::Equivalent
    };
    let describe = |set: &[&stats::Member]| -> String {
        let lo = set
            .iter()
            .map(|m| m.interval.diff)
            .fold(f64::INFINITY, f64::min);
        format!(
            "{member}s {} (worst {lo:+.3})",
            ranges(set.iter().map(|m| m.index).collect())
        )
    };
    let settle = open
        .iter()
        .filter_map(|m| stats::repeats_to_settle(&m.interval, m.n, margin, Better::Higher))
        .max();
    let detail = if members.is_empty() {
        format!("no {member} measured on two prints of each side")
    } else if !worse.is_empty() {
        format!(
            "{} lower by more than {margin:.2}, of {} {member}s",
            describe(&worse),
            members.len()
        )
    } else if !open.is_empty() {
        format!(
            "{} may be lower by more than {margin:.2}{}",
            describe(&open),
            settle.map_or_else(String::new, |s| format!(
                "; about {s} prints per side would settle it"
            ))
        )
    } else {
        format!(
            "all {} {member}s within ±{margin:.2} (worst {:+.3})",
            members.len(),
            worst.map_or(0.0, |w| w.interval.diff)
        )
    };
    let mut listed: Vec<MemberNote> = members
        .iter()
        .filter(|m| matches!(m.decision, Decision::Regression | Decision::Inconclusive))
        .map(|m| MemberNote {
            index: m.index,
            diff: m.interval.diff,
            lo: m.interval.lo,
            hi: m.interval.hi,
            decision: m.decision,
        })
        .collect();
    listed.sort_by(|a, b| a.diff.total_cmp(&b.diff));
    listed.truncate(LISTED_MEMBERS);
    MetricResult {
        metric,
        unit: Unit::Coverage,
        better: Better::Higher,
        baseline: sides(base),
        candidate: sides(cand),
        diff: worst.map(|w| w.interval.diff),
        lo: worst.map(|w| w.interval.lo),
        hi: worst.map(|w| w.interval.hi),
        margin: Some(margin),
        p: None,
        decision,
        settle,
        detail,
        members: listed,
        mean_unit: "",
    }
}

fn values(prints: &[&Print], f: impl Fn(&Print) -> Option<f64>) -> Vec<f64> {
    prints.iter().filter_map(|p| f(p)).collect()
}

/// The metrics of one pattern's pair.
fn pattern_metrics(b: &[&Print], c: &[&Print], m: &GateMargins) -> Vec<MetricResult> {
    let level = m.confidence;
    let alpha = (1.0 - level) / 2.0;
    let mut out = Vec::new();
    let k = |set: &[&Print], f: &dyn Fn(&Print) -> bool| set.iter().filter(|p| f(p)).count();
    out.push(count(
        "verdict fail".into(),
        (k(b, &|p| p.verdict == Verdict::Fail), b.len()),
        (k(c, &|p| p.verdict == Verdict::Fail), c.len()),
        alpha,
    ));
    out.push(count(
        "verdict not pass".into(),
        (k(b, &|p| p.verdict != Verdict::Pass), b.len()),
        (k(c, &|p| p.verdict != Verdict::Pass), c.len()),
        alpha,
    ));
    let kinds: BTreeSet<&String> = b.iter().chain(c).flat_map(|p| &p.defects).collect();
    for kind in kinds {
        out.push(count(
            format!("defect {kind}"),
            (k(b, &|p| p.defects.contains(kind)), b.len()),
            (k(c, &|p| p.defects.contains(kind)), c.len()),
            alpha,
        ));
    }
    // Tint bands by their density. A solid band by its density over the page's own solid
    // reference (the fiducial squares): one scan's dark level and gain cancel, leaving how
    // well full rows print against small solid areas — what a supply that sags under a
    // loaded row, or a firmware that no longer compensates for it, changes. The solid
    // density itself is judged per printer.
    let bands: BTreeSet<(&String, bool)> = b
        .iter()
        .chain(c)
        .flat_map(|p| {
            p.measures
                .bands
                .keys()
                .map(|n| (n, p.measures.solid_bands.contains(n)))
        })
        .collect();
    for (band, solid) in bands {
        let get = |p: &Print| {
            let d = p.measures.bands.get(band).copied()?;
            if solid {
                p.measures.solid_density.filter(|s| *s > 0.0).map(|s| d / s)
            } else {
                Some(d)
            }
        };
        let name = if solid {
            format!("band {band} vs page solid")
        } else {
            format!("band {band} density")
        };
        out.push(continuous(
            name,
            &values(b, get),
            &values(c, get),
            m.band_density,
            Better::Higher,
            true,
            level,
        ));
    }
    let mean = |p: &Print| p.measures.column_mean;
    if b.iter().chain(c).any(|p| mean(p).is_some()) {
        out.push(continuous(
            "column coverage (mean)".into(),
            &values(b, mean),
            &values(c, mean),
            m.column_mean,
            Better::Higher,
            false,
            level,
        ));
    }
    let columns = |set: &[&Print]| -> Vec<Vec<Option<f64>>> {
        set.iter()
            .filter_map(|p| p.measures.columns.as_ref())
            .map(|v| v.iter().map(|x| Some(*x)).collect())
            .collect()
    };
    let (cb, cc) = (columns(b), columns(c));
    if !cb.is_empty() || !cc.is_empty() {
        out.push(family(
            "column coverage (per dot)".into(),
            "dot",
            &cb,
            &cc,
            m.column,
            level,
        ));
    }
    let elements = |set: &[&Print]| -> Vec<Vec<Option<f64>>> {
        set.iter()
            .filter_map(|p| p.measures.elements.clone())
            .collect()
    };
    let (eb, ec) = (elements(b), elements(c));
    if !eb.is_empty() || !ec.is_empty() {
        out.push(family(
            "element coverage".into(),
            "element",
            &eb,
            &ec,
            m.element,
            level,
        ));
    }
    let secs = |p: &Print| p.print_s;
    let (sb, sc) = (values(b, secs), values(c, secs));
    if !sb.is_empty() || !sc.is_empty() {
        // Relative, but never tighter than the absolute floor.
        let base_mean = stats::mean_sd(&sb).0.unwrap_or(0.0);
        let margin = if base_mean > 0.0 {
            m.print_time.max(m.print_time_s / base_mean)
        } else {
            m.print_time
        };
        out.push(MetricResult {
            mean_unit: "s",
            ..continuous(
                "print time".into(),
                &sb,
                &sc,
                margin,
                Better::Lower,
                true,
                level,
            )
        });
    }
    out
}

fn of_pair<'a>(side: &'a SideRuns, key: &PairKey) -> Vec<&'a Print> {
    side.prints.iter().filter(|p| &p.key == key).collect()
}

fn pair_decision(metrics: &[MetricResult]) -> Decision {
    let worst = metrics
        .iter()
        .map(|m| m.decision)
        .min_by_key(|d| severity(*d));
    match worst {
        None => Decision::Inconclusive,
        Some(Decision::Equivalent)
            if metrics.iter().any(|m| m.decision == Decision::Improvement) =>
        {
            Decision::Improvement
        }
        Some(d) => d,
    }
}

fn summary(side: &SideRuns) -> SideSummary {
    let firmware: BTreeSet<String> = side.runs.iter().flat_map(|r| r.firmware.clone()).collect();
    SideSummary {
        runs: side.runs.clone(),
        firmware: firmware.into_iter().collect(),
        prints: side.prints.len(),
        excluded: side.excluded.clone(),
    }
}

/// Compares `candidate` with `baseline`. The runs must be of one plan and cover the same
/// pairs; the margins are the plan's as the baseline runs recorded them.
pub fn compare(baseline: &SideRuns, candidate: &SideRuns) -> Result<GateReport, GateError> {
    if baseline.runs.is_empty() {
        return Err(GateError::NoRuns { side: "baseline" });
    }
    if candidate.runs.is_empty() {
        return Err(GateError::NoRuns { side: "candidate" });
    }
    if let Some(r) = baseline
        .runs
        .iter()
        .find(|b| candidate.runs.iter().any(|c| c.run_id == b.run_id))
    {
        return Err(GateError::BothSides {
            run_id: r.run_id.clone(),
        });
    }
    let mut plans: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (side, r) in baseline
        .runs
        .iter()
        .map(|r| ("baseline", r))
        .chain(candidate.runs.iter().map(|r| ("candidate", r)))
    {
        plans
            .entry(&r.plan)
            .or_default()
            .push(format!("{side} {}", r.run_id));
    }
    if plans.len() > 1 {
        return Err(GateError::DifferentPlans {
            plans: plans
                .iter()
                .map(|(p, runs)| format!("plan {p}: {}", runs.join(", ")))
                .collect(),
        });
    }
    let only = |a: &SideRuns, b: &SideRuns| -> Vec<String> {
        a.keys.difference(&b.keys).map(|k| k.to_string()).collect()
    };
    let (only_base, only_cand) = (only(baseline, candidate), only(candidate, baseline));
    let mut missing = Vec::new();
    if !only_base.is_empty() {
        missing.push(format!("only the baseline has {}", only_base.join(", ")));
    }
    if !only_cand.is_empty() {
        missing.push(format!("only the candidate has {}", only_cand.join(", ")));
    }
    if !missing.is_empty() {
        return Err(GateError::MissingPairs { missing });
    }
    let mut notes = Vec::new();
    let recorded: Vec<&GateMargins> = baseline
        .runs
        .iter()
        .filter_map(|r| r.margins.as_ref())
        .collect();
    let margins = match recorded.first() {
        Some(m) => **m,
        None => {
            notes.push(
                "the baseline runs recorded no [plan.gate] margins: the defaults are used".into(),
            );
            GateMargins::default()
        }
    };
    if baseline
        .runs
        .iter()
        .chain(&candidate.runs)
        .filter_map(|r| r.margins.as_ref())
        .any(|m| *m != margins)
    {
        notes.push(format!(
            "the runs recorded different [plan.gate] margins: those of baseline run {} are used",
            baseline.runs[0].run_id
        ));
    }
    for (side, s) in [("baseline", baseline), ("candidate", candidate)] {
        if !s.excluded.is_empty() {
            notes.push(format!(
                "{} {side} print(s) left out: {}",
                s.excluded.len(),
                s.excluded
                    .iter()
                    .take(5)
                    .map(|e| format!("{} in {}: {}", e.case_id, e.run_id, e.why))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    let mut pairs = Vec::new();
    let level = margins.confidence;
    // Per printer and condition: the solid density over every pattern.
    let printers: BTreeSet<(String, String)> = baseline
        .keys
        .iter()
        .map(|k| (k.model.clone(), k.condition.clone()))
        .collect();
    for (model, condition) in printers {
        let of = |s: &SideRuns| -> Vec<f64> {
            s.prints
                .iter()
                .filter(|p| p.key.model == model && p.key.condition == condition)
                .filter_map(|p| p.measures.solid_density)
                .collect()
        };
        let key = PairKey {
            model: model.clone(),
            pattern: None,
            condition: condition.clone(),
        };
        let metrics = vec![continuous(
            "solid density".into(),
            &of(baseline),
            &of(candidate),
            margins.density,
            Better::Higher,
            true,
            level,
        )];
        pairs.push(PairResult {
            name: key.to_string(),
            key,
            decision: pair_decision(&metrics),
            metrics,
        });
    }
    for key in &baseline.keys {
        let (b, c) = (of_pair(baseline, key), of_pair(candidate, key));
        let metrics = pattern_metrics(&b, &c, &margins);
        pairs.push(PairResult {
            name: key.to_string(),
            key: key.clone(),
            decision: pair_decision(&metrics),
            metrics,
        });
    }
    let mut counts = DecisionCounts::default();
    for p in &pairs {
        match p.decision {
            Decision::Regression => counts.regression += 1,
            Decision::Inconclusive => counts.inconclusive += 1,
            Decision::Equivalent => counts.equivalent += 1,
            Decision::Improvement => counts.improvement += 1,
        }
    }
    let errored = baseline
        .excluded
        .iter()
        .chain(&candidate.excluded)
        .any(|e| e.lost);
    let outcome = if counts.regression > 0 {
        Outcome::Regression
    } else if counts.inconclusive > 0 || errored {
        Outcome::Inconclusive
    } else {
        Outcome::NoRegression
    };
    Ok(GateReport {
        schema: SCHEMA,
        plan: baseline.runs[0].plan.clone(),
        margins,
        baseline: summary(baseline),
        candidate: summary(candidate),
        counts,
        pairs,
        notes,
        outcome,
        exit_code: outcome.exit_code(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_join_neighbours() {
        assert_eq!(ranges(vec![400, 311, 312, 5]), "5, 311–312, 400");
        assert_eq!(ranges(vec![]), "");
        let spread: Vec<usize> = (0..20).map(|i| 3 * i).collect();
        assert_eq!(
            ranges(spread),
            "0, 3, 6, 9, 12, 15, 18, 21 and 12 more ranges (20 in all)"
        );
    }

    #[test]
    fn counts_are_decided_by_the_exact_test() {
        let c = count("defect banding".into(), (0, 5), (5, 5), 0.05);
        assert_eq!(c.decision, Decision::Regression);
        assert!(c.p.is_some_and(|p| p < 0.01));
        let c = count("x".into(), (0, 5), (0, 5), 0.05);
        assert_eq!(c.decision, Decision::Equivalent);
        let c = count("x".into(), (0, 5), (2, 5), 0.05);
        assert_eq!(c.decision, Decision::Inconclusive);
        assert!(c.settle.is_some_and(|n| n > 5), "{c:?}");
        let c = count("x".into(), (5, 5), (0, 5), 0.05);
        assert_eq!(c.decision, Decision::Improvement);
        assert_eq!(
            count("x".into(), (0, 0), (1, 5), 0.05).decision,
            Decision::Inconclusive
        );
    }

    #[test]
    fn a_relative_metric_reads_as_a_change_of_the_baseline() {
        let base = [1.00, 1.02, 0.99, 1.01, 1.00];
        let cand: Vec<f64> = base.iter().map(|x| x * 0.90).collect();
        let m = continuous(
            "solid density".into(),
            &base,
            &cand,
            0.03,
            Better::Higher,
            true,
            0.9,
        );
        assert_eq!(m.decision, Decision::Regression);
        assert!((m.diff.unwrap() + 0.10).abs() < 1e-9, "{m:?}");
        assert!(m.detail.contains("−3.0 %"), "{}", m.detail);
        let same = continuous("x".into(), &base, &base, 0.03, Better::Higher, true, 0.9);
        assert_eq!(same.decision, Decision::Equivalent);
        let slower: Vec<f64> = base.iter().map(|x| x * 2.0).collect();
        let t = continuous(
            "print time".into(),
            &base,
            &slower,
            0.25,
            Better::Lower,
            true,
            0.9,
        );
        assert_eq!(t.decision, Decision::Regression);
        let one = continuous("x".into(), &base, &[1.0], 0.03, Better::Higher, true, 0.9);
        assert_eq!(one.decision, Decision::Inconclusive);
    }
}

//! The plan's matrix, expanded: stations × conditions × patterns × repeats → cases with
//! stable ids, and the split of those cases into shards.
//!
//! Owns [`CaseSpec`], [`expand`], [`shard`] and the case-id format. Expansion is a pure
//! function of the plan and the station file (same input, same cases, same order); a case
//! id never depends on position, so resume and sharding survive a plan that grows. It must
//! not run anything or read files.

use super::location::PlanError;
use super::plan_file::{Condition, Plan, TolerancesOverride};
use super::station::StationFile;
use crate::defect::DefectKind;
use crate::pattern::PatternKind;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One case: a pattern printed on one station under one condition, one repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSpec {
    /// `station/pattern/condition/rN` (N from 1): stable across runs.
    pub id: String,
    pub station: String,
    pub model: String,
    pub dots: u32,
    pub pattern: PatternKind,
    pub condition: Condition,
    /// 1-based.
    pub repeat: u32,
    /// `golden/<model>/<pattern>[@<accept.golden>].json`, relative to the project root.
    pub golden: PathBuf,
    pub tolerances: TolerancesOverride,
    pub expected: Vec<DefectKind>,
}

/// The id of a case.
pub fn case_id(station: &str, pattern: PatternKind, condition: &str, repeat: u32) -> String {
    format!("{station}/{}/{condition}/r{repeat}", pattern.name())
}

/// The golden record a case is judged against.
pub fn golden_path(model: &str, pattern: PatternKind, golden: Option<&str>) -> PathBuf {
    let file = match golden {
        Some(g) => format!("{}@{g}.json", pattern.name()),
        None => format!("{}.json", pattern.name()),
    };
    PathBuf::from("golden").join(model).join(file)
}

/// How many cases a plan runs without `--max-cases`: a night of the largest rig (eight
/// stations at about three cases a minute for ten hours is under 15 000) fits, a plan that
/// would expand to millions of cases is refused before anything is built.
pub const DEFAULT_MAX_CASES: u64 = 20_000;

/// How many cases [`expand`] makes of a plan, counted without making them.
pub fn case_count(plan: &Plan, stations: &StationFile) -> u64 {
    let on = stations
        .stations
        .iter()
        .filter(|s| plan.stations.contains(&s.name))
        .count() as u64;
    let per_station: u64 = plan
        .conditions
        .iter()
        .map(|c| plan.patterns_for(c).len() as u64 * u64::from(plan.repeats))
        .fold(0u64, u64::saturating_add);
    on.saturating_mul(per_station)
}

/// Refuses a plan of more than `limit` cases, counted before it is expanded.
pub fn check_case_limit(plan: &Plan, stations: &StationFile, limit: u64) -> Result<u64, PlanError> {
    let n = case_count(plan, stations);
    if n > limit {
        return Err(PlanError::file(
            &plan.path,
            format!(
                "the plan expands to {n} cases ({} condition(s), {} repeat(s), on {} station(s)), \
                 more than the limit of {limit}: split it, or raise the limit with --max-cases",
                plan.conditions.len(),
                plan.repeats,
                stations
                    .stations
                    .iter()
                    .filter(|s| plan.stations.contains(&s.name))
                    .count()
            ),
        ));
    }
    Ok(n)
}

/// Expands a plan into cases, in a fixed order: station (station-file order), condition
/// (plan order), pattern (list order), repeat 1..=n. Stations of the plan missing from
/// `stations` (a plan validated against another station file) are skipped with a warning.
pub fn expand(plan: &Plan, stations: &StationFile) -> Vec<CaseSpec> {
    let mut cases = Vec::new();
    for name in &plan.stations {
        if stations.get(name).is_none() {
            tracing::warn!(
                station = %name,
                file = %stations.path.display(),
                "plan station not in the station file: skipped"
            );
        }
    }
    for st in stations
        .stations
        .iter()
        .filter(|s| plan.stations.contains(&s.name))
    {
        for cond in &plan.conditions {
            for &pattern in plan.patterns_for(cond) {
                for repeat in 1..=plan.repeats {
                    cases.push(CaseSpec {
                        id: case_id(&st.name, pattern, &cond.name, repeat),
                        station: st.name.clone(),
                        model: st.model.clone(),
                        dots: st.printer.dots,
                        pattern,
                        condition: cond.clone(),
                        repeat,
                        golden: golden_path(&st.model, pattern, cond.accept.golden.as_deref()),
                        tolerances: cond.accept.tolerances,
                        expected: cond.accept.expected.clone(),
                    });
                }
            }
        }
    }
    tracing::debug!(plan = %plan.name, cases = cases.len(), "plan expanded");
    cases
}

/// FNV-1a, 64 bit: a fixed hash (unlike std's, the same in every build and process).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The cases of shard `index` (1-based) of `count`: those whose id hashes (FNV-1a) to
/// `index - 1` modulo `count`, in their original order. A case's shard depends on its id
/// alone, so adding cases never moves others. An impossible shard (`count` 0 or `index`
/// outside 1..=count) is empty; [`parse_shard`] rejects those up front.
pub fn shard(cases: Vec<CaseSpec>, index: u32, count: u32) -> Vec<CaseSpec> {
    if count == 0 || index == 0 || index > count {
        return Vec::new();
    }
    let want = u64::from(index - 1);
    cases
        .into_iter()
        .filter(|c| fnv1a64(c.id.as_bytes()) % u64::from(count) == want)
        .collect()
}

/// Parses a `--shard` argument, `I/N` with 1 ≤ I ≤ N.
pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("shard \"{s}\": expected I/N with 1 <= I <= N, e.g. 2/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: u32 = i.trim().parse().map_err(|_| bad())?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn ids_and_golden_paths_have_their_documented_form() {
        assert_eq!(
            case_id("sim-80mm", PatternKind::DenseSparse, "low-voltage", 2),
            "sim-80mm/dense-sparse/low-voltage/r2"
        );
        assert_eq!(
            golden_path("sim-80mm", PatternKind::Solid, Some("cold")),
            PathBuf::from("golden/sim-80mm/solid@cold.json")
        );
        assert_eq!(
            golden_path("m", PatternKind::Receipt, None),
            PathBuf::from("golden/m/receipt.json")
        );
    }

    #[test]
    fn shard_arguments_are_checked() {
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        assert!(parse_shard("0/4").is_err());
        assert!(parse_shard("5/4").is_err());
        assert!(parse_shard("x").is_err());
        assert!(shard(Vec::new(), 1, 0).is_empty());
    }
}

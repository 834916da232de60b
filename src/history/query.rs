//! The questions asked of the history: the runs, newest first; one case's trend; a
//! station's drift (solid density and per-element coverage over time, per condition);
//! flaky cases (an exponentially weighted flip rate); new failures of the latest run.
//! Read only.

use super::{History, HistoryError};
use rusqlite::{params, Row};
use serde::Serialize;
use std::collections::BTreeMap;

/// The weight of the newest flip in the flip rate: each flip before it counts
/// `1 - FLIP_ALPHA` times as much as the one after it. One flip in the newest run gives
/// 0.2; two in the last two runs 0.36; a case that flips every run tends to 1.
pub const FLIP_ALPHA: f64 = 0.2;
/// The flip rate above which a case is flagged flaky.
pub const FLAKY_ABOVE: f64 = 0.3;

#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub run_id: String,
    pub started: String,
    pub ended: Option<String>,
    pub host: String,
    pub plan_name: Option<String>,
    pub shard: Option<String>,
    pub merged_from: Option<String>,
    pub verdict: String,
    pub exit_code: i64,
    pub interrupted: bool,
    pub cases: i64,
    pub pass: i64,
    pub marginal: i64,
    pub fail: i64,
    pub error: i64,
    pub aborted: i64,
    pub unfinished: i64,
    pub recovered: i64,
    pub dir: String,
}

const RUN_COLUMNS: &str = "run_id, started, ended, host, plan_name, shard, merged_from, verdict,
    exit_code, interrupted, cases, pass, marginal, fail, error, aborted, unfinished, recovered, dir";

fn run_row(r: &Row) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        run_id: r.get(0)?,
        started: r.get(1)?,
        ended: r.get(2)?,
        host: r.get(3)?,
        plan_name: r.get(4)?,
        shard: r.get(5)?,
        merged_from: r.get(6)?,
        verdict: r.get(7)?,
        exit_code: r.get(8)?,
        interrupted: r.get(9)?,
        cases: r.get(10)?,
        pass: r.get(11)?,
        marginal: r.get(12)?,
        fail: r.get(13)?,
        error: r.get(14)?,
        aborted: r.get(15)?,
        unfinished: r.get(16)?,
        recovered: r.get(17)?,
        dir: r.get(18)?,
    })
}

/// The runs, newest first (at most `limit`), of plan `plan` when given.
pub fn runs(h: &History, limit: usize, plan: Option<&str>) -> Result<Vec<RunRow>, HistoryError> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR plan_name = ?1)
         ORDER BY started DESC, run_id DESC LIMIT ?2"
    );
    let mut st = h.conn().prepare_cached(&sql).map_err(|e| h.sql(e))?;
    let rows = st
        .query_map(params![plan, limit as i64], run_row)
        .map_err(|e| h.sql(e))?;
    rows.collect::<Result<_, _>>().map_err(|e| h.sql(e))
}

/// The runs in which some case ran firmware `firmware` (of plan `plan` when given), oldest
/// first; a shard is left out when the run merged from it is there too, so that no print
/// counts twice.
pub fn runs_with_firmware(
    h: &History,
    firmware: &str,
    plan: Option<&str>,
) -> Result<Vec<RunRow>, HistoryError> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM runs
         WHERE run_id IN (SELECT run_id FROM cases WHERE firmware = ?1)
           AND (?2 IS NULL OR plan_name = ?2)
         ORDER BY started, run_id"
    );
    let mut st = h.conn().prepare_cached(&sql).map_err(|e| h.sql(e))?;
    let rows: Vec<RunRow> = st
        .query_map(params![firmware, plan], run_row)
        .map_err(|e| h.sql(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| h.sql(e))?;
    let merged: std::collections::HashSet<String> = rows
        .iter()
        .filter_map(|r| r.merged_from.as_deref())
        .flat_map(|m| m.split(',').map(str::to_string))
        .collect();
    Ok(rows
        .into_iter()
        .filter(|r| !merged.contains(&r.run_id))
        .collect())
}

/// One run of a case.
#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    pub run_id: String,
    pub started: String,
    /// None: the case did not finish in that run.
    pub verdict: Option<String>,
    pub firmware: Option<String>,
    pub attempts: i64,
    pub recovered: bool,
    pub solid_density: Option<f64>,
    pub column_mean: Option<f64>,
    pub column_min: Option<f64>,
    pub bands: BTreeMap<String, f64>,
}

/// Case `case`'s last `limit` runs, oldest first.
pub fn trend(h: &History, case: &str, limit: usize) -> Result<Vec<TrendPoint>, HistoryError> {
    let mut st = h
        .conn()
        .prepare_cached(
            "SELECT c.run_id, r.started, c.verdict, c.firmware, c.attempts, c.recovered,
                 c.solid_density, c.column_mean, c.column_min, c.bands
             FROM cases c JOIN runs r ON r.run_id = c.run_id
             WHERE c.case_id = ?1 ORDER BY r.started DESC, r.run_id DESC LIMIT ?2",
        )
        .map_err(|e| h.sql(e))?;
    let rows = st
        .query_map(params![case, limit as i64], |r| {
            let bands: Option<String> = r.get(9)?;
            Ok(TrendPoint {
                run_id: r.get(0)?,
                started: r.get(1)?,
                verdict: r.get(2)?,
                firmware: r.get(3)?,
                attempts: r.get(4)?,
                recovered: r.get(5)?,
                solid_density: r.get(6)?,
                column_mean: r.get(7)?,
                column_min: r.get(8)?,
                bands: bands
                    .and_then(|b| serde_json::from_str(&b).ok())
                    .unwrap_or_default(),
            })
        })
        .map_err(|e| h.sql(e))?;
    let mut v: Vec<TrendPoint> = rows.collect::<Result<_, _>>().map_err(|e| h.sql(e))?;
    if v.is_empty() {
        return Err(HistoryError::NoCase {
            case: case.to_string(),
        });
    }
    v.reverse();
    Ok(v)
}

/// One run of a station under one condition.
#[derive(Debug, Clone, Serialize)]
pub struct DriftPoint {
    pub run_id: String,
    pub started: String,
    pub firmware: Option<String>,
    /// Median solid density over the station's cases in the run.
    pub solid_density: Option<f64>,
    pub cases: usize,
    /// The weakest element's coverage (elements pattern), when measured.
    pub element_min: Option<f64>,
}

/// An element whose coverage moved most over the points.
#[derive(Debug, Clone, Serialize)]
pub struct ElementDrift {
    pub element: usize,
    pub first: f64,
    pub last: f64,
    pub change: f64,
}

/// A station's drift under one condition.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionDrift {
    pub condition: String,
    pub points: Vec<DriftPoint>,
    /// Least-squares slope of the solid density, per 30 days.
    pub density_per_30_days: Option<f64>,
    /// Last point's solid density over the first's, minus 1.
    pub density_change: Option<f64>,
    /// The elements that lost most coverage from the first run with an elements page to
    /// the last (up to 8, largest loss first).
    pub weakening_elements: Vec<ElementDrift>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StationDrift {
    pub station: String,
    pub model: String,
    pub conditions: Vec<ConditionDrift>,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Seconds since the epoch of an RFC 3339 time.
fn epoch_s(t: &str) -> Option<f64> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|d| d.unix_timestamp() as f64)
}

/// Least-squares slope of `(x, y)`.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Station `station`'s drift over its last `limit` runs, per condition.
pub fn station(h: &History, station: &str, limit: usize) -> Result<StationDrift, HistoryError> {
    // The station's last runs, then its cases in them.
    let mut st = h
        .conn()
        .prepare_cached(
            "SELECT c.run_id, r.started, c.condition, c.firmware, c.solid_density, c.elements,
                 c.model
             FROM cases c JOIN runs r ON r.run_id = c.run_id
             WHERE c.station = ?1 AND c.run_id IN (
                 SELECT DISTINCT c2.run_id FROM cases c2 JOIN runs r2 ON r2.run_id = c2.run_id
                 WHERE c2.station = ?1 ORDER BY r2.started DESC LIMIT ?2)
             ORDER BY r.started, c.run_id",
        )
        .map_err(|e| h.sql(e))?;
    type Raw = (
        String,
        String,
        String,
        Option<String>,
        Option<f64>,
        Option<String>,
        String,
    );
    let rows: Vec<Raw> = st
        .query_map(params![station, limit as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(|e| h.sql(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| h.sql(e))?;
    let Some(model) = rows.first().map(|r| r.6.clone()) else {
        return Err(HistoryError::NoStation {
            station: station.to_string(),
        });
    };
    // condition → run (in time order) → densities, element profiles.
    struct Acc {
        started: String,
        firmware: Option<String>,
        densities: Vec<f64>,
        elements: Vec<Vec<Option<f64>>>,
        cases: usize,
    }
    let mut by: BTreeMap<String, Vec<(String, Acc)>> = BTreeMap::new();
    for (run, started, condition, firmware, density, elements, _) in rows {
        let runs = by.entry(condition).or_default();
        if runs.last().map(|(r, _)| r != &run).unwrap_or(true) {
            runs.push((
                run.clone(),
                Acc {
                    started,
                    firmware: None,
                    densities: Vec::new(),
                    elements: Vec::new(),
                    cases: 0,
                },
            ));
        }
        if let Some((_, a)) = runs.last_mut() {
            a.cases += 1;
            a.firmware = a.firmware.take().or(firmware);
            a.densities.extend(density.filter(|d| d.is_finite()));
            if let Some(e) = elements.and_then(|e| serde_json::from_str(&e).ok()) {
                a.elements.push(e);
            }
        }
    }
    let mut conditions = Vec::new();
    for (condition, runs) in by {
        let mut points = Vec::new();
        let mut profiles: Vec<Vec<f64>> = Vec::new();
        for (run_id, mut a) in runs {
            // The run's element profile: the mean of its elements pages, per element.
            let profile: Option<Vec<f64>> = a.elements.first().map(|first| {
                (0..first.len())
                    .map(|i| {
                        let v: Vec<f64> = a
                            .elements
                            .iter()
                            .filter_map(|e| e.get(i).copied().flatten())
                            .collect();
                        if v.is_empty() {
                            f64::NAN
                        } else {
                            v.iter().sum::<f64>() / v.len() as f64
                        }
                    })
                    .collect()
            });
            let element_min = profile
                .as_ref()
                .and_then(|p| p.iter().copied().filter(|x| x.is_finite()).reduce(f64::min));
            profiles.extend(profile);
            points.push(DriftPoint {
                run_id,
                started: a.started,
                firmware: a.firmware,
                solid_density: median(&mut a.densities),
                cases: a.cases,
                element_min,
            });
        }
        let series: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| Some((epoch_s(&p.started)?, p.solid_density?)))
            .collect();
        let density_per_30_days = slope(&series).map(|s| s * 30.0 * 86_400.0);
        let density_change = match (series.first(), series.last()) {
            (Some(a), Some(b)) if series.len() > 1 && a.1 > 0.0 => Some(b.1 / a.1 - 1.0),
            _ => None,
        };
        let mut weakening = Vec::new();
        if let (Some(first), Some(last)) = (profiles.first(), profiles.last()) {
            if profiles.len() > 1 && first.len() == last.len() {
                for (i, (a, b)) in first.iter().zip(last).enumerate() {
                    if a.is_finite() && b.is_finite() && b < a {
                        weakening.push(ElementDrift {
                            element: i,
                            first: *a,
                            last: *b,
                            change: b - a,
                        });
                    }
                }
            }
        }
        weakening.sort_by(|a, b| a.change.total_cmp(&b.change));
        weakening.truncate(8);
        conditions.push(ConditionDrift {
            condition,
            points,
            density_per_30_days,
            density_change,
            weakening_elements: weakening,
        });
    }
    Ok(StationDrift {
        station: station.to_string(),
        model,
        conditions,
    })
}

/// A case whose verdict changes from run to run.
#[derive(Debug, Clone, Serialize)]
pub struct Flaky {
    pub case_id: String,
    /// Its verdicts in the window, oldest first.
    pub verdicts: Vec<String>,
    pub flips: usize,
    /// Exponentially weighted flip rate ([`FLIP_ALPHA`]).
    pub flip_rate: f64,
    pub flagged: bool,
}

/// The exponentially weighted rate of verdict changes along `verdicts` (oldest first).
pub fn flip_rate(verdicts: &[&str]) -> (usize, f64) {
    let mut rate = 0.0;
    let mut flips = 0;
    for w in verdicts.windows(2) {
        let flip = w[0] != w[1];
        flips += flip as usize;
        rate = FLIP_ALPHA * (flip as u8 as f64) + (1.0 - FLIP_ALPHA) * rate;
    }
    (flips, rate)
}

/// The ids of the last `window` runs (of plan `plan` when given), oldest first.
fn last_runs(
    h: &History,
    window: usize,
    plan: Option<&str>,
) -> Result<Vec<(String, String)>, HistoryError> {
    let mut st = h
        .conn()
        .prepare_cached(
            "SELECT run_id, started FROM runs WHERE (?1 IS NULL OR plan_name = ?1)
             ORDER BY started DESC, run_id DESC LIMIT ?2",
        )
        .map_err(|e| h.sql(e))?;
    let mut v: Vec<(String, String)> = st
        .query_map(params![plan, window as i64], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| h.sql(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| h.sql(e))?;
    v.reverse();
    Ok(v)
}

/// Cases whose verdict changed at least once over the last `window` runs, flip rate
/// first; `flagged` above `threshold`.
pub fn flaky(
    h: &History,
    window: usize,
    threshold: f64,
    plan: Option<&str>,
) -> Result<Vec<Flaky>, HistoryError> {
    let runs = last_runs(h, window, plan)?;
    let order: BTreeMap<&str, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, (r, _))| (r.as_str(), i))
        .collect();
    let mut seq: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    {
        let mut st = h
            .conn()
            .prepare_cached(
                "SELECT case_id, verdict FROM cases WHERE run_id = ?1 AND verdict IS NOT NULL",
            )
            .map_err(|e| h.sql(e))?;
        for (run, _) in &runs {
            let rows = st
                .query_map([run], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(|e| h.sql(e))?;
            for row in rows {
                let (case, verdict) = row.map_err(|e| h.sql(e))?;
                seq.entry(case)
                    .or_default()
                    .push((order[run.as_str()], verdict));
            }
        }
    }
    let mut out: Vec<Flaky> = seq
        .into_iter()
        .filter_map(|(case_id, mut v)| {
            v.sort_by_key(|(i, _)| *i);
            let verdicts: Vec<String> = v.into_iter().map(|(_, s)| s).collect();
            let refs: Vec<&str> = verdicts.iter().map(String::as_str).collect();
            let (flips, flip_rate) = flip_rate(&refs);
            (flips > 0).then_some(Flaky {
                case_id,
                flagged: flip_rate > threshold,
                verdicts,
                flips,
                flip_rate,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.flip_rate
            .total_cmp(&a.flip_rate)
            .then(a.case_id.cmp(&b.case_id))
    });
    Ok(out)
}

/// A case failing in the latest run.
#[derive(Debug, Clone, Serialize)]
pub struct Failing {
    pub case_id: String,
    pub verdict: String,
    /// Runs in a row (the latest included) in which the case failed.
    pub failing_for: usize,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewFailures {
    pub run: RunRow,
    /// The run before it (of the same plan).
    pub previous: Option<String>,
    /// Failing now and not in the run before (or not run then).
    pub new: Vec<Failing>,
    /// Failing now and in the run before too.
    pub still: Vec<Failing>,
}

fn failing(verdict: &str) -> bool {
    matches!(verdict, "fail" | "error" | "aborted")
}

/// The failures of the latest run (of plan `plan` when given) that were not failing in the
/// run before, and those failing for longer.
pub fn new_failures(h: &History, plan: Option<&str>) -> Result<Option<NewFailures>, HistoryError> {
    let Some(run) = runs(h, 1, plan)?.into_iter().next() else {
        return Ok(None);
    };
    let plan = plan.map(str::to_string).or(run.plan_name.clone());
    // The runs of the plan, newest first, up to and including the latest.
    let mut st = h
        .conn()
        .prepare_cached(
            "SELECT run_id FROM runs WHERE (?1 IS NULL OR plan_name = ?1) AND started <= ?2
             ORDER BY started DESC, run_id DESC",
        )
        .map_err(|e| h.sql(e))?;
    let order: Vec<String> = st
        .query_map(params![plan, run.started], |r| r.get(0))
        .map_err(|e| h.sql(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| h.sql(e))?;
    let previous = order.iter().find(|r| **r != run.run_id).cloned();
    let rank: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i))
        .collect();
    let mut now = h
        .conn()
        .prepare_cached(
            "SELECT case_id, verdict, reasons FROM cases WHERE run_id = ?1 AND verdict IS NOT NULL
             ORDER BY case_id",
        )
        .map_err(|e| h.sql(e))?;
    let failing_now: Vec<(String, String, String)> = now
        .query_map([&run.run_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(|e| h.sql(e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| h.sql(e))?
        .into_iter()
        .filter(|(_, v, _)| failing(v))
        .collect();
    let mut past = h
        .conn()
        .prepare_cached("SELECT run_id, verdict FROM cases WHERE case_id = ?1")
        .map_err(|e| h.sql(e))?;
    let mut out = NewFailures {
        run: run.clone(),
        previous: previous.clone(),
        new: Vec::new(),
        still: Vec::new(),
    };
    for (case_id, verdict, reasons) in failing_now {
        // The case's verdicts in the plan's runs, newest first.
        let mut v: Vec<(usize, Option<String>)> = past
            .query_map([&case_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(|e| h.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| h.sql(e))?
            .into_iter()
            .filter_map(|(run, v)| Some((*rank.get(run.as_str())?, v)))
            .collect();
        v.sort_by_key(|(i, _)| *i);
        let failing_for = v
            .iter()
            .take_while(|(_, v)| v.as_deref().is_some_and(failing))
            .count();
        let before = previous.as_ref().and_then(|p| {
            let i = rank.get(p.as_str())?;
            v.iter().find(|(j, _)| j == i).map(|(_, v)| v.clone())
        });
        let f = Failing {
            case_id,
            verdict,
            failing_for,
            reasons: serde_json::from_str(&reasons).unwrap_or_default(),
        };
        match before.flatten() {
            Some(b) if failing(&b) => out.still.push(f),
            _ => out.new.push(f),
        }
    }
    Ok(Some(out))
}

/// A run of a case in the report's trend strip: run id, verdict, solid density.
pub type StripPoint = (String, Option<String>, Option<f64>);

/// The last `n` verdicts and solid densities of a case up to the run started at
/// `until_started` (inclusive), oldest first: the report's trend strip.
pub fn strip(
    h: &History,
    case: &str,
    until_started: &str,
    n: usize,
) -> Result<Vec<StripPoint>, HistoryError> {
    let mut st = h
        .conn()
        .prepare_cached(
            "SELECT c.run_id, c.verdict, c.solid_density FROM cases c
             JOIN runs r ON r.run_id = c.run_id
             WHERE c.case_id = ?1 AND r.started <= ?2
             ORDER BY r.started DESC, r.run_id DESC LIMIT ?3",
        )
        .map_err(|e| h.sql(e))?;
    let mut v: Vec<StripPoint> = st
        .query_map(params![case, until_started, n as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(|e| h.sql(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| h.sql(e))?;
    v.reverse();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flip_rate_weighs_recent_flips_and_flags_a_case_that_keeps_flipping() {
        let steady = ["pass"; 10];
        assert_eq!(flip_rate(&steady), (0, 0.0));
        // A regression: one change, in the newest run: not flaky.
        let mut regressed = vec!["pass"; 9];
        regressed.push("fail");
        let (flips, rate) = flip_rate(&regressed);
        assert_eq!(flips, 1);
        assert!((rate - 0.2).abs() < 1e-12 && rate <= FLAKY_ABOVE);
        // Back and forth in the last three runs: flagged.
        let (_, rate) = flip_rate(&["pass", "pass", "pass", "fail", "pass"]);
        assert!(rate > FLAKY_ABOVE, "{rate}");
        // Flips long ago fade.
        let (flips, rate) = flip_rate(&[
            "pass", "fail", "pass", "fail", "pass", "pass", "pass", "pass", "pass", "pass", "pass",
            "pass",
        ]);
        assert_eq!(flips, 4);
        assert!(rate < FLAKY_ABOVE, "{rate}");
        // Every run: close to 1.
        let alternating: Vec<&str> = (0..30)
            .map(|i| if i % 2 == 0 { "pass" } else { "fail" })
            .collect();
        assert!(flip_rate(&alternating).1 > 0.99);
    }
}

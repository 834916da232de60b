//! The console answers of `rig history`: runs, a case's trend, a station's drift, flaky
//! cases, new failures, imports. Text only; the queries are `history::query`'s.

use crate::history::query::{Flaky, NewFailures, RunRow, StationDrift, TrendPoint};
use crate::history::Imported;
use std::fmt::Write;
use std::path::Path;

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.digits$}"))
}

/// The runs, newest first.
pub fn history_runs(runs: &[RunRow]) -> String {
    if runs.is_empty() {
        return "no runs in the history\n".into();
    }
    let mut s = format!(
        "{:<26} {:<20} {:<12} {:<9} {:>5} {:>5} {:>4} {:>4} {:>4} {:>5}  {}\n",
        "run",
        "started",
        "plan",
        "verdict",
        "cases",
        "pass",
        "marg",
        "fail",
        "err",
        "unfin",
        "shard/host"
    );
    for r in runs {
        let place = match (&r.shard, &r.merged_from) {
            (Some(sh), _) => format!("shard {sh} on {}", r.host),
            (None, Some(m)) => format!("merged from {}", m.split(',').count()),
            _ => r.host.clone(),
        };
        let _ = writeln!(
            s,
            "{:<26} {:<20} {:<12} {:<9} {:>5} {:>5} {:>4} {:>4} {:>4} {:>5}  {}",
            r.run_id,
            r.started.get(..19).unwrap_or(&r.started),
            r.plan_name.as_deref().unwrap_or("—"),
            if r.interrupted || r.ended.is_none() {
                format!("{}*", r.verdict)
            } else {
                r.verdict.clone()
            },
            r.cases,
            r.pass,
            r.marginal,
            r.fail,
            r.error + r.aborted,
            r.unfinished,
            place
        );
    }
    if runs.iter().any(|r| r.interrupted || r.ended.is_none()) {
        s.push_str("* interrupted or still running: verdict of the cases finished so far\n");
    }
    s
}

/// One case over its runs.
pub fn history_trend(case: &str, points: &[TrendPoint]) -> String {
    let mut s = format!("{case}: {} run(s), oldest first\n", points.len());
    let _ = writeln!(
        s,
        "{:<26} {:<20} {:<10} {:<12} {:>8} {:>8} {:>8}  bands",
        "run", "started", "verdict", "firmware", "solid", "col mean", "col min"
    );
    for p in points {
        let bands: Vec<String> = p.bands.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
        let _ = writeln!(
            s,
            "{:<26} {:<20} {:<10} {:<12} {:>8} {:>8} {:>8}  {}",
            p.run_id,
            p.started.get(..19).unwrap_or(&p.started),
            p.verdict.as_deref().unwrap_or("unfinished"),
            crate::util::printable(p.firmware.as_deref().unwrap_or("—")),
            opt(p.solid_density, 3),
            opt(p.column_mean, 3),
            opt(p.column_min, 3),
            bands.join(", ")
        );
    }
    s
}

/// A station's drift, per condition.
pub fn history_station(d: &StationDrift) -> String {
    let mut s = format!("station {} ({})\n", d.station, d.model);
    for c in &d.conditions {
        let _ = writeln!(
            s,
            "\n  condition {}: {} run(s); solid density {} per 30 days, {} first to last",
            c.condition,
            c.points.len(),
            c.density_per_30_days
                .map_or("—".into(), |x| format!("{x:+.3}")),
            c.density_change
                .map_or("—".into(), |x| format!("{:+.1} %", x * 100.0)),
        );
        for p in &c.points {
            let _ = writeln!(
                s,
                "    {:<26} {:<20} solid {:>6}  weakest element {:>6}  {} case(s)  {}",
                p.run_id,
                p.started.get(..19).unwrap_or(&p.started),
                opt(p.solid_density, 3),
                opt(p.element_min, 3),
                p.cases,
                crate::util::printable(p.firmware.as_deref().unwrap_or(""))
            );
        }
        if !c.weakening_elements.is_empty() {
            let e: Vec<String> = c
                .weakening_elements
                .iter()
                .map(|e| format!("{} {:.2}→{:.2}", e.element, e.first, e.last))
                .collect();
            let _ = writeln!(s, "    elements losing most: {}", e.join(", "));
        }
    }
    s
}

/// Flaky cases.
pub fn history_flaky(f: &[Flaky], window: usize, threshold: f64) -> String {
    let flagged = f.iter().filter(|x| x.flagged).count();
    let mut s = format!(
        "{} case(s) changed verdict in the last {window} run(s); {flagged} flaky (flip rate above {threshold})\n",
        f.len()
    );
    for x in f {
        let _ = writeln!(
            s,
            "{} {:<40} flip rate {:.2}, {} flip(s): {}",
            if x.flagged { "FLAKY" } else { "     " },
            x.case_id,
            x.flip_rate,
            x.flips,
            x.verdicts.join(" ")
        );
    }
    s
}

/// New failures of the latest run.
pub fn history_new(n: Option<&NewFailures>) -> String {
    let Some(n) = n else {
        return "no runs in the history\n".into();
    };
    let mut s = format!(
        "latest run {} ({}), before it {}\n",
        n.run.run_id,
        n.run.started.get(..19).unwrap_or(&n.run.started),
        n.previous.as_deref().unwrap_or("none")
    );
    let _ = writeln!(s, "{} new failure(s):", n.new.len());
    for f in &n.new {
        let _ = writeln!(
            s,
            "  {} {}: {}",
            f.verdict,
            f.case_id,
            f.reasons.first().map(String::as_str).unwrap_or("")
        );
    }
    let _ = writeln!(s, "{} failing before too:", n.still.len());
    for f in &n.still {
        let _ = writeln!(
            s,
            "  {} {}: failing for {} run(s)",
            f.verdict, f.case_id, f.failing_for
        );
    }
    s
}

/// What `rig history import` did.
pub fn history_imported(done: &[Imported], history: &Path) -> String {
    let mut s = String::new();
    for d in done {
        let _ = writeln!(
            s,
            "{} {} ({} cases) from {}",
            if d.added { "imported" } else { "already held" },
            d.run_id,
            d.cases,
            d.dir.display()
        );
    }
    let _ = writeln!(s, "history: {}", history.display());
    s
}

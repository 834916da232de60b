//! `rig gate`'s answer for people and CI servers: a console table, Markdown for a pull
//! request (regressions first, with their numbers and intervals) and JUnit XML (one
//! testcase per pair). Renders a [`GateReport`]; decides nothing.

use super::junit::escape;
use crate::gate::compare::{severity, Unit};
use crate::gate::stats::Decision;
use crate::gate::{GateReport, MetricResult, PairResult};
use std::fmt::Write;

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Regression => "REGRESSION",
        Decision::Inconclusive => "inconclusive",
        Decision::Equivalent => "equivalent",
        Decision::Improvement => "improvement",
    }
}

/// A side's value of a metric, as a person reads it.
fn side_value(m: &MetricResult, baseline: bool) -> String {
    let s = if baseline { &m.baseline } else { &m.candidate };
    match (m.unit, s.count, s.mean) {
        (Unit::Prints, Some(k), _) => format!("{k}/{}", s.n),
        (_, _, Some(mean)) if !m.mean_unit.is_empty() => {
            format!("{mean:.2} {} (n={})", m.mean_unit, s.n)
        }
        (_, _, Some(mean)) => format!("{mean:.3} (n={})", s.n),
        _ => format!("n={}", s.n),
    }
}

fn change(m: &MetricResult) -> String {
    let f = |x: f64| match m.unit {
        Unit::Relative => format!("{:+.1} %", 100.0 * x),
        Unit::Coverage => format!("{x:+.3}"),
        Unit::Prints => format!("{:+.0} %", 100.0 * x),
    };
    match (m.diff, m.lo, m.hi) {
        (Some(d), Some(lo), Some(hi)) => format!("{} [{}, {}]", f(d), f(lo), f(hi)),
        (Some(d), _, _) => match m.p {
            Some(p) => format!("{} (p={p:.3})", f(d)),
            None => f(d),
        },
        _ => "—".into(),
    }
}

fn margin(m: &MetricResult) -> String {
    match (m.unit, m.margin) {
        (Unit::Relative, Some(x)) => format!("{:.1} %", 100.0 * x),
        (_, Some(x)) => format!("{x:.3}"),
        (_, None) => "exact".into(),
    }
}

/// The metrics of a pair worth a line: every one that is not plainly equivalent, or all
/// of them with `all`.
fn shown(p: &PairResult, all: bool) -> Vec<&MetricResult> {
    let mut v: Vec<&MetricResult> = p
        .metrics
        .iter()
        .filter(|m| all || m.decision != Decision::Equivalent)
        .collect();
    v.sort_by_key(|m| severity(m.decision));
    v
}

fn headline(r: &GateReport) -> String {
    format!(
        "gate: {} — {} pair(s): {} regression, {} inconclusive, {} equivalent, {} improvement",
        r.outcome.name().to_uppercase(),
        r.pairs.len(),
        r.counts.regression,
        r.counts.inconclusive,
        r.counts.equivalent,
        r.counts.improvement
    )
}

fn sides_line(r: &GateReport) -> String {
    let side = |s: &crate::gate::compare::SideSummary| {
        format!(
            "firmware {} ({} run(s), {} print(s))",
            if s.firmware.is_empty() {
                "?".into()
            } else {
                crate::util::printable(&s.firmware.join(", ")).into_owned()
            },
            s.runs.len(),
            s.prints
        )
    };
    format!(
        "plan {}: baseline {} · candidate {}",
        r.plan,
        side(&r.baseline),
        side(&r.candidate)
    )
}

/// The console table: every pair with its decision, and under it each metric that is not
/// plainly equivalent (every metric with `all`).
pub fn console(r: &GateReport, all: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", sides_line(r));
    let mut pairs: Vec<&PairResult> = r.pairs.iter().collect();
    pairs.sort_by_key(|p| severity(p.decision));
    let width = pairs.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in pairs {
        let _ = writeln!(
            out,
            "{:<width$}  {}",
            p.name,
            decision_name(p.decision),
            width = width
        );
        for m in shown(p, all) {
            let _ = writeln!(
                out,
                "    {:<34} {:<13} base {:<16} cand {:<16} {:<28} margin {}",
                m.metric,
                decision_name(m.decision),
                side_value(m, true),
                side_value(m, false),
                change(m),
                margin(m)
            );
            if m.decision != Decision::Equivalent {
                let _ = writeln!(out, "      {}", m.detail);
            }
        }
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out, "{}", headline(r));
    out
}

/// Markdown for a pull request: the answer, the regressions first with their numbers,
/// then what is undecided, then a table of every pair.
pub fn markdown(r: &GateReport) -> String {
    let mut out = String::new();
    let icon = match r.outcome {
        crate::gate::Outcome::NoRegression => "✅",
        crate::gate::Outcome::Regression => "❌",
        crate::gate::Outcome::Inconclusive => "⚠️",
    };
    let _ = writeln!(out, "## {icon} Firmware gate: {}\n", r.outcome.name());
    let _ = writeln!(out, "{}\n", sides_line(r).replace(" · ", "  \n"));
    for (title, d) in [
        ("Regressions", Decision::Regression),
        ("Inconclusive", Decision::Inconclusive),
    ] {
        let rows: Vec<(&PairResult, &MetricResult)> = r
            .pairs
            .iter()
            .flat_map(|p| p.metrics.iter().map(move |m| (p, m)))
            .filter(|(_, m)| m.decision == d)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {title}\n");
        let _ = writeln!(
            out,
            "| pair | metric | baseline | candidate | change [interval] | margin | detail |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for (p, m) in rows {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                p.name,
                m.metric,
                side_value(m, true),
                side_value(m, false),
                change(m),
                margin(m),
                m.detail.replace('|', "\\|")
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "### Every pair\n");
    let _ = writeln!(out, "| pair | decision | metrics |");
    let _ = writeln!(out, "|---|---|---|");
    for p in &r.pairs {
        let parts: Vec<String> = Decision::WORST_FIRST
            .iter()
            .filter_map(|d| {
                let n = p.metrics.iter().filter(|m| m.decision == *d).count();
                (n > 0).then(|| format!("{n} {}", d.name()))
            })
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            p.name,
            decision_name(p.decision),
            parts.join(", ")
        );
    }
    if !r.notes.is_empty() {
        let _ = writeln!(out);
        for n in &r.notes {
            let _ = writeln!(out, "- {}", n.replace('|', "\\|"));
        }
    }
    let _ = writeln!(
        out,
        "\n<sub>{:.0} % confidence; margins: solid density {:.1} %, band density {:.1} %, column mean {:.3}, per dot {:.2}, per element {:.2}, print time {:.0} % (at least {:.2} s). printrig {}</sub>",
        100.0 * r.margins.confidence,
        100.0 * r.margins.density,
        100.0 * r.margins.band_density,
        r.margins.column_mean,
        r.margins.column,
        r.margins.element,
        100.0 * r.margins.print_time,
        r.margins.print_time_s,
        crate::VERSION
    );
    out
}

/// JUnit XML: one testcase per pair; a regression is a failure, an undecided pair is
/// skipped with the reason, every metric a property.
pub fn junit(r: &GateReport) -> String {
    let mut out = String::new();
    let failures = r.counts.regression;
    let skipped = r.counts.inconclusive;
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<testsuites name="rig gate" tests="{}" failures="{failures}" errors="0" skipped="{skipped}">"#,
        r.pairs.len()
    );
    let _ = writeln!(
        out,
        r#"  <testsuite name="gate {}" tests="{}" failures="{failures}" errors="0" skipped="{skipped}">"#,
        escape(&r.plan),
        r.pairs.len()
    );
    let _ = writeln!(out, "    <properties>");
    for (name, v) in [
        ("baseline.firmware", r.baseline.firmware.join(",")),
        ("candidate.firmware", r.candidate.firmware.join(",")),
        ("outcome", r.outcome.name().to_string()),
    ] {
        let _ = writeln!(
            out,
            r#"      <property name="{name}" value="{}"/>"#,
            escape(&v)
        );
    }
    let _ = writeln!(out, "    </properties>");
    for p in &r.pairs {
        let class = format!("gate.{}", p.key.model);
        let _ = writeln!(
            out,
            r#"    <testcase classname="{}" name="{}">"#,
            escape(&class),
            escape(&p.name)
        );
        let _ = writeln!(out, "      <properties>");
        for m in &p.metrics {
            let _ = writeln!(
                out,
                r#"        <property name="{}" value="{}"/>"#,
                escape(&m.metric),
                escape(&format!("{}: {}", decision_name(m.decision), change(m)))
            );
        }
        let _ = writeln!(out, "      </properties>");
        let lines = |d: Decision| -> String {
            p.metrics
                .iter()
                .filter(|m| m.decision == d)
                .map(|m| format!("{}: {} — {}", m.metric, change(m), m.detail))
                .collect::<Vec<_>>()
                .join("\n")
        };
        match p.decision {
            Decision::Regression => {
                let text = lines(Decision::Regression);
                let first = text.lines().next().unwrap_or_default().to_string();
                let _ = writeln!(
                    out,
                    r#"      <failure message="{}" type="regression">{}</failure>"#,
                    escape(&first),
                    escape(&text)
                );
            }
            Decision::Inconclusive => {
                let _ = writeln!(
                    out,
                    r#"      <skipped message="{}"/>"#,
                    escape(&format!("inconclusive: {}", lines(Decision::Inconclusive)))
                );
            }
            _ => {}
        }
        let _ = writeln!(out, "    </testcase>");
    }
    let _ = writeln!(out, "  </testsuite>");
    let _ = writeln!(out, "</testsuites>");
    out
}

/// The whole answer as JSON.
pub fn json(r: &GateReport) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

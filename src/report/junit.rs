//! JUnit XML of a run: a testsuite per station, a testcase per case. A printer that fell
//! short is a `failure`, a rig fault (instrument, link, scanner) an `error`, an unfinished
//! case `skipped`; earlier attempts of a retried case are `flakyFailure`/`flakyError` (it
//! passed in the end) or `rerunFailure`/`rerunError` (it did not), as Maven Surefire writes
//! them. Properties carry model, firmware and condition.

use crate::record::results::{CaseResult, RunResults};
use crate::verdict::Verdict;
use std::collections::BTreeMap;

/// `s` as XML (and HTML) text or attribute: markup characters as entities, control
/// characters escaped as `util::printable_lines` shows them (line breaks kept).
pub fn escape(s: &str) -> String {
    let s = crate::util::printable_lines(s);
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn prop(name: &str, value: &str) -> String {
    format!(
        "<property name=\"{}\" value=\"{}\"/>",
        escape(name),
        escape(value)
    )
}

fn case_xml(c: &CaseResult) -> String {
    let name = format!("{}/{}/r{}", c.info.pattern, c.info.condition, c.info.repeat);
    let mut s = format!(
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\">\n      <properties>{}{}{}{}</properties>\n",
        escape(&name),
        escape(&c.info.station),
        c.duration_s,
        prop("model", &c.info.model),
        prop("firmware", c.firmware.as_deref().unwrap_or("unknown")),
        prop("condition", &c.info.condition),
        prop("attempts", &c.attempts.len().to_string()),
    );
    let body = c.reasons.join("\n");
    let first = c.reasons.first().cloned().unwrap_or_default();
    match c.verdict {
        Some(Verdict::Fail) => s.push_str(&format!(
            "      <failure type=\"fail\" message=\"{}\">{}</failure>\n",
            escape(&first),
            escape(&body)
        )),
        Some(Verdict::Error) | Some(Verdict::Aborted) => {
            let msg = c.error.clone().unwrap_or(first);
            s.push_str(&format!(
                "      <error type=\"{}\" message=\"{}\">{}</error>\n",
                c.verdict.map(|v| v.name()).unwrap_or("error"),
                escape(&msg),
                escape(&body)
            ))
        }
        None => s.push_str("      <skipped message=\"not finished: resume the run\"/>\n"),
        Some(Verdict::Pass) | Some(Verdict::Marginal) => {}
    }
    // Earlier attempts, as Maven Surefire writes reruns (and CI servers read them): under
    // a case that passed in the end each is a flakyFailure (or flakyError); under one that
    // did not, a rerunFailure (or rerunError).
    let finished = matches!(c.verdict, Some(Verdict::Pass) | Some(Verdict::Marginal));
    let last = c.attempts.iter().rev().find(|a| a.ended).map(|a| a.attempt);
    for a in c
        .attempts
        .iter()
        .filter(|a| a.ended && Some(a.attempt) != last)
    {
        let element = match (finished, a.verdict) {
            (true, Verdict::Fail) => "flakyFailure",
            (true, _) => "flakyError",
            (false, Verdict::Fail) => "rerunFailure",
            (false, _) => "rerunError",
        };
        let message = a
            .error
            .clone()
            .or_else(|| a.reasons.first().cloned())
            .unwrap_or_default();
        s.push_str(&format!(
            "      <{element} type=\"{}\" message=\"{}\"><stackTrace>{}</stackTrace><system-out>attempt {}</system-out></{element}>\n",
            a.verdict.name(),
            escape(&message),
            escape(&a.reasons.join("\n")),
            a.attempt
        ));
    }
    let mut out = Vec::new();
    if c.verdict == Some(Verdict::Marginal) {
        out.push(format!("marginal: {body}"));
    }
    if c.recovered {
        out.push(format!("recovered on attempt {}", c.attempts.len()));
    }
    if !out.is_empty() {
        s.push_str(&format!(
            "      <system-out>{}</system-out>\n",
            escape(&out.join("\n"))
        ));
    }
    s.push_str("    </testcase>\n");
    s
}

/// The junit.xml document.
pub fn render(r: &RunResults) -> String {
    let mut by_station: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for c in &r.cases {
        by_station.entry(&c.info.station).or_default().push(c);
    }
    let count = |cs: &[&CaseResult], f: &dyn Fn(Option<Verdict>) -> bool| {
        cs.iter().filter(|c| f(c.verdict)).count()
    };
    let is_fail = |v: Option<Verdict>| v == Some(Verdict::Fail);
    let is_err = |v: Option<Verdict>| matches!(v, Some(Verdict::Error) | Some(Verdict::Aborted));
    let is_skip = |v: Option<Verdict>| v.is_none();
    let all: Vec<&CaseResult> = r.cases.iter().collect();
    let total_time: f64 = r.cases.iter().map(|c| c.duration_s).sum();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"printrig run {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n",
        escape(&r.run_id),
        all.len(),
        count(&all, &is_fail),
        count(&all, &is_err),
        count(&all, &is_skip),
        total_time
    );
    for (station, cases) in &by_station {
        let time: f64 = cases.iter().map(|c| c.duration_s).sum();
        s.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\" timestamp=\"{}\">\n",
            escape(station),
            cases.len(),
            count(cases, &is_fail),
            count(cases, &is_err),
            count(cases, &is_skip),
            time,
            escape(&r.started),
        ));
        s.push_str(&format!(
            "    <properties>{}{}</properties>\n",
            prop(
                "model",
                cases.first().map(|c| c.info.model.as_str()).unwrap_or("")
            ),
            prop(
                "firmware",
                r.firmware
                    .get(*station)
                    .map(String::as_str)
                    .unwrap_or("unknown")
            )
        ));
        for c in cases {
            s.push_str(&case_xml(c));
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{CaseInfo, Event, FileRef};

    fn case(id: &str) -> CaseInfo {
        CaseInfo {
            id: format!("st/{id}/nominal/r1"),
            station: "st".into(),
            model: "m".into(),
            dots: 384,
            pattern: id.into(),
            condition: "nominal".into(),
            repeat: 1,
        }
    }

    fn end(id: &str, attempt: u32, verdict: Verdict, last: bool, recovered: bool) -> Event {
        Event::CaseEnd {
            time: "2026-12-01T00:00:00Z".into(),
            case: format!("st/{id}/nominal/r1"),
            attempt,
            verdict,
            last,
            recovered,
            reasons: vec![format!("attempt {attempt}: {}", verdict.name())],
            defects: Vec::new(),
            error: None,
        }
    }

    fn start(id: &str, attempt: u32) -> Event {
        Event::CaseStart {
            time: "2026-12-01T00:00:00Z".into(),
            case: format!("st/{id}/nominal/r1"),
            attempt,
        }
    }

    #[test]
    fn retries_are_written_as_surefire_writes_reruns() {
        let events = vec![
            Event::RunStart {
                time: "2026-12-01T00:00:00Z".into(),
                run_id: "r".into(),
                tool_version: "0".into(),
                host: "h".into(),
                plan: FileRef {
                    path: "p".into(),
                    sha256: "0".into(),
                },
                plan_name: None,
                plan_description: None,
                stations: Vec::new(),
                shard: None,
                cases: vec![case("solid"), case("ladder"), case("receipt")],
                plan_cases: Vec::new(),
                merged_from: Vec::new(),
                gate: None,
                golden: None,
                firmware: None,
            },
            // Failed, then passed: flaky.
            start("solid", 1),
            end("solid", 1, Verdict::Fail, false, false),
            start("solid", 2),
            end("solid", 2, Verdict::Pass, true, true),
            // Failed twice: a failure with a rerun.
            start("ladder", 1),
            end("ladder", 1, Verdict::Fail, false, false),
            start("ladder", 2),
            end("ladder", 2, Verdict::Fail, true, false),
            // Passed at once: nothing extra.
            start("receipt", 1),
            end("receipt", 1, Verdict::Pass, true, false),
        ];
        let xml = render(&crate::record::results::from_events(&events));
        let testcase = |name: &str| {
            let at = xml
                .find(&format!("name=\"{name}/nominal/r1\""))
                .expect(name);
            let rest = &xml[at..];
            rest[..rest.find("</testcase>").expect("end")].to_string()
        };
        let solid = testcase("solid");
        assert!(solid.contains("<flakyFailure type=\"fail\" message=\"attempt 1: fail\">"));
        assert!(!solid.contains("<failure") && !solid.contains("rerun"));
        let ladder = testcase("ladder");
        assert!(ladder.contains("<failure type=\"fail\" message=\"attempt 2: fail\">"));
        assert!(ladder.contains("<rerunFailure type=\"fail\" message=\"attempt 1: fail\">"));
        assert!(!ladder.contains("flaky"));
        let receipt = testcase("receipt");
        assert!(!receipt.contains("flaky") && !receipt.contains("rerun"));
        assert!(xml.contains("failures=\"1\""));
    }
}

//! Everything the user reads: the console summary of an analysis, its JSON, the overlay
//! picture of a scan with its defects marked, a run's report files (read from its record)
//! and the console progress of a run. Formats only; no measuring, no judging, and it
//! never imports `run`: a run's results are read through `record`.

pub mod files;
pub mod gate;
pub mod history;
pub mod html;
pub mod junit;
pub mod overlay;
pub mod progress;

pub use history::{
    history_flaky, history_imported, history_new, history_runs, history_station, history_trend,
};

use crate::analysis::{Analysis, Axis};
use crate::golden::Judgement;
use crate::util::printable;
use serde::Serialize;

/// The analysis JSON document: what was measured, with the page's defects as judged
/// (the analysis' own and those judging found), then the verdict.
#[derive(Serialize)]
struct AnalysisDoc<'a> {
    schema: &'static str,
    pattern: &'a crate::analysis::PatternInfo,
    scan: &'a crate::analysis::ScanInfo,
    registration: &'a Option<crate::analysis::RegistrationInfo>,
    id: &'a crate::analysis::IdInfo,
    calibration: &'a Option<crate::analysis::CalibrationInfo>,
    bands: &'a [crate::analysis::BandMeasure],
    profiles: &'a Option<crate::analysis::Profiles>,
    printed_rows: Option<u32>,
    expected_rows: u32,
    defects: &'a [crate::analysis::Defect],
    notes: &'a [String],
    scanner_streaks: &'a [crate::analysis::streaks::Streak],
    verdict: crate::verdict::Verdict,
    reasons: &'a [String],
    density_reference: Option<DensityRef>,
    golden: &'a Option<crate::golden::Comparison>,
}

#[derive(Serialize)]
struct DensityRef {
    density: f64,
    source: &'static str,
}

/// The analysis JSON (schema in docs/analysis-json.md).
pub fn analysis_json(a: &Analysis, j: &Judgement) -> String {
    let Analysis {
        schema,
        pattern,
        scan,
        registration,
        id,
        calibration,
        bands,
        profiles,
        printed_rows,
        expected_rows,
        defects: _,
        notes,
        scanner_streaks,
    } = a;
    let doc = AnalysisDoc {
        schema,
        pattern,
        scan,
        registration,
        id,
        calibration,
        bands,
        profiles,
        printed_rows: *printed_rows,
        expected_rows: *expected_rows,
        defects: &j.defects,
        notes,
        scanner_streaks,
        verdict: j.verdict,
        reasons: &j.reasons,
        density_reference: j
            .density_reference
            .map(|(density, source)| DensityRef { density, source }),
        golden: &j.golden,
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

fn place(axis: Axis, start: u32, end: u32) -> String {
    match axis {
        Axis::Columns if start == end => format!("dot {start}"),
        Axis::Columns => format!("dots {start}–{end}"),
        Axis::Rows => format!("rows {start}–{end}"),
        Axis::Page => "whole page".into(),
    }
}

/// A short human summary of an analysis and its judgement.
pub fn analysis_summary(a: &Analysis, j: &Judgement) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{} at {} dots: {}\n",
        a.pattern.name,
        a.pattern.dots,
        j.verdict.name().to_uppercase()
    ));
    if let Some(r) = &a.registration {
        s.push_str(&format!(
            "  registered on {}/{} marks ({}): {:.0}×{:.0} dpi, rotation {:+.2}°, residual {:.2} dots\n",
            r.fiducials_found, r.fiducials_expected, r.model, r.dpi_x, r.dpi_y, r.rotation_deg, r.residual_dots
        ));
    }
    match (&a.id.read, a.id.matches) {
        (Some(id), Some(true)) => s.push_str(&format!(
            "  pattern id: {} {} serial {} (matches)\n",
            id.kind, id.dots, id.serial
        )),
        (Some(id), _) => s.push_str(&format!(
            "  pattern id: {} {} serial {} (DOES NOT MATCH)\n",
            id.kind, id.dots, id.serial
        )),
        (None, _) if a.registration.is_some() => s.push_str("  pattern id: unreadable\n"),
        _ => {}
    }
    if let Some(c) = &a.calibration {
        s.push_str(&format!(
            "  paper {:.0}, solid {:.0} (density {:.2})",
            c.white, c.solid, c.solid_density
        ));
        if let Some((d, from)) = j.density_reference {
            s.push_str(&format!(", {from} density {d:.2}"));
        }
        s.push('\n');
    }
    if let (Some(p), e) = (a.printed_rows, a.expected_rows) {
        s.push_str(&format!("  printed length: {p} of {e} rows\n"));
    }
    if j.defects.is_empty() {
        s.push_str("  no defects\n");
    }
    for d in &j.defects {
        let side = d
            .side
            .map(|x| format!(" on the {}", x.name()))
            .unwrap_or_default();
        s.push_str(&format!(
            "  {} {}{side}, {} — depth {:.2}, confidence {:.2}\n      {}\n      likely: {}\n",
            d.kind,
            match d.severity {
                crate::analysis::Severity::Fail => "FAIL",
                crate::analysis::Severity::Marginal => "marginal",
            },
            place(d.axis, d.start, d.end),
            d.depth,
            d.confidence,
            d.detail,
            d.hint
        ));
    }
    if let Some(g) = &j.golden {
        s.push_str(&format!(
            "  golden {}/{} (blessed {}): {} finding(s)",
            g.model,
            g.pattern,
            g.blessed_at,
            g.findings.len()
        ));
        if let Some(w) = g.worst_column_deficit {
            s.push_str(&format!(", worst column deficit {w:.2}"));
        }
        s.push('\n');
        for f in &g.findings {
            s.push_str(&format!("    {}\n", f.detail));
        }
    }
    for n in &a.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s
}

/// The `rig patterns list` table.
pub fn patterns_table() -> String {
    let mut s = String::from("pattern       reveals / what it is\n");
    for k in crate::pattern::PatternKind::ALL {
        let reveals: Vec<&str> = k.reveals().iter().map(|d| d.name()).collect();
        s.push_str(&format!(
            "{:<13} {}\n{:<13} {}\n",
            k.name(),
            k.description(),
            "",
            reveals.join(", ")
        ));
    }
    s.push_str(
        "\nwidths: any multiple of 8 from 256 to 2048 dots (384 = 58 mm, 576 = 80 mm at 203 dpi)\n",
    );
    s
}

/// One line per page the simulated printer produced, and why it stopped early if it did.
pub fn print_summary(out: &crate::sim::PrintOutcome, files: &[std::path::PathBuf]) -> String {
    let mut s = String::new();
    for ((w, h), f) in out.page_sizes.iter().zip(files) {
        s.push_str(&format!("page {w}×{h} dots → {}\n", f.display()));
    }
    if out.page_sizes.is_empty() {
        s.push_str("nothing came out of the printer\n");
    }
    s.push_str(&format!(
        "process ids acknowledged: {}\n",
        out.acknowledged.len()
    ));
    if let Some(stop) = &out.stop {
        s.push_str(&match stop {
            crate::sim::Stop::PowerCut { offset } => format!("power cut after byte {offset}: the rest of the job was lost\n"),
            crate::sim::Stop::Brownout { offset } => format!("supply brownout at the command at byte {offset}: the printer reset, the rest of the job was lost\n"),
            crate::sim::Stop::OutOfInk { offset } => format!("out of ink at the command at byte {offset}: the print stops there\n"),
            crate::sim::Stop::PaperEnd { offset } => format!("paper end at the command at byte {offset}: the roll ran out, the print stops there\n"),
        });
    }
    if out.head.pauses > 0 {
        s.push_str(&format!(
            "head over temperature: paused {} time(s)\n",
            out.head.pauses
        ));
    }
    s
}

/// `rig patterns render`: what was written.
pub fn rendered(layout: &crate::pattern::Layout, out: &std::path::Path) -> String {
    format!(
        "{} at {} dots: {}×{} → {}\n",
        layout.kind,
        layout.dots,
        layout.dots,
        layout.rows,
        out.display()
    )
}

/// `rig patterns escpos`: the job's size, bands and real-time hazards.
pub fn encoded(
    layout: &crate::pattern::Layout,
    job: &crate::escpos::encode::Job,
    out: &std::path::Path,
) -> String {
    format!(
        "{} at {} dots: {} bytes, {} band(s), {} real-time hazard(s) → {}\n",
        layout.kind,
        layout.dots,
        job.bytes.len(),
        job.bands.len(),
        job.realtime_hazards.len(),
        out.display()
    )
}

/// `rig sim scan`: what was written.
pub fn scanned(img: &image::GrayImage, dpi: f64, skew: f64, out: &std::path::Path) -> String {
    format!(
        "scan {}×{} at {dpi} dpi, skew {skew:+}° → {}\n",
        img.width(),
        img.height(),
        out.display()
    )
}

/// `rig golden bless`: the record written and, when one was replaced, what changed.
pub fn blessed(
    g: &crate::golden::Golden,
    old: Option<&crate::golden::Golden>,
    out: &std::path::Path,
) -> String {
    let mut s = format!(
        "blessed {} {} at {} dots (solid density {:.3}) → {}\n",
        g.model,
        g.pattern,
        g.dots,
        g.solid_density,
        out.display()
    );
    if let Some(old) = old {
        s.push_str("replaced the previous record; what changed:\n");
        for line in crate::golden::describe_changes(old, g) {
            s.push_str(&format!("  {line}\n"));
        }
    }
    s
}

/// `rig golden capture`: per model and pattern, the pending record written and what it
/// changes, or why nothing was written.
pub fn captured(c: &crate::golden::pending::Capture) -> String {
    let mut s = String::new();
    for x in &c.captured {
        match &x.outcome {
            Ok(p) => {
                s.push_str(&format!(
                    "{} {} ({} copies from {}): pending {} (solid density {:.3})\n",
                    x.model,
                    x.pattern.name(),
                    p.scans.len(),
                    x.station,
                    p.path.display(),
                    p.record.solid_density
                ));
                match &p.current {
                    Some(old) => {
                        for line in crate::golden::describe_changes(old, &p.record) {
                            s.push_str(&format!("  against the record in use: {line}\n"));
                        }
                    }
                    None => s.push_str("  no record in use yet\n"),
                }
            }
            Err(why) => s.push_str(&format!(
                "{} {} on {}: nothing written: {why}\n",
                x.model,
                x.pattern.name(),
                x.station
            )),
        }
    }
    for (st, by) in &c.skipped {
        s.push_str(&format!(
            "station {st} skipped: its model is captured on {by}\n"
        ));
    }
    if c.captured.iter().any(|x| x.outcome.is_ok()) {
        s.push_str("review with `rig golden review`, then `rig golden accept`\n");
    }
    s
}

/// `rig golden review`: a pending record against the record in use.
pub fn pending_review(r: &crate::golden::pending::Review) -> String {
    let g = &r.record;
    let mut s = format!(
        "{}: {} {} at {} dots, {} copies, solid density {:.3}, blessed {}\n",
        r.pending.display(),
        g.model,
        g.pattern,
        g.dots,
        g.provenance.copies.len().max(1),
        g.solid_density,
        g.provenance.blessed_at
    );
    match &r.current {
        Some(old) => {
            for line in crate::golden::describe_changes(old, g) {
                s.push_str(&format!("  {line}\n"));
            }
        }
        None => s.push_str("  new: no record in use yet\n"),
    }
    s
}

/// `rig golden accept`: one pending record accepted.
pub fn accepted(from: &std::path::Path, to: &std::path::Path, replaced: bool) -> String {
    format!(
        "accepted {} → {}{}\n",
        from.display(),
        to.display(),
        if replaced {
            " (replacing the record in use)"
        } else {
            ""
        }
    )
}

/// A duration for people: `45 s`, `12 min`, `7 h 30 min`.
fn span(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=119 => format!("{s} s"),
        120..=5999 => format!("{} min", (s + 30) / 60),
        _ => {
            let m = (s + 30) / 60;
            match m % 60 {
                0 => format!("{} h", m / 60),
                r => format!("{} h {r} min", m / 60),
            }
        }
    }
}

/// What a run will take, printed before it starts (and by `rig estimate`).
pub fn estimate(e: &crate::plan::estimate::Estimate) -> String {
    let mut s = format!(
        "plan: {} cases on {} station(s); at most {} if every step of every attempt ran to its timeout\n",
        e.cases(),
        e.stations.len(),
        span(e.worst_wall_s())
    );
    for st in &e.stations {
        s.push_str(&format!("  {}: {} cases", st.station, st.cases));
        if st.soaks > 0 {
            s.push_str(&format!(
                ", {} chamber soak(s) holding {} (ramps not counted; a soak per case would be {} holding {})",
                st.soaks,
                span(st.soak_wall_s),
                st.soaks_per_case,
                span(st.soak_wall_per_case_s)
            ));
        }
        s.push_str(&format!(", at most {}\n", span(st.worst_wall_s)));
    }
    s
}

/// What every station's instruments said they are when the run started, one line each,
/// shown escaped (`util::printable`) whatever they sent.
pub fn instruments(stations: &[(String, Vec<crate::record::InstrumentAnswer>)]) -> String {
    let mut s = String::new();
    for (station, said) in stations {
        for a in said {
            s.push_str(&format!(
                "  {station} {}: {}\n",
                a.instrument,
                printable(&a.answer)
            ));
        }
    }
    if !s.is_empty() {
        s.insert_str(0, "instruments:\n");
    }
    s
}

/// `rig verify`: what was checked, and every artifact that does not match its journal.
pub fn verified(
    r: &crate::record::results::RunResults,
    checked: &crate::record::Verified,
    dir: &std::path::Path,
) -> String {
    if checked.ok() {
        return format!(
            "run {} ({}): all {} artifacts match the sha256 recorded in its journal\n",
            r.run_id,
            dir.display(),
            checked.artifacts
        );
    }
    let mut s = format!(
        "run {} ({}): {} of {} artifacts do not match the sha256 recorded in its journal\n",
        r.run_id,
        dir.display(),
        checked.problems.len(),
        checked.artifacts
    );
    for p in &checked.problems {
        s.push_str(&format!("  {p}\n"));
    }
    s
}

/// The end-of-run console lines: the verdict and counts, one line per case that did not
/// pass, and where report.html is.
pub fn run_summary(r: &crate::record::results::RunResults, dir: &std::path::Path) -> String {
    let c = &r.counts;
    let mut s = format!(
        "run {}: {} — {} cases: {} pass, {} marginal, {} fail, {} error, {} aborted, {} unfinished",
        r.run_id,
        r.verdict.name().to_uppercase(),
        c.cases,
        c.pass,
        c.marginal,
        c.fail,
        c.error,
        c.aborted,
        c.unfinished
    );
    if c.recovered > 0 {
        s.push_str(&format!(" ({} recovered on retry)", c.recovered));
    }
    s.push('\n');
    for k in &r.skipped {
        s.push_str(&format!(
            "  skipped    {}: {} (not read, not in the manifest)\n",
            printable(&k.path),
            k.why
        ));
    }
    for case in &r.cases {
        let v = case.verdict;
        if matches!(v, Some(crate::verdict::Verdict::Pass)) {
            continue;
        }
        let why = case
            .error
            .clone()
            .or_else(|| case.reasons.first().cloned())
            .unwrap_or_else(|| "not finished".into());
        s.push_str(&format!(
            "  {:<10} {}: {}\n",
            v.map(|v| v.name()).unwrap_or("unfinished"),
            case.info.id,
            printable(&why)
        ));
    }
    s.push_str(&format!("report: {}\n", dir.join("report.html").display()));
    s
}

/// Where a simulated station listens (`rig sim station`).
pub fn sim_station_lines(s: &crate::sim::station::SimStation) -> String {
    let spec = s.spec();
    let mut out = format!(
        "station {} ({}, {} dots)\n",
        spec.name, spec.model, spec.dots
    );
    if let Some(p) = s.printer_pty() {
        out.push_str(&format!("  printer pty      {}\n", p.display()));
    }
    if let Some(a) = s.printer_tcp() {
        out.push_str(&format!("  printer tcp      {a}\n"));
        if let Some(p) = spec.printer_port.filter(|&p| p != a.port()) {
            out.push_str(&format!(
                "                   (port {p} was taken: the next free one)\n"
            ));
        }
    }
    out.push_str(&format!("  psu (SCPI)       {}\n", s.psu()));
    out.push_str(&format!("  chamber (SCPI)   {}\n", s.chamber()));
    out.push_str(&format!("  control          {}\n", s.control()));
    out.push_str(&format!("  scans            {}\n", s.scan_dir().display()));
    out
}

//! report.html: one self-contained page (no network): a summary table, and per case the
//! column-coverage plot against the golden band (inline SVG), the scan thumbnail with the
//! defects marked (inline PNG) and the likely causes.

use super::junit::escape;
use crate::record::results::{CaseResult, RunResults};
use crate::verdict::Verdict;
use std::collections::BTreeMap;

/// What the page shows of one case beyond the journal: read from its artifacts.
#[derive(Debug, Clone, Default)]
pub struct CaseView {
    /// Measured relative column coverage.
    pub columns: Option<Vec<f64>>,
    /// The band the columns were judged in.
    pub band: Option<BandView>,
    /// Where the page differs from its golden record.
    pub findings: Vec<FindingView>,
    /// Thumbnail PNG with the defects marked (of the attempt the verdict is about).
    pub thumbnail: Option<Picture>,
    /// The attempt's pages before the one the verdict is about (a power cut's torn
    /// first page): page number and thumbnail.
    pub earlier_pages: Vec<(u32, Picture)>,
    /// The thumbnails of the case's other attempts, by attempt number.
    pub attempt_thumbnails: BTreeMap<u32, Picture>,
    /// The case's last runs from the history, oldest first (empty without a history).
    pub trend: Vec<TrendMark>,
}

/// A picture of the page: in the report itself, or beside it in the run directory (a
/// large run's passing cases, so the report stays a size a browser opens).
#[derive(Debug, Clone)]
pub enum Picture {
    Embedded(Vec<u8>),
    /// Path relative to the run directory.
    Linked(String),
}

impl Picture {
    /// The `src` of an `img` showing it.
    fn src(&self) -> String {
        match self {
            Picture::Embedded(png) => {
                format!("data:image/png;base64,{}", crate::util::base64::encode(png))
            }
            Picture::Linked(rel) => escape(rel),
        }
    }
}

/// One run of a case in its trend strip.
#[derive(Debug, Clone, Default)]
pub struct TrendMark {
    pub run_id: String,
    /// None: the case did not finish in that run.
    pub verdict: Option<String>,
    pub solid_density: Option<f64>,
    /// The run this report is of.
    pub this: bool,
}

/// The golden band of the coverage plot, per dot, as the case was judged.
#[derive(Debug, Clone, Default)]
pub struct BandView {
    /// What the record expects, on the page's scale.
    pub expected: Vec<f64>,
    /// Coverage below which a column is marginal, and below which it fails.
    pub marginal_below: Vec<f64>,
    pub fail_below: Vec<f64>,
    /// The deficit limits the page was judged with.
    pub marginal: f64,
    pub fail: f64,
}

/// One golden finding, as the page shows it.
#[derive(Debug, Clone, Default)]
pub struct FindingView {
    /// "columns", "rows", "elements", "band" or "density".
    pub what: String,
    pub start: Option<u32>,
    pub end: Option<u32>,
    pub fail: bool,
    pub detail: String,
}

/// Defects that fail a case, and those the condition expects.
const FAILED: &str = "#c53030";
const EXPECTED: &str = "#2c7a7b";
/// Golden findings: framed, in the overlay's blue.
const GOLDEN_FINDING: &str = "#1e5ae6";

fn colour(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Pass) => "#1b7f3b",
        Some(Verdict::Marginal) => "#b7791f",
        Some(Verdict::Fail) => "#c53030",
        Some(Verdict::Error) | Some(Verdict::Aborted) => "#6b46c1",
        None => "#718096",
    }
}

fn verdict_name(v: Option<Verdict>) -> &'static str {
    v.map(|v| v.name()).unwrap_or("unfinished")
}

/// The column-coverage plot: golden band shaded, measured line, defects marked.
pub fn coverage_svg(view: &CaseView, case: &CaseResult) -> Option<String> {
    let cols = view.columns.as_ref()?;
    let n = cols.len();
    if n < 2 {
        return None;
    }
    let (w, h, l, r, t, b) = (720.0, 190.0, 44.0, 10.0, 10.0, 26.0);
    let x = |c: f64| l + (w - l - r) * c / (n - 1) as f64;
    let y = |v: f64| t + (h - t - b) * (1.0 - v.clamp(0.0, 1.25) / 1.25);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"column coverage\">"
    );
    s.push_str(&format!(
        "<rect x=\"{l}\" y=\"{t}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
        w - l - r,
        h - t - b
    ));
    for v in [0.0, 0.5, 1.0] {
        s.push_str(&format!(
            "<line x1=\"{l}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#e2e2e2\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{v:.1}</text>",
            w - r,
            l - 4.0,
            y(v) + 3.0,
            y0 = y(v)
        ));
    }
    for d in &case.defects {
        if d.axis == crate::defect::Axis::Columns {
            // Expected defects (the condition's own) are tinted apart from failures.
            let (fill, note) = if d.expected {
                (EXPECTED, " (expected)")
            } else {
                (FAILED, "")
            };
            s.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{t}\" width=\"{:.1}\" height=\"{}\" fill=\"{fill}\" fill-opacity=\"0.22\"><title>{}</title></rect>",
                x(d.start as f64),
                (x(d.end as f64 + 1.0) - x(d.start as f64)).max(1.5),
                h - t - b,
                escape(&format!("{} dots {}–{}{note}", d.kind, d.start, d.end))
            ));
        }
    }
    // Golden findings along the columns, framed.
    for f in view
        .findings
        .iter()
        .filter(|f| f.what == "columns" || f.what == "elements")
    {
        let (Some(a), Some(e)) = (f.start, f.end) else {
            continue;
        };
        s.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"{GOLDEN_FINDING}\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\"><title>golden {} ({}): {}</title></rect>",
            x(a as f64) - 1.0,
            t + 1.0,
            (x(e as f64 + 1.0) - x(a as f64)).max(1.5) + 2.0,
            h - t - b - 2.0,
            escape(&f.what),
            if f.fail { "fail" } else { "marginal" },
            escape(&f.detail)
        ));
    }
    // Keep the drawing small: at most ~720 points.
    let step = n.div_ceil(720).max(1);
    if let Some(band) = view
        .band
        .as_ref()
        .filter(|g| g.expected.len() == n && g.marginal_below.len() == n && g.fail_below.len() == n)
    {
        let line = |v: &[f64], up: f64| -> Vec<String> {
            (0..n)
                .step_by(step)
                .filter(|&c| v[c].is_finite())
                .map(|c| format!("{:.1},{:.1}", x(c as f64), y(v[c] + up)))
                .collect()
        };
        // Shaded from the marginal limit up to as far above the record.
        let up = line(&band.expected, band.marginal);
        let mut down = line(&band.marginal_below, 0.0);
        down.reverse();
        s.push_str(&format!(
            "<polygon points=\"{} {}\" fill=\"#3182ce\" fill-opacity=\"0.2\" stroke=\"none\"><title>golden band: marginal more than {:.2} below the record</title></polygon>",
            up.join(" "),
            down.join(" "),
            band.marginal
        ));
        s.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#3182ce\" stroke-width=\"1\"><title>golden</title></polyline>",
            line(&band.expected, 0.0).join(" ")
        ));
        s.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{FAILED}\" stroke-width=\"1\" stroke-dasharray=\"3 3\"><title>fails below {:.2} under golden</title></polyline>",
            line(&band.fail_below, 0.0).join(" "),
            band.fail
        ));
    }
    let pts: Vec<String> = (0..n)
        .step_by(step)
        .filter(|&c| cols[c].is_finite())
        .map(|c| format!("{:.1},{:.1}", x(c as f64), y(cols[c])))
        .collect();
    s.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#1a202c\" stroke-width=\"1.2\"/>",
        pts.join(" ")
    ));
    s.push_str(&format!(
        "<text x=\"{l}\" y=\"{}\" font-size=\"10\">dot 0</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">dot {}</text>",
        h - 8.0,
        w - r,
        h - 8.0,
        n - 1
    ));
    // Axis titles and a legend.
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">printer dot column</text>",
        (l + w - r) / 2.0,
        h - 8.0
    ));
    s.push_str(&format!(
        "<text transform=\"translate(11 {:.1}) rotate(-90)\" font-size=\"10\" text-anchor=\"middle\">coverage</text>",
        (t + h - b) / 2.0
    ));
    let marginal = view
        .band
        .as_ref()
        .map_or(String::new(), |b| format!("golden band ±{:.2}", b.marginal));
    let mut legend = vec![("line", "#1a202c", "measured".to_string())];
    if view.band.is_some() {
        legend.push(("band", "#3182ce", marginal));
        legend.push(("dash", FAILED, "fail limit".to_string()));
    }
    legend.push(("band", FAILED, "defect".to_string()));
    legend.push(("band", EXPECTED, "expected defect".to_string()));
    if view
        .findings
        .iter()
        .any(|f| f.what == "columns" || f.what == "elements")
    {
        legend.push(("frame", GOLDEN_FINDING, "golden finding".to_string()));
    }
    let mut lx = l + 8.0;
    for (kind, colour, label) in legend {
        if kind == "line" || kind == "dash" {
            s.push_str(&format!(
                "<line x1=\"{lx:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"1.5\"{}/>",
                lx + 14.0,
                t + 10.0,
                t + 10.0,
                if kind == "dash" { " stroke-dasharray=\"3 3\"" } else { "" }
            ));
        } else if kind == "frame" {
            s.push_str(&format!(
                "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"14\" height=\"8\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/>",
                t + 6.0
            ));
        } else {
            s.push_str(&format!(
                "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"14\" height=\"8\" fill=\"{colour}\" fill-opacity=\"0.3\"/>",
                t + 6.0
            ));
        }
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{label}</text>",
            lx + 18.0,
            t + 13.5
        ));
        lx += 18.0 + 6.2 * label.len() as f64 + 14.0;
    }
    s.push_str("</svg>");
    Some(s)
}

/// The whole page.
pub fn render(r: &RunResults, views: &BTreeMap<String, CaseView>) -> String {
    let mut s = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    s.push_str(&format!(
        "<title>printrig run {}</title><style>body{{font-family:system-ui,sans-serif;margin:24px;color:#1a202c}}table{{border-collapse:collapse;margin:10px 0}}td,th{{border:1px solid #ddd;padding:4px 8px;font-size:13px;text-align:left}}.v{{color:#fff;padding:2px 6px;border-radius:3px}}section{{margin:24px 0;border-top:1px solid #ddd;padding-top:12px}}.hint{{color:#4a5568;font-size:13px}}img{{border:1px solid #ccc;max-width:360px}}figure{{margin:0}}.row{{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}}li.expected{{color:#4a5568}}a.v{{text-decoration:none;display:inline-block;margin:1px}}table.matrix td{{white-space:nowrap}}table.attempts{{margin-top:8px}}</style></head><body>",
        escape(&r.run_id)
    ));
    s.push_str(&format!(
        "<h1>printrig run {}</h1><p>verdict <span class=\"v\" style=\"background:{}\">{}</span> · {} cases: {} pass, {} marginal, {} fail, {} error, {} aborted, {} unfinished ({} recovered on retry) · started {} · printrig {} on {}</p>",
        escape(&r.run_id),
        colour(Some(r.verdict)),
        r.verdict.name(),
        r.counts.cases,
        r.counts.pass,
        r.counts.marginal,
        r.counts.fail,
        r.counts.error,
        r.counts.aborted,
        r.counts.unfinished,
        r.counts.recovered,
        escape(&r.started),
        escape(&r.tool_version),
        escape(&r.host)
    ));
    if let Some(p) = &r.plan {
        let name = r
            .plan_name
            .as_deref()
            .map_or(String::new(), |n| format!("<b>{}</b> · ", escape(n)));
        let description = r
            .plan_description
            .as_deref()
            .map_or(String::new(), |d| format!("<br>{}", escape(d)));
        s.push_str(&format!(
            "<p class=\"plan\">plan {name}<span class=\"hint\">{} (sha256 {})</span>{description}</p>",
            escape(&p.path),
            escape(p.sha256.get(..16).unwrap_or(""))
        ));
    }
    let stations: Vec<String> = r
        .stations
        .iter()
        .map(|f| format!("{} (sha256 {})", f.path, f.sha256.get(..16).unwrap_or("")))
        .collect();
    s.push_str(&format!(
        "<p class=\"hint\">stations {} · {} · {}</p>",
        escape(&stations.join(", ")),
        escape(&duration_text(&r.started, r.ended.as_deref())),
        match (r.resumed, r.interrupted) {
            (_, true) => "interrupted: resume with rig run --resume".to_string(),
            (0, false) => "not resumed".to_string(),
            (n, false) => format!("resumed {n} time(s) after an interrupt"),
        }
    ));
    if !r.instruments.is_empty() {
        s.push_str("<table class=\"instruments\"><tr><th>station</th><th>instrument</th><th>says it is</th></tr>");
        for (station, said) in &r.instruments {
            for a in said {
                s.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(station),
                    escape(&a.instrument),
                    escape(&a.answer)
                ));
            }
        }
        s.push_str("</table>");
    }
    matrix_html(&mut s, r);
    s.push_str("<table><tr><th>case</th><th>station</th><th>firmware</th><th>verdict</th><th>defects</th><th>attempts</th></tr>");
    for c in failures_first(r) {
        let defects: Vec<String> = c
            .defects
            .iter()
            .map(|d| {
                if d.expected {
                    format!("{} (expected)", d.kind)
                } else {
                    d.kind.to_string()
                }
            })
            .collect();
        s.push_str(&format!(
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td><span class=\"v\" style=\"background:{}\">{}</span>{}</td><td>{}</td><td>{}</td></tr>",
            anchor(&c.info.id),
            escape(&c.info.id),
            escape(&c.info.station),
            escape(c.firmware.as_deref().unwrap_or("")),
            colour(c.verdict),
            verdict_name(c.verdict),
            if c.recovered { " recovered" } else { "" },
            escape(&defects.join(", ")),
            c.attempts.len()
        ));
    }
    s.push_str("</table>");
    for c in failures_first(r) {
        let view = views.get(&c.info.id).cloned().unwrap_or_default();
        s.push_str(&format!(
            "<section id=\"{}\"><h2>{} <span class=\"v\" style=\"background:{}\">{}</span></h2>",
            anchor(&c.info.id),
            escape(&c.info.id),
            colour(c.verdict),
            verdict_name(c.verdict)
        ));
        s.push_str(&format!(
            "<p class=\"hint\">{} · {} dots · pattern {} · condition {} · {:.1} s</p>",
            escape(&c.info.model),
            c.info.dots,
            escape(&c.info.pattern),
            escape(&c.info.condition),
            c.duration_s
        ));
        s.push_str(&trend_html(&view.trend));
        s.push_str("<div class=\"row\"><div>");
        match coverage_svg(&view, c) {
            Some(svg) => s.push_str(&svg),
            None => s.push_str(
                "<p class=\"hint\">no column-coverage plot: this pattern has no full-width bands (content is compared row by row with its golden record)</p>",
            ),
        }
        s.push_str("</div>");
        // A power cut's torn first page, then the page the verdict is about.
        let pages = view.earlier_pages.len() as u32 + 1;
        for (page, png) in &view.earlier_pages {
            s.push_str(&format!(
                "<figure><img alt=\"page {page} of {}\" src=\"{}\" loading=\"lazy\"><figcaption class=\"hint\">page {page} of {pages}{}</figcaption></figure>",
                escape(&c.info.id),
                png.src(),
                page_note(c, *page)
            ));
        }
        if let Some(png) = &view.thumbnail {
            let mut marks = vec!["red/orange: defects"];
            if c.defects.iter().any(|d| d.expected) {
                marks.push("teal: expected");
            }
            if view.findings.iter().any(|f| f.start.is_some()) {
                marks.push("blue frames: golden findings");
            }
            let marks = marks.join(" · ");
            let page = if pages > 1 {
                format!("page {pages} of {pages} · ")
            } else {
                String::new()
            };
            s.push_str(&format!(
                "<figure><img alt=\"scan of {}\" src=\"{}\" loading=\"lazy\"><figcaption class=\"hint\">{page}{marks}</figcaption></figure>",
                escape(&c.info.id),
                png.src()
            ));
        }
        s.push_str("</div>");
        if let Some(stress) = c.measurements.get("stress.applied").and_then(stress_text) {
            s.push_str(&format!(
                "<p class=\"hint\">as printed: {}</p>",
                escape(&stress)
            ));
        }
        if let Some(e) = &c.error {
            s.push_str(&format!("<p><b>rig error:</b> {}</p>", escape(e)));
        }
        // Every reason of a verdict other than pass, golden findings included.
        if !matches!(c.verdict, Some(Verdict::Pass)) && !c.reasons.is_empty() {
            s.push_str("<p><b>why:</b></p><ul class=\"reasons\">");
            for r in &c.reasons {
                s.push_str(&format!("<li>{}</li>", escape(r)));
            }
            s.push_str("</ul>");
        }
        if !c.defects.is_empty() {
            s.push_str("<ul>");
            for d in &c.defects {
                s.push_str(&format!(
                    "<li{}><b>{}</b>{} {} {}–{}: {}<br><span class=\"hint\">likely: {}</span></li>",
                    if d.expected {
                        " class=\"expected\""
                    } else {
                        ""
                    },
                    escape(d.kind.name()),
                    if d.expected { " (expected here)" } else { "" },
                    escape(d.axis.name()),
                    d.start,
                    d.end,
                    escape(&d.detail),
                    escape(&d.hint)
                ));
            }
            s.push_str("</ul>");
        }
        attempts_html(&mut s, c, &view);
        s.push_str("</section>");
    }
    s.push_str("</body></html>\n");
    s
}

/// The trend strip of a case: a square per run coloured by its verdict (this run framed),
/// and the solid density's sparkline.
fn trend_html(trend: &[TrendMark]) -> String {
    if trend.is_empty() {
        return String::new();
    }
    let (cell, h) = (14.0, 16.0);
    let w = cell * trend.len() as f64;
    let mut s = format!(
        "<div class=\"trend\"><span class=\"hint\">last {} run(s):</span> <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"verdicts of the last runs\">",
        trend.len()
    );
    for (i, t) in trend.iter().enumerate() {
        let v = t.verdict.as_deref().and_then(Verdict::from_name);
        s.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"2\" width=\"{:.1}\" height=\"12\" fill=\"{}\"{}><title>{} {}</title></rect>",
            i as f64 * cell + 1.0,
            cell - 2.0,
            colour(v),
            if t.this { " stroke=\"#1a202c\" stroke-width=\"2\"" } else { "" },
            escape(&t.run_id),
            verdict_name(v)
        ));
    }
    s.push_str("</svg>");
    let d: Vec<(usize, f64)> = trend
        .iter()
        .enumerate()
        .filter_map(|(i, t)| Some((i, t.solid_density.filter(|d| d.is_finite())?)))
        .collect();
    if d.len() > 1 {
        let lo = d.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = d.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let span = (hi - lo).max(0.02);
        let pts: Vec<String> = d
            .iter()
            .map(|(i, v)| {
                format!(
                    "{:.1},{:.1}",
                    *i as f64 * cell + cell / 2.0,
                    2.0 + 12.0 * (1.0 - (v - lo) / span)
                )
            })
            .collect();
        s.push_str(&format!(
            " <span class=\"hint\">solid density {lo:.2}–{hi:.2}:</span> <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"solid density of the last runs\"><polyline points=\"{}\" fill=\"none\" stroke=\"#3182ce\" stroke-width=\"1.5\"/></svg>",
            pts.join(" ")
        ));
    }
    s.push_str("</div>");
    s
}

/// What the analysis found on one page of a case: its verdict and defects.
fn page_note(c: &CaseResult, page: u32) -> String {
    let Some(m) = c.measurements.get(&format!("page.{page}")) else {
        return String::new();
    };
    let verdict = m.get("verdict").and_then(|v| v.as_str()).unwrap_or("");
    let defects: Vec<&str> = m
        .get("defects")
        .and_then(|d| d.as_array())
        .map(|d| d.iter().filter_map(|k| k.as_str()).collect())
        .unwrap_or_default();
    match (verdict, defects.is_empty()) {
        ("", _) => String::new(),
        (v, true) => format!(" · {v}"),
        (v, false) => format!(" · {v}: {}", defects.join(", ")),
    }
}

/// Every attempt of a case: its verdict, reasons and links to the files it wrote (each in
/// its own folder), and the pages of the attempts before the one the verdict is about.
fn attempts_html(s: &mut String, c: &CaseResult, view: &CaseView) {
    if c.attempts.is_empty() {
        return;
    }
    s.push_str("<table class=\"attempts\"><tr><th>attempt</th><th>verdict</th><th>reasons</th><th>files</th></tr>");
    for a in &c.attempts {
        let verdict = if a.ended {
            a.verdict.name()
        } else {
            "interrupted"
        };
        let files: Vec<String> = a
            .files
            .iter()
            .map(|f| {
                let name = f.rsplit('/').next().unwrap_or(f);
                format!("<a href=\"{}\">{}</a>", escape(f), escape(name))
            })
            .collect();
        s.push_str(&format!(
            "<tr><td>#{}</td><td><span class=\"v\" style=\"background:{}\">{}</span></td><td>{}</td><td>{}</td></tr>",
            a.attempt,
            colour(a.ended.then_some(a.verdict)),
            verdict,
            escape(&a.reasons.join("; ")),
            files.join(" · ")
        ));
    }
    s.push_str("</table>");
    if !view.attempt_thumbnails.is_empty() {
        s.push_str("<div class=\"row\">");
        for (n, png) in &view.attempt_thumbnails {
            s.push_str(&format!(
                "<figure><img alt=\"attempt {n} of {}\" src=\"{}\" loading=\"lazy\"><figcaption class=\"hint\">attempt #{n}</figcaption></figure>",
                escape(&c.info.id),
                png.src()
            ));
        }
        s.push_str("</div>");
    }
}

/// The stress read back before the job (`stress.applied`), in words.
fn stress_text(v: &serde_json::Value) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(p) = v.get("power") {
        match (
            p.get("volts").and_then(|x| x.as_f64()),
            p.get("amps").and_then(|x| x.as_f64()),
        ) {
            (Some(volts), Some(amps)) => parts.push(format!("supply {volts:.2} V, {amps:.2} A")),
            _ => {
                if let Some(e) = p.get("error").and_then(|x| x.as_str()) {
                    parts.push(format!("supply not read ({e})"));
                }
            }
        }
    }
    if let Some(c) = v.get("chamber") {
        match c.get("celsius").and_then(|x| x.as_f64()) {
            Some(t) => parts.push(format!("chamber {t:.1} °C")),
            None => {
                if let Some(e) = c.get("error").and_then(|x| x.as_str()) {
                    parts.push(format!("chamber not read ({e})"));
                }
            }
        }
    }
    for (key, what) in [("ink_set", "ink"), ("paper_set", "paper")] {
        if let Some(x) = v.get(key).and_then(|x| x.as_f64()) {
            parts.push(format!("{what} set to {:.0} %", x * 100.0));
        }
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// Cases that did not pass first (fail, error, aborted, unfinished, marginal), then the
/// rest, each group in plan order.
fn failures_first(r: &RunResults) -> Vec<&CaseResult> {
    let rank = |v: Option<Verdict>| match v {
        Some(Verdict::Fail) => 0,
        Some(Verdict::Error) | Some(Verdict::Aborted) | None => 1,
        Some(Verdict::Marginal) => 2,
        Some(Verdict::Pass) => 3,
    };
    let mut v: Vec<&CaseResult> = r.cases.iter().collect();
    v.sort_by_key(|c| rank(c.verdict));
    v
}

/// From the run's start to its end (or "still running / interrupted").
fn duration_text(started: &str, ended: Option<&str>) -> String {
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;
    let parse = |t: &str| OffsetDateTime::parse(t, &Rfc3339).ok();
    match (parse(started), ended.and_then(parse)) {
        (Some(a), Some(b)) => {
            let secs = (b - a).as_seconds_f64().max(0.0);
            format!("ran {:.0} min {:.0} s", (secs / 60.0).floor(), secs % 60.0)
        }
        _ => "not ended".to_string(),
    }
}

/// Per station, a pattern × condition matrix of verdicts (repeats side by side), each a
/// link to its case.
fn matrix_html(s: &mut String, r: &RunResults) {
    let mut stations: Vec<&str> = Vec::new();
    for c in &r.cases {
        if !stations.contains(&c.info.station.as_str()) {
            stations.push(&c.info.station);
        }
    }
    for st in stations {
        let cases: Vec<&CaseResult> = r.cases.iter().filter(|c| c.info.station == st).collect();
        let mut patterns: Vec<&str> = Vec::new();
        let mut conditions: Vec<&str> = Vec::new();
        for c in &cases {
            if !patterns.contains(&c.info.pattern.as_str()) {
                patterns.push(&c.info.pattern);
            }
            if !conditions.contains(&c.info.condition.as_str()) {
                conditions.push(&c.info.condition);
            }
        }
        s.push_str(&format!(
            "<h3>{}</h3><table class=\"matrix\"><tr><th>pattern \\ condition</th>",
            escape(st)
        ));
        for cond in &conditions {
            s.push_str(&format!("<th>{}</th>", escape(cond)));
        }
        s.push_str("</tr>");
        for p in &patterns {
            s.push_str(&format!("<tr><th>{}</th>", escape(p)));
            for cond in &conditions {
                s.push_str("<td>");
                for c in cases
                    .iter()
                    .filter(|c| c.info.pattern == *p && c.info.condition == *cond)
                {
                    s.push_str(&format!(
                        "<a class=\"v\" style=\"background:{}\" href=\"#{}\" title=\"{}\">{}</a> ",
                        colour(c.verdict),
                        anchor(&c.info.id),
                        escape(&c.info.id),
                        verdict_name(c.verdict)
                    ));
                }
                s.push_str("</td>");
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>");
    }
}

fn anchor(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

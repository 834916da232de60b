//! Plan files: what to test (patterns, conditions, repeats, acceptance, retries,
//! timeouts), read from TOML into validated, typed structs and checked against the
//! stations they will run on.
//!
//! Owns [`Plan`], [`Condition`] and their parts, their defaults, and every check of a plan
//! (including "this station cannot do what this condition asks"). It must not expand the
//! matrix (that is `expand`) nor touch any instrument.

use super::read::{check_name, check_range, At, Diag, Span, Tab};
use super::station::{array_of_tables, Station, StationFile};
use super::PlanErrors;
use crate::defect::DefectKind;
use crate::golden::Tolerances;
use crate::pattern::PatternKind;
use crate::util::sha256_hex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A plan file, validated against a station file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The file as given to [`super::load_plan`].
    pub path: PathBuf,
    /// SHA-256 (hex) of the file's bytes, for provenance.
    pub sha256: String,
    pub name: String,
    pub description: Option<String>,
    /// The stations the plan runs on, in station-file order (every station of the file
    /// when the plan names none).
    pub stations: Vec<String>,
    /// Default patterns of every condition, in file order.
    pub patterns: Vec<PatternKind>,
    /// Repeats of every case (≥ 1).
    pub repeats: u32,
    /// Extra attempts for a case that errors or fails (0..=10).
    pub retries: u32,
    /// The verdict from which a case fails: `Fail` (the default), or `Marginal` for a plan
    /// that promises a model passes only when every case passes.
    pub fail_on: FailOn,
    pub timeouts: Timeouts,
    /// How much worse a candidate firmware may print than its baseline (`[plan.gate]`).
    #[serde(default)]
    pub gate: GateMargins,
    /// In file order; names are unique. A plan without conditions has one, `nominal`.
    pub conditions: Vec<Condition>,
}

impl Plan {
    /// The patterns a condition runs: its own list, or the plan's.
    pub fn patterns_for<'a>(&'a self, condition: &'a Condition) -> &'a [PatternKind] {
        condition.patterns.as_deref().unwrap_or(&self.patterns)
    }

    pub fn condition(&self, name: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.name == name)
    }
}

/// The verdict from which a case counts as failed (`fail_on` in `[plan]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Marginal cases pass the run (exit 0); only `fail` fails it.
    #[default]
    Fail,
    /// A marginal case is a failed case: it is retried like one and fails the run.
    Marginal,
}

/// Seconds allowed per step of a case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    /// Bringing the stress about (chamber soak included).
    pub arrange: f64,
    pub print: f64,
    pub scan: f64,
    pub analyze: f64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            arrange: 900.0,
            print: 120.0,
            scan: 180.0,
            analyze: 60.0,
        }
    }
}

/// The margins of `rig gate` (`[plan.gate]`): how much worse than its baseline a candidate
/// firmware may print before it is a regression, per metric, and the confidence of the
/// intervals. Defaults and how they were chosen: `docs/gate.md`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GateMargins {
    /// Solid optical density, relative (0.03: 3 % lighter).
    pub density: f64,
    /// A tint band's optical density, relative.
    pub band_density: f64,
    /// Mean column coverage, absolute.
    pub column_mean: f64,
    /// One column's coverage (every dot of the page), absolute.
    pub column: f64,
    /// One element's coverage (the elements pattern), absolute.
    pub element: f64,
    /// Print time, relative (0.25: a quarter slower) …
    pub print_time: f64,
    /// … but never less than this many seconds.
    pub print_time_s: f64,
    /// Two-sided confidence of every interval (0.90: two one-sided tests at 5 %).
    pub confidence: f64,
}

impl Default for GateMargins {
    fn default() -> Self {
        GateMargins {
            density: 0.03,
            band_density: 0.03,
            column_mean: 0.02,
            column: 0.10,
            element: 0.10,
            print_time: 0.25,
            print_time_s: 0.25,
            confidence: 0.90,
        }
    }
}

/// One set of circumstances a printer is tested under. No stress = nominal; several
/// stresses combine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// Unique within the plan, `[a-z0-9_-]+`.
    pub name: String,
    /// Overrides the plan's patterns.
    pub patterns: Option<Vec<PatternKind>>,
    pub power_cycle: Option<PowerCycle>,
    /// Supply voltage, volts.
    pub voltage: Option<f64>,
    pub chamber: Option<ChamberSoak>,
    /// Ink level 0..=1.
    pub ink: Option<f64>,
    /// Paper level 0..=1.
    pub paper: Option<f64>,
    pub accept: Accept,
}

impl Condition {
    /// A condition with no stress.
    pub fn nominal(name: &str) -> Condition {
        Condition {
            name: name.to_string(),
            patterns: None,
            power_cycle: None,
            voltage: None,
            chamber: None,
            ink: None,
            paper: None,
            accept: Accept::default(),
        }
    }

    /// Whether the condition stresses nothing.
    pub fn is_nominal(&self) -> bool {
        self.power_cycle.is_none()
            && self.voltage.is_none()
            && self.chamber.is_none()
            && self.ink.is_none()
            && self.paper.is_none()
    }
}

/// Switching the printer's power off and on around or during a job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerCycle {
    #[serde(flatten)]
    pub when: CycleWhen,
    /// How long the power stays off, seconds.
    pub off_s: f64,
    /// Send the job again once the printer is back (default true).
    pub resend: bool,
}

/// When the power is cycled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum CycleWhen {
    /// Before the job is sent.
    Before,
    /// While printing, once this fraction (0 < at < 1) of the job has been sent.
    During { at: f64 },
    /// After the job has printed.
    After,
}

/// A chamber setpoint and how the rig decides it has been reached.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChamberSoak {
    /// °C.
    pub setpoint: f64,
    /// Extra time at temperature before printing, seconds (≥ 0).
    pub soak_s: f64,
    /// The reading counts as at the setpoint within ± this many °C (> 0, default 1).
    pub tolerance: f64,
    /// The reading must stay within tolerance this long before the soak starts (≥ 0,
    /// default 0).
    pub hold_s: f64,
    /// Give up (a rig error) when the setpoint is not reached within this, seconds
    /// (default 3600).
    pub timeout_s: f64,
}

/// How a condition's prints are judged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Accept {
    /// Golden record suffix: `golden/<model>/<pattern>@<golden>.json` instead of the
    /// nominal `<pattern>.json`.
    pub golden: Option<String>,
    pub tolerances: TolerancesOverride,
    /// Defects expected on the first page (not counted against the printer).
    pub expected: Vec<DefectKind>,
}

/// Per-condition overrides of [`Tolerances`]; `None` keeps the golden record's value.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TolerancesOverride {
    pub column_marginal: Option<f64>,
    pub column_fail: Option<f64>,
    pub row_marginal: Option<f64>,
    pub row_fail: Option<f64>,
    pub row_run: Option<u32>,
    pub density_marginal: Option<f64>,
    pub density_fail: Option<f64>,
    pub band_marginal: Option<f64>,
    pub band_fail: Option<f64>,
    pub element_marginal: Option<f64>,
    pub element_fail: Option<f64>,
}

impl TolerancesOverride {
    /// `base` with every overridden field replaced.
    pub fn apply(&self, base: Tolerances) -> Tolerances {
        Tolerances {
            column_marginal: self.column_marginal.unwrap_or(base.column_marginal),
            column_fail: self.column_fail.unwrap_or(base.column_fail),
            row_marginal: self.row_marginal.unwrap_or(base.row_marginal),
            row_fail: self.row_fail.unwrap_or(base.row_fail),
            row_run: self.row_run.unwrap_or(base.row_run),
            density_marginal: self.density_marginal.unwrap_or(base.density_marginal),
            density_fail: self.density_fail.unwrap_or(base.density_fail),
            band_marginal: self.band_marginal.unwrap_or(base.band_marginal),
            band_fail: self.band_fail.unwrap_or(base.band_fail),
            element_marginal: self.element_marginal.unwrap_or(base.element_marginal),
            element_fail: self.element_fail.unwrap_or(base.element_fail),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == TolerancesOverride::default()
    }
}

/// The (marginal, fail) pairs of fractional tolerances, by key.
const TOLERANCE_PAIRS: [(&str, &str); 5] = [
    ("column_marginal", "column_fail"),
    ("row_marginal", "row_fail"),
    ("density_marginal", "density_fail"),
    ("band_marginal", "band_fail"),
    ("element_marginal", "element_fail"),
];

/// Reads a plan file's text and validates it against `stations`; `path` is used in
/// errors and kept.
pub fn parse_plan(text: &str, path: &Path, stations: &StationFile) -> Result<Plan, PlanErrors> {
    let mut d = Diag::new(path, text);
    let Some(doc) = d.parse(text) else {
        return Err(d.into_errors());
    };
    let mut root = Tab::new(doc.get_ref(), doc.span(), "");

    let head = match root.sub(&mut d, "plan") {
        Some(pt) => read_head(&mut d, pt, stations),
        None => {
            if !root.has("plan") {
                d.whole("no [plan] table: a plan file starts with [plan] (name, patterns, …)");
            }
            None
        }
    };
    let targets: Vec<&Station> = match &head {
        Some(h) => h.stations.iter().filter_map(|n| stations.get(n)).collect(),
        None => Vec::new(),
    };

    let mut conditions = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    if let Some((_, v)) = root.get("condition") {
        for item in array_of_tables(&mut d, v, "condition") {
            let Some(mut ct) = d.table(item, "condition") else {
                continue;
            };
            let arrange = head.as_ref().map(|h| h.timeouts.arrange);
            let read = read_condition(&mut d, &mut ct, &targets, arrange);
            ct.finish(&mut d);
            let Some((c, name_at)) = read else {
                continue;
            };
            match seen.get(&c.name) {
                Some(first) => d.at(
                    &name_at.span,
                    format!(
                        "condition.name: duplicate condition name \"{}\" (first defined on line {first})",
                        c.name
                    ),
                ),
                None => {
                    let line = d.line_of(&name_at.span);
                    seen.insert(c.name.clone(), line);
                }
            }
            conditions.push(c);
        }
    } else {
        conditions.push(Condition::nominal("nominal"));
    }
    root.finish(&mut d);

    match head {
        Some(h) if !d.has_errors() => {
            tracing::debug!(
                file = %path.display(),
                plan = %h.name,
                conditions = conditions.len(),
                "plan file read"
            );
            Ok(Plan {
                path: path.to_path_buf(),
                sha256: sha256_hex(text.as_bytes()),
                name: h.name,
                description: h.description,
                stations: h.stations,
                patterns: h.patterns,
                repeats: h.repeats,
                retries: h.retries,
                fail_on: h.fail_on,
                timeouts: h.timeouts,
                gate: h.gate,
                conditions,
            })
        }
        _ => Err(d.into_errors()),
    }
}

/// The `[plan]` table.
struct Head {
    name: String,
    description: Option<String>,
    stations: Vec<String>,
    patterns: Vec<PatternKind>,
    repeats: u32,
    retries: u32,
    fail_on: FailOn,
    timeouts: Timeouts,
    gate: GateMargins,
}

fn read_head(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sf: &StationFile) -> Option<Head> {
    let name = t.req(d, "name", Diag::string);
    let name_ok = name.as_ref().is_some_and(|n| check_name(d, n, "plan.name"));
    let description = t.opt(d, "description", Diag::string).map(|s| s.v);

    let mut stations_ok = true;
    let stations = match t.opt(d, "stations", Diag::strings) {
        Some(list) => {
            if list.v.is_empty() {
                d.at(&list.span, "plan.stations: name at least one station (or leave the key out for every station)");
                stations_ok = false;
            }
            let mut picked: Vec<&str> = Vec::new();
            for s in &list.v {
                if sf.get(&s.v).is_none() {
                    d.at(
                        &s.span,
                        format!(
                            "plan.stations: station \"{}\" is not in {} (it has: {})",
                            s.v,
                            sf.path.display(),
                            sf.names().join(", ")
                        ),
                    );
                    stations_ok = false;
                } else if picked.contains(&s.v.as_str()) {
                    d.at(
                        &s.span,
                        format!("plan.stations: \"{}\" is listed twice", s.v),
                    );
                    stations_ok = false;
                } else {
                    picked.push(&s.v);
                }
            }
            // Station-file order, so that expansion does not depend on how the plan lists them.
            sf.stations
                .iter()
                .filter(|st| picked.contains(&st.name.as_str()))
                .map(|st| st.name.clone())
                .collect()
        }
        None => {
            stations_ok &= !t.has("stations");
            sf.stations.iter().map(|s| s.name.clone()).collect()
        }
    };

    let patterns = match t.opt(d, "patterns", Diag::strings) {
        Some(list) => read_patterns(d, &list, "plan.patterns"),
        None if t.has("patterns") => None,
        None => Some(PatternKind::ALL.to_vec()),
    };
    let repeats = match t.opt(d, "repeats", Diag::uint) {
        Some(r) if (1..=1000).contains(&r.v) => Some(r.v),
        Some(r) => {
            d.at(
                &r.span,
                format!("plan.repeats: {} is out of range (1..=1000)", r.v),
            );
            None
        }
        None if t.has("repeats") => None,
        None => Some(1),
    };
    let retries = match t.opt(d, "retries", Diag::uint) {
        Some(r) if r.v <= 10 => Some(r.v),
        Some(r) => {
            d.at(
                &r.span,
                format!("plan.retries: {} is out of range (0..=10)", r.v),
            );
            None
        }
        None if t.has("retries") => None,
        None => Some(0),
    };
    let fail_on = match t.opt(d, "fail_on", Diag::string) {
        Some(f) => match f.v.as_str() {
            "fail" => Some(FailOn::Fail),
            "marginal" => Some(FailOn::Marginal),
            other => {
                d.at(
                    &f.span,
                    format!("plan.fail_on: \"{other}\" is not a verdict a case can fail on (use \"fail\" or \"marginal\")"),
                );
                None
            }
        },
        None if t.has("fail_on") => None,
        None => Some(FailOn::Fail),
    };
    let timeouts = match t.sub(d, "timeouts") {
        Some(tt) => read_timeouts(d, tt),
        None if t.has("timeouts") => None,
        None => Some(Timeouts::default()),
    };
    let gate = match t.sub(d, "gate") {
        Some(tt) => read_gate(d, tt),
        None if t.has("gate") => None,
        None => Some(GateMargins::default()),
    };
    t.finish(d);
    (name_ok && stations_ok).then_some(())?;
    Some(Head {
        name: name?.v,
        description,
        stations,
        patterns: patterns?,
        repeats: repeats?,
        retries: retries?,
        fail_on: fail_on?,
        timeouts: timeouts?,
        gate: gate?,
    })
}

fn read_gate(d: &mut Diag<'_>, mut t: Tab<'_, '_>) -> Option<GateMargins> {
    let def = GateMargins::default();
    let mut ok = true;
    // A margin is more than 0; the confidence at least 0.5 and below 1.
    let mut num =
        |d: &mut Diag<'_>, key: &'static str, default: f64, lo: (f64, bool), hi: f64| match t.opt(
            d,
            key,
            Diag::float,
        ) {
            Some(x) => {
                let what = t.what(key);
                ok &= check_range(d, &x, &what, Some(lo), Some((hi, false)));
                x.v
            }
            None => {
                ok &= !t.has(key);
                default
            }
        };
    let margin = (0.0, true);
    let gate = GateMargins {
        density: num(d, "density", def.density, margin, 1.0),
        band_density: num(d, "band_density", def.band_density, margin, 1.0),
        column_mean: num(d, "column_mean", def.column_mean, margin, 1.0),
        column: num(d, "column", def.column, margin, 1.0),
        element: num(d, "element", def.element, margin, 1.0),
        print_time: num(d, "print_time", def.print_time, margin, 100.0),
        print_time_s: num(d, "print_time_s", def.print_time_s, (0.0, false), 3600.0),
        confidence: num(d, "confidence", def.confidence, (0.5, false), 0.9999),
    };
    t.finish(d);
    ok.then_some(gate)
}

fn read_timeouts(d: &mut Diag<'_>, mut t: Tab<'_, '_>) -> Option<Timeouts> {
    let def = Timeouts::default();
    let mut ok = true;
    let mut secs =
        |d: &mut Diag<'_>, key: &'static str, default: f64| match t.opt(d, key, Diag::float) {
            Some(x) => {
                let what = t.what(key);
                ok &= check_range(
                    d,
                    &x,
                    &what,
                    Some((0.0, true)),
                    Some((7.0 * 86_400.0, false)),
                );
                x.v
            }
            None => {
                ok &= !t.has(key);
                default
            }
        };
    let timeouts = Timeouts {
        arrange: secs(d, "arrange", def.arrange),
        print: secs(d, "print", def.print),
        scan: secs(d, "scan", def.scan),
        analyze: secs(d, "analyze", def.analyze),
    };
    t.finish(d);
    ok.then_some(timeouts)
}

/// A list of pattern names: known, not repeated, not empty.
fn read_patterns(
    d: &mut Diag<'_>,
    list: &At<Vec<At<String>>>,
    what: &str,
) -> Option<Vec<PatternKind>> {
    let mut ok = true;
    let mut out = Vec::new();
    if list.v.is_empty() {
        d.at(&list.span, format!("{what}: name at least one pattern"));
        ok = false;
    }
    for p in &list.v {
        match PatternKind::parse(&p.v) {
            Some(k) if out.contains(&k) => {
                d.at(&p.span, format!("{what}: \"{}\" is listed twice", p.v));
                ok = false;
            }
            Some(k) => out.push(k),
            None => {
                let known: Vec<&str> = PatternKind::ALL.iter().map(|k| k.name()).collect();
                d.at(
                    &p.span,
                    format!(
                        "{what}: unknown pattern \"{}\" (known: {})",
                        p.v,
                        known.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// The spans of a condition's stress keys, for errors about what a station cannot do.
#[derive(Default)]
struct StressKeys {
    power_cycle: Option<Span>,
    voltage: Option<Span>,
    chamber: Option<Span>,
    ink: Option<Span>,
    paper: Option<Span>,
}

fn read_condition(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    targets: &[&Station],
    arrange: Option<f64>,
) -> Option<(Condition, At<String>)> {
    let name = t.req(d, "name", Diag::string);
    let name_ok = name
        .as_ref()
        .is_some_and(|n| check_name(d, n, "condition.name"));
    let mut ok = true;
    let mut keys = StressKeys::default();

    let patterns = match t.opt(d, "patterns", Diag::strings) {
        Some(list) => {
            let p = read_patterns(d, &list, "condition.patterns");
            ok &= p.is_some();
            p
        }
        None => {
            ok &= !t.has("patterns");
            None
        }
    };

    let power_cycle = match t.get("power_cycle") {
        Some((key, v)) => {
            keys.power_cycle = Some(key);
            let pc = d
                .table(v, "condition.power_cycle")
                .and_then(|pt| read_power_cycle(d, pt));
            ok &= pc.is_some();
            pc
        }
        None => None,
    };

    let voltage = match t.opt(d, "voltage", Diag::float) {
        Some(x) => {
            keys.voltage = Some(x.key.clone());
            ok &= check_range(
                d,
                &x,
                "condition.voltage",
                Some((0.0, true)),
                // A guard against typos; what a station's supply reaches is its own.
                Some((1000.0, false)),
            );
            Some(x.v)
        }
        None => {
            ok &= !t.has("voltage");
            None
        }
    };

    let chamber = match t.get("chamber") {
        Some((key, v)) => {
            keys.chamber = Some(key);
            let c = d
                .table(v, "condition.chamber")
                .and_then(|ct| read_chamber_soak(d, ct));
            ok &= c.is_some();
            c
        }
        None => None,
    };

    let mut level = |d: &mut Diag<'_>, key: &'static str, slot: &mut Option<Span>| match t.opt(
        d,
        key,
        Diag::float,
    ) {
        Some(x) => {
            *slot = Some(x.key.clone());
            let what = t.what(key);
            ok &= check_range(d, &x, &what, Some((0.0, false)), Some((1.0, false)));
            Some(x.v)
        }
        None => {
            ok &= !t.has(key);
            None
        }
    };
    let ink = level(d, "ink", &mut keys.ink);
    let paper = level(d, "paper", &mut keys.paper);

    let accept = match t.sub(d, "accept") {
        Some(at) => read_accept(d, at),
        None if t.has("accept") => None,
        None => Some(Accept::default()),
    };
    ok &= accept.is_some();

    let mut accept = accept.unwrap_or_default();
    // A cut during the job always shortens the first page.
    if matches!(
        power_cycle,
        Some(PowerCycle {
            when: CycleWhen::During { .. },
            ..
        })
    ) && !t.has_in("accept", "expected")
    {
        accept.expected = vec![DefectKind::Truncated];
    }

    let condition = Condition {
        name: name.as_ref().map(|n| n.v.clone()).unwrap_or_default(),
        patterns,
        power_cycle,
        voltage,
        chamber,
        ink,
        paper,
        accept,
    };
    let name_text = condition.name.clone();
    for st in targets {
        check_station(d, &name_text, &condition, &keys, st, arrange);
    }
    (ok && name_ok).then_some(())?;
    Some((condition, name?))
}

/// Reports what a target station cannot do for a condition, at the condition's key.
fn check_station(
    d: &mut Diag<'_>,
    cname: &str,
    c: &Condition,
    keys: &StressKeys,
    st: &Station,
    arrange: Option<f64>,
) {
    let sname = &st.name;
    if let (Some(key), Some(_)) = (&keys.power_cycle, &c.power_cycle) {
        if !st.can_power_cycle() {
            d.at(
                key,
                format!(
                    "condition \"{cname}\": power_cycle needs power control, but station \"{sname}\" has none (add [station.power] to the station file or leave this station out)"
                ),
            );
        }
    }
    if let (Some(key), Some(v)) = (&keys.voltage, c.voltage) {
        if !st.can_set_voltage() {
            d.at(
                key,
                format!(
                    "condition \"{cname}\": voltage = {v} needs a supply that can set its voltage ({}), but station \"{sname}\" has {}",
                    super::PowerSpec::VOLTAGE_KINDS,
                    st.power.lacks_voltage()
                ),
            );
        } else if let Some((lo, hi)) = st
            .envelope
            .voltage
            .filter(|(lo, hi)| !(*lo..=*hi).contains(&v))
        {
            d.at(
                key,
                format!(
                    "condition \"{cname}\": the supply of station \"{sname}\" sets {lo} to {hi} V, not {v} V"
                ),
            );
        }
    }
    if let (Some(key), Some(soak)) = (&keys.chamber, &c.chamber) {
        if !st.has_chamber() {
            d.at(
                key,
                format!(
                    "condition \"{cname}\": chamber needs a climate chamber, but station \"{sname}\" has none"
                ),
            );
        } else if let Some((lo, hi)) = st
            .envelope
            .temperature
            .filter(|(lo, hi)| !(*lo..=*hi).contains(&soak.setpoint))
        {
            d.at(
                key,
                format!(
                    "condition \"{cname}\": the chamber of station \"{sname}\" reaches {lo} to {hi} °C, not {} °C",
                    soak.setpoint
                ),
            );
        }
        // Station seconds run `time_scale` times faster than the wall clock on a sim station.
        let scale = st.envelope.time_scale;
        let least = (soak.hold_s + soak.soak_s) / scale;
        if let Some(arrange) = arrange.filter(|&a| least >= a) {
            d.at(
                key,
                format!(
                    "condition \"{cname}\": hold_s + soak_s take at least {least:.0} s on station \"{sname}\", but plan.timeouts.arrange allows {arrange} s"
                ),
            );
        }
    }
    for (key, what, set) in [
        (&keys.ink, "ink", c.ink.is_some()),
        (&keys.paper, "paper", c.paper.is_some()),
    ] {
        if let (Some(key), true) = (key, set) {
            if !st.has_supply() {
                d.at(
                    key,
                    format!(
                        "condition \"{cname}\": {what} needs a supply control (prompt, exec or sim), but station \"{sname}\" has none"
                    ),
                );
            }
        }
    }
}

fn read_power_cycle(d: &mut Diag<'_>, mut t: Tab<'_, '_>) -> Option<PowerCycle> {
    let when = t.req(d, "when", Diag::string);
    let at = t.opt(d, "at", Diag::float);
    let at_bad = t.has("at") && at.is_none();
    let when = match when {
        Some(w) => match w.v.as_str() {
            "before" | "after" => {
                if let Some(a) = &at {
                    d.at(
                        &a.key,
                        format!("condition.power_cycle.at: only for when = \"during\" (this cycle is \"{}\" the job)", w.v),
                    );
                    None
                } else if w.v == "before" {
                    Some(CycleWhen::Before)
                } else {
                    Some(CycleWhen::After)
                }
            }
            "during" => match &at {
                Some(a) => check_range(
                    d,
                    a,
                    "condition.power_cycle.at",
                    Some((0.0, true)),
                    Some((1.0, true)),
                )
                .then_some(CycleWhen::During { at: a.v }),
                None if at_bad => None,
                None => {
                    d.at(
                        &t.span,
                        "condition.power_cycle: when = \"during\" needs `at`, the fraction of the job sent before the cut (0 < at < 1)",
                    );
                    None
                }
            },
            other => {
                d.at(
                    &w.span,
                    format!(
                        "condition.power_cycle.when: unknown value \"{other}\" (expected \"before\", \"during\" or \"after\")"
                    ),
                );
                None
            }
        },
        None => None,
    };
    let off_s = t.req(d, "off_s", Diag::float).and_then(|x| {
        check_range(
            d,
            &x,
            "condition.power_cycle.off_s",
            Some((0.0, false)),
            Some((3600.0, false)),
        )
        .then_some(x.v)
    });
    let resend = match t.opt(d, "resend", Diag::boolean) {
        Some(b) => Some(b.v),
        None if t.has("resend") => None,
        None => Some(true),
    };
    t.finish(d);
    Some(PowerCycle {
        when: when?,
        off_s: off_s?,
        resend: resend?,
    })
}

fn read_chamber_soak(d: &mut Diag<'_>, mut t: Tab<'_, '_>) -> Option<ChamberSoak> {
    let mut ok = true;
    let setpoint = t.req(d, "setpoint", Diag::float).and_then(|x| {
        check_range(
            d,
            &x,
            "condition.chamber.setpoint",
            Some((-100.0, false)),
            Some((200.0, false)),
        )
        .then_some(x.v)
    });
    let soak_s = t.req(d, "soak_s", Diag::float).and_then(|x| {
        check_range(
            d,
            &x,
            "condition.chamber.soak_s",
            Some((0.0, false)),
            Some((7.0 * 86_400.0, false)),
        )
        .then_some(x.v)
    });
    let mut opt = |d: &mut Diag<'_>, key: &'static str, default: f64, lo: (f64, bool)| match t.opt(
        d,
        key,
        Diag::float,
    ) {
        Some(x) => {
            let what = t.what(key);
            ok &= check_range(d, &x, &what, Some(lo), Some((7.0 * 86_400.0, false)));
            x.v
        }
        None => {
            ok &= !t.has(key);
            default
        }
    };
    let tolerance = opt(d, "tolerance", 1.0, (0.0, true));
    let hold_s = opt(d, "hold_s", 0.0, (0.0, false));
    let timeout_s = opt(d, "timeout_s", 3600.0, (0.0, true));
    t.finish(d);
    ok.then_some(())?;
    Some(ChamberSoak {
        setpoint: setpoint?,
        soak_s: soak_s?,
        tolerance,
        hold_s,
        timeout_s,
    })
}

fn read_accept(d: &mut Diag<'_>, mut t: Tab<'_, '_>) -> Option<Accept> {
    let mut ok = true;
    let golden = match t.opt(d, "golden", Diag::string) {
        Some(g) => {
            ok &= check_name(d, &g, "condition.accept.golden");
            Some(g.v)
        }
        None => {
            ok &= !t.has("golden");
            None
        }
    };
    let mut expected = Vec::new();
    match t.opt(d, "expected", Diag::strings) {
        Some(list) => {
            for e in &list.v {
                match DefectKind::parse(&e.v) {
                    Some(k) if !expected.contains(&k) => expected.push(k),
                    Some(_) => {
                        d.at(
                            &e.span,
                            format!("condition.accept.expected: \"{}\" is listed twice", e.v),
                        );
                        ok = false;
                    }
                    None => {
                        let known: Vec<&str> = DefectKind::ALL.iter().map(|k| k.name()).collect();
                        d.at(
                            &e.span,
                            format!(
                                "condition.accept.expected: unknown defect \"{}\" (known: {})",
                                e.v,
                                known.join(", ")
                            ),
                        );
                        ok = false;
                    }
                }
            }
        }
        None => ok &= !t.has("expected"),
    }

    let mut tol = TolerancesOverride::default();
    let mut spans: HashMap<&str, At<f64>> = HashMap::new();
    {
        let mut frac = |d: &mut Diag<'_>, key: &'static str| -> Option<f64> {
            let x = match t.opt(d, key, Diag::float) {
                Some(x) => x,
                None => {
                    ok &= !t.has(key);
                    return None;
                }
            };
            let what = t.what(key);
            ok &= check_range(d, &x, &what, Some((0.0, false)), Some((1.0, false)));
            let v = x.v;
            spans.insert(key, x);
            Some(v)
        };
        tol.column_marginal = frac(d, "column_marginal");
        tol.column_fail = frac(d, "column_fail");
        tol.row_marginal = frac(d, "row_marginal");
        tol.row_fail = frac(d, "row_fail");
        tol.density_marginal = frac(d, "density_marginal");
        tol.density_fail = frac(d, "density_fail");
        tol.band_marginal = frac(d, "band_marginal");
        tol.band_fail = frac(d, "band_fail");
        tol.element_marginal = frac(d, "element_marginal");
        tol.element_fail = frac(d, "element_fail");
    }
    tol.row_run = match t.opt(d, "row_run", Diag::uint) {
        Some(r) if (1..=10_000).contains(&r.v) => Some(r.v),
        Some(r) => {
            d.at(
                &r.span,
                format!(
                    "condition.accept.row_run: {} is out of range (1..=10000)",
                    r.v
                ),
            );
            ok = false;
            None
        }
        None => {
            ok &= !t.has("row_run");
            None
        }
    };
    for (m, f) in TOLERANCE_PAIRS {
        if let (Some(mv), Some(fv)) = (spans.get(m), spans.get(f)) {
            if mv.v > fv.v {
                d.at(
                    &mv.span,
                    format!("condition.accept.{m}: {} is above {f} = {} (marginal must not exceed fail)", mv.v, fv.v),
                );
                ok = false;
            }
        }
    }
    t.finish(d);
    ok.then_some(Accept {
        golden,
        tolerances: tol,
        expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::station::parse_stations;

    fn stations() -> StationFile {
        parse_stations(
            "[[station]]\nname = \"a\"\nkind = \"sim\"\nmodel = \"m\"\n\
             [station.printer]\ndots = 384\nlink = { kind = \"pty\" }\n\
             [[station]]\nname = \"b\"\nkind = \"sim\"\nmodel = \"m\"\n\
             [station.printer]\ndots = 576\nlink = { kind = \"pty\" }\n\
             [station.power]\nkind = \"none\"\n",
            Path::new("st.toml"),
        )
        .map(|mut sf| {
            // What a simulator would tell the plan about its chamber.
            for st in &mut sf.stations {
                st.envelope.temperature = Some((-40.0, 60.0));
            }
            sf
        })
        .expect("stations")
    }

    fn plan(text: &str) -> Result<Plan, PlanErrors> {
        parse_plan(text, Path::new("p.toml"), &stations())
    }

    #[test]
    fn defaults_fill_a_short_plan() {
        let p = plan("[plan]\nname = \"x\"\nstations = [\"a\"]\n").expect("valid");
        assert_eq!(p.patterns, PatternKind::ALL.to_vec());
        assert_eq!((p.repeats, p.retries), (1, 0));
        assert_eq!(p.timeouts, Timeouts::default());
        assert_eq!(p.conditions, vec![Condition::nominal("nominal")]);
        assert_eq!(p.stations, vec!["a".to_string()]);
    }

    #[test]
    fn plan_stations_follow_station_file_order() {
        let p = plan("[plan]\nname = \"x\"\nstations = [\"b\", \"a\"]\n").expect("valid");
        assert_eq!(p.stations, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn a_cut_during_the_job_expects_a_truncated_page_unless_told_otherwise() {
        let p = plan(
            "[plan]\nname = \"x\"\nstations = [\"a\"]\n\
             [[condition]]\nname = \"cut\"\npower_cycle = { when = \"during\", at = 0.5, off_s = 1 }\n\
             [[condition]]\nname = \"cut2\"\npower_cycle = { when = \"during\", at = 0.5, off_s = 1, resend = false }\n\
             [condition.accept]\nexpected = []\n\
             [[condition]]\nname = \"after\"\npower_cycle = { when = \"after\", off_s = 0 }\n",
        )
        .expect("valid");
        assert_eq!(p.conditions[0].accept.expected, vec![DefectKind::Truncated]);
        assert_eq!(
            p.conditions[0].power_cycle,
            Some(PowerCycle {
                when: CycleWhen::During { at: 0.5 },
                off_s: 1.0,
                resend: true
            })
        );
        assert!(p.conditions[1].accept.expected.is_empty());
        assert!(!p.conditions[1].power_cycle.is_some_and(|c| c.resend));
        assert!(p.conditions[2].accept.expected.is_empty());
    }

    #[test]
    fn overrides_apply_over_a_base() {
        let o = TolerancesOverride {
            column_fail: Some(0.4),
            row_run: Some(9),
            ..Default::default()
        };
        let t = o.apply(Tolerances::default());
        assert_eq!(t.column_fail, 0.4);
        assert_eq!(t.row_run, 9);
        assert_eq!(t.column_marginal, Tolerances::default().column_marginal);
        assert!(TolerancesOverride::default().is_empty());
    }

    #[test]
    fn fail_on_says_from_which_verdict_a_case_fails() {
        let p = plan("[plan]\nname = \"x\"\nstations = [\"a\"]\n").expect("valid");
        assert_eq!(p.fail_on, FailOn::Fail);
        let p = plan("[plan]\nname = \"x\"\nstations = [\"a\"]\nfail_on = \"marginal\"\n")
            .expect("valid");
        assert_eq!(p.fail_on, FailOn::Marginal);
        let text = plan("[plan]\nname = \"x\"\nstations = [\"a\"]\nfail_on = \"error\"\n")
            .expect_err("invalid")
            .to_string();
        assert!(
            text.contains("p.toml:4:11: plan.fail_on: \"error\" is not a verdict"),
            "{text}"
        );
    }

    #[test]
    fn marginal_above_fail_and_bad_ranges_are_rejected() {
        let errs = plan(
            "[plan]\nname = \"x\"\nstations = [\"a\"]\n\
             [[condition]]\nname = \"c\"\nink = 1.5\n\
             [condition.accept]\ncolumn_marginal = 0.5\ncolumn_fail = 0.4\nrow_run = 0\n",
        )
        .expect_err("invalid");
        let text = errs.to_string();
        assert!(
            text.contains("p.toml:6:7: condition.ink: 1.5 is out of range"),
            "{text}"
        );
        assert!(
            text.contains(
                "p.toml:8:19: condition.accept.column_marginal: 0.5 is above column_fail"
            ),
            "{text}"
        );
        assert!(
            text.contains("p.toml:10:11: condition.accept.row_run: 0 is out of range"),
            "{text}"
        );
    }

    #[test]
    fn chambers_are_held_to_their_envelope() {
        let errs = plan(
            "[plan]\nname = \"x\"\nstations = [\"a\"]\n\
             [[condition]]\nname = \"c\"\nchamber = { setpoint = -55, soak_s = 0 }\n",
        )
        .expect_err("invalid");
        assert!(
            errs.to_string()
                .contains("p.toml:6:1: condition \"c\": the chamber of station \"a\" reaches -40 to 60 °C, not -55 °C"),
            "{errs}"
        );
    }
}

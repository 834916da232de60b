//! Golden records: load, validate against the pattern, bless and compare; the judgement
//! of an analysis against its record (or, without one, against the defects and nominal
//! limits alone); and the one scan-check path ([`check`]) every command goes through.
//!
//! A golden record is written only by `bless`; comparing never changes it.

pub mod check;
mod judge;
pub mod pending;

pub use judge::{judge, judge_with, ColumnBand, Comparison, Finding, Judgement};

use crate::analysis::Analysis;
use crate::pattern::Pattern;
use crate::util::fsio::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const SCHEMA: &str = "printrig.golden/1";

/// The largest golden record file read (a record of a 2 000-row pattern at 576 dots is
/// about 60 KB).
pub const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// The highest optical density an 8-bit scan can show (log10 of 255 / 0.5 is 2.71).
pub const MAX_DENSITY: f64 = 3.0;

/// Where a record's profile values may lie: shares of what the pattern asks, which a
/// column asked for little ink can exceed several times over; never negative beyond the
/// scanner's noise.
pub const PROFILE_RANGE: (f64, f64) = (-0.5, 50.0);

/// How far a print may fall short of its golden record.
///
/// The defaults are what a record blessed from one scan is judged with; they tolerate what
/// the scanner and a healthy unit of the model do to a clean page:
///
/// - `light` at 25 % loss of the solid's optical density (40 % fails): healthy units of a
///   model and rolls of a paper grade differ by up to about ±15 % in the density of their
///   solid, and a scan reads that density within about ±6 % more (transfer curve, JPEG,
///   flat field); a print at half its density or less is light on any of them.
/// - Columns, rows and tint bands are compared in shape (the page's own level divided out,
///   see `judge`): a dead element loses its whole column, a healthy page at another
///   resolution moves every column alike.
///
/// A record blessed from several copies widens these to the copies' own spread
/// ([`Tolerances::from_spread`]); it never narrows them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerances {
    /// Column coverage deficit (relative to what the pattern asks) that is marginal / fails.
    pub column_marginal: f64,
    pub column_fail: f64,
    /// Per-row ink deficit over at least `row_run` consecutive rows.
    pub row_marginal: f64,
    pub row_fail: f64,
    pub row_run: u32,
    /// Relative loss of solid density (the `light` defect).
    pub density_marginal: f64,
    pub density_fail: f64,
    /// Relative loss of a tint band's density.
    #[serde(default = "default_band_marginal")]
    pub band_marginal: f64,
    #[serde(default = "default_band_fail")]
    pub band_fail: f64,
    /// Isolated element strength deficit.
    pub element_marginal: f64,
    pub element_fail: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            column_marginal: 0.12,
            column_fail: 0.3,
            row_marginal: 0.15,
            row_fail: 0.35,
            row_run: 6,
            density_marginal: 0.25,
            density_fail: 0.4,
            band_marginal: default_band_marginal(),
            band_fail: default_band_fail(),
            element_marginal: 0.3,
            element_fail: 0.55,
        }
    }
}

impl Tolerances {
    /// The tolerances of a record blessed from several copies: each pair widened, never
    /// narrowed, to what the copies' spread shows the rig repeats to — a profile's
    /// marginal limit to at least twice its 99th-percentile spread, a density's to at least
    /// three times the copies' largest relative spread — with the fail limit kept as far
    /// above the marginal one as in the defaults.
    pub fn from_spread(s: &Spread) -> Tolerances {
        let d = Tolerances::default();
        // Never beyond 1, the whole of what was asked (and the most a record may hold).
        let widen = |m: f64, f: f64, spread: f64| {
            let wide = m.max(spread).min(1.0);
            (round4(wide), round4(f.max(wide + (f - m)).min(1.0)))
        };
        let (column_marginal, column_fail) =
            widen(d.column_marginal, d.column_fail, 2.0 * s.columns);
        let (row_marginal, row_fail) = widen(d.row_marginal, d.row_fail, 2.0 * s.rows);
        let (element_marginal, element_fail) =
            widen(d.element_marginal, d.element_fail, 2.0 * s.elements);
        let (density_marginal, density_fail) =
            widen(d.density_marginal, d.density_fail, 3.0 * s.density);
        let (band_marginal, band_fail) = widen(d.band_marginal, d.band_fail, 3.0 * s.bands);
        Tolerances {
            column_marginal,
            column_fail,
            row_marginal,
            row_fail,
            row_run: d.row_run,
            density_marginal,
            density_fail,
            band_marginal,
            band_fail,
            element_marginal,
            element_fail,
        }
    }
}

fn default_band_marginal() -> f64 {
    0.1
}

fn default_band_fail() -> f64 {
    0.2
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The scan the record was blessed from, as given.
    pub scan: String,
    pub scan_sha256: String,
    pub tool: String,
    pub tool_version: String,
    /// RFC 3339 UTC.
    pub blessed_at: String,
    pub scan_dpi: f64,
    pub registration_residual_dots: f64,
    /// Every scan the record was blessed from, when there were several (the first is
    /// also `scan`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<ScanRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRef {
    pub scan: String,
    pub sha256: String,
}

/// How far the copies of a capture fell from their median: the repeatability of print and
/// scan on the rig, from which the record's tolerances were set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spread {
    pub copies: u32,
    /// 99th percentile, over every copy and dot column, of a copy's distance from the
    /// median column coverage (relative coverage).
    pub columns: f64,
    /// The same over rows (share of expected ink).
    pub rows: f64,
    /// The same over isolated elements (relative strength).
    pub elements: f64,
    /// Largest relative distance of a copy's solid density from the median.
    pub density: f64,
    /// Largest relative distance of a copy's tint band density from the median.
    pub bands: f64,
}

impl Spread {
    fn of(record: &Golden, copies: &[&Analysis]) -> Spread {
        let p99 = |mut d: Vec<f64>| -> f64 {
            d.retain(|v| v.is_finite());
            if d.is_empty() {
                return 0.0;
            }
            d.sort_by(f64::total_cmp);
            round4(d[((d.len() - 1) as f64 * 0.99).round() as usize])
        };
        let dev = |golden: Option<&Vec<f64>>, get: fn(&Analysis) -> Option<&Vec<f64>>| {
            let Some(g) = golden else {
                return 0.0;
            };
            p99(copies
                .iter()
                .filter_map(|a| get(a))
                .flat_map(|m| g.iter().zip(m).map(|(g, m)| (g - m).abs()))
                .collect())
        };
        let rows = p99(copies
            .iter()
            .filter_map(|a| a.profiles.as_ref())
            .flat_map(|p| {
                record
                    .rows
                    .iter()
                    .zip(&p.rows)
                    .filter_map(|(g, m)| match (g, m) {
                        (Some(g), Some(m)) => Some((g - m).abs()),
                        _ => None,
                    })
            })
            .collect());
        let rel = |g: f64, m: f64| if g > 0.02 { (m / g - 1.0).abs() } else { 0.0 };
        let density = copies
            .iter()
            .filter_map(|a| a.calibration.as_ref())
            .map(|c| rel(record.solid_density, c.solid_density))
            .fold(0.0, f64::max);
        let bands = copies
            .iter()
            .flat_map(|a| {
                record.bands.iter().zip(&a.bands).filter_map(|(g, m)| {
                    if m.kind == "tint" {
                        Some(rel(g.density?, m.density?))
                    } else {
                        None
                    }
                })
            })
            .fold(0.0, f64::max);
        Spread {
            copies: copies.len() as u32,
            columns: dev(record.columns.as_ref(), |a| {
                a.profiles.as_ref()?.columns.as_ref()
            }),
            rows,
            elements: dev(record.elements.as_ref(), |a| {
                a.profiles.as_ref()?.elements.as_ref()
            }),
            density: round4(density),
            bands: round4(bands),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenBand {
    pub name: String,
    pub coverage: Option<f64>,
    pub density: Option<f64>,
}

/// The reference a print is judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Golden {
    pub schema: String,
    pub model: String,
    pub pattern: String,
    pub dots: u32,
    #[serde(default)]
    pub condition: Option<String>,
    /// Relative column coverage of the full-width bands (1 = as the pattern asks); null
    /// for a column the pattern leaves bare.
    #[serde(default, with = "gaps")]
    pub columns: Option<Vec<f64>>,
    /// Per-row share of expected ink (null where the row expects little ink).
    pub rows: Vec<Option<f64>>,
    #[serde(default, with = "gaps")]
    pub elements: Option<Vec<f64>>,
    pub bands: Vec<GoldenBand>,
    /// Optical density of the solid reference on the scanner the record was blessed on.
    pub solid_density: f64,
    /// The paper's grey in the scans the record was blessed from (scan levels, 255 =
    /// full scale): what the rig's scanner reads off the roll it was blessed on. With it,
    /// a print on a greyer roll is told from a light print (see `judge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_white: Option<f64>,
    pub tolerances: Tolerances,
    /// The copies' spread, when the record was blessed from several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
    pub provenance: Provenance,
}

#[derive(Debug, thiserror::Error)]
pub enum GoldenError {
    #[error("cannot read golden record {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("golden record {path} is not valid: {detail}")]
    Parse { path: PathBuf, detail: String },
    #[error("golden record {path}: {field} = {value} is out of range ({rule})")]
    OutOfRange {
        path: PathBuf,
        field: String,
        value: String,
        rule: String,
    },
    #[error("golden record {path} is for {what}, but the scan is analysed as {expected}")]
    Mismatch {
        path: PathBuf,
        what: String,
        expected: String,
    },
    #[error("golden record {path} does not fit {pattern}: its {profile} profile has {len} values, the pattern needs {expected}")]
    ProfileLength {
        path: PathBuf,
        profile: &'static str,
        len: usize,
        expected: usize,
        pattern: String,
    },
    #[error("cannot bless from this scan: {0}")]
    NotBlessable(String),
    #[error("the copies do not agree: {scan} differs from their median ({reasons}); rescan it or print the copies again")]
    CopiesDisagree { scan: String, reasons: String },
    #[error("{path} already exists: pass --force to replace it")]
    Exists { path: PathBuf },
    #[error("cannot write golden record {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Golden {
    pub fn load(path: &Path) -> Result<Golden, GoldenError> {
        let read_err = |source| GoldenError::Read {
            path: path.to_path_buf(),
            source,
        };
        let text = crate::util::fsio::read_bounded(path, MAX_RECORD_BYTES)
            .map_err(read_err)
            .and_then(|b| {
                String::from_utf8(b).map_err(|_| GoldenError::Parse {
                    path: path.to_path_buf(),
                    detail: "not UTF-8 text".into(),
                })
            })?;
        let g: Golden = serde_json::from_str(&text).map_err(|e| GoldenError::Parse {
            path: path.to_path_buf(),
            detail: format!("line {} column {}: {e}", e.line(), e.column()),
        })?;
        if g.schema != SCHEMA {
            return Err(GoldenError::Parse {
                path: path.to_path_buf(),
                detail: format!("schema '{}' (this rig reads '{SCHEMA}')", g.schema),
            });
        }
        g.check_ranges()
            .map_err(|(field, value, rule)| GoldenError::OutOfRange {
                path: path.to_path_buf(),
                field,
                value,
                rule,
            })?;
        Ok(g)
    }

    /// Every value in its range: a record edited by hand (tolerances of 50, a solid of
    /// density 0, a column of −1e308) would otherwise judge every print. Returns the field,
    /// its value and the rule it breaks.
    pub fn check_ranges(&self) -> Result<(), (String, String, String)> {
        let bad = |field: String, v: f64, rule: &str| Err((field, format!("{v}"), rule.into()));
        let t = &self.tolerances;
        let pairs = [
            ("column", t.column_marginal, t.column_fail),
            ("row", t.row_marginal, t.row_fail),
            ("density", t.density_marginal, t.density_fail),
            ("band", t.band_marginal, t.band_fail),
            ("element", t.element_marginal, t.element_fail),
        ];
        for (name, m, f) in pairs {
            for (which, v) in [("marginal", m), ("fail", f)] {
                if !(0.0..=1.0).contains(&v) {
                    return bad(
                        format!("tolerances.{name}_{which}"),
                        v,
                        "a fraction from 0 to 1, as in a plan's accept table",
                    );
                }
            }
            if m > f {
                return bad(
                    format!("tolerances.{name}_marginal"),
                    m,
                    &format!("must not exceed {name}_fail = {f}"),
                );
            }
        }
        if !(1..=10_000).contains(&t.row_run) {
            return bad(
                "tolerances.row_run".into(),
                f64::from(t.row_run),
                "1 to 10000",
            );
        }
        if !(self.solid_density > 0.0 && self.solid_density <= MAX_DENSITY) {
            return bad(
                "solid_density".into(),
                self.solid_density,
                &format!("greater than 0 and at most {MAX_DENSITY}"),
            );
        }
        if let Some(w) = self.paper_white {
            if !(w > 0.0 && w <= 255.0) {
                return bad("paper_white".into(), w, "greater than 0 and at most 255");
            }
        }
        let (lo, hi) = PROFILE_RANGE;
        let profile_rule = format!("finite, from {lo} to {hi}, or null");
        let profiles: [(&str, Vec<f64>); 3] = [
            ("columns", self.columns.clone().unwrap_or_default()),
            ("elements", self.elements.clone().unwrap_or_default()),
            (
                "rows",
                self.rows.iter().map(|r| r.unwrap_or(f64::NAN)).collect(),
            ),
        ];
        for (name, values) in profiles {
            // NaN is a gap (null in the file); anything else must be a plausible value.
            if let Some((i, &v)) = values
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_nan() && !(lo..=hi).contains(*v))
            {
                return bad(format!("{name}[{i}]"), v, &profile_rule);
            }
        }
        for (i, b) in self.bands.iter().enumerate() {
            if let Some(c) = b.coverage.filter(|c| !(-1.0..=2.0).contains(c)) {
                return bad(format!("bands[{i}].coverage"), c, "from -1 to 2");
            }
            if let Some(d) = b.density.filter(|d| !(-1.0..=MAX_DENSITY).contains(d)) {
                return bad(
                    format!("bands[{i}].density"),
                    d,
                    &format!("from -1 to {MAX_DENSITY}"),
                );
            }
        }
        let dpi = self.provenance.scan_dpi;
        if !(dpi > 0.0 && dpi <= 100_000.0) {
            return bad("provenance.scan_dpi".into(), dpi, "greater than 0");
        }
        Ok(())
    }

    /// Checks that this record belongs to `pattern` (name and width) and that its
    /// profiles have one value per dot column and per pattern row: a record cut short
    /// would otherwise be compared on a prefix and pass.
    pub fn check_fits(&self, path: &Path, pattern: &Pattern) -> Result<(), GoldenError> {
        let l = &pattern.layout;
        if self.pattern != l.kind.name() || self.dots != l.dots {
            return Err(GoldenError::Mismatch {
                path: path.to_path_buf(),
                what: format!("{} at {} dots", self.pattern, self.dots),
                expected: format!("{} at {} dots", l.kind.name(), l.dots),
            });
        }
        let lengths = [
            ("columns", self.columns.as_ref().map(Vec::len), l.dots),
            ("elements", self.elements.as_ref().map(Vec::len), l.dots),
            ("rows", Some(self.rows.len()), l.rows),
        ];
        for (profile, len, expected) in lengths {
            if let Some(len) = len.filter(|&n| n != expected as usize) {
                return Err(GoldenError::ProfileLength {
                    path: path.to_path_buf(),
                    profile,
                    len,
                    expected: expected as usize,
                    pattern: format!("{} at {} dots", l.kind.name(), l.dots),
                });
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

pub use crate::util::clock::now_rfc3339;

/// Profiles with gaps: a value the record has none for (NaN in memory) is `null` in the
/// file, so a record always reads back as it was written.
mod gaps {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<f64>>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref()
            .map(|v| {
                v.iter()
                    .map(|x| x.is_finite().then_some(*x))
                    .collect::<Vec<_>>()
            })
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f64>>, D::Error> {
        let v: Option<Vec<Option<f64>>> = Option::deserialize(d)?;
        Ok(v.map(|v| v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect()))
    }
}

/// One scan of a clean page that a record is blessed from.
pub struct Copy<'a> {
    pub analysis: &'a Analysis,
    /// The scan, as the user named it.
    pub scan: String,
    pub sha256: String,
}

/// Builds a golden record from one or more scans of clean pages (copies of the same
/// pattern printed and scanned on the same rig). The record holds the median of the
/// copies; with two or more, its tolerances are widened to what the copies' own spread
/// shows this rig repeats to ([`Tolerances::from_spread`]), and a copy that does not
/// agree with the others is refused by name.
pub fn bless(
    copies: &[Copy],
    model: &str,
    condition: Option<&str>,
    allow_defects: bool,
) -> Result<Golden, GoldenError> {
    let Some(first) = copies.first() else {
        return Err(GoldenError::NotBlessable("no scan to bless from".into()));
    };
    let mut regs = Vec::with_capacity(copies.len());
    for c in copies {
        let named = |why: String| {
            if copies.len() > 1 {
                GoldenError::NotBlessable(format!("{}: {why}", c.scan))
            } else {
                GoldenError::NotBlessable(why)
            }
        };
        regs.push(blessable(c.analysis, allow_defects).map_err(named)?);
        let (p, q) = (&c.analysis.pattern, &first.analysis.pattern);
        if (p.name, p.dots) != (q.name, q.dots) {
            return Err(named(format!(
                "it is {} at {} dots, the first copy {} at {} dots",
                c.analysis.pattern.name,
                c.analysis.pattern.dots,
                first.analysis.pattern.name,
                first.analysis.pattern.dots
            )));
        }
    }
    let analyses: Vec<&Analysis> = copies.iter().map(|c| c.analysis).collect();
    let a = first.analysis;
    let profile = |get: fn(&Analysis) -> Option<&Vec<f64>>| -> Option<Vec<f64>> {
        let all: Option<Vec<&Vec<f64>>> = analyses.iter().map(|a| get(a)).collect();
        all.map(|all| median_profile(&all))
    };
    let columns = profile(|a| a.profiles.as_ref()?.columns.as_ref());
    let elements = profile(|a| a.profiles.as_ref()?.elements.as_ref());
    let rows_all: Vec<&Vec<Option<f64>>> = analyses
        .iter()
        .filter_map(|a| a.profiles.as_ref().map(|p| &p.rows))
        .collect();
    let rows = median_rows(&rows_all);
    let solid: Vec<f64> = analyses
        .iter()
        .filter_map(|a| a.calibration.as_ref().map(|c| c.solid_density))
        .collect();
    let bands = a
        .bands
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let of = |get: fn(&crate::analysis::BandMeasure) -> Option<f64>| {
                let v: Vec<f64> = analyses
                    .iter()
                    .filter_map(|a| a.bands.get(i).and_then(get))
                    .collect();
                (v.len() == analyses.len()).then(|| round4(median(&v)))
            };
            GoldenBand {
                name: b.name.clone(),
                coverage: of(|b| b.coverage),
                density: of(|b| b.density),
            }
        })
        .collect();
    let mut record = Golden {
        schema: SCHEMA.into(),
        model: model.into(),
        pattern: a.pattern.name.into(),
        dots: a.pattern.dots,
        condition: condition.map(str::to_string),
        columns,
        rows,
        elements,
        bands,
        solid_density: round4(median(&solid)),
        paper_white: {
            let whites: Vec<f64> = analyses
                .iter()
                .filter_map(|a| a.calibration.as_ref().map(|c| c.white))
                .collect();
            (!whites.is_empty()).then(|| round4(median(&whites)))
        },
        tolerances: Tolerances::default(),
        spread: None,
        provenance: Provenance {
            scan: first.scan.clone(),
            scan_sha256: first.sha256.clone(),
            tool: "printrig".into(),
            tool_version: crate::VERSION.into(),
            blessed_at: now_rfc3339(),
            scan_dpi: round4(
                regs.iter().map(|r| (r.dpi_x + r.dpi_y) / 2.0).sum::<f64>() / regs.len() as f64,
            ),
            registration_residual_dots: round4(
                regs.iter().map(|r| r.residual_dots).fold(0.0, f64::max),
            ),
            copies: if copies.len() > 1 {
                copies
                    .iter()
                    .map(|c| ScanRef {
                        scan: c.scan.clone(),
                        sha256: c.sha256.clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        },
    };
    if copies.len() > 1 {
        // Every copy must pass against the median under the default tolerances: a copy
        // that does not is a different print (or a different scan), not the rig's spread.
        for c in copies {
            let j = judge(c.analysis, Some(&record), None);
            if j.verdict != crate::verdict::Verdict::Pass {
                return Err(GoldenError::CopiesDisagree {
                    scan: c.scan.clone(),
                    reasons: j.reasons.join("; "),
                });
            }
        }
        let spread = Spread::of(&record, &analyses);
        record.tolerances = Tolerances::from_spread(&spread);
        record.spread = Some(spread);
    }
    Ok(record)
}

/// The registration of a copy that may be blessed, or why it may not.
fn blessable(
    a: &Analysis,
    allow_defects: bool,
) -> Result<&crate::analysis::RegistrationInfo, String> {
    let (Some(reg), Some(_), Some(_)) = (&a.registration, &a.calibration, &a.profiles) else {
        return Err(a
            .defects
            .first()
            .map(|d| format!("{}: {}", d.kind, d.detail))
            .unwrap_or_else(|| "the scan could not be registered".into()));
    };
    if a.id.matches == Some(false) {
        return Err("the page is another pattern".into());
    }
    if !allow_defects && !a.defects.is_empty() {
        let list: Vec<String> = a
            .defects
            .iter()
            .map(|d| format!("{} ({})", d.kind, d.detail))
            .collect();
        return Err(format!(
            "the print has defects: {}; bless a healthy print, or pass --allow-defects",
            list.join("; ")
        ));
    }
    Ok(reg)
}

/// The median of finite values (NaN when there are none).
pub(crate) fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn median_profile(all: &[&Vec<f64>]) -> Vec<f64> {
    let len = all.iter().map(|p| p.len()).min().unwrap_or(0);
    (0..len)
        .map(|i| {
            let v: Vec<f64> = all.iter().map(|p| p[i]).collect();
            round4(median(&v))
        })
        .collect()
}

/// Per row, the median of the copies that measured it; none where most did not.
fn median_rows(all: &[&Vec<Option<f64>>]) -> Vec<Option<f64>> {
    let len = all.iter().map(|p| p.len()).min().unwrap_or(0);
    (0..len)
        .map(|i| {
            let v: Vec<f64> = all.iter().filter_map(|p| p[i]).collect();
            (2 * v.len() > all.len()).then(|| round4(median(&v)))
        })
        .collect()
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// What changed between an existing record and its replacement, one line each.
pub fn describe_changes(old: &Golden, new: &Golden) -> Vec<String> {
    let mut out = Vec::new();
    if old.provenance.scan_sha256 != new.provenance.scan_sha256 {
        out.push(format!(
            "scan: {} ({}…) → {} ({}…)",
            old.provenance.scan,
            &old.provenance.scan_sha256.get(..12).unwrap_or(""),
            new.provenance.scan,
            &new.provenance.scan_sha256.get(..12).unwrap_or("")
        ));
    }
    if (old.solid_density - new.solid_density).abs() > 1e-4 {
        out.push(format!(
            "solid density: {:.3} → {:.3}",
            old.solid_density, new.solid_density
        ));
    }
    let diff = |a: &Option<Vec<f64>>, b: &Option<Vec<f64>>, what: &str, out: &mut Vec<String>| {
        match (a, b) {
            (Some(a), Some(b)) if a.len() == b.len() => {
                let (i, d) = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| y - x)
                    .enumerate()
                    .filter(|(_, d)| d.is_finite())
                    .max_by(|p, q| p.1.abs().total_cmp(&q.1.abs()))
                    .unwrap_or((0, 0.0));
                if d.abs() > 1e-4 {
                    out.push(format!("{what}: largest change {d:+.3} at dot {i}"));
                }
            }
            (None, None) => {}
            _ => out.push(format!("{what}: profile added or removed")),
        }
    };
    diff(&old.columns, &new.columns, "column profile", &mut out);
    diff(&old.elements, &new.elements, "element strengths", &mut out);
    for (o, n) in old.bands.iter().zip(&new.bands) {
        if let (Some(a), Some(b)) = (o.density, n.density) {
            if (a - b).abs() > 0.005 {
                out.push(format!("band {}: density {a:.3} → {b:.3}", n.name));
            }
        }
    }
    if old.tolerances != new.tolerances {
        out.push(match &new.spread {
            Some(s) => format!(
                "tolerances set from the spread of {} copies (light at {:.0} % density loss, columns at {:.2})",
                s.copies,
                new.tolerances.density_marginal * 100.0,
                new.tolerances.column_marginal
            ),
            None => "tolerances reset to the defaults".into(),
        });
    }
    if old.condition != new.condition {
        out.push(format!(
            "condition: {:?} → {:?}",
            old.condition, new.condition
        ));
    }
    if out.is_empty() {
        out.push("no measurable change".into());
    }
    out
}

/// Writes a record atomically; refuses to replace one unless `force`. Returns the old
/// record when one was replaced.
pub fn save(path: &Path, g: &Golden, force: bool) -> Result<Option<Golden>, GoldenError> {
    let old = if path.exists() {
        if !force {
            return Err(GoldenError::Exists {
                path: path.to_path_buf(),
            });
        }
        Golden::load(path).ok()
    } else {
        None
    };
    write_atomic(path, g.to_json().as_bytes()).map_err(|source| GoldenError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(columns: f64, density: f64) -> Spread {
        Spread {
            copies: 3,
            columns,
            rows: 0.0,
            elements: 0.0,
            density,
            bands: 0.0,
        }
    }

    #[test]
    fn a_spread_widens_the_tolerances_and_never_narrows_them() {
        let d = Tolerances::default();
        // Copies that agree closely keep the defaults.
        assert_eq!(Tolerances::from_spread(&spread(0.01, 0.01)), d);
        // Columns scattering by 0.1: marginal at twice that, fail kept as far above.
        let t = Tolerances::from_spread(&spread(0.1, 0.1));
        assert!((t.column_marginal - 0.2).abs() < 1e-9, "{t:?}");
        let gap = d.column_fail - d.column_marginal;
        assert!((t.column_fail - (0.2 + gap)).abs() < 1e-9, "{t:?}");
        // A solid density scattering by 10 %: light at three times that.
        assert!((t.density_marginal - 0.3).abs() < 1e-9, "{t:?}");
        assert!((t.density_fail - (0.3 + d.density_fail - d.density_marginal)).abs() < 1e-9);
        // What did not scatter stays at the default.
        assert_eq!((t.row_marginal, t.row_fail), (d.row_marginal, d.row_fail));
        assert_eq!(t.band_marginal, d.band_marginal);
    }

    #[test]
    fn a_profile_with_gaps_reads_back_as_written() {
        #[derive(Serialize, Deserialize)]
        struct P {
            #[serde(default, with = "gaps")]
            v: Option<Vec<f64>>,
        }
        let text = serde_json::to_string(&P {
            v: Some(vec![1.0, f64::NAN, 0.5]),
        })
        .expect("serialises");
        assert_eq!(text, r#"{"v":[1.0,null,0.5]}"#);
        let back: P = serde_json::from_str(&text).expect("reads back");
        let v = back.v.expect("a profile");
        assert_eq!((v[0], v[2]), (1.0, 0.5));
        assert!(v[1].is_nan());
    }
}

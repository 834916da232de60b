//! Golden records: load, validate against the pattern, bless and compare; the judgement
//! of an analysis against its record (or, without one, against the defects and nominal
//! limits alone); and the one scan-check path ([`check`]) every command goes through.
//!
//! A golden record is written only by `bless`; comparing never changes it.

pub mod check;
mod judge;

pub use judge::{judge, judge_with, Comparison, Finding, Judgement};

use crate::analysis::Analysis;
use crate::pattern::Pattern;
use crate::util::fsio::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const SCHEMA: &str = "printrig.golden/1";

/// How far a print may fall short of its golden record.
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
    /// Relative loss of solid density (the `light` defect) and of band densities.
    pub density_marginal: f64,
    pub density_fail: f64,
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
            density_marginal: 0.1,
            density_fail: 0.2,
            element_marginal: 0.3,
            element_fail: 0.55,
        }
    }
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
    /// Relative column coverage of the full-width bands (1 = as the pattern asks).
    pub columns: Option<Vec<f64>>,
    /// Per-row share of expected ink (null where the row expects little ink).
    pub rows: Vec<Option<f64>>,
    pub elements: Option<Vec<f64>>,
    pub bands: Vec<GoldenBand>,
    /// Optical density of the solid reference on the scanner the record was blessed on.
    pub solid_density: f64,
    pub tolerances: Tolerances,
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
        let text = std::fs::read_to_string(path).map_err(|source| GoldenError::Read {
            path: path.to_path_buf(),
            source,
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
        Ok(g)
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

/// Builds a golden record from a clean analysis of a scan.
pub fn bless(
    a: &Analysis,
    model: &str,
    condition: Option<&str>,
    scan_name: &str,
    scan_sha256: &str,
    allow_defects: bool,
) -> Result<Golden, GoldenError> {
    let (Some(reg), Some(cal), Some(prof)) = (&a.registration, &a.calibration, &a.profiles) else {
        let why = a
            .defects
            .first()
            .map(|d| format!("{}: {}", d.kind, d.detail))
            .unwrap_or_else(|| "the scan could not be registered".into());
        return Err(GoldenError::NotBlessable(why));
    };
    if a.id.matches == Some(false) {
        return Err(GoldenError::NotBlessable(
            "the page is another pattern".into(),
        ));
    }
    if !allow_defects && !a.defects.is_empty() {
        let list: Vec<String> = a
            .defects
            .iter()
            .map(|d| format!("{} ({})", d.kind, d.detail))
            .collect();
        return Err(GoldenError::NotBlessable(format!(
            "the print has defects: {}; bless a healthy print, or pass --allow-defects",
            list.join("; ")
        )));
    }
    Ok(Golden {
        schema: SCHEMA.into(),
        model: model.into(),
        pattern: a.pattern.name.into(),
        dots: a.pattern.dots,
        condition: condition.map(str::to_string),
        columns: prof.columns.clone(),
        rows: prof.rows.clone(),
        elements: prof.elements.clone(),
        bands: a
            .bands
            .iter()
            .map(|b| GoldenBand {
                name: b.name.clone(),
                coverage: b.coverage.map(round4),
                density: b.density.map(round4),
            })
            .collect(),
        solid_density: round4(cal.solid_density),
        tolerances: Tolerances::default(),
        provenance: Provenance {
            scan: scan_name.into(),
            scan_sha256: scan_sha256.into(),
            tool: "printrig".into(),
            tool_version: crate::VERSION.into(),
            blessed_at: now_rfc3339(),
            scan_dpi: round4((reg.dpi_x + reg.dpi_y) / 2.0),
            registration_residual_dots: round4(reg.residual_dots),
        },
    })
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
        out.push("tolerances reset to the defaults".into());
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

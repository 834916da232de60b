//! What the history keeps of a case: its verdict and reasons from the journal, and its key
//! measurements (solid density, mean and minimum column coverage, band densities,
//! per-element coverage, the stress as applied; and for `rig gate` every column's coverage) from the journal and the analysis of the
//! attempt the verdict is about. Reads files of a run directory; writes nothing.

use crate::record::attempt_folder;
use crate::record::results::CaseResult;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The key measurements of a case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyMeasures {
    pub solid_density: Option<f64>,
    pub column_mean: Option<f64>,
    pub column_min: Option<f64>,
    /// Band name → density.
    pub bands: BTreeMap<String, f64>,
    /// The bands printed solid (every dot): their density is the solid density again.
    pub solid_bands: BTreeSet<String>,
    /// Coverage of every column of the page (not kept in the history database).
    pub columns: Option<Vec<f64>>,
    /// Relative coverage of every element (the elements pattern), rounded to 0.001.
    pub elements: Option<Vec<Option<f64>>>,
    pub stress: Option<Value>,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn finite(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

/// The key measurements of `case` of the run in `dir`. What is missing (a case that did not
/// get to its analysis, a file gone) is left out, never guessed.
pub fn key_measures(dir: &Path, case: &CaseResult) -> KeyMeasures {
    let mut k = KeyMeasures {
        stress: case.measurements.get("stress.applied").cloned(),
        ..KeyMeasures::default()
    };
    // The page the verdict is about: the last one measured.
    let last_page = case
        .measurements
        .iter()
        .filter_map(|(name, v)| {
            let n: u32 = name.strip_prefix("page.")?.parse().ok()?;
            Some((n, v))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, v)| v);
    k.solid_density = last_page
        .and_then(|v| v.get("solid_density"))
        .and_then(finite);
    let folder = attempt_folder(dir, &case.info.id, case.shown_attempt());
    let Ok(text) = std::fs::read_to_string(folder.join("analysis.json")) else {
        return k;
    };
    let Ok(j) = serde_json::from_str::<Value>(&text) else {
        return k;
    };
    if k.solid_density.is_none() {
        k.solid_density = j.pointer("/calibration/solid_density").and_then(finite);
    }
    if let Some(cols) = j.pointer("/profiles/columns").and_then(|c| c.as_array()) {
        let v: Vec<f64> = cols.iter().filter_map(finite).collect();
        if !v.is_empty() {
            k.columns = Some(v.clone());
            k.column_mean = Some(round3(v.iter().sum::<f64>() / v.len() as f64));
            k.column_min = Some(round3(v.iter().copied().fold(f64::INFINITY, f64::min)));
        }
    }
    if let Some(bands) = j.get("bands").and_then(|b| b.as_array()) {
        for b in bands {
            if let (Some(name), Some(d)) = (
                b.get("name").and_then(|n| n.as_str()),
                b.get("density").and_then(finite),
            ) {
                k.bands.insert(name.to_string(), round3(d));
                if b.get("kind").and_then(|k| k.as_str()) == Some("solid") {
                    k.solid_bands.insert(name.to_string());
                }
            }
        }
    }
    if let Some(e) = j.pointer("/profiles/elements").and_then(|e| e.as_array()) {
        k.elements = Some(e.iter().map(|v| finite(v).map(round3)).collect());
    }
    k
}

//! One scan file checked end to end: read it, analyse it against its pattern, judge it
//! against a golden record. Shared by the `analyze` and `golden bless` commands (and the
//! runner later); it reads files but writes nothing.

use crate::analysis::{self, Analysis};
use crate::golden::{self, Golden, GoldenError, Judgement};
use crate::pattern::{self, PatternError};
use crate::scanfile::{self, ImageFileError};
use image::GrayImage;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error(transparent)]
    Image(#[from] ImageFileError),
    #[error(transparent)]
    Golden(#[from] GoldenError),
}

/// What to check a scan against.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    pub pattern: String,
    pub dots: u32,
    pub serial: u16,
    pub golden: Option<PathBuf>,
    pub nominal_density: Option<f64>,
}

pub struct Checked {
    pub scan: GrayImage,
    pub analysis: Analysis,
    pub judgement: Judgement,
    pub golden: Option<Golden>,
}

/// Reads, analyses and judges one scan. Errors are invalid input (exit code 2); a scan
/// that shows no pattern is not an error but an `unregistered` or `blank` defect.
pub fn check_file(scan: &Path, spec: &CheckSpec) -> Result<Checked, CheckError> {
    let pattern = pattern::render_named(&spec.pattern, spec.dots, spec.serial)?;
    let golden = match &spec.golden {
        Some(p) => Some(Golden::load(p)?),
        None => None,
    };
    let img = scanfile::read_scan(scan)?;
    let mut a = analysis::analyze(&img, &pattern);
    if let (Some(g), Some(p)) = (&golden, &spec.golden) {
        g.check_matches(p, &a)?;
    }
    let judgement = golden::judge(&mut a, golden.as_ref(), spec.nominal_density);
    Ok(Checked {
        scan: img,
        analysis: a,
        judgement,
        golden,
    })
}

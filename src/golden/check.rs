//! The one scan-check path, used by `rig analyze`, `rig golden bless` and `rig run` alike:
//! decode the scan → analyse it against its pattern → check the golden record fits the
//! pattern → judge → a verdict with its reasons. Also the verdict rules for the pages a
//! run could not scan (a job the printer rejected, a power cut before the first band) and
//! what a page torn off by a power cut is expected to show.
//!
//! It reads scan files and golden records and writes nothing; it never talks to an
//! instrument. A scan that shows no pattern is not an error but a verdict (`blank`,
//! `unregistered`, `wrong_pattern`); errors are invalid input.

use super::{judge_with, Golden, GoldenError, Judgement, Tolerances};
use crate::analysis::{self, Analysis, Defect};
use crate::defect::DefectKind;
use crate::pattern::{self, Pattern, PatternError};
use crate::scanfile::{self, ImageFileError};
use crate::verdict::Verdict;
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
    #[error("cannot read {path} to record its digest")]
    Digest {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How a page is judged beyond its golden record.
#[derive(Debug, Clone, Default)]
pub struct Judging {
    /// Solid density for the `light` check when there is no golden record.
    pub nominal_density: Option<f64>,
    /// Tolerances in place of the golden record's (a plan's acceptance).
    pub tolerances: Option<Tolerances>,
    /// Defects expected here: reported, not held against the print.
    pub expected: Vec<DefectKind>,
}

/// A golden record with the file it was read from (named in every error about it).
#[derive(Debug, Clone)]
pub struct Record {
    pub path: PathBuf,
    pub golden: Golden,
}

impl Record {
    /// Reads a record and checks that it fits `pattern` (name, width, profile lengths).
    pub fn load_for(path: &Path, pattern: &Pattern) -> Result<Record, GoldenError> {
        let golden = Golden::load(path)?;
        golden.check_fits(path, pattern)?;
        Ok(Record {
            path: path.to_path_buf(),
            golden,
        })
    }
}

/// One page checked: the scan, what was measured, and the judgement.
pub struct Page {
    pub scan: GrayImage,
    pub analysis: Analysis,
    pub judgement: Judgement,
}

/// Analyses and judges a decoded scan of `pattern`. The record is checked against the
/// pattern first: one that does not fit is invalid input, never a verdict.
pub fn check_image(
    scan: GrayImage,
    pattern: &Pattern,
    record: Option<&Record>,
    judging: &Judging,
) -> Result<Page, CheckError> {
    if let Some(r) = record {
        r.golden.check_fits(&r.path, pattern)?;
    }
    let analysis = analysis::analyze(&scan, pattern);
    let golden = record.map(|r| &r.golden);
    let tolerances = judging.tolerances.or(golden.map(|g| g.tolerances));
    let judgement = judge_with(
        &analysis,
        golden,
        judging.nominal_density,
        tolerances,
        &judging.expected,
    );
    Ok(Page {
        scan,
        analysis,
        judgement,
    })
}

/// [`check_image`] on a scan file; `bytes` are its contents when already read.
pub fn check_scan(
    path: &Path,
    bytes: Option<&[u8]>,
    pattern: &Pattern,
    record: Option<&Record>,
    judging: &Judging,
) -> Result<Page, CheckError> {
    let img = match bytes {
        Some(b) => scanfile::decode_scan(path, b)?,
        None => scanfile::read_scan(path)?,
    };
    check_image(img, pattern, record, judging)
}

/// What to check a scan file against, as `rig analyze` and `rig golden bless` name it.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    pub pattern: String,
    pub dots: u32,
    pub serial: u16,
    pub golden: Option<PathBuf>,
    pub nominal_density: Option<f64>,
}

/// Reads, analyses and judges one scan file. Errors are invalid input (exit code 2).
pub fn check_file(scan: &Path, spec: &CheckSpec) -> Result<Page, CheckError> {
    let pattern = pattern::render_named(&spec.pattern, spec.dots, spec.serial)?;
    let record = match &spec.golden {
        Some(p) => Some(Record::load_for(p, &pattern)?),
        None => None,
    };
    let judging = Judging {
        nominal_density: spec.nominal_density,
        ..Judging::default()
    };
    check_scan(scan, None, &pattern, record.as_ref(), &judging)
}

/// Analyses every scan file (a copy of the same page) and blesses a record from them: the
/// one path of `rig golden bless` and `rig golden capture`. Each copy is named in the
/// record as `shown`. Only each copy's analysis is kept: a decoded scan can be hundreds
/// of MB.
pub fn bless_scans(
    scans: &[(&Path, String)],
    spec: &CheckSpec,
    model: &str,
    condition: Option<&str>,
    allow_defects: bool,
) -> Result<Golden, CheckError> {
    let mut checked = Vec::with_capacity(scans.len());
    for (scan, shown) in scans {
        let analysis = check_file(scan, spec)?.analysis;
        let digest = crate::util::sha256_file(scan).map_err(|source| CheckError::Digest {
            path: scan.to_path_buf(),
            source,
        })?;
        checked.push((shown, analysis, digest));
    }
    let copies: Vec<super::Copy> = checked
        .iter()
        .map(|(shown, analysis, digest)| super::Copy {
            analysis,
            scan: shown.to_string(),
            sha256: digest.clone(),
        })
        .collect();
    Ok(super::bless(&copies, model, condition, allow_defects)?)
}

/// Where a page stands relative to a power cut in the middle of its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// No power cut in the middle of the job.
    None,
    /// The page that was printing when power went: torn off.
    Torn,
    /// The job printed again in full after power came back.
    Reprint,
}

/// The defects a page is expected to show: the condition's, plus `truncated` on a page
/// torn off by a power cut; a reprint after the cut is judged in full, whatever the
/// condition expects of the torn page.
pub fn expected_on_page(condition: &[DefectKind], cut: Cut) -> Vec<DefectKind> {
    let mut expected = condition.to_vec();
    match cut {
        Cut::None => {}
        Cut::Torn => {
            if !expected.contains(&DefectKind::Truncated) {
                expected.push(DefectKind::Truncated);
            }
        }
        Cut::Reprint => expected.retain(|k| *k != DefectKind::Truncated),
    }
    expected
}

/// The judgement of a job sent whole that the printer acknowledged no band of: it
/// rejected the job, the page is blank, and there is nothing to scan.
pub fn rejected_job(why: &str) -> Judgement {
    let blank = Defect {
        confidence: 1.0,
        ..Defect::page(DefectKind::Blank, format!("no band printed: {why}"))
    };
    Judgement {
        verdict: Verdict::Fail,
        reasons: vec![format!(
            "blank (fail): the printer acknowledged no band of the job ({why})"
        )],
        defects: vec![blank],
        density_reference: None,
        golden: None,
    }
}

/// The judgement when power went before the first band printed and the job was not sent
/// again: there is no paper; what counts is that the printer came back and answers.
pub fn no_page_after_cut() -> Judgement {
    Judgement {
        verdict: Verdict::Pass,
        reasons: vec![
            "power cut before the first band printed; the printer came back and answers".into(),
        ],
        defects: Vec::new(),
        density_reference: None,
        golden: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_page_expects_truncation_and_its_reprint_does_not() {
        let cond = [DefectKind::Truncated, DefectKind::Light];
        assert_eq!(expected_on_page(&[], Cut::Torn), [DefectKind::Truncated]);
        assert_eq!(expected_on_page(&cond, Cut::Torn), cond);
        assert_eq!(expected_on_page(&cond, Cut::Reprint), [DefectKind::Light]);
        assert_eq!(expected_on_page(&cond, Cut::None), cond);
    }

    #[test]
    fn a_rejected_job_is_a_blank_failure() {
        let j = rejected_job("paper out");
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(j.defects.len(), 1);
        assert_eq!(j.defects[0].kind, DefectKind::Blank);
        assert!(j.reasons[0].contains("paper out"), "{:?}", j.reasons);
        assert_eq!(no_page_after_cut().verdict, Verdict::Pass);
    }
}

//! Scan analysis: pure functions from an image and the pattern it should show to
//! measurements in printer dot space and named defects.
//!
//! Owns registration, calibration, coverage and density profiles and defect naming. It
//! must not read or write files, talk to instruments, or judge against golden records
//! (that is `golden`'s job): everything here is a function of its arguments.

pub mod defects;
pub mod dotmap;
pub mod flatfield;
pub mod idread;
pub mod register;
pub mod streaks;
pub mod warp;

use crate::defect::DefectKind;
use crate::pattern::{self, BandKind, Edge, Pattern, PatternId, PatternKind};
use dotmap::{finite_sum, finite_sum_at, median, Calibration, DotMap};
use image::GrayImage;
use register::{FiducialMatch, Registration};
use serde::{Deserialize, Serialize};

/// Version tag of the analysis JSON (docs/analysis-json.md).
pub const SCHEMA: &str = "printrig.analysis/1";

pub use crate::defect::{Axis, Severity, Side};

/// A named finding: what, where (inclusive `start..=end` on `axis`), how much and how sure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Defect {
    pub kind: DefectKind,
    pub severity: Severity,
    pub axis: Axis,
    pub start: u32,
    pub end: u32,
    /// Loss relative to what was expected, 0..1 (for banding: the amplitude).
    pub depth: f64,
    /// Share of the width (columns) or of the pattern's length (rows) concerned; for
    /// `truncated` the share that did print.
    pub fraction: f64,
    pub confidence: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<f64>,
    pub hint: &'static str,
    pub detail: String,
}

impl Defect {
    /// A finding about the whole page (blank, unregistered, wrong pattern), failing it.
    pub fn page(kind: DefectKind, detail: String) -> Defect {
        Defect {
            kind,
            severity: Severity::Fail,
            axis: Axis::Page,
            start: 0,
            end: 0,
            depth: 1.0,
            fraction: 1.0,
            confidence: 0.99,
            side: None,
            period: None,
            hint: kind.hint(),
            detail,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PatternInfo {
    pub name: &'static str,
    pub dots: u32,
    pub rows: u32,
    pub serial: u16,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanInfo {
    pub width: u32,
    pub height: u32,
    /// Paper grey seen by the coarse survey.
    pub paper_grey: f64,
    /// Share of pixels clearly darker than paper.
    pub ink_fraction: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RegistrationInfo {
    pub fiducials_found: usize,
    pub fiducials_expected: usize,
    /// Dot (x, y) → scan pixel (u, v): u = a·x + b·y + c, v = d·x + e·y + f.
    pub transform: [f64; 6],
    pub rotation_deg: f64,
    /// How the page lay on the scanner, in quarter turns clockwise (0, 90, 180, 270); the
    /// analysis reads it as if upright.
    pub orientation_deg: u16,
    /// Whether the fit proved itself: marks in a plausible constellation (scale alike
    /// along both axes, residual small) and the pattern id strip read back under it.
    /// Nothing but `unregistered` or `wrong_pattern` is reported on an unproven fit.
    pub proven: bool,
    /// Scan pixels per dot along the dot x and y axes.
    pub scale_x: f64,
    pub scale_y: f64,
    /// The scan resolution this implies (203.2-dpi dots).
    pub dpi_x: f64,
    pub dpi_y: f64,
    pub residual_dots: f64,
    /// "affine" with marks in two rows, "similarity" from marks on one line.
    pub model: &'static str,
    /// Share of the pattern's dots that fell inside the scan.
    pub inside: f64,
    pub fiducials: Vec<FiducialMatch>,
    /// The local part of the map, on a proven fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warp: Option<WarpInfo>,
}

/// The registration's local part: dot (x, y) shows at `transform(x + columns(x), y +
/// rows(y))`, the shifts linear between their knots and flat beyond.
#[derive(Debug, Clone, Serialize)]
pub struct WarpInfo {
    /// `[column, shift]` knots in dots, measured on the marks' left and right sides.
    pub columns: Vec<[f64; 2]>,
    /// `[row, shift]` knots in dots, on the marks' top and bottom sides and the edges of
    /// the full-width bands.
    pub rows: Vec<[f64; 2]>,
    /// Edges measured.
    pub edges: usize,
    /// RMS distance of the edges from the shifts (where two edges share a knot), dots.
    pub residual_dots: f64,
    /// Where the pattern's corners (0, 0), (dots, 0), (0, ink end), (dots, ink end) show,
    /// in scan pixels, under the whole map.
    pub corners: [[f64; 2]; 4],
}

#[derive(Debug, Clone, Serialize)]
pub struct IdInfo {
    pub read: Option<PatternId>,
    pub copies_read: u32,
    pub matches: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CalibrationInfo {
    pub white: f64,
    pub solid: f64,
    /// Optical density of the solid reference against the paper.
    pub solid_density: f64,
    /// The paper's white over the page, read from the pattern's bare paper: every grey was
    /// scaled to the header's white before anything was measured.
    pub white_field: Option<flatfield::WhiteFieldInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BandMeasure {
    pub name: String,
    pub kind: &'static str,
    pub row_start: u32,
    pub row_end: u32,
    pub expected_coverage: f64,
    /// Mean measured coverage over the band's printed rows (the solid reference = 1).
    pub coverage: Option<f64>,
    /// Optical density of the band's mean reflectance.
    pub density: Option<f64>,
    /// Mean coverage of every dot column of the band (`col_start..col_end`), over the rows
    /// that printed (null when none did).
    pub columns: Vec<f64>,
    /// Mean coverage of every row of the band, along the feed.
    pub rows: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Profiles {
    /// Per dot column: coverage of the full-width bands relative to what they should
    /// have (1 = as expected). Absent for patterns without full-width bands.
    pub columns: Option<Vec<f64>>,
    /// Per dot row: share of the row's expected ink that came out (null where the row
    /// expects fewer than 8 dots).
    pub rows: Vec<Option<f64>>,
    /// Per dot column: strength of the isolated element relative to the median element
    /// (the `elements` pattern only).
    pub elements: Option<Vec<f64>>,
}

/// Everything measured on one scan.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub schema: &'static str,
    pub pattern: PatternInfo,
    pub scan: ScanInfo,
    pub registration: Option<RegistrationInfo>,
    pub id: IdInfo,
    pub calibration: Option<CalibrationInfo>,
    pub bands: Vec<BandMeasure>,
    pub profiles: Option<Profiles>,
    pub printed_rows: Option<u32>,
    pub expected_rows: u32,
    pub defects: Vec<Defect>,
    pub notes: Vec<String>,
    /// Stripes the scanner drew along its travel, seen beyond the print: the dot columns
    /// under them were not judged.
    pub scanner_streaks: Vec<streaks::Streak>,
}

impl Analysis {
    pub fn has(&self, kind: DefectKind) -> bool {
        self.defects.iter().any(|d| d.kind == kind)
    }
}

/// Below this share of dark pixels a scan is a blank page.
const BLANK_INK: f64 = 2e-4;
/// Widths tried when the expected layout does not register, to name a wrong page.
const COMMON_WIDTHS: [u32; 4] = [384, 512, 576, 640];

/// Analyses a scan of `pattern`.
pub fn analyze(img: &GrayImage, pattern: &Pattern) -> Analysis {
    let layout = &pattern.layout;
    let survey = register::survey(img);
    let mut a = Analysis {
        schema: SCHEMA,
        pattern: PatternInfo {
            name: layout.kind.name(),
            dots: layout.dots,
            rows: layout.rows,
            serial: layout.serial,
        },
        scan: ScanInfo {
            width: img.width(),
            height: img.height(),
            paper_grey: survey.white,
            ink_fraction: survey.dark_fraction,
        },
        registration: None,
        id: IdInfo {
            read: None,
            copies_read: 0,
            matches: None,
        },
        calibration: None,
        bands: Vec::new(),
        profiles: None,
        printed_rows: None,
        expected_rows: layout.ink_end,
        defects: Vec::new(),
        notes: Vec::new(),
        scanner_streaks: Vec::new(),
    };
    // A page with hardly any dark pixels may still carry a print too light to count as
    // dark: it is blank only if no registration proves itself on it.
    let blank = |a: &mut Analysis| {
        a.defects.push(Defect::page(
            DefectKind::Blank,
            format!(
                "no ink on the page ({:.4} % of pixels darker than paper, and no pattern marks)",
                survey.dark_fraction * 100.0
            ),
        ));
    };
    let mut regs = register::register_all(layout, &survey.candidates, 8);
    // Of the registrations that fit the marks, take the first under which the id strip
    // reads back: it settles which marks are which when some are missing, and which way
    // up the page lay (the marks alone look the same turned by half a turn). Only the
    // header is sampled here: the whole page is sampled once, under the chosen fit
    // completed and warped.
    let header_rows = pattern::HEADER_ROWS.min(layout.rows);
    let tried = regs.len();
    let first_reading = |regs: &[Registration]| {
        regs.iter().enumerate().find_map(|(i, r)| {
            let m = DotMap::sample(img, &r.map, layout.dots, header_rows);
            let (read, copies) = header_id(&m, r, layout, survey.white);
            read.map(|pid| (i, pid, copies))
        })
    };
    let mut chosen = first_reading(&regs);
    // Marks too faint for the survey (a light or banded print) are looked for where each
    // fit puts them: a fit on the few the survey saw may read once it has all.
    let completed = chosen.is_none();
    if completed {
        regs = regs
            .iter()
            .map(|r| register::complete(img, layout, &pattern.bitmap, r))
            .collect();
        chosen = first_reading(&regs);
    }
    // The marks among other squares at another grey level (a light print beside a darker
    // receipt): looked for at every level the page holds.
    if chosen.is_none() {
        let more = register::survey_every_level(img);
        if more.candidates.len() > survey.candidates.len() {
            let fits: Vec<Registration> = register::register_all(layout, &more.candidates, 8)
                .iter()
                .map(|r| register::complete(img, layout, &pattern.bitmap, r))
                .collect();
            if let Some(c) = first_reading(&fits) {
                chosen = Some(c);
                regs = fits;
            }
        }
    }
    let Some((idx, pid, copies)) = chosen else {
        // No fit of the marks (or none that proves itself): a page of another pattern, a
        // blank one, or not this page at all.
        if let Some(other) = identify_other(img, &survey, layout.kind, layout.dots) {
            a.id.read = Some(other);
            a.id.matches = Some(false);
            a.defects
                .push(wrong_pattern(layout.kind, layout.dots, &other));
            return a;
        }
        if survey.dark_fraction < BLANK_INK {
            blank(&mut a);
            return a;
        }
        // A page whose marks fit beyond their top row under some fit printed past its
        // header (a bottom row of marks taken for the top one would otherwise "prove" a
        // print that stopped at once).
        let top_marks = layout
            .fiducials
            .iter()
            .filter(|f| f.edge == Edge::Top)
            .count();
        let printed_past = regs
            .iter()
            .any(|r| r.found() > top_marks && r.residual_dots <= 1.0);
        if let Some(stopped) = regs
            .iter()
            .filter(|_| !printed_past)
            .find_map(|r| stopped_in_header(img, pattern, r, survey.white, &a))
        {
            return stopped;
        }
        if let Some(best) = regs.first() {
            let m = DotMap::sample(img, &best.map, layout.dots, layout.rows);
            a.registration = Some(registration_info(
                best,
                layout.fiducials.len(),
                m.inside_fraction(),
            ));
        }
        let why = match regs.first() {
            None => format!(
                "fewer than two of the {} fiducial marks found ({} mark-like blobs on the scan)",
                layout.fiducials.len(),
                survey.candidates.len()
            ),
            Some(best) => format!(
                "mark-like squares fit the pattern's marks ({} of {} under the best of {tried} fits), but the pattern id strip did not read back under any: not this pattern, or its header is unreadable",
                best.found(),
                layout.fiducials.len()
            ),
        };
        a.defects.push(Defect::page(DefectKind::Unregistered, why));
        return a;
    };
    let Some(survey_fit) = regs.into_iter().nth(idx) else {
        return a;
    };
    // The marks too faint for the survey, looked for where the fit puts them (unless the
    // fit was completed to read its id strip); marks that are not whole squares left out.
    let reg = if completed {
        survey_fit
    } else {
        register::complete(img, layout, &pattern.bitmap, &survey_fit)
    };
    // The local part: the edges of the marks and bands where the affine fit puts them. A
    // mark a dead block or a cut width runs through is not whole: its centre is not where
    // the pattern put it, and the page is fitted again without it.
    let (mut warp, cut) = warp::fit(img, layout, &reg);
    let refit = (!cut.is_empty())
        .then(|| register::without(&reg, &cut))
        .flatten();
    let reg = match refit {
        Some(refit) => {
            warp = warp::fit(img, layout, &refit).0;
            refit
        }
        None => reg,
    };
    let map = DotMap::sample_warped(img, &warp, layout.dots, layout.rows);
    let mut info = registration_info(&reg, layout.fiducials.len(), map.inside_fraction());
    info.warp = Some(warp_info(&warp, layout));
    a.id.read = Some(pid);
    a.id.copies_read = copies;
    let ok = pid.kind == layout.kind && pid.dots == layout.dots;
    a.id.matches = Some(ok);
    if !ok {
        a.registration = Some(info);
        a.defects
            .push(wrong_pattern(layout.kind, layout.dots, &pid));
        return a;
    }
    if let Some(why) = implausible(&reg) {
        a.registration = Some(info);
        a.defects.push(Defect::page(DefectKind::Unregistered, why));
        return a;
    }
    info.proven = true;
    let orientation = info.orientation_deg;
    a.registration = Some(info);
    if orientation != 0 {
        a.notes.push(format!(
            "the page lay turned {orientation}° on the scanner; analysed as upright"
        ));
    }
    if pid.serial != layout.serial {
        a.notes.push(format!(
            "page carries serial {} (expected {}): a page from another job of the same pattern",
            pid.serial, layout.serial
        ));
    }

    a.scanner_streaks = streaks::find(img, &reg.map, layout.dots, layout.rows);
    calibrate_and_measure(&mut a, img, map, pattern, &reg, &warp);
    a
}

/// Flat field, calibration and every measure of a registered page. False (and
/// `unregistered` reported) when the print's white or solid areas are not on the scan.
fn calibrate_and_measure(
    a: &mut Analysis,
    img: &GrayImage,
    map: DotMap,
    pattern: &Pattern,
    reg: &Registration,
    warp: &warp::Warp,
) -> bool {
    let layout = &pattern.layout;
    // The dot columns just outside the head's width on each side: no dot prints there,
    // so what ink they hold is the edge column's, moved out by blur or by a fraction of a
    // dot of registration.
    let column = |x: f64| DotMap::sample_warped(img, &warp.column(x), 1, layout.rows).values;
    let mut outside = [-1.0, layout.dots as f64].map(column);
    // Strips of paper 1–2 mm beside the print, where the roll is wider than the head.
    let margins: Vec<flatfield::Margin> = [
        -14.0,
        -10.0,
        layout.dots as f64 + 9.0,
        layout.dots as f64 + 13.0,
    ]
    .into_iter()
    .map(|x| flatfield::Margin { x, grey: column(x) })
    .collect();
    // Flat field: every dot scaled to the header's paper white, the dots past the paper's
    // end (a torn-off page on the bed) dropped.
    let sites = dotmap::white_sites(&pattern.bitmap, layout);
    let mut map = map;
    let field = flatfield::WhiteField::fit(
        &map,
        &sites,
        pattern::HEADER_ROWS.min(layout.rows),
        &margins,
    );
    if let Some(f) = &field {
        f.apply(&mut map);
        for (side, x) in outside.iter_mut().zip([0.0, layout.dots as f64 - 1.0]) {
            for (y, g) in side.iter_mut().enumerate() {
                *g = f.correct(*g, x, y as f64);
            }
        }
    }
    // The columns under a scanner's stripe are not the printer's to answer for.
    for st in &a.scanner_streaks {
        let [x0, x1] = st.dot_columns;
        if x0 == 0 {
            outside[0].fill(f32::NAN);
        }
        if x1 + 1 >= layout.dots {
            outside[1].fill(f32::NAN);
        }
        for row in map.values.chunks_exact_mut(layout.dots as usize) {
            for v in row.iter_mut().take(x1 as usize + 1).skip(x0 as usize) {
                *v = f32::NAN;
            }
        }
        a.notes.push(format!(
            "a stripe along the scanner's travel ({} grey levels, seen {} the print) crosses dots {x0}–{x1}: the scanner's, not judged",
            st.contrast,
            if st.seen == "both" { "above and below" } else { st.seen }
        ));
    }
    let Some(cal) = calibrate(&map, pattern, reg, &sites) else {
        a.defects.push(Defect::page(
            DefectKind::Unregistered,
            "marks found but the print's white or solid areas fall outside the scan".into(),
        ));
        return false;
    };
    a.calibration = Some(CalibrationInfo {
        white: cal.white,
        solid: cal.solid,
        solid_density: cal.solid_density(),
        white_field: field.as_ref().map(|f| f.info()),
    });
    if reg.residual_dots > 1.5 {
        a.notes.push(format!(
            "registration residual {:.2} dots: locations may be off by that much",
            reg.residual_dots
        ));
    }
    measure(a, &map, &outside, &cal, pattern);
    true
}

/// The print of a page whose id strip could not be read whole because the print stopped
/// inside it or before it: every mark of the top row found in place, the print over
/// before the strip's last row, and no line of the strip that printed reading as another
/// pattern's. Either at least two of its lines read as this pattern's (residual under a
/// dot), or the print stopped before the strip's second line, so that nothing but the top
/// marks (and part of a line) printed: then the four marks, in their uneven spacing, must
/// fit within half a dot. Such a page is `truncated`, and nothing else is said of it.
/// `None` when that is not what the scan shows.
fn stopped_in_header(
    img: &GrayImage,
    pattern: &Pattern,
    reg: &Registration,
    white: f64,
    base: &Analysis,
) -> Option<Analysis> {
    let layout = &pattern.layout;
    let top_all = layout
        .fiducials
        .iter()
        .zip(&reg.fiducials)
        .filter(|(f, _)| f.edge == Edge::Top)
        .all(|(_, m)| m.found.is_some());
    if !top_all || reg.residual_dots > 1.0 || reg.map.skew_deg().abs() > 5.0 {
        return None;
    }
    let id_top = layout.id_strips.iter().map(|&(_, y)| y).min()?;
    let id_end = layout
        .id_strips
        .iter()
        .map(|&(_, y)| y + pattern::id::STRIP_H)
        .max()?;
    // The lines of the id strip that printed must read as this pattern's: read on the
    // header alone, before the whole page is measured.
    let header = DotMap::sample(
        img,
        &reg.map,
        layout.dots,
        pattern::HEADER_ROWS.min(layout.rows),
    );
    let expected = PatternId {
        kind: layout.kind,
        dots: layout.dots,
        serial: layout.serial,
    };
    let contrast = id_contrast(&header, reg, layout, white);
    let (agree, disagree) = idread::line_agreement(&header, &layout.id_strips, &expected, contrast);
    if disagree > 0 {
        return None;
    }
    let proven_by_lines = agree >= 2;
    // Proven by the marks alone, the header after them must lie on the scan: a row of
    // marks near the scan's edge, the page beyond it off the image (a page turned over),
    // shows nothing of where a print stopped.
    if !proven_by_lines && (reg.residual_dots > 0.5 || header.inside_fraction() < 0.9) {
        return None;
    }
    let map = DotMap::sample(img, &reg.map, layout.dots, layout.rows);
    let mut trial = base.clone();
    let mut info = registration_info(reg, layout.fiducials.len(), map.inside_fraction());
    if !calibrate_and_measure(
        &mut trial,
        img,
        map,
        pattern,
        reg,
        &warp::Warp::affine(reg.map),
    ) {
        return None;
    }
    let limit = if proven_by_lines {
        id_end
    } else {
        id_top + pattern::id::CELL_H
    };
    if trial.printed_rows.is_none_or(|r| r >= limit) {
        return None;
    }
    trial.defects.retain(|d| d.kind == DefectKind::Truncated);
    if trial.defects.is_empty() {
        return None;
    }
    info.proven = true;
    trial.registration = Some(info);
    trial.notes.push(if proven_by_lines {
        format!("the print stopped inside its id strip: registered on the top row of marks, {agree} of the strip's lines read back")
    } else {
        "the print stopped before its id strip's second line: registered on the top row of marks alone, which fit their uneven spacing within half a dot".into()
    });
    Some(trial)
}

fn wrong_pattern(kind: PatternKind, dots: u32, got: &PatternId) -> Defect {
    Defect::page(
        DefectKind::WrongPattern,
        format!(
            "page says {} at {} dots (serial {}), expected {} at {} dots",
            got.kind, got.dots, got.serial, kind, dots
        ),
    )
}

/// Scan pixels per dot may differ between the axes by this share at most (a scanner's
/// per-axis dpi error and a stretched feed stay well inside it).
const MAX_ASPECT_ERROR: f64 = 0.07;
/// Beyond this residual the marks do not form the pattern's constellation, dots.
const MAX_RESIDUAL_DOTS: f64 = 4.0;

/// Why a fit that read the id strip is still not a plausible scan of the page, if it is not.
fn implausible(reg: &Registration) -> Option<String> {
    let (sx, sy) = reg.map.scale();
    let aspect = sx / sy.max(1e-9);
    if (aspect - 1.0).abs() > MAX_ASPECT_ERROR {
        return Some(format!(
            "the marks fit with {sx:.3} scan pixels per dot across and {sy:.3} along the feed: no scanner stretches a page that unevenly"
        ));
    }
    if reg.residual_dots > MAX_RESIDUAL_DOTS {
        return Some(format!(
            "the marks fit the pattern's constellation only to {:.1} dots (more than {MAX_RESIDUAL_DOTS})",
            reg.residual_dots
        ));
    }
    None
}

/// Tries the top marks and id strip of the common widths to name the page that is there.
fn identify_other(
    img: &GrayImage,
    survey: &register::Survey,
    expected_kind: PatternKind,
    expected_dots: u32,
) -> Option<PatternId> {
    let mut widths: Vec<u32> = COMMON_WIDTHS.to_vec();
    if !widths.contains(&expected_dots) {
        widths.push(expected_dots);
    }
    for dots in widths {
        let Ok(p) = pattern::render(PatternKind::Solid, dots, 0) else {
            continue;
        };
        let mut layout = p.layout;
        layout.fiducials.retain(|f| f.edge == Edge::Top);
        // The top row of marks can also fit the bottom row: try the best few fits.
        for reg in register::register_all(&layout, &survey.candidates, 4) {
            if reg.found() < 3 {
                continue;
            }
            let m = DotMap::sample(
                img,
                &reg.map,
                layout.dots,
                pattern::HEADER_ROWS.min(layout.rows),
            );
            if let (Some(pid), _) = header_id(&m, &reg, &layout, survey.white) {
                if pid.kind != expected_kind || pid.dots != expected_dots {
                    return Some(pid);
                }
            }
        }
    }
    None
}

/// Reads the id strip from a dot map of (at least) the header rows under a registration,
/// with the solid reference taken from the marks found in the header.
fn header_id(
    map: &DotMap,
    reg: &Registration,
    layout: &pattern::Layout,
    white: f64,
) -> (Option<PatternId>, u32) {
    idread::read(map, &layout.id_strips, id_contrast(map, reg, layout, white))
}

/// The grey difference an id cell pair must show to count: 15 % of the paper in the
/// marks' quiet zones (the page's most common bright grey when none is on the scan)
/// against the solid of the marks found in the header.
fn id_contrast(map: &DotMap, reg: &Registration, layout: &pattern::Layout, white: f64) -> f64 {
    let rows = pattern::HEADER_ROWS.min(map.rows);
    let mut solid: Vec<f32> = Vec::new();
    let mut paper: Vec<f32> = Vec::new();
    for (f, m) in layout.fiducials.iter().zip(&reg.fiducials) {
        if m.found.is_none() || f.y + f.size > rows {
            continue;
        }
        let q = f.size / 4;
        for y in f.y + q..f.y + f.size - q {
            for x in f.x + q..f.x + f.size - q {
                solid.push(map.at(x, y));
            }
        }
        // The quiet zone's middle, clear of the mark's blurred edge: the rows of the
        // mark, left and right of it.
        for y in f.y..f.y + f.size {
            for x in [f.x.checked_sub(6), Some(f.x + f.size + 5)]
                .into_iter()
                .flatten()
            {
                if x < map.dots {
                    paper.push(map.at(x, y));
                }
            }
        }
    }
    let white = median(&mut paper).unwrap_or(white);
    let solid = median(&mut solid).unwrap_or(white * 0.3);
    0.15 * (white - solid)
}

fn registration_info(reg: &Registration, expected: usize, inside: f64) -> RegistrationInfo {
    let (sx, sy) = reg.map.scale();
    RegistrationInfo {
        fiducials_found: reg.found(),
        fiducials_expected: expected,
        transform: reg.map.as_array(),
        rotation_deg: reg.map.rotation_deg(),
        orientation_deg: reg.map.orientation_deg(),
        proven: false,
        scale_x: sx,
        scale_y: sy,
        dpi_x: sx * crate::DOT_DPI,
        dpi_y: sy * crate::DOT_DPI,
        residual_dots: reg.residual_dots,
        model: if reg.affine { "affine" } else { "similarity" },
        inside,
        fiducials: reg.fiducials.clone(),
        warp: None,
    }
}

fn warp_info(w: &warp::Warp, layout: &pattern::Layout) -> WarpInfo {
    let (dx, dy) = (f64::from(layout.dots), f64::from(layout.ink_end));
    let corner = |x: f64, y: f64| {
        let (u, v) = w.apply(x, y);
        [(u * 1000.0).round() / 1000.0, (v * 1000.0).round() / 1000.0]
    };
    WarpInfo {
        columns: w.columns.knots.clone(),
        rows: w.rows.knots.clone(),
        edges: w.edges,
        residual_dots: w.residual_dots,
        corners: [
            corner(0.0, 0.0),
            corner(dx, 0.0),
            corner(0.0, dy),
            corner(dx, dy),
        ],
    }
}

/// Paper white from the pattern's blank areas; the solid reference from the darkest
/// fiducial found (its inner half, clear of blur).
fn calibrate(
    map: &DotMap,
    pattern: &Pattern,
    reg: &Registration,
    sites: &[(u32, u32)],
) -> Option<Calibration> {
    let mut whites: Vec<f32> = sites.iter().map(|&(x, y)| map.at(x, y)).collect();
    let white = median(&mut whites)?;
    let mut solid = f64::INFINITY;
    for (f, m) in pattern.layout.fiducials.iter().zip(&reg.fiducials) {
        if m.found.is_none() {
            continue;
        }
        let q = f.size / 4;
        let mut vals: Vec<f32> = Vec::new();
        for y in f.y + q..f.y + f.size - q {
            for x in f.x + q..f.x + f.size - q {
                vals.push(map.at(x, y));
            }
        }
        if let Some(m) = median(&mut vals) {
            solid = solid.min(m);
        }
    }
    (solid.is_finite() && white > solid).then_some(Calibration { white, solid })
}

fn band_kind_name(k: &BandKind) -> &'static str {
    match k {
        BandKind::Solid => "solid",
        BandKind::Tint => "tint",
        BandKind::Elements { .. } => "elements",
        BandKind::Sparse { .. } => "sparse",
        BandKind::Content => "content",
    }
}

/// Profiles, band measures and defects of a registered, calibrated scan.
fn measure(
    a: &mut Analysis,
    map: &DotMap,
    outside: &[Vec<f32>; 2],
    cal: &Calibration,
    pattern: &Pattern,
) {
    let layout = &pattern.layout;
    let dots = layout.dots as usize;
    let mut cov = map.to_coverage(cal);
    // Ink seen just outside an edge column that printed in that row is the edge column's.
    if dots > 0 {
        for (side, x) in outside.iter().zip([0, dots - 1]) {
            for (y, g) in side.iter().enumerate().take(layout.rows as usize) {
                let i = y * dots + x;
                if pattern.bitmap.get(x as u32, y as u32) && !cov.values[i].is_nan() {
                    let spill = cal.coverage(*g);
                    if spill > 0.0 {
                        cov.values[i] += spill;
                    }
                }
            }
        }
    }

    // Per-row share of expected ink: the printed length. The whole row's coverage is
    // summed (blur moves ink between columns but keeps its total), so thin lines and
    // sparse tints count fully at any resolution.
    let mut ink_rows: Vec<Option<f64>> = Vec::with_capacity(layout.rows as usize);
    for y in 0..layout.rows {
        let want: u32 = pattern.bitmap.row(y).iter().map(|&b| b as u32).sum();
        let got = finite_sum(cov.row(y)).0;
        ink_rows.push((want >= 8).then(|| got / want as f64));
    }
    let (printed_end, truncated) = defects::truncation(&ink_rows, layout.ink_end);
    a.printed_rows = Some(printed_end);

    // Column profile of the full-width bands (rows that printed only).
    let mut col_sum = vec![0.0f64; dots];
    let mut col_want = vec![0.0f64; dots];
    let mut have_full = false;
    for b in &layout.bands {
        if !matches!(b.kind, BandKind::Solid | BandKind::Tint) {
            continue;
        }
        // Whole dither periods only, so every column holds its share of dots.
        let rows = (b.row_end.min(printed_end).saturating_sub(b.row_start)) / 8 * 8;
        for y in b.row_start..b.row_start + rows {
            have_full = true;
            for (c, v) in cov.row(y).iter().enumerate() {
                if !v.is_nan() {
                    col_sum[c] += *v as f64;
                    col_want[c] += b.coverage;
                }
            }
        }
    }
    let columns: Option<Vec<f64>> = if have_full {
        Some(
            col_sum
                .iter()
                .zip(&col_want)
                .map(|(s, w)| if *w > 0.0 { s / w } else { f64::NAN })
                .collect(),
        )
    } else {
        content_columns(&cov, pattern, printed_end)
    };

    // Band measures: mean coverage and density, and the band's own column and row
    // profiles (coverage over the rows that printed).
    for b in &layout.bands {
        let (c0, c1) = (b.col_start as usize, b.col_end as usize);
        let (mut sum, mut refl, mut n) = (0.0f64, 0.0f64, 0u64);
        let mut col_sum = vec![0.0f64; c1 - c0];
        let mut col_n = vec![0u32; c1 - c0];
        let mut rows = Vec::with_capacity(b.rows() as usize);
        for y in b.row_start..b.row_end {
            let row = &cov.row(y)[c0..c1];
            let (rs, rn) = finite_sum(row);
            if y < printed_end {
                sum += rs;
                n += rn as u64;
                refl += finite_sum(&map.row(y)[c0..c1]).0;
                for ((s, k), &v) in col_sum.iter_mut().zip(col_n.iter_mut()).zip(row) {
                    if !v.is_nan() {
                        *s += v as f64;
                        *k += 1;
                    }
                }
            }
            rows.push(if rn > 0 {
                round4(rs / rn as f64)
            } else {
                f64::NAN
            });
        }
        a.bands.push(BandMeasure {
            name: b.name.clone(),
            kind: band_kind_name(&b.kind),
            row_start: b.row_start,
            row_end: b.row_end,
            expected_coverage: b.coverage,
            coverage: (n > 0).then(|| sum / n as f64),
            density: (n > 0).then(|| cal.density(refl / n as f64)),
            columns: col_sum
                .iter()
                .zip(&col_n)
                .map(|(s, &k)| {
                    if k > 0 {
                        round4(s / k as f64)
                    } else {
                        f64::NAN
                    }
                })
                .collect(),
            rows,
        });
    }

    let mut found: Vec<Defect> = Vec::new();
    if let Some(rel) = &columns {
        found.extend(defects::column_defects(rel));
    }

    // Isolated elements.
    let elements = element_strengths(&cov, pattern, printed_end);
    if let Some(s) = &elements {
        let extra = defects::element_defects(s, &found);
        found.extend(extra);
    }

    if let Some(rel) = &columns {
        let limits = if have_full {
            defects::FADE_LIMITS
        } else {
            defects::CONTENT_FADE_LIMITS
        };
        if let Some(d) = defects::fade_across(rel, &found, limits) {
            found.push(d);
        }
    }

    // Solid rows along the feed, over the columns that printed.
    // Columns that printed: all but those inside a column defect.
    let good: Vec<usize> = match &columns {
        Some(_) => (0..dots)
            .filter(|&c| {
                !found.iter().any(|d| {
                    d.kind != DefectKind::FadeAcross
                        && d.axis == Axis::Columns
                        && (d.start as usize) <= c
                        && c <= d.end as usize
                })
            })
            .collect(),
        None => Vec::new(),
    };
    let mut runs: Vec<Vec<(u32, f64)>> = Vec::new();
    if !good.is_empty() {
        for b in &layout.bands {
            if b.kind != BandKind::Solid {
                continue;
            }
            let mut run = Vec::new();
            for y in b.row_start..b.row_end.min(printed_end) {
                let row = cov.row(y);
                let (s, n) = finite_sum_at(row, &good);
                if n > 0 {
                    run.push((y, s / n as f64));
                }
            }
            if !run.is_empty() {
                runs.push(run);
            }
        }
    }
    let all_rows: Vec<(u32, f64)> = runs.iter().flatten().copied().collect();
    if let Some(d) = defects::fade_along(&all_rows, layout.ink_end) {
        found.push(d);
    }
    if let Some(d) = defects::banding(&runs) {
        found.push(d);
    }

    if layout.kind == PatternKind::DenseSparse {
        let pairs = dense_sparse_pairs(map, cal, pattern, printed_end, &good);
        if let Some(d) = defects::dense_line_fade(&pairs, layout.ink_end) {
            found.push(d);
        }
    }
    if let Some(t) = truncated {
        found.push(t);
    }
    a.defects.extend(found);
    a.profiles = Some(Profiles {
        columns: columns.map(|v| v.into_iter().map(round4).collect()),
        rows: ink_rows.into_iter().map(|r| r.map(round4)).collect(),
        elements: elements.map(|v| v.into_iter().map(round4).collect()),
    });
}

/// Dots of ink a column of a content band must ask for to be judged: fewer, and the blur
/// of the characters beside it decides its value.
const MIN_CONTENT_DOTS: f64 = 24.0;

/// How far (dots) from a printed dot ink on bare paper is taken as blurred out of it.
const SPILL_REACH: usize = 2;
/// Bare paper this far (dots) from any ink in its row reads the paper's own white.
const PAPER_DISTANCE: usize = 4;
/// Dots either side of a column over which the paper's local white is read.
const PAPER_SPAN: usize = 8;

/// The column profile of a pattern without full-width bands (the receipt): per dot
/// column, the coverage that came out over the content's printed rows against the ink the
/// pattern puts there. Blur moves a character's ink sideways, never off the page, so in
/// every row the ink read on a bare dot within [`SPILL_REACH`] of a printed one is given
/// back to the nearest printed dot, after the paper's own local offset (the grey of bare
/// paper far from any ink in the same columns) is taken off every dot; each column is
/// then read over itself and its neighbours. Columns the pattern leaves almost bare have
/// no value, and their ink goes to the nearest judged column.
fn content_columns(cov: &DotMap, pattern: &Pattern, printed_end: u32) -> Option<Vec<f64>> {
    let dots = pattern.layout.dots as usize;
    let rows: Vec<u32> = pattern
        .layout
        .bands
        .iter()
        .filter(|b| b.kind == BandKind::Content)
        .flat_map(|b| b.row_start..b.row_end.min(printed_end).min(cov.rows))
        .collect();
    // Distance of every dot of a content row to the nearest dot the row prints.
    let distances = |bits: &[u8], out: &mut Vec<usize>| {
        out.clear();
        out.resize(dots, usize::MAX);
        let printed = |c: usize| bits.get(c).is_some_and(|&b| b != 0);
        let mut last = None;
        for (c, d) in out.iter_mut().enumerate() {
            if printed(c) {
                last = Some(c);
            }
            *d = last.map_or(usize::MAX, |l| c - l);
        }
        let mut next = None;
        for (c, d) in out.iter_mut().enumerate().rev() {
            if printed(c) {
                next = Some(c);
            }
            *d = (*d).min(next.map_or(usize::MAX, |n| n - c));
        }
    };
    // The paper's local offset: bare paper far from any ink, per column, smoothed.
    let mut dist = Vec::with_capacity(dots);
    let (mut far_sum, mut far_n) = (vec![0.0f64; dots], vec![0u32; dots]);
    for &y in &rows {
        distances(pattern.bitmap.row(y), &mut dist);
        for (c, v) in cov.row(y).iter().enumerate().take(dots) {
            if dist[c] > PAPER_DISTANCE && !v.is_nan() {
                far_sum[c] += *v as f64;
                far_n[c] += 1;
            }
        }
    }
    let all_n: u32 = far_n.iter().sum();
    let all = if all_n > 0 {
        far_sum.iter().sum::<f64>() / all_n as f64
    } else {
        0.0
    };
    let offset: Vec<f64> = (0..dots)
        .map(|c| {
            let r = c.saturating_sub(PAPER_SPAN)..(c + PAPER_SPAN + 1).min(dots);
            let n: u32 = far_n[r.clone()].iter().sum();
            if n >= 64 {
                far_sum[r].iter().sum::<f64>() / n as f64
            } else {
                all
            }
        })
        .collect();

    let mut got = vec![0.0f64; dots];
    let mut want = vec![0.0f64; dots];
    let mut any = false;
    for &y in &rows {
        let bits = pattern.bitmap.row(y);
        distances(bits, &mut dist);
        let row = cov.row(y);
        for c in 0..dots {
            let v = row[c];
            if dist[c] > SPILL_REACH || v.is_nan() {
                continue;
            }
            any = true;
            let ink = v as f64 - offset[c];
            if dist[c] == 0 {
                got[c] += ink;
                want[c] += 1.0;
                continue;
            }
            // Ink on a bare dot beside the print: the nearest printed dot's (or split
            // between the two at the same distance).
            let d = dist[c];
            let owners: Vec<usize> = [c.checked_sub(d), Some(c + d)]
                .into_iter()
                .flatten()
                .filter(|&o| o < dots && bits.get(o).is_some_and(|&b| b != 0))
                .collect();
            for &o in &owners {
                got[o] += ink / owners.len() as f64;
            }
        }
    }
    if !any {
        return None;
    }
    // A column that asks for too few dots to be judged holds a few dots whose blur the
    // judged columns beside it share: they and their ink go to the nearest judged column
    // within reach (split between two at the same distance).
    let judged: Vec<usize> = (0..dots).filter(|&c| want[c] >= MIN_CONTENT_DOTS).collect();
    let (mut got_j, mut want_j) = (got.clone(), want.clone());
    for c in (0..dots).filter(|&c| want[c] < MIN_CONTENT_DOTS) {
        got_j[c] = 0.0;
        want_j[c] = 0.0;
        let at = judged.partition_point(|&j| j < c);
        let left = at.checked_sub(1).map(|i| judged[i]);
        let right = judged.get(at).copied();
        let dist = |j: Option<usize>| j.map_or(usize::MAX, |j| j.abs_diff(c));
        let (dl, dr) = (dist(left), dist(right));
        let nearest: Vec<usize> = [(left, dl), (right, dr)]
            .into_iter()
            .filter(|&(_, d)| d <= SPILL_REACH && d == dl.min(dr))
            .filter_map(|(j, _)| j)
            .collect();
        for &j in &nearest {
            got_j[j] += got[c] / nearest.len() as f64;
            want_j[j] += want[c] / nearest.len() as f64;
        }
    }
    let (got, want) = (got_j, want_j);
    Some(
        (0..dots)
            .map(|c| {
                let lo = c.saturating_sub(1);
                let hi = (c + 2).min(dots);
                let w: f64 = want[lo..hi].iter().sum();
                if want[c] < MIN_CONTENT_DOTS || w <= 0.0 {
                    f64::NAN
                } else {
                    got[lo..hi].iter().sum::<f64>() / w
                }
            })
            .collect(),
    )
}

fn round4(v: f64) -> f64 {
    if v.is_finite() {
        (v * 1e4).round() / 1e4
    } else {
        v
    }
}

/// Strength of every isolated element: coverage integrated over its period window, over
/// the rows of its staircase step, relative to the median element.
fn element_strengths(cov: &DotMap, pattern: &Pattern, printed_end: u32) -> Option<Vec<f64>> {
    let dots = pattern.layout.dots as i64;
    let mut s = vec![f64::NAN; dots as usize];
    let mut any = false;
    for b in &pattern.layout.bands {
        let BandKind::Elements { period, phase } = b.kind else {
            continue;
        };
        let (r0, r1) = (b.row_start + 2, (b.row_end - 2).min(printed_end));
        if r1 <= r0 {
            continue;
        }
        let half = (period as i64 - 1) / 2;
        let mut c = phase as i64;
        while c < dots {
            let (mut acc, mut n) = (0.0, 0u32);
            for y in r0..r1 {
                let row = cov.row(y);
                let mut line = 0.0;
                let mut ok = true;
                for dx in -half..=half {
                    let x = c + dx;
                    if x < 0 || x >= dots {
                        continue;
                    }
                    let v = row[x as usize];
                    if v.is_nan() {
                        ok = false;
                        break;
                    }
                    line += v as f64;
                }
                if ok {
                    acc += line;
                    n += 1;
                }
            }
            if n > 0 {
                s[c as usize] = acc / n as f64;
                any = true;
            }
            c += period as i64;
        }
    }
    if !any {
        return None;
    }
    let mut vals: Vec<f32> = s.iter().map(|&v| v as f32).collect();
    let med = median(&mut vals)?;
    if med <= 0.05 {
        return Some(s.iter().map(|_| 0.0).collect());
    }
    Some(s.into_iter().map(|v| v / med).collect())
}

/// (dense OD, sparse OD, first row, last row) for each dense band and the sparse band
/// after it; sparse OD is read inside the blocks, clear of their blurred edges.
fn dense_sparse_pairs(
    map: &DotMap,
    cal: &Calibration,
    pattern: &Pattern,
    printed_end: u32,
    good: &[usize],
) -> Vec<(f64, f64, u32, u32)> {
    let bands = &pattern.layout.bands;
    let mut out = Vec::new();
    for w in bands.windows(2) {
        let (d, s) = (&w[0], &w[1]);
        let BandKind::Sparse {
            offset,
            block,
            pitch,
        } = s.kind
        else {
            continue;
        };
        if d.kind != BandKind::Solid || s.row_end > printed_end {
            continue;
        }
        let mut dv: Vec<f32> = Vec::new();
        for y in d.row_start + 6..d.row_end - 6 {
            let row = map.row(y);
            dv.extend(good.iter().map(|&c| row[c]));
        }
        let mut ok = vec![false; pattern.layout.dots as usize];
        good.iter().for_each(|&c| ok[c] = true);
        let mut sv: Vec<f32> = Vec::new();
        for y in s.row_start + 6..s.row_end - 6 {
            let row = map.row(y);
            let mut x = offset;
            while x + block <= pattern.layout.dots {
                for c in x + 2..x + block - 2 {
                    if ok[c as usize] {
                        sv.push(row[c as usize]);
                    }
                }
                x += pitch;
            }
        }
        if let (Some(dg), Some(sg)) = (median(&mut dv), median(&mut sv)) {
            out.push((cal.density(dg), cal.density(sg), d.row_start, d.row_end - 1));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The receipt's coverage as a scan gives it: every dot the pattern prints at 1, with
    /// `spill` of each edge dot's ink blurred into the bare dot beside it, bare paper at
    /// `paper` (a white reference a little off), and `dead` columns that never print.
    fn receipt_coverage(pattern: &Pattern, spill: f32, paper: f32, dead: &[usize]) -> DotMap {
        let (dots, rows) = (pattern.layout.dots as usize, pattern.layout.rows);
        let mut values = vec![paper; dots * rows as usize];
        for y in 0..rows {
            let bits = pattern.bitmap.row(y);
            let row = &mut values[y as usize * dots..][..dots];
            for c in (0..dots).filter(|&c| bits[c] != 0 && !dead.contains(&c)) {
                row[c] += 1.0 - paper;
                for n in [c.wrapping_sub(1), c + 1] {
                    if n < dots && bits[n] == 0 {
                        row[c] -= spill;
                        row[n] += spill;
                    }
                }
            }
        }
        DotMap {
            dots: dots as u32,
            rows,
            values,
        }
    }

    #[test]
    fn content_columns_read_alike_on_any_scanner_and_a_dead_column_short() {
        let pattern = pattern::render(PatternKind::Receipt, 384, 0).expect("receipt renders");
        let end = pattern.layout.ink_end;
        let columns = |spill, paper, dead: &[usize]| {
            content_columns(
                &receipt_coverage(&pattern, spill, paper, dead),
                &pattern,
                end,
            )
            .expect("the receipt has content")
        };
        // A sharp scan with a true white, against a blurred one (a fifth of every edge
        // dot's ink in the gap beside it) whose white reference is 2 % off over the
        // receipt's hundreds of bare rows: the golden record is blessed on one, pages
        // are judged on the other.
        let sharp = columns(0.0, 0.0, &[]);
        let soft = columns(0.2, -0.02, &[]);
        let judged: Vec<usize> = (0..384).filter(|&c| sharp[c].is_finite()).collect();
        assert!(judged.len() > 200, "{} judged columns", judged.len());
        let worst = judged
            .iter()
            .map(|&c| (sharp[c] - soft[c]).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 0.08,
            "a column reads {worst:.3} apart on two scanners"
        );
        // A dead element loses its column (read with its neighbours: about two thirds).
        let dead = judged
            .iter()
            .copied()
            .filter(|&c| sharp[c - 1].is_finite() && sharp[c + 1].is_finite())
            .nth(40)
            .expect("a judged column between judged ones");
        let broken = columns(0.2, -0.02, &[dead]);
        assert!(
            soft[dead] - broken[dead] > 0.2,
            "dead column {dead} reads {:.3} against {:.3}",
            broken[dead],
            soft[dead]
        );
    }
}

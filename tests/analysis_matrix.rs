//! Every fault model on the pattern meant to reveal it, scanned at 300, 600 and 1200 dpi
//! with 0°, +2° and −2° skew, must be named with the right defect kind at the right place;
//! healthy prints of every pattern over 50 seeds must show no defect at all.

mod common;

use common::*;
use printrig::analysis::Side;
use printrig::defect::DefectKind;
use printrig::pattern::PatternKind;
use printrig::verdict::Verdict;

#[derive(Clone, Copy)]
enum Where {
    /// Columns start..=end, each within ±2 dots.
    Columns(u32, u32),
    /// The lighter / missing side.
    Side(Side),
    /// Print stops where the printer stopped, within ±2 % of the pattern's length.
    Stop,
    /// Ink running dry fades out before it stops: from 10 % before to 2 % after.
    FadeOut,
    /// A period along the feed, ±10 %.
    Period(f64),
    Anywhere,
}

fn check(kind: PatternKind, faults: &[&str], want: DefectKind, at: Where) {
    let dots = 576;
    let golden = golden_for(kind, dots);
    let mut failures = Vec::new();
    let mut n = 0u64;
    for dpi in [300.0, 600.0, 1200.0] {
        for skew in [0.0, 2.0, -2.0] {
            n += 1;
            let seed = 1000 + n;
            let p = print(kind, dots, faults, seed);
            let img = scan_page(&first_page(&p), dpi, skew, seed);
            let (_, j) = analyze_judged(&img, &p.pattern, Some(&golden));
            let label = format!(
                "{kind} {faults:?} at {dpi} dpi, skew {skew:+}: found {}",
                describe_defects(&j.defects)
            );
            if j.verdict < Verdict::Fail && want != DefectKind::Light {
                failures.push(format!("{label}: verdict {}", j.verdict));
            }
            let Some(d) = j.defects.iter().find(|d| d.kind == want) else {
                failures.push(format!("{label}: no {want}"));
                continue;
            };
            let len = p.pattern.layout.ink_end as f64;
            let ok = match at {
                Where::Columns(s, e) => d.start.abs_diff(s) <= 2 && d.end.abs_diff(e) <= 2,
                Where::Side(side) => d.side == Some(side),
                Where::Stop => (d.start as f64 - printed_ink_end(&p) as f64).abs() <= 0.02 * len,
                Where::FadeOut => {
                    let t = printed_ink_end(&p) as f64;
                    d.start as f64 >= t - 0.1 * len && d.start as f64 <= t + 0.02 * len
                }
                Where::Period(pe) => d.period.is_some_and(|x| (x - pe).abs() <= 0.1 * pe),
                Where::Anywhere => true,
            };
            if !ok {
                failures.push(format!(
                    "{label}: {want} at {}..={} (truth stop row {})",
                    d.start,
                    d.end,
                    printed_ink_end(&p)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dead_element_on_elements() {
    check(
        PatternKind::Elements,
        &["dead=300"],
        DefectKind::DeadElement,
        Where::Columns(300, 300),
    );
}

#[test]
fn dead_element_pair_on_solid() {
    check(
        PatternKind::Solid,
        &["dead=150,151"],
        DefectKind::DeadElement,
        Where::Columns(150, 151),
    );
}

#[test]
fn dead_block_on_solid() {
    check(
        PatternKind::Solid,
        &["block=128:64"],
        DefectKind::BlockDropout,
        Where::Columns(128, 191),
    );
}

#[test]
fn dead_block_on_elements() {
    check(
        PatternKind::Elements,
        &["block=320:64"],
        DefectKind::BlockDropout,
        Where::Columns(320, 383),
    );
}

#[test]
fn dead_half_left_on_solid() {
    check(
        PatternKind::Solid,
        &["half=left"],
        DefectKind::HalfWidth,
        Where::Columns(0, 287),
    );
}

#[test]
fn dead_half_right_on_solid() {
    check(
        PatternKind::Solid,
        &["half=right"],
        DefectKind::HalfWidth,
        Where::Columns(288, 575),
    );
}

#[test]
fn wrong_width_setting_on_solid() {
    check(
        PatternKind::Solid,
        &["width=384"],
        DefectKind::HalfWidth,
        Where::Columns(384, 575),
    );
}

#[test]
fn head_tilt_on_solid() {
    check(
        PatternKind::Solid,
        &["tilt=0.4"],
        DefectKind::FadeAcross,
        Where::Side(Side::Right),
    );
    check(
        PatternKind::Solid,
        &["tilt=-0.4"],
        DefectKind::FadeAcross,
        Where::Side(Side::Left),
    );
}

#[test]
fn ink_draining_on_solid() {
    check(
        PatternKind::Solid,
        &["ink=0.7"],
        DefectKind::FadeAlong,
        Where::Anywhere,
    );
}

#[test]
fn ink_running_dry_on_solid() {
    check(
        PatternKind::Solid,
        &["ink=0.3"],
        DefectKind::Truncated,
        Where::FadeOut,
    );
}

#[test]
fn supply_sag_on_dense_sparse() {
    check(
        PatternKind::DenseSparse,
        &["voltage=17.5"],
        DefectKind::DenseLineFade,
        Where::Anywhere,
    );
}

#[test]
fn deep_sag_resets_on_dense_sparse() {
    check(
        PatternKind::DenseSparse,
        &["voltage=15"],
        DefectKind::Truncated,
        Where::Stop,
    );
}

#[test]
fn cold_on_ladder() {
    check(
        PatternKind::Ladder,
        &["temp=-10"],
        DefectKind::Light,
        Where::Anywhere,
    );
}

#[test]
fn power_cut_on_solid_and_receipt() {
    check(
        PatternKind::Solid,
        &["cut=0.8"],
        DefectKind::Truncated,
        Where::Stop,
    );
    check(
        PatternKind::Receipt,
        &["cut=0.9"],
        DefectKind::Truncated,
        Where::Stop,
    );
}

#[test]
fn banding_on_solid() {
    check(
        PatternKind::Solid,
        &["banding=32:0.3"],
        DefectKind::Banding,
        Where::Period(32.0),
    );
}

#[test]
fn combined_faults_are_each_named() {
    check(
        PatternKind::Solid,
        &["block=64:64", "tilt=0.4"],
        DefectKind::BlockDropout,
        Where::Columns(64, 127),
    );
    check(
        PatternKind::Solid,
        &["block=64:64", "tilt=0.4"],
        DefectKind::FadeAcross,
        Where::Side(Side::Right),
    );
}

fn healthy(kind: PatternKind) {
    let mut failures = Vec::new();
    for seed in 0..50u64 {
        let dots = if seed % 2 == 0 { 576 } else { 384 };
        let dpi = [300.0, 600.0, 1200.0][(seed % 3) as usize];
        let skew = ((seed * 37) % 61) as f64 / 10.0 - 3.0;
        let golden = golden_for(kind, dots);
        let p = print(kind, dots, &[], seed);
        let img = scan_page(&first_page(&p), dpi, skew, seed);
        let (a, j) = analyze_judged(&img, &p.pattern, Some(&golden));
        if !j.defects.is_empty() || j.verdict != Verdict::Pass {
            failures.push(format!(
                "{kind} {dots} dots seed {seed} at {dpi} dpi, skew {skew:+.1}: {} / {:?}",
                describe_defects(&j.defects),
                j.reasons
            ));
        }
        assert_eq!(
            a.id.matches,
            Some(true),
            "{kind} seed {seed}: id strip not read back"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn healthy_solid_has_no_defects() {
    healthy(PatternKind::Solid);
}

#[test]
fn healthy_ladder_has_no_defects() {
    healthy(PatternKind::Ladder);
}

#[test]
fn healthy_elements_has_no_defects() {
    healthy(PatternKind::Elements);
}

#[test]
fn healthy_dense_sparse_has_no_defects() {
    healthy(PatternKind::DenseSparse);
}

#[test]
fn healthy_receipt_has_no_defects() {
    healthy(PatternKind::Receipt);
}

// ---------------------------------------------------------------- orientation and proof

/// A page turned by a quarter, half or three-quarter turn on the bed is analysed as if it
/// lay upright: the same defects at the same dots, and the turn said in the JSON.
#[test]
fn turned_pages_are_analysed_as_upright() {
    use image::imageops::{rotate180, rotate270, rotate90};
    let mut failures = Vec::new();
    for (n, (kind, faults, want)) in [
        (PatternKind::Solid, &[][..], None),
        (PatternKind::Solid, &["dead=100"][..], Some((100, 100))),
        (
            PatternKind::Elements,
            &["block=300:40"][..],
            Some((300, 339)),
        ),
        (PatternKind::Receipt, &[][..], None),
    ]
    .into_iter()
    .enumerate()
    {
        let dots = 576;
        let golden = golden_for(kind, dots);
        let seed = 70 + n as u64;
        let p = print(kind, dots, faults, seed);
        let upright = scan_page(&first_page(&p), 600.0, 1.0, seed);
        for (turn, img) in [
            (90u16, rotate90(&upright)),
            (180, rotate180(&upright)),
            (270, rotate270(&upright)),
        ] {
            let (a, j) = analyze_judged(&img, &p.pattern, Some(&golden));
            let label = format!(
                "{kind} {faults:?} turned {turn}°: {}",
                describe_defects(&j.defects)
            );
            let Some(r) = &a.registration else {
                failures.push(format!("{label}: not registered"));
                continue;
            };
            if r.orientation_deg != turn || !r.proven {
                failures.push(format!(
                    "{label}: orientation {} proven {}",
                    r.orientation_deg, r.proven
                ));
            }
            match want {
                None if !j.defects.is_empty() || j.verdict != Verdict::Pass => {
                    failures.push(format!("{label}: verdict {}", j.verdict))
                }
                Some((s, e)) => {
                    let located = j.defects.iter().any(|d| {
                        matches!(d.kind, DefectKind::DeadElement | DefectKind::BlockDropout)
                            && d.start.abs_diff(s) <= 2
                            && d.end.abs_diff(e) <= 2
                    });
                    if !located || j.defects.len() != 1 {
                        failures.push(format!("{label}: expected one defect at {s}..={e}"));
                    }
                }
                None => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A fit of the marks proves itself by reading the pattern id back; a mirrored page, a
/// page of squares that merely look like marks, or a stretched image is `unregistered`
/// and nothing else is reported on it.
#[test]
fn a_registration_must_prove_itself() {
    use image::imageops::flip_horizontal;
    let kind = PatternKind::Solid;
    let p = print(kind, 576, &[], 5);
    let upright = scan_page(&first_page(&p), 600.0, 0.5, 5);
    let only_unregistered = |img: &image::GrayImage, what: &str| {
        let a = printrig::analysis::analyze(img, &p.pattern);
        let kinds: Vec<_> = a.defects.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [DefectKind::Unregistered], "{what}: {a:#?}");
        assert!(a.registration.as_ref().is_none_or(|r| !r.proven), "{what}");
        a
    };
    only_unregistered(&flip_horizontal(&upright), "mirrored page");

    // Squares the size of marks in the corners of a page, with a block of "text": the
    // constellation fits, but no id strip reads back under it.
    let mut fake = image::GrayImage::from_pixel(1500, 2200, image::Luma([235]));
    let mark = 32 * 600 / 203;
    for &(x, y) in &[
        (60, 60),
        (1350, 60),
        (60, 2000),
        (1350, 2000),
        (600, 60),
        (900, 60),
    ] {
        for yy in y..y + mark {
            for xx in x..x + mark {
                fake.put_pixel(xx, yy, image::Luma([25]));
            }
        }
    }
    for row in (300..1800).step_by(40) {
        for yy in row..row + 18 {
            for xx in (150..1350).filter(|x| (x / 23) % 3 != 0) {
                fake.put_pixel(xx, yy, image::Luma([40]));
            }
        }
    }
    let a = only_unregistered(&fake, "squares that are not this pattern");
    assert!(
        a.defects[0].detail.contains("id strip did not read back"),
        "{}",
        a.defects[0].detail
    );

    // The same page stretched to twice its height along the feed.
    let stretched = image::imageops::resize(
        &upright,
        upright.width(),
        upright.height() * 2,
        image::imageops::FilterType::Triangle,
    );
    let a = printrig::analysis::analyze(&stretched, &p.pattern);
    assert!(
        a.defects.iter().all(|d| d.kind == DefectKind::Unregistered),
        "stretched: {}",
        describe_defects(&a.defects)
    );
}

/// A print at 40 % of its normal optical density, or even 8 % (its solid a pale grey
/// that hardly any pixel counts as dark), is `light`: its marks still register, and the
/// golden density names it.
#[test]
fn a_very_light_print_is_light_not_blank() {
    for (kind, od_scale) in [
        (PatternKind::Solid, 0.4),
        (PatternKind::Ladder, 0.4),
        (PatternKind::Solid, 0.08),
    ] {
        let p = print(kind, 576, &[], 9);
        let scan = scan_page(&first_page(&p), 600.0, 0.7, 9);
        let white = scan.pixels().map(|px| px.0[0]).max().unwrap_or(255) as f64;
        // Optical density scales by 0.4: reflectance r → r^0.4 of the paper's.
        let light = image::GrayImage::from_fn(scan.width(), scan.height(), |x, y| {
            let r = (scan.get_pixel(x, y).0[0] as f64 / white).clamp(1e-3, 1.0);
            image::Luma([(r.powf(od_scale) * white).round() as u8])
        });
        let (a, j) = analyze_judged(&light, &p.pattern, Some(&golden_for(kind, 576)));
        assert!(
            a.registration.as_ref().is_some_and(|r| r.proven),
            "{kind} at {od_scale}: {}",
            describe_defects(&a.defects)
        );
        assert!(!j.defects.iter().any(|d| d.kind == DefectKind::Blank));
        assert!(
            j.defects.iter().any(|d| d.kind == DefectKind::Light),
            "{kind} at {od_scale}: {}",
            describe_defects(&j.defects)
        );
        assert!(
            j.verdict >= Verdict::Fail,
            "{kind} at {od_scale}: {}",
            j.verdict
        );
    }
}

/// A healthy print on a greyer roll (the paper's grey brought more than halfway down to
/// the ink, the ink as black as ever) reads a lower density against its own paper. Judged by a record that knows the paper
/// it was blessed on, it is not `light`; a light print on that record still is.
#[test]
fn a_greyer_roll_is_not_a_light_print() {
    let kind = PatternKind::Solid;
    let p = print(kind, 576, &[], 31);
    let scan = scan_page(&first_page(&p), 600.0, 0.7, 31);
    let clean = printrig::analysis::analyze(&scan, &p.pattern);
    let cal = clean
        .calibration
        .clone()
        .expect("the clean scan is calibrated");
    let mut record = golden_for(kind, 576);
    record.solid_density = cal.solid_density;
    record.paper_white = Some(cal.white);
    let remap = |f: &dyn Fn(f64) -> f64| {
        image::GrayImage::from_fn(scan.width(), scan.height(), |x, y| {
            image::Luma([f(scan.get_pixel(x, y).0[0] as f64)
                .round()
                .clamp(0.0, 255.0) as u8])
        })
    };
    let greyer = remap(&|g| cal.solid + (g - cal.solid).max(0.0) * 0.45);
    let has_light = |img: &image::GrayImage, record: &printrig::golden::Golden| {
        let (_, j) = analyze_judged(img, &p.pattern, Some(record));
        j.defects.iter().any(|d| d.kind == DefectKind::Light)
    };
    assert!(!has_light(&greyer, &record), "a greyer roll judged light");
    let mut unaware = record.clone();
    unaware.paper_white = None;
    assert!(
        has_light(&greyer, &unaware),
        "against its own paper alone the greyer roll reads light"
    );
    // Ink at 60 % of its density on the roll the record was blessed on.
    let light = remap(&|g| cal.white * (g / cal.white).clamp(1e-3, 1.0).powf(0.6));
    assert!(has_light(&light, &record), "a light print passed");
}

// ---------------------------------------------------------------- flat field

/// Light falling off by a fifth across the bed and a tenth along it, on a greyer roll,
/// moves nothing: healthy pages pass against records blessed on evenly lit scans.
#[test]
fn illumination_falloff_does_not_move_the_verdict() {
    let mut failures = Vec::new();
    for (n, kind) in PatternKind::ALL.into_iter().enumerate() {
        let seed = 200 + n as u64;
        let p = print(kind, 576, &[], seed);
        let scan = scan_page(&first_page(&p), 600.0, 1.2, seed);
        let (w, h) = scan.dimensions();
        let lit = image::GrayImage::from_fn(w, h, |x, y| {
            let gain = 0.93 * (1.0 - 0.2 * x as f64 / w as f64) * (1.0 - 0.1 * y as f64 / h as f64);
            image::Luma([(scan.get_pixel(x, y).0[0] as f64 * gain).round() as u8])
        });
        let (a, j) = analyze_judged(&lit, &p.pattern, Some(&golden_for(kind, 576)));
        if !j.defects.is_empty() || j.verdict != Verdict::Pass {
            failures.push(format!(
                "{kind}: {} / {:?}",
                describe_defects(&j.defects),
                j.reasons
            ));
        }
        let field = a.calibration.as_ref().and_then(|c| c.white_field.clone());
        assert!(
            field.as_ref().is_some_and(|f| f.max - f.min > 0.15),
            "{kind}: the falloff is measured: {field:?}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A page torn off early lying on the scanner's lid or bed: a lid brighter than a grey
/// roll, or a dark bed, is not paper, so the print stops where the paper does (even at a
/// tenth of its length) and nothing fades.
#[test]
fn a_torn_page_stops_where_the_paper_does() {
    let mut failures = Vec::new();
    for (n, (kind, at, roll, bed)) in [
        (PatternKind::Solid, 0.25, 0.7, 252u8),
        (PatternKind::Solid, 0.12, 1.0, 40),
        (PatternKind::Ladder, 0.14, 1.0, 25),
        (PatternKind::Receipt, 0.3, 0.75, 250),
    ]
    .into_iter()
    .enumerate()
    {
        let seed = 31 + n as u64;
        let p = print(kind, 576, &[], seed);
        let scan = scan_page(&first_page(&p), 600.0, 0.0, seed);
        let clean = printrig::analysis::analyze(&scan, &p.pattern);
        let t = clean.registration.as_ref().expect("registered").transform;
        let stop = (p.pattern.layout.ink_end as f64 * at).round();
        // Scan row of the stop along the page's middle column.
        let x = p.pattern.layout.dots as f64 / 2.0;
        let v_stop = (t[3] * x + t[4] * stop + t[5]) as u32;
        let torn = image::GrayImage::from_fn(scan.width(), scan.height(), |u, v| {
            if v >= v_stop {
                image::Luma([bed])
            } else {
                image::Luma([(scan.get_pixel(u, v).0[0] as f64 * roll).round() as u8])
            }
        });
        let (a, j) = analyze_judged(&torn, &p.pattern, Some(&golden_for(kind, 576)));
        let label = format!(
            "{kind} torn at {at} on grey {bed}: {}",
            describe_defects(&j.defects)
        );
        let field = a.calibration.as_ref().and_then(|c| c.white_field.clone());
        if field.as_ref().and_then(|f| f.paper_end).is_none() {
            failures.push(format!("{label}: paper's end not found ({field:?})"));
        }
        let len = p.pattern.layout.ink_end as f64;
        match j.defects.iter().find(|d| d.kind == DefectKind::Truncated) {
            Some(cut) if (cut.start as f64 - stop).abs() <= 0.02 * len => {}
            _ => failures.push(format!(
                "{label}: expected a stop at {stop} (printed rows {:?}, white field {field:?})",
                a.printed_rows
            )),
        }
        if j.defects.iter().any(|d| d.kind == DefectKind::FadeAlong) {
            failures.push(format!("{label}: a fade"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A print that stopped before its id strip's second line leaves the top row of marks and
/// at most part of a line: the four marks in their uneven spacing prove the page, and it
/// is `truncated` where it stopped, with nothing else said of it.
#[test]
fn a_print_that_stops_before_its_id_strip_is_truncated() {
    let mut failures = Vec::new();
    for (n, (kind, stop)) in [
        (PatternKind::Solid, 46u32),
        (PatternKind::DenseSparse, 57),
        (PatternKind::Elements, 44),
    ]
    .into_iter()
    .enumerate()
    {
        let seed = 61 + n as u64;
        let p = print(kind, 576, &[], seed);
        let scan = scan_page(&first_page(&p), 600.0, 1.0, seed);
        let clean = printrig::analysis::analyze(&scan, &p.pattern);
        let t = clean.registration.as_ref().expect("registered").transform;
        let white = clean.scan.paper_grey.round() as u8;
        // Everything from the stop row on is bare paper.
        let stopped = image::GrayImage::from_fn(scan.width(), scan.height(), |u, v| {
            let (x, y) = (u as f64, v as f64);
            // The pattern row of scan pixel (u, v), from the inverse of the map.
            let det = t[0] * t[4] - t[1] * t[3];
            let row = (t[0] * (y - t[5]) - t[3] * (x - t[2])) / det;
            if row >= stop as f64 {
                image::Luma([white])
            } else {
                *scan.get_pixel(u, v)
            }
        });
        let (a, j) = analyze_judged(&stopped, &p.pattern, Some(&golden_for(kind, 576)));
        let label = format!(
            "{kind} stopped at row {stop}: {}",
            describe_defects(&j.defects)
        );
        if !a.registration.as_ref().is_some_and(|r| r.proven) {
            failures.push(format!("{label}: not registered"));
        }
        let kinds: Vec<DefectKind> = j.defects.iter().map(|d| d.kind).collect();
        if kinds != [DefectKind::Truncated] {
            failures.push(format!("{label}: expected truncated alone"));
        }
        let len = p.pattern.layout.ink_end as f64;
        if let Some(d) = j.defects.first() {
            if (d.start as f64 - stop as f64).abs() > (0.02 * len).max(8.0) {
                failures.push(format!("{label}: stop at {}", d.start));
            }
        }
        if j.verdict != Verdict::Fail {
            failures.push(format!("{label}: verdict {}", j.verdict));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------- the receipt's columns

#[test]
fn half_width_on_receipt() {
    check(
        PatternKind::Receipt,
        &["half=right"],
        DefectKind::HalfWidth,
        Where::Side(Side::Right),
    );
    check(
        PatternKind::Receipt,
        &["half=left"],
        DefectKind::HalfWidth,
        Where::Side(Side::Left),
    );
}

#[test]
fn dead_block_on_receipt() {
    check(
        PatternKind::Receipt,
        &["block=200:48"],
        DefectKind::BlockDropout,
        Where::Columns(200, 247),
    );
}

#[test]
fn dead_elements_on_receipt() {
    check(
        PatternKind::Receipt,
        &["dead=101,102"],
        DefectKind::DeadElement,
        Where::Columns(101, 102),
    );
}

/// Dense rows printing at about half their darkness, a little worse towards one side (the
/// supply sags under the load of a full line), while sparse rows print normally: that is
/// `dense_line_fade`, and no column is missing.
#[test]
fn a_deep_dense_line_fade_is_not_a_dropout() {
    let kind = PatternKind::DenseSparse;
    let p = print(kind, 576, &[], 44);
    let scan = scan_page(&first_page(&p), 600.0, 0.8, 44);
    let clean = printrig::analysis::analyze(&scan, &p.pattern);
    let t = clean.registration.as_ref().expect("registered").transform;
    let white = clean.calibration.as_ref().expect("calibrated").white;
    // Scan pixel → dot: the inverse of the registration's affine map.
    let det = t[0] * t[4] - t[1] * t[3];
    let to_dot = |u: f64, v: f64| {
        let (du, dv) = (u - t[2], v - t[5]);
        (
            (t[4] * du - t[1] * dv) / det,
            (-t[3] * du + t[0] * dv) / det,
        )
    };
    let dense: Vec<(u32, u32)> = p
        .pattern
        .layout
        .bands
        .iter()
        .filter(|b| b.kind == printrig::pattern::BandKind::Solid)
        .map(|b| (b.row_start, b.row_end))
        .collect();
    let sagged = image::GrayImage::from_fn(scan.width(), scan.height(), |u, v| {
        let g = scan.get_pixel(u, v).0[0] as f64;
        let (x, y) = to_dot(u as f64 + 0.5, v as f64 + 0.5);
        let in_dense = dense
            .iter()
            .any(|&(a, b)| y >= a as f64 + 2.0 && y < b as f64 - 2.0)
            && (0.0..576.0).contains(&x);
        if !in_dense {
            return image::Luma([g as u8]);
        }
        // Darkness kept: 58 % at the left, 42 % at the right.
        let keep = 0.58 - 0.16 * x / 576.0;
        let r = (g / white).clamp(0.0, 1.0);
        image::Luma([((1.0 - keep * (1.0 - r)) * white).round().min(255.0) as u8])
    });
    let (_, j) = analyze_judged(&sagged, &p.pattern, Some(&golden_for(kind, 576)));
    assert!(
        j.defects
            .iter()
            .any(|d| d.kind == DefectKind::DenseLineFade),
        "{}",
        describe_defects(&j.defects)
    );
    assert!(
        !j.defects.iter().any(|d| matches!(
            d.kind,
            DefectKind::BlockDropout | DefectKind::HalfWidth | DefectKind::DeadElement
        )),
        "{}",
        describe_defects(&j.defects)
    );
}

// ---------------------------------------------------------------- scanner artefacts

/// A stripe along the scanner's travel through print, margins and bed — bright (a dead
/// sensor element over a solid band looks like a dead heater element) or dark (dust) — is
/// the scanner's: noted, its columns not judged, the healthy page passes.
#[test]
fn a_scanner_streak_is_not_a_printer_defect() {
    let mut failures = Vec::new();
    for (n, (kind, grey, width)) in [
        (PatternKind::Solid, 245u8, 2u32),
        (PatternKind::Elements, 30, 3),
        (PatternKind::Ladder, 250, 1),
        (PatternKind::Solid, 20, 2),
    ]
    .into_iter()
    .enumerate()
    {
        let seed = 300 + n as u64;
        let p = print(kind, 576, &[], seed);
        let mut img = scan_page(&first_page(&p), 600.0, 0.0, seed);
        let u0 = img.width() * (3 + n as u32) / 9;
        for v in 0..img.height() {
            for u in u0..u0 + width {
                img.put_pixel(u, v, image::Luma([grey]));
            }
        }
        let (a, j) = analyze_judged(&img, &p.pattern, Some(&golden_for(kind, 576)));
        let label = format!(
            "{kind}, stripe of {grey} at scan column {u0}: {} / {:?}",
            describe_defects(&j.defects),
            j.reasons
        );
        if a.scanner_streaks.len() != 1 {
            failures.push(format!("{label}: streaks {:?}", a.scanner_streaks));
        }
        if !j.defects.is_empty() || j.verdict != Verdict::Pass {
            failures.push(label);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

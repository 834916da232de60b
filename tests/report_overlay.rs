//! The overlay picture a run keeps for every case: the scan reduced, with each defect
//! tinted where it lies on the paper and the fiducials framed, written as a palette PNG
//! that any viewer shows as the same colours.

mod common;

use common::*;
use image::{GrayImage, RgbImage};
use printrig::analysis::Analysis;
use printrig::defect::DefectKind;
use printrig::pattern::PatternKind;
use printrig::report::overlay;

fn is_grey(p: [u8; 3]) -> bool {
    p[0] == p[1] && p[1] == p[2]
}

fn is_red_tint(p: [u8; 3]) -> bool {
    p[0] as i32 > p[1] as i32 + 40 && p[0] as i32 > p[2] as i32 + 40
}

/// A 300-dpi scan of the elements pattern with element 300 dead, and its analysis.
fn dead_element_scan() -> (GrayImage, Analysis) {
    let p = print(PatternKind::Elements, 576, &["dead=300"], 7);
    let img = scan_page(&first_page(&p), 300.0, 1.0, 7);
    let (a, _) = analyze_judged(
        &img,
        &p.pattern,
        Some(&golden_for(PatternKind::Elements, 576)),
    );
    assert!(
        a.defects.iter().any(|d| d.kind == DefectKind::DeadElement),
        "the dead element is found: {}",
        describe(&a)
    );
    (img, a)
}

/// The page's own defects, none expected, no golden findings.
fn marks(a: &Analysis) -> overlay::Marks<'_> {
    overlay::Marks {
        defects: &a.defects,
        ..Default::default()
    }
}

/// Where dot `x`, row `y` lands in the overlay (scan pixels reduced by `k`).
fn at(a: &Analysis, x: f64, y: f64, k: f64) -> (u32, u32) {
    let t = a.registration.as_ref().expect("registered").transform;
    let u = (t[0] * x + t[1] * y + t[2]) / k;
    let v = (t[3] * x + t[4] * y + t[5]) / k;
    (u as u32, v as u32)
}

#[test]
fn a_dead_element_is_tinted_red_down_its_column_and_the_scan_stays_grey_elsewhere() {
    let (img, a) = dead_element_scan();
    let o = overlay::draw(&img, &a, marks(&a));
    // A 300-dpi scan is smaller than the longest side allowed: not reduced.
    assert_eq!((o.width(), o.height()), img.dimensions());
    let rgb = o.to_rgb();
    let rows = a.expected_rows as f64;
    for frac in [0.2, 0.5, 0.8] {
        let (u, v) = at(&a, 300.5, rows * frac, 1.0);
        let p = rgb.get_pixel(u, v).0;
        assert!(is_red_tint(p), "dead column at row {frac}: {p:?}");
        // Columns well away from the defect show the scan, in grey.
        let (u, v) = at(&a, 100.5, rows * frac, 1.0);
        let p = rgb.get_pixel(u, v).0;
        assert!(is_grey(p), "healthy column: {p:?}");
    }
    // The grey is the scan's, to within the palette's 128 levels.
    let (w, h) = img.dimensions();
    for (x, y) in [(5, 5), (w / 3, h / 4), (w - 6, h - 6), (w / 2, h / 2)] {
        let want = img.get_pixel(x, y).0[0] as i32;
        let got = rgb.get_pixel(x, y).0;
        if is_grey(got) {
            assert!(
                (got[0] as i32 - want).abs() <= 2,
                "({x}, {y}): {got:?} for {want}"
            );
        }
    }
    // Every fiducial that was found is framed in green.
    let reg = a.registration.as_ref().expect("registered");
    assert!(reg.fiducials_found > 0);
    let green = rgb.pixels().filter(|p| p.0 == [20, 170, 40]).count();
    assert!(green > 40 * reg.fiducials_found, "{green} green pixels");
}

#[test]
fn the_png_is_a_palette_image_that_decodes_to_the_same_picture() {
    let (img, a) = dead_element_scan();
    for o in [
        overlay::draw(&img, &a, marks(&a)),
        overlay::draw_sized(&img, &a, marks(&a), 360),
    ] {
        let bytes = overlay::png(&o).expect("encodes");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes.as_slice()));
        let reader = decoder.read_info().expect("a PNG");
        assert_eq!(reader.info().color_type, png::ColorType::Indexed);
        assert_eq!(reader.info().bit_depth, png::BitDepth::Eight);
        let back: RgbImage = image::load_from_memory(&bytes).expect("decodes").to_rgb8();
        assert!(
            back.as_raw() == o.to_rgb().as_raw(),
            "decoded picture differs"
        );
        // A palette picture is much smaller than the grey scan it shows.
        assert!(bytes.len() < img.as_raw().len(), "{} bytes", bytes.len());
    }
}

#[test]
fn a_large_scan_is_reduced_to_the_longest_side_and_thumbnails_further() {
    let p = print(PatternKind::Solid, 576, &[], 3);
    let img = scan_page(&first_page(&p), 1200.0, 0.0, 3);
    let (a, _) = analyze_judged(&img, &p.pattern, None);
    let o = overlay::draw(&img, &a, marks(&a));
    assert_eq!(o.width().max(o.height()), overlay::MAX_SIDE);
    let t = overlay::draw_sized(&img, &a, marks(&a), 360);
    assert_eq!(t.width().max(t.height()), 360);
    let ratio = |w: u32, h: u32| w as f64 / h as f64;
    let (w, h) = img.dimensions();
    assert!((ratio(o.width(), o.height()) - ratio(w, h)).abs() < 0.01);
    assert!((ratio(t.width(), t.height()) - ratio(w, h)).abs() < 0.02);
}

#[test]
fn a_scan_that_cannot_be_registered_is_framed_in_red() {
    // Blank paper: no fiducials, no registration.
    let p = print(PatternKind::Solid, 576, &[], 5);
    let blank = GrayImage::from_pixel(600, 700, image::Luma([240]));
    let (a, _) = analyze_judged(&blank, &p.pattern, None);
    assert!(a.registration.is_none());
    let rgb = overlay::draw(&blank, &a, marks(&a)).to_rgb();
    for (x, y) in [(0, 0), (599, 350), (300, 699), (2, 2), (5, 300)] {
        assert_eq!(rgb.get_pixel(x, y).0, [220, 30, 30], "frame at ({x}, {y})");
    }
    assert_eq!(
        rgb.get_pixel(300, 350).0,
        [241, 241, 241],
        "paper inside the frame"
    );
}

#[test]
fn a_golden_finding_is_framed_in_blue_where_it_lies() {
    let (img, a) = dead_element_scan();
    let finding = printrig::golden::Finding {
        severity: printrig::defect::Severity::Fail,
        what: "columns",
        start: Some(200),
        end: Some(260),
        worst: 0.4,
        detail: "columns 200–260: 0.40 below golden".into(),
    };
    let density = printrig::golden::Finding {
        what: "density",
        start: None,
        end: None,
        ..finding.clone()
    };
    let rgb = overlay::draw(
        &img,
        &a,
        overlay::Marks {
            golden: &[finding, density],
            ..marks(&a)
        },
    )
    .to_rgb();
    let blue = |p: [u8; 3]| p == [30, 90, 230];
    let rows = a.expected_rows as f64;
    // The frame runs down both sides of the span (one dot outside it) …
    for x in [199.0, 262.0] {
        let (u, v) = at(&a, x, rows * 0.5, 1.0);
        let near = (u.saturating_sub(2)..=u + 2).any(|u| blue(rgb.get_pixel(u, v).0));
        assert!(near, "frame at dot {x}");
    }
    // … and nowhere across the middle of the page or beside it.
    for x in [230.0, 100.0, 400.0] {
        let (u, v) = at(&a, x, rows * 0.5, 1.0);
        assert!(!blue(rgb.get_pixel(u, v).0), "dot {x}");
    }
    // A density finding is the whole page's: not framed. Without findings, no blue.
    let plain = overlay::draw(&img, &a, marks(&a)).to_rgb();
    assert_eq!(plain.pixels().filter(|p| blue(p.0)).count(), 0);
}

#[test]
fn a_defect_the_condition_expects_is_tinted_teal_not_red() {
    let (img, a) = dead_element_scan();
    let expected = [DefectKind::DeadElement];
    let rgb = overlay::draw(
        &img,
        &a,
        overlay::Marks {
            expected: &expected,
            ..marks(&a)
        },
    )
    .to_rgb();
    let (u, v) = at(&a, 300.5, a.expected_rows as f64 * 0.5, 1.0);
    let p = rgb.get_pixel(u, v).0;
    assert!(!is_red_tint(p), "{p:?}");
    assert!(
        p[1] as i32 > p[0] as i32 + 20 && p[2] as i32 > p[0] as i32 + 20,
        "teal: {p:?}"
    );
}

#[test]
fn where_a_failure_overlaps_an_expected_defect_the_failure_shows() {
    let (img, a) = dead_element_scan();
    // The expected defect comes after the failure in the list; it is drawn under it.
    let mut defects = vec![printrig::analysis::Defect::page(
        DefectKind::Light,
        "the whole page light".into(),
    )];
    defects.extend(a.defects.iter().cloned());
    let expected = [DefectKind::DeadElement];
    let rgb = overlay::draw(
        &img,
        &a,
        overlay::Marks {
            defects: &defects,
            expected: &expected,
            ..Default::default()
        },
    )
    .to_rgb();
    let (u, v) = at(&a, 300.5, a.expected_rows as f64 * 0.5, 1.0);
    assert!(is_red_tint(rgb.get_pixel(u, v).0));
}

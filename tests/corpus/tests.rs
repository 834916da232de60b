//! Checks of the generator itself: determinism, the physics the harness relies on, the
//! geometry it reports as ground truth, and the unrelated receipt.

use super::*;
use printrig::pattern::{FIDUCIAL, QUIET};

/// A clean reference scan of `kind` at `dpi`, square to the bed.
fn clean(kind: PatternKind, dots: u32, dpi: f64) -> Spec {
    let mut s = reference(kind, dots);
    s.scanner.dpi = dpi;
    s.scanner.skew_deg = 0.0;
    s
}

#[test]
fn a_seed_gives_the_same_samples_and_another_seed_others() {
    for class in [Class::Faulty, Class::Unrelated, Class::TornOnLid] {
        let mut a = draw(7, class, 3);
        a.scanner.dpi = 300.0;
        let mut b = draw(7, class, 3);
        b.scanner.dpi = 300.0;
        assert_eq!(a, b, "{class:?}");
        let (sa, sb) = (render(&a), render(&b));
        assert_eq!(sa.truth, sb.truth, "{class:?}");
        assert!(sa.image == sb.image, "{class:?}: images differ");
        assert_ne!(a, draw(8, class, 3), "{class:?}");
        assert_ne!(a, draw(7, class, 4), "{class:?}");
    }
    let first: Vec<Truth> = corpus(11, 2, Class::Turned).map(|s| s.truth).collect();
    let again: Vec<Truth> = corpus(11, 2, Class::Turned).map(|s| s.truth).collect();
    assert_eq!(first, again);
}

#[test]
fn a_dead_element_darkens_nothing_under_its_dot() {
    let k = 201u32;
    let mut spec = clean(PatternKind::Solid, 384, 1200.0);
    let healthy = render(&spec);
    spec.fault = Some(Fault::DeadElement { start: k, len: 1 });
    let dead = render(&spec);
    let (h, d) = (healthy.image.to_luma8(), dead.image.to_luma8());
    assert_eq!(h.dimensions(), d.dimensions());
    // Same seed, same noise: the fault may only lighten.
    for (a, b) in h.as_raw().iter().zip(d.as_raw()) {
        assert!(
            *b as i32 >= *a as i32 - 1,
            "the dead element darkened a pixel"
        );
    }
    let g = dead.truth.geometry;
    let layout = pattern::render(PatternKind::Solid, 384, 0)
        .expect("render")
        .layout;
    let at = |img: &image::GrayImage, x: f64, y: f64| {
        let (u, v) = g.dot_to_pixel(x, y);
        img.get_pixel(u as u32, v as u32)[0] as f64
    };
    // Paper: the blank gap between the two solid bands.
    let gap = layout.bands[0].row_end as f64 + 8.0;
    let paper = (0..20)
        .map(|i| at(&d, 40.0 + 15.0 * i as f64, gap))
        .sum::<f64>()
        / 20.0;
    for b in &layout.bands {
        for y in (b.row_start + 4..b.row_end - 4).step_by(5) {
            let y = y as f64 + 0.5;
            let under = at(&d, k as f64 + 0.5, y);
            let before = at(&h, k as f64 + 0.5, y);
            let beside = at(&d, k as f64 - 2.5, y);
            assert!(
                before < paper * 0.5,
                "healthy solid is dark: {before} vs {paper}"
            );
            assert!(
                beside < paper * 0.5,
                "neighbours still print: {beside} vs {paper}"
            );
            assert!(
                under > paper - 0.15 * (paper - beside),
                "row {y}: {under} under the dead dot, paper {paper}, ink {beside}"
            );
        }
    }
}

#[test]
fn a_page_turned_180_degrees_has_its_first_row_at_the_bottom() {
    let mut spec = clean(PatternKind::Solid, 384, 300.0);
    spec.orientation = Orientation::UpsideDown;
    let s = render(&spec);
    let img = s.image.to_luma8();
    let (w, h) = (img.width() as f64, img.height() as f64);
    let g = s.truth.geometry;
    let (_, first) = g.dot_to_pixel(192.0, 0.5);
    let (_, last) = g.dot_to_pixel(192.0, s.truth.ink_end as f64 - 0.5);
    assert!(first > last, "first row at v={first}, last at v={last}");
    assert!(first > 0.75 * h, "first row at v={first} of {h}");
    // The marks are where the turn puts them, and dark there: top-left in the
    // bottom-right quarter, top-right in the bottom-left, bottom-left in the top-right.
    let layout = pattern::render(PatternKind::Solid, 384, 0)
        .expect("render")
        .layout;
    for (i, right, bottom) in [(0, true, true), (3, false, true), (4, true, false)] {
        let (cx, cy) = layout.fiducials[i].center();
        let (u, v) = g.dot_to_pixel(cx, cy);
        assert_eq!(
            (u > w / 2.0, v > h / 2.0),
            (right, bottom),
            "mark {i} at ({u}, {v})"
        );
        assert!(
            img.get_pixel(u as u32, v as u32)[0] < 100,
            "mark {i} is dark"
        );
    }
    // The id strips (just after the top marks) show in the bottom half.
    let (sx, sy) = layout.id_strips[0];
    let (_, v) = g.dot_to_pixel(sx as f64, sy as f64);
    assert!(v > h / 2.0);
}

#[test]
fn the_ground_truth_map_puts_every_mark_where_it_is_printed() {
    // A wide curl, so that the marks near the edge show a dot or more further in.
    let curl = Nuisance::Curl {
        edge: PaperEdge::Left,
        pull_px: 8.0,
        zone_mm: 20.0,
        shade: 0.1,
    };
    for (dpi, skew, turn, curled) in [
        (450.0, 1.7, Orientation::Upright, false),
        (300.0, -1.2, Orientation::Left, false),
        (600.0, 0.6, Orientation::Upright, true),
    ] {
        let mut spec = clean(PatternKind::Ladder, 576, dpi);
        spec.scanner.skew_deg = skew;
        spec.scanner.dpi_error = (0.004, -0.003);
        spec.thermal.feed.error = -0.015;
        spec.orientation = turn;
        if curled {
            spec.nuisances.push(curl);
        }
        let s = render(&spec);
        let img = s.image.to_luma8();
        let g = s.truth.geometry;
        let layout = pattern::render(PatternKind::Ladder, 576, 0)
            .expect("render")
            .layout;
        let ppd = g.px_per_dot();
        for f in &layout.fiducials {
            let (cx, cy) = f.center();
            let (u, v) = g.dot_to_pixel(cx, cy);
            // Darkness-weighted centroid within the mark and half its quiet zone.
            let r = (f.size as f64 / 2.0 + QUIET as f64 / 2.0) * ppd;
            let (mut sw, mut su, mut sv) = (0.0, 0.0, 0.0);
            for y in (v - r) as u32..(v + r) as u32 {
                for x in (u - r) as u32..(u + r) as u32 {
                    let d = (150.0 - img.get_pixel(x, y)[0] as f64).max(0.0);
                    sw += d;
                    su += d * (x as f64 + 0.5);
                    sv += d * (y as f64 + 0.5);
                }
            }
            let err = (su / sw - u).hypot(sv / sw - v) / ppd;
            assert!(
                err < 0.35,
                "{dpi} dpi {turn:?}: mark {f:?} off by {err:.2} dots"
            );
        }
    }
}

#[test]
fn the_unrelated_receipt_has_no_mark_like_squares() {
    let (f, q) = (FIDUCIAL as usize, QUIET as usize);
    for dots in WIDTHS {
        for seed in 0..12 {
            let bm = shop::receipt(dots, &mut Rng::new(seed));
            let (w, h) = (bm.width() as usize, bm.height() as usize);
            // Summed-area table of ink.
            let mut sat = vec![0u32; (w + 1) * (h + 1)];
            for y in 0..h {
                for x in 0..w {
                    sat[(y + 1) * (w + 1) + x + 1] = bm.get(x as u32, y as u32) as u32
                        + sat[y * (w + 1) + x + 1]
                        + sat[(y + 1) * (w + 1) + x]
                        - sat[y * (w + 1) + x];
                }
            }
            let count = |x0: usize, y0: usize, x1: usize, y1: usize| {
                let (x1, y1) = (x1.min(w), y1.min(h));
                sat[y1 * (w + 1) + x1] + sat[y0 * (w + 1) + x0]
                    - sat[y0 * (w + 1) + x1]
                    - sat[y1 * (w + 1) + x0]
            };
            for y in 0..=h - f {
                for x in 0..=w - f {
                    if count(x, y, x + f, y + f) as usize != f * f {
                        continue;
                    }
                    let ring = count(
                        x.saturating_sub(q),
                        y.saturating_sub(q),
                        x + f + q,
                        y + f + q,
                    ) as usize
                        - f * f;
                    assert!(
                        ring > 0,
                        "{dots} dots, seed {seed}: a {f}×{f} solid square with a quiet zone at ({x}, {y})"
                    );
                }
            }
            assert!(bm.count(0, 0, bm.width(), bm.height()) > 2000);
        }
    }
}

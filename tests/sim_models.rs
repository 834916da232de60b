//! The simulated printer and scanner, measured: each fault must show up on paper the way
//! the reference says it does on real printers, and the scanner's truth map must be exact.

use image::GrayImage;
use printrig::pattern::{render, Band, Pattern, PatternKind};
use printrig::sim::{
    scan, FaultError, Faults, Head, HeadModel, RowOutcome, ScanError, ScanSettings,
};

struct Printed {
    pattern: Pattern,
    page: Option<GrayImage>,
    outcomes: Vec<RowOutcome>,
    saw_over_temperature: bool,
    head: Head,
}

fn faults(args: &[&str]) -> Faults {
    Faults::parse_all(args.iter().copied()).expect("valid faults")
}

fn print_with(kind: PatternKind, dots: u32, f: Faults, seed: u64) -> Printed {
    let pattern = render(kind, dots, 1).expect("pattern");
    let mut head = Head::new(HeadModel::with_dots(dots), f, seed);
    let mut outcomes = Vec::new();
    let mut saw_over_temperature = false;
    for y in 0..pattern.bitmap.height() {
        outcomes.push(head.print_row(pattern.bitmap.row(y)));
        saw_over_temperature |= head.status().over_temperature;
    }
    let page = head.take_page();
    Printed {
        pattern,
        page,
        outcomes,
        saw_over_temperature,
        head,
    }
}

fn print(kind: PatternKind, args: &[&str]) -> Printed {
    print_with(kind, 576, faults(args), 7)
}

fn page(p: &Printed) -> &GrayImage {
    p.page.as_ref().expect("a page")
}

fn band<'a>(p: &'a Printed, name: &str) -> &'a Band {
    p.pattern
        .layout
        .bands
        .iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("no band {name}"))
}

/// Mean grey of `[x0, x1) × [y0, y1)`.
fn mean(img: &GrayImage, x0: u32, x1: u32, y0: u32, y1: u32) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += img.get_pixel(x, y).0[0] as u64;
        }
    }
    sum as f64 / ((x1 - x0) as f64 * (y1 - y0) as f64)
}

/// Mean grey of a band's interior rows over `[x0, x1)`.
fn band_mean(img: &GrayImage, b: &Band, x0: u32, x1: u32) -> f64 {
    mean(img, x0, x1, b.row_start + 4, b.row_end - 4)
}

#[test]
fn healthy_print_is_clean() {
    let p = print(PatternKind::Solid, &[]);
    let img = page(&p);
    assert_eq!(img.dimensions(), (576, p.pattern.layout.rows));
    assert!(p.outcomes.iter().all(|&o| o == RowOutcome::Printed));
    let b1 = band(&p, "solid-1");
    let b2 = band(&p, "solid-2");
    let solid = band_mean(img, b1, 0, 576);
    let gap = mean(img, 0, 576, b1.row_end + 4, b2.row_start - 4);
    eprintln!("healthy: solid {solid:.1}, gap {gap:.1}");
    assert!(solid < 40.0, "solid band grey {solid}");
    assert!(gap > 235.0, "white gap grey {gap}");
    // Every column of the solid band is black: no element is weak on a healthy head.
    for x in 0..576 {
        let c = band_mean(img, b1, x, x + 1);
        assert!(c < 45.0, "column {x}: {c}");
    }
}

#[test]
fn a_single_dead_element_is_visible() {
    let p = print(PatternKind::Solid, &["dead=100"]);
    let img = page(&p);
    let b = band(&p, "solid-1");
    let dead = band_mean(img, b, 100, 101);
    let left = band_mean(img, b, 99, 100);
    let right = band_mean(img, b, 101, 102);
    eprintln!("dead element: {left:.1} | {dead:.1} | {right:.1}");
    assert!(dead > 120.0, "dead column grey {dead}");
    assert!(left < 40.0 && right < 40.0, "{left} {right}");
}

#[test]
fn dead_block_half_and_width_setting_leave_white_columns() {
    let white_from = |p: &Printed, x0: u32, x1: u32| {
        let b = band(p, "solid-1");
        band_mean(page(p), b, x0, x1)
    };
    let p = print(PatternKind::Solid, &["block=128:64"]);
    assert!(white_from(&p, 130, 190) > 235.0);
    assert!(white_from(&p, 100, 126) < 40.0);
    assert!(white_from(&p, 194, 250) < 40.0);

    let p = print(PatternKind::Solid, &["half=right"]);
    assert!(white_from(&p, 290, 576) > 235.0);
    assert!(white_from(&p, 0, 286) < 40.0);

    let p = print(PatternKind::Solid, &["half=left"]);
    assert!(white_from(&p, 0, 286) > 235.0);
    assert!(white_from(&p, 290, 576) < 40.0);

    let p = print(PatternKind::Solid, &["width=384"]);
    assert!(white_from(&p, 386, 576) > 235.0);
    assert!(white_from(&p, 0, 382) < 40.0);
}

#[test]
fn tilt_fades_across() {
    let p = print(PatternKind::Solid, &["tilt=0.4"]);
    let img = page(&p);
    let b = band(&p, "solid-1");
    let chunks: Vec<f64> = (0..8)
        .map(|i| band_mean(img, b, i * 72, (i + 1) * 72))
        .collect();
    eprintln!("tilt=0.4 column chunks: {chunks:.0?}");
    assert!(chunks.windows(2).all(|w| w[1] > w[0]), "{chunks:?}");
    assert!(chunks[7] - chunks[0] > 50.0, "{chunks:?}");

    let p = print(PatternKind::Solid, &["tilt=-0.4"]);
    let img = page(&p);
    let b = band(&p, "solid-1");
    let (left, right) = (band_mean(img, b, 0, 72), band_mean(img, b, 504, 576));
    assert!(left - right > 50.0, "{left} {right}");
}

/// Mean grey of the dense bands and of the sparse blocks' interiors.
fn dense_and_sparse(p: &Printed) -> (f64, f64) {
    let img = page(p);
    let mut dense = Vec::new();
    let mut sparse = Vec::new();
    for b in &p.pattern.layout.bands {
        match b.kind {
            printrig::pattern::BandKind::Solid => dense.push(band_mean(img, b, 0, 576)),
            printrig::pattern::BandKind::Sparse {
                offset,
                block,
                pitch,
            } => {
                let mut x = offset;
                while x + block <= 576 {
                    sparse.push(band_mean(img, b, x + 2, x + block - 2));
                    x += pitch;
                }
            }
            _ => {}
        }
    }
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    (avg(&dense), avg(&sparse))
}

#[test]
fn supply_sag_fades_dense_rows_and_a_deep_sag_resets() {
    let low = print(PatternKind::DenseSparse, &["voltage=17.5"]);
    let (dense, sparse) = dense_and_sparse(&low);
    eprintln!("17.5 V: dense {dense:.1}, sparse {sparse:.1}");
    assert!(dense - sparse > 50.0, "dense {dense} sparse {sparse}");
    assert!(sparse < 40.0, "sparse blocks stay black: {sparse}");
    assert!(low.outcomes.iter().all(|&o| o == RowOutcome::Printed));

    let nominal = print(PatternKind::DenseSparse, &["voltage=24"]);
    let (dense, sparse) = dense_and_sparse(&nominal);
    eprintln!("24 V: dense {dense:.1}, sparse {sparse:.1}");
    assert!(
        (dense - sparse).abs() < 5.0,
        "dense {dense} sparse {sparse}"
    );

    let mut deep = print(PatternKind::DenseSparse, &["voltage=15"]); // below the 15.2 V reset point of a full row
    let first_dense = band(&deep, "dense-1").row_start as usize;
    assert!(deep.outcomes[..first_dense]
        .iter()
        .all(|&o| o == RowOutcome::Printed));
    assert!(deep.outcomes[first_dense..]
        .iter()
        .all(|&o| o == RowOutcome::Brownout));
    let st = deep.head.status();
    assert!(st.brownout);
    assert_eq!(st.reset_count, 1);
    assert_eq!(
        page(&deep).height() as usize,
        first_dense,
        "the page ends at the brownout"
    );
    // Re-initialised, the printer prints sparse rows again but the next dense row resets it.
    deep.head.reset();
    let sparse_row = deep
        .pattern
        .bitmap
        .row(band(&deep, "sparse-1").row_start + 1);
    assert_eq!(deep.head.print_row(sparse_row), RowOutcome::Printed);
    assert_eq!(deep.head.print_row(&[1u8; 576]), RowOutcome::Brownout);
    assert_eq!(deep.head.status().reset_count, 2);
}

#[test]
fn cold_prints_light_and_heat_pauses_without_damage() {
    let normal = print(PatternKind::Solid, &[]);
    let cold = print(PatternKind::Solid, &["temp=-15"]);
    let b = band(&normal, "solid-1");
    let (n, c) = (
        band_mean(page(&normal), b, 0, 576),
        band_mean(page(&cold), b, 0, 576),
    );
    eprintln!("solid band: 25 °C {n:.1}, -15 °C {c:.1}");
    assert!(c - n > 60.0, "cold {c} normal {n}");
    assert!(!normal.saw_over_temperature);
    assert!(normal.head.status().head_temperature < 60.0);

    let hot = print(PatternKind::Solid, &["temp=45"]);
    assert!(hot.saw_over_temperature, "{:?}", hot.head.status());
    assert!(hot.outcomes.iter().all(|&o| o == RowOutcome::Printed));
    let img = page(&hot);
    assert_eq!(img.height(), hot.pattern.layout.rows);
    let st = hot.head.status();
    eprintln!("45 °C: {st:?}");
    assert!(st.pauses >= 1 && st.paused_rows > 0.0);
    for name in ["solid-1", "solid-2"] {
        let m = band_mean(img, band(&hot, name), 0, 576);
        assert!(m < 40.0, "{name} at 45 °C: {m}");
    }
}

#[test]
fn ink_fades_then_runs_out() {
    let p = print(PatternKind::Solid, &["ink=0.3"]);
    let img = page(&p);
    let b = band(&p, "solid-1");
    let early = mean(img, 0, 576, b.row_start + 2, b.row_start + 22);
    let first_out = p
        .outcomes
        .iter()
        .position(|&o| o == RowOutcome::OutOfInk)
        .expect("runs out of ink");
    let late_end = (first_out as u32).min(b.row_end) - 2;
    let late = mean(img, 0, 576, late_end - 20, late_end);
    eprintln!("ink=0.3: early {early:.1}, late {late:.1}, out of ink at row {first_out}");
    assert!(late - early > 40.0, "early {early} late {late}");
    assert!(first_out < p.pattern.layout.ink_end as usize);
    assert!(p.outcomes[first_out..]
        .iter()
        .all(|&o| o == RowOutcome::OutOfInk));
    assert_eq!(img.height() as usize, first_out, "the print stops");
    let st = p.head.status();
    assert!(st.out_of_ink && st.ink_level == Some(0.0));

    let full = print(PatternKind::Solid, &["ink=1.0"]);
    let img = page(&full);
    assert!(full.outcomes.iter().all(|&o| o == RowOutcome::Printed));
    let (b1, b2) = (band(&full, "solid-1"), band(&full, "solid-2"));
    let (m1, m2) = (band_mean(img, b1, 0, 576), band_mean(img, b2, 0, 576));
    assert!((m1 - m2).abs() < 3.0 && m2 < 40.0, "{m1} {m2}");

    // 0.6 fades visibly over 300 full rows but lasts.
    let mut head = Head::new(HeadModel::default(), faults(&["ink=0.6"]), 1);
    let row = [1u8; 576];
    assert!((0..300).all(|_| head.print_row(&row) == RowOutcome::Printed));
    let img = head.take_page().expect("page");
    let (a, z) = (mean(&img, 0, 576, 5, 25), mean(&img, 0, 576, 275, 295));
    eprintln!("ink=0.6 over 300 rows: {a:.1} → {z:.1}");
    assert!(z - a > 20.0, "{a} {z}");
}

#[test]
fn banding_follows_its_period() {
    let p = print(PatternKind::Solid, &["banding=32:0.3"]);
    let img = page(&p);
    let b = band(&p, "solid-1");
    // Factor 1 − A·(0.5 + 0.5·sin(2π·row/32)): lightest at row ≡ 8, darkest at row ≡ 24.
    let rows_at = |phase: u32| -> f64 {
        let rows: Vec<u32> = (b.row_start + 1..b.row_end - 1)
            .filter(|y| y % 32 == phase)
            .collect();
        rows.iter()
            .map(|&y| mean(img, 0, 576, y, y + 1))
            .sum::<f64>()
            / rows.len() as f64
    };
    let (light, dark, mid0, mid16) = (rows_at(8), rows_at(24), rows_at(0), rows_at(16));
    eprintln!("banding: phase 8 {light:.1}, 24 {dark:.1}, 0 {mid0:.1}, 16 {mid16:.1}");
    assert!(light - dark > 40.0, "{light} {dark}");
    assert!((mid0 - mid16).abs() < 8.0, "{mid0} {mid16}");
    assert!(mid0 > dark + 15.0 && mid0 < light - 15.0);
}

#[test]
fn prints_are_deterministic_per_seed() {
    let f = faults(&["voltage=18", "tilt=0.2"]);
    let a = print_with(PatternKind::Receipt, 576, f.clone(), 11);
    let b = print_with(PatternKind::Receipt, 576, f.clone(), 11);
    let c = print_with(PatternKind::Receipt, 576, f, 12);
    assert_eq!(a.page, b.page);
    assert_ne!(a.page, c.page);
    let (ia, ic) = (page(&a), page(&c));
    let (ma, mc) = (
        mean(ia, 0, 576, 0, ia.height()),
        mean(ic, 0, 576, 0, ic.height()),
    );
    assert!((ma - mc).abs() < 2.0, "{ma} {mc}");
}

#[test]
fn narrow_heads_and_feeds() {
    let p = print_with(PatternKind::Elements, 384, Faults::default(), 3);
    assert_eq!(page(&p).width(), 384);
    let mut head = Head::new(HeadModel::with_dots(384), Faults::default(), 3);
    assert!(head.take_page().is_none());
    head.feed(40);
    assert_eq!(head.rows(), 40);
    let blank = head.take_page().expect("a fed page");
    assert!(mean(&blank, 0, 384, 0, 40) > 240.0);
    assert_eq!(head.rows(), 0);
}

#[test]
fn fault_errors_are_clear() {
    let err = Faults::parse_all(["voltage=abc"]).expect_err("bad value");
    assert!(matches!(err, FaultError::BadValue { .. }));
    let text = err.to_string();
    assert!(
        text.contains("voltage=abc") && text.contains("expected"),
        "{text}"
    );
    assert!(Faults::HELP.contains("banding=32:0.2"));
}

fn healthy_page(kind: PatternKind) -> (Pattern, GrayImage) {
    let p = print_with(kind, 576, Faults::default(), 5);
    let img = p.page.expect("page");
    (p.pattern, img)
}

fn px(img: &GrayImage, u: f64, v: f64) -> u8 {
    img.get_pixel(u.floor() as u32, v.floor() as u32).0[0]
}

#[test]
fn scans_land_where_the_truth_says() {
    let (pattern, paper) = healthy_page(PatternKind::Solid);
    let b1 = &pattern.layout.bands[0];
    let b2 = &pattern.layout.bands[1];
    for (dpi, skew) in [(300.0, 2.0), (600.0, -2.0), (1200.0, 2.0), (150.0, -1.0)] {
        let settings = ScanSettings {
            dpi,
            skew_deg: skew,
            white: Some(232),
            black: Some(22),
            seed: 42,
            ..ScanSettings::default()
        };
        let sc = scan(&paper, &settings).expect("scan");
        let (w, h) = sc.image.dimensions();
        let want_w = (576.0 / 8.0 + 24.0) * dpi / 25.4;
        let want_h = (pattern.layout.rows as f64 / 8.0 + 24.0) * dpi / 25.4;
        assert!(
            (w as f64 - want_w).abs() <= 1.0,
            "{dpi}: width {w} vs {want_w}"
        );
        assert!(
            (h as f64 - want_h).abs() <= 1.0,
            "{dpi}: height {h} vs {want_h}"
        );
        let t = &sc.truth;
        assert_eq!((t.dpi, t.skew_deg), (dpi, skew));
        for fid in &pattern.layout.fiducials {
            let (x, y) = fid.center();
            let (u, v) = t.map(x, y);
            for du in [-1.0, 0.0, 1.0] {
                for dv in [-1.0, 0.0, 1.0] {
                    let g = px(&sc.image, u + du, v + dv);
                    assert!(
                        g < 80,
                        "{dpi} dpi: fiducial {fid:?} at ({u:.1},{v:.1}) grey {g}"
                    );
                }
            }
        }
        // The middle of the gap between the bands is paper white; a band's middle is black.
        let (u, v) = t.map(288.0, (b1.row_end + b2.row_start) as f64 / 2.0);
        let gap = px(&sc.image, u, v);
        assert!(gap > 200, "{dpi} dpi: gap grey {gap}");
        let (u, v) = t.map(288.0, (b1.row_start + b1.row_end) as f64 / 2.0);
        let ink = px(&sc.image, u, v);
        assert!(ink < 40, "{dpi} dpi: ink grey {ink}");
        // Levels as configured: average a few pixels around the points.
        let area = |x: f64, y: f64| {
            let (u, v) = t.map(x, y);
            let mut s = 0.0;
            for du in -2..=2 {
                for dv in -2..=2 {
                    s += px(&sc.image, u + du as f64, v + dv as f64) as f64;
                }
            }
            s / 25.0
        };
        let white = area(288.0, (b1.row_end + b2.row_start) as f64 / 2.0);
        let black = area(200.0, (b1.row_start + b1.row_end) as f64 / 2.0);
        let bed = mean(&sc.image, 2, 12, 2, 12);
        eprintln!("{dpi} dpi skew {skew}: {w}×{h}, white {white:.1}, black {black:.1}, bed {bed:.1} (truth {})", t.bed);
        assert!((white - 232.0).abs() < 5.0, "{dpi}: white {white}");
        assert!((black - 22.0).abs() < 5.0, "{dpi}: black {black}");
        assert!(
            (bed - t.bed as f64).abs() < 3.0,
            "{dpi}: bed {bed} vs {}",
            t.bed
        );
        assert!(t.bed != 232, "the bed differs from the paper white");
    }
}

#[test]
fn scans_are_deterministic_and_defaults_come_from_the_seed() {
    let (_, paper) = healthy_page(PatternKind::Receipt);
    let s = |seed| ScanSettings {
        dpi: 300.0,
        skew_deg: 0.5,
        seed,
        ..ScanSettings::default()
    };
    let a = scan(&paper, &s(1)).expect("scan");
    let b = scan(&paper, &s(1)).expect("scan");
    let c = scan(&paper, &s(2)).expect("scan");
    assert_eq!(a, b);
    assert_ne!(a.image, c.image);
    for t in [&a.truth, &c.truth] {
        assert!((222..=240).contains(&t.white) && (14..=34).contains(&t.black));
        assert!((t.scale.0 - 1.0).abs() <= 0.01 && (t.scale.1 - 1.0).abs() <= 0.01);
        // The whole print lies on the bed.
        let (w, h) = (a.image.width() as f64, a.image.height() as f64);
        for (x, y) in [
            (0.0, 0.0),
            (576.0, 0.0),
            (0.0, paper.height() as f64),
            (576.0, paper.height() as f64),
        ] {
            let (u, v) = t.map(x, y);
            assert!(
                u >= 0.0 && u <= w && v >= 0.0 && v <= h,
                "corner ({u}, {v})"
            );
        }
    }
    // Explicit geometry is honoured: no skew, no scale error, paper at (12, 12) mm.
    let exact = scan(
        &paper,
        &ScanSettings {
            dpi: 254.0,
            scale: Some((1.0, 1.0)),
            offset_mm: Some((12.0, 12.0)),
            ..ScanSettings::default()
        },
    )
    .expect("scan");
    let [a_, b_, c_, d_, e_, f_] = exact.truth.dot_to_px;
    let close = |x: f64, y: f64| (x - y).abs() < 1e-9;
    assert!(close(a_, 1.25) && close(b_, 0.0) && close(c_, 120.0));
    assert!(close(d_, 0.0) && close(e_, 1.25) && close(f_, 120.0));
    assert_eq!(exact.truth.offset_px, (120.0, 120.0));
}

#[test]
fn bad_scan_settings_are_refused() {
    let (_, paper) = healthy_page(PatternKind::Elements);
    let err = scan(
        &paper,
        &ScanSettings {
            dpi: 100.0,
            ..ScanSettings::default()
        },
    )
    .expect_err("dpi 100");
    assert_eq!(err, ScanError::Dpi(100.0));
    assert!(err.to_string().contains("100 dpi") && err.to_string().contains("150 to 1200"));
    let err = scan(
        &paper,
        &ScanSettings {
            skew_deg: 5.0,
            ..ScanSettings::default()
        },
    )
    .expect_err("skew 5");
    assert_eq!(err, ScanError::Skew(5.0));
    assert!(err.to_string().contains("-3 to 3"));
    let err = scan(&GrayImage::new(0, 0), &ScanSettings::default()).expect_err("empty");
    assert!(matches!(err, ScanError::EmptyPaper { .. }));
    for bad in [
        ScanSettings {
            dpi: f64::NAN,
            ..ScanSettings::default()
        },
        ScanSettings {
            noise: -1.0,
            ..ScanSettings::default()
        },
        ScanSettings {
            scale: Some((2.0, 1.0)),
            ..ScanSettings::default()
        },
        ScanSettings {
            white: Some(20),
            black: Some(30),
            ..ScanSettings::default()
        },
    ] {
        assert!(scan(&paper, &bad).is_err(), "{bad:?}");
    }
}

#[test]
fn single_dots_survive_scanning() {
    // A dead element at 600 dpi, and 1-in-8 element lines at 150 dpi (pre-filtered, not
    // aliased away).
    let p = print(PatternKind::Solid, &["dead=100"]);
    let b = band(&p, "solid-1");
    let y = (b.row_start + b.row_end) as f64 / 2.0;
    let sc = scan(
        page(&p),
        &ScanSettings {
            dpi: 600.0,
            skew_deg: 1.0,
            seed: 3,
            ..ScanSettings::default()
        },
    )
    .expect("scan");
    let at = |x: f64| {
        let (u, v) = sc.truth.map(x, y);
        px(&sc.image, u, v) as f64
    };
    let (dead, ok) = (at(100.5), (at(97.5) + at(103.5)) / 2.0);
    eprintln!("600 dpi dead element: {dead} vs {ok}");
    assert!(dead - ok > 60.0, "{dead} {ok}");

    let (pattern, paper) = healthy_page(PatternKind::Elements);
    let step = pattern
        .layout
        .bands
        .iter()
        .find(|b| b.name == "step-3")
        .expect("step band");
    let sc = scan(
        &paper,
        &ScanSettings {
            dpi: 150.0,
            seed: 3,
            ..ScanSettings::default()
        },
    )
    .expect("scan");
    let y = (step.row_start + step.row_end) as f64 / 2.0;
    let at = |x: f64| {
        let (u, v) = sc.truth.map(x, y);
        px(&sc.image, u, v) as f64
    };
    let mut worst = f64::MAX;
    let mut x = 3.0 + 8.0 * 4.0;
    while x < 540.0 {
        let contrast = (at(x - 3.5) + at(x + 4.5)) / 2.0 - at(x + 0.5);
        worst = worst.min(contrast);
        x += 8.0;
    }
    eprintln!("150 dpi single-dot lines: worst contrast {worst:.1}");
    assert!(
        worst > 25.0,
        "a single-dot line vanished at 150 dpi: {worst}"
    );
}

#[test]
fn a_1200_dpi_scan_covers_the_paper_at_its_resolution() {
    // The scanner's speed is measured by `cargo bench --bench sim`, not asserted here.
    let (_, paper) = healthy_page(PatternKind::Solid);
    let settings = ScanSettings {
        dpi: 1200.0,
        skew_deg: 1.5,
        seed: 8,
        ..ScanSettings::default()
    };
    let sc = scan(&paper, &settings).expect("scan");
    let (w, h) = sc.image.dimensions();
    // The bed is the paper plus its margins: at 1200 dpi a paper dot (1/203.2 in) is
    // about 5.9 scan pixels, so the scan is at least that many times the paper.
    let k = 1200.0 / printrig::DOT_DPI;
    assert!(w as f64 >= paper.width() as f64 * k * 0.98, "{w} px wide");
    assert!(h as f64 >= paper.height() as f64 * k * 0.98, "{h} px high");
}

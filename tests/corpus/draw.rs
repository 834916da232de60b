//! Drawing a sample's parameters: the printer, the paper, the fault, the scanner and the
//! nuisances, each over a wide range, from a seed, a class and an index.

use super::rng::{mix, Rng};
use super::{
    Class, Falloff, Fault, Feed, ImageEdge, Nuisance, Orientation, PaperEdge, Scanner, Sensor,
    Spec, Stock, Thermal, FAULT_KINDS, WIDTHS,
};
use printrig::defect::{DefectKind, Side};
use printrig::pattern::{self, PatternKind};

fn thermal(rng: &mut Rng) -> Thermal {
    Thermal {
        black: rng.range(0.05, 0.12),
        scatter: rng.range(0.02, 0.06),
        spread: rng.range(0.12, 0.3),
        history_gain: rng.range(0.01, 0.06),
        history_keep: rng.range(0.6, 0.92),
        threshold: rng.range(0.45, 0.55),
        softness: rng.range(0.03, 0.08),
        mottle: rng.range(0.004, 0.02),
        mottle_mm: rng.range(1.5, 5.0),
        feed: Feed {
            error: rng.sign() * rng.range(0.005, 0.02),
            wobble: rng.range(0.0, 0.003),
            period: rng.range(80.0, 400.0),
            phase: rng.range(0.0, std::f64::consts::TAU),
        },
    }
}

fn paper_width(dots: u32) -> f64 {
    if dots <= 384 {
        58.0
    } else {
        80.0
    }
}

fn stock(rng: &mut Rng, dots: u32) -> Stock {
    Stock {
        width_mm: paper_width(dots),
        lead_mm: rng.range(3.0, 12.0),
        tail_mm: rng.range(5.0, 20.0),
        lateral_mm: rng.range(-0.6, 0.6),
        white: rng.range(0.8, 0.95),
        tint: [1.0; 3],
        tear_gap_mm: rng.range(2.0, 10.0),
        ragged_mm: rng.range(0.1, 0.8),
    }
}

fn scanner(rng: &mut Rng) -> Scanner {
    let sensor = if rng.chance(0.5) {
        Sensor::Ccd
    } else {
        Sensor::Cis
    };
    let dpi = {
        let r = rng.unit();
        if r < 0.22 {
            300.0
        } else if r < 0.4 {
            400.0
        } else if r < 0.55 {
            450.0
        } else if r < 0.87 {
            600.0
        } else {
            1200.0
        }
    };
    let cis = sensor == Sensor::Cis;
    Scanner {
        sensor,
        dpi,
        dpi_error: (rng.range(-0.005, 0.005), rng.range(-0.005, 0.005)),
        skew_deg: rng.range(-2.0, 2.0),
        margin_mm: [
            rng.range(2.0, 15.0),
            rng.range(2.0, 15.0),
            rng.range(2.0, 15.0),
            rng.range(2.0, 15.0),
        ],
        blur_px: if cis {
            rng.range(0.45, 0.85)
        } else {
            rng.range(0.3, 0.55)
        },
        jitter_px: if cis {
            rng.range(0.05, 0.25)
        } else {
            rng.range(0.02, 0.15)
        },
        gamma: if rng.chance(0.25) {
            None
        } else {
            Some(rng.range(1.8, 2.4))
        },
        white_ref: rng.range(0.95, 1.08),
        black_level: rng.range(0.0, 8.0),
        prnu: rng.range(0.002, 0.012),
        dsnu: rng.range(0.1, 0.8),
        read_noise: rng.range(0.4, 1.5),
        shot_noise: rng.range(0.8, 2.5),
        chip_mm: rng.range(8.0, 27.0),
        chip_gain: if cis { rng.range(0.003, 0.015) } else { 0.0 },
        defocus_mm: if cis {
            rng.range(0.15, 0.35)
        } else {
            rng.range(0.06, 0.15)
        },
    }
}

/// A fault of `kind` for a print of `dots` whose ink ends at `ink_end`.
fn fault(rng: &mut Rng, kind: DefectKind, dots: u32, ink_end: u32) -> Fault {
    let frac_row =
        |rng: &mut Rng, lo: f64, hi: f64| (ink_end as f64 * rng.range(lo, hi)).round() as u32;
    match kind {
        DefectKind::DeadElement => {
            let len = rng.int(1, 2);
            let start = if rng.chance(0.25) {
                // Near an edge.
                if rng.chance(0.5) {
                    rng.int(0, 3)
                } else {
                    dots - len - rng.int(0, 3)
                }
            } else {
                rng.int(0, dots - len)
            };
            Fault::DeadElement { start, len }
        }
        DefectKind::BlockDropout => {
            let len = rng.int(8, 96);
            Fault::BlockDropout {
                start: rng.int(1, dots - len - 1),
                len,
            }
        }
        DefectKind::HalfWidth => half_width(rng, dots),
        DefectKind::FadeAcross => Fault::FadeAcross {
            lighter: if rng.chance(0.5) {
                Side::Left
            } else {
                Side::Right
            },
            depth: rng.range(0.3, 0.7),
        },
        DefectKind::FadeAlong => Fault::FadeAlong {
            start_row: frac_row(rng, 0.0, 0.4),
            depth: rng.range(0.3, 0.7),
        },
        DefectKind::Truncated => Fault::Truncated {
            stop_row: frac_row(rng, 0.1, 0.9),
            torn: rng.chance(0.5),
        },
        DefectKind::Light => Fault::Light {
            density: rng.range(0.35, 0.7),
        },
        DefectKind::DenseLineFade => Fault::DenseLineFade {
            level: rng.range(0.5, 0.8),
        },
        _ => Fault::Banding {
            period: rng.range(8.0, 64.0),
            amplitude: rng.range(0.15, 0.4),
            phase: rng.range(0.0, std::f64::consts::TAU),
        },
    }
}

/// Half the head dead, or a paper-width setting cutting off the right part.
fn half_width(rng: &mut Rng, dots: u32) -> Fault {
    let r = rng.unit();
    if r < 0.35 {
        Fault::HalfWidth {
            side: Side::Left,
            cut: dots / 2,
        }
    } else if r < 0.7 {
        Fault::HalfWidth {
            side: Side::Right,
            cut: dots / 2,
        }
    } else {
        let cut = (dots as f64 * rng.range(0.5, 0.7) / 8.0).round() as u32 * 8;
        Fault::HalfWidth {
            side: Side::Right,
            cut,
        }
    }
}

/// Nuisances, each independently with probability `p`, and a background.
fn nuisances(rng: &mut Rng, p: f64, torn: bool, allow_second: bool) -> Vec<Nuisance> {
    let mut out = Vec::new();
    let r = rng.unit();
    if r < p {
        out.push(Nuisance::Jpeg {
            quality: rng.int(70, 90) as u8,
        });
    } else if r < 2.0 * p {
        out.push(Nuisance::Png16);
    }
    if !out.contains(&Nuisance::Png16) && rng.chance(p) {
        out.push(Nuisance::Rgb {
            cast: [rng.range(0.9, 1.1), 1.0, rng.range(0.85, 1.1)],
        });
    }
    let r = rng.unit();
    if r < p * 0.7 {
        out.push(Nuisance::GreyRoll {
            white: rng.range(0.66, 0.78),
        });
    } else if r < p * 1.4 {
        out.push(Nuisance::YellowRoll {
            blue: rng.range(0.72, 0.86),
        });
    }
    if rng.chance(p) {
        out.push(Nuisance::Falloff {
            depth: rng.range(0.1, 0.2),
            profile: rng.pick(&[Falloff::Ends, Falloff::Across, Falloff::Along]),
        });
    }
    if rng.chance(p) {
        out.push(Nuisance::Dust {
            at: rng.range(0.02, 0.98),
            width: rng.int(1, 3),
            depth: rng.range(0.25, 0.7),
        });
    }
    if rng.chance(p) {
        let edges: &[PaperEdge] = if torn {
            &[PaperEdge::Left, PaperEdge::Right, PaperEdge::Leading]
        } else {
            &[
                PaperEdge::Left,
                PaperEdge::Right,
                PaperEdge::Leading,
                PaperEdge::Trailing,
            ]
        };
        out.push(Nuisance::Curl {
            edge: rng.pick(edges),
            pull_px: rng.range(2.0, 8.0),
            zone_mm: rng.range(4.0, 10.0),
            shade: rng.range(0.05, 0.25),
        });
    }
    if rng.chance(p) {
        out.push(Nuisance::NearBedEdge {
            edge: rng.pick(&[
                ImageEdge::Left,
                ImageEdge::Top,
                ImageEdge::Right,
                ImageEdge::Bottom,
            ]),
            gap_mm: rng.range(0.3, 2.5),
        });
    }
    if allow_second && rng.chance(p) {
        out.push(Nuisance::SecondReceipt {
            side: if rng.chance(0.5) {
                Side::Left
            } else {
                Side::Right
            },
            gap_mm: rng.range(3.0, 20.0),
        });
    }
    if rng.chance(0.5) {
        out.push(Nuisance::BrightLid {
            reflectance: rng.range(0.86, 0.99),
        });
    } else {
        out.push(Nuisance::DarkBed {
            reflectance: rng.range(0.01, 0.08),
        });
    }
    out
}

/// Share of pages carrying each nuisance.
const NUISANCE_P: f64 = 0.12;

/// Draws sample `index` of `class` for `seed`.
pub fn draw(seed: u64, class: Class, index: u64) -> Spec {
    let mut rng = Rng::new(mix(mix(seed, class as u64 + 1), index));
    let mut pick_rng = rng.fork();
    let mut fault_rng = rng.fork();
    let mut print_rng = rng.fork();
    let mut scan_rng = rng.fork();
    let mut nuis_rng = rng.fork();

    let dots = pick_rng.pick(&WIDTHS);
    let serial = pick_rng.int(0, 65535) as u16;
    let mut kind = pick_rng.pick(&PatternKind::ALL);
    let mut orientation = Orientation::Upright;
    let mut unrelated = false;
    let mut fault_kind = None;
    match class {
        Class::Healthy => {}
        Class::Faulty => {
            let k = pick_rng.pick(FAULT_KINDS);
            let fits: Vec<PatternKind> = PatternKind::ALL
                .into_iter()
                .filter(|p| p.reveals().contains(&k))
                .collect();
            kind = pick_rng.pick(&fits);
            fault_kind = Some(k);
        }
        Class::Turned => {
            orientation = pick_rng.pick(&[
                Orientation::Right,
                Orientation::UpsideDown,
                Orientation::Left,
            ])
        }
        Class::Unrelated => unrelated = true,
        Class::ReceiptHalfWidth => {
            kind = PatternKind::Receipt;
            fault_kind = Some(DefectKind::HalfWidth);
        }
        Class::EarlyStop | Class::TornOnLid => fault_kind = Some(DefectKind::Truncated),
        Class::LightForty => {
            kind = pick_rng.pick(&[PatternKind::Solid, PatternKind::Ladder]);
            fault_kind = Some(DefectKind::Light);
        }
        Class::DeepDenseFade => {
            kind = PatternKind::DenseSparse;
            fault_kind = Some(DefectKind::DenseLineFade);
        }
    }
    let ink_end = pattern::render(kind, dots, serial)
        .expect("corpus widths are supported")
        .layout
        .ink_end;
    let mut fault = fault_kind.map(|k| fault(&mut fault_rng, k, dots, ink_end));
    match (class, fault.as_mut()) {
        (Class::EarlyStop, Some(Fault::Truncated { stop_row, .. })) => {
            *stop_row = (ink_end as f64 * fault_rng.range(0.1, 0.15)).round() as u32;
        }
        (Class::TornOnLid, Some(Fault::Truncated { torn, .. })) => *torn = true,
        (Class::LightForty, Some(Fault::Light { density })) => {
            *density = fault_rng.range(0.35, 0.45)
        }
        (Class::DeepDenseFade, Some(Fault::DenseLineFade { level })) => {
            *level = fault_rng.range(0.5, 0.58)
        }
        _ => {}
    }

    let thermal = thermal(&mut print_rng);
    let mut stock = stock(&mut print_rng, dots);
    let scanner = scanner(&mut scan_rng);
    let torn = matches!(fault, Some(Fault::Truncated { torn: true, .. }));
    let mut nuisances = nuisances(&mut nuis_rng, NUISANCE_P, torn, !unrelated);
    if class == Class::TornOnLid {
        nuisances.retain(|n| !matches!(n, Nuisance::DarkBed { .. }));
        if !nuisances
            .iter()
            .any(|n| matches!(n, Nuisance::BrightLid { .. }))
        {
            nuisances.push(Nuisance::BrightLid {
                reflectance: nuis_rng.range(0.86, 0.99),
            });
        }
    }
    for n in &nuisances {
        match *n {
            Nuisance::GreyRoll { white } => stock.white = white,
            Nuisance::YellowRoll { blue } => stock.tint = [1.0, 0.98, blue],
            _ => {}
        }
    }
    Spec {
        seed: rng.next_u64(),
        class,
        kind,
        dots,
        serial,
        unrelated,
        fault,
        nuisances,
        orientation,
        thermal,
        stock,
        scanner,
    }
}

/// A healthy print on a mid-range printer, scanned clean and upright at 600 dpi by a CCD
/// scanner with a gamma of 2.2 under a bright lid: what a golden record is blessed from.
pub fn reference(kind: PatternKind, dots: u32) -> Spec {
    Spec {
        seed: mix(0x60_1DE2, kind as u64 * 4096 + dots as u64),
        class: Class::Healthy,
        kind,
        dots,
        serial: 0,
        unrelated: false,
        fault: None,
        nuisances: vec![Nuisance::BrightLid { reflectance: 0.92 }],
        orientation: Orientation::Upright,
        thermal: Thermal {
            black: 0.08,
            scatter: 0.035,
            spread: 0.2,
            history_gain: 0.03,
            history_keep: 0.8,
            threshold: 0.5,
            softness: 0.05,
            mottle: 0.008,
            mottle_mm: 3.0,
            feed: Feed {
                error: 0.004,
                wobble: 0.001,
                period: 240.0,
                phase: 0.0,
            },
        },
        stock: Stock {
            width_mm: paper_width(dots),
            lead_mm: 8.0,
            tail_mm: 12.0,
            lateral_mm: 0.0,
            white: 0.88,
            tint: [1.0; 3],
            tear_gap_mm: 5.0,
            ragged_mm: 0.3,
        },
        scanner: Scanner {
            sensor: Sensor::Ccd,
            dpi: 600.0,
            dpi_error: (0.0, 0.0),
            skew_deg: 0.3,
            margin_mm: [8.0; 4],
            blur_px: 0.45,
            jitter_px: 0.05,
            gamma: Some(2.2),
            white_ref: 1.0,
            black_level: 3.0,
            prnu: 0.005,
            dsnu: 0.3,
            read_noise: 0.8,
            shot_noise: 1.5,
            chip_mm: 20.0,
            chip_gain: 0.0,
            defocus_mm: 0.1,
        },
    }
}

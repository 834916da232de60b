//! A corpus of synthetic receipt scans with their ground truth, made independently of the
//! crate's own simulator: the pattern bitmaps come from `printrig::pattern::render`, every
//! physical model here is this module's own.
//!
//! A sample is drawn in two steps: [`draw`] decides everything random about it from a
//! seed, a class and an index (a [`Spec`]), and [`render`] prints and scans it (a
//! [`Sample`]: the image and its [`Truth`]). Both are deterministic.

mod draw;
mod filter;
mod printer;
mod rng;
mod scanner;
mod shop;
#[cfg(test)]
mod tests;

pub use draw::{draw, reference};
pub use printer::{Feed, Stock, Thermal, DOT_MM};
pub use scanner::{Curl, Falloff, PaperEdge, Place, Scanner, Sensor};

use image::DynamicImage;
use printrig::defect::{DefectKind, Side};
use printrig::pattern::{self, PatternKind};
use rng::Rng;

/// Head widths every pattern is drawn at.
pub const WIDTHS: [u32; 3] = [384, 512, 576];

/// How the page lies on the bed (the print's first row towards the top when upright).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Orientation {
    Upright,
    /// Turned 90° clockwise: the first row on the right.
    Right,
    UpsideDown,
    /// Turned 270° clockwise: the first row on the left.
    Left,
}

impl Orientation {
    pub fn degrees(self) -> f64 {
        match self {
            Orientation::Upright => 0.0,
            Orientation::Right => 90.0,
            Orientation::UpsideDown => 180.0,
            Orientation::Left => 270.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Orientation::Upright => "upright",
            Orientation::Right => "90°",
            Orientation::UpsideDown => "180°",
            Orientation::Left => "270°",
        }
    }
}

/// A printer fault injected into the print.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Elements `start..start+len` never fire (1–2 dots).
    DeadElement { start: u32, len: u32 },
    /// A driver block `start..start+len` never fires (8–96 dots, clear of the edges).
    BlockDropout { start: u32, len: u32 },
    /// Left: elements `0..cut` dead; right: `cut..dots` dead.
    HalfWidth { side: Side, cut: u32 },
    /// Darkness falls linearly across the head, by `depth` at the `lighter` edge.
    FadeAcross { lighter: Side, depth: f64 },
    /// Darkness falls linearly from `start_row` to the end of the print, by `depth`.
    FadeAlong { start_row: u32, depth: f64 },
    /// Nothing prints from `stop_row` on; a torn page ends a little after it.
    Truncated { stop_row: u32, torn: bool },
    /// Uniform density: `density` times the nominal solid's optical density.
    Light { density: f64 },
    /// Rows with many dots firing develop `level` times the nominal optical density.
    DenseLineFade { level: f64 },
    /// Darkness × (1 − amplitude·(½ + ½·sin(2π·row/period + phase))).
    Banding {
        period: f64,
        amplitude: f64,
        phase: f64,
    },
}

impl Fault {
    pub fn kind(&self) -> DefectKind {
        match self {
            Fault::DeadElement { .. } => DefectKind::DeadElement,
            Fault::BlockDropout { .. } => DefectKind::BlockDropout,
            Fault::HalfWidth { .. } => DefectKind::HalfWidth,
            Fault::FadeAcross { .. } => DefectKind::FadeAcross,
            Fault::FadeAlong { .. } => DefectKind::FadeAlong,
            Fault::Truncated { .. } => DefectKind::Truncated,
            Fault::Light { .. } => DefectKind::Light,
            Fault::DenseLineFade { .. } => DefectKind::DenseLineFade,
            Fault::Banding { .. } => DefectKind::Banding,
        }
    }

    /// The dot columns (inclusive) a column fault kills.
    pub fn columns(&self, dots: u32) -> Option<(u32, u32)> {
        match *self {
            Fault::DeadElement { start, len } | Fault::BlockDropout { start, len } => {
                Some((start, start + len - 1))
            }
            Fault::HalfWidth {
                side: Side::Left,
                cut,
            } => Some((0, cut - 1)),
            Fault::HalfWidth {
                side: Side::Right,
                cut,
            } => Some((cut, dots - 1)),
            _ => None,
        }
    }
}

/// The printer's faults, in the order tables list them: every defect kind but the
/// verdicts on a page that shows no pattern (`blank`, `wrong_pattern`, `unregistered`).
pub const FAULT_KINDS: &[DefectKind] = DefectKind::ALL.split_at(9).0;

/// An edge of the scanned image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageEdge {
    Left,
    Top,
    Right,
    Bottom,
}

/// Something about the scan that is not the printer's fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Nuisance {
    /// Saved as JPEG at this quality.
    Jpeg { quality: u8 },
    /// Saved as 16-bit grey.
    Png16,
    /// Scanned in colour, with these channel gains.
    Rgb { cast: [f64; 3] },
    /// A greyer roll: paper reflectance this low.
    GreyRoll { white: f64 },
    /// A yellower roll: blue reflectance this share of red and green.
    YellowRoll { blue: f64 },
    /// Illumination falling off by `depth` over the image.
    Falloff { depth: f64, profile: Falloff },
    /// Dust on the glass: a dark streak along the sweep, `width` px wide, at this share
    /// of the image width, losing `depth` of the light.
    Dust { at: f64, width: u32, depth: f64 },
    /// An edge of the receipt curled off the glass.
    Curl {
        edge: PaperEdge,
        pull_px: f64,
        zone_mm: f64,
        shade: f64,
    },
    /// The print `gap_mm` from an edge of the image (the paper cut off by it).
    NearBedEdge { edge: ImageEdge, gap_mm: f64 },
    /// A second, unrelated receipt beside this one.
    SecondReceipt { side: Side, gap_mm: f64 },
    /// Lid closed: a bright background of this reflectance.
    BrightLid { reflectance: f64 },
    /// Lid open or dark backing.
    DarkBed { reflectance: f64 },
}

impl Nuisance {
    pub fn name(&self) -> &'static str {
        match self {
            Nuisance::Jpeg { .. } => "JPEG",
            Nuisance::Png16 => "16-bit PNG",
            Nuisance::Rgb { .. } => "RGB with colour cast",
            Nuisance::GreyRoll { .. } => "greyer roll",
            Nuisance::YellowRoll { .. } => "yellower roll",
            Nuisance::Falloff { .. } => "illumination falloff",
            Nuisance::Dust { .. } => "dust streak",
            Nuisance::Curl { .. } => "curled edge",
            Nuisance::NearBedEdge { .. } => "print near the bed edge",
            Nuisance::SecondReceipt { .. } => "second receipt beside",
            Nuisance::BrightLid { .. } => "bright lid",
            Nuisance::DarkBed { .. } => "dark background",
        }
    }

    /// Every nuisance name, in table order.
    pub const NAMES: [&'static str; 12] = [
        "JPEG",
        "16-bit PNG",
        "RGB with colour cast",
        "greyer roll",
        "yellower roll",
        "illumination falloff",
        "dust streak",
        "curled edge",
        "print near the bed edge",
        "second receipt beside",
        "bright lid",
        "dark background",
    ];
}

/// What a sample is drawn to test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// An upright healthy print of a pattern.
    Healthy,
    /// An upright print with one fault, on a pattern meant to reveal it.
    Faulty,
    /// A healthy print turned 90°, 180° or 270°.
    Turned,
    /// A shop receipt with no pattern, scanned where a pattern was expected.
    Unrelated,
    /// The receipt pattern with half of its width missing.
    ReceiptHalfWidth,
    /// A print stopping at 10–15 % of its length.
    EarlyStop,
    /// A print stopping at 10–90 % and torn off there, on a bright lid.
    TornOnLid,
    /// A uniformly light print at 35–45 % of the nominal density.
    LightForty,
    /// Dense rows at 50–58 % of the nominal density.
    DeepDenseFade,
}

impl Class {
    pub const ALL: [Class; 9] = [
        Class::Healthy,
        Class::Faulty,
        Class::Turned,
        Class::Unrelated,
        Class::ReceiptHalfWidth,
        Class::EarlyStop,
        Class::TornOnLid,
        Class::LightForty,
        Class::DeepDenseFade,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Healthy => "healthy",
            Class::Faulty => "faulty",
            Class::Turned => "turned",
            Class::Unrelated => "unrelated receipt",
            Class::ReceiptHalfWidth => "receipt half width",
            Class::EarlyStop => "stop at 10–15 %",
            Class::TornOnLid => "torn on a bright lid",
            Class::LightForty => "light at ≈40 %",
            Class::DeepDenseFade => "dense-line fade 50–58 %",
        }
    }
}

/// Everything random about a sample, decided before anything is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub seed: u64,
    pub class: Class,
    pub kind: PatternKind,
    pub dots: u32,
    pub serial: u16,
    /// A shop receipt is printed instead of the pattern.
    pub unrelated: bool,
    pub fault: Option<Fault>,
    pub nuisances: Vec<Nuisance>,
    pub orientation: Orientation,
    pub thermal: Thermal,
    pub stock: Stock,
    pub scanner: Scanner,
}

/// The exact map from printer dots to scan pixels (without the carriage jitter, a
/// fraction of a pixel).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Paper coordinates (mm) of the corner of dot (0, 0).
    pub origin: (f64, f64),
    pub feed: Feed,
    /// The sheet's size (mm) and its curled edge, if any.
    pub sheet: (f64, f64),
    pub curl: Option<Curl>,
    pub place: Place,
    /// Bed position (mm) of the image's top-left corner.
    pub window: (f64, f64),
    pub px_per_mm: (f64, f64),
}

impl Geometry {
    /// Dot (x, y) (dot `i` spans `[i, i+1)`) → scan pixel (u, v) (pixel `i` spans
    /// `[i, i+1)`), the convention of the analysis' registration.
    pub fn dot_to_pixel(&self, x: f64, y: f64) -> (f64, f64) {
        let mut p = (self.origin.0 + x * DOT_MM, self.origin.1 + self.feed.mm(y));
        if let Some(c) = &self.curl {
            let (w, l) = self.sheet;
            match c.edge {
                PaperEdge::Left => p.0 = c.roll(p.0),
                PaperEdge::Right => p.0 = w - c.roll(w - p.0),
                PaperEdge::Leading => p.1 = c.roll(p.1),
                PaperEdge::Trailing => p.1 = l - c.roll(l - p.1),
            }
        }
        let b = self.place.to_bed(p);
        (
            (b.0 - self.window.0) * self.px_per_mm.0,
            (b.1 - self.window.1) * self.px_per_mm.1,
        )
    }

    /// Scan pixels per dot (the mean of both axes).
    pub fn px_per_dot(&self) -> f64 {
        (self.px_per_mm.0 + self.px_per_mm.1) / 2.0 * DOT_MM
    }
}

/// What a sample really shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub class: Class,
    /// The pattern the rig expects on the page (for an unrelated receipt too).
    pub kind: PatternKind,
    pub dots: u32,
    pub serial: u16,
    pub unrelated: bool,
    pub fault: Option<Fault>,
    pub nuisances: Vec<Nuisance>,
    pub orientation: Orientation,
    pub dpi: f64,
    pub sensor: Sensor,
    pub gamma: Option<f64>,
    /// The pattern's last inked row + 1, and that of what did print.
    pub ink_end: u32,
    pub printed_ink_end: u32,
    pub geometry: Geometry,
}

impl Truth {
    pub fn has(&self, name: &str) -> bool {
        self.nuisances.iter().any(|n| n.name() == name)
    }
}

/// A scan and what it shows.
pub struct Sample {
    pub image: DynamicImage,
    pub truth: Truth,
}

/// Paper cells per dot for a scan resolution: finer than the scan by a third or more
/// (3 for 300–450 dpi, 4 for 600), and 6 for 1200 dpi, where the optics' blur is
/// wider than a raster cell.
fn cells_per_dot(dpi: f64) -> usize {
    ((1.35 * dpi / 203.2).ceil() as usize).clamp(3, 6)
}

/// Half extents (mm) of a `w` × `l` rectangle turned by `theta`.
fn half_extent(w: f64, l: f64, theta: f64) -> (f64, f64) {
    let (s, c) = theta.sin_cos();
    (
        (w * c.abs() + l * s.abs()) / 2.0,
        (w * s.abs() + l * c.abs()) / 2.0,
    )
}

/// Prints and scans a drawn sample.
pub fn render(spec: &Spec) -> Sample {
    let mut rng = Rng::new(spec.seed);
    let mut print_rng = rng.fork();
    let mut shop_rng = rng.fork();
    let mut second_rng = rng.fork();
    let mut scan_rng = rng.fork();

    let expected =
        pattern::render(spec.kind, spec.dots, spec.serial).expect("corpus widths are supported");
    let bitmap = if spec.unrelated {
        shop::receipt(spec.dots, &mut shop_rng)
    } else {
        expected.bitmap.clone()
    };
    let rp = cells_per_dot(spec.scanner.dpi);
    let mut main = printer::print(
        &bitmap,
        spec.fault.as_ref(),
        &spec.thermal,
        &spec.stock,
        rp,
        &mut print_rng,
    );

    let second = spec.nuisances.iter().find_map(|n| match n {
        Nuisance::SecondReceipt { side, gap_mm } => Some((*side, *gap_mm)),
        _ => None,
    });
    let mut other = second.map(|_| {
        let dots = second_rng.pick(&WIDTHS);
        let stock = Stock {
            width_mm: if dots == 384 { 58.0 } else { 80.0 },
            lead_mm: second_rng.range(3.0, 12.0),
            tail_mm: second_rng.range(5.0, 20.0),
            lateral_mm: 0.0,
            tint: [1.0; 3],
            ..spec.stock.clone()
        };
        let bm = shop::receipt(dots, &mut second_rng);
        printer::print(&bm, None, &spec.thermal, &stock, rp, &mut second_rng)
    });

    // Optics and pixel area, seen on the paper raster.
    let (sx, sy) = spec.scanner.px_per_mm();
    let soften = 0.4 * main.raster.px_per_mm / ((sx + sy) / 2.0);
    main.raster.soften(soften);
    if let Some(o) = other.as_mut() {
        o.raster.soften(soften);
    }

    // Placement on the bed: the main sheet centred at the origin, the other beside it.
    let theta = (spec.orientation.degrees() + spec.scanner.skew_deg).to_radians();
    let place = Place {
        theta,
        paper_centre: (main.width_mm / 2.0, main.length_mm / 2.0),
        bed_centre: (0.0, 0.0),
    };
    let (hx, hy) = half_extent(main.width_mm, main.length_mm, theta);
    let mut lo = (-hx, -hy);
    let mut hi = (hx, hy);
    let mut sheets = vec![(&main, place)];
    if let (Some(o), Some((side, gap))) = (other.as_ref(), second) {
        let t2 = second_rng.range(-2.0, 2.0).to_radians();
        let (ox, oy) = half_extent(o.width_mm, o.length_mm, t2);
        let cx = match side {
            Side::Right => hx + gap + ox,
            Side::Left => -(hx + gap + ox),
        };
        let cy = -hy + oy + second_rng.range(0.0, 10.0);
        lo = (lo.0.min(cx - ox), lo.1.min(cy - oy));
        hi = (hi.0.max(cx + ox), hi.1.max(cy + oy));
        sheets.push((
            o,
            Place {
                theta: t2,
                paper_centre: (o.width_mm / 2.0, o.length_mm / 2.0),
                bed_centre: (cx, cy),
            },
        ));
    }
    let m = spec.scanner.margin_mm;
    let (mut x0, mut y0, mut x1, mut y1) = (lo.0 - m[0], lo.1 - m[1], hi.0 + m[2], hi.1 + m[3]);
    if let Some((edge, gap)) = spec.nuisances.iter().find_map(|n| match n {
        Nuisance::NearBedEdge { edge, gap_mm } => Some((*edge, *gap_mm)),
        _ => None,
    }) {
        // Bed extent of the printed area of the main sheet.
        let corners = [
            main.dot_mm(0.0, 0.0),
            main.dot_mm(bitmap.width() as f64, 0.0),
            main.dot_mm(0.0, bitmap.height() as f64),
            main.dot_mm(bitmap.width() as f64, bitmap.height() as f64),
        ]
        .map(|p| place.to_bed(p));
        let min = |f: fn(&(f64, f64)) -> f64| corners.iter().map(f).fold(f64::MAX, f64::min);
        let max = |f: fn(&(f64, f64)) -> f64| corners.iter().map(f).fold(f64::MIN, f64::max);
        match edge {
            ImageEdge::Left => x0 = min(|p| p.0) - gap,
            ImageEdge::Top => y0 = min(|p| p.1) - gap,
            ImageEdge::Right => x1 = max(|p| p.0) + gap,
            ImageEdge::Bottom => y1 = max(|p| p.1) + gap,
        }
    }
    let size = (
        ((x1 - x0) * sx).ceil() as usize,
        ((y1 - y0) * sy).ceil() as usize,
    );

    let mut rgb = None;
    let mut background = 0.9;
    let mut falloff = None;
    let mut dust = None;
    let mut curl = None;
    let mut sixteen_bit = false;
    let mut jpeg = None;
    for n in &spec.nuisances {
        match *n {
            Nuisance::Jpeg { quality } => jpeg = Some(quality),
            Nuisance::Png16 => sixteen_bit = true,
            Nuisance::Rgb { cast } => rgb = Some(cast),
            Nuisance::Falloff { depth, profile } => falloff = Some((depth, profile)),
            Nuisance::Dust { at, width, depth } => {
                dust = Some(((at * size.0 as f64) as usize, width as usize, depth))
            }
            Nuisance::Curl {
                edge,
                pull_px,
                zone_mm,
                shade,
            } => {
                curl = Some(Curl {
                    edge,
                    pull_mm: pull_px / ((sx + sy) / 2.0),
                    zone_mm,
                    shade,
                })
            }
            Nuisance::BrightLid { reflectance } | Nuisance::DarkBed { reflectance } => {
                background = reflectance
            }
            Nuisance::GreyRoll { .. }
            | Nuisance::YellowRoll { .. }
            | Nuisance::NearBedEdge { .. }
            | Nuisance::SecondReceipt { .. } => {}
        }
    }
    let scene = scanner::Scene {
        sheets,
        background,
        window: (x0, y0),
        size,
        curl,
        falloff,
        dust,
        rgb,
        sixteen_bit,
    };
    let mut image = scanner::scan(&scene, &spec.scanner, &mut scan_rng);
    if let Some(q) = jpeg {
        image = jpeg_round_trip(&image, q);
    }

    let layout = &expected.layout;
    let printed_ink_end = match spec.fault {
        Some(Fault::Truncated { stop_row, .. }) => (0..stop_row.min(layout.rows))
            .rev()
            .find(|&y| bitmap.row(y).iter().filter(|&&d| d != 0).count() >= 8)
            .map_or(0, |y| y + 1),
        _ => layout.ink_end,
    };
    let truth = Truth {
        class: spec.class,
        kind: spec.kind,
        dots: spec.dots,
        serial: spec.serial,
        unrelated: spec.unrelated,
        fault: spec.fault,
        nuisances: spec.nuisances.clone(),
        orientation: spec.orientation,
        dpi: spec.scanner.dpi,
        sensor: spec.scanner.sensor,
        gamma: spec.scanner.gamma,
        ink_end: layout.ink_end,
        printed_ink_end,
        geometry: Geometry {
            origin: main.origin,
            feed: main.feed,
            sheet: (main.width_mm, main.length_mm),
            curl,
            place,
            window: (x0, y0),
            px_per_mm: (sx, sy),
        },
    };
    Sample { image, truth }
}

/// Saves as JPEG at `quality` and reads it back, as a scanner writing JPEG would.
fn jpeg_round_trip(img: &DynamicImage, quality: u8) -> DynamicImage {
    let mut bytes = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality);
    img.write_with_encoder(enc)
        .expect("an 8-bit image encodes as JPEG");
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .expect("a JPEG just written decodes")
}

/// `n` samples of `class`, deterministic for `seed`.
pub fn corpus(seed: u64, n: usize, class: Class) -> impl Iterator<Item = Sample> {
    (0..n as u64).map(move |i| render(&draw(seed, class, i)))
}

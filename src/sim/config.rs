//! The simulated station's configuration: every parameter a station file may set for a
//! simulated station, with its default and its limits, in one place, and the one function
//! that resolves it from what a station file declares.
//!
//! Owns [`SimConfig`], the parameter table ([`Param`]), the simulator's [`LIMITS`] and
//! [`SimConfig::from_station`]. It must not start anything (`sim::station` runs what this
//! describes) and it never reads files: the station file was read by `plan`, which keeps
//! each declared value with its place so that a rejection here names it.

use super::faults::{FaultError, Faults, PowerCut, TEMPERATURE_RANGE, VOLTAGE_RANGE};
use super::scanner::{DPI_RANGE, MAX_SKEW_DEG};
use super::station::LatentFault;
use crate::plan::{
    ChamberSpec, Declared, Envelope, LatentSpec, PlanError, PlanErrors, PowerSpec, ScannerSpec,
    SimDeclaration, Station,
};
use serde::{Deserialize, Serialize};

/// A numeric parameter of the simulated station: its station-file key, default and the
/// range it accepts (`lo_open`: the lower bound itself is not accepted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Param {
    pub key: &'static str,
    pub default: f64,
    pub lo: f64,
    pub lo_open: bool,
    pub hi: f64,
}

impl Param {
    const fn new(key: &'static str, default: f64, lo: f64, hi: f64) -> Param {
        Param {
            key,
            default,
            lo,
            lo_open: false,
            hi,
        }
    }

    const fn above(key: &'static str, default: f64, lo: f64, hi: f64) -> Param {
        Param {
            key,
            default,
            lo,
            lo_open: true,
            hi,
        }
    }

    /// `Ok(value)` when the parameter accepts it; the reason otherwise.
    pub fn check(&self, value: f64) -> Result<f64, String> {
        let lo_ok = if self.lo_open {
            value > self.lo
        } else {
            value >= self.lo
        };
        if value.is_finite() && lo_ok && value <= self.hi {
            return Ok(value);
        }
        let lo = if self.lo_open {
            format!("greater than {}", self.lo)
        } else {
            format!("at least {}", self.lo)
        };
        Err(format!(
            "{value} is out of range for the simulated station: must be {lo} and at most {}",
            self.hi
        ))
    }

    /// The declared value checked; `None` when it was not declared or is rejected (an
    /// error at the declared place).
    fn resolve_declared(
        &self,
        table: &str,
        declared: Option<&Declared<f64>>,
        errors: &mut Vec<PlanError>,
    ) -> Option<f64> {
        let d = declared?;
        match self.check(d.value) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(d.error(&format!("{table}.{}", self.key), e));
                None
            }
        }
    }

    /// The declared value checked, or the default; an error at the declared place.
    fn resolve(
        &self,
        table: &str,
        declared: Option<&Declared<f64>>,
        errors: &mut Vec<PlanError>,
    ) -> f64 {
        let Some(d) = declared else {
            return self.default;
        };
        match self.check(d.value) {
            Ok(v) => v,
            Err(e) => {
                errors.push(d.error(&format!("{table}.{}", self.key), e));
                self.default
            }
        }
    }
}

/// Station seconds per wall-clock second.
pub const TIME_SCALE: Param = Param::above("time_scale", 1.0, 0.0, 1.0e6);
/// Printer boot time after power returns, station seconds.
pub const BOOT_S: Param = Param::new("boot_s", 3.0, 0.0, 3600.0);
/// The room around the chamber (and the chamber's start), °C.
pub const AMBIENT_C: Param =
    Param::new("ambient_c", 23.0, TEMPERATURE_RANGE.0, TEMPERATURE_RANGE.1);
/// First-order lag of the chamber, station seconds (0: instant).
pub const CHAMBER_TAU_S: Param = Param::new("chamber_tau_s", 300.0, 0.0, 86_400.0);
/// Starting ink level; 1 is a full cartridge or a thermal printer.
pub const INK: Param = Param::new("ink", 1.0, 0.0, 1.0);
/// The supply voltage the printer is designed for, V.
pub const NOMINAL_VOLTAGE: Param = Param::above("nominal_voltage", 24.0, 0.0, VOLTAGE_RANGE.1);
/// The flatbed's resolution, dpi.
pub const SCAN_DPI: Param = Param::new("dpi", 600.0, DPI_RANGE.0, DPI_RANGE.1);
/// Skew of the paper on the flatbed, degrees.
pub const SCAN_SKEW_DEG: Param = Param::new("skew_deg", 1.0, -MAX_SKEW_DEG, MAX_SKEW_DEG);
/// Line rates the simulated link can be throttled to, baud.
pub const BAUD_RANGE: (u32, u32) = (50, 4_000_000);
/// What the simulated printer reports as its firmware unless told otherwise.
pub const DEFAULT_FIRMWARE: &str = "SIM 1.0";
/// A firmware image's density setting relative to the base firmware's (darker than 1.25
/// would print beyond the paper's black).
pub const FIRMWARE_DENSITY: Param = Param::above("density", 1.0, 0.0, 1.25);
/// How fast the printer moves the paper, mm/s, in wall time (like `baud`). A station or
/// image that gives none prints as fast as the link brings the rows (the default below
/// is that: no mechanical limit).
pub const PRINT_SPEED_MM_S: Param = Param::new("print_speed_mm_s", f64::INFINITY, 1.0, 1000.0);
/// Dot rows per millimetre of paper (203 dpi).
pub const ROWS_PER_MM: f64 = 8.0;
/// Paper on the printer's roll, metres (an 80 mm thermal roll holds 50 to 80 m, a jumbo
/// roll a few hundred; a few centimetres run out within a receipt). The head counts it in
/// dot rows: [`roll_rows`].
pub const ROLL_M: Param = Param::new("roll_m", 50.0, 0.01, 1000.0);

/// A roll of `metres` in dot rows at [`ROWS_PER_MM`] (50 m: 400 000 rows).
pub fn roll_rows(metres: f64) -> u64 {
    (metres * 1000.0 * ROWS_PER_MM).round().max(1.0) as u64
}
/// How late a firmware image sends each band acknowledgement, wall milliseconds.
pub const FIRMWARE_ACK_DELAY_MS: Param = Param::new("ack_delay_ms", 0.0, 0.0, 60_000.0);

/// A firmware image the simulated printer can run: what it reports and how it prints
/// differently from the base firmware.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmwareImage {
    /// Reported by GS I 65.
    pub version: String,
    /// Density setting: every dot's darkness scaled by it (0.94 prints about 6 % lighter).
    pub density: f64,
    /// Extra faults in `--fault` syntax, checked for the station.
    pub faults: Vec<String>,
    /// How fast it moves the paper, mm/s; `None`: the station's `print_speed_mm_s`.
    #[serde(default)]
    pub print_speed_mm_s: Option<f64>,
    /// How late it sends each band acknowledgement (GS ( H), wall milliseconds.
    #[serde(default)]
    pub ack_delay_ms: f64,
    /// Whether it stretches the strobe pulse of a row that loads the supply, as the base
    /// firmware does (see [`crate::sim::head::HeadModel::dense_compensation`]).
    #[serde(default = "compensates")]
    pub dense_compensation: bool,
}

fn compensates() -> bool {
    true
}

impl FirmwareImage {
    /// The base firmware: what every station runs unless it declares images.
    pub fn base(version: &str) -> FirmwareImage {
        FirmwareImage {
            version: version.to_string(),
            density: FIRMWARE_DENSITY.default,
            faults: Vec::new(),
            print_speed_mm_s: None,
            ack_delay_ms: FIRMWARE_ACK_DELAY_MS.default,
            dense_compensation: true,
        }
    }
}

/// What the simulated instruments reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Voltages the simulated supply sets, V.
    pub voltage: (f64, f64),
    /// Set points the simulated chamber accepts (and the head model covers), °C.
    pub temperature: (f64, f64),
}

/// The simulated station's limits.
pub const LIMITS: Limits = Limits {
    voltage: VOLTAGE_RANGE,
    temperature: TEMPERATURE_RANGE,
};

/// How a simulated station behaves: its faults, clock, room, consumables, flatbed and
/// link. `Default` is a healthy printer at 24 V in a 23 °C room, scanned at 600 dpi.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Firmware version the printer runs at start (GS I 65 reports it).
    pub firmware: String,
    /// The firmware images it can run (besides a base image of `firmware` when none of
    /// them is that version).
    pub firmware_images: Vec<FirmwareImage>,
    /// Faults the printer always has.
    pub faults: Faults,
    /// Faults present only under some conditions.
    pub latent: Vec<LatentFault>,
    /// Station seconds per wall second, > 0.
    pub time_scale: f64,
    /// Printer boot time after power comes back, station seconds.
    pub boot_s: f64,
    /// Room temperature; the chamber's starting point and set point, °C.
    pub ambient_c: f64,
    /// Chamber thermal time constant, station seconds (0: instant).
    pub chamber_tau_s: f64,
    /// Starting ink level 0..1; 1 is a full cartridge (or a thermal printer): the ink
    /// model is on only below 1. A base fault `ink=` wins when it is lower.
    pub ink: f64,
    /// Seed of every random draw (paper, scans).
    pub seed: u64,
    /// Supply voltage the printer is designed for, V.
    pub nominal_voltage: f64,
    /// Scanner resolution, dpi.
    pub scan_dpi: f64,
    /// Skew of the paper on the scanner bed, degrees.
    pub scan_skew_deg: f64,
    /// Throttle the printer's link to this line rate, baud (10 bits per byte).
    pub baud: Option<u32>,
    /// How fast the printer moves the paper, mm/s of wall time; `None`: as fast as the
    /// link brings the rows. A firmware image may set its own.
    pub print_speed_mm_s: Option<f64>,
    /// Paper on the printer's roll, metres: a job that would move more ends at paper end.
    pub roll_m: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            firmware: DEFAULT_FIRMWARE.into(),
            firmware_images: Vec::new(),
            faults: Faults::default(),
            latent: Vec::new(),
            time_scale: TIME_SCALE.default,
            boot_s: BOOT_S.default,
            ambient_c: AMBIENT_C.default,
            chamber_tau_s: CHAMBER_TAU_S.default,
            ink: INK.default,
            seed: 1,
            nominal_voltage: NOMINAL_VOLTAGE.default,
            scan_dpi: SCAN_DPI.default,
            scan_skew_deg: SCAN_SKEW_DEG.default,
            baud: None,
            print_speed_mm_s: None,
            roll_m: ROLL_M.default,
        }
    }
}

/// Why a fault cannot be a simulated station's (beyond its syntax).
fn station_fault_problem(parsed: &Faults, dots: Option<u32>) -> Option<String> {
    if parsed.voltage.is_some() {
        return Some(
            "is set by the simulated power supply, not as a fault (use a voltage condition in the plan)"
                .into(),
        );
    }
    if parsed.temperature.is_some() {
        return Some("is set by the simulated chamber, not as a fault (use station.sim.ambient_c or a chamber condition)".into());
    }
    if parsed.ink.is_some() {
        return Some("is set by the simulated supply, not as a fault (use station.sim.ink or an ink condition)".into());
    }
    if let Some(p) = stream_problem(parsed) {
        return Some(p.into());
    }
    let dots = dots?;
    let outside = parsed
        .dead_elements
        .iter()
        .find(|&&c| c >= dots)
        .map(|c| format!("dot {c}"));
    let block = parsed
        .dead_block
        .filter(|&(s, l)| u64::from(s) + u64::from(l) > u64::from(dots))
        .map(|(s, l)| format!("dots {s}..{}", u64::from(s) + u64::from(l)));
    outside
        .or(block)
        .map(|w| format!("{w} lies outside the {dots}-dot head"))
}

/// Why a fault cannot apply to a station printer, which receives an open-ended stream
/// (a cut at a fraction of the job needs the job's length).
pub(crate) fn stream_problem(parsed: &Faults) -> Option<&'static str> {
    matches!(parsed.power_cut, Some(PowerCut::Fraction(_))).then_some(
        "a station printer receives a stream of unknown length: give the cut as a byte offset, e.g. cut=@12345",
    )
}

/// Parses one station fault and checks it suits a simulated station of `dots` dots (when
/// the head width is known).
pub fn station_fault(text: &str, dots: Option<u32>) -> Result<Faults, String> {
    let mut f = Faults::default();
    f.apply(text).map_err(|e: FaultError| e.to_string())?;
    match station_fault_problem(&f, dots) {
        Some(p) => Err(format!("\"{text}\" {p}")),
        None => Ok(f),
    }
}

impl SimConfig {
    /// The configuration a sim station's file declares, with the defaults filled in and
    /// every value checked against the simulator's limits; `None` for a real station.
    /// Every problem is reported at the place it was declared, all at once.
    pub fn from_station(st: &Station) -> Result<Option<SimConfig>, PlanErrors> {
        let Some(sim) = st.sim.as_ref() else {
            return Ok(None);
        };
        SimConfig::from_declaration(&SimDeclaration {
            dots: Some(st.printer.dots),
            sim,
            power: Some(&st.power),
            scanner: Some(&st.scanner),
            firmware: st.printer.firmware.as_deref(),
        })
        .map(Some)
    }

    /// [`SimConfig::from_station`] on what a station file declares, as far as it could be
    /// read (without a valid head width, faults are not checked against the head).
    pub fn from_declaration(declared: &SimDeclaration<'_>) -> Result<SimConfig, PlanErrors> {
        let decl = declared.sim;
        let dots = declared.dots;
        let mut errors = Vec::new();
        let mut c = SimConfig::default();
        const T: &str = "station.sim";
        c.time_scale = TIME_SCALE.resolve(T, decl.time_scale.as_ref(), &mut errors);
        c.boot_s = BOOT_S.resolve(T, decl.boot_s.as_ref(), &mut errors);
        c.ambient_c = AMBIENT_C.resolve(T, decl.ambient_c.as_ref(), &mut errors);
        c.chamber_tau_s = CHAMBER_TAU_S.resolve(T, decl.chamber_tau_s.as_ref(), &mut errors);
        c.ink = INK.resolve(T, decl.ink.as_ref(), &mut errors);
        c.seed = decl.seed.unwrap_or(c.seed);
        c.print_speed_mm_s =
            PRINT_SPEED_MM_S.resolve_declared(T, decl.print_speed_mm_s.as_ref(), &mut errors);
        c.roll_m = ROLL_M.resolve(T, decl.roll_m.as_ref(), &mut errors);
        if let Some(b) = &decl.baud {
            if (BAUD_RANGE.0..=BAUD_RANGE.1).contains(&b.value) {
                c.baud = Some(b.value);
            } else {
                errors.push(b.error(
                    "station.sim.baud",
                    format!(
                        "{} baud is out of range ({}..={})",
                        b.value, BAUD_RANGE.0, BAUD_RANGE.1
                    ),
                ));
            }
        }
        if let Some(fw) = declared.firmware {
            c.firmware = fw.to_string();
        }
        for f in &decl.faults {
            let applied = station_fault(&f.value, dots)
                .and_then(|_| c.faults.apply(&f.value).map_err(|e| e.to_string()));
            if let Err(e) = applied {
                errors.push(f.error("station.sim.faults", e));
            }
        }
        for l in &decl.latent {
            if let Some(l) = latent(l, dots, &mut errors) {
                c.latent.push(l);
            }
        }
        for f in &decl.firmware {
            let mut image = FirmwareImage::base(&f.version.value);
            const F: &str = "station.sim.firmware";
            image.density = FIRMWARE_DENSITY.resolve(F, f.density.as_ref(), &mut errors);
            image.print_speed_mm_s =
                PRINT_SPEED_MM_S.resolve_declared(F, f.print_speed_mm_s.as_ref(), &mut errors);
            image.ack_delay_ms =
                FIRMWARE_ACK_DELAY_MS.resolve(F, f.ack_delay_ms.as_ref(), &mut errors);
            image.dense_compensation = f.dense_compensation.unwrap_or(true);
            for fault in &f.faults {
                match station_fault(&fault.value, dots) {
                    Ok(_) => image.faults.push(fault.value.clone()),
                    Err(e) => errors.push(fault.error("station.sim.firmware.faults", e)),
                }
            }
            if c.firmware_images.iter().any(|i| i.version == image.version) {
                errors.push(f.version.error(
                    "station.sim.firmware.version",
                    format!("\"{}\" is declared twice", image.version),
                ));
            }
            c.firmware_images.push(image);
        }
        if let Some(PowerSpec::Sim { nominal_voltage }) = declared.power {
            c.nominal_voltage =
                NOMINAL_VOLTAGE.resolve("station.power", nominal_voltage.as_ref(), &mut errors);
        }
        if let Some(ScannerSpec::Sim { dpi, skew_deg }) = declared.scanner {
            c.scan_dpi = SCAN_DPI.resolve("station.scanner", dpi.as_ref(), &mut errors);
            c.scan_skew_deg =
                SCAN_SKEW_DEG.resolve("station.scanner", skew_deg.as_ref(), &mut errors);
        }
        if errors.is_empty() {
            Ok(c)
        } else {
            Err(PlanErrors::sorted(errors))
        }
    }

    /// What a plan needs to know about a station simulated with this configuration.
    pub fn envelope(&self, st: &Station) -> Envelope {
        Envelope {
            voltage: matches!(st.power, PowerSpec::Sim { .. }).then_some(LIMITS.voltage),
            temperature: matches!(st.chamber, ChamberSpec::Sim).then_some(LIMITS.temperature),
            time_scale: self.time_scale,
        }
    }

    /// Checks every value; the first problem found (for configurations built in code;
    /// a station file's are checked, with their places, by [`SimConfig::from_station`]).
    pub fn validate(&self) -> Result<(), String> {
        for (p, v) in [
            (TIME_SCALE, self.time_scale),
            (BOOT_S, self.boot_s),
            (AMBIENT_C, self.ambient_c),
            (CHAMBER_TAU_S, self.chamber_tau_s),
            (INK, self.ink),
            (NOMINAL_VOLTAGE, self.nominal_voltage),
            (SCAN_DPI, self.scan_dpi),
            (SCAN_SKEW_DEG, self.scan_skew_deg),
            (ROLL_M, self.roll_m),
        ] {
            p.check(v).map_err(|e| format!("{} = {e}", p.key))?;
        }
        if let Some(b) = self
            .baud
            .filter(|b| !(BAUD_RANGE.0..=BAUD_RANGE.1).contains(b))
        {
            return Err(format!(
                "baud = {b}: expected {} to {}",
                BAUD_RANGE.0, BAUD_RANGE.1
            ));
        }
        if let Some(p) = stream_problem(&self.faults) {
            return Err(format!("fault '{}': {p}", self.faults.describe()));
        }
        for l in &self.latent {
            l.validate()?;
        }
        if let Some(v) = self.print_speed_mm_s {
            PRINT_SPEED_MM_S
                .check(v)
                .map_err(|e| format!("{} = {e}", PRINT_SPEED_MM_S.key))?;
        }
        for i in &self.firmware_images {
            FIRMWARE_DENSITY
                .check(i.density)
                .map_err(|e| format!("firmware {} density = {e}", i.version))?;
            if let Some(v) = i.print_speed_mm_s {
                PRINT_SPEED_MM_S
                    .check(v)
                    .map_err(|e| format!("firmware {} print_speed_mm_s = {e}", i.version))?;
            }
            FIRMWARE_ACK_DELAY_MS
                .check(i.ack_delay_ms)
                .map_err(|e| format!("firmware {} ack_delay_ms = {e}", i.version))?;
            for f in &i.faults {
                station_fault(f, None).map_err(|e| format!("firmware {}: {e}", i.version))?;
            }
        }
        Ok(())
    }

    /// The image of firmware `version`: a declared one, or the base image when `version`
    /// is the station's own firmware; `None` for a version this station cannot run.
    pub fn firmware_image(&self, version: &str) -> Option<FirmwareImage> {
        self.firmware_images
            .iter()
            .find(|i| i.version == version)
            .cloned()
            .or_else(|| (version == self.firmware).then(|| FirmwareImage::base(version)))
    }

    /// How fast the printer moves the paper running `image`, mm/s: the image's speed, or
    /// the station's; `None`: as fast as the link.
    pub fn print_speed(&self, image: &FirmwareImage) -> Option<f64> {
        image.print_speed_mm_s.or(self.print_speed_mm_s)
    }

    /// Every firmware version this station can run.
    pub fn firmware_versions(&self) -> Vec<String> {
        let mut v = vec![self.firmware.clone()];
        for i in &self.firmware_images {
            if !v.contains(&i.version) {
                v.push(i.version.clone());
            }
        }
        v
    }
}

/// One declared latent fault, checked; `None` (reported) when it is not usable.
fn latent(l: &LatentSpec, dots: Option<u32>, errors: &mut Vec<PlanError>) -> Option<LatentFault> {
    let before = errors.len();
    if let Err(e) = station_fault(&l.fault.value, dots) {
        errors.push(l.fault.error("station.sim.latent.fault", e));
    }
    let mut trigger = |key: &str, d: &Option<Declared<f64>>, lo: f64, hi: f64| {
        let d = d.as_ref()?;
        let p = Param::new("", 0.0, lo, hi);
        match p.check(d.value) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(d.error(&format!("station.sim.latent.{key}"), e));
                None
            }
        }
    };
    let below_voltage = trigger(
        "below_voltage",
        &l.below_voltage,
        VOLTAGE_RANGE.0,
        VOLTAGE_RANGE.1,
    );
    let above_temperature = trigger(
        "above_temperature",
        &l.above_temperature,
        TEMPERATURE_RANGE.0,
        TEMPERATURE_RANGE.1,
    );
    let below_temperature = trigger(
        "below_temperature",
        &l.below_temperature,
        TEMPERATURE_RANGE.0,
        TEMPERATURE_RANGE.1,
    );
    let below_ink = trigger("below_ink", &l.below_ink, 0.0, 1.0);
    let declared = [
        &l.below_voltage,
        &l.above_temperature,
        &l.below_temperature,
        &l.below_ink,
    ];
    if declared.iter().all(|d| d.is_none()) {
        errors.push(PlanError::at(
            l.at.clone(),
            "station.sim.latent: needs a trigger: below_voltage, above_temperature, below_temperature or below_ink",
        ));
    }
    (errors.len() == before).then(|| LatentFault {
        fault: l.fault.value.clone(),
        below_voltage,
        above_temperature,
        below_temperature,
        below_ink,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse_stations;
    use std::path::Path;

    fn station(text: &str) -> Station {
        let sf = parse_stations(text, Path::new("st.toml")).expect("valid station file");
        sf.stations.into_iter().next().expect("one station")
    }

    const HEAD: &str = "[[station]]\nname = \"s\"\nkind = \"sim\"\nmodel = \"m\"\n\
                        [station.printer]\ndots = 384\nlink = { kind = \"pty\" }\n";

    #[test]
    fn an_empty_sim_table_takes_every_default() {
        let st = station(HEAD);
        let c = SimConfig::from_station(&st)
            .expect("valid")
            .expect("a sim station");
        assert_eq!(c, SimConfig::default());
        assert_eq!(c.boot_s, 3.0);
        let e = c.envelope(&st);
        assert_eq!(e.voltage, Some((0.0, 60.0)));
        assert_eq!(e.temperature, Some((-40.0, 60.0)));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn limits_are_the_simulators_and_name_the_place() {
        let st = station(&format!(
            "{HEAD}[station.power]\nkind = \"sim\"\nnominal_voltage = 75\n\
             [station.scanner]\nkind = \"sim\"\ndpi = 2400\n\
             [station.sim]\nambient_c = 150\nfaults = [\"dead=400\", \"voltage=12\", \"cut=0.5\"]\n\
             [[station.sim.latent]]\nfault = \"half=left\"\n\
             [[station.sim.latent]]\nfault = \"block=0:8\"\nbelow_voltage = 99\n"
        ));
        let text = SimConfig::from_station(&st)
            .expect_err("out of the simulator's range")
            .to_string();
        for want in [
            "st.toml:10:19: station.power.nominal_voltage: 75 is out of range for the simulated station",
            "st.toml:13:7: station.scanner.dpi: 2400 is out of range",
            "st.toml:15:13: station.sim.ambient_c: 150 is out of range",
            "station.sim.faults: \"dead=400\" dot 400 lies outside the 384-dot head",
            "\"voltage=12\" is set by the simulated power supply",
            "\"cut=0.5\" a station printer receives a stream of unknown length",
            "st.toml:17:1: station.sim.latent: needs a trigger",
            "st.toml:21:17: station.sim.latent.below_voltage: 99 is out of range",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn firmware_images_are_read_checked_and_found_by_version() {
        let st = station(&format!(
            "{HEAD}firmware = \"SIM 1.0\"\n[station.sim]\n\
             [[station.sim.firmware]]\nversion = \"SIM 1.1\"\ndensity = 0.94\n\
             [[station.sim.firmware]]\nversion = \"SIM 1.2\"\nfaults = [\"banding=40:0.1\"]\n"
        ));
        let c = SimConfig::from_station(&st).expect("valid").expect("sim");
        assert_eq!(c.firmware_versions(), ["SIM 1.0", "SIM 1.1", "SIM 1.2"]);
        let lighter = c.firmware_image("SIM 1.1").expect("declared");
        assert_eq!((lighter.density, lighter.faults.len()), (0.94, 0));
        assert_eq!(
            c.firmware_image("SIM 1.2").expect("declared").faults,
            ["banding=40:0.1"]
        );
        // The station's own version runs as the base image; others are not on it.
        assert_eq!(
            c.firmware_image("SIM 1.0"),
            Some(FirmwareImage::base("SIM 1.0"))
        );
        assert_eq!(c.firmware_image("SIM 9"), None);
        assert!(c.validate().is_ok());

        let st = station(&format!(
            "{HEAD}[station.sim]\n\
             [[station.sim.firmware]]\nversion = \"A\"\ndensity = 3\n\
             [[station.sim.firmware]]\nversion = \"A\"\nfaults = [\"dead=999\", \"voltage=12\"]\n"
        ));
        let text = st_errors(&st);
        for want in [
            "st.toml:11:11: station.sim.firmware.density: 3 is out of range",
            "station.sim.firmware.faults: \"dead=999\" dot 999 lies outside the 384-dot head",
            "\"voltage=12\" is set by the simulated power supply",
            "st.toml:13:11: station.sim.firmware.version: \"A\" is declared twice",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn firmware_speed_acknowledgement_delay_and_compensation_are_read_and_checked() {
        let st = station(&format!(
            "{HEAD}[station.sim]\nprint_speed_mm_s = 150\n\
             [[station.sim.firmware]]\nversion = \"SIM 1.2\"\nprint_speed_mm_s = 40\nack_delay_ms = 250\n\
             [[station.sim.firmware]]\nversion = \"SIM 1.3\"\ndense_compensation = false\n"
        ));
        let c = SimConfig::from_station(&st).expect("valid").expect("sim");
        assert_eq!(c.print_speed_mm_s, Some(150.0));
        let slow = c.firmware_image("SIM 1.2").expect("declared");
        assert_eq!(
            (
                slow.print_speed_mm_s,
                slow.ack_delay_ms,
                slow.dense_compensation
            ),
            (Some(40.0), 250.0, true)
        );
        assert_eq!(c.print_speed(&slow), Some(40.0));
        let plain = c.firmware_image("SIM 1.3").expect("declared");
        assert_eq!(
            (
                plain.print_speed_mm_s,
                plain.ack_delay_ms,
                plain.dense_compensation
            ),
            (None, 0.0, false)
        );
        // An image without a speed of its own moves the paper at the station's; so does
        // the base image.
        assert_eq!(c.print_speed(&plain), Some(150.0));
        let base = c.firmware_image("SIM 1.0").expect("base");
        assert_eq!(
            (
                c.print_speed(&base),
                base.ack_delay_ms,
                base.dense_compensation
            ),
            (Some(150.0), 0.0, true)
        );
        assert!(c.validate().is_ok());
        // Without a station speed: as fast as the link.
        let c = SimConfig::from_station(&station(HEAD))
            .expect("valid")
            .expect("sim");
        let base = c.firmware_image("SIM 1.0").expect("base");
        assert_eq!(c.print_speed(&base), None);

        let st = station(&format!(
            "{HEAD}[station.sim]\nprint_speed_mm_s = 0\n\
             [[station.sim.firmware]]\nversion = \"A\"\nprint_speed_mm_s = 5000\nack_delay_ms = -1\n\
             [[station.sim.firmware]]\nversion = \"B\"\nack_delay_ms = 60001\n"
        ));
        let text = st_errors(&st);
        for want in [
            "st.toml:9:20: station.sim.print_speed_mm_s: 0 is out of range for the simulated station: must be at least 1 and at most 1000",
            "st.toml:12:20: station.sim.firmware.print_speed_mm_s: 5000 is out of range",
            "st.toml:13:16: station.sim.firmware.ack_delay_ms: -1 is out of range",
            "st.toml:16:16: station.sim.firmware.ack_delay_ms: 60001 is out of range",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        // A compensation that is not true or false is the station file's error.
        let text = parse_stations(
            &format!(
                "{HEAD}[station.sim]\n[[station.sim.firmware]]\nversion = \"C\"\ndense_compensation = \"no\"\n"
            ),
            Path::new("st.toml"),
        )
        .expect_err("not a boolean")
        .to_string();
        assert!(
            text.contains("st.toml:11:22:") && text.contains("dense_compensation"),
            "{text}"
        );
        let bad = SimConfig {
            print_speed_mm_s: Some(0.5),
            ..SimConfig::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn the_roll_is_set_in_metres_and_counted_in_dot_rows() {
        // The default is the head's own roll.
        assert_eq!(
            roll_rows(ROLL_M.default),
            crate::sim::head::DEFAULT_ROLL_ROWS
        );
        let c = SimConfig::from_station(&station(HEAD))
            .expect("valid")
            .expect("sim");
        assert_eq!(c.roll_m, 50.0);
        let c = SimConfig::from_station(&station(&format!("{HEAD}[station.sim]\nroll_m = 0.05\n")))
            .expect("valid")
            .expect("sim");
        assert_eq!(roll_rows(c.roll_m), 400);
        for (value, col) in [("0", 10), ("-3", 10), ("2000", 10), ("0.001", 10)] {
            let st = station(&format!("{HEAD}[station.sim]\nroll_m = {value}\n"));
            let text = st_errors(&st);
            let want = format!(
                "st.toml:9:{col}: station.sim.roll_m: {} is out of range for the simulated station: must be at least 0.01 and at most 1000",
                value.parse::<f64>().expect("number")
            );
            assert!(text.contains(&want), "missing {want:?} in:\n{text}");
        }
        let text = parse_stations(
            &format!("{HEAD}[station.sim]\nroll_m = \"80 m\"\n"),
            Path::new("st.toml"),
        )
        .expect_err("not a number")
        .to_string();
        assert!(
            text.contains("st.toml:9:10:") && text.contains("roll_m"),
            "{text}"
        );
        let bad = SimConfig {
            roll_m: 0.0,
            ..SimConfig::default()
        };
        assert!(bad.validate().is_err());
    }

    fn st_errors(st: &Station) -> String {
        SimConfig::from_station(st)
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn a_real_station_has_no_sim_config() {
        let st = station(
            "[[station]]\nname = \"r\"\nkind = \"real\"\nmodel = \"m\"\n\
             [station.printer]\ndots = 576\nlink = { kind = \"tcp\", host = \"p\" }\n\
             [station.power]\nkind = \"scpi\"\naddress = { kind = \"tcp\", host = \"psu\" }\nnominal_voltage = 80\n\
             [station.scanner]\nkind = \"hotfolder\"\ndir = \"/srv/scans\"\n",
        );
        assert_eq!(SimConfig::from_station(&st).expect("valid"), None);
        // A real supply is not held to the simulated one's 60 V.
        assert_eq!(st.power.nominal_voltage(), Some(80.0));
    }
}

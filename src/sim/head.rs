//! The print head's physics: dot rows in, 8-bit grey paper out.
//!
//! Owns the electrical (supply sag, brownout), thermal (paper activation, head heating,
//! over-temperature pause), mechanical (dead elements, tilt, banding, width setting) and
//! ink models of one simulated printer, and the paper they mark. It must not parse
//! ESC/POS, apply power cuts or know about jobs: the stream layer decides which rows
//! reach [`Head::print_row`] and when the page is cut. Deterministic for a seed.
//!
//! # The model, per printed row
//!
//! 1. **Supply sag.** Every firing element is a heater of resistance `R_h` fed through the
//!    supply's internal resistance `R_int` (PSU output, cable, common electrode). With `n`
//!    elements firing, `V_eff = V / (1 + n·R_int/R_h)`, and each dot receives the energy
//!    `e = (V_eff / V_nom)²` (relative to a dot fired alone at nominal voltage). When
//!    `V_eff` falls below the logic's reset threshold the printer resets: a brownout.
//!    That `e` is what a compensating firmware delivers: it stretches the strobe pulse of
//!    a row that loads the supply, so a dense row loses only what the sag takes once. A
//!    firmware that does not (`dense_compensation = false`) keeps the pulse a sparse
//!    row gets, and each dot receives `e·(V_eff / V)²`: the sag's loss felt once more, so
//!    a full 576-dot row prints lighter even at the nominal 24 V while sparse rows, which
//!    barely load the supply, print as before.
//! 2. **Thermal paper.** A dot's colour layer peaks at `T_base + G·e·(1 + σ·z)` (per-dot
//!    strength scatter `z`), where `T_base` is the paper's temperature (ambient, warmed a
//!    little by the head substrate). Colour develops linearly between the activation and
//!    the saturation temperature. The firmware's pulse is sized with margin: at 25 °C a
//!    dot saturates down to `e ≈ 0.41`, so sag and cold only show once they eat the margin.
//! 3. **Head heating.** The substrate gains heat per unit of dot energy and loses a fixed
//!    share of its excess over ambient per row time. Above the limit the printer pauses
//!    (the auto-recoverable error bit) until it has cooled by the hysteresis.
//! 4. **Darkness factors** multiply the thermal darkness: dead columns (0), tilt (uneven
//!    pressure), banding (feed), ink level (inkjet only), and cold: below −5 °C the colour
//!    layer develops less on every row, so the whole print is light.
//!
//! The page keeps each dot's darkness; [`Head::take_page`] composes the dot gain (bleeding
//! into the four neighbours), the paper texture and the ink reflectance into grey levels.

use super::faults::{Faults, Side, TEMPERATURE_RANGE, TILT_LIMIT, VOLTAGE_RANGE};
use super::{mix, KeyStream, Normals, INK_BLACK, PAPER_WHITE};
use crate::util::rng::Rng;
use image::GrayImage;
use serde::{Deserialize, Serialize};

/// Longest page the head keeps (8.2 m of paper at 8 dots/mm); rows beyond are lost.
pub const MAX_PAGE_ROWS: u32 = 65_536;
/// Paper on a roll, in dot rows: 50 m at 8 dots/mm (an 80 mm thermal roll holds 50 to
/// 80 m; `sim::config::ROLL_M` is the setting in metres). A job that would feed more than
/// its printer's roll ends at paper end.
pub const DEFAULT_ROLL_ROWS: u64 = 400_000;
/// Widest head simulated.
pub const MAX_HEAD_DOTS: u32 = 8192;
/// How often [`Head::take_page`] gives back the darkness rows it has turned to grey, rows.
const GIVE_BACK_ROWS: usize = 2048;

/// Physical constants of a print head and its paper. `Default` is an 80 mm, 576-dot,
/// 24 V thermal head; the numbers in brackets are what the defaults produce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeadModel {
    /// Head width in dots (heater elements / nozzles).
    pub dots: u32,
    /// Supply voltage the print energy is designed for, V.
    pub nominal_voltage: f64,
    /// Resistance of one heater element, Ω.
    pub element_resistance: f64,
    /// Supply internal + cable + common-electrode resistance, Ω. With 576 elements a full
    /// row pulls `V_eff` to 1/1.27 of the supply (24 V → 18.9 V, 17.5 V → 13.8 V).
    pub internal_resistance: f64,
    /// Effective voltage below which the logic resets (brownout), V. A full 576-dot row
    /// crosses it at a supply of 15.2 V; a 10 % row only at 12.3 V.
    pub reset_voltage: f64,
    /// Temperature rise of a dot's colour layer at relative energy 1, °C.
    pub dot_heating: f64,
    /// Colour layer temperature where the paper starts to darken, °C.
    pub activation_temp: f64,
    /// Colour layer temperature of full black, °C.
    pub saturation_temp: f64,
    /// Share of the head substrate's warmth over ambient that reaches the paper.
    pub paper_coupling: f64,
    /// Per-dot random energy scatter (σ, relative): element resistance and contact.
    pub strength_sigma: f64,
    /// Substrate temperature rise per dot fired at relative energy 1, °C. A 576-dot row
    /// at 24 V adds 0.30 °C.
    pub heat_per_dot: f64,
    /// Share of the substrate's excess over ambient lost per row time. Continuous full
    /// rows at 24 V settle about 30 °C above ambient, with a time constant of 100 rows.
    pub cooling_per_row: f64,
    /// Head temperature that pauses printing (over-temperature), °C.
    pub over_temp_limit: f64,
    /// How far the head cools below the limit before printing resumes, °C.
    pub over_temp_hysteresis: f64,
    /// Darkness a dot spreads into each of its four neighbours, as a share of its own. A
    /// spot takes the larger of its own darkness and the sum of what it receives, so
    /// bleeding darkens white gaps and isolated dots' rims, not evenly printed areas.
    pub spread: f64,
    /// Ink used per printed dot, as a share of a full cartridge: a level of 0.3 lasts
    /// 208 full 576-dot rows, 0.6 lasts 417.
    pub ink_per_dot: f64,
    /// Ink level below which the print fades.
    pub ink_fade_level: f64,
    /// Darkness below the fade level is `(level / fade_level)^exponent`.
    pub ink_fade_exponent: f64,
    /// Mean grey of blank paper (the page's white).
    pub paper_white: f64,
    /// Fine paper noise, σ in grey levels.
    pub paper_noise: f64,
    /// Low-frequency fibre variation of the paper, σ in grey levels.
    pub fibre_amplitude: f64,
    /// Size of the fibre blotches, dots.
    pub fibre_scale: u32,
    /// Reflectance of a fully inked dot relative to the paper (0.08: grey ≈ 20).
    pub ink_reflectance: f64,
    /// Ambient temperature when the faults give none, °C.
    pub nominal_ambient: f64,
    /// Below this ambient, °C, the colour layer develops less whatever the pulse (a cold
    /// head needs extra drive energy that this firmware does not give).
    pub cold_limit: f64,
    /// Share of darkness lost per °C below `cold_limit` (0.035: −15 °C prints at 65 %).
    pub cold_loss_per_degree: f64,
    /// The firmware's density setting relative to the base firmware's: every dot's
    /// optical density is scaled by it (a shorter strobe makes a smaller, lighter dot; the
    /// thermal model above runs a solid well into saturation, where the energy alone
    /// would not show it).
    pub density: f64,
    /// Whether the firmware stretches the strobe pulse of a row that loads the supply
    /// (the base firmware does; see "Supply sag" in the module doc). Without it each dot
    /// of a row gets `e·(V_eff / V)²`: dense rows print lighter.
    pub dense_compensation: bool,
    /// Paper on the roll, in dot rows: once a printer has moved this much paper, it is
    /// at paper end ([`RowOutcome::PaperEnd`]) and prints and feeds nothing more.
    pub roll_rows: u64,
}

impl Default for HeadModel {
    fn default() -> Self {
        HeadModel {
            dots: 576,
            nominal_voltage: 24.0,
            element_resistance: 1000.0,
            internal_resistance: 0.47,
            reset_voltage: 12.0,
            dot_heating: 138.0,
            activation_temp: 56.0,
            saturation_temp: 81.0,
            paper_coupling: 0.15,
            strength_sigma: 0.04,
            heat_per_dot: 8.4e-4,
            cooling_per_row: 0.01,
            over_temp_limit: 65.0,
            over_temp_hysteresis: 10.0,
            spread: 0.12,
            ink_per_dot: 2.5e-6,
            ink_fade_level: 0.3,
            ink_fade_exponent: 0.7,
            paper_white: PAPER_WHITE - 1.0,
            paper_noise: 1.5,
            fibre_amplitude: 1.0,
            fibre_scale: 24,
            ink_reflectance: INK_BLACK / PAPER_WHITE,
            nominal_ambient: 25.0,
            cold_limit: -5.0,
            cold_loss_per_degree: 0.035,
            density: 1.0,
            dense_compensation: true,
            roll_rows: DEFAULT_ROLL_ROWS,
        }
    }
}

impl HeadModel {
    /// A default head of another width.
    pub fn with_dots(dots: u32) -> HeadModel {
        HeadModel {
            dots,
            ..HeadModel::default()
        }
    }

    /// The voltage across the heaters when `fired` elements fire at once on `supply` volts.
    pub fn effective_voltage(&self, supply: f64, fired: u32) -> f64 {
        let load = fired as f64 * self.internal_resistance / self.element_resistance;
        supply / (1.0 + load.max(0.0))
    }

    /// Relative energy of one dot at an effective voltage (1 = nominal voltage, no sag).
    pub fn energy(&self, effective_voltage: f64) -> f64 {
        let r = effective_voltage / self.nominal_voltage;
        r * r
    }

    /// Relative energy each dot of a row receives from the firmware's strobe when the row
    /// pulls a `supply`-volt rail down to `effective_voltage`: [`HeadModel::energy`] with
    /// dense compensation, less by the sag's share `(V_eff / V)²` without it.
    pub fn row_energy(&self, supply: f64, effective_voltage: f64) -> f64 {
        let e = self.energy(effective_voltage);
        if self.dense_compensation || supply <= 0.0 {
            return e;
        }
        let sag = (effective_voltage / supply).clamp(0.0, 1.0);
        e * sag * sag
    }

    /// Darkness (0..=1) of a dot of relative energy `energy` on paper at `paper_temp` °C.
    pub fn thermal_darkness(&self, energy: f64, paper_temp: f64) -> f64 {
        let peak = paper_temp + self.dot_heating * energy;
        let span = (self.saturation_temp - self.activation_temp).max(1e-6);
        ((peak - self.activation_temp) / span).clamp(0.0, 1.0)
    }

    /// Replaces unusable values (non-finite, negative, zero widths) by the defaults'.
    fn sanitised(mut self) -> HeadModel {
        let d = HeadModel::default();
        let fix = |v: &mut f64, dv: f64, ok: fn(f64) -> bool| {
            if !v.is_finite() || !ok(*v) {
                tracing::warn!(
                    value = *v,
                    default = dv,
                    "unusable head constant, using the default"
                );
                *v = dv;
            }
        };
        let pos = |v: f64| v > 0.0;
        let nonneg = |v: f64| v >= 0.0;
        let unit = |v: f64| (0.0..=1.0).contains(&v);
        let any = |_: f64| true;
        if self.dots == 0 || self.dots > MAX_HEAD_DOTS {
            tracing::warn!(dots = self.dots, "unusable head width, clamping");
            self.dots = self.dots.clamp(1, MAX_HEAD_DOTS);
        }
        fix(&mut self.nominal_voltage, d.nominal_voltage, pos);
        fix(&mut self.density, d.density, pos);
        fix(&mut self.element_resistance, d.element_resistance, pos);
        fix(&mut self.internal_resistance, d.internal_resistance, nonneg);
        fix(&mut self.reset_voltage, d.reset_voltage, nonneg);
        fix(&mut self.dot_heating, d.dot_heating, nonneg);
        fix(&mut self.activation_temp, d.activation_temp, any);
        fix(&mut self.saturation_temp, d.saturation_temp, any);
        if self.saturation_temp <= self.activation_temp {
            self.activation_temp = d.activation_temp;
            self.saturation_temp = d.saturation_temp;
        }
        fix(&mut self.paper_coupling, d.paper_coupling, unit);
        fix(&mut self.strength_sigma, d.strength_sigma, unit);
        fix(&mut self.heat_per_dot, d.heat_per_dot, nonneg);
        fix(&mut self.cooling_per_row, d.cooling_per_row, |v| {
            v > 0.0 && v < 1.0
        });
        fix(&mut self.over_temp_limit, d.over_temp_limit, any);
        fix(
            &mut self.over_temp_hysteresis,
            d.over_temp_hysteresis,
            nonneg,
        );
        fix(&mut self.spread, d.spread, |v| (0.0..=0.25).contains(&v));
        fix(&mut self.ink_per_dot, d.ink_per_dot, nonneg);
        fix(&mut self.ink_fade_level, d.ink_fade_level, |v| {
            v > 0.0 && v <= 1.0
        });
        fix(&mut self.ink_fade_exponent, d.ink_fade_exponent, nonneg);
        fix(&mut self.paper_white, d.paper_white, |v| {
            (0.0..=255.0).contains(&v)
        });
        fix(&mut self.paper_noise, d.paper_noise, nonneg);
        fix(&mut self.fibre_amplitude, d.fibre_amplitude, nonneg);
        if self.fibre_scale == 0 {
            self.fibre_scale = d.fibre_scale;
        }
        fix(&mut self.ink_reflectance, d.ink_reflectance, unit);
        fix(&mut self.nominal_ambient, d.nominal_ambient, any);
        fix(&mut self.cold_limit, d.cold_limit, any);
        fix(&mut self.cold_loss_per_degree, d.cold_loss_per_degree, unit);
        self
    }
}

/// What became of one row sent to the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    /// The row is on the paper (possibly faint, possibly cut short by the ink running out).
    Printed,
    /// The supply sagged below the reset threshold: the printer reset. This row and every
    /// later one are lost until [`Head::reset`] (the stream layer re-initialises).
    Brownout,
    /// No ink left: nothing printed, the paper did not advance.
    OutOfInk,
    /// The roll ran out: nothing printed, nothing more will.
    PaperEnd,
}

/// What the printer would report about its head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadStatus {
    /// Paused for over-temperature (the auto-recoverable error bit).
    pub over_temperature: bool,
    /// Ink ran out; nothing prints any more.
    pub out_of_ink: bool,
    /// The roll ran out; nothing prints or feeds any more.
    #[serde(default)]
    pub paper_out: bool,
    /// Reset by a brownout and not yet re-initialised.
    pub brownout: bool,
    /// Brownout resets so far.
    pub reset_count: u32,
    /// Over-temperature pauses so far.
    pub pauses: u32,
    /// Row times spent paused so far.
    pub paused_rows: f64,
    /// Ink level 0..=1, `None` for a thermal printer.
    pub ink_level: Option<f64>,
    /// Head substrate temperature, °C.
    pub head_temperature: f64,
    /// Voltage across the heaters during the last printed row, V.
    pub last_row_voltage: f64,
}

/// One simulated print head with its faults, its state and the page being printed.
#[derive(Debug, Clone)]
pub struct Head {
    model: HeadModel,
    faults: Faults,
    seed: u64,
    /// Darkness factor of each head column: 0 where the element never prints, the tilt
    /// factor elsewhere.
    column_factor: Vec<f32>,
    normals: Normals,
    supply: f64,
    ambient: f64,
    banding: Option<(f64, f64)>,
    /// Darkness of each dot on the current page, row-major, `model.dots` a row.
    page: Vec<f32>,
    rows: u32,
    page_index: u64,
    rows_lost: u64,
    /// Rows of paper moved past the head since it was made, printed or fed, every page.
    advanced: u64,
    ink: Option<f64>,
    head_temp: f64,
    over_temp: bool,
    out_of_ink: bool,
    /// The roll ran out.
    paper_out: bool,
    brownout: bool,
    reset_count: u32,
    pauses: u32,
    paused_rows: f64,
    last_row_voltage: f64,
}

impl Head {
    /// A head with its faults; `seed` fixes every random draw (paper, dot scatter).
    pub fn new(model: HeadModel, faults: Faults, seed: u64) -> Head {
        let model = model.sanitised();
        let w = model.dots;
        let supply = match faults.voltage {
            Some(v) if v.is_finite() => v.clamp(VOLTAGE_RANGE.0, VOLTAGE_RANGE.1),
            _ => model.nominal_voltage,
        };
        let ambient = match faults.temperature {
            Some(t) if t.is_finite() => t.clamp(TEMPERATURE_RANGE.0, TEMPERATURE_RANGE.1),
            _ => model.nominal_ambient,
        };
        let tilt = if faults.tilt.is_finite() {
            faults.tilt.clamp(-TILT_LIMIT, TILT_LIMIT)
        } else {
            0.0
        };
        let banding = faults.banding.and_then(|(p, a)| {
            (p.is_finite() && a.is_finite() && p > 0.0).then(|| (p.max(1.0), a.clamp(0.0, 1.0)))
        });
        let ink = faults.ink.map(|l| {
            if l.is_finite() {
                l.clamp(0.0, 1.0)
            } else {
                0.0
            }
        });

        let span = (w.max(2) - 1) as f64;
        let mut column_factor: Vec<f32> = (0..w)
            .map(|c| {
                let t = c as f64 / span;
                let f = if tilt >= 0.0 {
                    1.0 - tilt * t
                } else {
                    1.0 - tilt.abs() * (1.0 - t)
                };
                f as f32
            })
            .collect();
        let mut kill = |c: u32| {
            if let Some(f) = column_factor.get_mut(c as usize) {
                *f = 0.0;
            }
        };
        for &c in &faults.dead_elements {
            kill(c);
        }
        if let Some((start, len)) = faults.dead_block {
            for c in start..start.saturating_add(len).min(w) {
                kill(c);
            }
        }
        match faults.dead_half {
            Some(Side::Left) => (0..w / 2).for_each(&mut kill),
            Some(Side::Right) => (w / 2..w).for_each(&mut kill),
            None => {}
        }
        if let Some(ws) = faults.width_setting {
            (ws.min(w)..w).for_each(&mut kill);
        }

        let normals = Normals::new(&mut Rng::new(seed).fork(0x4E4F_524D));
        tracing::debug!(dots = w, seed, faults = %faults, supply, ambient, "print head ready");
        Head {
            last_row_voltage: supply,
            head_temp: ambient,
            model,
            faults,
            seed,
            column_factor,
            normals,
            supply,
            ambient,
            banding,
            page: Vec::new(),
            rows: 0,
            page_index: 0,
            rows_lost: 0,
            advanced: 0,
            ink,
            over_temp: false,
            out_of_ink: ink.is_some_and(|l| l <= 0.0),
            paper_out: false,
            brownout: false,
            reset_count: 0,
            pauses: 0,
            paused_rows: 0.0,
        }
    }

    pub fn model(&self) -> &HeadModel {
        &self.model
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Prints one dot row of the job (1 byte per dot, non-zero = fire). A row wider than
    /// the head loses its extra dots; a narrower one is left-aligned.
    pub fn print_row(&mut self, row: &[u8]) -> RowOutcome {
        if self.brownout {
            return RowOutcome::Brownout;
        }
        if self.out_of_ink {
            return RowOutcome::OutOfInk;
        }
        if self.paper_out {
            return RowOutcome::PaperEnd;
        }
        if self.over_temp {
            self.pause();
        }
        let w = self.model.dots as usize;
        let row = &row[..row.len().min(w)];
        let fired = row
            .iter()
            .zip(&self.column_factor)
            .filter(|(&d, &f)| d != 0 && f > 0.0)
            .count() as u32;
        let v_eff = self.model.effective_voltage(self.supply, fired);
        if v_eff < self.model.reset_voltage {
            self.brownout = true;
            self.reset_count += 1;
            tracing::warn!(
                supply = self.supply,
                effective = v_eff,
                fired,
                page_row = self.rows,
                "supply sagged below the reset threshold: printer reset (brownout)"
            );
            return RowOutcome::Brownout;
        }
        self.last_row_voltage = v_eff;
        let Some(start) = self.grow_page(1) else {
            return if self.paper_out {
                RowOutcome::PaperEnd
            } else {
                RowOutcome::Printed
            };
        };

        // Row-wide factors.
        let energy = self.model.row_energy(self.supply, v_eff);
        let paper_temp = self.ambient + self.model.paper_coupling * (self.head_temp - self.ambient);
        let mut row_factor = self.banding_factor(self.rows - 1);
        let cold = (self.model.cold_limit - self.ambient).max(0.0);
        row_factor *= (1.0 - self.model.cold_loss_per_degree * cold).clamp(0.05, 1.0);
        let mut ink_budget = u64::MAX;
        if let Some(level) = self.ink {
            row_factor *= (level / self.model.ink_fade_level)
                .min(1.0)
                .powf(self.model.ink_fade_exponent);
            if self.model.ink_per_dot > 0.0 {
                ink_budget = (level / self.model.ink_per_dot).ceil() as u64;
            }
        }
        // Darkness as a linear function of the per-dot scatter z: d = a + b·z, clamped.
        let span = self.model.saturation_temp - self.model.activation_temp;
        let a = (paper_temp + self.model.dot_heating * energy - self.model.activation_temp) / span;
        let b = self.model.dot_heating * energy * self.model.strength_sigma / span;
        let (a, b) = (a as f32, b as f32);
        let row_factor = row_factor as f32;
        // The firmware's density setting, when it is not the base's.
        let density =
            ((self.model.density - 1.0).abs() > 1e-9).then_some(self.model.density as f32);
        let ink_share = (1.0 - self.model.ink_reflectance).max(1e-3) as f32;

        let mut keys =
            KeyStream::new(self.seed ^ mix((self.page_index << 32) ^ u64::from(self.rows) ^ 0xD07));
        let dst = &mut self.page[start..start + w];
        let mut printed = 0u64;
        for ((d, &fire), &f) in dst.iter_mut().zip(row).zip(&self.column_factor) {
            if fire == 0 || f <= 0.0 {
                continue;
            }
            if printed >= ink_budget {
                break;
            }
            printed += 1;
            let z = self.normals.at(keys.next_key());
            *d = (a + b * z).clamp(0.0, 1.0) * f * row_factor;
            if let Some(p) = density {
                // Optical density scaled: 1 − d·(1 − k) is the dot's reflectance over
                // the paper's; raising it to the power p scales its log by p.
                *d = (1.0 - (1.0 - *d * ink_share).powf(p)) / ink_share;
            }
        }

        // Heat in, then a row time of cooling.
        self.head_temp += self.model.heat_per_dot * energy * printed as f64;
        self.cool(1.0);
        if self.head_temp >= self.model.over_temp_limit && !self.over_temp {
            self.over_temp = true;
            tracing::info!(
                head_temperature = self.head_temp,
                limit = self.model.over_temp_limit,
                "head over temperature: pausing"
            );
        }
        if let Some(level) = self.ink.as_mut() {
            *level -= self.model.ink_per_dot * printed as f64;
            if *level <= 1e-12 {
                *level = 0.0;
                self.out_of_ink = true;
                tracing::info!(page_row = self.rows, "out of ink: the print stops");
            }
        }
        RowOutcome::Printed
    }

    /// Advances blank paper by `rows` dot rows (the head cools meanwhile). Ignored while
    /// the printer is reset by a brownout.
    pub fn feed(&mut self, rows: u32) {
        if self.brownout || rows == 0 {
            return;
        }
        self.grow_page(rows);
        self.cool(rows as f64);
        if self.over_temp && self.head_temp <= self.resume_temperature() {
            self.over_temp = false;
            self.pauses += 1;
        }
    }

    /// The roll ran out.
    pub fn paper_out(&self) -> bool {
        self.paper_out
    }

    /// Rows on the current page so far.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Rows of paper moved past the head since it was made, printed or fed, on every page
    /// (rows beyond the longest page kept count too: the paper moved).
    pub fn rows_advanced(&self) -> u64 {
        self.advanced
    }

    /// Cuts the page: `model.dots` wide, 1 px = 1 dot, 0 = black; `None` when nothing was
    /// printed or fed since the last cut. The next row starts a new page.
    pub fn take_page(&mut self) -> Option<GrayImage> {
        if self.rows == 0 {
            return None;
        }
        let w = self.model.dots as usize;
        let h = self.rows as usize;
        let mut rng = Rng::new(self.seed).fork(0x5041_5045_5200 ^ self.page_index);
        let white = self.model.paper_white + rng.range(-1.0, 1.0);
        let fibre = Fibre::new(&mut rng, w, h, self.model.fibre_scale as usize);
        let fibre_amp = self.model.fibre_amplitude as f32;
        let noise = self.model.paper_noise as f32;
        let spread = self.model.spread as f32;
        let absorb = (1.0 - self.model.ink_reflectance) as f32;
        let white = white as f32;
        let zeros = vec![0f32; w];
        let mut fibre_row = vec![0f32; w];
        let mut out = vec![0u8; w * h];
        // Bottom up, giving back the rows no longer needed as it goes (a row needs the
        // one above and below it): the darkness page and the grey page it becomes are
        // never both held whole.
        let mut page = std::mem::take(&mut self.page);
        for y in (0..h).rev() {
            if y % GIVE_BACK_ROWS == 0 && (y + 2) * w < page.len() {
                page.truncate((y + 2) * w);
                page.shrink_to_fit();
            }
            let dst = &mut out[y * w..(y + 1) * w];
            let cur = &page[y * w..(y + 1) * w];
            let up = if y > 0 {
                &page[(y - 1) * w..y * w]
            } else {
                &zeros[..]
            };
            let down = if y + 1 < h {
                &page[(y + 1) * w..(y + 2) * w]
            } else {
                &zeros[..]
            };
            fibre.row(y, &mut fibre_row);
            let mut keys =
                KeyStream::new(self.seed ^ mix((self.page_index << 32) ^ y as u64 ^ 0x9A9E));
            for x in 0..w {
                let left = if x > 0 { cur[x - 1] } else { 0.0 };
                let right = if x + 1 < w { cur[x + 1] } else { 0.0 };
                // Dot gain: ink bleeds into lighter neighbours; an evenly light area
                // stays as light as its own dots.
                let d = cur[x].max((spread * (left + right + up[x] + down[x])).min(1.0));
                let paper =
                    white + fibre_amp * fibre_row[x] + noise * self.normals.at(keys.next_key());
                let g = paper * (1.0 - d * absorb);
                dst[x] = grey_level(g);
            }
        }
        if self.rows_lost > 0 {
            tracing::warn!(
                lost = self.rows_lost,
                max = MAX_PAGE_ROWS,
                "page longer than the simulated roll: rows lost"
            );
        }
        // The page's memory is given back (`page` is dropped): the next page may be a
        // short one.
        drop(page);
        self.rows = 0;
        self.rows_lost = 0;
        self.page_index += 1;
        GrayImage::from_raw(w as u32, h as u32, out)
    }

    /// The printer's head status.
    pub fn status(&self) -> HeadStatus {
        HeadStatus {
            over_temperature: self.over_temp,
            out_of_ink: self.out_of_ink,
            paper_out: self.paper_out,
            brownout: self.brownout,
            reset_count: self.reset_count,
            pauses: self.pauses,
            paused_rows: self.paused_rows,
            ink_level: self.ink,
            head_temperature: self.head_temp,
            last_row_voltage: self.last_row_voltage,
        }
    }

    /// Power-cycle: clears the brownout state. Faults, ink, temperature and the paper
    /// stay as they are.
    pub fn reset(&mut self) {
        if self.brownout {
            tracing::debug!("printer re-initialised after a brownout");
        }
        self.brownout = false;
    }

    /// Adds `n` blank rows to the page; returns the index of the first new dot, or `None`
    /// when the page is full.
    fn grow_page(&mut self, n: u32) -> Option<usize> {
        // The roll first: paper that is not there does not move.
        let left = self.model.roll_rows.saturating_sub(self.advanced);
        let n = if u64::from(n) > left {
            if !self.paper_out {
                tracing::warn!(
                    roll_rows = self.model.roll_rows,
                    "the roll ran out: paper end"
                );
            }
            self.paper_out = true;
            left as u32
        } else {
            n
        };
        self.advanced += u64::from(n);
        let room = MAX_PAGE_ROWS - self.rows;
        let add = n.min(room);
        self.rows_lost += u64::from(n - add);
        if add == 0 {
            return None;
        }
        let start = self.page.len();
        self.page
            .resize(start + add as usize * self.model.dots as usize, 0.0);
        self.rows += add;
        Some(start)
    }

    fn banding_factor(&self, page_row: u32) -> f64 {
        match self.banding {
            Some((period, amp)) => {
                let phase = std::f64::consts::TAU * page_row as f64 / period;
                1.0 - amp * (0.5 + 0.5 * phase.sin())
            }
            None => 1.0,
        }
    }

    /// Newton cooling toward ambient over `rows` row times.
    fn cool(&mut self, rows: f64) {
        let keep = (1.0 - self.model.cooling_per_row).powf(rows);
        self.head_temp = self.ambient + (self.head_temp - self.ambient) * keep;
    }

    fn resume_temperature(&self) -> f64 {
        let limit = self.model.over_temp_limit;
        if self.ambient < limit {
            (limit - self.model.over_temp_hysteresis)
                .max(self.ambient + 0.5 * (limit - self.ambient))
        } else {
            self.ambient
        }
    }

    /// Waits (without advancing the paper) until the head has cooled to the resume
    /// temperature.
    fn pause(&mut self) {
        let resume = self.resume_temperature();
        let excess = self.head_temp - self.ambient;
        let target = resume - self.ambient;
        if excess > 0.0 && target > 0.0 && excess > target {
            let rows = (excess / target).ln() / -(1.0 - self.model.cooling_per_row).ln();
            self.paused_rows += rows;
            self.head_temp = resume;
        } else if target <= 0.0 {
            self.head_temp = self.ambient;
        }
        self.over_temp = false;
        self.pauses += 1;
        tracing::info!(
            head_temperature = self.head_temp,
            "head cooled: printing resumes"
        );
    }
}

/// Low-frequency paper fibre variation: smooth value noise on a coarse grid, unit σ.
struct Fibre {
    cell: usize,
    gw: usize,
    grid: Vec<f32>,
}

impl Fibre {
    fn new(rng: &mut Rng, w: usize, h: usize, cell: usize) -> Fibre {
        let cell = cell.max(1);
        let gw = w / cell + 2;
        let gh = h / cell + 2;
        let grid = (0..gw * gh).map(|_| rng.normal() as f32).collect();
        Fibre { cell, gw, grid }
    }

    /// Fills `out` with row `y`'s values (bilinear between grid nodes).
    fn row(&self, y: usize, out: &mut [f32]) {
        let gy = y / self.cell;
        let fy = (y % self.cell) as f32 / self.cell as f32;
        let (Some(r0), Some(r1)) = (
            self.grid.get(gy * self.gw..(gy + 1) * self.gw),
            self.grid.get((gy + 1) * self.gw..(gy + 2) * self.gw),
        ) else {
            out.fill(0.0);
            return;
        };
        let inv = 1.0 / self.cell as f32;
        // One grid cell at a time: no division per dot.
        for (gx, cell) in out.chunks_mut(self.cell).enumerate() {
            let (Some(t), Some(b)) = (r0.get(gx..gx + 2), r1.get(gx..gx + 2)) else {
                cell.fill(0.0);
                continue;
            };
            for (k, o) in cell.iter_mut().enumerate() {
                let fx = k as f32 * inv;
                let top = t[0] + (t[1] - t[0]) * fx;
                let bottom = b[0] + (b[1] - b[0]) * fx;
                *o = top + (bottom - top) * fy;
            }
        }
    }
}

/// `g.round().clamp(0.0, 255.0) as u8`, without a library call per dot: for an f32, `g +
/// 0.5` is exact in f64, and its floor is `g` rounded half away from zero wherever the
/// clamp leaves it (NaN gives 0, as before).
#[inline]
fn grey_level(g: f32) -> u8 {
    let x = g as f64 + 0.5;
    if x >= 255.0 {
        255
    } else if x > 0.0 {
        x as u8
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_level_rounds_like_round_then_clamp() {
        let mut probes = vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0];
        for i in -400..=700 {
            let g = i as f32 * 0.5;
            let step = |d: i32| f32::from_bits(g.to_bits().wrapping_add_signed(d));
            probes.extend([g, step(1), step(-1)]);
        }
        probes.extend([0.49999997, 254.49998, 254.5, 255.49998, 1e9, -1e9]);
        for g in probes {
            assert_eq!(
                grey_level(g),
                g.round().clamp(0.0, 255.0) as u8,
                "{g} ({:#x})",
                g.to_bits()
            );
        }
    }

    #[test]
    fn supply_sag_numbers() {
        let m = HeadModel::default();
        let full_24 = m.effective_voltage(24.0, 576);
        let full_175 = m.effective_voltage(17.5, 576);
        let sparse_175 = m.effective_voltage(17.5, 58);
        assert!((18.5..19.3).contains(&full_24), "{full_24}");
        assert!((13.5..14.2).contains(&full_175), "{full_175}");
        // Healthy full row saturates; a sagged full row is light; a sparse row is not.
        assert_eq!(m.thermal_darkness(m.energy(full_24), 25.0), 1.0);
        let d = m.thermal_darkness(m.energy(full_175), 25.0);
        assert!((0.5..0.7).contains(&d), "{d}");
        assert!(m.thermal_darkness(m.energy(sparse_175), 25.0) > 0.97);
        // Deep sag resets.
        assert!(m.effective_voltage(13.0, 576) < m.reset_voltage);
        assert!(m.effective_voltage(24.0, 576) > m.reset_voltage);
    }

    #[test]
    fn without_dense_compensation_full_rows_print_lighter_and_sparse_rows_do_not() {
        // Mean grey of the inner columns `cols` of 32 rows firing `fired` columns at 24 V.
        let grey = |compensation: bool, fired: u32, cols: std::ops::Range<u32>| {
            let model = HeadModel {
                dense_compensation: compensation,
                ..HeadModel::default()
            };
            let mut h = Head::new(model, Faults::default(), 7);
            let row: Vec<u8> = (0..576).map(|c| u8::from(c < fired)).collect();
            for _ in 0..32 {
                assert_eq!(h.print_row(&row), RowOutcome::Printed);
            }
            let page = h.take_page().expect("page");
            let n = (cols.len() * 28) as f64;
            let sum: f64 = (2..30)
                .flat_map(|y| cols.clone().map(move |x| (x, y)))
                .map(|(x, y)| f64::from(page.get_pixel(x, y).0[0]))
                .sum();
            sum / n
        };
        let full_on = grey(true, 576, 8..568);
        let full_off = grey(false, 576, 8..568);
        let sparse_on = grey(true, 58, 4..54);
        let sparse_off = grey(false, 58, 4..54);
        eprintln!(
            "full row {full_on:.1} → {full_off:.1}; sparse row {sparse_on:.1} → {sparse_off:.1}"
        );
        assert!(full_off > full_on + 15.0, "{full_on} vs {full_off}");
        assert!(
            (sparse_off - sparse_on).abs() < 2.0,
            "{sparse_on} vs {sparse_off}"
        );
        // The energies behind it: a full row falls short of saturation, a sparse one not.
        let m = HeadModel {
            dense_compensation: false,
            ..HeadModel::default()
        };
        let full = m.effective_voltage(24.0, 576);
        let sparse = m.effective_voltage(24.0, 58);
        assert_eq!(HeadModel::default().row_energy(24.0, full), m.energy(full));
        let d = m.thermal_darkness(m.row_energy(24.0, full), 25.0);
        assert!((0.7..0.95).contains(&d), "{d}");
        assert_eq!(m.thermal_darkness(m.row_energy(24.0, sparse), 25.0), 1.0);
    }

    #[test]
    fn paper_moved_is_counted_across_pages() {
        let mut h = Head::new(HeadModel::with_dots(64), Faults::default(), 1);
        h.print_row(&[1u8; 64]);
        h.feed(10);
        assert!(h.take_page().is_some());
        h.print_row(&[0u8; 64]);
        assert_eq!((h.rows(), h.rows_advanced()), (1, 12));
    }

    #[test]
    fn cold_paper_prints_light() {
        let m = HeadModel::default();
        let e = m.energy(m.effective_voltage(24.0, 576));
        assert!(m.thermal_darkness(e, -5.0) > 0.95);
        let d = m.thermal_darkness(e, -15.0);
        assert!((0.55..0.7).contains(&d), "{d}");
    }

    #[test]
    fn rows_beyond_the_head_are_lost_and_short_rows_left_aligned() {
        let mut h = Head::new(HeadModel::with_dots(256), Faults::default(), 1);
        assert_eq!(h.print_row(&[1u8; 300]), RowOutcome::Printed);
        assert_eq!(h.print_row(&[1u8; 100]), RowOutcome::Printed);
        assert_eq!(h.print_row(&[]), RowOutcome::Printed);
        let page = h.take_page().expect("page");
        assert_eq!(page.dimensions(), (256, 3));
        assert!(page.get_pixel(200, 0).0[0] < 60);
        assert!(page.get_pixel(50, 1).0[0] < 60);
        assert!(page.get_pixel(200, 1).0[0] > 200);
        assert!(h.take_page().is_none());
    }

    #[test]
    fn unusable_constants_fall_back() {
        let m = HeadModel {
            dots: 0,
            nominal_voltage: f64::NAN,
            cooling_per_row: 2.0,
            ..HeadModel::default()
        };
        let mut h = Head::new(m, Faults::default(), 0);
        assert_eq!(h.model().dots, 1);
        assert_eq!(h.print_row(&[1]), RowOutcome::Printed);
        h.feed(u32::MAX);
        assert_eq!(h.rows(), MAX_PAGE_ROWS);
        assert!(h.take_page().is_some());
    }
}

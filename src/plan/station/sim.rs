//! The `[station.sim]` table: what a simulated station declares about itself (faults,
//! clock, room, ink, seed, line rate, paper speed, the roll, faults that appear under
//! stress and the firmware images it can run).
//!
//! Owns [`SimSpec`] and [`LatentSpec`] and reading them: types and places only. It must
//! not know the simulator: the defaults, the limits and what a fault means are the
//! simulator's (`sim::config`), which resolves these declarations and names their places
//! when it rejects one.

use super::{array_of_tables, Declared};
use crate::plan::read::{Diag, Tab};
use serde::{Deserialize, Serialize};

/// What `[station.sim]` declares; every value keeps where it was written. Absent values
/// take the simulator's defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SimSpec {
    /// Always-present faults in `rig sim print --fault` syntax.
    pub faults: Vec<Declared<String>>,
    /// Station seconds per wall-clock second.
    pub time_scale: Option<Declared<f64>>,
    /// Printer boot time after power returns, station seconds.
    pub boot_s: Option<Declared<f64>>,
    /// The room around the chamber, °C.
    pub ambient_c: Option<Declared<f64>>,
    /// First-order lag of the chamber, station seconds.
    pub chamber_tau_s: Option<Declared<f64>>,
    /// Starting ink level.
    pub ink: Option<Declared<f64>>,
    pub seed: Option<u64>,
    /// Throttle the simulated link to this line rate.
    pub baud: Option<Declared<u32>>,
    /// How fast the printer moves the paper, mm/s (absent: as fast as the link).
    #[serde(default)]
    pub print_speed_mm_s: Option<Declared<f64>>,
    /// Paper on the printer's roll, metres.
    #[serde(default)]
    pub roll_m: Option<Declared<f64>>,
    /// Faults that appear only under stress (`[[station.sim.latent]]`).
    pub latent: Vec<LatentSpec>,
    /// Firmware images the printer can run (`[[station.sim.firmware]]`).
    #[serde(default)]
    pub firmware: Vec<FirmwareSpec>,
}

/// One `[[station.sim.firmware]]` table as declared: a firmware image and how it prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirmwareSpec {
    /// Where the table starts.
    pub at: crate::plan::Location,
    /// What the printer reports running it (GS I 65).
    pub version: Declared<String>,
    /// Heater energy relative to the base firmware.
    pub density: Option<Declared<f64>>,
    /// Extra faults in `--fault` syntax.
    pub faults: Vec<Declared<String>>,
    /// How fast this firmware moves the paper, mm/s (absent: the station's).
    #[serde(default)]
    pub print_speed_mm_s: Option<Declared<f64>>,
    /// How late each band acknowledgement is sent, ms.
    #[serde(default)]
    pub ack_delay_ms: Option<Declared<f64>>,
    /// Whether the strobe pulse of a row that loads the supply is stretched.
    #[serde(default)]
    pub dense_compensation: Option<bool>,
}

/// One `[[station.sim.latent]]` table as declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentSpec {
    /// Where the table starts.
    pub at: crate::plan::Location,
    pub fault: Declared<String>,
    pub below_voltage: Option<Declared<f64>>,
    pub above_temperature: Option<Declared<f64>>,
    pub below_temperature: Option<Declared<f64>>,
    pub below_ink: Option<Declared<f64>>,
}

pub(super) fn read_sim(d: &mut Diag<'_>, mut t: Tab<'_, '_>) -> Option<SimSpec> {
    let mut ok = true;
    let faults = match t.opt(d, "faults", Diag::strings) {
        Some(list) => list.v.into_iter().map(|f| d.declared(f)).collect(),
        None => {
            ok &= !t.has("faults");
            Vec::new()
        }
    };
    let mut number = |d: &mut Diag<'_>, t: &mut Tab<'_, '_>, key: &'static str| {
        let x = t.opt(d, key, Diag::float);
        ok &= x.is_some() || !t.has(key);
        x.map(|x| d.declared(x))
    };
    let time_scale = number(d, &mut t, "time_scale");
    let boot_s = number(d, &mut t, "boot_s");
    let ambient_c = number(d, &mut t, "ambient_c");
    let chamber_tau_s = number(d, &mut t, "chamber_tau_s");
    let ink = number(d, &mut t, "ink");
    let print_speed_mm_s = number(d, &mut t, "print_speed_mm_s");
    let roll_m = number(d, &mut t, "roll_m");
    let seed = t.opt(d, "seed", Diag::uint64).map(|s| s.v);
    ok &= seed.is_some() || !t.has("seed");
    let baud = t.opt(d, "baud", Diag::uint).map(|b| d.declared(b));
    ok &= baud.is_some() || !t.has("baud");
    let mut latent = Vec::new();
    if let Some((_, v)) = t.get("latent") {
        for item in array_of_tables(d, v, "station.sim.latent") {
            let Some(mut lt) = d.table(item, "station.sim.latent") else {
                ok = false;
                continue;
            };
            match read_latent(d, &mut lt) {
                Some(l) => latent.push(l),
                None => ok = false,
            }
            lt.finish(d);
        }
    }
    let mut firmware = Vec::new();
    if let Some((_, v)) = t.get("firmware") {
        for item in array_of_tables(d, v, "station.sim.firmware") {
            let Some(mut ft) = d.table(item, "station.sim.firmware") else {
                ok = false;
                continue;
            };
            match read_firmware(d, &mut ft) {
                Some(f) => firmware.push(f),
                None => ok = false,
            }
            ft.finish(d);
        }
    }
    t.finish(d);
    ok.then_some(SimSpec {
        faults,
        time_scale,
        boot_s,
        ambient_c,
        chamber_tau_s,
        ink,
        seed,
        baud,
        print_speed_mm_s,
        roll_m,
        latent,
        firmware,
    })
}

fn read_firmware(d: &mut Diag<'_>, t: &mut Tab<'_, '_>) -> Option<FirmwareSpec> {
    let at = d.locate(&t.span);
    let version = t.req(d, "version", Diag::string).map(|v| d.declared(v));
    let mut ok = true;
    let mut number = |d: &mut Diag<'_>, t: &mut Tab<'_, '_>, key: &'static str| {
        let x = t.opt(d, key, Diag::float);
        ok &= x.is_some() || !t.has(key);
        x.map(|x| d.declared(x))
    };
    let density = number(d, t, "density");
    let print_speed_mm_s = number(d, t, "print_speed_mm_s");
    let ack_delay_ms = number(d, t, "ack_delay_ms");
    let dense_compensation = t.opt(d, "dense_compensation", Diag::boolean).map(|b| b.v);
    ok &= dense_compensation.is_some() || !t.has("dense_compensation");
    let faults = match t.opt(d, "faults", Diag::strings) {
        Some(list) => list.v.into_iter().map(|f| d.declared(f)).collect(),
        None => {
            ok &= !t.has("faults");
            Vec::new()
        }
    };
    ok.then_some(())?;
    Some(FirmwareSpec {
        at,
        version: version?,
        density,
        faults,
        print_speed_mm_s,
        ack_delay_ms,
        dense_compensation,
    })
}

fn read_latent(d: &mut Diag<'_>, t: &mut Tab<'_, '_>) -> Option<LatentSpec> {
    let at = d.locate(&t.span);
    let fault = t.req(d, "fault", Diag::string).map(|f| d.declared(f));
    let mut ok = true;
    let mut trigger = |d: &mut Diag<'_>, key: &'static str| {
        let x = t.opt(d, key, Diag::float);
        ok &= x.is_some() || !t.has(key);
        x.map(|x| d.declared(x))
    };
    let below_voltage = trigger(d, "below_voltage");
    let above_temperature = trigger(d, "above_temperature");
    let below_temperature = trigger(d, "below_temperature");
    let below_ink = trigger(d, "below_ink");
    ok.then_some(())?;
    Some(LatentSpec {
        at,
        fault: fault?,
        below_voltage,
        above_temperature,
        below_temperature,
        below_ink,
    })
}

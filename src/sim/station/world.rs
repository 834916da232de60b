//! The station's shared physical state: the PSU's output and voltage, the chamber's set
//! point and lagging temperature, the ink level, the injected and latent faults, the page
//! and job counters, and the power signal the printer server follows.
//!
//! Owns the rules that tie the instruments to the printer: which faults a job starts
//! with and how the firmware it runs prints (density, dense-row compensation, paper
//! speed, acknowledgement delay), how the chamber's temperature follows its set point in
//! station time, how the ink drains across jobs. It must not do I/O or hold its lock
//! across an await: every method takes the lock, updates, and returns.

use super::scpi::{ErrorQueue, ScpiError};
use super::{LatentFault, SimStationSpec};
use crate::escpos::status::PrinterInfo;
use crate::sim::config::ROWS_PER_MM;
use crate::sim::faults::{Faults, TEMPERATURE_RANGE, VOLTAGE_RANGE};
use crate::sim::head::HeadModel;
use crate::sim::printer::sim_info;
use serde::Serialize;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The chamber's temperature counts as ambient within this band, °C: the printer's
/// temperature model is only switched on outside it.
pub(crate) const AMBIENT_BAND_C: f64 = 0.5;
/// PSU current with the printer idle, A.
pub(crate) const IDLE_CURRENT_A: f64 = 0.12;
/// Extra PSU current per job printing at nominal voltage, A.
pub(crate) const PRINT_CURRENT_A: f64 = 1.6;

/// What the printer server follows: the PSU output, a counter that changes whenever the
/// printer loses power (output off, or a reset), and the station's shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Power {
    pub output: bool,
    pub epoch: u64,
    pub shutdown: bool,
}

impl Power {
    /// Whether the printer powered in `epoch` is still powered.
    pub fn holds(&self, epoch: u64) -> bool {
        self.output && !self.shutdown && self.epoch == epoch
    }
}

/// Which instrument's SCPI error queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Instrument {
    Psu,
    Chamber,
}

/// Everything a new job needs to build its simulated printer.
#[derive(Debug, Clone)]
pub(crate) struct JobSetup {
    pub model: HeadModel,
    pub faults: Faults,
    pub seed: u64,
    pub info: PrinterInfo,
    /// The ink level the job starts with, when the ink model is on.
    pub ink: Option<f64>,
    /// Wall time the paper takes to move one dot row at the firmware's print speed;
    /// `None`: as fast as the link.
    pub row_time: Option<Duration>,
    /// How late the firmware sends each band acknowledgement, wall time.
    pub ack_delay: Duration,
}

#[derive(Debug)]
struct State {
    output: bool,
    ready: bool,
    voltage: f64,
    setpoint: f64,
    temperature: f64,
    temperature_at: Instant,
    ink: f64,
    injected: Vec<String>,
    latent: Vec<LatentFault>,
    /// The firmware the printer runs now.
    firmware: String,
    pages: u64,
    jobs: u64,
    printing: u32,
    psu_errors: ErrorQueue,
    chamber_errors: ErrorQueue,
}

/// The station's world (see the module doc).
#[derive(Debug)]
pub(crate) struct World {
    spec: SimStationSpec,
    state: Mutex<State>,
    power: watch::Sender<Power>,
}

#[derive(Serialize)]
struct StatusLine<'a> {
    station: &'a str,
    powered: bool,
    ready: bool,
    voltage: f64,
    setpoint: f64,
    temperature: f64,
    ink: f64,
    faults: String,
    injected: &'a [String],
    latent: Vec<String>,
    pages: u64,
    jobs: u64,
    printing: u32,
    power_epoch: u64,
    firmware: &'a str,
}

/// The wall time one dot row of paper takes at `mm_s` millimetres a second.
fn row_time_at(mm_s: f64) -> Duration {
    Duration::try_from_secs_f64(1.0 / (mm_s * ROWS_PER_MM)).unwrap_or(Duration::ZERO)
}

fn round(v: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (v * k).round() / k
}

impl World {
    pub fn new(spec: SimStationSpec) -> World {
        let ink = spec
            .config
            .faults
            .ink
            .map_or(spec.config.ink, |f| f.min(spec.config.ink))
            .clamp(0.0, 1.0);
        let state = State {
            output: true,
            ready: true,
            voltage: spec.config.nominal_voltage,
            setpoint: spec.config.ambient_c,
            temperature: spec.config.ambient_c,
            temperature_at: Instant::now(),
            ink,
            injected: Vec::new(),
            latent: Vec::new(),
            firmware: spec.config.firmware.clone(),
            pages: 0,
            jobs: 0,
            printing: 0,
            psu_errors: ErrorQueue::default(),
            chamber_errors: ErrorQueue::default(),
        };
        let (power, _) = watch::channel(Power {
            output: true,
            epoch: 0,
            shutdown: false,
        });
        World {
            spec,
            state: Mutex::new(state),
            power,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain numbers behind: go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn spec(&self) -> &SimStationSpec {
        &self.spec
    }

    pub fn subscribe(&self) -> watch::Receiver<Power> {
        self.power.subscribe()
    }

    pub fn shutdown(&self) {
        self.power.send_modify(|p| p.shutdown = true);
    }

    /// Switches the PSU output; a change bumps the power epoch.
    pub fn set_output(&self, on: bool) {
        let mut st = self.lock();
        if st.output != on {
            tracing::info!(station = %self.spec.name, on, "PSU output switched");
        }
        st.output = on;
        if !on {
            st.ready = false;
        }
        self.power.send_modify(|p| {
            if p.output != on {
                p.output = on;
                p.epoch += 1;
            }
        });
    }

    pub fn output(&self) -> bool {
        self.lock().output
    }

    /// The printer reset itself (brownout, power-cut fault) while powered in `epoch`:
    /// it loses power for a moment and boots again.
    pub fn reset_printer(&self, epoch: u64) {
        self.lock().ready = false;
        self.power.send_modify(|p| {
            if p.epoch == epoch {
                p.epoch += 1;
            }
        });
    }

    /// The printer has booted (serving its links) or gone down.
    pub fn set_ready(&self, ready: bool) {
        self.lock().ready = ready;
    }

    pub fn voltage(&self) -> f64 {
        self.lock().voltage
    }

    /// Sets the PSU voltage; out of range is refused (SCPI -222).
    pub fn set_voltage(&self, v: f64) -> Result<(), ScpiError> {
        if !(v.is_finite() && (VOLTAGE_RANGE.0..=VOLTAGE_RANGE.1).contains(&v)) {
            return Err(ScpiError::DATA_OUT_OF_RANGE);
        }
        self.lock().voltage = v;
        Ok(())
    }

    /// The voltage at the PSU's terminals: the set voltage while the output is on.
    pub fn measured_voltage(&self) -> f64 {
        let st = self.lock();
        if st.output {
            st.voltage
        } else {
            0.0
        }
    }

    /// The PSU's output current: a small idle draw, more while jobs print.
    pub fn measured_current(&self) -> f64 {
        let st = self.lock();
        if !st.output {
            return 0.0;
        }
        let scale = (st.voltage / self.spec.config.nominal_voltage).clamp(0.0, 2.0);
        (IDLE_CURRENT_A + PRINT_CURRENT_A * f64::from(st.printing)) * scale
    }

    /// Lets the chamber's temperature follow its set point up to now.
    fn settle(&self, st: &mut State) {
        let now = Instant::now();
        let dt = now.duration_since(st.temperature_at).as_secs_f64() * self.spec.config.time_scale;
        st.temperature_at = now;
        let tau = self.spec.config.chamber_tau_s;
        if tau <= 0.0 || !dt.is_finite() {
            st.temperature = st.setpoint;
        } else if dt > 0.0 {
            // 1 − exp(−dt/τ), accurate for small steps.
            let share = -(-dt / tau).exp_m1();
            st.temperature += (st.setpoint - st.temperature) * share;
        }
    }

    pub fn temperature(&self) -> f64 {
        let mut st = self.lock();
        self.settle(&mut st);
        st.temperature
    }

    pub fn setpoint(&self) -> f64 {
        self.lock().setpoint
    }

    pub fn set_setpoint(&self, c: f64) -> Result<(), ScpiError> {
        if !(c.is_finite()
            && (super::chamber::SETPOINT_RANGE.0..=super::chamber::SETPOINT_RANGE.1).contains(&c))
        {
            return Err(ScpiError::DATA_OUT_OF_RANGE);
        }
        let mut st = self.lock();
        self.settle(&mut st);
        st.setpoint = c;
        Ok(())
    }

    #[cfg(test)]
    pub fn ink(&self) -> f64 {
        self.lock().ink
    }

    pub fn set_ink(&self, level: f64) {
        self.lock().ink = level.clamp(0.0, 1.0);
    }

    /// Ink used by a job.
    pub fn drain_ink(&self, used: f64) {
        if used.is_finite() && used > 0.0 {
            let mut st = self.lock();
            st.ink = (st.ink - used).max(0.0);
        }
    }

    /// Installs firmware `version` (one of the station's images): printed from the next
    /// job on, and reported by GS I 65.
    pub fn install_firmware(&self, version: &str) -> Result<(), String> {
        if self.spec.config.firmware_image(version).is_none() {
            return Err(format!(
                "no firmware image \"{version}\" on this station (it has: {})",
                self.spec.config.firmware_versions().join(", ")
            ));
        }
        self.lock().firmware = version.to_string();
        Ok(())
    }

    /// The firmware the printer runs now.
    pub fn firmware(&self) -> String {
        self.lock().firmware.clone()
    }

    /// Adds an injected fault (already validated).
    pub fn inject(&self, arg: String) {
        self.lock().injected.push(arg);
    }

    pub fn add_latent(&self, l: LatentFault) {
        self.lock().latent.push(l);
    }

    /// Removes the injected faults and latent faults (the spec's own stay).
    pub fn clear_injected(&self) {
        let mut st = self.lock();
        st.injected.clear();
        st.latent.clear();
    }

    /// Numbers the next page that comes out of the printer (1, 2, ...).
    pub fn next_page(&self) -> u64 {
        let mut st = self.lock();
        st.pages += 1;
        st.pages
    }

    /// One more (`true`) or one fewer job is printing a page.
    pub fn printing(&self, started: bool) {
        let mut st = self.lock();
        st.printing = if started {
            st.printing.saturating_add(1)
        } else {
            st.printing.saturating_sub(1)
        };
    }

    fn push_error_locked(st: &mut State, which: Instrument, e: ScpiError) {
        match which {
            Instrument::Psu => st.psu_errors.push(e),
            Instrument::Chamber => st.chamber_errors.push(e),
        }
    }

    pub fn push_error(&self, which: Instrument, e: ScpiError) {
        tracing::debug!(
            ?which,
            code = e.code,
            message = e.message,
            "SCPI error queued"
        );
        Self::push_error_locked(&mut self.lock(), which, e);
    }

    /// `SYST:ERR?`: the oldest queued error, or `0,"No error"`.
    pub fn pop_error(&self, which: Instrument) -> String {
        let mut st = self.lock();
        match which {
            Instrument::Psu => st.psu_errors.pop(),
            Instrument::Chamber => st.chamber_errors.pop(),
        }
    }

    /// `*CLS`.
    pub fn clear_errors(&self, which: Instrument) {
        let mut st = self.lock();
        match which {
            Instrument::Psu => st.psu_errors.clear(),
            Instrument::Chamber => st.chamber_errors.clear(),
        }
    }

    /// The faults a job starting now gets: the spec's, the injected ones and the latent
    /// ones whose condition holds, with the supply voltage, the chamber's temperature and
    /// the ink level of the moment.
    fn faults_now(&self, st: &mut State) -> Faults {
        self.settle(st);
        let spec = &self.spec;
        let mut f = spec.config.faults.clone();
        f.ink = None;
        for arg in &st.injected {
            if let Err(e) = f.apply(arg) {
                tracing::warn!(error = %e, "injected fault no longer applies");
            }
        }
        // What the firmware it runs gets wrong.
        if let Some(image) = spec.config.firmware_image(&st.firmware) {
            for arg in &image.faults {
                if let Err(e) = f.apply(arg) {
                    tracing::warn!(error = %e, "firmware fault does not apply");
                }
            }
        }
        let (v, t, ink) = (st.voltage, st.temperature, st.ink);
        for l in spec.config.latent.iter().chain(&st.latent) {
            if l.active(v, t, ink) {
                if let Err(e) = f.apply(&l.fault) {
                    tracing::warn!(error = %e, "latent fault does not apply");
                }
            }
        }
        if (v - spec.config.nominal_voltage).abs() > 1e-9 {
            f.voltage = Some(v.clamp(VOLTAGE_RANGE.0, VOLTAGE_RANGE.1));
        }
        if (t - spec.config.ambient_c).abs() > AMBIENT_BAND_C {
            f.temperature = Some(t.clamp(TEMPERATURE_RANGE.0, TEMPERATURE_RANGE.1));
        }
        let level = f.ink.map_or(ink, |l| l.min(ink));
        f.ink = (level < 1.0).then_some(level);
        f
    }

    /// Everything a job starting now needs; counts the job.
    pub fn job_setup(&self) -> JobSetup {
        let mut st = self.lock();
        let faults = self.faults_now(&mut st);
        st.jobs += 1;
        let spec = &self.spec;
        let seed = crate::sim::mix(spec.config.seed ^ st.jobs.rotate_left(32));
        let mut model = HeadModel::with_dots(spec.dots);
        model.roll_rows = crate::sim::config::roll_rows(spec.config.roll_m);
        let default_nominal = model.nominal_voltage;
        if (spec.config.nominal_voltage - default_nominal).abs() > 1e-9 {
            model.reset_voltage *= spec.config.nominal_voltage / default_nominal;
            model.nominal_voltage = spec.config.nominal_voltage;
        }
        let mut row_time = spec.config.print_speed_mm_s.map(row_time_at);
        let mut ack_delay = Duration::ZERO;
        if let Some(image) = spec.config.firmware_image(&st.firmware) {
            model.density = image.density;
            model.dense_compensation = image.dense_compensation;
            row_time = spec.config.print_speed(&image).map(row_time_at);
            ack_delay =
                Duration::try_from_secs_f64(image.ack_delay_ms / 1000.0).unwrap_or(Duration::ZERO);
        }
        let mut info = sim_info(spec.dots);
        info.model = spec.model.clone();
        info.firmware = st.firmware.clone();
        tracing::debug!(job = st.jobs, faults = %faults, "new job on the simulated printer");
        JobSetup {
            model,
            ink: faults.ink,
            faults,
            seed,
            info,
            row_time,
            ack_delay,
        }
    }

    /// `STATUS?`: the world as one JSON line.
    pub fn status_json(&self) -> String {
        let mut st = self.lock();
        let faults = self.faults_now(&mut st).describe();
        let epoch = self.power.borrow().epoch;
        let line = StatusLine {
            station: &self.spec.name,
            powered: st.output,
            ready: st.ready,
            voltage: st.voltage,
            setpoint: st.setpoint,
            temperature: round(st.temperature, 3),
            ink: round(st.ink, 6),
            faults,
            injected: &st.injected,
            latent: self
                .spec
                .config
                .latent
                .iter()
                .chain(&st.latent)
                .map(LatentFault::describe)
                .collect(),
            pages: st.pages,
            jobs: st.jobs,
            printing: st.printing,
            power_epoch: epoch,
            firmware: &st.firmware,
        };
        serde_json::to_string(&line).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot serialise the station status");
            "{}".into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;

    fn world(spec: SimStationSpec) -> World {
        World::new(spec)
    }

    #[test]
    fn chamber_follows_its_set_point_with_a_first_order_lag() {
        let w = world(SimStationSpec {
            config: SimConfig {
                time_scale: 1.0,
                chamber_tau_s: 100.0,
                ..SimConfig::default()
            },
            ..SimStationSpec::default()
        });
        {
            let mut st = w.lock();
            st.setpoint = -7.0;
            // Pretend 100 station seconds (one τ) have passed.
            st.temperature_at -= std::time::Duration::from_secs(100);
        }
        let t = w.temperature();
        let want = -7.0 + 30.0 * (-1.0f64).exp();
        assert!((t - want).abs() < 0.05, "{t} vs {want}");
        let later = w.temperature();
        assert!(later <= t && later > -7.0);
    }

    #[test]
    fn job_faults_follow_the_instruments() {
        let w = world(SimStationSpec {
            config: SimConfig {
                latent: vec![LatentFault {
                    fault: "block=200:64".into(),
                    below_voltage: Some(20.0),
                    ..LatentFault::default()
                }],
                chamber_tau_s: 0.0,
                ..SimConfig::default()
            },
            ..SimStationSpec::default()
        });
        let f = w.job_setup().faults;
        assert!(f.is_healthy(), "{f}");
        w.set_voltage(19.0).expect("in range");
        w.set_setpoint(-10.0).expect("in range");
        w.set_ink(0.4);
        w.inject("dead=100".into());
        let f = w.job_setup().faults;
        assert_eq!(f.dead_block, Some((200, 64)));
        assert_eq!(f.voltage, Some(19.0));
        assert_eq!(f.temperature, Some(-10.0));
        assert_eq!(f.ink, Some(0.4));
        assert_eq!(f.dead_elements, vec![100]);
        w.set_voltage(24.0).expect("in range");
        w.clear_injected();
        let f = w.job_setup().faults;
        assert_eq!(f.dead_block, None);
        assert!(f.dead_elements.is_empty());
        assert_eq!(w.set_voltage(99.0), Err(ScpiError::DATA_OUT_OF_RANGE));
    }

    #[test]
    fn output_changes_bump_the_power_epoch() {
        let w = world(SimStationSpec::default());
        let rx = w.subscribe();
        let p0 = *rx.borrow();
        assert!(p0.holds(0));
        w.set_output(true);
        assert_eq!(rx.borrow().epoch, 0);
        w.set_output(false);
        assert!(!rx.borrow().holds(0));
        w.set_output(true);
        assert_eq!(rx.borrow().epoch, 2);
        w.reset_printer(1);
        assert_eq!(rx.borrow().epoch, 2, "a stale reset does nothing");
        w.reset_printer(2);
        assert_eq!(rx.borrow().epoch, 3);
        assert!(w.measured_current() > 0.0);
        w.set_output(false);
        assert_eq!(w.measured_current(), 0.0);
        assert_eq!(w.measured_voltage(), 0.0);
    }

    #[test]
    fn status_is_one_json_line() {
        let w = world(SimStationSpec::default());
        w.inject("dead=5".into());
        let s = w.status_json();
        assert!(!s.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&s).expect("json");
        assert_eq!(v["powered"], true);
        assert_eq!(v["faults"], "dead=5");
        assert_eq!(v["pages"], 0);
    }
}

//! Soaking: set the chamber and wait until the temperature has stayed within a tolerance
//! of the set point for a hold time.
//!
//! Owns: the polling loop, the settle rule and its wall-clock deadline. Must not: scale
//! durations for simulated stations (the caller passes them already scaled), or retry a
//! chamber error (it is returned as it is).

use super::Chamber;
use crate::instrument::{InstrumentError, Result};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// How a soak went.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakReport {
    /// From setting the point to the first reading of the stretch within tolerance that
    /// lasted `hold` (the soak itself ended `hold` later, give or take a poll).
    pub reached_after: Duration,
    /// The last reading, °C.
    pub last: f64,
    /// How many readings were taken.
    pub readings: usize,
}

/// Sets `setpoint` (°C) and polls every `poll` until the temperature has stayed within
/// ±`tolerance` for `hold`. Each reading is passed to `on_progress`. When `timeout` (wall
/// time from the set) passes first, the error is `NotSettled` with the setpoint and the
/// last reading. Chamber errors end the soak as they are.
pub async fn soak(
    chamber: &mut dyn Chamber,
    setpoint: f64,
    tolerance: f64,
    hold: Duration,
    timeout: Duration,
    poll: Duration,
    on_progress: &mut (dyn FnMut(f64) + Send),
) -> Result<SoakReport> {
    let tolerance = tolerance.abs();
    let what = format!("soak at {setpoint} °C ±{tolerance}");
    info!(device = %chamber.device(), setpoint, tolerance, hold_s = hold.as_secs_f64(), timeout_s = timeout.as_secs_f64(), "soaking");
    let start = Instant::now();
    let deadline = start + timeout;
    chamber.set_point(setpoint).await?;
    let mut readings = 0usize;
    let mut within_since: Option<Instant> = None;
    loop {
        let t = chamber.temperature().await?;
        readings += 1;
        on_progress(t);
        let now = Instant::now();
        let inside = (t - setpoint).abs() <= tolerance;
        debug!(device = %chamber.device(), celsius = t, inside, "soak reading");
        if inside {
            let since = *within_since.get_or_insert(now);
            if now.duration_since(since) >= hold {
                let report = SoakReport {
                    reached_after: since.duration_since(start),
                    last: t,
                    readings,
                };
                info!(device = %chamber.device(), setpoint, last = t, reached_after_s = report.reached_after.as_secs_f64(), readings, "soak settled");
                return Ok(report);
            }
        } else {
            within_since = None;
        }
        if now >= deadline {
            warn!(device = %chamber.device(), setpoint, last = t, readings, "soak did not settle");
            return Err(InstrumentError::NotSettled {
                device: chamber.device().to_string(),
                what,
                timeout,
                detail: format!("last reading {t} °C after {readings} readings"),
            });
        }
        let pause = poll
            .max(Duration::from_millis(1))
            .min(deadline.duration_since(now));
        tokio::time::sleep(pause).await;
    }
}

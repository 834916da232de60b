//! The simulated climate chamber's SCPI commands: the set point, the current temperature
//! (which lags behind the set point, see `world`), the error queue.
//!
//! Owns the command set and the reply formats only; the thermal model lives in the world.
//! It must not block or panic on any line a client sends.
//!
//! Commands (case-insensitive, long or short forms, `;` separates commands):
//! `*IDN?`, `*CLS`, `*OPC?`, `*RST` (set point back to ambient),
//! `TEMPerature:SPOint <°C>` and `?`, `TEMPerature[:ACTual]?` (two decimals),
//! `SYSTem:ERRor[:NEXT]?`.

use super::scpi::{common, opt, req, run_line, Command, Node, ScpiError};
use super::world::{Instrument, World};

/// Set points the chamber accepts, °C: the simulated station's limits.
pub(crate) const SETPOINT_RANGE: (f64, f64) = crate::sim::config::LIMITS.temperature;

const RST: &[Node] = &[req("*RST")];
const SETPOINT: &[Node] = &[req("TEMPerature"), req("SPOint")];
const TEMP: &[Node] = &[req("TEMPerature"), opt("ACTual")];

/// Handles one line; the reply line (without its newline), if the line held queries.
pub(crate) fn handle(world: &World, line: &str) -> Option<String> {
    run_line(
        line,
        |e| world.push_error(Instrument::Chamber, e),
        |cmd| exec(world, cmd),
    )
}

fn exec(world: &World, cmd: &Command<'_>) -> Result<Option<String>, ScpiError> {
    if let Some(r) = common(world, Instrument::Chamber, "SIM-CHAMBER", cmd) {
        return r;
    }
    if cmd.is(RST) && !cmd.query {
        world.set_setpoint(world.spec().config.ambient_c)?;
        return Ok(None);
    }
    if cmd.is(SETPOINT) {
        if cmd.query {
            cmd.plain_query()?;
            return Ok(Some(format!("{:.2}", world.setpoint())));
        }
        let c = cmd.number("C")?;
        world.set_setpoint(c)?;
        tracing::info!(celsius = c, "chamber set point");
        return Ok(None);
    }
    if cmd.is(TEMP) && cmd.query {
        cmd.plain_query()?;
        return Ok(Some(format!("{:.2}", world.temperature())));
    }
    Err(ScpiError::UNDEFINED_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::station::SimStationSpec;
    use crate::sim::SimConfig;

    #[test]
    fn the_command_set() {
        let w = World::new(SimStationSpec {
            config: SimConfig {
                chamber_tau_s: 0.0,
                ambient_c: 21.5,
                ..SimConfig::default()
            },
            ..SimStationSpec::default()
        });
        let h = |l: &str| handle(&w, l);
        assert!(h("*IDN?").is_some_and(|s| s.starts_with("printrig,SIM-CHAMBER,sim,")));
        assert_eq!(h("TEMP?").as_deref(), Some("21.50"));
        assert_eq!(h("TEMP:SPO -10"), None);
        assert_eq!(h("temperature:spoint?").as_deref(), Some("-10.00"));
        assert_eq!(
            h("TEMP:ACT?").as_deref(),
            Some("-10.00"),
            "τ = 0 follows at once"
        );
        assert_eq!(h("TEMP:SPO 500"), None);
        assert_eq!(h("TEMP:SPO"), None);
        assert_eq!(
            h("SYST:ERR?").as_deref(),
            Some("-222,\"Data out of range\"")
        );
        assert_eq!(
            h("SYST:ERR?").as_deref(),
            Some("-109,\"Missing parameter\"")
        );
        assert_eq!(h("SYST:ERR?").as_deref(), Some("0,\"No error\""));
        assert_eq!(h("*RST;TEMP:SPO?").as_deref(), Some("21.50"));
    }
}

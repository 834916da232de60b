//! The simulated bench power supply's SCPI commands: set and read the voltage, switch the
//! output (which powers the printer), measure voltage and current, read the error queue.
//!
//! Owns the command set and the reply formats only; the voltage and output live in the
//! world, and what power does to the printer is the printer server's. It must not block
//! or panic on any line a client sends.
//!
//! Commands (case-insensitive, long or short forms, `;` separates commands):
//! `*IDN?`, `*CLS`, `*OPC?`, `*RST` (output off, nominal voltage),
//! `[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude] <V>` and `?`,
//! `OUTPut[:STATe] ON|OFF|1|0` and `?`, `MEASure[:SCALar]:VOLTage[:DC]?`,
//! `MEASure[:SCALar]:CURRent[:DC]?`, `SYSTem:ERRor[:NEXT]?`.

use super::scpi::{common, opt, req, run_line, Command, Node, ScpiError};
use super::world::{Instrument, World};

const RST: &[Node] = &[req("*RST")];
const VOLT: &[Node] = &[
    opt("SOURce"),
    req("VOLTage"),
    opt("LEVel"),
    opt("IMMediate"),
    opt("AMPLitude"),
];
const OUTP: &[Node] = &[req("OUTPut"), opt("STATe")];
const MEAS_VOLT: &[Node] = &[req("MEASure"), opt("SCALar"), req("VOLTage"), opt("DC")];
const MEAS_CURR: &[Node] = &[req("MEASure"), opt("SCALar"), req("CURRent"), opt("DC")];

/// Handles one line; the reply line (without its newline), if the line held queries.
pub(crate) fn handle(world: &World, line: &str) -> Option<String> {
    run_line(
        line,
        |e| world.push_error(Instrument::Psu, e),
        |cmd| exec(world, cmd),
    )
}

fn exec(world: &World, cmd: &Command<'_>) -> Result<Option<String>, ScpiError> {
    if let Some(r) = common(world, Instrument::Psu, "SIM-PSU", cmd) {
        return r;
    }
    if cmd.is(RST) && !cmd.query {
        world.set_output(false);
        world.set_voltage(world.spec().config.nominal_voltage)?;
        return Ok(None);
    }
    if cmd.is(VOLT) {
        if cmd.query {
            cmd.plain_query()?;
            return Ok(Some(format!("{:.3}", world.voltage())));
        }
        let v = cmd.number("V")?;
        world.set_voltage(v)?;
        tracing::info!(volts = v, "PSU voltage set");
        return Ok(None);
    }
    if cmd.is(OUTP) {
        if cmd.query {
            cmd.plain_query()?;
            return Ok(Some(if world.output() { "1" } else { "0" }.into()));
        }
        world.set_output(cmd.boolean()?);
        return Ok(None);
    }
    if cmd.query && cmd.is(MEAS_VOLT) {
        cmd.plain_query()?;
        return Ok(Some(format!("{:.3}", world.measured_voltage())));
    }
    if cmd.query && cmd.is(MEAS_CURR) {
        cmd.plain_query()?;
        return Ok(Some(format!("{:.3}", world.measured_current())));
    }
    Err(ScpiError::UNDEFINED_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::station::SimStationSpec;

    #[test]
    fn the_command_set() {
        let w = World::new(SimStationSpec {
            name: "bench-3".into(),
            ..SimStationSpec::default()
        });
        let h = |l: &str| handle(&w, l);
        assert_eq!(
            h("*IDN?"),
            Some(format!("printrig,SIM-PSU,bench-3,{}", crate::VERSION))
        );
        assert_eq!(h("VOLT 17.5"), None);
        assert_eq!(h("volt?").as_deref(), Some("17.500"));
        assert_eq!(h("SOUR:VOLT:LEV 18.25 V; VOLT?").as_deref(), Some("18.250"));
        assert_eq!(h("MEAS:VOLT?").as_deref(), Some("18.250"));
        assert_eq!(h("OUTP?").as_deref(), Some("1"));
        assert_eq!(h("outp off"), None);
        assert_eq!(h("OUTPUT:STATE?").as_deref(), Some("0"));
        assert_eq!(h("MEAS:VOLT?").as_deref(), Some("0.000"));
        assert_eq!(h("MEAS:CURR?").as_deref(), Some("0.000"));
        assert_eq!(h("OUTP 1"), None);
        let idle: f64 = h("MEAS:CURR?")
            .and_then(|s| s.parse().ok())
            .expect("current");
        assert!(idle > 0.0 && idle < 0.5, "{idle}");
        assert_eq!(h("SYST:ERR?").as_deref(), Some("0,\"No error\""));
        assert_eq!(h("FROB 3"), None);
        assert_eq!(h("VOLT 99"), None);
        assert_eq!(h("OUTP perhaps"), None);
        assert_eq!(h("SYST:ERR?").as_deref(), Some("-113,\"Undefined header\""));
        assert_eq!(
            h("SYSTEM:ERROR:NEXT?").as_deref(),
            Some("-222,\"Data out of range\"")
        );
        assert_eq!(
            h("SYST:ERR?").as_deref(),
            Some("-224,\"Illegal parameter value\"")
        );
        assert_eq!(h("SYST:ERR?").as_deref(), Some("0,\"No error\""));
        assert_eq!(
            h("VOLT?").as_deref(),
            Some("18.250"),
            "a refused value changes nothing"
        );
        assert_eq!(h("*RST; OUTP?; VOLT?").as_deref(), Some("0;24.000"));
    }
}

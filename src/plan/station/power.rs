//! The `[station.power]` table: the printer's supply (none, SCPI, serial relay, exec
//! commands, or the simulated supply) and what it can do.
//!
//! Owns [`PowerSpec`], its reader and its capability questions. It must not drive a
//! supply (`instrument::power` does) or know the simulated supply's limits.

use super::fields::{command, nonempty, positive, read_baud, scpi_address};
use super::{instrument_kind, Absent, Declared};
use crate::link::Endpoint;
use crate::plan::read::{check_range, Diag, Tab};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Highest nominal voltage a station file may give a real supply: a guard against a typo
/// (a receipt printer runs on 5 to 48 V), not any instrument's limit.
const MAX_VOLTAGE: f64 = 1000.0;

/// The printer's power supply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PowerSpec {
    /// No control: power-cycle and voltage conditions cannot run.
    None,
    /// A SCPI programmable supply.
    Scpi {
        address: Endpoint,
        channel: Option<u32>,
        /// What teardown restores, volts (required: the rig never guesses a voltage).
        nominal_voltage: f64,
    },
    /// A serial relay board: switches only, cannot set a voltage.
    Relay {
        port: PathBuf,
        baud: u32,
        /// The strings that switch the relay on and off.
        on: String,
        off: String,
    },
    /// External commands (argv, no shell).
    Exec {
        on: Vec<String>,
        off: Vec<String>,
        /// With `{volts}`; absent = the voltage cannot be set.
        set_voltage: Option<Vec<String>>,
        /// What teardown restores (required with `set_voltage`).
        nominal_voltage: Option<f64>,
        timeout_s: f64,
    },
    /// The simulated supply of a sim station (`nominal_voltage` as declared; the
    /// simulator has the default and the limits).
    Sim {
        nominal_voltage: Option<Declared<f64>>,
    },
}

impl PowerSpec {
    /// The kinds whose supply can set a voltage, for messages.
    pub const VOLTAGE_KINDS: &'static str = "scpi, exec with set_voltage, sim";

    /// The voltage teardown restores, when the supply can set one and the file gives it
    /// (a sim supply's default is the simulator's).
    pub fn nominal_voltage(&self) -> Option<f64> {
        match self {
            PowerSpec::Scpi {
                nominal_voltage, ..
            } => Some(*nominal_voltage),
            PowerSpec::Sim { nominal_voltage } => nominal_voltage.as_ref().map(|v| v.value),
            PowerSpec::Exec {
                nominal_voltage, ..
            } => *nominal_voltage,
            PowerSpec::None | PowerSpec::Relay { .. } => None,
        }
    }

    /// Whether the printer's power can be switched off and on.
    pub fn can_switch(&self) -> bool {
        !matches!(self, PowerSpec::None)
    }

    /// Whether the supply can set its output voltage.
    pub fn can_set_voltage(&self) -> bool {
        match self {
            PowerSpec::Scpi { .. } | PowerSpec::Sim { .. } => true,
            PowerSpec::Exec { set_voltage, .. } => set_voltage.is_some(),
            PowerSpec::None | PowerSpec::Relay { .. } => false,
        }
    }

    /// What the supply is, said to someone whose condition needs a voltage it cannot set.
    pub fn lacks_voltage(&self) -> &'static str {
        match self {
            PowerSpec::Relay { .. } => "a relay, which can only switch",
            PowerSpec::Exec { .. } => "an exec power control without set_voltage",
            _ => "no power control",
        }
    }
}

impl Absent for PowerSpec {
    fn absent(sim: bool) -> Self {
        if sim {
            PowerSpec::Sim {
                nominal_voltage: None,
            }
        } else {
            PowerSpec::None
        }
    }
}

pub(super) fn read_power(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<PowerSpec> {
    let Some(kind) = instrument_kind(
        d,
        &mut t,
        sim,
        &["none", "scpi", "relay", "exec"],
        &["none", "sim"],
    ) else {
        t.silence();
        return None;
    };
    let volts = |d: &mut Diag<'_>, t: &mut Tab<'_, '_>, required: bool| {
        let v = if required {
            t.req(d, "nominal_voltage", Diag::float)
        } else {
            t.opt(d, "nominal_voltage", Diag::float)
        }?;
        check_range(
            d,
            &v,
            &t.what("nominal_voltage"),
            Some((0.0, true)),
            Some((MAX_VOLTAGE, false)),
        )
        .then_some(v)
    };
    let spec = (|| match kind.as_str() {
        "none" => Some(PowerSpec::None),
        "scpi" => {
            let address = scpi_address(d, &mut t);
            let channel = t.opt(d, "channel", Diag::uint).and_then(|c| {
                if c.v >= 1 {
                    Some(c.v)
                } else {
                    d.at(&c.span, "station.power.channel: channels count from 1");
                    None
                }
            });
            let channel_ok = channel.is_some() || !t.has("channel");
            let nominal = volts(d, &mut t, true);
            channel_ok.then_some(())?;
            Some(PowerSpec::Scpi {
                address: address?,
                channel,
                nominal_voltage: nominal?.v,
            })
        }
        "relay" => {
            let port = nonempty(d, &mut t, "port", true);
            let baud = match read_baud(d, &mut t, false) {
                Some(b) => Some(b),
                None if t.has("baud") => None,
                None => Some(9600),
            };
            let on = nonempty(d, &mut t, "on", true);
            let off = nonempty(d, &mut t, "off", true);
            Some(PowerSpec::Relay {
                port: PathBuf::from(port?),
                baud: baud?,
                on: on?,
                off: off?,
            })
        }
        "exec" => {
            let on = command(d, &mut t, "on", true, &[], &[]);
            let off = command(d, &mut t, "off", true, &[], &[]);
            let set_voltage = command(d, &mut t, "set_voltage", false, &["volts"], &["volts"]);
            let set_ok = set_voltage.is_some() || !t.has("set_voltage");
            let needs_nominal = t.has("set_voltage");
            let nominal = volts(d, &mut t, needs_nominal);
            let nominal_ok = nominal.is_some() || !t.has("nominal_voltage");
            let timeout_s = positive(d, &mut t, "timeout_s", 10.0, 86_400.0);
            (set_ok && nominal_ok).then_some(())?;
            Some(PowerSpec::Exec {
                on: on?,
                off: off?,
                set_voltage,
                nominal_voltage: nominal.map(|n| n.v),
                timeout_s,
            })
        }
        _ => {
            let nominal = volts(d, &mut t, false);
            if nominal.is_none() && t.has("nominal_voltage") {
                None
            } else {
                Some(PowerSpec::Sim {
                    nominal_voltage: nominal.map(|n| d.declared(n)),
                })
            }
        }
    })();
    t.finish(d);
    spec
}

//! The `[station.supply]` table: how ink or paper levels are brought to what a condition
//! asks (an operator prompt, exec commands, or the simulated station's consumables).
//!
//! Owns [`SupplySpec`] and its reader. It must not change a level.

use super::fields::{command, positive};
use super::{instrument_kind, Absent};
use crate::link::Endpoint;
use crate::plan::read::{Diag, Tab};
use serde::{Deserialize, Serialize};

/// How ink or paper levels are brought to what a condition asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SupplySpec {
    None,
    /// Ask an operator on the terminal.
    Prompt,
    /// argv with `{what}` (`ink` or `paper`) and `{level}` (0..1).
    Exec {
        set: Vec<String>,
        timeout_s: f64,
    },
    /// The simulated station's consumables.
    Sim,
    /// A running simulated station's control port (what `Sim` becomes once the station is
    /// started; never read from a file).
    SimControl {
        address: Endpoint,
    },
}

impl Absent for SupplySpec {
    fn absent(sim: bool) -> Self {
        if sim {
            SupplySpec::Sim
        } else {
            SupplySpec::None
        }
    }
}

pub(super) fn read_supply(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<SupplySpec> {
    let Some(kind) = instrument_kind(
        d,
        &mut t,
        sim,
        &["none", "prompt", "exec"],
        &["none", "sim"],
    ) else {
        t.silence();
        return None;
    };
    let spec = (|| match kind.as_str() {
        "none" => Some(SupplySpec::None),
        "prompt" => Some(SupplySpec::Prompt),
        "exec" => {
            let set = command(d, &mut t, "set", true, &["what", "level"], &["level"]);
            let timeout_s = positive(d, &mut t, "timeout_s", 30.0, 86_400.0);
            Some(SupplySpec::Exec {
                set: set?,
                timeout_s,
            })
        }
        _ => Some(SupplySpec::Sim),
    })();
    t.finish(d);
    spec
}

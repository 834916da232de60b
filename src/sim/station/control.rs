//! The station's control port: a line protocol for tests and plans to break the printer
//! on purpose (inject faults, set the ink level, add latent faults) and to read the
//! world's state.
//!
//! Owns the command syntax and its validation; the faults live in the world and take
//! effect at the next job. It must not panic on any line and answers every non-blank line
//! with exactly one line: `OK`, `ERR <message>`, or the JSON of `STATUS?`.
//!
//! Commands (keywords case-insensitive):
//! - `FAULT <KIND=VALUE> …` injects faults (the `--fault` syntax; `ink=` sets the level
//!   like `INK`; a power cut must be a byte offset, `cut=@N`);
//! - `CLEAR` removes the injected and latent faults added here (the spec's stay);
//! - `INK <level>` sets the ink level, 0..1 (below 1 switches the ink model on);
//! - `LATENT <KIND=VALUE> <condition>=<x> …` with conditions `below_voltage`,
//!   `above_temperature`, `below_temperature`, `below_ink` (active while any holds);
//! - `FIRMWARE <version>` installs one of the station's firmware images (the printer runs
//!   it from its next job and reports it in GS I 65); `FIRMWARE?` replies with the version
//!   it runs;
//! - `STATUS?` replies with one JSON line: powered, ready, voltage, setpoint, temperature,
//!   ink, faults (what a job starting now gets), injected, latent, pages, jobs, printing,
//!   firmware.

use super::world::World;
use super::LatentFault;
use crate::sim::config::stream_problem;
use crate::sim::faults::Faults;

const KNOWN: &str = "FAULT, CLEAR, INK, LATENT, FIRMWARE, FIRMWARE?, STATUS?";

/// Handles one line: the reply, or `None` for a blank line.
pub(crate) fn handle(world: &World, line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let (keyword, rest) = match line.split_once(char::is_whitespace) {
        Some((k, r)) => (k, r.trim()),
        None => (line, ""),
    };
    let result = match keyword.to_ascii_uppercase().as_str() {
        "FAULT" => fault(world, rest),
        "CLEAR" if rest.is_empty() => {
            world.clear_injected();
            Ok(())
        }
        "INK" => ink(world, rest),
        "LATENT" => latent(world, rest),
        "FIRMWARE" if !rest.is_empty() => world.install_firmware(rest),
        "FIRMWARE" => Err("FIRMWARE takes the version to install, e.g. FIRMWARE SIM 1.1".into()),
        "FIRMWARE?" if rest.is_empty() => return Some(world.firmware()),
        "STATUS?" if rest.is_empty() => return Some(world.status_json()),
        "CLEAR" | "STATUS?" | "FIRMWARE?" => Err(format!("{keyword} takes no arguments")),
        _ => Err(format!("unknown command '{keyword}' (known: {KNOWN})")),
    };
    Some(match result {
        Ok(()) => "OK".into(),
        Err(message) => {
            tracing::debug!(%line, %message, "control command refused");
            format!("ERR {}", message.replace(['\r', '\n'], " "))
        }
    })
}

fn check_fault(world: &World, arg: &str) -> Result<Faults, String> {
    let mut scratch = world.spec().config.faults.clone();
    scratch.apply(arg).map_err(|e| e.to_string())?;
    let mut alone = Faults::default();
    alone.apply(arg).map_err(|e| e.to_string())?;
    if let Some(p) = stream_problem(&alone) {
        return Err(format!("fault '{arg}': {p}"));
    }
    Ok(alone)
}

fn fault(world: &World, rest: &str) -> Result<(), String> {
    let args: Vec<&str> = rest.split_whitespace().collect();
    if args.is_empty() {
        return Err("FAULT needs KIND=VALUE, e.g. FAULT dead=100".into());
    }
    // All or nothing: check every argument before injecting any.
    let parsed = args
        .iter()
        .map(|a| check_fault(world, a))
        .collect::<Result<Vec<_>, _>>()?;
    for (arg, f) in args.iter().zip(parsed) {
        match f.ink {
            Some(level) => world.set_ink(level),
            None => world.inject((*arg).to_string()),
        }
        tracing::info!(fault = %arg, "fault injected");
    }
    Ok(())
}

fn ink(world: &World, rest: &str) -> Result<(), String> {
    let level = rest
        .parse::<f64>()
        .ok()
        .filter(|l| l.is_finite() && (0.0..=1.0).contains(l))
        .ok_or_else(|| format!("INK '{rest}': expected a level from 0 to 1, e.g. INK 0.25"))?;
    world.set_ink(level);
    Ok(())
}

fn latent(world: &World, rest: &str) -> Result<(), String> {
    const USAGE: &str =
        "LATENT KIND=VALUE CONDITION=X …, e.g. LATENT block=128:64 below_voltage=20";
    let mut args = rest.split_whitespace();
    let fault = args.next().ok_or_else(|| USAGE.to_string())?;
    check_fault(world, fault)?;
    let mut l = LatentFault {
        fault: fault.to_string(),
        ..LatentFault::default()
    };
    for cond in args {
        let (name, value) = cond
            .split_once('=')
            .ok_or_else(|| format!("condition '{cond}': expected CONDITION=X ({USAGE})"))?;
        let x = value
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("condition '{cond}': '{value}' is not a number"))?;
        let slot = match name.to_ascii_lowercase().as_str() {
            "below_voltage" => &mut l.below_voltage,
            "above_temperature" => &mut l.above_temperature,
            "below_temperature" => &mut l.below_temperature,
            "below_ink" => &mut l.below_ink,
            _ => {
                return Err(format!(
                    "condition '{name}' is unknown (known: below_voltage, above_temperature, below_temperature, below_ink)"
                ))
            }
        };
        *slot = Some(x);
    }
    l.validate().map_err(|e| e.to_string())?;
    tracing::info!(latent = %l.describe(), "latent fault added");
    world.add_latent(l);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::station::SimStationSpec;

    #[test]
    fn commands_and_refusals() {
        let w = World::new(SimStationSpec::default());
        let h = |l: &str| handle(&w, l);
        assert_eq!(h("FAULT dead=100").as_deref(), Some("OK"));
        assert_eq!(h("fault tilt=0.2 dead=7").as_deref(), Some("OK"));
        let err = h("FAULT zebra=1").unwrap_or_default();
        assert!(err.starts_with("ERR ") && err.contains("zebra"), "{err}");
        let err = h("FAULT dead=3 tilt=5").unwrap_or_default();
        assert!(err.starts_with("ERR ") && err.contains("tilt=5"), "{err}");
        let err = h("FAULT cut=0.5").unwrap_or_default();
        assert!(err.contains("cut=@"), "{err}");
        assert_eq!(h("FAULT cut=@1000").as_deref(), Some("OK"));
        assert_eq!(h("FAULT ink=0.5").as_deref(), Some("OK"));
        assert_eq!(w.ink(), 0.5);
        assert_eq!(h("INK 0.25").as_deref(), Some("OK"));
        assert!(h("INK 2").is_some_and(|r| r.starts_with("ERR ")));
        assert!(h("INK").is_some_and(|r| r.starts_with("ERR ")));
        assert_eq!(
            h("LATENT block=200:64 below_voltage=20").as_deref(),
            Some("OK")
        );
        for bad in [
            "LATENT",
            "LATENT block=200:64",
            "LATENT block=200:64 below_voltage",
            "LATENT block=200:64 sideways=3",
            "LATENT block=200:64 below_voltage=x",
            "LATENT nope=1 below_ink=0.5",
        ] {
            assert!(h(bad).is_some_and(|r| r.starts_with("ERR ")), "{bad}");
        }
        let status: serde_json::Value =
            serde_json::from_str(&h("STATUS?").unwrap_or_default()).expect("json");
        assert_eq!(status["ink"], 0.25);
        assert_eq!(status["injected"].as_array().map(Vec::len), Some(4));
        assert_eq!(status["latent"][0], "block=200:64 below_voltage=20");
        assert_eq!(h("CLEAR").as_deref(), Some("OK"));
        let status: serde_json::Value =
            serde_json::from_str(&h("status?").unwrap_or_default()).expect("json");
        assert_eq!(status["injected"].as_array().map(Vec::len), Some(0));
        assert!(h("BOGUS").is_some_and(|r| r.starts_with("ERR unknown command")));
        // Firmware: only a version the station has; reported from then on.
        assert_eq!(h("FIRMWARE?").as_deref(), Some("SIM 1.0"));
        let err = h("FIRMWARE SIM 9").unwrap_or_default();
        assert!(
            err.starts_with("ERR no firmware image \"SIM 9\"") && err.contains("SIM 1.0"),
            "{err}"
        );
        assert!(h("FIRMWARE").is_some_and(|r| r.starts_with("ERR ")));
        assert_eq!(h("FIRMWARE SIM 1.0").as_deref(), Some("OK"));
        assert_eq!(h("   "), None);
    }
}

//! Fault parameters of the simulated printer: what is broken and how badly.
//!
//! Owns the `Faults` set, its `KIND=VALUE` command-line syntax (with the help table) and
//! its one-line description for logs. It holds numbers only: the physics that turns them
//! into a print lives in `sim::head`, and the power cut is applied by the stream layer.
//! It must not print, scan or log per row; parsing never panics on user input.

use serde::{Deserialize, Serialize};
use std::fmt;

pub use crate::defect::Side;

/// Where the power fails during a job. Applied by the stream layer, not by the head.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerCut {
    /// After this many bytes of the job have been received.
    Byte(usize),
    /// After this fraction (0..=1) of the job's bytes.
    Fraction(f64),
}

/// Lowest and highest accepted values of the numeric faults.
pub const TILT_LIMIT: f64 = 0.9;
pub const VOLTAGE_RANGE: (f64, f64) = (0.0, 60.0);
pub const TEMPERATURE_RANGE: (f64, f64) = (-40.0, 60.0);
pub const MAX_WIDTH_SETTING: u32 = 4096;

/// The faults of one simulated printer. Several combine; `Default` is a healthy printer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Dot columns (head elements) that never print.
    pub dead_elements: Vec<u32>,
    /// `(start, length)` in dots: a driver IC / strobe group that never prints.
    pub dead_block: Option<(u32, u32)>,
    /// One half of the head not driven.
    pub dead_half: Option<Side>,
    /// Fraction of darkness lost at the far side, -0.9..=0.9 (positive: the right side
    /// is lighter, negative: the left side is lighter).
    pub tilt: f64,
    /// Starting ink level 0..=1; `None` = no ink model (a thermal printer). Drains with
    /// every printed dot, fades the print below about 30 %, stops it at 0.
    pub ink: Option<f64>,
    /// Supply voltage in volts (nominal 24); the supply sags under load.
    pub voltage: Option<f64>,
    /// Ambient temperature in °C (nominal 25).
    pub temperature: Option<f64>,
    /// Where the power fails during the job (applied by the stream layer).
    pub power_cut: Option<PowerCut>,
    /// `(period in rows, amplitude 0..1)` of a periodic darkness loss along the feed.
    pub banding: Option<(f64, f64)>,
    /// The printer's paper-width setting in dots: dots at or beyond it never print.
    pub width_setting: Option<u32>,
}

/// A fault argument that could not be understood.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    #[error("fault '{arg}': expected KIND=VALUE (see the fault table in --help), e.g. dead=12 or voltage=17.5")]
    Syntax { arg: String },
    #[error("fault '{arg}': unknown kind '{kind}' (known: dead, block, half, tilt, ink, voltage, temp, cut, banding, width)")]
    UnknownKind { arg: String, kind: String },
    #[error("fault '{arg}': expected {expected}")]
    BadValue { arg: String, expected: &'static str },
}

impl Faults {
    /// The `KIND=VALUE` forms accepted by [`Faults::apply`], one line each.
    pub const HELP: &'static str = "\
Faults (--fault KIND=VALUE, repeatable; several combine):
  dead=12,13        dot columns (heater elements / nozzles) that never print
  block=128:64      START:LENGTH in dots: a driver IC / strobe group that never prints
  half=left|right   one half of the head not driven
  tilt=0.4          darkness lost at the far side, -0.9..0.9 (+: right lighter, -: left lighter)
  ink=0.05          starting ink level 0..1 (inkjet): fades below 0.3, stops the print at 0
  voltage=17.5      supply volts (nominal 24): dense rows print lighter, deep sag resets
  temp=-15          ambient °C (nominal 25): cold prints light, hot may over-heat the head
  cut=0.5 | cut=50% | cut=@12345
                    power fails after a fraction of the job's bytes, or at a byte offset
  banding=32:0.2    PERIOD:AMPLITUDE: periodic darkness loss along the feed (rows, 0..1)
  width=384         the printer's paper-width setting in dots (dots beyond it are lost)";

    /// Parses one `KIND=VALUE` argument and sets (or, for `dead`, adds to) that fault.
    pub fn apply(&mut self, arg: &str) -> Result<(), FaultError> {
        let Some((kind, value)) = arg.split_once('=') else {
            return Err(FaultError::Syntax {
                arg: arg.to_string(),
            });
        };
        let kind = kind.trim().to_ascii_lowercase();
        let value = value.trim();
        let bad = |expected: &'static str| FaultError::BadValue {
            arg: arg.to_string(),
            expected,
        };
        match kind.as_str() {
            "dead" => {
                let mut cols = Vec::new();
                for part in value.split(',') {
                    let col = part.trim().parse::<u32>().map_err(|_| {
                        bad("a comma-separated list of dot columns, e.g. dead=12,13")
                    })?;
                    cols.push(col);
                }
                self.dead_elements.extend(cols);
                self.dead_elements.sort_unstable();
                self.dead_elements.dedup();
            }
            "block" => {
                const EXPECTED: &str = "START:LENGTH in dots with LENGTH ≥ 1, e.g. block=128:64";
                let (start, len) = value.split_once(':').ok_or_else(|| bad(EXPECTED))?;
                let start = start.trim().parse::<u32>().map_err(|_| bad(EXPECTED))?;
                let len = len.trim().parse::<u32>().map_err(|_| bad(EXPECTED))?;
                if len == 0 {
                    return Err(bad(EXPECTED));
                }
                self.dead_block = Some((start, len));
            }
            "half" => {
                self.dead_half = Some(match value.to_ascii_lowercase().as_str() {
                    "left" => Side::Left,
                    "right" => Side::Right,
                    _ => return Err(bad("left or right, e.g. half=right")),
                });
            }
            "tilt" => {
                let t = parse_number(value)
                    .filter(|t| (-TILT_LIMIT..=TILT_LIMIT).contains(t))
                    .ok_or_else(|| bad("a number from -0.9 to 0.9, e.g. tilt=0.4"))?;
                self.tilt = t;
            }
            "ink" => {
                let level = parse_number(value)
                    .filter(|l| (0.0..=1.0).contains(l))
                    .ok_or_else(|| bad("an ink level from 0 to 1, e.g. ink=0.05"))?;
                self.ink = Some(level);
            }
            "voltage" | "volts" => {
                let v = parse_number(value)
                    .filter(|v| *v > VOLTAGE_RANGE.0 && *v <= VOLTAGE_RANGE.1)
                    .ok_or_else(|| bad("supply volts above 0 and at most 60, e.g. voltage=17.5"))?;
                self.voltage = Some(v);
            }
            "temp" | "temperature" => {
                let t = parse_number(value)
                    .filter(|t| (TEMPERATURE_RANGE.0..=TEMPERATURE_RANGE.1).contains(t))
                    .ok_or_else(|| bad("ambient °C from -40 to 60, e.g. temp=-15"))?;
                self.temperature = Some(t);
            }
            "cut" => {
                const EXPECTED: &str =
                    "a fraction 0..1 (cut=0.5), a percentage (cut=50%) or a byte offset (cut=@12345)";
                let cut = if let Some(bytes) = value.strip_prefix('@') {
                    PowerCut::Byte(bytes.trim().parse::<usize>().map_err(|_| bad(EXPECTED))?)
                } else if let Some(pct) = value.strip_suffix('%') {
                    let f = parse_number(pct.trim())
                        .filter(|p| (0.0..=100.0).contains(p))
                        .ok_or_else(|| bad(EXPECTED))?;
                    PowerCut::Fraction(f / 100.0)
                } else if value.contains(['.', 'e', 'E']) {
                    let f = parse_number(value)
                        .filter(|f| (0.0..=1.0).contains(f))
                        .ok_or_else(|| bad(EXPECTED))?;
                    PowerCut::Fraction(f)
                } else {
                    return Err(bad(EXPECTED));
                };
                self.power_cut = Some(cut);
            }
            "banding" => {
                const EXPECTED: &str =
                    "PERIOD:AMPLITUDE with PERIOD ≥ 2 rows and AMPLITUDE 0..1, e.g. banding=32:0.2";
                let (period, amp) = value.split_once(':').ok_or_else(|| bad(EXPECTED))?;
                let period = parse_number(period.trim())
                    .filter(|p| *p >= 2.0 && *p <= 1e6)
                    .ok_or_else(|| bad(EXPECTED))?;
                let amp = parse_number(amp.trim())
                    .filter(|a| (0.0..=1.0).contains(a))
                    .ok_or_else(|| bad(EXPECTED))?;
                self.banding = Some((period, amp));
            }
            "width" => {
                let w = value
                    .parse::<u32>()
                    .ok()
                    .filter(|w| (1..=MAX_WIDTH_SETTING).contains(w))
                    .ok_or_else(|| {
                        bad("a paper-width setting in dots from 1 to 4096, e.g. width=384")
                    })?;
                self.width_setting = Some(w);
            }
            _ => {
                return Err(FaultError::UnknownKind {
                    arg: arg.to_string(),
                    kind,
                })
            }
        }
        Ok(())
    }

    /// Parses a list of `KIND=VALUE` arguments onto a healthy printer.
    pub fn parse_all<'a, I>(args: I) -> Result<Faults, FaultError>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut f = Faults::default();
        for a in args {
            f.apply(a)?;
        }
        Ok(f)
    }

    /// No fault parameter is set. An explicitly nominal setting (`voltage=24`) counts as
    /// set: the printer is then simulated with that parameter's model switched on.
    pub fn is_healthy(&self) -> bool {
        *self == Faults::default()
    }

    /// The active faults in the `KIND=VALUE` syntax, space-separated, or `healthy`.
    pub fn describe(&self) -> String {
        self.to_string()
    }
}

fn parse_number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_healthy() {
            return f.write_str("healthy");
        }
        let mut parts: Vec<String> = Vec::new();
        if !self.dead_elements.is_empty() {
            let cols: Vec<String> = self.dead_elements.iter().map(u32::to_string).collect();
            parts.push(format!("dead={}", cols.join(",")));
        }
        if let Some((start, len)) = self.dead_block {
            parts.push(format!("block={start}:{len}"));
        }
        if let Some(side) = self.dead_half {
            parts.push(format!("half={}", side.name()));
        }
        if self.tilt != 0.0 {
            parts.push(format!("tilt={}", self.tilt));
        }
        if let Some(ink) = self.ink {
            parts.push(format!("ink={ink}"));
        }
        if let Some(v) = self.voltage {
            parts.push(format!("voltage={v}"));
        }
        if let Some(t) = self.temperature {
            parts.push(format!("temp={t}"));
        }
        match self.power_cut {
            Some(PowerCut::Byte(b)) => parts.push(format!("cut=@{b}")),
            Some(PowerCut::Fraction(x)) => parts.push(format!("cut={x:?}")),
            None => {}
        }
        if let Some((period, amp)) = self.banding {
            parts.push(format!("banding={period}:{amp}"));
        }
        if let Some(w) = self.width_setting {
            parts.push(format!("width={w}"));
        }
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_in_the_help_parses() {
        let mut f = Faults::default();
        for a in [
            "dead=12,13",
            "block=128:64",
            "half=left",
            "tilt=0.4",
            "ink=0.05",
            "voltage=17.5",
            "temp=-15",
            "cut=0.5",
            "banding=32:0.2",
            "width=384",
        ] {
            f.apply(a).unwrap_or_else(|e| panic!("{a}: {e}"));
        }
        assert_eq!(f.dead_elements, vec![12, 13]);
        assert_eq!(f.dead_block, Some((128, 64)));
        assert_eq!(f.dead_half, Some(Side::Left));
        assert_eq!(f.tilt, 0.4);
        assert_eq!(f.ink, Some(0.05));
        assert_eq!(f.voltage, Some(17.5));
        assert_eq!(f.temperature, Some(-15.0));
        assert_eq!(f.power_cut, Some(PowerCut::Fraction(0.5)));
        assert_eq!(f.banding, Some((32.0, 0.2)));
        assert_eq!(f.width_setting, Some(384));
        assert!(!f.is_healthy());
        assert!(Faults::default().is_healthy());
        assert_eq!(Faults::default().describe(), "healthy");
    }

    #[test]
    fn cut_forms() {
        let cut = |s: &str| Faults::parse_all([s]).map(|f| f.power_cut);
        assert_eq!(cut("cut=50%"), Ok(Some(PowerCut::Fraction(0.5))));
        assert_eq!(cut("cut=@12345"), Ok(Some(PowerCut::Byte(12345))));
        assert_eq!(cut("cut=0.25"), Ok(Some(PowerCut::Fraction(0.25))));
        assert!(cut("cut=12345").is_err());
        assert!(cut("cut=1.5").is_err());
        assert!(cut("cut=@-3").is_err());
    }

    #[test]
    fn dead_lists_accumulate() {
        let f = Faults::parse_all(["dead=13,12", "dead=40,12"]).expect("parse");
        assert_eq!(f.dead_elements, vec![12, 13, 40]);
    }

    #[test]
    fn errors_name_the_argument_and_what_was_expected() {
        for (arg, want) in [
            ("tilt", "expected KIND=VALUE"),
            ("zebra=1", "unknown kind 'zebra'"),
            ("tilt=2", "-0.9 to 0.9"),
            ("dead=a,b", "comma-separated"),
            ("block=128", "START:LENGTH"),
            ("block=128:0", "START:LENGTH"),
            ("half=top", "left or right"),
            ("ink=1.2", "0 to 1"),
            ("voltage=-3", "supply volts"),
            ("voltage=nan", "supply volts"),
            ("temp=200", "-40 to 60"),
            ("banding=1:0.2", "PERIOD:AMPLITUDE"),
            ("width=0", "paper-width"),
        ] {
            let err = Faults::default().apply(arg).expect_err(arg).to_string();
            assert!(err.contains(arg), "{err}");
            assert!(err.contains(want), "{arg}: {err}");
        }
    }

    #[test]
    fn describe_round_trips_through_apply() {
        let f = Faults::parse_all([
            "dead=3,7",
            "block=64:64",
            "half=right",
            "tilt=-0.3",
            "ink=0.5",
            "voltage=18",
            "temp=45",
            "cut=@99",
            "banding=24:0.1",
            "width=384",
        ])
        .expect("parse");
        let text = f.describe();
        let again = Faults::parse_all(text.split(' ')).expect("reparse");
        assert_eq!(f, again, "{text}");
        let g = Faults::parse_all(["cut=25%"]).expect("parse");
        assert_eq!(Faults::parse_all(g.describe().split(' ')), Ok(g));
    }

    #[test]
    fn serde_round_trip_and_partial_files() {
        let f = Faults::parse_all(["dead=5", "cut=@10", "half=left"]).expect("parse");
        let json = serde_json::to_string(&f).expect("ser");
        let back: Faults = serde_json::from_str(&json).expect("de");
        assert_eq!(f, back);
        let partial: Faults = serde_json::from_str(r#"{"voltage": 17.5}"#).expect("de");
        assert_eq!(partial.voltage, Some(17.5));
        assert!(partial.dead_elements.is_empty());
    }
}

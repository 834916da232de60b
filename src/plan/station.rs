//! Station files: what hardware a station has and how to reach it, read from TOML into
//! validated, typed structs.
//!
//! Owns the station types ([`StationFile`], [`Station`] and one enum per instrument kind),
//! their defaults and every check that needs only the station file itself. It must not
//! open links, start simulators or talk to instruments: it describes, the drivers act.

use super::read::{check_name, check_range, placeholders, At, Diag, Tab, Val};
use super::PlanErrors;
use crate::link::{Endpoint, Flow};
use crate::pattern::check_dots;
use crate::sim::faults::{Faults, TEMPERATURE_RANGE, VOLTAGE_RANGE};
use crate::util::sha256_hex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Default port of a printer's raw TCP socket.
pub const PRINTER_TCP_PORT: u16 = 9100;
/// Default port of a SCPI instrument's raw socket.
pub const SCPI_TCP_PORT: u16 = 5025;
/// Nominal supply voltage of a simulated printer.
pub const SIM_NOMINAL_VOLTAGE: f64 = 24.0;

/// A station file, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationFile {
    /// The file as given to [`super::load_stations`].
    pub path: PathBuf,
    /// SHA-256 (hex) of the file's bytes, for provenance.
    pub sha256: String,
    /// In file order; names are unique.
    pub stations: Vec<Station>,
}

impl StationFile {
    pub fn get(&self, name: &str) -> Option<&Station> {
        self.stations.iter().find(|s| s.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.stations.iter().map(|s| s.name.as_str()).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StationKind {
    /// Started by the rig itself: simulated printer, supply, chamber, scanner.
    Sim,
    /// Real hardware.
    Real,
}

/// One station: a printer under test and the instruments around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Station {
    /// Unique, `[a-z0-9_-]+`.
    pub name: String,
    pub kind: StationKind,
    /// Golden records live in `golden/<model>/`.
    pub model: String,
    /// Solid optical density for the `light` check when there is no golden record.
    pub nominal_density: Option<f64>,
    pub printer: PrinterSpec,
    pub power: PowerSpec,
    pub chamber: ChamberSpec,
    pub scanner: ScannerSpec,
    pub supply: SupplySpec,
    /// Simulation parameters: `Some` exactly for sim stations (defaults filled in).
    pub sim: Option<SimSpec>,
}

impl Station {
    pub fn is_sim(&self) -> bool {
        self.kind == StationKind::Sim
    }

    /// Whether the printer's power can be switched off and on.
    pub fn can_power_cycle(&self) -> bool {
        !matches!(self.power, PowerSpec::None)
    }

    /// Whether the supply voltage can be set (SCPI, `exec` with `set_voltage`, sim).
    pub fn can_set_voltage(&self) -> bool {
        match &self.power {
            PowerSpec::Scpi { .. } | PowerSpec::Sim { .. } => true,
            PowerSpec::Exec { set_voltage, .. } => set_voltage.is_some(),
            PowerSpec::None | PowerSpec::Relay { .. } => false,
        }
    }

    pub fn has_chamber(&self) -> bool {
        !matches!(self.chamber, ChamberSpec::None)
    }

    pub fn has_supply(&self) -> bool {
        !matches!(self.supply, SupplySpec::None)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrinterSpec {
    /// Head width in dots: a multiple of 8 from 256 to 2048.
    pub dots: u32,
    /// Dots per inch along and across the feed (default 203.2).
    pub dpi: f64,
    pub link: PrinterLink,
    /// Sim stations only: what the simulated printer reports (GS I).
    pub firmware: Option<String>,
    /// How long to wait for a band's acknowledgement, seconds (default 30).
    pub ack_timeout_s: f64,
    /// How long to wait for the printer after power returns, seconds (default 30).
    pub boot_timeout_s: f64,
}

/// How the rig reaches the printer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterLink {
    /// Sim stations: a pseudo-terminal the rig creates.
    SimPty,
    /// Sim stations: a loopback TCP port the rig picks.
    SimTcp,
    /// Real stations: serial, TCP (port 9100 by default) or a device file.
    Real(Endpoint),
}

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
    /// The simulated supply of a sim station.
    Sim { nominal_voltage: f64 },
}

impl PowerSpec {
    /// The voltage teardown restores, when the supply can set one.
    pub fn nominal_voltage(&self) -> Option<f64> {
        match self {
            PowerSpec::Scpi {
                nominal_voltage, ..
            }
            | PowerSpec::Sim { nominal_voltage } => Some(*nominal_voltage),
            PowerSpec::Exec {
                nominal_voltage, ..
            } => *nominal_voltage,
            PowerSpec::None | PowerSpec::Relay { .. } => None,
        }
    }
}

/// The climate chamber around the printer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChamberSpec {
    None,
    Scpi {
        address: Endpoint,
        /// Template with `{celsius}`.
        set_command: String,
        read_command: String,
        /// Teardown setpoint, °C.
        ambient: f64,
    },
    Exec {
        /// argv with `{celsius}`.
        set: Vec<String>,
        /// argv; prints the temperature in °C.
        read: Vec<String>,
        ambient: f64,
        timeout_s: f64,
    },
    /// The simulated chamber (ambient and lag in [`SimSpec`]).
    Sim,
}

/// How a printed page becomes an image file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScannerSpec {
    /// SANE `scanimage`.
    Sane {
        device: String,
        resolution: u32,
        mode: String,
        /// `png`, `tiff`, `pnm` or `jpeg`.
        format: String,
        /// The program to run.
        scanimage: String,
        timeout_s: f64,
    },
    /// A folder a scanner (or an operator) drops files into.
    Hotfolder {
        dir: PathBuf,
        /// A new file counts once its size has not changed for this long.
        settle_s: f64,
        timeout_s: f64,
    },
    /// The simulated flatbed.
    Sim { dpi: f64, skew_deg: f64 },
}

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
    Sim,
}

/// Parameters of a simulated station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimSpec {
    /// Always-present faults in `rig sim print --fault` syntax (validated).
    pub faults: Vec<String>,
    /// Station seconds per wall-clock second (> 0).
    pub time_scale: f64,
    /// Printer boot time after power returns, station seconds.
    pub boot_s: f64,
    pub ambient_c: f64,
    /// First-order lag of the chamber, station seconds.
    pub chamber_tau_s: f64,
    /// Starting ink level 0..=1.
    pub ink: f64,
    pub seed: u64,
    /// Throttle the simulated link to this line rate.
    pub baud: Option<u32>,
    /// Faults that appear only under stress.
    pub latent: Vec<LatentFault>,
}

impl Default for SimSpec {
    fn default() -> Self {
        SimSpec {
            faults: Vec::new(),
            time_scale: 1.0,
            boot_s: 3.0,
            ambient_c: 23.0,
            chamber_tau_s: 300.0,
            ink: 1.0,
            seed: 1,
            baud: None,
            latent: Vec::new(),
        }
    }
}

impl SimSpec {
    /// The always-present faults, parsed (they were validated when the file was read).
    pub fn base_faults(&self) -> Result<Faults, crate::sim::FaultError> {
        let mut f = Faults::default();
        for s in &self.faults {
            f.apply(s)?;
        }
        Ok(f)
    }
}

/// A fault that shows only while a stress crosses a threshold: the simulated station's
/// own type, so the station file and the station agree on what it means.
pub use crate::sim::station::LatentFault;

/// Reads and validates a station file's text; `path` is used in errors and kept.
pub fn parse_stations(text: &str, path: &Path) -> Result<StationFile, PlanErrors> {
    let mut d = Diag::new(path, text);
    let Some(doc) = d.parse(text) else {
        return Err(d.into_errors());
    };
    let mut root = Tab::new(doc.get_ref(), doc.span(), "");
    let mut stations = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    match root.get("station") {
        None => d.whole("no [[station]] table: a station file describes one or more stations"),
        Some((_, v)) => {
            for item in array_of_tables(&mut d, v, "station") {
                let Some(mut t) = d.table(item, "station") else {
                    continue;
                };
                let read = read_station(&mut d, &mut t);
                t.finish(&mut d);
                if let Some((station, name_at)) = read {
                    let line = d.line_of(&name_at.span);
                    if let Some(first) = seen.get(&station.name) {
                        d.at(
                            &name_at.span,
                            format!(
                                "station.name: duplicate station name \"{}\" (first defined on line {first})",
                                station.name
                            ),
                        );
                    } else {
                        seen.insert(station.name.clone(), line);
                    }
                    stations.push(station);
                }
            }
        }
    }
    root.finish(&mut d);
    if d.has_errors() {
        return Err(d.into_errors());
    }
    tracing::debug!(file = %path.display(), stations = stations.len(), "station file read");
    Ok(StationFile {
        path: path.to_path_buf(),
        sha256: sha256_hex(text.as_bytes()),
        stations,
    })
}

/// The tables of an array of tables (`[[name]]`); a single `[name]` table is an error.
pub(crate) fn array_of_tables<'a, 'i>(
    d: &mut Diag<'_>,
    v: &'a Val<'i>,
    what: &str,
) -> &'a [Val<'i>] {
    match v.get_ref() {
        toml::de::DeValue::Array(a) => a,
        toml::de::DeValue::Table(_) => {
            d.at(
                &v.span(),
                format!("{what}: write [[{what}]] (an array of tables), not [{what}]"),
            );
            &[]
        }
        _ => {
            d.array(v, what);
            &[]
        }
    }
}

fn read_station(d: &mut Diag<'_>, t: &mut Tab<'_, '_>) -> Option<(Station, At<String>)> {
    let name = t.req(d, "name", Diag::string);
    let name_ok = name
        .as_ref()
        .is_some_and(|n| check_name(d, n, "station.name"));
    let kind_at = t.req(d, "kind", Diag::string);
    let kind = match kind_at.as_ref().map(|k| k.v.as_str()) {
        Some("sim") => Some(StationKind::Sim),
        Some("real") => Some(StationKind::Real),
        Some(other) => {
            if let Some(k) = &kind_at {
                d.at(
                    &k.span,
                    format!(
                        "station.kind: unknown kind \"{other}\" (expected \"sim\" or \"real\")"
                    ),
                );
            }
            None
        }
        None => None,
    };
    let model = t.req(d, "model", Diag::string);
    let model_ok = model.as_ref().is_some_and(|m| check_model(d, m));
    let nominal_density = t.opt(d, "nominal_density", Diag::float);
    if let Some(x) = &nominal_density {
        check_range(
            d,
            x,
            "station.nominal_density",
            Some((0.0, true)),
            Some((5.0, false)),
        );
    }
    let Some(kind) = kind else {
        // Without a kind the instrument tables cannot be judged.
        t.silence();
        return None;
    };
    let sim = kind == StationKind::Sim;

    let printer = match t.get("printer") {
        Some((_, v)) => d
            .table(v, "station.printer")
            .and_then(|pt| read_printer(d, pt, sim)),
        None => {
            d.at(&t.span, "missing table [station.printer]");
            None
        }
    };
    let dots = printer.as_ref().map(|p| p.dots);
    let power = read_instrument(d, t, "power", sim, read_power);
    let chamber = read_instrument(d, t, "chamber", sim, read_chamber);
    let supply = read_instrument(d, t, "supply", sim, read_supply);
    let scanner = match t.sub(d, "scanner") {
        Some(st) => read_scanner(d, st, sim),
        None if sim => Some(ScannerSpec::Sim {
            dpi: 600.0,
            skew_deg: 1.0,
        }),
        None => {
            d.at(
                &t.span,
                "missing table [station.scanner]: a real station needs a scanner (sane or hotfolder)",
            );
            None
        }
    };
    let sim_spec = match t.get("sim") {
        Some((key, v)) => {
            if sim {
                d.table(v, "station.sim")
                    .and_then(|st| read_sim(d, st, dots))
            } else {
                d.at(
                    &key,
                    "station.sim: only a station of kind \"sim\" has simulation parameters",
                );
                None
            }
        }
        None if sim => Some(SimSpec::default()),
        None => None,
    };

    let name = name.filter(|_| name_ok)?;
    let model = model.filter(|_| model_ok)?;
    let station = Station {
        name: name.v.clone(),
        kind,
        model: model.v,
        nominal_density: nominal_density.map(|x| x.v),
        printer: printer?,
        power: power?,
        chamber: chamber?,
        scanner: scanner?,
        supply: supply?,
        sim: if sim { Some(sim_spec?) } else { None },
    };
    Some((station, name))
}

/// A model name is a directory under `golden/`: `[A-Za-z0-9._-]+`, not starting with '.'.
fn check_model(d: &mut Diag<'_>, m: &At<String>) -> bool {
    let ok = !m.v.is_empty()
        && m.v.len() <= 64
        && !m.v.starts_with('.')
        && m.v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        d.at(
            &m.span,
            format!(
                "station.model: \"{}\" cannot name a golden-record folder: use 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-', not starting with '.'",
                m.v
            ),
        );
    }
    ok
}

/// Reads an optional instrument table. Absent: `sim` on sim stations, `none` on real ones.
fn read_instrument<'a, 'i, T>(
    d: &mut Diag<'_>,
    t: &mut Tab<'a, 'i>,
    key: &'static str,
    sim: bool,
    read: impl FnOnce(&mut Diag<'_>, Tab<'a, 'i>, bool) -> Option<T>,
) -> Option<T>
where
    T: Absent,
{
    match t.sub(d, key) {
        Some(it) => read(d, it, sim),
        None if t.has(key) => None,
        None => Some(T::absent(sim)),
    }
}

trait Absent {
    fn absent(sim: bool) -> Self;
}

impl Absent for PowerSpec {
    fn absent(sim: bool) -> Self {
        if sim {
            PowerSpec::Sim {
                nominal_voltage: SIM_NOMINAL_VOLTAGE,
            }
        } else {
            PowerSpec::None
        }
    }
}

impl Absent for ChamberSpec {
    fn absent(sim: bool) -> Self {
        if sim {
            ChamberSpec::Sim
        } else {
            ChamberSpec::None
        }
    }
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

/// Reads the `kind` of an instrument table and checks it against the kinds allowed for
/// the station. `None` (reported) when missing or not allowed.
fn instrument_kind(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    sim: bool,
    real_kinds: &[&str],
    sim_kinds: &[&str],
) -> Option<String> {
    let kind = t.req(d, "kind", Diag::string)?;
    let what = t.what("kind");
    let allowed = if sim { sim_kinds } else { real_kinds };
    if allowed.contains(&kind.v.as_str()) {
        return Some(kind.v);
    }
    let list = allowed
        .iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let msg = if sim && real_kinds.contains(&kind.v.as_str()) {
        format!(
            "{what}: a sim station's instruments are simulated: \"{}\" is for real stations (use {list})",
            kind.v
        )
    } else if !sim && sim_kinds.contains(&kind.v.as_str()) {
        format!(
            "{what}: \"{}\" is only for stations of kind \"sim\" (use {list})",
            kind.v
        )
    } else {
        format!(
            "{what}: unknown kind \"{}\" (expected one of {list})",
            kind.v
        )
    };
    d.at(&kind.span, msg);
    None
}

fn read_printer(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<PrinterSpec> {
    let dots = t
        .req(d, "dots", Diag::uint)
        .and_then(|x| match check_dots(x.v) {
            Ok(()) => Some(x.v),
            Err(e) => {
                d.at(&x.span, format!("station.printer.dots: {e}"));
                None
            }
        });
    let dpi = positive(d, &mut t, "dpi", crate::DOT_DPI, 1200.0);
    let link = match t.get("link") {
        Some((_, v)) => d
            .table(v, "station.printer.link")
            .and_then(|lt| read_printer_link(d, lt, sim)),
        None => {
            t.req(d, "link", Diag::string);
            None
        }
    };
    let firmware = t.opt(d, "firmware", Diag::string);
    if let Some(fw) = &firmware {
        if !sim {
            d.at(
                &fw.key,
                "station.printer.firmware: only a simulated printer is told its firmware (a real one reports its own)",
            );
        }
    }
    let ack_timeout_s = positive(d, &mut t, "ack_timeout_s", 30.0, 86_400.0);
    let boot_timeout_s = positive(d, &mut t, "boot_timeout_s", 30.0, 86_400.0);
    t.finish(d);
    Some(PrinterSpec {
        dots: dots?,
        dpi,
        link: link?,
        firmware: if sim {
            Some(firmware.map_or_else(|| "SIM 1.0".to_string(), |f| f.v))
        } else {
            None
        },
        ack_timeout_s,
        boot_timeout_s,
    })
}

fn read_printer_link(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<PrinterLink> {
    if sim {
        let kind = t.req(d, "kind", Diag::string)?;
        let link = match kind.v.as_str() {
            "pty" => Some(PrinterLink::SimPty),
            "tcp" => Some(PrinterLink::SimTcp),
            other => {
                d.at(
                    &kind.span,
                    format!(
                        "station.printer.link.kind: a simulated printer is reached over \"pty\" or \"tcp\" (the rig picks the address), not \"{other}\""
                    ),
                );
                t.silence();
                None
            }
        };
        t.finish(d);
        link
    } else {
        read_endpoint(d, t, &["serial", "tcp", "device"], Some(PRINTER_TCP_PORT))
            .map(PrinterLink::Real)
    }
}

/// Reads a `{ kind = "tcp" | "serial" | "device", … }` table.
fn read_endpoint(
    d: &mut Diag<'_>,
    mut t: Tab<'_, '_>,
    allowed: &[&str],
    tcp_port: Option<u16>,
) -> Option<Endpoint> {
    let kind = t.req(d, "kind", Diag::string)?;
    if !allowed.contains(&kind.v.as_str()) {
        let hint = if kind.v == "pty" {
            " (\"pty\" is for simulated printers)"
        } else {
            ""
        };
        d.at(
            &kind.span,
            format!(
                "{}: unknown kind \"{}\"{hint} (expected one of: {})",
                t.what("kind"),
                kind.v,
                allowed.join(", ")
            ),
        );
        t.silence();
        return None;
    }
    let ep = (|| match kind.v.as_str() {
        "tcp" => {
            let host = nonempty(d, &mut t, "host", true);
            let port = t.opt(d, "port", Diag::uint).and_then(|p| {
                if (1..=65535).contains(&p.v) {
                    u16::try_from(p.v).ok()
                } else {
                    d.at(
                        &p.span,
                        format!("{}: {} is not a TCP port (1..=65535)", t.what("port"), p.v),
                    );
                    None
                }
            });
            let port = match (port, tcp_port, t.has("port")) {
                (Some(p), _, _) => Some(p),
                (None, Some(default), false) => Some(default),
                (None, None, false) => {
                    t.req(d, "port", Diag::uint);
                    None
                }
                (None, _, true) => None,
            };
            Some(Endpoint::Tcp {
                host: host?,
                port: port?,
            })
        }
        "serial" => {
            let path = nonempty(d, &mut t, "path", true);
            let baud = read_baud(d, &mut t, true);
            let flow = t.opt(d, "flow", Diag::string).and_then(|f| {
                match f.v.as_str() {
                    "none" => Some(Flow::None),
                    "rtscts" => Some(Flow::Rtscts),
                    "xonxoff" => Some(Flow::Xonxoff),
                    other => {
                        d.at(
                            &f.span,
                            format!(
                                "{}: unknown flow control \"{other}\" (expected \"rtscts\", \"xonxoff\" or \"none\")",
                                t.what("flow")
                            ),
                        );
                        None
                    }
                }
            });
            let flow = match flow {
                Some(f) => f,
                None if t.has("flow") => return None,
                None => Flow::None,
            };
            Some(Endpoint::Serial {
                path: PathBuf::from(path?),
                baud: baud?,
                flow,
            })
        }
        _ => {
            let path = nonempty(d, &mut t, "path", true);
            Some(Endpoint::Device {
                path: PathBuf::from(path?),
            })
        }
    })();
    t.finish(d);
    ep
}

/// A baud rate; `None` when absent (reported if `required`) or out of range (reported).
fn read_baud(d: &mut Diag<'_>, t: &mut Tab<'_, '_>, required: bool) -> Option<u32> {
    let baud = if required {
        t.req(d, "baud", Diag::uint)
    } else {
        t.opt(d, "baud", Diag::uint)
    }?;
    if (50..=4_000_000).contains(&baud.v) {
        return Some(baud.v);
    }
    d.at(
        &baud.span,
        format!(
            "{}: {} baud is out of range (50..=4000000)",
            t.what("baud"),
            baud.v
        ),
    );
    None
}

/// A string that must not be empty; `None` (reported) when missing, bad or empty.
fn nonempty(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    key: &'static str,
    required: bool,
) -> Option<String> {
    let s = if required {
        t.req(d, key, Diag::string)
    } else {
        t.opt(d, key, Diag::string)
    }?;
    if s.v.trim().is_empty() {
        d.at(&s.span, format!("{}: must not be empty", t.what(key)));
        return None;
    }
    Some(s.v)
}

/// An optional number in `(0, max]` with a default.
fn positive(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    key: &'static str,
    default: f64,
    max: f64,
) -> f64 {
    match t.opt(d, key, Diag::float) {
        Some(x) => {
            check_range(d, &x, &t.what(key), Some((0.0, true)), Some((max, false)));
            x.v
        }
        None => default,
    }
}

/// An optional number in `[lo, hi]` with a default.
fn bounded(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    key: &'static str,
    default: f64,
    lo: f64,
    hi: f64,
) -> f64 {
    match t.opt(d, key, Diag::float) {
        Some(x) => {
            check_range(d, &x, &t.what(key), Some((lo, false)), Some((hi, false)));
            x.v
        }
        None => default,
    }
}

/// An argv command template: a non-empty array of strings whose `{placeholders}` are all
/// in `allowed` and include every one of `needs`.
fn command(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    key: &'static str,
    required: bool,
    allowed: &[&str],
    needs: &[&str],
) -> Option<Vec<String>> {
    let what = t.what(key);
    let args = if required {
        t.req(d, key, Diag::strings)
    } else {
        t.opt(d, key, Diag::strings)
    }?;
    check_template(
        d,
        &args.span,
        &what,
        args.v.iter().map(|a| a.v.as_str()),
        allowed,
        needs,
    )?;
    if args.v.first().is_none_or(|a| a.v.trim().is_empty()) {
        d.at(
            &args.span,
            format!("{what}: needs a program to run, e.g. [\"psuctl\", \"on\"]"),
        );
        return None;
    }
    Some(args.v.into_iter().map(|a| a.v).collect())
}

fn check_template<'s>(
    d: &mut Diag<'_>,
    span: &super::read::Span,
    what: &str,
    parts: impl Iterator<Item = &'s str> + Clone,
    allowed: &[&str],
    needs: &[&str],
) -> Option<()> {
    let mut ok = true;
    for p in parts.clone().flat_map(placeholders) {
        if !allowed.contains(&p) {
            let known = if allowed.is_empty() {
                "it takes none".to_string()
            } else {
                format!(
                    "known: {}",
                    allowed
                        .iter()
                        .map(|a| format!("{{{a}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            d.at(
                span,
                format!("{what}: unknown placeholder {{{p}}} ({known})"),
            );
            ok = false;
        }
    }
    for n in needs {
        if !parts.clone().flat_map(placeholders).any(|p| p == *n) {
            d.at(span, format!("{what}: must contain {{{n}}}"));
            ok = false;
        }
    }
    ok.then_some(())
}

fn read_power(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<PowerSpec> {
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
            Some((VOLTAGE_RANGE.1, false)),
        )
        .then_some(v.v)
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
                nominal_voltage: nominal?,
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
                nominal_voltage: nominal,
                timeout_s,
            })
        }
        _ => {
            let nominal = volts(d, &mut t, false);
            if nominal.is_none() && t.has("nominal_voltage") {
                None
            } else {
                Some(PowerSpec::Sim {
                    nominal_voltage: nominal.unwrap_or(SIM_NOMINAL_VOLTAGE),
                })
            }
        }
    })();
    t.finish(d);
    spec
}

/// A SCPI instrument's `address`: TCP (port 5025 by default) or serial.
fn scpi_address(d: &mut Diag<'_>, t: &mut Tab<'_, '_>) -> Option<Endpoint> {
    match t.get("address") {
        Some((_, v)) => {
            let what = t.what("address");
            d.table(v, &what)
                .and_then(|at| read_endpoint(d, at, &["tcp", "serial"], Some(SCPI_TCP_PORT)))
        }
        None => {
            t.req(d, "address", Diag::string);
            None
        }
    }
}

fn read_chamber(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<ChamberSpec> {
    let Some(kind) = instrument_kind(d, &mut t, sim, &["none", "scpi", "exec"], &["none", "sim"])
    else {
        t.silence();
        return None;
    };
    let spec = (|| match kind.as_str() {
        "none" => Some(ChamberSpec::None),
        "scpi" => {
            let address = scpi_address(d, &mut t);
            let set_command =
                template(d, &mut t, "set_command", "TEMP:SPO {celsius}", &["celsius"]);
            let read_command = template(d, &mut t, "read_command", "TEMP?", &[]);
            let ambient = bounded(d, &mut t, "ambient", 23.0, -100.0, 200.0);
            Some(ChamberSpec::Scpi {
                address: address?,
                set_command: set_command?,
                read_command: read_command?,
                ambient,
            })
        }
        "exec" => {
            let set = command(d, &mut t, "set", true, &["celsius"], &["celsius"]);
            let read = command(d, &mut t, "read", true, &[], &[]);
            let ambient = bounded(d, &mut t, "ambient", 23.0, -100.0, 200.0);
            let timeout_s = positive(d, &mut t, "timeout_s", 10.0, 86_400.0);
            Some(ChamberSpec::Exec {
                set: set?,
                read: read?,
                ambient,
                timeout_s,
            })
        }
        _ => Some(ChamberSpec::Sim),
    })();
    t.finish(d);
    spec
}

/// A SCPI command template with a default; its placeholders must be exactly `needs`.
fn template(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    key: &'static str,
    default: &str,
    needs: &[&str],
) -> Option<String> {
    match t.opt(d, key, Diag::string) {
        Some(s) => {
            let what = t.what(key);
            check_template(
                d,
                &s.span,
                &what,
                std::iter::once(s.v.as_str()),
                needs,
                needs,
            )?;
            if s.v.trim().is_empty() {
                d.at(&s.span, format!("{what}: must not be empty"));
                return None;
            }
            Some(s.v)
        }
        None if t.has(key) => None,
        None => Some(default.to_string()),
    }
}

fn read_scanner(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<ScannerSpec> {
    let Some(kind) = instrument_kind(d, &mut t, sim, &["sane", "hotfolder"], &["sim"]) else {
        t.silence();
        return None;
    };
    let spec = (|| match kind.as_str() {
        "sane" => {
            let device = nonempty(d, &mut t, "device", true);
            let resolution = match t.opt(d, "resolution", Diag::uint) {
                Some(r) if (150..=4800).contains(&r.v) => Some(r.v),
                Some(r) => {
                    d.at(
                        &r.span,
                        format!(
                            "station.scanner.resolution: {} dpi is out of range (150..=4800)",
                            r.v
                        ),
                    );
                    None
                }
                None if t.has("resolution") => None,
                None => Some(600),
            };
            let mode = match t.opt(d, "mode", Diag::string) {
                Some(m) if !m.v.trim().is_empty() => Some(m.v),
                Some(m) => {
                    d.at(&m.span, "station.scanner.mode: must not be empty");
                    None
                }
                None if t.has("mode") => None,
                None => Some("Gray".to_string()),
            };
            let format = match t.opt(d, "format", Diag::string) {
                Some(f) if ["png", "tiff", "pnm", "jpeg"].contains(&f.v.as_str()) => Some(f.v),
                Some(f) => {
                    d.at(
                        &f.span,
                        format!(
                            "station.scanner.format: \"{}\" cannot be read back (expected \"png\", \"tiff\", \"pnm\" or \"jpeg\")",
                            f.v
                        ),
                    );
                    None
                }
                None if t.has("format") => None,
                None => Some("png".to_string()),
            };
            let scanimage = match nonempty(d, &mut t, "scanimage", false) {
                Some(s) => Some(s),
                None if t.has("scanimage") => None,
                None => Some("scanimage".to_string()),
            };
            let timeout_s = positive(d, &mut t, "timeout_s", 120.0, 86_400.0);
            Some(ScannerSpec::Sane {
                device: device?,
                resolution: resolution?,
                mode: mode?,
                format: format?,
                scanimage: scanimage?,
                timeout_s,
            })
        }
        "hotfolder" => {
            let dir = nonempty(d, &mut t, "dir", true);
            let settle_s = bounded(d, &mut t, "settle_s", 2.0, 0.0, 3600.0);
            let timeout_s = positive(d, &mut t, "timeout_s", 300.0, 86_400.0);
            Some(ScannerSpec::Hotfolder {
                dir: PathBuf::from(dir?),
                settle_s,
                timeout_s,
            })
        }
        _ => {
            let dpi = bounded(d, &mut t, "dpi", 600.0, 150.0, 1200.0);
            let skew_deg = bounded(d, &mut t, "skew_deg", 1.0, -3.0, 3.0);
            Some(ScannerSpec::Sim { dpi, skew_deg })
        }
    })();
    t.finish(d);
    spec
}

fn read_supply(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<SupplySpec> {
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

fn read_sim(d: &mut Diag<'_>, mut t: Tab<'_, '_>, dots: Option<u32>) -> Option<SimSpec> {
    let def = SimSpec::default();
    let mut ok = true;
    let mut faults = Vec::new();
    if let Some(list) = t.opt(d, "faults", Diag::strings) {
        for f in list.v {
            ok &= check_fault(d, &f, "station.sim.faults", dots);
            faults.push(f.v);
        }
    } else {
        ok &= !t.has("faults");
    }
    let time_scale = positive(d, &mut t, "time_scale", def.time_scale, 1.0e6);
    let boot_s = bounded(d, &mut t, "boot_s", def.boot_s, 0.0, 3600.0);
    let ambient_c = bounded(
        d,
        &mut t,
        "ambient_c",
        def.ambient_c,
        TEMPERATURE_RANGE.0,
        TEMPERATURE_RANGE.1,
    );
    let chamber_tau_s = bounded(d, &mut t, "chamber_tau_s", def.chamber_tau_s, 0.0, 86_400.0);
    let ink = bounded(d, &mut t, "ink", def.ink, 0.0, 1.0);
    let seed = match t.opt(d, "seed", Diag::uint64) {
        Some(s) => s.v,
        None => {
            ok &= !t.has("seed");
            def.seed
        }
    };
    let baud = read_baud(d, &mut t, false);
    ok &= baud.is_some() || !t.has("baud");
    let mut latent = Vec::new();
    if let Some((_, v)) = t.get("latent") {
        for item in array_of_tables(d, v, "station.sim.latent") {
            let Some(mut lt) = d.table(item, "station.sim.latent") else {
                ok = false;
                continue;
            };
            match read_latent(d, &mut lt, dots) {
                Some(l) => latent.push(l),
                None => ok = false,
            }
            lt.finish(d);
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
        latent,
    })
}

fn read_latent(d: &mut Diag<'_>, t: &mut Tab<'_, '_>, dots: Option<u32>) -> Option<LatentFault> {
    let fault = t.req(d, "fault", Diag::string);
    let fault_ok = fault
        .as_ref()
        .is_some_and(|f| check_fault(d, f, "station.sim.latent.fault", dots));
    let mut trigger = |d: &mut Diag<'_>, key: &'static str, lo: f64, hi: f64| {
        let x = t.opt(d, key, Diag::float)?;
        let what = t.what(key);
        check_range(d, &x, &what, Some((lo, false)), Some((hi, false))).then_some(x.v)
    };
    let below_voltage = trigger(d, "below_voltage", VOLTAGE_RANGE.0, VOLTAGE_RANGE.1);
    let above_temperature = trigger(
        d,
        "above_temperature",
        TEMPERATURE_RANGE.0,
        TEMPERATURE_RANGE.1,
    );
    let below_temperature = trigger(
        d,
        "below_temperature",
        TEMPERATURE_RANGE.0,
        TEMPERATURE_RANGE.1,
    );
    let below_ink = trigger(d, "below_ink", 0.0, 1.0);
    let triggers = [
        "below_voltage",
        "above_temperature",
        "below_temperature",
        "below_ink",
    ];
    if !triggers.iter().any(|k| t.has(k)) {
        d.at(
            &t.span,
            "station.sim.latent: needs a trigger: below_voltage, above_temperature, below_temperature or below_ink",
        );
        return None;
    }
    let all_read = [
        below_voltage,
        above_temperature,
        below_temperature,
        below_ink,
    ]
    .iter()
    .zip(triggers)
    .all(|(v, k)| v.is_some() || !t.has(k));
    (fault_ok && all_read).then_some(())?;
    Some(LatentFault {
        fault: fault?.v,
        below_voltage,
        above_temperature,
        below_temperature,
        below_ink,
    })
}

/// Checks one `KIND=VALUE` fault: it parses, fits the head, and does not fight the
/// simulated instruments (voltage, temperature and ink come from the station's power,
/// chamber and supply).
fn check_fault(d: &mut Diag<'_>, f: &At<String>, what: &str, dots: Option<u32>) -> bool {
    let mut faults = Faults::default();
    if let Err(e) = faults.apply(&f.v) {
        d.at(&f.span, format!("{what}: {e}"));
        return false;
    }
    let owned_by = if faults.voltage.is_some() {
        Some("the simulated power supply (use a voltage condition in the plan)")
    } else if faults.temperature.is_some() {
        Some("the simulated chamber (use station.sim.ambient_c or a chamber condition)")
    } else if faults.ink.is_some() {
        Some("the simulated supply (use station.sim.ink or an ink condition)")
    } else {
        None
    };
    if let Some(owner) = owned_by {
        d.at(
            &f.span,
            format!("{what}: \"{}\" is set by {owner}, not as a fault", f.v),
        );
        return false;
    }
    if let Some(dots) = dots {
        let outside = faults
            .dead_elements
            .iter()
            .find(|&&c| c >= dots)
            .map(|c| format!("dot {c}"));
        let block = faults
            .dead_block
            .filter(|&(s, l)| u64::from(s) + u64::from(l) > u64::from(dots))
            .map(|(s, l)| format!("dots {s}..{}", u64::from(s) + u64::from(l)));
        if let Some(where_) = outside.or(block) {
            d.at(
                &f.span,
                format!(
                    "{what}: \"{}\": {where_} lies outside the {dots}-dot head",
                    f.v
                ),
            );
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StationFile, PlanErrors> {
        parse_stations(text, Path::new("st.toml"))
    }

    #[test]
    fn a_minimal_sim_station_gets_simulated_instruments() {
        let sf = parse(
            "[[station]]\nname = \"s\"\nkind = \"sim\"\nmodel = \"m\"\n\
             [station.printer]\ndots = 384\nlink = { kind = \"tcp\" }\n",
        )
        .expect("valid");
        let s = &sf.stations[0];
        assert_eq!(s.printer.dots, 384);
        assert_eq!(s.printer.link, PrinterLink::SimTcp);
        assert_eq!(s.printer.dpi, crate::DOT_DPI);
        assert_eq!(
            s.power,
            PowerSpec::Sim {
                nominal_voltage: 24.0
            }
        );
        assert_eq!(s.chamber, ChamberSpec::Sim);
        assert_eq!(s.supply, SupplySpec::Sim);
        assert_eq!(
            s.scanner,
            ScannerSpec::Sim {
                dpi: 600.0,
                skew_deg: 1.0
            }
        );
        assert_eq!(s.sim, Some(SimSpec::default()));
        assert!(s.can_power_cycle() && s.can_set_voltage() && s.has_chamber() && s.has_supply());
        assert_eq!(sf.sha256.len(), 64);
    }

    #[test]
    fn a_real_station_reads_every_instrument() {
        let sf = parse(
            r#"
[[station]]
name = "lab"
kind = "real"
model = "tm-x"
[station.printer]
dots = 576
link = { kind = "tcp", host = "10.0.0.5" }
[station.power]
kind = "exec"
on = ["psu", "on"]
off = ["psu", "off"]
set_voltage = ["psu", "set", "{volts}"]
nominal_voltage = 24
[station.chamber]
kind = "scpi"
address = { kind = "serial", path = "/dev/ttyS0", baud = 9600 }
[station.scanner]
kind = "hotfolder"
dir = "/srv/scans"
[station.supply]
kind = "exec"
set = ["inkctl", "{what}", "{level}"]
"#,
        )
        .expect("valid");
        let s = &sf.stations[0];
        assert_eq!(
            s.printer.link,
            PrinterLink::Real(Endpoint::Tcp {
                host: "10.0.0.5".into(),
                port: 9100
            })
        );
        assert!(s.can_set_voltage());
        assert_eq!(s.power.nominal_voltage(), Some(24.0));
        match &s.chamber {
            ChamberSpec::Scpi {
                address,
                set_command,
                ..
            } => {
                assert_eq!(
                    address,
                    &Endpoint::Serial {
                        path: "/dev/ttyS0".into(),
                        baud: 9600,
                        flow: Flow::None
                    }
                );
                assert_eq!(set_command, "TEMP:SPO {celsius}");
            }
            other => panic!("chamber {other:?}"),
        }
        assert!(s.sim.is_none());
        assert_eq!(s.printer.firmware, None);
    }

    #[test]
    fn instrument_kinds_must_match_the_station_kind() {
        let errs = parse(
            "[[station]]\nname = \"s\"\nkind = \"real\"\nmodel = \"m\"\n\
             [station.printer]\ndots = 384\nlink = { kind = \"pty\" }\n\
             [station.power]\nkind = \"sim\"\n",
        )
        .expect_err("invalid");
        let text = errs.to_string();
        assert!(
            text.contains("st.toml:7:17: station.printer.link.kind: unknown kind \"pty\""),
            "{text}"
        );
        assert!(
            text.contains(
                "st.toml:9:8: station.power.kind: \"sim\" is only for stations of kind \"sim\""
            ),
            "{text}"
        );
        assert!(
            text.contains("st.toml:1:1: missing table [station.scanner]"),
            "{text}"
        );
    }

    #[test]
    fn templates_need_their_placeholders() {
        let errs = parse(
            "[[station]]\nname = \"s\"\nkind = \"real\"\nmodel = \"m\"\n\
             [station.printer]\ndots = 384\nlink = { kind = \"device\", path = \"/dev/usb/lp0\" }\n\
             [station.power]\nkind = \"exec\"\non = [\"a\"]\noff = [\"b\"]\nset_voltage = [\"psu\", \"{volt}\"]\nnominal_voltage = 12\n\
             [station.scanner]\nkind = \"sane\"\ndevice = \"x\"\n",
        )
        .expect_err("invalid");
        let text = errs.to_string();
        assert!(text.contains("unknown placeholder {volt}"), "{text}");
        assert!(text.contains("must contain {volts}"), "{text}");
    }

    #[test]
    fn latent_faults_need_a_trigger_and_fit_the_head() {
        let errs = parse(
            "[[station]]\nname = \"s\"\nkind = \"sim\"\nmodel = \"m\"\n\
             [station.printer]\ndots = 384\nlink = { kind = \"pty\" }\n\
             [station.sim]\nfaults = [\"dead=400\", \"voltage=12\"]\n\
             [[station.sim.latent]]\nfault = \"half=left\"\n",
        )
        .expect_err("invalid");
        let text = errs.to_string();
        assert!(
            text.contains("dot 400 lies outside the 384-dot head"),
            "{text}"
        );
        assert!(text.contains("set by the simulated power supply"), "{text}");
        assert!(
            text.contains("st.toml:10:1: station.sim.latent: needs a trigger"),
            "{text}"
        );
    }

    #[test]
    fn latent_faults_trigger_on_any_threshold() {
        let l = LatentFault {
            fault: "block=1:2".into(),
            below_voltage: Some(20.0),
            above_temperature: None,
            below_temperature: Some(0.0),
            below_ink: None,
        };
        assert!(!l.active(24.0, 23.0, 1.0));
        assert!(l.active(19.5, 23.0, 1.0));
        assert!(l.active(24.0, -5.0, 1.0));
    }
}

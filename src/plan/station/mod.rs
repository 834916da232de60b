//! Station files: what hardware a station has and how to reach it, read from TOML into
//! validated, typed structs.
//!
//! Owns the station types ([`StationFile`], [`Station`]), the station table itself and
//! the dispatch to one reader per instrument kind, each in its own file beside this one
//! (`printer`, `power`, `chamber`, `scanner`, `supply`, and `sim` for what a simulated
//! station declares); `fields` holds the readers they share. It must not open links,
//! start simulators or talk to instruments, and it knows nothing of the simulator: a sim
//! station's parameters are kept as declared, with their places, for the simulator to
//! resolve.

mod chamber;
mod fields;
mod firmware;
mod power;
mod printer;
mod scanner;
mod sim;
mod supply;

pub use chamber::{ChamberSpec, SCPI_READ_COMMAND, SCPI_SET_COMMAND};
pub use fields::SCPI_TCP_PORT;
pub use firmware::FirmwareInstallSpec;
pub use power::PowerSpec;
pub use printer::{PrinterLink, PrinterSpec, PRINTER_TCP_PORT};
pub use scanner::ScannerSpec;
pub use sim::{LatentSpec, SimSpec};
pub use supply::SupplySpec;

pub use super::location::Declared;
use super::read::{check_name, check_range, At, Diag, Tab, Val};
use super::{PlanError, PlanErrors};
use crate::util::sha256_hex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
    /// What a sim station's `[station.sim]` table declares: `Some` exactly for sim
    /// stations. The simulator resolves it (defaults, limits, faults).
    pub sim: Option<SimSpec>,
    /// What the instruments reach and how fast the station's clock runs, as far as a plan
    /// needs to know. Empty as read; the simulator fills it in for a sim station.
    #[serde(default)]
    pub envelope: Envelope,
}

/// What a station's instruments can reach and how fast its clock runs. A station file
/// does not declare it: whoever resolves a station fills it in (for a simulated station,
/// the simulator's own limits). A real station is not capped by it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Voltages the supply sets, V (`None`: not capped).
    pub voltage: Option<(f64, f64)>,
    /// Set points the chamber reaches, °C (`None`: not capped).
    pub temperature: Option<(f64, f64)>,
    /// Station seconds per wall-clock second (1 on real hardware).
    pub time_scale: f64,
}

impl Default for Envelope {
    fn default() -> Self {
        Envelope {
            voltage: None,
            temperature: None,
            time_scale: 1.0,
        }
    }
}

impl Station {
    pub fn is_sim(&self) -> bool {
        self.kind == StationKind::Sim
    }

    /// Whether the printer's power can be switched off and on.
    pub fn can_power_cycle(&self) -> bool {
        !matches!(self.power, PowerSpec::None)
    }

    /// Whether the supply voltage can be set.
    pub fn can_set_voltage(&self) -> bool {
        self.power.can_set_voltage()
    }

    pub fn has_chamber(&self) -> bool {
        !matches!(self.chamber, ChamberSpec::None)
    }

    pub fn has_supply(&self) -> bool {
        !matches!(self.supply, SupplySpec::None)
    }
}

/// What a sim station declares for its simulation, as far as it could be read: handed
/// to a [`SimCheck`] while the file is read, so that the simulator's findings come with
/// the file's other errors, all at once.
#[derive(Debug, Clone, Copy)]
pub struct SimDeclaration<'a> {
    /// The head width, when it was valid.
    pub dots: Option<u32>,
    pub sim: &'a SimSpec,
    pub power: Option<&'a PowerSpec>,
    pub scanner: Option<&'a ScannerSpec>,
    pub firmware: Option<&'a str>,
}

/// The simulator's rules for what a sim station declares: the problems it finds, each
/// at its place.
pub type SimCheck<'c> = &'c dyn Fn(&SimDeclaration<'_>) -> Vec<PlanError>;

/// Reads and validates a station file's text; `path` is used in errors and kept. A sim
/// station's parameters are kept as declared, unchecked: see [`parse_stations_with`].
pub fn parse_stations(text: &str, path: &Path) -> Result<StationFile, PlanErrors> {
    parse_stations_with(text, path, &|_| Vec::new())
}

/// [`parse_stations`], with `check` run on what each sim station declares.
pub fn parse_stations_with(
    text: &str,
    path: &Path,
    check: SimCheck<'_>,
) -> Result<StationFile, PlanErrors> {
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
                let read = read_station(&mut d, &mut t, check);
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

fn read_station(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    check: SimCheck<'_>,
) -> Option<(Station, At<String>)> {
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
            .and_then(|pt| printer::read_printer(d, pt, sim)),
        None => {
            d.at(&t.span, "missing table [station.printer]");
            None
        }
    };
    let power = read_instrument(d, t, "power", sim, power::read_power);
    let chamber = read_instrument(d, t, "chamber", sim, chamber::read_chamber);
    let supply = read_instrument(d, t, "supply", sim, supply::read_supply);
    let scanner = match t.sub(d, "scanner") {
        Some(st) => scanner::read_scanner(d, st, sim),
        None if sim => Some(ScannerSpec::Sim {
            dpi: None,
            skew_deg: None,
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
                    .and_then(|st| sim::read_sim(d, st))
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

    if let Some(sim) = &sim_spec {
        let declaration = SimDeclaration {
            dots: printer.as_ref().map(|p| p.dots),
            sim,
            power: power.as_ref(),
            scanner: scanner.as_ref(),
            firmware: printer.as_ref().and_then(|p| p.firmware.as_deref()),
        };
        for e in check(&declaration) {
            d.push(e);
        }
    }
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
        envelope: Envelope::default(),
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

pub(super) trait Absent {
    fn absent(sim: bool) -> Self;
}

/// Reads the `kind` of an instrument table and checks it against the kinds allowed for
/// the station. `None` (reported) when missing or not allowed.
pub(super) fn instrument_kind(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{Endpoint, Flow};

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
                nominal_voltage: None
            }
        );
        assert_eq!(s.chamber, ChamberSpec::Sim);
        assert_eq!(s.supply, SupplySpec::Sim);
        assert_eq!(
            s.scanner,
            ScannerSpec::Sim {
                dpi: None,
                skew_deg: None
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
    fn sim_parameters_are_kept_as_declared_with_their_places() {
        let sf = parse(
            "[[station]]\nname = \"s\"\nkind = \"sim\"\nmodel = \"m\"\n\
             [station.printer]\ndots = 384\nlink = { kind = \"pty\" }\n\
             [station.sim]\nfaults = [\"dead=400\"]\nambient_c = 150\n\
             [[station.sim.latent]]\nfault = \"half=left\"\n",
        )
        .expect("the simulator, not the file reader, judges these values");
        let sim = sf.stations[0].sim.as_ref().expect("sim table");
        assert_eq!(sim.faults[0].value, "dead=400");
        assert_eq!((sim.faults[0].at.line, sim.faults[0].at.column), (9, 11));
        let ambient = sim.ambient_c.as_ref().expect("ambient");
        assert_eq!((ambient.value, ambient.at.line), (150.0, 10));
        assert_eq!(sim.latent[0].at.line, 11);
        assert!(sim.latent[0].below_voltage.is_none());
    }

    #[test]
    fn real_supplies_are_not_held_to_a_simulators_range() {
        let sf = parse(
            "[[station]]\nname = \"s\"\nkind = \"real\"\nmodel = \"m\"\n\
             [station.printer]\ndots = 384\nlink = { kind = \"device\", path = \"/dev/usb/lp0\" }\n\
             [station.power]\nkind = \"scpi\"\naddress = { kind = \"tcp\", host = \"psu\" }\nnominal_voltage = 72\n\
             [station.scanner]\nkind = \"hotfolder\"\ndir = \"/srv/scans\"\n",
        )
        .expect("a 72 V supply is a real supply's business");
        assert_eq!(sf.stations[0].power.nominal_voltage(), Some(72.0));
        assert_eq!(sf.stations[0].envelope, Envelope::default());
    }
}

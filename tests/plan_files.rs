//! Station and plan files: the shipped ones load and expand deterministically; sharding is
//! stable; malformed files are rejected with the line and column of the offending key or
//! value, every error at once. Station files are loaded the one way every command loads
//! them (`run::load_stations`: the file reader, then the simulator for sim stations).

use printrig::defect::DefectKind;
use printrig::pattern::PatternKind;
use printrig::plan::{
    expand, load_plan, shard, CaseSpec, CycleWhen, Plan, PlanErrors, PowerSpec, PrinterLink,
    ScannerSpec, StationFile,
};
use printrig::sim::SimConfig;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_stations(path: &Path) -> Result<StationFile, PlanErrors> {
    printrig::run::load_stations(Some(path))
}

fn shipped_stations(name: &str) -> StationFile {
    let path = root().join("rig/stations").join(name);
    load_stations(&path).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()))
}

fn shipped_plan(name: &str, stations: &StationFile) -> Plan {
    let path = root().join("rig/plans").join(name);
    load_plan(&path, stations).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()))
}

/// Writes `text` to `name` in a fresh temporary directory.
fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("write temp file");
    p
}

/// Asserts that `errs` holds an error at `line:column` of `file` whose message contains
/// `needle`.
fn assert_error_at(errs: &PlanErrors, file: &Path, line: usize, column: usize, needle: &str) {
    let found = errs.iter().any(|e| {
        e.location.as_ref().is_some_and(|l| {
            l.file == file && l.line == line && l.column == column && e.message.contains(needle)
        })
    });
    assert!(
        found,
        "expected an error at {}:{line}:{column} containing {needle:?}; got:\n{errs}",
        file.display()
    );
}

/// Stations for the plan checks: a sim station, a real one whose power is a relay, a real
/// one without any power, chamber or supply control, and a real one with a SCPI supply
/// and chamber.
const STATIONS: &str = r#"[[station]]
name = "sim-a"
kind = "sim"
model = "sim-a"
[station.printer]
dots = 576
link = { kind = "pty" }

[[station]]
name = "bench"
kind = "real"
model = "tm-x"
[station.printer]
dots = 384
link = { kind = "tcp", host = "192.0.2.5" }
[station.power]
kind = "relay"
port = "/dev/ttyUSB1"
on = "A1"
off = "A0"
[station.scanner]
kind = "hotfolder"
dir = "/tmp/scans"

[[station]]
name = "bare"
kind = "real"
model = "tm-x"
[station.printer]
dots = 384
link = { kind = "device", path = "/dev/usb/lp0" }
[station.scanner]
kind = "hotfolder"
dir = "/tmp/scans"

[[station]]
name = "lab"
kind = "real"
model = "tm-x"
[station.printer]
dots = 576
link = { kind = "tcp", host = "192.0.2.5" }
[station.power]
kind = "scpi"
address = { kind = "tcp", host = "192.0.2.6" }
nominal_voltage = 48
[station.chamber]
kind = "scpi"
address = { kind = "tcp", host = "192.0.2.7" }
[station.scanner]
kind = "hotfolder"
dir = "/tmp/scans"
"#;

struct Fixture {
    dir: tempfile::TempDir,
    stations: StationFile,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(&dir, "stations.toml", STATIONS);
        let stations = load_stations(&path).unwrap_or_else(|e| panic!("{e}"));
        Fixture { dir, stations }
    }

    /// Loads a plan that must be rejected; returns its path and errors.
    fn bad_plan(&self, text: &str) -> (PathBuf, PlanErrors) {
        let path = write(&self.dir, "plan.toml", text);
        match load_plan(&path, &self.stations) {
            Ok(p) => panic!("plan accepted: {p:?}"),
            Err(e) => (path, e),
        }
    }

    fn bad_stations(&self, text: &str) -> (PathBuf, PlanErrors) {
        let path = write(&self.dir, "bad-stations.toml", text);
        match load_stations(&path) {
            Ok(s) => panic!("stations accepted: {s:?}"),
            Err(e) => (path, e),
        }
    }
}

// ---------------------------------------------------------------- shipped files

#[test]
fn shipped_station_files_load() {
    let sim = shipped_stations("sim.toml");
    assert_eq!(sim.names(), vec!["sim-80mm", "sim-58mm"]);
    let s80 = sim.get("sim-80mm").expect("sim-80mm");
    assert_eq!((s80.printer.dots, s80.model.as_str()), (576, "sim-80mm"));
    assert_eq!(s80.printer.link, PrinterLink::SimPty);
    let sim80 = SimConfig::from_station(s80)
        .expect("valid")
        .expect("sim parameters");
    assert_eq!(sim80.time_scale, 120.0);
    assert_eq!(s80.envelope.time_scale, 120.0);
    assert_eq!(s80.envelope.voltage, Some((0.0, 60.0)));
    assert_eq!(sim80.latent.len(), 1);
    assert_eq!(sim80.latent[0].fault, "block=256:64");
    assert!(sim80.latent[0].active(17.5, 23.0, 1.0));
    assert!(!sim80.latent[0].active(24.0, 23.0, 1.0));
    let s58 = sim.get("sim-58mm").expect("sim-58mm");
    assert_eq!((s58.printer.dots, s58.model.as_str()), (384, "sim-58mm"));
    assert_eq!(s58.printer.link, PrinterLink::SimTcp);
    assert_eq!(sim.sha256.len(), 64);
    assert!(sim.path.ends_with("rig/stations/sim.toml"));

    let lab = shipped_stations("lab-example.toml");
    let st = &lab.stations[0];
    assert!(!st.is_sim());
    assert!(matches!(
        st.printer.link,
        PrinterLink::Real(printrig::link::Endpoint::Serial {
            baud: 115200,
            flow: printrig::link::Flow::Rtscts,
            ..
        })
    ));
    assert!(matches!(st.power, PowerSpec::Scpi { nominal_voltage, .. } if nominal_voltage == 24.0));
    assert!(matches!(
        st.scanner,
        ScannerSpec::Sane {
            resolution: 600,
            ..
        }
    ));
    assert!(st.can_set_voltage() && st.has_chamber() && st.has_supply());
}

#[test]
fn shipped_plans_validate_against_both_station_files() {
    for stations in ["sim.toml", "lab-example.toml"] {
        let sf = shipped_stations(stations);
        for plan in ["smoke.toml", "nightly.toml", "certify.toml", "gate.toml"] {
            let p = shipped_plan(plan, &sf);
            assert!(!expand(&p, &sf).is_empty(), "{plan} on {stations}");
        }
    }
    let sf = shipped_stations("sim.toml");
    let certify = shipped_plan("certify.toml", &sf);
    assert_eq!(certify.repeats, 3);
    // A model passes certification only when every case passes: marginal fails it.
    assert_eq!(certify.fail_on, printrig::plan::FailOn::Marginal);
    let smoke = shipped_plan("smoke.toml", &sf);
    let cut = smoke.condition("power-cut").expect("power-cut");
    assert_eq!(
        cut.power_cycle.map(|c| c.when),
        Some(CycleWhen::During { at: 0.5 })
    );
    assert_eq!(cut.accept.expected, vec![DefectKind::Truncated]);
    assert_eq!(
        smoke.condition("low-voltage").and_then(|c| c.voltage),
        Some(17.5)
    );
}

#[test]
fn smoke_expands_in_the_documented_order() {
    let sf = shipped_stations("sim.toml");
    let plan = shipped_plan("smoke.toml", &sf);
    let cases = expand(&plan, &sf);
    // Per station: 5 nominal + 1 power cut + 2 low voltage.
    assert_eq!(cases.len(), 2 * (5 + 1 + 2));
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        &ids[..8],
        &[
            "sim-80mm/solid/nominal/r1",
            "sim-80mm/ladder/nominal/r1",
            "sim-80mm/elements/nominal/r1",
            "sim-80mm/dense-sparse/nominal/r1",
            "sim-80mm/receipt/nominal/r1",
            "sim-80mm/solid/power-cut/r1",
            "sim-80mm/dense-sparse/low-voltage/r1",
            "sim-80mm/solid/low-voltage/r1",
        ]
    );
    assert!(ids[8..].iter().all(|id| id.starts_with("sim-58mm/")));
    let c = cases
        .iter()
        .find(|c| c.id == "sim-58mm/solid/power-cut/r1")
        .expect("case");
    assert_eq!(
        (c.station.as_str(), c.model.as_str(), c.dots),
        ("sim-58mm", "sim-58mm", 384)
    );
    assert_eq!(c.pattern, PatternKind::Solid);
    assert_eq!(c.golden, PathBuf::from("golden/sim-58mm/solid.json"));
    assert_eq!(c.expected, vec![DefectKind::Truncated]);
    assert_eq!(c.repeat, 1);
}

#[test]
fn expansion_is_deterministic_and_ids_are_unique_and_stable() {
    let sf = shipped_stations("sim.toml");
    for name in ["smoke.toml", "nightly.toml", "certify.toml"] {
        let plan = shipped_plan(name, &sf);
        let a = expand(&plan, &sf);
        // A second load of the same files gives the same cases, in the same order.
        let sf2 = shipped_stations("sim.toml");
        let b = expand(&shipped_plan(name, &sf2), &sf2);
        assert_eq!(a, b, "{name}");
        let ids: BTreeSet<&str> = a.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), a.len(), "{name}: ids are unique");
        assert!(ids.contains("sim-80mm/solid/nominal/r1"), "{name}");
    }
    let certify = expand(&shipped_plan("certify.toml", &sf), &sf);
    let reps: Vec<&str> = certify
        .iter()
        .filter(|c| c.id.starts_with("sim-80mm/solid/nominal/"))
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        reps,
        vec![
            "sim-80mm/solid/nominal/r1",
            "sim-80mm/solid/nominal/r2",
            "sim-80mm/solid/nominal/r3"
        ]
    );
}

#[test]
fn condition_golden_and_tolerances_reach_the_cases() {
    let f = Fixture::new();
    let path = write(
        &f.dir,
        "plan.toml",
        "[plan]\nname = \"p\"\nstations = [\"sim-a\"]\npatterns = [\"ladder\"]\n\
         [[condition]]\nname = \"cold\"\nchamber = { setpoint = -10.0, soak_s = 60 }\n\
         [condition.accept]\ngolden = \"cold\"\ncolumn_fail = 0.4\nexpected = [\"light\"]\n",
    );
    let plan = load_plan(&path, &f.stations).unwrap_or_else(|e| panic!("{e}"));
    let cases = expand(&plan, &f.stations);
    assert_eq!(cases.len(), 1);
    let c = &cases[0];
    assert_eq!(c.id, "sim-a/ladder/cold/r1");
    assert_eq!(c.golden, PathBuf::from("golden/sim-a/ladder@cold.json"));
    assert_eq!(c.tolerances.column_fail, Some(0.4));
    assert_eq!(c.tolerances.apply(Default::default()).column_fail, 0.4);
    assert_eq!(c.expected, vec![DefectKind::Light]);
    let soak = c.condition.chamber.expect("chamber");
    assert_eq!(
        (soak.setpoint, soak.soak_s, soak.tolerance, soak.timeout_s),
        (-10.0, 60.0, 1.0, 3600.0)
    );
}

// ---------------------------------------------------------------- sharding

fn shard_of(cases: &[CaseSpec], count: u32) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    for i in 1..=count {
        for c in shard(cases.to_vec(), i, count) {
            assert!(
                out.insert(c.id.clone(), i).is_none(),
                "{} in two shards",
                c.id
            );
        }
    }
    out
}

#[test]
fn shards_partition_the_cases() {
    let sf = shipped_stations("sim.toml");
    let cases = expand(&shipped_plan("nightly.toml", &sf), &sf);
    for count in [1, 2, 3, 7] {
        let of = shard_of(&cases, count);
        assert_eq!(
            of.len(),
            cases.len(),
            "union of {count} shards is every case"
        );
        let mut joined: Vec<CaseSpec> = (1..=count)
            .flat_map(|i| shard(cases.clone(), i, count))
            .collect();
        joined.sort_by(|a, b| a.id.cmp(&b.id));
        let mut all = cases.clone();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(joined, all);
        if count > 1 {
            assert!(
                (1..=count).all(|i| of.values().any(|&s| s == i)),
                "no empty shard of {count}"
            );
        }
    }
    // Order within a shard is expansion order.
    let s1 = shard(cases.clone(), 1, 3);
    let pos: Vec<usize> = s1
        .iter()
        .map(|c| cases.iter().position(|x| x.id == c.id).expect("present"))
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn adding_a_condition_moves_no_existing_case_between_shards() {
    let sf = shipped_stations("sim.toml");
    let smoke_path = root().join("rig/plans/smoke.toml");
    let text = std::fs::read_to_string(&smoke_path).expect("smoke.toml");
    let dir = tempfile::tempdir().expect("tempdir");
    let grown = write(
        &dir,
        "grown.toml",
        &format!("{text}\n[[condition]]\nname = \"hot\"\nchamber = {{ setpoint = 45.0, soak_s = 60.0 }}\n"),
    );
    let before = expand(&shipped_plan("smoke.toml", &sf), &sf);
    let after = expand(
        &load_plan(&grown, &sf).unwrap_or_else(|e| panic!("{e}")),
        &sf,
    );
    assert!(after.len() > before.len());
    for count in [2, 3, 5] {
        let a = shard_of(&before, count);
        let b = shard_of(&after, count);
        for (id, s) in &a {
            assert_eq!(b.get(id), Some(s), "{id} moved with {count} shards");
        }
    }
}

// ---------------------------------------------------------------- malformed station files

const SIM_HEAD: &str = "[[station]]\nname = \"s\"\nkind = \"sim\"\nmodel = \"m\"\n";

#[test]
fn gate_margins_are_read_defaulted_and_located_when_wrong() {
    let sf = shipped_stations("sim.toml");
    let gate = shipped_plan("gate.toml", &sf);
    assert_eq!(gate.gate, printrig::plan::GateMargins::default());
    assert_eq!((gate.repeats, gate.retries), (5, 0));
    let f = Fixture::new();
    let path = write(
        &f.dir,
        "plan.toml",
        "[plan]\nname = \"p\"\n[plan.gate]\ndensity = 0.05\nelement = 0.2\n",
    );
    let p = load_plan(&path, &f.stations).expect("plan");
    assert_eq!(p.gate.density, 0.05);
    assert_eq!(p.gate.element, 0.2);
    assert_eq!(p.gate.column, 0.10);
    let (p, e) = f.bad_plan("[plan]\nname = \"p\"\n[plan.gate]\ndensity = 0.0\n");
    assert_error_at(&e, &p, 4, 11, "plan.gate.density");
    let (p, e) = f.bad_plan("[plan]\nname = \"p\"\n[plan.gate]\nconfidence = 0.3\n");
    assert_error_at(&e, &p, 4, 14, "plan.gate.confidence");
    let (p, e) = f.bad_plan("[plan]\nname = \"p\"\n[plan.gate]\nlightness = 0.1\n");
    assert_error_at(&e, &p, 4, 1, "unknown key `lightness`");
}

#[test]
fn unknown_key_is_located() {
    let f = Fixture::new();
    let (p, e) = f.bad_stations(&format!(
        "{SIM_HEAD}colour = \"red\"\n[station.printer]\ndots = 576\nlink = {{ kind = \"pty\" }}\n"
    ));
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(&e, &p, 5, 1, "unknown key `colour`");
}

#[test]
fn wrong_type_is_located_at_the_value() {
    let f = Fixture::new();
    let (p, e) = f.bad_stations(&format!(
        "{SIM_HEAD}[station.printer]\ndots = \"576\"\nlink = {{ kind = \"pty\" }}\n"
    ));
    assert_error_at(
        &e,
        &p,
        6,
        8,
        "expected an integer, found the string \"576\"",
    );
}

#[test]
fn impossible_head_widths_are_located() {
    let f = Fixture::new();
    for dots in ["0", "577"] {
        let (p, e) = f.bad_stations(&format!(
            "{SIM_HEAD}[station.printer]\ndots = {dots}\nlink = {{ kind = \"pty\" }}\n"
        ));
        assert_eq!(e.len(), 1, "{e}");
        assert_error_at(&e, &p, 6, 8, "is not a supported head width");
    }
}

#[test]
fn bad_fault_string_is_located_at_the_element() {
    let f = Fixture::new();
    let (p, e) = f.bad_stations(&format!(
        "{SIM_HEAD}[station.printer]\ndots = 576\nlink = {{ kind = \"pty\" }}\n\
         [station.sim]\nfaults = [\"dead=1\", \"bogus=3\"]\n"
    ));
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(&e, &p, 9, 21, "unknown kind 'bogus'");
}

#[test]
fn sim_parameters_on_a_real_station_are_rejected() {
    let f = Fixture::new();
    let (p, e) = f.bad_stations(
        "[[station]]\nname = \"r\"\nkind = \"real\"\nmodel = \"m\"\n\
         [station.printer]\ndots = 576\nlink = { kind = \"device\", path = \"/dev/usb/lp0\" }\n\
         [station.scanner]\nkind = \"hotfolder\"\ndir = \"/s\"\n\
         [station.sim]\nseed = 3\n",
    );
    assert_error_at(&e, &p, 11, 10, "only a station of kind \"sim\"");
}

#[test]
fn duplicate_station_names_are_rejected() {
    let f = Fixture::new();
    let one = format!("{SIM_HEAD}[station.printer]\ndots = 576\nlink = {{ kind = \"pty\" }}\n");
    let (p, e) = f.bad_stations(&format!("{one}{one}"));
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(
        &e,
        &p,
        9,
        8,
        "duplicate station name \"s\" (first defined on line 2)",
    );
}

// ---------------------------------------------------------------- malformed plan files

#[test]
fn negative_soak_is_located() {
    let f = Fixture::new();
    let (p, e) = f.bad_plan(
        "[plan]\nname = \"p\"\nstations = [\"sim-a\"]\npatterns = [\"solid\"]\n\
         [[condition]]\nname = \"cold\"\nchamber = { setpoint = -10.0, soak_s = -5.0 }\n",
    );
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(
        &e,
        &p,
        7,
        40,
        "condition.chamber.soak_s: -5 is out of range",
    );
}

#[test]
fn unknown_pattern_is_located() {
    let f = Fixture::new();
    let (p, e) = f.bad_plan(
        "[plan]\nname = \"p\"\nstations = [\"sim-a\"]\npatterns = [\"solid\", \"zigzag\"]\n",
    );
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(&e, &p, 4, 22, "unknown pattern \"zigzag\"");
}

#[test]
fn unknown_expected_defect_is_located() {
    let f = Fixture::new();
    let (p, e) = f.bad_plan(
        "[plan]\nname = \"p\"\nstations = [\"sim-a\"]\npatterns = [\"solid\"]\n\
         [[condition]]\nname = \"n\"\n[condition.accept]\nexpected = [\"smudge\"]\n",
    );
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(&e, &p, 8, 13, "unknown defect \"smudge\"");
}

#[test]
fn plan_station_missing_from_the_station_file_is_located() {
    let f = Fixture::new();
    let (p, e) = f.bad_plan(
        "[plan]\nname = \"p\"\nstations = [\"sim-a\", \"ghost\"]\npatterns = [\"solid\"]\n",
    );
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(&e, &p, 3, 22, "station \"ghost\" is not in");
}

#[test]
fn power_cycle_without_power_control_is_located_at_the_condition_key() {
    let f = Fixture::new();
    let (p, e) = f.bad_plan(
        "[plan]\nname = \"p\"\nstations = [\"bare\"]\npatterns = [\"solid\"]\n\
         [[condition]]\nname = \"cut\"\npower_cycle = { when = \"before\", off_s = 1.0 }\n",
    );
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(
        &e,
        &p,
        7,
        1,
        "power_cycle needs power control, but station \"bare\" has none",
    );
}

#[test]
fn voltage_on_a_relay_is_rejected() {
    let f = Fixture::new();
    let bench = f.stations.get("bench").expect("bench");
    assert!(matches!(&bench.power, PowerSpec::Relay { baud: 9600, on, .. } if on == "A1"));
    assert!(bench.can_power_cycle() && !bench.can_set_voltage());
    let (p, e) = f.bad_plan(
        "[plan]\nname = \"p\"\nstations = [\"bench\"]\npatterns = [\"solid\"]\n\
         [[condition]]\nname = \"sag\"\nvoltage = 17.5\n",
    );
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(&e, &p, 7, 1, "station \"bench\" has a relay");
}

#[test]
fn chamber_and_ink_need_their_controls() {
    let f = Fixture::new();
    let (p, e) = f.bad_plan(
        "[plan]\nname = \"p\"\nstations = [\"bench\", \"bare\"]\npatterns = [\"solid\"]\n\
         [[condition]]\nname = \"cold-dry\"\nchamber = { setpoint = 0, soak_s = 0 }\nink = 0.2\n",
    );
    for station in ["bench", "bare"] {
        assert_error_at(&e, &p, 7, 1, &format!("station \"{station}\" has none"));
        assert_error_at(
            &e,
            &p,
            8,
            1,
            &format!("ink needs a supply control (prompt, exec or sim), but station \"{station}\""),
        );
    }
    assert_eq!(e.len(), 4, "{e}");
}

#[test]
fn during_needs_at_and_only_during_takes_it() {
    let f = Fixture::new();
    let (p, e) = f.bad_plan(
        "[plan]\nname = \"p\"\nstations = [\"sim-a\"]\npatterns = [\"solid\"]\n\
         [[condition]]\nname = \"cut\"\npower_cycle = { when = \"during\", off_s = 1.0 }\n\
         [[condition]]\nname = \"late\"\npower_cycle = { when = \"after\", at = 0.5, off_s = 1.0 }\n\
         [[condition]]\nname = \"edge\"\npower_cycle = { when = \"during\", at = 1.0, off_s = 1.0 }\n",
    );
    assert_eq!(e.len(), 3, "{e}");
    assert_error_at(&e, &p, 7, 15, "when = \"during\" needs `at`");
    assert_error_at(&e, &p, 10, 33, "only for when = \"during\"");
    assert_error_at(
        &e,
        &p,
        13,
        39,
        "condition.power_cycle.at: 1 is out of range",
    );
}

#[test]
fn duplicate_condition_names_are_located() {
    let f = Fixture::new();
    let (p, e) = f.bad_plan(
        "[plan]\nname = \"p\"\nstations = [\"sim-a\"]\npatterns = [\"solid\"]\n\
         [[condition]]\nname = \"n\"\n[[condition]]\nname = \"n\"\n",
    );
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(
        &e,
        &p,
        8,
        8,
        "duplicate condition name \"n\" (first defined on line 6)",
    );
}

#[test]
fn toml_syntax_error_is_located() {
    let f = Fixture::new();
    let (p, e) = f.bad_plan("[plan]\nname = \"p\"\nrepeats = = 2\n");
    assert_eq!(e.len(), 1, "{e}");
    assert_error_at(&e, &p, 3, 11, "TOML syntax");
}

#[test]
fn every_error_in_a_file_is_reported_in_file_order() {
    let f = Fixture::new();
    let (p, e) = f.bad_plan(
        "[plan]\nname = \"p\"\nstations = [\"sim-a\"]\npatterns = [\"solid\", \"zigzag\"]\n\
         repeats = 0\nretrys = 2\n\
         [[condition]]\nname = \"cold\"\nchamber = { setpoint = -10.0, soak_s = -1 }\n\
         [condition.accept]\nexpected = [\"smudge\"]\n",
    );
    assert_error_at(&e, &p, 4, 22, "unknown pattern");
    assert_error_at(&e, &p, 5, 11, "plan.repeats: 0 is out of range");
    assert_error_at(&e, &p, 6, 1, "unknown key `retrys` in plan");
    assert_error_at(&e, &p, 9, 40, "soak_s");
    assert_error_at(&e, &p, 11, 13, "unknown defect");
    assert_eq!(e.len(), 5, "{e}");
    let lines: Vec<usize> = e
        .iter()
        .map(|x| x.location.as_ref().map_or(0, |l| l.line))
        .collect();
    assert_eq!(lines, vec![4, 5, 6, 9, 11]);
    // Display: one "file:line:column: message" per line.
    let shown = e.to_string();
    assert_eq!(shown.lines().count(), 5);
    assert!(shown
        .lines()
        .next()
        .is_some_and(|l| l.starts_with(&format!("{}:4:22: ", p.display()))));
    assert_eq!(PlanErrors::EXIT_CODE, 2);
}

#[test]
fn errors_in_a_station_file_are_all_reported() {
    let f = Fixture::new();
    let (p, e) = f.bad_stations(
        "[[station]]\nname = \"Bad Name\"\nkind = \"sim\"\nmodel = \"m\"\n\
         [station.printer]\ndots = 577\nlink = { kind = \"pty\" }\n\
         [station.sim]\ntime_scale = 0\nink = 2\n",
    );
    assert_error_at(&e, &p, 2, 8, "is not a valid name");
    assert_error_at(&e, &p, 6, 8, "not a supported head width");
    assert_error_at(&e, &p, 9, 14, "station.sim.time_scale: 0 is out of range");
    assert_error_at(&e, &p, 10, 7, "station.sim.ink: 2 is out of range");
    assert_eq!(e.len(), 4, "{e}");
}

// ---------------------------------------------------------------- documentation

#[test]
fn the_documented_examples_load() {
    let doc = std::fs::read_to_string(root().join("docs/plan-files.md")).expect("docs");
    let blocks: Vec<String> = doc
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next().map(str::to_string))
        .collect();
    assert_eq!(blocks.len(), 2, "a station example and a plan example");
    let dir = tempfile::tempdir().expect("tempdir");
    let sp = write(&dir, "stations.toml", &blocks[0]);
    let sf = load_stations(&sp).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sf.names(), vec!["lab-tm80", "sim-80mm"]);
    let pp = write(&dir, "plan.toml", &blocks[1]);
    let plan = load_plan(&pp, &sf).unwrap_or_else(|e| panic!("{e}"));
    let cases = expand(&plan, &sf);
    assert!(cases.iter().any(|c| c.id == "lab-tm80/ladder/cold/r1"
        && c.golden == Path::new("golden/tm-80/ladder@cold.json")));
}

// ---------------------------------------------------------------- simulator's limits

#[test]
fn only_a_simulated_station_is_held_to_the_simulators_limits() {
    let f = Fixture::new();
    let (dir, sf) = (&f.dir, &f.stations);
    let plan = |station: &str| {
        format!(
            "[plan]\nname = \"p\"\nstations = [\"{station}\"]\npatterns = [\"solid\"]\n\
             [[condition]]\nname = \"surge\"\nvoltage = 72\n\
             [[condition]]\nname = \"oven\"\nchamber = {{ setpoint = 85, soak_s = 0 }}\n"
        )
    };
    // A 72 V supply and an 85 °C chamber are a real lab's business.
    let real = write(dir, "real.toml", &plan("lab"));
    let p = load_plan(&real, sf).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(expand(&p, sf).len(), 2);
    // The simulated ones stop at 60 V and 60 °C, said where the plan asks for more.
    let sim = write(dir, "sim.toml", &plan("sim-a"));
    let e = load_plan(&sim, sf).expect_err("beyond the simulator");
    assert_error_at(
        &e,
        &sim,
        7,
        1,
        "condition \"surge\": the supply of station \"sim-a\" sets 0 to 60 V, not 72 V",
    );
    assert_error_at(
        &e,
        &sim,
        10,
        1,
        "condition \"oven\": the chamber of station \"sim-a\" reaches -40 to 60 °C, not 85 °C",
    );
}

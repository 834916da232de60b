//! Station and plan files (TOML) → validated, typed structs → the expanded matrix of
//! cases. Every problem is found before anything runs and reported with file:line:column,
//! all of them at once (see docs/plan-files.md for both formats).
//!
//! Owns reading and validating both files, expanding a plan into [`CaseSpec`]s with stable
//! ids and sharding them. It must not open links, start simulators, sleep or write files:
//! what it returns is plain data for the runner.

pub mod estimate;
mod expand;
mod location;
mod plan_file;
mod read;
mod station;

pub use expand::{
    case_count, case_id, check_case_limit, expand, fnv1a64, golden_path, parse_shard, shard,
    CaseSpec, DEFAULT_MAX_CASES,
};
pub use location::{Declared, Location, PlanError, PlanErrors};
pub use plan_file::{
    parse_plan, Accept, ChamberSoak, Condition, CycleWhen, FailOn, GateMargins, Plan, PowerCycle,
    Timeouts, TolerancesOverride,
};
pub use station::{
    parse_stations, parse_stations_with, ChamberSpec, Envelope, FirmwareInstallSpec, LatentSpec,
    PowerSpec, PrinterLink, PrinterSpec, ScannerSpec, SimCheck, SimDeclaration, SimSpec, Station,
    StationFile, StationKind, SupplySpec, PRINTER_TCP_PORT, SCPI_READ_COMMAND, SCPI_SET_COMMAND,
    SCPI_TCP_PORT,
};

use std::path::Path;

/// The simulated stations shipped in `rig/stations/sim.toml`, built into the binary: what
/// runs when no station file is given.
pub const EMBEDDED_SIM_STATIONS: &str = include_str!("../../rig/stations/sim.toml");

/// Reads, parses and validates a station file (a sim station's parameters unchecked:
/// see [`load_stations_with`]).
pub fn load_stations(path: &Path) -> Result<StationFile, PlanErrors> {
    load_stations_with(path, &|_| Vec::new())
}

/// [`load_stations`], with `check` run on what each sim station declares.
pub fn load_stations_with(path: &Path, check: SimCheck<'_>) -> Result<StationFile, PlanErrors> {
    let bytes = read(path)?;
    let text = utf8(path, &bytes)?;
    parse_stations_with(text, path, check)
}

/// Reads, parses and validates a plan file, and checks it against `stations` (every
/// station it names exists; every station it runs on has the power, chamber and supply
/// control its conditions need).
pub fn load_plan(path: &Path, stations: &StationFile) -> Result<Plan, PlanErrors> {
    let bytes = read(path)?;
    let text = utf8(path, &bytes)?;
    parse_plan(text, path, stations)
}

/// The embedded simulated stations ([`EMBEDDED_SIM_STATIONS`]), named
/// `rig/stations/sim.toml` in errors and provenance.
pub fn embedded_sim_stations(check: SimCheck<'_>) -> Result<StationFile, PlanErrors> {
    parse_stations_with(
        EMBEDDED_SIM_STATIONS,
        Path::new("rig/stations/sim.toml"),
        check,
    )
}

/// The largest plan or station file read (the largest shipped is a few KB).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

fn read(path: &Path) -> Result<Vec<u8>, PlanErrors> {
    crate::util::fsio::read_bounded(path, MAX_FILE_BYTES)
        .map_err(|e| PlanError::file(path, format!("cannot read: {e}")).into())
}

fn utf8<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str, PlanErrors> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let prefix = std::str::from_utf8(good).unwrap_or_default();
        let loc = location::LineIndex::new(path, prefix).locate(prefix.len());
        PlanError::at(loc, "not UTF-8 text (TOML files must be UTF-8)").into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_stations_are_valid() {
        let sf = embedded_sim_stations(&|_| Vec::new()).expect("embedded stations");
        assert!(sf.stations.iter().all(Station::is_sim));
        assert!(sf.get("sim-80mm").is_some());
    }

    #[test]
    fn unreadable_and_non_utf8_files_are_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("none.toml");
        let e = load_stations(&missing).expect_err("missing");
        assert!(e.0[0].location.is_none());
        assert!(e.to_string().contains("cannot read"), "{e}");

        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, b"[[station]]\nname = \"a\xff\"\n").expect("write");
        let e = load_stations(&bad).expect_err("not utf-8");
        let loc = e.0[0].location.clone().expect("located");
        assert_eq!((loc.line, loc.column), (2, 10));
    }
}

//! How long a run will take, known before it starts: per station, the chamber soaks it
//! will make (once per condition, cases running grouped by condition) and their hold
//! times, and the most the run can take if every step of every attempt ran to its
//! timeout.
//!
//! Pure: reads the plan and its cases, measures nothing and touches no instrument (the
//! run prints it through `report` before its first case; `rig estimate` without running).

use super::{CaseSpec, ChamberSoak, Plan, StationFile};

/// One station's share of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct StationEstimate {
    pub station: String,
    pub cases: usize,
    /// Chamber soaks the station makes: one per run of cases at the same set point.
    pub soaks: usize,
    /// Soaks had every chamber case soaked on its own (before cases were grouped).
    pub soaks_per_case: usize,
    /// Wall seconds of soak and hold time in those soaks (ramps not counted: the chamber's
    /// rate is not known before it runs).
    pub soak_wall_s: f64,
    /// The same, had every chamber case soaked on its own.
    pub soak_wall_per_case_s: f64,
    /// Wall seconds if every step of every attempt (retries included) ran to its
    /// timeout.
    pub worst_wall_s: f64,
}

/// The whole run: stations run concurrently, so the run takes as long as its longest
/// station.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Estimate {
    pub stations: Vec<StationEstimate>,
}

impl Estimate {
    pub fn cases(&self) -> usize {
        self.stations.iter().map(|s| s.cases).sum()
    }

    /// The longest station's worst case, wall seconds.
    pub fn worst_wall_s(&self) -> f64 {
        self.stations
            .iter()
            .map(|s| s.worst_wall_s)
            .fold(0.0, f64::max)
    }
}

fn same_point(a: Option<&ChamberSoak>, b: Option<&ChamberSoak>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.setpoint == b.setpoint)
}

/// The estimate of running `cases` (in run order) of `plan` on `stations`.
pub fn estimate(plan: &Plan, stations: &StationFile, cases: &[&CaseSpec]) -> Estimate {
    let t = &plan.timeouts;
    let per_attempt = t.arrange + t.print + t.scan + t.analyze;
    let attempts = f64::from(plan.retries + 1);
    let mut out = Estimate::default();
    for st in &stations.stations {
        let mine: Vec<&CaseSpec> = cases
            .iter()
            .copied()
            .filter(|c| c.station == st.name)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let scale = st.envelope.time_scale.max(1e-6);
        let mut e = StationEstimate {
            station: st.name.clone(),
            cases: mine.len(),
            soaks: 0,
            soaks_per_case: 0,
            soak_wall_s: 0.0,
            soak_wall_per_case_s: 0.0,
            worst_wall_s: per_attempt * attempts * mine.len() as f64,
        };
        let mut before: Option<&ChamberSoak> = None;
        for c in &mine {
            let soak = c.condition.chamber.as_ref();
            if let Some(s) = soak {
                let held = (s.soak_s + s.hold_s) / scale;
                e.soaks_per_case += 1;
                e.soak_wall_per_case_s += held;
                if !same_point(before, soak) {
                    e.soaks += 1;
                    e.soak_wall_s += held;
                }
            }
            before = soak;
        }
        out.stations.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{expand, parse_plan, parse_stations};

    #[test]
    fn a_condition_soaks_once_per_station() {
        let sf = parse_stations(
            "[[station]]\nname = \"a\"\nkind = \"sim\"\nmodel = \"m\"\n[station.printer]\ndots = 384\nlink = { kind = \"tcp\" }\n",
            std::path::Path::new("s.toml"),
        )
        .expect("stations");
        let plan = parse_plan(
            "[plan]\nname = \"x\"\npatterns = [\"solid\", \"ladder\"]\nrepeats = 2\nretries = 1\n\
             [plan.timeouts]\narrange = 2000.0\nprint = 10.0\nscan = 10.0\nanalyze = 5.0\n\
             [[condition]]\nname = \"cold\"\nchamber = { setpoint = -10.0, soak_s = 600.0, hold_s = 300.0 }\n\
             [[condition]]\nname = \"nominal\"\n\
             [[condition]]\nname = \"hot\"\nchamber = { setpoint = 50.0, soak_s = 1200.0 }\n",
            std::path::Path::new("p.toml"),
            &sf,
        )
        .expect("plan");
        let cases = expand(&plan, &sf);
        let refs: Vec<&CaseSpec> = cases.iter().collect();
        let e = estimate(&plan, &sf, &refs);
        let a = &e.stations[0];
        assert_eq!(a.cases, 12);
        // cold and hot, once each, instead of once per case (4 cases each).
        assert_eq!((a.soaks, a.soaks_per_case), (2, 8));
        assert_eq!(a.soak_wall_s, 900.0 + 1200.0);
        assert_eq!(a.soak_wall_per_case_s, 4.0 * 900.0 + 4.0 * 1200.0);
        // 12 cases × 2 attempts × 2025 s.
        assert_eq!(a.worst_wall_s, 48600.0);
        assert_eq!(e.worst_wall_s(), 48600.0);
    }
}

//! Run directories written as a run's journal would be, without running anything: a
//! history of many nights, or shards of a large plan, for the history and merge tests and
//! benchmarks. Each case gets one attempt with the verdict asked for; with `files`, each
//! attempt also writes recorded artifacts (scan, analysis, thumbnail) of the given size.

use printrig::record::journal::{write_whole, Event, FileRef};
use printrig::record::CaseInfo;
use printrig::verdict::Verdict;
use std::path::Path;

/// A case of a fabricated run.
pub struct Fab {
    pub id: String,
    pub verdict: Verdict,
    pub solid_density: Option<f64>,
}

impl Fab {
    pub fn new(id: impl Into<String>, verdict: Verdict) -> Fab {
        Fab {
            id: id.into(),
            verdict,
            solid_density: None,
        }
    }
}

/// The case of id `station/pattern/condition/rN`.
pub fn info(id: &str) -> CaseInfo {
    let parts: Vec<&str> = id.split('/').collect();
    CaseInfo {
        id: id.to_string(),
        station: parts.first().copied().unwrap_or("s").into(),
        model: "sim-58mm".into(),
        dots: 384,
        pattern: parts.get(1).copied().unwrap_or("solid").into(),
        condition: parts.get(2).copied().unwrap_or("nominal").into(),
        repeat: parts
            .get(3)
            .and_then(|r| r.trim_start_matches('r').parse().ok())
            .unwrap_or(1),
    }
}

/// What a fabricated run is.
pub struct RunSpec<'a> {
    pub run_id: &'a str,
    /// RFC 3339.
    pub time: &'a str,
    pub plan_name: &'a str,
    pub shard: Option<(u32, u32)>,
    /// Every case id of the plan (a shard's `plan_cases`).
    pub plan_cases: &'a [String],
    /// Bytes of each artifact an attempt writes (none: no files).
    pub files: Option<usize>,
}

/// Writes run directory `dir` for `spec` with `cases`.
pub fn write_run(dir: &Path, spec: &RunSpec, cases: &[Fab]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let t = spec.time.to_string();
    let mut events = vec![Event::RunStart {
        time: t.clone(),
        run_id: spec.run_id.to_string(),
        tool_version: "0.1.0".into(),
        host: "lab-1".into(),
        plan: FileRef {
            path: format!("{}.toml", spec.plan_name),
            sha256: "ab".repeat(32),
        },
        plan_name: Some(spec.plan_name.into()),
        plan_description: None,
        stations: Vec::new(),
        shard: spec.shard,
        cases: cases.iter().map(|c| info(&c.id)).collect(),
        plan_cases: spec.plan_cases.to_vec(),
        merged_from: Vec::new(),
        gate: None,
        firmware: None,
        golden: None,
    }];
    for (n, c) in cases.iter().enumerate() {
        events.push(Event::CaseStart {
            time: t.clone(),
            case: c.id.clone(),
            attempt: 1,
        });
        if let Some(bytes) = spec.files {
            for name in ["scan.png", "analysis.json", "thumb.png"] {
                let rel = format!("cases/{}/attempt-1/{name}", c.id);
                let body: Vec<u8> = (0..bytes).map(|i| (i * 31 + n * 7) as u8).collect();
                let path = dir.join(&rel);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, &body).expect("write");
                events.push(Event::Artifact {
                    // Recorded when written, as a run records it.
                    time: printrig::util::clock::now_rfc3339_precise(),
                    case: c.id.clone(),
                    attempt: 1,
                    path: rel,
                    sha256: printrig::util::sha256_hex(&body),
                    bytes: body.len() as u64,
                });
            }
        }
        if let Some(d) = c.solid_density {
            events.push(Event::Measurement {
                time: t.clone(),
                case: c.id.clone(),
                attempt: 1,
                name: "page.1".into(),
                value: serde_json::json!({ "verdict": c.verdict, "solid_density": d }),
            });
        }
        events.push(Event::CaseEnd {
            time: t.clone(),
            case: c.id.clone(),
            attempt: 1,
            verdict: c.verdict,
            last: true,
            recovered: false,
            reasons: vec![format!("{} in {}", c.verdict.name(), spec.run_id)],
            defects: Vec::new(),
            error: None,
        });
    }
    events.push(Event::RunEnd {
        time: t,
        verdict: cases
            .iter()
            .map(|c| c.verdict)
            .max()
            .unwrap_or(Verdict::Pass),
        interrupted: false,
    });
    write_whole(&dir.join("journal.ndjson"), &events).expect("journal");
}

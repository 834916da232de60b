//! The first golden records of a model, made by the rig itself (`rig golden capture`):
//! on one station per model of a plan, every pattern of the plan is printed at nominal
//! (no stress) several times, each copy scanned and analysed; copies that agree become a
//! *pending* record (`<dir>/<model>/<pattern>.pending.json`) beside the scans it came
//! from. A run never reads a pending record: a person reviews it and accepts it
//! (`golden::pending`).
//!
//! Owns: the order of prints and scans and where the scans go. Must not: judge a print
//! against a record, or write a record a run reads.

use super::preflight;
use super::start::RunError;
use super::stations::load_stations;
use crate::escpos::encode::{encode_bitmap, EncodeOptions};
use crate::golden::check::{bless_scans, CheckSpec};
use crate::golden::pending::{Capture, Captured, Pending};
use crate::golden::{self, Golden};
use crate::pattern::{self, PatternKind};
use crate::plan;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to capture.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    pub plan: PathBuf,
    /// Station file; `None` = the embedded simulated stations.
    pub stations: Option<PathBuf>,
    /// Where records live (`<dir>/<model>/<pattern>.json`).
    pub golden_dir: PathBuf,
    /// Copies printed of every pattern (≥ 2 to measure their spread).
    pub copies: u32,
}

/// Every pattern the plan prints (the plan's and its conditions' own), in plan order.
fn patterns_of(p: &plan::Plan) -> Vec<PatternKind> {
    let mut out: Vec<PatternKind> = Vec::new();
    for k in p
        .patterns
        .iter()
        .chain(p.conditions.iter().flat_map(|c| p.patterns_for(c)))
    {
        if !out.contains(k) {
            out.push(*k);
        }
    }
    out
}

fn stamp() -> String {
    crate::util::clock::now_rfc3339_precise()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect()
}

/// Runs a capture. Pre-flight comes first, as for a run: a problem stops it before
/// anything prints.
pub async fn capture(opts: &CaptureOptions) -> Result<Capture, RunError> {
    let sf = load_stations(opts.stations.as_deref()).map_err(RunError::Invalid)?;
    let p = plan::load_plan(&opts.plan, &sf).map_err(RunError::Invalid)?;
    let kinds = patterns_of(&p);
    let mut out = Capture::default();
    let mut wanted = Vec::new();
    // One station per model: the first of the plan's stations that has it.
    let mut captured_on: Vec<(&str, &str)> = Vec::new();
    for st in sf.stations.iter().filter(|s| p.stations.contains(&s.name)) {
        if let Some((_, first)) = captured_on.iter().find(|(m, _)| *m == st.model) {
            out.skipped.push((st.name.clone(), first.to_string()));
            continue;
        }
        captured_on.push((&st.model, &st.name));
        wanted.push((st, false, ()));
    }
    let work = std::env::temp_dir().join(format!("printrig-capture-{}", std::process::id()));
    let prepared = preflight::prepare(wanted, &work, preflight::Firmware::AsTheyAre).await;
    if !prepared.problems.is_empty() {
        for s in prepared.sims {
            s.stop().await;
        }
        let _ = std::fs::remove_dir_all(&work);
        return Err(RunError::Preflight {
            problems: prepared.problems,
        });
    }
    let t = &p.timeouts;
    let (print_limit, scan_limit) = (
        Duration::from_secs_f64(t.print),
        Duration::from_secs_f64(t.scan),
    );
    let when = stamp();
    for (st, mut rig, _, ()) in prepared.ready {
        let model_dir = opts.golden_dir.join(&st.model);
        if let Err(e) = rig.teardown().await {
            for &kind in &kinds {
                out.captured.push(Captured {
                    model: st.model.clone(),
                    station: st.name.clone(),
                    pattern: kind,
                    outcome: Err(format!(
                        "cannot bring the station to nominal: {}",
                        crate::util::error_chain(&e)
                    )),
                });
            }
            continue;
        }
        for &kind in &kinds {
            let rel = PathBuf::from(format!("{}.pending", kind.name())).join(&when);
            let outcome = capture_pattern(
                &mut rig,
                kind,
                st.printer.dots,
                opts.copies,
                &model_dir,
                &rel,
                (print_limit, scan_limit),
                &st.model,
            )
            .await;
            out.captured.push(Captured {
                model: st.model.clone(),
                station: st.name.clone(),
                pattern: kind,
                outcome,
            });
        }
        if let Err(e) = rig.teardown().await {
            tracing::warn!(station = %st.name, error = %e, "teardown after capture failed");
        }
    }
    for s in prepared.sims {
        s.stop().await;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn capture_pattern(
    rig: &mut super::case::Rig,
    kind: PatternKind,
    dots: u32,
    copies: u32,
    model_dir: &Path,
    rel: &Path,
    (print_limit, scan_limit): (Duration, Duration),
    model: &str,
) -> Result<Pending, String> {
    let chain = |e: &dyn std::error::Error| crate::util::error_chain(e);
    let pattern = pattern::render(kind, dots, 0).map_err(|e| chain(&e))?;
    let job = encode_bitmap(&pattern.bitmap, &EncodeOptions::default()).map_err(|e| chain(&e))?;
    let scan_dir = model_dir.join(rel);
    std::fs::create_dir_all(&scan_dir)
        .map_err(|e| format!("cannot create {}: {e}", scan_dir.display()))?;
    let mut scans = Vec::new();
    for k in 1..=copies.max(1) {
        rig.scanner.arm().await.map_err(|e| chain(&e))?;
        let printed = tokio::time::timeout(print_limit, rig.printer.print(&job, rig.ack_timeout))
            .await
            .map_err(|_| format!("copy {k}: not printed within {} s", print_limit.as_secs()))?
            .map_err(|e| format!("copy {k}: {}", chain(&e)))?;
        if let Some(why) = printed.stopped {
            return Err(format!("copy {k}: the job stopped: {why}"));
        }
        let scan = tokio::time::timeout(
            scan_limit,
            rig.scanner.scan(&scan_dir, &format!("copy-{k}")),
        )
        .await
        .map_err(|_| format!("copy {k}: not scanned within {} s", scan_limit.as_secs()))?
        .map_err(|e| format!("copy {k}: {}", chain(&e)))?;
        scans.push(scan);
    }
    let name = kind.name().to_string();
    let model = model.to_string();
    let model_dir = model_dir.to_path_buf();
    let scans_for = scans.clone();
    tokio::task::spawn_blocking(move || -> Result<Pending, String> {
        let spec = CheckSpec {
            pattern: name.clone(),
            dots,
            serial: 0,
            golden: None,
            nominal_density: None,
        };
        let named: Vec<(&Path, String)> = scans_for
            .iter()
            .map(|scan| {
                let shown = scan.strip_prefix(&model_dir).unwrap_or(scan);
                (scan.as_path(), shown.display().to_string())
            })
            .collect();
        let record = bless_scans(&named, &spec, &model, None, false).map_err(|e| chain(&e))?;
        let path = golden::pending::pending_path(&model_dir, &name);
        let current = Golden::load(&golden::pending::record_path(&path)).ok();
        golden::save(&path, &record, true).map_err(|e| chain(&e))?;
        Ok(Pending {
            path,
            record,
            current,
            scans: scans_for,
        })
    })
    .await
    .map_err(|e| format!("analysis task failed: {e}"))?
}

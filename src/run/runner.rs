//! The runner: stations run concurrently (one tokio task each), cases on a station run in
//! order, each case retried as a whole under the plan's retry policy. Teardown always runs
//! at the end of a station's cases, after a failure, a timeout or an interrupt.

use super::case::{attempt, CaseWork, Ctx, Interrupted, Rig};
use crate::plan::FailOn;
use crate::record::journal::Event;
use crate::report::progress::Progress;
use crate::util::clock::now_rfc3339_precise as now;
use crate::verdict::Verdict;
use std::sync::Arc;

/// A station with its instruments and the cases it runs.
pub struct StationJob {
    pub rig: Rig,
    pub dots: u32,
    pub cases: Vec<CaseWork>,
}

/// How the plan treats a case's verdicts: extra attempts for a failed case, and the
/// verdict from which a case fails.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub retries: u32,
    pub fail_on: FailOn,
}

impl Policy {
    /// The verdict of an attempt under the plan: a marginal attempt is a failed one when
    /// the plan fails on marginal, with the reason said.
    fn apply(&self, mut r: super::case::AttemptResult) -> super::case::AttemptResult {
        if self.fail_on == FailOn::Marginal && r.verdict == Verdict::Marginal {
            r.verdict = Verdict::Fail;
            r.reasons.insert(
                0,
                "marginal is a fail under this plan (fail_on = \"marginal\")".to_string(),
            );
        }
        r
    }
}

/// Runs every station's cases. Cases left unfinished by an interrupt have no final
/// `case_end` in the journal (a resumed run picks them up).
pub async fn execute(
    stations: Vec<StationJob>,
    ctx: Arc<Ctx>,
    policy: Policy,
    progress: Arc<Progress>,
) {
    let mut tasks = Vec::new();
    for mut sj in stations {
        let ctx = ctx.clone();
        let bar = progress.station(&sj.rig.name, sj.cases.len() as u64);
        tasks.push(tokio::spawn(async move {
            // Why the station was given up (its printer cannot be reached again).
            let mut lost: Option<String> = None;
            for case in &sj.cases {
                if ctx.cancelled() {
                    break;
                }
                if let Some(why) = &lost {
                    abandon(&ctx, case, why);
                    ctx.case_done(&case.info.id);
                    bar.done(&case.info.id, Verdict::Error, 0.0);
                    continue;
                }
                bar.case(&case.info.id);
                let started = std::time::Instant::now();
                let mut ended_as = None;
                let mut first_bad = case.failed_before;
                let mut n = case.first_attempt.max(1);
                let mut ended = case.ended_before;
                loop {
                    let r = match attempt(&mut sj.rig, &ctx, &bar, case, sj.dots, n).await {
                        Ok(r) => policy.apply(r),
                        Err(Interrupted) => break,
                    };
                    if r.verdict == Verdict::Error {
                        // A rig fault may have left the stress on: make the station safe
                        // before the next attempt; and a printer that cannot be reached
                        // again ends the station's work here.
                        if let Err(e) = sj.rig.teardown().await {
                            tracing::warn!(station = %sj.rig.name, error = %e, "teardown after an error failed");
                        }
                        if let Err(e) = printer_back(&mut sj.rig).await {
                            tracing::error!(station = %sj.rig.name, error = %e, "printer link lost: abandoning the station");
                            lost = Some(format!(
                                "station {} abandoned: its printer link could not be reopened after {} ({e})",
                                sj.rig.name, case.info.id
                            ));
                        }
                    }
                    let bad = matches!(r.verdict, Verdict::Fail | Verdict::Error);
                    ended += 1;
                    let last = !bad || ended > policy.retries || lost.is_some();
                    let recovered = first_bad && !bad;
                    ctx.record(Event::CaseEnd {
                        time: now(),
                        case: case.info.id.clone(),
                        attempt: n,
                        verdict: r.verdict,
                        last,
                        recovered,
                        reasons: r.reasons.clone(),
                        defects: r.defects.clone(),
                        error: r.error.clone(),
                    });
                    if last {
                        ctx.case_done(&case.info.id);
                        ended_as = Some(r.verdict);
                        break;
                    }
                    first_bad |= bad;
                    n += 1;
                }
                // An interrupted case has no verdict yet: the resumed run reports it.
                if let Some(v) = ended_as {
                    bar.done(&case.info.id, v, started.elapsed().as_secs_f64());
                }
            }
            if let Err(e) = sj.rig.teardown().await {
                tracing::warn!(station = %sj.rig.name, error = %e, "teardown failed");
            }
            bar.finish();
        }));
    }
    for t in tasks {
        if let Err(e) = t.await {
            tracing::error!(error = %e, "station task failed");
        }
    }
}

/// Reopens the printer's link and asks who it is, each bounded: an error means the
/// station cannot go on.
async fn printer_back(rig: &mut Rig) -> Result<(), String> {
    let limit = super::preflight::CHECK_LIMIT;
    rig.printer
        .reconnect(rig.boot_timeout.max(limit))
        .await
        .map_err(|e| crate::util::error_chain(&e))?;
    match tokio::time::timeout(limit, rig.printer.identify()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(crate::util::error_chain(&e)),
        Err(_) => Err(format!("no identity within {} s", limit.as_secs())),
    }
}

/// Ends a case of an abandoned station at once, as an `error` with the cause.
fn abandon(ctx: &Ctx, case: &CaseWork, why: &str) {
    let attempt = case.first_attempt.max(1);
    ctx.record(Event::CaseStart {
        time: now(),
        case: case.info.id.clone(),
        attempt,
    });
    ctx.record(Event::CaseEnd {
        time: now(),
        case: case.info.id.clone(),
        attempt,
        verdict: Verdict::Error,
        last: true,
        recovered: false,
        reasons: vec![format!("rig error: {why}")],
        defects: Vec::new(),
        error: Some(why.to_string()),
    });
}

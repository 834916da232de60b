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
            for case in &sj.cases {
                if ctx.cancelled() {
                    break;
                }
                bar.case(&case.info.id);
                let mut first_bad = case.failed_before;
                let mut n = case.first_attempt.max(1);
                let mut ended = case.ended_before;
                loop {
                    let r = match attempt(&mut sj.rig, &ctx, case, sj.dots, n).await {
                        Ok(r) => policy.apply(r),
                        Err(Interrupted) => break,
                    };
                    let bad = matches!(r.verdict, Verdict::Fail | Verdict::Error);
                    ended += 1;
                    let last = !bad || ended > policy.retries;
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
                    if r.verdict == Verdict::Error {
                        // A rig fault may have left the stress on: make the station safe
                        // before the next attempt.
                        if let Err(e) = sj.rig.teardown().await {
                            tracing::warn!(station = %sj.rig.name, error = %e, "teardown after an error failed");
                        }
                    }
                    if last {
                        break;
                    }
                    first_bad |= bad;
                    n += 1;
                }
                bar.done();
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

//! The console progress display of a run: in a terminal, a bar per station and one
//! overall; elsewhere (CI, `| tee`), one plain line per finished case as it finishes
//! (`[17/88] sim-80mm/solid/cold/r1 pass 25.1 s`); nothing when asked to be quiet.
//!
//! Display only: it counts what the runner tells it and never reads the journal.

use crate::verdict::Verdict;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The overall bar: cases done, time so far and to go.
const OVERALL: &str =
    "{prefix:>14} [{bar:30}] {pos}/{len} cases · {elapsed} elapsed · ETA {eta} {wide_msg}";
/// A station's bar; `wide_msg` is cut to the terminal's width, so a long case id never
/// breaks a line.
const STATION: &str = "{prefix:>14} [{bar:30}] {pos}/{len} {wide_msg}";

/// How a run shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// Bars, redrawn in place (stdout is a terminal).
    Bars,
    /// One line per finished case (stdout is a log).
    Lines,
    /// Nothing.
    Quiet,
}

/// Progress bars: one per station and one overall; or lines; or nothing.
pub struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
    lines: Option<Arc<Lines>>,
}

/// The plain-line display: cases finished so far, of how many.
struct Lines {
    done: AtomicU64,
    total: u64,
}

impl Progress {
    pub fn new(total: u64, display: Display) -> Progress {
        let multi = MultiProgress::with_draw_target(if display == Display::Bars {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        });
        let overall = multi.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template(OVERALL)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        overall.set_prefix("all stations");
        let lines = (display == Display::Lines).then(|| {
            Arc::new(Lines {
                done: AtomicU64::new(0),
                total,
            })
        });
        Progress {
            multi,
            overall,
            lines,
        }
    }

    /// A bar for one station's cases.
    pub fn station(&self, name: &str, total: u64) -> StationProgress {
        let b = self
            .multi
            .insert_before(&self.overall, ProgressBar::new(total));
        b.set_style(
            ProgressStyle::with_template(STATION)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_prefix(name.to_string());
        StationProgress {
            bar: b,
            overall: self.overall.clone(),
            lines: self.lines.clone(),
        }
    }

    pub fn finish(&self) {
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

/// One station's bar.
pub struct StationProgress {
    bar: ProgressBar,
    overall: ProgressBar,
    lines: Option<Arc<Lines>>,
}

impl StationProgress {
    /// The case now running.
    pub fn case(&self, id: &str) {
        self.bar.set_message(id.to_string());
    }

    /// A case ended with `verdict` after `seconds` of its steps.
    pub fn done(&self, id: &str, verdict: Verdict, seconds: f64) {
        self.bar.inc(1);
        self.overall.inc(1);
        if let Some(l) = &self.lines {
            let n = l.done.fetch_add(1, Ordering::SeqCst) + 1;
            let line = format!("[{n}/{}] {id} {} {seconds:.1} s\n", l.total, verdict.name());
            // One write per line, flushed: lines of concurrent stations never interleave.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }

    /// The station's cases are over.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_templates_parse() {
        for t in [OVERALL, STATION] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }
}

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

    /// The step the case is in (arrange, print, scan, analyze).
    pub fn step(&self, id: &str, step: &str) {
        self.bar.set_message(format!("{id} · {step}"));
    }

    /// A chamber soak begins for case `id`: in a log, one line says so (a soak can
    /// take hours, with no case finishing meanwhile).
    pub fn soak_begins(&self, id: &str, setpoint: f64, hold_s: f64) {
        self.bar
            .set_message(format!("{id} · soak → {setpoint} °C, hold {hold_s:.0} s"));
        if let Some(l) = &self.lines {
            let done = l.done.load(Ordering::SeqCst);
            let line = format!(
                "[{done}/{}] {id} soaking the chamber at {setpoint} °C (hold {hold_s:.0} s)\n",
                l.total
            );
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }

    /// A chamber reading while soaking.
    pub fn chamber(&self, id: &str, celsius: f64, setpoint: f64) {
        self.bar
            .set_message(format!("{id} · soak {celsius:.1} °C → {setpoint} °C"));
    }

    /// What the bar says now (the case, its step, the chamber while soaking).
    pub fn message(&self) -> String {
        self.bar.message()
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
    fn the_bar_shows_the_step_and_the_chamber_while_soaking() {
        let p = Progress::new(2, Display::Quiet);
        let s = p.station("sim-80mm", 2);
        s.case("sim-80mm/solid/cold/r1");
        s.step("sim-80mm/solid/cold/r1", "arrange");
        assert_eq!(s.message(), "sim-80mm/solid/cold/r1 · arrange");
        s.soak_begins("sim-80mm/solid/cold/r1", -10.0, 1800.0);
        assert!(s.message().contains("soak → -10 °C"), "{}", s.message());
        s.chamber("sim-80mm/solid/cold/r1", 3.44, -10.0);
        assert_eq!(s.message(), "sim-80mm/solid/cold/r1 · soak 3.4 °C → -10 °C");
        s.step("sim-80mm/solid/cold/r1", "print");
        assert!(s.message().ends_with("· print"));
    }

    #[test]
    fn the_bar_templates_parse() {
        for t in [OVERALL, STATION] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }
}

//! The console progress display of a run: a bar per station and one overall, drawn on
//! stdout only when it is a terminal (and not asked to be quiet).
//!
//! Display only: it counts what the runner tells it and never reads the journal.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress bars: one per station and one overall; hidden when asked or when stdout is
/// not a terminal.
pub struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
}

impl Progress {
    pub fn new(total: u64, visible: bool) -> Progress {
        let multi = MultiProgress::with_draw_target(if visible {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        });
        let overall = multi.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} cases {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        overall.set_prefix("all stations");
        Progress { multi, overall }
    }

    /// A bar for one station's cases.
    pub fn station(&self, name: &str, total: u64) -> StationProgress {
        let b = self
            .multi
            .insert_before(&self.overall, ProgressBar::new(total));
        b.set_style(
            ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_prefix(name.to_string());
        StationProgress {
            bar: b,
            overall: self.overall.clone(),
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
}

impl StationProgress {
    /// The case now running.
    pub fn case(&self, id: &str) {
        self.bar.set_message(id.to_string());
    }

    /// A case ended.
    pub fn done(&self) {
        self.bar.inc(1);
        self.overall.inc(1);
    }

    /// The station's cases are over.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

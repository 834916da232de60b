//! Recording a run into the history as it goes: every journal event is noted, each
//! finished case is written at once (so a killed run keeps its finished cases), and the
//! whole run in one transaction at its end. A history that cannot be opened or written is
//! warned about and given up; the run and its results directory go on untouched.

use super::History;
use crate::record::journal::Event;
use crate::record::results::from_events;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The history of one run being recorded.
pub struct Recorder {
    history: Option<History>,
    path: PathBuf,
    dir: PathBuf,
    events: Vec<Event>,
    /// Cases written with their final verdict by this process (not written again at the
    /// end).
    recorded: HashSet<String>,
    /// The first reason the history was given up.
    failed: Option<String>,
}

impl Recorder {
    /// Opens (or creates) the history at `path` for the run in `dir`, which already holds
    /// `events` (a resumed run's journal so far).
    pub fn open(path: &Path, dir: &Path, events: Vec<Event>) -> Recorder {
        let (history, failed) = match History::open(path, true) {
            Ok(h) => (Some(h), None),
            Err(e) => {
                let e = crate::util::error_chain(&e);
                tracing::warn!(error = %e, "history not recorded");
                (None, Some(e))
            }
        };
        Recorder {
            history,
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            events,
            recorded: HashSet::new(),
            failed,
        }
    }

    /// An event the run has just journalled.
    pub fn note(&mut self, ev: &Event) {
        if self.history.is_some() {
            self.events.push(ev.clone());
        }
    }

    /// Case `id` has its final verdict: written to the history now.
    pub fn case_done(&mut self, id: &str) {
        let Some(h) = self.history.as_mut() else {
            return;
        };
        let r = from_events(&self.events);
        match h.record_case(&self.dir, &r, id) {
            Ok(()) => {
                self.recorded.insert(id.to_string());
            }
            Err(e) => self.give_up(crate::util::error_chain(&e)),
        }
    }

    /// The run is over: the run's row, with the sha256 of its journal, and every case not
    /// written yet (unfinished, or finished before a resume), in one transaction.
    /// Returns where the history is, or why it was not written.
    pub fn finish(&mut self) -> Result<PathBuf, String> {
        if let Some(h) = self.history.as_mut() {
            let journal = self.dir.join(crate::record::JOURNAL);
            let sha = std::fs::read(&journal)
                .ok()
                .map(|b| crate::util::sha256_hex(&b));
            let r = from_events(&self.events);
            if let Err(e) = h.record_run_except(&self.dir, &r, sha.as_deref(), &self.recorded) {
                self.give_up(crate::util::error_chain(&e));
            }
        }
        match &self.failed {
            None => Ok(self.path.clone()),
            Some(e) => Err(e.clone()),
        }
    }

    fn give_up(&mut self, e: String) {
        tracing::warn!(error = %e, "history not recorded: the run goes on without it");
        self.history = None;
        self.events = Vec::new();
        self.failed.get_or_insert(e);
    }
}

//! The history of every run: an embedded SQLite database (`<results>/history.sqlite` by
//! default) with a row per run, case, attempt and defect, and the questions a QA lead asks
//! of it every morning (`query`): the runs, a case's trend, a station's drift, flaky cases,
//! new failures.
//!
//! Owns the database file and its schema (`schema`); reads runs through `record` (the
//! journal folded into results) and the analysis files they wrote. It never writes into a
//! run directory and never decides a verdict.

pub mod query;
pub mod recorder;
pub mod rows;
pub mod schema;

use crate::record::results::{from_events, CaseResult, RunResults};
use crate::record::{journal, JOURNAL};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use recorder::Recorder;

/// The history file's name in a results directory.
pub const FILE: &str = "history.sqlite";

/// How long a write waits for another process holding the database.
const BUSY: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history {}: {source}", path.display())]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("history {}: written by a newer printrig (schema {found}, this one knows {known})", path.display())]
    Newer {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("history {}: no such file (a run records into it; `rig history import DIR` adds runs made before)", path.display())]
    Missing { path: PathBuf },
    #[error("{}: not a run directory: {source}", dir.display())]
    NotARun {
        dir: PathBuf,
        source: journal::JournalError,
    },
    #[error("{}: its journal has no run_start event", dir.display())]
    NoRunStart { dir: PathBuf },
    #[error("no run in the history has case {case}")]
    NoCase { case: String },
    #[error("no run in the history has station {station}")]
    NoStation { station: String },
}

/// An open history database.
pub struct History {
    path: PathBuf,
    conn: Connection,
}

/// What an import did with one run directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    pub dir: PathBuf,
    pub run_id: String,
    /// False when the history already held this run as recorded (same journal).
    pub added: bool,
    pub cases: usize,
}

impl History {
    /// Opens the database at `path`, creating it (and bringing its schema forward) when
    /// `create`; without `create` a missing file is an error.
    pub fn open(path: &Path, create: bool) -> Result<History, HistoryError> {
        if !create && !path.is_file() {
            return Err(HistoryError::Missing {
                path: path.to_path_buf(),
            });
        }
        let sql = |source| HistoryError::Sql {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(BUSY).map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(sql)?;
        match schema::migrate(&mut conn) {
            Ok(_) => {}
            Err(schema::MigrateError::Newer(found)) => {
                return Err(HistoryError::Newer {
                    path: path.to_path_buf(),
                    found,
                    known: schema::VERSION,
                })
            }
            Err(schema::MigrateError::Sql(source)) => return Err(sql(source)),
        }
        Ok(History {
            path: path.to_path_buf(),
            conn,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    fn sql(&self, source: rusqlite::Error) -> HistoryError {
        HistoryError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Records a whole run (its row and every case), replacing what the history held of
    /// it, in one transaction.
    pub fn record_run(
        &mut self,
        dir: &Path,
        r: &RunResults,
        journal_sha256: Option<&str>,
    ) -> Result<(), HistoryError> {
        self.record_run_except(dir, r, journal_sha256, &HashSet::new())
    }

    /// [`History::record_run`] leaving out the cases in `recorded` (written already, with
    /// their final verdict, by [`History::record_case`]).
    pub fn record_run_except(
        &mut self,
        dir: &Path,
        r: &RunResults,
        journal_sha256: Option<&str>,
        recorded: &HashSet<String>,
    ) -> Result<(), HistoryError> {
        let tx = self.conn.transaction().map_err(|e| sql_at(&self.path, e))?;
        put_run(&tx, dir, r, journal_sha256).map_err(|e| sql_at(&self.path, e))?;
        for c in r.cases.iter().filter(|c| !recorded.contains(&c.info.id)) {
            put_case(&tx, dir, &r.run_id, c).map_err(|e| sql_at(&self.path, e))?;
        }
        tx.commit().map_err(|e| self.sql(e))
    }

    /// Records one finished case of a run still going (and the run's row as it stands), so
    /// a run killed later keeps its finished cases in the history.
    pub fn record_case(
        &mut self,
        dir: &Path,
        r: &RunResults,
        case_id: &str,
    ) -> Result<(), HistoryError> {
        let Some(c) = r.cases.iter().find(|c| c.info.id == case_id) else {
            return Ok(());
        };
        let tx = self.conn.transaction().map_err(|e| sql_at(&self.path, e))?;
        put_run(&tx, dir, r, None).map_err(|e| sql_at(&self.path, e))?;
        put_case(&tx, dir, &r.run_id, c).map_err(|e| sql_at(&self.path, e))?;
        tx.commit().map_err(|e| self.sql(e))
    }

    /// Adds the run in `dir` (made before, or on another host). A run the history already
    /// holds from the same journal is left as it is.
    pub fn import(&mut self, dir: &Path) -> Result<Imported, HistoryError> {
        let path = dir.join(JOURNAL);
        let bytes = std::fs::read(&path).map_err(|source| HistoryError::NotARun {
            dir: dir.to_path_buf(),
            source: journal::JournalError::Open {
                path: path.clone(),
                source,
            },
        })?;
        let sha = crate::util::sha256_hex(&bytes);
        let events = journal::read(&path).map_err(|source| HistoryError::NotARun {
            dir: dir.to_path_buf(),
            source,
        })?;
        if !events
            .iter()
            .any(|e| matches!(e, journal::Event::RunStart { .. }))
        {
            return Err(HistoryError::NoRunStart {
                dir: dir.to_path_buf(),
            });
        }
        let r = from_events(&events);
        let held: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT journal_sha256 FROM runs WHERE run_id = ?1",
                [&r.run_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let added = held.flatten().as_deref() != Some(sha.as_str());
        if added {
            self.record_run(dir, &r, Some(&sha))?;
        }
        Ok(Imported {
            dir: dir.to_path_buf(),
            run_id: r.run_id,
            added,
            cases: r.cases.len(),
        })
    }
}

fn sql_at(path: &Path, source: rusqlite::Error) -> HistoryError {
    HistoryError::Sql {
        path: path.to_path_buf(),
        source,
    }
}

/// The directory a run is found in, as the history keeps it: absolute when it can be.
fn dir_text(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

fn put_run(
    tx: &Transaction,
    dir: &Path,
    r: &RunResults,
    journal_sha256: Option<&str>,
) -> rusqlite::Result<()> {
    let n = &r.counts;
    tx.execute(
        "INSERT INTO runs (run_id, started, ended, host, tool_version, plan_name, plan_sha256,
             plan_path, shard, merged_from, verdict, exit_code, interrupted, resumed, cases, pass,
             marginal, fail, error, aborted, unfinished, recovered, dir, journal_sha256,
             recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)
         ON CONFLICT(run_id) DO UPDATE SET
             started = excluded.started, ended = excluded.ended, host = excluded.host,
             tool_version = excluded.tool_version, plan_name = excluded.plan_name,
             plan_sha256 = excluded.plan_sha256, plan_path = excluded.plan_path,
             shard = excluded.shard, merged_from = excluded.merged_from,
             verdict = excluded.verdict, exit_code = excluded.exit_code,
             interrupted = excluded.interrupted, resumed = excluded.resumed,
             cases = excluded.cases, pass = excluded.pass, marginal = excluded.marginal,
             fail = excluded.fail, error = excluded.error, aborted = excluded.aborted,
             unfinished = excluded.unfinished, recovered = excluded.recovered,
             dir = excluded.dir,
             journal_sha256 = coalesce(excluded.journal_sha256, runs.journal_sha256),
             recorded_at = excluded.recorded_at",
        params![
            r.run_id,
            r.started,
            r.ended,
            r.host,
            r.tool_version,
            r.plan_name,
            r.plan.as_ref().map(|p| p.sha256.clone()),
            r.plan.as_ref().map(|p| p.path.clone()),
            r.shard.map(|(i, n)| format!("{i}/{n}")),
            (!r.merged_from.is_empty()).then(|| r.merged_from.join(",")),
            r.verdict.name(),
            r.exit_code,
            r.interrupted,
            r.resumed,
            n.cases as i64,
            n.pass as i64,
            n.marginal as i64,
            n.fail as i64,
            n.error as i64,
            n.aborted as i64,
            n.unfinished as i64,
            n.recovered as i64,
            dir_text(dir),
            journal_sha256,
            crate::util::clock::now_rfc3339(),
        ],
    )?;
    Ok(())
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn put_case(tx: &Transaction, dir: &Path, run_id: &str, c: &CaseResult) -> rusqlite::Result<()> {
    let k = rows::key_measures(dir, c);
    tx.execute(
        "DELETE FROM cases WHERE run_id = ?1 AND case_id = ?2",
        params![run_id, c.info.id],
    )?;
    tx.execute(
        "INSERT INTO cases (run_id, case_id, station, model, dots, pattern, condition, repeat,
             firmware, verdict, recovered, attempts, reasons, solid_density, column_mean,
             column_min, bands, elements, stress, duration_s)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20)",
        params![
            run_id,
            c.info.id,
            c.info.station,
            c.info.model,
            c.info.dots,
            c.info.pattern,
            c.info.condition,
            c.info.repeat,
            c.firmware,
            c.verdict.map(|v| v.name()),
            c.recovered,
            c.attempts.len() as i64,
            json(&c.reasons),
            k.solid_density,
            k.column_mean,
            k.column_min,
            (!k.bands.is_empty()).then(|| json(&k.bands)),
            k.elements.as_ref().map(json),
            k.stress.as_ref().map(json),
            c.duration_s,
        ],
    )?;
    let mut attempt = tx.prepare_cached(
        "INSERT INTO attempts (run_id, case_id, attempt, verdict, ended, reasons, error,
             duration_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for a in &c.attempts {
        attempt.execute(params![
            run_id,
            c.info.id,
            a.attempt,
            a.verdict.name(),
            a.ended,
            json(&a.reasons),
            a.error,
            a.steps.iter().map(|s| s.duration_s).sum::<f64>(),
        ])?;
    }
    let mut defect = tx.prepare_cached(
        "INSERT INTO defects (run_id, case_id, kind, severity, axis, start, end, depth,
             expected, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for d in &c.defects {
        defect.execute(params![
            run_id,
            c.info.id,
            d.kind.name(),
            d.severity.name(),
            d.axis.name(),
            d.start,
            d.end,
            d.depth,
            d.expected,
            d.detail,
        ])?;
    }
    Ok(())
}

/// The history a command reads: `--history FILE` when given, else `history.sqlite` in the
/// results directory.
pub fn locate(history: Option<&Path>, results: &Path) -> PathBuf {
    history.map_or_else(|| results.join(FILE), Path::to_path_buf)
}

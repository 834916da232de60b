//! The history database's schema and its migrations: each version's SQL, applied in order
//! inside one transaction, the version kept in SQLite's `user_version`. A database written
//! by a newer printrig is refused, never rewritten. `docs/history.md` documents the tables.

use rusqlite::Connection;

/// Migrations in order: `MIGRATIONS[i]` takes a database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: runs, cases, attempts, defects.
    "
    CREATE TABLE runs (
        run_id         TEXT PRIMARY KEY,
        started        TEXT NOT NULL,
        ended          TEXT,
        host           TEXT NOT NULL,
        tool_version   TEXT NOT NULL,
        plan_name      TEXT,
        plan_sha256    TEXT,
        plan_path      TEXT,
        shard          TEXT,
        merged_from    TEXT,
        verdict        TEXT NOT NULL,
        exit_code      INTEGER NOT NULL,
        interrupted    INTEGER NOT NULL,
        resumed        INTEGER NOT NULL,
        cases          INTEGER NOT NULL,
        pass           INTEGER NOT NULL,
        marginal       INTEGER NOT NULL,
        fail           INTEGER NOT NULL,
        error          INTEGER NOT NULL,
        aborted        INTEGER NOT NULL,
        unfinished     INTEGER NOT NULL,
        recovered      INTEGER NOT NULL,
        dir            TEXT NOT NULL,
        journal_sha256 TEXT,
        recorded_at    TEXT NOT NULL
    );
    CREATE INDEX runs_by_start ON runs(started);
    CREATE TABLE cases (
        run_id        TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        case_id       TEXT NOT NULL,
        station       TEXT NOT NULL,
        model         TEXT NOT NULL,
        dots          INTEGER NOT NULL,
        pattern       TEXT NOT NULL,
        condition     TEXT NOT NULL,
        repeat        INTEGER NOT NULL,
        firmware      TEXT,
        verdict       TEXT,
        recovered     INTEGER NOT NULL,
        attempts      INTEGER NOT NULL,
        reasons       TEXT NOT NULL,
        solid_density REAL,
        column_mean   REAL,
        column_min    REAL,
        bands         TEXT,
        elements      TEXT,
        stress        TEXT,
        duration_s    REAL NOT NULL,
        PRIMARY KEY (run_id, case_id)
    );
    CREATE INDEX cases_by_case ON cases(case_id);
    CREATE INDEX cases_by_station ON cases(station);
    CREATE TABLE attempts (
        run_id     TEXT NOT NULL,
        case_id    TEXT NOT NULL,
        attempt    INTEGER NOT NULL,
        verdict    TEXT NOT NULL,
        ended      INTEGER NOT NULL,
        reasons    TEXT NOT NULL,
        error      TEXT,
        duration_s REAL NOT NULL,
        PRIMARY KEY (run_id, case_id, attempt),
        FOREIGN KEY (run_id, case_id) REFERENCES cases(run_id, case_id) ON DELETE CASCADE
    );
    CREATE TABLE defects (
        run_id   TEXT NOT NULL,
        case_id  TEXT NOT NULL,
        kind     TEXT NOT NULL,
        severity TEXT NOT NULL,
        axis     TEXT NOT NULL,
        start    INTEGER NOT NULL,
        end      INTEGER NOT NULL,
        depth    REAL NOT NULL,
        expected INTEGER NOT NULL,
        detail   TEXT NOT NULL,
        FOREIGN KEY (run_id, case_id) REFERENCES cases(run_id, case_id) ON DELETE CASCADE
    );
    CREATE INDEX defects_by_case ON defects(run_id, case_id);
    ",
];

/// The schema version this printrig writes.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// Why a database could not be brought to [`VERSION`].
#[derive(Debug)]
pub enum MigrateError {
    /// Written by a newer printrig (its version).
    Newer(u32),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sql(e)
    }
}

/// Brings the database to [`VERSION`], one transaction for all the steps it needs.
pub fn migrate(conn: &mut Connection) -> Result<u32, MigrateError> {
    let at: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if at > VERSION {
        return Err(MigrateError::Newer(at));
    }
    if at == VERSION {
        return Ok(at);
    }
    let tx = conn.transaction()?;
    for sql in &MIGRATIONS[at as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_is_migrated_once_and_a_newer_one_is_refused() {
        let mut c = Connection::open_in_memory().expect("sqlite");
        assert_eq!(migrate(&mut c).expect("migrates"), VERSION);
        // Again: nothing to do, nothing fails.
        assert_eq!(migrate(&mut c).expect("idempotent"), VERSION);
        let tables: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(tables, 4);
        c.pragma_update(None, "user_version", VERSION + 1)
            .expect("pragma");
        assert!(matches!(migrate(&mut c), Err(MigrateError::Newer(v)) if v == VERSION + 1));
    }
}

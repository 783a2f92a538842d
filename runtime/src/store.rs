//! The durable task record of one sealing thread, in SQLite on disk.
//!
//! One database per location (`<location>/meta.sqlite`; inspect it with `sqlite3`). It holds the
//! thread's current task (plan, state *by name*, the plan's data as JSON, retry counter, last
//! error), the log of every transition of every task, the tasks that ended, and records this
//! build could not read (quarantined, never deleted).
//!
//! Every transition is one SQLite transaction with `synchronous = FULL`, so it is on disk (fsync'd)
//! before the next step starts: after a crash the task resumes at the last persisted state.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// Format of the `task` row. A row with another format is quarantined, not guessed at.
pub const RECORD_FORMAT: i64 = 1;

/// The current task of a thread, as stored (not yet interpreted by a plan).
#[derive(Clone, Debug)]
pub struct RawRecord {
    pub uid: String,
    pub format: i64,
    pub plan: String,
    pub state: String,
    pub data: String,
    pub retry: u32,
    pub last_error: Option<String>,
    pub sector: Option<String>,
    pub started_at_ms: i64,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TransitionRow {
    pub seq: i64,
    pub task_uid: String,
    pub sector: Option<String>,
    pub plan: String,
    pub from_state: String,
    pub event: String,
    pub to_state: String,
    pub at_ms: i64,
    /// How long the step that produced the event took.
    pub step_ms: i64,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct HistoryRow {
    pub task_uid: String,
    pub sector: Option<String>,
    pub plan: String,
    /// `Finished` or `Abort`.
    pub outcome: String,
    pub reason: Option<String>,
    pub started_at_ms: i64,
    pub ended_at_ms: i64,
    /// The plan's data at the end (commitments, proof, ...), JSON.
    pub data: String,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub struct TaskStore {
    conn: Connection,
    path: PathBuf,
    /// Held for the life of the store: two daemons on one location would corrupt each other.
    _lock: File,
}

impl TaskStore {
    pub fn db_path(location: &Path) -> PathBuf {
        location.join("meta.sqlite")
    }

    /// Open (creating if needed) the store of a location, taking its exclusive lock.
    pub fn open(location: &Path) -> Result<Self> {
        std::fs::create_dir_all(location)
            .with_context(|| format!("creating location {}", location.display()))?;
        let lock_path = location.join(".lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            bail!(
                "location {} is in use by another venus-worker process (lock {})",
                location.display(),
                lock_path.display()
            );
        }
        let path = Self::db_path(location);
        let conn =
            Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS task (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                uid TEXT NOT NULL,
                format INTEGER NOT NULL,
                plan TEXT NOT NULL,
                state TEXT NOT NULL,
                sector TEXT,
                data TEXT NOT NULL,
                retry INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                started_at_ms INTEGER NOT NULL,
                updated_at_ms INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS transitions (
                seq INTEGER PRIMARY KEY,
                task_uid TEXT NOT NULL,
                sector TEXT,
                plan TEXT NOT NULL,
                from_state TEXT NOT NULL,
                event TEXT NOT NULL,
                to_state TEXT NOT NULL,
                at_ms INTEGER NOT NULL,
                step_ms INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS history (
                task_uid TEXT PRIMARY KEY,
                sector TEXT,
                plan TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT,
                started_at_ms INTEGER NOT NULL,
                ended_at_ms INTEGER NOT NULL,
                data TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS quarantine (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                quarantined_at_ms INTEGER NOT NULL,
                reason TEXT NOT NULL,
                row_json TEXT NOT NULL
             );",
        )
        .with_context(|| format!("initialising {}", path.display()))?;
        Ok(TaskStore {
            conn,
            path,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current task, if any. Errors only for database failures; an unreadable *content* is
    /// the caller's to judge (it has the plan).
    pub fn load(&self) -> Result<Option<RawRecord>> {
        self.conn
            .query_row(
                "SELECT uid, format, plan, state, data, retry, last_error, sector, started_at_ms FROM task WHERE id = 1",
                [],
                |r| {
                    Ok(RawRecord {
                        uid: r.get(0)?,
                        format: r.get(1)?,
                        plan: r.get(2)?,
                        state: r.get(3)?,
                        data: r.get(4)?,
                        retry: r.get::<_, i64>(5)? as u32,
                        last_error: r.get(6)?,
                        sector: r.get(7)?,
                        started_at_ms: r.get(8)?,
                    })
                },
            )
            .optional()
            .with_context(|| format!("reading the task record in {}", self.path.display()))
    }

    /// Start a new task.
    pub fn create(&mut self, plan: &str, state: &str, data: &str) -> Result<RawRecord> {
        let uid = format!("{:016x}", rand::random::<u64>());
        let now = now_ms();
        self.conn.execute(
            "INSERT INTO task (id, uid, format, plan, state, sector, data, retry, last_error, started_at_ms, updated_at_ms)
             VALUES (1, ?1, ?2, ?3, ?4, NULL, ?5, 0, NULL, ?6, ?6)",
            params![uid, RECORD_FORMAT, plan, state, data, now],
        )?;
        Ok(RawRecord {
            uid,
            format: RECORD_FORMAT,
            plan: plan.into(),
            state: state.into(),
            data: data.into(),
            retry: 0,
            last_error: None,
            sector: None,
            started_at_ms: now,
        })
    }

    /// Persist one transition: the new state and data, and a log row, atomically and durably.
    pub fn transition(
        &mut self,
        rec: &RawRecord,
        from: &str,
        event: &str,
        step_ms: i64,
    ) -> Result<()> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Cached statements: this runs on every transition, and compiling the SQL each time costs
        // as much as the write itself on a fast disk (docs/benchmarks.md, benchmark 3).
        let n = tx
            .prepare_cached(
                "UPDATE task SET state = ?1, data = ?2, sector = ?3, retry = 0, last_error = NULL, updated_at_ms = ?4
                 WHERE id = 1 AND uid = ?5",
            )?
            .execute(params![rec.state, rec.data, rec.sector, now, rec.uid])?;
        if n != 1 {
            bail!("task record {} vanished while it was running", rec.uid);
        }
        tx.prepare_cached(
            "INSERT INTO transitions (task_uid, sector, plan, from_state, event, to_state, at_ms, step_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![rec.uid, rec.sector, rec.plan, from, event, rec.state, now, step_ms])?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_retry(&mut self, uid: &str, retry: u32) -> Result<()> {
        self.conn.execute(
            "UPDATE task SET retry = ?1, updated_at_ms = ?2 WHERE id = 1 AND uid = ?3",
            params![retry as i64, now_ms(), uid],
        )?;
        Ok(())
    }

    pub fn set_last_error(&mut self, uid: &str, err: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE task SET last_error = ?1, updated_at_ms = ?2 WHERE id = 1 AND uid = ?3",
            params![err, now_ms(), uid],
        )?;
        Ok(())
    }

    /// End the current task: move it to history and clear the slot for the next one.
    pub fn finish(&mut self, rec: &RawRecord, outcome: &str, reason: Option<&str>) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR REPLACE INTO history (task_uid, sector, plan, outcome, reason, started_at_ms, ended_at_ms, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![rec.uid, rec.sector, rec.plan, outcome, reason, rec.started_at_ms, now_ms(), rec.data],
        )?;
        tx.execute(
            "DELETE FROM task WHERE id = 1 AND uid = ?1",
            params![rec.uid],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Move an unreadable record out of the way, keeping every byte of it.
    pub fn quarantine(&mut self, reason: &str) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<String> = tx
            .query_row(
                "SELECT json_object('uid', uid, 'format', format, 'plan', plan, 'state', state, 'sector', sector,
                        'data', data, 'retry', retry, 'last_error', last_error,
                        'started_at_ms', started_at_ms, 'updated_at_ms', updated_at_ms)
                 FROM task WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(row) = row {
            tx.execute(
                "INSERT INTO quarantine (quarantined_at_ms, reason, row_json) VALUES (?1, ?2, ?3)",
                params![now_ms(), reason, row],
            )?;
            tx.execute("DELETE FROM task WHERE id = 1", [])?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn quarantined_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0))?)
    }
}

const HISTORY_COLUMNS: &str =
    "task_uid, sector, plan, outcome, reason, started_at_ms, ended_at_ms, data";
const TRANSITION_COLUMNS: &str =
    "seq, task_uid, sector, plan, from_state, event, to_state, at_ms, step_ms";

fn history_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryRow> {
    Ok(HistoryRow {
        task_uid: r.get(0)?,
        sector: r.get(1)?,
        plan: r.get(2)?,
        outcome: r.get(3)?,
        reason: r.get(4)?,
        started_at_ms: r.get(5)?,
        ended_at_ms: r.get(6)?,
        data: r.get(7)?,
    })
}

fn transition_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TransitionRow> {
    Ok(TransitionRow {
        seq: r.get(0)?,
        task_uid: r.get(1)?,
        sector: r.get(2)?,
        plan: r.get(3)?,
        from_state: r.get(4)?,
        event: r.get(5)?,
        to_state: r.get(6)?,
        at_ms: r.get(7)?,
        step_ms: r.get(8)?,
    })
}

/// Read-only view of a location's ended tasks and transition log, for tools and tests (no lock
/// taken: SQLite's WAL lets a reader see committed data while the daemon runs).
pub fn read_history(location: &Path) -> Result<(Vec<HistoryRow>, Vec<TransitionRow>)> {
    let path = TaskStore::db_path(location);
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", path.display()))?;
    let history = conn
        .prepare(&format!(
            "SELECT {HISTORY_COLUMNS} FROM history ORDER BY ended_at_ms"
        ))?
        .query_map([], history_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let transitions = conn
        .prepare(&format!(
            "SELECT {TRANSITION_COLUMNS} FROM transitions ORDER BY seq"
        ))?
        .query_map([], transition_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((history, transitions))
}

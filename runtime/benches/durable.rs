//! Benchmark 3 of docs/benchmarks.md: one durable transition, `TaskStore::transition` (the
//! engine's: UPDATE of the task row and INSERT of the log row in one transaction, committed with
//! `synchronous = FULL`, i.e. fsync'd), against one raw fsync'd write of the same bytes to the same
//! database file with the same settings (WAL, `synchronous = FULL`): a single-row UPDATE of a
//! blob holding the record's state, data, sector and the log row's names, in autocommit.
//!
//! Two record sizes, both from real 2KiB runs: about 1 KiB (the task data before C1) and about
//! 100 KiB (after C1, whose output the record then carries until the task ends).
//!
//! The database lives in a temporary directory on the same filesystem as the worker's locations
//! (`$TMPDIR`, or `VENUS_BENCH_DIR`). Run alone: `cargo bench -p venus-runtime --bench durable`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rusqlite::{params, Connection};
use venus_runtime::store::{RawRecord, TaskStore};

/// Record sizes measured: (label, bytes of task data JSON).
const SIZES: &[(&str, usize)] = &[("1KiB", 1_300), ("100KiB", 100_000)];

fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("VENUS_BENCH_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).expect("VENUS_BENCH_DIR");
            tempfile::tempdir_in(d).expect("temp dir")
        }
        None => tempfile::tempdir().expect("temp dir"),
    }
}

fn data_of(len: usize, fill: char) -> String {
    // Task data is JSON; its content does not matter to SQLite, its length does.
    let s = format!("{{\"pad\":\"{}\"}}", fill.to_string().repeat(len - 10));
    assert_eq!(s.len(), len);
    s
}

/// The bytes one transition writes: the task row's new values and the log row's names.
fn same_bytes(rec: &RawRecord, from: &str, event: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for part in [
        rec.state.as_str(),
        rec.data.as_str(),
        rec.sector.as_deref().unwrap_or(""),
        rec.uid.as_str(),
        rec.plan.as_str(),
        from,
        event,
    ] {
        b.extend_from_slice(part.as_bytes());
    }
    b
}

fn bench_durable(c: &mut Criterion) {
    let mut g = c.benchmark_group("durable");
    g.sample_size(30);
    for &(label, len) in SIZES {
        let dir = bench_dir();
        let mut store = TaskStore::open(dir.path()).expect("task store");
        // Every transition writes new data (as in a run, where each event adds to it): two
        // records of the same size that differ in every byte of the data, written in turn.
        // (SQLite skips rewriting overflow pages whose content did not change.)
        let datas = [data_of(len, 'x'), data_of(len, 'y')];
        let mut rec = store
            .create("sealer", "PC1Done", &datas[0])
            .expect("task record");
        rec.sector = Some("s-t01000-1".into());
        let states = ["PC1Done", "PC2Done"];

        // The raw side: a second connection to the very same database file, same settings.
        let raw = Connection::open(TaskStore::db_path(dir.path())).expect("raw connection");
        raw.pragma_update(None, "journal_mode", "WAL").unwrap();
        raw.pragma_update(None, "synchronous", "FULL").unwrap();
        raw.execute_batch(
            "CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);
             INSERT OR REPLACE INTO bench_raw (id, bytes) VALUES (1, x'');",
        )
        .unwrap();
        let bytes: Vec<Vec<u8>> = (0..2)
            .map(|k| {
                let mut r = rec.clone();
                r.state = states[(k + 1) % 2].into();
                r.data = datas[(k + 1) % 2].clone();
                same_bytes(&r, states[k % 2], "PC2")
            })
            .collect();
        let mut raw_stmt = raw
            .prepare("UPDATE bench_raw SET bytes = ?1 WHERE id = 1")
            .unwrap();

        let mut i = 0usize;
        let mut write = |which: usize| -> Duration {
            match which {
                0 => {
                    // The engine's durable transition (state and data changed, log row added).
                    let from = states[i % 2];
                    rec.state = states[(i + 1) % 2].into();
                    rec.data.clone_from(&datas[(i + 1) % 2]);
                    let t = Instant::now();
                    store.transition(&rec, from, "PC2", 1).expect("transition");
                    let d = t.elapsed();
                    i += 1;
                    d
                }
                1 => {
                    // The same bytes, one prepared statement, autocommit: one fsync'd commit.
                    let t = Instant::now();
                    let n = raw_stmt.execute(params![bytes[i % 2]]).expect("raw write");
                    let d = t.elapsed();
                    assert_eq!(n, 1);
                    d
                }
                _ => {
                    // Diagnostic: the store's own two statements in one transaction, but with
                    // statements prepared once (cached) instead of compiled on every call.
                    let (to, from) = (states[(i + 1) % 2], states[i % 2]);
                    let t = Instant::now();
                    raw.execute_batch("BEGIN IMMEDIATE").unwrap();
                    raw.prepare_cached(
                        "UPDATE task SET state = ?1, data = ?2, sector = ?3, retry = 0, last_error = NULL, updated_at_ms = ?4
                         WHERE id = 1 AND uid = ?5",
                    )
                    .unwrap()
                    .execute(params![to, datas[(i + 1) % 2], rec.sector, 0i64, rec.uid])
                    .unwrap();
                    raw.prepare_cached(
                        "INSERT INTO transitions (task_uid, sector, plan, from_state, event, to_state, at_ms, step_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .unwrap()
                    .execute(params![rec.uid, rec.sector, rec.plan, from, "PC2", to, 0i64, 1i64])
                    .unwrap();
                    raw.execute_batch("COMMIT").unwrap();
                    t.elapsed()
                }
            }
        };
        // Every sample of any of the three times all three, one after the other in an order
        // that rotates, and reports its own: fsync latency on a shared machine drifts, and this
        // way all sides see the same disk (and share the WAL and its checkpoints).
        for (which, name) in ["transition", "raw", "same-sql-prepared"]
            .into_iter()
            .enumerate()
        {
            let mut sample = 0usize;
            g.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter_custom(|iters| {
                    sample += 1;
                    let mut mine = Duration::ZERO;
                    for j in 0..iters as usize {
                        for k in 0..3 {
                            let op = (j + sample + k) % 3;
                            let d = write(op);
                            if op == which {
                                mine += d;
                            }
                        }
                    }
                    mine
                })
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench_durable
}
criterion_main!(benches);

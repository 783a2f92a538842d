//! One manager, three workers, real proofs, all on loopback: the `venus-sector-manager daemon`
//! process and three `venus-worker daemon` processes (distinct control ports, one sealer thread
//! each, `c2 = 1`), talking the `Venus.*` JSON-RPC API with the manager's token.
//!
//! 1. Each worker seals one real 2KiB sector (real PC1/PC2/C1/C2); the manager verifies every proof
//!    with the real verifier. All sectors are distinct, each sealed by a different worker, landed
//!    in the manager's database, and persisted in the store the workers share with the manager.
//! 2. `w1` (short `seal_interval`) takes a second sector; the operator pauses that task from the
//!    manager side (`util worker pause w1 0`), then `util worker resume w1 0 Abort` aborts it: the
//!    worker ends the task and the manager records the abort.
//! 3. `w1` takes a third sector; the operator aborts it on the manager (`util sealer sectors abort
//!    ... --really-do-it`): the worker learns it from its next state report and ends the task.
//!
//! Heavy: three real seals at once on the machine's cores (about 3-4 minutes on 2 cores).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{free_port, out, Guard, ManagerProc, WORKER};
use venus_runtime::control::{ThreadState, WorkerInfo};
use venus_runtime::control_api::ControlClient;
use venus_runtime::manager::ManagerAdmin;
use venus_runtime::store::{read_history, HistoryRow};

struct W {
    name: &'static str,
    port: u16,
    location: PathBuf,
    _guard: Guard,
}

fn start_worker(
    dir: &Path,
    name: &'static str,
    seal_interval: &str,
    m: &ManagerProc,
    store: &Path,
) -> W {
    let port = free_port();
    let text = format!(
        r#"
[worker]
name = "{name}"
ping_interval = "1s"
[worker.rpc_server]
host = "127.0.0.1"
port = {port}
[sector_manager]
rpc_client.addr = "{api}"
token = "{token}"
[sealing]
allowed_sizes = ["2KiB"]
max_retries = 5
retry_backoff = "1s"
retry_max_backoff = "5s"
seal_interval = "{seal_interval}"
recover_interval = "1s"
rpc_polling_interval = "1s"
[[sealing_thread]]
location = "{name}/sealer"
plan = "sealer"
[[attached]]
name = "shared"
location = "{store}"
[processors.limitation.concurrent]
c2 = 1
"#,
        api = m.api,
        token = m.token,
        store = store.display()
    );
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg, text).unwrap();
    let log = dir.join(format!("{name}.log"));
    let child = Command::new(WORKER)
        .args(["daemon", "-c"])
        .arg(&cfg)
        .env("RUST_LOG", "warn,venus_runtime=info")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    W {
        name,
        port,
        location: dir.join(name).join("sealer"),
        _guard: Guard { child, log },
    }
}

impl W {
    async fn thread(&self) -> WorkerInfo {
        ControlClient::new(&format!("127.0.0.1:{}", self.port))
            .unwrap()
            .list()
            .await
            .unwrap()
            .remove(0)
    }
    fn history(&self) -> Vec<HistoryRow> {
        read_history(&self.location)
            .map(|h| h.0)
            .unwrap_or_default()
    }
    fn alive(&mut self) -> bool {
        self._guard.child.try_wait().unwrap().is_none()
    }
}

/// Polling with a deadline: `tick` sleeps a little, or fails the test once `what` took too long.
struct Deadline {
    what: &'static str,
    at: Instant,
}

impl Deadline {
    fn new(what: &'static str, timeout: Duration) -> Self {
        Deadline {
            what,
            at: Instant::now() + timeout,
        }
    }
    async fn tick(&self) {
        assert!(
            Instant::now() < self.at,
            "timed out waiting for {}",
            self.what
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_seal_distinct_real_sectors_and_the_manager_aborts_a_paused_task() {
    let status = Command::new(WORKER).arg("params").status().unwrap();
    assert!(status.success(), "parameter generation failed");

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store_arg = format!("shared={}", store.display());
    // Five sectors in all: three seals, then two for w1 to abort. The seed comes 15 s after the
    // PreCommit landed (as on chain, after a challenge delay): everything before C2 takes a fraction
    // of a second for 2KiB, so that wait is where the operator catches w1's later tasks.
    let m = ManagerProc::start(
        &dir.path().join("manager"),
        &[
            "--store",
            &store_arg,
            "--max-sectors",
            "5",
            "--seed-delay",
            "15s",
        ],
    );
    let admin = m.client();
    let mut workers = vec![
        start_worker(dir.path(), "w1", "1s", &m, &store),
        start_worker(dir.path(), "w2", "1h", &m, &store),
        start_worker(dir.path(), "w3", "1h", &m, &store),
    ];

    // 1. Three real sectors, one per worker, proofs verified by the manager. Meanwhile, as soon as
    //    w1 has finished its first sector and taken the next one (sector 4), pause that task from
    //    the manager side (early, so that it does not compete with the other seals).
    let started = Instant::now();
    let mut pause_sent = false;
    let dl = Deadline::new("three sealed sectors", Duration::from_secs(20 * 60));
    let sealed = loop {
        for w in workers.iter_mut() {
            assert!(w.alive(), "worker {} died", w.name);
        }
        if !pause_sent {
            let w1 = &workers[0];
            if let Some(first) = w1.history().first().and_then(|h| h.sector.clone()) {
                let t = w1.thread().await;
                if t.job_id.is_some() && t.job_id.as_deref() != Some(first.as_str()) {
                    assert_eq!(t.job_id.as_deref(), Some("s-t01000-4"), "{t:?}");
                    let o = m.util(&["worker", "pause", "w1", "0"]);
                    assert!(o.status.success(), "{}", out(&o));
                    pause_sent = true;
                }
            }
        }
        let s = admin.sectors_list().await.unwrap();
        let done: Vec<_> = s
            .into_iter()
            .filter(|s| s.state == "Finalized" && s.proof_verified)
            .collect();
        if done.len() == 3 && pause_sent {
            break done;
        }
        dl.tick().await;
    };
    eprintln!("three real sectors sealed in {:?}", started.elapsed());
    let numbers: BTreeSet<u64> = sealed.iter().map(|s| s.id.number).collect();
    assert_eq!(numbers, BTreeSet::from([1, 2, 3]), "{sealed:?}");
    let by: BTreeSet<&str> = sealed.iter().filter_map(|s| s.worker.as_deref()).collect();
    assert_eq!(
        by,
        BTreeSet::from(["w1", "w2", "w3"]),
        "one sector per worker: {sealed:?}"
    );
    for w in &workers {
        let h = w.history();
        let first = &h[0];
        assert_eq!(first.outcome, "Finished", "{}: {:?}", w.name, first.reason);
        let mine = sealed
            .iter()
            .find(|s| s.worker.as_deref() == Some(w.name))
            .unwrap();
        assert_eq!(first.sector.as_deref(), Some(mine.id.to_string().as_str()));
        for p in ["sealed", "cache"] {
            assert!(
                store.join(p).join(mine.id.to_string()).exists(),
                "{p}/{} not in the shared store",
                mine.id
            );
        }
    }
    // The manager's own database: every proof stored and marked landed.
    let db = rusqlite::Connection::open_with_flags(
        m.home.join("manager.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    for n in 1..=3u64 {
        let (landed, proof_len): (i64, i64) = db
            .query_row(
                "SELECT proof_landed, length(proof) FROM sectors WHERE miner = 1000 AND number = ?1",
                [n],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(landed, 1);
        assert!(proof_len > 0);
    }
    // The ping registry knows the three workers and where their control APIs are.
    let o = m.util(&["worker", "list"]);
    assert!(o.status.success(), "{}", out(&o));
    let list = String::from_utf8_lossy(&o.stdout).into_owned();
    for w in &workers {
        let line = list
            .lines()
            .find(|l| l.starts_with(w.name))
            .unwrap_or_else(|| panic!("{} missing: {list}", w.name));
        assert!(line.contains(&format!("127.0.0.1:{}", w.port)), "{line}");
    }

    // 2. w1's task of sector 4, paused from the manager side above, is aborted with a resume.
    let w1 = &workers[0];
    let dl = Deadline::new("w1's thread to pause", Duration::from_secs(300));
    let paused = loop {
        let t = w1.thread().await;
        if matches!(t.thread_state, ThreadState::Paused { .. }) {
            break t;
        }
        dl.tick().await;
    };
    assert_eq!(paused.job_id.as_deref(), Some("s-t01000-4"), "{paused:?}");
    assert!(
        !paused.job_state.is_empty() && paused.job_state != "Empty",
        "a task with a sector is paused: {paused:?}"
    );
    let o = m.util(&["worker", "resume", "w1", "0", "Abort"]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("resumed at Abort"),
        "{}",
        out(&o)
    );
    let dl = Deadline::new(
        "the manager to record the abort of sector 4",
        Duration::from_secs(60),
    );
    let aborted = loop {
        let s = admin.sectors_list().await.unwrap();
        if let Some(s) = s
            .into_iter()
            .find(|s| s.id.number == 4 && s.state == "Aborted")
        {
            break s;
        }
        dl.tick().await;
    };
    assert_eq!(aborted.worker.as_deref(), Some("w1"));
    let h = w1.history();
    let row = h
        .iter()
        .find(|r| r.sector.as_deref() == Some("s-t01000-4"))
        .expect("w1 ended the task of sector 4");
    assert_eq!(row.outcome, "Abort");
    assert!(!w1.location.join("data/sealed/s-t01000-4").exists());

    // 3. w1 takes sector 5; the operator aborts it on the manager; the worker follows.
    let dl = Deadline::new("w1's third task", Duration::from_secs(120));
    while w1.thread().await.job_id.as_deref() != Some("s-t01000-5") {
        dl.tick().await;
    }
    let o = m.util(&[
        "sealer",
        "sectors",
        "abort",
        "1000",
        "5",
        "--really-do-it",
        "--reason",
        "operator test",
    ]);
    assert!(o.status.success(), "{}", out(&o));
    let dl = Deadline::new("w1 to end the task of sector 5", Duration::from_secs(300));
    let row = loop {
        let h = w1.history();
        if let Some(r) = h
            .into_iter()
            .find(|r| r.sector.as_deref() == Some("s-t01000-5"))
        {
            break r;
        }
        dl.tick().await;
    };
    assert_eq!(row.outcome, "Abort");
    assert!(
        row.reason
            .as_deref()
            .unwrap_or_default()
            .contains("operator test"),
        "{row:?}"
    );
    let s5 = admin
        .sectors_list()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id.number == 5)
        .unwrap();
    assert_eq!(
        (s5.state.as_str(), s5.abort_reason.as_deref()),
        ("Aborted", Some("operator test"))
    );
    // The three sealed sectors are untouched by all this.
    let still: Vec<_> = admin
        .sectors_list()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.state == "Finalized" && s.proof_verified)
        .map(|s| s.id.number)
        .collect();
    assert_eq!(still, vec![1, 2, 3]);
    eprintln!("done in {:?}", started.elapsed());
}

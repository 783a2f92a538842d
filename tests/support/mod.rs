//! Shared helpers of the in-process integration suites: a worker on fake proofs (instant) with the
//! real engine, real SQLite stores and the real embedded manager, in a temporary directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use venus_runtime::config::Config;
use venus_runtime::control::Activity;
use venus_runtime::testing::{FakeProofs, Fault, FaultInjector};
use venus_runtime::worker::{RunOptions, Worker};

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub worker: Arc<Worker>,
    pub faults: Arc<FaultInjector>,
    pub run: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Config with the given threads (plan names), fast intervals, 3 retries.
pub fn config(dir: &Path, plans: &[&str], extra: &str) -> Config {
    let mut text = String::from(
        "[sector_manager.embedded]\nhome = \"manager\"\n\
         [sealing]\nallowed_sizes = [\"2KiB\"]\nmax_retries = 3\nretry_backoff = \"10ms\"\n\
         retry_max_backoff = \"40ms\"\nseal_interval = \"10ms\"\nrecover_interval = \"20ms\"\n\
         rpc_polling_interval = \"10ms\"\n[worker.rpc_server]\nport = 0\n",
    );
    for (i, p) in plans.iter().enumerate() {
        text.push_str(&format!(
            "[[sealing_thread]]\nlocation = \"t{i}-{p}\"\nplan = \"{p}\"\n"
        ));
    }
    text.push_str(extra);
    Config::parse(&text, dir).expect("test config")
}

pub fn start(plans: &[&str], faults: Vec<Fault>, tasks: usize, extra: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), plans, extra);
    let faults = Arc::new(FaultInjector::new(faults));
    let worker = Arc::new(
        Worker::new(cfg, Arc::new(FakeProofs), None)
            .unwrap()
            .with_faults(faults.clone()),
    );
    let w = worker.clone();
    let run = tokio::spawn(async move {
        w.run(RunOptions {
            tasks_per_thread: Some(tasks),
            stop_on_pause: false,
        })
        .await
    });
    Harness {
        dir,
        worker,
        faults,
        run,
    }
}

impl Harness {
    pub fn location(&self, index: usize) -> PathBuf {
        self.worker.threads[index].location.clone()
    }

    /// Wait until thread `index` is paused; returns its last error.
    pub async fn wait_paused(&self, index: usize) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let st = self.worker.threads[index].control.status();
            if st.activity == Activity::Paused {
                return st.last_error;
            }
            assert!(
                !self.run.is_finished() && Instant::now() < deadline,
                "thread {index} never paused (state {:?}, activity {:?})",
                st.state,
                st.activity
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn wait_done(self) -> Self {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.run.is_finished() {
            if Instant::now() > deadline {
                let states: Vec<_> = self
                    .worker
                    .threads
                    .iter()
                    .map(|t| t.control.status())
                    .collect();
                panic!("worker did not finish: {states:#?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self
    }

    /// (from, event, to) of every persisted transition of thread `index`, in order.
    pub fn transitions(&self, index: usize) -> Vec<(String, String, String)> {
        let (_, rows) = venus_runtime::store::read_history(&self.location(index)).unwrap();
        rows.into_iter()
            .map(|r| (r.from_state, r.event, r.to_state))
            .collect()
    }

    /// Outcomes of the ended tasks of thread `index`.
    pub fn outcomes(&self, index: usize) -> Vec<String> {
        let (h, _) = venus_runtime::store::read_history(&self.location(index)).unwrap();
        h.into_iter().map(|r| r.outcome).collect()
    }

    /// The current (unfinished) record's state of thread `index`, read from disk.
    pub fn persisted_state(&self, index: usize) -> Option<String> {
        let db = rusqlite::Connection::open(self.location(index).join("meta.sqlite")).unwrap();
        db.query_row("SELECT state FROM task WHERE id = 1", [], |r| r.get(0))
            .ok()
    }
}

/// The plan's forward path: from Empty, always the first transition to a state not seen yet.
pub fn happy_path(meta: &plan_meta::rt::PlanMeta) -> Vec<(String, String, String)> {
    let mut path = Vec::new();
    let mut seen = vec!["Empty"];
    let mut cur = meta.state("Empty").unwrap();
    while !cur.terminal {
        let t = cur
            .transitions
            .iter()
            .find(|t| !seen.contains(&t.target))
            .expect("a way forward");
        path.push((
            cur.name.to_string(),
            t.event.to_string(),
            t.target.to_string(),
        ));
        seen.push(t.target);
        cur = meta.state(t.target).unwrap();
    }
    path
}

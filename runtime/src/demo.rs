//! `venus-worker demo`: the main job on real input, end to end.
//!
//! Generates missing 2KiB parameters, then runs the daemon with the shipped example config
//! (`examples/venus-worker.toml`: one sealer thread, one snapup thread, embedded manager) in a
//! fresh directory until each thread has ended one task: the sealer thread seals a real CC sector
//! (real PC1/PC2/C1/C2, proof verified by the manager), the snapup thread upgrades it with a real
//! deal piece (update proof verified). Then it prints, per sector and plan, every state with the
//! time its step took, and whether the proof was verified.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::config::Config;
use crate::proofs::Proofs;
use crate::store::read_history;
use crate::worker::{RunOptions, Worker};

/// The shipped example config; the demo writes it into its directory so that its relative paths
/// land there.
pub const EXAMPLE_CONFIG: &str = include_str!("../../examples/venus-worker.toml");

#[derive(Clone, Debug, Serialize)]
pub struct StepTime {
    pub from: String,
    pub event: String,
    pub to: String,
    pub step_ms: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TaskSummary {
    pub thread: usize,
    pub location: PathBuf,
    pub sector: String,
    pub plan: String,
    pub outcome: String,
    pub steps: Vec<StepTime>,
    pub total_ms: i64,
    pub proof_verified: bool,
}

/// Collect what every thread of `cfg` did, and what the embedded manager says of each sector.
pub async fn summarize(cfg: &Config, worker: &Worker) -> Result<Vec<TaskSummary>> {
    let sectors = match &worker.local_manager {
        Some(m) => m.list_sectors().await?,
        None => vec![],
    };
    let mut out = Vec::new();
    for (i, t) in cfg.sealing_thread.iter().enumerate() {
        let (history, transitions) = read_history(&t.location)?;
        for h in history {
            let steps: Vec<StepTime> = transitions
                .iter()
                .filter(|r| r.task_uid == h.task_uid)
                .map(|r| StepTime {
                    from: r.from_state.clone(),
                    event: r.event.clone(),
                    to: r.to_state.clone(),
                    step_ms: r.step_ms,
                })
                .collect();
            let sector = h.sector.clone().unwrap_or_else(|| "-".into());
            let verified = sectors.iter().any(|s| {
                s.id.to_string() == sector
                    && match h.plan.as_str() {
                        "snapup" => s.upgrade.as_deref() == Some("Upgraded"),
                        _ => s.proof_verified,
                    }
            });
            out.push(TaskSummary {
                thread: i,
                location: t.location.clone(),
                sector,
                plan: h.plan.clone(),
                outcome: h.outcome.clone(),
                total_ms: h.ended_at_ms - h.started_at_ms,
                steps,
                proof_verified: verified && h.outcome == "Finished",
            });
        }
    }
    Ok(out)
}

pub fn print_summary(tasks: &[TaskSummary]) {
    for t in tasks {
        println!(
            "sector {}  plan {}  thread #{}  outcome {}  total {:.1}s  proof verified: {}",
            t.sector,
            t.plan,
            t.thread,
            t.outcome,
            t.total_ms as f64 / 1000.0,
            if t.proof_verified { "yes" } else { "NO" }
        );
        for s in &t.steps {
            println!(
                "    {:<21} --{:<22}--> {:<21} {:>9.3}s",
                s.from,
                s.event,
                s.to,
                s.step_ms as f64 / 1000.0
            );
        }
    }
}

/// Run the demo in `dir` (wiped first). Returns the summaries; fails unless every task finished
/// with a verified proof.
pub async fn run(dir: &Path, proofs: Arc<dyn Proofs>) -> Result<Vec<TaskSummary>> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    let cfg_path = dir.join("venus-worker.toml");
    std::fs::write(&cfg_path, EXAMPLE_CONFIG)?;
    let cfg = Config::load(&cfg_path)?;
    let worker = Arc::new(Worker::new(cfg.clone(), proofs, None)?);
    worker
        .run(RunOptions {
            tasks_per_thread: Some(1),
            stop_on_pause: true,
        })
        .await?;
    let tasks = summarize(&cfg, &worker).await?;
    if tasks.len() != cfg.sealing_thread.len() || tasks.iter().any(|t| !t.proof_verified) {
        print_summary(&tasks);
        bail!("the demo did not finish every task with a verified proof");
    }
    Ok(tasks)
}

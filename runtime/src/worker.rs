//! The worker daemon: one sealing thread per `[[sealing_thread]]`, each a tokio task that runs one
//! task at a time from its own location, plus the pieces the operator talks to (resume
//! validation here; the control API in `control_api.rs`).
//!
//! A thread's plan is pinned in its task record: changing a thread's `plan` in the config only
//! affects its next task, never the sector it is working on.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::control::{Activity, Control, ResumeCmd};
use crate::engine::{run_task, Override, TaskEnd};
use crate::env::{Location, StageLimits, StepEnv, Stores};
use crate::manager::local::{LocalManager, LocalManagerConfig};
use crate::manager::SectorManager;
use crate::plans::{self, sealer, snapup};
use crate::proofs::Proofs;
use crate::store::TaskStore;
use crate::types::{WorkerPingInfo, WorkerThreadsSummary};

/// One configured sealing thread, as the control API sees it.
pub struct ThreadHandle {
    pub index: usize,
    pub location: PathBuf,
    pub plan: String,
    pub control: Arc<Control>,
}

pub struct Worker {
    pub name: String,
    pub threads: Vec<ThreadHandle>,
    pub manager: Arc<dyn SectorManager>,
    /// Set when the embedded manager is in use (tools and tests read its records).
    pub local_manager: Option<Arc<LocalManager>>,
    pub limits: Arc<StageLimits>,
    cfg: Config,
    proofs: Arc<dyn Proofs>,
    faults: Option<Arc<crate::testing::FaultInjector>>,
}

#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Stop each thread after this many tasks ended (None: run until shut down).
    pub tasks_per_thread: Option<usize>,
    /// End the thread with an error instead of waiting for a resume when it pauses (the demo
    /// and batch runs: nobody is there to resume it).
    pub stop_on_pause: bool,
}

/// Why a resume was refused (the message lists what would be accepted).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ResumeRefused(pub String);

impl Worker {
    /// Build the worker from its config: open or connect the manager, prepare thread controls.
    pub fn new(
        cfg: Config,
        proofs: Arc<dyn Proofs>,
        remote: Option<Arc<dyn SectorManager>>,
    ) -> Result<Self> {
        let name = cfg.worker_name();
        let (manager, local_manager): (Arc<dyn SectorManager>, _) = match remote {
            Some(m) => (m, None),
            None => {
                if !cfg.is_embedded() {
                    bail!("a remote sector manager is configured but no client was given");
                }
                let e = &cfg.sector_manager.embedded;
                let stores = cfg
                    .attached_stores()
                    .into_iter()
                    .map(|(n, p, _)| (n, p))
                    .collect();
                let lm = Arc::new(
                    LocalManager::open(
                        LocalManagerConfig {
                            home: e.home.clone(),
                            miner: e.miner,
                            proof_type: e.proof_type,
                            max_sectors: e.max_sectors,
                            stores,
                        },
                        proofs.clone(),
                    )
                    .context("opening the embedded sector manager")?,
                );
                (lm.clone() as Arc<dyn SectorManager>, Some(lm))
            }
        };
        let threads = cfg
            .sealing_thread
            .iter()
            .enumerate()
            .map(|(index, t)| ThreadHandle {
                index,
                location: t.location.clone(),
                plan: t.plan.clone(),
                control: Arc::new(Control::new(&t.plan)),
            })
            .collect();
        let limits = Arc::new(StageLimits::new(&cfg.processors.limitation.concurrent));
        Ok(Worker {
            name,
            threads,
            manager,
            local_manager,
            limits,
            cfg,
            proofs,
            faults: None,
        })
    }

    /// Test only: inject faults into the steps of every thread.
    pub fn with_faults(mut self, faults: Arc<crate::testing::FaultInjector>) -> Self {
        self.faults = Some(faults);
        self
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    fn env_for(&self, t: &ThreadHandle) -> Result<StepEnv> {
        let stores: Vec<_> = self.cfg.attached_stores();
        for (_, p, ro) in &stores {
            if !ro {
                std::fs::create_dir_all(p)
                    .with_context(|| format!("creating persist store {}", p.display()))?;
            }
        }
        Ok(StepEnv {
            index: t.index,
            worker_name: self.name.clone(),
            location: Location {
                root: t.location.clone(),
            },
            sealing: self.cfg.sealing_for(t.index)?,
            manager: self.manager.clone(),
            proofs: self.proofs.clone(),
            limits: self.limits.clone(),
            stores: Arc::new(Stores { stores }),
            local_pieces_dirs: self.cfg.worker.local_pieces_dirs.clone(),
            control: t.control.clone(),
            faults: self.faults.clone(),
        })
    }

    /// Run every sealing thread until shutdown (or until each has ended its task budget).
    pub async fn run(self: &Arc<Self>, opts: RunOptions) -> Result<()> {
        let mut handles = Vec::new();
        for t in &self.threads {
            let env = self.env_for(t)?;
            let plan = t.plan.clone();
            let max = opts.tasks_per_thread;
            let stop_on_pause = opts.stop_on_pause;
            let control = t.control.clone();
            let index = t.index;
            handles.push(tokio::spawn(async move {
                if let Err(e) = thread_loop(env, plan, max, stop_on_pause).await {
                    error!(thread = index, error = %format!("{e:#}"), "sealing thread stopped");
                    control.update(|s| {
                        s.activity = Activity::Stopped;
                        s.last_error = Some(format!("{e:#}"));
                    });
                }
            }));
        }
        let pinger = {
            let me = self.clone();
            tokio::spawn(async move { me.ping_loop().await })
        };
        for h in handles {
            let _ = h.await;
        }
        pinger.abort();
        Ok(())
    }

    pub fn shutdown(&self) {
        for t in &self.threads {
            t.control.request_shutdown();
        }
    }

    pub fn summary(&self) -> WorkerThreadsSummary {
        let mut s = WorkerThreadsSummary {
            threads: self.threads.len(),
            ..Default::default()
        };
        for t in &self.threads {
            let st = t.control.status();
            match st.activity {
                Activity::Paused => s.paused += 1,
                Activity::Running { .. } => s.running += 1,
                Activity::Waiting { .. } => s.waiting += 1,
                Activity::Idle | Activity::Stopped => {}
            }
            if st.state.is_none() || st.state.as_deref() == Some("Empty") {
                s.empty += 1;
            }
            if st.last_error.is_some() {
                s.errors += 1;
            }
        }
        s
    }

    async fn ping_loop(&self) {
        loop {
            let info = WorkerPingInfo {
                name: self.name.clone(),
                dest: self.cfg.control_addr(),
                version: env!("CARGO_PKG_VERSION").into(),
                summary: self.summary(),
            };
            if let Err(e) = self.manager.worker_ping(info).await {
                warn!(error = %e, "worker ping failed");
            }
            tokio::time::sleep(self.cfg.worker.ping_interval).await;
        }
    }

    pub fn thread(&self, index: usize) -> Result<&ThreadHandle, ResumeRefused> {
        self.threads.get(index).ok_or_else(|| {
            ResumeRefused(format!(
                "sealing thread #{index} does not exist (this worker has {} threads: 0..{})",
                self.threads.len(),
                self.threads.len().saturating_sub(1)
            ))
        })
    }

    /// Pause a thread at its next safe point. False if a pause is already pending or in effect.
    pub fn pause(&self, index: usize) -> Result<bool, ResumeRefused> {
        Ok(self.thread(index)?.control.request_pause())
    }

    /// Validate and deliver a resume. `Ok(false)`: the thread is not paused (nothing to resume).
    pub fn resume(
        &self,
        index: usize,
        state: Option<&str>,
        force: bool,
    ) -> Result<bool, ResumeRefused> {
        let t = self.thread(index)?;
        let status = t.control.status();
        if status.activity != Activity::Paused {
            return Ok(false);
        }
        // `Aborted` is the established worker's name for the abort state: accept it too.
        let state = state.map(|s| if s == "Aborted" { "Abort" } else { s });
        if let Some(target) = state {
            validate_resume(&status.plan, status.state.as_deref(), target, force)?;
        }
        Ok(t.control.resume(ResumeCmd {
            state: state.map(str::to_string),
        }))
    }
}

/// The rule for `resume --state S` on a task of `plan` that is in state `current`:
/// S must be a state of the plan, and be the current state, a state from which the current state
/// is reachable (a fall-back: that part of the flow runs again), or `Abort`. `force` allows any
/// state of the plan. Everything is checked before anything changes.
pub fn validate_resume(
    plan: &str,
    current: Option<&str>,
    target: &str,
    force: bool,
) -> Result<(), ResumeRefused> {
    let meta = plans::meta(plan).ok_or_else(|| ResumeRefused(format!("unknown plan {plan:?}")))?;
    let names: Vec<&str> = meta.state_names().collect();
    if !names.contains(&target) {
        let other = plans::NAMES
            .iter()
            .filter(|p| **p != plan)
            .find(|p| plans::meta(p).is_some_and(|m| m.state(target).is_some()));
        let hint = other
            .map(|p| format!(" ({target} is a state of the {p} plan)"))
            .unwrap_or_default();
        return Err(ResumeRefused(format!(
            "unknown state {target:?} for the {plan} plan{hint}; states of {plan}: {}",
            names.join(", ")
        )));
    }
    if target == "Abort" || force {
        return Ok(());
    }
    let Some(current) = current.filter(|c| meta.state(c).is_some()) else {
        return Err(ResumeRefused(format!(
            "the thread's task record cannot be read, so only Abort (quarantine it and start a new task) or --force are possible"
        )));
    };
    if target == current || meta.is_fall_back(target, current) {
        return Ok(());
    }
    let valid: Vec<&str> = names
        .iter()
        .copied()
        .filter(|s| *s == current || *s == "Abort" || meta.is_fall_back(s, current))
        .collect();
    Err(ResumeRefused(format!(
        "refusing to resume the {plan} task from {current} at {target}: {target} is not the current state, \
         nor a state the flow passes before {current}, nor Abort. Valid targets: {}. \
         Use --force to jump anyway (the task may lack the data {target} needs).",
        valid.join(", ")
    )))
}

/// The loop of one sealing thread: take a task, run it to its end or a pause, repeat.
async fn thread_loop(
    env: StepEnv,
    plan: String,
    max_tasks: Option<usize>,
    stop_on_pause: bool,
) -> Result<()> {
    let control = env.control.clone();
    let mut store = TaskStore::open(&env.location.root)?;
    info!(thread = env.index, location = %env.location.root.display(), plan = %plan, "sealing thread started");
    let mut ended = 0usize;
    let mut resume: Option<Override> = None;
    loop {
        if control.signals().shutdown || max_tasks.is_some_and(|m| ended >= m) {
            break;
        }
        let rec = match store.load()? {
            Some(r) => r,
            None => {
                if ended > 0
                    && !control.sleep(env.sealing.seal_interval).await
                    && control.signals().shutdown
                {
                    break;
                }
                if control.signals().pause {
                    pause_and_wait(&control, None).await;
                    continue;
                }
                store.create(&plan, "Empty", "{}")?
            }
        };
        let end = match rec.plan.as_str() {
            "sealer" => {
                run_task::<sealer::Plan>(&env, &mut store, rec.clone(), resume.take()).await
            }
            "snapup" => {
                run_task::<snapup::Plan>(&env, &mut store, rec.clone(), resume.take()).await
            }
            other => {
                TaskEnd::Unreadable(format!("the task record names an unknown plan {other:?}"))
            }
        };
        match end {
            TaskEnd::Finished | TaskEnd::Aborted(_) => {
                ended += 1;
                control.update(|s| {
                    s.state = None;
                    s.sector = None;
                    s.plan = plan.clone();
                });
            }
            TaskEnd::Paused(err) => {
                if control.signals().shutdown {
                    break;
                }
                if stop_on_pause {
                    bail!(
                        "thread paused: {}",
                        err.unwrap_or_else(|| "on request".into())
                    );
                }
                match pause_and_wait(&control, err).await {
                    Some(cmd) => resume = cmd.state.map(|state| Override { state }),
                    None => break,
                }
            }
            TaskEnd::Unreadable(why) => {
                let msg = format!(
                    "Critical: the task record in {} cannot be read by this build: {why}. It is kept as it is; \
                     `resume --state Abort` quarantines it (kept in the database's quarantine table) and starts a new task",
                    store.path().display()
                );
                error!(thread = env.index, "{msg}");
                control.update(|s| {
                    // Not a state the plan can resume from: only Abort (or --force) is accepted.
                    s.state = Some(format!("{} (unreadable)", rec.state));
                    s.plan = rec.plan.clone();
                    s.sector = rec.sector.clone();
                });
                match pause_and_wait(&control, Some(msg)).await {
                    Some(cmd) if cmd.state.as_deref() == Some("Abort") => {
                        store.quarantine(&why)?;
                        ended += 1;
                    }
                    Some(_) => {}
                    None => break,
                }
            }
        }
    }
    control.set_activity(Activity::Stopped);
    Ok(())
}

async fn pause_and_wait(control: &Control, err: Option<String>) -> Option<ResumeCmd> {
    control.update(|s| {
        s.activity = Activity::Paused;
        if err.is_some() {
            s.last_error = err.clone();
        }
    });
    if let Some(e) = &err {
        warn!(error = %e, "sealing thread paused; waiting for resume");
    } else {
        info!("sealing thread paused; waiting for resume");
    }
    let cmd = control.wait_resume().await;
    control.update(|s| {
        s.activity = Activity::Idle;
        s.last_error = None;
    });
    cmd
}

#[cfg(test)]
mod tests {
    use super::validate_resume;

    #[test]
    fn resume_targets_follow_the_fall_back_rule() {
        // The current state, a fall-back, and Abort are accepted.
        validate_resume("sealer", Some("C1Done"), "C1Done", false).unwrap();
        validate_resume("sealer", Some("C1Done"), "TreeDBuilt", false).unwrap();
        validate_resume("sealer", Some("PCSubmitted"), "PC2Done", false).unwrap();
        validate_resume("sealer", Some("C1Done"), "Abort", false).unwrap();
        validate_resume("snapup", Some("Persisted"), "SnapProved", false).unwrap();
        // A forward jump is refused with the valid targets listed, and allowed with force.
        let e = validate_resume("sealer", Some("TreeDBuilt"), "C2Done", false)
            .unwrap_err()
            .0;
        assert!(
            e.contains(
                "Valid targets: Empty, Allocated, DealsAcquired, PieceAdded, TreeDBuilt, Abort"
            ),
            "{e}"
        );
        assert!(e.contains("--force"), "{e}");
        validate_resume("sealer", Some("TreeDBuilt"), "C2Done", true).unwrap();
        // A state after the current one is not a fall-back, even where the flow loops back
        // (ProofSubmitted -ReSubmitProof-> C2Done): resuming there would skip the submission.
        assert!(validate_resume("sealer", Some("C2Done"), "ProofSubmitted", false).is_err());
        assert!(validate_resume("sealer", Some("PC2Done"), "PCSubmitted", false).is_err());
        validate_resume("sealer", Some("ProofSubmitted"), "C2Done", false).unwrap();
        // Finished is never a fall-back.
        assert!(validate_resume("sealer", Some("C2Done"), "Finished", false).is_err());
        // Unknown names and the other plan's states are errors that list the plan's states.
        let e = validate_resume("sealer", Some("C1Done"), "TreeDBuild", false)
            .unwrap_err()
            .0;
        assert!(
            e.contains("unknown state \"TreeDBuild\"") && e.contains("states of sealer: Empty"),
            "{e}"
        );
        let e = validate_resume("sealer", Some("C1Done"), "SnapEncoded", true)
            .unwrap_err()
            .0;
        assert!(
            e.contains("SnapEncoded is a state of the snapup plan"),
            "{e}"
        );
        // An unreadable record: only Abort (or force).
        assert!(validate_resume("sealer", Some("Bogus"), "TreeDBuilt", false).is_err());
        validate_resume("sealer", Some("Bogus"), "Abort", false).unwrap();
    }
}

//! The generic engine that runs one task of any plan to its end.
//!
//! For the current state it runs that state's step (the plan's handler), checks the event with
//! the plan's generated transition checker, applies it to the task's data, persists the new state
//! and data durably, reports the change to the manager, and goes on, until `Finished` or `Abort`.
//! Failures are handled by level (see `failure.rs`). Nothing here knows a particular plan: plans
//! plug in through [`SectorPlan`].

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use plan_meta::rt::{Plan, PlanEvent, PlanState};
use rand::Rng;
use serde::{de::DeserializeOwned, Serialize};
use tracing::{info, warn};

use crate::control::Activity;
use crate::env::StepEnv;
use crate::failure::{Failure, Level, StepResult};
use crate::store::{RawRecord, TaskStore};
use crate::types::{AllocatedSector, ReportFailure, ReportStateReq, StateChange, WorkerIdentifier};

/// A plan the engine can run: the generated plan plus its data and handlers.
pub trait SectorPlan: Plan {
    /// Everything the task's events carried so far (persisted as JSON after every transition).
    type Data: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static;

    /// Store an event's payload in the data.
    fn apply(data: &mut Self::Data, event: Self::Event);

    /// Run the handler of a non-terminal state.
    fn step<'a>(
        env: &'a StepEnv,
        data: &'a Self::Data,
        state: Self::State,
    ) -> impl Future<Output = StepResult<Self::Event>> + Send + 'a;

    fn sector(data: &Self::Data) -> Option<&AllocatedSector>;

    /// Forget what the event `event` stored, because the task falls back to before it and the
    /// step will produce it again (e.g. resuming at TreeDBuilt forgets the ticket).
    fn forget(data: &mut Self::Data, event: &str);
}

/// How a task run ended.
#[derive(Debug)]
pub enum TaskEnd {
    Finished,
    Aborted(String),
    /// Paused at a safe point; `Some` carries the error that paused it.
    Paused(Option<String>),
    /// The record cannot be interpreted by this build (kept as is; see `worker.rs`).
    Unreadable(String),
}

/// A validated `resume --state` order.
#[derive(Clone, Debug)]
pub struct Override {
    pub state: String,
}

fn backoff(env: &StepEnv, retry: u32) -> Duration {
    let base = env.sealing.retry_backoff.as_secs_f64();
    let max = env.sealing.retry_max_backoff.as_secs_f64();
    let exp = (base * 2f64.powi(retry.saturating_sub(1).min(30) as i32)).min(max);
    // ±25% jitter so that threads failing together do not retry in lockstep.
    let jitter = rand::thread_rng().gen_range(0.75..=1.25);
    Duration::from_secs_f64((exp * jitter).min(max.max(0.001)))
}

/// Decode a record for plan `P`, or say precisely why it cannot be.
fn decode<P: SectorPlan>(rec: &RawRecord) -> Result<(P::State, P::Data), String> {
    if rec.format != crate::store::RECORD_FORMAT {
        return Err(format!(
            "task record format {} is not the format {} this build reads",
            rec.format,
            crate::store::RECORD_FORMAT
        ));
    }
    let state: P::State = rec.state.parse().map_err(|e| format!("task record: {e}"))?;
    let data: P::Data = serde_json::from_str(&rec.data)
        .map_err(|e| format!("task record data of plan {} cannot be read: {e}", P::NAME))?;
    Ok((state, data))
}

/// Events whose data must be forgotten when a task falls back to `target`: every event that the
/// plan can take from `target` onwards, because those steps will run again.
fn events_from<P: SectorPlan>(target: &str) -> Vec<&'static str> {
    let meta = P::meta();
    let mut events = Vec::new();
    for s in meta.reachable_from(target) {
        if let Some(sm) = meta.state(s) {
            for t in sm.transitions {
                if !events.contains(&t.event) {
                    events.push(t.event);
                }
            }
        }
    }
    events
}

fn report_req(
    env: &StepEnv,
    prev: &str,
    next: &str,
    event: &str,
    failure: Option<&Failure>,
) -> ReportStateReq {
    ReportStateReq {
        worker: WorkerIdentifier {
            instance: env.worker_name.clone(),
            location: env.location.root.display().to_string(),
        },
        state_change: StateChange {
            prev: prev.into(),
            next: next.into(),
            event: event.into(),
        },
        failure: failure.map(|f| ReportFailure {
            level: f.level.to_string(),
            desc: format!("{:#}", f.error),
        }),
    }
}

/// Run the task in `rec` until it ends or pauses.
pub async fn run_task<P: SectorPlan>(
    env: &StepEnv,
    store: &mut TaskStore,
    rec: RawRecord,
    resume: Option<Override>,
) -> TaskEnd {
    match run_inner::<P>(env, store, rec, resume).await {
        Ok(end) | Err(end) => end,
    }
}

async fn run_inner<P: SectorPlan>(
    env: &StepEnv,
    store: &mut TaskStore,
    mut rec: RawRecord,
    resume: Option<Override>,
) -> Result<TaskEnd, TaskEnd> {
    let (mut state, mut data) = match decode::<P>(&rec) {
        Ok(v) => v,
        Err(e) => return Ok(TaskEnd::Unreadable(e)),
    };
    let mut retry = rec.retry;

    if let Some(o) = resume {
        let target: P::State = match o.state.parse() {
            Ok(s) => s,
            Err(e) => return Ok(TaskEnd::Paused(Some(format!("resume refused: {e}")))),
        };
        if target == P::State::ABORT {
            // Record why the task ends: an operator decision, not the error that paused it.
            let last = rec
                .last_error
                .take()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default();
            rec.last_error = Some(format!(
                "aborted by the operator (resume --state Abort){last}"
            ));
            let _ = store.set_last_error(&rec.uid, rec.last_error.as_deref());
        }
        if target != state {
            for ev in events_from::<P>(target.name()) {
                P::forget(&mut data, ev);
            }
            let from = state;
            rec.state = target.name().into();
            rec.data = serde_json::to_string(&data).expect("data serialises");
            if let Err(e) = store.transition(&rec, from.name(), "SetState", 0) {
                return Ok(TaskEnd::Paused(Some(format!(
                    "Critical: persisting the resume state: {e:#}"
                ))));
            }
            info!(
                plan = P::NAME,
                from = from.name(),
                to = target.name(),
                "resumed at a chosen state"
            );
            state = target;
            retry = 0;
        }
    }

    env.control.update(|s| {
        s.plan = P::NAME.into();
        s.state = Some(state.name().into());
        s.sector = P::sector(&data).map(|a| a.id.to_string());
        s.last_error = None;
    });

    loop {
        // Safe point: the previous step's event is persisted; nothing is lost by stopping here.
        if env.control.interrupted() && !state.is_terminal() {
            return Ok(TaskEnd::Paused(None));
        }

        if state == P::State::FINISHED || state == P::State::ABORT {
            return Ok(finalize::<P>(env, store, &rec, &data, state == P::State::FINISHED).await);
        }

        let started = Instant::now();
        env.control.set_activity(Activity::Running {
            stage: state.name().into(),
        });
        let outcome = match &env.faults {
            Some(f) => match f.before_step(P::NAME, state.name()).await {
                Ok(()) => P::step(env, &data, state).await,
                Err(failure) => Err(failure),
            },
            None => P::step(env, &data, state).await,
        };
        env.control.set_activity(Activity::Idle);
        let step_ms = started.elapsed().as_millis() as i64;

        let failure = match outcome {
            Ok(event) => {
                let next = match P::next(state, &event) {
                    Ok(n) => n,
                    Err(e) => {
                        Failure::critical(e)
                            .into_pause(env, store, &rec, state)
                            .await?
                    }
                };
                let event_name = event.name();
                P::apply(&mut data, event);
                let prev = state;
                rec.state = next.name().into();
                rec.data = serde_json::to_string(&data).expect("data serialises");
                rec.sector = P::sector(&data).map(|a| a.id.to_string());
                if let Err(e) = store.transition(&rec, prev.name(), event_name, step_ms) {
                    // The step's result is still in memory; pausing keeps the old persisted
                    // state, so a resume re-runs the step rather than losing the sector.
                    return Ok(TaskEnd::Paused(Some(format!(
                        "Critical: persisting the transition: {e:#}"
                    ))));
                }
                info!(
                    plan = P::NAME,
                    sector = rec.sector.as_deref().unwrap_or("-"),
                    from = prev.name(),
                    event = event_name,
                    to = next.name(),
                    step_ms,
                    "transition"
                );
                state = next;
                retry = 0;
                env.control.update(|s| {
                    s.state = Some(state.name().into());
                    s.sector = rec.sector.clone();
                });
                // Tell the manager; its answer may say the sector was ended on its side.
                if let Some(sector) = P::sector(&data) {
                    match env
                        .manager
                        .report_state(
                            sector.id,
                            report_req(env, prev.name(), next.name(), event_name, None),
                        )
                        .await
                    {
                        Ok(resp) if resp.finalized && !state.is_terminal() => {
                            let reason = resp
                                .abort_reason
                                .unwrap_or_else(|| "aborted by the sector manager".into());
                            Failure::abort(anyhow!("{reason}"))
                        }
                        Ok(_) => continue,
                        Err(e) => {
                            warn!(error = %e, "report state failed (ignored)");
                            continue;
                        }
                    }
                } else {
                    continue;
                }
            }
            Err(f) => f,
        };

        match failure.level {
            Level::Interrupt => return Ok(TaskEnd::Paused(None)),
            Level::Temporary if retry < env.sealing.max_retries => {
                retry += 1;
                let wait = backoff(env, retry);
                warn!(plan = P::NAME, state = state.name(), retry, max = env.sealing.max_retries,
                      wait_ms = wait.as_millis() as u64, error = %failure, "temporary failure; will retry");
                let _ = store.set_retry(&rec.uid, retry);
                env.control
                    .update(|s| s.last_error = Some(failure.to_string()));
                if !env.control.sleep(wait).await {
                    return Ok(TaskEnd::Paused(None));
                }
            }
            Level::Temporary | Level::Permanent | Level::Critical => {
                let failure = if failure.level == Level::Temporary {
                    Failure::permanent(failure.error.context(format!(
                        "still failing after {} retries",
                        env.sealing.max_retries
                    )))
                } else {
                    failure
                };
                return failure.into_pause(env, store, &rec, state).await;
            }
            Level::Abort => {
                warn!(plan = P::NAME, state = state.name(), error = %failure, "aborting the task");
                let prev = state;
                state = P::State::ABORT;
                rec.state = state.name().into();
                let reason = format!("{:#}", failure.error);
                if let Err(e) = store.transition(&rec, prev.name(), "Abort", step_ms) {
                    return Ok(TaskEnd::Paused(Some(format!(
                        "Critical: persisting the abort: {e:#}"
                    ))));
                }
                let _ = store.set_last_error(&rec.uid, Some(&reason));
                rec.last_error = Some(reason);
                env.control.update(|s| s.state = Some(state.name().into()));
            }
        }
    }
}

impl Failure {
    /// Pause the thread on this failure: keep it as the last error, tell the manager.
    /// Always returns `Err(TaskEnd::Paused)`, typed so that it can be used with `?`.
    async fn into_pause<T>(
        self,
        env: &StepEnv,
        store: &mut TaskStore,
        rec: &RawRecord,
        state: impl PlanState,
    ) -> Result<T, TaskEnd> {
        let msg = self.to_string();
        warn!(state = state.name(), error = %msg, "step failed; pausing the thread");
        let _ = store.set_last_error(&rec.uid, Some(&msg));
        if let Some(sector) = rec.sector.as_ref().and_then(|_| sector_of(rec)) {
            let req = report_req(env, state.name(), state.name(), "None", Some(&self));
            if let Err(e) = env.manager.report_state(sector, req).await {
                warn!(error = %e, "report state failed (ignored)");
            }
        }
        Err(TaskEnd::Paused(Some(msg)))
    }
}

fn sector_of(rec: &RawRecord) -> Option<crate::types::SectorId> {
    // "s-t0<miner>-<number>"
    let s = rec.sector.as_deref()?.strip_prefix("s-t0")?;
    let (m, n) = s.split_once('-')?;
    Some(crate::types::SectorId {
        miner: m.parse().ok()?,
        number: n.parse().ok()?,
    })
}

/// End a task: tell the manager, clean the local files, move the record to history.
async fn finalize<P: SectorPlan>(
    env: &StepEnv,
    store: &mut TaskStore,
    rec: &RawRecord,
    data: &P::Data,
    finished: bool,
) -> TaskEnd {
    let sector = P::sector(data).map(|a| a.id);
    let reason = rec.last_error.clone().unwrap_or_else(|| "aborted".into());
    if let Some(id) = sector {
        let mut attempt = 0;
        loop {
            let r = if finished {
                env.manager.report_finalized(id).await
            } else {
                env.manager.report_aborted(id, reason.clone()).await
            };
            match r {
                Ok(()) => break,
                // The manager has forgotten the sector: nothing left to report to.
                Err(e) if e.is_not_found() => break,
                Err(e) => {
                    attempt += 1;
                    if attempt > env.sealing.max_retries {
                        let msg =
                            format!("Permanent: reporting the end of {id} to the manager: {e}");
                        let _ = store.set_last_error(&rec.uid, Some(&msg));
                        return TaskEnd::Paused(Some(msg));
                    }
                    if !env.control.sleep(backoff(env, attempt)).await {
                        return TaskEnd::Paused(None);
                    }
                }
            }
        }
        if let Err(e) = env
            .location
            .clean(id)
            .context("cleaning the sector's local files")
        {
            let msg = format!("Critical: {e:#}");
            let _ = store.set_last_error(&rec.uid, Some(&msg));
            return TaskEnd::Paused(Some(msg));
        }
    }
    let outcome = if finished { "Finished" } else { "Abort" };
    if let Err(e) = store.finish(rec, outcome, (!finished).then_some(reason.as_str())) {
        return TaskEnd::Paused(Some(format!(
            "Critical: recording the end of the task: {e:#}"
        )));
    }
    if finished {
        info!(
            plan = P::NAME,
            sector = rec.sector.as_deref().unwrap_or("-"),
            "task finished"
        );
        TaskEnd::Finished
    } else {
        warn!(plan = P::NAME, sector = rec.sector.as_deref().unwrap_or("-"), reason = %reason, "task aborted");
        TaskEnd::Aborted(reason)
    }
}

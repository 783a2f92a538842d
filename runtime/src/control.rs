//! Per-thread control: pause requests, resume commands, shutdown, and the status the control API
//! shows.
//!
//! A pause is a request, honoured only at safe points: between two steps (after the finished
//! step's event is applied and persisted, so finished work is never thrown away) and inside
//! interruptible waits (backoff, polling, waiting for a stage slot). A proof call in progress is
//! never interrupted.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

/// What a thread is doing, as the control API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activity {
    Idle,
    /// Blocked on a stage limit.
    Waiting {
        stage: String,
    },
    /// Holding a stage slot (or running a step without a limit).
    Running {
        stage: String,
    },
    Paused,
    /// The thread has stopped (shutdown, or its task budget is done).
    Stopped,
}

#[derive(Clone, Debug)]
pub struct Status {
    pub plan: String,
    pub sector: Option<String>,
    pub state: Option<String>,
    pub activity: Activity,
    pub since: Instant,
    pub last_error: Option<String>,
}

/// The wire form of a thread's status (`VenusWorker.WorkerList`, snake_case like the established
/// worker's control API).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkerInfo {
    pub location: String,
    pub plan: String,
    pub job_id: Option<String>,
    pub index: usize,
    pub thread_state: ThreadState,
    pub job_state: String,
    pub job_stage: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "state")]
pub enum ThreadState {
    Idle,
    Paused { elapsed: u64 },
    Running { elapsed: u64, proc: Option<String> },
    Waiting { elapsed: u64 },
    Stopped,
}

/// A resume order, validated by the caller before it is sent.
#[derive(Clone, Debug)]
pub struct ResumeCmd {
    /// Resume at this state instead of re-running the current one.
    pub state: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    pub pause: bool,
    pub shutdown: bool,
}

pub struct Control {
    signals: watch::Sender<Signals>,
    status: Mutex<Status>,
    resume_tx: mpsc::Sender<ResumeCmd>,
    resume_rx: tokio::sync::Mutex<mpsc::Receiver<ResumeCmd>>,
}

impl Control {
    pub fn new(plan: &str) -> Self {
        let (signals, _) = watch::channel(Signals::default());
        let (resume_tx, resume_rx) = mpsc::channel(1);
        Control {
            signals,
            status: Mutex::new(Status {
                plan: plan.into(),
                sector: None,
                state: None,
                activity: Activity::Idle,
                since: Instant::now(),
                last_error: None,
            }),
            resume_tx,
            resume_rx: tokio::sync::Mutex::new(resume_rx),
        }
    }

    pub fn signals(&self) -> Signals {
        *self.signals.borrow()
    }

    /// True when the thread should stop at its next safe point.
    pub fn interrupted(&self) -> bool {
        let s = self.signals();
        s.pause || s.shutdown
    }

    /// Request a pause. Returns false if one is already pending or the thread is paused.
    pub fn request_pause(&self) -> bool {
        if self.status().activity == Activity::Paused {
            return false;
        }
        let mut queued = false;
        self.signals.send_modify(|s| {
            queued = !s.pause;
            s.pause = true;
        });
        queued
    }

    pub fn request_shutdown(&self) {
        self.signals.send_modify(|s| s.shutdown = true);
    }

    /// Resolves when a pause or shutdown is requested.
    pub async fn until_interrupted(&self) {
        let mut rx = self.signals.subscribe();
        let _ = rx.wait_for(|s| s.pause || s.shutdown).await;
    }

    /// Sleep, unless interrupted first. Returns false when interrupted.
    pub async fn sleep(&self, d: Duration) -> bool {
        if self.interrupted() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.until_interrupted() => false,
        }
    }

    /// Deliver a resume to a paused thread. Returns false when the thread is not paused.
    pub fn resume(&self, cmd: ResumeCmd) -> bool {
        if self.status().activity != Activity::Paused {
            return false;
        }
        let delivered = self.resume_tx.try_send(cmd).is_ok();
        if delivered {
            // Not paused any more from the caller's point of view: a second resume is a no-op.
            self.set_activity(Activity::Idle);
        }
        delivered
    }

    /// Block a paused thread until it is resumed (Some) or shut down (None).
    pub async fn wait_resume(&self) -> Option<ResumeCmd> {
        let mut rx = self.resume_rx.lock().await;
        // The pause has been honoured: clear the request so the next one can queue.
        self.signals.send_modify(|s| s.pause = false);
        let mut sig = self.signals.subscribe();
        tokio::select! {
            cmd = rx.recv() => cmd,
            _ = sig.wait_for(|s| s.shutdown) => None,
        }
    }

    pub fn status(&self) -> Status {
        self.status.lock().expect("status lock").clone()
    }

    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        let mut s = self.status.lock().expect("status lock");
        let before = s.activity.clone();
        f(&mut s);
        if s.activity != before {
            s.since = Instant::now();
        }
    }

    pub fn set_activity(&self, a: Activity) {
        self.update(|s| s.activity = a);
    }

    pub fn info(&self, index: usize, location: &str) -> WorkerInfo {
        let s = self.status();
        let elapsed = s.since.elapsed().as_secs();
        let (thread_state, stage) = match &s.activity {
            Activity::Idle => (ThreadState::Idle, None),
            Activity::Paused => (ThreadState::Paused { elapsed }, None),
            Activity::Running { stage } => (
                ThreadState::Running {
                    elapsed,
                    proc: Some(stage.clone()),
                },
                Some(stage.clone()),
            ),
            Activity::Waiting { stage } => (ThreadState::Waiting { elapsed }, Some(stage.clone())),
            Activity::Stopped => (ThreadState::Stopped, None),
        };
        WorkerInfo {
            location: location.into(),
            plan: s.plan,
            job_id: s.sector,
            index,
            thread_state,
            job_state: s.state.unwrap_or_default(),
            job_stage: stage,
            last_error: s.last_error,
        }
    }
}

//! Failure levels: what a step's error means for its sector.
//!
//! Every step either produces an event or fails at one of four levels. The level, not the kind of
//! error, decides what the sealing thread does next, so each error source maps to a level on
//! purpose (the table is in README.md, "Failure levels"):
//!
//! | level     | the thread...                                                         |
//! |-----------|-----------------------------------------------------------------------|
//! | Temporary | retries the same step with bounded exponential backoff and jitter;    |
//! |           | when the state's retry budget is spent, escalates to Permanent        |
//! | Permanent | pauses; the error is kept as the thread's last error until a resume   |
//! | Critical  | pauses (a worker-side inconsistency a human must look at)             |
//! | Abort     | ends the task: reports it aborted, cleans its local files, next task  |

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Level {
    Temporary,
    Permanent,
    Critical,
    Abort,
    /// Not a failure: a pause or shutdown request seen during an interruptible wait. The step is
    /// simply re-run on resume; nothing is reported or counted.
    Interrupt,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A failed step.
#[derive(Debug)]
pub struct Failure {
    pub level: Level,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn new(level: Level, error: impl Into<anyhow::Error>) -> Self {
        Failure {
            level,
            error: error.into(),
        }
    }
    pub fn temporary(e: impl Into<anyhow::Error>) -> Self {
        Self::new(Level::Temporary, e)
    }
    pub fn permanent(e: impl Into<anyhow::Error>) -> Self {
        Self::new(Level::Permanent, e)
    }
    pub fn critical(e: impl Into<anyhow::Error>) -> Self {
        Self::new(Level::Critical, e)
    }
    pub fn abort(e: impl Into<anyhow::Error>) -> Self {
        Self::new(Level::Abort, e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:#}", self.level, self.error)
    }
}

pub type StepResult<T> = Result<T, Failure>;

/// Attach a level to any error: `io_call().level(Level::Critical)?`.
pub trait LevelExt<T> {
    fn level(self, level: Level) -> StepResult<T>;
    fn perm(self) -> StepResult<T>
    where
        Self: Sized,
    {
        self.level(Level::Permanent)
    }
    fn crit(self) -> StepResult<T>
    where
        Self: Sized,
    {
        self.level(Level::Critical)
    }
    fn temp(self) -> StepResult<T>
    where
        Self: Sized,
    {
        self.level(Level::Temporary)
    }
    fn abort(self) -> StepResult<T>
    where
        Self: Sized,
    {
        self.level(Level::Abort)
    }
}

impl<T, E: Into<anyhow::Error>> LevelExt<T> for Result<T, E> {
    fn level(self, level: Level) -> StepResult<T> {
        self.map_err(|e| Failure::new(level, e))
    }
}

/// A local I/O error: a full disk is Permanent (a human must free space; retrying only spins),
/// anything else on our own files is Critical (the location is not in the state we left it).
pub fn io_level(e: &std::io::Error) -> Level {
    // ENOSPC (28) / EDQUOT (122): nothing will change until someone frees space.
    match e.raw_os_error() {
        Some(28) | Some(122) => Level::Permanent,
        _ => Level::Critical,
    }
}

/// Map an anyhow error that may wrap an io::Error, defaulting to `default`.
pub fn classify_io(e: anyhow::Error, default: Level) -> Failure {
    let level = e
        .chain()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .map(io_level)
        .unwrap_or(default);
    Failure::new(level, e)
}

/// A field of the task record that the step of `state` needs. Missing data is a worker-side
/// inconsistency (e.g. a forced resume past the step that makes it): Critical, not Abort, so the
/// thread pauses and the sector is kept for a human to decide.
pub fn need<'a, T>(v: &'a Option<T>, what: &str, state: impl fmt::Display) -> StepResult<&'a T> {
    v.as_ref().ok_or_else(|| {
        Failure::critical(anyhow::anyhow!(
            "the task record has no {what}, which state {state} needs: resume at an earlier state"
        ))
    })
}

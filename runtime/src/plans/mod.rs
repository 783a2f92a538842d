//! The plans this worker runs, one module each, compiled from `plans/*.plan` by `plan!`.

pub mod sealer;
pub mod snapup;

use plan_meta::rt::{Plan, PlanMeta};

/// Metadata of a plan by name (for the control API's resume validation and the tools).
pub fn meta(name: &str) -> Option<&'static PlanMeta> {
    match name {
        "sealer" => Some(sealer::Plan::meta()),
        "snapup" => Some(snapup::Plan::meta()),
        _ => None,
    }
}

pub const NAMES: &[&str] = &["sealer", "snapup"];

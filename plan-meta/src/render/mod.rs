//! Views of a plan for people: the plan notation itself, state diagrams, and the generated
//! task status flow document. All are pure functions of the model, so the docs are rendered from
//! the same files the worker is compiled from and cannot silently drift.

mod graph;
mod markdown;
mod text;

pub use graph::{dot, mermaid};
pub use markdown::task_status_flow_md;
pub use text::text;

//! venus-worker runtime: runs the sealing plans compiled from `plans/*.plan` against the real
//! proof library and a sector manager, durably.
//!
//! Module map (each has one job):
//! - `config`: the TOML configuration.
//! - `types`: the worker ↔ manager types, wire-compatible with the established `Venus.*` API.
//! - `plans`: one module per plan file (payload types, task data, one handler per state).
//! - `engine`: the generic loop that runs a task of any plan (checks, persists, reports).
//! - `env`: what a step may use (manager, proofs, files, stage limits, interruptible waits).
//! - `failure`: failure levels and how errors map to them.
//! - `store`: the task record and transition log in SQLite.
//! - `control`: pause/resume/shutdown signals and thread status.
//! - `worker`: the daemon: sealing threads, control API, resume validation.
//! - `manager`: the sector manager trait, the embedded manager, the JSON-RPC client.
//! - `proofs`: the proof backend on filecoin-proofs-api.
//! - `params`: local generation of 2KiB proof parameters.
//! - `persist`: moving sealed files into persist stores, re-runnably.
//! - `testing`: test-only backends (instant fake proofs, fault injection), never used by the daemon.
//! - `demo`: the end-to-end demonstration behind `venus-worker demo`.

pub mod config;
pub mod control;
pub mod control_api;
pub mod demo;
pub mod engine;
pub mod env;
pub mod failure;
pub mod manager;
pub mod params;
pub mod persist;
pub mod plans;
pub mod proofs;
pub mod store;
pub mod testing;
pub mod types;
pub mod worker;

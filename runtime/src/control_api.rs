//! The worker's control API: JSON-RPC 2.0 over HTTP with the established worker's method names
//! (`VenusWorker.WorkerList`, `VenusWorker.WorkerPause`, `VenusWorker.WorkerResume`,
//! `VenusWorker.WorkerVersion`) and positional parameters, so existing tools keep working.
//!
//! Differences, on purpose: `WorkerResume` validates the target state before anything changes and
//! answers a refused resume with an error that lists the valid targets (the established worker
//! passes any string through and aborts and wipes the sector on a bad one); an optional third
//! parameter `force` allows any state of the plan.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use jsonrpsee::server::{RpcModule, Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;

use crate::control::WorkerInfo;
use crate::worker::Worker;

/// JSON-RPC "invalid params": a thread that does not exist, a refused resume.
const INVALID_PARAMS: i32 = -32602;

fn refused(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, e.to_string(), None::<()>)
}

pub fn module(worker: Arc<Worker>) -> Result<RpcModule<Arc<Worker>>> {
    let mut m = RpcModule::new(worker);
    m.register_method(
        "VenusWorker.WorkerList",
        |_, w, _| -> Result<Vec<WorkerInfo>, ErrorObjectOwned> {
            Ok(w.threads
                .iter()
                .map(|t| t.control.info(t.index, &t.location.display().to_string()))
                .collect())
        },
    )?;
    m.register_method(
        "VenusWorker.WorkerPause",
        |p, w, _| -> Result<bool, ErrorObjectOwned> {
            let mut seq = p.sequence();
            let index: usize = seq.next()?;
            w.pause(index).map_err(refused)
        },
    )?;
    m.register_method(
        "VenusWorker.WorkerResume",
        |p, w, _| -> Result<bool, ErrorObjectOwned> {
            let mut seq = p.sequence();
            let index: usize = seq.next()?;
            let state: Option<String> = seq.optional_next()?.flatten();
            let force: bool = seq.optional_next()?.unwrap_or(false);
            w.resume(index, state.as_deref(), force).map_err(refused)
        },
    )?;
    m.register_method(
        "VenusWorker.WorkerVersion",
        |_, _, _| -> Result<String, ErrorObjectOwned> {
            Ok(format!("venus-worker {}", env!("CARGO_PKG_VERSION")))
        },
    )?;
    Ok(m)
}

/// Serve the control API on `addr` (loopback by default in the config).
pub async fn serve(worker: Arc<Worker>, addr: &str) -> Result<(SocketAddr, ServerHandle)> {
    let server = Server::builder()
        .build(addr)
        .await
        .with_context(|| format!("binding the control API on {addr}"))?;
    let local = server.local_addr()?;
    let handle = server.start(module(worker)?);
    Ok((local, handle))
}

/// Client side, used by `venus-worker worker ...` and by the manager's `util worker ...`.
pub struct ControlClient {
    client: HttpClient,
    pub url: String,
}

impl ControlClient {
    pub fn new(dest: &str) -> Result<Self> {
        let url = if dest.starts_with("http://") || dest.starts_with("https://") {
            dest.to_string()
        } else if dest.contains(':') {
            format!("http://{dest}/")
        } else {
            format!("http://{dest}:17890/")
        };
        let client = HttpClientBuilder::default()
            .build(&url)
            .with_context(|| format!("control API at {url}"))?;
        Ok(ControlClient { client, url })
    }

    fn ctx(&self, e: jsonrpsee::core::client::Error) -> anyhow::Error {
        match e {
            jsonrpsee::core::client::Error::Call(obj) => anyhow::anyhow!("{}", obj.message()),
            other => anyhow::anyhow!(
                "worker control API at {}: {other}. Is the daemon running, and is this its \
                 [worker.rpc_server] address (use -c <config> or -H host:port)?",
                self.url
            ),
        }
    }

    pub async fn list(&self) -> Result<Vec<WorkerInfo>> {
        self.client
            .request("VenusWorker.WorkerList", rpc_params![])
            .await
            .map_err(|e| self.ctx(e))
    }

    pub async fn pause(&self, index: usize) -> Result<bool> {
        self.client
            .request("VenusWorker.WorkerPause", rpc_params![index])
            .await
            .map_err(|e| self.ctx(e))
    }

    pub async fn resume(&self, index: usize, state: Option<&str>, force: bool) -> Result<bool> {
        let r = if force {
            self.client
                .request("VenusWorker.WorkerResume", rpc_params![index, state, true])
                .await
        } else {
            self.client
                .request("VenusWorker.WorkerResume", rpc_params![index, state])
                .await
        };
        r.map_err(|e| self.ctx(e))
    }
}

/// Render `WorkerList` as the established worker's table.
pub fn format_list(infos: &[WorkerInfo]) -> String {
    use crate::control::ThreadState::*;
    let mut out = format!(
        "{:<3} {:<40} {:<7} {:<18} {:<22} {:<18} {}\n",
        "#", "Location", "Plan", "JobID", "JobState", "ThreadState", "LastErr"
    );
    for i in infos {
        let ts = match &i.thread_state {
            Idle => "Idle".to_string(),
            Paused { elapsed } => format!("Paused({})", human(*elapsed)),
            Running { elapsed, proc } => format!(
                "Running({}) {}",
                human(*elapsed),
                proc.clone().unwrap_or_default()
            ),
            Waiting { elapsed } => format!("Waiting({})", human(*elapsed)),
            Stopped => "Stopped".to_string(),
        };
        out.push_str(&format!(
            "{:<3} {:<40} {:<7} {:<18} {:<22} {:<18} {}\n",
            i.index,
            i.location,
            i.plan,
            i.job_id.clone().unwrap_or_else(|| "-".into()),
            if i.job_state.is_empty() {
                "-"
            } else {
                &i.job_state
            },
            ts,
            i.last_error.clone().unwrap_or_else(|| "-".into())
        ));
    }
    out
}

fn human(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}h{}m", secs / 3600, secs % 3600 / 60)
    } else if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

//! `venus-sector-manager`: one sector manager for many workers.
//!
//! `daemon` serves the manager (the same implementation as the worker's embedded manager: SQLite,
//! real proof verification) over HTTP JSON-RPC with the established `Venus.*` API, protected by a
//! bearer token. `util ...` are the operator's commands: the workers that pinged the manager and
//! their threads (pause, resume, abort through the worker's control API), and manager-side sector
//! actions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use venus_runtime::config::proof_type_for_size;
use venus_runtime::control_api::{format_list, ControlClient};
use venus_runtime::manager::client::RpcManager;
use venus_runtime::manager::local::{LocalManager, LocalManagerConfig, EMBEDDED_STORE};
use venus_runtime::manager::rpc::{self, load_or_create_token};
use venus_runtime::manager::{ManagerAdmin, SectorManager};
use venus_runtime::params;
use venus_runtime::proofs::RealProofs;
use venus_runtime::types::SectorId;

#[derive(Parser)]
#[command(
    name = "venus-sector-manager",
    version,
    about = "Sector manager for many sealing workers (Venus.* JSON-RPC API)"
)]
struct Cli {
    /// The manager's home: database, token, API address, pieces, default store.
    /// Default: $VENUS_SECTOR_MANAGER_HOME, else ~/.venus-sector-manager.
    #[arg(long, global = true, env = "VENUS_SECTOR_MANAGER_HOME")]
    home: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the manager API until interrupted.
    Daemon(DaemonArgs),
    /// Operator commands against a running daemon.
    Util {
        /// The daemon's API (multiaddr or URL). Default: <home>/api, written by the daemon.
        #[arg(long)]
        api: Option<String>,
        /// The API token. Default: <home>/token.
        #[arg(long, env = "VENUS_SECTOR_MANAGER_TOKEN")]
        token: Option<String>,
        #[command(subcommand)]
        cmd: UtilCmd,
    },
}

#[derive(clap::Args)]
struct DaemonArgs {
    /// Listen address. Loopback by default; to serve workers on other machines use e.g.
    /// 0.0.0.0:1789 (every request still needs the token).
    #[arg(long, default_value = "127.0.0.1:1789")]
    listen: String,
    /// Miner actor id sectors are allocated for.
    #[arg(long, default_value_t = 1000)]
    miner: u64,
    /// Sector size handed out (2KiB, 8MiB, 512MiB, 32GiB, 64GiB).
    #[arg(long, default_value = "2KiB")]
    sector_size: String,
    /// Stop allocating new sectors after this sector number (default: no limit).
    #[arg(long)]
    max_sectors: Option<u64>,
    /// A persist store workers may write sealed sectors to: NAME=PATH (repeatable). Workers
    /// attach the same directory under the same name ([[attached]] name/location).
    #[arg(long = "store", value_name = "NAME=PATH")]
    stores: Vec<String>,
    /// Use this token instead of the one in <home>/token (it is written there).
    #[arg(long, env = "VENUS_SECTOR_MANAGER_TOKEN")]
    token: Option<String>,
    /// How long after a PreCommit lands its seed is drawn (the chain's challenge delay); until
    /// then workers wait in PersistanceSubmitted. 0: at once.
    #[arg(long, default_value = "0s")]
    seed_delay: humantime::Duration,
    /// Accept callers on this machine (loopback) that send no token. For established workers
    /// on the manager's machine, which cannot send one; remote callers still need the token.
    #[arg(long)]
    allow_loopback_without_token: bool,
}

#[derive(Subcommand)]
enum UtilCmd {
    /// Workers that announced themselves (Venus.WorkerPing), and their sealing threads.
    Worker {
        #[command(subcommand)]
        cmd: WorkerCmd,
    },
    /// Sectors on the manager.
    Sealer {
        #[command(subcommand)]
        cmd: SealerCmd,
    },
}

#[derive(Subcommand)]
enum WorkerCmd {
    /// One line per worker from the ping registry.
    List {
        /// Mark workers whose last ping is older than this with "(!)".
        #[arg(long, default_value = "10m")]
        expiration: humantime::Duration,
    },
    /// A worker's sealing threads (its control API's list).
    Info {
        /// Worker instance name (as pinged) or host:port of its control API.
        worker: String,
    },
    /// Pause a worker's sealing thread at its next safe point.
    Pause {
        /// Worker instance name (as pinged) or host:port of its control API.
        worker: String,
        /// Thread index (as in `util worker info`).
        index: usize,
    },
    /// Resume a paused thread, optionally at a state (e.g. `Abort` to abort its task).
    Resume {
        /// Worker instance name (as pinged) or host:port of its control API.
        worker: String,
        index: usize,
        state: Option<String>,
        /// Allow any state of the plan, also a forward jump.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum SealerCmd {
    Sectors {
        #[command(subcommand)]
        cmd: SectorsCmd,
    },
}

#[derive(Subcommand)]
enum SectorsCmd {
    /// Every sector the manager knows, with its state.
    List,
    /// Abort a sector on the manager. The worker sealing it learns it from the reply to its next
    /// state report, ends the task and wipes its local files.
    Abort {
        miner: u64,
        number: u64,
        /// Required: an abort cannot be undone.
        #[arg(long)]
        really_do_it: bool,
        #[arg(long, default_value = "aborted by the operator")]
        reason: String,
    },
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,venus_runtime=info,venus_sector_manager=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn default_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".venus-sector-manager")
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn main() {
    let cli = Cli::parse();
    let home = cli.home.clone().unwrap_or_else(default_home);
    let r = match cli.cmd {
        Cmd::Daemon(args) => daemon(&home, args),
        Cmd::Util { api, token, cmd } => util(&home, api, token, cmd),
    };
    if let Err(e) = r {
        eprintln!("venus-sector-manager: error: {e:#}");
        std::process::exit(1);
    }
}

/// Only one daemon per home: an exclusive SQLite lock on `<home>/daemon.lock`, released by the
/// kernel when the process ends, however it ends.
fn lock_home(home: &Path) -> Result<rusqlite::Connection> {
    let path = home.join("daemon.lock");
    let c =
        rusqlite::Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
    c.busy_timeout(std::time::Duration::ZERO)?;
    c.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    c.execute_batch("BEGIN EXCLUSIVE").map_err(|_| {
        anyhow::anyhow!(
            "another venus-sector-manager daemon is running with home {} (one daemon per home)",
            home.display()
        )
    })?;
    Ok(c)
}

fn parse_stores(stores: &[String]) -> Result<Vec<(String, PathBuf)>> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for s in stores {
        let Some((name, path)) = s.split_once('=') else {
            bail!("--store {s:?}: expected NAME=PATH");
        };
        let (name, path) = (name.trim(), path.trim());
        if name.is_empty() || path.is_empty() {
            bail!("--store {s:?}: expected NAME=PATH");
        }
        if name == EMBEDDED_STORE || out.iter().any(|(n, _)| n == name) {
            bail!("--store: the store name {name:?} is used twice");
        }
        std::fs::create_dir_all(path).with_context(|| format!("creating store {path}"))?;
        let path = std::fs::canonicalize(path)?;
        out.push((name.to_string(), path));
    }
    Ok(out)
}

fn daemon(home: &Path, args: DaemonArgs) -> Result<()> {
    let DaemonArgs {
        listen,
        miner,
        sector_size,
        max_sectors,
        stores,
        token,
        seed_delay,
        allow_loopback_without_token,
    } = args;
    init_logging();
    std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
    let home = std::fs::canonicalize(home)?;
    let _lock = lock_home(&home)?;
    let proof_type = proof_type_for_size(&sector_size)?;
    let stores = parse_stores(&stores)?;
    let (token, token_path) = load_or_create_token(&home, token.as_deref())?;
    let dir = params::cache_dir();
    for c in params::Circuit::ALL {
        if !matches!(params::status(&dir, c), Ok(params::Status::Ready)) {
            tracing::warn!(
                circuit = c.name(),
                dir = %dir.display(),
                "proof parameters are not complete: proofs cannot be verified until `venus-worker params` has run"
            );
        }
    }
    let mgr = Arc::new(
        LocalManager::open(
            LocalManagerConfig {
                home: home.clone(),
                miner,
                proof_type,
                max_sectors,
                stores: stores.clone(),
            },
            Arc::new(RealProofs),
        )
        .context("opening the manager database")?
        .with_seed_delay(*seed_delay),
    );
    runtime()?.block_on(async move {
        let server = rpc::serve_with(
            mgr.clone() as Arc<dyn SectorManager>,
            Some(mgr.clone() as Arc<dyn ManagerAdmin>),
            &listen,
            rpc::Access {
                token,
                loopback_without_token: allow_loopback_without_token,
            },
        )
        .await?;
        let api_file = home.join("api");
        std::fs::write(&api_file, format!("{}\n", server.multiaddr()))
            .with_context(|| format!("writing {}", api_file.display()))?;
        eprintln!("venus-sector-manager: listening on {} (rpc_client.addr = \"{}\")", server.url(), server.multiaddr());
        eprintln!("venus-sector-manager: token in {} (workers: [sector_manager] token)", token_path.display());
        eprintln!("venus-sector-manager: home {}, miner {miner}, sector size {sector_size}", home.display());
        for (n, p) in &stores {
            eprintln!("venus-sector-manager: store {n} = {}", p.display());
        }
        if allow_loopback_without_token {
            eprintln!("venus-sector-manager: callers on this machine need no token (--allow-loopback-without-token)");
        }
        if !server.addr.ip().is_loopback() {
            tracing::warn!(addr = %server.addr, "the manager API is reachable from the network; every request needs the token");
        }
        shutdown_signal().await;
        eprintln!("venus-sector-manager: shutting down");
        server.stop().await;
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn util(home: &Path, api: Option<String>, token: Option<String>, cmd: UtilCmd) -> Result<()> {
    let api = match api {
        Some(a) => a,
        None => match std::fs::read_to_string(home.join("api")) {
            Ok(a) => a.trim().to_string(),
            Err(_) => "/ip4/127.0.0.1/tcp/1789".to_string(),
        },
    };
    let token = match token {
        Some(t) => t,
        None => std::fs::read_to_string(home.join("token"))
            .map(|t| t.trim().to_string())
            .with_context(|| {
                format!(
                    "no token: give --token (or VENUS_SECTOR_MANAGER_TOKEN), or --home of the manager \
                     whose {} holds it",
                    home.join("token").display()
                )
            })?,
    };
    let client = RpcManager::new(&api, Some(&token), home.join("piece-cache"))?;
    runtime()?.block_on(async move {
        match cmd {
            UtilCmd::Worker { cmd } => worker_cmd(&client, cmd).await,
            UtilCmd::Sealer {
                cmd: SealerCmd::Sectors { cmd },
            } => sectors_cmd(&client, cmd).await,
        }
    })
}

/// A worker's control API address: its ping record's `Dest`, or the argument itself when it is an
/// address (`host:port`; a bare IP gets the default port 17890).
async fn resolve_worker(client: &RpcManager, worker: &str) -> Result<String> {
    if let Some(rec) = client.worker_get(worker.to_string()).await? {
        return Ok(rec.info.dest);
    }
    if worker.contains(':') {
        return Ok(worker.to_string());
    }
    if worker.parse::<std::net::IpAddr>().is_ok() {
        return Ok(format!("{worker}:17890"));
    }
    let known: Vec<String> = client
        .workers_list()
        .await?
        .into_iter()
        .map(|r| r.info.name)
        .collect();
    bail!(
        "no worker named {worker:?} has pinged this manager ({}); give a name from `util worker list` \
         or the worker's control address as host:port",
        if known.is_empty() {
            "no worker has pinged it yet".to_string()
        } else {
            format!("known workers: {}", known.join(", "))
        }
    )
}

async fn worker_cmd(client: &RpcManager, cmd: WorkerCmd) -> Result<()> {
    match cmd {
        WorkerCmd::List { expiration } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs() as i64;
            let expiration = expiration.as_secs() as i64;
            println!(
                "{:<20} {:<22} {:<10} {:>7} {:>5} {:>6} {:>7} {:>7} {:>6}  LastPing",
                "Name",
                "Dest",
                "Version",
                "Threads",
                "Empty",
                "Paused",
                "Running",
                "Waiting",
                "Errors"
            );
            for r in client.workers_list().await? {
                let age = (now - r.last_ping).max(0);
                let s = &r.info.summary;
                println!(
                    "{:<20} {:<22} {:<10} {:>7} {:>5} {:>6} {:>7} {:>7} {:>6}  {}s ago{}",
                    r.info.name,
                    r.info.dest,
                    r.info.version,
                    s.threads,
                    s.empty,
                    s.paused,
                    s.running,
                    s.waiting,
                    s.errors,
                    age,
                    if age > expiration { " (!)" } else { "" }
                );
            }
        }
        WorkerCmd::Info { worker } => {
            let dest = resolve_worker(client, &worker).await?;
            let list = ControlClient::new(&dest)?.list().await?;
            print!("{}", format_list(&list));
        }
        WorkerCmd::Pause { worker, index } => {
            let dest = resolve_worker(client, &worker).await?;
            let ok = ControlClient::new(&dest)?.pause(index).await?;
            if ok {
                println!("{worker} ({dest}): pause of thread #{index} requested; it stops at its next safe point");
            } else {
                println!(
                    "{worker} ({dest}): thread #{index} is already paused or has a pause pending"
                );
            }
        }
        WorkerCmd::Resume {
            worker,
            index,
            state,
            force,
        } => {
            let dest = resolve_worker(client, &worker).await?;
            let ok = ControlClient::new(&dest)?
                .resume(index, state.as_deref(), force)
                .await?;
            if !ok {
                bail!("{worker} ({dest}): thread #{index} is not paused: nothing to resume");
            }
            println!(
                "{worker} ({dest}): thread #{index} resumed{}",
                state.map(|s| format!(" at {s}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

async fn sectors_cmd(client: &RpcManager, cmd: SectorsCmd) -> Result<()> {
    match cmd {
        SectorsCmd::List => {
            println!(
                "{:<18} {:<10} {:<6} {:<10} {:<14} {:<14} AbortReason",
                "Sector", "State", "Proof", "Upgrade", "Worker", "WorkerState"
            );
            for s in client.sectors_list().await? {
                println!(
                    "{:<18} {:<10} {:<6} {:<10} {:<14} {:<14} {}",
                    s.id.to_string(),
                    s.state,
                    if s.proof_verified { "yes" } else { "-" },
                    s.upgrade.as_deref().unwrap_or("-"),
                    s.worker.as_deref().unwrap_or("-"),
                    s.worker_state.as_deref().unwrap_or("-"),
                    s.abort_reason.as_deref().unwrap_or("-")
                );
            }
        }
        SectorsCmd::Abort {
            miner,
            number,
            really_do_it,
            reason,
        } => {
            let id = SectorId { miner, number };
            if !really_do_it {
                bail!(
                    "this aborts sector {id} on the manager: the worker sealing it stops at its next step \
                     and wipes its local files; it cannot be undone. Add --really-do-it"
                );
            }
            client.sectors_abort(id, reason.clone()).await?;
            println!(
                "sector {id} aborted ({reason}); its worker ends the task at its next state report"
            );
        }
    }
    Ok(())
}

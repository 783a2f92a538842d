//! `venus-worker`: the sealing worker's command line.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use venus_runtime::config::Config;
use venus_runtime::control_api::{self, format_list, ControlClient};
use venus_runtime::manager::client::RpcManager;
use venus_runtime::manager::SectorManager;
use venus_runtime::proofs::RealProofs;
use venus_runtime::worker::{RunOptions, Worker};
use venus_runtime::{demo, params};

#[derive(Parser)]
#[command(
    name = "venus-worker",
    version,
    about = "Filecoin sealing worker driven by plan files"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the sealing threads of a config file.
    Daemon {
        #[arg(short, long, env = "VENUS_WORKER_CONFIG")]
        config: PathBuf,
        /// Stop each thread after this many tasks (default: run until stopped).
        #[arg(long)]
        tasks_per_thread: Option<usize>,
    },
    /// Seal a real 2KiB sector with the sealer plan and upgrade it with the snapup plan against
    /// the embedded manager, then print a summary. Generates missing parameters first.
    Demo {
        /// Working directory (wiped first).
        #[arg(long, default_value = "demo-run")]
        dir: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make sure the 2KiB proof parameters are in the cache, generating what is missing.
    Params {
        /// Only report what is there; generate nothing.
        #[arg(long)]
        check: bool,
        #[arg(long, hide = true)]
        generate_one: Option<String>,
    },
    /// Talk to a running daemon's control API: list, pause, resume sealing threads.
    Worker {
        /// The daemon's config file (its control address is taken from it).
        #[arg(short, long, env = "VENUS_WORKER_CONFIG")]
        config: Option<PathBuf>,
        /// Control address host:port (default 127.0.0.1:17890, or from --config).
        #[arg(short = 'H', long)]
        host: Option<String>,
        #[command(subcommand)]
        cmd: WorkerCmd,
    },
    /// Plan files: validate, show, generate the docs.
    Plan {
        #[command(subcommand)]
        cmd: PlanCmd,
    },
}

#[derive(Subcommand)]
enum WorkerCmd {
    /// One line per sealing thread: location, plan, sector, state, thread state, last error.
    List,
    /// Pause a thread at its next safe point (a finished step is always kept).
    Pause {
        #[arg(short, long)]
        index: usize,
    },
    /// Resume a paused thread; with --state, at that state (the current one, an earlier one
    /// the flow passes through again, or Abort).
    Resume {
        #[arg(short, long)]
        index: usize,
        #[arg(short, long)]
        state: Option<String>,
        /// Allow any state of the plan, also a forward jump.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum PlanCmd {
    /// Validate a plan file with the same diagnostics as the compiler.
    Check { file: PathBuf },
    /// Print a plan (a name like `sealer`, or a file).
    Show {
        plan: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Regenerate docs/task-status-flow.md from plans/*.plan.
    Docs {
        /// Write the file (default: print it).
        #[arg(long)]
        write: bool,
        /// Repository root (default: the current directory).
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Mermaid,
    Dot,
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,venus_runtime=info,venus_worker=info"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The plan files this binary was compiled from (the same bytes `plan!` read).
const EMBEDDED_PLANS: &[(&str, &str)] = &[
    ("sealer", include_str!("../../../plans/sealer.plan")),
    ("snapup", include_str!("../../../plans/snapup.plan")),
];

fn plan_path(root: &std::path::Path, plan: &str) -> PathBuf {
    let p = PathBuf::from(plan);
    if p.extension().is_some() || p.exists() {
        p
    } else {
        root.join("plans").join(format!("{plan}.plan"))
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Params {
            generate_one: Some(c),
            ..
        } => params::generate_one(&c),
        Cmd::Params { check: true, .. } => {
            let dir = params::cache_dir();
            let mut missing = false;
            for c in params::Circuit::ALL {
                let s = params::status(&dir, c)?;
                println!("{:<14} {:?}", c.name(), s);
                missing |= s != params::Status::Ready;
            }
            if missing {
                bail!(
                    "parameters are missing in {}: run `venus-worker params`",
                    dir.display()
                );
            }
            Ok(())
        }
        Cmd::Params { .. } => params::ensure(&std::env::current_exe()?, &mut std::io::stderr()),
        Cmd::Plan { cmd } => plan_cmd(cmd),
        Cmd::Worker { config, host, cmd } => {
            let dest = match (host, config) {
                (Some(h), _) => h,
                (None, Some(c)) => {
                    let cfg = Config::load(&c)?;
                    let host = if cfg.worker.rpc_server.host == "0.0.0.0" {
                        "127.0.0.1".into()
                    } else {
                        cfg.worker.rpc_server.host.clone()
                    };
                    format!("{host}:{}", cfg.worker.rpc_server.port)
                }
                (None, None) => "127.0.0.1:17890".into(),
            };
            let client = ControlClient::new(&dest)?;
            runtime()?.block_on(async move {
                match cmd {
                    WorkerCmd::List => print!("{}", format_list(&client.list().await?)),
                    WorkerCmd::Pause { index } => {
                        let ok = client.pause(index).await?;
                        println!("{}", if ok { format!("pause of thread #{index} requested; it stops at its next safe point") } else { format!("thread #{index} is already paused or has a pause pending") });
                    }
                    WorkerCmd::Resume { index, state, force } => {
                        let ok = client.resume(index, state.as_deref(), force).await?;
                        if ok {
                            println!("thread #{index} resumed{}", state.map(|s| format!(" at {s}")).unwrap_or_default());
                        } else {
                            bail!("thread #{index} is not paused: nothing to resume");
                        }
                    }
                }
                Ok(())
            })
        }
        Cmd::Daemon {
            config,
            tasks_per_thread,
        } => {
            init_logging();
            let cfg = Config::load(&config)?;
            runtime()?.block_on(async move {
                let addr = cfg.control_addr();
                let remote = remote_manager(&cfg).await?;
                let worker = Arc::new(Worker::new(cfg, Arc::new(RealProofs), remote)?);
                let (bound, _server) = control_api::serve(worker.clone(), &addr).await?;
                tracing::info!(%bound, "control API listening");
                let w = worker.clone();
                tokio::spawn(async move {
                    use tokio::signal::unix::{signal, SignalKind};
                    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
                    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
                    tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
                    let busy: Vec<String> = w
                        .threads
                        .iter()
                        .filter_map(|t| match t.control.status().activity {
                            venus_runtime::control::Activity::Running { stage } => Some(format!("#{} {stage}", t.index)),
                            _ => None,
                        })
                        .collect();
                    if busy.is_empty() {
                        tracing::info!("shutting down");
                    } else {
                        tracing::warn!(
                            "shutting down after the running steps finish ({}): a proof cannot be interrupted. \
                             Signal again to exit now; the interrupted steps re-run from their persisted state on restart",
                            busy.join(", ")
                        );
                    }
                    w.shutdown();
                    tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
                    tracing::warn!("exiting now; every finished step is persisted");
                    std::process::exit(130);
                });
                worker
                    .run(RunOptions {
                        tasks_per_thread,
                        stop_on_pause: false,
                    })
                    .await
            })
        }
        Cmd::Demo { dir, json } => {
            init_logging();
            eprintln!(
                "demo: checking proof parameters (generated once per machine, kept in {})",
                params::cache_dir().display()
            );
            params::ensure(&std::env::current_exe()?, &mut std::io::stderr())?;
            let tasks = runtime()?.block_on(demo::run(&dir, Arc::new(RealProofs)))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tasks)?);
            } else {
                demo::print_summary(&tasks);
            }
            Ok(())
        }
    }
}

/// The client of the remote manager when `[sector_manager] rpc_client.addr` is set (None: the
/// embedded manager). Checked before anything starts, like the established worker: the manager
/// answers, accepts the token, and knows every attached persist store.
async fn remote_manager(cfg: &Config) -> Result<Option<Arc<dyn SectorManager>>> {
    let Some(rpc) = &cfg.sector_manager.rpc_client else {
        return Ok(None);
    };
    let stores: Vec<String> = cfg.attached_stores().into_iter().map(|s| s.0).collect();
    if stores.is_empty() {
        bail!(
            "a remote sector manager needs at least one [[attached]] persist store (name + location) \
             that the manager knows under the same name"
        );
    }
    // Deal pieces downloaded from the manager are cached once per worker, in the first thread's
    // location (next to its data/ directory).
    let cache = cfg.sealing_thread[0].location.join("piece-cache");
    let client = RpcManager::new(&rpc.addr, cfg.sector_manager.token.as_deref(), cache)?;
    client
        .check_stores(&stores)
        .await
        .context("checking the remote sector manager")?;
    tracing::info!(manager = client.url(), "using the remote sector manager");
    Ok(Some(Arc::new(client)))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn plan_cmd(cmd: PlanCmd) -> Result<()> {
    match cmd {
        PlanCmd::Check { file } => match plan_meta::check_file(&file) {
            Ok(plan) => {
                println!(
                    "{}: ok ({} states, {} transitions)",
                    plan_meta::display_path(&file),
                    plan.states.len(),
                    plan.states
                        .iter()
                        .map(|s| s.transitions.len())
                        .sum::<usize>()
                );
                Ok(())
            }
            Err(diagnostics) => {
                eprint!("{diagnostics}");
                std::process::exit(1);
            }
        },
        PlanCmd::Show { plan, format } => {
            let path = plan_path(std::path::Path::new("."), &plan);
            let model = if path.exists() {
                plan_meta::check_file(&path)
                    .map_err(|d| anyhow::anyhow!("{}", d.trim_start_matches("error: ")))?
            } else if let Some((_, src)) = EMBEDDED_PLANS.iter().find(|(n, _)| *n == plan) {
                // The plans this binary was compiled from, wherever it runs.
                plan_meta::parse_and_validate(src)
                    .map_err(|_| anyhow::anyhow!("the embedded {plan} plan is invalid"))?
            } else {
                bail!(
                    "no plan file {} and no plan named {plan:?} (this worker's plans: sealer, snapup)",
                    path.display()
                );
            };
            let out = match format {
                Format::Text => plan_meta::render::text(&model),
                Format::Mermaid => plan_meta::render::mermaid(&model),
                Format::Dot => plan_meta::render::dot(&model),
            };
            print!("{out}");
            Ok(())
        }
        PlanCmd::Docs { write, root } => {
            let mut plans = Vec::new();
            for name in ["sealer", "snapup"] {
                let path = plan_path(&root, name);
                let model = plan_meta::check_file(&path).map_err(|d| anyhow::anyhow!("{d}"))?;
                plans.push((name.to_string(), model));
            }
            let md = plan_meta::render::task_status_flow_md(&plans);
            if write {
                let out = root.join("docs/task-status-flow.md");
                std::fs::write(&out, md)?;
                eprintln!("wrote {}", out.display());
            } else {
                print!("{md}");
            }
            Ok(())
        }
    }
}

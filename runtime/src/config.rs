//! The worker's TOML configuration, in the spirit of venus-worker's.
//!
//! Keys follow the established worker where it has them (`[[sealing_thread]]` with `location` and
//! `plan`, `[sealing]`, `[sector_manager] rpc_client.addr`, `[[attached]]`,
//! `[processors.limitation.concurrent]`, `[worker] name` and `rpc_server`). Unlike it, unknown keys
//! are an error (a typo must not silently fall back to a default), and relative paths are relative
//! to the config file, so a shipped config works from any directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub worker: WorkerSection,
    #[serde(default)]
    pub sector_manager: ManagerSection,
    #[serde(default)]
    pub sealing: SealingSection,
    #[serde(default)]
    pub sealing_thread: Vec<ThreadSection>,
    #[serde(default)]
    pub attached: Vec<AttachedStore>,
    #[serde(default)]
    pub processors: ProcessorsSection,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSection {
    /// Instance name reported to the manager. Default: the host name.
    pub name: Option<String>,
    #[serde(default)]
    pub rpc_server: RpcServer,
    /// How often to announce this worker to the manager (`Venus.WorkerPing`).
    #[serde(default = "d_ping", with = "humantime_serde")]
    pub ping_interval: Duration,
    /// Directories searched for deal piece files named by their piece CID.
    #[serde(default)]
    pub local_pieces_dirs: Vec<PathBuf>,
}

impl Default for WorkerSection {
    fn default() -> Self {
        WorkerSection {
            name: None,
            rpc_server: RpcServer::default(),
            ping_interval: d_ping(),
            local_pieces_dirs: vec![],
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RpcServer {
    /// Control API address. Loopback by default: the API can pause and abort sectors.
    #[serde(default = "d_host")]
    pub host: String,
    #[serde(default = "d_port")]
    pub port: u16,
}

impl Default for RpcServer {
    fn default() -> Self {
        RpcServer {
            host: d_host(),
            port: d_port(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ManagerSection {
    /// A remote `venus-sector-manager`. Absent: the embedded manager is used.
    pub rpc_client: Option<RpcClient>,
    /// Bearer token for the remote manager's API.
    pub token: Option<String>,
    /// Settings of the embedded manager (used only without `rpc_client`).
    #[serde(default)]
    pub embedded: EmbeddedManager,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RpcClient {
    /// Multiaddr (`/ip4/127.0.0.1/tcp/1789`) or URL (`http://127.0.0.1:1789`).
    pub addr: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedManager {
    /// Where the embedded manager keeps its database, pieces and persist store.
    #[serde(default = "d_home")]
    pub home: PathBuf,
    /// The miner actor id sectors are allocated for.
    #[serde(default = "d_miner")]
    pub miner: u64,
    /// Seal proof type handed out (5 = StackedDrg2KiBV1_1).
    #[serde(default = "d_proof")]
    pub proof_type: u64,
    /// Stop allocating after this many sealer sectors (None: no limit).
    pub max_sectors: Option<u64>,
}

impl Default for EmbeddedManager {
    fn default() -> Self {
        EmbeddedManager {
            home: d_home(),
            miner: d_miner(),
            proof_type: d_proof(),
            max_sectors: None,
        }
    }
}

/// Sealing behaviour; `[sealing]` is the base, `[sealing_thread.sealing]` overrides per thread.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SealingSection {
    pub allowed_miners: Option<Vec<u64>>,
    /// Sector sizes this worker seals, e.g. `["2KiB"]`.
    pub allowed_sizes: Option<Vec<String>>,
    pub enable_deals: Option<bool>,
    pub disable_cc: Option<bool>,
    pub max_deals: Option<u64>,
    /// Temporary failures retried per state before the thread pauses.
    pub max_retries: Option<u32>,
    /// First backoff after a temporary failure; doubles each retry up to `retry_max_backoff`.
    #[serde(default, with = "humantime_serde")]
    pub retry_backoff: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub retry_max_backoff: Option<Duration>,
    /// Pause between two tasks of a thread.
    #[serde(default, with = "humantime_serde")]
    pub seal_interval: Option<Duration>,
    /// Wait when the manager has no work for the thread.
    #[serde(default, with = "humantime_serde")]
    pub recover_interval: Option<Duration>,
    /// Interval of the PreCommit / proof landing polls.
    #[serde(default, with = "humantime_serde")]
    pub rpc_polling_interval: Option<Duration>,
}

/// Fully resolved sealing settings of one thread.
#[derive(Clone, Debug, Serialize)]
pub struct Sealing {
    pub allowed_miners: Option<Vec<u64>>,
    pub allowed_proof_types: Option<Vec<u64>>,
    pub enable_deals: bool,
    pub disable_cc: bool,
    pub max_deals: Option<u64>,
    pub max_retries: u32,
    pub retry_backoff: Duration,
    pub retry_max_backoff: Duration,
    pub seal_interval: Duration,
    pub recover_interval: Duration,
    pub rpc_polling_interval: Duration,
}

impl SealingSection {
    fn or(&self, base: &SealingSection) -> SealingSection {
        SealingSection {
            allowed_miners: self.allowed_miners.clone().or(base.allowed_miners.clone()),
            allowed_sizes: self.allowed_sizes.clone().or(base.allowed_sizes.clone()),
            enable_deals: self.enable_deals.or(base.enable_deals),
            disable_cc: self.disable_cc.or(base.disable_cc),
            max_deals: self.max_deals.or(base.max_deals),
            max_retries: self.max_retries.or(base.max_retries),
            retry_backoff: self.retry_backoff.or(base.retry_backoff),
            retry_max_backoff: self.retry_max_backoff.or(base.retry_max_backoff),
            seal_interval: self.seal_interval.or(base.seal_interval),
            recover_interval: self.recover_interval.or(base.recover_interval),
            rpc_polling_interval: self.rpc_polling_interval.or(base.rpc_polling_interval),
        }
    }

    fn resolve(&self) -> Result<Sealing> {
        let allowed_proof_types = match &self.allowed_sizes {
            None => None,
            Some(sizes) => Some(
                sizes
                    .iter()
                    .map(|s| proof_type_for_size(s))
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        Ok(Sealing {
            allowed_miners: self.allowed_miners.clone(),
            allowed_proof_types,
            enable_deals: self.enable_deals.unwrap_or(false),
            disable_cc: self.disable_cc.unwrap_or(false),
            max_deals: self.max_deals,
            max_retries: self.max_retries.unwrap_or(5),
            retry_backoff: self.retry_backoff.unwrap_or(Duration::from_secs(2)),
            retry_max_backoff: self.retry_max_backoff.unwrap_or(Duration::from_secs(300)),
            seal_interval: self.seal_interval.unwrap_or(Duration::from_secs(5)),
            recover_interval: self.recover_interval.unwrap_or(Duration::from_secs(30)),
            rpc_polling_interval: self.rpc_polling_interval.unwrap_or(Duration::from_secs(10)),
        })
    }
}

/// The V1_1 seal proof id for a sector size string.
pub fn proof_type_for_size(size: &str) -> Result<u64> {
    Ok(match size.trim() {
        "2KiB" => 5,
        "8MiB" => 6,
        "512MiB" => 7,
        "32GiB" => 8,
        "64GiB" => 9,
        other => bail!("unknown sector size {other:?} in sealing.allowed_sizes (expected 2KiB, 8MiB, 512MiB, 32GiB or 64GiB)"),
    })
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadSection {
    /// The thread's own directory: its database and the files of the sector it works on.
    pub location: PathBuf,
    /// `sealer` (default) or `snapup`.
    #[serde(default = "d_plan")]
    pub plan: String,
    #[serde(default)]
    pub sealing: SealingSection,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttachedStore {
    pub name: Option<String>,
    pub location: PathBuf,
    #[serde(default)]
    pub readonly: bool,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessorsSection {
    #[serde(default)]
    pub limitation: Limitation,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limitation {
    /// Stage name → how many threads may run it at once (e.g. `c2 = 1`).
    #[serde(default)]
    pub concurrent: BTreeMap<String, usize>,
}

/// Stage names that `[processors.limitation.concurrent]` accepts.
pub const STAGES: &[&str] = &[
    "add_pieces",
    "tree_d",
    "pc1",
    "pc2",
    "c1",
    "c2",
    "snap_encode",
    "snap_prove",
    "transfer",
];

pub const PLANS: &[&str] = &["sealer", "snapup"];

fn d_ping() -> Duration {
    Duration::from_secs(30)
}
fn d_host() -> String {
    "127.0.0.1".into()
}
fn d_port() -> u16 {
    17890
}
fn d_home() -> PathBuf {
    PathBuf::from("manager")
}
fn d_miner() -> u64 {
    1000
}
fn d_proof() -> u64 {
    5
}
fn d_plan() -> String {
    "sealer".into()
}

impl Config {
    /// Read, parse and check a config file; relative paths become relative to its directory.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        let mut cfg: Config = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        let base = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."));
        let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
        cfg.resolve_paths(&base);
        cfg.validate()
            .with_context(|| format!("config file {}", path.display()))?;
        Ok(cfg)
    }

    pub fn parse(text: &str, base: &Path) -> Result<Config> {
        let mut cfg: Config = toml::from_str(text)?;
        cfg.resolve_paths(base);
        cfg.validate()?;
        Ok(cfg)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.sector_manager.embedded.home);
        for t in &mut self.sealing_thread {
            fix(&mut t.location);
        }
        for a in &mut self.attached {
            fix(&mut a.location);
        }
        for d in &mut self.worker.local_pieces_dirs {
            fix(d);
        }
    }

    fn validate(&self) -> Result<()> {
        ensure!(
            !self.sealing_thread.is_empty(),
            "no [[sealing_thread]] configured: nothing to do"
        );
        let mut seen = std::collections::BTreeSet::new();
        for (i, t) in self.sealing_thread.iter().enumerate() {
            ensure!(
                PLANS.contains(&t.plan.as_str()),
                "sealing_thread #{i}: unknown plan {:?} (known plans: {})",
                t.plan,
                PLANS.join(", ")
            );
            ensure!(
                seen.insert(t.location.clone()),
                "sealing_thread #{i}: location {} is used by another thread",
                t.location.display()
            );
            self.sealing_for(i)?;
        }
        if self.is_embedded() {
            let pt = self.sector_manager.embedded.proof_type;
            for i in 0..self.sealing_thread.len() {
                if let Some(allowed) = self.sealing_for(i)?.allowed_proof_types {
                    ensure!(
                        allowed.contains(&pt),
                        "sealing_thread #{i}: sealing.allowed_sizes excludes the embedded manager's sector size \
                         (proof type {pt}): the thread would wait for work forever. Add its size (2KiB for \
                         proof type 5) or change [sector_manager.embedded] proof_type"
                    );
                }
            }
        }
        for stage in self.processors.limitation.concurrent.keys() {
            ensure!(
                STAGES.contains(&stage.as_str()),
                "processors.limitation.concurrent: unknown stage {stage:?} (known: {})",
                STAGES.join(", ")
            );
        }
        for (stage, n) in &self.processors.limitation.concurrent {
            ensure!(
                *n > 0,
                "processors.limitation.concurrent.{stage} = 0 would block that stage forever"
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for a in self.attached_stores() {
            ensure!(
                names.insert(a.0.clone()),
                "attached store name {:?} is used twice",
                a.0
            );
        }
        Ok(())
    }

    pub fn sealing_for(&self, index: usize) -> Result<Sealing> {
        self.sealing_thread[index]
            .sealing
            .or(&self.sealing)
            .resolve()
    }

    pub fn worker_name(&self) -> String {
        self.worker.name.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .map(|s| s.trim().to_string())
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "venus-worker".into())
        })
    }

    pub fn is_embedded(&self) -> bool {
        self.sector_manager.rpc_client.is_none()
    }

    /// Attached stores as (name, path, readonly). The embedded manager's own persist store is
    /// attached automatically.
    pub fn attached_stores(&self) -> Vec<(String, PathBuf, bool)> {
        let mut v: Vec<(String, PathBuf, bool)> = self
            .attached
            .iter()
            .map(|a| {
                let name = a
                    .name
                    .clone()
                    .unwrap_or_else(|| a.location.display().to_string());
                (name, a.location.clone(), a.readonly)
            })
            .collect();
        if self.is_embedded() {
            v.push((
                crate::manager::local::EMBEDDED_STORE.to_string(),
                self.sector_manager.embedded.home.join("store"),
                false,
            ));
        }
        v
    }

    pub fn control_addr(&self) -> String {
        format!(
            "{}:{}",
            self.worker.rpc_server.host, self.worker.rpc_server.port
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/venus-worker.toml");
        let cfg = Config::load(&path).unwrap();
        assert_eq!(cfg.sealing_thread.len(), 2);
        assert!(cfg.is_embedded());
    }

    #[test]
    fn unknown_key_and_bad_values_are_errors() {
        let base = Path::new("/tmp");
        let e =
            Config::parse("[[sealing_thread]]\nlocation='a'\nplna='sealer'\n", base).unwrap_err();
        assert!(format!("{e:#}").contains("plna"), "{e:#}");
        let e =
            Config::parse("[[sealing_thread]]\nlocation='a'\nplan='sealr'\n", base).unwrap_err();
        assert!(format!("{e:#}").contains("unknown plan \"sealr\""), "{e:#}");
        let e = Config::parse(
            "[[sealing_thread]]\nlocation='a'\n[processors.limitation.concurrent]\nc3 = 1\n",
            base,
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("unknown stage \"c3\""), "{e:#}");
        let e = Config::parse(
            "[sealing]\nallowed_sizes=['3KiB']\n[[sealing_thread]]\nlocation='a'\n",
            base,
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("3KiB"), "{e:#}");
        let e = Config::parse("", base).unwrap_err();
        assert!(format!("{e:#}").contains("no [[sealing_thread]]"), "{e:#}");
    }
}

//! What a step handler may use: the manager, the proof backend, the thread's files, its stage
//! limits, and interruptible waiting. Handlers get a `&StepEnv` and nothing else, so everything a
//! step does to the outside world is visible here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::config::Sealing;
use crate::control::{Activity, Control};
use crate::failure::{classify_io, LevelExt};
use crate::failure::{Failure, Level, StepResult};
use crate::manager::{MResult, SectorManager};
use crate::proofs::PieceSource;
use crate::proofs::Proofs;
use crate::types::{piece_cid, AllocatedSector, Cid, Deal, PieceInfo, SectorId};

/// Per-stage concurrency limits shared by all threads of a worker (`[processors.limitation.concurrent]`).
#[derive(Default)]
pub struct StageLimits {
    limits: BTreeMap<String, Arc<Semaphore>>,
    sizes: BTreeMap<String, usize>,
}

impl StageLimits {
    pub fn new(cfg: &BTreeMap<String, usize>) -> Self {
        StageLimits {
            limits: cfg
                .iter()
                .map(|(k, v)| (k.clone(), Arc::new(Semaphore::new(*v))))
                .collect(),
            sizes: cfg.clone(),
        }
    }

    pub fn limit(&self, stage: &str) -> Option<usize> {
        self.sizes.get(stage).copied()
    }

    /// Slots of `stage` currently in use (for tests and benchmarks).
    pub fn in_use(&self, stage: &str) -> usize {
        match (self.limits.get(stage), self.sizes.get(stage)) {
            (Some(s), Some(n)) => n - s.available_permits(),
            _ => 0,
        }
    }
}

/// The thread's sector files under `<location>/data`, laid out like the established worker's.
#[derive(Clone, Debug)]
pub struct Location {
    pub root: PathBuf,
}

impl Location {
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }
    pub fn staged(&self, id: SectorId) -> PathBuf {
        self.data().join("unsealed").join(id.to_string())
    }
    pub fn cache(&self, id: SectorId) -> PathBuf {
        self.data().join("cache").join(id.to_string())
    }
    pub fn sealed(&self, id: SectorId) -> PathBuf {
        self.data().join("sealed").join(id.to_string())
    }
    pub fn update(&self, id: SectorId) -> PathBuf {
        self.data().join("update").join(id.to_string())
    }
    pub fn update_cache(&self, id: SectorId) -> PathBuf {
        self.data().join("update-cache").join(id.to_string())
    }

    /// Remove every local file of a sector (after it finished or aborted). Persisted copies in
    /// stores are the manager's and are never touched here.
    pub fn clean(&self, id: SectorId) -> std::io::Result<()> {
        for p in [self.staged(id), self.sealed(id), self.update(id)] {
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        for p in [self.cache(id), self.update_cache(id)] {
            match std::fs::remove_dir_all(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Persist stores this worker can write to or read from, by name.
#[derive(Clone, Debug, Default)]
pub struct Stores {
    pub stores: Vec<(String, PathBuf, bool)>,
}

impl Stores {
    pub fn path(&self, name: &str) -> Option<&Path> {
        self.stores
            .iter()
            .find(|s| s.0 == name)
            .map(|s| s.1.as_path())
    }
    pub fn writable(&self) -> Vec<String> {
        self.stores
            .iter()
            .filter(|s| !s.2)
            .map(|s| s.0.clone())
            .collect()
    }
}

pub struct StepEnv {
    pub index: usize,
    pub worker_name: String,
    pub location: Location,
    pub sealing: Sealing,
    pub manager: Arc<dyn SectorManager>,
    pub proofs: Arc<dyn Proofs>,
    pub limits: Arc<StageLimits>,
    pub stores: Arc<Stores>,
    pub local_pieces_dirs: Vec<PathBuf>,
    pub control: Arc<Control>,
    /// Test-only fault injection (None in the daemon).
    pub faults: Option<Arc<crate::testing::FaultInjector>>,
}

impl StepEnv {
    /// Sleep unless a pause or shutdown comes first (then the step ends as interrupted).
    pub async fn sleep(&self, d: Duration) -> StepResult<()> {
        // Waiting for the manager (work to allocate, a landing, a seed) is idle time.
        self.control.set_activity(Activity::Idle);
        if self.control.sleep(d).await {
            Ok(())
        } else {
            Err(Failure::new(
                Level::Interrupt,
                anyhow::anyhow!("interrupted while waiting"),
            ))
        }
    }

    /// Run heavy, blocking work (proofs, large file moves) off the async executor, within the
    /// stage's concurrency limit. Waiting for a slot can be interrupted; the work itself cannot.
    /// Errors are Permanent by default (a proof that failed once fails again); the closure can
    /// return a more specific level.
    pub async fn blocking<T: Send + 'static>(
        &self,
        stage: &str,
        f: impl FnOnce() -> StepResult<T> + Send + 'static,
    ) -> StepResult<T> {
        let _permit = match self.limits.limits.get(stage) {
            Some(sem) => {
                self.control.set_activity(Activity::Waiting {
                    stage: stage.into(),
                });
                let permit = tokio::select! {
                    p = sem.clone().acquire_owned() => p.map_err(|e| Failure::critical(e))?,
                    _ = self.control.until_interrupted() => {
                        self.control.set_activity(Activity::Idle);
                        return Err(Failure::new(Level::Interrupt, anyhow::anyhow!("interrupted while waiting for a {stage} slot")));
                    }
                };
                Some(permit)
            }
            None => None,
        };
        self.control.set_activity(Activity::Running {
            stage: stage.into(),
        });
        let res = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
                Err(Failure::permanent(anyhow::anyhow!(
                    "a panic inside the step"
                )))
            })
        })
        .await
        .unwrap_or_else(|e| Err(Failure::permanent(anyhow::anyhow!("step task failed: {e}"))));
        self.control.set_activity(Activity::Idle);
        res
    }

    /// Map a manager answer: "sector not found" means the manager has dropped the sector (abort);
    /// anything else is a communication problem worth retrying (temporary).
    pub fn rpc<T>(&self, what: &str, r: MResult<T>) -> StepResult<T> {
        r.map_err(|e| {
            let level = if e.is_not_found() {
                Level::Abort
            } else {
                Level::Temporary
            };
            Failure::new(level, anyhow::anyhow!("{what}: {e}"))
        })
    }

    /// Find the bytes of a deal piece: local pieces directories first, then the manager.
    pub async fn piece_file(&self, cid: &Cid) -> StepResult<PathBuf> {
        for dir in &self.local_pieces_dirs {
            for name in [cid.root.clone(), format!("{}.car", cid.root)] {
                let p = dir.join(name);
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
        match self.rpc("locating piece", self.manager.piece_path(cid).await)? {
            Some(p) => Ok(p),
            None => Err(Failure::permanent(anyhow::anyhow!(
                "piece {} not found in the local pieces dirs nor at the manager",
                cid.root
            ))),
        }
    }
}

/// Which pair of files a persist moves: the sealed replica, or the upgraded one.
#[derive(Clone, Copy, Debug)]
pub enum Replica {
    Sealed,
    Update,
}

impl StepEnv {
    /// Build the staged file of `sector` from its deals (pledge pieces are zeros, deal pieces are
    /// read from the piece store and checked against their piece CID), filled up with pledge pieces.
    pub async fn add_deal_pieces(
        &self,
        sector: &AllocatedSector,
        deals: &[Deal],
    ) -> StepResult<Vec<PieceInfo>> {
        let mut sources = Vec::new();
        for deal in deals {
            let unpadded_size = crate::proofs::unpadded(deal.piece.size);
            if deal.is_pledge() {
                sources.push(PieceSource::Zeros { unpadded_size });
            } else {
                let comm_p = piece_cid::to_commitment(&deal.piece.piece_cid).perm()?;
                let path = self.piece_file(&deal.piece.piece_cid).await?;
                sources.push(PieceSource::File {
                    path,
                    unpadded_size,
                    comm_p,
                });
            }
        }
        let staged = self.location.staged(sector.id);
        let proofs = self.proofs.clone();
        let proof_type = sector.proof_type;
        self.blocking("add_pieces", move || {
            proofs.add_pieces(proof_type, &staged, &sources).perm()
        })
        .await
    }

    /// Build the data tree over the staged file and check that it holds exactly `pieces`.
    pub async fn build_tree_d(
        &self,
        sector: &AllocatedSector,
        pieces: Vec<PieceInfo>,
    ) -> StepResult<()> {
        let staged = self.location.staged(sector.id);
        let proofs = self.proofs.clone();
        let proof_type = sector.proof_type;
        self.blocking("tree_d", move || {
            proofs.tree_d(proof_type, &staged, &pieces).perm()
        })
        .await
        .map(|_| ())
    }

    /// Move a replica and its cache into a persist store the manager reserves space in; returns
    /// the store's name. Re-runnable after a crash at any point (see `persist.rs`).
    pub async fn persist(&self, sector: &AllocatedSector, replica: Replica) -> StepResult<String> {
        let size = crate::proofs::sector_size(sector.proof_type).perm()?;
        let candidates = self.stores.writable();
        if candidates.is_empty() {
            return Err(Failure::permanent(anyhow::anyhow!(
                "no writable persist store is attached ([[attached]])"
            )));
        }
        let store = loop {
            let reserved = self
                .manager
                .store_reserve_space(sector.id, 2 * size, candidates.clone())
                .await;
            match self.rpc("reserve store space", reserved)? {
                Some(info) => break info,
                None => self.sleep(self.sealing.rpc_polling_interval).await?,
            }
        };
        let root = self
            .stores
            .path(&store.name)
            .ok_or_else(|| {
                Failure::permanent(anyhow::anyhow!(
                    "the manager chose store {:?}, which is not attached here",
                    store.name
                ))
            })?
            .to_path_buf();
        let (loc, id) = (self.location.clone(), sector.id);
        let (file, dir, dest_file, dest_dir) = match replica {
            Replica::Sealed => (loc.sealed(id), loc.cache(id), "sealed", "cache"),
            Replica::Update => (
                loc.update(id),
                loc.update_cache(id),
                "update",
                "update-cache",
            ),
        };
        self.blocking("transfer", move || {
            crate::persist::move_sector_files(
                &file,
                &dir,
                &root.join(dest_file).join(id.to_string()),
                &root.join(dest_dir).join(id.to_string()),
            )
            .map_err(|e| classify_io(e, Level::Permanent))
        })
        .await?;
        Ok(store.name)
    }
}

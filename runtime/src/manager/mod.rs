//! The sector manager: the side that owns sector numbers, deals, randomness and the chain.
//!
//! The worker only ever talks to a [`SectorManager`]. Two implementations stand behind it: the
//! embedded [`local::LocalManager`] (the default; its own SQLite database, real proof
//! verification) and the JSON-RPC client of a remote `venus-sector-manager`. The methods mirror
//! the established `Venus.*` API one to one, so the same trait is also what the RPC server serves.
//!
//! - `local`: the implementation (SQLite, real verification).
//! - `rpc`: the HTTP JSON-RPC door in front of any [`SectorManager`] (what `venus-sector-manager
//!   daemon` serves), with its token check and the piece store download path.
//! - `client`: the worker's JSON-RPC client of a remote manager ([`client::RpcManager`]).

pub mod client;
pub mod local;
pub mod rpc;

use async_trait::async_trait;

use crate::types::*;

/// JSON-RPC error code the established manager uses for "sector state not found": the manager
/// no longer knows this sector, so working on it further is pointless (the task aborts).
pub const SECTOR_STATE_NOT_FOUND: i64 = 11001;

#[derive(Debug, Clone, thiserror::Error)]
#[error("sector manager: {message}{}", code.map(|c| format!(" (code {c})")).unwrap_or_default())]
pub struct ManagerError {
    pub code: Option<i64>,
    pub message: String,
}

impl ManagerError {
    pub fn new(message: impl Into<String>) -> Self {
        ManagerError {
            code: None,
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        ManagerError {
            code: Some(SECTOR_STATE_NOT_FOUND),
            message: message.into(),
        }
    }
    pub fn is_not_found(&self) -> bool {
        self.code == Some(SECTOR_STATE_NOT_FOUND)
    }
}

impl From<anyhow::Error> for ManagerError {
    fn from(e: anyhow::Error) -> Self {
        ManagerError::new(format!("{e:#}"))
    }
}

impl From<rusqlite::Error> for ManagerError {
    fn from(e: rusqlite::Error) -> Self {
        ManagerError::new(format!("database: {e}"))
    }
}

pub type MResult<T> = Result<T, ManagerError>;

#[async_trait]
pub trait SectorManager: Send + Sync + 'static {
    async fn allocate_sector(&self, spec: AllocateSectorSpec) -> MResult<Option<AllocatedSector>>;
    async fn acquire_deals(&self, id: SectorId, spec: AcquireDealsSpec) -> MResult<Option<Deals>>;
    async fn assign_ticket(&self, id: SectorId) -> MResult<Ticket>;
    async fn submit_pre_commit(
        &self,
        sector: AllocatedSector,
        info: PreCommitOnChainInfo,
        reset: bool,
    ) -> MResult<SubmitResp>;
    async fn poll_pre_commit_state(&self, id: SectorId) -> MResult<PollStateResp>;
    async fn submit_persisted_ex(
        &self,
        id: SectorId,
        instance: String,
        is_upgrade: bool,
    ) -> MResult<bool>;
    async fn wait_seed(&self, id: SectorId, proof_type: SealProof) -> MResult<WaitSeedResp>;
    async fn submit_proof(
        &self,
        id: SectorId,
        info: ProofOnChainInfo,
        reset: bool,
    ) -> MResult<SubmitResp>;
    async fn poll_proof_state(&self, id: SectorId) -> MResult<PollStateResp>;
    async fn report_state(&self, id: SectorId, req: ReportStateReq) -> MResult<SectorStateResp>;
    async fn report_finalized(&self, id: SectorId) -> MResult<()>;
    async fn report_aborted(&self, id: SectorId, reason: String) -> MResult<()>;
    async fn allocate_snapup_sector(
        &self,
        spec: AllocateSnapUpSpec,
    ) -> MResult<Option<AllocatedSnapUpSector>>;
    async fn submit_snapup_proof(
        &self,
        id: SectorId,
        info: SnapUpOnChainInfo,
    ) -> MResult<SubmitResp>;
    async fn store_reserve_space(
        &self,
        id: SectorId,
        size: u64,
        candidates: Vec<String>,
    ) -> MResult<Option<StoreBasicInfo>>;
    async fn store_basic_info(&self, instance: String) -> MResult<Option<StoreBasicInfo>>;
    async fn worker_ping(&self, info: WorkerPingInfo) -> MResult<()>;
    /// Where to read a deal piece's bytes: a local path (embedded manager, or a local pieces dir).
    async fn piece_path(&self, cid: &Cid) -> MResult<Option<std::path::PathBuf>>;
}

/// What an operator does on the manager (not part of the worker's API): the ping registry behind
/// `util worker ...`, and manager-side sector actions behind `util sealer sectors ...`.
#[async_trait]
pub trait ManagerAdmin: Send + Sync + 'static {
    /// Every worker that has pinged, by name.
    async fn workers_list(&self) -> MResult<Vec<WorkerPingRecord>>;
    /// One worker's last ping, by instance name.
    async fn worker_get(&self, name: String) -> MResult<Option<WorkerPingRecord>>;
    /// Abort a sector on the manager; the worker working on it learns it from its next state
    /// report and ends the task.
    async fn sectors_abort(&self, id: SectorId, reason: String) -> MResult<()>;
    /// All sectors with their state.
    async fn sectors_list(&self) -> MResult<Vec<local::SectorSummary>>;
}

//! The embedded sector manager: the default when no remote manager is configured.
//!
//! It plays the chain and the market for a worker on one machine, for real: it allocates sector
//! numbers (never twice, also across restarts and concurrent callers: numbers come from one
//! SQLite transaction), hands out tickets and seeds, checks a PreCommit's comm_d against the
//! sector's pieces and a proof with the real verifier before it calls either landed, offers a
//! persist store (a directory) and checks the persisted files, and for snapup hands out one of its
//! sealed CC sectors with a real deal piece and verifies the update proof.
//!
//! The same type is served over JSON-RPC by `venus-sector-manager`: one implementation, two doors.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{MResult, ManagerAdmin, ManagerError, SectorManager};
use crate::proofs::{self, Proofs};
use crate::store::now_ms;
use crate::types::*;

/// Longest wait a `WaitSeed` answer asks for while the seed is not due yet.
const SEED_POLL_MAX_SECS: i64 = 2;

/// Name of the embedded manager's persist store.
pub const EMBEDDED_STORE: &str = "embedded-store";

#[derive(Clone, Debug)]
pub struct LocalManagerConfig {
    pub home: PathBuf,
    pub miner: u64,
    pub proof_type: SealProof,
    pub max_sectors: Option<u64>,
    /// Named persist stores (name → directory). The embedded store is always present.
    pub stores: Vec<(String, PathBuf)>,
}

pub struct LocalManager {
    db: Mutex<Connection>,
    cfg: LocalManagerConfig,
    proofs: Arc<dyn Proofs>,
    /// How long after a PreCommit lands the seed is drawn (the chain's challenge delay).
    seed_delay: Duration,
}

/// Sector row states in the manager's database.
mod st {
    pub const ALLOCATED: &str = "Allocated";
    pub const FINALIZED: &str = "Finalized";
    pub const ABORTED: &str = "Aborted";
}

impl LocalManager {
    pub fn open(cfg: LocalManagerConfig, proofs: Arc<dyn Proofs>) -> Result<Self> {
        std::fs::create_dir_all(&cfg.home)
            .with_context(|| format!("creating {}", cfg.home.display()))?;
        std::fs::create_dir_all(cfg.home.join("pieces"))?;
        std::fs::create_dir_all(cfg.home.join("store"))?;
        let path = cfg.home.join("manager.sqlite");
        let conn =
            Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS counters (miner INTEGER PRIMARY KEY, next_number INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS sectors (
                miner INTEGER NOT NULL,
                number INTEGER NOT NULL,
                proof_type INTEGER NOT NULL,
                state TEXT NOT NULL,
                deals TEXT,
                ticket TEXT,
                precommit TEXT,
                precommit_landed INTEGER NOT NULL DEFAULT 0,
                seed TEXT,
                proof BLOB,
                proof_landed INTEGER NOT NULL DEFAULT 0,
                persisted_instance TEXT,
                abort_reason TEXT,
                upgrade_state TEXT,
                upgrade_deals TEXT,
                upgrade_comm_r TEXT,
                upgrade_proof BLOB,
                worker TEXT,
                last_state TEXT,
                updated_at_ms INTEGER NOT NULL,
                PRIMARY KEY (miner, number)
             );
             CREATE TABLE IF NOT EXISTS workers (
                name TEXT PRIMARY KEY,
                dest TEXT NOT NULL,
                version TEXT NOT NULL,
                summary TEXT NOT NULL,
                last_ping_ms INTEGER NOT NULL
             );",
        )?;
        // Added after the first release of the schema: when the PreCommit landed.
        let has_landed_at: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('sectors') WHERE name = 'precommit_at_ms'")?
            .exists([])?;
        if !has_landed_at {
            conn.execute_batch("ALTER TABLE sectors ADD COLUMN precommit_at_ms INTEGER")?;
        }
        Ok(LocalManager {
            db: Mutex::new(conn),
            cfg,
            proofs,
            seed_delay: Duration::ZERO,
        })
    }

    /// Draw a sector's seed only `delay` after its PreCommit landed, as the chain does (the
    /// challenge delay); until then `WaitSeed` answers "wait". Default: at once.
    pub fn with_seed_delay(mut self, delay: Duration) -> Self {
        self.seed_delay = delay;
        self
    }

    pub fn home(&self) -> &Path {
        &self.cfg.home
    }

    fn store_path(&self, name: &str) -> Option<PathBuf> {
        if name == EMBEDDED_STORE {
            return Some(self.cfg.home.join("store"));
        }
        self.cfg
            .stores
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
    }

    /// Run a closure on the database.
    async fn with_db<T: Send + 'static>(
        self: &Self,
        f: impl FnOnce(&mut Connection) -> MResult<T> + Send,
    ) -> MResult<T> {
        // SQLite calls here take microseconds to a few milliseconds (one fsync per commit):
        // cheaper inline than a hop to the blocking pool.
        let mut conn = self
            .db
            .lock()
            .map_err(|_| ManagerError::new("database lock poisoned"))?;
        f(&mut conn)
    }

    fn sector_row<T>(
        conn: &Connection,
        id: SectorId,
        cols: &str,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> MResult<T> {
        conn.query_row(
            &format!("SELECT {cols} FROM sectors WHERE miner = ?1 AND number = ?2"),
            params![id.miner, id.number],
            f,
        )
        .optional()?
        .ok_or_else(|| ManagerError::not_found(format!("sector {id} not found")))
    }

    /// Where a submission stands: landed once accepted (the embedded manager verified it), or
    /// ShouldAbort once the sector was aborted. `column` is the submission's landed flag.
    async fn poll_landed(&self, id: SectorId, column: &'static str) -> MResult<PollStateResp> {
        let (state, landed): (String, i64) = self
            .with_db(move |c| {
                Self::sector_row(c, id, &format!("state, {column}"), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
            })
            .await?;
        let state = if state == st::ABORTED {
            OnChainState::ShouldAbort
        } else if landed == 1 {
            OnChainState::Landed
        } else {
            OnChainState::NotFound
        };
        Ok(PollStateResp { state, desc: None })
    }

    /// Operator action: abort a sector. The worker learns it from its next state report.
    pub async fn abort_sector(&self, id: SectorId, reason: &str) -> MResult<()> {
        let reason = reason.to_string();
        self.with_db(move |c| {
            let n = c.execute(
                "UPDATE sectors SET state = ?1, abort_reason = ?2, updated_at_ms = ?3 WHERE miner = ?4 AND number = ?5",
                params![st::ABORTED, reason, now_ms(), id.miner, id.number],
            )?;
            if n == 0 {
                return Err(ManagerError::not_found(format!("sector {id} not found")));
            }
            Ok(())
        })
        .await
    }

    /// All sectors with their state, for tools and tests.
    pub async fn list_sectors(&self) -> MResult<Vec<SectorSummary>> {
        self.with_db(|c| {
            let mut s = c.prepare(
                "SELECT miner, number, state, proof_landed, upgrade_state, abort_reason, worker, last_state FROM sectors ORDER BY miner, number",
            )?;
            let rows = s
                .query_map([], |r| {
                    Ok(SectorSummary {
                        id: SectorId { miner: r.get(0)?, number: r.get(1)? },
                        state: r.get(2)?,
                        proof_verified: r.get::<_, i64>(3)? == 1,
                        upgrade: r.get(4)?,
                        abort_reason: r.get(5)?,
                        worker: r.get(6)?,
                        worker_state: r.get(7)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    pub async fn list_workers(&self) -> MResult<Vec<(WorkerPingInfo, i64)>> {
        self.with_db(|c| {
            let mut s = c.prepare(
                "SELECT name, dest, version, summary, last_ping_ms FROM workers ORDER BY name",
            )?;
            let rows = s
                .query_map([], |r| {
                    let summary: String = r.get(3)?;
                    Ok((
                        WorkerPingInfo {
                            name: r.get(0)?,
                            dest: r.get(1)?,
                            version: r.get(2)?,
                            summary: serde_json::from_str(&summary).unwrap_or_default(),
                        },
                        r.get(4)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    fn pieces_for_comm_d(deals: &Option<Deals>, sector_size: u64) -> Result<Vec<PieceInfo>> {
        // The pieces a worker must have added: the deals' pieces, then pledge pieces to fill.
        let mut pieces = Vec::new();
        let mut used = 0u64;
        for d in deals.iter().flatten() {
            pieces.push(PieceInfo {
                comm_p: piece_cid::to_commitment(&d.piece.piece_cid)?,
                unpadded_size: proofs::unpadded(d.piece.size),
            });
            used += d.piece.size;
        }
        for padded in proofs::pledge_sizes(sector_size, used) {
            pieces.push(PieceInfo {
                comm_p: zero_comm_p(padded),
                unpadded_size: proofs::unpadded(padded),
            });
        }
        Ok(pieces)
    }

    fn has_sealed_files(store: &Path, id: SectorId, upgrade: bool) -> bool {
        let (file, cache) = if upgrade {
            ("update", "update-cache")
        } else {
            ("sealed", "cache")
        };
        let sealed = store.join(file).join(id.to_string());
        let cache = store.join(cache).join(id.to_string());
        sealed.is_file() && cache.join("p_aux").is_file()
            || (upgrade && sealed.is_file() && cache.is_dir())
    }
}

/// comm_p of a zero piece of the given padded size (the library computes it; zeros are cheap).
fn zero_comm_p(padded: u64) -> Commitment {
    filecoin_proofs::pieces::zero_padding(filecoin_proofs::UnpaddedBytesAmount(proofs::unpadded(
        padded,
    )))
    .map(|p| p.commitment)
    .unwrap_or([0u8; 32])
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SectorSummary {
    pub id: SectorId,
    pub state: String,
    pub proof_verified: bool,
    pub upgrade: Option<String>,
    pub abort_reason: Option<String>,
    pub worker: Option<String>,
    pub worker_state: Option<String>,
}

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    // An all-zero seed is rejected by C2; make sure we never hand one out.
    b[0] |= 1;
    b
}

fn epoch_now() -> i64 {
    // Filecoin mainnet genesis was 2020-08-24 22:00:00 UTC with 30-second epochs.
    (now_ms() / 1000 - 1_598_306_400) / 30
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> MResult<T> {
    serde_json::from_str(s)
        .map_err(|e| ManagerError::new(format!("corrupt {what} in manager database: {e}")))
}

#[async_trait]
impl SectorManager for LocalManager {
    async fn allocate_sector(&self, spec: AllocateSectorSpec) -> MResult<Option<AllocatedSector>> {
        let miner = self.cfg.miner;
        let proof_type = self.cfg.proof_type;
        if spec
            .allowed_miners
            .as_ref()
            .is_some_and(|m| !m.contains(&miner))
            || spec
                .allowed_proof_types
                .as_ref()
                .is_some_and(|p| !p.contains(&proof_type))
        {
            return Ok(None);
        }
        let max = self.cfg.max_sectors;
        self.with_db(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let next: u64 = tx
                .query_row("SELECT next_number FROM counters WHERE miner = ?1", params![miner], |r| r.get(0))
                .optional()?
                .unwrap_or(1);
            if max.is_some_and(|m| next > m) {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO counters (miner, next_number) VALUES (?1, ?2)
                 ON CONFLICT(miner) DO UPDATE SET next_number = excluded.next_number",
                params![miner, next + 1],
            )?;
            tx.execute(
                "INSERT INTO sectors (miner, number, proof_type, state, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![miner, next, proof_type, st::ALLOCATED, now_ms()],
            )?;
            tx.commit()?;
            Ok(Some(AllocatedSector { id: SectorId { miner, number: next }, proof_type }))
        })
        .await
    }

    async fn acquire_deals(&self, id: SectorId, _spec: AcquireDealsSpec) -> MResult<Option<Deals>> {
        // The embedded manager has no market for new sectors: they are CC (committed capacity).
        // Deals arrive through snapup, which is where this worker's deal data goes.
        self.with_db(move |c| {
            Self::sector_row(c, id, "state", |r| r.get::<_, String>(0))?;
            c.execute(
                "UPDATE sectors SET deals = 'null', updated_at_ms = ?1 WHERE miner = ?2 AND number = ?3",
                params![now_ms(), id.miner, id.number],
            )?;
            Ok(None)
        })
        .await
    }

    async fn assign_ticket(&self, id: SectorId) -> MResult<Ticket> {
        let ticket = Ticket {
            ticket: random32(),
            epoch: epoch_now(),
        };
        let t = ticket.clone();
        self.with_db(move |c| {
            Self::sector_row(c, id, "state", |r| r.get::<_, String>(0))?;
            c.execute(
                "UPDATE sectors SET ticket = ?1, updated_at_ms = ?2 WHERE miner = ?3 AND number = ?4",
                params![json(&t), now_ms(), id.miner, id.number],
            )?;
            Ok(())
        })
        .await?;
        Ok(ticket)
    }

    async fn submit_pre_commit(
        &self,
        sector: AllocatedSector,
        info: PreCommitOnChainInfo,
        reset: bool,
    ) -> MResult<SubmitResp> {
        let id = sector.id;
        let (state, deals, ticket, existing): (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = self
            .with_db(move |c| {
                Self::sector_row(c, id, "state, deals, ticket, precommit", |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
            })
            .await?;
        if state == st::ABORTED {
            return Ok(SubmitResp {
                res: SubmitResult::Rejected,
                desc: Some(format!("sector {id} was aborted")),
            });
        }
        if let Some(existing) = existing {
            let existing: PreCommitOnChainInfo = from_json(&existing, "precommit")?;
            if existing == info {
                return Ok(SubmitResp {
                    res: SubmitResult::DuplicateSubmit,
                    desc: None,
                });
            }
            if !reset {
                return Ok(SubmitResp {
                    res: SubmitResult::MismatchedSubmission,
                    desc: Some(
                        "a different PreCommit was already submitted for this sector".into(),
                    ),
                });
            }
        }
        let Some(ticket) = ticket else {
            return Ok(SubmitResp {
                res: SubmitResult::Rejected,
                desc: Some("no ticket was assigned".into()),
            });
        };
        let ticket: Ticket = from_json(&ticket, "ticket")?;
        if ticket != info.ticket {
            return Ok(SubmitResp {
                res: SubmitResult::Rejected,
                desc: Some("the PreCommit's ticket is not the one assigned to this sector".into()),
            });
        }
        // Verify comm_d: it must be the commitment of exactly the sector's pieces.
        let deals: Option<Deals> = match deals {
            Some(d) => from_json(&d, "deals")?,
            None => None,
        };
        let size = proofs::sector_size(sector.proof_type)?;
        let pieces = Self::pieces_for_comm_d(&deals, size)?;
        let proofs = self.proofs.clone();
        let pt = sector.proof_type;
        let want = tokio::task::spawn_blocking(move || proofs.comm_d(pt, &pieces))
            .await
            .map_err(|e| ManagerError::new(e.to_string()))??;
        if want != info.comm_d {
            return Ok(SubmitResp {
                res: SubmitResult::Rejected,
                desc: Some(format!(
                    "comm_d {} does not match the sector's pieces (expected {})",
                    hex::encode(info.comm_d),
                    hex::encode(want)
                )),
            });
        }
        let pc = json(&info);
        self.with_db(move |c| {
            c.execute(
                "UPDATE sectors SET precommit = ?1, precommit_landed = 1, seed = NULL, updated_at_ms = ?2, precommit_at_ms = ?2 WHERE miner = ?3 AND number = ?4",
                params![pc, now_ms(), id.miner, id.number],
            )?;
            Ok(())
        })
        .await?;
        Ok(SubmitResp {
            res: SubmitResult::Accepted,
            desc: None,
        })
    }

    async fn poll_pre_commit_state(&self, id: SectorId) -> MResult<PollStateResp> {
        self.poll_landed(id, "precommit_landed").await
    }

    async fn submit_persisted_ex(
        &self,
        id: SectorId,
        instance: String,
        is_upgrade: bool,
    ) -> MResult<bool> {
        let Some(store) = self.store_path(&instance) else {
            return Ok(false);
        };
        if !Self::has_sealed_files(&store, id, is_upgrade) {
            return Ok(false);
        }
        self.with_db(move |c| {
            Self::sector_row(c, id, "state", |r| r.get::<_, String>(0))?;
            c.execute(
                "UPDATE sectors SET persisted_instance = ?1, updated_at_ms = ?2 WHERE miner = ?3 AND number = ?4",
                params![instance, now_ms(), id.miner, id.number],
            )?;
            Ok(true)
        })
        .await
    }

    async fn wait_seed(&self, id: SectorId, _proof_type: SealProof) -> MResult<WaitSeedResp> {
        let delay_ms = self.seed_delay.as_millis() as i64;
        self.with_db(move |c| {
            let (state, reason, landed, landed_at, seed): (
                String,
                Option<String>,
                i64,
                Option<i64>,
                Option<String>,
            ) = Self::sector_row(
                c,
                id,
                "state, abort_reason, precommit_landed, precommit_at_ms, seed",
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
            // A sector aborted on the manager has no future: the worker waiting for its seed must
            // learn it now, not after sealing on (the established manager answers 11001 too).
            if state == st::ABORTED {
                return Err(ManagerError::not_found(format!(
                    "sector {id} was aborted on the manager: {}",
                    reason.unwrap_or_else(|| "no reason given".into())
                )));
            }
            if landed != 1 {
                return Ok(WaitSeedResp {
                    should_wait: true,
                    delay: 1,
                    seed: None,
                });
            }
            if let Some(seed) = seed {
                return Ok(WaitSeedResp {
                    should_wait: false,
                    delay: 0,
                    seed: Some(from_json(&seed, "seed")?),
                });
            }
            let due = landed_at.unwrap_or(0) + delay_ms;
            let now = now_ms();
            if now < due {
                // Ask again soon rather than at the due time: an abort meanwhile is then noticed
                // within a couple of seconds.
                return Ok(WaitSeedResp {
                    should_wait: true,
                    delay: ((due - now + 999) / 1000).clamp(1, SEED_POLL_MAX_SECS) as u64,
                    seed: None,
                });
            }
            let seed = Seed {
                seed: random32(),
                epoch: epoch_now(),
            };
            c.execute(
                "UPDATE sectors SET seed = ?1, updated_at_ms = ?2 WHERE miner = ?3 AND number = ?4",
                params![json(&seed), now_ms(), id.miner, id.number],
            )?;
            Ok(WaitSeedResp {
                should_wait: false,
                delay: 0,
                seed: Some(seed),
            })
        })
        .await
    }

    async fn submit_proof(
        &self,
        id: SectorId,
        info: ProofOnChainInfo,
        reset: bool,
    ) -> MResult<SubmitResp> {
        let (proof_type, precommit, seed, existing, state): (
            u64,
            Option<String>,
            Option<String>,
            Option<Vec<u8>>,
            String,
        ) = self
            .with_db(move |c| {
                Self::sector_row(c, id, "proof_type, precommit, seed, proof, state", |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
            })
            .await?;
        if state == st::ABORTED {
            return Ok(SubmitResp {
                res: SubmitResult::Rejected,
                desc: Some(format!("sector {id} was aborted")),
            });
        }
        if let Some(existing) = existing {
            if existing == info.proof {
                return Ok(SubmitResp {
                    res: SubmitResult::DuplicateSubmit,
                    desc: None,
                });
            }
            if !reset {
                return Ok(SubmitResp {
                    res: SubmitResult::MismatchedSubmission,
                    desc: Some("a different proof was already accepted for this sector".into()),
                });
            }
        }
        let (Some(precommit), Some(seed)) = (precommit, seed) else {
            return Ok(SubmitResp {
                res: SubmitResult::Rejected,
                desc: Some("no landed PreCommit and seed for this sector".into()),
            });
        };
        let pc: PreCommitOnChainInfo = from_json(&precommit, "precommit")?;
        let seed: Seed = from_json(&seed, "seed")?;
        let proofs = self.proofs.clone();
        let proof = info.proof.clone();
        let ok = tokio::task::spawn_blocking(move || {
            proofs.verify_seal(
                proof_type,
                id,
                pc.comm_r,
                pc.comm_d,
                pc.ticket.ticket,
                seed.seed,
                &proof,
            )
        })
        .await
        .map_err(|e| ManagerError::new(e.to_string()))?;
        match ok {
            Ok(true) => {}
            Ok(false) => {
                return Ok(SubmitResp {
                    res: SubmitResult::Rejected,
                    desc: Some(
                        "the proof does not verify against the sector's PreCommit, ticket and seed"
                            .into(),
                    ),
                })
            }
            Err(e) => return Err(ManagerError::new(format!("cannot verify the proof: {e:#}"))),
        }
        let proof = info.proof;
        self.with_db(move |c| {
            c.execute(
                "UPDATE sectors SET proof = ?1, proof_landed = 1, updated_at_ms = ?2 WHERE miner = ?3 AND number = ?4",
                params![proof, now_ms(), id.miner, id.number],
            )?;
            Ok(())
        })
        .await?;
        Ok(SubmitResp {
            res: SubmitResult::Accepted,
            desc: None,
        })
    }

    async fn poll_proof_state(&self, id: SectorId) -> MResult<PollStateResp> {
        self.poll_landed(id, "proof_landed").await
    }

    async fn report_state(&self, id: SectorId, req: ReportStateReq) -> MResult<SectorStateResp> {
        self.with_db(move |c| {
            let (state, reason, upgrade): (String, Option<String>, Option<String>) =
                Self::sector_row(c, id, "state, abort_reason, upgrade_state", |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            c.execute(
                "UPDATE sectors SET worker = ?1, last_state = ?2, updated_at_ms = ?3 WHERE miner = ?4 AND number = ?5",
                params![req.worker.instance, req.state_change.next, now_ms(), id.miner, id.number],
            )?;
            let aborted = state == st::ABORTED || upgrade.as_deref() == Some(st::ABORTED);
            Ok(SectorStateResp { id, finalized: aborted, abort_reason: if aborted { reason } else { None } })
        })
        .await
    }

    async fn report_finalized(&self, id: SectorId) -> MResult<()> {
        self.with_db(move |c| {
            let (state, upgrade): (String, Option<String>) =
                Self::sector_row(c, id, "state, upgrade_state", |r| Ok((r.get(0)?, r.get(1)?)))?;
            if upgrade.as_deref() == Some("Upgrading") {
                c.execute(
                    "UPDATE sectors SET upgrade_state = 'Upgraded', updated_at_ms = ?1 WHERE miner = ?2 AND number = ?3",
                    params![now_ms(), id.miner, id.number],
                )?;
            } else if state != st::ABORTED {
                c.execute(
                    "UPDATE sectors SET state = ?1, updated_at_ms = ?2 WHERE miner = ?3 AND number = ?4",
                    params![st::FINALIZED, now_ms(), id.miner, id.number],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn report_aborted(&self, id: SectorId, reason: String) -> MResult<()> {
        self.with_db(move |c| {
            let upgrade: Option<String> = Self::sector_row(c, id, "upgrade_state", |r| r.get(0))?;
            if upgrade.as_deref() == Some("Upgrading") {
                // A failed upgrade leaves the original sealed sector intact: offer it again.
                c.execute(
                    "UPDATE sectors SET upgrade_state = NULL, upgrade_deals = NULL, updated_at_ms = ?1 WHERE miner = ?2 AND number = ?3",
                    params![now_ms(), id.miner, id.number],
                )?;
            } else {
                c.execute(
                    "UPDATE sectors SET state = ?1, abort_reason = COALESCE(abort_reason, ?2), updated_at_ms = ?3 WHERE miner = ?4 AND number = ?5",
                    params![st::ABORTED, reason, now_ms(), id.miner, id.number],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn allocate_snapup_sector(
        &self,
        spec: AllocateSnapUpSpec,
    ) -> MResult<Option<AllocatedSnapUpSector>> {
        if spec
            .sector
            .allowed_miners
            .as_ref()
            .is_some_and(|m| !m.contains(&self.cfg.miner))
        {
            return Ok(None);
        }
        // A finalized CC sector whose files are in a store and that is not upgraded yet.
        let candidate: Option<(u64, u64, u64, String, String)> = self
            .with_db(|c| {
                Ok(c.query_row(
                    "SELECT miner, number, proof_type, precommit, persisted_instance FROM sectors
                     WHERE state = ?1 AND upgrade_state IS NULL AND (deals IS NULL OR deals = 'null')
                       AND persisted_instance IS NOT NULL AND precommit IS NOT NULL
                     ORDER BY number LIMIT 1",
                    params![st::FINALIZED],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?)
            })
            .await?;
        let Some((miner, number, proof_type, precommit, instance)) = candidate else {
            return Ok(None);
        };
        if spec
            .sector
            .allowed_proof_types
            .as_ref()
            .is_some_and(|p| !p.contains(&proof_type))
        {
            return Ok(None);
        }
        let id = SectorId { miner, number };
        let pc: PreCommitOnChainInfo = from_json(&precommit, "precommit")?;
        // A real deal: random client data taking half the sector, stored in the piece store.
        let size = proofs::sector_size(proof_type)?;
        let piece_padded = size / 2;
        let mut data = vec![0u8; proofs::unpadded(piece_padded) as usize];
        rand::thread_rng().fill_bytes(&mut data);
        let tmp = self
            .cfg
            .home
            .join("pieces")
            .join(format!(".incoming-{miner}-{number}"));
        std::fs::write(&tmp, &data)
            .map_err(|e| ManagerError::new(format!("writing piece: {e}")))?;
        let proofs = self.proofs.clone();
        let tmp2 = tmp.clone();
        let info = tokio::task::spawn_blocking(move || proofs.piece_commitment(proof_type, &tmp2))
            .await
            .map_err(|e| ManagerError::new(e.to_string()))??;
        let cid = piece_cid::from_commitment(&info.comm_p);
        let final_path = self.cfg.home.join("pieces").join(&cid.root);
        std::fs::rename(&tmp, &final_path)
            .map_err(|e| ManagerError::new(format!("storing piece: {e}")))?;
        let deal_id = 1_000_000 + number;
        let deals = vec![Deal {
            piece: PieceRef {
                size: piece_padded,
                piece_cid: cid,
            },
            deal_info: DealInfo {
                deal_id,
                allocation_id: 0,
                payload_size: data.len() as u64,
                is_builtin_market: true,
            },
        }];
        let d = json(&deals);
        let claimed = self
            .with_db(move |c| {
                let n = c.execute(
                    "UPDATE sectors SET upgrade_state = 'Upgrading', upgrade_deals = ?1, updated_at_ms = ?2
                     WHERE miner = ?3 AND number = ?4 AND upgrade_state IS NULL",
                    params![d, now_ms(), miner, number],
                )?;
                Ok(n == 1)
            })
            .await?;
        if !claimed {
            return Ok(None);
        }
        Ok(Some(AllocatedSnapUpSector {
            sector: AllocatedSector { id, proof_type },
            pieces: deals,
            public: SectorPublicInfo { comm_r: pc.comm_r },
            private: SectorPrivateInfo {
                access_instance: instance,
            },
        }))
    }

    async fn submit_snapup_proof(
        &self,
        id: SectorId,
        info: SnapUpOnChainInfo,
    ) -> MResult<SubmitResp> {
        let (proof_type, precommit, deals, existing): (
            u64,
            String,
            Option<String>,
            Option<Vec<u8>>,
        ) = self
            .with_db(move |c| {
                Self::sector_row(
                    c,
                    id,
                    "proof_type, precommit, upgrade_deals, upgrade_proof",
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
            })
            .await?;
        let Some(deals) = deals else {
            return Ok(SubmitResp {
                res: SubmitResult::Rejected,
                desc: Some(format!("sector {id} is not being upgraded")),
            });
        };
        if existing.as_deref() == Some(info.proof.as_slice()) {
            return Ok(SubmitResp {
                res: SubmitResult::DuplicateSubmit,
                desc: None,
            });
        }
        let deals: Deals = from_json(&deals, "upgrade deals")?;
        let want: Vec<Cid> = deals.iter().map(|d| d.piece.piece_cid.clone()).collect();
        if want != info.pieces {
            return Ok(SubmitResp {
                res: SubmitResult::MismatchedSubmission,
                desc: Some("the pieces do not match the deals of this upgrade".into()),
            });
        }
        let Some(store) = self.store_path(&info.access_instance) else {
            return Ok(SubmitResp {
                res: SubmitResult::FilesMissed,
                desc: Some(format!("unknown store {}", info.access_instance)),
            });
        };
        if !Self::has_sealed_files(&store, id, true) {
            return Ok(SubmitResp {
                res: SubmitResult::FilesMissed,
                desc: Some(format!(
                    "updated replica of {id} not found in store {}",
                    info.access_instance
                )),
            });
        }
        let size = proofs::sector_size(proof_type)?;
        let pieces = Self::pieces_for_comm_d(&Some(deals), size)?;
        let pc: PreCommitOnChainInfo = from_json(&precommit, "precommit")?;
        let proofs = self.proofs.clone();
        let info2 = info.clone();
        let verdict = tokio::task::spawn_blocking(move || -> Result<Option<String>> {
            let comm_d = proofs.comm_d(proof_type, &pieces)?;
            if comm_d != info2.comm_d {
                return Ok(Some("comm_d does not match the deal pieces".into()));
            }
            if !proofs.verify_snap(
                proof_type,
                pc.comm_r,
                info2.comm_r,
                info2.comm_d,
                &info2.proof,
            )? {
                return Ok(Some("the update proof does not verify".into()));
            }
            Ok(None)
        })
        .await
        .map_err(|e| ManagerError::new(e.to_string()))??;
        if let Some(why) = verdict {
            return Ok(SubmitResp {
                res: SubmitResult::Rejected,
                desc: Some(why),
            });
        }
        let comm_r = json(&info.comm_r);
        let proof = info.proof;
        self.with_db(move |c| {
            c.execute(
                "UPDATE sectors SET upgrade_comm_r = ?1, upgrade_proof = ?2, updated_at_ms = ?3 WHERE miner = ?4 AND number = ?5",
                params![comm_r, proof, now_ms(), id.miner, id.number],
            )?;
            Ok(())
        })
        .await?;
        Ok(SubmitResp {
            res: SubmitResult::Accepted,
            desc: None,
        })
    }

    async fn store_reserve_space(
        &self,
        _id: SectorId,
        _size: u64,
        candidates: Vec<String>,
    ) -> MResult<Option<StoreBasicInfo>> {
        Ok(candidates.into_iter().find_map(|name| {
            self.store_path(&name).map(|p| StoreBasicInfo {
                name,
                path: p.display().to_string(),
                meta: None,
            })
        }))
    }

    async fn store_basic_info(&self, instance: String) -> MResult<Option<StoreBasicInfo>> {
        Ok(self.store_path(&instance).map(|p| StoreBasicInfo {
            name: instance,
            path: p.display().to_string(),
            meta: None,
        }))
    }

    async fn worker_ping(&self, info: WorkerPingInfo) -> MResult<()> {
        self.with_db(move |c| {
            c.execute(
                "INSERT INTO workers (name, dest, version, summary, last_ping_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(name) DO UPDATE SET dest = excluded.dest, version = excluded.version,
                   summary = excluded.summary, last_ping_ms = excluded.last_ping_ms",
                params![info.name, info.dest, info.version, json(&info.summary), now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    async fn piece_path(&self, cid: &Cid) -> MResult<Option<PathBuf>> {
        let p = self.cfg.home.join("pieces").join(&cid.root);
        Ok(p.is_file().then_some(p))
    }
}

#[async_trait]
impl ManagerAdmin for LocalManager {
    async fn workers_list(&self) -> MResult<Vec<WorkerPingRecord>> {
        Ok(self
            .list_workers()
            .await?
            .into_iter()
            .map(|(info, ms)| WorkerPingRecord {
                info,
                last_ping: ms / 1000,
            })
            .collect())
    }

    async fn worker_get(&self, name: String) -> MResult<Option<WorkerPingRecord>> {
        Ok(self
            .workers_list()
            .await?
            .into_iter()
            .find(|r| r.info.name == name))
    }

    async fn sectors_abort(&self, id: SectorId, reason: String) -> MResult<()> {
        self.abort_sector(id, &reason).await
    }

    async fn sectors_list(&self) -> MResult<Vec<SectorSummary>> {
        self.list_sectors().await
    }
}

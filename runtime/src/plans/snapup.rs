//! The snapup plan (`plans/snapup.plan`): upgrade a sealed CC sector with deal data (SnapDeals).
//!
//! The manager hands out a sealed CC sector, its deal pieces and where its sealed files are; the
//! worker builds the new data, encodes it into a new replica, proves the update, persists the new
//! replica and submits the proof. The old sealed file is the "sector key" and is only read.

use anyhow::anyhow;
use serde::{Deserialize, Serialize};

use crate::engine::SectorPlan;
use crate::env::{Replica, StepEnv};
use crate::failure::{classify_io, need, Failure, Level, LevelExt, StepResult};
use crate::proofs::SnapEncodeOut;
use crate::types::*;

plan_macros::plan! {
    file: "../plans/snapup.plan",
    payloads: {
        AllocatedSnapUpSector(AllocatedSector, Deals, Finalized),
        AddPiece(Vec<PieceInfo>),
        SnapEncode(SnapEncodeOut),
        SnapProve(super::sealer::Proof),
        Persist(String),
    }
}

/// The sealed sector being upgraded: its current comm_r and the store holding its files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finalized {
    pub public: SectorPublicInfo,
    pub private: SectorPrivateInfo,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Data {
    pub sector: Option<AllocatedSector>,
    pub deals: Option<Deals>,
    pub finalized: Option<Finalized>,
    pub pieces: Option<Vec<PieceInfo>>,
    pub encoded: Option<SnapEncodeOut>,
    pub proof: Option<super::sealer::Proof>,
    pub persist_instance: Option<String>,
}

impl SectorPlan for Plan {
    type Data = Data;

    fn apply(d: &mut Data, event: Event) {
        match event {
            Event::AllocatedSnapUpSector(s, deals, fin) => {
                d.sector = Some(s);
                d.deals = Some(deals);
                d.finalized = Some(fin);
            }
            Event::AddPiece(p) => d.pieces = Some(p),
            Event::BuildTreeD => {}
            Event::SnapEncode(e) => d.encoded = Some(e),
            Event::SnapProve(p) => d.proof = Some(p),
            Event::Persist(i) => d.persist_instance = Some(i),
            Event::RePersist => d.persist_instance = None,
            Event::Finish => {}
        }
    }

    fn forget(d: &mut Data, event: &str) {
        match event {
            "AllocatedSnapUpSector" => {
                d.sector = None;
                d.deals = None;
                d.finalized = None;
            }
            "AddPiece" => d.pieces = None,
            "SnapEncode" => d.encoded = None,
            "SnapProve" => d.proof = None,
            "Persist" => d.persist_instance = None,
            _ => {}
        }
    }

    fn sector(d: &Data) -> Option<&AllocatedSector> {
        d.sector.as_ref()
    }

    async fn step(env: &StepEnv, data: &Data, state: State) -> StepResult<Event> {
        let mut h = SnapUp { env, d: data };
        match dispatch(&mut h, state).await {
            Some(r) => r,
            None => Err(Failure::critical(anyhow!(
                "no step for terminal state {state}"
            ))),
        }
    }
}

struct SnapUp<'a> {
    env: &'a StepEnv,
    d: &'a Data,
}

impl SnapUp<'_> {
    fn sector(&self, state: State) -> StepResult<&AllocatedSector> {
        need(&self.d.sector, "allocated sector", state)
    }

    /// The sealed file and cache of the sector being upgraded (read only).
    async fn sector_key(
        &self,
        state: State,
    ) -> StepResult<(std::path::PathBuf, std::path::PathBuf)> {
        let id = self.sector(state)?.id;
        let fin = need(&self.d.finalized, "sealed sector info", state)?;
        let name = &fin.private.access_instance;
        let root = match self.env.stores.path(name) {
            Some(p) => p.to_path_buf(),
            None => {
                let info = self.env.rpc(
                    "store info",
                    self.env.manager.store_basic_info(name.clone()).await,
                )?;
                match info {
                    Some(i) => std::path::PathBuf::from(i.path),
                    None => {
                        return Err(Failure::permanent(anyhow!(
                            "store {name:?} of the sector to upgrade is unknown"
                        )))
                    }
                }
            }
        };
        Ok((
            root.join("sealed").join(id.to_string()),
            root.join("cache").join(id.to_string()),
        ))
    }
}

impl Handlers for SnapUp<'_> {
    type Error = Failure;

    async fn empty(&mut self) -> StepResult<outcome::Empty> {
        let spec = AllocateSnapUpSpec {
            sector: AllocateSectorSpec {
                allowed_miners: self.env.sealing.allowed_miners.clone(),
                allowed_proof_types: self.env.sealing.allowed_proof_types.clone(),
            },
            deals: AcquireDealsSpec {
                max_deals: self.env.sealing.max_deals,
                min_used_space: None,
            },
        };
        loop {
            match self.env.manager.allocate_snapup_sector(spec.clone()).await {
                Ok(Some(a)) => {
                    if a.pieces.is_empty() {
                        return Err(Failure::abort(anyhow!(
                            "snapup sector {} came without deal pieces",
                            a.sector.id
                        )));
                    }
                    if a.private.access_instance.is_empty() {
                        return Err(Failure::abort(anyhow!(
                            "snapup sector {} came without its store",
                            a.sector.id
                        )));
                    }
                    let loc = &self.env.location;
                    std::fs::create_dir_all(loc.data().join("unsealed"))
                        .map_err(|e| classify_io(e.into(), Level::Critical))?;
                    let fin = Finalized {
                        public: a.public,
                        private: a.private,
                    };
                    return Ok(outcome::Empty::AllocatedSnapUpSector(
                        a.sector, a.pieces, fin,
                    ));
                }
                Ok(None) => self.env.sleep(self.env.sealing.recover_interval).await?,
                Err(e) => {
                    tracing::warn!(error = %e, "allocate snapup sector failed; will ask again");
                    self.env.sleep(self.env.sealing.recover_interval).await?
                }
            }
        }
    }

    async fn allocated(&mut self) -> StepResult<outcome::Allocated> {
        let s = self.sector(State::Allocated)?.clone();
        let deals = need(&self.d.deals, "deals", State::Allocated)?.clone();
        let pieces = self.env.add_deal_pieces(&s, &deals).await?;
        Ok(outcome::Allocated::AddPiece(pieces))
    }

    async fn piece_added(&mut self) -> StepResult<outcome::PieceAdded> {
        let s = self.sector(State::PieceAdded)?.clone();
        let pieces = need(&self.d.pieces, "pieces", State::PieceAdded)?.clone();
        self.env.build_tree_d(&s, pieces).await?;
        Ok(outcome::PieceAdded::BuildTreeD)
    }

    async fn tree_d_built(&mut self) -> StepResult<outcome::TreeDBuilt> {
        let s = self.sector(State::TreeDBuilt)?.clone();
        let pieces = need(&self.d.pieces, "pieces", State::TreeDBuilt)?.clone();
        let (key, key_cache) = self.sector_key(State::TreeDBuilt).await?;
        let loc = self.env.location.clone();
        let proofs = self.env.proofs.clone();
        let out = self
            .env
            .blocking("snap_encode", move || {
                proofs
                    .snap_encode(
                        s.proof_type,
                        &loc.update(s.id),
                        &loc.update_cache(s.id),
                        &key,
                        &key_cache,
                        &loc.staged(s.id),
                        &pieces,
                    )
                    .perm()
            })
            .await?;
        Ok(outcome::TreeDBuilt::SnapEncode(out))
    }

    async fn snap_encoded(&mut self) -> StepResult<outcome::SnapEncoded> {
        let s = self.sector(State::SnapEncoded)?.clone();
        let enc = need(&self.d.encoded, "snap encode output", State::SnapEncoded)?.clone();
        let comm_r_old = need(&self.d.finalized, "sealed sector info", State::SnapEncoded)?
            .public
            .comm_r;
        let (key, key_cache) = self.sector_key(State::SnapEncoded).await?;
        let loc = self.env.location.clone();
        let proofs = self.env.proofs.clone();
        let proof = self
            .env
            .blocking("snap_prove", move || {
                let proof = proofs
                    .snap_prove(
                        s.proof_type,
                        comm_r_old,
                        &enc,
                        &key,
                        &key_cache,
                        &loc.update(s.id),
                        &loc.update_cache(s.id),
                    )
                    .perm()?;
                // Check before submitting: a bad proof found here costs seconds, on chain a sector.
                let ok = proofs
                    .verify_snap(
                        s.proof_type,
                        comm_r_old,
                        enc.comm_r_new,
                        enc.comm_d_new,
                        &proof,
                    )
                    .perm()?;
                if !ok {
                    return Err(Failure::permanent(anyhow!(
                        "the update proof does not verify"
                    )));
                }
                Ok(proof)
            })
            .await?;
        Ok(outcome::SnapEncoded::SnapProve(super::sealer::Proof(proof)))
    }

    async fn snap_proved(&mut self) -> StepResult<outcome::SnapProved> {
        let s = self.sector(State::SnapProved)?.clone();
        let store = self.env.persist(&s, Replica::Update).await?;
        Ok(outcome::SnapProved::Persist(store))
    }

    async fn persisted(&mut self) -> StepResult<outcome::Persisted> {
        let id = self.sector(State::Persisted)?.id;
        let enc = need(&self.d.encoded, "snap encode output", State::Persisted)?;
        let proof = need(&self.d.proof, "update proof", State::Persisted)?
            .0
            .clone();
        let instance = need(&self.d.persist_instance, "persist store", State::Persisted)?.clone();
        let deals = need(&self.d.deals, "deals", State::Persisted)?;
        let info = SnapUpOnChainInfo {
            comm_r: enc.comm_r_new,
            comm_d: enc.comm_d_new,
            access_instance: instance,
            pieces: deals.iter().map(|d| d.piece.piece_cid.clone()).collect(),
            proof,
        };
        let resp = self.env.rpc(
            "submit snapup proof",
            self.env.manager.submit_snapup_proof(id, info).await,
        )?;
        let desc = resp.desc.unwrap_or_default();
        match resp.res {
            SubmitResult::Accepted | SubmitResult::DuplicateSubmit => {
                Ok(outcome::Persisted::Finish)
            }
            SubmitResult::FilesMissed => {
                tracing::warn!(%desc, "the manager misses the upgraded files; persisting again");
                Ok(outcome::Persisted::RePersist)
            }
            // The original sealed sector is untouched by a failed upgrade: aborting the upgrade
            // loses nothing, and the manager can offer the sector again.
            SubmitResult::MismatchedSubmission | SubmitResult::Rejected => Err(Failure::abort(
                anyhow!("snapup proof refused by the manager: {desc}"),
            )),
        }
    }
}

//! The sealer plan (`plans/sealer.plan`): a new CC or deal sector from allocation to a landed proof.
//!
//! The flow itself is the plan file; this module binds the plan's `_` payloads to Rust types, keeps
//! what the events carry ([`Data`]) and implements one handler per state. The generated
//! `Handlers` trait makes a missing handler, or an event the plan does not allow from a state, a
//! compile error.

use std::time::Duration;

use anyhow::anyhow;
use serde::{Deserialize, Serialize};

use crate::engine::SectorPlan;
use crate::env::{Replica, StepEnv};
use crate::failure::{classify_io, need, Failure, Level, LevelExt, StepResult};
use crate::proofs::{C1Out, PC1Out, PC2Out, SealInputs};
use crate::types::*;

plan_macros::plan! {
    file: "../plans/sealer.plan",
    payloads: {
        Allocate(AllocatedSector),
        AcquireDeals(Option<Deals>),
        AddPiece(Vec<PieceInfo>),
        AssignTicket(Ticket),
        PC1(Ticket, PC1Out),
        PC2(PC2Out),
        Persist(String),
        AssignSeed(Seed),
        C1(C1Out),
        C2(Proof),
    }
}

/// A SNARK proof's bytes (base64 in the record, like on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof(#[serde(with = "crate::types::b64_vec")] pub Vec<u8>);

/// What a sealer task has gathered so far; each field is written by one event.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Data {
    pub sector: Option<AllocatedSector>,
    /// Set by AcquireDeals; `deals` is then None for a CC sector. (Not `Option<Option<_>>`:
    /// JSON cannot tell `Some(None)` from `None`, and the record must round-trip exactly.)
    #[serde(default)]
    pub deals_acquired: bool,
    pub deals: Option<Deals>,
    pub pieces: Option<Vec<PieceInfo>>,
    pub ticket: Option<Ticket>,
    pub pc1out: Option<PC1Out>,
    pub pc2out: Option<PC2Out>,
    /// The next PreCommit submission replaces an earlier one (after ReSubmitPC or a fall-back).
    #[serde(default)]
    pub pc_resubmit: bool,
    pub persist_instance: Option<String>,
    pub seed: Option<Seed>,
    pub c1out: Option<C1Out>,
    pub proof: Option<Proof>,
    #[serde(default)]
    pub proof_resubmit: bool,
}

impl SectorPlan for Plan {
    type Data = Data;

    fn apply(d: &mut Data, event: Event) {
        match event {
            Event::Allocate(s) => d.sector = Some(s),
            Event::AcquireDeals(deals) => {
                d.deals_acquired = true;
                d.deals = deals;
            }
            Event::AddPiece(p) => d.pieces = Some(p),
            Event::BuildTreeD => {}
            Event::AssignTicket(t) => d.ticket = Some(t),
            Event::PC1(t, out) => {
                d.ticket = Some(t);
                d.pc1out = Some(out);
            }
            Event::PC2(out) => d.pc2out = Some(out),
            Event::SubmitPC => d.pc_resubmit = false,
            Event::ReSubmitPC => d.pc_resubmit = true,
            Event::CheckPC => {}
            Event::Persist(i) => d.persist_instance = Some(i),
            Event::SubmitPersistance => {}
            Event::AssignSeed(s) => d.seed = Some(s),
            Event::C1(out) => d.c1out = Some(out),
            Event::C2(p) => d.proof = Some(p),
            Event::SubmitProof => d.proof_resubmit = false,
            Event::ReSubmitProof => d.proof_resubmit = true,
            Event::Finish => {}
        }
    }

    fn forget(d: &mut Data, event: &str) {
        match event {
            "Allocate" => d.sector = None,
            "AcquireDeals" => {
                d.deals_acquired = false;
                d.deals = None;
            }
            "AddPiece" => d.pieces = None,
            "AssignTicket" => d.ticket = None,
            "PC1" => {
                d.pc1out = None;
                // A new PC1 means new commitments: the next PreCommit replaces the old one.
                d.pc_resubmit = true;
            }
            "PC2" => d.pc2out = None,
            "Persist" => d.persist_instance = None,
            "AssignSeed" => d.seed = None,
            "C1" => d.c1out = None,
            "C2" => {
                d.proof = None;
                d.proof_resubmit = true;
            }
            _ => {}
        }
    }

    fn sector(d: &Data) -> Option<&AllocatedSector> {
        d.sector.as_ref()
    }

    async fn step(env: &StepEnv, data: &Data, state: State) -> StepResult<Event> {
        let mut h = Sealer { env, d: data };
        match dispatch(&mut h, state).await {
            Some(r) => r,
            None => Err(Failure::critical(anyhow!(
                "no step for terminal state {state}"
            ))),
        }
    }
}

/// Present while PC2 runs. PC2 encodes the sealed file in place, so a PC2 that was cut short
/// (crash, kill) leaves a half-encoded replica; finding the marker means: restore the sealed file
/// from the staged data and drop PC2's partial outputs before running it again.
const PC2_MARKER: &str = ".pc2_running";

fn pc2_rerunnable(
    cache: &std::path::Path,
    sealed: &std::path::Path,
    staged: &std::path::Path,
) -> anyhow::Result<()> {
    let marker = cache.join(PC2_MARKER);
    if marker.exists() {
        tracing::warn!(sealed = %sealed.display(), "PC2 was interrupted before: restoring the sealed file from the staged data");
        for entry in std::fs::read_dir(cache)? {
            let name = entry?.file_name();
            let n = name.to_string_lossy();
            if n == "p_aux" || n == "t_aux" || n.contains("tree-c") || n.contains("tree-r-last") {
                std::fs::remove_file(cache.join(&name))?;
            }
        }
        std::fs::copy(staged, sealed)?;
        std::fs::File::open(sealed)?.sync_all()?;
    } else {
        std::fs::write(&marker, b"")?;
        std::fs::File::open(&marker)?.sync_all()?;
        std::fs::File::open(cache)?.sync_all()?;
    }
    Ok(())
}

struct Sealer<'a> {
    env: &'a StepEnv,
    d: &'a Data,
}

impl Sealer<'_> {
    fn sector(&self, state: State) -> StepResult<&AllocatedSector> {
        need(&self.d.sector, "allocated sector", state)
    }

    fn inputs(&self, state: State) -> StepResult<SealInputs> {
        let s = self.sector(state)?;
        Ok(SealInputs {
            proof_type: s.proof_type,
            sector: s.id,
            ticket: need(&self.d.ticket, "ticket", state)?.ticket,
            pieces: need(&self.d.pieces, "pieces", state)?.clone(),
        })
    }

    /// Where the sealed file and cache are: in the persist store once persisted, else local.
    fn sealed_paths(&self, state: State) -> StepResult<(std::path::PathBuf, std::path::PathBuf)> {
        let id = self.sector(state)?.id;
        match &self.d.persist_instance {
            Some(name) => {
                let root = self.env.stores.path(name).ok_or_else(|| {
                    Failure::permanent(anyhow!(
                        "persist store {name:?} is not attached to this worker"
                    ))
                })?;
                Ok((
                    root.join("sealed").join(id.to_string()),
                    root.join("cache").join(id.to_string()),
                ))
            }
            None => Ok((self.env.location.sealed(id), self.env.location.cache(id))),
        }
    }

    /// Poll a submission until it lands, as the established worker does for PreCommit and proof.
    async fn wait_landed(
        &self,
        what: &str,
        poll: impl Fn() -> std::pin::Pin<
            Box<
                dyn std::future::Future<Output = crate::manager::MResult<PollStateResp>>
                    + Send
                    + 'static,
            >,
        >,
    ) -> StepResult<bool> {
        loop {
            let resp = self.env.rpc(what, poll().await)?;
            let desc = resp.desc.clone().unwrap_or_default();
            match resp.state {
                OnChainState::Landed => return Ok(true),
                OnChainState::Pending | OnChainState::Packed => {
                    self.env
                        .sleep(self.env.sealing.rpc_polling_interval)
                        .await?
                }
                OnChainState::Failed => {
                    // The message failed on chain: wait a little and submit again.
                    self.env
                        .sleep(
                            self.env
                                .sealing
                                .rpc_polling_interval
                                .min(Duration::from_secs(30)),
                        )
                        .await?;
                    return Ok(false);
                }
                OnChainState::NotFound => {
                    return Err(Failure::permanent(anyhow!(
                        "{what}: the manager does not know the submission {desc}"
                    )))
                }
                OnChainState::PermFailed => {
                    return Err(Failure::permanent(anyhow!(
                        "{what}: permanently failed on chain {desc}"
                    )))
                }
                OnChainState::ShouldAbort => {
                    return Err(Failure::abort(anyhow!(
                        "{what}: the manager says abort {desc}"
                    )))
                }
            }
        }
    }

    fn submit_result(&self, what: &str, resp: SubmitResp) -> StepResult<()> {
        let desc = resp.desc.unwrap_or_default();
        match resp.res {
            SubmitResult::Accepted | SubmitResult::DuplicateSubmit => Ok(()),
            SubmitResult::MismatchedSubmission => Err(Failure::permanent(anyhow!(
                "{what}: the manager holds a different submission for this sector ({desc}); resume to resubmit or abort"
            ))),
            // A rejected PreCommit or proof is kept for a human: the sector's data is still good
            // and a resume can redo the step (the established worker pauses here too since v0.6.3).
            SubmitResult::Rejected => Err(Failure::permanent(anyhow!("{what}: rejected by the manager: {desc}"))),
            SubmitResult::FilesMissed => Err(Failure::permanent(anyhow!("{what}: the manager misses files: {desc}"))),
        }
    }
}

impl Handlers for Sealer<'_> {
    type Error = Failure;

    async fn empty(&mut self) -> StepResult<outcome::Empty> {
        let spec = AllocateSectorSpec {
            allowed_miners: self.env.sealing.allowed_miners.clone(),
            allowed_proof_types: self.env.sealing.allowed_proof_types.clone(),
        };
        loop {
            match self.env.manager.allocate_sector(spec.clone()).await {
                Ok(Some(sector)) => {
                    let loc = &self.env.location;
                    for dir in [
                        loc.cache(sector.id),
                        loc.data().join("unsealed"),
                        loc.data().join("sealed"),
                    ] {
                        std::fs::create_dir_all(&dir)
                            .map_err(|e| classify_io(e.into(), Level::Critical))?;
                    }
                    return Ok(outcome::Empty::Allocate(sector));
                }
                // No work, or the manager is unreachable: wait and ask again (interruptible).
                Ok(None) => self.env.sleep(self.env.sealing.recover_interval).await?,
                Err(e) => {
                    tracing::warn!(error = %e, "allocate sector failed; will ask again");
                    self.env.sleep(self.env.sealing.recover_interval).await?
                }
            }
        }
    }

    async fn allocated(&mut self) -> StepResult<outcome::Allocated> {
        let id = self.sector(State::Allocated)?.id;
        if !self.env.sealing.enable_deals {
            if self.env.sealing.disable_cc {
                return Err(Failure::permanent(anyhow!(
                    "enable_deals = false and disable_cc = true: this thread can seal nothing; fix [sealing] and resume"
                )));
            }
            return Ok(outcome::Allocated::AcquireDeals(None));
        }
        let spec = AcquireDealsSpec {
            max_deals: self.env.sealing.max_deals,
            min_used_space: None,
        };
        loop {
            let deals = self.env.rpc(
                "acquire deals",
                self.env.manager.acquire_deals(id, spec.clone()).await,
            )?;
            let has = deals.as_ref().is_some_and(|d| !d.is_empty());
            if has || !self.env.sealing.disable_cc {
                return Ok(outcome::Allocated::AcquireDeals(deals));
            }
            self.env.sleep(self.env.sealing.recover_interval).await?;
        }
    }

    async fn deals_acquired(&mut self) -> StepResult<outcome::DealsAcquired> {
        let s = self.sector(State::DealsAcquired)?.clone();
        need(
            &self.d.deals_acquired.then_some(()),
            "deals",
            State::DealsAcquired,
        )?;
        let deals = self.d.deals.clone().unwrap_or_default();
        let pieces = self.env.add_deal_pieces(&s, &deals).await?;
        Ok(outcome::DealsAcquired::AddPiece(pieces))
    }

    async fn piece_added(&mut self) -> StepResult<outcome::PieceAdded> {
        let s = self.sector(State::PieceAdded)?.clone();
        let pieces = need(&self.d.pieces, "pieces", State::PieceAdded)?.clone();
        self.env.build_tree_d(&s, pieces).await?;
        Ok(outcome::PieceAdded::BuildTreeD)
    }

    async fn tree_d_built(&mut self) -> StepResult<outcome::TreeDBuilt> {
        let id = self.sector(State::TreeDBuilt)?.id;
        let ticket = self
            .env
            .rpc("assign ticket", self.env.manager.assign_ticket(id).await)?;
        Ok(outcome::TreeDBuilt::AssignTicket(ticket))
    }

    async fn ticket_assigned(&mut self) -> StepResult<outcome::TicketAssigned> {
        let inp = self.inputs(State::TicketAssigned)?;
        let ticket = need(&self.d.ticket, "ticket", State::TicketAssigned)?.clone();
        let loc = &self.env.location;
        let (cache, staged, sealed) = (
            loc.cache(inp.sector),
            loc.staged(inp.sector),
            loc.sealed(inp.sector),
        );
        let proofs = self.env.proofs.clone();
        let out = self
            .env
            .blocking("pc1", move || {
                proofs.pc1(&inp, &cache, &staged, &sealed).perm()
            })
            .await?;
        Ok(outcome::TicketAssigned::PC1(ticket, out))
    }

    async fn pc1_done(&mut self) -> StepResult<outcome::PC1Done> {
        let id = self.sector(State::PC1Done)?.id;
        let pc1 = need(&self.d.pc1out, "PC1 output", State::PC1Done)?.clone();
        let loc = &self.env.location;
        let (cache, sealed, staged) = (loc.cache(id), loc.sealed(id), loc.staged(id));
        let proofs = self.env.proofs.clone();
        let out = self
            .env
            .blocking("pc2", move || {
                pc2_rerunnable(&cache, &sealed, &staged)
                    .map_err(|e| classify_io(e, Level::Critical))?;
                let out = proofs.pc2(&pc1, &cache, &sealed).perm()?;
                std::fs::remove_file(cache.join(PC2_MARKER))
                    .map_err(|e| classify_io(e.into(), Level::Critical))?;
                Ok(out)
            })
            .await?;
        Ok(outcome::PC1Done::PC2(out))
    }

    async fn pc2_done(&mut self) -> StepResult<outcome::PC2Done> {
        let sector = self.sector(State::PC2Done)?.clone();
        let pc2 = need(&self.d.pc2out, "PC2 output", State::PC2Done)?;
        let ticket = need(&self.d.ticket, "ticket", State::PC2Done)?.clone();
        let info = PreCommitOnChainInfo {
            comm_r: pc2.comm_r,
            comm_d: pc2.comm_d,
            ticket,
        };
        let resp = self.env.rpc(
            "submit PreCommit",
            self.env
                .manager
                .submit_pre_commit(sector, info, self.d.pc_resubmit)
                .await,
        )?;
        self.submit_result("submit PreCommit", resp)?;
        Ok(outcome::PC2Done::SubmitPC)
    }

    async fn pc_submitted(&mut self) -> StepResult<outcome::PCSubmitted> {
        let id = self.sector(State::PCSubmitted)?.id;
        let m = self.env.manager.clone();
        let landed = self
            .wait_landed("PreCommit", || {
                let m = m.clone();
                Box::pin(async move { m.poll_pre_commit_state(id).await })
            })
            .await?;
        Ok(if landed {
            outcome::PCSubmitted::CheckPC
        } else {
            outcome::PCSubmitted::ReSubmitPC
        })
    }

    async fn pc_landed(&mut self) -> StepResult<outcome::PCLanded> {
        let s = self.sector(State::PCLanded)?.clone();
        let store = self.env.persist(&s, Replica::Sealed).await?;
        Ok(outcome::PCLanded::Persist(store))
    }

    async fn persisted(&mut self) -> StepResult<outcome::Persisted> {
        let id = self.sector(State::Persisted)?.id;
        let instance = need(&self.d.persist_instance, "persist store", State::Persisted)?.clone();
        let ok = self.env.rpc(
            "submit persisted",
            self.env
                .manager
                .submit_persisted_ex(id, instance.clone(), false)
                .await,
        )?;
        if !ok {
            return Err(Failure::permanent(anyhow!(
                "the manager cannot find the sector's files in store {instance}"
            )));
        }
        Ok(outcome::Persisted::SubmitPersistance)
    }

    async fn persistance_submitted(&mut self) -> StepResult<outcome::PersistanceSubmitted> {
        let s = self.sector(State::PersistanceSubmitted)?.clone();
        loop {
            let r = self.env.rpc(
                "wait seed",
                self.env.manager.wait_seed(s.id, s.proof_type).await,
            )?;
            match r.seed {
                Some(seed) if !r.should_wait => {
                    return Ok(outcome::PersistanceSubmitted::AssignSeed(seed))
                }
                _ if r.should_wait => self.env.sleep(Duration::from_secs(r.delay.max(1))).await?,
                _ => {
                    return Err(Failure::temporary(anyhow!(
                        "the manager returned no seed and no wait"
                    )))
                }
            }
        }
    }

    async fn seed_assigned(&mut self) -> StepResult<outcome::SeedAssigned> {
        let inp = self.inputs(State::SeedAssigned)?;
        let seed = need(&self.d.seed, "seed", State::SeedAssigned)?.seed;
        let pc2 = need(&self.d.pc2out, "PC2 output", State::SeedAssigned)?.clone();
        let (sealed, cache) = self.sealed_paths(State::SeedAssigned)?;
        let proofs = self.env.proofs.clone();
        let out = self
            .env
            .blocking("c1", move || {
                proofs.c1(&inp, seed, &pc2, &cache, &sealed).perm()
            })
            .await?;
        Ok(outcome::SeedAssigned::C1(out))
    }

    async fn c1_done(&mut self) -> StepResult<outcome::C1Done> {
        let inp = self.inputs(State::C1Done)?;
        let c1 = need(&self.d.c1out, "C1 output", State::C1Done)?.clone();
        let proofs = self.env.proofs.clone();
        let proof = self
            .env
            .blocking("c2", move || proofs.c2(&inp, &c1).perm())
            .await?;
        Ok(outcome::C1Done::C2(Proof(proof)))
    }

    async fn c2_done(&mut self) -> StepResult<outcome::C2Done> {
        let id = self.sector(State::C2Done)?.id;
        let proof = need(&self.d.proof, "proof", State::C2Done)?.0.clone();
        let resp = self.env.rpc(
            "submit proof",
            self.env
                .manager
                .submit_proof(id, ProofOnChainInfo { proof }, self.d.proof_resubmit)
                .await,
        )?;
        self.submit_result("submit proof", resp)?;
        Ok(outcome::C2Done::SubmitProof)
    }

    async fn proof_submitted(&mut self) -> StepResult<outcome::ProofSubmitted> {
        let id = self.sector(State::ProofSubmitted)?.id;
        let m = self.env.manager.clone();
        let landed = self
            .wait_landed("proof", || {
                let m = m.clone();
                Box::pin(async move { m.poll_proof_state(id).await })
            })
            .await?;
        Ok(if landed {
            outcome::ProofSubmitted::Finish
        } else {
            outcome::ProofSubmitted::ReSubmitProof
        })
    }
}

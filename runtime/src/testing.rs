//! Test-only backends, beside the real ones and never instead of them: the daemon binary always
//! uses [`crate::proofs::RealProofs`] and no fault injector.
//!
//! - [`FakeProofs`]: an instant, deterministic stand-in for the proof library (hash-based
//!   "commitments" and "proofs" that its own verifier checks, real files on disk so that persist,
//!   cleanup and the manager's file checks behave as with real proofs). It lets the failure-level
//!   tables run every state of both plans in seconds.
//! - [`FaultInjector`]: makes the step of any state of any plan fail at any level N times, or
//!   take longer, before the real step runs.

use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use sha2::{Digest, Sha256};

use crate::failure::{Failure, Level};
use crate::proofs::{self, C1Out, PC1Out, PC2Out, PieceSource, Proofs, SealInputs, SnapEncodeOut};
use crate::types::{Commitment, PieceInfo, SealProof, SectorId};

fn h(parts: &[&[u8]]) -> Commitment {
    let mut d = Sha256::new();
    for p in parts {
        d.update((p.len() as u64).to_le_bytes());
        d.update(p);
    }
    let mut out: Commitment = d.finalize().into();
    out[31] &= 0x3f; // keep it a valid field element, like real commitments
    out
}

fn pieces_bytes(pieces: &[PieceInfo]) -> Vec<u8> {
    pieces
        .iter()
        .flat_map(|p| {
            p.comm_p
                .iter()
                .copied()
                .chain(p.unpadded_size.to_le_bytes())
        })
        .collect()
}

/// Instant fake of the proof library. Test use only.
#[derive(Clone, Debug, Default)]
pub struct FakeProofs;

impl Proofs for FakeProofs {
    fn add_pieces(
        &self,
        proof_type: SealProof,
        staged: &Path,
        pieces: &[PieceSource],
    ) -> Result<Vec<PieceInfo>> {
        let sector = proofs::sector_size(proof_type)?;
        let mut infos = Vec::new();
        let mut used = 0;
        for p in pieces {
            match p {
                PieceSource::Zeros { unpadded_size } => {
                    let padded = unpadded_size + unpadded_size / 127;
                    infos.push(zero_piece(padded));
                    used += padded;
                }
                PieceSource::File {
                    path,
                    unpadded_size,
                    comm_p,
                } => {
                    ensure!(path.is_file(), "piece file {} missing", path.display());
                    infos.push(PieceInfo {
                        comm_p: *comm_p,
                        unpadded_size: *unpadded_size,
                    });
                    used += unpadded_size + unpadded_size / 127;
                }
            }
        }
        ensure!(used <= sector, "pieces larger than the sector");
        infos.extend(
            proofs::pledge_sizes(sector, used)
                .into_iter()
                .map(zero_piece),
        );
        fs::create_dir_all(staged.parent().context("no parent")?)?;
        fs::write(staged, vec![0u8; sector as usize])?;
        Ok(infos)
    }

    fn tree_d(
        &self,
        proof_type: SealProof,
        staged: &Path,
        pieces: &[PieceInfo],
    ) -> Result<Commitment> {
        ensure!(
            fs::metadata(staged)?.len() == proofs::sector_size(proof_type)?,
            "staged file has the wrong size"
        );
        self.comm_d(proof_type, pieces)
    }

    fn pc1(&self, inp: &SealInputs, cache: &Path, staged: &Path, sealed: &Path) -> Result<PC1Out> {
        if cache.exists() {
            fs::remove_dir_all(cache)?;
        }
        fs::create_dir_all(cache)?;
        fs::create_dir_all(sealed.parent().context("no parent")?)?;
        fs::copy(staged, sealed)?;
        let comm_d = self.comm_d(inp.proof_type, &inp.pieces)?;
        Ok(PC1Out(
            serde_json::json!({ "comm_d": comm_d, "ticket": inp.ticket }),
        ))
    }

    fn pc2(&self, pc1: &PC1Out, cache: &Path, sealed: &Path) -> Result<PC2Out> {
        let comm_d: Commitment = serde_json::from_value(pc1.0["comm_d"].clone())?;
        let ticket: [u8; 32] = serde_json::from_value(pc1.0["ticket"].clone())?;
        ensure!(sealed.is_file(), "sealed file missing");
        let comm_r = h(&[b"comm_r", &comm_d, &ticket]);
        fs::write(cache.join("p_aux"), comm_r)?;
        fs::write(cache.join("t_aux"), b"fake")?;
        Ok(PC2Out { comm_r, comm_d })
    }

    fn c1(
        &self,
        inp: &SealInputs,
        seed: [u8; 32],
        pc2: &PC2Out,
        cache: &Path,
        sealed: &Path,
    ) -> Result<C1Out> {
        ensure!(
            sealed.is_file() && cache.join("p_aux").is_file(),
            "sealed files missing for C1"
        );
        Ok(C1Out(serde_json::json!({
            "comm_r": pc2.comm_r, "comm_d": pc2.comm_d, "seed": seed, "ticket": inp.ticket,
        })))
    }

    fn c2(&self, inp: &SealInputs, c1: &C1Out) -> Result<Vec<u8>> {
        let comm_r: Commitment = serde_json::from_value(c1.0["comm_r"].clone())?;
        let comm_d: Commitment = serde_json::from_value(c1.0["comm_d"].clone())?;
        let seed: [u8; 32] = serde_json::from_value(c1.0["seed"].clone())?;
        Ok(seal_proof(inp.sector, comm_r, comm_d, inp.ticket, seed).to_vec())
    }

    fn verify_seal(
        &self,
        _proof_type: SealProof,
        sector: SectorId,
        comm_r: Commitment,
        comm_d: Commitment,
        ticket: [u8; 32],
        seed: [u8; 32],
        proof: &[u8],
    ) -> Result<bool> {
        Ok(proof == seal_proof(sector, comm_r, comm_d, ticket, seed))
    }

    fn comm_d(&self, _proof_type: SealProof, pieces: &[PieceInfo]) -> Result<Commitment> {
        Ok(h(&[b"comm_d", &pieces_bytes(pieces)]))
    }

    fn piece_commitment(&self, _proof_type: SealProof, path: &Path) -> Result<PieceInfo> {
        let data = fs::read(path)?;
        let len = data.len() as u64;
        let padded = (len + len / 127).next_power_of_two().max(128);
        Ok(PieceInfo {
            comm_p: h(&[b"comm_p", &data]),
            unpadded_size: proofs::unpadded(padded),
        })
    }

    fn snap_encode(
        &self,
        proof_type: SealProof,
        new_replica: &Path,
        new_cache: &Path,
        sector_key: &Path,
        _sector_key_cache: &Path,
        _staged: &Path,
        pieces: &[PieceInfo],
    ) -> Result<SnapEncodeOut> {
        ensure!(
            sector_key.is_file(),
            "sector key {} missing",
            sector_key.display()
        );
        if new_cache.exists() {
            fs::remove_dir_all(new_cache)?;
        }
        fs::create_dir_all(new_cache)?;
        fs::create_dir_all(new_replica.parent().context("no parent")?)?;
        fs::copy(sector_key, new_replica)?;
        let comm_d_new = self.comm_d(proof_type, pieces)?;
        let comm_r_new = h(&[b"comm_r_new", &comm_d_new]);
        fs::write(new_cache.join("p_aux"), comm_r_new)?;
        Ok(SnapEncodeOut {
            comm_r_new,
            comm_r_last_new: comm_r_new,
            comm_d_new,
        })
    }

    fn snap_prove(
        &self,
        _proof_type: SealProof,
        comm_r_old: Commitment,
        enc: &SnapEncodeOut,
        _sector_key: &Path,
        _sector_key_cache: &Path,
        new_replica: &Path,
        _new_cache: &Path,
    ) -> Result<Vec<u8>> {
        ensure!(new_replica.is_file(), "new replica missing");
        Ok(h(&[b"snap", &comm_r_old, &enc.comm_r_new, &enc.comm_d_new]).to_vec())
    }

    fn verify_snap(
        &self,
        _proof_type: SealProof,
        comm_r_old: Commitment,
        comm_r_new: Commitment,
        comm_d_new: Commitment,
        proof: &[u8],
    ) -> Result<bool> {
        Ok(proof == h(&[b"snap", &comm_r_old, &comm_r_new, &comm_d_new]))
    }
}

/// [`FakeProofs`] whose C2 takes `.0` long (holding its stage slot), to test stage limits and
/// waiting threads. Test use only.
#[derive(Clone, Debug)]
pub struct SlowC2Proofs(pub Duration);

impl Proofs for SlowC2Proofs {
    fn add_pieces(
        &self,
        pt: SealProof,
        staged: &Path,
        pieces: &[PieceSource],
    ) -> Result<Vec<PieceInfo>> {
        FakeProofs.add_pieces(pt, staged, pieces)
    }
    fn tree_d(&self, pt: SealProof, staged: &Path, pieces: &[PieceInfo]) -> Result<Commitment> {
        FakeProofs.tree_d(pt, staged, pieces)
    }
    fn pc1(&self, inp: &SealInputs, cache: &Path, staged: &Path, sealed: &Path) -> Result<PC1Out> {
        FakeProofs.pc1(inp, cache, staged, sealed)
    }
    fn pc2(&self, pc1: &PC1Out, cache: &Path, sealed: &Path) -> Result<PC2Out> {
        FakeProofs.pc2(pc1, cache, sealed)
    }
    fn c1(
        &self,
        inp: &SealInputs,
        seed: [u8; 32],
        pc2: &PC2Out,
        cache: &Path,
        sealed: &Path,
    ) -> Result<C1Out> {
        FakeProofs.c1(inp, seed, pc2, cache, sealed)
    }
    fn c2(&self, inp: &SealInputs, c1: &C1Out) -> Result<Vec<u8>> {
        std::thread::sleep(self.0);
        FakeProofs.c2(inp, c1)
    }
    fn verify_seal(
        &self,
        pt: SealProof,
        sector: SectorId,
        comm_r: Commitment,
        comm_d: Commitment,
        ticket: [u8; 32],
        seed: [u8; 32],
        proof: &[u8],
    ) -> Result<bool> {
        FakeProofs.verify_seal(pt, sector, comm_r, comm_d, ticket, seed, proof)
    }
    fn comm_d(&self, pt: SealProof, pieces: &[PieceInfo]) -> Result<Commitment> {
        FakeProofs.comm_d(pt, pieces)
    }
    fn piece_commitment(&self, pt: SealProof, path: &Path) -> Result<PieceInfo> {
        FakeProofs.piece_commitment(pt, path)
    }
    fn snap_encode(
        &self,
        pt: SealProof,
        new_replica: &Path,
        new_cache: &Path,
        key: &Path,
        key_cache: &Path,
        staged: &Path,
        pieces: &[PieceInfo],
    ) -> Result<SnapEncodeOut> {
        FakeProofs.snap_encode(pt, new_replica, new_cache, key, key_cache, staged, pieces)
    }
    fn snap_prove(
        &self,
        pt: SealProof,
        comm_r_old: Commitment,
        enc: &SnapEncodeOut,
        key: &Path,
        key_cache: &Path,
        new_replica: &Path,
        new_cache: &Path,
    ) -> Result<Vec<u8>> {
        FakeProofs.snap_prove(pt, comm_r_old, enc, key, key_cache, new_replica, new_cache)
    }
    fn verify_snap(
        &self,
        pt: SealProof,
        comm_r_old: Commitment,
        comm_r_new: Commitment,
        comm_d_new: Commitment,
        proof: &[u8],
    ) -> Result<bool> {
        FakeProofs.verify_snap(pt, comm_r_old, comm_r_new, comm_d_new, proof)
    }
}

fn zero_piece(padded: u64) -> PieceInfo {
    let size = proofs::unpadded(padded);
    let info = filecoin_proofs::pieces::zero_padding(filecoin_proofs::UnpaddedBytesAmount(size))
        .expect("zero piece commitment");
    PieceInfo {
        comm_p: info.commitment,
        unpadded_size: size,
    }
}

fn seal_proof(
    sector: SectorId,
    comm_r: Commitment,
    comm_d: Commitment,
    ticket: [u8; 32],
    seed: [u8; 32],
) -> Commitment {
    h(&[
        b"seal",
        &sector.miner.to_le_bytes(),
        &sector.number.to_le_bytes(),
        &comm_r,
        &comm_d,
        &ticket,
        &seed,
    ])
}

/// One injected fault: at `state` of `plan`, `times` times.
#[derive(Clone, Debug)]
pub struct Fault {
    pub plan: String,
    pub state: String,
    pub kind: FaultKind,
    pub times: u32,
}

#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Fail the step at this level before it runs.
    Fail(Level),
    /// Make the step take this much longer (it then runs normally).
    Delay(Duration),
}

/// Makes chosen steps fail or stall. Checked by the engine before each step; absent in the daemon.
#[derive(Debug, Default)]
pub struct FaultInjector {
    faults: Mutex<Vec<Fault>>,
    hits: Mutex<Vec<(String, String)>>,
    started: Mutex<Vec<(String, String)>>,
}

impl FaultInjector {
    pub fn new(faults: Vec<Fault>) -> Self {
        FaultInjector {
            faults: Mutex::new(faults),
            hits: Mutex::default(),
            started: Mutex::default(),
        }
    }

    /// Called by the engine before running the step of `state`.
    pub async fn before_step(&self, plan: &str, state: &str) -> Result<(), Failure> {
        self.started
            .lock()
            .expect("started lock")
            .push((plan.into(), state.into()));
        let kind = {
            let mut faults = self.faults.lock().expect("faults lock");
            let Some(f) = faults
                .iter_mut()
                .find(|f| f.plan == plan && f.state == state && f.times > 0)
            else {
                return Ok(());
            };
            f.times -= 1;
            self.hits
                .lock()
                .expect("hits lock")
                .push((plan.into(), state.into()));
            f.kind.clone()
        };
        match kind {
            FaultKind::Fail(level) => Err(Failure::new(
                level,
                anyhow::anyhow!("injected {level} fault at {plan}/{state}"),
            )),
            FaultKind::Delay(d) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        }
    }

    /// How many times the step of `state` was started (faults included).
    pub fn starts(&self, plan: &str, state: &str) -> usize {
        self.started
            .lock()
            .expect("started lock")
            .iter()
            .filter(|(p, s)| p == plan && s == state)
            .count()
    }

    /// How many times faults fired, per (plan, state).
    pub fn hits(&self) -> Vec<(String, String)> {
        self.hits.lock().expect("hits lock").clone()
    }
}

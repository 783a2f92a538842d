//! The proof backend: every call into the proof library goes through [`Proofs`].
//!
//! [`RealProofs`] is the production backend on `filecoin-proofs-api`. It validates what the library
//! accepts silently (a staged file of the wrong length, a piece larger than the sector, data that
//! does not match its piece commitment), checks that parameters exist before proving (the library
//! panics on a truncated parameter file), and turns a library panic into an error of that step.
//!
//! The trait exists so that tests can put a fault-injecting or instant fake backend beside the
//! real one (see `testing.rs`); the daemon always uses `RealProofs`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, ensure, Context, Result};
use filecoin_proofs_api::seal::{
    self, SealCommitPhase1Output, SealPreCommitPhase1Output, SealPreCommitPhase2Output,
};
use filecoin_proofs_api::{
    update, RegisteredSealProof, RegisteredUpdateProof, UnpaddedBytesAmount,
};
use serde::{Deserialize, Serialize};

use crate::params::{self, Circuit};
use crate::types::{Commitment, PieceInfo, SealProof, SectorId};

/// Output of PC1, kept opaque (it is the library's own serialisable struct).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PC1Out(pub serde_json::Value);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PC2Out {
    pub comm_r: Commitment,
    pub comm_d: Commitment,
}

/// Output of C1 (vanilla proofs), opaque like PC1's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct C1Out(pub serde_json::Value);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapEncodeOut {
    pub comm_r_new: Commitment,
    pub comm_r_last_new: Commitment,
    pub comm_d_new: Commitment,
}

/// Where a piece's bytes come from when building the staged file.
#[derive(Clone, Debug)]
pub enum PieceSource {
    /// A pledge piece: zeros of the given unpadded size.
    Zeros { unpadded_size: u64 },
    /// Deal data in a local file, expected to commit to `comm_p`.
    File {
        path: PathBuf,
        unpadded_size: u64,
        comm_p: Commitment,
    },
}

/// Everything PC1..C2 need to identify the sector cryptographically.
#[derive(Clone, Debug)]
pub struct SealInputs {
    pub proof_type: SealProof,
    pub sector: SectorId,
    pub ticket: [u8; 32],
    pub pieces: Vec<PieceInfo>,
}

pub trait Proofs: Send + Sync + 'static {
    /// Write the staged (unsealed) file from the pieces, padded to the full sector with zeros.
    fn add_pieces(
        &self,
        proof_type: SealProof,
        staged: &Path,
        pieces: &[PieceSource],
    ) -> Result<Vec<PieceInfo>>;
    /// Build the data tree over the staged file and check its root against the pieces' comm_d.
    fn tree_d(
        &self,
        proof_type: SealProof,
        staged: &Path,
        pieces: &[PieceInfo],
    ) -> Result<Commitment>;
    fn pc1(&self, inp: &SealInputs, cache: &Path, staged: &Path, sealed: &Path) -> Result<PC1Out>;
    fn pc2(&self, pc1: &PC1Out, cache: &Path, sealed: &Path) -> Result<PC2Out>;
    fn c1(
        &self,
        inp: &SealInputs,
        seed: [u8; 32],
        pc2: &PC2Out,
        cache: &Path,
        sealed: &Path,
    ) -> Result<C1Out>;
    fn c2(&self, inp: &SealInputs, c1: &C1Out) -> Result<Vec<u8>>;
    #[allow(clippy::too_many_arguments)]
    fn verify_seal(
        &self,
        proof_type: SealProof,
        sector: SectorId,
        comm_r: Commitment,
        comm_d: Commitment,
        ticket: [u8; 32],
        seed: [u8; 32],
        proof: &[u8],
    ) -> Result<bool>;
    /// comm_d of a sector holding exactly these pieces (zeros for the rest).
    fn comm_d(&self, proof_type: SealProof, pieces: &[PieceInfo]) -> Result<Commitment>;
    /// Commitment of a piece file (unpadded bytes).
    fn piece_commitment(&self, proof_type: SealProof, path: &Path) -> Result<PieceInfo>;
    #[allow(clippy::too_many_arguments)]
    fn snap_encode(
        &self,
        proof_type: SealProof,
        new_replica: &Path,
        new_cache: &Path,
        sector_key: &Path,
        sector_key_cache: &Path,
        staged: &Path,
        pieces: &[PieceInfo],
    ) -> Result<SnapEncodeOut>;
    #[allow(clippy::too_many_arguments)]
    fn snap_prove(
        &self,
        proof_type: SealProof,
        comm_r_old: Commitment,
        enc: &SnapEncodeOut,
        sector_key: &Path,
        sector_key_cache: &Path,
        new_replica: &Path,
        new_cache: &Path,
    ) -> Result<Vec<u8>>;
    fn verify_snap(
        &self,
        proof_type: SealProof,
        comm_r_old: Commitment,
        comm_r_new: Commitment,
        comm_d_new: Commitment,
        proof: &[u8],
    ) -> Result<bool>;
}

/// Map a Filecoin seal proof id to the library's enum. Only the plain V1/V1_1 kinds are sealable
/// by this worker (the synthetic and NI-PoRep kinds need plan steps we do not have).
pub fn seal_proof(id: SealProof) -> Result<RegisteredSealProof> {
    use RegisteredSealProof::*;
    Ok(match id {
        0 => StackedDrg2KiBV1,
        1 => StackedDrg8MiBV1,
        2 => StackedDrg512MiBV1,
        3 => StackedDrg32GiBV1,
        4 => StackedDrg64GiBV1,
        5 => StackedDrg2KiBV1_1,
        6 => StackedDrg8MiBV1_1,
        7 => StackedDrg512MiBV1_1,
        8 => StackedDrg32GiBV1_1,
        9 => StackedDrg64GiBV1_1,
        other => bail!("seal proof type {other} is not supported by this worker (supported: 0-9)"),
    })
}

/// The SnapDeals proof that upgrades a sector of the given seal proof type.
pub fn update_proof(id: SealProof) -> Result<RegisteredUpdateProof> {
    use RegisteredUpdateProof::*;
    Ok(match u64::from(seal_proof(id)?.sector_size()) {
        2048 => StackedDrg2KiBV1,
        8_388_608 => StackedDrg8MiBV1,
        536_870_912 => StackedDrg512MiBV1,
        34_359_738_368 => StackedDrg32GiBV1,
        68_719_476_736 => StackedDrg64GiBV1,
        other => bail!("no update proof for sector size {other}"),
    })
}

pub fn sector_size(id: SealProof) -> Result<u64> {
    Ok(u64::from(seal_proof(id)?.sector_size()))
}

/// Prover id of a miner actor: the LEB128 bytes of its id address payload, zero padded to 32.
pub fn prover_id(miner: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    let (mut v, mut i) = (miner, 0);
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out[i] = b;
            break;
        }
        out[i] = b | 0x80;
        i += 1;
    }
    out
}

/// Padded sizes of the pledge (zero) pieces that fill a sector after `used` padded bytes of
/// pieces: largest first, each starting at a multiple of its own size, as pieces must.
pub fn pledge_sizes(sector: u64, used: u64) -> Vec<u64> {
    let mut sizes = Vec::new();
    let mut offset = used.min(sector);
    while offset < sector {
        let remaining = sector - offset;
        let mut padded = 1u64 << (63 - remaining.leading_zeros());
        while offset % padded != 0 {
            padded /= 2;
        }
        sizes.push(padded);
        offset += padded;
    }
    sizes
}

/// Unpadded size of a padded size (fr32: 127 data bytes per 128).
pub fn unpadded(padded: u64) -> u64 {
    padded - padded / 128
}

/// Run a library call, turning a panic into an error so that one bad input fails one step and
/// never takes the daemon (and every other sealing thread) down with it.
pub fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.with_context(|| format!("{what} failed")),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(anyhow!("{what}: the proof library panicked: {msg}"))
        }
    }
}

fn lib_pieces(pieces: &[PieceInfo]) -> Result<Vec<filecoin_proofs_api::PieceInfo>> {
    pieces
        .iter()
        .map(|p| {
            filecoin_proofs_api::PieceInfo::new(p.comm_p, UnpaddedBytesAmount(p.unpadded_size))
        })
        .collect()
}

fn check_len(path: &Path, want: u64, what: &str) -> Result<()> {
    let len = fs::metadata(path)
        .with_context(|| format!("{what} {} is missing", path.display()))?
        .len();
    ensure!(
        len == want,
        "{what} {} is {len} bytes, expected exactly the sector size {want}",
        path.display()
    );
    Ok(())
}

/// The production backend.
#[derive(Clone, Debug, Default)]
pub struct RealProofs;

impl Proofs for RealProofs {
    fn add_pieces(
        &self,
        proof_type: SealProof,
        staged: &Path,
        pieces: &[PieceSource],
    ) -> Result<Vec<PieceInfo>> {
        let rsp = seal_proof(proof_type)?;
        let sector = u64::from(rsp.sector_size());
        // The library accepts pieces beyond the sector; we refuse them before writing anything.
        let mut padded_total = 0u64;
        for p in pieces {
            let size = match p {
                PieceSource::Zeros { unpadded_size } | PieceSource::File { unpadded_size, .. } => {
                    *unpadded_size
                }
            };
            let padded = size + size / 127;
            ensure!(
                padded.is_power_of_two() && padded >= 128,
                "piece of {size} unpadded bytes is not a valid piece size (127 * 2^k for k >= 0)"
            );
            padded_total += padded;
        }
        ensure!(
            padded_total <= sector,
            "pieces take {padded_total} padded bytes, more than the {sector}-byte sector"
        );
        if let Some(parent) = staged.parent() {
            fs::create_dir_all(parent)?;
        }
        // Always rebuild from scratch: a leftover from an interrupted run must not be appended to.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(staged)
            .with_context(|| format!("creating staged file {}", staged.display()))?;
        let mut infos = Vec::new();
        let mut lengths: Vec<UnpaddedBytesAmount> = Vec::new();
        let mut add = |reader: &mut dyn Read,
                       size: u64,
                       file: &mut File|
         -> Result<filecoin_proofs_api::PieceInfo> {
            let (info, _) = guarded("add piece", || {
                seal::add_piece(rsp, reader, &mut *file, UnpaddedBytesAmount(size), &lengths)
            })?;
            lengths.push(UnpaddedBytesAmount(size));
            Ok(info)
        };
        for p in pieces {
            match p {
                PieceSource::Zeros { unpadded_size } => {
                    let info = add(
                        &mut io::repeat(0).take(*unpadded_size),
                        *unpadded_size,
                        &mut file,
                    )?;
                    infos.push(PieceInfo {
                        comm_p: info.commitment,
                        unpadded_size: *unpadded_size,
                    });
                }
                PieceSource::File {
                    path,
                    unpadded_size,
                    comm_p,
                } => {
                    let src = File::open(path)
                        .with_context(|| format!("opening piece file {}", path.display()))?;
                    let len = src.metadata()?.len();
                    ensure!(
                        len <= *unpadded_size,
                        "piece file {} is {len} bytes, larger than its piece ({unpadded_size} unpadded bytes)",
                        path.display()
                    );
                    // Short payloads are zero padded to the piece size, as a deal's payload is.
                    let mut reader = src.take(len).chain(io::repeat(0).take(unpadded_size - len));
                    let info = add(&mut reader, *unpadded_size, &mut file)?;
                    ensure!(
                        info.commitment == *comm_p,
                        "piece data in {} does not match its piece commitment: the deal says {}, the data gives {}",
                        path.display(),
                        hex::encode(comm_p),
                        hex::encode(info.commitment)
                    );
                    infos.push(PieceInfo {
                        comm_p: info.commitment,
                        unpadded_size: *unpadded_size,
                    });
                }
            }
        }
        // Fill the rest of the sector with pledge pieces.
        for padded in pledge_sizes(sector, padded_total) {
            let size = unpadded(padded);
            let info = add(&mut io::repeat(0).take(size), size, &mut file)?;
            infos.push(PieceInfo {
                comm_p: info.commitment,
                unpadded_size: size,
            });
        }
        file.flush_all()?;
        check_len(staged, sector, "staged file")?;
        Ok(infos)
    }

    fn tree_d(
        &self,
        proof_type: SealProof,
        staged: &Path,
        pieces: &[PieceInfo],
    ) -> Result<Commitment> {
        use filecoin_proofs::constants::DefaultPieceHasher;
        use storage_proofs_core::merkle::{
            create_base_merkle_tree, BinaryMerkleTree, MerkleTreeTrait,
        };
        let sector = sector_size(proof_type)?;
        check_len(staged, sector, "staged file")?;
        let data = fs::read(staged)?;
        let tree = guarded("tree-d", || {
            create_base_merkle_tree::<BinaryMerkleTree<DefaultPieceHasher>>(
                None,
                data.len() / 32,
                &data,
            )
        })?;
        let root: Commitment = filecoin_proofs::commitment_from_fr(tree.root().into());
        let expected = self.comm_d(proof_type, pieces)?;
        ensure!(
            root == expected,
            "tree-d root of the staged file {} does not match the pieces' comm_d {}: the staged file does not hold these pieces",
            hex::encode(root),
            hex::encode(expected)
        );
        Ok(root)
    }

    fn pc1(&self, inp: &SealInputs, cache: &Path, staged: &Path, sealed: &Path) -> Result<PC1Out> {
        let rsp = seal_proof(inp.proof_type)?;
        let sector = u64::from(rsp.sector_size());
        // PC1 zero-pads a short staged file silently: refuse anything but the exact size.
        check_len(staged, sector, "staged file")?;
        // Re-runnable: start from an empty cache and an empty sealed file every time.
        if cache.exists() {
            fs::remove_dir_all(cache)?;
        }
        fs::create_dir_all(cache)?;
        if let Some(parent) = sealed.parent() {
            fs::create_dir_all(parent)?;
        }
        File::create(sealed)?;
        let pieces = lib_pieces(&inp.pieces)?;
        let out = guarded("PC1", || {
            seal::seal_pre_commit_phase1(
                rsp,
                cache,
                staged,
                sealed,
                prover_id(inp.sector.miner),
                filecoin_proofs_api::SectorId::from(inp.sector.number),
                inp.ticket,
                &pieces,
            )
        })?;
        Ok(PC1Out(serde_json::to_value(&out)?))
    }

    fn pc2(&self, pc1: &PC1Out, cache: &Path, sealed: &Path) -> Result<PC2Out> {
        let out: SealPreCommitPhase1Output =
            serde_json::from_value(pc1.0.clone()).context("decoding PC1 output")?;
        let out = guarded("PC2", || seal::seal_pre_commit_phase2(out, cache, sealed))?;
        Ok(PC2Out {
            comm_r: out.comm_r,
            comm_d: out.comm_d,
        })
    }

    fn c1(
        &self,
        inp: &SealInputs,
        seed: [u8; 32],
        pc2: &PC2Out,
        cache: &Path,
        sealed: &Path,
    ) -> Result<C1Out> {
        let rsp = seal_proof(inp.proof_type)?;
        let pieces = lib_pieces(&inp.pieces)?;
        let pre = SealPreCommitPhase2Output {
            registered_proof: rsp,
            comm_r: pc2.comm_r,
            comm_d: pc2.comm_d,
        };
        let out = guarded("C1", || {
            seal::seal_commit_phase1(
                cache,
                sealed,
                prover_id(inp.sector.miner),
                filecoin_proofs_api::SectorId::from(inp.sector.number),
                inp.ticket,
                seed,
                pre,
                &pieces,
            )
        })?;
        Ok(C1Out(serde_json::to_value(&out)?))
    }

    fn c2(&self, inp: &SealInputs, c1: &C1Out) -> Result<Vec<u8>> {
        params::require(Circuit::PoRep2KiB).or_else(|e| require_if_2k(inp.proof_type, e))?;
        let out: SealCommitPhase1Output =
            serde_json::from_value(c1.0.clone()).context("decoding C1 output")?;
        let out = guarded("C2", || {
            seal::seal_commit_phase2(
                out,
                prover_id(inp.sector.miner),
                filecoin_proofs_api::SectorId::from(inp.sector.number),
            )
        })?;
        Ok(out.proof)
    }

    fn verify_seal(
        &self,
        proof_type: SealProof,
        sector: SectorId,
        comm_r: Commitment,
        comm_d: Commitment,
        ticket: [u8; 32],
        seed: [u8; 32],
        proof: &[u8],
    ) -> Result<bool> {
        params::require(Circuit::PoRep2KiB).or_else(|e| require_if_2k(proof_type, e))?;
        let rsp = seal_proof(proof_type)?;
        guarded("verify seal", || {
            seal::verify_seal(
                rsp,
                comm_r,
                comm_d,
                prover_id(sector.miner),
                filecoin_proofs_api::SectorId::from(sector.number),
                ticket,
                seed,
                proof,
            )
        })
    }

    fn comm_d(&self, proof_type: SealProof, pieces: &[PieceInfo]) -> Result<Commitment> {
        let rsp = seal_proof(proof_type)?;
        let pieces = lib_pieces(pieces)?;
        guarded("compute comm_d", || seal::compute_comm_d(rsp, &pieces))
    }

    fn piece_commitment(&self, proof_type: SealProof, path: &Path) -> Result<PieceInfo> {
        let rsp = seal_proof(proof_type)?;
        let len = fs::metadata(path)?.len();
        let padded = (len + len / 127).next_power_of_two().max(128);
        let size = unpadded(padded);
        let reader = File::open(path)?.chain(io::repeat(0).take(size - len));
        let info = guarded("piece commitment", || {
            seal::generate_piece_commitment(rsp, reader, UnpaddedBytesAmount(size))
        })?;
        Ok(PieceInfo {
            comm_p: info.commitment,
            unpadded_size: size,
        })
    }

    fn snap_encode(
        &self,
        proof_type: SealProof,
        new_replica: &Path,
        new_cache: &Path,
        sector_key: &Path,
        sector_key_cache: &Path,
        staged: &Path,
        pieces: &[PieceInfo],
    ) -> Result<SnapEncodeOut> {
        let up = update_proof(proof_type)?;
        let sector = sector_size(proof_type)?;
        check_len(staged, sector, "staged file")?;
        check_len(sector_key, sector, "sealed file of the sector to upgrade")?;
        // The library needs the new replica to exist with the sealed file's length and the new
        // cache directory to exist; recreate both so a re-run starts clean.
        if new_cache.exists() {
            fs::remove_dir_all(new_cache)?;
        }
        fs::create_dir_all(new_cache)?;
        if let Some(parent) = new_replica.parent() {
            fs::create_dir_all(parent)?;
        }
        let f = File::create(new_replica)?;
        f.set_len(sector)?;
        drop(f);
        let pieces = lib_pieces(pieces)?;
        let out = guarded("snap encode", || {
            update::empty_sector_update_encode_into(
                up,
                new_replica,
                new_cache,
                sector_key,
                sector_key_cache,
                staged,
                &pieces,
            )
        })?;
        Ok(SnapEncodeOut {
            comm_r_new: out.comm_r_new,
            comm_r_last_new: out.comm_r_last_new,
            comm_d_new: out.comm_d_new,
        })
    }

    fn snap_prove(
        &self,
        proof_type: SealProof,
        comm_r_old: Commitment,
        enc: &SnapEncodeOut,
        sector_key: &Path,
        sector_key_cache: &Path,
        new_replica: &Path,
        new_cache: &Path,
    ) -> Result<Vec<u8>> {
        params::require(Circuit::SnapDeals2KiB).or_else(|e| require_if_2k(proof_type, e))?;
        let up = update_proof(proof_type)?;
        let proof = guarded("snap prove", || {
            update::generate_empty_sector_update_proof(
                up,
                comm_r_old,
                enc.comm_r_new,
                enc.comm_d_new,
                sector_key,
                sector_key_cache,
                new_replica,
                new_cache,
            )
        })?;
        Ok(proof.0)
    }

    fn verify_snap(
        &self,
        proof_type: SealProof,
        comm_r_old: Commitment,
        comm_r_new: Commitment,
        comm_d_new: Commitment,
        proof: &[u8],
    ) -> Result<bool> {
        params::require(Circuit::SnapDeals2KiB).or_else(|e| require_if_2k(proof_type, e))?;
        let up = update_proof(proof_type)?;
        guarded("verify snap", || {
            update::verify_empty_sector_update_proof(up, proof, comm_r_old, comm_r_new, comm_d_new)
        })
    }
}

/// Our generator only makes 2KiB parameters; for other sizes the operator provides production
/// parameters and the library reports what is missing itself.
fn require_if_2k(proof_type: SealProof, e: anyhow::Error) -> Result<()> {
    if sector_size(proof_type)? == 2048 {
        Err(e)
    } else {
        Ok(())
    }
}

trait FlushAll {
    fn flush_all(&mut self) -> io::Result<()>;
}

impl FlushAll for File {
    fn flush_all(&mut self) -> io::Result<()> {
        self.seek(SeekFrom::Start(0))?;
        self.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pledge_fill_is_aligned_and_exact() {
        assert_eq!(pledge_sizes(2048, 0), vec![2048]);
        assert_eq!(pledge_sizes(2048, 1024), vec![1024]);
        assert_eq!(pledge_sizes(2048, 128), vec![128, 256, 512, 1024]);
        assert_eq!(pledge_sizes(2048, 2048), Vec::<u64>::new());
        assert_eq!(unpadded(2048), 2032);
        assert_eq!(prover_id(1000)[..2], [0xe8, 0x07]);
    }
}

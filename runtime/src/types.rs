//! Types of the worker ↔ manager conversation.
//!
//! Field names, casing and encodings follow the established `Venus.*` JSON-RPC API (PascalCase
//! fields, base64 randomness and proofs, commitments as arrays of 32 integers, integer enums for
//! proof types and submit/on-chain results), so the same values travel unchanged between our worker,
//! our manager and the established implementations. See shared/reference, section 6.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Filecoin's integer id of a seal proof type (`StackedDrg2KiBV1_1` = 5).
pub type SealProof = u64;
/// `RegisteredSealProof::StackedDrg2KiBV1_1`.
pub const SEAL_PROOF_2KIB_V1_1: SealProof = 5;
/// 2KiB sector size in bytes.
pub const SECTOR_SIZE_2KIB: u64 = 2048;

pub type Commitment = [u8; 32];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SectorId {
    pub miner: u64,
    pub number: u64,
}

impl fmt::Display for SectorId {
    /// The sector directory name used everywhere on disk: `s-t0<miner>-<number>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s-t0{}-{}", self.miner, self.number)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllocatedSector {
    #[serde(rename = "ID")]
    pub id: SectorId,
    pub proof_type: SealProof,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllocateSectorSpec {
    pub allowed_miners: Option<Vec<u64>>,
    pub allowed_proof_types: Option<Vec<SealProof>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AcquireDealsSpec {
    pub max_deals: Option<u64>,
    pub min_used_space: Option<u64>,
}

/// A piece CID as JSON: `{"/": "baga6ea4sea..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cid {
    #[serde(rename = "/")]
    pub root: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PieceRef {
    /// Padded size in bytes.
    pub size: u64,
    #[serde(rename = "PieceCID")]
    pub piece_cid: Cid,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DealInfo {
    #[serde(rename = "DealID")]
    pub deal_id: u64,
    #[serde(rename = "AllocationID")]
    pub allocation_id: u64,
    pub payload_size: u64,
    pub is_builtin_market: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Deal {
    pub piece: PieceRef,
    pub deal_info: DealInfo,
}

impl Deal {
    /// Pledge (filler) pieces carry deal id 0 and allocation id 0: they are zeros, not data.
    pub fn is_pledge(&self) -> bool {
        self.deal_info.deal_id == 0 && self.deal_info.allocation_id == 0
    }
}

pub type Deals = Vec<Deal>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ticket {
    #[serde(with = "b64_32")]
    pub ticket: [u8; 32],
    pub epoch: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Seed {
    #[serde(with = "b64_32")]
    pub seed: [u8; 32],
    pub epoch: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PreCommitOnChainInfo {
    pub comm_r: Commitment,
    pub comm_d: Commitment,
    pub ticket: Ticket,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProofOnChainInfo {
    #[serde(with = "b64_vec")]
    pub proof: Vec<u8>,
}

/// Result of a submission. Integers on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitResult {
    Accepted = 1,
    DuplicateSubmit = 2,
    MismatchedSubmission = 3,
    Rejected = 4,
    FilesMissed = 5,
}

/// On-chain state of a submission. Integers on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnChainState {
    Pending = 1,
    Packed = 2,
    Landed = 3,
    NotFound = 4,
    Failed = 5,
    PermFailed = 6,
    ShouldAbort = 7,
}

macro_rules! int_enum {
    ($ty:ident { $($v:ident = $n:literal),* $(,)? }) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u64(*self as u64)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match u64::deserialize(d)? {
                    $($n => Ok($ty::$v),)*
                    other => Err(serde::de::Error::custom(format!(
                        concat!("invalid ", stringify!($ty), " {}"), other))),
                }
            }
        }
    };
}
int_enum!(SubmitResult { Accepted = 1, DuplicateSubmit = 2, MismatchedSubmission = 3, Rejected = 4, FilesMissed = 5 });
int_enum!(OnChainState { Pending = 1, Packed = 2, Landed = 3, NotFound = 4, Failed = 5, PermFailed = 6, ShouldAbort = 7 });

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubmitResp {
    pub res: SubmitResult,
    pub desc: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PollStateResp {
    pub state: OnChainState,
    pub desc: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitSeedResp {
    pub should_wait: bool,
    /// Seconds to wait before asking again.
    pub delay: u64,
    pub seed: Option<Seed>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerIdentifier {
    pub instance: String,
    pub location: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateChange {
    pub prev: String,
    pub next: String,
    pub event: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportFailure {
    pub level: String,
    pub desc: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportStateReq {
    pub worker: WorkerIdentifier,
    pub state_change: StateChange,
    pub failure: Option<ReportFailure>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SectorStateResp {
    #[serde(rename = "ID")]
    pub id: SectorId,
    /// True when the manager has ended this sector (e.g. an operator aborted it): stop working on it.
    pub finalized: bool,
    pub abort_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllocateSnapUpSpec {
    pub sector: AllocateSectorSpec,
    pub deals: AcquireDealsSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SectorPublicInfo {
    pub comm_r: Commitment,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SectorPrivateInfo {
    /// Name of the persist store holding the sealed file and cache of the sector to upgrade.
    pub access_instance: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllocatedSnapUpSector {
    pub sector: AllocatedSector,
    pub pieces: Deals,
    pub public: SectorPublicInfo,
    pub private: SectorPrivateInfo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapUpOnChainInfo {
    pub comm_r: Commitment,
    pub comm_d: Commitment,
    pub access_instance: String,
    pub pieces: Vec<Cid>,
    #[serde(with = "b64_vec")]
    pub proof: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoreBasicInfo {
    pub name: String,
    pub path: String,
    pub meta: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerThreadsSummary {
    pub threads: usize,
    pub empty: usize,
    pub paused: usize,
    pub running: usize,
    pub waiting: usize,
    pub errors: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerPingInfo {
    pub name: String,
    /// host:port of the worker's control API.
    pub dest: String,
    pub version: String,
    pub summary: WorkerThreadsSummary,
}

/// A worker in the manager's ping registry (`Venus.WorkerGetPingInfo`, `Venus.WorkerPingInfoList`):
/// what it last announced and when (`LastPing`, Unix seconds), as the established manager keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerPingRecord {
    pub info: WorkerPingInfo,
    pub last_ping: i64,
}

/// A piece as the proof library sees it: commitment and unpadded size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceInfo {
    pub comm_p: Commitment,
    pub unpadded_size: u64,
}

pub mod b64_32 {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let v = STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)?;
        v.try_into().map_err(|v: Vec<u8>| {
            serde::de::Error::custom(format!("expected 32 bytes, got {}", v.len()))
        })
    }
}

pub mod b64_vec {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// Piece CIDs (CIDv1, codec fil-commitment-unsealed, multihash sha2-256-trunc254-padded) from a
/// piece commitment, and back. Small and exact, so we do not pull a CID stack for one format.
pub mod piece_cid {
    use super::{Cid, Commitment};
    use anyhow::{bail, ensure, Result};

    const CODEC_UNSEALED: u64 = 0xf101;
    const MH_SHA2_256_TRUNC254: u64 = 0x1012;
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn read_varint(bytes: &[u8], pos: &mut usize) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = bytes.get(*pos) else {
                bail!("truncated CID")
            };
            *pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        bail!("bad varint in CID")
    }

    pub fn from_commitment(comm_p: &Commitment) -> Cid {
        let mut bytes = Vec::with_capacity(40);
        varint(1, &mut bytes);
        varint(CODEC_UNSEALED, &mut bytes);
        varint(MH_SHA2_256_TRUNC254, &mut bytes);
        varint(32, &mut bytes);
        bytes.extend_from_slice(comm_p);
        let mut s = String::from("b");
        let (mut acc, mut bits) = (0u32, 0u32);
        for b in bytes {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                s.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
            }
        }
        if bits > 0 {
            s.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
        }
        Cid { root: s }
    }

    pub fn to_commitment(cid: &Cid) -> Result<Commitment> {
        let s = cid.root.as_str();
        ensure!(
            s.starts_with('b'),
            "piece CID {s:?} is not base32 (expected a 'b' prefix)"
        );
        let mut bytes = Vec::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for c in s[1..].bytes() {
            let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
                bail!("piece CID {s:?} has an invalid character {:?}", c as char)
            };
            acc = (acc << 5) | v as u32;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                bytes.push((acc >> bits) as u8);
            }
        }
        let mut pos = 0;
        ensure!(
            read_varint(&bytes, &mut pos)? == 1,
            "piece CID {s:?} is not CIDv1"
        );
        ensure!(
            read_varint(&bytes, &mut pos)? == CODEC_UNSEALED,
            "CID {s:?} is not a piece CID"
        );
        ensure!(
            read_varint(&bytes, &mut pos)? == MH_SHA2_256_TRUNC254,
            "CID {s:?} has the wrong hash"
        );
        ensure!(
            read_varint(&bytes, &mut pos)? == 32,
            "CID {s:?} has the wrong digest length"
        );
        let digest: Commitment = bytes
            .get(pos..pos + 32)
            .ok_or_else(|| anyhow::anyhow!("truncated piece CID {s:?}"))?
            .try_into()?;
        Ok(digest)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn round_trip_and_known_prefix() {
            let comm = [7u8; 32];
            let cid = super::from_commitment(&comm);
            assert!(cid.root.starts_with("baga6ea4sea"), "{}", cid.root);
            assert_eq!(super::to_commitment(&cid).unwrap(), comm);
        }
    }
}

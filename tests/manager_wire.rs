//! Wire format of the worker ↔ manager API, both directions, against hand-written fixtures.
//!
//! `tests/fixtures/venus-api.json` holds, per method, the JSON-RPC request the established worker
//! sends and the result the established manager answers, written by hand from
//! shared/reference/established-worker.md section 6 (never generated from our types). Per method:
//!
//! - client → wire: our client ([`RpcManager`]) calls a server that records the raw HTTP request;
//!   the request must be the fixture's (method name, positional params, field names, base64 and
//!   integer-array encodings), POSTed to `/rpc/v0` with the bearer token. The recording server
//!   answers the fixture's result, and the client must decode it to the expected Rust value.
//! - wire → server: the fixture's request, sent as raw bytes to our server (the `rpc` door in
//!   front of a recording manager), must be accepted, decoded to the expected Rust arguments, and
//!   answered with exactly the fixture's result.
//!
//! The expected Rust values (module `v`) are the ones the fixture describes.

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{json, Value};

use common::{post_json, raw_request, CaptureServer};
use venus_runtime::manager::client::RpcManager;
use venus_runtime::manager::local::SectorSummary;
use venus_runtime::manager::rpc::{self, method};
use venus_runtime::manager::{MResult, ManagerAdmin, ManagerError, SectorManager};
use venus_runtime::types::*;

const TOKEN: &str = "wire-test-token";

fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/venus-api.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn fixture_case(name: &str) -> Value {
    fixtures()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no fixture for {name}"))
        .clone()
}

/// The Rust values the fixtures describe.
mod v {
    use venus_runtime::types::*;

    pub const CID: &str = "baga6ea4seaqjtovkwk4myyzj56eztkh5pzsk5upksan6f5outesy62bsvl4dsha";

    pub fn bytes(start: u8) -> [u8; 32] {
        std::array::from_fn(|i| start + i as u8)
    }
    pub fn id() -> SectorId {
        SectorId {
            miner: 1000,
            number: 7,
        }
    }
    pub fn spec() -> AllocateSectorSpec {
        AllocateSectorSpec {
            allowed_miners: Some(vec![1000]),
            allowed_proof_types: Some(vec![5]),
        }
    }
    pub fn allocated() -> AllocatedSector {
        AllocatedSector {
            id: id(),
            proof_type: 5,
        }
    }
    pub fn deals_spec() -> AcquireDealsSpec {
        AcquireDealsSpec {
            max_deals: Some(3),
            min_used_space: None,
        }
    }
    pub fn deals() -> Deals {
        vec![Deal {
            piece: PieceRef {
                size: 1024,
                piece_cid: Cid { root: CID.into() },
            },
            deal_info: DealInfo {
                deal_id: 42,
                allocation_id: 0,
                payload_size: 1000,
                is_builtin_market: true,
            },
        }]
    }
    pub fn ticket() -> Ticket {
        Ticket {
            ticket: bytes(0),
            epoch: 12345,
        }
    }
    pub fn seed() -> Seed {
        Seed {
            seed: bytes(100),
            epoch: 12500,
        }
    }
    pub fn precommit() -> PreCommitOnChainInfo {
        PreCommitOnChainInfo {
            comm_r: bytes(32),
            comm_d: bytes(64),
            ticket: ticket(),
        }
    }
    pub fn proof() -> ProofOnChainInfo {
        ProofOnChainInfo {
            proof: vec![0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3],
        }
    }
    pub fn report() -> ReportStateReq {
        ReportStateReq {
            worker: WorkerIdentifier {
                instance: "w1".into(),
                location: "/data/sealer-1".into(),
            },
            state_change: StateChange {
                prev: "PC1Done".into(),
                next: "PC2Done".into(),
                event: "None".into(),
            },
            failure: Some(ReportFailure {
                level: "Permanent".into(),
                desc: "pc2 failed".into(),
            }),
        }
    }
    pub fn state_resp() -> SectorStateResp {
        SectorStateResp {
            id: id(),
            finalized: true,
            abort_reason: Some("aborted by the operator".into()),
        }
    }
    pub fn snap_spec() -> AllocateSnapUpSpec {
        AllocateSnapUpSpec {
            sector: AllocateSectorSpec {
                allowed_miners: None,
                allowed_proof_types: Some(vec![5]),
            },
            deals: AcquireDealsSpec::default(),
        }
    }
    pub fn snap_sector() -> AllocatedSnapUpSector {
        AllocatedSnapUpSector {
            sector: allocated(),
            pieces: deals(),
            public: SectorPublicInfo { comm_r: bytes(32) },
            private: SectorPrivateInfo {
                access_instance: "shared".into(),
            },
        }
    }
    pub fn snap_info() -> SnapUpOnChainInfo {
        SnapUpOnChainInfo {
            comm_r: bytes(200),
            comm_d: bytes(64),
            access_instance: "shared".into(),
            pieces: vec![Cid { root: CID.into() }],
            proof: vec![0xca, 0xfe, 0xba, 0xbe],
        }
    }
    pub fn store() -> StoreBasicInfo {
        StoreBasicInfo {
            name: "shared".into(),
            path: "/mnt/shared".into(),
            meta: None,
        }
    }
    pub fn store_with_meta() -> StoreBasicInfo {
        StoreBasicInfo {
            meta: Some([("ReadOnly".to_string(), "false".to_string())].into()),
            ..store()
        }
    }
    pub fn ping() -> WorkerPingInfo {
        WorkerPingInfo {
            name: "w1".into(),
            dest: "127.0.0.1:17890".into(),
            version: "0.1.0".into(),
            summary: WorkerThreadsSummary {
                threads: 2,
                empty: 1,
                paused: 0,
                running: 1,
                waiting: 0,
                errors: 0,
            },
        }
    }
}

/// A manager that records the arguments it receives (Debug form) and answers the fixture values.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Recorder {
    fn rec(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

#[async_trait]
impl SectorManager for Recorder {
    async fn allocate_sector(&self, spec: AllocateSectorSpec) -> MResult<Option<AllocatedSector>> {
        self.rec(format!("allocate_sector {spec:?}"));
        Ok(Some(v::allocated()))
    }
    async fn acquire_deals(&self, id: SectorId, spec: AcquireDealsSpec) -> MResult<Option<Deals>> {
        self.rec(format!("acquire_deals {id:?} {spec:?}"));
        Ok(Some(v::deals()))
    }
    async fn assign_ticket(&self, id: SectorId) -> MResult<Ticket> {
        self.rec(format!("assign_ticket {id:?}"));
        if id.number == 404 {
            return Err(ManagerError::not_found("sector state not found"));
        }
        Ok(v::ticket())
    }
    async fn submit_pre_commit(
        &self,
        sector: AllocatedSector,
        info: PreCommitOnChainInfo,
        reset: bool,
    ) -> MResult<SubmitResp> {
        self.rec(format!("submit_pre_commit {sector:?} {info:?} {reset}"));
        Ok(SubmitResp {
            res: SubmitResult::Accepted,
            desc: None,
        })
    }
    async fn poll_pre_commit_state(&self, id: SectorId) -> MResult<PollStateResp> {
        self.rec(format!("poll_pre_commit_state {id:?}"));
        Ok(PollStateResp {
            state: OnChainState::Landed,
            desc: None,
        })
    }
    async fn submit_persisted_ex(
        &self,
        id: SectorId,
        instance: String,
        is_upgrade: bool,
    ) -> MResult<bool> {
        self.rec(format!(
            "submit_persisted_ex {id:?} {instance:?} {is_upgrade}"
        ));
        Ok(true)
    }
    async fn wait_seed(&self, id: SectorId, proof_type: SealProof) -> MResult<WaitSeedResp> {
        self.rec(format!("wait_seed {id:?} {proof_type}"));
        Ok(WaitSeedResp {
            should_wait: false,
            delay: 0,
            seed: Some(v::seed()),
        })
    }
    async fn submit_proof(
        &self,
        id: SectorId,
        info: ProofOnChainInfo,
        reset: bool,
    ) -> MResult<SubmitResp> {
        self.rec(format!("submit_proof {id:?} {info:?} {reset}"));
        Ok(SubmitResp {
            res: SubmitResult::DuplicateSubmit,
            desc: Some("already submitted".into()),
        })
    }
    async fn poll_proof_state(&self, id: SectorId) -> MResult<PollStateResp> {
        self.rec(format!("poll_proof_state {id:?}"));
        Ok(PollStateResp {
            state: OnChainState::Pending,
            desc: Some("waiting for the message".into()),
        })
    }
    async fn report_state(&self, id: SectorId, req: ReportStateReq) -> MResult<SectorStateResp> {
        self.rec(format!("report_state {id:?} {req:?}"));
        Ok(v::state_resp())
    }
    async fn report_finalized(&self, id: SectorId) -> MResult<()> {
        self.rec(format!("report_finalized {id:?}"));
        Ok(())
    }
    async fn report_aborted(&self, id: SectorId, reason: String) -> MResult<()> {
        self.rec(format!("report_aborted {id:?} {reason:?}"));
        Ok(())
    }
    async fn allocate_snapup_sector(
        &self,
        spec: AllocateSnapUpSpec,
    ) -> MResult<Option<AllocatedSnapUpSector>> {
        self.rec(format!("allocate_snapup_sector {spec:?}"));
        Ok(Some(v::snap_sector()))
    }
    async fn submit_snapup_proof(
        &self,
        id: SectorId,
        info: SnapUpOnChainInfo,
    ) -> MResult<SubmitResp> {
        self.rec(format!("submit_snapup_proof {id:?} {info:?}"));
        Ok(SubmitResp {
            res: SubmitResult::Rejected,
            desc: Some("the update proof does not verify".into()),
        })
    }
    async fn store_reserve_space(
        &self,
        id: SectorId,
        size: u64,
        candidates: Vec<String>,
    ) -> MResult<Option<StoreBasicInfo>> {
        self.rec(format!("store_reserve_space {id:?} {size} {candidates:?}"));
        Ok(Some(v::store()))
    }
    async fn store_basic_info(&self, instance: String) -> MResult<Option<StoreBasicInfo>> {
        self.rec(format!("store_basic_info {instance:?}"));
        Ok(Some(v::store_with_meta()))
    }
    async fn worker_ping(&self, info: WorkerPingInfo) -> MResult<()> {
        self.rec(format!("worker_ping {info:?}"));
        Ok(())
    }
    async fn piece_path(&self, _cid: &Cid) -> MResult<Option<std::path::PathBuf>> {
        Ok(None)
    }
}

#[async_trait]
impl ManagerAdmin for Recorder {
    async fn workers_list(&self) -> MResult<Vec<WorkerPingRecord>> {
        Ok(vec![])
    }
    async fn worker_get(&self, name: String) -> MResult<Option<WorkerPingRecord>> {
        self.rec(format!("worker_get {name:?}"));
        Ok(Some(WorkerPingRecord {
            info: v::ping(),
            last_ping: 1_700_000_000,
        }))
    }
    async fn sectors_abort(&self, _id: SectorId, _reason: String) -> MResult<()> {
        Ok(())
    }
    async fn sectors_list(&self) -> MResult<Vec<SectorSummary>> {
        Ok(vec![])
    }
}

/// Both sides of the API, so one invocation runs against the client and the recorder alike.
trait Api: SectorManager + ManagerAdmin {}
impl<T: SectorManager + ManagerAdmin> Api for T {}

type BoxFut<'a> = Pin<Box<dyn Future<Output = String> + Send + 'a>>;
type Invoke = for<'a> fn(&'a dyn Api) -> BoxFut<'a>;

macro_rules! cases {
    ($($name:literal => |$m:ident| $call:expr;)*) => {
        /// (fixture name, the call with the fixture's arguments → Debug of its result)
        fn cases() -> Vec<(&'static str, Invoke)> {
            vec![$(($name, {
                fn f<'a>($m: &'a dyn Api) -> BoxFut<'a> {
                    Box::pin(async move { format!("{:?}", $call) })
                }
                f as Invoke
            })),*]
        }
    };
}

cases! {
    "AllocateSector" => |m| m.allocate_sector(v::spec()).await;
    "AcquireDeals" => |m| m.acquire_deals(v::id(), v::deals_spec()).await;
    "AssignTicket" => |m| m.assign_ticket(v::id()).await;
    "SubmitPreCommit" => |m| m.submit_pre_commit(v::allocated(), v::precommit(), false).await;
    "PollPreCommitState" => |m| m.poll_pre_commit_state(v::id()).await;
    "SubmitPersistedEx" => |m| m.submit_persisted_ex(v::id(), "shared".into(), false).await;
    "WaitSeed" => |m| m.wait_seed(v::id(), 5).await;
    "SubmitProof" => |m| m.submit_proof(v::id(), v::proof(), true).await;
    "PollProofState" => |m| m.poll_proof_state(v::id()).await;
    "ReportState" => |m| m.report_state(v::id(), v::report()).await;
    "ReportFinalized" => |m| m.report_finalized(v::id()).await;
    "ReportAborted" => |m| m.report_aborted(v::id(), "ticket expired".into()).await;
    "AllocateSanpUpSector" => |m| m.allocate_snapup_sector(v::snap_spec()).await;
    "SubmitSnapUpProof" => |m| m.submit_snapup_proof(v::id(), v::snap_info()).await;
    "StoreReserveSpace" => |m| m.store_reserve_space(v::id(), 4096, vec!["shared".into(), "other".into()]).await;
    "StoreBasicInfo" => |m| m.store_basic_info("shared".into()).await;
    "WorkerPing" => |m| m.worker_ping(v::ping()).await;
    "WorkerGetPingInfo" => |m| m.worker_get("w1".into()).await;
}

/// What the recorder sees and answers when called directly (no wire in between).
async fn direct(invoke: Invoke) -> (String, Vec<String>) {
    let r = Recorder::default();
    let out = invoke(&r).await;
    (out, r.take())
}

async fn serve_recorder() -> (Arc<Recorder>, rpc::ManagerServer) {
    let rec = Arc::new(Recorder::default());
    let server = rpc::serve(
        rec.clone() as Arc<dyn SectorManager>,
        Some(rec.clone() as Arc<dyn ManagerAdmin>),
        "127.0.0.1:0",
        TOKEN.into(),
    )
    .await
    .unwrap();
    (rec, server)
}

#[test]
fn fixtures_cover_every_method_the_worker_calls() {
    let fx = fixtures();
    let in_fixtures: BTreeSet<String> = fx["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["request"]["method"].as_str().unwrap().to_string())
        .collect();
    let worker_methods = [
        method::ALLOCATE_SECTOR,
        method::ACQUIRE_DEALS,
        method::ASSIGN_TICKET,
        method::SUBMIT_PRE_COMMIT,
        method::POLL_PRE_COMMIT_STATE,
        method::SUBMIT_PERSISTED_EX,
        method::WAIT_SEED,
        method::SUBMIT_PROOF,
        method::POLL_PROOF_STATE,
        method::REPORT_STATE,
        method::REPORT_FINALIZED,
        method::REPORT_ABORTED,
        method::ALLOCATE_SNAPUP_SECTOR,
        method::SUBMIT_SNAPUP_PROOF,
        method::STORE_RESERVE_SPACE,
        method::STORE_BASIC_INFO,
        method::WORKER_PING,
        method::WORKER_GET_PING_INFO,
    ];
    for m in worker_methods {
        assert!(in_fixtures.contains(m), "no fixture for {m}");
    }
    // The established spelling, typo included.
    assert_eq!(method::ALLOCATE_SNAPUP_SECTOR, "Venus.AllocateSanpUpSector");
    let names: BTreeSet<&str> = cases().iter().map(|c| c.0).collect();
    for c in fx["cases"].as_array().unwrap() {
        assert!(
            names.contains(c["name"].as_str().unwrap()),
            "fixture {} has no test call",
            c["name"]
        );
    }
}

#[tokio::test]
async fn client_sends_the_fixture_requests_and_reads_the_fixture_results() {
    let cap = CaptureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = RpcManager::new(
        &format!("/ip4/127.0.0.1/tcp/{}", cap.addr.port()),
        Some(TOKEN),
        dir.path().join("pieces"),
    )
    .unwrap();
    for (name, invoke) in cases() {
        let fx = fixture_case(name);
        let result = fx["result"].clone();
        cap.set_reply(move |req| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let reply =
                json!({"jsonrpc": "2.0", "id": body["id"].clone(), "result": result.clone()});
            (200, serde_json::to_vec(&reply).unwrap())
        });
        let got = invoke(&client).await;
        let reqs = cap.take();
        assert_eq!(reqs.len(), 1, "{name}: one HTTP request expected");
        let req = &reqs[0];
        assert_eq!(req.method, "POST", "{name}");
        assert_eq!(req.path, "/rpc/v0", "{name}: the established path");
        assert_eq!(
            req.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{name}"
        );
        assert!(
            req.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{name}: {:?}",
            req.headers
        );
        let mut sent: Value = serde_json::from_slice(&req.body).unwrap();
        assert!(
            sent["params"].is_array(),
            "{name}: params must be positional: {sent}"
        );
        // Request ids are the client's business; everything else must be the fixture's.
        let mut want = fx["request"].clone();
        want["id"] = Value::Null;
        sent["id"] = Value::Null;
        assert_eq!(
            sent, want,
            "{name}: the client's request differs from the fixture"
        );
        let (expected, _) = direct(invoke).await;
        assert_eq!(
            got, expected,
            "{name}: the client decoded the fixture's result differently"
        );
    }
}

#[tokio::test]
async fn server_accepts_the_fixture_requests_and_answers_the_fixture_results() {
    let (rec, server) = serve_recorder().await;
    for (name, invoke) in cases() {
        let fx = fixture_case(name);
        let body = serde_json::to_vec(&fx["request"]).unwrap();
        let resp = post_json(server.addr, "/rpc/v0", Some(TOKEN), &body).await;
        assert_eq!(resp.status, 200, "{name}: {}", resp.text());
        assert_eq!(
            resp.json(),
            json!({"jsonrpc": "2.0", "id": 0, "result": fx["result"].clone()}),
            "{name}: the server's answer differs from the fixture"
        );
        let (_, expected_args) = direct(invoke).await;
        assert_eq!(
            rec.take(),
            expected_args,
            "{name}: the server decoded the fixture's params differently"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn error_codes_survive_the_wire_whatever_the_http_status() {
    let fx = fixtures()["errors"][0].clone();
    assert_eq!(fx["error"]["code"], 11001);

    // Client side: a go-jsonrpc style error (HTTP 500 with a JSON-RPC body) keeps its code.
    let cap = CaptureServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = RpcManager::new(
        &format!("http://{}", cap.addr),
        Some(TOKEN),
        dir.path().to_path_buf(),
    )
    .unwrap();
    for status in [500u16, 200] {
        let error = fx["error"].clone();
        cap.set_reply(move |req| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let reply = json!({"jsonrpc": "2.0", "id": body["id"].clone(), "error": error.clone()});
            (status, serde_json::to_vec(&reply).unwrap())
        });
        let e = client
            .assign_ticket(SectorId {
                miner: 1000,
                number: 404,
            })
            .await
            .unwrap_err();
        assert!(e.is_not_found(), "HTTP {status}: {e:?}");
        assert_eq!(e.message, "sector state not found");
        let mut sent: Value = serde_json::from_slice(&cap.take()[0].body).unwrap();
        sent["id"] = Value::Null;
        let mut want = fx["request"].clone();
        want["id"] = Value::Null;
        assert_eq!(sent, want);
    }
    // A non-JSON error page stays a transport error, with the status in the message.
    cap.set_reply(|_| (502, b"bad gateway".to_vec()));
    let e = client.assign_ticket(v::id()).await.unwrap_err();
    assert!(e.code.is_none() && e.message.contains("502"), "{e:?}");

    // Server side: the manager's "not found" is code 11001.
    let (_rec, server) = serve_recorder().await;
    let resp = post_json(
        server.addr,
        "/rpc/v0",
        Some(TOKEN),
        &serde_json::to_vec(&fx["request"]).unwrap(),
    )
    .await;
    let body = resp.json();
    assert_eq!(body["error"]["code"], 11001, "{body}");
    assert_eq!(body["id"], 0);
    server.stop().await;
}

#[tokio::test]
async fn server_rejects_what_the_established_api_does_not_allow() {
    let (rec, server) = serve_recorder().await;
    let call = |body: Value| {
        let addr = server.addr;
        async move {
            post_json(
                addr,
                "/rpc/v0",
                Some(TOKEN),
                &serde_json::to_vec(&body).unwrap(),
            )
            .await
            .json()
        }
    };
    let id = json!({"Miner": 1000, "Number": 7});
    let comm: Vec<u8> = (32..64).collect();
    let bad = [
        // Wrong number of positional params.
        (
            json!({"jsonrpc":"2.0","id":1,"method":"Venus.AssignTicket","params":[id, 1]}),
            "wrong param count",
        ),
        (
            json!({"jsonrpc":"2.0","id":1,"method":"Venus.SubmitProof","params":[id, {"Proof":"AAE="}]}),
            "wrong param count",
        ),
        // Named params.
        (
            json!({"jsonrpc":"2.0","id":1,"method":"Venus.AssignTicket","params":{"id": id}}),
            "positional",
        ),
        // CommR must be an array of ints, not base64.
        (
            json!({"jsonrpc":"2.0","id":1,"method":"Venus.SubmitPreCommit","params":[
                {"ID": id, "ProofType": 5},
                {"CommR": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", "CommD": comm,
                 "Ticket": {"Ticket": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "Epoch": 1}},
                false]}),
            "expected an array",
        ),
        // The ticket must be base64, not an int array.
        (
            json!({"jsonrpc":"2.0","id":1,"method":"Venus.SubmitPreCommit","params":[
                {"ID": id, "ProofType": 5},
                {"CommR": comm, "CommD": comm, "Ticket": {"Ticket": comm, "Epoch": 1}},
                false]}),
            "expected a string",
        ),
        // Field names are PascalCase.
        (
            json!({"jsonrpc":"2.0","id":1,"method":"Venus.AssignTicket","params":[{"miner": 1000, "number": 7}]}),
            "Miner",
        ),
        // The proof type is an integer id.
        (
            json!({"jsonrpc":"2.0","id":1,"method":"Venus.WaitSeed","params":[id, "5"]}),
            "proof_type",
        ),
    ];
    for (body, needle) in bad {
        let r = call(body.clone()).await;
        assert_eq!(r["error"]["code"], -32602, "{body} → {r}");
        assert!(
            r["error"]["message"].as_str().unwrap().contains(needle),
            "{body} → {r}"
        );
    }
    assert!(
        rec.take().is_empty(),
        "rejected calls must not reach the manager"
    );
    let r = call(json!({"jsonrpc":"2.0","id":1,"method":"Venus.NoSuchMethod","params":[]})).await;
    assert_eq!(r["error"]["code"], -32601, "{r}");
    // Our server also answers the corrected spelling of the snapup allocation.
    let r = call(json!({"jsonrpc":"2.0","id":1,"method":"Venus.AllocateSnapUpSector",
        "params":[{"Sector":{"AllowedMiners":null,"AllowedProofTypes":null},"Deals":{"MaxDeals":null,"MinUsedSpace":null}}]}))
    .await;
    assert_eq!(r["result"]["Sector"]["ID"]["Number"], 7, "{r}");
    server.stop().await;
}

#[tokio::test]
async fn http_door_paths_and_token() {
    let (rec, server) = serve_recorder().await;
    let body = serde_json::to_vec(&fixture_case("AssignTicket")["request"]).unwrap();
    // `/rpc/v0` (established) and `/` both serve JSON-RPC.
    for path in ["/rpc/v0", "/"] {
        let r = post_json(server.addr, path, Some(TOKEN), &body).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(r.json()["result"]["Ticket"].is_string());
    }
    rec.take();
    // No token, a wrong token, a malformed header: 401 with a reason, and nothing reaches the manager.
    for (auth, needle) in [
        (None, "missing token"),
        (Some("Bearer nope"), "wrong token"),
        (Some(TOKEN), "malformed"),
    ] {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        let r = raw_request(server.addr, "POST", "/rpc/v0", &headers, &body).await;
        assert_eq!(r.status, 401, "{auth:?}");
        assert!(r.text().contains(needle), "{auth:?}: {}", r.text());
        let r = raw_request(
            server.addr,
            "GET",
            "/piecestore/baga6ea4seaq",
            &headers,
            b"",
        )
        .await;
        assert_eq!(r.status, 401, "pieces need the token too");
    }
    assert!(rec.take().is_empty());
    let auth = format!("Bearer {TOKEN}");
    let h = [("Authorization", auth.as_str())];
    let r = raw_request(server.addr, "GET", "/rpc/v0", &h, b"").await;
    assert_eq!(r.status, 405);
    let r = raw_request(server.addr, "POST", "/elsewhere", &h, &body).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("/rpc/v0"), "{}", r.text());
    let r = raw_request(
        server.addr,
        "GET",
        "/piecestore/..%2Fmanager.sqlite",
        &h,
        b"",
    )
    .await;
    assert_eq!(r.status, 400);
    server.stop().await;
}

#[tokio::test]
async fn loopback_callers_skip_the_token_only_when_allowed() {
    // Established workers send no token; `--allow-loopback-without-token` serves them locally.
    let rec = Arc::new(Recorder::default());
    let server = rpc::serve_with(
        rec.clone() as Arc<dyn SectorManager>,
        Some(rec.clone() as Arc<dyn ManagerAdmin>),
        "127.0.0.1:0",
        rpc::Access {
            token: TOKEN.into(),
            loopback_without_token: true,
        },
    )
    .await
    .unwrap();
    let body = serde_json::to_vec(&fixture_case("AllocateSector")["request"]).unwrap();
    let r = post_json(server.addr, "/rpc/v0", None, &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["result"], fixture_case("AllocateSector")["result"]);
    // A token that is sent is still checked.
    let r = post_json(server.addr, "/rpc/v0", Some("wrong"), &body).await;
    assert_eq!(r.status, 401);
    server.stop().await;
}

#[test]
fn result_integers_follow_the_reference_tables() {
    let fx = fixtures();
    let table = |name: &str| -> Vec<(String, u64)> {
        fx["enums"][name]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect()
    };
    let submit = table("SubmitResult");
    assert_eq!(submit.len(), 5);
    for (name, n) in submit {
        let r: SubmitResult = serde_json::from_value(json!(n)).unwrap();
        assert_eq!(format!("{r:?}"), name);
        assert_eq!(serde_json::to_value(r).unwrap(), json!(n));
    }
    let states = table("OnChainState");
    assert_eq!(states.len(), 7);
    for (name, n) in states {
        let s: OnChainState = serde_json::from_value(json!(n)).unwrap();
        assert_eq!(format!("{s:?}"), name);
        assert_eq!(serde_json::to_value(s).unwrap(), json!(n));
    }
    assert!(serde_json::from_value::<SubmitResult>(json!(0)).is_err());
    assert!(serde_json::from_value::<OnChainState>(json!(8)).is_err());
}

//! The manager behind its JSON-RPC door, fast (no real proofs): the real `venus-sector-manager` and
//! `venus-worker` binaries for allocation under concurrency and kill -9, the operator commands and
//! startup checks; in-process servers of the real `LocalManager` with the test-only `FakeProofs`
//! (instant, deterministic, checked by its own verifier) for submissions, a whole sealer + snapup
//! run of a worker through the door, and a manager-side abort.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use venus_runtime::config::Config;
use venus_runtime::control::ThreadState;
use venus_runtime::control_api::ControlClient;
use venus_runtime::manager::client::RpcManager;
use venus_runtime::manager::local::{LocalManager, LocalManagerConfig};
use venus_runtime::manager::rpc::{self, ManagerServer};
use venus_runtime::manager::{ManagerAdmin, SectorManager};
use venus_runtime::proofs::{PieceSource, Proofs, SealInputs};
use venus_runtime::store::read_history;
use venus_runtime::testing::{FakeProofs, Fault, FaultInjector, FaultKind};
use venus_runtime::types::*;
use venus_runtime::worker::{RunOptions, Worker};

use common::{free_port, out, Guard, ManagerProc, MANAGER, WORKER};

/// `n` AllocateSector calls at once, spread over `clients`; each result as the number or an error.
async fn allocate_many(
    clients: &[Arc<RpcManager>],
    n: usize,
    acked: Arc<AtomicUsize>,
) -> Vec<Result<u64, String>> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let c = clients[i % clients.len()].clone();
        let acked = acked.clone();
        set.spawn(async move {
            let r = c
                .allocate_sector(AllocateSectorSpec::default())
                .await
                .map_err(|e| e.to_string())
                .and_then(|s| s.ok_or_else(|| "no sector".to_string()))
                .map(|s| s.id.number);
            if r.is_ok() {
                acked.fetch_add(1, Ordering::SeqCst);
            }
            r
        });
    }
    let mut v = Vec::new();
    while let Some(r) = set.join_next().await {
        v.push(r.unwrap());
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn allocations_never_repeat_under_concurrency_nor_across_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut m = ManagerProc::start(&home, &[]);
    let clients: Vec<Arc<RpcManager>> = (0..4).map(|_| Arc::new(m.client())).collect();

    // 200 concurrent calls over 4 connections pools: 200 distinct numbers, no gap.
    let first: Vec<u64> = allocate_many(&clients, 200, Arc::default())
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let set: BTreeSet<u64> = first.iter().copied().collect();
    assert_eq!(set.len(), 200, "a number was handed out twice");
    assert_eq!(set, (1..=200).collect(), "numbers are 1..=200");

    // A burst cut by kill -9 in the middle: whatever was acknowledged stays allocated.
    let acked = Arc::new(AtomicUsize::new(0));
    let burst = {
        let (clients, acked) = (clients.clone(), acked.clone());
        tokio::spawn(async move { allocate_many(&clients, 2000, acked).await })
    };
    while acked.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    m.kill9();
    let burst = burst.await.unwrap();
    let cut: Vec<u64> = burst.iter().filter_map(|r| r.clone().ok()).collect();
    let failed = burst.iter().filter(|r| r.is_err()).count();
    assert!(
        failed > 0 && cut.len() >= 20,
        "the kill must land mid-burst (acknowledged {}, failed {failed})",
        cut.len()
    );
    drop(clients);

    // Restart on the same home: the counter continues after every acknowledged number.
    let m2 = ManagerProc::start(&home, &[]);
    let clients: Vec<Arc<RpcManager>> = (0..4).map(|_| Arc::new(m2.client())).collect();
    let after: Vec<u64> = allocate_many(&clients, 100, Arc::default())
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let mut all: Vec<u64> = first.iter().chain(&cut).chain(&after).copied().collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "a sector number was handed out twice");
    let before_max = first.iter().chain(&cut).max().unwrap();
    assert!(after.iter().all(|a| a > before_max));
    // Nothing acknowledged was lost by the kill.
    let known: BTreeSet<u64> = clients[0]
        .sectors_list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id.number)
        .collect();
    for num in first.iter().chain(&cut).chain(&after) {
        assert!(known.contains(num), "acknowledged sector {num} lost");
    }
}

/// The real LocalManager with FakeProofs, served in-process.
async fn fake_manager(
    dir: &Path,
    token: &str,
    max_sectors: Option<u64>,
) -> (Arc<LocalManager>, ManagerServer, PathBuf) {
    fake_manager_with(dir, token, max_sectors, Duration::ZERO).await
}

async fn fake_manager_with(
    dir: &Path,
    token: &str,
    max_sectors: Option<u64>,
    seed_delay: Duration,
) -> (Arc<LocalManager>, ManagerServer, PathBuf) {
    let store = dir.join("shared-store");
    std::fs::create_dir_all(&store).unwrap();
    let lm = Arc::new(
        LocalManager::open(
            LocalManagerConfig {
                home: dir.join("manager"),
                miner: 1000,
                proof_type: SEAL_PROOF_2KIB_V1_1,
                max_sectors,
                stores: vec![("shared".into(), store.clone())],
            },
            Arc::new(FakeProofs),
        )
        .unwrap()
        .with_seed_delay(seed_delay),
    );
    let server = rpc::serve(
        lm.clone() as Arc<dyn SectorManager>,
        Some(lm.clone() as Arc<dyn ManagerAdmin>),
        "127.0.0.1:0",
        token.into(),
    )
    .await
    .unwrap();
    (lm, server, store)
}

#[tokio::test]
async fn the_token_is_required_and_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let (_lm, server, _) = fake_manager(dir.path(), "right", None).await;
    let cache = dir.path().join("cache");
    for token in [None, Some("wrong")] {
        let c = RpcManager::new(&server.url(), token, cache.clone()).unwrap();
        let e = c
            .allocate_sector(AllocateSectorSpec::default())
            .await
            .unwrap_err();
        assert!(
            e.message.contains("HTTP 401") && e.message.contains("[sector_manager] token"),
            "{token:?}: {e}"
        );
        assert!(!e.is_not_found());
    }
    let c = RpcManager::new(&server.url(), Some("right"), cache.clone()).unwrap();
    assert!(c
        .allocate_sector(AllocateSectorSpec::default())
        .await
        .unwrap()
        .is_some());
    let port = server.addr.port();
    server.stop().await;
    let c = RpcManager::new(&format!("/ip4/127.0.0.1/tcp/{port}"), Some("right"), cache).unwrap();
    let e = c
        .allocate_sector(AllocateSectorSpec::default())
        .await
        .unwrap_err();
    assert!(
        e.message.contains("cannot reach") && e.message.contains("rpc_client.addr"),
        "{e}"
    );
}

/// Seal a 2KiB CC sector with the fake proofs, the way the sealer plan does.
fn fake_seal(
    dir: &Path,
    id: SectorId,
    ticket: [u8; 32],
    seed: [u8; 32],
) -> (PreCommitOnChainInfo, Vec<u8>) {
    let p = FakeProofs;
    let (staged, cache, sealed) = (dir.join("staged"), dir.join("cache"), dir.join("sealed"));
    let pieces = p
        .add_pieces(SEAL_PROOF_2KIB_V1_1, &staged, &[] as &[PieceSource])
        .unwrap();
    let inp = SealInputs {
        proof_type: SEAL_PROOF_2KIB_V1_1,
        sector: id,
        ticket,
        pieces,
    };
    let pc1 = p.pc1(&inp, &cache, &staged, &sealed).unwrap();
    let pc2 = p.pc2(&pc1, &cache, &sealed).unwrap();
    let c1 = p.c1(&inp, seed, &pc2, &cache, &sealed).unwrap();
    let proof = p.c2(&inp, &c1).unwrap();
    (
        PreCommitOnChainInfo {
            comm_r: pc2.comm_r,
            comm_d: pc2.comm_d,
            ticket: Ticket { ticket, epoch: 0 },
        },
        proof,
    )
}

#[tokio::test]
async fn duplicate_submissions_are_answered_as_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (_lm, server, store) = fake_manager(dir.path(), "t", None).await;
    let c = RpcManager::new(&server.url(), Some("t"), dir.path().join("cache")).unwrap();

    let sector = c
        .allocate_sector(AllocateSectorSpec::default())
        .await
        .unwrap()
        .unwrap();
    let id = sector.id;
    assert_eq!(
        c.acquire_deals(id, AcquireDealsSpec::default())
            .await
            .unwrap(),
        None
    );
    let ticket = c.assign_ticket(id).await.unwrap();
    // The seed is only known after the PreCommit landed; seal once for comm_r, again for the proof.
    let work = dir.path().join("work");
    let (pc, _) = fake_seal(&work, id, ticket.ticket, [1; 32]);
    let pc = PreCommitOnChainInfo {
        ticket: ticket.clone(),
        ..pc
    };

    let r = c
        .submit_pre_commit(sector.clone(), pc.clone(), false)
        .await
        .unwrap();
    assert_eq!(r.res, SubmitResult::Accepted, "{r:?}");
    // A worker that crashed after submitting submits again: a duplicate, which is success.
    let r = c
        .submit_pre_commit(sector.clone(), pc.clone(), false)
        .await
        .unwrap();
    assert_eq!(r.res, SubmitResult::DuplicateSubmit, "{r:?}");
    let r = c
        .submit_pre_commit(sector.clone(), pc.clone(), true)
        .await
        .unwrap();
    assert_eq!(r.res, SubmitResult::DuplicateSubmit, "{r:?}");
    // A different PreCommit without reset is a mismatch, not a duplicate.
    let other = PreCommitOnChainInfo {
        comm_r: [9; 32],
        ..pc.clone()
    };
    let r = c
        .submit_pre_commit(sector.clone(), other, false)
        .await
        .unwrap();
    assert_eq!(r.res, SubmitResult::MismatchedSubmission, "{r:?}");
    assert_eq!(
        c.poll_pre_commit_state(id).await.unwrap().state,
        OnChainState::Landed
    );

    // Persist: the manager checks the files in the store it named.
    let reserved = c
        .store_reserve_space(id, 4096, vec!["nope".into(), "shared".into()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reserved.name, "shared");
    assert!(
        !c.submit_persisted_ex(id, "shared".into(), false)
            .await
            .unwrap(),
        "files are not there yet"
    );
    let (sealed_dir, cache_dir) = (
        store.join("sealed"),
        store.join("cache").join(id.to_string()),
    );
    std::fs::create_dir_all(&sealed_dir).unwrap();
    std::fs::copy(work.join("sealed"), sealed_dir.join(id.to_string())).unwrap();
    std::fs::create_dir_all(&cache_dir).unwrap();
    std::fs::copy(work.join("cache/p_aux"), cache_dir.join("p_aux")).unwrap();
    assert!(c
        .submit_persisted_ex(id, "shared".into(), false)
        .await
        .unwrap());
    assert!(
        c.submit_persisted_ex(id, "shared".into(), false)
            .await
            .unwrap(),
        "idempotent"
    );

    let ws = c.wait_seed(id, SEAL_PROOF_2KIB_V1_1).await.unwrap();
    assert!(!ws.should_wait);
    let seed = ws.seed.unwrap();
    let again = c
        .wait_seed(id, SEAL_PROOF_2KIB_V1_1)
        .await
        .unwrap()
        .seed
        .unwrap();
    assert_eq!(seed, again, "the seed is fixed once drawn");
    let (_, proof) = fake_seal(&dir.path().join("work2"), id, ticket.ticket, seed.seed);
    let bad = ProofOnChainInfo {
        proof: vec![1, 2, 3],
    };
    let r = c.submit_proof(id, bad, false).await.unwrap();
    assert_eq!(
        r.res,
        SubmitResult::Rejected,
        "a wrong proof is verified and rejected: {r:?}"
    );
    let info = ProofOnChainInfo { proof };
    let r = c.submit_proof(id, info.clone(), false).await.unwrap();
    assert_eq!(r.res, SubmitResult::Accepted, "{r:?}");
    let r = c.submit_proof(id, info.clone(), false).await.unwrap();
    assert_eq!(r.res, SubmitResult::DuplicateSubmit, "{r:?}");
    assert_eq!(
        c.poll_proof_state(id).await.unwrap().state,
        OnChainState::Landed
    );
    c.report_finalized(id).await.unwrap();
    c.report_finalized(id).await.unwrap();
    let s = c.sectors_list().await.unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].state.as_str(), s[0].proof_verified),
        ("Finalized", true)
    );

    // A sector the manager does not know: 11001 over the wire.
    let unknown = SectorId {
        miner: 1000,
        number: 999,
    };
    let e = c.assign_ticket(unknown).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    let e = c
        .report_state(
            unknown,
            ReportStateReq {
                worker: WorkerIdentifier {
                    instance: "w".into(),
                    location: "/x".into(),
                },
                state_change: StateChange {
                    prev: "A".into(),
                    next: "B".into(),
                    event: "None".into(),
                },
                failure: None,
            },
        )
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    server.stop().await;
}

fn worker_config(dir: &Path, addr: &str, token: &str, store: &Path, threads: &[&str]) -> Config {
    let mut text = format!(
        r#"
[worker]
name = "rpc-worker"
ping_interval = "200ms"
[worker.rpc_server]
host = "127.0.0.1"
port = 17999
[sector_manager]
rpc_client.addr = "{addr}"
token = "{token}"
[sealing]
allowed_sizes = ["2KiB"]
max_retries = 3
retry_backoff = "100ms"
retry_max_backoff = "200ms"
seal_interval = "100ms"
recover_interval = "100ms"
rpc_polling_interval = "100ms"
[[attached]]
name = "shared"
location = "{}"
"#,
        store.display()
    );
    for t in threads {
        text.push_str(&format!(
            "[[sealing_thread]]\nlocation = \"{t}\"\nplan = \"{t}\"\n"
        ));
    }
    Config::parse(&text, dir).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_seals_and_upgrades_through_the_rpc_door() {
    let dir = tempfile::tempdir().unwrap();
    let (lm, server, store) = fake_manager(dir.path(), "tok", None).await;
    let cfg = worker_config(
        dir.path(),
        &server.url(),
        "tok",
        &store,
        &["sealer", "snapup"],
    );
    let cache = cfg.sealing_thread[0].location.join("piece-cache");
    let client = RpcManager::new(&server.url(), Some("tok"), cache.clone()).unwrap();
    client.check_stores(&["shared".into()]).await.unwrap();
    let e = client
        .check_stores(&["elsewhere".into()])
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("does not know the persist store \"elsewhere\""),
        "{e}"
    );
    let worker =
        Arc::new(Worker::new(cfg.clone(), Arc::new(FakeProofs), Some(Arc::new(client))).unwrap());
    assert!(
        worker.local_manager.is_none(),
        "the remote manager is used, not an embedded one"
    );
    tokio::time::timeout(
        Duration::from_secs(120),
        worker.run(RunOptions {
            tasks_per_thread: Some(1),
            stop_on_pause: true,
        }),
    )
    .await
    .expect("the worker finished in time")
    .unwrap();

    for t in &cfg.sealing_thread {
        let (history, _) = read_history(&t.location).unwrap();
        assert_eq!(history.len(), 1, "{}", t.plan);
        assert_eq!(
            history[0].outcome, "Finished",
            "{}: {:?}",
            t.plan, history[0].reason
        );
        assert_eq!(history[0].sector.as_deref(), Some("s-t01000-1"));
    }
    let sectors = lm.list_sectors().await.unwrap();
    assert_eq!(sectors.len(), 1);
    assert!(sectors[0].proof_verified);
    assert_eq!(sectors[0].upgrade.as_deref(), Some("Upgraded"));
    assert_eq!(sectors[0].worker.as_deref(), Some("rpc-worker"));
    // The deal piece came over GET /piecestore/<cid>, byte for byte.
    let pieces: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(pieces.len(), 1, "{pieces:?}");
    let name = pieces[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with("baga"), "{name}");
    assert_eq!(
        std::fs::read(&pieces[0]).unwrap(),
        std::fs::read(dir.path().join("manager/pieces").join(&name)).unwrap()
    );
    // The worker announced itself.
    let workers = lm.workers_list().await.unwrap();
    assert_eq!(workers.len(), 1);
    assert_eq!(workers[0].info.name, "rpc-worker");
    assert_eq!(workers[0].info.dest, "127.0.0.1:17999");
    assert_eq!(workers[0].info.summary.threads, 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_on_the_manager_ends_the_workers_task() {
    let dir = tempfile::tempdir().unwrap();
    let (lm, server, store) = fake_manager(dir.path(), "tok", Some(1)).await;
    let cfg = worker_config(dir.path(), &server.url(), "tok", &store, &["sealer"]);
    let client = RpcManager::new(&server.url(), Some("tok"), dir.path().join("cache")).unwrap();
    // PC2 takes a while: time for the operator to abort the sector on the manager meanwhile.
    let faults = Arc::new(FaultInjector::new(vec![Fault {
        plan: "sealer".into(),
        state: "PC1Done".into(),
        kind: FaultKind::Delay(Duration::from_secs(2)),
        times: 1,
    }]));
    let worker = Arc::new(
        Worker::new(cfg.clone(), Arc::new(FakeProofs), Some(Arc::new(client)))
            .unwrap()
            .with_faults(faults),
    );
    let run = {
        let w = worker.clone();
        tokio::spawn(async move {
            w.run(RunOptions {
                tasks_per_thread: Some(1),
                stop_on_pause: true,
            })
            .await
        })
    };
    let operator = RpcManager::new(&server.url(), Some("tok"), dir.path().join("op")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = operator.sectors_list().await.unwrap();
        if s.first().and_then(|s| s.worker_state.as_deref()) == Some("PC1Done") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sector never reached PC1Done: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let id = SectorId {
        miner: 1000,
        number: 1,
    };
    operator
        .sectors_abort(id, "operator says no".into())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the task ended")
        .unwrap()
        .unwrap();

    let (history, transitions) = read_history(&cfg.sealing_thread[0].location).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].outcome, "Abort");
    assert!(
        history[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("operator says no"),
        "{:?}",
        history[0].reason
    );
    // It stopped at the first step boundary after the abort: PC2 was the last step that ran.
    let last = transitions
        .iter()
        .rev()
        .find(|t| t.to_state != "Abort")
        .unwrap();
    assert_eq!(
        (last.from_state.as_str(), last.to_state.as_str()),
        ("PC1Done", "PC2Done")
    );
    let s = lm.list_sectors().await.unwrap();
    assert_eq!(s[0].state, "Aborted");
    assert_eq!(s[0].abort_reason.as_deref(), Some("operator says no"));
    assert!(!cfg.sealing_thread[0]
        .location
        .join("data/sealed")
        .join(id.to_string())
        .exists());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_while_the_worker_waits_for_its_seed_ends_the_task_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // The seed is due a minute after the PreCommit landed: the task waits in PersistanceSubmitted.
    let (lm, server, store) =
        fake_manager_with(dir.path(), "tok", Some(1), Duration::from_secs(60)).await;
    let cfg = worker_config(dir.path(), &server.url(), "tok", &store, &["sealer"]);
    let client = RpcManager::new(&server.url(), Some("tok"), dir.path().join("cache")).unwrap();
    let worker =
        Arc::new(Worker::new(cfg.clone(), Arc::new(FakeProofs), Some(Arc::new(client))).unwrap());
    let run = {
        let w = worker.clone();
        tokio::spawn(async move {
            w.run(RunOptions {
                tasks_per_thread: Some(1),
                stop_on_pause: true,
            })
            .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = lm.list_sectors().await.unwrap();
        if s.first().and_then(|s| s.worker_state.as_deref()) == Some("PersistanceSubmitted") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never waited for the seed: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let id = SectorId {
        miner: 1000,
        number: 1,
    };
    let aborted_at = Instant::now();
    lm.abort_sector(id, "operator wants it gone").await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the task ended")
        .unwrap()
        .unwrap();
    assert!(
        aborted_at.elapsed() < Duration::from_secs(10),
        "noticed at the next seed poll, not when the seed was due: {:?}",
        aborted_at.elapsed()
    );
    let (history, transitions) = read_history(&cfg.sealing_thread[0].location).unwrap();
    assert_eq!(history[0].outcome, "Abort");
    let reason = history[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains("operator wants it gone") && reason.contains("11001"),
        "{reason}"
    );
    assert!(
        transitions.iter().all(|t| t.to_state != "SeedAssigned"),
        "no seed, no C1/C2 for an aborted sector"
    );
    let s = lm.list_sectors().await.unwrap();
    assert_eq!(
        (s[0].state.as_str(), s[0].abort_reason.as_deref()),
        ("Aborted", Some("operator wants it gone"))
    );
    server.stop().await;
}

fn write_worker_config(
    dir: &Path,
    name: &str,
    port: u16,
    api: &str,
    token: &str,
    store: &str,
    store_dir: &Path,
) -> PathBuf {
    let text = format!(
        r#"
[worker]
name = "{name}"
ping_interval = "300ms"
[worker.rpc_server]
host = "127.0.0.1"
port = {port}
[sector_manager]
rpc_client.addr = "{api}"
token = "{token}"
[sealing]
allowed_sizes = ["2KiB"]
recover_interval = "300ms"
[[sealing_thread]]
location = "{name}-sealer"
plan = "sealer"
[[attached]]
name = "{store}"
location = "{}"
"#,
        store_dir.display()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A worker daemon that must refuse to start: its stderr.
fn refused_worker(config: &Path) -> String {
    let o = Command::new(WORKER)
        .args(["daemon", "-c"])
        .arg(config)
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", out(&o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_reach_a_running_worker_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store_arg = format!("shared={}", store.display());
    // No sector to hand out: the worker idles, asking; nothing heavy runs.
    let m = ManagerProc::start(
        &dir.path().join("home"),
        &["--max-sectors", "0", "--store", &store_arg],
    );

    // Startup checks of a worker with a remote manager.
    let p = write_worker_config(
        dir.path(),
        "bad-token",
        free_port(),
        &m.api,
        "nope",
        "shared",
        &store,
    );
    let e = refused_worker(&p);
    assert!(e.contains("HTTP 401") && e.contains("token"), "{e}");
    let p = write_worker_config(
        dir.path(),
        "bad-store",
        free_port(),
        &m.api,
        &m.token,
        "other",
        &store,
    );
    let e = refused_worker(&p);
    assert!(
        e.contains("does not know the persist store \"other\""),
        "{e}"
    );
    let p = write_worker_config(
        dir.path(),
        "no-manager",
        free_port(),
        &format!("/ip4/127.0.0.1/tcp/{}", free_port()),
        &m.token,
        "shared",
        &store,
    );
    let e = refused_worker(&p);
    assert!(e.contains("cannot reach"), "{e}");

    let port = free_port();
    let cfg = write_worker_config(
        dir.path(),
        "w-util",
        port,
        &m.api,
        &m.token,
        "shared",
        &store,
    );
    let log = std::fs::File::create(dir.path().join("worker.log")).unwrap();
    let _worker = Guard {
        child: Command::new(WORKER)
            .args(["daemon", "-c"])
            .arg(&cfg)
            .stderr(log)
            .spawn()
            .unwrap(),
        log: dir.path().join("worker.log"),
    };
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let o = m.util(&["worker", "list"]);
            assert!(o.status.success(), "{}", out(&o));
            let s = String::from_utf8_lossy(&o.stdout).into_owned();
            if s.contains("w-util") {
                assert!(s.contains(&format!("127.0.0.1:{port}")), "{s}");
                break;
            }
            assert!(Instant::now() < deadline, "the worker never pinged: {s}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let o = m.util(&["worker", "info", "w-util"]);
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("sealer"),
            "{}",
            out(&o)
        );

        let o = m.util(&["worker", "pause", "w-util", "0"]);
        assert!(o.status.success(), "{}", out(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("pause of thread #0 requested"),
            "{}",
            out(&o)
        );
        let control = ControlClient::new(&format!("127.0.0.1:{port}")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(
            control.list().await.unwrap()[0].thread_state,
            ThreadState::Paused { .. }
        ) {
            assert!(Instant::now() < deadline, "the thread never paused");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let o = m.util(&["worker", "resume", "w-util", "0"]);
        assert!(o.status.success(), "{}", out(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("thread #0 resumed"),
            "{}",
            out(&o)
        );
        let o = m.util(&["worker", "resume", "w-util", "0"]);
        assert!(
            !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("not paused"),
            "{}",
            out(&o)
        );
        // By address instead of name.
        let o = m.util(&["worker", "pause", &format!("127.0.0.1:{port}"), "0"]);
        assert!(o.status.success(), "{}", out(&o));

        // Clear errors.
        let o = m.util(&["worker", "pause", "nobody", "0"]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success()
                && e.contains("no worker named \"nobody\"")
                && e.contains("known workers: w-util"),
            "{}",
            out(&o)
        );
        let o = m.util(&["worker", "pause", "w-util", "7"]);
        assert!(
            !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("does not exist"),
            "{}",
            out(&o)
        );
        let o = m.util(&["--token", "wrong", "worker", "list"]);
        assert!(
            !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("HTTP 401"),
            "{}",
            out(&o)
        );
        let o = m.util(&["sealer", "sectors", "abort", "1000", "1"]);
        assert!(
            !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--really-do-it"),
            "{}",
            out(&o)
        );
        let o = m.util(&["sealer", "sectors", "abort", "1000", "1", "--really-do-it"]);
        assert!(
            !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("not found"),
            "{}",
            out(&o)
        );
        // One daemon per home.
        let o = Command::new(MANAGER)
            .arg("--home")
            .arg(&m.home)
            .args(["daemon", "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert!(
            !o.status.success()
                && String::from_utf8_lossy(&o.stderr)
                    .contains("another venus-sector-manager daemon"),
            "{}",
            out(&o)
        );
    }
}

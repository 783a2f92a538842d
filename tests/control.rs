//! Operating a worker: the control API over HTTP and the `venus-worker worker ...` command lines of
//! the task status flow document, resume validation, fall-back resumes, and unreadable records.
//! In process on fake proofs (instant), with the real engine, SQLite stores, embedded manager and
//! control API; the CLI is the real binary.

mod support;

use std::process::Command;
use std::time::Duration;

use plan_meta::rt::Plan;
use support::{happy_path, start};
use venus_runtime::control_api::{serve, ControlClient};
use venus_runtime::failure::Level;
use venus_runtime::plans::sealer;
use venus_runtime::testing::{Fault, FaultKind};

const BIN: &str = env!("CARGO_BIN_EXE_venus-worker");

fn fail_once(state: &str, level: Level) -> Fault {
    Fault {
        plan: "sealer".into(),
        state: state.into(),
        kind: FaultKind::Fail(level),
        times: 1,
    }
}

/// Run the real CLI against a control API on `port` through a config file, as an operator would.
fn cli(dir: &std::path::Path, port: u16, args: &[&str]) -> (bool, String) {
    let cfg = dir.join("cli.toml");
    std::fs::write(
        &cfg,
        format!("[worker.rpc_server]\nport = {port}\n[[sealing_thread]]\nlocation = \"x\"\n"),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["worker", "-c"]).arg(&cfg).args(args);
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_is_validated_before_anything_changes() {
    let h = start(
        &["sealer"],
        vec![fail_once("PC2Done", Level::Permanent)],
        1,
        "",
    );
    let (addr, _server) = serve(h.worker.clone(), "127.0.0.1:0").await.unwrap();
    let client = ControlClient::new(&addr.to_string()).unwrap();
    let err = h.wait_paused(0).await.unwrap();
    assert!(err.starts_with("Permanent"), "{err}");

    // list shows the paused thread, its sector, state and last error.
    let list = client.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].job_state, "PC2Done");
    assert!(list[0].job_id.as_deref().unwrap().starts_with("s-t01000-"));
    assert!(list[0].last_error.as_deref().unwrap().contains("injected"));

    let dir = h.dir.path().to_path_buf();
    let port = addr.port();
    // An unknown name: an error listing the plan's states; nothing changes.
    let (ok, out) = cli(
        &dir,
        port,
        &["resume", "--state", "TreeDBuild", "--index", "0"],
    );
    assert!(
        !ok && out.contains("unknown state \"TreeDBuild\"") && out.contains("TreeDBuilt"),
        "{out}"
    );
    // A state of the other plan.
    let (ok, out) = cli(
        &dir,
        port,
        &["resume", "--state", "SnapEncoded", "--index", "0"],
    );
    assert!(!ok && out.contains("snapup plan"), "{out}");
    // A forward jump: refused with the valid targets.
    let (ok, out) = cli(&dir, port, &["resume", "--state", "C1Done", "--index", "0"]);
    assert!(
        !ok && out.contains("Valid targets:") && out.contains("PC2Done") && out.contains("--force"),
        "{out}"
    );
    // A thread that does not exist.
    let (ok, out) = cli(&dir, port, &["resume", "--index", "7"]);
    assert!(!ok && out.contains("#7 does not exist"), "{out}");
    assert_eq!(
        h.persisted_state(0).as_deref(),
        Some("PC2Done"),
        "a refused resume changed the task"
    );
    assert!(
        client.list().await.unwrap()[0].thread_state != venus_runtime::control::ThreadState::Idle
    );

    // The document's fall-back: resume at TreeDBuilt. The ticket, PC1 and PC2 are redone with a new
    // ticket and the PreCommit is resubmitted; the sector finishes with a verified proof.
    let first_ticket = ticket_in_record(&h);
    let (ok, out) = cli(
        &dir,
        port,
        &["resume", "--state", "TreeDBuilt", "--index", "0"],
    );
    assert!(ok, "{out}");
    let h = h.wait_done().await;
    assert_eq!(h.outcomes(0), vec!["Finished"]);
    let got = h.transitions(0);
    let path = happy_path(sealer::Plan::meta());
    let at = path.iter().position(|t| t.0 == "PC2Done").unwrap();
    let mut want = path[..at].to_vec();
    want.push(("PC2Done".into(), "SetState".into(), "TreeDBuilt".into()));
    let redo = path.iter().position(|t| t.0 == "TreeDBuilt").unwrap();
    want.extend(path[redo..].iter().cloned());
    assert_eq!(got, want);
    let m = h.worker.local_manager.as_ref().unwrap();
    assert!(m.list_sectors().await.unwrap()[0].proof_verified);
    assert_ne!(
        first_ticket,
        ticket_in_history(&h),
        "the fall-back did not fetch a new ticket"
    );
}

fn ticket_in_record(h: &support::Harness) -> String {
    let db = rusqlite::Connection::open(h.location(0).join("meta.sqlite")).unwrap();
    let data: String = db
        .query_row("SELECT data FROM task", [], |r| r.get(0))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&data).unwrap();
    v["ticket"].to_string()
}

fn ticket_in_history(h: &support::Harness) -> String {
    let (hist, _) = venus_runtime::store::read_history(&h.location(0)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&hist[0].data).unwrap();
    v["ticket"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_forward_jump_lacking_data_pauses_instead_of_losing_the_sector() {
    let h = start(
        &["sealer"],
        vec![fail_once("TicketAssigned", Level::Permanent)],
        1,
        "",
    );
    h.wait_paused(0).await;
    // C1Done needs a C1 output the record does not have: refused, then forced.
    assert!(h.worker.resume(0, Some("C1Done"), false).is_err());
    assert!(h.worker.resume(0, Some("C1Done"), true).unwrap());
    let err = h.wait_paused(0).await.unwrap();
    assert!(
        err.starts_with("Critical") && err.contains("resume at an earlier state"),
        "{err}"
    );
    // Nothing was lost: fall back to where the data is and finish.
    assert!(h.worker.resume(0, Some("TicketAssigned"), false).unwrap());
    let h = h.wait_done().await;
    assert_eq!(h.outcomes(0), vec!["Finished"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_abort_ends_the_task_and_the_thread_goes_on() {
    let h = start(
        &["sealer"],
        vec![fail_once("C1Done", Level::Critical)],
        2,
        "",
    );
    h.wait_paused(0).await;
    // `Aborted`, the established worker's name, works as well as `Abort`.
    assert!(h.worker.resume(0, Some("Aborted"), false).unwrap());
    let h = h.wait_done().await;
    // The aborted sector, then a new one sealed to the end.
    assert_eq!(h.outcomes(0), vec!["Abort", "Finished"]);
    let (hist, _) = venus_runtime::store::read_history(&h.location(0)).unwrap();
    let reason = hist[0].reason.as_deref().unwrap();
    assert!(
        reason.starts_with("aborted by the operator") && reason.contains("injected Critical"),
        "{reason}"
    );
    let m = h.worker.local_manager.as_ref().unwrap();
    let s = m.list_sectors().await.unwrap();
    assert_eq!(
        (s[0].state.as_str(), s[1].proof_verified),
        ("Aborted", true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_record_pauses_its_thread_only_and_is_quarantined_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    // Thread 0's location holds a record written by a "future" build.
    let loc0 = dir.path().join("t0-sealer");
    {
        let mut store = venus_runtime::store::TaskStore::open(&loc0).unwrap();
        store.create("sealer", "PC1Done", "{}").unwrap();
    }
    let db = rusqlite::Connection::open(loc0.join("meta.sqlite")).unwrap();
    db.execute("UPDATE task SET format = 99, data = 'v99:opaque'", [])
        .unwrap();
    drop(db);

    let cfg = support::config(dir.path(), &["sealer", "sealer"], "");
    let worker = std::sync::Arc::new(
        venus_runtime::worker::Worker::new(
            cfg,
            std::sync::Arc::new(venus_runtime::testing::FakeProofs),
            None,
        )
        .unwrap(),
    );
    let w = worker.clone();
    let run = tokio::spawn(async move {
        w.run(venus_runtime::worker::RunOptions {
            tasks_per_thread: Some(1),
            stop_on_pause: false,
        })
        .await
    });
    // Thread 0 pauses with a clear error; thread 1 seals its sector meanwhile.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s0 = worker.threads[0].control.status();
        let t1_done = venus_runtime::store::read_history(&worker.threads[1].location)
            .map(|(h, _)| h.len() == 1)
            .unwrap_or(false);
        if s0.activity == venus_runtime::control::Activity::Paused && t1_done {
            let err = s0.last_error.unwrap();
            assert!(
                err.contains("format 99") && err.contains("quarantine"),
                "{err}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "thread 0 {s0:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Only Abort (or --force) is accepted for it.
    assert!(worker.resume(0, Some("PC1Done"), false).is_err());
    assert!(worker.resume(0, Some("Abort"), false).unwrap());
    run.await.unwrap().unwrap();
    let db = rusqlite::Connection::open(loc0.join("meta.sqlite")).unwrap();
    let kept: String = db
        .query_row("SELECT row_json FROM quarantine", [], |r| r.get(0))
        .unwrap();
    assert!(kept.contains("v99:opaque"), "{kept}");
}

/// Several threads share a stage limit: with `c2 = 1` the second thread waits for the slot, and a
/// waiting thread can be paused (and later resumed) while the other one holds the slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_waiting_for_a_stage_slot_can_be_paused() {
    use venus_runtime::control::Activity;
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::config(
        dir.path(),
        &["sealer", "sealer"],
        "[processors.limitation.concurrent]\nc2 = 1\n",
    );
    let proofs = std::sync::Arc::new(venus_runtime::testing::SlowC2Proofs(Duration::from_millis(
        1500,
    )));
    let worker =
        std::sync::Arc::new(venus_runtime::worker::Worker::new(cfg, proofs, None).unwrap());
    let w = worker.clone();
    let run = tokio::spawn(async move {
        w.run(venus_runtime::worker::RunOptions {
            tasks_per_thread: Some(1),
            stop_on_pause: false,
        })
        .await
    });
    // Wait until one thread runs C2 and the other waits for the slot.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let waiting = loop {
        let acts: Vec<Activity> = worker
            .threads
            .iter()
            .map(|t| t.control.status().activity)
            .collect();
        let w = acts
            .iter()
            .position(|a| matches!(a, Activity::Waiting { stage } if stage == "c2"));
        let r = acts
            .iter()
            .any(|a| matches!(a, Activity::Running { stage } if stage == "c2"));
        if let (Some(w), true) = (w, r) {
            break w;
        }
        assert!(std::time::Instant::now() < deadline, "{acts:?}");
        assert!(worker.limits.in_use("c2") <= 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(worker.pause(waiting).unwrap());
    let t = &worker.threads[waiting].control;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while t.status().activity != Activity::Paused {
        assert!(
            std::time::Instant::now() < deadline,
            "waiting thread did not pause"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // It paused while the other thread still held the slot, and before running C2.
    assert_eq!(worker.limits.in_use("c2"), 1);
    let (_, rows) = venus_runtime::store::read_history(&worker.threads[waiting].location).unwrap();
    assert_eq!(rows.last().unwrap().to_state, "C1Done");
    assert!(worker.resume(waiting, None, false).unwrap());
    while !run.is_finished() {
        assert!(
            worker.limits.in_use("c2") <= 1,
            "more C2 at once than configured"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    run.await.unwrap().unwrap();
    for t in &worker.threads {
        let (h, _) = venus_runtime::store::read_history(&t.location).unwrap();
        assert_eq!(h[0].outcome, "Finished");
    }
}

//! Crash safety with real processes and real proofs: the real `venus-worker daemon` is killed with
//! SIGKILL at several points of a real 2KiB run (right after a transition, and in the middle of
//! C2 / the snap proof), restarted, and the sector still finishes with a verified proof.
//!
//! Heavy (about 4 minutes: two C2 and two snap proofs, some of them cut short). Run alone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_venus-worker");

fn write_config(dir: &Path, threads: &[(&str, &str)]) -> PathBuf {
    let mut text = String::from(
        "[sector_manager.embedded]\nhome = \"manager\"\n\
         [sealing]\nallowed_sizes = [\"2KiB\"]\nretry_backoff = \"1s\"\nseal_interval = \"1s\"\n\
         recover_interval = \"1s\"\nrpc_polling_interval = \"1s\"\n\
         [worker.rpc_server]\nport = 0\n",
    );
    for (loc, plan) in threads {
        text.push_str(&format!(
            "[[sealing_thread]]\nlocation = \"{loc}\"\nplan = \"{plan}\"\n"
        ));
    }
    let path = dir.join("venus-worker.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn start(cfg: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(BIN)
        .args(["daemon", "--tasks-per-thread", "1", "-c"])
        .arg(cfg)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// The persisted state of a location's current task (None when there is none).
fn state(location: &Path) -> Option<String> {
    let db = rusqlite::Connection::open_with_flags(
        location.join("meta.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()?;
    db.query_row("SELECT state FROM task WHERE id = 1", [], |r| r.get(0))
        .ok()
}

fn wait_state(child: &mut Child, location: &Path, want: &[&str], log: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(s) = state(location) {
            if want.contains(&s.as_str()) {
                return s;
            }
        }
        if let Some(exit) = child.try_wait().unwrap() {
            panic!(
                "daemon exited ({exit}) before reaching {want:?}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "timed out waiting for {want:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn kill9(child: &mut Child) {
    // Child::kill sends SIGKILL on Unix: no chance to clean up, like a power cut for the process.
    child.kill().unwrap();
    child.wait().unwrap();
}

fn finish(child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(
                exit.success(),
                "daemon failed ({exit}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            return;
        }
        assert!(Instant::now() < deadline, "daemon did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn history(location: &Path) -> Vec<(String, String)> {
    let (h, _) = venus_runtime::store::read_history(location).unwrap();
    h.into_iter().map(|r| (r.plan, r.outcome)).collect()
}

fn manager_row(dir: &Path) -> (i64, Option<String>) {
    let db = rusqlite::Connection::open(dir.join("manager/manager.sqlite")).unwrap();
    db.query_row(
        "SELECT proof_landed, upgrade_state FROM sectors WHERE number = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn sealer_survives_sigkill_after_a_transition_and_during_c2() {
    assert!(Command::new(BIN).arg("params").status().unwrap().success());
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &[("sealer-1", "sealer")]);
    let loc = dir.path().join("sealer-1");
    let log = dir.path().join("daemon.log");

    // 1. Killed right after a transition (as soon as PC2's result is on disk).
    let mut d = start(&cfg, &log);
    let at = wait_state(&mut d, &loc, &["PC2Done", "PCSubmitted", "PCLanded"], &log);
    kill9(&mut d);
    eprintln!("killed right after reaching {at}");

    // 2. Restarted; killed in the middle of C2.
    let mut d = start(&cfg, &log);
    wait_state(&mut d, &loc, &["C1Done"], &log);
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        state(&loc).as_deref(),
        Some("C1Done"),
        "C2 finished too fast for this test"
    );
    kill9(&mut d);

    // 3. Restarted: C2 runs again from the persisted C1 output and the sector finishes.
    let mut d = start(&cfg, &log);
    finish(&mut d, &log);
    assert_eq!(
        history(&loc),
        vec![("sealer".to_string(), "Finished".to_string())]
    );
    assert_eq!(
        manager_row(dir.path()).0,
        1,
        "proof not verified by the manager"
    );
    // The transition log is the plan's path: every step persisted once (killed steps re-ran
    // without leaving a trace of their own).
    let (_, rows) = venus_runtime::store::read_history(&loc).unwrap();
    let events: Vec<_> = rows.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "Allocate",
            "AcquireDeals",
            "AddPiece",
            "BuildTreeD",
            "AssignTicket",
            "PC1",
            "PC2",
            "SubmitPC",
            "CheckPC",
            "Persist",
            "SubmitPersistance",
            "AssignSeed",
            "C1",
            "C2",
            "SubmitProof",
            "Finish"
        ]
    );
}

#[test]
fn snapup_survives_sigkill_during_the_snap_proof() {
    assert!(Command::new(BIN).arg("params").status().unwrap().success());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let snap = dir.path().join("snapup-1");

    // A sealer thread makes the CC sector; the snapup thread upgrades it.
    let cfg = write_config(
        dir.path(),
        &[("sealer-1", "sealer"), ("snapup-1", "snapup")],
    );
    let mut d = start(&cfg, &log);
    wait_state(&mut d, &snap, &["SnapEncoded"], &log);
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        state(&snap).as_deref(),
        Some("SnapEncoded"),
        "the snap proof finished too fast for this test"
    );
    kill9(&mut d);

    // Restart with the snapup thread only (the sealer thread's task is done).
    let cfg = write_config(dir.path(), &[("snapup-1", "snapup")]);
    let mut d = start(&cfg, &log);
    finish(&mut d, &log);
    assert_eq!(
        history(&snap),
        vec![("snapup".to_string(), "Finished".to_string())]
    );
    assert_eq!(manager_row(dir.path()), (1, Some("Upgraded".to_string())));
}

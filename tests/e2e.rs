//! End to end with real proofs: the `venus-worker demo` binary seals a real 2KiB sector through
//! every state of plans/sealer.plan and upgrades it through every state of plans/snapup.plan,
//! against the embedded manager, which verifies the seal proof and the update proof with the real
//! verifier. We check what was persisted (the transition log in each thread's SQLite database), in
//! order, against the plan files themselves, and what the manager recorded.
//!
//! Heavy: C2 (~70 s) and the snap proof (~40 s). Needs the 2KiB parameters (`venus-worker params`,
//! which this test runs first: a no-op when the cache is complete).

use std::path::Path;
use std::process::Command;

mod support;

use plan_meta::rt::Plan;
use support::happy_path;
use venus_runtime::plans::{sealer, snapup};

const BIN: &str = env!("CARGO_BIN_EXE_venus-worker");

fn transitions(location: &Path) -> Vec<(String, String, String, Option<String>)> {
    let db = rusqlite::Connection::open(location.join("meta.sqlite")).unwrap();
    let mut st = db
        .prepare("SELECT from_state, event, to_state, sector FROM transitions ORDER BY seq")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn seal_and_snapup_real_2kib_sectors_through_every_state() {
    let status = Command::new(BIN).arg("params").status().unwrap();
    assert!(status.success(), "parameter generation failed");

    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("demo");
    let out = Command::new(BIN)
        .args(["demo", "--json", "--dir"])
        .arg(&run)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tasks = summary.as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{summary:#}");

    for (plan, meta, location) in [
        (
            "sealer",
            sealer::Plan::meta(),
            run.join("demo-data/sealer-1"),
        ),
        (
            "snapup",
            snapup::Plan::meta(),
            run.join("demo-data/snapup-1"),
        ),
    ] {
        let want = happy_path(meta);
        let got = transitions(&location);
        let got_triples: Vec<_> = got
            .iter()
            .map(|(f, e, t, _)| (f.clone(), e.clone(), t.clone()))
            .collect();
        assert_eq!(
            got_triples, want,
            "persisted transitions of the {plan} task differ from {}",
            meta.file
        );
        // Every state of the plan except Abort was visited, in the plan's order.
        let visited: Vec<&str> = std::iter::once("Empty")
            .chain(want.iter().map(|t| t.2.as_str()))
            .collect();
        for s in meta.states.iter().filter(|s| s.name != "Abort") {
            assert!(
                visited.contains(&s.name),
                "{plan}: state {} never visited",
                s.name
            );
        }
        // The sector is recorded on every transition after allocation.
        assert!(
            got.iter().skip(1).all(|t| t.3.is_some()),
            "{plan}: sector missing in the log"
        );
        let task = tasks.iter().find(|t| t["plan"] == plan).unwrap();
        assert_eq!(task["outcome"], "Finished", "{task:#}");
        assert_eq!(
            task["proof_verified"], true,
            "{plan}: proof not verified by the manager: {task:#}"
        );
    }

    // The snapup upgraded the very sector the sealer sealed, and the manager holds both proofs.
    let sealer_sector = tasks.iter().find(|t| t["plan"] == "sealer").unwrap()["sector"].clone();
    let snap_sector = tasks.iter().find(|t| t["plan"] == "snapup").unwrap()["sector"].clone();
    assert_eq!(sealer_sector, snap_sector);
    let db = rusqlite::Connection::open(run.join("demo-data/manager/manager.sqlite")).unwrap();
    let (landed, upgrade, proof_len): (i64, String, i64) = db
        .query_row(
            "SELECT proof_landed, upgrade_state, length(upgrade_proof) FROM sectors WHERE number = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((landed, upgrade.as_str()), (1, "Upgraded"));
    assert!(proof_len > 0);
    // Local files were cleaned after finishing; the sealed and updated replicas are in the store.
    let store = run.join("demo-data/manager/store");
    let sid = sealer_sector.as_str().unwrap();
    for p in ["sealed", "cache", "update", "update-cache"] {
        assert!(
            store.join(p).join(sid).exists(),
            "{p}/{sid} missing in the persist store"
        );
    }
    assert!(!run
        .join("demo-data/sealer-1/data/sealed")
        .join(sid)
        .exists());
}

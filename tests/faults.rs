//! Failure levels, table-driven over every state of both plans: the fault injector makes the step
//! of one state fail at one level N times, and we check what the thread does (real engine, real
//! SQLite, real embedded manager; instant fake proofs so the table runs in seconds).
//!
//! | level                        | expected                                                        |
//! |------------------------------|-----------------------------------------------------------------|
//! | Temporary, within the budget | retried with backoff, the task finishes, no extra transition    |
//! | Temporary, beyond the budget | the thread pauses with the error; a resume finishes the task    |
//! | Permanent / Critical         | the thread pauses with the error; a resume finishes the task    |
//! | Abort                        | the task ends in Abort, the manager is told, local files go     |

mod support;

use std::time::Duration;

use plan_meta::rt::{Plan, PlanMeta};
use support::{happy_path, start};
use venus_runtime::failure::Level;
use venus_runtime::plans::{sealer, snapup};
use venus_runtime::testing::{Fault, FaultKind};

const MAX_RETRIES: u32 = 3; // as in support::config

/// Thread index of the plan under test: snapup needs a sealed sector, so a sealer thread runs first.
fn setup(plan: &str) -> (Vec<&'static str>, usize) {
    match plan {
        "sealer" => (vec!["sealer"], 0),
        _ => (vec!["sealer", "snapup"], 1),
    }
}

fn states(meta: &PlanMeta) -> Vec<&'static str> {
    meta.states
        .iter()
        .filter(|s| !s.terminal)
        .map(|s| s.name)
        .collect()
}

async fn scenario(plan: &str, meta: &PlanMeta, state: &str, level: Level, times: u32) {
    let (plans, idx) = setup(plan);
    let fault = Fault {
        plan: plan.into(),
        state: state.into(),
        kind: FaultKind::Fail(level),
        times,
    };
    let h = start(&plans, vec![fault], 1, "");
    let case = format!("{plan}/{state} {level} x{times}");

    let pauses = match level {
        Level::Temporary if times <= MAX_RETRIES => false,
        Level::Abort => false,
        _ => true,
    };
    if pauses {
        let err = h.wait_paused(idx).await.unwrap_or_default();
        let want = if level == Level::Temporary {
            "Permanent"
        } else {
            &level.to_string()
        };
        assert!(
            err.starts_with(want) && err.contains("injected"),
            "{case}: last error {err:?}"
        );
        if level == Level::Temporary {
            assert!(
                err.contains(&format!("after {MAX_RETRIES} retries")),
                "{case}: {err}"
            );
        }
        // Paused at the failing state, with every finished step kept.
        assert_eq!(h.persisted_state(idx).as_deref(), Some(state), "{case}");
        assert!(
            h.worker.resume(idx, None, false).unwrap(),
            "{case}: resume not delivered"
        );
    }
    let h = h.wait_done().await;
    assert_eq!(
        h.faults.hits().len() as u32,
        if level == Level::Temporary && times > MAX_RETRIES {
            MAX_RETRIES + 1
        } else {
            times
        },
        "{case}: fault hits"
    );

    let got = h.transitions(idx);
    if level == Level::Abort {
        assert_eq!(h.outcomes(idx), vec!["Abort"], "{case}");
        let last = got.last().unwrap();
        assert_eq!(
            (last.0.as_str(), last.1.as_str(), last.2.as_str()),
            (state, "Abort", "Abort"),
            "{case}"
        );
        // Everything before the failing state happened as planned.
        let path = happy_path(meta);
        let n = path.iter().position(|t| t.0 == state).unwrap();
        assert_eq!(&got[..got.len() - 1], &path[..n], "{case}");
        // Local files are gone; the manager knows (unless the sector was never allocated).
        let data = h.location(idx).join("data");
        let leftovers: Vec<_> = ["unsealed", "sealed", "cache", "update", "update-cache"]
            .iter()
            .filter_map(|d| std::fs::read_dir(data.join(d)).ok())
            .flat_map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{case}: local files left: {leftovers:?}"
        );
        if state != "Empty" {
            let m = h.worker.local_manager.as_ref().unwrap();
            let sectors = m.list_sectors().await.unwrap();
            let s = &sectors[0];
            match plan {
                "sealer" => assert_eq!(s.state, "Aborted", "{case}: {s:?}"),
                // A failed upgrade leaves the sealed sector as it was, to be offered again.
                _ => assert_eq!(
                    (s.state.as_str(), s.upgrade.as_deref()),
                    ("Finalized", None),
                    "{case}: {s:?}"
                ),
            }
        }
    } else {
        assert_eq!(h.outcomes(idx), vec!["Finished"], "{case}");
        assert_eq!(got, happy_path(meta), "{case}: transitions");
        let m = h.worker.local_manager.as_ref().unwrap();
        let s = &m.list_sectors().await.unwrap()[0];
        match plan {
            "sealer" => assert!(s.proof_verified, "{case}: {s:?}"),
            _ => assert_eq!(s.upgrade.as_deref(), Some("Upgraded"), "{case}: {s:?}"),
        }
    }
}

async fn table(plan: &str, meta: &PlanMeta, level: Level, times: u32) {
    for state in states(meta) {
        scenario(plan, meta, state, level, times).await;
    }
}

macro_rules! level_tests {
    ($($name:ident: $plan:literal, $meta:expr, $level:expr, $times:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            table($plan, $meta, $level, $times).await;
        }
    )*};
}

level_tests! {
    sealer_temporary_within_budget_recovers: "sealer", sealer::Plan::meta(), Level::Temporary, 2;
    sealer_temporary_beyond_budget_pauses: "sealer", sealer::Plan::meta(), Level::Temporary, MAX_RETRIES + 1;
    sealer_permanent_pauses: "sealer", sealer::Plan::meta(), Level::Permanent, 1;
    sealer_critical_pauses: "sealer", sealer::Plan::meta(), Level::Critical, 1;
    sealer_abort_ends_task: "sealer", sealer::Plan::meta(), Level::Abort, 1;
    snapup_temporary_within_budget_recovers: "snapup", snapup::Plan::meta(), Level::Temporary, 2;
    snapup_temporary_beyond_budget_pauses: "snapup", snapup::Plan::meta(), Level::Temporary, MAX_RETRIES + 1;
    snapup_permanent_pauses: "snapup", snapup::Plan::meta(), Level::Permanent, 1;
    snapup_critical_pauses: "snapup", snapup::Plan::meta(), Level::Critical, 1;
    snapup_abort_ends_task: "snapup", snapup::Plan::meta(), Level::Abort, 1;
}

/// A pause requested while a long step runs takes effect after it: the step's event is applied
/// and persisted first, so the step is not run again on resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_right_after_a_long_step_keeps_its_result() {
    let slow = Fault {
        plan: "sealer".into(),
        state: "C1Done".into(),
        kind: FaultKind::Delay(Duration::from_millis(600)),
        times: 1,
    };
    let h = start(&["sealer"], vec![slow], 1, "");
    // Wait until C2 (the step of C1Done) has started, then ask for a pause.
    while h.faults.starts("sealer", "C1Done") == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(h.worker.pause(0).unwrap());
    assert_eq!(
        h.wait_paused(0).await,
        None,
        "a requested pause carries no error"
    );
    // The finished C2 is on disk: the task is paused at C2Done, not C1Done.
    assert_eq!(h.persisted_state(0).as_deref(), Some("C2Done"));
    assert!(h.worker.resume(0, None, false).unwrap());
    let h = h.wait_done().await;
    assert_eq!(
        h.faults.starts("sealer", "C1Done"),
        1,
        "C2 ran again after the pause"
    );
    assert_eq!(h.transitions(0), happy_path(sealer::Plan::meta()));
}

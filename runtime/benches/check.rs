//! Benchmark 2 of docs/benchmarks.md: the transition checker that `plan!` generates from a plan
//! file, against a hand-written `match` over the same table.
//!
//! One iteration checks every transition of the plan's table once (sealer: 18, snapup: 8), so
//! ns per transition = time per iteration / table size (the `worker` bench prints it that way).
//! The checkers are timed back to back within every sample (see `compare`), so that a change in
//! the machine's load during the run affects them alike.
//! Both checkers have the engine's signature (`Result<State, TransitionError>`, the error built
//! in a cold function); a third, `Option<State>`-returning match shows the cheapest check there
//! is. Before measuring, the bench checks that the hand-written tables agree with the generated
//! checker on every (state, event) pair, allowed or not.
//!
//! Run alone: `cargo bench -p venus-runtime --bench check` (`-- --quick` for a short run).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use plan_meta::rt::{Plan, TransitionError};
use serde_json::json;
use venus_runtime::plans::{sealer, snapup};
use venus_runtime::proofs::{C1Out, PC1Out, PC2Out, SnapEncodeOut};
use venus_runtime::types::*;

fn sector() -> AllocatedSector {
    AllocatedSector {
        id: SectorId {
            miner: 1000,
            number: 1,
        },
        proof_type: SEAL_PROOF_2KIB_V1_1,
    }
}

/// One event of every kind of the sealer plan.
fn sealer_events() -> Vec<sealer::Event> {
    use sealer::Event as E;
    let ticket = Ticket {
        ticket: [1; 32],
        epoch: 1,
    };
    vec![
        E::Allocate(sector()),
        E::AcquireDeals(None),
        E::AddPiece(vec![]),
        E::BuildTreeD,
        E::AssignTicket(ticket.clone()),
        E::PC1(ticket, PC1Out(json!(null))),
        E::PC2(PC2Out {
            comm_r: [2; 32],
            comm_d: [3; 32],
        }),
        E::SubmitPC,
        E::ReSubmitPC,
        E::CheckPC,
        E::Persist("store".into()),
        E::SubmitPersistance,
        E::AssignSeed(Seed {
            seed: [4; 32],
            epoch: 2,
        }),
        E::C1(C1Out(json!(null))),
        E::C2(sealer::Proof(vec![5; 192])),
        E::SubmitProof,
        E::ReSubmitProof,
        E::Finish,
    ]
}

/// One event of every kind of the snapup plan.
fn snapup_events() -> Vec<snapup::Event> {
    use snapup::Event as E;
    vec![
        E::AllocatedSnapUpSector(
            sector(),
            vec![],
            snapup::Finalized {
                public: SectorPublicInfo { comm_r: [6; 32] },
                private: SectorPrivateInfo {
                    access_instance: "store".into(),
                },
            },
        ),
        E::AddPiece(vec![]),
        E::BuildTreeD,
        E::SnapEncode(SnapEncodeOut {
            comm_r_new: [7; 32],
            comm_r_last_new: [8; 32],
            comm_d_new: [9; 32],
        }),
        E::SnapProve(sealer::Proof(vec![10; 192])),
        E::Persist("store".into()),
        E::RePersist,
        E::Finish,
    ]
}

#[cold]
#[inline(never)]
fn error(plan: &'static str, state: &'static str, event: &'static str) -> TransitionError {
    TransitionError {
        plan,
        state,
        event,
        allowed: vec![],
    }
}

/// sealer.plan, written out by hand.
#[inline]
fn sealer_hand(
    state: sealer::State,
    event: &sealer::Event,
) -> Result<sealer::State, TransitionError> {
    use sealer::Event as E;
    use sealer::State as S;
    Ok(match (state, event) {
        (S::Empty, E::Allocate(..)) => S::Allocated,
        (S::Allocated, E::AcquireDeals(..)) => S::DealsAcquired,
        (S::DealsAcquired, E::AddPiece(..)) => S::PieceAdded,
        (S::PieceAdded, E::BuildTreeD) => S::TreeDBuilt,
        (S::TreeDBuilt, E::AssignTicket(..)) => S::TicketAssigned,
        (S::TicketAssigned, E::PC1(..)) => S::PC1Done,
        (S::PC1Done, E::PC2(..)) => S::PC2Done,
        (S::PC2Done, E::SubmitPC) => S::PCSubmitted,
        (S::PCSubmitted, E::ReSubmitPC) => S::PC2Done,
        (S::PCSubmitted, E::CheckPC) => S::PCLanded,
        (S::PCLanded, E::Persist(..)) => S::Persisted,
        (S::Persisted, E::SubmitPersistance) => S::PersistanceSubmitted,
        (S::PersistanceSubmitted, E::AssignSeed(..)) => S::SeedAssigned,
        (S::SeedAssigned, E::C1(..)) => S::C1Done,
        (S::C1Done, E::C2(..)) => S::C2Done,
        (S::C2Done, E::SubmitProof) => S::ProofSubmitted,
        (S::ProofSubmitted, E::ReSubmitProof) => S::C2Done,
        (S::ProofSubmitted, E::Finish) => S::Finished,
        _ => return Err(error("sealer", state.name(), event.name())),
    })
}

/// The same table returning `Option`: the least a checker can do.
#[inline]
fn sealer_hand_option(state: sealer::State, event: &sealer::Event) -> Option<sealer::State> {
    use sealer::Event as E;
    use sealer::State as S;
    Some(match (state, event) {
        (S::Empty, E::Allocate(..)) => S::Allocated,
        (S::Allocated, E::AcquireDeals(..)) => S::DealsAcquired,
        (S::DealsAcquired, E::AddPiece(..)) => S::PieceAdded,
        (S::PieceAdded, E::BuildTreeD) => S::TreeDBuilt,
        (S::TreeDBuilt, E::AssignTicket(..)) => S::TicketAssigned,
        (S::TicketAssigned, E::PC1(..)) => S::PC1Done,
        (S::PC1Done, E::PC2(..)) => S::PC2Done,
        (S::PC2Done, E::SubmitPC) => S::PCSubmitted,
        (S::PCSubmitted, E::ReSubmitPC) => S::PC2Done,
        (S::PCSubmitted, E::CheckPC) => S::PCLanded,
        (S::PCLanded, E::Persist(..)) => S::Persisted,
        (S::Persisted, E::SubmitPersistance) => S::PersistanceSubmitted,
        (S::PersistanceSubmitted, E::AssignSeed(..)) => S::SeedAssigned,
        (S::SeedAssigned, E::C1(..)) => S::C1Done,
        (S::C1Done, E::C2(..)) => S::C2Done,
        (S::C2Done, E::SubmitProof) => S::ProofSubmitted,
        (S::ProofSubmitted, E::ReSubmitProof) => S::C2Done,
        (S::ProofSubmitted, E::Finish) => S::Finished,
        _ => return None,
    })
}

/// snapup.plan, written out by hand.
#[inline]
fn snapup_hand(
    state: snapup::State,
    event: &snapup::Event,
) -> Result<snapup::State, TransitionError> {
    use snapup::Event as E;
    use snapup::State as S;
    Ok(match (state, event) {
        (S::Empty, E::AllocatedSnapUpSector(..)) => S::Allocated,
        (S::Allocated, E::AddPiece(..)) => S::PieceAdded,
        (S::PieceAdded, E::BuildTreeD) => S::TreeDBuilt,
        (S::TreeDBuilt, E::SnapEncode(..)) => S::SnapEncoded,
        (S::SnapEncoded, E::SnapProve(..)) => S::SnapProved,
        (S::SnapProved, E::Persist(..)) => S::Persisted,
        (S::Persisted, E::RePersist) => S::SnapProved,
        (S::Persisted, E::Finish) => S::Finished,
        _ => return Err(error("snapup", state.name(), event.name())),
    })
}

#[inline]
fn snapup_hand_option(state: snapup::State, event: &snapup::Event) -> Option<snapup::State> {
    use snapup::Event as E;
    use snapup::State as S;
    Some(match (state, event) {
        (S::Empty, E::AllocatedSnapUpSector(..)) => S::Allocated,
        (S::Allocated, E::AddPiece(..)) => S::PieceAdded,
        (S::PieceAdded, E::BuildTreeD) => S::TreeDBuilt,
        (S::TreeDBuilt, E::SnapEncode(..)) => S::SnapEncoded,
        (S::SnapEncoded, E::SnapProve(..)) => S::SnapProved,
        (S::SnapProved, E::Persist(..)) => S::Persisted,
        (S::Persisted, E::RePersist) => S::SnapProved,
        (S::Persisted, E::Finish) => S::Finished,
        _ => return None,
    })
}

/// Every allowed transition of the plan's table, as (state, event) cases, in plan order.
fn table<P: Plan>(events: &[P::Event]) -> Vec<(P::State, &P::Event)>
where
    P::State: std::str::FromStr,
{
    let mut cases = Vec::new();
    for s in P::meta().states.iter().filter(|s| !s.terminal) {
        let state: P::State = s.name.parse().ok().expect("state of the plan");
        for t in s.transitions {
            let ev = events
                .iter()
                .find(|e| plan_meta::rt::PlanEvent::name(*e) == t.event)
                .expect("an event of every kind");
            cases.push((state, ev));
        }
    }
    cases
}

/// Number of transitions in a plan's table (the `worker` bench divides by the same number).
pub fn table_size<P: Plan>() -> usize {
    P::meta().states.iter().map(|s| s.transitions.len()).sum()
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

/// `iters` sweeps over the table with checker `f`.
fn sweep<S: Copy, E, R>(cases: &[(S, &E)], f: impl Fn(S, &E) -> R, iters: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        for (s, e) in cases {
            black_box(f(black_box(*s), black_box(*e)));
        }
    }
    t.elapsed()
}

const CHECKERS: [&str; 3] = ["generated", "hand-written", "hand-written-option"];

/// Benchmark every checker of `runs` (in `CHECKERS` order) so that they are compared under the
/// same conditions on a shared machine: each criterion sample of any of them times all of them
/// back to back, in an order that rotates with each sample, and reports its own time.
fn compare(c: &mut Criterion, group: &str, n: usize, runs: &[&dyn Fn(u64) -> Duration; 3]) {
    let mut g = c.benchmark_group(group);
    g.throughput(criterion::Throughput::Elements(n as u64));
    for (i, name) in CHECKERS.iter().enumerate() {
        let mut sample = 0usize;
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                sample += 1;
                let mut mine = Duration::ZERO;
                for j in 0..runs.len() {
                    let k = (j + sample) % runs.len();
                    let d = runs[k](iters);
                    if k == i {
                        mine = d;
                    }
                }
                mine
            })
        });
    }
    g.finish();
}

fn bench_sealer(c: &mut Criterion) {
    let events = sealer_events();
    // The hand-written table is the plan's table: same answer for every state and event.
    for &s in sealer::State::ALL {
        for e in &events {
            assert_eq!(
                sealer::Plan::next(s, e).ok(),
                sealer_hand(s, e).ok(),
                "sealer: {s} + {}",
                e.name()
            );
            assert_eq!(sealer::Plan::next(s, e).ok(), sealer_hand_option(s, e));
        }
    }
    let cases = table::<sealer::Plan>(&events);
    assert_eq!(cases.len(), table_size::<sealer::Plan>());
    compare(
        c,
        "check/sealer",
        cases.len(),
        &[
            &|n| sweep(&cases, |s, e| sealer::Plan::next(s, e), n),
            &|n| sweep(&cases, sealer_hand, n),
            &|n| sweep(&cases, sealer_hand_option, n),
        ],
    );
}

fn bench_snapup(c: &mut Criterion) {
    let events = snapup_events();
    for &s in snapup::State::ALL {
        for e in &events {
            assert_eq!(
                snapup::Plan::next(s, e).ok(),
                snapup_hand(s, e).ok(),
                "snapup: {s} + {}",
                e.name()
            );
            assert_eq!(snapup::Plan::next(s, e).ok(), snapup_hand_option(s, e));
        }
    }
    let cases = table::<snapup::Plan>(&events);
    assert_eq!(cases.len(), table_size::<snapup::Plan>());
    compare(
        c,
        "check/snapup",
        cases.len(),
        &[
            &|n| sweep(&cases, |s, e| snapup::Plan::next(s, e), n),
            &|n| sweep(&cases, snapup_hand, n),
            &|n| sweep(&cases, snapup_hand_option, n),
        ],
    );
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_sealer, bench_snapup
}
criterion_main!(benches);

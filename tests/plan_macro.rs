//! The `plan!` macro on the two real plan files, with dummy payload types: the generated API
//! accepts exactly the transitions of the task status flow document, names states and events
//! as the plan does, and exposes the plan's metadata.

use plan_meta::rt::{Plan as _, PlanState as _, TransitionError, UnknownState};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

pub mod sealer {
    #[derive(Debug, PartialEq)]
    pub struct AllocatedSector(pub u64);
    pub struct Deals;
    pub struct Ticket;
    pub struct PC1Out;
    pub struct PC2Out;
    pub struct Seed;
    pub struct C1Out;
    pub struct C2Out;

    plan_macros::plan! {
        file: "../plans/sealer.plan",
        payloads: {
            Allocate(AllocatedSector),
            AcquireDeals(Option<Deals>),
            AddPiece(Vec<u64>),
            AssignTicket(Ticket),
            PC1(Ticket, PC1Out),
            PC2(PC2Out),
            Persist(String),
            AssignSeed(Seed),
            C1(C1Out),
            C2(C2Out),
        }
    }
}

pub mod snapup {
    pub struct Sector;
    pub struct Deals;
    pub struct Keys;

    plan_macros::plan! {
        file: "../plans/snapup.plan",
        payloads: {
            AllocatedSnapUpSector(Sector, Deals, Keys),
            AddPiece(Vec<u64>),
            SnapEncode(Keys),
            SnapProve(Vec<u8>),
            Persist(String),
        },
    }
}

/// (from, event, to): the transitions of the task status flow document.
const SEALER_FLOW: &[(&str, &str, &str)] = &[
    ("Empty", "Allocate", "Allocated"),
    ("Allocated", "AcquireDeals", "DealsAcquired"),
    ("DealsAcquired", "AddPiece", "PieceAdded"),
    ("PieceAdded", "BuildTreeD", "TreeDBuilt"),
    ("TreeDBuilt", "AssignTicket", "TicketAssigned"),
    ("TicketAssigned", "PC1", "PC1Done"),
    ("PC1Done", "PC2", "PC2Done"),
    ("PC2Done", "SubmitPC", "PCSubmitted"),
    ("PCSubmitted", "ReSubmitPC", "PC2Done"),
    ("PCSubmitted", "CheckPC", "PCLanded"),
    ("PCLanded", "Persist", "Persisted"),
    ("Persisted", "SubmitPersistance", "PersistanceSubmitted"),
    ("PersistanceSubmitted", "AssignSeed", "SeedAssigned"),
    ("SeedAssigned", "C1", "C1Done"),
    ("C1Done", "C2", "C2Done"),
    ("C2Done", "SubmitProof", "ProofSubmitted"),
    ("ProofSubmitted", "ReSubmitProof", "C2Done"),
    ("ProofSubmitted", "Finish", "Finished"),
];

const SNAPUP_FLOW: &[(&str, &str, &str)] = &[
    ("Empty", "AllocatedSnapUpSector", "Allocated"),
    ("Allocated", "AddPiece", "PieceAdded"),
    ("PieceAdded", "BuildTreeD", "TreeDBuilt"),
    ("TreeDBuilt", "SnapEncode", "SnapEncoded"),
    ("SnapEncoded", "SnapProve", "SnapProved"),
    ("SnapProved", "Persist", "Persisted"),
    ("Persisted", "RePersist", "SnapProved"),
    ("Persisted", "Finish", "Finished"),
];

/// An event of each kind, with dummy payloads. The match is exhaustive: a new event in the plan
/// fails to compile here until it gets a sample.
fn sealer_event(kind: sealer::EventKind) -> sealer::Event {
    use sealer::{Event as E, EventKind as K};
    match kind {
        K::Allocate => E::Allocate(sealer::AllocatedSector(7)),
        K::AcquireDeals => E::AcquireDeals(None),
        K::AddPiece => E::AddPiece(vec![1]),
        K::BuildTreeD => E::BuildTreeD,
        K::AssignTicket => E::AssignTicket(sealer::Ticket),
        K::PC1 => E::PC1(sealer::Ticket, sealer::PC1Out),
        K::PC2 => E::PC2(sealer::PC2Out),
        K::SubmitPC => E::SubmitPC,
        K::ReSubmitPC => E::ReSubmitPC,
        K::CheckPC => E::CheckPC,
        K::Persist => E::Persist("/store".into()),
        K::SubmitPersistance => E::SubmitPersistance,
        K::AssignSeed => E::AssignSeed(sealer::Seed),
        K::C1 => E::C1(sealer::C1Out),
        K::C2 => E::C2(sealer::C2Out),
        K::SubmitProof => E::SubmitProof,
        K::ReSubmitProof => E::ReSubmitProof,
        K::Finish => E::Finish,
    }
}

fn snapup_event(kind: snapup::EventKind) -> snapup::Event {
    use snapup::{Event as E, EventKind as K};
    match kind {
        K::AllocatedSnapUpSector => {
            E::AllocatedSnapUpSector(snapup::Sector, snapup::Deals, snapup::Keys)
        }
        K::AddPiece => E::AddPiece(vec![]),
        K::BuildTreeD => E::BuildTreeD,
        K::SnapEncode => E::SnapEncode(snapup::Keys),
        K::SnapProve => E::SnapProve(vec![]),
        K::Persist => E::Persist(String::new()),
        K::RePersist => E::RePersist,
        K::Finish => E::Finish,
    }
}

fn sealer_kind(name: &str) -> sealer::EventKind {
    *sealer::EventKind::ALL
        .iter()
        .find(|k| k.name() == name)
        .unwrap_or_else(|| panic!("no event {name}"))
}

fn snapup_kind(name: &str) -> snapup::EventKind {
    *snapup::EventKind::ALL
        .iter()
        .find(|k| k.name() == name)
        .unwrap_or_else(|| panic!("no event {name}"))
}

#[test]
fn every_transition_of_the_plans_is_accepted() {
    for &(from, event, to) in SEALER_FLOW {
        let from: sealer::State = from.parse().unwrap();
        let next = sealer::Plan::next(from, &sealer_event(sealer_kind(event)));
        assert_eq!(next, Ok(to.parse().unwrap()), "{from} --{event}-->");
    }
    for &(from, event, to) in SNAPUP_FLOW {
        let from: snapup::State = from.parse().unwrap();
        let next = snapup::Plan::next(from, &snapup_event(snapup_kind(event)));
        assert_eq!(next, Ok(to.parse().unwrap()), "{from} --{event}-->");
    }
}

#[test]
fn every_other_pair_is_refused_with_state_and_event() {
    let mut refused = 0;
    for &state in sealer::State::ALL {
        let allowed: Vec<&str> = SEALER_FLOW
            .iter()
            .filter(|t| t.0 == state.name())
            .map(|t| t.1)
            .collect();
        for &kind in sealer::EventKind::ALL {
            if allowed.contains(&kind.name()) {
                continue;
            }
            let err = sealer::Plan::next(state, &sealer_event(kind)).unwrap_err();
            assert_eq!(
                err,
                TransitionError {
                    plan: "sealer",
                    state: state.name(),
                    event: kind.name(),
                    allowed: allowed.clone()
                }
            );
            let message = err.to_string();
            assert!(
                message.contains(state.name()) && message.contains(kind.name()),
                "{message}"
            );
            refused += 1;
        }
    }
    // 16 blocks + Finished + Abort = 18 states, x 18 events, minus the 18 transitions.
    assert_eq!(sealer::State::ALL.len(), 18);
    assert_eq!(refused, 18 * 18 - 18);

    let err =
        sealer::Plan::next(sealer::State::TicketAssigned, &sealer::Event::Finish).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unexpected event Finish for state TicketAssigned in plan sealer (allowed: PC1)"
    );
    let err = snapup::Plan::next(snapup::State::Abort, &snapup::Event::Finish).unwrap_err();
    assert_eq!(err.to_string(), "unexpected event Finish for state Abort in plan snapup (Abort is terminal: no event is allowed)");
}

#[test]
fn states_display_and_parse_by_name() {
    let names: Vec<String> = sealer::State::ALL.iter().map(|s| s.to_string()).collect();
    let mut expected: Vec<&str> = Vec::new();
    for &(from, _, _) in SEALER_FLOW {
        if !expected.contains(&from) {
            expected.push(from);
        }
    }
    expected.extend(["Finished", "Abort"]);
    assert_eq!(names, expected);
    for &state in sealer::State::ALL {
        assert_eq!(state.to_string().parse::<sealer::State>(), Ok(state));
    }
    for &state in snapup::State::ALL {
        assert_eq!(state.to_string().parse::<snapup::State>(), Ok(state));
    }
    assert_eq!(sealer::State::TreeDBuilt.to_string(), "TreeDBuilt");
    assert_eq!(format!("[{:>8}]", sealer::State::C1Done), "[  C1Done]");

    let err: UnknownState = "treedbuilt".parse::<sealer::State>().unwrap_err();
    assert_eq!(err.plan, "sealer");
    assert_eq!(err.name, "treedbuilt");
    assert_eq!(err.valid.len(), 18);
    assert!(
        err.to_string().contains("valid states: Empty, Allocated,"),
        "{err}"
    );
}

#[test]
fn states_serialize_by_name() {
    assert_eq!(
        serde_json::to_string(&sealer::State::TreeDBuilt).unwrap(),
        "\"TreeDBuilt\""
    );
    for &state in sealer::State::ALL {
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, format!("\"{state}\""));
        assert_eq!(serde_json::from_str::<sealer::State>(&json).unwrap(), state);
    }
    let list: Vec<snapup::State> = serde_json::from_str("[\"Empty\", \"Abort\"]").unwrap();
    assert_eq!(list, [snapup::State::Empty, snapup::State::Abort]);
    let err = serde_json::from_str::<snapup::State>("\"PC1Done\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown state \"PC1Done\" in plan snapup"),
        "{err}"
    );
    let err = serde_json::from_str::<snapup::State>("3")
        .unwrap_err()
        .to_string();
    assert!(err.contains("a state name of the `snapup` plan"), "{err}");
}

#[test]
fn plan_state_constants() {
    assert_eq!(
        <sealer::State as plan_meta::rt::PlanState>::INITIAL,
        sealer::State::Empty
    );
    assert_eq!(sealer::State::FINISHED, sealer::State::Finished);
    assert_eq!(sealer::State::ABORT, sealer::State::Abort);
    assert_eq!(
        <sealer::State as plan_meta::rt::PlanState>::ALL,
        sealer::State::ALL
    );
    assert!(sealer::State::Abort.is_terminal() && sealer::State::Finished.is_terminal());
    assert!(!sealer::State::Empty.is_terminal());
    assert_eq!(sealer::Plan::NAME, "sealer");
    assert_eq!(snapup::Plan::NAME, "snapup");
    // Ordered as in the plan.
    assert!(
        sealer::State::Empty < sealer::State::PC1Done
            && sealer::State::Finished < sealer::State::Abort
    );
}

#[test]
fn events_kinds_and_names() {
    let event = sealer_event(sealer::EventKind::PC1);
    assert_eq!(event.kind(), sealer::EventKind::PC1);
    assert_eq!(plan_meta::rt::PlanEvent::name(&event), "PC1");
    assert_eq!(format!("{event:?}"), "PC1", "Debug prints the name only");
    assert_eq!(sealer::EventKind::PC1.to_string(), "PC1");
    assert_eq!(sealer::EventKind::PC1.arity(), 2);
    assert_eq!(snapup::EventKind::AllocatedSnapUpSector.arity(), 3);
    assert_eq!(sealer::EventKind::BuildTreeD.arity(), 0);
    let names: BTreeSet<&str> = sealer::EventKind::ALL.iter().map(|k| k.name()).collect();
    let expected: BTreeSet<&str> = SEALER_FLOW.iter().map(|t| t.1).collect();
    assert_eq!(names, expected);
    assert_eq!(
        sealer::State::PCSubmitted.allowed_events(),
        [sealer::EventKind::ReSubmitPC, sealer::EventKind::CheckPC]
    );
    assert!(sealer::State::Finished.allowed_events().is_empty());
}

#[test]
fn metadata_describes_the_plan_file() {
    let meta = sealer::Plan::meta();
    assert!(std::ptr::eq(meta, &sealer::META));
    assert_eq!(meta.name, "sealer");
    assert_eq!(meta.file, "plans/sealer.plan");
    assert!(meta.doc.starts_with(
        "The state flow of the sealer task.\n\nNotation of the task status flow document"
    ));
    let names: Vec<&str> = meta.state_names().collect();
    let all: Vec<&str> = sealer::State::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(names, all);

    let transitions: Vec<(&str, &str, &str)> = meta
        .states
        .iter()
        .flat_map(|s| {
            s.transitions
                .iter()
                .map(move |t| (s.name, t.event, t.target))
        })
        .collect();
    assert_eq!(transitions, SEALER_FLOW);

    let empty = meta.state("Empty").unwrap();
    assert_eq!(
        empty.doc,
        "Empty state, that is, the sector has not been allocated yet"
    );
    assert_eq!(empty.line, 10);
    assert!(!empty.terminal);
    let allocate = &empty.transitions[0];
    assert_eq!(
        (
            allocate.event,
            allocate.arity,
            allocate.target,
            allocate.line
        ),
        ("Allocate", 1, "Allocated", 12)
    );
    assert_eq!(allocate.doc, "apply for a new sector");
    let pc1 = &meta.state("TicketAssigned").unwrap().transitions[0];
    assert_eq!((pc1.event, pc1.arity, pc1.doc), ("PC1", 2, "execute pc1"));
    let landed = &meta.state("PCLanded").unwrap().transitions[0];
    assert_eq!(landed.doc, "Perform sector file persistence");

    for special in ["Finished", "Abort"] {
        let s = meta.state(special).unwrap();
        assert!(
            s.terminal && s.transitions.is_empty() && s.line == 0 && !s.doc.is_empty(),
            "{special}"
        );
    }
    assert!(meta
        .state("Abort")
        .unwrap()
        .doc
        .contains("Any state can lead here"));

    assert!(meta.can_reach("Empty", "Finished"));
    assert!(meta.can_reach("ProofSubmitted", "C2Done"));
    assert!(!meta.can_reach("PCLanded", "PC2Done"));

    let snap = snapup::Plan::meta();
    assert_eq!((snap.name, snap.file), ("snapup", "plans/snapup.plan"));
    assert_eq!(snap.states.len(), 9);
    let transitions: Vec<(&str, &str, &str)> = snap
        .states
        .iter()
        .flat_map(|s| {
            s.transitions
                .iter()
                .map(move |t| (s.name, t.event, t.target))
        })
        .collect();
    assert_eq!(transitions, SNAPUP_FLOW);
}

/// Polls a future whose steps never wait (the test handlers), without an async runtime.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Sealer handlers that resubmit the PreCommit once, then go straight to the end.
#[derive(Default)]
struct Sealer {
    resubmitted: bool,
}

impl sealer::Handlers for Sealer {
    type Error = String;

    async fn empty(&mut self) -> Result<sealer::outcome::Empty, String> {
        Ok(sealer::outcome::Empty::Allocate(sealer::AllocatedSector(1)))
    }
    async fn allocated(&mut self) -> Result<sealer::outcome::Allocated, String> {
        Ok(sealer::outcome::Allocated::AcquireDeals(None))
    }
    async fn deals_acquired(&mut self) -> Result<sealer::outcome::DealsAcquired, String> {
        Ok(sealer::outcome::DealsAcquired::AddPiece(vec![]))
    }
    async fn piece_added(&mut self) -> Result<sealer::outcome::PieceAdded, String> {
        Ok(sealer::outcome::PieceAdded::BuildTreeD)
    }
    async fn tree_d_built(&mut self) -> Result<sealer::outcome::TreeDBuilt, String> {
        Ok(sealer::outcome::TreeDBuilt::AssignTicket(sealer::Ticket))
    }
    async fn ticket_assigned(&mut self) -> Result<sealer::outcome::TicketAssigned, String> {
        Ok(sealer::outcome::TicketAssigned::PC1(
            sealer::Ticket,
            sealer::PC1Out,
        ))
    }
    async fn pc1_done(&mut self) -> Result<sealer::outcome::PC1Done, String> {
        Ok(sealer::outcome::PC1Done::PC2(sealer::PC2Out))
    }
    async fn pc2_done(&mut self) -> Result<sealer::outcome::PC2Done, String> {
        Ok(sealer::outcome::PC2Done::SubmitPC)
    }
    async fn pc_submitted(&mut self) -> Result<sealer::outcome::PCSubmitted, String> {
        if self.resubmitted {
            Ok(sealer::outcome::PCSubmitted::CheckPC)
        } else {
            self.resubmitted = true;
            Ok(sealer::outcome::PCSubmitted::ReSubmitPC)
        }
    }
    async fn pc_landed(&mut self) -> Result<sealer::outcome::PCLanded, String> {
        Ok(sealer::outcome::PCLanded::Persist("/store".into()))
    }
    async fn persisted(&mut self) -> Result<sealer::outcome::Persisted, String> {
        Ok(sealer::outcome::Persisted::SubmitPersistance)
    }
    async fn persistance_submitted(
        &mut self,
    ) -> Result<sealer::outcome::PersistanceSubmitted, String> {
        Ok(sealer::outcome::PersistanceSubmitted::AssignSeed(
            sealer::Seed,
        ))
    }
    async fn seed_assigned(&mut self) -> Result<sealer::outcome::SeedAssigned, String> {
        Ok(sealer::outcome::SeedAssigned::C1(sealer::C1Out))
    }
    async fn c1_done(&mut self) -> Result<sealer::outcome::C1Done, String> {
        Ok(sealer::outcome::C1Done::C2(sealer::C2Out))
    }
    async fn c2_done(&mut self) -> Result<sealer::outcome::C2Done, String> {
        Ok(sealer::outcome::C2Done::SubmitProof)
    }
    async fn proof_submitted(&mut self) -> Result<sealer::outcome::ProofSubmitted, String> {
        Err("chain unavailable".into())
    }
}

fn assert_send<T: Send>(_: &T) {}

/// `dispatch` is `Send` for any handlers, so the runtime can spawn it.
#[allow(dead_code)]
fn dispatch_is_send<H: sealer::Handlers>(handlers: &mut H) {
    assert_send(&sealer::dispatch(handlers, sealer::State::Empty));
}

#[test]
fn handlers_drive_the_plan_through_dispatch() {
    let mut handlers = Sealer::default();
    let mut state = sealer::State::Empty;
    let mut visited = vec![state];
    let error = loop {
        let future = sealer::dispatch(&mut handlers, state);
        assert_send(&future);
        match block_on(future) {
            Some(Ok(event)) => {
                state = sealer::Plan::next(state, &event).unwrap();
                visited.push(state);
            }
            Some(Err(e)) => break e,
            None => unreachable!("no terminal state is reached"),
        }
    };
    assert_eq!(error, "chain unavailable");
    let visited: Vec<&str> = visited.iter().map(|s| s.name()).collect();
    assert_eq!(
        visited,
        [
            "Empty",
            "Allocated",
            "DealsAcquired",
            "PieceAdded",
            "TreeDBuilt",
            "TicketAssigned",
            "PC1Done",
            "PC2Done",
            "PCSubmitted",
            "PC2Done",
            "PCSubmitted",
            "PCLanded",
            "Persisted",
            "PersistanceSubmitted",
            "SeedAssigned",
            "C1Done",
            "C2Done",
            "ProofSubmitted",
        ]
    );
    assert!(block_on(sealer::dispatch(&mut handlers, sealer::State::Finished)).is_none());
    assert!(block_on(sealer::dispatch(&mut handlers, sealer::State::Abort)).is_none());
}

#[test]
fn outcomes_convert_to_events_and_know_their_target() {
    let outcome = sealer::outcome::ProofSubmitted::ReSubmitProof;
    assert_eq!(outcome.target(), sealer::State::C2Done);
    assert_eq!(format!("{outcome:?}"), "ReSubmitProof");
    let event: sealer::Event = sealer::outcome::Empty::Allocate(sealer::AllocatedSector(9)).into();
    match event {
        sealer::Event::Allocate(sector) => assert_eq!(sector, sealer::AllocatedSector(9)),
        other => panic!("{other:?}"),
    }
    let event: snapup::Event =
        snapup::outcome::Empty::AllocatedSnapUpSector(snapup::Sector, snapup::Deals, snapup::Keys)
            .into();
    assert_eq!(event.kind(), snapup::EventKind::AllocatedSnapUpSector);
    // The target an outcome announces is the one the checker computes.
    for &(from, event, to) in SNAPUP_FLOW {
        let from: snapup::State = from.parse().unwrap();
        assert_eq!(
            snapup::Plan::next(from, &snapup_event(snapup_kind(event)))
                .unwrap()
                .name(),
            to
        );
    }
}

//! The two real plan files validate clean and say exactly what the user's task status flow
//! document says: same states in the same order, same events, payload counts, targets and
//! comments.

use plan_meta::model::Plan;
use plan_meta::{check_file, render};
use std::path::PathBuf;

/// (state, comment, [(event, payloads, target, comment)]) as in the task status flow document.
type Flow = &'static [(
    &'static str,
    &'static str,
    &'static [(&'static str, usize, &'static str, &'static str)],
)];

const SEALER: Flow = &[
    (
        "Empty",
        "Empty state, that is, the sector has not been allocated yet",
        &[("Allocate", 1, "Allocated", "apply for a new sector")],
    ),
    (
        "Allocated",
        "new sector is allocated",
        &[("AcquireDeals", 1, "DealsAcquired", "request an order")],
    ),
    (
        "DealsAcquired",
        "order has been applied",
        &[("AddPiece", 1, "PieceAdded", "fill piece data")],
    ),
    (
        "PieceAdded",
        "data is filled",
        &[("BuildTreeD", 0, "TreeDBuilt", "construct TreeD")],
    ),
    (
        "TreeDBuilt",
        "TreeD has been generated",
        &[(
            "AssignTicket",
            1,
            "TicketAssigned",
            "Request on-chain random number required by pc1",
        )],
    ),
    (
        "TicketAssigned",
        "The on-chain random number required by pc1 has been obtained",
        &[("PC1", 2, "PC1Done", "execute pc1")],
    ),
    (
        "PC1Done",
        "pc1 is done",
        &[("PC2", 1, "PC2Done", "execute pc2")],
    ),
    (
        "PC2Done",
        "pc2 is done",
        &[(
            "SubmitPC",
            0,
            "PCSubmitted",
            "Submit PreCommit on-chain information",
        )],
    ),
    (
        "PCSubmitted",
        "PreCommit on-chain information has been submitted",
        &[
            (
                "ReSubmitPC",
                0,
                "PC2Done",
                "Failed to upload, need to resubmit",
            ),
            ("CheckPC", 0, "PCLanded", "Successfully uploaded"),
        ],
    ),
    (
        "PCLanded",
        "PreCommit information has been uploaded",
        &[("Persist", 1, "Persisted", "Perform sector file persistence")],
    ),
    (
        "Persisted",
        "sector file is persisted",
        &[(
            "SubmitPersistance",
            0,
            "PersistanceSubmitted",
            "Check by persistent file",
        )],
    ),
    (
        "PersistanceSubmitted",
        "Persistence file is confirmed",
        &[(
            "AssignSeed",
            1,
            "SeedAssigned",
            "Request on-chain random number required for c1",
        )],
    ),
    (
        "SeedAssigned",
        "The on-chain random number required by c1 has been obtained",
        &[("C1", 1, "C1Done", "execute c1")],
    ),
    ("C1Done", "c1 is done", &[("C2", 1, "C2Done", "execute c2")]),
    (
        "C2Done",
        "c2 is done",
        &[(
            "SubmitProof",
            0,
            "ProofSubmitted",
            "Submit CommitProof information",
        )],
    ),
    (
        "ProofSubmitted",
        "CommitProof information has been submitted",
        &[
            (
                "ReSubmitProof",
                0,
                "C2Done",
                "Failed to upload, need to resubmit",
            ),
            (
                "Finish",
                0,
                "Finished",
                "Successful on-chain or skip on-chain check",
            ),
        ],
    ),
];

const SNAPUP: Flow = &[
    (
        "Empty",
        "Empty state, that is, the sector has not been allocated yet",
        &[(
            "AllocatedSnapUpSector",
            3,
            "Allocated",
            "Allocate sectors and orders for upgrade",
        )],
    ),
    (
        "Allocated",
        "Upgrade sectors and orders are allocated",
        &[("AddPiece", 1, "PieceAdded", "fill piece data")],
    ),
    (
        "PieceAdded",
        "data is filled",
        &[("BuildTreeD", 0, "TreeDBuilt", "construct TreeD")],
    ),
    (
        "TreeDBuilt",
        "TreeD has been generated",
        &[("SnapEncode", 1, "SnapEncoded", "perform Snap encoding")],
    ),
    (
        "SnapEncoded",
        "Snap encoding is done",
        &[("SnapProve", 1, "SnapProved", "Execute Snap proof")],
    ),
    (
        "SnapProved",
        "Snap proof has been generated",
        &[("Persist", 1, "Persisted", "Perform sector file persistence")],
    ),
    (
        "Persisted",
        "sector file is persisted",
        &[
            ("RePersist", 0, "SnapProved", "file fails check"),
            ("Finish", 0, "Finished", "file passed the check"),
        ],
    ),
];

fn plan_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../plans")
        .join(format!("{name}.plan"))
}

fn load(name: &str) -> Plan {
    check_file(&plan_path(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_flow(plan: &Plan, flow: Flow) {
    let names: Vec<&str> = plan.states.iter().map(|s| s.name.name.as_str()).collect();
    let expected: Vec<&str> = flow.iter().map(|s| s.0).collect();
    assert_eq!(names, expected);
    for (state, (name, doc, transitions)) in plan.states.iter().zip(flow) {
        assert_eq!(state.doc.text(), *doc, "comment of {name}");
        let found: Vec<(&str, usize, &str, String)> = state
            .transitions
            .iter()
            .map(|t| {
                (
                    t.event.name.as_str(),
                    t.arity,
                    t.target.name.as_str(),
                    t.doc.text(),
                )
            })
            .collect();
        let expected: Vec<(&str, usize, &str, String)> = transitions
            .iter()
            .map(|&(e, a, t, d)| (e, a, t, d.to_string()))
            .collect();
        assert_eq!(found, expected, "transitions of {name}");
    }
}

#[test]
fn sealer_is_the_documented_flow() {
    let plan = load("sealer");
    assert_flow(&plan, SEALER);
    assert!(plan
        .doc
        .text()
        .starts_with("The state flow of the sealer task."));
    assert_eq!(plan.events().len(), 18);
}

#[test]
fn snapup_is_the_documented_flow() {
    let plan = load("snapup");
    assert_flow(&plan, SNAPUP);
    assert!(plan
        .doc
        .text()
        .starts_with("Upgrade (snapup) task status flow."));
    assert_eq!(plan.events().len(), 8);
}

#[test]
fn the_text_rendering_reproduces_the_files() {
    for name in ["sealer", "snapup"] {
        let src = std::fs::read_to_string(plan_path(name))
            .unwrap()
            .replace("\r\n", "\n");
        assert_eq!(render::text(&load(name)), src, "{name}");
    }
}

#[test]
fn mermaid_has_every_transition() {
    let plan = load("sealer");
    let diagram = render::mermaid(&plan);
    assert!(diagram.starts_with("stateDiagram-v2\n    [*] --> Empty\n"));
    for (state, _, transitions) in SEALER {
        for (event, _, target, _) in *transitions {
            assert!(
                diagram.contains(&format!("    {state} --> {target}: {event}\n")),
                "{state} {event}"
            );
        }
    }
    assert!(diagram.contains("    Finished --> [*]\n"));
    assert!(!diagram.contains("Abort -->"));
}

#[test]
fn dot_has_every_transition_and_escapes_text() {
    let plan = load("snapup");
    let graph = render::dot(&plan);
    assert!(graph.starts_with("digraph plan {\n"));
    assert!(graph.ends_with("}\n"));
    assert!(graph.contains(
        "    \"Empty\" -> \"Allocated\" [label=\"AllocatedSnapUpSector(_, _, _)\", tooltip=\"Allocate sectors and orders for upgrade\"];"
    ));
    assert!(graph.contains("    \"Persisted\" -> \"SnapProved\" [label=\"RePersist\""));
    let tricky = plan_meta::parse_and_validate("// \"quoted\" \\ back\nState::Empty => {\n    Event::Finish => State::Abort,\n    Event::Done => State::Finished,\n},\n").unwrap();
    let graph = render::dot(&tricky);
    assert!(
        graph.contains("tooltip=\"\\\"quoted\\\" \\\\ back\""),
        "{graph}"
    );
    assert!(
        graph.contains("\"Abort\" [shape=doublecircle, style=dashed"),
        "{graph}"
    );
}

#[test]
fn the_flow_document_has_both_plans() {
    let md = render::task_status_flow_md(&[("sealer", load("sealer")), ("snapup", load("snapup"))]);
    assert!(md.starts_with("# Task status flow\n"));
    assert!(md.contains(plan_meta::REGENERATE_DOCS));
    assert!(md.contains("## Special states"));
    assert!(md.contains("## The state flow of the sealer task\n"));
    assert!(md.contains("## Upgrade (snapup) task status flow\n"));
    assert_eq!(md.matches("```mermaid\nstateDiagram-v2\n").count(), 2);
    assert!(md.contains("State::TicketAssigned => {\n    // execute pc1\n    Event::PC1(_, _) => State::PC1Done,\n},\n"));
}

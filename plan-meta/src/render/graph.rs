//! State diagrams: Mermaid (rendered by GitHub and most Markdown viewers) and Graphviz DOT.
//!
//! `Abort` is drawn only when the plan names it as a target: it is reachable from every state,
//! and an edge from each state would bury the flow.

use crate::model::{Plan, ABORT, ABORT_DOC, FINISHED, FINISHED_DOC, INITIAL};
use std::fmt::Write as _;

/// A Mermaid `stateDiagram-v2` of the plan (without the surrounding code fence).
pub fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    let _ = writeln!(out, "    [*] --> {INITIAL}");
    for state in &plan.states {
        for t in &state.transitions {
            let _ = writeln!(
                out,
                "    {} --> {}: {}",
                state.name.name, t.target.name, t.event.name
            );
        }
    }
    let _ = writeln!(out, "    {FINISHED} --> [*]");
    if targets_abort(plan) {
        let _ = writeln!(out, "    {ABORT} --> [*]");
    } else {
        let _ = writeln!(
            out,
            "    %% {ABORT} is reachable from every state; it is not drawn."
        );
    }
    out
}

/// A Graphviz digraph of the plan; comments become tooltips.
pub fn dot(plan: &Plan) -> String {
    let mut out = String::from("digraph plan {\n");
    out.push_str("    node [shape=box, style=rounded];\n");
    out.push_str("    \"__start\" [shape=point, label=\"\"];\n");
    let _ = writeln!(out, "    \"__start\" -> {};", quote(INITIAL));
    for state in &plan.states {
        let _ = writeln!(
            out,
            "    {} [tooltip={}];",
            quote(&state.name.name),
            quote(&state.doc.text())
        );
    }
    let _ = writeln!(
        out,
        "    {} [shape=doublecircle, tooltip={}];",
        quote(FINISHED),
        quote(FINISHED_DOC)
    );
    if targets_abort(plan) {
        let _ = writeln!(
            out,
            "    {} [shape=doublecircle, style=dashed, tooltip={}];",
            quote(ABORT),
            quote(ABORT_DOC)
        );
    }
    for state in &plan.states {
        for t in &state.transitions {
            let _ = writeln!(
                out,
                "    {} -> {} [label={}, tooltip={}];",
                quote(&state.name.name),
                quote(&t.target.name),
                quote(&format!("{}{}", t.event.name, t.placeholders())),
                quote(&t.doc.text())
            );
        }
    }
    out.push_str("}\n");
    out
}

fn targets_abort(plan: &Plan) -> bool {
    plan.states
        .iter()
        .flat_map(|s| &s.transitions)
        .any(|t| t.target.name == ABORT)
}

/// A DOT string literal.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

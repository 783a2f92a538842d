//! The plan notation, with its comments.

use crate::model::{Doc, Plan};
use std::fmt::Write as _;

/// The plan in the notation of the task status flow document, comments included: for a
/// file in the canonical layout (4-space indent, a comma after every item, one blank line between
/// blocks) this is the file itself. Comments that document nothing are not part of the model
/// and are not rendered.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    if !plan.doc.is_empty() {
        comment(&mut out, &plan.doc, "");
        out.push('\n');
    }
    out.push_str(&blocks(plan));
    out
}

/// The state blocks alone, without the file doc.
pub(crate) fn blocks(plan: &Plan) -> String {
    let mut out = String::new();
    for (i, state) in plan.states.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        comment(&mut out, &state.doc, "");
        let _ = writeln!(out, "State::{} => {{", state.name.name);
        for t in &state.transitions {
            comment(&mut out, &t.doc, "    ");
            let _ = writeln!(
                out,
                "    Event::{}{} => State::{},",
                t.event.name,
                t.placeholders(),
                t.target.name
            );
        }
        out.push_str("},\n");
    }
    out
}

fn comment(out: &mut String, doc: &Doc, indent: &str) {
    for line in &doc.lines {
        let _ = writeln!(out, "{indent}//{line}");
    }
}

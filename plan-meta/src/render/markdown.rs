//! `docs/task-status-flow.md`, generated from the plan files.

use super::{graph, text};
use crate::files::{PLANS_DIR, REGENERATE_DOCS};
use crate::model::Plan;
use std::fmt::Write as _;

/// The task status flow document for `plans` (plan name, i.e. file stem, and plan), in the
/// order given: what users read to follow a task and to pick a state to resume it at.
pub fn task_status_flow_md<S: AsRef<str>>(plans: &[(S, Plan)]) -> String {
    let mut out = String::new();
    out.push_str("# Task status flow\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from {PLANS_DIR}/*.plan: do not edit. Regenerate with `{REGENERATE_DOCS}`. -->\n"
    );
    let _ = writeln!(
        out,
        "> This document is generated from the plan files in `{PLANS_DIR}/`, the files the worker's \
         task flows are compiled from, so it describes exactly what the worker does. Do not edit it \
         by hand: change the plan, then regenerate it with\n>\n> ```sh\n> {REGENERATE_DOCS}\n> ```\n"
    );
    out.push_str(INTRO);
    out.push_str(SPECIAL_STATES);
    for (name, plan) in plans {
        out.push_str(&plan_section(name.as_ref(), plan));
    }
    out
}

const INTRO: &str = "\
Following the states of a task shows what a venus-worker sealing thread is doing, and which state \
a suspended sector task can be resumed at. Each kind of task (the `plan` of a sealing thread) has \
its own flow, described in its own section below.

## Reading a flow

Names prefixed with `State::` are states; names prefixed with `Event::` are events, the steps that \
move a task on. A block

```text
State::A => {
    Event::B => State::C,
    Event::D => State::E,
},
```

reads: while the task is in state `A`, event `B` moves it to state `C` and event `D` moves it to \
state `E`. A state has one or more such transitions. `(_)` after an event stands for a value the \
step produces (the allocated sector, the ticket, ...), `(_, _)` for two. The `//` comment above a \
state or a transition describes it.

";

const SPECIAL_STATES: &str = "\
## Special states

Three states mean the same in every plan:

- `State::Empty` is where every task starts, before anything was done for it. Every plan has an \
`Empty` block.
- `State::Finished` means the task completed normally. It ends the task and has no block: it only \
appears as the target of a transition.
- `State::Abort` means the task did not complete normally and was terminated. It has no block and \
is reachable from every state without being written in the flow (so the diagrams below do not draw \
it):
  - an error classified as abort-level, in any step, moves the task to `Abort`: the task ends and \
the sealing thread takes its next task;
  - resuming a suspended task with the state `Abort` does the same. Use it for a task stuck on an \
error that cannot be recovered from but is not classified as abort-level (an expired ticket, say). \
Resuming with an earlier state of its flow instead (`TreeDBuilt`, say) makes the task retry from \
there.

";

fn plan_section(name: &str, plan: &Plan) -> String {
    let doc = plan.doc.text();
    let (title, rest) = match doc.split_once('\n') {
        Some((first, rest)) => (first.trim(), rest.trim()),
        None => (doc.trim(), ""),
    };
    let title = match title.trim_end_matches('.') {
        "" => format!("The `{name}` plan"),
        title => title.to_string(),
    };
    let mut out = String::new();
    let _ = writeln!(out, "## {title}\n");
    let _ = writeln!(
        out,
        "Plan `{name}`, from [`{PLANS_DIR}/{name}.plan`](../{PLANS_DIR}/{name}.plan).\n"
    );
    if !rest.is_empty() {
        let _ = writeln!(out, "{rest}\n");
    }
    let _ = writeln!(out, "```mermaid\n{}```\n", graph::mermaid(plan));
    let _ = writeln!(out, "```text\n{}```\n", text::blocks(plan));
    out
}

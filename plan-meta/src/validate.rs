//! Semantic rules of a plan. Each rule adds its errors to the list and never stops the others,
//! so one run reports every problem of the file.

use crate::diagnostics::Diagnostic;
use crate::model::{snake_case, Plan, StateBlock, ABORT, FINISHED, INITIAL};
use crate::span::Span;
use crate::suggest;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// Checks `plan`. The graph rules (reachable from `Empty`, can reach `Finished`) run only on a
/// well-formed graph: `complete` (no transition lost to a syntax error) and without transitions
/// to undefined states. Otherwise they would blame innocent states for the missing edge: one
/// typo in a target would make every state before it a trap and every state after it
/// unreachable.
pub(crate) fn validate(plan: &Plan, complete: bool, diagnostics: &mut Vec<Diagnostic>) {
    special_blocks(plan, diagnostics);
    duplicate_states(plan, diagnostics);
    initial_block(plan, diagnostics);
    let dangling = transitions(plan, diagnostics);
    arities(plan, diagnostics);
    handler_names(plan, diagnostics);
    if complete && !dangling {
        unreachable_states(plan, diagnostics);
        traps(plan, diagnostics);
    }
}

fn is_special(name: &str) -> bool {
    name == FINISHED || name == ABORT
}

/// The blocks the graph rules look at: first definitions of ordinary states.
fn graph_blocks(plan: &Plan) -> Vec<&StateBlock> {
    let mut seen = BTreeSet::new();
    plan.states
        .iter()
        .filter(|s| !is_special(&s.name.name) && seen.insert(s.name.name.as_str()))
        .collect()
}

fn special_blocks(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    for state in &plan.states {
        let diagnostic = match state.name.name.as_str() {
            FINISHED => Diagnostic::new("`State::Finished` cannot have a block", state.span)
                .label("`Finished` is terminal")
                .help("`Finished` ends the task normally and has no transitions: remove this block and use `State::Finished` only as a transition target"),
            ABORT => Diagnostic::new("`State::Abort` cannot have a block", state.span)
                .label("`Abort` is implicit and terminal")
                .help("`Abort` is reachable from every state without being written and has no transitions: remove this block"),
            _ => continue,
        };
        diagnostics.push(diagnostic);
    }
}

fn duplicate_states(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, Span> = HashMap::new();
    for state in &plan.states {
        if let Some(&earlier) = first.get(state.name.name.as_str()) {
            diagnostics.push(
                Diagnostic::new(
                    format!("state `{}` is defined twice", state.name.name),
                    state.span,
                )
                .label("defined again here")
                .secondary(earlier, "first defined here")
                .help("a state has one block: merge the transitions into the first block"),
            );
        } else {
            first.insert(&state.name.name, state.span);
        }
    }
}

fn initial_block(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    if plan.state(INITIAL).is_none() {
        diagnostics.push(
            Diagnostic::new("the plan has no `State::Empty` block", Span::point(1, 1))
                .label("expected a `State::Empty => { ... }` block in this file")
                .help("every task starts in `Empty`: add a block `State::Empty => { Event::B => State::C, },`"),
        );
    }
}

/// Per transition: event used twice in a state, transition to itself, undefined target.
/// Returns whether some target is undefined.
fn transitions(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) -> bool {
    let mut dangling = false;
    let mut known: Vec<&str> = plan
        .states
        .iter()
        .map(|s| s.name.name.as_str())
        .filter(|n| !is_special(n))
        .collect();
    known.extend([FINISHED, ABORT]);

    for state in &plan.states {
        let mut events: HashMap<&str, Span> = HashMap::new();
        for t in &state.transitions {
            if let Some(&earlier) = events.get(t.event.name.as_str()) {
                diagnostics.push(
                    Diagnostic::new(
                        format!("event `{}` appears twice in `State::{}`", t.event.name, state.name.name),
                        t.event_span,
                    )
                    .label("used again here")
                    .secondary(earlier, "first used here")
                    .help("an event decides the next state, so it has one transition per state: keep one, or name the other event differently"),
                );
            } else {
                events.insert(&t.event.name, t.event_span);
            }

            let target = t.target.name.as_str();
            if target == state.name.name {
                diagnostics.push(
                    Diagnostic::new(format!("self-transition of `State::{target}`"), t.target_span)
                        .label(format!("`Event::{}` leads back to `{target}`", t.event.name))
                        .help("a state cannot transition to itself (the step would run again with no trace of the retry): retry inside the handler, or go back through an earlier state as `Event::ReSubmitPC => State::PC2Done` does"),
                );
            } else if !known.contains(&target) {
                dangling = true;
                let must = format!("Every target must have a `State::{target} => {{ ... }}` block, or be `Finished` or `Abort`.");
                let help = match suggest::closest(target, known.iter().copied()) {
                    Some(similar) => format!("did you mean `{similar}`? {must}"),
                    None => must,
                };
                diagnostics.push(
                    Diagnostic::new(
                        format!("transition to undefined state `{target}`"),
                        t.target_span,
                    )
                    .help(help),
                );
            }
        }
    }
    dangling
}

/// An event carries the same payloads wherever it is used: it is one variant of one enum.
fn arities(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    let events = plan.events();
    for t in plan.states.iter().flat_map(|s| &s.transitions) {
        let Some(first) = events.iter().find(|e| e.name == t.event.name) else {
            continue;
        };
        if t.arity != first.arity {
            diagnostics.push(
                Diagnostic::new(
                    format!(
                        "event `{}` has {} here but {} where it is first used",
                        t.event.name,
                        payloads(t.arity),
                        payloads(first.arity)
                    ),
                    t.event_span,
                )
                .label(payloads(t.arity))
                .secondary(first.first.event_span, payloads(first.arity))
                .help(format!(
                    "an event is one Rust enum variant with one list of payload types: write `Event::{}{}` everywhere, or name the events differently",
                    t.event.name,
                    first.first.placeholders()
                )),
            );
        }
    }
}

fn payloads(n: usize) -> String {
    match n {
        0 => "no payload".into(),
        1 => "1 payload".into(),
        n => format!("{n} payloads"),
    }
}

/// Handler methods are the snake_case state names: they must differ and be usable in Rust.
fn handler_names(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    let mut first: HashMap<String, &StateBlock> = HashMap::new();
    for state in graph_blocks(plan) {
        let handler = snake_case(&state.name.name);
        if matches!(handler.as_str(), "self" | "super" | "crate") {
            diagnostics.push(
                Diagnostic::new(
                    format!(
                        "state `{}` would have the handler method `{handler}`",
                        state.name.name
                    ),
                    state.span,
                )
                .label(format!("`{handler}` cannot be a method name in Rust"))
                .help("rename the state"),
            );
        }
        match first.get(&handler) {
            Some(earlier) => diagnostics.push(
                Diagnostic::new(
                    format!(
                        "states `{}` and `{}` have the same handler method `{handler}`",
                        earlier.name.name, state.name.name
                    ),
                    state.span,
                )
                .label(format!("handler `{handler}`"))
                .secondary(earlier.span, format!("handler `{handler}`"))
                .help("handler methods are the snake_case state names: rename one of the states"),
            ),
            None => {
                first.insert(handler, state);
            }
        }
    }
}

fn unreachable_states(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    let blocks = graph_blocks(plan);
    if !blocks.iter().any(|s| s.name.name == INITIAL) {
        return; // reported by `initial_block`; every state would be "unreachable"
    }
    let forward = |name: &str| -> Vec<&str> {
        blocks
            .iter()
            .find(|s| s.name.name == name)
            .map(|s| {
                s.transitions
                    .iter()
                    .map(|t| t.target.name.as_str())
                    .collect()
            })
            .unwrap_or_default()
    };
    let reached = search(INITIAL, forward);
    for state in &blocks {
        if reached.contains(state.name.name.as_str()) {
            continue;
        }
        let sources: Vec<String> = blocks
            .iter()
            .filter(|s| {
                s.transitions
                    .iter()
                    .any(|t| t.target.name == state.name.name)
            })
            .map(|s| format!("`{}`", s.name.name))
            .collect();
        let label = match sources.len() {
            0 => "no transition leads here".to_string(),
            1 => format!("only {} leads here, and it is unreachable too", sources[0]),
            _ => format!(
                "only {} lead here, and they are unreachable too",
                sources.join(", ")
            ),
        };
        diagnostics.push(
            Diagnostic::new(format!("state `{}` is unreachable from `Empty`", state.name.name), state.span)
                .label(label)
                .help(format!(
                    "add a transition `=> State::{}` to a state reachable from `Empty`, or remove this block",
                    state.name.name
                )),
        );
    }
}

/// A state from which `Finished` cannot be reached would hold its task forever.
fn traps(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    let blocks = graph_blocks(plan);
    let backward = |name: &str| -> Vec<&str> {
        blocks
            .iter()
            .filter(|s| s.transitions.iter().any(|t| t.target.name == name))
            .map(|s| s.name.name.as_str())
            .collect()
    };
    let finishing = search(FINISHED, backward);
    for state in &blocks {
        if finishing.contains(state.name.name.as_str()) {
            continue;
        }
        let mut targets: Vec<String> = Vec::new();
        for t in &state.transitions {
            let target = format!("`{}`", t.target.name);
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        let label = if targets.is_empty() {
            "no transitions".to_string()
        } else {
            format!(
                "leads only to {}, which cannot reach `Finished`",
                targets.join(", ")
            )
        };
        diagnostics.push(
            Diagnostic::new(format!("state `{}` has no path to `Finished`", state.name.name), state.span)
                .label(label)
                .help("a task in this state could never finish: add a transition that leads towards `State::Finished` (`Abort` is not a normal end)"),
        );
    }
}

/// Names reached from `start` through `next` (breadth first), `start` included.
fn search<'a>(start: &'a str, next: impl Fn(&str) -> Vec<&'a str>) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::from([start]);
    let mut queue = VecDeque::from([start]);
    while let Some(name) = queue.pop_front() {
        for n in next(name) {
            if seen.insert(n) {
                queue.push_back(n);
            }
        }
    }
    seen
}

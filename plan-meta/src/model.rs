//! The parsed form of a plan file: state blocks with their transitions, comments and positions.
//!
//! Only states written as blocks are listed; the special states `Finished` and `Abort` are
//! implicit (see [`all_state_names`](Plan::all_state_names)).

use crate::span::Span;

/// The state every task starts in. Its block is mandatory.
pub const INITIAL: &str = "Empty";
/// The state of a task that completed normally. Terminal: it has no block.
pub const FINISHED: &str = "Finished";
/// The state of a task that did not complete. Implicit from every state: it has no block.
pub const ABORT: &str = "Abort";

/// Fixed documentation of `Finished`, which has no block to carry a comment.
pub const FINISHED_DOC: &str =
    "The task completed normally: the sector went through every step of its plan. Terminal.";
/// Fixed documentation of `Abort`, which has no block to carry a comment.
pub const ABORT_DOC: &str = "The task did not complete normally and was terminated. Any state can lead here: an abort-level error in a step, or resuming a suspended task with the state `Abort` (the way to give up on a task that cannot be recovered). The sealing thread then moves on to its next task. Terminal.";

/// A whole plan file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The comment block that opens the file, when a blank line separates it from the first state.
    pub doc: Doc,
    /// The state blocks, in file order.
    pub states: Vec<StateBlock>,
}

/// `State::Name => { ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateBlock {
    pub name: Ident,
    /// `State::Name`.
    pub span: Span,
    /// The comment block directly above the block.
    pub doc: Doc,
    pub transitions: Vec<Transition>,
}

/// `Event::Name(_, _) => State::Target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub event: Ident,
    /// Number of `_` payload placeholders.
    pub arity: usize,
    /// `Event::Name(_, _)`.
    pub event_span: Span,
    pub target: Ident,
    /// `State::Target`.
    pub target_span: Span,
    /// The comment block directly above the transition.
    pub doc: Doc,
}

/// A state or event name and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A `//` comment block, kept line by line exactly as written after the `//` (trailing
/// whitespace removed) so that rendering the plan reproduces the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Doc {
    pub lines: Vec<String>,
}

impl Doc {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The comment as prose: lines without the `//` and the one space that usually follows it,
    /// joined with newlines.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| {
                let l = l.trim_start_matches('/');
                l.strip_prefix(' ').unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One distinct event of a plan.
#[derive(Clone, Copy, Debug)]
pub struct EventInfo<'a> {
    pub name: &'a str,
    pub arity: usize,
    /// The first transition that uses the event (it fixes the arity).
    pub first: &'a Transition,
}

impl Plan {
    /// The first block of `name`.
    pub fn state(&self, name: &str) -> Option<&StateBlock> {
        self.states.iter().find(|s| s.name.name == name)
    }

    /// Every distinct event, in order of first use.
    pub fn events(&self) -> Vec<EventInfo<'_>> {
        let mut events: Vec<EventInfo<'_>> = Vec::new();
        for t in self.states.iter().flat_map(|s| &s.transitions) {
            if !events.iter().any(|e| e.name == t.event.name) {
                events.push(EventInfo {
                    name: &t.event.name,
                    arity: t.arity,
                    first: t,
                });
            }
        }
        events
    }

    /// The states of the generated enum: the blocks in file order, then `Finished`, `Abort`.
    pub fn all_state_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.states.iter().map(|s| s.name.name.as_str()).collect();
        names.extend([FINISHED, ABORT]);
        names
    }
}

impl StateBlock {
    /// The handler method of this state: its name in snake_case (`TreeDBuilt` -> `tree_d_built`).
    pub fn handler_name(&self) -> String {
        snake_case(&self.name.name)
    }

    pub fn transition(&self, event: &str) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.event.name == event)
    }
}

impl Transition {
    /// `(_, _)` for two payloads, nothing for none: how the plan notation writes the payloads.
    pub fn placeholders(&self) -> String {
        placeholders(self.arity)
    }
}

/// `(_, _)` for two payloads, nothing for none.
pub fn placeholders(arity: usize) -> String {
    if arity == 0 {
        String::new()
    } else {
        format!("({})", vec!["_"; arity].join(", "))
    }
}

/// UpperCamelCase to snake_case, keeping acronyms and their digits together:
/// `PC1Done` -> `pc1_done`, `TreeDBuilt` -> `tree_d_built`, `PCSubmitted` -> `pc_submitted`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // A new word starts after a lowercase letter or a digit, or at the last capital of an
            // acronym that is followed by a lowercase word (`PCSubmitted`: `PC` + `Submitted`).
            if prev.is_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_of_state_names() {
        for (camel, snake) in [
            ("Empty", "empty"),
            ("PC1Done", "pc1_done"),
            ("TreeDBuilt", "tree_d_built"),
            ("PCSubmitted", "pc_submitted"),
            ("PersistanceSubmitted", "persistance_submitted"),
            ("C2Done", "c2_done"),
            ("PCLanded", "pc_landed"),
            ("SnapEncoded", "snap_encoded"),
            ("A", "a"),
        ] {
            assert_eq!(snake_case(camel), snake, "{camel}");
        }
    }

    #[test]
    fn doc_text_strips_one_space() {
        let doc = Doc {
            lines: vec![
                " a".into(),
                "b".into(),
                "".into(),
                "  indented".into(),
                "/ triple".into(),
            ],
        };
        assert_eq!(doc.text(), "a\nb\n\n indented\ntriple");
    }
}

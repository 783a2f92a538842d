//! Every rule of the plan language and every tolerated oddity of layout, through the public
//! `parse_and_validate` entry point.

use plan_meta::model::Plan;
use plan_meta::{parse_and_validate, render_all, Diagnostic};

/// A small valid plan in the canonical layout.
const OK: &str = "\
// A test plan.

// start here
State::Empty => {
    // allocate
    Event::Allocate(_) => State::Allocated,
},

// allocated
State::Allocated => {
    // work
    Event::Work(_, _) => State::Worked,
    // give up on purpose
    Event::GiveUp => State::Abort,
},

State::Worked => {
    // redo
    Event::Redo => State::Allocated,
    Event::Finish => State::Finished,
},
";

/// What a plan says, without positions: (state, doc, [(event, arity, target, doc)]).
type Shape = Vec<(String, String, Vec<(String, usize, String, String)>)>;

fn shape(plan: &Plan) -> Shape {
    plan.states
        .iter()
        .map(|s| {
            let transitions = s
                .transitions
                .iter()
                .map(|t| {
                    (
                        t.event.name.clone(),
                        t.arity,
                        t.target.name.clone(),
                        t.doc.text(),
                    )
                })
                .collect();
            (s.name.name.clone(), s.doc.text(), transitions)
        })
        .collect()
}

fn ok(src: &str) -> Plan {
    match parse_and_validate(src) {
        Ok(plan) => plan,
        Err(errors) => panic!(
            "unexpected errors:\n{}",
            render_all(&errors, src, "test.plan")
        ),
    }
}

fn errors(src: &str) -> Vec<Diagnostic> {
    match parse_and_validate(src) {
        Ok(plan) => panic!("expected errors, got {plan:#?}"),
        Err(errors) => errors,
    }
}

/// The only error of `src`; checks its message contains `message` and its position.
fn only(src: &str, message: &str, line: u32, col: u32) -> Diagnostic {
    let errors = errors(src);
    let rendered = render_all(&errors, src, "test.plan");
    assert_eq!(errors.len(), 1, "expected one error:\n{rendered}");
    let e = errors.into_iter().next().unwrap();
    assert!(
        e.message.contains(message),
        "`{message}` not in:\n{rendered}"
    );
    assert_eq!((e.span.line, e.span.col), (line, col), "{rendered}");
    assert!(e.help.is_some(), "every error has a help:\n{rendered}");
    e
}

fn help(d: &Diagnostic) -> &str {
    d.help.as_deref().unwrap()
}

#[test]
fn the_canonical_plan_parses_with_its_comments() {
    let plan = ok(OK);
    assert_eq!(plan.doc.text(), "A test plan.");
    assert_eq!(
        shape(&plan),
        vec![
            (
                "Empty".into(),
                "start here".into(),
                vec![("Allocate".into(), 1, "Allocated".into(), "allocate".into())]
            ),
            (
                "Allocated".into(),
                "allocated".into(),
                vec![
                    ("Work".into(), 2, "Worked".into(), "work".into()),
                    (
                        "GiveUp".into(),
                        0,
                        "Abort".into(),
                        "give up on purpose".into()
                    ),
                ]
            ),
            (
                "Worked".into(),
                "".into(),
                vec![
                    ("Redo".into(), 0, "Allocated".into(), "redo".into()),
                    ("Finish".into(), 0, "Finished".into(), "".into()),
                ]
            ),
        ]
    );
    let empty = &plan.states[0];
    assert_eq!(
        (empty.span.line, empty.span.col, empty.span.end_col),
        (4, 1, 13)
    );
    let t = &empty.transitions[0];
    assert_eq!(
        (t.event_span.line, t.event_span.col, t.event_span.end_col),
        (6, 5, 23)
    );
    assert_eq!((t.target_span.col, t.target_span.end_col), (27, 43));
    assert_eq!(
        plan.all_state_names(),
        ["Empty", "Allocated", "Worked", "Finished", "Abort"]
    );
    let events: Vec<(&str, usize)> = plan.events().iter().map(|e| (e.name, e.arity)).collect();
    assert_eq!(
        events,
        [
            ("Allocate", 1),
            ("Work", 2),
            ("GiveUp", 0),
            ("Redo", 0),
            ("Finish", 0)
        ]
    );
}

// ---- tolerated oddities -------------------------------------------------------------------

#[test]
fn crlf_line_ends() {
    let crlf = OK.replace('\n', "\r\n");
    assert_eq!(ok(&crlf), ok(OK));
}

#[test]
fn tabs() {
    let tabs = OK.replace("    ", "\t");
    assert_eq!(shape(&ok(&tabs)), shape(&ok(OK)));
    // A column counts a tab as one character.
    assert_eq!(ok(&tabs).states[0].transitions[0].event_span.col, 2);
}

#[test]
fn no_trailing_newline() {
    assert_eq!(ok(OK.trim_end()), ok(OK));
}

#[test]
fn comment_on_the_last_line() {
    let src = format!("{OK}// the end, without newline");
    assert_eq!(shape(&ok(&src)), shape(&ok(OK)));
    let src = format!("{}\n}},\n// the end", OK.trim_end().trim_end_matches("},"));
    assert_eq!(shape(&ok(&src)), shape(&ok(OK)));
}

#[test]
fn non_ascii_comments() {
    let src = OK
        .replace("// start here", "// état initial — 扇区尚未分配 ✓")
        .replace("    // work", "    // 执行 pc1 ✓ // nested");
    let plan = ok(&src);
    assert_eq!(plan.states[0].doc.text(), "état initial — 扇区尚未分配 ✓");
    assert_eq!(
        plan.states[1].transitions[0].doc.text(),
        "执行 pc1 ✓ // nested"
    );
}

#[test]
fn non_ascii_before_an_error_counts_characters() {
    let src = "State::Empty => {\n    Event::É => State::Nope,\n},\n";
    let errors = errors(src);
    assert_eq!(errors.len(), 2, "{}", render_all(&errors, src, "t"));
    assert_eq!((errors[0].span.line, errors[0].span.col), (2, 12)); // the name `É`
    assert_eq!((errors[1].span.line, errors[1].span.col), (2, 17)); // `State::Nope`
}

#[test]
fn blank_lines_anywhere() {
    let src = "\n\n\n// A test plan.\n\n\n\n// start here\nState::Empty => {\n\n    // allocate\n    Event::Allocate(_) => State::Allocated,\n\n\n},\n\n\n\n// allocated\nState::Allocated => {\n    // work\n    Event::Work(_, _) => State::Worked,\n\n    // give up on purpose\n    Event::GiveUp => State::Abort,\n},\nState::Worked => {\n    // redo\n    Event::Redo => State::Allocated,\n\n\n    Event::Finish => State::Finished,\n\n},\n\n\n";
    assert_eq!(shape(&ok(src)), shape(&ok(OK)));
}

#[test]
fn comments_separated_by_a_blank_line_document_nothing() {
    let src = OK
        .replace("// start here\n", "// start here\n\n")
        .replace("    // redo\n", "    // redo\n\n");
    let plan = ok(&src);
    assert_eq!(plan.doc.text(), "A test plan.");
    assert!(plan.states[0].doc.is_empty());
    assert!(plan.states[2].transitions[0].doc.is_empty());
    // Trailing comments are not docs either.
    let plan = ok(&OK.replace("State::Abort,", "State::Abort, // not a doc"));
    assert!(plan.states[2].transitions[1].doc.is_empty());
}

#[test]
fn a_comment_block_opening_the_file_documents_the_first_state_without_a_blank_line() {
    let plan = ok(&OK.replace("// A test plan.\n\n", "// A test plan.\n"));
    assert!(plan.doc.is_empty());
    assert_eq!(plan.states[0].doc.text(), "A test plan.\nstart here");
}

#[test]
fn commas_after_blocks_and_last_transitions_are_optional() {
    let src = OK
        .replace("},", "}")
        .replace("State::Allocated,\n}", "State::Allocated\n}")
        .replace("State::Finished,\n}", "State::Finished\n}");
    assert_eq!(shape(&ok(&src)), shape(&ok(OK)));
    // A trailing comma in a payload list is accepted too.
    assert_eq!(
        shape(&ok(&OK.replace("Work(_, _)", "Work(_, _,)"))),
        shape(&ok(OK))
    );
}

#[test]
fn compact_and_spread_layouts() {
    let compact = "State::Empty=>{Event::Allocate(_)=>State::Allocated,}State::Allocated=>{Event::Work(_,_)=>State::Worked,Event::GiveUp=>State::Abort}State::Worked=>{Event::Redo=>State::Allocated,Event::Finish=>State::Finished}";
    let spread = "State :: Empty\n=>\n{\n Event :: Allocate ( _ )\n  => State :: Allocated ,\n}\nState::Allocated => { Event::Work(_, _) => State::Worked, Event::GiveUp => State::Abort }\nState::Worked => {\n Event::Redo =>\n  State::Allocated,\n Event::Finish => State::Finished }";
    let strip = |plan: Plan| -> Vec<_> {
        shape(&plan)
            .into_iter()
            .map(|(s, _, t)| {
                (
                    s,
                    t.into_iter()
                        .map(|(e, a, to, _)| (e, a, to))
                        .collect::<Vec<_>>(),
                )
            })
            .collect()
    };
    assert_eq!(strip(ok(compact)), strip(ok(OK)));
    assert_eq!(strip(ok(spread)), strip(ok(OK)));
}

#[test]
fn byte_order_mark() {
    assert_eq!(ok(&format!("\u{feff}{OK}")), ok(OK));
}

// ---- syntax errors ------------------------------------------------------------------------

#[test]
fn unclosed_block_before_the_next_block() {
    let src = OK.replace("State::Allocated,\n},", "State::Allocated,");
    let e = only(&src, "unclosed block of `State::Empty`", 4, 17);
    assert_eq!(e.secondary[0].0.line, 9);
    assert!(help(&e).contains("before the next block"));
}

#[test]
fn unclosed_block_at_the_end_of_the_file() {
    let src = OK.trim_end().trim_end_matches("},");
    let e = only(src, "unclosed block of `State::Worked`", 17, 18);
    assert!(help(&e).contains("end of the file"));
}

#[test]
fn missing_fat_arrow() {
    let e = only(
        &OK.replace("State::Empty => {", "State::Empty {"),
        "missing `=>` after `State::Empty`",
        4,
        13,
    );
    assert!(help(&e).contains("State::A => {"));
    only(
        &OK.replace("Event::Redo => State", "Event::Redo State"),
        "missing `=>` after `Event::Redo`",
        19,
        16,
    );
    let e = only(
        &OK.replace("Event::Redo => State", "Event::Redo -> State"),
        "missing `=>` after `Event::Redo`",
        19,
        17,
    );
    assert_eq!(e.label.as_deref(), Some("expected `=>`, found `->`"));
}

#[test]
fn missing_brace() {
    only(
        &OK.replace("State::Worked => {", "State::Worked =>"),
        "missing `{` after `State::Worked =>`",
        19,
        5,
    );
}

#[test]
fn missing_comma_between_transitions() {
    let src = OK.replace("State::Worked,\n", "State::Worked\n");
    let e = only(&src, "missing `,` after a transition", 12, 39);
    assert!(help(&e).contains("`Event::Work(_, _) => State::Worked,`"));
    only(
        &OK.replace("Work(_, _)", "Work(_ _)"),
        "missing `,` between payload placeholders",
        12,
        18,
    );
}

#[test]
fn missing_path_separator() {
    only(
        &OK.replace("State::Worked =>", "State:Worked =>"),
        "expected `::` after `State`, found `:`",
        17,
        6,
    );
    only(
        &OK.replace("Event::Redo", "Event Redo"),
        "missing `::` between `Event` and `Redo`",
        19,
        11,
    );
}

#[test]
fn stray_tokens() {
    only(
        &OK.replace("State::Finished,", "State::Finished;"),
        "expected `,` or `}` after the transition, found `;`",
        20,
        37,
    );
    only(
        &OK.replace("State::Allocated,\n},", "State::Allocated,\n},,"),
        "unexpected `,`",
        7,
        3,
    );
    only(
        &OK.replace("(_) => State::Allocated,", "(_) => State::Allocated,,"),
        "unexpected `,`",
        6,
        44,
    );
    let e = only(
        &format!("{OK}garbage\n"),
        "expected a state block, found `garbage`",
        22,
        1,
    );
    assert!(help(&e).contains("a plan is a list of state blocks"));
    let e = only(
        &OK.replace("    Event::Redo", "    Evnt::Redo"),
        "expected a transition or `}` in the block of `State::Worked`, found `Evnt`",
        19,
        5,
    );
    assert!(help(&e).starts_with("did you mean `Event`?"));
    let e = only(
        &OK.replace("=> State::Finished", "=> Stat::Finished"),
        "expected `State::Name` after `=>`, found `Stat`",
        20,
        22,
    );
    assert_eq!(help(&e), "did you mean `State`?");
    only(
        &OK.replace("Event::Redo =>", "Event::Redo => =>"),
        "expected the target state after `Event::Redo =>`, found `=>`",
        19,
        20,
    );
    let e = only(
        &format!("{OK}}}\n"),
        "expected a state block, found `}`",
        22,
        1,
    );
    assert!(e.label.is_some());
}

#[test]
fn bad_identifiers() {
    // A bad name is reported where it is written; it still names the state, so the target that
    // uses it is not also reported as undefined.
    let src = OK.replace("State::Worked", "State::worked_it");
    let errors = errors(&src);
    assert_eq!(errors.len(), 2, "{}", render_all(&errors, &src, "t"));
    assert_eq!((errors[0].span.line, errors[0].span.col), (12, 33));
    assert_eq!((errors[1].span.line, errors[1].span.col), (17, 8));
    assert_eq!(errors[1].message, "invalid state name `worked_it`");
    assert!(help(&errors[1]).starts_with("did you mean `WorkedIt`?"));
    let src = OK.replace("Event::Redo", "Event::1Redo");
    let e = only(&src, "invalid event name `1Redo`", 19, 12);
    assert!(!help(&e).contains("did you mean"));
    only(
        &OK.replace("Event::Redo", "Event::Self"),
        "invalid event name `Self`",
        19,
        12,
    );
    only(
        &OK.replace("Event::Redo", "Event::Rédo"),
        "invalid event name `Rédo`",
        19,
        12,
    );
    only(
        &OK.replace("Event::Redo", "Event::_"),
        "expected a event name after `Event::`, found `_`",
        19,
        12,
    );
}

#[test]
fn payload_mistakes() {
    let e = only(
        &OK.replace("Work(_, _)", "Work(Ticket, _)"),
        "payload types are not written in a plan",
        12,
        17,
    );
    assert!(help(&e).contains("`Event::Work(_, _)`"));
    only(
        &OK.replace("Allocate(_)", "Allocate()"),
        "empty payload list of `Event::Allocate`",
        6,
        20,
    );
    let e = only(
        &OK.replace("Work(_, _)", "Work(_, _"),
        "expected `_`, `,` or `)` in a payload list, found `=>`",
        12,
        22,
    );
    assert_eq!(e.secondary[0].1, "payload list opened here");
}

#[test]
fn every_syntax_error_of_a_file_is_reported() {
    let src = OK
        .replace("State::Empty => {", "State::Empty {")
        .replace("State::Worked,\n", "State::Worked\n")
        .replace("Event::Redo", "Event::redo")
        .replace("State::Finished,", "State::Finished;");
    let errors = errors(&src);
    let lines: Vec<u32> = errors.iter().map(|e| e.span.line).collect();
    assert_eq!(lines, [4, 12, 19, 20], "{}", render_all(&errors, &src, "t"));
}

#[test]
fn recovery_keeps_the_following_blocks() {
    // The first transition is lost, so graph checks are skipped, but the next blocks are parsed
    // and checked for the local rules.
    let src = OK
        .replace(
            "Event::Allocate(_) => State::Allocated,",
            "Event::Allocate(_) => ; ,",
        )
        .replace(
            "Event::Redo => State::Allocated",
            "Event::Redo => State::Alocated",
        );
    let errors = errors(&src);
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "expected the target state after `Event::Allocate(_) =>`, found `;`",
            "transition to undefined state `Alocated`"
        ],
    );
}

// ---- rules ---------------------------------------------------------------------------------

#[test]
fn undefined_target_with_a_suggestion() {
    let src = OK.replace("=> State::Worked", "=> State::Wroked");
    let e = only(&src, "transition to undefined state `Wroked`", 12, 26);
    assert_eq!(
        help(&e),
        "did you mean `Worked`? Every target must have a `State::Wroked => { ... }` block, or be `Finished` or `Abort`."
    );
    let e = only(
        &OK.replace("State::Finished", "State::Nowhere"),
        "undefined state `Nowhere`",
        20,
        22,
    );
    assert!(help(&e).starts_with("Every target must have"));
    let e = only(
        &OK.replace("State::Finished", "State::Finishd"),
        "undefined state `Finishd`",
        20,
        22,
    );
    assert!(help(&e).starts_with("did you mean `Finished`?"));
}

#[test]
fn the_error_format_is_rustc_like() {
    let src = OK.replace("=> State::Worked", "=> State::Wroked");
    let errors = errors(&src);
    assert_eq!(
        render_all(&errors, &src, "plans/test.plan"),
        "error: transition to undefined state `Wroked`
  --> plans/test.plan:12:26
   |
12 |     Event::Work(_, _) => State::Wroked,
   |                          ^^^^^^^^^^^^^
   = help: did you mean `Worked`? Every target must have a `State::Wroked => { ... }` block, or be `Finished` or `Abort`.
"
    );
}

#[test]
fn duplicate_state() {
    let src = format!("{OK}\nState::Allocated => {{\n    Event::Finish => State::Finished,\n}},\n");
    let e = only(&src, "state `Allocated` is defined twice", 23, 1);
    assert_eq!(
        e.secondary,
        vec![(
            plan_meta::Span {
                line: 10,
                col: 1,
                end_line: 10,
                end_col: 17
            },
            "first defined here".to_string()
        )]
    );
}

#[test]
fn duplicate_event_in_one_state() {
    let same = OK.replace(
        "    Event::Finish =>",
        "    Event::Redo => State::Allocated,\n    Event::Finish =>",
    );
    let e = only(
        &same,
        "event `Redo` appears twice in `State::Worked`",
        20,
        5,
    );
    assert_eq!(e.secondary[0].0.line, 19);
    let different = OK.replace(
        "    Event::Finish =>",
        "    Event::Redo => State::Finished,\n    Event::Finish =>",
    );
    only(
        &different,
        "event `Redo` appears twice in `State::Worked`",
        20,
        5,
    );
}

#[test]
fn the_same_event_in_different_states_is_fine() {
    ok(&OK.replace(
        "Event::GiveUp => State::Abort",
        "Event::Finish => State::Finished",
    ));
}

#[test]
fn unreachable_state() {
    let src = format!("{OK}\nState::Orphan => {{\n    Event::Finish => State::Finished,\n}},\n");
    let e = only(&src, "state `Orphan` is unreachable from `Empty`", 23, 1);
    assert_eq!(e.label.as_deref(), Some("no transition leads here"));
    let src = format!("{OK}\nState::Orphan => {{\n    Event::Go => State::Orphan2,\n}},\nState::Orphan2 => {{\n    Event::Finish => State::Finished,\n}},\n");
    let errors = errors(&src);
    assert_eq!(errors.len(), 2);
    assert_eq!(
        errors[1].label.as_deref(),
        Some("only `Orphan` leads here, and it is unreachable too")
    );
}

#[test]
fn trap_states() {
    // No way out at all.
    let src = OK.replace(
        "Event::GiveUp => State::Abort",
        "Event::GiveUp => State::Stuck",
    ) + "\nState::Stuck => {\n},\n";
    let e = only(&src, "state `Stuck` has no path to `Finished`", 23, 1);
    assert_eq!(e.label.as_deref(), Some("no transitions"));
    // A cycle with no exit, and a state whose only exit is Abort.
    let src = OK.replace("Event::GiveUp => State::Abort", "Event::GiveUp => State::Loop1")
        + "\nState::Loop1 => {\n    Event::Next => State::Loop2,\n},\n\nState::Loop2 => {\n    Event::Next => State::Loop1,\n    Event::Fail => State::Abort,\n},\n";
    let errors = errors(&src);
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "state `Loop1` has no path to `Finished`",
            "state `Loop2` has no path to `Finished`"
        ]
    );
    assert_eq!(
        errors[1].label.as_deref(),
        Some("leads only to `Loop1`, `Abort`, which cannot reach `Finished`")
    );
}

#[test]
fn self_transition() {
    let e = only(
        &OK.replace(
            "Event::Redo => State::Allocated",
            "Event::Redo => State::Worked",
        ),
        "self-transition of `State::Worked`",
        19,
        20,
    );
    assert_eq!(
        e.label.as_deref(),
        Some("`Event::Redo` leads back to `Worked`")
    );
}

#[test]
fn event_arity_mismatch() {
    let src = OK.replace("Event::Redo =>", "Event::Work(_) =>");
    let e = only(
        &src,
        "event `Work` has 1 payload here but 2 payloads where it is first used",
        19,
        5,
    );
    assert_eq!(e.secondary[0].0.line, 12);
    assert!(help(&e).contains("`Event::Work(_, _)`"));
}

#[test]
fn special_states_cannot_have_blocks() {
    let src = format!("{OK}\nState::Finished => {{\n}},\n\nState::Abort => {{\n}},\n");
    let errors = errors(&src);
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`State::Finished` cannot have a block",
            "`State::Abort` cannot have a block"
        ]
    );
}

#[test]
fn abort_may_be_a_target_and_finished_too() {
    let plan = ok(OK);
    assert_eq!(plan.states[1].transitions[1].target.name, "Abort");
}

#[test]
fn the_initial_state_is_required() {
    let e = only(
        &OK.replace("State::Empty", "State::Start"),
        "the plan has no `State::Empty` block",
        1,
        1,
    );
    assert!(help(&e).contains("every task starts in `Empty`"));
    only("", "no `State::Empty` block", 1, 1);
    only("// only a comment\n", "no `State::Empty` block", 1, 1);
}

#[test]
fn handler_names_must_be_distinct_and_usable() {
    let src = OK.replace("State::Worked", "State::PCDone")
        + "\nState::PcDone => {\n    Event::Finish => State::Finished,\n},\n";
    let src = src.replace(
        "Event::GiveUp => State::Abort",
        "Event::GiveUp => State::PcDone",
    );
    only(
        &src,
        "states `PCDone` and `PcDone` have the same handler method `pc_done`",
        23,
        1,
    );
    let src = OK.replace("State::Worked", "State::Super");
    only(
        &src,
        "state `Super` would have the handler method `super`",
        17,
        1,
    );
}

#[test]
fn every_rule_violation_of_a_file_is_reported_in_file_order() {
    let src = format!(
        "{OK}\nState::Allocated => {{\n    Event::Finish => State::Finished,\n}},\n\nState::Orphan => {{\n    Event::Finish(_) => State::Orphan,\n}},\n"
    );
    let errors = errors(&src);
    let rendered = render_all(&errors, &src, "t");
    let found: Vec<(u32, u32, &str)> = errors
        .iter()
        .map(|e| (e.span.line, e.span.col, e.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (23, 1, "state `Allocated` is defined twice"),
            (27, 1, "state `Orphan` is unreachable from `Empty`"),
            (27, 1, "state `Orphan` has no path to `Finished`"),
            (
                28,
                5,
                "event `Finish` has 1 payload here but no payload where it is first used"
            ),
            (28, 25, "self-transition of `State::Orphan`"),
        ],
        "{rendered}"
    );
}

#[test]
fn an_undefined_target_does_not_blame_the_states_around_it() {
    // `Wroked` leaves `Allocated` without a way to `Finished` and `Worked` unreachable, but the
    // only error is the typo.
    let src = OK.replace("=> State::Worked", "=> State::Wroked");
    only(&src, "transition to undefined state `Wroked`", 12, 26);
}

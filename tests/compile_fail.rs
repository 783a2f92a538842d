//! What `plan!` refuses, and what it tolerates, as the compiler reports it.
//!
//! `tests/ui/fail/*.rs` must fail to compile with exactly the committed `.stderr` (the plan error
//! text, pointing into `tests/ui/plans/*.plan`); `tests/ui/pass/*.rs` must compile and run.
//! After an intended change of messages: `TRYBUILD=overwrite cargo test -p plan-macros --test
//! compile_fail`, then read the new snapshots.
//!
//! Paths are relative to plan-macros/Cargo.toml, where this test is registered.
//!
//! Reading the snapshots: the plan path shows as written in the case (`../plans/x.plan`) because
//! trybuild builds the cases in a crate of its own, outside this workspace. And trybuild
//! re-indents lines that look like rustc snippets, so in a message with two places (duplicate
//! state, unclosed block, ...) the lines before the `...` gap lose the indent that rustc gives
//! to the continuation lines of a message; the compiler's own output is uniformly indented.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("../tests/ui/fail/*.rs");
    cases.pass("../tests/ui/pass/*.rs");
}

//! The plan language: parser, model, validator and renderers, plus the runtime contract (`rt`)
//! that generated code implements. An ordinary library so that the `plan!` macro, the
//! `venus-worker plan` tools and the tests all use one implementation.
//!
//! The language is described in `docs/plan-language.md`. In short: a plan file lists state
//! blocks `State::A => { Event::B(_) => State::C, },` with `//` comments documenting them;
//! [`parse_and_validate`] turns it into a [`model::Plan`] or into every error of the file.

pub mod diagnostics;
mod files;
mod lexer;
pub mod model;
mod parser;
pub mod render;
pub mod rt;
pub mod span;
pub mod suggest;
mod validate;

pub use diagnostics::{render_all, Diagnostic};
pub use files::{
    check_file, display_path, display_path_from, load_dir, task_status_flow_doc, workspace_root,
    DOCS_FILE, PLANS_DIR, REGENERATE_DOCS,
};
pub use span::Span;

/// Parses and validates the text of a plan file. On failure, returns every error of the file
/// (syntax and rules alike), in file order; render them with [`render_all`].
pub fn parse_and_validate(src: &str) -> Result<model::Plan, Vec<Diagnostic>> {
    let lexed = lexer::lex(src);
    let mut diagnostics = Vec::new();
    let parsed = parser::parse(&lexed, &mut diagnostics);
    validate::validate(&parsed.plan, parsed.complete, &mut diagnostics);
    if diagnostics.is_empty() {
        Ok(parsed.plan)
    } else {
        // Stable: errors at one position keep the order in which the rules found them.
        diagnostics.sort_by_key(|d| (d.span.line, d.span.col));
        Err(diagnostics)
    }
}

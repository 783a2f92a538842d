//! Generates the items of a valid plan. Each submodule renders one group of items; they share
//! the naming helpers below.
//!
//! Generated code names everything by absolute path (`::core::...`, `::plan_meta::rt::...`,
//! `::serde::...`) because the plan's own names (a state called `Result`, say) become types in
//! the `outcome` module and must not capture the generated code's references.

mod events;
mod handlers;
mod plan;
mod states;

use crate::locate::PlanFile;
use crate::payloads::PayloadTypes;
use plan_meta::model::{Plan, StateBlock, Transition};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

pub(crate) struct Context<'a> {
    pub plan: &'a Plan,
    pub file: &'a PlanFile,
    pub payloads: &'a PayloadTypes,
}

pub(crate) fn generate(plan: &Plan, file: &PlanFile, payloads: &PayloadTypes) -> TokenStream {
    let cx = Context {
        plan,
        file,
        payloads,
    };
    let states = states::generate(&cx);
    let events = events::generate(&cx);
    let plan = plan::generate(&cx);
    let handlers = handlers::generate(&cx);
    quote! { #states #events #plan #handlers }
}

impl Context<'_> {
    /// The `State` variants: the blocks in file order, then `Finished` and `Abort`.
    fn state_names(&self) -> Vec<&str> {
        self.plan.all_state_names()
    }

    /// The blocks of the plan. In a valid plan they are the non-terminal states, once each, and
    /// each gets a handler.
    fn blocks(&self) -> &[StateBlock] {
        &self.plan.states
    }
}

/// A state or event name as a Rust identifier (the validator allows only UpperCamelCase ASCII).
fn ident(name: &str) -> Ident {
    format_ident!("{}", name)
}

/// A handler method name; a Rust keyword (`State::Type` -> `type`) becomes a raw identifier.
fn method(name: &str) -> Ident {
    syn::parse_str::<Ident>(name).unwrap_or_else(|_| Ident::new_raw(name, Span::call_site()))
}

/// The private alias of payload `index` of `event`: lets the `outcome` module name the types
/// written at the call without resolving the call's paths from inside another module.
fn payload_alias(event: &str, index: usize) -> Ident {
    format_ident!("__PlanPayload_{}_{}", event, index)
}

fn doc(text: &str) -> TokenStream {
    quote! { #[doc = #text] }
}

/// "`PC2` -> `PC2Done`: execute pc2": one line per transition, for docs.
fn transition_lines(transitions: &[Transition]) -> String {
    transitions
        .iter()
        .map(|t| {
            let comment = t.doc.text().replace('\n', " ");
            let comment = if comment.is_empty() {
                String::new()
            } else {
                format!(": {comment}")
            };
            format!(
                "- `{}{}` → `{}`{comment}",
                t.event.name,
                t.placeholders(),
                t.target.name
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

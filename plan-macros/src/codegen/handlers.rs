//! Typed handlers: `mod outcome` (per state, the events it may produce), `trait Handlers` (one
//! method per non-terminal state) and `dispatch`. A missing handler is then a missing trait item
//! and a handler cannot produce an event its state does not allow: both are compile errors.

use super::{doc, ident, method, payload_alias, transition_lines, Context};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub(super) fn generate(cx: &Context) -> TokenStream {
    let plan_name = &cx.file.name;
    let outcomes = cx.blocks().iter().map(|s| {
        let state = ident(&s.name.name);
        let variants: Vec<_> = s.transitions.iter().map(|t| ident(&t.event.name)).collect();
        let targets = s.transitions.iter().map(|t| ident(&t.target.name));
        let docs = s.transitions.iter().map(|t| {
            let comment = t.doc.text();
            let sep = if comment.is_empty() { "" } else { "\n\n" };
            doc(&format!("{comment}{sep}Leads to `{}`.", t.target.name))
        });
        let fields = s.transitions.iter().map(|t| {
            let aliases = (0..t.arity).map(|i| payload_alias(&t.event.name, i));
            if t.arity == 0 {
                quote! {}
            } else {
                quote! { (#(super::#aliases),*) }
            }
        });
        let conversions = s.transitions.iter().map(|t| {
            let event = ident(&t.event.name);
            let values: Vec<_> = (0..t.arity).map(|i| format_ident!("payload{}", i)).collect();
            if t.arity == 0 {
                quote! { #state::#event => super::Event::#event, }
            } else {
                quote! { #state::#event(#(#values),*) => super::Event::#event(#(#values),*), }
            }
        });
        let names = s.transitions.iter().map(|t| &t.event.name);
        let enum_doc = format!(
            "What the handler of `State::{0}` may produce: exactly the events the plan allows in `{0}`.\n\n{1}",
            s.name.name,
            transition_lines(&s.transitions)
        );
        quote! {
            #[doc = #enum_doc]
            pub enum #state {
                #( #docs #variants #fields, )*
            }

            impl #state {
                /// The state the plan moves to after this outcome.
                pub const fn target(&self) -> super::State {
                    match self { #( #state::#variants { .. } => super::State::#targets, )* }
                }
            }

            impl ::core::convert::From<#state> for super::Event {
                fn from(outcome: #state) -> super::Event {
                    match outcome { #(#conversions)* }
                }
            }

            impl ::core::fmt::Debug for #state {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(match self { #( #state::#variants { .. } => #names, )* })
                }
            }
        }
    });

    let methods: Vec<_> = cx
        .blocks()
        .iter()
        .map(|s| method(&s.handler_name()))
        .collect();
    let states: Vec<_> = cx.blocks().iter().map(|s| ident(&s.name.name)).collect();
    let method_docs = cx.blocks().iter().map(|s| {
        let comment = s.doc.text();
        let lead = if comment.is_empty() {
            format!("Handler of `State::{}`.", s.name.name)
        } else {
            comment
        };
        doc(&format!(
            "{lead}\n\nRuns in `State::{}` and produces one of:\n{}",
            s.name.name,
            transition_lines(&s.transitions)
        ))
    });
    let outcome_doc =
        format!("Per state of the `{plan_name}` plan, the events its handler may produce.");
    let trait_doc = format!(
        "The steps of the `{plan_name}` plan: one method per non-terminal state, named after it in snake_case. Each returns the outcome of its state, which only admits the events the plan allows there."
    );

    quote! {
        #[doc = #outcome_doc]
        pub mod outcome {
            #(#outcomes)*
        }

        #[doc = #trait_doc]
        pub trait Handlers: ::core::marker::Send {
            type Error: ::core::marker::Send;

            #(
                #method_docs
                fn #methods(&mut self) -> impl ::core::future::Future<Output = ::core::result::Result<outcome::#states, Self::Error>> + ::core::marker::Send;
            )*
        }

        /// Runs the handler of `state`; None for a terminal state (Finished, Abort).
        pub async fn dispatch<H: Handlers>(handlers: &mut H, state: State) -> ::core::option::Option<::core::result::Result<Event, H::Error>> {
            ::core::option::Option::Some(match state {
                #( State::#states => handlers.#methods().await.map(::core::convert::Into::into), )*
                State::Finished | State::Abort => return ::core::option::Option::None,
            })
        }
    }
}

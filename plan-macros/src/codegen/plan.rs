//! `struct Plan` implementing `plan_meta::rt::Plan` (the transition checker) and `META`.

use super::{ident, Context};
use plan_meta::model::{ABORT, ABORT_DOC, FINISHED, FINISHED_DOC};
use proc_macro2::TokenStream;
use quote::quote;

pub(super) fn generate(cx: &Context) -> TokenStream {
    let plan_name = &cx.file.name;
    let next_arms = cx.blocks().iter().map(|s| {
        let state = ident(&s.name.name);
        let events = s.transitions.iter().map(|t| ident(&t.event.name));
        let targets = s.transitions.iter().map(|t| ident(&t.target.name));
        quote! {
            State::#state => match event {
                #( Event::#events { .. } => return ::core::result::Result::Ok(State::#targets), )*
                _ => {}
            },
        }
    });
    let meta = meta(cx);
    let plan_doc = format!(
        "The `{plan_name}` plan, compiled from `{}`. Its `plan_meta::rt::Plan::next` is the transition checker.",
        cx.file.display
    );

    quote! {
        #[doc = #plan_doc]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct Plan;

        impl ::plan_meta::rt::Plan for Plan {
            type State = State;
            type Event = Event;

            const NAME: &'static str = #plan_name;

            fn meta() -> &'static ::plan_meta::rt::PlanMeta {
                &META
            }

            #[inline]
            #[allow(unreachable_patterns)]
            fn next(state: State, event: &Event) -> ::core::result::Result<State, ::plan_meta::rt::TransitionError> {
                match state {
                    #(#next_arms)*
                    _ => {}
                }
                ::core::result::Result::Err(__plan_transition_error(state, event.kind()))
            }
        }

        /// Kept out of `next` so that the checker itself stays a small jump table.
        #[cold]
        #[inline(never)]
        fn __plan_transition_error(state: State, event: EventKind) -> ::plan_meta::rt::TransitionError {
            ::plan_meta::rt::TransitionError {
                plan: #plan_name,
                state: state.name(),
                event: event.name(),
                allowed: state.allowed_events().iter().map(|e| e.name()).collect(),
            }
        }

        #meta
    }
}

fn meta(cx: &Context) -> TokenStream {
    let states = cx.blocks().iter().map(|s| {
        let name = &s.name.name;
        let doc = s.doc.text();
        let line = s.span.line;
        let transitions = s.transitions.iter().map(|t| {
            let (event, arity, target, doc, line) =
                (&t.event.name, t.arity, &t.target.name, t.doc.text(), t.event_span.line);
            quote! {
                ::plan_meta::rt::TransitionMeta { event: #event, arity: #arity, target: #target, doc: #doc, line: #line }
            }
        });
        quote! {
            ::plan_meta::rt::StateMeta { name: #name, doc: #doc, line: #line, transitions: &[#(#transitions),*], terminal: false }
        }
    });
    let terminals = [(FINISHED, FINISHED_DOC), (ABORT, ABORT_DOC)].map(|(name, doc)| {
        quote! {
            ::plan_meta::rt::StateMeta { name: #name, doc: #doc, line: 0, transitions: &[], terminal: true }
        }
    });
    let (name, file, doc) = (&cx.file.name, &cx.file.display, cx.plan.doc.text());
    let meta_doc =
        format!("What the `{name}` plan says, for tools, docs and the resume validator.");
    quote! {
        #[doc = #meta_doc]
        pub static META: ::plan_meta::rt::PlanMeta = ::plan_meta::rt::PlanMeta {
            name: #name,
            file: #file,
            doc: #doc,
            states: &[#(#states,)* #(#terminals),*],
        };
    }
}

//! `enum Event` (with the payload types of the call), `enum EventKind`, and `PlanEvent`.

use super::{doc, ident, payload_alias, Context};
use proc_macro2::TokenStream;
use quote::quote;

pub(super) fn generate(cx: &Context) -> TokenStream {
    let events = cx.plan.events();
    let variants: Vec<_> = events.iter().map(|e| ident(e.name)).collect();
    let names: Vec<&str> = events.iter().map(|e| e.name).collect();
    let arities: Vec<usize> = events.iter().map(|e| e.arity).collect();
    let docs: Vec<TokenStream> = events.iter().map(|e| doc(&event_doc(cx, e.name))).collect();
    let fields = events.iter().map(|e| match cx.payloads.get(e.name) {
        Some(types) => quote! { (#(#types),*) },
        None => quote! {},
    });
    let aliases = events
        .iter()
        .filter_map(|e| cx.payloads.get(e.name).map(|types| (e.name, types)))
        .flat_map(|(name, types)| {
            types.iter().enumerate().map(move |(i, ty)| {
                let alias = payload_alias(name, i);
                quote! {
                    #[doc(hidden)]
                    #[allow(non_camel_case_types)]
                    type #alias = #ty;
                }
            })
        });
    let plan_name = &cx.file.name;
    let event_doc = format!(
        "The events of the `{plan_name}` plan ({}), in order of first use, with the payload types bound at the `plan!` call. `Debug` prints the name only: payloads may be large or secret.",
        cx.file.display
    );
    let kind_doc = format!("The events of the `{plan_name}` plan without their payloads.");

    quote! {
        #[doc = #event_doc]
        pub enum Event {
            #( #docs #variants #fields, )*
        }

        #(#aliases)*

        impl Event {
            pub const fn kind(&self) -> EventKind {
                match self { #( Event::#variants { .. } => EventKind::#variants, )* }
            }

            /// The event's name as written in the plan (`PC1`).
            pub const fn name(&self) -> &'static str {
                self.kind().name()
            }
        }

        impl ::core::fmt::Debug for Event {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::plan_meta::rt::PlanEvent for Event {
            fn name(&self) -> &'static str {
                Event::name(self)
            }
        }

        #[doc = #kind_doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            #( #docs #variants, )*
        }

        impl EventKind {
            /// Every event, in order of first use in the plan.
            pub const ALL: &'static [EventKind] = &[#(EventKind::#variants),*];

            pub const fn name(self) -> &'static str {
                match self { #( EventKind::#variants => #names, )* }
            }

            /// The number of payloads (`_` in the plan).
            pub const fn arity(self) -> usize {
                match self { #( EventKind::#variants => #arities, )* }
            }
        }

        impl ::core::fmt::Display for EventKind {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.pad(self.name())
            }
        }
    }
}

/// The comments of the event's transitions, one line per use.
fn event_doc(cx: &Context, event: &str) -> String {
    let uses: Vec<String> = cx
        .plan
        .states
        .iter()
        .flat_map(|s| s.transitions.iter().map(move |t| (s, t)))
        .filter(|(_, t)| t.event.name == event)
        .map(|(s, t)| {
            let comment = t.doc.text().replace('\n', " ");
            let comment = if comment.is_empty() {
                String::new()
            } else {
                format!(": {comment}")
            };
            format!("- `{}` → `{}`{comment}", s.name.name, t.target.name)
        })
        .collect();
    format!("Event `{event}`.\n\n{}", uses.join("\n"))
}

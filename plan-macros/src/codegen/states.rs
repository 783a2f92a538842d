//! `enum State` with its name conversions (Display, FromStr, serde) and `PlanState`.

use super::{doc, ident, transition_lines, Context};
use plan_meta::model::{ABORT, ABORT_DOC, FINISHED, FINISHED_DOC};
use proc_macro2::TokenStream;
use quote::quote;

pub(super) fn generate(cx: &Context) -> TokenStream {
    let plan_name = &cx.file.name;
    let names = cx.state_names();
    let variants: Vec<_> = names.iter().map(|n| ident(n)).collect();
    let docs: Vec<TokenStream> = names.iter().map(|n| doc(&state_doc(cx, n))).collect();
    let allowed = cx.blocks().iter().map(|s| {
        let state = ident(&s.name.name);
        let events = s.transitions.iter().map(|t| ident(&t.event.name));
        quote! { State::#state => &[#(EventKind::#events),*], }
    });
    let state_doc = format!(
        "The states of the `{plan_name}` plan ({}): its blocks in file order, then `Finished` and `Abort`. Displayed, parsed and serialized by name.",
        cx.file.display
    );

    quote! {
        #[doc = #state_doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum State {
            #( #docs #variants, )*
        }

        /// The names of every state, in [`State::ALL`] order.
        const __PLAN_STATE_NAMES: &[&str] = &[#(#names),*];

        impl State {
            /// Every state, in file order, then `Finished` and `Abort`.
            pub const ALL: &'static [State] = &[#(State::#variants),*];

            /// The state's name as written in the plan (`TreeDBuilt`).
            pub const fn name(self) -> &'static str {
                match self { #( State::#variants => #names, )* }
            }

            /// `Finished` or `Abort`: no handler runs and no event is allowed.
            pub const fn is_terminal(self) -> bool {
                matches!(self, State::Finished | State::Abort)
            }

            /// The events the plan allows in this state, in plan order (none for a terminal state).
            pub const fn allowed_events(self) -> &'static [EventKind] {
                match self {
                    #(#allowed)*
                    #[allow(unreachable_patterns)]
                    _ => &[],
                }
            }
        }

        impl ::core::fmt::Display for State {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.pad(self.name())
            }
        }

        impl ::core::str::FromStr for State {
            type Err = ::plan_meta::rt::UnknownState;

            /// The exact name of a state (case-sensitive).
            fn from_str(name: &str) -> ::core::result::Result<Self, Self::Err> {
                match name {
                    #( #names => ::core::result::Result::Ok(State::#variants), )*
                    _ => ::core::result::Result::Err(::plan_meta::rt::UnknownState {
                        plan: #plan_name,
                        name: ::core::convert::Into::into(name),
                        valid: __PLAN_STATE_NAMES,
                    }),
                }
            }
        }

        impl ::serde::Serialize for State {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for State {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                struct NameVisitor;
                impl<'de> ::serde::de::Visitor<'de> for NameVisitor {
                    type Value = State;
                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        ::core::write!(f, "a state name of the `{}` plan", #plan_name)
                    }
                    fn visit_str<E: ::serde::de::Error>(self, name: &str) -> ::core::result::Result<State, E> {
                        name.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(NameVisitor)
            }
        }

        impl ::plan_meta::rt::PlanState for State {
            const INITIAL: Self = State::Empty;
            const FINISHED: Self = State::Finished;
            const ABORT: Self = State::Abort;
            const ALL: &'static [Self] = State::ALL;

            fn name(self) -> &'static str {
                State::name(self)
            }
        }
    }
}

fn state_doc(cx: &Context, name: &str) -> String {
    match name {
        FINISHED => FINISHED_DOC.to_string(),
        ABORT => ABORT_DOC.to_string(),
        _ => {
            let block = cx
                .plan
                .state(name)
                .expect("a block for every ordinary state");
            let mut text = block.doc.text();
            if text.is_empty() {
                text = format!("State `{name}`.");
            }
            format!(
                "{text}\n\nEvents:\n{}",
                transition_lines(&block.transitions)
            )
        }
    }
}

//! Checks the `payloads` of a `plan!` call against the events of the plan: the plan says how
//! many values an event carries (`_` placeholders), the call says their Rust types.

use crate::input::{Binding, PlanInput};
use crate::locate::PlanFile;
use plan_meta::model::{EventInfo, Plan};
use std::collections::HashMap;
use syn::Type;

/// The payload types of every event that has payloads, by event name.
pub(crate) type PayloadTypes = HashMap<String, Vec<Type>>;

/// Returns the types, or one error per problem (unknown event, binding given twice, wrong number
/// of types, types for an event without payload, missing binding), combined.
pub(crate) fn check(plan: &Plan, input: &PlanInput, file: &PlanFile) -> syn::Result<PayloadTypes> {
    let events = plan.events();
    let mut errors: Vec<syn::Error> = Vec::new();
    let mut types = PayloadTypes::new();
    let mut seen: HashMap<String, &Binding> = HashMap::new();

    for binding in &input.bindings {
        let name = binding.event.to_string();
        let Some(event) = events.iter().find(|e| e.name == name) else {
            let mut message = format!("no event `{name}` in {}", file.display);
            if let Some(similar) = plan_meta::suggest::closest(&name, events.iter().map(|e| e.name))
            {
                message.push_str(&format!(": did you mean `{similar}`?"));
            }
            errors.push(syn::Error::new(binding.event.span(), message));
            continue;
        };
        if seen.insert(name.clone(), binding).is_some() {
            errors.push(syn::Error::new(
                binding.event.span(),
                format!("payload types of `{name}` are given twice"),
            ));
            continue;
        }
        let given = binding.types.as_ref().map_or(0, |(_, t)| t.len());
        if event.arity == 0 {
            errors.push(syn::Error::new(
                binding.event.span(),
                format!(
                    "`Event::{name}` carries no payload in {}: remove this entry",
                    place(file, event)
                ),
            ));
        } else if given != event.arity {
            let span = match &binding.types {
                Some((paren, _)) => paren.span.join(),
                None => binding.event.span(),
            };
            errors.push(syn::Error::new(
                span,
                format!(
                    "`Event::{name}{}` carries {} in {}, but {} given here",
                    event.first.placeholders(),
                    count(event.arity, "payload"),
                    place(file, event),
                    match given {
                        0 => "no type is".to_string(),
                        1 => "1 type is".to_string(),
                        n => format!("{n} types are"),
                    }
                ),
            ));
        } else if let Some((_, given)) = &binding.types {
            types.insert(name, given.clone());
        }
    }

    for event in events.iter().filter(|e| e.arity > 0) {
        if !seen.contains_key(event.name) {
            let blanks = vec!["<type>"; event.arity].join(", ");
            errors.push(syn::Error::new(
                input.payloads_span,
                format!(
                    "missing payload types for `Event::{}{}` ({}): add `{}({blanks})` to `payloads`",
                    event.name,
                    event.first.placeholders(),
                    place(file, event),
                    event.name
                ),
            ));
        }
    }

    match errors.into_iter().reduce(|mut all, e| {
        all.combine(e);
        all
    }) {
        Some(all) => Err(all),
        None => Ok(types),
    }
}

/// `plans/sealer.plan:44:5`: where the event is first used.
fn place(file: &PlanFile, event: &EventInfo<'_>) -> String {
    let span = event.first.event_span;
    format!("{}:{}:{}", file.display, span.line, span.col)
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

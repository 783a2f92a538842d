//! `plan!`: compiles a plan file (`plans/*.plan`) into typed Rust, so that the task flow the
//! documentation shows is the one the worker runs, and a flow the plan does not allow does not
//! compile.
//!
//! ```ignore
//! pub mod sealer {
//!     plan_macros::plan! {
//!         file: "../plans/sealer.plan", // relative to the invoking crate's Cargo.toml
//!         payloads: {
//!             Allocate(AllocatedSector),
//!             PC1(Ticket, PC1Out),
//!             // one entry per event that has `_` payloads in the plan
//!         }
//!     }
//! }
//! ```
//!
//! In the module of the call this generates `State`, `Event`, `EventKind`, `Plan` (implementing
//! `plan_meta::rt::Plan`), `META`, `mod outcome`, `trait Handlers` and `dispatch`. The invoking
//! crate must depend on `plan-meta` and `serde`.
//!
//! Errors in the plan file are reported as rustc-like messages pointing into the plan file (the
//! same text as `plan_meta::check_file`), all of them, at the `file:` literal; errors in
//! `payloads` point at the offending tokens.

mod codegen;
mod input;
mod locate;
mod payloads;

use input::PlanInput;
use locate::PlanFile;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use std::path::PathBuf;

#[proc_macro]
pub fn plan(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let caller = proc_macro::Span::call_site().local_file();
    let input = syn::parse_macro_input!(input as PlanInput);
    expand(&input, caller).into()
}

fn expand(input: &PlanInput, caller: Option<PathBuf>) -> TokenStream {
    let file = match PlanFile::find(&input.file, caller) {
        Ok(file) => file,
        Err(e) => return e.to_compile_error(),
    };
    // Makes cargo rebuild the caller when the plan changes, whatever the outcome below.
    let path = file.path.to_string_lossy().into_owned();
    let track = quote! { const _: &[u8] = ::core::include_bytes!(#path); };

    let src = match std::fs::read_to_string(&file.path) {
        Ok(src) => src,
        Err(e) => {
            let message = format!("cannot read plan file `{}`: {e}", file.display);
            return syn::Error::new(input.file.span(), message).to_compile_error();
        }
    };
    let plan = match plan_meta::parse_and_validate(&src) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            // One compile error per problem, each the rendered diagnostic minus the `error: `
            // that rustc adds itself.
            let errors = diagnostics.iter().map(|d| {
                let text = d.render(&src, &file.display);
                let text = text
                    .strip_prefix("error: ")
                    .unwrap_or(&text)
                    .trim_end()
                    .to_string();
                quote_spanned! { input.file.span()=> ::core::compile_error! { #text } }
            });
            return quote! { #track #(#errors)* };
        }
    };
    let payloads = match payloads::check(&plan, input, &file) {
        Ok(payloads) => payloads,
        Err(e) => {
            let errors = e.to_compile_error();
            return quote! { #track #errors };
        }
    };
    let items = codegen::generate(&plan, &file, &payloads);
    quote! { #track #items }
}

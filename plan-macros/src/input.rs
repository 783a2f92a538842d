//! The tokens of a `plan!` call:
//!
//! ```text
//! file: "../plans/sealer.plan",
//! payloads: { Allocate(AllocatedSector), PC1(Ticket, PC1Out), },
//! ```
//!
//! `payloads` may be omitted when no event carries a payload.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, parenthesized, token, Ident, LitStr, Token, Type};

pub(crate) struct PlanInput {
    pub file: LitStr,
    /// The `payloads` keyword (call site when omitted): where missing bindings are reported.
    pub payloads_span: Span,
    pub bindings: Vec<Binding>,
}

/// `Event(Type, ...)`, or a bare `Event` (always an error: it binds no type).
pub(crate) struct Binding {
    pub event: Ident,
    pub types: Option<(token::Paren, Vec<Type>)>,
}

impl Parse for PlanInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        key(input, "file")?;
        let file: LitStr = input.parse()?;
        let mut payloads_span = Span::call_site();
        let mut bindings = Vec::new();
        if input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            payloads_span = key(input, "payloads")?;
            let content;
            braced!(content in input);
            bindings = Punctuated::<Binding, Token![,]>::parse_terminated(&content)?
                .into_iter()
                .collect();
            input.parse::<Option<Token![,]>>()?;
        }
        if !input.is_empty() {
            return Err(input.error(
                "unexpected tokens after the plan! arguments `file: \"...\", payloads: { ... }`",
            ));
        }
        Ok(PlanInput {
            file,
            payloads_span,
            bindings,
        })
    }
}

/// `name:`; returns the span of the name.
fn key(input: ParseStream, name: &str) -> syn::Result<Span> {
    let ident: Ident = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `{name}:`")))?;
    if ident != name {
        return Err(syn::Error::new(
            ident.span(),
            format!("expected `{name}:`, found `{ident}`"),
        ));
    }
    input.parse::<Token![:]>()?;
    Ok(ident.span())
}

impl Parse for Binding {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let event: Ident = input.parse()?;
        let types = if input.peek(token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let types = Punctuated::<Type, Token![,]>::parse_terminated(&content)?;
            Some((paren, types.into_iter().collect()))
        } else {
            None
        };
        Ok(Binding { event, types })
    }
}

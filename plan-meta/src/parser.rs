//! Recursive-descent parser of the plan notation, with error recovery.
//!
//! Grammar (comments are not tokens; see the lexer):
//!
//! ```text
//! plan       = { block [ "," ] } ;
//! block      = "State" "::" Name "=>" "{" [ transition { "," transition } [ "," ] ] "}" ;
//! transition = "Event" "::" Name [ "(" "_" { "," "_" } [ "," ] ")" ] "=>" "State" "::" Name ;
//! Name       = ASCII capital letter, then ASCII letters and digits ;
//! ```
//!
//! So the comma after a block's `}` and after the last transition of a block is optional (the
//! next token tells where the item ends), while the comma between two transitions is required:
//! a transition may span lines, so without it a forgotten comma and a continued line could not
//! be told apart.
//!
//! Every error is reported and parsing goes on. A missing `::`, `=>`, `{`, `,` or `}` is
//! assumed present when the next token shows what was meant, so the rest of the plan is kept
//! intact. Otherwise the broken transition (or block header) is skipped up to the next `,`,
//! `}`, line-opening `Event` or block header, and the plan is marked incomplete.

use crate::diagnostics::Diagnostic;
use crate::lexer::{Lexed, Token, TokenKind};
use crate::model::{placeholders, Ident, Plan, StateBlock, Transition};
use crate::span::Span;
use crate::suggest;

pub(crate) struct Parsed {
    pub plan: Plan,
    /// False when recovery dropped part of the file. Graph checks (reachability, traps) are then
    /// skipped: they would blame states for the dropped part.
    pub complete: bool,
}

pub(crate) fn parse(lexed: &Lexed, diagnostics: &mut Vec<Diagnostic>) -> Parsed {
    let mut parser = Parser {
        lexed,
        toks: &lexed.tokens,
        pos: 0,
        diagnostics,
        complete: true,
    };
    let plan = parser.plan();
    Parsed {
        plan,
        complete: parser.complete,
    }
}

/// Why a name is not a valid state or event name, if it is not.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_uppercase());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric()) {
        Some("not an UpperCamelCase ASCII name")
    } else if name == "Self" {
        Some("`Self` is reserved in Rust")
    } else {
        None
    }
}

/// `pc1_done` -> `Pc1Done`: the valid name closest to what was written, if there is one.
fn camelize(name: &str) -> Option<String> {
    let fixed: String = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect();
    (fixed != name && name_problem(&fixed).is_none()).then_some(fixed)
}

/// A construct could not be parsed and the caller must resynchronise; the error is reported.
struct Lost;

const BLOCK_SHAPE: &str = "a state block reads `State::A => { Event::B => State::C, },`";
const TRANSITION_SHAPE: &str = "a transition reads `Event::B => State::C,`";

struct Parser<'a> {
    lexed: &'a Lexed,
    toks: &'a [Token],
    pos: usize,
    diagnostics: &'a mut Vec<Diagnostic>,
    complete: bool,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }

    fn kind_at(&self, ahead: usize) -> &TokenKind {
        self.toks
            .get(self.pos + ahead)
            .map_or(&TokenKind::Eof, |t| &t.kind)
    }

    /// Consumes the next token (never past `Eof`, the last token).
    fn bump(&mut self) -> Token {
        let tok = self.toks[self.pos].clone();
        if tok.kind != TokenKind::Eof {
            self.pos += 1;
        }
        tok
    }

    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn first_on_line(&self) -> bool {
        self.pos == 0 || self.toks[self.pos - 1].span.end_line < self.peek().span.line
    }

    /// `State :: Name` then `=>` or `{`: a block header, as opposed to a transition target.
    fn at_block_header(&self) -> bool {
        self.peek().kind.is_word("State")
            && *self.kind_at(1) == TokenKind::PathSep
            && matches!(self.kind_at(2), TokenKind::Word(_))
            && matches!(self.kind_at(3), TokenKind::FatArrow | TokenKind::OpenBrace)
    }

    fn plan(&mut self) -> Plan {
        let mut plan = Plan {
            doc: self.lexed.file_doc(),
            states: Vec::new(),
        };
        loop {
            let tok = self.peek().clone();
            match &tok.kind {
                TokenKind::Eof => break,
                kind if kind.is_word("State") => {
                    if let Some(block) = self.block() {
                        plan.states.push(block);
                    }
                }
                TokenKind::Comma => {
                    self.error(
                        Diagnostic::new("unexpected `,`", tok.span)
                            .label("a block is followed by at most one comma")
                            .help("remove this comma"),
                    );
                    self.bump();
                }
                kind => {
                    let help = match kind {
                        TokenKind::Word(w) if suggest::closest(w, ["State"]).is_some() => {
                            format!("did you mean `State`? {BLOCK_SHAPE}")
                        }
                        _ => format!("a plan is a list of state blocks; {BLOCK_SHAPE}"),
                    };
                    self.error(
                        Diagnostic::new(
                            format!("expected a state block, found {}", kind.describe()),
                            tok.span,
                        )
                        .label("expected `State::Name => { ... }`")
                        .help(help),
                    );
                    self.complete = false;
                    self.bump();
                    self.skip_to_block();
                }
            }
        }
        plan
    }

    /// After a broken block header: skips to the next `State` that opens a line or a block.
    fn skip_to_block(&mut self) {
        while self.peek().kind != TokenKind::Eof
            && !(self.peek().kind.is_word("State")
                && (self.first_on_line() || self.at_block_header()))
        {
            self.bump();
        }
    }

    /// After a broken transition: skips past the next `,`, or to the next `}`, line-opening
    /// `Event` or block header.
    fn skip_in_block(&mut self) {
        self.complete = false;
        loop {
            match &self.peek().kind {
                TokenKind::Comma => {
                    self.bump();
                    return;
                }
                TokenKind::CloseBrace | TokenKind::Eof => return,
                _ if self.at_block_header() => return,
                kind if kind.is_word("Event") && self.first_on_line() => return,
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// `State::Name => { transitions }` and its optional trailing comma. The cursor is on `State`.
    fn block(&mut self) -> Option<StateBlock> {
        let keyword = self.bump();
        let header = self.block_header(&keyword);
        let Ok((name, open)) = header else {
            self.complete = false;
            self.skip_to_block();
            return None;
        };
        let mut transitions = Vec::new();
        loop {
            let tok = self.peek().clone();
            match &tok.kind {
                TokenKind::CloseBrace => {
                    self.bump();
                    if self.peek().kind == TokenKind::Comma {
                        self.bump();
                    }
                    break;
                }
                TokenKind::Eof => {
                    self.error(unclosed_block(&name, open, None));
                    break;
                }
                _ if self.at_block_header() => {
                    let next = tok.span.to(self.toks[self.pos + 2].span);
                    self.error(unclosed_block(&name, open, Some(next)));
                    break;
                }
                kind if kind.is_word("Event") => match self.transition() {
                    Ok(transition) => transitions.push(transition),
                    Err(Lost) => self.skip_in_block(),
                },
                TokenKind::Comma => {
                    self.error(
                        Diagnostic::new("unexpected `,`", tok.span)
                            .label("a transition is followed by one comma")
                            .help("remove this comma"),
                    );
                    self.bump();
                }
                kind => {
                    let help = match kind {
                        TokenKind::Word(w) if suggest::closest(w, ["Event"]).is_some() => {
                            format!("did you mean `Event`? {TRANSITION_SHAPE}")
                        }
                        _ => format!("{TRANSITION_SHAPE}, and the block ends with `}}`"),
                    };
                    self.error(
                        Diagnostic::new(
                            format!(
                                "expected a transition or `}}` in the block of `State::{}`, found {}",
                                name.name,
                                kind.describe()
                            ),
                            tok.span,
                        )
                        .label("expected `Event::Name => State::Name` or `}`")
                        .help(help),
                    );
                    self.bump();
                    self.skip_in_block();
                }
            }
        }
        Some(StateBlock {
            span: keyword.span.to(name.span),
            doc: self.lexed.doc_above(keyword.span.line),
            name,
            transitions,
        })
    }

    /// `:: Name => {` after `State`; returns the name and the span of the `{`.
    fn block_header(&mut self, keyword: &Token) -> Result<(Ident, Span), Lost> {
        let name = self.path_rest("State", "state")?;
        let written = format!("State::{}", name.name);
        self.fat_arrow(&written, keyword.span.to(name.span), BLOCK_SHAPE, |k| {
            *k == TokenKind::OpenBrace
        })?;
        let tok = self.peek().clone();
        match &tok.kind {
            TokenKind::OpenBrace => Ok((name, self.bump().span)),
            kind => {
                self.error(
                    Diagnostic::new(format!("missing `{{` after `{written} =>`"), tok.span)
                        .label(format!("expected `{{`, found {}", kind.describe()))
                        .help(BLOCK_SHAPE),
                );
                // Transitions right after `=>` show that only the brace is missing.
                if kind.is_word("Event") {
                    Ok((name, tok.span))
                } else {
                    Err(Lost)
                }
            }
        }
    }

    /// `:: Name` after the keyword `State` or `Event` (just consumed).
    fn path_rest(&mut self, keyword: &str, what: &str) -> Result<Ident, Lost> {
        let tok = self.peek().clone();
        match &tok.kind {
            TokenKind::PathSep => {
                self.bump();
            }
            TokenKind::Stray(s) if s == ":" => {
                self.error(
                    Diagnostic::new(
                        format!("expected `::` after `{keyword}`, found `:`"),
                        tok.span,
                    )
                    .label("expected `::`")
                    .help(format!("write `{keyword}::Name`")),
                );
                self.bump();
            }
            TokenKind::Word(w) => {
                self.error(
                    Diagnostic::new(
                        format!("missing `::` between `{keyword}` and `{w}`"),
                        tok.span,
                    )
                    .label("expected `::` before this name")
                    .help(format!("write `{keyword}::{w}`")),
                );
            }
            kind => {
                self.error(
                    Diagnostic::new(
                        format!("expected `::` after `{keyword}`, found {}", kind.describe()),
                        tok.span,
                    )
                    .label("expected `::`")
                    .help(format!("write `{keyword}::Name`")),
                );
                return Err(Lost);
            }
        }
        self.name(keyword, what)
    }

    fn name(&mut self, keyword: &str, what: &str) -> Result<Ident, Lost> {
        let tok = self.peek().clone();
        match &tok.kind {
            TokenKind::Word(w) if w != "_" => {
                self.bump();
                if let Some(problem) = name_problem(w) {
                    let help = match camelize(w) {
                        Some(fixed) => format!("did you mean `{fixed}`? Names start with an ASCII capital letter followed by ASCII letters and digits: they become Rust enum variants"),
                        None => "names start with an ASCII capital letter followed by ASCII letters and digits: they become Rust enum variants".to_string(),
                    };
                    self.error(
                        Diagnostic::new(format!("invalid {what} name `{w}`"), tok.span)
                            .label(problem)
                            .help(help),
                    );
                }
                Ok(Ident {
                    name: w.clone(),
                    span: tok.span,
                })
            }
            kind => {
                self.error(
                    Diagnostic::new(
                        format!(
                            "expected a {what} name after `{keyword}::`, found {}",
                            kind.describe()
                        ),
                        tok.span,
                    )
                    .label(format!("expected a {what} name"))
                    .help(format!(
                        "write `{keyword}::Name` with an UpperCamelCase name"
                    )),
                );
                Err(Lost)
            }
        }
    }

    /// Expects `=>` after `written` (at `before`). A stray `=` or `->`, or nothing at all, is
    /// reported and accepted when the next token is what follows an arrow (`follows`).
    fn fat_arrow(
        &mut self,
        written: &str,
        before: Span,
        shape: &str,
        follows: fn(&TokenKind) -> bool,
    ) -> Result<(), Lost> {
        let tok = self.peek().clone();
        if tok.kind == TokenKind::FatArrow {
            self.bump();
            return Ok(());
        }
        let (span, label) = match &tok.kind {
            TokenKind::Stray(_) => (
                tok.span,
                format!("expected `=>`, found {}", tok.kind.describe()),
            ),
            _ => (before.after(), "expected `=>` here".to_string()),
        };
        self.error(
            Diagnostic::new(format!("missing `=>` after `{written}`"), span)
                .label(label)
                .help(shape),
        );
        match &tok.kind {
            TokenKind::Stray(_) if follows(self.kind_at(1)) => {
                self.bump();
                Ok(())
            }
            kind if follows(kind) => Ok(()),
            _ => Err(Lost),
        }
    }

    /// `Event::Name(_, _) => State::Target` and the separator after it. The cursor is on `Event`.
    fn transition(&mut self) -> Result<Transition, Lost> {
        let keyword = self.bump();
        let event = self.path_rest("Event", "event")?;
        let mut event_span = keyword.span.to(event.span);
        let mut arity = 0;
        if self.peek().kind == TokenKind::OpenParen {
            let (count, close) = self.payloads(&event)?;
            arity = count;
            event_span = event_span.to(close);
        }
        let written = format!("Event::{}{}", event.name, placeholders(arity));
        self.fat_arrow(&written, event_span, TRANSITION_SHAPE, |k| {
            k.is_word("State")
        })?;

        let target_keyword = self.peek().clone();
        match &target_keyword.kind {
            kind if kind.is_word("State") => {}
            TokenKind::Word(w) if suggest::closest(w, ["State"]).is_some() => {
                self.error(
                    Diagnostic::new(
                        format!("expected `State::Name` after `=>`, found `{w}`"),
                        target_keyword.span,
                    )
                    .label("expected `State`")
                    .help("did you mean `State`?"),
                );
            }
            kind => {
                self.error(
                    Diagnostic::new(
                        format!(
                            "expected the target state after `{written} =>`, found {}",
                            kind.describe()
                        ),
                        target_keyword.span,
                    )
                    .label("expected `State::Name`")
                    .help(TRANSITION_SHAPE),
                );
                return Err(Lost);
            }
        }
        self.bump();
        let target = self.path_rest("State", "state")?;
        let target_span = target_keyword.span.to(target.span);

        let next = self.peek().clone();
        match &next.kind {
            TokenKind::Comma => {
                self.bump();
            }
            TokenKind::CloseBrace | TokenKind::Eof => {}
            _ if self.at_block_header() => {}
            kind if kind.is_word("Event") => self.error(
                Diagnostic::new("missing `,` after a transition", target_span.after())
                    .label("expected `,`")
                    .help(format!(
                        "transitions are separated by commas: `{written} => State::{},`",
                        target.name
                    )),
            ),
            kind => {
                self.error(
                    Diagnostic::new(
                        format!(
                            "expected `,` or `}}` after the transition, found {}",
                            kind.describe()
                        ),
                        next.span,
                    )
                    .label("unexpected token")
                    .help(format!(
                        "{TRANSITION_SHAPE}; remove what follows the target"
                    )),
                );
                self.skip_in_block();
            }
        }
        Ok(Transition {
            doc: self.lexed.doc_above(keyword.span.line),
            event,
            arity,
            event_span,
            target,
            target_span,
        })
    }

    /// `( _, _ )`: returns the number of placeholders and the span of `)`.
    fn payloads(&mut self, event: &Ident) -> Result<(usize, Span), Lost> {
        let open = self.bump().span;
        let mut arity = 0;
        let mut typed: Option<Span> = None;
        let close = loop {
            let tok = self.peek().clone();
            match &tok.kind {
                TokenKind::CloseParen => break self.bump().span,
                TokenKind::Word(w) => {
                    self.bump();
                    arity += 1;
                    if w != "_" && typed.is_none() {
                        typed = Some(tok.span);
                    }
                    match self.peek().kind {
                        TokenKind::Comma => {
                            self.bump();
                        }
                        TokenKind::CloseParen => {}
                        TokenKind::Word(_) => self.error(
                            Diagnostic::new(
                                "missing `,` between payload placeholders",
                                tok.span.after(),
                            )
                            .label("expected `,`")
                            .help("write `(_, _)`"),
                        ),
                        _ => return Err(self.unclosed_paren(open)),
                    }
                }
                _ => return Err(self.unclosed_paren(open)),
            }
        };
        if let Some(span) = typed {
            self.error(
                Diagnostic::new("payload types are not written in a plan", span)
                    .label("expected `_`")
                    .help(format!(
                        "write `Event::{}{}` and bind the Rust types in the `payloads` of the `plan!` call",
                        event.name,
                        placeholders(arity)
                    )),
            );
        }
        if arity == 0 {
            self.error(
                Diagnostic::new(
                    format!("empty payload list of `Event::{}`", event.name),
                    open.to(close),
                )
                .label("expected `_` placeholders")
                .help(format!(
                    "an event without payload is written without parentheses: `Event::{}`",
                    event.name
                )),
            );
        }
        Ok((arity, close))
    }

    fn unclosed_paren(&mut self, open: Span) -> Lost {
        let tok = self.peek().clone();
        self.error(
            Diagnostic::new(
                format!(
                    "expected `_`, `,` or `)` in a payload list, found {}",
                    tok.kind.describe()
                ),
                tok.span,
            )
            .label("unexpected token")
            .secondary(open, "payload list opened here")
            .help("payloads are written `(_)`, `(_, _)`, ...: one `_` per payload"),
        );
        Lost
    }
}

fn unclosed_block(name: &Ident, open: Span, next: Option<Span>) -> Diagnostic {
    let diagnostic = Diagnostic::new(format!("unclosed block of `State::{}`", name.name), open)
        .label("this `{` is never closed");
    match next {
        Some(next) => diagnostic
            .secondary(next, "the next block starts here")
            .help("close the block with `},` before the next block"),
        None => diagnostic.help("close the block with `},` before the end of the file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camelize_fixes_common_mistakes() {
        assert_eq!(camelize("pc1_done").as_deref(), Some("Pc1Done"));
        assert_eq!(camelize("Tree_D").as_deref(), Some("TreeD"));
        assert_eq!(camelize("1Foo"), None);
        assert_eq!(camelize("Fine"), None);
    }

    #[test]
    fn name_rules() {
        assert!(name_problem("PC1Done").is_none());
        assert!(name_problem("pc1").is_some());
        assert!(name_problem("Pc_1").is_some());
        assert!(name_problem("État").is_some());
        assert!(name_problem("Self").is_some());
    }
}

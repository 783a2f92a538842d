//! Splits a plan file into tokens and comments.
//!
//! The lexer never fails: characters that cannot start a token become `Stray` tokens, which the
//! parser reports with the rest of the file's errors. Comments are kept apart from the tokens
//! because they carry documentation, attached by line adjacency (see [`Lexed::doc_above`]).

use crate::model::Doc;
use crate::span::Span;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A run of letters (of any script), digits and `_`. Names are checked by the parser, so a
    /// bad name such as `pc1_done` or `1Foo` is reported as one bad name, not as stray characters.
    Word(String),
    PathSep,
    FatArrow,
    OpenBrace,
    CloseBrace,
    OpenParen,
    CloseParen,
    Comma,
    /// A run of characters that start no token, e.g. `;` or `->`.
    Stray(String),
    Eof,
}

impl TokenKind {
    /// How a message names the token.
    pub(crate) fn describe(&self) -> String {
        match self {
            TokenKind::Word(w) | TokenKind::Stray(w) => format!("`{w}`"),
            TokenKind::PathSep => "`::`".into(),
            TokenKind::FatArrow => "`=>`".into(),
            TokenKind::OpenBrace => "`{`".into(),
            TokenKind::CloseBrace => "`}`".into(),
            TokenKind::OpenParen => "`(`".into(),
            TokenKind::CloseParen => "`)`".into(),
            TokenKind::Comma => "`,`".into(),
            TokenKind::Eof => "end of file".into(),
        }
    }

    pub(crate) fn is_word(&self, word: &str) -> bool {
        matches!(self, TokenKind::Word(w) if w == word)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// The tokens of a file (always ending with `Eof`) and its own-line comments by line.
pub(crate) struct Lexed {
    pub tokens: Vec<Token>,
    /// Text after `//` (trailing whitespace removed) of each comment that is alone on its line.
    /// Comments after code on the same line are not documentation and are dropped.
    own_line_comments: BTreeMap<u32, String>,
    /// Lines holding at least one token.
    code_lines: Vec<u32>,
}

impl Lexed {
    /// The comment block directly above `line` (no blank line in between), top to bottom.
    pub(crate) fn doc_above(&self, line: u32) -> Doc {
        let mut lines = Vec::new();
        let mut at = line;
        while at > 1 {
            at -= 1;
            match self.own_line_comments.get(&at) {
                Some(text) => lines.push(text.clone()),
                None => break,
            }
        }
        lines.reverse();
        Doc { lines }
    }

    /// The file doc: a comment block that opens the file and is followed by a blank line (or by
    /// nothing). A block that runs straight into the first state documents that state instead.
    pub(crate) fn file_doc(&self) -> Doc {
        let Some((&first, _)) = self.own_line_comments.iter().next() else {
            return Doc::default();
        };
        if self.code_lines.first().is_some_and(|&code| code < first) {
            return Doc::default();
        }
        let mut lines = Vec::new();
        let mut at = first;
        while let Some(text) = self.own_line_comments.get(&at) {
            lines.push(text.clone());
            at += 1;
        }
        // `at` is the first line after the block: it must not hold code.
        if self.code_lines.binary_search(&at).is_ok() {
            return Doc::default();
        }
        Doc { lines }
    }
}

pub(crate) fn lex(src: &str) -> Lexed {
    let mut lexer = Lexer {
        chars: src.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
        tokens: Vec::new(),
        own_line_comments: BTreeMap::new(),
        code_lines: Vec::new(),
    };
    if lexer.peek(0) == Some('\u{feff}') {
        lexer.pos += 1; // a byte order mark is not part of the text
    }
    lexer.run();
    let eof = lexer
        .tokens
        .last()
        .map(|t| t.span.after())
        .unwrap_or(Span::point(1, 1));
    lexer.tokens.push(Token {
        kind: TokenKind::Eof,
        span: eof,
    });
    Lexed {
        tokens: lexer.tokens,
        own_line_comments: lexer.own_line_comments,
        code_lines: lexer.code_lines,
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    col: u32,
    tokens: Vec<Token>,
    own_line_comments: BTreeMap<u32, String>,
    code_lines: Vec<u32>,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> char {
        let c = self.chars[self.pos];
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        c
    }

    fn line_has_code(&self) -> bool {
        self.code_lines.last() == Some(&self.line)
    }

    /// True when the next characters open a token that a stray run must not swallow.
    fn at_token_start(&self) -> bool {
        match (self.peek(0), self.peek(1)) {
            (Some(c), _) if c.is_whitespace() || is_word_char(c) => true,
            (Some('{' | '}' | '(' | ')' | ','), _) => true,
            (Some('/'), Some('/')) | (Some(':'), Some(':')) | (Some('='), Some('>')) => true,
            (None, _) => true,
            _ => false,
        }
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            if c.is_whitespace() {
                self.bump(); // includes '\r' (CRLF files) and tabs
                continue;
            }
            if c == '/' && self.peek(1) == Some('/') {
                self.comment();
                continue;
            }
            let (line, col) = (self.line, self.col);
            let kind = match (c, self.peek(1)) {
                (':', Some(':')) => self.fixed(2, TokenKind::PathSep),
                ('=', Some('>')) => self.fixed(2, TokenKind::FatArrow),
                ('{', _) => self.fixed(1, TokenKind::OpenBrace),
                ('}', _) => self.fixed(1, TokenKind::CloseBrace),
                ('(', _) => self.fixed(1, TokenKind::OpenParen),
                (')', _) => self.fixed(1, TokenKind::CloseParen),
                (',', _) => self.fixed(1, TokenKind::Comma),
                _ if is_word_char(c) => {
                    let mut word = String::new();
                    while self.peek(0).is_some_and(is_word_char) {
                        word.push(self.bump());
                    }
                    TokenKind::Word(word)
                }
                _ => {
                    let mut run = String::from(self.bump());
                    while !self.at_token_start() {
                        run.push(self.bump());
                    }
                    TokenKind::Stray(run)
                }
            };
            if !self.line_has_code() {
                self.code_lines.push(line);
            }
            self.tokens.push(Token {
                kind,
                span: Span {
                    line,
                    col,
                    end_line: self.line,
                    end_col: self.col,
                },
            });
        }
    }

    fn fixed(&mut self, len: usize, kind: TokenKind) -> TokenKind {
        for _ in 0..len {
            self.bump();
        }
        kind
    }

    fn comment(&mut self) {
        let (line, own_line) = (self.line, !self.line_has_code());
        self.bump();
        self.bump();
        let mut text = String::new();
        while self.peek(0).is_some_and(|c| c != '\n') {
            text.push(self.bump());
        }
        if own_line {
            self.own_line_comments
                .insert(line, text.trim_end().to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        lex(src).tokens.into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn tokens_and_positions() {
        let lexed = lex("State::A => {\n\tEvent::B(_) => State::C,\n}");
        let t = &lexed.tokens;
        assert_eq!(t[0].kind, TokenKind::Word("State".into()));
        assert_eq!(t[1].kind, TokenKind::PathSep);
        assert_eq!(t[3].kind, TokenKind::FatArrow);
        // The tab counts as one column.
        assert_eq!(
            t[5].span,
            Span {
                line: 2,
                col: 2,
                end_line: 2,
                end_col: 7
            }
        );
        assert_eq!(t.last().unwrap().kind, TokenKind::Eof);
    }

    #[test]
    fn stray_runs_stop_at_tokens() {
        assert_eq!(
            kinds("A -> B;; =>x"),
            vec![
                TokenKind::Word("A".into()),
                TokenKind::Stray("->".into()),
                TokenKind::Word("B".into()),
                TokenKind::Stray(";;".into()),
                TokenKind::FatArrow,
                TokenKind::Word("x".into()),
                TokenKind::Eof,
            ]
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let lexed = lex("// é\nÉtat");
        assert_eq!(lexed.tokens[0].kind, TokenKind::Word("État".into()));
        assert_eq!(lexed.tokens[0].span.end_col, 5);
    }

    #[test]
    fn trailing_comments_are_not_docs() {
        let lexed = lex("A // trailing\n// own\nB");
        assert_eq!(lexed.doc_above(2).lines, Vec::<String>::new());
        assert_eq!(lexed.doc_above(3).lines, vec![" own".to_string()]);
    }

    #[test]
    fn file_doc_needs_a_blank_line() {
        assert_eq!(lex("// doc\n\nState").file_doc().lines, vec![" doc"]);
        assert!(lex("// doc\nState").file_doc().lines.is_empty());
        assert_eq!(
            lex("// only a comment").file_doc().lines,
            vec![" only a comment"]
        );
    }
}

//! Errors about a plan file and their rustc-like rendering.
//!
//! One renderer serves the `plan!` macro (as `compile_error!` text) and the `venus-worker plan`
//! tools, so a plan error reads the same in a build and on the command line.

use crate::span::Span;
use std::fmt::Write as _;

/// One error in a plan file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    /// Where the error is; its position is the one in the `--> file:line:col` header.
    pub span: Span,
    /// Text printed after the carets of `span`.
    pub label: Option<String>,
    /// Related places, underlined with `-` (e.g. the first definition of a duplicate).
    pub secondary: Vec<(Span, String)>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            message: message.into(),
            span,
            label: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.label = Some(text.into());
        self
    }

    pub fn secondary(mut self, span: Span, text: impl Into<String>) -> Self {
        self.secondary.push((span, text.into()));
        self
    }

    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    /// Renders the error like rustc does, showing the lines of `src` it points at:
    ///
    /// ```text
    /// error: transition to undefined state `PC2Dnoe`
    ///   --> plans/sealer.plan:47:22
    ///    |
    /// 47 |     Event::PC2(_) => State::PC2Dnoe,
    ///    |                      ^^^^^^^^^^^^^^
    ///    = help: did you mean `PC2Done`? ...
    /// ```
    ///
    /// `path` is printed as given (see [`crate::display_path`]). Ends with a newline.
    pub fn render(&self, src: &str, path: &str) -> String {
        let lines: Vec<&str> = src
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        let mut marks: Vec<(Span, char, Option<&str>)> =
            vec![(self.span, '^', self.label.as_deref())];
        marks.extend(
            self.secondary
                .iter()
                .map(|(s, l)| (*s, '-', Some(l.as_str()))),
        );
        marks.sort_by_key(|m| (m.0.line, m.0.col));

        let width = marks
            .iter()
            .map(|m| m.0.line.to_string().len())
            .max()
            .unwrap_or(1);
        let pad = " ".repeat(width);
        let mut out = String::new();
        let _ = writeln!(out, "error: {}", self.message);
        let _ = writeln!(out, "{pad}--> {path}:{}:{}", self.span.line, self.span.col);
        let _ = writeln!(out, "{pad} |");
        let mut shown: Option<u32> = None;
        for &(span, marker, label) in &marks {
            if shown != Some(span.line) {
                if shown.is_some_and(|prev| span.line > prev + 1) {
                    out.push_str("...\n");
                }
                let text = lines.get(span.line as usize - 1).copied().unwrap_or("");
                let source_line = format!("{:<width$} | {}", span.line, expand_tabs(text));
                let _ = writeln!(out, "{}", source_line.trim_end());
                shown = Some(span.line);
            }
            let text = lines.get(span.line as usize - 1).copied().unwrap_or("");
            let start = display_width(text, span.col);
            let end = if span.end_line == span.line {
                display_width(text, span.end_col)
            } else {
                display_width(text, u32::MAX)
            };
            let carets = marker.to_string().repeat(end.saturating_sub(start).max(1));
            let label = label.map(|l| format!(" {l}")).unwrap_or_default();
            let _ = writeln!(out, "{pad} | {}{carets}{label}", " ".repeat(start));
        }
        for note in &self.notes {
            let _ = writeln!(out, "{pad} = note: {note}");
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }
}

/// Renders every diagnostic, separated by blank lines, in the order given.
pub fn render_all(diagnostics: &[Diagnostic], src: &str, path: &str) -> String {
    diagnostics
        .iter()
        .map(|d| d.render(src, path))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Tabs are shown as four spaces, as rustc does, so carets line up in any terminal.
fn expand_tabs(text: &str) -> String {
    text.replace('\t', "    ")
}

/// Display columns before 1-based character column `col` of `text` (tabs count four).
fn display_width(text: &str, col: u32) -> usize {
    text.chars()
        .take(col.saturating_sub(1) as usize)
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum::<usize>()
        + (col.saturating_sub(1) as usize).saturating_sub(text.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let src = "State::A => {\n    Event::PC2(_) => State::PC2Dnoe,\n},\n";
        let d = Diagnostic::new(
            "transition to undefined state `PC2Dnoe`",
            Span {
                line: 2,
                col: 22,
                end_line: 2,
                end_col: 36,
            },
        )
        .help("did you mean `PC2Done`?");
        assert_eq!(
            d.render(src, "plans/x.plan"),
            "error: transition to undefined state `PC2Dnoe`\n \
             --> plans/x.plan:2:22\n  \
             |\n\
             2 |     Event::PC2(_) => State::PC2Dnoe,\n  \
             |                      ^^^^^^^^^^^^^^\n  \
             = help: did you mean `PC2Done`?\n"
        );
    }

    #[test]
    fn secondary_spans_and_gaps() {
        let src = "a\nb\nc\nd\ne\nf\ng\nh\ni\nState::A\n";
        let d = Diagnostic::new(
            "twice",
            Span {
                line: 10,
                col: 1,
                end_line: 10,
                end_col: 9,
            },
        )
        .label("again")
        .secondary(
            Span {
                line: 1,
                col: 1,
                end_line: 1,
                end_col: 2,
            },
            "first",
        );
        let text = d.render(src, "p");
        assert!(text.contains(" --> p:10:1\n"), "{text}");
        assert!(
            text.contains("\n1  | a\n   | - first\n...\n10 | State::A\n   | ^^^^^^^^ again\n"),
            "{text}"
        );
    }

    #[test]
    fn tabs_are_expanded_and_carets_follow() {
        let src = "\tState::X";
        let d = Diagnostic::new(
            "m",
            Span {
                line: 1,
                col: 2,
                end_line: 1,
                end_col: 7,
            },
        );
        let text = d.render(src, "p");
        assert!(text.contains("1 |     State::X\n  |     ^^^^^\n"), "{text}");
    }

    #[test]
    fn a_point_past_the_end_of_line_gets_one_caret() {
        let src = "abc";
        let d = Diagnostic::new("m", Span::point(1, 4));
        assert!(d.render(src, "p").contains("1 | abc\n  |    ^\n"));
    }
}

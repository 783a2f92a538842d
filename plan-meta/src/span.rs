//! Positions in a plan file.

/// A region of a plan file. Lines and columns are 1-based; columns count characters (not bytes),
/// so a position reads the same in an editor whatever the comments' script. The end is exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    pub end_line: u32,
    pub end_col: u32,
}

impl Span {
    /// A zero-width span at one position.
    pub fn point(line: u32, col: u32) -> Span {
        Span {
            line,
            col,
            end_line: line,
            end_col: col,
        }
    }

    /// From the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            end_line: other.end_line,
            end_col: other.end_col,
            ..self
        }
    }

    /// The zero-width position just after `self`: where a missing token was expected.
    pub fn after(self) -> Span {
        Span::point(self.end_line, self.end_col)
    }
}

//! Turning the macro input into Spiral source text, and mapping positions back to Rust spans.
//!
//! Three input forms reach this module:
//! - a string literal (usually raw, `r#"..."#`): the text is the literal's content;
//! - `file = "path"`: the text is read from a file relative to `CARGO_MANIFEST_DIR` (or, when it
//!   is not there, to the folder of the calling Rust file);
//! - plain tokens: the text is rebuilt from each token's line and column, so Spiral's
//!   indentation-sensitive syntax survives Rust's tokenizer.
//!
//! In every form the common leading indentation is removed (Spiral wants top-level statements at
//! column 0). [`SourceText::rust_position`] maps a Spiral byte offset back to the Rust file's line and
//! column, and [`SourceText::span_at`] to the best `proc_macro` span available.

use proc_macro::{Delimiter, Span, TokenStream, TokenTree};

/// Spiral source text built from a macro invocation, with what is needed to map positions back.
pub struct SourceText {
    /// The Spiral text (dedented).
    pub text: String,
    /// A name for diagnostics: the Rust file (or the Spiral file for `file = ...`).
    pub name: String,
    /// One-based Rust line of Spiral line 1, when the text comes from the Rust file itself.
    origin_line: usize,
    /// One-based Rust column where Spiral line 1 column 1 sits (only for line 1 of a literal).
    first_line_col: usize,
    /// Columns removed from every line by dedenting.
    dedent: usize,
    /// For the token form: each token's Spiral byte range and its Rust span.
    tokens: Vec<(usize, usize, Span)>,
    /// The span to use when no token matches (the literal, the path, or the whole call).
    fallback: Span,
    /// Whether the text lives in the Rust file (literal or tokens) rather than in a separate file.
    in_rust_file: bool,
}

impl SourceText {
    /// Source from a string literal's content. `lit` is the literal token (for spans and position).
    pub fn from_literal(content: &str, lit_span: Span, prefix_len: usize) -> SourceText {
        // The first line's code, when there is some, sits at this 0-based column of the Rust
        // file (`Span::column` is 1-based); the lines below are indented relative to it.
        let first = content.split('\n').next().unwrap_or("");
        let first_code_col =
            (!first.trim().is_empty()).then(|| lit_span.column().saturating_sub(1) + prefix_len + (first.len() - first.trim_start().len()));
        let (text, dedent) = dedent(content, first_code_col);
        // Leading newlines make Spiral line numbers equal to the Rust file's.
        let text = format!("{}{text}", "\n".repeat(lit_span.line().saturating_sub(1)));
        SourceText {
            text,
            name: rust_file_name(lit_span),
            origin_line: lit_span.line(),
            first_line_col: lit_span.column() + prefix_len,
            dedent,
            tokens: Vec::new(),
            fallback: lit_span,
            in_rust_file: true,
        }
    }

    /// Source from a file's content (`file = "..."`). Positions map to the file itself.
    pub fn from_file(content: &str, name: String, path_span: Span) -> SourceText {
        SourceText {
            text: content.replace("\r\n", "\n"),
            name,
            origin_line: 1,
            first_line_col: 1,
            dedent: 0,
            tokens: Vec::new(),
            fallback: path_span,
            in_rust_file: false,
        }
    }

    /// Source rebuilt from plain tokens, using each token's line and column.
    pub fn from_tokens(tokens: TokenStream, call_span: Span) -> SourceText {
        let mut pieces: Vec<(usize, usize, String, Span)> = Vec::new();
        flatten(tokens, &mut pieces);
        let origin_line = pieces.iter().map(|p| p.0).min().unwrap_or(1);
        let min_col = pieces.iter().map(|p| p.1).min().unwrap_or(1);
        let mut text = "\n".repeat(origin_line.saturating_sub(1));
        let mut ranges = Vec::with_capacity(pieces.len());
        let (mut line, mut col) = (origin_line, min_col);
        for (l, c, s, span) in pieces {
            if l > line {
                for _ in line..l {
                    text.push('\n');
                }
                line = l;
                col = min_col;
            }
            if c > col {
                text.extend(std::iter::repeat_n(' ', c - col));
                col = c;
            } else if !text.is_empty() && !text.ends_with('\n') && c < col {
                // Tokens that overlap (macro-generated spans): keep them apart.
                text.push(' ');
                col += 1;
            }
            let start = text.len();
            text.push_str(&s);
            ranges.push((start, text.len(), span));
            match s.rfind('\n') {
                Some(i) => {
                    line += s.matches('\n').count();
                    col = s[i + 1..].chars().count() + 1;
                }
                None => col += s.chars().count(),
            }
        }
        text.push('\n');
        SourceText {
            text,
            name: rust_file_name(call_span),
            origin_line,
            first_line_col: min_col,
            dedent: min_col - 1,
            tokens: ranges,
            fallback: call_span,
            in_rust_file: true,
        }
    }

    /// The Rust (or Spiral file) one-based line and column of a Spiral byte offset.
    pub fn rust_position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col0 = before[line_start..].chars().count();
        if !self.in_rust_file {
            return (line, col0 + 1);
        }
        if line == self.origin_line && self.tokens.is_empty() {
            // First line of a literal: it starts right after the opening quote.
            (line, self.first_line_col + col0)
        } else {
            (line, self.dedent + col0 + 1)
        }
    }

    /// The best Rust span for a Spiral byte range: the token under it (token form), otherwise the
    /// literal or path.
    pub fn span_at(&self, start: usize) -> Span {
        if self.tokens.is_empty() || start > self.text.len() {
            return self.fallback;
        }
        let i = self.tokens.partition_point(|t| t.1 <= start);
        match self.tokens.get(i) {
            Some(t) => t.2,
            None => self.tokens.last().map(|t| t.2).unwrap_or(self.fallback),
        }
    }
}

/// The file a span points into, as a display name.
fn rust_file_name(span: Span) -> String {
    let f = span.file();
    if f.is_empty() {
        "<spiral!>".to_string()
    } else {
        f
    }
}

/// Removes the common leading indentation of the non-blank lines (tabs count as one column), and a
/// leading blank first line's worth of nothing: line numbers are preserved.
///
/// `first_code_col` is the Rust column of the code on the literal's first line, if any: the
/// lines below are dedented by at most that much, so that a body indented under a first-line
/// `inl f x =` stays indented.
fn dedent(content: &str, first_code_col: Option<usize>) -> (String, usize) {
    let content = content.replace("\r\n", "\n");
    let rest = content
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min();
    let min = match (rest, first_code_col) {
        (Some(r), Some(c)) => r.min(c),
        (Some(r), None) => r,
        (None, _) => 0,
    };
    let first_blank = content.lines().next().map(|l| l.trim().is_empty()).unwrap_or(true);
    // If the first line holds code, it starts right after the quote: do not dedent it.
    let mut out = String::with_capacity(content.len());
    for (i, line) in content.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i == 0 && !first_blank {
            out.push_str(line.trim_start());
        } else if line.trim().is_empty() {
            // keep blank lines empty
        } else {
            out.push_str(&line[min.min(line.len())..]);
        }
    }
    (out, min)
}

/// Flattens a token stream into (line, column, text, span) pieces, delimiters included.
fn flatten(tokens: TokenStream, out: &mut Vec<(usize, usize, String, Span)>) {
    for tt in tokens {
        match tt {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::None => ("", ""),
                };
                if !open.is_empty() {
                    let s = g.span_open();
                    out.push((s.line(), s.column(), open.to_string(), s));
                }
                flatten(g.stream(), out);
                if !close.is_empty() {
                    let s = g.span_close();
                    out.push((s.line(), s.column(), close.to_string(), s));
                }
            }
            other => {
                let span = other.span();
                let text = span.source_text().unwrap_or_else(|| other.to_string());
                out.push((span.line(), span.column(), text, span));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dedent;

    #[test]
    fn dedent_removes_common_indentation_and_keeps_line_numbers() {
        let (t, d) = dedent("\n    inl f x =\n        x\n\n    inl g = 1\n    ", None);
        assert_eq!(d, 4);
        assert_eq!(t, "\ninl f x =\n    x\n\ninl g = 1\n");
        assert_eq!(t.lines().count(), 5);
    }

    #[test]
    fn dedent_keeps_code_on_the_first_line() {
        let (t, d) = dedent("inl one () = 1i32", Some(8));
        assert_eq!((t.as_str(), d), ("inl one () = 1i32", 0));
    }

    #[test]
    fn dedent_keeps_a_body_indented_under_first_line_code() {
        // `    r#"inl f x =` puts the first line's code at column 7; the body is at column 8.
        let (t, d) = dedent("inl f x =\n        x + 1i32\n", Some(7));
        assert_eq!(d, 7);
        assert_eq!(t, "inl f x =\n x + 1i32\n");
        // A later top-level line at column 4 sets the dedent.
        let (t, d) = dedent("inl f x =\n        x\n    inl g = 2i32", Some(7));
        assert_eq!((t.as_str(), d), ("inl f x =\n    x\ninl g = 2i32", 4));
    }
}

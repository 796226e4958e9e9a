//! Diagnostics shared by every stage: source files, spans, reports with source snippets and
//! the evaluation trace, rendered through `codespan-reporting`.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor};
use std::ops::Range;

/// Identifies one file inside a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range inside one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file the range points into.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` (byte offsets) in `file`.
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span { file, start: start as u32, end: end as u32 }
    }
    /// The smallest span covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
    /// The byte range as a `Range<usize>`.
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// The set of source files a compilation has seen. Owns their names and text.
pub struct SourceMap {
    files: SimpleFiles<String, String>,
}

impl Default for SourceMap {
    fn default() -> Self {
        SourceMap { files: SimpleFiles::new() }
    }
}

impl SourceMap {
    /// An empty source map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }
    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        FileId(self.files.add(name.into(), text.into()) as u32)
    }
    /// The text of a file.
    pub fn text(&self, file: FileId) -> &str {
        self.files.get(file.0 as usize).map(|f| f.source().as_str()).unwrap_or("")
    }
    /// The name (path) of a file.
    pub fn name(&self, file: FileId) -> &str {
        self.files.get(file.0 as usize).map(|f| f.name().as_str()).unwrap_or("<unknown>")
    }
    /// One-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: u32) -> (usize, usize) {
        let text = self.text(file);
        let offset = (offset as usize).min(text.len());
        let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line = text[..line_start].matches('\n').count() + 1;
        let col = text[line_start..offset].chars().count() + 1;
        (line, col)
    }
    /// The full text of the one-based line `line` of a file, without its newline.
    pub fn line_text(&self, file: FileId, line: usize) -> &str {
        self.text(file).lines().nth(line.saturating_sub(1)).unwrap_or("")
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Compilation cannot succeed.
    Error,
    /// Compilation succeeds, but something is suspicious.
    Warning,
}

/// One frame of the partial evaluator's trace: where evaluation was when the error happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceFrame {
    /// The expression being evaluated.
    pub span: Span,
}

/// A report about the user's program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The headline message.
    pub message: String,
    /// Where the problem is.
    pub span: Span,
    /// Extra labelled places, each with a short message.
    pub labels: Vec<(Span, String)>,
    /// Free-form notes printed after the snippet.
    pub notes: Vec<String>,
    /// The evaluation trace, outermost first (empty for syntax errors).
    pub trace: Vec<TraceFrame>,
    /// When the problem is in the host's declaration of an export (its Rust signature) rather
    /// than in Spiral code: which part, so a front end (`spiral!`) can point at it too.
    pub host: Option<HostPart>,
}

/// A part of an export's host declaration that a diagnostic is about (see [`Diagnostic::host`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostPart {
    /// The parameters of export number `0` (in declaration order).
    Params(usize),
    /// The result type of export number `0`.
    Result(usize),
    /// Parameter number `1` (after the device) of export number `0`.
    Param(usize, usize),
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            labels: Vec::new(),
            notes: Vec::new(),
            trace: Vec::new(),
            host: None,
        }
    }
    /// Marks the diagnostic as being about a part of an export's host declaration.
    pub fn about_host(mut self, part: HostPart) -> Diagnostic {
        self.host = Some(part);
        self
    }
    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push((span, message.into()));
        self
    }
    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
    /// Attaches an evaluation trace (outermost frame first).
    pub fn with_trace(mut self, trace: Vec<TraceFrame>) -> Diagnostic {
        self.trace = trace;
        self
    }
    /// One-based line and column of the primary span.
    pub fn line_col(&self, sources: &SourceMap) -> (usize, usize) {
        sources.line_col(self.span.file, self.span.start)
    }
}

/// Renders diagnostics as text with source snippets, `file:line:col` headers and the trace.
///
/// The output is plain text (no colour), so it is stable for snapshot tests and for
/// `compile_error!` messages.
pub fn render(sources: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut out = termcolor::NoColor::new(Vec::<u8>::new());
    let config = term::Config::default();
    for d in diagnostics {
        let (line, col) = d.line_col(sources);
        let mut notes = Vec::new();
        if !d.trace.is_empty() {
            let mut t = String::from("evaluation trace (outermost first):");
            for frame in &d.trace {
                let (l, c) = sources.line_col(frame.span.file, frame.span.start);
                let text = sources.line_text(frame.span.file, l).trim_end();
                t.push_str(&format!("\n  at {}:{}:{}: {}", sources.name(frame.span.file), l, c, text.trim_start()));
            }
            notes.push(t);
        }
        notes.extend(d.notes.iter().cloned());
        let mut labels = vec![Label::primary(d.span.file.0 as usize, d.span.range())];
        for (s, m) in &d.labels {
            labels.push(Label::secondary(s.file.0 as usize, s.range()).with_message(m.clone()));
        }
        let cs = match d.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
        }
        .with_message(format!("{} [{}:{}:{}]", d.message, sources.name(d.span.file), line, col))
        .with_labels(labels)
        .with_notes(notes);
        // Rendering into a Vec cannot fail except on out-of-range spans; fall back to a plain line.
        if term::emit(&mut out, &config, &sources.files, &cs).is_err() {
            let s = format!("error: {} [{}:{}:{}]\n", d.message, sources.name(d.span.file), line, col);
            out.get_mut().extend_from_slice(s.as_bytes());
        }
    }
    String::from_utf8_lossy(&out.into_inner()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based_and_counts_chars() {
        let mut sm = SourceMap::new();
        let f = sm.add("a.spi", "ab\ncdé f\n");
        assert_eq!(sm.line_col(f, 0), (1, 1));
        assert_eq!(sm.line_col(f, 3), (2, 1));
        // 'f' is after "cdé " = 5 bytes, 4 chars
        assert_eq!(sm.line_col(f, 3 + 5), (2, 5));
    }

    #[test]
    fn render_shows_file_line_col_and_snippet() {
        let mut sm = SourceMap::new();
        let f = sm.add("m.spi", "inl x = 1\ninl y = )\n");
        let d = Diagnostic::error(Span::new(f, 18, 19), "unexpected `)`");
        let text = render(&sm, &[d]);
        assert!(text.contains("m.spi:2:9"), "{text}");
        assert!(text.contains("inl y = )"), "{text}");
    }
}

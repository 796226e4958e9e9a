//! The `package.spiproj` format: an indentation-sensitive record of fields.
//!
//! ```text
//! packageDir: ../packages        // optional; default: the parent of the package folder
//! moduleDir: src                 // optional; default: the package folder
//! packages: |core- other         // `|` = bundled with the compiler, `-` = opened (included)
//! modules:
//!     a                          // a.spi, its contents live in module `a`
//!     b-                         // b.spi, its contents are included in the enclosing scope
//!     c*                         // c.spir (bottom-up segment)
//!     d*-                        // d.spir, included
//!     folder/                    // a folder; the indented entries below it are inside it
//!         z
//!     y
//! ```
//!
//! Fields (`name`, `version`, `moduleDir`, `modules`, `packageDir`, `packages`) start on the
//! same column. Entries of one `modules` level share a column; the children of `folder/` sit
//! on a greater column. `//` starts a comment. Tabs are rejected. Every problem is reported as
//! a [`Diagnostic`] pointing at the offending text; parsing never panics.

use crate::diagnostics::{Diagnostic, FileId, Span};

/// A parsed `package.spiproj`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectFile {
    /// `name:` (informational).
    pub name: Option<Spanned<String>>,
    /// `version:` (informational).
    pub version: Option<Spanned<String>>,
    /// `moduleDir:`, relative to the package folder or absolute.
    pub module_dir: Option<Spanned<String>>,
    /// `modules:`, in the order they are listed.
    pub modules: Vec<ModuleEntry>,
    /// `packageDir:`, relative to the package folder or absolute.
    pub package_dir: Option<Spanned<String>>,
    /// `packages:`, in the order they are listed.
    pub packages: Vec<PackageRef>,
}

/// A value together with the span of the text it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    /// Where the value is written.
    pub span: Span,
    /// The value.
    pub value: T,
}

/// One entry of `modules:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleEntry {
    /// A module file: `a` (`a.spi`), `a-`, `a*` (`a.spir`) or `a*-`.
    File {
        /// The whole entry, suffixes included.
        span: Span,
        /// The file name without extension.
        name: String,
        /// `false` for `*` entries (`.spir`, bottom-up segment).
        top_down: bool,
        /// `true` for `-` entries: the module's statements go into the enclosing scope.
        include: bool,
    },
    /// A folder `name/` and the entries indented below it.
    Dir {
        /// The `name/` text.
        span: Span,
        /// The folder name.
        name: String,
        /// Entries inside the folder, in order.
        children: Vec<ModuleEntry>,
    },
}

impl ModuleEntry {
    /// The entry's name (file stem or folder name).
    pub fn name(&self) -> &str {
        match self {
            ModuleEntry::File { name, .. } | ModuleEntry::Dir { name, .. } => name,
        }
    }
    /// The entry's span.
    pub fn span(&self) -> Span {
        match self {
            ModuleEntry::File { span, .. } | ModuleEntry::Dir { span, .. } => *span,
        }
    }
}

/// One entry of `packages:`, e.g. `|core-`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageRef {
    /// The whole entry, prefix and suffix included.
    pub span: Span,
    /// The package (folder) name.
    pub name: String,
    /// `|` prefix: the package is bundled with the compiler rather than found in `packageDir`.
    pub bundled: bool,
    /// `-` suffix: the package's modules are opened into the dependent package's scope.
    pub include: bool,
}

/// The result of [`parse_spiproj`]: the file as far as it could be read, plus diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedProject {
    /// Everything that was understood.
    pub project: ProjectFile,
    /// Errors found; empty when the file is well formed.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses the text of a `package.spiproj` registered as `file`. Never panics.
pub fn parse_spiproj(file: FileId, src: &str) -> ParsedProject {
    let mut p = Parser { src, pos: 0, file, diags: Vec::new() };
    p.report_tabs();
    let mut project = ProjectFile::default();
    p.record(&mut project);
    ParsedProject { project, diagnostics: p.diags }
}

const FIELDS: &str = "`name`, `version`, `moduleDir`, `modules`, `packageDir` or `packages`";

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    file: FileId,
    diags: Vec<Diagnostic>,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_lowercase()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '\''
}

impl<'a> Parser<'a> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.src[self.pos..].chars().nth(1)
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    fn at_eof(&self) -> bool {
        self.pos >= self.src.len()
    }

    /// One-based column (in characters) of the current position.
    fn col(&self) -> usize {
        self.col_of(self.pos)
    }

    fn col_of(&self, pos: usize) -> usize {
        let line_start = self.src[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
        self.src[line_start..pos].chars().count() + 1
    }

    fn line_of(&self, pos: usize) -> usize {
        self.src.as_bytes()[..pos].iter().filter(|&&b| b == b'\n').count()
    }

    fn error(&mut self, start: usize, end: usize, msg: impl Into<String>) {
        let end = end.max(start);
        self.diags.push(Diagnostic::error(self.span(start, end), msg));
    }

    /// The span of the character at the current position (empty at end of input).
    fn here(&self) -> (usize, usize) {
        let len = self.peek().map(|c| c.len_utf8()).unwrap_or(0);
        (self.pos, self.pos + len)
    }

    fn report_tabs(&mut self) {
        let tabs: Vec<usize> = self.src.match_indices('\t').map(|(i, _)| i).collect();
        for i in tabs {
            self.error(i, i + 1, "tabs are not allowed in package.spiproj; indent with spaces");
        }
    }

    /// Skips whitespace (newlines included) and `//` comments.
    fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() || c == '\u{feff}' => self.bump(),
                Some('/') if self.peek2() == Some('/') => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                _ => return,
            }
        }
    }

    /// Reads `[a-z][A-Za-z0-9_']*` at the current position.
    fn name(&mut self) -> Option<(usize, String)> {
        let start = self.pos;
        match self.peek() {
            Some(c) if is_name_start(c) => {}
            _ => return None,
        }
        while let Some(c) = self.peek() {
            if !is_name_char(c) {
                break;
            }
            self.bump();
        }
        Some((start, self.src[start..self.pos].to_string()))
    }

    /// Whether the text at the current position looks like `field:`.
    fn at_field(&self) -> bool {
        let rest = &self.src[self.pos..];
        let n = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        n > 0 && rest[n..].starts_with(':')
    }

    /// After an entry: anything else on the same line (comments aside) is an error.
    fn expect_line_end(&mut self, what: &str) -> bool {
        let line = self.line_of(self.pos);
        self.skip_ws();
        if !self.at_eof() && self.line_of(self.pos) == line {
            let (s, e) = self.here();
            let c = self.peek().unwrap_or(' ');
            self.error(s, e, format!("unexpected `{c}` after {what}"));
            return false;
        }
        true
    }

    fn record(&mut self, project: &mut ProjectFile) {
        self.skip_ws();
        if self.at_eof() {
            return;
        }
        let record_col = self.col();
        let mut seen: Vec<(String, Span)> = Vec::new();
        while !self.at_eof() {
            let col = self.col();
            if col != record_col {
                let (s, e) = self.here();
                let msg = if self.at_field() {
                    format!("field is on column {col}, but the fields above it start on column {record_col}")
                } else {
                    format!("unexpected text on column {col}; expected a field ({FIELDS}) on column {record_col}")
                };
                self.error(s, e, msg);
                return;
            }
            let start = self.pos;
            while matches!(self.peek(), Some(c) if c.is_ascii_alphabetic()) {
                self.bump();
            }
            let field = self.src[start..self.pos].to_string();
            let fspan = self.span(start, self.pos);
            if field.is_empty() {
                let (s, e) = self.here();
                let c = self.peek().unwrap_or(' ');
                self.error(s, e, format!("unexpected `{c}`; expected a field ({FIELDS})"));
                return;
            }
            if self.peek() != Some(':') {
                let (s, e) = self.here();
                self.error(s, e, format!("expected `:` after the field name `{field}`"));
                return;
            }
            self.bump();
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == field) {
                let first = *first;
                self.diags.push(
                    Diagnostic::error(fspan, format!("duplicate field `{field}`"))
                        .with_label(first, "first given here"),
                );
            }
            seen.push((field.clone(), fspan));
            let ok = match field.as_str() {
                "name" => {
                    self.skip_ws();
                    let v = self.name();
                    match v {
                        Some((s, n)) => {
                            project.name = Some(Spanned { span: self.span(s, self.pos), value: n });
                            self.expect_line_end("the package name")
                        }
                        None => {
                            let (s, e) = self.here();
                            self.error(s, e, "expected a package name (lowercase letter first)");
                            false
                        }
                    }
                }
                "version" => {
                    project.version = Some(self.rest_of_line());
                    true
                }
                "moduleDir" => {
                    project.module_dir = Some(self.rest_of_line());
                    true
                }
                "packageDir" => {
                    project.package_dir = Some(self.rest_of_line());
                    true
                }
                "modules" => {
                    self.skip_ws();
                    let col = self.col();
                    match self.hierarchy(col) {
                        Some(m) => {
                            project.modules = m;
                            true
                        }
                        None => false,
                    }
                }
                "packages" => {
                    self.skip_ws();
                    match self.packages() {
                        Some(p) => {
                            project.packages = p;
                            true
                        }
                        None => false,
                    }
                }
                _ => {
                    self.error(start, start + field.len(), format!("unknown field `{field}`; expected {FIELDS}"));
                    false
                }
            };
            if !ok {
                return;
            }
            self.skip_ws();
        }
    }

    /// The rest of the line after `field:` (leading spaces skipped), trimmed.
    fn rest_of_line(&mut self) -> Spanned<String> {
        while matches!(self.peek(), Some(' ') | Some('\t')) {
            self.bump();
        }
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            self.bump();
        }
        let raw = &self.src[start..self.pos];
        let trimmed = raw.trim_end();
        Spanned { span: self.span(start, start + trimmed.len()), value: trimmed.to_string() }
    }

    /// Entries of one `modules` level, all on column `col`.
    fn hierarchy(&mut self, col: usize) -> Option<Vec<ModuleEntry>> {
        let mut out: Vec<ModuleEntry> = Vec::new();
        while !self.at_eof() && self.col() == col && !self.at_field() {
            if !matches!(self.peek(), Some(c) if is_name_start(c)) {
                let (s, e) = self.here();
                let c = self.peek().unwrap_or(' ');
                let hint = if c.is_ascii_uppercase() { " (module names start with a lowercase letter)" } else { "" };
                self.error(s, e, format!("unexpected `{c}`; expected a module file or folder name{hint}"));
                return None;
            }
            let entry = self.module_entry()?;
            if let Some(first) = out.iter().find(|m| m.name() == entry.name()) {
                let first = first.span();
                self.diags.push(
                    Diagnostic::error(entry.span(), format!("duplicate module name `{}`", entry.name()))
                        .with_label(first, "first listed here"),
                );
            }
            out.push(entry);
        }
        Some(out)
    }

    fn module_entry(&mut self) -> Option<ModuleEntry> {
        let entry_col = self.col();
        let (start, name) = self.name()?;
        match (self.peek(), self.peek2()) {
            (Some('/'), _) => {
                self.bump();
                let span = self.span(start, self.pos);
                if !self.expect_line_end("a folder entry") {
                    return None;
                }
                let children = if !self.at_eof() && self.col() > entry_col && !self.at_field() {
                    let c = self.col();
                    self.hierarchy(c)?
                } else {
                    Vec::new()
                };
                Some(ModuleEntry::Dir { span, name, children })
            }
            (Some('-'), _) => {
                self.bump();
                self.file_entry(start, name, true, true)
            }
            (Some('*'), Some('-')) => {
                self.bump();
                self.bump();
                self.file_entry(start, name, false, true)
            }
            (Some('*'), _) => {
                self.bump();
                self.file_entry(start, name, false, false)
            }
            _ => self.file_entry(start, name, true, false),
        }
    }

    fn file_entry(&mut self, start: usize, name: String, top_down: bool, include: bool) -> Option<ModuleEntry> {
        let span = self.span(start, self.pos);
        if !self.expect_line_end("a module entry") {
            return None;
        }
        Some(ModuleEntry::File { span, name, top_down, include })
    }

    /// Entries of `packages:`, each on a column at least that of the first.
    fn packages(&mut self) -> Option<Vec<PackageRef>> {
        let mut out: Vec<PackageRef> = Vec::new();
        let col = self.col();
        while !self.at_eof() && self.col() >= col && !self.at_field() {
            let start = self.pos;
            let bundled = self.peek() == Some('|');
            if bundled {
                self.bump();
            }
            let Some((_, name)) = self.name() else {
                let (s, e) = self.here();
                let c = self.peek().map(|c| format!("`{c}`")).unwrap_or_else(|| "end of file".into());
                self.error(s, e, format!("unexpected {c}; expected a package name (lowercase letter first)"));
                return None;
            };
            let include = self.peek() == Some('-');
            if include {
                self.bump();
            }
            let span = self.span(start, self.pos);
            if let Some(first) = out.iter().find(|p| p.name == name && p.bundled == bundled) {
                let first = first.span;
                self.diags.push(
                    Diagnostic::error(span, format!("duplicate package `{name}`")).with_label(first, "first listed here"),
                );
            }
            out.push(PackageRef { span, name, bundled, include });
            // Several packages may share a line: `packages: |core- a b`.
            let line = self.line_of(self.pos);
            self.skip_ws();
            if !self.at_eof() && self.line_of(self.pos) == line && !matches!(self.peek(), Some(c) if c == '|' || is_name_start(c)) {
                let (s, e) = self.here();
                let c = self.peek().unwrap_or(' ');
                self.error(s, e, format!("unexpected `{c}` after a package entry"));
                return None;
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceMap;

    fn parse(src: &str) -> (SourceMap, ParsedProject) {
        let mut sm = SourceMap::new();
        let f = sm.add("package.spiproj", src);
        let p = parse_spiproj(f, src);
        (sm, p)
    }

    fn file(name: &str, top_down: bool, include: bool) -> (String, bool, bool) {
        (name.to_string(), top_down, include)
    }

    fn files(entries: &[ModuleEntry]) -> Vec<(String, bool, bool)> {
        entries
            .iter()
            .map(|e| match e {
                ModuleEntry::File { name, top_down, include, .. } => (name.clone(), *top_down, *include),
                ModuleEntry::Dir { name, .. } => (format!("{name}/"), true, false),
            })
            .collect()
    }

    #[test]
    fn all_module_forms() {
        let src = "modules:\n    a\n    b-\n    c*\n    d*-\n    some_folder/\n        z\n        x\n    y\n";
        let (_, p) = parse(src);
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let m = &p.project.modules;
        assert_eq!(
            files(m),
            vec![
                file("a", true, false),
                file("b", true, true),
                file("c", false, false),
                file("d", false, true),
                file("some_folder/", true, false),
                file("y", true, false),
            ]
        );
        match &m[4] {
            ModuleEntry::Dir { children, .. } => {
                assert_eq!(files(children), vec![file("z", true, false), file("x", true, false)])
            }
            other => panic!("expected a folder, got {other:?}"),
        }
    }

    #[test]
    fn packages_and_dirs_on_one_line() {
        let src = "packages: |core- a b-\nmodules: test*\npackageDir: ../pk \nmoduleDir: src\nname: my_pkg\nversion: 1.0 beta\n";
        let (_, p) = parse(src);
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let pk: Vec<_> = p.project.packages.iter().map(|p| (p.name.as_str(), p.bundled, p.include)).collect();
        assert_eq!(pk, vec![("core", true, true), ("a", false, false), ("b", false, true)]);
        assert_eq!(files(&p.project.modules), vec![file("test", false, false)]);
        assert_eq!(p.project.package_dir.as_ref().unwrap().value, "../pk");
        assert_eq!(p.project.module_dir.as_ref().unwrap().value, "src");
        assert_eq!(p.project.name.as_ref().unwrap().value, "my_pkg");
        assert_eq!(p.project.version.as_ref().unwrap().value, "1.0 beta");
    }

    #[test]
    fn comments_blank_lines_and_crlf() {
        let src = "// header\r\npackages: |core-\r\n\r\nmodules: // the modules\r\n    main // entry\r\n    \r\n";
        let (_, p) = parse(src);
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        assert_eq!(files(&p.project.modules), vec![file("main", true, false)]);
        assert_eq!(p.project.packages.len(), 1);
    }

    #[test]
    fn empty_file_and_empty_modules() {
        let (_, p) = parse("");
        assert!(p.diagnostics.is_empty());
        assert_eq!(p.project, ProjectFile::default());
        let (_, p) = parse("modules: \npackages: |core-\n");
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        assert!(p.project.modules.is_empty());
        assert_eq!(p.project.packages.len(), 1);
    }

    #[test]
    fn trailing_spaces_and_a_folder_before_a_sibling() {
        let src = "packages: |core-\n\nmodules:\n    lib/\n        base-\n        real_base*\n        util   \n    main \n    \n";
        let (_, p) = parse(src);
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        assert_eq!(files(&p.project.modules), vec![file("lib/", true, false), file("main", true, false)]);
        let ModuleEntry::Dir { children, .. } = &p.project.modules[0] else { panic!() };
        assert_eq!(files(children), vec![file("base", true, true), file("real_base", false, false), file("util", true, false)]);
    }

    #[test]
    fn nested_folders_end_by_indentation() {
        let src = "modules:\n  a/\n    b/\n      c\n    d*\n  e-\n";
        let (_, p) = parse(src);
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let m = &p.project.modules;
        assert_eq!(files(m), vec![file("a/", true, false), file("e", true, true)]);
        let ModuleEntry::Dir { children, .. } = &m[0] else { panic!() };
        assert_eq!(files(children), vec![file("b/", true, false), file("d", false, false)]);
        let ModuleEntry::Dir { children, .. } = &children[0] else { panic!() };
        assert_eq!(files(children), vec![file("c", true, false)]);
    }

    fn first_error(src: &str) -> ((usize, usize), String) {
        let (sm, p) = parse(src);
        let d = p.diagnostics.first().unwrap_or_else(|| panic!("expected an error for {src:?}"));
        (d.line_col(&sm), d.message.clone())
    }

    #[test]
    fn errors_point_at_the_problem() {
        let (lc, m) = first_error("modules:\n    a\n\tb\n");
        assert_eq!(lc, (3, 1));
        assert!(m.contains("tab"), "{m}");

        let (lc, m) = first_error("modules:\n    a\n      b\n");
        assert_eq!(lc, (3, 7), "{m}");

        let (lc, m) = first_error("modules:\n    a.spi\n");
        assert_eq!(lc, (2, 6));
        assert!(m.contains("`.`"), "{m}");

        let (lc, m) = first_error("modules:\n    Main\n");
        assert_eq!(lc, (2, 5));
        assert!(m.contains("lowercase"), "{m}");

        let (lc, m) = first_error("modules: a\nmodule: b\n");
        assert_eq!(lc, (2, 1));
        assert!(m.contains("unknown field `module`"), "{m}");

        let (lc, m) = first_error("modules: a\nmodules: b\n");
        assert_eq!(lc, (2, 1));
        assert!(m.contains("duplicate field"), "{m}");

        let (lc, m) = first_error("modules:\n    a\n    b*\n    a-\n");
        assert_eq!(lc, (4, 5));
        assert!(m.contains("duplicate module name `a`"), "{m}");

        let (lc, m) = first_error("packages: |Core\n");
        assert_eq!(lc, (1, 12));
        assert!(m.contains("package name"), "{m}");

        let (lc, m) = first_error("modules a\n");
        assert_eq!(lc, (1, 8));
        assert!(m.contains("`:`"), "{m}");

        let (lc, _) = first_error("packages: |core-\n  modules: a\n");
        assert_eq!(lc, (2, 3));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for src in ["é", ":", "modules:\n  a/\n  /", "packages: |", "packages: |-", "modules: a*-*", "\u{feff}modules: a", "m:\n"] {
            let _ = parse(src);
        }
    }
}

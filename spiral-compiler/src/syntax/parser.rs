//! The indentation-sensitive parser.
//!
//! A file is first split into *blocks*: a block starts at every token written at column 0 and
//! holds every following token written further right. Each block is one top-level statement
//! and is parsed on its own, so an error in one statement does not hide errors in the next.
//!
//! Inside a block the parser is a hand-written recursive descent with a Pratt loop for
//! operators. Alternatives follow one rule: an alternative that fails *without consuming a
//! token* lets the next one try; one that fails after consuming reports its error. Layout
//! (the offside rule) is expressed with column checks:
//!
//! - arguments of an application must start right of the application's first token;
//! - binary operators must not start left of their expression's first token;
//! - statements of a block (`inl`, `let`, `open` and plain expressions) start at the same column;
//! - `then`/`elif`/`else` and match bars `|` must not start left of the `if`/first clause.

use super::ast::*;
use super::token::{tokenize, Keyword, MacroKind, Paren, Token, TokenKind};
use super::{ParsedModule, Segment};
use crate::diagnostics::{Diagnostic, FileId, Span};

/// How deeply the parser may recurse (nested brackets, blocks, right-associative operator
/// chains, types, patterns) before it gives up with a diagnostic. A bracketed term costs two
/// levels, so about 500 nested parentheses are accepted.
pub const MAX_DEPTH: usize = 1000;

/// The deepest syntax tree (after desugaring) a statement may produce. Long left-associative
/// operator chains and long statement sequences make deep trees without deep parser recursion;
/// this bound keeps every later recursive pass (and dropping the tree) within ordinary stacks.
pub const MAX_TREE_DEPTH: usize = 5000;

/// Stack the parser is given: enough for [`MAX_DEPTH`] levels in unoptimised builds.
pub const PARSE_STACK: usize = 256 * 1024 * 1024;

/// Parses one file. See [`super::parse_module`].
pub fn parse_module(file: FileId, src: &str, segment: Segment) -> ParsedModule {
    // The parser recurses once per nesting level; run it with a generous stack so that
    // MAX_DEPTH is reachable in debug builds too (on the current thread when it is a big-stack
    // thread with that much room left, else on a new one).
    match crate::stack::with_stack(PARSE_STACK, "spiral-parse", || parse_module_here(file, src, segment)) {
        Some(r) => r,
        None => ParsedModule {
            module: Module { items: Vec::new() },
            diagnostics: vec![Diagnostic::error(Span::new(file, 0, 0), "internal error: the parser crashed")],
        },
    }
}

/// Parses on the current thread (callers must have a large enough stack).
fn parse_module_here(file: FileId, src: &str, segment: Segment) -> ParsedModule {
    let (tokens, mut diagnostics) = tokenize(file, src);
    let bad_lines: std::collections::HashSet<u32> = diagnostics
        .iter()
        .map(|d| {
            let before = &src[..(d.span.start as usize).min(src.len())];
            before.matches('\n').count() as u32
        })
        .collect();
    // Comment-only lines, for doc comments.
    let mut comment_lines = std::collections::HashMap::new();
    let mut last_line = u32::MAX;
    for t in &tokens {
        if t.line != last_line {
            if let TokenKind::Comment(c) = &t.kind {
                comment_lines.insert(t.line, c.trim_end().to_string());
            }
        }
        last_line = t.line;
    }
    let toks: Vec<Token> = tokens.into_iter().filter(|t| !matches!(t.kind, TokenKind::Comment(_))).collect();
    // Split into blocks at tokens in column 0.
    let mut blocks: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.col == 0 && i > start {
            blocks.push(start..i);
            start = i;
        }
    }
    if start < toks.len() {
        blocks.push(start..toks.len());
    }
    let mut items = Vec::new();
    let firsts: Vec<u32> = blocks.iter().map(|b| toks[b.start].line).collect();
    for (bi, b) in blocks.into_iter().enumerate() {
        let block = &toks[b];
        let first_line = block[0].line;
        // A block owns every line up to the next block, including lines whose tokens were lost
        // to a tokenizer error.
        let end_line = firsts.get(bi + 1).copied().unwrap_or(u32::MAX);
        if bad_lines.iter().any(|l| (bi == 0 || *l >= first_line) && *l < end_line) {
            continue; // already reported by the tokenizer
        }
        if block[0].col != 0 {
            diagnostics.push(Diagnostic::error(block[0].span, "a top-level statement must start at column 0"));
            continue;
        }
        let mut comments = Vec::new();
        let mut l = first_line;
        while l > 0 {
            l -= 1;
            match comment_lines.get(&l) {
                Some(c) => comments.push(c.clone()),
                None => break,
            }
        }
        comments.reverse();
        let mut p = P { toks: block, i: 0, top_down: segment == Segment::TopDown, file, depth: 0, extra: Vec::new(), fatal: None };
        match p.parse_block(comments.join("\n")) {
            Ok(item) => {
                if item_depth(&item) > MAX_TREE_DEPTH {
                    diagnostics.push(Diagnostic::error(
                        block[0].span,
                        format!("this statement is nested too deeply (its syntax tree is more than {MAX_TREE_DEPTH} levels deep); split it into smaller functions"),
                    ));
                } else if p.extra.is_empty() {
                    items.push(item);
                } else {
                    diagnostics.append(&mut p.extra);
                }
            }
            Err(d) => diagnostics.push(d),
        }
    }
    diagnostics.sort_by_key(|d| d.span.start);
    ParsedModule { module: Module { items }, diagnostics }
}

/// One parse error: where, and what was expected (or what went wrong).
#[derive(Clone, Debug)]
struct PErr {
    span: Span,
    msg: String,
    /// `true` when `msg` names something that was expected; these are merged into one list.
    expected: bool,
}

type Errs = Vec<PErr>;
type PR<T> = Result<T, Errs>;

/// The flags of the type parser, as in the reference's root type parser.
#[derive(Clone, Copy, Default)]
struct TyFlags {
    metavars: bool,
    term: bool,
    wildcard: bool,
}

/// A statement inside a term block.
#[allow(clippy::large_enum_variant)] // short-lived, one per statement
enum Stmt {
    Let(Pattern, Expr),
    Rec(Vec<(Ident, Expr)>),
    Open(Ident, Vec<Ident>),
}

struct P<'a> {
    toks: &'a [Token],
    i: usize,
    top_down: bool,
    file: FileId,
    depth: usize,
    /// Errors that do not stop parsing (validation of otherwise well-formed statements).
    extra: Vec<Diagnostic>,
    /// An error that ends the whole block (nesting too deep), whatever alternatives follow.
    fatal: Option<Diagnostic>,
}

fn is_upper(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_uppercase())
}

fn describe(t: &TokenKind) -> String {
    match t {
        TokenKind::Var(v) => format!("`{v}`"),
        TokenKind::Symbol(s) => format!("symbol `.{s}`"),
        TokenKind::Operator(o) | TokenKind::UnaryOperator(o) => format!("`{o}`"),
        TokenKind::Value(_) | TokenKind::DefaultValue(_) => "literal".into(),
        TokenKind::Keyword(k) => format!("keyword `{}`", k.as_str()),
        TokenKind::Paren(p, open) => {
            let c = match (p, open) {
                (Paren::Round, true) => "(",
                (Paren::Round, false) => ")",
                (Paren::Square, true) => "[",
                (Paren::Square, false) => "]",
                (Paren::Curly, true) => "{",
                (Paren::Curly, false) => "}",
            };
            format!("`{c}`")
        }
        TokenKind::StringOpen => "string".into(),
        TokenKind::MacroOpen => "macro".into(),
        _ => "token".into(),
    }
}

fn paren_str(p: Paren, open: bool) -> &'static str {
    match (p, open) {
        (Paren::Round, true) => "(",
        (Paren::Round, false) => ")",
        (Paren::Square, true) => "[",
        (Paren::Square, false) => "]",
        (Paren::Curly, true) => "{",
        (Paren::Curly, false) => "}",
    }
}

/// The span of a macro variable without its one-byte sigil (`!x`, `` `t ``, `@t` -> the name).
fn sigil_free(s: Span) -> Span {
    Span { file: s.file, start: (s.start + 1).min(s.end), end: s.end }
}

fn e(span: Span, kind: ExprKind) -> Expr {
    Expr { span, kind }
}
fn bx<T>(x: T) -> Box<T> {
    Box::new(x)
}
fn var(span: Span, name: &str) -> Expr {
    e(span, ExprKind::Var { name: name.to_string(), tvar_applied: true })
}
fn pt(span: Span, kind: PatternKind) -> Pattern {
    Pattern { span, kind }
}
fn ty(span: Span, kind: TypeKind) -> TypeExpr {
    TypeExpr { span, kind }
}

/// Runs an alternative; `Ok(None)` when it failed without consuming (so the caller may try
/// something else), an error when it failed after consuming.
macro_rules! try_alt {
    ($p:expr, $errs:expr, $f:expr) => {{
        let s = $p.i;
        match $f {
            Ok(x) => return Ok(x),
            Err(er) => {
                if $p.i != s {
                    return Err(er);
                }
                $errs.extend(er);
            }
        }
    }};
}

/// `opt`: `None` when the parser failed without consuming.
macro_rules! opt {
    ($p:expr, $f:expr) => {{
        let s = $p.i;
        match $f {
            Ok(x) => Some(x),
            Err(er) => {
                if $p.i != s {
                    return Err(er);
                }
                None
            }
        }
    }};
}

/// `many`: repeats until the parser fails without consuming (or stops making progress).
macro_rules! many {
    ($p:expr, $f:expr) => {{
        let mut v = Vec::new();
        loop {
            let s = $p.i;
            match $f {
                Ok(x) => {
                    v.push(x);
                    if $p.i == s {
                        break;
                    }
                }
                Err(er) => {
                    if $p.i != s {
                        return Err(er);
                    }
                    break;
                }
            }
        }
        v
    }};
}

/// `sepBy1 a sep`: at least one `a`, separated by `sep` (a separator must be followed by `a`).
macro_rules! sep_by1 {
    ($p:expr, $a:expr, $sep:expr) => {{
        let mut v = vec![$a?];
        loop {
            let s = $p.i;
            match $sep {
                Ok(_) => match $a {
                    Ok(x) => v.push(x),
                    Err(er) => {
                        if $p.i != s {
                            return Err(er);
                        }
                        break;
                    }
                },
                Err(er) => {
                    if $p.i != s {
                        return Err(er);
                    }
                    break;
                }
            }
        }
        v
    }};
}

/// `sepBy a sep`: like `sep_by1!` but allows zero items.
macro_rules! sep_by {
    ($p:expr, $a:expr, $sep:expr) => {{
        let s0 = $p.i;
        match $a {
            Ok(first) => {
                let mut v = vec![first];
                loop {
                    let s = $p.i;
                    match $sep {
                        Ok(_) => match $a {
                            Ok(x) => v.push(x),
                            Err(er) => {
                                if $p.i != s {
                                    return Err(er);
                                }
                                break;
                            }
                        },
                        Err(er) => {
                            if $p.i != s {
                                return Err(er);
                            }
                            break;
                        }
                    }
                }
                v
            }
            Err(er) => {
                if $p.i != s0 {
                    return Err(er);
                }
                Vec::new()
            }
        }
    }};
}

impl<'a> P<'a> {
    // ---------------------------------------------------------------- token helpers

    fn cur(&self) -> Option<&'a Token> {
        self.toks.get(self.i)
    }
    fn kind(&self) -> Option<&'a TokenKind> {
        self.cur().map(|t| &t.kind)
    }
    fn col(&self) -> i64 {
        self.cur().map(|t| t.col as i64).unwrap_or(-1)
    }
    fn span_from(&self, start: usize) -> Span {
        if self.i > start {
            self.toks[start].span.to(self.toks[self.i - 1].span)
        } else {
            self.here()
        }
    }
    fn here(&self) -> Span {
        match self.cur() {
            Some(t) => t.span,
            None => {
                let l = self.toks[self.toks.len() - 1].span;
                Span { file: self.file, start: l.end, end: l.end }
            }
        }
    }
    /// An "expected X" error at the current token; empty at the end of the block.
    fn expected<T>(&self, what: &str) -> PR<T> {
        match self.cur() {
            Some(t) => Err(vec![PErr { span: t.span, msg: what.to_string(), expected: true }]),
            None => Err(Vec::new()),
        }
    }
    fn fail<T>(&self, span: Span, msg: impl Into<String>) -> PR<T> {
        Err(vec![PErr { span, msg: msg.into(), expected: false }])
    }
    fn skip_op(&mut self, op: &str) -> PR<Span> {
        match self.cur() {
            Some(Token { kind: TokenKind::Operator(o), span, .. }) if o == op => {
                self.i += 1;
                Ok(*span)
            }
            _ => self.expected(&format!("`{op}`")),
        }
    }
    fn skip_unary_op(&mut self, op: &str) -> PR<Span> {
        match self.cur() {
            Some(Token { kind: TokenKind::UnaryOperator(o), span, .. }) if o == op => {
                self.i += 1;
                Ok(*span)
            }
            _ => self.expected(&format!("prefix `{op}`")),
        }
    }
    fn skip_kw(&mut self, k: Keyword) -> PR<Span> {
        match self.cur() {
            Some(Token { kind: TokenKind::Keyword(k2), span, .. }) if *k2 == k => {
                self.i += 1;
                Ok(*span)
            }
            _ => self.expected(&format!("`{}`", k.as_str())),
        }
    }
    fn skip_paren(&mut self, p: Paren, open: bool) -> PR<Span> {
        match self.cur() {
            Some(Token { kind: TokenKind::Paren(p2, o2), span, .. }) if *p2 == p && *o2 == open => {
                self.i += 1;
                Ok(*span)
            }
            _ => self.expected(&format!("`{}`", paren_str(p, open))),
        }
    }
    fn read_var(&mut self) -> PR<Ident> {
        match self.cur() {
            Some(Token { kind: TokenKind::Var(v), span, .. }) => {
                self.i += 1;
                Ok(Ident { name: v.clone(), span: *span })
            }
            _ => self.expected("variable"),
        }
    }
    fn read_small_var(&mut self) -> PR<Ident> {
        match self.cur() {
            Some(Token { kind: TokenKind::Var(v), span, .. }) if !is_upper(v) => {
                self.i += 1;
                Ok(Ident { name: v.clone(), span: *span })
            }
            _ => self.expected("lowercase variable"),
        }
    }
    fn read_big_var(&mut self) -> PR<Ident> {
        match self.cur() {
            Some(Token { kind: TokenKind::Var(v), span, .. }) if is_upper(v) => {
                self.i += 1;
                Ok(Ident { name: v.clone(), span: *span })
            }
            _ => self.expected("uppercase variable"),
        }
    }
    fn read_op(&mut self) -> PR<Ident> {
        match self.cur() {
            Some(Token { kind: TokenKind::Operator(v), span, .. }) => {
                self.i += 1;
                Ok(Ident { name: v.clone(), span: *span })
            }
            _ => self.expected("operator"),
        }
    }
    fn read_symbol(&mut self) -> PR<Ident> {
        match self.cur() {
            Some(Token { kind: TokenKind::Symbol(v), span, .. }) => {
                self.i += 1;
                Ok(Ident { name: v.clone(), span: *span })
            }
            _ => self.expected("symbol"),
        }
    }
    fn read_value(&mut self) -> PR<(Span, Literal)> {
        match self.cur() {
            Some(Token { kind: TokenKind::Value(v), span, .. }) => {
                self.i += 1;
                Ok((*span, v.clone()))
            }
            _ => self.expected("literal"),
        }
    }
    fn read_default_value(&mut self) -> PR<(Span, String)> {
        match self.cur() {
            Some(Token { kind: TokenKind::DefaultValue(v), span, .. }) => {
                self.i += 1;
                Ok((*span, v.clone()))
            }
            _ => self.expected("literal"),
        }
    }
    /// Text, escapes (and `\v` in term macros) up to something else.
    fn read_text(&mut self, term_macro: bool) -> PR<(Span, String)> {
        let start = self.i;
        let mut s = String::new();
        loop {
            match self.kind() {
                Some(TokenKind::Text(t)) => s.push_str(t),
                Some(TokenKind::EscapedVar) if term_macro => s.push_str("\\v"),
                Some(TokenKind::EscapedChar(c)) | Some(TokenKind::UnescapedChar(c)) => s.push(*c),
                _ => break,
            }
            self.i += 1;
        }
        if self.i == start {
            return self.expected("text");
        }
        Ok((self.span_from(start), s))
    }
    fn read_string(&mut self) -> PR<(Span, String)> {
        let start = self.i;
        match self.kind() {
            Some(TokenKind::StringOpen) => self.i += 1,
            _ => return self.expected("string"),
        }
        let text = opt!(self, self.read_text(false)).map(|x| x.1).unwrap_or_default();
        match self.kind() {
            Some(TokenKind::StringClose) => self.i += 1,
            _ => return self.expected("`\"`"),
        }
        Ok((self.span_from(start), text))
    }
    /// True when the current token touches the previous one (no space between them).
    fn tight(&self) -> bool {
        self.i > 0 && self.i < self.toks.len() && self.toks[self.i - 1].span.end == self.toks[self.i].span.start
    }
    fn enter(&mut self) -> PR<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let sp = self.here();
            let msg = format!("nesting is too deep (more than {MAX_DEPTH} levels)");
            if self.fatal.is_none() {
                self.fatal = Some(Diagnostic::error(sp, msg.clone()));
            }
            return self.fail(sp, msg);
        }
        Ok(())
    }
    /// A fatal error for inputs whose syntax tree would be too deep even though they nest little.
    fn too_long<T>(&mut self, span: Span, what: &str) -> PR<T> {
        let msg = format!("too many {what} (more than {MAX_TREE_DEPTH}); split it into smaller functions");
        if self.fatal.is_none() {
            self.fatal = Some(Diagnostic::error(span, msg.clone()));
        }
        self.fail(span, msg)
    }
    fn with_bottom_up<T>(&mut self, f: impl FnOnce(&mut Self) -> PR<T>) -> PR<T> {
        let saved = self.top_down;
        self.top_down = false;
        let r = f(self);
        self.top_down = saved;
        r
    }

    // ---------------------------------------------------------------- block entry

    fn parse_block(&mut self, comments: String) -> Result<TopItem, Diagnostic> {
        let r = self.top_statement(comments);
        if let Some(d) = self.fatal.take() {
            return Err(d);
        }
        match r {
            Ok(item) => {
                if self.i == self.toks.len() {
                    Ok(item)
                } else {
                    Err(self.unexpected_token())
                }
            }
            Err(errs) if errs.is_empty() => {
                if self.i >= self.toks.len() {
                    let last = self.toks[self.toks.len() - 1].span;
                    Err(Diagnostic::error(last, "unexpected end of the statement after this token"))
                } else {
                    Err(self.unexpected_token())
                }
            }
            Err(errs) => Err(self.report(errs)),
        }
    }

    fn unexpected_token(&self) -> Diagnostic {
        let t = &self.toks[self.i];
        let mut d = Diagnostic::error(t.span, format!("unexpected {}: could not parse past this point", describe(&t.kind)));
        if self.i > 0 && t.col > 0 {
            d = d.with_note("check the indentation: this token may be too far left or right for the expression it belongs to");
        }
        d
    }

    fn report(&self, errs: Errs) -> Diagnostic {
        let max = errs.iter().map(|e| e.span.start).max().unwrap_or(0);
        let at: Vec<&PErr> = errs.iter().filter(|e| e.span.start == max).collect();
        if let Some(hard) = at.iter().find(|e| !e.expected) {
            return Diagnostic::error(hard.span, hard.msg.clone());
        }
        let mut names: Vec<&str> = Vec::new();
        for e in &at {
            if !names.contains(&e.msg.as_str()) {
                names.push(&e.msg);
            }
        }
        let span = at[0].span;
        let found = self
            .toks
            .iter()
            .find(|t| t.span.start == span.start)
            .map(|t| describe(&t.kind))
            .unwrap_or_else(|| "end of the statement".into());
        let list = match names.len() {
            0 => String::from("something else"),
            1 => names[0].to_string(),
            _ => format!("{} or {}", names[..names.len() - 1].join(", "), names[names.len() - 1]),
        };
        Diagnostic::error(span, format!("unexpected {found}; expected {list}"))
    }

    // ---------------------------------------------------------------- kinds and binders

    fn kind_expr(&mut self) -> PR<Kind> {
        self.enter()?;
        let r = self.kind_expr_inner();
        self.depth -= 1;
        r
    }
    fn kind_expr_inner(&mut self) -> PR<Kind> {
        let mut ks = sep_by1!(self, self.kind_atom(), self.skip_op("->"));
        let mut k = ks.pop().unwrap_or(Kind::Star);
        while let Some(a) = ks.pop() {
            k = Kind::Fun(bx(a), bx(k));
        }
        Ok(k)
    }
    fn kind_atom(&mut self) -> PR<Kind> {
        let mut errs = Vec::new();
        try_alt!(self, errs, self.skip_op("*").map(|_| Kind::Star));
        try_alt!(self, errs, {
            let r = self.skip_paren(Paren::Round, true);
            match r {
                Ok(_) => {
                    let k = self.kind_expr()?;
                    self.skip_paren(Paren::Round, false)?;
                    Ok(k)
                }
                Err(e) => Err(e),
            }
        });
        Err(errs)
    }
    fn ho_var(&mut self) -> PR<HoVar> {
        let start = self.i;
        if let Ok(name) = self.read_small_var() {
            return Ok(HoVar { name, kind: Kind::Wildcard, span: self.span_from(start) });
        }
        match self.kind() {
            Some(TokenKind::Paren(Paren::Round, true)) => {
                self.i += 1;
                let name = self.read_small_var()?;
                self.skip_op(":")?;
                let kind = self.kind_expr()?;
                self.skip_paren(Paren::Round, false)?;
                Ok(HoVar { name, kind, span: self.span_from(start) })
            }
            _ => self.expected("type variable"),
        }
    }
    fn forall_var(&mut self) -> PR<TypeVar> {
        let var = self.ho_var()?;
        let mut constraints = Vec::new();
        if matches!(self.kind(), Some(TokenKind::Paren(Paren::Curly, true))) {
            self.i += 1;
            constraints = sep_by!(self, self.constraint_name(), self.skip_op(";"));
            self.skip_paren(Paren::Curly, false)?;
            let mut seen = std::collections::HashSet::new();
            for c in &constraints {
                if !seen.insert(c.name.clone()) {
                    return self.fail(c.span, "duplicate constraint");
                }
            }
        }
        Ok(TypeVar { var, constraints })
    }
    fn constraint_name(&mut self) -> PR<Ident> {
        let mut errs = Vec::new();
        try_alt!(self, errs, self.read_small_var());
        try_alt!(self, errs, self.rounds_op());
        Err(errs)
    }
    /// `(op)`: an operator used as a name.
    fn rounds_op(&mut self) -> PR<Ident> {
        self.skip_paren(Paren::Round, true)?;
        let o = self.read_op()?;
        self.skip_paren(Paren::Round, false)?;
        Ok(o)
    }
    fn forall(&mut self) -> PR<Vec<TypeVar>> {
        self.skip_kw(Keyword::Forall)?;
        let first = self.forall_var()?;
        let mut vs = vec![first];
        vs.extend(many!(self, self.forall_var()));
        self.skip_op(".")?;
        self.check_dup_vars(&vs, "duplicate forall variable")?;
        Ok(vs)
    }
    fn check_dup_vars(&self, vs: &[TypeVar], msg: &str) -> PR<()> {
        let mut seen = std::collections::HashSet::new();
        for v in vs {
            if !seen.insert(v.var.name.name.clone()) {
                return self.fail(v.var.name.span, msg);
            }
        }
        Ok(())
    }
    fn exists_binder(&mut self) -> PR<Vec<TypeVar>> {
        self.skip_kw(Keyword::Exists)?;
        let vs = many!(self, self.forall_var());
        self.skip_op(".")?;
        self.check_dup_vars(&vs, "duplicate variable in the exists type")?;
        Ok(vs)
    }

    // ---------------------------------------------------------------- patterns

    fn record_var(&mut self) -> PR<Ident> {
        let mut errs = Vec::new();
        try_alt!(self, errs, self.read_var());
        try_alt!(self, errs, self.rounds_op());
        Err(errs)
    }

    fn pat_list_pair(span: Span, a: Pattern, b: Pattern) -> Pattern {
        pt(span, PatternKind::Unbox("Cons".into(), bx(pt(span, PatternKind::Pair(bx(a), bx(b))))))
    }

    fn root_pattern_var_nominal_union(&mut self) -> PR<Pattern> {
        let name = self.read_var()?;
        if is_upper(&name.name) {
            let b = opt!(self, self.root_pattern_var());
            let span = b.as_ref().map(|b| name.span.to(b.span)).unwrap_or(name.span);
            let b = b.unwrap_or(pt(name.span, PatternKind::Wildcard));
            return Ok(pt(span, PatternKind::Unbox(name.name, bx(b))));
        }
        let mut path = Vec::new();
        while self.tight() && matches!(self.kind(), Some(TokenKind::Symbol(_))) {
            path.push(self.read_symbol()?);
        }
        if path.is_empty() {
            match opt!(self, self.root_pattern_var()) {
                Some(b) => Ok(pt(name.span.to(b.span), PatternKind::Nominal { name, path, pat: bx(b) })),
                None => Ok(pt(name.span, PatternKind::Var(name.name))),
            }
        } else {
            let b = self.root_pattern_var()?;
            Ok(pt(name.span.to(b.span), PatternKind::Nominal { name, path, pat: bx(b) }))
        }
    }
    fn pat_wildcard(&mut self) -> PR<Pattern> {
        let s = self.skip_kw(Keyword::Wildcard)?;
        Ok(pt(s, PatternKind::Wildcard))
    }
    fn pat_dyn(&mut self) -> PR<Pattern> {
        let start = self.i;
        self.skip_unary_op("~")?;
        let p = self.root_pattern_var()?;
        Ok(pt(self.span_from(start), PatternKind::Dyn(bx(p))))
    }
    fn pat_record(&mut self) -> PR<Pattern> {
        let start = self.i;
        self.skip_paren(Paren::Curly, true)?;
        let items = many!(self, self.pat_record_item());
        self.skip_paren(Paren::Curly, false)?;
        let mut syms = std::collections::HashSet::new();
        let mut injs = std::collections::HashSet::new();
        for m in &items {
            match m {
                PatRecordMember::Symbol(i, _) if !syms.insert(i.name.clone()) => {
                    return self.fail(i.span, "duplicate record symbol");
                }
                PatRecordMember::InjectVar(i, _) if !injs.insert(i.name.clone()) => {
                    return self.fail(i.span, "duplicate record injection");
                }
                _ => {}
            }
        }
        Ok(pt(self.span_from(start), PatternKind::Record(items)))
    }
    fn pat_record_item(&mut self) -> PR<PatRecordMember> {
        let mut errs = Vec::new();
        let s = self.i;
        let inj = match self.skip_unary_op("$") {
            Ok(_) => Some(self.read_small_var()?),
            Err(er) => {
                errs.extend(er);
                None
            }
        };
        let (is_inj, name) = match inj {
            Some(n) => (true, n),
            None => {
                match self.record_var() {
                    Ok(n) => (false, n),
                    Err(er) => {
                        if self.i != s {
                            return Err(er);
                        }
                        errs.extend(er);
                        return Err(errs);
                    }
                }
            }
        };
        let p = if self.skip_op("=").is_ok() {
            self.root_pattern_pair()?
        } else {
            pt(name.span, PatternKind::Var(name.name.clone()))
        };
        Ok(if is_inj { PatRecordMember::InjectVar(name, p) } else { PatRecordMember::Symbol(name, p) })
    }
    fn root_pattern_type(&mut self) -> PR<Pattern> {
        let a = self.root_pattern()?;
        let s = self.i;
        match self.skip_op(":") {
            Ok(_) => {
                let t = self.root_type_annot()?;
                Ok(pt(a.span.to(t.span), PatternKind::Annot(bx(a), t)))
            }
            Err(er) => {
                if self.i != s {
                    return Err(er);
                }
                Ok(a)
            }
        }
    }
    fn pat_rounds(&mut self) -> PR<Pattern> {
        let start = self.i;
        self.skip_paren(Paren::Round, true)?;
        let inner = if matches!(self.kind(), Some(TokenKind::Operator(_))) {
            let o = self.read_op()?;
            Some(pt(o.span, PatternKind::Var(o.name)))
        } else {
            opt!(self, self.root_pattern_type())
        };
        self.skip_paren(Paren::Round, false)?;
        let span = self.span_from(start);
        Ok(inner.unwrap_or(pt(span, PatternKind::Unit)))
    }
    fn pat_squares(&mut self) -> PR<(Span, Vec<Pattern>)> {
        let start = self.i;
        self.skip_paren(Paren::Square, true)?;
        let ps = sep_by!(self, self.root_pattern_type(), self.skip_op(";"));
        self.skip_paren(Paren::Square, false)?;
        Ok((self.span_from(start), ps))
    }
    fn pat_array(&mut self) -> PR<Pattern> {
        let start = self.i;
        self.skip_unary_op(";")?;
        let (_, ps) = self.pat_squares()?;
        Ok(pt(self.span_from(start), PatternKind::Array(ps)))
    }
    fn pat_list(&mut self) -> PR<Pattern> {
        let (span, ps) = self.pat_squares()?;
        let mut acc = pt(span, PatternKind::Unbox("Nil".into(), bx(pt(span, PatternKind::Unit))));
        for p in ps.into_iter().rev() {
            acc = Self::pat_list_pair(span, p, acc);
        }
        Ok(acc)
    }
    fn pat_exists(&mut self) -> PR<Pattern> {
        let start = self.i;
        self.skip_kw(Keyword::Exists)?;
        let vs = many!(self, self.read_small_var());
        self.skip_op(".")?;
        let mut seen = std::collections::HashSet::new();
        for v in &vs {
            if !seen.insert(v.name.clone()) {
                return self.fail(v.span, "duplicate variable in the exists pattern");
            }
        }
        let p = self.root_pattern()?;
        Ok(pt(self.span_from(start), PatternKind::Exists(vs, bx(p))))
    }
    fn pattern_atom(&mut self) -> PR<Pattern> {
        let mut errs = Vec::new();
        try_alt!(self, errs, self.pat_rounds());
        try_alt!(self, errs, self.root_pattern_var_nominal_union());
        try_alt!(self, errs, self.pat_wildcard());
        try_alt!(self, errs, self.pat_dyn());
        try_alt!(self, errs, self.read_value().map(|(s, l)| pt(s, PatternKind::Lit(l))));
        try_alt!(self, errs, self.read_default_value().map(|(s, l)| pt(s, PatternKind::DefaultLit(l))));
        try_alt!(self, errs, self.read_string().map(|(s, l)| pt(s, PatternKind::Lit(Literal::String(l)))));
        try_alt!(self, errs, self.pat_record());
        try_alt!(self, errs, self.read_symbol().map(|s| pt(s.span, PatternKind::Symbol(s.name))));
        try_alt!(self, errs, self.pat_array());
        try_alt!(self, errs, self.pat_list());
        try_alt!(self, errs, self.pat_exists());
        drop(errs);
        self.expected("pattern")
    }
    fn root_pattern(&mut self) -> PR<Pattern> {
        self.enter()?;
        let r = self.root_pattern_inner();
        self.depth -= 1;
        r
    }
    fn root_pattern_inner(&mut self) -> PR<Pattern> {
        let a = self.pat_or()?;
        let s = self.i;
        match self.skip_kw(Keyword::As) {
            Ok(_) => {
                let b = self.pat_or()?;
                Ok(pt(a.span.to(b.span), PatternKind::And(bx(a), bx(b))))
            }
            Err(er) => {
                if self.i != s {
                    return Err(er);
                }
                Ok(a)
            }
        }
    }
    fn pat_or(&mut self) -> PR<Pattern> {
        let ps = sep_by1!(self, self.pat_cons(), self.skip_op("|"));
        let mut it = ps.into_iter();
        let mut acc = it.next().expect("sep_by1 yields one item");
        for b in it {
            acc = pt(acc.span.to(b.span), PatternKind::Or(bx(acc), bx(b)));
        }
        Ok(acc)
    }
    fn pat_cons(&mut self) -> PR<Pattern> {
        let start = self.i;
        let mut ps = sep_by1!(self, self.pat_pair_and(), self.skip_op("::"));
        let span = self.span_from(start);
        let mut acc = ps.pop().expect("sep_by1 yields one item");
        while let Some(a) = ps.pop() {
            acc = Self::pat_list_pair(span, a, acc);
        }
        Ok(acc)
    }
    fn pat_pair_and(&mut self) -> PR<Pattern> {
        let mut ps = sep_by1!(self, self.pat_and(), self.skip_op(","));
        let mut acc = ps.pop().expect("sep_by1 yields one item");
        while let Some(a) = ps.pop() {
            acc = pt(a.span.to(acc.span), PatternKind::Pair(bx(a), bx(acc)));
        }
        Ok(acc)
    }
    fn pat_and(&mut self) -> PR<Pattern> {
        let ps = sep_by1!(self, self.pattern_atom(), self.skip_op("&"));
        let mut it = ps.into_iter();
        let mut acc = it.next().expect("sep_by1 yields one item");
        for b in it {
            acc = pt(acc.span.to(b.span), PatternKind::And(bx(acc), bx(b)));
        }
        Ok(acc)
    }
    fn root_pattern_when(&mut self) -> PR<Pattern> {
        let a = self.root_pattern()?;
        let s = self.i;
        match self.skip_kw(Keyword::When) {
            Ok(_) => {
                let c = self.root_term()?;
                Ok(pt(a.span.to(c.span), PatternKind::When(bx(a), bx(c))))
            }
            Err(er) => {
                if self.i != s {
                    return Err(er);
                }
                Ok(a)
            }
        }
    }
    /// The simple patterns allowed as function parameters.
    fn root_pattern_var(&mut self) -> PR<Pattern> {
        self.enter()?;
        let r = self.root_pattern_var_inner();
        self.depth -= 1;
        r
    }
    fn root_pattern_var_inner(&mut self) -> PR<Pattern> {
        let mut errs = Vec::new();
        try_alt!(self, errs, self.read_small_var().map(|v| pt(v.span, PatternKind::Var(v.name))));
        try_alt!(self, errs, self.pat_wildcard());
        try_alt!(self, errs, self.pat_dyn());
        try_alt!(self, errs, self.pat_rounds());
        try_alt!(self, errs, self.pat_record());
        try_alt!(self, errs, self.pat_array());
        try_alt!(self, errs, self.pat_list());
        try_alt!(self, errs, self.pat_exists());
        drop(errs);
        self.expected("pattern")
    }
    fn root_pattern_pair(&mut self) -> PR<Pattern> {
        let mut ps = sep_by1!(self, self.root_pattern_var(), self.skip_op(","));
        let mut acc = ps.pop().expect("sep_by1 yields one item");
        while let Some(a) = ps.pop() {
            acc = pt(a.span.to(acc.span), PatternKind::Pair(bx(a), bx(acc)));
        }
        Ok(acc)
    }

    // ---------------------------------------------------------------- types

    fn root_type_annot(&mut self) -> PR<TypeExpr> {
        let f = TyFlags { metavars: false, term: !self.top_down, wildcard: self.top_down };
        self.root_type(f)
    }
    fn root_type(&mut self, f: TyFlags) -> PR<TypeExpr> {
        self.enter()?;
        let r = self.type_functions(f);
        self.depth -= 1;
        r
    }
    fn type_functions(&mut self, f: TyFlags) -> PR<TypeExpr> {
        let mut ts = sep_by1!(self, self.type_pairs(f), self.skip_op("->"));
        let mut acc = ts.pop().expect("sep_by1 yields one item");
        while let Some(a) = ts.pop() {
            acc = ty(a.span.to(acc.span), TypeKind::Fun(bx(a), bx(acc)));
        }
        Ok(acc)
    }
    fn type_pairs(&mut self, f: TyFlags) -> PR<TypeExpr> {
        let mut ts = sep_by1!(self, self.type_apply(f), self.skip_op("*"));
        let mut acc = ts.pop().expect("sep_by1 yields one item");
        while let Some(a) = ts.pop() {
            acc = ty(a.span.to(acc.span), TypeKind::Pair(bx(a), bx(acc)));
        }
        Ok(acc)
    }
    fn type_apply(&mut self, f: TyFlags) -> PR<TypeExpr> {
        let c = self.col();
        let mut acc = self.type_apply_tight(f)?;
        loop {
            if self.col() <= c {
                break;
            }
            match opt!(self, self.type_apply_tight(f)) {
                Some(b) => acc = ty(acc.span.to(b.span), TypeKind::Apply(bx(acc), bx(b))),
                None => break,
            }
        }
        Ok(acc)
    }
    fn type_apply_tight(&mut self, f: TyFlags) -> PR<TypeExpr> {
        let mut acc = self.type_case(f)?;
        while self.tight() {
            match opt!(self, self.type_case(f)) {
                Some(b) => acc = ty(acc.span.to(b.span), TypeKind::Apply(bx(acc), bx(b))),
                None => break,
            }
        }
        Ok(acc)
    }
    fn type_case(&mut self, f: TyFlags) -> PR<TypeExpr> {
        let start = self.i;
        let Some(t) = self.cur() else { return Err(Vec::new()) };
        match &t.kind {
            TokenKind::Paren(Paren::Round, true) => {
                self.i += 1;
                let inner = opt!(self, self.root_type(f));
                self.skip_paren(Paren::Round, false)?;
                Ok(inner.unwrap_or(ty(self.span_from(start), TypeKind::Unit)))
            }
            TokenKind::Value(l) => {
                self.i += 1;
                Ok(ty(t.span, TypeKind::Lit(l.clone())))
            }
            TokenKind::StringOpen => {
                let (s, text) = self.read_string()?;
                Ok(ty(s, TypeKind::Lit(Literal::String(text))))
            }
            TokenKind::DefaultValue(v) => {
                self.i += 1;
                Ok(ty(t.span, TypeKind::DefaultLit(v.clone())))
            }
            TokenKind::Keyword(Keyword::Wildcard) if f.wildcard => {
                self.i += 1;
                Ok(ty(t.span, TypeKind::Wildcard))
            }
            TokenKind::UnaryOperator(o) if o == "`" && f.term => {
                self.i += 1;
                let x = self.with_bottom_up(|p| {
                    if let Ok(v) = p.read_var() {
                        return Ok(var(v.span, &v.name));
                    }
                    p.skip_paren(Paren::Round, true)?;
                    let x = p.root_term()?;
                    p.skip_paren(Paren::Round, false)?;
                    Ok(x)
                })?;
                Ok(ty(self.span_from(start), TypeKind::Term(bx(x))))
            }
            TokenKind::UnaryOperator(o) if o == "~" && f.metavars => {
                self.i += 1;
                let v = self.read_var()?;
                Ok(ty(self.span_from(start), TypeKind::MetaVar(v.name)))
            }
            TokenKind::Var(v) => {
                self.i += 1;
                Ok(ty(t.span, TypeKind::Var(v.clone())))
            }
            TokenKind::Paren(Paren::Curly, true) => self.type_record(f),
            TokenKind::Symbol(s) => {
                self.i += 1;
                Ok(ty(t.span, TypeKind::Symbol(s.clone())))
            }
            TokenKind::MacroOpen => {
                self.i += 1;
                let mut parts = Vec::new();
                loop {
                    match self.kind() {
                        Some(TokenKind::Text(_)) | Some(TokenKind::EscapedChar(_)) | Some(TokenKind::UnescapedChar(_)) => {
                            let (s, text) = self.read_text(false)?;
                            parts.push(MacroPart::Text(text, s));
                        }
                        Some(TokenKind::MacroTypeVar(v)) => {
                            let sp = sigil_free(self.here());
                            self.i += 1;
                            parts.push(MacroPart::Type(ty(sp, TypeKind::Var(v.clone()))));
                        }
                        Some(TokenKind::MacroTypeLitVar(v)) => {
                            let sp = sigil_free(self.here());
                            self.i += 1;
                            parts.push(MacroPart::TypeLit(ty(sp, TypeKind::Var(v.clone()))));
                        }
                        Some(TokenKind::MacroExpr(k @ (MacroKind::Type | MacroKind::TypeLit), true)) => {
                            let k = *k;
                            self.i += 1;
                            let t = self.root_type(TyFlags::default())?;
                            self.skip_macro_close(k)?;
                            parts.push(if k == MacroKind::Type { MacroPart::Type(t) } else { MacroPart::TypeLit(t) });
                        }
                        Some(TokenKind::MacroClose) => {
                            self.i += 1;
                            break;
                        }
                        _ => return self.expected("macro text, a type variable or `\"`"),
                    }
                }
                Ok(ty(self.span_from(start), TypeKind::Macro(parts)))
            }
            TokenKind::Keyword(Keyword::Exists) => {
                let vs = self.exists_binder()?;
                let b = self.root_type(f)?;
                Ok(ty(self.span_from(start), TypeKind::Exists(vs, bx(b))))
            }
            TokenKind::Keyword(Keyword::Forall) => {
                let vs = self.forall()?;
                let b = self.root_type(f)?;
                Ok(Self::wrap_type_foralls(vs, b))
            }
            _ => self.expected("type"),
        }
    }
    fn skip_macro_close(&mut self, k: MacroKind) -> PR<()> {
        match self.kind() {
            Some(TokenKind::MacroExpr(k2, false)) if *k2 == k => {
                self.i += 1;
                Ok(())
            }
            _ => self.expected("`)`"),
        }
    }
    fn wrap_type_foralls(vs: Vec<TypeVar>, b: TypeExpr) -> TypeExpr {
        vs.into_iter().rev().fold(b, |b, v| ty(v.var.span.to(b.span), TypeKind::Forall(v, bx(b))))
    }
    fn type_record(&mut self, f: TyFlags) -> PR<TypeExpr> {
        let start = self.i;
        self.skip_paren(Paren::Curly, true)?;
        let fields = sep_by!(
            self,
            {
                match self.record_var() {
                    Ok(n) => match self.skip_op(":") {
                        Ok(_) => self.root_type(f).map(|t| (n, t)),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                }
            },
            self.optional_semicolon()
        );
        self.skip_paren(Paren::Curly, false)?;
        let mut seen = std::collections::HashSet::new();
        for (n, _) in &fields {
            if !seen.insert(n.name.clone()) {
                return self.fail(n.span, "duplicate record field");
            }
        }
        Ok(ty(self.span_from(start), TypeKind::Record(fields)))
    }
    fn optional_semicolon(&mut self) -> PR<()> {
        let _ = self.skip_op(";");
        Ok(())
    }
    fn union_clauses(&mut self) -> PR<(Span, Vec<UnionCase>)> {
        let start = self.i;
        let c = self.col();
        let _ = self.bar(c);
        let cases = sep_by1!(self, self.union_case(), self.bar(c));
        let mut seen = std::collections::HashSet::new();
        for k in &cases {
            if !seen.insert(k.name.name.clone()) {
                return self.fail(k.name.span, "duplicate union case");
            }
        }
        Ok((self.span_from(start), cases))
    }
    fn union_case(&mut self) -> PR<UnionCase> {
        let name = self.read_big_var()?;
        let s = self.i;
        if self.skip_op(":").is_ok() {
            let t = self.root_type(TyFlags::default())?;
            return Ok(UnionCase { name, gadt: false, ty: t });
        }
        if self.skip_op("::").is_ok() {
            let vs = if matches!(self.kind(), Some(TokenKind::Keyword(Keyword::Forall))) { self.forall()? } else { Vec::new() };
            let t = self.root_type(TyFlags::default())?;
            return Ok(UnionCase { name, gadt: true, ty: Self::wrap_type_foralls(vs, t) });
        }
        debug_assert_eq!(s, self.i);
        let sp = name.span;
        Ok(UnionCase { name, gadt: false, ty: ty(sp, TypeKind::Unit) })
    }
    fn bar(&mut self, c: i64) -> PR<Span> {
        if self.col() >= c && c >= 0 {
            self.skip_op("|")
        } else {
            self.expected("`|`")
        }
    }

    // ---------------------------------------------------------------- terms

    fn root_term(&mut self) -> PR<Expr> {
        self.enter()?;
        let r = self.statements();
        self.depth -= 1;
        r
    }

    /// `exp` after `sep`, with an optional `: type` before `sep`.
    fn annotated_body(&mut self, sep: &str) -> PR<Expr> {
        let s = self.i;
        let annot = match self.skip_op(":") {
            Ok(_) => Some(self.root_type_annot()?),
            Err(er) => {
                if self.i != s {
                    return Err(er);
                }
                None
            }
        };
        let sep_span = self.skip_op(sep)?;
        let body = match opt!(self, self.root_term()) {
            Some(b) => b,
            None => {
                self.extra.push(Diagnostic::error(sep_span, format!("expected an expression after `{sep}`")));
                e(sep_span, ExprKind::MissingBody)
            }
        };
        Ok(match annot {
            Some(t) => e(body.span.to(t.span), ExprKind::Annot(bx(body), t)),
            None => body,
        })
    }

    fn case_fun(&mut self) -> PR<Expr> {
        let start = self.i;
        self.skip_kw(Keyword::Fun)?;
        let first = self.root_pattern_pair()?;
        let mut pats = vec![first];
        pats.extend(many!(self, self.root_pattern_pair()));
        self.validate_patterns(&pats)?;
        let body = self.annotated_body("=>")?;
        let mut f = Self::fold_funs(pats, body);
        f.span = self.span_from(start); // the outermost lambda starts at `fun`
        Ok(f)
    }
    fn fold_funs(pats: Vec<Pattern>, body: Expr) -> Expr {
        pats.into_iter().rev().fold(body, |b, p| e(p.span.to(b.span), ExprKind::Fun(vec![(p, b)])))
    }
    fn fold_foralls(vs: Vec<TypeVar>, body: Expr) -> Expr {
        vs.into_iter().rev().fold(body, |b, v| e(v.var.span.to(b.span), ExprKind::Forall(v, bx(b))))
    }
    fn case_forall(&mut self) -> PR<Expr> {
        if self.top_down {
            return self.expected("expression");
        }
        let start = self.i;
        let vs = self.forall()?;
        let pats = many!(self, self.root_pattern_pair());
        self.validate_patterns(&pats)?;
        let body = self.annotated_body("=>")?;
        let mut f = Self::fold_foralls(vs, Self::fold_funs(pats, body));
        f.span = self.span_from(start);
        Ok(f)
    }
    fn case_if(&mut self) -> PR<Expr> {
        let i = self.col();
        let start = self.i;
        self.skip_kw(Keyword::If)?;
        let cond = self.root_term()?;
        let then_ = self.kw_term(i, Keyword::Then)?;
        let mut elifs = Vec::new();
        loop {
            let s = self.i;
            match self.kw_term(i, Keyword::Elif) {
                Ok(c) => {
                    let t = self.kw_term(i, Keyword::Then)?;
                    elifs.push((c, t));
                }
                Err(er) => {
                    if self.i != s {
                        return Err(er);
                    }
                    break;
                }
            }
        }
        let else_ = opt!(self, self.kw_term(i, Keyword::Else));
        let mut fl = else_;
        for (c, t) in elifs.into_iter().rev() {
            let sp = c.span.to(fl.as_ref().map(|f| f.span).unwrap_or(t.span));
            fl = Some(match fl {
                Some(f) => e(sp, ExprKind::IfThenElse(bx(c), bx(t), bx(f))),
                None => e(sp, ExprKind::IfThen(bx(c), bx(t))),
            });
        }
        let sp = self.span_from(start);
        Ok(match fl {
            Some(f) => e(sp, ExprKind::IfThenElse(bx(cond), bx(then_), bx(f))),
            None => e(sp, ExprKind::IfThen(bx(cond), bx(then_))),
        })
    }
    fn kw_term(&mut self, i: i64, k: Keyword) -> PR<Expr> {
        if self.col() < i {
            return self.expected(&format!("`{}`", k.as_str()));
        }
        self.skip_kw(k)?;
        self.root_term()
    }
    fn match_clauses(&mut self) -> PR<Vec<(Pattern, Expr)>> {
        let c = self.col();
        let _ = self.bar(c);
        let cs = sep_by1!(
            self,
            {
                match self.root_pattern_when() {
                    Ok(p) => {
                        self.validate_patterns(std::slice::from_ref(&p))?;
                        match self.skip_op("=>") {
                            Ok(_) => self.root_term().map(|b| (p, b)),
                            Err(er) => Err(er),
                        }
                    }
                    Err(er) => Err(er),
                }
            },
            self.bar(c)
        );
        Ok(cs)
    }
    fn case_match(&mut self) -> PR<Expr> {
        let start = self.i;
        if self.skip_kw(Keyword::Function).is_ok() {
            let cs = self.match_clauses()?;
            return Ok(e(self.span_from(start), ExprKind::Fun(cs)));
        }
        self.skip_kw(Keyword::Match)?;
        let x = self.root_term()?;
        self.skip_kw(Keyword::With)?;
        let cs = self.match_clauses()?;
        Ok(e(self.span_from(start), ExprKind::Match { scrutinee: bx(x), clauses: cs }))
    }
    fn case_typecase(&mut self) -> PR<Expr> {
        if self.top_down {
            return self.expected("expression");
        }
        let start = self.i;
        self.skip_kw(Keyword::Typecase)?;
        let t = self.root_type(TyFlags { term: true, ..Default::default() })?;
        self.skip_kw(Keyword::With)?;
        let c = self.col();
        let _ = self.bar(c);
        let flags = TyFlags { metavars: true, wildcard: true, term: false };
        let cs = sep_by1!(
            self,
            {
                match self.root_type(flags) {
                    Ok(p) => {
                        self.typecase_validate(&p)?;
                        match self.skip_op("=>") {
                            Ok(_) => self.root_term().map(|b| (p, b)),
                            Err(er) => Err(er),
                        }
                    }
                    Err(er) => Err(er),
                }
            },
            self.bar(c)
        );
        Ok(e(self.span_from(start), ExprKind::Typecase { scrutinee: t, clauses: cs }))
    }
    fn typecase_validate(&self, t: &TypeExpr) -> PR<()> {
        fn go(t: &TypeExpr, metas: &mut Vec<String>, vars: &mut Vec<String>, errs: &mut Errs) {
            match &t.kind {
                TypeKind::Forall(..) => perr(errs, t.span, "a type lambda (forall) is not allowed in a typecase pattern"),
                TypeKind::Exists(..) => perr(errs, t.span, "an existential type is not allowed in a typecase pattern"),
                TypeKind::MetaVar(a) => {
                    if vars.contains(a) {
                        perr(errs, t.span, "the metavariable is shadowed by a variable")
                    } else {
                        metas.push(a.clone())
                    }
                }
                TypeKind::Var(a) => {
                    if metas.contains(a) {
                        perr(errs, t.span, "the variable is shadowed by a metavariable")
                    } else {
                        vars.push(a.clone())
                    }
                }
                TypeKind::Apply(a, b) | TypeKind::Fun(a, b) | TypeKind::Pair(a, b) => {
                    go(a, metas, vars, errs);
                    go(b, metas, vars, errs);
                }
                TypeKind::Record(fs) => fs.iter().for_each(|(_, x)| go(x, metas, vars, errs)),
                TypeKind::Macro(ps) => ps.iter().for_each(|p| {
                    if let MacroPart::Type(x) = p {
                        go(x, metas, vars, errs)
                    }
                }),
                _ => {}
            }
        }
        let mut errs = Vec::new();
        go(t, &mut Vec::new(), &mut Vec::new(), &mut errs);
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    fn inject(&mut self) -> PR<Ident> {
        self.skip_unary_op("$")?;
        self.read_small_var()
    }
    fn record_create(&mut self) -> PR<(Vec<Expr>, Vec<RecordWith>, Vec<RecordWithout>)> {
        self.skip_paren(Paren::Curly, true)?;
        let withs = sep_by!(self, self.record_create_body(), self.optional_semicolon());
        self.skip_paren(Paren::Curly, false)?;
        Ok((Vec::new(), withs, Vec::new()))
    }
    fn record_create_body(&mut self) -> PR<RecordWith> {
        let mut errs = Vec::new();
        try_alt!(self, errs, {
            match self.record_var() {
                Ok(a) => {
                    let s = self.i;
                    match self.skip_op("=") {
                        Ok(_) => self.root_term().map(|b| RecordWith::Symbol(a, b)),
                        Err(_) if self.i == s => {
                            let v = var(a.span, &a.name);
                            Ok(RecordWith::Symbol(a, v))
                        }
                        Err(er) => Err(er),
                    }
                }
                Err(er) => Err(er),
            }
        });
        try_alt!(self, errs, {
            match self.inject() {
                Ok(a) => match self.skip_op("=") {
                    Ok(_) => self.root_term().map(|b| RecordWith::InjectVar(a, b)),
                    Err(er) => Err(er),
                },
                Err(er) => Err(er),
            }
        });
        Err(errs)
    }
    fn record_with(&mut self) -> PR<(Vec<Expr>, Vec<RecordWith>, Vec<RecordWithout>)> {
        self.skip_paren(Paren::Curly, true)?;
        let name = self.read_small_var()?;
        let mut bases = vec![var(name.span, &name.name)];
        loop {
            match self.kind() {
                Some(TokenKind::Symbol(_)) => {
                    let s = self.read_symbol()?;
                    bases.push(e(s.span, ExprKind::Symbol(s.name)));
                }
                Some(TokenKind::Operator(o)) | Some(TokenKind::UnaryOperator(o)) if o == "$" => {
                    self.i += 1;
                    let v = self.read_small_var()?;
                    bases.push(var(v.span, &v.name));
                }
                _ => break,
            }
        }
        let mut withs = Vec::new();
        if self.skip_kw(Keyword::With).is_ok() {
            withs = sep_by!(self, self.record_with_body(), self.optional_semicolon());
        }
        let mut withouts = Vec::new();
        if self.skip_kw(Keyword::Without).is_ok() {
            withouts = many!(self, {
                let mut errs = Vec::new();
                let r: PR<RecordWithout> = (|| {
                    try_alt!(self, errs, self.record_var().map(RecordWithout::Symbol));
                    try_alt!(self, errs, self.inject().map(RecordWithout::InjectVar));
                    Err(errs)
                })();
                r
            });
        }
        self.skip_paren(Paren::Curly, false)?;
        Ok((bases, withs, withouts))
    }
    fn record_with_body(&mut self) -> PR<RecordWith> {
        let mut errs = Vec::new();
        try_alt!(self, errs, {
            match self.record_var() {
                Ok(a) => {
                    if self.skip_op("#=").is_ok() {
                        self.root_term().map(|b| RecordWith::SymbolModify(a, b))
                    } else if self.skip_op("=").is_ok() {
                        self.root_term().map(|b| RecordWith::Symbol(a, b))
                    } else {
                        let v = var(a.span, &a.name);
                        Ok(RecordWith::Symbol(a, v))
                    }
                }
                Err(er) => Err(er),
            }
        });
        try_alt!(self, errs, {
            match self.inject() {
                Ok(a) => {
                    if self.skip_op("#=").is_ok() {
                        self.root_term().map(|b| RecordWith::InjectVarModify(a, b))
                    } else {
                        match self.skip_op("=") {
                            Ok(_) => self.root_term().map(|b| RecordWith::InjectVar(a, b)),
                            Err(er) => Err(er),
                        }
                    }
                }
                Err(er) => Err(er),
            }
        });
        Err(errs)
    }
    fn case_record(&mut self) -> PR<Expr> {
        let start = self.i;
        let (bases, with, without) = match self.record_create() {
            Ok(x) => x,
            Err(er) => {
                if self.i <= start + 2 {
                    self.i = start;
                    match self.record_with() {
                        Ok(x) => x,
                        Err(er2) => {
                            if self.i == start {
                                return Err(er.into_iter().chain(er2).collect());
                            }
                            return Err(er2);
                        }
                    }
                } else {
                    return Err(er);
                }
            }
        };
        // Duplicate checks.
        let mut syms = std::collections::HashSet::new();
        let mut injs = std::collections::HashSet::new();
        for w in &with {
            let (is_sym, i) = match w {
                RecordWith::Symbol(i, _) | RecordWith::SymbolModify(i, _) => (true, i),
                RecordWith::InjectVar(i, _) | RecordWith::InjectVarModify(i, _) => (false, i),
            };
            let fresh = if is_sym { syms.insert(i.name.clone()) } else { injs.insert(i.name.clone()) };
            if !fresh {
                return self.fail(i.span, if is_sym { "duplicate record symbol" } else { "duplicate record injection" });
            }
        }
        let mut syms = std::collections::HashSet::new();
        let mut injs = std::collections::HashSet::new();
        for w in &without {
            let (is_sym, i) = match w {
                RecordWithout::Symbol(i) => (true, i),
                RecordWithout::InjectVar(i) => (false, i),
            };
            let fresh = if is_sym { syms.insert(i.name.clone()) } else { injs.insert(i.name.clone()) };
            if !fresh {
                return self.fail(i.span, if is_sym { "duplicate record symbol" } else { "duplicate record injection" });
            }
        }
        Ok(e(self.span_from(start), ExprKind::RecordWith { bases, with, without }))
    }

    fn join_point(is_let: bool, name: Option<String>, x: Expr) -> Expr {
        match x.kind {
            ExprKind::JoinPoint { backend, body, .. } => e(x.span, ExprKind::JoinPoint { backend, body, name }),
            kind => {
                let x = e(x.span, kind);
                if is_let {
                    e(x.span, ExprKind::JoinPoint { backend: None, body: bx(x), name })
                } else {
                    x
                }
            }
        }
    }

    fn sequence_body(&mut self) -> PR<Vec<Expr>> {
        let c = self.col();
        let groups = many!(self, self.sequence_line(c));
        Ok(groups.into_iter().flatten().collect())
    }
    fn sequence_line(&mut self, c: i64) -> PR<Vec<Expr>> {
        if self.col() != c {
            return self.expected("expression");
        }
        let v = sep_by1!(self, self.operators(), self.skip_op(";"));
        Ok(v)
    }
    fn type_sequence_line(&mut self, c: i64) -> PR<Vec<TypeExpr>> {
        if self.col() != c {
            return self.expected("type");
        }
        let v = sep_by1!(self, self.root_type(TyFlags::default()), self.skip_op(";"));
        Ok(v)
    }

    fn read_macro_body(&mut self, start: usize) -> PR<Expr> {
        self.i += 1; // MacroOpen
        let mut parts = Vec::new();
        loop {
            let Some(t) = self.cur() else { return Err(Vec::new()) };
            match &t.kind {
                TokenKind::Text(_) | TokenKind::EscapedChar(_) | TokenKind::UnescapedChar(_) | TokenKind::EscapedVar => {
                    let (s, text) = self.read_text(true)?;
                    parts.push(MacroPart::Text(text, s));
                }
                TokenKind::MacroTermVar(v) => {
                    self.i += 1;
                    parts.push(MacroPart::Term(var(sigil_free(t.span), v)));
                }
                TokenKind::MacroTypeVar(v) => {
                    self.i += 1;
                    parts.push(MacroPart::Type(ty(sigil_free(t.span), TypeKind::Var(v.clone()))));
                }
                TokenKind::MacroTypeLitVar(v) => {
                    self.i += 1;
                    parts.push(MacroPart::TypeLit(ty(sigil_free(t.span), TypeKind::Var(v.clone()))));
                }
                TokenKind::MacroExpr(k, true) => {
                    let k = *k;
                    self.i += 1;
                    let part = match k {
                        MacroKind::Term => MacroPart::Term(self.root_term()?),
                        MacroKind::Type => MacroPart::Type(self.root_type(TyFlags::default())?),
                        MacroKind::TypeLit => MacroPart::TypeLit(self.root_type(TyFlags::default())?),
                    };
                    self.skip_macro_close(k)?;
                    parts.push(part);
                }
                TokenKind::MacroClose => {
                    self.i += 1;
                    break;
                }
                _ => return self.expected("macro text, a variable or `\"`"),
            }
        }
        Ok(e(self.span_from(start), ExprKind::Macro(parts)))
    }

    /// The atoms of a term.
    fn expressions(&mut self) -> PR<Expr> {
        let start = self.i;
        let Some(t) = self.cur() else { return Err(Vec::new()) };
        match &t.kind {
            TokenKind::Value(l) => {
                self.i += 1;
                Ok(e(t.span, ExprKind::Lit(l.clone())))
            }
            TokenKind::DefaultValue(v) => {
                self.i += 1;
                Ok(e(t.span, ExprKind::DefaultLit(v.clone())))
            }
            TokenKind::Var(v) => {
                self.i += 1;
                Ok(var(t.span, v))
            }
            TokenKind::Keyword(Keyword::Join) => {
                self.i += 1;
                let x = self.root_term()?;
                let mut j = Self::join_point(true, None, x);
                j.span = self.span_from(start); // starts at `join`
                Ok(j)
            }
            TokenKind::Keyword(Keyword::JoinBackend) => {
                self.i += 1;
                let b = self.read_big_var()?;
                let x = self.root_term()?;
                Ok(e(self.span_from(start), ExprKind::JoinPoint { backend: Some(b), body: bx(x), name: None }))
            }
            TokenKind::Keyword(Keyword::Real) => {
                self.i += 1;
                let x = self.with_bottom_up(|p| p.root_term())?;
                Ok(e(self.span_from(start), ExprKind::Real(bx(x))))
            }
            TokenKind::Symbol(s) => {
                self.i += 1;
                Ok(e(t.span, ExprKind::Symbol(s.clone())))
            }
            TokenKind::Keyword(Keyword::Typecase) => self.case_typecase(),
            TokenKind::Keyword(Keyword::Match) | TokenKind::Keyword(Keyword::Function) => self.case_match(),
            TokenKind::Paren(Paren::Round, true) => {
                self.i += 1;
                let inner = if matches!(self.kind(), Some(TokenKind::Operator(_))) {
                    let o = self.read_op()?;
                    Some(var(o.span, &o.name))
                } else {
                    opt!(self, self.root_term())
                };
                self.skip_paren(Paren::Round, false)?;
                Ok(inner.unwrap_or(e(self.span_from(start), ExprKind::Unit)))
            }
            TokenKind::Paren(Paren::Square, true) => {
                self.i += 1;
                let xs = self.sequence_body()?;
                self.skip_paren(Paren::Square, false)?;
                let r = self.span_from(start);
                if !self.top_down {
                    return self.fail(r, "list literals are not allowed in the bottom-up segment");
                }
                Ok(xs.into_iter().rev().fold(var(r, "Nil"), |acc, x| {
                    e(r, ExprKind::Apply(bx(var(r, "Cons")), bx(e(r, ExprKind::Pair(bx(x), bx(acc))))))
                }))
            }
            TokenKind::Paren(Paren::Curly, true) => self.case_record(),
            TokenKind::Keyword(Keyword::If) => self.case_if(),
            TokenKind::Keyword(Keyword::Fun) => self.case_fun(),
            TokenKind::Keyword(Keyword::Forall) => self.case_forall(),
            TokenKind::StringOpen => {
                let (s, text) = self.read_string()?;
                Ok(e(s, ExprKind::Lit(Literal::String(text))))
            }
            TokenKind::MacroOpen => self.read_macro_body(start),
            TokenKind::Keyword(Keyword::Exists) => {
                let kw = t.span;
                self.i += 1;
                let types = if matches!(self.kind(), Some(TokenKind::Paren(Paren::Square, true))) {
                    self.i += 1;
                    let c = self.col();
                    let groups = many!(self, self.type_sequence_line(c));
                    self.skip_paren(Paren::Square, false)?;
                    Some(groups.into_iter().flatten().collect::<Vec<_>>())
                } else {
                    None
                };
                let body = self.root_term()?;
                if !self.top_down && types.is_none() {
                    return self.fail(kw, "the types of an `exists` body have to be given up front (`exists [t] e`) in the bottom-up segment");
                }
                Ok(e(self.span_from(start), ExprKind::Exists { types, body: bx(body) }))
            }
            _ => self.expected("expression"),
        }
    }

    fn application_tight(&mut self) -> PR<Expr> {
        let mut acc = self.expressions()?;
        while self.tight() {
            match opt!(self, self.expressions()) {
                Some(b) => acc = e(acc.span.to(b.span), ExprKind::Apply(bx(acc), bx(b))),
                None => break,
            }
        }
        Ok(acc)
    }

    /// Every nested term passes through here once per nesting level, so this is where the
    /// nesting depth of terms is counted.
    fn unary_op(&mut self) -> PR<Expr> {
        self.enter()?;
        let r = self.unary_op_inner();
        self.depth -= 1;
        r
    }
    fn unary_op_inner(&mut self) -> PR<Expr> {
        let start = self.i;
        let (o, name) = match self.cur() {
            Some(Token { kind: TokenKind::UnaryOperator(n), span, .. }) => (*span, n.clone()),
            _ => return self.application_tight(),
        };
        self.i += 1;
        match name.as_str() {
            ";" => {
                if !self.top_down {
                    return self.fail(o, "array literals are not allowed in the bottom-up segment");
                }
                self.skip_paren(Paren::Square, true)?;
                let xs = self.sequence_body()?;
                self.skip_paren(Paren::Square, false)?;
                let r = self.span_from(start);
                Ok(e(r, ExprKind::Apply(bx(var(o, "array")), bx(e(r, ExprKind::Array(xs))))))
            }
            "!!!!" => {
                let name = self.read_big_var()?;
                self.skip_paren(Paren::Round, true)?;
                let args = self.with_bottom_up(|p| {
                    let v = sep_by!(p, p.unary_op(), p.skip_op(","));
                    Ok(v)
                })?;
                self.skip_paren(Paren::Round, false)?;
                if !INBUILT_OPS.contains(&name.name.as_str()) {
                    return self.fail(name.span, format!("`{}` is not an inbuilt operation", name.name));
                }
                Ok(e(self.span_from(start), ExprKind::Op { name, args }))
            }
            "`" => {
                if self.top_down {
                    return self.fail(o, "type application with `` ` `` is only allowed in the bottom-up segment (use `real`)");
                }
                let t = self.unary_type_expr()?;
                Ok(e(self.span_from(start), ExprKind::Type(t)))
            }
            "`@" => {
                if self.top_down {
                    return self.fail(o, "`` `@ `` is only allowed in the bottom-up segment");
                }
                let x = self.unary_term_expr()?;
                let r = self.span_from(start);
                let op = e(r, ExprKind::Op { name: Ident { name: "LitToTypeLit".into(), span: o }, args: vec![x] });
                Ok(e(r, ExprKind::Type(ty(r, TypeKind::Term(bx(op))))))
            }
            "``" => {
                if self.top_down {
                    return self.fail(o, "``` `` ``` is only allowed in the bottom-up segment");
                }
                let t = self.unary_type_expr()?;
                let r = self.span_from(start);
                let tspan = t.span;
                Ok(e(r, ExprKind::Op { name: Ident { name: "TypeToVar".into(), span: o }, args: vec![e(tspan, ExprKind::Type(t))] }))
            }
            "`$" => {
                let v = self.read_var()?;
                Ok(e(v.span, ExprKind::Var { name: v.name, tvar_applied: false }))
            }
            _ => {
                let b = self.application_tight()?;
                Ok(e(o.to(b.span), ExprKind::Apply(bx(var(o, &format!("~{name}"))), bx(b))))
            }
        }
    }
    fn unary_type_expr(&mut self) -> PR<TypeExpr> {
        let Some(t) = self.cur() else { return Err(Vec::new()) };
        match &t.kind {
            TokenKind::Var(v) if !is_upper(v) => {
                self.i += 1;
                Ok(ty(t.span, TypeKind::Var(v.clone())))
            }
            TokenKind::Value(l) => {
                self.i += 1;
                Ok(ty(t.span, TypeKind::Lit(l.clone())))
            }
            TokenKind::StringOpen => {
                let (s, text) = self.read_string()?;
                Ok(ty(s, TypeKind::Lit(Literal::String(text))))
            }
            TokenKind::Paren(Paren::Round, true) => {
                self.i += 1;
                let x = self.root_type(TyFlags { term: true, ..Default::default() })?;
                self.skip_paren(Paren::Round, false)?;
                Ok(x)
            }
            _ => self.expected("type"),
        }
    }
    fn unary_term_expr(&mut self) -> PR<Expr> {
        let Some(t) = self.cur() else { return Err(Vec::new()) };
        match &t.kind {
            TokenKind::Var(v) => {
                self.i += 1;
                Ok(var(t.span, v))
            }
            TokenKind::Value(l) => {
                self.i += 1;
                Ok(e(t.span, ExprKind::Lit(l.clone())))
            }
            TokenKind::DefaultValue(v) => {
                self.i += 1;
                Ok(e(t.span, ExprKind::DefaultLit(v.clone())))
            }
            TokenKind::StringOpen => {
                let (s, text) = self.read_string()?;
                Ok(e(s, ExprKind::Lit(Literal::String(text))))
            }
            TokenKind::Paren(Paren::Round, true) => {
                self.i += 1;
                let x = self.root_term()?;
                self.skip_paren(Paren::Round, false)?;
                Ok(x)
            }
            _ => self.expected("term"),
        }
    }

    fn application(&mut self) -> PR<Expr> {
        let c = self.col();
        let mut acc = self.unary_op()?;
        while self.col() > c {
            match opt!(self, self.unary_op()) {
                Some(b) => acc = e(acc.span.to(b.span), ExprKind::Apply(bx(acc), bx(b))),
                None => break,
            }
        }
        Ok(acc)
    }

    /// The binary operator at the current token, if it is one the Pratt loop may use.
    fn peek_binop(&self, c: i64) -> Option<(String, Span)> {
        if self.col() < c {
            return None;
        }
        match self.cur() {
            Some(Token { kind: TokenKind::Operator(o), span, .. }) => match o.as_str() {
                "=>" | "|" | ":" | ";" => None,
                _ => Some((o.clone(), *span)),
            },
            _ => None,
        }
    }

    fn operators(&mut self) -> PR<Expr> {
        let c = self.col();
        let x = self.tdop(c, i32::MIN)?;
        if self.col() >= c {
            let s = self.i;
            if self.skip_op(":").is_ok() {
                let t = self.root_type_annot()?;
                return Ok(e(x.span.to(t.span), ExprKind::Annot(bx(x), t)));
            }
            debug_assert_eq!(s, self.i);
        }
        Ok(x)
    }
    fn tdop(&mut self, c: i64, rbp: i32) -> PR<Expr> {
        let mut left = self.application()?;
        let mut chain = 0usize;
        while let Some((o, ospan)) = self.peek_binop(c) {
            chain += 1;
            if chain > MAX_TREE_DEPTH {
                return self.too_long(ospan, "operators chained in one expression");
            }
            let Some((prec, right_assoc)) = precedence(&o) else {
                self.i += 1; // consumed, so that enclosing alternatives report this error
                return self.fail(ospan, format!("operator `{o}` has no known precedence and associativity"));
            };
            if rbp >= prec {
                break;
            }
            self.i += 1;
            self.enter()?;
            let right = self.tdop(c, if right_assoc { prec - 1 } else { prec });
            self.depth -= 1;
            let right = right?;
            let r = left.span.to(right.span);
            left = match o.as_str() {
                "." => e(r, ExprKind::Seq(bx(left), bx(right))),
                "&&" => e(r, ExprKind::IfThenElse(bx(left), bx(right), bx(e(ospan, ExprKind::Lit(Literal::Bool(false)))))),
                "||" => e(r, ExprKind::IfThenElse(bx(left), bx(e(ospan, ExprKind::Lit(Literal::Bool(true)))), bx(right))),
                "," => e(r, ExprKind::Pair(bx(left), bx(right))),
                "<-" => {
                    let mut path = Vec::new();
                    let mut target = left;
                    while let ExprKind::Apply(..) = target.kind {
                        let ExprKind::Apply(f, x) = target.kind else { unreachable!() };
                        path.push(*x);
                        target = *f;
                    }
                    path.reverse();
                    e(r, ExprKind::HeapMutableSet { target: bx(target), path, value: bx(right) })
                }
                _ => e(r, ExprKind::Apply(bx(e(left.span.to(ospan), ExprKind::Apply(bx(var(ospan, &o)), bx(left)))), bx(right))),
            };
        }
        Ok(left)
    }

    // ---------------------------------------------------------------- statements

    fn inl_or_let(&mut self, is_and: bool) -> PR<(Span, Pattern, Expr, bool)> {
        let start = self.i;
        if is_and {
            self.skip_kw(Keyword::And)?;
        }
        let is_let = match self.kind() {
            Some(TokenKind::Keyword(Keyword::Inl)) => false,
            Some(TokenKind::Keyword(Keyword::Let)) => true,
            _ => return self.expected("`inl` or `let`"),
        };
        self.i += 1;
        let is_rec = is_and || self.skip_kw(Keyword::Rec).is_ok();
        let name = self.root_pattern_pair()?;
        let foralls = if matches!(self.kind(), Some(TokenKind::Keyword(Keyword::Forall))) { self.forall()? } else { Vec::new() };
        let pats = many!(self, self.root_pattern_pair());
        let body = self.annotated_body("=")?;
        let r = self.span_from(start);
        self.inl_or_let_process(r, is_let, is_rec, name, foralls, pats, body)
    }

    #[allow(clippy::too_many_arguments)]
    fn inl_or_let_process(
        &mut self,
        r: Span,
        is_let: bool,
        is_rec: bool,
        name: Pattern,
        foralls: Vec<TypeVar>,
        pats: Vec<Pattern>,
        body: Expr,
    ) -> PR<(Span, Pattern, Expr, bool)> {
        if !is_rec && foralls.is_empty() && pats.is_empty() {
            self.validate_patterns(std::slice::from_ref(&name))?;
            let n = match &name.kind {
                PatternKind::Var(n) => Some(n.clone()),
                _ => None,
            };
            let body = match body.kind {
                ExprKind::Forall(..) | ExprKind::Fun(..) => adjust_join_point(is_let, n, body),
                _ => body,
            };
            return Ok((r, name, body, false));
        }
        match &name.kind {
            PatternKind::Var(n) => {
                let n = n.clone();
                let mut all = Vec::new();
                if is_rec {
                    all.push(name.clone());
                }
                all.extend(pats.iter().cloned());
                self.validate_patterns(&all)?;
                let mut body = adjust_join_point(is_let, Some(n), body);
                for p in pats.into_iter().rev() {
                    let p = if is_let { pt(p.span, PatternKind::Dyn(bx(p))) } else { p };
                    body = e(p.span.to(body.span), ExprKind::Fun(vec![(p, body)]));
                }
                body = Self::fold_foralls(foralls, body);
                if is_rec && !matches!(body.kind, ExprKind::Fun(..) | ExprKind::Forall(..)) {
                    return self.fail(r, "the body of a recursive statement must be a function (`fun`, `function` or parameters)");
                }
                Ok((r, name, body, is_rec))
            }
            _ if is_rec => self.fail(name.span, "the name of a recursive statement must be a variable or an operator in parentheses"),
            _ => self.fail(name.span, "a statement with parameters must be named by a variable"),
        }
    }

    /// Checks variables bound by the patterns: no duplicates, `|` branches bind the same names.
    fn validate_patterns(&self, pats: &[Pattern]) -> PR<()> {
        fn go(p: &Pattern, errs: &mut Errs) -> Vec<(String, Span)> {
            match &p.kind {
                PatternKind::Var(v) => vec![(v.clone(), p.span)],
                PatternKind::Dyn(a)
                | PatternKind::Annot(a, _)
                | PatternKind::Unbox(_, a)
                | PatternKind::When(a, _)
                | PatternKind::Exists(_, a)
                | PatternKind::Nominal { pat: a, .. } => go(a, errs),
                PatternKind::Pair(a, b) | PatternKind::And(a, b) => {
                    let mut x = go(a, errs);
                    let y = go(b, errs);
                    for (n, s) in y {
                        if x.iter().any(|(m, _)| *m == n) {
                            perr(errs, s, "duplicate variable in the pattern");
                        } else {
                            x.push((n, s));
                        }
                    }
                    x
                }
                PatternKind::Array(ps) => {
                    let mut x: Vec<(String, Span)> = Vec::new();
                    for q in ps {
                        for (n, s) in go(q, errs) {
                            if x.iter().any(|(m, _)| *m == n) {
                                perr(errs, s, "duplicate variable in the pattern");
                            } else {
                                x.push((n, s));
                            }
                        }
                    }
                    x
                }
                PatternKind::Record(ms) => {
                    let mut x: Vec<(String, Span)> = Vec::new();
                    for m in ms {
                        let q = match m {
                            PatRecordMember::Symbol(_, q) | PatRecordMember::InjectVar(_, q) => q,
                        };
                        for (n, s) in go(q, errs) {
                            if x.iter().any(|(m, _)| *m == n) {
                                perr(errs, s, "duplicate variable in the pattern");
                            } else {
                                x.push((n, s));
                            }
                        }
                    }
                    x
                }
                PatternKind::Or(a, b) => {
                    let x = go(a, errs);
                    let y = go(b, errs);
                    for (n, s) in x.iter().chain(y.iter()) {
                        let in_x = x.iter().any(|(m, _)| m == n);
                        let in_y = y.iter().any(|(m, _)| m == n);
                        if !(in_x && in_y) {
                            perr(errs, *s, "both sides of an `|` pattern must bind the same variables");
                        }
                    }
                    x
                }
                _ => Vec::new(),
            }
        }
        let mut errs = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for p in pats {
            for (n, s) in go(p, &mut errs) {
                if seen.contains(&n) {
                    errs.push(PErr { span: s, msg: "shadowed pattern variable".into(), expected: false });
                } else {
                    seen.push(n);
                }
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    fn module_open(&mut self) -> PR<(Span, Ident, Vec<Ident>)> {
        let start = self.i;
        self.skip_kw(Keyword::Open)?;
        let m = self.read_small_var()?;
        let path = many!(self, self.read_symbol());
        Ok((self.span_from(start), m, path))
    }

    fn statement(&mut self) -> PR<(Span, Stmt)> {
        match self.kind() {
            Some(TokenKind::Keyword(Keyword::Open)) => {
                let (r, m, path) = self.module_open()?;
                Ok((r, Stmt::Open(m, path)))
            }
            Some(TokenKind::Keyword(Keyword::Inl)) | Some(TokenKind::Keyword(Keyword::Let)) => {
                let first = self.inl_or_let(false)?;
                let ands = many!(self, {
                    if matches!(self.kind(), Some(TokenKind::Keyword(Keyword::And))) {
                        self.inl_or_let(true)
                    } else {
                        self.expected("`and`")
                    }
                });
                let (r0, name, body, is_rec) = first;
                if !is_rec {
                    if let Some(a) = ands.first() {
                        return self.fail(a.0, "the first statement of a recursive block has to be marked as recursive (`inl rec`)");
                    }
                    return Ok((r0, Stmt::Let(name, body)));
                }
                let mut r = r0;
                let mut bindings = Vec::new();
                let mut names = std::collections::HashSet::new();
                for (rr, p, b, _) in std::iter::once((r0, name, body, true)).chain(ands) {
                    r = r.to(rr);
                    let PatternKind::Var(n) = p.kind else {
                        return self.fail(p.span, "the name of a recursive statement must be a variable");
                    };
                    if !names.insert(n.clone()) {
                        return self.fail(p.span, "a function of a recursive block is defined twice");
                    }
                    bindings.push((Ident { name: n, span: p.span }, b));
                }
                Ok((r, Stmt::Rec(bindings)))
            }
            _ => self.expected("statement"),
        }
    }

    fn statements(&mut self) -> PR<Expr> {
        let c = self.col();
        let mut groups: Vec<(Vec<(Span, Stmt)>, Expr)> = Vec::new();
        let mut count = 0usize;
        loop {
            count += groups.last().map(|g| g.0.len() + 1).unwrap_or(0);
            if count > MAX_TREE_DEPTH {
                let sp = self.here();
                return self.too_long(sp, "statements in one block");
            }
            let s = self.i;
            let mut errs = Vec::new();
            // A run of statements followed by `in e` or the final expression.
            let r = self.statement_group(c);
            match r {
                Ok(g) => {
                    groups.push(g);
                    continue;
                }
                Err(er) => {
                    if self.i != s {
                        return Err(er);
                    }
                    errs.extend(er);
                }
            }
            // A plain expression.
            if self.col() == c {
                match self.operators() {
                    Ok(x) => {
                        groups.push((Vec::new(), x));
                        if self.i == s {
                            break;
                        }
                        continue;
                    }
                    Err(er) => {
                        if self.i != s {
                            return Err(er);
                        }
                        errs.extend(er);
                    }
                }
            }
            if groups.is_empty() {
                return Err(errs);
            }
            break;
        }
        let mut acc: Option<Expr> = None;
        for (stmts, x) in groups.into_iter().rev() {
            let x = match acc {
                None => x,
                Some(next) => e(x.span.to(next.span), ExprKind::Seq(bx(x), bx(next))),
            };
            let mut body = x;
            for (r, st) in stmts.into_iter().rev() {
                let sp = r.to(body.span);
                body = match st {
                    Stmt::Let(p, v) => e(sp, ExprKind::Match { scrutinee: bx(v), clauses: vec![(p, body)] }),
                    Stmt::Rec(bindings) => e(sp, ExprKind::RecBlock { bindings, body: bx(body) }),
                    Stmt::Open(m, path) => e(sp, ExprKind::Open { module: m, path, body: bx(body) }),
                };
            }
            acc = Some(body);
        }
        match acc {
            Some(x) => Ok(x),
            None => self.expected("expression"),
        }
    }

    fn statement_group(&mut self, c: i64) -> PR<(Vec<(Span, Stmt)>, Expr)> {
        let mut stmts = Vec::new();
        loop {
            if self.col() != c {
                if stmts.is_empty() {
                    return self.expected("statement");
                }
                break;
            }
            let s = self.i;
            match self.statement() {
                Ok(st) => stmts.push(st),
                Err(er) => {
                    if self.i != s || stmts.is_empty() {
                        return Err(er);
                    }
                    break;
                }
            }
        }
        // `in e`, or the next expression at the same column.
        if self.col() >= c {
            let s = self.i;
            if self.skip_kw(Keyword::In).is_ok() {
                let x = self.root_term()?;
                return Ok((stmts, x));
            }
            debug_assert_eq!(s, self.i);
        }
        if self.col() == c {
            let s = self.i;
            match self.operators() {
                Ok(x) => return Ok((stmts, x)),
                Err(er) => {
                    if self.i != s {
                        return Err(er);
                    }
                }
            }
        }
        let last = stmts.last().map(|x| x.0).unwrap_or_else(|| self.here());
        self.fail(last, "a sequence of statements must end with an expression")
    }

    // ---------------------------------------------------------------- top level

    fn top_statement(&mut self, comments: String) -> PR<TopItem> {
        let start = self.i;
        let top_down = self.top_down;
        let Some(t) = self.cur() else { return Err(Vec::new()) };
        let kind = match &t.kind {
            TokenKind::Keyword(Keyword::Inl) | TokenKind::Keyword(Keyword::Let) => {
                let x = self.inl_or_let(false)?;
                self.top_inl(x, top_down)?
            }
            TokenKind::Keyword(Keyword::Union) => {
                self.i += 1;
                let rec = self.skip_kw(Keyword::Rec).is_ok();
                self.top_union(rec)?
            }
            TokenKind::Keyword(Keyword::Nominal) => {
                self.i += 1;
                let name = self.read_small_var()?;
                let params = many!(self, self.ho_var());
                self.skip_op("=")?;
                let body = self.root_type(TyFlags { term: true, ..Default::default() })?;
                TopKind::Nominal { name, params, body, rec: false }
            }
            TokenKind::Keyword(Keyword::Prototype) => {
                self.i += 1;
                let name = self.constraint_name()?;
                let self_var = self.read_small_var()?;
                let params = many!(self, self.forall_var());
                self.skip_op(":")?;
                let vs = if matches!(self.kind(), Some(TokenKind::Keyword(Keyword::Forall))) { self.forall()? } else { Vec::new() };
                let t = self.root_type(TyFlags::default())?;
                TopKind::Prototype { name, self_var, params, ty: Self::wrap_type_foralls(vs, t) }
            }
            TokenKind::Keyword(Keyword::Type) => {
                self.i += 1;
                let name = self.read_small_var()?;
                let params = many!(self, self.ho_var());
                self.skip_op("=")?;
                let body = self.root_type(TyFlags::default())?;
                TopKind::Type { name, params, body }
            }
            TokenKind::Keyword(Keyword::Instance) => {
                self.i += 1;
                let prototype = self.constraint_name()?;
                let nominal = self.read_small_var()?;
                let params = many!(self, self.forall_var());
                self.skip_op("=")?;
                let body = self.root_term()?;
                TopKind::Instance { prototype, nominal, params, body }
            }
            TokenKind::Keyword(Keyword::And) => {
                match self.toks.get(self.i + 1).map(|t| &t.kind) {
                    Some(TokenKind::Keyword(Keyword::Union)) => {
                        self.i += 2;
                        let inner = self.top_union(true)?;
                        let sp = self.span_from(start + 1);
                        TopKind::And(bx(TopItem { span: sp, comments: comments.clone(), kind: inner }))
                    }
                    Some(TokenKind::Keyword(Keyword::Inl)) | Some(TokenKind::Keyword(Keyword::Let)) => {
                        let x = self.inl_or_let(true)?;
                        let inner = self.top_inl(x, top_down)?;
                        let sp = self.span_from(start + 1);
                        TopKind::And(bx(TopItem { span: sp, comments: comments.clone(), kind: inner }))
                    }
                    _ => {
                        self.i += 1;
                        return self.expected("`inl`, `let` or `union` after `and`");
                    }
                }
            }
            TokenKind::Keyword(Keyword::Open) => {
                let (_, module, path) = self.module_open()?;
                TopKind::Open { module, path }
            }
            _ => return self.expected("top-level statement (`inl`, `let`, `type`, `nominal`, `union`, `prototype`, `instance`, `open` or `and`)"),
        };
        Ok(TopItem { span: self.span_from(start), comments, kind })
    }

    fn top_inl(&mut self, x: (Span, Pattern, Expr, bool), top_down: bool) -> PR<TopKind> {
        let (r, name, body, rec) = x;
        let PatternKind::Var(n) = &name.kind else {
            return self.fail(name.span, "the name of a top-level statement must be a variable or an operator in parentheses");
        };
        let mut b = &body;
        while let ExprKind::Annot(inner, _) = &b.kind {
            b = inner;
        }
        if !matches!(b.kind, ExprKind::Fun(..) | ExprKind::Forall(..)) {
            return self.fail(r, "a top-level `inl`/`let` must define a function (give it a parameter, e.g. `inl f () = ...`)");
        }
        Ok(TopKind::Inl { name: Ident { name: n.clone(), span: name.span }, body, rec, top_down })
    }

    fn top_union(&mut self, rec: bool) -> PR<TopKind> {
        let name = self.read_small_var()?;
        let params = many!(self, self.ho_var());
        self.skip_op("=")?;
        let (r, cases) = self.union_clauses()?;
        let this = params.iter().fold(ty(r, TypeKind::Var(name.name.clone())), |s, v| {
            ty(r, TypeKind::Apply(bx(s), bx(ty(r, TypeKind::Var(v.name.name.clone())))))
        });
        let layout = if rec { UnionLayout::Heap } else { UnionLayout::Stack };
        Ok(TopKind::Nominal { name, params, body: ty(r, TypeKind::Union { cases, layout, this: bx(this) }), rec })
    }
}

fn item_depth(t: &TopItem) -> usize {
    1 + match &t.kind {
        TopKind::And(x) => item_depth(x),
        TopKind::Inl { body, .. } | TopKind::Instance { body, .. } => expr_depth(body),
        TopKind::Nominal { body, .. } | TopKind::Type { body, .. } => type_depth(body),
        TopKind::Prototype { ty, .. } => type_depth(ty),
        TopKind::Open { .. } => 0,
    }
}

fn macro_depth(ps: &[MacroPart]) -> usize {
    ps.iter()
        .map(|p| match p {
            MacroPart::Text(..) => 0,
            MacroPart::Term(e) => expr_depth(e),
            MacroPart::Type(t) | MacroPart::TypeLit(t) => type_depth(t),
        })
        .max()
        .unwrap_or(0)
}

/// The depth of an expression tree (the parse thread's large stack makes recursion safe here).
fn expr_depth(x: &Expr) -> usize {
    use ExprKind as K;
    let m = |it: &mut dyn Iterator<Item = usize>| it.max().unwrap_or(0);
    1 + match &x.kind {
        K::Unit | K::Var { .. } | K::Lit(_) | K::DefaultLit(_) | K::Symbol(_) | K::MissingBody => 0,
        K::Type(t) => type_depth(t),
        K::Match { scrutinee, clauses } => {
            expr_depth(scrutinee).max(m(&mut clauses.iter().map(|(p, b)| pat_depth(p).max(expr_depth(b)))))
        }
        K::Fun(clauses) => m(&mut clauses.iter().map(|(p, b)| pat_depth(p).max(expr_depth(b)))),
        K::Forall(_, b) | K::Real(b) | K::JoinPoint { body: b, .. } | K::Open { body: b, .. } => expr_depth(b),
        K::Exists { types, body } => {
            expr_depth(body).max(types.as_ref().map(|ts| m(&mut ts.iter().map(type_depth))).unwrap_or(0))
        }
        K::RecBlock { bindings, body } => expr_depth(body).max(m(&mut bindings.iter().map(|(_, b)| expr_depth(b)))),
        K::RecordWith { bases, with, .. } => m(&mut bases.iter().map(expr_depth)).max(m(&mut with.iter().map(|w| match w {
            RecordWith::Symbol(_, e)
            | RecordWith::SymbolModify(_, e)
            | RecordWith::InjectVar(_, e)
            | RecordWith::InjectVarModify(_, e) => expr_depth(e),
        }))),
        K::Op { args, .. } | K::Array(args) => m(&mut args.iter().map(expr_depth)),
        K::Annot(a, t) => expr_depth(a).max(type_depth(t)),
        K::Typecase { scrutinee, clauses } => {
            type_depth(scrutinee).max(m(&mut clauses.iter().map(|(p, b)| type_depth(p).max(expr_depth(b)))))
        }
        K::Apply(a, b) | K::IfThen(a, b) | K::Pair(a, b) | K::Seq(a, b) => expr_depth(a).max(expr_depth(b)),
        K::IfThenElse(a, b, c) => expr_depth(a).max(expr_depth(b)).max(expr_depth(c)),
        K::HeapMutableSet { target, path, value } => {
            expr_depth(target).max(expr_depth(value)).max(m(&mut path.iter().map(expr_depth)))
        }
        K::Macro(ps) => macro_depth(ps),
    }
}

fn type_depth(t: &TypeExpr) -> usize {
    use TypeKind as K;
    1 + match &t.kind {
        K::Wildcard | K::Unit | K::MetaVar(_) | K::Lit(_) | K::DefaultLit(_) | K::Var(_) | K::Symbol(_) => 0,
        K::Pair(a, b) | K::Fun(a, b) | K::Apply(a, b) => type_depth(a).max(type_depth(b)),
        K::Record(fs) => fs.iter().map(|(_, t)| type_depth(t)).max().unwrap_or(0),
        K::Forall(_, b) | K::Exists(_, b) => type_depth(b),
        K::Term(e) => expr_depth(e),
        K::Macro(ps) => macro_depth(ps),
        K::Union { cases, this, .. } => type_depth(this).max(cases.iter().map(|c| type_depth(&c.ty)).max().unwrap_or(0)),
    }
}

fn pat_depth(p: &Pattern) -> usize {
    use PatternKind as K;
    1 + match &p.kind {
        K::Unit | K::Wildcard | K::Var(_) | K::Symbol(_) | K::Lit(_) | K::DefaultLit(_) => 0,
        K::Dyn(a) | K::Unbox(_, a) | K::Exists(_, a) | K::Nominal { pat: a, .. } => pat_depth(a),
        K::Annot(a, t) => pat_depth(a).max(type_depth(t)),
        K::Pair(a, b) | K::Or(a, b) | K::And(a, b) => pat_depth(a).max(pat_depth(b)),
        K::When(a, e) => pat_depth(a).max(expr_depth(e)),
        K::Record(ms) => ms
            .iter()
            .map(|m| match m {
                PatRecordMember::Symbol(_, q) | PatRecordMember::InjectVar(_, q) => pat_depth(q),
            })
            .max()
            .unwrap_or(0),
        K::Array(ps) => ps.iter().map(pat_depth).max().unwrap_or(0),
    }
}

fn perr(errs: &mut Errs, span: Span, msg: &str) {
    errs.push(PErr { span, msg: msg.into(), expected: false });
}

fn adjust_join_point(is_let: bool, name: Option<String>, x: Expr) -> Expr {
    let dyn_if_let = |p: Pattern| if is_let { pt(p.span, PatternKind::Dyn(bx(p))) } else { p };
    let span = x.span;
    match x.kind {
        ExprKind::Forall(a, b) => e(span, ExprKind::Forall(a, bx(adjust_join_point(is_let, name, *b)))),
        ExprKind::Fun(mut cs) if cs.len() == 1 => {
            let (p, b) = cs.pop().expect("one clause");
            e(span, ExprKind::Fun(vec![(dyn_if_let(p), adjust_join_point(is_let, name, b))]))
        }
        ExprKind::Fun(cs) => {
            let empty = Span { file: span.file, start: span.start, end: span.start };
            let arg = " arg";
            let p = dyn_if_let(pt(empty, PatternKind::Var(arg.into())));
            let m = e(empty, ExprKind::Match { scrutinee: bx(var(empty, arg)), clauses: cs });
            e(span, ExprKind::Fun(vec![(p, P::join_point(is_let, name, m))]))
        }
        kind => P::join_point(is_let, name, e(span, kind)),
    }
}

/// Precedence and right-associativity of a binary operator, as in the reference: a leading
/// `.` is ignored (for operators longer than one character) and unknown operators take the
/// precedence of their longest known prefix.
pub fn precedence(op: &str) -> Option<(i32, bool)> {
    let mut name = op;
    loop {
        if name.is_empty() {
            return None;
        }
        if name.len() > 1 && name.starts_with('.') {
            name = &name[1..];
            continue;
        }
        let r = match name {
            "+" | "-" => Some((60, false)),
            "*" | "/" | "%" => Some((70, false)),
            "|>" | ">>" => Some((10, false)),
            "<-" => Some((4, false)),
            "<=" | "<" | "=" | "`=" | ">" | ">=" | "<>" | "<<<" | ">>>" | "&&&" | "|||" => Some((40, false)),
            "||" => Some((20, true)),
            "&&" => Some((30, true)),
            "::" => Some((50, true)),
            "^" => Some((45, true)),
            "<|" | "<<" => Some((10, true)),
            "." => Some((2, true)),
            "," => Some((6, true)),
            ":>" | ":?>" => Some((35, true)),
            "**" => Some((80, true)),
            _ => None,
        };
        if r.is_some() {
            return r;
        }
        let mut cs = name.chars();
        cs.next_back();
        name = cs.as_str();
    }
}

#[cfg(test)]
mod tests {
    use super::precedence;

    #[test]
    fn precedence_table_and_prefix_rule() {
        assert_eq!(precedence("+"), Some((60, false)));
        assert_eq!(precedence("*"), Some((70, false)));
        assert_eq!(precedence("**"), Some((80, true)));
        assert_eq!(precedence("|>"), Some((10, false)));
        assert_eq!(precedence("<|"), Some((10, true)));
        assert_eq!(precedence(">>"), Some((10, false)));
        assert_eq!(precedence("<<"), Some((10, true)));
        assert_eq!(precedence("::"), Some((50, true)));
        assert_eq!(precedence("."), Some((2, true)));
        assert_eq!(precedence(","), Some((6, true)));
        // Unknown operators take the precedence of their longest known prefix...
        assert_eq!(precedence("|>>"), Some((10, false)));
        assert_eq!(precedence("+."), Some((60, false)));
        // ...and a leading dot is ignored.
        assert_eq!(precedence(".+"), Some((60, false)));
        assert_eq!(precedence("@@"), None);
        assert_eq!(precedence("?"), None);
    }
}

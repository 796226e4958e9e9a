//! The tokenizer.
//!
//! Spiral is tokenized line by line: no token spans a line break. Spaces separate tokens and
//! matter in two places: an operator written right before an operand and after a space or an
//! opening bracket (`-x`, `~p`, `;[`) is a *unary* operator, and tokens written with no space
//! between them (`f(x)`, `x.foo`) are "tight", which the parser uses for tight application.
//! Tabs are rejected.

use super::ast::Literal;
use crate::diagnostics::{Diagnostic, FileId, Span};

/// Reserved words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Keyword {
    /// `in`
    In,
    /// `and`
    And,
    /// `fun`
    Fun,
    /// `match`
    Match,
    /// `typecase`
    Typecase,
    /// `function`
    Function,
    /// `with`
    With,
    /// `without`
    Without,
    /// `as`
    As,
    /// `when`
    When,
    /// `inl`
    Inl,
    /// `forall`
    Forall,
    /// `exists`
    Exists,
    /// `let`
    Let,
    /// `inm` (reserved)
    Inm,
    /// `inb` (reserved)
    Inb,
    /// `rec`
    Rec,
    /// `if`
    If,
    /// `then`
    Then,
    /// `elif`
    Elif,
    /// `else`
    Else,
    /// `join`
    Join,
    /// `join_backend`
    JoinBackend,
    /// `type`
    Type,
    /// `nominal`
    Nominal,
    /// `real`
    Real,
    /// `union`
    Union,
    /// `open`
    Open,
    /// `_`
    Wildcard,
    /// `prototype`
    Prototype,
    /// `instance`
    Instance,
}

impl Keyword {
    /// The keyword for a word, if it is one.
    pub fn from_word(w: &str) -> Option<Keyword> {
        use Keyword::*;
        Some(match w {
            "in" => In,
            "and" => And,
            "fun" => Fun,
            "match" => Match,
            "typecase" => Typecase,
            "function" => Function,
            "with" => With,
            "without" => Without,
            "as" => As,
            "when" => When,
            "inl" => Inl,
            "forall" => Forall,
            "exists" => Exists,
            "let" => Let,
            "inm" => Inm,
            "inb" => Inb,
            "rec" => Rec,
            "if" => If,
            "then" => Then,
            "elif" => Elif,
            "else" => Else,
            "join" => Join,
            "join_backend" => JoinBackend,
            "type" => Type,
            "nominal" => Nominal,
            "real" => Real,
            "union" => Union,
            "open" => Open,
            "_" => Wildcard,
            "prototype" => Prototype,
            "instance" => Instance,
            _ => return None,
        })
    }

    /// The keyword as written.
    pub fn as_str(self) -> &'static str {
        use Keyword::*;
        match self {
            In => "in",
            And => "and",
            Fun => "fun",
            Match => "match",
            Typecase => "typecase",
            Function => "function",
            With => "with",
            Without => "without",
            As => "as",
            When => "when",
            Inl => "inl",
            Forall => "forall",
            Exists => "exists",
            Let => "let",
            Inm => "inm",
            Inb => "inb",
            Rec => "rec",
            If => "if",
            Then => "then",
            Elif => "elif",
            Else => "else",
            Join => "join",
            JoinBackend => "join_backend",
            Type => "type",
            Nominal => "nominal",
            Real => "real",
            Union => "union",
            Open => "open",
            Wildcard => "_",
            Prototype => "prototype",
            Instance => "instance",
        }
    }
}

/// Bracket shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Paren {
    /// `(` `)`
    Round,
    /// `[` `]`
    Square,
    /// `{` `}`
    Curly,
}

/// The three kinds of interpolation inside a macro.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacroKind {
    /// `!x`, `!(e)`: a term.
    Term,
    /// `` `t ``, `` `(t) ``: a type.
    Type,
    /// `@t`, `@(t)`: a type literal.
    TypeLit,
}

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// An identifier (primes allowed: `create'`).
    Var(String),
    /// `.foo` or `.(+)`; the text is without the dot and parentheses.
    Symbol(String),
    /// A binary (infix) operator.
    Operator(String),
    /// A prefix operator: written after a space or opening bracket and directly before its operand.
    UnaryOperator(String),
    /// A suffixed number, a char, a raw string `@"..."` or a boolean.
    Value(Literal),
    /// An unsuffixed number, as written without underscores.
    DefaultValue(String),
    /// `// text` (the text after `// `).
    Comment(String),
    /// A reserved word.
    Keyword(Keyword),
    /// A bracket; `true` for opening.
    Paren(Paren, bool),
    /// The `"` opening a string.
    StringOpen,
    /// The `"` closing a string.
    StringClose,
    /// A run of plain text inside a string or macro.
    Text(String),
    /// An escape that stands for another character (`\n` is a newline).
    EscapedChar(char),
    /// The `\v` binder inside a macro.
    EscapedVar,
    /// An escape that stands for itself (`\"`, `\\`, `!!`).
    UnescapedChar(char),
    /// `$"` or `$'` opening a macro.
    MacroOpen,
    /// The quote closing a macro.
    MacroClose,
    /// `!x` inside a macro.
    MacroTermVar(String),
    /// `` `x `` inside a macro.
    MacroTypeVar(String),
    /// `@x` inside a macro.
    MacroTypeLitVar(String),
    /// `!(`, `` `( ``, `@(` (`true`) or the matching `)` (`false`) inside a macro.
    MacroExpr(MacroKind, bool),
}

/// A token with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Byte range in the file.
    pub span: Span,
    /// Zero-based line.
    pub line: u32,
    /// Zero-based column of the first character, counted in characters.
    pub col: u32,
    /// Zero-based column one past the last character.
    pub end_col: u32,
}

/// Splits a whole file into tokens. Comments are included as [`TokenKind::Comment`].
/// A line with a tokenizer error contributes the tokens before the error; the error is
/// reported once and the rest of that line is skipped. Never panics.
pub fn tokenize(file: FileId, src: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut toks = Vec::new();
    let mut errs = Vec::new();
    let mut line_start = 0usize;
    for (line_no, raw_line) in src.split('\n').enumerate() {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let chars: Vec<char> = line.chars().collect();
        let mut offs = Vec::with_capacity(chars.len() + 1);
        let mut o = line_start;
        for c in &chars {
            offs.push(o);
            o += c.len_utf8();
        }
        offs.push(o);
        let mut lx = Lexer {
            file,
            chars: &chars,
            offs: &offs,
            line: line_no as u32,
            lo: 0,
            hi: chars.len(),
            pos: 0,
            out: Vec::new(),
        };
        if let Err(e) = lx.run() {
            errs.push(e);
        }
        toks.extend(lx.out);
        line_start += raw_line.len() + 1;
    }
    (toks, errs)
}

/// Whether `c` can continue an identifier.
pub fn is_var_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '\''
}

/// Whether `c` can start an identifier.
pub fn is_var_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// Whether `c` is an operator character.
pub fn is_operator_char(c: char) -> bool {
    ('!'..='~').contains(&c) && !(is_var_char(c) || c == '"' || "()[]{}".contains(c))
}

struct Lexer<'a> {
    file: FileId,
    chars: &'a [char],
    offs: &'a [usize],
    line: u32,
    lo: usize,
    hi: usize,
    pos: usize,
    out: Vec<Token>,
}

type LexResult<T> = Result<T, Diagnostic>;

impl<'a> Lexer<'a> {
    fn peek_at(&self, i: isize) -> Option<char> {
        let j = self.pos as isize + i;
        if j >= self.lo as isize && j < self.hi as isize {
            Some(self.chars[j as usize])
        } else {
            None
        }
    }
    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }
    fn span(&self, from: usize, to: usize) -> Span {
        Span::new(self.file, self.offs[from], self.offs[to])
    }
    fn push(&mut self, kind: TokenKind, from: usize, to: usize) {
        let span = self.span(from, to);
        self.out.push(Token { kind, span, line: self.line, col: from as u32, end_col: to as u32 });
    }
    fn err(&self, at: usize, msg: impl Into<String>) -> Diagnostic {
        let end = (at + 1).min(self.chars.len().max(at));
        let span = if at < self.chars.len() { self.span(at, end) } else { self.span(at.min(self.chars.len()), at.min(self.chars.len())) };
        Diagnostic::error(span, msg)
    }
    fn spaces(&mut self) {
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
    }
    fn run(&mut self) -> LexResult<()> {
        self.spaces();
        while let Some(c) = self.peek() {
            if c == '\t' {
                return Err(self.err(self.pos, "tabs are not allowed; indent with spaces"));
            }
            self.token()?;
            self.spaces();
        }
        Ok(())
    }
    fn is_prefix_sep(c: Option<char>) -> bool {
        matches!(c, None | Some(' ') | Some('(') | Some('[') | Some('{'))
    }
    fn is_postfix_sep(c: Option<char>) -> bool {
        matches!(c, None | Some(' ') | Some(')') | Some(']') | Some('}'))
    }
    fn token(&mut self) -> LexResult<()> {
        let c = self.peek().unwrap_or(' ');
        let c1 = self.peek_at(1);
        let start = self.pos;
        if c == '$' && (c1 == Some('"') || c1 == Some('\'')) {
            return self.macro_(c1.unwrap_or('"'));
        }
        if c == '"' {
            return self.string();
        }
        if c.is_ascii_digit()
            || (c == '-' && c1.is_some_and(|d| d.is_ascii_digit()) && Self::is_prefix_sep(self.peek_at(-1)))
        {
            return self.number();
        }
        if is_var_start(c) {
            while self.peek().is_some_and(is_var_char) {
                self.pos += 1;
            }
            let word: String = self.chars[start..self.pos].iter().collect();
            if self.peek() == Some(':') {
                return Err(self.err(self.pos, "`:` is not allowed directly after a variable; put a space before it"));
            }
            let kind = match word.as_str() {
                "true" => TokenKind::Value(Literal::Bool(true)),
                "false" => TokenKind::Value(Literal::Bool(false)),
                w => match Keyword::from_word(w) {
                    Some(k) => TokenKind::Keyword(k),
                    None => TokenKind::Var(word),
                },
            };
            self.push(kind, start, self.pos);
            return Ok(());
        }
        if c == '.' && c1 == Some('(') {
            self.pos += 2;
            let s = self.pos;
            while self.peek().is_some_and(is_operator_char) {
                self.pos += 1;
            }
            if s == self.pos {
                return Err(self.err(self.pos, "expected an operator after `.(`"));
            }
            let name: String = self.chars[s..self.pos].iter().collect();
            if self.peek() != Some(')') {
                return Err(self.err(self.pos, "expected `)` to close the operator symbol"));
            }
            self.pos += 1;
            self.push(TokenKind::Symbol(name), start, self.pos);
            return Ok(());
        }
        if c == '.' && c1.is_some_and(is_var_start) {
            self.pos += 1;
            while self.peek().is_some_and(is_var_char) {
                self.pos += 1;
            }
            let name: String = self.chars[start + 1..self.pos].iter().collect();
            self.push(TokenKind::Symbol(name), start, self.pos);
            return Ok(());
        }
        if c == '@' && c1 == Some('"') {
            self.pos += 2;
            let s = self.pos;
            while self.peek().is_some_and(|c| c != '"') {
                self.pos += 1;
            }
            if self.peek().is_none() {
                return Err(self.err(self.pos, "unterminated raw string: expected `\"` before the end of the line"));
            }
            let text: String = self.chars[s..self.pos].iter().collect();
            self.pos += 1;
            self.push(TokenKind::Value(Literal::String(text)), start, self.pos);
            return Ok(());
        }
        if c == '\'' {
            return self.char_lit();
        }
        let paren = match c {
            '(' => Some((Paren::Round, true)),
            '[' => Some((Paren::Square, true)),
            '{' => Some((Paren::Curly, true)),
            ')' => Some((Paren::Round, false)),
            ']' => Some((Paren::Square, false)),
            '}' => Some((Paren::Curly, false)),
            _ => None,
        };
        if let Some((p, open)) = paren {
            self.pos += 1;
            self.push(TokenKind::Paren(p, open), start, self.pos);
            return Ok(());
        }
        if c == '/' && c1 == Some('/') {
            // v2 requires a space after `//`; `//comment` is accepted too (a superset).
            let skip = if self.peek_at(2) == Some(' ') { 3 } else { 2 };
            let text: String = self.chars[(self.pos + skip).min(self.hi)..self.hi].iter().collect();
            self.pos = self.hi;
            self.push(TokenKind::Comment(text), start, self.pos);
            return Ok(());
        }
        if is_operator_char(c) {
            let prefix = Self::is_prefix_sep(self.peek_at(-1));
            while self.peek().is_some_and(is_operator_char) {
                self.pos += 1;
            }
            let name: String = self.chars[start..self.pos].iter().collect();
            let kind = if prefix && !Self::is_postfix_sep(self.peek()) {
                TokenKind::UnaryOperator(name)
            } else {
                TokenKind::Operator(name)
            };
            self.push(kind, start, self.pos);
            return Ok(());
        }
        Err(self.err(start, format!("unexpected character `{}`", c.escape_default())))
    }

    fn digits(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c == '_' {
                self.pos += 1;
            } else if c.is_ascii_digit() {
                s.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        s
    }

    fn number(&mut self) -> LexResult<()> {
        let start = self.pos;
        let mut text = String::new();
        if self.peek() == Some('-') {
            text.push('-');
            self.pos += 1;
        }
        text.push_str(&self.digits());
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            text.push('.');
            text.push_str(&self.digits());
        }
        let suffix_start = self.pos;
        let suffix = match self.peek() {
            Some(c @ ('i' | 'u' | 'f')) => {
                self.pos += 1;
                let mut bits = String::new();
                while let Some(d) = self.peek().filter(|d| d.is_ascii_digit()) {
                    bits.push(d);
                    self.pos += 1;
                }
                let ok = match c {
                    'f' => bits == "32" || bits == "64",
                    _ => matches!(bits.as_str(), "8" | "16" | "32" | "64"),
                };
                if !ok {
                    let want = if c == 'f' { "32 or 64" } else { "8, 16, 32 or 64" };
                    let span = self.span(suffix_start, self.pos);
                    return Err(Diagnostic::error(span, format!("invalid number suffix: expected {want} after `{c}`")));
                }
                Some(format!("{c}{bits}"))
            }
            _ => None,
        };
        let Some(suffix) = suffix else {
            self.push(TokenKind::DefaultValue(text), start, self.pos);
            return Ok(());
        };
        let next = self.peek();
        if !(Self::is_prefix_sep(next) || Self::is_postfix_sep(next) || next.is_some_and(is_operator_char)) {
            return Err(self.err(self.pos, "expected a separator after the number suffix"));
        }
        let is_float = text.contains('.');
        let lit = match suffix.as_str() {
            "i8" if !is_float => text.parse().ok().map(Literal::I8),
            "i16" if !is_float => text.parse().ok().map(Literal::I16),
            "i32" if !is_float => text.parse().ok().map(Literal::I32),
            "i64" if !is_float => text.parse().ok().map(Literal::I64),
            "u8" if !is_float => text.parse().ok().map(Literal::U8),
            "u16" if !is_float => text.parse().ok().map(Literal::U16),
            "u32" if !is_float => text.parse().ok().map(Literal::U32),
            "u64" if !is_float => text.parse().ok().map(Literal::U64),
            "f32" => text.parse().ok().map(Literal::F32),
            "f64" => text.parse().ok().map(Literal::F64),
            _ => None,
        };
        match lit {
            Some(l) => {
                self.push(TokenKind::Value(l), start, self.pos);
                Ok(())
            }
            None => {
                let span = self.span(start, self.pos);
                Err(Diagnostic::error(span, format!("the number {text} does not fit in {suffix}")))
            }
        }
    }

    fn char_lit(&mut self) -> LexResult<()> {
        let start = self.pos;
        self.pos += 1;
        let c = match self.peek() {
            None => return Err(self.err(self.pos, "expected a character after `'`")),
            Some('\\') => {
                self.pos += 1;
                match self.peek() {
                    None => return Err(self.err(self.pos, "expected an escaped character")),
                    Some(e) => {
                        self.pos += 1;
                        match self.code_escape(e)? {
                            Some(c) => c,
                            None => unescape(e),
                        }
                    }
                }
            }
            Some(c) => {
                self.pos += 1;
                c
            }
        };
        if self.peek() != Some('\'') {
            return Err(self.err(self.pos, "expected `'` to close the character literal"));
        }
        self.pos += 1;
        self.push(TokenKind::Value(Literal::Char(c)), start, self.pos);
        Ok(())
    }

    fn string(&mut self) -> LexResult<()> {
        let start = self.pos;
        self.pos += 1;
        self.push(TokenKind::StringOpen, start, self.pos);
        let mut text = String::new();
        let mut text_start = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.err(self.pos, "unterminated string: expected `\"` before the end of the line")),
                Some('"') => {
                    if !text.is_empty() {
                        self.push(TokenKind::Text(std::mem::take(&mut text)), text_start, self.pos);
                    }
                    let s = self.pos;
                    self.pos += 1;
                    self.push(TokenKind::StringClose, s, self.pos);
                    return Ok(());
                }
                Some('\\') => {
                    if !text.is_empty() {
                        self.push(TokenKind::Text(std::mem::take(&mut text)), text_start, self.pos);
                    }
                    let s = self.pos;
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.err(self.pos, "expected an escaped character"));
                    };
                    self.pos += 1;
                    let kind = match e {
                        'n' | 'r' | 't' | 'b' => TokenKind::EscapedChar(unescape(e)),
                        'u' | 'x' => TokenKind::EscapedChar(self.code_escape(e)?.unwrap_or(e)),
                        c => TokenKind::UnescapedChar(c),
                    };
                    self.push(kind, s, self.pos);
                    text_start = self.pos;
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// After `\u` or `\x` (with `e` consumed): the character of `\u{1F600}` (1 to 6 hex
    /// digits, a Unicode scalar value) or `\x41` (two hex digits, at most `\x7F`). `None`
    /// for any other escape.
    fn code_escape(&mut self, e: char) -> LexResult<Option<char>> {
        let esc_start = self.pos - 2;
        let hex = |this: &mut Self, max: usize| -> String {
            let mut h = String::new();
            while h.len() < max {
                match this.peek() {
                    Some(c) if c.is_ascii_hexdigit() => {
                        h.push(c);
                        this.pos += 1;
                    }
                    _ => break,
                }
            }
            h
        };
        match e {
            'u' => {
                if self.peek() != Some('{') {
                    return Err(self.err(self.pos, "expected `{` after `\\u` (write a Unicode escape as `\\u{e9}`)"));
                }
                self.pos += 1;
                let h = hex(self, 6);
                if h.is_empty() || self.peek() != Some('}') {
                    return Err(self.err(self.pos, "expected 1 to 6 hex digits and `}` in a `\\u{..}` escape"));
                }
                self.pos += 1;
                let code = u32::from_str_radix(&h, 16).unwrap_or(u32::MAX);
                match char::from_u32(code) {
                    Some(c) => Ok(Some(c)),
                    None => Err(Diagnostic::error(self.span(esc_start, self.pos), format!("`\\u{{{h}}}` is not a Unicode scalar value"))),
                }
            }
            'x' => {
                let h = hex(self, 2);
                if h.len() != 2 {
                    return Err(self.err(self.pos, "expected two hex digits in a `\\x..` escape (e.g. `\\x41`)"));
                }
                let code = u32::from_str_radix(&h, 16).unwrap_or(0);
                if code > 0x7f {
                    return Err(Diagnostic::error(
                        self.span(esc_start, self.pos),
                        format!("`\\x{h}` is past `\\x7F`; strings are UTF-8, so write the character as `\\u{{{code:x}}}`"),
                    ));
                }
                Ok(char::from_u32(code))
            }
            _ => Ok(None),
        }
    }

    fn macro_(&mut self, close: char) -> LexResult<()> {
        let start = self.pos;
        self.pos += 2;
        self.push(TokenKind::MacroOpen, start, self.pos);
        loop {
            let s = self.pos;
            match self.peek() {
                None => return Err(self.err(self.pos, format!("unterminated macro: expected `{close}` before the end of the line"))),
                Some(c) if c == close => {
                    self.pos += 1;
                    self.push(TokenKind::MacroClose, s, self.pos);
                    return Ok(());
                }
                Some('\\') => {
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.err(self.pos, "expected an escaped character"));
                    };
                    self.pos += 1;
                    let kind = match e {
                        'n' | 'r' | 't' | 'b' => TokenKind::EscapedChar(unescape(e)),
                        'v' => TokenKind::EscapedVar,
                        c => TokenKind::UnescapedChar(c),
                    };
                    self.push(kind, s, self.pos);
                }
                Some(c @ ('!' | '`' | '@')) => {
                    let kind = match c {
                        '!' => MacroKind::Term,
                        '`' => MacroKind::Type,
                        _ => MacroKind::TypeLit,
                    };
                    self.pos += 1;
                    match self.peek() {
                        Some('(') => {
                            self.pos += 1;
                            self.push(TokenKind::MacroExpr(kind, true), s, self.pos);
                            let inner = self.pos;
                            let mut depth = 1usize;
                            while let Some(x) = self.peek() {
                                if x == '(' {
                                    depth += 1;
                                } else if x == ')' {
                                    depth -= 1;
                                    if depth == 0 {
                                        break;
                                    }
                                }
                                self.pos += 1;
                            }
                            if self.peek().is_none() {
                                return Err(self.err(self.pos, "expected `)` to close the macro expression"));
                            }
                            let inner_end = self.pos;
                            let mut sub = Lexer {
                                file: self.file,
                                chars: self.chars,
                                offs: self.offs,
                                line: self.line,
                                lo: inner,
                                hi: inner_end,
                                pos: inner,
                                out: Vec::new(),
                            };
                            let r = sub.run();
                            self.out.append(&mut sub.out);
                            r?;
                            let s2 = self.pos;
                            self.pos += 1;
                            self.push(TokenKind::MacroExpr(kind, false), s2, self.pos);
                        }
                        Some(d) if d == c => {
                            self.pos += 1;
                            self.push(TokenKind::UnescapedChar(c), s, self.pos);
                        }
                        Some(d) if is_var_start(d) => {
                            let vs = self.pos;
                            while self.peek().is_some_and(is_var_char) {
                                self.pos += 1;
                            }
                            let name: String = self.chars[vs..self.pos].iter().collect();
                            let kind = match kind {
                                MacroKind::Term => TokenKind::MacroTermVar(name),
                                MacroKind::Type => TokenKind::MacroTypeVar(name),
                                MacroKind::TypeLit => TokenKind::MacroTypeLitVar(name),
                            };
                            self.push(kind, s, self.pos);
                        }
                        _ => {
                            return Err(self.err(self.pos, format!("expected a variable, `(` or `{c}` after `{c}` in the macro")));
                        }
                    }
                }
                Some(_) => {
                    let mut text = String::new();
                    while let Some(c) = self.peek() {
                        if c == close || matches!(c, '`' | '!' | '@' | '\\') {
                            break;
                        }
                        text.push(c);
                        self.pos += 1;
                    }
                    self.push(TokenKind::Text(text), s, self.pos);
                }
            }
        }
    }
}

fn unescape(e: char) -> char {
    match e {
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'b' => '\u{8}',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        let (t, e) = tokenize(FileId(0), src);
        assert!(e.is_empty(), "{e:?}");
        t.into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn unary_vs_binary_operators() {
        use TokenKind::*;
        assert_eq!(
            kinds("a - b -c"),
            vec![Var("a".into()), Operator("-".into()), Var("b".into()), UnaryOperator("-".into()), Var("c".into())]
        );
        assert_eq!(kinds("f -1"), vec![Var("f".into()), DefaultValue("-1".into())]);
        assert_eq!(kinds("a-1"), vec![Var("a".into()), Operator("-".into()), DefaultValue("1".into())]);
    }

    #[test]
    fn numbers_with_suffixes() {
        use TokenKind::*;
        assert_eq!(
            kinds("1i8 2u64 3.5f32 1_000 2.5 -7i16"),
            vec![
                Value(Literal::I8(1)),
                Value(Literal::U64(2)),
                Value(Literal::F32(3.5)),
                DefaultValue("1000".into()),
                DefaultValue("2.5".into()),
                Value(Literal::I16(-7)),
            ]
        );
        let (_, e) = tokenize(FileId(0), "300u8");
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn symbols_primes_and_keywords() {
        use TokenKind::*;
        assert_eq!(
            kinds("create' x.foo .(+) inl _"),
            vec![
                Var("create'".into()),
                Var("x".into()),
                Symbol("foo".into()),
                Symbol("+".into()),
                Keyword(super::Keyword::Inl),
                Keyword(super::Keyword::Wildcard),
            ]
        );
    }

    #[test]
    fn macro_parts() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#"$"a !x `t @n \v !(f y) \n!!""#),
            vec![
                MacroOpen,
                Text("a ".into()),
                MacroTermVar("x".into()),
                Text(" ".into()),
                MacroTypeVar("t".into()),
                Text(" ".into()),
                MacroTypeLitVar("n".into()),
                Text(" ".into()),
                EscapedVar,
                Text(" ".into()),
                MacroExpr(MacroKind::Term, true),
                Var("f".into()),
                Var("y".into()),
                MacroExpr(MacroKind::Term, false),
                Text(" ".into()),
                EscapedChar('\n'),
                UnescapedChar('!'),
                MacroClose,
            ]
        );
    }

    #[test]
    fn comments_without_a_space_are_accepted() {
        let mut sm = crate::diagnostics::SourceMap::new();
        let text = "//comment\n///doc-like\ninl f x = x //trailing\n";
        let f = sm.add("c.spir", text);
        let p = crate::syntax::parse_module(f, text, crate::syntax::Segment::BottomUp);
        assert!(p.diagnostics.is_empty(), "{}", crate::diagnostics::render(&sm, &p.diagnostics));
    }

    #[test]
    fn strings_chars_and_comments() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#""a\"b" 'c' '\n' @"r\" // hi"#),
            vec![
                StringOpen,
                Text("a".into()),
                UnescapedChar('"'),
                Text("b".into()),
                StringClose,
                Value(Literal::Char('c')),
                Value(Literal::Char('\n')),
                Value(Literal::String("r\\".into())),
                Comment("hi".into()),
            ]
        );
    }

    #[test]
    fn errors_have_positions() {
        let (_, e) = tokenize(FileId(0), "inl x = 1\n\tinl");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].span.start, 10);
        let (_, e) = tokenize(FileId(0), "x:i32");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].span.start, 1);
    }
}

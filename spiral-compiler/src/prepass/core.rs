//! The core IR: what the prepass produces and the partial evaluator consumes.
//!
//! Names are resolved to **slots**. Every function body (a [`Lambda`]) runs in a frame made
//! of two parts: the captured environment (`Slot::Cap(i)`, the values listed by
//! [`Lambda::captures`], copied when the closure is created) and the locals
//! (`Slot::Local(i)`: the argument, pattern variables and `inl` bindings). A join-point body
//! runs in a fresh frame of the same layout as the frame it appears in, with only its free
//! slots ([`Expr::Join`]'s `free`) filled (renamed).
//!
//! Operators are ordinary applications of core-package functions; primitive operations are
//! [`Expr::Op`] (`!!!!Name(args)` in source).
use crate::diagnostics::Span;
use crate::peval::ir::{LayoutKind, Lit, PrimTy};
use std::rc::Rc;

/// An interned-enough name (symbols, record keys, case names).
pub type Name = std::sync::Arc<str>;

/// A frame slot: a captured value or a local.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// Index into the closure's captured environment.
    Cap(u32),
    /// Index into the locals.
    Local(u32),
}

/// A core expression. Every variant that can fail at evaluation carries a span.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A literal.
    Lit(Lit, Span),
    /// `()`.
    Unit(Span),
    /// A variable read.
    Var(Slot, Span),
    /// A symbol `.foo`.
    Symbol(Name, Span),
    /// A type in term position (bottom-up: naked types).
    Type(TyExpr, Span),
    /// A function `fun pat => body` (multi-argument functions are curried lambdas).
    Lambda(Rc<Lambda>),
    /// A group of mutually recursive functions bound to consecutive local slots starting at
    /// `first`, then `body`.
    LetRec {
        /// The functions of the group.
        group: Rc<RecGroup>,
        /// The local slot of the first member.
        first: u32,
        /// The rest.
        body: Box<Expr>,
    },
    /// Application `f x`.
    Apply(Box<Expr>, Box<Expr>, Span),
    /// `a, b`.
    Pair(Box<Expr>, Box<Expr>, Span),
    /// A record literal `{a = x; b = y}` (also `{m with ...}` via `base`).
    Record {
        /// The record being updated (`{m with ...}`), if any.
        base: Option<Box<Expr>>,
        /// The fields in source order.
        fields: Vec<RecordField>,
        /// Where.
        span: Span,
    },
    /// `if c then a else b` (`elif` is nested `if`).
    If(Box<Expr>, Box<Expr>, Box<Expr>, Span),
    /// `match e with clauses` (also `function` and every `inl pat = e in ...`).
    Match(Box<Expr>, Vec<Clause>, Span),
    /// `typecase t with clauses`.
    TypeCase(TyExpr, Vec<TypeClause>, Span),
    /// `join e`: a join point; `free` lists the slots the body reads. `ret` is the return
    /// type annotation, if any (needed for recursion).
    Join {
        /// The body.
        body: Box<Expr>,
        /// Free slots of the body (sorted, deduplicated).
        free: Rc<[Slot]>,
        /// Optional annotated return type.
        ret: Option<TyExpr>,
        /// A name hint for the method (`let` name).
        name: Name,
        /// The number of locals of the frame the body runs in.
        frame: u32,
        /// Unique id of this join point (memo key).
        id: u32,
        /// Where.
        span: Span,
    },
    /// `join_backend Backend e`.
    JoinBackend {
        /// The backend name.
        backend: Name,
        /// The body.
        body: Box<Expr>,
        /// Free slots of the body.
        free: Rc<[Slot]>,
        /// The size of the frame the body runs in.
        frame: u32,
        /// Unique id.
        id: u32,
        /// Where.
        span: Span,
    },
    /// `e : t`.
    Annot(Box<Expr>, TyExpr, Span),
    /// `$"..."`: inline target code; its type is `ty` (unit if absent).
    Macro(Vec<MacroPartE>, Option<TyExpr>, Span),
    /// A primitive operation `!!!!Name(args)`.
    Op(Name, Vec<Expr>, Span),
    /// `a; b` — evaluate `a` (must be unit), then `b`.
    Seq(Box<Expr>, Box<Expr>),
    /// A union/nominal constructor reference (e.g. `Some`), as a value.
    Constructor(u32, Name, Span),
    /// A nominal type constructor used as a term (`t` in `t i32`), for nominal creation.
    Nominal(u32, Span),
    /// `inl x = e in rest` for a plain variable: stores the value in local `slot`.
    Let(u32, Box<Expr>, Box<Expr>),
    /// At a nominal's declaration: the values of the top-level variables its body reads
    /// (`nominal t = `(m.f ``i32)`), the captures of the frame its body is evaluated in. `()`.
    NominalEnv {
        /// The nominal.
        nominal: u32,
        /// The slots captured, in the order of the body's `Cap` slots.
        caps: Vec<Slot>,
        /// The declaration.
        span: Span,
    },
    /// `target path <- value`: sets a field of a `mut` layout or an array element.
    HeapSet {
        /// The mutable value.
        target: Box<Expr>,
        /// Symbols (layout fields) or an index (arrays).
        path: Vec<Expr>,
        /// The new value.
        value: Box<Expr>,
        /// Where.
        span: Span,
    },
    /// An error found by the prepass that is only reported if evaluation reaches it.
    Error(String, Span),
}

/// A prepared program: the nominal declarations and an expression that evaluates every
/// module in order and yields the value of `main`.
#[derive(Debug, Clone)]
pub struct Program {
    /// Nominal and union declarations, indexed by their id.
    pub nominals: Vec<NominalDecl>,
    /// The body; its value is the entry function.
    pub body: Expr,
    /// The span of the entry point (for errors).
    pub entry_span: Span,
    /// Files of library packages (bundled `core`): an error raised inside them is reported at
    /// the innermost trace frame in the user's code, with the library place as a label.
    pub library_files: Vec<crate::diagnostics::FileId>,
}

/// A record literal field.
#[derive(Debug, Clone)]
pub enum RecordField {
    /// `key = value` (key may be injected with `$var`).
    Set(RecordKey, Expr),
    /// `key#=f` / modify: `key = f old`.
    Modify(RecordKey, Expr),
    /// `without key`.
    Remove(RecordKey),
}

/// A record key: literal or injected from a variable holding a symbol.
#[derive(Debug, Clone)]
pub enum RecordKey {
    /// A literal key.
    Name(Name),
    /// `$x`: the symbol held by slot `x`.
    Inject(Slot, Span),
}

/// A macro part in a term macro.
#[derive(Debug, Clone)]
pub enum MacroPartE {
    /// Verbatim text.
    Text(Name),
    /// `!x`: a term.
    Term(Expr),
    /// `` `t ``: a type.
    Type(TyExpr),
    /// `@t`: a type literal's content.
    TypeLit(TyExpr),
}

/// A function.
#[derive(Debug, Clone)]
pub struct Lambda {
    /// The slots of the creating frame captured; `Cap(i)` in the body reads `captures[i]`.
    /// For a member of a [`RecGroup`], a capture of `Local(first + j)` (a group member) is
    /// resolved to member `j` itself.
    pub captures: Vec<Slot>,
    /// The local slot the argument is stored in.
    pub arg: u32,
    /// The body (a match on the argument when the pattern is not a plain variable).
    pub body: Expr,
    /// The number of locals.
    pub frame: u32,
    /// Unique id.
    pub id: u32,
    /// Name hint.
    pub name: Name,
    /// Where.
    pub span: Span,
}

/// A group of mutually recursive functions (`inl rec f ... and g ...`).
#[derive(Debug, Clone)]
pub struct RecGroup {
    /// The members (each a function or a type function).
    pub members: Vec<Rc<Lambda>>,
    /// The local slot of the first member in the creating frame.
    pub first: u32,
}

/// A match clause.
#[derive(Debug, Clone)]
pub struct Clause {
    /// The pattern (guards are [`Pat::When`] inside it).
    pub pat: Pat,
    /// The body.
    pub body: Expr,
}

/// A typecase clause.
#[derive(Debug, Clone)]
pub struct TypeClause {
    /// The type pattern (metavariables bind slots).
    pub pat: TyExpr,
    /// The body.
    pub body: Expr,
}

/// A pattern.
#[derive(Debug, Clone)]
pub enum Pat {
    /// `_`
    Wildcard,
    /// A variable.
    Var(Slot),
    /// `~p`: make the value dynamic, then match `p`.
    Dyn(Box<Pat>),
    /// A literal.
    Lit(Lit),
    /// `()`.
    Unit,
    /// `.sym`.
    Symbol(Name),
    /// `a, b`.
    Pair(Box<Pat>, Box<Pat>),
    /// `{a = p; b}`; the record may have other fields.
    Record(Vec<(RecordKey, Pat)>),
    /// `p & q` (`as`).
    And(Box<Pat>, Box<Pat>),
    /// `p | q` (both alternatives bind the same slots).
    Or(Box<Pat>, Box<Pat>),
    /// `p : t`.
    Annot(Box<Pat>, TyExpr),
    /// `Case p`: a union case.
    Union(u32, Name, Box<Pat>),
    /// `t p`: a nominal wrapper.
    Nominal(u32, Box<Pat>),
    /// `p when cond`.
    When(Box<Pat>, Box<Expr>),
    /// `;[p0; p1; ...]`: an array of exactly this length whose elements match the patterns.
    Array(Vec<Pat>),
}

/// A type expression (evaluated by the partial evaluator).
#[derive(Debug, Clone)]
pub enum TyExpr {
    /// A primitive.
    Prim(PrimTy),
    /// `()`.
    Unit,
    /// `_` (in typecase patterns and annotations: anything).
    Wildcard,
    /// A variable holding a type (or a metavariable `~a` binding slot in a typecase pattern).
    Var(Slot, bool),
    /// `.sym`.
    Symbol(Name),
    /// `a * b`.
    Pair(Box<TyExpr>, Box<TyExpr>),
    /// `{a : t; ...}`.
    Record(Vec<(Name, TyExpr)>),
    /// `array t`.
    Array(Box<TyExpr>),
    /// `a -> b`.
    Fun(Box<TyExpr>, Box<TyExpr>),
    /// A nominal (or union) applied to arguments.
    Nominal(u32, Vec<TyExpr>),
    /// `heap t` / `mut t`.
    Layout(LayoutKind, Box<TyExpr>),
    /// `$"..."`.
    Macro(Vec<TyMacroPart>),
    /// A type-level literal.
    Lit(Lit),
    /// The type of a term (`` `x `` where x is a term).
    TypeOf(Rc<Expr>),
    /// An application of a type variable (metavariable) to arguments, in typecase patterns.
    Apply(Box<TyExpr>, Vec<TyExpr>),
}

/// A part of a macro type.
#[derive(Debug, Clone)]
pub enum TyMacroPart {
    /// Verbatim text.
    Text(Name),
    /// `` `t ``.
    Type(TyExpr),
    /// `@t`.
    TypeLit(TyExpr),
}

/// A nominal or union declaration.
#[derive(Debug, Clone)]
pub struct NominalDecl {
    /// Unique id.
    pub id: u32,
    /// Its name.
    pub name: Name,
    /// The number of type parameters: the body is evaluated in a frame whose locals
    /// `0..params` hold the arguments.
    pub params: u32,
    /// Number of locals needed to evaluate the body.
    pub frame: u32,
    /// Whether the body reads top-level variables: they arrive through an
    /// [`Expr::NominalEnv`] at the declaration.
    pub has_env: bool,
    /// The body.
    pub body: NominalBody,
}

/// A nominal's body.
#[derive(Debug, Clone)]
pub enum NominalBody {
    /// `nominal t = body`.
    Type(TyExpr),
    /// `union t = A: t1 | B: t2` (`heap` for `union rec`).
    Union {
        /// Case names and payload types, in declaration order.
        cases: Vec<(Name, TyExpr)>,
        /// Heap layout.
        heap: bool,
    },
}

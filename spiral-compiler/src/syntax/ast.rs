//! The abstract syntax tree produced by the parser.
//!
//! Every node carries a [`Span`]. The tree is what the v2 reference calls the "raw" syntax:
//! a handful of purely syntactic sugars are already removed by the parser, so later stages see
//! fewer forms. The desugarings are:
//!
//! - binary operators `a op b` become `Apply(Apply(Var(op), a), b)`; the exceptions are
//!   `a, b` ([`ExprKind::Pair`]), `a . b` and statement sequencing ([`ExprKind::Seq`]),
//!   `a && b` (`if a then b else false`), `a || b` (`if a then true else b`) and
//!   `f x y <- v` ([`ExprKind::HeapMutableSet`]);
//! - prefix operators `-x` become `Apply(Var("~-"), x)` (the operator name prefixed by `~`);
//! - `inl p = e in k` / `let p = e` followed by more statements become `Match(e, [(p, k)])`;
//!   `inl rec f = .. and inl g = .. in k` becomes [`ExprKind::RecBlock`];
//! - `inl f a b = e` becomes `inl f = fun a => fun b => e` (with `forall` vars becoming
//!   [`ExprKind::Forall`] around it);
//! - `let` bodies are wrapped in an unnamed [`ExprKind::JoinPoint`] and `let`-bound function
//!   parameters become [`PatternKind::Dyn`]; multi-clause `function` bodies of `inl`/`let`
//!   statements are rewritten into one parameter named `" arg"` plus a `match` on it
//!   (this mirrors the reference compiler so evaluation order and join points agree);
//! - list literals `[a; b]` (top-down only) become `Cons (a, Cons (b, Nil))` applications, list
//!   patterns become `Cons`/`Nil` [`PatternKind::Unbox`] patterns, and `a :: b` patterns become
//!   `Unbox("Cons", Pair(a, b))`;
//! - array literals `;[a; b]` become `Apply(Var("array"), Array([a, b]))`;
//! - `p as q` patterns become [`PatternKind::And`].
//!
//! Everything else keeps its surface shape.

use crate::diagnostics::Span;

/// A name with the place it was written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The text of the name (for symbols, without the leading `.`).
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A literal value. Suffixed numbers (`1i64`, `2.5f32`) and strings, chars and booleans.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `1i8`
    I8(i8),
    /// `1i16`
    I16(i16),
    /// `1i32`
    I32(i32),
    /// `1i64`
    I64(i64),
    /// `1u8`
    U8(u8),
    /// `1u16`
    U16(u16),
    /// `1u32`
    U32(u32),
    /// `1u64`
    U64(u64),
    /// `1.5f32`
    F32(f32),
    /// `1.5f64`
    F64(f64),
    /// `true` / `false`
    Bool(bool),
    /// `"text"` or `@"raw text"`, escapes already processed.
    String(String),
    /// `'c'`, escapes already processed.
    Char(char),
}

/// The kind of a type variable: `*`, `* -> *`, or unspecified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// No kind annotation was written; inference decides.
    Wildcard,
    /// `*`
    Star,
    /// `k1 -> k2`
    Fun(Box<Kind>, Box<Kind>),
}

/// A (possibly higher-order) type variable binder: `a` or `(a : * -> *)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoVar {
    /// The variable name.
    pub name: Ident,
    /// Its kind.
    pub kind: Kind,
    /// The whole binder.
    pub span: Span,
}

/// A `forall`/`exists` binder with prototype constraints: `a {number; (+)}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeVar {
    /// The bound variable.
    pub var: HoVar,
    /// Names of prototypes the variable must implement (may be operators such as `+`).
    pub constraints: Vec<Ident>,
}

/// One part of a macro `$"..."` (term) or `` `$"..."` `` (type).
#[derive(Clone, Debug, PartialEq)]
pub enum MacroPart {
    /// Literal text. Escapes are processed; in term macros the variable binder `\v` is kept as
    /// the two characters `\` `v` for the backend to substitute.
    Text(String, Span),
    /// `!x` or `!(expr)`: the value of a term, printed by the backend.
    Term(Expr),
    /// `` `t `` or `` `(type) ``: a type, printed by the backend.
    Type(TypeExpr),
    /// `@t` or `@(type)`: a type literal, printed as its value.
    TypeLit(TypeExpr),
}

/// A field set in `{ ... with ... }` or a record literal.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordWith {
    /// `a = e` (or the pun `a`, which means `a = a`).
    Symbol(Ident, Expr),
    /// `a #= f`: replace field `a` by `f` applied to its old value.
    SymbolModify(Ident, Expr),
    /// `$x = e`: the field name is the symbol held by the variable `x`.
    InjectVar(Ident, Expr),
    /// `$x #= f`
    InjectVarModify(Ident, Expr),
}

/// A field removed in `{ r without ... }`.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordWithout {
    /// `a`
    Symbol(Ident),
    /// `$x`
    InjectVar(Ident),
}

/// A term.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// Where it was written.
    pub span: Span,
    /// What it is.
    pub kind: ExprKind,
}

/// The forms of a term.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `()`
    Unit,
    /// A variable reference. `tvar_applied` is false only for the `` `$x `` form, which refers
    /// to `x` without implicitly applying its type variables.
    Var {
        /// The name (operators such as `+` or `~-` included).
        name: String,
        /// Whether foralls of the binding are instantiated implicitly.
        tvar_applied: bool,
    },
    /// A suffixed literal, string, char or boolean.
    Lit(Literal),
    /// An unsuffixed number such as `1` or `2.5` (underscores removed, a leading `-` kept). Its
    /// type is decided later: by inference in the top-down segment, by the package defaults
    /// (normally `i32`/`f64`) in the bottom-up segment.
    DefaultLit(String),
    /// `.foo`
    Symbol(String),
    /// A type in term position: `` `t `` (bottom-up segment).
    Type(TypeExpr),
    /// `match e with | p => b ...`; also the result of `inl p = e in k`.
    Match {
        /// The matched value.
        scrutinee: Box<Expr>,
        /// Clauses in source order.
        clauses: Vec<(Pattern, Expr)>,
    },
    /// `fun p => b` (one clause) or `function | p => b ...` (several).
    Fun(Vec<(Pattern, Expr)>),
    /// A type lambda `forall a. e` (bottom-up `forall`, and `inl f forall a. ... = e`).
    Forall(TypeVar, Box<Expr>),
    /// `exists [t1; t2] e`: packs `e` into an existential. `types` is `None` when omitted
    /// (top-down segment only).
    Exists {
        /// The witness types, if written.
        types: Option<Vec<TypeExpr>>,
        /// The packed term.
        body: Box<Expr>,
    },
    /// `inl rec f = .. and inl g = .. in body`. Each binding is a `Fun` or `Forall`.
    RecBlock {
        /// The mutually recursive bindings.
        bindings: Vec<(Ident, Expr)>,
        /// The rest of the block.
        body: Box<Expr>,
    },
    /// `{a = 1; b}` (empty `bases`) or `{r .x $y with a = 1 without b}`. For the `with` form,
    /// `bases` is the record variable followed by the path (symbols or `$` variables) into it.
    RecordWith {
        /// The record being updated and the path into it; empty for a record literal.
        bases: Vec<Expr>,
        /// Fields set or modified.
        with: Vec<RecordWith>,
        /// Fields removed.
        without: Vec<RecordWithout>,
    },
    /// An inbuilt operation `!!!!Name(a, b)`.
    Op {
        /// The operation name as written (e.g. `Add`, `PrintStatic`); always one of
        /// [`INBUILT_OPS`].
        name: Ident,
        /// The arguments (parsed in the bottom-up segment).
        args: Vec<Expr>,
    },
    /// A join point: `join e`, `join_backend Cuda e`, or one introduced for a `let`.
    JoinPoint {
        /// The backend for `join_backend`.
        backend: Option<Ident>,
        /// The body.
        body: Box<Expr>,
        /// The name of the binding the join point belongs to, if any (for readable output).
        name: Option<String>,
    },
    /// `e : t`
    Annot(Box<Expr>, TypeExpr),
    /// `typecase t with | pat => e ...` (bottom-up segment).
    Typecase {
        /// The type being examined.
        scrutinee: TypeExpr,
        /// Clauses; patterns may contain metavariables `~a` and wildcards.
        clauses: Vec<(TypeExpr, Expr)>,
    },
    /// `open m .a .b` followed by the rest of the block.
    Open {
        /// The module variable.
        module: Ident,
        /// Symbols selecting a sub-module.
        path: Vec<Ident>,
        /// The rest of the block.
        body: Box<Expr>,
    },
    /// `f x`
    Apply(Box<Expr>, Box<Expr>),
    /// `if c then t else e` (also `&&`, `||` and `elif` chains).
    IfThenElse(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `if c then t` without `else`.
    IfThen(Box<Expr>, Box<Expr>),
    /// `a, b`
    Pair(Box<Expr>, Box<Expr>),
    /// `a . b`, or two statements in a block.
    Seq(Box<Expr>, Box<Expr>),
    /// `target i j <- value`: sets a mutable heap layout (or array) element.
    HeapMutableSet {
        /// The mutable value.
        target: Box<Expr>,
        /// The index/field path applied to it.
        path: Vec<Expr>,
        /// The new value.
        value: Box<Expr>,
    },
    /// `real e`: `e` is parsed in the bottom-up segment.
    Real(Box<Expr>),
    /// `$"text !x"`: a term macro.
    Macro(Vec<MacroPart>),
    /// The elements of an array literal (see the module docs).
    Array(Vec<Expr>),
    /// `inl f x =` with nothing after `=`; reported as an error by the parser.
    MissingBody,
}

/// A type expression.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    /// Where it was written.
    pub span: Span,
    /// What it is.
    pub kind: TypeKind,
}

/// Which memory layout a union uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnionLayout {
    /// `union`: stored by value.
    Stack,
    /// `union rec` / `and union`: boxed, may be recursive.
    Heap,
}

/// One case of a union declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct UnionCase {
    /// The case name (uppercase).
    pub name: Ident,
    /// `true` for the GADT form `Case :: forall a. t -> u a`.
    pub gadt: bool,
    /// The payload type (`()` when no `: t` was written).
    pub ty: TypeExpr,
}

/// The forms of a type expression.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    /// `_` (top-down annotations and typecase patterns).
    Wildcard,
    /// `()`
    Unit,
    /// `~a` in a typecase pattern: binds `a`.
    MetaVar(String),
    /// A type literal: `1i32`, `"text"`, `true`.
    Lit(Literal),
    /// An unsuffixed number used as a type literal (see [`ExprKind::DefaultLit`]).
    DefaultLit(String),
    /// A type variable or a named type (`a`, `i32`, `option`).
    Var(String),
    /// `a * b`
    Pair(Box<TypeExpr>, Box<TypeExpr>),
    /// `a -> b`
    Fun(Box<TypeExpr>, Box<TypeExpr>),
    /// `{a : t; b : u}`; field order is as written (it carries no meaning).
    Record(Vec<(Ident, TypeExpr)>),
    /// `.foo`
    Symbol(String),
    /// `f a` (type application, also nominal application).
    Apply(Box<TypeExpr>, Box<TypeExpr>),
    /// `forall a. t`
    Forall(TypeVar, Box<TypeExpr>),
    /// `exists a b. t`
    Exists(Vec<TypeVar>, Box<TypeExpr>),
    /// `` `x `` / `` `(e) ``: a term whose type is taken (bottom-up segment).
    Term(Box<Expr>),
    /// `` $"text `t" ``: a type macro.
    Macro(Vec<MacroPart>),
    /// The body of a `union`. `this` is the declared type applied to its parameters.
    Union {
        /// The cases in source order.
        cases: Vec<UnionCase>,
        /// Stack or heap.
        layout: UnionLayout,
        /// The union's own type, e.g. `list a`.
        this: Box<TypeExpr>,
    },
}

/// A pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    /// Where it was written.
    pub span: Span,
    /// What it is.
    pub kind: PatternKind,
}

/// One member of a record pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum PatRecordMember {
    /// `a = p` (or the pun `a`, meaning `a = a`).
    Symbol(Ident, Pattern),
    /// `$x = p`: the field named by the symbol in `x`.
    InjectVar(Ident, Pattern),
}

/// The forms of a pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum PatternKind {
    /// `()`
    Unit,
    /// `_`
    Wildcard,
    /// `x` (also an operator name in parentheses, `(+)`).
    Var(String),
    /// `~p`: makes the matched value dynamic.
    Dyn(Box<Pattern>),
    /// `Some p`: matches a union case (payload `_` when none was written).
    Unbox(String, Box<Pattern>),
    /// `exists a b. p`
    Exists(Vec<Ident>, Box<Pattern>),
    /// `p : t`
    Annot(Box<Pattern>, TypeExpr),
    /// `p, q`
    Pair(Box<Pattern>, Box<Pattern>),
    /// `.foo`
    Symbol(String),
    /// `{a b = p $c}`
    Record(Vec<PatRecordMember>),
    /// `p | q`
    Or(Box<Pattern>, Box<Pattern>),
    /// `p & q` (and `p as q`)
    And(Box<Pattern>, Box<Pattern>),
    /// A literal.
    Lit(Literal),
    /// An unsuffixed number (see [`ExprKind::DefaultLit`]).
    DefaultLit(String),
    /// `p when cond`
    When(Box<Pattern>, Box<Expr>),
    /// `n .path p`: unwraps the nominal `n` (lowercase name), optionally through a module path.
    Nominal {
        /// The nominal's name.
        name: Ident,
        /// Module path symbols written tight after the name.
        path: Vec<Ident>,
        /// The pattern for the wrapped value.
        pat: Box<Pattern>,
    },
    /// `;[p; q]`
    Array(Vec<Pattern>),
}

/// A top-level statement.
#[derive(Clone, Debug, PartialEq)]
pub struct TopItem {
    /// The whole statement.
    pub span: Span,
    /// Comment lines written directly above the statement, joined.
    pub comments: String,
    /// What it is.
    pub kind: TopKind,
}

/// The forms of a top-level statement.
#[derive(Clone, Debug, PartialEq)]
pub enum TopKind {
    /// `and ...`: continues the recursive group of the statement before it.
    And(Box<TopItem>),
    /// `inl f ... = e` / `let f ... = e` (body always a function or type function).
    Inl {
        /// The bound name.
        name: Ident,
        /// The body, desugared as in [`ExprKind::Fun`]/[`ExprKind::Forall`].
        body: Expr,
        /// `inl rec`/`let rec` or a member of an `and` group.
        rec: bool,
        /// Whether the statement is in the top-down segment (`.spi`).
        top_down: bool,
    },
    /// `nominal n a = t` and `union` (a union's body is [`TypeKind::Union`]).
    Nominal {
        /// The declared name.
        name: Ident,
        /// The type parameters.
        params: Vec<HoVar>,
        /// The wrapped type.
        body: TypeExpr,
        /// `union rec` / `and union`.
        rec: bool,
    },
    /// `type t a = u` (an alias).
    Type {
        /// The declared name.
        name: Ident,
        /// The type parameters.
        params: Vec<HoVar>,
        /// The aliased type.
        body: TypeExpr,
    },
    /// `prototype name self a b : t`
    Prototype {
        /// The prototype (function) name; may be an operator.
        name: Ident,
        /// The type variable standing for the implementing nominal.
        self_var: Ident,
        /// The remaining type parameters.
        params: Vec<TypeVar>,
        /// The signature.
        ty: TypeExpr,
    },
    /// `instance name nominal a b = e`
    Instance {
        /// The prototype being implemented.
        prototype: Ident,
        /// The nominal implementing it.
        nominal: Ident,
        /// The nominal's type parameters.
        params: Vec<TypeVar>,
        /// The implementation.
        body: Expr,
    },
    /// `open m .a .b`
    Open {
        /// The module variable.
        module: Ident,
        /// Symbols selecting a sub-module.
        path: Vec<Ident>,
    },
}

/// One parsed source file.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The top-level statements that parsed, in source order.
    pub items: Vec<TopItem>,
}

/// The names accepted in `!!!!Name(...)`.
pub const INBUILT_OPS: &[&str] = &[
    "ToFunPtr", "ToFunClosure",
    "HashSetCreate", "HashSetAdd", "HashSetContains", "HashSetRemove", "HashSetCount",
    "HashMapCreate", "HashMapSetImmutable", "HashMapSet", "HashMapAdd", "HashMapTryAdd",
    "HashMapContains", "HashMapRemove", "HashMapCount", "HashMapTryGet",
    "PragmaUnrollPush", "PragmaUnrollPop", "BackendSwitch", "KernelSwitch", "UsesOriginalTermVars",
    "UsesOriginalNominals", "Global", "ToPythonRecord", "ToPythonNamedTuple", "While",
    "LayoutToHeap", "LayoutToHeapMutable", "LayoutToStackMutable", "LayoutIndex",
    "TypeToVar", "TypeToSymbol", "TypeLitToLit", "LitToTypeLit", "LitToSymbol", "Dyn",
    "KernelIndex", "KernelLaunch", "KernelLaunchBlocks", "ThreadIndex", "BlockIndex", "ThreadsPerBlock", "SyncThreads", "ShuffleDown", "ShuffleUp", "SharedArray", "TaskletArray", "MramRead", "MramWrite", "UpmemDpus", "UpmemBlockElems", "TypedLit", "ProtoSelect", "ProtoHas", "ProtoRegister", "AtomicAdd", "AtomicMin", "AtomicMax", "AtomicCas", "ChunkSet", "LengthCheck",
    "NominalCreate", "NominalStrip", "NominalTypeApply",
    "Unbox", "Unbox2", "UnionTag", "UnionUntag", "UnionToRecord",
    "StringLength", "StringIndex", "StringSlice", "StaticStringConcat", "Printf",
    "ArrayCreate", "ArrayLength", "ArrayIndex", "ArrayIndexSet",
    "RecordMap", "RecordIter", "RecordFilter", "RecordFold", "RecordFoldBack", "RecordLength",
    "RecordTypeMap", "RecordTypeIter", "RecordTypeFold", "RecordTypeFoldBack",
    "RecordTypeLength", "RecordTypeTryFind",
    "Add", "Sub", "Mult", "Div", "Mod", "Pow", "LTE", "LT", "EQ", "TypeEq", "NEQ", "GT", "GTE",
    "BoolAnd", "BoolOr", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseComplement",
    "ShiftLeft", "ShiftRight",
    "Neg", "Tanh", "Log", "Exp", "Sin", "Cos", "Sqrt", "NanIs", "Conv", "Infinity", "Pi",
    "LitIs", "PrimIs", "SymbolIs", "VarIs", "UnionIs", "HeapUnionIs", "LayoutIs", "NominalIs",
    "FunctionIs", "ExistsIs", "PrototypeHas",
    "PrimTypeIs", "SymbolTypeIs", "UnionTypeIs", "HeapUnionTypeIs", "LayoutTypeIs",
    "ExistsTypeIs", "NominalTypeIs",
    "FailWith", "PrintStatic", "PrintRaw", "ErrorType", "ExistsStrip", "StringLitToSymbol",
    "SymbolToString", "VarTag", "TagToSymbol", "FunctionTermSlotsGet", "FunctionTermSlotsSet",
    "FreeVars", "FreeVarsReplace", "SizeOf",
];

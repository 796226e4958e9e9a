//! The residual typed IR: what the partial evaluator leaves behind and every backend prints.
//!
//! # Model
//!
//! Partial evaluation computes every static part of a program at compile time. What is left
//! (the *residual program*) only manipulates runtime values, and every runtime value is a
//! [`Var`] with a **leaf type**: tuples and records never exist at runtime as such, they are
//! flattened into their leaves (see [`Types::leaves`]). A leaf type is one of
//!
//! * a primitive ([`Ty::Prim`]: integers, floats, `bool`, `char`, `string`),
//! * an array ([`Ty::Array`]), whose elements are stored as the leaves of the element type,
//! * a runtime closure ([`Ty::Fun`]), taking and returning the leaves of its domain/codomain,
//! * a union ([`Ty::Union`], index into [`Types::unions`]), boxed on the stack or the heap,
//! * a layout ([`Ty::Layout`]): a refcounted box (`heap`) or mutable box (`mut`) holding leaves,
//! * a macro type ([`Ty::Macro`]): a type written in the target language, e.g. `$"FILE *"`.
//!
//! Static-only types ([`Ty::Unit`], [`Ty::Symbol`], [`Ty::TypeLit`]) have no leaves; pairs and
//! records have the concatenation of their fields' leaves (record fields in key order);
//! a nominal ([`Ty::Nominal`]) has the leaves of its body.
//!
//! Code is a [`Block`]: a list of [`Stmt`]s followed by a list of result atoms (the leaves of the
//! block's value). Every statement binds zero or more fresh variables to an [`Expr`]; the
//! number and types of the bound variables are the leaves of the expression's value.
//! Variables are numbered per function body (method, closure, kernel or `main`) and are
//! unique inside it; a variable bound in a nested block is only visible inside that block.
//!
//! A [`Program`] holds the type tables, the global lines (`global "..."`), the join-point
//! methods (memoised specialisations), the closures, the backend kernels (from
//! `join_backend`) and the `main` block. Everything is in creation order, and the printed
//! form ([`std::fmt::Display`]) is deterministic.
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A primitive type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrimTy {
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `bool`
    Bool,
    /// `char` (a Unicode scalar value)
    Char,
    /// `string` (immutable, refcounted)
    String,
}

impl PrimTy {
    /// The Spiral name of the type (`i32`, `f64`, `string`, ...).
    pub fn name(self) -> &'static str {
        match self {
            PrimTy::I8 => "i8",
            PrimTy::I16 => "i16",
            PrimTy::I32 => "i32",
            PrimTy::I64 => "i64",
            PrimTy::U8 => "u8",
            PrimTy::U16 => "u16",
            PrimTy::U32 => "u32",
            PrimTy::U64 => "u64",
            PrimTy::F32 => "f32",
            PrimTy::F64 => "f64",
            PrimTy::Bool => "bool",
            PrimTy::Char => "char",
            PrimTy::String => "string",
        }
    }
    /// The type named `s`, if it is a primitive.
    pub fn from_name(s: &str) -> Option<PrimTy> {
        Some(match s {
            "i8" => PrimTy::I8,
            "i16" => PrimTy::I16,
            "i32" => PrimTy::I32,
            "i64" => PrimTy::I64,
            "u8" => PrimTy::U8,
            "u16" => PrimTy::U16,
            "u32" => PrimTy::U32,
            "u64" => PrimTy::U64,
            "f32" => PrimTy::F32,
            "f64" => PrimTy::F64,
            "bool" => PrimTy::Bool,
            "char" => PrimTy::Char,
            "string" => PrimTy::String,
            _ => return None,
        })
    }
    /// Signed or unsigned integer.
    pub fn is_int(self) -> bool {
        matches!(
            self,
            PrimTy::I8 | PrimTy::I16 | PrimTy::I32 | PrimTy::I64 | PrimTy::U8 | PrimTy::U16 | PrimTy::U32 | PrimTy::U64
        )
    }
    /// Signed integer.
    pub fn is_signed_int(self) -> bool {
        matches!(self, PrimTy::I8 | PrimTy::I16 | PrimTy::I32 | PrimTy::I64)
    }
    /// `f32` or `f64`.
    pub fn is_float(self) -> bool {
        matches!(self, PrimTy::F32 | PrimTy::F64)
    }
}

impl From<spiral_abi::ScalarKind> for PrimTy {
    /// The primitive type of a leaf kind of the host ABI.
    fn from(k: spiral_abi::ScalarKind) -> PrimTy {
        use spiral_abi::ScalarKind;
        match k {
            ScalarKind::I8 => PrimTy::I8,
            ScalarKind::I16 => PrimTy::I16,
            ScalarKind::I32 => PrimTy::I32,
            ScalarKind::I64 => PrimTy::I64,
            ScalarKind::U8 => PrimTy::U8,
            ScalarKind::U16 => PrimTy::U16,
            ScalarKind::U32 => PrimTy::U32,
            ScalarKind::U64 => PrimTy::U64,
            ScalarKind::F32 => PrimTy::F32,
            ScalarKind::F64 => PrimTy::F64,
            ScalarKind::Bool => PrimTy::Bool,
        }
    }
}

/// A literal value. Floats compare and hash by their bits (so `NaN == NaN` and `-0.0 != 0.0`),
/// which is what memoisation keys need.
#[derive(Clone, Debug)]
pub enum Lit {
    /// An `i8` value.
    I8(i8),
    /// An `i16` value.
    I16(i16),
    /// An `i32` value.
    I32(i32),
    /// An `i64` value.
    I64(i64),
    /// A `u8` value.
    U8(u8),
    /// A `u16` value.
    U16(u16),
    /// A `u32` value.
    U32(u32),
    /// A `u64` value.
    U64(u64),
    /// An `f32` value.
    F32(f32),
    /// An `f64` value.
    F64(f64),
    /// A `bool` value.
    Bool(bool),
    /// A `char` value.
    Char(char),
    /// A `string` value.
    String(Arc<str>),
}

impl Lit {
    /// Whether it is an integer zero (a divisor that must fail).
    pub fn is_int_zero(&self) -> bool {
        matches!(self, Lit::I8(0) | Lit::I16(0) | Lit::I32(0) | Lit::I64(0) | Lit::U8(0) | Lit::U16(0) | Lit::U32(0) | Lit::U64(0))
    }
    /// The primitive type of the literal.
    pub fn ty(&self) -> PrimTy {
        match self {
            Lit::I8(_) => PrimTy::I8,
            Lit::I16(_) => PrimTy::I16,
            Lit::I32(_) => PrimTy::I32,
            Lit::I64(_) => PrimTy::I64,
            Lit::U8(_) => PrimTy::U8,
            Lit::U16(_) => PrimTy::U16,
            Lit::U32(_) => PrimTy::U32,
            Lit::U64(_) => PrimTy::U64,
            Lit::F32(_) => PrimTy::F32,
            Lit::F64(_) => PrimTy::F64,
            Lit::Bool(_) => PrimTy::Bool,
            Lit::Char(_) => PrimTy::Char,
            Lit::String(_) => PrimTy::String,
        }
    }
    fn key(&self) -> (u8, u64, Option<&str>) {
        match self {
            Lit::I8(x) => (0, *x as u64, None),
            Lit::I16(x) => (1, *x as u64, None),
            Lit::I32(x) => (2, *x as u64, None),
            Lit::I64(x) => (3, *x as u64, None),
            Lit::U8(x) => (4, *x as u64, None),
            Lit::U16(x) => (5, *x as u64, None),
            Lit::U32(x) => (6, *x as u64, None),
            Lit::U64(x) => (7, *x, None),
            Lit::F32(x) => (8, x.to_bits() as u64, None),
            Lit::F64(x) => (9, x.to_bits(), None),
            Lit::Bool(x) => (10, *x as u64, None),
            Lit::Char(x) => (11, *x as u64, None),
            Lit::String(s) => (12, 0, Some(s)),
        }
    }
}

impl PartialEq for Lit {
    fn eq(&self, other: &Lit) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Lit {}
impl std::hash::Hash for Lit {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}
impl PartialOrd for Lit {
    fn partial_cmp(&self, other: &Lit) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Lit {
    fn cmp(&self, other: &Lit) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// Formats a float the way Spiral's printers do: shortest round-trip digits, and always a
/// decimal point (`12.0`, `2.5`, `1e+20` stays as Rust prints it with `.0` when needed).
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "infinity".into() } else { "-infinity".into() };
    }
    let s = format!("{x:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") {
        s
    } else {
        format!("{s}.0")
    }
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::I8(x) => write!(f, "{x}i8"),
            Lit::I16(x) => write!(f, "{x}i16"),
            Lit::I32(x) => write!(f, "{x}i32"),
            Lit::I64(x) => write!(f, "{x}i64"),
            Lit::U8(x) => write!(f, "{x}u8"),
            Lit::U16(x) => write!(f, "{x}u16"),
            Lit::U32(x) => write!(f, "{x}u32"),
            Lit::U64(x) => write!(f, "{x}u64"),
            Lit::F32(x) => write!(f, "{}f32", format_float(*x as f64)),
            Lit::F64(x) => write!(f, "{}f64", format_float(*x)),
            Lit::Bool(x) => write!(f, "{x}"),
            Lit::Char(x) => write!(f, "{x:?}"),
            Lit::String(x) => write!(f, "{:?}", &**x),
        }
    }
}

/// The read-modify-write of an [`Expr::Atomic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtomicOp {
    /// `element + value` (wrapping).
    Add,
    /// The smaller of the two.
    Min,
    /// The larger of the two.
    Max,
}

impl AtomicOp {
    /// The library's name for it (`atomic_add`, `atomic_min`, `atomic_max` without the prefix).
    pub fn name(self) -> &'static str {
        match self {
            AtomicOp::Add => "add",
            AtomicOp::Min => "min",
            AtomicOp::Max => "max",
        }
    }
}

/// Heap (immutable) or mutable heap layout, as v2's `heap` and `mut`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LayoutKind {
    /// `heap`: an immutable refcounted box.
    Heap,
    /// `mut`: a mutable refcounted box; its fields can be set.
    Mut,
}

/// A piece of a macro type or macro expression (`$"..."`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MacroPart {
    /// Verbatim target-language text.
    Text(Arc<str>),
    /// `!x`: a runtime value (variable or literal), printed by the backend.
    Atom(Atom),
    /// `` `t ``: a type, printed as the backend's name for it.
    Type(Ty),
    /// `@t`: the content of a type literal, printed verbatim.
    TypeLit(Arc<str>),
}

/// A type. Cheap to clone; compares structurally (nominals and unions by table index).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// The unit type `()`; no runtime leaves.
    Unit,
    /// A primitive type; one leaf.
    Prim(PrimTy),
    /// The type of a symbol `.name` (static; no leaves).
    Symbol(Arc<str>),
    /// A type-level literal (e.g. `16` or `"abc"` in type position; static; no leaves).
    TypeLit(Arc<str>),
    /// A pair `a * b`; the leaves of `a` then of `b`.
    Pair(Arc<Ty>, Arc<Ty>),
    /// A record `{a : t; ...}`; leaves of each field in key order.
    Record(Arc<BTreeMap<Arc<str>, Ty>>),
    /// An array of the given element type; one leaf.
    Array(Arc<Ty>),
    /// A runtime closure type `a -> b`; one leaf.
    Fun(Arc<Ty>, Arc<Ty>),
    /// A union: index into [`Types::unions`]; one leaf. (Union nominals are always
    /// represented by this variant, never by [`Ty::Nominal`].)
    Union(u32),
    /// A nominal: index into [`Types::nominals`]; the leaves of its body.
    Nominal(u32),
    /// A layout type (`heap t` / `mut t`); one leaf, holding the leaves of `t`.
    Layout(LayoutKind, Arc<Ty>),
    /// A macro type `$"..."`; one leaf of a target-language type.
    Macro(Arc<[MacroPart]>),
    /// A nominal type constructor applied to fewer type arguments than it takes (declaration
    /// id, its name, the arguments so far): a type argument of a higher kind, such as `a` in
    /// `columns a i32 el`. It has no values (static; no leaves).
    Con(u32, Arc<str>, Arc<[Ty]>),
}

impl Ty {
    /// Pair constructor.
    pub fn pair(a: Ty, b: Ty) -> Ty {
        Ty::Pair(Arc::new(a), Arc::new(b))
    }
    /// `i32` shortcut.
    pub fn i32() -> Ty {
        Ty::Prim(PrimTy::I32)
    }
}

/// A union type's definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnionDef {
    /// A printable name (the nominal's name and type arguments), for readable output.
    pub name: String,
    /// The cases in tag order: the tag of case `i` is `i`. Each case has a name and the type of
    /// its payload, stored as the leaves of that type.
    pub cases: Vec<(Arc<str>, Ty)>,
    /// `true` for a heap (refcounted, possibly recursive) union, `false` for a stack union.
    pub heap: bool,
    /// The declaring nominal's id (evaluator-internal, for type tests).
    pub decl: u32,
    /// The type arguments it was instantiated with.
    pub args: Vec<Ty>,
}

/// An instantiated nominal type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NominalDef {
    /// The nominal's declared name.
    pub name: Arc<str>,
    /// Its type arguments.
    pub args: Vec<Ty>,
    /// Its body with the arguments substituted (for unions: `Ty::Union(..)`).
    pub body: Ty,
}

/// The type tables a [`Ty`] indexes into.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Types {
    /// Union definitions, indexed by [`Ty::Union`].
    pub unions: Vec<UnionDef>,
    /// Nominal instances, indexed by [`Ty::Nominal`].
    pub nominals: Vec<NominalDef>,
}

impl Types {
    /// The runtime leaf types of `ty`, in order (see the module docs).
    pub fn leaves(&self, ty: &Ty) -> Vec<Ty> {
        let mut out = Vec::new();
        self.push_leaves(ty, &mut out);
        out
    }
    /// Appends the runtime leaf types of `ty` to `out`.
    pub fn push_leaves(&self, ty: &Ty, out: &mut Vec<Ty>) {
        match ty {
            Ty::Unit | Ty::Symbol(_) | Ty::TypeLit(_) | Ty::Con(..) => {}
            Ty::Pair(a, b) => {
                self.push_leaves(a, out);
                self.push_leaves(b, out);
            }
            Ty::Record(m) => {
                for t in m.values() {
                    self.push_leaves(t, out);
                }
            }
            Ty::Nominal(i) => {
                if let Some(n) = self.nominals.get(*i as usize) {
                    let body = n.body.clone();
                    self.push_leaves(&body, out)
                }
            }
            Ty::Prim(_) | Ty::Array(_) | Ty::Fun(..) | Ty::Union(_) | Ty::Layout(..) | Ty::Macro(_) => {
                out.push(ty.clone())
            }
        }
    }
    /// A readable Spiral-like rendering of a type.
    pub fn show(&self, ty: &Ty) -> String {
        let mut s = String::new();
        self.show_into(ty, &mut s, 0);
        s
    }
    fn show_into(&self, ty: &Ty, s: &mut String, prec: u8) {
        match ty {
            Ty::Unit => s.push_str("()"),
            Ty::Prim(p) => s.push_str(p.name()),
            Ty::Symbol(x) => {
                s.push('.');
                s.push_str(x)
            }
            Ty::TypeLit(x) => {
                s.push('@');
                s.push_str(x)
            }
            Ty::Con(_, n, args) => {
                if prec > 2 && !args.is_empty() {
                    s.push('(');
                }
                s.push_str(n);
                for a in args.iter() {
                    s.push(' ');
                    self.show_into(a, s, 3);
                }
                if prec > 2 && !args.is_empty() {
                    s.push(')');
                }
            }
            Ty::Pair(a, b) => {
                if prec > 1 {
                    s.push('(');
                }
                self.show_into(a, s, 2);
                s.push_str(" * ");
                self.show_into(b, s, 1);
                if prec > 1 {
                    s.push(')');
                }
            }
            Ty::Record(m) => {
                s.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        s.push_str("; ");
                    }
                    s.push_str(k);
                    s.push_str(" : ");
                    self.show_into(v, s, 0);
                }
                s.push('}');
            }
            Ty::Array(t) => {
                s.push_str("array (");
                self.show_into(t, s, 0);
                s.push(')');
            }
            Ty::Fun(a, b) => {
                if prec > 0 {
                    s.push('(');
                }
                self.show_into(a, s, 1);
                s.push_str(" -> ");
                self.show_into(b, s, 0);
                if prec > 0 {
                    s.push(')');
                }
            }
            Ty::Union(i) => match self.unions.get(*i as usize) {
                Some(u) => s.push_str(&u.name),
                None => s.push_str(&format!("union#{i}")),
            },
            Ty::Nominal(i) => match self.nominals.get(*i as usize) {
                Some(n) => {
                    s.push_str(&n.name);
                    for a in &n.args {
                        s.push(' ');
                        self.show_into(a, s, 3);
                    }
                }
                None => s.push_str(&format!("nominal#{i}")),
            },
            Ty::Layout(k, t) => {
                s.push_str(match k {
                    LayoutKind::Heap => "heap (",
                    LayoutKind::Mut => "mut (",
                });
                self.show_into(t, s, 0);
                s.push(')');
            }
            Ty::Macro(parts) => {
                s.push_str("$\"");
                for p in parts.iter() {
                    match p {
                        MacroPart::Text(t) => s.push_str(t),
                        MacroPart::Atom(a) => s.push_str(&format!("!{a}")),
                        MacroPart::Type(t) => {
                            s.push('`');
                            self.show_into(t, s, 3)
                        }
                        MacroPart::TypeLit(t) => {
                            s.push('@');
                            s.push_str(t)
                        }
                    }
                }
                s.push('"');
            }
        }
    }
}

/// A runtime variable: a number unique within its function body, and a leaf type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Var {
    /// The variable's number.
    pub id: u32,
    /// Its leaf type.
    pub ty: Ty,
}

/// An operand: a variable or a literal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    /// A runtime variable.
    Var(Var),
    /// A literal.
    Lit(Lit),
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Var(v) => write!(f, "v{}", v.id),
            Atom::Lit(l) => write!(f, "{l}"),
        }
    }
}

/// A primitive operation. Operands are leaves of matching primitive types unless noted.
/// Integer arithmetic wraps (two's complement); integer division and remainder truncate
/// toward zero; shifts use the amount modulo the bit width. Comparisons return `bool`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrimOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
    /// `a % b`
    Rem,
    /// `a ** b` (floats)
    Pow,
    /// `-a`
    Neg,
    /// `a = b` (also on strings)
    Eq,
    /// `a <> b`
    Ne,
    /// `a < b`
    Lt,
    /// `a <= b`
    Le,
    /// `a > b`
    Gt,
    /// `a >= b`
    Ge,
    /// Boolean `not a`
    Not,
    /// Bitwise and `a &&& b`
    BitAnd,
    /// Bitwise or `a ||| b`
    BitOr,
    /// Bitwise xor `a ^^^ b`
    BitXor,
    /// Bitwise not `~~~a`
    BitNot,
    /// Shift left `a <<< b`
    Shl,
    /// Shift right `a >>> b` (arithmetic for signed types)
    Shr,
    /// Numeric conversion to the given primitive (as C casts do).
    Conv(PrimTy),
    /// A one-argument float function by name: `sqrt`, `log`, `exp`, `sin`, `cos`, `tan`,
    /// `tanh`, `abs`, `floor`, `ceil`, `round`.
    FloatFn(Arc<str>),
    /// `is_nan a` on floats.
    IsNan,
    /// String length (an `i32`... per the result variable's type).
    StringLength,
    /// `s.[i]`: the char at index `i`.
    StringIndex,
    /// `string_slice s from near_to`: a new string.
    StringSlice,
    /// String concatenation.
    StringConcat,
    /// Array length of an array operand (typed by the result variable).
    ArrayLength,
}

impl PrimOp {
    /// A short lower-case name used by the printer.
    pub fn name(&self) -> String {
        match self {
            PrimOp::Conv(t) => format!("conv<{}>", t.name()),
            PrimOp::FloatFn(n) => n.to_string(),
            other => {
                let s = format!("{other:?}");
                s.to_lowercase()
            }
        }
    }
}

/// An index into [`Program::methods`].
pub type MethodId = u32;
/// An index into [`Program::closures`].
pub type ClosureId = u32;
/// An index into [`Program::kernels`].
pub type KernelId = u32;

/// Something a statement evaluates. Each variant says what leaves it produces.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Copies atoms (produces them unchanged); used when a value is made dynamic (`dyn`).
    Atoms(Vec<Atom>),
    /// A primitive operation; produces one leaf.
    Prim(PrimOp, Vec<Atom>),
    /// A dynamic conditional; produces the leaves that both branch blocks return.
    If {
        /// A `bool` operand.
        cond: Atom,
        /// Taken when `cond` is true.
        then: Block,
        /// Taken when `cond` is false.
        els: Block,
    },
    /// A loop. `cond` is evaluated before each iteration and returns one `bool`; `body`
    /// returns nothing. Produces nothing.
    While {
        /// The loop condition.
        cond: Block,
        /// The loop body.
        body: Block,
    },
    /// A call of a join-point method; produces the method's return leaves.
    Call {
        /// The callee.
        method: MethodId,
        /// One atom per parameter.
        args: Vec<Atom>,
    },
    /// Builds a union value; produces one leaf of type `Ty::Union(union)`.
    Box {
        /// The union.
        union: u32,
        /// The case tag (index into [`UnionDef::cases`]).
        case: u32,
        /// The leaves of the case payload.
        args: Vec<Atom>,
    },
    /// Branches on the case of a union value; produces the leaves all arms return.
    Match {
        /// A variable of union type.
        scrut: Atom,
        /// The arms: each binds the leaves of its case payload. Tags not listed go to `default`.
        arms: Vec<MatchArm>,
        /// The arm for the other tags, if any are left.
        default: Option<Block>,
    },
    /// Allocates a layout (`heap`/`mut`) holding the given leaves; produces one leaf.
    LayoutNew {
        /// The layout type (a `Ty::Layout`).
        ty: Ty,
        /// Its field leaves.
        args: Vec<Atom>,
    },
    /// Reads leaf `field` of a layout value; produces one leaf.
    LayoutGet {
        /// The layout value.
        layout: Atom,
        /// Leaf index in the layout's contents.
        field: u32,
    },
    /// Writes leaf `field` of a `mut` layout; produces nothing.
    LayoutSet {
        /// The layout value.
        layout: Atom,
        /// Leaf index.
        field: u32,
        /// The new value.
        value: Atom,
    },
    /// Creates an array of `len` default-initialised (zeroed) elements; produces one leaf.
    ArrayNew {
        /// The array type (a `Ty::Array`).
        ty: Ty,
        /// The length (an integer).
        len: Atom,
    },
    /// An array literal; each element is given by its leaves. Produces one leaf.
    ArrayLit {
        /// The array type (a `Ty::Array`).
        ty: Ty,
        /// The elements, each as the leaves of the element type.
        elems: Vec<Vec<Atom>>,
    },
    /// Reads element `index`; produces the leaves of the element type.
    ArrayGet {
        /// The array.
        array: Atom,
        /// The index (an integer).
        index: Atom,
    },
    /// Writes element `index`; produces nothing.
    ArraySet {
        /// The array.
        array: Atom,
        /// The index.
        index: Atom,
        /// The leaves of the new element.
        value: Vec<Atom>,
    },
    /// Creates a runtime closure; produces one leaf of the closure's function type.
    ClosureNew {
        /// The closure definition.
        closure: ClosureId,
        /// Its captured runtime values, one per [`Closure::captured`] entry.
        captured: Vec<Atom>,
    },
    /// Calls a runtime closure; produces the leaves of its codomain.
    ClosureCall {
        /// The closure value (a `Ty::Fun` leaf).
        fun: Atom,
        /// The leaves of the argument.
        args: Vec<Atom>,
    },
    /// Inline target-language code (`$"..."`), producing the leaves of the annotated type:
    /// zero or one leaf, or several when the text binds them itself with `\v` (each `\v`
    /// in the text stands for the next variable of the statement, e.g. `` `i32 \v, \v ``
    /// declares two `i32`s; the backend then prints the text as the declaration).
    Macro(Vec<MacroPart>),
    /// Aborts the program with a message (a string atom); produces the leaves of the
    /// expected type, which the backend may fill with anything since it never returns.
    Failwith(Atom),
    /// On the host: fails with a length mismatch (`Error::LengthMismatch` in a `spiral!` export,
    /// a runtime error under `spiral run`) unless the two `i32` lengths are equal. Produces
    /// nothing.
    LengthCheck {
        /// The length required.
        expected: Atom,
        /// The length found.
        found: Atom,
        /// What was checked, e.g. `map_inp: the output`.
        what: Arc<str>,
    },
    /// Inside a kernel body: combines element `index` of the integer array `array` with
    /// `value` (`op`: add, min or max) as one atomic (relaxed) read-modify-write. Produces
    /// nothing.
    Atomic {
        /// How the element and the value are combined.
        op: AtomicOp,
        /// An array of one integer leaf (a kernel parameter).
        array: Atom,
        /// The element (an `i32`).
        index: Atom,
        /// The operand (the element type).
        value: Atom,
    },
    /// Inside a kernel body: `array[index] = value` where the kernel's index `c` owns the
    /// elements `c * len / chunks .. (c + 1) * len / chunks` of the array (`len` its length):
    /// the ranges of distinct indices are disjoint, so such writes never race. A write outside
    /// the own range fails at run time. Produces nothing.
    ChunkSet {
        /// An array of one primitive leaf (a kernel parameter).
        array: Atom,
        /// The element written (an `i32`).
        index: Atom,
        /// The value (the element type).
        value: Atom,
        /// How many chunks the array is split into (an `i32`, the same for every index).
        chunks: Atom,
    },
    /// Inside a kernel body: atomically (relaxed) sets element `index` of the integer array
    /// `array` to `desired` if it equals `expected`. Produces the element's previous value
    /// (the exchange happened when that equals `expected`).
    AtomicCas {
        /// An array of one integer leaf (a kernel parameter).
        array: Atom,
        /// The element (an `i32`).
        index: Atom,
        /// The value the element must hold.
        expected: Atom,
        /// The value to store.
        desired: Atom,
    },
    /// Inside a kernel body: the index the body runs for (one `i32` leaf). The kernel
    /// backend decides where it comes from (a CPU chunk loop, a grid-stride loop...).
    KernelIndex,
    /// On the host: runs kernel `kernel` (an index into [`Program::kernels`]) for every index
    /// in `0..len`, passing `args`, the leaves of the kernel's runtime free variables in the
    /// order of its `params`. Produces nothing.
    KernelLaunch {
        /// The kernel.
        kernel: u32,
        /// The number of indices (an `i32`); for a block launch (`blocks` is true), the
        /// number of blocks instead.
        len: Atom,
        /// One atom per kernel parameter.
        args: Vec<Atom>,
        /// A block launch of a GPU kernel (`parallel_blocks`): `len` blocks of threads that
        /// cooperate through [`GpuOp`]s, every thread running the body exactly once, with the
        /// block size chosen by the device at run time (a multiple of 32). Otherwise a launch
        /// over `0..len` indices.
        blocks: bool,
    },
    /// Inside a GPU kernel launched by blocks: an operation of the block's threads (see
    /// [`GpuOp`]); `args` are its operands.
    Gpu {
        /// The operation.
        op: GpuOp,
        /// Its operands (only the shuffles have any: the value and the lane offset).
        args: Vec<Atom>,
    },
}

/// A block-level operation of a GPU kernel ([`Expr::Gpu`]), under the library's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GpuOp {
    /// `thread_index ()`: the thread's index in its block (`threadIdx.x`), an `i32`.
    ThreadIndex,
    /// `block_index ()`: the block's index in the grid (`blockIdx.x`), an `i32`.
    BlockIndex,
    /// `threads_per_block ()`: the threads of a block (`blockDim.x`), an `i32`.
    ThreadsPerBlock,
    /// `syncthreads ()`: a barrier across the threads of the block (`__syncthreads()`);
    /// produces nothing.
    SyncThreads,
    /// `shuffle_down x delta`: the value `x` of the lane `delta` above this one in the warp
    /// (this lane's own `x` past the warp's end); every lane of the warp must call it
    /// (`__shfl_down_sync` over the full warp). One primitive leaf.
    ShuffleDown,
    /// `shuffle_up x delta`: the value `x` of the lane `delta` below this one in the warp (this
    /// lane's own `x` below lane 0); every lane of the warp must call it (`__shfl_up_sync`).
    ShuffleUp,
    /// `shared_array`: an array of `len` elements in the block's shared memory
    /// (`__shared__`), of the statement's array type; uninitialised. Accesses to it are
    /// ordered by `syncthreads`, not by the race check.
    SharedArray {
        /// The number of elements (static).
        len: u32,
    },
    /// `tasklet_array` (UPMEM tasklet kernels): an array of `len` elements in WRAM private to
    /// each tasklet (one buffer per tasklet, 8-byte aligned for DMA), of the statement's array
    /// type; uninitialised.
    TaskletArray {
        /// The number of elements (static).
        len: u32,
    },
    /// `mram_read mram from n wram` (UPMEM tasklet kernels): copies elements `from .. from + n`
    /// of the MRAM array leaf `args[0]` into elements `0 .. n` of the WRAM array `args[3]` with
    /// `mram_read` (one DMA; the library keeps it within 2048 bytes and `from` a multiple of 8
    /// elements). Produces nothing.
    MramRead,
    /// `mram_write wram mram from n` (UPMEM tasklet kernels): copies elements `0 .. n` of the
    /// WRAM array `args[0]` into elements `from .. from + n` of the MRAM array leaf `args[1]`
    /// with `mram_write` (args: wram, mram, from, n). Produces nothing.
    MramWrite,
    /// `upmem_dpus ()` (host code of an UPMEM compilation): the number of DPUs of the device
    /// the export runs on, an `i32`.
    Dpus,
}

impl GpuOp {
    /// The library function that produces the operation (for messages).
    pub fn name(self) -> &'static str {
        match self {
            GpuOp::ThreadIndex => "thread_index",
            GpuOp::BlockIndex => "block_index",
            GpuOp::ThreadsPerBlock => "threads_per_block",
            GpuOp::SyncThreads => "syncthreads",
            GpuOp::ShuffleDown => "shuffle_down",
            GpuOp::ShuffleUp => "shuffle_up",
            GpuOp::SharedArray { .. } => "shared_array",
            GpuOp::TaskletArray { .. } => "tasklet_array",
            GpuOp::MramRead => "mram_read",
            GpuOp::MramWrite => "mram_write",
            GpuOp::Dpus => "upmem_dpus",
        }
    }

    /// The kernel backends the operation exists in: the CUDA ones on GPUs, the tasklet ones on
    /// UPMEM DPUs, the common block operations on both (`thread_index` is a tasklet's `me()`,
    /// `block_index` its DPU, `syncthreads` `barrier_wait`, `shared_array` WRAM shared by the
    /// DPU's tasklets).
    pub fn backends(self) -> &'static [&'static str] {
        use crate::codegen::{CUDA_KERNEL_BACKEND as CUDA, UPMEM_KERNEL_BACKEND as UPMEM};
        match self {
            GpuOp::ShuffleDown | GpuOp::ShuffleUp => &[CUDA],
            GpuOp::TaskletArray { .. } | GpuOp::MramRead | GpuOp::MramWrite => &[UPMEM],
            GpuOp::Dpus => &[],
            _ => &[CUDA, UPMEM],
        }
    }
}

impl Expr {
    /// Calls `f` with every atom the expression reads itself, in order, not those inside its
    /// nested blocks (see [`Expr::nested_blocks`]). Every traversal of the IR goes through
    /// these two functions, which match every variant: a new node cannot be skipped silently.
    pub fn for_each_atom<'a>(&'a self, f: &mut dyn FnMut(&'a Atom)) {
        match self {
            Expr::Atoms(xs) | Expr::Prim(_, xs) => xs.iter().for_each(f),
            Expr::If { cond, .. } => f(cond),
            Expr::While { .. } => {}
            Expr::Call { args, .. } | Expr::Box { args, .. } | Expr::LayoutNew { args, .. } => args.iter().for_each(f),
            Expr::Match { scrut, .. } => f(scrut),
            Expr::LayoutGet { layout, .. } => f(layout),
            Expr::LayoutSet { layout, value, .. } => {
                f(layout);
                f(value);
            }
            Expr::ArrayNew { len, .. } => f(len),
            Expr::ArrayLit { elems, .. } => elems.iter().flatten().for_each(f),
            Expr::ArrayGet { array, index } => {
                f(array);
                f(index);
            }
            Expr::ArraySet { array, index, value } => {
                f(array);
                f(index);
                value.iter().for_each(f);
            }
            Expr::ClosureNew { captured, .. } => captured.iter().for_each(f),
            Expr::ClosureCall { fun, args } => {
                f(fun);
                args.iter().for_each(f);
            }
            Expr::Macro(parts) => {
                for p in parts {
                    if let MacroPart::Atom(a) = p {
                        f(a);
                    }
                }
            }
            Expr::Failwith(m) => f(m),
            Expr::KernelIndex => {}
            Expr::KernelLaunch { len, args, .. } => {
                f(len);
                args.iter().for_each(f);
            }
            Expr::Gpu { args, .. } => args.iter().for_each(f),
            Expr::Atomic { array, index, value, .. } => {
                f(array);
                f(index);
                f(value);
            }
            Expr::ChunkSet { array, index, value, chunks } => {
                f(array);
                f(index);
                f(value);
                f(chunks);
            }
            Expr::AtomicCas { array, index, expected, desired } => {
                f(array);
                f(index);
                f(expected);
                f(desired);
            }
            Expr::LengthCheck { expected, found, .. } => {
                f(expected);
                f(found);
            }
        }
    }

    /// The atoms [`Expr::for_each_atom`] visits, collected.
    pub fn atoms(&self) -> Vec<&Atom> {
        let mut v = Vec::new();
        self.for_each_atom(&mut |a| v.push(a));
        v
    }

    /// The blocks nested in the expression (branches, loop parts, match arms).
    pub fn nested_blocks(&self) -> Vec<&Block> {
        match self {
            Expr::If { then, els, .. } => vec![then, els],
            Expr::While { cond, body } => vec![cond, body],
            Expr::Match { arms, default, .. } => arms.iter().map(|a| &a.body).chain(default.iter()).collect(),
            Expr::Atoms(_)
            | Expr::Prim(..)
            | Expr::Call { .. }
            | Expr::Box { .. }
            | Expr::LayoutNew { .. }
            | Expr::LayoutGet { .. }
            | Expr::LayoutSet { .. }
            | Expr::ArrayNew { .. }
            | Expr::ArrayLit { .. }
            | Expr::ArrayGet { .. }
            | Expr::ArraySet { .. }
            | Expr::ClosureNew { .. }
            | Expr::ClosureCall { .. }
            | Expr::Macro(_)
            | Expr::Failwith(_)
            | Expr::KernelIndex
            | Expr::KernelLaunch { .. }
            | Expr::Gpu { .. }
            | Expr::Atomic { .. }
            | Expr::AtomicCas { .. }
            | Expr::ChunkSet { .. }
            | Expr::LengthCheck { .. } => Vec::new(),
        }
    }
}

/// One arm of [`Expr::Match`].
#[derive(Clone, Debug, PartialEq)]
pub struct MatchArm {
    /// The case tag.
    pub case: u32,
    /// Variables bound to the leaves of the case payload.
    pub vars: Vec<Var>,
    /// The arm's code.
    pub body: Block,
}

/// One statement: binds `vars` (possibly none) to the leaves produced by `expr`.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// Fresh variables, one per produced leaf.
    pub vars: Vec<Var>,
    /// The computation.
    pub expr: Expr,
    /// The Spiral expression it came from (`Span::default()` for statements built by hand), so
    /// that a backend that cannot print it reports the Spiral line.
    pub span: crate::diagnostics::Span,
}

impl Stmt {
    /// A statement with no source position.
    pub fn new(vars: Vec<Var>, expr: Expr) -> Stmt {
        Stmt { vars, expr, span: crate::diagnostics::Span::default() }
    }
}

/// A sequence of statements and the leaves it returns.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Block {
    /// Statements in execution order.
    pub stmts: Vec<Stmt>,
    /// The result leaves.
    pub result: Vec<Atom>,
}

/// A join-point method: one specialisation of a `join`/`let` body for one static key.
#[derive(Clone, Debug, PartialEq)]
pub struct Method {
    /// A readable name hint (the `let` name, or `method`); backends append the id.
    pub name: Arc<str>,
    /// The backend whose code it is: the host target's name (`C`, `Rust`) or, for a join point
    /// inside a kernel, the kernel's backend (`CpuKernel`).
    pub backend: Arc<str>,
    /// The runtime parameters.
    pub params: Vec<Var>,
    /// The return leaf types.
    pub ret: Vec<Ty>,
    /// The body.
    pub body: Block,
}

/// A closure converted to a runtime value against a function type.
#[derive(Clone, Debug, PartialEq)]
pub struct Closure {
    /// The function type (`Ty::Fun`).
    pub ty: Ty,
    /// The captured variables (bound inside the body; supplied by [`Expr::ClosureNew`]).
    pub captured: Vec<Var>,
    /// The argument leaves.
    pub params: Vec<Var>,
    /// The return leaf types.
    pub ret: Vec<Ty>,
    /// The body.
    pub body: Block,
}

/// A kernel: a join point specialised for another backend via `join_backend`. The host side
/// receives the pair `(kernel id : i32, tuple of the runtime arguments)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    /// The backend name given to `join_backend` (e.g. `Cuda`, `UPMEM_C_Kernel`).
    pub backend: Arc<str>,
    /// The runtime parameters (the host passes them in this order).
    pub params: Vec<Var>,
    /// The return leaf types.
    pub ret: Vec<Ty>,
    /// The body.
    pub body: Block,
    /// The `join_backend` it came from (the user's call when that is inside the library):
    /// where a printer that cannot print the kernel reports it.
    pub span: crate::diagnostics::Span,
}

impl Kernel {
    /// Whether the body uses the GPU block operations ([`Expr::Gpu`]): a block kernel, launched
    /// with one pass per thread (`parallel_blocks`; on UPMEM `parallel_tasklets`, one pass per
    /// tasklet).
    pub fn is_block_kernel(&self) -> bool {
        fn uses(b: &Block) -> bool {
            b.stmts.iter().any(|st| matches!(st.expr, Expr::Gpu { .. }) || st.expr.nested_blocks().into_iter().any(uses))
        }
        uses(&self.body)
    }
}

/// A whole residual program.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Program {
    /// Type tables.
    pub types: Types,
    /// `global` lines, in first-use order, deduplicated.
    pub globals: Vec<Arc<str>>,
    /// Join-point methods, in creation order.
    pub methods: Vec<Method>,
    /// Closures, in creation order.
    pub closures: Vec<Closure>,
    /// Kernels, in creation order.
    pub kernels: Vec<Kernel>,
    /// The `main` body: the leaves of what `main ()` returns (for an executable: nothing for
    /// unit, or one `i32` leaf, the exit code).
    pub main: Block,
    /// The return leaf types of `main`.
    pub main_ret: Vec<Ty>,
    /// Lines printed at compile time by `print_static`, in evaluation order.
    pub compile_log: Vec<String>,
}

struct Printer<'a> {
    types: &'a Types,
    out: String,
}

impl Printer<'_> {
    fn line(&mut self, indent: usize, s: &str) {
        for _ in 0..indent {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }
    fn atoms(xs: &[Atom]) -> String {
        xs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
    }
    fn vars(&self, xs: &[Var]) -> String {
        xs.iter().map(|v| format!("v{} : {}", v.id, self.types.show(&v.ty))).collect::<Vec<_>>().join(", ")
    }
    fn macro_parts(&self, parts: &[MacroPart]) -> String {
        let mut s = String::from("$\"");
        for p in parts {
            match p {
                MacroPart::Text(t) => s.push_str(&t.replace('\\', "\\\\").replace('"', "\\\"")),
                MacroPart::Atom(a) => s.push_str(&format!("!{a}")),
                MacroPart::Type(t) => s.push_str(&format!("`({})", self.types.show(t))),
                MacroPart::TypeLit(t) => s.push_str(&format!("@{t}")),
            }
        }
        s.push('"');
        s
    }
    fn block(&mut self, indent: usize, b: &Block) {
        for st in &b.stmts {
            self.stmt(indent, st);
        }
        let r = format!("return ({})", Self::atoms(&b.result));
        self.line(indent, &r);
    }
    fn stmt(&mut self, indent: usize, st: &Stmt) {
        let lhs = if st.vars.is_empty() { String::new() } else { format!("let {} = ", self.vars(&st.vars)) };
        match &st.expr {
            Expr::Atoms(xs) => self.line(indent, &format!("{lhs}({})", Self::atoms(xs))),
            Expr::Prim(op, xs) => self.line(indent, &format!("{lhs}{}({})", op.name(), Self::atoms(xs))),
            Expr::If { cond, then, els } => {
                self.line(indent, &format!("{lhs}if {cond} then"));
                self.block(indent + 1, then);
                self.line(indent, "else");
                self.block(indent + 1, els);
            }
            Expr::While { cond, body } => {
                self.line(indent, &format!("{lhs}while"));
                self.block(indent + 1, cond);
                self.line(indent, "do");
                self.block(indent + 1, body);
            }
            Expr::Call { method, args } => {
                self.line(indent, &format!("{lhs}call method{method}({})", Self::atoms(args)))
            }
            Expr::Box { union, case, args } => {
                let name = self
                    .types
                    .unions
                    .get(*union as usize)
                    .and_then(|u| u.cases.get(*case as usize))
                    .map(|c| c.0.to_string())
                    .unwrap_or_default();
                self.line(indent, &format!("{lhs}box union#{union}.{case}{name}({})", Self::atoms(args)))
            }
            Expr::Match { scrut, arms, default } => {
                self.line(indent, &format!("{lhs}match {scrut} with"));
                for arm in arms {
                    self.line(indent, &format!("| case {} ({}) =>", arm.case, self.vars(&arm.vars)));
                    self.block(indent + 1, &arm.body);
                }
                if let Some(d) = default {
                    self.line(indent, "| _ =>");
                    self.block(indent + 1, d);
                }
            }
            Expr::LayoutNew { ty, args } => {
                self.line(indent, &format!("{lhs}layout_new<{}>({})", self.types.show(ty), Self::atoms(args)))
            }
            Expr::LayoutGet { layout, field } => self.line(indent, &format!("{lhs}{layout}.[{field}]")),
            Expr::LayoutSet { layout, field, value } => {
                self.line(indent, &format!("{lhs}{layout}.[{field}] <- {value}"))
            }
            Expr::ArrayNew { ty, len } => {
                self.line(indent, &format!("{lhs}array_new<{}>({len})", self.types.show(ty)))
            }
            Expr::ArrayLit { ty, elems } => {
                let es: Vec<String> = elems.iter().map(|e| format!("({})", Self::atoms(e))).collect();
                self.line(indent, &format!("{lhs}array_lit<{}>[{}]", self.types.show(ty), es.join("; ")))
            }
            Expr::ArrayGet { array, index } => self.line(indent, &format!("{lhs}{array}[{index}]")),
            Expr::ArraySet { array, index, value } => {
                self.line(indent, &format!("{lhs}{array}[{index}] <- ({})", Self::atoms(value)))
            }
            Expr::ClosureNew { closure, captured } => {
                self.line(indent, &format!("{lhs}closure{closure}({})", Self::atoms(captured)))
            }
            Expr::ClosureCall { fun, args } => self.line(indent, &format!("{lhs}{fun}({})", Self::atoms(args))),
            Expr::Macro(parts) => {
                let m = self.macro_parts(parts);
                self.line(indent, &format!("{lhs}{m}"))
            }
            Expr::Failwith(msg) => self.line(indent, &format!("{lhs}failwith {msg}")),
            Expr::KernelIndex => self.line(indent, &format!("{lhs}kernel_index")),
            Expr::Atomic { op, array, index, value } => self.line(indent, &format!("{lhs}atomic_{} {array}[{index}] {value}", op.name())),
            Expr::ChunkSet { array, index, value, chunks } => self.line(indent, &format!("{lhs}chunk_set {array}[{index}] {value} (chunks {chunks})")),
            Expr::AtomicCas { array, index, expected, desired } => self.line(indent, &format!("{lhs}atomic_cas {array}[{index}] {expected} {desired}")),
            Expr::LengthCheck { expected, found, what } => self.line(indent, &format!("{lhs}length_check {expected} {found} {what:?}")),
            Expr::KernelLaunch { kernel, len, args, blocks } => {
                let what = if *blocks { " blocks" } else { "" };
                self.line(indent, &format!("{lhs}launch kernel{kernel} {len}{what} ({})", Self::atoms(args)))
            }
            Expr::Gpu { op, args } => self.line(indent, &format!("{lhs}gpu.{op:?} ({})", Self::atoms(args))),
        }
    }
    fn tys(&self, ts: &[Ty]) -> String {
        ts.iter().map(|t| self.types.show(t)).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = Printer { types: &self.types, out: String::new() };
        for (i, u) in self.types.unions.iter().enumerate() {
            let cases: Vec<String> =
                u.cases.iter().map(|(n, t)| format!("{n} : {}", self.types.show(t))).collect();
            p.line(0, &format!("union#{i} {}{} = {}", if u.heap { "heap " } else { "" }, u.name, cases.join(" | ")));
        }
        for g in &self.globals {
            p.line(0, &format!("global {g:?}"));
        }
        for (i, m) in self.methods.iter().enumerate() {
            let params = p.vars(&m.params);
            let ret = p.tys(&m.ret);
            p.line(0, &format!("method{i} {}({params}) : ({ret}) =", m.name));
            p.block(1, &m.body);
        }
        for (i, c) in self.closures.iter().enumerate() {
            let cap = p.vars(&c.captured);
            let params = p.vars(&c.params);
            let ret = p.tys(&c.ret);
            let ty = self.types.show(&c.ty);
            p.line(0, &format!("closure{i} [{cap}] ({params}) : ({ret}) as {ty} ="));
            p.block(1, &c.body);
        }
        for (i, k) in self.kernels.iter().enumerate() {
            let params = p.vars(&k.params);
            let ret = p.tys(&k.ret);
            p.line(0, &format!("kernel{i} backend {} ({params}) : ({ret}) =", k.backend));
            p.block(1, &k.body);
        }
        let ret = p.tys(&self.main_ret);
        p.line(0, &format!("main : ({ret}) ="));
        p.block(1, &self.main);
        f.write_str(&p.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_flatten_pairs_records_and_skip_static_parts() {
        let types = Types::default();
        let mut rec = BTreeMap::new();
        rec.insert(Arc::from("b"), Ty::Prim(PrimTy::F64));
        rec.insert(Arc::from("a"), Ty::Symbol("x".into()));
        let t = Ty::pair(Ty::i32(), Ty::pair(Ty::Record(Arc::new(rec)), Ty::Unit));
        assert_eq!(types.leaves(&t), vec![Ty::i32(), Ty::Prim(PrimTy::F64)]);
    }

    #[test]
    fn float_literals_compare_by_bits() {
        assert_eq!(Lit::F64(f64::NAN), Lit::F64(f64::NAN));
        assert_ne!(Lit::F64(0.0), Lit::F64(-0.0));
        assert_eq!(format_float(12.0), "12.0");
        assert_eq!(format_float(2.5), "2.5");
    }

    #[test]
    fn program_prints() {
        let v0 = Var { id: 0, ty: Ty::i32() };
        let prog = Program {
            main: Block {
                stmts: vec![Stmt::new(vec![v0.clone()], Expr::Prim(PrimOp::Add, vec![Atom::Lit(Lit::I32(1)), Atom::Lit(Lit::I32(2))]))],
                result: vec![Atom::Var(v0)],
            },
            main_ret: vec![Ty::i32()],
            ..Program::default()
        };
        assert_eq!(prog.to_string(), "main : (i32) =\n    let v0 : i32 = add(1i32, 2i32)\n    return (v0)\n");
    }
}

/// Consistency checks of a residual program, for tests and backend authors: every variable is
/// bound before it is used (in its body, in an enclosing block), statements bind as many
/// variables as their expression produces leaves, branch results agree with the variables
/// they bind, and calls match their callee's parameters.
impl Program {
    /// The problems found, empty when the program is consistent.
    pub fn validate(&self) -> Vec<String> {
        let mut v = Validator { p: self, errors: Vec::new(), scopes: Vec::new(), what: String::new() };
        for (i, m) in self.methods.iter().enumerate() {
            v.what = format!("method{i}");
            v.body(&m.params, &m.body, &m.ret);
        }
        for (i, c) in self.closures.iter().enumerate() {
            v.what = format!("closure{i}");
            let mut bound = c.captured.clone();
            bound.extend(c.params.iter().cloned());
            v.body(&bound, &c.body, &c.ret);
        }
        for (i, k) in self.kernels.iter().enumerate() {
            v.what = format!("kernel{i}");
            v.body(&k.params, &k.body, &k.ret);
        }
        v.what = "main".into();
        v.body(&[], &self.main, &self.main_ret);
        v.errors
    }
}

struct Validator<'a> {
    p: &'a Program,
    errors: Vec<String>,
    scopes: Vec<Vec<(u32, Ty)>>,
    what: String,
}

impl Validator<'_> {
    fn err(&mut self, msg: String) {
        let w = self.what.clone();
        self.errors.push(format!("{w}: {msg}"));
    }
    fn bind(&mut self, vars: &[Var]) {
        let top = self.scopes.last_mut().expect("scope");
        for x in vars {
            top.push((x.id, x.ty.clone()));
        }
    }
    fn atom_ty(&mut self, a: &Atom) -> Option<Ty> {
        match a {
            Atom::Lit(l) => Some(Ty::Prim(l.ty())),
            Atom::Var(x) => {
                let found = self.scopes.iter().rev().flat_map(|s| s.iter().rev()).find(|(id, _)| *id == x.id).map(|(_, t)| t.clone());
                match found {
                    None => {
                        self.err(format!("v{} is used but not bound", x.id));
                        None
                    }
                    Some(t) if t != x.ty => {
                        self.err(format!("v{} is used with another type than it was bound with", x.id));
                        None
                    }
                    Some(t) => Some(t),
                }
            }
        }
    }
    fn atoms(&mut self, xs: &[Atom]) -> Vec<Option<Ty>> {
        xs.iter().map(|a| self.atom_ty(a)).collect()
    }
    fn body(&mut self, params: &[Var], b: &Block, ret: &[Ty]) {
        self.scopes.clear();
        self.scopes.push(Vec::new());
        self.bind(params);
        let got = self.block(b);
        self.check_result(&got, ret, "the body's result");
    }
    fn check_result(&mut self, got: &[Option<Ty>], want: &[Ty], what: &str) {
        if got.len() != want.len() {
            self.err(format!("{what} has {} leaves, expected {}", got.len(), want.len()));
            return;
        }
        for (g, w) in got.iter().zip(want) {
            if let Some(g) = g {
                if g != w {
                    let (a, b) = (self.p.types.show(g), self.p.types.show(w));
                    self.err(format!("{what} has a leaf of type {a}, expected {b}"));
                }
            }
        }
    }
    /// Checks a nested block in its own scope and returns the types of its result.
    fn block(&mut self, b: &Block) -> Vec<Option<Ty>> {
        self.scopes.push(Vec::new());
        for st in &b.stmts {
            self.stmt(st);
        }
        let r = self.atoms(&b.result);
        self.scopes.pop();
        r
    }
    fn stmt(&mut self, st: &Stmt) {
        let want: Vec<Ty> = st.vars.iter().map(|v| v.ty.clone()).collect();
        let types = &self.p.types;
        match &st.expr {
            Expr::Atoms(xs) => {
                let got = self.atoms(xs);
                self.check_result(&got, &want, "a copy");
            }
            Expr::Prim(_, xs) => {
                self.atoms(xs);
                if st.vars.len() != 1 {
                    self.err("a primitive operation binds one variable".into());
                }
            }
            Expr::If { cond, then, els } => {
                if let Some(t) = self.atom_ty(cond) {
                    if t != Ty::Prim(PrimTy::Bool) {
                        self.err("an if condition is not a bool".into());
                    }
                }
                let a = self.block(then);
                self.check_result(&a, &want, "an if branch");
                let b = self.block(els);
                self.check_result(&b, &want, "an else branch");
            }
            Expr::While { cond, body } => {
                let c = self.block(cond);
                self.check_result(&c, &[Ty::Prim(PrimTy::Bool)], "a loop condition");
                let b = self.block(body);
                self.check_result(&b, &[], "a loop body");
            }
            Expr::Call { method, args } => {
                let got = self.atoms(args);
                match self.p.methods.get(*method as usize) {
                    Some(m) => {
                        let (params, ret): (Vec<Ty>, Vec<Ty>) = (m.params.iter().map(|v| v.ty.clone()).collect(), m.ret.clone());
                        self.check_result(&got, &params, "a call's arguments");
                        let r: Vec<Option<Ty>> = ret.into_iter().map(Some).collect();
                        self.check_result(&r, &want, "a call's result");
                    }
                    None => self.err(format!("call of a missing method{method}")),
                }
            }
            Expr::Box { union, case, args } => {
                let got = self.atoms(args);
                match types.unions.get(*union as usize).and_then(|u| u.cases.get(*case as usize)) {
                    Some((_, t)) => {
                        let leaves = types.leaves(t);
                        self.check_result(&got, &leaves, "a box payload");
                    }
                    None => self.err(format!("box of a missing union case {union}.{case}")),
                }
            }
            Expr::Match { scrut, arms, default } => {
                let st_ty = self.atom_ty(scrut);
                let cases = match st_ty {
                    Some(Ty::Union(u)) => types.unions.get(u as usize).map(|d| d.cases.clone()),
                    _ => None,
                };
                for arm in arms {
                    self.scopes.push(Vec::new());
                    self.bind(&arm.vars);
                    if let Some(cs) = &cases {
                        match cs.get(arm.case as usize) {
                            Some((_, t)) => {
                                let leaves = self.p.types.leaves(t);
                                let got: Vec<Option<Ty>> = arm.vars.iter().map(|v| Some(v.ty.clone())).collect();
                                self.check_result(&got, &leaves, "a match arm's payload");
                            }
                            None => self.err("a match arm for a missing case".into()),
                        }
                    }
                    let r = self.block(&arm.body);
                    self.scopes.pop();
                    self.check_result(&r, &want, "a match arm");
                }
                if let Some(d) = default {
                    let r = self.block(d);
                    self.check_result(&r, &want, "a match default");
                }
            }
            Expr::LayoutNew { args, .. } => {
                self.atoms(args);
            }
            Expr::LayoutGet { layout, .. } => {
                self.atom_ty(layout);
            }
            Expr::LayoutSet { layout, value, .. } => {
                self.atom_ty(layout);
                self.atom_ty(value);
            }
            Expr::ArrayNew { len, .. } => {
                self.atom_ty(len);
            }
            Expr::ArrayLit { elems, .. } => {
                for e in elems {
                    self.atoms(e);
                }
            }
            Expr::ArrayGet { array, index } => {
                self.atom_ty(array);
                self.atom_ty(index);
            }
            Expr::ArraySet { array, index, value } => {
                self.atom_ty(array);
                self.atom_ty(index);
                self.atoms(value);
            }
            Expr::ClosureNew { closure, captured } => {
                let got = self.atoms(captured);
                match self.p.closures.get(*closure as usize) {
                    Some(c) => {
                        let caps: Vec<Ty> = c.captured.iter().map(|v| v.ty.clone()).collect();
                        self.check_result(&got, &caps, "a closure's captured values");
                    }
                    None => self.err(format!("creation of a missing closure{closure}")),
                }
            }
            Expr::ClosureCall { fun, args } => {
                self.atom_ty(fun);
                self.atoms(args);
            }
            Expr::Macro(parts) => {
                for p in parts {
                    if let MacroPart::Atom(a) = p {
                        self.atom_ty(a);
                    }
                }
            }
            Expr::Failwith(msg) => {
                self.atom_ty(msg);
            }
            Expr::KernelIndex => {}
            Expr::Atomic { array, index, value, .. } => {
                self.atom_ty(array);
                self.atom_ty(index);
                self.atom_ty(value);
            }
            Expr::ChunkSet { array, index, value, chunks } => {
                self.atom_ty(array);
                self.atom_ty(index);
                self.atom_ty(value);
                self.atom_ty(chunks);
            }
            Expr::AtomicCas { array, index, expected, desired } => {
                self.atom_ty(array);
                self.atom_ty(index);
                self.atom_ty(expected);
                self.atom_ty(desired);
            }
            Expr::LengthCheck { expected, found, .. } => {
                self.atom_ty(expected);
                self.atom_ty(found);
            }
            Expr::KernelLaunch { len, args, .. } => {
                self.atom_ty(len);
                for a in args {
                    self.atom_ty(a);
                }
            }
            Expr::Gpu { args, .. } => {
                for a in args {
                    self.atom_ty(a);
                }
            }
        }
        self.bind(&st.vars);
    }
}

#[cfg(test)]
mod validate_tests {
    use super::*;

    #[test]
    fn unbound_variables_and_wrong_arity_are_reported() {
        let v0 = Var { id: 0, ty: Ty::i32() };
        let v1 = Var { id: 1, ty: Ty::i32() };
        let prog = Program {
            main: Block {
                stmts: vec![Stmt::new(vec![v1.clone()], Expr::Prim(PrimOp::Add, vec![Atom::Var(v0), Atom::Lit(Lit::I32(1))]))],
                result: vec![Atom::Var(v1)],
            },
            main_ret: vec![Ty::i32(), Ty::i32()],
            ..Program::default()
        };
        let problems = prog.validate();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("v0 is used but not bound"));
        assert!(problems[1].contains("1 leaves, expected 2"));
    }
}

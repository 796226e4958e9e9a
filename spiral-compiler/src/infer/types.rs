//! The type representation of the inference stage: kinds, constraints, rigid type variables,
//! metavariables (by id, solved in [`super::unify::Ctx`]), types and type schemes, and the
//! printer that shows them in Spiral syntax.
//!
//! Types are immutable trees shared through [`Arc`] (so results can cross threads); a metavariable is a leaf [`Ty::Meta`] whose
//! solution lives in the unifier's table, so solving one never rebuilds a tree. A type scheme
//! is an ordinary type that starts with [`Ty::Forall`] binders.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

/// A shared type.
pub type T = Arc<Ty>;

/// The kind of a type: `*` or a type function `k1 -> k2`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `*`, the kind of the types of values.
    Star,
    /// `k1 -> k2`, e.g. `* -> *` for `list`.
    Fun(Arc<Kind>, Arc<Kind>),
}

impl Kind {
    /// The kind `* -> * -> ... -> *` with `n` arrows.
    pub fn arity(n: usize) -> Kind {
        (0..n).fold(Kind::Star, |k, _| Kind::Fun(Arc::new(Kind::Star), Arc::new(k)))
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kind::Star => f.write_str("*"),
            Kind::Fun(a, b) => match **a {
                Kind::Fun(..) => write!(f, "({a}) -> {b}"),
                Kind::Star => write!(f, "{a} -> {b}"),
            },
        }
    }
}

/// A primitive type: the evaluator's one list of primitives (`i8` ... `f64`, `bool`, `string`,
/// `char`), shared so the two stages cannot disagree on which exist or how they are named.
pub use crate::peval::ir::PrimTy as Prim;

/// Identifies a prototype (type class) declared with `prototype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtoId(pub u32);

/// A constraint on a type variable or metavariable, written `{number; int}` in a `forall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Constraint {
    /// `uint`: an unsigned integer.
    Uint,
    /// `sint`: a signed integer.
    Sint,
    /// `int`: any integer.
    Int,
    /// `float`: `f32` or `f64`.
    Float,
    /// `number`: any integer or float.
    Number,
    /// `prim`: any primitive, `bool`, `string` and `char` included.
    Prim,
    /// `record`: any record type.
    Record,
    /// `symbol`: any symbol type.
    Symbol,
    /// A prototype: the type (a nominal, possibly applied) must have an instance.
    Proto(ProtoId),
}

impl Constraint {
    /// The built-in constraint named `n`.
    pub fn builtin(n: &str) -> Option<Constraint> {
        Some(match n {
            "uint" => Constraint::Uint,
            "sint" => Constraint::Sint,
            "int" => Constraint::Int,
            "float" => Constraint::Float,
            "number" => Constraint::Number,
            "prim" => Constraint::Prim,
            "record" => Constraint::Record,
            "symbol" => Constraint::Symbol,
            _ => return None,
        })
    }
    /// The name of a built-in constraint (`None` for prototypes, whose names live in the
    /// checker's tables).
    pub fn builtin_name(self) -> Option<&'static str> {
        Some(match self {
            Constraint::Uint => "uint",
            Constraint::Sint => "sint",
            Constraint::Int => "int",
            Constraint::Float => "float",
            Constraint::Number => "number",
            Constraint::Prim => "prim",
            Constraint::Record => "record",
            Constraint::Symbol => "symbol",
            Constraint::Proto(_) => return None,
        })
    }
    /// Whether the primitive `p` satisfies this built-in constraint.
    pub fn admits_prim(self, p: Prim) -> bool {
        match self {
            Constraint::Uint => p.is_int() && !p.is_signed_int(),
            Constraint::Sint => p.is_signed_int(),
            Constraint::Int => p.is_int(),
            Constraint::Float => p.is_float(),
            Constraint::Number => p.is_int() || p.is_float(),
            Constraint::Prim => true,
            _ => false,
        }
    }
}

/// A set of constraints.
pub type CSet = BTreeSet<Constraint>;

/// A rigid type variable: a `forall` binder, a nominal's parameter, or a variable made by
/// generalisation (`'a`). Compared by `id`.
#[derive(Debug)]
pub struct TyVar {
    /// Unique within one inference session.
    pub id: u32,
    /// The name it prints as (`a` for written binders, `'a` for generalised ones).
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// What the types it stands for must satisfy.
    pub cons: CSet,
    /// The let-nesting level it was bound at (metavariables of a lower level must not be
    /// solved to types mentioning it).
    pub level: u32,
}

impl PartialEq for TyVar {
    fn eq(&self, o: &TyVar) -> bool {
        self.id == o.id
    }
}

/// Identifies a nominal (`nominal` or `union` declaration) within one inference session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NominalId(pub u32);

/// Identifies a metavariable in the unifier's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetaId(pub u32);

/// The flavour of a function type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FunFlavor {
    /// `a -> b`: an ordinary (inlineable) function; every lambda has this type.
    Vanilla,
    /// `fptr (a -> b)`
    Pointer,
    /// `closure (a -> b)`
    Closure,
}

/// A layout wrapper type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `heap t`
    Heap,
    /// `mut t`
    HeapMutable,
    /// `stack_mut t`
    StackMutable,
}

impl Layout {
    /// Its name in Spiral.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Heap => "heap",
            Layout::HeapMutable => "mut",
            Layout::StackMutable => "stack_mut",
        }
    }
}

/// One part of a type macro `` $"text `t" ``.
#[derive(Clone, Debug)]
pub enum MacroTy {
    /// Literal text.
    Text(String),
    /// A spliced type.
    Type(T),
    /// A spliced type literal (`@t`).
    TypeLit(T),
}

/// A type.
#[derive(Clone, Debug)]
pub enum Ty {
    /// `()`
    Unit,
    /// A primitive.
    Prim(Prim),
    /// A type literal such as `1i32` or `"text"`, kept as its Spiral text.
    Lit(Arc<str>),
    /// `.name`: the type of the symbol `.name`.
    Symbol(Arc<str>),
    /// `a * b` (tuples are right-nested pairs).
    Pair(T, T),
    /// `a -> b`
    Fun(T, T, FunFlavor),
    /// `{a : t; b : u}`: an exact record, keys sorted.
    Record(Arc<BTreeMap<String, T>>),
    /// `array t` (also written `array_base t`).
    Array(T),
    /// A nominal or union, unapplied.
    Nominal(NominalId),
    /// A type application `f a`; the kind is the kind of the result.
    Apply(T, T, Kind),
    /// A rigid type variable.
    Var(Arc<TyVar>),
    /// A metavariable (possibly solved).
    Meta(MetaId),
    /// `forall v. body`
    Forall(Arc<TyVar>, T),
    /// `exists v1 v2. body`: a value packed with hidden types.
    Exists(Arc<[Arc<TyVar>]>, T),
    /// `heap t`, `mut t`, `stack_mut t`
    Layout(T, Layout),
    /// A type macro.
    Macro(Arc<[MacroTy]>),
    /// The opaque type of a bottom-up term type `` `e `` (v2's `.<term>`).
    Term,
}

/// Shorthands for building types.
pub mod mk {
    use super::*;
    /// `()`
    pub fn unit() -> T {
        Arc::new(Ty::Unit)
    }
    /// A primitive.
    pub fn prim(p: Prim) -> T {
        Arc::new(Ty::Prim(p))
    }
    /// `a -> b`
    pub fn fun(a: T, b: T) -> T {
        Arc::new(Ty::Fun(a, b, FunFlavor::Vanilla))
    }
    /// `a * b`
    pub fn pair(a: T, b: T) -> T {
        Arc::new(Ty::Pair(a, b))
    }
    /// `.s`
    pub fn symbol(s: &str) -> T {
        Arc::new(Ty::Symbol(s.into()))
    }
    /// A rigid variable.
    pub fn var(v: &Arc<TyVar>) -> T {
        Arc::new(Ty::Var(v.clone()))
    }
    /// `f a` of result kind `k`.
    pub fn apply(f: T, a: T, k: Kind) -> T {
        Arc::new(Ty::Apply(f, a, k))
    }
    /// `forall vs. body`
    pub fn forall(vs: &[Arc<TyVar>], body: T) -> T {
        vs.iter().rev().fold(body, |b, v| Arc::new(Ty::Forall(v.clone(), b)))
    }
}

/// Splits a type application `f a b` into its head and arguments.
pub fn split_apply(t: &T) -> (T, Vec<T>) {
    let mut args = Vec::new();
    let mut cur = t.clone();
    while let Ty::Apply(f, a, _) = &*cur {
        args.push(a.clone());
        let next = f.clone();
        cur = next;
    }
    args.reverse();
    (cur, args)
}

/// Replaces the rigid variables in `sub` (by id) throughout `t`.
pub fn subst(t: &T, sub: &[(u32, T)]) -> T {
    if sub.is_empty() {
        return t.clone();
    }
    fn go(t: &T, sub: &[(u32, T)]) -> Option<T> {
        // Returns None when nothing changed, so unchanged subtrees stay shared.
        Some(match &**t {
            Ty::Var(v) => return sub.iter().find(|(id, _)| *id == v.id).map(|(_, r)| r.clone()),
            Ty::Unit | Ty::Prim(_) | Ty::Lit(_) | Ty::Symbol(_) | Ty::Nominal(_) | Ty::Meta(_) | Ty::Term => return None,
            Ty::Pair(a, b) => {
                let (x, y) = (go(a, sub), go(b, sub));
                if x.is_none() && y.is_none() {
                    return None;
                }
                Arc::new(Ty::Pair(x.unwrap_or_else(|| a.clone()), y.unwrap_or_else(|| b.clone())))
            }
            Ty::Fun(a, b, fl) => {
                let (x, y) = (go(a, sub), go(b, sub));
                if x.is_none() && y.is_none() {
                    return None;
                }
                Arc::new(Ty::Fun(x.unwrap_or_else(|| a.clone()), y.unwrap_or_else(|| b.clone()), *fl))
            }
            Ty::Apply(a, b, k) => {
                let (x, y) = (go(a, sub), go(b, sub));
                if x.is_none() && y.is_none() {
                    return None;
                }
                Arc::new(Ty::Apply(x.unwrap_or_else(|| a.clone()), y.unwrap_or_else(|| b.clone()), k.clone()))
            }
            Ty::Record(m) => {
                let mut changed = false;
                let n: BTreeMap<String, T> = m
                    .iter()
                    .map(|(k, v)| {
                        let r = go(v, sub);
                        changed |= r.is_some();
                        (k.clone(), r.unwrap_or_else(|| v.clone()))
                    })
                    .collect();
                if !changed {
                    return None;
                }
                Arc::new(Ty::Record(Arc::new(n)))
            }
            Ty::Array(a) => Arc::new(Ty::Array(go(a, sub)?)),
            Ty::Layout(a, l) => Arc::new(Ty::Layout(go(a, sub)?, *l)),
            Ty::Forall(v, b) => Arc::new(Ty::Forall(v.clone(), go(b, sub)?)),
            Ty::Exists(vs, b) => Arc::new(Ty::Exists(vs.clone(), go(b, sub)?)),
            Ty::Macro(parts) => {
                let mut changed = false;
                let n: Vec<MacroTy> = parts
                    .iter()
                    .map(|p| match p {
                        MacroTy::Text(s) => MacroTy::Text(s.clone()),
                        MacroTy::Type(t) => {
                            let r = go(t, sub);
                            changed |= r.is_some();
                            MacroTy::Type(r.unwrap_or_else(|| t.clone()))
                        }
                        MacroTy::TypeLit(t) => {
                            let r = go(t, sub);
                            changed |= r.is_some();
                            MacroTy::TypeLit(r.unwrap_or_else(|| t.clone()))
                        }
                    })
                    .collect();
                if !changed {
                    return None;
                }
                Arc::new(Ty::Macro(n.into()))
            }
        })
    }
    go(t, sub).unwrap_or_else(|| t.clone())
}

/// How unsolved metavariables are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaStyle {
    /// As `_` (a wildcard, valid Spiral).
    Wildcard,
    /// As `?a`, `?b`, ... numbered in order of appearance within one printed message, so the
    /// same metavariable is recognisable in two places (used for infinite-type errors).
    Named,
}

/// Prints types in Spiral syntax. The caller passes fully solved ("zonked") types; leftover
/// metavariables print according to the [`MetaStyle`].
pub struct Printer<'a> {
    /// Names of the nominals, indexed by [`NominalId`].
    pub nominal_names: &'a [String],
    /// Names of the prototypes, indexed by [`ProtoId`].
    pub proto_names: &'a [String],
    /// How metavariables print.
    pub style: MetaStyle,
    /// Names given so far to metavariables in [`MetaStyle::Named`].
    pub named: std::cell::RefCell<Vec<MetaId>>,
}

impl<'a> Printer<'a> {
    /// A printer over the given name tables.
    pub fn new(nominal_names: &'a [String], proto_names: &'a [String], style: MetaStyle) -> Printer<'a> {
        Printer { nominal_names, proto_names, style, named: Default::default() }
    }

    /// `{number; int}`
    pub fn constraints(&self, c: &CSet) -> String {
        let names: Vec<String> = c.iter().map(|c| self.constraint(*c)).collect();
        format!("{{{}}}", names.join("; "))
    }

    /// The name of one constraint.
    pub fn constraint(&self, c: Constraint) -> String {
        match c {
            Constraint::Proto(p) => self.proto_names.get(p.0 as usize).cloned().unwrap_or_else(|| "?".into()),
            b => b.builtin_name().unwrap_or("?").to_string(),
        }
    }

    fn binder(&self, v: &TyVar) -> String {
        let mut s = match v.kind {
            Kind::Star => v.name.clone(),
            _ => format!("({} : {})", v.name, v.kind),
        };
        if !v.cons.is_empty() {
            let _ = write!(s, " {}", self.constraints(&v.cons));
        }
        s
    }

    /// Prints `t`.
    pub fn show(&self, t: &T) -> String {
        let mut s = String::new();
        self.go(&mut s, t, 0);
        s
    }

    // Precedences: 0 forall, 20 function (right), 25 pair (right), 30 application (left).
    fn go(&self, out: &mut String, t: &T, prec: u32) {
        let paren = |out: &mut String, p: u32, f: &dyn Fn(&mut String)| {
            if prec > p {
                out.push('(');
                f(out);
                out.push(')');
            } else {
                f(out);
            }
        };
        match &**t {
            Ty::Unit => out.push_str("()"),
            Ty::Prim(p) => out.push_str(p.name()),
            Ty::Lit(l) => out.push_str(l),
            Ty::Symbol(s) => {
                out.push('.');
                out.push_str(s)
            }
            Ty::Term => out.push_str(".<term>"),
            Ty::Nominal(i) => out.push_str(self.nominal_names.get(i.0 as usize).map(|s| s.as_str()).unwrap_or("?")),
            Ty::Var(v) => out.push_str(&v.name),
            Ty::Meta(m) => match self.style {
                MetaStyle::Wildcard => out.push('_'),
                MetaStyle::Named => {
                    let mut named = self.named.borrow_mut();
                    let i = match named.iter().position(|x| x == m) {
                        Some(i) => i,
                        None => {
                            named.push(*m);
                            named.len() - 1
                        }
                    };
                    out.push('?');
                    out.push_str(&letter_name(i));
                }
            },
            Ty::Pair(a, b) => paren(out, 25, &|out| {
                self.go(out, a, 26);
                out.push_str(" * ");
                self.go(out, b, 25);
            }),
            Ty::Fun(a, b, fl) => {
                let body = |out: &mut String| {
                    self.go(out, a, 21);
                    out.push_str(" -> ");
                    self.go(out, b, 20);
                };
                match fl {
                    FunFlavor::Vanilla => paren(out, 20, &body),
                    FunFlavor::Pointer | FunFlavor::Closure => paren(out, 30, &|out| {
                        out.push_str(if *fl == FunFlavor::Pointer { "fptr (" } else { "closure (" });
                        body(out);
                        out.push(')');
                    }),
                }
            }
            Ty::Apply(f, a, _) => paren(out, 30, &|out| {
                self.go(out, f, 30);
                out.push(' ');
                self.go(out, a, 31);
            }),
            Ty::Array(a) => paren(out, 30, &|out| {
                out.push_str("array ");
                self.go(out, a, 31);
            }),
            Ty::Layout(a, l) => paren(out, 30, &|out| {
                out.push_str(l.name());
                out.push(' ');
                self.go(out, a, 31);
            }),
            Ty::Record(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str("; ");
                    }
                    out.push_str(k);
                    out.push_str(" : ");
                    self.go(out, v, 0);
                }
                out.push('}');
            }
            Ty::Forall(..) => paren(out, 0, &|out| {
                out.push_str("forall");
                let mut cur = t;
                while let Ty::Forall(v, b) = &**cur {
                    out.push(' ');
                    out.push_str(&self.binder(v));
                    cur = b;
                }
                out.push_str(". ");
                self.go(out, cur, 0);
            }),
            Ty::Exists(vs, b) => paren(out, 0, &|out| {
                out.push_str("exists");
                for v in vs.iter() {
                    out.push(' ');
                    out.push_str(&self.binder(v));
                }
                out.push_str(". ");
                self.go(out, b, 0);
            }),
            Ty::Macro(parts) => {
                out.push_str("$\"");
                for p in parts.iter() {
                    match p {
                        MacroTy::Text(s) => out.push_str(s),
                        MacroTy::Type(t) => {
                            out.push_str("`(");
                            self.go(out, t, 0);
                            out.push(')');
                        }
                        MacroTy::TypeLit(t) => {
                            out.push_str("@(");
                            self.go(out, t, 0);
                            out.push(')');
                        }
                    }
                }
                out.push('"');
            }
        }
    }
}

/// `a`, `b`, ..., `z`, then `26`, `27`, ... (the suffix of v2's generated names).
pub fn letter_name(i: usize) -> String {
    if i < 26 {
        ((b'a' + i as u8) as char).to_string()
    } else {
        i.to_string()
    }
}

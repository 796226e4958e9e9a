//! Compile-time values of the partial evaluator.
//!
//! A [`Value`] is the static structure of a term with runtime variables ([`Value::Var`]) at
//! its leaves. Tuples and records are always static structure; only leaves exist at runtime.
use super::ir::{Lit, Ty, Var};
use crate::prepass::core::{Lambda, Name, RecGroup};
use std::collections::BTreeMap;
use std::rc::Rc;

/// A compile-time value.
#[derive(Clone, Debug)]
pub enum Value {
    /// An unset slot (internal).
    Undef,
    /// `()`.
    Unit,
    /// A literal known at compile time.
    Lit(Lit),
    /// A runtime variable.
    Var(Var),
    /// A symbol.
    Symbol(Name),
    /// A pair.
    Pair(Rc<Value>, Rc<Value>),
    /// A record (keys sorted).
    Record(Rc<BTreeMap<Name, Value>>),
    /// An inlineable function and its captured environment.
    Closure(Rc<Lambda>, Rc<[Value]>),
    /// Member `idx` of a recursive group; `envs[i]` is member i's environment, where
    /// [`Value::RecSelf`] stands for a group member.
    Rec(Rc<RecVal>, u32),
    /// Inside a recursive group's environment: group member `j`.
    RecSelf(u32),
    /// A type used as a term (bottom-up naked type).
    Type(Ty),
    /// A union value whose case is known: (union type, case tag, payload).
    Union(Ty, u32, Rc<Value>),
    /// A (non-union) nominal wrapper: (nominal type, wrapped value).
    Nominal(Ty, Rc<Value>),
    /// A union case constructor used as a function: (declaration id, case name, type arguments).
    Constructor(u32, Name, Vec<Ty>),
    /// A nominal type constructor used as a term, with the type arguments applied so far.
    NominalFn(u32, Vec<Ty>),
}

/// The runtime part of a recursive group.
#[derive(Debug)]
pub struct RecVal {
    /// The group.
    pub group: Rc<RecGroup>,
    /// Each member's captured environment.
    pub envs: Vec<Rc<[Value]>>,
}

impl Value {
    /// A pair.
    pub fn pair(a: Value, b: Value) -> Value {
        Value::Pair(Rc::new(a), Rc::new(b))
    }
    /// Structural equality with runtime variables compared by number (static identity).
    pub fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Undef, Value::Undef) | (Value::Unit, Value::Unit) => true,
            (Value::Lit(a), Value::Lit(b)) => a == b,
            (Value::Var(a), Value::Var(b)) => a.id == b.id && a.ty == b.ty,
            (Value::Symbol(a), Value::Symbol(b)) => a == b,
            (Value::Pair(a, b), Value::Pair(c, d)) => a.same(c) && b.same(d),
            (Value::Record(a), Value::Record(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|((k1, v1), (k2, v2))| k1 == k2 && v1.same(v2))
            }
            (Value::Closure(l1, e1), Value::Closure(l2, e2)) => {
                l1.id == l2.id && e1.len() == e2.len() && e1.iter().zip(e2.iter()).all(|(a, b)| a.same(b))
            }
            (Value::Rec(g1, i1), Value::Rec(g2, i2)) => Rc::ptr_eq(g1, g2) && i1 == i2,
            (Value::RecSelf(a), Value::RecSelf(b)) => a == b,
            (Value::Type(a), Value::Type(b)) => a == b,
            (Value::Union(t1, c1, p1), Value::Union(t2, c2, p2)) => t1 == t2 && c1 == c2 && p1.same(p2),
            (Value::Nominal(t1, v1), Value::Nominal(t2, v2)) => t1 == t2 && v1.same(v2),
            (Value::Constructor(a, b, c), Value::Constructor(d, e, f)) => a == d && b == e && c == f,
            (Value::NominalFn(a, b), Value::NominalFn(c, d)) => a == c && b == d,
            _ => false,
        }
    }
}

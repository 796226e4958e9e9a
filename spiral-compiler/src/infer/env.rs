//! Name environments of the inference stage: what a term, type or constraint name means, and
//! the namespaces of modules and packages.

use super::types::*;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// What a term name stands for.
#[derive(Clone, Debug)]
pub enum TermBind {
    /// A typed value (its type may be a `forall` scheme).
    Val {
        /// The type or scheme.
        ty: T,
        /// For union-case and nominal constructors: the nominal and the case name (`None` for
        /// a plain nominal's constructor).
        ctor: Option<(NominalId, Option<Arc<str>>)>,
    },
    /// A bottom-up (`.spir`) definition: it has no type and may only be used inside `real`.
    Real,
    /// A module.
    Module(Arc<Names>),
}

/// A built-in type constructor taking one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// `array t` / `array_base t`
    Array,
    /// `heap t`, `mut t`, `stack_mut t`
    Layout(Layout),
    /// `fptr (a -> b)`, `closure (a -> b)`
    Flavor(FunFlavor),
}

/// What a type name stands for.
#[derive(Clone, Debug)]
pub enum TypeBind {
    /// A type: a primitive, a nominal (unapplied), a type variable.
    Ty(T),
    /// `type n a b = body`: its parameters and body.
    Alias(Arc<(Vec<Arc<TyVar>>, T)>),
    /// A built-in type constructor.
    Builtin(Builtin),
    /// A module (for `m.t`).
    Module(Arc<Names>),
}

/// A namespace: what a module exports, or what is visible at the top of a module.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Term names.
    pub terms: FxHashMap<String, TermBind>,
    /// Type names.
    pub types: FxHashMap<String, TypeBind>,
    /// Constraint names (built-in constraints and prototypes).
    pub cons: FxHashMap<String, Constraint>,
}

impl Names {
    /// Adds every name of `o`, overriding.
    pub fn merge(&mut self, o: &Names) {
        for (k, v) in &o.terms {
            self.terms.insert(k.clone(), v.clone());
        }
        for (k, v) in &o.types {
            self.types.insert(k.clone(), v.clone());
        }
        for (k, v) in &o.cons {
            self.cons.insert(k.clone(), *v);
        }
    }

    /// Binds a module name in the term and type namespaces.
    pub fn add_module(&mut self, name: &str, m: Arc<Names>) {
        self.terms.insert(name.to_string(), TermBind::Module(m.clone()));
        self.types.insert(name.to_string(), TypeBind::Module(m));
    }

    /// The built-in types and constraints every package starts from.
    pub fn builtins() -> Names {
        let mut n = Names::default();
        for p in [
            Prim::I8, Prim::I16, Prim::I32, Prim::I64, Prim::U8, Prim::U16, Prim::U32, Prim::U64, Prim::F32, Prim::F64,
            Prim::Bool, Prim::String, Prim::Char,
        ] {
            n.types.insert(p.name().to_string(), TypeBind::Ty(mk::prim(p)));
        }
        // The command-line defaults of v2 (see [`set_defaults`]).
        let (int, uint, float) = defaults();
        n.types.insert("int".into(), TypeBind::Ty(mk::prim(int)));
        n.types.insert("uint".into(), TypeBind::Ty(mk::prim(uint)));
        n.types.insert("float".into(), TypeBind::Ty(mk::prim(float)));
        n.types.insert("array".into(), TypeBind::Builtin(Builtin::Array));
        n.types.insert("array_base".into(), TypeBind::Builtin(Builtin::Array));
        n.types.insert("heap".into(), TypeBind::Builtin(Builtin::Layout(Layout::Heap)));
        n.types.insert("mut".into(), TypeBind::Builtin(Builtin::Layout(Layout::HeapMutable)));
        n.types.insert("stack_mut".into(), TypeBind::Builtin(Builtin::Layout(Layout::StackMutable)));
        n.types.insert("fptr".into(), TypeBind::Builtin(Builtin::Flavor(FunFlavor::Pointer)));
        n.types.insert("closure".into(), TypeBind::Builtin(Builtin::Flavor(FunFlavor::Closure)));
        for c in ["uint", "sint", "int", "float", "number", "prim", "record", "symbol"] {
            n.cons.insert(c.to_string(), Constraint::builtin(c).expect("builtin constraint"));
        }
        n
    }
}

/// The process-wide meanings of the type names `int`, `uint` and `float` (v2's command-line
/// defaults): `i32`, `u32` and `f64` unless [`set_defaults`] changed them.
static DEFAULTS: std::sync::Mutex<(Prim, Prim, Prim)> = std::sync::Mutex::new((Prim::I32, Prim::U32, Prim::F64));

/// What `int`, `uint` and `float` stand for (see [`set_defaults`]).
pub fn defaults() -> (Prim, Prim, Prim) {
    DEFAULTS.lock().map(|d| *d).unwrap_or((Prim::I32, Prim::U32, Prim::F64))
}

/// Sets what the type names `int`, `uint` and `float` stand for in this process (v2's
/// `--default-int`, `--default-uint` and `--default-float`; `spiral check` exposes them).
/// Returns an error naming a primitive of the wrong kind.
pub fn set_defaults(int: Prim, uint: Prim, float: Prim) -> Result<(), String> {
    if !int.is_signed_int() {
        return Err(format!("the default int must be a signed integer type, not `{}`", int.name()));
    }
    if !uint.is_int() || uint.is_signed_int() {
        return Err(format!("the default uint must be an unsigned integer type, not `{}`", uint.name()));
    }
    if !float.is_float() {
        return Err(format!("the default float must be `f32` or `f64`, not `{}`", float.name()));
    }
    if let Ok(mut d) = DEFAULTS.lock() {
        *d = (int, uint, float);
    }
    Ok(())
}

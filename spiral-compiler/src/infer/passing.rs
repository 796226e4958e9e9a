//! Type passing: the type parameters the evaluator needs from generalised top-down bindings.
//!
//! Inference generalises `inl f x = x + 1` to `forall 'a {number}. 'a -> 'a`; the evaluator
//! specialises `f` at each call, but the literal `1` inside it must become a literal of the
//! type `'a` stands for at that call (v2 fills such types in from inference). So a binding
//! whose scheme has *passed* type variables becomes, in the prepass, a function of those types
//! first (explicit `forall`s already are), and every use of it is applied to the types
//! inference found for them at that use.
//!
//! A variable is passed when it is written (`forall t.`, the prepass binds those anyway), when
//! it has a numeric constraint (`{number}`, `{int}`, `{sint}`, `{uint}`, `{float}`: it may be
//! the type of a literal), or when a use inside the binding instantiates a passed variable of
//! the callee with a type that mentions it (a fixpoint over all uses).
//!
//! Bindings of the signature files (core and library signatures over bottom-up functions) are
//! not recorded: the evaluator calls the bottom-up definitions, which take no such types.

use super::types::*;
use crate::diagnostics::Span;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// A generalised binding whose uses are recorded.
#[derive(Debug)]
pub struct Binding {
    /// The span of the bound expression (`body` in `inl f = body`): the prepass's key.
    pub key: Span,
    /// The scheme's variables, in `forall` order (empty until a recursive group is generalised).
    pub vars: Vec<Arc<TyVar>>,
    /// How many of `vars` are written `forall`s (they come first).
    pub explicit: usize,
}

/// A use of a recorded binding.
#[derive(Debug)]
pub struct Use {
    /// Where the variable is used.
    pub span: Span,
    /// The binding (index into [`Recorder::bindings`]).
    pub binding: usize,
    /// The type given to each of the binding's variables, in order; `None` for a recursive
    /// use inside the binding's own group (monomorphic: each variable is itself).
    pub inst: Option<Vec<T>>,
}

/// What inference records for type passing during one session.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Every recorded binding.
    pub bindings: Vec<Binding>,
    /// Every recorded use.
    pub uses: Vec<Use>,
    /// The type of every join point (`join`, the body of a `let`), by its span: the prepass
    /// gives an unannotated one its inferred return type (a recursive join point needs one),
    /// so the variables in it are passed.
    pub joins: Vec<(Span, T)>,
    /// The type of every `~x` pattern, by its span: one that holds a function gets it as an
    /// annotation (a function made dynamic is closure-converted at its type), so the
    /// variables in it are passed.
    pub dyns: Vec<(Span, T)>,
    /// The type of every term macro (`$"..."`): the prepass gives an unannotated one its
    /// inferred type, so the variables in it are passed.
    pub macros: Vec<(Span, T)>,
    /// The type of every use of a nullary union case (`None`, `Nil`): the prepass annotates
    /// it with its type, so the variables in it are passed.
    pub nullary: Vec<(Span, T)>,
    /// Each instance's body (by span) with the type variables it is a function of: the
    /// instance's own, then the prototype's after the selector.
    pub instances: Vec<(Span, Vec<Arc<TyVar>>)>,
    /// Exports checked against their definitions: the export's index, the binding and the
    /// types its variables take at the Rust signature (the entry point's use of it).
    pub exports: Vec<(usize, usize, Vec<T>)>,
    /// A binding's scheme (or, inside its recursive group, its metavariable) by the address of
    /// its shared type; the type is kept so the address stays unique.
    by_ptr: FxHashMap<usize, (T, usize)>,
}

/// The binders of a scheme, in order, and the body.
fn binders(scheme: &T) -> Vec<Arc<TyVar>> {
    let mut out = Vec::new();
    let mut cur = scheme;
    while let Ty::Forall(v, b) = &**cur {
        out.push(v.clone());
        cur = b;
    }
    out
}

/// Whether a variable with these constraints may be the type of a literal.
pub fn numeric(cons: &CSet) -> bool {
    cons.iter().any(|c| matches!(c, Constraint::Number | Constraint::Int | Constraint::Sint | Constraint::Uint | Constraint::Float))
}

impl Recorder {
    /// Records a generalised binding (nothing for a scheme without variables).
    pub fn binding(&mut self, scheme: &T, key: Span, explicit: usize) {
        let vars = binders(scheme);
        if vars.is_empty() {
            return;
        }
        let i = self.bindings.len();
        self.bindings.push(Binding { key, vars, explicit });
        self.by_ptr.insert(Arc::as_ptr(scheme) as usize, (scheme.clone(), i));
    }

    /// Records a member of a recursive group before its body is checked: `meta` is its type
    /// inside the group. Returns the binding, to complete with [`Recorder::generalised`].
    pub fn group_member(&mut self, meta: &T, key: Span) -> usize {
        let i = self.bindings.len();
        self.bindings.push(Binding { key, vars: Vec::new(), explicit: 0 });
        self.by_ptr.insert(Arc::as_ptr(meta) as usize, (meta.clone(), i));
        i
    }

    /// Completes a recursive group's member with its generalised scheme.
    pub fn generalised(&mut self, i: usize, scheme: &T) {
        self.bindings[i].vars = binders(scheme);
        self.by_ptr.insert(Arc::as_ptr(scheme) as usize, (scheme.clone(), i));
    }

    /// The binding whose scheme (or group metavariable) is `t`, if recorded.
    pub fn of(&self, t: &T) -> Option<usize> {
        self.by_ptr.get(&(Arc::as_ptr(t) as usize)).map(|(_, i)| *i)
    }

    /// Whether `t` is the metavariable of a recursive group's member (a use inside the group).
    pub fn is_group_meta(&self, t: &T) -> bool {
        matches!(&**t, Ty::Meta(_)) && self.of(t).is_some()
    }
}

/// Which variables of each binding are passed (see the module documentation), by binding.
/// `joins` are the join points' types, zonked.
pub fn passed(rec: &Recorder, zonked: &[Option<Vec<T>>], joins: &[T]) -> Vec<Vec<bool>> {
    let mut passed: Vec<Vec<bool>> = rec
        .bindings
        .iter()
        .map(|b| b.vars.iter().enumerate().map(|(k, v)| k < b.explicit || numeric(&v.cons)).collect())
        .collect();
    // a variable may belong to several bindings (the members of a recursive group are
    // generalised over their shared variables)
    let mut owner: FxHashMap<u32, Vec<(usize, usize)>> = FxHashMap::default();
    for (bi, b) in rec.bindings.iter().enumerate() {
        for (k, v) in b.vars.iter().enumerate() {
            owner.entry(v.id).or_default().push((bi, k));
        }
    }
    for t in joins {
        let mut ids = Vec::new();
        var_ids(t, &mut ids);
        for id in ids {
            for &(b, k) in owner.get(&id).map(Vec::as_slice).unwrap_or(&[]) {
                passed[b][k] = true;
            }
        }
    }
    // shared variables are passed by all their bindings or none
    for own in owner.values() {
        if own.iter().any(|&(b, k)| passed[b][k]) {
            for &(b, k) in own {
                passed[b][k] = true;
            }
        }
    }
    loop {
        let mut changed = false;
        for (u, inst) in rec.uses.iter().zip(zonked) {
            let Some(inst) = inst else { continue };
            for (k, t) in inst.iter().enumerate() {
                if !passed[u.binding].get(k).copied().unwrap_or(false) {
                    continue;
                }
                let mut ids = Vec::new();
                var_ids(t, &mut ids);
                for id in ids {
                    for &(b2, k2) in owner.get(&id).map(Vec::as_slice).unwrap_or(&[]) {
                        if !passed[b2][k2] {
                            passed[b2][k2] = true;
                            changed = true;
                        }
                    }
                }
            }
        }
        if !changed {
            return passed;
        }
    }
}

/// The ids of the rigid variables in `t`.
pub fn var_ids(t: &T, out: &mut Vec<u32>) {
    match &**t {
        Ty::Var(v) => out.push(v.id),
        Ty::Pair(a, b) | Ty::Fun(a, b, _) | Ty::Apply(a, b, _) => {
            var_ids(a, out);
            var_ids(b, out);
        }
        Ty::Record(r) => r.values().for_each(|v| var_ids(v, out)),
        Ty::Array(a) | Ty::Layout(a, _) | Ty::Forall(_, a) | Ty::Exists(_, a) => var_ids(a, out),
        Ty::Macro(p) => p.iter().for_each(|x| {
            if let MacroTy::Type(t) | MacroTy::TypeLit(t) = x {
                var_ids(t, out)
            }
        }),
        _ => {}
    }
}

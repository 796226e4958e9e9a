//! The unifier: the metavariable table, the nominal and prototype tables types refer to,
//! unification with an occurs check, level adjustment and constraint propagation,
//! instantiation and generalisation.
//!
//! Levels implement let-generalisation: every metavariable and rigid variable records the
//! let-nesting level it was made at; binding a metavariable lowers the levels of the
//! metavariables in its solution to its own, and a binding `inl f = ...` at level `L`
//! generalises exactly the metavariables of its type whose level is still above `L`. A rigid
//! variable whose level is above the metavariable's would escape its scope, which is an error.

use super::types::*;
use crate::syntax::ast::UnionLayout;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One metavariable.
#[derive(Clone, Debug)]
pub struct MetaSlot {
    /// Its solution, once solved.
    pub link: Option<T>,
    /// The let-nesting level it belongs to.
    pub level: u32,
    /// Constraints the solution must satisfy.
    pub cons: CSet,
    /// Its kind.
    pub kind: Kind,
}

/// The body of a nominal declaration.
#[derive(Clone, Debug)]
pub enum NominalBody {
    /// `nominal n a = t`
    Plain(T),
    /// `union n a = A : t | B`: the cases in source order.
    Union {
        /// The cases.
        cases: Vec<CaseDef>,
        /// Stack (`union`) or heap (`union rec`).
        layout: UnionLayout,
    },
    /// Still being declared (its body is being elaborated).
    Pending,
}

/// One case of a union.
#[derive(Clone, Debug)]
pub struct CaseDef {
    /// Its name.
    pub name: String,
    /// For a regular case its payload type over the union's parameters (`()` when none was
    /// written); for a GADT case its whole declared type, `forall vs. dom -> n args`.
    pub ty: T,
    /// Whether it is a GADT case (`Case :: ...`).
    pub gadt: bool,
}

/// A declared nominal or union.
#[derive(Clone, Debug)]
pub struct NominalDef {
    /// Its name.
    pub name: String,
    /// Its parameters (rigid variables, substituted when it is used).
    pub params: Vec<Arc<TyVar>>,
    /// Its kind, `* -> ... -> *` with one arrow per parameter (or the written kinds).
    pub kind: Kind,
    /// Its body.
    pub body: NominalBody,
    /// The package that declared it (for the orphan rule of instances).
    pub package: usize,
}

/// A declared prototype.
#[derive(Clone, Debug)]
pub struct ProtoDef {
    /// Its name.
    pub name: String,
    /// The kind of its selector variable (`self`).
    pub self_kind: Kind,
    /// The package that declared it.
    pub package: usize,
    /// Its signature, `forall self v1 ... . t`; filled in once the signature is checked.
    pub sig: Option<T>,
}

/// Why two types did not unify.
#[derive(Clone, Debug)]
pub enum UnifyError {
    /// Different type constructors somewhere inside.
    Mismatch,
    /// Solving the metavariable would create an infinite type.
    Occurs(MetaId, T),
    /// GADT refinement would solve a rigid variable to a type containing it.
    VarOccurs(Arc<TyVar>, T),
    /// A rigid type variable would escape into a metavariable of an outer level.
    Escape(Arc<TyVar>),
    /// Kinds differ.
    Kind(Kind, Kind),
    /// The type does not satisfy a constraint.
    Constraint(Constraint, T),
    /// A rigid variable lacks constraints the metavariable requires.
    VarConstraint(Arc<TyVar>, CSet),
    /// No instance of the prototype for the nominal.
    InstanceNotFound(ProtoId, NominalId),
    /// A prototype constraint cannot be attached to an applied metavariable or variable.
    ProtoOnApplied(ProtoId, T),
}

/// The state shared by the whole inference session.
#[derive(Default)]
pub struct Ctx {
    /// Metavariables, indexed by [`MetaId`].
    pub metas: Vec<MetaSlot>,
    /// Nominals, indexed by [`NominalId`].
    pub nominals: Vec<NominalDef>,
    /// Names of the nominals (kept beside `nominals` for the printer).
    pub nominal_names: Vec<String>,
    /// Where each nominal's name is declared (by [`NominalId`]): its identity for the prepass.
    pub nominal_spans: Vec<crate::diagnostics::Span>,
    /// Prototypes, indexed by [`ProtoId`].
    pub protos: Vec<ProtoDef>,
    /// Names of the prototypes (for the printer).
    pub proto_names: Vec<String>,
    /// Registered instances: the constraints of the instance's leading nominal arguments.
    pub instances: FxHashMap<(ProtoId, NominalId), Vec<CSet>>,
    /// While set, unification may solve rigid variables (GADT refinement of a case pattern).
    pub gadt_mode: bool,
    /// Rigid variables solved by GADT refinement in the clauses being checked.
    pub var_links: FxHashMap<u32, T>,
    /// The order the links in `var_links` were made (to undo a clause's links).
    pub var_link_stack: Vec<u32>,
    /// The generalised bindings and their uses, for type passing.
    pub passing: super::passing::Recorder,
    next_var: u32,
}

impl Ctx {
    /// A fresh metavariable of kind `*` without constraints.
    pub fn fresh(&mut self, level: u32) -> T {
        self.fresh_with(level, CSet::new(), Kind::Star)
    }

    /// A fresh metavariable.
    pub fn fresh_with(&mut self, level: u32, cons: CSet, kind: Kind) -> T {
        let id = MetaId(self.metas.len() as u32);
        self.metas.push(MetaSlot { link: None, level, cons, kind });
        Arc::new(Ty::Meta(id))
    }

    /// A fresh rigid variable.
    pub fn new_var(&mut self, name: String, kind: Kind, cons: CSet, level: u32) -> Arc<TyVar> {
        self.next_var += 1;
        Arc::new(TyVar { id: self.next_var, name, kind, cons, level })
    }

    /// Follows solved metavariables at the top of `t`.
    pub fn shallow(&mut self, t: &T) -> T {
        let mut cur = t.clone();
        let mut hops = 0;
        // The last type reached through metavariable links only: GADT refinements are
        // temporary, so path compression must not go past them.
        let mut last_meta_target = None;
        loop {
            let next = match &*cur {
                Ty::Meta(m) => {
                    let n = self.metas[m.0 as usize].link.clone();
                    if n.is_some() {
                        last_meta_target = n.clone();
                    }
                    n
                }
                Ty::Var(v) if !self.var_links.is_empty() => self.var_links.get(&v.id).cloned(),
                _ => None,
            };
            match next {
                Some(n) => {
                    cur = n;
                    hops += 1;
                }
                None => break,
            }
        }
        if hops > 1 {
            // Path compression: point the first metavariable straight at the last type its
            // chain of metavariable links reaches.
            if let (Ty::Meta(m), Some(target)) = (&**t, last_meta_target) {
                self.metas[m.0 as usize].link = Some(target);
            }
        }
        cur
    }

    /// `t` with every solved metavariable replaced by its solution.
    pub fn zonk(&mut self, t: &T) -> T {
        let t = self.shallow(t);
        match &*t {
            Ty::Unit | Ty::Prim(_) | Ty::Lit(_) | Ty::Symbol(_) | Ty::Nominal(_) | Ty::Meta(_) | Ty::Var(_) | Ty::Term => t,
            Ty::Pair(a, b) => {
                let (x, y) = (self.zonk(a), self.zonk(b));
                if Arc::ptr_eq(&x, a) && Arc::ptr_eq(&y, b) { t.clone() } else { Arc::new(Ty::Pair(x, y)) }
            }
            Ty::Fun(a, b, f) => {
                let (x, y) = (self.zonk(a), self.zonk(b));
                if Arc::ptr_eq(&x, a) && Arc::ptr_eq(&y, b) { t.clone() } else { Arc::new(Ty::Fun(x, y, *f)) }
            }
            Ty::Apply(a, b, k) => {
                let (x, y) = (self.zonk(a), self.zonk(b));
                if Arc::ptr_eq(&x, a) && Arc::ptr_eq(&y, b) { t.clone() } else { Arc::new(Ty::Apply(x, y, k.clone())) }
            }
            Ty::Record(m) => {
                let mut changed = false;
                let n: BTreeMap<String, T> = m
                    .iter()
                    .map(|(k, v)| {
                        let z = self.zonk(v);
                        changed |= !Arc::ptr_eq(&z, v);
                        (k.clone(), z)
                    })
                    .collect();
                if changed { Arc::new(Ty::Record(Arc::new(n))) } else { t.clone() }
            }
            Ty::Array(a) => {
                let x = self.zonk(a);
                if Arc::ptr_eq(&x, a) { t.clone() } else { Arc::new(Ty::Array(x)) }
            }
            Ty::Layout(a, l) => {
                let x = self.zonk(a);
                if Arc::ptr_eq(&x, a) { t.clone() } else { Arc::new(Ty::Layout(x, *l)) }
            }
            Ty::Forall(v, b) => {
                let x = self.zonk(b);
                if Arc::ptr_eq(&x, b) { t.clone() } else { Arc::new(Ty::Forall(v.clone(), x)) }
            }
            Ty::Exists(vs, b) => {
                let x = self.zonk(b);
                if Arc::ptr_eq(&x, b) { t.clone() } else { Arc::new(Ty::Exists(vs.clone(), x)) }
            }
            Ty::Macro(parts) => {
                let n: Vec<MacroTy> = parts
                    .iter()
                    .map(|p| match p {
                        MacroTy::Text(s) => MacroTy::Text(s.clone()),
                        MacroTy::Type(t) => MacroTy::Type(self.zonk(t)),
                        MacroTy::TypeLit(t) => MacroTy::TypeLit(self.zonk(t)),
                    })
                    .collect();
                Arc::new(Ty::Macro(n.into()))
            }
        }
    }

    /// Whether `t` (after zonking) still contains an unsolved metavariable.
    pub fn has_metas(&mut self, t: &T) -> bool {
        !self.metas_of(t).is_empty()
    }

    /// The unsolved metavariables of a type, in order of first appearance.
    pub fn metas_of(&mut self, t: &T) -> Vec<MetaId> {
        let z = self.zonk(t);
        fn go(t: &T, out: &mut Vec<MetaId>) {
            match &**t {
                Ty::Meta(m) => {
                    if !out.contains(m) {
                        out.push(*m)
                    }
                }
                Ty::Pair(a, b) | Ty::Fun(a, b, _) | Ty::Apply(a, b, _) => {
                    go(a, out);
                    go(b, out)
                }
                Ty::Record(m) => m.values().for_each(|x| go(x, out)),
                Ty::Array(a) | Ty::Layout(a, _) | Ty::Forall(_, a) | Ty::Exists(_, a) => go(a, out),
                Ty::Macro(p) => p.iter().for_each(|p| match p {
                    MacroTy::Type(t) | MacroTy::TypeLit(t) => go(t, out),
                    MacroTy::Text(_) => {}
                }),
                _ => {}
            }
        }
        let mut out = Vec::new();
        go(&z, &mut out);
        out
    }

    /// The kind of a type.
    pub fn kind_of(&mut self, t: &T) -> Kind {
        let t = self.shallow(t);
        match &*t {
            Ty::Nominal(i) => self.nominals[i.0 as usize].kind.clone(),
            Ty::Apply(_, _, k) => k.clone(),
            Ty::Var(v) => v.kind.clone(),
            Ty::Meta(m) => self.metas[m.0 as usize].kind.clone(),
            _ => Kind::Star,
        }
    }

    /// Unifies `expected` with `actual`. On failure nothing already solved is undone (as in v2).
    pub fn unify(&mut self, expected: &T, actual: &T) -> Result<(), UnifyError> {
        let a = self.shallow(expected);
        let b = self.shallow(actual);
        if Arc::ptr_eq(&a, &b) {
            return Ok(());
        }
        match (&*a, &*b) {
            (Ty::Meta(x), Ty::Meta(y)) => {
                if x == y {
                    return Ok(());
                }
                let (kx, ky) = (self.metas[x.0 as usize].kind.clone(), self.metas[y.0 as usize].kind.clone());
                if kx != ky {
                    return Err(UnifyError::Kind(kx, ky));
                }
                let sx = self.metas[x.0 as usize].clone();
                let ty = &mut self.metas[y.0 as usize];
                ty.level = ty.level.min(sx.level);
                ty.cons.extend(sx.cons.iter().copied());
                self.metas[x.0 as usize].link = Some(b.clone());
                Ok(())
            }
            (Ty::Meta(x), _) => self.bind(*x, &b),
            (_, Ty::Meta(y)) => self.bind(*y, &a),
            (Ty::Unit, Ty::Unit) | (Ty::Term, Ty::Term) => Ok(()),
            (Ty::Prim(p), Ty::Prim(q)) if p == q => Ok(()),
            (Ty::Lit(p), Ty::Lit(q)) if p == q => Ok(()),
            (Ty::Symbol(p), Ty::Symbol(q)) if p == q => Ok(()),
            (Ty::Nominal(p), Ty::Nominal(q)) if p == q => Ok(()),
            (Ty::Var(v), Ty::Var(w)) if v.id == w.id => Ok(()),
            (Ty::Var(v), _) if self.gadt_mode => self.link_var(v.clone(), &b),
            (_, Ty::Var(w)) if self.gadt_mode => self.link_var(w.clone(), &a),
            (Ty::Pair(a1, a2), Ty::Pair(b1, b2)) => {
                self.unify(a1, b1)?;
                self.unify(a2, b2)
            }
            (Ty::Fun(a1, a2, f), Ty::Fun(b1, b2, g)) if f == g => {
                self.unify(a1, b1)?;
                self.unify(a2, b2)
            }
            (Ty::Apply(f1, a1, _), Ty::Apply(f2, a2, _)) => {
                // The argument before the head, as v2 does.
                self.unify(a1, a2)?;
                self.unify(f1, f2)
            }
            (Ty::Record(m), Ty::Record(n)) if m.len() == n.len() && m.keys().eq(n.keys()) => {
                for (x, y) in m.values().zip(n.values()) {
                    self.unify(x, y)?;
                }
                Ok(())
            }
            (Ty::Array(x), Ty::Array(y)) => self.unify(x, y),
            (Ty::Layout(x, l), Ty::Layout(y, m)) if l == m => self.unify(x, y),
            (Ty::Forall(v, b1), Ty::Forall(w, b2)) => {
                if v.kind != w.kind {
                    return Err(UnifyError::Kind(v.kind.clone(), w.kind.clone()));
                }
                if v.cons != w.cons {
                    return Err(UnifyError::Mismatch);
                }
                let b2 = subst(b2, &[(w.id, mk::var(v))]);
                self.unify(b1, &b2)
            }
            (Ty::Exists(vs, b1), Ty::Exists(ws, b2)) => {
                if vs.len() != ws.len() {
                    return Err(UnifyError::Mismatch);
                }
                let mut sub = Vec::new();
                for (v, w) in vs.iter().zip(ws.iter()) {
                    if v.kind != w.kind {
                        return Err(UnifyError::Kind(v.kind.clone(), w.kind.clone()));
                    }
                    if v.cons != w.cons {
                        return Err(UnifyError::Mismatch);
                    }
                    sub.push((w.id, mk::var(v)));
                }
                let b2 = subst(b2, &sub);
                self.unify(b1, &b2)
            }
            (Ty::Macro(p), Ty::Macro(q)) if p.len() == q.len() => {
                for (x, y) in p.iter().zip(q.iter()) {
                    match (x, y) {
                        (MacroTy::Text(s), MacroTy::Text(r)) if s == r => {}
                        (MacroTy::Type(s), MacroTy::Type(r)) | (MacroTy::TypeLit(s), MacroTy::TypeLit(r)) => self.unify(s, r)?,
                        _ => return Err(UnifyError::Mismatch),
                    }
                }
                Ok(())
            }
            _ => Err(UnifyError::Mismatch),
        }
    }

    /// GADT refinement: solves the rigid variable `v` to `t` until the clause ends.
    fn link_var(&mut self, v: Arc<TyVar>, t: &T) -> Result<(), UnifyError> {
        fn occurs(cx: &mut Ctx, id: u32, t: &T) -> bool {
            let t = cx.shallow(t);
            match &*t {
                Ty::Var(w) => w.id == id,
                Ty::Pair(a, b) | Ty::Fun(a, b, _) | Ty::Apply(a, b, _) => occurs(cx, id, a) || occurs(cx, id, b),
                Ty::Record(r) => r.values().any(|x| occurs(cx, id, x)),
                Ty::Array(a) | Ty::Layout(a, _) | Ty::Forall(_, a) | Ty::Exists(_, a) => occurs(cx, id, a),
                _ => false,
            }
        }
        if occurs(self, v.id, t) {
            return Err(UnifyError::VarOccurs(v, t.clone()));
        }
        let kt = self.kind_of(t);
        if kt != v.kind {
            return Err(UnifyError::Kind(kt, v.kind.clone()));
        }
        self.constrain(&v.cons, t)?;
        self.var_links.insert(v.id, t.clone());
        self.var_link_stack.push(v.id);
        Ok(())
    }

    /// Undoes the GADT refinements made since the link stack had length `mark`.
    pub fn undo_var_links(&mut self, mark: usize) {
        while self.var_link_stack.len() > mark {
            if let Some(id) = self.var_link_stack.pop() {
                self.var_links.remove(&id);
            }
        }
    }

    /// Solves metavariable `m` to `t`: occurs check, level adjustment, escape check, kinds,
    /// constraints, then the link.
    fn bind(&mut self, m: MetaId, t: &T) -> Result<(), UnifyError> {
        let level = self.metas[m.0 as usize].level;
        let mut bound = Vec::new();
        if let Err(e) = self.adjust(m, level, t, &mut bound) {
            return Err(match e {
                UnifyError::Occurs(m, _) => UnifyError::Occurs(m, t.clone()),
                e => e,
            });
        }
        let km = self.metas[m.0 as usize].kind.clone();
        let kt = self.kind_of(t);
        if km != kt {
            return Err(UnifyError::Kind(kt, km));
        }
        let cons = self.metas[m.0 as usize].cons.clone();
        let r = self.constrain(&cons, t);
        // Linked even when a constraint fails, so the one error is not reported again at
        // every later use of the metavariable.
        self.metas[m.0 as usize].link = Some(t.clone());
        r
    }

    fn adjust(&mut self, m: MetaId, level: u32, t: &T, bound: &mut Vec<u32>) -> Result<(), UnifyError> {
        let t = self.shallow(t);
        match &*t {
            Ty::Meta(x) => {
                if *x == m {
                    return Err(UnifyError::Occurs(m, t.clone()));
                }
                let s = &mut self.metas[x.0 as usize];
                s.level = s.level.min(level);
                Ok(())
            }
            Ty::Var(v) => {
                if v.level > level && !bound.contains(&v.id) {
                    return Err(UnifyError::Escape(v.clone()));
                }
                Ok(())
            }
            Ty::Pair(a, b) | Ty::Fun(a, b, _) | Ty::Apply(a, b, _) => {
                self.adjust(m, level, a, bound)?;
                self.adjust(m, level, b, bound)
            }
            Ty::Record(r) => {
                for v in r.values() {
                    self.adjust(m, level, v, bound)?;
                }
                Ok(())
            }
            Ty::Array(a) | Ty::Layout(a, _) => self.adjust(m, level, a, bound),
            Ty::Forall(v, b) => {
                bound.push(v.id);
                let r = self.adjust(m, level, b, bound);
                bound.pop();
                r
            }
            Ty::Exists(vs, b) => {
                let n = bound.len();
                bound.extend(vs.iter().map(|v| v.id));
                let r = self.adjust(m, level, b, bound);
                bound.truncate(n);
                r
            }
            Ty::Macro(p) => {
                for x in p.iter() {
                    if let MacroTy::Type(t) | MacroTy::TypeLit(t) = x {
                        self.adjust(m, level, t, bound)?;
                    }
                }
                Ok(())
            }
            Ty::Unit | Ty::Prim(_) | Ty::Lit(_) | Ty::Symbol(_) | Ty::Nominal(_) | Ty::Term => Ok(()),
        }
    }

    /// Checks that `t` satisfies every constraint in `cons` (adding them to a metavariable).
    pub fn constrain(&mut self, cons: &CSet, t: &T) -> Result<(), UnifyError> {
        if cons.is_empty() {
            return Ok(());
        }
        let t = self.shallow(t);
        match &*t {
            Ty::Meta(x) => {
                self.metas[x.0 as usize].cons.extend(cons.iter().copied());
                Ok(())
            }
            Ty::Var(v) => {
                if cons.is_subset(&v.cons) {
                    Ok(())
                } else {
                    Err(UnifyError::VarConstraint(v.clone(), cons.clone()))
                }
            }
            _ => {
                for c in cons {
                    self.constrain_one(*c, &t)?;
                }
                Ok(())
            }
        }
    }

    fn constrain_one(&mut self, c: Constraint, t: &T) -> Result<(), UnifyError> {
        let ok = match (&**t, c) {
            (Ty::Prim(p), c) => c.admits_prim(*p),
            (Ty::Record(_), Constraint::Record) => true,
            (Ty::Symbol(_), Constraint::Symbol) => true,
            (Ty::Nominal(_) | Ty::Apply(..), Constraint::Proto(p)) => {
                let (head, args) = split_apply(t);
                let head = self.shallow(&head);
                match &*head {
                    Ty::Nominal(n) => match self.instances.get(&(p, *n)).cloned() {
                        Some(arg_cons) => {
                            // v2 skips the check when the counts differ.
                            if arg_cons.len() <= args.len() {
                                for (cs, a) in arg_cons.iter().zip(args.iter()) {
                                    self.constrain(cs, a)?;
                                }
                            }
                            return Ok(());
                        }
                        None => return Err(UnifyError::InstanceNotFound(p, *n)),
                    },
                    _ => return Err(UnifyError::ProtoOnApplied(p, t.clone())),
                }
            }
            _ => false,
        };
        if ok { Ok(()) } else { Err(UnifyError::Constraint(c, t.clone())) }
    }

    /// Replaces the leading `forall`s of `t` by fresh metavariables at `level`; returns them and
    /// the instantiated body.
    pub fn instantiate(&mut self, t: &T, level: u32) -> (Vec<T>, T) {
        let mut sub = Vec::new();
        let mut metas = Vec::new();
        let mut cur = self.shallow(t);
        while let Ty::Forall(v, b) = &*cur {
            let m = self.fresh_with(level, v.cons.clone(), v.kind.clone());
            sub.push((v.id, m.clone()));
            metas.push(m);
            let next = b.clone();
            cur = next;
        }
        (metas, subst(&cur, &sub))
    }

    /// Generalises `t` over the metavariables above `level` and the rigid variables above
    /// `level` that are not in `explicit` (the function's written `forall`s, which come first).
    /// New variables are named `'a`, `'b`, ... from `counter`.
    pub fn generalize(&mut self, t: &T, level: u32, explicit: &[Arc<TyVar>], counter: &mut u32) -> T {
        let t = self.zonk(t);
        let mut seen = FxHashSet::default();
        let explicit_ids: Vec<u32> = explicit.iter().map(|v| v.id).collect();
        let mut bound = Vec::new();
        // Collects in traversal order.
        enum Found {
            Meta(MetaId),
            Var(Arc<TyVar>),
        }
        let mut order: Vec<Found> = Vec::new();
        fn walk(cx: &Ctx, t: &T, level: u32, ex: &[u32], bound: &mut Vec<u32>, seen: &mut FxHashSet<(bool, u32)>, out: &mut Vec<Found>) {
            match &**t {
                Ty::Meta(m) if cx.metas[m.0 as usize].level > level && seen.insert((true, m.0)) => out.push(Found::Meta(*m)),
                Ty::Var(v) if v.level > level && !ex.contains(&v.id) && !bound.contains(&v.id) && seen.insert((false, v.id)) => {
                    out.push(Found::Var(v.clone()))
                }
                Ty::Pair(a, b) | Ty::Fun(a, b, _) | Ty::Apply(a, b, _) => {
                    walk(cx, a, level, ex, bound, seen, out);
                    walk(cx, b, level, ex, bound, seen, out);
                }
                Ty::Record(r) => r.values().for_each(|v| walk(cx, v, level, ex, bound, seen, out)),
                Ty::Array(a) | Ty::Layout(a, _) => walk(cx, a, level, ex, bound, seen, out),
                Ty::Forall(v, b) => {
                    bound.push(v.id);
                    walk(cx, b, level, ex, bound, seen, out);
                    bound.pop();
                }
                Ty::Exists(vs, b) => {
                    let n = bound.len();
                    bound.extend(vs.iter().map(|v| v.id));
                    walk(cx, b, level, ex, bound, seen, out);
                    bound.truncate(n);
                }
                Ty::Macro(p) => p.iter().for_each(|x| {
                    if let MacroTy::Type(t) | MacroTy::TypeLit(t) = x {
                        walk(cx, t, level, ex, bound, seen, out)
                    }
                }),
                _ => {}
            }
        }
        walk(self, &t, level, &explicit_ids, &mut bound, &mut seen, &mut order);
        let mut all: Vec<Arc<TyVar>> = explicit.to_vec();
        for f in order {
            match f {
                Found::Meta(m) => {
                    let slot = self.metas[m.0 as usize].clone();
                    let name = format!("'{}", letter_name(*counter as usize));
                    *counter += 1;
                    let v = self.new_var(name, slot.kind, slot.cons, level + 1);
                    self.metas[m.0 as usize].link = Some(mk::var(&v));
                    all.push(v);
                }
                Found::Var(v) => all.push(v),
            }
        }
        let body = self.zonk(&t);
        mk::forall(&all, body)
    }

    /// The body of the nominal at the head of `t` with its arguments substituted, when `t` is
    /// a fully applied non-union nominal.
    pub fn unwrap_nominal(&mut self, t: &T) -> Option<T> {
        let t = self.zonk(t);
        let (head, args) = split_apply(&t);
        if let Ty::Nominal(i) = &*head {
            let n = &self.nominals[i.0 as usize];
            if let NominalBody::Plain(body) = &n.body {
                if n.params.len() == args.len() {
                    let sub: Vec<(u32, T)> = n.params.iter().map(|p| p.id).zip(args).collect();
                    return Some(subst(body, &sub));
                }
            }
        }
        None
    }

    /// A printer for this session's types.
    pub fn printer(&self, style: MetaStyle) -> Printer<'_> {
        Printer::new(&self.nominal_names, &self.proto_names, style)
    }

    /// Prints `t` (zonked first) with metavariables as `_`.
    pub fn show(&mut self, t: &T) -> String {
        let z = self.zonk(t);
        self.printer(MetaStyle::Wildcard).show(&z)
    }
}

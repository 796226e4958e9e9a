//! The walk over the AST: top-level statements, terms, patterns and type expressions.
//!
//! Terms are checked against an expected type (`term(e, s)` unifies what `e` is with `s`),
//! which is how v2's `Infer.fs` works; a fresh metavariable stands for "unknown". Every error
//! is recorded and the walk goes on, so one file reports all its independent errors.

use super::env::*;
use super::types::*;
use super::unify::*;
use crate::diagnostics::{Diagnostic, Span};
use crate::syntax::ast::{
    self, Expr, ExprKind, Literal, MacroPart, PatRecordMember, Pattern, PatternKind, RecordWith, RecordWithout, TopItem, TopKind,
    TypeExpr, TypeKind, UnionLayout,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The prefix of every diagnostic about a construct inference does not handle yet.
pub const UNSUPPORTED: &str = "not supported by inference yet";

/// A top-level definition found while checking a module.
#[derive(Clone, Debug)]
pub struct RawDef {
    /// The name.
    pub name: String,
    /// Where the name was written.
    pub span: Span,
    /// Its generalised type, or `None` for a bottom-up definition.
    pub scheme: Option<T>,
}

/// Checks one module. Owns the per-module state; borrows the session's [`Ctx`].
pub struct Checker<'a> {
    /// The session state (metavariables, nominals, prototypes).
    pub cx: &'a mut Ctx,
    /// Everything visible at the top of the module.
    pub top: Names,
    /// What the module exports.
    pub exports: Names,
    /// Local term bindings, innermost last.
    locals: Vec<(String, TermBind)>,
    /// Local type bindings (forall variables, opened modules), innermost last.
    tlocals: Vec<(String, TypeBind)>,
    level: u32,
    /// Diagnostics so far.
    pub diags: Vec<Diagnostic>,
    /// The type of every checked expression, by span.
    pub expr_types: Vec<(Span, T)>,
    /// The type of every unsuffixed numeric literal (terms and patterns), by the literal's span.
    pub lit_types: Vec<(Span, T)>,
    /// Types that must be free of metavariables once the current bundle is done (v2's
    /// "filled" sites: literals, lambdas, join points, macros, arrays, instantiations).
    vr: Vec<(Span, T)>,
    counter: u32,
    /// Counter for the names of GADT case variables (`'ta`, `'tb`, ...), per statement.
    tcounter: u32,
    /// Type variables bound by `exists` patterns in the clauses being checked, innermost last.
    clause_exists: Vec<(String, T)>,
    /// Where the innermost clause's entries in `clause_exists` start.
    clause_exists_mark: usize,
    /// The module's top-level definitions in order.
    pub defs: Vec<RawDef>,
    /// The package being checked (for the orphan rule).
    pub package: usize,
    /// Whether bodies inside `real` and `!!!!` are checked for unbound names.
    pub bound_check: bool,
    /// Whether generalised bindings and their uses are recorded for type passing (off for the
    /// signature files, whose bindings are never evaluated).
    pub record_passing: bool,
    /// Whether a top-level `open` also exports the opened names (only the signature files).
    pub export_opens: bool,
}

fn lit_prim(l: &Literal) -> Prim {
    match l {
        Literal::I8(_) => Prim::I8,
        Literal::I16(_) => Prim::I16,
        Literal::I32(_) => Prim::I32,
        Literal::I64(_) => Prim::I64,
        Literal::U8(_) => Prim::U8,
        Literal::U16(_) => Prim::U16,
        Literal::U32(_) => Prim::U32,
        Literal::U64(_) => Prim::U64,
        Literal::F32(_) => Prim::F32,
        Literal::F64(_) => Prim::F64,
        Literal::Bool(_) => Prim::Bool,
        Literal::String(_) => Prim::String,
        Literal::Char(_) => Prim::Char,
    }
}

fn lit_text(l: &Literal) -> String {
    match l {
        Literal::I8(x) => format!("{x}i8"),
        Literal::I16(x) => format!("{x}i16"),
        Literal::I32(x) => format!("{x}i32"),
        Literal::I64(x) => format!("{x}i64"),
        Literal::U8(x) => format!("{x}u8"),
        Literal::U16(x) => format!("{x}u16"),
        Literal::U32(x) => format!("{x}u32"),
        Literal::U64(x) => format!("{x}u64"),
        Literal::F32(x) => format!("{x:?}f32"),
        Literal::F64(x) => format!("{x:?}f64"),
        Literal::Bool(x) => x.to_string(),
        Literal::String(x) => format!("{x:?}"),
        Literal::Char(x) => format!("{x:?}"),
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// `m.sub` as written, for messages.
fn module_path_name(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Var { name, .. } => name.clone(),
        ExprKind::Apply(a, b) => match &b.kind {
            ExprKind::Symbol(k) => format!("{}.{k}", module_path_name(a)),
            _ => module_path_name(a),
        },
        _ => "?".into(),
    }
}

fn were(n: usize) -> String {
    if n == 1 { "1 was".into() } else { format!("{n} were") }
}

fn kind_arity(k: &Kind) -> usize {
    match k {
        Kind::Star => 0,
        Kind::Fun(_, b) => 1 + kind_arity(b),
    }
}

fn mentions_nominal(t: &T, ids: &[NominalId]) -> bool {
    match &**t {
        Ty::Nominal(i) => ids.contains(i),
        Ty::Pair(a, b) | Ty::Fun(a, b, _) | Ty::Apply(a, b, _) => mentions_nominal(a, ids) || mentions_nominal(b, ids),
        Ty::Record(m) => m.values().any(|v| mentions_nominal(v, ids)),
        Ty::Array(a) | Ty::Layout(a, _) | Ty::Forall(_, a) | Ty::Exists(_, a) => mentions_nominal(a, ids),
        Ty::Macro(p) => p.iter().any(|x| matches!(x, MacroTy::Type(t) | MacroTy::TypeLit(t) if mentions_nominal(t, ids))),
        _ => false,
    }
}

fn mentions_var(t: &T, id: u32) -> bool {
    match &**t {
        Ty::Var(v) => v.id == id,
        Ty::Pair(a, b) | Ty::Fun(a, b, _) | Ty::Apply(a, b, _) => mentions_var(a, id) || mentions_var(b, id),
        Ty::Record(m) => m.values().any(|v| mentions_var(v, id)),
        Ty::Array(a) | Ty::Layout(a, _) | Ty::Forall(_, a) | Ty::Exists(_, a) => mentions_var(a, id),
        Ty::Macro(p) => p.iter().any(|x| matches!(x, MacroTy::Type(t) | MacroTy::TypeLit(t) if mentions_var(t, id))),
        _ => false,
    }
}

impl<'a> Checker<'a> {
    /// A checker for one module that sees `top`.
    pub fn new(cx: &'a mut Ctx, top: Names, package: usize) -> Checker<'a> {
        Checker {
            cx,
            top,
            exports: Names::default(),
            locals: Vec::new(),
            tlocals: Vec::new(),
            level: 0,
            diags: Vec::new(),
            expr_types: Vec::new(),
            lit_types: Vec::new(),
            vr: Vec::new(),
            counter: 0,
            tcounter: 0,
            clause_exists: Vec::new(),
            clause_exists_mark: 0,
            defs: Vec::new(),
            package,
            bound_check: true,
            record_passing: true,
            export_opens: false,
        }
    }

    // ---------------------------------------------------------------- errors

    fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, msg));
    }

    fn unsupported(&mut self, span: Span, what: &str) {
        self.error(span, format!("{UNSUPPORTED}: {what}"));
    }

    fn show(&mut self, t: &T) -> String {
        self.cx.show(t)
    }

    /// Unifies and reports a failure at `span` with the two top-level types.
    fn unify(&mut self, span: Span, expected: &T, actual: &T) -> bool {
        match self.cx.unify(expected, actual) {
            Ok(()) => true,
            Err(e) => {
                self.report(span, e, expected, actual);
                false
            }
        }
    }

    fn report(&mut self, span: Span, e: UnifyError, expected: &T, actual: &T) {
        let msg = match e {
            UnifyError::Mismatch => {
                format!("type mismatch: expected `{}`, found `{}`", self.show(expected), self.show(actual))
            }
            UnifyError::Occurs(m, t) => {
                let z = self.cx.zonk(&t);
                let p = self.cx.printer(MetaStyle::Named);
                let mv = p.show(&Arc::new(Ty::Meta(m)));
                let ts = p.show(&z);
                format!("infinite type: `{mv}` would have to equal `{ts}`, which contains it")
            }
            UnifyError::VarOccurs(v, t) => {
                let ts = self.show(&t);
                format!("infinite type: the type variable `{}` would have to equal `{ts}`, which contains it", v.name)
            }
            UnifyError::Escape(v) => format!(
                "the type variable `{}` would escape its scope (it cannot be unified with a type from outside the function that binds it)",
                v.name
            ),
            UnifyError::Kind(a, b) => format!("kind mismatch: expected `{b}`, found `{a}`"),
            UnifyError::Constraint(c, t) => {
                let c = self.cx.printer(MetaStyle::Wildcard).constraint(c);
                format!("the type `{}` does not satisfy the constraint `{c}`", self.show(&t))
            }
            UnifyError::VarConstraint(v, cs) => {
                let p = self.cx.printer(MetaStyle::Wildcard);
                format!(
                    "the type variable `{}` must have the constraints {} (it has {})",
                    v.name,
                    p.constraints(&cs),
                    p.constraints(&v.cons)
                )
            }
            UnifyError::InstanceNotFound(p, n) => format!(
                "the nominal `{}` has no instance of the prototype `{}`",
                self.cx.nominal_names[n.0 as usize], self.cx.proto_names[p.0 as usize]
            ),
            UnifyError::ProtoOnApplied(p, t) => {
                let ts = self.show(&t);
                format!(
                    "cannot attach the prototype constraint `{}` to the applied type `{ts}`; annotate it with a concrete type",
                    self.cx.proto_names[p.0 as usize]
                )
            }
        };
        let d = Diagnostic::error(span, msg);
        self.diags.push(d);
    }

    // ---------------------------------------------------------------- exports

    /// Checks the top-level definition `name` against an export's signature: its parameters
    /// (each a Rust name and the Spiral type it is seen as; none means `()`) and its result.
    /// Returns which part disagrees (`Some(k)`: parameter `k`, `None`: the result) and a message
    /// naming both types; `None` when they agree or `name` has no type here.
    /// When they agree, the types the definition's variables take are recorded for type
    /// passing as export number `index`'s ([`super::passing::Recorder::exports`]).
    pub fn export_mismatch(&mut self, index: usize, name: &str, params: &[(String, T)], result: &T) -> Option<(Option<usize>, String)> {
        let Some(TermBind::Val { ty, .. }) = self.lookup_term(name) else { return None };
        let binding = self.cx.passing.of(&ty);
        let scheme = self.cx.zonk(&ty);
        let whole = self.cx.printer(MetaStyle::Wildcard).show(&scheme);
        let (inst, mut cur) = self.cx.instantiate(&scheme, self.level + 1);
        let unit = [("()".to_string(), mk::unit())];
        let params = if params.is_empty() { &unit[..] } else { params };
        for (k, (pname, pt)) in params.iter().enumerate() {
            let now = self.cx.shallow(&cur);
            let (dom, cod) = match &*now {
                Ty::Fun(a, b, _) => (a.clone(), b.clone()),
                Ty::Meta(_) => {
                    let (a, b) = (self.cx.fresh(self.level + 1), self.cx.fresh(self.level + 1));
                    if self.cx.unify(&now, &mk::fun(a.clone(), b.clone())).is_err() {
                        return Some((Some(k), format!("`{name}` is not a function of {} arguments: its type is `{whole}`", params.len())));
                    }
                    (a, b)
                }
                _ => {
                    let n = params.len();
                    let args = if n == 1 { "argument".to_string() } else { format!("{n} arguments") };
                    return Some((Some(k), format!("the Rust signature passes {args}, but `{name}` takes {k}: its type is `{whole}`")));
                }
            };
            let (want, have) = (self.show(pt), self.show(&dom));
            if self.cx.unify(&dom, pt).is_err() {
                let which = if pname == "()" { "takes `()` (no parameters after the device)".to_string() } else { format!("gives parameter `{pname}` the type `{want}`") };
                return Some((Some(k), format!("the Rust signature {which}, but `{name}` takes `{have}` there: its type is `{whole}`")));
            }
            cur = cod;
        }
        let (want, have) = (self.show(result), self.show(&cur));
        if self.cx.unify(&cur, result).is_err() {
            return Some((None, format!("the Rust signature returns `{want}`, but `{name}` returns `{have}`: its type is `{whole}`")));
        }
        if let Some(b) = binding.filter(|_| !inst.is_empty()) {
            self.cx.passing.exports.push((index, b, inst));
        }
        None
    }

    // ---------------------------------------------------------------- lookups

    fn lookup_term(&self, n: &str) -> Option<TermBind> {
        for (k, b) in self.locals.iter().rev() {
            if k == n {
                return Some(b.clone());
            }
        }
        self.top.terms.get(n).cloned()
    }

    fn lookup_type(&self, n: &str) -> Option<TypeBind> {
        for (k, b) in self.tlocals.iter().rev() {
            if k == n {
                return Some(b.clone());
            }
        }
        self.top.types.get(n).cloned()
    }

    fn define_top_term(&mut self, name: &str, b: TermBind) {
        self.top.terms.insert(name.to_string(), b.clone());
        self.exports.terms.insert(name.to_string(), b);
    }

    fn define_top_type(&mut self, name: &str, b: TypeBind) {
        self.top.types.insert(name.to_string(), b.clone());
        self.exports.types.insert(name.to_string(), b);
    }

    /// Records a type for the tools table.
    fn note(&mut self, span: Span, t: &T) {
        self.expr_types.push((span, t.clone()));
    }

    // ---------------------------------------------------------------- top level

    /// Checks a module's statements in order.
    pub fn module(&mut self, items: &[TopItem], top_down: bool) {
        let mut i = 0;
        while i < items.len() {
            // A recursive statement and the `and` statements after it form one group.
            let mut j = i + 1;
            while j < items.len() && matches!(items[j].kind, TopKind::And(_)) {
                j += 1;
            }
            let group: Vec<&TopItem> = items[i..j]
                .iter()
                .map(|it| match &it.kind {
                    TopKind::And(inner) => &**inner,
                    _ => it,
                })
                .collect();
            self.bundle(&group, top_down);
            i = j;
        }
    }

    fn bundle(&mut self, group: &[&TopItem], top_down: bool) {
        self.counter = 0;
        self.tcounter = 0;
        self.vr.clear();
        self.level = 0;
        let errors_before = self.diags.len();
        let first = group[0];
        match &first.kind {
            TopKind::Inl { .. } => {
                let mut fns = Vec::new();
                for it in group {
                    match &it.kind {
                        TopKind::Inl { name, body, rec, top_down: td } => fns.push((name, body, *rec, *td)),
                        _ => self.error(it.span, "an `and` group must be all functions or all types"),
                    }
                }
                if !(top_down && fns.iter().all(|f| f.3)) {
                    // Bottom-up definitions: no types, usable only inside `real`. Their bodies
                    // are left to the prepass.
                    for (name, _, _, _) in &fns {
                        self.define_top_term(&name.name, TermBind::Real);
                        self.defs.push(RawDef { name: name.name.clone(), span: name.span, scheme: None });
                    }
                } else if fns.len() == 1 && !fns[0].2 {
                    let (name, body, _, _) = fns[0];
                    let scheme = self.gen_binding(body);
                    self.note(name.span, &scheme);
                    self.define_top_term(&name.name, TermBind::Val { ty: scheme.clone(), ctor: None });
                    self.defs.push(RawDef { name: name.name.clone(), span: name.span, scheme: Some(scheme) });
                } else {
                    let bindings: Vec<(&ast::Ident, &Expr)> = fns.iter().map(|f| (f.0, f.1)).collect();
                    let schemes = self.rec_group(&bindings);
                    for ((name, _), scheme) in bindings.iter().zip(schemes) {
                        self.note(name.span, &scheme);
                        self.define_top_term(&name.name, TermBind::Val { ty: scheme.clone(), ctor: None });
                        self.defs.push(RawDef { name: name.name.clone(), span: name.span, scheme: Some(scheme) });
                    }
                }
            }
            TopKind::Nominal { .. } => self.nominal_group(group),
            TopKind::Type { name, params, body } => {
                let vars: Vec<Arc<TyVar>> = params.iter().map(|p| self.param_var(p)).collect();
                let mark = self.tlocals.len();
                for v in &vars {
                    self.tlocals.push((v.name.clone(), TypeBind::Ty(mk::var(v))));
                }
                let t = self.ty(body, false);
                self.tlocals.truncate(mark);
                self.define_top_type(&name.name, TypeBind::Alias(Arc::new((vars, t))));
            }
            TopKind::Open { module, path } => {
                if let Some(m) = self.resolve_open(module, path) {
                    // As in v2, a top-level `open` is not exported (v2 libraries open
                    // `real_core` after defining typed operators, whose untyped names must not
                    // replace them for the modules that see the library); the signature files
                    // re-export theirs (`open kernel` gives the `inv` names too).
                    self.top.merge(&m);
                    if self.export_opens {
                        self.exports.merge(&m);
                    }
                }
            }
            TopKind::Prototype { name, self_var, params, ty } => self.prototype(name, self_var, params, ty),
            TopKind::Instance { prototype, nominal, params, body } => {
                if top_down {
                    self.instance(prototype, nominal, params, body)
                } else {
                    self.unsupported(first.span, "instances in bottom-up (`.spir`) modules")
                }
            }
            TopKind::And(_) => {}
        }
        if self.diags.len() == errors_before {
            self.value_restriction();
        }
    }

    /// v2's value restriction: a type left unsolved in a definition that is not part of its
    /// signature. Each unsolved metavariable is reported once, at its first site in the source
    /// (`write_line (1 + 2)` is one error, not one per subexpression).
    fn value_restriction(&mut self) {
        let mut sites = std::mem::take(&mut self.vr);
        sites.sort_by_key(|(span, _)| (span.start, std::cmp::Reverse(span.end)));
        let mut reported: Vec<MetaId> = Vec::new();
        for (span, t) in sites {
            let metas = self.cx.metas_of(&t);
            if metas.is_empty() || metas.iter().all(|m| reported.contains(m)) {
                continue;
            }
            let number = metas.iter().any(|m| self.cx.metas[m.0 as usize].cons.contains(&Constraint::Number));
            reported.extend(metas);
            let s = self.show(&t);
            let hint = if number { " (or give a number literal a suffix: `1i32`, `2.5f64`)" } else { "" };
            self.error(
                span,
                format!("cannot infer a type here: `{s}` is not part of the enclosing function's signature, so it cannot be generalised; add a type annotation{hint}"),
            );
        }
    }

    fn param_var(&mut self, p: &ast::HoVar) -> Arc<TyVar> {
        let kind = self.kind(&p.kind);
        self.cx.new_var(p.name.name.clone(), kind, CSet::new(), 0)
    }

    fn kind(&self, k: &ast::Kind) -> Kind {
        match k {
            ast::Kind::Wildcard | ast::Kind::Star => Kind::Star,
            ast::Kind::Fun(a, b) => Kind::Fun(Arc::new(self.kind(a)), Arc::new(self.kind(b))),
        }
    }

    fn nominal_group(&mut self, group: &[&TopItem]) {
        struct Decl<'b> {
            id: NominalId,
            name: &'b ast::Ident,
            vars: Vec<Arc<TyVar>>,
            body: &'b TypeExpr,
            rec: bool,
        }
        let mut decls = Vec::new();
        for it in group {
            let TopKind::Nominal { name, params, body, rec } = &it.kind else {
                self.error(it.span, "an `and` group must be all functions or all types");
                continue;
            };
            let vars: Vec<Arc<TyVar>> = params.iter().map(|p| self.param_var(p)).collect();
            let kind = vars.iter().rev().fold(Kind::Star, |k, v| Kind::Fun(Arc::new(v.kind.clone()), Arc::new(k)));
            let id = NominalId(self.cx.nominals.len() as u32);
            self.cx.nominals.push(NominalDef { name: name.name.clone(), params: vars.clone(), kind, body: NominalBody::Pending, package: self.package });
            self.cx.nominal_names.push(name.name.clone());
            self.cx.nominal_spans.push(name.span);
            self.define_top_type(&name.name, TypeBind::Ty(Arc::new(Ty::Nominal(id))));
            decls.push(Decl { id, name, vars, body, rec: *rec || group.len() > 1 });
        }
        let group_ids: Vec<NominalId> = decls.iter().map(|d| d.id).collect();
        let mut seen_cases: Vec<String> = Vec::new();
        for d in &decls {
            let mark = self.tlocals.len();
            for v in &d.vars {
                self.tlocals.push((v.name.clone(), TypeBind::Ty(mk::var(v))));
            }
            let this = d.vars.iter().fold(Arc::new(Ty::Nominal(d.id)), |f, v| {
                let k = match self.cx.kind_of(&f) {
                    Kind::Fun(_, k) => (*k).clone(),
                    Kind::Star => Kind::Star,
                };
                mk::apply(f, mk::var(v), k)
            });
            let body = match &d.body.kind {
                TypeKind::Union { cases, layout, .. } => {
                    let mut out = Vec::new();
                    for c in cases {
                        if seen_cases.contains(&c.name.name) {
                            self.error(c.name.span, format!("the case `{}` is defined twice in this union group", c.name.name));
                            continue;
                        }
                        seen_cases.push(c.name.name.clone());
                        let stack = *layout == UnionLayout::Stack && !d.rec;
                        let t = if c.gadt {
                            // A GADT case binds its own type variables: the union's parameters
                            // are not in scope.
                            let saved = std::mem::take(&mut self.tlocals);
                            let t = self.ty(&c.ty, false);
                            self.tlocals = saved;
                            self.validate_gadt_case(c, &t, d.id, stack, &group_ids);
                            t
                        } else {
                            let t = self.ty(&c.ty, false);
                            if stack && mentions_nominal(&t, &group_ids) {
                                self.error(c.ty.span, format!("the non-recursive union `{}` refers to itself; write `union rec`", d.name.name));
                            }
                            t
                        };
                        out.push(CaseDef { name: c.name.name.clone(), ty: t, gadt: c.gadt });
                    }
                    NominalBody::Union { cases: out, layout: *layout }
                }
                _ => {
                    let t = self.ty(d.body, false);
                    if mentions_nominal(&t, &group_ids) {
                        self.error(d.body.span, format!("the nominal `{}` refers to itself; only `union rec` types may be recursive", d.name.name));
                    }
                    NominalBody::Plain(t)
                }
            };
            self.tlocals.truncate(mark);
            // Constructors.
            match &body {
                NominalBody::Union { cases, .. } => {
                    for c in cases {
                        let scheme = if c.gadt {
                            c.ty.clone()
                        } else {
                            let t = if matches!(*c.ty, Ty::Unit) { this.clone() } else { mk::fun(c.ty.clone(), this.clone()) };
                            mk::forall(&d.vars, t)
                        };
                        self.define_top_term(&c.name, TermBind::Val { ty: scheme, ctor: Some((d.id, Some(c.name.as_str().into()))) });
                    }
                }
                NominalBody::Plain(b) => {
                    let t = if matches!(**b, Ty::Unit) { this.clone() } else { mk::fun(b.clone(), this.clone()) };
                    let scheme = mk::forall(&d.vars, t);
                    if self.record_passing && !d.vars.is_empty() {
                        // the evaluator's nominal constructor takes the type arguments first
                        self.cx.passing.binding(&scheme, d.name.span, d.vars.len());
                    }
                    self.define_top_term(&d.name.name, TermBind::Val { ty: scheme, ctor: Some((d.id, None)) });
                }
                NominalBody::Pending => {}
            }
            self.cx.nominals[d.id.0 as usize].body = body;
        }
    }

    /// `prototype name self v1 ... : t`
    fn prototype(&mut self, name: &ast::Ident, self_var: &ast::Ident, params: &[ast::TypeVar], ty: &TypeExpr) {
        let id = ProtoId(self.cx.protos.len() as u32);
        let vars: Vec<Arc<TyVar>> = params.iter().map(|p| self.type_var(p, 0)).collect();
        let self_kind = vars.iter().rev().fold(Kind::Star, |k, v| Kind::Fun(Arc::new(v.kind.clone()), Arc::new(k)));
        self.cx.protos.push(ProtoDef { name: name.name.clone(), self_kind: self_kind.clone(), package: self.package, sig: None });
        self.cx.proto_names.push(name.name.clone());
        let sv = self.cx.new_var(self_var.name.clone(), self_kind, [Constraint::Proto(id)].into_iter().collect(), 0);
        let mark = self.tlocals.len();
        self.tlocals.push((sv.name.clone(), TypeBind::Ty(mk::var(&sv))));
        for v in &vars {
            self.tlocals.push((v.name.clone(), TypeBind::Ty(mk::var(v))));
        }
        let body = self.ty(ty, false);
        self.tlocals.truncate(mark);
        let zb = self.cx.zonk(&body);
        let unused: Vec<String> = std::iter::once(&sv).chain(vars.iter()).filter(|v| !mentions_var(&zb, v.id)).map(|v| v.name.clone()).collect();
        if !unused.is_empty() {
            self.error(name.span, format!("the prototype's type does not use the type variables: {}", unused.join(", ")));
        }
        let mut all = vec![sv];
        all.extend(vars);
        let scheme = mk::forall(&all, body);
        self.note(name.span, &scheme);
        if self.record_passing {
            // a prototype's uses pass every type variable: the first selects the instance
            let n = {
                let mut n = 0;
                let mut cur = &scheme;
                while let Ty::Forall(_, b) = &**cur {
                    n += 1;
                    cur = b;
                }
                n
            };
            self.cx.passing.binding(&scheme, name.span, n);
        }
        self.cx.protos[id.0 as usize].sig = Some(scheme.clone());
        self.define_top_term(&name.name, TermBind::Val { ty: scheme.clone(), ctor: None });
        self.top.cons.insert(name.name.clone(), Constraint::Proto(id));
        self.exports.cons.insert(name.name.clone(), Constraint::Proto(id));
        self.defs.push(RawDef { name: name.name.clone(), span: name.span, scheme: Some(scheme) });
    }

    /// `instance proto nominal v1 ... = body`
    fn instance(&mut self, proto: &ast::Ident, nominal: &ast::Ident, params: &[ast::TypeVar], body: &Expr) {
        let pid = match self.top.cons.get(&proto.name) {
            Some(Constraint::Proto(p)) => *p,
            Some(_) => {
                self.error(proto.span, format!("`{}` is a built-in constraint, not a prototype", proto.name));
                return;
            }
            None => {
                self.error(proto.span, format!("unbound prototype `{}`", proto.name));
                return;
            }
        };
        let nid = match self.top.types.get(&nominal.name) {
            Some(TypeBind::Ty(t)) => match &**t {
                Ty::Nominal(n) => *n,
                _ => {
                    let ts = self.show(&t.clone());
                    self.error(nominal.span, format!("an instance needs a nominal or union type, found `{ts}`"));
                    return;
                }
            },
            Some(_) => {
                self.error(nominal.span, format!("an instance needs a nominal or union type; `{}` is not one", nominal.name));
                return;
            }
            None => {
                self.error(nominal.span, format!("unbound type `{}`", nominal.name));
                return;
            }
        };
        let pdef = self.cx.protos[pid.0 as usize].clone();
        let ndef = self.cx.nominals[nid.0 as usize].clone();
        let (prot_arity, ins_arity) = (kind_arity(&pdef.self_kind) + 1, kind_arity(&ndef.kind) + 1);
        if ins_arity < prot_arity {
            self.error(nominal.span, format!(
                "the nominal `{}` takes {} but the prototype `{}` needs one that takes at least {}",
                ndef.name, plural(ins_arity - 1, "type argument"), pdef.name, plural(prot_arity - 1, "type argument")
            ));
            return;
        }
        let k = ins_arity - prot_arity;
        let mut rest = ndef.kind.clone();
        for _ in 0..k {
            if let Kind::Fun(_, b) = rest {
                rest = (*b).clone();
            }
        }
        if rest != pdef.self_kind {
            self.error(nominal.span, format!("kind mismatch: the prototype needs a type of kind `{}`, `{}` leaves `{rest}`", pdef.self_kind, ndef.name));
            return;
        }
        if params.len() != k {
            self.error(nominal.span, format!("the instance must name {} of `{}` (its arity minus the prototype's), found {}", plural(k, "type variable"), ndef.name, params.len()));
            return;
        }
        if params.iter().any(|p| p.var.kind != ast::Kind::Wildcard) {
            self.error(nominal.span, "the type variables of an instance take their kinds from the nominal; do not write them");
            return;
        }
        if self.cx.instances.contains_key(&(pid, nid)) {
            self.error(proto.span, format!("`{}` already has an instance of `{}`", ndef.name, pdef.name));
            return;
        }
        if pdef.package != self.package && ndef.package != self.package {
            self.error(proto.span, "an instance must be in the package of its prototype or of its nominal");
            return;
        }
        // The instance variables, then the prototype's signature with `self` := nominal v1 ... vk.
        let mut ivars = Vec::new();
        for (p, np) in params.iter().zip(&ndef.params) {
            let v = self.type_var(p, 1);
            let v = self.cx.new_var(v.name.clone(), np.kind.clone(), v.cons.clone(), 1);
            ivars.push(v);
        }
        let mut this: T = Arc::new(Ty::Nominal(nid));
        for v in &ivars {
            let kk = match self.cx.kind_of(&this) {
                Kind::Fun(_, b) => (*b).clone(),
                Kind::Star => Kind::Star,
            };
            this = mk::apply(this, mk::var(v), kk);
        }
        // The prototype's own signature: a later term of the same name may shadow it.
        let Some(sig) = pdef.sig.clone() else {
            self.error(proto.span, format!("the prototype `{}` is not in scope", pdef.name));
            return;
        };
        let Ty::Forall(sv, sig_body) = &*sig else { return };
        let mut expected = subst(sig_body, &[(sv.id, this)]);
        let mut pvars = Vec::new();
        while let Ty::Forall(v, b) = &*expected.clone() {
            pvars.push(v.clone());
            expected = b.clone();
        }
        if let Some(v) = ivars.iter().find(|v| pvars.iter().any(|p| p.name == v.name)) {
            self.error(nominal.span, format!("the instance variable `{}` has the name of one of the prototype's type variables", v.name));
            return;
        }
        self.cx.instances.insert((pid, nid), ivars.iter().map(|v| v.cons.clone()).collect());
        let mark = self.tlocals.len();
        for v in ivars.iter().chain(pvars.iter()) {
            self.tlocals.push((v.name.clone(), TypeBind::Ty(mk::var(v))));
        }
        if self.record_passing {
            // the instance's body is a function of its variables and the prototype's others
            self.cx.passing.instances.push((body.span, ivars.iter().chain(pvars.iter()).cloned().collect()));
        }
        self.level = 1;
        self.term(body, &expected);
        self.level = 0;
        self.tlocals.truncate(mark);
    }

    /// A GADT case's type must be `forall vs. dom -> n args` (or `n args`) for its own union
    /// `n`, with every `v` in the result.
    fn validate_gadt_case(&mut self, c: &ast::UnionCase, t: &T, id: NominalId, stack: bool, group: &[NominalId]) {
        let mut vars = Vec::new();
        let mut cur = t.clone();
        while let Ty::Forall(v, b) = &*cur.clone() {
            vars.push(v.clone());
            cur = b.clone();
        }
        let (dom, range) = match &*cur {
            Ty::Fun(a, b, _) => (Some(a.clone()), b.clone()),
            _ => (None, cur.clone()),
        };
        let (head, args) = split_apply(&range);
        if !matches!(&*head, Ty::Nominal(h) if *h == id) {
            let n = self.cx.nominal_names[id.0 as usize].clone();
            self.error(c.ty.span, format!("a GADT case of `{n}` must result in `{n}` applied to its arguments"));
            return;
        }
        if stack && (dom.as_ref().is_some_and(|d| mentions_nominal(d, group)) || args.iter().any(|a| mentions_nominal(a, group))) {
            self.error(c.ty.span, "a non-recursive union refers to itself; write `union rec`");
        }
        for v in vars {
            // (A variable used nowhere was already reported by the type's elaboration.)
            if !mentions_var(&range, v.id) && mentions_var(&cur, v.id) {
                self.error(c.ty.span, format!("the type variable `{}` must appear in the result type of the GADT case (hide it with `exists` otherwise)", v.name));
            }
        }
    }

    fn resolve_open(&mut self, module: &ast::Ident, path: &[ast::Ident]) -> Option<Arc<Names>> {
        let mut cur = match self.lookup_term(&module.name) {
            Some(TermBind::Module(m)) => m,
            _ => match self.lookup_type(&module.name) {
                Some(TypeBind::Module(m)) => m,
                _ => {
                    self.error(module.span, format!("unbound module `{}`", module.name));
                    return None;
                }
            },
        };
        for p in path {
            let next = match cur.terms.get(&p.name) {
                Some(TermBind::Module(m)) => m.clone(),
                _ => {
                    self.error(p.span, format!("the module has no submodule `{}`", p.name));
                    return None;
                }
            };
            cur = next;
        }
        Some(cur)
    }

    // ---------------------------------------------------------------- bindings

    /// `inl f = fun ...` / `inl f forall a. ... = ...`: checks the body one level deeper and
    /// generalises.
    fn gen_binding(&mut self, body: &Expr) -> T {
        let outer = self.level;
        self.level += 1;
        let mark = self.tlocals.len();
        let mut explicit = Vec::new();
        let mut b = body;
        while let ExprKind::Forall(tv, inner) = &b.kind {
            if self.tlocals.iter().any(|(n, _)| *n == tv.var.name.name) {
                self.error(tv.var.name.span, format!("the forall variable `{}` shadows another one; shadowing of foralls is not allowed in the top-down segment", tv.var.name.name));
            }
            let v = self.type_var(tv, self.level);
            self.tlocals.push((v.name.clone(), TypeBind::Ty(mk::var(&v))));
            explicit.push((v, tv.var.name.span));
            b = inner;
        }
        let t = self.cx.fresh(self.level);
        self.term(b, &t);
        self.tlocals.truncate(mark);
        self.level = outer;
        let zt = self.cx.zonk(&t);
        for (v, span) in &explicit {
            if !mentions_var(&zt, v.id) {
                self.error(*span, format!("the type variable `{}` is not used in the function's type", v.name));
            }
        }
        let ex: Vec<Arc<TyVar>> = explicit.into_iter().map(|(v, _)| v).collect();
        let scheme = self.cx.generalize(&t, outer, &ex, &mut self.counter);
        self.note(body.span, &scheme);
        if self.record_passing {
            self.cx.passing.binding(&scheme, body.span, ex.len());
        }
        scheme
    }

    /// A recursive group: the schemes of its members, in order.
    fn rec_group(&mut self, bindings: &[(&ast::Ident, &Expr)]) -> Vec<T> {
        for (i, (n, _)) in bindings.iter().enumerate() {
            if bindings[..i].iter().any(|(m, _)| m.name == n.name) {
                self.error(n.span, format!("`{}` is defined twice in the same recursive group", n.name));
            }
        }
        let outer = self.level;
        let any_forall = bindings.iter().any(|(_, b)| matches!(b.kind, ExprKind::Forall(..)));
        if !any_forall {
            self.level += 1;
            let metas: Vec<T> = bindings.iter().map(|_| self.cx.fresh(outer + 1)).collect();
            let members: Vec<Option<usize>> = if self.record_passing {
                bindings.iter().zip(&metas).map(|((_, b), m)| Some(self.cx.passing.group_member(m, b.span))).collect()
            } else {
                vec![None; bindings.len()]
            };
            let mark = self.locals.len();
            for ((n, _), m) in bindings.iter().zip(&metas) {
                self.locals.push((n.name.clone(), TermBind::Val { ty: m.clone(), ctor: None }));
            }
            for ((_, b), m) in bindings.iter().zip(&metas) {
                self.term(b, m);
            }
            self.locals.truncate(mark);
            self.level = outer;
            metas
                .iter()
                .zip(bindings)
                .zip(members)
                .map(|((m, (_, b)), member)| {
                    let s = self.cx.generalize(m, outer, &[], &mut self.counter);
                    self.note(b.span, &s);
                    if let Some(i) = member {
                        self.cx.passing.generalised(i, &s);
                    }
                    s
                })
                .collect()
        } else {
            // Every member must be fully annotated; members are bound to their closed
            // schemes, so recursion may be polymorphic.
            let mut sigs = Vec::new();
            for (_, b) in bindings {
                self.level = outer + 1;
                let mark = self.tlocals.len();
                let mut vars = Vec::new();
                let mut e = *b;
                while let ExprKind::Forall(tv, inner) = &e.kind {
                    let v = self.type_var(tv, outer + 1);
                    self.tlocals.push((v.name.clone(), TypeBind::Ty(mk::var(&v))));
                    vars.push(v);
                    e = inner;
                }
                let sig = self.rec_signature(e);
                self.tlocals.truncate(mark);
                let scheme = sig.map(|s| mk::forall(&vars, s));
                sigs.push((vars, e, scheme));
            }
            self.level = outer;
            let schemes: Vec<T> = sigs
                .iter()
                .map(|(_, _, s)| s.clone().unwrap_or_else(|| self.cx.fresh(outer + 1)))
                .collect();
            if self.record_passing {
                for ((_, b), (vars, _, scheme)) in bindings.iter().zip(&sigs) {
                    if let Some(sc) = scheme {
                        self.cx.passing.binding(sc, b.span, vars.len());
                    }
                }
            }
            let mark = self.locals.len();
            for ((n, _), s) in bindings.iter().zip(&schemes) {
                self.locals.push((n.name.clone(), TermBind::Val { ty: s.clone(), ctor: None }));
            }
            for (((vars, e, scheme), (_, b)), sc) in sigs.iter().zip(bindings).zip(&schemes) {
                self.level = outer + 1;
                let tmark = self.tlocals.len();
                for v in vars {
                    self.tlocals.push((v.name.clone(), TypeBind::Ty(mk::var(v))));
                }
                let body_t = match scheme {
                    Some(s) => {
                        let mut cur = s.clone();
                        while let Ty::Forall(_, inner) = &*cur {
                            let n = inner.clone();
                            cur = n;
                        }
                        cur
                    }
                    None => self.cx.fresh(outer + 1),
                };
                self.term(e, &body_t);
                self.tlocals.truncate(tmark);
                self.note(b.span, sc);
            }
            self.locals.truncate(mark);
            self.level = outer;
            schemes
        }
    }

    /// The type a fully annotated recursive function declares: `(x : a) (y : b) : c` gives
    /// `a -> b -> c`.
    fn rec_signature(&mut self, e: &Expr) -> Option<T> {
        match &e.kind {
            ExprKind::Fun(clauses) => {
                if clauses.len() != 1 {
                    self.error(e.span, "recursive functions with foralls must have a single clause");
                    return None;
                }
                let (p, body) = &clauses[0];
                let mut pp = p;
                if let PatternKind::Dyn(inner) = &pp.kind {
                    pp = inner;
                }
                let dom = match &pp.kind {
                    PatternKind::Annot(_, t) => self.ty(t, false),
                    _ => {
                        self.error(p.span, "recursive functions with foralls must be fully annotated: annotate this parameter");
                        return None;
                    }
                };
                let rng = self.rec_signature(body)?;
                Some(mk::fun(dom, rng))
            }
            ExprKind::Annot(_, t) => Some(self.ty(t, false)),
            ExprKind::JoinPoint { body, backend: None, .. } => match &body.kind {
                ExprKind::Annot(_, t) => Some(self.ty(t, false)),
                _ => {
                    self.error(e.span, "recursive functions with foralls must be fully annotated: annotate the return type");
                    None
                }
            },
            _ => {
                self.error(e.span, "recursive functions with foralls must be fully annotated: annotate the return type");
                None
            }
        }
    }

    fn type_var(&mut self, tv: &ast::TypeVar, level: u32) -> Arc<TyVar> {
        let mut cons = CSet::new();
        let mut proto_kind = None;
        for c in &tv.constraints {
            match self.top.cons.get(&c.name) {
                Some(k) => {
                    if let Constraint::Proto(p) = k {
                        proto_kind = Some(self.cx.protos[p.0 as usize].self_kind.clone());
                    }
                    cons.insert(*k);
                }
                None => self.error(c.span, format!("unbound constraint `{}`", c.name)),
            }
        }
        let kind = match (&tv.var.kind, proto_kind) {
            (ast::Kind::Wildcard, Some(k)) => k,
            (k, _) => self.kind(k),
        };
        self.cx.new_var(tv.var.name.name.clone(), kind, cons, level)
    }

    // ---------------------------------------------------------------- terms

    fn infer(&mut self, e: &Expr) -> T {
        let t = self.cx.fresh(self.level);
        self.term(e, &t);
        t
    }

    /// Checks `e` against `s`.
    pub fn term(&mut self, e: &Expr, s: &T) {
        self.note(e.span, s);
        let span = e.span;
        match &e.kind {
            ExprKind::Unit => {
                self.unify(span, s, &mk::unit());
            }
            ExprKind::Lit(l) => {
                self.unify(span, s, &mk::prim(lit_prim(l)));
            }
            ExprKind::DefaultLit(_) => self.default_lit(span, s),
            ExprKind::Symbol(x) => {
                self.unify(span, s, &mk::symbol(x));
            }
            ExprKind::Var { name, tvar_applied } => self.var(span, name, *tvar_applied, s),
            ExprKind::Match { scrutinee, clauses } => {
                if clauses.len() == 1 {
                    if let PatternKind::Var(n) = &clauses[0].0.kind {
                        if matches!(scrutinee.kind, ExprKind::Fun(_) | ExprKind::Forall(..)) {
                            let scheme = self.gen_binding(scrutinee);
                            self.note(clauses[0].0.span, &scheme);
                            let mark = self.locals.len();
                            self.locals.push((n.clone(), TermBind::Val { ty: scheme, ctor: None }));
                            self.term(&clauses[0].1, s);
                            self.locals.truncate(mark);
                            return;
                        }
                    }
                }
                let t = self.infer(scrutinee);
                for (p, b) in clauses {
                    self.clause(p, &t, b, s);
                }
            }
            ExprKind::Fun(clauses) => {
                let (dom, rng) = match &*self.cx.shallow(s) {
                    Ty::Fun(a, b, FunFlavor::Vanilla) => (a.clone(), b.clone()),
                    _ => {
                        let (a, b) = (self.cx.fresh(self.level), self.cx.fresh(self.level));
                        self.unify(span, s, &mk::fun(a.clone(), b.clone()));
                        (a, b)
                    }
                };
                self.vr.push((span, s.clone()));
                for (p, b) in clauses {
                    self.clause(p, &dom, b, &rng);
                }
            }
            ExprKind::Forall(tv, body) => {
                let v = self.type_var(tv, self.level);
                let mark = self.tlocals.len();
                self.tlocals.push((v.name.clone(), TypeBind::Ty(mk::var(&v))));
                self.term(body, s);
                self.tlocals.truncate(mark);
            }
            ExprKind::Exists { types, body } => self.exists_term(span, types.as_deref(), body, s),
            ExprKind::RecBlock { bindings, body } => {
                let bs: Vec<(&ast::Ident, &Expr)> = bindings.iter().map(|(n, b)| (n, b)).collect();
                let schemes = self.rec_group(&bs);
                let mark = self.locals.len();
                for ((n, _), sc) in bs.iter().zip(schemes) {
                    self.note(n.span, &sc);
                    self.locals.push((n.name.clone(), TermBind::Val { ty: sc, ctor: None }));
                }
                self.term(body, s);
                self.locals.truncate(mark);
            }
            ExprKind::RecordWith { bases, with, without } => self.record_with(span, bases, with, without, s),
            ExprKind::Op { args, .. } => {
                for a in args {
                    self.bound_check(a);
                }
            }
            ExprKind::JoinPoint { backend: None, body, .. } => {
                self.vr.push((span, s.clone()));
                if self.record_passing {
                    self.cx.passing.joins.push((span, s.clone()));
                }
                self.term(body, s);
            }
            ExprKind::JoinPoint { backend: Some(_), body, .. } => {
                let t = mk::pair(mk::prim(Prim::I32), mk::symbol("tuple_of_free_vars"));
                self.unify(span, s, &t);
                let b = self.cx.fresh(self.level);
                self.vr.push((span, b.clone()));
                self.term(body, &b);
            }
            ExprKind::Annot(x, t) => {
                let tt = self.ty(t, true);
                self.unify(t.span, s, &tt);
                self.term(x, s);
            }
            ExprKind::Type(_) => self.unsupported(span, "type terms (`` `t ``) outside `real`"),
            ExprKind::Typecase { .. } => self.unsupported(span, "`typecase` outside `real`"),
            ExprKind::Open { module, path, body } => {
                let mark = (self.locals.len(), self.tlocals.len());
                if let Some(m) = self.resolve_open(module, path) {
                    let mut names: Vec<&String> = m.types.keys().collect();
                    names.sort();
                    let shadowed: Vec<String> = names
                        .iter()
                        .filter(|n| self.tlocals.iter().any(|(k, _)| k == **n))
                        .map(|n| n.to_string())
                        .collect();
                    if !shadowed.is_empty() {
                        self.error(module.span, format!("this `open` would shadow the local type variables: {}", shadowed.join(", ")));
                    }
                    for (k, v) in &m.terms {
                        self.locals.push((k.clone(), v.clone()));
                    }
                    for (k, v) in &m.types {
                        self.tlocals.push((k.clone(), v.clone()));
                    }
                }
                self.term(body, s);
                self.locals.truncate(mark.0);
                self.tlocals.truncate(mark.1);
            }
            ExprKind::Apply(a, b) => self.apply(e, a, b, s),
            ExprKind::IfThenElse(c, a, b) => {
                self.term(c, &mk::prim(Prim::Bool));
                self.term(a, s);
                self.term(b, s);
            }
            ExprKind::IfThen(c, a) => {
                self.term(c, &mk::prim(Prim::Bool));
                self.unify(span, s, &mk::unit());
                self.term(a, &mk::unit());
            }
            ExprKind::Pair(a, b) => {
                let (x, y) = match &*self.cx.shallow(s) {
                    Ty::Pair(x, y) => (x.clone(), y.clone()),
                    _ => {
                        let (x, y) = (self.cx.fresh(self.level), self.cx.fresh(self.level));
                        self.unify(span, s, &mk::pair(x.clone(), y.clone()));
                        (x, y)
                    }
                };
                self.term(a, &x);
                self.term(b, &y);
            }
            ExprKind::Seq(a, b) => {
                self.term(a, &mk::unit());
                self.term(b, s);
            }
            ExprKind::HeapMutableSet { target, path, value } => {
                self.unify(span, s, &mk::unit());
                self.layout_set(span, target, path, value);
            }
            ExprKind::Real(x) => self.bound_check(x),
            ExprKind::Macro(parts) => {
                for p in parts {
                    match p {
                        MacroPart::Text(..) => {}
                        MacroPart::Term(x) => {
                            self.infer(x);
                        }
                        MacroPart::Type(t) | MacroPart::TypeLit(t) => {
                            self.ty(t, false);
                        }
                    }
                }
                self.vr.push((span, s.clone()));
                if self.record_passing {
                    self.cx.passing.macros.push((span, s.clone()));
                }
            }
            ExprKind::Array(items) => {
                let el = self.cx.fresh(self.level);
                self.unify(span, s, &Arc::new(Ty::Array(el.clone())));
                self.vr.push((span, s.clone()));
                for x in items {
                    self.term(x, &el);
                }
            }
            ExprKind::MissingBody => {}
        }
    }

    fn clause(&mut self, p: &Pattern, t: &T, body: &Expr, s: &T) {
        // An `exists` pattern raises the level and binds type names for the rest of the
        // clause; both are undone here.
        let (mark, tmark, level) = (self.locals.len(), self.tlocals.len(), self.level);
        let (emark, outer_emark) = (self.clause_exists.len(), self.clause_exists_mark);
        let lmark = self.cx.var_link_stack.len();
        self.clause_exists_mark = emark;
        let mut bound = Vec::new();
        self.pattern(p, t, &mut bound);
        self.term(body, s);
        self.locals.truncate(mark);
        self.tlocals.truncate(tmark);
        self.clause_exists.truncate(emark);
        self.clause_exists_mark = outer_emark;
        self.cx.undo_var_links(lmark);
        self.level = level;
    }

    /// `exists e` / `exists [t1; t2] e`: the expected type must already be an existential.
    fn exists_term(&mut self, span: Span, types: Option<&[TypeExpr]>, body: &Expr, s: &T) {
        let z = self.cx.shallow(s);
        let Ty::Exists(vs, b) = &*z else {
            let ts = self.show(&z);
            self.error(span, format!("the type of an `exists` term must be known to be existential here; annotate it (found `{ts}`)"));
            self.infer(body);
            return;
        };
        if let Some(ts) = types {
            if ts.len() != vs.len() {
                self.error(span, format!("the existential type hides {}, but {} given", plural(vs.len(), "type"), were(ts.len())));
                self.infer(body);
                return;
            }
        }
        let mut sub = Vec::new();
        let mut witnesses = Vec::new();
        for (i, v) in vs.iter().enumerate() {
            let m = self.cx.fresh_with(self.level, v.cons.clone(), v.kind.clone());
            if let Some(ts) = types {
                let t = self.ty(&ts[i], true);
                self.unify(ts[i].span, &m, &t);
            }
            sub.push((v.id, m.clone()));
            witnesses.push(m);
        }
        let inner = subst(b, &sub);
        self.term(body, &inner);
        let mut open = Vec::new();
        for w in &witnesses {
            if self.cx.has_metas(w) {
                open.push(self.show(w));
            }
        }
        if !open.is_empty() {
            self.error(span, format!("the hidden types of this `exists` are not fully known: [{}]; annotate them (`exists [t] e`)", open.join(", ")));
        }
    }

    /// A GADT case pattern: the case's type variables become rigid, one level deeper, the
    /// payload is matched against the domain, and the scrutinee's type is refined by unifying
    /// it with the case's result type, which may solve rigid variables until the clause ends.
    fn gadt_case_pattern(&mut self, span: Span, case_ty: &T, a: &Pattern, s: &T, bound: &mut Vec<(String, T)>) {
        self.level += 1;
        let mut cur = case_ty.clone();
        let mut sub = Vec::new();
        while let Ty::Forall(v, b) = &*cur.clone() {
            let name = format!("'t{}", letter_name(self.tcounter as usize));
            self.tcounter += 1;
            let nv = self.cx.new_var(name, v.kind.clone(), v.cons.clone(), self.level);
            sub.push((v.id, mk::var(&nv)));
            cur = b.clone();
        }
        let cur = subst(&cur, &sub);
        let (dom, range) = match &*cur {
            Ty::Fun(d, r, _) => (d.clone(), r.clone()),
            _ => (mk::unit(), cur.clone()),
        };
        self.pattern(a, &dom, bound);
        self.cx.gadt_mode = true;
        let r = self.cx.unify(s, &range);
        self.cx.gadt_mode = false;
        if let Err(e) = r {
            self.report(span, e, s, &range);
        }
    }

    /// `exists a b. p`: the scrutinee must be known to be existential; the names become rigid
    /// variables for the rest of the clause, one level deeper, so they cannot escape.
    fn exists_pattern(&mut self, span: Span, names: &[ast::Ident], p: &Pattern, s: &T, bound: &mut Vec<(String, T)>) {
        let z = self.cx.shallow(s);
        let Ty::Exists(vs, b) = &*z else {
            let ts = self.show(&z);
            self.error(span, format!("the value matched by an `exists` pattern must be known to be existential; annotate it (found `{ts}`)"));
            let f = self.cx.fresh(self.level);
            self.pattern(p, &f, bound);
            return;
        };
        if names.len() != vs.len() {
            self.error(span, format!("the existential type hides {}, but the pattern names {}", plural(vs.len(), "type"), names.len()));
            let f = self.cx.fresh(self.level);
            self.pattern(p, &f, bound);
            return;
        }
        // Memoised by name within the clause, so both sides of `|` get the same variables.
        let memo = |this: &Self, n: &str| this.clause_exists[this.clause_exists_mark..].iter().find(|(k, _)| k == n).map(|(_, t)| t.clone());
        if names.iter().any(|n| memo(self, &n.name).is_none()) {
            self.level += 1;
        }
        let mut sub = Vec::new();
        for (n, v) in names.iter().zip(vs.iter()) {
            if let Some(t) = memo(self, &n.name) {
                sub.push((v.id, t));
                continue;
            }
            let var = match self.tlocals.iter().find(|(k, _)| *k == n.name) {
                Some(_) => {
                    self.error(n.span, format!("the existential variable `{}` shadows another type variable; shadowing is not allowed in the top-down segment", n.name));
                    continue;
                }
                None => {
                    let nv = self.cx.new_var(n.name.clone(), v.kind.clone(), v.cons.clone(), self.level);
                    let t = mk::var(&nv);
                    self.tlocals.push((n.name.clone(), TypeBind::Ty(t.clone())));
                    self.clause_exists.push((n.name.clone(), t.clone()));
                    t
                }
            };
            sub.push((v.id, var));
        }
        let inner = subst(b, &sub);
        self.pattern(p, &inner, bound);
    }

    fn var(&mut self, span: Span, name: &str, tvar_applied: bool, s: &T) {
        match self.lookup_term(name) {
            None => match self.bottom_up_home(name) {
                Some(m) => self.error(
                    span,
                    format!("unbound variable `{name}`: it is a bottom-up (`.spir`) function of the module `{m}`, usable only inside `real` (`real {m}.{name} ...`)"),
                ),
                None => self.error(span, format!("unbound variable `{name}`")),
            },
            Some(TermBind::Real) => self.error(
                span,
                format!("`{name}` is a bottom-up (`.spir`) function without a type; it can only be used inside `real` in the top-down segment"),
            ),
            Some(TermBind::Module(_)) => self.error(span, format!("the module `{name}` must be indexed with a member name (`{name}.x`)")),
            Some(TermBind::Val { ty, ctor }) => {
                if let (Some((_, Some(_))), true) = (&ctor, self.record_passing) {
                    // a union case: a nullary one is annotated with its type by the prepass
                    let mut body = &ty;
                    while let Ty::Forall(_, b) = &**body {
                        body = b;
                    }
                    if !matches!(&**body, Ty::Fun(..)) {
                        self.cx.passing.nullary.push((span, s.clone()));
                    }
                }
                self.use_value(span, &ty, tvar_applied, s)
            }
        }
    }

    /// A module in scope that has `name` as an untyped (bottom-up) definition, for the hint of
    /// an unbound name (the first in name order).
    fn bottom_up_home(&self, name: &str) -> Option<String> {
        let mut homes: Vec<&String> = self
            .top
            .terms
            .iter()
            .filter(|(_, b)| matches!(b, TermBind::Module(m) if matches!(m.terms.get(name), Some(TermBind::Real))))
            .map(|(k, _)| k)
            .collect();
        homes.sort();
        homes.first().map(|k| k.to_string())
    }

    /// An unsuffixed number (term or pattern) at `span` of type `s`: a `{number}`
    /// metavariable, recorded for the literal table and the value restriction.
    fn default_lit(&mut self, span: Span, s: &T) {
        let m = self.cx.fresh_with(self.level, [Constraint::Number].into_iter().collect(), Kind::Star);
        self.unify(span, s, &m);
        self.lit_types.push((span, m.clone()));
        self.vr.push((span, m));
    }

    fn use_value(&mut self, span: Span, ty: &T, tvar_applied: bool, s: &T) {
        if tvar_applied {
            let binding = self.cx.passing.of(ty);
            if let Some(b) = binding.filter(|_| self.cx.passing.is_group_meta(ty)) {
                // a recursive use inside the member's own group: its variables are itself
                self.cx.passing.uses.push(super::passing::Use { span, binding: b, inst: None });
            }
            let (metas, t) = self.cx.instantiate(ty, self.level);
            if let Some(b) = binding.filter(|_| !metas.is_empty()) {
                self.cx.passing.uses.push(super::passing::Use { span, binding: b, inst: Some(metas.clone()) });
            }
            for m in metas {
                self.vr.push((span, m));
            }
            self.unify(span, s, &t);
        } else {
            self.unify(span, s, ty);
        }
    }

    /// If `e` denotes a module (`m`, `m.sub`), the module.
    fn module_of(&self, e: &Expr) -> Option<Arc<Names>> {
        match &e.kind {
            ExprKind::Var { name, .. } => match self.lookup_term(name) {
                Some(TermBind::Module(m)) => Some(m),
                _ => None,
            },
            ExprKind::Apply(a, b) => {
                let m = self.module_of(a)?;
                match &b.kind {
                    ExprKind::Symbol(k) => match m.terms.get(k) {
                        Some(TermBind::Module(sub)) => Some(sub.clone()),
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn apply(&mut self, e: &Expr, a: &Expr, b: &Expr, s: &T) {
        let span = e.span;
        // `;[a; b]` arrives as `array` applied to the elements.
        if let (ExprKind::Var { name, .. }, ExprKind::Array(_)) = (&a.kind, &b.kind) {
            if name == "array" && self.lookup_term(name).is_none() {
                self.term(b, s);
                return;
            }
        }
        if let Some(m) = self.module_of(a) {
            match &b.kind {
                ExprKind::Symbol(k) => {
                    self.note(b.span, s);
                    match m.terms.get(k) {
                        Some(TermBind::Val { ty, .. }) => {
                            let ty = ty.clone();
                            self.use_value(span, &ty, true, s);
                        }
                        Some(TermBind::Real) => self.error(
                            span,
                            format!("`{k}` is a bottom-up (`.spir`) function without a type; it can only be used inside `real` in the top-down segment"),
                        ),
                        Some(TermBind::Module(_)) => self.error(span, format!("the module `{k}` must be indexed with a member name")),
                        None => {
                            let mname = module_path_name(a);
                            self.error(b.span, format!("the module `{mname}` has no member `{k}`"))
                        }
                    }
                }
                _ => {
                    let t = self.infer(b);
                    let ts = self.show(&t);
                    self.error(b.span, format!("a module can only be indexed with a symbol, found `{ts}`"));
                }
            }
            return;
        }
        let head = self.infer(a);
        self.apply_type(span, a.span, head, b, s);
    }

    fn apply_type(&mut self, span: Span, head_span: Span, head: T, b: &Expr, s: &T) {
        let mut cur = self.cx.shallow(&head);
        for _ in 0..64 {
            match &*cur {
                Ty::Fun(dom, rng, _) => {
                    let (dom, rng) = (dom.clone(), rng.clone());
                    self.unify(span, s, &rng);
                    self.term(b, &dom);
                    return;
                }
                Ty::Record(fields) => {
                    let fields = fields.clone();
                    self.field(span, &cur, &fields, b, s);
                    return;
                }
                Ty::Layout(inner, _) => {
                    let inner = self.cx.shallow(inner);
                    if let Ty::Record(fields) = &*inner {
                        let fields = fields.clone();
                        self.field(span, &inner, &fields, b, s);
                    } else {
                        let t = self.show(&cur);
                        self.error(head_span, format!("expected a record inside the layout, found `{t}`"));
                        self.infer(b);
                    }
                    return;
                }
                Ty::Nominal(_) | Ty::Apply(..) => {
                    if let Some(body) = self.cx.unwrap_nominal(&cur) {
                        cur = self.cx.shallow(&body);
                        continue;
                    }
                    let t = self.show(&cur);
                    let (h, _) = split_apply(&cur);
                    let msg = match &*h {
                        Ty::Nominal(i) if matches!(self.cx.nominals[i.0 as usize].body, NominalBody::Union { .. }) => {
                            format!("a value of the union type `{t}` cannot be applied")
                        }
                        _ => format!("expected a function, found `{t}`"),
                    };
                    self.error(head_span, msg);
                    self.infer(b);
                    return;
                }
                Ty::Meta(_) => {
                    let v = self.cx.fresh(self.level);
                    self.unify(head_span, &cur, &mk::fun(v.clone(), s.clone()));
                    self.term(b, &v);
                    return;
                }
                _ => {
                    let t = self.show(&cur);
                    self.error(head_span, format!("expected a function, found `{t}`"));
                    self.infer(b);
                    return;
                }
            }
        }
    }

    /// `r.k` on a record type.
    fn field(&mut self, span: Span, rt: &T, fields: &BTreeMap<String, T>, b: &Expr, s: &T) {
        let kt = self.infer(b);
        let kt = self.cx.shallow(&kt);
        match &*kt {
            Ty::Symbol(k) => match fields.get(&**k) {
                Some(ft) => {
                    let ft = ft.clone();
                    self.unify(span, s, &ft);
                }
                None => {
                    let r = self.show(rt);
                    self.error(b.span, format!("the record `{r}` has no field `{k}`"));
                }
            },
            _ => {
                let t = self.show(&kt);
                self.error(b.span, format!("a record can only be indexed with a symbol, found `{t}`"));
            }
        }
    }

    fn symbol_of_var(&mut self, x: &ast::Ident) -> Option<String> {
        let t = match self.lookup_term(&x.name) {
            Some(TermBind::Val { ty, .. }) => ty,
            None => {
                self.error(x.span, format!("unbound variable `{}`", x.name));
                return None;
            }
            _ => {
                self.error(x.span, format!("`{}` is not a symbol", x.name));
                return None;
            }
        };
        let t = self.cx.shallow(&t);
        match &*t {
            Ty::Symbol(k) => Some(k.to_string()),
            _ => {
                let ts = self.show(&t);
                self.error(x.span, format!("expected a variable of symbol type here, found `{ts}`"));
                None
            }
        }
    }

    fn record_with(&mut self, span: Span, bases: &[Expr], with: &[RecordWith], without: &[RecordWithout], s: &T) {
        if bases.is_empty() {
            // A record literal: closed, exactly these fields.
            let expected = match &*self.cx.shallow(s) {
                Ty::Record(m) => Some(m.clone()),
                _ => None,
            };
            let mut fields: BTreeMap<String, T> = BTreeMap::new();
            for w in with {
                let (key, e) = match w {
                    RecordWith::Symbol(k, e) => (Some(k.name.clone()), e),
                    RecordWith::InjectVar(x, e) => (self.symbol_of_var(x), e),
                    RecordWith::SymbolModify(k, e) | RecordWith::InjectVarModify(k, e) => {
                        self.error(k.span, "`#=` needs a record to update (`{r with ...}`)");
                        self.infer(e);
                        continue;
                    }
                };
                let t = match (&key, &expected) {
                    (Some(k), Some(m)) if m.contains_key(k) => m[k].clone(),
                    _ => self.cx.fresh(self.level),
                };
                self.term(e, &t);
                if let Some(k) = key {
                    fields.insert(k, t);
                }
            }
            self.unify(span, s, &Arc::new(Ty::Record(Arc::new(fields))));
            return;
        }
        let errors = self.diags.len();
        // The base and the path into it.
        let base_t = self.infer(&bases[0]);
        let mut chain: Vec<(BTreeMap<String, T>, String)> = Vec::new();
        let mut cur = self.cx.zonk(&base_t);
        let mut ok = true;
        for step in &bases[1..] {
            let key = match &step.kind {
                ExprKind::Symbol(k) => Some(k.clone()),
                ExprKind::Var { name, .. } => self.symbol_of_var(&ast::Ident { name: name.clone(), span: step.span }),
                _ => {
                    self.error(step.span, "expected a symbol in the path of a record update");
                    None
                }
            };
            let Some(key) = key else {
                ok = false;
                break;
            };
            match &*cur {
                Ty::Record(m) => match m.get(&key) {
                    Some(t) => {
                        let next = self.cx.zonk(t);
                        chain.push(((**m).clone(), key));
                        cur = next;
                    }
                    None => {
                        let r = self.show(&cur);
                        self.error(step.span, format!("the record `{r}` has no field `{key}`"));
                        ok = false;
                        break;
                    }
                },
                Ty::Meta(_) => {
                    self.error(step.span, "the type of the record being updated must be known here; add an annotation");
                    ok = false;
                    break;
                }
                _ => {
                    let r = self.show(&cur);
                    self.error(step.span, format!("expected a record, found `{r}`"));
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            for w in with {
                match w {
                    RecordWith::Symbol(_, e) | RecordWith::SymbolModify(_, e) | RecordWith::InjectVar(_, e) | RecordWith::InjectVarModify(_, e) => {
                        self.infer(e);
                    }
                }
            }
            return;
        }
        let mut fields = match &*cur {
            Ty::Record(m) => (**m).clone(),
            Ty::Meta(_) => {
                self.error(bases[0].span, "the type of the record being updated must be known here; add an annotation");
                BTreeMap::new()
            }
            _ => {
                let r = self.show(&cur);
                self.error(bases[bases.len() - 1].span, format!("expected a record, found `{r}`"));
                BTreeMap::new()
            }
        };
        for w in with {
            match w {
                RecordWith::Symbol(k, e) => {
                    let t = self.cx.fresh(self.level);
                    self.term(e, &t);
                    fields.insert(k.name.clone(), t);
                }
                RecordWith::InjectVar(x, e) => {
                    let t = self.cx.fresh(self.level);
                    self.term(e, &t);
                    if let Some(k) = self.symbol_of_var(x) {
                        fields.insert(k, t);
                    }
                }
                RecordWith::SymbolModify(k, e) | RecordWith::InjectVarModify(k, e) => {
                    let key = if matches!(w, RecordWith::SymbolModify(..)) { Some(k.name.clone()) } else { self.symbol_of_var(k) };
                    let Some(key) = key else {
                        self.infer(e);
                        continue;
                    };
                    match fields.get(&key).cloned() {
                        Some(old) => {
                            let new = self.cx.fresh(self.level);
                            self.term(e, &mk::fun(old, new.clone()));
                            fields.insert(key, new);
                        }
                        None => {
                            let r = self.show(&Arc::new(Ty::Record(Arc::new(fields.clone()))));
                            self.error(k.span, format!("the record `{r}` has no field `{key}`"));
                            self.infer(e);
                        }
                    }
                }
            }
        }
        for w in without {
            let key = match w {
                RecordWithout::Symbol(k) => Some(k.name.clone()),
                RecordWithout::InjectVar(x) => self.symbol_of_var(x),
            };
            if let Some(k) = key {
                fields.remove(&k);
            }
        }
        let mut result = Arc::new(Ty::Record(Arc::new(fields)));
        for (mut m, k) in chain.into_iter().rev() {
            m.insert(k, result);
            result = Arc::new(Ty::Record(Arc::new(m)));
        }
        if self.diags.len() == errors {
            self.unify(span, s, &result);
        }
    }

    fn layout_set(&mut self, span: Span, target: &Expr, path: &[Expr], value: &Expr) {
        let t = self.infer(target);
        let t = self.cx.zonk(&t);
        match &*t {
            Ty::Layout(inner, Layout::HeapMutable | Layout::StackMutable) => {
                let mut cur = self.cx.zonk(inner);
                for step in path {
                    let Ty::Record(m) = &*cur else {
                        let r = self.show(&cur);
                        self.error(step.span, format!("expected a record, found `{r}`"));
                        self.infer(value);
                        return;
                    };
                    let key = match &step.kind {
                        ExprKind::Symbol(k) => k.clone(),
                        _ => {
                            self.error(step.span, "expected a symbol in the path of `<-`");
                            self.infer(value);
                            return;
                        }
                    };
                    match m.get(&key) {
                        Some(ft) => {
                            let next = self.cx.zonk(ft);
                            cur = next;
                        }
                        None => {
                            let r = self.show(&cur);
                            self.error(step.span, format!("the record `{r}` has no field `{key}`"));
                            self.infer(value);
                            return;
                        }
                    }
                }
                self.term(value, &cur);
            }
            Ty::Array(el) if path.len() == 1 => {
                let el = el.clone();
                let i = self.cx.fresh_with(self.level, [Constraint::Int].into_iter().collect(), Kind::Star);
                self.term(&path[0], &i);
                self.term(value, &el);
            }
            Ty::Meta(_) => {
                self.error(target.span, "the type of the value being set with `<-` must be known here; add an annotation");
                self.infer(value);
            }
            _ => {
                let r = self.show(&t);
                self.error(span, format!("expected a mutable layout (`mut t` or `stack_mut t`), found `{r}`"));
                self.infer(value);
            }
        }
    }

    // ---------------------------------------------------------------- bound checks

    /// Checks that the names a bottom-up expression uses are bound.
    fn bound_check(&mut self, e: &Expr) {
        if !self.bound_check {
            return;
        }
        let mut scope: Vec<String> = Vec::new();
        self.bc(e, &mut scope);
    }

    fn bc_known(&self, n: &str, scope: &[String]) -> bool {
        scope.iter().any(|x| x == n)
            || self.lookup_term(n).is_some()
            || self.lookup_type(n).is_some()
            || self.top.cons.contains_key(n)
            || n == "array"
    }

    fn bc_pat(p: &Pattern, out: &mut Vec<String>) {
        match &p.kind {
            PatternKind::Var(n) => out.push(n.clone()),
            PatternKind::Dyn(a) | PatternKind::Unbox(_, a) | PatternKind::Annot(a, _) | PatternKind::Exists(_, a) => Self::bc_pat(a, out),
            PatternKind::Nominal { pat, .. } => Self::bc_pat(pat, out),
            PatternKind::When(a, _) => Self::bc_pat(a, out),
            PatternKind::Pair(a, b) | PatternKind::Or(a, b) | PatternKind::And(a, b) => {
                Self::bc_pat(a, out);
                Self::bc_pat(b, out);
            }
            PatternKind::Record(ms) => ms.iter().for_each(|m| match m {
                PatRecordMember::Symbol(_, p) | PatRecordMember::InjectVar(_, p) => Self::bc_pat(p, out),
            }),
            PatternKind::Array(ps) => ps.iter().for_each(|p| Self::bc_pat(p, out)),
            _ => {}
        }
    }

    fn bc(&mut self, e: &Expr, scope: &mut Vec<String>) {
        match &e.kind {
            ExprKind::Var { name, .. } => {
                if !self.bc_known(name, scope) {
                    self.error(e.span, format!("unbound variable `{name}`"));
                }
            }
            ExprKind::Match { scrutinee, clauses } => {
                self.bc(scrutinee, scope);
                for (p, b) in clauses {
                    let mark = scope.len();
                    Self::bc_pat(p, scope);
                    if let PatternKind::When(_, g) = &p.kind {
                        self.bc(g, scope);
                    }
                    self.bc(b, scope);
                    scope.truncate(mark);
                }
            }
            ExprKind::Fun(clauses) => {
                for (p, b) in clauses {
                    let mark = scope.len();
                    Self::bc_pat(p, scope);
                    self.bc(b, scope);
                    scope.truncate(mark);
                }
            }
            ExprKind::Forall(tv, b) => {
                scope.push(tv.var.name.name.clone());
                self.bc(b, scope);
                scope.pop();
            }
            ExprKind::Exists { body, .. } | ExprKind::JoinPoint { body, .. } | ExprKind::Real(body) => self.bc(body, scope),
            ExprKind::Annot(a, _) => self.bc(a, scope),
            ExprKind::RecBlock { bindings, body } => {
                let mark = scope.len();
                scope.extend(bindings.iter().map(|(n, _)| n.name.clone()));
                for (_, b) in bindings {
                    self.bc(b, scope);
                }
                self.bc(body, scope);
                scope.truncate(mark);
            }
            ExprKind::RecordWith { bases, with, .. } => {
                for b in bases {
                    self.bc(b, scope);
                }
                for w in with {
                    match w {
                        RecordWith::Symbol(_, e) | RecordWith::SymbolModify(_, e) | RecordWith::InjectVar(_, e) | RecordWith::InjectVarModify(_, e) => {
                            self.bc(e, scope)
                        }
                    }
                }
            }
            ExprKind::Op { args, .. } | ExprKind::Array(args) => args.iter().for_each(|a| self.bc(a, scope)),
            ExprKind::Typecase { clauses, .. } => {
                for (t, b) in clauses {
                    let mark = scope.len();
                    Self::bc_tmeta(t, scope);
                    self.bc(b, scope);
                    scope.truncate(mark);
                }
            }
            ExprKind::Open { body, .. } => {
                // The opened names are not tracked here; skip the body's free names.
                let _ = body;
            }
            ExprKind::Apply(a, b) | ExprKind::Pair(a, b) | ExprKind::Seq(a, b) | ExprKind::IfThen(a, b) => {
                self.bc(a, scope);
                // `m.x`: the member is a symbol, nothing to check.
                self.bc(b, scope);
            }
            ExprKind::IfThenElse(a, b, c) => {
                self.bc(a, scope);
                self.bc(b, scope);
                self.bc(c, scope);
            }
            ExprKind::HeapMutableSet { target, path, value } => {
                self.bc(target, scope);
                path.iter().for_each(|p| self.bc(p, scope));
                self.bc(value, scope);
            }
            ExprKind::Macro(parts) => parts.iter().for_each(|p| {
                if let MacroPart::Term(x) = p {
                    self.bc(x, scope)
                }
            }),
            ExprKind::Unit | ExprKind::Lit(_) | ExprKind::DefaultLit(_) | ExprKind::Symbol(_) | ExprKind::Type(_) | ExprKind::MissingBody => {}
        }
    }

    fn bc_tmeta(t: &TypeExpr, out: &mut Vec<String>) {
        match &t.kind {
            TypeKind::MetaVar(n) => out.push(n.clone()),
            TypeKind::Pair(a, b) | TypeKind::Fun(a, b) | TypeKind::Apply(a, b) => {
                Self::bc_tmeta(a, out);
                Self::bc_tmeta(b, out);
            }
            TypeKind::Record(fs) => fs.iter().for_each(|(_, t)| Self::bc_tmeta(t, out)),
            _ => {}
        }
    }

    // ---------------------------------------------------------------- patterns

    fn bind_pat_var(&mut self, span: Span, n: &str, s: &T, bound: &mut Vec<(String, T)>) {
        if let Some((_, t)) = bound.iter().find(|(k, _)| k == n) {
            let t = t.clone();
            self.unify(span, &t, s);
            return;
        }
        self.note(span, s);
        bound.push((n.to_string(), s.clone()));
        self.locals.push((n.to_string(), TermBind::Val { ty: s.clone(), ctor: None }));
    }

    fn fresh_nominal(&mut self, id: NominalId) -> (T, Vec<(u32, T)>) {
        let params = self.cx.nominals[id.0 as usize].params.clone();
        let mut t = Arc::new(Ty::Nominal(id));
        let mut sub = Vec::new();
        for p in params {
            let m = self.cx.fresh_with(self.level, CSet::new(), p.kind.clone());
            let k = match self.cx.kind_of(&t) {
                Kind::Fun(_, k) => (*k).clone(),
                Kind::Star => Kind::Star,
            };
            t = mk::apply(t, m.clone(), k);
            sub.push((p.id, m));
        }
        (t, sub)
    }

    fn pattern(&mut self, p: &Pattern, s: &T, bound: &mut Vec<(String, T)>) {
        let span = p.span;
        match &p.kind {
            PatternKind::Unit => {
                self.unify(span, s, &mk::unit());
            }
            PatternKind::Wildcard => {}
            PatternKind::Var(n) => self.bind_pat_var(span, n, s, bound),
            PatternKind::Dyn(a) => {
                if self.record_passing {
                    self.cx.passing.dyns.push((p.span, s.clone()));
                }
                self.pattern(a, s, bound)
            }
            PatternKind::Unbox(case, a) => {
                let z = self.cx.zonk(s);
                let (head, _) = split_apply(&z);
                let id = match &*head {
                    Ty::Nominal(i) => Some(*i),
                    _ => match self.lookup_term(case) {
                        Some(TermBind::Val { ctor: Some((i, Some(_))), .. }) => Some(i),
                        Some(TermBind::Val { .. }) => {
                            self.error(span, format!("`{case}` is not a union case"));
                            None
                        }
                        _ => {
                            self.error(span, format!("unknown union case `{case}`"));
                            None
                        }
                    },
                };
                let Some(id) = id else {
                    let f = self.cx.fresh(self.level);
                    self.pattern(a, &f, bound);
                    return;
                };
                let (nt, sub) = self.fresh_nominal(id);
                if !self.unify(span, s, &nt) {
                    let f = self.cx.fresh(self.level);
                    self.pattern(a, &f, bound);
                    return;
                }
                let payload = match &self.cx.nominals[id.0 as usize].body {
                    NominalBody::Union { cases, .. } => cases.iter().find(|c| c.name == *case).map(|c| (c.ty.clone(), c.gadt)).ok_or(true),
                    _ => Err(false),
                };
                match payload {
                    Ok((t, false)) => {
                        let t = subst(&t, &sub);
                        self.pattern(a, &t, bound);
                    }
                    Ok((t, true)) => self.gadt_case_pattern(span, &t, a, s, bound),
                    Err(is_union) => {
                        let n = self.cx.nominal_names[id.0 as usize].clone();
                        if is_union {
                            self.error(span, format!("the union `{n}` has no case `{case}`"));
                        } else {
                            self.error(span, format!("`{n}` is a nominal, not a union; it has no cases"));
                        }
                        let f = self.cx.fresh(self.level);
                        self.pattern(a, &f, bound);
                    }
                }
            }
            PatternKind::Exists(names, a) => self.exists_pattern(span, names, a, s, bound),
            PatternKind::Annot(a, t) => {
                let tt = self.ty(t, true);
                self.unify(t.span, s, &tt);
                self.pattern(a, s, bound);
            }
            PatternKind::Pair(a, b) => {
                let (x, y) = match &*self.cx.shallow(s) {
                    Ty::Pair(x, y) => (x.clone(), y.clone()),
                    _ => {
                        let (x, y) = (self.cx.fresh(self.level), self.cx.fresh(self.level));
                        self.unify(span, s, &mk::pair(x.clone(), y.clone()));
                        (x, y)
                    }
                };
                self.pattern(a, &x, bound);
                self.pattern(b, &y, bound);
            }
            PatternKind::Symbol(x) => {
                self.unify(span, s, &mk::symbol(x));
            }
            PatternKind::Record(members) => {
                let mut keyed = Vec::new();
                for m in members {
                    match m {
                        PatRecordMember::Symbol(k, p) => keyed.push((Some(k.name.clone()), k.span, p)),
                        PatRecordMember::InjectVar(x, p) => {
                            let k = self.symbol_of_var(x);
                            keyed.push((k, x.span, p))
                        }
                    }
                }
                let z = self.cx.shallow(s);
                match &*z {
                    Ty::Record(fields) => {
                        let fields = fields.clone();
                        let missing: Vec<String> = keyed.iter().filter_map(|(k, _, _)| k.clone()).filter(|k| !fields.contains_key(k)).collect();
                        if !missing.is_empty() {
                            let r = self.show(&z);
                            self.error(span, format!("the record `{r}` is missing the fields the pattern matches: {}", missing.join(", ")));
                        }
                        for (k, _, p) in keyed {
                            let t = match k.and_then(|k| fields.get(&k).cloned()) {
                                Some(t) => t,
                                None => self.cx.fresh(self.level),
                            };
                            self.pattern(p, &t, bound);
                        }
                    }
                    _ => {
                        let mut fields = BTreeMap::new();
                        let mut typed = Vec::new();
                        for (k, _, p) in keyed {
                            let t = self.cx.fresh(self.level);
                            if let Some(k) = k {
                                fields.insert(k, t.clone());
                            }
                            typed.push((p, t));
                        }
                        self.unify(span, s, &Arc::new(Ty::Record(Arc::new(fields))));
                        for (p, t) in typed {
                            self.pattern(p, &t, bound);
                        }
                    }
                }
            }
            PatternKind::Or(a, b) => {
                self.pattern(a, s, bound);
                self.pattern(b, s, bound);
            }
            PatternKind::And(a, b) => {
                self.pattern(a, s, bound);
                self.pattern(b, s, bound);
            }
            PatternKind::Lit(l) => {
                self.unify(span, s, &mk::prim(lit_prim(l)));
            }
            PatternKind::DefaultLit(_) => self.default_lit(span, s),
            PatternKind::When(a, g) => {
                self.pattern(a, s, bound);
                self.term(g, &mk::prim(Prim::Bool));
            }
            PatternKind::Nominal { name, path, pat } => {
                let mut bind = self.lookup_type(&name.name);
                for k in path {
                    bind = match bind {
                        Some(TypeBind::Module(m)) => match m.types.get(&k.name) {
                            Some(b) => Some(b.clone()),
                            None => {
                                self.error(k.span, format!("the module has no member `{}`", k.name));
                                None
                            }
                        },
                        _ => {
                            self.error(k.span, "expected a module before this path");
                            None
                        }
                    };
                }
                let id = match bind {
                    Some(TypeBind::Ty(t)) => match &*t {
                        Ty::Nominal(i) => Some(*i),
                        _ => None,
                    },
                    None if path.is_empty() => {
                        self.error(name.span, format!("unbound type `{}`", name.name));
                        let f = self.cx.fresh(self.level);
                        self.pattern(pat, &f, bound);
                        return;
                    }
                    _ => None,
                };
                let Some(id) = id else {
                    self.error(name.span, format!("`{}` is not a nominal type", name.name));
                    let f = self.cx.fresh(self.level);
                    self.pattern(pat, &f, bound);
                    return;
                };
                let body = match &self.cx.nominals[id.0 as usize].body {
                    NominalBody::Plain(b) => Some(b.clone()),
                    _ => None,
                };
                let (nt, sub) = self.fresh_nominal(id);
                self.unify(span, s, &nt);
                match body {
                    Some(b) => {
                        let b = subst(&b, &sub);
                        self.pattern(pat, &b, bound);
                    }
                    None => {
                        self.error(name.span, format!("`{}` is a union; match its cases instead", name.name));
                        let f = self.cx.fresh(self.level);
                        self.pattern(pat, &f, bound);
                    }
                }
            }
            PatternKind::Array(ps) => {
                let el = self.cx.fresh(self.level);
                self.unify(span, s, &Arc::new(Ty::Array(el.clone())));
                for p in ps {
                    self.pattern(p, &el, bound);
                }
            }
        }
    }

    // ---------------------------------------------------------------- types

    /// Elaborates a type expression of kind `*`. `wild` allows `_`.
    pub fn ty(&mut self, te: &TypeExpr, wild: bool) -> T {
        let (t, head) = self.ty_any(te, wild);
        let k = self.cx.kind_of(&t);
        if k != Kind::Star {
            let msg = match head {
                Some((name, total, given)) => format!(
                    "wrong number of type arguments: `{name}` takes {}, but {} given",
                    plural(total, "type argument"),
                    were(given)
                ),
                None => format!("kind mismatch: expected a type of kind `*`, found one of kind `{k}`"),
            };
            self.error(te.span, msg);
            return self.cx.fresh(self.level);
        }
        t
    }

    /// Elaborates a type expression of any kind; when it is a named type (possibly applied),
    /// also returns the name, how many arguments it takes and how many it was given.
    fn ty_any(&mut self, te: &TypeExpr, wild: bool) -> (T, Option<(String, usize, usize)>) {
        match &te.kind {
            TypeKind::Var(_) | TypeKind::Apply(..) => self.ty_spine(te, wild),
            _ => (self.ty_leaf(te, wild), None),
        }
    }

    fn ty_spine(&mut self, te: &TypeExpr, wild: bool) -> (T, Option<(String, usize, usize)>) {
        let mut args: Vec<&TypeExpr> = Vec::new();
        let mut head = te;
        while let TypeKind::Apply(f, a) = &head.kind {
            args.push(a);
            head = f;
        }
        args.reverse();
        if let (TypeKind::Wildcard, true) = (&head.kind, wild && !args.is_empty()) {
            // `_ t`: a type function to be inferred (v2's fill)
            let h = self.cx.fresh_with(self.level, CSet::new(), Kind::arity(args.len()));
            return (self.ty_apply_args(te.span, h, None, &args, wild), None);
        }
        let TypeKind::Var(n) = &head.kind else {
            let (h, _) = self.ty_any(head, wild);
            return (self.ty_apply_args(te.span, h, None, &args, wild), None);
        };
        let mut name = n.clone();
        let mut bind = self.lookup_type(n);
        let mut rest: &[&TypeExpr] = &args;
        // `m.t`: module member types.
        while let Some(TypeBind::Module(m)) = &bind {
            let Some(first) = rest.first() else { break };
            let TypeKind::Symbol(k) = &first.kind else { break };
            let next = m.types.get(k).cloned();
            if next.is_none() {
                self.error(first.span, format!("the module `{name}` has no type `{k}`"));
                return (self.cx.fresh(self.level), None);
            }
            bind = next;
            name = k.clone();
            rest = &rest[1..];
        }
        match bind {
            None => {
                self.error(head.span, format!("unbound type `{n}`"));
                for a in rest {
                    self.ty_any(a, wild);
                }
                (self.cx.fresh(self.level), None)
            }
            Some(TypeBind::Module(_)) => {
                self.error(head.span, format!("`{name}` is a module, not a type"));
                (self.cx.fresh(self.level), None)
            }
            Some(TypeBind::Builtin(b)) => {
                if rest.len() != 1 {
                    self.error(te.span, format!("wrong number of type arguments: `{name}` takes 1 type argument, but {} given", were(rest.len())));
                    for a in rest {
                        self.ty_any(a, wild);
                    }
                    return (self.cx.fresh(self.level), None);
                }
                let a = self.ty(rest[0], wild);
                let t = match b {
                    Builtin::Array => Arc::new(Ty::Array(a)),
                    Builtin::Layout(l) => Arc::new(Ty::Layout(a, l)),
                    Builtin::Flavor(fl) => match &*self.cx.shallow(&a) {
                        Ty::Fun(x, y, _) => Arc::new(Ty::Fun(x.clone(), y.clone(), fl)),
                        _ => {
                            let ts = self.show(&a);
                            self.error(rest[0].span, format!("`{name}` takes a function type, found `{ts}`"));
                            self.cx.fresh(self.level)
                        }
                    },
                };
                (t, None)
            }
            Some(TypeBind::Alias(al)) => {
                let (params, body) = (&al.0, &al.1);
                if rest.len() < params.len() {
                    self.error(
                        te.span,
                        format!(
                            "wrong number of type arguments: the type alias `{name}` takes {}, but {} given",
                            plural(params.len(), "type argument"),
                            were(rest.len())
                        ),
                    );
                    for a in rest {
                        self.ty_any(a, wild);
                    }
                    return (self.cx.fresh(self.level), None);
                }
                let mut sub = Vec::new();
                for (p, a) in params.iter().zip(rest.iter()) {
                    let (at, _) = self.ty_any(a, wild);
                    let k = self.cx.kind_of(&at);
                    if k != p.kind {
                        self.error(a.span, format!("kind mismatch: expected `{}`, found `{k}`", p.kind));
                    }
                    sub.push((p.id, at));
                }
                let t = subst(body, &sub);
                let more = &rest[params.len()..];
                let total = params.len() + kind_arity(&self.cx.kind_of(&t));
                (self.ty_apply_args(te.span, t, Some(&name), more, wild), Some((name, total, rest.len())))
            }
            Some(TypeBind::Ty(t)) => {
                let total = kind_arity(&self.cx.kind_of(&t));
                (self.ty_apply_args(te.span, t, Some(&name), rest, wild), Some((name, total, rest.len())))
            }
        }
    }

    fn ty_apply_args(&mut self, span: Span, mut t: T, name: Option<&str>, args: &[&TypeExpr], wild: bool) -> T {
        let total = kind_arity(&self.cx.kind_of(&t));
        for a in args {
            match self.cx.kind_of(&t) {
                Kind::Fun(q, w) => {
                    let (at, _) = self.ty_any(a, wild);
                    let k = self.cx.kind_of(&at);
                    if k != *q {
                        self.error(a.span, format!("kind mismatch: expected a type of kind `{q}`, found one of kind `{k}`"));
                    }
                    t = mk::apply(t, at, (*w).clone());
                }
                Kind::Star => {
                    let what = name.map(|n| format!("`{n}`")).unwrap_or_else(|| "this type".into());
                    self.error(
                        span,
                        format!(
                            "wrong number of type arguments: {what} takes {}, but {} given",
                            plural(total, "type argument"),
                            were(args.len())
                        ),
                    );
                    for a in args {
                        self.ty_any(a, wild);
                    }
                    return self.cx.fresh(self.level);
                }
            }
        }
        t
    }

    fn ty_leaf(&mut self, te: &TypeExpr, wild: bool) -> T {
        match &te.kind {
            TypeKind::Wildcard => {
                if !wild {
                    self.error(te.span, "`_` is not allowed in a declaration's type");
                }
                self.cx.fresh(self.level)
            }
            TypeKind::Unit => mk::unit(),
            TypeKind::MetaVar(n) => {
                self.error(te.span, format!("`~{n}` is only allowed in `typecase` patterns"));
                self.cx.fresh(self.level)
            }
            TypeKind::Lit(l) => Arc::new(Ty::Lit(lit_text(l).into())),
            TypeKind::DefaultLit(x) => {
                let suffix = if x.contains(['.', 'e', 'E']) && !x.starts_with("0x") { "f64" } else { "i32" };
                Arc::new(Ty::Lit(format!("{x}{suffix}").into()))
            }
            TypeKind::Pair(a, b) => {
                let (x, y) = (self.ty(a, wild), self.ty(b, wild));
                mk::pair(x, y)
            }
            TypeKind::Fun(a, b) => {
                let (x, y) = (self.ty(a, wild), self.ty(b, wild));
                mk::fun(x, y)
            }
            TypeKind::Record(fields) => {
                let mut m = BTreeMap::new();
                for (k, t) in fields {
                    let t = self.ty(t, wild);
                    if m.insert(k.name.clone(), t).is_some() {
                        self.error(k.span, format!("the field `{}` is written twice", k.name));
                    }
                }
                Arc::new(Ty::Record(Arc::new(m)))
            }
            TypeKind::Symbol(x) => mk::symbol(x),
            TypeKind::Forall(tv, body) => {
                if self.tlocals.iter().any(|(n, _)| *n == tv.var.name.name) {
                    self.error(tv.var.name.span, format!("the forall variable `{}` shadows another one; shadowing of foralls is not allowed in the top-down segment", tv.var.name.name));
                }
                let v = self.type_var(tv, self.level + 1);
                let mark = self.tlocals.len();
                self.tlocals.push((v.name.clone(), TypeBind::Ty(mk::var(&v))));
                let b = self.ty(body, wild);
                self.tlocals.truncate(mark);
                if !mentions_var(&self.cx.zonk(&b), v.id) {
                    self.error(tv.var.name.span, format!("the type variable `{}` is not used in the type", v.name));
                }
                Arc::new(Ty::Forall(v, b))
            }
            TypeKind::Exists(tvs, body) => {
                let mark = self.tlocals.len();
                let mut vs = Vec::new();
                for tv in tvs {
                    if self.tlocals[..mark].iter().any(|(n, _)| *n == tv.var.name.name) {
                        self.error(tv.var.name.span, format!("the existential variable `{}` shadows another type variable; shadowing is not allowed in the top-down segment", tv.var.name.name));
                    }
                    let v = self.type_var(tv, self.level + 1);
                    self.tlocals.push((v.name.clone(), TypeBind::Ty(mk::var(&v))));
                    vs.push((v, tv.var.name.span));
                }
                let b = self.ty(body, wild);
                self.tlocals.truncate(mark);
                let zb = self.cx.zonk(&b);
                for (v, span) in &vs {
                    if !mentions_var(&zb, v.id) {
                        self.error(*span, format!("the type variable `{}` is not used in the type", v.name));
                    }
                }
                Arc::new(Ty::Exists(vs.into_iter().map(|(v, _)| v).collect(), b))
            }
            TypeKind::Term(e) => {
                self.bound_check(e);
                Arc::new(Ty::Term)
            }
            TypeKind::Macro(parts) => {
                let mut out = Vec::new();
                for p in parts {
                    match p {
                        MacroPart::Text(s, _) => out.push(MacroTy::Text(s.clone())),
                        MacroPart::Type(t) => {
                            let t = self.ty(t, false);
                            out.push(MacroTy::Type(t))
                        }
                        MacroPart::TypeLit(t) => {
                            let t = self.ty(t, false);
                            out.push(MacroTy::TypeLit(t))
                        }
                        MacroPart::Term(x) => {
                            self.error(x.span, "a type macro cannot contain a term (`!x`)");
                        }
                    }
                }
                Arc::new(Ty::Macro(out.into()))
            }
            TypeKind::Union { .. } => {
                self.error(te.span, "a union type is only allowed as the body of a `union` declaration");
                self.cx.fresh(self.level)
            }
            TypeKind::Var(_) | TypeKind::Apply(..) => self.ty_spine(te, wild).0,
        }
    }
}

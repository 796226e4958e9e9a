//! Hindley-Milner type inference for the top-down segment (`.spi` files), after v2's
//! `Infer.fs`.
//!
//! The stage reads the AST ([`crate::syntax::ast`]) and produces, per run, an [`InferResult`]:
//! every diagnostic, the generalised type of every top-level definition of the root package,
//! the type of every checked expression (by span) and of every unsuffixed literal. It does not
//! change the AST.
//!
//! Evaluation: [`crate::prepass::prepare`] runs [`check_graph`] on every graph with top-down
//! modules. Errors at top-down modules stop compilation there; otherwise the prepass gives each
//! unsuffixed literal the primitive type found ([`InferResult::literal_prims`]) instead of the
//! bottom-up default. Inferred type applications and annotations (v2's `fill`) are not passed
//! on yet: a literal whose type is a generalised variable keeps the default.
//!
//! Entry points:
//! - [`check_graph`] (also [`check_package`]): every package of a loaded [`ProjectGraph`] in
//!   dependency order, modules in the `package.spiproj` order; `.spi` modules are inferred,
//!   `.spir` modules contribute their type declarations and untyped ("real") names;
//! - [`check_module`]: one parsed top-down module with only the built-in names and the typed
//!   core signatures in scope.
//!
//! What is covered, following v2 (see `infer_semantics.md`): literals (unsuffixed numbers are
//! `{number}` metavariables, with no defaulting), `inl`/`let` with v2's generalisation rule
//! (only syntactic functions generalise), recursive and mutually recursive groups (monomorphic
//! inside the group unless fully annotated with `forall`), lambdas, application, annotations,
//! `forall` (also higher rank in annotations), `if`, `match` with patterns over tuples, records,
//! literals, symbols, union cases, nominals, arrays, `when` and `|`/`&`, unions (generic and
//! recursive) and nominals with their constructors, type aliases, records (literals, `.x`
//! access, `with`/`without` updates), layouts and `<-`, symbols, macros (typed by their
//! context), `!!!!` ops and `real` (bound-checked only, typed by their context), join points,
//! `open` and module members across the modules and packages of a graph, prototypes (type
//! classes, also over higher-kinded selectors) and their instances with v2's arity, kind,
//! duplicate and orphan rules, existential types, terms (`exists e`, `exists [t] e`) and
//! patterns (`exists a. p`, whose variables are rigid and cannot escape the clause), GADT-style
//! union cases (`Case :: forall a. dom -> n args`) whose patterns refine the scrutinee's rigid
//! type variables for the clause. Unresolved metavariables at v2's "filled" sites are reported
//! as in v2's value restriction.
//!
//! Not covered yet (each reported as "not supported by inference yet: ..." at its span):
//! instances in `.spir` modules, and bottom-up-only syntax (`typecase`, type terms) outside
//! `real` (the parser only produces these under `real`).
//!
//! The bundled `core` library is bottom-up, so its functions have no types; `core_sigs.spi`
//! gives the common ones (operators, conversions, layouts, arrays, strings, printing) top-down
//! signatures. Any other core function used directly in top-down code is an error, as in v2.

#![warn(missing_docs)]

pub mod check;
pub mod env;
pub mod passing;
pub mod types;
pub mod unify;

use crate::diagnostics::{Diagnostic, FileId, Span};
use crate::project::{PackageSource, ProjectGraph};
use crate::syntax::{self, ast, Segment};
use check::Checker;
use env::{Names, TermBind};
use std::collections::BTreeMap;
use std::sync::Arc;
use types::{MetaStyle, Printer, T};
use unify::Ctx;

pub use check::UNSUPPORTED;

/// The typed signatures of the bundled core library's common functions (a top-down module).
pub const CORE_SIGNATURES: &str = include_str!("core_sigs.spi");

/// The typed signatures of the bundled library modules `inv` and `kernel` (the inverse-array
/// type `inv_array el` and the kernels), one `//== module` section each.
pub const LIBRARY_SIGNATURES: &str = include_str!("library_sigs.spi");

/// A top-level definition and its generalised type.
#[derive(Clone, Debug)]
pub struct TopDef {
    /// The module it is in (`None` for a single file or an included module).
    pub module: Option<String>,
    /// Its name.
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    /// Its type scheme (`forall`s first), or `None` for a bottom-up definition.
    pub scheme: Option<T>,
    /// The scheme printed in Spiral syntax (`real` for a bottom-up definition).
    pub ty: String,
}

/// A closed type in a form the prepass can translate: nominals by name.
#[derive(Clone, Debug, PartialEq)]
pub enum Closed {
    /// `()`
    Unit,
    /// A primitive.
    Prim(types::Prim),
    /// `.name`
    Symbol(String),
    /// `a * b`
    Pair(Box<Closed>, Box<Closed>),
    /// `{a : t; ...}` (keys sorted)
    Record(Vec<(String, Closed)>),
    /// `array t`
    Array(Box<Closed>),
    /// `a -> b`
    Fun(Box<Closed>, Box<Closed>),
    /// A nominal or union (by its name and where that is declared) applied to arguments.
    Nominal(String, Span, Vec<Closed>),
    /// A passed type variable (by id, see [`InferResult::type_params`]): the prepass refers to
    /// the type parameter that holds it.
    Var(u32),
    /// `heap t`, `mut t`, `stack_mut t`
    Layout(Box<Closed>, types::Layout),
    /// A passed type variable (a type function) applied to arguments: `m a`.
    Apply(Box<Closed>, Vec<Closed>),
    /// A type macro `` $"text `t" ``.
    Macro(Vec<ClosedMacro>),
}

/// One part of a [`Closed::Macro`].
#[derive(Clone, Debug, PartialEq)]
pub enum ClosedMacro {
    /// Literal text.
    Text(String),
    /// A spliced type.
    Type(Closed),
    /// A spliced type literal (`@t`).
    TypeLit(Closed),
}

impl Closed {
    /// The leaves that need no session: `()`, primitives and symbols.
    fn from_simple(t: &T) -> Option<Closed> {
        use types::Ty;
        Some(match &**t {
            Ty::Unit => Closed::Unit,
            Ty::Prim(p) => Closed::Prim(*p),
            Ty::Symbol(x) => Closed::Symbol(x.to_string()),
            _ => return None,
        })
    }
}

/// The result of inference.
pub struct InferResult {
    /// Every checked expression's type (solved as far as inference got), by the expression's
    /// span, in the order they were checked. Several entries may share a span (desugared
    /// nodes); the first is the outermost.
    pub types: Vec<(Span, T)>,
    /// The root package's top-level definitions in source order (modules in order).
    pub defs: Vec<TopDef>,
    /// The type of every unsuffixed numeric literal of a top-down module (in terms and in
    /// patterns), by the literal's span, solved as far as inference got. See
    /// [`InferResult::literal_prims`].
    pub literals: Vec<(Span, T)>,
    /// Every error found, in the order found.
    pub diagnostics: Vec<Diagnostic>,
    nominal_names: Vec<String>,
    proto_names: Vec<String>,
    nominal_spans: Vec<Span>,
    /// Type passing (see [`passing`]): the passed type parameters of each generalised binding,
    /// by the span of its bound expression, in order, each with its written name for a `forall`.
    pub type_params: rustc_hash::FxHashMap<Span, Vec<(u32, Option<String>)>>,
    /// The types a use of such a binding passes, by the span of the use, in parameter order.
    pub type_args: rustc_hash::FxHashMap<Span, Vec<Closed>>,
    /// Unsuffixed literals whose type is a passed type parameter (by id), by span.
    pub literal_vars: rustc_hash::FxHashMap<Span, u32>,
    /// For each export checked by [`check_graph_exports`] (by index) whose definition has
    /// passed type parameters: the types its Rust signature gives them, in order.
    pub export_type_args: rustc_hash::FxHashMap<usize, Vec<Closed>>,
    /// The inferred return type of each join point whose type is closed up to passed type
    /// parameters and has no function types, by the join point's span.
    pub join_types: rustc_hash::FxHashMap<Span, Closed>,
    /// The function type of each `~x` pattern that holds a function (closed up to passed
    /// type parameters), by the pattern's span: the prepass annotates it, as v2 does.
    pub dyn_types: rustc_hash::FxHashMap<Span, Closed>,
    /// The inferred type of each term macro that has no function type (closed up to passed
    /// type parameters), by span: the prepass gives it to an unannotated macro.
    pub macro_types: rustc_hash::FxHashMap<Span, Closed>,
    /// Each instance's body (by span) with the type variables it is a function of (id and
    /// name): the instance's own, then its prototype's after the selector.
    pub instance_vars: rustc_hash::FxHashMap<Span, Vec<(u32, String)>>,
}

impl InferResult {
    /// Whether there were no errors.
    pub fn is_ok(&self) -> bool {
        self.diagnostics.is_empty()
    }
    /// Prints a type of this result in Spiral syntax.
    pub fn show(&self, t: &T) -> String {
        Printer::new(&self.nominal_names, &self.proto_names, MetaStyle::Wildcard).show(t)
    }
    /// The type of the outermost expression written exactly at `span`.
    pub fn type_at(&self, span: Span) -> Option<&T> {
        self.types.iter().find(|(s, _)| *s == span).map(|(_, t)| t)
    }
    /// The unsuffixed literals whose type inference solved to a primitive, by span: what the
    /// prepass gives such a literal instead of the bottom-up default (`i32`, `f64`). A literal
    /// whose type stayed a type variable (a generalised `inl`) is left out, as is one checked
    /// twice with different results.
    pub fn literal_prims(&self) -> rustc_hash::FxHashMap<Span, types::Prim> {
        let mut m: rustc_hash::FxHashMap<Span, Option<types::Prim>> = rustc_hash::FxHashMap::default();
        for (s, t) in &self.literals {
            let p = match &**t {
                types::Ty::Prim(p) => Some(*p),
                _ => None,
            };
            let e = m.entry(*s).or_insert(p);
            if *e != p {
                *e = None;
            }
        }
        m.into_iter().filter_map(|(s, p)| p.map(|p| (s, p))).collect()
    }
    /// `t` as a [`Closed`] type, if it is one (no variables, metavariables, layouts, macros,
    /// foralls or existentials).
    pub fn closed(&self, t: &T) -> Option<Closed> {
        use types::Ty;
        Some(match &**t {
            Ty::Unit => Closed::Unit,
            Ty::Prim(p) => Closed::Prim(*p),
            Ty::Symbol(x) => Closed::Symbol(x.to_string()),
            Ty::Pair(a, b) => Closed::Pair(Box::new(self.closed(a)?), Box::new(self.closed(b)?)),
            Ty::Record(m) => Closed::Record(m.iter().map(|(k, v)| Some((k.clone(), self.closed(v)?))).collect::<Option<_>>()?),
            Ty::Array(a) => Closed::Array(Box::new(self.closed(a)?)),
            Ty::Fun(a, b, _) => Closed::Fun(Box::new(self.closed(a)?), Box::new(self.closed(b)?)),
            Ty::Nominal(id) => Closed::Nominal(self.nominal_names.get(id.0 as usize)?.clone(), self.nominal_spans.get(id.0 as usize).copied().unwrap_or_default(), Vec::new()),
            Ty::Var(v) => Closed::Var(v.id),
            Ty::Layout(a, l) => Closed::Layout(Box::new(self.closed(a)?), *l),
            Ty::Apply(f, a, _) => match self.closed(f)? {
                Closed::Nominal(n, at, mut args) => {
                    args.push(self.closed(a)?);
                    Closed::Nominal(n, at, args)
                }
                _ => return None,
            },
            _ => return None,
        })
    }
    /// The expressions whose type is a closed nominal or union type, by span (the outermost
    /// expression at a span): the prepass annotates the nullary union cases among them.
    pub fn nominal_types(&self) -> rustc_hash::FxHashMap<Span, Closed> {
        let mut m = rustc_hash::FxHashMap::default();
        for (s, t) in &self.types {
            if m.contains_key(s) {
                continue;
            }
            if let Some(c @ Closed::Nominal(..)) = self.closed(t) {
                m.insert(*s, c);
            }
        }
        m
    }
    /// The definitions as `name : type` lines (qualified with the module name when
    /// `qualify` is set and the definition is in a named module); bottom-up definitions are
    /// left out.
    pub fn def_lines(&self, qualify: bool) -> Vec<String> {
        self.defs
            .iter()
            .filter(|d| d.scheme.is_some())
            .map(|d| match (&d.module, qualify) {
                (Some(m), true) => format!("{m}.{} : {}", d.name, d.ty),
                _ => format!("{} : {}", d.name, d.ty),
            })
            .collect()
    }
}

/// Adds typed signatures to `names`: they replace untyped (bottom-up) names, not typed ones
/// (a top-down module's definitions, such as `base`'s array prototypes `index` and `set`).
fn merge_signatures(names: &mut Names, sigs: Names) {
    for (k, v) in sigs.terms {
        if !matches!(names.terms.get(&k), Some(TermBind::Val { .. })) {
            names.terms.insert(k, v);
        }
    }
    for (k, v) in sigs.types {
        names.types.entry(k).or_insert(v);
    }
    for (k, v) in sigs.cons {
        names.cons.entry(k).or_insert(v);
    }
}

/// Checks the core signatures in the scope `base`; returns the names they define.
fn core_signatures(cx: &mut Ctx, base: &Names) -> Names {
    signature_file(cx, base, FileId(u32::MAX), CORE_SIGNATURES)
}

/// Checks a file of typed signatures over bottom-up names (its bodies are unchecked `real`
/// expressions, its bindings are never evaluated, its `open`s are re-exported); returns the
/// names it defines.
fn signature_file(cx: &mut Ctx, base: &Names, file: FileId, text: &'static str) -> Names {
    let parsed = syntax::parse_module(file, text, Segment::TopDown);
    let mut ck = Checker::new(cx, base.clone(), usize::MAX);
    ck.bound_check = false;
    ck.record_passing = false;
    ck.export_opens = true;
    ck.module(&parsed.module.items, true);
    debug_assert!(parsed.diagnostics.is_empty() && ck.diags.is_empty(), "signatures: {:?} {:?}", parsed.diagnostics, ck.diags);
    ck.exports
}

/// The section of [`LIBRARY_SIGNATURES`] for the bundled library module at `path`
/// (`core/inv.spir`, `core/kernel.spir`), if it is one.
fn library_section(path: &std::path::Path) -> Option<&'static str> {
    let stem = crate::driver::LIBRARY.iter().find(|(p, _)| path == std::path::Path::new(p))?.0;
    let stem = std::path::Path::new(stem).file_stem()?.to_str()?;
    let header = format!("//== {stem}\n");
    let start = LIBRARY_SIGNATURES.find(&header)?;
    let body = &LIBRARY_SIGNATURES[start..];
    let end = body[header.len()..].find("//== ").map(|e| e + header.len()).unwrap_or(body.len());
    Some(&body[..end])
}

/// Checks a section of the library signatures in the scope `base`; returns the names it
/// defines.
fn library_signatures(cx: &mut Ctx, base: &Names, section: &'static str) -> Names {
    signature_file(cx, base, FileId(u32::MAX - 1), section)
}

/// Collects a checker's results into `out`.
fn finish_module(ck: Checker<'_>, module: Option<&str>, root: bool, out: &mut Partial) -> Names {
    let Checker { cx, exports, diags, expr_types, lit_types, defs, .. } = ck;
    out.diagnostics.extend(diags);
    for (s, t) in expr_types {
        let z = cx.zonk(&t);
        out.types.push((s, z));
    }
    for (s, t) in lit_types {
        let z = cx.zonk(&t);
        out.literals.push((s, z));
    }
    if root {
        for d in defs {
            let scheme = d.scheme.map(|s| cx.zonk(&s));
            let ty = match &scheme {
                Some(s) => cx.printer(MetaStyle::Wildcard).show(s),
                None => "real".to_string(),
            };
            out.defs.push(TopDef { module: module.map(str::to_string), name: d.name, span: d.span, scheme, ty });
        }
    }
    exports
}

#[derive(Default)]
struct Partial {
    types: Vec<(Span, T)>,
    literals: Vec<(Span, T)>,
    defs: Vec<TopDef>,
    diagnostics: Vec<Diagnostic>,
}

fn result(mut cx: Ctx, p: Partial) -> InferResult {
    let rec = std::mem::take(&mut cx.passing);
    let zonked: Vec<Option<Vec<T>>> = rec.uses.iter().map(|u| u.inst.as_ref().map(|ts| ts.iter().map(|t| cx.zonk(t)).collect())).collect();
    // join points whose return type can be given: no metavariables, no function types
    let mut joins: Vec<(Span, T)> = Vec::new();
    for (s, t) in &rec.joins {
        let z = cx.zonk(t);
        if !cx.has_metas(&z) && !has_fun(&z) {
            joins.push((*s, z));
        }
    }
    // `~x` patterns that hold a function: annotated with its type
    let mut dyns: Vec<(Span, T)> = Vec::new();
    for (s, t) in &rec.dyns {
        let z = cx.zonk(t);
        if matches!(&*z, types::Ty::Fun(..)) && !cx.has_metas(&z) {
            dyns.push((*s, z));
        }
    }
    let mut nullary: Vec<(Span, T)> = Vec::new();
    for (s, t) in &rec.nullary {
        let z = cx.zonk(t);
        if !cx.has_metas(&z) {
            nullary.push((*s, z));
        }
    }
    let mut macros: Vec<(Span, T)> = Vec::new();
    for (s, t) in &rec.macros {
        let z = cx.zonk(t);
        if !cx.has_metas(&z) && !has_fun(&z) {
            macros.push((*s, z));
        }
    }
    let join_tys: Vec<T> = joins.iter().chain(&dyns).chain(&nullary).chain(&macros).map(|(_, t)| t.clone()).collect();
    let passed = passing::passed(&rec, &zonked, &join_tys);
    let join_types: rustc_hash::FxHashMap<Span, Closed> = joins.iter().map(|(s, t)| (*s, closed_arg(&cx, t))).collect();
    let dyn_types: rustc_hash::FxHashMap<Span, Closed> = dyns.iter().map(|(s, t)| (*s, closed_arg(&cx, t))).collect();
    let macro_types: rustc_hash::FxHashMap<Span, Closed> = macros.iter().map(|(s, t)| (*s, closed_arg(&cx, t))).collect();
    let mut type_params = rustc_hash::FxHashMap::default();
    let mut passed_ids = rustc_hash::FxHashSet::default();
    for (b, flags) in rec.bindings.iter().zip(&passed) {
        let ps: Vec<(u32, Option<String>)> = b
            .vars
            .iter()
            .enumerate()
            .filter(|(k, _)| flags[*k])
            .map(|(k, v)| (v.id, (k < b.explicit).then(|| v.name.clone())))
            .collect();
        if !ps.is_empty() {
            passed_ids.extend(ps.iter().map(|(id, _)| *id));
            type_params.insert(b.key, ps);
        }
    }
    let mut type_args = rustc_hash::FxHashMap::default();
    for (u, inst) in rec.uses.iter().zip(&zonked) {
        let b = &rec.bindings[u.binding];
        let flags = &passed[u.binding];
        if !flags.iter().any(|x| *x) {
            continue;
        }
        let args: Vec<Closed> = match inst {
            Some(ts) => ts.iter().zip(flags).filter(|(_, f)| **f).map(|(t, _)| closed_arg(&cx, t)).collect(),
            None => b.vars.iter().zip(flags).filter(|(_, f)| **f).map(|(v, _)| Closed::Var(v.id)).collect(),
        };
        type_args.insert(u.span, args);
    }
    let mut export_type_args = rustc_hash::FxHashMap::default();
    for (i, b, inst) in &rec.exports {
        let flags = &passed[*b];
        if flags.iter().any(|x| *x) {
            let args: Vec<Closed> = inst.iter().zip(flags).filter(|(_, f)| **f).map(|(t, _)| {
                let z = cx.zonk(t);
                closed_arg(&cx, &z)
            }).collect();
            export_type_args.insert(*i, args);
        }
    }
    let mut literal_vars = rustc_hash::FxHashMap::default();
    for (s, t) in &p.literals {
        if let types::Ty::Var(v) = &**t {
            if passed_ids.contains(&v.id) {
                literal_vars.insert(*s, v.id);
            }
        }
    }
    let instance_vars = rec.instances.iter().map(|(s, vs)| (*s, vs.iter().map(|v| (v.id, v.name.clone())).collect())).collect();
    InferResult {
        types: p.types,
        literals: p.literals,
        defs: p.defs,
        diagnostics: p.diagnostics,
        nominal_names: cx.nominal_names,
        proto_names: cx.proto_names,
        nominal_spans: cx.nominal_spans,
        type_params,
        type_args,
        literal_vars,
        export_type_args,
        join_types,
        dyn_types,
        macro_types,
        instance_vars,
    }
}

/// Whether a type has a function, `forall`, `exists` or term type in it (a join point's
/// inferred return type is only given when it has none).
fn has_fun(t: &T) -> bool {
    use types::Ty;
    match &**t {
        Ty::Fun(..) | Ty::Forall(..) | Ty::Exists(..) | Ty::Term => true,
        Ty::Macro(parts) => parts.iter().any(|p| match p {
            types::MacroTy::Text(_) => false,
            types::MacroTy::Type(x) | types::MacroTy::TypeLit(x) => has_fun(x),
        }),
        Ty::Pair(a, b) | Ty::Apply(a, b, _) => has_fun(a) || has_fun(b),
        Ty::Record(r) => r.values().any(has_fun),
        Ty::Array(a) | Ty::Layout(a, _) => has_fun(a),
        _ => false,
    }
}

impl Closed {
    /// The type in bottom-up syntax (`()` for a variable, which has no meaning there).
    pub fn bottom_up_text(&self) -> String {
        match self {
            Closed::Unit | Closed::Var(_) | Closed::Apply(..) => "()".into(),
            Closed::Macro(parts) => {
                let mut s = String::from("$\"");
                for p in parts {
                    match p {
                        ClosedMacro::Text(x) => s.push_str(&x.replace('\\', "\\\\").replace('"', "\\\"").replace('`', "\\`").replace('@', "\\@")),
                        ClosedMacro::Type(x) => s.push_str(&format!("`({})", x.bottom_up_text())),
                        ClosedMacro::TypeLit(x) => s.push_str(&format!("@({})", x.bottom_up_text())),
                    }
                }
                s.push('"');
                s
            }
            Closed::Prim(p) => p.name().into(),
            Closed::Symbol(x) => format!(".{x}"),
            Closed::Pair(a, b) => format!("({} * {})", a.bottom_up_text(), b.bottom_up_text()),
            Closed::Record(fs) => {
                let parts: Vec<String> = fs.iter().map(|(k, v)| format!("{k} : {}", v.bottom_up_text())).collect();
                format!("{{{}}}", parts.join("; "))
            }
            Closed::Array(a) => format!("(array {})", a.bottom_up_text()),
            Closed::Fun(a, b) => format!("({} -> {})", a.bottom_up_text(), b.bottom_up_text()),
            Closed::Layout(a, l) => format!("({} {})", l.name(), a.bottom_up_text()),
            Closed::Nominal(n, _, args) => {
                let mut s = format!("({n}");
                for a in args {
                    s.push(' ');
                    s.push_str(&a.bottom_up_text());
                }
                s.push(')');
                s
            }
        }
    }
}

/// Where nominal `id` is declared.
fn nominal_span(cx: &Ctx, id: types::NominalId) -> Span {
    cx.nominal_spans.get(id.0 as usize).copied().unwrap_or_default()
}

/// A type passed to a binding's type parameter, closed: an unsolved metavariable becomes the
/// type an unsuffixed literal of its constraints defaults to (`f64` for `{float}`, `i32` for
/// the other numbers, `()` otherwise), a nominal whose name is out of reach `()`.
fn closed_arg(cx: &Ctx, t: &T) -> Closed {
    use types::{Constraint, Ty};
    match &**t {
        Ty::Meta(m) => {
            let cons = &cx.metas[m.0 as usize].cons;
            if cons.contains(&Constraint::Float) {
                Closed::Prim(types::Prim::F64)
            } else if passing::numeric(cons) {
                Closed::Prim(types::Prim::I32)
            } else {
                Closed::Unit
            }
        }
        Ty::Var(v) => Closed::Var(v.id),
        Ty::Pair(a, b) => Closed::Pair(Box::new(closed_arg(cx, a)), Box::new(closed_arg(cx, b))),
        Ty::Fun(a, b, _) => Closed::Fun(Box::new(closed_arg(cx, a)), Box::new(closed_arg(cx, b))),
        Ty::Record(m) => Closed::Record(m.iter().map(|(k, v)| (k.clone(), closed_arg(cx, v))).collect()),
        Ty::Array(a) => Closed::Array(Box::new(closed_arg(cx, a))),
        Ty::Layout(a, l) => Closed::Layout(Box::new(closed_arg(cx, a)), *l),
        Ty::Nominal(id) => Closed::Nominal(cx.nominal_names.get(id.0 as usize).cloned().unwrap_or_default(), nominal_span(cx, *id), Vec::new()),
        Ty::Apply(..) => {
            let (head, args) = types::split_apply(t);
            match &*head {
                Ty::Nominal(id) => Closed::Nominal(
                    cx.nominal_names.get(id.0 as usize).cloned().unwrap_or_default(),
                    nominal_span(cx, *id),
                    args.iter().map(|a| closed_arg(cx, a)).collect(),
                ),
                Ty::Var(v) => Closed::Apply(Box::new(Closed::Var(v.id)), args.iter().map(|a| closed_arg(cx, a)).collect()),
                _ => Closed::Unit,
            }
        }
        Ty::Macro(parts) => Closed::Macro(
            parts
                .iter()
                .map(|p| match p {
                    types::MacroTy::Text(x) => ClosedMacro::Text(x.clone()),
                    types::MacroTy::Type(x) => ClosedMacro::Type(closed_arg(cx, x)),
                    types::MacroTy::TypeLit(x) => ClosedMacro::TypeLit(closed_arg(cx, x)),
                })
                .collect(),
        ),
        _ => match Closed::from_simple(t) {
            Some(c) => c,
            None => Closed::Unit,
        },
    }
}

/// Infers one top-down module on its own: the built-in types and constraints and the typed
/// core signatures ([`CORE_SIGNATURES`]) are in scope, nothing else.
pub fn check_module(module: &ast::Module) -> InferResult {
    on_big_stack(|| check_module_here(module))
}

fn check_module_here(module: &ast::Module) -> InferResult {
    let mut cx = Ctx::default();
    let mut top = Names::builtins();
    let sigs = core_signatures(&mut cx, &top);
    top.merge(&sigs);
    let mut p = Partial::default();
    let mut ck = Checker::new(&mut cx, top, 0);
    ck.module(&module.items, true);
    finish_module(ck, None, true, &mut p);
    result(cx, p)
}

/// Infers every package of `graph` (each after the packages it uses); definitions are listed
/// for the root package. `.spir` modules are not inferred: their functions are untyped names
/// usable only inside `real`, their `nominal`/`union`/`type` declarations are checked and usable.
///
/// Scoping follows the prepass: a package sees the exports of the packages it uses; a named
/// module is visible to the later modules of its package as a module, an included (`-`) one
/// by its names; a top-level `open` is exported. The bundled `core` package additionally
/// exports the typed [`CORE_SIGNATURES`].
pub fn check_graph(graph: &ProjectGraph) -> InferResult {
    on_big_stack(|| check_graph_here(graph, &[]))
}

/// An export's Rust signature as the Spiral types it is seen as (see
/// [`spiral_abi::HostType::spiral_type`]), to check against the inferred type of the
/// top-level definition of the same name in the root package.
#[derive(Clone, Debug)]
pub struct ExportSig {
    /// The exported (and Spiral) name.
    pub name: String,
    /// Each parameter after the device: its Rust name and Spiral type (text).
    pub params: Vec<(String, String)>,
    /// The Spiral type of the `T` in `Result<T, Error>` (text).
    pub result: String,
}

/// [`check_graph`], then each export's signature against the inferred type of its
/// definition: a disagreement is a diagnostic at the definition, marked
/// ([`Diagnostic::about_host`]) with the part of export number `i`'s Rust signature it is
/// about, and naming both types.
pub fn check_graph_exports(graph: &ProjectGraph, exports: &[ExportSig]) -> InferResult {
    on_big_stack(|| check_graph_here(graph, exports))
}

/// The type a Spiral type text stands for in the scope of `ck` (`None` if it does not parse).
fn type_of_text(ck: &mut Checker<'_>, text: &str) -> Option<T> {
    let src = format!("type __export = {text}\n");
    let parsed = syntax::parse_module(FileId(u32::MAX - 2), &src, Segment::TopDown);
    if !parsed.diagnostics.is_empty() {
        return None;
    }
    parsed.module.items.iter().find_map(|it| match &it.kind {
        ast::TopKind::Type { body, .. } => Some(ck.ty(body, false)),
        _ => None,
    })
}

/// Checks `exports` in the scope `scope` (the root package's names); diagnostics go to `p`.
fn check_exports(cx: &mut Ctx, scope: Names, package: usize, exports: &[ExportSig], p: &mut Partial) {
    use crate::diagnostics::HostPart;
    if !p.diagnostics.is_empty() {
        // a definition with a type error has no reliable type to compare
        return;
    }
    let mut ck = Checker::new(cx, scope, package);
    for (i, e) in exports.iter().enumerate() {
        let Some(def) = p.defs.iter().rev().find(|d| d.name == e.name && d.scheme.is_some()) else { continue };
        let span = def.span;
        let mut params = Vec::new();
        for (n, t) in &e.params {
            match type_of_text(&mut ck, t) {
                Some(ty) => params.push((n.clone(), ty)),
                None => return,
            }
        }
        let Some(result) = type_of_text(&mut ck, &e.result) else { return };
        if !ck.diags.is_empty() {
            // a Rust type Spiral cannot name here: reported at the definition, about the signature
            let why: Vec<String> = ck.diags.drain(..).map(|d| d.message).collect();
            p.diagnostics.push(Diagnostic::error(span, format!("the Spiral types of the Rust signature of `{}` cannot be read here: {}", e.name, why.join("; "))).about_host(HostPart::Params(i)));
            continue;
        }
        if let Some((part, msg)) = ck.export_mismatch(i, &e.name, &params, &result) {
            let host = match part {
                Some(k) if !e.params.is_empty() => HostPart::Param(i, k),
                Some(_) => HostPart::Params(i),
                None => HostPart::Result(i),
            };
            p.diagnostics.push(Diagnostic::error(span, msg).about_host(host));
        }
    }
    p.diagnostics.extend(ck.diags.drain(..).map(|mut d| {
        d.message = format!("in an export's signature: {}", d.message);
        d
    }));
}

/// The stack inference runs with: the checker recurses once per level of the syntax tree, and
/// trees may be [`crate::syntax::parser::MAX_TREE_DEPTH`] deep.
pub const INFER_STACK: usize = 256 * 1024 * 1024;

/// Runs `f` with [`INFER_STACK`] of stack (see [`crate::stack::with_stack`]); a crash becomes
/// an internal-error diagnostic.
fn on_big_stack(f: impl FnOnce() -> InferResult + Send) -> InferResult {
    match crate::stack::with_stack(INFER_STACK, "spiral-infer", f) {
        Some(r) => r,
        None => InferResult {
            types: Vec::new(),
            literals: Vec::new(),
            defs: Vec::new(),
            diagnostics: vec![Diagnostic::error(Span::default(), "internal error: type inference crashed")],
            nominal_names: Vec::new(),
            proto_names: Vec::new(),
            nominal_spans: Vec::new(),
            type_params: Default::default(),
            type_args: Default::default(),
            literal_vars: Default::default(),
            export_type_args: Default::default(),
            join_types: Default::default(),
            dyn_types: Default::default(),
            macro_types: Default::default(),
            instance_vars: Default::default(),
        },
    }
}

fn check_graph_here(graph: &ProjectGraph, export_sigs: &[ExportSig]) -> InferResult {
    let mut cx = Ctx::default();
    let mut p = Partial::default();
    let mut exports_of: Vec<Names> = Vec::new();
    for (pi, pkg) in graph.packages.iter().enumerate() {
        let mut visible = Names::builtins();
        for dep in &pkg.dependencies {
            if let Some(e) = exports_of.get(dep.package) {
                visible.merge(e);
            }
        }
        let mut exports = Names::default();
        let mut root_defs = Names::default();
        let mut library_names = Names::default();
        let root = pi == graph.root;
        let is_core = matches!(&pkg.source, PackageSource::Bundled(n) if n == "core");
        // folder modules (`name/` in `package.spiproj`): each folder's namespace so far
        let mut folders: Folders = BTreeMap::new();
        for m in &pkg.modules {
            let top_down = m.segment == Segment::TopDown;
            if is_core && top_down {
                // core's own top-down modules see the typed signatures over its bottom-up names
                // (not over the names its earlier top-down modules define)
                let sigs = core_signatures(&mut cx, &visible);
                merge_signatures(&mut visible, sigs);
            }
            if !m.scope.is_empty() {
                // a module in a folder: the folder's earlier modules are in scope, then its own
                let mut vis = visible.clone();
                for k in 1..=m.scope.len() {
                    // the folder's names, and its subfolders so far as modules
                    vis.merge(&folder_tree(&folders, &m.scope[..k]));
                }
                let mut ck = Checker::new(&mut cx, vis, pi);
                ck.module(&m.parsed.module.items, top_down);
                let own = finish_module(ck, m.name.as_deref(), root, &mut p);
                if root && top_down {
                    root_defs.merge(&own);
                }
                let f = folders.entry(m.scope.clone()).or_default();
                match &m.name {
                    Some(n) => f.add_module(n, Arc::new(own)),
                    None => f.merge(&own),
                }
                // the top folder, with everything in it so far, is a module of the package
                let top = &m.scope[0];
                let tree = Arc::new(folder_tree(&folders, std::slice::from_ref(top)));
                visible.add_module(top, tree.clone());
                exports.add_module(top, tree);
                continue;
            }
            let mut ck = Checker::new(&mut cx, visible.clone(), pi);
            ck.module(&m.parsed.module.items, top_down);
            let mut own = finish_module(ck, m.name.as_deref(), root, &mut p);
            if root && top_down {
                root_defs.merge(&own);
            }
            if let Some(section) = library_section(&m.path).filter(|_| !top_down) {
                // the bundled library modules: typed signatures over their bottom-up names
                let sigs = library_signatures(&mut cx, &visible, section);
                own.merge(&sigs);
                // the exports' Rust types are read with these names (`inv_array`)
                library_names.merge(&sigs);
            }
            match &m.name {
                Some(n) => {
                    let own = Arc::new(own);
                    visible.add_module(n, own.clone());
                    exports.add_module(n, own);
                }
                None => {
                    visible.merge(&own);
                    exports.merge(&own);
                }
            }
        }
        if is_core {
            // the typed signatures replace core's untyped (bottom-up) names; names core's
            // top-down modules define (the `a` array prototypes `index`, `set`, `length`) stay
            let sigs = core_signatures(&mut cx, &visible);
            merge_signatures(&mut exports, sigs);
        }
        if root && !export_sigs.is_empty() {
            // the root package's definitions are in scope (a named module's by its names too)
            let mut scope = visible.clone();
            scope.merge(&library_names);
            scope.merge(&root_defs);
            check_exports(&mut cx, scope, pi, export_sigs, &mut p);
        }
        exports_of.push(exports);
    }
    result(cx, p)
}

/// The namespaces of a package's folders so far, by folder path.
type Folders = BTreeMap<Vec<String>, Names>;

/// The module a folder is: its own namespace (its included modules' names and its named
/// modules), with each subfolder as a submodule.
fn folder_tree(folders: &Folders, path: &[String]) -> Names {
    let mut n = folders.get(path).cloned().unwrap_or_default();
    for sub in folders.keys().filter(|k| k.len() == path.len() + 1 && k.starts_with(path)) {
        let name = &sub[path.len()];
        n.add_module(name, Arc::new(folder_tree(folders, sub)));
    }
    n
}

/// Infers a loaded package and the packages it uses; the same as [`check_graph`].
pub fn check_package(graph: &ProjectGraph) -> InferResult {
    check_graph(graph)
}

//! The prepass: scopes, free variables and pattern compilation, from the AST to the core IR.
//!
//! Entry points:
//! - [`prepare`]: a loaded [`ProjectGraph`] to a [`core::Program`] (names resolved to frame
//!   slots, captured variables and join-point free variables computed, nominals and unions
//!   collected, modules and `open` resolved statically);
//! - [`compile_graph`]: [`prepare`] then [`crate::peval::compile_program`], both on a thread
//!   with a big stack; this is what the CLI and the build helpers call.
//!
//! Modules: every module's top-level bindings form a namespace reachable by the module's name
//! (`real_core.id`, `open real_core`). The modules of an included package (`core-`) are
//! reachable by their bare names. A lone file (no `package.spiproj`) also has every module
//! of `core` opened. The entry point is `main` in the root package's last module.
pub mod core;

use self::core::{
    Clause, Expr, Lambda, MacroPartE, Name, NominalBody, NominalDecl, Pat, RecGroup, RecordField, RecordKey, Slot,
    TyExpr, TyMacroPart, TypeClause,
};
use crate::diagnostics::{Diagnostic, Span};
use crate::peval::ir::{self, LayoutKind, Lit, PrimTy};
use crate::peval::Limits;
use crate::project::{PackageSource, ProjectGraph};
use crate::syntax::ast::{self, ExprKind, PatternKind, TopKind, TypeKind};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

/// Prepares and evaluates a loaded program: the residual program, or every diagnostic.
pub fn compile_graph(graph: &ProjectGraph, limits: Limits) -> Result<ir::Program, Vec<Diagnostic>> {
    compile_graph_for(graph, limits, crate::peval::HostTarget::C, crate::peval::KernelTarget::Cpu)
}

/// [`compile_graph`] for the given host and kernel targets.
pub fn compile_graph_for(
    graph: &ProjectGraph,
    limits: Limits,
    host: crate::peval::HostTarget,
    kernel: crate::peval::KernelTarget,
) -> Result<ir::Program, Vec<Diagnostic>> {
    let r = crate::peval::with_big_stack(|| {
        let prog = prepare(graph)?;
        crate::peval::compile_program_for(&prog, limits, host, kernel)
    });
    match r {
        Some(r) => r,
        None => {
            let span = graph.root_package().modules.last().map(|m| Span::new(m.file, 0, 0)).unwrap_or_default();
            Err(vec![Diagnostic::error(span, "internal compiler error: the partial evaluator crashed")])
        }
    }
}

#[derive(Clone, Debug)]
enum Bind {
    /// A variable; `ty` for a type variable (`forall`, `~a`, a nominal's or instance's
    /// parameter, a passed type parameter), which a type's name finds before a term's.
    Val { depth: usize, local: u32, ty: bool },
    Nominal(u32),
    Ctor(u32, Name),
    Module(usize),
    Alias(Rc<AliasDef>),
    TyExpr(TyExpr),
    /// A prototype (type class): its uses select an instance by the type inference gives its
    /// first type variable.
    Proto(Rc<ProtoInfo>),
}

/// A type alias: its parameters, its body, and what the body's other names meant where it
/// was declared (an alias is expanded where it is used, but its names are resolved where it
/// was written: `type state = a u32 f32` means core's `a` inside `nominal pu a = ...` too).
#[derive(Debug)]
struct AliasDef {
    params: Vec<String>,
    body: ast::TypeExpr,
    captured: Vec<(String, Bind)>,
}

/// The names a type expression refers to (`Var` names and application heads).
fn type_names(t: &ast::TypeExpr, out: &mut Vec<String>) {
    match &t.kind {
        TypeKind::Var(n) => {
            if !out.iter().any(|x| x == n) {
                out.push(n.clone());
            }
        }
        TypeKind::Pair(a, b) | TypeKind::Fun(a, b) | TypeKind::Apply(a, b) => {
            type_names(a, out);
            type_names(b, out);
        }
        TypeKind::Record(fs) => fs.iter().for_each(|(_, v)| type_names(v, out)),
        TypeKind::Forall(_, b) | TypeKind::Exists(_, b) => type_names(b, out),
        TypeKind::Macro(parts) => {
            for p in parts {
                if let ast::MacroPart::Type(x) | ast::MacroPart::TypeLit(x) = p {
                    type_names(x, out);
                }
            }
        }
        TypeKind::Union { cases, this, .. } => {
            cases.iter().for_each(|c| type_names(&c.ty, out));
            type_names(this, out);
        }
        TypeKind::Wildcard | TypeKind::Unit | TypeKind::MetaVar(_) | TypeKind::Lit(_) | TypeKind::DefaultLit(_) | TypeKind::Symbol(_) | TypeKind::Term(_) => {}
    }
}

/// A prototype in the prepass: the names of its type variables after the selector (an
/// instance's body is a function of them) and its instances so far.
#[derive(Debug)]
struct ProtoInfo {
    /// Its id: instances register under it (`!!!!ProtoRegister` where they are declared) and
    /// uses select among all of the program's (as in v2, an instance is global).
    id: u32,
    name: String,
    vars: Vec<String>,
}

#[derive(Clone)]
struct Tracker {
    start: u32,
    free: BTreeSet<Slot>,
}

#[derive(Default, Clone)]
struct FnCtx {
    caps: Vec<Slot>,
    cap_map: HashMap<Slot, u32>,
    next_local: u32,
    trackers: Vec<Tracker>,
}

/// The lexical scope: a stack of bindings with an index by name, so lookups are O(1).
#[derive(Default, Clone)]
struct Scope {
    stack: Vec<(String, Bind)>,
    index: HashMap<String, Vec<usize>>,
}

impl Scope {
    fn from_vec(v: Vec<(String, Bind)>) -> Scope {
        let mut s = Scope::default();
        s.extend(v);
        s
    }
    fn len(&self) -> usize {
        self.stack.len()
    }
    fn push(&mut self, b: (String, Bind)) {
        self.index.entry(b.0.clone()).or_default().push(self.stack.len());
        self.stack.push(b);
    }
    fn extend(&mut self, v: impl IntoIterator<Item = (String, Bind)>) {
        for b in v {
            self.push(b);
        }
    }
    fn truncate(&mut self, mark: usize) {
        while self.stack.len() > mark {
            if let Some((n, _)) = self.stack.pop() {
                if let Some(v) = self.index.get_mut(&n) {
                    v.pop();
                    if v.is_empty() {
                        self.index.remove(&n);
                    }
                }
            }
        }
    }
    fn get(&self, n: &str) -> Option<&Bind> {
        self.index.get(n).and_then(|v| v.last()).map(|&i| &self.stack[i].1)
    }
    /// The innermost prototype named `n`, past any terms of that name that shadow it
    /// (prototypes are their own namespace in inference: `instance length list = length`
    /// after `inl length` is an instance of the prototype).
    fn get_proto(&self, n: &str) -> Option<&Rc<ProtoInfo>> {
        self.index.get(n)?.iter().rev().find_map(|&i| match &self.stack[i].1 {
            Bind::Proto(p) => Some(p),
            _ => None,
        })
    }
    /// What the name `n` means in a type: the innermost binding that is not a term variable
    /// (types and terms are separate namespaces in v2: `u32` is the type, not a function
    /// `u32` in scope); a term variable only where no such binding exists.
    fn get_type(&self, n: &str) -> Option<&Bind> {
        let v = self.index.get(n)?;
        v.iter().rev().map(|&i| &self.stack[i].1).find(|b| !matches!(b, Bind::Val { ty: false, .. })).or_else(|| v.last().map(|&i| &self.stack[i].1))
    }
    fn since(&self, mark: usize) -> Vec<(String, Bind)> {
        self.stack[mark..].to_vec()
    }
}

#[derive(Clone)]
struct Prepass {
    scope: Scope,
    fns: Vec<FnCtx>,
    nominals: Vec<NominalDecl>,
    modules: Vec<Vec<(String, Bind)>>,
    diags: Vec<Diagnostic>,
    next_id: u32,
    /// While translating a typecase pattern: its metavariables so far, so that a repeated
    /// one (`~t * ~t`) names the same slot.
    meta_pattern: Option<Vec<(String, u32)>>,
    /// The primitive type inference found for each unsuffixed literal of a top-down module, by
    /// span (see [`prepare`]); a literal not in it gets the bottom-up default.
    lits: Rc<HashMap<Span, PrimTy>>,
    /// The closed nominal type inference found for top-down expressions, by span: a nullary
    /// union case there (`Nil`, `None`) is annotated with it, as v2's inferred annotations do.
    ctor_types: Rc<HashMap<Span, crate::infer::Closed>>,
    /// Whether each of `modules` is top-down (a lone file opens only the bottom-up ones of core).
    module_top_down: Vec<bool>,
    /// Type passing from inference (see [`crate::infer::passing`]).
    passing: Rc<Passing>,
    /// The scope name of each passed type variable in scope (its written `forall` name, or a
    /// name no program can write for an implicit one), by id.
    tvar_names: HashMap<u32, String>,
    /// Implicit type parameters to bind as functions around the expression at a span (the
    /// inside of a binding's `forall`s).
    pending_params: HashMap<Span, Vec<u32>>,
    /// Each nominal by where its name is declared.
    nominal_at: HashMap<Span, u32>,
    /// The top-level locals defined by top-down modules.
    td_locals: std::collections::HashSet<u32>,
    /// Core's included bottom-up names (`prelude`, i.e. `real_core`), for bottom-up code where a
    /// top-down definition of the same name is in scope.
    bu_names: HashMap<String, Bind>,
    /// Whether the module being translated is top-down: there an annotation is a type check
    /// that inference did, and is erased (as in v2).
    top_down: bool,
    /// The id of the next prototype declared.
    next_proto: u32,
    /// The scope ranges the current module's top-level `open`s brought in: a named module
    /// does not export them (as in v2; `open iam_real` does not bring `real_core`'s names).
    opened: Vec<std::ops::Range<usize>>,
    /// Whether the expression being translated is inside `real` (bottom-up code, whose
    /// annotations stay: they give macros and literals their types).
    in_real: bool,
    /// Bindings whose type parameters were set up (a binding's `forall` and its body may
    /// share a span).
    params_done: std::collections::HashSet<Span>,
}

/// What inference tells the prepass for type passing: [`crate::infer::InferResult`]'s
/// `type_params`, `type_args` and `literal_vars`.
#[derive(Default)]
struct Passing {
    instance_vars: HashMap<Span, Vec<(u32, String)>>,
    params: HashMap<Span, Vec<(u32, Option<String>)>>,
    args: HashMap<Span, Vec<crate::infer::Closed>>,
    literals: HashMap<Span, u32>,
    joins: HashMap<Span, crate::infer::Closed>,
    dyns: HashMap<Span, crate::infer::Closed>,
    macros: HashMap<Span, crate::infer::Closed>,
}

fn name(s: &str) -> Name {
    Arc::from(s)
}

/// Parses an unsuffixed number as the bottom-up defaults (`i32`, `f64`).
fn default_lit(s: &str) -> Option<Lit> {
    let t = s.replace('_', "");
    let is_float = !t.starts_with("0x") && (t.contains('.') || t.contains('e') || t.contains('E'));
    if is_float {
        t.parse::<f64>().ok().map(Lit::F64)
    } else if let Some(h) = t.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok().and_then(|x| i32::try_from(x).ok().or(if x <= u32::MAX as i64 { Some(x as u32 as i32) } else { None })).map(Lit::I32)
    } else {
        t.parse::<i32>().ok().map(Lit::I32)
    }
}

fn lit(l: &ast::Literal) -> Lit {
    match l {
        ast::Literal::I8(x) => Lit::I8(*x),
        ast::Literal::I16(x) => Lit::I16(*x),
        ast::Literal::I32(x) => Lit::I32(*x),
        ast::Literal::I64(x) => Lit::I64(*x),
        ast::Literal::U8(x) => Lit::U8(*x),
        ast::Literal::U16(x) => Lit::U16(*x),
        ast::Literal::U32(x) => Lit::U32(*x),
        ast::Literal::U64(x) => Lit::U64(*x),
        ast::Literal::F32(x) => Lit::F32(*x),
        ast::Literal::F64(x) => Lit::F64(*x),
        ast::Literal::Bool(x) => Lit::Bool(*x),
        ast::Literal::String(x) => Lit::String(Arc::from(x.as_str())),
        ast::Literal::Char(x) => Lit::Char(*x),
    }
}

/// The prepass's state after the leading modules of a graph (the bundled core, the library and
/// the user's module): graphs that share those modules, like the per-export graphs of one
/// `spiral!` call, are translated from it without redoing them ([`prepare_library`],
/// [`prepare_from`]).
#[derive(Clone)]
pub struct Prefix {
    p: Prepass,
    steps: Vec<Step>,
    package_exports: Vec<Vec<(String, Bind)>>,
    /// The module files of the finished packages, package by package: a graph whose leading
    /// modules are other files does not share them.
    files: Vec<Vec<crate::diagnostics::FileId>>,
    /// The package under way (the next one after `files`), if its first modules are done.
    partial: Option<Partial>,
    /// The root package's `main`, once seen.
    entry: Option<(u32, Span)>,
    /// The graph's root package index and whether it is a lone file.
    root: (usize, bool),
}

/// The finished leading modules of a package under way.
#[derive(Clone, Default)]
struct Partial {
    exports: Vec<(String, Bind)>,
    files: Vec<crate::diagnostics::FileId>,
    /// The namespaces of the package's folders so far (`name/` in `package.spiproj`), by path.
    folders: std::collections::BTreeMap<Vec<String>, Vec<(String, Bind)>>,
}

/// The module a folder is: its own names, then each of its subfolders so far as a module
/// (registered in `modules`), as inference's `folder_tree` sees it.
fn folder_tree(
    folders: &std::collections::BTreeMap<Vec<String>, Vec<(String, Bind)>>,
    path: &[String],
    modules: &mut Vec<Vec<(String, Bind)>>,
) -> Vec<(String, Bind)> {
    let mut items = folders.get(path).cloned().unwrap_or_default();
    let subs: Vec<Vec<String>> = folders.keys().filter(|k| k.len() == path.len() + 1 && k.starts_with(path)).cloned().collect();
    for sub in subs {
        let tree = folder_tree(folders, &sub, modules);
        let mid = modules.len();
        modules.push(tree);
        items.push((sub[path.len()].clone(), Bind::Module(mid)));
    }
    items
}

impl Prefix {
    fn empty(graph: &ProjectGraph) -> Prefix {
        Prefix {
            p: Prepass {
                scope: Scope::default(),
                fns: vec![FnCtx::default()],
                nominals: Vec::new(),
                modules: Vec::new(),
                diags: Vec::new(),
                next_id: 0,
                meta_pattern: None,
                lits: Rc::default(),
                ctor_types: Rc::default(),
                module_top_down: Vec::new(),
                passing: Rc::default(),
                tvar_names: HashMap::default(),
                pending_params: HashMap::default(),
                params_done: Default::default(),
                nominal_at: HashMap::default(),
                top_down: false,
                in_real: false,
                opened: Vec::new(),
                next_proto: 0,
                td_locals: Default::default(),
                bu_names: HashMap::default(),
            },
            steps: Vec::new(),
            package_exports: Vec::new(),
            files: Vec::new(),
            partial: None,
            entry: None,
            root: root_of(graph),
        }
    }

    /// Whether `graph`'s leading modules are the ones this state was built from.
    fn fits(&self, graph: &ProjectGraph) -> bool {
        let starts_with = |pk: &crate::project::Package, f: &[crate::diagnostics::FileId]| {
            pk.modules.len() >= f.len() && pk.modules.iter().zip(f).all(|(m, id)| m.file == *id)
        };
        self.root == root_of(graph)
            && self.files.len() <= graph.packages.len()
            && self.files.iter().zip(&graph.packages).all(|(f, pk)| pk.modules.len() == f.len() && starts_with(pk, f))
            && match &self.partial {
                None => true,
                Some(part) => graph.packages.get(self.files.len()).is_some_and(|pk| starts_with(pk, &part.files)),
            }
    }
}

fn root_of(graph: &ProjectGraph) -> (usize, bool) {
    (graph.root, matches!(graph.root_package().source, PackageSource::Synthetic(_)))
}

/// Translates every module of `graph` but the last module of its root package (the root is the
/// last package): the state to pass to [`prepare_from`] for any graph that differs only there.
pub fn prepare_library(graph: &ProjectGraph) -> Prefix {
    let mut st = Prefix::empty(graph);
    let last = graph.root_package().modules.len().saturating_sub(1);
    run_packages(&mut st, graph, (graph.root, last));
    st
}

/// Like [`prepare`], starting from `prefix` (see [`prepare_library`]); a prefix that does not
/// fit `graph` is ignored, so the result is always that of [`prepare`] (as is a graph with
/// top-down modules, which needs inference).
pub fn prepare_from(graph: &ProjectGraph, prefix: &Prefix) -> Result<core::Program, Vec<Diagnostic>> {
    if prefix.fits(graph) && !has_top_down(graph) {
        prepare_rest(graph, prefix.clone())
    } else {
        prepare(graph)
    }
}

/// Translates a loaded program to the core IR.
///
/// When the graph has top-down (`.spi`) modules, type inference ([`crate::infer::check_graph`])
/// runs first, as in v2 between parsing and the prepass:
/// - its diagnostics at top-down modules are the program's errors (nothing is evaluated);
/// - otherwise the prepass uses its results: an unsuffixed literal whose type inference solved
///   to a primitive becomes a literal of that type (`1` added to an `f64` is `1.0f64`), in terms
///   and in patterns ([`crate::infer::InferResult::literal_prims`], a span-to-type map; the AST
///   is not rewritten). A literal whose type stayed a variable (a generalised `inl`, v2's
///   `{number}` polymorphism) keeps the bottom-up default, and the evaluator specialises its
///   uses as for bottom-up code.
///
/// Graphs of bottom-up modules only (`spiral!`, spiral-build) skip inference.
pub fn prepare(graph: &ProjectGraph) -> Result<core::Program, Vec<Diagnostic>> {
    let mut st = Prefix::empty(graph);
    if has_top_down(graph) {
        let r = crate::infer::check_graph(graph);
        let (lits, ctors) = inferred_literals(graph, &r)?;
        st.p.lits = Rc::new(lits);
        st.p.ctor_types = Rc::new(ctors);
        st.p.passing = Rc::new(passing_of(&r));
    }
    prepare_rest(graph, st)
}

/// Whether some module of `graph` outside the bundled packages is top-down (the bundled `core`
/// has top-down modules; a bottom-up program uses them uninferred, with the default literals).
fn has_top_down(graph: &ProjectGraph) -> bool {
    graph
        .packages
        .iter()
        .filter(|pk| !matches!(pk.source, PackageSource::Bundled(_)))
        .any(|pk| pk.modules.iter().any(|m| m.segment == crate::syntax::Segment::TopDown))
}

/// [`prepare`] with inference already run (`inferred` is [`crate::infer::check_graph`] of
/// `graph`, or of a graph it extends with bottom-up modules only, such as an export's entry
/// point): its errors at top-down modules, or the program.
pub fn prepare_inferred(graph: &ProjectGraph, inferred: &crate::infer::InferResult) -> Result<core::Program, Vec<Diagnostic>> {
    let mut st = Prefix::empty(graph);
    let (lits, ctors) = inferred_literals(graph, inferred)?;
    st.p.lits = Rc::new(lits);
    st.p.ctor_types = Rc::new(ctors);
    st.p.passing = Rc::new(passing_of(inferred));
    prepare_rest(graph, st)
}

/// The type passing part of an inference result.
fn passing_of(r: &crate::infer::InferResult) -> Passing {
    Passing {
        instance_vars: r.instance_vars.iter().map(|(k, v)| (*k, v.clone())).collect(),
        params: r.type_params.iter().map(|(k, v)| (*k, v.clone())).collect(),
        args: r.type_args.iter().map(|(k, v)| (*k, v.clone())).collect(),
        literals: r.literal_vars.iter().map(|(k, v)| (*k, *v)).collect(),
        joins: r.join_types.iter().map(|(k, v)| (*k, v.clone())).collect(),
        dyns: r.dyn_types.iter().map(|(k, v)| (*k, v.clone())).collect(),
        macros: r.macro_types.iter().map(|(k, v)| (*k, v.clone())).collect(),
    }
}

/// The errors of `r` at top-down modules of `graph`, or its literal types and closed nominal
/// types of expressions.
#[allow(clippy::type_complexity)]
fn inferred_literals(graph: &ProjectGraph, r: &crate::infer::InferResult) -> Result<(HashMap<Span, PrimTy>, HashMap<Span, crate::infer::Closed>), Vec<Diagnostic>> {
    let top_down: BTreeSet<crate::diagnostics::FileId> = graph
        .packages
        .iter()
        .flat_map(|pk| pk.modules.iter().filter(|m| m.segment == crate::syntax::Segment::TopDown).map(|m| m.file))
        .collect();
    let errors: Vec<Diagnostic> = r.diagnostics.iter().filter(|d| top_down.contains(&d.span.file)).cloned().collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((r.literal_prims().into_iter().collect(), r.nominal_types().into_iter().collect()))
}

/// An unsuffixed number as a literal of the primitive type `p` (inference's result); `None`
/// when it does not fit (or `p` is not numeric).
pub(crate) fn typed_lit(text: &str, p: PrimTy) -> Option<Lit> {
    let t = text.replace('_', "");
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, t.clone()),
    };
    let hex = body.starts_with("0x");
    let is_float = !hex && (body.contains('.') || body.contains('e') || body.contains('E'));
    match p {
        PrimTy::F32 => t.parse::<f32>().ok().map(Lit::F32),
        PrimTy::F64 => t.parse::<f64>().ok().map(Lit::F64),
        _ if is_float => None,
        _ => {
            let mag = if hex { i128::from_str_radix(&body[2..], 16).ok()? } else { body.parse::<i128>().ok()? };
            let v = if neg { -mag } else { mag };
            // a hexadecimal literal may give a signed type's bit pattern (`0xFFFFFFFF : i32`)
            macro_rules! fit {
                ($s:ty, $u:ty, $c:ident) => {
                    <$s>::try_from(v).ok().or_else(|| if hex && !neg { <$u>::try_from(v).ok().map(|x| x as $s) } else { None }).map(Lit::$c)
                };
            }
            match p {
                PrimTy::I8 => fit!(i8, u8, I8),
                PrimTy::I16 => fit!(i16, u16, I16),
                PrimTy::I32 => fit!(i32, u32, I32),
                PrimTy::I64 => fit!(i64, u64, I64),
                PrimTy::U8 => u8::try_from(v).ok().map(Lit::U8),
                PrimTy::U16 => u16::try_from(v).ok().map(Lit::U16),
                PrimTy::U32 => u32::try_from(v).ok().map(Lit::U32),
                PrimTy::U64 => u64::try_from(v).ok().map(Lit::U64),
                _ => None,
            }
        }
    }
}

/// Translates the packages after those already in `st`, then builds the program.
fn prepare_rest(graph: &ProjectGraph, mut st: Prefix) -> Result<core::Program, Vec<Diagnostic>> {
    run_packages(&mut st, graph, (usize::MAX, 0));
    let Prefix { mut p, steps, entry, .. } = st;
    let (main_local, entry_span) = match entry {
        Some(e) => e,
        None => {
            let span = graph.root_package().modules.last().map(|m| Span::new(m.file, 0, 0)).unwrap_or_default();
            p.diags.push(Diagnostic::error(span, "the program has no `main` function (write `inl main () = ...`)"));
            (0, span)
        }
    };
    if !p.diags.is_empty() {
        return Err(p.diags);
    }
    let mut body = Expr::Var(Slot::Local(main_local), entry_span);
    for st in steps.into_iter().rev() {
        body = match st {
            Step::Let(l, e) => Expr::Let(l, Box::new(e), Box::new(body)),
            Step::Rec(group) => {
                let first = group.first;
                Expr::LetRec { group, first, body: Box::new(body) }
            }
        };
    }
    // Bundled packages, and bundled library modules added to the user's package (`inv` and
    // `kernel` for spiral!): errors raised inside them are reported at the user's call.
    let library_files = graph
        .packages
        .iter()
        .flat_map(|pk| {
            let bundled = matches!(pk.source, PackageSource::Bundled(_));
            pk.modules
                .iter()
                .filter(move |m| bundled || (m.path.is_relative() && crate::project::bundled_file(&m.path.to_string_lossy()).is_some()))
                .map(|m| m.file)
        })
        .collect();
    Ok(core::Program { nominals: p.nominals, body, entry_span, library_files })
}

/// Translates the modules of `graph` after those already in `st`, up to (not including) module
/// `stop.1` of package `stop.0`.
fn run_packages(st: &mut Prefix, graph: &ProjectGraph, stop: (usize, usize)) {
    while st.files.len() < graph.packages.len() {
        let pi = st.files.len();
        let pkg = &graph.packages[pi];
        let mut part = match st.partial.take() {
            Some(part) => part,
            None => {
                if (pi, 0) >= stop {
                    return;
                }
                let mut base: Vec<(String, Bind)> = Vec::new();
                for dep in &pkg.dependencies {
                    if let Some(exp) = st.package_exports.get(dep.package) {
                        // `name` without `-` is reachable as a module path; approximated, like
                        // an include, by exposing the modules under their names too.
                        // (a lone file's `core` is included: `prelude` gives it real_core's
                        // names, and a bottom-up module prefers them over core's top-down
                        // definitions of the same names, see `Prepass::lookup`)
                        base.extend(exp.iter().cloned());
                    }
                }
                // The scope is built once per package and kept equal to `base` plus the
                // finished modules at each module's start (a named module's own bindings are
                // dropped for its name; an unnamed one's stay).
                st.p.scope = Scope::from_vec(base);
                Partial::default()
            }
        };
        while part.files.len() < pkg.modules.len() {
            if (pi, part.files.len()) >= stop {
                st.partial = Some(part);
                return;
            }
            let m = &pkg.modules[part.files.len()];
            let folder_mark = st.p.scope.len();
            // a module in a folder sees the folder's earlier modules and subfolders, and those
            // of the folders around it
            for k in 1..=m.scope.len() {
                let items = folder_tree(&part.folders, &m.scope[..k], &mut st.p.modules);
                st.p.scope.extend(items);
            }
            let own_start = st.p.scope.len();
            st.p.top_down = m.segment == crate::syntax::Segment::TopDown;
            st.p.opened.clear();
            st.p.top_items(&m.parsed.module.items, &mut st.steps);
            // the bundled library modules (`kernel` opens `inv`) re-export, as their typed
            // signatures do
            let library = crate::driver::LIBRARY.iter().any(|(p, _)| m.path == std::path::Path::new(p));
            let own: Vec<(String, Bind)> = if m.name.is_some() && !library && !st.p.opened.is_empty() {
                // a named module's namespace is its own definitions, not what it opened
                let opened = std::mem::take(&mut st.p.opened);
                let all = st.p.scope.since(own_start);
                all.into_iter().enumerate().filter(|(i, _)| !opened.iter().any(|r| r.contains(&(own_start + i)))).map(|(_, b)| b).collect()
            } else {
                st.p.scope.since(own_start)
            };
            // which of core's names are top-down definitions, and the bottom-up ones they hide
            // (see `Prepass::lookup`)
            if m.segment == crate::syntax::Segment::TopDown {
                for (_, b) in &own {
                    if let Bind::Val { depth: 0, local, .. } = b {
                        st.p.td_locals.insert(*local);
                    }
                }
            } else if m.name.is_none() && matches!(&pkg.source, PackageSource::Bundled(n) if n == "core") {
                for (n, b) in &own {
                    st.p.bu_names.insert(n.clone(), b.clone());
                }
            }
            if pi == graph.root {
                if let Some((_, Bind::Val { local, .. })) = own.iter().rev().find(|(n, _)| n == "main") {
                    let span = m.parsed.module.items.iter().rev().find_map(|it| match &it.kind {
                        TopKind::Inl { name, .. } if name.name == "main" => Some(name.span),
                        _ => None,
                    });
                    st.entry = Some((*local, span.unwrap_or_else(|| Span::new(m.file, 0, 0))));
                }
            }
            let mid = st.p.modules.len();
            st.p.modules.push(own.clone());
            st.p.module_top_down.push(m.segment == crate::syntax::Segment::TopDown);
            if !m.scope.is_empty() {
                // the module's names go to its folder; the top folder, with everything in it
                // so far, is a module of the package
                st.p.scope.truncate(folder_mark);
                let f = part.folders.entry(m.scope.clone()).or_default();
                match &m.name {
                    Some(n) => f.push((n.clone(), Bind::Module(mid))),
                    None => f.extend(own),
                }
                let top = m.scope[0].clone();
                let tree = folder_tree(&part.folders, std::slice::from_ref(&top), &mut st.p.modules);
                let tid = st.p.modules.len();
                st.p.modules.push(tree);
                part.exports.push((top.clone(), Bind::Module(tid)));
                st.p.scope.push((top, Bind::Module(tid)));
                part.files.push(m.file);
                continue;
            }
            match &m.name {
                Some(n) => {
                    part.exports.push((n.clone(), Bind::Module(mid)));
                    st.p.scope.truncate(own_start);
                    st.p.scope.push((n.clone(), Bind::Module(mid)));
                }
                None => part.exports.extend(own),
            }
            part.files.push(m.file);
        }
        st.package_exports.push(part.exports);
        st.files.push(part.files);
    }
}

#[derive(Clone)]
enum Step {
    Let(u32, Expr),
    Rec(Rc<RecGroup>),
}

impl Prepass {
    fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, msg));
    }

    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn depth(&self) -> usize {
        self.fns.len() - 1
    }

    fn new_local(&mut self) -> u32 {
        let f = self.fns.last_mut().expect("fn");
        let l = f.next_local;
        f.next_local += 1;
        l
    }

    fn bind(&mut self, n: &str) -> u32 {
        let l = self.new_local();
        let depth = self.depth();
        self.scope.push((n.to_string(), Bind::Val { depth, local: l, ty: false }));
        l
    }

    /// Binds the type variable `n` to a new local.
    fn bind_ty(&mut self, n: &str) -> u32 {
        let l = self.new_local();
        let depth = self.depth();
        self.scope.push((n.to_string(), Bind::Val { depth, local: l, ty: true }));
        l
    }

    fn lookup(&self, n: &str) -> Option<Bind> {
        let b = self.scope.get(n).cloned();
        if !self.top_down {
            // bottom-up code calls core's bottom-up functions, not the top-down definitions of
            // the same name (`conv`, the `a` array prototypes `index`, `set`, `length`), which
            // take type arguments that only inference supplies
            let top_down_def = match &b {
                Some(Bind::Val { depth: 0, local, .. }) => self.td_locals.contains(local),
                Some(Bind::Proto(_)) => true,
                _ => false,
            };
            if top_down_def {
                if let Some(alt) = self.bu_names.get(n) {
                    return Some(alt.clone());
                }
            }
        }
        b
    }

    /// [`Scope::get_type`]: the name `n` in a type.
    fn lookup_type(&self, n: &str) -> Option<Bind> {
        match self.scope.get_type(n) {
            Some(Bind::Val { ty: false, .. }) if PrimTy::from_name(n).is_some() || matches!(n, "int" | "uint" | "float") => None,
            b => b.cloned(),
        }
    }

    /// `n.a.b`: a name, then members of the modules along `path`.
    fn lookup_path(&self, n: &str, path: &[ast::Ident]) -> Option<Bind> {
        let mut b = self.lookup(n)?;
        for k in path {
            let Bind::Module(mi) = b else { return None };
            b = self.modules[mi].iter().rev().find(|(x, _)| *x == k.name).map(|(_, b)| b.clone())?;
        }
        Some(b)
    }

    /// The module `e` names: a module variable `m`, or a path `m.sub` through submodules
    /// (folders); with the path as written.
    fn module_of(&self, e: &ast::Expr) -> Option<(String, usize)> {
        match &e.kind {
            ExprKind::Var { name, .. } => match self.lookup(name) {
                Some(Bind::Module(mi)) => Some((name.clone(), mi)),
                _ => None,
            },
            ExprKind::Apply(a, b) => {
                let ExprKind::Symbol(x) = &b.kind else { return None };
                let (m, mi) = self.module_of(a)?;
                match self.modules[mi].iter().rev().find(|(k, _)| k == x) {
                    Some((_, Bind::Module(sub))) => Some((format!("{m}.{x}"), *sub)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn notify(&mut self, depth: usize, slot: Slot) {
        for t in self.fns[depth].trackers.iter_mut() {
            match slot {
                Slot::Cap(_) => {
                    t.free.insert(slot);
                }
                Slot::Local(i) if i < t.start => {
                    t.free.insert(slot);
                }
                _ => {}
            }
        }
    }

    /// The slot of a variable bound at (`depth`, `local`) as seen from the current function,
    /// adding captures along the way.
    fn slot_of(&mut self, depth: usize, local: u32) -> Slot {
        let mut slot = Slot::Local(local);
        self.notify(depth, slot);
        for k in depth + 1..self.fns.len() {
            let f = &mut self.fns[k];
            let cap = match f.cap_map.get(&slot) {
                Some(c) => *c,
                None => {
                    let c = f.caps.len() as u32;
                    f.caps.push(slot);
                    f.cap_map.insert(slot, c);
                    c
                }
            };
            slot = Slot::Cap(cap);
            self.notify(k, slot);
        }
        slot
    }

    // ------------------------------------------------------------------ top level

    fn top_items(&mut self, items: &[ast::TopItem], steps: &mut Vec<Step>) {
        let mut i = 0;
        while i < items.len() {
            let it = &items[i];
            match &it.kind {
                TopKind::Inl { name: n, body, rec, .. } => {
                    // collect an `and` group
                    let mut group: Vec<(&ast::Ident, &ast::Expr)> = vec![(n, body)];
                    let mut j = i + 1;
                    while j < items.len() {
                        if let TopKind::And(inner) = &items[j].kind {
                            if let TopKind::Inl { name, body, .. } = &inner.kind {
                                group.push((name, body));
                                j += 1;
                                continue;
                            }
                        }
                        break;
                    }
                    if *rec || group.len() > 1 {
                        let g = self.rec_group(&group);
                        steps.push(Step::Rec(g));
                    } else {
                        let e = self.expr_named(body, &n.name);
                        let l = self.bind(&n.name);
                        steps.push(Step::Let(l, e));
                    }
                    i = j;
                    continue;
                }
                TopKind::And(inner) => {
                    // an `and` continuing a nominal group, or a stray one
                    let mut v = Vec::new();
                    self.top_items(std::slice::from_ref(inner), &mut v);
                    steps.extend(v);
                }
                TopKind::Nominal { name: n, params, body, .. } => {
                    // `union rec a = .. and union b = ..`: register every name of the group
                    // first, so the bodies can refer to each other
                    let mut group: Vec<(&ast::Ident, &Vec<ast::HoVar>, &ast::TypeExpr)> = vec![(n, params, body)];
                    let mut j = i + 1;
                    while j < items.len() {
                        if let TopKind::And(inner) = &items[j].kind {
                            if let TopKind::Nominal { name, params, body, .. } = &inner.kind {
                                group.push((name, params, body));
                                j += 1;
                                continue;
                            }
                        }
                        break;
                    }
                    let ids: Vec<u32> = group.iter().map(|(n, params, _)| self.nominal_register(n, params)).collect();
                    for (id, (_, params, body)) in ids.into_iter().zip(group) {
                        self.nominal_body(id, params, body, steps);
                    }
                    i = j;
                    continue;
                }
                TopKind::Type { name: n, params, body } => {
                    let ps: Vec<String> = params.iter().map(|p| p.name.name.clone()).collect();
                    let mut names = Vec::new();
                    type_names(body, &mut names);
                    let captured: Vec<(String, Bind)> = names.into_iter().filter(|x| !ps.contains(x)).filter_map(|x| self.lookup(&x).map(|b| (x, b))).collect();
                    self.scope.push((n.name.clone(), Bind::Alias(Rc::new(AliasDef { params: ps, body: body.clone(), captured }))));
                }
                TopKind::Prototype { name: n, params, ty, .. } => {
                    let mut vars: Vec<String> = params.iter().map(|p| p.var.name.name.clone()).collect();
                    let mut t = ty;
                    while let TypeKind::Forall(v, b) = &t.kind {
                        vars.push(v.var.name.name.clone());
                        t = b;
                    }
                    let info = ProtoInfo { id: self.next_proto, name: n.name.clone(), vars };
                    self.next_proto += 1;
                    self.scope.push((n.name.clone(), Bind::Proto(Rc::new(info))));
                }
                TopKind::Instance { prototype, nominal, params, body } => {
                    let proto = match self.scope.get_proto(&prototype.name) {
                        Some(p) => p.clone(),
                        None => {
                            self.error(prototype.span, format!("`{}` is not a prototype", prototype.name));
                            i += 1;
                            continue;
                        }
                    };
                    let nid = match self.lookup(&nominal.name) {
                        Some(Bind::Nominal(d)) => d,
                        _ => {
                            self.error(nominal.span, format!("`{}` is not a nominal type", nominal.name));
                            i += 1;
                            continue;
                        }
                    };
                    // the body is a function of the instance's type variables, then of the
                    // prototype's after the selector (see `infer::passing`)
                    let ids = self.passing.instance_vars.get(&body.span).cloned().unwrap_or_default();
                    for (id, n) in &ids {
                        self.tvar_names.insert(*id, n.clone());
                    }
                    let names: Vec<String> = params.iter().map(|p| p.var.name.name.clone()).chain(proto.vars.iter().cloned()).collect();
                    let label = format!("{}#{}", prototype.name, nominal.name);
                    let e = if names.is_empty() { self.expr_named(body, &label) } else { Expr::Lambda(self.named_type_params(&names, body, &label)) };
                    let l = self.bind(&label);
                    steps.push(Step::Let(l, e));
                    let reg = self.new_local();
                    let sp = body.span;
                    let args = vec![
                        Expr::Lit(Lit::I32(proto.id as i32), sp),
                        Expr::Lit(Lit::I32(nid as i32), sp),
                        Expr::Lit(Lit::I32(params.len() as i32), sp),
                        Expr::Var(Slot::Local(l), sp),
                    ];
                    steps.push(Step::Let(reg, Expr::Op(name("ProtoRegister"), args, sp)));
                }
                TopKind::Open { module, path } => {
                    let start = self.scope.len();
                    self.open(module, path);
                    self.opened.push(start..self.scope.len());
                }
            }
            i += 1;
        }
    }

    fn open(&mut self, module: &ast::Ident, path: &[ast::Ident]) {
        match self.lookup_path(&module.name, path) {
            Some(Bind::Module(m)) => {
                let items = self.modules[m].clone();
                self.scope.extend(items);
            }
            _ => self.error(module.span, format!("`{}` is not a module", module.name)),
        }
    }

    /// The nominal inference names `n`, declared at `at` (by its declaration, so a local of
    /// the same name does not hide it; by name for one inference did not see declared).
    fn nominal_of(&self, n: &str, at: Span) -> Option<u32> {
        if let Some(id) = self.nominal_at.get(&at) {
            return Some(*id);
        }
        match self.scope.get(n) {
            Some(Bind::Nominal(id)) => Some(*id),
            _ => None,
        }
    }

    fn nominal_register(&mut self, n: &ast::Ident, params: &[ast::HoVar]) -> u32 {
        let id = self.nominals.len() as u32;
        self.nominal_at.insert(n.span, id);
        self.nominals.push(NominalDecl {
            id,
            name: name(&n.name),
            params: params.len() as u32,
            frame: 0,
            has_env: false,
            body: NominalBody::Type(TyExpr::Unit),
        });
        self.scope.push((n.name.clone(), Bind::Nominal(id)));
        id
    }

    fn nominal_body(&mut self, id: u32, params: &[ast::HoVar], body: &ast::TypeExpr, steps: &mut Vec<Step>) {
        // the body is translated in a function context of its own whose locals are the
        // parameters; the top-level variables it reads (in a `` `(term) `` type) are its captures
        self.fns.push(FnCtx::default());
        let mark = self.scope.len();
        for p in params {
            self.bind_ty(&p.name.name);
        }
        let nb = match &body.kind {
            TypeKind::Union { cases, layout, .. } => {
                let cs: Vec<(Name, TyExpr)> = cases.iter().map(|c| (name(&c.name.name), self.ty(&c.ty))).collect();
                NominalBody::Union { cases: cs, heap: matches!(layout, ast::UnionLayout::Heap) }
            }
            _ => NominalBody::Type(self.ty(body)),
        };
        let ctx = self.fns.pop().expect("the nominal's context");
        let frame = ctx.next_local;
        self.scope.truncate(mark);
        let has_env = !ctx.caps.is_empty();
        if has_env {
            let l = self.new_local();
            steps.push(Step::Let(l, Expr::NominalEnv { nominal: id, caps: ctx.caps, span: body.span }));
        }
        let d = &mut self.nominals[id as usize];
        d.body = nb;
        d.frame = frame;
        d.has_env = has_env;
        if let NominalBody::Union { cases, .. } = &self.nominals[id as usize].body {
            let names: Vec<Name> = cases.iter().map(|c| c.0.clone()).collect();
            for c in names {
                self.scope.push((c.to_string(), Bind::Ctor(id, c)));
            }
        }
    }

    fn rec_group(&mut self, group: &[(&ast::Ident, &ast::Expr)]) -> Rc<RecGroup> {
        let first = self.fns.last().expect("fn").next_local;
        for (n, _) in group {
            self.bind(&n.name);
        }
        let mut members = Vec::new();
        for (n, body) in group {
            match self.expr_named(body, &n.name) {
                Expr::Lambda(l) => members.push(l),
                _ => self.error(body.span, "a recursive binding must be a function (`inl rec f x = ...`)"),
            }
        }
        Rc::new(RecGroup { members, first })
    }

    // ------------------------------------------------------------------ expressions

    fn expr_named(&mut self, e: &ast::Expr, n: &str) -> Expr {
        // a generalised binding with passed type parameters (inference's type passing)
        if let Some(params) = self.passing.params.get(&e.span).cloned() {
            if self.params_done.insert(e.span) {
                let mut inner = e;
                while let ExprKind::Forall(_, b) = &inner.kind {
                    inner = b;
                }
                let mut implicit = Vec::new();
                for (id, written) in params {
                    match written {
                        Some(w) => {
                            self.tvar_names.insert(id, w);
                        }
                        None => implicit.push(id),
                    }
                }
                if !implicit.is_empty() {
                    self.pending_params.insert(inner.span, implicit);
                }
            }
        }
        if !matches!(e.kind, ExprKind::Forall(..)) {
            if let Some(ids) = self.pending_params.remove(&e.span) {
                return Expr::Lambda(self.type_params(&ids, e, n));
            }
        }
        match &e.kind {
            ExprKind::Fun(clauses) => Expr::Lambda(self.lambda(clauses, e.span, n)),
            ExprKind::Forall(tv, body) => Expr::Lambda(self.forall(tv, body, e.span, n)),
            ExprKind::JoinPoint { backend: None, body, name: jn } => {
                let jname = jn.clone().unwrap_or_else(|| n.to_string());
                self.join(body, e.span, &jname)
            }
            _ => self.expr(e),
        }
    }

    fn lambda(&mut self, clauses: &[(ast::Pattern, ast::Expr)], span: Span, n: &str) -> Rc<Lambda> {
        self.fns.push(FnCtx::default());
        let mark = self.scope.len();
        let arg = self.new_local();
        let body = if clauses.len() == 1 {
            match &clauses[0].0.kind {
                PatternKind::Var(v) => {
                    let depth = self.depth();
                    self.scope.push((v.clone(), Bind::Val { depth, local: arg, ty: false }));
                    self.expr_named(&clauses[0].1, n)
                }
                _ => {
                    let cs = self.clauses(clauses, n);
                    Expr::Match(Box::new(Expr::Var(Slot::Local(arg), span)), cs, clauses[0].0.span)
                }
            }
        } else {
            let cs = self.clauses(clauses, n);
            Expr::Match(Box::new(Expr::Var(Slot::Local(arg), span)), cs, span)
        };
        self.scope.truncate(mark);
        let f = self.fns.pop().expect("fn");
        let id = self.id();
        Rc::new(Lambda { captures: f.caps, arg, body, frame: f.next_local, id, name: name(n), span })
    }

    fn forall(&mut self, tv: &ast::TypeVar, body: &ast::Expr, span: Span, n: &str) -> Rc<Lambda> {
        self.fns.push(FnCtx::default());
        let mark = self.scope.len();
        let arg = self.new_local();
        let depth = self.depth();
        self.scope.push((tv.var.name.name.clone(), Bind::Val { depth, local: arg, ty: true }));
        let b = self.expr_named(body, n);
        self.scope.truncate(mark);
        let f = self.fns.pop().expect("fn");
        let id = self.id();
        Rc::new(Lambda { captures: f.caps, arg, body: b, frame: f.next_local, id, name: name(n), span })
    }

    /// Functions of types named `names` around `body` (an instance's type variables).
    fn named_type_params(&mut self, names: &[String], body: &ast::Expr, n: &str) -> Rc<Lambda> {
        self.fns.push(FnCtx::default());
        let mark = self.scope.len();
        let arg = self.new_local();
        let depth = self.depth();
        self.scope.push((names[0].clone(), Bind::Val { depth, local: arg, ty: true }));
        let b = if names.len() > 1 { Expr::Lambda(self.named_type_params(&names[1..], body, n)) } else { self.expr_named(body, n) };
        self.scope.truncate(mark);
        let f = self.fns.pop().expect("fn");
        let id = self.id();
        Rc::new(Lambda { captures: f.caps, arg, body: b, frame: f.next_local, id, name: name(n), span: body.span })
    }

    /// A type argument as an expression: a nominal applied to fewer arguments than it takes
    /// (a higher-kinded argument such as `list`) is the nominal's type function.
    fn type_arg(&mut self, a: &crate::infer::Closed, span: Span) -> Expr {
        if let crate::infer::Closed::Var(id) = a {
            // the enclosing binding's parameter, as it is (a type or a type function)
            let found = self.tvar_names.get(id).and_then(|n| self.lookup_type(n));
            if let Some(Bind::Val { depth, local, .. }) = found {
                return Expr::Var(self.slot_of(depth, local), span);
            }
        }
        if let crate::infer::Closed::Nominal(n, at, args) = a {
            if let Some(id) = self.nominal_of(n, *at) {
                let arity = self.nominals.get(id as usize).map(|d| d.params as usize).unwrap_or(0);
                if args.len() < arity {
                    let mut e = Expr::Nominal(id, span);
                    for x in args {
                        let t = self.passed_ty(x);
                        e = Expr::Apply(Box::new(e), Box::new(Expr::Type(t, span)), span);
                    }
                    return e;
                }
            }
        }
        Expr::Type(self.passed_ty(a), span)
    }

    /// A use of prototype `p`: the instance for the type its selector takes here, applied to
    /// the other type arguments.
    /// A prototype used from bottom-up code, where inference gives no types: a function of
    /// the selector type (given explicitly: `` index `ar `dim `el ar i ``) that selects the
    /// instance, which then takes the prototype's other type variables.
    fn proto_fn(&mut self, p: &ProtoInfo, span: Span) -> Expr {
        self.fns.push(FnCtx::default());
        let arg = self.new_local();
        let op = vec![Expr::Lit(Lit::I32(p.id as i32), span), Expr::Var(Slot::Local(arg), span)];
        let body = Expr::Op(name("ProtoSelect"), op, span);
        let f = self.fns.pop().expect("fn");
        let id = self.id();
        Expr::Lambda(Rc::new(Lambda { captures: f.caps, arg, body, frame: f.next_local, id, name: name(&p.name), span }))
    }

    fn proto_use(&mut self, p: &ProtoInfo, span: Span) -> Expr {
        if !self.top_down || self.in_real {
            if !self.passing.args.contains_key(&span) {
                return self.proto_fn(p, span);
            }
        }
        let Some(args) = self.passing.args.get(&span).cloned() else {
            return Expr::Error(format!("the prototype `{}` is used where inference gave it no type", p.name), span);
        };
        let op = vec![Expr::Lit(Lit::I32(p.id as i32), span), self.type_arg(&args[0], span)];
        let mut e = Expr::Op(name("ProtoSelect"), op, span);
        for a in &args[1..] {
            let t = self.type_arg(a, span);
            e = Expr::Apply(Box::new(e), Box::new(t), span);
        }
        e
    }

    /// A binding's implicit passed type parameters `ids` as functions of types around `body`
    /// (each bound under a name no program can write).
    fn type_params(&mut self, ids: &[u32], body: &ast::Expr, n: &str) -> Rc<Lambda> {
        let names: Vec<String> = ids.iter().map(|id| format!("'{id}#")).collect();
        for (id, name) in ids.iter().zip(&names) {
            self.tvar_names.insert(*id, name.clone());
        }
        self.named_type_params(&names, body, n)
    }

    /// [`Prepass::passed_ty`], `None` where a variable or nominal is out of reach.
    fn passed_ty_opt(&mut self, t: &crate::infer::Closed) -> Option<TyExpr> {
        use crate::infer::Closed as C;
        Some(match t {
            C::Var(id) => {
                let found = self.tvar_names.get(id).and_then(|n| self.lookup_type(n));
                match found {
                    Some(Bind::Val { depth, local, .. }) => TyExpr::Var(self.slot_of(depth, local), false),
                    _ => return None,
                }
            }
            C::Pair(a, b) => TyExpr::Pair(Box::new(self.passed_ty_opt(a)?), Box::new(self.passed_ty_opt(b)?)),
            C::Fun(a, b) => TyExpr::Fun(Box::new(self.passed_ty_opt(a)?), Box::new(self.passed_ty_opt(b)?)),
            C::Record(fs) => TyExpr::Record(fs.iter().map(|(k, v)| Some((name(k), self.passed_ty_opt(v)?))).collect::<Option<_>>()?),
            C::Array(a) => TyExpr::Array(Box::new(self.passed_ty_opt(a)?)),
            C::Layout(a, l) => TyExpr::Layout(layout_kind(*l)?, Box::new(self.passed_ty_opt(a)?)),
            C::Nominal(n, at, args) => match self.nominal_of(n, *at) {
                Some(id) => TyExpr::Nominal(id, args.iter().map(|a| self.passed_ty_opt(a)).collect::<Option<_>>()?),
                _ => return None,
            },
            C::Apply(h, args) => TyExpr::Apply(Box::new(self.passed_ty_opt(h)?), args.iter().map(|a| self.passed_ty_opt(a)).collect::<Option<_>>()?),
            C::Macro(parts) => {
                let mut out = Vec::new();
                for p in parts {
                    out.push(match p {
                        crate::infer::ClosedMacro::Text(x) => TyMacroPart::Text(name(x)),
                        crate::infer::ClosedMacro::Type(x) => TyMacroPart::Type(self.passed_ty_opt(x)?),
                        crate::infer::ClosedMacro::TypeLit(x) => TyMacroPart::TypeLit(self.passed_ty_opt(x)?),
                    });
                }
                TyExpr::Macro(out)
            }
            other => self.closed_ty(other)?,
        })
    }

    /// A type inference passes to a type parameter (see [`crate::infer::passing`]): a passed
    /// variable is the parameter in scope; `()` where one is out of reach.
    fn passed_ty(&mut self, t: &crate::infer::Closed) -> TyExpr {
        use crate::infer::Closed as C;
        match t {
            C::Var(id) => {
                let found = self.tvar_names.get(id).and_then(|n| self.lookup_type(n));
                match found {
                    Some(Bind::Val { depth, local, .. }) => TyExpr::Var(self.slot_of(depth, local), false),
                    _ => TyExpr::Unit,
                }
            }
            C::Pair(a, b) => TyExpr::Pair(Box::new(self.passed_ty(a)), Box::new(self.passed_ty(b))),
            C::Fun(a, b) => TyExpr::Fun(Box::new(self.passed_ty(a)), Box::new(self.passed_ty(b))),
            C::Record(fs) => TyExpr::Record(fs.iter().map(|(k, v)| (name(k), self.passed_ty(v))).collect()),
            C::Array(a) => TyExpr::Array(Box::new(self.passed_ty(a))),
            C::Layout(a, l) => match layout_kind(*l) {
                Some(k) => TyExpr::Layout(k, Box::new(self.passed_ty(a))),
                None => TyExpr::Unit,
            },
            C::Nominal(n, at, args) => match self.nominal_of(n, *at) {
                Some(id) => TyExpr::Nominal(id, args.iter().map(|a| self.passed_ty(a)).collect()),
                _ => TyExpr::Unit,
            },
            C::Apply(h, args) => {
                let h = self.passed_ty(h);
                TyExpr::Apply(Box::new(h), args.iter().map(|a| self.passed_ty(a)).collect())
            }
            C::Macro(parts) => TyExpr::Macro(
                parts
                    .iter()
                    .map(|p| match p {
                        crate::infer::ClosedMacro::Text(x) => TyMacroPart::Text(name(x)),
                        crate::infer::ClosedMacro::Type(x) => TyMacroPart::Type(self.passed_ty(x)),
                        crate::infer::ClosedMacro::TypeLit(x) => TyMacroPart::TypeLit(self.passed_ty(x)),
                    })
                    .collect(),
            ),
            other => self.closed_ty(other).unwrap_or(TyExpr::Unit),
        }
    }

    fn clauses(&mut self, clauses: &[(ast::Pattern, ast::Expr)], n: &str) -> Vec<Clause> {
        let mut out = Vec::new();
        for (p, b) in clauses {
            let mark = self.scope.len();
            let mut binds = HashMap::default();
            let pat = self.pat(p, &mut binds);
            let body = self.expr_named(b, n);
            self.scope.truncate(mark);
            out.push(Clause { pat, body });
        }
        out
    }

    fn join(&mut self, body: &ast::Expr, span: Span, n: &str) -> Expr {
        self.join_annot(body, None, span, n)
    }

    /// A join point; `outer` is an annotation written around it (`(join e) : t`), which gives
    /// its return type like an annotation on the body does (`let f x : t = ...`).
    fn join_annot(&mut self, body: &ast::Expr, outer: Option<&ast::TypeExpr>, span: Span, n: &str) -> Expr {
        // an unannotated join point of a top-down module: its inferred return type
        let inferred = match (outer, &body.kind) {
            (None, k) if !matches!(k, ExprKind::Annot(..)) => self.passing.joins.get(&span).cloned().and_then(|t| self.passed_ty_opt(&t)),
            _ => None,
        };
        let start = self.fns.last().expect("fn").next_local;
        self.fns.last_mut().expect("fn").trackers.push(Tracker { start, free: BTreeSet::new() });
        let (b, ret) = match (&body.kind, outer) {
            (_, Some(t)) => {
                let t = self.ty(t);
                let e = self.expr(body);
                (e, Some(t).filter(|t| !has_wildcard(t)))
            }
            (ExprKind::Annot(inner, t), None) => {
                let t = self.ty(t);
                let e = self.expr(inner);
                if has_wildcard(&t) {
                    (e, None)
                } else {
                    (Expr::Annot(Box::new(e), t.clone(), body.span), Some(t))
                }
            }
            _ => (self.expr(body), inferred),
        };
        let t = self.fns.last_mut().expect("fn").trackers.pop().expect("tracker");
        // free variables of a nested join are free in the enclosing join too
        let depth = self.depth();
        for s in &t.free {
            self.notify(depth, *s);
        }
        let frame = self.fns.last().expect("fn").next_local;
        let id = self.id();
        Expr::Join { body: Box::new(b), free: t.free.into_iter().collect::<Vec<_>>().into(), ret, name: name(n), frame, id, span }
    }

    fn var(&mut self, n: &str, span: Span) -> Expr {
        match self.lookup(n) {
            Some(Bind::Val { depth, local, .. }) => {
                let mut e = Expr::Var(self.slot_of(depth, local), span);
                // a use of a binding with passed type parameters: apply it to their types
                if let Some(args) = self.passing.args.get(&span).cloned() {
                    for a in &args {
                        let t = self.type_arg(a, span);
                        e = Expr::Apply(Box::new(e), Box::new(t), span);
                    }
                }
                e
            }
            Some(Bind::Proto(p)) => self.proto_use(&p, span),
            Some(Bind::Nominal(d)) if self.passing.args.contains_key(&span) => {
                // a generic nominal's constructor: its type arguments from inference first
                let mut e = Expr::Nominal(d, span);
                for a in self.passing.args[&span].clone() {
                    let t = self.type_arg(&a, span);
                    e = Expr::Apply(Box::new(e), Box::new(t), span);
                }
                e
            }
            Some(Bind::Ctor(d, c)) => {
                let nullary = self.nominals.get(d as usize).is_some_and(|nd| nullary_case(nd, &c));
                let e = Expr::Constructor(d, c, span);
                match self.ctor_types.get(&span).cloned() {
                    Some(t @ crate::infer::Closed::Nominal(..)) if nullary => match self.passed_ty_opt(&t) {
                        Some(ty @ TyExpr::Nominal(id, _)) if id == d => Expr::Annot(Box::new(e), ty, span),
                        _ => e,
                    },
                    _ => e,
                }
            }
            Some(Bind::Nominal(d)) => Expr::Nominal(d, span),
            Some(Bind::Module(_)) => Expr::Error(format!("the module `{n}` cannot be used as a value; select a member with `{n}.name`"), span),
            Some(Bind::Alias(_)) | Some(Bind::TyExpr(_)) => {
                let t = self.ty(&ast::TypeExpr { span, kind: TypeKind::Var(n.to_string()) });
                Expr::Type(t, span)
            }
            None => {
                if let Some(p) = PrimTy::from_name(n) {
                    return Expr::Type(TyExpr::Prim(p), span);
                }
                self.error(span, format!("unbound variable `{n}`"));
                Expr::Error(format!("unbound variable `{n}`"), span)
            }
        }
    }

    /// An inferred closed type as a type expression, nominals resolved by name in the current
    /// scope; `None` if one is not in scope.
    fn closed_ty(&self, t: &crate::infer::Closed) -> Option<TyExpr> {
        use crate::infer::Closed as C;
        Some(match t {
            C::Var(id) => match self.tvar_names.get(id).and_then(|n| self.scope.get_type(n)) {
                // a passed type parameter of an enclosing binding (read without a capture, so
                // only in the function that binds it)
                Some(Bind::Val { depth, local, .. }) if *depth == self.depth() => TyExpr::Var(Slot::Local(*local), false),
                _ => return None,
            },
            C::Layout(a, l) => TyExpr::Layout(layout_kind(*l)?, Box::new(self.closed_ty(a)?)),
            C::Apply(h, args) => TyExpr::Apply(Box::new(self.closed_ty(h)?), args.iter().map(|a| self.closed_ty(a)).collect::<Option<_>>()?),
            C::Macro(parts) => TyExpr::Macro(
                parts
                    .iter()
                    .map(|p| {
                        Some(match p {
                            crate::infer::ClosedMacro::Text(x) => TyMacroPart::Text(name(x)),
                            crate::infer::ClosedMacro::Type(x) => TyMacroPart::Type(self.closed_ty(x)?),
                            crate::infer::ClosedMacro::TypeLit(x) => TyMacroPart::TypeLit(self.closed_ty(x)?),
                        })
                    })
                    .collect::<Option<_>>()?,
            ),
            C::Unit => TyExpr::Unit,
            C::Prim(p) => TyExpr::Prim(*p),
            C::Symbol(x) => TyExpr::Symbol(name(x)),
            C::Pair(a, b) => TyExpr::Pair(Box::new(self.closed_ty(a)?), Box::new(self.closed_ty(b)?)),
            C::Record(fs) => TyExpr::Record(fs.iter().map(|(k, v)| Some((name(k), self.closed_ty(v)?))).collect::<Option<_>>()?),
            C::Array(a) => TyExpr::Array(Box::new(self.closed_ty(a)?)),
            C::Fun(a, b) => TyExpr::Fun(Box::new(self.closed_ty(a)?), Box::new(self.closed_ty(b)?)),
            C::Nominal(n, at, args) => TyExpr::Nominal(self.nominal_of(n, *at)?, args.iter().map(|a| self.closed_ty(a)).collect::<Option<_>>()?),
        })
    }

    fn expr(&mut self, e: &ast::Expr) -> Expr {
        let s = e.span;
        match &e.kind {
            ExprKind::Unit => Expr::Unit(s),
            ExprKind::Var { name: n, .. } => self.var(n, s),
            ExprKind::Lit(l) => Expr::Lit(lit(l), s),
            ExprKind::DefaultLit(t) if self.passing.literals.contains_key(&s) => {
                // a literal whose type is a passed type parameter: made at that type
                let id = self.passing.literals[&s];
                let ty = self.passed_ty(&crate::infer::Closed::Var(id));
                Expr::Op(name("TypedLit"), vec![Expr::Type(ty, s), Expr::Lit(Lit::String(name(t)), s)], s)
            }
            ExprKind::DefaultLit(t) if self.lits.contains_key(&s) => {
                let p = self.lits[&s];
                match typed_lit(t, p) {
                    Some(l) => Expr::Lit(l, s),
                    None => {
                        self.error(s, format!("the number `{t}` does not fit its type `{}`", p.name()));
                        Expr::Unit(s)
                    }
                }
            }
            ExprKind::DefaultLit(t) => match default_lit(t) {
                Some(l) => Expr::Lit(l, s),
                None => {
                    self.error(s, format!("the number `{t}` does not fit the default type (i32 or f64); add a suffix such as `i64`"));
                    Expr::Unit(s)
                }
            },
            ExprKind::Symbol(n) => Expr::Symbol(name(n), s),
            ExprKind::Type(t) => Expr::Type(self.ty(t), s),
            ExprKind::Match { scrutinee, clauses } => {
                if clauses.len() == 1 {
                    if let PatternKind::Var(v) = &clauses[0].0.kind {
                        let v = v.clone();
                        let val = self.expr_named(scrutinee, &v);
                        let mark = self.scope.len();
                        let l = self.bind(&v);
                        let body = self.expr(&clauses[0].1);
                        self.scope.truncate(mark);
                        return Expr::Let(l, Box::new(val), Box::new(body));
                    }
                }
                let x = self.expr(scrutinee);
                let cs = self.clauses(clauses, "match");
                // a destructuring `inl p = e` reports at its pattern, a `match` at the keyword
                let span = if clauses.len() == 1 && clauses[0].0.span.start < scrutinee.span.start { clauses[0].0.span } else { s };
                Expr::Match(Box::new(x), cs, span)
            }
            ExprKind::Fun(clauses) => Expr::Lambda(self.lambda(clauses, s, "fun")),
            ExprKind::Forall(tv, body) => Expr::Lambda(self.forall(tv, body, s, "forall")),
            ExprKind::Exists { .. } => {
                self.error(s, "existentials (`exists`) are not supported");
                Expr::Unit(s)
            }
            ExprKind::RecBlock { bindings, body } => {
                let mark = self.scope.len();
                let group: Vec<(&ast::Ident, &ast::Expr)> = bindings.iter().map(|(a, b)| (a, b)).collect();
                let g = self.rec_group(&group);
                let b = self.expr(body);
                self.scope.truncate(mark);
                let first = g.first;
                Expr::LetRec { group: g, first, body: Box::new(b) }
            }
            ExprKind::RecordWith { bases, with, without } => self.record(bases, with, without, s),
            ExprKind::Op { name: n, args } => {
                // `!!!!PrototypeHas(proto, `t)`: whether `t`'s nominal has an instance of `proto`
                // in scope here (the instances as `ProtoSelect` takes them)
                if n.name == "PrototypeHas" && args.len() == 2 {
                    if let ExprKind::Var { name: pn, .. } = &args[0].kind {
                        if let Some(p) = self.scope.get_proto(pn).cloned() {
                            let op = vec![Expr::Lit(Lit::I32(p.id as i32), s), self.expr(&args[1])];
                            return Expr::Op(name("ProtoHas"), op, s);
                        }
                    }
                    self.error(args[0].span, "`PrototypeHas` takes a prototype in scope, then a type");
                    return Expr::Lit(Lit::Bool(false), s);
                }
                let a = args.iter().map(|x| self.expr(x)).collect();
                Expr::Op(name(&n.name), a, s)
            }
            ExprKind::JoinPoint { backend, body, name: jn } => match backend {
                None => self.join(body, s, jn.as_deref().unwrap_or("join")),
                Some(b) => match self.join(body, s, &b.name) {
                    Expr::Join { body, free, frame, id, span, .. } => {
                        Expr::JoinBackend { backend: name(&b.name), body, free, frame, id, span }
                    }
                    other => other,
                },
            },
            ExprKind::Annot(x, t) => {
                if let ExprKind::JoinPoint { backend: None, body, name: jn } = &x.kind {
                    let j = self.join_annot(body, Some(t), x.span, jn.as_deref().unwrap_or("join"));
                    let t2 = self.ty(t);
                    if has_wildcard(&t2) {
                        return j;
                    }
                    return Expr::Annot(Box::new(j), t2, s);
                }
                let x = self.expr(x);
                let t = self.ty(t);
                if has_wildcard(&t) || (self.top_down && !self.in_real) {
                    // `_` (top-down's "fill") or an opaque library type, or any annotation of
                    // top-down code: inference checked it, and as in v2 it is erased
                    return x;
                }
                Expr::Annot(Box::new(x), t, s)
            }
            ExprKind::Typecase { scrutinee, clauses } => {
                let t = self.ty(scrutinee);
                let mut cs = Vec::new();
                for (p, b) in clauses {
                    let mark = self.scope.len();
                    let saved = self.meta_pattern.replace(Vec::new());
                    let pat = self.ty(p);
                    self.meta_pattern = saved;
                    let body = self.expr(b);
                    self.scope.truncate(mark);
                    cs.push(TypeClause { pat, body });
                }
                Expr::TypeCase(t, cs, s)
            }
            ExprKind::Open { module, path, body } => {
                let mark = self.scope.len();
                self.open(module, path);
                let b = self.expr(body);
                self.scope.truncate(mark);
                b
            }
            ExprKind::Apply(a, b) => {
                // an array literal `;[a; b]` arrives as `array` applied to the elements
                if let (ExprKind::Var { name: f, .. }, ExprKind::Array(_)) = (&a.kind, &b.kind) {
                    if f == "array" && self.lookup(f).is_none() {
                        return self.expr(b);
                    }
                }
                // bottom-up code giving a prototype its type arguments (`` index `ar ... ``):
                // the prototype, even where core's bottom-up function of that name is preferred
                if let (ExprKind::Var { name: f, .. }, ExprKind::Type(_)) = (&a.kind, &b.kind) {
                    if !self.top_down || self.in_real {
                        if let Some(Bind::Proto(p)) = self.scope.get(f).cloned() {
                            let fa = self.proto_fn(&p, a.span);
                            let fb = self.expr(b);
                            return Expr::Apply(Box::new(fa), Box::new(fb), s);
                        }
                    }
                }
                // module member access: `m.x`, `m.sub.x`
                if let ExprKind::Symbol(x) = &b.kind {
                    if let Some((m, mi)) = self.module_of(a) {
                        let found = self.modules[mi].iter().rev().find(|(k, _)| k == x).map(|(_, b)| b.clone());
                        return match found {
                            Some(bind) => {
                                let saved = self.scope.len();
                                self.scope.push((x.clone(), bind));
                                let r = self.var(x, s);
                                self.scope.truncate(saved);
                                r
                            }
                            None => {
                                self.error(s, format!("the module `{m}` has no member `{x}`"));
                                Expr::Unit(s)
                            }
                        };
                    }
                }
                let fa = self.expr(a);
                let fb = self.expr(b);
                Expr::Apply(Box::new(fa), Box::new(fb), s)
            }
            ExprKind::IfThenElse(c, a, b) => {
                let c = self.expr(c);
                let a = self.expr(a);
                let b = self.expr(b);
                Expr::If(Box::new(c), Box::new(a), Box::new(b), s)
            }
            ExprKind::IfThen(c, a) => {
                let c = self.expr(c);
                let a = self.expr(a);
                Expr::If(Box::new(c), Box::new(a), Box::new(Expr::Unit(s)), s)
            }
            ExprKind::Pair(a, b) => {
                let a = self.expr(a);
                let b = self.expr(b);
                Expr::Pair(Box::new(a), Box::new(b), s)
            }
            ExprKind::Seq(a, b) => {
                let a = self.expr(a);
                let b = self.expr(b);
                Expr::Seq(Box::new(a), Box::new(b))
            }
            ExprKind::HeapMutableSet { target, path, value } => {
                let t = self.expr(target);
                let p = path.iter().map(|x| self.expr(x)).collect();
                let v = self.expr(value);
                Expr::HeapSet { target: Box::new(t), path: p, value: Box::new(v), span: s }
            }
            ExprKind::Real(x) => {
                let saved = std::mem::replace(&mut self.in_real, true);
                let r = self.expr(x);
                self.in_real = saved;
                r
            }
            ExprKind::Macro(parts) => {
                let ps = parts
                    .iter()
                    .map(|p| match p {
                        ast::MacroPart::Text(t, _) => MacroPartE::Text(name(t)),
                        ast::MacroPart::Term(x) => MacroPartE::Term(self.expr(x)),
                        ast::MacroPart::Type(t) => MacroPartE::Type(self.ty(t)),
                        ast::MacroPart::TypeLit(t) => MacroPartE::TypeLit(self.ty(t)),
                    })
                    .collect();
                // top-down: the type inference gives it (v2 fills macros)
                let filled = self.passing.macros.get(&s).cloned().and_then(|t| self.passed_ty_opt(&t)).filter(|t| !has_wildcard(t));
                Expr::Macro(ps, filled, s)
            }
            // The parser produces array literals only in the top-down segment.
            ExprKind::Array(xs) => Expr::Op(name("ArrayLiteral"), xs.iter().map(|x| self.expr(x)).collect(), s),
            ExprKind::MissingBody => {
                self.error(s, "missing body");
                Expr::Unit(s)
            }
        }
    }

    fn rkey_ident(&mut self, id: &ast::Ident, inject: bool) -> RecordKey {
        if inject {
            match self.lookup(&id.name) {
                Some(Bind::Val { depth, local, .. }) => RecordKey::Inject(self.slot_of(depth, local), id.span),
                _ => {
                    self.error(id.span, format!("unbound variable `{}`", id.name));
                    RecordKey::Name(name(&id.name))
                }
            }
        } else {
            RecordKey::Name(name(&id.name))
        }
    }

    fn record(&mut self, bases: &[ast::Expr], with: &[ast::RecordWith], without: &[ast::RecordWithout], s: Span) -> Expr {
        let mut fields = Vec::new();
        for w in with {
            fields.push(match w {
                ast::RecordWith::Symbol(k, e) => {
                    let v = self.expr(e);
                    RecordField::Set(RecordKey::Name(name(&k.name)), v)
                }
                ast::RecordWith::SymbolModify(k, e) => {
                    let v = self.expr(e);
                    RecordField::Modify(RecordKey::Name(name(&k.name)), v)
                }
                ast::RecordWith::InjectVar(k, e) => {
                    let key = self.rkey_ident(k, true);
                    let v = self.expr(e);
                    RecordField::Set(key, v)
                }
                ast::RecordWith::InjectVarModify(k, e) => {
                    let key = self.rkey_ident(k, true);
                    let v = self.expr(e);
                    RecordField::Modify(key, v)
                }
            });
        }
        for w in without {
            fields.push(match w {
                ast::RecordWithout::Symbol(k) => RecordField::Remove(RecordKey::Name(name(&k.name))),
                ast::RecordWithout::InjectVar(k) => {
                    let key = self.rkey_ident(k, true);
                    RecordField::Remove(key)
                }
            });
        }
        if bases.is_empty() {
            return Expr::Record { base: None, fields, span: s };
        }
        // {r .a $b with ...}: update the nested record r.a.$b and put it back
        let root = self.expr(&bases[0]);
        let path: Vec<Expr> = bases[1..].iter().map(|b| self.expr(b)).collect();
        self.nested_with(root, &path, fields, s)
    }

    fn nested_with(&mut self, base: Expr, path: &[Expr], fields: Vec<RecordField>, s: Span) -> Expr {
        match path.split_first() {
            None => Expr::Record { base: Some(Box::new(base)), fields, span: s },
            Some((k, rest)) => {
                // base is re-evaluated; it is a variable or a field access in practice
                let key = match k {
                    Expr::Symbol(n, _) => RecordKey::Name(n.clone()),
                    Expr::Var(slot, sp) => RecordKey::Inject(*slot, *sp),
                    _ => {
                        self.error(s, "a record path must be made of symbols and `$` variables");
                        RecordKey::Name(name("?"))
                    }
                };
                let key_expr = match k {
                    Expr::Symbol(n, sp) => Expr::Symbol(n.clone(), *sp),
                    Expr::Var(slot, sp) => Expr::Var(*slot, *sp),
                    _ => Expr::Unit(s),
                };
                let base2 = clone_simple(&base, s);
                let inner_base = Expr::Apply(Box::new(base2), Box::new(key_expr), s);
                let inner = self.nested_with(inner_base, rest, fields, s);
                Expr::Record { base: Some(Box::new(base)), fields: vec![RecordField::Set(key, inner)], span: s }
            }
        }
    }

    // ------------------------------------------------------------------ patterns

    fn pat(&mut self, p: &ast::Pattern, binds: &mut HashMap<String, u32>) -> Pat {
        let s = p.span;
        match &p.kind {
            PatternKind::Unit => Pat::Unit,
            PatternKind::Wildcard => Pat::Wildcard,
            PatternKind::Var(v) => {
                if let Some(l) = binds.get(v) {
                    return Pat::Var(Slot::Local(*l));
                }
                let l = self.bind(v);
                binds.insert(v.clone(), l);
                Pat::Var(Slot::Local(l))
            }
            PatternKind::Dyn(x) => {
                // a function made dynamic: closure-converted at its inferred type
                let fun_ty = self.passing.dyns.get(&s).cloned().and_then(|t| self.passed_ty_opt(&t)).filter(|t| !has_wildcard(t));
                let d = Pat::Dyn(Box::new(self.pat(x, binds)));
                match fun_ty {
                    Some(t) => Pat::Annot(Box::new(d), t),
                    None => d,
                }
            }
            PatternKind::Unbox(c, x) => match self.lookup(c) {
                Some(Bind::Ctor(d, cn)) => Pat::Union(d, cn, Box::new(self.pat(x, binds))),
                _ => {
                    self.error(s, format!("`{c}` is not a union case"));
                    Pat::Wildcard
                }
            },
            PatternKind::Exists(..) => {
                self.error(s, "existential patterns are not supported");
                Pat::Wildcard
            }
            PatternKind::Annot(x, t) => {
                let px = self.pat(x, binds);
                let t = self.ty(t);
                // erased in top-down code, as in v2: inference checked it (a real call may
                // pass a record with fewer fields)
                if has_wildcard(&t) || (self.top_down && !self.in_real) {
                    return px;
                }
                Pat::Annot(Box::new(px), t)
            }
            PatternKind::Pair(a, b) => {
                let a = self.pat(a, binds);
                let b = self.pat(b, binds);
                Pat::Pair(Box::new(a), Box::new(b))
            }
            PatternKind::Symbol(n) => Pat::Symbol(name(n)),
            PatternKind::Record(members) => {
                let mut fs = Vec::new();
                for m in members {
                    match m {
                        ast::PatRecordMember::Symbol(k, x) => {
                            let px = self.pat(x, binds);
                            fs.push((RecordKey::Name(name(&k.name)), px));
                        }
                        ast::PatRecordMember::InjectVar(k, x) => {
                            let key = self.rkey_ident(k, true);
                            let px = self.pat(x, binds);
                            fs.push((key, px));
                        }
                    }
                }
                Pat::Record(fs)
            }
            PatternKind::Or(a, b) => {
                let a = self.pat(a, binds);
                let b = self.pat(b, binds);
                Pat::Or(Box::new(a), Box::new(b))
            }
            PatternKind::And(a, b) => {
                let a = self.pat(a, binds);
                let b = self.pat(b, binds);
                Pat::And(Box::new(a), Box::new(b))
            }
            PatternKind::Lit(l) => Pat::Lit(lit(l)),
            PatternKind::DefaultLit(t) if self.lits.contains_key(&s) => {
                let p = self.lits[&s];
                match typed_lit(t, p) {
                    Some(l) => Pat::Lit(l),
                    None => {
                        self.error(s, format!("the number `{t}` does not fit its type `{}`", p.name()));
                        Pat::Wildcard
                    }
                }
            }
            PatternKind::DefaultLit(t) => match default_lit(t) {
                Some(l) => Pat::Lit(l),
                None => {
                    self.error(s, format!("the number `{t}` does not fit the default type"));
                    Pat::Wildcard
                }
            },
            PatternKind::When(x, g) => {
                let px = self.pat(x, binds);
                let g = self.expr(g);
                Pat::When(Box::new(px), Box::new(g))
            }
            PatternKind::Nominal { name: n, pat, path } => match self.lookup_path(&n.name, path) {
                Some(Bind::Nominal(d)) => Pat::Nominal(d, Box::new(self.pat(pat, binds))),
                _ => {
                    self.error(n.span, format!("`{}` is not a nominal type", n.name));
                    Pat::Wildcard
                }
            },
            PatternKind::Array(ps) => Pat::Array(ps.iter().map(|p| self.pat(p, binds)).collect()),
        }
    }

    // ------------------------------------------------------------------ types

    fn ty(&mut self, t: &ast::TypeExpr) -> TyExpr {
        let s = t.span;
        match &t.kind {
            TypeKind::Wildcard => TyExpr::Wildcard,
            TypeKind::Unit => TyExpr::Unit,
            TypeKind::MetaVar(n) => {
                if let Some(l) = self.meta_pattern.as_ref().and_then(|m| m.iter().find(|(k, _)| k == n).map(|(_, l)| *l)) {
                    return TyExpr::Var(Slot::Local(l), true);
                }
                let l = self.bind_ty(n);
                if let Some(m) = &mut self.meta_pattern {
                    m.push((n.to_string(), l));
                }
                TyExpr::Var(Slot::Local(l), true)
            }
            TypeKind::Lit(l) => TyExpr::Lit(lit(l)),
            TypeKind::DefaultLit(x) => match default_lit(x) {
                Some(l) => TyExpr::Lit(l),
                None => TyExpr::Lit(Lit::String(name(x))),
            },
            TypeKind::Var(n) => self.ty_var(n, &[], s),
            TypeKind::Pair(a, b) => TyExpr::Pair(Box::new(self.ty(a)), Box::new(self.ty(b))),
            TypeKind::Fun(a, b) => TyExpr::Fun(Box::new(self.ty(a)), Box::new(self.ty(b))),
            TypeKind::Record(fs) => TyExpr::Record(fs.iter().map(|(k, v)| (name(&k.name), self.ty(v))).collect()),
            TypeKind::Symbol(n) => TyExpr::Symbol(name(n)),
            TypeKind::Apply(..) => {
                let mut args = Vec::new();
                let mut head = t;
                while let TypeKind::Apply(f, x) = &head.kind {
                    args.push(&**x);
                    head = f;
                }
                args.reverse();
                match &head.kind {
                    // `m.t args`: a type of module `m`
                    TypeKind::Var(n) if matches!(self.lookup_type(n), Some(Bind::Module(_))) && matches!(args.first().map(|a| &a.kind), Some(TypeKind::Symbol(_))) => {
                        let Some(Bind::Module(mut mi)) = self.lookup_type(n) else { unreachable!() };
                        // through submodules (folders): `m.sub.t`
                        let mut used = 0;
                        while let (Some(TypeKind::Symbol(k)), true) = (args.get(used).map(|a| &a.kind), used + 1 < args.len()) {
                            match self.modules[mi].iter().rev().find(|(x, _)| x == k) {
                                Some((_, Bind::Module(sub))) if matches!(args[used + 1].kind, TypeKind::Symbol(_)) => {
                                    mi = *sub;
                                    used += 1;
                                }
                                _ => break,
                            }
                        }
                        let TypeKind::Symbol(k) = &args[used].kind else { unreachable!() };
                        match self.modules[mi].iter().rev().find(|(x, _)| x == k).map(|(_, b)| b.clone()) {
                            Some(bind) => {
                                let saved = self.scope.len();
                                self.scope.push((k.clone(), bind));
                                let r = self.ty_var(k, &args[used + 1..], s);
                                self.scope.truncate(saved);
                                r
                            }
                            None => {
                                self.error(s, format!("the module `{n}` has no type `{k}`"));
                                TyExpr::Unit
                            }
                        }
                    }
                    TypeKind::Var(n) => self.ty_var(n, &args, s),
                    // `_ t` (top-down's fill): inference checked it; the annotation is erased
                    TypeKind::Wildcard => TyExpr::Wildcard,
                    TypeKind::MetaVar(_) => {
                        let h = self.ty(head);
                        let a = args.iter().map(|x| self.ty(x)).collect();
                        TyExpr::Apply(Box::new(h), a)
                    }
                    _ => {
                        self.error(s, "this type cannot be applied");
                        TyExpr::Unit
                    }
                }
            }
            TypeKind::Forall(..) | TypeKind::Exists(..) => {
                self.error(s, "`forall` and `exists` types are not supported in annotations");
                TyExpr::Unit
            }
            TypeKind::Term(e) => TyExpr::TypeOf(Rc::new(self.expr(e))),
            TypeKind::Macro(parts) => TyExpr::Macro(
                parts
                    .iter()
                    .filter_map(|p| match p {
                        ast::MacroPart::Text(x, _) => Some(TyMacroPart::Text(name(x))),
                        ast::MacroPart::Type(x) => Some(TyMacroPart::Type(self.ty(x))),
                        ast::MacroPart::TypeLit(x) => Some(TyMacroPart::TypeLit(self.ty(x))),
                        ast::MacroPart::Term(x) => {
                            self.error(x.span, "a type macro cannot contain a term (`!x`)");
                            None
                        }
                    })
                    .collect(),
            ),
            TypeKind::Union { .. } => {
                self.error(s, "a union type is only allowed as the body of a `union` declaration");
                TyExpr::Unit
            }
        }
    }

    fn ty_var(&mut self, n: &str, args: &[&ast::TypeExpr], s: Span) -> TyExpr {
        let targs: Vec<TyExpr> = args.iter().map(|x| self.ty(x)).collect();
        let one = |pp: &mut Self, what: &str, targs: Vec<TyExpr>| -> TyExpr {
            if targs.len() != 1 {
                pp.error(s, format!("`{what}` takes one type argument"));
                return TyExpr::Unit;
            }
            targs.into_iter().next().unwrap_or(TyExpr::Unit)
        };
        match self.lookup_type(n) {
            Some(Bind::Nominal(d)) => return TyExpr::Nominal(d, targs),
            // core's functions `heap` and `mut` (and an `array` value) are terms: in a type
            // these names are the built-in layouts and arrays
            Some(Bind::Val { .. }) if matches!(n, "heap" | "mut" | "array") && targs.len() == 1 => {}
            Some(Bind::Val { depth, local, .. }) => {
                let slot = self.slot_of(depth, local);
                return if targs.is_empty() { TyExpr::Var(slot, false) } else { TyExpr::Apply(Box::new(TyExpr::Var(slot, false)), targs) };
            }
            Some(Bind::TyExpr(t)) => return t,
            Some(Bind::Alias(a)) => {
                let (params, body) = (&a.params, &a.body);
                if params.len() != targs.len() {
                    self.error(s, format!("the type alias `{n}` takes {} arguments", params.len()));
                    return TyExpr::Unit;
                }
                let mark = self.scope.len();
                self.scope.extend(a.captured.iter().cloned());
                for (p, t) in params.iter().zip(targs) {
                    self.scope.push((p.clone(), Bind::TyExpr(t)));
                }
                let r = self.ty(body);
                self.scope.truncate(mark);
                return r;
            }
            _ => {}
        }
        if let Some(p) = PrimTy::from_name(n) {
            return TyExpr::Prim(p);
        }
        // v2's command-line defaults for the generic number names
        let (int, uint, float) = crate::infer::env::defaults();
        match n {
            "int" if targs.is_empty() => return TyExpr::Prim(int),
            "uint" if targs.is_empty() => return TyExpr::Prim(uint),
            "float" if targs.is_empty() => return TyExpr::Prim(float),
            _ => {}
        }
        match n {
            "array" | "array_base" => TyExpr::Array(Box::new(one(self, n, targs))),
            "heap" => TyExpr::Layout(LayoutKind::Heap, Box::new(one(self, n, targs))),
            "mut" => TyExpr::Layout(LayoutKind::Mut, Box::new(one(self, n, targs))),
            // The library's inverse arrays, typed only by inference (see `infer/library_sigs.spi`):
            // an annotation that mentions one is checked there and erased here.
            "inv_array" => TyExpr::Wildcard,
            _ => {
                self.error(s, format!("unbound type `{n}`"));
                TyExpr::Unit
            }
        }
    }
}

/// The evaluator's layout for an inferred one (`stack_mut` has none).
fn layout_kind(l: crate::infer::types::Layout) -> Option<LayoutKind> {
    use crate::infer::types::Layout as L;
    match l {
        L::Heap => Some(LayoutKind::Heap),
        L::HeapMutable => Some(LayoutKind::Mut),
        L::StackMutable => None,
    }
}

/// Whether an annotation's type has a `_` in it (written, or an opaque library type): the
/// evaluator cannot check it, so the annotation is left to inference.
fn has_wildcard(t: &TyExpr) -> bool {
    match t {
        TyExpr::Wildcard => true,
        TyExpr::Pair(a, b) | TyExpr::Fun(a, b) => has_wildcard(a) || has_wildcard(b),
        TyExpr::Record(fs) => fs.iter().any(|(_, t)| has_wildcard(t)),
        TyExpr::Array(a) | TyExpr::Layout(_, a) => has_wildcard(a),
        TyExpr::Nominal(_, args) => args.iter().any(has_wildcard),
        TyExpr::Apply(h, args) => has_wildcard(h) || args.iter().any(has_wildcard),
        _ => false,
    }
}

/// A second copy of a simple expression (a variable, symbol or field access).
fn clone_simple(e: &Expr, s: Span) -> Expr {
    match e {
        Expr::Var(slot, sp) => Expr::Var(*slot, *sp),
        Expr::Symbol(n, sp) => Expr::Symbol(n.clone(), *sp),
        Expr::Apply(a, b, sp) => Expr::Apply(Box::new(clone_simple(a, s)), Box::new(clone_simple(b, s)), *sp),
        _ => Expr::Error("a record update base must be a variable".into(), s),
    }
}

/// Whether `case` is a case of the union `nd` without a payload (`Nil`, `None`).
fn nullary_case(nd: &NominalDecl, case: &str) -> bool {
    match &nd.body {
        NominalBody::Union { cases, .. } => cases.iter().any(|(c, t)| &**c == case && matches!(t, TyExpr::Unit)),
        NominalBody::Type(_) => false,
    }
}

//! The evaluator proper: core IR to residual IR.
use super::ir::{self, Atom, Block, Expr as IExpr, LayoutKind, Lit, MacroPart, PrimOp, PrimTy, Stmt, Ty, Var};
use super::value::{RecVal, Value};
use crate::diagnostics::{Diagnostic, Span, TraceFrame};
use crate::prepass::core::{
    self, Clause, Expr, Lambda, MacroPartE, Name, NominalBody, Pat, RecordField, RecordKey, Slot, TyExpr, TyMacroPart,
};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

/// Evaluation limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The deepest nesting of function applications and join points.
    pub max_depth: u32,
    /// The most evaluation steps (expression nodes visited) in one compilation.
    pub max_steps: u64,
    /// The largest value (in nodes: pairs, record fields, leaves...) a join point, kernel or
    /// closure may be specialised for. A value that doubles at each recursive call reaches it
    /// long before memory runs out.
    pub max_value_nodes: usize,
    /// The longest string built at compile time, in bytes.
    pub max_string_bytes: usize,
    /// The most residual statements (all methods, closures, kernels and `main` together).
    pub max_statements: u64,
}

impl Limits {
    /// The default limits with other depth and step limits (the fuzzers and tests use small ones).
    pub fn with_depth_and_steps(max_depth: u32, max_steps: u64) -> Limits {
        Limits { max_depth, max_steps, ..Limits::default() }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_depth: 10_000, max_steps: 50_000_000, max_value_nodes: 1 << 18, max_string_bytes: 1 << 24, max_statements: 2_000_000 }
    }
}

pub(crate) type R<T> = Result<T, Box<Diagnostic>>;

/// A frame: captured environment and locals.
#[derive(Clone)]
pub(crate) struct Frame {
    caps: Rc<[Value]>,
    locals: Vec<Value>,
}

impl Frame {
    fn get(&self, s: Slot) -> Value {
        match s {
            Slot::Cap(i) => self.caps.get(i as usize).cloned().unwrap_or(Value::Undef),
            Slot::Local(i) => self.locals.get(i as usize).cloned().unwrap_or(Value::Undef),
        }
    }
    fn set(&mut self, i: u32, v: Value) {
        let i = i as usize;
        if i >= self.locals.len() {
            self.locals.resize(i + 1, Value::Undef);
        }
        self.locals[i] = v;
    }
}

/// What is known about a runtime variable in the current scope.
#[derive(Clone)]
enum Known {
    /// Its value (a literal or an unboxed union case).
    Val(Value),
    /// Literals it is known not to equal.
    Not(NotList),
}

/// Literals a variable is known not to equal: a persistent list, so that a nested scope adds
/// one without copying the others (a `match` of 10,000 literal arms nests 10,000 scopes).
#[derive(Clone, Default)]
struct NotList(Option<Rc<(Lit, NotList)>>);

impl NotList {
    fn contains(&self, l: &Lit) -> bool {
        let mut cur = &self.0;
        while let Some(node) = cur {
            if node.0 == *l {
                return true;
            }
            cur = &node.1 .0;
        }
        false
    }
    fn with(&self, l: Lit) -> NotList {
        NotList(Some(Rc::new((l, self.clone()))))
    }
}

/// A map whose entries belong to the scope that inserted them: lookups see the innermost
/// binding in O(1) whatever the nesting depth, and leaving a scope removes its entries.
struct ScopedMap<K, V> {
    map: rustc_hash::FxHashMap<K, Vec<V>>,
}

impl<K: std::hash::Hash + Eq + Clone, V> Default for ScopedMap<K, V> {
    fn default() -> Self {
        ScopedMap { map: Default::default() }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V> ScopedMap<K, V> {
    fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).and_then(|v| v.last())
    }
    /// Binds `k` in the innermost scope, whose key log is `log`.
    fn insert(&mut self, k: K, v: V, log: &mut Vec<K>) {
        self.map.entry(k.clone()).or_default().push(v);
        log.push(k);
    }
    /// Removes the bindings a scope made (its key log).
    fn undo(&mut self, log: Vec<K>) {
        for k in log.into_iter().rev() {
            if let Some(vs) = self.map.get_mut(&k) {
                vs.pop();
                if vs.is_empty() {
                    self.map.remove(&k);
                }
            }
        }
    }
}

/// The keys one scope bound in the [`Body`]'s scoped maps.
#[derive(Default)]
struct Scope {
    cse: Vec<(PrimOp, Vec<Atom>)>,
    elem_reads: Vec<(u64, u32, i32)>,
    known: Vec<u32>,
}

/// The per-function-body state (saved and restored around join points and closures).
#[derive(Default)]
struct Body {
    blocks: Vec<Vec<Stmt>>,
    scopes: Vec<Scope>,
    next_var: u32,
    /// Common subexpressions: a primitive operation already emitted in an enclosing scope.
    cse: ScopedMap<(PrimOp, Vec<Atom>), Atom>,
    /// Array elements read by array patterns, by (match number, array variable, index): a
    /// clause that is matched again after a runtime test sees the same reads.
    elem_reads: ScopedMap<(u64, u32, i32), Value>,
    known: ScopedMap<u32, Known>,
}

impl Body {
    fn new(next_var: u32) -> Body {
        Body { blocks: vec![Vec::new()], scopes: vec![Scope::default()], next_var, ..Body::default() }
    }
    fn push_scope(&mut self) {
        self.scopes.push(Scope::default());
    }
    fn pop_scope(&mut self) {
        if let Some(sc) = self.scopes.pop() {
            self.cse.undo(sc.cse);
            self.elem_reads.undo(sc.elem_reads);
            self.known.undo(sc.known);
        }
    }
}

/// Key tokens for memoisation (a value with its runtime variables renamed positionally).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Tok {
    Undef,
    Unit,
    Lit(Lit),
    Var(Ty),
    VarRef(u32),
    Sym(Name),
    Pair,
    Rec(u32),
    Key(Name),
    Clo(u32, u32),
    RecClo(u32, u32, u32),
    RecSelf(u32),
    Type(Ty),
    Union(Ty, u32),
    Nominal(Ty),
    Ctor(u32, Name, Vec<Ty>),
    NomFn(u32, Vec<Ty>),
    End,
}

enum MethodState {
    InProgress(Option<Ty>, Option<Value>),
    Done(u32, Value),
}

/// The result of matching one pattern.
enum Outcome {
    Yes,
    No,
    /// The match depends on the case of a runtime union variable.
    Unbox(Var),
    /// The match depends on whether a runtime variable equals a literal.
    LitTest(Var, Lit),
    /// The match depends on a runtime boolean (a `when` guard).
    Guard(Atom),
}

/// The partial evaluator.
pub(crate) struct PE<'a> {
    pub(crate) prog: &'a core::Program,
    pub(crate) limits: Limits,
    pub(crate) out: ir::Program,
    union_intern: HashMap<(u32, Vec<Ty>), Ty>,
    /// The top-level values each nominal's body reads, set at its declaration.
    nominal_env: HashMap<u32, Rc<[Value]>>,
    /// The program's instances, by (prototype id, nominal id): how many of the nominal's
    /// arguments the instance names, and its function (`ProtoRegister`).
    pub(crate) proto_instances: HashMap<(u32, u32), (u32, Value)>,
    /// The number of the `match` being evaluated (keys the array-pattern element reads).
    cur_match: u64,
    /// How many `match`es were started.
    match_count: u64,
    methods: HashMap<(u32, Vec<Tok>), MethodState>,
    method_ids: HashMap<(u32, Vec<Tok>), u32>,
    closures: HashMap<(u32, Vec<Tok>, Ty), u32>,
    kernels: HashMap<(u32, Name, Vec<Tok>), u32>,
    body: Body,
    trace: Vec<Span>,
    steps: u64,
    /// Residual statements pushed so far (checked against [`Limits::max_statements`]).
    statements: u64,
    /// The metavariable slots bound so far by the typecase clause being matched.
    ty_bound: Vec<u32>,
    /// The span of the expression being evaluated: where emitted statements come from.
    cur_span: Span,
    depth: u32,
    backend: Name,
    /// The host target's backend name (`C` or `Rust`): the backend outside `join_backend`.
    host: Name,
    /// Where the library's kernels run (the case `kernel_switch` picks).
    kernel_target: super::KernelTarget,
}

fn lit_of_bool(b: bool) -> Value {
    Value::Lit(Lit::Bool(b))
}

impl<'a> PE<'a> {
    pub(crate) fn new(prog: &'a core::Program, limits: Limits, host: super::HostTarget, kernel_target: super::KernelTarget) -> PE<'a> {
        PE {
            prog,
            limits,
            out: ir::Program::default(),
            union_intern: HashMap::new(),
            nominal_env: HashMap::new(),
            proto_instances: HashMap::new(),
            cur_match: 0,
            match_count: 0,
            methods: HashMap::new(),
            method_ids: HashMap::new(),
            closures: HashMap::new(),
            kernels: HashMap::new(),
            body: Body::new(0),
            trace: Vec::new(),
            steps: 0,
            statements: 0,
            ty_bound: Vec::new(),
            cur_span: Span::default(),
            depth: 0,
            backend: Arc::from(host.name()),
            host: Arc::from(host.name()),
            kernel_target,
        }
    }

    // ---------------------------------------------------------------- errors

    pub(crate) fn err<T>(&self, span: Span, msg: impl Into<String>) -> R<T> {
        const KEEP: usize = 12;
        let n = self.trace.len();
        let lib = &self.prog.library_files;
        let mut d = if lib.contains(&span.file) {
            // raised inside the core library: point at the innermost frame in user code
            match self.trace.iter().rev().find(|s| !lib.contains(&s.file)) {
                Some(user) => Diagnostic::error(*user, msg).with_label(span, "raised here in the core library"),
                None => Diagnostic::error(span, msg),
            }
        } else {
            Diagnostic::error(span, msg)
        };
        if n > 2 * KEEP {
            let mut trace: Vec<TraceFrame> = self.trace[..KEEP].iter().map(|s| TraceFrame { span: *s }).collect();
            trace.extend(self.trace[n - KEEP..].iter().map(|s| TraceFrame { span: *s }));
            d = d.with_trace(trace).with_note(format!("the evaluation trace is {n} frames deep; {} frames in the middle are not shown", n - 2 * KEEP));
        } else {
            d = d.with_trace(self.trace.iter().map(|s| TraceFrame { span: *s }).collect());
        }
        Err(Box::new(d))
    }

    fn show_ty(&self, t: &Ty) -> String {
        self.out.types.show(t)
    }

    pub(crate) fn show(&self, v: &Value) -> String {
        match v {
            Value::Undef => "<undefined>".into(),
            Value::Unit => "()".into(),
            Value::Lit(l) => format!("lit {l}"),
            Value::Var(x) => format!("var {}", self.show_ty(&x.ty)),
            Value::Symbol(s) => format!(".{s}"),
            Value::Pair(a, b) => format!("({}, {})", self.show(a), self.show(b)),
            Value::Record(m) => {
                let f: Vec<String> = m.iter().map(|(k, v)| format!("{k} = {}", self.show(v))).collect();
                format!("{{{}}}", f.join("; "))
            }
            Value::Closure(..) | Value::Rec(..) | Value::RecSelf(_) => "<function>".into(),
            Value::Type(t) => format!("type {}", self.show_ty(t)),
            Value::Union(t, c, p) => {
                let name = self.case_name(t, *c);
                format!("{} ({name} {})", self.show_ty(t), self.show(p))
            }
            Value::Nominal(t, v) => format!("{} ({})", self.show_ty(t), self.show(v)),
            Value::Constructor(_, n, _) => format!("<constructor {n}>"),
            Value::NominalFn(d, _) => format!("<nominal {}>", self.prog.nominals[*d as usize].name),
        }
    }

    fn case_name(&self, t: &Ty, c: u32) -> String {
        if let Ty::Union(u) = t {
            if let Some(d) = self.out.types.unions.get(*u as usize) {
                if let Some((n, _)) = d.cases.get(c as usize) {
                    return n.to_string();
                }
            }
        }
        format!("case{c}")
    }

    // ---------------------------------------------------------------- statements

    fn fresh(&mut self, ty: Ty) -> Var {
        let id = self.body.next_var;
        self.body.next_var += 1;
        Var { id, ty }
    }

    /// Whether evaluation is in host code (not inside a `join_backend` body).
    pub(crate) fn in_host_code(&self) -> bool {
        self.backend == self.host
    }

    /// Fails unless evaluation is inside a kernel whose backend has the block-level operation
    /// `op` (see [`ir::GpuOp::backends`]): `thread_index`, `syncthreads`, `shared_array`... exist
    /// in CUDA kernels and UPMEM tasklet kernels, the shuffles on GPUs only, the WRAM buffers and
    /// DMA on DPUs only.
    pub(crate) fn gpu_kernel_only(&self, op: ir::GpuOp, s: Span) -> R<()> {
        let backends = op.backends();
        if !self.in_host_code() && backends.contains(&&*self.backend) {
            return Ok(());
        }
        let place = if self.in_host_code() { "host code".to_string() } else { format!("a `join_backend {}` kernel", self.backend) };
        if backends == [crate::codegen::UPMEM_KERNEL_BACKEND] {
            return self.err(
                s,
                format!(
                    "`{}` is an UPMEM tasklet operation: it belongs in an UPMEM kernel (`parallel_tasklets`, or `join_backend {}`), not in {place}; pick the case with `kernel_switch` to run other code elsewhere",
                    op.name(),
                    crate::codegen::UPMEM_KERNEL_BACKEND
                ),
            );
        }
        self.err(
            s,
            format!(
                "`{}` is a GPU block operation: it belongs in a CUDA kernel (`parallel_blocks`, or `join_backend {}`){}, not in {place}; pick the case with `kernel_switch` to run other code on the CPU",
                op.name(),
                crate::codegen::CUDA_KERNEL_BACKEND,
                if backends.contains(&crate::codegen::UPMEM_KERNEL_BACKEND) { " or an UPMEM tasklet kernel (`parallel_tasklets`)" } else { "" }
            ),
        )
    }

    /// Emits a statement that produces nothing.
    pub(crate) fn push_stmt_effect(&mut self, expr: IExpr) {
        self.push_stmt(Vec::new(), expr);
    }

    fn push_stmt(&mut self, vars: Vec<Var>, expr: IExpr) {
        self.statements += 1;
        let span = self.user_span(self.cur_span);
        self.body.blocks.last_mut().expect("block").push(Stmt { vars, expr, span });
    }

    /// `span`, or, when it is inside the library, the innermost frame of the user's code:
    /// statements (and kernels) emitted inside the library are attributed to the user's call.
    fn user_span(&self, span: Span) -> Span {
        let lib = &self.prog.library_files;
        if lib.contains(&span.file) {
            self.trace.iter().rev().find(|s| !lib.contains(&s.file)).copied().unwrap_or(span)
        } else {
            span
        }
    }

    fn enter_block(&mut self) {
        self.body.blocks.push(Vec::new());
        self.body.push_scope();
    }

    fn leave_block(&mut self) -> Vec<Stmt> {
        self.body.pop_scope();
        self.body.blocks.pop().unwrap_or_default()
    }

    fn known(&self, v: &Var) -> Option<&Known> {
        self.body.known.get(&v.id)
    }

    fn set_known(&mut self, v: &Var, k: Known) {
        let b = &mut self.body;
        b.known.insert(v.id, k, &mut b.scopes.last_mut().expect("scope").known);
    }

    /// Emits a statement producing one leaf (or none when `ty` has no leaves) and returns it
    /// as a value. Pure operations go through CSE.
    fn emit_prim(&mut self, op: PrimOp, args: Vec<Atom>, ty: Ty) -> Value {
        let key = (op, args);
        if let Some(a) = self.body.cse.get(&key) {
            return atom_value(a.clone());
        }
        let v = self.fresh(ty);
        self.push_stmt(vec![v.clone()], IExpr::Prim(key.0.clone(), key.1.clone()));
        let b = &mut self.body;
        b.cse.insert(key, Atom::Var(v.clone()), &mut b.scopes.last_mut().expect("scope").cse);
        Value::Var(v)
    }

    /// Emits an effectful statement producing the leaves of `ty` and returns the value.
    fn emit_typed(&mut self, expr: IExpr, ty: &Ty) -> Value {
        let leaves = self.out.types.leaves(ty);
        let vars: Vec<Var> = leaves.into_iter().map(|t| self.fresh(t)).collect();
        self.push_stmt(vars.clone(), expr);
        let mut it = vars.into_iter();
        self.value_from_ty(ty, &mut it)
    }

    /// Builds a value of type `ty` whose leaves are taken from `vars`.
    fn value_from_ty(&mut self, ty: &Ty, vars: &mut dyn Iterator<Item = Var>) -> Value {
        match ty {
            Ty::Unit => Value::Unit,
            Ty::Symbol(s) => Value::Symbol(s.clone()),
            Ty::TypeLit(_) => Value::Type(ty.clone()),
            Ty::Pair(a, b) => {
                let a = self.value_from_ty(a, vars);
                let b = self.value_from_ty(b, vars);
                Value::pair(a, b)
            }
            Ty::Record(m) => {
                let mut r = BTreeMap::new();
                for (k, t) in m.iter() {
                    let v = self.value_from_ty(t, vars);
                    r.insert(k.clone(), v);
                }
                Value::Record(Rc::new(r))
            }
            Ty::Nominal(i) => {
                let body = self.out.types.nominals[*i as usize].body.clone();
                let v = self.value_from_ty(&body, vars);
                Value::Nominal(ty.clone(), Rc::new(v))
            }
            _ => match vars.next() {
                Some(v) => Value::Var(v),
                None => Value::Undef,
            },
        }
    }

    /// Fresh variables for every leaf of `ty` (for parameters).
    fn fresh_value(&mut self, ty: &Ty) -> Value {
        let leaves = self.out.types.leaves(ty);
        let vars: Vec<Var> = leaves.into_iter().map(|t| self.fresh(t)).collect();
        let mut it = vars.into_iter();
        self.value_from_ty(ty, &mut it)
    }

    // ---------------------------------------------------------------- types of values

    /// The type of a value; functions have none.
    pub(crate) fn ty_of(&self, v: &Value, span: Span) -> R<Ty> {
        Ok(match v {
            Value::Unit => Ty::Unit,
            Value::Lit(l) => Ty::Prim(l.ty()),
            Value::Var(x) => x.ty.clone(),
            Value::Symbol(s) => Ty::Symbol(s.clone()),
            Value::Pair(a, b) => Ty::pair(self.ty_of(a, span)?, self.ty_of(b, span)?),
            Value::Record(m) => {
                let mut r = BTreeMap::new();
                for (k, v) in m.iter() {
                    r.insert(k.clone(), self.ty_of(v, span)?);
                }
                Ty::Record(Arc::new(r))
            }
            Value::Type(t) => t.clone(),
            Value::Union(t, _, _) | Value::Nominal(t, _) => t.clone(),
            Value::Undef => return self.err(span, "internal error: reading an unset variable"),
            Value::Constructor(d, n, _) => {
                let name = self.prog.nominals[*d as usize].name.clone();
                return self.err(
                    span,
                    format!("the type of the union case `{n}` cannot be inferred here; annotate it (e.g. `({n} : {name} i32)`) or give its type arguments with backticks"),
                );
            }
            Value::Closure(..) | Value::Rec(..) | Value::RecSelf(_) | Value::NominalFn(..) => {
                return self.err(
                    span,
                    "a function has no runtime type here; annotate it with a function type (e.g. `(f : i32 -> i32)`) to turn it into a runtime closure",
                )
            }
        })
    }

    // ---------------------------------------------------------------- renaming and abstraction

    /// Renames `vals` for a memo key: returns the key, the runtime arguments (in order of first
    /// occurrence) and the renamed values (with fresh parameter variables numbered from 0).
    ///
    /// A value of more than [`Limits::max_value_nodes`] nodes is an error naming `what` (the
    /// join point, kernel or closure being specialised) and the value's shape.
    fn rename(&self, vals: &[Value], what: &str, span: Span) -> R<(Vec<Tok>, Vec<Var>, Vec<Value>)> {
        struct Ren {
            toks: Vec<Tok>,
            args: Vec<Var>,
            map: HashMap<u32, u32>,
            limit: usize,
        }
        fn go(r: &mut Ren, v: &Value) -> Value {
            if r.toks.len() > r.limit {
                return v.clone();
            }
            match v {
                Value::Undef => {
                    r.toks.push(Tok::Undef);
                    Value::Undef
                }
                Value::Unit => {
                    r.toks.push(Tok::Unit);
                    Value::Unit
                }
                Value::Lit(l) => {
                    r.toks.push(Tok::Lit(l.clone()));
                    v.clone()
                }
                Value::Var(x) => {
                    if let Some(&i) = r.map.get(&x.id) {
                        r.toks.push(Tok::VarRef(i));
                        Value::Var(Var { id: i, ty: x.ty.clone() })
                    } else {
                        let i = r.args.len() as u32;
                        r.map.insert(x.id, i);
                        r.args.push(x.clone());
                        r.toks.push(Tok::Var(x.ty.clone()));
                        Value::Var(Var { id: i, ty: x.ty.clone() })
                    }
                }
                Value::Symbol(s) => {
                    r.toks.push(Tok::Sym(s.clone()));
                    v.clone()
                }
                Value::Pair(a, b) => {
                    r.toks.push(Tok::Pair);
                    let a = go(r, a);
                    let b = go(r, b);
                    Value::pair(a, b)
                }
                Value::Record(m) => {
                    r.toks.push(Tok::Rec(m.len() as u32));
                    let mut out = BTreeMap::new();
                    for (k, v) in m.iter() {
                        r.toks.push(Tok::Key(k.clone()));
                        out.insert(k.clone(), go(r, v));
                    }
                    Value::Record(Rc::new(out))
                }
                Value::Closure(l, env) => {
                    r.toks.push(Tok::Clo(l.id, env.len() as u32));
                    let env: Vec<Value> = env.iter().map(|v| go(r, v)).collect();
                    Value::Closure(l.clone(), env.into())
                }
                Value::Rec(g, i) => {
                    r.toks.push(Tok::RecClo(g.group.members[0].id, *i, g.envs.len() as u32));
                    let mut envs = Vec::new();
                    for e in &g.envs {
                        r.toks.push(Tok::End);
                        let e: Vec<Value> = e.iter().map(|v| go(r, v)).collect();
                        envs.push(e.into());
                    }
                    Value::Rec(Rc::new(RecVal { group: g.group.clone(), envs }), *i)
                }
                Value::RecSelf(j) => {
                    r.toks.push(Tok::RecSelf(*j));
                    v.clone()
                }
                Value::Type(t) => {
                    r.toks.push(Tok::Type(t.clone()));
                    v.clone()
                }
                Value::Union(t, c, p) => {
                    r.toks.push(Tok::Union(t.clone(), *c));
                    let p = go(r, p);
                    Value::Union(t.clone(), *c, Rc::new(p))
                }
                Value::Nominal(t, p) => {
                    r.toks.push(Tok::Nominal(t.clone()));
                    let p = go(r, p);
                    Value::Nominal(t.clone(), Rc::new(p))
                }
                Value::Constructor(d, n, a) => {
                    r.toks.push(Tok::Ctor(*d, n.clone(), a.clone()));
                    v.clone()
                }
                Value::NominalFn(d, a) => {
                    r.toks.push(Tok::NomFn(*d, a.clone()));
                    v.clone()
                }
            }
        }
        let mut r = Ren { toks: Vec::new(), args: Vec::new(), map: HashMap::new(), limit: self.limits.max_value_nodes };
        let out: Vec<Value> = vals.iter().map(|v| go(&mut r, v)).collect();
        if r.toks.len() > r.limit {
            let shape: String = vals.iter().map(|v| value_shape(v, 3)).collect::<Vec<_>>().join(", ");
            return self.err(
                span,
                format!(
                    "{what} is specialised for a value of more than {} nodes (the limit); the value likely grows at every recursive call, e.g. `f (x, x)`. Its shape: {shape}",
                    self.limits.max_value_nodes
                ),
            );
        }
        Ok((r.toks, r.args, out))
    }

    /// Abstraction: turns a value into a template whose every runtime leaf (literals
    /// included, known union cases boxed) is a placeholder variable numbered from 0, plus the
    /// atoms for those placeholders. Used at join-point returns and dynamic branch merges.
    pub(crate) fn abstract_value(&mut self, v: &Value, span: Span) -> R<(Value, Vec<Atom>)> {
        let mut atoms = Vec::new();
        let t = self.abs_go(v, &mut atoms, span)?;
        Ok((t, atoms))
    }

    fn abs_go(&mut self, v: &Value, atoms: &mut Vec<Atom>, span: Span) -> R<Value> {
        let leaf = |a: Atom, ty: Ty, atoms: &mut Vec<Atom>| {
            let id = atoms.len() as u32;
            atoms.push(a);
            Value::Var(Var { id, ty })
        };
        Ok(match v {
            Value::Lit(l) => leaf(Atom::Lit(l.clone()), Ty::Prim(l.ty()), atoms),
            Value::Var(x) => leaf(Atom::Var(x.clone()), x.ty.clone(), atoms),
            Value::Pair(a, b) => {
                let a = self.abs_go(a, atoms, span)?;
                let b = self.abs_go(b, atoms, span)?;
                Value::pair(a, b)
            }
            Value::Record(m) => {
                let mut out = BTreeMap::new();
                for (k, x) in m.iter() {
                    out.insert(k.clone(), self.abs_go(x, atoms, span)?);
                }
                Value::Record(Rc::new(out))
            }
            Value::Closure(l, env) => {
                let mut e = Vec::new();
                for x in env.iter() {
                    e.push(self.abs_go(x, atoms, span)?);
                }
                Value::Closure(l.clone(), e.into())
            }
            Value::Rec(g, i) => {
                let mut envs = Vec::new();
                for env in &g.envs {
                    let mut e = Vec::new();
                    for x in env.iter() {
                        e.push(self.abs_go(x, atoms, span)?);
                    }
                    envs.push(e.into());
                }
                Value::Rec(Rc::new(RecVal { group: g.group.clone(), envs }), *i)
            }
            Value::Union(..) => {
                let b = self.box_union(v, span)?;
                return self.abs_go(&b, atoms, span);
            }
            Value::Nominal(t, x) => Value::Nominal(t.clone(), Rc::new(self.abs_go(x, atoms, span)?)),
            Value::Undef => return self.err(span, "internal error: returning an unset variable"),
            _ => v.clone(),
        })
    }

    /// Replaces the placeholders of a template by the given variables.
    fn instantiate(&self, t: &Value, vars: &[Var]) -> Value {
        match t {
            Value::Var(p) => Value::Var(vars[p.id as usize].clone()),
            Value::Pair(a, b) => Value::pair(self.instantiate(a, vars), self.instantiate(b, vars)),
            Value::Record(m) => {
                Value::Record(Rc::new(m.iter().map(|(k, v)| (k.clone(), self.instantiate(v, vars))).collect()))
            }
            Value::Closure(l, env) => {
                Value::Closure(l.clone(), env.iter().map(|v| self.instantiate(v, vars)).collect::<Vec<_>>().into())
            }
            Value::Rec(g, i) => Value::Rec(
                Rc::new(RecVal {
                    group: g.group.clone(),
                    envs: g
                        .envs
                        .iter()
                        .map(|e| e.iter().map(|v| self.instantiate(v, vars)).collect::<Vec<_>>().into())
                        .collect(),
                }),
                *i,
            ),
            Value::Nominal(ty, x) => Value::Nominal(ty.clone(), Rc::new(self.instantiate(x, vars))),
            _ => t.clone(),
        }
    }

    fn template_types(t: &Value, out: &mut Vec<(u32, Ty)>) {
        match t {
            Value::Var(p) => out.push((p.id, p.ty.clone())),
            Value::Pair(a, b) => {
                Self::template_types(a, out);
                Self::template_types(b, out);
            }
            Value::Record(m) => m.values().for_each(|v| Self::template_types(v, out)),
            Value::Closure(_, env) => env.iter().for_each(|v| Self::template_types(v, out)),
            Value::Rec(g, _) => g.envs.iter().for_each(|e| e.iter().for_each(|v| Self::template_types(v, out))),
            Value::Nominal(_, x) => Self::template_types(x, out),
            _ => {}
        }
    }

    fn template_leaf_types(t: &Value) -> Vec<Ty> {
        let mut v = Vec::new();
        Self::template_types(t, &mut v);
        v.sort_by_key(|x| x.0);
        v.into_iter().map(|x| x.1).collect()
    }

    // ---------------------------------------------------------------- dyn

    /// Makes a value dynamic: literals become fresh runtime variables, known union cases are
    /// boxed; structure is kept.
    pub(crate) fn dyn_value(&mut self, v: &Value, span: Span) -> R<Value> {
        Ok(match v {
            Value::Lit(l) => {
                let x = self.fresh(Ty::Prim(l.ty()));
                self.push_stmt(vec![x.clone()], IExpr::Atoms(vec![Atom::Lit(l.clone())]));
                Value::Var(x)
            }
            Value::Pair(a, b) => {
                let a = self.dyn_value(a, span)?;
                let b = self.dyn_value(b, span)?;
                Value::pair(a, b)
            }
            Value::Record(m) => {
                let mut out = BTreeMap::new();
                for (k, x) in m.iter() {
                    out.insert(k.clone(), self.dyn_value(x, span)?);
                }
                Value::Record(Rc::new(out))
            }
            Value::Union(..) => self.box_union(v, span)?,
            Value::Nominal(t, x) => Value::Nominal(t.clone(), Rc::new(self.dyn_value(x, span)?)),
            Value::Closure(..) | Value::Rec(..) => {
                return self.err(
                    span,
                    "a function cannot be made dynamic without a type annotation; annotate it with its function type (e.g. `(fun x => x + 1) : i32 -> i32`) to turn it into a runtime closure",
                )
            }
            _ => v.clone(),
        })
    }

    /// Boxes a known union case into a runtime union variable.
    fn box_union(&mut self, v: &Value, span: Span) -> R<Value> {
        if let Value::Union(t, c, p) = v {
            let uid = match t {
                Ty::Union(u) => *u,
                _ => return self.err(span, "internal error: union value without a union type"),
            };
            let (_, atoms) = self.abstract_value(p, span)?;
            let x = self.fresh(t.clone());
            self.push_stmt(vec![x.clone()], IExpr::Box { union: uid, case: *c, args: atoms });
            Ok(Value::Var(x))
        } else {
            Ok(v.clone())
        }
    }

    // ---------------------------------------------------------------- merge of dynamic branches

    /// Runs `f` in a fresh block and returns the block statements and the result.
    fn in_block<T>(&mut self, f: impl FnOnce(&mut Self) -> R<T>) -> R<(Vec<Stmt>, T)> {
        self.enter_block();
        let r = f(self);
        let stmts = self.leave_block();
        Ok((stmts, r?))
    }

    /// Merges branch results into one value bound by the statement built from the branch
    /// blocks (`mk` receives the blocks with their result atoms).
    fn merge_branches(
        &mut self,
        branches: Vec<(Vec<Stmt>, Value)>,
        span: Span,
        mk: impl FnOnce(Vec<Block>) -> IExpr,
    ) -> R<Value> {
        // Identical results and no statements: nothing to emit.
        if branches.iter().all(|(s, _)| s.is_empty()) && branches.windows(2).all(|w| w[0].1.same(&w[1].1)) {
            if let Some((_, v)) = branches.first() {
                return Ok(v.clone());
            }
        }
        let mut templ: Option<Value> = None;
        let mut blocks = Vec::new();
        for (stmts, v) in branches {
            // Abstraction may emit (boxing): do it inside the branch's block.
            self.body.blocks.push(stmts);
            self.body.push_scope();
            let r = self.abstract_value(&v, span);
            self.body.pop_scope();
            let stmts = self.body.blocks.pop().unwrap_or_default();
            let (t, atoms) = r?;
            match &templ {
                None => templ = Some(t),
                Some(t0) => {
                    if !t0.same(&t) {
                        let a = self.show(t0);
                        let b = self.show(&t);
                        return self.err(span, format!("the branches return values of different types\nGot: {a}\nand: {b}"));
                    }
                }
            }
            blocks.push(Block { stmts, result: atoms });
        }
        let templ = templ.unwrap_or(Value::Unit);
        let tys = Self::template_leaf_types(&templ);
        let vars: Vec<Var> = tys.into_iter().map(|t| self.fresh(t)).collect();
        self.push_stmt(vars.clone(), mk(blocks));
        Ok(self.instantiate(&templ, &vars))
    }

    // ---------------------------------------------------------------- evaluation

    fn tick(&mut self, span: Span) -> R<()> {
        self.cur_span = span;
        if self.statements > self.limits.max_statements {
            return self.err(
                span,
                format!(
                    "the residual program grew past the limit of {} statements; the specialisation likely unrolls a loop or a recursion at compile time that should stay at run time (use `dyn` or a join point)",
                    self.limits.max_statements
                ),
            );
        }
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return self.err(
                span,
                format!(
                    "evaluation did not finish within the limit of {} steps; the program's specialisation likely does not terminate (a recursive function unrolled at compile time with a changing static argument?). Use `dyn` or a join point with a return type annotation",
                    self.limits.max_steps
                ),
            );
        }
        Ok(())
    }

    fn enter(&mut self, span: Span) -> R<()> {
        self.depth += 1;
        self.trace.push(span);
        if self.depth > self.limits.max_depth {
            let r: R<()> = self.err(
                span,
                format!(
                    "inlining went deeper than the limit of {} levels; this recursion likely does not terminate at compile time (make the recursive function a join point (`let`) with a return type annotation, or make its arguments dynamic)",
                    self.limits.max_depth
                ),
            );
            // point at the call that repeats most: the likely non-terminating recursion
            let mut counts: HashMap<(u32, u32, u32), usize> = HashMap::new();
            for f in &self.trace {
                *counts.entry((f.file.0, f.start, f.end)).or_default() += 1;
            }
            let best = counts.into_iter().max_by_key(|(k, n)| (*n, std::cmp::Reverse(*k)));
            return r.map_err(|d| match best {
                Some(((file, start, end), n)) if n > 1 => {
                    let sp = Span { file: crate::diagnostics::FileId(file), start, end };
                    Box::new(d.with_label(sp, format!("this call or join point repeats {n} times in the trace")))
                }
                _ => d,
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
        self.trace.pop();
    }

    pub(crate) fn eval(&mut self, e: &Expr, f: &mut Frame) -> R<Value> {
        match e {
            Expr::Lit(l, s) => {
                self.tick(*s)?;
                Ok(Value::Lit(l.clone()))
            }
            Expr::Unit(_) => Ok(Value::Unit),
            Expr::Var(slot, s) => {
                let v = f.get(*slot);
                if let Value::Undef = v {
                    return self.err(*s, "internal error: variable read before it was set");
                }
                Ok(v)
            }
            Expr::Symbol(n, _) => Ok(Value::Symbol(n.clone())),
            Expr::Type(t, _) => {
                let t = self.eval_ty(t, f, span_of(e))?;
                Ok(Value::Type(t))
            }
            Expr::NominalEnv { nominal, caps, .. } => {
                let env: Vec<Value> = caps.iter().map(|s| f.get(*s)).collect();
                self.nominal_env.insert(*nominal, env.into());
                Ok(Value::Unit)
            }
            Expr::Lambda(l) => {
                let env: Vec<Value> = l.captures.iter().map(|s| f.get(*s)).collect();
                Ok(Value::Closure(l.clone(), env.into()))
            }
            Expr::LetRec { group, first, body } => {
                let first = *first;
                let n = group.members.len() as u32;
                let envs = group
                    .members
                    .iter()
                    .map(|l| {
                        l.captures
                            .iter()
                            .map(|s| match s {
                                Slot::Local(i) if *i >= first && *i < first + n => Value::RecSelf(*i - first),
                                _ => f.get(*s),
                            })
                            .collect::<Vec<_>>()
                            .into()
                    })
                    .collect();
                let rv = Rc::new(RecVal { group: group.clone(), envs });
                for j in 0..n {
                    f.set(first + j, Value::Rec(rv.clone(), j));
                }
                self.eval(body, f)
            }
            Expr::Let(slot, v, rest) => {
                let v = self.eval(v, f)?;
                f.set(*slot, v);
                self.eval(rest, f)
            }
            Expr::Apply(a, b, s) => {
                self.tick(*s)?;
                let a = self.eval(a, f)?;
                let b = self.eval(b, f)?;
                self.apply(a, b, *s)
            }
            Expr::Pair(a, b, _) => {
                let a = self.eval(a, f)?;
                let b = self.eval(b, f)?;
                Ok(Value::pair(a, b))
            }
            Expr::Record { base, fields, span } => self.eval_record(base.as_deref(), fields, *span, f),
            Expr::If(c, a, b, s) => {
                let c = self.eval(c, f)?;
                self.eval_if(c, a, b, *s, f)
            }
            Expr::Match(x, clauses, s) => {
                let x = self.eval(x, f)?;
                self.match_count += 1;
                let saved = std::mem::replace(&mut self.cur_match, self.match_count);
                let r = self.match_clauses(&x, clauses, 0, *s, f);
                self.cur_match = saved;
                r
            }
            Expr::TypeCase(t, clauses, s) => {
                let t = self.eval_ty(t, f, *s)?;
                for c in clauses {
                    self.ty_bound.clear();
                    if self.ty_match(&c.pat, &t, f, *s)? {
                        return self.eval(&c.body, f);
                    }
                }
                let t = self.show_ty(&t);
                self.err(*s, format!("no typecase clause matches the type {t}"))
            }
            Expr::Join { body, free, ret, name, id, span, .. } => {
                self.join(*id, body, free, ret.as_ref(), name, *span, f)
            }
            Expr::JoinBackend { backend, body, free, id, span, .. } => {
                self.join_backend(*id, backend, body, free, *span, f)
            }
            Expr::Annot(x, t, s) => {
                if let Expr::Macro(parts, None, ms) = &**x {
                    return self.eval_macro(parts, Some(t), *ms, f);
                }
                let ty = self.eval_ty(t, f, *s)?;
                let v = self.eval(x, f)?;
                self.annot(v, &ty, *s)
            }
            Expr::Macro(parts, t, s) => self.eval_macro(parts, t.as_ref(), *s, f),
            Expr::Op(name, args, s) => {
                self.tick(*s)?;
                self.eval_op(name, args, *s, f)
            }
            Expr::Seq(a, b) => {
                let v = self.eval(a, f)?;
                match v {
                    Value::Unit => {}
                    Value::Var(ref x) if x.ty == Ty::Unit => {}
                    _ => {
                        let s = span_of(a);
                        let shown = self.show(&v);
                        return self.err(s, format!("only the last expression of a block may return a value; this one returns {shown}"));
                    }
                }
                self.eval(b, f)
            }
            Expr::Constructor(d, n, s) => {
                let decl = &self.prog.nominals[*d as usize];
                let unit_case = matches!(&decl.body, NominalBody::Union { cases, .. } if cases.iter().any(|c| &c.0 == n && matches!(c.1, TyExpr::Unit)));
                if decl.params == 0 && unit_case {
                    return self.construct(*d, n, Vec::new(), Value::Unit, *s);
                }
                Ok(Value::Constructor(*d, n.clone(), Vec::new()))
            }
            Expr::Nominal(d, _) => Ok(Value::NominalFn(*d, Vec::new())),
            Expr::HeapSet { target, path, value, span } => self.heap_set(target, path, value, *span, f),
            Expr::Error(m, s) => self.err(*s, m.clone()),
        }
    }

    fn eval_if(&mut self, c: Value, a: &Expr, b: &Expr, s: Span, f: &mut Frame) -> R<Value> {
        let c = self.resolve_known(c);
        match c {
            Value::Lit(Lit::Bool(true)) => self.eval(a, f),
            Value::Lit(Lit::Bool(false)) => self.eval(b, f),
            Value::Var(ref x) if x.ty == Ty::Prim(PrimTy::Bool) => {
                let x = x.clone();
                let fa = &mut *f;
                let ra = self.in_block(|pe| {
                    pe.set_known(&x, Known::Val(lit_of_bool(true)));
                    pe.eval(a, fa)
                })?;
                let fb = &mut *f;
                let rb = self.in_block(|pe| {
                    pe.set_known(&x, Known::Val(lit_of_bool(false)));
                    pe.eval(b, fb)
                })?;
                if ra.0.is_empty() && rb.0.is_empty() {
                    if let (Value::Lit(Lit::Bool(true)), Value::Lit(Lit::Bool(false))) = (&ra.1, &rb.1) {
                        return Ok(Value::Var(x));
                    }
                }
                let cond = Atom::Var(x);
                self.merge_branches(vec![ra, rb], s, move |mut bs| {
                    let els = bs.pop().unwrap_or_default();
                    let then = bs.pop().unwrap_or_default();
                    IExpr::If { cond, then, els }
                })
            }
            other => {
                let shown = self.show(&other);
                self.err(s, format!("expected a bool in the conditional\nGot: {shown}"))
            }
        }
    }

    fn resolve_known(&self, v: Value) -> Value {
        if let Value::Var(x) = &v {
            if let Some(Known::Val(k)) = self.known(x) {
                return k.clone();
            }
        }
        v
    }

    fn record_key(&self, k: &RecordKey, f: &Frame) -> R<Name> {
        match k {
            RecordKey::Name(n) => Ok(n.clone()),
            RecordKey::Inject(slot, s) => match f.get(*slot) {
                Value::Symbol(n) => Ok(n),
                other => {
                    let shown = self.show(&other);
                    self.err(*s, format!("an injected record key must be a symbol\nGot: {shown}"))
                }
            },
        }
    }

    fn eval_record(&mut self, base: Option<&Expr>, fields: &[RecordField], span: Span, f: &mut Frame) -> R<Value> {
        let mut m: BTreeMap<Name, Value> = match base {
            None => BTreeMap::new(),
            Some(b) => match self.eval(b, f)? {
                Value::Record(m) => (*m).clone(),
                other => {
                    let shown = self.show(&other);
                    return self.err(span, format!("expected a record in `with`\nGot: {shown}"));
                }
            },
        };
        for fl in fields {
            match fl {
                RecordField::Set(k, e) => {
                    let k = self.record_key(k, f)?;
                    let v = self.eval(e, f)?;
                    m.insert(k, v);
                }
                RecordField::Modify(k, e) => {
                    let k = self.record_key(k, f)?;
                    let fun = self.eval(e, f)?;
                    let old = match m.get(&k) {
                        Some(v) => v.clone(),
                        None => return self.err(span, format!("the record has no field `{k}` to modify")),
                    };
                    let v = self.apply(fun, old, span)?;
                    m.insert(k, v);
                }
                RecordField::Remove(k) => {
                    let k = self.record_key(k, f)?;
                    m.remove(&k);
                }
            }
        }
        Ok(Value::Record(Rc::new(m)))
    }

    // ---------------------------------------------------------------- application

    pub(crate) fn apply(&mut self, a: Value, b: Value, s: Span) -> R<Value> {
        match a {
            Value::Closure(l, env) => self.call_lambda(&l, env, b, s),
            Value::Rec(g, i) => {
                let l = g.group.members[i as usize].clone();
                let env: Vec<Value> = g.envs[i as usize]
                    .iter()
                    .map(|v| match v {
                        Value::RecSelf(j) => Value::Rec(g.clone(), *j),
                        _ => v.clone(),
                    })
                    .collect();
                self.call_lambda(&l, env.into(), b, s)
            }
            Value::Record(m) => match &b {
                Value::Symbol(k) => match m.get(k) {
                    Some(v) => Ok(v.clone()),
                    None => {
                        let keys: Vec<String> = m.keys().map(|k| k.to_string()).collect();
                        self.err(s, format!("the record has no field `{k}`\nIt has: {}", keys.join(", ")))
                    }
                },
                _ => {
                    let shown = self.show(&b);
                    self.err(s, format!("a record can only be applied to a symbol\nGot: {shown}"))
                }
            },
            Value::Constructor(d, n, targs) => self.construct(d, &n, targs, b, s),
            Value::NominalFn(d, mut args) => {
                let decl = &self.prog.nominals[d as usize];
                if (args.len() as u32) < decl.params {
                    match self.as_type(&b, s)? {
                        Some(t) => {
                            args.push(t);
                            Ok(Value::NominalFn(d, args))
                        }
                        None => {
                            let shown = self.show(&b);
                            self.err(s, format!("expected a type argument for nominal `{}`\nGot: {shown}", decl.name))
                        }
                    }
                } else {
                    let t = self.nominal_ty(d, args, s)?;
                    self.nominal_create(b, t, s)
                }
            }
            Value::Var(ref x) => match &x.ty {
                Ty::Layout(_, inner) if matches!(b, Value::Symbol(_)) => {
                    // `l.field` on a layout reads the field's leaves
                    let inner = (**inner).clone();
                    let (off, fty) = self.layout_path(&inner, std::slice::from_ref(&b), s)?;
                    let leaves = self.out.types.leaves(&fty);
                    let mut vars = Vec::new();
                    for (k, lt) in leaves.into_iter().enumerate() {
                        let nv = self.fresh(lt);
                        self.push_stmt(vec![nv.clone()], IExpr::LayoutGet { layout: Atom::Var(x.clone()), field: off + k as u32 });
                        vars.push(nv);
                    }
                    let mut it = vars.into_iter();
                    Ok(self.value_from_ty(&fty, &mut it))
                }
                Ty::Fun(dom, cod) => {
                    let bt = self.ty_of(&b, s)?;
                    if bt != **dom {
                        let (d, g) = (self.show_ty(dom), self.show_ty(&bt));
                        return self.err(s, format!("the closure expects an argument of type {d}\nGot: {g}"));
                    }
                    let (_, atoms) = self.abstract_value(&b, s)?;
                    let cod = (**cod).clone();
                    Ok(self.emit_typed(IExpr::ClosureCall { fun: Atom::Var(x.clone()), args: atoms }, &cod))
                }
                _ => {
                    let shown = self.show(&a);
                    self.err(s, format!("expected a function in application\nGot: {shown}"))
                }
            },
            Value::Type(t) => match b {
                Value::Type(u) => {
                    let shown = self.show_ty(&t);
                    let u = self.show_ty(&u);
                    self.err(s, format!("cannot apply the type {shown} to the type {u}"))
                }
                other => {
                    let shown = self.show_ty(&t);
                    let o = self.show(&other);
                    self.err(s, format!("a type used as a term cannot be applied (type {shown} applied to {o})"))
                }
            },
            // A (non-union) nominal applies as its content, as in v2 (`x.field` on a nominal
            // of a record inside `real`).
            Value::Nominal(_, inner) => self.apply((*inner).clone(), b, s),
            other => {
                let shown = self.show(&other);
                self.err(s, format!("expected a function in application\nGot: {shown}"))
            }
        }
    }

    fn call_lambda(&mut self, l: &Rc<Lambda>, env: Rc<[Value]>, arg: Value, s: Span) -> R<Value> {
        self.enter(s)?;
        let mut f = Frame { caps: env, locals: Vec::with_capacity(l.frame as usize) };
        f.set(l.arg, arg);
        let r = self.eval(&l.body, &mut f);
        self.leave();
        r
    }

    // ---------------------------------------------------------------- nominals and unions

    /// The type of nominal `d` applied to `args` (unions are interned into the union table).
    pub(crate) fn nominal_ty(&mut self, d: u32, args: Vec<Ty>, s: Span) -> R<Ty> {
        let key = (d, args.clone());
        if let Some(t) = self.union_intern.get(&key) {
            return Ok(t.clone());
        }
        let decl = &self.prog.nominals[d as usize];
        if args.len() as u32 != decl.params {
            return self.err(
                s,
                format!("nominal `{}` expects {} type arguments, got {}", decl.name, decl.params, args.len()),
            );
        }
        let caps = match self.nominal_env.get(&d) {
            Some(env) => env.clone(),
            None if decl.has_env => return self.err(s, format!("the nominal `{}` is used before its declaration is evaluated", decl.name)),
            None => Rc::from(Vec::new()),
        };
        let mut frame = Frame { caps, locals: Vec::new() };
        for (i, a) in args.iter().enumerate() {
            frame.set(i as u32, Value::Type(a.clone()));
        }
        let name_str = {
            let mut n = decl.name.to_string();
            for a in &args {
                let shown = self.show_ty(a);
                n.push(' ');
                if shown.contains(' ') {
                    n.push_str(&format!("({shown})"));
                } else {
                    n.push_str(&shown);
                }
            }
            n
        };
        match &decl.body {
            NominalBody::Union { cases, heap } => {
                let uid = self.out.types.unions.len() as u32;
                let t = Ty::Union(uid);
                self.out.types.unions.push(ir::UnionDef {
                    name: name_str,
                    cases: Vec::new(),
                    heap: *heap,
                    decl: d,
                    args: args.clone(),
                });
                self.union_intern.insert(key, t.clone());
                let mut cs = Vec::new();
                let mut sorted: Vec<&(Name, TyExpr)> = cases.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                for (n, te) in sorted {
                    let ct = self.eval_ty(te, &mut frame, s)?;
                    cs.push((n.clone(), ct));
                }
                self.out.types.unions[uid as usize].cases = cs;
                Ok(t)
            }
            NominalBody::Type(te) => {
                let nid = self.out.types.nominals.len() as u32;
                let t = Ty::Nominal(nid);
                self.out.types.nominals.push(ir::NominalDef { name: decl.name.clone(), args: args.clone(), body: Ty::Unit });
                self.union_intern.insert(key, t.clone());
                let body = self.eval_ty(te, &mut frame, s)?;
                if contains_unguarded(&body, &t) {
                    let name = decl.name.clone();
                    return self.err(s, format!("the nominal `{name}` contains itself directly; a recursive type must go through a `union rec`"));
                }
                self.out.types.nominals[nid as usize].body = body;
                Ok(t)
            }
        }
    }

    /// Whether `v` is a value of type `t`, where an inlineable function is a value of any
    /// function type (it stays inlineable in the nominal; a nominal of records of functions is
    /// a compile-time value, as in v2, whose inference checked the functions' types).
    fn fits_ty(&mut self, v: &Value, t: &Ty, s: Span) -> R<bool> {
        match (v, t) {
            (Value::Closure(..) | Value::Rec(..) | Value::Constructor(..) | Value::NominalFn(..), Ty::Fun(..)) => Ok(true),
            (Value::Pair(a, b), Ty::Pair(x, y)) => Ok(self.fits_ty(a, x, s)? && self.fits_ty(b, y, s)?),
            (Value::Record(m), Ty::Record(tm)) => {
                if m.len() != tm.len() || m.keys().zip(tm.keys()).any(|(a, b)| a != b) {
                    return Ok(false);
                }
                for (x, y) in m.values().zip(tm.values()) {
                    if !self.fits_ty(x, y, s)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            _ => Ok(self.ty_of(v, s)? == *t),
        }
    }

    fn nominal_create(&mut self, v: Value, t: Ty, s: Span) -> R<Value> {
        match &t {
            Ty::Nominal(i) => {
                let body = self.out.types.nominals[*i as usize].body.clone();
                if !self.fits_ty(&v, &body, s)? {
                    let vt = self.ty_of(&v, s)?;
                    let (a, b) = (self.show_ty(&vt), self.show_ty(&body));
                    return self.err(s, format!("type error in nominal constructor\nGot: {a}\nExpected: {b}"));
                }
                Ok(Value::Nominal(t, Rc::new(v)))
            }
            Ty::Union(u) => match v {
                Value::Pair(k, p) => {
                    let k = match &*k {
                        Value::Symbol(k) => k.clone(),
                        _ => return self.err(s, "expected a (.key, value) pair to create a union"),
                    };
                    let def = &self.out.types.unions[*u as usize];
                    match def.cases.iter().position(|c| c.0 == k) {
                        Some(c) => {
                            let want = def.cases[c].1.clone();
                            let got = self.ty_of(&p, s)?;
                            if want != got {
                                let (a, b) = (self.show_ty(&got), self.show_ty(&want));
                                return self.err(s, format!("for case {k}, the type of the value does not match the union case\nGot: {a}\nExpected: {b}"));
                            }
                            Ok(Value::Union(t.clone(), c as u32, p))
                        }
                        None => {
                            let tn = self.show_ty(&t);
                            self.err(s, format!("the union {tn} has no case {k}"))
                        }
                    }
                }
                _ => self.err(s, "expected a (.key, value) pair to create a union"),
            },
            _ => {
                let tn = self.show_ty(&t);
                self.err(s, format!("expected a nominal type\nGot: {tn}"))
            }
        }
    }

    /// Applies a union case constructor; infers the union's type arguments from the payload.
    fn construct(&mut self, d: u32, case: &Name, targs: Vec<Ty>, payload: Value, s: Span) -> R<Value> {
        let decl = &self.prog.nominals[d as usize];
        let nparams = decl.params as usize;
        if targs.len() < nparams {
            if let Value::Type(t) = &payload {
                // explicit type application: Some `i32
                let mut targs = targs;
                targs.push(t.clone());
                return Ok(Value::Constructor(d, case.clone(), targs));
            }
        }
        let case_te = match &decl.body {
            NominalBody::Union { cases, .. } => cases.iter().find(|c| &c.0 == case).map(|c| c.1.clone()),
            _ => None,
        };
        let case_te = match case_te {
            Some(t) => t,
            None => return self.err(s, format!("`{case}` is not a case of `{}`", decl.name)),
        };
        if targs.len() == nparams {
            // the type is known: functions in the payload can become closures
            let t = self.nominal_ty(d, targs, s)?;
            let want = match &t {
                Ty::Union(u) => self.out.types.unions[*u as usize].cases.iter().find(|c| &c.0 == case).map(|c| c.1.clone()),
                _ => None,
            };
            let payload = match want {
                Some(w) => self.coerce(payload, &w, s)?,
                None => payload,
            };
            return self.nominal_create(Value::pair(Value::Symbol(case.clone()), payload), t, s);
        }
        let pt = self.ty_of(&payload, s)?;
        let args = {
            // infer by matching the case's type expression against the payload's type
            let mut frame = Frame { caps: Rc::from(Vec::new()), locals: Vec::new() };
            for (i, a) in targs.iter().enumerate() {
                frame.set(i as u32, Value::Type(a.clone()));
            }
            if !self.ty_infer(&case_te, &pt, &mut frame, s)? {
                let p = self.show_ty(&pt);
                return self.err(s, format!("the payload of type {p} does not fit union case `{case}`"));
            }
            let mut args = Vec::new();
            for i in 0..nparams {
                match frame.get(Slot::Local(i as u32)) {
                    Value::Type(t) => args.push(t),
                    _ => {
                        let name = self.prog.nominals[d as usize].name.clone();
                        return self.err(s, format!("cannot infer the type arguments of `{name}` from case `{case}`; annotate the value (e.g. `({case} x : {name} i32)`) or apply the types with backticks"));
                    }
                }
            }
            args
        };
        let t = self.nominal_ty(d, args, s)?;
        self.nominal_create(Value::pair(Value::Symbol(case.clone()), payload), t, s)
    }

    /// Matches a type expression in a declaration against a type, binding unset parameter
    /// slots (type argument inference for union constructors).
    fn ty_infer(&mut self, te: &TyExpr, t: &Ty, f: &mut Frame, s: Span) -> R<bool> {
        match te {
            TyExpr::Var(Slot::Local(i), _) => match f.get(Slot::Local(*i)) {
                Value::Undef => {
                    f.set(*i, Value::Type(t.clone()));
                    Ok(true)
                }
                Value::Type(u) => Ok(&u == t),
                _ => Ok(false),
            },
            TyExpr::Pair(a, b) => match t {
                Ty::Pair(x, y) => Ok(self.ty_infer(a, x, f, s)? && self.ty_infer(b, y, f, s)?),
                _ => Ok(false),
            },
            TyExpr::Record(fs) => match t {
                Ty::Record(m) => {
                    if fs.len() != m.len() {
                        return Ok(false);
                    }
                    for (k, te) in fs {
                        match m.get(k) {
                            Some(x) => {
                                if !self.ty_infer(te, x, f, s)? {
                                    return Ok(false);
                                }
                            }
                            None => return Ok(false),
                        }
                    }
                    Ok(true)
                }
                _ => Ok(false),
            },
            TyExpr::Array(a) => match t {
                Ty::Array(x) => self.ty_infer(a, x, f, s),
                _ => Ok(false),
            },
            TyExpr::Fun(a, b) => match t {
                Ty::Fun(x, y) => Ok(self.ty_infer(a, x, f, s)? && self.ty_infer(b, y, f, s)?),
                _ => Ok(false),
            },
            TyExpr::Nominal(d, args) => {
                let (decl, targs) = match t {
                    Ty::Union(u) => {
                        let def = &self.out.types.unions[*u as usize];
                        (def.decl, def.args.clone())
                    }
                    Ty::Nominal(n) => {
                        let def = &self.out.types.nominals[*n as usize];
                        let decl = self.union_intern.iter().find(|(_, v)| *v == t).map(|(k, _)| k.0);
                        match decl {
                            Some(dd) => (dd, def.args.clone()),
                            None => return Ok(false),
                        }
                    }
                    _ => return Ok(false),
                };
                if decl != *d || targs.len() != args.len() {
                    return Ok(false);
                }
                for (a, x) in args.iter().zip(targs.iter()) {
                    if !self.ty_infer(a, x, f, s)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            _ => {
                // no inference variables below: evaluate and compare
                let u = self.eval_ty(te, f, s)?;
                Ok(&u == t)
            }
        }
    }

    // ---------------------------------------------------------------- annotations

    fn annot(&mut self, v: Value, ty: &Ty, s: Span) -> R<Value> {
        match (&v, ty) {
            (Value::Closure(..) | Value::Rec(..), Ty::Fun(..)) => self.closure_convert(v, ty, s),
            (Value::Constructor(d, n, _), Ty::Union(u)) if self.out.types.unions[*u as usize].decl == *d => {
                // `(None : option i32)`: a payload-less case of a generic union
                let def = &self.out.types.unions[*u as usize];
                match def.cases.iter().position(|c| &c.0 == n) {
                    Some(c) if def.cases[c].1 == Ty::Unit => Ok(Value::Union(ty.clone(), c as u32, Rc::new(Value::Unit))),
                    _ => {
                        let shown = self.show_ty(ty);
                        self.err(s, format!("the union case `{n}` needs a payload to be a value of type {shown}"))
                    }
                }
            }
            (Value::Type(t), _) if t == ty => Ok(v),
            _ => {
                let vt = self.ty_of(&v, s)?;
                if &vt == ty {
                    Ok(v)
                } else {
                    let (a, b) = (self.show_ty(&vt), self.show_ty(ty));
                    self.err(s, format!("type annotation mismatch\nGot: {a}\nExpected: {b}"))
                }
            }
        }
    }

    /// Converts the functions inside `v` to runtime closures where `ty` (the type the value
    /// is stored as: an array element, a layout field) says they are closures.
    pub(crate) fn coerce(&mut self, v: Value, ty: &Ty, s: Span) -> R<Value> {
        match (&v, ty) {
            (Value::Closure(..) | Value::Rec(..), Ty::Fun(..)) => self.closure_convert(v, ty, s),
            (Value::Pair(a, b), Ty::Pair(ta, tb)) => {
                let a = self.coerce((**a).clone(), ta, s)?;
                let b = self.coerce((**b).clone(), tb, s)?;
                Ok(Value::pair(a, b))
            }
            (Value::Record(m), Ty::Record(tm)) if m.len() == tm.len() => {
                let mut out = BTreeMap::new();
                for (k, x) in m.iter() {
                    let x = match tm.get(k) {
                        Some(t) => self.coerce(x.clone(), t, s)?,
                        None => x.clone(),
                    };
                    out.insert(k.clone(), x);
                }
                Ok(Value::Record(Rc::new(out)))
            }
            _ => Ok(v),
        }
    }

    fn closure_convert(&mut self, v: Value, ty: &Ty, s: Span) -> R<Value> {
        let (dom, cod) = match ty {
            Ty::Fun(a, b) => ((**a).clone(), (**b).clone()),
            _ => return self.err(s, "internal error: closure conversion without a function type"),
        };
        let (toks, args, renamed) = self.rename(std::slice::from_ref(&v), "this closure", s)?;
        let lam_id = match &v {
            Value::Closure(l, _) => l.id,
            Value::Rec(g, i) => g.group.members[*i as usize].id,
            _ => 0,
        };
        let key = (lam_id, toks, ty.clone());
        let cid = match self.closures.get(&key) {
            Some(c) => *c,
            None => {
                let cid = self.out.closures.len() as u32;
                self.out.closures.push(ir::Closure {
                    ty: ty.clone(),
                    captured: Vec::new(),
                    params: Vec::new(),
                    ret: Vec::new(),
                    body: Block::default(),
                });
                self.closures.insert(key, cid);
                let saved = std::mem::replace(
                    &mut self.body,
                    Body::new(args.len() as u32),
                );
                let captured: Vec<Var> =
                    args.iter().enumerate().map(|(i, a)| Var { id: i as u32, ty: a.ty.clone() }).collect();
                let r = (|| -> R<(Vec<Var>, Block)> {
                    let param = self.fresh_value(&dom);
                    let mut pv = Vec::new();
                    collect_vars(&param, &mut pv);
                    let res = self.apply(renamed[0].clone(), param, s)?;
                    let rt = self.ty_of(&res, s)?;
                    if rt != cod {
                        let (a, b) = (self.show_ty(&rt), self.show_ty(&cod));
                        return self.err(s, format!("the closure returns a value of the wrong type\nGot: {a}\nExpected: {b}"));
                    }
                    let (_, atoms) = self.abstract_value(&res, s)?;
                    let stmts = self.body.blocks.pop().unwrap_or_default();
                    Ok((pv, Block { stmts, result: atoms }))
                })();
                self.body = saved;
                let (params, body) = r?;
                let ret = self.out.types.leaves(&cod);
                self.out.closures[cid as usize] = ir::Closure { ty: ty.clone(), captured, params, ret, body };
                cid
            }
        };
        let x = self.fresh(ty.clone());
        self.push_stmt(
            vec![x.clone()],
            IExpr::ClosureNew { closure: cid, captured: args.into_iter().map(Atom::Var).collect() },
        );
        Ok(Value::Var(x))
    }

    // ---------------------------------------------------------------- join points

    #[allow(clippy::too_many_arguments)]
    fn join(&mut self, id: u32, body: &Expr, free: &[Slot], ret: Option<&TyExpr>, name: &Name, s: Span, f: &mut Frame) -> R<Value> {
        self.enter(s)?;
        let r = self.join_inner(id, body, free, ret, name, s, f);
        self.leave();
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn join_inner(&mut self, id: u32, body: &Expr, free: &[Slot], ret: Option<&TyExpr>, name: &Name, s: Span, f: &mut Frame) -> R<Value> {
        let vals: Vec<Value> = free.iter().map(|sl| f.get(*sl)).collect();
        let (mut toks, args, renamed) = self.rename(&vals, &if &**name == "join" { "this join point".to_string() } else { format!("the join point `{name}`") }, s)?;
        toks.push(Tok::Sym(self.backend.clone()));
        let key = (id, toks);
        let arg_atoms: Vec<Atom> = args.iter().cloned().map(Atom::Var).collect();
        match self.methods.get(&key) {
            Some(MethodState::Done(mid, templ)) => {
                let (mid, templ) = (*mid, templ.clone());
                return Ok(self.call_method(mid, templ, arg_atoms));
            }
            Some(MethodState::InProgress(_, Some(templ))) => {
                let templ = templ.clone();
                let mid = self.method_id_of(&key);
                return Ok(self.call_method(mid, templ, arg_atoms));
            }
            Some(MethodState::InProgress(None, None)) => {
                return self.err(s, format!("the recursive join point `{name}` needs a return type annotation (e.g. `let rec f x : i32 = ...`)"));
            }
            Some(MethodState::InProgress(Some(_), None)) => unreachable!(),
            None => {}
        }
        // the annotated return type, if any, gives the template before the body is done
        let ret_ty = match ret {
            Some(t) => Some(self.eval_ty(t, f, s)?),
            None => None,
        };
        let mid = self.out.methods.len() as u32;
        self.out.methods.push(ir::Method { name: name.clone(), backend: self.backend.clone(), params: Vec::new(), ret: Vec::new(), body: Block::default() });
        let pre_templ = match &ret_ty {
            Some(t) => {
                let mut n = 0u32;
                Some(self.templ_of_ty(t, &mut n))
            }
            None => None,
        };
        self.methods.insert(key.clone(), MethodState::InProgress(ret_ty.clone(), pre_templ.clone()));
        self.method_ids.insert(key.clone(), mid);
        // evaluate the body in a fresh context
        let saved = std::mem::replace(
            &mut self.body,
            Body::new(args.len() as u32),
        );
        let mut caps: Vec<Value> = f.caps.iter().map(|_| Value::Undef).collect();
        let mut frame_locals: Vec<Value> = Vec::new();
        for (sl, v) in free.iter().zip(renamed) {
            match sl {
                Slot::Cap(i) => caps[*i as usize] = v,
                Slot::Local(i) => {
                    let i = *i as usize;
                    if i >= frame_locals.len() {
                        frame_locals.resize(i + 1, Value::Undef);
                    }
                    frame_locals[i] = v;
                }
            }
        }
        let mut nf = Frame { caps: caps.into(), locals: frame_locals };
        let r = (|| -> R<(Value, Vec<Atom>, Vec<Stmt>)> {
            let v = self.eval(body, &mut nf)?;
            if let Some(t) = &ret_ty {
                let vt = self.ty_of(&v, s)?;
                if &vt != t {
                    let (a, b) = (self.show_ty(&vt), self.show_ty(t));
                    return self.err(s, format!("the join point returns a value of the wrong type\nGot: {a}\nExpected: {b}"));
                }
            }
            let (templ, atoms) = self.abstract_value(&v, s)?;
            let stmts = self.body.blocks.pop().unwrap_or_default();
            Ok((templ, atoms, stmts))
        })();
        self.body = saved;
        let (templ, atoms, stmts) = match r {
            Ok(x) => x,
            Err(e) => {
                self.methods.remove(&key);
                return Err(e);
            }
        };
        let templ = match pre_templ {
            Some(t) => t,
            None => templ,
        };
        let params: Vec<Var> = args.iter().enumerate().map(|(i, a)| Var { id: i as u32, ty: a.ty.clone() }).collect();
        let ret_leaves = Self::template_leaf_types(&templ);
        self.out.methods[mid as usize] = ir::Method { name: name.clone(), backend: self.backend.clone(), params, ret: ret_leaves, body: Block { stmts, result: atoms } };
        self.methods.insert(key, MethodState::Done(mid, templ.clone()));
        Ok(self.call_method(mid, templ, arg_atoms))
    }

    fn method_id_of(&self, key: &(u32, Vec<Tok>)) -> u32 {
        self.method_ids.get(key).copied().unwrap_or(0)
    }

    fn call_method(&mut self, mid: u32, templ: Value, args: Vec<Atom>) -> Value {
        let tys = Self::template_leaf_types(&templ);
        let vars: Vec<Var> = tys.into_iter().map(|t| self.fresh(t)).collect();
        self.push_stmt(vars.clone(), IExpr::Call { method: mid, args });
        self.instantiate(&templ, &vars)
    }

    /// A template (placeholders numbered from `*n`) for a value of type `ty`.
    fn templ_of_ty(&mut self, ty: &Ty, n: &mut u32) -> Value {
        let leaves = self.out.types.leaves(ty);
        let vars: Vec<Var> = leaves
            .into_iter()
            .map(|t| {
                let v = Var { id: *n, ty: t };
                *n += 1;
                v
            })
            .collect();
        let mut it = vars.into_iter();
        self.value_from_ty(ty, &mut it)
    }

    fn join_backend(&mut self, id: u32, backend: &Name, body: &Expr, free: &[Slot], s: Span, f: &mut Frame) -> R<Value> {
        if self.backend != self.host && self.backend != *backend {
            return self.err(s, format!("nested `join_backend` is not supported (already inside backend {})", self.backend));
        }
        self.enter(s)?;
        let vals: Vec<Value> = free.iter().map(|sl| f.get(*sl)).collect();
        let (toks, args, renamed) = self.rename(&vals, &format!("the kernel (`join_backend {backend}`)"), s)?;
        let key = (id, backend.clone(), toks);
        let kid = match self.kernels.get(&key) {
            Some(k) => *k,
            None => {
                let kid = self.out.kernels.len() as u32;
                let kspan = self.user_span(s);
                self.out.kernels.push(ir::Kernel { backend: backend.clone(), params: Vec::new(), ret: Vec::new(), body: Block::default(), span: kspan });
                self.kernels.insert(key, kid);
                let saved_backend = std::mem::replace(&mut self.backend, backend.clone());
                let saved = std::mem::replace(
                    &mut self.body,
                    Body::new(args.len() as u32),
                );
                let mut caps: Vec<Value> = f.caps.iter().map(|_| Value::Undef).collect();
                let mut nf = Frame { caps: Rc::from(Vec::new()), locals: Vec::new() };
                for (sl, v) in free.iter().zip(renamed) {
                    match sl {
                        Slot::Cap(i) => caps[*i as usize] = v,
                        Slot::Local(i) => nf.set(*i, v),
                    }
                }
                nf.caps = caps.into();
                let r = (|| -> R<(Vec<Atom>, Vec<Ty>, Vec<Stmt>)> {
                    let v = self.eval(body, &mut nf)?;
                    let (templ, atoms) = self.abstract_value(&v, s)?;
                    let tys = Self::template_leaf_types(&templ);
                    let stmts = self.body.blocks.pop().unwrap_or_default();
                    Ok((atoms, tys, stmts))
                })();
                self.body = saved;
                self.backend = saved_backend;
                let (atoms, ret, stmts) = match r {
                    Ok(x) => x,
                    Err(e) => {
                        self.leave();
                        return Err(e);
                    }
                };
                let params: Vec<Var> = args.iter().enumerate().map(|(i, a)| Var { id: i as u32, ty: a.ty.clone() }).collect();
                self.out.kernels[kid as usize] = ir::Kernel { backend: backend.clone(), params, ret, body: Block { stmts, result: atoms }, span: kspan };
                if let Err((msg, span)) = super::races::check(&self.out.kernels[kid as usize]) {
                    let span = if span == Span::default() { s } else { span };
                    let r = self.err(span, msg);
                    self.leave();
                    return r;
                }
                kid
            }
        };
        self.leave();
        // The kernel's arguments as a tuple ending in `()`, as v2 gives them (`a, b, ()`), so
        // code can walk them with `| () => ... | (a, b) => ...`.
        let tuple = args.into_iter().rev().fold(Value::Unit, |t, a| Value::pair(Value::Var(a), t));
        Ok(Value::pair(Value::Lit(Lit::I32(kid as i32)), tuple))
    }

    // ---------------------------------------------------------------- pattern matching

    fn match_clauses(&mut self, x: &Value, clauses: &[Clause], i: usize, s: Span, f: &mut Frame) -> R<Value> {
        let mut i = i;
        loop {
            let clause = match clauses.get(i) {
                Some(c) => c,
                None => {
                    let shown = self.show(&self.resolve_known(x.clone()));
                    return self.err(s, format!("pattern match failure: no clause matches the value\nGot: {shown}"));
                }
            };
            match self.match_pat(&clause.pat, x, f, s)? {
                Outcome::Yes => return self.eval(&clause.body, f),
                Outcome::No => i += 1,
                Outcome::Guard(c) => {
                    let cv = match c {
                        Atom::Var(v) => v,
                        Atom::Lit(_) => unreachable!(),
                    };
                    let fa = &mut *f;
                    let ra = self.in_block(|pe| {
                        pe.set_known(&cv, Known::Val(lit_of_bool(true)));
                        pe.eval(&clause.body, fa)
                    })?;
                    let fb = &mut *f;
                    let rb = self.in_block(|pe| {
                        pe.set_known(&cv, Known::Val(lit_of_bool(false)));
                        pe.match_clauses(x, clauses, i + 1, s, fb)
                    })?;
                    let cond = Atom::Var(cv);
                    return self.merge_branches(vec![ra, rb], s, move |mut bs| {
                        let els = bs.pop().unwrap_or_default();
                        let then = bs.pop().unwrap_or_default();
                        IExpr::If { cond, then, els }
                    });
                }
                Outcome::LitTest(v, l) => {
                    let c = self.emit_prim(PrimOp::Eq, vec![Atom::Var(v.clone()), Atom::Lit(l.clone())], Ty::Prim(PrimTy::Bool));
                    let cv = match c {
                        Value::Var(c) => c,
                        _ => unreachable!(),
                    };
                    let fa = &mut *f;
                    let (v1, l1) = (v.clone(), l.clone());
                    let ra = self.in_block(|pe| {
                        pe.set_known(&v1, Known::Val(Value::Lit(l1)));
                        pe.match_clauses(x, clauses, i, s, fa)
                    })?;
                    let fb = &mut *f;
                    let rb = self.in_block(|pe| {
                        let nots = match pe.known(&v) {
                            Some(Known::Not(n)) => n.with(l),
                            _ => NotList::default().with(l),
                        };
                        pe.set_known(&v, Known::Not(nots));
                        pe.match_clauses(x, clauses, i, s, fb)
                    })?;
                    let cond = Atom::Var(cv);
                    return self.merge_branches(vec![ra, rb], s, move |mut bs| {
                        let els = bs.pop().unwrap_or_default();
                        let then = bs.pop().unwrap_or_default();
                        IExpr::If { cond, then, els }
                    });
                }
                Outcome::Unbox(v) => {
                    let uid = match &v.ty {
                        Ty::Union(u) => *u,
                        _ => unreachable!(),
                    };
                    let cases = self.out.types.unions[uid as usize].cases.clone();
                    // When the scrutinee is the union itself, each arm can start at the first
                    // clause that does not name another case (linear instead of quadratic).
                    let starts: Option<(HashMap<Name, usize>, usize)> = match x {
                        Value::Var(xv) if xv.id == v.id => {
                            let mut first: HashMap<Name, usize> = HashMap::new();
                            let mut generic = clauses.len();
                            for (k, c) in clauses.iter().enumerate().skip(i) {
                                match &c.pat {
                                    Pat::Union(_, n, _) => {
                                        first.entry(n.clone()).or_insert(k);
                                    }
                                    _ => {
                                        generic = k;
                                        break;
                                    }
                                }
                            }
                            Some((first, generic))
                        }
                        _ => None,
                    };
                    let mut results = Vec::new();
                    let mut arm_vars = Vec::new();
                    for (ci, (cname, pty)) in cases.iter().enumerate() {
                        let fa = &mut *f;
                        let v1 = v.clone();
                        let pty = pty.clone();
                        let start = match &starts {
                            Some((first, generic)) => first.get(cname).copied().unwrap_or(*generic).min(*generic),
                            None => i,
                        };
                        let r = self.in_block(|pe| {
                            let payload = pe.fresh_value(&pty);
                            let mut pv = Vec::new();
                            collect_vars(&payload, &mut pv);
                            pe.set_known(&v1, Known::Val(Value::Union(v1.ty.clone(), ci as u32, Rc::new(payload))));
                            let r = pe.match_clauses(x, clauses, start, s, fa)?;
                            Ok((pv, r))
                        })?;
                        let (stmts, (pv, val)) = r;
                        arm_vars.push(pv);
                        results.push((stmts, val));
                    }
                    let scrut = Atom::Var(v);
                    return self.merge_branches(results, s, move |bs| IExpr::Match {
                        scrut,
                        arms: bs
                            .into_iter()
                            .zip(arm_vars)
                            .enumerate()
                            .map(|(c, (body, vars))| ir::MatchArm { case: c as u32, vars, body })
                            .collect(),
                        default: None,
                    });
                }
            }
        }
    }

    fn match_pat(&mut self, p: &Pat, x: &Value, f: &mut Frame, s: Span) -> R<Outcome> {
        let x = self.resolve_known(x.clone());
        Ok(match p {
            Pat::Wildcard => Outcome::Yes,
            Pat::Var(slot) => {
                if let Slot::Local(i) = slot {
                    f.set(*i, x);
                }
                Outcome::Yes
            }
            Pat::Dyn(p) => {
                let d = self.dyn_value(&x, s)?;
                return self.match_pat(p, &d, f, s);
            }
            Pat::Lit(l) => match &x {
                Value::Lit(m) => {
                    if m == l {
                        Outcome::Yes
                    } else {
                        Outcome::No
                    }
                }
                Value::Var(v) if v.ty == Ty::Prim(l.ty()) => {
                    if let Some(Known::Not(ls)) = self.known(v) {
                        if ls.contains(l) {
                            return Ok(Outcome::No);
                        }
                    }
                    Outcome::LitTest(v.clone(), l.clone())
                }
                _ => Outcome::No,
            },
            Pat::Unit => match &x {
                Value::Unit => Outcome::Yes,
                _ => Outcome::No,
            },
            Pat::Symbol(n) => match &x {
                Value::Symbol(m) if m == n => Outcome::Yes,
                _ => Outcome::No,
            },
            Pat::Pair(a, b) => match &x {
                Value::Pair(xa, xb) => match self.match_pat(a, xa, f, s)? {
                    Outcome::Yes => self.match_pat(b, xb, f, s)?,
                    o => o,
                },
                _ => Outcome::No,
            },
            Pat::Record(fields) => match &x {
                Value::Record(m) => {
                    for (k, p) in fields {
                        let k = self.record_key(k, f)?;
                        match m.get(&k) {
                            Some(v) => match self.match_pat(p, v, f, s)? {
                                Outcome::Yes => {}
                                o => return Ok(o),
                            },
                            None => return Ok(Outcome::No),
                        }
                    }
                    Outcome::Yes
                }
                _ => Outcome::No,
            },
            Pat::And(a, b) => match self.match_pat(a, &x, f, s)? {
                Outcome::Yes => self.match_pat(b, &x, f, s)?,
                o => o,
            },
            Pat::Or(a, b) => match self.match_pat(a, &x, f, s)? {
                Outcome::No => self.match_pat(b, &x, f, s)?,
                o => o,
            },
            Pat::Annot(p, t) => {
                let ty = self.eval_ty(t, f, s)?;
                match &x {
                    Value::Closure(..) | Value::Rec(..) if matches!(ty, Ty::Fun(..)) => {
                        let c = self.closure_convert(x.clone(), &ty, s)?;
                        return self.match_pat(p, &c, f, s);
                    }
                    _ => {}
                }
                let xt = self.ty_of(&x, s)?;
                if xt == ty {
                    self.match_pat(p, &x, f, s)?
                } else {
                    Outcome::No
                }
            }
            Pat::Union(d, case, p) => match &x {
                Value::Union(t, c, payload) => {
                    let (decl, name) = match t {
                        Ty::Union(u) => {
                            let def = &self.out.types.unions[*u as usize];
                            (def.decl, def.cases[*c as usize].0.clone())
                        }
                        _ => return Ok(Outcome::No),
                    };
                    if decl == *d && &name == case {
                        let payload = payload.clone();
                        self.match_pat(p, &payload, f, s)?
                    } else {
                        Outcome::No
                    }
                }
                Value::Var(v) => match &v.ty {
                    Ty::Union(u) if self.out.types.unions[*u as usize].decl == *d => Outcome::Unbox(v.clone()),
                    _ => Outcome::No,
                },
                _ => Outcome::No,
            },
            Pat::Nominal(d, p) => match &x {
                Value::Nominal(t, inner) => {
                    let ok = self.union_intern.iter().any(|(k, v)| v == t && k.0 == *d);
                    if ok {
                        let inner = inner.clone();
                        self.match_pat(p, &inner, f, s)?
                    } else {
                        Outcome::No
                    }
                }
                _ => Outcome::No,
            },
            Pat::Array(ps) => match &x {
                Value::Var(v) => {
                    let Ty::Array(et) = &v.ty else { return Ok(Outcome::No) };
                    let et = (**et).clone();
                    // The length test first (a runtime literal test on the length, which is
                    // shared by every clause through CSE), then the elements in order.
                    let Ok(n) = i32::try_from(ps.len()) else { return Ok(Outcome::No) };
                    let want = Lit::I32(n);
                    let len = self.emit_prim(PrimOp::ArrayLength, vec![Atom::Var(v.clone())], Ty::i32());
                    match self.resolve_known(len) {
                        Value::Lit(l) if l == want => {}
                        Value::Var(lv) => {
                            if let Some(Known::Not(ls)) = self.known(&lv) {
                                if ls.contains(&want) {
                                    return Ok(Outcome::No);
                                }
                            }
                            return Ok(Outcome::LitTest(lv, want));
                        }
                        _ => return Ok(Outcome::No),
                    }
                    for (i, p) in ps.iter().enumerate() {
                        if matches!(p, Pat::Wildcard) {
                            continue;
                        }
                        let key = (self.cur_match, v.id, i as i32);
                        let cached = self.body.elem_reads.get(&key).cloned();
                        let el = match cached {
                            Some(el) => el,
                            None => {
                                let index = Atom::Lit(Lit::I32(i as i32));
                                let el = self.emit_typed(IExpr::ArrayGet { array: Atom::Var(v.clone()), index }, &et);
                                let b = &mut self.body;
                                b.elem_reads.insert(key, el.clone(), &mut b.scopes.last_mut().expect("scope").elem_reads);
                                el
                            }
                        };
                        match self.match_pat(p, &el, f, s)? {
                            Outcome::Yes => {}
                            o => return Ok(o),
                        }
                    }
                    Outcome::Yes
                }
                _ => Outcome::No,
            },
            Pat::When(p, g) => match self.match_pat(p, &x, f, s)? {
                Outcome::Yes => {
                    let c = self.eval(g, f)?;
                    match self.resolve_known(c) {
                        Value::Lit(Lit::Bool(true)) => Outcome::Yes,
                        Value::Lit(Lit::Bool(false)) => Outcome::No,
                        Value::Var(v) if v.ty == Ty::Prim(PrimTy::Bool) => Outcome::Guard(Atom::Var(v)),
                        other => {
                            let shown = self.show(&other);
                            return self.err(s, format!("a `when` guard must be a bool\nGot: {shown}"));
                        }
                    }
                }
                o => o,
            },
        })
    }

    // ---------------------------------------------------------------- types

    pub(crate) fn eval_ty(&mut self, t: &TyExpr, f: &mut Frame, s: Span) -> R<Ty> {
        Ok(match t {
            TyExpr::Prim(p) => Ty::Prim(*p),
            TyExpr::Unit => Ty::Unit,
            TyExpr::Wildcard => return self.err(s, "`_` is not a type here"),
            TyExpr::Var(slot, _) => {
                let v = f.get(*slot);
                match (self.as_type(&v, s)?, v) {
                    (Some(t), _) => t,
                    (None, Value::Symbol(n)) => Ty::Symbol(n),
                    (None, other) => {
                        let shown = self.show(&other);
                        return self.err(s, format!("expected a type\nGot: {shown}"));
                    }
                }
            }
            TyExpr::Symbol(n) => Ty::Symbol(n.clone()),
            TyExpr::Pair(a, b) => Ty::pair(self.eval_ty(a, f, s)?, self.eval_ty(b, f, s)?),
            TyExpr::Record(fs) => {
                let mut m = BTreeMap::new();
                for (k, t) in fs {
                    m.insert(k.clone(), self.eval_ty(t, f, s)?);
                }
                Ty::Record(Arc::new(m))
            }
            TyExpr::Array(t) => Ty::Array(Arc::new(self.eval_ty(t, f, s)?)),
            TyExpr::Fun(a, b) => Ty::Fun(Arc::new(self.eval_ty(a, f, s)?), Arc::new(self.eval_ty(b, f, s)?)),
            TyExpr::Nominal(d, args) => {
                let mut a = Vec::new();
                for x in args {
                    a.push(self.eval_ty(x, f, s)?);
                }
                self.nominal_or_con(*d, a, s)?
            }
            TyExpr::Layout(k, t) => Ty::Layout(*k, Arc::new(self.eval_ty(t, f, s)?)),
            TyExpr::Macro(parts) => {
                let mut out = Vec::new();
                for p in parts {
                    out.push(match p {
                        TyMacroPart::Text(t) => MacroPart::Text(t.clone()),
                        TyMacroPart::Type(t) => MacroPart::Type(self.eval_ty(t, f, s)?),
                        TyMacroPart::TypeLit(t) => {
                            let t = self.eval_ty(t, f, s)?;
                            MacroPart::TypeLit(self.type_lit_text(&t, s)?)
                        }
                    });
                }
                Ty::Macro(out.into())
            }
            TyExpr::Lit(l) => Ty::TypeLit(lit_text(l).into()),
            TyExpr::TypeOf(e) => {
                self.enter_block();
                let r = self.eval(e, f);
                self.leave_block();
                let v = r?;
                match v {
                    Value::NominalFn(d, args) => self.nominal_ty(d, args, s)?,
                    v => self.ty_of(&v, s)?,
                }
            }
            TyExpr::Apply(g, args) => {
                let head = match &**g {
                    TyExpr::Var(slot, _) => f.get(*slot),
                    TyExpr::Nominal(d, a) if a.is_empty() => Value::NominalFn(*d, Vec::new()),
                    _ => return self.err(s, "this type cannot be applied"),
                };
                let head = match head {
                    Value::Type(Ty::Con(d, _, a)) => Value::NominalFn(d, a.to_vec()),
                    h => h,
                };
                match head {
                    Value::NominalFn(d, mut a) => {
                        for x in args {
                            a.push(self.eval_ty(x, f, s)?);
                        }
                        self.nominal_or_con(d, a, s)?
                    }
                    other => {
                        let shown = self.show(&other);
                        return self.err(s, format!("expected a nominal type constructor\nGot: {shown}"));
                    }
                }
            }
        })
    }

    fn type_lit_text(&self, t: &Ty, s: Span) -> R<Arc<str>> {
        match t {
            Ty::TypeLit(x) => Ok(x.clone()),
            Ty::Symbol(x) => Ok(x.clone()),
            _ => {
                let shown = self.show_ty(t);
                self.err(s, format!("expected a type literal\nGot: {shown}"))
            }
        }
    }

    /// Matches a typecase pattern against a type, binding metavariables.
    fn ty_match(&mut self, p: &TyExpr, t: &Ty, f: &mut Frame, s: Span) -> R<bool> {
        Ok(match p {
            TyExpr::Wildcard => true,
            TyExpr::Var(Slot::Local(i), true) => {
                // A metavariable that occurs twice (`~t * ~t`) matches only the same type twice.
                if self.ty_bound.contains(i) {
                    matches!(f.get(Slot::Local(*i)), Value::Type(prev) if prev == *t)
                } else {
                    self.ty_bound.push(*i);
                    f.set(*i, Value::Type(t.clone()));
                    true
                }
            }
            TyExpr::Pair(a, b) => match t {
                Ty::Pair(x, y) => self.ty_match(a, x, f, s)? && self.ty_match(b, y, f, s)?,
                _ => false,
            },
            TyExpr::Record(fs) => match t {
                Ty::Record(m) => {
                    for (k, pt) in fs {
                        match m.get(k) {
                            Some(x) => {
                                if !self.ty_match(pt, x, f, s)? {
                                    return Ok(false);
                                }
                            }
                            None => return Ok(false),
                        }
                    }
                    true
                }
                _ => false,
            },
            TyExpr::Array(a) => match t {
                Ty::Array(x) => self.ty_match(a, x, f, s)?,
                _ => false,
            },
            TyExpr::Fun(a, b) => match t {
                Ty::Fun(x, y) => self.ty_match(a, x, f, s)? && self.ty_match(b, y, f, s)?,
                _ => false,
            },
            TyExpr::Layout(k, a) => match t {
                Ty::Layout(k2, x) if k == k2 => self.ty_match(a, x, f, s)?,
                _ => false,
            },
            TyExpr::Nominal(d, args) => match self.nominal_parts(t) {
                Some((d2, targs)) if d2 == *d && targs.len() == args.len() => {
                    for (a, x) in args.iter().zip(targs.iter()) {
                        if !self.ty_match(a, x, f, s)? {
                            return Ok(false);
                        }
                    }
                    true
                }
                _ => false,
            },
            TyExpr::Apply(g, args) => match self.nominal_parts(t) {
                Some((d2, targs)) if targs.len() >= args.len() => {
                    let split = targs.len() - args.len();
                    let head = Value::NominalFn(d2, targs[..split].to_vec());
                    let ok_head = match &**g {
                        TyExpr::Var(Slot::Local(i), true) => {
                            f.set(*i, head);
                            true
                        }
                        TyExpr::Nominal(d, a) if a.is_empty() => *d == d2 && split == 0,
                        _ => false,
                    };
                    if !ok_head {
                        return Ok(false);
                    }
                    for (a, x) in args.iter().zip(targs[split..].iter()) {
                        if !self.ty_match(a, x, f, s)? {
                            return Ok(false);
                        }
                    }
                    true
                }
                _ => false,
            },
            _ => {
                let u = self.eval_ty(p, f, s)?;
                &u == t
            }
        })
    }

    /// The type a value stands for when it is passed as a type: a type, or a nominal (applied
    /// to some of its arguments) used as a type constructor; `None` for other values.
    pub(crate) fn as_type(&mut self, v: &Value, s: Span) -> R<Option<Ty>> {
        match v {
            Value::Type(t) => Ok(Some(t.clone())),
            Value::NominalFn(d, args) => Ok(Some(self.nominal_or_con(*d, args.clone(), s)?)),
            _ => Ok(None),
        }
    }

    /// Nominal `d` applied to `args`: its type, or a type constructor ([`Ty::Con`]) while it
    /// has fewer arguments than it takes.
    fn nominal_or_con(&mut self, d: u32, args: Vec<Ty>, s: Span) -> R<Ty> {
        let decl = &self.prog.nominals[d as usize];
        if (args.len() as u32) < decl.params {
            return Ok(Ty::Con(d, Arc::from(&*decl.name), args.into()));
        }
        self.nominal_ty(d, args, s)
    }

    pub(crate) fn nominal_parts(&self, t: &Ty) -> Option<(u32, Vec<Ty>)> {
        match t {
            Ty::Con(d, _, a) => Some((*d, a.to_vec())),
            Ty::Union(u) => {
                let d = &self.out.types.unions[*u as usize];
                Some((d.decl, d.args.clone()))
            }
            Ty::Nominal(_) => self.union_intern.iter().find(|(_, v)| *v == t).map(|(k, _)| (k.0, k.1.clone())),
            _ => None,
        }
    }

    // ---------------------------------------------------------------- macros

    fn eval_macro(&mut self, parts: &[MacroPartE], ty: Option<&TyExpr>, s: Span, f: &mut Frame) -> R<Value> {
        let mut out = Vec::new();
        for p in parts {
            out.push(match p {
                MacroPartE::Text(t) => MacroPart::Text(t.clone()),
                MacroPartE::Term(e) => {
                    let v = self.eval(e, f)?;
                    let v = self.resolve_known(v);
                    match v {
                        Value::Lit(l) => MacroPart::Atom(Atom::Lit(l)),
                        Value::Var(x) => MacroPart::Atom(Atom::Var(x)),
                        Value::Symbol(n) => MacroPart::Text(n),
                        Value::Unit => MacroPart::Text("".into()),
                        // A tuple, record or nominal with a single leaf stands for that leaf
                        // (as in v2); one of several leaves has no rendering in our backends.
                        other => {
                            let (_, atoms) = self.abstract_value(&other, s)?;
                            match <[Atom; 1]>::try_from(atoms) {
                                Ok([a]) => MacroPart::Atom(a),
                                Err(atoms) => {
                                    let shown = self.show(&other);
                                    return self.err(
                                        s,
                                        format!(
                                            "a macro argument `!x` must be a primitive, a runtime variable, a symbol or a value with one runtime leaf; this one has {}: pass its leaves one by one\nGot: {shown}",
                                            atoms.len()
                                        ),
                                    );
                                }
                            }
                        }
                    }
                }
                MacroPartE::Type(t) => MacroPart::Type(self.eval_ty(t, f, s)?),
                MacroPartE::TypeLit(t) => {
                    let t = self.eval_ty(t, f, s)?;
                    MacroPart::TypeLit(self.type_lit_text(&t, s)?)
                }
            });
        }
        let ty = match ty {
            Some(t) => self.eval_ty(t, f, s)?,
            None => Ty::Unit,
        };
        let leaves = self.out.types.leaves(&ty);
        let binds_vars = out.iter().any(|p| matches!(p, MacroPart::Text(t) if t.contains("\\v")));
        if leaves.len() > 1 && !binds_vars {
            let shown = self.show_ty(&ty);
            return self.err(s, format!("a macro must have a type with at most one runtime leaf\nGot: {shown}"));
        }
        Ok(self.emit_typed(IExpr::Macro(out), &ty))
    }

    // ---------------------------------------------------------------- mutation

    fn heap_set(&mut self, target: &Expr, path: &[Expr], value: &Expr, s: Span, f: &mut Frame) -> R<Value> {
        let t = self.eval(target, f)?;
        let mut idx = Vec::new();
        for p in path {
            idx.push(self.eval(p, f)?);
        }
        let v = self.eval(value, f)?;
        match &t {
            Value::Var(x) => match &x.ty {
                Ty::Array(et) => {
                    if idx.len() != 1 {
                        return self.err(s, "an array set takes exactly one index");
                    }
                    let v = self.coerce(v, et, s)?;
                    let vt = self.ty_of(&v, s)?;
                    if vt != **et {
                        let (a, b) = (self.show_ty(&vt), self.show_ty(et));
                        return self.err(s, format!("the array element has the wrong type\nGot: {a}\nExpected: {b}"));
                    }
                    let i = self.int_atom(&idx[0], s)?;
                    let (_, atoms) = self.abstract_value(&v, s)?;
                    self.push_stmt(vec![], IExpr::ArraySet { array: Atom::Var(x.clone()), index: i, value: atoms });
                    Ok(Value::Unit)
                }
                Ty::Layout(LayoutKind::Mut, inner) => {
                    let inner = (**inner).clone();
                    let (offset, fty) = self.layout_path(&inner, &idx, s)?;
                    let v = self.coerce(v, &fty, s)?;
                    let vt = self.ty_of(&v, s)?;
                    if vt != fty {
                        let (a, b) = (self.show_ty(&vt), self.show_ty(&fty));
                        return self.err(s, format!("the field has the wrong type\nGot: {a}\nExpected: {b}"));
                    }
                    let (_, atoms) = self.abstract_value(&v, s)?;
                    for (k, a) in atoms.into_iter().enumerate() {
                        self.push_stmt(vec![], IExpr::LayoutSet { layout: Atom::Var(x.clone()), field: offset + k as u32, value: a });
                    }
                    Ok(Value::Unit)
                }
                _ => {
                    let shown = self.show(&t);
                    self.err(s, format!("expected an array or a `mut` layout in `<-`\nGot: {shown}"))
                }
            },
            _ => {
                let shown = self.show(&t);
                self.err(s, format!("expected an array or a `mut` layout in `<-`\nGot: {shown}"))
            }
        }
    }

    /// The leaf offset and type of the field selected by `path` inside `ty`.
    fn layout_path(&self, ty: &Ty, path: &[Value], s: Span) -> R<(u32, Ty)> {
        let mut off = 0u32;
        let mut cur = ty.clone();
        for p in path {
            match (&cur, p) {
                (Ty::Record(m), Value::Symbol(k)) => {
                    let mut found = None;
                    for (k2, t) in m.iter() {
                        if k2 == k {
                            found = Some(t.clone());
                            break;
                        }
                        off += self.out.types.leaves(t).len() as u32;
                    }
                    match found {
                        Some(t) => cur = t,
                        None => return self.err(s, format!("the layout has no field `{k}`")),
                    }
                }
                _ => {
                    let shown = self.show(p);
                    return self.err(s, format!("expected a symbol field in a layout path\nGot: {shown}"));
                }
            }
        }
        Ok((off, cur))
    }

    pub(crate) fn int_atom(&self, v: &Value, s: Span) -> R<Atom> {
        match self.resolve_known(v.clone()) {
            Value::Lit(l) if l.ty().is_int() => Ok(Atom::Lit(l)),
            Value::Var(x) if matches!(x.ty, Ty::Prim(p) if p.is_int()) => Ok(Atom::Var(x)),
            other => {
                let shown = self.show(&other);
                self.err(s, format!("expected an integer\nGot: {shown}"))
            }
        }
    }

    pub(crate) fn emit(&mut self, vars: Vec<Var>, expr: IExpr) {
        self.push_stmt(vars, expr)
    }
    pub(crate) fn emit_value(&mut self, expr: IExpr, ty: &Ty) -> Value {
        self.emit_typed(expr, ty)
    }
    pub(crate) fn prim(&mut self, op: PrimOp, args: Vec<Atom>, ty: Ty) -> Value {
        self.emit_prim(op, args, ty)
    }
    pub(crate) fn abstract_atoms(&mut self, v: &Value, s: Span) -> R<Vec<Atom>> {
        Ok(self.abstract_value(v, s)?.1)
    }
    pub(crate) fn block<T>(&mut self, f: impl FnOnce(&mut Self) -> R<T>) -> R<(Vec<Stmt>, T)> {
        self.in_block(f)
    }
    pub(crate) fn known_value(&self, v: Value) -> Value {
        self.resolve_known(v)
    }
    pub(crate) fn value_from_leaves(&mut self, ty: &Ty, vars: Vec<Var>) -> Value {
        let mut it = vars.into_iter();
        self.value_from_ty(ty, &mut it)
    }
    /// Records, for the current scope, that the runtime union `v` holds case `c` with `payload`.
    pub(crate) fn assume_case(&mut self, v: &Var, c: u32, payload: Value) {
        self.set_known(v, Known::Val(Value::Union(v.ty.clone(), c, Rc::new(payload))));
    }
    pub(crate) fn fresh_value_of(&mut self, ty: &Ty) -> Value {
        self.fresh_value(ty)
    }
    pub(crate) fn new_var(&mut self, ty: Ty) -> Var {
        self.fresh(ty)
    }
    pub(crate) fn merge(&mut self, branches: Vec<(Vec<Stmt>, Value)>, s: Span, mk: impl FnOnce(Vec<Block>) -> IExpr) -> R<Value> {
        self.merge_branches(branches, s, mk)
    }
    pub(crate) fn current_backend(&self) -> Name {
        self.backend.clone()
    }
    pub(crate) fn kernel_target(&self) -> super::KernelTarget {
        self.kernel_target
    }
    pub(crate) fn nominal_from(&mut self, v: Value, t: Ty, s: Span) -> R<Value> {
        self.nominal_create(v, t, s)
    }
    pub(crate) fn new_frame() -> Frame {
        Frame { caps: Rc::from(Vec::new()), locals: Vec::new() }
    }
    pub(crate) fn take_main(&mut self) -> Vec<Stmt> {
        std::mem::take(self.body.blocks.first_mut().expect("main block"))
    }
}

/// Whether `t` occurs in `ty` outside of a leaf type (which would make `ty` infinitely large).
fn contains_unguarded(ty: &Ty, t: &Ty) -> bool {
    if ty == t {
        return true;
    }
    match ty {
        Ty::Pair(a, b) => contains_unguarded(a, t) || contains_unguarded(b, t),
        Ty::Record(m) => m.values().any(|x| contains_unguarded(x, t)),
        _ => false,
    }
}

/// The printed content of a type-level literal.
pub(crate) fn lit_text(l: &Lit) -> String {
    match l {
        Lit::I8(x) => x.to_string(),
        Lit::I16(x) => x.to_string(),
        Lit::I32(x) => x.to_string(),
        Lit::I64(x) => x.to_string(),
        Lit::U8(x) => x.to_string(),
        Lit::U16(x) => x.to_string(),
        Lit::U32(x) => x.to_string(),
        Lit::U64(x) => x.to_string(),
        Lit::F32(x) => ir::format_float(*x as f64),
        Lit::F64(x) => ir::format_float(*x),
        Lit::Bool(x) => x.to_string(),
        Lit::Char(x) => x.to_string(),
        Lit::String(x) => x.to_string(),
    }
}

pub(crate) fn atom_value(a: Atom) -> Value {
    match a {
        Atom::Var(v) => Value::Var(v),
        Atom::Lit(l) => Value::Lit(l),
    }
}

/// Collects the runtime variables of a value in leaf order.
pub(crate) fn collect_vars(v: &Value, out: &mut Vec<Var>) {
    match v {
        Value::Var(x) => out.push(x.clone()),
        Value::Pair(a, b) => {
            collect_vars(a, out);
            collect_vars(b, out);
        }
        Value::Record(m) => m.values().for_each(|x| collect_vars(x, out)),
        Value::Nominal(_, x) => collect_vars(x, out),
        Value::Union(_, _, p) => collect_vars(p, out),
        Value::Closure(_, env) => env.iter().for_each(|x| collect_vars(x, out)),
        _ => {}
    }
}

/// The span of an expression, where it has one.
pub(crate) fn span_of(e: &Expr) -> Span {
    match e {
        Expr::Lit(_, s)
        | Expr::Unit(s)
        | Expr::Var(_, s)
        | Expr::Symbol(_, s)
        | Expr::Type(_, s)
        | Expr::Apply(_, _, s)
        | Expr::Pair(_, _, s)
        | Expr::If(_, _, _, s)
        | Expr::Match(_, _, s)
        | Expr::TypeCase(_, _, s)
        | Expr::Annot(_, _, s)
        | Expr::Macro(_, _, s)
        | Expr::Op(_, _, s)
        | Expr::Constructor(_, _, s)
        | Expr::Nominal(_, s)
        | Expr::Error(_, s) => *s,
        Expr::Record { span, .. } | Expr::Join { span, .. } | Expr::JoinBackend { span, .. } | Expr::HeapSet { span, .. } => *span,
        Expr::Lambda(l) => l.span,
        Expr::LetRec { body, .. } => span_of(body),
        Expr::NominalEnv { span, .. } => *span,
        Expr::Let(_, _, b) => span_of(b),
        Expr::Seq(a, _) => span_of(a),
    }
}

/// A short picture of a value's shape for diagnostics: pairs and records down to `depth`
/// levels, `..` below.
fn value_shape(v: &Value, depth: u32) -> String {
    if depth == 0 {
        return "..".into();
    }
    match v {
        Value::Pair(a, b) => format!("({}, {})", value_shape(a, depth - 1), value_shape(b, depth - 1)),
        Value::Record(m) => {
            let fs: Vec<String> = m.iter().take(4).map(|(k, v)| format!("{k} = {}", value_shape(v, depth - 1))).collect();
            format!("{{{}{}}}", fs.join("; "), if m.len() > 4 { "; .." } else { "" })
        }
        Value::Var(x) => match &x.ty {
            Ty::Prim(p) => p.name().to_string(),
            _ => "_".into(),
        },
        Value::Lit(l) => l.ty().name().to_string(),
        _ => "_".into(),
    }
}

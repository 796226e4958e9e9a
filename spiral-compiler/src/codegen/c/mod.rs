//! The C backend: prints a residual [`Program`] as one C11 file.
//!
//! # Data representation
//!
//! * Tuples and records do not exist at run time: every runtime value is a leaf held in its own
//!   C variable. A `TupleN` struct appears only where one C value must hold several leaves: the
//!   return value of a method or closure with several return leaves, and array elements whose
//!   type has several leaves.
//! * Strings are `SpiString *` (refcounted, immutable, NUL-terminated; see `prelude.h`).
//! * Arrays are `ArrayN *`: a refcount, a 32-bit length and a flexible array of elements
//!   (the leaf, or a `TupleN` of the leaves; no storage when the element has no leaves).
//! * Unions are `UnionN` structs with a tag and a C union of per-case payload structs. Stack
//!   unions are passed by value; heap unions (`union rec`) are `UnionN *` with a refcount.
//! * Layouts (`heap`, `mut`) are `LayoutN *`: a refcount and the leaves of the contents.
//! * Closures: each function type gets an abstract `FunN` struct (refcount, release function,
//!   call function); each concrete closure `ClosureN` embeds it and adds the captured leaves.
//!   Calls go through the pointer with the closure as the first argument.
//! * `main` returns `int`: the `i32` result of Spiral's `main` is the process exit code.
//!
//! # Reference counting
//!
//! Every variable bound by a statement owns one reference to its refcounted leaves; operations
//! borrow their operands, and constructors (`Box`, `LayoutNew`, `ArrayLit`, `ClosureNew`,
//! element and field writes) take ownership of a reference to what they store: the caller
//! passes a new reference (an increment, a fresh literal, or a moved dead variable). Parameters of methods and
//! closures, captured values and the payload variables of a `match` arm are borrowed. At the
//! end of a block its owned variables are released in reverse order, except a variable that
//! is returned as the block's result, whose reference moves to the receiver, and a variable
//! stored into a field or element where nothing after the store reads it (its reference moves
//! into the store). Copies and reads whose result is never used are not printed.

use crate::diagnostics::{Diagnostic, Span};
use crate::peval::ir::*;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::Backend;

/// The runtime support pasted at the top of every generated file.
pub const PRELUDE: &str = concat!(
    "#if !defined(_XOPEN_SOURCE) && !defined(__cplusplus)\n#define _XOPEN_SOURCE 700\n#endif\n",
    include_str!("../prims.h"),
    include_str!("prelude.h")
);

/// What the C printer prints: host programs (the runtime prelude, refcounted values, `main`),
/// CPU kernels (bodies over raw leaf pointers, run for one chunk of indices, failures
/// returned as a status) or CUDA kernels (the same bodies in a grid-stride loop, failures
/// written to a status in device memory). One printer of statements serves all three; the
/// dialect decides how arrays are represented and checked, and what failing means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// A whole host program (`spiral run`, `spiral build`).
    Host,
    /// CPU kernels for spiral-build: `int32_t f(int32_t __chunk_from, int32_t __chunk_to,
    /// params...)`, each array parameter as a pointer and a `size_t` length, returning 0, or 1
    /// (index out of bounds), 2 (`failwith`), 3 (integer division by zero).
    CpuKernel,
    /// CUDA kernels (`codegen::cuda`): `extern "C" __global__ void f(int32_t __len, int32_t
    /// *__status, params...)` over the same kernel bodies as [`Dialect::CpuKernel`], run for
    /// every index in `0..__len` by a grid-stride loop; a failure stores its code (the
    /// [`Dialect::CpuKernel`] codes) into `*__status` unless a code is there already, and ends
    /// the thread.
    Cuda,
    /// UPMEM DPU kernels (`codegen::upmem`): the same bodies as [`Dialect::CpuKernel`] over
    /// arrays in MRAM (`__mram_ptr` leaves, indexed locally: each DPU holds its own part of
    /// every array), as a function that `main` calls on every tasklet; see
    /// [`crate::codegen::upmem`].
    Upmem,
}

impl Dialect {
    /// Whether this is a kernel dialect (raw leaf pointers, failures as a status).
    pub fn is_kernel(self) -> bool {
        matches!(self, Dialect::CpuKernel | Dialect::Cuda | Dialect::Upmem)
    }

    /// How messages name a kernel of this dialect.
    fn kernel_noun(self) -> &'static str {
        match self {
            Dialect::Cuda => "CUDA kernel",
            Dialect::Upmem => "UPMEM kernel",
            _ => "CPU kernel",
        }
    }
}

/// A construct the kernel dialect cannot print: the message and the Spiral span of the
/// statement, when known.
pub type KernelError = (String, Span);

/// Prints the CPU kernels of a program as one C translation unit, in the [`Dialect::CpuKernel`]
/// dialect; kernel `i` is named `symbol(i)`. The unit starts with `prims.h` (no host runtime).
pub fn emit_cpu_kernels(program: &Program, symbol: &dyn Fn(usize) -> String) -> Result<String, KernelError> {
    let fns = emit_kernel_fns(program, Dialect::CpuKernel, symbol)?;
    let mut out = String::from("// Generated by Spiral (CPU kernels). Do not edit.\n#include <stdint.h>\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdlib.h>\n#include <math.h>\n");
    out.push_str(crate::codegen::c_family::PRIMS_H);
    out.push_str(&fns);
    Ok(out)
}

/// The kernel functions of a program in a kernel dialect (no file header); kernel `i` is named
/// `symbol(i)`. The first construct the dialect cannot print is the error.
pub(crate) fn emit_kernel_fns(program: &Program, dialect: Dialect, symbol: &dyn Fn(usize) -> String) -> Result<String, KernelError> {
    debug_assert!(dialect.is_kernel());
    let mut g = Gen::new(program);
    g.dialect = dialect;
    for (i, k) in program.kernels.iter().enumerate() {
        g.kernel(k, &symbol(i));
        if let Some(d) = g.errors.first() {
            return Err((d.message.clone(), d.span));
        }
    }
    Ok(g.fns)
}

/// The C backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct CBackend;

impl Backend for CBackend {
    fn name(&self) -> &'static str {
        "c"
    }
    fn file_extension(&self) -> &'static str {
        "c"
    }
    fn emit(&self, program: &Program) -> Result<String, Vec<Diagnostic>> {
        emit_c(program)
    }
}

/// Prints `program` as a C11 translation unit.
pub fn emit_c(program: &Program) -> Result<String, Vec<Diagnostic>> {
    let mut g = Gen::new(program);
    // CPU kernels become C functions in the kernel dialect; the host launches each over its
    // whole index range on the calling thread.
    if !program.kernels.is_empty() {
        match emit_cpu_kernels(program, &host_kernel_symbol) {
            Ok(text) => g.kernels = text,
            Err((msg, span)) => g.errors.push(Diagnostic::error(span, msg).with_note("reported by the C backend")),
        }
    }
    for (i, m) in program.methods.iter().enumerate() {
        g.method(i, m);
    }
    for (i, c) in program.closures.iter().enumerate() {
        g.closure(i, c);
    }
    g.main();
    if !g.errors.is_empty() {
        return Err(std::mem::take(&mut g.errors));
    }
    Ok(g.finish())
}

pub(crate) use crate::codegen::c_family::prim_cty;
use crate::codegen::c_family::{lit_c, c_string_literal, prim_expr, DivByZero};

/// Method names: the hint made into a C identifier, with the id appended after `_`, so a name
/// can never collide with a local (`vN`, `tN`), a generated type or a C keyword.
fn method_name(m: &Method, id: usize) -> String {
    let mut s: String = m.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if s.is_empty() || s == "method" {
        return format!("method{id}");
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'm');
    }
    format!("{s}_{id}")
}

/// How a type is represented, for the reference-counting decisions.
#[derive(Clone, Debug)]
struct TyInfo {
    /// The C type (e.g. `int32_t`, `Array3 *`, `Union2`).
    cty: String,
    /// The prefix of its `_incref`/`_decref` helpers, if it is refcounted.
    rc: Option<String>,
}

/// Where a block's result leaves go.
enum Dest<'x> {
    /// Assign them to these already-declared variables.
    Assign(&'x [String]),
    /// `return` them from the function (`TupleN` when several).
    Return(&'x [Ty]),
    /// `main`: return the `i32` leaf, or 0.
    MainReturn,
}

/// One function body being printed.
struct FnCtx {
    out: String,
    indent: usize,
    temps: u32,
    /// Variables read somewhere in this body (by id).
    used: HashSet<u32>,
    /// Owned refcounted variables per open block: (C name, helper prefix).
    scopes: Vec<Vec<(String, String)>>,
    /// Per open block: how many reads of each variable are still to come in that block after
    /// the statement being printed (nested blocks and the result included).
    /// For every variable of the function: the index, in the block that declares it, of the
    /// last statement that reads it (nested reads count for their enclosing statement; the
    /// block's result counts as index `stmts.len()`). Computed once per function body.
    last_use: HashMap<u32, usize>,
    /// The index of the statement being printed, per block being printed (innermost last).
    cur: Vec<usize>,
}

impl FnCtx {
    fn new(used: HashSet<u32>) -> FnCtx {
        FnCtx { out: String::new(), indent: 1, temps: 0, used, scopes: Vec::new(), last_use: HashMap::new(), cur: Vec::new() }
    }
    fn line(&mut self, s: &str) {
        for _ in 0..self.indent.min(crate::codegen::MAX_INDENT) {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }
    /// Whether `v` is owned by the innermost block and read nowhere after the current
    /// statement: its reference can then move into a store instead of being copied. Moving
    /// removes it from the block's owned list.
    fn take_if_dead(&mut self, v: &Var) -> bool {
        let name = format!("v{}", v.id);
        let dead = self.cur.last().is_some_and(|&i| self.last_use.get(&v.id).is_none_or(|&u| u <= i));
        let Some(scope) = self.scopes.last_mut() else { return false };
        match scope.iter().position(|(n, _)| *n == name) {
            Some(i) if dead => {
                scope.remove(i);
                true
            }
            _ => false,
        }
    }
    fn temp(&mut self) -> String {
        let t = format!("t{}", self.temps);
        self.temps += 1;
        t
    }
}

/// The code generator's state: memoised type definitions and the printed sections.
struct Gen<'p> {
    prog: &'p Program,
    /// Host program, CPU kernels or CUDA kernels.
    dialect: Dialect,
    /// In a kernel: which array accesses the check before the loop covers.
    bounds: crate::codegen::kernel_bounds::KernelBounds,
    /// In a kernel: the `chunk_set` arrays whose owned range is computed at the top of the
    /// loop body (see [`crate::codegen::kernel_bounds::owned_ranges`]).
    owned_ranges: std::collections::BTreeSet<(u32, Atom)>,
    /// In a CUDA block kernel (one that uses `Expr::Gpu`): a failure records its status and the
    /// thread goes on with a harmless value (a guarded access, a divisor of 1) instead of
    /// returning, so every thread of the block still reaches its barriers and shuffles.
    block_kernel: bool,
    /// In an UPMEM kernel: the variables that point into MRAM (array parameters and their
    /// copies), declared `__mram_ptr`.
    mram_vars: HashSet<u32>,
    /// The Spiral span of the statement being printed (errors are reported there).
    cur_span: Span,
    types: &'p Types,
    infos: HashMap<Ty, TyInfo>,
    tuples: HashMap<Vec<Ty>, String>,
    funs: HashMap<Ty, String>,
    counter: HashMap<&'static str, u32>,
    stack_unions_in_progress: HashSet<u32>,
    fwd: String,
    structs: String,
    helper_protos: String,
    helpers: String,
    fn_protos: String,
    /// The program's CPU kernels, printed in the kernel dialect (host dialect only).
    kernels: String,
    fns: String,
    main_fn: String,
    errors: Vec<Diagnostic>,
}

impl<'p> Gen<'p> {
    fn new(prog: &'p Program) -> Gen<'p> {
        Gen {
            dialect: Dialect::Host,
            bounds: Default::default(),
            owned_ranges: Default::default(),
            block_kernel: false,
            mram_vars: HashSet::new(),
            cur_span: Span::default(),
            prog,
            types: &prog.types,
            infos: HashMap::new(),
            tuples: HashMap::new(),
            funs: HashMap::new(),
            counter: HashMap::new(),
            stack_unions_in_progress: HashSet::new(),
            fwd: String::new(),
            structs: String::new(),
            helper_protos: String::new(),
            helpers: String::new(),
            fn_protos: String::new(),
            kernels: String::new(),
            fns: String::new(),
            main_fn: String::new(),
            errors: Vec::new(),
        }
    }

    fn error(&mut self, msg: String) {
        let d = Diagnostic::error(self.cur_span, msg).with_note("reported by the C backend");
        if !self.errors.contains(&d) {
            self.errors.push(d);
        }
    }

    fn fresh(&mut self, kind: &'static str) -> String {
        let n = self.counter.entry(kind).or_insert(0);
        let s = format!("{kind}{n}");
        *n += 1;
        s
    }

    fn finish(self) -> String {
        let mut s = String::new();
        s.push_str(PRELUDE);
        s.push_str(&self.kernels);
        for g in &self.prog.globals {
            s.push_str(g);
            s.push('\n');
        }
        for part in [&self.fwd, &self.structs, &self.helper_protos, &self.fn_protos, &self.helpers, &self.fns, &self.main_fn] {
            if !part.is_empty() {
                s.push_str(part);
            }
        }
        s
    }

    // ---------------------------------------------------------------- types

    fn leaves(&self, t: &Ty) -> Vec<Ty> {
        self.types.leaves(t)
    }

    /// The C type of a leaf inside a kernel: primitives, and arrays of one primitive leaf as
    /// a raw pointer (their length is a separate `size_t vN_len`); nothing is refcounted.
    fn kernel_info(&mut self, t: &Ty) -> TyInfo {
        let noun = self.dialect.kernel_noun();
        match t {
            Ty::Prim(PrimTy::String) => {
                self.error(format!("strings are not supported inside a {noun}"));
                TyInfo { cty: "int".into(), rc: None }
            }
            Ty::Prim(p) => TyInfo { cty: prim_cty(*p).into(), rc: None },
            Ty::Array(el) => match self.leaves(el).as_slice() {
                [Ty::Prim(p)] if *p != PrimTy::String => TyInfo { cty: format!("{} *", prim_cty(*p)), rc: None },
                _ => {
                    self.error(format!("a {noun} takes arrays of primitives (use inverse arrays for tuples)"));
                    TyInfo { cty: "int".into(), rc: None }
                }
            },
            other => {
                let shown = self.types.show(other);
                self.error(format!("`{shown}` cannot be used inside a {noun}"));
                TyInfo { cty: "int".into(), rc: None }
            }
        }
    }

    fn info(&mut self, t: &Ty) -> TyInfo {
        if let Some(i) = self.infos.get(t) {
            return i.clone();
        }
        if self.dialect.is_kernel() {
            let info = self.kernel_info(t);
            self.infos.insert(t.clone(), info.clone());
            return info;
        }
        let info = match t {
            Ty::Prim(PrimTy::String) => TyInfo { cty: "SpiString *".into(), rc: Some("SpiString".into()) },
            Ty::Prim(p) => TyInfo { cty: prim_cty(*p).into(), rc: None },
            Ty::Macro(parts) => {
                let parts = parts.clone();
                TyInfo { cty: self.macro_type_text(&parts), rc: None }
            }
            Ty::Array(el) => {
                let name = self.fresh("Array");
                let info = TyInfo { cty: format!("{name} *"), rc: Some(name.clone()) };
                self.infos.insert(t.clone(), info.clone());
                self.define_array(&name, el);
                return info;
            }
            Ty::Layout(_, inner) => {
                let name = self.fresh("Layout");
                let info = TyInfo { cty: format!("{name} *"), rc: Some(name.clone()) };
                self.infos.insert(t.clone(), info.clone());
                self.define_layout(&name, inner);
                return info;
            }
            Ty::Fun(a, b) => {
                let name = self.fresh("Fun");
                let info = TyInfo { cty: format!("{name} *"), rc: Some(name.clone()) };
                self.infos.insert(t.clone(), info.clone());
                self.funs.insert(t.clone(), name.clone());
                let (a, b) = ((**a).clone(), (**b).clone());
                self.define_fun(&name, &a, &b);
                return info;
            }
            Ty::Union(i) => {
                let i = *i;
                let Some(def) = self.types.unions.get(i as usize) else {
                    self.error(format!("internal: union #{i} is not in the type table"));
                    return TyInfo { cty: "int".into(), rc: None };
                };
                let name = format!("Union{i}");
                if def.heap {
                    let info = TyInfo { cty: format!("{name} *"), rc: Some(name.clone()) };
                    self.infos.insert(t.clone(), info.clone());
                    self.define_union(&name, i, true);
                    info
                } else {
                    // A stack union is refcounted when one of its payload leaves is; decide that
                    // before defining it. A stack union cannot contain itself by value.
                    if !self.stack_unions_in_progress.insert(i) {
                        self.error(format!(
                            "the union `{}` contains itself by value; a recursive union must be a heap union (`union rec`)",
                            def.name
                        ));
                        return TyInfo { cty: "int".into(), rc: None };
                    }
                    let def = def.clone();
                    let mut rc = false;
                    for (_, pt) in &def.cases {
                        for l in self.leaves(pt) {
                            if self.info(&l).rc.is_some() {
                                rc = true;
                            }
                        }
                    }
                    let info = TyInfo { cty: name.clone(), rc: if rc { Some(name.clone()) } else { None } };
                    self.infos.insert(t.clone(), info.clone());
                    self.define_union(&name, i, false);
                    self.stack_unions_in_progress.remove(&i);
                    return info;
                }
            }
            Ty::Nominal(_) | Ty::Pair(..) | Ty::Record(_) | Ty::Unit | Ty::Symbol(_) | Ty::TypeLit(_) | Ty::Con(..) => {
                let ls = self.leaves(t);
                if ls.len() == 1 {
                    return self.info(&ls[0]);
                }
                self.error(format!("internal: `{}` is not a leaf type", self.types.show(t)));
                TyInfo { cty: "int".into(), rc: None }
            }
        };
        self.infos.insert(t.clone(), info.clone());
        info
    }

    fn cty(&mut self, t: &Ty) -> String {
        self.info(t).cty
    }

    fn macro_type_text(&mut self, parts: &[MacroPart]) -> String {
        let mut s = String::new();
        for p in parts {
            match p {
                MacroPart::Text(x) => s.push_str(x),
                MacroPart::TypeLit(x) => s.push_str(x),
                MacroPart::Type(t) => {
                    let c = self.tup_cty(t);
                    s.push_str(&c);
                }
                MacroPart::Atom(a) => s.push_str(&self.atom_plain(a)),
            }
        }
        s
    }

    /// The C type a `` `t `` splice in a macro stands for: the type of all of `t`'s runtime leaves
    /// in one value (`void`, the leaf itself, or a `TupleN` struct), so tuple and record types
    /// can be macro arguments.
    fn tup_cty(&mut self, t: &Ty) -> String {
        let ls = self.leaves(t);
        self.multi_cty(&ls)
    }

    /// The C type holding all of `leaves` in one value: `void`, the leaf, or a `TupleN`.
    fn multi_cty(&mut self, leaves: &[Ty]) -> String {
        match leaves.len() {
            0 => "void".into(),
            1 => self.cty(&leaves[0]),
            _ => self.tuple(leaves),
        }
    }

    fn tuple(&mut self, leaves: &[Ty]) -> String {
        if let Some(n) = self.tuples.get(leaves) {
            return n.clone();
        }
        let name = self.fresh("Tuple");
        self.tuples.insert(leaves.to_vec(), name.clone());
        let fields: Vec<String> = leaves.iter().map(|l| self.cty(l)).collect();
        let _ = writeln!(self.fwd, "typedef struct {name} {name};");
        let mut s = format!("struct {name} {{\n");
        for (i, f) in fields.iter().enumerate() {
            let _ = writeln!(s, "    {f} f{i};");
        }
        s.push_str("};\n");
        self.structs.push_str(&s);
        name
    }

    fn define_array(&mut self, name: &str, el: &Ty) {
        let leaves = self.leaves(el);
        let ecty = self.multi_cty(&leaves);
        let _ = writeln!(self.fwd, "typedef struct {name} {name};");
        let mut s = format!("struct {name} {{\n    int32_t refc;\n    uint32_t len;\n");
        if !leaves.is_empty() {
            let _ = writeln!(s, "    {ecty} ptr[];");
        }
        s.push_str("};\n");
        self.structs.push_str(&s);
        let esize = if leaves.is_empty() { "0".to_string() } else { format!("sizeof({ecty})") };
        self.proto(&format!("SPI_FN {name} * {name}_new(int64_t len)"));
        self.proto(&format!("SPI_FN void {name}_incref({name} * x)"));
        self.proto(&format!("SPI_FN void {name}_decref({name} * x)"));
        let mut h = String::new();
        let _ = write!(
            h,
            "SPI_FN {name} * {name}_new(int64_t len){{\n    uint32_t n = spi_length(len);\n    {name} * x = ({name} *)spi_alloc(sizeof({name}) + {esize} * (size_t)n);\n    x->refc = 1;\n    x->len = n;\n    return x;\n}}\n"
        );
        let _ = write!(h, "SPI_FN void {name}_incref({name} * x){{\n    if (x != NULL) {{ x->refc++; }}\n}}\n");
        let mut body = String::new();
        for (i, l) in leaves.iter().enumerate() {
            if let Some(rc) = self.info(l).rc {
                let field = if leaves.len() == 1 { String::new() } else { format!(".f{i}") };
                let _ = writeln!(body, "        {rc}_decref(x->ptr[i]{field});");
            }
        }
        if body.is_empty() {
            let _ = write!(h, "SPI_FN void {name}_decref({name} * x){{\n    if (x != NULL && --(x->refc) == 0) {{\n        spi_free(x);\n    }}\n}}\n");
        } else {
            let _ = write!(
                h,
                "static void {name}_release(void * p){{\n    {name} * x = ({name} *)p;\n    for (uint32_t i = 0; i < x->len; i++) {{\n{body}    }}\n    spi_free(x);\n}}\n"
            );
            let _ = write!(h, "SPI_FN void {name}_decref({name} * x){{\n    if (x != NULL && --(x->refc) == 0) {{ spi_release_later(x, {name}_release); }}\n}}\n");
        }
        self.helpers.push_str(&h);
    }

    fn define_layout(&mut self, name: &str, inner: &Ty) {
        let leaves = self.leaves(inner);
        let infos: Vec<TyInfo> = leaves.iter().map(|l| self.info(l)).collect();
        let _ = writeln!(self.fwd, "typedef struct {name} {name};");
        let mut s = format!("struct {name} {{\n    int32_t refc;\n");
        for (i, f) in infos.iter().enumerate() {
            let _ = writeln!(s, "    {} f{i};", f.cty);
        }
        s.push_str("};\n");
        self.structs.push_str(&s);
        let params: Vec<String> = infos.iter().enumerate().map(|(i, f)| format!("{} f{i}", f.cty)).collect();
        let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
        self.proto(&format!("SPI_FN {name} * {name}_new({params})"));
        self.proto(&format!("SPI_FN void {name}_incref({name} * x)"));
        self.proto(&format!("SPI_FN void {name}_decref({name} * x)"));
        let mut h = format!("SPI_FN {name} * {name}_new({params}){{\n    {name} * x = ({name} *)spi_alloc(sizeof({name}));\n    x->refc = 1;\n");
        for i in 0..infos.len() {
            let _ = writeln!(h, "    x->f{i} = f{i};");
        }
        h.push_str("    return x;\n}\n");
        let _ = write!(h, "SPI_FN void {name}_incref({name} * x){{\n    if (x != NULL) {{ x->refc++; }}\n}}\n");
        let mut body = String::new();
        for (i, f) in infos.iter().enumerate() {
            if let Some(rc) = &f.rc {
                let _ = writeln!(body, "    {rc}_decref(x->f{i});");
            }
        }
        release_helpers(&mut h, name, &format!("{name} *"), &body);
        self.helpers.push_str(&h);
    }

    fn define_fun(&mut self, name: &str, a: &Ty, b: &Ty) {
        let params = self.leaves(a);
        let rets = self.leaves(b);
        let pc: Vec<String> = params.iter().map(|p| self.cty(p)).collect();
        let rc = self.multi_cty(&rets);
        let _ = writeln!(self.fwd, "typedef struct {name} {name};");
        let mut args = format!("{name} *");
        for p in &pc {
            args.push_str(", ");
            args.push_str(p);
        }
        let _ = write!(
            self.structs,
            "struct {name} {{\n    int32_t refc;\n    void (*release)({name} *);\n    {rc} (*call)({args});\n}};\n"
        );
        self.proto(&format!("SPI_FN void {name}_incref({name} * x)"));
        self.proto(&format!("SPI_FN void {name}_decref({name} * x)"));
        let _ = write!(
            self.helpers,
            "SPI_FN void {name}_incref({name} * x){{\n    if (x != NULL) {{ x->refc++; }}\n}}\nstatic void {name}_release(void * p){{\n    {name} * x = ({name} *)p;\n    x->release(x);\n}}\nSPI_FN void {name}_decref({name} * x){{\n    if (x != NULL && --(x->refc) == 0) {{ spi_release_later(x, {name}_release); }}\n}}\n"
        );
    }

    fn define_union(&mut self, name: &str, idx: u32, heap: bool) {
        let def = self.types.unions[idx as usize].clone();
        let _ = writeln!(self.fwd, "typedef struct {name} {name};");
        let cases: Vec<Vec<TyInfo>> = def
            .cases
            .iter()
            .map(|(_, t)| {
                let ls = self.leaves(t);
                ls.iter().map(|l| self.info(l)).collect()
            })
            .collect();
        let mut s = format!("struct {name} {{ /* {} */\n", def.name.replace("*/", "* /"));
        if heap {
            s.push_str("    int32_t refc;\n");
        }
        s.push_str("    uint32_t tag;\n");
        if cases.iter().any(|c| !c.is_empty()) {
            s.push_str("    union {\n");
            for (ci, c) in cases.iter().enumerate() {
                if c.is_empty() {
                    continue;
                }
                s.push_str("        struct {");
                for (fi, f) in c.iter().enumerate() {
                    let _ = write!(s, " {} f{fi};", f.cty);
                }
                let _ = writeln!(s, " }} c{ci}; /* {} */", def.cases[ci].0.replace("*/", "* /"));
            }
            s.push_str("    };\n");
        }
        s.push_str("};\n");
        self.structs.push_str(&s);
        let (ty, acc, ret_ty) = if heap { (format!("{name} *"), "->", format!("{name} *")) } else { (name.to_string(), ".", name.to_string()) };
        // Constructors, one per case.
        for (ci, c) in cases.iter().enumerate() {
            let params: Vec<String> = c.iter().enumerate().map(|(i, f)| format!("{} f{i}", f.cty)).collect();
            let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
            self.proto(&format!("SPI_FN {ret_ty} {name}_case{ci}({params})"));
            let mut h = format!("SPI_FN {ret_ty} {name}_case{ci}({params}){{\n");
            if heap {
                let _ = writeln!(h, "    {name} * x = ({name} *)spi_alloc(sizeof({name}));\n    x->refc = 1;");
            } else {
                let _ = writeln!(h, "    {name} x;\n    memset(&x, 0, sizeof(x));");
            }
            let _ = writeln!(h, "    x{acc}tag = {ci};");
            for fi in 0..c.len() {
                let _ = writeln!(h, "    x{acc}c{ci}.f{fi} = f{fi};");
            }
            h.push_str("    return x;\n}\n");
            self.helpers.push_str(&h);
        }
        let mut release = String::new();
        for (ci, c) in cases.iter().enumerate() {
            let mut arm = String::new();
            for (fi, f) in c.iter().enumerate() {
                if let Some(rc) = &f.rc {
                    let _ = write!(arm, " {rc}_decref(x{acc}c{ci}.f{fi});");
                }
            }
            if !arm.is_empty() {
                let _ = writeln!(release, "{}case {ci}:{arm} break;", if heap { "    " } else { "        " });
            }
        }
        if heap {
            self.proto(&format!("SPI_FN void {name}_incref({ty} x)"));
            self.proto(&format!("SPI_FN void {name}_decref({ty} x)"));
            let _ = write!(self.helpers, "SPI_FN void {name}_incref({ty} x){{\n    if (x != NULL) {{ x->refc++; }}\n}}\n");
            let body = if release.is_empty() { String::new() } else { format!("    switch (x->tag) {{\n{release}    default: break;\n    }}\n") };
            let mut h = String::new();
            release_helpers(&mut h, name, &ty, &body);
            self.helpers.push_str(&h);
        } else if !release.is_empty() {
            let mut acquire = String::new();
            for (ci, c) in cases.iter().enumerate() {
                let mut arm = String::new();
                for (fi, f) in c.iter().enumerate() {
                    if let Some(rc) = &f.rc {
                        let _ = write!(arm, " {rc}_incref(x.c{ci}.f{fi});");
                    }
                }
                if !arm.is_empty() {
                    let _ = writeln!(acquire, "        case {ci}:{arm} break;");
                }
            }
            self.proto(&format!("SPI_FN void {name}_incref({ty} x)"));
            self.proto(&format!("SPI_FN void {name}_decref({ty} x)"));
            let _ = write!(
                self.helpers,
                "SPI_FN void {name}_incref({ty} x){{\n    switch (x.tag) {{\n{acquire}        default: break;\n    }}\n}}\nSPI_FN void {name}_decref({ty} x){{\n    switch (x.tag) {{\n{release}        default: break;\n    }}\n}}\n"
            );
        }
    }

    fn proto(&mut self, sig: &str) {
        self.helper_protos.push_str(sig);
        self.helper_protos.push_str(";\n");
    }

    // ---------------------------------------------------------------- atoms

    /// The primitive leaf of an array atom's elements, when it has exactly one.
    fn array_leaf(&self, array: &Atom) -> Option<PrimTy> {
        match Self::atom_ty(array) {
            Ty::Array(el) => match self.leaves(&el).as_slice() {
                [Ty::Prim(p)] => Some(*p),
                _ => None,
            },
            _ => None,
        }
    }

    fn atom_ty(a: &Atom) -> Ty {
        match a {
            Atom::Var(v) => v.ty.clone(),
            Atom::Lit(l) => Ty::Prim(l.ty()),
        }
    }

    /// An atom as a C expression, with no allocation (string literals become C strings; only
    /// used inside macro types).
    fn atom_plain(&self, a: &Atom) -> String {
        match a {
            Atom::Var(v) => format!("v{}", v.id),
            Atom::Lit(Lit::String(s)) => c_string_literal(s),
            Atom::Lit(l) => lit_c(l),
        }
    }

    /// An atom as a borrowed C expression inside statement `f`. String literals are first
    /// materialised into a temporary that `post` releases after the statement.
    fn atom(&mut self, f: &mut FnCtx, a: &Atom, post: &mut Vec<String>) -> String {
        match a {
            Atom::Var(v) => format!("v{}", v.id),
            Atom::Lit(l @ Lit::String(_)) => {
                let t = f.temp();
                f.line(&format!("SpiString * {t} = {};", lit_c(l)));
                post.push(format!("SpiString_decref({t});"));
                t
            }
            Atom::Lit(l) => lit_c(l),
        }
    }

    /// An atom as a new (owned) reference: literals are created, variables are incref'd.
    fn atom_owned(&mut self, f: &mut FnCtx, a: &Atom) -> String {
        match a {
            Atom::Var(v) => {
                let name = format!("v{}", v.id);
                if let Some(rc) = self.info(&v.ty).rc {
                    f.line(&format!("{rc}_incref({name});"));
                }
                name
            }
            Atom::Lit(l) => lit_c(l),
        }
    }

    /// An atom as a reference to store into a field or element: a dead owned variable moves
    /// its reference; anything else is copied as by [`Gen::atom_owned`].
    fn atom_store(&mut self, f: &mut FnCtx, a: &Atom) -> String {
        if let Atom::Var(v) = a {
            if self.info(&v.ty).rc.is_some() && f.take_if_dead(v) {
                return format!("v{}", v.id);
            }
        }
        self.atom_owned(f, a)
    }

    // ---------------------------------------------------------------- functions

    fn method(&mut self, id: usize, m: &'p Method) {
        let name = method_name(m, id);
        let ret = self.multi_cty(&m.ret);
        let params: Vec<String> = m.params.iter().map(|p| format!("{} v{}", self.cty(&p.ty), p.id)).collect();
        let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
        let sig = format!("{ret} {name}({params})");
        let _ = writeln!(self.fn_protos, "{sig};");
        let mut used = HashSet::new();
        collect_used_block(&m.body, &mut used);
        let mut f = FnCtx::new(used);
        for p in &m.params {
            if !f.used.contains(&p.id) {
                f.line(&format!("(void)v{};", p.id));
            }
        }
        self.block(&mut f, &m.body, Dest::Return(&m.ret));
        let _ = write!(self.fns, "{sig}{{\n{}}}\n", f.out);
    }

    fn closure(&mut self, id: usize, c: &'p Closure) {
        let fun = self.info(&c.ty).rc.unwrap_or_default();
        let Ty::Fun(..) = &c.ty else {
            self.error(format!("internal: closure {id} does not have a function type"));
            return;
        };
        let name = format!("Closure{id}");
        let ret = self.multi_cty(&c.ret);
        let caps: Vec<TyInfo> = c.captured.iter().map(|v| self.info(&v.ty)).collect();
        let _ = writeln!(self.fwd, "typedef struct {name} {name};");
        let mut s = format!("struct {name} {{\n    {fun} base;\n");
        for (i, ci) in caps.iter().enumerate() {
            let _ = writeln!(s, "    {} c{i};", ci.cty);
        }
        s.push_str("};\n");
        self.structs.push_str(&s);
        let mut params = format!("{fun} * self_");
        for p in &c.params {
            let _ = write!(params, ", {} v{}", self.cty(&p.ty), p.id);
        }
        let call_sig = format!("{ret} closure{id}_call({params})");
        let release_sig = format!("void closure{id}_release({fun} * self_)");
        let cparams: Vec<String> = caps.iter().enumerate().map(|(i, ci)| format!("{} c{i}", ci.cty)).collect();
        let cparams = if cparams.is_empty() { "void".to_string() } else { cparams.join(", ") };
        let new_sig = format!("{fun} * closure{id}_new({cparams})");
        let _ = writeln!(self.fn_protos, "{call_sig};\n{release_sig};\n{new_sig};");
        // new
        let mut body = format!("    {name} * x = ({name} *)spi_alloc(sizeof({name}));\n    x->base.refc = 1;\n    x->base.release = closure{id}_release;\n    x->base.call = closure{id}_call;\n");
        for i in 0..caps.len() {
            let _ = writeln!(body, "    x->c{i} = c{i};");
        }
        body.push_str("    return &x->base;\n");
        let _ = write!(self.fns, "{new_sig}{{\n{body}}}\n");
        // release
        let mut body = format!("    {name} * x = ({name} *)self_;\n");
        for (i, ci) in caps.iter().enumerate() {
            if let Some(rc) = &ci.rc {
                let _ = writeln!(body, "    {rc}_decref(x->c{i});");
            }
        }
        body.push_str("    spi_free(x);\n");
        let _ = write!(self.fns, "{release_sig}{{\n{body}}}\n");
        // call
        let mut used = HashSet::new();
        collect_used_block(&c.body, &mut used);
        let mut f = FnCtx::new(used);
        if !c.captured.is_empty() {
            f.line(&format!("{name} * self = ({name} *)self_;"));
            for (i, v) in c.captured.iter().enumerate() {
                let line = format!("{} v{} = self->c{i};", caps[i].cty, v.id);
                f.line(&line);
                if !f.used.contains(&v.id) {
                    f.line(&format!("(void)v{};", v.id));
                }
            }
        } else {
            f.line("(void)self_;");
        }
        for p in &c.params {
            if !f.used.contains(&p.id) {
                f.line(&format!("(void)v{};", p.id));
            }
        }
        self.block(&mut f, &c.body, Dest::Return(&c.ret));
        let _ = write!(self.fns, "{call_sig}{{\n{}}}\n", f.out);
    }

    fn main(&mut self) {
        let mut used = HashSet::new();
        collect_used_block(&self.prog.main, &mut used);
        let mut f = FnCtx::new(used);
        if self.prog.main_ret.len() > 1 || self.prog.main_ret.iter().any(|t| !matches!(t, Ty::Prim(p) if p.is_int())) {
            let shown: Vec<String> = self.prog.main_ret.iter().map(|t| self.types.show(t)).collect();
            self.error(format!(
                "`main` must return `i32` (the process exit code) or `()` under the C backend, but it returns `{}`",
                shown.join(" * ")
            ));
        }
        self.block(&mut f, &self.prog.main, Dest::MainReturn);
        let _ = write!(self.main_fn, "int main(void){{\n    spi_install_stack_guard();\n{}}}\n", f.out);
    }

    // ---------------------------------------------------------------- blocks

    fn block(&mut self, f: &mut FnCtx, b: &Block, dest: Dest) {
        f.scopes.push(Vec::new());
        if f.cur.is_empty() {
            // A function's body: one pass finds every variable's last use (linear in the
            // body, however deeply its blocks nest).
            f.last_use.clear();
            last_uses(b, &mut Vec::new(), &mut HashMap::new(), &mut f.last_use);
        }
        f.cur.push(0);
        for (i, st) in b.stmts.iter().enumerate() {
            *f.cur.last_mut().unwrap() = i;
            self.stmt(f, st);
        }
        f.cur.pop();
        // Results: moved out of owned variables when possible, otherwise new references.
        let mut moved: HashSet<String> = HashSet::new();
        let mut exprs = Vec::new();
        for a in &b.result {
            let e = match a {
                Atom::Var(v) => {
                    let name = format!("v{}", v.id);
                    let owned_here = f.scopes.last().unwrap().iter().any(|(n, _)| *n == name);
                    if owned_here && !moved.contains(&name) {
                        moved.insert(name.clone());
                        name
                    } else {
                        self.atom_owned(f, a)
                    }
                }
                Atom::Lit(_) => self.atom_owned(f, a),
            };
            exprs.push(e);
        }
        let release = |f: &mut FnCtx, moved: &HashSet<String>| {
            let owned = f.scopes.pop().unwrap();
            for (name, rc) in owned.iter().rev() {
                if !moved.contains(name) {
                    f.line(&format!("{rc}_decref({name});"));
                }
            }
        };
        match dest {
            Dest::Assign(names) => {
                for (n, e) in names.iter().zip(&exprs) {
                    f.line(&format!("{n} = {e};"));
                }
                release(f, &moved);
            }
            Dest::Return(rets) => {
                // With nothing left to release, return the value directly.
                let nothing_to_release = f.scopes.last().unwrap().iter().all(|(n, _)| moved.contains(n));
                match exprs.len() {
                    0 => release(f, &moved),
                    1 if nothing_to_release => {
                        release(f, &moved);
                        f.line(&format!("return {};", exprs[0]));
                    }
                    1 => {
                        let t = f.temp();
                        let cty = self.cty(&rets[0]);
                        f.line(&format!("{cty} {t} = {};", exprs[0]));
                        release(f, &moved);
                        f.line(&format!("return {t};"));
                    }
                    _ => {
                        let tup = self.tuple(rets);
                        let fields: Vec<String> = exprs.iter().enumerate().map(|(i, e)| format!(".f{i} = {e}")).collect();
                        if nothing_to_release {
                            release(f, &moved);
                            f.line(&format!("return ({tup}){{ {} }};", fields.join(", ")));
                        } else {
                            let t = f.temp();
                            f.line(&format!("{tup} {t} = {{ {} }};", fields.join(", ")));
                            release(f, &moved);
                            f.line(&format!("return {t};"));
                        }
                    }
                }
            }
            Dest::MainReturn => {
                let code = exprs.first().map(|c| format!("(int){c}")).unwrap_or_else(|| "0".into());
                if f.scopes.last().unwrap().iter().all(|(n, _)| moved.contains(n)) {
                    release(f, &moved);
                    f.line(&format!("return {code};"));
                } else {
                    let t = f.temp();
                    f.line(&format!("int {t} = {code};"));
                    release(f, &moved);
                    f.line(&format!("return {t};"));
                }
            }
        }
    }

    /// Declares the statement's variables (zero-initialised) and returns their names.
    fn declare(&mut self, f: &mut FnCtx, vars: &[Var]) -> Vec<String> {
        let mut names = Vec::new();
        for v in vars {
            let info = self.info(&v.ty);
            let name = format!("v{}", v.id);
            let init = if info.cty.ends_with('*') {
                "NULL"
            } else if matches!(v.ty, Ty::Union(_) | Ty::Macro(_)) {
                "{0}"
            } else {
                "0"
            };
            f.line(&format!("{} {name} = {init};", info.cty));
            names.push(name);
        }
        names
    }

    /// Records ownership of the statement's refcounted variables and silences unused ones.
    fn bound(&mut self, f: &mut FnCtx, vars: &[Var], owned: bool) {
        for v in vars {
            let info = self.info(&v.ty);
            match info.rc {
                Some(rc) if owned => f.scopes.last_mut().unwrap().push((format!("v{}", v.id), rc)),
                _ => {
                    if !f.used.contains(&v.id) {
                        f.line(&format!("(void)v{};", v.id));
                    }
                }
            }
        }
    }

    /// `T vN = expr;` for a single-leaf statement.
    fn bind1(&mut self, f: &mut FnCtx, vars: &[Var], expr: String) {
        match vars.first() {
            Some(v) => {
                let cty = self.cty(&v.ty);
                f.line(&format!("{cty} v{} = {expr};", v.id));
            }
            None => f.line(&format!("(void)({expr});")),
        }
    }

    /// Binds `vars` to the leaves of a `one`-typed C value `expr` holding `rets`.
    fn bind_multi(&mut self, f: &mut FnCtx, vars: &[Var], rets: &[Ty], expr: String) {
        match rets.len() {
            0 => f.line(&format!("{expr};")),
            1 => self.bind1(f, vars, expr),
            _ => {
                let tup = self.tuple(rets);
                let t = f.temp();
                f.line(&format!("{tup} {t} = {expr};"));
                for (i, v) in vars.iter().enumerate() {
                    let cty = self.cty(&v.ty);
                    f.line(&format!("{cty} v{} = {t}.f{i};", v.id));
                }
            }
        }
    }

    fn stmt(&mut self, f: &mut FnCtx, st: &Stmt) {
        self.cur_span = st.span;
        let mut post = Vec::new();
        // Copies and reads whose result is never used are not printed at all: nothing to
        // declare, no reference to take and release (an array read keeps its bounds check).
        let pure_read = matches!(st.expr, Expr::Atoms(_) | Expr::LayoutGet { .. } | Expr::ArrayGet { .. });
        let skipped: Vec<&Var> = if pure_read { st.vars.iter().filter(|v| !f.used.contains(&v.id)).collect() } else { Vec::new() };
        if self.dialect.is_kernel() && self.kernel_stmt(f, st, &mut post) {
            // A kernel-local box is its leaves' locals, not a value to bind.
            if !matches!(st.expr, Expr::LayoutNew { .. }) {
                self.bound(f, &st.vars, true);
            }
            for p in post {
                f.line(&p);
            }
            return;
        }
        match &st.expr {
            Expr::Atoms(xs) => {
                for (v, a) in st.vars.iter().zip(xs) {
                    if skipped.contains(&v) {
                        continue;
                    }
                    let e = self.atom_owned(f, a);
                    let cty = self.cty(&v.ty);
                    f.line(&format!("{cty} v{} = {e};", v.id));
                }
            }
            Expr::Prim(op, args) => {
                let e = self.prim(f, op, args, st.vars.first().map(|v| &v.ty), &mut post);
                self.bind1(f, &st.vars, e);
            }
            Expr::If { cond, then, els } => {
                let names = self.declare(f, &st.vars);
                let c = self.atom(f, cond, &mut post);
                f.line(&format!("if ({c}) {{"));
                f.indent += 1;
                self.block(f, then, Dest::Assign(&names));
                f.indent -= 1;
                f.line("} else {");
                f.indent += 1;
                self.block(f, els, Dest::Assign(&names));
                f.indent -= 1;
                f.line("}");
            }
            Expr::While { cond, body } => {
                f.line("while (true) {");
                f.indent += 1;
                let t = f.temp();
                f.line(&format!("bool {t} = false;"));
                f.line("{");
                f.indent += 1;
                self.block(f, cond, Dest::Assign(std::slice::from_ref(&t)));
                f.indent -= 1;
                f.line("}");
                f.line(&format!("if (!{t}) {{ break; }}"));
                f.line("{");
                f.indent += 1;
                self.block(f, body, Dest::Assign(&[]));
                f.indent -= 1;
                f.line("}");
                f.indent -= 1;
                f.line("}");
            }
            Expr::Call { method, args } => {
                let Some(m) = self.prog.methods.get(*method as usize) else {
                    self.error(format!("internal: call of missing method {method}"));
                    return;
                };
                let name = method_name(m, *method as usize);
                let args: Vec<String> = args.iter().map(|a| self.atom(f, a, &mut post)).collect();
                let rets = m.ret.clone();
                self.bind_multi(f, &st.vars, &rets, format!("{name}({})", args.join(", ")));
            }
            Expr::Box { union, case, args } => {
                let name = self.info(&Ty::Union(*union));
                let args: Vec<String> = args.iter().map(|a| self.atom_store(f, a)).collect();
                let base = name.cty.trim_end_matches(" *").to_string();
                self.bind1(f, &st.vars, format!("{base}_case{case}({})", args.join(", ")));
            }
            Expr::Match { scrut, arms, default } => {
                let names = self.declare(f, &st.vars);
                let s = self.atom(f, scrut, &mut post);
                let sty = Self::atom_ty(scrut);
                let heap = matches!(&sty, Ty::Union(i) if self.types.unions.get(*i as usize).is_some_and(|u| u.heap));
                let acc = if heap { "->" } else { "." };
                f.line(&format!("switch ({s}{acc}tag) {{"));
                for arm in arms {
                    f.line(&format!("case {}: {{", arm.case));
                    f.indent += 1;
                    for (i, v) in arm.vars.iter().enumerate() {
                        let cty = self.cty(&v.ty);
                        f.line(&format!("{cty} v{} = {s}{acc}c{}.f{i};", v.id, arm.case));
                    }
                    f.scopes.push(Vec::new());
                    self.bound(f, &arm.vars, false);
                    f.scopes.pop();
                    self.block(f, &arm.body, Dest::Assign(&names));
                    f.line("break;");
                    f.indent -= 1;
                    f.line("}");
                }
                f.line("default: {");
                f.indent += 1;
                match default {
                    Some(d) => self.block(f, d, Dest::Assign(&names)),
                    None => f.line("spi_panic(\"unreachable union case\");"),
                }
                f.line("break;");
                f.indent -= 1;
                f.line("}");
                f.line("}");
            }
            Expr::LayoutNew { ty, args } => {
                let info = self.info(ty);
                let args: Vec<String> = args.iter().map(|a| self.atom_store(f, a)).collect();
                let base = info.rc.unwrap_or_default();
                self.bind1(f, &st.vars, format!("{base}_new({})", args.join(", ")));
            }
            Expr::LayoutGet { .. } if skipped.len() == st.vars.len() => {}
            Expr::LayoutGet { layout, field } => {
                let l = self.atom(f, layout, &mut post);
                self.bind1(f, &st.vars, format!("{l}->f{field}"));
                if let Some(v) = st.vars.first() {
                    if let Some(rc) = self.info(&v.ty).rc {
                        f.line(&format!("{rc}_incref(v{});", v.id));
                    }
                }
            }
            Expr::LayoutSet { layout, field, value } => {
                let l = self.atom(f, layout, &mut post);
                let vty = Self::atom_ty(value);
                let val = self.atom_store(f, value);
                match self.info(&vty).rc {
                    Some(rc) => {
                        let t = f.temp();
                        let cty = self.cty(&vty);
                        f.line(&format!("{cty} {t} = {l}->f{field};"));
                        f.line(&format!("{l}->f{field} = {val};"));
                        f.line(&format!("{rc}_decref({t});"));
                    }
                    None => f.line(&format!("{l}->f{field} = {val};")),
                }
            }
            Expr::ArrayNew { ty, len } => {
                let info = self.info(ty);
                let n = self.atom(f, len, &mut post);
                let base = info.rc.unwrap_or_default();
                self.bind1(f, &st.vars, format!("{base}_new((int64_t){n})"));
            }
            Expr::ArrayLit { ty, elems } => {
                let info = self.info(ty);
                let base = info.rc.clone().unwrap_or_default();
                let Some(v) = st.vars.first() else { return };
                let name = format!("v{}", v.id);
                f.line(&format!("{} {name} = {base}_new({});", info.cty, elems.len()));
                let el_leaves = match ty {
                    Ty::Array(e) => self.leaves(e),
                    _ => Vec::new(),
                };
                for (i, e) in elems.iter().enumerate() {
                    for (j, a) in e.iter().enumerate() {
                        let x = self.atom_store(f, a);
                        let field = if el_leaves.len() == 1 { String::new() } else { format!(".f{j}") };
                        f.line(&format!("{name}->ptr[{i}]{field} = {x};"));
                    }
                }
            }
            Expr::ArrayGet { array, index } => {
                let a = self.atom(f, array, &mut post);
                let i = self.atom(f, index, &mut post);
                f.line(&format!("spi_bounds((int64_t){i}, {a}->len);"));
                let n = st.vars.len();
                for (j, v) in st.vars.iter().enumerate() {
                    if skipped.contains(&v) {
                        continue;
                    }
                    let field = if n == 1 { String::new() } else { format!(".f{j}") };
                    let cty = self.cty(&v.ty);
                    f.line(&format!("{cty} v{} = {a}->ptr[{i}]{field};", v.id));
                    if let Some(rc) = self.info(&v.ty).rc {
                        f.line(&format!("{rc}_incref(v{});", v.id));
                    }
                }
            }
            Expr::ArraySet { array, index, value } => {
                let a = self.atom(f, array, &mut post);
                let i = self.atom(f, index, &mut post);
                f.line(&format!("spi_bounds((int64_t){i}, {a}->len);"));
                let n = value.len();
                for (j, x) in value.iter().enumerate() {
                    let field = if n == 1 { String::new() } else { format!(".f{j}") };
                    let xty = Self::atom_ty(x);
                    let val = self.atom_store(f, x);
                    match self.info(&xty).rc {
                        Some(rc) => {
                            let t = f.temp();
                            let cty = self.cty(&xty);
                            f.line(&format!("{cty} {t} = {a}->ptr[{i}]{field};"));
                            f.line(&format!("{a}->ptr[{i}]{field} = {val};"));
                            f.line(&format!("{rc}_decref({t});"));
                        }
                        None => f.line(&format!("{a}->ptr[{i}]{field} = {val};")),
                    }
                }
            }
            Expr::ClosureNew { closure, captured } => {
                let args: Vec<String> = captured.iter().map(|a| self.atom_store(f, a)).collect();
                self.bind1(f, &st.vars, format!("closure{closure}_new({})", args.join(", ")));
            }
            Expr::ClosureCall { fun, args } => {
                let fty = Self::atom_ty(fun);
                let rets = match &fty {
                    Ty::Fun(_, b) => self.leaves(b),
                    _ => {
                        self.error("internal: closure call of a non-function".into());
                        return;
                    }
                };
                let c = self.atom(f, fun, &mut post);
                let mut xs = vec![c.clone()];
                for a in args {
                    xs.push(self.atom(f, a, &mut post));
                }
                self.bind_multi(f, &st.vars, &rets, format!("{c}->call({})", xs.join(", ")));
            }
            Expr::Macro(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        MacroPart::Text(t) => s.push_str(t),
                        MacroPart::TypeLit(t) => s.push_str(t),
                        MacroPart::Type(t) => {
                            let c = self.tup_cty(t);
                            s.push_str(&c)
                        }
                        MacroPart::Atom(a) => {
                            let e = self.atom(f, a, &mut post);
                            s.push_str(&e)
                        }
                    }
                }
                if st.vars.is_empty() {
                    f.line(&format!("{s};"));
                } else if s.contains("\\v") {
                    // `\v` macros declare their own results: each `\v` is replaced by the name of the
                    // next bound variable, and the text is the whole statement.
                    let pieces: Vec<&str> = s.split("\\v").collect();
                    if pieces.len() - 1 != st.vars.len() {
                        self.error(format!(
                            "a `\\v` macro needs one `\\v` per bound variable: it has {} but binds {}",
                            pieces.len() - 1,
                            st.vars.len()
                        ));
                    }
                    let mut out = String::new();
                    for (i, piece) in pieces.iter().enumerate() {
                        out.push_str(piece);
                        if let Some(v) = st.vars.get(i).filter(|_| i + 1 < pieces.len()) {
                            let _ = write!(out, "v{}", v.id);
                        }
                    }
                    f.line(&format!("{out};"));
                } else if st.vars.len() == 1 {
                    self.bind1(f, &st.vars, s);
                } else {
                    self.error(format!(
                        "a macro that returns {} runtime values must declare them with `\\v` (e.g. `$\"`i32 \\v, \\v\"`)",
                        st.vars.len()
                    ));
                }
            }
            Expr::KernelLaunch { blocks: true, .. } => {
                self.error("a block launch (`parallel_blocks`) runs CUDA kernels, which the C host does not launch".into());
            }
            Expr::KernelLaunch { kernel, len, args, blocks: false } => {
                // One call over the whole range; a failing kernel stops the program.
                let n = self.atom(f, len, &mut post);
                let mut xs = Vec::new();
                for a in args {
                    let x = self.atom(f, a, &mut post);
                    if matches!(Self::atom_ty(a), Ty::Array(_)) {
                        xs.push(format!("{x}->ptr"));
                        xs.push(format!("(size_t){x}->len"));
                    } else {
                        xs.push(x);
                    }
                }
                let t = f.temp();
                let sym = host_kernel_symbol(*kernel as usize);
                f.line(&format!("int32_t {t} = {sym}(0, {n}{}{});", if xs.is_empty() { "" } else { ", " }, xs.join(", ")));
                f.line(&format!("if ({t} != 0) {{ spi_kernel_failed({t}); }}"));
            }
            Expr::LengthCheck { expected, found, what } => {
                let e = self.atom(f, expected, &mut post);
                let n = self.atom(f, found, &mut post);
                let w = crate::codegen::c_family::c_string_literal(what);
                f.line(&format!("if ({e} != {n}) {{ spi_length_mismatch({w}, {e}, {n}); }}"));
            }
            Expr::KernelIndex | Expr::Atomic { .. } | Expr::AtomicCas { .. } | Expr::ChunkSet { .. } | Expr::Gpu { .. } => {
                self.error("a kernel-only operation appears outside a kernel".into());
                self.declare(f, &st.vars);
            }
            Expr::Failwith(msg) => {
                let m = self.atom(f, msg, &mut post);
                f.line(&format!("spi_failwith({m});"));
                self.declare(f, &st.vars);
            }
        }
        if skipped.is_empty() {
            self.bound(f, &st.vars, true);
        } else {
            let kept: Vec<Var> = st.vars.iter().filter(|v| !skipped.contains(v)).cloned().collect();
            self.bound(f, &kept, true);
        }
        for p in post {
            f.line(&p);
        }
    }

    // ---------------------------------------------------------------- kernels

    /// The statement that fails a kernel with status `code` (see [`Dialect::CpuKernel`]).
    fn fail(&self, code: i32) -> String {
        match self.dialect {
            Dialect::Cuda if self.block_kernel => crate::codegen::cuda::record_failure(code),
            Dialect::Cuda => crate::codegen::cuda::fail(code),
            Dialect::Upmem if self.block_kernel => crate::codegen::upmem::record_failure(code),
            _ => format!("return {code};"),
        }
    }

    /// `if (!(ok)) <fail>; else <then>` in a block kernel, where the failing thread must go on;
    /// otherwise the check (which leaves the kernel) and then the statement.
    fn guarded(&self, f: &mut FnCtx, ok: &str, code: i32, then: &str) {
        if self.block_kernel {
            f.line(&format!("if (!({ok})) {{ {} }} else {{ {then} }}", self.fail(code)));
        } else {
            f.line(&format!("if (!({ok})) {}", self.fail(code)));
            f.line(then);
        }
    }

    /// Prints kernel `k` as the function `symbol` of the kernel dialect (see
    /// [`Dialect::CpuKernel`] and [`Dialect::Cuda`]).
    fn kernel(&mut self, k: &crate::peval::ir::Kernel, symbol: &str) {
        self.cur_span = k.span;
        let cuda = self.dialect == Dialect::Cuda;
        let upmem = self.dialect == Dialect::Upmem;
        let (want, what) = if cuda {
            (crate::codegen::CUDA_KERNEL_BACKEND, "CUDA kernels")
        } else if upmem {
            (crate::codegen::UPMEM_KERNEL_BACKEND, "UPMEM kernels")
        } else {
            (crate::codegen::CPU_KERNEL_BACKEND, "CPU kernels")
        };
        if *k.backend != *want {
            self.error(format!("`join_backend {}` is not supported here: {what} are `join_backend {want}`", k.backend));
            return;
        }
        if !k.ret.is_empty() {
            self.error(format!("a {} body must return `()`", self.dialect.kernel_noun()));
            return;
        }
        let mut ps: Vec<String> = if cuda {
            crate::codegen::cuda::LEADING_PARAMS.iter().map(|p| p.to_string()).collect()
        } else if upmem {
            crate::codegen::upmem::LEADING_PARAMS.iter().map(|p| p.to_string()).collect()
        } else {
            vec!["int32_t __chunk_from".to_string(), "int32_t __chunk_to".to_string()]
        };
        self.mram_vars.clear();
        for p in &k.params {
            let cty = self.cty(&p.ty);
            let space = if upmem && matches!(p.ty, Ty::Array(_)) {
                self.mram_vars.insert(p.id);
                "__mram_ptr "
            } else {
                ""
            };
            ps.push(format!("{space}{cty} v{}", p.id));
            if matches!(p.ty, Ty::Array(_)) {
                ps.push(format!("size_t v{}_len", p.id));
            }
        }
        let mut used = HashSet::new();
        collect_used_block(&k.body, &mut used);
        let mut f = FnCtx::new(used);
        // A kernel may not read every free variable it is given (a length, a scalar).
        for p in &k.params {
            f.line(&format!("(void)v{};", p.id));
            if matches!(p.ty, Ty::Array(_)) {
                f.line(&format!("(void)v{}_len;", p.id));
            }
        }
        self.block_kernel = (cuda || upmem) && k.is_block_kernel();
        // A block kernel checks every access where it happens (it cannot leave early).
        self.bounds = if self.block_kernel { Default::default() } else { crate::codegen::kernel_bounds::kernel_bounds(k) };
        for a in self.bounds.hoisted.clone() {
            if upmem {
                // The DPU's part of the array starts at the global index `__spi_base`.
                f.line(&format!("if (__chunk_from < __chunk_to && (__chunk_from < __spi_base || (size_t)(__chunk_to - __spi_base) > v{a}_len)) return 1;"));
            } else if cuda {
                f.line(&format!("if (__len > 0 && (size_t)__len > v{a}_len) {}", self.fail(1)));
            } else {
                f.line(&format!("if (__chunk_from < __chunk_to && (__chunk_from < 0 || (size_t)__chunk_to > v{a}_len)) return 1;"));
            }
        }
        if cuda {
            for l in crate::codegen::cuda::LOOP_HEAD {
                f.line(l);
            }
        } else if upmem && self.block_kernel {
            // One pass per tasklet: `__i` is the tasklet (the owner of `chunk_set` ranges).
            for l in crate::codegen::upmem::TASKLET_HEAD {
                f.line(l);
            }
        } else {
            if upmem {
                f.line("(void)__spi_base;");
            }
            f.line("for (int32_t __i = __chunk_from; __i < __chunk_to; __i++) {");
        }
        f.indent += 1;
        if cuda {
            f.line(crate::codegen::cuda::LOOP_INDEX);
        }
        // The ranges this index owns in the arrays it writes with `chunk_set`, once per index.
        self.owned_ranges = crate::codegen::kernel_bounds::owned_ranges(k);
        for (id, chunks) in self.owned_ranges.clone() {
            let n = match &chunks {
                Atom::Var(v) => format!("v{}", v.id),
                Atom::Lit(l) => crate::codegen::c_family::lit_c(l),
            };
            f.line(&format!("int64_t __from_v{id} = 0, __to_v{id} = 0;"));
            f.line(&format!("if ((int64_t)({n}) > 0) {{ __from_v{id} = (int64_t)__i * (int64_t)v{id}_len / (int64_t)({n}); __to_v{id} = ((int64_t)__i + 1) * (int64_t)v{id}_len / (int64_t)({n}); }}"));
        }
        self.block(&mut f, &k.body, Dest::Assign(&[]));
        f.indent -= 1;
        f.line("}");
        if cuda {
            let _ = write!(self.fns, "{}{symbol}({}) {{\n{}}}\n", crate::codegen::cuda::KERNEL_PREFIX, ps.join(", "), f.out);
            return;
        }
        if upmem {
            f.line(if self.block_kernel { "return __status;" } else { "return 0;" });
            let _ = write!(self.fns, "{}{symbol}({}) {{\n{}}}\n", crate::codegen::upmem::KERNEL_PREFIX, ps.join(", "), f.out);
            return;
        }
        f.line("return 0;");
        let _ = write!(
            self.fns,
            "// Returns 0, or 1 when an index is out of bounds, 2 on failwith, 3 on an integer division by zero.\nint32_t {symbol}({}) {{\n{}}}\n",
            ps.join(", "),
            f.out
        );
    }

    /// The index expression of an array access in a kernel: in an UPMEM element kernel an MRAM
    /// array holds only this DPU's part, which starts at the global index `__spi_base`, and
    /// only accesses at the kernel's own index are possible (anything else is an error).
    fn upmem_index(&mut self, array: &Atom, index: &Atom, f: &mut FnCtx, post: &mut Vec<String>) -> String {
        let i = self.atom(f, index, post);
        let mram = matches!(array, Atom::Var(v) if self.mram_vars.contains(&v.id));
        if self.dialect != Dialect::Upmem || self.block_kernel || !mram {
            return i;
        }
        if !self.bounds.covered(array, index) {
            self.error("an UPMEM element kernel reads and writes arrays only at its own index: each DPU holds only its part of every array (use `parallel_tasklets` and local indices for other access patterns)".into());
        }
        format!("({i} - __spi_base)")
    }

    /// The block operations of an UPMEM tasklet kernel (see [`crate::codegen::upmem`]).
    fn upmem_gpu(&mut self, f: &mut FnCtx, st: &Stmt, op: GpuOp, args: &[Atom], post: &mut Vec<String>) {
        match op {
            GpuOp::ThreadIndex => self.bind1(f, &st.vars, "((int32_t)me())".into()),
            GpuOp::BlockIndex => self.bind1(f, &st.vars, "((int32_t)__spi_args[0])".into()),
            GpuOp::ThreadsPerBlock => self.bind1(f, &st.vars, "((int32_t)NR_TASKLETS)".into()),
            GpuOp::SyncThreads => f.line("barrier_wait(&__spi_barrier);"),
            GpuOp::SharedArray { len } | GpuOp::TaskletArray { len } => {
                if let [v] = st.vars.as_slice() {
                    let el = match &v.ty {
                        Ty::Array(el) => (**el).clone(),
                        _ => Ty::i32(),
                    };
                    let ec = self.cty(&el);
                    if matches!(op, GpuOp::SharedArray { .. }) {
                        // WRAM shared by the DPU's tasklets.
                        f.line(&format!("static __dma_aligned {ec} v{}_data[{len}];", v.id));
                        f.line(&format!("{ec} *v{id} = v{id}_data;", id = v.id));
                    } else {
                        // One WRAM buffer per tasklet.
                        f.line(&format!("static __dma_aligned {ec} v{}_data[NR_TASKLETS][{len}];", v.id));
                        f.line(&format!("{ec} *v{id} = v{id}_data[me()];", id = v.id));
                    }
                    f.line(&format!("const size_t v{}_len = {len};", v.id));
                }
            }
            GpuOp::MramRead | GpuOp::MramWrite => {
                let read = op == GpuOp::MramRead;
                let xs: Vec<String> = args.iter().map(|a| self.atom(f, a, post)).collect();
                if xs.len() != 4 {
                    self.error(format!("`{}` takes four operands", op.name()));
                    return;
                }
                // read: mram, from, n, wram; write: wram, mram, from, n
                let (mram, wram, from, n) = if read { (&xs[0], &xs[3], &xs[1], &xs[2]) } else { (&xs[1], &xs[0], &xs[2], &xs[3]) };
                let el = match args.first().map(Self::atom_ty) {
                    Some(Ty::Array(el)) => (*el).clone(),
                    _ => Ty::i32(),
                };
                let ec = self.cty(&el);
                let ok = format!("({from}) >= 0 && ({n}) >= 0 && (size_t)({from}) + (size_t)({n}) <= {mram}_len && (size_t)({n}) <= {wram}_len");
                let call = if read {
                    format!("spi_mram_read(&{mram}[{from}], {wram}, (uint32_t)({n}) * (uint32_t)sizeof({ec}));")
                } else {
                    format!("spi_mram_write({wram}, &{mram}[{from}], (uint32_t)({n}) * (uint32_t)sizeof({ec}));")
                };
                self.guarded(f, &ok, 1, &call);
            }
            GpuOp::Dpus => {
                self.error("`upmem_dpus` is host code: the DPU count is `block_index`'s range inside a kernel".into());
                self.declare(f, &st.vars);
            }
            GpuOp::ShuffleDown | GpuOp::ShuffleUp => {
                self.error(format!("`{}` is a CUDA warp operation; an UPMEM kernel has no warps", op.name()));
                self.declare(f, &st.vars);
            }
        }
    }

    /// The statements whose kernel form differs from the host's. Returns whether `st` was
    /// printed (otherwise the shared printer handles it).
    fn kernel_stmt(&mut self, f: &mut FnCtx, st: &Stmt, post: &mut Vec<String>) -> bool {
        match &st.expr {
            Expr::Atoms(xs) => {
                // An array copy carries its length along.
                for (v, a) in st.vars.iter().zip(xs) {
                    let e = self.atom(f, a, post);
                    let cty = self.cty(&v.ty);
                    let space = match a {
                        Atom::Var(src) if self.mram_vars.contains(&src.id) => {
                            self.mram_vars.insert(v.id);
                            "__mram_ptr "
                        }
                        _ => "",
                    };
                    f.line(&format!("{space}{cty} v{} = {e};", v.id));
                    if let (Ty::Array(_), Atom::Var(src)) = (&v.ty, a) {
                        f.line(&format!("size_t v{}_len = v{}_len;", v.id, src.id));
                    }
                }
                true
            }
            Expr::ArrayGet { array, index } => {
                let a = self.atom(f, array, post);
                let i = self.upmem_index(array, index, f, post);
                if self.block_kernel {
                    // Out of bounds: the status, and a zero in place of the element.
                    for v in &st.vars {
                        let cty = self.cty(&v.ty);
                        f.line(&format!("{cty} v{} = ({cty})0;", v.id));
                        self.guarded(f, &format!("(size_t)({i}) < {a}_len"), 1, &format!("v{} = {a}[{i}];", v.id));
                    }
                    return true;
                }
                if !self.bounds.covered(array, index) {
                    f.line(&format!("if ((size_t)({i}) >= {a}_len) {}", self.fail(1)));
                }
                for v in &st.vars {
                    let cty = self.cty(&v.ty);
                    f.line(&format!("{cty} v{} = {a}[{i}];", v.id));
                }
                true
            }
            Expr::ArraySet { array, index, value } => {
                let a = self.atom(f, array, post);
                let i = self.upmem_index(array, index, f, post);
                let x = value.first().map(|x| self.atom(f, x, post));
                let store = x.map(|x| format!("{a}[{i}] = {x};")).unwrap_or_default();
                if self.block_kernel {
                    self.guarded(f, &format!("(size_t)({i}) < {a}_len"), 1, &store);
                    return true;
                }
                if !self.bounds.covered(array, index) {
                    f.line(&format!("if ((size_t)({i}) >= {a}_len) {}", self.fail(1)));
                }
                if !store.is_empty() {
                    f.line(&store);
                }
                true
            }
            Expr::KernelIndex => {
                self.bind1(f, &st.vars, "__i".into());
                true
            }
            Expr::Gpu { op, args } if self.dialect == Dialect::Upmem => {
                self.upmem_gpu(f, st, *op, args, post);
                true
            }
            Expr::Gpu { op, args } => {
                if self.dialect != Dialect::Cuda {
                    self.error(format!("`{}` is a GPU block operation; a {} has none", op.name(), self.dialect.kernel_noun()));
                    self.declare(f, &st.vars);
                    return true;
                }
                match op {
                    GpuOp::ThreadIndex => self.bind1(f, &st.vars, "((int32_t)threadIdx.x)".into()),
                    GpuOp::BlockIndex => self.bind1(f, &st.vars, "((int32_t)blockIdx.x)".into()),
                    GpuOp::ThreadsPerBlock => self.bind1(f, &st.vars, "((int32_t)blockDim.x)".into()),
                    GpuOp::SyncThreads => f.line("__syncthreads();"),
                    GpuOp::ShuffleDown | GpuOp::ShuffleUp => {
                        let x = args.first().map(|a| self.atom(f, a, post)).unwrap_or_default();
                        let d = args.get(1).map(|a| self.atom(f, a, post)).unwrap_or_default();
                        let p = match args.first().map(Self::atom_ty) {
                            Some(Ty::Prim(p)) => p,
                            _ => PrimTy::I32,
                        };
                        self.bind1(f, &st.vars, crate::codegen::cuda::shuffle(*op == GpuOp::ShuffleUp, &x, &d, p));
                    }
                    GpuOp::TaskletArray { .. } | GpuOp::MramRead | GpuOp::MramWrite | GpuOp::Dpus => {
                        self.error(format!("`{}` is an UPMEM operation; a CUDA kernel has none", op.name()));
                        self.declare(f, &st.vars);
                    }
                    GpuOp::SharedArray { len } => {
                        if let [v] = st.vars.as_slice() {
                            let el = match &v.ty {
                                Ty::Array(el) => (**el).clone(),
                                _ => Ty::i32(),
                            };
                            let ec = self.cty(&el);
                            f.line(&format!("__shared__ {ec} v{}_data[{len}];", v.id));
                            f.line(&format!("{ec} *v{id} = v{id}_data;", id = v.id));
                            f.line(&format!("const size_t v{}_len = {len};", v.id));
                        }
                    }
                }
                true
            }
            Expr::Atomic { .. } | Expr::AtomicCas { .. } if self.dialect == Dialect::Upmem => {
                self.error("atomics are not available in UPMEM kernels (a DPU's tasklets would need its mutexes, and DPUs share no memory); count per DPU and combine on the host, or run this kernel on the CPU or CUDA".into());
                self.declare(f, &st.vars);
                true
            }
            Expr::ChunkSet { .. } if self.dialect == Dialect::Upmem && !self.block_kernel => {
                self.error("`chunk_set` is not available in an UPMEM element kernel: each DPU holds only its part of every array; use `parallel_tasklets`".into());
                true
            }
            Expr::Atomic { op, array, index, value } => {
                let a = self.atom(f, array, post);
                let i = self.atom(f, index, post);
                let v = self.atom(f, value, post);
                if self.block_kernel {
                    match crate::codegen::cuda::atomic(*op, &a, &i, &v, self.array_leaf(array)) {
                        Ok(line) => self.guarded(f, &format!("(size_t)({i}) < {a}_len"), 1, &line),
                        Err(msg) => self.error(msg),
                    }
                    return true;
                }
                if !self.bounds.covered(array, index) {
                    f.line(&format!("if ((size_t)({i}) >= {a}_len) {}", self.fail(1)));
                }
                if self.dialect == Dialect::Cuda {
                    let el = self.array_leaf(array);
                    match crate::codegen::cuda::atomic(*op, &a, &i, &v, el) {
                        Ok(line) => f.line(&line),
                        Err(msg) => self.error(msg),
                    }
                } else {
                    match op {
                        AtomicOp::Add => f.line(&format!("(void)__atomic_fetch_add(&{a}[{i}], {v}, __ATOMIC_RELAXED);")),
                        // A compare-exchange loop: retried only while the element would still change.
                        AtomicOp::Min | AtomicOp::Max => {
                            let cmp = if *op == AtomicOp::Min { "<" } else { ">" };
                            let cty = self.cty(&Self::atom_ty(value));
                            let t = f.temp();
                            f.line(&format!("{cty} {t} = __atomic_load_n(&{a}[{i}], __ATOMIC_RELAXED);"));
                            f.line(&format!("while ({v} {cmp} {t} && !__atomic_compare_exchange_n(&{a}[{i}], &{t}, {v}, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {{}}"));
                        }
                    }
                }
                true
            }
            Expr::ChunkSet { array, index, value, chunks } => {
                let a = self.atom(f, array, post);
                let i = self.atom(f, index, post);
                let v = self.atom(f, value, post);
                // The range kernel index `__i` owns (distinct indices own disjoint ranges),
                // computed once per index at the top of the loop body when the chunk count is
                // known there.
                let hoisted = matches!(array, Atom::Var(x) if self.owned_ranges.contains(&(x.id, chunks.clone())));
                let (from, to) = if hoisted {
                    (format!("__from_{a}"), format!("__to_{a}"))
                } else {
                    let n = self.atom(f, chunks, post);
                    let (from, to) = (f.temp(), f.temp());
                    f.line(&format!("int64_t {from} = 0, {to} = 0;"));
                    f.line(&format!("if ((int64_t)({n}) > 0) {{ {from} = (int64_t)__i * (int64_t){a}_len / (int64_t)({n}); {to} = ((int64_t)__i + 1) * (int64_t){a}_len / (int64_t)({n}); }}"));
                    (from, to)
                };
                self.guarded(f, &format!("(int64_t)({i}) >= {from} && (int64_t)({i}) < {to}"), 1, &format!("{a}[{i}] = {v};"));
                true
            }
            Expr::AtomicCas { array, index, expected, desired } => {
                let a = self.atom(f, array, post);
                let i = self.atom(f, index, post);
                let e = self.atom(f, expected, post);
                let d = self.atom(f, desired, post);
                let cty = self.cty(&Self::atom_ty(expected));
                let t = f.temp();
                if self.block_kernel {
                    match crate::codegen::cuda::atomic_cas(&a, &i, &e, &d, self.array_leaf(array)) {
                        Ok(x) => {
                            f.line(&format!("{cty} {t} = ({cty})0;"));
                            self.guarded(f, &format!("(size_t)({i}) < {a}_len"), 1, &format!("{t} = {x};"));
                        }
                        Err(msg) => {
                            self.error(msg);
                            f.line(&format!("{cty} {t} = 0;"));
                        }
                    }
                    self.bind1(f, &st.vars, t);
                    return true;
                }
                if !self.bounds.covered(array, index) {
                    f.line(&format!("if ((size_t)({i}) >= {a}_len) {}", self.fail(1)));
                }
                if self.dialect == Dialect::Cuda {
                    let el = self.array_leaf(array);
                    match crate::codegen::cuda::atomic_cas(&a, &i, &e, &d, el) {
                        Ok(x) => f.line(&format!("{cty} {t} = {x};")),
                        Err(msg) => {
                            self.error(msg);
                            f.line(&format!("{cty} {t} = 0;"));
                        }
                    }
                } else {
                    // After the call the temporary holds the element's previous value.
                    f.line(&format!("{cty} {t} = {e};"));
                    f.line(&format!("(void)__atomic_compare_exchange_n(&{a}[{i}], &{t}, {d}, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);"));
                }
                self.bind1(f, &st.vars, t);
                true
            }
            Expr::Failwith(_) => {
                f.line(&self.fail(2));
                // The statement's results are never read, but later code names them.
                self.declare(f, &st.vars);
                true
            }
            // A box inside a kernel is kernel-local state (a loop counter, an accumulator): one
            // C local per leaf, `v{id}_{field}`; the box itself is never a value (using it as
            // one is an error through `kernel_info`).
            Expr::LayoutNew { args, .. } => {
                match st.vars.first() {
                    Some(v) => {
                        for (k, a) in args.iter().enumerate() {
                            let cty = self.cty(&Self::atom_ty(a));
                            let x = self.atom(f, a, post);
                            f.line(&format!("{cty} v{}_{k} = {x};", v.id));
                        }
                    }
                    None => self.error("a box inside a kernel must be bound to a name".into()),
                }
                true
            }
            Expr::LayoutGet { layout: Atom::Var(l), field } => {
                self.bind1(f, &st.vars, format!("v{}_{field}", l.id));
                true
            }
            Expr::LayoutSet { layout: Atom::Var(l), field, value } => {
                let x = self.atom(f, value, post);
                f.line(&format!("v{}_{field} = {x};", l.id));
                true
            }
            Expr::ArrayNew { .. } | Expr::ArrayLit { .. } => {
                self.error(format!(
                    "an array cannot be allocated inside a {}: a kernel has no heap; create it before the kernel (e.g. `inv_create` before `parallel_for`) and pass it in",
                    self.dialect.kernel_noun()
                ));
                self.declare(f, &st.vars);
                true
            }
            Expr::Prim(..) | Expr::If { .. } | Expr::While { .. } | Expr::Macro(_) => false,
            Expr::Call { .. }
            | Expr::Box { .. }
            | Expr::Match { .. }
            | Expr::LayoutGet { .. }
            | Expr::LayoutSet { .. }
            | Expr::ClosureNew { .. }
            | Expr::ClosureCall { .. }
            | Expr::LengthCheck { .. }
            | Expr::KernelLaunch { .. } => {
                self.error(format!("unions, closures, calls, allocation and host checks are not supported inside a {}", self.dialect.kernel_noun()));
                true
            }
        }
    }

    // ---------------------------------------------------------------- primitive operations

    fn prim(&mut self, f: &mut FnCtx, op: &PrimOp, args: &[Atom], res: Option<&Ty>, post: &mut Vec<String>) -> String {
        let xs: Vec<String> = args.iter().map(|a| self.atom(f, a, post)).collect();
        let t0 = args.first().map(Self::atom_ty);
        let p0 = match &t0 {
            Some(Ty::Prim(p)) => Some(*p),
            _ => None,
        };
        let res_c = res.map(|t| self.cty(t)).unwrap_or_else(|| "int".into());
        let arg = |i: usize| xs.get(i).cloned().unwrap_or_else(|| "0".into());
        let res_p = match res {
            Some(Ty::Prim(p)) => Some(*p),
            _ => None,
        };
        match op {
            PrimOp::Eq | PrimOp::Ne | PrimOp::Lt | PrimOp::Le | PrimOp::Gt | PrimOp::Ge if !matches!(&t0, Some(Ty::Prim(p)) if *p != PrimTy::String) => {
                let sym = crate::codegen::c_family::comparison_symbol(op).unwrap_or("==");
                match &t0 {
                    Some(Ty::Prim(PrimTy::String)) => format!("(spi_string_cmp({}, {}) {sym} 0)", arg(0), arg(1)),
                    Some(Ty::Union(_)) if !self.info(t0.as_ref().unwrap()).cty.ends_with('*') => {
                        self.error("the C backend cannot compare stack union values with a primitive operator".into());
                        "false".into()
                    }
                    _ => format!("({} {sym} {})", arg(0), arg(1)),
                }
            }
            PrimOp::StringLength => format!("(({res_c})spi_string_len({}))", arg(0)),
            PrimOp::StringIndex => format!("spi_string_index({}, (int64_t){})", arg(0), arg(1)),
            PrimOp::StringSlice => format!("spi_string_slice({}, (int64_t){}, (int64_t){})", arg(0), arg(1), arg(2)),
            PrimOp::StringConcat => format!("spi_string_concat({}, {})", arg(0), arg(1)),
            PrimOp::ArrayLength if self.dialect.is_kernel() => format!("(({res_c}){}_len)", arg(0)),
            PrimOp::ArrayLength => format!("(({res_c}){}->len)", arg(0)),
            PrimOp::Conv(PrimTy::String) => {
                self.error("the C backend cannot convert a value to a string".into());
                "NULL".into()
            }
            PrimOp::FloatFn(_) | PrimOp::Pow | PrimOp::IsNan if self.dialect == Dialect::Upmem => {
                self.error(format!("`{}` needs the C math library, which the DPU toolchain does not have", op.name()));
                "0".into()
            }
            PrimOp::Rem if self.dialect == Dialect::Upmem && p0.is_some_and(|p| p.is_float()) => {
                self.error("a float `%` needs the C math library (`fmod`), which the DPU toolchain does not have".into());
                "0".into()
            }
            _ if self.dialect.is_kernel() => {
                let nonzero = matches!(args.get(1), Some(Atom::Lit(l)) if !l.is_int_zero());
                let mut xs = xs.clone();
                if let Some(d) = crate::codegen::c_family::divisor_to_check(op, p0, &xs, nonzero).map(str::to_string) {
                    let fail = self.fail(crate::codegen::c_family::STATUS_DIV_ZERO);
                    f.line(&if self.block_kernel { format!("if ({d} == 0) {{ {fail} }}") } else { format!("if ({d} == 0) {fail}") });
                    if self.block_kernel {
                        // The failing thread goes on: a divisor of 1 instead of 0.
                        xs[1] = format!("({d} == 0 ? 1 : {d})");
                    }
                }
                match prim_expr(op, &xs, p0, res_p, DivByZero::CheckedByCaller) {
                    Ok(e) => e,
                    Err(msg) => {
                        self.error(format!("{msg} (inside a {})", self.dialect.kernel_noun()));
                        "0".into()
                    }
                }
            }
            _ => match prim_expr(op, &xs, p0, res_p, DivByZero::RuntimeError) {
                Ok(e) => e,
                Err(msg) => {
                    self.error(msg);
                    "0".into()
                }
            },
        }
    }
}

/// The `_decref` of a heap type `name` (C type `ty`, a pointer): with no counted fields it frees
/// the object at once; otherwise a `_release` function runs `body` (which decrements the fields
/// through `x`) and frees it, queued on the runtime's release worklist (`spi_release_later`), so
/// freeing a long chain takes constant C stack.
fn release_helpers(h: &mut String, name: &str, ty: &str, body: &str) {
    if body.is_empty() {
        let _ = write!(h, "SPI_FN void {name}_decref({ty} x){{\n    if (x != NULL && --(x->refc) == 0) {{\n        spi_free(x);\n    }}\n}}\n");
    } else {
        let _ = write!(h, "static void {name}_release(void * p){{\n    {ty} x = ({ty})p;\n{body}    spi_free(x);\n}}\n");
        let _ = write!(h, "SPI_FN void {name}_decref({ty} x){{\n    if (x != NULL && --(x->refc) == 0) {{ spi_release_later(x, {name}_release); }}\n}}\n");
    }
}

/// Calls `f` with the id of every variable an atom list reads.
fn visit_atoms(xs: &[Atom], f: &mut dyn FnMut(u32)) {
    for a in xs {
        if let Atom::Var(v) = a {
            f(v.id);
        }
    }
}

/// Calls `f` with the id of every variable read by a statement (nested blocks included), once
/// per occurrence.
fn visit_stmt(st: &Stmt, f: &mut dyn FnMut(u32)) {
    for id in stmt_parts_ids(st) {
        f(id);
    }
    for b in st.expr.nested_blocks() {
        visit_block(b, f);
    }
}

/// The variables a statement reads itself (not inside its nested blocks).
fn stmt_parts_ids(st: &Stmt) -> Vec<u32> {
    let mut v = Vec::new();
    st.expr.for_each_atom(&mut |a| {
        if let Atom::Var(x) = a {
            v.push(x.id);
        }
    });
    v
}

/// Fills `last` (see `FnCtx::last_use`) for block `b`, whose enclosing statements are at the
/// indices in `path` (one per enclosing block), with `decl` the depth each variable was
/// declared at (function parameters: 0).
fn last_uses(b: &Block, path: &mut Vec<usize>, decl: &mut HashMap<u32, usize>, last: &mut HashMap<u32, usize>) {
    let depth = path.len();
    let note = |path: &Vec<usize>, decl: &HashMap<u32, usize>, last: &mut HashMap<u32, usize>, id: u32| {
        let d = decl.get(&id).copied().unwrap_or(0).min(path.len() - 1);
        let at = path[d];
        let e = last.entry(id).or_insert(at);
        *e = (*e).max(at);
    };
    for (i, st) in b.stmts.iter().enumerate() {
        path.push(i);
        for id in stmt_parts_ids(st) {
            note(path, decl, last, id);
        }
        for nb in st.expr.nested_blocks() {
            last_uses(nb, path, decl, last);
        }
        path.pop();
        for v in &st.vars {
            decl.insert(v.id, depth);
        }
    }
    path.push(b.stmts.len());
    let mut direct = Vec::new();
    visit_atoms(&b.result, &mut |id| direct.push(id));
    for id in direct {
        note(path, decl, last, id);
    }
    path.pop();
}

fn visit_block(b: &Block, f: &mut dyn FnMut(u32)) {
    for st in &b.stmts {
        visit_stmt(st, f);
    }
    visit_atoms(&b.result, f);
}

fn collect_used_block(b: &Block, used: &mut HashSet<u32>) {
    visit_block(b, &mut |id| {
        used.insert(id);
    });
}

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

/// The C name of kernel `i` inside a host program.
fn host_kernel_symbol(i: usize) -> String {
    format!("spiral_kernel{i}")
}


/// Kernel `index` of a program alone, in the kernel dialect `dialect` (no file header), named
/// `symbol`; `None` when the program has no such kernel. Like [`emit_kernel_fns`] for one kernel.
pub(crate) fn emit_kernel_fn(program: &Program, dialect: Dialect, index: usize, symbol: &str) -> Option<Result<String, KernelError>> {
    debug_assert!(dialect.is_kernel());
    let k = program.kernels.get(index)?;
    let mut g = Gen::new(program);
    g.dialect = dialect;
    g.kernel(k, symbol);
    if let Some(d) = g.errors.first() {
        return Some(Err((d.message.clone(), d.span)));
    }
    Some(Ok(g.fns))
}

/// Kernel `index` of a program alone as a complete C translation unit in the
/// [`Dialect::CpuKernel`] dialect (the header and `prims.h` of [`emit_cpu_kernels`], then the one
/// function, named `symbol`); `None` when the program has no such kernel. `spiral build
/// --kernels-dir` writes one file per kernel with it.
pub fn emit_cpu_kernel(program: &Program, index: usize, symbol: &str) -> Option<Result<String, KernelError>> {
    let fns = match emit_kernel_fn(program, Dialect::CpuKernel, index, symbol)? {
        Ok(f) => f,
        Err(e) => return Some(Err(e)),
    };
    let mut out = String::from("// Generated by Spiral (CPU kernels). Do not edit.\n#include <stdint.h>\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdlib.h>\n#include <math.h>\n");
    out.push_str(crate::codegen::c_family::PRIMS_H);
    out.push_str(&fns);
    Some(Ok(out))
}

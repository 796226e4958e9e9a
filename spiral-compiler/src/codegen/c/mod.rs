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
    if !program.kernels.is_empty() {
        g.error(format!(
            "the C backend cannot host kernels for other backends (`join_backend {}`)",
            program.kernels[0].backend
        ));
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
    fns: String,
    main_fn: String,
    errors: Vec<Diagnostic>,
}

impl<'p> Gen<'p> {
    fn new(prog: &'p Program) -> Gen<'p> {
        Gen {
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

    fn info(&mut self, t: &Ty) -> TyInfo {
        if let Some(i) = self.infos.get(t) {
            return i.clone();
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
            Ty::Nominal(_) | Ty::Pair(..) | Ty::Record(_) | Ty::Unit | Ty::Symbol(_) | Ty::TypeLit(_) => {
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
            Expr::KernelIndex | Expr::KernelLaunch { .. } => {
                self.error("the C backend cannot run kernels (`join_backend`): compile kernels through spiral! or spiral-build".into());
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
                let sym = match op {
                    PrimOp::Eq => "==",
                    PrimOp::Ne => "!=",
                    PrimOp::Lt => "<",
                    PrimOp::Le => "<=",
                    PrimOp::Gt => ">",
                    _ => ">=",
                };
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
            PrimOp::ArrayLength => format!("(({res_c}){}->len)", arg(0)),
            PrimOp::Conv(PrimTy::String) => {
                self.error("the C backend cannot convert a value to a string".into());
                "NULL".into()
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

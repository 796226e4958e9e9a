//! CPU kernels as C, for the `spiral-build` path (build.rs compiles them with `cc` and links
//! them; the Rust wrapper calls them through `extern "C"`).
//!
//! A kernel `i` of unit `u` becomes
//! `void spiral_u_kernel{i}(int32_t __chunk_from, int32_t __chunk_to, <params>)`, where each
//! runtime free variable of the `join_backend` body is a parameter: an array as a pointer and a
//! `size_t` length (`v3`, `v3_len`), a scalar by value. The body runs once per index of the chunk
//! (`for (int32_t __i = __chunk_from; __i < __chunk_to; __i++)`), exactly as the Rust kernels
//! do. Only what a kernel body needs is supported (scalars, arrays, conditionals, loops, macros);
//! anything else is reported as [`Unsupported`].

use super::Unsupported;
use crate::codegen::c_family;
use crate::peval::ir::{Atom, Block, Expr, Kernel, Lit, MacroPart, PrimOp, PrimTy, Stmt, Ty, Types, Var};
use std::fmt::Write;

/// The C name of a primitive: the C backend's spelling; strings have no kernel representation.
fn c_prim(p: PrimTy) -> Result<&'static str, Unsupported> {
    match p {
        PrimTy::String => Err(Unsupported::new("strings are not supported inside a CPU kernel")),
        _ => Ok(c_family::prim_cty(p)),
    }
}

fn c_ty(types: &Types, t: &Ty) -> Result<String, Unsupported> {
    match t {
        Ty::Prim(p) => Ok(c_prim(*p)?.to_string()),
        Ty::Array(el) => match types.leaves(el).as_slice() {
            [Ty::Prim(p)] => Ok(format!("{} *", c_prim(*p)?)),
            _ => Err(Unsupported::new("a CPU kernel takes arrays of primitives (use inverse arrays for tuples)")),
        },
        other => Err(Unsupported::new(format!("`{}` cannot be used inside a CPU kernel", types.show(other)))),
    }
}

fn c_lit(l: &Lit) -> Result<String, Unsupported> {
    match l {
        Lit::String(_) => Err(Unsupported::new("strings are not supported inside a CPU kernel")),
        l => Ok(c_family::lit_c(l)),
    }
}

struct CPrinter<'a> {
    types: &'a Types,
    out: String,
    bounds: super::bounds::KernelBounds,
}

impl CPrinter<'_> {
    fn line(&mut self, ind: usize, s: &str) {
        for _ in 0..ind.min(crate::codegen::MAX_INDENT) {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }
    fn atom(a: &Atom) -> Result<String, Unsupported> {
        match a {
            Atom::Var(v) => Ok(format!("v{}", v.id)),
            Atom::Lit(l) => c_lit(l),
        }
    }
    /// An inline bounds check, unless the check before the loop covers the access.
    fn check(&mut self, array: &Atom, index: &Atom, a: &str, i: &str, ind: usize) {
        if !self.bounds.covered(array, index) {
            self.line(ind, &format!("if ((size_t)({i}) >= {a}_len) return 1;"));
        }
    }
    fn decl(&self, v: &Var) -> Result<String, Unsupported> {
        Ok(format!("{} v{}", c_ty(self.types, &v.ty)?, v.id))
    }
    fn arg_prim(xs: &[Atom]) -> Option<PrimTy> {
        match xs.first() {
            Some(Atom::Var(Var { ty: Ty::Prim(p), .. })) => Some(*p),
            Some(Atom::Lit(l)) => Some(l.ty()),
            _ => None,
        }
    }
    /// A primitive operation through the shared C-family table; an integer division first
    /// checks its divisor (status [`c_family::STATUS_DIV_ZERO`]).
    fn prim(&mut self, op: &PrimOp, xs: &[Atom], res: &Var, ind: usize) -> Result<String, Unsupported> {
        let a: Vec<String> = xs.iter().map(Self::atom).collect::<Result<_, _>>()?;
        let arg_ty = Self::arg_prim(xs);
        let res_p = match res.ty {
            Ty::Prim(p) => Some(p),
            _ => None,
        };
        if let PrimOp::ArrayLength = op {
            return Ok(match xs.first() {
                Some(Atom::Var(v)) => format!("(({})v{}_len)", c_ty(&Types::default(), &res.ty)?, v.id),
                _ => "0".into(),
            });
        }
        let nonzero_lit = matches!(xs.get(1), Some(Atom::Lit(l)) if c_family::lit_c(l) != c_family::lit_c(&zero_of(l)));
        if let Some(d) = c_family::divisor_to_check(op, arg_ty, &a, nonzero_lit) {
            let d = d.to_string();
            self.line(ind, &format!("if ({d} == 0) return {};", c_family::STATUS_DIV_ZERO));
        }
        c_family::prim_expr(op, &a, arg_ty, res_p, c_family::DivByZero::CheckedByCaller)
            .map_err(|m| Unsupported::new(format!("{m} (inside a CPU kernel)")))
    }
    fn block(&mut self, b: &Block, ind: usize, result: Option<&[Var]>) -> Result<(), Unsupported> {
        for s in &b.stmts {
            self.stmt(s, ind)?;
        }
        if let Some(vars) = result {
            for (v, a) in vars.iter().zip(&b.result) {
                let x = Self::atom(a)?;
                self.line(ind, &format!("v{} = {x};", v.id));
            }
        }
        Ok(())
    }
    /// Prints one statement; an error is reported at the statement's Spiral span.
    fn stmt(&mut self, st: &Stmt, ind: usize) -> Result<(), Unsupported> {
        self.stmt_inner(st, ind).map_err(|u| u.at(st.span))
    }

    fn stmt_inner(&mut self, st: &Stmt, ind: usize) -> Result<(), Unsupported> {
        let one = |st: &Stmt| -> Result<Var, Unsupported> {
            match st.vars.as_slice() {
                [v] => Ok(v.clone()),
                _ => Err(Unsupported::new("a kernel statement with several results")),
            }
        };
        match &st.expr {
            Expr::Atoms(xs) => {
                for (v, a) in st.vars.iter().zip(xs) {
                    let d = self.decl(v)?;
                    let x = Self::atom(a)?;
                    self.line(ind, &format!("{d} = {x};"));
                    if let (Ty::Array(_), Atom::Var(src)) = (&v.ty, a) {
                        self.line(ind, &format!("size_t v{}_len = v{}_len;", v.id, src.id));
                    }
                }
            }
            Expr::Prim(op, xs) => {
                let v = one(st)?;
                let e = self.prim(op, xs, &v, ind)?;
                let d = self.decl(&v)?;
                self.line(ind, &format!("{d} = {e};"));
            }
            Expr::If { cond, then, els } => {
                for v in &st.vars {
                    let d = self.decl(v)?;
                    self.line(ind, &format!("{d};"));
                }
                let c = Self::atom(cond)?;
                self.line(ind, &format!("if ({c}) {{"));
                self.block(then, ind + 1, Some(&st.vars))?;
                self.line(ind, "} else {");
                self.block(els, ind + 1, Some(&st.vars))?;
                self.line(ind, "}");
            }
            Expr::While { cond, body } => {
                self.line(ind, "while (1) {");
                self.block(cond, ind + 1, None)?;
                let c = cond.result.first().map(Self::atom).transpose()?.unwrap_or_else(|| "false".into());
                self.line(ind + 1, &format!("if (!{c}) break;"));
                self.block(body, ind + 1, None)?;
                self.line(ind, "}");
            }
            Expr::ArrayGet { array, index } => {
                let v = one(st)?;
                let d = self.decl(&v)?;
                let (a, i) = (Self::atom(array)?, Self::atom(index)?);
                self.check(array, index, &a, &i, ind);
                self.line(ind, &format!("{d} = {a}[{i}];"));
            }
            Expr::ArraySet { array, index, value } => {
                let (a, i) = (Self::atom(array)?, Self::atom(index)?);
                self.check(array, index, &a, &i, ind);
                let x = value.first().map(Self::atom).transpose()?.unwrap_or_default();
                self.line(ind, &format!("{a}[{i}] = {x};"));
            }
            Expr::Macro(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        MacroPart::Text(t) => s.push_str(t),
                        MacroPart::Atom(a) => s.push_str(&Self::atom(a)?),
                        MacroPart::Type(t) => s.push_str(&c_ty(self.types, t)?),
                        MacroPart::TypeLit(t) => s.push_str(t),
                    }
                }
                match st.vars.as_slice() {
                    [] => self.line(ind, &format!("{s};")),
                    [v] => {
                        let d = self.decl(v)?;
                        self.line(ind, &format!("{d} = {s};"));
                    }
                    _ => return Err(Unsupported::new("a macro with several results")),
                }
            }
            Expr::KernelIndex => {
                let v = one(st)?;
                let d = self.decl(&v)?;
                self.line(ind, &format!("{d} = __i;"));
            }
            Expr::Failwith(_) => {
                self.line(ind, "return 2;");
                // The statement's results are never read, but later code names them.
                for v in &st.vars {
                    let d = self.decl(v)?;
                    self.line(ind, &format!("{d};"));
                }
            }
            _ => return Err(Unsupported::new("unions, closures, layouts, calls and allocation are not supported inside a CPU kernel")),
        }
        Ok(())
    }
}

/// The C symbol of kernel `i` of `unit`.
pub fn kernel_symbol(unit: &str, i: usize) -> String {
    format!("spiral_{unit}_kernel{i}")
}

/// The C parameter list of a kernel, after the chunk bounds.
fn params(types: &Types, k: &Kernel) -> Result<Vec<String>, Unsupported> {
    let mut ps = vec!["int32_t __chunk_from".to_string(), "int32_t __chunk_to".to_string()];
    for p in &k.params {
        ps.push(format!("{} v{}", c_ty(types, &p.ty)?, p.id));
        if matches!(p.ty, Ty::Array(_)) {
            ps.push(format!("size_t v{}_len", p.id));
        }
    }
    Ok(ps)
}

/// Prints the CPU kernels of a program as one C translation unit.
pub fn print_c_kernels(types: &Types, kernels: &[Kernel], unit: &str) -> Result<String, Unsupported> {
    let mut p = CPrinter { types, out: String::new(), bounds: Default::default() };
    p.line(0, "// Generated by Spiral (CPU kernels). Do not edit.");
    p.line(0, "#include <stdint.h>");
    p.line(0, "#include <stdbool.h>");
    p.line(0, "#include <stddef.h>");
    p.line(0, "#include <stdlib.h>");
    p.line(0, "#include <math.h>");
    p.out.push_str(c_family::PRIMS_H);
    for (i, k) in kernels.iter().enumerate() {
        if &*k.backend != super::CPU_KERNEL_BACKEND {
            return Err(Unsupported::new(format!(
                "`join_backend {}` is not supported here: CPU kernels are `join_backend {}`",
                k.backend,
                super::CPU_KERNEL_BACKEND
            )));
        }
        if !k.ret.is_empty() {
            return Err(Unsupported::new("a CPU kernel body must return `()`"));
        }
        let ps = params(types, k)?;
        p.line(0, "// Returns 0, or 1 when an index is out of bounds, 2 on failwith, 3 on an integer division by zero.");
        p.line(0, &format!("int32_t {}({}) {{", kernel_symbol(unit, i), ps.join(", ")));
        // A kernel may not read every free variable it is given (a length, a scalar).
        for prm in &k.params {
            p.line(1, &format!("(void)v{};", prm.id));
            if matches!(prm.ty, Ty::Array(_)) {
                p.line(1, &format!("(void)v{}_len;", prm.id));
            }
        }
        p.bounds = super::bounds::kernel_bounds(k);
        for a in p.bounds.hoisted.clone() {
            p.line(1, &format!("if (__chunk_from < __chunk_to && (__chunk_from < 0 || (size_t)__chunk_to > v{a}_len)) return 1;"));
        }
        p.line(1, "for (int32_t __i = __chunk_from; __i < __chunk_to; __i++) {");
        p.block(&k.body, 2, None)?;
        p.line(1, "}");
        p.line(1, "return 0;");
        p.line(0, "}");
    }
    Ok(p.out)
}

/// The Rust `extern "C"` declarations of the kernels, named `kernel{i}` like the Rust kernels so
/// that the host code is the same on both paths.
pub fn print_extern_decls(types: &Types, kernels: &[Kernel], unit: &str) -> Result<String, Unsupported> {
    let mut s = String::from("unsafe extern \"C\" {\n");
    for (i, k) in kernels.iter().enumerate() {
        let mut ps = vec!["__chunk_from: i32".to_string(), "__chunk_to: i32".to_string()];
        for p in &k.params {
            let t = match &p.ty {
                Ty::Prim(x) => x.name().to_string(),
                Ty::Array(el) => match types.leaves(el).as_slice() {
                    [Ty::Prim(x)] => format!("*mut {}", x.name()),
                    _ => return Err(Unsupported::new("a CPU kernel takes arrays of primitives")),
                },
                other => return Err(Unsupported::new(format!("`{}` cannot be passed to a CPU kernel", types.show(other)))),
            };
            ps.push(format!("v{}: {t}", p.id));
            if matches!(p.ty, Ty::Array(_)) {
                ps.push(format!("v{}_len: usize", p.id));
            }
        }
        let _ = writeln!(s, "    #[link_name = \"{}\"] fn kernel{i}({}) -> i32;", kernel_symbol(unit, i), ps.join(", "));
    }
    s.push_str("}\n");
    Ok(s)
}

/// The zero of a literal's type (to tell a literal divisor of 0 from a non-zero one).
fn zero_of(l: &Lit) -> Lit {
    match l {
        Lit::I8(_) => Lit::I8(0),
        Lit::I16(_) => Lit::I16(0),
        Lit::I32(_) => Lit::I32(0),
        Lit::I64(_) => Lit::I64(0),
        Lit::U8(_) => Lit::U8(0),
        Lit::U16(_) => Lit::U16(0),
        Lit::U32(_) => Lit::U32(0),
        Lit::U64(_) => Lit::U64(0),
        other => other.clone(),
    }
}

//! Which input columns of an export are only read, so the wrapper can lend the caller's
//! buffers to the program instead of copying them.
//!
//! An input column reaches the residual `main` as a variable bound by the macro
//! `$"__spiral_argI_K.clone()"`. The variable is *read-only* when every use of it is an element
//! read (`ArrayGet`), a length (`ArrayLength`), or a kernel argument whose kernel parameter is
//! only read. Any other use (copied, stored, passed to a join point, written, returned) makes it
//! a regular shared mutable array, and its column is copied.

use crate::peval::ir::{Atom, Block, Expr, Kernel, MacroPart, PrimOp, Program};
use std::collections::{BTreeMap, BTreeSet};

/// The read-only input variables of `main` (by id) and the input columns (by the Rust name the
/// prelude binds, e.g. `__spiral_arg0_1`) all of whose variables are read-only.
pub fn readonly_inputs(prog: &Program) -> (BTreeSet<u32>, BTreeSet<String>) {
    // candidates: top-level `let v = $"__spiral_argI_K.clone()"` of array type
    let column_of = input_columns(prog, |t| t.strip_suffix(".clone()"));
    let written: Vec<BTreeSet<usize>> = prog.kernels.iter().map(written_params).collect();
    let mut bad: BTreeSet<u32> = BTreeSet::new();
    scan(&prog.main, &column_of, &mut bad, &|expr| match expr {
        Expr::ArrayGet { array, .. } => vec![array],
        Expr::Prim(PrimOp::ArrayLength, xs) => xs.first().into_iter().collect(),
        // An argument stays read-only when the kernel only reads that parameter.
        Expr::KernelLaunch { kernel, args, .. } => {
            let w = written.get(*kernel as usize);
            args.iter().enumerate().filter(|(j, _)| w.is_some_and(|w| !w.contains(j))).map(|(_, a)| a).collect()
        }
        _ => Vec::new(),
    });
    let ro: BTreeSet<u32> = column_of.keys().copied().filter(|v| !bad.contains(v)).collect();
    (ro, good_columns(&column_of, &bad))
}

/// The input columns of `&mut InvArray` and `InvSliceMut` parameters that can be lent to the
/// program as `&mut [T]` (the caller's buffer, used in place): every use of their variables
/// is an element read or write (as the array), a length, or a kernel argument. Returns each
/// candidate variable with its column (the Rust name the prelude binds, bound by the macro
/// `$"__spiral_argI_K"`) and the columns all of whose variables qualify.
pub fn lendable_mut_inputs(prog: &Program) -> (BTreeMap<u32, String>, BTreeSet<String>) {
    let column_of = input_columns(prog, |t| (!t.contains('.')).then_some(t));
    let mut bad: BTreeSet<u32> = BTreeSet::new();
    scan(&prog.main, &column_of, &mut bad, &|expr| match expr {
        Expr::ArrayGet { array, .. } | Expr::ArraySet { array, .. } => vec![array],
        Expr::Prim(PrimOp::ArrayLength, xs) => xs.first().into_iter().collect(),
        Expr::KernelLaunch { args, .. } => args.iter().collect(),
        _ => Vec::new(),
    });
    let good = good_columns(&column_of, &bad);
    (column_of, good)
}

/// The input columns of `&DeviceInvArray`/`&mut DeviceInvArray` parameters (GPU-resident):
/// their variables may only be kernel arguments, since their data is not on the host. Returns
/// each candidate variable with its column (bound by the macro `$"__spiral_argI_K"`), the
/// columns all of whose variables qualify, and the columns some kernel may write.
pub fn device_inputs(prog: &Program) -> (BTreeMap<u32, String>, BTreeSet<String>, BTreeSet<String>) {
    let column_of = input_columns(prog, |t| (!t.contains('.')).then_some(t));
    let written: Vec<BTreeSet<usize>> = prog.kernels.iter().map(written_params).collect();
    let mut bad: BTreeSet<u32> = BTreeSet::new();
    scan(&prog.main, &column_of, &mut bad, &|expr| match expr {
        Expr::KernelLaunch { args, .. } => args.iter().collect(),
        _ => Vec::new(),
    });
    let mut written_cols = BTreeSet::new();
    fn launches(b: &Block, f: &mut dyn FnMut(u32, &[Atom])) {
        for st in &b.stmts {
            if let Expr::KernelLaunch { kernel, args, .. } = &st.expr {
                f(*kernel, args);
            }
            for nb in st.expr.nested_blocks() {
                launches(nb, f);
            }
        }
    }
    launches(&prog.main, &mut |kernel, args| {
        for (j, a) in args.iter().enumerate() {
            if let Some(col) = var_id(a).and_then(|v| column_of.get(&v)) {
                if written.get(kernel as usize).is_none_or(|w| w.contains(&j)) {
                    written_cols.insert(col.clone());
                }
            }
        }
    });
    let good = good_columns(&column_of, &bad);
    (column_of, good, written_cols)
}

/// The array variables of `main` bound to an input column by a top-level macro statement whose
/// text `column` accepts (returning the column's name, `__spiral_argI_K`).
fn input_columns<'t>(prog: &'t Program, column: impl Fn(&'t str) -> Option<&'t str>) -> BTreeMap<u32, String> {
    let mut column_of = BTreeMap::new();
    for st in &prog.main.stmts {
        if let (Expr::Macro(parts), [v]) = (&st.expr, st.vars.as_slice()) {
            if let [MacroPart::Text(t)] = parts.as_slice() {
                if let Some(col) = column(t) {
                    if col.starts_with("__spiral_arg") && matches!(v.ty, crate::peval::ir::Ty::Array(_)) {
                        column_of.insert(v.id, col.to_string());
                    }
                }
            }
        }
    }
    column_of
}

/// The columns none of whose variables is in `bad`.
fn good_columns(column_of: &BTreeMap<u32, String>, bad: &BTreeSet<u32>) -> BTreeSet<String> {
    let mut cols: BTreeMap<&str, bool> = BTreeMap::new();
    for (v, c) in column_of {
        *cols.entry(c.as_str()).or_insert(true) &= !bad.contains(v);
    }
    cols.into_iter().filter(|(_, ok)| *ok).map(|(c, _)| c.to_string()).collect()
}

fn var_id(a: &Atom) -> Option<u32> {
    match a {
        Atom::Var(v) => Some(v.id),
        Atom::Lit(_) => None,
    }
}

/// Marks as `bad` every candidate used other than in a position `allowed` lists for its
/// statement, and every variable a block returns.
fn scan(b: &Block, cands: &BTreeMap<u32, String>, bad: &mut BTreeSet<u32>, allowed: &dyn Fn(&Expr) -> Vec<&Atom>) {
    for st in &b.stmts {
        let ok = allowed(&st.expr);
        for a in st.expr.atoms() {
            if let Some(v) = var_id(a) {
                if cands.contains_key(&v) && !ok.iter().any(|x| std::ptr::eq(*x, a)) {
                    bad.insert(v);
                }
            }
        }
        for nb in st.expr.nested_blocks() {
            scan(nb, cands, bad, allowed);
        }
    }
    for a in &b.result {
        if let Some(v) = var_id(a) {
            bad.insert(v);
        }
    }
}

/// The parameters a kernel may write: those used other than as the array of an element read
/// or of a length (conservative: copies and escapes count as writes).
pub(crate) fn written_params(k: &Kernel) -> BTreeSet<usize> {
    let params: BTreeMap<u32, usize> = k.params.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    let mut out = BTreeSet::new();
    fn walk(b: &Block, params: &BTreeMap<u32, usize>, out: &mut BTreeSet<usize>) {
        for st in &b.stmts {
            let allowed: Option<&Atom> = match &st.expr {
                Expr::ArrayGet { array, .. } => Some(array),
                Expr::Prim(PrimOp::ArrayLength, xs) => xs.first(),
                _ => None,
            };
            for a in st.expr.atoms() {
                if let Some(i) = var_id(a).and_then(|v| params.get(&v)) {
                    if !allowed.map(|x| std::ptr::eq(x, a)).unwrap_or(false) && matches!(a, Atom::Var(v) if matches!(v.ty, crate::peval::ir::Ty::Array(_))) {
                        out.insert(*i);
                    }
                }
            }
            for nb in st.expr.nested_blocks() {
                walk(nb, params, out);
            }
        }
        for a in &b.result {
            if let Some(i) = var_id(a).and_then(|v| params.get(&v)) {
                out.insert(*i);
            }
        }
    }
    walk(&k.body, &params, &mut out);
    out
}

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
    let mut column_of: BTreeMap<u32, String> = BTreeMap::new();
    for st in &prog.main.stmts {
        if let (Expr::Macro(parts), [v]) = (&st.expr, st.vars.as_slice()) {
            if let [MacroPart::Text(t)] = parts.as_slice() {
                if let Some(col) = t.strip_suffix(".clone()") {
                    if col.starts_with("__spiral_arg") && matches!(v.ty, crate::peval::ir::Ty::Array(_)) {
                        column_of.insert(v.id, col.to_string());
                    }
                }
            }
        }
    }
    let mut bad: BTreeSet<u32> = BTreeSet::new();
    let written: Vec<BTreeSet<usize>> = prog.kernels.iter().map(written_params).collect();
    scan(&prog.main, &column_of, &written, &mut bad);
    let ro: BTreeSet<u32> = column_of.keys().copied().filter(|v| !bad.contains(v)).collect();
    let mut cols: BTreeMap<&str, bool> = BTreeMap::new();
    for (v, c) in &column_of {
        let e = cols.entry(c.as_str()).or_insert(true);
        *e &= ro.contains(v);
    }
    let cols = cols.into_iter().filter(|(_, ok)| *ok).map(|(c, _)| c.to_string()).collect();
    (ro, cols)
}

/// The input columns of `&mut InvArray` and `InvSliceMut` parameters that can be lent to the
/// program as `&mut [T]` (the caller's buffer, used in place): every use of their variables
/// is an element read or write (as the array), a length, or a kernel argument. Returns each
/// candidate variable with its column (the Rust name the prelude binds, bound by the macro
/// `$"__spiral_argI_K"`) and the columns all of whose variables qualify.
pub fn lendable_mut_inputs(prog: &Program) -> (BTreeMap<u32, String>, BTreeSet<String>) {
    let mut column_of: BTreeMap<u32, String> = BTreeMap::new();
    for st in &prog.main.stmts {
        if let (Expr::Macro(parts), [v]) = (&st.expr, st.vars.as_slice()) {
            if let [MacroPart::Text(t)] = parts.as_slice() {
                if t.starts_with("__spiral_arg") && !t.contains('.') && matches!(v.ty, crate::peval::ir::Ty::Array(_)) {
                    column_of.insert(v.id, t.to_string());
                }
            }
        }
    }
    let mut bad: BTreeSet<u32> = BTreeSet::new();
    scan_mut(&prog.main, &column_of, &mut bad);
    let mut cols: BTreeMap<&str, bool> = BTreeMap::new();
    for (v, c) in &column_of {
        *cols.entry(c.as_str()).or_insert(true) &= !bad.contains(v);
    }
    let good = cols.into_iter().filter(|(_, ok)| *ok).map(|(c, _)| c.to_string()).collect();
    (column_of, good)
}

fn scan_mut(b: &Block, cands: &BTreeMap<u32, String>, bad: &mut BTreeSet<u32>) {
    for st in &b.stmts {
        let allowed: Vec<&Atom> = match &st.expr {
            Expr::ArrayGet { array, .. } | Expr::ArraySet { array, .. } => vec![array],
            Expr::Prim(PrimOp::ArrayLength, xs) => xs.first().into_iter().collect(),
            Expr::KernelLaunch { args, .. } => args.iter().collect(),
            _ => Vec::new(),
        };
        for a in st.expr.atoms() {
            if let Some(v) = var_id(a) {
                if cands.contains_key(&v) && !allowed.iter().any(|x| std::ptr::eq(*x, a)) {
                    bad.insert(v);
                }
            }
        }
        for nb in st.expr.nested_blocks() {
            scan_mut(nb, cands, bad);
        }
    }
    for a in &b.result {
        if let Some(v) = var_id(a) {
            bad.insert(v);
        }
    }
}

fn var_id(a: &Atom) -> Option<u32> {
    match a {
        Atom::Var(v) => Some(v.id),
        Atom::Lit(_) => None,
    }
}

fn scan(b: &Block, cands: &BTreeMap<u32, String>, written: &[BTreeSet<usize>], bad: &mut BTreeSet<u32>) {
    for st in &b.stmts {
        if let Expr::KernelLaunch { kernel, len, args } = &st.expr {
            // An argument stays read-only when the kernel only reads that parameter.
            for (j, a) in args.iter().enumerate() {
                if let Some(v) = var_id(a) {
                    if !written.get(*kernel as usize).is_some_and(|w| !w.contains(&j)) {
                        bad.insert(v);
                    }
                }
            }
            if let Some(v) = var_id(len) {
                bad.insert(v);
            }
        } else {
            let allowed: Option<&Atom> = match &st.expr {
                Expr::ArrayGet { array, .. } => Some(array),
                Expr::Prim(PrimOp::ArrayLength, xs) => xs.first(),
                _ => None,
            };
            for a in st.expr.atoms() {
                if let Some(v) = var_id(a) {
                    if cands.contains_key(&v) && !allowed.map(|x| std::ptr::eq(x, a)).unwrap_or(false) {
                        bad.insert(v);
                    }
                }
            }
        }
        for nb in st.expr.nested_blocks() {
            scan(nb, cands, written, bad);
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

//! Bounds checks for CPU kernels. Kernels index raw pointers, so every access is checked
//! against the array's length, except accesses at the loop index of an array whose length
//! is checked once, before the loop, against the chunk's end (the common `map` case, which then
//! vectorises like hand-written code).

use crate::peval::ir::{Atom, Block, Expr, Kernel};
use std::collections::BTreeSet;

/// What the printers need to place bounds checks in one kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelBounds {
    /// Variables bound to the loop index (`KernelIndex`).
    pub loop_vars: BTreeSet<u32>,
    /// Array parameters indexed by a loop variable somewhere: checked once per chunk.
    pub hoisted: BTreeSet<u32>,
}

impl KernelBounds {
    /// Whether an access `array[index]` is covered by the check before the loop.
    pub fn covered(&self, array: &Atom, index: &Atom) -> bool {
        match (array, index) {
            (Atom::Var(a), Atom::Var(i)) => self.hoisted.contains(&a.id) && self.loop_vars.contains(&i.id),
            _ => false,
        }
    }
}

/// Finds the loop variables and the arrays to check before the loop.
pub fn kernel_bounds(k: &Kernel) -> KernelBounds {
    let mut b = KernelBounds::default();
    collect_loop_vars(&k.body, &mut b.loop_vars);
    let params: BTreeSet<u32> = k.params.iter().map(|p| p.id).collect();
    collect_hoisted(&k.body, &b.loop_vars.clone(), &params, &mut b.hoisted);
    b
}

fn collect_loop_vars(b: &Block, out: &mut BTreeSet<u32>) {
    for st in &b.stmts {
        if let (Expr::KernelIndex, [v]) = (&st.expr, st.vars.as_slice()) {
            out.insert(v.id);
        }
        for n in st.expr.nested_blocks() {
            collect_loop_vars(n, out);
        }
    }
}

fn collect_hoisted(b: &Block, loop_vars: &BTreeSet<u32>, params: &BTreeSet<u32>, out: &mut BTreeSet<u32>) {
    for st in &b.stmts {
        let access = match &st.expr {
            Expr::ArrayGet { array, index } | Expr::ArraySet { array, index, .. } => Some((array, index)),
            _ => None,
        };
        if let Some((Atom::Var(a), Atom::Var(i))) = access {
            if params.contains(&a.id) && loop_vars.contains(&i.id) {
                out.insert(a.id);
            }
        }
        for n in st.expr.nested_blocks() {
            collect_hoisted(n, loop_vars, params, out);
        }
    }
}

/// The `chunk_set` writes of a kernel whose owned range can be computed once per kernel index,
/// at the top of the loop body: the array and the chunk count are kernel parameters (or the
/// count a literal). Returns `(array variable id, chunk count)` pairs.
pub fn owned_ranges(k: &Kernel) -> BTreeSet<(u32, Atom)> {
    let params: BTreeSet<u32> = k.params.iter().map(|p| p.id).collect();
    let mut out = BTreeSet::new();
    fn walk(b: &Block, params: &BTreeSet<u32>, out: &mut BTreeSet<(u32, Atom)>) {
        for st in &b.stmts {
            if let Expr::ChunkSet { array: Atom::Var(a), chunks, .. } = &st.expr {
                let known = match chunks {
                    Atom::Var(v) => params.contains(&v.id),
                    Atom::Lit(_) => true,
                };
                if known && params.contains(&a.id) {
                    out.insert((a.id, chunks.clone()));
                }
            }
            for nb in st.expr.nested_blocks() {
                walk(nb, params, out);
            }
        }
    }
    walk(&k.body, &params, &mut out);
    out
}

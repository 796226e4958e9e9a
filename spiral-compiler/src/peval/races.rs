//! The race check of kernels: a kernel body runs for many indices at once on several threads
//! (or GPU lanes), so two of them must never touch the same array element unless both use
//! atomics. The check runs on the residual kernel body, before any backend prints it:
//!
//! - a plain write `a[j]` is allowed only at the kernel's own index (`j` is the `KernelIndex`
//!   variable): distinct indices never collide;
//! - an array written at the kernel's index may be read only at that index (reading a
//!   neighbour would race with the neighbour's thread writing it);
//! - an array updated with atomics may be accessed only with atomics in that kernel;
//! - an array written with `chunk_set` (the library's scan and filter: each index writes only
//!   inside the range of the array its index owns, checked at run time) may not be accessed
//!   otherwise in that kernel, and all such writes use one chunk count;
//! - arrays in a GPU block's shared memory (`shared_array`) are outside the check: their
//!   accesses are ordered by `syncthreads`, which the library's block functions place; so are
//!   an UPMEM tasklet's private WRAM buffers (`tasklet_array`) and the library's DMA blocks
//!   (`mram_read`, `mram_write`), whose ranges the library gives each tasklet disjointly.
//!
//! Anything else is a compile error at the offending statement, so a generated safe function
//! never has a data race.

use super::ir::{Atom, Block, Expr, GpuOp, Kernel, Stmt};
use crate::diagnostics::Span;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
struct Uses {
    /// Variables bound to the kernel's index.
    index_vars: BTreeSet<u32>,
    /// Arrays written at the kernel's index, with the first such statement's span.
    written_at_index: BTreeMap<u32, Span>,
    /// Arrays read at another index, with the first such statement's span.
    read_elsewhere: BTreeMap<u32, Span>,
    /// Arrays read or written with a plain access.
    plain: BTreeMap<u32, Span>,
    /// Arrays updated with `atomic_add`.
    atomic: BTreeMap<u32, Span>,
    /// Arrays written with `chunk_set`: the chunk-count atom of the first such write.
    chunked: BTreeMap<u32, (Atom, Span)>,
    /// Arrays in a GPU block's shared memory, and copies of them.
    shared: BTreeSet<u32>,
}

fn var(a: &Atom) -> Option<u32> {
    match a {
        Atom::Var(v) => Some(v.id),
        Atom::Lit(_) => None,
    }
}

fn walk(b: &Block, u: &mut Uses) -> Result<(), (String, Span)> {
    for st in &b.stmts {
        visit(st, u)?;
        for nb in st.expr.nested_blocks() {
            walk(nb, u)?;
        }
    }
    Ok(())
}

fn visit(st: &Stmt, u: &mut Uses) -> Result<(), (String, Span)> {
    let at_index = |i: &Atom, u: &Uses| var(i).is_some_and(|i| u.index_vars.contains(&i));
    match &st.expr {
        Expr::KernelIndex => {
            u.index_vars.extend(st.vars.iter().map(|v| v.id));
        }
        Expr::Gpu { op: GpuOp::SharedArray { .. } | GpuOp::TaskletArray { .. }, .. } => {
            u.shared.extend(st.vars.iter().map(|v| v.id));
        }
        Expr::Atoms(xs) => {
            for (v, x) in st.vars.iter().zip(xs) {
                if var(x).is_some_and(|x| u.shared.contains(&x)) {
                    u.shared.insert(v.id);
                }
            }
        }
        Expr::ArraySet { array, .. } | Expr::ArrayGet { array, .. } if var(array).is_some_and(|a| u.shared.contains(&a)) => {}
        Expr::ArraySet { array, index, .. } => {
            let Some(a) = var(array) else { return Ok(()) };
            if !at_index(index, u) {
                return Err((
                    "this kernel writes an array element chosen by something other than the kernel's own index; two threads could write the same element at once (a data race). Write only at the kernel's index, or use `atomic_add` for counters".into(),
                    st.span,
                ));
            }
            u.written_at_index.entry(a).or_insert(st.span);
            u.plain.entry(a).or_insert(st.span);
        }
        Expr::ArrayGet { array, index } => {
            let Some(a) = var(array) else { return Ok(()) };
            if !at_index(index, u) {
                u.read_elsewhere.entry(a).or_insert(st.span);
            }
            u.plain.entry(a).or_insert(st.span);
        }
        Expr::ChunkSet { array, chunks, .. } => {
            let Some(a) = var(array) else { return Ok(()) };
            let first = u.chunked.entry(a).or_insert((chunks.clone(), st.span));
            if first.0 != *chunks {
                return Err((
                    "this kernel writes one array with `chunk_set` under two different chunk counts, so the ranges its indices own could overlap (a data race); use one chunk count per array".into(),
                    st.span,
                ));
            }
        }
        Expr::Atomic { array, .. } | Expr::AtomicCas { array, .. } => {
            if let Some(a) = var(array) {
                u.atomic.entry(a).or_insert(st.span);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Checks one kernel (see the module docs); the error carries the span of the statement.
pub(crate) fn check(k: &Kernel) -> Result<(), (String, Span)> {
    let mut u = Uses::default();
    walk(&k.body, &mut u)?;
    for (a, span) in &u.read_elsewhere {
        if u.written_at_index.contains_key(a) {
            return Err((
                "this kernel reads an element of an array at another index than its own while writing that array at its own index; the other element may be written by another thread at the same time (a data race). Read from a different array than the one written".into(),
                *span,
            ));
        }
    }
    for (a, (_, span)) in &u.chunked {
        if let Some(other) = u.plain.get(a).or_else(|| u.atomic.get(a)) {
            let _ = span;
            return Err((
                "an array written with `chunk_set` is also read or written otherwise in the same kernel; another index's thread may be writing that element at the same time (a data race). Read it in a later kernel".into(),
                *other,
            ));
        }
    }
    for (a, span) in &u.atomic {
        if u.plain.contains_key(a) {
            let _ = span;
            return Err((
                "an array updated with `atomic_add` is also read or written without atomics in the same kernel, which races with the atomic updates; read it in a later kernel".into(),
                u.plain[a],
            ));
        }
    }
    Ok(())
}

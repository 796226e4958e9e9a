//! The Rust backend: prints host-side residual programs as Rust function bodies, and
//! `join_backend` CPU kernels as Rust functions over raw column pointers.
//!
//! # Representation of residual values
//! | residual leaf | Rust |
//! | --- | --- |
//! | `i8`..`u64`, `f32`, `f64`, `bool`, `char` | the same Rust primitive |
//! | `string` | `Rc<str>` |
//! | `array t` (host) | `Rc<RefCell<Vec<E>>>`, `E` the leaves of `t` (one leaf: that type; several: a tuple) |
//! | `array t` (inside a kernel) | a raw pointer `*mut E` plus a length `usize` |
//! | `a -> b` closure | `Rc<dyn Fn(A..) -> B>` |
//! | union | an `enum` with one variant per case (heap unions behind `Rc`) |
//! | `heap t` / `mut t` | `Rc<RefCell<(leaves,)>>` |
//! | `$"..."` macro type | its text |
//!
//! Integer arithmetic wraps (as the residual IR specifies); comparisons yield `bool`.
//!
//! # Kernels
//! A kernel (`join_backend CpuKernel body`, see `lib/core/kernel.spir`) is the work for one index:
//! its body reads the index through the IR node `KernelIndex`. It becomes
//! `unsafe fn kernel{i}(__chunk_from: i32, __chunk_to: i32, params..)` that runs the body for
//! every index of its chunk; each runtime free variable is a parameter (an array as a pointer `vN`
//! and a length `vN_len`, a scalar by value). Array accesses are bounds-checked: once per chunk
//! for accesses at the loop index (see [`crate::codegen::kernel_bounds`]), otherwise at the access; a failed check
//! panics, which the device reports as `Error::KernelFailed`. On the host side a `KernelLaunch`
//! node (kernel id, length, one atom per kernel parameter) becomes one call of
//! `Device::for_each_chunk`, which runs the kernel on disjoint index chunks on its threads. Input
//! columns that the program only reads are lent to the kernel as slices (see [`readonly`]).
//! For `spiral-build`, [`c_kernel`] prints the same kernels as C, returning a status.
//!
//! # Exports
//! [`crate::driver::compile_exports`] compiles the Spiral functions named by `spiral!` signatures: each is
//! applied to its runtime arguments (the Rust parameters after `dev`), partially evaluated, and
//! printed as the body of the Rust function with that signature.


use crate::peval::ir::{
    Atom, AtomicOp, Block, Expr, Kernel, LayoutKind, Lit, MacroPart, PrimOp, PrimTy, Program, Stmt, Ty, Types, Var,
};
use std::fmt::Write;

pub mod c_kernel;
pub mod readonly;

pub use crate::codegen::CPU_KERNEL_BACKEND;

/// Where the kernels of a printed program live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelMode {
    /// As Rust functions next to the host code (`spiral!`).
    Rust,
    /// As C functions of the named unit, compiled by `spiral-build` and declared `extern "C"`.
    C(String),
    /// As CUDA kernels named `{prefix}_kernel{i}` (printed by
    /// [`crate::codegen::cuda::emit_cuda_kernels`]), launched through `spiral-rt` on a CUDA
    /// device: the body expects a `__SPIRAL_CUDA: ::spiral::KernelSource<'static>` in scope
    /// (PTX or CUDA source, see `spiral!` and spiral-build). Each launch copies the arrays it
    /// takes to the device and the ones it writes back.
    Cuda(String),
    /// As UPMEM DPU programs, kernel `i`'s function named `{prefix}_kernel{i}` (printed by
    /// [`crate::codegen::upmem::emit_upmem_kernels`]), launched through `spiral-rt` on an
    /// UPMEM device: the body expects a `__SPIRAL_UPMEM: [&'static str; N]` in scope (kernel
    /// `i`'s DPU C at index `i`). Each launch pushes the leaves the kernel reads and pulls back
    /// the ones it writes (see [`crate::codegen::upmem::param_flow`]).
    Upmem(String),
}

pub use spiral_abi::{Export, HostType, Param, Passing, ScalarKind, StructDef};


/// The Spiral entry point for one export: binds each parameter to its host value (macros
/// naming the Rust variables the prelude defines), applies the export and returns the leaves
/// the wrapper rebuilds its result from.
pub fn export_entry(e: &Export) -> String {
    export_entry_typed(e, &[])
}

/// [`export_entry`] calling a top-down definition with passed type parameters: the types
/// (bottom-up syntax) are applied first.
pub fn export_entry_typed(e: &Export, type_args: &[String]) -> String {
    let mut s = String::from("inl main () =\n");
    let mut args = Vec::new();
    for (i, p) in e.params.iter().enumerate() {
        let mut k = 0;
        // A moved-in (or `&mut`) inverse array's columns are moved into the program (one `Rc`
        // handle, so a column returned unchanged keeps its buffer); a borrowed one's are shared
        // handles.
        let v = spiral_host_value(&p.ty, &format!("__spiral_arg{i}"), &mut k, p.borrowed());
        s.push_str(&format!("    inl __spiral_p{i} = {v}\n"));
        args.push(format!("__spiral_p{i}"));
    }
    let head: String = std::iter::once(e.name.clone()).chain(type_args.iter().map(|t| format!("`({t})"))).collect::<Vec<_>>().join(" ");
    let call = if args.is_empty() { format!("{head} ()") } else { format!("{head} {}", args.join(" ")) };
    s.push_str(&format!("    inl __spiral_r = {call}\n"));
    match &e.ret {
        HostType::InvArray(_) => s.push_str("    __spiral_r.arrays\n"),
        _ => s.push_str("    __spiral_r\n"),
    }
    s
}

fn spiral_host_value(t: &HostType, base: &str, k: &mut usize, borrowed: bool) -> String {
    match t {
        HostType::Unit => "()".into(),
        HostType::Prim(p) => {
            let x = format!("($\"{base}_{k}\" : {})", p.name());
            *k += 1;
            x
        }
        HostType::Usize => {
            let x = format!("($\"{base}_{k}\" : i32)");
            *k += 1;
            x
        }
        HostType::Tuple(ts) => {
            let parts: Vec<String> = ts.iter().map(|t| spiral_host_value(t, base, k, borrowed)).collect();
            format!("({})", parts.join(", "))
        }
        HostType::Struct(d) => {
            let parts: Vec<String> = d.fields.iter().map(|(n, t)| format!("{n} = {}", spiral_host_value(t, base, k, borrowed))).collect();
            format!("{{{}}}", parts.join("; "))
        }
        HostType::InvArray(el) => {
            let arrays = spiral_host_arrays(el, base, k, borrowed);
            format!("{{len = ($\"{base}_len\" : i32); arrays = {arrays}}}")
        }
    }
}

fn spiral_host_arrays(el: &HostType, base: &str, k: &mut usize, borrowed: bool) -> String {
    match el {
        HostType::Unit | HostType::Usize => "()".into(),
        HostType::Prim(p) => {
            let clone = if borrowed { ".clone()" } else { "" };
            let x = format!("($\"{base}_{k}{clone}\" : array {})", p.name());
            *k += 1;
            x
        }
        HostType::Tuple(ts) => {
            let parts: Vec<String> = ts.iter().map(|t| spiral_host_arrays(t, base, k, borrowed)).collect();
            format!("({})", parts.join(", "))
        }
        HostType::Struct(d) => {
            let parts: Vec<String> = d.fields.iter().map(|(n, t)| format!("{n} = {}", spiral_host_arrays(t, base, k, borrowed))).collect();
            format!("{{{}}}", parts.join("; "))
        }
        HostType::InvArray(_) => "()".into(),
    }
}

/// The Rust statements that bind the variables [`export_entry`]'s macros name.
pub fn export_prelude(e: &Export) -> String {
    export_prelude_with(e, &Default::default(), &Default::default())
}

/// [`export_prelude`] where the columns named in `readonly` (see [`readonly::readonly_inputs`])
/// are lent as slices instead of being copied into shared arrays, and the `&mut`/`InvSliceMut`
/// parameters named in `lent_mut` (all of whose columns
/// [`readonly::lendable_mut_inputs`] allows) lend their buffers as `&mut [T]`.
pub fn export_prelude_with(e: &Export, readonly: &std::collections::BTreeSet<String>, lent_mut: &std::collections::BTreeSet<usize>) -> String {
    let mut s = String::new();
    for (i, p) in e.params.iter().enumerate() {
        let base = format!("__spiral_arg{i}");
        let mut k = 0;
        let lend = lent_mut.contains(&i);
        // A GPU-resident array: its length and one `&DeviceLeaf` per leaf (`export_body_with`
        // lets the program only pass them to kernels).
        if let (true, HostType::InvArray(el)) = (p.passing.on_device(), &p.ty) {
            let _ = writeln!(
                s,
                "let {base}_len: i32 = match i32::try_from({n}.len()) {{ Ok(n) => n, Err(_) => return Err(::spiral::Error::DeviceLimit {{ what: \"elements of an inverse array passed to a CUDA kernel\".into(), limit: i32::MAX as u64, requested: {n}.len() as u64 }}) }};",
                n = p.name
            );
            let mut leaves = Vec::new();
            el.leaves(&mut leaves);
            for j in 0..leaves.len() {
                let _ = writeln!(s, "let {base}_{j}: &::spiral::DeviceLeaf = &{}.leaves()[{j}];", p.name);
            }
            continue;
        }
        match &p.ty {
            HostType::InvArray(el) => {
                let tree = match p.passing {
                    Passing::Borrowed | Passing::Device | Passing::DeviceMut => ColumnTree::Slices,
                    Passing::BorrowedMut | Passing::SliceMut if lend => ColumnTree::SlicesMut,
                    Passing::Moved | Passing::BorrowedMut | Passing::SliceMut => ColumnTree::Columns,
                };
                let pat = rust_leaf_pattern(el, &format!("{base}_col"), &mut k, tree);
                let _ = writeln!(
                    s,
                    "let {base}_len: i32 = match i32::try_from({n}.len()) {{ Ok(n) => n, Err(_) => return Err(::spiral::Error::DeviceLimit {{ what: \"elements of an inverse array passed to a CPU kernel\".into(), limit: i32::MAX as u64, requested: {n}.len() as u64 }}) }};",
                    n = p.name
                );
                let mut leaves = Vec::new();
                el.leaves(&mut leaves);
                match p.passing {
                    Passing::Borrowed | Passing::Device | Passing::DeviceMut => {
                        let _ = writeln!(s, "let {pat} = {}.columns();", p.name);
                    }
                    Passing::BorrowedMut if lend => {
                        let _ = writeln!(s, "let {pat} = {}.columns_mut();", p.name);
                    }
                    // Never reached: `export_body` refuses a slice it cannot lend.
                    Passing::SliceMut => {
                        let _ = writeln!(s, "let {pat} = {}.into_columns();", p.name);
                    }
                    Passing::Moved => {
                        let _ = writeln!(s, "let {pat} = {}.into_columns();", p.name);
                    }
                    // The caller's buffers are moved out for the call and moved back by a guard
                    // when the body ends, however it ends: their data pointers never change.
                    Passing::BorrowedMut => {
                        let _ = writeln!(s, "let {pat} = ::std::mem::take(&mut *{}).into_columns();", p.name);
                    }
                }
                for (j, t) in leaves.iter().enumerate().take(k) {
                    let t = t.name();
                    let name = format!("{base}_{j}");
                    let col = format!("{base}_col{j}");
                    let line = match (readonly.contains(&name), p.passing) {
                        _ if lend => format!("let {name}: &mut [{t}] = {col};"),
                        (true, Passing::Borrowed) => format!("let {name}: &[{t}] = {col};"),
                        (true, Passing::Moved) => format!("let {name}: &[{t}] = &{col}[..];"),
                        (false, Passing::Borrowed) => format!("let {name} = ::std::rc::Rc::new(::std::cell::RefCell::new({col}.to_vec()));"),
                        (_, _) => format!("let {name} = ::std::rc::Rc::new(::std::cell::RefCell::new({col}));"),
                    };
                    let _ = writeln!(s, "{line}");
                }
                if p.passing == Passing::BorrowedMut && !lend {
                    let handles: Vec<String> = (0..k).map(|j| format!("{base}_{j}.clone()")).collect();
                    let mut it = (0..k).map(|j| format!("::std::mem::take(&mut *__h.{j}.borrow_mut())"));
                    let cols = columns_tree(el, &mut it);
                    let _ = writeln!(
                        s,
                        "let {base}_restore = {{ let __h = ({},); let __dst = &mut *{}; ::spiral::__private::on_drop(move || {{ *__dst = ::spiral::InvArray::from_columns({cols}).unwrap_or_default(); }}) }};",
                        handles.join(", "),
                        p.name
                    );
                }
            }
            t => {
                let pat = rust_leaf_pattern(t, &base, &mut k, ColumnTree::Value);
                let _ = writeln!(s, "let {pat} = {};", p.name);
                let mut j = 0;
                for leaf in usize_leaves(t, &base, &mut j) {
                    let _ = writeln!(
                        s,
                        "let {leaf}: i32 = match i32::try_from({leaf}) {{ Ok(n) => n, Err(_) => return Err(::spiral::Error::DeviceLimit {{ what: \"a usize passed to `{}` (Spiral lengths and indices are i32)\".into(), limit: i32::MAX as u64, requested: {leaf} as u64 }}) }};",
                        e.name
                    );
                }
            }
        }
    }
    s
}

/// Which Rust tree of a struct a pattern or expression builds: the value itself (`Particle`),
/// its owned columns (`ParticleColumns`, from `into_columns`) or its borrowed columns
/// (`ParticleSlices`, from `columns`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ColumnTree {
    Value,
    Columns,
    Slices,
    SlicesMut,
}

impl ColumnTree {
    fn struct_name(self, d: &StructDef) -> String {
        match self {
            ColumnTree::Value => d.name.clone(),
            ColumnTree::Columns => format!("{}Columns", d.name),
            ColumnTree::Slices => format!("{}Slices", d.name),
            ColumnTree::SlicesMut => format!("{}SlicesMut", d.name),
        }
    }
}

/// The names [`rust_leaf_pattern`] gives the `usize` leaves of a value of type `t`.
fn usize_leaves(t: &HostType, base: &str, k: &mut usize) -> Vec<String> {
    match t {
        HostType::Unit | HostType::InvArray(_) => Vec::new(),
        HostType::Prim(_) => {
            *k += 1;
            Vec::new()
        }
        HostType::Usize => {
            let x = format!("{base}_{k}");
            *k += 1;
            vec![x]
        }
        HostType::Tuple(ts) => ts.iter().flat_map(|t| usize_leaves(t, base, k)).collect(),
        HostType::Struct(d) => d.fields.iter().flat_map(|(_, t)| usize_leaves(t, base, k)).collect(),
    }
}

fn rust_leaf_pattern(t: &HostType, base: &str, k: &mut usize, tree: ColumnTree) -> String {
    match t {
        HostType::Unit | HostType::InvArray(_) => "_".into(),
        HostType::Prim(_) | HostType::Usize => {
            let x = format!("{base}_{k}");
            *k += 1;
            x.replace("_col_", "_col")
        }
        HostType::Tuple(ts) => {
            let parts: Vec<String> = ts.iter().map(|t| rust_leaf_pattern(t, base, k, tree)).collect();
            format!("({},)", parts.join(", "))
        }
        HostType::Struct(d) => {
            let parts: Vec<String> = d.fields.iter().map(|(n, t)| format!("{n}: {}", rust_leaf_pattern(t, base, k, tree))).collect();
            format!("{} {{ {} }}", tree.struct_name(d), parts.join(", "))
        }
    }
}

/// The Rust body of an export's wrapper, from its residual program.
pub fn export_body(prog: &Program, e: &Export) -> Result<String, Unsupported> {
    export_body_with(prog, e, &KernelMode::Rust)
}

/// [`export_body`] with the kernels where `mode` says.
pub fn export_body_with(prog: &Program, e: &Export, mode: &KernelMode) -> Result<String, Unsupported> {
    // `&mut InvArray` and `InvSliceMut` parameters whose columns are only read and written in
    // place lend the caller's buffers; otherwise an `&mut InvArray`'s buffers are moved in and
    // handed back by a guard, and an `InvSliceMut` (whose buffers cannot move) is refused.
    let (column_of, good) = readonly::lendable_mut_inputs(prog);
    let mut lent_params = std::collections::BTreeSet::new();
    for (i, p) in e.params.iter().enumerate() {
        if !matches!(p.passing, Passing::BorrowedMut | Passing::SliceMut) {
            continue;
        }
        let mut leaves = Vec::new();
        p.ty.leaves(&mut leaves);
        let all = (0..leaves.len()).all(|j| good.contains(&format!("__spiral_arg{i}_{j}")) || !column_of.values().any(|c| *c == format!("__spiral_arg{i}_{j}")));
        if all {
            lent_params.insert(i);
        } else if p.passing == Passing::SliceMut {
            return Err(Unsupported::new(format!(
                "`{}` is an `InvSliceMut`, whose buffers belong to the caller, but the Spiral function stores, returns or passes on one of its arrays; only element reads and writes, lengths and kernels can work on a slice in place (pass an `InvArray` instead)",
                p.name
            )));
        }
    }
    let dev_vars = match device_params(prog, e, mode)? {
        Ok(vars) => vars,
        Err(body) => return Ok(body),
    };
    let lent_vars: std::collections::BTreeSet<u32> = column_of
        .iter()
        .filter(|(_, c)| lent_params.iter().any(|i| c.strip_prefix(&format!("__spiral_arg{i}_")).is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit()))))
        .map(|(v, _)| *v)
        .collect();
    let (items, stmts, result) = print_program_lending(prog, &e.device, mode, lent_vars, dev_vars)?;
    // The whole body runs under `catch_host`: a failure inside a join point or closure, or an
    // index out of bounds on the host, becomes `Err(Error::KernelFailed)` instead of a panic
    // escaping the function.
    let mut s = format!("::spiral::__private::catch_host({:?}, || {{\n", e.name);
    s.push_str(&items);
    s.push_str("#[allow(dead_code)] fn __spiral_take_array<T: Clone>(a: ::std::rc::Rc<::std::cell::RefCell<Vec<T>>>) -> Vec<T> { match ::std::rc::Rc::try_unwrap(a) { Ok(c) => c.into_inner(), Err(a) => a.borrow().clone() } }\n");
    s.push_str(&export_prelude_with(e, &readonly::readonly_inputs(prog).1, &lent_params));
    s.push_str(&stmts);
    let mut it = result.into_iter();
    let r = result_expr(&e.ret, &mut it);
    let _ = writeln!(s, "Ok({r})");
    s.push_str("})\n");
    Ok(s)
}

/// The variables of `main` bound to the leaves of the export's GPU-resident parameters
/// (`&DeviceInvArray`, `&mut DeviceInvArray`), which CUDA launches pass in place. Errors when
/// the program uses one other than as a kernel argument, or a kernel writes a `&DeviceInvArray`.
/// `Ok(Err(body))` is the whole wrapper body when the kernels do not run on CUDA: a typed error.
fn device_params(prog: &Program, e: &Export, mode: &KernelMode) -> Result<Result<std::collections::BTreeSet<u32>, String>, Unsupported> {
    let Some(first) = e.params.iter().find(|p| p.passing.on_device()) else {
        return Ok(Ok(Default::default()));
    };
    if !matches!(mode, KernelMode::Cuda(_)) {
        let names: Vec<&str> = e.params.iter().map(|p| p.name.as_str()).collect();
        return Ok(Err(format!(
            "{{ let _ = ({},); Err(::spiral::Error::Unsupported {{ device: {dev}.to_string(), operation: \"run `{name}`, whose `{p}` is a DeviceInvArray in a GPU's memory (give it that GPU's device)\".into() }}) }}\n",
            names.join(", "),
            dev = e.device,
            name = e.name,
            p = first.name
        )));
    }
    let (column_of, good, written) = readonly::device_inputs(prog);
    let mut vars = std::collections::BTreeSet::new();
    for (i, p) in e.params.iter().enumerate().filter(|(_, p)| p.passing.on_device()) {
        let prefix = format!("__spiral_arg{i}_");
        let is_mine = |c: &str| c.strip_prefix(&prefix).is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit()));
        if column_of.values().any(|c| is_mine(c) && !good.contains(c)) {
            return Err(Unsupported::new(format!(
                "`{}` is a DeviceInvArray: its data stays in the GPU's memory, so the Spiral function may only pass its arrays to kernels (here the host reads, stores, returns or passes on one of them); take an `InvArray` to work on it on the host",
                p.name
            )));
        }
        if p.passing == Passing::Device && written.iter().any(|c| is_mine(c)) {
            return Err(Unsupported::new(format!(
                "`{}` is a `&DeviceInvArray`, but a kernel writes it; take `&mut DeviceInvArray` to update it in place",
                p.name
            )));
        }
        vars.extend(column_of.iter().filter(|(_, c)| is_mine(c)).map(|(v, _)| *v));
    }
    Ok(Ok(vars))
}

/// How a host value of an export's result type is rebuilt from residual leaves.
pub fn result_expr(ret: &HostType, leaves: &mut dyn Iterator<Item = String>) -> String {
    match ret {
        HostType::Unit => "()".into(),
        HostType::Prim(_) => leaves.next().unwrap_or_else(|| "Default::default()".into()),
        HostType::Usize => {
            let x = leaves.next().unwrap_or_else(|| "0i32".into());
            format!("{{ let __x: i32 = {x}; if __x < 0 {{ ::spiral::__private::fail(format!(\"the Spiral function returned {{}} where the signature has a usize\", __x)) }} __x as usize }}")
        }
        HostType::Tuple(ts) => {
            let parts: Vec<String> = ts.iter().map(|t| result_expr(t, leaves)).collect();
            format!("({},)", parts.join(", "))
        }
        HostType::Struct(d) => {
            let parts: Vec<String> = d.fields.iter().map(|(n, t)| format!("{n}: {}", result_expr(t, leaves))).collect();
            format!("{} {{ {} }}", d.name, parts.join(", "))
        }
        HostType::InvArray(el) => {
            let mut arrays = leaves.map(|a| format!("__spiral_take_array({a})"));
            let cols = columns_tree(el, &mut arrays);
            format!("::spiral::InvArray::from_columns({cols})?")
        }
    }
}

/// The owned column tree of an inverse array of `el` (`(Vec<A>, Vec<B>,)`, `FooColumns { .. }`)
/// with one expression from `cols` per leaf.
fn columns_tree(el: &HostType, cols: &mut dyn Iterator<Item = String>) -> String {
    match el {
        HostType::Unit => "()".into(),
        HostType::Prim(_) | HostType::Usize | HostType::InvArray(_) => cols.next().unwrap_or_else(|| "Default::default()".into()),
        HostType::Tuple(ts) => {
            let parts: Vec<String> = ts.iter().map(|t| columns_tree(t, cols)).collect();
            format!("({},)", parts.join(", "))
        }
        HostType::Struct(d) => {
            let parts: Vec<String> = d.fields.iter().map(|(n, t)| format!("{n}: {}", columns_tree(t, cols))).collect();
            format!("{}Columns {{ {} }}", d.name, parts.join(", "))
        }
    }
}

/// Errors the printer can report (constructs this backend does not support).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// What cannot be printed.
    pub message: String,
    /// The Spiral span of the statement that holds it, when known.
    pub span: Option<crate::diagnostics::Span>,
}

impl Unsupported {
    /// An error without a position yet.
    pub fn new(message: impl Into<String>) -> Unsupported {
        Unsupported { message: message.into(), span: None }
    }
    /// The same error at `span`, unless it already has a (more precise) position or `span` is
    /// unknown.
    pub fn at(mut self, span: crate::diagnostics::Span) -> Unsupported {
        if self.span.is_none() && span != crate::diagnostics::Span::default() {
            self.span = Some(span);
        }
        self
    }
}

/// Prints residual programs as Rust.
pub struct RustPrinter<'a> {
    prog: &'a Program,
    types: &'a Types,
    out: String,
    /// Inside a kernel: arrays are raw pointers.
    in_kernel: bool,
    /// The name of the device variable.
    dev: String,
    /// Input arrays of `main` that are only read: lent as `&[T]` (see [`readonly`]).
    ro: std::collections::BTreeSet<u32>,
    /// Input arrays of `main` lent as `&mut [T]` (see [`readonly::lendable_mut_inputs`]).
    lent: std::collections::BTreeSet<u32>,
    /// Input arrays of `main` that are leaves of GPU-resident parameters, `&DeviceLeaf`s that
    /// CUDA launches pass in place (see [`readonly::device_inputs`]).
    dev_arrays: std::collections::BTreeSet<u32>,
    /// Inside a kernel: which accesses the check before the loop covers.
    bounds: crate::codegen::kernel_bounds::KernelBounds,
    /// Kernels are C functions (they return a status instead of panicking).
    c_kernels: bool,
    /// Kernels are CUDA kernels named `{prefix}_kernel{i}` (see [`KernelMode::Cuda`]).
    cuda: Option<String>,
    /// Kernels are UPMEM DPU programs named `{prefix}_kernel{i}` (see [`KernelMode::Upmem`]).
    upmem: Option<String>,
    /// Printing the statements of `main` (the wrapper's body), where `return Err(..)` works.
    in_main: bool,
    /// What could not be printed, with the span of the statement being printed.
    errors: Vec<(String, crate::diagnostics::Span)>,
    /// The span of the statement being printed.
    cur_span: crate::diagnostics::Span,
    /// Inside a kernel: the `chunk_set` arrays whose owned range is computed at the top of the
    /// loop body (see [`crate::codegen::kernel_bounds::owned_ranges`]).
    owned_ranges: std::collections::BTreeSet<(u32, Atom)>,
}

/// The range `(from, to)` (as `i64`s) of array `v{id}` that kernel index `__i` owns when the
/// array is split into `n` chunks.
fn owned_range(id: u32, n: &str) -> String {
    format!("if ({n} as i64) > 0 {{ (__i as i64 * v{id}_len as i64 / {n} as i64, (__i as i64 + 1) * v{id}_len as i64 / {n} as i64) }} else {{ (0, 0) }}")
}

/// Prints a residual program as Rust: the items (union enums, methods, closures, kernels), the
/// statements of `main`, and one expression per leaf of `main`'s result.
pub fn print_program(prog: &Program, dev: &str) -> Result<(String, String, Vec<String>), Unsupported> {
    print_program_with(prog, dev, &KernelMode::Rust)
}

/// [`print_program`] with the kernels printed as `mode` says (Rust functions, or `extern "C"`
/// declarations of the C kernels that [`c_kernel::print_c_kernels`] prints).
pub fn print_program_with(prog: &Program, dev: &str, mode: &KernelMode) -> Result<(String, String, Vec<String>), Unsupported> {
    print_program_lending(prog, dev, mode, Default::default(), Default::default())
}

/// [`print_program_with`] where the input variables in `lent` are the caller's buffers lent
/// as `&mut [T]` (see [`readonly::lendable_mut_inputs`]).
fn print_program_lending(
    prog: &Program,
    dev: &str,
    mode: &KernelMode,
    lent: std::collections::BTreeSet<u32>,
    dev_arrays: std::collections::BTreeSet<u32>,
) -> Result<(String, String, Vec<String>), Unsupported> {
    let mut p = RustPrinter {
        lent,
        dev_arrays,
        owned_ranges: Default::default(),
        prog,
        types: &prog.types,
        out: String::new(),
        in_kernel: false,
        dev: dev.to_string(),
        ro: Default::default(),
        bounds: Default::default(),
        c_kernels: matches!(mode, KernelMode::C(_)),
        cuda: match mode {
            KernelMode::Cuda(prefix) => Some(prefix.clone()),
            _ => None,
        },
        upmem: match mode {
            KernelMode::Upmem(prefix) => Some(prefix.clone()),
            _ => None,
        },
        in_main: false,
        errors: Vec::new(),
        cur_span: crate::diagnostics::Span::default(),
    };
    p.items(mode)?;
    let items = std::mem::take(&mut p.out);
    p.ro = readonly::readonly_inputs(prog).0;
    p.in_main = true;
    for st in &prog.main.stmts {
        p.stmt(st, 0);
    }
    p.in_main = false;
    let stmts = std::mem::take(&mut p.out);
    // The result leaves are moved out (so arrays are returned without a copy); a variable that
    // appears twice is cloned after its first use.
    let mut seen = std::collections::BTreeSet::new();
    let mut result = Vec::new();
    for a in &prog.main.result {
        match a {
            Atom::Var(v) if seen.insert(v.id) => result.push(RustPrinter::var(v)),
            other => result.push(p.atom(other)),
        }
    }
    if let Some(e) = p.errors.first() {
        return Err(Unsupported { message: e.0.clone(), span: (e.1 != crate::diagnostics::Span::default()).then_some(e.1) });
    }
    Ok((items, stmts, result))
}

fn prim_name(p: PrimTy) -> &'static str {
    match p {
        PrimTy::String => "::std::rc::Rc<str>",
        other => other.name(),
    }
}

fn is_copy(t: &Ty) -> bool {
    matches!(t, Ty::Prim(p) if *p != PrimTy::String)
}

fn lit(l: &Lit) -> String {
    match l {
        Lit::I8(x) => format!("{x}i8"),
        Lit::I16(x) => format!("{x}i16"),
        Lit::I32(x) => format!("{x}i32"),
        Lit::I64(x) => format!("{x}i64"),
        Lit::U8(x) => format!("{x}u8"),
        Lit::U16(x) => format!("{x}u16"),
        Lit::U32(x) => format!("{x}u32"),
        Lit::U64(x) => format!("{x}u64"),
        Lit::F32(x) => float_lit(*x as f64, "f32", x.is_nan(), x.is_infinite()),
        Lit::F64(x) => float_lit(*x, "f64", x.is_nan(), x.is_infinite()),
        Lit::Bool(b) => format!("{b}"),
        Lit::Char(c) => format!("{c:?}"),
        Lit::String(s) => format!("::std::rc::Rc::<str>::from({:?})", &**s),
    }
}

fn float_lit(x: f64, ty: &str, nan: bool, inf: bool) -> String {
    if nan {
        format!("{ty}::NAN")
    } else if inf {
        if x > 0.0 {
            format!("{ty}::INFINITY")
        } else {
            format!("{ty}::NEG_INFINITY")
        }
    } else {
        let s = if ty == "f32" { format!("{:?}", x as f32) } else { format!("{x:?}") };
        format!("({s}{ty})")
    }
}

impl RustPrinter<'_> {
    fn err(&mut self, msg: impl Into<String>) {
        self.errors.push((msg.into(), self.cur_span));
    }

    /// The Rust type of a leaf.
    fn ty(&mut self, t: &Ty) -> String {
        match t {
            Ty::Prim(p) => prim_name(*p).into(),
            Ty::Array(el) => {
                let e = self.leaves_ty(el);
                if self.in_kernel {
                    format!("*mut {e}")
                } else {
                    format!("::std::rc::Rc<::std::cell::RefCell<Vec<{e}>>>")
                }
            }
            Ty::Fun(a, b) => {
                let args: Vec<String> = self.types.leaves(a).iter().map(|t| self.ty(t)).collect();
                let r = self.leaves_ty(b);
                format!("::std::rc::Rc<dyn Fn({}) -> {r}>", args.join(", "))
            }
            Ty::Union(i) => {
                let heap = self.types.unions.get(*i as usize).map(|u| u.heap).unwrap_or(false);
                if heap {
                    format!("::std::rc::Rc<Union{i}>")
                } else {
                    format!("Union{i}")
                }
            }
            Ty::Layout(_, inner) => {
                let ls: Vec<String> = self.types.leaves(inner).iter().map(|t| self.ty(t)).collect();
                format!("::std::rc::Rc<::std::cell::RefCell<({},)>>", ls.join(", "))
            }
            Ty::Macro(parts) => {
                let mut s = String::new();
                for p in parts.iter() {
                    match p {
                        MacroPart::Text(t) => s.push_str(t),
                        MacroPart::Type(t) => {
                            let x = self.ty(t);
                            s.push_str(&x)
                        }
                        MacroPart::TypeLit(t) => s.push_str(t),
                        MacroPart::Atom(a) => {
                            let x = self.atom(a);
                            s.push_str(&x)
                        }
                    }
                }
                s
            }
            Ty::Nominal(_) | Ty::Pair(..) | Ty::Record(_) | Ty::Unit | Ty::Symbol(_) | Ty::TypeLit(_) | Ty::Con(..) => {
                self.leaves_ty(t)
            }
        }
    }

    /// The Rust type holding all leaves of `t`: `()`, the single leaf, or a tuple.
    fn leaves_ty(&mut self, t: &Ty) -> String {
        let ls = self.types.leaves(t);
        self.tuple_ty(&ls)
    }

    fn tuple_ty(&mut self, ls: &[Ty]) -> String {
        match ls {
            [] => "()".into(),
            [one] => self.ty(one),
            many => {
                let v: Vec<String> = many.iter().map(|t| self.ty(t)).collect();
                format!("({})", v.join(", "))
            }
        }
    }

    fn var(v: &Var) -> String {
        format!("v{}", v.id)
    }

    /// The name of a kernel-local box (its leaves are the locals `{name}_{field}`). Boxes
    /// inside a kernel are state of one index's work: created, read and written in place, never
    /// passed on as values (which also keeps them out of reach of other threads).
    fn kernel_local_box(&mut self, a: &Atom) -> String {
        match a {
            Atom::Var(v) => Self::var(v),
            Atom::Lit(_) => {
                self.err("a box inside a kernel must be a variable");
                "_".into()
            }
        }
    }

    /// An atom as an expression (cloned when its type is not `Copy`).
    fn atom(&mut self, a: &Atom) -> String {
        match a {
            Atom::Var(v) if self.in_kernel && matches!(v.ty, Ty::Layout(..)) => {
                self.err("a `mut`/`heap` box inside a kernel can only be read and written where it is created (it cannot be passed on, returned or captured)");
                Self::var(v)
            }
            Atom::Var(v) => {
                if is_copy(&v.ty) || (self.in_kernel && matches!(v.ty, Ty::Array(_))) || (!self.in_kernel && (self.ro.contains(&v.id) || self.lent.contains(&v.id))) {
                    Self::var(v)
                } else {
                    format!("v{}.clone()", v.id)
                }
            }
            Atom::Lit(l) => lit(l),
        }
    }

    fn atoms(&mut self, xs: &[Atom]) -> Vec<String> {
        xs.iter().map(|a| self.atom(a)).collect()
    }

    fn tuple_expr(parts: &[String]) -> String {
        match parts {
            [one] => one.clone(),
            many => format!("({})", many.join(", ")),
        }
    }

    fn pattern(vars: &[Var]) -> String {
        match vars {
            [] => "()".into(),
            [one] => Self::var(one),
            many => format!("({})", many.iter().map(Self::var).collect::<Vec<_>>().join(", ")),
        }
    }

    fn line(&mut self, indent: usize, s: &str) {
        for _ in 0..indent.min(crate::codegen::MAX_INDENT) {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    /// Prints a block as a Rust block expression body (statements, then the result).
    fn block_expr(&mut self, b: &Block, indent: usize) {
        for st in &b.stmts {
            self.stmt(st, indent);
        }
        let r = self.atoms(&b.result);
        let r = if r.is_empty() { "()".to_string() } else { Self::tuple_expr(&r) };
        self.line(indent, &r);
    }

    fn prim(&mut self, op: &PrimOp, xs: &[Atom], res: Option<&Ty>) -> String {
        let a: Vec<String> = self.atoms(xs);
        let arg_ty = xs.first().map(|x| match x {
            Atom::Var(v) => v.ty.clone(),
            Atom::Lit(l) => Ty::Prim(l.ty()),
        });
        let int = matches!(arg_ty, Some(Ty::Prim(p)) if p.is_int());
        let g = |i: usize| a.get(i).cloned().unwrap_or_default();
        let bin = |m: &str, o: &str| {
            if int {
                format!("{}.{m}({})", g(0), g(1))
            } else {
                format!("({} {o} {})", g(0), g(1))
            }
        };
        match op {
            PrimOp::Add => bin("wrapping_add", "+"),
            PrimOp::Sub => bin("wrapping_sub", "-"),
            PrimOp::Mul => bin("wrapping_mul", "*"),
            // A zero divisor fails without the panic hook's message (see c_family's table).
            PrimOp::Div | PrimOp::Rem if int => {
                let m = if matches!(op, PrimOp::Div) { "wrapping_div" } else { "wrapping_rem" };
                format!(
                    "{{ let __d = {}; if __d == 0 {{ ::spiral::__private::fail(::std::string::String::from(\"integer division by zero\")) }} {}.{m}(__d) }}",
                    g(1),
                    g(0)
                )
            }
            PrimOp::Div => bin("wrapping_div", "/"),
            PrimOp::Rem => bin("wrapping_rem", "%"),
            PrimOp::Pow => format!("{}.powf({})", g(0), g(1)),
            PrimOp::Neg => {
                if int {
                    format!("{}.wrapping_neg()", g(0))
                } else {
                    format!("(-{})", g(0))
                }
            }
            PrimOp::Eq => format!("({} == {})", g(0), g(1)),
            PrimOp::Ne => format!("({} != {})", g(0), g(1)),
            PrimOp::Lt => format!("({} < {})", g(0), g(1)),
            PrimOp::Le => format!("({} <= {})", g(0), g(1)),
            PrimOp::Gt => format!("({} > {})", g(0), g(1)),
            PrimOp::Ge => format!("({} >= {})", g(0), g(1)),
            PrimOp::Not | PrimOp::BitNot => format!("(!{})", g(0)),
            PrimOp::BitAnd => format!("({} & {})", g(0), g(1)),
            PrimOp::BitOr => format!("({} | {})", g(0), g(1)),
            PrimOp::BitXor => format!("({} ^ {})", g(0), g(1)),
            PrimOp::Shl => format!("{}.wrapping_shl({} as u32)", g(0), g(1)),
            PrimOp::Shr => format!("{}.wrapping_shr({} as u32)", g(0), g(1)),
            PrimOp::Conv(t) => match (arg_ty, t) {
                (Some(Ty::Prim(PrimTy::Bool)), PrimTy::Bool) => g(0),
                (_, PrimTy::Bool) => format!("({} != 0 as _)", g(0)),
                (Some(Ty::Prim(PrimTy::Char)), t) if t.is_float() => format!("(({} as u32) as {})", g(0), t.name()),
                (_, PrimTy::Char) => format!("::core::char::from_u32({} as u32).unwrap_or('\\0')", g(0)),
                (_, PrimTy::String) => format!("::std::rc::Rc::<str>::from({}.to_string())", g(0)),
                (Some(Ty::Prim(PrimTy::Bool)), t) if t.is_float() => format!("(({} as u8) as {})", g(0), t.name()),
                (_, t) => format!("({} as {})", g(0), t.name()),
            },
            PrimOp::FloatFn(n) => format!("{}.{n}()", g(0)),
            PrimOp::IsNan => format!("{}.is_nan()", g(0)),
            PrimOp::StringLength => {
                let t = res.map(|t| self.ty(t)).unwrap_or_else(|| "i32".into());
                format!("({}.len() as {t})", g(0))
            }
            PrimOp::StringIndex => format!("({}.as_bytes()[{} as usize] as char)", g(0), g(1)),
            PrimOp::StringSlice => {
                format!("::std::rc::Rc::<str>::from(&{}[{} as usize..{} as usize])", g(0), g(1), g(2))
            }
            PrimOp::StringConcat => format!("::std::rc::Rc::<str>::from(format!(\"{{}}{{}}\", {}, {}))", g(0), g(1)),
            PrimOp::ArrayLength => {
                let t = res.map(|t| self.ty(t)).unwrap_or_else(|| "i32".into());
                if self.in_kernel {
                    match xs.first() {
                        Some(Atom::Var(v)) => format!("(v{}_len as {t})", v.id),
                        _ => "0".into(),
                    }
                } else if matches!(xs.first(), Some(Atom::Var(v)) if self.ro.contains(&v.id) || self.lent.contains(&v.id)) {
                    format!("({}.len() as {t})", g(0))
                } else {
                    format!("({}.borrow().len() as {t})", g(0))
                }
            }
        }
    }

    fn macro_text(&mut self, parts: &[MacroPart]) -> String {
        let mut s = String::new();
        for p in parts {
            match p {
                MacroPart::Text(t) => s.push_str(t),
                MacroPart::Atom(a) => {
                    let x = match a {
                        Atom::Var(v) => Self::var(v),
                        Atom::Lit(l) => lit(l),
                    };
                    s.push_str(&x)
                }
                MacroPart::Type(t) => {
                    let x = self.ty(t);
                    s.push_str(&x)
                }
                MacroPart::TypeLit(t) => s.push_str(t),
            }
        }
        s
    }

    fn stmt(&mut self, st: &Stmt, ind: usize) {
        self.cur_span = st.span;
        let lhs = if st.vars.is_empty() { "let _ = ".to_string() } else { format!("let {} = ", Self::pattern(&st.vars)) };
        let res_ty = st.vars.first().map(|v| v.ty.clone());
        match &st.expr {
            Expr::Atoms(xs) => {
                let a = self.atoms(xs);
                let e = if a.is_empty() { "()".into() } else { Self::tuple_expr(&a) };
                self.line(ind, &format!("{lhs}{e};"));
                if self.in_kernel {
                    for (v, x) in st.vars.iter().zip(xs) {
                        if let (Ty::Array(_), Atom::Var(src)) = (&v.ty, x) {
                            self.line(ind, &format!("let v{}_len = v{}_len;", v.id, src.id));
                        }
                    }
                }
            }
            Expr::Prim(op, xs) => {
                let e = self.prim(op, xs, res_ty.as_ref());
                self.line(ind, &format!("{lhs}{e};"));
            }
            Expr::If { cond, then, els } => {
                let c = self.atom(cond);
                self.line(ind, &format!("{lhs}if {c} {{"));
                self.block_expr(then, ind + 1);
                self.line(ind, "} else {");
                self.block_expr(els, ind + 1);
                self.line(ind, "};");
            }
            Expr::While { cond, body } => {
                self.line(ind, "while {");
                self.block_expr(cond, ind + 1);
                self.line(ind, "} {");
                self.block_expr(body, ind + 1);
                self.line(ind, "}");
            }
            Expr::Call { method, args } => {
                let a = self.atoms(args);
                self.line(ind, &format!("{lhs}method{method}({});", a.join(", ")));
            }
            Expr::Box { union, case, args } => {
                let a = self.atoms(args);
                let heap = self.types.unions.get(*union as usize).map(|u| u.heap).unwrap_or(false);
                let v = if a.is_empty() { format!("Union{union}::C{case}") } else { format!("Union{union}::C{case}({})", a.join(", ")) };
                let v = if heap { format!("::std::rc::Rc::new({v})") } else { v };
                self.line(ind, &format!("{lhs}{v};"));
            }
            Expr::Match { scrut, arms, default } => {
                let s = match scrut {
                    Atom::Var(v) => format!("(*v{}).clone()", v.id),
                    Atom::Lit(l) => lit(l),
                };
                let u = match scrut {
                    Atom::Var(Var { ty: Ty::Union(u), .. }) => *u,
                    _ => {
                        self.err("match on a non-union value");
                        0
                    }
                };
                let heap = self.types.unions.get(u as usize).map(|x| x.heap).unwrap_or(false);
                let s = if heap { s } else { s.replacen("(*", "(", 1) };
                self.line(ind, &format!("{lhs}match {s} {{"));
                for arm in arms {
                    let pat = if arm.vars.is_empty() {
                        format!("Union{u}::C{}", arm.case)
                    } else {
                        format!("Union{u}::C{}({})", arm.case, arm.vars.iter().map(Self::var).collect::<Vec<_>>().join(", "))
                    };
                    self.line(ind + 1, &format!("{pat} => {{"));
                    self.block_expr(&arm.body, ind + 2);
                    self.line(ind + 1, "}");
                }
                if let Some(d) = default {
                    self.line(ind + 1, "#[allow(unreachable_patterns)] _ => {");
                    self.block_expr(d, ind + 2);
                    self.line(ind + 1, "}");
                }
                self.line(ind, "};");
            }
            // Inside a kernel a box is kernel-local state (a loop counter, an accumulator): one
            // local per leaf, never a value (see `kernel_local_box`).
            Expr::LayoutNew { args, .. } if self.in_kernel => {
                let a = self.atoms(args);
                match st.vars.first() {
                    Some(v) => {
                        for (k, x) in a.iter().enumerate() {
                            self.line(ind, &format!("#[allow(unused_mut)] let mut v{}_{k} = {x};", v.id));
                        }
                    }
                    None => self.err("a box inside a kernel must be bound to a name"),
                }
            }
            Expr::LayoutGet { layout, field } if self.in_kernel => {
                let l = self.kernel_local_box(layout);
                self.line(ind, &format!("{lhs}{l}_{field};"));
            }
            Expr::LayoutSet { layout, field, value } if self.in_kernel => {
                let l = self.kernel_local_box(layout);
                let v = self.atom(value);
                self.line(ind, &format!("{l}_{field} = {v};"));
            }
            Expr::LayoutNew { args, .. } => {
                let a = self.atoms(args);
                self.line(ind, &format!("{lhs}::std::rc::Rc::new(::std::cell::RefCell::new(({},)));", a.join(", ")));
            }
            Expr::LayoutGet { layout, field } => {
                let l = self.atom(layout);
                self.line(ind, &format!("{lhs}{l}.borrow().{field}.clone();"));
            }
            Expr::LayoutSet { layout, field, value } => {
                let l = self.atom(layout);
                let v = self.atom(value);
                if let Atom::Var(Var { ty: Ty::Layout(LayoutKind::Heap, _), .. }) = layout {
                    self.err("cannot set a field of an immutable `heap` layout");
                }
                self.line(ind, &format!("{l}.borrow_mut().{field} = {v};"));
            }
            Expr::ArrayNew { ty, len } => {
                let n = self.atom(len);
                if self.in_kernel {
                    self.err("arrays cannot be allocated inside a CPU kernel");
                }
                let el = match ty {
                    Ty::Array(e) => self.leaves_ty(e),
                    _ => "()".into(),
                };
                self.line(
                    ind,
                    &format!("{lhs}::std::rc::Rc::new(::std::cell::RefCell::new(vec![<{el} as Default>::default(); {n} as usize]));"),
                );
            }
            Expr::ArrayLit { elems, .. } => {
                let es: Vec<String> = elems
                    .iter()
                    .map(|e| {
                        let a = self.atoms(e);
                        if a.is_empty() { "()".into() } else { Self::tuple_expr(&a) }
                    })
                    .collect();
                self.line(ind, &format!("{lhs}::std::rc::Rc::new(::std::cell::RefCell::new(vec![{}]));", es.join(", ")));
            }
            Expr::ArrayGet { array, index } => {
                let i = self.atom(index);
                let a = self.atom(array);
                if self.in_kernel {
                    self.bounds_check(array, index, &i, ind);
                    self.line(ind, &format!("{lhs}*{a}.add({i} as usize);"));
                } else if matches!(array, Atom::Var(v) if self.ro.contains(&v.id) || self.lent.contains(&v.id)) {
                    self.line(ind, &format!("{lhs}*::spiral::__private::element(&{a}[..], {i} as i64);"));
                } else {
                    // Out of bounds is a Spiral failure (an `Err`), without the panic hook.
                    self.line(ind, &format!("{lhs}::spiral::__private::element(&{a}.borrow(), {i} as i64).clone();"));
                }
            }
            Expr::ArraySet { array, index, value } => {
                let i = self.atom(index);
                let a = self.atom(array);
                let v = self.atoms(value);
                let v = if v.is_empty() { "()".into() } else { Self::tuple_expr(&v) };
                if self.in_kernel {
                    self.bounds_check(array, index, &i, ind);
                    self.line(ind, &format!("*{a}.add({i} as usize) = {v};"));
                } else if matches!(array, Atom::Var(x) if self.lent.contains(&x.id)) {
                    self.line(ind, &format!("*::spiral::__private::element_mut(&mut {a}[..], {i} as i64) = {v};"));
                } else {
                    self.line(ind, &format!("*::spiral::__private::element_mut(&mut {a}.borrow_mut(), {i} as i64) = {v};"));
                }
            }
            Expr::LengthCheck { expected, found, what } => {
                let (e, f) = (self.atom(expected), self.atom(found));
                if self.in_kernel {
                    self.err("a length check cannot run inside a kernel");
                } else if self.in_main {
                    self.line(
                        ind,
                        &format!("if {e} != {f} {{ return Err(::spiral::Error::LengthMismatch {{ what: {what:?}.into(), expected: {e} as usize, found: {f} as usize }}); }}"),
                    );
                } else {
                    self.line(ind, &format!("if {e} != {f} {{ ::spiral::__private::fail(format!(\"{{}}: expected {{}} elements, found {{}}\", {what:?}, {e}, {f})) }}"));
                }
            }
            Expr::ChunkSet { array, index, value, chunks } => {
                let (Atom::Var(av), true) = (array, self.in_kernel) else {
                    self.err("`chunk_set` is for kernels");
                    return;
                };
                let (i, a, v) = (self.atom(index), self.atom(array), self.atom(value));
                // The range kernel index `__i` owns (distinct indices own disjoint ranges),
                // computed once per index at the top of the loop body when the chunk count is
                // known there.
                let (from, to) = if self.owned_ranges.contains(&(av.id, chunks.clone())) {
                    (format!("__from{}", av.id), format!("__to{}", av.id))
                } else {
                    let n = self.atom(chunks);
                    self.line(ind, &format!("let (__from, __to) = {};", owned_range(av.id, &n)));
                    ("__from".to_string(), "__to".to_string())
                };
                self.line(ind, &format!("if !(({i} as i64) >= {from} && ({i} as i64) < {to}) {{ ::spiral::__private::fail(format!(\"CPU kernel: chunk_set writes element {{}}, outside the range {{}}..{{}} that kernel index {{}} owns\", {i}, {from}, {to}, __i)) }}"));
                self.line(ind, &format!("*{a}.add({i} as usize) = {v};"));
            }
            Expr::Atomic { array, index, value, .. } | Expr::AtomicCas { array, index, desired: value, .. } => {
                let el = match array {
                    Atom::Var(Var { ty: Ty::Array(el), .. }) => (**el).clone(),
                    _ => Ty::i32(),
                };
                let atomic = match &el {
                    Ty::Prim(p) if p.is_int() => format!("::core::sync::atomic::Atomic{}", capitalize(p.name())),
                    _ => {
                        self.err("atomics need an array of integers");
                        return;
                    }
                };
                if !self.in_kernel {
                    self.err("atomics are for kernels");
                    return;
                }
                let (i, a, v) = (self.atom(index), self.atom(array), self.atom(value));
                self.bounds_check(array, index, &i, ind);
                // SAFETY of the cast: Vec buffers of integers are aligned for their atomic type,
                // and every access to this array in the kernel is atomic (the evaluator's race
                // check).
                let cell = format!("(*({a}.add({i} as usize) as *const {atomic}))");
                let relaxed = "::core::sync::atomic::Ordering::Relaxed";
                match &st.expr {
                    Expr::AtomicCas { expected, .. } => {
                        let e = self.atom(expected);
                        self.line(ind, &format!("{lhs}match {cell}.compare_exchange({e}, {v}, {relaxed}, {relaxed}) {{ Ok(__x) | Err(__x) => __x }};"));
                    }
                    Expr::Atomic { op, .. } => {
                        let f = match op {
                            AtomicOp::Add => "fetch_add",
                            AtomicOp::Min => "fetch_min",
                            AtomicOp::Max => "fetch_max",
                        };
                        self.line(ind, &format!("{cell}.{f}({v}, {relaxed});"));
                    }
                    _ => {}
                }
            }
            Expr::ClosureNew { closure, captured } => {
                let c = self.prog.closures.get(*closure as usize).cloned();
                let Some(c) = c else {
                    self.err("unknown closure");
                    return;
                };
                let caps = self.atoms(captured);
                let mut s = String::from("{ ");
                for (i, a) in caps.iter().enumerate() {
                    let _ = write!(s, "let __c{i} = {a}; ");
                }
                let params: Vec<String> = c
                    .params
                    .iter()
                    .map(|p| {
                        let t = self.ty(&p.ty);
                        format!("{}: {t}", Self::var(p))
                    })
                    .collect();
                let mut args: Vec<String> = (0..caps.len()).map(|i| format!("__c{i}.clone()")).collect();
                args.extend(c.params.iter().map(Self::var));
                let fty = self.ty(&c.ty);
                let _ = write!(s, "let __f: {fty} = ::std::rc::Rc::new(move |{}| closure{closure}({})); __f }}", params.join(", "), args.join(", "));
                self.line(ind, &format!("{lhs}{s};"));
            }
            Expr::ClosureCall { fun, args } => {
                let f = self.atom(fun);
                let a = self.atoms(args);
                self.line(ind, &format!("{lhs}({f})({});", a.join(", ")));
            }
            Expr::Macro(parts) => self.macro_stmt(parts, &st.vars, &lhs, ind),
            Expr::KernelIndex => {
                if self.in_kernel {
                    self.line(ind, &format!("{lhs}__i;"));
                } else {
                    self.err("the kernel index is read outside a kernel");
                }
            }
            Expr::KernelLaunch { kernel, len, args, blocks } => self.launch(*kernel, len, args, *blocks, ind),
            Expr::Gpu { op: crate::peval::ir::GpuOp::Dpus, .. } if !self.in_kernel && self.upmem.is_some() => {
                let dev = self.dev.clone();
                self.line(ind, &format!("{lhs}(::spiral::Device::upmem_dpus({dev}) as i32);"));
            }
            Expr::Gpu { op, .. } => self.err(format!("`{}` is a GPU block operation; a CPU kernel has none", op.name())),
            Expr::Failwith(msg) => {
                let m = self.atom(msg);
                if self.in_main {
                    // In the wrapper's own body: a typed error for the caller.
                    self.line(
                        ind,
                        &format!("{lhs}return Err(::spiral::Error::KernelFailed {{ kernel: ::spiral::CPU_CLOSURE.into(), message: {m}.to_string() }});"),
                    );
                } else {
                    // Inside a join point, closure or kernel: unwinds (without the panic hook's
                    // message) to the device or to the wrapper's `catch_host`, which return `Err`.
                    self.line(ind, &format!("{lhs}::spiral::__private::fail({m}.to_string());"));
                }
            }
        }
    }

    fn macro_stmt(&mut self, parts: &[MacroPart], vars: &[Var], lhs: &str, ind: usize) {
        let text = self.macro_text(parts);
        if vars.is_empty() {
            self.line(ind, &format!("{text};"));
        } else if let [v] = vars {
            let (t, text) = match &v.ty {
                // A lent input column is a `&[T]`: copying the reference needs no `.clone()`.
                Ty::Array(el) if self.ro.contains(&v.id) => {
                    (format!("&[{}]", self.leaves_ty(el)), text.strip_suffix(".clone()").unwrap_or(&text).to_string())
                }
                // A lent `&mut` buffer: the reference moves into the variable.
                Ty::Array(el) if self.lent.contains(&v.id) => (format!("&mut [{}]", self.leaves_ty(el)), text),
                Ty::Array(_) if self.dev_arrays.contains(&v.id) => ("&::spiral::DeviceLeaf".to_string(), text),
                other => (self.ty(other), text),
            };
            self.line(ind, &format!("let {}: {t} = {text};", Self::var(v)));
        } else {
            self.line(ind, &format!("{lhs}{text};"));
        }
    }

    /// A bounds check for `array[index]` inside a kernel, unless the check before the loop covers it.
    fn bounds_check(&mut self, array: &Atom, index: &Atom, i: &str, ind: usize) {
        if self.bounds.covered(array, index) {
            return;
        }
        if let Atom::Var(a) = array {
            self.line(
                ind,
                &format!("if {i} as usize >= v{id}_len {{ ::spiral::__private::fail(format!(\"CPU kernel: index {{}} is out of bounds of an array of {{}} elements\", {i}, v{id}_len)) }}", id = a.id),
            );
        }
    }

    /// Prints the host-side launch of a CPU kernel over `0..len`, in chunks on the device's threads.
    fn launch(&mut self, id: u32, len: &Atom, args: &[Atom], blocks: bool, ind: usize) {
        if let Some(prefix) = self.cuda.clone() {
            return self.cuda_launch(&prefix, id, len, args, blocks, ind);
        }
        if let Some(prefix) = self.upmem.clone() {
            return self.upmem_launch(&prefix, id, len, args, blocks, ind);
        }
        if blocks {
            return self.err("a block launch (`parallel_blocks`) runs a CUDA kernel; this export's kernels run on the CPU");
        }
        let len = self.atom(len);
        self.line(ind, "{");
        let mut call_args = Vec::new();
        for (i, a) in args.iter().enumerate() {
            match a {
                Atom::Var(Var { id, ty: Ty::Array(el) }) => {
                    let v = Var { id: *id, ty: Ty::Array(el.clone()) };
                    if self.ro.contains(&v.id) {
                        // Only read by the kernel: the caller's buffer is lent, not copied.
                        self.line(ind + 1, &format!("let (__p{i}, __n{i}) = (v{id}.as_ptr() as usize, v{id}.len());", id = v.id));
                    } else if self.lent.contains(&v.id) {
                        // The caller's `&mut` buffer, used in place.
                        self.line(ind + 1, &format!("let (__p{i}, __n{i}) = (v{id}.as_mut_ptr() as usize, v{id}.len());", id = v.id));
                    } else {
                        self.line(ind + 1, &format!("let (__p{i}, __n{i}) = {{ let mut __b = v{}.borrow_mut(); (__b.as_mut_ptr() as usize, __b.len()) }};", v.id));
                    }
                    let t = self.leaves_ty(el);
                    call_args.push(format!("__p{i} as *mut {t}"));
                    call_args.push(format!("__n{i}"));
                }
                other => {
                    let x = self.atom(other);
                    self.line(ind + 1, &format!("let __a{i} = {x};"));
                    call_args.push(format!("__a{i}"));
                }
            }
        }
        let dev = self.dev.clone();
        self.line(
            ind + 1,
            &format!(
                "{dev}.for_each_chunk({len} as usize, move |__r: ::std::ops::Range<usize>| {{ let __status = unsafe {{ kernel{id}(__r.start as i32, __r.end as i32{}{}) }}; {} }})?;",
                if call_args.is_empty() { "" } else { ", " },
                call_args.join(", "),
                if self.c_kernels {
                    "if __status != 0 { ::spiral::__private::fail_status(__status) }"
                } else {
                    "let () = __status;"
                }
            ),
        );
        self.line(ind, "}");
    }

    /// Prints the host-side launch of CUDA kernel `id`: each array argument is copied to the
    /// device (one buffer per column), the kernel runs over `0..len`, and the arrays it may
    /// write are copied back into their host buffers.
    fn cuda_launch(&mut self, prefix: &str, id: u32, len: &Atom, args: &[Atom], blocks: bool, ind: usize) {
        let len = self.atom(len);
        let written = self.prog.kernels.get(id as usize).map(readonly::written_params).unwrap_or_default();
        let dev = self.dev.clone();
        self.line(ind, "{");
        let mut pushes = Vec::new();
        let mut back = Vec::new();
        for (i, a) in args.iter().enumerate() {
            match a {
                // A GPU-resident leaf: passed in place, nothing copied either way.
                Atom::Var(v @ Var { ty: Ty::Array(_), .. }) if self.dev_arrays.contains(&v.id) => {
                    pushes.push(format!("__args.leaf(v{});", v.id));
                }
                Atom::Var(v @ Var { ty: Ty::Array(_), .. }) => {
                    let (read, write) = if self.ro.contains(&v.id) {
                        (format!("v{}", v.id), None)
                    } else if self.lent.contains(&v.id) {
                        (format!("&*v{}", v.id), Some(format!("&mut *v{}", v.id)))
                    } else {
                        (format!("&v{}.borrow()[..]", v.id), Some(format!("&mut v{}.borrow_mut()[..]", v.id)))
                    };
                    self.line(ind + 1, &format!("let __d{i} = ::spiral::DeviceLeaf::from_slice({dev}, {read})?;"));
                    pushes.push(format!("__args.leaf(&__d{i});"));
                    if let (true, Some(w)) = (written.contains(&i), write) {
                        back.push(format!("__d{i}.copy_to_slice({w})?;"));
                    }
                }
                other => {
                    let x = self.atom(other);
                    pushes.push(format!("__args.scalar({x});"));
                }
            }
        }
        self.line(ind + 1, "let mut __args = ::spiral::KernelArgs::new();");
        for p in pushes {
            self.line(ind + 1, &p);
        }
        self.line(
            ind + 1,
            &format!(
                "{dev}.{}(&::spiral::Kernel {{ name: \"{prefix}_kernel{id}\", source: __SPIRAL_CUDA }}, {len} as usize, &__args)?;",
                if blocks { "launch_blocks" } else { "launch" }
            ),
        );
        for b in back {
            self.line(ind + 1, &b);
        }
        self.line(ind, "}");
    }

    /// Prints the host-side launch of UPMEM kernel `id`: each array leaf goes to the DPUs split
    /// by its length (pushed when the kernel reads it, pulled back when it writes it), scalars
    /// are broadcast, and the DPU program runs on every DPU (over `0..len` split like the
    /// leaves, or once per tasklet for a block launch).
    fn upmem_launch(&mut self, prefix: &str, id: u32, len: &Atom, args: &[Atom], blocks: bool, ind: usize) {
        let len = self.atom(len);
        let flow = self.prog.kernels.get(id as usize).map(crate::codegen::upmem::param_flow).unwrap_or_default();
        let dev = self.dev.clone();
        self.line(ind, "{");
        let mut pushes = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let (push, pull) = flow.get(i).copied().unwrap_or((true, true));
            match a {
                Atom::Var(v @ Var { ty: Ty::Array(_), .. }) if self.dev_arrays.contains(&v.id) => {
                    self.err("GPU-resident arrays (`DeviceInvArray`) cannot be passed to an UPMEM kernel");
                }
                Atom::Var(v @ Var { ty: Ty::Array(_), .. }) => {
                    let method = match (push, pull) {
                        (_, false) => "input",
                        (false, true) => "output",
                        (true, true) => "inout",
                    };
                    if self.ro.contains(&v.id) {
                        if pull {
                            self.err("internal error: an array that is only read is written by an UPMEM kernel");
                        }
                        pushes.push(format!("__args.input(v{});", v.id));
                    } else if self.lent.contains(&v.id) {
                        if pull {
                            pushes.push(format!("__args.{method}(&mut *v{});", v.id));
                        } else {
                            pushes.push(format!("__args.input(&*v{});", v.id));
                        }
                    } else if pull {
                        self.line(ind + 1, &format!("let mut __g{i} = v{}.borrow_mut();", v.id));
                        pushes.push(format!("__args.{method}(&mut __g{i}[..]);"));
                    } else {
                        self.line(ind + 1, &format!("let __g{i} = v{}.borrow();", v.id));
                        pushes.push(format!("__args.input(&__g{i}[..]);"));
                    }
                }
                other => {
                    let x = self.atom(other);
                    pushes.push(format!("__args.scalar({x});"));
                }
            }
        }
        self.line(ind + 1, "let mut __args = ::spiral::UpmemArgs::new();");
        for p in pushes {
            self.line(ind + 1, &p);
        }
        self.line(
            ind + 1,
            &format!("{dev}.upmem_launch(&::spiral::UpmemKernel {{ name: \"{prefix}_kernel{id}\", source: __SPIRAL_UPMEM[{id}] }}, {len} as usize, {blocks}, &mut __args)?;"),
        );
        self.line(ind, "}");
    }

    /// Methods, closures, kernels and union enums, as nested Rust items.
    fn items(&mut self, mode: &KernelMode) -> Result<(), Unsupported> {
        let prog = self.prog;
        for (i, u) in prog.types.unions.iter().enumerate() {
            self.line(0, "#[derive(Clone)]");
            self.line(0, &format!("#[allow(dead_code)] enum Union{i} {{"));
            for (c, (_, t)) in u.cases.iter().enumerate() {
                let ls = self.types.leaves(t);
                if ls.is_empty() {
                    self.line(1, &format!("C{c},"));
                } else {
                    let v: Vec<String> = ls.iter().map(|t| self.ty(t)).collect();
                    self.line(1, &format!("C{c}({}),", v.join(", ")));
                }
            }
            self.line(0, "}");
        }
        for (i, m) in prog.methods.iter().enumerate() {
            let params: Vec<String> = m.params.iter().map(|p| format!("{}: {}", Self::var(p), self.ty(&p.ty))).collect();
            let ret = self.tuple_ty(&m.ret);
            self.line(0, &format!("#[allow(unused_variables, unused_parens, clippy::all)] fn method{i}({}) -> {ret} {{", params.join(", ")));
            self.block_expr(&m.body, 1);
            self.line(0, "}");
        }
        for (i, c) in prog.closures.iter().enumerate() {
            let mut params: Vec<String> = c.captured.iter().map(|p| format!("{}: {}", Self::var(p), self.ty(&p.ty))).collect();
            params.extend(c.params.iter().map(|p| format!("{}: {}", Self::var(p), self.ty(&p.ty))));
            let ret = self.tuple_ty(&c.ret);
            self.line(0, &format!("#[allow(unused_variables, unused_parens, clippy::all)] fn closure{i}({}) -> {ret} {{", params.join(", ")));
            self.block_expr(&c.body, 1);
            self.line(0, "}");
        }
        match mode {
            KernelMode::Rust => {
                for (i, k) in prog.kernels.iter().enumerate() {
                    self.kernel(i, k);
                }
            }
            KernelMode::C(unit) => {
                let decls = c_kernel::print_extern_decls(self.types, &prog.kernels, unit)?;
                self.out.push_str(&decls);
            }
            // The kernels are in the CUDA unit (`codegen::cuda`), which also checks them.
            KernelMode::Cuda(_) => {}
            // The kernels are DPU programs (`codegen::upmem`), which also checks them.
            KernelMode::Upmem(_) => {}
        }
        Ok(())
    }

    fn kernel(&mut self, i: usize, k: &Kernel) {
        self.cur_span = k.span;
        if &*k.backend != CPU_KERNEL_BACKEND {
            self.err(format!(
                "`join_backend {}` is not supported here: the Rust backend compiles `join_backend {CPU_KERNEL_BACKEND}` kernels only",
                k.backend
            ));
            return;
        }
        self.in_kernel = true;
        let mut params = vec!["__chunk_from: i32".to_string(), "__chunk_to: i32".to_string()];
        for p in &k.params {
            let t = self.ty(&p.ty);
            params.push(format!("{}: {t}", Self::var(p)));
            if matches!(p.ty, Ty::Array(_)) {
                params.push(format!("{}_len: usize", Self::var(p)));
            }
        }
        if !k.ret.is_empty() {
            self.err("a CPU kernel body must return `()`");
        }
        self.line(0, "/// # Safety");
        self.line(0, "/// Every pointer must be valid for its length, and concurrent calls must write disjoint indices.");
        self.line(0, &format!("#[allow(unused_variables, unused_parens, clippy::all)] #[inline] unsafe fn kernel{i}({}) {{", params.join(", ")));
        self.bounds = crate::codegen::kernel_bounds::kernel_bounds(k);
        for a in self.bounds.hoisted.clone() {
            self.line(
                1,
                &format!("if __chunk_from < __chunk_to && (__chunk_from < 0 || __chunk_to as usize > v{a}_len) {{ ::spiral::__private::fail(format!(\"CPU kernel {i}: indices {{}}..{{}} are out of bounds of an array of {{}} elements\", __chunk_from, __chunk_to, v{a}_len)) }}"),
            );
        }
        self.line(1, "for __i in __chunk_from..__chunk_to {");
        self.owned_ranges = crate::codegen::kernel_bounds::owned_ranges(k);
        for (id, chunks) in self.owned_ranges.clone() {
            let n = match &chunks {
                Atom::Var(v) => Self::var(v),
                Atom::Lit(l) => lit(l),
            };
            self.line(2, &format!("let (__from{id}, __to{id}): (i64, i64) = {};", owned_range(id, &n)));
        }
        self.line(2, "unsafe {");
        self.block_expr(&k.body, 3);
        self.line(2, "};");
        self.line(1, "}");
        self.line(0, "}");
        self.in_kernel = false;
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostics::{render, SourceMap};

    #[test]
    fn inverse_array_and_kernel_library_parses() {
        for (name, text) in [
            ("inv.spir", include_str!("../../lib/core/inv.spir")),
            ("kernel.spir", include_str!("../../lib/core/kernel.spir")),
        ] {
            let mut sm = SourceMap::new();
            let f = sm.add(name, text);
            let p = crate::syntax::parse_module(f, text, crate::syntax::Segment::BottomUp);
            assert!(p.diagnostics.is_empty(), "{}", render(&sm, &p.diagnostics));
        }
    }
}

/// Printer tests on hand-built residual programs: the printed Rust is compiled with `rustc`
/// against a small stand-in for the `spiral` crate and run.
#[cfg(test)]
mod printer_tests {
    use super::*;
    use crate::peval::ir::{Block, Expr, Kernel, MacroPart, PrimOp, Program, Stmt, Ty, Var};
    use std::sync::Arc;

    fn v(id: u32, ty: Ty) -> Var {
        Var { id, ty }
    }
    fn arr() -> Ty {
        Ty::Array(Arc::new(Ty::i32()))
    }
    fn st(vars: Vec<Var>, expr: Expr) -> Stmt {
        Stmt::new(vars, expr)
    }
    fn text(s: &str) -> MacroPart {
        MacroPart::Text(s.into())
    }
    fn av(x: &Var) -> Atom {
        Atom::Var(x.clone())
    }

    /// The residual program of `map (fun a,b,c => a+b+c, a*b*c)` over an inverse array of three
    /// `i32` leaves, as the evaluator produces it with `kernel.spir`.
    fn map_program() -> Program {
        let i32t = Ty::i32();
        // kernel: params a b c o0 o1
        let kp: Vec<Var> = (0..5).map(|i| v(i, arr())).collect();
        let i = v(5, i32t.clone());
        let (x, y, z) = (v(6, i32t.clone()), v(7, i32t.clone()), v(8, i32t.clone()));
        let (s1, s2, p1, p2) = (v(9, i32t.clone()), v(10, i32t.clone()), v(11, i32t.clone()), v(12, i32t.clone()));
        let kbody = Block {
            stmts: vec![
                st(vec![i.clone()], Expr::KernelIndex),
                st(vec![x.clone()], Expr::ArrayGet { array: av(&kp[0]), index: av(&i) }),
                st(vec![y.clone()], Expr::ArrayGet { array: av(&kp[1]), index: av(&i) }),
                st(vec![z.clone()], Expr::ArrayGet { array: av(&kp[2]), index: av(&i) }),
                st(vec![s1.clone()], Expr::Prim(PrimOp::Add, vec![av(&x), av(&y)])),
                st(vec![s2.clone()], Expr::Prim(PrimOp::Add, vec![av(&s1), av(&z)])),
                st(vec![p1.clone()], Expr::Prim(PrimOp::Mul, vec![av(&x), av(&y)])),
                st(vec![p2.clone()], Expr::Prim(PrimOp::Mul, vec![av(&p1), av(&z)])),
                st(vec![], Expr::ArraySet { array: av(&kp[3]), index: av(&i), value: vec![av(&s2)] }),
                st(vec![], Expr::ArraySet { array: av(&kp[4]), index: av(&i), value: vec![av(&p2)] }),
            ],
            result: vec![],
        };
        let kernel = Kernel { backend: "CpuKernel".into(), params: kp, ret: vec![], body: kbody, span: Default::default() };
        // main
        let len = v(0, i32t.clone());
        let ins: Vec<Var> = (1..4).map(|i| v(i, arr())).collect();
        let (o0, o1) = (v(4, arr()), v(5, arr()));
        let mut stmts = vec![st(vec![len.clone()], Expr::Macro(vec![text("__spiral_arg0_len")]))];
        for (k, a) in ins.iter().enumerate() {
            stmts.push(st(vec![a.clone()], Expr::Macro(vec![text(&format!("__spiral_arg0_{k}.clone()"))])));
        }
        stmts.push(st(vec![o0.clone()], Expr::ArrayNew { ty: arr(), len: av(&len) }));
        stmts.push(st(vec![o1.clone()], Expr::ArrayNew { ty: arr(), len: av(&len) }));
        let args: Vec<Atom> = ins.iter().chain([&o0, &o1]).map(|a| av(a)).collect();
        stmts.push(st(vec![], Expr::KernelLaunch { kernel: 0, len: av(&len), args, blocks: false }));
        Program {
            kernels: vec![kernel],
            main: Block { stmts, result: vec![av(&o0), av(&o1)] },
            main_ret: vec![arr(), arr()],
            ..Program::default()
        }
    }

    fn export() -> Export {
        let i = HostType::Prim(ScalarKind::I32);
        Export {
            name: "map_kernel".into(),
            device: "dev".into(),
            params: vec![Param {
                name: "input".into(),
                ty: HostType::InvArray(Box::new(HostType::Tuple(vec![i.clone(), i.clone(), i.clone()]))),
                passing: Passing::Borrowed,
            }],
            ret: HostType::InvArray(Box::new(HostType::Tuple(vec![i.clone(), i]))),
        }
    }

    #[test]
    fn entry_point_binds_host_values() {
        let e = export_entry(&export());
        assert!(e.contains("inl __spiral_p0 = {len = ($\"__spiral_arg0_len\" : i32); arrays = (($\"__spiral_arg0_0.clone()\" : array i32), ($\"__spiral_arg0_1.clone()\" : array i32), ($\"__spiral_arg0_2.clone()\" : array i32))}"), "{e}");
        assert!(e.contains("inl __spiral_r = map_kernel __spiral_p0"), "{e}");
        assert!(e.trim_end().ends_with("__spiral_r.arrays"), "{e}");
    }

    #[test]
    fn printing_is_deterministic_and_kernels_loop_over_their_chunk() {
        let a = export_body(&map_program(), &export()).unwrap();
        let b = export_body(&map_program(), &export()).unwrap();
        assert_eq!(a, b);
        assert!(a.contains("unsafe fn kernel0(__chunk_from: i32, __chunk_to: i32, v0: *mut i32, v0_len: usize"), "{a}");
        assert!(a.contains("for __i in __chunk_from..__chunk_to {"), "{a}");
        assert!(a.contains("dev.for_each_chunk(v0 as usize"), "{a}");
        // the three input columns are only read: lent, not copied
        assert!(a.contains("let __spiral_arg0_0: &[i32] = __spiral_arg0_col0;"), "{a}");
        assert!(!a.contains("to_vec()"), "{a}");
    }

    const SHIM: &str = r#"
pub use std::ops::Range;
pub const CPU_CLOSURE: &str = "<cpu closure>";
#[derive(Debug)] pub enum Error { DeviceLimit { what: String, limit: u64, requested: u64 }, KernelFailed { kernel: String, message: String }, Shape }
pub mod __private {
    pub fn fail(m: String) -> ! { std::panic::resume_unwind(Box::new(m)) }
    pub fn fail_status(s: i32) -> ! { fail(format!("status {s}")) }
    pub fn catch_host<T>(_: &str, f: impl FnOnce() -> Result<T, super::Error>) -> Result<T, super::Error> { f() }
}
pub struct InvArray<T>(pub T);
impl<A: Clone, B: Clone, C: Clone> InvArray<(Vec<A>, Vec<B>, Vec<C>)> { pub fn len(&self) -> usize { self.0.0.len() } pub fn columns(&self) -> (&[A], &[B], &[C]) { (&self.0.0, &self.0.1, &self.0.2) } }
impl<T> InvArray<T> { pub fn from_columns(c: T) -> Result<InvArray<T>, Error> { Ok(InvArray(c)) } }
pub struct Device { pub threads: usize }
impl Device {
    pub fn for_each_chunk<F: Fn(Range<usize>) + Sync>(&self, len: usize, f: F) -> Result<(), Error> {
        let n = self.threads.max(1); let step = (len + n - 1) / n.max(1);
        std::thread::scope(|s| { let mut a = 0; while a < len { let b = (a + step).min(len); let f = &f; s.spawn(move || f(a..b)); a = b; } });
        Ok(())
    }
}
"#;

    #[test]
    fn c_kernel_path_compiles_links_and_runs() {
        let prog = map_program();
        let c = c_kernel::print_c_kernels(&prog, "t").unwrap();
        assert!(c.contains("int32_t spiral_t_kernel0(int32_t __chunk_from, int32_t __chunk_to, int32_t * v0, size_t v0_len"), "{c}");
        let body = export_body_with(&prog, &export(), &KernelMode::C("t".into())).unwrap();
        assert!(body.contains("#[link_name = \"spiral_t_kernel0\"] fn kernel0("), "{body}");
        let dir = std::env::temp_dir().join(format!("spiral-rustgen-c-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("k.c"), &c).unwrap();
        let cc = std::process::Command::new("cc").args(["-O2", "-Wall", "-Werror", "-c", "k.c", "-o", "k.o"]).current_dir(&dir).output().unwrap();
        assert!(cc.status.success(), "{}\n{c}", String::from_utf8_lossy(&cc.stderr));
        let ar = std::process::Command::new("ar").args(["crs", "libk.a", "k.o"]).current_dir(&dir).output().unwrap();
        assert!(ar.status.success());
        let out = compile_and_run(&dir, &body, &["-L", ".", "-l", "static=k"]);
        assert_eq!(out.trim(), EXPECTED);
        let _ = std::fs::remove_dir_all(&dir);
    }

    const EXPECTED: &str = "[0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45] [0, 1, 8, 27, 64, 125, 216, 343, 512, 729, 1000, 1331, 1728, 2197, 2744, 3375]";

    /// Compiles the shim crate and a program around `body`, runs it and returns its stdout.
    fn compile_and_run(dir: &std::path::Path, body: &str, extra: &[&str]) -> String {
        std::fs::write(dir.join("shim.rs"), SHIM).unwrap();
        let main = format!(
            "use spiral::*;\n#[allow(unused_variables, unused_mut, unused_parens, unused_unsafe)]\nfn map_kernel(dev: &Device, input: &InvArray<(Vec<i32>, Vec<i32>, Vec<i32>)>) -> Result<InvArray<(Vec<i32>, Vec<i32>)>, Error> {{\n{body}}}\nfn main() {{ let v: Vec<i32> = (0..16).collect(); let input = InvArray((v.clone(), v.clone(), v)); let out = map_kernel(&Device {{ threads: 2 }}, &input).unwrap(); println!(\"{{:?}} {{:?}}\", out.0.0, out.0.1); }}\n"
        );
        std::fs::write(dir.join("main.rs"), &main).unwrap();
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        let lib = std::process::Command::new(&rustc)
            .args(["--edition", "2021", "--crate-type", "rlib", "--crate-name", "spiral", "shim.rs"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(lib.status.success(), "{}", String::from_utf8_lossy(&lib.stderr));
        let bin = std::process::Command::new(&rustc)
            .args(["--edition", "2021", "--extern", "spiral=libspiral.rlib", "-o", "map", "main.rs"])
            .args(extra)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(bin.status.success(), "{}\n{main}", String::from_utf8_lossy(&bin.stderr));
        let run = std::process::Command::new(dir.join("map")).output().unwrap();
        String::from_utf8_lossy(&run.stdout).into_owned()
    }

    #[test]
    fn printed_map_compiles_and_runs_on_two_threads() {
        let body = export_body(&map_program(), &export()).unwrap();
        let dir = std::env::temp_dir().join(format!("spiral-rustgen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = compile_and_run(&dir, &body, &[]);
        assert_eq!(out.trim(), EXPECTED);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `compile_exports` through the whole pipeline (parser, prepass, evaluator, printer).
#[cfg(test)]
mod pipeline_tests {
    use super::*;
    use crate::diagnostics::SourceMap;
    use crate::driver::{compile_exports, CompileError};

    fn i32t() -> HostType {
        HostType::Prim(ScalarKind::I32)
    }

    fn inv(t: HostType) -> HostType {
        HostType::InvArray(Box::new(t))
    }

    fn compile(src: &str, params: Vec<Param>, ret: HostType) -> Result<String, String> {
        let mut sm = SourceMap::new();
        let e = Export { name: "k".into(), device: "dev".into(), params, ret };
        match compile_exports(&mut sm, "t.rs", src, &[e]) {
            Ok(mut b) => Ok(b.remove(0)),
            Err(CompileError::Spiral(d)) => Err(crate::diagnostics::render(&sm, &d)),
            Err(CompileError::MissingExport(i)) => Err(format!("missing export {i}")),
        }
    }

    #[test]
    fn map_lends_inputs_and_map_inp_in_place_copies_them() {
        let p = || vec![Param { name: "input".into(), ty: inv(HostType::Tuple(vec![i32t(), i32t()])), passing: Passing::Borrowed }];
        let map = compile("open inv\nopen kernel\ninl k input = map (fun a,b => a*b) input\n", p(), inv(i32t())).unwrap();
        assert!(!map.contains(".to_vec()"), "{map}");
        assert!(map.contains("for __i in __chunk_from..__chunk_to"), "{map}");
        let inplace = compile(
            "open inv\nopen kernel\ninl k input =\n    map_inp (fun a,b => b,a) input input\n    input.arrays\n",
            p(),
            HostType::Tuple(vec![inv(i32t()), inv(i32t())]),
        )
        .unwrap();
        // the kernel writes the columns: they must be copies of the caller's
        assert!(inplace.contains("let __spiral_arg0_0 = ::std::rc::Rc::new(::std::cell::RefCell::new(__spiral_arg0_col0.to_vec()));"), "{inplace}");
    }

    #[test]
    fn same_source_gives_byte_identical_rust() {
        let p = || vec![Param { name: "input".into(), ty: inv(HostType::Tuple(vec![i32t(), i32t(), i32t()])), passing: Passing::Borrowed }];
        let src = "open inv\nopen kernel\ninl k input = map (fun a,b,c => a+b+c, a*b*c) input\n";
        let ret = || inv(HostType::Tuple(vec![i32t(), i32t()]));
        assert_eq!(compile(src, p(), ret()).unwrap(), compile(src, p(), ret()).unwrap());
    }

    #[test]
    fn evaluation_errors_come_back_as_diagnostics() {
        let e = compile("inl k x = x + true\n", vec![Param { name: "x".into(), ty: i32t(), passing: Passing::Moved }], i32t()).unwrap_err();
        assert!(e.contains("t.rs:1:11"), "{e}");
    }

    #[test]
    fn kernels_for_other_backends_are_reported() {
        let src = "inl k x =\n    inl _ = join_backend Cuda\n        inl y = x + 1i32\n        ()\n    x\n";
        let e = compile(src, vec![Param { name: "x".into(), ty: i32t(), passing: Passing::Moved }], i32t()).unwrap_err();
        assert!(e.contains("`join_backend Cuda` is not supported here"), "{e}");
        assert!(e.contains("t.rs:2:13"), "reported at the `join_backend`: {e}");
    }

    #[test]
    fn scalar_exports_compile() {
        let b = compile("inl k (a, b) = a * b + 1i32\n", vec![Param { name: "x".into(), ty: HostType::Tuple(vec![i32t(), i32t()]), passing: Passing::Moved }], i32t()).unwrap();
        assert!(b.contains("let (__spiral_arg0_0, __spiral_arg0_1,) = x;"), "{b}");
    }
}

/// `i32` -> `I32` (the suffix of `core::sync::atomic::AtomicI32`).
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

//! CPU kernels as C, for the `spiral-build` path (build.rs compiles them with `cc` and links
//! them; the Rust wrapper calls them through `extern "C"`). The C itself is printed by the C
//! backend in its kernel dialect (`codegen::c::Dialect::CpuKernel`); this module names the
//! symbols and declares them for Rust.
//!
//! A kernel `i` of unit `u` becomes
//! `int32_t spiral_u_kernel{i}(int32_t __chunk_from, int32_t __chunk_to, <params>)`, where each
//! runtime free variable of the `join_backend` body is a parameter: an array as a pointer and a
//! `size_t` length (`v3`, `v3_len`), a scalar by value. The body runs once per index of the chunk
//! (`for (int32_t __i = __chunk_from; __i < __chunk_to; __i++)`), exactly as the Rust kernels
//! do. Only what a kernel body needs is supported (scalars, arrays, conditionals, loops, macros);
//! anything else is reported as [`Unsupported`].

use super::Unsupported;
use crate::peval::ir::{Kernel, Program, Ty, Types};
use std::fmt::Write;

/// The C symbol of kernel `i` of `unit`.
pub fn kernel_symbol(unit: &str, i: usize) -> String {
    format!("spiral_{unit}_kernel{i}")
}

/// Prints the CPU kernels of a program as one C translation unit: the C backend's printer in
/// its [`Dialect::CpuKernel`](crate::codegen::c::Dialect::CpuKernel) dialect.
pub fn print_c_kernels(program: &Program, unit: &str) -> Result<String, Unsupported> {
    crate::codegen::c::emit_cpu_kernels(program, &|i| kernel_symbol(unit, i))
        .map_err(|(message, span)| Unsupported::new(message).at(span))
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

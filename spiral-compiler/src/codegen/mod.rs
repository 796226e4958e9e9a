//! Backends. Each prints source text from the residual IR ([`crate::peval::ir::Program`]);
//! one folder per backend. A backend implements [`Backend`] and is listed in [`backend_by_name`].

pub mod c;
pub mod c_family;
pub mod cuda;
pub mod kernel_bounds;
pub mod rust;
pub mod upmem;

use crate::diagnostics::Diagnostic;
use crate::peval::ir::Program;

/// The `join_backend` name of CPU kernels (printed as Rust by `spiral!`, as C by spiral-build
/// and `spiral run`).
pub const CPU_KERNEL_BACKEND: &str = "CpuKernel";

/// The `join_backend` name of CUDA kernels (printed by [`cuda::emit_cuda_kernels`]).
pub const CUDA_KERNEL_BACKEND: &str = "Cuda";

/// The `join_backend` name of UPMEM DPU kernels (v2's name; printed by
/// [`upmem::emit_upmem_kernels`] as one DPU C program per kernel).
pub const UPMEM_KERNEL_BACKEND: &str = "UPMEM_C_Kernel";

/// The deepest indentation a printer writes (in levels): deeper blocks stay at this column, so
/// the size of the output grows linearly with the program, not with its nesting depth squared
/// (a `match` of 10,000 arms nests 10,000 `else` blocks).
pub const MAX_INDENT: usize = 16;

/// A code generator: prints one residual program as target-language source text.
///
/// Implementations must be deterministic: the same program gives byte-identical output.
pub trait Backend: Send + Sync {
    /// The backend's name as the CLI spells it (`c`, `rust`, `cuda`, ...).
    fn name(&self) -> &'static str;
    /// The extension of the file it writes, without the dot (`c`, `rs`, `cu`, ...).
    fn file_extension(&self) -> &'static str;
    /// Prints `program`, or explains why it cannot (a construct the target lacks).
    fn emit(&self, program: &Program) -> Result<String, Vec<Diagnostic>>;
}

/// The backend named `name`, if there is one.
pub fn backend_by_name(name: &str) -> Option<Box<dyn Backend>> {
    match name {
        "c" => Some(Box::new(c::CBackend)),
        _ => None,
    }
}

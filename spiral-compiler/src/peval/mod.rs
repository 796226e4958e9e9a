//! The partial evaluator: core IR in, residual typed IR out.
//!
//! Entry point: [`compile_program`] takes a prepared [`crate::prepass::core::Program`]
//! (from [`crate::prepass`]), evaluates it to the value of the entry function, applies that
//! function to `()` and returns the residual [`ir::Program`]. Evaluation runs on a thread with
//! a 1 GiB stack and under [`Limits`] (inline depth and total steps), so a specialisation
//! that does not terminate gives a diagnostic, never a stack overflow.
//!
//! What the evaluator does (the semantics of the bottom-up segment):
//! - literals fold at compile time with the target's integer widths and wrapping; an operation
//!   with a runtime operand is emitted once per scope (CSE);
//! - `dyn` and `~pattern` turn literals into runtime variables;
//! - functions are inlined with their captured environments; `join` (and every `let`) is a
//!   join point memoised on (body, renamed environment); a recursive join point needs a return
//!   type annotation;
//! - `if` on a literal evaluates one branch; on a runtime bool both, merging their results;
//! - `match` compiles patterns against the static structure; literal tests on runtime values
//!   and union cases of runtime unions become `if`s and `match`es; a value that no clause
//!   matches is a compile error;
//! - annotating a function with a function type turns it into a runtime closure;
//! - `join_backend B e` produces `(kernel id, tuple of runtime free variables)`;
//! - a top-down array literal `;[a; b]` takes its element type from its first element (so `;[]`
//!   is an error); an array pattern `;[p; q]` tests the length (one CSE'd `arraylength` shared by
//!   the clauses) and then reads the elements it needs, once per `match`, even when a clause is
//!   matched again after a runtime test.
//!
//! The residual IR that backends consume is in [`ir`].
//!
//! Not supported (each gives a diagnostic): the top-down segment's type inference (`.spi`
//! files are evaluated as bottom-up code, which works for programs whose annotations are
//! concrete), prototypes and instances, `exists`/`forall` types in annotations, the
//! compile-time hash map/set operations, `UnionUntag`, and
//! runtime closures that are not created through an annotation.
pub mod eval;
pub mod ir;
mod ops;
pub(crate) use ops::prim_bytes;
mod races;
pub mod value;

pub use eval::Limits;

use crate::diagnostics::Diagnostic;
use crate::prepass::core;
use value::Value;

/// Runs `f` with a 1 GiB stack (reserved, not committed) (the evaluator recurses deeply on
/// continuation-passing code): on a new thread, or in place when the caller already runs on a
/// big-stack thread with that much room (see [`crate::stack`]). A panic inside `f` becomes `None`.
pub fn with_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    // Runs in place when the caller is already on a big-stack thread with that much room.
    crate::stack::with_stack(1 << 30, "spiral-peval", f)
}

/// Evaluates `prog` and returns the residual program, or the diagnostic of the first error
/// (with its evaluation trace). Call it inside [`with_big_stack`] (as
/// [`crate::prepass::compile_graph`] does).
pub fn compile_program(prog: &core::Program, limits: Limits) -> Result<ir::Program, Vec<Diagnostic>> {
    compile_program_for(prog, limits, HostTarget::C, KernelTarget::Cpu)
}

/// The language the host (non-kernel) code of a program is printed in. The evaluator needs it:
/// `backend_switch` picks its case by the current backend, which is the host target outside
/// `join_backend`, and `core`'s printing functions (`write`, `dump`...) use that to emit C
/// (`printf`) or Rust (`print!`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostTarget {
    /// `spiral run` / `spiral build`: the C backend (`backend_switch` case `C`).
    C,
    /// `spiral!` and `spiral-build` wrappers: the Rust backend (`backend_switch` case `Rust`).
    Rust,
}

impl HostTarget {
    /// The backend name `backend_switch` sees.
    pub fn name(self) -> &'static str {
        match self {
            HostTarget::C => "C",
            HostTarget::Rust => "Rust",
        }
    }
}

/// Where the library's kernels (`parallel_for`, `map`, ...) run: the `join_backend` the
/// library picks through `kernel_switch` (`!!!!KernelSwitch`), which chooses the case of a record
/// named by [`KernelTarget::backend_name`]. Host code is unaffected; a program that writes
/// `join_backend Cuda` itself gets a `Cuda` kernel whatever the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KernelTarget {
    /// CPU kernels (`join_backend CpuKernel`): Rust under `spiral!`, C under spiral-build and
    /// `spiral run`.
    #[default]
    Cpu,
    /// CUDA kernels (`join_backend Cuda`), printed by `codegen::cuda`.
    Cuda,
    /// UPMEM DPU kernels (`join_backend UPMEM_C_Kernel`), printed by `codegen::upmem`.
    Upmem,
}

impl KernelTarget {
    /// The `join_backend` name of the target's kernels, and the case `kernel_switch` picks.
    pub fn backend_name(self) -> &'static str {
        match self {
            KernelTarget::Cpu => crate::codegen::CPU_KERNEL_BACKEND,
            KernelTarget::Cuda => crate::codegen::CUDA_KERNEL_BACKEND,
            KernelTarget::Upmem => crate::codegen::UPMEM_KERNEL_BACKEND,
        }
    }
}

/// [`compile_program`] for the given host and kernel targets.
pub fn compile_program_for(prog: &core::Program, limits: Limits, host: HostTarget, kernel: KernelTarget) -> Result<ir::Program, Vec<Diagnostic>> {
    let mut pe = eval::PE::new(prog, limits, host, kernel);
    let run = |pe: &mut eval::PE| -> eval::R<()> {
        let mut frame = eval::PE::new_frame();
        let main = pe.eval(&prog.body, &mut frame)?;
        let r = pe.apply(main, Value::Unit, prog.entry_span)?;
        let r = pe.known_value(r);
        let (ret, atoms) = match &r {
            Value::Unit => (Vec::new(), Vec::new()),
            _ => {
                let t = pe.ty_of(&r, prog.entry_span)?;
                let leaves = pe.out.types.leaves(&t);
                let atoms = pe.abstract_atoms(&r, prog.entry_span)?;
                (leaves, atoms)
            }
        };
        let stmts = pe.take_main();
        pe.out.main = ir::Block { stmts, result: atoms };
        pe.out.main_ret = ret;
        Ok(())
    };
    match run(&mut pe) {
        Ok(()) => Ok(pe.out),
        Err(d) => Err(vec![*d]),
    }
}

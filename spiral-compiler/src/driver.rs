//! The one pipeline, for every entry point: load (with the `inv`/`kernel` library where
//! kernels are wanted), prepass, partial evaluation for a host target, and printing.
//!
//! - `spiral run/build/check` (the CLI): [`Driver::evaluate`] with [`HostTarget::C`], then a
//!   backend ([`Driver::emit`]).
//! - `spiral!`: [`compile_exports`] (host Rust, Rust kernels), with the prepass prefix of core,
//!   the library and the user's module shared by all exports of one call.
//! - `spiral-build`: [`compile_graph_exports_c`] (host Rust, C kernels).
//! - The fuzzers: [`load_with_library`], [`Driver::evaluate`] and every printer.
//!
//! Everything runs on one big-stack thread per compilation (see [`crate::stack`]).

use crate::codegen::rust::{c_kernel, export_body, export_body_with, KernelMode, Unsupported};
use crate::diagnostics::{Diagnostic, HostPart, SourceMap, Span};
use crate::peval::{ir::Program, HostTarget, KernelTarget, Limits};
use crate::project::ProjectGraph;
use crate::syntax::Segment;
pub use spiral_abi::Export;

/// A compilation's settings: the evaluator's limits, the host target and the kernel target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Driver {
    /// Limits of the partial evaluator.
    pub limits: Limits,
    /// What host code is printed as.
    pub host: HostTarget,
    /// Where the library's kernels (`parallel_for`, `map`, ...) run: `join_backend CpuKernel`
    /// or `join_backend Cuda` (see `lib/core/kernel.spir`).
    pub kernel: KernelTarget,
}

impl Driver {
    /// Default limits for `host`, CPU kernels.
    pub fn new(host: HostTarget) -> Driver {
        Driver { limits: Limits::default(), host, kernel: KernelTarget::Cpu }
    }

    /// The same driver with other limits.
    pub fn with_limits(self, limits: Limits) -> Driver {
        Driver { limits, ..self }
    }

    /// The same driver with the library's kernels for `kernel`.
    pub fn with_kernel_target(self, kernel: KernelTarget) -> Driver {
        Driver { kernel, ..self }
    }

    /// Prepass and partial evaluation of a loaded program, on a big stack: the residual program
    /// or every diagnostic.
    pub fn evaluate(&self, graph: &ProjectGraph) -> Result<Program, Vec<Diagnostic>> {
        crate::prepass::compile_graph_for(graph, self.limits, self.host, self.kernel)
    }

    /// Prints a residual program with the backend named `backend` (`c`), on a big stack.
    pub fn emit(&self, program: &Program, backend: &str) -> Result<String, Vec<Diagnostic>> {
        let Some(b) = crate::codegen::backend_by_name(backend) else {
            return Err(vec![Diagnostic::error(Span::default(), format!("unknown backend `{backend}`"))]);
        };
        match crate::peval::with_big_stack(|| b.emit(program)) {
            Some(r) => r,
            None => Err(vec![Diagnostic::error(Span::default(), "internal compiler error: the backend crashed")]),
        }
    }
}

/// The Spiral library every `spiral!` program sees: inverse arrays and CPU kernels.
pub const LIBRARY: &[(&str, &str)] = &[
    ("core/inv.spir", include_str!("lib/core/inv.spir")),
    ("core/kernel.spir", include_str!("lib/core/kernel.spir")),
];

/// Compiles the exported functions of one Spiral source file (bottom-up segment) named `name`.
///
/// The text is registered in `sources` (diagnostics are rendered against it; the caller finds
/// it by `name`). Returns one Rust function body per export, in order. A body refers to the
/// parameters by their names and to the device by [`Export::device`].
pub fn compile_exports(
    sources: &mut SourceMap,
    name: &str,
    text: &str,
    exports: &[Export],
) -> Result<Vec<String>, CompileError> {
    let all = compile_exports_for(sources, name, text, exports, ExportTargets::default())?;
    Ok(all.into_iter().map(|c| c.cpu.unwrap_or_default()).collect())
}

/// Runs a whole compilation on one big-stack thread (see [`crate::stack`]); a crash (a bug)
/// becomes a diagnostic naming the user's file `name`.
fn on_big_stack<T: Send>(
    sources: &mut SourceMap,
    name: &str,
    f: impl FnOnce(&mut SourceMap) -> Result<T, CompileError> + Send,
) -> Result<T, CompileError> {
    match crate::peval::with_big_stack(|| f(&mut *sources)) {
        Some(r) => r,
        None => {
            let file = sources.add(name.to_string(), "");
            Err(CompileError::Spiral(vec![Diagnostic::error(Span::new(file, 0, 0), "internal compiler error: the compiler crashed")]))
        }
    }
}

/// The kernel targets `spiral!` compiles its exports for (`targets = [cpu, cuda]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportTargets {
    /// CPU kernels as Rust (the default).
    pub cpu: bool,
    /// CUDA kernels, launched through `spiral-rt` on a CUDA device.
    pub cuda: bool,
    /// UPMEM DPU kernels, launched through `spiral-rt` on an UPMEM device (or its emulator).
    pub upmem: bool,
}

impl Default for ExportTargets {
    fn default() -> Self {
        ExportTargets { cpu: true, cuda: false, upmem: false }
    }
}

/// One export compiled for its [`ExportTargets`].
#[derive(Clone, Debug, Default)]
pub struct CompiledExport {
    /// The Rust body for CPU devices (kernels as Rust functions).
    pub cpu: Option<String>,
    /// For CUDA devices: the Rust body (it launches kernels named
    /// `{cuda_prefix(export)}_kernel{i}` from a `__SPIRAL_CUDA` source in scope) and the CUDA
    /// C++ translation unit holding those kernels.
    pub cuda: Option<(String, String)>,
    /// For UPMEM devices: the Rust body (it launches kernels from a `__SPIRAL_UPMEM` array of
    /// DPU programs in scope) and the DPU C program of each kernel, in kernel order.
    pub upmem: Option<(String, Vec<String>)>,
}

/// The prefix of the UPMEM kernel names of export `name`.
pub fn upmem_prefix(name: &str) -> String {
    format!("spiral_upmem_{name}")
}

/// An export compiled for UPMEM: the Rust body and the DPU C program of each kernel.
pub type UpmemExport = (String, Vec<String>);

/// Export number `i`, evaluated with UPMEM kernels, as its Rust body and its DPU programs
/// (after checking its result against the signature); errors at `span` when the printers give
/// none.
fn upmem_export(prog: &Program, e: &Export, i: usize, span: Span) -> Result<UpmemExport, Vec<Diagnostic>> {
    check_result(prog, e, span).map_err(|ds| about(ds, HostPart::Result(i)))?;
    let prefix = upmem_prefix(&e.name);
    let programs = crate::codegen::upmem::emit_upmem_kernels(prog, &|k| format!("{prefix}_kernel{k}"))
        .map_err(|(message, at)| vec![Diagnostic::error(if at == Span::default() { span } else { at }, message)])?;
    let body = export_body_with(prog, e, &KernelMode::Upmem(prefix)).map_err(|u| vec![Diagnostic::error(u.span.unwrap_or(span), u.message)])?;
    Ok((body, programs))
}

/// The UPMEM side of spiral-build: every export compiled with the library's kernels on UPMEM.
pub fn compile_graph_exports_upmem(
    sources: &mut SourceMap,
    base: &crate::project::ProjectGraph,
    exports: &[Export],
) -> Result<Vec<UpmemExport>, CompileError> {
    compile_graph_exports_for(sources, base, exports, KernelTarget::Upmem, upmem_export)
}

/// Every export of a spiral-build graph evaluated with the library's kernels on `kernel`, then
/// printed by `print` (export number `i` at its definition's span).
fn compile_graph_exports_for<T>(
    sources: &mut SourceMap,
    base: &crate::project::ProjectGraph,
    exports: &[Export],
    kernel: KernelTarget,
    print: fn(&Program, &Export, usize, Span) -> Result<T, Vec<Diagnostic>>,
) -> Result<Vec<T>, CompileError> {
    let inferred = infer_exports(base, exports)?;
    let mut out = Vec::new();
    for (i, e) in exports.iter().enumerate() {
        check_arity(base, e).map_err(|ds| about(ds, HostPart::Params(i)))?;
        let graph = with_entry_typed(base, sources, e, &entry_type_args(inferred.as_ref(), i))?;
        let prog = Driver::new(HostTarget::Rust).with_kernel_target(kernel).evaluate(&graph)?;
        out.push(print(&prog, e, i, export_span(&graph, e))?);
    }
    Ok(out)
}

/// The prefix of the CUDA kernel names of export `name`.
pub fn cuda_prefix(name: &str) -> String {
    format!("spiral_cuda_{name}")
}

/// [`compile_exports`] for the given kernel targets.
pub fn compile_exports_for(
    sources: &mut SourceMap,
    name: &str,
    text: &str,
    exports: &[Export],
    targets: ExportTargets,
) -> Result<Vec<CompiledExport>, CompileError> {
    compile_exports_in(sources, name, text, Segment::BottomUp, exports, targets)
}

/// [`compile_exports_for`] with the user's text in the given segment. Top-down text
/// ([`Segment::TopDown`], `.spi`) is type-checked first, and each export's Rust signature is
/// checked against the inferred type of its definition (a mismatch is a diagnostic about the
/// signature, see [`crate::infer::check_graph_exports`]); it sees the typed library
/// (`infer/library_sigs.spi`: `inv_array el`, `map`, `reduce`, ...) after `open kernel`.
pub fn compile_exports_in(
    sources: &mut SourceMap,
    name: &str,
    text: &str,
    segment: Segment,
    exports: &[Export],
    targets: ExportTargets,
) -> Result<Vec<CompiledExport>, CompileError> {
    // One big-stack thread for the whole expansion: the parses and every export's evaluation
    // run on it in place instead of each starting its own thread.
    on_big_stack(sources, name, |sources| compile_exports_here_for(sources, name, text, segment, exports, targets))
}

/// The Spiral types an export's Rust signature stands for, for the inference check.
fn export_sig(e: &Export) -> crate::infer::ExportSig {
    crate::infer::ExportSig {
        name: e.name.clone(),
        params: e.params.iter().map(|p| (p.name.clone(), p.ty.spiral_type())).collect(),
        result: e.ret.spiral_type(),
    }
}

/// For a graph with top-down modules: inference over it with every export's signature
/// checked against its definition's type. Its errors at top-down modules (and signature
/// mismatches) are the compile errors; `None` for a bottom-up graph (no inference).
pub fn infer_exports(base: &crate::project::ProjectGraph, exports: &[Export]) -> Result<Option<crate::infer::InferResult>, Vec<Diagnostic>> {
    let top_down = base.root_package().modules.iter().any(|m| m.segment == Segment::TopDown);
    if !top_down {
        return Ok(None);
    }
    let sigs: Vec<_> = exports.iter().map(export_sig).collect();
    let r = crate::infer::check_graph_exports(base, &sigs);
    let files: Vec<_> = base.packages.iter().flat_map(|p| p.modules.iter().filter(|m| m.segment == Segment::TopDown).map(|m| m.file)).collect();
    let errors: Vec<Diagnostic> = r.diagnostics.iter().filter(|d| files.contains(&d.span.file)).cloned().collect();
    if errors.is_empty() {
        Ok(Some(r))
    } else {
        Err(errors)
    }
}

fn compile_exports_here_for(
    sources: &mut SourceMap,
    name: &str,
    text: &str,
    segment: Segment,
    exports: &[Export],
    targets: ExportTargets,
) -> Result<Vec<CompiledExport>, CompileError> {
    // Core, the library and the user's module are loaded and parsed once; each export gets a
    // copy of that graph with its own entry module.
    let base = load_with_library_in(sources, name, text, segment)?;
    let defined = top_level_names(&base);
    if let Some(i) = exports.iter().position(|e| !defined.contains(&e.name)) {
        return Err(CompileError::MissingExport(i));
    }
    let inferred = infer_exports(&base, exports)?;
    let mut bodies = Vec::new();
    // The exports' graphs differ only in their last module (the entry point): core, the
    // library and the user's module are translated by the prepass once. This runs on a big
    // stack already (`on_big_stack`).
    let mut library: Option<crate::prepass::Prefix> = None;
    // Every export is compiled even after one fails, so that one build reports the errors of
    // all of them (a diagnostic already reported by an earlier export, e.g. in a shared
    // helper, is not repeated).
    let mut errors: Vec<Diagnostic> = Vec::new();
    for (i, e) in exports.iter().enumerate() {
        let mut one = || -> Result<CompiledExport, Vec<Diagnostic>> {
            check_arity(&base, e).map_err(|ds| about(ds, HostPart::Params(i)))?;
            let graph = with_entry_typed(&base, sources, e, &entry_type_args(inferred.as_ref(), i))?;
            let core_prog = match &inferred {
                Some(r) => crate::prepass::prepare_inferred(&graph, r)?,
                None => {
                    let library = library.get_or_insert_with(|| crate::prepass::prepare_library(&graph));
                    crate::prepass::prepare_from(&graph, library)?
                }
            };
            let span = export_span(&graph, e);
            let mut out = CompiledExport::default();
            if targets.cpu {
                let prog = crate::peval::compile_program_for(&core_prog, Limits::default(), HostTarget::Rust, KernelTarget::Cpu)?;
                check_result(&prog, e, span).map_err(|ds| about(ds, HostPart::Result(i)))?;
                out.cpu = Some(export_body(&prog, e).map_err(|u| vec![Diagnostic::error(u.span.unwrap_or(span), u.message)])?);
            }
            if targets.cuda {
                let prog = crate::peval::compile_program_for(&core_prog, Limits::default(), HostTarget::Rust, KernelTarget::Cuda)?;
                out.cuda = Some(cuda_export(&prog, e, i, span)?);
            }
            if targets.upmem {
                let prog = crate::peval::compile_program_for(&core_prog, Limits::default(), HostTarget::Rust, KernelTarget::Upmem)?;
                out.upmem = Some(upmem_export(&prog, e, i, span)?);
            }
            Ok(out)
        };
        match one() {
            Ok(body) => bodies.push(body),
            Err(ds) => {
                for d in ds {
                    if !errors.iter().any(|x| x.span == d.span && x.message == d.message) {
                        errors.push(d);
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(CompileError::Spiral(errors));
    }
    Ok(bodies)
}

/// Marks signature diagnostics with the part of export's host declaration they are about.
fn about(ds: Vec<Diagnostic>, part: HostPart) -> Vec<Diagnostic> {
    ds.into_iter().map(|d| d.about_host(part)).collect()
}

/// Like [`compile_exports`], for the `spiral-build` path: the kernels become C (one translation
/// unit for all exports, symbols `spiral_{unit}_{export}_kernel{i}`) and the bodies call them
/// through `extern "C"` declarations. Returns the bodies and the C source.
pub fn compile_exports_c(
    sources: &mut SourceMap,
    name: &str,
    text: &str,
    exports: &[Export],
    unit: &str,
) -> Result<(Vec<String>, String), CompileError> {
    on_big_stack(sources, name, |sources| {
        let base = load_with_library(sources, name, text)?;
        compile_graph_exports_c(sources, &base, exports, unit)
    })
}

/// An export compiled for CUDA by [`compile_graph_exports_cuda`]: the Rust body (launching
/// kernels named `{cuda_prefix}_kernel{i}` from a `__SPIRAL_CUDA` source in scope) and the
/// CUDA C++ unit holding them.
pub type CudaExport = (String, String);

/// The CUDA side of spiral-build: every export compiled with the library's kernels on CUDA.
pub fn compile_graph_exports_cuda(
    sources: &mut SourceMap,
    base: &crate::project::ProjectGraph,
    exports: &[Export],
) -> Result<Vec<CudaExport>, CompileError> {
    compile_graph_exports_for(sources, base, exports, KernelTarget::Cuda, cuda_export)
}

/// Export number `i`, evaluated with CUDA kernels, as its Rust body and its CUDA unit (after
/// checking its result against the signature); errors at `span` when the printers give none.
fn cuda_export(prog: &Program, e: &Export, i: usize, span: Span) -> Result<CudaExport, Vec<Diagnostic>> {
    check_result(prog, e, span).map_err(|ds| about(ds, HostPart::Result(i)))?;
    let prefix = cuda_prefix(&e.name);
    let cu = crate::codegen::cuda::emit_cuda_kernels(prog, &|k| format!("{prefix}_kernel{k}"))
        .map_err(|(message, at)| vec![Diagnostic::error(if at == Span::default() { span } else { at }, message)])?;
    let body = export_body_with(prog, e, &KernelMode::Cuda(prefix)).map_err(|u| vec![Diagnostic::error(u.span.unwrap_or(span), u.message)])?;
    Ok((body, cu))
}

/// [`compile_exports_c`] for an already loaded graph (e.g. [`load_package_with_library`]).
pub fn compile_graph_exports_c(
    sources: &mut SourceMap,
    base: &crate::project::ProjectGraph,
    exports: &[Export],
    unit: &str,
) -> Result<(Vec<String>, String), CompileError> {
    let defined = top_level_names(base);
    if let Some(i) = exports.iter().position(|e| !defined.contains(&e.name)) {
        return Err(CompileError::MissingExport(i));
    }
    let inferred = infer_exports(base, exports)?;
    let mut bodies = Vec::new();
    let mut c = String::new();
    for (i, e) in exports.iter().enumerate() {
        check_arity(base, e).map_err(|ds| about(ds, HostPart::Params(i)))?;
        let graph = with_entry_typed(base, sources, e, &entry_type_args(inferred.as_ref(), i))?;
        let prog = Driver::new(HostTarget::Rust).evaluate(&graph)?;
        let span = export_span(&graph, e);
        check_result(&prog, e, span).map_err(|ds| about(ds, HostPart::Result(i)))?;
        let prefix = format!("{unit}_{}", e.name);
        let unsupported = |u: Unsupported| vec![Diagnostic::error(u.span.unwrap_or(span), u.message)];
        let body = export_body_with(&prog, e, &KernelMode::C(prefix.clone())).map_err(unsupported)?;
        if !prog.kernels.is_empty() {
            c.push_str(&c_kernel::print_c_kernels(&prog, &prefix).map_err(unsupported)?);
        }
        bodies.push(body);
    }
    Ok((bodies, c))
}

/// Every kernel of the exports of a spiral-build unit, each alone as a complete translation
/// unit, for reading and compiling by hand (spiral-build's `Builder::kernels_dir`): the CPU
/// kernels in the C kernel dialect (`<unit>_<export>.kernel<i>.cpu.c`, under the symbols the
/// unit's C uses) and, for the `cuda` target, the exports evaluated again with their kernels on
/// CUDA (`<unit>_<export>.kernel<i>.cu`), for `upmem`, on UPMEM (`<unit>_<export>.kernel<i>.dpu.c`,
/// whole DPU programs). Returns (file name, text) pairs in export and kernel order.
pub fn kernel_files(
    sources: &mut SourceMap,
    base: &crate::project::ProjectGraph,
    exports: &[Export],
    unit: &str,
    targets: ExportTargets,
) -> Result<Vec<(String, String)>, CompileError> {
    let cuda = targets.cuda;
    let mut files = Vec::new();
    let inferred = infer_exports(base, exports)?;
    for (i, e) in exports.iter().enumerate() {
        let graph = with_entry_typed(base, sources, e, &entry_type_args(inferred.as_ref(), i))?;
        let span = export_span(&graph, e);
        let at = |(message, s): (String, Span)| vec![Diagnostic::error(if s == Span::default() { span } else { s }, message)];
        let stem = format!("{unit}_{}", e.name);
        let cpu = Driver::new(HostTarget::Rust).evaluate(&graph)?;
        for i in 0..cpu.kernels.len() {
            let symbol = c_kernel::kernel_symbol(&stem, i);
            if let Some(text) = crate::codegen::c::emit_cpu_kernel(&cpu, i, &symbol) {
                files.push((format!("{stem}.kernel{i}.cpu.c"), text.map_err(at)?));
            }
        }
        if cuda {
            let prog = Driver::new(HostTarget::Rust).with_kernel_target(KernelTarget::Cuda).evaluate(&graph)?;
            for i in 0..prog.kernels.len() {
                let symbol = format!("{}_kernel{i}", cuda_prefix(&e.name));
                if let Some(text) = crate::codegen::cuda::emit_cuda_kernel(&prog, i, &symbol) {
                    files.push((format!("{stem}.kernel{i}.cu"), text.map_err(at)?));
                }
            }
        }
        if targets.upmem {
            let prog = Driver::new(HostTarget::Rust).with_kernel_target(KernelTarget::Upmem).evaluate(&graph)?;
            for i in 0..prog.kernels.len() {
                let symbol = format!("{}_kernel{i}", upmem_prefix(&e.name));
                if let Some(text) = crate::codegen::upmem::emit_upmem_kernel(&prog, i, &symbol) {
                    files.push((format!("{stem}.kernel{i}.dpu.c"), text.map_err(at)?));
                }
            }
        }
    }
    Ok(files)
}

/// Why [`compile_exports`] failed.
#[derive(Debug)]
pub enum CompileError {
    /// Spiral diagnostics (syntax, evaluation, unsupported constructs).
    Spiral(Vec<Diagnostic>),
    /// Export number `i` names no top-level `inl`/`let` of the Spiral source.
    MissingExport(usize),
}

impl From<Vec<Diagnostic>> for CompileError {
    fn from(d: Vec<Diagnostic>) -> CompileError {
        CompileError::Spiral(d)
    }
}

/// The names bound by top-level `inl`/`let` statements of the user's module.
fn top_level_names(graph: &crate::project::ProjectGraph) -> Vec<String> {
    top_level_defs(graph).into_iter().map(|(n, _)| n).collect()
}

/// The names bound by top-level `inl`/`let` statements of the user's modules, with the span of
/// each name.
fn top_level_defs(graph: &crate::project::ProjectGraph) -> Vec<(String, Span)> {
    use crate::syntax::ast::TopKind;
    fn name_of(k: &TopKind) -> Option<(String, Span)> {
        match k {
            TopKind::Inl { name, .. } => Some((name.name.clone(), name.span)),
            TopKind::And(inner) => name_of(&inner.kind),
            _ => None,
        }
    }
    graph
        .root_package()
        .modules
        .iter()
        .filter(|m| !is_library(m))
        .flat_map(|m| m.parsed.module.items.iter().filter_map(|i| name_of(&i.kind)))
        .collect()
}

/// The number of parameters a top-level definition takes before its body: nested one-clause
/// lambdas (`inl f a b = ...` is two), type lambdas skipped.
fn arity(body: &crate::syntax::ast::Expr) -> usize {
    use crate::syntax::ast::ExprKind;
    match &body.kind {
        ExprKind::Fun(clauses) if clauses.len() == 1 => 1 + arity(&clauses[0].1),
        ExprKind::Fun(_) => 1,
        ExprKind::Forall(_, e) => arity(e),
        _ => 0,
    }
}

/// Checks that export `e`'s Rust signature passes as many arguments as its Spiral function
/// takes (a function of no runtime arguments takes `()`).
fn check_arity(graph: &crate::project::ProjectGraph, e: &Export) -> Result<(), Vec<Diagnostic>> {
    use crate::syntax::ast::TopKind;
    fn find<'a>(k: &'a TopKind, name: &str) -> Option<(&'a crate::syntax::ast::Expr, Span)> {
        match k {
            TopKind::Inl { name: n, body, .. } if n.name == name => Some((body, n.span)),
            TopKind::And(inner) => find(&inner.kind, name),
            _ => None,
        }
    }
    let def = graph
        .root_package()
        .modules
        .iter()
        .filter(|m| !is_library(m))
        .flat_map(|m| m.parsed.module.items.iter().filter_map(|i| find(&i.kind, &e.name)))
        .last();
    let Some((body, span)) = def else { return Ok(()) };
    let takes = arity(body);
    let passes = e.params.len().max(1);
    if takes == 0 || takes == passes {
        return Ok(());
    }
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let shown = if e.params.is_empty() { "none (so `()`)".to_string() } else { format!("{}", e.params.len()) };
    Err(vec![Diagnostic::error(
        span,
        format!(
            "`{}` takes {takes} {}, but its Rust signature passes {shown} after `{}`",
            e.name,
            plural(takes),
            e.device
        ),
    )
    .with_note("give the signature one parameter per Spiral parameter, in order (a function of no arguments is `inl f () = ...` with only `dev` in the signature)")])
}

/// Where to report a construct of export `e` that the backend cannot print: its definition.
fn export_span(graph: &crate::project::ProjectGraph, e: &Export) -> Span {
    top_level_defs(graph)
        .into_iter()
        .find(|(n, _)| *n == e.name)
        .map(|(_, s)| s)
        .or_else(|| graph.root_package().modules.last().map(|m| Span::new(m.file, 0, 0)))
        .unwrap_or_default()
}

/// The module name the user's `spiral!` source gets (the entry point opens it).
pub const USER_MODULE: &str = "spiral_user";

/// Loads the user's text as a lone file (core opened), with the library modules (`inv`,
/// `kernel`) before it.
pub fn load_with_library(sources: &mut SourceMap, name: &str, text: &str) -> Result<crate::project::ProjectGraph, Vec<Diagnostic>> {
    let top_down = std::path::Path::new(name).extension().is_some_and(|e| e == "spi");
    load_with_library_in(sources, name, text, if top_down { Segment::TopDown } else { Segment::BottomUp })
}

/// [`load_with_library`] with the text in the given segment (a `.spi` name is top-down, any
/// other bottom-up, in [`load_with_library`]).
pub fn load_with_library_in(sources: &mut SourceMap, name: &str, text: &str, segment: Segment) -> Result<crate::project::ProjectGraph, Vec<Diagnostic>> {
    let mut graph = crate::project::load_inline(name, text, segment, sources)?;
    let root = graph.root;
    for m in &mut graph.packages[root].modules {
        m.name = Some(USER_MODULE.to_string());
    }
    add_library(&mut graph, sources)?;
    Ok(graph)
}

/// Loads the package in `dir` (its `package.spiproj` should list `|core-`), with the library
/// modules (`inv`, `kernel`) before its own modules.
pub fn load_package_with_library(sources: &mut SourceMap, dir: &std::path::Path) -> Result<crate::project::ProjectGraph, Vec<Diagnostic>> {
    let mut graph = crate::project::load_package_dir(dir, sources)?;
    add_library(&mut graph, sources)?;
    Ok(graph)
}

/// Puts the library modules (`inv`, `kernel`) first in the root package, so a program can
/// `open inv` / `open kernel` (the CLI does this for every program too).
pub fn add_library(graph: &mut crate::project::ProjectGraph, sources: &mut SourceMap) -> Result<(), Vec<Diagnostic>> {
    use crate::project::Module;
    use crate::syntax::Segment;
    let mut modules = Vec::new();
    for (path, lib) in LIBRARY {
        let file = sources.add(format!("<spiral library>/{path}"), lib.to_string());
        let parsed = crate::project::parse_static(file, lib, Segment::BottomUp);
        if !parsed.diagnostics.is_empty() {
            return Err(parsed.diagnostics.clone());
        }
        let stem = std::path::Path::new(path).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        modules.push(Module { path: path.into(), file, segment: Segment::BottomUp, name: Some(stem), scope: Vec::new(), parsed });
    }
    let root = graph.root;
    let pkg = &mut graph.packages[root];
    modules.append(&mut pkg.modules);
    pkg.modules = modules;
    Ok(())
}

fn is_library(m: &crate::project::Module) -> bool {
    LIBRARY.iter().any(|(p, _)| m.path == std::path::Path::new(p))
}

fn clone_module(m: &crate::project::Module) -> crate::project::Module {
    crate::project::Module {
        path: m.path.clone(),
        file: m.file,
        segment: m.segment,
        name: m.name.clone(),
        scope: m.scope.clone(),
        parsed: m.parsed.clone(),
    }
}

/// A copy of `base` whose root package ends with the entry module of export `e`.
pub fn with_entry(
    base: &crate::project::ProjectGraph,
    sources: &mut SourceMap,
    e: &Export,
) -> Result<crate::project::ProjectGraph, Vec<Diagnostic>> {
    with_entry_typed(base, sources, e, &[])
}

/// The type arguments the entry point of export `i` passes to its top-down definition
/// (inference's type passing, in bottom-up syntax); none for a bottom-up graph.
fn entry_type_args(inferred: Option<&crate::infer::InferResult>, i: usize) -> Vec<String> {
    inferred.and_then(|r| r.export_type_args.get(&i)).map(|ts| ts.iter().map(|t| t.bottom_up_text()).collect()).unwrap_or_default()
}

/// [`with_entry`] whose entry point applies the definition to `type_args` first (see
/// [`crate::codegen::rust::export_entry_typed`]).
pub fn with_entry_typed(
    base: &crate::project::ProjectGraph,
    sources: &mut SourceMap,
    e: &Export,
    type_args: &[String],
) -> Result<crate::project::ProjectGraph, Vec<Diagnostic>> {
    use crate::project::{Module, Package, ProjectGraph};
    use crate::syntax::{parse_module, Segment};
    let mut packages: Vec<Package> = base
        .packages
        .iter()
        .map(|p| Package {
            name: p.name.clone(),
            source: p.source.clone(),
            spiproj: p.spiproj,
            project: p.project.clone(),
            dependencies: p.dependencies.clone(),
            modules: p.modules.iter().map(clone_module).collect(),
        })
        .collect();
    let mut entry = String::new();
    for m in &packages[base.root].modules {
        if let (Some(n), true) = (&m.name, m.scope.is_empty()) {
            entry.push_str(&format!("open {n}\n"));
        }
    }
    entry.push_str(&crate::codegen::rust::export_entry_typed(e, type_args));
    let file = sources.add(format!("<spiral! entry point of `{}`>", e.name), entry.clone());
    let parsed = parse_module(file, &entry, Segment::BottomUp);
    if !parsed.diagnostics.is_empty() {
        return Err(parsed.diagnostics);
    }
    packages[base.root].modules.push(Module {
        path: "entry.spir".into(),
        file,
        segment: Segment::BottomUp,
        name: Some("spiral_entry".into()),
        scope: Vec::new(),
        parsed: std::sync::Arc::new(parsed),
    });
    Ok(ProjectGraph { packages, root: base.root })
}


/// The residual leaves a Rust result type stands for: a scalar is one leaf, a tuple its
/// elements' leaves in order, an `InvArray<T>` one array per leaf of `T` (the Spiral entry point
/// returns the inverse array's `arrays`).
fn expected_leaves(t: &spiral_abi::HostType, out: &mut Vec<crate::peval::ir::Ty>) {
    use crate::peval::ir::Ty;
    use spiral_abi::HostType;
    match t {
        HostType::Unit => {}
        HostType::Prim(k) => out.push(Ty::Prim((*k).into())),
        HostType::Usize => out.push(Ty::i32()),
        HostType::Tuple(ts) => ts.iter().for_each(|t| expected_leaves(t, out)),
        HostType::Struct(d) => d.fields.iter().for_each(|(_, t)| expected_leaves(t, out)),
        HostType::InvArray(el) => {
            let mut ks = Vec::new();
            el.leaves(&mut ks);
            out.extend(ks.into_iter().map(|k| Ty::Array(std::sync::Arc::new(Ty::Prim(k.into())))));
        }
    }
}

/// Checks that the Spiral function's result has exactly the leaves (number and types) of the
/// export's Rust result type: otherwise the wrapper would drop data or invent it.
fn check_result(prog: &Program, e: &Export, span: Span) -> Result<(), Vec<Diagnostic>> {
    let mut want = Vec::new();
    expected_leaves(&e.ret, &mut want);
    if want == prog.main_ret {
        return Ok(());
    }
    let show = |ts: &[crate::peval::ir::Ty]| -> String {
        if ts.is_empty() {
            "()".to_string()
        } else {
            ts.iter().map(|t| prog.types.show(t)).collect::<Vec<_>>().join(", ")
        }
    };
    let leaves = |n: usize| if n == 1 { "1 leaf".to_string() } else { format!("{n} leaves") };
    Err(vec![Diagnostic::error(
        span,
        format!(
            "the Rust signature of `{}` returns `{}` ({}: {}), but the Spiral function returns {} ({})",
            e.name,
            rust_type(&e.ret),
            leaves(want.len()),
            show(&want),
            leaves(prog.main_ret.len()),
            show(&prog.main_ret)
        ),
    )
    .with_note("change the `Result<T, Error>` of the signature to match what the Spiral function returns (an inverse array is `InvArray<T>`, a tuple of leaves is a Rust tuple)")])
}

/// A host type as the Rust type it was written as.
fn rust_type(t: &spiral_abi::HostType) -> String {
    use spiral_abi::HostType;
    match t {
        HostType::Unit => "()".into(),
        HostType::Prim(k) => k.name().into(),
        HostType::Usize => "usize".into(),
        HostType::Tuple(ts) => format!("({})", ts.iter().map(rust_type).collect::<Vec<_>>().join(", ")),
        HostType::InvArray(el) => format!("InvArray<{}>", rust_type(el)),
        HostType::Struct(d) => d.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spiral_abi::{HostType, Param, Passing, ScalarKind};

    /// A construct a C kernel cannot print (a string) is reported at its Spiral line, not at the
    /// export: the residual IR keeps each statement's span.
    #[test]
    fn a_construct_a_kernel_cannot_print_is_reported_at_its_spiral_line() {
        let src = "open inv\nopen kernel\ninl lens input =\n    map (fun x =>\n        inl s = dyn \"abc\"\n        string_length s + x) input\n";
        let i32s = HostType::Prim(ScalarKind::I32);
        let e = Export {
            name: "lens".into(),
            device: "dev".into(),
            params: vec![Param { name: "input".into(), ty: HostType::InvArray(Box::new(i32s.clone())), passing: Passing::Borrowed }],
            ret: HostType::InvArray(Box::new(i32s)),
        };
        let mut sm = SourceMap::new();
        let err = compile_exports_c(&mut sm, "lens.spir", src, &[e], "u").expect_err("strings cannot go into a C kernel");
        let CompileError::Spiral(d) = err else { panic!("expected a diagnostic") };
        let shown = crate::diagnostics::render(&sm, &d);
        assert!(shown.contains("strings are not supported inside a CPU kernel"), "{shown}");
        // Line 5 or 6 (the string and its use), not line 3 (the export's definition).
        assert!(shown.contains("lens.spir:5:") || shown.contains("lens.spir:6:"), "{shown}");
    }

    /// Join points record the backend they belong to: the host's, or the kernel's inside
    /// `join_backend`.
    #[test]
    fn methods_record_their_backend() {
        let src = "open inv\nopen kernel\ninl main () =\n    inl a = inv_create `i32 4i32\n    parallel_for 4i32 fun i =>\n        let f (x : i32) : i32 = x + 1i32\n        inv_set a i (f i)\n    let g (x : i32) : i32 = x * 2i32\n    g (dyn 3i32)\n";
        let mut sm = SourceMap::new();
        let graph = load_with_library(&mut sm, "m.spir", src).expect("loads");
        let p = Driver::new(HostTarget::Rust).evaluate(&graph).unwrap_or_else(|d| panic!("{}", crate::diagnostics::render(&sm, &d)));
        let mut backends: Vec<&str> = p.methods.iter().map(|m| &*m.backend).collect();
        backends.sort();
        assert_eq!(backends, vec!["CpuKernel", "Rust"]);
    }
}

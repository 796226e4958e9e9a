//! The compilation pipeline as the CLI drives it: locate the package, load and parse it, run
//! the prepass and the partial evaluator, print with a backend. Errors come back rendered
//! (file, line, column, source line and, for evaluation errors, the trace).

use spiral_compiler::codegen::backend_by_name;
use spiral_compiler::diagnostics::{render, Diagnostic, SourceMap, Span};
use spiral_compiler::project;
use std::path::{Path, PathBuf};

/// The directory of the nearest `package.spiproj` at or above the directory holding `file`.
pub fn find_package_root(file: &Path) -> Option<PathBuf> {
    project::owning_package_dir(file)
}

/// A compiled program: the backend's output and the files on disk it was compiled from.
#[derive(Debug)]
pub struct Compiled {
    /// The generated source text.
    pub text: String,
    /// Every file read from disk: the `package.spiproj` and module files of each package that
    /// is a folder, or the lone source file (never the bundled packages).
    pub inputs: Vec<PathBuf>,
}

/// Compiles the program whose `main` lives in `file` to C source text.
pub fn compile_file_to_c(file: &Path) -> Result<Compiled, String> {
    compile_file(file, "c")
}

/// Compiles the program whose `main` lives in `file` with the backend named `backend`.
pub fn compile_file(file: &Path, backend: &str) -> Result<Compiled, String> {
    compile_file_with_kernels(file, backend, None).map(|(c, _)| c)
}

/// One kernel's device source, as `spiral build --kernels-dir` writes it.
#[derive(Debug)]
pub struct KernelFile {
    /// The file name: `<program>.kernel<i>.cpu.c` or `<program>.kernel<i>.cu`.
    pub name: String,
    /// A complete translation unit holding the one kernel.
    pub text: String,
}

/// [`compile_file`], and with `kernels = Some(program)` also every kernel's device source: the
/// program's CPU kernels, each alone in the C kernel dialect (`<program>.kernel<i>.cpu.c`,
/// symbol `<program>_kernel<i>`), then the same program evaluated again with the library's
/// kernels on CUDA (`KernelTarget::Cuda`), each kernel alone as a CUDA translation unit
/// (`<program>.kernel<i>.cu`). A kernel either printer rejects is an error at its Spiral span.
pub fn compile_file_with_kernels(file: &Path, backend: &str, kernels: Option<&str>) -> Result<(Compiled, Vec<KernelFile>), String> {
    let mut sources = SourceMap::new();
    let mut inputs = Vec::new();
    let mut kernel_files = Vec::new();
    let result = (|| {
        if backend_by_name(backend).is_none() {
            return Err(no_span(&mut sources, file, format!("unknown backend `{backend}`")));
        }
        let (program, entry) = evaluate(file, &mut sources, &mut inputs)?;
        print_compile_log(&program);
        if let Some(name) = kernels {
            kernel_files = kernel_sources(file, &program, name, entry, &mut sources)?;
        }
        // The driver runs the backend on the evaluator's big stack (backends recurse on
        // nesting depth, e.g. a match with thousands of arms).
        let emitted = spiral_compiler::driver::Driver::new(spiral_compiler::peval::HostTarget::C).emit(&program, backend);
        // Backend errors carry no source position (the residual IR has none); point them at the
        // entry module rather than at whichever file happens to be first in the source map.
        emitted.map_err(|ds| {
            ds.into_iter().map(|d| if d.span == Span::default() { Diagnostic { span: entry, ..d } } else { d }).collect()
        })
    })();
    result.map(|text| (Compiled { text, inputs }, kernel_files)).map_err(|d| render(&sources, &d))
}

/// The device sources of `cpu`'s kernels (see [`compile_file_with_kernels`]); the CUDA ones
/// from a second evaluation of `file` for `KernelTarget::Cuda`.
fn kernel_sources(file: &Path, cpu: &spiral_compiler::peval::ir::Program, name: &str, entry: Span, sources: &mut SourceMap) -> Result<Vec<KernelFile>, Vec<Diagnostic>> {
    use spiral_compiler::peval::{HostTarget, KernelTarget};
    if cpu.kernels.is_empty() {
        return Ok(Vec::new());
    }
    let at = |(message, span): (String, Span)| vec![Diagnostic::error(if span == Span::default() { entry } else { span }, message)];
    let mut files = Vec::new();
    for i in 0..cpu.kernels.len() {
        let symbol = format!("{name}_kernel{i}");
        let text = spiral_compiler::codegen::c::emit_cpu_kernel(cpu, i, &symbol).expect("kernel i exists").map_err(at)?;
        files.push(KernelFile { name: format!("{name}.kernel{i}.cpu.c"), text });
    }
    let graph = load(file, sources)?;
    let cuda = spiral_compiler::driver::Driver::new(HostTarget::C).with_kernel_target(KernelTarget::Cuda).evaluate(&graph)?;
    if cuda.kernels.len() != cpu.kernels.len() {
        return Err(vec![Diagnostic::error(
            entry,
            format!("the program has {} kernels for the CPU but {} for CUDA", cpu.kernels.len(), cuda.kernels.len()),
        )]);
    }
    for i in 0..cuda.kernels.len() {
        let symbol = format!("{name}_kernel{i}");
        let text = spiral_compiler::codegen::cuda::emit_cuda_kernel(&cuda, i, &symbol).expect("kernel i exists").map_err(at)?;
        files.push(KernelFile { name: format!("{name}.kernel{i}.cu"), text });
    }
    Ok(files)
}

/// Whether `a` and `b` are the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ca), Ok(cb)) = (std::fs::canonicalize(a), std::fs::canonicalize(b)) else { return false };
    if ca == cb {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(&ca), std::fs::metadata(&cb)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    false
}

/// The error for an output path that would overwrite the input `input`.
pub fn output_is_input(output: &Path, input: &Path, flag: &str) -> String {
    format!(
        "error: the output `{}` is the input file `{}`; writing it would overwrite the source\n  \
         = help: pass `{flag}` a path that is not one of the program's source files\n",
        output.display(),
        input.display(),
    )
}

/// Runs the front end and the partial evaluator on the program whose `main` lives in `file`:
/// the residual program, or the rendered diagnostics.
pub fn compile_file_to_ir(file: &Path) -> Result<spiral_compiler::peval::ir::Program, String> {
    let mut sources = SourceMap::new();
    let r = evaluate(file, &mut sources, &mut Vec::new()).map(|(p, _)| p);
    if let Ok(p) = &r {
        print_compile_log(p);
    }
    r.map_err(|d| render(&sources, &d))
}

/// Prints what `print_static` produced during evaluation to stderr, one entry a line (v2 shows
/// it as compiler output; stdout stays the program's own).
fn print_compile_log(program: &spiral_compiler::peval::ir::Program) {
    for line in &program.compile_log {
        eprintln!("{line}");
    }
}

fn no_span(sources: &mut SourceMap, file: &Path, msg: String) -> Vec<Diagnostic> {
    let f = sources.add(file.display().to_string(), "");
    vec![Diagnostic::error(Span::new(f, 0, 0), msg)]
}

/// Loads the package (or lone file) and evaluates it; also returns the start of the entry
/// module. The files read from disk are pushed onto `inputs`.
fn evaluate(
    file: &Path,
    sources: &mut SourceMap,
    inputs: &mut Vec<PathBuf>,
) -> Result<(spiral_compiler::peval::ir::Program, Span), Vec<Diagnostic>> {
    let graph = load(file, sources)?;
    if file.is_file() {
        inputs.push(file.to_path_buf());
    }
    for p in &graph.packages {
        match &p.source {
            project::PackageSource::Dir(dir) => {
                inputs.push(dir.join("package.spiproj"));
                inputs.extend(p.modules.iter().map(|m| m.path.clone()));
            }
            project::PackageSource::Synthetic(_) => inputs.extend(p.modules.iter().map(|m| m.path.clone())),
            project::PackageSource::Bundled(_) => {}
        }
    }
    let entry = graph.root_package().modules.last().map(|m| Span::new(m.file, 0, 0)).unwrap_or_default();
    let program = lower_and_evaluate(&graph, sources)?;
    Ok((program, entry))
}

/// Loads what `file` names: a package directory (its last module holds `main`), a file that is
/// a module of the package owning it (compiled with the package, whose last module holds
/// `main`), or a lone file. A file inside a package's folder that the package does not list
/// is refused: compiling the package would run another file's `main`.
fn load(file: &Path, sources: &mut SourceMap) -> Result<project::ProjectGraph, Vec<Diagnostic>> {
    // A program that sees `core` (every lone file; a package that lists `core`) can also
    // `open inv` and `open kernel`: the library modules, written against core, come first in
    // its root package (kernels run on the calling thread under `spiral run`).
    let mut graph = load_program(file, sources)?;
    let sees_core = graph.root_package().dependencies.iter().any(|d| d.name == "core");
    if sees_core {
        spiral_compiler::driver::add_library(&mut graph, sources)?;
    }
    Ok(graph)
}

fn load_program(file: &Path, sources: &mut SourceMap) -> Result<project::ProjectGraph, Vec<Diagnostic>> {
    if file.is_dir() {
        if !file.join("package.spiproj").is_file() {
            return Err(vec![no_span1(
                sources,
                file,
                format!("`{}` is a directory with no package.spiproj", file.display()),
                "pass the `.spir`/`.spi` file that holds `main`, or a package directory (one with a `package.spiproj`)",
            )]);
        }
        return project::load_package_dir(file, sources);
    }
    if !file.is_file() {
        return Err(no_span(sources, file, format!("cannot read `{}`: no such file", file.display())));
    }
    let Some(dir) = find_package_root(file) else { return project::load_single_file(file, sources) };
    let graph = project::load_package_dir(&dir, sources)?;
    let listed = graph.root_package().modules.iter().any(|m| same_file(&m.path, file));
    if !listed {
        let spiproj = dir.join("package.spiproj");
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let entry = if project::segment_of_path(file) == spiral_compiler::syntax::Segment::BottomUp {
            format!("{stem}*")
        } else {
            stem
        };
        return Err(vec![no_span1(
            sources,
            file,
            format!("`{}` is not a module of the package `{}`", file.display(), spiproj.display()),
            &format!(
                "a file inside a package's folder is compiled with its package; add `{entry}` (with its folders, \
                 relative to the package) to the `modules:` of `{}`, or move the file out of `{}`",
                spiproj.display(),
                dir.display()
            ),
        )]);
    }
    Ok(graph)
}

fn no_span1(sources: &mut SourceMap, file: &Path, msg: String, note: &str) -> Diagnostic {
    let f = sources.add(file.display().to_string(), "");
    Diagnostic::error(Span::new(f, 0, 0), msg).with_note(note.to_string())
}

/// Prepass and partial evaluation of a loaded program.
fn lower_and_evaluate(
    graph: &project::ProjectGraph,
    _sources: &mut SourceMap,
) -> Result<spiral_compiler::peval::ir::Program, Vec<Diagnostic>> {
    spiral_compiler::driver::Driver::new(spiral_compiler::peval::HostTarget::C).evaluate(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_enclosing_package() {
        let base = std::env::temp_dir().join(format!("spiral-pkg-test-{}", std::process::id()));
        let sub = base.join("a").join("b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(base.join("package.spiproj"), "modules: a/b/m\n").unwrap();
        let f = sub.join("m.spir");
        std::fs::write(&f, "inl main () = 0i32\n").unwrap();
        let root = find_package_root(&f).unwrap();
        assert_eq!(std::fs::canonicalize(root).unwrap(), std::fs::canonicalize(&base).unwrap());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn syntax_errors_render_with_file_line_col() {
        let dir = std::env::temp_dir().join(format!("spiral-syntax-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.spir");
        std::fs::write(&f, "inl main () =\n    1 +\n").unwrap();
        let err = compile_file_to_c(&f).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("bad.spir:"), "{err}");
    }
}

//! What `ptx-check` and `gpu-check` share: finding nvcc and ptxas, compiling a Spiral export's
//! kernels for `KernelTarget::Cuda`, and running a tool with its output captured.

use spiral_abi::Export;
use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::driver::{load_with_library, with_entry, Driver};
use spiral_compiler::peval::ir::Program;
use spiral_compiler::peval::{HostTarget, KernelTarget};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to get nvcc when none is found (printed with exit code 2).
pub const HOW_TO_GET_NVCC: &str = "no nvcc found (tried $SPIRAL_NVCC, `nvcc` on PATH, $CUDA_HOME/bin/nvcc and the PyPI wheels' \
     ~/.cache/spiral/cuda-wheels/nvidia/cu13/bin/nvcc).\n  = help: install nvcc and ptxas from PyPI (no GPU, driver or root needed) with\n        \
     .ci/install-cuda-wheels\n    and run again (it is found in the wheels' folder), or point SPIRAL_NVCC at any nvcc";

/// nvcc and the ptxas next to it.
#[derive(Clone, Debug)]
pub struct CudaTools {
    pub nvcc: PathBuf,
    pub ptxas: PathBuf,
}

/// Whether `tool --version` runs and succeeds.
fn runs(tool: &Path) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The candidates for nvcc, in order: `$SPIRAL_NVCC`, `nvcc` on `PATH`, `$CUDA_HOME/bin/nvcc`,
/// then the folder `.ci/install-cuda-wheels` installs into
/// (`${SPIRAL_CACHE:-~/.cache/spiral}/cuda-wheels/nvidia/cu13/bin/nvcc`).
fn nvcc_candidates() -> Vec<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let mut c = Vec::new();
    c.extend(var("SPIRAL_NVCC"));
    c.push(PathBuf::from("nvcc"));
    if let Some(h) = var("CUDA_HOME") {
        c.push(h.join("bin/nvcc"));
    }
    let cache = var("SPIRAL_CACHE").or_else(|| var("HOME").map(|h| h.join(".cache/spiral")));
    if let Some(cache) = cache {
        c.push(cache.join("cuda-wheels/nvidia/cu13/bin/nvcc"));
    }
    c
}

/// nvcc (see [`nvcc_candidates`]) and ptxas from the same folder (else `ptxas` on `PATH`);
/// `None` when no nvcc runs.
pub fn find_cuda_tools() -> Option<CudaTools> {
    let nvcc = nvcc_candidates().into_iter().find(|p| runs(p))?;
    // `nvcc` found on PATH: its folder is where `which` would find it.
    let dir = if nvcc.components().count() == 1 { which(&nvcc) .and_then(|p| p.parent().map(Path::to_path_buf)) } else { nvcc.parent().map(Path::to_path_buf) };
    let ptxas = dir.map(|d| d.join("ptxas")).filter(|p| runs(p)).unwrap_or_else(|| PathBuf::from("ptxas"));
    Some(CudaTools { nvcc, ptxas })
}

/// The first `PATH` entry holding an executable named `name`.
fn which(name: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Runs a command to completion: its stdout, or a message with its status and output.
pub fn run_captured(cmd: &mut Command) -> Result<String, String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => {
            let mut text = String::from_utf8_lossy(&o.stderr).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stdout));
            Err(format!("{} exited with {}: {}", cmd.get_program().to_string_lossy(), o.status, text.trim()))
        }
        Err(e) => Err(format!("cannot run {}: {e}", cmd.get_program().to_string_lossy())),
    }
}

/// Reads a `// export:` signature with the parser `spiral!` and spiral-build use.
pub fn parse_export(line: &str) -> Result<Export, String> {
    let item: syn::ForeignItemFn = syn::parse_str(line.trim()).map_err(|e| format!("not a Rust signature: {e}"))?;
    spiral_abi::signature::export_of(&item.sig).map_err(|(_, m)| m)
}

/// The residual program of export `e` of `text` (loaded as the file `name`, with the `inv` and
/// `kernel` library), evaluated with the library's kernels on `target`; the rendered
/// diagnostics on error.
pub fn program_for(name: &str, text: &str, e: &Export, target: KernelTarget) -> Result<Program, String> {
    let mut sm = SourceMap::new();
    let base = load_with_library(&mut sm, name, text).map_err(|d| render(&sm, &d))?;
    let graph = with_entry(&base, &mut sm, e).map_err(|d| render(&sm, &d))?;
    Driver::new(HostTarget::Rust).with_kernel_target(target).evaluate(&graph).map_err(|d| render(&sm, &d))
}

//! `cargo xtask ptx-check`: every CUDA kernel the tests and examples generate, through nvcc and
//! ptxas.
//!
//! The programs: every export of `kernel-tests/corpus/*.spir`, every export of the `.spir` files
//! under `examples/` with `// export:` lines, and the library-coverage programs below ([`LIBRARY`]:
//! `map`, `map_inp`, `parallel_for`, `reduce`, the scans, `filter`, `histogram` and the atomics
//! over i32, f32, f64, nested tuples and records), and the map kernel of `gpu-bench`. Each export is evaluated with
//! `KernelTarget::Cuda`; each of its kernels is printed alone as a complete translation unit
//! (`codegen::cuda::emit_cuda_kernel`) into `target/ptx-check/<origin>.<export>.kernel<i>.cu`,
//! compiled with `nvcc -ptx -arch=compute_75` (nvcc's warnings are printed as `WARN` lines;
//! `--werror` adds `-Werror all-warnings`), and the PTX assembled by
//! `ptxas` for `sm_80` and for `sm_90`. One line per failure, then
//! `ptx-check: N kernels, P passed` (N kernels compiled, P passing both architectures).
//!
//! Exit code 0 when every kernel passes, 1 when one fails (or a program does not evaluate or
//! print), 2 when no nvcc is found.

use crate::cuda_tools::{find_cuda_tools, parse_export, program_for, run_captured, CudaTools, HOW_TO_GET_NVCC};
use spiral_abi::Export;
use spiral_compiler::codegen::cuda::emit_cuda_kernel;
use spiral_compiler::peval::KernelTarget;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `cargo xtask ptx-check` options.
#[derive(clap::Args, Debug, Default)]
pub struct Options {
    /// Compile only the exports whose name contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Parallel nvcc/ptxas jobs (default: the available parallelism).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Make nvcc's warnings failures (`-Werror all-warnings`, as `tests/cuda.rs` does for the
    /// corpus); by default they are printed as `WARN` lines and the kernel passes.
    #[arg(long)]
    pub werror: bool,
}

/// One export to compile.
struct Case {
    /// Where it comes from: `corpus/<file>`, `examples/<path>` or `library`.
    origin: String,
    text: String,
    export: Export,
}

/// The library-coverage programs: (export signature, Spiral text). Every program opens `inv`
/// and `kernel`.
const LIBRARY: &[(&str, &str)] = &[
    // map over each element type
    ("pub fn lib_map_i32(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;", "inl lib_map_i32 input = map (fun x => x * 3i32 - 1i32) input"),
    ("pub fn lib_map_f32(dev: &Device, input: &InvArray<f32>) -> Result<InvArray<f32>, Error>;", "inl lib_map_f32 input = map (fun x => x * 2.0f32 + 1.0f32) input"),
    ("pub fn lib_map_f64(dev: &Device, input: &InvArray<f64>) -> Result<InvArray<f64>, Error>;", "inl lib_map_f64 input = map (fun x => x * x - 1.5) input"),
    (
        "pub fn lib_map_nested(dev: &Device, input: &InvArray<(i32, (f32, f64))>) -> Result<InvArray<(f64, i32)>, Error>;",
        "inl lib_map_nested input = map (fun a, (b, c) => to_f64 b * c + to_f64 a, a * 2i32) input",
    ),
    (
        "pub fn lib_map_record(dev: &Device, input: &InvArray<(i32, (f32, f64))>) -> Result<InvArray<(f64, f32)>, Error>;",
        "inl lib_map_record input =\n    inl r = inv_rezip (fun a, (b, c) => {a b c}) input\n    map (fun {a b c} => to_f64 a + c, b * 0.5f32) r",
    ),
    // map_inp: in place, into a moved output, over zipped and record inputs
    (
        "pub fn lib_map_inp_f64(dev: &Device, x: &InvArray<f64>, y: &mut InvArray<f64>) -> Result<(), Error>;",
        "inl lib_map_inp_f64 x y = map_inp (fun x, y => x * y + 1.0) (inv_zip x y) y",
    ),
    (
        "pub fn lib_map_inp_i32(dev: &Device, input: &InvArray<i32>, output: InvArray<i32>) -> Result<InvArray<i32>, Error>;",
        "inl lib_map_inp_i32 input output =\n    map_inp (fun x => x - 7i32) input output\n    output",
    ),
    (
        "pub fn lib_map_inp_nested(dev: &Device, xs: &mut InvArray<(i32, (f32, bool))>) -> Result<(), Error>;",
        "inl lib_map_inp_nested xs = map_inp (fun a, (b, c) => a + 1i32, ((if c then b * 2.0f32 else b), not c)) xs xs",
    ),
    (
        "pub fn lib_map_inp_record(dev: &Device, xs: &mut InvArray<(f32, f64)>) -> Result<(), Error>;",
        "inl lib_map_inp_record xs =\n    inl r = inv_rezip (fun p, q => {p q}) xs\n    map_inp (fun {p q} => {p = p + 1.0f32; q = q * 2.0}) r r",
    ),
    // parallel_for with reads at other indices, over each element type
    (
        "pub fn lib_pfor_reverse_f32(dev: &Device, input: &InvArray<f32>) -> Result<InvArray<f32>, Error>;",
        "inl lib_pfor_reverse_f32 input =\n    inl n = inv_length input\n    inl out = inv_create `f32 n\n    parallel_for n fun i => inv_set out i (inv_index input (n - 1i32 - i))\n    out",
    ),
    (
        "pub fn lib_pfor_stencil_f64(dev: &Device, input: &InvArray<f64>) -> Result<InvArray<f64>, Error>;",
        "inl lib_pfor_stencil_f64 input =\n    inl n = inv_length input\n    inl out = inv_create `f64 n\n    parallel_for n fun i =>\n        inl l = if i > 0i32 then inv_index input (i - 1i32) else 0.0\n        inl r = if i + 1i32 < n then inv_index input (i + 1i32) else 0.0\n        inv_set out i ((l + inv_index input i + r) / 3.0)\n    out",
    ),
    (
        "pub fn lib_pfor_nested(dev: &Device, input: &InvArray<(i32, (f32, f64))>) -> Result<InvArray<(i32, (f32, f64))>, Error>;",
        "inl lib_pfor_nested input =\n    inl n = inv_length input\n    inl out = inv_create `(i32 * (f32 * f64)) n\n    parallel_for n fun i =>\n        inl a, (b, c) = inv_index input i\n        inv_set out i (a * i, (b + 1.0f32, c - to_f64 i))\n    out",
    ),
    (
        "pub fn lib_pfor_record(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;",
        "inl lib_pfor_record input =\n    inl r = inv_rezip (fun x, y => {x y}) input\n    inl n = inv_length r\n    inl out = inv_create `i32 n\n    parallel_for n fun i =>\n        inl {x y} = inv_index r i\n        inv_set out i (x * y - i)\n    out",
    ),
    // reduce
    ("pub fn lib_reduce_i32(dev: &Device, input: &InvArray<i32>) -> Result<i32, Error>;", "inl lib_reduce_i32 input = reduce (fun s x => s + x) 0i32 input"),
    (
        "pub fn lib_reduce_f32(dev: &Device, input: &InvArray<f32>) -> Result<f32, Error>;",
        "inl lib_reduce_f32 input = reduce (fun s x => if x > s then x else s) -1000000.0f32 input",
    ),
    ("pub fn lib_reduce_f64(dev: &Device, input: &InvArray<f64>) -> Result<f64, Error>;", "inl lib_reduce_f64 input = reduce (fun s x => s + x * x) 0.0 input"),
    (
        "pub fn lib_reduce_tuple(dev: &Device, input: &InvArray<(i64, (f64, i32))>) -> Result<(i64, (f64, i32)), Error>;",
        "inl lib_reduce_tuple input = reduce (fun (s, (m, c)) (x, (y, z)) => s + x, ((if y > m then y else m), c + z)) (0i64, (-1000000000.0, 0i32)) input",
    ),
    // scans
    ("pub fn lib_scan_incl_i32(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;", "inl lib_scan_incl_i32 input = scan_inclusive (fun a b => a + b) 0i32 input"),
    ("pub fn lib_scan_incl_f32(dev: &Device, input: &InvArray<f32>) -> Result<InvArray<f32>, Error>;", "inl lib_scan_incl_f32 input = scan_inclusive (fun a b => a + b) 0.0f32 input"),
    (
        "pub fn lib_scan_incl_nested(dev: &Device, input: &InvArray<(i32, (f64, f32))>) -> Result<InvArray<(i32, (f64, f32))>, Error>;",
        "inl lib_scan_incl_nested input = scan_inclusive (fun (a, (b, c)) (x, (y, z)) => a + x, (b + y, if c > z then c else z)) (0i32, (0.0, -1000000.0f32)) input",
    ),
    ("pub fn lib_scan_excl_f64(dev: &Device, input: &InvArray<f64>) -> Result<InvArray<f64>, Error>;", "inl lib_scan_excl_f64 input = scan_exclusive (fun a b => a + b) 1.0 input"),
    ("pub fn lib_scan_excl_i32(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;", "inl lib_scan_excl_i32 input = scan_exclusive (fun a b => a * b) 1i32 input"),
    (
        "pub fn lib_scan_excl_tuple(dev: &Device, input: &InvArray<(f32, i64)>) -> Result<InvArray<(f32, i64)>, Error>;",
        "inl lib_scan_excl_tuple input = scan_exclusive (fun (a, b) (x, y) => a + x, b + y) (0.0f32, 0i64) input",
    ),
    // filter
    ("pub fn lib_filter_i32(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;", "inl lib_filter_i32 input = filter (fun x => x % 3i32 = 0i32) input"),
    ("pub fn lib_filter_f32(dev: &Device, input: &InvArray<f32>) -> Result<InvArray<f32>, Error>;", "inl lib_filter_f32 input = filter (fun x => x > 0.0f32) input"),
    ("pub fn lib_filter_f64(dev: &Device, input: &InvArray<f64>) -> Result<InvArray<f64>, Error>;", "inl lib_filter_f64 input = filter (fun x => x * x < 4.0) input"),
    (
        "pub fn lib_filter_nested(dev: &Device, input: &InvArray<(i32, (f64, bool))>) -> Result<InvArray<(i32, (f64, bool))>, Error>;",
        "inl lib_filter_nested input = filter (fun a, (b, c) => c && b > to_f64 a) input",
    ),
    // histogram
    (
        "pub fn lib_histogram_i32(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i64>, Error>;",
        "inl lib_histogram_i32 input = histogram 8i32 (fun x => x &&& 7i32) input",
    ),
    (
        "pub fn lib_histogram_f32(dev: &Device, input: &InvArray<f32>) -> Result<InvArray<i64>, Error>;",
        "inl lib_histogram_f32 input = histogram 16i32 (fun x => conv `i32 x &&& 15i32) input",
    ),
    (
        "pub fn lib_histogram_f64(dev: &Device, input: &InvArray<f64>) -> Result<InvArray<i64>, Error>;",
        "inl lib_histogram_f64 input = histogram 32i32 (fun x => conv `i32 (x * 4.0) &&& 31i32) input",
    ),
    (
        "pub fn lib_histogram_nested(dev: &Device, input: &InvArray<(i32, (f32, u8))>) -> Result<InvArray<i64>, Error>;",
        "inl lib_histogram_nested input = histogram 4i32 (fun a, (_, c) => (a + conv `i32 c) &&& 3i32) input",
    ),
    // atomics (CUDA's atomics take 32- and 64-bit integer cells), indices and values from i32,
    // f32, f64, nested tuple and record elements
    (
        "pub fn lib_atomics_i32(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;",
        "inl lib_atomics_i32 input =\n    inl cells = inv_create `i32 4i32\n    parallel_for (inv_length input) fun i =>\n        inl x = inv_index input i\n        atomic_add cells 0i32 x\n        atomic_min cells 1i32 x\n        atomic_max cells 2i32 x\n        inl prev = atomic_cas cells 3i32 0i32 (i + 1i32)\n        ()\n    cells",
    ),
    (
        "pub fn lib_atomics_f32(dev: &Device, input: &InvArray<f32>) -> Result<InvArray<u32>, Error>;",
        "inl lib_atomics_f32 input =\n    inl cells = inv_create `u32 3i32\n    parallel_for (inv_length input) fun i =>\n        inl x = conv `u32 (inv_index input i)\n        atomic_add cells 0i32 x\n        atomic_min cells 1i32 x\n        atomic_max cells 2i32 x\n    cells",
    ),
    (
        "pub fn lib_atomics_f64(dev: &Device, input: &InvArray<f64>) -> Result<InvArray<i64>, Error>;",
        "inl lib_atomics_f64 input =\n    inl cells = inv_create `i64 3i32\n    parallel_for (inv_length input) fun i =>\n        inl x = conv `i64 (inv_index input i * 1000.0)\n        atomic_add cells 0i32 x\n        atomic_min cells 1i32 x\n        atomic_max cells 2i32 x\n    cells",
    ),
    (
        "pub fn lib_atomics_nested(dev: &Device, input: &InvArray<(i32, (f64, u64))>) -> Result<InvArray<u64>, Error>;",
        "inl lib_atomics_nested input =\n    inl cells = inv_create `u64 8i32\n    parallel_for (inv_length input) fun i =>\n        inl a, (b, c) = inv_index input i\n        if b > 0.0 then atomic_add cells (a &&& 7i32) c\n        inl prev = atomic_cas cells 0i32 0u64 c\n        ()\n    cells",
    ),
    (
        "pub fn lib_atomics_record(dev: &Device, input: &InvArray<(i32, f32)>) -> Result<InvArray<i32>, Error>;",
        "inl lib_atomics_record input =\n    inl r = inv_rezip (fun k, v => {k v}) input\n    inl cells = inv_create `i32 16i32\n    parallel_for (inv_length r) fun i =>\n        inl {k v} = inv_index r i\n        atomic_max cells (k &&& 15i32) (conv `i32 v)\n    cells",
    ),
];

/// The exports of one `.spir` file with `// export:` lines (signatures and the structs they
/// use, read as spiral-build reads them).
fn cases_of_file(origin: String, path: &Path, out: &mut Vec<Case>, errors: &mut Vec<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return errors.push(format!("{origin}: cannot read {}: {e}", path.display())),
    };
    match spiral_build::export_directives(&path.display().to_string(), &text) {
        Ok(d) => out.extend(d.exports.into_iter().map(|export| Case { origin: origin.clone(), text: text.clone(), export })),
        Err(e) => errors.push(format!("{origin}: bad `// export:` lines: {e}")),
    }
}

/// `.spir` files under `dir`, recursively, sorted.
fn spir_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            spir_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "spir") {
            out.push(p);
        }
    }
}

/// Every case: the corpus, the examples, the library programs; and the problems met reading
/// them.
fn all_cases(root: &Path) -> (Vec<Case>, Vec<String>) {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    let mut files = Vec::new();
    spir_files(&root.join("kernel-tests/corpus"), &mut files);
    spir_files(&root.join("examples"), &mut files);
    for f in &files {
        let rel = f.strip_prefix(root).unwrap_or(f);
        let origin = rel.with_extension("").to_string_lossy().replace("kernel-tests/", "");
        cases_of_file(origin, f, &mut cases, &mut errors);
    }
    for (sig, body) in LIBRARY {
        match parse_export(sig) {
            Ok(export) => cases.push(Case { origin: "library".into(), text: format!("open inv\nopen kernel\n{body}\n"), export }),
            Err(e) => errors.push(format!("library: bad signature `{sig}`: {e}")),
        }
    }
    // The kernel `cargo xtask gpu-bench` runs.
    match parse_export(crate::gpu_check::MAP_SIG) {
        Ok(export) => cases.push(Case { origin: "gpu-bench".into(), text: crate::gpu_check::MAP_TEXT.into(), export }),
        Err(e) => errors.push(format!("gpu-bench: bad signature: {e}")),
    }
    (cases, errors)
}

/// One kernel to compile: its `.cu` file and a name for messages.
struct Job {
    what: String,
    cu: PathBuf,
}

/// nvcc to PTX, then ptxas for sm_80 and sm_90: `Err` with the first failure, else nvcc's
/// warnings (empty when none).
fn compile(tools: &CudaTools, cu: &Path, werror: bool) -> Result<String, String> {
    let ptx = cu.with_extension("ptx");
    let mut nvcc = Command::new(&tools.nvcc);
    nvcc.args(["-ptx", "-arch=compute_75"]);
    if werror {
        nvcc.args(["-Werror", "all-warnings"]);
    }
    let out = nvcc.arg("-o").arg(&ptx).arg(cu).output().map_err(|e| format!("cannot run {}: {e}", tools.nvcc.display()))?;
    let diagnostics = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("nvcc -ptx -arch=compute_75 exited with {}: {}", out.status, diagnostics.trim()));
    }
    for sm in ["sm_80", "sm_90"] {
        let cubin = cu.with_extension(format!("{sm}.cubin"));
        run_captured(Command::new(&tools.ptxas).arg(format!("-arch={sm}")).arg(&ptx).arg("-o").arg(&cubin))
            .map_err(|e| format!("ptxas -arch={sm}: {e}"))?;
    }
    Ok(if diagnostics.contains("warning") { diagnostics.trim().to_string() } else { String::new() })
}

/// The same units through NVRTC (what a build without nvcc embeds and compiles at the first
/// launch), when xtask is built with its `cuda` feature and libnvrtc loads (put the wheel's
/// `nvidia/cu13/lib` on `LD_LIBRARY_PATH`); otherwise a line says it was skipped.
#[cfg(feature = "cuda")]
fn nvrtc_check(jobs: &[Job], failures: &mut Vec<String>) {
    let mut ok = 0usize;
    for job in jobs {
        let Ok(text) = std::fs::read_to_string(&job.cu) else { continue };
        match spiral_rt::nvrtc_compile(&text, Some("sm_80")) {
            Ok(_) => ok += 1,
            Err(spiral_rt::Error::Toolchain { message, .. }) if ok == 0 && !message.contains("failed") => {
                println!("ptx-check: NVRTC skipped: {}", one_line(&message));
                return;
            }
            Err(e) => failures.push(format!("{} ({}): NVRTC: {}", job.what, job.cu.display(), one_line(&e.to_string()))),
        }
    }
    println!("ptx-check: NVRTC compiled {ok} of {} units", jobs.len());
}

#[cfg(not(feature = "cuda"))]
fn nvrtc_check(_: &[Job], _: &mut Vec<String>) {
    println!("ptx-check: NVRTC skipped (build xtask with `--features cuda` and put libnvrtc on LD_LIBRARY_PATH to check it too)");
}

/// A file-name-safe version of `s`.
fn file_safe(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '.' }).collect()
}

/// A message on one line (the first 400 characters, newlines as ` | `).
fn one_line(s: &str) -> String {
    let flat: String = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" | ");
    if flat.chars().count() > 400 {
        format!("{}...", flat.chars().take(400).collect::<String>())
    } else {
        flat
    }
}

/// Runs `cargo xtask ptx-check`.
pub fn run(root: &Path, o: &Options) -> ExitCode {
    let Some(tools) = find_cuda_tools() else {
        eprintln!("ptx-check: {HOW_TO_GET_NVCC}");
        return ExitCode::from(2);
    };
    eprintln!("ptx-check: nvcc {}, ptxas {}", tools.nvcc.display(), tools.ptxas.display());
    let out_dir = root.join("target/ptx-check");
    let _ = std::fs::remove_dir_all(&out_dir);
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("ptx-check: cannot create {}: {e}", out_dir.display());
        return ExitCode::from(1);
    }
    let (mut cases, mut failures) = all_cases(root);
    if let Some(f) = &o.filter {
        cases.retain(|c| c.export.name.contains(f.as_str()));
    }
    // Evaluate and print every export's kernels (sequentially: the compiler is quick next to
    // nvcc), one `.cu` per kernel.
    let mut jobs = Vec::new();
    let mut total = 0usize;
    let mut programs = 0usize;
    for c in &cases {
        let label = format!("{}:{}", c.origin, c.export.name);
        let program = match program_for(&format!("{}.spir", c.origin), &c.text, &c.export, KernelTarget::Cuda) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{label}: does not evaluate for KernelTarget::Cuda: {}", one_line(&e)));
                continue;
            }
        };
        if program.kernels.is_empty() {
            continue;
        }
        programs += 1;
        for i in 0..program.kernels.len() {
            total += 1;
            let what = format!("{label} kernel {i}");
            let symbol = format!("{}_kernel{i}", c.export.name);
            let cu_text = match emit_cuda_kernel(&program, i, &symbol) {
                Some(Ok(t)) => t,
                Some(Err((msg, _))) => {
                    failures.push(format!("{what}: the CUDA printer rejects it: {}", one_line(&msg)));
                    continue;
                }
                None => unreachable!("kernel {i} exists"),
            };
            if cu_text.matches("__global__").count() != 1 {
                failures.push(format!("{what}: expected exactly one `__global__` function in the translation unit"));
                continue;
            }
            let cu = out_dir.join(format!("{}.{}.kernel{i}.cu", file_safe(&c.origin), file_safe(&c.export.name)));
            if let Err(e) = std::fs::write(&cu, cu_text) {
                failures.push(format!("{what}: cannot write {}: {e}", cu.display()));
                continue;
            }
            jobs.push(Job { what, cu });
        }
    }
    eprintln!("ptx-check: {} exports, {programs} with kernels, {total} kernels; compiling into {}", cases.len(), out_dir.display());
    let jobs_n = o.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let next = AtomicUsize::new(0);
    let passed = AtomicUsize::new(0);
    let compile_failures: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let warnings: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs_n.min(jobs.len().max(1)) {
            s.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(j) else { break };
                match compile(&tools, &job.cu, o.werror) {
                    Ok(w) => {
                        passed.fetch_add(1, Ordering::SeqCst);
                        if !w.is_empty() {
                            warnings.lock().expect("lock").push((j, format!("{} ({}): {}", job.what, job.cu.display(), one_line(&w))));
                        }
                    }
                    Err(e) => compile_failures.lock().expect("lock").push((j, format!("{} ({}): {}", job.what, job.cu.display(), one_line(&e)))),
                }
            });
        }
    });
    let mut cf = compile_failures.into_inner().expect("lock");
    cf.sort();
    failures.extend(cf.into_iter().map(|(_, m)| m));
    nvrtc_check(&jobs, &mut failures);
    let mut warnings = warnings.into_inner().expect("lock");
    warnings.sort();
    for (_, w) in &warnings {
        println!("WARN {w}");
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    if !warnings.is_empty() {
        println!("ptx-check: {} kernels compiled with nvcc warnings (`--werror` makes them failures)", warnings.len());
    }
    let passed = passed.into_inner();
    println!("ptx-check: {total} kernels, {passed} passed");
    if failures.is_empty() && passed == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without nvcc: every program ptx-check compiles is found, evaluates for CUDA and prints
    /// one translation unit per kernel; the library programs have kernels on both targets.
    #[test]
    fn every_case_evaluates_and_prints_for_cuda() {
        let root = crate::workspace_root();
        let (cases, errors) = all_cases(&root);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(cases.iter().filter(|c| c.origin.starts_with("corpus/")).count() >= 30, "the corpus");
        assert!(cases.iter().any(|c| c.origin.starts_with("examples/")), "the examples");
        assert_eq!(cases.iter().filter(|c| c.origin == "library").count(), LIBRARY.len());
        for c in &cases {
            let p = program_for("case.spir", &c.text, &c.export, KernelTarget::Cuda).unwrap_or_else(|e| panic!("{}: {e}", c.export.name));
            for i in 0..p.kernels.len() {
                let cu = emit_cuda_kernel(&p, i, "k").expect("kernel").unwrap_or_else(|(m, _)| panic!("{}: {m}", c.export.name));
                assert_eq!(cu.matches("__global__").count(), 1, "{}", c.export.name);
            }
            if c.origin == "library" {
                assert!(!p.kernels.is_empty(), "{} has kernels", c.export.name);
                let cpu = program_for("case.spir", &c.text, &c.export, KernelTarget::Cpu).expect("CPU");
                assert_eq!(cpu.kernels.len(), p.kernels.len(), "{}", c.export.name);
            }
        }
    }

    #[test]
    fn messages_fit_on_one_line() {
        assert_eq!(one_line("a\n\n  b  \nc"), "a | b | c");
        assert!(one_line(&"x".repeat(1000)).ends_with("..."));
        assert_eq!(file_safe("examples/a b:c"), "examples.a.b.c");
    }
}

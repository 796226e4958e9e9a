//! The CUDA kernel dialect (`codegen::cuda`), checked without a GPU:
//!
//! * `model_*`: the exact generated `.cu` of every kernel-corpus export (and a few programs
//!   here) is compiled as C++17 after `cuda_model.h`, which models blocks, threads, a block
//!   barrier and atomics on the CPU, and launched on several grid and block shapes; its arrays
//!   and status must equal what the CPU kernels (`emit_cpu_kernels`) of the same Spiral program
//!   give on the same inputs. Skipped, with the reason printed, when no C/C++ compiler runs.
//! * `nvcc_*`: with `SPIRAL_NVCC` (or `nvcc` on `PATH`; `.ci/install-cuda-wheels` installs one),
//!   the generated `.cu` of corpus programs goes through `nvcc -ptx -arch=compute_75` and the
//!   PTX through `ptxas` for sm_80 and sm_90. Skipped, with the reason printed, otherwise.
//! * diagnostics: what CUDA kernels cannot hold, and CPU printers given CUDA kernels.

use spiral_abi::Export;
use spiral_compiler::codegen::c::emit_cpu_kernels;
use spiral_compiler::codegen::c_family::prim_cty;
use spiral_compiler::codegen::cuda::{emit_cuda_kernels, CUDA_MODEL_H};
use spiral_compiler::diagnostics::SourceMap;
use spiral_compiler::driver::{load_with_library, with_entry, Driver};
use spiral_compiler::peval::ir::{Atom, Block, Expr, MacroPart, PrimTy, Program, Ty};
use spiral_compiler::peval::{HostTarget, KernelTarget};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------- compiling Spiral

/// Reads a corpus `// export:` signature with the parser `spiral!` and spiral-build use.
fn parse_export(line: &str) -> Export {
    let item: syn::ForeignItemFn = syn::parse_str(line.trim()).expect("a signature");
    spiral_abi::signature::export_of(&item.sig).map_err(|(_, m)| m).expect("a supported signature")
}

/// The residual program of export `e` of `text` with the library's kernels on `target`.
fn program(text: &str, e: &Export, target: KernelTarget) -> Result<Program, String> {
    let mut sm = SourceMap::new();
    let render = |sm: &SourceMap, d: &[spiral_compiler::diagnostics::Diagnostic]| spiral_compiler::diagnostics::render(sm, d);
    let base = load_with_library(&mut sm, "prog.spir", text).map_err(|d| render(&sm, &d))?;
    let graph = with_entry(&base, &mut sm, e).map_err(|d| render(&sm, &d))?;
    Driver::new(HostTarget::Rust).with_kernel_target(target).evaluate(&graph).map_err(|d| render(&sm, &d))
}

/// A program to check: a name, its text, one export.
struct Case {
    name: String,
    text: String,
    export: Export,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernel-tests/corpus")
}

/// Every export of the kernel corpus.
fn corpus_cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir()).expect("corpus").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files.iter().filter(|f| f.extension().is_some_and(|x| x == "spir")) {
        let text = std::fs::read_to_string(f).expect("read");
        for l in text.lines().filter_map(|l| l.strip_prefix("// export: ")) {
            let export = parse_export(l);
            cases.push(Case { name: export.name.clone(), text: text.clone(), export });
        }
    }
    assert!(cases.len() >= 30, "the corpus has its programs");
    cases
}

/// Programs only this test has: the failures a kernel reports, and atomics on every width.
fn extra_cases() -> Vec<Case> {
    let one = |name: &str, sig: &str, body: &str| Case {
        name: name.into(),
        text: format!("open inv\nopen kernel\n{body}"),
        export: parse_export(&format!("pub fn {name}(dev: &Device, {sig};")),
    };
    vec![
        // Element i + 1 of the last index is out of bounds: status 1 on every path.
        one(
            "oob_next",
            "input: &InvArray<i32>) -> Result<InvArray<i32>, Error>",
            "inl oob_next input =\n    inl out = inv_create `i32 (inv_length input)\n    parallel_for (inv_length input) fun i => inv_set out i (inv_index input (i + 1i32))\n    out\n",
        ),
        // failwith for negative elements: status 2.
        one(
            "fail_negative",
            "input: &InvArray<i32>) -> Result<InvArray<i32>, Error>",
            "inl fail_negative input = map (fun x => if x < 0i32 then failwith `i32 \"negative\" else x * 2i32) input\n",
        ),
        // atomic_add on u32 and u64 counts, indices from the data.
        one(
            "histogram_u32",
            "input: &InvArray<u32>) -> Result<InvArray<u32>, Error>",
            "inl histogram_u32 input =\n    inl counts = inv_create `u32 16i32\n    parallel_for (inv_length input) fun i =>\n        inl x = inv_index input i\n        atomic_add counts (conv `i32 (x &&& 15u32)) x\n    counts\n",
        ),
        one(
            "histogram_i32",
            "input: &InvArray<i32>) -> Result<InvArray<i32>, Error>",
            "inl histogram_i32 input =\n    inl counts = inv_create `i32 4i32\n    parallel_for (inv_length input) fun i =>\n        inl x = inv_index input i\n        atomic_add counts (x &&& 3i32) (x * 1000003i32)\n    counts\n",
        ),
    ]
}

/// The CPU and CUDA kernels of a case (`None` when it has no kernels).
struct Kernels {
    cuda: Program,
    cpu_c: String,
    cuda_cu: String,
}

fn kernels_of(c: &Case, prefix: &str) -> Option<Kernels> {
    let cpu = program(&c.text, &c.export, KernelTarget::Cpu).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    let cuda = program(&c.text, &c.export, KernelTarget::Cuda).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    if cpu.kernels.is_empty() {
        assert!(cuda.kernels.is_empty());
        return None;
    }
    // The CUDA `reduce` is a block kernel of its own (`model_block_reduce_*` checks it).
    if cuda.kernels.iter().any(|k| k.is_block_kernel()) {
        return None;
    }
    assert_eq!(cpu.kernels.len(), cuda.kernels.len(), "{}", c.name);
    for (a, b) in cpu.kernels.iter().zip(&cuda.kernels) {
        assert_eq!(&*a.backend, "CpuKernel");
        assert_eq!(&*b.backend, "Cuda", "{}: parallel_for follows the kernel target", c.name);
        assert_eq!(a.params, b.params, "{}: the same kernel on both targets", c.name);
        assert_eq!(a.body, b.body, "{}: the same kernel body on both targets", c.name);
    }
    let cpu_c = emit_cpu_kernels(&cpu, &|i| format!("cpu_{prefix}_k{i}")).unwrap_or_else(|e| panic!("{}: {}", c.name, e.0));
    let cuda_cu = emit_cuda_kernels(&cuda, &|i| format!("cuda_{prefix}_k{i}")).unwrap_or_else(|e| panic!("{}: {}", c.name, e.0));
    let again = emit_cuda_kernels(&cuda, &|i| format!("cuda_{prefix}_k{i}")).expect("again");
    assert_eq!(cuda_cu, again, "deterministic");
    Some(Kernels { cuda, cpu_c, cuda_cu })
}

// ---------------------------------------------------------------- tools

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spiral-cuda-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// The first of `candidates` (an environment variable's value first) that runs `--version`.
fn find_tool(env: &str, candidates: &[&str]) -> Option<String> {
    let from_env = std::env::var(env).ok().filter(|s| !s.is_empty());
    from_env.into_iter().chain(candidates.iter().map(|s| s.to_string())).find(|t| {
        Command::new(t).arg("--version").output().is_ok_and(|o| o.status.success())
    })
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(format!("{shown} failed ({}):\n{}{}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))),
        Err(e) => Err(format!("{shown} could not start: {e}")),
    }
}

// ---------------------------------------------------------------- the CPU model

/// The C type of a kernel parameter of type `ty` in `p`: a primitive, or a pointer to the
/// elements of an array of one primitive leaf.
fn kernel_param_cty(p: &Program, ty: &Ty) -> String {
    match ty {
        Ty::Prim(x) => prim_cty(*x).to_string(),
        Ty::Array(el) => match p.types.leaves(el).as_slice() {
            [Ty::Prim(x)] => format!("{} *", prim_cty(*x)),
            _ => panic!("array of one leaf"),
        },
        _ => panic!("kernel parameter"),
    }
}

/// The C++ driver that runs the CPU kernel and the modelled CUDA kernel of every case on the
/// same pseudo-random inputs and compares them.
fn model_main(all: &[(String, Kernels)]) -> String {
    let mut decls = String::new();
    let mut body = String::new();
    for (prefix, k) in all {
        for (ki, kernel) in k.cuda.kernels.iter().enumerate() {
            let mut cpu_ps = vec!["int32_t".to_string(), "int32_t".to_string()];
            let mut cuda_ps = vec!["int32_t".to_string(), "int32_t *".to_string()];
            for p in &kernel.params {
                let t = kernel_param_cty(&k.cuda, &p.ty);
                cpu_ps.push(t.clone());
                cuda_ps.push(t);
                if matches!(p.ty, Ty::Array(_)) {
                    cpu_ps.push("size_t".into());
                    cuda_ps.push("size_t".into());
                }
            }
            let _ = writeln!(decls, "extern \"C\" int32_t cpu_{prefix}_k{ki}({});", cpu_ps.join(", "));
            let _ = writeln!(decls, "extern \"C\" void cuda_{prefix}_k{ki}({});", cuda_ps.join(", "));
            // Inputs: one vector per array parameter (N elements), one value per scalar.
            let _ = writeln!(body, "    for (int32_t N : lengths) {{ // {prefix} kernel {ki}");
            let mut cpu_args = vec!["0".to_string(), "N".to_string()];
            let mut cuda_args = vec!["N".to_string(), "&st".to_string()];
            let mut arrays = Vec::new();
            for p in &kernel.params {
                let v = format!("v{}", p.id);
                match &p.ty {
                    Ty::Prim(x) => {
                        let _ = writeln!(body, "        const {} {v} = {};", prim_cty(*x), scalar_value(*x));
                        cpu_args.push(v.clone());
                        cuda_args.push(v);
                    }
                    Ty::Array(el) => {
                        let Ty::Prim(x) = k.cuda.types.leaves(el)[0].clone() else { unreachable!() };
                        let _ = writeln!(body, "        Buf<{t}> {v}_in(N); for (int32_t j = 0; j < N; j++) {v}_in[j] = spi_gen<{t}>();", t = prim_cty(x));
                        let _ = writeln!(body, "        Buf<{t}> {v}_cpu = {v}_in, {v}_gpu = {v}_in;", t = prim_cty(x));
                        cpu_args.push(format!("{v}_cpu.data()"));
                        cpu_args.push("(size_t)N".into());
                        cuda_args.push(format!("{v}_gpu.data()"));
                        cuda_args.push("(size_t)N".into());
                        arrays.push(v);
                    }
                    _ => unreachable!(),
                }
            }
            let _ = writeln!(body, "        const int32_t cpu_st = cpu_{prefix}_k{ki}({});", cpu_args.join(", "));
            let _ = writeln!(body, "        for (const Shape &s : shapes) {{");
            // The long length on the widest shape only (the model runs threads for real).
            let _ = writeln!(body, "            if (N > 100000 && s.grid * s.block != 512) continue;");
            for v in &arrays {
                let _ = writeln!(body, "            {v}_gpu = {v}_in;");
            }
            let _ = writeln!(body, "            int32_t st = 0;");
            let _ = writeln!(body, "            spi_model_launch(cuda_{prefix}_k{ki}, dim3(s.grid), dim3(s.block), {});", cuda_args.join(", "));
            let _ = writeln!(body, "            const char *what = \"{prefix} kernel {ki}\";");
            let _ = writeln!(body, "            checks++;");
            // Sequential order (one thread) gives the CPU's first failure; otherwise any failure
            // of the kernel may come first, so only failing at all must agree.
            let _ = writeln!(body, "            if ((s.grid * s.block == 1) ? st != cpu_st : ((st != 0) != (cpu_st != 0))) {{ printf(\"%s on %ux%u: status %d, CPU %d\\n\", what, s.grid, s.block, st, cpu_st); bad++; continue; }}");
            let _ = writeln!(body, "            if (cpu_st != 0) continue;");
            for v in &arrays {
                let _ = writeln!(body, "            for (int32_t j = 0; j < N; j++) if (memcmp(&{v}_gpu[j], &{v}_cpu[j], sizeof {v}_cpu[j]) != 0) {{ printf(\"%s on %ux%u: {v}[%d] differs\\n\", what, s.grid, s.block, j); bad++; break; }}");
            }
            let _ = writeln!(body, "        }}");
            let _ = writeln!(body, "        printf(\"%s kernel %d: status %d (%d elements)\\n\", \"{prefix}\", {ki}, cpu_st, N);");
            let _ = writeln!(body, "    }}");
        }
    }
    format!(
        r#"#include <cstring>
#include <cstdio>
#include <type_traits>
#include <vector>
{decls}
static uint64_t spi_state = 0x9E3779B97F4A7C15ull;
static uint64_t spi_next() {{ spi_state = spi_state * 6364136223846793005ull + 1442695040888963407ull; return spi_state >> 33; }}
/* Small values (so sums and products stay meaningful), zeros and negatives included. */
template <typename T> T spi_gen() {{
    const int64_t r = (int64_t)(spi_next() % 201) - 100;
    if constexpr (std::is_same_v<T, bool>) {{ return (r & 1) != 0; }}
    else if constexpr (std::is_floating_point_v<T>) {{ return (T)r / (T)8; }}
    else if constexpr (std::is_unsigned_v<T>) {{ return (T)(r + 100); }}
    else {{ return (T)r; }}
}}
/* N elements of T in bytes (std::vector<bool> has no data()). */
template <typename T> struct Buf {{
    std::vector<unsigned char> bytes;
    explicit Buf(int32_t n) : bytes((size_t)n * sizeof(T)) {{}}
    T *data() {{ return (T *)bytes.data(); }}
    T &operator[](int32_t i) {{ return data()[i]; }}
}};
struct Shape {{ unsigned grid, block; }};
int main() {{
    // Lengths 0, 1, 1000 and 2^20 + 7 (not a multiple of any block or grid).
    const int32_t lengths[] = {{0, 1, 1000, (1 << 20) + 7}};
    const Shape shapes[] = {{{{1, 1}}, {{1, 32}}, {{3, 7}}, {{8, 64}}}};
    int bad = 0, checks = 0;
{body}    printf("%d launches compared, %d mismatches\n", checks, bad);
    return bad == 0 ? 0 : 1;
}}
"#
    )
}

/// The value every kernel gets for a scalar parameter of type `p` (an `i32` is most often a
/// length: the arrays' length).
fn scalar_value(p: PrimTy) -> &'static str {
    match p {
        PrimTy::I32 => "N",
        PrimTy::F32 => "1.5f",
        PrimTy::F64 => "2.25",
        PrimTy::Bool => "true",
        _ => "3",
    }
}

/// Compiles the CPU kernels as C and the `.cu` files, unchanged, as C++17 after the model, links
/// them with the comparing driver and runs it: its output, or why it could not.
fn run_model(all: &[(String, Kernels)], dir: &Path, cc: &str, cxx: &str) -> Result<String, String> {
    std::fs::write(dir.join("cuda_model.h"), CUDA_MODEL_H).expect("write");
    let mut c_files = Vec::new();
    let mut cu_files = Vec::new();
    for (prefix, k) in all {
        let c = dir.join(format!("{prefix}_cpu.c"));
        std::fs::write(&c, &k.cpu_c).expect("write");
        c_files.push(c);
        let cu = dir.join(format!("{prefix}_cuda.cu"));
        std::fs::write(&cu, &k.cuda_cu).expect("write");
        cu_files.push(cu);
    }
    let main = dir.join("main.cpp");
    std::fs::write(&main, model_main(all)).expect("write");
    run(Command::new(cc).current_dir(dir).args(["-std=c11", "-O1", "-c"]).args(&c_files))?;
    let model = dir.join("cuda_model.h");
    run(Command::new(cxx)
        .current_dir(dir)
        .args(["-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-Wno-unused-function", "-pthread", "-include"])
        .arg(&model)
        .args(["-c", "-x", "c++"])
        .args(&cu_files)
        .arg(&main))?;
    let mut objects: Vec<PathBuf> = c_files.iter().chain(&cu_files).map(|f| f.with_extension("o")).collect();
    objects.push(dir.join("main.o"));
    let exe = dir.join("model");
    run(Command::new(cxx).current_dir(dir).arg("-pthread").args(&objects).arg("-o").arg(&exe).arg("-lm"))?;
    run(&mut Command::new(&exe))
}

/// Runs the model comparison of `cases`: the driver's output (one `NAME kernel K: status S` line
/// per kernel), or `None` when skipped.
fn model_check(name: &str, cases: Vec<Case>) -> Option<String> {
    let (Some(cc), Some(cxx)) = (find_tool("CC", &["cc", "gcc", "clang"]), find_tool("CXX", &["c++", "g++", "clang++"])) else {
        println!("skipped: no working C and C++ compilers (cc/c++, or CC/CXX)");
        return None;
    };
    let all: Vec<(String, Kernels)> = cases.iter().filter_map(|c| kernels_of(c, &c.name).map(|k| (c.name.clone(), k))).collect();
    assert!(!all.is_empty());
    let dir = scratch(name);
    match run_model(&all, &dir, &cc, &cxx) {
        Ok(out) => {
            println!("{out}");
            let _ = std::fs::remove_dir_all(&dir);
            Some(out)
        }
        Err(e) => panic!("the modelled CUDA kernels disagree with the CPU kernels (files in {}):\n{e}", dir.display()),
    }
}

/// Every corpus export: the modelled CUDA kernels give the CPU kernels' arrays and status.
#[test]
fn model_corpus_matches_the_cpu_kernels() {
    let _ = model_check("corpus", corpus_cases());
}

/// Out-of-bounds, failwith and division-by-zero statuses, and atomics of 32 and 64 bits.
#[test]
fn model_failures_and_atomics_match_the_cpu_kernels() {
    let mut all = extra_cases();
    all.extend(corpus_cases().into_iter().filter(|c| ["div_unguarded", "histogram", "map_inp_scale"].contains(&c.name.as_str())));
    let Some(out) = model_check("extra", all) else { return };
    // The inputs (negatives and zeros included) really produce each failure.
    for line in ["oob_next kernel 0: status 1", "fail_negative kernel 0: status 2", "div_unguarded kernel 0: status 3", "histogram_u32 kernel 0: status 0", "histogram_i32 kernel 0: status 0", "map_inp_scale kernel 0: status 0"] {
        assert!(out.contains(line), "expected `{line}` in:\n{out}");
    }
}

// ---------------------------------------------------------------- block kernels in the model

/// A `reduce` whose CUDA form (a block kernel: warp shuffles, shared memory, `syncthreads`)
/// the model runs, with the same combining function in C++ over a struct `E` of the element's
/// leaves (`l0`, `l1`...).
struct BlockReduce {
    case: Case,
    /// The C types of the element's leaves.
    leaves: Vec<&'static str>,
    /// The body of `E comb(E a, E b)`.
    comb: &'static str,
    /// The status every launch of 1000 elements or more must end with (0: success).
    status: i32,
}

fn block_reduce_cases() -> Vec<BlockReduce> {
    let one = |name: &str, sig: &str, body: &str, leaves: Vec<&'static str>, comb: &'static str| {
        BlockReduce {
            case: Case {
                name: name.into(),
                text: format!("open inv\nopen kernel\n{body}"),
                export: parse_export(&format!("pub fn {name}(dev: &Device, {sig};")),
            },
            leaves,
            comb,
            status: 0,
        }
    };
    vec![
        one(
            "sum_i32",
            "xs: &InvArray<i32>) -> Result<i32, Error>",
            "inl sum_i32 xs = reduce (fun a b => a + b) 0i32 xs\n",
            vec!["int32_t"],
            "return E{(int32_t)((uint32_t)a.l0 + (uint32_t)b.l0)};",
        ),
        one(
            "max_f64",
            "xs: &InvArray<f64>) -> Result<f64, Error>",
            "inl max_f64 xs = reduce (fun a b => if a > b then a else b) (-(inf `f64)) xs\n",
            vec!["double"],
            "return E{a.l0 > b.l0 ? a.l0 : b.l0};",
        ),
        // Composition of affine maps x -> a x + b: associative, not commutative, so any
        // reordering of the elements changes the result.
        one(
            "compose_i64",
            "xs: &InvArray<(i64, i64)>) -> Result<(i64, i64), Error>",
            "inl compose_i64 xs = reduce (fun (a1, b1) (a2, b2) => a1 * a2, b1 * a2 + b2) (1i64, 0i64) xs\n",
            vec!["int64_t", "int64_t"],
            "return E{(int64_t)((uint64_t)a.l0 * (uint64_t)b.l0), (int64_t)((uint64_t)a.l1 * (uint64_t)b.l0 + (uint64_t)b.l1)};",
        ),
        // Records with a nested record, built from the input's columns (keys in the leaves'
        // order): a wrapping sum, a maximum and a minimum at once.
        one(
            "nested_record",
            "xs: &InvArray<(i32, (i64, f64))>) -> Result<(i32, (i64, f64)), Error>",
            "inl nested_record xs =\n    inl rs = inv_rezip (fun (x, (y, z)) => {a = x; b = {c = y; d = z}}) xs\n    inl f p q = {a = p.a + q.a; b = {c = (if p.b.c > q.b.c then p.b.c else q.b.c); d = (if p.b.d < q.b.d then p.b.d else q.b.d)}}\n    inl r = reduce f {a = 0i32; b = {c = -1000i64; d = 1000.0}} rs\n    r.a, (r.b.c, r.b.d)\n",
            vec!["int32_t", "int64_t", "double"],
            "return E{(int32_t)((uint32_t)a.l0 + (uint32_t)b.l0), a.l1 > b.l1 ? a.l1 : b.l1, a.l2 < b.l2 ? a.l2 : b.l2};",
        ),
        // A division by zero inside `f` (the inputs hold zeros): status 3 on every shape, and
        // no thread leaves before the block's barriers and shuffles (none hangs).
        BlockReduce {
            status: 3,
            ..one(
                "quotients",
                "xs: &InvArray<i32>) -> Result<i32, Error>",
                "inl quotients xs = reduce (fun a b => a / b) 1i32 xs\n",
                vec!["int32_t"],
                "return E{b.l0 == 0 ? 0 : a.l0 / b.l0};",
            )
        },
        // The first smallest value and its tag: ties keep the earlier element.
        one(
            "argmin_f32",
            "xs: &InvArray<(f32, i32)>) -> Result<(f32, i32), Error>",
            "inl argmin_f32 xs = reduce (fun (v1, i1) (v2, i2) => if v2 < v1 then v2, i2 else v1, i1) (inf `f32, -1i32) xs\n",
            vec!["float", "int32_t"],
            "return b.l0 < a.l0 ? b : a;",
        ),
    ]
}

/// A C++ compiler and a scratch folder `name` holding `cuda_model.h`, or `None` (said on
/// stdout) when no C++ compiler runs.
fn model_dir(name: &str) -> Option<(String, PathBuf)> {
    let Some(cxx) = find_tool("CXX", &["c++", "g++", "clang++"]) else {
        println!("skipped: no working C++ compiler (c++, or CXX)");
        return None;
    };
    let dir = scratch(name);
    std::fs::write(dir.join("cuda_model.h"), CUDA_MODEL_H).expect("write");
    Some((cxx, dir))
}

/// The C++ arguments for a kernel argument the host bound to the wrapper's input (the macro
/// `parts`): its length `N`, or leaf `inK` as a pointer and `N`.
fn input_arg(parts: &[MacroPart]) -> Vec<String> {
    let text: String = parts.iter().map(|x| if let MacroPart::Text(t) = x { t.to_string() } else { String::new() }).collect();
    if text.contains("_len") {
        return vec!["N".into()];
    }
    let leaf: usize = text.trim_start_matches("__spiral_arg0_").split('.').next().and_then(|d| d.parse().ok()).unwrap_or_else(|| panic!("an input leaf: {text}"));
    vec![format!("in{leaf}.data()"), "(size_t)N".into()]
}

/// Compiles `cu` (a generated CUDA unit) and `main` (its C++ driver) against the model in `dir`
/// (which holds `cuda_model.h`) and runs it: its output. Panics, naming `name`, when it does
/// not build or fails.
fn run_model_driver(dir: &Path, cxx: &str, name: &str, cu: &str, main: &str) -> String {
    let cu_path = dir.join(format!("{name}.cu"));
    std::fs::write(&cu_path, cu).expect("write");
    let main_path = dir.join(format!("{name}_main.cpp"));
    std::fs::write(&main_path, main).expect("write");
    let exe = dir.join(name);
    let built = run(Command::new(cxx)
        .current_dir(dir)
        .args(["-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-Wno-unused-function", "-pthread", "-include", "cuda_model.h", "-x", "c++"])
        .arg(&cu_path)
        .arg(&main_path)
        .arg("-o")
        .arg(&exe));
    if let Err(e) = built {
        panic!("{name}: the block kernels do not build against the model:\n{e}");
    }
    match run(&mut Command::new(&exe)) {
        Ok(out) => {
            println!("{out}");
            out
        }
        Err(e) => panic!("{name}: the modelled block kernels disagree with the sequential result (files in {}):\n{e}", dir.display()),
    }
}

/// The C++ every model driver starts with: the pseudo-random generator of small values.
const DRIVER_PRELUDE: &str = r#"#include <cstdio>
#include <cstring>
#include <type_traits>
#include <vector>
static uint64_t spi_state = 0x9E3779B97F4A7C15ull;
static uint64_t spi_next() { spi_state = spi_state * 6364136223846793005ull + 1442695040888963407ull; return spi_state >> 33; }
template <typename T> T spi_gen() {
    const int64_t r = (int64_t)(spi_next() % 201) - 100;
    if constexpr (std::is_floating_point_v<T>) { return (T)r / (T)8; } else { return (T)r; }
}
"#;

/// The C++ driver of one block reduce: for each length and grid shape, the modelled kernel's
/// per-block partials, combined in order, must equal the sequential fold of the input.
fn block_reduce_main(b: &BlockReduce, p: &Program, symbol: &str) -> String {
    let k = &p.kernels[0];
    // Where each kernel argument comes from, from the host's launch: the input's leaves and
    // length (the wrapper's arguments), the partials (arrays of the launch's block count) and
    // the block count itself.
    let mut defs: std::collections::HashMap<u32, &Expr> = std::collections::HashMap::new();
    fn walk<'a>(
        b: &'a Block,
        defs: &mut std::collections::HashMap<u32, &'a Expr>,
        launch: &mut Option<(Atom, Vec<Atom>)>,
    ) {
        for st in &b.stmts {
            for v in &st.vars {
                defs.insert(v.id, &st.expr);
            }
            if let Expr::KernelLaunch {
                len,
                args,
                blocks: true,
                ..
            } = &st.expr
            {
                *launch = Some((len.clone(), args.clone()));
            }
            for n in st.expr.nested_blocks() {
                walk(n, defs, launch);
            }
        }
    }
    let mut launch = None;
    walk(&p.main, &mut defs, &mut launch);
    let (blocks_atom, args) = launch.expect("a block launch");
    let mut ps = vec!["int32_t".to_string(), "int32_t *".to_string()];
    let mut call = vec!["blocks * tpb".to_string(), "&st".to_string()];
    let mut partial_leaf = 0;
    for (param, a) in k.params.iter().zip(&args) {
        ps.push(kernel_param_cty(p, &param.ty));
        if *a == blocks_atom {
            call.push("blocks".into());
            continue;
        }
        let Atom::Var(v) = a else {
            panic!("a literal kernel argument {a:?}")
        };
        match defs.get(&v.id) {
            Some(Expr::Macro(parts)) => {
                let args = input_arg(parts);
                if args.len() == 2 {
                    ps.push("size_t".into());
                }
                call.extend(args);
            }
            Some(Expr::ArrayNew { .. }) => {
                call.push(format!("part{partial_leaf}.data()"));
                call.push("(size_t)blocks".into());
                ps.push("size_t".into());
                partial_leaf += 1;
            }
            other => panic!("a kernel argument from {other:?}"),
        }
    }
    assert_eq!(partial_leaf, b.leaves.len(), "one partials array per leaf");
    let n = b.leaves.len();
    let fields: String = b
        .leaves
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{t} l{i}; "))
        .collect();
    let inputs: String = b
        .leaves
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "        std::vector<{t}> in{i}(N); for (auto &x : in{i}) x = spi_gen<{t}>();\n"
            )
        })
        .collect();
    let parts: String = b
        .leaves
        .iter()
        .enumerate()
        .map(|(i, t)| format!("            std::vector<{t}> part{i}(blocks);\n"))
        .collect();
    let at = |arr: &str, j: &str| {
        format!(
            "E{{{}}}",
            (0..n)
                .map(|i| format!("{arr}{i}[{j}]"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let same: String = (0..n)
        .map(|i| format!("memcmp(&got.l{i}, &want.l{i}, sizeof want.l{i}) == 0"))
        .collect::<Vec<_>>()
        .join(" && ");
    format!(
        r#"{DRIVER_PRELUDE}extern "C" void {symbol}({ps});
struct E {{ {fields}}};
static E comb(E a, E b) {{ {comb} }}
struct Shape {{ int32_t blocks, tpb; }};
int main() {{
    int bad = 0, launches = 0;
    for (int32_t N : {{1, 1000, (1 << 20) + 7}}) {{
{inputs}        E want = {first};
        for (int32_t j = 1; j < N; j++) want = comb(want, {elem});
        const int32_t lib = (N - 1) / 2048 + 1 < 1024 ? (N - 1) / 2048 + 1 : 1024;
        const Shape shapes[] = {{{{1, 32}}, {{N < 3 ? N : 3, 64}}, {{lib, 96}}, {{lib, 64}}}};
        for (const Shape &s : shapes) {{
            if (N > 100000 && s.tpb != 64) continue;
            const int32_t blocks = s.blocks, tpb = s.tpb;
{parts}            int32_t st = 0;
            spi_model_launch({symbol}, dim3(blocks), dim3(tpb), {call});
            launches++;
            if (N >= 1000 && {status} != 0) {{ if (st != {status}) {{ printf("N=%d %dx%d: status %d, expected {status}\n", N, blocks, tpb, st); bad++; }} continue; }}
            if (st != 0) {{ if (N < 1000 && {status} != 0) continue; printf("N=%d %dx%d: status %d\n", N, blocks, tpb, st); bad++; continue; }}
            E got = {pfirst};
            for (int32_t j = 1; j < blocks; j++) got = comb(got, {pelem});
            if (!({same})) {{ printf("N=%d %dx%d: the combined partials differ from the sequential fold\n", N, blocks, tpb); bad++; }}
        }}
    }}
    printf("{name}: %d block launches, %d mismatches\n", launches, bad);
    return bad == 0 ? 0 : 1;
}}
"#,
        ps = ps.join(", "),
        comb = b.comb,
        first = at("in", "0"),
        elem = at("in", "j"),
        pfirst = at("part", "0"),
        pelem = at("part", "j"),
        call = call.join(", "),
        name = b.case.name,
        status = b.status,
    )
}

/// The CUDA `reduce` (a block kernel) in the model, on several grid and block shapes, at
/// lengths 1, 1000 and 2^20 + 7, for sums, maxima and order-sensitive combinations of tuples:
/// the per-block partials combine to the sequential fold. (Length 0 launches nothing.)
#[test]
fn model_block_reduce_matches_the_sequential_fold() {
    let Some((cxx, dir)) = model_dir("block_reduce") else { return };
    for b in block_reduce_cases() {
        let name = &b.case.name;
        let p = program(&b.case.text, &b.case.export, KernelTarget::Cuda)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.kernels.len(), 1, "{name}: one block kernel");
        assert!(p.kernels[0].is_block_kernel(), "{name}: a block kernel");
        let symbol = format!("cuda_{name}_k0");
        let cu = emit_cuda_kernels(&p, &|_| symbol.clone())
            .unwrap_or_else(|e| panic!("{name}: {}", e.0));
        assert!(
            cu.contains("__shfl_down_sync(0xffffffffu")
                && cu.contains("__syncthreads();")
                && cu.contains("__shared__"),
            "{name}: warp and block reduction\n{cu}"
        );
        let body = &cu[cu.find("__global__").expect("a kernel")..];
        assert!(!body.contains("return;"), "{name}: a block kernel never leaves early\n{body}");
        let out = run_model_driver(&dir, &cxx, name, &cu, &block_reduce_main(&b, &p, &symbol));
        assert!(out.contains(&format!("{name}: 10 block launches, 0 mismatches")), "{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `scan` whose CUDA form (two block kernels: the blocks' totals, then each block's scan
/// from its offset, with the offsets scanned on the host between) the model runs.
struct BlockScan {
    case: Case,
    /// The C types of the element's leaves.
    leaves: Vec<&'static str>,
    /// The body of `E comb(E a, E b)`.
    comb: &'static str,
    /// The C++ initialiser of `init` as an `E`.
    init: &'static str,
    exclusive: bool,
}

fn block_scan_cases() -> Vec<BlockScan> {
    let one = |name: &str, sig: &str, body: &str, leaves: Vec<&'static str>, comb: &'static str, init: &'static str, exclusive: bool| BlockScan {
        case: Case { name: name.into(), text: format!("open inv\nopen kernel\n{body}"), export: parse_export(&format!("pub fn {name}(dev: &Device, {sig};")) },
        leaves,
        comb,
        init,
        exclusive,
    };
    vec![
        one(
            "running_sum_i32",
            "xs: &InvArray<i32>) -> Result<InvArray<i32>, Error>",
            "inl running_sum_i32 xs = scan_inclusive (fun a b => a + b) 5i32 xs\n",
            vec!["int32_t"],
            "return E{(int32_t)((uint32_t)a.l0 + (uint32_t)b.l0)};",
            "E{5}",
            false,
        ),
        // Affine maps composed in order (not commutative), exclusive: element i holds init and
        // the elements before it.
        one(
            "compose_before",
            "xs: &InvArray<(i64, i64)>) -> Result<InvArray<(i64, i64)>, Error>",
            "inl compose_before xs = scan_exclusive (fun (a1, b1) (a2, b2) => a1 * a2, b1 * a2 + b2) (1i64, 0i64) xs\n",
            vec!["int64_t", "int64_t"],
            "return E{(int64_t)((uint64_t)a.l0 * (uint64_t)b.l0), (int64_t)((uint64_t)a.l1 * (uint64_t)b.l0 + (uint64_t)b.l1)};",
            "E{1, 0}",
            true,
        ),
        one(
            "running_max_f64",
            "xs: &InvArray<f64>) -> Result<InvArray<f64>, Error>",
            "inl running_max_f64 xs = scan_inclusive (fun a b => if a > b then a else b) (-1000.0) xs\n",
            vec!["double"],
            "return E{a.l0 > b.l0 ? a.l0 : b.l0};",
            "E{-1000.0}",
            false,
        ),
    ]
}

/// The C++ driver of one block scan: the two launches with the host's offset scan between, on
/// several shapes, against the sequential scan.
fn block_scan_main(b: &BlockScan, p: &Program, symbol: &dyn Fn(usize) -> String) -> String {
    let mut defs: std::collections::HashMap<u32, &Expr> = std::collections::HashMap::new();
    let mut launches: Vec<(u32, Atom, Vec<Atom>)> = Vec::new();
    let mut arrays_in_order: Vec<(u32, Atom)> = Vec::new();
    fn walk<'a>(b: &'a Block, defs: &mut std::collections::HashMap<u32, &'a Expr>, launches: &mut Vec<(u32, Atom, Vec<Atom>)>, arrays: &mut Vec<(u32, Atom)>) {
        for st in &b.stmts {
            for v in &st.vars {
                defs.insert(v.id, &st.expr);
            }
            if let (Expr::ArrayNew { len, .. }, [v]) = (&st.expr, st.vars.as_slice()) {
                arrays.push((v.id, len.clone()));
            }
            if let Expr::KernelLaunch { kernel, len, args, blocks: true } = &st.expr {
                launches.push((*kernel, len.clone(), args.clone()));
            }
            for n in st.expr.nested_blocks() {
                walk(n, defs, launches, arrays);
            }
        }
    }
    walk(&p.main, &mut defs, &mut launches, &mut arrays_in_order);
    assert_eq!(launches.len(), 2, "{}: two block launches", b.case.name);
    let blocks_atom = launches[0].1.clone();
    let offsets: Vec<u32> = arrays_in_order.iter().filter(|(_, l)| *l == blocks_atom).map(|(v, _)| *v).collect();
    let outputs: Vec<u32> = arrays_in_order.iter().filter(|(_, l)| *l != blocks_atom).map(|(v, _)| *v).collect();
    assert_eq!((offsets.len(), outputs.len()), (b.leaves.len(), b.leaves.len()), "{}: one offsets and one output array per leaf", b.case.name);
    let mut decls = String::new();
    let mut calls = Vec::new();
    for (kernel, _, args) in &launches {
        let k = &p.kernels[*kernel as usize];
        let mut ps = vec!["int32_t".to_string(), "int32_t *".to_string()];
        let mut call = vec!["blocks * tpb".to_string(), "&st".to_string()];
        for (param, a) in k.params.iter().zip(args) {
            ps.push(kernel_param_cty(p, &param.ty));
            if *a == blocks_atom {
                call.push("blocks".into());
                continue;
            }
            let Atom::Var(v) = a else { panic!("a literal kernel argument {a:?}") };
            if let Some(j) = offsets.iter().position(|x| *x == v.id) {
                call.extend([format!("off{j}.data()"), "(size_t)blocks".into()]);
                ps.push("size_t".into());
            } else if let Some(j) = outputs.iter().position(|x| *x == v.id) {
                call.extend([format!("out{j}.data()"), "(size_t)N".into()]);
                ps.push("size_t".into());
            } else {
                match defs.get(&v.id) {
                    Some(Expr::Macro(parts)) => {
                        let args = input_arg(parts);
                        if args.len() == 2 {
                            ps.push("size_t".into());
                        }
                        call.extend(args);
                    }
                    other => panic!("a kernel argument from {other:?}"),
                }
            }
        }
        let _ = writeln!(decls, "extern \"C\" void {}({});", symbol(*kernel as usize), ps.join(", "));
        calls.push(format!("spi_model_launch({}, dim3(blocks), dim3(tpb), {})", symbol(*kernel as usize), call.join(", ")));
    }
    let n = b.leaves.len();
    let fields: String = b.leaves.iter().enumerate().map(|(i, t)| format!("{t} l{i}; ")).collect();
    let vecs = |prefix: &str, len: &str| -> String { b.leaves.iter().enumerate().map(|(i, t)| format!("std::vector<{t}> {prefix}{i}({len}); ")).collect() };
    let at = |arr: &str, j: &str| format!("E{{{}}}", (0..n).map(|i| format!("{arr}{i}[{j}]")).collect::<Vec<_>>().join(", "));
    let store = |arr: &str, j: &str, e: &str| (0..n).map(|i| format!("{arr}{i}[{j}] = {e}.l{i};")).collect::<Vec<_>>().join(" ");
    let same: String = (0..n).map(|i| format!("memcmp(&got.l{i}, &want[j].l{i}, sizeof got.l{i}) == 0")).collect::<Vec<_>>().join(" && ");
    let inputs: String = b.leaves.iter().enumerate().map(|(i, t)| format!("        std::vector<{t}> in{i}(N); for (auto &x : in{i}) x = spi_gen<{t}>();\n")).collect();
    format!(
        r#"{DRIVER_PRELUDE}{decls}
struct E {{ {fields}}};
static E comb(E a, E b) {{ {comb} }}
struct Shape {{ int32_t blocks, tpb; }};
int main() {{
    int bad = 0, launches = 0;
    for (int32_t N : {{1, 1000, (1 << 20) + 7}}) {{
{inputs}        std::vector<E> want(N);
        E s = {init};
        for (int32_t j = 0; j < N; j++) {{ E next = comb(s, {elem}); want[j] = {exclusive} ? s : next; s = next; }}
        const int32_t lib = (N - 1) / 2048 + 1 < 1024 ? (N - 1) / 2048 + 1 : 1024;
        const Shape shapes[] = {{{{1, 32}}, {{N < 3 ? N : 3, 64}}, {{lib, 96}}, {{lib, 64}}}};
        for (const Shape &sh : shapes) {{
            if (N > 100000 && sh.tpb != 64) continue;
            const int32_t blocks = sh.blocks, tpb = sh.tpb;
            {offs}{outs}
            int32_t st = 0;
            {first};
            E acc = {init};
            for (int32_t c = 0; c < blocks; c++) {{ E total = {off_at}; {off_store} acc = comb(acc, total); }}
            {second};
            launches++;
            if (st != 0) {{ printf("N=%d %dx%d: status %d\n", N, blocks, tpb, st); bad++; continue; }}
            for (int32_t j = 0; j < N; j++) {{ E got = {out_at}; if (!({same})) {{ printf("N=%d %dx%d: element %d differs\n", N, blocks, tpb, j); bad++; break; }} }}
        }}
    }}
    printf("{name}: %d block scans, %d mismatches\n", launches, bad);
    return bad == 0 ? 0 : 1;
}}
"#,
        comb = b.comb,
        init = b.init,
        elem = at("in", "j"),
        exclusive = if b.exclusive { "true" } else { "false" },
        offs = vecs("off", "blocks"),
        outs = vecs("out", "N"),
        first = calls[0],
        second = calls[1],
        off_at = at("off", "c"),
        off_store = store("off", "c", "acc"),
        out_at = at("out", "j"),
        name = b.case.name,
    )
}

/// The CUDA scans (block kernels, inclusive and exclusive, order-sensitive ones included) in the
/// model at lengths 1, 1000 and 2^20 + 7 on four block shapes, against the sequential scan.
#[test]
fn model_block_scan_matches_the_sequential_scan() {
    let Some((cxx, dir)) = model_dir("block_scan") else { return };
    for b in block_scan_cases() {
        let name = &b.case.name;
        let p = program(&b.case.text, &b.case.export, KernelTarget::Cuda).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(p.kernels.iter().all(|k| k.is_block_kernel()), "{name}: block kernels");
        let symbol = |i: usize| format!("cuda_{name}_k{i}");
        let cu = emit_cuda_kernels(&p, &symbol).unwrap_or_else(|e| panic!("{name}: {}", e.0));
        assert!(cu.contains("__shfl_up_sync(0xffffffffu"), "{name}: a warp scan\n{cu}");
        let out = run_model_driver(&dir, &cxx, name, &cu, &block_scan_main(&b, &p, &symbol));
        assert!(out.contains(&format!("{name}: 10 block scans, 0 mismatches")), "{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- nvcc and ptxas

/// nvcc: `SPIRAL_NVCC`, or `nvcc` on `PATH`.
fn find_nvcc() -> Option<String> {
    find_tool("SPIRAL_NVCC", &["nvcc"])
}

/// The generated `.cu` of corpus programs compiles to PTX for compute_75 with nvcc, and ptxas
/// assembles the PTX for sm_80 and sm_90.
#[test]
fn nvcc_compiles_the_generated_cuda_and_ptxas_assembles_it() {
    let Some(nvcc) = find_nvcc() else {
        println!("skipped: no nvcc (set SPIRAL_NVCC, e.g. to the output of .ci/install-cuda-wheels, or put nvcc on PATH)");
        return;
    };
    // ptxas sits next to nvcc (the wheels, a toolkit's bin/).
    let ptxas = Path::new(&nvcc).parent().map(|d| d.join("ptxas")).filter(|p| p.exists()).map(|p| p.display().to_string()).unwrap_or_else(|| "ptxas".into());
    let mut cases = corpus_cases();
    cases.extend(extra_cases());
    cases.extend(block_reduce_cases().into_iter().map(|b| b.case));
    cases.extend(block_scan_cases().into_iter().map(|b| b.case));
    let dir = scratch("nvcc");
    let mut compiled = 0;
    for c in &cases {
        let cuda = program(&c.text, &c.export, KernelTarget::Cuda).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        if cuda.kernels.is_empty() {
            continue;
        }
        let cuda_cu = emit_cuda_kernels(&cuda, &|i| format!("cuda_{}_k{i}", c.name)).unwrap_or_else(|e| panic!("{}: {}", c.name, e.0));
        let cu = dir.join(format!("{}.cu", c.name));
        std::fs::write(&cu, &cuda_cu).expect("write");
        let ptx = cu.with_extension("ptx");
        if let Err(e) = run(Command::new(&nvcc).args(["-ptx", "-arch=compute_75", "-Werror", "all-warnings", "-o"]).arg(&ptx).arg(&cu)) {
            panic!("{}: nvcc rejects the generated CUDA:\n{e}\n{cuda_cu}", c.name);
        }
        for sm in ["sm_80", "sm_90"] {
            let cubin = cu.with_extension(format!("{sm}.cubin"));
            if let Err(e) = run(Command::new(&ptxas).arg(format!("-arch={sm}")).arg(&ptx).arg("-o").arg(&cubin)) {
                panic!("{}: ptxas rejects the PTX for {sm}:\n{e}", c.name);
            }
        }
        compiled += 1;
    }
    println!("nvcc ({nvcc}) and ptxas: {compiled} programs compiled to PTX and assembled for sm_80 and sm_90");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- diagnostics

/// CUDA's atomicAdd has no 8- or 16-bit form: a compile-time error at the Spiral line.
#[test]
fn atomic_add_on_narrow_integers_is_a_cuda_error() {
    let text = "open inv\nopen kernel\ninl h input =\n    inl counts = inv_create `u8 4i32\n    parallel_for (inv_length input) fun i =>\n        atomic_add counts (inv_index input i &&& 3i32) 1u8\n    counts\n";
    let e = parse_export("pub fn h(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<u8>, Error>;");
    let p = program(text, &e, KernelTarget::Cuda).expect("evaluates");
    let (msg, span) = emit_cuda_kernels(&p, &|i| format!("k{i}")).expect_err("u8 atomics");
    assert!(msg.contains("`atomic_add` on an array of `u8` is not supported in a CUDA kernel"), "{msg}");
    assert_ne!(span, Default::default(), "reported at a Spiral span");
    // The CPU kernels have it.
    let p = program(text, &e, KernelTarget::Cpu).expect("evaluates");
    emit_cpu_kernels(&p, &|i| format!("k{i}")).expect("CPU atomics of every width");
}

/// A host program with a CUDA kernel is rejected by the C backend (and the CPU kernel printer)
/// at the `join_backend`, and the CUDA printer rejects CPU kernels.
#[test]
fn printers_reject_kernels_of_the_other_backend_at_the_spiral_span() {
    let text = "open inv\nopen kernel\ninl main () =\n    inl a = inv_create `i32 4i32\n    inl k, args = join_backend Cuda\n        inl i : i32 = !!!!KernelIndex()\n        inv_set a i i\n        ()\n    !!!!KernelLaunch(k, 4i32, args)\n    0i32\n";
    let mut sm = SourceMap::new();
    let graph = load_with_library(&mut sm, "host.spir", text).expect("loads");
    let p = Driver::new(HostTarget::C).evaluate(&graph).expect("evaluates");
    assert_eq!(&*p.kernels[0].backend, "Cuda");
    let d = Driver::new(HostTarget::C).emit(&p, "c").expect_err("no CUDA kernels in a C program");
    let shown = spiral_compiler::diagnostics::render(&sm, &d);
    assert!(shown.contains("`join_backend Cuda` is not supported here: CPU kernels are `join_backend CpuKernel`"), "{shown}");
    assert!(shown.contains("host.spir:5:19"), "at the join_backend: {shown}");
    let (msg, _) = emit_cpu_kernels(&p, &|i| format!("k{i}")).expect_err("CPU kernel printer");
    assert!(msg.contains("`join_backend Cuda`"), "{msg}");
    // And the other way round.
    let text_cpu = text.replace("join_backend Cuda", "join_backend CpuKernel");
    let mut sm2 = SourceMap::new();
    let g2 = load_with_library(&mut sm2, "host.spir", &text_cpu).expect("loads");
    let p2 = Driver::new(HostTarget::C).evaluate(&g2).expect("evaluates");
    let (msg, span) = emit_cuda_kernels(&p2, &|i| format!("k{i}")).expect_err("CUDA printer");
    assert!(msg.contains("`join_backend CpuKernel` is not supported here: CUDA kernels are `join_backend Cuda`"), "{msg}");
    assert_ne!(span, Default::default());
}

/// The shape of a CUDA kernel: the signature, the grid-stride loop, failures through the status.
#[test]
fn cuda_kernels_have_the_documented_shape() {
    let c = corpus_cases().into_iter().find(|c| c.name == "div_unguarded").expect("corpus program");
    let k = kernels_of(&c, "u").expect("a kernel");
    let cu = &k.cuda_cu;
    assert!(cu.starts_with("// Generated by Spiral (CUDA kernels). Do not edit.\n"), "{cu}");
    assert!(cu.contains("#define SPI_FN static inline __host__ __device__ __attribute__((unused))\n"), "{cu}");
    assert!(cu.contains("extern \"C\" __global__ void cuda_u_k0(int32_t __len, int32_t *__status, int32_t * v0, size_t v0_len,"), "{cu}");
    assert!(cu.contains("for (int64_t __g = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; __g < (int64_t)__len; __g += (int64_t)blockDim.x * gridDim.x) {"), "{cu}");
    assert!(cu.contains("== 0) { spi_cuda_fail(__status, 3); return; }"), "{cu}");
    assert!(!cu.contains("return 3;"), "{cu}");
}

/// The GPU block functions outside a CUDA kernel, and shared memory past a block's 48 KiB, are
/// compile errors at the user's line.
#[test]
fn gpu_block_functions_outside_cuda_kernels_are_errors_at_the_spiral_line() {
    let e = parse_export("pub fn f(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;");
    // In a CPU kernel.
    let text = "open inv\nopen kernel\ninl f input =\n    inl out = inv_create `i32 (inv_length input)\n    parallel_for (inv_length input) fun i =>\n        inv_set out i (thread_index ())\n    out\n";
    let err = program(text, &e, KernelTarget::Cpu).expect_err("thread_index on the CPU");
    assert!(err.contains("`thread_index` is a GPU block operation: it belongs in a CUDA kernel"), "{err}");
    assert!(err.contains("prog.spir:6:"), "at the user's line: {err}");
    assert!(err.contains("kernel_switch"), "says how to choose CPU code: {err}");
    // The same program is fine for CUDA.
    program(text, &e, KernelTarget::Cuda).expect("thread_index in a CUDA kernel");
    // In host code.
    let text = "open inv\nopen kernel\ninl f input =\n    syncthreads ()\n    input\n";
    let err = program(text, &e, KernelTarget::Cuda).expect_err("syncthreads on the host");
    assert!(err.contains("`syncthreads` is a GPU block operation") && err.contains("not in host code"), "{err}");
    // Shared memory over a block's static limit.
    let text = "open inv\nopen kernel\ninl f input =\n    parallel_blocks 1i32 fun () =>\n        inl s = shared_create `f64 8192i32\n        inv_set s 0i32 1.0\n    input\n";
    let err = program(text, &e, KernelTarget::Cuda).expect_err("64 KiB of shared memory");
    assert!(err.contains("exceeds the 49152 bytes of static shared memory a CUDA block has"), "{err}");
    // A block launch targets CUDA only.
    let err = program(text, &e, KernelTarget::Cpu).expect_err("parallel_blocks on the CPU");
    assert!(err.contains("`parallel_blocks` launches CUDA block kernels, and this compilation's kernels run on the CPU"), "{err}");
    assert!(err.contains("prog.spir:4:"), "at the user's call: {err}");
}

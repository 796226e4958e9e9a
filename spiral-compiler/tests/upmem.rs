//! The UPMEM kernel dialect (`codegen::upmem`), checked without UPMEM hardware:
//!
//! * every DPU program the library's `map`, `map_inp`, `reduce` and a user `parallel_for` give
//!   compiles with `cc -Wall -Wextra -Werror` against the emulator's model of the DPU runtime
//!   (`spiral-rt/upmem/dpu-rt`), for 1, 11, 16 and 24 tasklets;
//! * the same input prints byte-identical DPU C;
//! * the WRAM budget, accesses a DPU cannot make and operations it lacks are compile-time
//!   errors at the Spiral line.
//!
//! The programs run on the emulator in the root crate's `tests/upmem.rs`.

use spiral_abi::Export;
use spiral_compiler::codegen::upmem::{emit_upmem_kernels, param_flow};
use spiral_compiler::diagnostics::SourceMap;
use spiral_compiler::driver::{load_with_library, with_entry, Driver};
use spiral_compiler::peval::ir::Program;
use spiral_compiler::peval::{HostTarget, KernelTarget};
use std::path::{Path, PathBuf};
use std::process::Command;

fn parse_export(line: &str) -> Export {
    let item: syn::ForeignItemFn = syn::parse_str(line.trim()).expect("a signature");
    spiral_abi::signature::export_of(&item.sig).map_err(|(_, m)| m).expect("a supported signature")
}

/// The residual program of export `e` of `text` with the library's kernels on UPMEM.
fn program(text: &str, e: &Export) -> Result<Program, String> {
    let mut sm = SourceMap::new();
    let render = |sm: &SourceMap, d: &[spiral_compiler::diagnostics::Diagnostic]| spiral_compiler::diagnostics::render(sm, d);
    let base = load_with_library(&mut sm, "prog.spir", text).map_err(|d| render(&sm, &d))?;
    let graph = with_entry(&base, &mut sm, e).map_err(|d| render(&sm, &d))?;
    Driver::new(HostTarget::Rust).with_kernel_target(KernelTarget::Upmem).evaluate(&graph).map_err(|d| render(&sm, &d))
}

/// The DPU programs of export `sig` of `body` (after `open inv`, `open kernel`), or the
/// rendered error (with the Spiral line for printer errors).
fn dpu_programs(body: &str, sig: &str) -> Result<Vec<String>, String> {
    let text = format!("open inv\nopen kernel\n{body}");
    let e = parse_export(sig);
    let p = program(&text, &e)?;
    emit_upmem_kernels(&p, &|k| format!("spiral_upmem_{}_kernel{k}", e.name)).map_err(|(m, span)| {
        let line = text[..(span.start as usize).min(text.len())].lines().count();
        format!("line {line}: {m}")
    })
}

const MAP: (&str, &str) = (
    "inl saxpy (a : f32) input = map (fun (x, y) => a * x + y) input",
    "pub fn saxpy(dev: &Device, a: f32, input: &InvArray<(f32, f32)>) -> Result<InvArray<f32>, Error>;",
);
const MAP_INP: (&str, &str) = (
    "inl twice input = map_inp (fun (x : i32) => 2i32 * x) input input",
    "pub fn twice(dev: &Device, input: &mut InvArray<i32>) -> Result<(), Error>;",
);
const REDUCE: (&str, &str) = (
    "inl sum input = reduce (fun a b => a + b) 0i64 input",
    "pub fn sum(dev: &Device, input: &InvArray<i64>) -> Result<i64, Error>;",
);
const PARALLEL_FOR: (&str, &str) = (
    "inl set3 a = parallel_for (inv_length a) fun i => if i = 3i32 then inv_set a i 6i32",
    "pub fn set3(dev: &Device, a: &mut InvArray<i32>) -> Result<(), Error>;",
);
const RECORDS: (&str, &str) = (
    "inl f input = map (fun (a, b, c) => conv `i64 a * 3i64, a > b, a + b + c + 10i32) input",
    "pub fn f(dev: &Device, input: &InvArray<(i32, i32, i32)>) -> Result<InvArray<(i64, bool, i32)>, Error>;",
);

fn dpu_rt_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spiral-rt/upmem/dpu-rt")
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

#[test]
fn dpu_programs_compile_with_warnings_as_errors_against_the_dpu_runtime_model() {
    if Command::new(cc()).arg("--version").output().is_err() {
        eprintln!("skipped: no C compiler");
        return;
    }
    let dir = std::env::temp_dir().join(format!("spiral-upmem-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut compiled = 0;
    for (body, sig) in [MAP, MAP_INP, REDUCE, PARALLEL_FOR, RECORDS] {
        let programs = dpu_programs(body, sig).unwrap_or_else(|e| panic!("{sig}: {e}"));
        assert!(!programs.is_empty(), "{sig}: no kernel");
        for (i, c) in programs.iter().enumerate() {
            let file = dir.join(format!("k{compiled}_{i}.c"));
            std::fs::write(&file, c).unwrap();
            for tasklets in [1, 11, 16, 24] {
                let out = Command::new(cc())
                    .args(["-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", &format!("-DNR_TASKLETS={tasklets}")])
                    .arg("-I")
                    .arg(dpu_rt_dir())
                    .arg(&file)
                    .output()
                    .expect("cc");
                assert!(out.status.success(), "{sig} kernel {i} with {tasklets} tasklets:\n{}\n{c}", String::from_utf8_lossy(&out.stderr));
            }
        }
        compiled += 1;
    }
    assert_eq!(compiled, 5);
}

#[test]
fn dpu_programs_are_deterministic_and_have_the_documented_shape() {
    let a = dpu_programs(MAP.0, MAP.1).unwrap();
    let b = dpu_programs(MAP.0, MAP.1).unwrap();
    assert_eq!(a, b);
    let c = &a[0];
    for needle in ["__host uint64_t __spi_args[", "__host uint64_t __spi_status[NR_TASKLETS];", "int main(void)", "spi_mram_read(", "spi_mram_write(", "BARRIER_INIT(__spi_barrier, NR_TASKLETS);", "static __dma_aligned float"] {
        assert!(c.contains(needle), "missing `{needle}` in:\n{c}");
    }
    // An element kernel reads and writes MRAM at its index, local to the DPU.
    let p = dpu_programs(PARALLEL_FOR.0, PARALLEL_FOR.1).unwrap();
    assert!(p[0].contains("- __spi_base)]"), "{}", p[0]);
    assert!(!p[0].contains("BARRIER_INIT"), "{}", p[0]);
}

#[test]
fn a_map_pulls_its_output_without_pushing_it() {
    let text = format!("open inv\nopen kernel\n{}", MAP.0);
    let e = parse_export(MAP.1);
    let p = program(&text, &e).unwrap();
    let flows: Vec<(bool, bool)> = p.kernels.iter().flat_map(param_flow).collect();
    // The inputs (and scalars) pushed only; the one output leaf pulled only.
    assert!(flows.iter().filter(|f| **f == (true, false)).count() >= 3, "{flows:?}");
    assert_eq!(flows.iter().filter(|f| **f == (false, true)).count(), 1, "{flows:?}");
    assert!(!flows.contains(&(true, true)), "{flows:?}");
    // In place: read and written.
    let text = format!("open inv\nopen kernel\n{}", MAP_INP.0);
    let p = program(&text, &parse_export(MAP_INP.1)).unwrap();
    let flows: Vec<(bool, bool)> = p.kernels.iter().flat_map(param_flow).collect();
    assert!(flows.contains(&(true, true)), "{flows:?}");
}

#[test]
fn what_a_dpu_cannot_do_is_a_compile_error_at_the_spiral_line() {
    // A neighbour's element may live on another DPU.
    let e = dpu_programs(
        "inl f a b = parallel_for (inv_length a - 1i32) fun i => inv_set b i (inv_index a (i + 1i32))",
        "pub fn f(dev: &Device, a: &InvArray<i32>, b: &mut InvArray<i32>) -> Result<(), Error>;",
    )
    .unwrap_err();
    assert!(e.contains("only at its own index"), "{e}");
    // Atomics.
    let e = dpu_programs("inl f input = histogram 4i32 (fun x => x % 4i32) input", "pub fn f(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i64>, Error>;").unwrap_err();
    assert!(e.contains("atomics are not available in UPMEM kernels"), "{e}");
    // No math library on a DPU.
    let e = dpu_programs("inl f input = map (fun (x : f64) => sqrt x) input", "pub fn f(dev: &Device, input: &InvArray<f64>) -> Result<InvArray<f64>, Error>;").unwrap_err();
    assert!(e.contains("math library"), "{e}");
    // Warp shuffles are CUDA's.
    let e = dpu_programs("inl f input = parallel_tasklets fun () => shuffle_down 1i32 1i32 |> ignore", "pub fn f(dev: &Device, input: &InvArray<i32>) -> Result<(), Error>;");
    assert!(e.is_err(), "{e:?}");
    // WRAM: 24 tasklets x 4 KiB of buffers is over 64 KiB; reported at the kernel (line 3).
    let e = dpu_programs(
        "inl f input = parallel_tasklets fun () =>\n    inl b = tasklet_create `i32 1024i32\n    inv_set b 0i32 (tasklet_index ())",
        "pub fn f(dev: &Device, input: &InvArray<i32>) -> Result<(), Error>;",
    )
    .unwrap_err();
    assert!(e.starts_with("line 3:") && e.contains("bytes of WRAM") && e.contains("65536"), "{e}");
    // Tasklet operations in an element kernel.
    let e = dpu_programs(
        "inl f a = parallel_for (inv_length a) fun i => inv_set a i (tasklet_index ())",
        "pub fn f(dev: &Device, a: &mut InvArray<i32>) -> Result<(), Error>;",
    )
    .unwrap_err();
    assert!(e.starts_with("line 3:") && e.contains("belong in `parallel_tasklets`"), "{e}");
}


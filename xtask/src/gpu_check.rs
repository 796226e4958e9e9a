//! `cargo xtask gpu-check` and `cargo xtask gpu-bench`: the checks that need an NVIDIA GPU.
//!
//! `gpu-check` (any build of xtask):
//! 1. the device: `nvidia-smi -L` lists a GPU, or else `Device::cuda(0)` opens one (through
//!    `gpu-bench --probe` in an xtask built with `--features cuda`); neither: why, exit code 2;
//! 2. `cargo test --workspace --features spiral/cuda` with `SPIRAL_TEST_NVRTC=1` (and, when
//!    found, `SPIRAL_NVCC` and the wheels' `lib` on `LD_LIBRARY_PATH` for libnvrtc); exit code 1
//!    when it fails;
//! 3. `gpu-bench` in an xtask built with `--features cuda`.
//!
//! `gpu-bench` (needs `--features cuda`): a Spiral `map (fun x => x * 2.0f32 + 1.0f32)` over
//! 2^26 `f32`, compiled for `KernelTarget::Cuda` (`emit_cuda_kernel`) to PTX with nvcc for the
//! device's architecture (NVRTC through `Kernel::cuda` when no nvcc is found), launched with
//! `Device::launch` on `DeviceInvArray`s, against a hand-written device-to-device copy kernel of
//! the same bytes launched the same way (spiral-rt exposes no `cuMemcpyDtoD`), and the
//! host-device round trip (`copy_from_host` + `copy_to_host`) for scale. Each is timed `--repeat`
//! times after warm-up launches; the median counts. A launch's time includes reading back its
//! status (`Device::launch` waits for the kernel).

use crate::cuda_tools::find_cuda_tools;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// `cargo xtask gpu-check` options.
#[derive(clap::Args, Debug)]
pub struct CheckOptions {
    /// Skip `cargo test` (device check and benchmark only).
    #[arg(long)]
    pub skip_tests: bool,
    /// Skip the benchmark.
    #[arg(long)]
    pub skip_bench: bool,
    /// Build the benchmark with `--release`.
    #[arg(long)]
    pub release: bool,
    /// Benchmark arrays of 2^LOG2_LEN elements.
    #[arg(long, default_value_t = 26)]
    pub log2_len: u32,
}

/// `cargo xtask gpu-bench` options.
#[derive(clap::Args, Debug)]
pub struct BenchOptions {
    /// Arrays of 2^LOG2_LEN `f32` elements.
    #[arg(long, default_value_t = 26)]
    pub log2_len: u32,
    /// Timed launches per row (the median counts), after 3 warm-up launches.
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
    /// Only open `Device::cuda(0)` and print what it is (exit code 2 when it fails).
    #[arg(long)]
    pub probe: bool,
}

/// The Spiral program of the benchmark: its export signature.
pub const MAP_SIG: &str = "pub fn bench_map(dev: &Device, input: &InvArray<f32>) -> Result<InvArray<f32>, Error>;";
/// Its text.
pub const MAP_TEXT: &str = "open inv\nopen kernel\ninl bench_map input = map (fun x => x * 2.0f32 + 1.0f32) input\n";

/// A parameter of the benchmark's map kernel after `__len` and `__status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub enum MapParam {
    /// An `f32` array (`float *`, `size_t`): the input or the output.
    Array,
    /// An `i32` scalar: the library passes the arrays' length.
    Len,
}

/// The CUDA translation unit of the benchmark's map kernel, named `bench_map`, and its
/// parameters: two arrays (the input and the output, in an order `gpu-bench` finds out by
/// running it) and any `i32` scalars (lengths).
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub fn map_kernel_source() -> Result<(String, Vec<MapParam>), String> {
    use spiral_compiler::peval::ir::{PrimTy, Ty};
    let export = crate::cuda_tools::parse_export(MAP_SIG)?;
    let program = crate::cuda_tools::program_for("bench_map.spir", MAP_TEXT, &export, spiral_compiler::peval::KernelTarget::Cuda)?;
    if program.kernels.len() != 1 {
        return Err(format!("the map program has {} kernels, expected 1", program.kernels.len()));
    }
    let params = &program.kernels[0].params;
    let kinds: Option<Vec<MapParam>> = params
        .iter()
        .map(|p| match &p.ty {
            Ty::Array(_) => Some(MapParam::Array),
            Ty::Prim(PrimTy::I32) => Some(MapParam::Len),
            _ => None,
        })
        .collect();
    let kinds = kinds.filter(|k| k.iter().filter(|p| **p == MapParam::Array).count() == 2).ok_or_else(|| {
        format!("the map kernel's parameters are {:?}, expected two arrays and i32 lengths", params.iter().map(|p| &p.ty).collect::<Vec<_>>())
    })?;
    let cu = spiral_compiler::codegen::cuda::emit_cuda_kernel(&program, 0, "bench_map").ok_or("no kernel 0")?.map_err(|(m, _)| m)?;
    Ok((cu, kinds))
}

/// The reference: a device-to-device copy of the same bytes, in the kernel ABI of
/// `spiral_rt::cuda` (no headers, so NVRTC compiles it too).
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub const COPY_CU: &str = r#"// The gpu-bench reference: out[i] = in[i], grid-stride, in the spiral_rt kernel ABI.
extern "C" __global__ void bench_copy(int __len, int *__status, const float *in, unsigned long long in_len, float *out, unsigned long long out_len) {
    (void)__status; (void)in_len; (void)out_len;
    for (long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x; g < (long long)__len; g += (long long)blockDim.x * gridDim.x) {
        out[g] = in[g];
    }
}
"#;

/// Why there is no usable GPU, from `nvidia-smi -L`; `Ok` with its listing otherwise.
fn nvidia_smi() -> Result<String, String> {
    match Command::new("nvidia-smi").arg("-L").output() {
        Ok(o) if o.status.success() => {
            let listing = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if listing.lines().any(|l| l.starts_with("GPU ")) {
                Ok(listing)
            } else {
                Err(format!("`nvidia-smi -L` lists no GPU: {listing}"))
            }
        }
        Ok(o) => Err(format!("`nvidia-smi -L` failed ({}): {}", o.status, String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Err(format!("cannot run `nvidia-smi`: {e}")),
    }
}

/// The folder holding libnvrtc next to a wheels' or toolkit's nvcc (`bin/../lib`, `lib64`).
fn nvrtc_lib_dir(nvcc: &Path) -> Option<PathBuf> {
    let base = nvcc.parent()?.parent()?;
    ["lib", "lib64"].iter().map(|l| base.join(l)).find(|d| {
        std::fs::read_dir(d).is_ok_and(|rd| rd.filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().starts_with("libnvrtc.so")))
    })
}

/// `cargo` for a step, with `SPIRAL_NVCC` and `LD_LIBRARY_PATH` (libnvrtc) set from the nvcc
/// found, unless set already.
fn cargo_with_cuda_env(root: &Path) -> Command {
    let mut c = crate::cargo();
    c.current_dir(root);
    if let Some(t) = find_cuda_tools() {
        if std::env::var_os("SPIRAL_NVCC").is_none() {
            c.env("SPIRAL_NVCC", &t.nvcc);
        }
        if let Some(lib) = nvrtc_lib_dir(&t.nvcc) {
            let mut paths = vec![lib];
            if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
                paths.extend(std::env::split_paths(&old));
            }
            if let Ok(joined) = std::env::join_paths(paths) {
                c.env("LD_LIBRARY_PATH", joined);
            }
        }
    }
    c
}

/// `cargo run -p xtask --features cuda -- gpu-bench ...`.
fn bench_command(root: &Path, release: bool) -> Command {
    let mut c = cargo_with_cuda_env(root);
    c.args(["run", "--quiet", "-p", "xtask", "--features", "cuda"]);
    if release {
        c.arg("--release");
    }
    c.args(["--", "gpu-bench"]);
    c
}

/// Runs `cargo xtask gpu-check`.
pub fn check(root: &Path, o: &CheckOptions) -> ExitCode {
    // 1. A device.
    match nvidia_smi() {
        Ok(listing) => eprintln!("gpu-check: nvidia-smi:\n{listing}"),
        Err(smi) => {
            eprintln!("gpu-check: {smi}; trying Device::cuda(0) (builds xtask with --features cuda)");
            let probe = bench_command(root, o.release).arg("--probe").status();
            match probe {
                Ok(s) if s.success() => {}
                Ok(_) | Err(_) => {
                    eprintln!(
                        "gpu-check: no usable NVIDIA GPU here: {smi}, and Device::cuda(0) failed (above).\n  = help: run this on a machine with an NVIDIA GPU and its driver (libcuda); `cargo xtask ptx-check` checks the CUDA kernels without one"
                    );
                    return ExitCode::from(2);
                }
            }
        }
    }
    // 2. The workspace tests with the CUDA runtime and NVRTC required.
    if !o.skip_tests {
        let mut t = cargo_with_cuda_env(root);
        t.args(["test", "--workspace", "--features", "spiral/cuda"]).env("SPIRAL_TEST_NVRTC", "1");
        if !crate::run(&mut t) {
            eprintln!("gpu-check: the workspace tests failed with --features spiral/cuda and SPIRAL_TEST_NVRTC=1");
            return ExitCode::from(1);
        }
    }
    // 3. The benchmark.
    if !o.skip_bench {
        let mut b = bench_command(root, o.release);
        b.args(["--log2-len", &o.log2_len.to_string()]);
        if !crate::run(&mut b) {
            eprintln!("gpu-check: the benchmark failed");
            return ExitCode::from(1);
        }
    }
    eprintln!("gpu-check: all passed");
    ExitCode::SUCCESS
}

/// Runs `cargo xtask gpu-bench`.
#[cfg(not(feature = "cuda"))]
pub fn bench(_o: &BenchOptions) -> ExitCode {
    eprintln!(
        "gpu-bench: this xtask was built without its `cuda` feature (spiral-rt's CUDA runtime).\n  = help: run `cargo run -p xtask --features cuda -- gpu-bench`, or `cargo xtask gpu-check`, which does"
    );
    ExitCode::from(2)
}

/// Runs `cargo xtask gpu-bench`.
#[cfg(feature = "cuda")]
pub fn bench(o: &BenchOptions) -> ExitCode {
    match gpu::bench(o) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gpu-bench: {e}");
            ExitCode::from(1)
        }
    }
}

/// Formats a row of the table.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub fn row(name: &str, bytes: usize, seconds: f64, reference_gbs: Option<f64>) -> String {
    let gbs = bytes as f64 / seconds / 1e9;
    let ratio = reference_gbs.map_or("-".to_string(), |r| format!("{:.2}", gbs / r));
    format!("{name:<34} {:>10.1} MiB {:>10.1} us {:>9.1} {:>8}", bytes as f64 / (1u64 << 20) as f64, seconds * 1e6, gbs, ratio)
}

/// The table's header.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub fn header() -> String {
    format!("{:<34} {:>14} {:>13} {:>9} {:>8}", "kernel", "bytes moved", "time", "GB/s", "vs copy")
}

#[cfg(feature = "cuda")]
mod gpu {
    use super::*;
    use crate::cuda_tools::run_captured;
    use spiral_rt::{Device, DeviceInvArray, InvArray, Kernel, KernelArgs};
    use std::time::Instant;

    /// PTX of `source` for the device (`compute_XY`) with nvcc; `None` without nvcc (the caller
    /// falls back to NVRTC).
    fn ptx_of(source: &str, name: &str, cc: (i32, i32)) -> Result<Option<String>, String> {
        let Some(tools) = find_cuda_tools() else { return Ok(None) };
        let dir = std::env::temp_dir().join(format!("spiral-gpu-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let cu = dir.join(format!("{name}.cu"));
        let ptx = dir.join(format!("{name}.ptx"));
        std::fs::write(&cu, source).map_err(|e| format!("cannot write {}: {e}", cu.display()))?;
        let arch = format!("-arch=compute_{}{}", cc.0, cc.1);
        run_captured(Command::new(&tools.nvcc).args(["-ptx", "-O3", &arch, "-o"]).arg(&ptx).arg(&cu))?;
        let text = std::fs::read_to_string(&ptx).map_err(|e| format!("cannot read {}: {e}", ptx.display()))?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(Some(text))
    }

    /// Median of the times of `repeat` calls of `f`, after 3 warm-up calls.
    fn time(repeat: usize, mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
        for _ in 0..3 {
            f()?;
        }
        let mut ts = Vec::with_capacity(repeat);
        for _ in 0..repeat.max(1) {
            let t = Instant::now();
            f()?;
            ts.push(t.elapsed().as_secs_f64());
        }
        ts.sort_by(|a, b| a.total_cmp(b));
        Ok(ts[ts.len() / 2])
    }

    pub fn bench(o: &BenchOptions) -> Result<ExitCode, String> {
        let dev = match Device::cuda(0) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("gpu-bench: Device::cuda(0): {e}");
                return Ok(ExitCode::from(2));
            }
        };
        let info = dev.cuda_info().ok_or("no CUDA info for a CUDA device")?;
        eprintln!(
            "gpu-bench: {} (compute capability {}.{}, {} SMs, {:.1} GiB)",
            info.name,
            info.compute_capability.0,
            info.compute_capability.1,
            info.sm_count,
            info.total_mem as f64 / (1u64 << 30) as f64
        );
        if o.probe {
            return Ok(ExitCode::SUCCESS);
        }
        // The Spiral kernel.
        let (map_cu, map_params) = map_kernel_source()?;
        let cc = info.compute_capability;
        let (map_ptx, copy_ptx) = (ptx_of(&map_cu, "bench_map", cc)?, ptx_of(COPY_CU, "bench_copy", cc)?);
        let how = if map_ptx.is_some() { "PTX from nvcc" } else { "NVRTC (no nvcc found)" };
        let map_k = match &map_ptx {
            Some(p) => Kernel::ptx("bench_map", p),
            None => Kernel::cuda("bench_map", &map_cu),
        };
        let copy_k = match &copy_ptx {
            Some(p) => Kernel::ptx("bench_copy", p),
            None => Kernel::cuda("bench_copy", COPY_CU),
        };

        let n = 1usize << o.log2_len;
        let host: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * 0.25 - 100.0).collect();
        let host = InvArray::<f32>::from_columns(host).map_err(|e| e.to_string())?;
        let err = |e: spiral_rt::Error| e.to_string();
        let a = DeviceInvArray::to_device(&dev, &host).map_err(err)?;
        let b = DeviceInvArray::to_device(&dev, &host).map_err(err)?;
        // Which parameter is the output: launch on two copies of the input; the one that
        // changed is written (and must hold 2x + 1).
        // The map kernel's arguments: the arrays `first`, `second` in the order of its array
        // parameters, the length for its i32 scalars.
        let map_launch = |first: &DeviceInvArray<f32>, second: &DeviceInvArray<f32>| -> Result<(), String> {
            let mut args = KernelArgs::new();
            let mut arrays = [first, second].into_iter();
            for p in &map_params {
                match p {
                    MapParam::Array => {
                        args.leaf(&arrays.next().ok_or("three arrays")?.leaves()[0]);
                    }
                    MapParam::Len => {
                        args.scalar(i32::try_from(n).map_err(|_| "more than i32::MAX elements")?);
                    }
                }
            }
            dev.launch(&map_k, n, &args).map_err(err)
        };
        map_launch(&a, &b)?;
        let (ha, hb) = (a.to_host().map_err(err)?, b.to_host().map_err(err)?);
        let want: Vec<f32> = host.as_columns().iter().map(|x| x * 2.0 + 1.0).collect();
        let (a_in, b_in) = (ha.as_columns() == host.as_columns(), hb.as_columns() == host.as_columns());
        let (a_out, b_out) = (*ha.as_columns() == want, *hb.as_columns() == want);
        if !((a_in && b_out) || (b_in && a_out)) {
            return Err("the map kernel did not compute 2x + 1 into one array and leave the other".into());
        }
        let first_is_input = a_in && b_out;
        drop((ha, hb));
        eprintln!("gpu-bench: the map kernel's results are right ({how}); {n} elements, {} repeats, median", o.repeat);

        let bytes = 2 * n * std::mem::size_of::<f32>();
        let (input, output) = if first_is_input { (&a, &b) } else { (&b, &a) };
        let t_map = time(o.repeat, || if first_is_input { map_launch(input, output) } else { map_launch(output, input) })?;
        let t_copy = time(o.repeat, || {
            let mut args = KernelArgs::new();
            args.leaf(&input.leaves()[0]).leaf(&output.leaves()[0]);
            dev.launch(&copy_k, n, &args).map_err(err)
        })?;
        if output.to_host().map_err(err)?.as_columns() != host.as_columns() {
            return Err("the copy kernel did not copy".into());
        }
        let mut round = DeviceInvArray::<f32>::zeroed(&dev, n).map_err(err)?;
        let mut back = InvArray::<f32>::zeroed(n);
        let t_round = time(o.repeat.min(5), || {
            round.copy_from_host(&host).map_err(err)?;
            round.copy_to_host(&mut back).map_err(err)
        })?;
        let copy_gbs = bytes as f64 / t_copy / 1e9;
        println!("{}", header());
        println!("{}", row("spiral map x*2+1 (f32)", bytes, t_map, Some(copy_gbs)));
        println!("{}", row("copy kernel (device to device)", bytes, t_copy, Some(copy_gbs)));
        println!("{}", row("host->device + device->host", bytes, t_round, Some(copy_gbs)));
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `gpu-bench` launches, prepared without a GPU: the map kernel prints, and both it and
    /// the copy kernel go through nvcc when one is found.
    #[test]
    fn the_benchmark_kernels_compile() {
        let (map, params) = map_kernel_source().expect("the map kernel");
        assert_eq!(params.iter().filter(|p| **p == MapParam::Array).count(), 2, "{params:?}");
        assert_eq!(map.matches("__global__").count(), 1, "{map}");
        assert!(map.contains("void bench_map(int32_t __len, int32_t *__status,"), "{map}");
        let Some(t) = find_cuda_tools() else {
            eprintln!("skipped nvcc: none found");
            return;
        };
        let dir = std::env::temp_dir().join(format!("xtask-gpu-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        for (name, src) in [("bench_map", map.as_str()), ("bench_copy", COPY_CU)] {
            let cu = dir.join(format!("{name}.cu"));
            std::fs::write(&cu, src).expect("write");
            crate::cuda_tools::run_captured(Command::new(&t.nvcc).args(["-ptx", "-arch=compute_90", "-Werror", "all-warnings", "-o"]).arg(cu.with_extension("ptx")).arg(&cu))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let ptx = std::fs::read_to_string(cu.with_extension("ptx")).expect("ptx");
            assert!(ptx.contains(&format!(".entry {name}(")), "{ptx}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_table_has_aligned_columns() {
        let h = header();
        let r = row("copy kernel (device to device)", 512 << 20, 1e-4, Some(5368.7));
        assert_eq!(h.len(), r.len(), "{h}\n{r}");
        assert!(r.contains(" 512.0 MiB ") && r.contains(" 100.0 us ") && r.contains("5368.7") && r.ends_with("1.00"), "{r}");
    }
}

//! `cargo xtask`: project automation.
//!
//! - `cargo xtask test`: the whole test suite (`cargo test --workspace`), then the smoke fuzzer.
//! - `cargo xtask peer parse <dir>`: parses every package of the public Spiral v2 suites
//!   (`<dir>/compilation_tests/*`, `<dir>/upmem_tests/*`); prints one line per failure and a
//!   closing `N passed, M failed` line.
//! - `cargo xtask peer run <dir>`: builds `spiral`, runs the v2 packages whose reference C output
//!   runs with `spiral run`, compares exit code and stdout; closing `N passed, M failed` line.
//! - `cargo xtask smoke-fuzz`: deterministic mutations of the committed Spiral inputs fed to the
//!   tokenizer and the parsers; fails on a panic or a hang. Stable Rust, no extra tools.
//! - `cargo xtask fuzz --seconds N`: a libFuzzer run of `fuzz/` through `cargo fuzz`
//!   (installed on demand; nightly features enabled with `RUSTC_BOOTSTRAP=1`).
//! - `cargo xtask kernels-sanitized`: the kernel corpus and the primitive edge cases with the C
//!   kernels that spiral-build generates compiled under UndefinedBehaviorSanitizer (abort on the
//!   first report, `target/ubsan`), then under AddressSanitizer (`target/asan`; the test binaries
//!   run with the ASan runtime preloaded, as it must be the first library loaded).
//! - `cargo xtask bench-parse`: parse throughput in lines per second at three sizes of a
//!   generated file, with the ratios that show whether parsing is linear.
//! - `cargo xtask ptx-check`: every CUDA kernel of the kernel corpus, the examples and the
//!   library-coverage programs through `nvcc -ptx` and `ptxas` (sm_80, sm_90); closing
//!   `ptx-check: N kernels, P passed` line; exit code 2 without nvcc (`.ci/install-cuda-wheels`).
//! - `cargo xtask gpu-check`: on a machine with an NVIDIA GPU, the workspace tests with the
//!   `cuda` feature and NVRTC, then the map-kernel bandwidth table (`gpu-bench`); exit code 2
//!   without a GPU.

mod bench;
mod cuda_tools;
mod fuzz;
mod gpu_check;
mod peer;
mod peer_run;
mod ptx_check;
mod smoke;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Spiral for Rust project automation")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// `cargo test --workspace`, then the smoke fuzzer.
    Test {
        /// Smoke-fuzz cases to run after the tests.
        #[arg(long, default_value_t = smoke::DEFAULT_CASES)]
        fuzz_cases: u64,
    },
    /// Runs the public Spiral v2 test suites against this compiler.
    Peer {
        #[command(subcommand)]
        cmd: PeerCmd,
    },
    /// Deterministic mutation fuzzing of tokenizer and parsers (stable Rust).
    SmokeFuzz(smoke::Options),
    /// libFuzzer run of the `fuzz/` crate through cargo-fuzz.
    Fuzz(fuzz::Options),
    /// Parse throughput (lines/s) at three sizes of a generated Spiral file.
    BenchParse(bench::Options),
    /// The kernel corpus and edge cases with spiral-build's C kernels under UBSan, then ASan.
    KernelsSanitized,
    /// Every CUDA kernel of the corpus, the examples and the library-coverage programs through
    /// `nvcc -ptx -arch=compute_75` and `ptxas` for sm_80 and sm_90 (files in
    /// `target/ptx-check/`); exit code 1 on a failure, 2 without nvcc.
    PtxCheck(ptx_check::Options),
    /// On a machine with an NVIDIA GPU: checks the device, runs `cargo test --workspace
    /// --features spiral/cuda` with `SPIRAL_TEST_NVRTC=1`, then `gpu-bench`; exit code 2 without
    /// a GPU.
    GpuCheck(gpu_check::CheckOptions),
    /// The bandwidth of a Spiral map kernel on the GPU against a copy kernel (needs xtask built
    /// with `--features cuda`; `gpu-check` runs it so).
    GpuBench(gpu_check::BenchOptions),
}

#[derive(Subcommand)]
enum PeerCmd {
    /// Parses every `.spi`, `.spir` and `package.spiproj` of every test package under `DIR`.
    Parse {
        /// The folder holding `compilation_tests/` and `upmem_tests/`.
        dir: PathBuf,
        /// Print every diagnostic in full.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Compiles and runs the bottom-up (and portable top-down) packages whose reference C output
    /// runs, comparing exit code and stdout; prints `N passed, M failed`.
    Run {
        /// The folder holding `compilation_tests/`.
        dir: PathBuf,
        /// Print failure reasons in full.
        #[arg(long, short)]
        verbose: bool,
        /// Compile the generated C with -Wall -Werror and ASan/UBSan (leak checking on).
        #[arg(long)]
        sanitize: bool,
    },
}

/// The workspace root (the parent of this crate's folder).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// Runs a command, echoing it; returns whether it succeeded.
fn run(cmd: &mut Command) -> bool {
    eprintln!("$ {:?}", cmd);
    match cmd.status() {
        Ok(s) => s.success(),
        Err(e) => {
            eprintln!("xtask: cannot run {:?}: {e}", cmd.get_program());
            false
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ok = match cli.cmd {
        Cmd::Test { fuzz_cases } => {
            let root = workspace_root();
            run(cargo().current_dir(&root).args(["test", "--workspace"]))
                && smoke::run(&smoke::Options { cases: fuzz_cases, ..smoke::Options::default() })
        }
        Cmd::Peer { cmd: PeerCmd::Parse { dir, verbose } } => peer::parse(&dir, verbose),
        Cmd::Peer { cmd: PeerCmd::Run { dir, verbose, sanitize } } => peer_run::run(&workspace_root(), &dir, verbose, sanitize),
        Cmd::SmokeFuzz(o) => smoke::run(&o),
        Cmd::Fuzz(o) => fuzz::run(&o),
        Cmd::BenchParse(o) => bench::run(&o),
        Cmd::KernelsSanitized => kernels_sanitized(&workspace_root()),
        Cmd::PtxCheck(o) => return ptx_check::run(&workspace_root(), &o),
        Cmd::GpuCheck(o) => return gpu_check::check(&workspace_root(), &o),
        Cmd::GpuBench(o) => return gpu_check::bench(&o),
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The packages whose tests run spiral-build's C kernels.
const KERNEL_PACKAGES: [&str; 4] = ["-p", "spiral-kernel-tests", "-p", "spiral-build-demo"];

/// `cargo xtask kernels-sanitized`: UBSan (the runtime linked into the test binaries), then
/// ASan (the C kernels instrumented, the test binaries run with `libasan.so` preloaded).
fn kernels_sanitized(root: &Path) -> bool {
    // The cc crate reads CFLAGS for the kernels.
    let ubsan = run(cargo()
        .current_dir(root)
        .env("CARGO_TARGET_DIR", root.join("target/ubsan"))
        .env("CFLAGS", "-fsanitize=undefined -fno-sanitize-recover=all")
        .env("RUSTFLAGS", "-C link-arg=-lubsan")
        .arg("test")
        .args(KERNEL_PACKAGES));
    if !ubsan {
        return false;
    }
    let libasan = match Command::new("cc").arg("-print-file-name=libasan.so").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => {
            eprintln!("kernels-sanitized: cannot find libasan.so (`cc -print-file-name=libasan.so`)");
            return false;
        }
    };
    let built = cargo()
        .current_dir(root)
        .env("CARGO_TARGET_DIR", root.join("target/asan"))
        .env("CFLAGS", "-fsanitize=address -fno-omit-frame-pointer")
        .env("RUSTFLAGS", "-C link-arg=-lasan")
        .args(["test", "--no-run", "--message-format=json"])
        .args(KERNEL_PACKAGES)
        .stderr(std::process::Stdio::inherit())
        .output();
    let Ok(built) = built else { return false };
    if !built.status.success() {
        return false;
    }
    // Test executables from cargo's JSON messages (`"executable":"..."` of test artifacts).
    let mut bins = Vec::new();
    for line in String::from_utf8_lossy(&built.stdout).lines() {
        if !line.contains("\"test\":true") {
            continue;
        }
        if let Some(i) = line.find("\"executable\":\"") {
            let rest = &line[i + 14..];
            if let Some(j) = rest.find('"') {
                bins.push(rest[..j].to_string());
            }
        }
    }
    if bins.is_empty() {
        eprintln!("kernels-sanitized: no test executables were built");
        return false;
    }
    for b in &bins {
        eprintln!("kernels-sanitized: {b} (ASan)");
        let ok = run(Command::new(b).current_dir(root.join("kernel-tests")).env("LD_PRELOAD", &libasan).env("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1"));
        if !ok {
            return false;
        }
    }
    true
}

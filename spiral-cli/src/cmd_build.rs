//! `spiral build` and `spiral run`: compile a Spiral program to C, and optionally compile the C
//! with the system C compiler and run it.

use crate::cc::{exit_code_of, CToolchain, ScratchDir};
use crate::pipeline;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// The backends `spiral build` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// Plain C11 with reference counting; `main` returns the process exit code.
    C,
}

/// Arguments of `spiral build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The `.spir`/`.spi` file holding `main`, or a package directory. A file inside a package
    /// (a directory with `package.spiproj` above it) must be one of its modules and is compiled
    /// with its package, whose last module holds `main`.
    pub file: PathBuf,
    /// The backend to print.
    #[arg(long, value_enum, default_value = "c")]
    pub backend: BackendArg,
    /// Where to write the output; `-` is standard output. Default: the input's path with the
    /// backend's extension (`prog.spir` -> `prog.c`).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Also write every kernel's device source into this folder (created if missing), one
    /// complete translation unit per kernel and backend: `<program>.kernel<i>.cpu.c` (the C
    /// kernel dialect) and, from the program compiled again with its kernels on CUDA,
    /// `<program>.kernel<i>.cu` (for `nvcc -ptx`). A program without kernels writes nothing
    /// there.
    #[arg(long = "kernels-dir", value_name = "DIR")]
    pub kernels_dir: Option<PathBuf>,
}

/// Arguments of `spiral run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The `.spir`/`.spi` file holding `main`, or a package directory (as for `build`).
    pub file: PathBuf,
    /// Also write the generated C here (for inspection).
    #[arg(long = "emit-c")]
    pub emit_c: Option<PathBuf>,
}

/// Runs `spiral build`.
pub fn build(args: &BuildArgs) -> ExitCode {
    let out = args.output.clone().unwrap_or_else(|| args.file.with_extension("c"));
    let to_stdout = out.as_os_str() == "-";
    // Checked before compiling too, so that `spiral build prog.c` says what is wrong instead
    // of reporting C as Spiral syntax errors.
    if !to_stdout && pipeline::same_file(&out, &args.file) {
        return fail(&pipeline::output_is_input(&out, &args.file, "-o"));
    }
    let name = args.kernels_dir.as_ref().map(|_| program_name(&args.file));
    let (compiled, kernels) = match pipeline::compile_file_with_kernels(&args.file, "c", name.as_deref()) {
        Ok(c) => c,
        Err(rendered) => return fail(&rendered),
    };
    let c = compiled.text;
    if !to_stdout {
        if let Some(input) = compiled.inputs.iter().find(|i| pipeline::same_file(&out, i)) {
            return fail(&pipeline::output_is_input(&out, input, "-o"));
        }
    }
    if to_stdout {
        if let Err(code) = crate::stdout::write(&c) {
            return code;
        }
    } else if let Err(e) = std::fs::write(&out, c) {
        return fail(&format!("error: cannot write `{}`: {e}\n", out.display()));
    }
    match (&args.kernels_dir, name) {
        (Some(dir), Some(name)) => write_kernels(dir, &name, &kernels, &compiled.inputs),
        _ => ExitCode::SUCCESS,
    }
}

/// The name kernel files and symbols start with: the program's file stem (a package: its
/// folder's name) as a C identifier.
fn program_name(file: &Path) -> String {
    let stem = if file.is_dir() { std::fs::canonicalize(file).ok().and_then(|p| p.file_name().map(|s| s.to_owned())) } else { file.file_stem().map(|s| s.to_owned()) };
    let stem = stem.map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut name: String = stem.chars().map(|ch| if ch.is_ascii_alphanumeric() || ch == '_' { ch } else { '_' }).collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "spiral_");
    }
    name
}

/// `spiral build --kernels-dir`: writes the kernel files into `dir` (said on stderr when there
/// are none).
fn write_kernels(dir: &Path, name: &str, kernels: &[pipeline::KernelFile], inputs: &[PathBuf]) -> ExitCode {
    if kernels.is_empty() {
        eprintln!("spiral build: the program has no kernels; nothing written to `{}`", dir.display());
        return ExitCode::SUCCESS;
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail(&format!("error: cannot create `{}`: {e}\n", dir.display()));
    }
    for k in kernels {
        let path = dir.join(&k.name);
        if let Some(input) = inputs.iter().find(|i| pipeline::same_file(&path, i)) {
            return fail(&pipeline::output_is_input(&path, input, "--kernels-dir"));
        }
        if let Err(e) = std::fs::write(&path, &k.text) {
            return fail(&format!("error: cannot write `{}`: {e}\n", path.display()));
        }
    }
    eprintln!("spiral build: {} kernel files of `{name}` written to `{}`", kernels.len(), dir.display());
    ExitCode::SUCCESS
}

/// Runs `spiral run`: build, compile with the system C compiler, run; the program's stdout
/// passes through and its exit code becomes ours. SIGTERM, SIGINT or SIGHUP kill the program,
/// remove the scratch directory and end `spiral` with 128 + the signal's number.
pub fn run(args: &RunArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) => ExitCode::from((code & 0xff) as u8),
        Err(rendered) => fail(&rendered),
    }
}

fn run_inner(args: &RunArgs) -> Result<i32, String> {
    if let Some(p) = &args.emit_c {
        if pipeline::same_file(p, &args.file) {
            return Err(pipeline::output_is_input(p, &args.file, "--emit-c"));
        }
    }
    let compiled = pipeline::compile_file_to_c(&args.file)?;
    let c = compiled.text;
    if let Some(p) = &args.emit_c {
        if let Some(input) = compiled.inputs.iter().find(|i| pipeline::same_file(p, i)) {
            return Err(pipeline::output_is_input(p, input, "--emit-c"));
        }
        std::fs::write(p, &c).map_err(|e| format!("error: cannot write `{}`: {e}\n", p.display()))?;
    }
    // From here on SIGTERM/SIGINT/SIGHUP only raise a flag, checked after each step, so the
    // scratch directory is removed and the program killed instead of left behind. (Before
    // this point there is nothing to clean up, and they end a long compilation at once.)
    let stop = StopSignal::install();
    let dir = ScratchDir::new("run").map_err(|e| format!("error: cannot create a temporary directory: {e}\n"))?;
    let stem = args.file.file_stem().and_then(|s| s.to_str()).unwrap_or("main");
    let stem: String = stem.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' }).collect();
    let c_file = dir.path().join(format!("{stem}.c"));
    std::fs::write(&c_file, &c).map_err(|e| format!("error: cannot write `{}`: {e}\n", c_file.display()))?;
    let exe = dir.path().join(stem);
    CToolchain::from_env().compile(&c_file, &exe).map_err(|m| format!("error: {m}\n"))?;
    if let Some(code) = stop.exit_code() {
        return Ok(code);
    }
    run_executable(&exe, &stop)
}

/// Runs the compiled program and waits for it; if `spiral` is told to stop meanwhile, kills
/// it and returns 128 + the signal's number (the caller then removes the scratch directory).
fn run_executable(exe: &Path, stop: &StopSignal) -> Result<i32, String> {
    let mut child = Command::new(exe)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("error: cannot run `{}`: {e}\n", exe.display()))?;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(exit_code_of(status)),
            Ok(None) => {}
            Err(e) => return Err(format!("error: cannot wait for `{}`: {e}\n", exe.display())),
        }
        if let Some(code) = stop.exit_code() {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(code);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(20));
    }
}

/// SIGTERM, SIGINT and SIGHUP caught for the rest of the process: they set a flag instead of
/// ending `spiral` at once (which would leave the program running and its scratch directory
/// behind).
struct StopSignal {
    #[cfg(unix)]
    caught: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl StopSignal {
    fn install() -> StopSignal {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let caught = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            for sig in [SIGTERM, SIGINT, SIGHUP] {
                // Failing to install leaves the default behaviour, which is no worse than before.
                let _ = signal_hook::flag::register_usize(sig, caught.clone(), sig as usize);
            }
            StopSignal { caught }
        }
        #[cfg(not(unix))]
        StopSignal {}
    }

    /// `Some(128 + signal)` once a signal has been caught.
    fn exit_code(&self) -> Option<i32> {
        #[cfg(unix)]
        {
            let sig = self.caught.load(std::sync::atomic::Ordering::SeqCst);
            if sig != 0 {
                return Some(128 + sig as i32);
            }
        }
        None
    }
}

fn fail(rendered: &str) -> ExitCode {
    eprint!("{rendered}");
    if !rendered.ends_with('\n') {
        eprintln!();
    }
    ExitCode::from(1)
}

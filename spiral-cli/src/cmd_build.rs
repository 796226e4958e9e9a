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
    let compiled = match pipeline::compile_file_to_c(&args.file) {
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
        return match crate::stdout::write(&c) {
            Ok(()) => ExitCode::SUCCESS,
            Err(code) => code,
        };
    }
    if let Err(e) = std::fs::write(&out, c) {
        return fail(&format!("error: cannot write `{}`: {e}\n", out.display()));
    }
    ExitCode::SUCCESS
}

/// Runs `spiral run`: build, compile with the system C compiler, run; the program's stdout
/// passes through and its exit code becomes ours.
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
    let dir = ScratchDir::new("run").map_err(|e| format!("error: cannot create a temporary directory: {e}\n"))?;
    let stem = args.file.file_stem().and_then(|s| s.to_str()).unwrap_or("main");
    let stem: String = stem.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' }).collect();
    let c_file = dir.path().join(format!("{stem}.c"));
    std::fs::write(&c_file, &c).map_err(|e| format!("error: cannot write `{}`: {e}\n", c_file.display()))?;
    let exe = dir.path().join(stem);
    CToolchain::from_env().compile(&c_file, &exe).map_err(|m| format!("error: {m}\n"))?;
    run_executable(&exe)
}

fn run_executable(exe: &Path) -> Result<i32, String> {
    let status = Command::new(exe)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("error: cannot run `{}`: {e}\n", exe.display()))?;
    Ok(exit_code_of(status))
}

fn fail(rendered: &str) -> ExitCode {
    eprint!("{rendered}");
    if !rendered.ends_with('\n') {
        eprintln!();
    }
    ExitCode::from(1)
}

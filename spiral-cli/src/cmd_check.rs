//! `spiral check`: run the front end and the partial evaluator without a backend; report the
//! diagnostics (exit 1) or nothing (exit 0). `--ir` prints the residual program. `--types`
//! instead runs only top-down type inference and prints `name : type` for every top-level
//! definition.

use crate::pipeline;
use clap::Args;
use spiral_compiler::diagnostics::{render, Diagnostic, SourceMap, Span};
use spiral_compiler::{infer, project};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `spiral check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The `.spir`/`.spi` file holding `main` (compiled with its package, if it is in one), or a
    /// package directory.
    pub file: PathBuf,
    /// Print the residual program (the partial evaluator's output) to stdout.
    #[arg(long)]
    pub ir: bool,
    /// Only run type inference on the top-down (`.spi`) modules and print `name : type` for
    /// each top-level definition of the package, in source order (names in a package of
    /// several modules are qualified with their module); exit 1 with the type errors.
    #[arg(long, conflicts_with = "ir")]
    pub types: bool,
    /// What the type name `int` stands for (v2's command-line default; `i32`).
    #[arg(long, default_value = "i32", value_name = "TYPE")]
    pub default_int: String,
    /// What the type name `uint` stands for (`u32`).
    #[arg(long, default_value = "u32", value_name = "TYPE")]
    pub default_uint: String,
    /// What the type name `float` stands for (`f64`; programs written for `f32` need `f32`).
    #[arg(long, default_value = "f64", value_name = "TYPE")]
    pub default_float: String,
}

/// Applies `--default-int`, `--default-uint` and `--default-float`.
fn set_defaults(args: &CheckArgs) -> Result<(), String> {
    use spiral_compiler::peval::ir::PrimTy;
    let prim = |s: &str| PrimTy::from_name(s).ok_or_else(|| format!("`{s}` is not a primitive type"));
    infer::env::set_defaults(prim(&args.default_int)?, prim(&args.default_uint)?, prim(&args.default_float)?)
}

/// Runs `spiral check`.
pub fn check(args: &CheckArgs) -> ExitCode {
    if let Err(e) = set_defaults(args) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if args.types {
        return check_types(&args.file);
    }
    match pipeline::compile_file_to_ir(&args.file) {
        Ok(p) => {
            if args.ir {
                if let Err(code) = crate::stdout::write(&p.to_string()) {
                    return code;
                }
            }
            ExitCode::SUCCESS
        }
        Err(rendered) => {
            eprint!("{rendered}");
            ExitCode::from(1)
        }
    }
}

/// `spiral check --types`: load `path` (a package directory, a module of a package, or a lone
/// file), infer, print the definitions or the diagnostics.
fn check_types(path: &Path) -> ExitCode {
    let mut sources = SourceMap::new();
    let (graph, qualify) = match load(path, &mut sources) {
        Ok(g) => g,
        Err(d) => {
            eprint!("{}", render(&sources, &d));
            return ExitCode::from(1);
        }
    };
    let result = infer::check_graph(&graph);
    if !result.is_ok() {
        eprint!("{}", render(&sources, &result.diagnostics));
        return ExitCode::from(1);
    }
    let mut text = String::new();
    for line in result.def_lines(qualify) {
        text.push_str(&line);
        text.push('\n');
    }
    if let Err(code) = crate::stdout::write(&text) {
        return code;
    }
    ExitCode::SUCCESS
}

/// The graph, and whether the root package has several modules of its own (then names are
/// printed qualified).
fn load(path: &Path, sources: &mut SourceMap) -> Result<(project::ProjectGraph, bool), Vec<Diagnostic>> {
    let mut graph = if path.is_dir() {
        project::load_package_dir(path, sources)?
    } else if !path.is_file() {
        let f = sources.add(path.display().to_string(), "");
        return Err(vec![Diagnostic::error(Span::new(f, 0, 0), format!("cannot read `{}`: no such file", path.display()))]);
    } else {
        match pipeline::find_package_root(path) {
            Some(dir) => project::load_package_dir(&dir, sources)?,
            None => project::load_single_file(path, sources)?,
        }
    };
    let qualify = graph.root_package().modules.len() > 1;
    // The same library modules `spiral check` adds (`inv`, `kernel`) for programs that see core.
    if graph.root_package().dependencies.iter().any(|d| d.name == "core") {
        spiral_compiler::driver::add_library(&mut graph, sources)?;
    }
    Ok((graph, qualify))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_of_a_lone_file() {
        let dir = std::env::temp_dir().join(format!("spiral-check-types-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("t.spi");
        std::fs::write(&file, "inl id x = x\ninl main () = id 1i32 + 2\n").unwrap();
        let mut sources = SourceMap::new();
        let (graph, qualify) = load(&file, &mut sources).unwrap();
        assert!(!qualify);
        let r = infer::check_graph(&graph);
        assert!(r.is_ok(), "{}", render(&sources, &r.diagnostics));
        assert_eq!(r.def_lines(qualify), vec!["id : forall 'a. 'a -> 'a", "main : () -> i32"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! `spiral parse [--dump] <path>`: parses a `.spi`/`.spir` file (or every module of a package
//! directory) and reports syntax errors. Exit code 0 when everything parses, 1 otherwise.

use clap::Args;
use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::project;
use spiral_compiler::syntax::{dump_module, parse_module, Segment};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `spiral parse`.
#[derive(Args, Debug)]
pub struct ParseArgs {
    /// Print the syntax tree of every parsed module.
    #[arg(long)]
    pub dump: bool,
    /// A `.spi` (top-down) or `.spir` (bottom-up) file, or a package directory holding a
    /// `package.spiproj`.
    pub path: PathBuf,
}

/// Runs `spiral parse`.
pub fn parse(a: &ParseArgs) -> ExitCode {
    let mut sm = SourceMap::new();
    if a.path.is_dir() {
        return parse_dir(a, &mut sm);
    }
    let text = match std::fs::read(&a.path) {
        Ok(b) => match String::from_utf8(b) {
            Ok(t) => t,
            Err(_) => {
                eprintln!("error: `{}` is not valid UTF-8", a.path.display());
                return ExitCode::FAILURE;
            }
        },
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", a.path.display());
            return ExitCode::FAILURE;
        }
    };
    let seg = segment_of(&a.path);
    let id = sm.add(a.path.display().to_string(), text.clone());
    let parsed = parse_module(id, &text, seg);
    if a.dump {
        if let Err(code) = crate::stdout::write(&dump_module(&parsed.module)) {
            return code;
        }
    }
    if parsed.diagnostics.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprint!("{}", render(&sm, &parsed.diagnostics));
        eprintln!("{} syntax error(s)", parsed.diagnostics.len());
        ExitCode::FAILURE
    }
}

fn segment_of(p: &Path) -> Segment {
    if p.extension().and_then(|e| e.to_str()) == Some("spir") {
        Segment::BottomUp
    } else {
        Segment::TopDown
    }
}

fn parse_dir(a: &ParseArgs, sm: &mut SourceMap) -> ExitCode {
    let loaded = project::load_package_dir_lenient(&a.path, sm);
    if a.dump {
        let modules = loaded.graph.packages.get(loaded.graph.root).map(|p| p.modules.as_slice()).unwrap_or(&[]);
        for m in modules {
            let text = format!(";; {}\n{}", m.path.display(), dump_module(&m.parsed.module));
            if let Err(code) = crate::stdout::write(&text) {
                return code;
            }
        }
    }
    if loaded.diagnostics.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprint!("{}", render(sm, &loaded.diagnostics));
        eprintln!("{} error(s)", loaded.diagnostics.len());
        ExitCode::FAILURE
    }
}

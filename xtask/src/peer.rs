//! `cargo xtask peer parse <dir>`: the public Spiral v2 suites through our loader and parser.
//!
//! Each test package (a folder with a `package.spiproj`) is loaded with its package graph
//! (`|core-` resolves to the bundled core); files in the folder that the `package.spiproj`
//! does not list are parsed on their own, so every `.spi`/`.spir` is covered. A package passes
//! when nothing produced a diagnostic, except for the negative tests in [`NEGATIVE`], which pass
//! only when they are rejected at the expected place.

use spiral_compiler::diagnostics::{render, Diagnostic, SourceMap};
use spiral_compiler::project::{load_package_dir_lenient, PackageSource, segment_of_path, spiproj::parse_spiproj, SPIPROJ};
use spiral_compiler::syntax::parse_module;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Test packages that must be rejected: (folder, file, line, column) of the expected error.
/// test31 checks that an expression indented under a finished statement
/// (`    1 |> ignore` followed by `        2`) is a parse error at the `2`.
pub const NEGATIVE: &[(&str, &str, usize, usize)] = &[("test31", "test.spir", 5, 9)];

/// The suites, relative to the folder given on the command line.
pub const SUITES: &[&str] = &["compilation_tests", "upmem_tests"];

/// Outcome for one test package.
pub struct Outcome {
    /// `suite/name`.
    pub name: String,
    /// `None` when it passed, else a one-line reason.
    pub failure: Option<String>,
    /// Rendered diagnostics (for `--verbose`).
    pub rendered: String,
    /// Source files parsed.
    pub files: usize,
}

fn spiral_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            spiral_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("spi" | "spir")) || p.file_name().is_some_and(|n| n == SPIPROJ) {
            out.push(p);
        }
    }
}

fn first_line(sm: &SourceMap, d: &Diagnostic) -> String {
    let (l, c) = d.line_col(sm);
    let name = sm.name(d.span.file);
    let short = name.rsplit('/').next().unwrap_or(name);
    format!("{short}:{l}:{c}: {}", d.message)
}

/// Loads and parses one test package.
pub fn check_package(suite: &str, dir: &Path) -> Outcome {
    let name = format!("{suite}/{}", dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    let mut sm = SourceMap::new();
    let loaded = load_package_dir_lenient(dir, &mut sm);
    let mut diags = loaded.diagnostics;
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut seen: HashSet<PathBuf> = loaded
        .graph
        .modules()
        .filter(|(p, _)| matches!(p.source, PackageSource::Dir(_)))
        .map(|(_, m)| canon(&m.path))
        .collect();
    seen.insert(canon(&dir.join(SPIPROJ)));
    let mut files = seen.len();
    let mut all = Vec::new();
    spiral_files(dir, &mut all);
    for p in all {
        if seen.contains(&canon(&p)) {
            continue;
        }
        files += 1;
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) => {
                let f = sm.add(p.to_string_lossy(), "");
                diags.push(Diagnostic::error(spiral_compiler::diagnostics::Span::new(f, 0, 0), format!("cannot read: {e}")));
                continue;
            }
        };
        let f = sm.add(p.to_string_lossy(), text.clone());
        if p.file_name().is_some_and(|n| n == SPIPROJ) {
            diags.extend(parse_spiproj(f, &text).diagnostics);
        } else {
            diags.extend(parse_module(f, &text, segment_of_path(&p)).diagnostics);
        }
    }
    let rendered = render(&sm, &diags);
    let base = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let failure = match NEGATIVE.iter().find(|(n, ..)| *n == base) {
        Some(&(_, file, line, col)) => {
            let hit = diags.iter().any(|d| sm.name(d.span.file).ends_with(file) && d.line_col(&sm) == (line, col));
            match (hit, diags.first()) {
                (true, _) => None,
                (false, None) => Some(format!("expected an error at {file}:{line}:{col}, but it parsed")),
                (false, Some(d)) => Some(format!("expected an error at {file}:{line}:{col}, got {}", first_line(&sm, d))),
            }
        }
        None => diags.first().map(|d| {
            let more = if diags.len() > 1 { format!(" (+{} more)", diags.len() - 1) } else { String::new() };
            format!("{}{more}", first_line(&sm, d))
        }),
    };
    Outcome { name, failure, rendered, files }
}

/// Every test package folder of the suites under `root`, sorted.
pub fn packages(root: &Path) -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    for suite in SUITES {
        let Ok(rd) = std::fs::read_dir(root.join(suite)) else { continue };
        let mut dirs: Vec<PathBuf> = rd.flatten().map(|e| e.path()).filter(|p| p.join(SPIPROJ).is_file()).collect();
        dirs.sort();
        out.extend(dirs.into_iter().map(|d| (*suite, d)));
    }
    out
}

/// Runs the parse check over every package; prints failures and the summary line.
pub fn parse(root: &Path, verbose: bool) -> bool {
    let pkgs = packages(root);
    if pkgs.is_empty() {
        eprintln!("no test packages under {} (expected {})", root.display(), SUITES.join(" and "));
        return false;
    }
    let start = Instant::now();
    let (mut passed, mut failed, mut files) = (0usize, 0usize, 0usize);
    for (suite, dir) in &pkgs {
        let o = check_package(suite, dir);
        files += o.files;
        match &o.failure {
            None => passed += 1,
            Some(why) => {
                failed += 1;
                println!("FAIL {}: {why}", o.name);
            }
        }
        if verbose && !o.rendered.is_empty() {
            println!("{}", o.rendered);
        }
    }
    println!("{} packages, {files} files in {:.2} s", pkgs.len(), start.elapsed().as_secs_f64());
    println!("{passed} passed, {failed} failed");
    failed == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(files: &[(&str, &str)]) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("xtask-peer-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (p, t) in files {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        }
        root
    }

    #[test]
    fn finds_packages_of_both_suites_in_order() {
        let root = suite(&[
            ("compilation_tests/b/package.spiproj", ""),
            ("compilation_tests/a/package.spiproj", ""),
            ("compilation_tests/not_a_package/x.spi", ""),
            ("upmem_tests/u/package.spiproj", ""),
        ]);
        let names: Vec<String> = packages(&root).iter().map(|(s, d)| format!("{s}/{}", d.file_name().unwrap().to_string_lossy())).collect();
        assert_eq!(names, vec!["compilation_tests/a", "compilation_tests/b", "upmem_tests/u"]);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn missing_module_fails_and_unlisted_files_are_parsed_too() {
        let root = suite(&[
            ("compilation_tests/p/package.spiproj", "modules:\n    main\n    gone\n"),
            ("compilation_tests/p/main.spi", ""),
            ("compilation_tests/p/extra.spir", ""),
            ("compilation_tests/q/package.spiproj", "packages: |core-\nmodules: main\n"),
            ("compilation_tests/q/main.spi", ""),
        ]);
        let p = check_package("compilation_tests", &root.join("compilation_tests/p"));
        let why = p.failure.expect("a missing module must fail");
        assert!(why.starts_with("package.spiproj:3:5:"), "{why}");
        assert_eq!(p.files, 3, "package.spiproj, main.spi and the unlisted extra.spir");
        let q = check_package("compilation_tests", &root.join("compilation_tests/q"));
        assert_eq!(q.failure, None);
        assert_eq!(q.files, 2);
        let _ = std::fs::remove_dir_all(root);
    }
}

//! End-to-end tests of `spiral build` and `spiral run` as a user runs them.

mod common;

use common::*;
use std::path::PathBuf;
use std::time::Duration;

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spiral-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn run_passes_stdout_through_and_exits_with_mains_result() {
    let d = scratch("exit");
    let f = d.join("prog.spir");
    std::fs::write(&f, "inl main () =\n    dump (1, \"two\")\n    dyn 7i32\n").unwrap();
    let out = spiral(&["run", f.to_str().unwrap()], &[], LIMIT);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.stdout, "(1, \"two\")\n", "stderr: {}", out.stderr);
    assert_eq!(out.code, Some(7), "stderr: {}", out.stderr);
}

#[test]
fn build_writes_c_that_the_system_compiler_accepts() {
    let d = scratch("build");
    let f = d.join("prog.spir");
    std::fs::write(&f, "inl main () = dyn 3i32 + 4\n").unwrap();
    let c = d.join("out.c");
    let out = spiral(&["build", f.to_str().unwrap(), "--backend", "c", "-o", c.to_str().unwrap()], &[], LIMIT);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    let text = std::fs::read_to_string(&c).unwrap();
    assert!(text.contains("int main(void)"), "{text}");
    // Default output: next to the input, with the `.c` extension.
    let out = spiral(&["build", f.to_str().unwrap()], &[], LIMIT);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(std::fs::read_to_string(d.join("prog.c")).unwrap(), text);
    let st = std::process::Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror"])
        .arg(&c)
        .arg("-o")
        .arg(d.join("prog"))
        .arg("-lm")
        .status()
        .unwrap();
    assert!(st.success());
    let code = std::process::Command::new(d.join("prog")).status().unwrap().code();
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(code, Some(7));
}

#[test]
fn a_file_inside_a_package_is_compiled_with_its_package() {
    let d = scratch("pkg");
    std::fs::write(d.join("package.spiproj"), "packages: |core-\nmodules:\n    helpers*\n    main*\n").unwrap();
    std::fs::write(d.join("helpers.spir"), "open real_core\ninl twice x = x + x\n").unwrap();
    std::fs::write(d.join("main.spir"), "open real_core\ninl main () = helpers.twice (dyn 21i32)\n").unwrap();
    let out = spiral(&["run", d.join("main.spir").to_str().unwrap()], &[], LIMIT);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.code, Some(42), "stderr: {}", out.stderr);
}

#[test]
fn a_missing_c_compiler_is_a_clear_error() {
    let d = scratch("nocc");
    let f = d.join("prog.spir");
    std::fs::write(&f, "inl main () = 0i32\n").unwrap();
    let out = spiral(&["run", f.to_str().unwrap()], &[("SPIRAL_CC", "no-such-c-compiler-xyz")], LIMIT);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("no C compiler found"), "{}", out.stderr);
    assert!(!panicked(&out.stderr));
}

#[test]
fn a_type_error_gives_a_diagnostic_with_the_trace_and_exit_1() {
    let d = scratch("trace");
    let f = d.join("bad.spir");
    std::fs::write(&f, "inl f x = x + \"a\"\ninl main () =\n    f 1i32\n").unwrap();
    let out = spiral(&["run", f.to_str().unwrap()], &[], LIMIT);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(!panicked(&out.stderr), "{}", out.stderr);
    assert!(out.stderr.contains("bad.spir:1:"), "{}", out.stderr);
    assert!(out.stderr.contains("evaluation trace"), "{}", out.stderr);
    assert!(out.stderr.contains("bad.spir:3:"), "the trace shows the call site:\n{}", out.stderr);
}

#[test]
fn a_backend_error_points_at_the_entry_module() {
    let d = scratch("backend");
    let f = d.join("strmain.spir");
    std::fs::write(&f, "inl main () = dyn \"not an int\"\n").unwrap();
    let out = spiral(&["run", f.to_str().unwrap()], &[], LIMIT);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("must return `i32`"), "{}", out.stderr);
    assert!(out.stderr.contains("strmain.spir:1:1"), "{}", out.stderr);
}

#[test]
fn check_reports_errors_and_prints_the_residual_program() {
    let d = scratch("check");
    let ok = d.join("ok.spir");
    std::fs::write(&ok, "inl main () = dyn 1i32 + 2\n").unwrap();
    let out = spiral(&["check", "--ir", ok.to_str().unwrap()], &[], LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("main : (i32) ="), "{}", out.stdout);
    assert!(out.stdout.contains("add("), "{}", out.stdout);
    let bad = d.join("bad.spir");
    std::fs::write(&bad, "inl main () = nope\n").unwrap();
    let out = spiral(&["check", bad.to_str().unwrap()], &[], LIMIT);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("bad.spir:1:15"), "{}", out.stderr);
}

/// The example the README shows for `spiral run`.
#[test]
fn the_readme_example_runs() {
    let f = repo_root().join("examples/spiral/word_lengths.spir");
    let out = spiral(&["run", f.to_str().unwrap()], &[], LIMIT);
    assert_eq!(out.stdout, "Short \"staged\"\nLong (\"functional\", 10)\nShort \"kernels\"\n", "{}", out.stderr);
    assert_eq!(out.code, Some(23), "{}", out.stderr);
}

#[test]
fn print_static_output_goes_to_stderr_and_stdout_stays_the_programs() {
    let d = scratch("print-static");
    let f = d.join("prog.spir");
    std::fs::write(&f, "inl main () =\n    print_static (1i32, .a)\n    dump 5i32\n    0i32\n").unwrap();
    let out = spiral(&["run", f.to_str().unwrap()], &[], LIMIT);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "5\n");
    assert!(out.stderr.contains("1i32, .a"), "stderr: {}", out.stderr);
}

#[test]
fn a_match_with_thousands_of_arms_compiles_without_overflowing_the_stack() {
    let d = scratch("big-match");
    let f = d.join("prog.spir");
    let mut src = String::from("inl main () =\n    inl x = dyn 2999i32\n    match x with\n");
    for i in 0..3000 {
        src.push_str(&format!("    | {i} => {}i32\n", i % 100));
    }
    src.push_str("    | _ => 0i32\n");
    std::fs::write(&f, src).unwrap();
    let out = spiral(&["run", f.to_str().unwrap()], &[], LIMIT);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.code, Some(99), "stderr: {}", out.stderr);
}

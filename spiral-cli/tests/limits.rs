//! Resource limits and compile-time edge cases: programs that used to exhaust memory, overflow
//! a stack or run for minutes now end in a diagnostic (or compile in linear time and space).

mod common;

use common::*;
use std::path::PathBuf;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spiral-limits-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// `spiral check file` must fail with a diagnostic containing `want`, without a panic.
fn check_fails_with(file: &str, want: &str) -> RunOutcome {
    let out = spiral(&["check", file], &[], LIMIT);
    assert!(!out.timed_out, "timed out");
    assert!(!panicked(&out.stderr), "panicked:\n{}", out.stderr);
    assert_eq!(out.code, Some(1), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains(want), "expected {want:?} in:\n{}", &out.stderr[..out.stderr.len().min(3000)]);
    out
}

#[test]
fn a_join_point_argument_that_doubles_at_every_call_is_a_diagnostic() {
    let d = scratch("join");
    let f = write(&d, "grow.spir", "inl rec f x : i32 = join f (x, x)\ninl main () = f (dyn 0i32)\n");
    let out = check_fails_with(&f, "is specialised for a value of more than 262144 nodes");
    assert!(out.stderr.contains("grow.spir:1:21"), "{}", out.stderr);
}

#[test]
fn a_string_doubled_at_compile_time_is_a_diagnostic() {
    let d = scratch("string");
    let f = write(
        &d,
        "grow.spir",
        "inl main () =\n    inl rec loop s i = if i = 40i32 then s else loop (s + s) (i + 1i32)\n    inl s = loop \"ab\" 0i32\n    0i32\n",
    );
    check_fails_with(&f, "a string built at compile time would be 33554432 bytes long");
}

#[test]
fn integer_division_by_zero_at_compile_time_is_a_diagnostic() {
    let d = scratch("div");
    let f = write(&d, "div.spir", "inl main () = 10i32 / 0i32\n");
    check_fails_with(&f, "integer division by zero");
    let f = write(&d, "rem.spir", "inl main () = 10u8 % 0u8\n");
    check_fails_with(&f, "integer division by zero");
}

#[test]
fn a_match_of_twenty_thousand_arms_compiles_to_linear_c() {
    let d = scratch("match");
    let n = 20_000;
    let mut src = String::from("inl f (x : i32) : i32 =\n    match x with\n");
    for i in 0..n {
        src.push_str(&format!("    | {i} => {}i32\n", i * 2));
    }
    src.push_str("    | _ => 0i32\ninl main () = f (dyn 5i32)\n");
    let f = write(&d, "arms.spir", &src);
    let c = d.join("arms.c").to_string_lossy().into_owned();
    let out = spiral(&["build", &f, "-o", &c], &[], LIMIT);
    assert!(!out.timed_out && !panicked(&out.stderr), "{}", out.stderr);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let size = std::fs::metadata(&c).unwrap().len();
    // Nested `else` blocks no longer indent without bound: about 550 bytes an arm (it was
    // quadratic: 56 MB for 2,000 arms).
    assert!(size < 1000 * n as u64, "{size} bytes of C for {n} arms");
}

#[test]
fn a_chain_of_ten_thousand_packages_is_a_diagnostic_not_a_stack_overflow() {
    let d = scratch("chain");
    let n = 10_000;
    for i in 0..n {
        let p = d.join(format!("p{i}"));
        std::fs::create_dir_all(&p).unwrap();
        let deps = if i + 1 < n { format!("packages: p{}\n", i + 1) } else { String::new() };
        std::fs::write(p.join("package.spiproj"), format!("{deps}modules: m{i}\n")).unwrap();
        let body = if i == 0 { "inl main () = 0i32\n".to_string() } else { format!("inl x{i} = {i}i32\n") };
        std::fs::write(p.join(format!("m{i}.spir")), body).unwrap();
    }
    let root = d.join("p0").to_string_lossy().into_owned();
    let out = spiral(&["check", &root], &[], LIMIT);
    assert!(!panicked(&out.stderr), "{}", out.stderr);
    assert_eq!(out.code, Some(1), "{}", &out.stderr[..out.stderr.len().min(2000)]);
    assert!(out.stderr.contains("package dependencies nest deeper than 200 levels"), "{}", &out.stderr[..out.stderr.len().min(2000)]);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn deep_recursion_at_run_time_ends_with_a_message() {
    let d = scratch("recursion");
    let f = write(&d, "deep.spir", "let rec f (x : i32) : i32 = if x = 0 then 0 else 1 + f (x - 1)\ninl main () = f (dyn 100000000)\n");
    // -O0 keeps the recursion (at -O2 the C compiler turns it into a loop).
    let out = spiral(&["run", &f], &[("SPIRAL_CFLAGS", "-std=c11 -O0")], LIMIT);
    assert!(!out.timed_out);
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("most likely a stack overflow from deep recursion"), "{}", out.stderr);
}

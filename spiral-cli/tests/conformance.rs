//! The conformance suite: every `tests/conformance/*.spir` program is run with `spiral run` and
//! its stdout and exit code are compared with the expectations in its header (format in
//! `tests/conformance/README.md`).
//!
//! The generated C is compiled with `-Wall -Werror`, so a warning is a failure. With
//! `SPIRAL_SANITIZE=1` the `conformance_sanitized` test additionally compiles every program with
//! `-fsanitize=address,undefined` and leak checking and fails on any sanitizer report.
//!
//! The C backend's own programs in `spiral-cli/tests/c_programs/` (same header format) run the
//! same way.
//!
//! Programs listed in `tests/conformance_known_failures.txt` may fail (they are reported as
//! XFAIL); any other failure fails the test. Run with `--nocapture` to see the per-file table.

mod common;

use common::*;
use std::time::Duration;

#[derive(Debug, PartialEq)]
enum Verdict {
    Pass,
    Skip(String),
    Fail(String),
}

const LIMIT: Duration = Duration::from_secs(120);

fn check_one(path: &std::path::Path, sanitize: bool) -> Verdict {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Verdict::Fail(format!("unreadable: {e}")),
    };
    let h = header(&text);
    if let Some(reason) = values(&h, "skip").first() {
        return Verdict::Skip(reason.to_string());
    }
    let lines = values(&h, "expect-stdout");
    let expected_stdout = if lines.is_empty() { String::new() } else { format!("{}\n", lines.join("\n")) };
    let expected_exit: i32 = match values(&h, "expect-exit").first().map(|v| v.parse::<i32>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return Verdict::Fail("bad `expect-exit` header".into()),
    };
    let file = path.to_string_lossy().into_owned();
    let mut env: Vec<(&str, &str)> = Vec::new();
    if sanitize {
        env.push(("SPIRAL_CFLAGS", "-std=c11 -O1 -g -Wall -Werror -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"));
        env.push(("SPIRAL_LDFLAGS", "-fsanitize=address,undefined"));
        env.push(("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=86"));
        env.push(("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1:exitcode=87"));
    } else {
        env.push(("SPIRAL_CFLAGS", "-std=c11 -O2 -Wall -Werror"));
    }
    let out = spiral(&["run", &file], &env, LIMIT);
    if out.timed_out {
        return Verdict::Fail(format!("timed out after {}s", LIMIT.as_secs()));
    }
    if panicked(&out.stderr) {
        return Verdict::Fail(format!("the compiler panicked:\n{}", out.stderr));
    }
    let sanitizer_report = ["AddressSanitizer", "LeakSanitizer", ": runtime error:", "UndefinedBehaviorSanitizer"]
        .iter()
        .any(|m| out.stderr.contains(m));
    if sanitizer_report {
        return Verdict::Fail(format!("sanitizer report:\n{}", tail(&out.stderr, 3000)));
    }
    let code = out.code.unwrap_or(-1);
    let mut why = Vec::new();
    if out.stdout != expected_stdout {
        why.push(format!("stdout differs\n  expected: {:?}\n  actual:   {:?}", expected_stdout, tail(&out.stdout, 2000)));
    }
    if code != expected_exit {
        why.push(format!("exit code {code}, expected {expected_exit}"));
    }
    for want in values(&h, "expect-stderr") {
        if !out.stderr.contains(want) {
            why.push(format!("stderr does not contain {want:?}"));
        }
    }
    if why.is_empty() {
        Verdict::Pass
    } else {
        if !out.stderr.is_empty() {
            why.push(format!("stderr:\n{}", tail(&out.stderr, 1500)));
        }
        Verdict::Fail(why.join("\n  "))
    }
}

fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = s.len() - n;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// The corpora: the language conformance suite, top-down programs run with their inferred types
/// (`tests/conformance_top_down/`: type passing, prototypes, core's top-down modules), and the C
/// backend's own runtime-heavy programs
/// (`spiral-cli/tests/c_programs/`: strings, arrays, unions, closures and layouts built at run
/// time, so reference counting and wrapping arithmetic are exercised under the sanitizers).
const CORPORA: &[&str] = &["tests/conformance", "tests/conformance_top_down", "spiral-cli/tests/c_programs"];

fn run_suite(sanitize: bool) {
    for dir in CORPORA {
        run_corpus(dir, sanitize);
    }
}

fn run_corpus(dir: &str, sanitize: bool) {
    let files = corpus(dir);
    assert!(!files.is_empty(), "no programs found in {dir}");
    let known = known_failures("conformance_known_failures.txt");
    let all_known = known.iter().any(|k| k == "*");
    let verdicts = par_map(&files, |p| check_one(p, sanitize));
    let (mut pass, mut skip, mut xfail) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut xpass = Vec::new();
    let mode = if sanitize { "sanitized" } else { "plain" };
    println!("{dir} ({mode}): {} files", files.len());
    for (p, v) in files.iter().zip(&verdicts) {
        let id = id_of(p);
        let is_known = all_known || known.contains(&id);
        match v {
            Verdict::Pass => {
                pass += 1;
                println!("  PASS  {id}");
                if is_known && !all_known {
                    xpass.push(id);
                }
            }
            Verdict::Skip(r) => {
                skip += 1;
                println!("  SKIP  {id}: {r}");
            }
            Verdict::Fail(why) if is_known => {
                xfail += 1;
                println!("  XFAIL {id}: {}", why.lines().next().unwrap_or(""));
            }
            Verdict::Fail(why) => {
                println!("  FAIL  {id}: {why}");
                failures.push(id);
            }
        }
    }
    let run = files.len() - skip;
    println!(
        "{dir} ({mode}): {pass}/{run} passed ({skip} skipped, {xfail} known failures, {} unexpected failures)",
        failures.len()
    );
    if !xpass.is_empty() {
        println!("now passing, remove from conformance_known_failures.txt: {}", xpass.join(", "));
    }
    assert!(failures.is_empty(), "{dir} failures ({mode}): {}", failures.join(", "));
}

#[test]
fn conformance() {
    run_suite(false);
}

#[test]
fn conformance_sanitized() {
    if std::env::var("SPIRAL_SANITIZE").map(|v| v == "1").unwrap_or(false) {
        run_suite(true);
    } else {
        println!("conformance_sanitized: set SPIRAL_SANITIZE=1 to run");
    }
}

#[test]
fn header_parsing_follows_the_format() {
    let h = header("// source: seed001 line 1 (x)\n// expect-stdout: (3, 7)\n// expect-stdout:\n// free text here\n// expect-exit: 4\ninl main () = 0\n// expect-exit: 9\n");
    assert_eq!(values(&h, "expect-stdout"), vec!["(3, 7)", ""]);
    assert_eq!(values(&h, "expect-exit"), vec!["4"]);
    assert_eq!(values(&h, "source"), vec!["seed001 line 1 (x)"]);
}

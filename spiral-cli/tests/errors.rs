//! The error corpus: every `tests/errors/*.spir` program must be rejected by `spiral run` with a
//! diagnostic on stderr that contains each `expect-error` substring (case-insensitive) and the
//! `<file>:<line>:<col>` of `expect-at`, exit with `expect-exit` (default 1), and never panic or hang.
//!
//! Files listed in `tests/errors_known_failures.txt` may fail (XFAIL).

mod common;

use common::*;
use std::time::Duration;

fn check_one(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("unreadable: {e}"))?;
    let h = header(&text);
    let expected_exit: i32 = values(&h, "expect-exit").first().map(|v| v.parse().unwrap_or(-999)).unwrap_or(1);
    let file = path.to_string_lossy().into_owned();
    let out = spiral(&["run", &file], &[], Duration::from_secs(60));
    if out.timed_out {
        return Err("timed out (a hang)".into());
    }
    if panicked(&out.stderr) || out.code == Some(101) {
        return Err(format!("the compiler panicked:\n{}", out.stderr));
    }
    let mut why = Vec::new();
    if out.code != Some(expected_exit) {
        why.push(format!("exit code {:?}, expected {expected_exit}", out.code));
    }
    let lower = out.stderr.to_lowercase();
    for e in values(&h, "expect-error") {
        if !lower.contains(&e.to_lowercase()) {
            why.push(format!("diagnostic lacks {e:?}"));
        }
    }
    if let Some(at) = values(&h, "expect-at").first() {
        let name = path.file_name().unwrap().to_string_lossy();
        let needle = format!("{name}:{at}");
        if !out.stderr.contains(&needle) {
            why.push(format!("diagnostic lacks location {needle:?}"));
        }
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n  stderr:\n{}", why.join("; "), out.stderr))
    }
}

#[test]
fn error_corpus() {
    let files = corpus("tests/errors");
    let known = known_failures("errors_known_failures.txt");
    let all_known = known.iter().any(|k| k == "*");
    let results = par_map(&files, |p| check_one(p));
    let mut pass = 0;
    let mut failures = Vec::new();
    let mut xpass = Vec::new();
    println!("errors: {} files", files.len());
    for (p, r) in files.iter().zip(&results) {
        let id = id_of(p);
        match r {
            Ok(()) => {
                pass += 1;
                println!("  PASS  {id}");
                if known.contains(&id) {
                    xpass.push(id);
                }
            }
            Err(why) if all_known || known.contains(&id) => println!("  XFAIL {id}: {}", why.lines().next().unwrap_or("")),
            Err(why) => {
                println!("  FAIL  {id}: {why}");
                failures.push(id);
            }
        }
    }
    println!("errors: {pass}/{} passed", files.len());
    if !xpass.is_empty() {
        println!("now passing, remove from errors_known_failures.txt: {}", xpass.join(", "));
    }
    assert!(failures.is_empty(), "error-corpus failures: {}", failures.join(", "));
}

#[test]
fn missing_file_is_a_diagnostic_not_a_panic() {
    let out = spiral(&["run", "/nonexistent/dir/prog.spir"], &[], Duration::from_secs(30));
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("prog.spir"), "{}", out.stderr);
    assert!(!panicked(&out.stderr));
}

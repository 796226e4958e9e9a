//! The same program compiled twice gives byte-identical C: every conformance program that builds
//! is compiled by two separate `spiral build` processes and the outputs are compared.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn same_program_gives_identical_c() {
    let mut files = corpus("tests/conformance");
    files.extend(corpus("spiral-cli/tests/c_programs"));
    let results = par_map(&files, |p| {
        let f = p.to_string_lossy().into_owned();
        let a = spiral(&["build", &f, "-o", "-"], &[], Duration::from_secs(120));
        let b = spiral(&["build", &f, "-o", "-"], &[], Duration::from_secs(120));
        (a, b)
    });
    let mut built = 0;
    let mut differing = Vec::new();
    for (p, (a, b)) in files.iter().zip(&results) {
        assert!(!panicked(&a.stderr), "{}: compiler panicked:\n{}", p.display(), a.stderr);
        assert_eq!(a.code, b.code, "{}: exit codes differ between two builds", p.display());
        if a.code == Some(0) {
            built += 1;
            if a.stdout != b.stdout {
                differing.push(id_of(p));
            }
        }
    }
    println!("determinism: {built} of {} programs built, {} differ", files.len(), differing.len());
    assert!(built * 2 >= files.len(), "only {built} of {} programs built: too few to check determinism", files.len());
    assert!(differing.is_empty(), "non-deterministic C for: {}", differing.join(", "));
}

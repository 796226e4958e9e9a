//! Compile-fail tests of `spiral!`: each case under `tests/ui/` must fail to compile with the
//! diagnostic recorded in its `.stderr` file (regenerate with `TRYBUILD=overwrite`, then review).

#[test]
fn spiral_macro_compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

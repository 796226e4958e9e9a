//! `#[derive(Inverse)]` rejects what it cannot lay out, with an error at the right place.
//! Regenerate the expected messages with `TRYBUILD=overwrite`.

#[test]
fn derive_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

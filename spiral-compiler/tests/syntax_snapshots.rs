//! Snapshot tests of the parser: every file in `tests/inputs/parse/` must parse without
//! diagnostics, and its tree dump must match the stored snapshot in `tests/snapshots/`.

use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::syntax::{dump_module, parse_module, Segment};

fn dump(name: &str) -> String {
    let path = format!("{}/tests/inputs/parse/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("test input exists");
    let mut sm = SourceMap::new();
    let id = sm.add(name, text.clone());
    let seg = if name.ends_with(".spir") { Segment::BottomUp } else { Segment::TopDown };
    let parsed = parse_module(id, &text, seg);
    assert!(parsed.diagnostics.is_empty(), "{}", render(&sm, &parsed.diagnostics));
    let out = dump_module(&parsed.module);
    // Determinism: a second parse gives the same tree.
    let again = parse_module(id, &text, seg);
    assert_eq!(again.module, parsed.module);
    out
}

#[test]
fn top_level_statements() {
    insta::assert_snapshot!("top_level", dump("top_level.spi"));
}

#[test]
fn expressions() {
    insta::assert_snapshot!("expressions", dump("expressions.spi"));
}

#[test]
fn patterns() {
    insta::assert_snapshot!("patterns", dump("patterns.spi"));
}

#[test]
fn types() {
    insta::assert_snapshot!("types", dump("types.spi"));
}

#[test]
fn bottom_up_segment() {
    insta::assert_snapshot!("bottom_up", dump("bottom_up.spir"));
}

#[test]
fn macros() {
    insta::assert_snapshot!("macros", dump("macros.spi"));
}

/// The inputs together exercise every syntactic form: each marker below is a node head the
/// dump prints for one form.
#[test]
fn inputs_cover_every_form() {
    let all: String = ["top_level.spi", "expressions.spi", "patterns.spi", "types.spi", "bottom_up.spir", "macros.spi"]
        .iter()
        .map(|n| dump(n))
        .collect();
    let markers = [
        // top level
        "(open ", "(type ", "(nominal ", "(nominal-rec ", "(union ", "(union-heap ", "(and ", "(prototype", "(instance ",
        "(inl ", "(inl-rec ", "(inl-real ", "::", "constrained", ":(* -> *)",
        // terms
        "(fun ", "(match ", "(if ", "(join[", "(join:Cuda", "(real ", "(exists ", "(types ", "(record ", "(base ", " #=",
        "-$k", "-y", "($k =", "(rec-block", "(seq ", "(<- ", "(app array (array", "(app Cons", "(app print_static",
        "(app global", "(: ", "(app |>", "(app <|", "(app >>", "(app <<", "(app ~-", "(typecase ", "(op:Add",
        "(op:TypeToVar", "(op:LitToTypeLit", "`$x", "(type i32)", "(forall ", "1i8", "2i16", "3i32", "4i64", "5u8",
        "6u16", "7u32", "8u64", "1.5f32", "2.5f64", "'c'", ".sym", "\"raw\\\\string\"",
        // patterns
        "(~ ", "(& ", "(| ", "(when ", "(unbox:Some", "(nominal nom", "(array a b)", "(exists t x)", "(record (a = a)",
        // types
        "(-> ", "(* ", "(record-type", "(tapp ", "(term ", "(type-macro", "@3i32", "@\"name\"", "~a", "_",
        // macros
        "(macro ", "(! ", "(` ", "(@ ", "\\\\v",
    ];
    let missing: Vec<&str> = markers.iter().copied().filter(|m| !all.contains(m)).collect();
    assert!(missing.is_empty(), "forms missing from the snapshot inputs: {missing:?}");
}

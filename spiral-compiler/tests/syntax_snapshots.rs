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
fn real_blocks_in_top_down_files() {
    insta::assert_snapshot!("real_blocks", dump("real_blocks.spi"));
}

#[test]
fn macros() {
    insta::assert_snapshot!("macros", dump("macros.spi"));
}

const INPUTS: &[&str] =
    &["top_level.spi", "expressions.spi", "patterns.spi", "types.spi", "bottom_up.spir", "macros.spi", "real_blocks.spi"];

/// Every top-level statement's span starts at its keyword and ends inside the file, and
/// statements do not overlap.
#[test]
fn top_level_spans_point_at_their_statements() {
    for name in INPUTS {
        let path = format!("{}/tests/inputs/parse/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("test input exists");
        let seg = if name.ends_with(".spir") { Segment::BottomUp } else { Segment::TopDown };
        let parsed = parse_module(spiral_compiler::diagnostics::FileId(0), &text, seg);
        let mut last_end = 0;
        for item in &parsed.module.items {
            let r = item.span.range();
            assert!(r.start >= last_end && r.end <= text.len() && r.start < r.end, "{name}: bad span {r:?}");
            let first_word = text[r.clone()].split_whitespace().next().unwrap_or("");
            assert!(
                ["inl", "let", "type", "nominal", "union", "and", "prototype", "instance", "open"].contains(&first_word),
                "{name}: span starts at {first_word:?}"
            );
            last_end = r.end;
        }
        assert!(!parsed.module.items.is_empty());
    }
}

/// The inputs together exercise every syntactic form: each marker below is a node head the
/// dump prints for one form.
#[test]
fn inputs_cover_every_form() {
    let all: String = INPUTS
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

/// Variables spliced into a macro are located at their name, not at the `!`/`` ` ``/`@` sigil.
#[test]
fn macro_variables_are_located_at_their_names() {
    use spiral_compiler::syntax::ast::{ExprKind, MacroPart, TopKind};
    let src = "inl f x = $\"a(!x, `x, @x)\"\n";
    let parsed = parse_module(spiral_compiler::diagnostics::FileId(0), src, Segment::TopDown);
    assert!(parsed.diagnostics.is_empty());
    let TopKind::Inl { body, .. } = &parsed.module.items[0].kind else { panic!("not an inl") };
    let ExprKind::Fun(clauses) = &body.kind else { panic!("not a fun") };
    let ExprKind::Macro(parts) = &clauses[0].1.kind else { panic!("not a macro") };
    let spans: Vec<&str> = parts
        .iter()
        .filter_map(|p| match p {
            MacroPart::Term(e) => Some(&src[e.span.range()]),
            MacroPart::Type(t) | MacroPart::TypeLit(t) => Some(&src[t.span.range()]),
            MacroPart::Text(..) => None,
        })
        .collect();
    assert_eq!(spans, ["x", "x", "x"]);
    let starts: Vec<usize> = parts
        .iter()
        .filter_map(|p| match p {
            MacroPart::Term(e) => Some(e.span.start as usize),
            MacroPart::Type(t) | MacroPart::TypeLit(t) => Some(t.span.start as usize),
            MacroPart::Text(..) => None,
        })
        .collect();
    assert_eq!(starts, [15, 19, 23]);
}

/// `fun`, `forall` and `join` terms are located at their keywords.
#[test]
fn keyword_terms_start_at_their_keywords() {
    use spiral_compiler::syntax::ast::{ExprKind, TopKind};
    let src = "inl f () = (fun x => x), (join 1), real (forall t. => 1)\n";
    let parsed = parse_module(spiral_compiler::diagnostics::FileId(0), src, Segment::TopDown);
    assert!(parsed.diagnostics.is_empty());
    let TopKind::Inl { body, .. } = &parsed.module.items[0].kind else { panic!("not an inl") };
    let ExprKind::Fun(clauses) = &body.kind else { panic!("not a fun") };
    let ExprKind::Pair(a, rest) = &clauses[0].1.kind else { panic!("not a pair") };
    let ExprKind::Pair(b, c) = &rest.kind else { panic!("not a pair") };
    let ExprKind::Real(c) = &c.kind else { panic!("not real") };
    assert_eq!(&src[a.span.range()], "fun x => x");
    assert_eq!(&src[b.span.range()], "join 1");
    assert_eq!(&src[c.span.range()], "forall t. => 1");
}

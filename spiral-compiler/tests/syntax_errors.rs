//! Malformed inputs: each must give a diagnostic at the right line and column (one-based, as
//! `SourceMap::line_col` reports them) with a recognisable message, and never panic or hang.

use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::syntax::{parse_module, Segment};

struct Case {
    name: &'static str,
    src: &'static str,
    bottom_up: bool,
    /// Every expected diagnostic: (line, column, a fragment of the message).
    expect: &'static [(usize, usize, &'static str)],
}

const fn td(name: &'static str, src: &'static str, expect: &'static [(usize, usize, &'static str)]) -> Case {
    Case { name, src, bottom_up: false, expect }
}
const fn bu(name: &'static str, src: &'static str, expect: &'static [(usize, usize, &'static str)]) -> Case {
    Case { name, src, bottom_up: true, expect }
}

const CASES: &[Case] = &[
    td("stray closing paren", "inl f x = )\n", &[(1, 11, "unexpected `)`")]),
    td("missing body", "inl f x =\n", &[(1, 9, "expected an expression after `=`")]),
    td("tab indentation", "inl f x =\n\tx\n", &[(2, 1, "tabs are not allowed")]),
    td("u8 out of range", "inl f x = 300u8\n", &[(1, 11, "does not fit in u8")]),
    td("bad suffix", "inl f x = 1i9\n", &[(1, 12, "invalid number suffix")]),
    td("unterminated string", "inl f x = \"abc\n", &[(1, 15, "unterminated string")]),
    td("char literal too long", "inl f x = 'ab'\n", &[(1, 13, "expected `'`")]),
    td("colon glued to a variable", "inl f x = x:i32\n", &[(1, 12, "`:` is not allowed directly after a variable")]),
    td("bad macro interpolation", "inl f x = $\"a ! b\"\n", &[(1, 16, "expected a variable, `(` or `!`")]),
    td(
        "indented expression after a statement",
        "open real_core\ninl main _ =\n    1 |> ignore\n        2\n",
        &[(4, 9, "unexpected literal")],
    ),
    td("unclosed paren", "inl f x = (x\n", &[(1, 12, "unexpected end of the statement")]),
    td("dangling operator", "inl f x = x +\n", &[(1, 13, "unexpected end of the statement")]),
    td("operator without precedence", "inl f x = x @@ y\n", &[(1, 13, "no known precedence")]),
    td("operator without precedence in parens", "inl f x = (x ? y)\n", &[(1, 14, "no known precedence")]),
    td("unknown inbuilt op", "inl f x = !!!!Foo(x)\n", &[(1, 15, "`Foo` is not an inbuilt operation")]),
    bu("list literal in bottom-up", "inl f x = [1; 2]\n", &[(1, 11, "list literals are not allowed")]),
    td("type application in top-down", "inl f x = `i32\n", &[(1, 11, "only allowed in the bottom-up segment")]),
    td("typecase in top-down", "inl f x = typecase x with _ => 1\n", &[(1, 11, "unexpected keyword `typecase`")]),
    td("lowercase union case", "union t = a | B\n", &[(1, 11, "expected uppercase variable")]),
    td("duplicate union case", "union t = A | A\n", &[(1, 15, "duplicate union case")]),
    td("duplicate record pattern field", "inl f {a a} = 1\n", &[(1, 10, "duplicate record symbol")]),
    td("duplicate pattern variable", "inl f (a, a) = 1\n", &[(1, 11, "duplicate variable")]),
    td(
        "disjoint or pattern",
        "inl f x = match x with | Some a | None => 1\n",
        &[(1, 31, "must bind the same variables")],
    ),
    td("top-level value", "inl x = 1\n", &[(1, 1, "must define a function")]),
    td("recursive non-function", "inl main () =\n    inl rec x = 1\n    x\n", &[(2, 5, "must be a function")]),
    td("duplicate record field", "inl f x = {a = 1; a = 2}\n", &[(1, 19, "duplicate record symbol")]),
    td("block ending in a statement", "inl f x =\n    inl y = 2\n", &[(2, 5, "must end with an expression")]),
    td("else at column 0", "inl f x = if x then 1 else 2\nelse 3\n", &[(2, 1, "expected top-level statement")]),
    td(
        "several errors in one file",
        "inl f x = )\ninl g y = y\ninl h z = (\n",
        &[(1, 11, "unexpected `)`"), (3, 11, "unexpected end of the statement")],
    ),
    td("dangling arrow in type", "type t = i32 ->\n", &[(1, 14, "unexpected end of the statement")]),
    td("duplicate forall variable", "inl f forall a a. x = x\n", &[(1, 16, "duplicate forall variable")]),
    td("prototype without self variable", "prototype f : i32\n", &[(1, 13, "expected lowercase variable")]),
    td("uppercase nominal name", "nominal N = i32\n", &[(1, 9, "expected lowercase variable")]),
    td("unexpected character", "inl f x = x \u{a7} y\n", &[(1, 13, "unexpected character")]),
    td("stray closing brace", "inl f x = x }\n", &[(1, 13, "unexpected `}`")]),
    td("open without module", "open\n", &[(1, 1, "unexpected end of the statement")]),
    td("indented first line", "  inl f x = x\n", &[(1, 3, "must start at column 0")]),
    td("match without clauses", "inl f x = match x with\n", &[(1, 19, "unexpected end of the statement")]),
    td("record type missing colon", "type t = {a i32}\n", &[(1, 13, "expected `:`")]),
    td("exists without types in bottom-up", "inl f x = exists x\n", &[]),
    bu("exists without types in bottom-up", "inl f x = exists x\n", &[(1, 11, "have to be given up front")]),
    td("good file after bad one recovers", "inl f x = )\ninl g y = y\n", &[(1, 11, "unexpected `)`")]),
];

fn run(c: &Case) -> (SourceMap, Vec<spiral_compiler::diagnostics::Diagnostic>) {
    let mut sm = SourceMap::new();
    let id = sm.add(if c.bottom_up { "case.spir" } else { "case.spi" }, c.src);
    let seg = if c.bottom_up { Segment::BottomUp } else { Segment::TopDown };
    let parsed = parse_module(id, c.src, seg);
    (sm, parsed.diagnostics)
}

#[test]
fn malformed_inputs_report_line_and_column() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for c in CASES {
        let (sm, diags) = run(c);
        let got: Vec<(usize, usize, String)> = diags
            .iter()
            .map(|d| {
                let (l, col) = d.line_col(&sm);
                (l, col, d.message.clone())
            })
            .collect();
        let ok = got.len() == c.expect.len()
            && got.iter().zip(c.expect).all(|((l, col, m), (el, ec, em))| l == el && col == ec && m.contains(em));
        if ok {
            checked += c.expect.len();
        } else {
            failures.push(format!("{}: expected {:?}\n  got {:?}\n{}", c.name, c.expect, got, render(&sm, &diags)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 25, "only {checked} diagnostics checked");
}

#[test]
fn every_diagnostic_renders_with_its_source_line() {
    for c in CASES.iter().filter(|c| !c.expect.is_empty()) {
        let (sm, diags) = run(c);
        let text = render(&sm, &diags);
        let (l, col, _) = c.expect[0];
        assert!(text.contains(&format!(":{l}:{col}]")), "{}: {text}", c.name);
    }
}

#[test]
fn deep_nesting_is_a_diagnostic_not_a_crash() {
    let depth = 5000;
    let src = format!("inl f x = {}x{}\n", "(".repeat(depth), ")".repeat(depth));
    let mut sm = SourceMap::new();
    let id = sm.add("deep.spi", src.clone());
    let parsed = parse_module(id, &src, Segment::TopDown);
    assert_eq!(parsed.diagnostics.len(), 1, "{}", render(&sm, &parsed.diagnostics));
    let d = &parsed.diagnostics[0];
    assert!(d.message.contains("nesting is too deep"), "{}", d.message);
    let (line, col) = d.line_col(&sm);
    assert_eq!(line, 1);
    // The body (starting at column 11) is nesting level 1; paren number k costs two levels (the
    // bracketed term at 2k and its contents at 2k + 1), so level MAX_DEPTH + 1 is the contents
    // of paren number MAX_DEPTH / 2, which start at paren MAX_DEPTH / 2 + 1, in column
    // 10 + MAX_DEPTH / 2 + 1.
    assert_eq!(col, 11 + spiral_compiler::syntax::parser::MAX_DEPTH / 2);
}

#[test]
fn garbage_never_panics() {
    // A cheap deterministic fuzz: every prefix of a tricky program, and byte soup.
    let prog = "inl f (a, {b c=~d} : i32) = match a with | Some x when x > 0 => $\"!x `i32\" | _ => [1; ;[2]] |> g <| {r with a#=f}\n";
    for end in 0..=prog.len() {
        if prog.is_char_boundary(end) {
            let _ = parse_module(spiral_compiler::diagnostics::FileId(0), &prog[..end], Segment::TopDown);
            let _ = parse_module(spiral_compiler::diagnostics::FileId(0), &prog[..end], Segment::BottomUp);
        }
    }
    let alphabet: Vec<char> = "()[]{}.,;:|=>-+*`'\"$!@~&_ \n aAzZ09inlfunmatchwith\t§".chars().collect();
    let mut seed = 12345u64;
    for _ in 0..300 {
        let mut s = String::new();
        for _ in 0..60 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            s.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
        }
        let _ = parse_module(spiral_compiler::diagnostics::FileId(0), &s, Segment::TopDown);
    }
}

#[test]
fn every_kind_of_deep_nesting_is_a_diagnostic() {
    let n = 20_000;
    let cases: Vec<(String, Segment)> = vec![
        (format!("inl f x = {}x{}\n", "(".repeat(n), ")".repeat(n)), Segment::TopDown),
        (format!("inl f x = {}{}\n", "[".repeat(n), "]".repeat(n)), Segment::TopDown),
        (format!("inl f x = {}{}\n", ";[".repeat(n), "]".repeat(n)), Segment::TopDown),
        (format!("inl f x = {}x{}\n", "{a = ".repeat(n), "}".repeat(n)), Segment::TopDown),
        (format!("inl f x = {}x\n", "if x then ".repeat(n)), Segment::TopDown),
        (format!("inl f x = {}x\n", "fun x => ".repeat(n)), Segment::TopDown),
        (format!("inl f x = {}x{}\n", "!!!!Add(".repeat(n), ")".repeat(n)), Segment::BottomUp),
        (format!("type t = {}i32{}\n", "(".repeat(n), ")".repeat(n)), Segment::TopDown),
        (format!("type t = {}i32\n", "i32 -> ".repeat(n)), Segment::TopDown),
        (format!("type t = {}i32\n", "forall a. ".repeat(n)), Segment::TopDown),
        (format!("type t (a : {}*{}) = a\n", "(".repeat(n), ")".repeat(n)), Segment::TopDown),
        (format!("inl f {}x{} = x\n", "(".repeat(n), ")".repeat(n)), Segment::TopDown),
        (format!("inl f {}x{} = x\n", "{a = ".repeat(n), "}".repeat(n)), Segment::TopDown),
        (format!("inl f x = match x with | {}x{} => x\n", "Some (".repeat(n), ")".repeat(n)), Segment::TopDown),
        (format!("inl f x = x{}\n", " + x".repeat(n)), Segment::TopDown),
        (format!("inl f x = x{}\n", " <| x".repeat(n)), Segment::TopDown),
        (format!("inl f x =\n{}    x\n", "    inl x = 1\n".repeat(n)), Segment::TopDown),
        (format!("inl f x =\n{}    x\n", "    g x\n".repeat(n)), Segment::TopDown),
        (format!("inl f x = x{}\n", " + x".repeat(200_000)), Segment::TopDown),
    ];
    for (src, seg) in cases {
        let parsed = parse_module(spiral_compiler::diagnostics::FileId(0), &src, seg);
        assert_eq!(parsed.diagnostics.len(), 1, "{}", &src[..40]);
        let m = &parsed.diagnostics[0].message;
        assert!(m.contains("too deep") || m.contains("too many"), "{}: {m}", &src[..40]);
        assert!(parsed.module.items.is_empty());
    }
}

#[test]
fn long_but_shallow_programs_are_fine() {
    // 1000 statements in one body and a 1000-term operator chain stay under the tree limit.
    let body: String = (0..1000).map(|i| format!("    inl x{i} = {i}\n")).collect();
    let src = format!("inl f () =\n{body}    x0{}\n", " + x0".repeat(1000));
    let parsed = parse_module(spiral_compiler::diagnostics::FileId(0), &src, Segment::TopDown);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert_eq!(parsed.module.items.len(), 1);
}

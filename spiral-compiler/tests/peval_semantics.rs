//! Semantics of the partial evaluator, checked on the printed residual IR of small programs
//! (lone bottom-up files with `core` opened) and on the rendered diagnostics of wrong ones.
use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::peval::{ir, Limits};
use spiral_compiler::prepass::compile_graph;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;

fn program(src: &str, limits: Limits) -> Result<ir::Program, String> {
    let mut sm = SourceMap::new();
    let graph = load_inline("t.spir", src, Segment::BottomUp, &mut sm).map_err(|d| render(&sm, &d))?;
    let p = compile_graph(&graph, limits).map_err(|d| render(&sm, &d))?;
    let problems = p.validate();
    assert!(problems.is_empty(), "inconsistent residual program: {problems:?}\n{p}");
    Ok(p)
}

fn ir(src: &str) -> String {
    match program(src, Limits::default()) {
        Ok(p) => p.to_string(),
        Err(e) => panic!("unexpected error:\n{e}"),
    }
}

fn err(src: &str) -> String {
    match program(src, Limits::default()) {
        Ok(p) => panic!("expected an error, got:\n{p}"),
        Err(e) => e,
    }
}

#[test]
fn integer_literals_fold_with_wrapping() {
    assert_eq!(ir("inl main () = 2147483647 + 1"), "main : (i32) =\n    return (-2147483648i32)\n");
    assert_eq!(ir("inl main () = conv `i32 (255u8 + 1u8)"), "main : (i32) =\n    return (0i32)\n");
    assert_eq!(ir("inl main () = conv `i32 (-7 / 2 + -7 % 2)"), "main : (i32) =\n    return (-4i32)\n");
    assert_eq!(ir("inl main () = conv `i32 (1i64 <<< 40i64 >>> 38i64)"), "main : (i32) =\n    return (4i32)\n");
}

#[test]
fn float_literals_fold() {
    let p = program("inl main () = 0.1 + 0.2, 1.5f32 * 2f32, sqrt 16.0", Limits::default()).unwrap();
    let s = p.to_string();
    assert!(s.contains("0.30000000000000004f64"), "{s}");
    assert!(s.contains("3.0f32"), "{s}");
    assert!(s.contains("4.0f64"), "{s}");
}

#[test]
fn runtime_operands_emit_ops_once_per_scope() {
    let s = ir("inl main () =\n    inl x = dyn 2\n    (x + 3) * (x + 3)");
    assert_eq!(
        s,
        "main : (i32) =\n    let v0 : i32 = (2i32)\n    let v1 : i32 = add(v0, 3i32)\n    let v2 : i32 = mul(v1, v1)\n    return (v2)\n"
    );
}

#[test]
fn static_if_evaluates_one_branch_only() {
    // the other branch would be a type error
    assert_eq!(ir("inl main () = if 1 < 2 then 3 else \"x\""), "main : (i32) =\n    return (3i32)\n");
}

#[test]
fn dynamic_if_merges_branches_and_knows_its_condition() {
    let s = ir("inl main () =\n    inl c = dyn true\n    if c then (if c then 1 else \"no\") else 2");
    assert!(s.contains("let v1 : i32 = if v0 then\n        return (1i32)\n    else\n        return (2i32)"), "{s}");
}

#[test]
fn join_points_are_memoised_on_their_environment() {
    let s = ir("inl main () =\n    let f (x : i32) = x * 2\n    f (dyn 1) + f (dyn 2) + f (dyn 3)");
    assert_eq!(s.matches("method").filter(|_| true).count(), 4, "{s}"); // one definition, three calls
    assert!(s.starts_with("method0 f(v0 : i32) : (i32) =\n    let v1 : i32 = mul(v0, 2i32)\n"), "{s}");
}

#[test]
fn literal_arguments_specialise_join_points() {
    let s = ir("inl main () =\n    inl f x = join x + dyn 1\n    f 1 + f 2 + f 1");
    assert!(s.contains("method0") && s.contains("method1") && !s.contains("method2"), "{s}");
}

#[test]
fn recursive_join_points_need_and_use_annotations() {
    let s = ir("inl main () =\n    let rec fact (n : i32) : i32 = if n <= 1 then 1 else n * fact (n - 1)\n    fact (dyn 5)");
    assert!(s.contains("call method0(v2)"), "{s}");
    let e = err("inl main () =\n    inl rec f ~x = join if x > 0 then f (x - 1) else 0\n    f 3");
    assert!(e.contains("needs a return type annotation"), "{e}");
}

#[test]
fn inline_recursion_on_static_data_unrolls() {
    let s = ir("inl rec p = function\n    | .Some, x => 1 + p x\n    | .None => 0\ninl main () = p (.Some, (.Some, .None))");
    assert_eq!(s, "main : (i32) =\n    return (2i32)\n");
}

#[test]
fn tuples_and_records_are_flattened() {
    let s = ir("inl main () =\n    inl r = dyn {a = 1; b = 2.5, true}\n    inl f {a b} = join (b, a)\n    f r");
    assert!(s.contains("method0 f(v0 : i32, v1 : f64, v2 : bool) : (f64, bool, i32) =\n    return (v1, v2, v0)"), "{s}");
}

#[test]
fn records_support_with_without_and_injection() {
    let s = ir("inl main () =\n    inl k = .b\n    inl m = {a = 1; $k = 2}\n    inl m = {m with a = 10; c = 3 without b}\n    inl {$k = b} = {b = 5}\n    m.a + m.c + b");
    assert_eq!(s, "main : (i32) =\n    return (18i32)\n");
}

#[test]
fn patterns_on_runtime_literals_become_tests() {
    let s = ir("inl main () =\n    match dyn 2 with\n    | 1 | 2 => 10\n    | _ => 20");
    assert!(s.contains("eq(v0, 1i32)") && s.contains("eq(v0, 2i32)"), "{s}");
}

#[test]
fn unions_box_and_unbox() {
    let src = "union t = A : i32 | B\ninl main () =\n    inl x = dyn (A 5)\n    match x with\n    | A n => n\n    | B => 0";
    let s = ir(src);
    assert!(s.starts_with("union#0 t = A : i32 | B : ()\n"), "{s}");
    assert!(s.contains("box union#0.0A(5i32)"), "{s}");
    assert!(s.contains("match v0 with\n    | case 0 (v1 : i32) =>\n        return (v1)\n    | case 1 () =>\n        return (0i32)"), "{s}");
}

#[test]
fn recursive_unions_go_through_join_points() {
    let src = "union rec l = Nil | Cons : i32 * l\ninl main () =\n    inl rec sum x : i32 = join match x with | Cons (a, b) => a + sum b | Nil => 0\n    sum (dyn (Cons (1, Cons (2, Nil))))";
    let s = ir(src);
    assert!(s.contains("union#0 heap l"), "{s}");
    assert!(s.contains("method0 join(v0 : l) : (i32)"), "{s}");
}

#[test]
fn union_type_arguments_are_inferred_from_the_payload() {
    let s = ir("union option a = Some : a | None\ninl main () =\n    match dyn (Some 1.5) with\n    | Some x => x\n    | None => 0.0");
    assert!(s.contains("option f64"), "{s}");
}

#[test]
fn annotated_functions_become_closures() {
    let s = ir("inl main () =\n    inl y = dyn 1\n    inl f = (fun x => x + y) : i32 -> i32\n    f 2");
    assert!(s.contains("closure0 [v0 : i32] (v1 : i32) : (i32) as i32 -> i32"), "{s}");
    assert!(s.contains("closure0(v0)") && s.contains("(2i32)"), "{s}");
}

#[test]
fn layouts_allocate_read_and_write() {
    let s = ir("inl main () =\n    inl m = mut {a = dyn 1; b = 2}\n    m.b <- 3\n    inl h = heap (dyn 1, 2)\n    inl x, y = *h\n    (*m).a + x + y");
    assert!(s.contains("layout_new<mut ({a : i32; b : i32})>(v0, 2i32)"), "{s}");
    assert!(s.contains(".[1] <- 3i32"), "{s}");
    assert!(s.contains("layout_new<heap (i32 * i32)>"), "{s}");
}

#[test]
fn arrays_and_strings() {
    let s = ir("inl main () =\n    inl a = array_create `i32 10\n    set a 0 5\n    inl s = dyn \"abc\"\n    index a 0 + array_length a + string_length s + string_length \"xy\"");
    assert!(s.contains("array_new<array (i32)>(10i32)"), "{s}");
    assert!(s.contains("arraylength(v0)") && s.contains("stringlength(v1)"), "{s}");
    assert!(s.contains("2i32)"), "{s}");
}

#[test]
fn typecase_and_type_application() {
    let src = "inl rec size forall t. = typecase t with | i32 => 4 | f64 => 8 | ~a * ~b => size `a + size `b\ninl main () = size `(i32 * f64 * i32)";
    assert_eq!(ir(src), "main : (i32) =\n    return (16i32)\n");
}

#[test]
fn nominals_wrap_and_unwrap() {
    let s = ir("nominal meters = f64\ninl main () =\n    inl m = meters 2.0\n    match m with\n    | meters x => x * 3.0");
    assert_eq!(s, "main : (f64) =\n    return (6.0f64)\n");
}

#[test]
fn macros_globals_and_failwith() {
    let s = ir("inl main () =\n    !!!!Global(\"#include <math.h>\")\n    !!!!Global(\"#include <math.h>\")\n    inl x = dyn 2.0\n    inl y = $\"sqrt(!x)\" : f64\n    if y > 10.0 then failwith `i32 \"big\" else 1");
    assert!(s.starts_with("global \"#include <math.h>\"\nmethod") || s.starts_with("global \"#include <math.h>\"\nmain"), "{s}");
    assert_eq!(s.matches("global").count(), 1, "{s}");
    assert!(s.contains("let v1 : f64 = $\"sqrt(!v0)\""), "{s}");
    assert!(s.contains("failwith \"big\""), "{s}");
}

#[test]
fn while_loops() {
    let s = ir("inl main () =\n    inl i = mut {v = dyn 0}\n    while (fun () => (*i).v < 10) (fun () => i.v <- (*i).v + 1)\n    (*i).v");
    assert!(s.contains("while\n"), "{s}");
}

#[test]
fn join_backend_returns_kernel_id_and_free_variables() {
    let p = program("inl main () =\n    inl a = dyn 1\n    inl b = dyn 2.0\n    inl id, args = join_backend Cuda (a, b)\n    inl x, y, () = args\n    id", Limits::default()).unwrap();
    assert_eq!(p.kernels.len(), 1);
    assert_eq!(&*p.kernels[0].backend, "Cuda");
    assert_eq!(p.kernels[0].params.len(), 2);
    assert_eq!(p.main.result, vec![ir::Atom::Lit(ir::Lit::I32(0))]);
}

#[test]
fn print_static_goes_to_the_compile_log() {
    let p = program("inl main () =\n    print_static (1, .a)\n    print_static {got = dyn 1.5}\n    0", Limits::default()).unwrap();
    assert_eq!(p.compile_log, vec!["1i32, .a".to_string(), "{got : f64}".to_string()]);
}

#[test]
fn compiling_twice_gives_identical_output() {
    let src = "union option a = Some : a | None\ninl main () =\n    inl f = (fun x => x * 2) : i32 -> i32\n    let rec loop (i : i32) : i32 = if i > 0 then loop (i - 1) else f i\n    match dyn (Some 3) with\n    | Some x => loop x\n    | None => 0";
    let a = ir(src);
    let b = ir(src);
    assert_eq!(a, b);
}

#[test]
fn step_limit_stops_divergent_specialisation() {
    let src = "inl main () =\n    inl rec f x : i32 = join f (x + 1)\n    f 0";
    let e = match program(src, Limits::with_depth_and_steps(10_000, 20_000)) {
        Err(e) => e,
        Ok(_) => panic!("expected an error"),
    };
    assert!(e.contains("limit"), "{e}");
}

#[test]
fn depth_limit_stops_divergent_inlining() {
    let e = err("inl main () =\n    inl rec f x = 1 + f x\n    f 0");
    assert!(e.contains("limit of 10000 levels"), "{e}");
    assert!(e.contains("frames in the middle are not shown"), "{e}");
}

/// Twenty-odd wrong programs: each gives a diagnostic with the message and (where evaluation
/// started) the evaluation trace; none panics.
#[test]
fn wrong_programs_give_diagnostics_with_traces() {
    let cases: &[(&str, &str)] = &[
        ("inl main () = 1 + 1.0", "same type"),
        ("inl main () = 1 + \"a\"", "same type"),
        ("inl main () = if dyn true then 1 else 2.0", "different types"),
        ("inl main () = if 1 then 2 else 3", "expected a bool"),
        ("inl main () = match .c with | .a => 1 | .b => 2", "pattern match failure"),
        ("inl main () =\n    inl a, b, c = 1, 2\n    a", "pattern match failure"),
        ("inl main () = 1 2", "expected a function"),
        ("inl main () = {a = 1}.b", "has no field `b`"),
        ("inl main () = {a = 1} 2", "only be applied to a symbol"),
        ("inl main () = (dyn 1) : f64", "annotation mismatch"),
        ("inl main () = (join dyn 1) : f64", "join point returns a value of the wrong type"),
        ("inl main () =\n    inl f = (fun x => x) : i32 -> f64\n    f 1", "closure returns a value of the wrong type"),
        ("inl main () =\n    inl f = (fun x => x) : i32 -> i32\n    f 1.0", "closure expects an argument"),
        ("inl main () =\n    inl ~f = fun x => x\n    0", "cannot be made dynamic"),
        ("inl main () = 1 / 0", "division by zero"),
        ("inl main () = y", "unbound variable `y`"),
        ("inl main () = (1 : integer)", "unbound type `integer`"),
        ("inl main () = typecase f64 with | i32 => 1", "no typecase clause matches"),
        ("inl main () = error_type \"custom failure\"", "custom failure"),
        ("inl main () = assert (1 = 2) \"static assert\"", "static assert"),
        ("union t = A : i32\ninl main () = A 1.0", "does not match the union case"),
        ("inl main () =\n    inl rec f ~x = join if x > 0 then f (x - 1) else 0\n    f 3", "return type annotation"),
        ("inl f x = x", "no `main`"),
        ("inl main () = !!!!Add(1)", "takes 2 arguments"),
        ("inl main () =\n    inl x = 1\n    {x with a = 1}", "expected a record"),
        ("inl main () = $\"x\" : i32 * i32", "at most one runtime leaf"),
    ];
    for (src, want) in cases {
        let e = match std::panic::catch_unwind(|| program(src, Limits::default())) {
            Ok(Err(e)) => e,
            Ok(Ok(p)) => panic!("`{src}` compiled:\n{p}"),
            Err(_) => panic!("`{src}` panicked"),
        };
        assert!(e.contains(want), "`{src}`: expected `{want}` in\n{e}");
        assert!(e.contains("t.spir:"), "`{src}`: no location in\n{e}");
        let evaluated = !want.starts_with("unbound") && !want.starts_with("no `main`");
        if evaluated {
            assert!(e.contains("evaluation trace"), "`{src}`: no trace in\n{e}");
        }
    }
    assert!(cases.len() >= 20);
}

#[test]
fn guards_on_runtime_values_become_branches() {
    let s = ir("inl main () =\n    inl g = function\n        | {a b} when a = 1 => b\n        | {a b} => a * b\n    g (dyn {a = 1; b = 2}) + g {a = 3; b = 4}");
    assert!(s.contains("eq(v0, 1i32)"), "{s}");
    assert!(s.contains("mul(v0, v1)"), "{s}");
    assert!(s.contains("add(v4, 12i32)") || s.contains("add(v3, 12i32)") || s.contains("12i32)"), "{s}");
}

#[test]
fn nested_union_patterns_unbox_each_level_once() {
    let src = "union option a = Some : a | None\ninl main () =\n    inl f = function\n        | Some (Some x) => x\n        | Some (None) | None => 0\n    f (dyn (Some (Some 5)))";
    let s = ir(src);
    // the outer and the inner union are each matched once
    assert_eq!(s.matches("match ").count(), 2, "{s}");
    assert!(s.contains("option (option i32)") && s.contains("option i32"), "{s}");
}

#[test]
fn payloadless_cases_of_generic_unions_need_their_type() {
    let src = "union option a = Some : a | None\ninl main () = dyn (Some None)";
    let e = err(src);
    assert!(e.contains("cannot be inferred"), "{e}");
    let s = ir("union option a = Some : a | None\ninl main () =\n    match dyn (None : option i32) with\n    | Some x => x\n    | None => 7");
    assert!(s.contains("box union#0.0None()"), "{s}");
}

#[test]
fn mutually_recursive_unions_and_functions() {
    let src = "union rec expr = Num : i32 | Let : stmt\nand union stmt = Assign : i32 * expr\ninl rec even x = if x = 0 then true else odd (x - 1)\nand inl odd x = if x = 0 then false else even (x - 1)\ninl main () =\n    inl rec eval e : i32 = join match e with | Num n => n | Let (Assign (_, e)) => eval e\n    if even 10 && odd 7 then eval (dyn (Let (Assign (0, Num 2)))) else 0";
    let s = ir(src);
    assert!(s.contains("union#0 heap expr") && s.contains("heap stmt"), "{s}");
    assert!(s.contains("call method0"), "{s}");
}

#[test]
fn core_reflection_and_string_helpers_fold_at_compile_time() {
    let src = "union o = Some : i32 | None\ninl main () =\n    inl a = record_type_try_find `({x : i32}) .x (fun t => sizeof `t) (fun () => 0)\n    inl b = union_to_record `o (fun r => record_type_length `r)\n    inl c = string_length (string_format \"{0} joined\" 123)\n    inl d = string_lit_to_symbol \"asd\" = .asd\n    if d then a + b + c else 0";
    assert!(ir(src).ends_with("main : (i32) =\n    return (16i32)\n"));
}

#[test]
fn structural_equality_on_runtime_unions_matches_both() {
    let src = "union o = Some : i32 | None\ninl main () =\n    inl x = dyn (Some 1)\n    x = Some 2";
    let s = ir(src);
    // one match on x; the known right-hand side needs no second match
    assert_eq!(s.matches("match ").count(), 1, "{s}");
    assert!(s.contains("eq(v1, 2i32)") || s.contains("eq(v2, 2i32)"), "{s}");
}

#[test]
fn layouts_and_modules_are_accessed_by_field() {
    let s = ir("inl main () =\n    inl h = heap {a = dyn 1; b = 2.5}\n    inl f = real_core.id\n    f h.a");
    assert!(s.contains("layout_new<heap ({a : i32; b : f64})>(v0, 2.5f64)"), "{s}");
    assert!(s.contains("let v2 : i32 = v1.[0]"), "{s}");
}

#[test]
fn functions_stored_into_closure_typed_slots_become_closures() {
    let s = ir("inl main () =\n    inl ar = array_create `(i32 -> i32) 1\n    inl k = dyn 10\n    set ar 0 (fun x => x + k)\n    inl m = mut {f = (fun x => x) : i32 -> i32}\n    m.f <- fun x => x - 1\n    (index ar 0) 1 + (*m).f 5");
    assert_eq!(s.matches("\nclosure").count() + usize::from(s.starts_with("closure")), 3, "{s}");
    assert!(s.contains("closure0 [v0 : i32] (v1 : i32) : (i32) as i32 -> i32"), "{s}");
}

/// Evaluates a top-down (`.spi`) program to its residual IR.
fn ir_top_down(src: &str) -> String {
    let mut sm = SourceMap::new();
    let graph = load_inline("t.spi", src, Segment::TopDown, &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    let p = compile_graph(&graph, Limits::default()).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    let problems = p.validate();
    assert!(problems.is_empty(), "inconsistent residual program: {problems:?}\n{p}");
    p.to_string()
}

#[test]
fn array_literals_and_patterns_test_the_length_once_and_read_each_element_once() {
    // `;[1; b]` needs a runtime test on element 0; re-matching the clause after that test must
    // reuse the read (it used not to terminate), and both clauses share one length test.
    let src = "inl main () =\n    match ;[dyn 1i32; 9] with\n    | ;[1; b] => b\n    | ;[a; _] => a\n    | _ => 0";
    let s = ir_top_down(src);
    assert!(s.contains("array_lit<array (i32)>[(v0); (9i32)]"), "{s}");
    assert_eq!(s.matches("arraylength(").count(), 1, "{s}");
    assert_eq!(s.matches("[0i32]").count(), 1, "{s}");
    assert_eq!(s.matches("[1i32]").count(), 1, "{s}");
    assert!(s.contains("eq(v2, 2i32)") && s.contains("eq(v4, 1i32)"), "{s}");
}

#[test]
fn function_term_slots_read_and_replace_a_closures_captured_values() {
    // v2's `function_term_slots_get`/`_set`: the captured values as a tuple ending in `()`.
    // (A closure also captures the module-level functions it uses, such as `+`; this one uses none.)
    let s = ir("open real_core\ninl main () =\n    inl c = 5i32\n    inl f x = x, c\n    inl (c', ()) = function_term_slots_get f\n    inl g = function_term_slots_set f (c' * 2, ())\n    g 1i32");
    assert_eq!(s, "main : (i32, i32) =\n    return (1i32, 10i32)\n");
    let e = err("open real_core\ninl main () =\n    inl c = 5i32\n    inl f x = x, c\n    function_term_slots_set f (1i32, 2i32, ())");
    assert!(e.contains("the closure has 1 slots; the tuple goes on with"), "{e}");
}

#[test]
fn var_tag_and_tag_to_symbol_name_a_runtime_variable() {
    let s = ir("open real_core\ninl main () =\n    inl x = dyn 1i32\n    inl k = tag_to_symbol (var_tag x)\n    !!!!SymbolToString(k), lit_is (var_tag x)");
    assert!(s.contains("return (\"0\", true)"), "{s}");
}

#[test]
fn a_nominal_applies_as_its_content() {
    // `b.v` on a nominal of a record reads the field, as in v2's bottom-up code.
    let s = ir("nominal box = {v : i32}\ninl main () =\n    inl b = box {v = dyn 3i32}\n    b.v + 1");
    assert!(s.contains("add(v0, 1i32)"), "{s}");
}

#[test]
fn a_macro_argument_with_one_runtime_leaf_is_that_leaf() {
    let s = ir("nominal box = {v : i32}\ninl main () =\n    inl b = box {v = dyn 3i32}\n    $\"g(!b)\" : i32");
    assert!(s.contains("g(!v0)"), "{s}");
    let e = err("inl main () =\n    inl x = dyn 1i32, dyn 2i32\n    $\"g(!x)\" : i32");
    assert!(e.contains("this one has 2: pass its leaves one by one"), "{e}");
}

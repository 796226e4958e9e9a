//! Type inference wired into evaluation: a top-down program is inferred before the prepass,
//! its inference errors are the compile errors, and its unsuffixed literals get the types
//! inference found (not the bottom-up defaults).
use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::peval::Limits;
use spiral_compiler::prepass::compile_graph;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;

fn compile(name: &str, seg: Segment, src: &str) -> Result<String, String> {
    let mut sm = SourceMap::new();
    let graph = load_inline(name, src, seg, &mut sm).map_err(|d| render(&sm, &d))?;
    compile_graph(&graph, Limits::default()).map(|p| p.to_string()).map_err(|d| render(&sm, &d))
}

fn top_down(src: &str) -> Result<String, String> {
    compile("main.spi", Segment::TopDown, src)
}

#[test]
fn an_unsuffixed_literal_takes_the_type_inference_found() {
    let ir = top_down("inl main () : f64 =\n    inl x = dyn 2.5f64\n    x + 1\n").unwrap();
    assert!(ir.contains("1f64") || ir.contains("1.0f64"), "{ir}");
    let ir = top_down("inl main () : i64 =\n    inl x = dyn 2i64\n    x * 3\n").unwrap();
    assert!(ir.contains("3i64"), "{ir}");
    let ir = top_down("inl main () : u8 = 200\n").unwrap();
    assert!(ir.contains("200u8"), "{ir}");
}

#[test]
fn literals_in_patterns_take_the_scrutinee_type() {
    let ir = top_down("inl main () : i64 =\n    match dyn 3i64 with\n    | 3 => 1\n    | _ => 0\n").unwrap();
    assert!(ir.contains("3i64") && ir.contains("1i64") && ir.contains("0i64"), "{ir}");
}

#[test]
fn a_polymorphic_literal_takes_the_type_of_each_use() {
    // `inc` generalises to `forall 'a {number}. 'a -> 'a`: type passing gives it `'a` at each
    // use, and its `1` is made at that type
    let src = "inl inc x = x + 1\ninl main () : i64 =\n    inl a = inc (dyn 2i32)\n    inl b = inc (dyn 2.5f32)\n    to_i64 a + to_i64 b + inc (dyn 7i64)\n";
    let ir = top_down(src).unwrap();
    assert!(ir.contains("1i32") && ir.contains("1.0f32") && ir.contains("1i64"), "{ir}");
}

#[test]
fn type_parameters_flow_through_helpers_and_foralls() {
    // `poly` passes its parameter on to `square`; `twice` has a written `forall`
    let src = "inl square x = x * x + 0\ninl poly x = square x + 3 * x\ninl twice forall t {number}. (x : t) : t = x + x + 0\ninl main () : f64 =\n    poly (dyn 2.5f64) + twice (dyn 1.5f64)\n";
    let ir = top_down(src).unwrap();
    assert!(ir.contains("3.0f64") && ir.contains("0.0f64") && !ir.contains("i32"), "{ir}");
}

#[test]
fn a_recursive_let_gets_its_inferred_return_type() {
    // `let rec` is a recursive join point: the evaluator needs its return type, which
    // inference gives (here a type parameter of `sum_to`, passed by `main`)
    let src = "inl sum_to n =\n    let rec go i s = if i <= n then go (i + 1) (s + i) else s\n    go 0 0\ninl main () : u64 = sum_to (dyn 10u64)\n";
    let ir = top_down(src).unwrap();
    assert!(ir.contains("u64") && !ir.contains("i32"), "{ir}");
    // mutually recursive top-level `let`s share their type parameters
    let src = "let rec f s x = if x = 0 then s else g s (x - 1)\nand let g s x = if x = 0 then s else f s (x - 1)\ninl main () : i32 = f 123i32 (dyn 10u64)\n";
    top_down(src).unwrap();
}

#[test]
fn inference_errors_are_the_compile_errors() {
    let e = top_down("inl main () : i32 =\n    inl x = dyn 2.5f64\n    x + 1i32\n").unwrap_err();
    assert!(e.contains("type mismatch"), "{e}");
    let e = top_down("inl main () : () =\n    dump 1\n").unwrap_err();
    assert!(e.contains("cannot infer a type here"), "{e}");
}

#[test]
fn a_literal_that_does_not_fit_its_inferred_type_is_reported() {
    let e = top_down("inl main () : u8 = 300\n").unwrap_err();
    assert!(e.contains("does not fit its type `u8`"), "{e}");
}

#[test]
fn bottom_up_programs_are_not_inferred() {
    // ill-typed under v2's rules (`dump 1` has an unsolved literal type), fine bottom-up
    let ir = compile("main.spir", Segment::BottomUp, "inl main () =\n    dump 1\n    0\n").unwrap();
    assert!(ir.contains("1i32"), "{ir}");
}

#[test]
fn core_lists_and_options_are_top_down() {
    // `base` (option, list, `::`) is included; `listm`, `optionm` and `loop` are modules. `Nil`
    // gets its inferred type (`list i32`), so a runtime list can be built and folded.
    let src = "inl main () : i32 =\n    inl q = 1i32 :: 2 :: dyn [3; 4]\n    inl o = dyn (Some 5i32)\n    listm.fold (+) 0 q + optionm.defaultWith 0 o + loop.for {from=0; nearTo=3} (fun i s => s + i) 0\n";
    let ir = top_down(src).unwrap();
    assert!(ir.contains("main"), "{ir}");
}

/// Runs a top-down program through the C backend and returns `main`'s result as the IR text.
fn top_down_ir(src: &str) -> String {
    top_down(src).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_prototype_use_selects_the_instance_by_the_inferred_type() {
    let src = "prototype describe a : a -> i32\nnominal meters = f64\nnominal count = i32\ninstance describe meters = fun (meters x) => 1\ninstance describe count = fun (count n) => n * 10\ninl main () : i32 = describe (meters (dyn 2.5)) + describe (count (dyn 4))\n";
    let ir = top_down_ir(src);
    // `count`'s instance multiplies by 10; `meters`'s gives the constant 1
    assert!(ir.contains("10i32") && ir.contains("1i32"), "{ir}");
}

#[test]
fn core_top_down_modules_evaluate() {
    // `a` arrays through their prototypes and `am`, strings through `sm`, `monad` over lists
    let src = "inl main () : i64 =\n    inl ar : a u64 i64 = am.init (dyn 4) (fun i => conv i)\n    inl b = am.map (fun x => x * 2) ar\n    inl s = am.fold (fun s x => s + x) 0 b\n    inl n : i64 = sm.length (dyn \"abc\")\n    inl l = monad.(>>=) (1i64 :: 2 :: Nil) (fun x => x :: x :: Nil)\n    s + n + listm.length l\n";
    let ir = top_down_ir(src);
    assert!(ir.contains("u64") && ir.contains("i64"), "{ir}");
}

//! Top-down type inference: well-typed programs with the printed types of their top-level
//! definitions, the API around them, packages of several modules, the seed 000 programs, and
//! speed on a large generated program. Ill-typed programs are in `infer_errors.rs`.

use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::infer;
use spiral_compiler::project::{load_inline, load_package_dir};
use spiral_compiler::syntax::{parse_module, Segment};
use std::path::Path;

/// Infers `src` as a lone top-down file (with `core`); returns the `name : type` lines and the
/// rendered diagnostics.
fn run(src: &str) -> (String, String) {
    let mut sm = SourceMap::new();
    let graph = match load_inline("main.spi", src, Segment::TopDown, &mut sm) {
        Ok(g) => g,
        Err(d) => return (String::new(), render(&sm, &d)),
    };
    let r = infer::check_graph(&graph);
    (r.def_lines(false).join("\n"), render(&sm, &r.diagnostics))
}

/// The types of a program that must type-check.
fn types(src: &str) -> String {
    let (t, e) = run(src);
    assert!(e.is_empty(), "unexpected errors:\n{e}");
    t
}

/// The rendered errors of a program that must not type-check.
fn errors(src: &str) -> String {
    let (_, e) = run(src);
    assert!(!e.is_empty(), "expected errors");
    e
}

/// Asserts the program's definitions print as `expected` (lines, leading spaces ignored).
#[track_caller]
fn check(src: &str, expected: &str) {
    let got = types(src);
    let want: Vec<&str> = expected.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    assert_eq!(got.lines().collect::<Vec<_>>(), want, "program:\n{src}");
}

#[test]
fn literals_have_their_suffix_type_and_unsuffixed_numbers_are_number_constrained() {
    check(
        "inl a () = 1i8, 2u64, 1.5f32, true, \"s\", 'c'\n\
         inl b () = 1\n\
         inl c () = 2.5\n\
         inl d () = 1 + 2i64\n\
         inl e () = 1.5 : f32\n",
        "a : () -> i8 * u64 * f32 * bool * string * char
         b : forall 'a {number}. () -> 'a
         c : forall 'a {number}. () -> 'a
         d : () -> i64
         e : () -> f32",
    );
}

#[test]
fn let_polymorphism_and_generalisation() {
    check(
        "inl id x = x\n\
         inl const x y = x\n\
         inl twice f x = f (f x)\n\
         inl compose f g x = g (f x)\n\
         inl pair () =\n    inl id x = x\n    id 1i32, id \"a\"\n\
         inl local_let () =\n    let dup x = x, x\n    dup true, dup 2u8\n\
         inl apply_id () = id id 3i32\n",
        "id : forall 'a. 'a -> 'a
         const : forall 'a 'b. 'a -> 'b -> 'a
         twice : forall 'a. ('a -> 'a) -> 'a -> 'a
         compose : forall 'a 'b 'c. ('a -> 'b) -> ('b -> 'c) -> 'a -> 'c
         pair : () -> i32 * string
         local_let : () -> (bool * bool) * u8 * u8
         apply_id : () -> i32",
    );
}

#[test]
fn only_syntactic_functions_generalise() {
    // `inl f = g` is monomorphic (v2): using it at two types is an error.
    let e = errors("inl id x = x\ninl f () =\n    inl g = id\n    g 1i32, g true\n");
    assert!(e.contains("type mismatch: expected `i32`, found `bool`"), "{e}");
    // The generalised local function's type variables take the letters after the
    // enclosing function's (one counter per top-level statement, as in v2).
    check("inl f x =\n    inl g y = y\n    g x\n", "f : forall 'b. 'b -> 'b");
}

#[test]
fn annotations_and_foralls() {
    check(
        "inl f (x : i32) : i64 = 1\n\
         inl g forall a. (x : a) : a = x\n\
         inl h forall a b. (x : a) (y : b) : b * a = y, x\n\
         inl k forall t {number}. (x : t) : t = x + x\n\
         inl w (x : _) : _ = x + 1u16\n\
         inl hr (f : forall a. a -> a) = f 1i32, f true\n\
         inl use_hr () =\n    inl id forall t. (x : t) : t = x\n    hr `$id\n",
        "f : i32 -> i64
         g : forall a. a -> a
         h : forall a b. a -> b -> b * a
         k : forall t {number}. t -> t
         w : u16 -> u16
         hr : (forall a. a -> a) -> i32 * bool
         use_hr : () -> i32 * bool",
    );
}

#[test]
fn recursion_and_mutual_recursion() {
    check(
        "inl rec fact n = if n <= 1 then 1 else n * fact (n - 1)\n\
         inl rec even n = if n = 0i32 then true else odd (n - 1)\n\
         and inl odd n = if n = 0i32 then false else even (n - 1)\n\
         inl rec poly forall a. (x : a) (n : i32) : a = if n = 0 then x else poly x (n - 1)\n\
         inl local () =\n    inl rec loop i acc = if i = 0i32 then acc else loop (i - 1) (acc + i)\n    loop 10 0\n\
         let rec count n = if n > 0i64 then count (n - 1) else n\n",
        "fact : forall 'a {number}. 'a -> 'a
         even : i32 -> bool
         odd : i32 -> bool
         poly : forall a. a -> i32 -> a
         local : () -> i32
         count : i64 -> i64",
    );
}

#[test]
fn tuples_ifs_and_matches() {
    check(
        "inl swap (a, b) = b, a\n\
         inl fst3 (a, _, _) = a\n\
         inl sign x = if x > 0i32 then 1i32 elif x < 0 then -1 else 0\n\
         inl m x = match x with | (1i32, y) | (y, 1i32) => y | _ => 0\n\
         inl guard x = match x with | (a, b) when a > 0f64 => b | (_, b) => b\n\
         inl lits x = match x with | \"a\" => 1u8 | _ => 2\n\
         inl syms x = match x with | .a => true | .a => false\n\
         inl both x = match x with | (a, _) & (_, b) => a, b\n\
         inl unit_if (b : bool) = if b then ()\n\
         inl seq (x : i32) =\n    ignore x\n    x\n",
        "swap : forall 'a 'b. 'a * 'b -> 'b * 'a
         fst3 : forall 'a 'b 'c. 'a * 'b * 'c -> 'a
         sign : i32 -> i32
         m : i32 * i32 -> i32
         guard : forall 'a. f64 * 'a -> 'a
         lits : string -> u8
         syms : .a -> bool
         both : forall 'a 'b. 'a * 'b -> 'a * 'b
         unit_if : bool -> ()
         seq : i32 -> i32",
    );
}

#[test]
fn unions_generic_and_recursive() {
    check(
        "union option a = Some : a | None\n\
         union rec list a = Nil | Cons : a * list a\n\
         union color = Red | Green | Blue\n\
         inl map f x =\n    match x with\n    | Some a => Some (f a)\n    | None => None\n\
         inl rec list_map f l =\n    match l with\n    | Cons (x, xs) => Cons (f x, list_map f xs)\n    | Nil => Nil\n\
         inl sum (l : list i32) : i32 =\n    let rec loop acc = function\n        | Cons (x, xs) => loop (acc + x) xs\n        | Nil => acc\n    loop 0 l\n\
         inl head l = match l with | x :: _ => Some x | [] => None\n\
         inl three () = [1i32; 2; 3]\n\
         inl name c = match c with | Red => \"red\" | Green => \"green\" | Blue => \"blue\"\n\
         inl ctor () = Some\n",
        "map : forall 'a 'b. ('a -> 'b) -> option 'a -> option 'b
         list_map : forall 'a 'b. ('a -> 'b) -> list 'a -> list 'b
         sum : list i32 -> i32
         head : forall 'a. list 'a -> option 'a
         three : () -> list i32
         name : color -> string
         ctor : forall 'a. () -> 'a -> option 'a",
    );
}

#[test]
fn mutually_recursive_unions() {
    check(
        "union rec tree a = Leaf : a | Node : forest a\n\
         and union forest a = Empty | Trees : tree a * forest a\n\
         inl rec size t = match t with | Leaf _ => 1i32 | Node f => fsize f\n\
         and inl fsize f = match f with | Empty => 0 | Trees (t, f) => size t + fsize f\n",
        "size : forall 'a. tree 'a -> i32
         fsize : forall 'a. forest 'a -> i32",
    );
}

#[test]
fn nominals_and_aliases() {
    check(
        "nominal point = {x : f64; y : f64}\n\
         nominal box a = a\n\
         nominal tag = ()\n\
         type pair a = a * a\n\
         type num = i32\n\
         inl origin () = point {x = 0.0; y = 0.0}\n\
         inl norm (p : point) = p.x * p.x + p.y * p.y\n\
         inl unbox b = match b with | box x => x\n\
         inl swap ((a, b) : pair num) = b, a\n\
         inl t () = tag\n\
         inl mk x : box _ = box x\n",
        "origin : () -> point
         norm : point -> f64
         unbox : forall 'a. box 'a -> 'a
         swap : i32 * i32 -> i32 * i32
         t : () -> tag
         mk : forall 'a. 'a -> box 'a",
    );
}

#[test]
fn records_fields_and_updates() {
    check(
        "inl mk () = {x = 1i32; y = \"a\"}\n\
         inl get (r : {x : i32; y : f32}) = r.y\n\
         inl upd (r : {a : i32; b : string}) = {r with a = 2i32; c = true}\n\
         inl modify (r : {a : i32}) = {r with a #= fun x => x > 0}\n\
         inl drop (r : {a : i32; b : bool}) = {r without a}\n\
         inl nested (r : {a : {b : i32}}) = {r.a with b = 3u8}\n\
         inl pat r = match r with | {x y} => x, y\n\
         inl open_pat (r : {x : i32; y : bool}) = match r with | {y} => y\n\
         inl field_of_unknown r = r.a\n\
         inl pun () =\n    inl x = 1u8\n    {x}\n",
        "mk : () -> {x : i32; y : string}
         get : {x : i32; y : f32} -> f32
         upd : {a : i32; b : string} -> {a : i32; b : string; c : bool}
         modify : {a : i32} -> {a : bool}
         drop : {a : i32; b : bool} -> {b : bool}
         nested : {a : {b : i32}} -> {a : {b : u8}}
         pat : forall 'a 'b. {x : 'a; y : 'b} -> 'a * 'b
         open_pat : {x : i32; y : bool} -> bool
         field_of_unknown : forall 'a. (.a -> 'a) -> 'a
         pun : () -> {x : u8}",
    );
}

#[test]
fn symbols_arrays_layouts_macros_joins() {
    check(
        "inl sym () = .hello\n\
         inl arr () = ;[1i32; 2; 3]\n\
         inl arr_pat (a : array i32) = match a with | ;[x; y] => x + y | _ => 0\n\
         inl len (a : array f32) = array_length a\n\
         inl lay (x : mut {a : i32}) = x.a <- 2\n\
         inl boxed () = heap {a = 1i32}\n\
         inl read (h : heap {a : i32}) = h.a\n\
         inl mac (x : i32) : string = $\"!x\"\n\
         inl ty_mac () : $\"int *\" = $\"0\"\n\
         inl jp (a : i32) = join a + 1\n\
         inl op (a : i32) (b : i32) : i32 = !!!!Add(a, b)\n\
         inl re x = real x\n",
        "sym : () -> .hello
         arr : () -> array i32
         arr_pat : array i32 -> i32
         len : array f32 -> i32
         lay : mut {a : i32} -> ()
         boxed : () -> heap {a : i32}
         read : heap {a : i32} -> i32
         mac : i32 -> string
         ty_mac : () -> $\"int *\"
         jp : i32 -> i32
         op : i32 -> i32 -> i32
         re : forall 'a 'b. 'a -> 'b",
    );
}

#[test]
fn operators_are_typed_like_v2_core() {
    check(
        "inl add a b = a + b\n\
         inl lt a b = a < b\n\
         inl eq a b = a = b\n\
         inl bits (a : u32) = (a &&& 1) ||| (a <<< 2)\n\
         inl fl (x : f32) = sqrt x * 2\n\
         inl neg x = -x\n\
         inl conv (x : i32) = to_f64 x / 2\n\
         inl logic a b = a && not b || false\n\
         inl pipe x = x |> fun y => y + 1u8\n",
        "add : forall 'a {number}. 'a -> 'a -> 'a
         lt : forall 'a {number}. 'a -> 'a -> bool
         eq : forall 'a. 'a -> 'a -> bool
         bits : u32 -> u32
         fl : f32 -> f32
         neg : forall 'a {number}. 'a -> 'a
         conv : i32 -> f64
         logic : bool -> bool -> bool
         pipe : u8 -> u8",
    );
}

#[test]
fn prototypes_and_instances() {
    check(
        "union option a = Some : a | None\n\
         union rec list a = Nil | Cons : a * list a\n\
         nominal point = {x : i32; y : i32}\n\
         prototype show a : a -> string\n\
         instance show point = fun p => \"point\"\n\
         instance show option a {show} = function Some x => show x | None => \"none\"\n\
         prototype fmap f a : forall b. (a -> b) -> f a -> f b\n\
         instance fmap option = fun f x => match x with Some x => Some (f x) | None => None\n\
         instance fmap list = fun f x =>\n    inl rec loop x = match x with Cons (x, xs) => Cons (f x, loop xs) | Nil => Nil\n    loop x\n\
         inl show_twice x = show x, show x\n\
         inl shows () = show (point {x = 1; y = 2}), show (Some (point {x = 1; y = 2}))\n\
         inl maps () = fmap (fun x => x + 1i32) (Some 2), fmap (fun x => x, x) (Cons (true, Nil))\n\
         inl gen f x = fmap f x\n",
        "show : forall a {show}. a -> string
         fmap : forall (f : * -> *) {fmap} a b. (a -> b) -> f a -> f b
         show_twice : forall 'a {show}. 'a -> string * string
         shows : () -> string * string
         maps : () -> option i32 * list (bool * bool)
         gen : forall 'a 'b ('c : * -> *) {fmap}. ('a -> 'b) -> 'c 'a -> 'c 'b",
    );
}

#[test]
fn existentials() {
    check(
        "type shower = exists a. a * (a -> string)\n\
         inl mk_int () : shower = exists (1i32, fun x => \"int\")\n\
         inl mk_str () : shower = exists [string] (\"s\", fun x => x)\n\
         inl run (x : shower) = match x with | exists a. (v, f) => f v\n\
         inl scoped (x : shower) = match x with | exists a. ((v, f) : a * _) => f v\n\
         inl ors (x : exists a. a * a) = match x with | (exists a. (v, _)) | (exists a. (_, v)) => ()\n\
         inl main () = run (mk_int ()), run (mk_str ())\n",
        "mk_int : () -> (exists a. a * (a -> string))
         mk_str : () -> (exists a. a * (a -> string))
         run : (exists a. a * (a -> string)) -> string
         scoped : (exists a. a * (a -> string)) -> string
         ors : (exists a. a * a) -> ()
         main : () -> string * string",
    );
}

#[test]
fn gadts_refine_the_scrutinee_type_per_clause() {
    check(
        "union rec expr t =\n\
         \x20   | Int :: i32 -> expr i32\n\
         \x20   | Bool :: bool -> expr bool\n\
         \x20   | Add :: expr i32 * expr i32 -> expr i32\n\
         \x20   | If :: forall t. expr bool * expr t * expr t -> expr t\n\
         \x20   | Pair :: forall a b. expr a * expr b -> expr (a * b)\n\
         inl rec eval forall t. (e : expr t) : t =\n\
         \x20   match e with\n\
         \x20   | Int x => x\n\
         \x20   | Bool x => x\n\
         \x20   | Add (a, b) => eval a + eval b\n\
         \x20   | If (c, a, b) => if eval c then eval a else eval b\n\
         \x20   | Pair (a, b) => eval a, eval b\n\
         inl test () = eval (Add (Int 1, Int 2)), eval (If (Bool true, Pair (Int 1, Bool false), Pair (Int 3, Bool true)))\n\
         inl ctor () = If\n",
        "eval : forall t. expr t -> t
         test : () -> i32 * i32 * bool
         ctor : forall 'a. () -> expr bool * expr 'a * expr 'a -> expr 'a",
    );
}

#[test]
fn main_programs_type_check() {
    check(
        "inl main () =\n    inl x = 1i32 + 2\n    dump x\n    write_line \"done\"\n    0i32\n",
        "main : () -> i32",
    );
    // An unannotated literal result generalises, as in v2 (the evaluator then rejects a
    // generalised `main`).
    check("inl main () = 1\n", "main : forall 'a {number}. () -> 'a");
}

#[test]
fn every_expression_type_is_available() {
    let src = "inl f (x : i32) = x + 1\n";
    let mut sm = SourceMap::new();
    let g = load_inline("t.spi", src, Segment::TopDown, &mut sm).expect("parses");
    let r = infer::check_graph(&g);
    assert!(r.is_ok());
    // The span of `x + 1`.
    let start = src.find("x + 1").unwrap() as u32;
    let span = r.types.iter().map(|(s, _)| *s).find(|s| s.start == start && s.end == start + 5).expect("span of `x + 1`");
    assert_eq!(r.show(r.type_at(span).unwrap()), "i32");
    // The literal `1` got `i32` from `+`.
    let one = src.rfind('1').unwrap() as u32;
    let t = r.types.iter().find(|(s, _)| s.start == one && s.end == one + 1).map(|(_, t)| t).unwrap();
    assert_eq!(r.show(t), "i32");
    assert_eq!(r.defs.len(), 1);
    assert_eq!(r.defs[0].name, "f");
    assert_eq!(r.defs[0].ty, "i32 -> i32");
}

#[test]
fn check_module_uses_only_builtins_and_core_signatures() {
    let m = parse_module(Default::default(), "inl f x = x + 1i32\ninl g x = record_map x\n", Segment::TopDown);
    let r = infer::check_module(&m.module);
    assert_eq!(r.defs[0].ty, "i32 -> i32");
    assert_eq!(r.diagnostics.len(), 1);
    assert_eq!(r.diagnostics[0].message, "unbound variable `record_map`");
}

#[test]
fn unsupported_constructs_say_so() {
    // An instance in a bottom-up module.
    let mut sm = SourceMap::new();
    let src = "prototype show a : a -> string\nnominal n = i32\ninstance show n = fun _ => \"n\"\n";
    let g = load_inline("m.spir", src, Segment::BottomUp, &mut sm).expect("parses");
    let r = infer::check_graph(&g);
    assert_eq!(r.diagnostics.len(), 1);
    assert_eq!(r.diagnostics[0].message, format!("{}: instances in bottom-up (`.spir`) modules", infer::UNSUPPORTED));
}

#[test]
fn independent_errors_are_all_reported() {
    let (_, e) = run("inl a () = 1i32 + true\ninl b () = c\ninl d (x : nope) = x\ninl e () = if 1i32 then () else ()\n");
    assert_eq!(e.matches("error:").count(), 4, "{e}");
}

/// Writes a package of `files` (path, text) under a fresh temporary folder, loads it and infers
/// it; panics on load or inference errors. Returns the folder (to remove), the source map, the
/// graph and the result.
fn infer_package(tag: &str, files: &[(&str, &str)]) -> (std::path::PathBuf, SourceMap, spiral_compiler::project::ProjectGraph, infer::InferResult) {
    let dir = std::env::temp_dir().join(format!("spiral-infer-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let mut sm = SourceMap::new();
    let g = load_package_dir(&dir, &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    let r = infer::check_graph(&g);
    assert!(r.is_ok(), "{}", render(&sm, &r.diagnostics));
    (dir, sm, g, r)
}

#[test]
fn a_package_of_several_modules() {
    let (dir, _, _, r) = infer_package(
        "pkg",
        &[
            ("package.spiproj", "packages: |core-\nmodules:\n    a\n    b\n    c-\n    d*\n"),
            ("a.spi", "union option a = Some : a | None\ninl get_or d x = match x with | Some a => a | None => d\nnominal point = {x : f64; y : f64}\n"),
            ("b.spi", "open a\ninl norm (p : point) = match p with | point {x y} => x * x + y * y\ninl first x = get_or 0i32 x\ninl q () = a.get_or 1u8 (Some 2)\n"),
            ("c.spi", "inl twice x = b.first (a.Some x), b.norm (a.point {x = 1.0; y = 2.0})\n"),
            ("d.spir", "inl main () = twice 1i32\n"),
        ],
    );
    assert_eq!(
        r.def_lines(true),
        vec![
            "a.get_or : forall 'a. 'a -> option 'a -> 'a",
            "b.norm : point -> f64",
            "b.first : option i32 -> i32",
            "b.q : () -> u8",
            "twice : i32 -> i32 * f64",
        ]
    );
    // The bottom-up module's definition is listed without a type.
    assert!(r.defs.iter().any(|d| d.name == "main" && d.scheme.is_none() && d.ty == "real"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Folder modules: a module in a folder sees the folder's earlier modules, and its earlier
/// subfolders as modules (v2's `ml3` opens `tensorm` from `corebase/pickler`); a `-` module's
/// names are the folder's own. Inference and the evaluator resolve the same paths.
#[test]
fn folder_modules_see_their_sibling_subfolders() {
    let (dir, sm, g, r) = infer_package(
        "folders",
        &[
            ("package.spiproj", "packages: |core-\nmodules:\n    lib/\n        base\n        shapes/\n            square-\n            circle\n        user\n    main\n"),
            ("lib/base.spi", "inl double (x : i32) = x * 2\n"),
            ("lib/shapes/square.spi", "nominal square = {side : i32}\ninl area (square {side}) = base.double side * side\n"),
            ("lib/shapes/circle.spi", "inl unit () = 1i32\n"),
            ("lib/user.spi", "inl twice (x : shapes.square) = shapes.area x * 2\ninl sq n : shapes.square =\n    open shapes\n    square {side=n}\ninl one () = shapes.circle.unit ()\n"),
            ("main.spi", "inl main () = lib.user.twice (lib.user.sq 3) + lib.shapes.circle.unit ()\n"),
        ],
    );
    assert_eq!(
        r.def_lines(true),
        vec![
            "base.double : i32 -> i32",
            "area : square -> i32",
            "circle.unit : () -> i32",
            "user.twice : square -> i32",
            "user.sq : i32 -> square",
            "user.one : () -> i32",
            "main.main : () -> i32",
        ]
    );
    // and the evaluator resolves the same paths: (3 * 2 * 3) * 2 + 1
    let ir = spiral_compiler::prepass::compile_graph(&g, spiral_compiler::peval::Limits::default())
        .unwrap_or_else(|d| panic!("{}", render(&sm, &d)))
        .to_string();
    assert!(ir.contains("37i32"), "{ir}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Seed 000's top-down programs refer to modules of the UPMEM demo that are not in this
/// repository (and to v2 core functions ours lacks), so they are not expected to type-check;
/// inference must get through them and report at their spans, without panicking.
#[test]
fn seed000_programs_are_processed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs/seed000");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "spi")).collect();
    files.sort();
    assert!(!files.is_empty());
    let mut summary = String::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let mut sm = SourceMap::new();
        let g = load_inline(&name, &text, Segment::TopDown, &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
        let r = infer::check_graph(&g);
        for d in &r.diagnostics {
            let (l, c) = d.line_col(&sm);
            summary.push_str(&format!("{name}:{l}:{c}: {}\n", d.message));
        }
        for line in r.def_lines(false) {
            summary.push_str(&format!("{name}: {line}\n"));
        }
    }
    insta::assert_snapshot!("seed000", summary);
}

/// Seed 000's test8b/test8c zip two inverse arrays with `forall (ar : * -> * -> *) dim a b.` and
/// call `length` on them: a rigid `dim` without constraints must meet the array prototypes, so
/// their `dim` carries no constraint (as in the core those programs were written against).
#[test]
fn array_prototypes_accept_a_dim_without_constraints() {
    check(
        "nominal sized (ar : * -> * -> *) dim el = {len : dim; items : ar dim el}\n\
         instance length sized ar = fun (sized {len}) => len\n\
         inl same_length forall (ar : * -> * -> *) dim x y. (p : sized ar dim x) (q : sized ar dim y) : bool = length p = length q\n",
        "same_length : forall (ar : * -> * -> *) dim x y. sized ar dim x -> sized ar dim y -> bool",
    );
}

#[test]
fn join_point_pair_from_seed000_type_checks_with_its_annotation() {
    check(
        "inl main() =\n    inl f (a,b) = join\n        a+b : i32\n    inl _ = f (1,2)\n    inl _ = f (3,4)\n    inl _ = f (dyn (5,6))\n    0i32\n",
        "main : () -> i32",
    );
}

/// A generated program of 5,000 lines (1,000 functions, each calling the previous ones) must
/// type-check quickly even in a debug build.
#[test]
fn a_large_program_type_checks_fast() {
    let mut src = String::from("union rec list a = Nil | Cons : a * list a\n");
    for i in 0..1000 {
        let prev = if i == 0 { "(fun x => x)".to_string() } else { format!("f{}", i - 1) };
        src.push_str(&format!(
            "inl f{i} (x : i32) =\n    inl a = {prev} x + {i}\n    inl b = Cons (a, Nil)\n    match b with | Cons (y, _) => y * 2 | Nil => 0\n\n"
        ));
    }
    assert!(src.lines().count() >= 5000);
    let mut sm = SourceMap::new();
    let g = load_inline("big.spi", &src, Segment::TopDown, &mut sm).unwrap_or_else(|d| panic!("{}", render(&sm, &d)));
    // Inference alone (parsing is not timed); the best of three runs, so a busy machine does
    // not make the test flaky.
    let mut took = std::time::Duration::MAX;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let r = infer::check_graph(&g);
        took = took.min(start.elapsed());
        assert!(r.is_ok(), "{}", render(&sm, &r.diagnostics));
        let t = r.def_lines(false);
        assert_eq!(t.len(), 1000);
        assert!(t.iter().all(|l| l.ends_with(": i32 -> i32")), "{t:?}");
    }
    eprintln!("inference of {} lines: {took:?}", src.lines().count());
    assert!(took.as_secs_f64() < 1.0, "took {took:?}");
}

/// The typed core signatures check cleanly against the real `core` (bound checks inside their
/// `real` bodies included) and give the operators v2's types.
#[test]
fn core_signatures_type_check_against_core() {
    let (t, e) = run(infer::CORE_SIGNATURES);
    assert!(e.is_empty(), "{e}");
    assert!(t.lines().any(|l| l == "+ : forall t {number}. t -> t -> t"), "{t}");
    assert!(t.lines().any(|l| l == "= : forall t. t -> t -> bool"), "{t}");
    assert!(t.lines().any(|l| l == "dyn : forall a. a -> a"), "{t}");
    // `failwith` and `array_create` take their type first: they are top-down definitions of
    // core's `base` (so uses pass it), not signatures
    assert!(!t.lines().any(|l| l.starts_with("failwith :") || l.starts_with("array_create :")), "{t}");
}

/// The deepest statement the parser accepts (a block of ~5,000 statements nests that deep)
/// does not overflow the stack: inference runs on a big stack of its own.
#[test]
fn a_deep_block_does_not_overflow_the_stack() {
    let mut src = String::from("inl main () =\n    inl x0 = 1i32\n");
    for i in 1..4900 {
        src.push_str(&format!("    inl x{i} = x{}\n", i - 1));
    }
    src.push_str("    x4899\n");
    assert_eq!(types(&src), "main : () -> i32");
}

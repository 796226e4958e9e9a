//! Random programs from a small grammar (literals, `dyn`, arithmetic, `if`, tuples, records,
//! functions, `match`, join points, unions): each must compile or give a diagnostic; the
//! evaluator must never panic, overflow its stack or hang. Deterministic (fixed seeds).
//! `FUZZ_SHOW=1` prints every rejected program with its first diagnostic line; `FUZZ_N` and
//! `FUZZ_SEED` change the number of programs (300) and the seed.
use spiral_compiler::diagnostics::{render, SourceMap};
use spiral_compiler::peval::Limits;
use spiral_compiler::prepass::compile_graph;
use spiral_compiler::project::load_inline;
use spiral_compiler::syntax::Segment;

/// xorshift64*: a tiny deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const VARS: &[&str] = &["a", "b", "c"];

fn atom(r: &mut Rng, vars: usize) -> String {
    match r.below(if vars == 0 { 3 } else { 6 }) {
        0 | 1 => format!("{}", r.below(20) as i64 - 5),
        2 => "(dyn 3)".into(),
        _ => VARS[r.below(vars as u64) as usize].into(),
    }
}

fn boolean(r: &mut Rng, depth: u32, v: usize) -> String {
    let d = depth.saturating_sub(1);
    match r.below(5) {
        0 => format!("({} < {})", expr(r, d, v), expr(r, d, v)),
        1 => format!("({} = {})", expr(r, d, v), expr(r, d, v)),
        2 => "true".into(),
        3 => "(dyn false)".into(),
        _ => format!("(({}, {}) = ({}, {}))", expr(r, d, v), expr(r, d, v), expr(r, d, v), expr(r, d, v)),
    }
}

/// An i32 expression (with a small chance of an ill-typed part, to exercise the errors).
fn expr(r: &mut Rng, depth: u32, v: usize) -> String {
    if depth == 0 {
        return atom(r, v);
    }
    let d = depth - 1;
    match r.below(18) {
        0 => format!("({} + {})", expr(r, d, v), expr(r, d, v)),
        1 => format!("({} * {})", expr(r, d, v), expr(r, d, v)),
        2 => format!("(dyn {})", expr(r, d, v)),
        3 => format!("(if {} then {} else {})", boolean(r, d, v), expr(r, d, v), expr(r, d, v)),
        4 => format!("(match ({}, {}) with | (a, b) => a + b)", expr(r, d, v), expr(r, d, v)),
        5 => format!("({{x = {}; y = {}}}).x", expr(r, d, v), expr(r, d, v)),
        6 => format!("((fun a => {}) {})", expr(r, d, v.max(1)), expr(r, d, v)),
        7 => format!("(join {})", expr(r, d, v)),
        8 => format!("(match {} with | 1 => {} | 2 => {} | _ => {})", expr(r, d, v), expr(r, d, v), expr(r, d, v), expr(r, d, v)),
        9 => format!("(match Some {} with | Some a => {} | None => {})", expr(r, d, v), expr(r, d, v.max(1)), expr(r, d, v)),
        10 => format!("(match dyn (Some {}) with | Some a => {} | None => {})", expr(r, d, v), expr(r, d, v.max(1)), expr(r, d, v)),
        11 => format!("({} : i32)", expr(r, d, v)),
        12 => format!("(let f (q : i32) = q + {} in f {})", expr(r, d, v), expr(r, d, v)),
        13 => format!("(((fun (q : i32) => q * 2) : i32 -> i32) {})", expr(r, d, v)),
        14 => format!("(inl m = mut {{v = {}}} in m.v <- {} . (*m).v)", expr(r, d, v), expr(r, d, v)),
        15 => format!("(if {} then {} else 1.5)", boolean(r, d, v), expr(r, d, v)), // ill-typed when dynamic
        16 => format!("(match {} with | a when a > 2 => a | a => -a)", expr(r, d, v)),
        _ => format!("(typecase `({}) with | i32 => {} | _ => 0)", expr(r, d, v), expr(r, d, v)),
    }
}

fn program(r: &mut Rng) -> String {
    let mut s = String::from("union option a = Some : a | None\ninl main () =\n");
    for (i, v) in VARS.iter().enumerate() {
        s.push_str(&format!("    inl {v} = {}\n", expr(r, 2, i)));
    }
    s.push_str(&format!("    {}\n", expr(r, 4, VARS.len())));
    s
}

#[test]
fn random_programs_never_crash_the_evaluator() {
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_1234_ABCD_0001);
    let mut r = Rng(seed);
    let (mut ok, mut rejected) = (0, 0);
    let n: usize = std::env::var("FUZZ_N").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    for _ in 0..n {
        let src = program(&mut r);
        let mut sm = SourceMap::new();
        let graph = match load_inline("fuzz.spir", &src, Segment::BottomUp, &mut sm) {
            Ok(g) => g,
            Err(d) => {
                if std::env::var("FUZZ_SHOW").is_ok() {
                    println!("{src}\n{}", render(&sm, &d));
                }
                rejected += 1;
                continue;
            }
        };
        let limits = Limits::with_depth_and_steps(2_000, 2_000_000);
        match compile_graph(&graph, limits) {
            Ok(p) => {
                ok += 1;
                // printing must not panic either, and must be deterministic
                assert_eq!(p.to_string(), p.to_string());
                let problems = p.validate();
                assert!(problems.is_empty(), "{src}\n{problems:?}\n{p}");
            }
            Err(d) => {
                let text = render(&sm, &d);
                if std::env::var("FUZZ_SHOW").is_ok() {
                    println!("{src}\n{}", text.lines().next().unwrap_or(""));
                }
                assert!(!text.contains("internal compiler error"), "{src}\n{text}");
                assert!(text.contains("fuzz.spir:"), "{src}\n{text}");
                rejected += 1;
            }
        }
    }
    // the grammar produces both kinds
    assert!(ok > 20 && rejected > 20, "ok {ok}, rejected {rejected}");
}

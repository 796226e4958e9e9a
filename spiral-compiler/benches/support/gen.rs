//! Generates large, valid top-down Spiral modules for parse benchmarks.
//!
//! Shared by `spiral-compiler/benches/parse.rs` (criterion) and `cargo xtask bench-parse`.
//! The output is deterministic: the same line count gives the same text.

/// One unit of generated code: a union, a record type, functions with nested matches,
/// records, closures, conditionals and a macro. `{i}` is replaced by the unit number.
const UNIT: &str = r#"// unit {i}
union shape{i} = Circle{i} : f64 | Rect{i} : f64 * f64 | Empty{i}
type point{i} = {x : i32; y : i32}

inl area{i} (s : shape{i}) : f64 =
    match s with
    | Circle{i} r => 3.14 * r * r
    | Rect{i} (w, h) => w * h
    | Empty{i} => 0.0

inl step{i} (p : point{i}) (n : i32) : i32 =
    let q = {p with x = p.x + n}
    match q with
    | {x y} when x > y =>
        match n with
        | 0 => x
        | 1 => y + {i}
        | _ => x * y - n
    | {x} => if x < 0 then 0 - x else x + 1

inl fold{i} (f : i32 -> i32 -> i32) (s : i32) (n : i32) : i32 =
    let add = fun a b => f (a + b) {i}
    let r = {total = add s n; count = n; last = (s, n)}
    if r.count > 0 then r.total elif n = 0 then s else f r.total n

inl print{i} (x : i32) : () = $"std::cout << !x << std::endl"

"#;

/// Lines in one unit.
pub fn unit_lines() -> usize {
    UNIT.lines().count()
}

/// A module of at least `lines` lines (whole units), and its exact line count.
pub fn generate(lines: usize) -> (String, usize) {
    let per = unit_lines();
    let units = lines.div_ceil(per).max(1);
    let mut s = String::with_capacity(units * UNIT.len() + 64);
    for i in 0..units {
        s.push_str(&UNIT.replace("{i}", &i.to_string()));
    }
    s.push_str("inl main () = step0 {x = 1; y = 2} 3\n");
    let n = s.lines().count();
    (s, n)
}

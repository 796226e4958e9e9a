//! `spiral!` expansions that must compile and compute the right values: the three source forms,
//! scalar and tuple exports, inverse arrays by reference and by value, and records.

use spiral::{spiral, Device, Error, InvArray};

// Plain tokens: Spiral that Rust's lexer accepts can be written directly.
spiral! {
    fn one(dev: &Device) -> Result<i32, Error>;
    fn mul_add(dev: &Device, x: (i32, i32), y: i64) -> Result<(i64, bool), Error>;
    inl one () = 1i32
    inl mul_add (a, b) y =
        inl p = a * b
        to_i64 p + y, p > 10i32
}

// A file relative to CARGO_MANIFEST_DIR.
spiral!(
    file = "tests/kernels/saxpy.spir",
    fn saxpy(dev: &Device, a: f32, input: InvArray<(f32, f32)>) -> Result<InvArray<(f32, f32)>, Error>;
);

// A raw string with records and a host-side reduction.
spiral! {
    pub fn norms(dev: &Device, input: &InvArray<(f64, f64)>) -> Result<InvArray<f64>, Error>;
    fn total(dev: &Device, input: &InvArray<i64>) -> Result<i64, Error>;
    r#"
open inv
open kernel
inl norms input =
    inl input = inv_rezip (fun x, y => {x y}) input
    map (fun {x y} => sqrt (x*x + y*y)) input
inl total input = reduce (fun s x => s + x) 0i64 input
    "#
}

#[test]
fn scalar_and_tuple_exports() {
    let dev = Device::cpu();
    assert_eq!(one(&dev).unwrap(), 1);
    assert_eq!(mul_add(&dev, (3, 4), 100).unwrap(), (112, true));
    assert_eq!(mul_add(&dev, (2, 4), -8).unwrap(), (0, false));
}

#[test]
fn file_form_with_an_input_moved_in() {
    let input: InvArray<(f32, f32)> = (0..1000).map(|i| (i as f32, 1.0)).collect();
    for threads in [1, 3] {
        let out = saxpy(&Device::cpu_with_threads(threads), 2.0, input.clone()).unwrap();
        let expect: Vec<(f32, f32)> = (0..1000).map(|i| (i as f32, 2.0 * i as f32 + 1.0)).collect();
        assert_eq!(out.to_vec(), expect);
    }
}

#[test]
fn records_and_reduce() {
    let input: InvArray<(f64, f64)> = vec![(3.0, 4.0), (5.0, 12.0), (0.0, 0.0)].into_iter().collect();
    let out = norms(&Device::cpu_with_threads(2), &input).unwrap();
    assert_eq!(out.to_vec(), vec![5.0, 13.0, 0.0]);
    let xs: InvArray<i64> = (1..=100).collect();
    assert_eq!(total(&Device::cpu(), &xs).unwrap(), 5050);
}

#[test]
fn empty_inputs() {
    let input: InvArray<(f64, f64)> = InvArray::new();
    assert_eq!(norms(&Device::cpu(), &input).unwrap().len(), 0);
    assert_eq!(total(&Device::cpu(), &InvArray::new()).unwrap(), 0);
}

// Kernels that index past the end of an array: a typed error, not undefined behaviour.
spiral! {
    fn past_the_end(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    fn shifted(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl past_the_end input =
    inl out = create `i32 (length input)
    parallel_for (length input + 1i32) fun i => set out i (index input i)
    out
inl shifted input =
    inl out = inv_create `i32 (inv_length input)
    parallel_for (inv_length input) fun i => inv_set out i (inv_index input (i + 1i32))
    out
    "#
}

#[test]
fn out_of_bounds_kernels_fail_with_a_typed_error() {
    let xs: InvArray<i32> = (0..100).collect();
    for threads in [1, 2] {
        let dev = Device::cpu_with_threads(threads);
        assert!(matches!(past_the_end(&dev, &xs), Err(Error::KernelFailed { .. })));
        assert!(matches!(shifted(&dev, &xs), Err(Error::KernelFailed { .. })));
    }
}

// A failure on the host side of a program (here map_inp's length check) is an `Err`, not a panic.
spiral! {
    fn copy_into(dev: &Device, a: &InvArray<i32>, b: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl copy_into a b =
    map_inp (fun x => x * 2i32) a b
    b
    "#
}

#[test]
fn host_side_failwith_is_an_error() {
    let a: InvArray<i32> = (0..10).collect();
    let b: InvArray<i32> = InvArray::zeroed(10);
    assert_eq!(copy_into(&Device::cpu(), &a, &b).unwrap().to_vec(), (0..10).map(|x| x * 2).collect::<Vec<_>>());
    assert_eq!(b.to_vec(), vec![0; 10], "the caller's array is not written");
    let short: InvArray<i32> = InvArray::zeroed(9);
    match copy_into(&Device::cpu(), &a, &short) {
        Err(Error::LengthMismatch { what, expected, found }) => {
            assert_eq!((expected, found), (10, 9));
            assert!(what.contains("map_inp") && what.contains("`copy_into`"), "{what}");
        }
        other => panic!("expected a LengthMismatch error, got {:?}", other.map(|x| x.to_vec())),
    }
}

// Nested tuples, bool columns and a runtime branch inside the kernel.
spiral! {
    fn scale_where(dev: &Device, input: &InvArray<(i32, (f64, bool))>) -> Result<InvArray<f64>, Error>;
    r#"
open inv
open kernel
inl scale_where input = map (fun a, (x, flag) => if flag then x * to_f64 a else 0.0) input
    "#
}

#[test]
fn nested_tuples_bools_and_branches() {
    let input: InvArray<(i32, (f64, bool))> = (0..64).map(|i| (i, (0.5, i % 3 == 0))).collect();
    let out = scale_where(&Device::cpu_with_threads(2), &input).unwrap();
    let expect: Vec<f64> = (0..64).map(|i| if i % 3 == 0 { 0.5 * i as f64 } else { 0.0 }).collect();
    assert_eq!(out.to_vec(), expect);
}

// Host code with a runtime union, a join point and a string: the Rust backend's enums, methods
// and `Rc<str>` values.
spiral! {
    fn classify(dev: &Device, x: i32) -> Result<(i32, u64), Error>;
    r#"
union option =
    | Some : i32
    | None

inl classify x =
    inl o = if x > 0i32 then Some x else None
    inl v =
        match o with
        | Some v => v * 2i32
        | None => -1i32
    let describe (n : i32) = if n > 10i32 then "big" else "small"
    inl s = describe v
    v, to_u64 (string_length s)
    "#
}

#[test]
fn unions_join_points_and_strings_on_the_host() {
    let dev = Device::cpu();
    assert_eq!(classify(&dev, 21).unwrap(), (42, 3));
    assert_eq!(classify(&dev, 3).unwrap(), (6, 5));
    assert_eq!(classify(&dev, -5).unwrap(), (-1, 5));
}

// Failures that used to panic out of the generated function: an index out of bounds on the host,
// `failwith` inside a join point and inside a closure, an integer division by zero.
spiral! {
    fn first(dev: &Device, input: &InvArray<i32>) -> Result<i32, Error>;
    fn checked_half(dev: &Device, x: i32) -> Result<i32, Error>;
    fn via_closure(dev: &Device, x: i32) -> Result<i32, Error>;
    fn divide(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl first input = inv_index input 0i32
let half (x : i32) : i32 = if x % 2i32 = 0i32 then x / 2i32 else failwith `i32 "odd"
inl checked_half x = half x
inl via_closure x =
    inl f : i32 -> i32 = fun y => if y < 0i32 then failwith `i32 "negative" else y + 1i32
    f x
inl divide input = map (fun a, b => a / b) input
    "#
}

#[test]
fn host_failures_are_errors_not_panics() {
    let dev = Device::cpu_with_threads(2);
    let empty: InvArray<i32> = InvArray::zeroed(0);
    assert!(matches!(first(&dev, &empty), Err(Error::KernelFailed { ref kernel, .. }) if kernel == "first"));
    let one: InvArray<i32> = std::iter::once(7).collect();
    assert_eq!(first(&dev, &one).unwrap(), 7);
    assert_eq!(checked_half(&dev, 8).unwrap(), 4);
    match checked_half(&dev, 7) {
        Err(Error::KernelFailed { kernel, message }) => assert_eq!((kernel.as_str(), message.as_str()), ("checked_half", "odd")),
        other => panic!("{other:?}"),
    }
    assert_eq!(via_closure(&dev, 1).unwrap(), 2);
    assert!(matches!(via_closure(&dev, -1), Err(Error::KernelFailed { ref message, .. }) if message == "negative"));
    let ok: InvArray<(i32, i32)> = vec![(7, 2), (i32::MIN, -1)].into_iter().collect();
    assert_eq!(divide(&dev, &ok).unwrap().to_vec(), vec![3, i32::MIN]);
    let zero: InvArray<(i32, i32)> = vec![(7, 2), (1, 0)].into_iter().collect();
    assert!(matches!(divide(&dev, &zero), Err(Error::KernelFailed { .. })));
}

// Code on the raw string's first line, with the body indented below it (as rustfmt leaves it).
spiral! {
    fn first_line(dev: &Device, x: i32) -> Result<i32, Error>;
    r#"inl first_line x =
        inl y = x + 1i32
        y * 2i32"#
}

#[test]
fn code_on_the_raw_strings_first_line_keeps_the_body_indented() {
    assert_eq!(first_line(&Device::cpu(), 4).unwrap(), 10);
}

// `dump`, `write` and `write_line` in an export print through Rust (`print!`), not C's `printf`:
// the evaluator knows the host target, and core's printing picks its case with `backend_switch`.
spiral! {
    fn printing(dev: &Device, x: i32, y: f64) -> Result<(), Error>;
    r#"
inl printing x y =
    dump (x, y, "a b", 'c', true)
    dump {n = x + 1i32; s = .sym}
    write "w="
    write_line y
    inl picked = backend_switch {C = fun () => "C"; Rust = fun () => "Rust"}
    write_line picked
    "#
}

#[test]
fn dump_and_write_line_print_through_rust() {
    if std::env::var_os("SPIRAL_PRINTING_CHILD").is_some() {
        printing(&Device::cpu(), 41, 2.5).unwrap();
        return;
    }
    // Run this test again in a child process and read what it printed.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["dump_and_write_line_print_through_rust", "--exact", "--nocapture", "--test-threads=1"])
        .env("SPIRAL_PRINTING_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for want in ["(41, 2.5, \"a b\", 'c', true)\n", "{n = 42; s = .sym}\n", "w=2.5\n", "Rust\n"] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
}

// A histogram: many threads count into the same few elements with `atomic_add`.
spiral! {
    fn histogram(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<u32>, Error>;
    r#"
open inv
open kernel
inl histogram input =
    inl counts = inv_create `u32 4i32
    parallel_for (inv_length input) fun i => atomic_add counts (inv_index input i % 4i32) 1u32
    counts
    "#
}

#[test]
fn histogram_with_atomic_add_is_exact_on_any_thread_count() {
    let n = 1_000_000;
    let input: InvArray<i32> = (0..n).collect();
    for threads in [1, 2, 8] {
        let counts = histogram(&Device::cpu_with_threads(threads), &input).unwrap();
        assert_eq!(counts.to_vec(), vec![n as u32 / 4; 4], "{threads} threads");
    }
}

// Exports carry `///` docs and attributes through to the generated functions, so crates with
// `#![warn(missing_docs)]` can use `spiral!`.
mod documented {
    #![deny(missing_docs)]
    //! A module whose public items must be documented.
    use spiral::{spiral, Device, Error};
    spiral! {
        /// Doubles `x`.
        #[must_use = "the result is the doubled value"]
        #[inline]
        pub fn double(dev: &Device, x: i32) -> Result<i32, Error>;
        r#"
inl double x = x * 2i32
        "#
    }
}

#[test]
fn docs_and_attributes_pass_through() {
    assert_eq!(documented::double(&Device::cpu(), 21).unwrap(), 42);
}

// An inverse array moved into an export and returned keeps its buffers: in place, no copy.
spiral! {
    fn saxpy_in_place(dev: &Device, a: f32, x: &InvArray<f32>, y: InvArray<f32>) -> Result<InvArray<f32>, Error>;
    r#"
open inv
open kernel
inl saxpy_in_place a x y =
    map_inp (fun x, y => a * x + y) (inv_zip x y) y
    y
    "#
}

#[test]
fn a_moved_in_array_returned_keeps_its_buffer() {
    let x: InvArray<f32> = (0..1000).map(|i| i as f32).collect();
    let y: InvArray<f32> = (0..1000).map(|_| 1.0).collect();
    let before = y.columns().as_ptr();
    for threads in [1, 2] {
        let y2: InvArray<f32> = (0..1000).map(|_| 1.0).collect();
        let p = y2.columns().as_ptr();
        let out = saxpy_in_place(&Device::cpu_with_threads(threads), 2.0, &x, y2).unwrap();
        assert_eq!(out.columns().as_ptr(), p, "the result is the moved-in buffer");
        assert_eq!(out.get(10), Some(21.0));
    }
    let out = saxpy_in_place(&Device::cpu(), 2.0, &x, y).unwrap();
    assert_eq!(out.columns().as_ptr(), before);
}

// `&mut InvArray<T>`: the kernel works on the caller's buffers in place.
spiral! {
    fn saxpy_mut(dev: &Device, a: f32, x: &InvArray<f32>, y: &mut InvArray<f32>) -> Result<(), Error>;
    fn scale_pairs(dev: &Device, k: i32, xs: &mut InvArray<(i32, i64)>) -> Result<i64, Error>;
    fn fail_midway(dev: &Device, xs: &mut InvArray<i32>) -> Result<i32, Error>;
    r#"
open inv
open kernel
inl saxpy_mut a x y = map_inp (fun x, y => a * x + y) (inv_zip x y) y
inl scale_pairs k xs =
    map_inp (fun a, b => a * k, b * to_i64 k) xs xs
    reduce (fun a b => a + b) 0i64 (inv_rezip (fun _, b => b) xs)
inl fail_midway xs =
    map_inp (fun a => a + 1i32) xs xs
    inl r = inv_index xs 0i32
    if r > 0i32 then failwith `i32 "stop" else 0i32
    "#
}

#[test]
fn a_mut_borrowed_array_is_updated_in_place() {
    let x: InvArray<f32> = (0..1000).map(|i| i as f32).collect();
    let mut y: InvArray<f32> = (0..1000).map(|_| 1.0).collect();
    let before = y.columns().as_ptr();
    for threads in [1, 2, 8] {
        saxpy_mut(&Device::cpu_with_threads(threads), 2.0, &x, &mut y).unwrap();
        assert_eq!(y.columns().as_ptr(), before, "the same buffer, updated in place");
    }
    // three times 2x + 1 on top of 1.0
    assert_eq!(y.get(10), Some(1.0 + 3.0 * 21.0 - 3.0 * 1.0));
    assert_eq!(y.len(), 1000);

    let mut xs: InvArray<(i32, i64)> = (0..100).map(|i| (i, i as i64)).collect();
    let cols = xs.columns();
    let (p0, p1) = (cols.0.as_ptr(), cols.1.as_ptr());
    assert_eq!(scale_pairs(&Device::cpu_with_threads(2), 3, &mut xs).unwrap(), 3 * 4950);
    assert_eq!(xs.get(7), Some((21, 21)));
    let cols = xs.columns();
    assert_eq!((cols.0.as_ptr(), cols.1.as_ptr()), (p0, p1));
}

#[test]
fn a_mut_borrowed_array_comes_back_after_an_error() {
    let mut xs: InvArray<i32> = (0..10).collect();
    let before = xs.columns().as_ptr();
    assert!(fail_midway(&Device::cpu(), &mut xs).is_err());
    assert_eq!(xs.len(), 10, "the buffers are back in the caller's array");
    assert_eq!(xs.columns().as_ptr(), before);
    assert_eq!(xs.get(3), Some(4), "with the writes made before the failure");
}

// Structs with `#[derive(Inverse)]` declared inside `spiral!`: Spiral sees records.
spiral! {
    /// A particle.
    #[derive(Clone, Copy, Debug, PartialEq, spiral::Inverse)]
    pub struct Particle { pub x: f32, pub y: f32, pub vx: f32, pub vy: f32 }
    fn step(dev: &Device, dt: f32, ps: InvArray<Particle>) -> Result<InvArray<Particle>, Error>;
    fn step_mut(dev: &Device, dt: f32, ps: &mut InvArray<Particle>) -> Result<(), Error>;
    fn energy(dev: &Device, ps: &InvArray<Particle>) -> Result<f32, Error>;
    fn origin(dev: &Device, p: Particle) -> Result<Particle, Error>;
    r#"
open inv
open kernel
inl advance dt {x y vx vy} = {x = x + dt * vx; y = y + dt * vy; vx vy = vy - dt * 9.81f32}
inl step dt ps = map (advance dt) ps
inl step_mut dt ps = map_inp (advance dt) ps ps
inl energy ps = reduce (fun a b => a + b) 0.0f32 (map (fun {vx vy} => 0.5f32 * (vx * vx + vy * vy)) ps)
inl origin p = {p with x = 0.0f32; y = 0.0f32}
    "#
}

#[test]
fn derive_inverse_structs_round_trip_through_exports() {
    let ps: InvArray<Particle> = (0..100).map(|i| Particle { x: i as f32, y: 0.0, vx: 1.0, vy: 2.0 }).collect();
    let out = step(&Device::cpu_with_threads(2), 0.5, ps.clone()).unwrap();
    assert_eq!(out.get(3), Some(Particle { x: 3.5, y: 1.0, vx: 1.0, vy: 2.0 - 0.5 * 9.81 }));
    let mut ps2 = ps.clone();
    let before = ps2.columns().x.as_ptr();
    step_mut(&Device::cpu_with_threads(2), 0.5, &mut ps2).unwrap();
    assert_eq!(ps2, out);
    assert_eq!(ps2.columns().x.as_ptr(), before);
    assert_eq!(energy(&Device::cpu(), &ps).unwrap(), 100.0 * 0.5 * 5.0);
    let p = Particle { x: 1.0, y: 2.0, vx: 3.0, vy: 4.0 };
    assert_eq!(origin(&Device::cpu(), p).unwrap(), Particle { x: 0.0, y: 0.0, vx: 3.0, vy: 4.0 });
}

// Views of part of an inverse array, and a `&mut` array whose buffer the program also returns
// (so it cannot simply be lent: it is moved in and handed back by a guard).
spiral! {
    fn double_part(dev: &Device, xs: spiral::InvSliceMut<i32>) -> Result<(), Error>;
    fn sum_part(dev: &Device, xs: spiral::InvSlice<(i32, f64)>) -> Result<f64, Error>;
    fn bump_and_copy(dev: &Device, xs: &mut InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl double_part xs = map_inp (fun x => 2i32 * x) xs xs
inl sum_part xs = reduce (fun a b => a + b) 0.0 (map (fun a, b => conv `f64 a + b) xs)
inl bump_and_copy xs =
    map_inp (fun x => x + 1i32) xs xs
    xs
    "#
}

#[test]
fn slices_are_kernel_inputs_and_outputs_in_place() {
    let mut a: InvArray<i32> = (0..100).collect();
    let before = a.columns().as_ptr();
    double_part(&Device::cpu_with_threads(2), a.slice_mut(10..20)).unwrap();
    assert_eq!(a.columns().as_ptr(), before);
    let v = a.to_vec();
    assert_eq!(&v[8..12], &[8, 9, 20, 22]);
    assert_eq!(&v[18..22], &[36, 38, 20, 21]);
    double_part(&Device::cpu(), a.slice_mut(100..)).unwrap();
    let b: InvArray<(i32, f64)> = (0..10).map(|i| (i, 0.5)).collect();
    assert_eq!(sum_part(&Device::cpu(), b.slice(2..4)).unwrap(), 2.0 + 3.0 + 1.0);
    assert_eq!(sum_part(&Device::cpu(), b.as_slice()).unwrap(), 45.0 + 5.0);
}

#[test]
fn a_mut_array_that_is_also_returned_keeps_its_buffer_and_the_result_is_a_copy() {
    let mut xs: InvArray<i32> = (0..50).collect();
    let before = xs.columns().as_ptr();
    let out = bump_and_copy(&Device::cpu_with_threads(2), &mut xs).unwrap();
    assert_eq!(xs.columns().as_ptr(), before);
    assert_ne!(out.columns().as_ptr(), before);
    assert_eq!(xs.get(49), Some(50));
    assert_eq!(out, xs);
}

// `usize` lengths and indices: Spiral sees i32, checked at the boundary.
spiral! {
    fn iota(dev: &Device, n: usize) -> Result<InvArray<i32>, Error>;
    fn count_positive(dev: &Device, xs: &InvArray<f32>) -> Result<usize, Error>;
    fn minus_one(dev: &Device, n: usize) -> Result<usize, Error>;
    r#"
open inv
open kernel
inl iota n =
    inl a = inv_create `i32 n
    parallel_for n fun i => inv_set a i i
    a
inl count_positive xs = inv_length (filter (fun x => x > 0.0f32) xs)
inl minus_one n = n - 1i32
    "#
}

#[test]
fn usize_lengths_cross_the_boundary_checked() {
    let dev = Device::cpu_with_threads(2);
    assert_eq!(iota(&dev, 5).unwrap().to_vec(), vec![0, 1, 2, 3, 4]);
    let xs: InvArray<f32> = (0..100).map(|i| i as f32 - 49.5).collect();
    assert_eq!(count_positive(&dev, &xs).unwrap(), 50usize);
    assert_eq!(minus_one(&dev, 10).unwrap(), 9usize);
    assert!(matches!(iota(&dev, usize::MAX), Err(Error::DeviceLimit { .. })));
    match minus_one(&dev, 0) {
        Err(Error::KernelFailed { kernel, message }) => {
            assert_eq!(kernel, "minus_one");
            assert!(message.contains("returned -1 where the signature has a usize"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

//! Primitive edge cases through both CPU kernel paths: the same `spiral/edges.spir` compiled by
//! spiral-build (C kernels, `build::`) and by `spiral!` (Rust kernels, `mac::`). Each result is
//! compared with the semantics documented in `spiral-compiler/src/codegen/c_family.rs`, computed
//! here with Rust's `wrapping_*` operations and saturating `as`; a division by zero must be an
//! `Err`, never a crash.

use spiral::{Device, Error, InvArray, Inverse};

use spiral_build_demo::edges as build;

mod mac {
    use spiral::{spiral, Device, Error, InvArray};
    spiral! {
        file = "spiral/edges.spir",
        pub fn div_i32(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;

        pub fn rem_i32(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;

        pub fn div_i64(dev: &Device, input: &InvArray<(i64, i64)>) -> Result<InvArray<i64>, Error>;

        pub fn rem_i64(dev: &Device, input: &InvArray<(i64, i64)>) -> Result<InvArray<i64>, Error>;

        pub fn div_u32(dev: &Device, input: &InvArray<(u32, u32)>) -> Result<InvArray<u32>, Error>;

        pub fn rem_u8(dev: &Device, input: &InvArray<(u8, u8)>) -> Result<InvArray<u8>, Error>;

        pub fn neg_i32(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;

        pub fn shl_i32(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;

        pub fn shr_i32(dev: &Device, input: &InvArray<(i32, i32)>) -> Result<InvArray<i32>, Error>;

        pub fn rem_f32(dev: &Device, input: &InvArray<(f32, f32)>) -> Result<InvArray<f32>, Error>;

        pub fn rem_f64(dev: &Device, input: &InvArray<(f64, f64)>) -> Result<InvArray<f64>, Error>;

        pub fn f64_to_i32(dev: &Device, input: &InvArray<f64>) -> Result<InvArray<i32>, Error>;

        pub fn f32_to_u8(dev: &Device, input: &InvArray<f32>) -> Result<InvArray<u8>, Error>;

        pub fn f64_to_i64(dev: &Device, input: &InvArray<f64>) -> Result<InvArray<i64>, Error>;

        pub fn f64_to_u64(dev: &Device, input: &InvArray<f64>) -> Result<InvArray<u64>, Error>;

        pub fn below_inf_f32(dev: &Device, input: &InvArray<f32>) -> Result<InvArray<bool>, Error>;
        pub fn fails_at_five(dev: &Device, input: &InvArray<i32>) -> Result<InvArray<i32>, Error>;

    }
}

type Kernel<A, B> = fn(&Device, &InvArray<A>) -> Result<InvArray<B>, Error>;

/// Runs `paths` (spiral-build, spiral!) over `cases` on 1 and 2 threads. `want(a)` is the
/// expected result, `None` for an input that must fail (division by zero).
fn check<A, B>(name: &str, paths: [Kernel<A, B>; 2], cases: &[A], want: impl Fn(A) -> Option<B>)
where
    A: Inverse + Copy + std::fmt::Debug,
    B: Inverse + Copy + std::fmt::Debug + PartialEq,
{
    for (path, run) in ["spiral-build", "spiral!"].iter().zip(paths) {
        let ok: Vec<A> = cases.iter().copied().filter(|a| want(*a).is_some()).collect();
        let expect: Vec<B> = ok.iter().map(|a| want(*a).unwrap()).collect();
        for threads in [1, 2] {
            let dev = Device::cpu_with_threads(threads);
            let input: InvArray<A> = ok.iter().copied().collect();
            let got = run(&dev, &input).unwrap_or_else(|e| panic!("{name} via {path}: {e}"));
            let got = got.to_vec();
            for ((a, g), w) in ok.iter().zip(&got).zip(&expect) {
                // Compare floats by bits (NaN, -0.0).
                assert!(format!("{g:?}") == format!("{w:?}"), "{name} via {path} on {a:?}: got {g:?}, want {w:?}");
            }
            assert_eq!(got.len(), expect.len());
        }
        for a in cases.iter().copied().filter(|a| want(*a).is_none()) {
            let input: InvArray<A> = std::iter::once(a).collect();
            let r = run(&Device::cpu_with_threads(1), &input);
            assert!(matches!(r, Err(Error::KernelFailed { .. })), "{name} via {path} on {a:?}: {r:?}");
        }
    }
}

#[test]
fn integer_division_and_remainder() {
    let i32s = [(7, 2), (-7, 2), (7, -2), (i32::MIN, -1), (i32::MIN, 1), (i32::MAX, -1), (7, 0), (0, 0), (i32::MIN, 0)];
    check("div_i32", [build::div_i32, mac::div_i32], &i32s, |(a, b)| (b != 0).then(|| a.wrapping_div(b)));
    check("rem_i32", [build::rem_i32, mac::rem_i32], &i32s, |(a, b)| (b != 0).then(|| a.wrapping_rem(b)));
    let i64s = [(7, 2), (-7, 2), (i64::MIN, -1), (i64::MIN, 3), (5, 0)];
    check("div_i64", [build::div_i64, mac::div_i64], &i64s, |(a, b)| (b != 0).then(|| a.wrapping_div(b)));
    check("rem_i64", [build::rem_i64, mac::rem_i64], &i64s, |(a, b)| (b != 0).then(|| a.wrapping_rem(b)));
    let u32s = [(7, 2), (u32::MAX, 1), (u32::MAX, u32::MAX), (1, 0)];
    check("div_u32", [build::div_u32, mac::div_u32], &u32s, |(a, b)| a.checked_div(b));
    let u8s = [(7, 2), (255, 16), (3, 0)];
    check("rem_u8", [build::rem_u8, mac::rem_u8], &u8s, |(a, b)| a.checked_rem(b));
    check("neg_i32", [build::neg_i32, mac::neg_i32], &[0, 1, -1, i32::MAX, i32::MIN], |a: i32| Some(a.wrapping_neg()));
}

#[test]
fn shifts_take_the_amount_modulo_the_width() {
    let cases = [(1, 0), (1, 31), (1, 32), (1, 33), (-8, 1), (-1, 40), (1, -1), (12345, 100)];
    check("shl_i32", [build::shl_i32, mac::shl_i32], &cases, |(a, b): (i32, i32)| Some(a.wrapping_shl(b as u32)));
    check("shr_i32", [build::shr_i32, mac::shr_i32], &cases, |(a, b): (i32, i32)| Some(a.wrapping_shr(b as u32)));
}

#[test]
fn float_remainder_is_fmod() {
    let f32s = [(7.5f32, 2.0f32), (-7.5, 2.0), (1.0, 0.0), (f32::INFINITY, 2.0), (2.0, f32::INFINITY), (f32::NAN, 1.0)];
    check("rem_f32", [build::rem_f32, mac::rem_f32], &f32s, |(a, b)| Some(a % b));
    let f64s = [(7.5, 2.0), (-7.5, -2.0), (0.0, 0.0), (-0.0, 1.0), (1e300, 3.0)];
    check("rem_f64", [build::rem_f64, mac::rem_f64], &f64s, |(a, b): (f64, f64)| Some(a % b));
}

#[test]
fn float_to_integer_saturates_and_nan_is_zero() {
    let xs = [0.0, -0.0, 1.9, -1.9, 2147483647.5, 2147483648.0, -2147483649.0, 3e9, -3e9, 1e300, f64::INFINITY, f64::NEG_INFINITY, f64::NAN];
    check("f64_to_i32", [build::f64_to_i32, mac::f64_to_i32], &xs, |a: f64| Some(a as i32));
    check("f64_to_i64", [build::f64_to_i64, mac::f64_to_i64], &xs, |a: f64| Some(a as i64));
    check("f64_to_u64", [build::f64_to_u64, mac::f64_to_u64], &xs, |a: f64| Some(a as u64));
    let fs = [0.0f32, -0.5, 255.5, 256.0, 300.0, -3.5, f32::INFINITY, f32::NAN];
    check("f32_to_u8", [build::f32_to_u8, mac::f32_to_u8], &fs, |a: f32| Some(a as u8));
}

#[test]
fn float_infinity_literals_in_kernels() {
    let fs = [0.0f32, -1.0, f32::MAX, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
    check("below_inf_f32", [build::below_inf_f32, mac::below_inf_f32], &fs, |a: f32| Some(a < f32::INFINITY));
}

#[test]
fn failwith_inside_a_kernel_is_an_error_on_both_paths() {
    check("fails_at_five", [build::fails_at_five, mac::fails_at_five], &[1, 2, 3, 5, 9], |a: i32| (a != 5).then(|| a * 2));
}

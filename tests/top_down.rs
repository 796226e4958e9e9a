//! `spiral!` with top-down code (`spi = "..."`, `.spi` files): inferred types, checked against
//! the Rust signatures, and the typed library kernels run with the results Rust computes.

use spiral::{spiral, Device, Error, InvArray};

spiral! {
    pub fn scale(dev: &Device, x: f32, by: f32) -> Result<f32, Error>;
    pub fn affine(dev: &Device, xs: &InvArray<f32>, a: f32, b: f32) -> Result<InvArray<f32>, Error>;
    pub fn total(dev: &Device, xs: &InvArray<i64>) -> Result<i64, Error>;
    pub fn positives(dev: &Device, xs: &InvArray<(i32, f64)>) -> Result<InvArray<(i32, f64)>, Error>;
    pub fn dot(dev: &Device, xs: &InvArray<f64>, ys: &InvArray<f64>) -> Result<f64, Error>;
    pub fn poly(dev: &Device, x: f64) -> Result<f64, Error>;
    spi = r#"
open kernel

// literals take the type inference gives them (`2` and `1` are f32 here)
inl scale x by = x * by * 2 + 1

inl affine (xs : inv_array f32) a b = map (fun x => a * x + b) xs

inl total xs = reduce (+) 0 xs

inl positives xs = filter (fun (_, y) => y > 0) xs

inl dot xs ys = reduce (+) 0 (map (fun (x, y) => x * y) (inv_zip xs ys))

// a let-generalised helper used at one type
inl square x = x * x
inl poly x = square x + 3 * x
    "#
}

spiral! {
    file = "tests/spiral/stats.spi",
    pub fn mean_var(dev: &Device, xs: &InvArray<f64>) -> Result<(f64, f64), Error>;
    pub fn count_above(dev: &Device, t: f64, xs: &InvArray<f64>) -> Result<i64, Error>;
}

fn dev() -> Device {
    Device::cpu()
}

#[test]
fn scalars_take_inferred_literal_types() {
    assert_eq!(scale(&dev(), 1.5, 3.0).unwrap(), 1.5 * 3.0 * 2.0 + 1.0);
}

#[test]
fn a_map_over_an_inv_array() {
    let xs: InvArray<f32> = (0..100).map(|i| i as f32).collect();
    let ys = affine(&dev(), &xs, 0.5, -1.0).unwrap();
    let want: Vec<f32> = (0..100).map(|i| 0.5 * i as f32 - 1.0).collect();
    assert_eq!(ys.to_vec(), want);
}

#[test]
fn reduce_filter_and_zip() {
    let xs: InvArray<i64> = (1..=1000).collect();
    assert_eq!(total(&dev(), &xs).unwrap(), 500_500);
    let pairs: InvArray<(i32, f64)> = (0..10).map(|i| (i, if i % 3 == 0 { -1.0 } else { i as f64 })).collect();
    let kept = positives(&dev(), &pairs).unwrap().to_vec();
    let want: Vec<(i32, f64)> = (0..10).filter(|i| i % 3 != 0).map(|i| (i, i as f64)).collect();
    assert_eq!(kept, want);
    let a: InvArray<f64> = (0..50).map(|i| i as f64).collect();
    let b: InvArray<f64> = (0..50).map(|i| (50 - i) as f64).collect();
    let want: f64 = (0..50).map(|i| (i * (50 - i)) as f64).sum();
    assert_eq!(dot(&dev(), &a, &b).unwrap(), want);
}

#[test]
fn a_generalised_helper() {
    assert_eq!(poly(&dev(), 2.0).unwrap(), 10.0);
}

#[test]
fn a_top_down_file() {
    let xs: InvArray<f64> = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0].into_iter().collect();
    assert_eq!(mean_var(&dev(), &xs).unwrap(), (5.0, 4.0));
    assert_eq!(count_above(&dev(), 4.5, &xs).unwrap(), 4);
}

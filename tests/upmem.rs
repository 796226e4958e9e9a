//! Seed 000's UPMEM programs (test3 to test8c) in our form: a Rust host and Spiral kernels,
//! compiled with `targets = [cpu, upmem]`, run on the UPMEM emulator with 1, 4 and 64 DPUs and
//! 1, 11 and 16 tasklets. Each gives the output the tutorial and v2's suite report, and the
//! same result as the CPU arm of the same export (every kernel runs on both targets by
//! construction). Larger inputs exercise the split over DPUs, the tasklets' 8-element shares
//! and the 2048-byte DMA blocks with their tails.
//!
//! Needs the `upmem` feature (bindgen over `dpu.h`; the emulator is compiled with the host's
//! C compiler at first use): `cargo test --features upmem --test upmem`.
#![cfg(feature = "upmem")]

use spiral::{spiral, Device, Error, InvArray};

// The exports of seed 000's programs (one `spiral!` shared with examples/upmem_seed000.rs).
include!("../examples/spiral/upmem_seed000.rs");

spiral! {
    targets = [upmem],
    // A DMA of 4096 bytes written by hand in a macro: the emulator refuses it (at most 2048).
    pub fn big_dma(dev: &Device, xs: &InvArray<u64>) -> Result<(), Error>;
    r#"
open inv
open kernel
inl big_dma xs = parallel_tasklets fun () =>
    inl buf = shared_create `u64 512i32
    inl m = xs.arrays
    inl w = buf.arrays
    $"mram_read(!m, !w, 4096u)" : ()
    "#
}

/// The device shapes of the acceptance list: 1, 4 and 64 DPUs, 1, 11 and 16 tasklets.
fn devices() -> Vec<Device> {
    let mut out = Vec::new();
    for dpus in [1, 4, 64] {
        for tasklets in [1, 11, 16] {
            out.push(Device::upmem_emulator(dpus, tasklets).unwrap_or_else(|e| panic!("emulator ({dpus} DPUs, {tasklets} tasklets): {e}")));
        }
    }
    out
}

fn arange(n: i32) -> InvArray<i32> {
    (0..n).collect()
}

#[test]
fn seed_000_scalar_kernels_give_the_reported_outputs() {
    let cpu = Device::cpu();
    for dev in devices() {
        // test3: the add kernel at three types.
        let r = test3(&dev, 2, 1, 2, 5, 2.5, 4.4).unwrap();
        assert_eq!(r, (3, 7, 2.5f32 + 4.4), "{dev}");
        // test5 prints (4, 3, 24, -4).
        assert_eq!(test5(&dev, 1, 2, 3, 4).unwrap(), (4, 3, 24, -4), "{dev}");
        // test6 prints 3, 0, 4, -4.
        assert_eq!(test6(&dev, 1, 2, 3, 4).unwrap(), (3, 0, 4, -4), "{dev}");
        assert_eq!(test6(&dev, 1, 2, 3, 4).unwrap(), test6(&cpu, 1, 2, 3, 4).unwrap());
    }
}

#[test]
fn seed_000_array_kernels_give_the_reported_outputs() {
    let want_7a: Vec<i32> = (0..16).map(|i| if i == 3 { 6 } else { i }).collect();
    let twice = |n: i32| -> Vec<i32> { (0..n).map(|i| 2 * i).collect() };
    let plus10 = |n: i32| -> Vec<i32> { (0..n).map(|i| 3 * i + 10).collect() };
    for dev in devices() {
        // test7a: element 3 of arange 16 becomes 6.
        let mut a = arange(16);
        test7a(&dev, &mut a, &arange(16), &arange(16)).unwrap();
        assert_eq!(a.to_vec(), want_7a, "{dev}");
        // test7b and test7c: arange 64 + arange 64 (and a length that is not a multiple of 8
        // or of the DPU count, so shares and DMA blocks have tails).
        for n in [64, 1000, 100_003] {
            let mut a = arange(n);
            test7b(&dev, &mut a, &arange(n), &arange(n)).unwrap();
            assert_eq!(a.to_vec(), twice(n), "test7b {n} on {dev}");
            let mut a = InvArray::<i32>::zeroed(n as usize);
            test7c(&dev, &mut a, &arange(n), &arange(n)).unwrap();
            assert_eq!(a.to_vec(), twice(n), "test7c {n} on {dev}");
            // test8a: (array([0, 2, ..., 126]), 64).
            let out = test8a(&dev, &arange(n)).unwrap();
            assert_eq!((out.to_vec(), out.len()), (twice(n), n as usize), "test8a {n} on {dev}");
            // test8b and test8c: (array([10, 13, ..., 199]), 64).
            let input: InvArray<(i32, i32, i32)> = (0..n).map(|i| (i, i, i)).collect();
            let mut output = InvArray::<i32>::zeroed(n as usize);
            test8b(&dev, &input, &mut output).unwrap();
            assert_eq!(output.to_vec(), plus10(n), "test8b {n} on {dev}");
            let out = test8c(&dev, &input).unwrap();
            assert_eq!(out.to_vec(), plus10(n), "test8c {n} on {dev}");
        }
        // Empty arrays launch nothing.
        assert_eq!(test8a(&dev, &arange(0)).unwrap().len(), 0);
    }
    // The values the suite reports for 64 elements.
    let dev = Device::upmem_emulator(4, 16).unwrap();
    let out = test8c(&dev, &(0..64).map(|i| (i, i, i)).collect()).unwrap();
    assert_eq!(out.get(0), Some(10));
    assert_eq!(out.get(1), Some(13));
    assert_eq!(out.get(63), Some(199));
}

#[test]
fn reduce_combines_tasklet_and_dpu_partials_in_order() {
    let cpu = Device::cpu();
    for dev in devices() {
        for n in [1usize, 7, 1000, 100_003] {
            let xs: InvArray<i64> = (0..n as i64).map(|i| i * 3 - 7).collect();
            assert_eq!(sum(&dev, &xs).unwrap(), (0..n as i64).map(|i| i * 3 - 7).sum::<i64>(), "sum {n} on {dev}");
            // Order-sensitive: a composition of affine maps.
            let fs: InvArray<(i64, i64)> = (0..n as i64).map(|i| (i % 5 - 2, i * 7 + 1)).collect();
            let want = (0..n as i64).fold((1i64, 0i64), |(m1, c1), i| {
                let (m2, c2) = (i % 5 - 2, i * 7 + 1);
                (m1.wrapping_mul(m2), c1.wrapping_mul(m2).wrapping_add(c2))
            });
            assert_eq!(compose(&dev, &fs).unwrap(), want, "compose {n} on {dev}");
            assert_eq!(compose(&dev, &fs).unwrap(), compose(&cpu, &fs).unwrap());
            let fl: InvArray<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 - 500.5).collect();
            assert_eq!(minmax(&dev, &fl).unwrap(), minmax(&cpu, &fl).unwrap(), "minmax {n} on {dev}");
        }
        // Empty: `init`.
        assert_eq!(sum(&dev, &InvArray::<i64>::zeroed(0)).unwrap(), 0);
    }
}

#[test]
fn a_failing_kernel_is_a_typed_error_naming_the_kernel() {
    let dev = Device::upmem_emulator(4, 11).unwrap();
    let xs = arange(1000);
    assert_eq!(divide(&dev, &xs, 3).unwrap().to_vec(), (0..1000).map(|i| i / 3).collect::<Vec<_>>());
    let e = divide(&dev, &xs, 0).unwrap_err();
    match &e {
        Error::KernelFailed { kernel, message } => {
            assert!(kernel.contains("spiral_upmem_divide"), "{e}");
            assert!(message.contains("division by zero"), "{e}");
        }
        other => panic!("expected KernelFailed, got {other:?}"),
    }
}

#[test]
fn a_map_moves_each_leaf_once() {
    let dev = Device::upmem_emulator(8, 16).unwrap();
    let n = 1 << 16;
    let input: InvArray<(i32, i32, i32)> = (0..n).map(|i| (i, i, i)).collect();
    let before = dev.upmem_stats().expect("UPMEM stats");
    let out = test8c(&dev, &input).unwrap();
    assert_eq!(out.len(), n as usize);
    let after = dev.upmem_stats().expect("UPMEM stats");
    // Three i32 leaves in, one out: 16 bytes per element (plus at most 8 bytes of padding per
    // leaf and DPU).
    let moved = (after.leaf_bytes_pushed - before.leaf_bytes_pushed) + (after.leaf_bytes_pulled - before.leaf_bytes_pulled);
    let min = 16 * n as u64;
    assert!(moved >= min && moved <= min + 4 * 8 * 8, "moved {moved} bytes for {min}");
}

#[test]
fn an_oversized_dma_in_a_kernel_macro_is_the_typed_dma_size_error() {
    let dev = Device::upmem_emulator(1, 4).unwrap();
    let xs: InvArray<u64> = (0..1024).collect();
    let e = big_dma(&dev, &xs).unwrap_err();
    match &e {
        Error::UpmemRule { rule, message } => {
            assert_eq!(*rule, spiral::UpmemRule::DmaSize, "{e}");
            assert!(message.contains("4096"), "{e}");
        }
        other => panic!("expected the DMA size rule, got {other:?}"),
    }
}

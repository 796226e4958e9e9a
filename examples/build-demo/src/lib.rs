//! The quickstart's kernels through `spiral-build` (build.rs) instead of `spiral!`: the same
//! typed API, with the kernels compiled as C and linked.

use spiral::{Device, Error, InvArray};

include!(concat!(env!("OUT_DIR"), "/spiral/map.rs"));

/// Kernels over the edge cases of Spiral's primitive operations (`spiral/edges.spir`), compiled
/// as C; `tests/edges.rs` compares them with the same kernels compiled by `spiral!`.
pub mod edges {
    use spiral::{Device, Error, InvArray};
    include!(concat!(env!("OUT_DIR"), "/spiral/edges.rs"));
}

/// A particle step over `InvArray<Particle>` (`spiral/particles.spir`): a struct declared in an
/// `// export:` line, `&mut` and slice parameters, compiled as C.
pub mod particles {
    use spiral::{Device, Error, InvArray};
    include!(concat!(env!("OUT_DIR"), "/spiral/particles.rs"));
}

/// Seed 000's test8c and a dot product (`spiral/dpu.spir`, `// targets: cpu, upmem`): C kernels
/// on the CPU, DPU programs on an UPMEM device (`tests/dpu.rs`).
pub mod dpu {
    use spiral::{Device, Error, InvArray};
    include!(concat!(env!("OUT_DIR"), "/spiral/dpu.rs"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(n: i32) -> InvArray<(i32, i32, i32)> {
        (0..n).map(|i| (i, i, i)).collect()
    }

    #[test]
    fn c_kernels_give_the_quickstart_outputs_on_one_and_two_threads() {
        for threads in [1, 2] {
            let dev = Device::cpu_with_threads(threads);
            let out = map_tuple(&dev, &input(16)).unwrap();
            let (s, p): (Vec<i32>, Vec<i32>) = out.to_vec().into_iter().unzip();
            assert_eq!(s, (0..16).map(|i| 3 * i).collect::<Vec<_>>());
            assert_eq!(p, (0..16).map(|i| i * i * i).collect::<Vec<_>>());
            let out = map_record(&dev, &input(16)).unwrap();
            assert_eq!(out.to_vec(), (0..16).map(|i| 9 * i * i).collect::<Vec<_>>());
        }
    }

    #[test]
    fn out_of_bounds_in_a_c_kernel_is_a_typed_error() {
        let xs: InvArray<i32> = (0..10).collect();
        assert!(matches!(shifted(&Device::cpu_with_threads(2), &xs), Err(Error::KernelFailed { .. })));
    }

    #[test]
    fn nested_columns_bools_and_branches_in_c() {
        let input: InvArray<(i32, (f64, bool))> = (0..64).map(|i| (i, (0.5, i % 3 == 0))).collect();
        let out = scale_where(&Device::cpu_with_threads(2), &input).unwrap();
        let expect: Vec<f64> = (0..64).map(|i| if i % 3 == 0 { 0.5 * i as f64 } else { 0.0 }).collect();
        assert_eq!(out.to_vec(), expect);
    }

    #[test]
    fn empty_input_gives_empty_output() {
        let out = map_tuple(&Device::cpu(), &input(0)).unwrap();
        assert_eq!(out.len(), 0);
    }
}

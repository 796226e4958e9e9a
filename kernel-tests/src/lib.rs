//! The kernel corpus on every kernel target.
//!
//! Each `corpus/*.spir` program declares its exports with `// export:` lines. `build.rs`
//! compiles the corpus with spiral-build (C kernels) and generates, per program, a module with
//! the C wrappers (`c`), the same program through `spiral!` (`rust`), and one test per export
//! and target (`<export>__cpu_c`, `<export>__cpu_rust`). Each test runs its target on generated
//! inputs (lengths 0, 1, 17 and 1000, on 1 and 2 threads) and compares a summary of every
//! result with the export's one snapshot in `src/snapshots/`, shared by all targets: a target
//! that computes anything else fails. `cargo test -p spiral-kernel-tests -- --list` lists them.
//! With the feature `upmem`, every program UPMEM DPUs can hold also runs on the UPMEM emulator
//! (`<export>__upmem`, against the same snapshots); [`UPMEM_NOT_APPLICABLE`] lists the others.

#![allow(non_snake_case)]

pub mod support;

include!(concat!(env!("OUT_DIR"), "/corpus.rs"));

#[cfg(test)]
mod upmem_coverage {
    /// Every corpus program left off UPMEM is left off for one of UPMEM's documented limits,
    /// so a kernel that stops compiling for UPMEM fails here instead of silently losing its
    /// UPMEM tests.
    #[test]
    fn programs_left_off_upmem_hit_a_documented_limit() {
        const LIMITS: &[&str] = &[
            "atomics are not available in UPMEM kernels",
            "the C math library",
            "the scans are not available on UPMEM",
            "only at its own index",
            "`chunk_set` is not available in an UPMEM element kernel",
        ];
        for (unit, reason) in crate::UPMEM_NOT_APPLICABLE {
            assert!(LIMITS.iter().any(|l| reason.contains(l)), "corpus/{unit}.spir is not on UPMEM for an unexpected reason: {reason}");
        }
        if cfg!(feature = "upmem") {
            assert!(crate::UPMEM_NOT_APPLICABLE.len() < 20, "most of the corpus should run on UPMEM: {:?}", crate::UPMEM_NOT_APPLICABLE);
        }
    }
}

//! `SPIRAL_CPU_THREADS` above `MAX_CPU_THREADS` is clamped. The only test in its binary
//! because it changes the process environment.

use spiral_rt::{Device, CPU_THREADS_VAR, MAX_CPU_THREADS};

#[test]
fn a_huge_thread_count_from_the_environment_is_capped() {
    std::env::set_var(CPU_THREADS_VAR, usize::MAX.to_string());
    let dev = Device::cpu();
    assert_eq!(dev.threads(), MAX_CPU_THREADS);
    let out = dev.for_each_chunk(100_000, |_| {});
    assert!(out.is_ok());
    std::env::set_var(CPU_THREADS_VAR, "100000");
    assert_eq!(Device::cpu().threads(), MAX_CPU_THREADS);
    std::env::remove_var(CPU_THREADS_VAR);
    assert!(Device::cpu().threads() <= MAX_CPU_THREADS);
}

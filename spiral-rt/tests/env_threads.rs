//! `SPIRAL_CPU_THREADS` sets `Device::cpu()`'s thread count. This is the only test in its
//! binary because it changes the process environment.

use spiral_rt::{Device, CPU_THREADS_VAR};

#[test]
fn cpu_threads_come_from_the_environment() {
    std::env::set_var(CPU_THREADS_VAR, "5");
    assert_eq!(Device::cpu().threads(), 5);
    std::env::set_var(CPU_THREADS_VAR, " 3 ");
    assert_eq!(Device::cpu().threads(), 3);
    let default = std::thread::available_parallelism().map_or(1, |n| n.get());
    for ignored in ["0", "many", "-2", ""] {
        std::env::set_var(CPU_THREADS_VAR, ignored);
        assert_eq!(Device::cpu().threads(), default, "{ignored:?} is ignored");
    }
    std::env::remove_var(CPU_THREADS_VAR);
    assert_eq!(Device::cpu().threads(), default);
}

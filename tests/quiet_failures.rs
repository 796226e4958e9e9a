//! Failures of generated functions are returned, not printed: no panic message reaches stderr
//! (the panic hook never runs) for an index out of bounds on the host or in a kernel, a
//! `failwith`, a division by zero, or a failed `chunk_set` range. Its own test binary, because
//! it installs a process-wide panic hook.
use spiral::{spiral, Device, Error, InvArray};
use std::sync::atomic::{AtomicUsize, Ordering};

spiral! {
    fn host_index(dev: &Device, xs: &InvArray<i32>, i: i32) -> Result<i32, Error>;
    fn kernel_index(dev: &Device, xs: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    fn fails(dev: &Device, x: i32) -> Result<i32, Error>;
    fn divides(dev: &Device, xs: &InvArray<i32>, d: i32) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl host_index xs i = inv_index xs i
inl kernel_index xs =
    inl out = inv_create `i32 (inv_length xs)
    parallel_for (inv_length xs) fun i => inv_set out i (inv_index xs (i + 1i32))
    out
inl fails x = if x > 0i32 then failwith `i32 "positive" else x
inl divides xs d = map (fun x => x / d) xs
    "#
}

static HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn failures_come_back_as_errors_without_printing() {
    std::panic::set_hook(Box::new(|_| {
        HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));
    let xs: InvArray<i32> = (0..10).collect();
    for threads in [1, 2] {
        let dev = Device::cpu_with_threads(threads);
        for i in [-1, 10, i32::MAX] {
            match host_index(&dev, &xs, i) {
                Err(Error::KernelFailed { kernel, message }) => {
                    assert_eq!(kernel, "host_index");
                    assert!(message.contains("out of bounds"), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(host_index(&dev, &xs, 3).unwrap(), 3);
        assert!(matches!(kernel_index(&dev, &xs), Err(Error::KernelFailed { .. })));
        assert!(matches!(fails(&dev, 1), Err(Error::KernelFailed { .. })));
        assert!(matches!(divides(&dev, &xs, 0), Err(Error::KernelFailed { .. })));
    }
    let _ = std::panic::take_hook();
    assert_eq!(HOOK_CALLS.load(Ordering::SeqCst), 0, "a failure went through the panic hook (and would print to stderr)");
}

//! `spiral!` with `targets = [cpu, cuda]`: one export, two kernel targets; the wrapper picks by
//! the device. Here (no GPU) the CPU arm runs and must give the usual results, the CUDA arm
//! compiles (its kernels are checked by `cargo xtask ptx-check` and the CUDA model tests), and
//! a CUDA device cannot be made, which is a typed error, not a panic.
use spiral::{spiral, Device, DeviceInvArray, Error, InvArray};

spiral! {
    targets = [cpu, cuda],
    fn scale_add(dev: &Device, a: f32, x: &InvArray<f32>, y: &mut InvArray<f32>) -> Result<(), Error>;
    fn stats(dev: &Device, xs: &InvArray<f64>) -> Result<(f64, f64), Error>;
    fn prefix(dev: &Device, xs: &InvArray<i64>) -> Result<InvArray<i64>, Error>;
    fn pairs(dev: &Device, xs: InvArray<(i32, (f32, f64))>) -> Result<InvArray<(i32, (f32, f64))>, Error>;
    r#"
open inv
open kernel
inl scale_add a x y = map_inp (fun x, y => a * x + y) (inv_zip x y) y
inl stats xs = reduce (fun a b => a + b) 0.0 xs, reduce (fun a b => if a > b then a else b) -1000000.0 xs
inl prefix xs = scan_inclusive (fun a b => a + b) 0i64 xs
inl pairs xs =
    map_inp (fun a, (b, c) => a + 1i32, (b * 2.0f32, c - 1.0)) xs xs
    xs
    "#
}

spiral! {
    targets = [cuda],
    fn cuda_only(dev: &Device, xs: &InvArray<i32>) -> Result<InvArray<i32>, Error>;
    r#"
open inv
open kernel
inl cuda_only xs = map (fun x => x * 3i32) xs
    "#
}

// GPU-resident arrays as parameters: kernels use them in place, nothing is copied.
spiral! {
    targets = [cpu, cuda],
    fn double_into(dev: &Device, xs: &DeviceInvArray<i32>, out: &mut DeviceInvArray<i32>) -> Result<(), Error>;
    fn total(dev: &Device, xs: &DeviceInvArray<(f64, i64)>) -> Result<(f64, i64), Error>;
    r#"
open inv
open kernel
inl double_into xs out = map_inp (fun x => x * 2i32) xs out
inl total xs = reduce (fun (a, b) (c, d) => a + c, b + d) (0.0, 0i64) xs
    "#
}

#[test]
fn the_cpu_arm_of_a_two_target_export_runs_on_the_cpu_device() {
    let dev = Device::cpu_with_threads(2);
    let x: InvArray<f32> = (0..1000).map(|i| i as f32).collect();
    let mut y: InvArray<f32> = (0..1000).map(|_| 1.0).collect();
    scale_add(&dev, 2.0, &x, &mut y).unwrap();
    assert_eq!(y.get(10), Some(21.0));
    let xs: InvArray<f64> = (0..100).map(|i| i as f64).collect();
    assert_eq!(stats(&dev, &xs).unwrap(), (4950.0, 99.0));
    let ones: InvArray<i64> = InvArray::from_columns(vec![1; 5]).unwrap();
    assert_eq!(prefix(&dev, &ones).unwrap().to_vec(), vec![1, 2, 3, 4, 5]);
    let ps: InvArray<(i32, (f32, f64))> = vec![(1, (1.5, 2.0))].into_iter().collect();
    assert_eq!(pairs(&dev, ps).unwrap().to_vec(), vec![(2, (3.0, 1.0))]);
}

#[test]
fn a_cuda_only_export_on_the_cpu_is_a_typed_error() {
    let xs: InvArray<i32> = (0..4).collect();
    match cuda_only(&Device::cpu(), &xs) {
        Err(Error::Unsupported { operation, .. }) => assert!(operation.contains("compiled for CUDA only"), "{operation}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn without_a_gpu_the_cuda_device_is_a_typed_error() {
    match Device::cuda(0) {
        Ok(dev) => {
            // A machine with a GPU: the CUDA arm runs and must agree with the CPU.
            let xs: InvArray<i32> = (0..1000).collect();
            assert_eq!(cuda_only(&dev, &xs).unwrap().to_vec(), (0..1000).map(|i| i * 3).collect::<Vec<_>>());
            let xs: InvArray<f64> = (0..100).map(|i| i as f64).collect();
            assert_eq!(stats(&dev, &xs).unwrap(), (4950.0, 99.0));
            // Resident arrays: in place, then read back once.
            let host: InvArray<i32> = (0..1000).collect();
            let xs = DeviceInvArray::to_device(&dev, &host).unwrap();
            let mut out = DeviceInvArray::<i32>::zeroed(&dev, 1000).unwrap();
            double_into(&dev, &xs, &mut out).unwrap();
            assert_eq!(out.to_host().unwrap().to_vec(), (0..1000).map(|i| i * 2).collect::<Vec<_>>());
            let pairs: InvArray<(f64, i64)> = (0..100).map(|i| (i as f64, i as i64)).collect();
            let pairs = DeviceInvArray::to_device(&dev, &pairs).unwrap();
            assert_eq!(total(&dev, &pairs).unwrap(), (4950.0, 4950));
            // A resident array on the CPU device: a typed error.
            match total(&Device::cpu(), &pairs) {
                Err(Error::Unsupported { operation, .. }) => assert!(operation.contains("DeviceInvArray"), "{operation}"),
                other => panic!("{other:?}"),
            }
        }
        Err(e) => assert!(matches!(e, Error::DeviceMissing { .. }), "{e:?}"),
    }
}

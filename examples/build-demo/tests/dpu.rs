//! `spiral/dpu.spir` (`// targets: cpu, upmem`) through spiral-build: the same wrappers on the
//! CPU and, with the feature `upmem`, on the UPMEM emulator, with equal results.
use spiral::{Device, Error, InvArray};
use spiral_build_demo::dpu::{add10, dot};

fn devices() -> Vec<Device> {
    let mut out = vec![Device::cpu()];
    match Device::upmem_emulator(4, 11) {
        Ok(d) => out.push(d),
        Err(Error::DeviceMissing { reason, .. }) => assert!(!cfg!(feature = "upmem"), "the emulator is missing: {reason}"),
        Err(e) => panic!("{e}"),
    }
    out
}

#[test]
fn the_same_wrappers_give_the_same_results_on_every_device() {
    let input: InvArray<(i32, i32, i32)> = (0..1000).map(|i| (i, 2 * i, -i)).collect();
    let xs: InvArray<(f64, f64)> = (0..1000).map(|i| (i as f64, 0.5)).collect();
    for dev in devices() {
        let out = add10(&dev, &input).unwrap();
        assert_eq!(out.to_vec(), (0..1000).map(|i| 2 * i + 10).collect::<Vec<_>>(), "{dev}");
        assert_eq!(dot(&dev, &xs).unwrap(), 249_750.0, "{dev}");
    }
    assert_eq!(devices().len(), if cfg!(feature = "upmem") { 2 } else { 1 });
}

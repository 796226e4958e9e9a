//! The CUDA runtime without a GPU (every machine) and, where `Device::cuda(0)` succeeds, with one.
//!
//! Runs with and without the `cuda` feature: `cargo test -p spiral-rt [--features cuda]`.
//! The NVRTC checks compile for real when libnvrtc can be loaded (e.g. `LD_LIBRARY_PATH`
//! pointing at the `nvidia-cuda-nvrtc` wheel's `lib`); `SPIRAL_TEST_NVRTC=1` makes that required.

use std::sync::atomic::{AtomicUsize, Ordering};

use spiral_rt::{nvrtc_compile, Device, DeviceInvArray, DeviceKind, Error, InvArray, Kernel, KernelArgs, LaunchConfig};

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics (even caught ones) from here on; every test below asserts none happened.
fn count_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    });
}

fn nvrtc_required() -> bool {
    std::env::var("SPIRAL_TEST_NVRTC").is_ok_and(|v| v == "1")
}

/// A kernel in the ABI of `spiral_rt::cuda`: out[i] = (a[i] + k, b[i] * 2, !c[i]); fails with
/// status 3 where a[i] == k == 0 would divide by zero (i.e. when asked to), 1 when out is short.
const KERNEL_SRC: &str = r#"
// NVRTC has no standard headers: no <cstdint>.
typedef int int32_t;
typedef unsigned long long size_t_;
#define size_t size_t_
extern "C" __global__ void entry0(int32_t __len, int32_t *__status,
        const int32_t *a, size_t a_len, const double *b, size_t b_len, const bool *c, size_t c_len,
        int32_t *o0, size_t o0_len, double *o1, size_t o1_len, bool *o2, size_t o2_len, int32_t k) {
    for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < __len; i += gridDim.x * blockDim.x) {
        if ((size_t)i >= o0_len || (size_t)i >= a_len) { *__status = 1; return; }
        if (k == 0) { *__status = 3; return; }
        o0[i] = a[i] + k; o1[i] = b[i] * 2.0; o2[i] = !c[i];
    }
}
"#;

#[test]
fn cuda_device_is_a_typed_error_or_a_working_gpu() {
    count_panics();
    let first = Device::cuda(0);
    match first.clone() {
        Err(Error::DeviceMissing { device, reason }) => {
            assert_eq!(device, "cuda:0");
            if cfg!(feature = "cuda") {
                assert!(reason.contains("libcuda") || reason.contains("driver") || reason.contains("device"), "{reason}");
            } else {
                assert!(reason.contains("`cuda` feature"), "{reason}");
            }
            let shown = Error::DeviceMissing { device, reason }.to_string();
            assert!(shown.starts_with("device `cuda:0` is not available: "), "{shown}");
        }
        Err(e) => panic!("expected DeviceMissing, got {e:?}"),
        Ok(dev) => gpu_round_trip(&dev),
    }
    // Asking again (and for absurd ordinals) is just as quiet.
    assert_eq!(Device::cuda(0).is_ok(), first.is_ok());
    assert!(matches!(Device::cuda(usize::MAX), Err(Error::DeviceMissing { .. })));
    assert!(matches!(Device::cuda(1 << 31), Err(Error::DeviceMissing { .. })));
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
}

#[test]
fn cuda_operations_on_the_cpu_device_are_typed_errors() {
    count_panics();
    let cpu = Device::cpu_with_threads(2);
    let host: InvArray<(i32, f64)> = (0..10).map(|i| (i, i as f64)).collect();
    let e = DeviceInvArray::to_device(&cpu, &host).unwrap_err();
    assert!(matches!(&e, Error::Unsupported { device, operation } if device == "cpu (2 threads)" && operation.contains("not a CUDA device")), "{e:?}");
    assert!(e.to_string().starts_with("device `cpu (2 threads)` cannot copy an array to device memory"), "{e}");
    assert!(matches!(DeviceInvArray::<i32>::zeroed(&cpu, 4), Err(Error::Unsupported { .. })));

    let kernel = Kernel::cuda("entry0", KERNEL_SRC);
    let mut args = KernelArgs::new();
    args.scalar(1i32);
    let e = cpu.launch(&kernel, 10, &args).unwrap_err();
    assert!(matches!(&e, Error::Unsupported { operation, .. } if operation.contains("`entry0`")), "{e:?}");
    assert!(matches!(cpu.launch(&Kernel::ptx("k", ""), 0, &KernelArgs::new()), Err(Error::Unsupported { .. })));

    // Launch configuration and properties are CUDA-only; the CPU device ignores them.
    let same = cpu.clone().with_launch_config(LaunchConfig { threads_per_block: 1024, ..LaunchConfig::default() });
    assert_eq!(same, cpu);
    assert_eq!(cpu.launch_config(), None);
    assert_eq!(cpu.cuda_info(), None);
    assert_eq!(cpu.kind(), DeviceKind::Cpu);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
}

#[test]
fn nvrtc_compiles_or_reports_a_toolchain_error() {
    count_panics();
    match nvrtc_compile(KERNEL_SRC, Some("compute_80")) {
        Ok(ptx) => {
            assert!(ptx.contains(".entry entry0"), "{ptx}");
            assert!(ptx.contains(".target sm_80"), "{ptx}");
            // Cached: the same text again, and the same allocation.
            let again = nvrtc_compile(KERNEL_SRC, Some("compute_80")).unwrap();
            assert!(std::sync::Arc::ptr_eq(&ptx, &again));
            // A compile error carries NVRTC's log.
            let e = nvrtc_compile("extern \"C\" __global__ void k() { undefined_thing(); }", None).unwrap_err();
            assert!(matches!(&e, Error::Toolchain { tool, message } if tool == "nvrtc" && message.contains("undefined_thing")), "{e:?}");
        }
        Err(Error::Toolchain { tool, message }) => {
            assert!(!nvrtc_required(), "SPIRAL_TEST_NVRTC=1 but: {message}");
            assert_eq!(tool, "nvrtc");
            if cfg!(feature = "cuda") {
                assert!(message.contains("libnvrtc"), "{message}");
            } else {
                assert!(message.contains("`cuda` feature"), "{message}");
            }
        }
        Err(e) => panic!("expected a Toolchain error, got {e:?}"),
    }
    // A NUL byte is refused before NVRTC sees it (cudarc would panic on it).
    assert!(matches!(nvrtc_compile("a\0b", None), Err(Error::Toolchain { .. })));
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
}

/// Only where a GPU is present: transfers, a launch, status failures and limits.
fn gpu_round_trip(dev: &Device) {
    assert_eq!(dev.kind(), DeviceKind::Cuda);
    let info = dev.cuda_info().expect("a CUDA device has info");
    assert!(info.sm_count > 0 && info.max_threads_per_block >= 256, "{info:?}");
    assert_eq!(dev.launch_config(), Some(LaunchConfig::default()));
    assert!(dev.to_string().starts_with("cuda:0 ("));
    assert!(matches!(dev.map(&InvArray::<i32>::zeroed(3), |x| x), Err(Error::Unsupported { .. })));

    let n = 100_000;
    let host: InvArray<(i32, f64, bool)> = (0..n).map(|i| (i as i32, i as f64 / 3.0, i % 3 == 0)).collect();
    let d = DeviceInvArray::to_device(dev, &host).unwrap();
    assert_eq!(d.len(), n);
    assert_eq!(d.leaves().len(), 3);
    assert_eq!(d.to_host().unwrap(), host);
    let empty: InvArray<(i32, f64, bool)> = InvArray::new();
    assert_eq!(DeviceInvArray::to_device(dev, &empty).unwrap().to_host().unwrap(), empty);

    if spiral_rt::nvrtc_compile(KERNEL_SRC, None).is_err() && !nvrtc_required() {
        return;
    }
    let kernel = Kernel::cuda("entry0", KERNEL_SRC);
    let mut out = DeviceInvArray::<(i32, f64, bool)>::zeroed(dev, n).unwrap();
    let mut args = KernelArgs::new();
    args.array(&d).array_mut(&mut out).scalar(5i32);
    dev.launch(&kernel, n, &args).unwrap();
    let got = out.to_host().unwrap();
    let want: InvArray<(i32, f64, bool)> = host.iter().map(|(a, b, c)| (a + 5, b * 2.0, !c)).collect();
    assert_eq!(got, want);

    // Status 3 and status 1 become KernelFailed naming the kernel.
    let mut args = KernelArgs::new();
    args.array(&d).array_mut(&mut out).scalar(0i32);
    let e = dev.launch(&kernel, n, &args).unwrap_err();
    assert!(matches!(&e, Error::KernelFailed { kernel, message } if kernel == "entry0" && message.contains("status 3")), "{e:?}");
    let mut short = DeviceInvArray::<(i32, f64, bool)>::zeroed(dev, 3).unwrap();
    let mut args = KernelArgs::new();
    args.array(&d).array_mut(&mut short).scalar(1i32);
    let e = dev.launch(&kernel, n, &args).unwrap_err();
    assert!(matches!(&e, Error::KernelFailed { message, .. } if message.contains("status 1")), "{e:?}");

    // A missing kernel, bad PTX, too many threads, too many elements: typed errors.
    let args = KernelArgs::new();
    let e = dev.launch(&Kernel::cuda("nope", KERNEL_SRC), 1, &args).unwrap_err();
    assert!(matches!(&e, Error::KernelFailed { kernel, .. } if kernel == "nope"), "{e:?}");
    let e = dev.launch(&Kernel::ptx("k", "not ptx"), 1, &args).unwrap_err();
    assert!(matches!(&e, Error::KernelFailed { kernel, .. } if kernel == "k"), "{e:?}");
    let big = dev.clone().with_launch_config(LaunchConfig { threads_per_block: 1 << 20, ..LaunchConfig::default() });
    assert!(matches!(big.launch(&kernel, 1, &args), Err(Error::DeviceLimit { .. })));
    assert!(matches!(dev.launch(&kernel, 1 << 31, &args), Err(Error::DeviceLimit { .. })));
    assert!(dev.launch(&kernel, 0, &args).is_ok());
}

/// A fake libcuda on `LD_LIBRARY_PATH` (built with `cc`; skipped without one), in a child
/// process because the loader reads `LD_LIBRARY_PATH` at start: one lacking most entry points
/// (refused before cudarc is called) and one with all of them whose `cuInit` says
/// `CUDA_ERROR_NO_DEVICE` (cudarc is called and fails). Both are `DeviceMissing`, no panic.
#[cfg(all(feature = "cuda", target_os = "linux"))]
#[test]
fn fake_libcuda_is_a_typed_error() {
    count_panics();
    if let Ok(expect) = std::env::var("SPIRAL_FAKE_LIBCUDA_EXPECT") {
        let e = Device::cuda(0).unwrap_err();
        assert!(matches!(&e, Error::DeviceMissing { reason, .. } if reason.contains(&expect)), "{e:?}");
        assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
        return;
    }
    if std::env::var_os("SPIRAL_FAKE_LIBCUDA_CHILD").is_some() {
        return; // a child run of another case
    }
    let dir = std::env::temp_dir().join(format!("spiral-fake-libcuda-{}", std::process::id()));
    let cases: [(&str, &str, &str); 2] = [
        ("partial", "int cuInit(unsigned f) { return 100; }\n", "lacks"),
        ("no_device", "", "the CUDA driver could not start: CUDA error (code 100)"),
    ];
    for (name, body, expect) in cases {
        let lib_dir = dir.join(name);
        std::fs::create_dir_all(&lib_dir).unwrap();
        let mut src = body.to_string();
        if body.is_empty() {
            // Every entry point, each returning CUDA_ERROR_NO_DEVICE.
            for sym in ["cuInit", "cuDeviceGet", "cuDeviceGetCount", "cuDeviceGetAttribute", "cuDeviceGetName",
                "cuDeviceTotalMem_v2", "cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRelease_v2", "cuCtxSetCurrent",
                "cuCtxGetCurrent", "cuCtxSynchronize", "cuStreamSynchronize", "cuStreamWaitEvent", "cuEventCreate",
                "cuEventRecord", "cuEventDestroy_v2", "cuMemAlloc_v2", "cuMemAllocAsync", "cuMemFree_v2",
                "cuMemFreeAsync", "cuMemsetD8Async", "cuMemcpyHtoDAsync_v2", "cuMemcpyDtoHAsync_v2",
                "cuModuleLoadData", "cuModuleGetFunction", "cuModuleUnload", "cuLaunchKernel", "cuGetErrorName",
                "cuGetErrorString"]
            {
                src.push_str(&format!("int {sym}() {{ return 100; }}\n"));
            }
        }
        let c = lib_dir.join("fake.c");
        std::fs::write(&c, src).unwrap();
        let built = std::process::Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(lib_dir.join("libcuda.so"))
            .arg(&c)
            .status();
        if !built.is_ok_and(|s| s.success()) {
            eprintln!("no C compiler: fake_libcuda_is_a_typed_error skipped");
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "fake_libcuda_is_a_typed_error", "--nocapture", "--test-threads=1"])
            .env("LD_LIBRARY_PATH", &lib_dir)
            .env("SPIRAL_FAKE_LIBCUDA_CHILD", "1")
            .env("SPIRAL_FAKE_LIBCUDA_EXPECT", expect)
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "case {name}:\n{text}");
        assert!(text.contains("1 passed"), "case {name}:\n{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

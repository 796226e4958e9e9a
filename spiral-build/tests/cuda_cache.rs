//! spiral-build with `// targets: cpu, cuda`: each export's CUDA unit is compiled to PTX with
//! nvcc (here a stand-in script named by `SPIRAL_NVCC`, so the test needs no CUDA toolkit and
//! counts the runs), a build with no change runs no nvcc, and editing the `.spir` file
//! compiles it again. Its own test binary: it sets a process-wide environment variable.
use std::path::Path;

const KERNELS: &str = "// targets: cpu, cuda\n// export: pub fn twice(dev: &Device, xs: &InvArray<f32>) -> Result<InvArray<f32>, Error>;\nopen inv\nopen kernel\ninl twice xs = map (fun x => x * 2.0f32) xs\n";

fn build(manifest: &Path, out: &Path) -> spiral_build::BuildReport {
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    spiral_build::Builder::new(manifest, out)
        .cargo_output(false)
        .cc_settings(spiral_build::CcSettings { target: target.clone(), host: target, opt_level: 0 })
        .build()
        .expect("builds")
}

fn nvcc_runs(log: &Path) -> usize {
    std::fs::read_to_string(log).map(|s| s.lines().count()).unwrap_or(0)
}

#[test]
fn nvcc_runs_once_per_change() {
    let root = std::env::temp_dir().join(format!("spiral-cuda-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (manifest, out) = (root.join("crate"), root.join("out"));
    std::fs::create_dir_all(manifest.join("spiral")).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let spir = manifest.join("spiral/k.spir");
    std::fs::write(&spir, KERNELS).unwrap();
    // A stand-in nvcc: logs its arguments and writes a PTX-like file to the `-o` path.
    let log = root.join("nvcc.log");
    let fake = root.join("nvcc");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\nwhile [ $# -gt 0 ]; do if [ \"$1\" = -o ]; then shift; printf '.version 9.0\\n.target sm_75\\n.visible .entry x()\\n{{ ret; }}\\n' > \"$1\"; fi; shift; done\n",
            log.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::env::set_var("SPIRAL_NVCC", &fake);

    let first = build(&manifest, &out);
    assert_eq!(first.compiled, vec!["k".to_string()]);
    assert_eq!(nvcc_runs(&log), 1, "one export, one CUDA unit, one nvcc run");
    let args = std::fs::read_to_string(&log).unwrap();
    assert!(args.contains("-ptx") && args.contains("-arch=compute_75"), "{args}");
    let cu = std::fs::read_to_string(out.join("spiral/k_twice.cu")).unwrap();
    assert!(cu.contains("extern \"C\" __global__ void spiral_cuda_twice_kernel0("), "{cu}");
    let kernels = std::fs::read_to_string(out.join("spiral/k_twice.kernels")).unwrap();
    assert!(kernels.contains(".entry"), "the PTX is what the wrappers embed: {kernels}");
    let rs = std::fs::read_to_string(out.join("spiral/k.rs")).unwrap();
    assert!(rs.contains("::spiral::DeviceKind::Cuda") && rs.contains("k_twice.kernels"), "{rs}");

    let second = build(&manifest, &out);
    assert_eq!(second.cached, vec!["k".to_string()]);
    assert_eq!(nvcc_runs(&log), 1, "no change: no nvcc");

    std::fs::write(&spir, KERNELS.replace("2.0f32", "3.0f32")).unwrap();
    let third = build(&manifest, &out);
    assert_eq!(third.compiled, vec!["k".to_string()]);
    assert_eq!(nvcc_runs(&log), 2, "an edit compiles the CUDA unit again");

    // Without nvcc the source itself is embedded, for NVRTC at the first launch.
    std::env::set_var("SPIRAL_NVCC", root.join("no-such-nvcc"));
    std::fs::write(&spir, KERNELS.replace("2.0f32", "4.0f32")).unwrap();
    build(&manifest, &out);
    let kernels = std::fs::read_to_string(out.join("spiral/k_twice.kernels")).unwrap();
    assert!(kernels.contains("__global__"), "the CUDA source for NVRTC");
    let _ = std::fs::remove_dir_all(&root);
}

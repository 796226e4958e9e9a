//! `Builder::kernels_dir`: every kernel's device source, one file per kernel and backend, on
//! every build (compiled or cached), each a complete translation unit.
use std::path::Path;
use std::process::Command;

const UNIT: &str = "// targets: cpu, cuda\n// export: pub fn twice(dev: &Device, xs: &InvArray<f32>) -> Result<InvArray<f32>, Error>;\n// export: pub fn total(dev: &Device, xs: &InvArray<i64>) -> Result<i64, Error>;\nopen inv\nopen kernel\ninl twice xs = map (fun x => x * 2.0f32) xs\ninl total xs = reduce (fun a b => a + b) 0i64 xs\n";

fn build(manifest: &Path, out: &Path) -> spiral_build::BuildReport {
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    spiral_build::Builder::new(manifest, out)
        .cargo_output(false)
        .cc_settings(spiral_build::CcSettings { target: target.clone(), host: target, opt_level: 0 })
        .kernels_dir("kernels")
        .build()
        .expect("builds")
}

#[test]
fn every_kernel_is_written_alone_per_backend() {
    let root = std::env::temp_dir().join(format!("spiral-kernels-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (manifest, out) = (root.join("crate"), root.join("out"));
    std::fs::create_dir_all(manifest.join("spiral")).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(manifest.join("spiral/k.spir"), UNIT).unwrap();
    let first = build(&manifest, &out);
    let dir = manifest.join("kernels");
    let mut names: Vec<String> = first.kernel_files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["k_total.kernel0.cpu.c", "k_total.kernel0.cu", "k_twice.kernel0.cpu.c", "k_twice.kernel0.cu"]);
    let c = std::fs::read_to_string(dir.join("k_twice.kernel0.cpu.c")).unwrap();
    assert!(c.contains("int32_t spiral_k_twice_kernel0("), "the symbol the unit's C uses:\n{c}");
    let cu = std::fs::read_to_string(dir.join("k_total.kernel0.cu")).unwrap();
    assert!(cu.contains("extern \"C\" __global__ void spiral_cuda_total_kernel0(") && cu.contains("__shfl_down_sync"), "the block reduce:\n{cu}");
    // The C kernel compiles alone.
    if Command::new("cc").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let obj = root.join("k.o");
        let st = Command::new("cc").args(["-std=c11", "-c", "-o"]).arg(&obj).arg(dir.join("k_twice.kernel0.cpu.c")).status().unwrap();
        assert!(st.success(), "cc compiles the kernel file alone");
    }
    // A cached build writes them again (a deleted file comes back).
    std::fs::remove_file(dir.join("k_twice.kernel0.cu")).unwrap();
    let second = build(&manifest, &out);
    assert_eq!(second.cached, vec!["k".to_string()]);
    assert!(dir.join("k_twice.kernel0.cu").exists());
    let _ = std::fs::remove_dir_all(&root);
}

/// A `// targets: cpu, upmem` unit: each UPMEM kernel is written as a whole DPU program, and the
/// wrappers hold the programs and dispatch to them on an UPMEM device.
#[test]
fn upmem_kernels_are_whole_dpu_programs_and_the_wrappers_dispatch_to_them() {
    let root = std::env::temp_dir().join(format!("spiral-kernels-dir-upmem-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (manifest, out) = (root.join("crate"), root.join("out"));
    std::fs::create_dir_all(manifest.join("spiral")).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(manifest.join("spiral/k.spir"), UNIT.replace("// targets: cpu, cuda", "// targets: cpu, upmem")).unwrap();
    let report = build(&manifest, &out);
    let mut names: Vec<String> = report.kernel_files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["k_total.kernel0.cpu.c", "k_total.kernel0.dpu.c", "k_twice.kernel0.cpu.c", "k_twice.kernel0.dpu.c"]);
    let dpu = std::fs::read_to_string(manifest.join("kernels/k_total.kernel0.dpu.c")).unwrap();
    assert!(dpu.contains("int main(void)") && dpu.contains("barrier_wait(&__spi_barrier);") && dpu.contains("__host uint64_t __spi_args["), "the DPU reduce:\n{dpu}");
    let wrappers = std::fs::read_to_string(out.join("spiral/k.rs")).unwrap();
    assert!(wrappers.contains("::spiral::DeviceKind::Upmem =>") && wrappers.contains("static __SPIRAL_UPMEM: [&str; 1]"), "{wrappers}");
    assert!(wrappers.contains(".upmem_launch(&::spiral::UpmemKernel { name: \"spiral_upmem_total_kernel0\""), "{wrappers}");
    let _ = std::fs::remove_dir_all(&root);
}

/// A top-down (`.spi`) unit: inference runs first, each export's signature is checked against
/// the inferred type, and literals take their inferred types (`2` is an `f32` here).
#[test]
fn a_top_down_unit_is_type_checked_against_its_signatures() {
    let root = std::env::temp_dir().join(format!("spiral-kernels-dir-spi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (manifest, out) = (root.join("crate"), root.join("out"));
    std::fs::create_dir_all(manifest.join("spiral")).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let unit = "// export: pub fn twice(dev: &Device, xs: &InvArray<f32>) -> Result<InvArray<f32>, Error>;\nopen kernel\ninl twice xs = map (fun x => x * 2) xs\n";
    std::fs::write(manifest.join("spiral/t.spi"), unit).unwrap();
    let report = build(&manifest, &out);
    assert_eq!(report.compiled, vec!["t".to_string()]);
    let c = std::fs::read_to_string(manifest.join("kernels/t_twice.kernel0.cpu.c")).unwrap();
    assert!(c.contains("2.0f") || c.contains("2.f") || c.contains("(float)2"), "the literal is an f32:\n{c}");
    // A signature that disagrees with the inferred type is an error naming both types.
    std::fs::write(manifest.join("spiral/t.spi"), unit.replace("InvArray<f32>) -> Result<InvArray<f32>", "InvArray<f32>) -> Result<InvArray<bool>")).unwrap();
    let err = spiral_build::Builder::new(&manifest, &out).cargo_output(false).build().unwrap_err().to_string();
    assert!(err.contains("returns `inv_array bool`") && err.contains("`inv_array f32`"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}

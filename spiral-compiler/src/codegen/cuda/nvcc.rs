//! The CUDA compiler at build time: finding `nvcc` and compiling a generated `.cu` to PTX,
//! with a cache keyed by the source, the architecture and the compiler, so a build with no
//! change runs no `nvcc`. Used by `spiral!` and spiral-build; when no `nvcc` is found they
//! embed the CUDA source instead, for NVRTC at the first launch.

use std::path::{Path, PathBuf};

/// The environment variable naming the `nvcc` to use.
pub const NVCC_VAR: &str = "SPIRAL_NVCC";
/// The environment variable naming the PTX target (`compute_75` by default: CUDA 13's oldest
/// architecture, JIT-compiled by the driver for any newer GPU).
pub const ARCH_VAR: &str = "SPIRAL_CUDA_ARCH";
/// The default virtual architecture of the PTX.
pub const DEFAULT_ARCH: &str = "compute_75";

/// Where `nvcc` is: `SPIRAL_NVCC`, else `nvcc` on `PATH`, else `$CUDA_HOME/bin/nvcc` (or
/// `$CUDA_PATH`), else the PyPI wheel `nvidia-cuda-nvcc` as `.ci/install-cuda-wheels` installs
/// it (`~/.cache/spiral/cuda-wheels/nvidia/cu13/bin/nvcc`, or under `$SPIRAL_CACHE`).
pub fn find_nvcc() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(NVCC_VAR) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let c = dir.join("nvcc");
            if c.is_file() {
                return Some(c);
            }
        }
    }
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(home) = std::env::var_os(var) {
            let c = Path::new(&home).join("bin/nvcc");
            if c.is_file() {
                return Some(c);
            }
        }
    }
    let cache = std::env::var_os("SPIRAL_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/spiral")))?;
    let c = cache.join("cuda-wheels/nvidia/cu13/bin/nvcc");
    c.is_file().then_some(c)
}

/// The PTX architecture: `SPIRAL_CUDA_ARCH` or [`DEFAULT_ARCH`].
pub fn arch() -> String {
    std::env::var(ARCH_VAR).ok().filter(|a| !a.trim().is_empty()).unwrap_or_else(|| DEFAULT_ARCH.to_string())
}

/// A stable 64-bit FNV-1a hash (the cache key; the same on every run and platform).
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Compiles CUDA C++ `source` to PTX for `arch` with `nvcc`. With a `cache` folder, a result
/// for the same source, architecture and compiler is reused (written atomically); returns the
/// PTX and whether `nvcc` ran. Errors carry `nvcc`'s output.
pub fn compile_ptx(nvcc: &Path, source: &str, arch: &str, cache: Option<&Path>) -> Result<(String, bool), String> {
    let key = format!("{:016x}", fnv(&[source.as_bytes(), arch.as_bytes(), nvcc.to_string_lossy().as_bytes()]));
    if let Some(dir) = cache {
        if let Ok(ptx) = std::fs::read_to_string(dir.join(format!("{key}.ptx"))) {
            if ptx.contains(".entry") || !source.contains("__global__") {
                return Ok((ptx, false));
            }
        }
    }
    let work = std::env::temp_dir().join(format!("spiral-nvcc-{key}-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let cu = work.join("kernels.cu");
    let ptx_path = work.join("kernels.ptx");
    std::fs::write(&cu, source).map_err(|e| format!("cannot write {}: {e}", cu.display()))?;
    let out = std::process::Command::new(nvcc)
        .arg("-ptx")
        .arg(format!("-arch={arch}"))
        .arg("-o")
        .arg(&ptx_path)
        .arg(&cu)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", nvcc.display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&work);
        return Err(format!(
            "{} -ptx -arch={arch} failed:\n{}{}",
            nvcc.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let ptx = std::fs::read_to_string(&ptx_path).map_err(|e| format!("cannot read {}: {e}", ptx_path.display()));
    let _ = std::fs::remove_dir_all(&work);
    let ptx = ptx?;
    if let Some(dir) = cache {
        if std::fs::create_dir_all(dir).is_ok() {
            let tmp = dir.join(format!("{key}.ptx.{}", std::process::id()));
            if std::fs::write(&tmp, &ptx).is_ok() {
                let _ = std::fs::rename(&tmp, dir.join(format!("{key}.ptx")));
            }
        }
    }
    Ok((ptx, true))
}

//! Build script of spiral-rt: with the `upmem` feature, generates the Rust bindings of the
//! UPMEM host API (`dpu.h`) with bindgen, as a dynamically loaded library `DpuApi`, into
//! `$OUT_DIR/dpu_bindings.rs`. The header is the SDK's (`$UPMEM_HOME/include/dpu/dpu.h`) when
//! `UPMEM_HOME` is set, else the emulator's (`upmem/include/dpu.h`); both declare the same
//! functions and types, so the generated API is the same for what the runtime calls.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_UPMEM");
    #[cfg(feature = "upmem")]
    upmem::generate();
}

#[cfg(feature = "upmem")]
mod upmem {
    use std::env;
    use std::path::PathBuf;

    pub fn generate() {
        println!("cargo:rerun-if-env-changed=UPMEM_HOME");
        println!("cargo:rerun-if-env-changed=LIBCLANG_PATH");
        println!("cargo:rerun-if-env-changed=BINDGEN_EXTRA_CLANG_ARGS");
        let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
        let ours = manifest.join("upmem").join("include");
        let sdk = env::var_os("UPMEM_HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join("include").join("dpu"));
        let include = match sdk {
            Some(dir) if dir.join("dpu.h").is_file() => dir,
            Some(dir) => {
                println!(
                    "cargo:warning=UPMEM_HOME is set but {} does not exist; generating the UPMEM bindings from the emulator's dpu.h",
                    dir.join("dpu.h").display()
                );
                ours.clone()
            }
            None => ours.clone(),
        };
        for f in ["dpu.h", "dpu_types.h", "dpu_error.h"] {
            println!("cargo:rerun-if-changed={}", ours.join(f).display());
        }
        println!("cargo:rerun-if-changed={}", include.join("dpu.h").display());
        let header = include.join("dpu.h");
        let bindings = bindgen::Builder::default()
            .header(header.to_string_lossy())
            .clang_arg(format!("-I{}", include.display()))
            .dynamic_library_name("DpuApi")
            .dynamic_link_require_all(false)
            .allowlist_function("dpu_.*")
            .allowlist_type("dpu_.*")
            .allowlist_var("DPU_.*")
            .prepend_enum_name(false)
            .layout_tests(false)
            .generate_comments(false)
            .derive_default(true)
            .generate()
            .unwrap_or_else(|e| {
                panic!(
                    "bindgen could not read {} (the `upmem` feature needs libclang: install libclang-dev, or set LIBCLANG_PATH): {e}",
                    header.display()
                )
            });
        // bindgen's loader takes `AsRef<OsStr>` paths (libloading 0.8); libloading 0.9, which
        // the runtime uses, takes `AsFilename` (UTF-8 paths).
        let text = bindings.to_string().replace("P: AsRef<::std::ffi::OsStr>,", "P: ::libloading::AsFilename,");
        let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("dpu_bindings.rs");
        std::fs::write(&out, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    }
}

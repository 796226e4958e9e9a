//! Compiles `spiral/*.spir`: kernels to C (compiled and linked with `cc`), wrappers to
//! `OUT_DIR/spiral/<file>.rs`. Unchanged sources are not recompiled (see the builder's report).
fn main() {
    match spiral_build::Builder::from_env().source_dir("spiral").build() {
        Ok(report) => {
            // Kept for the curious: `target/.../build/spiral-build-demo-*/output`.
            println!("{report}");
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

//! The builder's outputs in OUT_DIR: unit names that clash, and a cache that must not trust
//! broken outputs.

use spiral_build::{BuildError, Builder, CcSettings, Generated, Pipeline, Unit};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A pipeline that emits a small C kernel and counts its invocations.
struct Fake(Rc<Cell<usize>>);

impl Pipeline for Fake {
    fn compile(&self, unit: &Unit) -> Result<Generated, String> {
        self.0.set(self.0.get() + 1);
        Ok(Generated {
            c_source: format!(
                "#include <stdint.h>\nvoid spiral_{}_kernel0(uint64_t from, uint64_t to, int32_t *a) {{ for (uint64_t i = from; i < to; i++) a[i] += 1; }}\n",
                unit.name
            ),
            rust_wrappers: format!("// wrappers of {}\n", unit.root.display()),
        })
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spiral-build-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn builder(root: &Path, counter: &Rc<Cell<usize>>) -> Builder {
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    Builder::new(root, root.join("out"))
        .pipeline(Fake(counter.clone()))
        .cargo_output(false)
        .cc_settings(CcSettings { target: target.clone(), host: target, opt_level: 0 })
}

#[test]
fn units_with_the_same_name_in_different_folders_are_an_error() {
    let root = tmp("clash");
    for d in ["x", "y"] {
        std::fs::create_dir_all(root.join("spiral").join(d)).unwrap();
        std::fs::write(root.join("spiral").join(d).join("k.spir"), "inl main () = 0i32\n").unwrap();
    }
    let n = Rc::new(Cell::new(0));
    let e = builder(&root, &n).build().unwrap_err();
    assert!(matches!(e, BuildError::NameClash { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.starts_with("error: "), "{msg}");
    assert!(msg.contains("x/k.spir") && msg.contains("y/k.spir"), "{msg}");
    assert!(msg.contains("rename"), "{msg}");
    assert_eq!(n.get(), 0, "nothing was compiled");
    // Names clash after making them identifiers too (`my-k` and `my_k`), and a package folder
    // against a lone file.
    let root2 = tmp("clash2");
    std::fs::create_dir_all(root2.join("spiral/k")).unwrap();
    std::fs::write(root2.join("spiral/k/package.spiproj"), "modules:\n    main*\n").unwrap();
    std::fs::write(root2.join("spiral/k/main.spir"), "inl main () = 0i32\n").unwrap();
    std::fs::create_dir_all(root2.join("spiral/other")).unwrap();
    std::fs::write(root2.join("spiral/other/k.spir"), "inl main () = 0i32\n").unwrap();
    let msg = builder(&root2, &n).build().unwrap_err().to_string();
    assert!(msg.contains("spiral/k`") && msg.contains("other/k.spir"), "{msg}");
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&root2);
}

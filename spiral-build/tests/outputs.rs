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
            cuda_units: Vec::new(),
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

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.file_name().unwrap().to_string_lossy().contains(".tmp-") {
            v.push(p.clone());
        }
        if p.is_dir() {
            v.extend(leftovers(&p));
        }
    }
    v
}

/// Broken outputs (as an interrupted build or a stray edit leaves them) are never trusted:
/// the next build compiles the unit again and repairs them.
#[test]
fn a_broken_output_is_rebuilt_not_trusted() {
    let root = tmp("broken");
    std::fs::create_dir_all(root.join("spiral")).unwrap();
    std::fs::write(root.join("spiral/k.spir"), "inl main () = 0i32\n").unwrap();
    let n = Rc::new(Cell::new(0));
    let r = builder(&root, &n).build().unwrap();
    assert_eq!(r.compiled, vec!["k".to_string()]);
    let archive = root.join("out/libspiral_k.a");
    let rs = root.join("out/spiral/k.rs");
    let c = root.join("out/spiral/k.c");
    let good_archive = std::fs::read(&archive).unwrap();
    assert!(good_archive.starts_with(b"!<arch>"), "a static library");
    let good_rs = std::fs::read(&rs).unwrap();
    let good_c = std::fs::read(&c).unwrap();
    assert_eq!(builder(&root, &n).build().unwrap().cached, vec!["k".to_string()]);
    assert!(leftovers(&root.join("out")).is_empty(), "{:?}", leftovers(&root.join("out")));

    type Break = Box<dyn Fn()>;
    let breaks: Vec<(&str, Break)> = vec![
        ("truncated archive", Box::new({
            let a = archive.clone();
            let len = good_archive.len();
            move || std::fs::write(&a, &std::fs::read(&a).unwrap()[..len / 2]).unwrap()
        })),
        ("empty archive", Box::new({
            let a = archive.clone();
            move || std::fs::write(&a, b"").unwrap()
        })),
        ("deleted archive", Box::new({
            let a = archive.clone();
            move || std::fs::remove_file(&a).unwrap()
        })),
        ("deleted wrappers", Box::new({
            let p = rs.clone();
            move || std::fs::remove_file(&p).unwrap()
        })),
        ("wrappers edited, same size", Box::new({
            let p = rs.clone();
            move || {
                let mut b = std::fs::read(&p).unwrap();
                b[0] ^= 1;
                std::fs::write(&p, b).unwrap()
            }
        })),
        ("truncated C", Box::new({
            let p = c.clone();
            move || std::fs::write(&p, b"#include").unwrap()
        })),
    ];
    for (what, break_it) in &breaks {
        break_it();
        let before = n.get();
        let r = builder(&root, &n).build().unwrap();
        assert_eq!(r.compiled, vec!["k".to_string()], "{what}: rebuilt, not cached: {r}");
        assert!(r.cached.is_empty(), "{what}: {r}");
        assert_eq!(n.get(), before + 1, "{what}");
        assert_eq!(std::fs::read(&archive).unwrap().len(), good_archive.len(), "{what}: the archive is whole again");
        assert!(std::fs::read(&archive).unwrap().starts_with(b"!<arch>"), "{what}");
        assert_eq!(std::fs::read(&rs).unwrap(), good_rs, "{what}");
        assert_eq!(std::fs::read(&c).unwrap(), good_c, "{what}");
        let r = builder(&root, &n).build().unwrap();
        assert_eq!(r.cached, vec!["k".to_string()], "{what}: cached once repaired: {r}");
        assert!(leftovers(&root.join("out")).is_empty(), "{what}: {:?}", leftovers(&root.join("out")));
    }
    let _ = std::fs::remove_dir_all(&root);
}

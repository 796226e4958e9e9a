//! The prepass's shared prefix (`prepare_library` / `prepare_from`): translating the
//! per-export graphs of one `spiral!` call from a prefix gives exactly what a full `prepare`
//! gives, and a prefix from unrelated packages is ignored.

use spiral_compiler::codegen::rust::{HostType, Param, Passing, ScalarKind};
use spiral_compiler::driver::{load_with_library, with_entry, Export};
use spiral_compiler::diagnostics::SourceMap;
use spiral_compiler::prepass::{prepare, prepare_from, prepare_library};

const SRC: &str = "open inv\nopen kernel\ninl map_tuple input = map (fun a,b,c => a+b+c, a*b*c) input\ninl map_pair input = map (fun a,b,c => a*b, c) input\n";

fn export(name: &str) -> Export {
    let i32s = HostType::Prim(ScalarKind::I32);
    Export {
        name: name.to_string(),
        device: "dev".to_string(),
        params: vec![Param {
            name: "input".to_string(),
            ty: HostType::InvArray(Box::new(HostType::Tuple(vec![i32s.clone(), i32s.clone(), i32s.clone()]))),
            passing: Passing::Borrowed,
        }],
        ret: HostType::InvArray(Box::new(HostType::Tuple(vec![i32s.clone(), i32s]))),
    }
}

#[test]
fn prefix_gives_the_same_program_as_a_full_prepare() {
    let mut sm = SourceMap::new();
    let base = load_with_library(&mut sm, "q.rs", SRC).expect("loads");
    let g1 = with_entry(&base, &mut sm, &export("map_tuple")).expect("entry 1");
    let g2 = with_entry(&base, &mut sm, &export("map_pair")).expect("entry 2");
    let lib = prepare_library(&g1);
    for g in [&g1, &g2] {
        let full = format!("{:?}", prepare(g).expect("prepares"));
        let from = format!("{:?}", prepare_from(g, &lib).expect("prepares from the prefix"));
        assert_eq!(full, from);
    }
    // the two entry points differ, so the comparison above is not vacuous
    assert_ne!(format!("{:?}", prepare(&g1).unwrap()), format!("{:?}", prepare(&g2).unwrap()));
}

#[test]
fn a_prefix_of_other_files_is_ignored() {
    let mut sm = SourceMap::new();
    let a = load_with_library(&mut sm, "a.rs", SRC).expect("loads");
    let b = load_with_library(&mut sm, "b.rs", SRC).expect("loads");
    let gb = with_entry(&b, &mut sm, &export("map_tuple")).expect("entry");
    let lib_a = prepare_library(&with_entry(&a, &mut sm, &export("map_tuple")).expect("entry"));
    let full = format!("{:?}", prepare(&gb).expect("prepares"));
    assert_eq!(full, format!("{:?}", prepare_from(&gb, &lib_a).expect("falls back")));
}

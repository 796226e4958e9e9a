//! Property tests: round trips on random data and shapes, typed errors (never panics) on
//! mismatched lengths, and thread-count independence of the CPU device.

use proptest::prelude::*;
use spiral_rt::{Device, Error, InvArray, Inverse};

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Xyz {
    x: i32,
    y: i32,
    z: i32,
}

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Body {
    pos: (f32, f32),
    mass: f32,
    tag: (u8, bool),
}

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Nested(i64, Body, (u16, (i8, Xyz)));

fn finite() -> impl Strategy<Value = f32> {
    -1.0e6f32..1.0e6
}

fn body() -> impl Strategy<Value = Body> {
    ((finite(), finite()), finite(), (any::<u8>(), any::<bool>())).prop_map(|(pos, mass, tag)| Body { pos, mass, tag })
}

fn xyz() -> impl Strategy<Value = Xyz> {
    any::<(i32, i32, i32)>().prop_map(|(x, y, z)| Xyz { x, y, z })
}

fn nested() -> impl Strategy<Value = Nested> {
    (any::<i64>(), body(), (any::<u16>(), (any::<i8>(), xyz()))).prop_map(|(a, b, c)| Nested(a, b, c))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn collect_get_and_to_vec_round_trip(v in prop::collection::vec(nested(), 0..200)) {
        let a: InvArray<Nested> = v.iter().copied().collect();
        prop_assert_eq!(a.len(), v.len());
        prop_assert_eq!(a.to_vec(), v.clone());
        for (i, x) in v.iter().enumerate() {
            prop_assert_eq!(a.get(i), Some(*x));
        }
        prop_assert_eq!(a.get(v.len()), None);
    }

    #[test]
    fn zip_then_unzip_is_identity(v in prop::collection::vec((any::<i32>(), body()), 0..200)) {
        let left: InvArray<i32> = v.iter().map(|p| p.0).collect();
        let right: InvArray<Body> = v.iter().map(|p| p.1).collect();
        let zipped = InvArray::zip(left.clone(), right.clone()).unwrap();
        prop_assert_eq!(zipped.to_vec(), v);
        let (l, r) = zipped.unzip();
        prop_assert_eq!(l, left);
        prop_assert_eq!(r, right);
    }

    #[test]
    fn zip_with_mismatched_lengths_is_an_error(la in 0usize..300, lb in 0usize..300) {
        let a = InvArray::<(i32, bool)>::zeroed(la);
        let b = InvArray::<Xyz>::zeroed(lb);
        match InvArray::zip(a, b) {
            Ok(z) => { prop_assert_eq!(la, lb); prop_assert_eq!(z.len(), la); }
            Err(Error::LengthMismatch { expected, found, .. }) => {
                prop_assert_ne!(la, lb);
                prop_assert_eq!((expected, found), (la, lb));
            }
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }

    #[test]
    fn rezip_round_trips_through_every_shape(v in prop::collection::vec(xyz(), 0..200)) {
        let a: InvArray<(i32, (i32, i32))> = v.iter().map(|p| (p.x, (p.y, p.z))).collect();
        let s: InvArray<Xyz> = a.clone().rezip().unwrap();
        prop_assert_eq!(s.to_vec(), v.clone());
        let flat: InvArray<(i32, i32, i32)> = s.rezip().unwrap();
        let left: InvArray<((i32, i32), i32)> = flat.rezip().unwrap();
        let back: InvArray<(i32, (i32, i32))> = left.rezip().unwrap();
        prop_assert_eq!(back, a);
    }

    #[test]
    fn columns_round_trip_and_length_checks(
        lens in prop::collection::vec(0usize..50, 3),
        seed in any::<i32>(),
    ) {
        let col = |n: usize, k: i32| (0..n as i32).map(|i| i.wrapping_mul(seed).wrapping_add(k)).collect::<Vec<i32>>();
        let cols = XyzColumns { x: col(lens[0], 1), y: col(lens[1], 2), z: col(lens[2], 3) };
        match InvArray::<Xyz>::from_columns(cols.clone()) {
            Ok(a) => {
                prop_assert!(lens.iter().all(|&l| l == lens[0]));
                prop_assert_eq!(a.len(), lens[0]);
                prop_assert_eq!(a.into_columns(), cols);
            }
            Err(Error::LengthMismatch { expected, found, .. }) => {
                prop_assert_eq!(expected, lens[0]);
                prop_assert!(found != expected && lens.contains(&found));
            }
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }

    #[test]
    fn set_matches_a_vec_model(
        v in prop::collection::vec(body(), 1..100),
        ops in prop::collection::vec((0usize..150, body()), 0..50),
    ) {
        let mut model = v.clone();
        let mut a: InvArray<Body> = v.into_iter().collect();
        for (i, x) in ops {
            let r = a.set(i, x);
            if i < model.len() {
                prop_assert_eq!(r, Ok(()));
                model[i] = x;
            } else {
                prop_assert_eq!(r, Err(Error::IndexOutOfBounds { index: i, len: model.len() }));
            }
        }
        prop_assert_eq!(a.to_vec(), model);
    }

    #[test]
    fn cpu_map_is_independent_of_thread_count(
        v in prop::collection::vec(xyz(), 0..500),
        threads in 1usize..9,
    ) {
        let a: InvArray<Xyz> = v.iter().copied().collect();
        let f = |p: Xyz| (p.x.wrapping_add(p.y).wrapping_add(p.z), p.x.wrapping_mul(p.y).wrapping_mul(p.z));
        let out = Device::cpu_with_threads(threads).map(&a, f).unwrap();
        prop_assert_eq!(out.to_vec(), v.into_iter().map(f).collect::<Vec<_>>());
    }
}

mod upmem_layout {
    use proptest::prelude::*;
    use spiral_rt::pack::{UpmemLayout, MRAM_ALIGN};
    use spiral_rt::{InvArray, ScalarKind};

    type Elem = (i8, (u16, i64), bool, f32);

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn blocks_are_aligned_disjoint_and_cover_every_element(
            len in 0usize..5000,
            dpus in 1usize..70,
            base in 0usize..100,
            kinds in prop::collection::vec(prop::sample::select(ScalarKind::ALL.to_vec()), 0..8),
        ) {
            let l = UpmemLayout::plan(len, dpus, &kinds, base).unwrap();
            let mut next = 0;
            for d in 0..dpus {
                let r = l.range(d);
                prop_assert_eq!(r.start, next);
                next = r.end;
                for (b, k) in l.blocks().iter().zip(&kinds) {
                    prop_assert!(r.len() * k.size() <= b.bytes);
                }
            }
            prop_assert_eq!(next, len);
            let mut end = base;
            for b in l.blocks() {
                prop_assert_eq!(b.offset % MRAM_ALIGN, 0);
                prop_assert_eq!(b.bytes % MRAM_ALIGN, 0);
                prop_assert!(b.offset >= end);
                end = b.offset + b.bytes;
            }
            prop_assert!(l.mram_bytes() >= end);
        }

        #[test]
        fn pack_and_unpack_round_trip(
            v in prop::collection::vec(any::<(i8, (u16, i64), bool, i32)>(), 0..400),
            dpus in 1usize..20,
        ) {
            let input: InvArray<Elem> = v.iter().map(|&(a, b, c, d)| (a, b, c, d as f32)).collect();
            let kinds = InvArray::<Elem>::leaf_kinds();
            let l = UpmemLayout::plan(input.len(), dpus, &kinds, 0).unwrap();
            let mut output = InvArray::<Elem>::zeroed(input.len());
            for d in 0..dpus {
                let image = l.pack(d, &input.leaves()).unwrap();
                prop_assert_eq!(image.len() % MRAM_ALIGN, 0);
                l.unpack(d, &image, 0, &mut output.leaves_mut()).unwrap();
            }
            prop_assert_eq!(output, input);
        }
    }
}

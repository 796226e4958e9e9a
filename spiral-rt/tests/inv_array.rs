//! InvArray behaviour: layout, zero-copy regrouping, derive, printing and typed errors.

use std::marker::PhantomData;

use spiral_rt::{Error, InvArray, Inverse, ScalarKind, Split};

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Xyz {
    x: i32,
    y: i32,
    z: i32,
}

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
pub struct Particle {
    pub pos: (f32, f32),
    pub alive: bool,
    pub id: u64,
}

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Wrapped(i8, Xyz);

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Unit;

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Pair<T> {
    a: T,
    b: T,
}

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Tagged<T: Copy> {
    v: T,
    tag: PhantomData<u8>,
}

fn ptrs<T: Inverse>(a: &InvArray<T>) -> Vec<usize> {
    a.leaves().iter().map(|l| l.as_ptr() as usize).collect()
}

#[test]
fn stores_one_buffer_per_leaf() {
    let a: InvArray<(i32, (f64, bool))> = (0..5).map(|i| (i, (i as f64 * 0.5, i % 2 == 0))).collect();
    assert_eq!(a.len(), 5);
    assert_eq!(InvArray::<(i32, (f64, bool))>::leaf_kinds(), [ScalarKind::I32, ScalarKind::F64, ScalarKind::Bool]);
    let (ints, (floats, bools)) = a.columns();
    assert_eq!(ints, &[0, 1, 2, 3, 4]);
    assert_eq!(floats, &[0.0, 0.5, 1.0, 1.5, 2.0]);
    assert_eq!(bools, &[true, false, true, false, true]);
    let leaves = a.leaves();
    assert_eq!(leaves.len(), 3);
    assert_eq!(leaves[1].kind(), ScalarKind::F64);
    assert_eq!(leaves[1].byte_len(), 40);
    assert_eq!(a.get(3), Some((3, (1.5, false))));
    assert_eq!(a.get(5), None);
}

#[test]
fn zip_unzip_and_rezip_move_buffers_without_copying() {
    let a: InvArray<i32> = (0..100).collect();
    let b: InvArray<(i32, i32)> = (0..100).map(|i| (2 * i, 3 * i)).collect();
    let before: Vec<usize> = ptrs(&a).into_iter().chain(ptrs(&b)).collect();

    let ab = InvArray::zip(a, b).unwrap();
    assert_eq!(ptrs(&ab), before);
    let flat: InvArray<(i32, i32, i32)> = ab.rezip().unwrap();
    assert_eq!(ptrs(&flat), before);
    let s: InvArray<Xyz> = flat.rezip().unwrap();
    assert_eq!(ptrs(&s), before);
    assert_eq!(s.get(7), Some(Xyz { x: 7, y: 14, z: 21 }));
    assert_eq!(s.columns().y[10], 20);

    let back: InvArray<(i32, (i32, i32))> = s.rezip().unwrap();
    let (a2, b2) = back.unzip();
    assert_eq!(ptrs(&a2), before[..1]);
    assert_eq!(ptrs(&b2), before[1..]);
    assert_eq!(a2.to_vec(), (0..100).collect::<Vec<_>>());
    assert_eq!(b2.get(99), Some((198, 297)));
}

#[test]
fn zip_with_different_lengths_is_a_typed_error() {
    let a: InvArray<i32> = (0..3).collect();
    let b: InvArray<f32> = (0..4).map(|i| i as f32).collect();
    match InvArray::zip(a, b) {
        Err(Error::LengthMismatch { expected: 3, found: 4, .. }) => {}
        other => panic!("expected a length mismatch, got {other:?}"),
    }
}

#[test]
fn rezip_to_other_leaves_is_a_typed_error() {
    let a: InvArray<(i32, i32)> = (0..3).map(|i| (i, i)).collect();
    let e = a.clone().rezip::<(i32, f32)>().unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("[i32, i32] and [i32, f32]"), "{e}");
    assert!(matches!(a.clone().rezip::<Xyz>(), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(a.rezip::<i32>(), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn from_columns_checks_lengths() {
    let ok = InvArray::<(i32, u8)>::from_columns((vec![1, 2], vec![3, 4])).unwrap();
    assert_eq!(ok.to_vec(), [(1, 3), (2, 4)]);
    let e = InvArray::<(i32, (u8, u8))>::from_columns((vec![1, 2], (vec![3, 4], vec![5]))).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { expected: 2, found: 1, .. }), "{e:?}");
    let cols = XyzColumns { x: vec![1], y: vec![2], z: vec![3] };
    let s = InvArray::<Xyz>::from_columns(cols.clone()).unwrap();
    assert_eq!(s.get(0), Some(Xyz { x: 1, y: 2, z: 3 }));
    assert_eq!(s.into_columns(), cols);
}

#[test]
fn get_set_push_pop_and_errors() {
    let mut a = InvArray::<Particle>::new();
    assert!(a.is_empty());
    let p = |i: u64| Particle { pos: (i as f32, -(i as f32)), alive: i.count_ones() % 2 == 1, id: i };
    for i in 0..10 {
        a.push(p(i));
    }
    assert_eq!(a.len(), 10);
    a.set(4, p(40)).unwrap();
    assert_eq!(a.get(4), Some(p(40)));
    assert_eq!(a.set(10, p(0)), Err(Error::IndexOutOfBounds { index: 10, len: 10 }));
    assert_eq!(a.pop(), Some(p(9)));
    assert_eq!(a.len(), 9);
    assert_eq!(a.iter().next_back(), Some(p(8)));
    assert_eq!(a.iter().len(), 9);
    a.truncate(2);
    assert_eq!(a.to_vec(), [p(0), p(1)]);
    assert_eq!(a.columns().pos.1, &[0.0, -1.0]);
    a.clear();
    assert_eq!(a.pop(), None);
}

#[test]
fn derives_tuple_unit_generic_and_phantom_structs() {
    let w: InvArray<Wrapped> = (0..4).map(|i| Wrapped(i as i8, Xyz { x: i, y: 0, z: -i })).collect();
    assert_eq!(<Wrapped as Inverse>::LEAVES, 4);
    assert_eq!(w.columns().1.z, &[0, -1, -2, -3]);
    assert_eq!(w.get(2), Some(Wrapped(2, Xyz { x: 2, y: 0, z: -2 })));

    let u: InvArray<Unit> = std::iter::repeat_n(Unit, 5).collect();
    assert_eq!(u.len(), 5);
    assert_eq!(u.get(4), Some(Unit));
    assert!(u.leaves().is_empty());

    let g: InvArray<Pair<(u16, f32)>> = (0..3).map(|i| Pair { a: (i, 1.0), b: (i * 2, 2.0) }).collect();
    assert_eq!(<Pair<(u16, f32)> as Inverse>::LEAVES, 4);
    assert_eq!(g.columns().b.0, &[0, 2, 4]);
    let flat: InvArray<(u16, f32, u16, f32)> = g.rezip().unwrap();
    assert_eq!(flat.get(1), Some((1, 1.0, 2, 2.0)));

    let t: InvArray<Tagged<i64>> = (0..3).map(|v| Tagged { v, tag: PhantomData }).collect();
    assert_eq!(t.leaves().len(), 1);
    assert_eq!(t.get(2).map(|x| x.v), Some(2));
}

#[test]
fn zero_leaf_arrays_keep_their_length() {
    let units: InvArray<()> = std::iter::repeat_n((), 7).collect();
    let ints: InvArray<i32> = (0..7).collect();
    let z = InvArray::zip(units, ints).unwrap();
    assert_eq!(z.len(), 7);
    let (u, i) = z.unzip();
    assert_eq!((u.len(), i.len()), (7, 7));
    let r: InvArray<(i32, ())> = InvArray::zip(i, u).unwrap().rezip().unwrap();
    assert_eq!(r.get(6), Some((6, ())));
}

#[test]
fn debug_and_column_printing() {
    let a: InvArray<(i32, i32, i32)> = (0..3).map(|i| (i, i, i)).collect();
    assert_eq!(format!("{a:?}"), "InvArray[(0, 0, 0), (1, 1, 1), (2, 2, 2)]");
    let long: InvArray<u8> = (0..40).collect();
    assert!(format!("{long:?}").ends_with("31, ...]"));
    let s: InvArray<Xyz> = a.rezip().unwrap();
    assert_eq!(format!("{s:?}"), "InvArray[Xyz { x: 0, y: 0, z: 0 }, Xyz { x: 1, y: 1, z: 1 }, Xyz { x: 2, y: 2, z: 2 }]");
    let out: InvArray<(i32, f64)> = (0..6).map(|i| (3 * i, i as f64 / 2.0)).collect();
    assert_eq!(out.display_columns().to_string(), "[0 3 6 9 12 15]\n[0 0.5 1 1.5 2 2.5]");
    assert_eq!(out.display_columns().limit(4).to_string(), "[0 3 6 9 ...]\n[0 0.5 1 1.5 ...]");
    assert_eq!(InvArray::<bool>::zeroed(2).display_columns().to_string(), "[false false]");
}

#[test]
fn columns_mut_split_gives_disjoint_pieces() {
    let mut a = InvArray::<Xyz>::zeroed(6);
    {
        let (left, right) = a.columns_mut().split_at(2);
        left.x[1] = 1;
        right.z[0] = 7;
        assert!(left.has_len(2) && right.has_len(4));
        assert_eq!(right.mismatch(3), Some(4));
    }
    assert_eq!(a.get(1), Some(Xyz { x: 1, y: 0, z: 0 }));
    assert_eq!(a.get(2), Some(Xyz { x: 0, y: 0, z: 7 }));
}

#[test]
fn leaves_mut_fill_from_bytes() {
    let mut a = InvArray::<(i32, bool)>::zeroed(2);
    let mut leaves = a.leaves_mut();
    let bytes: Vec<u8> = [5i32, -6].iter().flat_map(|x| x.to_ne_bytes()).collect();
    leaves[0].copy_from_bytes(&bytes).unwrap();
    leaves[1].copy_from_bytes(&[1, 0]).unwrap();
    assert!(matches!(leaves[1].copy_from_bytes(&[1]), Err(Error::LengthMismatch { .. })));
    drop(leaves);
    assert_eq!(a.to_vec(), [(5, true), (-6, false)]);
}

#[test]
fn twelve_wide_tuples_nest() {
    type Wide = (u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, bool, (i32, i32));
    let a: InvArray<Wide> = (0..3u8)
        .map(|i| (i, i as i8, 1, 2, 3, 4, 5, 6, 7.0, 8.0, true, (i as i32, 10)))
        .collect();
    assert_eq!(<Wide as Inverse>::LEAVES, 13);
    assert_eq!(a.get(2).map(|w| w.11), Some((2, 10)));
}

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
#[inverse(crate = "::spiral_rt")]
struct ExplicitCrate {
    v: (u32, f64),
}

#[test]
fn crate_path_can_be_named() {
    let a: InvArray<ExplicitCrate> = (0..3).map(|i| ExplicitCrate { v: (i, i as f64) }).collect();
    assert_eq!(a.columns().v.0, &[0, 1, 2]);
    assert_eq!(spiral_rt::check_lengths("k", &[]), Ok(0));
}

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Triangle {
    corners: [(f32, f32); 3],
    id: u32,
}

#[test]
fn fixed_size_arrays_are_leaves_too() {
    assert_eq!(<Triangle as Inverse>::LEAVES, 7);
    let t = |i: u32| Triangle { corners: [(i as f32, 0.0), (0.0, i as f32), (1.0, 1.0)], id: i };
    let a: InvArray<Triangle> = (0..5).map(t).collect();
    assert_eq!(a.get(3), Some(t(3)));
    assert_eq!(a.columns().corners[1].1, &[0.0, 1.0, 2.0, 3.0, 4.0]);
    let flat: InvArray<([f32; 6], u32)> = a.clone().rezip().unwrap();
    assert!(a.clone().rezip::<([f32; 6], f32, u32)>().is_err());
    assert_eq!(flat.get(2).map(|x| x.0[0]), Some(2.0));
    let (l, r) = a.columns().split_at(2);
    assert_eq!((l.corners[0].0.len(), r.id.len()), (2, 3));
    let owned: Vec<Triangle> = a.into_iter().rev().collect();
    assert_eq!(owned[0], t(4));
    assert_eq!(owned.len(), 5);
}

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Vector<T, const N: usize>
where
    T: Copy,
{
    v: [T; N],
}

#[test]
fn derives_with_const_generics_and_where_clauses() {
    assert_eq!(<Vector<f64, 4> as Inverse>::LEAVES, 4);
    let a: InvArray<Vector<f64, 2>> = (0..3).map(|i| Vector { v: [i as f64, -(i as f64)] }).collect();
    assert_eq!(a.columns().v[1], &[0.0, -1.0, -2.0]);
    let cols: VectorColumns<f64, 2> = a.clone().into_columns();
    assert_eq!(InvArray::<Vector<f64, 2>>::from_columns(cols).unwrap(), a);
}

#[test]
fn get_slice_checks_the_range_instead_of_panicking() {
    let mut a: InvArray<(i32, f64)> = (0..5).map(|i| (i, i as f64)).collect();
    assert!(a.get_slice(2..6).is_none());
    assert!(a.get_slice(4..2).is_none());
    assert!(a.get_slice_mut(..=5).is_none());
    assert_eq!(a.get_slice(5..).map(|s| s.len()), Some(0));
    let mut s = a.get_slice_mut(1..3).expect("in bounds");
    assert_eq!(s.len(), 2);
    s.set(0, (10, 1.5)).expect("in bounds");
    assert!(s.set(2, (0, 0.0)).is_err(), "past the slice's end");
    assert_eq!(a.get(1), Some((10, 1.5)));
}

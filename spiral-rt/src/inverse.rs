//! The [`Inverse`] trait: how an element type is split into leaf columns.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;

use crate::scalar::{LeafMut, LeafRef, Scalar, ScalarKind};
use crate::Error;

/// An element type that can be stored "inverted": one contiguous buffer per primitive leaf.
///
/// Implemented for the [`Scalar`] leaves, for `()`, for [`PhantomData`], for tuples up to
/// arity 12 and fixed-size arrays `[T; N]` (nested freely), and for structs through
/// `#[derive(Inverse)]`.
///
/// The three associated trees mirror the shape of `Self` with a `Vec`, a `&[_]` or a
/// `&mut [_]` at each leaf. For `(i32, (f32, bool))`:
///
/// | tree | type |
/// | --- | --- |
/// | `Columns` | `(Vec<i32>, (Vec<f32>, Vec<bool>))` |
/// | `Slices<'a>` | `(&'a [i32], (&'a [f32], &'a [bool]))` |
/// | `SlicesMut<'a>` | `(&'a mut [i32], (&'a mut [f32], &'a mut [bool]))` |
///
/// The functions below operate on those trees; [`InvArray`](crate::InvArray) keeps them
/// consistent (every leaf the same length), so implementations may assume that and may panic on
/// an out-of-range index: no user-reachable path calls them with one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an element of an `InvArray`",
    label = "not a leaf, tuple or `#[derive(Inverse)]` struct",
    note = "leaves are i8, i16, i32, i64, u8, u16, u32, u64, f32, f64 and bool; combine them with tuples (up to 12 wide, nested) or structs with `#[derive(Inverse)]`"
)]
pub trait Inverse: Sized + Send + Sync + 'static {
    /// The owned storage: a tree of `Vec`s, one per leaf.
    type Columns: Clone + fmt::Debug + PartialEq + Send + Sync;
    /// Read-only views of all leaves: a tree of slices.
    type Slices<'a>: Copy + fmt::Debug + Send + Sync + Split;
    /// Mutable views of all leaves: a tree of mutable slices.
    type SlicesMut<'a>: fmt::Debug + Send + Split;

    /// The number of primitive leaves.
    const LEAVES: usize;

    /// Appends the kinds of the leaves, in storage order (depth first, left to right).
    fn leaf_kinds(out: &mut Vec<ScalarKind>);
    /// Empty columns with room for `cap` elements.
    fn columns_with_capacity(cap: usize) -> Self::Columns;
    /// Columns of `len` elements, every leaf zero (`false` for `bool`).
    fn columns_zeroed(len: usize) -> Self::Columns;
    /// Appends one element.
    fn push(cols: &mut Self::Columns, value: Self);
    /// Shortens every leaf to `len` elements (no effect on shorter leaves).
    fn truncate(cols: &mut Self::Columns, len: usize);
    /// Borrows every leaf as a slice.
    fn slices(cols: &Self::Columns) -> Self::Slices<'_>;
    /// Borrows every leaf as a mutable slice.
    fn slices_mut(cols: &mut Self::Columns) -> Self::SlicesMut<'_>;
    /// Gathers element `i` from the leaves. Panics when `i` is out of range.
    fn read(s: &Self::Slices<'_>, i: usize) -> Self;
    /// Scatters `value` into element `i` of the leaves. Panics when `i` is out of range.
    fn write(s: &mut Self::SlicesMut<'_>, i: usize, value: Self);
    /// Appends the length of every leaf, in storage order.
    fn column_lens(cols: &Self::Columns, out: &mut Vec<usize>);
    /// Calls `f` with a type-erased view of every leaf, in storage order.
    fn visit<'a>(cols: &'a Self::Columns, f: &mut dyn FnMut(LeafRef<'a>));
    /// Calls `f` with a mutable type-erased view of every leaf, in storage order.
    fn visit_mut<'a>(cols: &'a mut Self::Columns, f: &mut dyn FnMut(LeafMut<'a>));
    /// Moves every leaf buffer out, type-erased, in storage order (no element is copied).
    fn into_erased(cols: Self::Columns, out: &mut Vec<ErasedColumn>);
    /// Rebuilds columns from erased leaves taken in storage order (no element is copied).
    /// Errors with [`Error::ShapeMismatch`] when a leaf is missing or of the wrong kind.
    fn from_erased(it: &mut dyn Iterator<Item = ErasedColumn>) -> Result<Self::Columns, Error>;
}

/// A leaf buffer with its element type erased, used to regroup leaves without copying them.
pub struct ErasedColumn {
    kind: ScalarKind,
    len: usize,
    data: Box<dyn Any + Send + Sync>,
}

impl ErasedColumn {
    /// Erases the type of a leaf buffer (moves the `Vec`; the elements stay where they are).
    pub fn new<S: Scalar>(v: Vec<S>) -> Self {
        ErasedColumn { kind: S::KIND, len: v.len(), data: Box::new(v) }
    }

    /// The kind of the elements.
    pub fn kind(&self) -> ScalarKind {
        self.kind
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Recovers the typed buffer, or gives `self` back when `S` is not its element type.
    pub fn into_vec<S: Scalar>(self) -> Result<Vec<S>, Self> {
        let ErasedColumn { kind, len, data } = self;
        data.downcast::<Vec<S>>().map(|b| *b).map_err(|data| ErasedColumn { kind, len, data })
    }
}

impl fmt::Debug for ErasedColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErasedColumn").field("kind", &self.kind).field("len", &self.len).finish()
    }
}

/// A tree of slices that can be cut at one index, every leaf at the same place.
///
/// This is how a device hands disjoint pieces of inputs and outputs to its threads:
/// `(inputs, outputs).split_at(mid)` gives two independent halves.
pub trait Split: Sized {
    /// Cuts every leaf at `mid`: `[0, mid)` and `[mid, len)`. Panics when `mid` is past a leaf's end.
    fn split_at(self, mid: usize) -> (Self, Self);
    /// The length of the first leaf (in storage order) that does not have exactly `len`
    /// elements, or `None` when they all do (a tree with no leaves has any length).
    fn mismatch(&self, len: usize) -> Option<usize>;
    /// Whether every leaf has exactly `len` elements.
    #[inline]
    fn has_len(&self, len: usize) -> bool {
        self.mismatch(len).is_none()
    }
}

impl<T> Split for &[T] {
    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at(self, mid)
    }
    #[inline]
    fn mismatch(&self, len: usize) -> Option<usize> {
        (self.len() != len).then_some(self.len())
    }
}

impl<T> Split for &mut [T] {
    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at_mut(self, mid)
    }
    #[inline]
    fn mismatch(&self, len: usize) -> Option<usize> {
        (self.len() != len).then_some(self.len())
    }
}

impl<T> Split for PhantomData<T> {
    fn split_at(self, _mid: usize) -> (Self, Self) {
        (PhantomData, PhantomData)
    }
    fn mismatch(&self, _len: usize) -> Option<usize> {
        None
    }
}

fn missing_leaf(want: ScalarKind) -> Error {
    Error::ShapeMismatch {
        from: "erased leaves".into(),
        to: want.name().into(),
        reason: format!("ran out of leaves while looking for a {want} leaf"),
    }
}

fn take_leaf<S: Scalar>(it: &mut dyn Iterator<Item = ErasedColumn>) -> Result<Vec<S>, Error> {
    let col = it.next().ok_or_else(|| missing_leaf(S::KIND))?;
    col.into_vec::<S>().map_err(|col| Error::ShapeMismatch {
        from: col.kind().name().into(),
        to: S::KIND.name().into(),
        reason: format!("a {} leaf cannot become a {} leaf", col.kind(), S::KIND),
    })
}

macro_rules! scalar_impls {
    ($($t:ty),* $(,)?) => {$(
        impl Inverse for $t {
            type Columns = Vec<$t>;
            type Slices<'a> = &'a [$t];
            type SlicesMut<'a> = &'a mut [$t];
            const LEAVES: usize = 1;

            fn leaf_kinds(out: &mut Vec<ScalarKind>) {
                out.push(<$t as Scalar>::KIND);
            }
            fn columns_with_capacity(cap: usize) -> Vec<$t> {
                Vec::with_capacity(cap)
            }
            fn columns_zeroed(len: usize) -> Vec<$t> {
                vec![<$t as Default>::default(); len]
            }
            #[inline]
            fn push(cols: &mut Vec<$t>, value: $t) {
                cols.push(value)
            }
            fn truncate(cols: &mut Vec<$t>, len: usize) {
                cols.truncate(len)
            }
            #[inline]
            fn slices(cols: &Vec<$t>) -> &[$t] {
                cols
            }
            #[inline]
            fn slices_mut(cols: &mut Vec<$t>) -> &mut [$t] {
                cols
            }
            #[inline(always)]
            fn read(s: &&[$t], i: usize) -> $t {
                s[i]
            }
            #[inline(always)]
            fn write(s: &mut &mut [$t], i: usize, value: $t) {
                s[i] = value
            }
            fn column_lens(cols: &Vec<$t>, out: &mut Vec<usize>) {
                out.push(cols.len())
            }
            fn visit<'a>(cols: &'a Vec<$t>, f: &mut dyn FnMut(LeafRef<'a>)) {
                f(<$t as Scalar>::leaf_ref(cols))
            }
            fn visit_mut<'a>(cols: &'a mut Vec<$t>, f: &mut dyn FnMut(LeafMut<'a>)) {
                f(<$t as Scalar>::leaf_mut(cols))
            }
            fn into_erased(cols: Vec<$t>, out: &mut Vec<ErasedColumn>) {
                out.push(ErasedColumn::new(cols))
            }
            fn from_erased(it: &mut dyn Iterator<Item = ErasedColumn>) -> Result<Vec<$t>, Error> {
                take_leaf::<$t>(it)
            }
        }
    )*};
}

scalar_impls!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, bool);

impl<T: Send + Sync + 'static> Inverse for PhantomData<T> {
    type Columns = PhantomData<T>;
    type Slices<'a> = PhantomData<T>;
    type SlicesMut<'a> = PhantomData<T>;
    const LEAVES: usize = 0;

    fn leaf_kinds(_out: &mut Vec<ScalarKind>) {}
    fn columns_with_capacity(_cap: usize) -> Self::Columns {
        PhantomData
    }
    fn columns_zeroed(_len: usize) -> Self::Columns {
        PhantomData
    }
    fn push(_cols: &mut Self::Columns, _value: Self) {}
    fn truncate(_cols: &mut Self::Columns, _len: usize) {}
    fn slices(_cols: &Self::Columns) -> Self::Slices<'_> {
        PhantomData
    }
    fn slices_mut(_cols: &mut Self::Columns) -> Self::SlicesMut<'_> {
        PhantomData
    }
    fn read(_s: &Self::Slices<'_>, _i: usize) -> Self {
        PhantomData
    }
    fn write(_s: &mut Self::SlicesMut<'_>, _i: usize, _value: Self) {}
    fn column_lens(_cols: &Self::Columns, _out: &mut Vec<usize>) {}
    fn visit<'a>(_cols: &'a Self::Columns, _f: &mut dyn FnMut(LeafRef<'a>)) {}
    fn visit_mut<'a>(_cols: &'a mut Self::Columns, _f: &mut dyn FnMut(LeafMut<'a>)) {}
    fn into_erased(_cols: Self::Columns, _out: &mut Vec<ErasedColumn>) {}
    fn from_erased(_it: &mut dyn Iterator<Item = ErasedColumn>) -> Result<Self::Columns, Error> {
        Ok(PhantomData)
    }
}

macro_rules! tuple_impls {
    ($( ( $($n:tt $T:ident),* ) )*) => {$(
        impl<$($T: Split),*> Split for ($($T,)*) {
            #[inline]
            #[allow(unused_variables, non_snake_case, clippy::unused_unit)]
            fn split_at(self, mid: usize) -> (Self, Self) {
                $( let $T = self.$n.split_at(mid); )*
                (($($T.0,)*), ($($T.1,)*))
            }
            #[inline]
            #[allow(unused_variables)]
            fn mismatch(&self, len: usize) -> Option<usize> {
                None $( .or_else(|| self.$n.mismatch(len)) )*
            }
        }

        impl<$($T: Inverse),*> Inverse for ($($T,)*) {
            type Columns = ($($T::Columns,)*);
            type Slices<'a> = ($($T::Slices<'a>,)*);
            type SlicesMut<'a> = ($($T::SlicesMut<'a>,)*);
            const LEAVES: usize = 0 $( + $T::LEAVES )*;

            #[allow(unused_variables)]
            fn leaf_kinds(out: &mut Vec<ScalarKind>) {
                $( $T::leaf_kinds(out); )*
            }
            #[allow(unused_variables, clippy::unused_unit)]
            fn columns_with_capacity(cap: usize) -> Self::Columns {
                ($($T::columns_with_capacity(cap),)*)
            }
            #[allow(unused_variables, clippy::unused_unit)]
            fn columns_zeroed(len: usize) -> Self::Columns {
                ($($T::columns_zeroed(len),)*)
            }
            #[inline]
            #[allow(unused_variables)]
            fn push(cols: &mut Self::Columns, value: Self) {
                $( $T::push(&mut cols.$n, value.$n); )*
            }
            #[allow(unused_variables)]
            fn truncate(cols: &mut Self::Columns, len: usize) {
                $( $T::truncate(&mut cols.$n, len); )*
            }
            #[inline]
            #[allow(unused_variables, clippy::unused_unit)]
            fn slices(cols: &Self::Columns) -> Self::Slices<'_> {
                ($($T::slices(&cols.$n),)*)
            }
            #[inline]
            #[allow(unused_variables, clippy::unused_unit)]
            fn slices_mut(cols: &mut Self::Columns) -> Self::SlicesMut<'_> {
                ($($T::slices_mut(&mut cols.$n),)*)
            }
            #[inline(always)]
            #[allow(unused_variables, clippy::unused_unit)]
            fn read(s: &Self::Slices<'_>, i: usize) -> Self {
                ($($T::read(&s.$n, i),)*)
            }
            #[inline(always)]
            #[allow(unused_variables)]
            fn write(s: &mut Self::SlicesMut<'_>, i: usize, value: Self) {
                $( $T::write(&mut s.$n, i, value.$n); )*
            }
            #[allow(unused_variables)]
            fn column_lens(cols: &Self::Columns, out: &mut Vec<usize>) {
                $( $T::column_lens(&cols.$n, out); )*
            }
            #[allow(unused_variables)]
            fn visit<'a>(cols: &'a Self::Columns, f: &mut dyn FnMut(LeafRef<'a>)) {
                $( $T::visit(&cols.$n, f); )*
            }
            #[allow(unused_variables)]
            fn visit_mut<'a>(cols: &'a mut Self::Columns, f: &mut dyn FnMut(LeafMut<'a>)) {
                $( $T::visit_mut(&mut cols.$n, f); )*
            }
            #[allow(unused_variables)]
            fn into_erased(cols: Self::Columns, out: &mut Vec<ErasedColumn>) {
                $( $T::into_erased(cols.$n, out); )*
            }
            #[allow(unused_variables, clippy::unused_unit)]
            fn from_erased(it: &mut dyn Iterator<Item = ErasedColumn>) -> Result<Self::Columns, Error> {
                Ok(($($T::from_erased(it)?,)*))
            }
        }
    )*};
}

tuple_impls! {
    ()
    (0 A)
    (0 A, 1 B)
    (0 A, 1 B, 2 C)
    (0 A, 1 B, 2 C, 3 D)
    (0 A, 1 B, 2 C, 3 D, 4 E)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L)
}

impl<S: Split, const N: usize> Split for [S; N] {
    fn split_at(self, mid: usize) -> (Self, Self) {
        let mut lefts = Vec::with_capacity(N);
        let rights = self.map(|s| {
            let (l, r) = s.split_at(mid);
            lefts.push(l);
            r
        });
        match <[S; N]>::try_from(lefts) {
            Ok(lefts) => (lefts, rights),
            Err(_) => unreachable!("`map` visits each of the N elements exactly once"),
        }
    }
    fn mismatch(&self, len: usize) -> Option<usize> {
        self.iter().find_map(|s| s.mismatch(len))
    }
}

/// A fixed-size array has `N` times `T`'s leaves: those of element 0 first, then element 1, and so on.
impl<T: Inverse, const N: usize> Inverse for [T; N] {
    type Columns = [T::Columns; N];
    type Slices<'a> = [T::Slices<'a>; N];
    type SlicesMut<'a> = [T::SlicesMut<'a>; N];
    const LEAVES: usize = T::LEAVES * N;

    fn leaf_kinds(out: &mut Vec<ScalarKind>) {
        for _ in 0..N {
            T::leaf_kinds(out);
        }
    }
    fn columns_with_capacity(cap: usize) -> Self::Columns {
        std::array::from_fn(|_| T::columns_with_capacity(cap))
    }
    fn columns_zeroed(len: usize) -> Self::Columns {
        std::array::from_fn(|_| T::columns_zeroed(len))
    }
    #[inline]
    fn push(cols: &mut Self::Columns, value: Self) {
        for (c, v) in cols.iter_mut().zip(value) {
            T::push(c, v);
        }
    }
    fn truncate(cols: &mut Self::Columns, len: usize) {
        for c in cols {
            T::truncate(c, len);
        }
    }
    #[inline]
    fn slices(cols: &Self::Columns) -> Self::Slices<'_> {
        cols.each_ref().map(|c| T::slices(c))
    }
    #[inline]
    fn slices_mut(cols: &mut Self::Columns) -> Self::SlicesMut<'_> {
        cols.each_mut().map(|c| T::slices_mut(c))
    }
    #[inline(always)]
    fn read(s: &Self::Slices<'_>, i: usize) -> Self {
        std::array::from_fn(|k| T::read(&s[k], i))
    }
    #[inline(always)]
    fn write(s: &mut Self::SlicesMut<'_>, i: usize, value: Self) {
        for (c, v) in s.iter_mut().zip(value) {
            T::write(c, i, v);
        }
    }
    fn column_lens(cols: &Self::Columns, out: &mut Vec<usize>) {
        for c in cols {
            T::column_lens(c, out);
        }
    }
    fn visit<'a>(cols: &'a Self::Columns, f: &mut dyn FnMut(LeafRef<'a>)) {
        for c in cols {
            T::visit(c, f);
        }
    }
    fn visit_mut<'a>(cols: &'a mut Self::Columns, f: &mut dyn FnMut(LeafMut<'a>)) {
        for c in cols {
            T::visit_mut(c, f);
        }
    }
    fn into_erased(cols: Self::Columns, out: &mut Vec<ErasedColumn>) {
        for c in cols {
            T::into_erased(c, out);
        }
    }
    fn from_erased(it: &mut dyn Iterator<Item = ErasedColumn>) -> Result<Self::Columns, Error> {
        let mut parts = Vec::with_capacity(N);
        for _ in 0..N {
            parts.push(T::from_erased(it)?);
        }
        match <[T::Columns; N]>::try_from(parts) {
            Ok(cols) => Ok(cols),
            Err(_) => unreachable!("exactly N parts were pushed"),
        }
    }
}

//! [`InvArray`]: an array stored as one contiguous buffer per leaf of its element type.

use std::fmt;
use std::iter::FusedIterator;

use crate::inverse::{ErasedColumn, Inverse, Split};
use crate::scalar::{LeafMut, LeafRef, ScalarKind};
use crate::Error;

/// An *inverse array*: a sequence of `T` stored struct-of-arrays, one contiguous buffer per
/// primitive leaf of `T`.
///
/// `InvArray<(i32, (f32, bool))>` holds a `Vec<i32>`, a `Vec<f32>` and a `Vec<bool>` of one
/// common length. [`zip`](InvArray::zip), [`unzip`](InvArray::unzip) and
/// [`rezip`](InvArray::rezip) only regroup those buffers: no element is copied. This is the
/// layout Spiral kernels see on every device, so a kernel over `(a, (b, c))` receives three
/// pointers.
///
/// ```
/// use spiral_rt::InvArray;
///
/// let a: InvArray<i32> = (0..4).collect();
/// let b: InvArray<(i32, i32)> = (0..4).map(|i| (i * 10, i * 100)).collect();
/// let ab = InvArray::zip(a, b)?;                      // InvArray<(i32, (i32, i32))>
/// let flat: InvArray<(i32, i32, i32)> = ab.rezip()?; // same three buffers, new shape
/// assert_eq!(flat.get(2), Some((2, 20, 200)));
/// assert_eq!(flat.columns().1, &[0, 10, 20, 30]);
/// # Ok::<(), spiral_rt::Error>(())
/// ```
pub struct InvArray<T: Inverse> {
    cols: T::Columns,
    len: usize,
}

impl<T: Inverse> InvArray<T> {
    /// An empty array.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty array with room for `cap` elements in every leaf.
    pub fn with_capacity(cap: usize) -> Self {
        InvArray { cols: T::columns_with_capacity(cap), len: 0 }
    }

    /// An array of `len` elements whose leaves are all zero (`false` for `bool`).
    /// This is how wrappers allocate kernel outputs.
    pub fn zeroed(len: usize) -> Self {
        InvArray { cols: T::columns_zeroed(len), len }
    }

    /// Builds an array from its columns (a tree of `Vec`s shaped like `T`, see
    /// [`Inverse::Columns`]). No element is copied.
    ///
    /// Errors with [`Error::LengthMismatch`] when the leaves do not all have the same length.
    /// An element type with no leaves (such as `()`) gives an empty array.
    pub fn from_columns(cols: T::Columns) -> Result<Self, Error> {
        let mut lens = Vec::with_capacity(T::LEAVES);
        T::column_lens(&cols, &mut lens);
        let len = lens.first().copied().unwrap_or(0);
        if let Some((i, &found)) = lens.iter().enumerate().find(|(_, &l)| l != len) {
            return Err(Error::LengthMismatch {
                what: format!("leaf {i} of the columns of `{}` (leaf 0 has {len})", std::any::type_name::<T>()),
                expected: len,
                found,
            });
        }
        Ok(InvArray { cols, len })
    }

    /// The number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Element `i`, gathered from the leaves, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<T> {
        (i < self.len).then(|| T::read(&T::slices(&self.cols), i))
    }

    /// Overwrites element `i`. Errors with [`Error::IndexOutOfBounds`] past the end.
    pub fn set(&mut self, i: usize, value: T) -> Result<(), Error> {
        if i >= self.len {
            return Err(Error::IndexOutOfBounds { index: i, len: self.len });
        }
        T::write(&mut T::slices_mut(&mut self.cols), i, value);
        Ok(())
    }

    /// Appends one element (one push per leaf).
    pub fn push(&mut self, value: T) {
        T::push(&mut self.cols, value);
        self.len += 1;
    }

    /// Removes and returns the last element, or `None` when empty.
    pub fn pop(&mut self) -> Option<T> {
        let last = self.get(self.len.checked_sub(1)?)?;
        self.truncate(self.len - 1);
        Some(last)
    }

    /// Shortens the array to `len` elements (no effect when it is not longer).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            T::truncate(&mut self.cols, len);
            self.len = len;
        }
    }

    /// Removes every element, keeping the buffers' capacity.
    pub fn clear(&mut self) {
        self.truncate(0)
    }

    /// Iterates over the elements by value (each one gathered from the leaves).
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { slices: T::slices(&self.cols), front: 0, back: self.len }
    }

    /// Copies the elements into an array-of-structs `Vec`.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().collect()
    }

    /// Borrows every leaf as a slice, in a tree shaped like `T`
    /// (for `(i32, (f32, bool))`: `(&[i32], (&[f32], &[bool]))`).
    #[inline]
    pub fn columns(&self) -> T::Slices<'_> {
        T::slices(&self.cols)
    }

    /// Borrows every leaf as a mutable slice, in a tree shaped like `T`. The slices cannot
    /// change length, so the array stays consistent. Split the tree with
    /// [`Split::split_at`](crate::Split::split_at) to hand disjoint pieces to threads.
    #[inline]
    pub fn columns_mut(&mut self) -> T::SlicesMut<'_> {
        T::slices_mut(&mut self.cols)
    }

    /// Borrows the owned column storage (a tree of `Vec`s).
    pub fn as_columns(&self) -> &T::Columns {
        &self.cols
    }

    /// Gives up the array and returns its columns. No element is copied.
    pub fn into_columns(self) -> T::Columns {
        self.cols
    }

    /// Type-erased views of every leaf in storage order: what a CPU kernel receives as
    /// pointer + length pairs and what device transfers copy.
    pub fn leaves(&self) -> Vec<LeafRef<'_>> {
        let mut out = Vec::with_capacity(T::LEAVES);
        T::visit(&self.cols, &mut |l| out.push(l));
        out
    }

    /// Mutable type-erased views of every leaf in storage order (for kernel outputs and
    /// device-to-host copies).
    pub fn leaves_mut(&mut self) -> Vec<LeafMut<'_>> {
        let mut out = Vec::with_capacity(T::LEAVES);
        T::visit_mut(&mut self.cols, &mut |l| out.push(l));
        out
    }

    /// The kinds of `T`'s leaves, in storage order.
    pub fn leaf_kinds() -> Vec<ScalarKind> {
        let mut out = Vec::with_capacity(T::LEAVES);
        T::leaf_kinds(&mut out);
        out
    }

    /// Regroups the same leaves as another element type with the same leaf kinds in the same
    /// order, e.g. `(i32, (i32, i32))` as `(i32, i32, i32)` or as a derived struct
    /// `{x: i32, y: i32, z: i32}`. No element is copied.
    ///
    /// Errors with [`Error::ShapeMismatch`] when the leaf kinds or counts differ.
    pub fn rezip<U: Inverse>(self) -> Result<InvArray<U>, Error> {
        let (from, to) = (Self::leaf_kinds(), InvArray::<U>::leaf_kinds());
        if from != to {
            return Err(Error::ShapeMismatch {
                from: std::any::type_name::<T>().into(),
                to: std::any::type_name::<U>().into(),
                reason: format!("the leaves are [{}] and [{}]", kind_list(&from), kind_list(&to)),
            });
        }
        let mut erased: Vec<ErasedColumn> = Vec::with_capacity(T::LEAVES);
        T::into_erased(self.cols, &mut erased);
        let mut it = erased.into_iter();
        let cols = U::from_erased(&mut it)?;
        if let Some(extra) = it.next() {
            return Err(Error::ShapeMismatch {
                from: std::any::type_name::<T>().into(),
                to: std::any::type_name::<U>().into(),
                reason: format!("a {} leaf was left over", extra.kind()),
            });
        }
        Ok(InvArray { cols, len: self.len })
    }

    /// A printable view showing each leaf column on its own line, like `[0 3 6 9]`.
    /// Use [`ColumnsDisplay::limit`] to cut long columns short (`[0 3 6 9 ...]`).
    pub fn display_columns(&self) -> ColumnsDisplay<'_> {
        ColumnsDisplay { leaves: self.leaves(), limit: None }
    }
}

impl<A: Inverse, B: Inverse> InvArray<(A, B)> {
    /// Pairs two arrays of equal length, moving their buffers (no element is copied).
    ///
    /// Errors with [`Error::LengthMismatch`] when the lengths differ.
    pub fn zip(a: InvArray<A>, b: InvArray<B>) -> Result<Self, Error> {
        if a.len != b.len {
            return Err(Error::LengthMismatch { what: "zip (right array)".into(), expected: a.len, found: b.len });
        }
        Ok(InvArray { cols: (a.cols, b.cols), len: a.len })
    }

    /// Splits an array of pairs into its two halves, moving the buffers (no element is copied).
    pub fn unzip(self) -> (InvArray<A>, InvArray<B>) {
        let (a, b) = self.cols;
        (InvArray { cols: a, len: self.len }, InvArray { cols: b, len: self.len })
    }
}

/// Pairs two arrays of equal length, moving their buffers: the same as [`InvArray::zip`].
pub fn zip<A: Inverse, B: Inverse>(a: InvArray<A>, b: InvArray<B>) -> Result<InvArray<(A, B)>, Error> {
    InvArray::zip(a, b)
}

fn kind_list(kinds: &[ScalarKind]) -> String {
    kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
}

impl<T: Inverse> Default for InvArray<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Inverse> Clone for InvArray<T> {
    fn clone(&self) -> Self {
        InvArray { cols: self.cols.clone(), len: self.len }
    }
}

impl<T: Inverse> PartialEq for InvArray<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.cols == other.cols
    }
}

/// How many elements `Debug` prints before `...`.
const DEBUG_LIMIT: usize = 32;

impl<T: Inverse + fmt::Debug> fmt::Debug for InvArray<T> {
    /// Prints the elements as tuples/structs: `InvArray[(0, 0, 0), (1, 1, 1)]`, cut after 32
    /// elements with `...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvArray")?;
        let mut list = f.debug_list();
        list.entries(self.iter().take(DEBUG_LIMIT));
        if self.len > DEBUG_LIMIT {
            list.entry(&format_args!("..."));
        }
        list.finish()
    }
}

impl<T: Inverse> FromIterator<T> for InvArray<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut out = Self::with_capacity(iter.size_hint().0);
        for x in iter {
            out.push(x);
        }
        out
    }
}

impl<T: Inverse> Extend<T> for InvArray<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for x in iter {
            self.push(x);
        }
    }
}

impl<T: Inverse> From<Vec<T>> for InvArray<T> {
    fn from(v: Vec<T>) -> Self {
        v.into_iter().collect()
    }
}

impl<'a, T: Inverse> IntoIterator for &'a InvArray<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: Inverse> IntoIterator for InvArray<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { back: self.len, array: self, front: 0 }
    }
}

/// An owning iterator over the elements of an [`InvArray`], by value.
pub struct IntoIter<T: Inverse> {
    array: InvArray<T>,
    front: usize,
    back: usize,
}

impl<T: Inverse> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if self.front < self.back {
            self.front += 1;
            self.array.get(self.front - 1)
        } else {
            None
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl<T: Inverse> DoubleEndedIterator for IntoIter<T> {
    fn next_back(&mut self) -> Option<T> {
        if self.front < self.back {
            self.back -= 1;
            self.array.get(self.back)
        } else {
            None
        }
    }
}

impl<T: Inverse> ExactSizeIterator for IntoIter<T> {}
impl<T: Inverse> FusedIterator for IntoIter<T> {}

/// An iterator over the elements of an [`InvArray`], by value.
pub struct Iter<'a, T: Inverse> {
    slices: T::Slices<'a>,
    front: usize,
    back: usize,
}

impl<T: Inverse> Iterator for Iter<'_, T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.front < self.back {
            let x = T::read(&self.slices, self.front);
            self.front += 1;
            Some(x)
        } else {
            None
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl<T: Inverse> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<T> {
        if self.front < self.back {
            self.back -= 1;
            Some(T::read(&self.slices, self.back))
        } else {
            None
        }
    }
}

impl<T: Inverse> ExactSizeIterator for Iter<'_, T> {}
impl<T: Inverse> FusedIterator for Iter<'_, T> {}

/// Prints each leaf column of an [`InvArray`] on its own line, like `[0 3 6 9]`
/// (see [`InvArray::display_columns`]).
pub struct ColumnsDisplay<'a> {
    leaves: Vec<LeafRef<'a>>,
    limit: Option<usize>,
}

impl ColumnsDisplay<'_> {
    /// Prints at most `n` elements per column, then ` ...`.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
}

impl fmt::Display for ColumnsDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (c, leaf) in self.leaves.iter().enumerate() {
            if c > 0 {
                f.write_str("\n")?;
            }
            let shown = self.limit.map_or(leaf.len(), |n| n.min(leaf.len()));
            f.write_str("[")?;
            for i in 0..shown {
                if i > 0 {
                    f.write_str(" ")?;
                }
                leaf.fmt_item(i, f)?;
            }
            if shown < leaf.len() {
                f.write_str(if shown > 0 { " ..." } else { "..." })?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

/// Checks that a kernel's arrays all have the same length and returns it (0 for no arrays).
///
/// Generated wrappers call it first, with one `(parameter name, length)` pair per array
/// argument, so a mismatch names the kernel and the offending parameter.
///
/// ```
/// use spiral_rt::{check_lengths, Error};
///
/// assert_eq!(check_lengths("map_kernel", &[("input", 8), ("weights", 8)]), Ok(8));
/// let e = check_lengths("map_kernel", &[("input", 8), ("weights", 7)]).unwrap_err();
/// assert_eq!(e.to_string(), "length mismatch in argument `weights` of `map_kernel` (`input` has 8): expected 8, found 7");
/// ```
pub fn check_lengths(kernel: &str, lens: &[(&str, usize)]) -> Result<usize, Error> {
    let Some(&(first, len)) = lens.first() else { return Ok(0) };
    match lens.iter().find(|(_, l)| *l != len) {
        Some(&(name, found)) => Err(Error::LengthMismatch {
            what: format!("argument `{name}` of `{kernel}` (`{first}` has {len})"),
            expected: len,
            found,
        }),
        None => Ok(len),
    }
}

/// A read-only view of a sub-range of an [`InvArray`] (one slice per leaf), made with
/// [`InvArray::slice`]. Exported functions accept it wherever they accept `&InvArray<T>`:
///
/// ```
/// use spiral_rt::InvArray;
/// let a: InvArray<(i32, f32)> = (0..10).map(|i| (i, i as f32)).collect();
/// let s = a.slice(2..5);
/// assert_eq!(s.len(), 3);
/// assert_eq!(s.get(0), Some((2, 2.0)));
/// assert_eq!(s.columns().0, &[2, 3, 4]);
/// ```
pub struct InvSlice<'a, T: Inverse> {
    cols: T::Slices<'a>,
    len: usize,
}

impl<'a, T: Inverse> Clone for InvSlice<'a, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<'a, T: Inverse> Copy for InvSlice<'a, T> {}

impl<'a, T: Inverse> InvSlice<'a, T> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether the view has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Element `i` of the view, gathered from the leaves.
    pub fn get(&self, i: usize) -> Option<T> {
        (i < self.len).then(|| T::read(&self.cols, i))
    }
    /// Every leaf's slice, in a tree shaped like `T`.
    pub fn columns(&self) -> T::Slices<'a> {
        self.cols
    }
    /// Copies the elements into an array-of-structs `Vec`.
    pub fn to_vec(&self) -> Vec<T> {
        (0..self.len).map(|i| T::read(&self.cols, i)).collect()
    }
}

impl<T: Inverse + fmt::Debug> fmt::Debug for InvSlice<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries((0..self.len).map(|i| T::read(&self.cols, i))).finish()
    }
}

/// A mutable view of a sub-range of an [`InvArray`] (one mutable slice per leaf), made with
/// [`InvArray::slice_mut`]. An exported function taking `InvSliceMut<T>` works on those
/// elements in place:
///
/// ```
/// use spiral_rt::InvArray;
/// let mut a: InvArray<i32> = (0..10).collect();
/// let mut s = a.slice_mut(8..);
/// assert_eq!(s.len(), 2);
/// s.set(0, -1).unwrap();
/// assert_eq!(a.get(8), Some(-1));
/// ```
pub struct InvSliceMut<'a, T: Inverse> {
    cols: T::SlicesMut<'a>,
    len: usize,
}

impl<'a, T: Inverse> InvSliceMut<'a, T> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether the view has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Sets element `i` of the view; errors with [`Error::LengthMismatch`] (whose `found` is
    /// the index) when `i` is past the end.
    pub fn set(&mut self, i: usize, value: T) -> Result<(), Error> {
        if i >= self.len {
            return Err(Error::LengthMismatch { what: "an index into an InvSliceMut (the found value is the index)".into(), expected: self.len, found: i });
        }
        T::write(&mut self.cols, i, value);
        Ok(())
    }
    /// Gives up the view and returns every leaf's mutable slice, in a tree shaped like `T`.
    pub fn into_columns(self) -> T::SlicesMut<'a> {
        self.cols
    }
}

fn range_of(r: impl std::ops::RangeBounds<usize>, len: usize) -> (usize, usize) {
    match checked_range(r, len) {
        Ok(x) => x,
        Err((start, end)) => panic!("range {start}..{end} is out of bounds of an inverse array of {len} elements"),
    }
}

/// `(start, end)` of `r` within `0..len`, or the out-of-bounds range as an error.
fn checked_range(r: impl std::ops::RangeBounds<usize>, len: usize) -> Result<(usize, usize), (usize, usize)> {
    use std::ops::Bound;
    let start = match r.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match r.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => len,
    };
    if start <= end && end <= len {
        Ok((start, end))
    } else {
        Err((start, end))
    }
}

impl<T: Inverse> InvArray<T> {
    /// A read-only view of the elements in `range`, without copying.
    ///
    /// # Panics
    /// When the range is out of bounds (as slicing a `Vec` does).
    pub fn slice(&self, range: impl std::ops::RangeBounds<usize>) -> InvSlice<'_, T> {
        let (start, end) = range_of(range, self.len);
        let (_, rest) = T::slices(&self.cols).split_at(start);
        let (cols, _) = rest.split_at(end - start);
        InvSlice { cols, len: end - start }
    }

    /// A mutable view of the elements in `range`, without copying.
    ///
    /// # Panics
    /// When the range is out of bounds (as slicing a `Vec` does).
    pub fn slice_mut(&mut self, range: impl std::ops::RangeBounds<usize>) -> InvSliceMut<'_, T> {
        let (start, end) = range_of(range, self.len);
        let (_, rest) = T::slices_mut(&mut self.cols).split_at(start);
        let (cols, _) = rest.split_at(end - start);
        InvSliceMut { cols, len: end - start }
    }

    /// [`slice`](Self::slice) that returns `None` instead of panicking when the range is out
    /// of bounds (as `<[T]>::get` does).
    ///
    /// ```
    /// use spiral_rt::InvArray;
    /// let a: InvArray<(i32, f32)> = (0..4).map(|i| (i, i as f32)).collect();
    /// assert_eq!(a.get_slice(1..3).map(|s| s.len()), Some(2));
    /// assert!(a.get_slice(3..9).is_none());
    /// ```
    pub fn get_slice(&self, range: impl std::ops::RangeBounds<usize>) -> Option<InvSlice<'_, T>> {
        let (start, end) = checked_range(range, self.len).ok()?;
        Some(self.slice(start..end))
    }

    /// [`slice_mut`](Self::slice_mut) that returns `None` instead of panicking when the range
    /// is out of bounds.
    pub fn get_slice_mut(&mut self, range: impl std::ops::RangeBounds<usize>) -> Option<InvSliceMut<'_, T>> {
        let (start, end) = checked_range(range, self.len).ok()?;
        Some(self.slice_mut(start..end))
    }

    /// The whole array as a read-only view.
    pub fn as_slice(&self) -> InvSlice<'_, T> {
        self.slice(..)
    }

    /// The whole array as a mutable view.
    pub fn as_slice_mut(&mut self) -> InvSliceMut<'_, T> {
        self.slice_mut(..)
    }
}

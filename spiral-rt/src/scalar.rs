//! Leaves: the primitive types an [`InvArray`](crate::InvArray) stores one buffer for, and
//! type-erased views of those buffers ([`LeafRef`], [`LeafMut`]) for packing and kernel calls.

use std::ffi::c_void;
use std::fmt;

use crate::Error;

pub use spiral_abi::ScalarKind;

mod sealed {
    pub trait Sealed {}
}

/// A primitive leaf type: one of `i8..i64`, `u8..u64`, `f32`, `f64`, `bool`.
///
/// Sealed: the set of leaves is closed so that byte views of leaf buffers are always sound.
pub trait Scalar:
    sealed::Sealed + Copy + Default + PartialEq + fmt::Debug + fmt::Display + Send + Sync + 'static
{
    /// The kind tag of this type.
    const KIND: ScalarKind;
    /// Wraps a slice of this type as a type-erased leaf view.
    fn leaf_ref(s: &[Self]) -> LeafRef<'_>;
    /// Wraps a mutable slice of this type as a type-erased leaf view.
    fn leaf_mut(s: &mut [Self]) -> LeafMut<'_>;
    /// Recovers the typed slice from a leaf view of the same kind.
    fn from_leaf_ref<'a>(l: &LeafRef<'a>) -> Option<&'a [Self]>;
    /// Recovers the typed mutable slice from a leaf view of the same kind.
    fn from_leaf_mut<'a>(l: LeafMut<'a>) -> Option<&'a mut [Self]>;
}

#[derive(Clone, Copy)]
enum Slice<'a> {
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    Bool(&'a [bool]),
}

enum SliceMut<'a> {
    I8(&'a mut [i8]),
    I16(&'a mut [i16]),
    I32(&'a mut [i32]),
    I64(&'a mut [i64]),
    U8(&'a mut [u8]),
    U16(&'a mut [u16]),
    U32(&'a mut [u32]),
    U64(&'a mut [u64]),
    F32(&'a mut [f32]),
    F64(&'a mut [f64]),
    Bool(&'a mut [bool]),
}

/// Runs `$body` with `$s` bound to the typed slice inside a `Slice`/`SliceMut`.
macro_rules! each_slice {
    ($e:expr, $ty:ident, $s:ident => $body:expr) => {
        match $e {
            $ty::I8($s) => $body,
            $ty::I16($s) => $body,
            $ty::I32($s) => $body,
            $ty::I64($s) => $body,
            $ty::U8($s) => $body,
            $ty::U16($s) => $body,
            $ty::U32($s) => $body,
            $ty::U64($s) => $body,
            $ty::F32($s) => $body,
            $ty::F64($s) => $body,
            $ty::Bool($s) => $body,
        }
    };
}

/// A read-only, type-erased view of one leaf buffer: its kind, length and data pointer.
///
/// This is what a generated wrapper hands to a C kernel (pointer + length per leaf) and what
/// device transfers copy. It can only be made from a real `&[S]` with `S:` [`Scalar`], so
/// [`as_bytes`](LeafRef::as_bytes) and the raw pointer are always valid for `len * size` bytes.
#[derive(Clone, Copy)]
pub struct LeafRef<'a>(Slice<'a>);

/// A mutable, type-erased view of one leaf buffer (see [`LeafRef`]).
pub struct LeafMut<'a>(SliceMut<'a>);

impl<'a> LeafRef<'a> {
    /// The kind of the elements.
    pub fn kind(&self) -> ScalarKind {
        each_slice!(self.0, Slice, s => kind_of(s))
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        each_slice!(self.0, Slice, s => s.len())
    }

    /// Whether the leaf has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of bytes (`len * kind.size()`).
    pub fn byte_len(&self) -> usize {
        self.len() * self.kind().size()
    }

    /// The data pointer, for a kernel's `const T*` argument. Valid for [`byte_len`](Self::byte_len)
    /// bytes while `'a` lives; aligned for the element type.
    pub fn as_ptr(&self) -> *const c_void {
        each_slice!(self.0, Slice, s => s.as_ptr() as *const c_void)
    }

    /// The raw bytes of the buffer (native endianness), e.g. for a host-to-device copy.
    pub fn as_bytes(&self) -> &'a [u8] {
        let len = self.byte_len();
        let ptr = self.as_ptr() as *const u8;
        // SAFETY: the view was built from a live `&'a [S]` with `S: Scalar`; every scalar is
        // plain data without padding, so its `len * size` bytes are initialised and readable.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }

    /// The typed slice, if `S` is the leaf's kind.
    pub fn downcast<S: Scalar>(&self) -> Option<&'a [S]> {
        S::from_leaf_ref(self)
    }

    /// Writes element `i` with its `Display` format (used by column printing).
    pub(crate) fn fmt_item(&self, i: usize, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        each_slice!(self.0, Slice, s => fmt::Display::fmt(&s[i], f))
    }
}

impl fmt::Debug for LeafRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafRef").field("kind", &self.kind()).field("len", &self.len()).finish()
    }
}

impl<'a> LeafMut<'a> {
    /// The kind of the elements.
    pub fn kind(&self) -> ScalarKind {
        each_slice!(&self.0, SliceMut, s => kind_of(s))
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        each_slice!(&self.0, SliceMut, s => s.len())
    }

    /// Whether the leaf has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of bytes (`len * kind.size()`).
    pub fn byte_len(&self) -> usize {
        self.len() * self.kind().size()
    }

    /// The data pointer, for a kernel's `T*` output argument. Valid for
    /// [`byte_len`](Self::byte_len) bytes while `'a` lives; aligned for the element type.
    /// A kernel writing `bool` leaves must only store 0 or 1.
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        each_slice!(&mut self.0, SliceMut, s => s.as_mut_ptr() as *mut c_void)
    }

    /// The same buffer as a read-only view.
    pub fn as_ref(&self) -> LeafRef<'_> {
        LeafRef(each_slice!(&self.0, SliceMut, s => to_slice(s)))
    }

    /// The typed mutable slice, if `S` is the leaf's kind.
    pub fn downcast<S: Scalar>(self) -> Option<&'a mut [S]> {
        S::from_leaf_mut(self)
    }

    /// Fills the buffer from raw bytes (native endianness), e.g. after a device-to-host copy.
    ///
    /// Errors with [`Error::LengthMismatch`] when `bytes` is not exactly
    /// [`byte_len`](Self::byte_len) long, and with [`Error::ShapeMismatch`] when a `bool` leaf
    /// would receive a byte other than 0 or 1 (the buffer is left unchanged then).
    pub fn copy_from_bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.len() != self.byte_len() {
            return Err(Error::LengthMismatch {
                what: format!("bytes for a {} leaf of {} elements", self.kind(), self.len()),
                expected: self.byte_len(),
                found: bytes.len(),
            });
        }
        self.copy_from_bytes_at(0, bytes)
    }

    /// Overwrites elements `start..start + bytes.len() / size` from raw bytes (native
    /// endianness), e.g. one DPU's share of an output leaf.
    ///
    /// Errors with [`Error::LengthMismatch`] when `bytes` is not a whole number of elements or
    /// does not fit, and with [`Error::ShapeMismatch`] when a `bool` leaf would receive a byte
    /// other than 0 or 1 (the buffer is left unchanged then).
    pub fn copy_from_bytes_at(&mut self, start: usize, bytes: &[u8]) -> Result<(), Error> {
        let size = self.kind().size();
        let fits = start.checked_mul(size).and_then(|b| b.checked_add(bytes.len()));
        let whole = bytes.len() / size * size == bytes.len();
        if !whole || fits.is_none_or(|end| end > self.byte_len()) {
            return Err(Error::LengthMismatch {
                what: format!(
                    "bytes for elements {start}.. of a {} leaf of {} elements (a multiple of {size} that fits)",
                    self.kind(),
                    self.len()
                ),
                expected: self.byte_len().saturating_sub(start.saturating_mul(size)),
                found: bytes.len(),
            });
        }
        if self.kind() == ScalarKind::Bool {
            if let Some(pos) = bytes.iter().position(|&b| b > 1) {
                return Err(Error::ShapeMismatch {
                    from: "bytes".into(),
                    to: "bool".into(),
                    reason: format!("byte {pos} is {}, not 0 or 1", bytes[pos]),
                });
            }
        }
        // SAFETY: `start * size + bytes.len() <= byte_len` was checked above, so the
        // destination range lies inside the live `&mut [S]` this view was made from; the
        // regions cannot overlap (we hold the unique borrow of the destination); every bit
        // pattern is valid for the numeric kinds and bool bytes were checked to be 0 or 1.
        unsafe {
            let dst = (self.as_mut_ptr() as *mut u8).add(start * size);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
        }
        Ok(())
    }
}

impl fmt::Debug for LeafMut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafMut").field("kind", &self.kind()).field("len", &self.len()).finish()
    }
}

fn kind_of<S: Scalar>(_: &[S]) -> ScalarKind {
    S::KIND
}

fn to_slice<S: Scalar>(s: &[S]) -> Slice<'_> {
    match S::leaf_ref(s) {
        LeafRef(x) => x,
    }
}

macro_rules! scalar {
    ($($t:ty => $k:ident),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Scalar for $t {
            const KIND: ScalarKind = ScalarKind::$k;
            fn leaf_ref(s: &[Self]) -> LeafRef<'_> {
                LeafRef(Slice::$k(s))
            }
            fn leaf_mut(s: &mut [Self]) -> LeafMut<'_> {
                LeafMut(SliceMut::$k(s))
            }
            fn from_leaf_ref<'a>(l: &LeafRef<'a>) -> Option<&'a [Self]> {
                match l.0 {
                    Slice::$k(s) => Some(s),
                    _ => None,
                }
            }
            fn from_leaf_mut<'a>(l: LeafMut<'a>) -> Option<&'a mut [Self]> {
                match l.0 {
                    SliceMut::$k(s) => Some(s),
                    _ => None,
                }
            }
        }
    )*};
}

scalar! {
    i8 => I8, i16 => I16, i32 => I32, i64 => I64,
    u8 => U8, u16 => U16, u32 => U32, u64 => U64,
    f32 => F32, f64 => F64, bool => Bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_c_sizes() {
        assert_eq!(ScalarKind::I32.size(), 4);
        assert_eq!(ScalarKind::F64.size(), 8);
        assert_eq!(ScalarKind::Bool.size(), std::mem::size_of::<bool>());
        assert_eq!(ScalarKind::U16.c_type(), "uint16_t");
        for k in ScalarKind::ALL {
            assert_eq!(k.size(), k.align());
        }
    }

    #[test]
    fn leaf_views_round_trip() {
        let mut v = vec![1i32, -2, 3];
        let r = i32::leaf_ref(&v);
        assert_eq!(r.kind(), ScalarKind::I32);
        assert_eq!(r.len(), 3);
        let expected: Vec<u8> = [1i32, -2, 3].iter().flat_map(|x| x.to_ne_bytes()).collect();
        assert_eq!(r.as_bytes(), &expected[..]);
        assert_eq!(r.downcast::<i32>(), Some(&[1, -2, 3][..]));
        assert_eq!(r.downcast::<u32>(), None);
        let mut m = i32::leaf_mut(&mut v);
        let bytes: Vec<u8> = [7i32, 8, 9].iter().flat_map(|x| x.to_ne_bytes()).collect();
        m.copy_from_bytes(&bytes).unwrap();
        assert!(matches!(m.copy_from_bytes(&bytes[..4]), Err(Error::LengthMismatch { expected: 12, found: 4, .. })));
        assert_eq!(v, [7, 8, 9]);
    }

    #[test]
    fn bool_leaves_reject_bad_bytes() {
        let mut v = vec![false, true];
        let mut m = bool::leaf_mut(&mut v);
        assert!(matches!(m.copy_from_bytes(&[1, 2]), Err(Error::ShapeMismatch { .. })));
        m.copy_from_bytes(&[1, 0]).unwrap();
        assert_eq!(v, [true, false]);
    }
}

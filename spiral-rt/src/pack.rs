//! Per-backend packing of [`InvArray`](crate::InvArray) leaves for kernel launches.
//!
//! A generated wrapper checks lengths, transfers each leaf, launches and returns the outputs.
//! How a leaf travels depends on the backend:
//!
//! | backend | packing |
//! | --- | --- |
//! | CPU | none: the kernel gets each leaf's pointer and length ([`LeafRef::as_ptr`], [`LeafMut::as_mut_ptr`](crate::LeafMut::as_mut_ptr)) |
//! | CUDA | one device buffer per leaf, copied from [`LeafRef::as_bytes`] |
//! | UPMEM | the element range is split over the DPUs; on each DPU every leaf gets an MRAM block at an 8-byte-aligned offset, padded to a multiple of 8 bytes ([`UpmemLayout`]) |
//!
//! [`UpmemLayout`] plans the MRAM blocks and packs and unpacks them; it enforces the hardware
//! rules that can be checked on the host (64 MiB of MRAM per DPU, 8-byte alignment).

use std::ops::Range;

use crate::scalar::{LeafMut, LeafRef, ScalarKind};
use crate::Error;

/// Bytes of MRAM on one UPMEM DPU (64 MiB).
pub const MRAM_BYTES: usize = 64 << 20;

/// Alignment (and size granularity) of MRAM transfers, in bytes.
pub const MRAM_ALIGN: usize = 8;

/// Rounds `n` up to a multiple of [`MRAM_ALIGN`], or `None` on overflow.
pub fn round_up8(n: usize) -> Option<usize> {
    n.checked_add(MRAM_ALIGN - 1).map(|m| m / MRAM_ALIGN * MRAM_ALIGN)
}

/// One leaf's MRAM block, the same on every DPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MramBlock {
    /// The kind of the leaf's elements.
    pub kind: ScalarKind,
    /// Byte offset of the block in MRAM (a multiple of 8).
    pub offset: usize,
    /// Capacity of the block in bytes (a multiple of 8, enough for the largest DPU share).
    pub bytes: usize,
}

/// Where the leaves of one launch live in each DPU's MRAM.
///
/// Elements `0..len` are split into one contiguous range per DPU (the first `len % dpus`
/// ranges hold one more element). Every leaf (inputs first, then outputs, in the order
/// given to [`plan`](Self::plan)) gets one [`MramBlock`] whose offset is the same on every DPU,
/// so the kernel can receive the offsets once and its own element count per DPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpmemLayout {
    len: usize,
    ranges: Vec<Range<usize>>,
    blocks: Vec<MramBlock>,
    bytes: usize,
}

impl UpmemLayout {
    /// Plans the MRAM blocks for `len` elements over `dpus` DPUs, one block per leaf kind in
    /// `leaves`, starting at MRAM offset `base` (rounded up to 8).
    ///
    /// Errors with [`Error::DeviceLimit`] when there are no DPUs or when one DPU's blocks do
    /// not fit in [`MRAM_BYTES`].
    pub fn plan(len: usize, dpus: usize, leaves: &[ScalarKind], base: usize) -> Result<UpmemLayout, Error> {
        if dpus == 0 {
            return Err(Error::DeviceLimit { what: "DPUs in a launch (at least 1)".into(), limit: 1, requested: 0 });
        }
        let (per, rem) = (len / dpus, len % dpus);
        let mut start = 0;
        let ranges: Vec<Range<usize>> = (0..dpus)
            .map(|d| {
                let n = per + usize::from(d < rem);
                let r = start..start + n;
                start += n;
                r
            })
            .collect();
        let max_count = per + usize::from(rem > 0);
        let too_big = |requested: usize| Error::DeviceLimit {
            what: "MRAM bytes per DPU".into(),
            limit: MRAM_BYTES as u64,
            requested: requested as u64,
        };
        let mut offset = round_up8(base).ok_or_else(|| too_big(usize::MAX))?;
        let mut blocks = Vec::with_capacity(leaves.len());
        for &kind in leaves {
            let bytes = max_count.checked_mul(kind.size()).and_then(round_up8).ok_or_else(|| too_big(usize::MAX))?;
            blocks.push(MramBlock { kind, offset, bytes });
            offset = offset.checked_add(bytes).ok_or_else(|| too_big(usize::MAX))?;
        }
        if offset > MRAM_BYTES {
            return Err(too_big(offset));
        }
        Ok(UpmemLayout { len, ranges, blocks, bytes: offset })
    }

    /// The number of elements of the launch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the launch has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of DPUs.
    pub fn dpus(&self) -> usize {
        self.ranges.len()
    }

    /// The elements DPU `dpu` works on (empty past the last DPU).
    pub fn range(&self, dpu: usize) -> Range<usize> {
        self.ranges.get(dpu).cloned().unwrap_or(self.len..self.len)
    }

    /// The MRAM block of every leaf, in the order given to [`plan`](Self::plan).
    pub fn blocks(&self) -> &[MramBlock] {
        &self.blocks
    }

    /// Bytes of MRAM used on each DPU (the end of the last block).
    pub fn mram_bytes(&self) -> usize {
        self.bytes
    }

    /// Builds DPU `dpu`'s MRAM image for the first `leaves.len()` blocks (the inputs): each
    /// leaf's share of elements at its block's offset, zero padding elsewhere. The image ends
    /// at the end of the last given block, so its length is a multiple of 8.
    ///
    /// Errors with [`Error::ShapeMismatch`] when a leaf's kind is not its block's or there are
    /// more leaves than blocks, and with [`Error::LengthMismatch`] when a leaf does not have
    /// [`len`](Self::len) elements or `dpu` does not exist.
    pub fn pack(&self, dpu: usize, leaves: &[LeafRef<'_>]) -> Result<Vec<u8>, Error> {
        let range = self.check_dpu(dpu)?;
        self.check_leaves(leaves.iter().map(|l| (l.kind(), l.len())))?;
        let end = leaves.len().checked_sub(1).map_or(0, |last| self.blocks[last].offset + self.blocks[last].bytes);
        let mut image = vec![0u8; end];
        for (leaf, block) in leaves.iter().zip(&self.blocks) {
            let size = leaf.kind().size();
            let src = &leaf.as_bytes()[range.start * size..range.end * size];
            image[block.offset..block.offset + src.len()].copy_from_slice(src);
        }
        Ok(image)
    }

    /// Copies DPU `dpu`'s share of the output leaves out of its MRAM `image`. Output leaf `k`
    /// is read from block `first_block + k`.
    ///
    /// Errors with [`Error::ShapeMismatch`] or [`Error::LengthMismatch`] as
    /// [`pack`](Self::pack) does, and with [`Error::LengthMismatch`] when `image` is too short
    /// to hold the blocks.
    pub fn unpack(&self, dpu: usize, image: &[u8], first_block: usize, leaves: &mut [LeafMut<'_>]) -> Result<(), Error> {
        let range = self.check_dpu(dpu)?;
        let blocks = self.blocks.get(first_block..).unwrap_or(&[]);
        let view = || leaves.iter().map(|l| (l.kind(), l.len()));
        if leaves.len() > blocks.len() {
            return Err(Error::ShapeMismatch {
                from: format!("{} output leaves", leaves.len()),
                to: format!("{} MRAM blocks from block {first_block}", blocks.len()),
                reason: "there are more leaves than blocks".into(),
            });
        }
        check_against(blocks, self.len, view())?;
        for (leaf, block) in leaves.iter_mut().zip(blocks) {
            let n = range.len() * leaf.kind().size();
            let src = image.get(block.offset..block.offset + n).ok_or_else(|| Error::LengthMismatch {
                what: format!("MRAM image of DPU {dpu}"),
                expected: block.offset + n,
                found: image.len(),
            })?;
            leaf.copy_from_bytes_at(range.start, src)?;
        }
        Ok(())
    }

    fn check_dpu(&self, dpu: usize) -> Result<Range<usize>, Error> {
        self.ranges.get(dpu).cloned().ok_or(Error::IndexOutOfBounds { index: dpu, len: self.ranges.len() })
    }

    fn check_leaves(&self, leaves: impl ExactSizeIterator<Item = (ScalarKind, usize)>) -> Result<(), Error> {
        if leaves.len() > self.blocks.len() {
            return Err(Error::ShapeMismatch {
                from: format!("{} leaves", leaves.len()),
                to: format!("{} MRAM blocks", self.blocks.len()),
                reason: "there are more leaves than blocks".into(),
            });
        }
        check_against(&self.blocks, self.len, leaves)
    }
}

fn check_against(
    blocks: &[MramBlock],
    len: usize,
    leaves: impl Iterator<Item = (ScalarKind, usize)>,
) -> Result<(), Error> {
    for (k, ((kind, n), block)) in leaves.zip(blocks).enumerate() {
        if kind != block.kind {
            return Err(Error::ShapeMismatch {
                from: kind.name().into(),
                to: block.kind.name().into(),
                reason: format!("leaf {k} is {kind} but its MRAM block holds {}", block.kind),
            });
        }
        if n != len {
            return Err(Error::LengthMismatch { what: format!("leaf {k} of an UPMEM launch"), expected: len, found: n });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InvArray;

    #[test]
    fn blocks_are_aligned_and_padded() {
        let l = UpmemLayout::plan(10, 3, &[ScalarKind::I32, ScalarKind::U8, ScalarKind::F64], 3).unwrap();
        assert_eq!(l.dpus(), 3);
        assert_eq!([l.range(0), l.range(1), l.range(2)], [0..4, 4..7, 7..10]);
        assert_eq!(l.range(5), 10..10);
        let b = l.blocks();
        assert_eq!((b[0].offset, b[0].bytes), (8, 16));
        assert_eq!((b[1].offset, b[1].bytes), (24, 8));
        assert_eq!((b[2].offset, b[2].bytes), (32, 32));
        assert_eq!(l.mram_bytes(), 64);
        assert!(b.iter().all(|b| b.offset % 8 == 0 && b.bytes % 8 == 0));
    }

    #[test]
    fn limits_are_typed_errors() {
        let e = UpmemLayout::plan(1 << 22, 1, &[ScalarKind::I32; 5], 0).unwrap_err();
        assert_eq!(e, Error::DeviceLimit { what: "MRAM bytes per DPU".into(), limit: 64 << 20, requested: 80 << 20 });
        assert!(UpmemLayout::plan(1 << 22, 2, &[ScalarKind::I32; 5], 0).is_ok());
        assert!(matches!(UpmemLayout::plan(4, 0, &[ScalarKind::I32], 0), Err(Error::DeviceLimit { requested: 0, .. })));
        assert!(matches!(UpmemLayout::plan(usize::MAX, 1, &[ScalarKind::I64], 0), Err(Error::DeviceLimit { .. })));
    }

    #[test]
    fn pack_then_unpack_moves_every_share() {
        let input: InvArray<(i32, u8)> = (0..11).map(|i| (i * 3 - 5, i as u8)).collect();
        let mut output = InvArray::<(i32, u8)>::zeroed(11);
        let mut kinds = InvArray::<(i32, u8)>::leaf_kinds();
        kinds.extend(InvArray::<(i32, u8)>::leaf_kinds());
        let layout = UpmemLayout::plan(11, 4, &kinds, 0).unwrap();
        for dpu in 0..layout.dpus() {
            let mut image = layout.pack(dpu, &input.leaves()).unwrap();
            assert_eq!(image.len() % 8, 0);
            // The "kernel": copy the input blocks into the output blocks.
            image.resize(layout.mram_bytes(), 0);
            let (inp, out) = (&layout.blocks()[..2], &layout.blocks()[2..]);
            for (i, o) in inp.iter().zip(out) {
                image.copy_within(i.offset..i.offset + i.bytes, o.offset);
            }
            layout.unpack(dpu, &image, 2, &mut output.leaves_mut()).unwrap();
        }
        assert_eq!(output, input);
    }

    #[test]
    fn pack_checks_kinds_lengths_and_dpus() {
        let layout = UpmemLayout::plan(4, 2, &[ScalarKind::I32], 0).unwrap();
        let wrong_kind: InvArray<u32> = (0..4).collect();
        assert!(matches!(layout.pack(0, &wrong_kind.leaves()), Err(Error::ShapeMismatch { .. })));
        let wrong_len: InvArray<i32> = (0..5).collect();
        assert!(matches!(layout.pack(0, &wrong_len.leaves()), Err(Error::LengthMismatch { expected: 4, found: 5, .. })));
        let ok: InvArray<i32> = (0..4).collect();
        assert_eq!(layout.pack(2, &ok.leaves()), Err(Error::IndexOutOfBounds { index: 2, len: 2 }));
        let two: InvArray<(i32, i32)> = (0..4).map(|i| (i, i)).collect();
        assert!(matches!(layout.pack(0, &two.leaves()), Err(Error::ShapeMismatch { .. })));
        let mut out = InvArray::<i32>::zeroed(4);
        let short = vec![0u8; 4];
        assert!(matches!(layout.unpack(0, &short, 0, &mut out.leaves_mut()), Err(Error::LengthMismatch { .. })));
    }
}

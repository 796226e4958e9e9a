//! UPMEM processing-in-memory DPUs: launches of DPU C programs through the UPMEM SDK's host
//! library or through its emulator, with the hardware's rules checked.
//!
//! The API exists in every build so that generated wrappers compile either way; only with the
//! crate feature `upmem` can [`Device::upmem`](crate::Device::upmem) or
//! [`Device::upmem_emulator`](crate::Device::upmem_emulator) succeed. Without it they return
//! [`Error::DeviceMissing`] saying to enable the feature, and [`Device::upmem_launch`] on any
//! other device returns [`Error::Unsupported`]. Nothing here panics.
//!
//! # Two back ends, one host code
//! * **The SDK** ([`Device::upmem`], [`Device::upmem_with_tasklets`]): with `UPMEM_HOME` set
//!   (the SDK's install prefix), the host library `$UPMEM_HOME/lib/libdpu.so` is loaded at run
//!   time, and a kernel's DPU C is compiled at first use with
//!   `$UPMEM_HOME/bin/dpu-upmem-dpurte-clang -O2 -DNR_TASKLETS=T -o k.dpu k.c`.
//! * **The emulator** ([`Device::upmem_emulator`]): a C library implementing the same host
//!   API (`spiral-rt/upmem/include/dpu.h`, the subset of SDK 2023.2's `dpu.h` Spiral uses, with
//!   the same signatures, types, enums and error codes) plus a model of the DPU runtime
//!   (`spiral-rt/upmem/dpu-rt/`: `defs.h`, `mram.h`, `attributes.h`, `barrier.h`, `alloc.h`,
//!   `mutex.h`, `perfcounter.h`, `stdio.h`) under which DPU C written for the SDK compiles with
//!   the host's C compiler into a shared object: `cc -shared -fPIC -O2 -std=gnu11
//!   -DNR_TASKLETS=T -I dpu-rt -include spi_emu_abi.h -Wl,-Bsymbolic k.c -o k.so`.
//!
//! With the feature, the build script generates the Rust bindings (the module `sys`, a dynamically
//! loaded `DpuApi`) with bindgen over `$UPMEM_HOME/include/dpu/dpu.h` when `UPMEM_HOME` is set
//! at build time, else over the emulator's `dpu.h`; the launcher calls the same functions
//! either way (`dpu_alloc`, `dpu_load`, `dpu_prepare_xfer`, `dpu_push_xfer`, `dpu_copy_to`,
//! `dpu_launch`, `dpu_free`, the `DPU_FOREACH` iterator functions). Building needs libclang
//! (bindgen's `runtime` feature loads it; set `LIBCLANG_PATH` if it is not found).
//!
//! # The kernel ABI
//! A kernel is one whole DPU program ([`UpmemKernel::source`]). It includes the DPU runtime's
//! headers it needs (`<stdint.h> <stdbool.h> <attributes.h> <defs.h> <mram.h> <barrier.h>
//! <alloc.h>`), is compiled with `-DNR_TASKLETS=T` (every tasklet runs `main`; `me()` is the
//! tasklet's index) and declares
//!
//! ```c
//! __host uint64_t __spi_args[N];               // N = 4 + 2 per array leaf + 1 per scalar
//! __host uint64_t __spi_status[NR_TASKLETS];   // one failure code per tasklet
//! ```
//!
//! Before each launch the host writes every DPU's `__spi_args` (one `dpu_push_xfer` for all):
//!
//! | slot | value |
//! | --- | --- |
//! | 0 | the DPU's index |
//! | 1 | the DPU count |
//! | 2 | the DPU's element count of the launch (`len` split like the leaves) |
//! | 3 | the global index of the DPU's first element |
//! | then, per parameter in order | an array leaf: two slots, the byte offset of its MRAM block from `DPU_MRAM_HEAP_POINTER` (a multiple of 8) and the DPU's element count of it; a scalar: one slot, its bits (little-endian, zero-extended to 64 bits) |
//!
//! Every array leaf is split over the `D` DPUs by its own length `n` ([`dpu_share`]): DPU `d`
//! gets a contiguous range, the first `n % D` DPUs one element more. Each leaf has one MRAM
//! block at the same offset on every DPU, `roundup8(largest share × element size)` bytes,
//! blocks laid out one after another from offset 0; all of them must fit the 64 MiB of MRAM
//! ([`Error::DeviceLimit`]). Inputs ([`UpmemArgs::input`]) are pushed, outputs
//! ([`UpmemArgs::output`]) pulled, in-outs ([`UpmemArgs::inout`]) both, one `dpu_push_xfer`
//! per leaf with one length for all DPUs (short shares are staged in padded buffers, so no
//! transfer reads or writes past a host slice or past a DPU's share of it).
//!
//! The host zeroes `__spi_status` before the launch and reads it back after; the first
//! non-zero slot (in DPU order, then tasklet order) is [`Error::KernelFailed`] naming the DPU,
//! the tasklet and the reason (1: an index out of bounds, 2: `failwith`, 3: integer division by
//! zero; the CPU and CUDA kernels' codes).
//!
//! An **element kernel** (`tasklet_kernel == false`) has every array leaf of the launch's
//! length (else [`Error::LengthMismatch`]), and a launch of 0 elements does nothing. A
//! **tasklet kernel** (`tasklet_kernel == true`) takes leaves of any lengths.
//!
//! A launch: compile and load the program (when it is not the one loaded), push the
//! arguments, zero the status, push the inputs, `dpu_launch(DPU_SYNCHRONOUS)`, read the
//! status, pull the outputs. WRAM and MRAM contents persist across launches of one program;
//! loading another program re-initialises them.
//!
//! # The emulator
//! Each DPU has its own 64 MiB MRAM (zero until written) and its own copy of the program's
//! globals (its WRAM: every DPU loads a separate copy of the shared object). `DPU_MRAM_HEAP_POINTER`
//! is the start of the DPU's MRAM and the symbol `__sys_used_mram_end` is 64 MiB long.
//! Tasklets are threads; `barrier_wait` is a real, re-arming barrier; `printf` writes to the
//! DPU's 1 MiB log (emptied at each launch, printed by `dpu_log_read`). `__host` variables live
//! in the section `dpu_host`, `__mram`/`__mram_noinit` ones in `dpu_mram`/`dpu_mram_noinit`;
//! only those (and the heap symbol) are visible to the host.
//!
//! It enforces these rules; a violation fails the call with the SDK's error code and is
//! reported by the runtime as [`Error::UpmemRule`] with the [`UpmemRule`] and a message with
//! the numbers. A violation inside a DPU program faults the DPU: the tasklet stops, tasklets
//! waiting at a barrier are released and stop too, and `dpu_launch` returns
//! `DPU_ERR_DPU_FAULT`.
//!
//! | rule | checked |
//! | --- | --- |
//! | [`UpmemRule::DmaSize`] | `mram_read`/`mram_write` move a multiple of 8 bytes from 8 to 2048 |
//! | [`UpmemRule::DmaAlignment`] | their MRAM and WRAM addresses are 8-byte aligned |
//! | [`UpmemRule::MramBounds`] | the MRAM range lies in the DPU's 64 MiB (or its `__mram` variables) |
//! | [`UpmemRule::DpuIsolation`] | a DPU never touches another DPU's MRAM |
//! | [`UpmemRule::WramBounds`] | the WRAM range lies in the DPU's WRAM (globals, `mem_alloc` heap, own stack) |
//! | [`UpmemRule::WramBudget`] | at load, static WRAM (the objects of data, bss and `__host`, by their symbols' sizes, so sanitizer redzones do not count; plus read-only data) + NR_TASKLETS × `STACK_SIZE_DEFAULT` (default [`STACK_SIZE_DEFAULT`] bytes) fits 64 KiB; `mem_alloc` past the end of WRAM faults |
//! | [`UpmemRule::TooManyTasklets`] | at load, 1 ≤ NR_TASKLETS ≤ 24 (`DPU_ERR_TOO_MANY_TASKLETS`) |
//! | [`UpmemRule::HostMramAlignment`] | host MRAM transfers: offset and size multiples of 8 (`DPU_ERR_INVALID_MRAM_ACCESS`) |
//! | [`UpmemRule::HostWramAlignment`] | host WRAM transfers: offset and size multiples of 4 (`DPU_ERR_INVALID_WRAM_ACCESS`) |
//! | [`UpmemRule::SymbolBounds`] | `offset + length <= symbol size` (`DPU_ERR_INVALID_SYMBOL_ACCESS`) |
//! | [`UpmemRule::UnknownSymbol`] | the symbol exists and is host-visible (`DPU_ERR_UNKNOWN_SYMBOL`) |
//! | [`UpmemRule::UnequalTransfer`] | `dpu_push_xfer` has a prepared buffer for every DPU of the set |
//! | [`UpmemRule::InvalidDpuSet`] | `dpu_copy_from` reads a single DPU (`DPU_ERR_INVALID_DPU_SET`) |
//! | [`UpmemRule::NoProgram`] | transfers and launches need a loaded program (`DPU_ERR_NO_PROGRAM_LOADED`) |
//! | [`UpmemRule::BarrierDeadlock`] | a DPU whose live tasklets all wait at barriers faults instead of hanging |
//!
//! A DPU program that crashes outright (a wild pointer outside any checked call) crashes the
//! host process, as any C code in it would.
//!
//! # Environment variables and caches
//! * `UPMEM_HOME`: the SDK (at build time: which `dpu.h` bindgen reads; at run time: where
//!   [`Device::upmem`] finds `lib/libdpu.so` and `bin/dpu-upmem-dpurte-clang`).
//! * `SPIRAL_UPMEM_CC`, else `CC`, else `cc`: the host C compiler that builds the emulator and
//!   DPU programs for it. `SPIRAL_UPMEM_CFLAGS`: extra flags for both (split at whitespace).
//! * `SPIRAL_UPMEM_CACHE`: the cache folder, by default `<temp dir>/spiral-upmem-<user>`. It
//!   holds the emulator's sources (`rt-<hash>/`), the emulator library (`libdpu_emu-<hash>.so`)
//!   and the compiled DPU programs (`dpu-<hash>.c` and `.so`, or `.dpu` for the SDK), each
//!   named by a hash of its source, the compiler, the flags and the tasklet count, and written
//!   to a temporary name then renamed, so parallel processes never see half a file. Deleting
//!   the folder is always safe.
//! * `SPIRAL_UPMEM_EMU_THREADS`: how many DPUs the emulator runs at once (default: the cores,
//!   2 to 8); `SPIRAL_UPMEM_TASKLET_STACK_KIB`: a tasklet thread's host stack (default 1024).
//! * `TMPDIR`: where the emulator writes each DPU's private copy of a program (deleted when
//!   the program is unloaded).
//!
//! # Sanitizers
//! `SPIRAL_UPMEM_CFLAGS="-fsanitize=undefined"` works as is (libubsan can be loaded into
//! any process). AddressSanitizer must be the first library of the process, which a Rust test
//! binary is not, so run the test binaries (not cargo itself) with gcc's libasan preloaded:
//!
//! ```text
//! CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="env LD_PRELOAD=$(cc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=1" \
//! SPIRAL_UPMEM_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
//!     cargo test -p spiral-rt --features upmem --test upmem_emulator
//! ```
//!
//! The compilers the runtime starts do not inherit `LD_PRELOAD`, so leak checking can stay on
//! (CI runs the root crate's `tests/upmem.rs` this way).
//!
//! [`Device::upmem`]: crate::Device::upmem
//! [`Device::upmem_with_tasklets`]: crate::Device::upmem_with_tasklets
//! [`Device::upmem_emulator`]: crate::Device::upmem_emulator
//! [`Device::upmem_launch`]: crate::Device::upmem_launch

use std::fmt;
use std::ops::Range;

use crate::scalar::{LeafMut, LeafRef};
use crate::{Device, Error, Scalar, ScalarKind};

#[cfg(feature = "upmem")]
mod backend;
#[cfg(feature = "upmem")]
pub mod sys;
#[cfg(feature = "upmem")]
pub(crate) use backend::UpmemBackend;
#[cfg(feature = "upmem")]
pub use backend::{compile_emulator_program, emulator_library, emulator_violation, rule_error};

#[cfg(not(feature = "upmem"))]
mod stub;
#[cfg(not(feature = "upmem"))]
pub(crate) use stub::UpmemBackend;

/// The tasklets per DPU of [`Device::upmem`](crate::Device::upmem).
pub const DEFAULT_TASKLETS: usize = 16;

/// The most tasklets a DPU runs (its hardware threads).
pub const MAX_TASKLETS: usize = 24;

/// Bytes of WRAM of a DPU.
pub const WRAM_BYTES: usize = 64 << 10;

/// Bytes of MRAM of a DPU.
pub const MRAM_BYTES: usize = crate::pack::MRAM_BYTES;

/// The most bytes one `mram_read`/`mram_write` moves.
pub const DMA_MAX_BYTES: usize = 2048;

/// The WRAM the emulator budgets per tasklet for its stack when the program does not define
/// `STACK_SIZE_DEFAULT` (the SDK's default is not documented).
pub const STACK_SIZE_DEFAULT: usize = 1024;

/// The slots of `__spi_args` before the parameters'.
pub const ARG_HEADER_SLOTS: usize = 4;

/// The elements of a leaf of `n` elements that DPU `dpu` of `dpus` holds: contiguous ranges,
/// the first `n % dpus` one element longer (empty past the last DPU, or with no DPUs).
///
/// ```
/// use spiral_rt::upmem::dpu_share;
/// assert_eq!((0..3).map(|d| dpu_share(10, 3, d)).collect::<Vec<_>>(), [0..4, 4..7, 7..10]);
/// ```
pub fn dpu_share(n: usize, dpus: usize, dpu: usize) -> Range<usize> {
    if dpus == 0 || dpu >= dpus {
        return n..n;
    }
    let (per, rem) = (n / dpus, n % dpus);
    let start = dpu * per + dpu.min(rem);
    start..start + per + usize::from(dpu < rem)
}

/// The DPU C program of one kernel: the whole text of the program (see the
/// [module documentation](self) for the ABI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpmemKernel<'a> {
    /// The kernel's name, for errors.
    pub name: &'a str,
    /// The DPU C source.
    pub source: &'a str,
}

/// One argument of an UPMEM launch.
#[derive(Debug)]
pub(crate) enum UpmemArg<'a> {
    /// Pushed, not pulled.
    Input(LeafRef<'a>),
    /// Pulled, not pushed.
    Output(LeafMut<'a>),
    /// Pushed and pulled.
    Inout(LeafMut<'a>),
    /// A scalar's bits, zero-extended (the kind is kept for `Debug`).
    #[cfg_attr(not(feature = "upmem"), allow(dead_code))]
    Scalar {
        #[allow(dead_code)]
        kind: ScalarKind,
        bits: u64,
    },
}

impl UpmemArg<'_> {
    /// The element kind and length of an array leaf; `None` for a scalar.
    pub(crate) fn leaf(&self) -> Option<(ScalarKind, usize)> {
        match self {
            UpmemArg::Input(l) => Some((l.kind(), l.len())),
            UpmemArg::Output(l) | UpmemArg::Inout(l) => Some((l.kind(), l.len())),
            UpmemArg::Scalar { .. } => None,
        }
    }
}

/// The parameters of an UPMEM launch, in the kernel's parameter order: array leaves (how they
/// travel: [`input`](Self::input), [`output`](Self::output), [`inout`](Self::inout)) and
/// scalars.
///
/// ```
/// use spiral_rt::UpmemArgs;
/// let (xs, mut ys) = (vec![1i32, 2, 3], vec![0f64; 3]);
/// let mut args = UpmemArgs::new();
/// args.input(&xs[..]).output(&mut ys[..]).scalar(2.5f32);
/// assert_eq!(args.slots(), 4 + 2 + 2 + 1);
/// ```
#[derive(Debug, Default)]
pub struct UpmemArgs<'a> {
    pub(crate) items: Vec<UpmemArg<'a>>,
}

impl<'a> UpmemArgs<'a> {
    /// No parameters yet.
    pub fn new() -> Self {
        UpmemArgs { items: Vec::new() }
    }

    /// An array leaf the kernel only reads: pushed to the DPUs, not pulled back.
    pub fn input<S: Scalar>(&mut self, leaf: &'a [S]) -> &mut Self {
        self.items.push(UpmemArg::Input(S::leaf_ref(leaf)));
        self
    }

    /// An array leaf the kernel writes entirely: pulled back, not pushed.
    pub fn output<S: Scalar>(&mut self, leaf: &'a mut [S]) -> &mut Self {
        self.items.push(UpmemArg::Output(S::leaf_mut(leaf)));
        self
    }

    /// An array leaf the kernel reads and writes: pushed and pulled back.
    pub fn inout<S: Scalar>(&mut self, leaf: &'a mut [S]) -> &mut Self {
        self.items.push(UpmemArg::Inout(S::leaf_mut(leaf)));
        self
    }

    /// A scalar by value (its bits, zero-extended to 64; `bool` is 0 or 1).
    pub fn scalar<S: Scalar>(&mut self, value: S) -> &mut Self {
        let bytes = S::leaf_ref(std::slice::from_ref(&value)).as_bytes();
        let mut word = [0u8; 8];
        word[..bytes.len()].copy_from_slice(bytes);
        self.items.push(UpmemArg::Scalar { kind: S::KIND, bits: u64::from_le_bytes(word) });
        self
    }

    /// The number of `__spi_args` slots a kernel with these parameters declares: 4, plus 2 per
    /// array leaf and 1 per scalar.
    pub fn slots(&self) -> usize {
        ARG_HEADER_SLOTS + self.items.iter().map(|a| if a.leaf().is_some() { 2 } else { 1 }).sum::<usize>()
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Counters of an UPMEM device ([`Device::upmem_stats`](crate::Device::upmem_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct UpmemStats {
    /// Bytes of array-leaf elements pushed to the DPUs (each element once, without padding).
    pub leaf_bytes_pushed: u64,
    /// Bytes of array-leaf elements pulled back from the DPUs.
    pub leaf_bytes_pulled: u64,
    /// Every byte moved between the host and the DPUs, summed over the DPUs: padded leaf
    /// blocks, `__spi_args`, zeroing and reading `__spi_status`.
    pub bytes_transferred: u64,
    /// Launches that ran (an element kernel of 0 elements does not run).
    pub launches: u64,
    /// Programs loaded into the DPUs.
    pub program_loads: u64,
}

/// A rule of the UPMEM hardware or of the SDK's host library that the emulator enforces
/// (carried by [`Error::UpmemRule`]; see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UpmemRule {
    /// `mram_read`/`mram_write` move a multiple of 8 bytes, from 8 to 2048.
    DmaSize,
    /// `mram_read`/`mram_write` need 8-byte-aligned MRAM and WRAM addresses.
    DmaAlignment,
    /// A DMA must stay inside the DPU's 64 MiB of MRAM.
    MramBounds,
    /// A DPU cannot access another DPU's MRAM.
    DpuIsolation,
    /// Static WRAM plus the tasklets' stacks must fit the 64 KiB of WRAM, and `mem_alloc` must
    /// not pass its end.
    WramBudget,
    /// A program runs 1 to 24 tasklets.
    TooManyTasklets,
    /// Host transfers to or from MRAM need an offset and a size that are multiples of 8.
    HostMramAlignment,
    /// Host transfers to or from WRAM need an offset and a size that are multiples of 4.
    HostWramAlignment,
    /// A host transfer must stay inside its symbol.
    SymbolBounds,
    /// A host transfer must name a symbol the program defines as `__host`, `__mram` or
    /// `__mram_noinit` (or `__sys_used_mram_end`).
    UnknownSymbol,
    /// `dpu_push_xfer` moves one length for every DPU of the set, each from its own prepared
    /// buffer: every DPU needs one.
    UnequalTransfer,
    /// The WRAM side of a DMA must be the DPU's WRAM (globals, heap, the tasklet's stack).
    WramBounds,
    /// Every live tasklet of a DPU waits at a barrier that cannot complete.
    BarrierDeadlock,
    /// The operation needs a set of one DPU (`dpu_copy_from`).
    InvalidDpuSet,
    /// Transfers and launches need a loaded program.
    NoProgram,
    /// Transfers by symbol name need one program on every DPU of the set.
    DifferentPrograms,
    /// The program is not one the emulator can load (not built with its DPU headers).
    InvalidProgram,
}

impl UpmemRule {
    /// Every rule, in the emulator's numbering (`enum dpu_emu_rule` of `dpu_emu.h`, from 1).
    pub const ALL: [UpmemRule; 17] = [
        UpmemRule::DmaSize,
        UpmemRule::DmaAlignment,
        UpmemRule::MramBounds,
        UpmemRule::DpuIsolation,
        UpmemRule::WramBudget,
        UpmemRule::TooManyTasklets,
        UpmemRule::HostMramAlignment,
        UpmemRule::HostWramAlignment,
        UpmemRule::SymbolBounds,
        UpmemRule::UnknownSymbol,
        UpmemRule::UnequalTransfer,
        UpmemRule::WramBounds,
        UpmemRule::BarrierDeadlock,
        UpmemRule::InvalidDpuSet,
        UpmemRule::NoProgram,
        UpmemRule::DifferentPrograms,
        UpmemRule::InvalidProgram,
    ];

    /// The rule with the emulator's number `id` (`DPU_EMU_RULE_*`); `None` for 0 or unknown.
    pub fn from_id(id: u32) -> Option<UpmemRule> {
        usize::try_from(id).ok().and_then(|i| i.checked_sub(1)).and_then(|i| UpmemRule::ALL.get(i).copied())
    }

    /// The emulator's number of the rule.
    pub fn id(self) -> u32 {
        UpmemRule::ALL.iter().position(|&r| r == self).map_or(0, |i| i as u32 + 1)
    }

    /// The rule in words.
    pub fn name(self) -> &'static str {
        match self {
            UpmemRule::DmaSize => "DMA size: a multiple of 8 bytes from 8 to 2048",
            UpmemRule::DmaAlignment => "DMA alignment: 8-byte-aligned MRAM and WRAM addresses",
            UpmemRule::MramBounds => "MRAM bounds: a DPU has 64 MiB of MRAM",
            UpmemRule::DpuIsolation => "DPU isolation: no DPU-to-DPU memory access",
            UpmemRule::WramBudget => "WRAM budget: 64 KiB for data, stacks and heap",
            UpmemRule::TooManyTasklets => "tasklets: 1 to 24 per DPU",
            UpmemRule::HostMramAlignment => "host MRAM transfers: offset and size multiples of 8",
            UpmemRule::HostWramAlignment => "host WRAM transfers: offset and size multiples of 4",
            UpmemRule::SymbolBounds => "symbol bounds: offset + length <= symbol size",
            UpmemRule::UnknownSymbol => "host-visible symbols: __host, __mram, __mram_noinit",
            UpmemRule::UnequalTransfer => "push_xfer: one prepared buffer per DPU, one length for all",
            UpmemRule::WramBounds => "WRAM bounds: a DMA's WRAM side is the DPU's own WRAM",
            UpmemRule::BarrierDeadlock => "barriers: every tasklet a barrier counts must reach it",
            UpmemRule::InvalidDpuSet => "DPU sets: dpu_copy_from reads one DPU",
            UpmemRule::NoProgram => "a program must be loaded",
            UpmemRule::DifferentPrograms => "transfers by name need one program on every DPU",
            UpmemRule::InvalidProgram => "DPU programs for the emulator are built with its DPU headers",
        }
    }
}

impl fmt::Display for UpmemRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Device {
    /// Runs `kernel` on this UPMEM device: `len` is the launch's element count (split over the
    /// DPUs like the leaves), `tasklet_kernel` says whether leaves may have other lengths (a
    /// tasklet kernel) or must all have `len` elements (an element kernel), and `args` are the
    /// kernel's parameters. Outputs and in-outs are written back when the launch succeeds. See
    /// the [module documentation](crate::upmem) for the ABI.
    ///
    /// Errors with [`Error::Unsupported`] on a device that is not an UPMEM device,
    /// [`Error::LengthMismatch`] for an element kernel's leaf of another length,
    /// [`Error::DeviceLimit`] when the leaves do not fit a DPU's MRAM, [`Error::Toolchain`]
    /// when the program does not compile, [`Error::UpmemRule`] when the emulator catches a
    /// broken rule, [`Error::KernelFailed`] when a tasklet reports a failure or a DPU faults,
    /// and [`Error::DeviceFailed`] when the host library fails otherwise.
    pub fn upmem_launch(&self, kernel: &UpmemKernel<'_>, len: usize, tasklet_kernel: bool, args: &mut UpmemArgs<'_>) -> Result<(), Error> {
        self.upmem_backend("launch a DPU program")?.launch(kernel, len, tasklet_kernel, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_element_once() {
        for n in [0usize, 1, 7, 64, 100003] {
            for d in [1usize, 3, 64] {
                let mut next = 0;
                for dpu in 0..d {
                    let r = dpu_share(n, d, dpu);
                    assert_eq!(r.start, next);
                    assert!(r.len() == n / d || r.len() == n / d + 1);
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
        assert_eq!(dpu_share(5, 0, 0), 5..5);
    }

    #[test]
    fn rules_round_trip_their_numbers() {
        for (i, r) in UpmemRule::ALL.iter().enumerate() {
            assert_eq!(r.id(), i as u32 + 1);
            assert_eq!(UpmemRule::from_id(r.id()), Some(*r));
        }
        assert_eq!(UpmemRule::from_id(0), None);
        assert_eq!(UpmemRule::from_id(18), None);
        let e = Error::UpmemRule { rule: UpmemRule::DmaSize, message: "mram_read of 4096 bytes".into() };
        assert!(e.to_string().contains("DMA size"));
    }

    #[test]
    fn scalars_are_little_endian_zero_extended() {
        let mut args = UpmemArgs::new();
        args.scalar(-1i8).scalar(true).scalar(1.5f32);
        let bits: Vec<u64> = args.items.iter().map(|a| match a { UpmemArg::Scalar { bits, .. } => *bits, _ => 0 }).collect();
        assert_eq!(bits, [0xff, 1, u64::from(1.5f32.to_bits())]);
        assert_eq!(args.slots(), 7);
    }
}

//! The one error type of the runtime.

use std::fmt;

/// Everything that can go wrong in the runtime: building or regrouping an [`InvArray`],
/// finding a device, launching a kernel or driving a device toolchain.
///
/// Every fallible runtime call returns `Result<_, Error>`; user-reachable paths never panic.
///
/// [`InvArray`]: crate::InvArray
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Two things that must have the same length do not (zipped arrays, the columns of one
    /// array, a kernel's inputs and outputs, a byte buffer and the leaf it fills).
    LengthMismatch {
        /// What was being checked, e.g. `"zip"` or `"column 2 of (i32, i32)"`.
        what: String,
        /// The length that was required.
        expected: usize,
        /// The length that was found.
        found: usize,
    },
    /// An element index past the end of an array.
    IndexOutOfBounds {
        /// The index that was asked for.
        index: usize,
        /// The length of the array.
        len: usize,
    },
    /// Two element types do not have the same leaves (kinds and count), so one cannot be
    /// regrouped into the other.
    ShapeMismatch {
        /// The type (or shape) the data has.
        from: String,
        /// The type (or shape) it was asked to become.
        to: String,
        /// Why they do not match.
        reason: String,
    },
    /// The requested device is not present, or this build cannot drive it.
    DeviceMissing {
        /// The device, e.g. `"cuda:0"`.
        device: String,
        /// Why it cannot be used, in words a user can act on.
        reason: String,
    },
    /// A kernel started but did not finish: it panicked, or the device reported a fault.
    KernelFailed {
        /// The kernel's name.
        kernel: String,
        /// What the kernel or the device said.
        message: String,
    },
    /// A request exceeds a hard limit of the device (memory size, thread count, DMA size...).
    DeviceLimit {
        /// Which limit, e.g. `"MRAM bytes per DPU"`.
        what: String,
        /// The limit.
        limit: u64,
        /// What was requested.
        requested: u64,
    },
    /// The operation cannot run on this device: a CUDA transfer or launch on the CPU device,
    /// a host closure on a CUDA device, a device array used with another device.
    Unsupported {
        /// The device, e.g. `"cpu (2 threads)"` or `"cuda:0"`.
        device: String,
        /// What was asked of it, in words, e.g. `"copy an array to device memory"`.
        operation: String,
    },
    /// A device call outside a kernel failed (allocation, copy, synchronisation); a failure
    /// while loading or running a kernel is [`Error::KernelFailed`] naming the kernel.
    DeviceFailed {
        /// The device, e.g. `"cuda:0"`.
        device: String,
        /// What was being done, e.g. `"copy leaf 1 (f32, 10 elements) to the device"`.
        operation: String,
        /// What the driver said (its error name and description where it has them).
        message: String,
    },
    /// An external toolchain (C compiler, nvcc, NVRTC, DPU clang) is missing or failed.
    Toolchain {
        /// The tool, e.g. `"cc"`.
        tool: String,
        /// What went wrong, including the tool's own output where there is one.
        message: String,
    },
    /// The UPMEM emulator caught a program or a host transfer breaking a rule of the hardware
    /// or of the SDK's host library (see [`crate::upmem`]). On the real SDK the same mistake
    /// is a DPU fault, an SDK error code or silent corruption.
    UpmemRule {
        /// Which rule.
        rule: crate::UpmemRule,
        /// What the emulator said: the call or DPU and tasklet, and the numbers.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch { what, expected, found } => {
                write!(f, "length mismatch in {what}: expected {expected}, found {found}")
            }
            Error::IndexOutOfBounds { index, len } => {
                write!(f, "index {index} is out of bounds for an array of length {len}")
            }
            Error::ShapeMismatch { from, to, reason } => {
                write!(f, "cannot regroup `{from}` as `{to}`: {reason}")
            }
            Error::DeviceMissing { device, reason } => {
                write!(f, "device `{device}` is not available: {reason}")
            }
            Error::KernelFailed { kernel, message } => {
                write!(f, "kernel `{kernel}` failed: {message}")
            }
            Error::DeviceLimit { what, limit, requested } => {
                write!(f, "device limit exceeded: {what} is limited to {limit}, but {requested} was requested")
            }
            Error::Unsupported { device, operation } => write!(f, "device `{device}` cannot {operation}"),
            Error::DeviceFailed { device, operation, message } => {
                write!(f, "device `{device}` failed to {operation}: {message}")
            }
            Error::Toolchain { tool, message } => write!(f, "toolchain `{tool}` failed: {message}"),
            Error::UpmemRule { rule, message } => write!(f, "UPMEM rule broken ({rule}): {message}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_numbers() {
        let e = Error::LengthMismatch { what: "zip".into(), expected: 3, found: 4 };
        assert_eq!(e.to_string(), "length mismatch in zip: expected 3, found 4");
        let e = Error::DeviceLimit { what: "MRAM bytes per DPU".into(), limit: 64, requested: 65 };
        assert!(e.to_string().contains("limited to 64, but 65"));
    }
}

//! Support for generated code (`spiral!` and `spiral-build` wrappers). Not a public API: names
//! and signatures here may change with any release.

use std::panic::{self, AssertUnwindSafe};

use crate::Error;

/// A failure raised by Spiral code (`failwith`, a C kernel's status). Carried as a `String`
/// panic payload, so the CPU device and [`catch_host`] report it as a message.
///
/// It unwinds with [`std::panic::resume_unwind`], which does not run the panic hook: nothing is
/// printed to stderr, the caller gets an `Err`.
pub fn fail(message: String) -> ! {
    panic::resume_unwind(Box::new(message))
}

/// The failure of a C kernel that returned a non-zero status.
pub fn fail_status(status: i32) -> ! {
    fail(format!("CPU kernel failed with status {status}: {}", status_reason(status)))
}

/// What a kernel's non-zero status means (C kernels on the CPU and CUDA kernels share the codes).
pub fn status_reason(status: i32) -> &'static str {
    match status {
        1 => "an array index is out of bounds",
        2 => "failwith was called",
        3 => "integer division by zero",
        _ => "unknown status",
    }
}

/// Runs an export's body. A panic or Spiral failure inside it (outside a device launch, which
/// reports its own) becomes [`Error::KernelFailed`] naming the export, so a generated function
/// returns `Err` instead of unwinding into its caller.
pub fn catch_host<T>(export: &str, body: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        // A launch's (or the body's own) failure names the CPU closure; the export is the name
        // the caller knows.
        Ok(Err(Error::KernelFailed { kernel, message })) if kernel == crate::CPU_CLOSURE => {
            Err(Error::KernelFailed { kernel: export.to_string(), message })
        }
        // A length check of the export's body: say which export.
        Ok(Err(Error::LengthMismatch { what, expected, found })) => {
            Err(Error::LengthMismatch { what: format!("{what}, in `{export}`"), expected, found })
        }
        Ok(r) => r,
        Err(payload) => Err(Error::KernelFailed { kernel: export.to_string(), message: payload_message(&*payload) }),
    }
}

/// The message of a panic payload (`&str` or `String`).
pub fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "the Spiral program panicked with a non-string payload".to_string()
    }
}

/// Runs a closure when dropped: how a wrapper hands a `&mut InvArray`'s buffers back to the
/// caller however its body ends (a value, an `Err`, or a failure unwinding to [`catch_host`]).
pub struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// A guard that runs `f` when it goes out of scope.
pub fn on_drop<F: FnMut()>(f: F) -> OnDrop<F> {
    OnDrop(f)
}

/// Element `i` of a host-side Spiral array; out of bounds is a Spiral failure (which the
/// wrapper returns as an `Err`), not a panic message on stderr.
#[inline]
pub fn element<T>(s: &[T], i: i64) -> &T {
    match usize::try_from(i).ok().and_then(|j| s.get(j)) {
        Some(x) => x,
        None => fail(format!("index {i} is out of bounds of an array of {} elements", s.len())),
    }
}

/// [`element`], for writing.
#[inline]
pub fn element_mut<T>(s: &mut [T], i: i64) -> &mut T {
    let n = s.len();
    match usize::try_from(i).ok().and_then(|j| s.get_mut(j)) {
        Some(x) => x,
        None => fail(format!("index {i} is out of bounds of an array of {n} elements")),
    }
}

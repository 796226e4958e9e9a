//! Big stacks for the recursive stages, without a new thread when the current one has room.
//!
//! The parser and the partial evaluator recurse once per nesting level, so they run on
//! threads with large (reserved, not committed) stacks. [`with_stack`] starts such a thread
//! only when the calling thread is not already one with enough stack left: a whole `spiral!`
//! expansion (parses, prepass, evaluation of every export) then runs on one thread instead of
//! one thread per parse and per export.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Extra stack given to every thread [`with_stack`] starts, on top of what was asked for:
/// covers the thread's own start-up frames and the frames of the caller before the nested
/// stage begins.
const SLACK: usize = 16 << 20;

thread_local! {
    /// On threads started by [`with_stack`]: the address near the top of the stack and the
    /// usable size below it.
    static BIG: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

/// The address of a local of this frame: where the stack currently is.
#[inline(never)]
fn here() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Bytes of stack left on the current thread when it was started by [`with_stack`] (`None`
/// on any other thread, whose stack size is unknown). Stacks grow downwards.
pub fn remaining() -> Option<usize> {
    BIG.with(Cell::get).map(|(top, size)| size.saturating_sub(top.saturating_sub(here())))
}

/// Runs `f` with at least `bytes` of stack: on the current thread when it is a big-stack
/// thread with that much left, else on a new thread named `name` with `bytes` (plus a margin)
/// of stack. A panic inside `f` becomes `None` in both cases.
pub fn with_stack<T: Send>(bytes: usize, name: &str, f: impl FnOnce() -> T + Send) -> Option<T> {
    if remaining().is_some_and(|r| r >= bytes) {
        return catch_unwind(AssertUnwindSafe(f)).ok();
    }
    let size = bytes.saturating_add(SLACK);
    std::thread::scope(|scope| {
        let h = std::thread::Builder::new().name(name.into()).stack_size(size).spawn_scoped(scope, move || {
            // Leave the slack's worth of room for what ran before `here()` is taken.
            BIG.with(|b| b.set(Some((here(), size - SLACK / 2))));
            f()
        });
        match h {
            Ok(h) => h.join().ok(),
            Err(_) => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_threads_have_no_known_stack() {
        assert_eq!(std::thread::spawn(remaining).join().ok().flatten(), None);
    }

    #[test]
    fn nested_calls_reuse_the_big_thread() {
        let outer = with_stack(64 << 20, "outer", || {
            let id = std::thread::current().id();
            let left = remaining().expect("a big-stack thread");
            assert!(left >= 64 << 20, "{left}");
            // Enough room: runs here. Too much asked: a new thread.
            let same = with_stack(32 << 20, "inner", || std::thread::current().id()).expect("ran");
            let other = with_stack(1 << 30, "inner", || std::thread::current().id()).expect("ran");
            (id == same, id == other)
        });
        assert_eq!(outer, Some((true, false)));
    }

    #[test]
    fn panics_become_none_inline_and_on_a_new_thread() {
        let fresh: Option<()> = with_stack(8 << 20, "t", || panic!("boom"));
        let nested = with_stack(64 << 20, "t", || with_stack::<()>(8 << 20, "t", || panic!("boom")));
        assert_eq!(fresh, None);
        assert_eq!(nested, Some(None));
    }

    #[test]
    fn deep_recursion_fits_in_what_was_asked() {
        fn down(n: u32) -> u32 {
            let pad = std::hint::black_box([n as u8; 512]);
            if n == 0 { pad[0] as u32 } else { down(n - 1) + (pad[1] as u32 & 1) }
        }
        // ~20 MiB of frames on an inline call inside a 64 MiB request.
        let r = with_stack(64 << 20, "outer", || with_stack(32 << 20, "inner", || down(20_000)));
        assert!(matches!(r, Some(Some(_))));
    }
}

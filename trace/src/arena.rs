//! The bootstrap arena: memory for the few allocations made while the real allocator is
//! still being looked up (glibc's `dlsym` may call `malloc` and `calloc` for its error
//! state). A bump allocator over a static array: never reused, so its memory stays zero
//! until handed out (what `calloc` needs); `free` of an arena block does nothing.
#![allow(unsafe_code)] // the crate root denies it everywhere else

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Bytes of the arena. glibc's start-up needs well under 1 KiB.
pub const ARENA_BYTES: usize = 64 * 1024;
/// Bytes in front of each block that hold its size (for `realloc` out of the arena).
const HEADER: usize = 16;

#[repr(C, align(16))]
struct Arena(UnsafeCell<[u8; ARENA_BYTES]>);

// SAFETY: blocks are handed out once each by an atomic bump of USED, so no two threads
// ever get the same bytes.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; ARENA_BYTES]));
static USED: AtomicUsize = AtomicUsize::new(0);

fn base() -> usize {
    ARENA.0.get() as usize
}

/// `size` zeroed bytes aligned to `align` (a power of two), or null when the arena is used
/// up.
pub fn alloc(size: usize, align: usize) -> *mut c_void {
    let align = align.max(HEADER);
    loop {
        let used = USED.load(Relaxed);
        let start = (base() + used + HEADER + align - 1) & !(align - 1);
        let Some(end) = (start - base()).checked_add(size) else { return core::ptr::null_mut() };
        if end > ARENA_BYTES {
            return core::ptr::null_mut();
        }
        if USED.compare_exchange(used, end, Relaxed, Relaxed).is_ok() {
            let p = start as *mut u8;
            // SAFETY: [start - HEADER, start + size) lies inside the arena (checked above)
            // and was reserved for this call alone by the compare-exchange.
            unsafe { p.sub(core::mem::size_of::<usize>()).cast::<usize>().write_unaligned(size) };
            return p.cast();
        }
    }
}

/// True if `p` came from the arena.
pub fn contains(p: *const c_void) -> bool {
    let p = p as usize;
    p >= base() && p < base() + ARENA_BYTES
}

/// The size asked for the arena block at `p` (which must satisfy [`contains`]).
pub fn size_of(p: *const c_void) -> usize {
    // SAFETY: p is an arena block (the caller checked contains): alloc wrote its size just
    // before it, and nothing writes there again.
    unsafe { p.cast::<u8>().sub(core::mem::size_of::<usize>()).cast::<usize>().read_unaligned() }
}

#[cfg(test)]
mod test {
    #[test]
    fn blocks_are_aligned_sized_and_bounded() {
        let a = super::alloc(10, 16);
        let b = super::alloc(100, 4096);
        assert!(super::contains(a) && super::contains(b));
        assert_eq!(b as usize % 4096, 0);
        assert_eq!((super::size_of(a), super::size_of(b)), (10, 100));
        assert!(super::alloc(super::ARENA_BYTES, 16).is_null());
        assert!(!super::contains(&0u8 as *const u8 as *const _));
    }
}

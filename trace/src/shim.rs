//! The exported allocator API: what the program's calls to `malloc` and friends reach.
//!
//! Each entry point is a naked function of two instructions that copies its own return
//! address (the call site in the program: `[rsp]` on x86_64, `x30` on aarch64) into the
//! next free argument register and jumps to a Rust function that takes the site as one
//! more argument. The real allocator is the next definition after this library
//! (`dlsym(RTLD_NEXT)`), looked up once at start-up; until then the bootstrap arena serves.
#![allow(unsafe_code)] // the crate root denies it everywhere else

use crate::events::Kind;
use crate::{arena, forget, freed, ready, record, sys, TABLE};
use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static MALLOC: AtomicUsize = AtomicUsize::new(0);
static CALLOC: AtomicUsize = AtomicUsize::new(0);
static REALLOC: AtomicUsize = AtomicUsize::new(0);
static FREE: AtomicUsize = AtomicUsize::new(0);
static MEMALIGN: AtomicUsize = AtomicUsize::new(0);
static ALIGNED_ALLOC: AtomicUsize = AtomicUsize::new(0);
static POSIX_MEMALIGN: AtomicUsize = AtomicUsize::new(0);
static VALLOC: AtomicUsize = AtomicUsize::new(0);

/// Looks up the real allocator functions (called once, during start-up).
pub fn resolve() {
    FREE.store(sys::next_symbol(c"free"), Relaxed);
    MALLOC.store(sys::next_symbol(c"malloc"), Relaxed);
    CALLOC.store(sys::next_symbol(c"calloc"), Relaxed);
    REALLOC.store(sys::next_symbol(c"realloc"), Relaxed);
    MEMALIGN.store(sys::next_symbol(c"memalign"), Relaxed);
    ALIGNED_ALLOC.store(sys::next_symbol(c"aligned_alloc"), Relaxed);
    POSIX_MEMALIGN.store(sys::next_symbol(c"posix_memalign"), Relaxed);
    VALLOC.store(sys::next_symbol(c"valloc"), Relaxed);
}

/// The real function in `slot` as a function pointer of type `$ty`, or `None`.
macro_rules! real {
    ($slot:ident as $ty:ty) => {{
        let f = $slot.load(Relaxed);
        // SAFETY: a non-zero address in the slot came from dlsym for the C function of that
        // name, whose prototype is $ty.
        (f != 0).then(|| unsafe { core::mem::transmute::<usize, $ty>(f) })
    }};
}

type Alloc1 = unsafe extern "C" fn(usize) -> *mut c_void;
type Alloc2 = unsafe extern "C" fn(usize, usize) -> *mut c_void;
type Realloc = unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void;
type Free = unsafe extern "C" fn(*mut c_void);
type PosixMemalign = unsafe extern "C" fn(*mut *mut c_void, usize, usize) -> c_int;

/// Defines an exported allocator function that hands its return address to `$imp` as the
/// argument after its own (`$x86`/`$arm` name that argument's register).
macro_rules! shim {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty => $imp:ident, $x86:literal, $arm:literal) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The C contract of the function of the same name.
        #[unsafe(naked)]
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            core::arch::naked_asm!(concat!("mov ", $x86, ", qword ptr [rsp]"), "jmp {imp}", imp = sym $imp);
            #[cfg(target_arch = "aarch64")]
            core::arch::naked_asm!(concat!("mov ", $arm, ", x30"), "b {imp}", imp = sym $imp);
        }
    };
}

shim!(
    /// `malloc(3)`, recorded.
    malloc(size: usize) -> *mut c_void => malloc_at, "rsi", "x1"
);
shim!(
    /// `calloc(3)`, recorded.
    calloc(n: usize, size: usize) -> *mut c_void => calloc_at, "rdx", "x2"
);
shim!(
    /// `realloc(3)`: the old block is forgotten, the new one recorded at this call site.
    realloc(p: *mut c_void, size: usize) -> *mut c_void => realloc_at, "rdx", "x2"
);
shim!(
    /// `reallocarray(3)`, recorded.
    reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void => reallocarray_at, "rcx", "x3"
);
shim!(
    /// `posix_memalign(3)`, recorded.
    posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int => posix_memalign_at, "rcx", "x3"
);
shim!(
    /// `aligned_alloc(3)`, recorded.
    aligned_alloc(align: usize, size: usize) -> *mut c_void => aligned_alloc_at, "rdx", "x2"
);
shim!(
    /// `memalign(3)`, recorded.
    memalign(align: usize, size: usize) -> *mut c_void => memalign_at, "rdx", "x2"
);
shim!(
    /// `valloc(3)`, recorded.
    valloc(size: usize) -> *mut c_void => valloc_at, "rsi", "x1"
);

shim!(
    /// `free(3)`: forgets the block, then frees it. Arena blocks are never freed.
    free(p: *mut c_void) -> () => free_at, "rsi", "x1"
);

extern "C" fn free_at(p: *mut c_void, site: usize) {
    if p.is_null() || arena::contains(p) {
        return;
    }
    if !ready() {
        // Start-up is under way in another thread: free only if the real free is known.
        if let Some(f) = real!(FREE as Free) {
            // SAFETY: p came from the real allocator (not the arena): its free may take it.
            unsafe { f(p) };
        }
        return;
    }
    // Forget before freeing: once freed, another thread may get the same address back
    // and record it before we could remove the old entry.
    freed(p, site);
    if let Some(f) = real!(FREE as Free) {
        // SAFETY: as above.
        unsafe { f(p) };
    }
}

fn set_enomem() {
    sys::set_errno(libc::ENOMEM);
}

extern "C" fn malloc_at(size: usize, site: usize) -> *mut c_void {
    let Some(f) = ready().then(|| real!(MALLOC as Alloc1)).flatten() else { return arena::alloc(size, 16) };
    // SAFETY: the real malloc takes any size.
    let p = unsafe { f(size) };
    record(p, size, site, Kind::Malloc, core::ptr::null_mut());
    p
}

extern "C" fn calloc_at(n: usize, size: usize, site: usize) -> *mut c_void {
    let Some(total) = n.checked_mul(size) else {
        set_enomem();
        return core::ptr::null_mut();
    };
    let Some(f) = ready().then(|| real!(CALLOC as Alloc2)).flatten() else { return arena::alloc(total, 16) };
    // SAFETY: the real calloc takes any counts (it checks the product itself).
    let p = unsafe { f(n, size) };
    record(p, total, site, Kind::Calloc, core::ptr::null_mut());
    p
}

extern "C" fn realloc_at(p: *mut c_void, size: usize, site: usize) -> *mut c_void {
    if p.is_null() {
        return malloc_at(size, site);
    }
    if arena::contains(p) {
        // Out of the arena into the real heap (or a bigger arena block during start-up).
        let q = malloc_at(size, site);
        if !q.is_null() {
            let n = arena::size_of(p).min(size);
            // SAFETY: p holds at least n bytes (its size), q at least size ≥ n; they are
            // distinct blocks.
            unsafe { core::ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), n) };
        }
        return q;
    }
    let Some(f) = ready().then(|| real!(REALLOC as Realloc)).flatten() else {
        set_enomem();
        return core::ptr::null_mut();
    };
    let old = forget(p);
    // SAFETY: p is a live block of the real allocator (not the arena, checked above).
    let q = unsafe { f(p, size) };
    if q.is_null() {
        // Failed: p is still live (unless size was 0, where glibc frees it).
        if let (Some(e), true) = (old, size != 0) {
            TABLE.insert(e);
        }
        return q;
    }
    record(q, size, site, Kind::Realloc, p);
    q
}

extern "C" fn reallocarray_at(p: *mut c_void, n: usize, size: usize, site: usize) -> *mut c_void {
    match n.checked_mul(size) {
        Some(total) => realloc_at(p, total, site),
        None => {
            set_enomem();
            core::ptr::null_mut()
        }
    }
}

/// Aligned allocation through the real `memalign`-like function in `slot`, falling back
/// to `memalign`, then to the arena during start-up.
fn aligned(slot: &AtomicUsize, align: usize, size: usize, site: usize, kind: Kind) -> *mut c_void {
    if !ready() {
        return if align.is_power_of_two() { arena::alloc(size, align) } else { core::ptr::null_mut() };
    }
    let f = match slot.load(Relaxed) {
        0 => real!(MEMALIGN as Alloc2),
        // SAFETY: as in real!: the address came from dlsym for a (align, size) function.
        a => Some(unsafe { core::mem::transmute::<usize, Alloc2>(a) }),
    };
    let Some(f) = f else {
        set_enomem();
        return core::ptr::null_mut();
    };
    // SAFETY: the real function validates align and size itself.
    let p = unsafe { f(align, size) };
    record(p, size, site, kind, core::ptr::null_mut());
    p
}

extern "C" fn aligned_alloc_at(align: usize, size: usize, site: usize) -> *mut c_void {
    aligned(&ALIGNED_ALLOC, align, size, site, Kind::AlignedAlloc)
}

extern "C" fn memalign_at(align: usize, size: usize, site: usize) -> *mut c_void {
    aligned(&MEMALIGN, align, size, site, Kind::Memalign)
}

extern "C" fn valloc_at(size: usize, site: usize) -> *mut c_void {
    if ready() {
        if let Some(f) = real!(VALLOC as Alloc1) {
            // SAFETY: the real valloc takes any size.
            let p = unsafe { f(size) };
            record(p, size, site, Kind::Valloc, core::ptr::null_mut());
            return p;
        }
    }
    aligned(&MEMALIGN, sys::page_size(), size, site, Kind::Valloc)
}

extern "C" fn posix_memalign_at(out: *mut *mut c_void, align: usize, size: usize, site: usize) -> c_int {
    if out.is_null() {
        return libc::EINVAL;
    }
    if !ready() || POSIX_MEMALIGN.load(Relaxed) == 0 {
        if !align.is_power_of_two() || align < core::mem::size_of::<usize>() {
            return libc::EINVAL;
        }
        let p = aligned(&MEMALIGN, align, size, site, Kind::PosixMemalign);
        if p.is_null() {
            return libc::ENOMEM;
        }
        // SAFETY: out is the caller's non-null result pointer (checked above).
        unsafe { *out = p };
        return 0;
    }
    let Some(f) = real!(POSIX_MEMALIGN as PosixMemalign) else { return libc::ENOMEM };
    // SAFETY: out is non-null; the real function writes it only on success.
    let r = unsafe { f(out, align, size) };
    if r == 0 {
        // SAFETY: on success the real function stored the block in *out.
        record(unsafe { *out }, size, site, Kind::PosixMemalign, core::ptr::null_mut());
    }
    r
}

//! The allocation log, opt-in (`KLEAK_TRACE_EVENTS=FILE`): every malloc, calloc, realloc,
//! free and aligned allocation as one fixed record in a ring in FILE, mapped shared, so
//! what was written survives the program's crash or kill.
//!
//! A writer takes the next index with one atomic add and fills its record; the record's
//! `seq` (index + 1) is stored last, so a reader can tell a whole record from one being
//! written or overwritten. Nothing waits: a full ring overwrites its oldest records. The
//! file's layout (kleak's `trace::events` reads it):
//!
//! ```text
//! 0     magic "KLEAKEV1", version u32, record bytes u32, capacity u64, pid u32, 0 u32,
//!       instance u64, head u64 (records ever written), realtime at start (ns) u64,
//!       monotonic at start (ns) u64
//! 64    the dump directory, NUL-terminated (256 bytes)
//! 4096  records: seq, coarse monotonic ms (the table's clock: the wall time is the start's
//!       plus the difference), kind << 56 | size, pointer, previous pointer, call site
//! ```

// The crate root denies unsafe; this module writes records into the shared mapping
// through raw pointers (each block says why it is sound).
#![allow(unsafe_code)]

use crate::sys;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};

/// The file's magic.
pub const MAGIC: &[u8; 8] = b"KLEAKEV1";
/// The format's version.
pub const VERSION: u32 = 1;
/// Bytes before the first record.
pub const HEADER_BYTES: usize = 4096;
/// Bytes of one record: six u64.
pub const RECORD_BYTES: usize = 48;
/// Records unless `KLEAK_TRACE_EVENTS_SIZE` says otherwise (3 MiB).
pub const DEFAULT_RECORDS: usize = 1 << 16;
/// The smallest and largest rings accepted.
pub const MIN_RECORDS: usize = 64;
/// See [`MIN_RECORDS`].
pub const MAX_RECORDS: usize = 1 << 24;
const HEAD_AT: usize = 40;
const DIR_AT: usize = 64;
const DIR_BYTES: usize = 256;

/// What a record says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `malloc`.
    Malloc = 1,
    /// `calloc`.
    Calloc = 2,
    /// `realloc`, `reallocarray`: the previous pointer is in the record.
    Realloc = 3,
    /// `free`.
    Free = 4,
    /// `posix_memalign`.
    PosixMemalign = 5,
    /// `aligned_alloc`.
    AlignedAlloc = 6,
    /// `memalign`.
    Memalign = 7,
    /// `valloc`.
    Valloc = 8,
}

/// The ring's records (null: no log), its capacity, and whether this process writes.
static RECORDS: AtomicPtr<AtomicU64> = AtomicPtr::new(core::ptr::null_mut());
static CAPACITY: AtomicUsize = AtomicUsize::new(0);
static ON: AtomicBool = AtomicBool::new(false);
static HEAD: AtomicPtr<AtomicU64> = AtomicPtr::new(core::ptr::null_mut());

/// Creates FILE for `records` records and starts logging into it; false if it cannot be
/// made (the program runs on, without a log).
pub fn open(path: &core::ffi::CStr, records: usize, pid: u32, instance: u64, dir: &[u8]) -> bool {
    let records = records.clamp(MIN_RECORDS, MAX_RECORDS);
    let bytes = HEADER_BYTES + records * RECORD_BYTES;
    let Some(mem) = sys::map_file(path, bytes) else { return false };
    // SAFETY: `mem` is a fresh, zeroed, writable shared mapping of `bytes` bytes that is
    // never unmapped; the header is written before any record can be (ON is still false),
    // and u64 fields at 8-aligned offsets of a page-aligned mapping are aligned.
    unsafe {
        core::ptr::copy_nonoverlapping(MAGIC.as_ptr(), mem, 8);
        let put32 = |at: usize, v: u32| mem.add(at).cast::<u32>().write(v);
        let put64 = |at: usize, v: u64| mem.add(at).cast::<u64>().write(v);
        put32(8, VERSION);
        put32(12, RECORD_BYTES as u32);
        put64(16, records as u64);
        put32(24, pid);
        put64(32, instance);
        put64(48, sys::realtime_ns());
        put64(56, sys::monotonic_ns());
        let n = dir.len().min(DIR_BYTES - 1);
        core::ptr::copy_nonoverlapping(dir.as_ptr(), mem.add(DIR_AT), n);
        HEAD.store(mem.add(HEAD_AT).cast::<AtomicU64>(), Relaxed);
        RECORDS.store(mem.add(HEADER_BYTES).cast::<AtomicU64>(), Relaxed);
    }
    CAPACITY.store(records, Relaxed);
    ON.store(true, Release);
    true
}

/// Stops logging in this process (a forked child: the ring is its parent's).
pub fn detach() {
    ON.store(false, Relaxed);
}

/// True while this process logs.
#[inline]
pub fn on() -> bool {
    ON.load(Relaxed)
}

/// Logs one call made at `now_ms` (coarse monotonic). Never waits: one atomic add, six
/// stores.
#[inline]
pub fn log(kind: Kind, size: usize, ptr: usize, prev: usize, site: usize, now_ms: u64) {
    if !ON.load(Acquire) {
        return;
    }
    let cap = CAPACITY.load(Relaxed);
    // SAFETY: ON was published (Release) after HEAD and RECORDS were stored: they point
    // into the live mapping of `cap` records, and the index is reduced modulo `cap`.
    let (head, rec) = unsafe {
        let head = &*HEAD.load(Relaxed);
        let i = head.fetch_add(1, Relaxed);
        let base = RECORDS.load(Relaxed).add((i as usize % cap) * (RECORD_BYTES / 8));
        (i, core::slice::from_raw_parts(base, RECORD_BYTES / 8))
    };
    rec[0].store(0, Relaxed);
    rec[1].store(now_ms, Relaxed);
    rec[2].store((kind as u64) << 56 | (size as u64 & ((1 << 56) - 1)), Relaxed);
    rec[3].store(ptr as u64, Relaxed);
    rec[4].store(prev as u64, Relaxed);
    rec[5].store(site as u64, Relaxed);
    rec[0].store(head + 1, Release);
}

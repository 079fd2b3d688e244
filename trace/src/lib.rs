//! kleak's allocation tracer: a library preloaded into a program (`LD_PRELOAD`) that keeps
//! a table of the program's outstanding heap allocations, by call site, and writes it out
//! as a text dump that `kleak trace report` turns into `function+offset (library)` lines.
//!
//! # How a call flows
//!
//! ```text
//!  program: p = malloc(n)
//!     └─ shim (naked, exported `malloc`): the return address → an extra argument
//!         └─ malloc_at(n, site): real malloc (found with dlsym(RTLD_NEXT)) → p
//!             └─ table.insert(p → n, site, now)       table: in memory mapped at start-up
//!  program: free(p)
//!     └─ table.remove(p), then real free(p)           only outstanding memory stays
//!  SIGUSR2, every KLEAK_TRACE_INTERVAL, at exit
//!     └─ dump: group the table by site → DIR/<pid>.<instance>.<seq>.kleak-trace
//! ```
//!
//! - [`shim`] is the exported allocator API. Each entry point is a two-instruction naked
//!   function that passes its own return address (the call site in the program) on to a
//!   Rust function, so the site costs nothing to find and needs no unwinder.
//! - [`table`] holds live allocations: sharded open addressing with spinlocks, in memory
//!   the tracer mapped itself. It never calls malloc, so no lock is held across re-entry.
//! - [`dump`] groups the table by site in static memory and writes the dump file.
//! - [`events`] is the opt-in allocation log: every call as a record in a ring in a file
//!   mapped shared, written with one atomic add and never a wait.
//! - [`config`] reads the `KLEAK_TRACE_*` environment once; [`sys`] wraps libc.
//!
//! # Rules the design follows
//!
//! - **Never call malloc.** Everything lives in static memory or the mapped table; text is
//!   formatted by `core::fmt` into fixed buffers. The one exception is start-up: `dlsym`
//!   (glibc) may allocate while the real functions are being looked up, and those
//!   allocations come from a small static bootstrap arena ([`arena`]).
//! - **Threads**: the table's shards have spinlocks that are held only across a few
//!   loads and stores. Dumps take each shard's lock in turn.
//! - **Signals**: SIGUSR2 dumps from inside the handler, so a dump may interrupt a thread
//!   that holds a shard lock. The handler's dump never waits for a lock (it reads such a
//!   shard without it and says so in `inexact_shards`), and everything it calls is
//!   async-signal-safe.
//! - **fork**: `pthread_atfork` takes every lock before the fork and releases them after
//!   it, in parent and child, so the child starts with a consistent table (its own
//!   outstanding memory is the parent's at the fork) and dumps under its own PID.
//! - **unsafe** is denied at the crate root (`#![deny(unsafe_code)]`) and allowed in four
//!   modules: [`sys`] (system calls), [`shim`] (the exported functions, which call the
//!   real allocator through function pointers), [`arena`] (the static bootstrap memory)
//!   and [`events`] (the allocation log's mapped ring). Elsewhere one item each may opt
//!   out, named here: [`table`]'s slice over the mapped memory, [`dump`]'s one static
//!   scratch area, and in this file the settings written once at start-up, the slice
//!   over the fresh mapping, the panic handler's abort, the signal handler's siginfo and
//!   the loader's `.init_array`/`.fini_array` entries. Each block says why it is sound.
//!
//! Release builds use `panic = "abort"` and are `no_std` (nothing of std is linked in,
//! so nothing can allocate behind the tracer's back); debug builds link std only because
//! a `no_std` library cannot be built with unwinding panics.
#![cfg_attr(panic = "abort", no_std)]
#![deny(unsafe_code, unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod arena;
pub mod config;
pub mod dump;
pub mod events;
pub mod fmt;
#[cfg(not(test))]
pub mod shim;
pub mod sys;
pub mod table;

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::*};
use table::{Entry, Table};

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("kleak-trace's call-site shims exist for x86_64 and aarch64 only");

#[cfg(all(panic = "abort", not(test)))]
#[panic_handler]
#[allow(unsafe_code)]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: abort has no preconditions; nothing here may allocate or unwind.
    unsafe { libc::abort() }
}

/// The live-allocation table.
pub static TABLE: Table = Table::new();

const UNINIT: u8 = 0;
const STARTING: u8 = 1;
const READY: u8 = 2;
/// Start-up state: [`UNINIT`] → [`STARTING`] (real functions being looked up; calls go to
/// the bootstrap arena) → [`READY`].
static STATE: AtomicU8 = AtomicU8::new(UNINIT);
/// Record new allocations? (SIGUSR1 toggles; frees are always matched.)
static ENABLED: AtomicBool = AtomicBool::new(false);
static PID: AtomicU32 = AtomicU32::new(0);
static INSTANCE: AtomicU64 = AtomicU64::new(0);
static SEQ: AtomicU64 = AtomicU64::new(0);
/// Coarse monotonic ms of the next interval dump (u64::MAX: none).
static NEXT_DUMP_MS: AtomicU64 = AtomicU64::new(u64::MAX);

/// Settings, written once while [`STATE`] is [`STARTING`] (one thread) and only read after
/// it became [`READY`].
struct ConfigCell(core::cell::UnsafeCell<config::Config>);
// SAFETY: see the type's comment: one writer before READY is published (Release), readers
// only after they saw READY (Acquire).
#[allow(unsafe_code)]
unsafe impl Sync for ConfigCell {}
static CONFIG: ConfigCell = ConfigCell(core::cell::UnsafeCell::new(config::Config::default()));

#[allow(unsafe_code)]
fn config() -> &'static config::Config {
    // SAFETY: called only once STATE is READY (see ConfigCell): no writer remains.
    unsafe { &*CONFIG.0.get() }
}

/// True once the real allocator is known; starts the tracer on first use. False while
/// start-up is under way (the caller then uses the bootstrap arena).
#[inline]
pub fn ready() -> bool {
    STATE.load(Acquire) == READY || start()
}

/// The settings, to fill in at start-up. Only [`start`] calls it, once, after moving
/// [`STATE`] from [`UNINIT`] to [`STARTING`].
#[allow(unsafe_code)]
fn config_starting() -> &'static mut config::Config {
    // SAFETY: the caller moved STATE from UNINIT to STARTING: this thread is the only
    // writer, and no reader looks before READY is published.
    unsafe { &mut *CONFIG.0.get() }
}

/// The slots of a fresh mapping of `n` slots from [`sys::map_anon`].
#[allow(unsafe_code)]
fn mapped_slots(mem: *mut u8, n: usize) -> &'static [table::Slot] {
    // SAFETY: a fresh zeroed mapping of `n` slots (all-zero bytes are empty atomics),
    // never unmapped, so the slice is valid for 'static.
    unsafe { core::slice::from_raw_parts(mem.cast::<table::Slot>(), n) }
}

#[cold]
fn start() -> bool {
    if STATE.compare_exchange(UNINIT, STARTING, Acquire, Acquire).is_err() {
        return STATE.load(Acquire) == READY;
    }
    let cfg = config_starting();
    cfg.from_env();
    shim::resolve();
    let bytes = cfg.slots * table::SLOT_BYTES;
    let mem = sys::map_anon(bytes);
    if !mem.is_null() {
        TABLE.attach(mapped_slots(mem, cfg.slots));
    }
    PID.store(sys::getpid(), Relaxed);
    INSTANCE.store(sys::monotonic_ns() / 1000, Relaxed);
    ENABLED.store(cfg.enabled, Relaxed);
    if !cfg.events.as_bytes().is_empty() {
        let (pid, instance) = (PID.load(Relaxed), INSTANCE.load(Relaxed));
        events::open(cfg.events.as_cstr(), cfg.events_records, pid, instance, cfg.dir.as_bytes());
    }
    schedule_next(sys::coarse_ms());
    STATE.store(READY, Release);
    // These may allocate (glibc's pthread_atfork does): only now that we are READY.
    sys::atfork(before_fork, after_fork_parent, after_fork_child);
    if cfg.signals {
        sys::install_handler(libc::SIGUSR1, on_signal);
        sys::install_handler(libc::SIGUSR2, on_signal);
    }
    true
}

fn schedule_next(now_ms: u64) {
    let iv = config().interval_ms;
    NEXT_DUMP_MS.store(if iv == 0 { u64::MAX } else { now_ms + iv }, Relaxed);
}

/// Records a new allocation from `site` (if tracing is on), logs it (`prev`: the block a
/// realloc replaced), and writes the interval dump when it is due.
#[inline]
pub fn record(ptr: *mut libc::c_void, size: usize, site: usize, kind: events::Kind, prev: *mut libc::c_void) {
    if ptr.is_null() || !ENABLED.load(Relaxed) {
        return;
    }
    let now = sys::coarse_ms();
    events::log(kind, size, ptr as usize, prev as usize, site, now);
    TABLE.insert(Entry { ptr: ptr as usize, size, site, time_ms: now });
    let next = NEXT_DUMP_MS.load(Relaxed);
    if now >= next && NEXT_DUMP_MS.compare_exchange(next, u64::MAX, Relaxed, Relaxed).is_ok() {
        write_dump(dump::Reason::Interval);
        schedule_next(sys::coarse_ms());
    }
}

/// Forgets a freed allocation (whether or not tracing is on, so the table stays true).
#[inline]
pub fn forget(ptr: *mut libc::c_void) -> Option<Entry> {
    if ptr.is_null() {
        return None;
    }
    TABLE.remove(ptr as usize)
}

/// Forgets a block `free` was given at `site`, and logs the free while tracing is on.
#[inline]
pub fn freed(ptr: *mut libc::c_void, site: usize) {
    if (forget(ptr).is_some() || ENABLED.load(Relaxed)) && events::on() {
        events::log(events::Kind::Free, 0, ptr as usize, 0, site, sys::coarse_ms());
    }
}

/// Writes a dump now.
pub fn write_dump(reason: dump::Reason) {
    let cfg = config();
    let target = dump::Target { dir: cfg.dir.as_bytes(), keep: cfg.keep };
    dump::dump(&target, &TABLE, reason, || {
        (PID.load(Relaxed), INSTANCE.load(Relaxed), SEQ.fetch_add(1, Relaxed), reason, ENABLED.load(Relaxed))
    });
}

/// `sigqueue` values of SIGUSR1 that `kleak trace on|off PID` sends: recording on or off
/// (a plain SIGUSR1 toggles), then a dump that tells the new state.
pub const SIGNAL_ON: usize = 1;
/// See [`SIGNAL_ON`].
pub const SIGNAL_OFF: usize = 2;

// Opts out of the crate's unsafe ban: the kernel hands the handler a raw siginfo pointer.
#[allow(unsafe_code)]
extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let saved = sys::errno();
    if STATE.load(Acquire) == READY {
        if sig == libc::SIGUSR1 {
            // SAFETY: a SA_SIGINFO handler's info is null or points to the kernel's
            // siginfo_t for this signal, live until the handler returns.
            match sys::queued_value(unsafe { info.as_ref() }) {
                Some(v @ (SIGNAL_ON | SIGNAL_OFF)) => {
                    ENABLED.store(v == SIGNAL_ON, Relaxed);
                    write_dump(dump::Reason::Signal);
                }
                _ => {
                    ENABLED.fetch_xor(true, Relaxed);
                }
            }
        } else {
            write_dump(dump::Reason::Signal);
        }
    }
    sys::set_errno(saved);
}

extern "C" fn before_fork() {
    dump::block();
    TABLE.lock_all();
}

extern "C" fn after_fork_parent() {
    TABLE.unlock_all();
    dump::unblock();
}

extern "C" fn after_fork_child() {
    TABLE.unlock_all();
    dump::unblock();
    // The child is a new process: its dumps get its PID, their own numbering, and a
    // fresh interval; the allocation log stays its parent's.
    events::detach();
    PID.store(sys::getpid(), Relaxed);
    INSTANCE.store(sys::monotonic_ns() / 1000, Relaxed);
    SEQ.store(0, Relaxed);
    schedule_next(sys::coarse_ms());
}

/// Runs when the library is loaded: start before `main`, so the table sees the program's
/// first allocations.
#[cfg(not(test))]
extern "C" fn on_load() {
    ready();
}

/// Runs at `exit` (not at `_exit` or a fatal signal): the final dump.
#[cfg(not(test))]
extern "C" fn on_exit() {
    if STATE.load(Acquire) == READY {
        write_dump(dump::Reason::Exit);
    }
}

// The loader's constructor and destructor tables: the C ABI's one way in and out.
#[cfg(not(test))]
#[used]
#[allow(unsafe_code)]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;

#[cfg(not(test))]
#[used]
#[allow(unsafe_code)]
#[link_section = ".fini_array"]
static ON_EXIT: extern "C" fn() = on_exit;

#[cfg(test)]
mod shim {
    /// Tests link no shim: the test binary keeps its own allocator.
    pub fn resolve() {}
}

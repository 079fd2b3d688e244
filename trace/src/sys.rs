//! The system layer of the tracer: thin wrappers over libc that never allocate.
//!
//! Everything here may run inside `malloc`, inside a signal handler, or in the child of a
//! `fork` before `exec`, so it only uses calls that are async-signal-safe in practice
//! (`open`, `read`, `write`, `rename`, `clock_gettime`, ...). Paths come in as
//! NUL-terminated byte strings built in fixed buffers ([`crate::fmt::Buf`]).
#![allow(unsafe_code)] // the crate root denies it everywhere else

use core::ffi::{c_char, c_int, c_void, CStr};

/// `dlsym(RTLD_NEXT, name)` as a plain address (0 if the name is unknown).
///
/// glibc moved `dlsym` into libc.so.6 in 2.34 under a new symbol version. Binding to the
/// architecture's base version (still exported by new glibc, and by libdl.so.2 on old
/// glibc, which `build.rs` adds as a dependency) keeps one library loadable on glibc
/// 2.17 and later instead of requiring 2.34.
pub fn next_symbol(name: &CStr) -> usize {
    // SAFETY: name is NUL-terminated; RTLD_NEXT lookups read only loader state.
    unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) as usize }
}

#[cfg(all(target_env = "gnu", target_arch = "aarch64"))]
core::arch::global_asm!(".symver dlsym, dlsym@GLIBC_2.17");
#[cfg(all(target_env = "gnu", target_arch = "x86_64"))]
core::arch::global_asm!(".symver dlsym, dlsym@GLIBC_2.2.5");

/// An environment variable's value, if set.
pub fn getenv(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: getenv reads the environment without allocating; the value is copied by the
    // caller at start-up, before the program could change its environment.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: getenv returned a NUL-terminated string that lives as long as the process
    // does not change that variable.
    Some(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// Anonymous private memory of `bytes` bytes (zeroed, not backed by swap reservation),
/// or null. Pages cost memory only once touched.
pub fn map_anon(bytes: usize) -> *mut u8 {
    // SAFETY: a fresh anonymous mapping touches no existing memory.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        core::ptr::null_mut()
    } else {
        p.cast()
    }
}

/// A file of `bytes` bytes (created or emptied, mode 0644) mapped shared and writable, or
/// `None`. The mapping outlives the descriptor, which is closed at once.
pub fn map_file(path: &CStr, bytes: usize) -> Option<*mut u8> {
    let flags = libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
    // SAFETY: path is NUL-terminated and outlives the call.
    let fd = unsafe { libc::open(path.as_ptr(), flags, 0o644 as libc::c_uint) };
    if fd < 0 {
        return None;
    }
    let fd = Fd(fd);
    // SAFETY: fd is an open, writable file; a fresh shared mapping of it touches no
    // existing memory of this process.
    let p = unsafe {
        if libc::ftruncate(fd.0, bytes as libc::off_t) != 0 {
            return None;
        }
        libc::mmap(core::ptr::null_mut(), bytes, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd.0, 0)
    };
    (p != libc::MAP_FAILED).then_some(p.cast())
}

fn clock_ns(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec; the clocks used always exist on Linux.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Milliseconds of the coarse monotonic clock: a few nanoseconds to read through the
/// vDSO, resolution of a scheduler tick, good enough for ages in seconds.
pub fn coarse_ms() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC_COARSE) / 1_000_000
}

/// Nanoseconds of the monotonic clock.
pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// Nanoseconds of the wall clock since the epoch.
pub fn realtime_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

/// This process's id.
pub fn getpid() -> u32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() as u32 }
}

/// Gives the CPU away while a lock is held by another thread.
pub fn yield_now() {
    // SAFETY: sched_yield has no memory effects.
    unsafe { libc::sched_yield() };
}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// `errno` of the calling thread (saved and restored around signal handlers).
pub fn errno() -> c_int {
    // SAFETY: __errno_location returns the calling thread's errno slot (glibc and musl).
    unsafe { *libc::__errno_location() }
}

/// Sets `errno` of the calling thread.
pub fn set_errno(v: c_int) {
    // SAFETY: as in errno().
    unsafe { *libc::__errno_location() = v };
}

/// An open file descriptor, closed on drop.
pub struct Fd(c_int);

impl Fd {
    /// Opens a NUL-terminated path for reading.
    pub fn open_read(path: &CStr) -> Option<Fd> {
        // SAFETY: path is NUL-terminated and outlives the call.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        (fd >= 0).then_some(Fd(fd))
    }

    /// Creates (or truncates) a file for writing, mode 0644.
    pub fn create(path: &CStr) -> Option<Fd> {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
        // SAFETY: path is NUL-terminated and outlives the call.
        let fd = unsafe { libc::open(path.as_ptr(), flags, 0o644 as libc::c_uint) };
        (fd >= 0).then_some(Fd(fd))
    }

    /// One `read(2)`, retried on EINTR; 0 at end of file or on error.
    pub fn read(&self, buf: &mut [u8]) -> usize {
        loop {
            // SAFETY: buf is a live, writable slice of exactly buf.len() bytes.
            let n = unsafe { libc::read(self.0, buf.as_mut_ptr().cast::<c_void>(), buf.len()) };
            if n >= 0 {
                return n as usize;
            }
            if errno() != libc::EINTR {
                return 0;
            }
        }
    }

    /// Writes all of `bytes`; false if the file system refused (full, read-only, ...).
    pub fn write_all(&self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            // SAFETY: bytes is a live slice of exactly bytes.len() bytes.
            let n = unsafe { libc::write(self.0, bytes.as_ptr().cast::<c_void>(), bytes.len()) };
            if n > 0 {
                bytes = &bytes[n as usize..];
            } else if n == 0 || errno() != libc::EINTR {
                return false;
            }
        }
        true
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: this Fd owns the descriptor and nothing uses it after drop.
        unsafe { libc::close(self.0) };
    }
}

/// Creates a directory (mode 0755); an existing one is fine.
pub fn mkdir(path: &CStr) {
    // SAFETY: path is NUL-terminated and outlives the call.
    unsafe { libc::mkdir(path.as_ptr(), 0o755) };
}

/// Renames `from` to `to` (atomic within one file system).
pub fn rename(from: &CStr, to: &CStr) -> bool {
    // SAFETY: both paths are NUL-terminated and outlive the call.
    unsafe { libc::rename(from.as_ptr(), to.as_ptr()) == 0 }
}

/// Removes a file, quietly.
pub fn unlink(path: &CStr) {
    // SAFETY: path is NUL-terminated and outlives the call.
    unsafe { libc::unlink(path.as_ptr()) };
}

/// Reads the target of a symbolic link into `buf`; the length read (0 on error).
pub fn readlink(path: &CStr, buf: &mut [u8]) -> usize {
    // SAFETY: path is NUL-terminated; buf is writable for buf.len() bytes.
    let n = unsafe { libc::readlink(path.as_ptr(), buf.as_mut_ptr().cast::<c_char>(), buf.len()) };
    if n > 0 {
        n as usize
    } else {
        0
    }
}

/// A signal handler taking the three `SA_SIGINFO` arguments.
pub type Handler = extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void);

/// Installs `handler` for `sig` with `SA_RESTART`, but only where the program left the
/// signal at its default: a program that handles SIGUSR1/2 itself keeps its handler.
pub fn install_handler(sig: c_int, handler: Handler) -> bool {
    // SAFETY: sigaction is given fully initialised structs (zeroed, mask emptied); the
    // handlers installed only touch atomics and call async-signal-safe functions.
    unsafe {
        let mut old: libc::sigaction = core::mem::zeroed();
        if libc::sigaction(sig, core::ptr::null(), &mut old) != 0 || old.sa_sigaction != libc::SIG_DFL {
            return false;
        }
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = handler as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigaction(sig, &sa, core::ptr::null_mut()) == 0
    }
}

/// Registers fork handlers: `prepare` in the parent before the fork, `parent` and `child`
/// after it.
pub fn atfork(prepare: extern "C" fn(), parent: extern "C" fn(), child: extern "C" fn()) {
    // SAFETY: the handlers are plain functions that live as long as the library.
    unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
}

/// The value a `sigqueue(3)` sender attached to the signal `info` describes; `None` for
/// a plain `kill`.
pub fn queued_value(info: Option<&libc::siginfo_t>) -> Option<usize> {
    let info = info?;
    // SAFETY: si_value reads the union member that SI_QUEUE signals fill (checked first);
    // the siginfo_t is the kernel's, valid for the handler's duration.
    (info.si_code == libc::SI_QUEUE).then(|| unsafe { info.si_value() }.sival_ptr as usize)
}

//! The system layer: the only module that talks to the kernel, and the only `unsafe` code
//! in kleak.
//!
//! Each wrapper is thin: it turns a libc call into a `Result<_, Errno>` and nothing more.
//! Paths are copied into a stack buffer with a trailing NUL (no allocation), file
//! descriptors are owned by [`File`] and closed once on drop.
#![allow(unsafe_code)]

use crate::limits::PATH_BYTES;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// An `errno` value from a failed system call.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// No such file.
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    /// Permission denied.
    pub const EACCES: Errno = Errno(libc::EACCES);
    /// Operation not permitted.
    pub const EPERM: Errno = Errno(libc::EPERM);
    /// Interrupted by a signal.
    pub const EINTR: Errno = Errno(libc::EINTR);
    /// Try again.
    pub const EAGAIN: Errno = Errno(libc::EAGAIN);
    /// I/O error.
    pub const EIO: Errno = Errno(libc::EIO);
    /// The reader of a pipe went away.
    pub const EPIPE: Errno = Errno(libc::EPIPE);
    /// No such process.
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    /// File too large (a file past [`crate::limits::READ_FILE_MAX_BYTES`]).
    pub const EFBIG: Errno = Errno(libc::EFBIG);
    /// Path too long.
    pub const ENAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);

    /// kleak's own error (no errno says it): the file is not a regular file, but `t`.
    /// Reading a FIFO blocks and a device such as /dev/zero never ends, so kleak reads
    /// regular files only; every /proc, sysfs and debugfs file it reads is one.
    pub fn not_regular(t: FileType) -> Errno {
        Errno(NOT_REGULAR - t as i32)
    }

    /// The type of file a [`Errno::not_regular`] error names.
    pub fn not_regular_type(self) -> Option<FileType> {
        [FileType::Dir, FileType::Fifo, FileType::CharDevice, FileType::BlockDevice, FileType::Socket]
            .into_iter()
            .find(|&t| self == Errno::not_regular(t))
    }

    fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
    }

    /// Short name of the error, as `errno(3)` spells it.
    pub fn name(self) -> &'static str {
        match self.0 {
            libc::ENOENT => "ENOENT",
            libc::EACCES => "EACCES",
            libc::EPERM => "EPERM",
            libc::EINTR => "EINTR",
            libc::EAGAIN => "EAGAIN",
            libc::EIO => "EIO",
            libc::EPIPE => "EPIPE",
            libc::ESRCH => "ESRCH",
            libc::EBUSY => "EBUSY",
            libc::EINVAL => "EINVAL",
            libc::ENOSPC => "ENOSPC",
            libc::EROFS => "EROFS",
            libc::ENOTDIR => "ENOTDIR",
            libc::EISDIR => "EISDIR",
            libc::ENAMETOOLONG => "ENAMETOOLONG",
            libc::ENODEV => "ENODEV",
            libc::EFBIG => "EFBIG",
            _ if self.not_regular_type().is_some() => "not a regular file",
            _ => "errno",
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl fmt::Display for Errno {
    /// The error in words, as a message goes on: `not a directory`, not `Not a directory
    /// (os error 20)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = self.not_regular_type() {
            return write!(f, "not a regular file but {}; kleak reads files", t.name());
        }
        // The same words on the board (musl) as on a PC (glibc) where the two differ.
        let words = match self.0 {
            libc::ENAMETOOLONG => "file name too long",
            libc::EIO => "input/output error",
            libc::ESPIPE => "illegal seek",
            libc::ENOMEM => "out of memory",
            _ => "",
        };
        if !words.is_empty() {
            return f.write_str(words);
        }
        // Others: the C library's, without allocating, its first letter lowered and its
        // code left off ("No such file or directory (os error 2)").
        struct Words<'a, 'b> {
            f: &'a mut fmt::Formatter<'b>,
            first: bool,
            done: bool,
        }
        impl fmt::Write for Words<'_, '_> {
            fn write_str(&mut self, mut s: &str) -> fmt::Result {
                if self.done || s.starts_with(" (os error") {
                    self.done = true;
                    return Ok(());
                }
                if core::mem::take(&mut self.first) {
                    if let [c @ b'A'..=b'Z', b'a'..=b'z', ..] = s.as_bytes() {
                        self.f.write_str(core::str::from_utf8(&[c.to_ascii_lowercase()]).unwrap_or(""))?;
                        s = &s[1..];
                    }
                }
                self.f.write_str(s)
            }
        }
        let mut w = Words { f, first: true, done: false };
        fmt::Write::write_fmt(&mut w, format_args!("{}", std::io::Error::from_raw_os_error(self.0)))
    }
}

/// Base of the [`Errno::not_regular`] codes (negative: no errno is).
const NOT_REGULAR: i32 = -100;

/// Runs `f` with `parts` joined into a NUL-terminated path on the stack.
fn with_cpath<T>(parts: &[&[u8]], f: impl FnOnce(*const libc::c_char) -> T) -> Result<T, Errno> {
    let mut buf = [0u8; PATH_BYTES];
    let mut len = 0;
    for p in parts {
        if len + p.len() >= PATH_BYTES || p.contains(&0) {
            return Err(Errno::ENAMETOOLONG);
        }
        buf[len..len + p.len()].copy_from_slice(p);
        len += p.len();
    }
    buf[len] = 0;
    Ok(f(buf.as_ptr().cast()))
}

/// An open file descriptor, closed on drop.
#[derive(Debug)]
pub struct File {
    fd: i32,
}

/// How [`File::open`] opens a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Read only, a regular file only: anything else (a FIFO, /dev/zero, a socket) is
    /// refused with [`Errno::not_regular`] without blocking or reading.
    Read,
    /// Write only, existing file (debugfs and sysfs control files).
    Write,
    /// Read and write, created with mode 0644 if missing, never truncated.
    ReadWriteCreate,
    /// Write only, created or truncated, mode 0644.
    CreateTruncate,
    /// Write only, appending: a kernel control file ignores the position, and a regular
    /// file standing in for one (a test's `--root` tree) keeps each command as a line.
    Append,
    /// Read only, without blocking (`/dev/kmsg`: EAGAIN when no record is left).
    ReadNonBlock,
}

impl File {
    /// Opens the path made of `parts` (e.g. a `--root` prefix and `/proc/slabinfo`).
    pub fn open(parts: &[&[u8]], mode: Mode) -> Result<File, Errno> {
        let flags = libc::O_CLOEXEC
            | match mode {
                Mode::Read => libc::O_RDONLY | libc::O_NONBLOCK,
                Mode::Write => libc::O_WRONLY,
                Mode::ReadWriteCreate => libc::O_RDWR | libc::O_CREAT,
                Mode::CreateTruncate => libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
                Mode::Append => libc::O_WRONLY | libc::O_APPEND,
                Mode::ReadNonBlock => libc::O_RDONLY | libc::O_NONBLOCK,
            };
        // SAFETY: the pointer is a NUL-terminated buffer that lives across the call;
        // open(2) does not keep it.
        let fd = with_cpath(parts, |p| unsafe { libc::open(p, flags, 0o644 as libc::c_uint) })?;
        if fd < 0 {
            return Err(Errno::last());
        }
        let f = File { fd };
        if mode == Mode::Read {
            // Opened without blocking (a FIFO's open waits for a writer); blocking again
            // once it is known to be a regular file (where O_NONBLOCK means nothing anyway).
            match f.file_type()? {
                FileType::Regular => {}
                t => return Err(Errno::not_regular(t)),
            }
            // SAFETY: fcntl on a descriptor this File owns; no pointers.
            unsafe { libc::fcntl(f.fd, libc::F_SETFL, libc::O_RDONLY) };
        }
        Ok(f)
    }

    /// Wraps a descriptor kleak does not own (stdin/stdout/stderr): never closed.
    pub fn borrowed(fd: i32) -> Borrowed {
        Borrowed(core::mem::ManuallyDrop::new(File { fd }))
    }

    /// The raw descriptor (for poll and for tests that count descriptors).
    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// One `pread(2)`: reads up to `buf.len()` bytes at `off`. `Ok(0)` is end of file.
    pub fn pread(&self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        // SAFETY: buf is a live, writable slice of exactly buf.len() bytes.
        let n = unsafe { libc::pread(self.fd, buf.as_mut_ptr().cast(), buf.len(), off as libc::off_t) };
        if n < 0 {
            Err(Errno::last())
        } else {
            Ok(n as usize)
        }
    }

    /// One `read(2)` at the file position.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: buf is a live, writable slice of exactly buf.len() bytes.
        let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(Errno::last())
        } else {
            Ok(n as usize)
        }
    }

    /// One `write(2)`; kernel control files (debugfs, sysfs) want one command per write.
    pub fn write(&self, bytes: &[u8]) -> Result<usize, Errno> {
        // SAFETY: bytes is a live slice of exactly bytes.len() bytes.
        let n = unsafe { libc::write(self.fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            Err(Errno::last())
        } else {
            Ok(n as usize)
        }
    }

    /// Writes all of `bytes`, retrying short writes and EINTR.
    pub fn write_all(&self, mut bytes: &[u8]) -> Result<(), Errno> {
        while !bytes.is_empty() {
            match self.write(bytes) {
                Ok(0) => return Err(Errno::EIO),
                Ok(n) => bytes = &bytes[n..],
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes all of `bytes` at `off` with `pwrite(2)`.
    pub fn pwrite_all(&self, mut bytes: &[u8], mut off: u64) -> Result<(), Errno> {
        while !bytes.is_empty() {
            // SAFETY: bytes is a live slice of exactly bytes.len() bytes.
            let n = unsafe { libc::pwrite(self.fd, bytes.as_ptr().cast(), bytes.len(), off as libc::off_t) };
            if n < 0 {
                let e = Errno::last();
                if e == Errno::EINTR {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Err(Errno::EIO);
            }
            bytes = &bytes[n as usize..];
            off += n as u64;
        }
        Ok(())
    }

    /// Moves the file position to the end (`/dev/kmsg`: past the records logged so far).
    pub fn seek_end(&self) -> Result<(), Errno> {
        // SAFETY: plain syscall on an fd this File owns.
        if unsafe { libc::lseek(self.fd, 0, libc::SEEK_END) } < 0 {
            Err(Errno::last())
        } else {
            Ok(())
        }
    }

    /// `fsync(2)`.
    pub fn sync(&self) -> Result<(), Errno> {
        // SAFETY: plain syscall on an fd this File owns.
        if unsafe { libc::fsync(self.fd) } < 0 {
            Err(Errno::last())
        } else {
            Ok(())
        }
    }

    /// `fdatasync(2)`: the data, and the metadata needed to read it back. A ring log never
    /// changes size, so this skips the inode's times that `fsync` would write too.
    pub fn datasync(&self) -> Result<(), Errno> {
        // SAFETY: plain syscall on an fd this File owns.
        if unsafe { libc::fdatasync(self.fd) } < 0 {
            Err(Errno::last())
        } else {
            Ok(())
        }
    }

    /// Cuts or extends the file to `len` bytes (`ftruncate(2)`).
    pub fn set_len(&self, len: u64) -> Result<(), Errno> {
        // SAFETY: plain syscall on an fd this File owns.
        if unsafe { libc::ftruncate(self.fd, len as libc::off_t) } < 0 {
            Err(Errno::last())
        } else {
            Ok(())
        }
    }

    /// The type of the open file (`fstat(2)`).
    pub fn file_type(&self) -> Result<FileType, Errno> {
        // SAFETY: an all-zero stat is a valid value; fstat fills it.
        let mut st: libc::stat = unsafe { core::mem::zeroed() };
        // SAFETY: st is a valid, writable stat struct.
        if unsafe { libc::fstat(self.fd, &mut st) } < 0 {
            Err(Errno::last())
        } else {
            Ok(FileType::of(st.st_mode))
        }
    }

    /// Size of the file in bytes (`fstat(2)`).
    pub fn size(&self) -> Result<u64, Errno> {
        // SAFETY: an all-zero stat is a valid value; fstat fills it.
        let mut st: libc::stat = unsafe { core::mem::zeroed() };
        // SAFETY: st is a valid, writable stat struct.
        if unsafe { libc::fstat(self.fd, &mut st) } < 0 {
            Err(Errno::last())
        } else {
            Ok(st.st_size as u64)
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: this File owns fd and nothing uses it after drop.
        unsafe { libc::close(self.fd) };
    }
}

/// A [`File`] for a descriptor kleak does not own; dropping it does not close the fd.
pub struct Borrowed(core::mem::ManuallyDrop<File>);

impl core::ops::Deref for Borrowed {
    type Target = File;
    fn deref(&self) -> &File {
        &self.0
    }
}

/// Writes `bytes` to standard output.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Errno> {
    File::borrowed(1).write_all(bytes)
}

/// Writes `bytes` to standard error, ignoring failure (there is nowhere left to report it).
pub fn write_stderr(bytes: &[u8]) {
    let _ = File::borrowed(2).write_all(bytes);
}

/// True if `fd` is a terminal.
pub fn isatty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// True if `parts` names an existing path (any type); `access(F_OK)`.
pub fn exists(parts: &[&[u8]]) -> bool {
    // SAFETY: the pointer is a NUL-terminated buffer that lives across the call.
    with_cpath(parts, |p| unsafe { libc::access(p, libc::F_OK) } == 0).unwrap_or(false)
}

/// Seconds and nanoseconds of a clock.
fn clock(id: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec; the clock ids used here always exist.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts
}

fn secs(ts: libc::timespec) -> f64 {
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Monotonic time in seconds (rates and intervals).
pub fn monotonic_secs() -> f64 {
    secs(clock(libc::CLOCK_MONOTONIC))
}

/// Wall-clock time in seconds since the epoch (may be 1970 on boards without an RTC).
pub fn realtime_secs() -> f64 {
    secs(clock(libc::CLOCK_REALTIME))
}

/// CPU time this process has used, in seconds (benchmarks).
pub fn process_cpu_secs() -> f64 {
    secs(clock(libc::CLOCK_PROCESS_CPUTIME_ID))
}

/// Signals that end kleak cleanly (see [`install_signal_handlers`]): every catchable
/// signal whose default action ends the process, but SIGPIPE (ignored: a write says EPIPE).
pub const STOP_SIGNALS: [i32; 7] =
    [libc::SIGHUP, libc::SIGINT, libc::SIGTERM, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGALRM];

/// A signal set holding [`STOP_SIGNALS`].
fn stop_set() -> libc::sigset_t {
    // SAFETY: the set is initialised by sigemptyset before sigaddset reads and writes it.
    unsafe {
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in STOP_SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Sleeps `secs` seconds, waking early when a stop signal arrives. Returns false if the
/// sleep was cut short by [`stop_requested`].
pub fn sleep(secs: f64) -> bool {
    let deadline = monotonic_secs() + secs;
    loop {
        let left = deadline - monotonic_secs();
        if stop_requested() || left <= 0.0 {
            return !stop_requested();
        }
        let _ = poll(&mut [], left);
    }
}

/// A descriptor to wait on with [`poll`] (`struct pollfd`).
pub type PollFd = libc::pollfd;

/// `events` bits for [`PollFd`]: readable, writable.
pub const POLLIN: i16 = libc::POLLIN;
/// Writable.
pub const POLLOUT: i16 = libc::POLLOUT;

/// Waits up to `secs` seconds (0: just looks) for one of `fds` to be ready, or for a stop
/// signal; the number of ready descriptors (0: the time passed or a signal arrived).
///
/// The stop signals are blocked while the stop flag is checked and unblocked by `ppoll`
/// itself, atomically, as it starts to wait: a signal arriving between the check and the
/// wait is delivered at once instead of after the whole wait.
pub fn poll(fds: &mut [PollFd], secs: f64) -> Result<usize, Errno> {
    let secs = secs.clamp(0.0, i32::MAX as f64);
    let ts = libc::timespec { tv_sec: secs as _, tv_nsec: (secs.fract() * 1e9) as _ };
    let stops = stop_set();
    // SAFETY: `stops` is an initialised set; sigprocmask writes `old`; ppoll gets a pointer
    // to fds.len() live pollfd structs, a valid timespec and a valid mask; the mask is
    // restored before returning.
    let (n, err) = unsafe {
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &stops, &mut old);
        let mut waiting = old;
        for s in STOP_SIGNALS {
            libc::sigdelset(&mut waiting, s);
        }
        let n =
            if stop_requested() { 0 } else { libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, &ts, &waiting) };
        let err = Errno::last();
        libc::sigprocmask(libc::SIG_SETMASK, &old, core::ptr::null_mut());
        (n, err)
    };
    match n {
        n if n >= 0 => Ok(n as usize),
        _ if err == Errno::EINTR => Ok(0),
        _ => Err(err),
    }
}

/// Sleeps up to `secs` seconds whether or not a stop was requested (a signal may end it
/// early): the short waits of a loop that must go on after a stop (a child's grace time).
pub fn nap(secs: f64) {
    let secs = secs.max(0.0);
    let ts = libc::timespec { tv_sec: secs as _, tv_nsec: (secs.fract() * 1e9) as _ };
    // SAFETY: ts is a valid timespec; the remainder pointer may be null.
    unsafe { libc::nanosleep(&ts, core::ptr::null_mut()) };
}

static STOP: AtomicBool = AtomicBool::new(false);
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop(sig: libc::c_int) {
    // Only async-signal-safe work: two atomic stores.
    STOP_SIGNAL.store(sig, Ordering::Relaxed);
    STOP.store(true, Ordering::Relaxed);
}

/// Makes every stop signal ([`STOP_SIGNALS`]: HUP, INT, TERM, QUIT, USR1, USR2, ALRM)
/// request a clean stop (see [`stop_requested`]) instead of killing the process, so each
/// command ends through its normal path: the summary is printed and every kernel setting
/// kleak changed is put back. A closed pipe becomes an `EPIPE` error instead of a SIGPIPE
/// death. Handlers are installed without SA_RESTART, so a blocking wait returns at once.
pub fn install_signal_handlers() {
    // SAFETY: sigaction with a handler that only touches atomics; the struct is fully
    // initialised from zero and its mask emptied with sigemptyset.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = on_stop as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = 0;
        for s in STOP_SIGNALS {
            libc::sigaction(s, &sa, core::ptr::null_mut());
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// True once a stop signal arrived (or [`request_stop`] was called).
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// The signal that requested the stop, or 0.
pub fn stop_signal() -> i32 {
    STOP_SIGNAL.load(Ordering::Relaxed)
}

/// Requests a stop as if `sig` had arrived (a child that held the terminal died of the
/// user's Ctrl-C, which kleak itself never saw).
pub fn request_stop(sig: i32) {
    on_stop(sig);
}

/// The name of signal `sig` (`SIGHUP`), for messages and the ring log's `stop` record.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGALRM => "SIGALRM",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGKILL => "SIGKILL",
        _ => "a signal",
    }
}

/// Signals held back while it lives: a kmemleak `scan` runs inside the writer's
/// `write()`, and a signal pending in the writer ends the scan's reporting early without
/// an error. Blocked signals stay pending and are delivered when the guard drops.
pub struct SignalsBlocked {
    old: libc::sigset_t,
}

impl SignalsBlocked {
    /// Blocks every signal that can be blocked.
    pub fn new() -> SignalsBlocked {
        // SAFETY: both sets are fully initialised (zeroed, then sigfillset) before
        // sigprocmask reads one and writes the other; kleak is single-threaded.
        unsafe {
            let mut all: libc::sigset_t = core::mem::zeroed();
            let mut old: libc::sigset_t = core::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::sigprocmask(libc::SIG_BLOCK, &all, &mut old);
            SignalsBlocked { old }
        }
    }
}

impl Default for SignalsBlocked {
    fn default() -> Self {
        SignalsBlocked::new()
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by new(); the set is a valid sigset_t.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &self.old, core::ptr::null_mut()) };
    }
}

/// The system page size (`sysconf(_SC_PAGESIZE)`).
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

/// Effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Terminates the process at once with `code`, without running destructors or flushing
/// (kleak writes unbuffered, so nothing is lost).
pub fn exit(code: i32) -> ! {
    std::process::exit(code)
}

// ---- Sockets (watch --listen) ----

/// A listening TCP socket (non-blocking, close-on-exec), closed on drop.
pub struct Listener(File);

/// `socklen_t` of a `sockaddr_in6`, the larger of the two kinds kleak binds.
const SOCKADDR_LEN: libc::socklen_t = core::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;

/// `addr` as the sockaddr the kernel takes (an IPv4 one in the first bytes for IPv4).
fn sockaddr(addr: std::net::SocketAddr) -> (libc::sockaddr_in6, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_in6 (and sockaddr_in).
    let mut sa: libc::sockaddr_in6 = unsafe { core::mem::zeroed() };
    match addr {
        std::net::SocketAddr::V4(a) => {
            let v4 = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in is smaller than sockaddr_in6 and both are plain data;
            // the copy writes within `sa`.
            unsafe { core::ptr::write((&mut sa as *mut libc::sockaddr_in6).cast(), v4) };
            (sa, core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t)
        }
        std::net::SocketAddr::V6(a) => {
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_port = a.port().to_be();
            sa.sin6_addr.s6_addr = a.ip().octets();
            sa.sin6_scope_id = a.scope_id();
            (sa, SOCKADDR_LEN)
        }
    }
}

impl Listener {
    /// Binds `addr` (port 0: one the kernel picks) and listens, with `backlog` waiting
    /// connections at most. SO_REUSEADDR, so a restarted kleak gets its port back at once.
    pub fn bind(addr: std::net::SocketAddr, backlog: i32) -> Result<Listener, Errno> {
        let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
        // SAFETY: plain syscall; the descriptor is owned by the File at once.
        let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(Errno::last());
        }
        let file = File { fd };
        let one: libc::c_int = 1;
        let (sa, len) = sockaddr(addr);
        // SAFETY: `one` and `sa` are live, initialised values of the sizes passed.
        let r = unsafe {
            let size = core::mem::size_of::<libc::c_int>() as libc::socklen_t;
            if libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, (&one as *const libc::c_int).cast(), size) < 0
                || libc::bind(fd, (&sa as *const libc::sockaddr_in6).cast(), len) < 0
            {
                -1
            } else {
                libc::listen(fd, backlog)
            }
        };
        if r < 0 {
            return Err(Errno::last());
        }
        Ok(Listener(file))
    }

    /// The port bound (the kernel's choice after binding port 0).
    pub fn port(&self) -> Result<u16, Errno> {
        // SAFETY: all-zero is a valid sockaddr_in6; getsockname writes at most `len` bytes.
        let mut sa: libc::sockaddr_in6 = unsafe { core::mem::zeroed() };
        let mut len = SOCKADDR_LEN;
        // SAFETY: sa is writable for len bytes; len is a valid, writable socklen_t.
        if unsafe { libc::getsockname(self.0.fd, (&mut sa as *mut libc::sockaddr_in6).cast(), &mut len) } < 0 {
            return Err(Errno::last());
        }
        // sin_port and sin6_port sit at the same offset, after the family.
        Ok(u16::from_be(sa.sin6_port))
    }

    /// Takes one waiting connection (non-blocking, close-on-exec); `None` when none waits.
    pub fn accept(&self) -> Result<Option<File>, Errno> {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: null address and length: accept4 does not report the peer.
        let fd = unsafe { libc::accept4(self.0.fd, core::ptr::null_mut(), core::ptr::null_mut(), flags) };
        if fd >= 0 {
            return Ok(Some(File { fd }));
        }
        match Errno::last() {
            e if e == Errno::EAGAIN || e == Errno::EINTR => Ok(None),
            // The peer gave up while waiting: nothing to take.
            Errno(libc::ECONNABORTED) => Ok(None),
            e => Err(e),
        }
    }

    /// The descriptor, to wait on with [`poll`].
    pub fn fd(&self) -> i32 {
        self.0.fd
    }
}

impl File {
    /// One `send(2)` on a socket, without SIGPIPE: a peer that went away is `EPIPE`.
    pub fn send(&self, bytes: &[u8]) -> Result<usize, Errno> {
        // SAFETY: bytes is a live slice of exactly bytes.len() bytes.
        let n = unsafe { libc::send(self.fd, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
        if n < 0 {
            Err(Errno::last())
        } else {
            Ok(n as usize)
        }
    }
}

// ---- Directories and file systems ----

/// Calls `f(name, is_symlink)` for each entry of the directory made of `parts` (without
/// `.` and `..`) until it returns false, reading the directory with getdents64 into a
/// stack buffer: no allocation.
pub fn read_dir(parts: &[&[u8]], mut f: impl FnMut(&[u8], bool) -> bool) -> Result<(), Errno> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: the pointer is a NUL-terminated buffer that lives across the call.
    let fd = with_cpath(parts, |p| unsafe { libc::open(p, flags) })?;
    if fd < 0 {
        return Err(Errno::last());
    }
    let dir = File { fd };
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: buf is writable for buf.len() bytes; getdents64 writes whole records
        // (struct linux_dirent64) into it and returns the bytes written.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, dir.fd, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            return Err(Errno::last());
        }
        if n == 0 {
            return Ok(());
        }
        let n = n as usize;
        let mut off = 0;
        // linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name NUL-terminated.
        while off + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            if reclen == 0 || off + reclen > n {
                break;
            }
            let kind = buf[off + 18];
            let name = &buf[off + 19..off + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." && !f(name, kind == libc::DT_LNK) {
                return Ok(());
            }
            off += reclen;
        }
    }
}

/// The target of the symbolic link made of `parts`, into `buf`; returns its length.
pub fn read_link(parts: &[&[u8]], buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the path is NUL-terminated and buf is writable for buf.len() bytes;
    // readlink does not NUL-terminate and returns the bytes written.
    let n = with_cpath(parts, |p| unsafe { libc::readlink(p, buf.as_mut_ptr().cast(), buf.len()) })?;
    if n < 0 {
        Err(Errno::last())
    } else {
        Ok(n as usize)
    }
}

/// Bytes available to an unprivileged user on the file system holding `parts`.
pub fn free_bytes(parts: &[&[u8]]) -> Result<u64, Errno> {
    // SAFETY: an all-zero statvfs is a valid value for statvfs to fill.
    let mut st: libc::statvfs = unsafe { core::mem::zeroed() };
    // SAFETY: the path is NUL-terminated; st is a valid, writable statvfs.
    let r = with_cpath(parts, |p| unsafe { libc::statvfs(p, &mut st) })?;
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(st.f_bavail as u64 * st.f_frsize as u64)
    }
}

/// Removes the file made of `parts` (`unlink(2)`).
pub fn unlink(parts: &[&[u8]]) -> Result<(), Errno> {
    // SAFETY: the pointer is a NUL-terminated buffer that lives across the call.
    if with_cpath(parts, |p| unsafe { libc::unlink(p) })? < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// What kind of file a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum FileType {
    /// A regular file (every /proc, sysfs and debugfs file kleak reads is one).
    Regular,
    /// A directory.
    Dir,
    /// A FIFO (named pipe): a read blocks until a writer comes.
    Fifo,
    /// A character device (`/dev/zero` never ends).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A socket.
    Socket,
}

impl FileType {
    fn of(mode: libc::mode_t) -> FileType {
        match mode & libc::S_IFMT {
            libc::S_IFDIR => FileType::Dir,
            libc::S_IFIFO => FileType::Fifo,
            libc::S_IFCHR => FileType::CharDevice,
            libc::S_IFBLK => FileType::BlockDevice,
            libc::S_IFSOCK => FileType::Socket,
            _ => FileType::Regular,
        }
    }

    /// Its name in a message (`a FIFO`).
    pub fn name(self) -> &'static str {
        match self {
            FileType::Regular => "a regular file",
            FileType::Dir => "a directory",
            FileType::Fifo => "a FIFO",
            FileType::CharDevice => "a character device",
            FileType::BlockDevice => "a block device",
            FileType::Socket => "a socket",
        }
    }
}

/// The type of the file made of `parts`, following symbolic links (`stat(2)`).
pub fn file_type(parts: &[&[u8]]) -> Result<FileType, Errno> {
    // SAFETY: an all-zero stat is a valid value for stat to fill.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: the path is NUL-terminated; st is a valid, writable stat struct.
    if with_cpath(parts, |p| unsafe { libc::stat(p, &mut st) })? < 0 {
        Err(Errno::last())
    } else {
        Ok(FileType::of(st.st_mode))
    }
}

/// True if this process may create files in the directory made of `parts`
/// (`access(W_OK | X_OK)`; read-only file systems say no to root as well).
pub fn writable_dir(parts: &[&[u8]]) -> Result<(), Errno> {
    // SAFETY: the pointer is a NUL-terminated buffer that lives across the call.
    if with_cpath(parts, |p| unsafe { libc::access(p, libc::W_OK | libc::X_OK) })? < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Renames `from` to `to` (atomic within one file system).
pub fn rename(from: &[&[u8]], to: &[&[u8]]) -> Result<(), Errno> {
    // SAFETY: both pointers are NUL-terminated buffers that live across the call.
    let r = with_cpath(from, |f| with_cpath(to, |t| unsafe { libc::rename(f, t) }))??;
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Creates directory `path` and its missing parents (mode 0755).
pub fn mkdirs(path: &[u8]) -> Result<(), Errno> {
    let b = path;
    for (i, &c) in b.iter().enumerate().skip(1) {
        if c == b'/' {
            // SAFETY: the pointer is a NUL-terminated buffer that lives across the call.
            with_cpath(&[&b[..i]], |p| unsafe { libc::mkdir(p, 0o755) })?;
        }
    }
    // SAFETY: as above.
    if with_cpath(&[b], |p| unsafe { libc::mkdir(p, 0o755) })? < 0 {
        let e = Errno::last();
        if e.0 != libc::EEXIST {
            return Err(e);
        }
    }
    Ok(())
}

/// Mounts debugfs on the path made of `parts` (`mount -t debugfs none /sys/kernel/debug`).
pub fn mount_debugfs(parts: &[&[u8]]) -> Result<(), Errno> {
    // SAFETY: all strings are NUL-terminated and live across the call; data is null.
    let r =
        with_cpath(parts, |p| unsafe { libc::mount(c"none".as_ptr(), p, c"debugfs".as_ptr(), 0, core::ptr::null()) })?;
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

// ---- Child processes (kleak run, kleak trace) ----

/// How a child process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildExit {
    /// `exit(code)`.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

extern "C" {
    /// The process's environment (POSIX).
    static environ: *const *const libc::c_char;
}

/// Starts `program` (looked up in `PATH` when it has no `/`) with `args` as argv[1..],
/// kleak's environment with `env` set on top, and kleak's standard input and output; its
/// PID. The child starts as a shell would start it: SIGPIPE back to its default (kleak
/// ignores it), no signal blocked; with `own_group`, in a process group of its own (whose
/// id is its PID) that kleak can signal as a whole. `posix_spawn`, not std's Command
/// (which costs the board binary ~20 KB), so an exec failure comes back as this call's
/// error.
pub fn spawn<A: AsRef<[u8]>>(program: &[u8], args: &[A], env: &[(&str, &[u8])], own_group: bool) -> Result<i32, Errno> {
    let cstr = |b: &[u8]| -> Result<Vec<u8>, Errno> {
        if b.contains(&0) {
            return Err(Errno(libc::EINVAL));
        }
        let mut v = b.to_vec();
        v.push(0);
        Ok(v)
    };
    let mut argv_bytes = vec![cstr(program)?];
    for a in args {
        argv_bytes.push(cstr(a.as_ref())?);
    }
    let mut env_bytes = Vec::new();
    for (k, v) in env {
        env_bytes.push(cstr(&[k.as_bytes(), b"=", v].concat())?);
    }
    // SAFETY: environ is the NUL-terminated array of NUL-terminated strings the C library
    // keeps; nothing changes it while we copy (kleak sets no variables).
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            let entry = core::ffi::CStr::from_ptr(*p).to_bytes();
            if !env.iter().any(|(k, _)| entry.starts_with(k.as_bytes()) && entry.get(k.len()) == Some(&b'=')) {
                env_bytes.push(cstr(entry)?);
            }
            p = p.add(1);
        }
    }
    let ptrs = |v: &[Vec<u8>]| -> Vec<*mut libc::c_char> {
        v.iter().map(|s| s.as_ptr() as *mut libc::c_char).chain(core::iter::once(core::ptr::null_mut())).collect()
    };
    let (argv, envp) = (ptrs(&argv_bytes), ptrs(&env_bytes));
    let mut pid: libc::pid_t = 0;
    // SAFETY: attr is initialised by posix_spawnattr_init before use and destroyed once;
    // the signal sets are initialised by sigemptyset; argv and envp are null-terminated
    // arrays of pointers to NUL-terminated strings owned by argv_bytes/env_bytes, alive
    // across the call; no file actions.
    let r = unsafe {
        let mut attr: libc::posix_spawnattr_t = core::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        let mut default: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut default);
        libc::sigaddset(&mut default, libc::SIGPIPE);
        for sig in STOP_SIGNALS {
            libc::sigaddset(&mut default, sig);
        }
        let mut none: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::posix_spawnattr_setsigdefault(&mut attr, &default);
        libc::posix_spawnattr_setsigmask(&mut attr, &none);
        let mut flags = libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK;
        if own_group {
            libc::posix_spawnattr_setpgroup(&mut attr, 0);
            flags |= libc::POSIX_SPAWN_SETPGROUP;
        }
        libc::posix_spawnattr_setflags(&mut attr, flags as _);
        let r = libc::posix_spawnp(&mut pid, argv[0], core::ptr::null(), &attr, argv.as_ptr(), envp.as_ptr());
        libc::posix_spawnattr_destroy(&mut attr);
        r
    };
    if r != 0 {
        return Err(Errno(r));
    }
    Ok(pid)
}

/// Waits for child `pid` to end. `Err(EINTR)` when a signal (SIGINT, SIGTERM) arrived
/// first: the caller decides whether to pass it on and wait again.
pub fn wait(pid: i32) -> Result<ChildExit, Errno> {
    waitpid(pid, 0).map(|e| e.unwrap_or(ChildExit::Code(0)))
}

/// How child `pid` ended, or `None` while it runs (a wait that does not block).
pub fn try_wait(pid: i32) -> Result<Option<ChildExit>, Errno> {
    waitpid(pid, libc::WNOHANG)
}

fn waitpid(pid: i32, flags: i32) -> Result<Option<ChildExit>, Errno> {
    let mut status: libc::c_int = 0;
    // SAFETY: status is a valid, writable int; waitpid only waits for our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, flags) };
    if r < 0 {
        return Err(Errno::last());
    }
    if r == 0 {
        return Ok(None);
    }
    if libc::WIFSIGNALED(status) {
        Ok(Some(ChildExit::Signal(libc::WTERMSIG(status))))
    } else {
        Ok(Some(ChildExit::Code(libc::WEXITSTATUS(status))))
    }
}

/// Sends `sig` to process `pid`.
pub fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: kill has no memory effects.
    if unsafe { libc::kill(pid, sig) } < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Sends `sig` to process `pid` with `value` attached (`sigqueue(3)`): the tracer reads it
/// to tell `trace on` from `trace off`.
pub fn sigqueue(pid: i32, sig: i32, value: usize) -> Result<(), Errno> {
    let v = libc::sigval { sival_ptr: value as *mut libc::c_void };
    // SAFETY: sigqueue has no memory effects on this process; the value is passed by copy.
    if unsafe { libc::sigqueue(pid, sig, v) } < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Seconds a child is given to end after kleak passed a stop signal on to it, before its
/// process group is killed (SIGKILL).
pub const CHILD_GRACE_SECS: f64 = 5.0;

/// How often a child with no other work to do between looks is looked at: the delay
/// between its end (or a stop signal) and kleak's answer.
const CHILD_POLL_SECS: f64 = 0.02;

/// The terminal handed to a child's process group while it runs, as a shell does for a
/// foreground job (so the child can read it and Ctrl-C reaches the child); given back to
/// kleak's group on drop.
struct Foreground {
    given: bool,
}

impl Foreground {
    /// Hands standard input's terminal to process group `pgid` if kleak is its foreground.
    fn give(pgid: i32) -> Foreground {
        // SAFETY: tcgetpgrp/getpgrp only read process state.
        let ours = isatty(0) && unsafe { libc::tcgetpgrp(0) == libc::getpgrp() };
        if ours {
            set_foreground(pgid);
            // The child may have tried the terminal before it was its own (SIGTTIN).
            let _ = kill(-pgid, libc::SIGCONT);
        }
        Foreground { given: ours }
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        if self.given {
            // SAFETY: getpgrp cannot fail.
            set_foreground(unsafe { libc::getpgrp() });
        }
    }
}

/// `tcsetpgrp(0, pgid)` with SIGTTOU blocked (a background group may not otherwise).
fn set_foreground(pgid: i32) {
    // SAFETY: the set is initialised by sigemptyset/sigaddset before use; the old mask is
    // restored; tcsetpgrp has no memory effects.
    unsafe {
        let mut ttou: libc::sigset_t = core::mem::zeroed();
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut ttou);
        libc::sigaddset(&mut ttou, libc::SIGTTOU);
        libc::sigprocmask(libc::SIG_BLOCK, &ttou, &mut old);
        libc::tcsetpgrp(0, pgid);
        libc::sigprocmask(libc::SIG_SETMASK, &old, core::ptr::null_mut());
    }
}

/// How a child run by [`run_child_polling`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildRun {
    /// Its exit.
    pub exit: ChildExit,
    /// The stop signal kleak passed on to its process group (0: none).
    pub forwarded: i32,
    /// It outlived [`CHILD_GRACE_SECS`] after that and was killed.
    pub killed: bool,
}

/// Runs `args` (`args[0]` looked up in `PATH`) in a process group of its own, sharing
/// kleak's standard input and output (and its terminal, handed over while it runs), and
/// waits for it, calling `tick` about every `every` seconds meanwhile (0: no tick).
///
/// A stop signal kleak receives (SIGINT, SIGTERM, SIGHUP, ...) is passed on to the
/// child's process group; the child then has [`CHILD_GRACE_SECS`] to end before the group
/// is killed. A child that dies of SIGINT or SIGQUIT while it holds the terminal (the
/// user's Ctrl-C, which kleak itself does not receive) counts as a stop request too.
pub fn run_child_polling<A: AsRef<[u8]>>(args: &[A], every: f64, tick: &mut dyn FnMut()) -> Result<ChildRun, Errno> {
    let pid = spawn(args[0].as_ref(), &args[1..], &[], true)?;
    let tty = Foreground::give(pid);
    let mut run = ChildRun { exit: ChildExit::Code(0), forwarded: 0, killed: false };
    let mut forwarded_at = 0.0;
    loop {
        match try_wait(pid) {
            Ok(Some(e)) => {
                run.exit = e;
                break;
            }
            Ok(None) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        if stop_requested() {
            let now = monotonic_secs();
            if run.forwarded == 0 {
                run.forwarded = stop_signal().max(1);
                forwarded_at = now;
                let _ = kill(-pid, run.forwarded);
                let _ = kill(-pid, libc::SIGCONT);
            } else if !run.killed && now - forwarded_at >= CHILD_GRACE_SECS {
                run.killed = true;
                let _ = kill(-pid, libc::SIGKILL);
            }
            nap(CHILD_POLL_SECS);
        } else if every > 0.0 {
            tick();
            sleep(every);
        } else {
            sleep(CHILD_POLL_SECS);
        }
    }
    let had_tty = tty.given;
    drop(tty);
    if let ChildExit::Signal(sig @ (libc::SIGINT | libc::SIGQUIT)) = run.exit {
        if had_tty && run.forwarded == 0 {
            request_stop(sig);
        }
    }
    Ok(run)
}

/// The unwinder's entry points, as no-ops, for the release board build only (build.rs sets
/// `kleak_no_unwinder` where it also drops the unwind tables; `panic = "abort"`).
///
/// Nothing in such a binary can unwind: a panic aborts, and without `.eh_frame` libunwind
/// finds no frame to step through, so its only caller left, the panic hook's
/// `RUST_BACKTRACE` printer, already printed an empty backtrace. Defining the symbols here
/// keeps the linker from pulling libunwind (~40 KB of C++ and its `printf`) out of the
/// `unwind` rlib, and because LTO sees that `_Unwind_Backtrace` never calls its callback,
/// it drops std's backtrace symbolizer too (gimli, addr2line, the demangler: ~100 KB).
/// A panic still prints its message and location, then aborts.
#[cfg(all(kleak_no_unwinder, panic = "abort"))]
mod no_unwinder {
    use core::ffi::{c_int, c_void};

    /// `_URC_END_OF_STACK`: no frames.
    const END_OF_STACK: c_int = 5;

    // SAFETY (all below): these replace libunwind's functions of the same C signatures
    // (libunwind.h); none dereferences its arguments, so any pointer a caller passes is
    // fine. The unwinder's state they would read or write does not exist (see above).
    #[no_mangle]
    extern "C" fn _Unwind_Backtrace(_trace: *const c_void, _arg: *mut c_void) -> c_int {
        END_OF_STACK
    }
    #[no_mangle]
    extern "C" fn _Unwind_GetIP(_ctx: *mut c_void) -> usize {
        0
    }
    #[no_mangle]
    extern "C" fn _Unwind_GetIPInfo(_ctx: *mut c_void, _before: *mut c_int) -> usize {
        0
    }
    #[no_mangle]
    extern "C" fn _Unwind_GetLanguageSpecificData(_ctx: *mut c_void) -> *mut c_void {
        core::ptr::null_mut()
    }
    #[no_mangle]
    extern "C" fn _Unwind_GetRegionStart(_ctx: *mut c_void) -> usize {
        0
    }
    #[no_mangle]
    extern "C" fn _Unwind_GetTextRelBase(_ctx: *mut c_void) -> usize {
        0
    }
    #[no_mangle]
    extern "C" fn _Unwind_GetDataRelBase(_ctx: *mut c_void) -> usize {
        0
    }
    #[no_mangle]
    extern "C" fn _Unwind_SetGR(_ctx: *mut c_void, _reg: c_int, _value: usize) {}
    #[no_mangle]
    extern "C" fn _Unwind_SetIP(_ctx: *mut c_void, _value: usize) {}
    /// Only a landing pad calls this, after an unwind that cannot start here.
    #[no_mangle]
    extern "C" fn _Unwind_Resume(_exception: *mut c_void) -> ! {
        std::process::abort()
    }
}

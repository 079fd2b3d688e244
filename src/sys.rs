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
    /// Path too long.
    pub const ENAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);

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
    /// Read only.
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
                Mode::Read => libc::O_RDONLY,
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
            Err(Errno::last())
        } else {
            Ok(File { fd })
        }
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

    /// Waits up to `secs` seconds for the file to become readable (`poll(2)`, POLLIN).
    /// `Ok(true)`: readable (or hung up: a read tells); `Ok(false)`: the time passed or a
    /// signal arrived.
    pub fn wait_readable(&self, secs: f64) -> Result<bool, Errno> {
        let mut p = libc::pollfd { fd: self.fd, events: libc::POLLIN, revents: 0 };
        let ms = (secs * 1000.0).ceil().clamp(0.0, i32::MAX as f64) as libc::c_int;
        // SAFETY: p is one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        match n {
            n if n > 0 => Ok(true),
            0 => Ok(false),
            _ if Errno::last() == Errno::EINTR => Ok(false),
            _ => Err(Errno::last()),
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

/// What kind of file a path names (`stat`, following links).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Dir,
    /// A regular file.
    Regular,
    /// A FIFO (named pipe).
    Fifo,
    /// A device, socket or anything else.
    Other,
}

/// The kind of file `parts` names.
pub fn file_kind(parts: &[&[u8]]) -> Result<FileKind, Errno> {
    // SAFETY: st is a valid, writable stat buffer and the path a NUL-terminated buffer,
    // both alive across the call.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    if with_cpath(parts, |p| unsafe { libc::stat(p, &mut st) })? < 0 {
        return Err(Errno::last());
    }
    Ok(match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => FileKind::Dir,
        libc::S_IFREG => FileKind::Regular,
        libc::S_IFIFO => FileKind::Fifo,
        _ => FileKind::Other,
    })
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

/// Sleeps `secs` seconds, waking early when a stop signal arrives. Returns false if the
/// sleep was cut short by [`stop_requested`].
///
/// SIGINT and SIGTERM are blocked while the stop flag is checked and unblocked by `ppoll`
/// itself, atomically, as it starts to wait: a signal arriving between the check and the
/// wait is delivered at once instead of after the whole interval.
pub fn sleep(secs: f64) -> bool {
    if secs <= 0.0 {
        return !stop_requested();
    }
    let deadline = monotonic_secs() + secs;
    // SAFETY: the sets are initialised by sigemptyset/sigaddset before sigprocmask reads
    // them and writes `old`; ppoll is given no descriptors (null, 0), a valid timespec and
    // the saved mask; the mask is restored before returning.
    unsafe {
        let mut stops: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut stops);
        libc::sigaddset(&mut stops, libc::SIGINT);
        libc::sigaddset(&mut stops, libc::SIGTERM);
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &stops, &mut old);
        let mut waiting = old;
        libc::sigdelset(&mut waiting, libc::SIGINT);
        libc::sigdelset(&mut waiting, libc::SIGTERM);
        loop {
            let left = deadline - monotonic_secs();
            if stop_requested() || left <= 0.0 {
                break;
            }
            let ts = libc::timespec { tv_sec: left as _, tv_nsec: (left.fract() * 1e9) as _ };
            libc::ppoll(core::ptr::null_mut(), 0, &ts, &waiting);
        }
        libc::sigprocmask(libc::SIG_SETMASK, &old, core::ptr::null_mut());
    }
    !stop_requested()
}

static STOP: AtomicBool = AtomicBool::new(false);
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop(sig: libc::c_int) {
    // Only async-signal-safe work: two atomic stores.
    STOP_SIGNAL.store(sig, Ordering::Relaxed);
    STOP.store(true, Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM request a clean stop (see [`stop_requested`]) instead of killing
/// the process, and makes a closed pipe an `EPIPE` error instead of a SIGPIPE death.
/// Handlers are installed without SA_RESTART, so a blocking sleep returns at once.
pub fn install_signal_handlers() {
    // SAFETY: sigaction with a handler that only touches atomics; the struct is fully
    // initialised from zero and its mask emptied with sigemptyset.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = on_stop as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = 0;
        libc::sigaction(libc::SIGINT, &sa, core::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &sa, core::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// True once SIGINT or SIGTERM arrived.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// The signal that requested the stop, or 0.
pub fn stop_signal() -> i32 {
    STOP_SIGNAL.load(Ordering::Relaxed)
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
/// ignores it), no signal blocked. `posix_spawn`, not std's Command (which costs the board
/// binary ~20 KB), so an exec failure comes back as this call's error.
pub fn spawn<A: AsRef<[u8]>>(program: &[u8], args: &[A], env: &[(&str, &[u8])]) -> Result<i32, Errno> {
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
        let mut none: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::posix_spawnattr_setsigdefault(&mut attr, &default);
        libc::posix_spawnattr_setsigmask(&mut attr, &none);
        libc::posix_spawnattr_setflags(&mut attr, (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as _);
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

/// Runs `args` (`args[0]` looked up in `PATH`) as a child sharing kleak's standard input
/// and output, and waits for it, through signals: SIGINT and SIGTERM reach the child too
/// (same process group), and kleak reports how it ended.
pub fn run_child<A: AsRef<[u8]>>(args: &[A]) -> Result<ChildExit, Errno> {
    run_child_polling(args, 0.0, &mut || {})
}

/// [`run_child`], calling `tick` about every `every` seconds while the child runs (a wait
/// that does not block, then a sleep). After a stop signal it only waits.
pub fn run_child_polling<A: AsRef<[u8]>>(args: &[A], every: f64, tick: &mut dyn FnMut()) -> Result<ChildExit, Errno> {
    let pid = spawn(args[0].as_ref(), &args[1..], &[])?;
    loop {
        if every > 0.0 && !stop_requested() {
            match try_wait(pid) {
                Ok(None) => {
                    tick();
                    sleep(every);
                    continue;
                }
                Ok(Some(e)) => return Ok(e),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
        match wait(pid) {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

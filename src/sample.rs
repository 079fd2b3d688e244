//! Sampling: open the /proc files once, re-read them each sample into one fixed buffer,
//! parse in place, update the tables in place.
//!
//! [`Root`] is where files come from: the live `/`, a `--root` tree (a sosreport, a
//! capture), or, in tests, a fault injector that returns short reads, EINTR and vanished
//! files. [`Tables`] is the state machine that turns lines into table updates and knows
//! nothing about files, so a saved snapshot feeds it the same way a live read does.

use crate::limits::{READ_BUF_BYTES, READ_FILE_MAX_BYTES};
use crate::parse::parse_f64;
use crate::sys::{self, Errno, Mode};
use crate::tables::{PageSizeFrom, Source, Tables};

/// How often in a row a read that fails with EINTR or EAGAIN is tried again before it
/// counts as failed.
const READ_RETRIES: u32 = 16;

/// Bytes of a file after which a read stops for a stop signal (SIGINT, SIGTERM, ...):
/// above every real /proc file, so only a huge file (a saved report, a hostile tree) is cut.
const STOP_CHECK_BYTES: u64 = 1 << 20;

/// A file that can be read from any offset (`pread`).
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes at `off`; `Ok(0)` at end of file.
    fn read_at(&mut self, buf: &mut [u8], off: u64) -> Result<usize, Errno>;
}

impl ReadAt for sys::File {
    fn read_at(&mut self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        self.pread(buf, off)
    }
}

/// Where kleak's files come from.
pub trait Root {
    /// An open file.
    type File: ReadAt;
    /// Opens `path` (absolute, e.g. `/proc/slabinfo`) under this root for reading.
    fn open(&self, path: &str) -> Result<Self::File, Errno>;
    /// True for the running system (`/`), false for a captured tree.
    fn is_live(&self) -> bool;
    /// Calls `f` with the name of each entry of the directory `path` (e.g. `/proc`).
    fn list(&self, path: &str, f: &mut dyn FnMut(&[u8])) -> Result<(), Errno>;
    /// The target of the symbolic link `path`, if it is one.
    fn link(&self, _path: &str) -> Option<String> {
        None
    }
    /// Writes `bytes` to the existing file `path` under this root in one `write(2)`
    /// (kernel control files such as /proc/sys/vm/drop_caches). Refused by default.
    fn write(&self, _path: &str, _bytes: &[u8]) -> Result<(), Errno> {
        Err(Errno::EACCES)
    }
}

/// The file system: `/` or a `--root DIR` prefix.
#[derive(Clone, Debug, Default)]
pub struct FsRoot {
    prefix: Vec<u8>,
}

impl FsRoot {
    /// The running system.
    pub fn live() -> Self {
        FsRoot { prefix: Vec::new() }
    }

    /// A tree captured from another system, read as if it were `/`.
    /// `dir` is bytes, as the command line gave it.
    pub fn tree(dir: impl AsRef<[u8]>) -> Self {
        let dir = dir.as_ref();
        let end = dir.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        FsRoot { prefix: dir[..end].to_vec() }
    }

    /// The prefix (empty for the live system).
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }
}

impl Root for FsRoot {
    type File = sys::File;
    fn open(&self, path: &str) -> Result<sys::File, Errno> {
        sys::File::open(&[&self.prefix, path.as_bytes()], Mode::Read)
    }
    fn is_live(&self) -> bool {
        self.prefix.is_empty()
    }
    fn list(&self, path: &str, f: &mut dyn FnMut(&[u8])) -> Result<(), Errno> {
        sys::read_dir(&[&self.prefix, path.as_bytes()], |name, _| {
            f(name);
            true
        })
    }
    fn write(&self, path: &str, bytes: &[u8]) -> Result<(), Errno> {
        let f = sys::File::open(&[&self.prefix, path.as_bytes()], Mode::Write)?;
        f.write(bytes).map(|_| ())
    }
    fn link(&self, path: &str) -> Option<String> {
        let mut buf = [0u8; 256];
        let n = sys::read_link(&[&self.prefix, path.as_bytes()], &mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

/// Reads the start of the small file `path` under `root` into `buf` (as much as fits);
/// returns the bytes read. For one-line files such as /proc/uptime or /proc/cmdline.
pub fn read_small<R: Root>(root: &R, path: &str, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut f = root.open(path)?;
    let mut n = 0;
    let mut retries = 0;
    while n < buf.len() {
        let k = read_retry(&mut f, &mut buf[n..], n as u64, &mut retries)?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(n)
}

/// Counts from reading one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Bytes read.
    pub bytes: u64,
    /// read calls that returned data or end of file.
    pub reads: u32,
    /// Reads retried after EINTR/EAGAIN.
    pub retries: u32,
    /// Lines longer than the read buffer, skipped.
    pub overlong: u32,
}

/// One read at `off`, tried again after EINTR or EAGAIN up to [`READ_RETRIES`] times in a
/// row (each retry is counted in `retries`).
pub(crate) fn read_retry<F: ReadAt>(file: &mut F, buf: &mut [u8], off: u64, retries: &mut u32) -> Result<usize, Errno> {
    let mut again = 0;
    loop {
        match file.read_at(buf, off) {
            Err(e) if (e == Errno::EINTR || e == Errno::EAGAIN) && again < READ_RETRIES => {
                again += 1;
                *retries += 1;
            }
            r => return r,
        }
    }
}

/// Position of the first `\n` in `s`, eight bytes at a time.
#[inline]
fn find_newline(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut i = 0;
    while i + 8 <= s.len() {
        let w = u64::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3], s[i + 4], s[i + 5], s[i + 6], s[i + 7]]) ^ NL;
        // A zero byte in w is a newline in s (the classic has-zero-byte test).
        if (w.wrapping_sub(LO) & !w & HI) != 0 {
            break;
        }
        i += 8;
    }
    s[i..].iter().position(|&b| b == b'\n').map(|p| p + i)
}

/// Where [`read_lines`] delivers lines.
pub trait LineSink {
    /// Offered the unread bytes first: if they start with a line the sink already knows
    /// (unchanged since the sample before), it takes it and returns its length including the
    /// newline, and no one needs to search for the newline or parse. 0: not known.
    fn known(&mut self, _unread: &[u8]) -> usize {
        0
    }
    /// One line, without its newline.
    fn line(&mut self, line: &[u8]);
    /// A line longer than the read buffer was skipped (count it).
    fn overlong(&mut self) {}
}

impl<F: FnMut(&[u8])> LineSink for F {
    fn line(&mut self, line: &[u8]) {
        self(line)
    }
}

/// Reads `file` from offset 0 to its end through `buf` and hands each line to `sink`
/// (without its newline). A line split between two reads is carried over; a line longer
/// than `buf` is skipped and counted (in the stats and by the sink). A final line without
/// a newline is still a line.
///
/// Bounded: a file longer than [`READ_FILE_MAX_BYTES`] ends the read with `EFBIG` (its
/// lines so far delivered), and a stop signal ends a read past `STOP_CHECK_BYTES` (1 MiB) with
/// `EINTR` ([`sys::stop_requested`]): a real /proc file is read whole even after a stop,
/// so a command's last sample stays complete.
pub fn read_lines<F: ReadAt>(file: &mut F, buf: &mut [u8], mut sink: impl LineSink) -> Result<ReadStats, Errno> {
    let mut st = ReadStats::default();
    let mut off = 0u64;
    let mut fill = 0usize;
    let mut skipping = false;
    loop {
        if off >= READ_FILE_MAX_BYTES {
            return Err(Errno::EFBIG);
        }
        if off >= STOP_CHECK_BYTES && sys::stop_requested() {
            return Err(Errno::EINTR);
        }
        let n = read_retry(file, &mut buf[fill..], off, &mut st.retries)?;
        st.reads += 1;
        if n == 0 {
            if skipping {
                st.overlong += 1;
                sink.overlong();
            } else if fill > 0 {
                sink.line(&buf[..fill]);
            }
            return Ok(st);
        }
        off += n as u64;
        st.bytes += n as u64;
        let end = fill + n;
        let mut start = 0;
        // Only the new bytes can hold a newline: the carried part had none.
        let mut scan = fill;
        loop {
            if !skipping {
                let k = sink.known(&buf[start..end]);
                if k > 0 {
                    start += k;
                    scan = start;
                    continue;
                }
            }
            let Some(p) = find_newline(&buf[scan..end]) else { break };
            let nl = scan + p;
            if skipping {
                skipping = false;
                st.overlong += 1;
                sink.overlong();
            } else {
                sink.line(&buf[start..nl]);
            }
            start = nl + 1;
            scan = start;
        }
        buf.copy_within(start..end, 0);
        fill = end - start;
        if fill == buf.len() {
            // A line longer than the buffer: drop it up to its newline.
            skipping = true;
            fill = 0;
        }
    }
}

/// Whether a source could be read, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Read fine.
    Ok,
    /// The file does not exist.
    Missing,
    /// Permission denied.
    NeedsRoot,
    /// Another error, on open or on read.
    Failed(Errno),
}

impl FileStatus {
    fn from_errno(e: Errno) -> Self {
        match e {
            Errno::ENOENT => FileStatus::Missing,
            Errno::EACCES | Errno::EPERM => FileStatus::NeedsRoot,
            e => FileStatus::Failed(e),
        }
    }

    /// What it means for the user, and how to fix it; `None` when the file is fine.
    pub fn explain(self, src: Source) -> Option<&'static str> {
        Some(match (self, src) {
            (FileStatus::Ok, _) => return None,
            (FileStatus::NeedsRoot, Source::Slabinfo) => "per-cache slab data needs root; showing totals",
            (FileStatus::Missing, Source::Slabinfo) => {
                "no /proc/slabinfo: the kernel lacks CONFIG_SLUB_DEBUG=y (SLUB) or CONFIG_SLAB; showing totals"
            }
            (FileStatus::NeedsRoot, _) => "permission denied (needs root)",
            (FileStatus::Missing, _) => "missing: is /proc mounted? (mount -t proc proc /proc)",
            (FileStatus::Failed(_), _) => "read failed; keeping the last values",
        })
    }
}

/// A cache's `/sys/kernel/slab/<name>/reclaim_account` flag under `root` (SLUB, root
/// only), or `None` where it cannot be read.
pub fn reclaim_account<R: Root>(root: &R, name: &str) -> Option<bool> {
    let mut path = heapless::String::<{ crate::limits::NAME_BYTES + 48 }>::new();
    path.push_str("/sys/kernel/slab/").ok()?;
    path.push_str(name).ok()?;
    path.push_str("/reclaim_account").ok()?;
    let mut f = root.open(&path).ok()?;
    let mut buf = [0u8; 8];
    let n = f.read_at(&mut buf, 0).ok()?;
    crate::parse::trim(&buf[..n]).first().map(|&b| b == b'1')
}

/// The tables as the sink of one source's lines.
pub struct Feed<'a> {
    /// The tables fed.
    pub tables: &'a mut Tables,
    /// The source the lines come from.
    pub src: Source,
}

impl LineSink for Feed<'_> {
    #[inline]
    fn known(&mut self, unread: &[u8]) -> usize {
        self.tables.known(self.src, unread)
    }
    fn line(&mut self, line: &[u8]) {
        self.tables.line(self.src, line);
    }
    fn overlong(&mut self) {
        let stats = match self.src {
            Source::Slabinfo => &mut self.tables.slabinfo_parser.stats,
            Source::Vmstat => &mut self.tables.vmstat_parser.stats,
            Source::Meminfo => &mut self.tables.meminfo_parser.stats,
        };
        stats.lines += 1;
        stats.malformed();
    }
}

/// Small facts about the system a sample comes from.
#[derive(Clone, Debug, Default)]
pub struct Host {
    /// Kernel release (`/proc/sys/kernel/osrelease`), empty if unknown.
    pub release: heapless::String<64>,
    /// Seconds since boot (`/proc/uptime`), 0 if unknown.
    pub uptime: f64,
}

/// The sampler: files opened once, one read buffer, the tables.
pub struct Sampler<R: Root> {
    root: R,
    files: [Option<R::File>; 3],
    /// Whether each source can be read (indexed by [`Source::index`]).
    pub status: [FileStatus; 3],
    /// A status changed in the latest sample (report it once).
    pub status_changed: [bool; 3],
    buf: Box<[u8]>,
    /// What was sampled.
    pub tables: Tables,
    /// Read counts of the latest sample, per source.
    pub read_stats: [ReadStats; 3],
}

impl<R: Root> Sampler<R> {
    /// Opens the three files under `root`; a file that cannot be opened is noted in
    /// [`Sampler::status`] and skipped.
    pub fn new(root: R) -> Self {
        let mut files = [None, None, None];
        let mut status = [FileStatus::Ok; 3];
        for src in Source::ALL {
            match root.open(src.path()) {
                Ok(f) => files[src.index()] = Some(f),
                Err(e) => status[src.index()] = FileStatus::from_errno(e),
            }
        }
        let mut tables = Tables::default();
        if root.is_live() {
            tables.page_size = sys::page_size();
            tables.page_size_from = PageSizeFrom::System;
        }
        Sampler {
            root,
            files,
            status,
            status_changed: [true; 3],
            buf: vec![0u8; READ_BUF_BYTES].into_boxed_slice(),
            tables,
            read_stats: [ReadStats::default(); 3],
        }
    }

    /// The root files come from.
    pub fn root(&self) -> &R {
        &self.root
    }

    /// Takes one sample at monotonic time `now`.
    pub fn sample(&mut self, now: f64) {
        let first = self.tables.samples == 0;
        self.tables.begin();
        for src in Source::ALL {
            let i = src.index();
            let before = self.status[i];
            let mut complete = false;
            if let Some(file) = self.files[i].as_mut() {
                match read_lines(file, &mut self.buf, Feed { tables: &mut self.tables, src }) {
                    Ok(st) => {
                        self.read_stats[i] = st;
                        self.status[i] = FileStatus::Ok;
                        complete = true;
                    }
                    Err(e) => self.status[i] = FileStatus::from_errno(e),
                }
            }
            self.tables.end_source(src, complete);
            self.status_changed[i] = first || self.status[i] != before;
        }
        let root = &self.root;
        self.tables.slab.read_flags(&mut |name| reclaim_account(root, name));
        self.tables.end(now);
    }

    /// Reads the small facts about the system (release, uptime) from the root.
    pub fn host(&mut self) -> Host {
        let mut host = Host::default();
        let buf = &mut self.buf[..256];
        if let Ok(n) = read_small(&self.root, "/proc/sys/kernel/osrelease", buf) {
            let s = core::str::from_utf8(crate::parse::trim(&buf[..n])).unwrap_or("?");
            let _ = host.release.push_str(crate::parse::str_prefix(s, 64));
        }
        if let Ok(n) = read_small(&self.root, "/proc/uptime", buf) {
            if let Some(t) = crate::parse::Tokens::new(&buf[..n]).next() {
                host.uptime = parse_f64(t).unwrap_or(0.0);
            }
        }
        host
    }

    /// Copies each readable source, as read, to `out` (for snapshots), one piece at a time.
    pub fn copy_raw(&mut self, src: Source, mut out: impl FnMut(&[u8]) -> Result<(), Errno>) -> Result<bool, Errno> {
        let Some(file) = self.files[src.index()].as_mut() else { return Ok(false) };
        let mut off = 0u64;
        let mut last = b'\n';
        let mut retries = 0;
        loop {
            if off >= READ_FILE_MAX_BYTES {
                return Err(Errno::EFBIG);
            }
            if off >= STOP_CHECK_BYTES && sys::stop_requested() {
                return Err(Errno::EINTR);
            }
            let n = read_retry(file, &mut self.buf, off, &mut retries)?;
            if n == 0 {
                break;
            }
            out(&self.buf[..n])?;
            last = self.buf[n - 1];
            off += n as u64;
        }
        if last != b'\n' {
            out(b"\n")?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// A file in memory that returns at most `chunk` bytes per read.
    struct Chunky<'a> {
        data: &'a [u8],
        chunk: usize,
        eintr_every: usize,
        calls: usize,
    }

    impl ReadAt for Chunky<'_> {
        fn read_at(&mut self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
            self.calls += 1;
            if self.eintr_every > 0 && self.calls % self.eintr_every == 0 {
                return Err(Errno::EINTR);
            }
            let off = off as usize;
            let n = self.data.len().saturating_sub(off).min(buf.len()).min(self.chunk);
            buf[..n].copy_from_slice(&self.data[off..off + n]);
            Ok(n)
        }
    }

    fn lines(data: &[u8], chunk: usize, buf_len: usize) -> (Vec<String>, ReadStats) {
        let mut f = Chunky { data, chunk, eintr_every: 3, calls: 0 };
        let mut buf = vec![0u8; buf_len];
        let mut out = Vec::new();
        let st = read_lines(&mut f, &mut buf, |l: &[u8]| out.push(String::from_utf8_lossy(l).into_owned())).unwrap();
        (out, st)
    }

    #[test]
    fn lines_split_across_short_reads_are_carried_over() {
        let data = b"alpha 1\nbeta 22\ngamma 333\nlast-without-newline";
        for chunk in 1..data.len() {
            let (out, st) = lines(data, chunk, 32);
            assert_eq!(out, ["alpha 1", "beta 22", "gamma 333", "last-without-newline"], "chunk {chunk}");
            assert_eq!(st.bytes, data.len() as u64);
            assert!(st.retries > 0);
        }
    }

    #[test]
    fn newline_search_finds_the_first_at_any_position() {
        for len in 0..40 {
            for at in 0..len {
                let mut v = vec![b'x'; len];
                v[at] = b'\n';
                if at + 3 < len {
                    v[at + 3] = b'\n';
                }
                v.iter_mut().take(at).step_by(5).for_each(|b| *b = 0x8a);
                assert_eq!(find_newline(&v), Some(at), "len {len} at {at}");
            }
            assert_eq!(find_newline(&vec![b'y'; len]), None);
        }
    }

    #[test]
    fn lines_longer_than_the_buffer_are_skipped_and_counted() {
        let long = "x".repeat(100);
        let data = format!("ok 1\n{long}\nok 2\n{long}");
        let (out, st) = lines(data.as_bytes(), 7, 16);
        assert_eq!(out, ["ok 1", "ok 2"]);
        assert_eq!(st.overlong, 2, "the unterminated last one counts too");
    }
}

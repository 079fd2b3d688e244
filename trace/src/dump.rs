//! The dump: outstanding allocations grouped by call site, plus `/proc/self/maps`, written
//! as text to `DIR/<pid>.<instance>.<seq>.kleak-trace` (written beside it and renamed, so a
//! reader never sees half a dump).
//!
//! ```text
//! # kleak-trace dump 1
//! pid 4242
//! ...header: one `key value` per line...
//! --- sites address count bytes oldest_secs
//! 0x55d0c0a01234 100 10000 12.345
//! --- maps
//! ...the process's /proc/self/maps, verbatim...
//! --- end
//! ```
//!
//! Grouping happens in a fixed table of [`MAX_SITES`] sites in the library's own static
//! memory; sites past its capacity are folded into one line for address `0x0`. Only one
//! dump runs at a time: a request that finds one running (a signal during an interval
//! dump) marks itself pending and the running dump writes once more when it is done.

use crate::fmt::{Buf, Millis};
use crate::sys::{self, Fd};
use crate::table::{Entry, Table, SLOT_BYTES};
use core::cell::UnsafeCell;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering::*};

/// The dump format's version, on its first line.
pub const VERSION: u32 = 1;
/// Distinct call sites a dump groups (it uses at most three quarters of them).
pub const MAX_SITES: usize = 8192;
/// Bytes of the buffer a dump is written through.
const WRITE_BUF: usize = 16 * 1024;

/// Why a dump was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// SIGUSR2.
    Signal,
    /// `KLEAK_TRACE_INTERVAL` passed.
    Interval,
    /// The process is exiting.
    Exit,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::Signal => "signal",
            Reason::Interval => "interval",
            Reason::Exit => "exit",
        }
    }
}

/// Outstanding allocations of one call site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Site {
    /// Return address in the allocating function (0: sites past the table's capacity).
    pub site: usize,
    /// Live allocations.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Time of the oldest, coarse monotonic milliseconds.
    pub oldest_ms: u64,
}

/// The grouping table.
pub struct Sites {
    slots: [Site; MAX_SITES],
    used: usize,
    /// Sites that did not fit, folded together (site 0).
    folded: Site,
    /// How many distinct sites were folded.
    pub folded_sites: u64,
}

impl Sites {
    /// An empty table.
    pub const fn new() -> Sites {
        Sites {
            slots: [Site { site: 0, count: 0, bytes: 0, oldest_ms: 0 }; MAX_SITES],
            used: 0,
            // All zero, so the static scratch costs no file space (.bss, not .data).
            folded: Site { site: 0, count: 0, bytes: 0, oldest_ms: 0 },
            folded_sites: 0,
        }
    }

    fn clear(&mut self) {
        *self = Sites::new();
    }

    /// Adds one live allocation to its site.
    pub fn add(&mut self, e: &Entry) {
        let mask = MAX_SITES - 1;
        let mut i = ((e.site as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 51) as usize & mask;
        loop {
            let s = &mut self.slots[i];
            if s.count == 0 {
                if self.used >= MAX_SITES / 4 * 3 {
                    self.folded_sites += 1;
                    merge(&mut self.folded, e);
                    return;
                }
                *s = Site { site: e.site, count: 0, bytes: 0, oldest_ms: 0 };
                self.used += 1;
            }
            if s.site == e.site {
                merge(s, e);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// The sites, most bytes first (the folded ones last).
    pub fn sorted(&mut self) -> &[Site] {
        let mut n = 0;
        for i in 0..MAX_SITES {
            if self.slots[i].count > 0 {
                self.slots[n] = self.slots[i];
                n += 1;
            }
        }
        self.slots[..n].sort_unstable_by(|a, b| b.bytes.cmp(&a.bytes).then(a.site.cmp(&b.site)));
        if self.folded.count > 0 && n < MAX_SITES {
            self.slots[n] = self.folded;
            n += 1;
        }
        // The slots are no longer a hash table: clear() must run before the next add().
        self.used = MAX_SITES;
        &self.slots[..n]
    }
}

impl Default for Sites {
    fn default() -> Self {
        Sites::new()
    }
}

fn merge(s: &mut Site, e: &Entry) {
    s.oldest_ms = if s.count == 0 { e.time_ms } else { s.oldest_ms.min(e.time_ms) };
    s.count += 1;
    s.bytes += e.size as u64;
}

/// What a dump says about the process, besides the table.
pub struct Header<'a> {
    /// Process id.
    pub pid: u32,
    /// Tells apart two programs run one after the other by `exec` in the same process.
    pub instance: u64,
    /// Dump number within this instance, from 0.
    pub seq: u64,
    /// Why this dump.
    pub reason: Reason,
    /// Path of the executable.
    pub exe: &'a [u8],
    /// Arguments, space separated.
    pub cmdline: &'a [u8],
    /// Field 22 of /proc/self/stat (clock ticks after boot): tells a live process from a
    /// new one that got the same PID.
    pub starttime: u64,
    /// Wall time, ns since the epoch.
    pub realtime_ns: u64,
    /// Coarse monotonic time now, ms (ages are measured against it).
    pub now_ms: u64,
    /// Is tracing on (SIGUSR1 toggles it)?
    pub enabled: bool,
}

/// Writes the header and the sites section; returns the number of shards read without
/// their lock.
pub fn write_sites(out: &mut impl Write, h: &Header<'_>, table: &Table, sites: &mut Sites, wait: bool) -> usize {
    sites.clear();
    let (mut live, mut bytes) = (0u64, 0u64);
    let inexact = table.for_each(wait, |e| {
        live += 1;
        bytes += e.size as u64;
        sites.add(&e);
    });
    let folded = sites.folded_sites;
    let sorted = sites.sorted();
    let _ = write!(
        out,
        "# kleak-trace dump {VERSION}\npid {}\ninstance {}\nseq {}\nreason {}\n",
        h.pid,
        h.instance,
        h.seq,
        h.reason.as_str()
    );
    let _ = out.write_str("exe ");
    write_text(out, h.exe);
    let _ = out.write_str("\ncmdline ");
    write_text(out, h.cmdline);
    let _ = write!(
        out,
        "\nstarttime {}\nrealtime {}.{:03}\nmonotonic {}\ntracing {}\nslots {}\nslot_bytes {SLOT_BYTES}\n",
        h.starttime,
        h.realtime_ns / 1_000_000_000,
        h.realtime_ns / 1_000_000 % 1000,
        Millis(h.now_ms),
        if h.enabled { "on" } else { "off" },
        table.capacity(),
    );
    let _ = write!(
        out,
        "live_allocs {live}\nlive_bytes {bytes}\nuntracked_allocs {}\nuntracked_bytes {}\nunknown_frees {}\nsites {}\nsites_folded {folded}\ninexact_shards {inexact}\n",
        table.untracked.load(Relaxed),
        table.untracked_bytes.load(Relaxed),
        table.unknown_frees.load(Relaxed),
        sorted.len(),
    );
    let _ = out.write_str("--- sites address count bytes oldest_secs\n");
    for s in sorted {
        let age = h.now_ms.saturating_sub(s.oldest_ms);
        let _ = writeln!(out, "{:#x} {} {} {}", s.site, s.count, s.bytes, Millis(age));
    }
    inexact
}

/// Writes bytes as one line of text: control bytes (a newline in an argument) become `?`.
fn write_text(out: &mut impl Write, b: &[u8]) {
    for chunk in b.chunks(64) {
        let mut clean = [0u8; 64];
        for (d, &s) in clean.iter_mut().zip(chunk) {
            *d = if s < 0x20 || s == 0x7f { b'?' } else { s };
        }
        let _ = out.write_str(core::str::from_utf8(&clean[..chunk.len()]).unwrap_or("?"));
    }
}

/// Buffered writes to a file; remembers a failed write.
struct FileOut<'a> {
    fd: &'a Fd,
    buf: &'a mut [u8],
    len: usize,
    ok: bool,
}

impl FileOut<'_> {
    fn flush(&mut self) {
        if self.len > 0 {
            self.ok &= self.fd.write_all(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl Write for FileOut<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut b = s.as_bytes();
        while !b.is_empty() {
            if self.len == self.buf.len() {
                self.flush();
            }
            let n = b.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
            self.len += n;
            b = &b[n..];
        }
        Ok(())
    }
}

struct Scratch {
    sites: Sites,
    buf: [u8; WRITE_BUF],
}

struct ScratchCell(UnsafeCell<Scratch>);

// SAFETY: the scratch is only reached through `Dumping`, which exists once at a time
// (the DUMPING flag below).
#[allow(unsafe_code)]
unsafe impl Sync for ScratchCell {}

static SCRATCH: ScratchCell = ScratchCell(UnsafeCell::new(Scratch { sites: Sites::new(), buf: [0; WRITE_BUF] }));
static DUMPING: AtomicBool = AtomicBool::new(false);
static PENDING: AtomicBool = AtomicBool::new(false);

/// The right to write a dump: only one exists at a time.
struct Dumping;

impl Dumping {
    fn try_take() -> Option<Dumping> {
        DUMPING.compare_exchange(false, true, Acquire, Relaxed).is_ok().then_some(Dumping)
    }

    #[allow(unsafe_code)]
    fn scratch(&mut self) -> &mut Scratch {
        // SAFETY: only one Dumping exists at a time (DUMPING was false and we set it), and
        // the borrow is tied to it, so this is the only reference to the scratch.
        unsafe { &mut *SCRATCH.0.get() }
    }
}

impl Drop for Dumping {
    fn drop(&mut self) {
        DUMPING.store(false, Release);
    }
}

/// Holds off dumps across `fork` (so the child never inherits a dump half-written).
pub fn block() {
    while DUMPING.compare_exchange(false, true, Acquire, Relaxed).is_err() {
        sys::yield_now();
    }
}

/// Lets dumps run again after [`block`].
pub fn unblock() {
    DUMPING.store(false, Release);
}

/// Where and as whom to write.
pub struct Target<'a> {
    /// The dump directory.
    pub dir: &'a [u8],
    /// Dumps kept per process; 0 = all.
    pub keep: u64,
}

/// Writes a dump now. If another is being written, an interval or signal dump is marked
/// pending (the running dump writes once more), and the exit dump waits its turn (up to
/// about a second). A signal dump never waits for a table lock: shards whose lock is held
/// (perhaps by the very thread the signal interrupted) are read without it.
/// `facts` gives (pid, instance, seq, reason, tracing on) for each file written.
pub fn dump(t: &Target<'_>, table: &Table, reason: Reason, mut facts: impl FnMut() -> (u32, u64, u64, Reason, bool)) {
    let mut taken = Dumping::try_take();
    if reason == Reason::Exit {
        for _ in 0..10_000 {
            if taken.is_some() {
                break;
            }
            sys::yield_now();
            taken = Dumping::try_take();
        }
    }
    let Some(mut d) = taken else {
        PENDING.store(true, Relaxed);
        return;
    };
    let wait = reason != Reason::Signal;
    loop {
        write_file(t, table, wait, facts(), d.scratch());
        if !PENDING.swap(false, Relaxed) {
            break;
        }
    }
}

/// The file name of dump `seq` of (pid, instance) in `dir`, plus `suffix`.
fn name(dir: &[u8], pid: u32, instance: u64, seq: u64, suffix: &str) -> Buf<256> {
    let mut p = Buf::<256>::new();
    p.push(dir);
    let _ = write!(p, "/{pid}.{instance}.{seq}.kleak-trace{suffix}");
    p
}

fn write_file(t: &Target<'_>, table: &Table, wait: bool, facts: (u32, u64, u64, Reason, bool), s: &mut Scratch) {
    let (pid, instance, seq, reason, enabled) = facts;
    let mut dir = Buf::<256>::new();
    dir.push(t.dir);
    sys::mkdir(dir.as_cstr());
    let mut tmp = name(t.dir, pid, instance, seq, ".tmp");
    let Some(fd) = Fd::create(tmp.as_cstr()) else { return };

    let mut exe = [0u8; 256];
    let exe_len = sys::readlink(c"/proc/self/exe", &mut exe);
    let mut cmdline = [0u8; 256];
    let cmd_len = read_small(c"/proc/self/cmdline", &mut cmdline);
    for b in &mut cmdline[..cmd_len] {
        if *b == 0 {
            *b = b' ';
        }
    }
    let mut stat = [0u8; 1024];
    let stat_len = read_small(c"/proc/self/stat", &mut stat);
    let h = Header {
        pid,
        instance,
        seq,
        reason,
        exe: &exe[..exe_len],
        cmdline: trim_end(&cmdline[..cmd_len]),
        starttime: starttime(&stat[..stat_len]).unwrap_or(0),
        realtime_ns: sys::realtime_ns(),
        now_ms: sys::coarse_ms(),
        enabled,
    };
    let mut out = FileOut { fd: &fd, buf: &mut s.buf, len: 0, ok: true };
    write_sites(&mut out, &h, table, &mut s.sites, wait);
    let _ = out.write_str("--- maps\n");
    out.flush();
    if let Some(maps) = Fd::open_read(c"/proc/self/maps") {
        let mut ends_with_newline = true;
        loop {
            let n = maps.read(out.buf);
            if n == 0 {
                break;
            }
            ends_with_newline = out.buf[n - 1] == b'\n';
            out.ok &= fd.write_all(&out.buf[..n]);
        }
        if !ends_with_newline {
            let _ = out.write_str("\n");
        }
    }
    let _ = out.write_str("--- end\n");
    out.flush();
    let ok = out.ok;
    drop(fd);
    let mut fin = name(t.dir, pid, instance, seq, "");
    if !ok || !sys::rename(tmp.as_cstr(), fin.as_cstr()) {
        sys::unlink(tmp.as_cstr());
        return;
    }
    if t.keep > 0 && seq >= t.keep {
        sys::unlink(name(t.dir, pid, instance, seq - t.keep, "").as_cstr());
    }
}

fn read_small(path: &core::ffi::CStr, buf: &mut [u8]) -> usize {
    let Some(fd) = Fd::open_read(path) else { return 0 };
    let mut len = 0;
    while len < buf.len() {
        let n = fd.read(&mut buf[len..]);
        if n == 0 {
            break;
        }
        len += n;
    }
    len
}

fn trim_end(b: &[u8]) -> &[u8] {
    let n = b.iter().rposition(|&c| c != b' ').map_or(0, |p| p + 1);
    &b[..n]
}

/// Field 22 of /proc/PID/stat: the 20th field after the `)` that ends the command name.
pub fn starttime(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let field = stat[close + 1..].split(|&b| b == b' ').filter(|f| !f.is_empty()).nth(19)?;
    crate::fmt::parse_u64(field)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::table::Slot;

    #[test]
    fn starttime_is_field_22_even_with_spaces_and_parens_in_the_name() {
        let stat =
            b"4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615";
        assert_eq!(starttime(stat), Some(987654));
        assert_eq!(starttime(b"garbage"), None);
    }

    #[test]
    fn sites_group_sort_and_fold() {
        let mut s = Box::new(Sites::new());
        for i in 0..10u64 {
            s.add(&Entry { ptr: 16 * (i as usize + 1), size: 100, site: 0x1234, time_ms: 50 + i });
        }
        s.add(&Entry { ptr: 4096, size: 5000, site: 0x9999, time_ms: 70 });
        let v = s.sorted().to_vec();
        assert_eq!(v[0], Site { site: 0x9999, count: 1, bytes: 5000, oldest_ms: 70 });
        assert_eq!(v[1], Site { site: 0x1234, count: 10, bytes: 1000, oldest_ms: 50 });
        s.clear();
        for i in 0..MAX_SITES {
            s.add(&Entry { ptr: 16, size: 1, site: i + 1, time_ms: 1 });
        }
        let folded = s.folded_sites;
        assert_eq!(folded, (MAX_SITES - MAX_SITES / 4 * 3) as u64);
        let v = s.sorted();
        assert_eq!(v.last().unwrap().site, 0);
        assert_eq!(v.last().unwrap().count, folded);
    }

    #[test]
    fn a_dump_is_self_describing_text() {
        let t: &'static Table = Box::leak(Box::new(Table::new()));
        let mem: &'static [Slot] =
            Box::leak((0..crate::table::MIN_SLOTS).map(|_| Slot::default()).collect::<Vec<_>>().into_boxed_slice());
        t.attach(mem);
        t.insert(Entry { ptr: 0x1000, size: 64, site: 0x4011aa, time_ms: 1000 });
        t.insert(Entry { ptr: 0x2000, size: 64, site: 0x4011aa, time_ms: 2500 });
        t.insert(Entry { ptr: 0x3000, size: 10, site: 0x4022bb, time_ms: 3000 });
        let h = Header {
            pid: 42,
            instance: 7,
            seq: 0,
            reason: Reason::Exit,
            exe: b"/bin/x",
            cmdline: b"x --a\nb",
            starttime: 99,
            realtime_ns: 1_700_000_000_123_000_000,
            now_ms: 4000,
            enabled: true,
        };
        let mut out = String::new();
        write_sites(&mut out, &h, t, &mut Box::new(Sites::new()), true);
        let expected = format!(
            "# kleak-trace dump 1\npid 42\ninstance 7\nseq 0\nreason exit\nexe /bin/x\ncmdline x --a?b\nstarttime 99\n\
             realtime 1700000000.123\nmonotonic 4.000\ntracing on\nslots {}\nslot_bytes 32\nlive_allocs 3\nlive_bytes 138\n\
             untracked_allocs 0\nuntracked_bytes 0\nunknown_frees 0\nsites 2\nsites_folded 0\ninexact_shards 0\n\
             --- sites address count bytes oldest_secs\n0x4011aa 2 128 3.000\n0x4022bb 1 10 1.000\n",
            crate::table::MIN_SLOTS
        );
        assert_eq!(out, expected);
    }
}

//! The allocation log the tracer keeps when asked (`kleak trace --events FILE`): a ring of
//! fixed 48-byte records in a file (layout in `trace/src/events.rs`, which writes it).
//! Read oldest first; a record whose sequence number is not the one its slot should hold
//! (being written, or overwritten while we read a live log) is skipped and counted.

use crate::arg::Arg;
use crate::elf::{u32_at, u64_at};
use crate::sys::{self, Mode};
use crate::Error;

const MAGIC: &[u8; 8] = b"KLEAKEV1";
const VERSION: u32 = 1;
const HEADER_BYTES: u64 = 4096;
const RECORD_BYTES: usize = 48;
/// The ring sizes the library makes (trace/src/events.rs).
const MIN_RECORDS: u64 = 64;
const MAX_RECORDS: u64 = 1 << 24;
/// Records read per `pread`.
const CHUNK: usize = 1024;

/// The log's header.
pub(crate) struct Header {
    /// Records the ring holds.
    pub(crate) capacity: u64,
    /// Records ever written (the oldest `head - capacity` were overwritten).
    pub(crate) head: u64,
    /// The traced process.
    pub(crate) pid: u32,
    /// Its exec instance (as in its dumps' names).
    pub(crate) instance: u64,
    /// Its dump directory.
    pub(crate) dir: Arg,
    /// Wall clock minus the coarse monotonic clock at its start, ms: a record's time
    /// (monotonic) plus this is its wall time.
    pub(crate) wall_offset_ms: i64,
}

/// What one record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// Wall clock, ms since the epoch.
    pub(crate) time_ms: u64,
    /// 1 malloc, 2 calloc, 3 realloc, 4 free, 5–8 the aligned allocators.
    pub(crate) kind: u8,
    /// Bytes asked for (0 for free).
    pub(crate) size: u64,
    /// The block returned (or freed).
    pub(crate) ptr: u64,
    /// The block a realloc replaced (0 otherwise).
    pub(crate) prev: u64,
    /// The caller's return address.
    pub(crate) site: u64,
}

/// The free event's kind.
pub(crate) const FREE: u8 = 4;
/// The realloc event's kind.
pub(crate) const REALLOC: u8 = 3;

/// The name a kind prints as.
pub(crate) fn kind_name(kind: u8) -> &'static str {
    match kind {
        1 => "MALLOC",
        2 => "CALLOC",
        REALLOC => "REALLOC",
        FREE => "FREE",
        5 => "POSIX_MEMALIGN",
        6 => "ALIGNED_ALLOC",
        7 => "MEMALIGN",
        8 => "VALLOC",
        _ => "?",
    }
}

/// An open log.
pub(crate) struct Log {
    file: sys::File,
    /// Its header.
    pub(crate) h: Header,
}

/// Opens the log at `path` and reads its header.
pub(crate) fn open(path: &Arg) -> Result<Log, Error> {
    let file = sys::File::open(&[path.as_bytes()], Mode::Read).map_err(|e| Error::env(format_args!("{path}: {e}")))?;
    let mut b = [0u8; 320];
    let n = file.pread(&mut b, 0).unwrap_or(0);
    if n < b.len() || &b[..8] != MAGIC {
        return Err(Error::usage(format_args!("{path}: not a kleak allocation log (made by `kleak trace --events`)")));
    }
    if u32_at(&b, 8) != VERSION || u32_at(&b, 12) as usize != RECORD_BYTES {
        return Err(Error::usage(format_args!(
            "{path}: allocation log format {} is not one this kleak reads",
            u32_at(&b, 8)
        )));
    }
    let dir = &b[64..320];
    let dir = &dir[..dir.iter().position(|&c| c == 0).unwrap_or(dir.len())];
    let h = Header {
        capacity: u64_at(&b, 16),
        pid: u32_at(&b, 24),
        instance: u64_at(&b, 32),
        head: u64_at(&b, 40),
        dir: Arg(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(dir).to_owned()),
        wall_offset_ms: (u64_at(&b, 48) / 1_000_000) as i64 - (u64_at(&b, 56) / 1_000_000) as i64,
    };
    // The library makes rings of 64 to 2^24 records; anything else is not its file.
    if !(MIN_RECORDS..=MAX_RECORDS).contains(&h.capacity) {
        return Err(Error::usage(format_args!("{path}: a damaged allocation log ({} records)", h.capacity)));
    }
    Ok(Log { file, h })
}

impl Log {
    /// Calls `each` for every whole record, oldest first; returns the records skipped
    /// (written or overwritten while read, or cut off by a short file).
    pub(crate) fn read(&self, mut each: impl FnMut(&Event)) -> u64 {
        let (cap, head) = (self.h.capacity, self.h.head);
        let mut buf = vec![0u8; CHUNK * RECORD_BYTES];
        let mut skipped = 0;
        let mut i = head.saturating_sub(cap);
        while i < head {
            let slot = i % cap;
            let n = (CHUNK as u64).min(head - i).min(cap - slot) as usize;
            let want = &mut buf[..n * RECORD_BYTES];
            let got = read_full(&self.file, want, HEADER_BYTES + slot * RECORD_BYTES as u64);
            for k in 0..n {
                let r = &want[k * RECORD_BYTES..(k + 1) * RECORD_BYTES];
                if (k + 1) * RECORD_BYTES > got || u64_at(r, 0) != i + k as u64 + 1 {
                    skipped += 1;
                    continue;
                }
                let ks = u64_at(r, 16);
                each(&Event {
                    time_ms: (u64_at(r, 8) as i64).saturating_add(self.h.wall_offset_ms).max(0) as u64,
                    kind: (ks >> 56) as u8,
                    size: ks & ((1 << 56) - 1),
                    ptr: u64_at(r, 24),
                    prev: u64_at(r, 32),
                    site: u64_at(r, 40),
                });
            }
            i += n as u64;
        }
        skipped
    }
}

fn read_full(f: &sys::File, buf: &mut [u8], off: u64) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match f.pread(&mut buf[got..], off + got as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}

/// Follows the block `ptr` through its reallocs: true for each event of the chain that
/// starts with the first allocation that returned `ptr` (or the first event naming it)
/// and ends with the free of its last pointer.
pub(crate) struct Chain {
    cur: u64,
    started: bool,
    ended: bool,
}

impl Chain {
    /// A chain that starts at `ptr`.
    pub(crate) fn new(ptr: u64) -> Self {
        Chain { cur: ptr, started: false, ended: false }
    }

    /// Is `e` part of the chain? Call in log order.
    pub(crate) fn step(&mut self, e: &Event) -> bool {
        if self.ended {
            return false;
        }
        if e.kind == REALLOC && e.prev == self.cur && e.prev != 0 {
            self.started = true;
            self.cur = e.ptr;
            return true;
        }
        if e.ptr != self.cur {
            return false;
        }
        self.started = true;
        if e.kind == FREE {
            self.ended = true;
        }
        true
    }

    /// True once the chain's last block was freed.
    pub(crate) fn freed(&self) -> bool {
        self.ended
    }

    /// True once an event named the block.
    pub(crate) fn seen(&self) -> bool {
        self.started
    }
}

/// The events a report prints, and the call sites to name.
pub(crate) struct Selection {
    /// Every event of the log, or of the block's chain, oldest first.
    pub(crate) events: Vec<Event>,
    /// Their distinct call sites, sorted, at most the `max_sites` lowest (the rest print
    /// as addresses).
    pub(crate) sites: Vec<u64>,
    /// The chain followed (`--ptr`).
    pub(crate) chain: Option<Chain>,
    /// Records skipped (see [`Log::read`]).
    pub(crate) skipped: u64,
}

/// Reads `log`: all of it, or the chain of the block `ptr`.
pub(crate) fn select(log: &Log, ptr: Option<u64>, max_sites: usize) -> Selection {
    let mut chain = ptr.map(Chain::new);
    let mut events: Vec<Event> = Vec::new();
    let skipped = log.read(|e| {
        if chain.as_mut().is_none_or(|c| c.step(e)) {
            events.push(*e);
        }
    });
    let mut sites: Vec<u64> = events.iter().map(|e| e.site).collect();
    crate::table::sort_by_key(&mut sites, |&s| s);
    sites.dedup();
    sites.truncate(max_sites);
    Selection { events, sites, chain, skipped }
}

#[cfg(test)]
mod test {
    use super::*;

    fn ev(kind: u8, ptr: u64, prev: u64) -> Event {
        Event { time_ms: 0, kind, size: 1, ptr, prev, site: 0 }
    }

    #[test]
    fn a_chain_follows_reallocs_to_the_free_and_ignores_reuse_after_it() {
        let log = [
            ev(1, 0x10, 0),
            ev(1, 0x20, 0),
            ev(REALLOC, 0x30, 0x10),
            ev(FREE, 0x20, 0),
            ev(REALLOC, 0x30, 0x30),
            ev(FREE, 0x30, 0),
            ev(1, 0x10, 0),
        ];
        let mut c = Chain::new(0x10);
        let picked: Vec<usize> = (0..log.len()).filter(|&i| c.step(&log[i])).collect();
        assert_eq!(picked, [0, 2, 4, 5]);
        assert!(c.freed() && c.seen());
    }

    /// A log as the library writes it: header, then `n` records of `cap` written, the
    /// file cut after `keep` records.
    fn log_file(dir: &crate::tempdir::TempDir, cap: u64, n: u64, keep: usize) -> Arg {
        let mut b = vec![0u8; HEADER_BYTES as usize];
        b[..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&(RECORD_BYTES as u32).to_le_bytes());
        b[16..24].copy_from_slice(&cap.to_le_bytes());
        b[24..28].copy_from_slice(&42u32.to_le_bytes());
        b[40..48].copy_from_slice(&n.to_le_bytes());
        b[64..68].copy_from_slice(b"/tmp");
        for i in 0..n.min(cap).min(4096) {
            let mut r = [0u8; RECORD_BYTES];
            r[..8].copy_from_slice(&(i + 1).to_le_bytes());
            r[16..24].copy_from_slice(&(1u64 << 56 | 100).to_le_bytes());
            r[24..32].copy_from_slice(&(0x1000 + i).to_le_bytes());
            b.extend_from_slice(&r);
        }
        b.truncate(HEADER_BYTES as usize + keep * RECORD_BYTES);
        let path = dir.join("ev");
        std::fs::write(&path, b).unwrap();
        Arg::from(path.to_str().unwrap())
    }

    #[test]
    #[cfg_attr(miri, ignore = "writes a log file, which miri's isolation refuses")]
    fn a_cut_log_reads_what_it_has_and_counts_the_rest() {
        let dir = crate::tempdir::TempDir::new("events-cut");
        let log = open(&log_file(&dir, 64, 50, 10)).unwrap();
        assert_eq!((log.h.pid, log.h.head, log.h.dir.to_string()), (42, 50, "/tmp".to_string()));
        let mut ptrs = vec![];
        let skipped = log.read(|e| ptrs.push(e.ptr));
        assert_eq!((ptrs.len(), skipped), (10, 40));
        assert_eq!(ptrs[9], 0x1009);
        // A capacity the library never makes: refused, not looped over.
        let bad = log_file(&dir, 1 << 40, u64::MAX, 0);
        assert!(open(&bad).err().is_some_and(|e| e.msg.contains("damaged")));
    }
}

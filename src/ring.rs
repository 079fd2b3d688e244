//! The ring log: a fixed-size file that survives power cuts.
//!
//! Boards run for days, lose power and have small flash. The file is created at its full
//! size and never grows; records are written whole, each with one `pwrite`, one after the
//! other, wrapping to the start when the next one does not fit. fsync happens when a caller
//! asks (after alerts, and every few seconds), not per record: flash wears.
//!
//! ```text
//! record (8-byte aligned):
//!   0  magic    "KLK1"
//!   4  version  u8 (1)
//!   5  kind     u8 (Kind)
//!   6  len      u16, payload bytes
//!   8  seq      u64, 1, 2, 3, … across reopenings
//!  16  realtime u64, ms since the epoch (CLOCK_REALTIME; boards without an RTC say 1970)
//!  24  uptime   u64, ms since boot (CLOCK_MONOTONIC)
//!  32  crc      u32, CRC-32 (IEEE) of bytes 0..32 and the payload
//!  36  payload  len bytes: one JSON object, as `--json` prints it
//! ```
//!
//! Reading never trusts the file: every 8-byte offset that starts with the magic is a
//! candidate, kept only if its length fits and its CRC matches. A record cut short by a
//! power cut or a kill, or half overwritten by the wrap, fails its CRC and is counted as
//! torn; zeroed blocks have no magic.
//!
//! Reading costs the same whatever the ring's size: [`Walker`] reads the file through one
//! 64 KiB window. The writer wraps in file order, so the oldest record is the one after the
//! newest: [`read_in_order`] finds the newest in one pass and reads from there to the end
//! of the file and from its start, in `seq` order, skipping leftovers of earlier laps.

use crate::sample::ReadAt;
use crate::sys::{self, Errno, File, Mode};

/// First bytes of every record.
pub const MAGIC: [u8; 4] = *b"KLK1";
/// Record format version.
pub const VERSION: u8 = 1;
/// Bytes before the payload.
pub const HEADER: usize = 36;
/// Largest payload of one record ([`crate::limits::RING_PAYLOAD_BYTES`]).
pub const MAX_PAYLOAD: usize = crate::limits::RING_PAYLOAD_BYTES;
/// Smallest ring kleak creates.
pub const MIN_SIZE: u64 = 4096;

/// What a record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// kleak started writing (payload: command line, version).
    Start = 1,
    /// kleak stopped (payload: why, samples).
    Stop = 2,
    /// A leak alert.
    Alert = 3,
    /// A kmemleak group.
    Group = 4,
    /// A periodic compact sample: totals and top movers.
    Sample = 5,
    /// The kernel's OOM report or unreclaimable-slab dump, copied from /dev/kmsg.
    Oom = 6,
    /// Anything else worth keeping (a warning).
    Note = 7,
}

impl Kind {
    /// The kind of byte `b`, if it is one.
    pub fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Start,
            2 => Kind::Stop,
            3 => Kind::Alert,
            4 => Kind::Group,
            5 => Kind::Sample,
            6 => Kind::Oom,
            7 => Kind::Note,
            _ => return None,
        })
    }

    /// Its name in output.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::Stop => "stop",
            Kind::Alert => "alert",
            Kind::Group => "leak-group",
            Kind::Sample => "sample",
            Kind::Oom => "oom",
            Kind::Note => "note",
        }
    }
}

const fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 (IEEE 802.3, as zlib and Ethernet) of `parts`, in order.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    parts.iter().fold(0, |c, p| crc32_update(c, p))
}

/// Continues a CRC-32 (start from 0) over more bytes: for data that comes in pieces
/// (gzip's trailer, [`crate::inflate`]).
pub fn crc32_update(crc: u32, bytes: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in bytes {
        c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// Bytes a record with `len` payload bytes takes in the file.
pub fn footprint(len: usize) -> u64 {
    ((HEADER + len + 7) & !7) as u64
}

/// A record as read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHead {
    /// Sequence number.
    pub seq: u64,
    /// Kind.
    pub kind: Kind,
    /// Wall-clock time, ms since the epoch.
    pub realtime_ms: u64,
    /// Time since boot, ms.
    pub uptime_ms: u64,
    /// Where the record starts in the file.
    pub offset: u64,
    /// Payload bytes.
    pub len: u16,
}

/// Checks the record that may start at `buf[0]`; `None` if there is no magic, `Some(Err)`
/// for a torn record, `Some(Ok)` for an intact one.
pub fn check(buf: &[u8], offset: u64) -> Option<Result<RecordHead, ()>> {
    if buf.len() < HEADER || buf[..4] != MAGIC {
        return None;
    }
    let len = u16::from_le_bytes([buf[6], buf[7]]) as usize;
    if buf[4] != VERSION || len > MAX_PAYLOAD || HEADER + len > buf.len() {
        return Some(Err(()));
    }
    let u64_at = |i: usize| u64::from_le_bytes(buf[i..i + 8].try_into().unwrap_or([0; 8]));
    let crc = u32::from_le_bytes([buf[32], buf[33], buf[34], buf[35]]);
    if crc != crc32(&[&buf[..32], &buf[HEADER..HEADER + len]]) {
        return Some(Err(()));
    }
    let Some(kind) = Kind::from_u8(buf[5]) else { return Some(Err(())) };
    Some(Ok(RecordHead {
        seq: u64_at(8),
        kind,
        realtime_ms: u64_at(16),
        uptime_ms: u64_at(24),
        offset,
        len: len as u16,
    }))
}

/// Bytes of a ring read at once by [`Walker`] (plus one largest record, so a record that
/// starts in a window ends in it): reading a ring costs this much memory whatever its size.
pub const WINDOW_BYTES: usize = 64 * 1024;

/// Bytes of the largest record in the file.
pub const MAX_FOOTPRINT: usize = (HEADER + MAX_PAYLOAD + 7) & !7;

/// Reads a ring's records in file order through one fixed buffer.
pub struct Walker {
    buf: Vec<u8>,
    /// Records with a magic but a bad length or CRC seen (torn by a kill or power cut, or
    /// half overwritten by the wrap).
    pub torn: u64,
    /// A byte that is not zero was seen.
    pub nonzero: bool,
}

impl Default for Walker {
    fn default() -> Self {
        Walker { buf: vec![0u8; WINDOW_BYTES + MAX_FOOTPRINT], torn: 0, nonzero: false }
    }
}

impl Walker {
    /// Calls `each(head, payload)` for every intact record that starts in `from..to` of
    /// the ring file `f` of `size` bytes, in file order, until it returns false.
    pub fn walk(
        &mut self,
        f: &mut dyn ReadAt,
        size: u64,
        from: u64,
        to: u64,
        each: &mut dyn FnMut(&RecordHead, &[u8]) -> bool,
    ) -> Result<(), Errno> {
        let mut off = from & !7;
        let to = to.min(size);
        while off < to {
            let want = self.buf.len().min((size - off) as usize);
            let mut n = 0;
            while n < want {
                match f.read_at(&mut self.buf[n..want], off + n as u64) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(Errno::EINTR) => continue,
                    Err(e) => return Err(e),
                }
            }
            let data = &self.buf[..n];
            // Records starting in this window; the next window starts where they end.
            let limit = WINDOW_BYTES.min((to - off) as usize).min(n);
            if limit == 0 {
                break;
            }
            let mut p = 0;
            while p < limit {
                if p + HEADER > n {
                    self.nonzero |= data[p..].iter().any(|&b| b != 0);
                    p = limit;
                    break;
                }
                // Most of a ring is zeros or the middle of records: one word says so.
                let word = &data[p..p + 8];
                if word[..4] != MAGIC {
                    self.nonzero |= word != [0u8; 8];
                    p += 8;
                    continue;
                }
                match check(&data[p..], off + p as u64) {
                    Some(Ok(h)) => {
                        self.nonzero = true;
                        if !each(&h, &data[p + HEADER..p + HEADER + h.len as usize]) {
                            return Ok(());
                        }
                        p += footprint(h.len as usize) as usize;
                    }
                    Some(Err(())) => {
                        self.nonzero = true;
                        self.torn += 1;
                        p += 8;
                    }
                    None => {
                        self.nonzero |= data[p..p + 8].iter().any(|&b| b != 0);
                        p += 8;
                    }
                }
            }
            off += p as u64;
        }
        Ok(())
    }
}

/// What a look at a whole ring found (one pass, constant memory).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Survey {
    /// The newest intact record (highest `seq`).
    pub newest: Option<RecordHead>,
    /// Intact records.
    pub records: u64,
    /// Torn records.
    pub torn: u64,
    /// Size of the file.
    pub size: u64,
    /// No record, torn or intact, and not all zeros: a file that is not a ring log.
    pub foreign: bool,
}

impl Survey {
    /// Where the oldest record is (just after the newest one): reading from here to the
    /// end of the file, then from its start, is reading in the order of writing.
    pub fn oldest_at(&self) -> u64 {
        self.newest.map_or(0, |h| (h.offset + footprint(h.len as usize)) % self.size.max(1))
    }
}

/// Looks at every record of the ring file `f` of `size` bytes once.
pub fn survey(f: &mut dyn ReadAt, size: u64, w: &mut Walker) -> Result<Survey, Errno> {
    let mut s = Survey { size, ..Survey::default() };
    let torn0 = w.torn;
    w.nonzero = false;
    w.walk(f, size, 0, size, &mut |h, _| {
        s.records += 1;
        if s.newest.is_none_or(|n| h.seq > n.seq) {
            s.newest = Some(*h);
        }
        true
    })?;
    s.torn = w.torn - torn0;
    s.foreign = s.records == 0 && s.torn == 0 && w.nonzero;
    Ok(s)
}

/// Calls `each(head, payload)` for the records of the ring file `f`, oldest first, with
/// a `seq` of at least `since`, until it returns false. A record older than the one before
/// it (a leftover of an earlier lap at the end of the file, beyond where the latest lap
/// wrapped) is skipped and counted in `stale`. Constant memory: one pass to find the
/// newest record, one to read in order.
pub fn read_in_order(
    f: &mut dyn ReadAt,
    size: u64,
    w: &mut Walker,
    since: u64,
    stale: &mut u64,
    each: &mut dyn FnMut(&RecordHead, &[u8]) -> bool,
) -> Result<Survey, Errno> {
    let s = survey(f, size, w)?;
    if s.newest.is_none() {
        return Ok(s);
    }
    let start = s.oldest_at();
    let torn0 = w.torn;
    let mut last = 0u64;
    let mut go = true;
    for (from, to) in [(start, s.size), (0, start)] {
        if !go || from >= to {
            continue;
        }
        w.walk(f, s.size, from, to, &mut |h, payload| {
            if h.seq <= last {
                *stale += 1;
                return true;
            }
            last = h.seq;
            if h.seq < since {
                return true;
            }
            go = each(h, payload);
            go
        })?;
    }
    // The survey counted the torn records already.
    w.torn = torn0;
    Ok(s)
}

/// What a scan of a ring found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Intact records, in `seq` order.
    pub records: Vec<RecordHead>,
    /// Records with a magic but a bad length or CRC (torn by a kill or power cut, or
    /// half overwritten by the wrap).
    pub torn: u32,
    /// Size of the file.
    pub size: u64,
    /// No record, torn or intact, and not all zeros: a file that is not a ring log.
    pub foreign: bool,
}

/// Every intact record of the ring at `path`, sorted by `seq` (tests and tools: it keeps
/// a head per record; kleak itself reads with [`read_in_order`]).
pub fn scan(path: impl AsRef<[u8]>) -> Result<Scan, Errno> {
    let mut f = File::open(&[path.as_ref()], Mode::Read)?;
    let size = f.size()?;
    let mut w = Walker::default();
    let mut out = Scan { size, ..Scan::default() };
    w.walk(&mut f, size, 0, size, &mut |h, _| {
        out.records.push(*h);
        true
    })?;
    out.torn = w.torn as u32;
    out.foreign = out.records.is_empty() && out.torn == 0 && w.nonzero;
    crate::table::sort_by(&mut out.records, |a, b| a.seq < b.seq);
    // The same sequence number twice can only be a stale copy: keep the first.
    out.records.dedup_by_key(|r| r.seq);
    Ok(out)
}

/// Reads record `rec` again into `buf` (at least [`HEADER`] + [`MAX_PAYLOAD`] bytes) and
/// returns its payload. A writer may have overwritten it since the scan (a live ring
/// wraps): then it no longer checks and the answer is `ESTALE`.
pub fn payload<'b>(f: &File, rec: &RecordHead, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let len = (HEADER + rec.len as usize).min(buf.len());
    let n = f.pread(&mut buf[..len], rec.offset)?;
    match check(&buf[..n], rec.offset) {
        Some(Ok(h)) if h == *rec => Ok(&buf[HEADER..len]),
        _ => Err(Errno(libc::ESTALE)),
    }
}

/// Writes records into a ring file; see the module documentation.
pub struct Ring {
    file: File,
    size: u64,
    /// Offset of the next record.
    pos: u64,
    /// Sequence number of the next record.
    pub next_seq: u64,
    /// The write error of the latest failed write, if the log is failing (ENOSPC, EIO,
    /// EROFS): alerts go on on the console and writes are retried later.
    pub failing: Option<Errno>,
    /// Records written since opening.
    pub written: u64,
    buf: Vec<u8>,
}

impl Ring {
    /// Opens the ring at `path`, creating it at `size` bytes (never grown afterwards), or
    /// continuing after the newest record of an existing one (whose size is kept). An
    /// existing file that holds something else is refused (`EEXIST`), never overwritten.
    pub fn open(path: impl AsRef<[u8]>, size: u64) -> Result<Ring, Errno> {
        let file = File::open(&[path.as_ref()], Mode::ReadWriteCreate)?;
        let mut have = file.size()?;
        if have == 0 {
            // Full size now, with zeros on disk: a later write cannot run out of space.
            let size = size.max(MIN_SIZE);
            let zeros = [0u8; 4096];
            let mut off = 0;
            while off < size {
                let n = zeros.len().min((size - off) as usize);
                if let Err(e) = file.pwrite_all(&zeros[..n], off).and_then(|()| {
                    off += n as u64;
                    if off == size {
                        file.datasync()
                    } else {
                        Ok(())
                    }
                }) {
                    // No half-made ring: the next try starts from an empty file again.
                    let _ = file.set_len(0);
                    return Err(e);
                }
            }
            have = size;
        }
        let mut file = file;
        let found = survey(&mut file, have, &mut Walker::default())?;
        if found.foreign {
            return Err(Errno(libc::EEXIST));
        }
        let (pos, next_seq) = match found.newest {
            Some(last) => (last.offset + footprint(last.len as usize), last.seq + 1),
            None => (0, 1),
        };
        Ok(Ring {
            file,
            size: have,
            pos: pos % have,
            next_seq,
            failing: None,
            written: 0,
            buf: vec![0u8; HEADER + MAX_PAYLOAD + 8],
        })
    }

    /// Size of the ring file.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one record with `payload` (cut at [`MAX_PAYLOAD`]). On a write error the
    /// record is lost, [`Ring::failing`] says why, and the next append tries again.
    pub fn append(&mut self, kind: Kind, payload: &[u8]) -> Result<u64, Errno> {
        let payload = &payload[..payload.len().min(MAX_PAYLOAD)];
        let total = footprint(payload.len());
        if total > self.size {
            return Err(Errno(libc::EFBIG));
        }
        if self.pos + total > self.size {
            self.pos = 0;
        }
        let seq = self.next_seq;
        let b = &mut self.buf;
        b[..4].copy_from_slice(&MAGIC);
        b[4] = VERSION;
        b[5] = kind as u8;
        b[6..8].copy_from_slice(&(payload.len() as u16).to_le_bytes());
        b[8..16].copy_from_slice(&seq.to_le_bytes());
        b[16..24].copy_from_slice(&((sys::realtime_secs() * 1000.0) as u64).to_le_bytes());
        b[24..32].copy_from_slice(&((sys::monotonic_secs() * 1000.0) as u64).to_le_bytes());
        b[HEADER..HEADER + payload.len()].copy_from_slice(payload);
        let crc = crc32(&[&b[..32], payload]);
        b[32..36].copy_from_slice(&crc.to_le_bytes());
        let end = total as usize;
        b[HEADER + payload.len()..end].fill(0);
        match self.file.pwrite_all(&b[..end], self.pos) {
            Ok(()) => {
                self.failing = None;
                self.pos = (self.pos + total) % self.size;
                self.next_seq += 1;
                self.written += 1;
                Ok(seq)
            }
            Err(e) => {
                self.failing = Some(e);
                Err(e)
            }
        }
    }

    /// Flushes what was written to the storage (`fdatasync`: the file never changes size,
    /// so its times need not be written as well).
    pub fn sync(&mut self) -> Result<(), Errno> {
        self.file.datasync().inspect_err(|&e| self.failing = Some(e))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// A ring path in a directory of the test's own (removed with the returned guard).
    fn tmp(name: &str) -> (crate::tempdir::TempDir, String) {
        let d = crate::tempdir::TempDir::new(&format!("ring-{name}"));
        let p = d.join("ring").to_str().unwrap().to_string();
        (d, p)
    }

    #[test]
    fn crc32_matches_the_standard() {
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(&[b"123456789"]), 0xcbf4_3926);
        assert_eq!(crc32(&[b"1234", b"56789"]), 0xcbf4_3926);
    }

    #[test]
    fn records_come_back_in_order_across_reopening_and_wrapping() {
        let (_dir, path) = tmp("order");
        let mut r = Ring::open(&path, 4096).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096, "created at full size");
        for i in 0..10 {
            r.append(Kind::Alert, format!("{{\"n\":{i}}}").as_bytes()).unwrap();
        }
        drop(r);
        let mut r = Ring::open(&path, 1 << 20).unwrap();
        assert_eq!(r.size(), 4096, "an existing ring keeps its size");
        assert_eq!(r.next_seq, 11, "reopening continues after the newest record");
        // 200 more 100-byte records wrap the 4 KiB ring many times.
        for i in 10..210 {
            let p = format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(80));
            r.append(Kind::Sample, p.as_bytes()).unwrap();
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096, "never grows");
        let s = scan(&path).unwrap();
        let seqs: Vec<u64> = s.records.iter().map(|r| r.seq).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "contiguous: {seqs:?}");
        assert_eq!(*seqs.last().unwrap(), 210);
        assert!(seqs.len() >= 25, "a full ring of the newest records: {}", seqs.len());
    }

    #[test]
    fn a_file_that_is_not_a_ring_is_never_overwritten() {
        let (_dir, path) = tmp("foreign");
        std::fs::write(&path, "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        assert_eq!(Ring::open(&path, 4096).err(), Some(Errno(libc::EEXIST)));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "root:x:0:0:root:/root:/bin/sh\n");
        // An all-zero file (a ring that never got a record) is a ring.
        std::fs::write(&path, [0u8; 8192]).unwrap();
        assert_eq!(Ring::open(&path, 4096).unwrap().size(), 8192);
    }

    #[test]
    fn a_ring_that_cannot_be_filled_is_not_left_half_made() {
        // /dev/full takes no byte: creating a ring there fails with ENOSPC, not a panic.
        assert_eq!(Ring::open("/dev/full", 8192).err(), Some(Errno(libc::ENOSPC)));
    }

    #[test]
    fn torn_and_zeroed_records_are_skipped_and_counted() {
        let (_dir, path) = tmp("torn");
        let mut r = Ring::open(&path, 8192).unwrap();
        let mut offs = Vec::new();
        for i in 0..20 {
            offs.push(r.pos);
            r.append(Kind::Alert, format!("record {i}").as_bytes()).unwrap();
        }
        drop(r);
        let f = File::open(&[path.as_bytes()], Mode::ReadWriteCreate).unwrap();
        f.pwrite_all(b"XX", offs[3] + HEADER as u64 + 2).unwrap(); // a flipped payload byte
        f.pwrite_all(&[0u8; 48], offs[7]).unwrap(); // a zeroed block
        f.pwrite_all(&[0xffu8; 4], offs[11] + 6).unwrap(); // a torn length
        let s = scan(&path).unwrap();
        let seqs: Vec<u64> = s.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs.len(), 17);
        assert!(!seqs.contains(&4) && !seqs.contains(&8) && !seqs.contains(&12));
        assert_eq!(s.torn, 2, "the flipped byte and the torn length; the zeroed record has no magic");
    }
}

//! Entry points shared by the fuzz targets (`fuzz/`, libFuzzer on nightly) and their
//! regression test (`tests/fuzz_regressions.rs`, stable): every input a fuzzer ever
//! crashed on is kept as a file and replayed through the same function.
//!
//! Each harness takes arbitrary bytes, must never panic, and checks a property where
//! there is one (the skip-unchanged-lines path equals a fresh parse).

use crate::fake::{FakeRoot, Faults};
use crate::parse::meminfo::MeminfoParser;
use crate::parse::slabinfo::SlabinfoParser;
use crate::parse::vmstat::VmstatParser;
use crate::sample::{Root, Sampler};
use crate::snapshot;
use crate::table::SlabStats;
use crate::tables::{Source, Tables};

/// Every line parser (slabinfo, vmstat, meminfo, statm, stat, status, /dev/kmsg records)
/// over `data`.
pub fn parse_lines(data: &[u8]) {
    let mut slab = SlabinfoParser::new();
    let mut vm = VmstatParser::default();
    let mut mem = MeminfoParser::default();
    let mut rows = 0u32;
    for line in data.split(|&b| b == b'\n') {
        slab.line(line, &mut |r| {
            rows += 1;
            assert!(!r.name.is_empty());
        });
        let _ = vm.line(line);
        let _ = mem.line(line);
        let _ = crate::parse::proc_pid::statm(line);
        if let Some(st) = crate::parse::proc_pid::stat(line) {
            assert!(st.comm.len() < line.len());
        }
        let _ = crate::parse::proc_pid::status_value(line, "VmRSS");
        let text = crate::kmsg::text(line);
        assert!(text.len() <= line.len());
        let _ = crate::kmsg::is_oom(text);
    }
    slab.finish(&mut |_| rows += 1);
    assert_eq!(rows, slab.rows);
}

/// `data` as a kmemleak report (or a console log, a mail paste): parsed and grouped; the
/// groups hold every object they were given.
pub fn kmemleak_report(data: &[u8]) {
    let mut g = crate::leaks::Groups::default();
    for line in data.split(|&b| b == b'\n') {
        g.line(line);
    }
    g.finish();
    let in_groups: u64 = g.all().iter().map(|x| x.objects as u64).sum();
    assert!(in_groups <= g.objects(), "{in_groups} > {}", g.objects());
    let ranked = g.ranked();
    assert!(ranked.windows(2).all(|w| g.all()[w[0] as usize].objects >= g.all()[w[1] as usize].objects));
    // The frame classifier: allocator frames only at the top, before the site; the site
    // is the first frame that is not the allocator's (or the last of an all-allocator
    // trace).
    for grp in g.all() {
        let f = &grp.frames;
        let at = grp.site_at as usize;
        assert!(f.is_empty() || at < f.len());
        assert!(f.iter().take(at).all(|x| x.allocator));
        assert!(f.iter().skip(at + 1).all(|x| !x.allocator));
        // A marked frame (a module's, or --match's) is never the allocator's.
        assert!(f.iter().all(|x| !(x.allocator && x.marked)));
        if let Some(site) = grp.site_frame() {
            assert!(!site.allocator || f.iter().all(|x| x.allocator));
            assert_eq!(grp.site(), site.name.as_str());
        }
    }
    for line in data.split(|&b| b == b'\n') {
        let _ = crate::allocator::classify(line, b"");
        assert!(crate::allocator::plain(line).len() <= line.len());
        assert_eq!(crate::allocator::classify(line, b"m"), None);
    }
}

/// `data` as the bytes of a ring log: every record found is intact (its CRC checks) and
/// they come in sequence order, whatever the bytes.
pub fn ring_scan(data: &[u8]) {
    struct Bytes<'a>(&'a [u8]);
    impl crate::sample::ReadAt for Bytes<'_> {
        fn read_at(&mut self, buf: &mut [u8], off: u64) -> Result<usize, crate::sys::Errno> {
            let from = (off as usize).min(self.0.len());
            let n = buf.len().min(self.0.len() - from);
            buf[..n].copy_from_slice(&self.0[from..from + n]);
            Ok(n)
        }
    }
    let mut w = crate::ring::Walker::default();
    let (mut last, mut stale) = (0, 0);
    let s = crate::ring::read_in_order(&mut Bytes(data), data.len() as u64, &mut w, 0, &mut stale, &mut |h, p| {
        let at = h.offset as usize;
        assert!(matches!(crate::ring::check(&data[at..], h.offset), Some(Ok(_))));
        assert_eq!(p, &data[at + crate::ring::HEADER..at + crate::ring::HEADER + h.len as usize]);
        assert!(h.seq > last);
        last = h.seq;
        true
    });
    assert!(s.is_ok());
}

/// `data` as a tracer dump, line by line.
pub fn trace_dump(data: &[u8]) {
    let mut p = crate::parse::tracedump::DumpParser::new();
    for line in data.split(|&b| b == b'\n') {
        let _ = p.line(line);
    }
    let _ = p.complete();
}

/// `data` as a snapshot file (or a plain /proc file copy) loaded into tables.
pub fn snapshot_load(data: &[u8]) {
    let root = FakeRoot::new();
    root.set("/snap", data);
    let mut t = Tables::default();
    let mut buf = vec![0u8; 4096];
    for _ in 0..2 {
        if let Ok(f) = root.open("/snap") {
            let _ = snapshot::read(f, &"/snap", &mut t, &mut buf);
        }
    }
}

/// Splits `data` into (faults, three files, mutation bytes) and samples the files twice
/// through a fake root with short reads, the second time mutated: the tables must hold
/// exactly what a fresh parse of the second version gives.
pub fn sample_twice(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let max_read = 1 + data[0] as usize * 7 % 4096;
    let mut parts = data[4..].splitn(4, |&b| b == 0xff);
    let files: [&[u8]; 3] = [parts.next().unwrap_or(b""), parts.next().unwrap_or(b""), parts.next().unwrap_or(b"")];
    let mutation = parts.next().unwrap_or(b"");
    let root = FakeRoot::new();
    for (src, text) in Source::ALL.iter().zip(files) {
        root.set(src.path(), text);
        // EINTR every 2nd to 4th read, or never: a retry always gets past it.
        let eintr_every = match data[1] % 4 {
            0 => 0,
            n => n as u32 + 1,
        };
        root.file(src.path()).borrow_mut().faults = Faults { max_read, eintr_every, ..Faults::default() };
    }
    let mut s = Sampler::new(root.clone());
    s.sample(0.0);
    // The second version: digits and bytes changed where the mutation bytes point.
    let mut second: [Vec<u8>; 3] = files.map(<[u8]>::to_vec);
    for pair in mutation.chunks(2) {
        let f = &mut second[pair[0] as usize % 3];
        if !f.is_empty() {
            let at = (pair[0] as usize * 31 + pair.get(1).copied().unwrap_or(0) as usize) % f.len();
            f[at] = if f[at].is_ascii_digit() {
                b'0' + (f[at] - b'0' + 1) % 10
            } else {
                pair.get(1).copied().unwrap_or(b'x')
            };
        }
    }
    for (src, text) in Source::ALL.iter().zip(&second) {
        root.set(src.path(), text);
    }
    s.sample(1.0);
    let fresh_root = FakeRoot::new();
    for (src, text) in Source::ALL.iter().zip(&second) {
        fresh_root.set(src.path(), text);
    }
    let mut fresh = Sampler::new(fresh_root);
    fresh.sample(1.0);
    assert!(s.status.iter().all(|st| *st == crate::sample::FileStatus::Ok), "{:?}", s.status);
    let (a, b) = (&s.tables, &fresh.tables);
    if a.slab.overflow.untracked == 0 && b.slab.overflow.untracked == 0 {
        assert_eq!(slabs(a), slabs(b), "slab tables differ from a fresh parse");
    }
    // A full table keeps what it met first, so with entries untracked the two may differ.
    if a.vmstat.overflow.untracked == 0 && b.vmstat.overflow.untracked == 0 {
        assert_eq!(gauges(a.vmstat.entries()), gauges(b.vmstat.entries()), "vmstat differs from a fresh parse");
    }
    if a.meminfo.overflow.untracked == 0 && b.meminfo.overflow.untracked == 0 {
        assert_eq!(gauges(a.meminfo.entries()), gauges(b.meminfo.entries()), "meminfo differs from a fresh parse");
    }
}

/// Present caches as a sorted list (names may repeat and come in any order).
fn slabs(t: &Tables) -> Vec<(Vec<u8>, [u64; 7])> {
    let key = |c: &SlabStats| {
        [
            c.active_objs,
            c.num_objs,
            c.objsize as u64,
            c.objperslab as u64,
            c.pagesperslab as u64,
            c.active_slabs.into(),
            c.num_slabs.into(),
        ]
    };
    let mut v: Vec<_> =
        t.slab.entries().iter().filter(|e| e.presence.now).map(|e| (e.name.as_bytes().to_vec(), key(&e.cur))).collect();
    v.sort();
    v
}

/// Present values as a sorted list.
fn gauges(g: &[crate::table::Gauge]) -> Vec<(Vec<u8>, i64)> {
    let mut v: Vec<_> = g.iter().filter(|g| g.presence.now).map(|g| (g.name.as_bytes().to_vec(), g.cur)).collect();
    v.sort();
    v
}

/// `data` as /proc/modules before and after a command and /proc/kallsyms (split at 0xff),
/// then addresses to name: every name found lies inside its function.
pub fn module_symbols(data: &[u8]) {
    let mut parts = data.splitn(4, |&b| b == 0xff);
    let mut next = || parts.next().unwrap_or(b"");
    let (before, after, kallsyms, addrs) = (next(), next(), next(), next());
    let root = FakeRoot::new();
    root.set("/proc/modules", before);
    root.set("/proc/kallsyms", kallsyms);
    let mut buf = [0u8; 512];
    let mut m = crate::modsyms::ModSyms::new();
    m.baseline(&root, &mut buf);
    root.set("/proc/modules", after);
    m.poll(&root, &mut buf);
    m.poll(&root, &mut buf);
    assert!(m.kept() <= crate::limits::MAX_KEPT_MODULES);
    use crate::modsyms::Resolve;
    let words = addrs.split(|b| b.is_ascii_whitespace()).chain(kallsyms.split(|b| b.is_ascii_whitespace()));
    for w in words.take(4096) {
        let mut hex = [0u8; 18];
        let w = if w.starts_with(b"0x") || w.len() > 16 {
            w
        } else {
            hex[..2].copy_from_slice(b"0x");
            hex[2..2 + w.len()].copy_from_slice(w);
            &hex[..2 + w.len()]
        };
        if let Some(r) = m.resolve(w) {
            assert!(r.off < r.size, "{r}");
            assert!(!r.module.is_empty());
        }
    }
}

/// gzip/DEFLATE decoding ([`crate::inflate`]) of `data` as a gzip file, and as a raw
/// DEFLATE stream behind a gzip header: an answer or an error, never a panic; the
/// output handed out adds up to the length returned and stays under the limit.
pub fn inflate(data: &[u8]) {
    const LIMIT: u64 = 1 << 20;
    let mut raw = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    raw.extend_from_slice(data);
    for input in [data, &raw[..]] {
        let mut seen = 0u64;
        let r = crate::inflate::gunzip(input, LIMIT, &mut |p| seen += p.len() as u64);
        if let Ok(n) = r {
            assert_eq!(n, seen);
        }
        assert!(seen <= LIMIT);
    }
}

/// `data` as a `.debug_line` section (and as its own `.debug_line_str`) with addresses
/// taken from its bytes: an answer or a counted error, never a panic; one address looked up
/// alone finds what it found in the batch, and every file name is read in bounds.
pub fn dwarf_lines(data: &[u8]) {
    use crate::dwarf::{file_name, lookup, Stats, Strings};
    let mut addrs: Vec<u64> =
        data.chunks_exact(8).take(24).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
    addrs.extend([0, 1, 0x1000, 0x12c8, u64::MAX]);
    let mut hits = vec![None; addrs.len()];
    let mut st = Stats::default();
    lookup(&data, &addrs, &mut hits, &mut st);
    assert!(st.malformed + st.unknown_version <= st.units);
    for (a, h) in addrs.iter().zip(&hits) {
        let mut one = [None];
        lookup(&data, &[*a], &mut one, &mut Stats::default());
        assert_eq!(one[0], *h, "{a:#x}: alone and in a batch differ");
        if let Some(h) = h {
            assert!(h.unit < data.len() as u64);
            let s = Strings { line: &data, line_str: Some(&data), str: Some(&data) };
            let mut name = [0u8; 64];
            if let Some(n) = file_name(&s, h, &mut name) {
                assert!(!n.is_empty() && n.len() <= 64);
            }
        }
    }
}

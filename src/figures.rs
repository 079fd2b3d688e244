//! Every figure kleak derives from what the kernel prints, defined once. Code, output and
//! README use these names.
//!
//! | figure          | definition                                              |
//! |-----------------|---------------------------------------------------------|
//! | cache `bytes`   | `num_objs × objsize`                                    |
//! | `slab_bytes`    | `num_slabs × pagesperslab × page_size` (an upper bound under SLUB) |
//! | `use %`         | `active_objs / num_objs`                                |
//! | `Unaccounted`   | see [`UNACCOUNTED_TERMS`]                               |

use crate::limits::MAX_CACHES;
use crate::table::{Gauge, GaugeTable, SlabEntry, SlabStats, SlabTable};

impl SlabStats {
    /// Memory held by the cache's objects: `num_objs × objsize`.
    pub fn bytes(&self) -> u64 {
        self.num_objs.saturating_mul(self.objsize as u64)
    }

    /// Memory in objects in use: `active_objs × objsize`.
    pub fn active_bytes(&self) -> u64 {
        self.active_objs.saturating_mul(self.objsize as u64)
    }

    /// Memory in the cache's slabs: `num_slabs × pagesperslab × page_size`.
    pub fn slab_bytes(&self, page_size: u64) -> u64 {
        u64::from(self.num_slabs).saturating_mul(self.pagesperslab as u64).saturating_mul(page_size)
    }

    /// Objects in use as a percentage of objects allocated (0 for an empty cache).
    pub fn use_pct(&self) -> f64 {
        if self.num_objs == 0 {
            0.0
        } else {
            self.active_objs as f64 * 100.0 / self.num_objs as f64
        }
    }
}

/// The meminfo figures a watch line and a logged sample follow: (label on the line,
/// meminfo key, JSON key of its change). A watch line shows the first
/// [`LINE_FIGURES`]; a logged sample keeps all of them.
pub const FIGURES: [(&str, &str, &str); 4] = [
    ("slab", "Slab", "d_Slab"),
    ("unrecl", "SUnreclaim", "d_SUnreclaim"),
    ("unacct", UNACCOUNTED, "d_Unaccounted"),
    ("avail", "MemAvailable", "d_MemAvailable"),
];

/// How many of [`FIGURES`] a watch line (and watch's summary) shows.
pub const LINE_FIGURES: usize = 3;

/// Caches a watch line and a logged sample name as the ones that moved most.
pub const MOVERS: usize = 4;

/// The [`MOVERS`] largest changes either way, largest first, as (index, change): `delta`
/// gives entry `i`'s change (0: not a mover).
pub fn movers(n: usize, delta: impl Fn(usize) -> i64) -> heapless::Vec<(u16, i64), MOVERS> {
    let mut best: heapless::Vec<(u16, i64), MOVERS> = heapless::Vec::new();
    for i in 0..n {
        let d = delta(i);
        if d == 0 {
            continue;
        }
        // Keep the MOVERS largest, sorted, by insertion.
        let pos = best.iter().position(|m| m.1.unsigned_abs() < d.unsigned_abs()).unwrap_or(best.len());
        if pos < MOVERS {
            if best.is_full() {
                best.pop();
            }
            let _ = best.insert(pos, (i as u16, d));
        }
    }
    best
}

/// Which values of an entry a row compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// No comparison: the latest values.
    Now,
    /// Latest against the sample before.
    Interval,
    /// Latest against the first sample.
    SinceStart,
}

/// The value an entry is compared against for `span`.
pub fn before(e: &SlabEntry, span: Span) -> SlabStats {
    match span {
        Span::Now => e.cur,
        Span::Interval => e.prev,
        Span::SinceStart => e.base,
    }
}

/// The gauge value a row is compared against for `span`.
pub fn gauge_before(g: &Gauge, span: Span) -> i64 {
    match span {
        Span::Now => g.cur,
        Span::Interval => g.prev,
        Span::SinceStart => g.base,
    }
}

/// True if the cache appeared during `span` (it counts as grown from zero).
pub fn is_new(e: &SlabEntry, span: Span) -> bool {
    match span {
        Span::Now => false,
        Span::Interval => e.presence.appeared(),
        Span::SinceStart => e.presence.first_sample > 0,
    }
}

/// What growth counts: bytes (`kleak top`) or objects (the original tool's `-top N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rank {
    /// Growth in bytes (`kleak top`).
    Bytes,
    /// Growth in objects (the original tool's `-top N`).
    Objs,
}

/// Growth of a cache's bytes (or objects) over `span`: the one definition of growth.
pub fn growth(e: &SlabEntry, span: Span, rank: Rank) -> i64 {
    let b = before(e, span);
    match rank {
        Rank::Bytes => e.cur.bytes() as i64 - b.bytes() as i64,
        Rank::Objs => e.cur.num_objs as i64 - b.num_objs as i64,
    }
}

/// The indices of the (at most) `n` caches that grew most over `span`, largest first.
pub fn top_growers(slab: &SlabTable, n: usize, rank: Rank, span: Span) -> heapless::Vec<u16, MAX_CACHES> {
    let entries = slab.entries();
    let mut order: heapless::Vec<u16, MAX_CACHES> = heapless::Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if e.shown && growth(e, span, rank) > 0 {
            let _ = order.push(i as u16);
        }
    }
    let g = |i: u16| growth(&entries[i as usize], span, rank);
    crate::table::sort_by(&mut order, |&a, &b| g(a) > g(b));
    order.truncate(n);
    order
}

/// Each slab cache that grew since the first sample: name, object size, objects grown (a
/// cache that appeared grew from zero). For [`crate::leaks::pair`].
pub fn grown_caches(slab: &SlabTable) -> impl Iterator<Item = (&str, u64, u64)> + Clone {
    slab.entries().iter().filter(|e| e.presence.now).filter_map(|e| {
        let base = if is_new(e, Span::SinceStart) { 0 } else { before(e, Span::SinceStart).active_objs };
        let grown = e.cur.active_objs.saturating_sub(base);
        (grown > 0).then_some((e.name.as_str(), e.cur.objsize as u64, grown))
    })
}

/// The meminfo figures subtracted from `MemTotal` to give `Unaccounted`: memory the kernel
/// handed out that no meminfo line explains. Drivers that call `alloc_pages()` directly
/// (DMA buffers, GPU and network page pools) land here, invisible to slab and to kmemleak.
///
/// `Unaccounted = MemTotal − (MemFree + Buffers + Cached + SwapCached + AnonPages + Slab +
/// KernelStack + PageTables + SecPageTables + ShadowCallStack + VmallocUsed + Percpu +
/// Hugetlb + Zswap + Unaccepted)`.
///
/// Not subtracted, because they are parts of figures above: Shmem, Mapped, Active/Inactive,
/// KReclaimable, AnonHugePages, *HugePages. Where `Hugetlb` is missing (before 4.16),
/// `HugePages_Total × Hugepagesize` stands in; where `AnonPages` is missing (2.4),
/// `Active(anon) + Inactive(anon)` would, but those kernels lack it too, so none is used.
/// The figure is never zero on a healthy system (kernel data, page frags for network
/// buffers): its *growth* is the signal.
pub const UNACCOUNTED_TERMS: &[&str] = &[
    "MemFree",
    "Buffers",
    "Cached",
    "SwapCached",
    "AnonPages",
    "Slab",
    "KernelStack",
    "PageTables",
    "SecPageTables",
    "ShadowCallStack",
    "VmallocUsed",
    "Percpu",
    "Hugetlb",
    "Zswap",
    "Unaccepted",
];

/// The name kleak gives its derived meminfo figure.
pub const UNACCOUNTED: &str = "Unaccounted";

/// `Unaccounted` in bytes for the latest meminfo sample, or `None` without `MemTotal` and
/// `MemFree`.
pub fn unaccounted<const N: usize>(meminfo: &GaugeTable<N>) -> Option<i64> {
    let total = meminfo.cur("MemTotal")?;
    meminfo.cur("MemFree")?;
    let mut used: i64 = 0;
    for key in UNACCOUNTED_TERMS {
        used = used.saturating_add(meminfo.cur(key).unwrap_or(0));
    }
    if meminfo.cur("Hugetlb").is_none() {
        let pages = meminfo.cur("HugePages_Total").unwrap_or(0);
        let size = meminfo.cur("Hugepagesize").unwrap_or(0);
        used = used.saturating_add(pages.saturating_mul(size));
    }
    Some(total - used)
}

/// Pairs of the same amount printed twice: in vmstat pages and in meminfo bytes.
const PAGE_PAIRS: [(&str, &str); 8] = [
    ("nr_slab_reclaimable", "SReclaimable"),
    ("nr_slab_unreclaimable", "SUnreclaim"),
    ("nr_page_table_pages", "PageTables"),
    ("nr_mapped", "Mapped"),
    ("nr_anon_pages", "AnonPages"),
    ("nr_shmem", "Shmem"),
    ("nr_free_pages", "MemFree"),
    ("nr_dirty", "Dirty"),
];

/// The page size implied by a sample, for a `--root` tree that does not say it: each
/// amount printed in both files (e.g. `SReclaimable` bytes over `nr_slab_reclaimable`
/// pages) votes for the nearest power of two, and the most votes win. A vote needs 64
/// pages or more, so rounding noise between the two reads cannot swing it; one figure that
/// disagrees (MemFree on kernels with lazily initialised memory) is outvoted.
pub fn page_size_from<const M: usize, const V: usize>(meminfo: &GaugeTable<M>, vmstat: &GaugeTable<V>) -> Option<u64> {
    let mut votes = [0u32; 9]; // 4 KiB << 0..=8 (up to 1 MiB)
    for (pages, bytes) in PAGE_PAIRS {
        let (Some(p), Some(b)) = (vmstat.cur(pages), meminfo.cur(bytes)) else { continue };
        if p < 64 || b <= 0 {
            continue;
        }
        let raw = (b / p) as u64;
        let up = raw.next_power_of_two();
        let size = if up - raw > raw - up / 2 { up / 2 } else { up };
        if let Some(i) = (0..9).find(|&i| 4096u64 << i == size) {
            votes[i] += 1;
        }
    }
    let (best, &n) = votes.iter().enumerate().max_by_key(|&(i, n)| (*n, core::cmp::Reverse(i)))?;
    (n > 0).then_some(4096 << best)
}

/// The kmalloc size class an object of `size` bytes comes from (`kmalloc-<n>`), for naming
/// the cache a kmemleak report's objects live in.
pub fn kmalloc_class(size: u64) -> u64 {
    match size {
        0..=8 => 8,
        9..=16 => 16,
        17..=32 => 32,
        33..=64 => 64,
        65..=96 => 96,
        97..=128 => 128,
        129..=192 => 192,
        _ => size.next_power_of_two(),
    }
}

/// Where the objects of a kmemleak group live, named as /proc/slabinfo names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeakHome {
    /// A `kmalloc-<n>` cache of this size class.
    Kmalloc(u64),
    /// The page allocator: kmalloc larger than two pages (`KMALLOC_MAX_CACHE_SIZE`), or
    /// memblock (`(phys)` objects).
    Pages,
    /// vmalloc space.
    Vmalloc,
    /// Per-CPU memory.
    Percpu,
    /// A named cache of its own (`kmem_cache_alloc`): the size is that cache's object size.
    OwnCache,
    /// The backtrace shows no allocator frame: where the objects live is not known.
    Unknown,
}

impl LeakHome {
    /// Where kmalloc puts an object of `size` bytes on a kernel with `page_size` pages.
    pub fn of_kmalloc(size: u64, page_size: u64) -> LeakHome {
        if size > 2 * page_size {
            LeakHome::Pages
        } else {
            LeakHome::Kmalloc(kmalloc_class(size))
        }
    }
}

impl core::fmt::Display for LeakHome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            // SLUB names the classes from 1024 up in k: kmalloc-1k, kmalloc-8k.
            LeakHome::Kmalloc(c) if c >= 1024 => write!(f, "kmalloc-{}k", c / 1024),
            LeakHome::Kmalloc(c) => write!(f, "kmalloc-{c}"),
            LeakHome::Pages => f.write_str("pages"),
            LeakHome::Vmalloc => f.write_str("vmalloc"),
            LeakHome::Percpu => f.write_str("percpu"),
            LeakHome::OwnCache => f.write_str("own cache"),
            LeakHome::Unknown => f.write_str("allocator unknown"),
        }
    }
}

/// The kmalloc size class a slab cache's name stands for: `kmalloc-128`, `kmalloc-2k`,
/// `kmalloc-cg-64`, `kmalloc-rcl-1k`, `dma-kmalloc-96`, `kmalloc-rnd-03-256`, and SLAB's
/// `size-512` and `size-512(DMA)`. `None` for any other cache.
pub fn kmalloc_class_of(cache: &str) -> Option<u64> {
    let b = cache.as_bytes();
    let rest = if let Some(p) = b.windows(8).position(|w| w == b"kmalloc-") {
        // The class is the last dash-separated part.
        let tail = &b[p + 8..];
        &tail[tail.iter().rposition(|&c| c == b'-').map_or(0, |i| i + 1)..]
    } else {
        let s = b.strip_prefix(b"size-")?;
        s.strip_suffix(b"(DMA)").unwrap_or(s)
    };
    let (num, k) = match rest.strip_suffix(b"k") {
        Some(n) => (n, 1024),
        None => (rest, 1),
    };
    crate::parse::parse_u64(num).map(|n| n * k)
}

/// True if a named cache whose objects take `objsize` bytes (slabinfo's `objsize`, which
/// includes alignment and any debug metadata) can hold kmemleak objects of `size` bytes
/// (the cache's object size as allocated).
pub fn fits_cache(objsize: u64, size: u64) -> bool {
    size <= objsize && objsize <= 2 * size + 512
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::table::Unit;

    #[test]
    fn slab_figures() {
        let s = SlabStats {
            active_objs: 50,
            num_objs: 100,
            objsize: 64,
            objperslab: 64,
            pagesperslab: 1,
            active_slabs: 2,
            num_slabs: 2,
        };
        assert_eq!(s.bytes(), 6400);
        assert_eq!(s.slab_bytes(4096), 8192);
        assert_eq!(s.use_pct(), 50.0);
    }

    fn meminfo(pairs: &[(&str, i64)]) -> GaugeTable<64> {
        let mut t = GaugeTable::<64>::default();
        t.begin(0);
        for (k, v) in pairs {
            t.update(k.as_bytes(), Unit::Bytes, *v, None);
        }
        t.end(true);
        t
    }

    #[test]
    fn unaccounted_subtracts_every_term() {
        let t = meminfo(&[
            ("MemTotal", 1000),
            ("MemFree", 100),
            ("Cached", 200),
            ("Slab", 50),
            ("Shmem", 30),
            ("AnonPages", 100),
        ]);
        assert_eq!(unaccounted(&t), Some(550));
        let t = meminfo(&[("MemTotal", 1000), ("MemFree", 100), ("HugePages_Total", 2), ("Hugepagesize", 100)]);
        assert_eq!(unaccounted(&t), Some(700));
        assert_eq!(unaccounted(&meminfo(&[("MemTotal", 1)])), None);
    }

    #[test]
    fn page_size_is_voted_by_figures_printed_in_both_files() {
        // MemFree disagrees (lazily initialised memory on a VM); the others outvote it.
        let m = meminfo(&[("MemFree", 23433720 * 1024), ("SReclaimable", 227060 * 1024), ("SUnreclaim", 28028 * 1024)]);
        let mut v = GaugeTable::<64>::default();
        v.begin(0);
        for (k, n) in [("nr_free_pages", 1250659), ("nr_slab_reclaimable", 56765), ("nr_slab_unreclaimable", 7007)] {
            v.update(k.as_bytes(), Unit::Pages, n, None);
        }
        v.end(true);
        assert_eq!(page_size_from(&m, &v), Some(4096));
        // 64 KiB pages (arm64 with CONFIG_ARM64_64K_PAGES).
        let m = meminfo(&[("SUnreclaim", 1000 * 65536)]);
        let mut v = GaugeTable::<64>::default();
        v.begin(0);
        v.update(b"nr_slab_unreclaimable", Unit::Pages, 1000, None);
        v.end(true);
        assert_eq!(page_size_from(&m, &v), Some(65536));
        assert_eq!(page_size_from(&meminfo(&[]), &v), None);
    }

    #[test]
    fn kmalloc_cache_names() {
        for (name, class) in [
            ("kmalloc-128", Some(128)),
            ("kmalloc-2k", Some(2048)),
            ("kmalloc-cg-64", Some(64)),
            ("dma-kmalloc-96", Some(96)),
            ("kmalloc-rnd-03-256", Some(256)),
            ("kmalloc-rcl-1k", Some(1024)),
            ("size-512(DMA)", Some(512)),
            ("size-32", Some(32)),
            ("dentry", None),
            ("kmalloc-", None),
        ] {
            assert_eq!(kmalloc_class_of(name), class, "{name}");
        }
        assert_eq!(LeakHome::of_kmalloc(100, 4096).to_string(), "kmalloc-128");
        assert_eq!(LeakHome::of_kmalloc(5000, 4096).to_string(), "kmalloc-8k");
        assert_eq!(LeakHome::of_kmalloc(12288, 4096), LeakHome::Pages);
        assert!(fits_cache(1000, 944) && !fits_cache(900, 944) && !fits_cache(4096, 64));
    }

    #[test]
    fn kmalloc_classes() {
        assert_eq!(kmalloc_class(32), 32);
        assert_eq!(kmalloc_class(100), 128);
        assert_eq!(kmalloc_class(150), 192);
        assert_eq!(kmalloc_class(1000), 1024);
    }
}

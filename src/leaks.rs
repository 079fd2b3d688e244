//! kmemleak objects grouped into leaks: one group per backtrace fingerprint.
//!
//! A kmemleak report lists objects; a leak is the place that allocated them. The
//! fingerprint of an object is its first [`GROUP_FRAMES`] frames after the allocator's own
//! frames are dropped from the top of the backtrace (the frames syzkaller skips for its
//! "memory leak in X" titles: names holding kmemleak, kmem, slab, alloc, create_object,
//! idr_get, list_lru_init, kasprintf, kvasprintf, pcpu_create, strdup, strndup, memdup).
//! End markers of old kernels (`0xffffffff`, `(null)`) are not frames.
//!
//! The object size is not part of the key (it varies between configs); it tells which
//! `kmalloc-<n>` cache holds the objects ([`crate::figures::kmalloc_class`]). The crc that
//! kernels print from 6.8 is a checksum of the object's *contents*: objects leaked from one
//! place usually differ in it, so it splits one leak into many. It is counted per group,
//! and it joins the key only when asked (`kleak leaks --by-crc`).
//!
//! [`Groups`] is a fixed-capacity table: it is allocated once and reset, never grown.

use crate::figures;
use crate::limits::{FRAME_BYTES, GROUP_CRCS, GROUP_FRAMES, GROUP_SIZES, MAX_LEAK_GROUPS};
use crate::modsyms::Resolve;
use crate::parse::kmemleak::{Event, Frame, Header, KmemleakParser, ObjectKind};
use crate::table::Name;
use core::fmt::Write;

/// Substrings that mark an allocator frame (syzkaller's list for Linux leak titles).
const ALLOCATOR: [&[u8]; 13] = [
    b"kmemleak",
    b"kmem",
    b"slab",
    b"alloc",
    b"create_object",
    b"idr_get",
    b"list_lru_init",
    b"kasprintf",
    b"kvasprintf",
    b"pcpu_create",
    b"strdup",
    b"strndup",
    b"memdup",
];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    crate::parse::kmemleak::find(hay, needle).is_some()
}

/// True if a frame of this function belongs to the allocator (dropped from the top).
pub fn is_allocator(func: &[u8]) -> bool {
    ALLOCATOR.iter().any(|a| contains(func, a))
}

/// How the objects of a group were allocated, judged from the allocator frames dropped
/// (the strongest sign wins: a kmalloc frame outranks the `kmem_cache_alloc` under it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    /// kmalloc and friends, or nothing visible: a `kmalloc-<n>` cache.
    #[default]
    Kmalloc,
    /// `kmem_cache_alloc` of a named cache: the size is that cache's object size.
    Cache,
    /// A kmalloc frame above the cache allocation (`kmalloc_trace`, `kzalloc`).
    KmallocOverCache,
    /// `vmalloc`.
    Vmalloc,
    /// A per-CPU allocation.
    Percpu,
}

/// Allocator frame names and what they say about the objects (first match wins).
const VIA: [(&[u8], Via); 6] = [
    (b"pcpu", Via::Percpu),
    (b"vmalloc", Via::Vmalloc),
    (b"kmalloc", Via::KmallocOverCache),
    (b"zalloc", Via::KmallocOverCache),
    (b"dup", Via::KmallocOverCache),
    // kmalloc of a constant size before 6.1.
    (b"kmem_cache_alloc_trace", Via::KmallocOverCache),
];

impl Via {
    fn of(func: &[u8]) -> Via {
        match VIA.iter().find(|(k, _)| contains(func, k)) {
            Some(&(_, via)) => via,
            None if func.starts_with(b"kmem_cache_alloc") => Via::Cache,
            None => Via::Kmalloc,
        }
    }
}

/// One kept frame: `function [module]`.
pub type FrameName = Name<FRAME_BYTES>;

/// One leak: the objects of one fingerprint.
#[derive(Clone, Debug)]
pub struct Group {
    /// The fingerprint (FNV-1a over the kept frames, and the crc with `--by-crc`).
    pub key: u64,
    /// Objects.
    pub objects: u32,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Distinct sizes seen, first [`GROUP_SIZES`].
    pub sizes: heapless::Vec<u64, GROUP_SIZES>,
    /// Smallest and largest size.
    pub size_min: u64,
    /// Largest size.
    pub size_max: u64,
    /// The first object's task name.
    pub comm: FrameName,
    /// The first object's pid.
    pub pid: u32,
    /// Objects from another task than the first.
    pub other_tasks: u32,
    /// Youngest and oldest object in milliseconds, where the kernel printed ages.
    pub age_ms: Option<(u64, u64)>,
    /// Distinct contents checksums, first [`GROUP_CRCS`] (6.8+).
    pub crcs: heapless::Vec<u32, GROUP_CRCS>,
    /// The kept frames, innermost first.
    pub frames: heapless::Vec<FrameName, GROUP_FRAMES>,
    /// How the objects were allocated.
    pub via: Via,
    /// Per-CPU or physical objects.
    pub kind: ObjectKind,
    /// Frames were named by kleak ([`crate::modsyms`]): their module was unloaded before
    /// the report was read, and kmemleak printed raw addresses.
    pub unloaded: bool,
}

impl Group {
    /// The cache the objects live in, as slabinfo names it: `kmalloc-128`, `kmalloc-2k`;
    /// or `vmalloc`, `percpu`, `pages` (kmalloc larger than a slab serves), `own cache`.
    pub fn cache(&self, size: u64, page_size: u64) -> figures::LeakHome {
        match (self.kind, self.via) {
            (ObjectKind::Percpu, _) | (_, Via::Percpu) => figures::LeakHome::Percpu,
            (ObjectKind::Phys, _) => figures::LeakHome::Pages,
            (_, Via::Vmalloc) => figures::LeakHome::Vmalloc,
            (_, Via::Cache) => figures::LeakHome::OwnCache,
            _ => figures::LeakHome::of_kmalloc(size, page_size),
        }
    }

    /// The first kept frame (where the leak is), or `?`.
    pub fn site(&self) -> &str {
        self.frames.first().map_or("?", |f| f.as_str())
    }
}

/// The object being read: what a group needs from it, kept until it ends.
struct Pending {
    open: bool,
    header: Option<Header>,
    comm: FrameName,
    pid: u32,
    age_ms: Option<u64>,
    crc: Option<u32>,
    /// Still dropping allocator frames from the top.
    leading: bool,
    via: Via,
    /// The first allocator frame, in case nothing else is left.
    fallback: Option<FrameName>,
    frames: heapless::Vec<FrameName, GROUP_FRAMES>,
    unloaded: bool,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            open: false,
            header: None,
            comm: Name::new(b"").0,
            pid: 0,
            age_ms: None,
            crc: None,
            leading: true,
            via: Via::Kmalloc,
            fallback: None,
            frames: heapless::Vec::new(),
            unloaded: false,
        }
    }
}

fn frame_name(f: &Frame<'_>) -> FrameName {
    if f.module.is_empty() {
        return Name::new(f.func).0;
    }
    let mut buf = [0u8; FRAME_BYTES];
    let n = f.func.len().min(FRAME_BYTES);
    buf[..n].copy_from_slice(&f.func[..n]);
    let mut len = n;
    for part in [&b" ["[..], f.module, b"]"] {
        let k = part.len().min(FRAME_BYTES - len);
        buf[len..len + k].copy_from_slice(&part[..k]);
        len += k;
    }
    Name::new(&buf[..len]).0
}

/// FNV-1a, 64 bit: a stable fingerprint across runs and machines.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Every group of a report, in a table of fixed capacity.
pub struct Groups {
    groups: Vec<Group>,
    pending: Pending,
    hint: usize,
    /// Add the crc to the key (`--by-crc`).
    pub by_crc: bool,
    /// Objects whose group found no room.
    pub untracked_objects: u32,
    /// The report's parser (counts, skipped lines).
    pub parser: KmemleakParser,
}

impl Default for Groups {
    fn default() -> Self {
        Groups {
            groups: Vec::with_capacity(MAX_LEAK_GROUPS),
            pending: Pending::default(),
            hint: 0,
            by_crc: false,
            untracked_objects: 0,
            parser: KmemleakParser::default(),
        }
    }
}

impl Groups {
    /// Forgets the report before a new one is read (no memory is freed or allocated).
    pub fn clear(&mut self) {
        self.groups.clear();
        self.pending = Pending::default();
        self.hint = 0;
        self.untracked_objects = 0;
        self.parser = KmemleakParser::default();
    }

    /// The groups, in the order they were first seen.
    pub fn all(&self) -> &[Group] {
        &self.groups
    }

    /// Objects in all groups.
    pub fn objects(&self) -> u64 {
        self.groups.iter().map(|g| g.objects as u64).sum()
    }

    /// Feeds one line of a report.
    pub fn line(&mut self, line: &[u8]) {
        self.line_with(line, None);
    }

    /// Feeds one line of a report, naming raw-address frames of unloaded modules from
    /// `syms` (`kleak run`).
    pub fn line_with(&mut self, line: &[u8], syms: Option<&dyn Resolve>) {
        let Groups { parser, pending, groups, hint, by_crc, untracked_objects } = self;
        parser.line(line, &mut |e| event(pending, groups, hint, *by_crc, untracked_objects, syms, e));
    }

    /// Ends the report.
    pub fn finish(&mut self) {
        let Groups { parser, pending, groups, hint, by_crc, untracked_objects } = self;
        parser.finish(&mut |e| event(pending, groups, hint, *by_crc, untracked_objects, None, e));
    }

    /// Group indices, largest first (objects, then bytes).
    pub fn ranked(&self) -> heapless::Vec<u16, MAX_LEAK_GROUPS> {
        let rank = |i: u16| {
            let g = &self.groups[i as usize];
            (core::cmp::Reverse(g.objects), core::cmp::Reverse(g.bytes), g.key)
        };
        // An insertion sort: a few hundred groups at most, and a fraction of the code of
        // the library's sort (the board binary has a size budget).
        let mut v: heapless::Vec<u16, MAX_LEAK_GROUPS> = heapless::Vec::new();
        for i in 0..self.groups.len() as u16 {
            let at = v.iter().position(|&j| rank(i) < rank(j)).unwrap_or(v.len());
            let _ = v.insert(at, i);
        }
        v
    }
}

fn event(
    p: &mut Pending,
    groups: &mut Vec<Group>,
    hint: &mut usize,
    by_crc: bool,
    untracked: &mut u32,
    syms: Option<&dyn Resolve>,
    e: Event<'_>,
) {
    match e {
        Event::Object(h) => {
            *p = Pending { open: true, header: Some(h), ..Pending::default() };
        }
        Event::Comm(c) => {
            p.comm = Name::new(c.comm).0;
            p.pid = c.pid;
            p.age_ms = c.age_ms;
        }
        Event::HexDump => {}
        Event::Backtrace { crc } => p.crc = crc,
        Event::Frame(mut f) => {
            if f.is_end_marker() {
                return;
            }
            if let Some(r) = syms.and_then(|s| s.resolve(f.func)) {
                f = Frame { func: r.func, module: r.module, inline: false };
                p.unloaded = true;
            }
            if p.leading && is_allocator(f.func) {
                p.via = p.via.max(Via::of(f.func));
                if p.fallback.is_none() {
                    p.fallback = Some(frame_name(&f));
                }
                return;
            }
            p.leading = false;
            if !p.frames.is_full() {
                let _ = p.frames.push(frame_name(&f));
            }
        }
        Event::End => {
            if p.open {
                p.open = false;
                add(p, groups, hint, by_crc, untracked);
            }
        }
    }
}

fn add(p: &mut Pending, groups: &mut Vec<Group>, hint: &mut usize, by_crc: bool, untracked: &mut u32) {
    let Some(h) = p.header else { return };
    if p.frames.is_empty() {
        if let Some(f) = p.fallback.take() {
            let _ = p.frames.push(f);
        }
    }
    let mut key = FNV_START;
    for f in &p.frames {
        key = fnv(key, f.as_bytes());
        key = fnv(key, &[0]);
    }
    if by_crc {
        key = fnv(key, &p.crc.unwrap_or(0).to_le_bytes());
    }
    let i = if groups.get(*hint).is_some_and(|g| g.key == key) {
        *hint
    } else if let Some(i) = groups.iter().position(|g| g.key == key) {
        i
    } else if groups.len() < MAX_LEAK_GROUPS {
        groups.push(Group {
            key,
            objects: 0,
            bytes: 0,
            sizes: heapless::Vec::new(),
            size_min: h.size,
            size_max: h.size,
            comm: p.comm,
            pid: p.pid,
            other_tasks: 0,
            age_ms: None,
            crcs: heapless::Vec::new(),
            frames: core::mem::take(&mut p.frames),
            via: p.via,
            kind: h.kind,
            unloaded: false,
        });
        groups.len() - 1
    } else {
        *untracked += 1;
        return;
    };
    *hint = i;
    let g = &mut groups[i];
    g.objects += 1;
    g.bytes = g.bytes.saturating_add(h.size);
    g.size_min = g.size_min.min(h.size);
    g.size_max = g.size_max.max(h.size);
    if !g.sizes.contains(&h.size) {
        let _ = g.sizes.push(h.size);
    }
    if g.pid != p.pid || g.comm.as_bytes() != p.comm.as_bytes() {
        g.other_tasks += 1;
    }
    if let Some(a) = p.age_ms {
        g.age_ms = Some(g.age_ms.map_or((a, a), |(lo, hi)| (lo.min(a), hi.max(a))));
    }
    if let Some(c) = p.crc {
        if !g.crcs.contains(&c) {
            let _ = g.crcs.push(c);
        }
    }
    g.via = g.via.max(p.via);
    g.unloaded |= p.unloaded;
}

/// The groups whose objects can live in the slab cache `cache` (objects of `objsize`
/// bytes): for naming the kmemleak groups behind a cache that grows. A `kmalloc-<n>` cache
/// holds the groups whose sizes fall in its size class; a named cache the groups allocated
/// with `kmem_cache_alloc` whose size fits its objects.
pub fn groups_in_cache<'a>(groups: &'a Groups, cache: &'a str, objsize: u64) -> impl Iterator<Item = &'a Group> + 'a {
    let class = figures::kmalloc_class_of(cache);
    groups.all().iter().filter(move |g| match class {
        Some(c) => {
            matches!(g.via, Via::Kmalloc | Via::KmallocOverCache)
                && g.sizes.iter().any(|&s| figures::kmalloc_class(s) == c)
        }
        None => matches!(g.via, Via::Cache | Via::Kmalloc) && g.sizes.iter().any(|&s| figures::fits_cache(objsize, s)),
    })
}

/// Writes a fingerprint as 16 hex digits (JSON `fingerprint`, watch's seen-set).
pub fn write_key(w: &mut impl Write, key: u64) {
    let _ = write!(w, "{key:016x}");
}

#[cfg(test)]
mod test {
    use super::*;

    fn groups(text: &str) -> Groups {
        let mut g = Groups::default();
        for l in text.lines() {
            g.line(l.as_bytes());
        }
        g.finish();
        g
    }

    #[test]
    fn allocator_frames_are_dropped_from_the_top_only() {
        // syzkaller-testdata_11.txt (2.6-era: create_object, kmemleak_alloc, __kmalloc)
        let g = groups(
            "unreferenced object 0xffff880133c63800 (size 1024):\n\
  comm \"exe\", pid 1521, jiffies 4294894652\n\
  backtrace:\n\
    [<ffffffff810f8f36>] create_object+0x126/0x2b0\n\
    [<ffffffff810f91d5>] kmemleak_alloc+0x25/0x60\n\
    [<ffffffff810f32a3>] __kmalloc+0x113/0x200\n\
    [<ffffffff811aa061>] ext4_mb_init+0x1b1/0x570\n\
    [<ffffffff8119b3d2>] ext4_fill_super+0x1de2/0x26d0\n\
    [<ffffffff8110a5d0>] kmem_cache_free_bulk_a_caller+0x1/0x2",
        );
        let g = &g.all()[0];
        let f: Vec<&str> = g.frames.iter().map(|f| f.as_str()).collect();
        assert_eq!(f, ["ext4_mb_init", "ext4_fill_super", "kmem_cache_free_bulk_a_caller"]);
        assert_eq!(g.via, Via::KmallocOverCache);
        assert_eq!(g.cache(g.size_min, 4096).to_string(), "kmalloc-1k");
    }

    #[test]
    fn same_site_same_group_and_crc_only_when_asked() {
        // lkml-report_06.txt: same backtrace, different contents (crc)
        let text = "unreferenced object 0x990d0000 (size 12288):\n\
  comm \"dnf\", pid 48539, jiffies 4296356469\n\
  backtrace (crc 9893fb1d):\n\
    kmemleak_alloc+0x6c/0xc0\n\
    ___kmalloc_large_node+0x106/0x160\n\
    ap_init_apmsg+0xf6/0x190\n\
unreferenced object 0xae148000 (size 12288):\n\
  comm \"dnf\", pid 48633, jiffies 4296356470\n\
  backtrace (crc 41938ebb):\n\
    kmemleak_alloc+0x6c/0xc0\n\
    ___kmalloc_large_node+0x106/0x160\n\
    ap_init_apmsg+0xf6/0x190";
        let g = groups(text);
        assert_eq!(g.all().len(), 1);
        let a = &g.all()[0];
        assert_eq!((a.objects, a.bytes, a.crcs.len(), a.other_tasks), (2, 24576, 2, 1));
        assert_eq!(a.cache(12288, 4096).to_string(), "pages", "kmalloc above two pages");
        let mut by = Groups { by_crc: true, ..Groups::default() };
        for l in text.lines() {
            by.line(l.as_bytes());
        }
        by.finish();
        assert_eq!(by.all().len(), 2);
    }

    #[test]
    fn named_caches_and_vmalloc_are_told_from_kmalloc() {
        // syzkaller-testdata_04.txt (kmem_cache_alloc → inode cache), syzbot-email_06.txt (vmalloc)
        let g = groups(
            "unreferenced object 0xffff88007658a9e0 (size 944):\n  backtrace:\n    [<000000005b8e4771>] kmem_cache_alloc+0x1c0/0x3c0\n    [<0000000017059910>] alloc_inode+0x133/0x190\n    [<00000000ba068e0d>] new_inode_pseudo+0x69/0x1a0\n\
unreferenced object 0xffffc90000e71000 (size 200704):\n  backtrace:\n    [<00000000110a155e>] __vmalloc_node_range+0x3a5/0x410 mm/vmalloc.c:2585\n    [<000000008a1ee970>] vmalloc+0x49/0x50 mm/vmalloc.c:2650\n    [<00000000a6a3abfa>] zr364xx_probe+0x60b/0x833 drivers/media/usb/zr364xx/zr364xx.c:1509",
        );
        let (a, b) = (&g.all()[0], &g.all()[1]);
        assert_eq!((a.site(), a.via), ("new_inode_pseudo", Via::Cache));
        assert_eq!((b.site(), b.via), ("zr364xx_probe", Via::Vmalloc));
        assert_eq!(b.cache(200704, 4096).to_string(), "vmalloc");
        let inode: Vec<_> = groups_in_cache(&g, "sock_inode_cache", 1000).map(|g| g.site()).collect();
        assert_eq!(inode, ["new_inode_pseudo"]);
        assert_eq!(groups_in_cache(&g, "kmalloc-1k", 1024).count(), 0);
    }

    #[test]
    fn groups_rank_largest_first_and_modules_are_kept() {
        let mut text = String::new();
        for (n, f) in [(1, "a_once"), (3, "b_thrice"), (2, "c_twice")] {
            for _ in 0..n {
                text += &format!("unreferenced object 0x10 (size 100):\n  comm \"insmod\", pid 9, jiffies 1 (age 6.000s)\n  backtrace:\n    [<0>] kmalloc_trace+0x1/0x2\n    [<1>] {f}+0x4c/0xb8 [leaky]\n");
            }
        }
        let g = groups(&text);
        let order: Vec<_> = g.ranked().iter().map(|&i| g.all()[i as usize].site()).collect();
        assert_eq!(order, ["b_thrice [leaky]", "c_twice [leaky]", "a_once [leaky]"]);
        let b = &g.all()[1];
        assert_eq!((b.age_ms, b.cache(100, 4096).to_string()), (Some((6000, 6000)), "kmalloc-128".into()));
        assert_eq!(groups_in_cache(&g, "kmalloc-128", 128).count(), 3);
        assert_eq!(groups_in_cache(&g, "kmalloc-cg-128", 128).count(), 3);
        assert_eq!(groups_in_cache(&g, "kmalloc-96", 96).count(), 0);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut text = String::new();
        for i in 0..MAX_LEAK_GROUPS + 10 {
            text += &format!("unreferenced object 0x10 (size 8):\n  backtrace:\n    f{i}+0x1/0x2\n");
        }
        let g = groups(&text);
        assert_eq!(g.all().len(), MAX_LEAK_GROUPS);
        assert_eq!(g.untracked_objects, 10);
    }

    #[test]
    fn an_object_without_backtrace_is_still_an_object() {
        // lkml-patch_07.txt: the second object was cut by the author after its hex dump
        let g = groups("unreferenced object 0xffff66f243fb2c80 (size 128):\n  hex dump (first 32 bytes):\n    62 75 73 5f 61 67 67 72 5f 63 6c 6b 00 00 00 00  bus_aggr_clk....");
        assert_eq!(g.objects(), 1);
        assert_eq!(g.all()[0].site(), "?");
    }
}

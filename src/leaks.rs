//! kmemleak objects grouped into leaks: one group per allocation site.
//!
//! A kmemleak report lists objects; a leak is the place that allocated them. The
//! allocator's own frames are dropped from the top of an object's backtrace
//! ([`crate::allocator`] says which: the kernel's allocator, never a substring of a name,
//! never a module's frame or one `--match` selects); the first frame left is the *site*,
//! the culprit line. A group is one allocation site: the allocator entry the dropped
//! frames show (kmalloc, a cache of its own, vmalloc, pages, percpu) plus the site frame
//! *with its offset* plus the names of the [`GROUP_FRAMES`]` - 1` frames after it. Two
//! allocator calls in one function are two groups (their return addresses differ, and
//! usually their entries too); one call reached from two places deeper down is one
//! group when those callers are the same functions (their offsets are not compared:
//! `foo_write` calling the helper from two lines is one leak, in the helper). Where the
//! kernel printed no offset (decoded traces) the names alone decide.
//! End markers of old kernels (`0xffffffff`, `(null)`) are not frames.
//!
//! The object size is not part of the key (it varies between configs); with the entry it
//! tells where the objects live: kmalloc objects name their `kmalloc-<n>` bucket
//! ([`crate::figures::kmalloc_class`]), `kmem_cache_alloc` objects live in a cache of
//! their own whose name the report does not say. The crc that kernels print from 6.8 is
//! a checksum of the object's *contents*: objects leaked from one place usually differ
//! in it, so it splits one leak into many. It is counted per group, and it joins the key
//! only when asked (`kleak leaks --by-crc`).
//!
//! [`Groups`] is a fixed-capacity table: it is allocated once and reset, never grown.

use crate::allocator::{self, Entry};
use crate::figures;
use crate::limits::{
    BACKTRACE_FRAMES, FRAME_BYTES, GROUP_CRCS, GROUP_FRAMES, GROUP_SIZES, MAX_LEAK_GROUPS, MAX_PAIRS, NAME_BYTES,
};
use crate::matcher::Matcher;
use crate::modsyms::Resolve;
use crate::parse::kmemleak::{Event, Frame, Header, KmemleakParser, ObjectKind};
use crate::table::Name;
use core::fmt::Write;

/// A kept frame's name: `function [module]`.
pub type FrameName = Name<FRAME_BYTES>;

/// One frame of a group's backtrace, as the first object of the group printed it.
#[derive(Clone, Copy, Debug)]
pub struct GroupFrame {
    /// `function [module]`.
    pub name: FrameName,
    /// The offset in the function, where the kernel printed one.
    pub off: Option<u64>,
    /// One of the allocator's frames dropped from the top.
    pub allocator: bool,
    /// A module's frame or one `--match` selects: shown with `>`.
    pub marked: bool,
}

impl core::fmt::Display for GroupFrame {
    /// `function+0x4c [module]`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.name.as_str();
        let (func, module) = match s.find(" [") {
            Some(i) => s.split_at(i),
            None => (s, ""),
        };
        f.write_str(func)?;
        if let Some(o) = self.off {
            write!(f, "+{o:#x}")?;
        }
        f.write_str(module)
    }
}

/// One leak: the objects of one allocation site.
#[derive(Clone, Debug)]
pub struct Group {
    /// The fingerprint (FNV-1a over entry, site and the frames after it; the crc with
    /// `--by-crc`).
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
    /// The first object's backtrace, innermost first, allocator frames included (the
    /// first [`BACKTRACE_FRAMES`]: kmemleak keeps 16).
    pub frames: heapless::Vec<GroupFrame, BACKTRACE_FRAMES>,
    /// Index in `frames` of the site: the first frame outside the allocator.
    pub site_at: u8,
    /// How the objects were allocated, from the allocator frames.
    pub entry: Entry,
    /// Per-CPU or physical objects.
    pub kind: ObjectKind,
    /// Frames were named by kleak ([`crate::modsyms`]): their module was unloaded before
    /// the report was read, and kmemleak printed raw addresses.
    pub unloaded: bool,
}

impl Group {
    /// The cache the objects live in, as slabinfo names it: `kmalloc-128`, `kmalloc-2k`;
    /// or `vmalloc`, `percpu`, `pages` (kmalloc larger than a slab serves), `own cache`,
    /// `unknown` (no allocator frame in the backtrace).
    pub fn cache(&self, size: u64, page_size: u64) -> figures::LeakHome {
        match (self.kind, self.entry) {
            (ObjectKind::Percpu, _) | (_, Entry::Percpu) => figures::LeakHome::Percpu,
            (ObjectKind::Phys, _) | (_, Entry::Pages) => figures::LeakHome::Pages,
            (_, Entry::Vmalloc) => figures::LeakHome::Vmalloc,
            (_, Entry::Cache) => figures::LeakHome::OwnCache,
            (_, Entry::Kmalloc) => figures::LeakHome::of_kmalloc(size, page_size),
            (_, Entry::Hook) => figures::LeakHome::Unknown,
        }
    }

    /// The site frame: the first frame outside the allocator.
    pub fn site_frame(&self) -> Option<&GroupFrame> {
        self.frames.get(self.site_at as usize)
    }

    /// The site's name (`function [module]`: where the leak is), or `?`.
    pub fn site(&self) -> &str {
        self.site_frame().map_or("?", |f| f.name.as_str())
    }

    /// The module of the first module frame at or after the site, or empty.
    pub fn module(&self) -> &str {
        self.frames[(self.site_at as usize).min(self.frames.len())..]
            .iter()
            .find_map(|f| {
                let s = f.name.as_str();
                s.strip_suffix(']').and_then(|s| s.rfind(" [").map(|i| &s[i + 2..]))
            })
            .unwrap_or("")
    }

    /// The frames from the site on (what a report shows).
    pub fn from_site(&self) -> &[GroupFrame] {
        &self.frames[(self.site_at as usize).min(self.frames.len())..]
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
    entry: Entry,
    frames: heapless::Vec<GroupFrame, BACKTRACE_FRAMES>,
    /// Frames beyond [`BACKTRACE_FRAMES`] were met.
    cut: bool,
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
            entry: Entry::Hook,
            frames: heapless::Vec::new(),
            cut: false,
            unloaded: false,
        }
    }
}

fn frame_name(f: &Frame<'_>) -> FrameName {
    if f.module.is_empty() {
        return Name::new(f.func).0;
    }
    let mut buf = [0u8; FRAME_BYTES];
    // A long function name is cut, not the module: the module is what marks the frame.
    let n = f.func.len().min(FRAME_BYTES.saturating_sub(f.module.len() + 3).max(FRAME_BYTES / 2));
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
    /// `--match`: frames whose function or module an including pattern matches are never
    /// the allocator's, and are marked.
    pub matcher: Matcher,
    /// Objects whose group found no room.
    pub untracked_objects: u32,
    /// Objects whose backtrace had more than [`BACKTRACE_FRAMES`] frames (syzbot's
    /// symbolized `[inline]` lines add to kmemleak's 16): the rest were not kept.
    pub backtraces_cut: u32,
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
            matcher: Matcher::default(),
            untracked_objects: 0,
            backtraces_cut: 0,
            parser: KmemleakParser::default(),
        }
    }
}

/// What [`event`] needs besides the pending object and the table.
struct Opts<'a> {
    by_crc: bool,
    matcher: &'a Matcher,
    syms: Option<&'a dyn Resolve>,
}

impl Groups {
    /// Forgets the report before a new one is read (no memory is freed or allocated).
    pub fn clear(&mut self) {
        self.groups.clear();
        self.pending = Pending::default();
        self.hint = 0;
        self.untracked_objects = 0;
        self.backtraces_cut = 0;
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
        let Groups { parser, pending, groups, hint, by_crc, matcher, untracked_objects, backtraces_cut } = self;
        let o = Opts { by_crc: *by_crc, matcher, syms };
        let counts = &mut [untracked_objects, backtraces_cut];
        parser.line(line, &mut |e| event(pending, groups, hint, &o, counts, e));
    }

    /// Ends the report.
    pub fn finish(&mut self) {
        let Groups { parser, pending, groups, hint, by_crc, matcher, untracked_objects, backtraces_cut } = self;
        let o = Opts { by_crc: *by_crc, matcher, syms: None };
        let counts = &mut [untracked_objects, backtraces_cut];
        parser.finish(&mut |e| event(pending, groups, hint, &o, counts, e));
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

/// True if an including `--match` pattern selects this frame's function or module.
fn matched(m: &Matcher, f: &Frame<'_>) -> bool {
    m.includes().any(|p| crate::matcher::glob(p.as_bytes(), f.func) || crate::matcher::glob(p.as_bytes(), f.module))
}

/// `counts`: objects not tracked, backtraces cut.
fn event(
    p: &mut Pending,
    groups: &mut Vec<Group>,
    hint: &mut usize,
    o: &Opts<'_>,
    counts: &mut [&mut u32; 2],
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
            if let Some(r) = o.syms.and_then(|s| s.resolve(f.func)) {
                f = Frame { func: r.func, module: r.module, inline: false, off: Some(r.off) };
                p.unloaded = true;
            }
            let marked = !f.module.is_empty() || matched(o.matcher, &f);
            let entry = if p.leading && !marked { allocator::classify(f.func, f.module) } else { None };
            match entry {
                Some(e) => p.entry = p.entry.then(e),
                None => p.leading = false,
            }
            let kept =
                p.frames.push(GroupFrame { name: frame_name(&f), off: f.off, allocator: entry.is_some(), marked });
            if kept.is_err() && !p.cut {
                p.cut = true;
                *counts[1] += 1;
            }
        }
        Event::End => {
            if p.open {
                p.open = false;
                add(p, groups, hint, o.by_crc, counts[0]);
            }
        }
    }
}

/// The fingerprint of an allocation site: entry, site with offset, names after it.
fn fingerprint(entry: Entry, frames: &[GroupFrame], site_at: usize) -> u64 {
    let mut key = fnv(FNV_START, entry.word().as_bytes());
    for (i, f) in frames.iter().skip(site_at).take(GROUP_FRAMES).enumerate() {
        key = fnv(key, &[0]);
        key = fnv(key, f.name.as_bytes());
        if i == 0 {
            key = fnv(key, &f.off.unwrap_or(u64::MAX).to_le_bytes());
        }
    }
    key
}

fn add(p: &mut Pending, groups: &mut Vec<Group>, hint: &mut usize, by_crc: bool, untracked: &mut u32) {
    let Some(h) = p.header else { return };
    // The site: the first frame outside the allocator; when every frame is the
    // allocator's, the outermost (nearest the caller).
    let site_at = p.frames.iter().position(|f| !f.allocator).unwrap_or(p.frames.len().saturating_sub(1));
    let mut key = fingerprint(p.entry, &p.frames, site_at);
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
            site_at: site_at as u8,
            entry: p.entry,
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
    g.unloaded |= p.unloaded;
}

/// True if the objects of `g` can live in the slab cache `cache` (objects of `objsize`
/// bytes): a `kmalloc-<n>` cache holds kmalloc groups whose sizes fall in its class; a
/// named cache holds `kmem_cache_alloc` groups whose size fits its objects. A group
/// whose backtrace shows no allocator frame may be either.
pub fn in_cache(g: &Group, cache: &str, objsize: u64) -> bool {
    match figures::kmalloc_class_of(cache) {
        Some(c) => {
            matches!(g.entry, Entry::Kmalloc | Entry::Hook) && g.sizes.iter().any(|&s| figures::kmalloc_class(s) == c)
        }
        None => {
            matches!(g.entry, Entry::Cache | Entry::Hook) && g.sizes.iter().any(|&s| figures::fits_cache(objsize, s))
        }
    }
}

/// A slab cache that grew by about a group's objects over the same span: the two halves
/// of a report that point at each other ("kmalloc-128 +995 objs ≈ group #2").
#[derive(Clone, Copy, Debug)]
pub struct Pair {
    /// The group (index into [`Groups::all`]).
    pub group: u16,
    /// The cache, as /proc/slabinfo names it.
    pub cache: Name<NAME_BYTES>,
    /// Objects it grew by.
    pub grown: u64,
}

/// True when a group of `objects` accounts for a cache growth of `grown` objects: between
/// half and twice it. kmemleak reports fewer objects than leaked (a scan misses some;
/// 2,154–2,200 of 2,200 in the lab), and a cache also grows and shrinks with everything
/// else the kernel does meanwhile.
pub fn about(objects: u64, grown: u64) -> bool {
    grown > 0 && objects.saturating_mul(2) >= grown && objects <= grown.saturating_mul(2)
}

/// Pairs each group with the cache that grew by about its objects and can hold them
/// ([`in_cache`]; of several, the closest in count). `caches` yields each cache's
/// name, object size and growth in objects. A `kmem_cache_alloc` group is only ever
/// paired with a named cache, never a kmalloc bucket.
pub fn pair<'a>(
    groups: &Groups,
    caches: impl Iterator<Item = (&'a str, u64, u64)> + Clone,
) -> heapless::Vec<Pair, MAX_PAIRS> {
    let mut pairs = heapless::Vec::new();
    for &i in groups.ranked().iter() {
        let g = &groups.all()[i as usize];
        let n = g.objects as u64;
        let best = caches
            .clone()
            .filter(|&(name, objsize, grown)| about(n, grown) && in_cache(g, name, objsize))
            .min_by_key(|&(_, _, grown)| grown.abs_diff(n));
        if let Some((name, _, grown)) = best {
            if pairs.push(Pair { group: i, cache: Name::new(name.as_bytes()).0, grown }).is_err() {
                break;
            }
        }
    }
    pairs
}

/// Writes a fingerprint as 16 hex digits (JSON `fingerprint`, watch's seen-set).
pub fn write_key(w: &mut impl Write, key: u64) {
    let _ = write!(w, "{key:016x}");
}

#[cfg(test)]
mod test {
    use super::*;

    fn names(g: &Group) -> Vec<String> {
        g.from_site().iter().map(|f| f.name.as_str().to_string()).collect()
    }

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
        assert_eq!(names(g), ["ext4_mb_init", "ext4_fill_super", "kmem_cache_free_bulk_a_caller"]);
        assert_eq!((g.entry, g.site_at, g.frames.len()), (Entry::Kmalloc, 3, 6));
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
        // alloc_inode is the inode's constructor, not the allocator: it is the site.
        assert_eq!((a.site(), a.entry), ("alloc_inode", Entry::Cache));
        assert_eq!((b.site(), b.entry), ("zr364xx_probe", Entry::Vmalloc));
        assert_eq!(b.cache(200704, 4096).to_string(), "vmalloc");
        assert!(in_cache(a, "sock_inode_cache", 1000) && !in_cache(b, "sock_inode_cache", 1000));
        assert!(!in_cache(a, "kmalloc-1k", 1024) && !in_cache(b, "kmalloc-1k", 1024));
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
        let n = |cache: &str, objsize| g.all().iter().filter(|g| in_cache(g, cache, objsize)).count();
        assert_eq!((n("kmalloc-128", 128), n("kmalloc-cg-128", 128), n("kmalloc-96", 96)), (3, 3, 0));
    }

    #[test]
    #[cfg_attr(miri, ignore = "fills the whole site table: over a minute under miri; run natively")]
    fn the_table_is_bounded() {
        let mut text = String::new();
        for i in 0..MAX_LEAK_GROUPS + 10 {
            text += &format!("unreferenced object 0x10 (size 8):\n  backtrace:\n    f{i}+0x1/0x2\n");
        }
        let g = groups(&text);
        assert_eq!(g.all().len(), MAX_LEAK_GROUPS);
        assert_eq!(g.untracked_objects, 10);
        let mut long = String::from("unreferenced object 0x10 (size 8):\n  backtrace:\n");
        for i in 0..BACKTRACE_FRAMES + 3 {
            long += &format!("    f{i}+0x1/0x2\n");
        }
        let g = groups(&long.repeat(2));
        assert_eq!((g.backtraces_cut, g.all()[0].frames.len()), (2, BACKTRACE_FRAMES));
    }

    #[test]
    fn an_object_without_backtrace_is_still_an_object() {
        // lkml-patch_07.txt: the second object was cut by the author after its hex dump
        let g = groups("unreferenced object 0xffff66f243fb2c80 (size 128):\n  hex dump (first 32 bytes):\n    62 75 73 5f 61 67 67 72 5f 63 6c 6b 00 00 00 00  bus_aggr_clk....");
        assert_eq!(g.objects(), 1);
        assert_eq!(g.all()[0].site(), "?");
    }

    /// The module: `foo_leak_alloc` does a `kmem_cache_alloc` from its own cache
    /// (size 200) and a `kmalloc(96)`, called from `foo_write` (6.1 arm64 frames).
    const FOO: &str = "unreferenced object 0xffff000004a1c000 (size 200):\n  comm \"sh\", pid 90, jiffies 4294892000 (age 8.1s)\n  backtrace:\n    [<(____ptrval____)>] slab_post_alloc_hook.constprop.0+0x84/0x8c\n    [<(____ptrval____)>] kmem_cache_alloc+0xd4/0x12c\n    [<(____ptrval____)>] foo_leak_alloc+0x4c/0xb8 [foo]\n    [<(____ptrval____)>] foo_write+0x54/0x6c [foo]\n    [<(____ptrval____)>] full_proxy_write+0x5c/0x90\n\
unreferenced object 0xffff000004a1d000 (size 128):\n  comm \"sh\", pid 90, jiffies 4294892000 (age 8.1s)\n  backtrace:\n    [<(____ptrval____)>] slab_post_alloc_hook.constprop.0+0x84/0x8c\n    [<(____ptrval____)>] __kmem_cache_alloc_node+0xc8/0x180\n    [<(____ptrval____)>] kmalloc_trace+0x38/0x9c\n    [<(____ptrval____)>] foo_leak_alloc+0x7c/0xb8 [foo]\n    [<(____ptrval____)>] foo_write+0x54/0x6c [foo]\n    [<(____ptrval____)>] full_proxy_write+0x5c/0x90\n";

    #[test]
    fn two_allocator_calls_in_one_function_are_two_groups() {
        let g = groups(&FOO.repeat(3));
        assert_eq!(g.all().len(), 2, "one group per allocation site");
        let (cache, heap) = (&g.all()[0], &g.all()[1]);
        assert_eq!((cache.site(), cache.entry, cache.objects), ("foo_leak_alloc [foo]", Entry::Cache, 3));
        assert_eq!((heap.site(), heap.entry, heap.objects), ("foo_leak_alloc [foo]", Entry::Kmalloc, 3));
        assert_eq!(cache.cache(200, 4096).to_string(), "own cache", "never a kmalloc bucket");
        assert_eq!(heap.cache(128, 4096).to_string(), "kmalloc-128");
        assert_eq!((cache.module(), cache.site_frame().unwrap().off), ("foo", Some(0x4c)));
        assert!(cache.from_site().iter().take(2).all(|f| f.marked), "module frames are marked");
        assert!(!cache.from_site()[2].marked);
        assert_eq!(cache.frames[cache.site_at as usize - 1].to_string(), "kmem_cache_alloc+0xd4");
        // Two kmalloc calls in one function: the offsets tell them apart.
        let two = FOO.replace("kmem_cache_alloc+0xd4/0x12c", "kmalloc_trace+0x38/0x9c");
        assert_eq!(groups(&two).all().len(), 2);
    }

    #[test]
    fn one_call_site_reached_from_two_lines_of_its_caller_is_one_group() {
        let other = FOO.replace("foo_write+0x54/0x6c", "foo_write+0x60/0x6c");
        let g = groups(&format!("{FOO}{other}"));
        assert_eq!(g.all().len(), 2);
        assert!(g.all().iter().all(|g| g.objects == 2));
        // Another caller function is another group.
        let ioctl = FOO.replace("foo_write+0x54/0x6c", "foo_ioctl+0x60/0x6c");
        assert_eq!(groups(&format!("{FOO}{ioctl}")).all().len(), 4);
    }

    #[test]
    fn match_keeps_and_marks_a_frame_named_like_the_allocator() {
        // A built-in driver helper named kmalloc-like: only --match keeps it.
        let text = "unreferenced object 0x10 (size 64):\n  backtrace:\n    kmalloc_trace+0x1/0x2\n    kmemdup+0x1/0x2\n    mydrv_probe+0x10/0x20\n";
        assert_eq!(groups(text).all()[0].site(), "mydrv_probe");
        let mut g = Groups { matcher: Matcher::new(&["kmemdup".into()]).unwrap(), ..Groups::default() };
        for l in text.lines() {
            g.line(l.as_bytes());
        }
        g.finish();
        let grp = &g.all()[0];
        assert_eq!((grp.site(), grp.from_site()[0].marked), ("kmemdup", true));
    }

    #[test]
    fn groups_pair_with_the_cache_that_grew_by_about_their_objects() {
        let g = groups(&FOO.repeat(10));
        let caches = [("kmalloc-128", 128, 9), ("foo_cache", 200, 11), ("kmalloc-256", 256, 10), ("dentry", 192, 400)];
        let p = pair(&g, caches.iter().copied());
        let named: Vec<_> = p.iter().map(|p| (g.all()[p.group as usize].entry, p.cache.as_str().to_string())).collect();
        assert_eq!(named, [(Entry::Cache, "foo_cache".to_string()), (Entry::Kmalloc, "kmalloc-128".to_string())]);
        assert!(about(995, 1000) && about(1000, 995) && !about(1000, 2100) && !about(100, 300) && !about(1, 0));
        // Nothing grew: no pair.
        assert!(pair(&g, [("foo_cache", 200, 0)].iter().copied()).is_empty());
    }
}

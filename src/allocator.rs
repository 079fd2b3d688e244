//! Which frames of a kmemleak backtrace are the kernel's allocator, and what they say
//! about the object: the frames a leak report drops from the top before it names a
//! culprit.
//!
//! The rule (README, "Who is blamed"): a frame is the allocator's when its function is
//! - a function of the memory allocator itself (mm/: slab, SLUB, SLAB, the page
//!   allocator, vmalloc, percpu, mempool, memblock) or of kmemleak (`kmemleak_*`,
//!   `create_object`), reached through any of its entry points and hooks;
//! - an inline wrapper of <linux/slab.h> and friends (`kmalloc`, `kzalloc`, `kcalloc`,
//!   `kmalloc_array`, `kmem_cache_zalloc`, `kvmalloc`...);
//! - an untyped byte-buffer helper that only allocates and fills memory the caller owns
//!   and frees with `kfree`/`kvfree` (`kstrdup`, `kmemdup`, `kasprintf`, `krealloc`,
//!   `memdup_user`, the `devm_k*` variants, and the kmalloc wrappers that only add
//!   accounting: `sock_kmalloc`, skb's `kmalloc_reserve`).
//!
//! A constructor of a typed object (`usb_alloc_urb`, `alloc_netdev_mqs`, `__alloc_skb`,
//! `alloc_cpumask_var_node`, `radix_tree_node_alloc`) is not the allocator: what leaked
//! is that object, and its constructor is the first thing a driver developer needs to
//! read. A name is never judged by a substring (`foo_leak_alloc`, `dwc3_alloc_event_buffers`
//! are drivers), and a frame of a module (`[mod]`) is never the allocator.
//!
//! Names are matched after the variant spellings of every era are taken off: leading
//! underscores (`__kmalloc`, `___kmalloc_large_node`), and the suffixes `_noprof`
//! (6.10+), `_node`, `_track_caller`, `_recursive`, `_lru`, `_gfp` in any order
//! (`__kmalloc_node_track_caller_noprof` is `kmalloc`). Compiler suffixes (`.constprop.0`,
//! `.isra.0`) were already cut by the parser.

/// What an allocator frame says about where the object lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entry {
    /// Nothing: a hook or an internal step (`slab_post_alloc_hook`, `kmemleak_alloc`), or
    /// a function that can take either road (`kvmalloc`, `mempool_alloc`).
    Hook,
    /// kmalloc: a `kmalloc-<n>` cache, or pages above the largest one.
    Kmalloc,
    /// `kmem_cache_alloc` of a cache of its own (the object size is that cache's).
    Cache,
    /// vmalloc space.
    Vmalloc,
    /// The page allocator (and memblock).
    Pages,
    /// Per-CPU memory.
    Percpu,
}

impl Entry {
    /// The word for it (JSON `entry`).
    pub fn word(self) -> &'static str {
        match self {
            Entry::Hook => "unknown",
            Entry::Kmalloc => "kmalloc",
            Entry::Cache => "kmem_cache",
            Entry::Vmalloc => "vmalloc",
            Entry::Pages => "pages",
            Entry::Percpu => "percpu",
        }
    }

    /// Folds the next allocator frame outwards (towards the caller) into what is known.
    /// The innermost frame that says anything decides, except that a kmalloc frame
    /// outside a cache allocation wins: kmalloc is built on `kmem_cache_alloc` in every
    /// era (`kmem_cache_alloc_trace`, 6.1's `__kmem_cache_alloc_node`, SLAB's
    /// `kmem_cache_alloc` under `__kmalloc`).
    pub fn then(self, outer: Entry) -> Entry {
        match (self, outer) {
            (Entry::Hook, o) => o,
            (Entry::Cache, Entry::Kmalloc) => Entry::Kmalloc,
            (s, _) => s,
        }
    }
}

/// Suffixes that spell a variant of the same entry point.
const VARIANTS: [&[u8]; 6] = [b"_noprof", b"_node", b"_track_caller", b"_recursive", b"_lru", b"_gfp"];

/// Allocator functions by their plain name (see [`plain`]), one space-separated list per
/// [`Entry`]: a list of names costs the board binary a third of a table of slices.
const FUNCS: [(&str, Entry); 6] = [
    // kmemleak and the slab allocators' internals and hooks (every era), and the functions
    // that can take either road (`kvmalloc`, `mempool_alloc`): the frames inside them decide.
    (
        concat!(
            "create_object slab_post_alloc_hook memcg_slab_post_alloc_hook ",
            "slab_alloc do_slab_alloc cache_alloc do_cache_alloc ",
            "cache_alloc_refill alloc_hooks kvmalloc kvzalloc kvcalloc ",
            "kvmalloc_array kvrealloc kvmemdup vmemdup_user mempool_alloc ",
            "pcpu_mem_zalloc",
        ),
        Entry::Hook,
    ),
    // kmalloc, its inline wrappers, and the untyped buffer helpers built on it.
    (
        concat!(
            "kmalloc kzalloc kcalloc kmalloc_array kmalloc_trace ",
            "kmalloc_node_trace kmalloc_cache do_kmalloc kmalloc_large ",
            "kmalloc_order kmalloc_order_trace kmem_cache_alloc_trace ",
            "kmem_cache_alloc_node_trace mempool_kmalloc krealloc do_krealloc ",
            "kstrdup kstrdup_const kstrndup kmemdup kmemdup_nul kmemdup_array ",
            "memdup_user memdup_user_nul strndup_user kasprintf kvasprintf ",
            "kvasprintf_const devm_kmalloc devm_kzalloc devm_kcalloc ",
            "devm_kmalloc_array devm_krealloc devm_kstrdup devm_kstrdup_const ",
            "devm_kmemdup devm_kasprintf devm_kvasprintf sock_kmalloc ",
            "kmalloc_reserve",
        ),
        Entry::Kmalloc,
    ),
    // A cache of its own (fs.h's `alloc_inode_sb` wraps `kmem_cache_alloc_lru`).
    ("kmem_cache_alloc kmem_cache_zalloc kmem_cache_alloc_bulk mempool_alloc_slab alloc_inode_sb", Entry::Cache),
    // vmalloc.
    (
        concat!(
            "vmalloc vzalloc vmalloc_user vmalloc_32 vmalloc_huge ",
            "vmalloc_node_range vmalloc_area_node vmalloc_array vcalloc",
        ),
        Entry::Vmalloc,
    ),
    // The page allocator and memblock.
    (
        concat!(
            "alloc_pages alloc_pages_exact get_free_pages get_zeroed_page ",
            "folio_alloc alloc_large_system_hash memblock_alloc ",
            "memblock_alloc_try_nid memblock_alloc_internal ",
            "memblock_alloc_range_nid memblock_phys_alloc_range",
        ),
        Entry::Pages,
    ),
    // Per-CPU memory.
    ("alloc_percpu pcpu_alloc pcpu_create_chunk", Entry::Percpu),
];

/// The plain name of an entry point: leading underscores and variant suffixes taken off.
pub fn plain(func: &[u8]) -> &[u8] {
    let start = func.iter().position(|&b| b != b'_').unwrap_or(func.len());
    let mut f = &func[start..];
    // At most one pass per suffix: `_node_track_caller_noprof` takes three.
    for _ in 0..VARIANTS.len() {
        match VARIANTS.iter().find_map(|v| f.strip_suffix(*v).filter(|r| !r.is_empty())) {
            Some(r) => f = r,
            None => break,
        }
    }
    f
}

/// What the allocator frame `func` says, or `None` if `func` is not the allocator's.
/// `module` is the frame's `[module]`: a module's frame is never the allocator's.
pub fn classify(func: &[u8], module: &[u8]) -> Option<Entry> {
    if !module.is_empty() {
        return None;
    }
    if func.starts_with(b"kmemleak_") {
        return Some(Entry::Hook);
    }
    let p = plain(func);
    FUNCS.iter().find(|(names, _)| names.split(' ').any(|n| n.as_bytes() == p)).map(|&(_, e)| e)
}

#[cfg(test)]
mod test {
    use super::*;

    fn c(f: &str) -> Option<Entry> {
        classify(f.as_bytes(), b"")
    }

    #[test]
    fn every_era_spells_kmalloc_its_own_way() {
        // Each name below is a top frame of a report in tests/corpus/kmemleak.
        for f in [
            "__kmalloc",                          // 2.6–6.0 (syzkaller-testdata_11)
            "__kmalloc_track_caller",             // kstrdup's (lkml-patch_03)
            "__kmalloc_node_track_caller",        // 6.1 (lkml-attachment_3)
            "kmem_cache_alloc_trace",             // before 6.1 (lkml-patch_02)
            "kmem_cache_alloc_node_trace",        // before 6.1 (syzkaller-testdata_05)
            "kmalloc_trace",                      // 6.1–6.9 (lkml-patch_09)
            "kmalloc_node_trace",                 // 6.1–6.9 (lkml-report_02)
            "__kmalloc_noprof",                   // 6.10+ (lkml-patch_06)
            "__kmalloc_cache_noprof",             // 6.11+ (syzbot-email_17)
            "__do_kmalloc_node",                  // 6.x (syzbot-email_18)
            "___kmalloc_large_node",              // 6.x (lkml-report_06)
            "__kmalloc_large_node_noprof",        // 6.10+ (lkml-report_06)
            "kmalloc_noprof",                     // inline, symbolized (syzbot-email_17)
            "kzalloc_noprof",                     // (syzkaller-testdata_14)
            "kcalloc",                            // (syzbot-email_11)
            "kmalloc_array",                      // (syzbot-email_11)
            "kmalloc_reserve",                    // skb data (lkml-report_04)
            "__kmalloc_reserve",                  // skb data (syzbot-email_07)
            "sock_kmalloc",                       // (syzkaller-testdata_09)
            "kstrdup",                            // (lkml-attachment_3)
            "kstrdup_const",                      // (syzkaller-testdata_07)
            "kvasprintf_const",                   // (syzbot-email_10)
            "kasprintf",                          // (lkml-report_13)
            "kmemdup",                            // (syzbot-email_04)
            "__kmalloc_node_track_caller_noprof", // 6.10+
            "devm_kmalloc",
            "krealloc_noprof",
        ] {
            assert_eq!(c(f), Some(Entry::Kmalloc), "{f}");
        }
    }

    #[test]
    fn hooks_caches_vmalloc_and_percpu() {
        for f in [
            "kmemleak_alloc",
            "kmemleak_alloc_recursive",
            "create_object",
            "slab_post_alloc_hook",
            "slab_alloc_node",
            "slab_alloc",
            "__kvmalloc_node_noprof",
            "kvmalloc_node",
            "mempool_alloc",
            "pcpu_mem_zalloc",
        ] {
            assert_eq!(c(f), Some(Entry::Hook), "{f}");
        }
        for f in ["kmem_cache_alloc", "kmem_cache_alloc_node", "kmem_cache_alloc_noprof", "kmem_cache_alloc_lru"] {
            assert_eq!(c(f), Some(Entry::Cache), "{f}");
        }
        // 6.1–6.5: kmalloc_trace's inner step; kmalloc_trace outside it decides.
        assert_eq!(c("__kmem_cache_alloc_node"), Some(Entry::Cache));
        assert_eq!(Entry::Hook.then(Entry::Cache).then(Entry::Kmalloc), Entry::Kmalloc);
        for f in ["__vmalloc_node_range", "__vmalloc_node", "vmalloc", "vzalloc"] {
            assert_eq!(c(f), Some(Entry::Vmalloc), "{f}");
        }
        for f in ["__alloc_percpu_gfp", "pcpu_alloc", "pcpu_create_chunk"] {
            assert_eq!(c(f), Some(Entry::Percpu), "{f}");
        }
        for f in ["alloc_pages", "__alloc_pages", "__get_free_pages", "alloc_pages_node", "memblock_alloc_try_nid"] {
            assert_eq!(c(f), Some(Entry::Pages), "{f}");
        }
        // The innermost kind wins over what is outside: percpu's chunk metadata is kmalloc.
        assert_eq!(Entry::Hook.then(Entry::Kmalloc).then(Entry::Percpu), Entry::Kmalloc);
        // kvmalloc that took the vmalloc road.
        assert_eq!(Entry::Hook.then(Entry::Vmalloc).then(Entry::Hook), Entry::Vmalloc);
    }

    #[test]
    fn drivers_named_like_allocators_are_not_the_allocator() {
        // The list, and typed constructors: the site, never dropped.
        for f in [
            "foo_leak_alloc",
            "dwc3_alloc_event_buffers",
            "usb_alloc_urb",
            "rkisp_alloc_buffer",
            "mydrv_kmem_get",
            "mydrv_slab_create",
            "alloc_netdev_mqs",
            "__alloc_skb",
            "alloc_skb",
            "__netdev_alloc_skb",
            "alloc_cpumask_var_node",
            "radix_tree_node_alloc",
            "idr_alloc_u32",
            "alloc_inode",
            "sk_prot_alloc",
            "of_device_alloc",
            "kmalloc_parameter_table",
            "_", // nothing left after the underscores
            "",
        ] {
            assert_eq!(c(f), None, "{f}");
        }
        // A module's frame is never the allocator's, whatever its name.
        assert_eq!(classify(b"kmalloc", b"mydrv"), None);
        assert_eq!(classify(b"kmemleak_alloc", b"kmemleak_test"), None);
    }

    #[test]
    fn plain_names() {
        assert_eq!(plain(b"__kmalloc_node_track_caller_noprof"), b"kmalloc");
        assert_eq!(plain(b"___kmalloc_large_node"), b"kmalloc_large");
        assert_eq!(plain(b"_node"), b"node", "a suffix never eats the whole name");
        assert_eq!(plain(b"__"), b"");
    }
}

//! The sampling loop allocates nothing once started: a counting global allocator watches
//! hundreds of samples of `watch`'s loop (read, parse, update the tables, format the line,
//! judge, print alerts).

mod common;

use kleak::cmd::watch::Watch;
use kleak::fake::FakeRoot;
use kleak::out::{Out, Style, Target};
use kleak::sample::{FsRoot, Sampler};
use kleak::trend::Policy;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;

struct Counting;

thread_local! {
    // Only the thread under test counts; the test harness allocates on its own threads.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(Cell::get)
}

fn steady_state(root: FsRoot, json: bool) -> u64 {
    let mut s = Sampler::new(root);
    s.sample(0.0);
    let mut w = Watch::new(s);
    let mut out = Out::new(Target::Null, Style { json, ..Style::default() });
    // Warm up: the first samples may still settle (nothing should allocate, but the
    // claim is about steady state).
    for i in 1..3 {
        w.step(&mut out, i as f64).unwrap();
    }
    let n = allocations(|| {
        for i in 3..303 {
            w.step(&mut out, i as f64).unwrap();
        }
    });
    assert_eq!(w.sampler.tables.samples, 303);
    assert!(out.lines >= 302);
    n
}

#[test]
fn live_proc_sampling_allocates_nothing_in_steady_state() {
    // The running kernel: caches change between samples, and that must not allocate either.
    assert_eq!(steady_state(FsRoot::live(), false), 0);
    assert_eq!(steady_state(FsRoot::live(), true), 0);
}

#[test]
fn captured_tree_sampling_allocates_nothing_in_steady_state() {
    let tree = common::fixtures().join("host-x86_64-6.18");
    assert_eq!(steady_state(FsRoot::tree(tree.to_str().unwrap()), false), 0);
}

/// A fake /proc where four caches leak for 100 s, rest 100 s, leak again, and one only
/// churns; `Unaccounted` grows with them.
fn leaky_samples() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v = Vec::new();
    let mut leaked = 0u64;
    for i in 0..420u64 {
        if (i / 100) % 2 == 0 {
            leaked += 500;
        }
        let mut slab = String::from(
            "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n",
        );
        for (k, name) in ["leak_a", "leak_b", "leak_c", "leak_d_with_a_rather_long_name_for_a_cache"].iter().enumerate()
        {
            let n = 1000 + leaked * (k as u64 + 1);
            writeln!(slab, "{name} {n} {n} 64 64 1 : tunables 0 0 0 : slabdata {0} {0} 0", n / 64 + 1).unwrap();
        }
        let churn = 5000 + (i % 20) * 400;
        writeln!(slab, "dentry {churn} {churn} 192 21 1 : tunables 0 0 0 : slabdata 1 1 0").unwrap();
        let mem = format!(
            "MemTotal: 4000000 kB\nMemFree: {} kB\nCached: 100000 kB\nSlab: 5000 kB\nSUnreclaim: 5000 kB\n",
            3_000_000 - leaked / 2
        );
        v.push((slab.into_bytes(), mem.into_bytes()));
    }
    v
}

fn alerts_allocate(json: bool) -> (u64, kleak::verdict::Tally) {
    let samples = leaky_samples();
    let root = FakeRoot::new();
    // Size the fake files for the largest sample first, so feeding them never grows a Vec.
    let big = samples.iter().map(|s| s.0.len().max(s.1.len())).max().unwrap();
    root.set("/proc/slabinfo", &vec![b' '; big]);
    root.set("/proc/meminfo", &vec![b' '; big]);
    root.set("/proc/vmstat", b"nr_free_pages 750000\nnr_slab_unreclaimable 1250\n");
    root.set("/proc/slabinfo", &samples[0].0);
    root.set("/proc/meminfo", &samples[0].1);
    let mut s = Sampler::new(root.clone());
    s.sample(0.0);
    let policy = Policy { window_secs: 32.0, min_growth: 64 * 1024, min_rate: 1.0, remind_secs: 20.0 };
    let mut w = Watch::with_policy(s, policy, false);
    w.batch.max = 2;
    let mut out = Out::new(Target::Null, Style { json, ..Style::default() });
    let mut step = |w: &mut Watch<FakeRoot>, i: usize| {
        root.set("/proc/slabinfo", &samples[i].0);
        root.set("/proc/meminfo", &samples[i].1);
        w.step(&mut out, i as f64).unwrap();
    };
    for i in 1..3 {
        step(&mut w, i);
    }
    let n = allocations(|| {
        for i in 3..samples.len() {
            step(&mut w, i);
        }
    });
    (n, w.verdicts.tally)
}

#[test]
fn judging_and_printing_alerts_allocates_nothing() {
    for json in [false, true] {
        let (n, tally) = alerts_allocate(json);
        assert_eq!(n, 0, "json {json}");
        // The path was really taken: suspects (more than the console shows), reminders,
        // recoveries.
        assert!(tally.suspect >= 8 && tally.reminder > 0 && tally.recovered >= 4, "{tally:?}");
    }
}

#[test]
fn the_counter_sees_allocations() {
    // The instrument works: a Vec push is counted.
    let n = allocations(|| {
        let v: Vec<u64> = Vec::with_capacity(16);
        std::hint::black_box(v);
    });
    assert_eq!(n, 1);
}

#[test]
fn kmemleak_dances_in_watch_allocate_nothing_after_start() {
    // A captured tree whose kmemleak file (a regular file) holds a real report: every dance
    // scans (appends to the file), reads and groups the report, and prints nothing new after
    // the first.
    let dir = std::env::temp_dir().join(format!("kleak-noalloc-km-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sys/kernel/debug")).unwrap();
    let report = common::corpus().join("kmemleak/syzbot-email_10.txt");
    std::fs::copy(report, dir.join("sys/kernel/debug/kmemleak")).unwrap();
    let root = FsRoot::tree(dir.to_str().unwrap());
    let session = kleak::kmemleak::session(&root, false).unwrap();
    let mut w = kleak::cmd::leaks::LeakWatch::start(session, 10.0, 0.0);
    let mut out = Out::new(Target::Null, Style::default());
    // The first dance (warm-up) prints the report's groups.
    let mut t = 0.0;
    while w.dances == 0 {
        w.poll(&mut out, t, t).unwrap();
        t += 1.0;
    }
    assert!(w.new_groups >= 2, "{}", w.new_groups);
    let n = allocations(|| {
        while w.dances < 20 {
            w.poll(&mut out, t, t).unwrap();
            t += 1.0;
        }
    });
    assert_eq!(w.groups.objects(), 21, "the report is read and grouped each dance");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(n, 0);
}

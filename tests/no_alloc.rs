//! The sampling loop allocates nothing once started: a counting global allocator watches
//! hundreds of samples of `watch`'s loop (read, parse, update the tables, format the line,
//! judge, print alerts).

mod common;

use kleak::engine::watch::Watch;
use kleak::fake::FakeRoot;
use kleak::kmsg::Kmsg;
use kleak::out::export::PromFile;
use kleak::out::ringlog::{LogOpts, RingLog};
use kleak::out::{Out, Style, Target};
use kleak::procs::Procs;
use kleak::sample::{FsRoot, Root, Sampler};
use kleak::sys::{File, Mode};
use kleak::trend::Policy;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

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

/// What `watch` allocates before its loop: the tables, the trend state, the read buffer,
/// each once. A count, so a change that allocates per cache or per line at start (or grows
/// the count for another reason) is noticed: the bound is the count measured, so a change
/// that raises it says why here.
#[test]
fn starting_watch_allocates_a_fixed_few_blocks() {
    let tree = common::fixtures().join("host-x86_64-6.18");
    let n = allocations(|| {
        let mut s = Sampler::new(FsRoot::tree(tree.to_str().unwrap()));
        s.sample(0.0);
        let mut w = Watch::new(s);
        let mut out = Out::new(Target::Null, Style::default());
        w.step(&mut out, 1.0).unwrap();
        assert_eq!(w.sampler.tables.slab.entries().len(), 235);
    });
    assert!(n <= STARTUP_ALLOCATIONS, "{n} allocations to start watch, more than {STARTUP_ALLOCATIONS}");
    assert!(n > 0, "the tables are allocated once at start");
}

/// Allocations `watch` makes to start, 235 caches: 10 blocks, measured (issue 21).
const STARTUP_ALLOCATIONS: u64 = 10;

/// A fake /proc where four caches leak for 100 s, rest 100 s, leak again, and one only
/// churns; `Unaccounted` grows with them.
fn leaky_samples() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v = Vec::new();
    let mut leaked = 0u64;
    for i in 0..420u64 {
        if (i / 100) % 2 == 0 {
            leaked += 500;
        }
        let (slab, mem) = common::leaking_proc(
            &["leak_a", "leak_b", "leak_c", "leak_d_with_a_rather_long_name_for_a_cache"],
            leaked,
            i,
        );
        v.push((slab.into_bytes(), mem.into_bytes()));
    }
    v
}

/// Everything issue 6 and 7 add to a watch: a ring log that writes a record every sample
/// and flushes every other second, a stand-in /dev/kmsg, a Prometheus file, CSV rows, and
/// processes (`--procs` scans /proc when `pids` is empty). Returns the temporary directory.
fn outfit<R: Root + Clone>(w: &mut Watch<R>, name: &str, procs_root: Option<(R, &[u32])>) -> common::TempDir {
    let dir = common::TempDir::new(&format!("noalloc-{name}"));
    std::fs::create_dir_all(dir.join("dev")).unwrap();
    std::fs::write(dir.join("dev/kmsg"), "").unwrap();
    let opts =
        LogOpts { path: dir.join("ring").to_str().unwrap().into(), size: 1 << 20, every_secs: 0.0, sync_secs: 2.0 };
    w.log = Some(RingLog::open(opts, 0.0).unwrap());
    w.kmsg = Some(Kmsg::open(dir.to_str().unwrap()).unwrap());
    w.prom = Some(PromFile::new(dir.join("kleak.prom").to_str().unwrap()));
    w.csv = Some(Out::new(Target::Null, Style::default()));
    if let Some((root, pids)) = procs_root {
        w.follow(Procs::new(root, pids), 8);
    }
    dir
}

/// Appends an OOM report to the stand-in kernel log, without allocating.
fn oom(kmsg: &File) {
    let report = b"6,1,1,-;leaky invoked oom-killer: gfp_mask=0x140cca, order=0\n6,2,2,-;Unreclaimable slab info:\n3,3,3,-;Out of memory: Killed process 153 (leaky)\n";
    kmsg.write_all(report).unwrap();
}

#[test]
fn logging_exporting_and_following_processes_allocate_nothing() {
    // The live kernel, every user process followed (the /proc scan), the log written every
    // sample, an OOM report in the middle.
    let mut s = Sampler::new(FsRoot::live());
    s.sample(0.0);
    let mut w = Watch::new(s);
    let dir = outfit(&mut w, "live", Some((FsRoot::live(), &[][..])));
    let kmsg_path = dir.join("dev/kmsg").to_str().unwrap().to_string();
    let kmsg = File::open(&[kmsg_path.as_bytes()], Mode::Append).unwrap();
    let mut out = Out::new(Target::Null, Style::default());
    for i in 1..3 {
        w.step(&mut out, i as f64).unwrap();
    }
    let n = allocations(|| {
        for i in 3..303 {
            if i == 150 {
                oom(&kmsg);
            }
            w.step(&mut out, i as f64).unwrap();
        }
    });
    let log = w.log.as_ref().unwrap();
    assert!(log.records >= 300 && log.syncs >= 100 && log.ooms == 1, "{} {} {}", log.records, log.syncs, log.ooms);
    assert!(w.procs.as_ref().unwrap().entries().len() > 1);
    assert!(dir.join("kleak.prom").exists());
    assert_eq!(n, 0);
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
    // Two named processes: one leaks with the caches, one stays put.
    for (pid, comm, pages) in [(100u32, "leakyd", 1000), (200, "steady", 3000)] {
        let stat = format!("{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 {pid} 0 0");
        root.set(&format!("/proc/{pid}/stat"), stat.as_bytes());
        let statm = format!("{:>12} {:>12} 10 5 0 {:>12} 0", pages * 2, pages, pages);
        root.set(&format!("/proc/{pid}/statm"), statm.as_bytes());
    }
    let policy = Policy { window_secs: 32.0, min_growth: 64 * 1024, min_rate: 1.0, remind_secs: 20.0 };
    let mut w = Watch::with_policy(s, policy, false);
    w.batch.max = 2;
    let dir = outfit(&mut w, if json { "json" } else { "text" }, Some((root.clone(), &[100, 200][..])));
    // Process figures for every sample, made before counting (formatting allocates).
    let statms: Vec<Vec<u8>> = (0..samples.len())
        .map(|i| {
            let leaked = 500 * (i as u64 + 1);
            let pages = 1000 + leaked / 4;
            format!("{:>12} {:>12} 10 5 0 {:>12} 0", pages * 2, pages, pages).into_bytes()
        })
        .collect();
    let mut out = Out::new(Target::Null, Style { json, ..Style::default() });
    let mut step = |w: &mut Watch<FakeRoot>, i: usize| {
        root.set("/proc/slabinfo", &samples[i].0);
        root.set("/proc/meminfo", &samples[i].1);
        root.set("/proc/100/statm", &statms[i]);
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
    assert!(w.log.as_ref().unwrap().records > 400);
    // The ring holds the alerts, the leaking process's among them, and not the steady one.
    let ring = dir.join("ring");
    let scan = kleak::ring::scan(ring.to_str().unwrap()).unwrap();
    let f = File::open(&[ring.to_str().unwrap().as_bytes()], Mode::Read).unwrap();
    let mut buf = vec![0u8; kleak::ring::HEADER + kleak::ring::MAX_PAYLOAD];
    let payloads: Vec<String> = scan
        .records
        .iter()
        .map(|r| String::from_utf8_lossy(kleak::ring::payload(&f, r, &mut buf).unwrap()).into_owned())
        .collect();
    assert!(payloads.iter().any(|p| p.contains(r#""source":"process","name":"leakyd[100] rss","state":"suspect""#)));
    assert!(!payloads.iter().any(|p| p.contains("steady[200] ") && p.contains(r#""kind":"alert""#)));
    (n, w.verdicts.tally)
}

#[test]
fn judging_and_printing_alerts_allocates_nothing() {
    for json in [false, true] {
        let (n, tally) = alerts_allocate(json);
        assert_eq!(n, 0, "json {json}");
        // The path was really taken: suspects (more than the console shows), reminders,
        // recoveries; the leaking process among them.
        assert!(tally.suspect >= 9 && tally.reminder > 0 && tally.recovered >= 4, "{tally:?}");
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
    let dir = common::TempDir::new("noalloc-km");
    std::fs::create_dir_all(dir.join("sys/kernel/debug")).unwrap();
    let report = common::corpus().join("kmemleak/syzbot-email_10.txt");
    std::fs::copy(report, dir.join("sys/kernel/debug/kmemleak")).unwrap();
    let root = FsRoot::tree(dir.str());
    let session = kleak::kmemleak::session(&root, false).unwrap();
    let mut w = kleak::engine::leaks::LeakWatch::start(session, 10.0, 0.0);
    let mut out = Out::new(Target::Null, Style::default());
    let tables = kleak::tables::Tables::default();
    // The first dance (warm-up) prints the report's groups.
    let mut t = 0.0;
    while w.dances == 0 {
        w.poll(&mut out, t, t, &tables).unwrap();
        t += 1.0;
    }
    assert!(w.new_groups >= 2, "{}", w.new_groups);
    let n = allocations(|| {
        while w.dances < 20 {
            w.poll(&mut out, t, t, &tables).unwrap();
            t += 1.0;
        }
    });
    assert_eq!(w.groups.objects(), 21, "the report is read and grouped each dance");
    assert_eq!(n, 0);
}

#[test]
fn serving_metrics_allocates_nothing_per_request() {
    // `watch --listen`: a client thread scrapes (and asks badly) while this thread samples
    // and rests; only this thread's allocations are counted, the client's are its own.
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicU32, Ordering};
    let tree = common::fixtures().join("host-x86_64-6.18");
    let mut s = Sampler::new(FsRoot::tree(tree.to_str().unwrap()));
    s.sample(0.0);
    let mut w = Watch::new(s);
    w.server = Some(kleak::out::http::Server::bind("127.0.0.1:0".parse().unwrap()).unwrap());
    let addr = w.server.as_ref().unwrap().addr;
    let asked = std::sync::Arc::new(AtomicU32::new(0));
    let client = {
        let asked = asked.clone();
        std::thread::spawn(move || {
            for i in 0..300u32 {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                let req: &[u8] = match i % 3 {
                    0 | 1 => b"GET /metrics HTTP/1.1\r\nHost: kleak\r\n\r\n",
                    _ => b"POST /metrics HTTP/1.1\r\n\r\n",
                };
                c.write_all(req).unwrap();
                let mut reply = Vec::new();
                c.read_to_end(&mut reply).unwrap();
                assert!(reply.starts_with(if i % 3 < 2 { b"HTTP/1.1 200" } else { b"HTTP/1.1 405" }));
                asked.store(i + 1, Ordering::Relaxed);
            }
        })
    };
    let mut out = Out::new(Target::Null, Style::default());
    let mut i = 1;
    // Warm up: the first scrapes (a first render of the body).
    while asked.load(Ordering::Relaxed) < 10 {
        w.step(&mut out, i as f64).unwrap();
        w.rest(0.005);
        i += 1;
    }
    let n = allocations(|| {
        while asked.load(Ordering::Relaxed) < 300 {
            w.step(&mut out, i as f64).unwrap();
            w.rest(0.005);
            i += 1;
        }
    });
    client.join().unwrap();
    let stats = w.server.as_ref().unwrap().stats;
    assert_eq!((stats.served, stats.refused, stats.dropped), (200, 100, 0), "{stats:?}");
    assert_eq!(n, 0, "{i} samples");
}

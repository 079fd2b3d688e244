//! Sampling through a fake proc root: the skip-unchanged-lines path gives exactly what a
//! fresh parse gives, and faults (short reads, EINTR, EAGAIN, EACCES, vanished files,
//! caches coming and going, more caches than capacity, overlong lines) never lose state.

mod common;

use kleak::fake::{FakeRoot, Faults};
use kleak::sample::{FileStatus, Sampler};
use kleak::sys::Errno;
use kleak::tables::{Source, Tables};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(common::fixtures().join("host-x86_64-6.18/proc").join(name)).unwrap()
}

/// A fresh parse of `text` as `src`, the reference.
fn fresh(src: Source, text: &str) -> Tables {
    let mut t = Tables::default();
    t.begin();
    for l in text.split_terminator('\n') {
        t.line(src, l.as_bytes());
    }
    t.end_source(src, true);
    t.end(0.0);
    t
}

fn assert_same_slabs(s: &Tables, want: &Tables, ctx: &str) {
    let got: Vec<_> =
        s.slab.entries().iter().filter(|e| e.presence.now).map(|e| (e.name.as_str().to_string(), e.cur)).collect();
    let want: Vec<_> = want.slab.entries().iter().map(|e| (e.name.as_str().to_string(), e.cur)).collect();
    let mut g = got.clone();
    let mut w = want.clone();
    g.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.num_objs.cmp(&b.1.num_objs)));
    w.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.num_objs.cmp(&b.1.num_objs)));
    assert_eq!(g, w, "{ctx}");
}

/// Rewrites the numbers of every `step`-th row so they differ from the sample before.
fn churn(text: &str, round: usize) -> String {
    let mut out = String::new();
    for (i, l) in text.lines().enumerate() {
        if i >= 2 && (i + round) % 3 == 0 {
            let mut f: Vec<String> = l.split_whitespace().map(str::to_string).collect();
            let bump = (round * 7 + i) as u64 % 50;
            let active: u64 = f[1].parse::<u64>().unwrap() + bump;
            let num: u64 = f[2].parse::<u64>().unwrap() + bump + 1;
            f[1] = active.to_string();
            f[2] = num.to_string();
            out.push_str(&f.join(" "));
        } else if i >= 2 && (i + round) % 11 == 0 {
            continue; // the cache is gone this round
        } else {
            out.push_str(l);
        }
        out.push('\n');
        if i == 5 && round % 2 == 1 {
            out.push_str("appearing_cache   3   4   64   64  1 : tunables 0 0 0 : slabdata 1 1 0\n");
        }
    }
    out
}

#[test]
fn skipping_unchanged_lines_gives_what_a_fresh_parse_gives() {
    let root = FakeRoot::new();
    let base = fixture("slabinfo");
    root.set("/proc/slabinfo", base.as_bytes());
    root.set("/proc/vmstat", fixture("vmstat").as_bytes());
    root.set("/proc/meminfo", fixture("meminfo").as_bytes());
    root.file("/proc/slabinfo").borrow_mut().faults =
        Faults { max_read: 997, eintr_every: 5, eagain_every: 7, ..Faults::default() };
    let mut s = Sampler::new(root.clone());
    for round in 0..40 {
        // Every third round repeats the previous text exactly (everything skipped).
        let text = if round % 3 == 2 { churn(&base, round - 1) } else { churn(&base, round) };
        root.set("/proc/slabinfo", text.as_bytes());
        s.sample(round as f64);
        assert_eq!(s.status[0], FileStatus::Ok);
        assert_same_slabs(&s.tables, &fresh(Source::Slabinfo, &text), &format!("round {round}"));
        assert_eq!(s.tables.malformed(), 0);
        assert_eq!(s.tables.slabinfo_parser.stats.lines as usize, text.lines().count(), "round {round}: lines counted");
    }
}

/// Found by fuzzing: an unchanged row under a changed header means other figures, so it
/// must be parsed again, not skipped as known.
#[test]
fn unchanged_rows_under_a_changed_header_are_read_again() {
    let rows = "kmalloc-64   320 322 64 63 1 : tunables 0 0 0 : slabdata 5 5 0\n\
                dentry       918 918 192 21 1 : tunables 0 0 0 : slabdata 44 44 0\n";
    let v21 = "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";
    // A proposed layout with a column before <objsize>.
    let moved = "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <extra> <objsize> <objperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";
    let root = FakeRoot::new();
    root.set("/proc/vmstat", fixture("vmstat").as_bytes());
    root.set("/proc/meminfo", fixture("meminfo").as_bytes());
    root.set("/proc/slabinfo", b"");
    let mut s = Sampler::new(root.clone());
    for (round, header) in [v21, moved, moved, v21].iter().enumerate() {
        let text = format!("{header}{rows}");
        root.set("/proc/slabinfo", text.as_bytes());
        s.sample(round as f64);
        let want = fresh(Source::Slabinfo, &text);
        assert_same_slabs(&s.tables, &want, &format!("round {round}"));
        let kmalloc = s.tables.slab.entries().iter().find(|e| e.name.as_str() == "kmalloc-64").unwrap();
        assert_eq!(kmalloc.cur.objsize, if *header == v21 { 64 } else { 63 }, "round {round}");
    }
}

#[test]
fn gauges_skip_unchanged_lines_and_still_see_every_change() {
    let root = FakeRoot::new();
    let vm = fixture("vmstat");
    root.set("/proc/vmstat", vm.as_bytes());
    let mut s = Sampler::new(root.clone());
    s.sample(0.0);
    for round in 1..20u64 {
        let text: String = vm
            .lines()
            .enumerate()
            .map(|(i, l)| {
                let (k, v) = l.split_once(' ').unwrap();
                let v: u64 = v.parse().unwrap();
                let v = if (i as u64 + round) % 4 == 0 { v + round } else { v };
                format!("{k} {v}\n")
            })
            .collect();
        root.set("/proc/vmstat", text.as_bytes());
        s.sample(round as f64);
        let want = fresh(Source::Vmstat, &text);
        for (g, w) in s.tables.vmstat.entries().iter().zip(want.vmstat.entries()) {
            assert_eq!((g.name.as_str(), g.cur), (w.name.as_str(), w.cur), "round {round}");
        }
    }
}

#[test]
fn without_permission_slab_data_is_reported_and_the_rest_is_sampled() {
    let root = FakeRoot::new();
    root.set("/proc/slabinfo", fixture("slabinfo").as_bytes());
    root.file("/proc/slabinfo").borrow_mut().faults.open_error = Some(Errno::EACCES);
    root.set("/proc/meminfo", fixture("meminfo").as_bytes());
    let mut s = Sampler::new(root);
    s.sample(0.0);
    assert_eq!(s.status[Source::Slabinfo.index()], FileStatus::NeedsRoot);
    assert_eq!(s.status[Source::Vmstat.index()], FileStatus::Missing);
    assert!(FileStatus::NeedsRoot.explain(Source::Slabinfo).unwrap().contains("needs root"));
    assert!(FileStatus::Missing.explain(Source::Slabinfo).unwrap().contains("CONFIG_SLUB_DEBUG"));
    assert_eq!(s.tables.have, [false, false, true]);
    assert!(s.tables.meminfo.cur("SUnreclaim").is_some());
}

#[test]
fn a_failing_read_keeps_the_last_values_and_recovers() {
    let root = FakeRoot::new();
    let text = fixture("slabinfo");
    root.set("/proc/slabinfo", text.as_bytes());
    let mut s = Sampler::new(root.clone());
    s.sample(0.0);
    let before: Vec<_> = s.tables.slab.entries().iter().map(|e| e.cur).collect();
    root.file("/proc/slabinfo").borrow_mut().faults.read_error = Some(Errno::EIO);
    s.sample(1.0);
    assert_eq!(s.status[0], FileStatus::Failed(Errno::EIO));
    assert!(s.status_changed[0], "reported once, when it changed");
    let during: Vec<_> = s.tables.slab.entries().iter().map(|e| e.cur).collect();
    assert_eq!(before, during, "a failed read is not 'every cache vanished'");
    assert!(s.tables.slab.entries().iter().all(|e| e.presence.now));
    s.sample(2.0);
    assert!(!s.status_changed[0], "not reported again");
    root.file("/proc/slabinfo").borrow_mut().faults.read_error = None;
    s.sample(3.0);
    assert_eq!(s.status[0], FileStatus::Ok);
    assert!(s.status_changed[0]);
}

#[test]
fn more_caches_than_capacity_are_counted_not_fatal() {
    let cap = kleak::limits::MAX_CACHES;
    let mut text = String::from("slabinfo - version: 2.1\n");
    for i in 0..cap + 50 {
        text.push_str(&format!("cache_{i} 1 2 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n"));
    }
    let root = FakeRoot::new();
    root.set("/proc/slabinfo", text.as_bytes());
    let mut s = Sampler::new(root);
    for t in 0..3 {
        s.sample(t as f64);
        assert_eq!(s.tables.slab.entries().len(), cap);
        assert_eq!(s.tables.slab.overflow.untracked, 50);
    }
}

#[test]
fn lines_longer_than_the_read_buffer_are_skipped_and_counted() {
    let mut text = String::from("slabinfo - version: 2.1\nok 1 2 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n");
    text.push_str(&format!(
        "{} 1 2 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n",
        "x".repeat(kleak::limits::READ_BUF_BYTES * 2)
    ));
    text.push_str("after 1 2 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n");
    let root = FakeRoot::new();
    root.set("/proc/slabinfo", text.as_bytes());
    let mut s = Sampler::new(root);
    s.sample(0.0);
    let names: Vec<_> = s.tables.slab.entries().iter().map(|e| e.name.as_str().to_string()).collect();
    assert_eq!(names, ["ok", "after"]);
    assert_eq!(s.read_stats[0].overlong, 1);
}

#[test]
fn counters_going_backwards_are_not_negative_rates() {
    let root = FakeRoot::new();
    root.set("/proc/vmstat", b"nr_free_pages 100\npgfault 1000\n");
    let mut s = Sampler::new(root.clone());
    s.sample(0.0);
    root.set("/proc/vmstat", b"nr_free_pages 90\npgfault 10\n");
    s.sample(1.0);
    let mut out = kleak::out::Out::new(
        kleak::out::Target::Memory(Vec::new()),
        kleak::out::Style { json: true, ..Default::default() },
    );
    kleak::out::view::changes(&mut out, &s.tables, kleak::figures::Span::Interval, "diff", false).unwrap();
    let text = String::from_utf8(out.memory().to_vec()).unwrap();
    assert!(!text.contains("pgfault"), "a counter that went backwards (reset) gets no rate: {text}");
    assert!(text.contains("\"name\":\"nr_free_pages\""), "{text}");
}

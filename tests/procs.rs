//! Process footprints on the running kernel: this test process grows and is seen growing,
//! a child that exits is reported once, the /proc scan skips kernel threads; and every
//! statm/status capture in the corpus parses.

mod common;

use kleak::parse::proc_pid;
use kleak::procs::{Event, Procs};
use kleak::sample::FsRoot;
use kleak::sys;

#[test]
fn a_growing_process_is_seen_growing() {
    let me = std::process::id();
    let mut p = Procs::new(FsRoot::live(), &[me]);
    p.sample(sys::page_size());
    let before = p.entries()[0].cur.rss;
    assert!(before > 0);
    // 64 MiB, touched.
    let v = std::hint::black_box(vec![1u8; 64 << 20]);
    p.sample(sys::page_size());
    let e = &p.entries()[0];
    assert!(e.cur.rss - before >= 60 << 20, "rss {} -> {}", before, e.cur.rss);
    assert!(e.cur.data - e.prev.data >= 60 << 20);
    drop(v);
}

#[test]
fn a_child_that_exits_is_reported_once() {
    let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    let pid = child.id();
    let mut p = Procs::new(FsRoot::live(), &[pid]);
    p.sample(sys::page_size());
    assert!(p.events().is_empty(), "{:?}", p.events());
    assert_eq!(p.entries()[0].comm.as_str(), "sleep");
    child.kill().unwrap();
    child.wait().unwrap();
    p.sample(sys::page_size());
    assert!(matches!(p.events(), [Event::Exited { pid: x, .. }] if *x == pid), "{:?}", p.events());
    p.sample(sys::page_size());
    assert!(p.events().is_empty());
}

#[test]
fn the_proc_scan_finds_user_processes_and_skips_kernel_threads() {
    let mut p = Procs::new(FsRoot::live(), &[]);
    p.sample(sys::page_size());
    let me = std::process::id();
    assert!(p.entries().iter().any(|e| e.pid == me && e.alive));
    // PID 2 is kthreadd on every Linux system since 2.6.
    assert!(!p.entries().iter().any(|e| e.pid == 2));
    // A process that exits between its stat and statm reads is tracked as not alive.
    assert!(p.entries().iter().filter(|e| e.alive).all(|e| e.cur.vm > 0));
}

#[test]
fn every_corpus_statm_and_status_parses() {
    for e in common::manifest("proc-pid") {
        let rel = e["file"].as_str().unwrap();
        let text = std::fs::read(common::corpus().join(rel)).unwrap();
        if rel.contains("statm") {
            let s = proc_pid::statm(kleak::parse::trim(&text)).unwrap_or_else(|| panic!("{rel}"));
            assert!(s.resident <= s.size || s.size == 0, "{rel}");
        } else {
            let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            let value = |k: &str| lines.iter().find_map(|l| proc_pid::status_value(l, k));
            let kernel_thread = value("VmSize").is_none();
            if !kernel_thread {
                let (rss, size) = (value("VmRSS").unwrap(), value("VmSize").unwrap());
                assert!(rss <= size, "{rel}: VmRSS {rss} > VmSize {size}");
                assert!(value("VmData").is_some(), "{rel}");
            }
            assert!(lines.iter().any(|l| l.starts_with(b"Name:")), "{rel}");
        }
    }
}

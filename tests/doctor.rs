//! `kleak doctor` against captured trees that lack each piece, and one that has them all.

mod common;

use common::{fixtures, json_lines, run};
use std::fs;
use std::path::Path;

/// A tree with everything kleak wants; `without` names pieces to leave out.
fn tree(tag: &str, without: &[&str]) -> common::TempDir {
    let t = common::TempDir::new(&format!("doctor-{tag}"));
    let p = |rel: &str| t.join(rel);
    fs::create_dir_all(p("proc/sys/kernel")).unwrap();
    for f in ["slabinfo", "vmstat", "meminfo", "uptime", "sys/kernel/osrelease"] {
        if !without.contains(&f) {
            fs::copy(fixtures().join("host-x86_64-6.18/proc").join(f), p("proc").join(f)).unwrap();
        }
    }
    let mut cmdline = String::from("console=ttyAMA0 slab_nomerge slab_debug=U");
    if without.contains(&"kmemleak=on") {
        cmdline.push_str(" kmemleak=off");
    }
    fs::write(p("proc/cmdline"), cmdline + "\n").unwrap();
    if !without.contains(&"debugfs") {
        fs::write(p("proc/mounts"), "proc /proc proc rw 0 0\ndebugfs /sys/kernel/debug debugfs rw 0 0\n").unwrap();
        fs::create_dir_all(p("sys/kernel/debug/slab/kmalloc-64")).unwrap();
        fs::write(p("sys/kernel/debug/slab/kmalloc-64/alloc_traces"), "").unwrap();
        if !without.contains(&"kmemleak") {
            fs::write(p("sys/kernel/debug/kmemleak"), "").unwrap();
        }
    }
    if !without.contains(&"sysfs-slab") {
        fs::create_dir_all(p("sys/kernel/slab/:0000064")).unwrap();
        std::os::unix::fs::symlink(":0000064", p("sys/kernel/slab/kmalloc-64")).unwrap();
    }
    fs::create_dir_all(p("sys/module/kmemleak/parameters")).unwrap();
    fs::write(p("sys/module/kmemleak/parameters/verbose"), "N\n").unwrap();
    t
}

fn doctor(t: &Path) -> (i32, String, String) {
    let r = run(&["--root", t.to_str().unwrap(), "doctor"]);
    for l in r.1.lines() {
        assert!(l.len() <= 80, "wider than 80 columns: {l:?}");
    }
    r
}

#[test]
fn a_tree_with_everything_is_ready() {
    let t = tree("all", &[]);
    let (code, out, err) = doctor(&t);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ready for slab and kmemleak work"), "{out}");
    assert!(!out.contains("MISSING") && !out.contains("warn"), "{out}");
    assert!(out.contains("SLUB, slabinfo 2.1, 235 caches"), "{out}");
    assert!(out.contains("off (slab_nomerge)"), "{out}");
    assert!(out.contains("1 caches, 1 merged names"), "{out}");
    assert!(out.contains("1 caches record allocation call sites"), "{out}");
    let (code, out, _) = run(&["--root", t.str(), "--json", "doctor"]);
    assert_eq!(code, 0);
    let v = json_lines(&out);
    assert!(v.iter().filter(|o| o["kind"] == "check").all(|o| o["status"] == "ok"));
    assert_eq!(v.last().unwrap()["ready"], true);
}

#[test]
fn each_missing_piece_is_named_with_its_fix_and_exit_3() {
    let cases: &[(&str, &str, &str)] = &[
        ("slabinfo", "MISSING slabinfo", "CONFIG_SLUB_DEBUG=y"),
        ("debugfs", "MISSING debugfs", "mount -t debugfs none /sys/kernel/debug"),
        ("kmemleak", "MISSING kmemleak", "CONFIG_DEBUG_KMEMLEAK=y"),
        ("kmemleak=on", "MISSING kmemleak", "boot with kmemleak=on"),
    ];
    for (piece, status, fix) in cases {
        let t = tree(piece, &[piece]);
        let (code, out, _) = doctor(&t);
        assert_eq!(code, 3, "without {piece}: {out}");
        assert!(out.contains(status), "without {piece}: {out}");
        let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(fix), "without {piece}: {out}");
        assert!(out.contains("not ready, missing:"), "{out}");
    }
}

#[test]
fn optional_pieces_are_warnings_not_failures() {
    let t = tree("sysfs", &["sysfs-slab"]);
    fs::write(t.join("proc/cmdline"), "console=ttyS0\n").unwrap();
    fs::remove_dir_all(t.join("sys/kernel/debug/slab")).unwrap();
    let (code, out, _) = doctor(&t);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warn    slab merging"), "{out}");
    assert!(out.contains("slab_nomerge"), "{out}");
    assert!(out.contains("warn    slab aliases"), "{out}");
    assert!(out.contains("warn    alloc traces") && out.contains("slab_debug=U"), "{out}");
}

//! `kleak doctor` against captured trees that lack each piece, and one that has them all.

mod common;

use common::{fixtures, json_lines, run, TempDir};
use std::fs;
use std::path::Path;

/// A tree with everything kleak wants; `without` names pieces to leave out.
fn tree(tag: &str, without: &[&str]) -> TempDir {
    let t = TempDir::new(&format!("doctor-{tag}"));
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
    // The lab kernel's config (CONFIG_DEBUG_KMEMLEAK=y).
    if !without.contains(&"config.gz") {
        fs::copy(fixtures().join("gzip/lab-6.1.config.gz"), p("proc/config.gz")).unwrap();
    }
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

#[test]
fn kmemleak_is_named_missing_before_debugfs_is_mounted() {
    // Built in (the lab's config.gz): mount debugfs.
    let t = tree("nodebugfs-built", &["debugfs"]);
    let (code, out, _) = doctor(&t);
    assert_eq!(code, 3, "{out}");
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("MISSING kmemleak built in (/proc/config.gz); debugfs is not mounted"), "{out}");
    assert!(flat.contains("ok kernel config /proc/config.gz: CONFIG_DEBUG_KMEMLEAK=y"), "{out}");
    // Not built (this x86_64 host's config.gz): the option, not the mount.
    fs::copy(fixtures().join("gzip/host.config.gz"), t.join("proc/config.gz")).unwrap();
    let (code, out, _) = doctor(&t);
    assert_eq!(code, 3, "{out}");
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            "MISSING kmemleak not built into this kernel (/proc/config.gz) fix: kernel option CONFIG_DEBUG_KMEMLEAK=y"
        ),
        "{out}"
    );
    // Even with debugfs mounted and a kmemleak file (a fake tree), the config outranks it.
    let t = tree("built-not", &[]);
    fs::copy(fixtures().join("gzip/host.config.gz"), t.join("proc/config.gz")).unwrap();
    let (code, out, _) = doctor(&t);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("not built into this kernel"), "{out}");
}

#[test]
fn without_config_gz_kallsyms_tells() {
    let t = tree("kallsyms", &["debugfs", "config.gz"]);
    fs::write(t.join("proc/kallsyms"), "0000000000000000 T _text\n0000000000000000 T kmem_cache_alloc\n").unwrap();
    let (code, out, _) = doctor(&t);
    assert_eq!(code, 3, "{out}");
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            "warn kernel config no /proc/config.gz (CONFIG_IKCONFIG_PROC); /proc/kallsyms has no kmemleak_alloc"
        ),
        "{out}"
    );
    assert!(flat.contains("MISSING kmemleak not built into this kernel (/proc/kallsyms)"), "{out}");
    fs::write(t.join("proc/kallsyms"), "0000000000000000 T _text\n0000000000000000 T kmemleak_alloc\n").unwrap();
    let (_, out, _) = doctor(&t);
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("MISSING kmemleak built in (/proc/kallsyms); debugfs is not mounted"), "{out}");
    // A damaged config.gz is a warning that says why, and kallsyms still answers.
    fs::write(t.join("proc/config.gz"), b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x07").unwrap();
    let (_, out, _) = doctor(&t);
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("warn kernel config /proc/config.gz: bad deflate block"), "{out}");
    assert!(flat.contains("built in (/proc/kallsyms)"), "{out}");
}

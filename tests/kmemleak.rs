//! kmemleak end to end: `leaks` on every corpus report, the control path against a fake
//! debugfs tree (a regular file stands in for /sys/kernel/debug/kmemleak and keeps, one per
//! line, the commands kleak wrote to it), `run` with a command that "leaks" by appending a
//! real report to that file, `watch --kmemleak-every`, and the dance and its errors in
//! process against the fault-injecting fake.

mod common;

use common::{corpus, fixtures, json_lines, kleak, manifest, run};
use kleak::fake::FakeKmemleak;
use kleak::kmemleak::{Dance, Session, Unavailable};
use kleak::leaks::Groups;
use kleak::sys::Errno;
use std::path::{Path, PathBuf};

/// A --root tree: this machine's captured /proc, an empty debugfs directory, and
/// optionally an (empty) kmemleak file and a kernel scan thread in /proc.
struct Tree(common::TempDir);

impl Tree {
    fn new(name: &str, kmemleak: bool, scan_thread: bool) -> Tree {
        let t = common::TempDir::new(&format!("kmemleak-{name}"));
        std::fs::create_dir_all(t.join("proc")).unwrap();
        for f in ["slabinfo", "vmstat", "meminfo", "uptime"] {
            std::fs::copy(fixtures().join("host-x86_64-6.18/proc").join(f), t.join("proc").join(f)).unwrap();
        }
        std::fs::create_dir_all(t.join("sys/kernel/debug")).unwrap();
        if kmemleak {
            std::fs::write(t.join("sys/kernel/debug/kmemleak"), "").unwrap();
        }
        if scan_thread {
            std::fs::create_dir_all(t.join("proc/42")).unwrap();
            std::fs::write(t.join("proc/42/comm"), "kmemleak\n").unwrap();
        }
        Tree(t)
    }
    fn root(&self) -> &str {
        self.0.str()
    }
    fn kmemleak(&self) -> PathBuf {
        self.0.join("sys/kernel/debug/kmemleak")
    }
    /// The lines of the fake kmemleak file that are commands kleak wrote.
    fn commands(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.kmemleak()).unwrap();
        text.lines().filter(|l| !l.is_empty() && !l.starts_with(' ') && !l.contains(' ')).map(String::from).collect()
    }
}

fn report(rel: &str) -> PathBuf {
    corpus().join("kmemleak").join(rel)
}

#[test]
fn leaks_groups_every_corpus_report_in_json() {
    for e in manifest("kmemleak") {
        let rel = e["file"].as_str().unwrap();
        let path = corpus().join(rel);
        let (code, out, err) = run(&["--json", "leaks", "--input", path.to_str().unwrap()]);
        assert_eq!(code, 1, "{rel}: objects were reported: {err}");
        let v = json_lines(&out);
        let groups: Vec<_> = v.iter().filter(|o| o["kind"] == "leak-group").collect();
        let summary = v.last().unwrap();
        assert_eq!(summary["kind"], "summary", "{rel}");
        assert_eq!(summary["objects"], e["objects"], "{rel}");
        assert_eq!(summary["hex_dumps"], e["hex_dump"], "{rel}");
        assert_eq!(summary["crcs"], e["crc_backtrace"], "{rel}");
        assert_eq!(summary["skipped_lines"], 0, "{rel}");
        assert_eq!(summary["groups"].as_u64().unwrap() as usize, groups.len(), "{rel}");
        let sum: u64 = groups.iter().map(|g| g["objects"].as_u64().unwrap()).sum();
        assert_eq!(sum, e["objects"].as_u64().unwrap(), "{rel}");
        let counts: Vec<u64> = groups.iter().map(|g| g["objects"].as_u64().unwrap()).collect();
        assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{rel}: largest first: {counts:?}");
        for g in &groups {
            assert!(g["frames"].is_array() && g["cache"].is_string() && g["fingerprint"].as_str().unwrap().len() == 16);
        }
    }
}

#[test]
fn leaks_text_names_size_cache_task_age_and_frames() {
    let (code, out, _) = run(&["leaks", "--input", report("lkml-report_01.txt").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.starts_with("kmemleak: 6 objects in 2 groups, 1.8K; largest first\n"), "{out}");
    assert!(out.contains("#1 3 objects, 1.5K, size 512 (kmalloc-512)\n"), "{out}");
    assert!(out.contains("   comm \"systemd-udevd\" pid 435 (+2 other tasks), age 1h7m..2h28m\n"), "{out}");
    // The culprit line first: class_create; the module frames below it marked.
    assert!(out.contains("   class_create\n   comm \"systemd-udevd\""), "{out}");
    assert!(out.contains("   > hiddev_connect+0x11b [usbhid]\n"), "{out}");
    for l in out.lines() {
        assert!(l.len() <= 80, "wider than 80 columns: {l:?}");
    }
    // The same report in three spellings (debugfs, U+00A0 mail, its attachment) groups alike.
    let (_, a, _) = run(&["--json", "leaks", "--input", report("lkml-attachment_2.txt").to_str().unwrap()]);
    let (_, b, _) = run(&["--json", "leaks", "--input", report("lkml-report_01.txt").to_str().unwrap()]);
    let fp =
        |s: &str| json_lines(s).iter().filter_map(|o| o["fingerprint"].as_str().map(String::from)).collect::<Vec<_>>();
    assert_eq!(fp(&a), fp(&b));
}

#[test]
fn leaks_input_missing_file_and_mixed_options() {
    let (code, _, err) = run(&["leaks", "--input", "/nonexistent/report"]);
    assert_eq!(code, 3);
    assert!(err.contains("/nonexistent/report"), "{err}");
    let (code, _, err) = run(&["leaks", "--input", "x", "--scan"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn debugfs_not_mounted_prints_the_mount_command() {
    let t = Tree::new("nomount", false, false);
    for args in [&["kmemleak", "scan"][..], &["leaks"], &["leaks", "--scan"]] {
        let (code, out, err) = run(&[&["--root", t.root()], args].concat());
        assert_eq!(code, 3, "{args:?}");
        assert!(out.is_empty());
        assert_eq!(
            common::messages(&err),
            ["debugfs is not mounted: mount -t debugfs none /sys/kernel/debug (or add --mount, as root)"]
        );
    }
}

#[test]
fn debugfs_without_kmemleak_names_the_kernel_option() {
    let t = Tree::new("nobuilt", false, false);
    std::fs::write(t.0.join("sys/kernel/debug/sleep_time"), "").unwrap();
    let (code, _, err) = run(&["--root", t.root(), "kmemleak", "clear"]);
    assert_eq!(code, 3);
    assert_eq!(err, "kleak: no /sys/kernel/debug/kmemleak: the kernel lacks CONFIG_DEBUG_KMEMLEAK=y\n");
}

#[test]
fn commands_are_checked_then_written_one_per_write() {
    let t = Tree::new("control", true, false);
    for bad in ["bogus", "scan=1.5", "dump=123", "scan=", "Scan"] {
        let (code, _, err) = run(&["--root", t.root(), "kmemleak", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert_eq!(common::messages(&err).len(), 1, "{err}");
    }
    assert!(t.commands().is_empty(), "nothing written for a bad command");
    for good in ["scan", "stack=off", "stack=on", "scan=600", "clear", "dump=0xffff000012345600"] {
        let (code, out, err) = run(&["--root", t.root(), "kmemleak", good]);
        assert_eq!(code, 0, "{good}: {err}");
        assert!(out.starts_with("kmemleak: "), "{out}");
    }
    assert_eq!(t.commands(), ["scan", "stack=off", "stack=on", "scan=600", "clear", "dump=0xffff000012345600"]);
    let (code, out, _) = run(&["--root", t.root(), "kmemleak", "dump=0x1"]);
    assert_eq!(code, 0);
    assert!(out.contains("the answer is in the kernel log"), "{out}");
    let started = std::time::Instant::now();
    let (code, out, _) = run(&["--root", t.root(), "--json", "kmemleak", "scan"]);
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(code, 0);
    let v = json_lines(&out);
    assert_eq!((v.len(), &v[0]["kmemleak_command"]), (1, &serde_json::json!("scan")));
    // The scan took part of kleak's run: no less than nothing, no more than all of it.
    let scan = v[0]["scan_secs"].as_f64().expect("scan_secs is a number");
    assert!((0.0..=elapsed).contains(&scan), "scan_secs {scan} of a {elapsed:.3} s run");
}

#[test]
fn a_user_without_root_is_told_kmemleak_needs_root() {
    // debugfs is root's: opening the control file fails with EACCES. Real permissions on a
    // file of mode 0600, as `nobody`.
    let mut c = match common::kleak_as_nobody() {
        Ok(c) => c,
        Err(why) => return common::skip("kmemleak::a_user_without_root_is_told_kmemleak_needs_root", why),
    };
    let t = Tree::new("noroot", true, false);
    std::fs::set_permissions(t.kmemleak(), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let o = c.args(["--root", t.root(), "leaks"]).output().unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "kleak: kmemleak needs root (/sys/kernel/debug is root's)\n");
}

#[test]
fn eperm_means_disabled_and_eacces_needs_root() {
    for (e, want) in [(Errno::EPERM, Unavailable::Disabled), (Errno::EACCES, Unavailable::NeedsRoot)] {
        let fake = FakeKmemleak { command_error: Some(e), ..FakeKmemleak::default() };
        let err = Session::start(fake, true, 1).err().unwrap();
        assert_eq!(err, want);
    }
    let disabled = Unavailable::Disabled.error();
    assert_eq!((disabled.exit as i32, disabled.msg.as_str()), (3, "kmemleak is disabled; boot with kmemleak=on"));
    // `clear` still works on a disabled kmemleak (it frees its metadata); the probe is
    // `scan=off`, which fails.
    let fake = FakeKmemleak { command_error: Some(Errno::EPERM), ..FakeKmemleak::default() };
    let err = Session::start(fake, false, 1).err();
    assert_eq!(err, Some(Unavailable::Disabled));
}

const ONE: &str = "unreferenced object 0xffff000012345600 (size 100):\n  comm \"insmod\", pid 7, jiffies 1 (age 6.100s)\n  backtrace:\n    [<0>] kmalloc_trace+0x1/0x2\n    [<1>] leaky_store+0x4c/0xb8 [leaky]\n";
const TWO: &str = "unreferenced object 0xffff000012345700 (size 64):\n  comm \"kworker/0:1\", pid 9, jiffies 2 (age 6.000s)\n  backtrace:\n    [<0>] kmalloc_trace+0x1/0x2\n    [<1>] false_positive+0x4c/0xb8\n";

#[test]
fn the_dance_ages_scans_confirms_and_keeps_what_survives() {
    // After the second scan two objects are reported; the confirming scan finds a
    // reference to one of them (a false positive), so only the other survives.
    let both = format!("{ONE}{TWO}");
    let fake = FakeKmemleak { reports: vec![(2, both), (3, ONE.into())], ..FakeKmemleak::default() };
    let mut s = Session::start(fake, true, 1).unwrap();
    let mut d = Dance::new(100.0, 1);
    let mut t = 100.0;
    let mut calls = vec![];
    while let Some(next) = d.poll(&mut s.ctl, &mut s.buf, t).unwrap() {
        calls.push(t);
        t = next;
    }
    assert_eq!(d.scan_secs.len(), 3);
    assert_eq!(d.found, 2);
    assert!(calls.iter().any(|&c| c >= 105.5), "the aged scan waits until objects are 5 s old: {calls:?}");
    let mut g = Groups::default();
    kleak::engine::leaks::read(&mut s.ctl, &mut s.buf, &mut g).unwrap();
    assert_eq!(g.all().len(), 1);
    assert_eq!(g.all()[0].site(), "leaky_store [leaky]");
    s.end();
    assert_eq!(s.ctl.log, ["scan=off", "scan", "scan", "scan", "scan=on"]);
}

#[test]
fn the_dance_stops_after_one_look_when_nothing_is_reported_and_honours_min_unref_scans() {
    let fake = FakeKmemleak::default();
    let mut s = Session::start(fake, false, 3).unwrap();
    let mut d = Dance::new(0.0, s.min_unref_scans);
    let mut t = 0.0;
    while let Some(next) = d.poll(&mut s.ctl, &mut s.buf, t).unwrap() {
        t = next;
    }
    // The checksum scan, then min_unref_scans (3) scans before the first look.
    assert_eq!(d.scan_secs.len(), 4);
    assert_eq!(d.found, 0);
    s.end();
    assert_eq!(s.ctl.log.last().unwrap(), "scan", "the thread was not running: not restarted");
}

/// Writes `slabinfo` with one cache grown and one new (what a leaky module does).
fn grown_slabinfo(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join("host-x86_64-6.18/proc/slabinfo")).unwrap();
    let mut out = String::new();
    for l in text.lines() {
        if l.starts_with("kmalloc-128 ") {
            // 5000 more objects in use and allocated.
            let f: Vec<&str> = l.split_whitespace().collect();
            let (a, n): (u64, u64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
            out += &l.replacen(f[1], &(a + 5000).to_string(), 1).replacen(f[2], &(n + 5000).to_string(), 1);
        } else {
            out += l;
        }
        out.push('\n');
    }
    out +=
        "leaky_cache          200    200    256   16    1 : tunables    0    0    0 : slabdata     13     13      0\n";
    let p = dir.join("slabinfo.grown");
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn run_finds_what_the_command_leaked() {
    let t = Tree::new("run", true, true);
    let grown = grown_slabinfo(&t.0);
    let script = format!(
        "echo output of the command; cat {} >> {}; cp {} {}/proc/slabinfo",
        report("lkml-report_14.txt").display(),
        t.kmemleak().display(),
        grown.display(),
        t.root()
    );
    let (code, out, err) = run(&["--root", t.root(), "run", "--settle", "0", "--", "sh", "-c", &script]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("output of the command\nkleak run: sh -c 'echo output"), "{out}");
    assert!(out.contains(": exit 0, 1 run(s) in "), "{out}");
    assert!(out.contains("kmemleak: 3 scans, seconds each:"), "{out}");
    assert!(out.contains("kmemleak: 2 objects in 1 groups, 128B; largest first\n"), "{out}");
    assert!(out.contains("   nfs_sysfs_move_sb_to_server\n"), "{out}");
    assert!(out.lines().any(|l| l.ends_with(" kmalloc-128") && l.contains("+5000")), "{out}");
    assert!(out.lines().any(|l| l.ends_with(" leaky_cache (new)") && l.contains("+200")), "{out}");
    assert!(out.ends_with("verdict: leak: kmemleak reported objects (exit 1)\n"), "{out}");
    // What kleak wrote: pause the thread, clear, (the command ran), three scans, restart.
    assert_eq!(t.commands(), ["scan=off", "clear", "scan", "scan", "scan", "scan=on"]);
}

#[test]
fn run_names_the_frames_of_a_module_the_command_unloaded() {
    // `insmod leaky.ko; rmmod leaky`: the module shows in /proc/modules for a moment, the
    // report is read after it left, so kmemleak prints its frames as raw addresses (as the
    // lab's 6.1 kernel does). kleak kept its symbols from /proc/kallsyms meanwhile.
    let t = Tree::new("unload", true, false);
    std::fs::write(t.0.join("proc/modules"), "").unwrap();
    std::fs::write(
        t.0.join("proc/kallsyms"),
        "ffffffc008010000 T _stext\nffffffc0001e025c t leaky_cache_leak\t[leaky]\nffffffc0001e0344 t leaky_heap_leak\t[leaky]\n",
    )
    .unwrap();
    let raw = t.0.join("raw.txt");
    let mut report = String::new();
    for (i, at) in ["0xffffffc0001e02c0", "0xffffffc0001e02c0", "0xffffffc0001e0490"].iter().enumerate() {
        report += &format!("unreferenced object 0xffffff800177700{i} (size 200):\n  comm \"insmod\", pid 70, jiffies 4294894177\n  backtrace:\n    [<(____ptrval____)>] kmem_cache_alloc+0xd4/0x12c\n    [<(____ptrval____)>] {at}\n    [<(____ptrval____)>] 0xffffffc0001e5110\n    [<(____ptrval____)>] do_one_initcall+0x6c/0x150\n");
    }
    std::fs::write(&raw, report).unwrap();
    let script = format!(
        "echo 'leaky 16384 0 - Live 0xffffffc0001e0000 (O)' > {root}/proc/modules; sleep 0.3; : > {root}/proc/modules; cat {} >> {}",
        raw.display(),
        t.kmemleak().display(),
        root = t.root()
    );
    let (code, out, err) = run(&["--root", t.root(), "run", "--settle", "0", "--", "sh", "-c", &script]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("#1 2 objects, 400B, size 200 (own cache)\n"), "{out}");
    assert!(
        out.contains("   > leaky_cache_leak+0x64 [leaky]\n     0xffffffc0001e5110\n     do_one_initcall+0x6c\n"),
        "{out}"
    );
    assert!(out.contains("   leaky_heap_leak [leaky]\n"), "{out}");
    assert_eq!(out.matches("   (module unloaded before the report: frames named by kleak)\n").count(), 2, "{out}");
    assert!(!out.contains("0xffffffc0001e02c0"), "{out}");
}

#[test]
fn run_of_a_clean_command_is_clean_and_speaks_ktap() {
    let t = Tree::new("clean", true, false);
    let (code, out, err) = run(&["--root", t.root(), "run", "--ktap", "--settle", "0", "--", "true"]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["KTAP version 1", "1..2"]);
    assert!(lines.contains(&"# kmemleak: no unreferenced objects"), "{out}");
    assert_eq!(lines[lines.len() - 2..], ["ok 1 command", "ok 2 kmemleak"]);
    assert!(lines[2..lines.len() - 2].iter().all(|l| l.starts_with("# ")), "diagnostics only: {out}");
    // Two scans: nothing was found at the first look, so nothing to confirm.
    assert_eq!(t.commands(), ["scan=off", "clear", "scan", "scan"]);
}

#[test]
fn run_reports_a_failed_command_and_leaks_as_json_and_ktap() {
    let t = Tree::new("fail", true, false);
    let script = format!("cat {} >> {}; exit 3", report("lkml-patch_08.txt").display(), t.kmemleak().display());
    let (code, out, _) = run(&["--root", t.root(), "run", "--ktap", "--settle", "0", "--", "sh", "-c", &script]);
    assert_eq!(code, 4, "a failed command outranks the leak: {out}");
    assert!(out.contains("\nnot ok 1 command # exit=3\nnot ok 2 kmemleak\n"), "{out}");
    std::fs::write(t.kmemleak(), "").unwrap();
    let script = format!("cat {} >> {}", report("lkml-patch_08.txt").display(), t.kmemleak().display());
    let (code, out, _) = run(&["--root", t.root(), "--json", "run", "--settle", "0", "--", "sh", "-c", &script]);
    assert_eq!(code, 1);
    let v = json_lines(&out);
    let g: Vec<_> = v.iter().filter(|o| o["kind"] == "leak-group").collect();
    assert_eq!(g.len(), 1);
    // of_device_alloc is the OF core's constructor, not the allocator: the site.
    assert_eq!((g[0]["site"].as_str(), g[0]["entry"].as_str()), (Some("of_device_alloc"), Some("kmalloc")));
    assert_eq!((g[0]["frames"][0].as_str(), g[0]["allocator_frames"].as_u64()), (Some("kmemleak_alloc+0x34"), Some(2)));
    let r = v.iter().find(|o| o["kind"] == "run").unwrap();
    assert_eq!(
        (r["exit_status"].as_i64(), r["verdict"].as_str(), r["objects"].as_u64()),
        (Some(0), Some("leak"), Some(1))
    );
    assert_eq!(v.last().unwrap()["kind"], "summary");
    assert_eq!(v.last().unwrap()["command"], "run");
    let (code, _, err) = run(&["--root", t.root(), "run", "--settle", "0", "--", "/nonexistent/command"]);
    assert_eq!(code, 4);
    assert!(err.contains("kleak: cannot run /nonexistent/command: ENOENT"), "{err}");
}

#[test]
fn run_without_kmemleak_still_reports_slab_growth() {
    let t = Tree::new("nokml", false, false);
    let grown = grown_slabinfo(&t.0);
    let script = format!("cp {} {}/proc/slabinfo", grown.display(), t.root());
    let (code, out, err) = run(&["--root", t.root(), "run", "--settle", "0", "--", "sh", "-c", &script]);
    assert_eq!(code, 0, "growth alone is shown, not judged: {out}");
    assert!(err.contains("kmemleak unavailable: debugfs is not mounted"), "{err}");
    assert!(out.contains("kmemleak: unavailable: debugfs is not mounted"), "{out}");
    assert!(out.contains("(2 caches changed)"), "{out}");
    assert!(out.contains("verdict: unknown: kmemleak unavailable, slab changes below (exit 0)"), "{out}");
}

/// Ctrl-C (or a CI timeout's SIGTERM) while the command runs: kleak stops the dance
/// (kmemleak's report is not read: its scans were not completed), gives the kernel's scan
/// thread back, and says it does not know (exit 5), not "clean".
#[test]
fn an_interrupted_run_is_unknown_and_restores_the_scan_thread() {
    for (sig, ktap) in [("INT", false), ("TERM", true)] {
        let t = Tree::new(&format!("run-{sig}"), true, true);
        let script = format!("kill -{sig} $PPID; sleep 0.2");
        let mut a = vec!["--root", t.root(), "run", "--settle", "0"];
        if ktap {
            a.push("--ktap");
        }
        a.extend(["--", "sh", "-c", &script]);
        let (code, out, err) = run(&a);
        assert_eq!(code, 5, "SIG{sig}: {out}{err}");
        if ktap {
            // kleak passed SIGTERM on to the command's process group: not a failure of its own.
            assert!(out.contains("\nok 1 command # SKIP interrupted (SIGTERM)\n"), "{out}");
            assert!(out.contains("\nnot ok 2 kmemleak # interrupted\n"), "{out}");
        } else {
            assert!(
                out.ends_with("verdict: unknown: interrupted before kmemleak's scans completed (exit 5)\n"),
                "{out}"
            );
        }
        let cmds = t.commands();
        assert_eq!(cmds.first().map(String::as_str), Some("scan=off"), "{cmds:?}");
        assert_eq!(cmds.last().map(String::as_str), Some("scan=on"), "the scan thread is given back: {cmds:?}");
    }
}

#[test]
fn run_usage_errors() {
    for args in [&["run"][..], &["run", "--repeat", "0", "--", "true"], &["--json", "run", "--ktap", "--", "true"]] {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn watch_prints_each_kmemleak_group_once() {
    let t = Tree::new("watch", true, false);
    std::fs::copy(report("lkml-report_01.txt"), t.kmemleak()).unwrap();
    let (code, out, err) =
        run(&["--root", t.root(), "watch", "--interval", "0.5", "--count", "20", "--kmemleak-every", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("kmemleak: a new leak").count(), 2, "two groups, each printed once: {out}");
    assert!(out.contains("#1 3 objects, 1.5K, size 512 (kmalloc-512)"), "{out}");
    assert!(out.contains("kleak watch: 20 samples"), "{out}");
    let scans = t.commands().iter().filter(|c| *c == "scan").count();
    assert!(scans >= 3, "at least one whole dance: {scans}");
}

#[test]
fn help_for_the_new_commands() {
    for c in ["leaks", "kmemleak", "run"] {
        let (code, out, _) = run(&[c, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Examples:"), "{c}");
    }
    let (_, out, _) = run(&["--help"]);
    for c in ["leaks", "kmemleak", "run"] {
        assert!(out.contains(c), "{c}");
    }
}

#[test]
fn a_drivers_helpers_are_blamed_one_group_per_site() {
    // The lab's dwbuf.ko (board-scripts/dwbuf): helpers named *_alloc_*, *_create,
    // *_get_buf, a kmemdup, a devm_ allocation, and dwbuf_alloc_desc's two allocator calls.
    let f = fixtures().join("lab/dwbuf-6.1-kmemleak.txt");
    let (code, out, _) = run(&["--json", "leaks", "--input", f.to_str().unwrap()]);
    assert_eq!(code, 1);
    let mut got: Vec<(String, String, String, u64)> = json_lines(&out)
        .iter()
        .filter(|o| o["kind"] == "leak-group")
        .map(|g| {
            let s = |k: &str| g[k].as_str().unwrap().to_string();
            (s("site"), s("entry"), s("cache"), g["objects"].as_u64().unwrap())
        })
        .collect();
    got.sort();
    let want = [
        ("dwbuf_alloc_desc [dwbuf]", "kmalloc", "kmalloc-128", 2),
        ("dwbuf_alloc_desc [dwbuf]", "kmem_cache", "own cache", 2),
        ("dwbuf_attach_child [dwbuf]", "kmalloc", "kmalloc-256", 2),
        ("dwbuf_get_buf [dwbuf]", "kmalloc", "kmalloc-1k", 2),
        ("dwbuf_ring_create [dwbuf]", "kmalloc", "kmalloc-512", 2),
        ("dwbuf_save_cfg [dwbuf]", "kmalloc", "kmalloc-2k", 2),
        ("platform_device_alloc", "kmalloc", "kmalloc-1k", 2),
    ];
    let want: Vec<_> = want.iter().map(|&(a, b, c, n)| (a.into(), b.into(), c.into(), n)).collect();
    assert_eq!(got, want);
    // The platform device's group points at the driver that forgot to put it.
    let (_, text, _) = run(&["leaks", "--input", f.to_str().unwrap()]);
    let block = &text[text.find("\n   platform_device_alloc\n").unwrap()..];
    assert!(block.contains("   > dwbuf_attach_child+0x18 [dwbuf]\n"), "{text}");
}

#[test]
fn watch_names_the_kmemleak_group_under_the_leak_alert_of_its_cache() {
    // dwbuf_desc (192-byte objects) grows steadily; kmemleak reports dwbuf's own-cache
    // group (size 192) and a kmalloc-64 group. The LEAK alert for dwbuf_desc (and its
    // reminders, every second) names the own-cache group, never the kmalloc one.
    let tree = common::LiveTree::new("kl-alert", "dwbuf_desc", |i, _| 1000 + 300 * i);
    let debug = Path::new(tree.root()).join("sys/kernel/debug");
    std::fs::create_dir_all(&debug).unwrap();
    let obj = |addr: u32, size: u32, alloc: &str, at: &str| {
        format!("unreferenced object 0xffffff80017{addr:05x} (size {size}):\n  comm \"sh\", pid 46, jiffies 4294896543\n  backtrace:\n    [<(____ptrval____)>] slab_post_alloc_hook.constprop.0+0x84/0x8c\n    [<(____ptrval____)>] {alloc}\n    [<(____ptrval____)>] {at}\n    [<(____ptrval____)>] dwbuf_ctl_write+0xd4/0x158 [dwbuf]\n")
    };
    let mut report = String::new();
    for i in 0..3 {
        report += &obj(i, 192, "kmem_cache_alloc+0xd4/0x12c", "dwbuf_alloc_desc+0x20/0x8c [dwbuf]");
    }
    report += &obj(9, 64, "kmalloc_trace+0x20/0x30", "dwbuf_ring_create+0x1c/0x24 [dwbuf]");
    std::fs::write(debug.join("kmemleak"), report).unwrap();
    // 150 samples 0.1 s apart take 15 s at least: the dance (6.5 s and its scans) ends
    // well inside, and reminders follow every second after it.
    let o = kleak()
        .args(["--root", tree.root(), "watch", "--interval", "0.1", "--window", "2s", "--remind", "1s"])
        .args(["--count", "150", "--kmemleak-every", "600", "--max-alerts", "8"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("kmemleak: a new leak"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let named: Vec<usize> =
        lines.iter().enumerate().filter(|(_, l)| l.contains("kmemleak group #")).map(|(i, _)| i).collect();
    assert!(!named.is_empty(), "no alert named a kmemleak group: {out}");
    for &i in &named {
        assert!(lines[i].ends_with("kmemleak group #1: 3 objects, dwbuf_alloc_desc [dwbuf]"), "{}", lines[i]);
        assert!(lines[i - 1].starts_with("kleak: LEAK dwbuf_desc"), "under the alert: {}", lines[i - 1]);
    }
    assert!(!out.contains("dwbuf_ring_create [dwbuf]\n       kmemleak"), "{out}");
    // 3 objects do not explain tens of thousands: the cache holds them, but no pair.
    assert!(!out.contains("\u{2248} group"), "{out}");
}

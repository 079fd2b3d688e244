//! Issue 15's hostile trials, replayed: signals, special files, full disks, big sizes,
//! impossible numbers. Each test names its row of the table and asserts the exit
//! code, the one line said, and what is left in the fake kmemleak control file.
//!
//! The fake debugfs tree: a regular file stands in for /sys/kernel/debug/kmemleak and keeps
//! the commands kleak wrote, one per line; /proc/42/comm says `kmemleak`, so kleak sees the
//! kernel's scan thread running and must give it back (`scan=on`) however it ends.

mod common;

use common::{fixtures, json_lines, kleak, run, TempDir};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A --root tree: this machine's captured /proc, a fake kmemleak control file and a
/// running kernel scan thread.
fn tree(name: &str) -> TempDir {
    let t = TempDir::new(name);
    std::fs::create_dir_all(t.join("proc/42")).unwrap();
    for f in ["slabinfo", "vmstat", "meminfo", "uptime"] {
        std::fs::copy(fixtures().join("host-x86_64-6.18/proc").join(f), t.join("proc").join(f)).unwrap();
    }
    std::fs::write(t.join("proc/42/comm"), "kmemleak\n").unwrap();
    std::fs::create_dir_all(t.join("proc/sys/kernel/random")).unwrap();
    std::fs::write(t.join("proc/sys/kernel/random/boot_id"), "0d1e2f3a-this-boot\n").unwrap();
    std::fs::create_dir_all(t.join("sys/kernel/debug")).unwrap();
    std::fs::write(t.join("sys/kernel/debug/kmemleak"), "").unwrap();
    t
}

/// The commands kleak wrote to the fake control file.
fn commands(t: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(t.join("sys/kernel/debug/kmemleak")).unwrap();
    text.lines().filter(|l| !l.is_empty() && !l.contains(' ')).map(String::from).collect()
}

/// The kernel's scan thread is as kleak found it (running): every `scan=off` is followed
/// by a `scan=on`, and no record of a pause is left behind.
fn left_as_found(t: &Path, what: &str) {
    let cmds = commands(t);
    let last = cmds.iter().rev().find(|c| c.starts_with("scan=")).map(String::as_str);
    assert!(last.is_none() || last == Some("scan=on"), "{what}: the scan thread is left off: {cmds:?}");
    assert!(!t.join("run/kleak/kmemleak.state").exists(), "{what}: a pause record is left behind");
}

/// Waits for `child` to end, at most `limit` (a hang is a failure, not a stuck test).
fn wait_bounded(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY (test): kill has no memory effects; pid is our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

/// True once process `pid` has `file` open: kleak opens its files after it installed its
/// signal handlers, so from then on a signal is handled, not fatal. (Under qemu-user the
/// emulator opens the guest's files itself: /proc shows them the same way.)
fn has_open(pid: u32, file: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == file))
}

/// Waits until `ready()` or `child` ended; false if it ended first.
fn wait_ready(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while !ready() {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "{what}: never got ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn output(child: Child) -> (String, String) {
    let o = child.wait_with_output().unwrap();
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

const SIGNALS: [(i32, &str); 8] = [
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGINT, "SIGINT"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGQUIT, "SIGQUIT"),
    (libc::SIGPIPE, "SIGPIPE"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
    (libc::SIGALRM, "SIGALRM"),
];

/// The signal matrix: every catchable signal × {watch, run, diff, top, leaks --scan} on a
/// fake debugfs tree. Each command ends normally (an exit code, never death by signal),
/// and the control file ends in the state it started in. SIGPIPE is ignored (a closed
/// pipe is an EPIPE error instead): the command goes on to its natural end, bounded by its
/// arguments, and gives the thread back then.
#[test]
fn every_catchable_signal_leaves_kmemleak_as_found() {
    let mut trials = 0;
    for (sig, name) in SIGNALS {
        for (cmd, args) in [
            ("watch", &["watch", "--interval", "0.1", "--count", "30", "--kmemleak-every", "1"][..]),
            ("run", &["run", "--settle", "0", "--", "sleep", "2"][..]),
            ("diff", &["diff", "--interval", "2"][..]),
            ("top", &["top", "--interval", "2"][..]),
            ("leaks --scan", &["leaks", "--scan"][..]),
        ] {
            let what = format!("{name} × {cmd}");
            let t = tree(&format!("matrix-{}-{}", sig, cmd.replace(' ', "")));
            let mut child = kleak()
                .arg("--root")
                .arg(t.path())
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // Ready: kmemleak's thread paused and recorded, or the sample files open.
            let pauses = cmd != "diff" && cmd != "top";
            let state = t.join("run/kleak/kmemleak.state");
            let slabinfo = t.join("proc/slabinfo");
            let pid = child.id();
            let ready =
                wait_ready(&mut child, &what, || if pauses { state.exists() } else { has_open(pid, &slabinfo) });
            assert!(ready, "{what}: ended before it was ready: {:?}", output(child));
            signal(pid, sig);
            let st = wait_bounded(&mut child, Duration::from_secs(120), &what);
            let (out, err) = output(child);
            let code = st.code().unwrap_or_else(|| panic!("{what}: killed by a signal: {st:?} {out}{err}"));
            assert!((0..=5).contains(&code), "{what}: exit {code}: {err}");
            if cmd == "run" && sig != libc::SIGPIPE {
                assert_eq!(code, 5, "{what}: an interrupted run is unknown: {out}{err}");
                assert!(err.contains(&format!("{name} passed on to sleep's process group")), "{what}: {err}");
            }
            if pauses {
                assert!(commands(&t).contains(&"scan=off".to_string()), "{what}: {:?}", commands(&t));
                if sig != libc::SIGPIPE {
                    assert!(err.contains(&format!("{name}: kmemleak's scan thread restarted")), "{what}: {err}");
                }
            } else {
                assert!(commands(&t).is_empty(), "{what}: touched kmemleak: {:?}", commands(&t));
            }
            left_as_found(&t, &what);
            trials += 1;
        }
    }
    assert_eq!(trials, 40);
}

/// Row 2: SIGHUP ends `watch --log` cleanly: the summary is printed and the ring log ends
/// with a `stop` record that names the signal.
#[test]
fn row2_sighup_ends_watch_with_summary_and_stop_record() {
    let t = tree("hup-watch");
    let ring = t.join("kleak.ring");
    let mut child = kleak()
        .arg("--root")
        .arg(t.path())
        .args(["watch", "--interval", "0.1", "--log"])
        .arg(&ring)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(wait_ready(&mut child, "watch", || std::fs::metadata(&ring).is_ok_and(|m| m.len() > 0)));
    signal(pid, libc::SIGHUP);
    let st = wait_bounded(&mut child, Duration::from_secs(60), "watch");
    let (out, err) = output(child);
    assert_eq!(st.code(), Some(0), "{out}{err}");
    assert!(out.contains("kleak watch: ") && out.contains(" samples over "), "the summary: {out}");
    let (code, log, _) = run(&["--json", "log", ring.to_str().unwrap()]);
    assert_eq!(code, 0);
    let v = json_lines(&log);
    let stop = &v[v.len() - 2]["record"];
    assert_eq!((&stop["kind"], &stop["reason"]), (&"stop".into(), &"SIGHUP".into()), "{log}");
}

/// Row 2, SIGKILL: kleak records the paused scan thread while it lasts; after a kill the
/// next kleak start (any command) restarts it and says so, and `kleak doctor` tells too.
#[test]
fn row2_a_killed_run_is_restored_by_the_next_start_and_doctor_tells() {
    let t = tree("kill-run");
    let pidfile = t.join("cmd.pid");
    let script = format!("echo $$ > {}; exec sleep 60", pidfile.display());
    let mut child = kleak()
        .arg("--root")
        .arg(t.path())
        .args(["run", "--", "sh", "-c", &script])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let state = t.join("run/kleak/kmemleak.state");
    assert!(wait_ready(&mut child, "run", || state.exists() && pidfile.exists()));
    child.kill().unwrap();
    child.wait().unwrap();
    // The command is in a process group of its own, which the kill did not reach.
    let cmd_pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap_or(0);
    if cmd_pid > 0 {
        // SAFETY (test): kill has no memory effects; the pid is the sleep our run started.
        unsafe { libc::kill(cmd_pid, libc::SIGKILL) };
    }
    let last = commands(&t).into_iter().rev().find(|c| c.starts_with("scan="));
    assert_eq!(last.as_deref(), Some("scan=off"), "left off by the kill");
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.starts_with("scan=off pid=") && text.ends_with(" boot=0d1e2f3a-this-boot\n"), "{text}");

    let (code, out, err) = run(&["--root", t.str(), "doctor"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(common::messages(&err).len(), 1, "{err}");
    assert!(err.contains("kmemleak's scan thread was left off by an interrupted run (pid"), "{err}");
    assert!(err.trim_end().ends_with("restored"), "{err}");
    assert!(out.contains("left as found") && out.contains("left off by an interrupted run"), "{out}");
    left_as_found(&t, "after the next start");
    // Told once: the start after that finds nothing.
    let (_, out, err) = run(&["--root", t.str(), "doctor"]);
    assert!(!err.contains("interrupted run"), "{err}");
    assert!(out.contains("no setting left changed by an interrupted run"), "{out}");
    // A record from before a reboot: the new kernel runs its thread; the record just goes.
    let before = commands(&t);
    std::fs::write(&state, "scan=off pid=999999 boot=an-earlier-boot\n").unwrap();
    let (_, _, err) = run(&["--root", t.str(), "all"]);
    assert!(!err.contains("interrupted run"), "{err}");
    assert!(!state.exists());
    assert_eq!(commands(&t), before, "nothing written to kmemleak");
}

/// Row 3: special files in a --root tree or --input are refused at once with one line,
/// without blocking (a FIFO) or reading forever (/dev/zero).
#[test]
fn row3_special_files_are_refused_without_blocking() {
    let fifo_tree = tree("fifo");
    let slab = fifo_tree.join("proc/slabinfo");
    std::fs::remove_file(&slab).unwrap();
    let c = std::ffi::CString::new(slab.to_str().unwrap()).unwrap();
    // SAFETY (test): a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let zero_tree = tree("zero");
    let slab = zero_tree.join("proc/slabinfo");
    std::fs::remove_file(&slab).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &slab).unwrap();
    let mut trials = 0;
    for (t, kind) in [(&fifo_tree, "a FIFO"), (&zero_tree, "a character device")] {
        let mut child = kleak()
            .arg("--root")
            .arg(t.path())
            .args(["--json", "all"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let st = wait_bounded(&mut child, Duration::from_secs(60), kind);
        let (out, err) = output(child);
        assert_eq!(st.code(), Some(0), "vmstat and meminfo are still read: {err}");
        let msgs = common::messages(&err);
        let lines: Vec<&String> = msgs.iter().filter(|l| l.contains("slabinfo")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains(&format!("not a regular file but {kind}")), "{err}");
        assert!(json_lines(&out).last().unwrap()["slabinfo"] == false, "{out}");
        trials += 1;
    }
    for input in ["/dev/zero", fifo_tree.join("proc/slabinfo").to_str().unwrap()] {
        let mut child = kleak().args(["leaks", "--input", input]).stderr(Stdio::piped()).spawn().unwrap();
        let st = wait_bounded(&mut child, Duration::from_secs(60), input);
        let (_, err) = output(child);
        assert_eq!(st.code(), Some(3), "{err}");
        assert_eq!(common::messages(&err).len(), 1, "{err}");
        assert!(err.contains("not a regular file"), "{err}");
        trials += 1;
    }
    assert_eq!(trials, 4);
}

/// Row 3: a regular file of any size is read to READ_FILE_MAX_BYTES (256 MiB) at most per
/// sample, then refused with one line (EFBIG), never read to its end.
#[test]
fn row3_a_huge_file_is_read_to_the_limit_and_no_further() {
    let t = tree("huge");
    let f = std::fs::File::create(t.join("report")).unwrap();
    // Sparse: 1 GiB of zeros costs no disk.
    f.set_len(1 << 30).unwrap();
    let mut child = kleak()
        .args(["leaks", "--input"])
        .arg(t.join("report"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let st = wait_bounded(&mut child, Duration::from_secs(300), "huge");
    let (_, err) = output(child);
    assert_eq!(st.code(), Some(3), "{err}");
    assert_eq!(common::messages(&err).len(), 1, "{err}");
    assert!(err.contains("too large"), "{err}");
}

/// Row 4: an output error is one line naming the file and the reason, exit 3 — the same
/// for every command; a reader that went away (EPIPE) ends kleak quietly.
#[test]
fn row4_output_errors_exit_3_and_epipe_is_quiet() {
    let t = tree("full");
    let report = common::corpus().join("kmemleak/lkml-report_01.txt");
    let report = report.to_str().unwrap();
    let mut trials = 0;
    for args in [
        &["--root", t.str(), "all"][..],
        &["--root", t.str(), "--json", "all"],
        &["leaks", "--input", report],
        &["--root", t.str(), "watch", "--interval", "0", "--count", "2", "--csv"],
    ] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let o = kleak().args(args).stdout(full).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {err}");
        let msgs = common::messages(&err);
        let lines: Vec<&String> = msgs.iter().filter(|l| l.contains("standard output")).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(lines[0].contains("/dev/full") && lines[0].contains("no space left on device"), "{err}");
        trials += 1;
    }
    // /dev/null takes everything: leaks found in the report is exit 1, as on a terminal.
    let o = kleak().args(["leaks", "--input", report]).stdout(Stdio::null()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    // A closed pipe: quiet, exit 0.
    let mut child =
        kleak().args(["--root", t.str(), "all"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let st = wait_bounded(&mut child, Duration::from_secs(60), "epipe");
    let (_, err) = output(child);
    assert_eq!(st.code(), Some(0), "{err}");
    assert!(!err.contains("standard output"), "{err}");
    assert_eq!(trials, 4);
}

/// Peak resident memory of `cmd`, in KiB (wait4's ru_maxrss).
fn peak_rss_kib(cmd: &mut Command) -> (i32, i64) {
    // Reaped by wait4 below, which std's Child cannot report the rusage of.
    #[allow(clippy::zombie_processes)]
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let mut status = 0;
    // SAFETY (test): an all-zero rusage is valid for wait4 to fill.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY (test): status and ru are valid, writable; the pid is our child.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(r, child.id() as i32);
    (libc::WEXITSTATUS(status), ru.ru_maxrss)
}

/// Row 5: the ring log is read and written through one fixed window: the memory of
/// `watch --log`, `kleak log` and `kleak log --follow`'s first pass does not grow with the
/// ring's size (a 4 KiB ring and a 256 MiB one cost the same, within 1 MiB; the old reader
/// held the whole file).
#[test]
fn row5_ring_memory_does_not_depend_on_its_size() {
    let t = tree("rss");
    let mut rss = Vec::new();
    for (name, size) in [("small.ring", "4K"), ("big.ring", "256M")] {
        let ring = t.join(name);
        // The writer: a sparse ring of that size (created by kleak at full size would write
        // 256 MiB of zeros), then watch appends to it.
        std::fs::File::create(&ring).unwrap().set_len(if size == "4K" { 4096 } else { 256 << 20 }).unwrap();
        let (code, w) = peak_rss_kib(
            kleak().arg("--root").arg(t.path()).args(["watch", "--interval", "0", "--count", "3", "--log"]).arg(&ring),
        );
        assert_eq!(code, 0);
        let (code, r) = peak_rss_kib(kleak().arg("log").arg(&ring));
        assert_eq!(code, 0);
        rss.push((w, r));
    }
    // Natively the two differ by less than 100 KiB (README: 840 KiB at 1 GiB); qemu-user's
    // own memory moves by a few MiB between runs. The old reader held the whole ring:
    // +256 MiB. An eighth of that tells the two apart on either.
    let (small, big) = (rss[0], rss[1]);
    let bound = 32 * 1024;
    assert!(big.0 - small.0 < bound, "watch --log: {} KiB at 4K, {} KiB at 256M", small.0, big.0);
    assert!(big.1 - small.1 < bound, "kleak log: {} KiB at 4K, {} KiB at 256M", small.1, big.1);
    let (code, out, _) = run(&["--json", "log", t.join("big.ring").to_str().unwrap()]);
    assert_eq!(code, 0);
    let v = json_lines(&out);
    assert!(v.len() >= 3, "{out}");
    assert_eq!(v[v.len() - 2]["record"]["kind"], "stop", "{out}");
}

/// Row 7: a line longer than the read buffer is skipped and counted, not lost silently;
/// the rows around it are read.
#[test]
fn row7_an_overlong_line_is_skipped_and_counted() {
    let t = tree("overlong");
    let slab = t.join("proc/slabinfo");
    let text = std::fs::read_to_string(&slab).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.insert(5, format!("huge {} 1 1 1 : tunables 0 0 0 : slabdata 1 1 0", "9".repeat(40_000)));
    std::fs::write(&slab, lines.join("\n") + "\n").unwrap();
    let (code, out, err) = run(&["--root", t.str(), "--json", "all"]);
    assert_eq!(code, 0, "{err}");
    let v = json_lines(&out);
    let summary = v.last().unwrap();
    assert_eq!(summary["skipped_lines"], 1, "{summary}");
    assert_eq!(summary["caches"], text.lines().count() as u64 - 2, "every real row is there: {summary}");
}

/// Row 9: impossible numbers (u64::MAX, active > total, products past any memory) are
/// skipped and counted, never printed as negative or wrapped sizes.
#[test]
fn row9_impossible_numbers_are_rejected_and_counted() {
    let t = tree("impossible");
    let slab = t.join("proc/slabinfo");
    let mut text = std::fs::read_to_string(&slab).unwrap();
    let max = u64::MAX;
    text += &format!("maxed {max} {max} {max} 21 1 : tunables 0 0 0 : slabdata {max} {max} 0\n");
    text += "upside 100 50 192 21 1 : tunables 0 0 0 : slabdata 5 5 0\n";
    text += "product 1000000000000 1000000000000 4000000000 21 1 : tunables 0 0 0 : slabdata 5 5 0\n";
    std::fs::write(&slab, text).unwrap();
    let meminfo = std::fs::read_to_string(t.join("proc/meminfo")).unwrap();
    let meminfo = meminfo.replacen("Slab:", &format!("SReclaimable2: {max} kB\nSlab:"), 1);
    std::fs::write(t.join("proc/meminfo"), meminfo).unwrap();
    for json in [false, true] {
        let mut args = vec!["--root", t.str()];
        if json {
            args.push("--json");
        }
        args.push("all");
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        for bad in ["maxed", "upside", "product", "SReclaimable2", "-1B", "8192P", "18446744073709551615"] {
            assert!(!out.contains(bad), "{bad} printed: {out}");
        }
        if json {
            assert_eq!(json_lines(&out).last().unwrap()["skipped_lines"], 4, "{out}");
        } else {
            assert!(err.contains("slabinfo: 3 malformed line(s) skipped"), "{err}");
            assert!(err.contains("meminfo: 1 malformed line(s) skipped"), "{err}");
        }
    }
}

/// Row 13: SIGTERM to kleak during `run -- CMD` reaches CMD's process group: kleak does
/// not wait for CMD to end on its own. A CMD that ignores it is killed after the grace
/// time. Both: the scan thread is given back, exit 5.
#[test]
fn row13_sigterm_reaches_the_command_and_a_stubborn_one_is_killed() {
    for (stubborn, script) in
        [(false, "touch ready; exec sleep 60"), (true, "trap '' TERM; touch ready; sleep 60; sleep 60")]
    {
        let t = tree(if stubborn { "term-stubborn" } else { "term" });
        let ready = t.join("ready");
        let mut child = kleak()
            .arg("--root")
            .arg(t.path())
            .args(["run", "--settle", "0", "--", "sh", "-c", script])
            .current_dir(t.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(wait_ready(&mut child, "run", || ready.exists()));
        let t0 = Instant::now();
        signal(pid, libc::SIGTERM);
        let st = wait_bounded(&mut child, Duration::from_secs(120), "run");
        let took = t0.elapsed();
        let (out, err) = output(child);
        assert_eq!(st.code(), Some(5), "{out}{err}");
        assert!(err.contains("SIGTERM passed on to sh's process group"), "{err}");
        assert_eq!(err.contains("was killed (SIGKILL)"), stubborn, "{err}");
        // Far less than the command's own 60 s (and 120 s for the stubborn one).
        assert!(took < Duration::from_secs(50), "took {took:?}");
        left_as_found(&t, "run");
    }
}

/// Row 14: `trace -o` naming a file, or a directory kleak cannot write, is one clear line
/// before anything runs, not "ended without exit()" after.
#[test]
fn row14_trace_output_must_be_a_writable_directory() {
    let t = TempDir::new("trace-o");
    let file = t.join("file");
    std::fs::write(&file, "").unwrap();
    // Any ELF of the program's machine passes the library check; nothing is run.
    let o = kleak()
        .args(["trace", "-o"])
        .arg(&file)
        .args(["--", "/bin/sh", "-c", "true"])
        .env("KLEAK_TRACE_LIB", "/bin/sh")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(common::messages(&err).len(), 1, "{err}");
    assert!(common::messages(&err)[0].contains("a regular file, not a directory for the dumps"), "{err}");
    assert!(!err.contains("ended without exit()"), "{err}");
}

/// Row 6: records lost to a full file system are counted once, and the count is the same
/// on stderr, in the summary, in the `stop` record and in `kleak log`. (A real ENOSPC: a
/// 64 KiB tmpfs, a sparse ring on it, the rest filled, then freed. Root only.)
#[test]
fn row6_lost_records_agree_everywhere() {
    let is_root = std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    let mnt = TempDir::new("lost-tmpfs");
    let mounted = is_root
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "kleak-test"])
            .arg(mnt.path())
            .status()
            .is_ok_and(|st| st.success());
    if !mounted {
        return common::skip("row6_lost_records_agree_everywhere", "needs root and mount (tmpfs)");
    }
    let t = tree("lost");
    let ring = mnt.join("kleak.ring");
    std::fs::File::create(&ring).unwrap().set_len(256 * 1024).unwrap();
    let fill = mnt.join("fill");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&fill).unwrap();
        while f.write_all(&[0xa5; 4096]).is_ok() {}
    }
    let mut child = kleak()
        .arg("--root")
        .arg(t.path())
        .args(["watch", "--interval", "0.05", "--count", "100", "--log-every", "0", "--sync-secs", "0.1", "--log"])
        .arg(&ring)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Records are lost while the disk is full; space comes back once kleak said so.
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("no space left") {
                let _ = tx.send(());
            }
            all += &line;
            all.push('\n');
        }
        all
    });
    let told = rx.recv_timeout(Duration::from_secs(120)).is_ok();
    std::fs::remove_file(&fill).unwrap();
    let st = wait_bounded(&mut child, Duration::from_secs(120), "watch");
    let (out, _) = output(child);
    let err = reader.join().unwrap();
    assert!(told, "the full disk was told: {err}");
    let (code, log, _) = run(&["--json", "log", ring.to_str().unwrap()]);
    let _ = Command::new("umount").arg(mnt.path()).status();
    assert_eq!(st.code(), Some(0), "{out}{err}");
    assert_eq!(code, 0);
    let number_before = |text: &str, word: &str| -> u64 {
        let at = text.find(word).unwrap_or_else(|| panic!("no {word:?} in {text}"));
        text[..at].trim_end().rsplit(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let stderr_lost = number_before(&common::messages(&err).join("\n"), " records lost");
    assert!(stderr_lost >= 1, "{err}");
    let summary_lost = number_before(&out, " lost)");
    let v = json_lines(&log);
    let stop = &v[v.len() - 2]["record"];
    assert_eq!(stop["kind"], "stop", "{log}");
    let log_lost = v.last().unwrap()["records_lost"].as_u64().unwrap();
    assert_eq!(
        (stderr_lost, summary_lost, stop["records_lost"].as_u64().unwrap(), log_lost),
        (stderr_lost, stderr_lost, stderr_lost, stderr_lost),
        "stderr, summary, stop record, kleak log: {err}{out}{log}"
    );
}

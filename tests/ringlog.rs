//! The ring log and the exports through the binary: `watch --log` writes what `kleak log`
//! prints; an OOM report written to a stand-in /dev/kmsg (a regular file, a FIFO) reaches
//! the log while kleak sleeps; SIGINT in the middle of ring writes leaves an intact log;
//! a log on a full device costs one warning line and no alert, and comes back when space
//! does; `run --log`; `--csv`; `--prom` read by a real Prometheus parser.

mod common;

use common::{json_lines, kleak, run, LiveTree};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The host fixture as a --root tree, with an empty stand-in kernel log.
fn tree(name: &str) -> common::TempDir {
    let d = common::TempDir::new(&format!("ringlog-{name}"));
    std::fs::create_dir_all(d.join("proc")).unwrap();
    std::fs::create_dir_all(d.join("dev")).unwrap();
    for f in ["slabinfo", "vmstat", "meminfo"] {
        std::fs::copy(common::fixtures().join("host-x86_64-6.18/proc").join(f), d.join("proc").join(f)).unwrap();
    }
    std::fs::write(d.join("dev/kmsg"), "6,1,1,-;an old line, logged before kleak started\n").unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `kleak --json log FILE`: the records, and the closing summary.
fn records(ring: &Path) -> (Vec<serde_json::Value>, serde_json::Value) {
    let (code, out, err) = run(&["--json", "log", s(ring)]);
    assert_eq!(code, 0, "{err}");
    let mut v = json_lines(&out);
    let summary = v.pop().unwrap();
    assert_eq!(summary["kind"], "summary");
    (v, summary)
}

fn of<'a>(v: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    v.iter().filter(|r| r["record"]["kind"] == kind).collect()
}

/// Waits until `f` holds, for `secs` at most.
fn until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
}

#[test]
fn watch_log_holds_what_kleak_log_prints() {
    let t = tree("basic");
    let ring = t.join("kleak.ring");
    let (code, out, err) = run(&["--root", s(&t), "watch", "--interval", "0.05", "--count", "12"]
        .into_iter()
        .chain(["--log", s(&ring), "--log-every", "0.2"])
        .collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("log: ") && out.contains(", a sample every 0.2s"), "{out}");
    assert_eq!(std::fs::metadata(&ring).unwrap().len(), 256 * 1024, "created at --log-size's default");
    let (v, summary) = records(&ring);
    assert_eq!(summary["torn"], 0);
    let seqs: Vec<u64> = v.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(v[0]["record"]["kind"], "start");
    assert_eq!(v[0]["record"]["command"], "watch");
    let last = &v.last().unwrap()["record"];
    assert_eq!((&last["kind"], &last["reason"], &last["samples"]), (&"stop".into(), &"count".into(), &12.into()));
    // One sample at start, then one every 0.2 s of the run, not one per sample: each
    // logged sample spans 0.2 s or more, so the run's length (as kleak measured it, on
    // however slow a machine) bounds their number.
    let samples = of(&v, "sample");
    let elapsed = last["elapsed_secs"].as_f64().unwrap();
    assert!((2..=1 + (elapsed / 0.2) as usize).contains(&samples.len()), "{} in {elapsed} s", samples.len());
    for s in &samples[1..] {
        assert!(s["record"]["span_secs"].as_f64().unwrap() >= 0.2 - 1e-3, "{s}");
    }
    for k in ["Slab", "d_Slab", "SUnreclaim", "Unaccounted", "MemAvailable", "span_secs", "movers"] {
        assert!(!samples[1]["record"][k].is_null(), "{k}: {}", samples[1]);
    }
    // The text form: a sample reads like a watch line.
    let (_, text, _) = run(&["log", s(&ring)]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("#1 ") && lines[0].contains(" start: {"), "{text}");
    assert!(lines[1].starts_with("#2 ") && lines[1].contains(" sample at 0s: slab 249M 0 unrecl 27M 0 "), "{text}");
    assert!(lines.last().unwrap().starts_with("kleak log: "), "{text}");
    // Reopening continues after the newest record.
    let before = seqs.len() as u64;
    let (code, _, _) = run(&["--root", s(&t), "watch", "--interval", "0", "--count", "2", "--log", s(&ring)]);
    assert_eq!(code, 0);
    let (v, _) = records(&ring);
    assert_eq!(v.first().unwrap()["seq"], 1);
    assert_eq!(v[before as usize]["record"]["kind"], "start");
    assert_eq!(v[before as usize]["seq"], before + 1);
    std::fs::remove_dir_all(&t).unwrap();
}

const OOM: &str = "6,100,1000,-;stress invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0\n\
4,101,1001,-;CPU: 1 PID: 153 Comm: stress Not tainted 6.1.0 #1\n SUBSYSTEM=cpu\n\
6,102,1002,-;Unreclaimable slab info:\n\
6,103,1003,-;Name                      Used          Total\n\
6,104,1004,-;kleak_leaky            98304KB      98304KB\n\
3,105,1005,-;Out of memory: Killed process 153 (stress) total-vm:489124kB, anon-rss:484272kB, file-rss:4kB\n";

fn oom_reaches_the_log(t: &Path, mut write: impl FnMut(&str)) {
    let ring = t.join("kleak.ring");
    // 30 s between samples: the report must arrive while kleak sleeps, not at a sample.
    let mut child = kleak()
        .args(["--root", s(t), "watch", "--interval", "30", "--log", s(&ring)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.trim_start().starts_with("0s slab") {
        line.clear();
        stdout.read_line(&mut line).unwrap();
    }
    write("6,99,999,-;usb 1-1: new high-speed USB device number 3\n");
    write(OOM);
    // A generous wait: that it came between samples is checked below, from the records.
    let copied = until(60, || records(&ring).0.iter().any(|r| r["record"]["kind"] == "oom"));
    signal(&child, "TERM");
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(copied, "no oom record within 60 s: {err}");
    assert_eq!(status.code(), Some(0));
    assert_eq!(err.matches("kernel out-of-memory report: copying it to the log").count(), 1, "{err}");
    let (v, _) = records(&ring);
    let oom = of(&v, "oom");
    let lines: Vec<&str> =
        oom.iter().flat_map(|r| r["record"]["lines"].as_array().unwrap()).map(|l| l.as_str().unwrap()).collect();
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(lines[0].starts_with("stress invoked oom-killer: gfp_mask="), "{lines:?}");
    assert_eq!(lines[4], "kleak_leaky            98304KB      98304KB");
    assert!(lines[5].starts_with("Out of memory: Killed process 153 (stress)"));
    assert!(!lines.iter().any(|l| l.contains("USB") || l.contains("old line") || l.contains("SUBSYSTEM")));
    // The report is followed by a sample (the board may be dead a second later).
    let at = v.iter().position(|r| r["record"]["kind"] == "oom").unwrap();
    // It reached the log while kleak slept: before the 30 s sleep after the first sample
    // ended (kleak's own clock, in the records).
    let first = v.iter().find(|r| r["record"]["kind"] == "sample").unwrap();
    let waited = v[at]["uptime_ms"].as_u64().unwrap() - first["uptime_ms"].as_u64().unwrap();
    assert!(waited < 30_000, "the OOM report was logged {waited} ms after the first sample");
    assert_eq!(v[at + 1]["record"]["kind"], "sample", "{:?}", v[at + 1]);
    assert_eq!(v.last().unwrap()["record"]["reason"], "SIGTERM");
    // `kleak log` shows the report line by line.
    let (_, text, _) = run(&["log", s(&ring)]);
    assert!(text.contains(" kernel OOM report 1:\n    stress invoked oom-killer"), "{text}");
    assert!(text.contains("\n    Out of memory: Killed process 153 (stress)"), "{text}");
}

#[test]
fn an_oom_report_in_a_stand_in_kmsg_file_reaches_the_log() {
    let t = tree("kmsg-file");
    let kmsg = t.join("dev/kmsg");
    oom_reaches_the_log(&t, |text| {
        let mut f = std::fs::OpenOptions::new().append(true).open(&kmsg).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    });
    std::fs::remove_dir_all(&t).unwrap();
}

#[test]
fn an_oom_report_in_a_kmsg_fifo_wakes_kleak_between_samples() {
    // A FIFO is read as /dev/kmsg is: kleak waits on it with poll(2) between samples.
    let t = tree("kmsg-fifo");
    let kmsg = t.join("dev/kmsg");
    std::fs::remove_file(&kmsg).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&kmsg).status().unwrap().success());
    let mut writer = None;
    oom_reaches_the_log(&t, |text| {
        // kleak holds the read end open, so opening the write end does not block.
        let w = writer.get_or_insert_with(|| std::fs::OpenOptions::new().write(true).open(&kmsg).unwrap());
        w.write_all(text.as_bytes()).unwrap();
    });
    std::fs::remove_dir_all(&t).unwrap();
}

#[test]
fn sigint_in_the_middle_of_ring_writes_leaves_an_intact_log() {
    // A record and a flush every sample, back to back: the signal lands in a write or a
    // flush most of the time. Each trial must end cleanly with an intact, complete log.
    let t = tree("sigint");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for trial in 0..24 {
        let ring = t.join(format!("ring{trial}"));
        let child = kleak()
            .args(["--root", s(&t), "watch", "--interval", "0", "--log", s(&ring)])
            .args(["--log-every", "0", "--sync-secs", "0", "--log-size", "16K"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(until(60, || ring.exists() && records(&ring).0.len() >= 3), "trial {trial}: no records");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 150));
        signal(&child, "INT");
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "trial {trial}: {}", String::from_utf8_lossy(&o.stderr));
        let (v, summary) = records(&ring);
        assert_eq!(summary["torn"], 0, "trial {trial}");
        let seqs: Vec<u64> = v.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "trial {trial}: {seqs:?}");
        let last = &v.last().unwrap()["record"];
        assert_eq!((&last["kind"], &last["reason"]), (&"stop".into(), &"SIGINT".into()), "trial {trial}");
    }
    std::fs::remove_dir_all(&t).unwrap();
}

#[test]
fn a_log_on_a_full_device_costs_one_warning_and_no_alert() {
    // leaky_cache grows steadily; the log goes to /dev/full, which takes no byte. kleak
    // says so once (however often it tries again), and the alert still reaches the console.
    let tree = LiveTree::new("full", "leaky_cache", |i, _| 1000 + 300 * i);
    let o = kleak()
        .args(["--root", tree.root(), "watch", "--interval", "0.05", "--window", "2s", "--exit-on-leak"])
        .args(["--count", "400", "--log", "/dev/full", "--sync-secs", "0.1"])
        .output()
        .unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.lines().any(|l| l.starts_with("kleak: LEAK leaky_cache +")), "{out}");
    let warnings: Vec<String> = common::messages(&err).into_iter().filter(|l| l.contains("/dev/full")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].starts_with("log /dev/full: no space left on device"), "{err}");
    assert!(warnings[0].contains("alerts stay on the console"), "{err}");
}

#[test]
fn a_log_on_a_full_file_system_resumes_when_space_comes_back() {
    // A real ENOSPC: a 64 KiB tmpfs, a sparse ring on it (writing into its holes needs
    // pages), the rest filled. As root only (mount).
    const NAME: &str = "ringlog::a_log_on_a_full_file_system_resumes_when_space_comes_back";
    if !common::is_root() {
        return common::skip(NAME, "needs root, to mount a tmpfs");
    }
    let mnt = common::TempDir::new("ringlog-tmpfs");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "kleak-test", s(&mnt)])
        .status()
        .is_ok_and(|st| st.success());
    if !mounted {
        return common::skip(NAME, "mount -t tmpfs failed");
    }
    /// Unmounts however the test ends (dropped before the directory is removed).
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(mnt.path());
    let ring = mnt.join("kleak.ring");
    std::fs::File::create(&ring).unwrap().set_len(256 * 1024).unwrap();
    let fill = mnt.join("fill");
    let mut f = std::fs::File::create(&fill).unwrap();
    while f.write_all(&[0xa5; 4096]).is_ok() {}
    drop(f);
    let tree = LiveTree::new("enospc", "leaky_cache", |i, _| 1000 + 300 * i);
    let mut child = kleak()
        .args(["--root", tree.root(), "watch", "--interval", "0.05", "--window", "2s", "--exit-on-leak"])
        .args(["--count", "400", "--log", s(&ring), "--log-every", "0", "--sync-secs", "0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Space comes back once kleak has said it has none (not after a guessed time).
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut err = String::new();
    while !err.contains("kleak.ring") {
        assert!(stderr.read_line(&mut err).unwrap() > 0, "kleak ended before it wrote to the log: {err}");
    }
    std::fs::remove_file(&fill).unwrap();
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        rest
    });
    let o = child.wait_with_output().unwrap();
    err += &rest.join().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    let (v, _) = records(&ring);
    let warnings: Vec<String> = common::messages(&err).into_iter().filter(|l| l.contains("kleak.ring")).collect();
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(warnings[0].contains("no space left on device") && warnings[0].contains("alerts stay on the console"));
    assert!(warnings[1].contains("writing again;") && warnings[1].contains("records lost"), "{err}");
    // The start (and the samples until space came back) were lost; the log says how
    // many, then carries on.
    let note = &v[0]["record"];
    assert_eq!((&note["kind"], &note["error"]), (&"note".into(), &"ENOSPC".into()), "{v:?}");
    assert!(note["records_lost"].as_u64().unwrap() >= 1, "{note}");
    assert!(of(&v, "alert").iter().any(|a| a["record"]["name"] == "leaky_cache"), "{v:?}");
    assert_eq!(v.last().unwrap()["record"]["reason"], "exit-on-leak");
}

#[test]
fn run_log_keeps_the_section_and_its_samples() {
    let t = tree("run");
    let ring = t.join("run.ring");
    // The command runs until the ring holds 3 samples (their JSON is plain text in the
    // file), not for a time a slow machine may not sample in; at most 60 s, against a hang.
    let wait = r#"i=0; while [ "$(grep -ao 'kind":"sample' "$1" | wc -l)" -lt 3 ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done"#;
    let (code, _, err) = run(&["--root", s(&t), "run", "--settle", "0", "--log", s(&ring), "--log-every", "0.1"]
        .into_iter()
        .chain(["--", "sh", "-c", wait, "sh", s(&ring)])
        .collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    let (v, summary) = records(&ring);
    assert_eq!(summary["torn"], 0);
    let kinds: Vec<&str> = v.iter().map(|r| r["record"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert!(v[0]["record"]["cmd"].as_str().unwrap().starts_with("sh -c i=0;"), "{}", v[0]);
    let ran = kinds.iter().position(|k| *k == "run").expect("a run record");
    assert!(kinds[..ran].iter().filter(|k| **k == "sample").count() >= 3, "samples while it ran: {kinds:?}");
    let end = &kinds[kinds.len() - 3..];
    assert_eq!(end, ["run", "sample", "stop"], "{kinds:?}");
    assert_eq!(v[v.len() - 3]["record"]["verdict"], "unknown", "no kmemleak in the tree");
    std::fs::remove_dir_all(&t).unwrap();
}

#[test]
fn log_options_without_a_log_and_foreign_files_are_refused() {
    for args in
        [&["watch", "--log-every", "5"][..], &["run", "--log-size", "1M", "--", "true"], &["watch", "--log-size", "1"]]
    {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(common::messages(&err).len(), 1, "{err}");
    }
    let t = tree("foreign");
    let precious = t.join("notes.txt");
    std::fs::write(&precious, "not a ring\n").unwrap();
    let (code, _, err) = run(&["--root", s(&t), "watch", "--count", "1", "--log", s(&precious)]);
    assert_eq!(code, 3);
    assert!(common::messages(&err)[0].contains("holds something else; not overwriting it"), "{err}");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "not a ring\n");
    let (code, _, err) = run(&["--root", s(&t), "watch", "--count", "1", "--log", "/nonexistent/dir/ring"]);
    assert_eq!(code, 3);
    assert!(common::messages(&err)[0].contains("--log /nonexistent/dir/ring: no such file"), "{err}");
    std::fs::remove_dir_all(&t).unwrap();
}

#[test]
fn csv_goes_to_stdout_and_everything_else_to_stderr() {
    let t = tree("csv");
    let o = kleak().args(["--root", s(&t), "watch", "--csv", "--interval", "0", "--count", "3"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("elapsed_secs,source,name,value,bytes"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == 5), "{out}");
    let dentry: Vec<_> = rows.iter().filter(|r| r[1] == "slab" && r[2] == "dentry").collect();
    assert_eq!(dentry.len(), 3, "one row per sample");
    assert!(err.contains("kleak watch: every 0s") && err.contains("kleak watch: 3 samples"), "{err}");
    let (code, _, err) = run(&["--json", "watch", "--csv", "--count", "1"]);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_dir_all(&t).unwrap();
}

#[test]
fn the_prom_file_names_the_suspect_and_parses() {
    let tree = LiveTree::new("prom", "leaky_cache", |i, _| 1000 + 300 * i);
    let prom = tree.dir.join("kleak.prom");
    let o = kleak()
        .args(["--root", tree.root(), "watch", "--interval", "0.05", "--window", "2s", "--exit-on-leak"])
        .args(["--count", "400", "--prom", s(&prom)])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let check = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        print(s.name, dict(sorted(s.labels.items())), float(s.value))
"#;
    let o = std::process::Command::new("python3").args(["-c", check, s(&prom)]).output().expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("kleak_leak_suspect {'name': 'leaky_cache', 'source': 'slab'} 1.0"), "{out}");
    assert!(out.contains("kleak_slab_bytes {'cache': 'leaky_cache'}"), "{out}");
    assert!(!Path::new(&format!("{}.tmp", s(&prom))).exists());
}

/// A ring that wrapped, written by `watch --log --log-size 4K` on this machine: the
/// reader starts at the oldest record still whole, in order, and ends at the `stop`.
#[test]
fn a_ring_written_on_a_real_kernel_that_wrapped_reads_back_in_order() {
    let (recs, summary) = records(&common::fixtures().join("ring/host-wrapped.ring"));
    assert_eq!(summary["records"], 13);
    assert_eq!(summary["torn"], 0);
    let seqs: Vec<u64> = recs.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (10..=22).collect::<Vec<_>>(), "the oldest records were overwritten");
    assert!(recs[..12].iter().all(|r| r["type"] == "sample"), "{recs:?}");
    assert_eq!(recs[12]["type"], "stop");
    assert_eq!(recs[12]["record"]["reason"], "count");
    assert_eq!(recs[12]["record"]["samples"], 40);
}

/// A ring written here from the record format documented in src/ring.rs (and the README),
/// not by kleak's writer: a 4 KiB ring that wrapped (the newest records at the start, the
/// older ones after them), one record torn, zeroes at the end. `kleak log` must give the
/// whole records oldest first, with the times and payloads written, and count the torn one.
#[test]
fn a_ring_written_from_the_documented_format_reads_back() {
    // record (8-byte aligned, little-endian): "KLK1", version u8 (1), kind u8, payload
    // length u16, seq u64, realtime ms u64, uptime ms u64, CRC-32 (IEEE) of bytes 0..32
    // and the payload, the payload (one JSON object).
    fn record(kind: u8, seq: u64, payload: &str) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(b"KLK1");
        r.push(1);
        r.push(kind);
        r.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        r.extend_from_slice(&seq.to_le_bytes());
        r.extend_from_slice(&(1_795_000_000_000 + seq * 1000).to_le_bytes());
        r.extend_from_slice(&(60_000 + seq * 1000).to_le_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&r);
        crc.update(payload.as_bytes());
        r.extend_from_slice(&crc.sum().to_le_bytes());
        r.extend_from_slice(payload.as_bytes());
        r.resize(r.len().next_multiple_of(8), 0);
        r
    }
    let (stop, alert, sample, note) = (2, 3, 5, 7);
    let payload = |seq: u64| format!(r#"{{"kind":"x","n":{seq}}}"#);
    let mut ring = Vec::new();
    // The newest, written after the wrap: 7, 8 and the stop 9.
    ring.extend(record(sample, 7, &payload(7)));
    ring.extend(record(alert, 8, r#"{"kind":"alert","source":"slab","name":"kmalloc-128","state":"suspect"}"#));
    ring.extend(record(stop, 9, r#"{"kind":"stop","reason":"count","samples":6}"#));
    // The older ones the wrap has not reached: 3 (its start overwritten by 9, so only a
    // tail of it is left, without its magic), 4, a torn 5, 6.
    ring.extend(&record(sample, 3, &payload(3))[24..]);
    ring.extend(record(sample, 4, &payload(4)));
    let mut torn = record(sample, 5, &payload(5));
    let last = torn.iter().rposition(|&b| b == b'5').unwrap();
    torn[last] = b'6';
    ring.extend(torn);
    ring.extend(record(note, 6, r#"{"kind":"note","error":"ENOSPC","records_lost":2}"#));
    ring.resize(4096, 0);
    let dir = common::TempDir::new("ringlog-spec");
    let path = dir.join("spec.ring");
    std::fs::write(&path, &ring).unwrap();
    let (v, summary) = records(&path);
    let seqs: Vec<u64> = v.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [4, 6, 7, 8, 9], "{v:#?}");
    assert_eq!((&summary["records"], &summary["torn"]), (&5.into(), &1.into()), "{summary}");
    let types: Vec<&str> = v.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["sample", "note", "sample", "alert", "stop"]);
    for r in &v {
        let seq = r["seq"].as_u64().unwrap();
        assert_eq!(r["time_ms"], 1_795_000_000_000 + seq * 1000, "{r}");
        assert_eq!(r["uptime_ms"], 60_000 + seq * 1000, "{r}");
    }
    assert_eq!(v[0]["record"]["n"], 4);
    assert_eq!(v[1]["record"]["records_lost"], 2);
    assert_eq!(v[3]["record"]["name"], "kmalloc-128");
    assert_eq!(v[4]["record"]["reason"], "count");
    // And kleak's own writer continues such a ring after its newest record.
    let t = tree("spec");
    let (code, _, err) = run(&["--root", s(&t), "watch", "--interval", "0", "--count", "1", "--log", s(&path)]);
    assert_eq!(code, 0, "{err}");
    let (v, _) = records(&path);
    let start_at = v.iter().position(|r| r["type"] == "start").expect("a start record");
    assert_eq!(v[start_at]["seq"], 10, "{v:#?}");
}

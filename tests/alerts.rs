//! Alerts end to end, through the binary: real series recorded on this machine replayed
//! with `kleak replay`, `watch --exit-on-leak`, `watch --check-reclaim`, the line format.
//!
//! The real series (tests/fixtures/series/, recorded by record.sh there, 72 snapshots 5 s
//! apart, slabinfo and meminfo only) are judged with a 2 min window: 6 min of data.

mod common;

use common::{json_lines, kleak, run, LiveTree};
use flate2::read::GzDecoder;
use std::io::Read;

/// Unpacks a recorded series into one snapshot file each; returns their paths.
fn unpack(series: &str) -> (common::TempDir, Vec<String>) {
    let gz = common::fixtures().join("series").join(format!("{series}.snaps.gz"));
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(&gz).unwrap()).read_to_string(&mut text).unwrap();
    let dir = common::TempDir::new(&format!("alerts-{series}"));
    let mut files = Vec::new();
    for (i, snap) in text
        .split_inclusive('\n')
        .fold(Vec::<String>::new(), |mut v, l| {
            if l.starts_with("# kleak snapshot") {
                v.push(String::new());
            }
            if let Some(s) = v.last_mut() {
                s.push_str(l);
            }
            v
        })
        .iter()
        .enumerate()
    {
        // Named in reverse, so only the headers can put them in order.
        let p = dir.join(format!("{:03}.snap", 999 - i));
        std::fs::write(&p, snap).unwrap();
        files.push(p.to_str().unwrap().to_string());
    }
    (dir, files)
}

fn replay(series: &str, extra: &[&str]) -> (i32, Vec<serde_json::Value>, usize) {
    let (dir, files) = unpack(series);
    let mut args = vec!["--json", "replay", "--window", "2m"];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = run(&args);
    assert!(err.is_empty(), "{err}");
    drop(dir);
    (code, json_lines(&out), files.len())
}

fn alerts(v: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    v.iter().filter(|o| o["kind"] == "alert").collect()
}

/// Samples from the first snapshot to the first suspect alert for `name` (5 s apart).
fn samples_until(v: &[serde_json::Value], name: &str) -> Option<u64> {
    alerts(v)
        .iter()
        .find(|a| a["name"] == name && a["state"] == "suspect")
        .map(|a| (a["elapsed_secs"].as_f64().unwrap() / 5.0).round() as u64)
}

#[test]
fn real_churn_of_dentries_and_inodes_gives_no_alert() {
    // 2,000 files created and deleted on tmpfs in a loop, and processes spawned, for 6 min.
    let (code, v, n) = replay("churn", &[]);
    assert!(n >= 60, "{n} snapshots");
    let a = alerts(&v);
    assert!(a.is_empty(), "{:#?}", a);
    assert_eq!(code, 0);
    assert_eq!(v.last().unwrap()["snapshots"], n as u64);
}

#[test]
fn real_churn_on_a_busy_machine_raises_only_reclaimable_growth() {
    // The same churn, recorded while something else on the machine read or wrote ~3,400
    // ext4 files in the first 100 s: that growth is real and reclaimable (GROW, then
    // recovered); the churned caches and every unreclaimable figure stay silent.
    let (code, v, _) = replay("churn-busy", &[]);
    let a = alerts(&v);
    assert!(a.iter().all(|a| a["severity"] == "reclaimable"), "{a:#?}");
    assert!(a.iter().all(|a| a["name"] != "shmem_inode_cache"), "{a:#?}");
    assert!(a.iter().any(|a| a["name"] == "ext4_inode_cache" && a["state"] == "suspect"), "{a:#?}");
    assert_eq!(code, 0, "reclaimable growth is not a leak");
}

#[test]
fn real_growth_is_flagged_within_one_window() {
    // 50 files a second created on tmpfs and kept, for 6 min: their dentries grow (GROW:
    // reclaimable) and their tmpfs inodes grow (LEAK: shmem inodes live as long as the
    // files).
    let (code, v, _) = replay("growth", &[]);
    assert_eq!(code, 1, "an unreclaimable suspect was found");
    let window_samples = 24;
    for (name, severity) in [("shmem_inode_cache", "leak"), ("dentry", "reclaimable")] {
        let a = alerts(&v);
        let s =
            a.iter().find(|a| a["name"] == name && a["state"] == "suspect").unwrap_or_else(|| panic!("{name}: {a:#?}"));
        assert_eq!(s["severity"], severity, "{s}");
        assert!(s["growth_objs"].as_i64().unwrap() > 1000, "{s}");
        let at = samples_until(&v, name).unwrap();
        assert!(at <= window_samples + 2, "{name} flagged after {at} samples");
    }
}

#[test]
fn replay_prints_the_lines_watch_would_print() {
    let (dir, files) = unpack("growth");
    let mut args = vec!["replay", "--window", "2m", "--max-alerts", "2"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, _) = run(&args);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("kleak: ")).collect();
    assert!(lines.iter().any(|l| l.starts_with("kleak: LEAK shmem_inode_cache +") && l.ends_with(" suspect")), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("kleak: GROW dentry +")), "{out}");
    for l in out.lines() {
        assert!(l.chars().count() <= 80, "wider than 80 columns: {l:?}");
    }
    // Without a UTF-8 locale (or with --ascii) the sparklines are ASCII.
    let o = kleak().args(&args).env_remove("LC_ALL").env_remove("LC_CTYPE").env("LANG", "C").output().unwrap();
    assert!(o.stdout.is_ascii());
    let o = kleak().args(&args).env("LC_ALL", "en_US.UTF-8").output().unwrap();
    assert!(!o.stdout.is_ascii(), "blocks in a UTF-8 locale");
    let mut ascii = vec!["--ascii"];
    ascii.extend_from_slice(&args);
    let o = kleak().args(&ascii).env("LC_ALL", "en_US.UTF-8").output().unwrap();
    assert!(o.stdout.is_ascii());
    drop(dir);
}

#[test]
fn watch_exits_1_at_the_first_suspect_leak() {
    // leaky_cache gains 300 objects (56 KiB) every 10 ms.
    let tree = LiveTree::new("exit", "leaky_cache", |i, _| 1000 + 300 * i);
    let o = kleak()
        .args(["--root", tree.root(), "watch", "--interval", "0.05", "--window", "2s", "--exit-on-leak"])
        .args(["--count", "400"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    // It stopped at the leak, not at --count (counted by kleak, not by a clock).
    let samples: u32 =
        out.lines().find_map(|l| l.strip_prefix("kleak watch: ")?.split_once(" samples")?.0.parse().ok()).expect(&out);
    assert!(samples < 400, "{samples} samples: {out}");
    let leak = out.lines().find(|l| l.starts_with("kleak: LEAK ")).expect(&out);
    assert!(leak.starts_with("kleak: LEAK leaky_cache +") && leak.ends_with(" suspect"), "{leak}");
    assert!(out.contains("alerts: 1 suspect (1 leaks)"), "{out}");
}

#[test]
fn check_reclaim_writes_drop_caches_and_says_what_happened() {
    // dentry grows until drop_caches is written, then falls back: reclaimable after all.
    let tree = LiveTree::new("reclaim", "dentry", |i, dropped| if dropped { 500 } else { 1000 + 300 * i });
    let o = kleak()
        .args(["--root", tree.root(), "watch", "--interval", "0.05", "--window", "2s", "--check-reclaim"])
        .args(["--count", "120", "--exit-on-leak"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "reclaimable growth is not a leak: {out}");
    assert_eq!(tree.drop_caches(), "2");
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("kleak: ")).collect();
    assert!(lines[0].starts_with("kleak: GROW dentry +") && lines[0].ends_with(" suspect"), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("kleak: GROW dentry drop_caches freed")), "{out}");

    // A "reclaimable" cache that keeps its objects through drop_caches is a leak.
    let tree = LiveTree::new("kept", "dentry", |i, _| 1000 + 300 * i);
    let o = kleak()
        .args(["--root", tree.root(), "--json", "watch", "--interval", "0.05", "--window", "2s", "--check-reclaim"])
        .args(["--count", "200", "--exit-on-leak"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json_lines(&String::from_utf8_lossy(&o.stdout));
    let kept = v.iter().find(|o| o["kind"] == "alert" && o["reclaim"] == "kept").expect("kept");
    assert_eq!(
        (&kept["severity"], &kept["state"], &kept["reclaimable"]),
        (&"leak".into(), &"suspect".into(), &true.into())
    );
}

#[test]
fn check_reclaim_needs_root_on_the_live_system() {
    // As nobody it is an environment error (setpriv drops root; under qemu-user for a
    // binary of another architecture).
    let mut c = match common::kleak_as_nobody() {
        Ok(c) => c,
        Err(why) => return common::skip("alerts::check_reclaim_needs_root_on_the_live_system", why),
    };
    let o = c.args(["watch", "--check-reclaim", "--count", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("run kleak as root"));
}

#[test]
fn bad_verdict_options_are_usage_errors() {
    for args in [
        &["watch", "--window", "0"][..],
        &["watch", "--max-alerts", "0"],
        &["watch", "--min-growth", "4Q"],
        &["watch", "--remind", "soon"],
        &["replay"],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(common::messages(&err).len(), 1, "{err}");
    }
}

//! The kleak binary end to end: commands, exit codes, JSON, the original spellings, what a
//! user without root sees, signals and closed pipes.

mod common;

use common::{corpus, fixtures, json_lines, kleak, run};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn tree() -> String {
    fixtures().join("host-x86_64-6.18").to_str().unwrap().to_string()
}

fn corpus_file(rel: &str) -> String {
    corpus().join(rel).to_str().unwrap().to_string()
}

#[test]
fn all_shows_slabtop_columns_and_every_section_in_80_columns() {
    let (code, out, err) = run(&["--root", &tree(), "all"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Active / Total Objects (% used)"));
    assert!(out.contains("OBJS  ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME"));
    assert!(out.lines().any(|l| l.ends_with(" ext4_inode_cache")));
    for section in ["MEMINFO", "VMSTAT", "VMSTAT EVENTS", "Unaccounted", "nr_slab_unreclaimable", "pgfault"] {
        assert!(out.contains(section), "{section}");
    }
    for l in out.lines() {
        assert!(l.len() <= 80, "wider than 80 columns: {l:?}");
    }
    assert!(err.is_empty(), "{err}");
}

#[test]
fn all_json_is_one_object_per_line_ending_with_a_summary() {
    let (code, out, _) = run(&["--root", &tree(), "--json", "all"]);
    assert_eq!(code, 0);
    let v = json_lines(&out);
    let slabs: Vec<_> = v.iter().filter(|o| o["kind"] == "slab").collect();
    assert!(slabs.len() > 200);
    for s in &slabs {
        for k in [
            "name",
            "active_objs",
            "num_objs",
            "objsize",
            "objperslab",
            "pagesperslab",
            "active_slabs",
            "num_slabs",
            "bytes",
        ] {
            assert!(!s[k].is_null(), "slab object lacks {k}: {s}");
        }
        assert_eq!(s["bytes"].as_u64().unwrap(), s["num_objs"].as_u64().unwrap() * s["objsize"].as_u64().unwrap());
    }
    assert!(v.iter().any(|o| o["kind"] == "meminfo" && o["name"] == "Unaccounted"));
    assert!(v.iter().any(|o| o["kind"] == "vmstat" && o["type"] == "counter" && o["name"] == "pgfault"));
    let last = v.last().unwrap();
    assert_eq!(last["kind"], "summary");
    assert_eq!(last["skipped_lines"], 0);
    assert_eq!(last["page_size"], 4096, "page size derived from MemFree / nr_free_pages");
    assert_eq!(v.iter().filter(|o| o["kind"] == "summary").count(), 1);
}

#[test]
fn global_options_may_follow_the_command() {
    let (a, b) = (run(&["--root", &tree(), "--json", "all"]), run(&["all", "--json", "--root", &tree()]));
    assert_eq!(a.0, 0);
    assert_eq!(a.1, b.1);
}

#[test]
fn original_spellings_work() {
    let (code, out, _) = run(&["--root", &tree(), "-all"]);
    assert_eq!(code, 0);
    assert!(out.contains("CACHE SIZE"));
    // A captured tree does not change: nothing grows, nothing differs.
    let (code, out, _) = run(&["--root", &tree(), "-top", "5", "--interval", "0"]);
    assert_eq!(code, 0);
    assert!(out.contains("no cache grew"), "{out}");
    let (code, out, _) = run(&["--root", &tree(), "-diff", "--interval", "0.1"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("increases over "), "{out}");
    assert!(out.contains("(0 caches grew)"), "{out}");
}

#[test]
fn diff_of_two_saved_files_shows_what_changed() {
    // The same machine's slabinfo, mangled two ways by mail clients: nothing changed.
    let (code, out, _) =
        run(&["diff", &corpus_file("slabinfo/lkml-xfs_2.txt"), &corpus_file("slabinfo/lkml-xfs_3.txt")]);
    assert_eq!(code, 0);
    assert!(out.contains("(0 caches changed)"), "{out}");
    // A "good" and a "bad" boot of the same ppc32 machine: many changes, new caches marked.
    let (code, out, _) =
        run(&["--json", "diff", &corpus_file("slabinfo/ppc32-g4_1.txt"), &corpus_file("slabinfo/ppc32-g4_2.txt")]);
    assert_eq!(code, 0);
    let v = json_lines(&out);
    // The good boot had one zspage cache; the bad one 32 (one per zsmalloc pool): 31 appeared.
    let zspage: Vec<_> = v.iter().filter(|o| o["name"] == "zspage").collect();
    assert!(zspage.len() >= 31, "{}", zspage.len());
    assert_eq!(zspage.iter().filter(|o| o["new"] == true).count(), 31);
    let new: Vec<_> = v.iter().filter(|o| o["new"] == true).collect();
    assert!(new.iter().all(|o| o["d_num_objs"] == o["num_objs"]), "appeared caches grew from zero");
    let summary = v.last().unwrap();
    assert_eq!(summary["kind"], "summary");
    assert!(summary["caches_changed"].as_u64().unwrap() > 60);
}

#[test]
fn snapshot_round_trips_through_diff() {
    let dir = common::TempDir::new("cli-snap");
    let snap = dir.join("s1");
    let snap = snap.to_str().unwrap();
    let (code, _, err) = run(&["--root", &tree(), "snapshot", "-o", snap]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(snap).unwrap();
    assert!(text.starts_with("# kleak snapshot 1\n"));
    assert!(text.contains("# release: 6.18.44-fc-v669\n"));
    assert!(text.contains("# uptime: "));
    assert!(text.contains("# page_size: 4096\n"));
    for s in [
        "--- /proc/slabinfo\nslabinfo - version: 2.1\n",
        "--- /proc/vmstat\nnr_free_pages",
        "--- /proc/meminfo\nMemTotal:",
    ] {
        assert!(text.contains(s), "{s}");
    }
    let (code, out, _) = run(&["--root", &tree(), "diff", snap]);
    assert_eq!(code, 0);
    assert!(out.contains("(0 caches changed)"), "{out}");
    let (code, out, _) = run(&["diff", snap, snap]);
    assert_eq!(code, 0);
    assert!(out.contains("(0 caches changed)"), "{out}");
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    let cases: &[&[&str]] = &[
        &["--bogus"],
        &["all", "--sort", "z"],
        &["top", "-n", "0"],
        &["top", "-n", "many"],
        &["diff", "--interval", "soon"],
        &["diff", "--interval", "-1"],
        &["diff", "a", "b", "c"],
        &["watch", "--count"],
        &["frobnicate"],
    ];
    for args in cases {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert_eq!(common::messages(&err).len(), 1, "{args:?}: {err}");
        assert!(err.starts_with("kleak: "), "{args:?}: {err}");
        assert!(err.lines().all(|l| l.chars().count() <= 80), "{args:?}: {err}");
    }
}

#[test]
fn environment_errors_exit_3_and_name_the_problem() {
    let (code, _, err) = run(&["--root", "/nonexistent/tree", "all"]);
    assert_eq!(code, 3);
    assert!(err.contains("/nonexistent/tree"), "{err}");
    let empty = common::TempDir::new("cli-empty");
    let (code, _, err) = run(&["--root", empty.str(), "all"]);
    assert_eq!(code, 3);
    assert!(err.contains("CONFIG_SLUB_DEBUG"), "missing slabinfo names the kernel option: {err}");
    assert!(err.contains("nothing to read"), "{err}");
    let (code, _, err) = run(&["diff", "/nonexistent/before"]);
    assert_eq!(code, 3);
    assert!(err.contains("/nonexistent/before: no such file"), "{err}");
}

#[test]
fn a_kernel_without_slabinfo_still_gets_totals() {
    let t = common::TempDir::new("cli-noslab");
    std::fs::create_dir_all(t.join("proc")).unwrap();
    for f in ["vmstat", "meminfo"] {
        std::fs::copy(fixtures().join("host-x86_64-6.18/proc").join(f), t.join("proc").join(f)).unwrap();
    }
    let (code, out, err) = run(&["--root", t.str(), "all"]);
    assert_eq!(code, 0);
    assert!(err.contains("CONFIG_SLUB_DEBUG"), "{err}");
    assert!(out.contains("SUnreclaim"));
    let (code, out, _) = run(&["--root", t.str(), "top", "--interval", "0"]);
    assert_eq!(code, 0);
    assert!(out.contains("per-cache data unavailable"), "{out}");
}

#[test]
fn without_root_kleak_says_so_once_and_shows_totals() {
    // Real permissions on the live /proc/slabinfo (mode 0400): run as nobody.
    const NAME: &str = "cli::without_root_kleak_says_so_once_and_shows_totals";
    let mut cmd = match common::kleak_as_nobody() {
        Ok(c) => c,
        Err(_) if !common::is_root() => kleak(),
        Err(why) => return common::skip(NAME, why),
    };
    if !std::path::Path::new("/proc/slabinfo").exists() {
        return common::skip(NAME, "this kernel has no /proc/slabinfo (CONFIG_SLUB_DEBUG)");
    }
    let o = cmd.args(["diff", "--interval", "0.2"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("per-cache slab data needs root; showing totals").count(), 1, "{err}");
    assert!(out.contains("changes over"), "{out}");
}

#[test]
fn watch_counts_samples_and_ends_with_a_summary() {
    let (code, out, _) = run(&["--root", &tree(), "watch", "--interval", "0", "--count", "3"]);
    assert_eq!(code, 0);
    let lines: Vec<_> = out.lines().collect();
    assert!(lines[0].starts_with("kleak watch: every 0s"), "{out}");
    assert_eq!(lines.iter().filter(|l| !l.starts_with("kleak") && l.contains(" slab ")).count(), 3, "{out}");
    assert!(out.contains("kleak watch: 3 samples"), "{out}");
    for l in out.lines() {
        assert!(l.len() <= 80, "wider than 80 columns: {l:?}");
    }
    let (code, out, _) = run(&["--root", &tree(), "--json", "watch", "--interval", "0", "--count", "2"]);
    assert_eq!(code, 0);
    let v = json_lines(&out);
    assert_eq!(v.iter().filter(|o| o["kind"] == "sample").count(), 2);
    assert!(v[0]["movers"].is_object());
    assert_eq!(v.last().unwrap()["kind"], "summary");
}

#[test]
fn sigint_ends_watch_cleanly_with_a_summary() {
    for sig in ["INT", "TERM"] {
        let spawned = Instant::now();
        let mut child = kleak()
            .args(["--root", &tree(), "watch", "--interval", "30"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        assert!(first.starts_with("kleak watch:"));
        let status =
            std::process::Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let status = child.wait().unwrap();
        // The sleep began after the spawn: had it run its 30 s, kleak would have lived longer.
        assert!(spawned.elapsed() < Duration::from_secs(30), "SIG{sig} must cut the 30 s sleep short");
        assert_eq!(status.code(), Some(0), "SIG{sig}");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        assert!(rest.contains("kleak watch: 1 samples"), "SIG{sig}: {rest}");
    }
}

#[test]
fn a_closed_pipe_ends_kleak_quietly() {
    // `kleak all | head -1`
    let mut child =
        kleak().args(["--root", &tree(), "all"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    drop(stdout);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn help_lists_commands_and_examples() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for c in ["all", "diff", "top", "snapshot", "watch", "Examples:", "Exit codes"] {
        assert!(out.contains(c), "{c}");
    }
    let commands: Vec<String> = out
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert!(commands.len() >= 6, "{commands:?}");
    // Every line fits 80 columns, the Usage synopsis too (kleak wraps it).
    for l in out.lines() {
        assert!(l.chars().count() <= 80, "kleak --help wider than 80 columns: {l:?}");
    }
    for c in &commands {
        let (code, out, _) = run(&[c, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Examples:"), "{c} --help has an example");
        for l in out.lines() {
            assert!(l.chars().count() <= 80, "{c} --help wider than 80 columns: {l:?}");
        }
        // -h is --help, everywhere.
        assert_eq!(run(&[c, "-h"]), (0, out, String::new()), "{c} -h");
    }
    assert_eq!(run(&["-h"]).1, run(&["--help"]).1);
}

#[test]
fn a_real_arm64_capture_shows_the_lab_module_leak() {
    // The QEMU board lab's 6.1 arm64 kernel before and after leaky.ko leaked 2,020
    // kleak_leaky objects, ~1,000 kmalloc(100) (kmalloc-128 on arm64) and 1,024 pages.
    let dir = common::TempDir::new("cli-lab");
    let snap = |tree: &str, name: &str| {
        let out = dir.join(name).to_str().unwrap().to_string();
        let t = fixtures().join("lab").join(tree);
        let (code, _, err) = run(&["--root", t.to_str().unwrap(), "snapshot", "-o", &out]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let (a, b) = (snap("arm64-6.1", "before"), snap("arm64-6.1-leaked", "after"));
    let (code, out, _) = run(&["--json", "diff", &a, &b]);
    assert_eq!(code, 0);
    let v = json_lines(&out);
    let find = |kind: &str, name: &str| v.iter().find(|o| o["kind"] == kind && o["name"] == name).cloned();
    let leaky = find("slab", "kleak_leaky").expect("kleak_leaky changed");
    assert_eq!(leaky["d_num_objs"], 2020);
    assert!(find("slab", "kmalloc-128").unwrap()["d_num_objs"].as_i64().unwrap() >= 900);
    let unacct = find("meminfo", "Unaccounted").expect("Unaccounted changed")["d_bytes"].as_i64().unwrap();
    assert!(unacct >= 3 << 20, "the page leak shows as Unaccounted growth: {unacct}");
    assert_eq!(v.last().unwrap()["page_size"], 4096);
}

#[test]
fn log_prints_intact_records_oldest_first_and_counts_torn_ones() {
    use kleak::ring::{Kind, Ring};
    let dir = common::TempDir::new("cli-log");
    let path = dir.join("ring").to_str().unwrap().to_string();
    let mut r = Ring::open(&path, 8192).unwrap();
    r.append(Kind::Start, br#"{"kind":"start","command":"watch"}"#).unwrap();
    r.append(Kind::Alert, br#"{"kind":"alert","source":"slab","name":"kmalloc-128","state":"suspect"}"#).unwrap();
    r.append(Kind::Stop, br#"{"kind":"stop","samples":3}"#).unwrap();
    drop(r);
    // Damage the middle record's payload, as a torn write would.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(11).position(|w| w == b"kmalloc-128").unwrap();
    bytes[at] = b'X';
    std::fs::write(&path, &bytes).unwrap();
    let (code, out, _) = run(&["log", &path]);
    assert_eq!(code, 0);
    let lines: Vec<_> = out.lines().collect();
    assert!(lines[0].starts_with("#1 ") && lines[0].contains(" start: {\"kind\":\"start\""), "{out}");
    assert!(lines[1].starts_with("#3 ") && lines[1].contains(" stop: "), "{out}");
    assert_eq!(lines[2], "kleak log: 2 records; 1 torn or overwritten records skipped");
    let (_, out, _) = run(&["--json", "log", "--since", "3", &path]);
    let v = json_lines(&out);
    assert_eq!(v[0]["kind"], "log-record");
    assert_eq!(v[0]["seq"], 3);
    assert_eq!(v[0]["record"]["samples"], 3);
    assert_eq!(v[1]["torn"], 1);
    let (code, _, err) = run(&["log", "/nonexistent/ring"]);
    assert_eq!(code, 3);
    assert!(err.contains("no such file"));
}

#[test]
fn match_chooses_caches_everywhere_and_names_merged_aliases() {
    let (code, out, _) =
        run(&["--root", &tree(), "--json", "all", "--match", "kmalloc-*", "--match", "!kmalloc-rcl-*"]);
    assert_eq!(code, 0);
    let names: Vec<String> = json_lines(&out)
        .iter()
        .filter(|o| o["kind"] == "slab")
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("kmalloc-") && !n.starts_with("kmalloc-rcl-")), "{names:?}");
    // An alias SLUB merged into another cache: the note names the host, which is shown.
    let t = common::TempDir::new("cli-alias");
    std::fs::create_dir_all(t.join("proc")).unwrap();
    std::fs::create_dir_all(t.join("sys/kernel/slab/:0000192")).unwrap();
    for f in ["slabinfo", "vmstat", "meminfo"] {
        std::fs::copy(fixtures().join("host-x86_64-6.18/proc").join(f), t.join("proc").join(f)).unwrap();
    }
    std::os::unix::fs::symlink(":0000192", t.join("sys/kernel/slab/my_drv_cache")).unwrap();
    std::os::unix::fs::symlink(":0000192", t.join("sys/kernel/slab/kmalloc-192")).unwrap();
    let (code, out, err) = run(&["--root", t.str(), "all", "--match", "my_drv*"]);
    assert_eq!(code, 0);
    assert!(err.contains("my_drv_cache is merged into kmalloc-192"), "{err}");
    assert!(err.contains("slab_nomerge"), "{err}");
    assert!(out.lines().any(|l| l.ends_with(" kmalloc-192")), "{out}");
    let (_, _, err) = run(&["--root", t.str(), "all", "--match", "nothing_like_this"]);
    assert!(err.contains("--match nothing_like_this: no slab cache matches"), "{err}");
    let (code, _, err) = run(&["all", "--match", "!"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn every_command_fits_80_columns_with_long_cache_names() {
    // The host fixture with cache names as long as procps allows in practice.
    let t = common::TempDir::new("cli-long");
    std::fs::create_dir_all(t.join("proc/sys/kernel")).unwrap();
    let slab = std::fs::read_to_string(fixtures().join("host-x86_64-6.18/proc/slabinfo")).unwrap();
    let long: String = slab
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i >= 2 && i % 3 == 0 {
                format!("a_very_long_cache_name_for_a_driver_{i}_with_pci_0000:04:00.0{l}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(t.join("proc/slabinfo"), &long).unwrap();
    for f in ["vmstat", "meminfo", "uptime", "sys/kernel/osrelease"] {
        std::fs::copy(fixtures().join("host-x86_64-6.18/proc").join(f), t.join("proc").join(f)).unwrap();
    }
    let root = t.str();
    let s1 = t.join("s1").to_str().unwrap().to_string();
    let (code, _, _) = run(&["--root", root, "snapshot", "-o", &s1]);
    assert_eq!(code, 0);
    // A second snapshot where every long-named cache grew.
    let grown: String = std::fs::read_to_string(&s1)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("a_very_long") {
                let mut f: Vec<String> = l.split_whitespace().map(str::to_string).collect();
                let n: u64 = f[2].parse::<u64>().unwrap() + 5000;
                f[1] = n.to_string();
                f[2] = n.to_string();
                f.join(" ") + "\n"
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let s2 = t.join("s2").to_str().unwrap().to_string();
    std::fs::write(&s2, grown).unwrap();
    let report = corpus().join("kmemleak/syzbot-email_10.txt");
    // (the exit code each run must give, its arguments): doctor finds no debugfs or
    // kmemleak in this tree (3, environment); the syzbot report holds leaks (1).
    let runs: &[(i32, &[&str])] = &[
        (0, &["--root", root, "all"]),
        (0, &["--root", root, "top", "--interval", "0"]),
        (0, &["--root", root, "diff", "--interval", "0"]),
        (0, &["diff", &s1, &s2]),
        (0, &["--root", root, "watch", "--interval", "0", "--count", "3"]),
        (3, &["--root", root, "doctor"]),
        (0, &["replay", &s1, &s2]),
        (1, &["leaks", "--input", report.to_str().unwrap()]),
    ];
    for (want, args) in runs {
        let (code, out, err) = run(args);
        assert_eq!(code, *want, "{args:?}: {err}");
        assert!(!out.is_empty(), "{args:?}");
        for l in out.lines() {
            assert!(l.chars().count() <= 80, "{args:?}: wider than 80 columns: {l:?}");
        }
    }
    let (_, out, _) = run(&["diff", &s1, &s2]);
    assert!(out.contains("~"), "long names are shortened visibly: {out}");
    let (_, out, _) = run(&["--wide", "diff", &s1, &s2]);
    assert!(out.contains("a_very_long_cache_name_for_a_driver_"), "--wide shows them whole");
}

#[test]
fn a_signal_in_the_middle_of_sampling_ends_watch_cleanly() {
    // Back-to-back samples: the signal lands inside a sample (or its line) nearly always.
    for trial in 0..20u64 {
        let sig = if trial % 2 == 0 { "INT" } else { "TERM" };
        let mut child = kleak()
            .args(["--root", &tree(), "watch", "--interval", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        for _ in 0..(3 + trial * 7 % 40) {
            line.clear();
            stdout.read_line(&mut line).unwrap();
        }
        std::thread::sleep(Duration::from_micros(trial * 397 % 2000));
        std::process::Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status().unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "trial {trial} SIG{sig}");
        assert!(rest.contains("kleak watch: ") && rest.contains(" samples over "), "trial {trial}: no summary: {rest}");
        // Every line is whole: each ends where the next begins (no torn write).
        for l in rest.lines() {
            assert!(
                l.starts_with(' ')
                    || l.starts_with("kleak")
                    || l.starts_with("grew")
                    || l.is_empty()
                    || l.contains("OBJS"),
                "trial {trial}: {l:?}"
            );
        }
    }
}

// ---- The command line as the README shows it (issue 12) ----

/// `kleak ARGS` on the fixture tree: (exit code, stdout, stderr).
fn on_tree(args: &[&str]) -> (i32, String, String) {
    run(&[&["--root", &tree()], args].concat())
}

#[test]
fn top_takes_n_as_a_word_as_n_and_as_the_original_spelling() {
    let t = tree();
    // A captured tree does not change: the same answer every way N is written (but for
    // the time it took, which is measured).
    let untimed = |(code, out, err): (i32, String, String)| (code, out.split(" in ").next().unwrap().to_string(), err);
    let want = untimed(on_tree(&["top", "-n", "3", "--interval", "0"]));
    assert_eq!(want, (0, "no cache grew".into(), String::new()));
    assert_eq!(untimed(on_tree(&["top", "3", "--interval", "0"])), want);
    assert_eq!(untimed(run(&["top", "3", "--interval", "0", "--root", &t])), want);
    assert_eq!(untimed(on_tree(&["top", "--interval", "0", "3"])), want);
    // Written twice, they must agree.
    assert_eq!(on_tree(&["top", "3", "-n", "4"]), (2, String::new(), "kleak: top: -n 4 and N 3 disagree\n".into()));
    assert_eq!(
        on_tree(&["top", "many"]),
        (2, String::new(), "kleak: number many: not a whole number (see `kleak --help`)\n".into())
    );
    assert_eq!(on_tree(&["top", "0"]), (2, String::new(), "kleak: top: N must be at least 1\n".into()));
}

#[test]
fn the_original_top_ranks_by_objects_and_top_by_bytes() {
    // One cache grows by 30 objects of 192 bytes a step; the header says what ranks it.
    let live = common::LiveTree::new("top-objs", "grower", |i, _| 1000 + 30 * i);
    let root = live.root().to_string();
    let (code, out, err) = run(&["--root", &root, "-top", "2", "--interval", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("top 1 of 2 caches by growth in objects over "), "{out}");
    assert!(out.lines().nth(2).is_some_and(|l| l.ends_with(" grower")), "{out}");
    let (code, out, err) = run(&["--root", &root, "top", "2", "--interval", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("top 1 of 2 caches by growth over "), "{out}");
}

#[test]
fn the_original_diff_shows_only_what_increased() {
    let dir = common::TempDir::new("diff-grown");
    let slab = |grew: u64, shrank: u64| {
        format!(
            "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\ngrew {grew} {grew} 64 64 1 : tunables 0 0 0 : slabdata 4 4 0\nshrank {shrank} {shrank} 64 64 1 : tunables 0 0 0 : slabdata 4 4 0\n"
        )
    };
    let (a, b) = (dir.join("a"), dir.join("b"));
    std::fs::write(&a, slab(100, 200)).unwrap();
    std::fs::write(&b, slab(150, 120)).unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let (code, all, err) = run(&["diff", a, b]);
    assert_eq!(code, 0, "{err}");
    assert!(all.starts_with("changes (2 caches changed)"), "{all}");
    assert!(all.contains(" grew\n") && all.contains(" shrank\n"), "{all}");
    for args in [&["-diff", a, b][..], &["diff", "--grown", a, b]] {
        let (code, out, err) = run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.starts_with("increases (1 caches grew)"), "{args:?}: {out}");
        assert!(out.contains(" grew\n") && !out.contains("shrank"), "{args:?}: {out}");
    }
}

#[test]
fn an_error_names_what_is_wrong() {
    let usage = |msg: &str| (2, String::new(), format!("kleak: {msg} (see `kleak --help`)\n"));
    assert_eq!(run(&["log"]), usage("missing argument: FILE"));
    assert_eq!(run(&[""]), usage("unrecognized argument: \"\" (an empty argument)"));
    // An empty path is named as one.
    assert_eq!(run(&["diff", ""]), (3, String::new(), "kleak: \"\": no such file\n".into()));
    assert_eq!(
        run(&["--root", "", "all"]),
        (3, String::new(), "kleak: --root \"\": no such file or directory\n".into())
    );
    assert_eq!(run(&["all", "--match"]), usage("--match needs a value"));
    assert_eq!(run(&["all", "--root"]), usage("--root needs a value"));
    assert_eq!(run(&["--match"]), usage("--match needs a value"));
    assert_eq!(run(&["watch", "--count"]), usage("--count needs a value"));
    assert_eq!(run(&["frobnicate"]), usage("unrecognized argument: frobnicate"));
    assert_eq!(run(&["watch", "--min-growth", "4Q"]), usage("--min-growth 4Q: unknown unit `Q` (use K, M or G)"));
    // A global option after the command is accepted there.
    let front = on_tree(&["--match", "kmalloc-*", "all"]);
    assert_eq!(front.0, 0, "{}", front.2);
    assert!(front.1.contains("kmalloc-64") && !front.1.contains("dentry"), "{}", front.1);
    assert_eq!(on_tree(&["all", "--match", "kmalloc-*"]), front);
}

#[test]
fn every_message_fits_80_columns() {
    // Long messages wrap at a space, under their text; none is cut.
    let long = "/".to_string() + &"d".repeat(150) + "/tree";
    for args in [
        &["--root", long.as_str(), "all"][..],
        &["all", "--sort", "z"],
        &["kmemleak", "bogus"],
        &["diff", "--interval", "soon"],
    ] {
        let (code, _, err) = run(args);
        assert!(code == 2 || code == 3, "{args:?}: {err}");
        assert_eq!(common::messages(&err).len(), 1, "{args:?}: {err}");
        for l in err.lines() {
            assert!(l.chars().count() <= 80, "{args:?}: wider than 80 columns: {l:?}");
        }
    }
}

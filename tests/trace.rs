//! `kleak trace` end to end: the preload library built for the host (x86_64 glibc),
//! aarch64 glibc and aarch64 musl; tests/fixtures/trace/leaky.c, a program that leaks
//! from functions with known names, built for each; and kleak's report naming them.
//!
//! The aarch64 builds run under qemu-aarch64-static (glibc from /usr/aarch64-linux-gnu,
//! musl from Debian's musl:arm64), preloaded by hand as a service would be: `kleak trace
//! -- qemu-aarch64-static ...` would refuse, rightly, since QEMU itself is static.
//! Libraries and fixtures are built once per test run into target/tmp (tests/deps.sh
//! installs the compilers).

mod common;

use common::{kleak, run};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// One place the tracer runs: how to build its library and programs, and how to run them.
struct Target {
    /// The Rust target of the library (`host`: the build machine, x86_64 glibc).
    triple: &'static str,
    /// The C compiler for the fixture.
    cc: &'static str,
    /// What runs a fixture (QEMU for aarch64), before the fixture's path.
    runner: &'static [&'static str],
    /// Hammer iterations per thread (QEMU is slower).
    iterations: u32,
}

const HOST: Target = Target { triple: "host", cc: "cc", runner: &[], iterations: 200_000 };
const GNU: Target = Target {
    triple: "aarch64-unknown-linux-gnu",
    cc: "aarch64-linux-gnu-gcc",
    runner: &["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"],
    iterations: 20_000,
};
const MUSL: Target = Target {
    triple: "aarch64-unknown-linux-musl",
    cc: "aarch64-linux-musl-gcc",
    runner: &["qemu-aarch64-static"],
    iterations: 20_000,
};

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// libkleak_trace.so for `t`, built by trace/build.sh in its own target directory (the
/// one `cargo test` holds stays free).
fn lib(t: &Target) -> PathBuf {
    static LIBS: [OnceLock<PathBuf>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match t.triple {
        "host" => &LIBS[0],
        "aarch64-unknown-linux-gnu" => &LIBS[1],
        _ => &LIBS[2],
    };
    slot.get_or_init(|| {
        let o = Command::new("bash")
            .arg(repo().join("trace/build.sh"))
            .arg(t.triple)
            .env("CARGO_TARGET_DIR", tmp().join("trace-lib"))
            .output()
            .expect("running trace/build.sh");
        assert!(o.status.success(), "trace/build.sh {}: {}", t.triple, String::from_utf8_lossy(&o.stderr));
        let path = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().lines().last().unwrap());
        assert!(path.exists(), "{path:?}");
        path
    })
    .clone()
}

/// How a fixture is built.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Build {
    /// `-g`: the compiler's default DWARF (5 for gcc 12), line tables zlib-compressed by
    /// the linker (`--compress-debug-sections=zlib`: SHF_COMPRESSED sections).
    Debug,
    /// `-gdwarf-4`.
    Dwarf4,
    /// `-g`, then stripped (`strip`) with the debug part kept apart (`objcopy
    /// --only-keep-debug`) as `debug/leaky.debug` and `debug/.build-id/xx/yyyy.debug`.
    Stripped,
    /// `-static`.
    Static,
}

/// tests/fixtures/trace/leaky.c built for `t` as `b` says, once per test run.
fn fixture(t: &Target, b: Build) -> PathBuf {
    static BUILT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tmp().join("trace-fixtures").join(t.triple).join(format!("{b:?}"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("leaky");
    if built.contains(&out) {
        return out;
    }
    let src = repo().join("tests/fixtures/trace/leaky.c");
    // Built beside and renamed: another test process (the aarch64 run) may be running it.
    let part = dir.join(format!("leaky.{}", std::process::id()));
    let mut c = Command::new(t.cc);
    c.args(["-O1", "-fno-optimize-sibling-calls", "-fno-inline", "-pthread", "-o"]).arg(&part).arg(&src);
    c.arg(if b == Build::Dwarf4 { "-gdwarf-4" } else { "-g" });
    match b {
        Build::Static => drop(c.arg("-static")),
        Build::Debug => drop(c.arg("-Wl,--compress-debug-sections=zlib")),
        _ => {}
    }
    let o = c.output().unwrap_or_else(|e| panic!("{}: {e} (run tests/deps.sh)", t.cc));
    assert!(o.status.success(), "{}: {}", t.cc, String::from_utf8_lossy(&o.stderr));
    if b == Build::Stripped {
        let objcopy = if t.triple == "host" { "objcopy".to_string() } else { "aarch64-linux-gnu-objcopy".to_string() };
        let debug = dir.join("debug");
        std::fs::create_dir_all(&debug).unwrap();
        let keep = debug.join("leaky.debug");
        let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
        ok(Command::new(&objcopy).arg("--only-keep-debug").arg(&part).arg(&keep));
        ok(Command::new(&objcopy).arg("--strip-all").arg(&part));
        // .gnu_debuglink: the way to the debug file where there is no build-id.
        ok(Command::new(&objcopy).arg("--add-gnu-debuglink").arg(&keep).arg(&part));
        // The layout gdb reads: .build-id/<first byte>/<the rest>.debug (gcc's default
        // links with a build-id; Debian's musl-gcc wrapper does not).
        if let Some(id) = build_id(&keep) {
            let by_id = debug.join(".build-id").join(&id[..2]);
            std::fs::create_dir_all(&by_id).unwrap();
            std::fs::copy(&keep, by_id.join(format!("{}.debug", &id[2..]))).unwrap();
        }
    }
    std::fs::rename(&part, &out).unwrap();
    built.push(out.clone());
    out
}

/// The build-id of an ELF file, in hex, as `readelf -n` prints it.
fn build_id(f: &Path) -> Option<String> {
    let o = Command::new("readelf").arg("-n").arg(f).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    text.lines().find_map(|l| l.trim().strip_prefix("Build ID: ")).map(|id| id.trim().to_string())
}

/// A fresh dump directory of one test's own, removed on drop.
fn dump_dir(name: &str) -> common::TempDir {
    common::TempDir::new(&format!("trace-{name}"))
}

/// The command that runs the fixture for `t` with the tracer preloaded by hand.
fn preloaded(t: &Target, dir: &Path, args: &[&str]) -> Command {
    preloaded_build(t, Build::Debug, dir, args)
}

/// [`preloaded`] for the fixture built as `b`.
fn preloaded_build(t: &Target, b: Build, dir: &Path, args: &[&str]) -> Command {
    let prog = fixture(t, b);
    let mut c = match t.runner.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(&prog);
            c
        }
        None => Command::new(&prog),
    };
    c.args(args).env("LD_PRELOAD", lib(t)).env("KLEAK_TRACE_DIR", dir).env("KLEAK_TRACE_INTERVAL", "0");
    c
}

/// A child killed and reaped when the test ends, even by a failed assertion.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `c` to its end, failing the test if it takes longer than `secs` (a deadlock).
fn run_bounded(mut c: Command, secs: u64) -> Output {
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starting the fixture");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("still running after {secs} s: deadlocked?");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Dumps in `dir` of the process `pid` (any PID if 0), in the order written.
fn dumps(dir: &Path, pid: u32) -> Vec<PathBuf> {
    let mut v: Vec<(u64, u64, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name()?.to_str()?.strip_suffix(".kleak-trace")?.to_string();
            let f: Vec<u64> = name.split('.').map(|x| x.parse().unwrap()).collect();
            (pid == 0 || f[0] == pid as u64).then_some((f[1], f[2], p))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, _, p)| p).collect()
}

/// A header value of a dump.
fn header(dump: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(dump).unwrap();
    let prefix = format!("{key} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("{key} in {dump:?}")).to_string()
}

/// `kleak trace report` of one or two dumps, every site shown.
fn report(files: &[&Path]) -> String {
    let mut args = vec!["trace", "report", "-n", "200"];
    args.extend(files.iter().map(|p| p.to_str().unwrap()));
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    out
}

/// The report line of function `f`, split in columns.
fn row<'a>(report: &'a str, f: &str) -> Option<Vec<&'a str>> {
    let needle = format!(" {f}+0x");
    report.lines().find(|l| l.contains(&needle)).map(|l| l.split_whitespace().collect())
}

/// Every allocator entry point leaks 10 blocks of a size of its own from its own function
/// (the call's text in leaky.c follows); tidy_alloc's blocks were freed by tidy_free.
const LEAKS: [(&str, u64, &str); 8] = [
    ("leak_malloc", 1000, "malloc(100)"),
    ("leak_calloc", 1200, "calloc(3, 40)"),
    ("leak_realloc", 2000, "realloc(p, 200)"),
    ("leak_reallocarray", 3000, "reallocarray(NULL, 5, 60)"),
    ("leak_posix_memalign", 2560, "posix_memalign(&p, 64, 256)"),
    ("leak_aligned_alloc", 3200, "aligned_alloc(64, 320)"),
    ("leak_memalign", 3840, "(memalign(64, 384)"),
    ("leak_valloc", 4480, "valloc(448)"),
];

/// `leaky.c:N`, N the line of leaky.c that holds `text` (exactly one does).
fn source_line(text: &str) -> String {
    let src = std::fs::read_to_string(repo().join("tests/fixtures/trace/leaky.c")).unwrap();
    let found: Vec<usize> = src.lines().enumerate().filter(|(_, l)| l.contains(text)).map(|(i, _)| i + 1).collect();
    assert_eq!(found.len(), 1, "{text:?} in leaky.c: lines {found:?}");
    format!("leaky.c:{}", found[0])
}

/// Each leaking function's row: 10 blocks, named with the file and line of its call.
fn check_leaks_report(out: &str) {
    for (f, bytes, call) in LEAKS {
        let r = row(out, f).unwrap_or_else(|| panic!("{f} ({bytes} bytes) missing from the report:\n{out}"));
        assert_eq!(r[0], "10", "{f}: {out}");
        let line = source_line(call);
        assert!(r.contains(&line.as_str()), "{f}: {line} expected:\n{out}");
    }
    assert!(!out.contains("tidy_alloc") && !out.contains("tidy_free"), "freed memory reported:\n{out}");
}

/// Exact counts and bytes per leaking function, from the JSON report.
fn check_leaks_json(dump: &Path) {
    let (code, out, err) = run(&["--json", "trace", "report", "-n", "200", dump.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v = common::json_lines(&out);
    for (f, bytes, call) in LEAKS {
        let site = v.iter().find(|o| o["function"] == f).unwrap_or_else(|| panic!("{f} not in {out}"));
        assert_eq!((site["count"].as_u64(), site["bytes"].as_u64()), (Some(10), Some(bytes)), "{f}");
        let line = source_line(call);
        let got = format!("leaky.c:{}", site["line"]);
        assert!(site["source"].as_str().unwrap().ends_with("leaky.c") && got == line, "{f}: {line}: {out}");
    }
    assert!(!v.iter().any(|o| o["function"] == "tidy_alloc"));
    let s = v.last().unwrap();
    assert_eq!(s["kind"], "summary");
    assert_eq!(s["untracked_allocs"], 0);
    assert_eq!(s["complete"], true);
}

fn leaks_by_hand(t: &Target, name: &str) {
    let dir = dump_dir(name);
    let o = run_bounded(preloaded(t, &dir, &["leaks"]), 120);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = dumps(&dir, 0);
    assert_eq!(d.len(), 1, "one exit dump: {d:?}");
    assert_eq!(header(&d[0], "reason"), "exit");
    check_leaks_report(&report(&[&d[0]]));
    check_leaks_json(&d[0]);
}

#[test]
fn host_kleak_trace_runs_the_program_and_names_the_leaking_functions() {
    let dir = dump_dir("host-run");
    let prog = fixture(&HOST, Build::Debug);
    let o = kleak()
        .args(["trace", "--interval", "0", "-o", dir.to_str().unwrap(), "-n", "50", "--"])
        .arg(&prog)
        .arg("leaks")
        .env("KLEAK_TRACE_LIB", lib(&HOST))
        .output()
        .unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{err}");
    let m = common::messages(&err).join("\n");
    assert!(m.contains("tracing ") && m.contains("its last dump"), "{err}");
    check_leaks_report(&out);
    // The start message and the report fit 80 columns (issue 12: the start was 124).
    for l in out.lines().chain(err.lines()) {
        assert!(l.chars().count() <= 80, "wider than 80 columns: {l:?}");
    }
}

/// What a user types: plain `cargo build --release` (build.rs puts the library beside
/// kleak), then `kleak trace`, with no KLEAK_TRACE_LIB. The host pass builds for the host
/// and traces the host program; the aarch64 pass makes the board build
/// (`--target aarch64-unknown-linux-musl`), finds `libkleak_trace-musl.so` beside the board
/// kleak, preloads it under QEMU into the musl program (as `kleak trace` does on a board;
/// QEMU cannot run a foreign program that kleak starts) and reports with that kleak. The
/// build directory is kept in target/tmp, so later runs only rebuild what changed.
#[test]
fn the_release_build_a_user_makes_traces_with_no_setup() {
    let target_dir = tmp().join("user-build");
    let board = cfg!(target_arch = "aarch64");
    let mut c = Command::new("cargo");
    c.args(["build", "--release", "--quiet"]).current_dir(repo()).env("CARGO_TARGET_DIR", &target_dir);
    if board {
        c.args(["--target", "aarch64-unknown-linux-musl"]);
    }
    // A limit only against a hang: a cold LTO build of kleak on a busy 2-core machine.
    let o = run_bounded(c, 1800);
    assert!(o.status.success(), "cargo build --release: {}", String::from_utf8_lossy(&o.stderr));
    let dumps_dir = dump_dir("user-build");
    let d = dumps_dir.to_str().unwrap();
    if !board {
        let kleak = target_dir.join("release/kleak");
        assert!(target_dir.join("release/libkleak_trace.so").exists(), "the library is beside kleak");
        let o = Command::new(&kleak)
            .args(["trace", "--interval", "0", "-o", d, "-n", "50", "--"])
            .arg(fixture(&HOST, Build::Debug))
            .arg("leaks")
            .env_remove("KLEAK_TRACE_LIB")
            .output()
            .unwrap();
        let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.status.code(), Some(0), "{err}");
        check_leaks_report(&out);
        return;
    }
    let release = target_dir.join("aarch64-unknown-linux-musl/release");
    let lib = release.join("libkleak_trace-musl.so");
    let elf = kleak::elf::Elf::open(&[lib.to_str().unwrap().as_bytes()]).expect("libkleak_trace-musl.so beside kleak");
    assert_eq!(elf.machine, kleak::elf::EM_AARCH64);
    let o = Command::new(MUSL.runner[0])
        .arg(fixture(&MUSL, Build::Debug))
        .arg("leaks")
        .env("LD_PRELOAD", &lib)
        .env("KLEAK_TRACE_DIR", d)
        .env("KLEAK_TRACE_INTERVAL", "0")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dump = dumps(&dumps_dir, 0).pop().expect("an exit dump");
    let o = Command::new(MUSL.runner[0])
        .arg(release.join("kleak"))
        .args(["trace", "report", "-n", "200"])
        .arg(&dump)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    check_leaks_report(&String::from_utf8_lossy(&o.stdout));
}

/// `kleak trace report` with one `--debug-dir`, every site shown.
/// (The stripped fixture: found by build-id where it has one, else by `.gnu_debuglink`.)
fn report_debug(dump: &Path, debug_dir: &Path) -> (String, String) {
    let (code, out, err) =
        run(&["trace", "report", "-n", "200", "--debug-dir", debug_dir.to_str().unwrap(), dump.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    (out, err)
}

/// The leaks fixture built as `b`: the report names each leak's file and line; a stripped
/// build has none until `--debug-dir` gives its debug file, found by build-id both in the
/// `.build-id` layout and among plain files of a directory.
fn lines_by_build(t: &Target, b: Build, name: &str) {
    let dir = dump_dir(name);
    let o = run_bounded(preloaded_build(t, b, &dir, &["leaks"]), 120);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = dumps(&dir, 0);
    if b != Build::Stripped {
        check_leaks_report(&report(&[&d[0]]));
        return;
    }
    let (code, out, err) = run(&["trace", "report", "-n", "200", d[0].to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("leaky.c:") && !out.contains("leak_malloc"), "stripped, yet named:\n{out}");
    assert!(common::messages(&err).join(" ").contains("--debug-dir"), "{err}");
    let debug = fixture(t, b).parent().unwrap().join("debug");
    let (out, _) = report_debug(&d[0], &debug);
    check_leaks_report(&out);
    // A build directory: the unstripped file under another name, no .build-id tree (with
    // no build-id, the debuglink's name).
    let plain = common::TempDir::new(&format!("{name}-plain"));
    let has_id = build_id(&debug.join("leaky.debug")).is_some();
    let copy = if has_id { "leaky.unstripped" } else { "leaky.debug" };
    std::fs::copy(debug.join("leaky.debug"), plain.join(copy)).unwrap();
    if !has_id {
        // A debug file of another build under the linked name: its CRC differs.
        let wrong = common::TempDir::new(&format!("{name}-wrong"));
        let other = fixture(t, Build::Dwarf4);
        std::fs::copy(&other, wrong.join("leaky.debug")).unwrap();
        let (out, _) = report_debug(&d[0], &wrong);
        assert!(!out.contains("leaky.c:"), "a debug file with another CRC was used:\n{out}");
    }
    std::fs::write(plain.join("notes.txt"), "not ELF").unwrap();
    let (out, _) = report_debug(&d[0], &plain);
    check_leaks_report(&out);
    // A directory without it: still no lines, and no error.
    let empty = common::TempDir::new(&format!("{name}-empty"));
    let (out, _) = report_debug(&d[0], &empty);
    assert!(!out.contains("leaky.c:"), "{out}");
}

#[test]
fn host_lines_from_dwarf4() {
    lines_by_build(&HOST, Build::Dwarf4, "host-dwarf4");
}

#[test]
fn host_lines_of_a_stripped_program_from_its_debug_file() {
    lines_by_build(&HOST, Build::Stripped, "host-stripped");
}

#[test]
fn aarch64_glibc_lines_from_dwarf4_and_a_debug_file_under_qemu() {
    lines_by_build(&GNU, Build::Dwarf4, "gnu-dwarf4");
    lines_by_build(&GNU, Build::Stripped, "gnu-stripped");
}

#[test]
fn aarch64_musl_lines_from_dwarf4_and_a_debug_file_under_qemu() {
    lines_by_build(&MUSL, Build::Dwarf4, "musl-dwarf4");
    lines_by_build(&MUSL, Build::Stripped, "musl-stripped");
}

/// The allocation log of `leaky chain`: `--ptr` follows the block from chain_start's
/// malloc through chain_grow's two reallocs to chain_end's free, each named with its line;
/// churn's blocks are in the log but not in the dump's report.
fn events_chain(t: &Target, name: &str) {
    let dir = dump_dir(name);
    let log = dir.join("events");
    let mut c = preloaded(t, &dir, &["chain"]);
    c.env("KLEAK_TRACE_EVENTS", &log);
    let o = run_bounded(c, 120);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let said = |k: &str| stdout.lines().find_map(|l| l.strip_prefix(k)).unwrap().to_string();
    let (first, last) = (said("first "), said("last "));
    assert_ne!(first, last, "the reallocs moved the block");
    let (code, out, err) = run(&["trace", "report", "--events", log.to_str().unwrap(), "--ptr", &first]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().skip(1).collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(kinds, ["MALLOC", "REALLOC", "REALLOC", "FREE"], "{out}");
    assert!(lines[0].contains(&format!(" {first} chain_start+0x")), "{out}");
    assert!(lines[0].contains(" 16B ") && lines[1].contains(" 3.9K ") && lines[2].contains(" 1.0M "), "{out}");
    assert!(lines[1].contains(&format!(" {first} -> ")), "{out}");
    assert!(lines[3].contains(&format!(" {last} chain_end+0x")), "{out}");
    let grow = source_line("return realloc(p, n)");
    for (l, want) in [(lines[0], source_line("*p = malloc(16)")), (lines[1], grow.clone()), (lines[2], grow)] {
        assert!(l.contains(&want), "{want}: {l}");
    }
    assert!(lines[3].contains(&source_line("void chain_end(void *p) { free(p); }")), "{out}");
    assert!(common::messages(&err).is_empty(), "a whole chain, freed: {err}");
    // The whole log: churn's 100 mallocs and frees are there; the dump names no churn.
    let (code, all, _) = run(&["trace", "report", "--events", log.to_str().unwrap()]);
    assert_eq!(code, 0);
    let churn: Vec<&str> = all.lines().filter(|l| l.contains(" churn+0x")).collect();
    assert_eq!(churn.len(), 200, "{all}");
    assert_eq!(churn.iter().filter(|l| l.starts_with("FREE ")).count(), 100);
    let d = dumps(&dir, 0);
    let rep = report(&[d.last().unwrap()]);
    assert!(row(&rep, "churn").is_none() && row(&rep, "chain_start").is_none(), "freed memory reported:\n{rep}");
    assert_eq!(row(&rep, "leak_malloc").unwrap()[0], "10", "{rep}");
}

#[test]
fn host_events_follow_a_block_through_its_reallocs_to_its_free() {
    events_chain(&HOST, "host-events");
}

#[test]
fn aarch64_glibc_events_under_qemu() {
    events_chain(&GNU, "gnu-events");
}

#[test]
fn aarch64_musl_events_under_qemu() {
    events_chain(&MUSL, "musl-events");
}

#[test]
fn host_preloaded_by_hand() {
    leaks_by_hand(&HOST, "host-hand");
}

#[test]
fn aarch64_glibc_under_qemu() {
    leaks_by_hand(&GNU, "gnu-hand");
}

#[test]
fn aarch64_musl_under_qemu() {
    leaks_by_hand(&MUSL, "musl-hand");
}

fn threads(t: &Target, name: &str) {
    let dir = dump_dir(name);
    let iterations = t.iterations.to_string();
    let o = run_bounded(preloaded(t, &dir, &["threads", &iterations]), 300);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = dumps(&dir, 0);
    // Three SIGUSR2 dumps while the threads hammered (a dump may absorb another), then exit.
    assert!(d.len() >= 2, "{d:?}");
    let last = d.last().unwrap();
    assert_eq!(header(last, "reason"), "exit");
    assert_eq!(header(last, "untracked_allocs"), "0");
    assert_eq!(header(last, "unknown_frees"), "0", "a free found no record");
    for f in &d {
        assert!(std::fs::read_to_string(f).unwrap().ends_with("--- end\n"), "{f:?} incomplete");
    }
    let out = report(&[last]);
    // Every one of the 8 × 100 blocks kept, and none of the 8 × N that were freed.
    let r = row(&out, "thread_leak").unwrap_or_else(|| panic!("thread_leak missing:\n{out}"));
    assert_eq!(r[0], "800", "{out}");
    assert!(row(&out, "hammer").is_none(), "freed blocks reported:\n{out}");
    // The first dump against the last: thread_leak is what grew.
    let grew = report(&[&d[0], last]);
    let g = row(&grew, "thread_leak").unwrap_or_else(|| panic!("{grew}"));
    assert!(g[0].starts_with('+'), "{grew}");
}

#[test]
fn host_eight_threads_lose_no_record_and_do_not_deadlock() {
    threads(&HOST, "host-threads");
}

#[test]
fn aarch64_glibc_threads_under_qemu() {
    threads(&GNU, "gnu-threads");
}

#[test]
fn aarch64_musl_threads_under_qemu() {
    threads(&MUSL, "musl-threads");
}

#[test]
fn sigusr1_pauses_recording_and_sigusr2_dumps() {
    let dir = dump_dir("toggle");
    let o = run_bounded(preloaded(&HOST, &dir, &["toggle"]), 60);
    assert!(o.status.success());
    let d = dumps(&dir, 0);
    assert_eq!(d.len(), 2, "the SIGUSR2 dump and the exit dump: {d:?}");
    assert_eq!(header(&d[0], "reason"), "signal");
    assert_eq!(header(&d[0], "tracing"), "on");
    let out = report(&[&d[0]]);
    assert_eq!(row(&out, "leak_malloc").unwrap()[0], "10", "{out}");
    assert!(row(&out, "leak_while_off").is_none(), "recorded while off:\n{out}");
}

#[test]
fn a_forked_child_dumps_under_its_own_pid() {
    let dir = dump_dir("fork");
    let o = run_bounded(preloaded(&HOST, &dir, &["fork"]), 60);
    assert!(o.status.success());
    let child: u32 = String::from_utf8_lossy(&o.stdout).trim().strip_prefix("child ").unwrap().parse().unwrap();
    let all = dumps(&dir, 0);
    let mine = dumps(&dir, child);
    assert_eq!((all.len(), mine.len()), (2, 1), "{all:?}");
    let parent = all.iter().find(|p| !mine.contains(p)).unwrap();
    let p = report(&[parent]);
    assert!(row(&p, "parent_leak").is_some() && row(&p, "child_leak").is_none(), "{p}");
    let c = report(&[&mine[0]]);
    assert!(row(&c, "child_leak").is_some(), "{c}");
}

#[test]
fn list_shows_a_live_process_then_notices_its_death() {
    let dir = dump_dir("list");
    let mut c = preloaded(&HOST, &dir, &["wait"]);
    let mut child = Reaped(c.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pid = child.0.id().to_string();
    let list = || {
        let (code, out, err) = run(&["trace", "list", "-o", dir.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        out.lines().find(|l| l.split_whitespace().next() == Some(&pid)).map(str::to_string).unwrap()
    };
    let alive = list();
    let cols: Vec<&str> = alive.split_whitespace().collect();
    assert_eq!(&cols[1..5], ["alive", "on", "1", "1000B"], "{alive}");
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let dead = list();
    assert!(dead.contains(" died "), "{dead}");
    let (_, json, _) = run(&["--json", "trace", "list", "-o", dir.to_str().unwrap()]);
    let v = common::json_lines(&json);
    assert_eq!(v[0]["kind"], "trace_process");
    assert_eq!(v[0]["dumps"], 1);
    assert!(v[0]["cmdline"].as_str().unwrap().ends_with("leaky wait"), "{json}");
    assert_eq!(v.last().unwrap()["processes"], 1);
}

/// `trace off`, `dump`, `on` on a running traced process: each answers with a dump, and
/// `list` shows the state; a process that is not traced is refused and left alive.
#[test]
fn on_off_and_dump_a_running_process_and_list_says_which() {
    let dir = dump_dir("control");
    let d = dir.to_str().unwrap();
    let mut c = preloaded(&HOST, &dir, &["wait"]);
    let mut child = Reaped(c.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pid = child.0.id().to_string();
    let tracing = || {
        let (code, out, err) = run(&["trace", "list", "-o", d]);
        assert_eq!(code, 0, "{err}");
        let l = out.lines().find(|l| l.split_whitespace().next() == Some(&pid)).unwrap().to_string();
        l.split_whitespace().nth(2).unwrap().to_string()
    };
    assert_eq!(tracing(), "on");
    let (code, _, err) = run(&["trace", "off", &pid]);
    assert_eq!(code, 0, "{err}");
    assert!(common::messages(&err)[0].contains("recording off"), "{err}");
    assert_eq!(tracing(), "off");
    let before = dumps(&dir, 0).len();
    let (code, out, err) = run(&["trace", "dump", &pid]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(dumps(&dir, 0).len(), before + 1);
    assert_eq!(row(&out, "leak_malloc").unwrap()[0], "10", "{out}");
    let (code, _, err) = run(&["trace", "on", &pid]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tracing(), "on");
    // Not traced: SIGUSR1 would kill it, so kleak refuses before signalling.
    let mut plain = Reaped(Command::new("sleep").arg("30").spawn().unwrap());
    let (code, _, err) = run(&["trace", "off", &plain.0.id().to_string()]);
    assert_eq!(code, 3, "{err}");
    assert!(common::messages(&err)[0].contains("is not traced"), "{err}");
    assert!(plain.0.try_wait().unwrap().is_none(), "the untraced process was signalled");
    let (code, _, _) = run(&["trace", "on"]);
    assert_eq!(code, 2);
}

#[test]
fn a_static_program_is_refused_with_a_hint() {
    let prog = fixture(&HOST, Build::Static);
    let o = kleak().args(["trace", "--"]).arg(&prog).env("KLEAK_TRACE_LIB", lib(&HOST)).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    let m = common::messages(&err);
    assert!(m[0].contains("statically linked") && m[0].contains("kleak watch --pid"), "{err}");
    assert_eq!(m.len(), 1, "{err}");
}

#[test]
fn usage_errors() {
    let (code, _, err) = run(&["trace"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["trace", "report"]);
    assert_eq!(code, 2, "{err}");
    let not_a_dump = repo().join("Cargo.toml");
    let (code, _, err) = run(&["trace", "report", not_a_dump.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(common::messages(&err)[0].contains("not a kleak trace dump"), "{err}");
    let (code, _, err) = run(&["trace", "--", "/nonexistent/prog"]);
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = run(&["trace", "report", "--ptr", "0x10", not_a_dump.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(common::messages(&err)[0].contains("--events"), "{err}");
    let (code, _, err) = run(&["trace", "report", "--events", not_a_dump.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(common::messages(&err)[0].contains("not a kleak allocation log"), "{err}");
    let (code, _, err) = run(&["trace", "dump", "x"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_literal_dump_reports_without_its_files() {
    // A dump from another machine: its files are not here, so sites show as file offsets.
    let dump = repo().join("tests/fixtures/trace/board.kleak-trace");
    let out = report(&[&dump]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "pid 912: /usr/sbin/netd --foreground");
    assert!(lines[1].starts_with("dump 7 (interval): 1203 allocations, 1.1M outstanding in 4 call sites"), "{out}");
    assert!(lines[3].trim_start().starts_with("1100") && lines[3].ends_with("0x1d2c8 (netd)"), "{out}");
    assert!(out.contains("0x7a1f2 (libc.so.6)"), "{out}");
    assert!(out.contains("0xffffa0001234 (no file)"), "{out}");
    assert!(out.contains("(sites folded together"), "{out}");
}

//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

mod tempdir;
pub use tempdir::TempDir;

/// tests/corpus: real captures by other people (see its SOURCES.md), copied into the
/// repository so a clone tests alone.
pub fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// tests/fixtures
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// MANIFEST.json entries whose file starts with `dir/`.
pub fn manifest(dir: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(corpus().join("MANIFEST.json")).expect("tests/corpus/MANIFEST.json");
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let prefix = format!("{dir}/");
    let v: Vec<_> = all.into_iter().filter(|e| e["file"].as_str().unwrap().starts_with(&prefix)).collect();
    assert!(!v.is_empty(), "no {dir} files in the manifest");
    v
}

/// The kleak binary. Tests built for another architecture run under qemu-user, which
/// cannot exec a foreign binary without binfmt_misc (ENOEXEC): then kleak is started
/// through the same emulator.
pub fn kleak() -> Command {
    static EMULATED: OnceLock<bool> = OnceLock::new();
    let bin = env!("CARGO_BIN_EXE_kleak");
    let emulated = *EMULATED
        .get_or_init(|| matches!(Command::new(bin).arg("--version").output(), Err(e) if e.raw_os_error() == Some(8)));
    if emulated {
        let mut c = Command::new(format!("qemu-{}-static", std::env::consts::ARCH));
        c.arg(bin);
        return c;
    }
    Command::new(bin)
}

/// A command that starts the binary `exe` of this target: directly, or through
/// qemu-user when the tests are built for another architecture (see [`kleak`]).
pub fn reexec(exe: &std::path::Path) -> Command {
    let direct = Command::new(exe).arg("--list").stdout(std::process::Stdio::null()).status();
    if matches!(direct, Err(e) if e.raw_os_error() == Some(8)) {
        let mut c = Command::new(format!("qemu-{}-static", std::env::consts::ARCH));
        c.arg(exe);
        return c;
    }
    Command::new(exe)
}

/// Whether the tests run as root (the owner of /proc/self).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// kleak run as `nobody` through setpriv (through qemu-user as well when the tests are
/// built for another architecture, as [`kleak`] is): what a user without root sees.
/// Err says why that cannot be done here.
pub fn kleak_as_nobody() -> Result<Command, &'static str> {
    if !is_root() {
        return Err("needs root, to become nobody with setpriv");
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        return Err("setpriv (util-linux) is missing");
    }
    let k = kleak();
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(k.get_program()).args(k.get_args());
    Ok(c)
}

/// Runs kleak with `args`, returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let o: Output = kleak().args(args).output().expect("running kleak");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Every line of `stdout` parsed as JSON.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}"))).collect()
}

/// A --root tree whose slabinfo a thread rewrites in place (same length, so kleak's open
/// descriptor sees it): `grow(i, dropped)` gives the objects of cache `name` at step i.
pub struct LiveTree {
    /// The tree.
    pub dir: TempDir,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub fn slabinfo(name: &str, objs: u64) -> String {
    format!(
        "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n{name} {objs:010} {objs:010} 192 21 1 : tunables 0 0 0 : slabdata {s:08} {s:08} 0\nkmalloc-64 0000001000 0000001024 64 64 1 : tunables 0 0 0 : slabdata 00000016 00000016 0\n",
        s = objs / 21 + 1
    )
}

impl LiveTree {
    pub fn new(tag: &str, name: &'static str, grow: impl Fn(u64, bool) -> u64 + Send + 'static) -> Self {
        let dir = TempDir::new(&format!("tree-{tag}"));
        let proc_ = dir.join("proc");
        std::fs::create_dir_all(proc_.join("sys/vm")).unwrap();
        let fixture = fixtures().join("host-x86_64-6.18/proc");
        std::fs::copy(fixture.join("meminfo"), proc_.join("meminfo")).unwrap();
        std::fs::write(proc_.join("sys/vm/drop_caches"), "").unwrap();
        std::fs::write(proc_.join("slabinfo"), slabinfo(name, grow(0, false))).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (s, p) = (stop.clone(), proc_.clone());
        let thread = std::thread::spawn(move || {
            let f = std::fs::OpenOptions::new().write(true).open(p.join("slabinfo")).unwrap();
            let mut i = 0;
            while !s.load(Ordering::Relaxed) {
                let dropped = std::fs::read_to_string(p.join("sys/vm/drop_caches")).unwrap_or_default().contains('2');
                f.write_all_at(slabinfo(name, grow(i, dropped)).as_bytes(), 0).unwrap();
                i += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        LiveTree { dir, stop, thread: Some(thread) }
    }

    pub fn root(&self) -> &str {
        self.dir.str()
    }

    pub fn drop_caches(&self) -> String {
        std::fs::read_to_string(self.dir.join("proc/sys/vm/drop_caches")).unwrap()
    }
}

impl Drop for LiveTree {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A test that cannot run here says so where a person sees it: on stderr, and in the file
/// named by `KLEAK_SKIPS` (tests/run.sh lists that file's lines at its end). Under CI
/// (`CI=true`) every test is meant to run, so a skip fails the test instead.
/// Call it and `return`.
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIP {test}: {reason}\n");
    eprint!("{line}");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI runs every test, but {test} skipped: {reason}");
    }
    if let Some(path) = std::env::var_os("KLEAK_SKIPS") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// The messages kleak wrote to stderr: each `kleak: ` line with its indented continuation
/// lines joined (kleak wraps a message at 80 columns), without the `kleak: ` prefix.
pub fn messages(stderr: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for l in stderr.lines() {
        match (l.strip_prefix("kleak: "), v.last_mut()) {
            (Some(m), _) => v.push(m.to_string()),
            (None, Some(last)) if l.starts_with("       ") => {
                last.push(' ');
                last.push_str(l.trim_start());
            }
            _ => v.push(l.to_string()),
        }
    }
    v
}

/// One sample of a fake /proc in which the caches `leakers` leak (cache k has gained
/// `leaked * (k + 1)` objects) and `dentry` only churns (step `i`), with `Unaccounted`
/// growing alongside: (slabinfo, meminfo).
pub fn leaking_proc(leakers: &[&str], leaked: u64, i: u64) -> (String, String) {
    use std::fmt::Write as _;
    let mut slab = String::from(
        "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n",
    );
    for (k, name) in leakers.iter().enumerate() {
        let n = 1000 + leaked * (k as u64 + 1);
        writeln!(slab, "{name} {n} {n} 64 64 1 : tunables 0 0 0 : slabdata {0} {0} 0", n / 64 + 1).unwrap();
    }
    let churn = 5000 + (i % 20) * 400;
    writeln!(slab, "dentry {churn} {churn} 192 21 1 : tunables 0 0 0 : slabdata 1 1 0").unwrap();
    let mem = format!(
        "MemTotal: 4000000 kB\nMemFree: {} kB\nCached: 100000 kB\nSlab: 5000 kB\nSUnreclaim: 5000 kB\n",
        3_000_000 - leaked / 2
    );
    (slab, mem)
}

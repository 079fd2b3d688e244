//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// ../shared/corpus, beside the repository.
pub fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// tests/fixtures
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// MANIFEST.json entries whose file starts with `dir/`.
pub fn manifest(dir: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(corpus().join("MANIFEST.json")).expect("../shared/corpus/MANIFEST.json");
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

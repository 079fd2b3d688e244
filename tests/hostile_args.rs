//! Hostile arguments (issue 15 rows 1, 8, 10, 11, 12): bytes that are not UTF-8, empty and
//! huge arguments, files that are not what kleak reads, special files. kleak never panics,
//! passes paths and command arguments on byte for byte, and says what is wrong in one
//! message of lines that fit 80 columns.

mod common;

use common::{fixtures, kleak, TempDir};
use proptest::prelude::*;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs kleak with byte arguments, in `cwd`, in the C locale (so `...` elides).
fn run_os(cwd: &std::path::Path, args: &[&OsStr]) -> (i32, Vec<u8>, String) {
    let o = kleak().args(args).current_dir(cwd).env("LC_ALL", "C").output().expect("running kleak");
    (o.status.code().unwrap_or(-1), o.stdout, String::from_utf8_lossy(&o.stderr).into_owned())
}

fn os(b: &[u8]) -> OsString {
    OsString::from_vec(b.to_vec())
}

/// A copy of the fixture tree under `dir/name` (name may be any bytes).
fn copy_tree(dir: &TempDir, name: &[u8]) -> std::path::PathBuf {
    let to = dir.join(OsStr::from_bytes(name));
    let from = fixtures().join("host-x86_64-6.18/proc");
    std::fs::create_dir_all(to.join("proc/sys/kernel")).unwrap();
    for f in ["meminfo", "vmstat", "slabinfo", "uptime", "sys/kernel/osrelease"] {
        std::fs::copy(from.join(f), to.join("proc").join(f)).unwrap();
    }
    to
}

/// One message, every line within 80 columns.
fn one_message(err: &str) -> String {
    let m = common::messages(err);
    assert_eq!(m.len(), 1, "{err}");
    for l in err.lines() {
        assert!(l.chars().count() <= 80, "wider than 80 columns: {l:?}");
    }
    m.into_iter().next().unwrap()
}

#[test]
fn arguments_that_are_not_utf8_are_bytes_end_to_end() {
    let dir = TempDir::new("bytes");
    let tree = copy_tree(&dir, b"tree\xff");
    let t = tree.as_os_str();
    let r = |args: &[&OsStr]| run_os(dir.path(), args);
    let s = |x: &str| OsString::from(x);

    // A tree whose name is not UTF-8 is read like any other.
    let (code, out, err) = r(&[&s("--root"), t, &s("all")]);
    assert_eq!(code, 0, "{err}");
    assert!(String::from_utf8_lossy(&out).contains("CACHE SIZE"));

    // A snapshot file named with such bytes round-trips through diff.
    let snap = os(b"before\xfe.snap");
    let (code, _, err) = r(&[&s("--root"), t, &s("snapshot"), &s("-o"), &snap]);
    assert_eq!(
        (code, common::messages(&err)),
        (
            0,
            vec![format!(
                "snapshot written to before\\xfe.snap ({} bytes)",
                std::fs::metadata(dir.join(OsStr::from_bytes(b"before\xfe.snap"))).unwrap().len()
            )]
        )
    );
    let (code, out, err) = r(&[&s("diff"), &snap, &snap]);
    assert_eq!(code, 0, "{err}");
    assert!(String::from_utf8_lossy(&out).starts_with("changes (0 caches changed)"));

    // The command `run` runs gets its arguments byte for byte.
    let (code, out, err) =
        r(&[&s("--root"), t, &s("run"), &s("--settle"), &s("0"), &s("--"), &s("printf"), &s("%s|"), &os(b"a\xffb")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(b"a\xffb|"), "{}", String::from_utf8_lossy(&out));
    assert!(String::from_utf8_lossy(&out).contains("kleak run: printf %s| a\\xffb: exit 0"));

    // Where such bytes name something missing, the message shows them escaped.
    let cases: &[(&[&OsStr], i32, &str)] = &[
        (&[&os(b"\xff")], 2, "unrecognized argument: \\xff (see `kleak --help`)"),
        (&[&s("--root"), &os(b"/x/\xff"), &s("all")], 3, "--root /x/\\xff: no such file or directory"),
        (&[&s("all"), &s("--root"), &os(b"/x/\xff")], 3, "--root /x/\\xff: no such file or directory"),
        (&[&s("log"), &os(b"ring\xff")], 3, "ring\\xff: no such file"),
        (&[&s("diff"), &os(b"a\xff"), &os(b"b")], 3, "a\\xff: no such file"),
        (&[&s("leaks"), &s("--input"), &os(b"r\xff")], 3, "r\\xff: no such file or directory"),
        (&[&s("trace"), &s("--"), &os(b"/no/such/\xff")], 3, "/no/such/\\xff: no such file or directory"),
        // A value that must be text refuses them: a usage error, exit 2.
        (&[&s("--match"), &os(b"\xff"), &s("all")], 2, "--match \\xff: not valid UTF-8 text (see `kleak --help`)"),
        (
            &[&s("watch"), &s("--interval"), &os(b"5\xff")],
            2,
            "--interval 5\\xff: not a duration (e.g. 5, 0.5, 90s, 10m, 1h) (see `kleak --help`)",
        ),
        (&[&s("kmemleak"), &os(b"scan\xff")], 2, "command scan\\xff: not valid UTF-8 text (see `kleak --help`)"),
    ];
    for (args, code, msg) in cases {
        let (c, out, err) = r(args);
        assert_eq!((c, one_message(&err).as_str()), (*code, *msg), "{args:?}");
        assert!(out.is_empty(), "{args:?}");
    }
}

#[test]
fn count_zero_is_a_usage_error() {
    let tree = fixtures().join("host-x86_64-6.18");
    let (code, out, err) = common::run(&["--root", tree.to_str().unwrap(), "watch", "--interval", "0", "--count", "0"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(err, "kleak: --count must be at least 1 (without it, watch samples until stopped)\n");
}

#[test]
fn long_paths_are_elided_in_the_middle_never_cut() {
    let dir = TempDir::new("long");
    // A 1000-byte component: the kernel refuses the name, the reason is kept.
    let huge = format!("/{}", "a".repeat(1000));
    let (code, _, err) = run_os(dir.path(), &[OsStr::new("--root"), OsStr::new(&huge), OsStr::new("all")]);
    assert_eq!(code, 3);
    let want = format!("--root /{}...{}: file name too long", "a".repeat(27), "a".repeat(28));
    assert_eq!(one_message(&err), want);
    // A long path that only does not exist: its head and tail, and why.
    let deep = format!("{}/{}/proc", dir.path().display(), ["b".repeat(100), "c".repeat(100)].join("/"));
    let (code, _, err) = run_os(dir.path(), &[OsStr::new("--root"), OsStr::new(&deep), OsStr::new("all")]);
    assert_eq!(code, 3);
    let m = one_message(&err);
    assert!(
        m.starts_with("--root /") && m.contains("...") && m.ends_with("ccc/proc: no such file or directory"),
        "{m}"
    );
    // A huge argument is named, elided, in one message.
    let arg = "z".repeat(100_000);
    let (code, _, err) = run_os(dir.path(), &[OsStr::new(&arg)]);
    assert_eq!(code, 2);
    let want = format!("unrecognized argument: {}...{} (see `kleak --help`)", "z".repeat(28), "z".repeat(29));
    assert_eq!(one_message(&err), want);
}

#[test]
fn a_file_of_no_known_format_is_refused() {
    let dir = TempDir::new("not-proc");
    let src = dir.join("some.c");
    std::fs::write(&src, "#include <stdio.h>\n\nint main(void)\n{\n\tputs(\"hello: world\");\n\treturn 0;\n}\n")
        .unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let real = fixtures().join("host-x86_64-6.18/proc/slabinfo");
    for (args, name) in [
        (vec![src.as_os_str()], "some.c"),
        (vec![real.as_os_str(), src.as_os_str()], "some.c"),
        (vec![empty.as_os_str()], "empty"),
    ] {
        let args: Vec<&OsStr> = [&[OsStr::new("diff")][..], &args].concat();
        let (code, out, err) = run_os(dir.path(), &args);
        assert_eq!(code, 3, "{err}");
        assert!(out.is_empty());
        let want = format!(
            "{}: not a kleak snapshot or a copy of /proc/slabinfo, /proc/vmstat or /proc/meminfo",
            dir.join(name).display()
        );
        assert_eq!(one_message(&err), want);
    }
    // replay says the same (and names the file).
    let (code, _, err) = run_os(dir.path(), &[OsStr::new("replay"), src.as_os_str()]);
    assert_eq!(code, 3);
    assert!(one_message(&err).contains("some.c: not a kleak snapshot"), "{err}");
}

#[test]
fn special_files_as_root_or_log_are_refused_in_words() {
    let dir = TempDir::new("special");
    let file = dir.join("file");
    std::fs::write(&file, "x").unwrap();
    let f = file.to_str().unwrap();
    let (code, out, err) = common::run(&["--root", f, "all"]);
    assert_eq!((code, out.as_str(), err.clone()), (3, "", format!("kleak: --root {f}: not a directory\n")));
    let (code, _, err) = common::run(&["--root", &format!("{f}/sub"), "all"]);
    assert_eq!(code, 3);
    assert!(one_message(&err).ends_with(": not a directory") && !err.contains("os error"), "{err}");

    let fifo = dir.join("fifo");
    match Command::new("mkfifo").arg(&fifo).status() {
        Ok(s) if s.success() => {}
        _ => return common::skip("special_files_as_root_or_log_are_refused_in_words", "no mkfifo"),
    }
    let tree = copy_tree(&dir, b"tree");
    let t = tree.to_str().unwrap();
    let p = fifo.to_str().unwrap();
    for args in [&["watch", "--count", "1", "--log", p][..], &["run", "--log", p, "--", "true"]] {
        let (code, out, err) = common::run(&[&["--root", t], args].concat());
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(one_message(&err), format!("--log {p}: a FIFO, not a file; the ring log needs a regular file"));
    }
    let (code, _, err) = common::run(&["--root", t, "watch", "--count", "1", "--log", dir.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(one_message(&err).ends_with(": a directory, not a file; the ring log needs a regular file"), "{err}");
}

/// One argument a hostile caller might pass: words kleak knows, numbers, bytes that are
/// not UTF-8, empty, huge. Never `--root` (each run reads its own copy of a tree), `--mount`
/// or `off` (nothing on the machine that runs the tests is changed).
fn hostile_arg() -> impl Strategy<Value = Vec<u8>> {
    let words = prop::sample::select(vec![
        "all",
        "diff",
        "top",
        "snapshot",
        "watch",
        "leaks",
        "kmemleak",
        "log",
        "replay",
        "doctor",
        "trace",
        "run",
        "report",
        "list",
        "-all",
        "-diff",
        "-top",
        "-h",
        "--help",
        "help",
        "--",
        "-",
        "--json",
        "--exact",
        "--wide",
        "--ascii",
        "--version",
        "--match",
        "!x*",
        "--count",
        "--interval",
        "--window",
        "--log",
        "--input",
        "-o",
        "-n",
        "--since",
        "--sort",
        "scan",
        "clear",
        "0",
        "1",
        "-1",
        "3",
        "0.05",
        "1e308",
        "18446744073709551616",
        "5m",
        "true",
        "x.snap",
    ])
    .prop_map(|w| w.as_bytes().to_vec());
    prop_oneof![
        6 => words,
        2 => prop::collection::vec(any::<u8>().prop_filter("no NUL in argv", |b| *b != 0), 0..12),
        1 => Just(Vec::new()),
        1 => (1usize..100_000, any::<u8>()).prop_map(|(n, b)| vec![if b == 0 { b'y' } else { b }; n]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Random argument vectors never panic (a panic aborts: SIGABRT) and end with 0 to 5.
    /// A run still going after two seconds (watch samples until stopped) is stopped with
    /// SIGTERM and must end as cleanly.
    #[test]
    fn random_argv_never_panics_and_exits_0_to_5(args in prop::collection::vec(hostile_arg(), 0..7)) {
        let dir = TempDir::new("argv");
        let tree = copy_tree(&dir, b"tree");
        let mut c = kleak();
        c.arg("--root").arg(&tree).args(args.iter().map(|a| OsStr::from_bytes(a)));
        // stderr to a file: a pipe nobody reads while it runs could fill and block kleak.
        let err_path = dir.join("stderr");
        let err_file = std::fs::File::create(&err_path).unwrap();
        c.current_dir(dir.path()).env("LC_ALL", "C").stdin(Stdio::null()).stdout(Stdio::null()).stderr(err_file);
        let mut child = c.spawn().unwrap();
        let start = Instant::now();
        let mut stopped = false;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if !stopped && start.elapsed() > Duration::from_secs(2) {
                // SAFETY: kill only signals our own child.
                unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
                stopped = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let err = String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned();
        prop_assert!(!err.contains("panicked"), "{args:?}: {err}");
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(c), _) => prop_assert!((0..=5).contains(&c), "{args:?}: exit {c}: {err}"),
            // Our SIGTERM before kleak's handler was in place (a slow emulator): not a crash.
            (None, Some(libc::SIGTERM)) if stopped => {}
            (None, sig) => prop_assert!(false, "{args:?}: killed by signal {sig:?}: {err}"),
        }
    }
}

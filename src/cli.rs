//! The command line: argh structs, the original tool's spellings (`-all`, `-diff`,
//! `-top N`, with the original's meanings), `-h`, usage errors in one message, help in 80
//! columns, and the value parsers every command shares (durations, sizes). Arguments are
//! bytes: [`crate::arg`] carries them through argh.
//!
//! Each subcommand's arguments live with the subcommand in [`crate::cmd`]; this module
//! only lists them and dispatches.

use crate::arg::{stand_in, text, Arg, Decoded};
use crate::cmd;
use crate::out::note;
use crate::out::{Out, Style};
use crate::sample::FsRoot;
use crate::{sys, Exit};
use argh::FromArgs;
use std::ffi::OsStr;

/// kleak finds kernel memory leaks from user space: slab, meminfo, kmemleak.
#[derive(FromArgs, Debug)]
#[argh(
    example = "watch the slab caches of a board, one line per sample:\n  $ kleak watch --interval 10",
    example = "which caches grew most over 30 seconds:\n  $ kleak top -n 5 --interval 30",
    example = "compare a snapshot taken before a test with now:\n  $ kleak snapshot -o /tmp/before && run-test && kleak diff /tmp/before",
    example = "stop at the first suspect leak (exit code 1):\n  $ kleak watch --window 5m --exit-on-leak",
    note = "Without a command kleak runs `watch`. The original spellings -all, -diff and\n-top N work too. Global options may also follow the command.\nExit codes: 0 ok, 1 leak found, 2 usage error, 3 environment error (missing\nfile, kernel option, permission), 4 the command `kleak run` ran failed,
5 `kleak run` interrupted before its verdict."
)]
pub struct Args {
    /// read DIR/proc and DIR/sys instead of the running system (a captured tree)
    #[argh(option, arg_name = "DIR")]
    pub root: Option<Arg>,
    /// print JSON lines instead of tables (schema in the README)
    #[argh(switch)]
    pub json: bool,
    /// exact byte counts in tables instead of K/M/G
    #[argh(switch)]
    pub exact: bool,
    /// use up to 200 columns instead of 80 (long cache names in full)
    #[argh(switch)]
    pub wide: bool,
    /// only slab caches matching this glob (repeatable; !PATTERN excludes)
    #[argh(option, arg_name = "PATTERN", from_str_fn(text))]
    pub r#match: Vec<String>,
    /// plain ASCII sparklines (the default when the locale is not UTF-8)
    #[argh(switch)]
    pub ascii: bool,
    /// print kleak's version
    #[argh(switch)]
    pub version: bool,
    #[argh(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Cmd {
    All(cmd::all::AllArgs),
    Diff(cmd::diff::DiffArgs),
    Doctor(cmd::doctor::DoctorArgs),
    Log(cmd::log::LogArgs),
    Plot(cmd::plot::PlotArgs),
    Top(cmd::top::TopArgs),
    Snapshot(cmd::snapshot::SnapshotArgs),
    Watch(cmd::watch::WatchArgs),
    Leaks(cmd::leaks::LeaksArgs),
    Kmemleak(cmd::kmemleak::KmemleakArgs),
    Run(cmd::run::RunArgs),
    Replay(cmd::replay::ReplayArgs),
    Trace(cmd::trace::TraceArgs),
}

/// What every command gets: where files come from and where output goes.
pub struct Ctx {
    /// The system or tree being read.
    pub root: FsRoot,
    /// Standard output.
    pub out: Out,
    /// The caches to show and judge (`--match`).
    pub matcher: crate::matcher::Matcher,
}

/// The options of `run` that take a value (a test checks them against `run --help`).
const RUN_VALUE_OPTIONS: &[&str] =
    &["--settle", "--repeat", "--log", "--log-size", "--log-every", "--sync-secs", "--root", "--match"];

/// Options that may also be written after the subcommand (`kleak all --json`).
const GLOBAL_SWITCHES: &[&str] = &["--json", "--exact", "--wide", "--ascii"];
const GLOBAL_OPTIONS: &[&str] = &["--root", "--match"];

/// Rewrites the original tool's spellings and moves global options in front of the
/// subcommand, stopping at `--` (what follows belongs to a command kleak runs).
/// `-h` is `--help`; `-top N` is `top --objs N` (the original ranked by objects).
pub fn normalize(args: &[String]) -> Vec<&str> {
    let mut front = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    let mut seen_cmd = false;
    let mut run = false;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).map(String::as_str);
        // `run`'s CMD may come without `--` (argh takes the rest as it is): from there on
        // every argument is CMD's, `-h` and `--json` included.
        let cmd_starts = run && !a.starts_with('-') && !RUN_VALUE_OPTIONS.contains(&args[i - 1].as_str());
        if a == "--" || cmd_starts {
            rest.extend(args[i..].iter().map(String::as_str));
            break;
        }
        run |= !seen_cmd && a == "run";
        let global = GLOBAL_OPTIONS.contains(&a);
        match a {
            "-h" => rest.push("--help"),
            "-all" => rest.push("all"),
            "-diff" => rest.extend(["diff", "--grown"]),
            "-top" => {
                rest.extend(["top", "--objs"]);
                if let Some(n) = next.filter(|n| n.parse::<u64>().is_ok()) {
                    rest.extend(["-n", n]);
                    i += 1;
                }
            }
            _ if seen_cmd && GLOBAL_SWITCHES.contains(&a) => front.push(a),
            // Without its value it stays where it is, for argh to name what is missing.
            _ if seen_cmd && global && next.is_none() => rest.push(a),
            _ if global && next.is_some() => {
                (if seen_cmd { &mut front } else { &mut rest }).extend([a, next.unwrap_or("")]);
                i += 1;
            }
            _ => rest.push(a),
        }
        if !a.starts_with('-') || matches!(a, "-all" | "-diff" | "-top") {
            seen_cmd = true;
        }
        i += 1;
    }
    front.extend(rest);
    front
}

/// Says argh's complaint as one message naming what is wrong, stand-ins shown as the
/// bytes they stand for.
fn usage_error(output: &str) {
    let mut lines = output.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("bad arguments");
    let hint = " (see `kleak --help`)";
    if let Some((name, value, why)) = parse_error(first) {
        // Rust's words for a bad number, in the user's.
        let why = match why {
            "invalid digit found in string" | "cannot parse integer from empty string" => "not a whole number",
            "number too large to fit in target type" => "too large",
            w => w,
        };
        note(format_args!("{name} {}: {why}{hint}", Decoded(value)));
    } else if first.starts_with("Required positional arguments not provided") {
        // argh names them on the lines that follow.
        let mut names = String::new();
        for l in lines.take_while(|l| !l.starts_with("Run ")) {
            names.push(' ');
            names.push_str(l);
        }
        note(format_args!("missing argument:{names}{hint}"));
    } else if let Some(opt) = first
        .strip_prefix("Unrecognized argument: ")
        .filter(|a| GLOBAL_OPTIONS.contains(a))
        .or_else(|| first.strip_prefix("No value provided for option '")?.strip_suffix("'."))
    {
        note(format_args!("{opt} needs a value{hint}"));
    } else if first == "Unrecognized argument:" {
        note(format_args!("unrecognized argument: \"\" (an empty argument){hint}"));
    } else {
        // argh's sentences start with a capital; kleak's messages do not.
        let (head, rest) = first.split_at(first.len().min(1));
        let head = if head.is_ascii() { head.to_ascii_lowercase() } else { head.to_string() };
        note(format_args!("{head}{}{hint}", Decoded(rest)));
    }
}

/// argh's "Error parsing option '--x' with value 'v': why" (or "positional argument 'n'")
/// as its three parts.
fn parse_error(line: &str) -> Option<(&str, &str, &str)> {
    let rest = line.strip_prefix("Error parsing ")?;
    let rest = rest.strip_prefix("option '").or_else(|| rest.strip_prefix("positional argument '"))?;
    let (name, rest) = split_once(rest, "' with value '")?;
    let (value, why) = split_once(rest, "': ")?;
    Some((name, value, why))
}

/// `s` split at the first `pat`, which starts with an ASCII byte (a byte search: str's
/// substring searcher costs the board binary a kilobyte).
fn split_once<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    let i = s.as_bytes().windows(pat.len()).position(|w| w == pat.as_bytes())?;
    Some((&s[..i], &s[i + pat.len()..]))
}

/// Parses `argv` (without the program name), runs the command, returns the exit code.
pub fn run<A: AsRef<OsStr>>(argv: &[A]) -> i32 {
    let utf8 = crate::out::utf8_locale();
    crate::out::set_ascii_notes(!utf8);
    let argv: Vec<String> = argv.iter().map(|a| stand_in(a.as_ref())).collect();
    let strs = normalize(&argv);
    let parsed = match Args::from_args(&["kleak"], &strs) {
        Ok(a) => a,
        Err(e) => {
            return match e.status {
                Ok(()) => {
                    let _ = sys::write_stdout(wrap_help(&e.output).as_bytes());
                    Exit::Ok as i32
                }
                Err(()) => {
                    usage_error(&e.output);
                    Exit::Usage as i32
                }
            };
        }
    };
    if parsed.version {
        let _ = sys::write_stdout(concat!("kleak ", env!("CARGO_PKG_VERSION"), "\n").as_bytes());
        return 0;
    }
    let style = Style {
        json: parsed.json,
        human: !parsed.exact,
        width: if parsed.wide { crate::out::WIDE } else { 80 },
        color: !parsed.json && crate::out::want_color(),
        ascii: parsed.ascii || !utf8,
        ..Style::default()
    };
    let root = match &parsed.root {
        Some(dir) => match sys::file_type(&[dir.as_bytes()]) {
            Ok(sys::FileType::Dir) => FsRoot::tree(dir.as_bytes()),
            Ok(_) => return root_error(dir, sys::Errno(libc::ENOTDIR)),
            Err(e) => return root_error(dir, e),
        },
        None => FsRoot::live(),
    };
    let matcher = match crate::matcher::Matcher::new(&parsed.r#match) {
        Ok(m) => m,
        Err(e) => {
            crate::out::note(format_args!("{e} (see `kleak --help`)"));
            return Exit::Usage as i32;
        }
    };
    crate::kmemleak::recover(&root);
    let mut ctx = Ctx { root, out: Out::stdout(style), matcher };
    let result = match parsed.cmd {
        Some(Cmd::All(a)) => cmd::all::run(&mut ctx, &a),
        Some(Cmd::Diff(a)) => cmd::diff::run(&mut ctx, &a),
        Some(Cmd::Doctor(a)) => cmd::doctor::run(&mut ctx, &a),
        Some(Cmd::Log(a)) => cmd::log::run(&mut ctx, &a),
        Some(Cmd::Plot(a)) => cmd::plot::run(&mut ctx, &a),
        Some(Cmd::Top(a)) => cmd::top::run(&mut ctx, &a),
        Some(Cmd::Snapshot(a)) => cmd::snapshot::run(&mut ctx, &a),
        Some(Cmd::Watch(a)) => cmd::watch::run(&mut ctx, &a),
        Some(Cmd::Leaks(a)) => cmd::leaks::run(&mut ctx, &a),
        Some(Cmd::Kmemleak(a)) => cmd::kmemleak::run(&mut ctx, &a),
        Some(Cmd::Run(a)) => cmd::run::run(&mut ctx, &a),
        Some(Cmd::Replay(a)) => cmd::replay::run(&mut ctx, &a),
        Some(Cmd::Trace(a)) => cmd::trace::run(&mut ctx, &a),
        None => cmd::watch::run(&mut ctx, &cmd::watch::WatchArgs::default()),
    };
    let result = result.and_then(|exit| ctx.out.finish().map(|()| exit));
    match result {
        Ok(exit) => exit as i32,
        Err(e) => {
            crate::out::note(format_args!("{}", e.msg));
            e.exit as i32
        }
    }
}

/// `--root DIR` is not a directory kleak can read: one line, exit 3.
fn root_error(dir: &Arg, e: sys::Errno) -> i32 {
    crate::out::note(format_args!("--root {dir}: {e}"));
    Exit::Env as i32
}

/// argh's help with its usage line wrapped at 80 columns between its `[...]` groups, under
/// the first of them (argh wraps the descriptions itself).
fn wrap_help(help: &str) -> String {
    const SPACES: &str = "                                        ";
    let mut out = String::with_capacity(help.len() + 256);
    for line in help.lines() {
        let b = line.as_bytes();
        if b.len() > 80 && line.starts_with("Usage: ") {
            // Groups start at " [": the first holds the command, the others wrap under it.
            let groups = (1..b.len()).filter(|&i| b[i - 1] == b' ' && b[i] == b'[');
            let mut indent = 0;
            let (mut from, mut col) = (0, 0);
            for at in groups.chain(core::iter::once(b.len() + 1)) {
                let group = &line[from..at - 1];
                if from == 0 {
                    indent = (at.min(SPACES.len())).min(b.len());
                } else if col + 1 + group.len() > 80 {
                    out.push('\n');
                    out.push_str(&SPACES[..indent]);
                    col = indent;
                } else {
                    out.push(' ');
                    col += 1;
                }
                out.push_str(group);
                col += group.len();
                from = at;
            }
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Parses a duration: plain seconds with fractions (`5`, `0.5`) or with a unit (`250ms`,
/// `90s`, `10m`, `1h`, `2d`). Used by every `--interval`, `--window`, `--settle`.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v = crate::parse::parse_f64(num.as_bytes())
        .ok_or_else(|| String::from("not a duration (e.g. 5, 0.5, 90s, 10m, 1h)"))?;
    let mult = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("unknown unit `{unit}` (use ms, s, m, h or d)")),
    };
    let secs = v * mult;
    if !secs.is_finite() || secs > 1e9 {
        return Err(String::from("too long a duration"));
    }
    Ok(secs)
}

/// Parses a duration where a plain number means minutes (`--remind 10`); with a unit like
/// [`parse_duration`] (`90s`, `1h`).
pub fn parse_minutes(s: &str) -> Result<f64, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_duration(t).map(|m| m * 60.0);
    }
    parse_duration(t)
}

/// Parses a size: plain bytes or with a binary unit (`256K`, `4M`, `1G`; `KiB`/`kB` too).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v = crate::parse::parse_f64(num.as_bytes()).ok_or_else(|| String::from("not a size (e.g. 4096, 256K, 4M)"))?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("unknown unit `{unit}` (use K, M or G)")),
    };
    let bytes = v * mult as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 / 2.0 {
        return Err(String::from("too large"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod test {
    use super::*;

    fn n(args: &[&str]) -> Vec<String> {
        normalize(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).into_iter().map(String::from).collect()
    }

    #[test]
    fn legacy_spellings_become_commands() {
        assert_eq!(n(&["-all"]), ["all"]);
        // The original's meanings: -diff shows increases, -top ranks by objects.
        assert_eq!(n(&["-diff"]), ["diff", "--grown"]);
        assert_eq!(n(&["-top", "5"]), ["top", "--objs", "-n", "5"]);
        assert_eq!(n(&["--root", "/x", "-top", "5"]), ["--root", "/x", "top", "--objs", "-n", "5"]);
        assert_eq!(n(&["-top"]), ["top", "--objs"]);
        assert_eq!(n(&["-h"]), ["--help"]);
        assert_eq!(n(&["top", "-h"]), ["top", "--help"]);
        assert_eq!(n(&["trace", "--", "prog", "-h"]), ["trace", "--", "prog", "-h"]);
    }

    #[test]
    fn help_wraps_usage_between_groups_under_the_command() {
        let usage = "Usage: kleak watch [--interval <interval>] [--count <count>] [--window <window>] [--min-growth <min-growth>] [--csv]";
        let w = wrap_help(usage);
        let lines: Vec<&str> = w.lines().collect();
        assert_eq!(lines[0], "Usage: kleak watch [--interval <interval>] [--count <count>] [--window <window>]");
        assert_eq!(lines[1], "                   [--min-growth <min-growth>] [--csv]");
        assert_eq!(wrap_help("short\n"), "short\n");
    }

    #[test]
    fn what_follows_runs_command_is_the_commands() {
        let want = ["run", "--settle", "0", "make", "-h", "--json", "-top"];
        assert_eq!(n(&want), want);
        assert_eq!(n(&["run", "--json", "make", "-h"]), ["--json", "run", "make", "-h"]);
        assert_eq!(n(&["run", "-h"]), ["run", "--help"]);
        // Every option of run that takes a value is known as one.
        let help = match Args::from_args(&["kleak"], &["run", "--help"]) {
            Err(e) => e.output,
            Ok(_) => unreachable!("--help gives help"),
        };
        for opt in help.split(['[', ']']).filter_map(|g| g.split_once(" <").map(|(o, _)| o)) {
            if opt.starts_with('-') {
                assert!(RUN_VALUE_OPTIONS.contains(&opt), "{opt} takes a value: add it to RUN_VALUE_OPTIONS");
            }
        }
    }

    #[test]
    fn a_global_option_without_its_value_is_not_moved() {
        // Moved, `all` would become its value and kleak would watch.
        assert_eq!(n(&["all", "--match"]), ["all", "--match"]);
    }

    #[test]
    fn global_options_after_the_command_move_to_the_front() {
        assert_eq!(n(&["all", "--json"]), ["--json", "all"]);
        assert_eq!(n(&["top", "-n", "3", "--root", "/t"]), ["--root", "/t", "top", "-n", "3"]);
        // After `--` nothing is touched.
        assert_eq!(n(&["run", "--", "sh", "--json", "-all"]), ["run", "--", "sh", "--json", "-all"]);
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("5"), Ok(5.0));
        assert_eq!(parse_duration("0.5"), Ok(0.5));
        assert_eq!(parse_duration("90s"), Ok(90.0));
        assert_eq!(parse_duration("10m"), Ok(600.0));
        assert_eq!(parse_duration("250ms"), Ok(0.25));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_size("256K"), Ok(256 * 1024));
        assert_eq!(parse_size("4M"), Ok(4 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("4Q").is_err());
    }
}

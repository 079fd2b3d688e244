//! The command line: argh structs, the original tool's spellings (`-all`, `-diff`,
//! `-top N`), and the value parsers every command shares (durations, sizes).
//!
//! Each subcommand's arguments live with the subcommand in [`crate::cmd`]; this module
//! only lists them and dispatches.

use crate::cmd;
use crate::out::{Out, Style};
use crate::sample::FsRoot;
use crate::{sys, Exit};
use argh::FromArgs;

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
    pub root: Option<String>,
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
    #[argh(option, arg_name = "PATTERN")]
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

/// Options that may also be written after the subcommand (`kleak all --json`).
const GLOBAL_SWITCHES: &[&str] = &["--json", "--exact", "--wide", "--ascii"];
const GLOBAL_OPTIONS: &[&str] = &["--root", "--match"];

/// Rewrites the original tool's spellings and moves global options in front of the
/// subcommand, stopping at `--` (what follows belongs to a command kleak runs).
pub fn normalize(args: &[String]) -> Vec<String> {
    let mut front = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    let mut seen_cmd = false;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            rest.extend(args[i..].iter().cloned());
            break;
        }
        match a {
            "-all" => rest.push("all".into()),
            "-diff" => rest.push("diff".into()),
            "-top" => {
                rest.push("top".into());
                if let Some(n) = args.get(i + 1).filter(|n| n.parse::<u64>().is_ok()) {
                    rest.push("-n".into());
                    rest.push(n.clone());
                    i += 1;
                }
            }
            _ if seen_cmd && GLOBAL_SWITCHES.contains(&a) => front.push(a.to_string()),
            _ if seen_cmd && GLOBAL_OPTIONS.contains(&a) && i + 1 < args.len() => {
                front.push(a.to_string());
                front.push(args[i + 1].clone());
                i += 1;
            }
            _ if GLOBAL_OPTIONS.contains(&a) && i + 1 < args.len() => {
                rest.push(a.to_string());
                rest.push(args[i + 1].clone());
                i += 1;
            }
            _ => rest.push(a.to_string()),
        }
        if !a.starts_with('-') || matches!(a, "-all" | "-diff" | "-top") {
            seen_cmd = true;
        }
        i += 1;
    }
    front.extend(rest);
    front
}

/// Parses `argv` (without the program name), runs the command, returns the exit code.
pub fn run(argv: &[String]) -> i32 {
    let args = normalize(argv);
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    let parsed = match Args::from_args(&["kleak"], &strs) {
        Ok(a) => a,
        Err(e) => {
            return match e.status {
                Ok(()) => {
                    let _ = sys::write_stdout(e.output.as_bytes());
                    Exit::Ok as i32
                }
                Err(()) => {
                    let first = e.output.lines().next().unwrap_or("bad arguments").trim();
                    crate::out::note(format_args!("{first} (see `kleak --help`)"));
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
        ascii: parsed.ascii || !utf8_locale(),
        ..Style::default()
    };
    let root = match &parsed.root {
        Some(dir) => {
            if !sys::exists(&[dir.as_bytes()]) {
                crate::out::note(format_args!("--root {dir}: no such directory"));
                return Exit::Env as i32;
            }
            FsRoot::tree(dir)
        }
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

/// True if the locale's character set is UTF-8: the first of `LC_ALL`, `LC_CTYPE`, `LANG`
/// that is set decides, as in C's setlocale. Unset (the C locale) means ASCII.
pub fn utf8_locale() -> bool {
    for key in ["LC_ALL", "LC_CTYPE", "LANG"] {
        if let Some(v) = std::env::var_os(key).filter(|v| !v.is_empty()) {
            let v = v.as_encoded_bytes();
            return v.windows(5).any(|w| w.eq_ignore_ascii_case(b"utf-8"))
                || v.windows(4).any(|w| w.eq_ignore_ascii_case(b"utf8"));
        }
    }
    false
}

/// Parses a duration: plain seconds with fractions (`5`, `0.5`) or with a unit (`250ms`,
/// `90s`, `10m`, `1h`, `2d`). Used by every `--interval`, `--window`, `--settle`.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v = crate::parse::parse_f64(num.as_bytes())
        .ok_or_else(|| format!("`{s}` is not a duration (e.g. 5, 0.5, 90s, 10m, 1h)"))?;
    let mult = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s, m, h or d)")),
    };
    let secs = v * mult;
    if !secs.is_finite() || secs > 1e9 {
        return Err(format!("`{s}` is too long a duration"));
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
    let v =
        crate::parse::parse_f64(num.as_bytes()).ok_or_else(|| format!("`{s}` is not a size (e.g. 4096, 256K, 4M)"))?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use K, M or G)")),
    };
    let bytes = v * mult as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 / 2.0 {
        return Err(format!("`{s}` is too large"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod test {
    use super::*;

    fn n(args: &[&str]) -> Vec<String> {
        normalize(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn legacy_spellings_become_commands() {
        assert_eq!(n(&["-all"]), ["all"]);
        assert_eq!(n(&["-diff"]), ["diff"]);
        assert_eq!(n(&["-top", "5"]), ["top", "-n", "5"]);
        assert_eq!(n(&["--root", "/x", "-top", "5"]), ["--root", "/x", "top", "-n", "5"]);
        assert_eq!(n(&["-top"]), ["top"]);
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

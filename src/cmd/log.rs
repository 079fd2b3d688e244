//! `kleak log FILE`: the records of a ring log, oldest to newest, whatever state a power
//! cut left the file in.

use crate::cli::Ctx;
use crate::out::fmt::{Dur, Size, Utc};
use crate::out::{Closed, Out};
use crate::outln;
use crate::ring::{self, Kind, RecordHead};
use crate::sys::{self, Errno, File, Mode};
use crate::table::Name;
use crate::trend::Change;
use crate::verdict::{Alert, Reclaim, Severity, Source, Spark};
use crate::{Error, Exit};
use argh::FromArgs;
use core::fmt::Write;

/// print a ring log's records, oldest first; never fails on a damaged file
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "log",
    example = "what the board logged before it lost power:\n  $ kleak log /data/kleak.ring",
    example = "follow it while kleak watch writes it:\n  $ kleak log --follow --since 120 /data/kleak.ring"
)]
pub struct LogArgs {
    /// the ring log file (written by `kleak watch --log FILE`)
    #[argh(positional, arg_name = "FILE")]
    pub file: crate::arg::Arg,
    /// only records with a sequence number of at least SEQ
    #[argh(option, default = "0")]
    pub since: u64,
    /// keep printing new records as they are written, until Ctrl-C
    #[argh(switch)]
    pub follow: bool,
}

/// Runs `kleak log`.
pub fn run(ctx: &mut Ctx, args: &LogArgs) -> Result<Exit, Error> {
    let open = |path: &crate::arg::Arg| {
        File::open(&[path.as_bytes()], Mode::Read).map_err(|e| match e {
            Errno::ENOENT => Error::env(format_args!("{path}: no such file")),
            Errno::EACCES => Error::env(format_args!("{path}: permission denied (needs root?)")),
            e => Error::env(format_args!("{path}: {e}")),
        })
    };
    let file = open(&args.file)?;
    let mut next = args.since;
    let mut buf = vec![0u8; ring::HEADER + ring::MAX_PAYLOAD];
    let mut shown = 0u64;
    let mut torn;
    loop {
        let scan = ring::scan(&args.file).map_err(|e| Error::env(format_args!("{}: {e}", args.file)))?;
        torn = scan.torn;
        let from = next;
        for rec in scan.records.iter().filter(|r| r.seq >= from) {
            // Overwritten since the scan (a ring being written wraps): skip it.
            let Ok(payload) = ring::payload(&file, rec, &mut buf) else {
                torn += 1;
                continue;
            };
            if record(&mut ctx.out, rec, payload).is_err() {
                return Ok(Exit::Ok);
            }
            next = rec.seq + 1;
            shown += 1;
        }
        if !args.follow || !sys::sleep(1.0) {
            break;
        }
    }
    let _ = summary(&mut ctx.out, shown, torn, &args.file.to_string());
    Ok(Exit::Ok)
}

/// Where the value of the first `"key":` starts in one of kleak's own objects (strings
/// never hold an unescaped `"`, so `"key":` cannot be found inside one).
fn value_at(json: &str, key: &str) -> Option<usize> {
    let (j, k) = (json.as_bytes(), key.as_bytes());
    let n = k.len() + 3;
    let at = j.windows(n).position(|w| w[0] == b'"' && &w[1..n - 2] == k && &w[n - 2..] == b"\":")?;
    Some(at + n)
}

/// Position of the first of `set` in `s` (bytes: core's pattern search is large).
fn find_any(s: &str, set: &[u8]) -> Option<usize> {
    s.bytes().position(|b| set.contains(&b))
}

/// The raw JSON value of `key`: a number, `true`, or a string with its quotes.
fn field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let rest = &json[value_at(json, key)?..];
    let end = match rest.strip_prefix('"') {
        Some(s) => find_any(s, b"\"").map_or(rest.len(), |p| p + 2),
        None => find_any(rest, b",}]").unwrap_or(rest.len()),
    };
    Some(&rest[..end])
}

fn num(json: &str, key: &str) -> f64 {
    let v = field(json, key).unwrap_or("0");
    let m = crate::parse::parse_f64(v.trim_start_matches('-').as_bytes()).unwrap_or(0.0);
    if v.starts_with('-') {
        -m
    } else {
        m
    }
}

fn text<'a>(json: &'a str, key: &str) -> &'a str {
    field(json, key).unwrap_or("").trim_matches('"')
}

/// The items of the list or object that is `key`'s value, raw: `"string"` or
/// `"name":value`.
fn members<'a>(json: &'a str, key: &str) -> impl Iterator<Item = &'a str> {
    let mut rest = value_at(json, key).map_or("", |i| &json[i + 1..]);
    core::iter::from_fn(move || {
        rest = rest.trim_start_matches(',');
        let b = rest.as_bytes();
        if b.first() != Some(&b'"') {
            return None;
        }
        let mut i = 1;
        while i < b.len() && b[i] != b'"' {
            i += 1 + (b[i] == b'\\') as usize;
        }
        let end = (i + 1).min(b.len());
        let end = find_any(&rest[end..], b",}]").map_or(rest.len(), |p| end + p);
        let (item, tail) = rest.split_at(end);
        rest = tail;
        Some(item)
    })
}

/// A record as a person reads it: an alert as its console line, a sample as a watch line,
/// an OOM report line by line; other kinds as their JSON.
fn readable(out: &mut Out, kind: Kind, json: &str) -> Result<(), Closed> {
    let h = out.style.human;
    match kind {
        Kind::Alert => {
            let state = match text(json, "state") {
                "suspect" => Change::Suspect,
                "reminder" => Change::Reminder,
                _ => Change::Recovered,
            };
            let mut spark = Spark::EMPTY;
            for (l, d) in spark.levels.iter_mut().zip(text(json, "shape").bytes()) {
                *l = d.wrapping_sub(b'0').min(7);
                spark.len += 1;
            }
            let int = |k| num(json, k) as i64;
            let a = Alert {
                source: Source::Process,
                name: Name::new(text(json, "name").as_bytes()).0,
                state,
                severity: if text(json, "severity") == "leak" { Severity::Leak } else { Severity::Reclaimable },
                reclaimable: false,
                growth_bytes: int("growth_bytes"),
                rate_bytes_per_s: num(json, "rate_bytes_per_s"),
                window_secs: 0.0,
                span_secs: num(json, "span_secs"),
                growth_objs: field(json, "growth_objs").map(|_| int("growth_objs")),
                bytes: 0,
                objsize: 0,
                z: 0.0,
                suspect_secs: num(json, "suspect_secs"),
                elapsed_secs: 0.0,
                gone: field(json, "gone") == Some("true"),
                reclaim: match text(json, "reclaim") {
                    "freed" => Reclaim::Freed(int("reclaim_bytes")),
                    "kept" => Reclaim::Kept(int("reclaim_bytes")),
                    _ => Reclaim::Unchecked,
                },
                spark,
            };
            let style = out.style;
            crate::out::alert::text(&a, out.line(), &style);
        }
        Kind::Sample => {
            let _ = write!(out.line(), "sample at {}:", Dur(num(json, "elapsed_secs")));
            for (label, key, dkey) in SAMPLE_FIGURES {
                if field(json, key).is_some() {
                    let (v, d) = (num(json, key) as i64, num(json, dkey) as i64);
                    let _ = write!(out.line(), " {label} {} {}", Size::of(v, h), Size::delta(d, h));
                }
            }
            let _ = write!(out.line(), " in {}", Dur(num(json, "span_secs")));
            let mut sep = " |";
            for (list, signed) in [("movers", true), ("rss", false)] {
                for m in members(json, list) {
                    let (name, v) = m.rsplit_once(':').unwrap_or((m, "0"));
                    let v = crate::parse::parse_i64(v.as_bytes()).unwrap_or(0);
                    let size = Size { bytes: v, human: h, signed };
                    let _ = write!(out.line(), "{sep} {size} {}", name.trim_matches('"'));
                    sep = ",";
                }
            }
        }
        Kind::Oom => {
            outln!(out, "kernel OOM report {}:", text(json, "report"))?;
            for l in members(json, "lines") {
                let _ = write!(out.line(), "    ");
                let mut esc = false;
                for c in l.trim_matches('"').chars() {
                    if !core::mem::take(&mut esc) && c == '\\' {
                        esc = true;
                    } else {
                        let _ = out.line().write_char(c);
                    }
                }
                out.emit()?;
            }
            return Ok(());
        }
        _ => {
            let _ = out.line().write_str(json);
        }
    }
    out.emit()
}

/// The figures of a logged sample, as a watch line labels them.
const SAMPLE_FIGURES: [(&str, &str, &str); 4] = [
    ("slab", "Slab", "d_Slab"),
    ("unrecl", "SUnreclaim", "d_SUnreclaim"),
    ("unacct", "Unaccounted", "d_Unaccounted"),
    ("avail", "MemAvailable", "d_MemAvailable"),
];

fn record(out: &mut Out, rec: &RecordHead, payload: &[u8]) -> Result<(), Closed> {
    let text = core::str::from_utf8(payload).unwrap_or("(not UTF-8)");
    if out.style.json {
        let mut j = out.line().json("log-record");
        j.u64("seq", rec.seq)
            .str("type", rec.kind.name())
            .u64("time_ms", rec.realtime_ms)
            .u64("uptime_ms", rec.uptime_ms);
        if text.starts_with('{') && text.ends_with('}') {
            j.raw("record", text);
        } else {
            j.str("record", text);
        }
        j.end();
        return out.emit();
    }
    let _ =
        write!(out.line(), "#{} {} up {} ", rec.seq, Utc(rec.realtime_ms / 1000), Dur(rec.uptime_ms as f64 / 1000.0));
    if !matches!(rec.kind, Kind::Alert | Kind::Sample | Kind::Oom) {
        let _ = write!(out.line(), "{}: ", rec.kind.name());
    }
    readable(out, rec.kind, text)
}

fn summary(out: &mut Out, shown: u64, torn: u32, path: &str) -> Result<(), Closed> {
    if out.style.json {
        let mut j = out.line().json("summary");
        j.str("command", "log").str("file", path).u64("records", shown).u64("torn", torn as u64);
        j.end();
        return out.emit();
    }
    outln!(out, "kleak log: {shown} records; {torn} torn or overwritten records skipped")
}

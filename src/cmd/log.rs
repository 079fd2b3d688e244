//! `kleak log FILE`: the records of a ring log, oldest to newest, whatever state a power
//! cut left the file in.

use crate::cli::Ctx;
use crate::figures::FIGURES;
use crate::out::alert::from_json;
use crate::out::fmt::{Dur, Size, Utc};
use crate::out::ringlog::{lost_records, oom_record, unescape, LoggedSample};
use crate::out::{Closed, Out};
use crate::outln;
use crate::ring::{self, Kind, RecordHead};
use crate::sys::{self, Errno, File, Mode};
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
    let mut file = open(&args.file)?;
    let err = |e: Errno| Error::env(format_args!("{}: {e}", args.file));
    let size = file.size().map_err(err)?;
    // One fixed window whatever the ring's size: a 1 GiB ring costs what a 4 KiB one does.
    let mut w = ring::Walker::default();
    let mut shown = Shown::default();
    let out = &mut ctx.out;
    let mut closed = false;
    let mut stale = 0;
    let s = ring::read_in_order(&mut file, size, &mut w, args.since, &mut stale, &mut |h, payload| {
        closed = shown.show(out, h, payload).is_err();
        !closed
    })
    .map_err(err)?;
    shown.torn = s.torn;
    shown.stale = stale;
    if args.follow && !closed {
        closed = follow(out, &mut file, size, &mut shown, args.since).map_err(err)?;
    }
    if !closed {
        let _ = summary(out, &shown, &args.file.to_string());
    }
    Ok(Exit::Ok)
}

/// What `kleak log` showed and skipped.
#[derive(Default)]
struct Shown {
    records: u64,
    torn: u64,
    /// Leftovers of earlier laps, older than the record before them.
    stale: u64,
    /// Records the writer lost to storage faults, as its `note` records say.
    lost: u64,
    /// The end of the last record shown, and the sequence number after it.
    end: u64,
    next: u64,
}

impl Shown {
    fn show(&mut self, out: &mut Out, h: &RecordHead, payload: &[u8]) -> Result<(), Closed> {
        if h.kind == Kind::Note {
            self.lost += lost_records(core::str::from_utf8(payload).unwrap_or(""));
        }
        self.records += 1;
        self.end = h.offset + ring::footprint(h.len as usize);
        self.next = h.seq + 1;
        record(out, h, payload)
    }
}

/// `--follow`: after the records so far, the next one is where the last one ended, or at
/// the start of the file when it did not fit before the end; each second, look at those two
/// places (a fixed read, whatever the ring's size). A writer that lapped the reader sends
/// it through the whole ring again. True if the output closed.
fn follow(out: &mut Out, file: &mut File, size: u64, shown: &mut Shown, since: u64) -> Result<bool, Errno> {
    let mut buf = vec![0u8; ring::MAX_FOOTPRINT];
    let mut w = ring::Walker::default();
    while sys::sleep(1.0) {
        loop {
            let mut found = None;
            let mut lapped = false;
            for at in [shown.end % size.max(1), 0] {
                let n = file.pread(&mut buf, at)?;
                if let Some(Ok(h)) = ring::check(&buf[..n], at) {
                    if h.seq == shown.next.max(since) || (shown.next == 0 && h.seq >= since) {
                        found = Some(h);
                        break;
                    }
                    lapped |= h.seq > shown.next && shown.next > 0;
                }
            }
            if let Some(h) = found {
                let payload = &buf[ring::HEADER..ring::HEADER + h.len as usize];
                if shown.show(out, &h, payload).is_err() {
                    return Ok(true);
                }
                continue;
            }
            if lapped {
                let from = shown.next;
                let mut closed = false;
                let mut stale = 0;
                ring::read_in_order(file, size, &mut w, from, &mut stale, &mut |h, p| {
                    closed = shown.show(out, h, p).is_err();
                    !closed
                })?;
                if closed {
                    return Ok(true);
                }
            }
            break;
        }
    }
    Ok(false)
}

/// A record as a person reads it: an alert as its console line, a sample as a watch line,
/// an OOM report line by line; other kinds as their JSON.
fn readable(out: &mut Out, kind: Kind, json: &str) -> Result<(), Closed> {
    let h = out.style.human;
    match kind {
        Kind::Alert => {
            let style = out.style;
            crate::out::alert::text(&from_json(json), out.line(), &style);
        }
        Kind::Sample => {
            let s = LoggedSample::new(json);
            let _ = write!(out.line(), "sample at {}:", Dur(s.elapsed_secs()));
            for (label, key, dkey) in FIGURES {
                if let Some((v, d)) = s.figure(key, dkey) {
                    let _ = write!(out.line(), " {label} {} {}", Size::of(v, h), Size::delta(d, h));
                }
            }
            let _ = write!(out.line(), " in {}", Dur(s.span_secs()));
            let mut sep = " |";
            let movers = s.movers().map(|(n, v)| (n, v, true));
            for (name, v, signed) in movers.chain(s.rss().map(|(n, v)| (n, v, false))) {
                let size = Size { bytes: v, human: h, signed };
                let _ = write!(out.line(), "{sep} {size} {name}");
                sep = ",";
            }
        }
        Kind::Oom => {
            let (report, lines) = oom_record(json);
            outln!(out, "kernel OOM report {report}:")?;
            for l in lines {
                let _ = write!(out.line(), "    ");
                unescape(l, out.line());
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

fn summary(out: &mut Out, s: &Shown, path: &str) -> Result<(), Closed> {
    if out.style.json {
        let mut j = out.line().json("summary");
        j.str("command", "log").str("file", path).u64("records", s.records).u64("torn", s.torn);
        j.u64("stale", s.stale).u64("records_lost", s.lost);
        j.end();
        return out.emit();
    }
    let _ = write!(
        out.line(),
        "kleak log: {} records; {} torn or overwritten records skipped",
        s.records,
        s.torn + s.stale
    );
    if s.lost > 0 {
        let _ = write!(out.line(), "; {} records lost to storage faults", s.lost);
    }
    out.emit()
}

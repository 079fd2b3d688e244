//! `kleak log FILE`: the records of a ring log, oldest to newest, whatever state a power
//! cut left the file in.

use crate::cli::Ctx;
use crate::out::fmt::{Dur, Utc};
use crate::out::{Closed, Out};
use crate::outln;
use crate::ring::{self, RecordHead};
use crate::sys::{self, Errno, File, Mode};
use crate::{Error, Exit};
use argh::FromArgs;

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
    #[argh(positional)]
    pub file: String,
    /// only records with a sequence number of at least SEQ
    #[argh(option, default = "0")]
    pub since: u64,
    /// keep printing new records as they are written, until Ctrl-C
    #[argh(switch)]
    pub follow: bool,
}

/// Runs `kleak log`.
pub fn run(ctx: &mut Ctx, args: &LogArgs) -> Result<Exit, Error> {
    let open = |path: &str| {
        File::open(&[path.as_bytes()], Mode::Read).map_err(|e| match e {
            Errno::ENOENT => Error::env(format_args!("{path}: no such file")),
            Errno::EACCES => Error::env(format_args!("{path}: permission denied (needs root?)")),
            e => Error::env(format_args!("{path}: {e}")),
        })
    };
    let file = open(&args.file)?;
    let mut next = args.since;
    let mut buf = vec![0u8; ring::MAX_PAYLOAD];
    let mut shown = 0u64;
    let mut torn;
    loop {
        let scan = ring::scan(&args.file).map_err(|e| Error::env(format_args!("{}: {e}", args.file)))?;
        torn = scan.torn;
        let from = next;
        for rec in scan.records.iter().filter(|r| r.seq >= from) {
            let payload = ring::payload(&file, rec, &mut buf).unwrap_or(&[]);
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
    let _ = summary(&mut ctx.out, shown, torn, &args.file);
    Ok(Exit::Ok)
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
    outln!(
        out,
        "#{} {} up {} {}: {}",
        rec.seq,
        Utc(rec.realtime_ms / 1000),
        Dur(rec.uptime_ms as f64 / 1000.0),
        rec.kind.name(),
        text
    )
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

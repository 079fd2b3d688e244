//! `kleak replay`: the verdicts `watch` would have reached, over saved snapshots.
//!
//! A board records with cron (`kleak snapshot -o …`); a laptop judges later. Snapshots are
//! put in time order from their headers (wall time when every one has it, else uptime) and
//! spaced by their uptime; when uptime goes backwards the machine rebooted, and judging
//! starts over. Reclaimable caches are told by name (a snapshot has no sysfs), and
//! nothing is written (`--check-reclaim` needs the live machine).

use crate::arg::Arg;
use crate::cli::{parse_duration, parse_minutes, parse_size, Ctx};
use crate::limits::READ_BUF_BYTES;
use crate::out::alert::Batch;
use crate::out::fmt::{Dur, Fit};
use crate::out::summary;
use crate::out::{note, Closed};
use crate::outln;
use crate::snapshot::{self, Header};
use crate::tables::Tables;
use crate::verdict::{Alert, Verdicts};
use crate::{Error, Exit};
use argh::FromArgs;

command_args! {
/// judge saved snapshots in time order; print the alerts watch would have printed
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "replay",
    example = "judge a day of snapshots recorded by cron on a board:\n  $ kleak replay --window 1h /data/kleak/*.snap",
    note = "Exit code 1 when a suspect leak of unreclaimable memory was found."
)]
pub struct ReplayArgs {
    verdict_options!("alert lines per snapshot at most, the rest summed up as \"+N more\" (default 4)"),
    /// snapshots written by `kleak snapshot` (any order)
    #[argh(positional, arg_name = "SNAPSHOT")]
    pub files: Vec<Arg>,
}
}

/// Reads only the header of a snapshot.
fn peek(path: &Arg, buf: &mut [u8]) -> Result<Header, Error> {
    // Loading into scratch tables is the one way in; a snapshot is small.
    let mut scratch = Tables::default();
    snapshot::load(path, &mut scratch, buf)
}

/// Runs `kleak replay`.
pub fn run(ctx: &mut Ctx, args: &ReplayArgs) -> Result<Exit, Error> {
    if args.files.is_empty() {
        return Err(Error::usage("replay: name the snapshots to judge (kleak replay SNAPSHOT...)"));
    }
    let policy = args.verdict().check()?;
    let mut buf = vec![0u8; READ_BUF_BYTES];
    let mut order = Vec::with_capacity(args.files.len());
    for f in &args.files {
        let h = peek(f, &mut buf)?;
        if h.t().is_none() {
            return Err(Error::env(format_args!("{f}: no time or uptime in its header: cannot place it in time")));
        }
        order.push((h, f));
    }
    let by_wall = order.iter().all(|(h, _)| h.time.is_some());
    let key = |h: &Header| if by_wall { h.time.unwrap_or(0.0) } else { h.uptime.or(h.time).unwrap_or(0.0) };
    crate::table::sort_by(&mut order, |a, b| key(&a.0) < key(&b.0));

    let mut verdicts = Verdicts::new(policy, false);
    let mut tables = Tables::default();
    tables.slab.set_matcher(ctx.matcher.clone());
    let mut batch = Batch::new(args.max_alerts);
    let matcher = ctx.matcher.clone();
    let out = &mut ctx.out;
    let mut last_t: Option<f64> = None;
    let (mut first_t, mut span) = (None, 0.0);
    let r = (|| -> Result<(), Closed> {
        if !out.style.json {
            outln!(out, "kleak replay: {} snapshots, verdicts over {}", order.len(), Dur(args.window))?;
        }
        for (_, path) in &order {
            let h = match snapshot::load(path, &mut tables, &mut buf) {
                Ok(h) => h,
                Err(e) => {
                    note(format_args!("{e}: skipped"));
                    continue;
                }
            };
            let t = h.uptime.or(h.time).unwrap_or(0.0);
            if last_t.is_some_and(|l| t < l) {
                note(format_args!("{path}: uptime went back: the machine rebooted; judging starts over"));
                verdicts.restart();
                tables = Tables::default();
                tables.slab.set_matcher(matcher.clone());
                snapshot::load(path, &mut tables, &mut buf).ok();
                span += last_t.unwrap_or(0.0) - first_t.unwrap_or(0.0);
                first_t = None;
            }
            last_t = Some(t);
            let t0 = *first_t.get_or_insert(t);
            let mut printed = false;
            let mut r = Ok(());
            let json = out.style.json;
            verdicts.update(&tables, t, &mut |a: &Alert| {
                if !json && !printed {
                    printed = true;
                    r = r.and(outln!(out, "at {} ({}):", Dur(t - t0), Fit::cut(&path.to_string(), 60)));
                }
                r = r.and(batch.add(out, a));
            });
            r?;
            batch.flush(out, |_, _| Ok(()))?;
        }
        span += last_t.unwrap_or(0.0) - first_t.unwrap_or(0.0);
        let v = verdicts.tally;
        if out.style.json {
            return summary(out, "replay", &tables, |j| {
                j.u64("snapshots", order.len() as u64).f64("elapsed_secs", span);
                crate::out::alert::tally_json(j, &v);
            });
        }
        outln!(out, "kleak replay: {} snapshots over {}", order.len(), Dur(span))?;
        crate::out::alert::tally_line(out, &v)
    })();
    match r {
        Ok(()) | Err(Closed) if verdicts.tally.leaks > 0 => Ok(Exit::Leak),
        Ok(()) | Err(Closed) => Ok(Exit::Ok),
    }
}

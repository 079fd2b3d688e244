//! `kleak diff`: two samples (live, or saved snapshots), only what changed.

use super::quiet;
use crate::arg::Arg;
use crate::cli::{parse_duration, Ctx};
use crate::engine::{report_skipped, report_status, start};
use crate::figures::Span;
use crate::limits::READ_BUF_BYTES;
use crate::out::view::changes as show;
use crate::snapshot;
use crate::tables::Tables;
use crate::{sys, Error, Exit};
use argh::FromArgs;

/// show what changed between two samples (live, or saved snapshots)
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "diff",
    example = "what a test did to the slab caches:\n  $ kleak snapshot -o before; ./test; kleak diff before",
    example = "compare two saved copies of /proc/slabinfo:\n  $ kleak diff slabinfo.monday slabinfo.friday",
    note = "`kleak -diff` (the original spelling) shows only what increased, as the\noriginal tool did: `kleak diff --grown`."
)]
pub struct DiffArgs {
    /// seconds between the two live samples (fractions allowed; default 5)
    #[argh(option, default = "5.0", from_str_fn(parse_duration))]
    pub interval: f64,
    /// only what increased: caches that grew or appeared, figures that went up
    #[argh(switch)]
    pub grown: bool,
    /// BEFORE [AFTER]: snapshots (`kleak snapshot`) or copies of a /proc file; AFTER
    /// defaults to the running system now
    #[argh(positional, arg_name = "SNAPSHOT")]
    pub files: Vec<Arg>,
}

/// Runs `kleak diff`.
pub fn run(ctx: &mut Ctx, args: &DiffArgs) -> Result<Exit, Error> {
    if args.files.len() > 2 {
        return Err(Error::usage("diff: at most two snapshots, BEFORE and AFTER"));
    }
    match (args.files.first(), args.files.get(1)) {
        (None, _) => {
            let mut s = start(ctx)?;
            if !sys::sleep(args.interval) {
                return Ok(Exit::Ok);
            }
            s.sample(sys::monotonic_secs());
            report_status(&mut s);
            let r = show(&mut ctx.out, &s.tables, Span::Interval, "diff", args.grown);
            if !ctx.out.style.json {
                report_skipped(&s.tables);
            }
            quiet(r)
        }
        (Some(b), None) => {
            let mut s = crate::sample::Sampler::new(ctx.root.clone());
            s.tables.slab.set_matcher(ctx.matcher.clone());
            let mut buf = vec![0u8; READ_BUF_BYTES];
            let head = snapshot::load(b, &mut s.tables, &mut buf)?;
            let host = s.host();
            if let (Some(then), true) = (head.uptime, host.uptime > 0.0) {
                if then > host.uptime {
                    crate::out::note(format_args!("{b} was taken before the last reboot: comparing anyway"));
                }
            }
            // Space the samples by uptime when both have it; else no rates.
            let now = if head.uptime.is_some() && host.uptime > 0.0 { host.uptime } else { head.t().unwrap_or(0.0) };
            s.sample(now);
            report_status(&mut s);
            let r = show(&mut ctx.out, &s.tables, Span::Interval, "diff", args.grown);
            if !ctx.out.style.json {
                report_skipped(&s.tables);
            }
            quiet(r)
        }
        (Some(b), Some(a)) => {
            let mut t = Tables::default();
            t.slab.set_matcher(ctx.matcher.clone());
            let mut buf = vec![0u8; READ_BUF_BYTES];
            snapshot::load(b, &mut t, &mut buf)?;
            snapshot::load(a, &mut t, &mut buf)?;
            let r = show(&mut ctx.out, &t, Span::Interval, "diff", args.grown);
            if !ctx.out.style.json {
                report_skipped(&t);
            }
            quiet(r)
        }
    }
}

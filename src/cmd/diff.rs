//! `kleak diff`: two samples (live, or saved snapshots), only what changed.

use super::{quiet, report_skipped, start, summary};
use crate::arg::Arg;
use crate::cli::{parse_duration, Ctx};
use crate::limits::{MAX_CACHES, READ_BUF_BYTES};
use crate::out::fmt::Dur;
use crate::out::view::{self, before, gauge_before, Span};
use crate::out::{Closed, Out};
use crate::outln;
use crate::sample::Tables;
use crate::snapshot;
use crate::table::SlabEntry;
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
            super::report_status(&mut s);
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
            super::report_status(&mut s);
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

/// True if a cache's objects changed over `span`, or it came or went; with `grown`, only
/// if its objects increased or it came.
pub fn changed(e: &SlabEntry, span: Span, grown: bool) -> bool {
    let b = before(e, span);
    if grown {
        return e.presence.now
            && (b.num_objs < e.cur.num_objs
                || b.active_objs < e.cur.active_objs
                || (span == Span::Interval && e.presence.appeared()));
    }
    b.num_objs != e.cur.num_objs
        || b.active_objs != e.cur.active_objs
        || (span == Span::Interval && (e.presence.appeared() || e.presence.vanished()))
}

/// Prints the caches, meminfo figures and vmstat gauges that changed over `span` (with
/// `grown`, only those that increased), largest change in bytes first, and event counters
/// as rates.
pub fn show(out: &mut Out, t: &Tables, span: Span, command: &str, grown: bool) -> Result<Exit, Closed> {
    let secs = match span {
        Span::SinceStart => t.times.elapsed(),
        _ => t.times.interval(),
    };
    let ps = t.page_size;
    let entries = t.slab.entries();
    let mut order: heapless::Vec<u16, MAX_CACHES> = heapless::Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if e.shown && changed(e, span, grown) {
            let _ = order.push(i as u16);
        }
    }
    let d = |e: &SlabEntry| (e.cur.bytes() as i64 - before(e, span).bytes() as i64).unsigned_abs();
    crate::table::sort_by(&mut order, |&a, &b| d(&entries[a as usize]) > d(&entries[b as usize]));
    let gauges = |g: &&crate::table::Gauge| {
        let b = gauge_before(g, span);
        !g.is_counter() && if grown { g.cur > b } else { g.cur != b }
    };
    let counters = |g: &&crate::table::Gauge| g.is_counter() && g.cur > gauge_before(g, span);

    if out.style.json {
        for &i in &order {
            view::slab_json(out, &entries[i as usize], ps, span, secs)?;
        }
        for g in t.meminfo.entries().iter().filter(gauges) {
            view::gauge_json(out, "meminfo", g, ps, span, secs)?;
        }
        for g in t.vmstat.entries().iter().filter(|g| gauges(g) || counters(g)) {
            view::gauge_json(out, "vmstat", g, ps, span, secs)?;
        }
        summary(out, command, t, |j| {
            j.f64("interval_secs", secs).u64("caches_changed", order.len() as u64);
        })?;
        return Ok(Exit::Ok);
    }
    let (what, verb) = if grown { ("increases", "grew") } else { ("changes", "changed") };
    if secs > 0.0 {
        outln!(out, "{what} over {} ({} caches {verb})", Dur(secs), order.len())?;
    } else {
        outln!(out, "{what} ({} caches {verb})", order.len())?;
    }
    if !order.is_empty() {
        view::delta_header(out, false, false)?;
        for &i in &order {
            view::delta_row(out, &entries[i as usize], span, 0.0, None)?;
        }
    }
    let mut header = true;
    for g in t.meminfo.entries().iter().filter(gauges) {
        if header {
            outln!(out, "")?;
            outln!(out, "{:<32} {:>12} {:>8} {:>8}", "MEMINFO", "COUNT", "SIZE", "CHANGE")?;
            header = false;
        }
        view::gauge_row(out, g, ps, span)?;
    }
    header = true;
    for g in t.vmstat.entries().iter().filter(gauges) {
        if header {
            outln!(out, "")?;
            outln!(out, "{:<32} {:>12} {:>8} {:>8}", "VMSTAT", "VALUE", "SIZE", "CHANGE")?;
            header = false;
        }
        view::gauge_row(out, g, ps, span)?;
    }
    if secs > 0.0 {
        header = true;
        for g in t.vmstat.entries().iter().filter(counters) {
            if header {
                outln!(out, "")?;
                outln!(out, "{:<32} {:>14} {:>12}", "VMSTAT EVENTS", "TOTAL", "PER SECOND")?;
                header = false;
            }
            let rate = (g.cur - gauge_before(g, span)) as f64 / secs;
            view::counter_row(out, g, rate)?;
        }
    }
    Ok(Exit::Ok)
}

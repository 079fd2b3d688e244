//! `kleak top`: the caches that grew most, in bytes (or in objects, as the original tool's
//! `-top N` ranked them), over an interval, each with the shape of its growth: the interval
//! is sampled [`SHAPE_SAMPLES`] times through the same trend engine the verdicts use.

use super::quiet;
use crate::cli::{parse_duration, Ctx};
use crate::engine::{report_skipped, report_status, start};
use crate::figures::{top_growers, Rank, Span};
use crate::limits::{MAX_CACHES, TREND_SLOTS};
use crate::out::fmt::Dur;
use crate::out::summary;
use crate::out::view;
use crate::out::{Closed, Out};
use crate::outln;
use crate::tables::Tables;
use crate::trend::{Engine, Policy};
use crate::verdict::Spark;
use crate::{sys, Error, Exit};
use argh::FromArgs;

/// the slab caches that grew most in bytes over an interval
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "top",
    example = "the 5 fastest-growing caches over a minute:\n  $ kleak top 5 --interval 60",
    note = "`kleak -top N` (the original spelling) ranks by growth in objects, as the\noriginal tool did: `kleak top --objs -n N`."
)]
pub struct TopArgs {
    /// how many caches to show (default 10); `kleak top 5` is `kleak top -n 5`
    #[argh(option, short = 'n')]
    pub n: Option<usize>,
    /// seconds to measure growth over (fractions allowed; default 5)
    #[argh(option, default = "5.0", from_str_fn(parse_duration))]
    pub interval: f64,
    /// rank by growth in objects instead of bytes
    #[argh(switch)]
    pub objs: bool,
    /// how many caches to show, as a word: `kleak top 3`
    #[argh(positional, arg_name = "N")]
    pub number: Option<usize>,
}

/// Samples taken over the interval after the first, for the SHAPE column.
pub const SHAPE_SAMPLES: usize = 16;

/// Feeds every cache's bytes (or objects) of the latest sample to `engine` (shapes only:
/// no verdicts).
fn feed(engine: &mut Engine, t: &Tables, now: f64, rank: Rank) {
    engine.begin(now);
    engine.advance();
    for (i, e) in t.slab.entries().iter().enumerate() {
        if e.presence.now && e.shown {
            let v = match rank {
                Rank::Bytes => e.cur.bytes() as i64,
                Rank::Objs => e.cur.num_objs as i64,
            };
            engine.feed(i, v, e.presence.appeared());
        } else {
            engine.gone(i);
        }
    }
}

/// Runs `kleak top`.
pub fn run(ctx: &mut Ctx, args: &TopArgs) -> Result<Exit, Error> {
    let n = match (args.n, args.number) {
        (Some(a), Some(b)) if a != b => return Err(Error::usage(format_args!("top: -n {a} and N {b} disagree"))),
        (a, b) => a.or(b).unwrap_or(10),
    };
    if n == 0 {
        return Err(Error::usage("top: N must be at least 1"));
    }
    let rank = if args.objs { Rank::Objs } else { Rank::Bytes };
    let mut s = start(ctx)?;
    let policy = Policy { window_secs: args.interval.max(1e-3), ..Policy::default() };
    let mut shapes = Engine::new(MAX_CACHES, policy);
    feed(&mut shapes, &s.tables, s.tables.times.cur, rank);
    for _ in 0..SHAPE_SAMPLES {
        if !sys::sleep(args.interval / SHAPE_SAMPLES as f64) {
            return Ok(Exit::Ok);
        }
        s.sample(sys::monotonic_secs());
        report_status(&mut s);
        feed(&mut shapes, &s.tables, s.tables.times.cur, rank);
    }
    let r = show(&mut ctx.out, &s.tables, n, rank, Span::SinceStart, Some(&shapes));
    if !ctx.out.style.json {
        report_skipped(&s.tables);
    }
    quiet(r)
}

/// Prints the top `n` growers over `span`, with their shapes from `shapes` if given.
pub fn show(
    out: &mut Out,
    t: &Tables,
    n: usize,
    rank: Rank,
    span: Span,
    shapes: Option<&Engine>,
) -> Result<Exit, Closed> {
    let secs = match span {
        Span::SinceStart => t.times.elapsed(),
        _ => t.times.interval(),
    };
    let order = top_growers(&t.slab, n, rank, span);
    let entries = t.slab.entries();
    if out.style.json {
        for &i in &order {
            view::slab_json(out, &entries[i as usize], t.page_size, span, secs)?;
        }
        summary(out, "top", t, |j| {
            j.f64("interval_secs", secs).u64("caches_grown", order.len() as u64);
        })?;
        return Ok(Exit::Ok);
    }
    if !t.have[0] {
        // No per-cache data (not root, or no slabinfo): the slab totals are what there is.
        outln!(out, "slab totals over {} (per-cache data unavailable)", Dur(secs))?;
        outln!(out, "{:<32} {:>12} {:>8} {:>8}", "MEMINFO", "COUNT", "SIZE", "CHANGE")?;
        for name in ["Slab", "SReclaimable", "SUnreclaim"] {
            if let Some(g) = t.meminfo.get(name) {
                view::gauge_row(out, g, t.page_size, span)?;
            }
        }
        return Ok(Exit::Ok);
    }
    if order.is_empty() {
        outln!(out, "no cache grew in {}", Dur(secs))?;
        return Ok(Exit::Ok);
    }
    outln!(
        out,
        "top {} of {} caches by growth{} over {}",
        order.len(),
        entries.iter().filter(|e| e.presence.now).count(),
        if rank == Rank::Objs { " in objects" } else { "" },
        Dur(secs)
    )?;
    view::delta_header(out, secs > 0.0, shapes.is_some())?;
    let mut xs = [0i64; TREND_SLOTS];
    for &i in &order {
        let spark = shapes.map(|e| {
            let n = e.window(i as usize, &mut xs);
            Spark::of(&xs[..n], view::SHAPE_COLS)
        });
        view::delta_row(out, &entries[i as usize], span, secs, spark.as_ref())?;
    }
    Ok(Exit::Ok)
}

//! `kleak all`: every slab cache (slabtop's columns and sort keys), every meminfo figure
//! with `Unaccounted`, every vmstat value. One sample.

use super::quiet;
use crate::cli::Ctx;
use crate::engine::{report_skipped, start};
use crate::figures::Span;
use crate::limits::MAX_CACHES;
use crate::out::fmt::{Fixed, Size};
use crate::out::summary;
use crate::out::view;
use crate::out::{Closed, Out};
use crate::outln;
use crate::sample::Host;
use crate::table::SlabEntry;
use crate::tables::Tables;
use crate::{Error, Exit};
use argh::FromArgs;
use core::cmp::Ordering;

/// print every slab cache, meminfo figure and vmstat value once
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "all", example = "biggest caches first:\n  $ kleak all --sort c | head -20")]
pub struct AllArgs {
    /// sort caches by KEY, slabtop's letters: a active objs, b objs per slab, c cache size,
    /// l slabs, v active slabs, n name, o objs (default), p pages per slab, s object size,
    /// u use
    #[argh(option, default = "SortKey::Objs", from_str_fn(sort_key))]
    pub sort: SortKey,
}

/// slabtop's sort keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// a
    Active,
    /// b
    ObjsPerSlab,
    /// c
    CacheSize,
    /// l
    Slabs,
    /// v
    ActiveSlabs,
    /// n
    Name,
    /// o
    Objs,
    /// p
    PagesPerSlab,
    /// s
    ObjSize,
    /// u
    Use,
}

fn sort_key(s: &str) -> Result<SortKey, String> {
    Ok(match s {
        "a" | "active" => SortKey::Active,
        "b" | "objperslab" => SortKey::ObjsPerSlab,
        "c" | "size" => SortKey::CacheSize,
        "l" | "slabs" => SortKey::Slabs,
        "v" | "active-slabs" => SortKey::ActiveSlabs,
        "n" | "name" => SortKey::Name,
        "o" | "objs" => SortKey::Objs,
        "p" | "pages" => SortKey::PagesPerSlab,
        "s" | "objsize" => SortKey::ObjSize,
        "u" | "use" => SortKey::Use,
        _ => return Err(format!("unknown sort key `{s}` (one of a b c l v n o p s u)")),
    })
}

/// Orders two caches by `key`: largest first, names alphabetically.
pub fn compare(key: SortKey, a: &SlabEntry, b: &SlabEntry, page_size: u64) -> Ordering {
    let (x, y) = (&a.cur, &b.cur);
    let desc = |p: u64, q: u64| q.cmp(&p);
    match key {
        SortKey::Active => desc(x.active_objs, y.active_objs),
        SortKey::ObjsPerSlab => desc(x.objperslab as u64, y.objperslab as u64),
        SortKey::CacheSize => desc(x.slab_bytes(page_size), y.slab_bytes(page_size)),
        SortKey::Slabs => desc(x.num_slabs.into(), y.num_slabs.into()),
        SortKey::ActiveSlabs => desc(x.active_slabs.into(), y.active_slabs.into()),
        SortKey::Name => a.name.as_str().cmp(b.name.as_str()),
        SortKey::Objs => desc(x.num_objs, y.num_objs),
        SortKey::PagesPerSlab => desc(x.pagesperslab as u64, y.pagesperslab as u64),
        SortKey::ObjSize => desc(x.objsize as u64, y.objsize as u64),
        // Compare a/b against c/d without floats: a*d against c*b.
        SortKey::Use => (y.active_objs as u128 * x.num_objs as u128).cmp(&(x.active_objs as u128 * y.num_objs as u128)),
    }
    .then_with(|| a.name.as_str().cmp(b.name.as_str()))
}

/// Runs `kleak all`.
pub fn run(ctx: &mut Ctx, args: &AllArgs) -> Result<Exit, Error> {
    let mut s = start(ctx)?;
    let host = s.host();
    let r = show(&mut ctx.out, &s.tables, &host, args.sort);
    if !ctx.out.style.json {
        report_skipped(&s.tables);
    }
    quiet(r)
}

/// Prints everything in `t`.
pub fn show(out: &mut Out, t: &Tables, host: &Host, sort: SortKey) -> Result<Exit, Closed> {
    let ps = t.page_size;
    let mut order: heapless::Vec<u16, MAX_CACHES> = heapless::Vec::new();
    for (i, e) in t.slab.entries().iter().enumerate() {
        if e.presence.now && e.shown {
            let _ = order.push(i as u16);
        }
    }
    let entries = t.slab.entries();
    crate::table::sort_by(&mut order, |&a, &b| compare(sort, &entries[a as usize], &entries[b as usize], ps).is_lt());
    let json = out.style.json;
    if json {
        for &i in &order {
            view::slab_json(out, &entries[i as usize], ps, Span::Now, 0.0)?;
        }
        for g in t.meminfo.entries().iter().filter(|g| g.presence.now) {
            view::gauge_json(out, "meminfo", g, ps, Span::Now, 0.0)?;
        }
        for g in t.vmstat.entries().iter().filter(|g| g.presence.now) {
            view::gauge_json(out, "vmstat", g, ps, Span::Now, 0.0)?;
        }
        summary(out, "all", t, |j| {
            j.str("release", &host.release);
        })?;
        return Ok(Exit::Ok);
    }
    if !order.is_empty() {
        totals(out, t)?;
        outln!(out, "")?;
        view::slab_header(out)?;
        for &i in &order {
            view::slab_row(out, &entries[i as usize], ps)?;
        }
        outln!(out, "")?;
    }
    outln!(out, "{:<32} {:>12} {:>8}", "MEMINFO", "COUNT", "SIZE")?;
    for g in t.meminfo.entries().iter().filter(|g| g.presence.now) {
        view::gauge_row(out, g, ps, Span::Now)?;
    }
    outln!(out, "")?;
    outln!(out, "{:<32} {:>12} {:>8}", "VMSTAT", "VALUE", "SIZE")?;
    for g in t.vmstat.entries().iter().filter(|g| g.presence.now && !g.is_counter()) {
        view::gauge_row(out, g, ps, Span::Now)?;
    }
    outln!(out, "")?;
    if host.uptime > 0.0 {
        outln!(out, "{:<32} {:>14} {:>12}", "VMSTAT EVENTS", "TOTAL", "AVG/s (boot)")?;
    } else {
        outln!(out, "{:<32} {:>14}", "VMSTAT EVENTS", "TOTAL")?;
    }
    for g in t.vmstat.entries().iter().filter(|g| g.presence.now && g.is_counter()) {
        let rate = if host.uptime > 0.0 { g.cur as f64 / host.uptime } else { 0.0 };
        view::counter_row(out, g, rate)?;
    }
    Ok(Exit::Ok)
}

/// slabtop's totals header.
fn totals(out: &mut Out, t: &Tables) -> Result<(), Closed> {
    let h = out.style.human;
    let (mut objs, mut active, mut slabs, mut aslabs, mut size, mut asize) = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut caches, mut acaches, mut min, mut max) = (0u64, 0u64, u64::MAX, 0u64);
    for e in t.slab.entries().iter().filter(|e| e.presence.now && e.shown) {
        let c = &e.cur;
        objs += c.num_objs;
        active += c.active_objs;
        slabs += u64::from(c.num_slabs);
        aslabs += u64::from(c.active_slabs);
        size += c.bytes();
        asize += c.active_bytes();
        caches += 1;
        acaches += (c.active_objs > 0) as u64;
        min = min.min(c.objsize as u64);
        max = max.max(c.objsize as u64);
    }
    let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 * 100.0 / b as f64 };
    outln!(out, " Active / Total Objects (% used)    : {active} / {objs} ({}%)", Fixed(pct(active, objs), 1))?;
    outln!(out, " Active / Total Slabs (% used)      : {aslabs} / {slabs} ({}%)", Fixed(pct(aslabs, slabs), 1))?;
    outln!(out, " Active / Total Caches (% used)     : {acaches} / {caches} ({}%)", Fixed(pct(acaches, caches), 1))?;
    outln!(
        out,
        " Active / Total Size (% used)       : {} / {} ({}%)",
        Size::of(asize as i64, h),
        Size::of(size as i64, h),
        Fixed(pct(asize, size), 1)
    )?;
    let avg = size.checked_div(objs).unwrap_or(0);
    outln!(
        out,
        " Minimum / Average / Maximum Object : {} / {} / {}",
        Size::of(if caches == 0 { 0 } else { min } as i64, h),
        Size::of(avg as i64, h),
        Size::of(max as i64, h)
    )
}

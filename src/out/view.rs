//! How table entries look: slab rows in slabtop's words, meminfo and vmstat rows, and
//! their JSON objects. Commands choose which entries to show; this module shows them.

use super::fmt::{Dur, Fit, Fixed, Size};
use super::{Closed, Out};
use crate::figures::{before, gauge_before, is_new, Span};
use crate::limits::MAX_CACHES;
use crate::outln;
use crate::table::{Gauge, SlabEntry, Unit};
use crate::tables::Tables;
use crate::Exit;
use core::fmt::Write;

/// Width of the name column when `fixed` columns are used by numbers.
pub fn name_width(out: &Out, fixed: usize) -> usize {
    out.style.width.saturating_sub(fixed).max(12)
}

/// Columns `all` uses before the name.
const ALL_FIXED: usize = 57;

/// The header of the `all` table, in slabtop's words.
pub fn slab_header(out: &mut Out) -> Result<(), Closed> {
    outln!(
        out,
        "{:>7} {:>7} {:>4} {:>8} {:>6} {:>8} {:>10} NAME",
        "OBJS",
        "ACTIVE",
        "USE",
        "OBJ SIZE",
        "SLABS",
        "OBJ/SLAB",
        "CACHE SIZE"
    )
}

/// One `all` row: a cache as it stands.
pub fn slab_row(out: &mut Out, e: &SlabEntry, page_size: u64) -> Result<(), Closed> {
    let c = &e.cur;
    let h = out.style.human;
    let w = name_width(out, ALL_FIXED);
    outln!(
        out,
        "{:>7} {:>7} {:>3}% {:>8} {:>6} {:>8} {:>10} {}",
        c.num_objs,
        c.active_objs,
        Fixed(c.use_pct(), 0),
        c.objsize,
        c.num_slabs,
        c.objperslab,
        Size::of(c.slab_bytes(page_size) as i64, h),
        Fit::cut(e.name.as_str(), w)
    )
}

/// Columns the change tables (`diff`, `top`) use before the name.
const DELTA_FIXED: usize = 45;

/// Columns of the SHAPE column (a sparkline) in change tables that have one.
pub const SHAPE_COLS: usize = 8;

/// Header of a change table; `rate` adds a bytes-per-second column, `shape` a sparkline.
pub fn delta_header(out: &mut Out, rate: bool, shape: bool) -> Result<(), Closed> {
    let _ = write!(out.line(), "{:>8} {:>8} {:>8} {:>8} {:>8} ", "OBJS", "+/-OBJS", "+/-ACTV", "BYTES", "+/-BYTES");
    if rate {
        let _ = write!(out.line(), "{:>8} ", "RATE/s");
    }
    if shape {
        let _ = write!(out.line(), "{:<w$} ", "SHAPE", w = SHAPE_COLS);
    }
    outln!(out, "NAME")
}

/// One change row: a cache's objects and bytes now, and their change over `span`; with a
/// `shape`, its sparkline ([`SHAPE_COLS`] columns) before the name.
pub fn delta_row(
    out: &mut Out,
    e: &SlabEntry,
    span: Span,
    secs: f64,
    shape: Option<&crate::verdict::Spark>,
) -> Result<(), Closed> {
    let (b, c) = (before(e, span), e.cur);
    let h = out.style.human;
    let d_bytes = c.bytes() as i64 - b.bytes() as i64;
    let rate = secs > 0.0;
    let w = name_width(out, DELTA_FIXED + if rate { 9 } else { 0 } + if shape.is_some() { SHAPE_COLS + 1 } else { 0 });
    let _ = write!(
        out.line(),
        "{:>8} {:>+8} {:>+8} {:>8} {:>8} ",
        c.num_objs,
        c.num_objs as i64 - b.num_objs as i64,
        c.active_objs as i64 - b.active_objs as i64,
        Size::of(c.bytes() as i64, h),
        Size::delta(d_bytes, h)
    );
    if rate {
        let _ = write!(out.line(), "{:>8} ", Size::delta((d_bytes as f64 / secs) as i64, h));
    }
    if let Some(spark) = shape {
        let view = super::alert::SparkView { spark, cols: SHAPE_COLS, ascii: out.style.ascii };
        let _ = write!(out.line(), "{view}");
        for _ in spark.len as usize..SHAPE_COLS {
            let _ = out.line().write_char(' ');
        }
        let _ = out.line().write_char(' ');
    }
    let mark = match (e.presence.now, is_new(e, span)) {
        (false, _) => " (gone)",
        (true, true) => " (new)",
        _ => "",
    };
    let _ = write!(out.line(), "{}", Fit::cut(e.name.as_str(), w.saturating_sub(mark.len())));
    outln!(out, "{mark}")
}

/// A slab cache as a JSON object; with a span other than `Now`, its changes too.
pub fn slab_json(out: &mut Out, e: &SlabEntry, page_size: u64, span: Span, secs: f64) -> Result<(), Closed> {
    let c = &e.cur;
    let mut j = out.line().json("slab");
    j.str("name", e.name.as_str())
        .u64("active_objs", c.active_objs)
        .u64("num_objs", c.num_objs)
        .u64("objsize", c.objsize as u64)
        .u64("objperslab", c.objperslab as u64)
        .u64("pagesperslab", c.pagesperslab as u64)
        .u64("active_slabs", c.active_slabs.into())
        .u64("num_slabs", c.num_slabs.into())
        .u64("bytes", c.bytes())
        .u64("slab_bytes", c.slab_bytes(page_size));
    if span != Span::Now {
        let b = before(e, span);
        let d_bytes = c.bytes() as i64 - b.bytes() as i64;
        j.i64("d_active_objs", c.active_objs as i64 - b.active_objs as i64)
            .i64("d_num_objs", c.num_objs as i64 - b.num_objs as i64)
            .i64("d_bytes", d_bytes)
            .bool("present", e.presence.now)
            .bool("new", is_new(e, span));
        if secs > 0.0 {
            j.f64("rate_bytes_per_s", d_bytes as f64 / secs);
        }
    }
    j.end();
    out.emit()
}

/// A vmstat or meminfo value as JSON (`source` is "vmstat" or "meminfo").
pub fn gauge_json(out: &mut Out, source: &str, g: &Gauge, page_size: u64, span: Span, secs: f64) -> Result<(), Closed> {
    let mut j = out.line().json(source);
    j.str("name", g.name.as_str());
    j.str("type", if g.is_counter() { "counter" } else { "gauge" });
    if g.unit == Unit::Bytes {
        j.i64("bytes", g.cur);
    } else {
        j.i64("value", g.cur);
        j.opt_i64("bytes", g.bytes(g.cur, page_size));
    }
    if span != Span::Now {
        let d = g.cur - gauge_before(g, span);
        if g.is_counter() {
            if secs > 0.0 && d >= 0 {
                j.f64("rate_per_s", d as f64 / secs);
            }
        } else if g.unit == Unit::Bytes {
            j.i64("d_bytes", d);
        } else {
            j.i64("d_value", d);
            j.opt_i64("d_bytes", g.bytes(d, page_size));
        }
    }
    j.end();
    out.emit()
}

/// One text row for a gauge: name, value (bytes where it is memory), change over `span`.
pub fn gauge_row(out: &mut Out, g: &Gauge, page_size: u64, span: Span) -> Result<(), Closed> {
    let h = out.style.human;
    let w = name_width(out, 30);
    let _ = write!(out.line(), "{} ", Fit::left(g.name.as_str(), w.min(32)));
    match g.bytes(g.cur, page_size) {
        Some(b) if g.unit != Unit::Bytes => {
            let _ = write!(out.line(), "{:>12} {:>8}", g.cur, Size::of(b, h));
        }
        Some(b) => {
            let _ = write!(out.line(), "{:>12} {:>8}", "", Size::of(b, h));
        }
        None => {
            let _ = write!(out.line(), "{:>12} {:>8}", g.cur, "");
        }
    }
    if span != Span::Now {
        let d = g.cur - gauge_before(g, span);
        match g.bytes(d, page_size) {
            Some(db) => {
                let _ = write!(out.line(), " {:>8}", Size::delta(db, h));
            }
            None => {
                let _ = write!(out.line(), " {:>+8}", d);
            }
        }
    }
    out.emit()
}

/// One text row for an event counter: its total and its rate per second.
pub fn counter_row(out: &mut Out, g: &Gauge, rate: f64) -> Result<(), Closed> {
    let w = name_width(out, 30);
    outln!(out, "{} {:>14} {:>12}", Fit::left(g.name.as_str(), w.min(32)), g.cur, Fixed(rate, 1))
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
pub fn changes(out: &mut Out, t: &Tables, span: Span, command: &str, grown: bool) -> Result<Exit, Closed> {
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
            slab_json(out, &entries[i as usize], ps, span, secs)?;
        }
        for g in t.meminfo.entries().iter().filter(gauges) {
            gauge_json(out, "meminfo", g, ps, span, secs)?;
        }
        for g in t.vmstat.entries().iter().filter(|g| gauges(g) || counters(g)) {
            gauge_json(out, "vmstat", g, ps, span, secs)?;
        }
        super::summary(out, command, t, |j| {
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
        delta_header(out, false, false)?;
        for &i in &order {
            delta_row(out, &entries[i as usize], span, 0.0, None)?;
        }
    }
    let mut header = true;
    for g in t.meminfo.entries().iter().filter(gauges) {
        if header {
            outln!(out, "")?;
            outln!(out, "{:<32} {:>12} {:>8} {:>8}", "MEMINFO", "COUNT", "SIZE", "CHANGE")?;
            header = false;
        }
        gauge_row(out, g, ps, span)?;
    }
    header = true;
    for g in t.vmstat.entries().iter().filter(gauges) {
        if header {
            outln!(out, "")?;
            outln!(out, "{:<32} {:>12} {:>8} {:>8}", "VMSTAT", "VALUE", "SIZE", "CHANGE")?;
            header = false;
        }
        gauge_row(out, g, ps, span)?;
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
            counter_row(out, g, rate)?;
        }
    }
    Ok(Exit::Ok)
}

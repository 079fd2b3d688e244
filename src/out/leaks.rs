//! How kmemleak's groups look: text blocks and `leak-group` JSON objects, the scans of a
//! dance, the pairs of slab growth and groups, the notes about what did not fit. `leaks`,
//! `run` and `watch` print them.

use crate::allocator::Entry;
use crate::kmemleak::Dance;
use crate::leaks::{write_key, Group, Groups, Pair};
use crate::limits::GROUP_FRAMES;
use crate::out::fmt::{Dur, Fit, Fixed, Size};
use crate::out::{Closed, Line, Out};
use crate::outln;
use core::fmt::Write;

/// Adds the report's counts to a summary object.
pub fn counts(j: &mut crate::out::Json<'_>, g: &Groups) {
    let p = &g.parser;
    j.u64("objects", p.objects as u64)
        .u64("groups", g.all().len() as u64)
        .u64("objects_untracked", g.untracked_objects as u64)
        .u64("backtraces_cut", g.backtraces_cut as u64)
        .u64("skipped_lines", p.stats.malformed as u64)
        .u64("other_lines", p.other_lines as u64)
        .u64("hex_dumps", p.hex_dumps as u64)
        .u64("crcs", p.crcs as u64);
}

/// Notes (stderr) about lines skipped and groups that did not fit.
pub fn notes(g: &Groups) {
    let st = g.parser.stats;
    if st.malformed > 0 {
        crate::out::note(format_args!(
            "kmemleak report: {} malformed line(s) skipped (first at line {})",
            st.malformed, st.first_malformed
        ));
    }
    if g.backtraces_cut > 0 {
        crate::out::note(format_args!(
            "{} backtraces longer than {} frames: the rest not kept (src/limits.rs BACKTRACE_FRAMES)",
            g.backtraces_cut,
            crate::limits::BACKTRACE_FRAMES
        ));
    }
    if g.untracked_objects > 0 {
        crate::out::note(format_args!(
            "{} objects in groups not tracked: table full ({}); raise MAX_LEAK_GROUPS in src/limits.rs",
            g.untracked_objects,
            crate::limits::MAX_LEAK_GROUPS
        ));
    }
}

/// How long each scan of a dance took, in one line (text only: JSON has `scans` and
/// `scan_secs_max` in its closing object).
pub fn scans(out: &mut Out, d: &Dance) -> Result<(), Closed> {
    if out.style.json {
        return Ok(());
    }
    let _ = write!(out.line(), "kmemleak: {} scans, seconds each:", d.scan_secs.len());
    for s in &d.scan_secs {
        let _ = write!(out.line(), " {}", Fixed(*s, 2));
    }
    out.emit()
}

/// Prints every group, largest first: text blocks, or `leak-group` JSON objects. A group
/// in `pairs` names the cache that grew by about its objects.
pub fn show(out: &mut Out, g: &Groups, page_size: u64, pairs: &[Pair]) -> Result<(), Closed> {
    let ranked = g.ranked();
    if !out.style.json {
        let bytes: u64 = g.all().iter().map(|g| g.bytes).sum();
        let h = out.style.human;
        if ranked.is_empty() {
            return outln!(out, "kmemleak: no unreferenced objects");
        }
        outln!(
            out,
            "kmemleak: {} objects in {} groups, {}; largest first",
            g.objects(),
            ranked.len(),
            Size::of(bytes as i64, h)
        )?;
    }
    for (rank, &i) in ranked.iter().enumerate() {
        let pair = pairs.iter().find(|p| p.group == i);
        group(out, &g.all()[i as usize], rank + 1, page_size, pair)?;
    }
    Ok(())
}

/// The pairs of slab growth and groups, one line each ("kmalloc-128 +995 objs ≈ group
/// #2"), after the slab table; JSON has them in each `leak-group` (`cache_grew`).
pub fn show_pairs(out: &mut Out, g: &Groups, pairs: &[Pair]) -> Result<(), Closed> {
    if out.style.json || pairs.is_empty() {
        return Ok(());
    }
    outln!(out, "slab growth and kmemleak groups:")?;
    let ranked = g.ranked();
    for p in pairs {
        let rank = ranked.iter().position(|&i| i == p.group).map_or(0, |r| r + 1);
        let grp = &g.all()[p.group as usize];
        let _ = write!(
            out.line(),
            "  {} +{} objs \u{2248} group #{rank} ({} objects, ",
            p.cache.as_str(),
            p.grown,
            grp.objects
        );
        outln!(out, "{})", Fit::cut(grp.site(), 30))?;
    }
    Ok(())
}

fn home(out: &mut Out, g: &Group, page_size: u64) {
    let l = out.line();
    let _ = write!(l, "{}", g.cache(g.size_min, page_size));
    if g.size_max != g.size_min {
        let top = g.cache(g.size_max, page_size);
        if top != g.cache(g.size_min, page_size) {
            let _ = write!(l, "..{top}");
        }
    }
}

/// One group's `leak-group` JSON object, into `line` (for `--json` and the ring log).
pub fn group_json(line: &mut Line, g: &Group, rank: usize, page_size: u64, pair: Option<&Pair>) {
    let mut cache = Line::default();
    let _ = write!(cache, "{}", g.cache(g.size_min, page_size));
    let mut key = Line::default();
    write_key(&mut key, g.key);
    let mut j = line.json("leak-group");
    j.u64("rank", rank as u64).u64("objects", g.objects as u64).u64("bytes", g.bytes);
    j.u64("size_min", g.size_min).u64("size_max", g.size_max).str("cache", cache.as_str());
    j.str("entry", g.entry.word());
    if let Some(p) = pair {
        j.str("cache_grew", p.cache.as_str()).u64("cache_grew_objs", p.grown);
    }
    j.str("site", g.site()).str("module", g.module());
    j.str("comm", g.comm.as_str()).u64("pid", g.pid as u64).u64("other_tasks", g.other_tasks as u64);
    if let Some((lo, hi)) = g.age_ms {
        j.f64("age_min_secs", lo as f64 / 1000.0).f64("age_max_secs", hi as f64 / 1000.0);
    }
    if g.unloaded {
        j.bool("module_unloaded", true);
    }
    j.u64("crcs", g.crcs.len() as u64).u64("allocator_frames", g.site_at as u64).list("frames");
    for f in &g.frames {
        let mut t = Line::default();
        let _ = write!(t, "{f}");
        j.item_str(t.as_str());
    }
    j.close_list().str("fingerprint", key.as_str()).end();
}

/// One group: a text block or a `leak-group` JSON object. The block's first line after
/// the header is the culprit (the site); frames of modules and of `--match` are marked
/// `>`, also deeper than the frames shown.
pub fn group(out: &mut Out, g: &Group, rank: usize, page_size: u64, pair: Option<&Pair>) -> Result<(), Closed> {
    let h = out.style.human;
    if out.style.json {
        group_json(out.line(), g, rank, page_size, pair);
        return out.emit();
    }
    let width = out.style.width;
    let _ = write!(out.line(), "#{rank} {} objects, {}, size {}", g.objects, Size::of(g.bytes as i64, h), g.size_min);
    if g.size_max != g.size_min {
        let _ = write!(out.line(), "..{}", g.size_max);
    }
    let _ = write!(out.line(), " (");
    home(out, g, page_size);
    let _ = write!(out.line(), ")");
    if let Some(p) = pair {
        let _ = match g.entry {
            // The report does not name a cache of its own: the cache that grew does.
            Entry::Cache => write!(out.line(), " \u{2248} {} +{} objs", p.cache.as_str(), p.grown),
            _ => write!(out.line(), " \u{2248} +{} objs", p.grown),
        };
    }
    crate::out::fmt::cut_line(out.line(), width);
    out.emit()?;
    outln!(out, "   {}", Fit::cut(g.site(), width.saturating_sub(3)))?;
    let _ = write!(out.line(), "   comm \"{}\" pid {}", g.comm.as_str(), g.pid);
    if g.other_tasks > 0 {
        let _ = write!(out.line(), " (+{} other tasks)", g.other_tasks);
    }
    if let Some((lo, hi)) = g.age_ms {
        let _ = write!(out.line(), ", age {}", Dur(lo as f64 / 1000.0));
        // A range only when it says more than rounding does.
        if hi > lo + lo / 8 {
            let _ = write!(out.line(), "..{}", Dur(hi as f64 / 1000.0));
        }
    }
    out.emit()?;
    let mut gap = false;
    for (i, f) in g.from_site().iter().enumerate() {
        if i >= GROUP_FRAMES && !f.marked {
            gap = true;
            continue;
        }
        if gap {
            outln!(out, "     ...")?;
            gap = false;
        }
        let mut t = Line::default();
        let _ = write!(t, "{f}");
        outln!(out, "   {} {}", if f.marked { '>' } else { ' ' }, Fit::cut(t.as_str(), width.saturating_sub(5)))?;
    }
    if g.unloaded {
        outln!(out, "   (module unloaded before the report: frames named by kleak)")?;
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::out::{Style, Target};

    const LEAK: &str = "unreferenced object 0xffff000012345600 (size 100):\n  comm \"insmod\", pid 7, jiffies 1 (age 6.100s)\n  backtrace:\n    [<0>] kmalloc_trace+0x1/0x2\n    [<1>] leaky_store+0x4c/0xb8 [leaky]\n    [<2>] kernfs_fop_write_iter+0x1/0x2\n";

    fn text_of(out: &Out) -> String {
        text(out)
    }

    fn text(out: &Out) -> String {
        String::from_utf8_lossy(out.memory()).into_owned()
    }

    #[test]
    fn a_group_block_fits_80_columns() {
        let mut g = Groups::default();
        for l in LEAK.repeat(3).lines() {
            g.line(l.as_bytes());
        }
        g.finish();
        let mut out = Out::new(Target::Memory(Vec::new()), Style::default());
        show(&mut out, &g, 4096, &[]).unwrap();
        let t = text(&out);
        assert_eq!(
            t,
            "kmemleak: 3 objects in 1 groups, 300B; largest first\n\
#1 3 objects, 300B, size 100 (kmalloc-128)\n   leaky_store [leaky]\n   comm \"insmod\" pid 7, age 6.1s\n   > leaky_store+0x4c [leaky]\n     kernfs_fop_write_iter+0x1\n"
        );
    }

    #[test]
    fn a_long_stack_still_points_at_the_driver() {
        // usb_alloc_urb is the site (a typed constructor); the driver's frame is the
        // eighth after it, past the frames a block shows, and still printed, marked.
        let mut text = String::from("unreferenced object 0x10 (size 192):\n  backtrace:\n    kmalloc_trace+0x1/0x2\n    usb_alloc_urb+0x66/0xe0\n");
        for f in ["a", "b", "c", "d", "e", "f"] {
            text += &format!("    core_{f}+0x1/0x2\n");
        }
        text += "    mydrv_start_a_very_long_function_name_that_goes_on_and_on_and_on+0x4/0x8 [mydrv]\n";
        let mut g = Groups::default();
        for l in text.lines() {
            g.line(l.as_bytes());
        }
        g.finish();
        let mut out = Out::new(Target::Memory(Vec::new()), Style::default());
        show(&mut out, &g, 4096, &[]).unwrap();
        let t = text_of(&out);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[2], "   usb_alloc_urb", "the culprit line comes first: {t}");
        assert_eq!(lines[9], "     ...", "{t}");
        assert!(lines[10].starts_with("   > mydrv_start_a_very_long"), "{t}");
        assert!(lines[10].ends_with("+0x4 [mydrv]"), "a long name is cut, never its module: {t}");
        assert_eq!(g.all()[0].module(), "mydrv");
        assert!(lines.iter().all(|l| l.chars().count() <= 80), "{t}");
    }
}

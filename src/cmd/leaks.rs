//! `kleak leaks`: kmemleak's report, grouped by where the leaks were allocated. Also what
//! `run` and `watch` share: printing groups and scans, and [`LeakWatch`] for `watch`.

use crate::allocator::Entry;
use crate::arg::Arg;
use crate::cli::Ctx;
use crate::kmemleak::{self, Command, Control, Dance, Debugfs, Session, Unavailable};
use crate::leaks::{write_key, Group, Groups, Pair};
use crate::limits::{GROUP_FRAMES, MAX_SEEN_GROUPS, READ_BUF_BYTES};
use crate::out::fmt::{Dur, Fit, Fixed, Size};
use crate::out::{Closed, Line, Out};
use crate::outln;
use crate::sys::{self, Errno};
use crate::{Error, Exit};
use argh::FromArgs;
use core::fmt::Write;

/// group kmemleak's report by where the leaks were allocated, largest first
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "leaks",
    example = "scan reliably, show the groups, then clear them:\n  $ kleak leaks --scan --clear",
    note = "Exit 0: nothing reported; 1: leaks reported; 3: kmemleak unavailable."
)]
pub struct LeaksArgs {
    /// scan reliably first (takes 6 s or more)
    #[argh(switch)]
    pub scan: bool,
    /// then clear the report: the next look shows only new objects
    #[argh(switch)]
    pub clear: bool,
    /// read a saved report, console log or mail instead
    #[argh(option, arg_name = "FILE")]
    pub input: Option<Arg>,
    /// split groups by contents checksum too (crc)
    #[argh(switch)]
    pub by_crc: bool,
    /// mount debugfs if it is not mounted (root)
    #[argh(switch)]
    pub mount: bool,
}

/// Runs `kleak leaks`.
pub fn run(ctx: &mut Ctx, args: &LeaksArgs) -> Result<Exit, Error> {
    let mut groups = Groups::default();
    groups.by_crc = args.by_crc;
    groups.matcher = ctx.matcher.clone();
    let mut dance = None;
    let input;
    let source = match &args.input {
        Some(file) => {
            if args.scan || args.clear || args.mount {
                return Err(Error::usage("leaks: --input excludes --scan, --clear and --mount"));
            }
            read_file(file, &mut groups)?;
            input = file.to_string();
            &input
        }
        None if args.scan => {
            // The scan thread stays paused until the report is read (Session's drop).
            let mut s = kmemleak::session(&ctx.root, args.mount).map_err(Unavailable::error)?;
            let mut d = Dance::new(sys::monotonic_secs(), s.min_unref_scans);
            d.run(&mut s.ctl, &mut s.buf).map_err(Unavailable::error)?;
            dance = Some(d);
            read_and_clear(&mut s.ctl, &mut s.buf, &mut groups, args.clear)?;
            kmemleak::PATH
        }
        None => {
            let mut ctl = kmemleak::open(&ctx.root, args.mount).map_err(Unavailable::error)?;
            read_and_clear(&mut ctl, &mut vec![0u8; READ_BUF_BYTES], &mut groups, args.clear)?;
            kmemleak::PATH
        }
    };
    let out = &mut ctx.out;
    let found = groups.objects() > 0 || groups.untracked_objects > 0;
    let r = (|| -> Result<(), Closed> {
        if let Some(d) = &dance {
            scans(out, d)?;
        }
        show(out, &groups, sys::page_size(), &[])?;
        if out.style.json {
            let mut j = out.line().json("summary");
            j.str("command", "leaks").str("source", source);
            counts(&mut j, &groups);
            if let Some(d) = &dance {
                j.u64("scans", d.scan_secs.len() as u64).f64("scan_secs_max", d.longest_scan());
            }
            j.bool("cleared", args.clear).end();
            out.emit()?;
        }
        Ok(())
    })();
    if !out.style.json {
        notes(&groups);
    }
    match r {
        Err(Closed) => Ok(Exit::Ok),
        Ok(()) => Ok(if found { Exit::Leak } else { Exit::Ok }),
    }
}

/// Reads a saved report into `groups`.
fn read_file(file: &Arg, groups: &mut Groups) -> Result<(), Error> {
    let mut buf = vec![0u8; READ_BUF_BYTES];
    kmemleak::read_file(&crate::sample::FsRoot::live(), file.as_bytes(), &mut buf, &mut |l| groups.line(l))
        .map_err(|e| Error::env(format_args!("{file}: {e}")))?;
    groups.finish();
    Ok(())
}

fn read_and_clear(ctl: &mut dyn Control, buf: &mut [u8], groups: &mut Groups, clear: bool) -> Result<(), Error> {
    let err = |e| Unavailable::from_errno(e).error();
    read(ctl, buf, groups).map_err(err)?;
    if clear {
        ctl.command(Command::CLEAR).map_err(err)?;
    }
    Ok(())
}

/// Reads the kernel's report into `groups` (emptied first).
pub fn read(ctl: &mut dyn Control, buf: &mut [u8], groups: &mut Groups) -> Result<(), Errno> {
    read_with(ctl, buf, groups, None)
}

/// [`read`], naming the raw frames of unloaded modules from `syms` (`kleak run`).
pub fn read_with(
    ctl: &mut dyn Control,
    buf: &mut [u8],
    groups: &mut Groups,
    syms: Option<&dyn crate::modsyms::Resolve>,
) -> Result<(), Errno> {
    groups.clear();
    ctl.read(buf, &mut |l| groups.line_with(l, syms))?;
    groups.finish();
    Ok(())
}

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

/// Each slab cache that grew since the first sample: name, object size, objects grown (a
/// cache that appeared grew from zero). For [`crate::leaks::pair`].
pub fn grown_caches(t: &crate::sample::Tables) -> impl Iterator<Item = (&str, u64, u64)> + Clone {
    use crate::out::view::{before, is_new, Span};
    t.slab.entries().iter().filter(|e| e.presence.now).filter_map(|e| {
        let base = if is_new(e, Span::SinceStart) { 0 } else { before(e, Span::SinceStart).active_objs };
        let grown = e.cur.active_objs.saturating_sub(base);
        (grown > 0).then_some((e.name.as_str(), e.cur.objsize as u64, grown))
    })
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

/// `watch --kmemleak-every S`: a scan dance every S seconds, paced by watch's samples
/// (a dance step runs when a sample is taken, so sampling never stops), and the groups
/// not seen before printed as they appear. Nothing allocates after [`LeakWatch::start`].
pub struct LeakWatch<C: Control = Debugfs> {
    session: Session<C>,
    every: f64,
    next: f64,
    started: f64,
    dance: Option<Dance>,
    /// The groups of the latest finished dance: name the ones behind a cache that grows
    /// with [`crate::leaks::in_cache`].
    pub groups: Groups,
    seen: Vec<u64>,
    seen_next: usize,
    /// Dances finished.
    pub dances: u32,
    /// Groups printed as new.
    pub new_groups: u32,
    /// The longest scan so far, in seconds.
    pub longest_scan: f64,
    /// Why kmemleak stopped working mid-watch, if it did.
    pub failed: Option<Unavailable>,
    /// Groups printed as new since the caller last emptied this (index into
    /// [`LeakWatch::groups`], rank as printed): what a ring log keeps.
    pub fresh: heapless::Vec<(u16, u32), { crate::limits::MAX_LEAK_GROUPS }>,
    page_size: u64,
}

impl LeakWatch<Debugfs> {
    /// Opens kmemleak under the command's root for a dance every `every` seconds.
    pub fn open(ctx: &Ctx, every: f64) -> Result<Self, Error> {
        let s = kmemleak::session(&ctx.root, false).map_err(Unavailable::error)?;
        let mut w = LeakWatch::start(s, every, sys::monotonic_secs());
        w.groups.matcher = ctx.matcher.clone();
        Ok(w)
    }
}

impl<C: Control> LeakWatch<C> {
    /// A watcher on `session`; the first dance starts at `now`.
    pub fn start(session: Session<C>, every: f64, now: f64) -> Self {
        LeakWatch {
            session,
            every,
            next: now,
            started: now,
            dance: None,
            groups: Groups::default(),
            seen: vec![0; MAX_SEEN_GROUPS],
            seen_next: 0,
            dances: 0,
            new_groups: 0,
            longest_scan: 0.0,
            failed: None,
            fresh: heapless::Vec::new(),
            page_size: sys::page_size(),
        }
    }

    /// Takes the dance's next step if it is due at `now`; prints groups not seen before,
    /// each with the slab cache of `tables` that grew by about its objects since start.
    pub fn poll(
        &mut self,
        out: &mut Out,
        elapsed: f64,
        now: f64,
        tables: &crate::sample::Tables,
    ) -> Result<(), Closed> {
        if self.failed.is_some() {
            return Ok(());
        }
        if self.dance.is_none() {
            if now < self.next {
                return Ok(());
            }
            self.started = now;
            self.dance = Some(Dance::new(now, self.session.min_unref_scans));
        }
        let Some(d) = self.dance.as_mut() else { return Ok(()) };
        let s = &mut self.session;
        let step = d.poll(&mut s.ctl, &mut s.buf, now);
        self.longest_scan = self.longest_scan.max(d.longest_scan());
        let r = match step {
            Ok(Some(_)) => return Ok(()),
            Ok(None) if d.found > 0 => read(&mut s.ctl, &mut s.buf, &mut self.groups).map_err(Unavailable::from_errno),
            Ok(None) => {
                self.groups.clear();
                Ok(())
            }
            Err(e) => Err(e),
        };
        self.dance = None;
        if let Err(e) = r {
            crate::out::note(format_args!("kmemleak: {e}; no more scans"));
            self.failed = Some(e);
            return Ok(());
        }
        self.dances += 1;
        // Never more often than a scan takes.
        self.next = (self.started + self.every).max(now + self.longest_scan);
        self.print_new(out, elapsed, tables)
    }

    fn print_new(&mut self, out: &mut Out, elapsed: f64, tables: &crate::sample::Tables) -> Result<(), Closed> {
        let pairs = crate::leaks::pair(&self.groups, grown_caches(tables));
        for &i in self.groups.ranked().iter() {
            let g = &self.groups.all()[i as usize];
            if self.seen.contains(&g.key) {
                continue;
            }
            self.seen[self.seen_next] = g.key;
            self.seen_next = (self.seen_next + 1) % self.seen.len();
            self.new_groups += 1;
            let _ = self.fresh.push((i, self.new_groups));
            if !out.style.json {
                outln!(out, "{:>6} kmemleak: a new leak", Dur(elapsed))?;
            }
            let pair = pairs.iter().find(|p| p.group == i);
            group(out, g, self.new_groups as usize, self.page_size, pair)?;
            if let (Some(p), false) = (pair, out.style.json) {
                outln!(
                    out,
                    "   {} +{} objs since start \u{2248} group #{}",
                    p.cache.as_str(),
                    p.grown,
                    self.new_groups
                )?;
            }
        }
        Ok(())
    }

    /// Restarts the kernel's scan thread if it was running.
    pub fn end(&mut self) {
        self.session.end();
    }

    /// Moves the groups printed since the last call into `log`, and flushes it.
    pub fn log_fresh(&mut self, log: &mut crate::out::ringlog::RingLog, now: f64) {
        if self.fresh.is_empty() {
            return;
        }
        for &(i, rank) in &self.fresh {
            let mut l = Line::default();
            group_json(&mut l, &self.groups.all()[i as usize], rank as usize, self.page_size, None);
            log.append(crate::ring::Kind::Group, l.as_bytes(), now);
        }
        self.fresh.clear();
        log.sync(now);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::fake::FakeKmemleak;
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

    #[test]
    fn watch_prints_each_group_once_and_paces_dances() {
        let fake = FakeKmemleak { reports: vec![(2, LEAK.into())], ..FakeKmemleak::default() };
        let s = Session::start(fake, true, 1).unwrap();
        let mut w = LeakWatch::start(s, 30.0, 100.0);
        let tables = crate::sample::Tables::default();
        let mut out = Out::new(Target::Memory(Vec::new()), Style::default());
        // Samples every 2 s: scan at 100, aged scan at >= 105.5, confirm one second later.
        let mut t = 100.0;
        while t < 200.0 {
            w.poll(&mut out, t - 100.0, t, &tables).unwrap();
            t += 2.0;
        }
        let t = text(&out);
        assert_eq!(t.matches("kmemleak: a new leak").count(), 1, "{t}");
        assert!(t.contains("#1 1 objects, 100B, size 100 (kmalloc-128)\n"), "{t}");
        assert!(t.contains("   leaky_store [leaky]\n"), "{t}");
        assert!(w.dances >= 3, "a dance every 30 s: {}", w.dances);
        assert_eq!(w.session.ctl.log[0], "scan=off");
        w.end();
        assert_eq!(w.session.ctl.log.last().unwrap(), "scan=on", "the thread was running: restarted");
    }

    #[test]
    fn watch_pairs_a_new_group_with_the_cache_that_grew_by_about_its_objects() {
        let row = |n: u64| {
            format!("slabinfo - version: 2.1\nkmalloc-128 {n} {n} 128 32 1 : tunables 0 0 0 : slabdata 1 1 0\n")
        };
        let root = crate::fake::FakeRoot::new();
        root.set("/proc/slabinfo", row(4000).as_bytes());
        let mut s = crate::sample::Sampler::new(root.clone());
        s.sample(0.0);
        root.set("/proc/slabinfo", row(4003).as_bytes());
        s.sample(1.0);
        let fake = FakeKmemleak { reports: vec![(2, LEAK.repeat(3))], ..FakeKmemleak::default() };
        let mut w = LeakWatch::start(Session::start(fake, false, 1).unwrap(), 30.0, 100.0);
        let mut out = Out::new(Target::Memory(Vec::new()), Style::default());
        let mut t = 100.0;
        while w.dances == 0 {
            w.poll(&mut out, t - 100.0, t, &s.tables).unwrap();
            t += 1.0;
        }
        let t = text(&out);
        assert!(t.contains("#1 3 objects, 300B, size 100 (kmalloc-128) \u{2248} +3 objs\n"), "{t}");
        assert!(t.contains("   kmalloc-128 +3 objs since start \u{2248} group #1\n"), "{t}");
    }

    #[test]
    fn watch_stops_scanning_when_kmemleak_goes_away() {
        let fake = FakeKmemleak::default();
        let s = Session::start(fake, false, 1).unwrap();
        let mut w = LeakWatch::start(s, 10.0, 0.0);
        let tables = crate::sample::Tables::default();
        w.session.ctl.command_error = Some(Errno::EPERM);
        let mut out = Out::new(Target::Memory(Vec::new()), Style::default());
        w.poll(&mut out, 0.0, 0.0, &tables).unwrap();
        assert_eq!(w.failed, Some(Unavailable::Disabled));
        w.poll(&mut out, 20.0, 20.0, &tables).unwrap();
        assert_eq!(w.session.ctl.log.len(), 2, "no scan after the failure");
    }
}

//! `watch --kmemleak-every`: kmemleak's scan dances paced by watch's samples, and reading
//! the kernel's report into groups (`leaks`, `run`, `watch`).

use crate::cli::Ctx;
use crate::kmemleak::{self, Control, Dance, Debugfs, Session, Unavailable};
use crate::leaks::Groups;
use crate::limits::MAX_SEEN_GROUPS;
use crate::out::fmt::Dur;
use crate::out::leaks::{group, group_json};
use crate::out::{Closed, Line, Out};
use crate::outln;
use crate::sys::{self, Errno};
use crate::Error;

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
        tables: &crate::tables::Tables,
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

    fn print_new(&mut self, out: &mut Out, elapsed: f64, tables: &crate::tables::Tables) -> Result<(), Closed> {
        let pairs = crate::leaks::pair(&self.groups, crate::figures::grown_caches(&tables.slab));
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

    fn text(out: &Out) -> String {
        String::from_utf8_lossy(out.memory()).into_owned()
    }

    #[test]
    fn watch_prints_each_group_once_and_paces_dances() {
        let fake = FakeKmemleak { reports: vec![(2, LEAK.into())], ..FakeKmemleak::default() };
        let s = Session::start(fake, true, 1).unwrap();
        let mut w = LeakWatch::start(s, 30.0, 100.0);
        let tables = crate::tables::Tables::default();
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
        let tables = crate::tables::Tables::default();
        w.session.ctl.command_error = Some(Errno::EPERM);
        let mut out = Out::new(Target::Memory(Vec::new()), Style::default());
        w.poll(&mut out, 0.0, 0.0, &tables).unwrap();
        assert_eq!(w.failed, Some(Unavailable::Disabled));
        w.poll(&mut out, 20.0, 20.0, &tables).unwrap();
        assert_eq!(w.session.ctl.log.len(), 2, "no scan after the failure");
    }
}

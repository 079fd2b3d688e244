//! `kleak watch`: sample until stopped, one compact line per sample, leak alerts between
//! the lines, a summary at the end.
//!
//! [`Watch`] is the loop's body, separate from sleeping and signals, so tests and
//! benchmarks drive it sample by sample.

use super::leaks::LeakWatch;
use super::{report_skipped, report_status};
use crate::figures::{movers, top_growers, Rank, Span, FIGURES, LINE_FIGURES, MOVERS, UNACCOUNTED};
use crate::kmsg::Kmsg;
use crate::limits::{HTTP_MAX_CONNS, KMSG_MAX_READS, MAX_PROCS_SHOWN, NAME_BYTES};
use crate::out::export::{csv_header, csv_process, csv_sample, prometheus, Extra, PromFile};
use crate::out::fmt::{Dur, Fit, Size};
use crate::out::http::Server;
use crate::out::ringlog::{LogOpts, RingLog};
use crate::out::summary;
use crate::out::view;
use crate::out::{alert, note, Closed, Line, Out};
use crate::outln;
use crate::procs::{Event as ProcEvent, Procs};
use crate::ring::Kind;
use crate::sample::{Root, Sampler};
use crate::sys::Errno;
use crate::table::Name;
use crate::tables::Tables;
use crate::trend::Policy;
use crate::verdict::{Alert, Source, Verdicts, PROC_FIGURES};
use crate::{sys, Error};
use core::fmt::Write;

/// Opens the ring log, or says in one line why it cannot be.
pub fn open_log(opts: LogOpts, now: f64) -> Result<RingLog, Error> {
    let path = opts.path.clone();
    RingLog::open(opts, now).map_err(|e| match e {
        Errno(libc::EEXIST) => {
            Error::env(format_args!("--log {path}: the file holds something else; not overwriting it"))
        }
        e => Error::env(format_args!("--log {path}: {e}")),
    })
}

/// The body of the watch loop.
pub struct Watch<R: Root> {
    /// The sampler, already holding the first sample.
    pub sampler: Sampler<R>,
    /// The leak verdicts.
    pub verdicts: Verdicts,
    /// The alerts of a sample on their way out (`batch.max`: lines per sample at most).
    pub batch: alert::Batch,
    /// A suspect leak of unreclaimable memory was reported (for `--exit-on-leak`).
    pub leak_seen: bool,
    reclaim_error_told: bool,
    /// A process table overflow was told.
    procs_overflow_told: bool,
    /// The ring log (`--log`).
    pub log: Option<RingLog>,
    /// The kernel log, read for OOM reports while there is a ring log to copy them to.
    pub kmsg: Option<Kmsg>,
    /// Where CSV rows go (`--csv`); the sample lines are not printed then.
    pub csv: Option<Out>,
    /// The Prometheus textfile (`--prom`).
    pub prom: Option<PromFile>,
    prom_error: Option<Errno>,
    /// Processes followed (`--pid`, `--procs`).
    pub procs: Option<Procs<R>>,
    /// Processes shown per sample with `--procs N` (every named one with `--pid`).
    pub procs_shown: usize,
    /// Slots of the processes shown in the latest sample, most grown first.
    shown: heapless::Vec<u16, MAX_PROCS_SHOWN>,
    /// Their PIDs (an exit or reused PID is told only for a process that was shown).
    shown_pids: heapless::Vec<u32, MAX_PROCS_SHOWN>,
    /// kmemleak's scan dances (`--kmemleak-every`); its groups are metrics too.
    pub kmemleak: Option<LeakWatch>,
    /// The metrics endpoint (`--listen`).
    pub server: Option<Server>,
    /// Seconds the latest [`Watch::step`] took to read, parse and judge its sample.
    pub sample_secs: f64,
    /// The latest kmemleak groups `--kmemleak-every` printed, with their rank as printed:
    /// named under a leak alert of the slab cache that holds their objects.
    /// At most [`crate::limits::LEAK_GROUPS_KEPT`], on the heap, allocated once: inline,
    /// their 40 KB made `Watch` that large, and every move of it touched 40 KB more of stack.
    pub leak_groups: Vec<(u32, crate::leaks::Group)>,
}

/// Keeps a kmemleak group just printed as new (the oldest goes when full).
fn remember_group(kept: &mut Vec<(u32, crate::leaks::Group)>, rank: u32, g: &crate::leaks::Group) {
    if kept.len() >= crate::limits::LEAK_GROUPS_KEPT {
        kept.remove(0);
    }
    kept.push((rank, g.clone()));
}

impl<R: Root> Watch<R> {
    /// A watch with the default alert policy over a sampler that has taken its first
    /// sample (at monotonic time 0 or whatever it was given).
    pub fn new(sampler: Sampler<R>) -> Self {
        Watch::with_policy(sampler, Policy::default(), false)
    }

    /// A watch with `policy`; `check_reclaim` confirms reclaimable suspects with
    /// drop_caches.
    pub fn with_policy(sampler: Sampler<R>, policy: Policy, check_reclaim: bool) -> Self {
        let mut w = Watch {
            sampler,
            verdicts: Verdicts::new(policy, check_reclaim),
            batch: alert::Batch::new(4),
            leak_seen: false,
            reclaim_error_told: false,
            procs_overflow_told: false,
            log: None,
            kmsg: None,
            csv: None,
            prom: None,
            prom_error: None,
            procs: None,
            procs_shown: 0,
            shown: heapless::Vec::new(),
            shown_pids: heapless::Vec::new(),
            kmemleak: None,
            server: None,
            sample_secs: 0.0,
            leak_groups: Vec::with_capacity(crate::limits::LEAK_GROUPS_KEPT),
        };
        let t = &w.sampler.tables;
        w.verdicts.update(t, t.times.cur, &mut |_: &Alert| {});
        w.drop_caches();
        w
    }

    /// Follows processes too: takes their first sample and starts judging them. `shown`:
    /// how many the lines show (`--procs N`); with named PIDs every one is shown. The
    /// first sample's events ([`Procs::events`]) say which named PIDs were not found.
    pub fn follow(&mut self, mut procs: Procs<R>, shown: usize) {
        let t = &self.sampler.tables;
        procs.sample(t.page_size);
        self.verdicts.follow_processes();
        let latest = procs.samples() - 1;
        self.verdicts.update_procs(procs.entries(), latest, t.times.cur, &mut |_: &Alert| {});
        self.procs = Some(procs);
        self.procs_shown = shown.min(MAX_PROCS_SHOWN);
        self.choose_shown();
    }

    /// Takes a sample at monotonic time `now`, prints its line and then its alerts; keeps
    /// the log, the Prometheus file and the kernel log up to date.
    pub fn step(&mut self, out: &mut Out, now: f64) -> Result<(), Closed> {
        let started = sys::monotonic_secs();
        self.sampler.sample(now);
        report_status(&mut self.sampler);
        if let Some(p) = self.procs.as_mut() {
            p.sample(self.sampler.tables.page_size);
            if !self.procs_overflow_told && (p.untracked + p.unlisted + p.events_dropped) > 0 {
                self.procs_overflow_told = true;
                note(format_args!(
                    "--procs: {} processes not tracked (MAX_PROCS {}), {} PIDs not looked at (MAX_PIDS_LISTED {}), {} events dropped (PROC_EVENTS {}): tables full, see src/limits.rs",
                    p.untracked,
                    crate::limits::MAX_PROCS,
                    p.unlisted,
                    crate::limits::MAX_PIDS_LISTED,
                    p.events_dropped,
                    crate::limits::PROC_EVENTS
                ));
            }
        }
        // Events are told for the processes shown before this sample; rows and lines show
        // the ones shown now.
        let was_shown = self.shown_pids.clone();
        self.choose_shown();
        self.line(out)?;
        self.proc_events(out, &was_shown)?;
        self.proc_lines(out)?;
        let r = self.judge(out, now);
        self.sample_secs = sys::monotonic_secs() - started;
        self.kernel(now);
        self.keep(now);
        r
    }

    /// Judges the latest sample and prints its alerts: every one in JSON; on a console the
    /// `max_alerts` most severe, and "+N more" for the rest. Every alert goes to the log.
    pub fn judge(&mut self, out: &mut Out, now: f64) -> Result<(), Closed> {
        let Watch { sampler, verdicts, batch, leak_seen, log, procs, .. } = self;
        let mut r = Ok(());
        let mut sink = |a: &Alert| {
            *leak_seen |= a.is_leak();
            if let Some(log) = log.as_mut() {
                log.alert(a, now);
            }
            r = core::mem::replace(&mut r, Ok(())).and(batch.add(out, a));
        };
        verdicts.update(&sampler.tables, now, &mut sink);
        if let Some(p) = procs.as_ref() {
            verdicts.update_procs(p.entries(), p.samples() - 1, now, &mut sink);
        }
        self.drop_caches();
        r?;
        if let Some(e) = self.verdicts.reclaim_error.filter(|_| !self.reclaim_error_told) {
            self.reclaim_error_told = true;
            note(format_args!("--check-reclaim: writing /proc/sys/vm/drop_caches failed: {e}; not checking again"));
        }
        let Watch { batch, leak_groups, .. } = self;
        batch.flush(out, |out, a| kmemleak_groups_for(out, a, leak_groups))
    }

    /// Writes drop_caches when the verdicts ask for it (`--check-reclaim`) and tells them
    /// how it went.
    fn drop_caches(&mut self) {
        if self.verdicts.drop_caches_wanted() {
            let r = self.sampler.root().write("/proc/sys/vm/drop_caches", b"2");
            self.verdicts.drop_caches_done(r);
        }
    }

    /// Reads the kernel log (with a ring log only): an OOM report is copied into the log
    /// as it is printed, followed by a sample, and flushed.
    pub fn kernel(&mut self, now: f64) {
        let (Some(k), Some(log)) = (self.kmsg.as_mut(), self.log.as_mut()) else { return };
        if log
            .kernel(now, |f| {
                k.drain(KMSG_MAX_READS, f);
            })
            .new_report
        {
            let procs = self.procs.as_ref();
            let shown = &self.shown;
            log.sample(&self.sampler.tables, now, &mut |j| proc_fields(j, procs, shown));
        }
    }

    /// After a sample: the log's periodic sample and flush, the Prometheus file.
    /// [`Watch::step`] calls it; call it once after the first sample too.
    pub fn keep(&mut self, now: f64) {
        let t = &self.sampler.tables;
        if let Some(log) = self.log.as_mut() {
            if log.sample_due(now) {
                let (procs, shown) = (self.procs.as_ref(), &self.shown);
                log.sample(t, now, &mut |j| proc_fields(j, procs, shown));
            }
            log.end_sample(now);
        }
        let Some(mut prom) = self.prom.take() else { return };
        match prom.write(|f| self.metrics(f)) {
            Ok(()) => self.prom_error = None,
            Err(e) => {
                if self.prom_error.is_none() {
                    note(format_args!("--prom: {e}; trying again each sample"));
                }
                self.prom_error = Some(e);
            }
        }
        self.prom = Some(prom);
    }

    /// The latest sample's metrics in Prometheus text format: what `--prom` files hold and
    /// what `--listen` serves.
    pub fn metrics(&self, w: &mut impl Write) {
        // Processes are named `comm[pid] figure` here, as in alerts.
        let mut names: heapless::Vec<Name<NAME_BYTES>, MAX_PROCS_SHOWN> = heapless::Vec::new();
        if let Some(p) = self.procs.as_ref() {
            for (slot, f) in self.verdicts.process_suspects() {
                let mut n = p.entries()[slot].label();
                let _ = write!(n, " {}", PROC_FIGURES[f]);
                let _ = names.push(Name::new(n.as_bytes()).0);
            }
        }
        fn pair<'s>(p: (&'static str, &'s str)) -> (&'s str, &'s str) {
            p
        }
        let t = &self.sampler.tables;
        let suspects = self.verdicts.suspects(t).map(pair).chain(names.iter().map(|n| ("process", n.as_str())));
        let kmemleak = self.kmemleak.as_ref().map(|k| &k.groups);
        prometheus(w, t, Extra { suspects, kmemleak, sample_secs: self.sample_secs });
    }

    /// Waits `secs` seconds before the next sample, reading the kernel log as it is
    /// written (an OOM report reaches the ring log at once, not at the next sample) and
    /// serving `--listen`'s requests as they come. A stand-in for /dev/kmsg that says end of
    /// file (a test's regular file) is looked at every second instead. False when a stop
    /// was requested.
    pub fn rest(&mut self, secs: f64) -> bool {
        let end = sys::monotonic_secs() + secs;
        let mut look_at = sys::monotonic_secs() + 1.0;
        loop {
            let now = sys::monotonic_secs();
            let mut wait = end - now;
            let mut fds: heapless::Vec<sys::PollFd, { HTTP_MAX_CONNS + 2 }> = heapless::Vec::new();
            let kmsg = self.kmsg.as_ref().filter(|_| self.log.is_some());
            match kmsg {
                Some(k) if k.at_eof => wait = wait.min(look_at - now),
                Some(k) => {
                    let _ = fds.push(sys::PollFd { fd: k.file().fd(), events: sys::POLLIN, revents: 0 });
                }
                None => {}
            }
            if let Some(s) = &self.server {
                s.fds(&mut fds, now);
                wait = s.next_deadline().map_or(wait, |d| wait.min(d - now));
            }
            let polled = sys::poll(&mut fds, wait.max(0.0));
            if sys::stop_requested() {
                return false;
            }
            if polled.is_err() {
                // A poll that fails would fail again at once: look again in a second.
                sys::sleep(wait.clamp(0.0, 1.0));
            }
            let now = sys::monotonic_secs();
            let kmsg_due = match kmsg {
                Some(k) if k.at_eof => now >= look_at,
                Some(_) => polled.is_err() || fds[0].revents != 0,
                None => false,
            };
            if kmsg_due {
                look_at = now + 1.0;
                self.kernel(now);
                if let Some(log) = self.log.as_mut() {
                    log.end_sample(now);
                }
            }
            if let Some(mut s) = self.server.take() {
                let cut = s.stats.cut;
                s.serve(&fds, now, self.sampler.tables.samples, |b| self.metrics(b));
                if cut == 0 && s.stats.cut > 0 {
                    note(format_args!(
                        "--listen: metrics cut at {} KiB: raise HTTP_BODY_BYTES in src/limits.rs",
                        crate::limits::HTTP_BODY_BYTES / 1024
                    ));
                }
                self.server = Some(s);
            }
            if now >= end {
                return true;
            }
        }
    }

    /// The processes shown: every named one alive, or the `procs_shown` whose RSS grew
    /// most since they were first seen.
    fn choose_shown(&mut self) {
        self.shown.clear();
        self.shown_pids.clear();
        let Some(p) = self.procs.as_ref() else { return };
        let entries = p.entries();
        let grown = |i: u16| entries[i as usize].cur.rss - entries[i as usize].base.rss;
        for (i, _) in entries.iter().enumerate().filter(|(_, e)| e.alive) {
            let i = i as u16;
            if p.named() {
                let _ = self.shown.push(i);
                continue;
            }
            let g = grown(i);
            if g <= 0 {
                continue;
            }
            let pos = self.shown.iter().position(|&j| grown(j) < g).unwrap_or(self.shown.len());
            if pos < self.procs_shown {
                if self.shown.len() == self.procs_shown {
                    self.shown.pop();
                }
                let _ = self.shown.insert(pos, i);
            }
        }
        for &i in &self.shown {
            let _ = self.shown_pids.push(entries[i as usize].pid);
        }
    }

    /// Prints (and logs) the processes' events of the latest sample: exits and reused
    /// PIDs of named or shown processes, named PIDs not found.
    fn proc_events(&mut self, out: &mut Out, was_shown: &[u32]) -> Result<(), Closed> {
        let Some(p) = self.procs.as_ref() else { return Ok(()) };
        let t = &self.sampler.tables;
        for ev in p.events() {
            let pid = match *ev {
                ProcEvent::Exited { pid, .. }
                | ProcEvent::Reused { pid, .. }
                | ProcEvent::Renamed { pid, .. }
                | ProcEvent::NotFound { pid } => pid,
            };
            if !p.named() && !was_shown.contains(&pid) {
                continue;
            }
            let mut l = Line::default();
            event_json(&mut l, ev, t.times.elapsed());
            if let Some(log) = self.log.as_mut() {
                log.append(Kind::Note, l.as_bytes(), t.times.cur);
            }
            if out.style.json {
                let _ = out.line().write_str(l.as_str());
                out.emit()?;
                continue;
            }
            let _ = write!(out.line(), "{:>6} process ", Dur(t.times.elapsed()));
            match *ev {
                ProcEvent::Exited { pid, comm } => outln!(out, "{}[{pid}] exited", comm.as_str())?,
                ProcEvent::Reused { pid, old, new } => {
                    outln!(out, "{}[{pid}] exited; PID {pid} is {} now", old.as_str(), new.as_str())?
                }
                ProcEvent::Renamed { pid, old, new } => {
                    outln!(out, "pid {pid} is now {} (was {}: exec)", new.as_str(), old.as_str())?
                }
                ProcEvent::NotFound { pid } => outln!(out, "{pid}: no such process (or a kernel thread)")?,
            }
        }
        Ok(())
    }

    /// Prints the shown processes: in text one line of those whose RSS changed since the
    /// sample before (largest change first, cut to the width), in JSON one object each.
    pub fn proc_lines(&self, out: &mut Out) -> Result<(), Closed> {
        let Some(p) = self.procs.as_ref() else { return Ok(()) };
        let t = &self.sampler.tables;
        let entries = p.entries();
        if out.style.json {
            for &i in &self.shown {
                let e = &entries[i as usize];
                let mut j = out.line().json("process");
                j.u64("seq", t.samples as u64).f64("elapsed_secs", t.times.elapsed());
                j.u64("pid", e.pid as u64).str("comm", e.comm.as_str());
                j.i64("rss_bytes", e.cur.rss).i64("data_bytes", e.cur.data).i64("vm_bytes", e.cur.vm);
                j.i64("d_rss_bytes", e.cur.rss - e.prev.rss).i64("grown_rss_bytes", e.cur.rss - e.base.rss).end();
                out.emit()?;
            }
            return Ok(());
        }
        if self.csv.is_some() {
            return Ok(());
        }
        let d = |i: u16| (entries[i as usize].cur.rss - entries[i as usize].prev.rss).unsigned_abs();
        let mut moved: heapless::Vec<u16, MAX_PROCS_SHOWN> = self.shown.iter().copied().filter(|&i| d(i) > 0).collect();
        if moved.is_empty() {
            return Ok(());
        }
        crate::table::sort_by(&mut moved, |&a, &b| d(a) > d(b));
        let (h, width) = (out.style.human, out.style.width);
        let _ = write!(out.line(), "{:>6} rss", Dur(t.times.elapsed()));
        let mut sep = "";
        for &i in &moved {
            let e = &entries[i as usize];
            let before = out.line().len();
            let delta = Size::delta(e.cur.rss - e.prev.rss, h);
            let _ = write!(out.line(), "{sep} {delta} {} {}", e.label(), Size::of(e.cur.rss, h));
            if out.line().len() > width {
                out.line().truncate(before);
                break;
            }
            sep = ",";
        }
        out.emit()
    }

    /// Prints the line for the latest sample (CSV rows with `--csv`).
    pub fn line(&mut self, out: &mut Out) -> Result<(), Closed> {
        if let Some(csv) = self.csv.as_mut() {
            let t = &self.sampler.tables;
            csv_sample(csv, t)?;
            if let Some(p) = self.procs.as_ref() {
                for &i in &self.shown {
                    csv_process(csv, t.times.elapsed(), &p.entries()[i as usize])?;
                }
            }
            return Ok(());
        }
        let t = &self.sampler.tables;
        let movers = line_movers(t);
        if out.style.json {
            return sample_json(out, t, &movers);
        }
        let h = out.style.human;
        let width = out.style.width;
        let _ = write!(out.line(), "{:>6}", Dur(t.times.elapsed()));
        for (label, key, _) in &FIGURES[..LINE_FIGURES] {
            if let Some(g) = t.meminfo.get(key) {
                let _ = write!(out.line(), " {label} {} {}", Size::of(g.cur, h), Size::delta(g.cur - g.prev, h));
            }
        }
        let mut sep = " |";
        for &(i, d) in &movers {
            let e = &t.slab.entries()[i as usize];
            let before = out.line().len();
            let _ = write!(out.line(), "{sep} {} ", Size::delta(d, h));
            // The name goes last, shortened to what is left of the line.
            let room = width.saturating_sub(out.line().len());
            if room < 6 {
                out.line().truncate(before);
                break;
            }
            let _ = write!(out.line(), "{}", Fit::cut(e.name.as_str(), room));
            sep = ",";
        }
        out.emit()
    }

    /// The closing summary: totals since start and the caches that grew most.
    pub fn summary(&self, out: &mut Out) -> Result<(), Closed> {
        let t = &self.sampler.tables;
        if out.style.json {
            let v = self.verdicts.tally;
            return summary(out, "watch", t, |j| {
                j.f64("elapsed_secs", t.times.elapsed());
                alert::tally_json(j, &v);
                for (_, key, dkey) in &FIGURES[..LINE_FIGURES] {
                    if let Some(g) = t.meminfo.get(key) {
                        j.i64(key, g.cur).i64(dkey, g.cur - g.base);
                    }
                }
                if let Some(p) = &self.procs {
                    j.u64("processes", p.entries().iter().filter(|e| e.alive).count() as u64);
                }
                if let Some(l) = &self.log {
                    j.str("log", &l.opts().path.to_string())
                        .u64("log_records", l.records)
                        .u64("log_records_lost", l.lost);
                    j.u64("log_syncs", l.syncs).u64("oom_reports", l.ooms as u64);
                }
                if let Some(s) = &self.server {
                    j.u64("scrapes", s.stats.served).u64("scrapes_refused", s.stats.refused + s.stats.busy);
                    j.u64("scrapes_dropped", s.stats.dropped);
                }
            });
        }
        let h = out.style.human;
        let mut since: heapless::String<96> = heapless::String::new();
        let _ = since.push_str("since start:");
        for (label, key, _) in &FIGURES[..LINE_FIGURES] {
            if let Some(g) = t.meminfo.get(key) {
                let _ = write!(since, " {label} {}", Size::delta(g.cur - g.base, h));
            }
        }
        let _ = write!(out.line(), "kleak watch: {} samples over {};", t.samples, Dur(t.times.elapsed()));
        // Two lines when one would not fit the console.
        if out.line().len() + 1 + since.len() > out.style.width {
            out.emit()?;
        } else {
            let _ = out.line().write_char(' ');
        }
        outln!(out, "{since}")?;
        let v = self.verdicts.tally;
        if v.suspect + v.recovered > 0 {
            alert::tally_line(out, &v)?;
        }
        if let Some(l) = &self.log {
            let lost = l.lost;
            outln!(out, "log {}: {} records ({lost} lost), {} flushes", l.opts().path, l.records, l.syncs)?;
        }
        if let Some(s) = &self.server {
            let st = s.stats;
            let (refused, dropped) = (st.refused + st.busy, st.dropped);
            outln!(out, "--listen: {} scrapes served, {refused} refused, {dropped} dropped", st.served)?;
        }
        let grown = top_growers(&t.slab, 5, Rank::Bytes, Span::SinceStart);
        if !grown.is_empty() {
            outln!(out, "grew most since start:")?;
            view::delta_header(out, false, false)?;
            for &i in &grown {
                view::delta_row(out, &t.slab.entries()[i as usize], Span::SinceStart, 0.0, None)?;
            }
        }
        Ok(())
    }
}

/// Behind every alert line the console shows: when a slab cache is a suspect leak (new or
/// reminded), the
/// kmemleak groups (`--kmemleak-every`) whose objects it can hold, one line each
/// ([`crate::leaks::in_cache`]: a kmalloc bucket holds kmalloc groups of its size class,
/// a named cache the own-cache groups of its object size).
pub fn kmemleak_groups_for(out: &mut Out, a: &Alert, groups: &[(u32, crate::leaks::Group)]) -> Result<(), Closed> {
    // A new suspect or a reminder: kmemleak's groups usually come after the first alert.
    let suspect = matches!(a.state, crate::trend::Change::Suspect | crate::trend::Change::Reminder);
    if out.style.json || a.source != Source::Slab || a.severity != crate::verdict::Severity::Leak || !suspect {
        return Ok(());
    }
    for (rank, g) in groups {
        if crate::leaks::in_cache(g, a.name.as_str(), a.objsize as u64) {
            let site = Fit::cut(g.site(), 40);
            outln!(out, "       kmemleak group #{rank}: {} objects, {site}", g.objects)?;
        }
    }
    Ok(())
}

/// The shown processes' RSS in a logged sample: `"rss":{"comm[pid]":bytes}`.
fn proc_fields<R: Root>(j: &mut crate::out::Json<'_>, procs: Option<&Procs<R>>, shown: &[u16]) {
    let Some(p) = procs else { return };
    j.open("rss");
    for &i in shown {
        let e = &p.entries()[i as usize];
        j.i64(e.label().as_str(), e.cur.rss);
    }
    j.close();
}

/// A process event as its JSON object (`{"kind":"process-event",…}`).
fn event_json(l: &mut Line, ev: &ProcEvent, elapsed: f64) {
    let mut j = l.json("process-event");
    match *ev {
        ProcEvent::Exited { pid, comm } => j.str("event", "exited").u64("pid", pid as u64).str("comm", comm.as_str()),
        ProcEvent::Reused { pid, old, new } => {
            j.str("event", "reused").u64("pid", pid as u64).str("comm", old.as_str()).str("new_comm", new.as_str())
        }
        ProcEvent::Renamed { pid, old, new } => {
            j.str("event", "exec").u64("pid", pid as u64).str("comm", old.as_str()).str("new_comm", new.as_str())
        }
        ProcEvent::NotFound { pid } => j.str("event", "not-found").u64("pid", pid as u64),
    };
    j.f64("elapsed_secs", elapsed).end();
}

/// The caches that changed most since the sample before, either way.
fn line_movers(t: &Tables) -> heapless::Vec<(u16, i64), MOVERS> {
    let entries = t.slab.entries();
    movers(entries.len(), |i| {
        let e = &entries[i];
        if e.shown {
            e.cur.bytes() as i64 - e.prev.bytes() as i64
        } else {
            0
        }
    })
}

fn sample_json(out: &mut Out, t: &Tables, movers: &[(u16, i64)]) -> Result<(), Closed> {
    let mut j = out.line().json("sample");
    j.u64("seq", t.samples as u64).f64("elapsed_secs", t.times.elapsed());
    for (_, key, dkey) in &FIGURES[..LINE_FIGURES] {
        if let Some(g) = t.meminfo.get(key) {
            j.i64(key, g.cur).i64(dkey, g.cur - g.prev);
        }
    }
    j.open("movers");
    for &(i, d) in movers {
        j.i64(t.slab.entries()[i as usize].name.as_str(), d);
    }
    j.close().end();
    out.emit()
}

/// Why a watch ended, as the ring log's `stop` record says it.
fn stop_reason(exit_on_leak: bool, closed: bool) -> &'static str {
    if closed {
        "output closed"
    } else if sys::stop_requested() {
        sys::signal_name(sys::stop_signal())
    } else if exit_on_leak {
        "exit-on-leak"
    } else {
        "count"
    }
}

/// How long a watch runs: [`Watch::run`]'s pace and end.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Seconds between samples (`--interval`).
    pub interval: f64,
    /// Samples to take, the first included (`--count`); none: until stopped.
    pub count: Option<u64>,
    /// Stop at the first suspect leak (`--exit-on-leak`).
    pub exit_on_leak: bool,
}

impl<R: Root> Watch<R> {
    /// Tells the user what the lines will show (text only).
    fn header(&self, out: &mut Out, interval: f64) -> Result<(), Closed> {
        if out.style.json {
            return Ok(());
        }
        let t = &self.sampler.tables;
        let caches = t.slab.entries().iter().filter(|e| e.presence.now && e.shown).count();
        outln!(out, "kleak watch: every {}, {caches} caches; Ctrl-C or SIGTERM stops", Dur(interval))?;
        outln!(out, "columns: elapsed, Slab, SUnreclaim, {UNACCOUNTED} (+change), biggest movers")?;
        let (h, p) = (out.style.human, self.verdicts.policy);
        outln!(
            out,
            "verdicts: steady growth over {} of {} or more, {}/s or more",
            Dur(p.window_secs),
            Size::of(p.min_growth as i64, h),
            Size::of(p.min_rate as i64, h)
        )?;
        if let Some(l) = &self.log {
            let o = l.opts();
            outln!(out, "log: {}, a sample every {}, flushed every {}", o.path, Dur(o.every_secs), Dur(o.sync_secs))?;
        }
        Ok(())
    }

    /// kmemleak's scan dance, a step when due (`--kmemleak-every`): groups printed as new
    /// are kept for the alerts of their cache and go to the ring log.
    fn kmemleak_step(&mut self, out: &mut Out) -> Result<(), Closed> {
        let Some(k) = self.kmemleak.as_mut() else { return Ok(()) };
        k.poll(out, self.sampler.tables.times.elapsed(), sys::monotonic_secs(), &self.sampler.tables)?;
        for &(i, rank) in &k.fresh {
            remember_group(&mut self.leak_groups, rank, &k.groups.all()[i as usize]);
        }
        match self.log.as_mut() {
            Some(log) => k.log_fresh(log, sys::monotonic_secs()),
            None => k.fresh.clear(),
        }
        Ok(())
    }

    /// The whole watch after its first sample: the header, the first line, then a sample
    /// every `pace.interval` until the count, a stop signal or (with `exit_on_leak`) a
    /// suspect leak; then the log's `stop` record and the summary.
    pub fn run(&mut self, out: &mut Out, pace: Pace) -> Result<(), Closed> {
        let r = (|| -> Result<(), Closed> {
            self.header(out, pace.interval)?;
            if let Some(csv) = self.csv.as_mut() {
                csv_header(csv)?;
            }
            self.line(out)?;
            self.proc_lines(out)?;
            self.keep(sys::monotonic_secs());
            let mut n = 1;
            loop {
                self.kmemleak_step(out)?;
                if pace.exit_on_leak && self.leak_seen {
                    break;
                }
                if pace.count.is_some_and(|c| n >= c) || !self.rest(pace.interval) {
                    break;
                }
                self.step(out, sys::monotonic_secs())?;
                n += 1;
            }
            Ok(())
        })();
        if let Some(k) = self.kmemleak.as_mut() {
            k.end();
        }
        let (elapsed, samples) = (self.sampler.tables.times.elapsed(), self.sampler.tables.samples);
        if let Some(log) = self.log.as_mut() {
            let now = sys::monotonic_secs();
            let why = stop_reason(pace.exit_on_leak && self.leak_seen, r.is_err());
            let lost = log.lost;
            log.json(Kind::Stop, "stop", now, &mut |j| {
                j.str("reason", why).u64("samples", samples as u64).f64("elapsed_secs", elapsed);
                j.u64("records_lost", lost);
            });
            log.sync(now);
        }
        let r = r.and_then(|()| self.summary(out));
        if !out.style.json {
            report_skipped(&self.sampler.tables);
        }
        r
    }
}

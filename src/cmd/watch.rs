//! `kleak watch`: sample until stopped, one compact line per sample, leak alerts between
//! the lines, a summary at the end.
//!
//! [`Watch`] is the loop's body, separate from sleeping and signals, so tests and
//! benchmarks drive it sample by sample.

use super::{report_skipped, report_status, start, summary};
use crate::cli::{parse_duration, parse_minutes, parse_size, Ctx};
use crate::figures::UNACCOUNTED;
use crate::limits::MAX_ALERTS_SHOWN;
use crate::out::fmt::{Dur, Fit, Size};
use crate::out::view::{self, Span};
use crate::out::{alert, note, Closed, Out};
use crate::outln;
use crate::sample::{Root, Sampler, Tables};
use crate::table::SlabEntry;
use crate::trend::{Policy, MIN_POINTS};
use crate::verdict::{Alert, Source, Verdicts};
use crate::{sys, Error, Exit};
use argh::FromArgs;
use core::fmt::Write;

/// sample until stopped (Ctrl-C), one line per sample; the default command
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "watch",
    example = "one line every 10 s for an hour:\n  $ kleak watch --interval 10 --count 360",
    example = "stop with exit code 1 at the first suspect leak:\n  $ kleak watch --window 5m --exit-on-leak",
    note = "Alert lines start with `kleak: LEAK` (memory the kernel keeps) or\n`kleak: GROW` (reclaimable memory); the README documents their format."
)]
pub struct WatchArgs {
    /// seconds between samples (fractions allowed; 0 = back to back; default 5)
    #[argh(option, default = "5.0", from_str_fn(parse_duration))]
    pub interval: f64,
    /// stop after N samples (default: until Ctrl-C or SIGTERM)
    #[argh(option)]
    pub count: Option<u64>,
    /// history a verdict looks at: 90s, 10m, 1h or plain seconds (default 10m)
    #[argh(option, default = "Policy::WINDOW_SECS", from_str_fn(parse_duration))]
    pub window: f64,
    /// growth over the window worth an alert: 256K, 4M or plain bytes (default 256K)
    #[argh(option, default = "Policy::MIN_GROWTH", from_str_fn(parse_size))]
    pub min_growth: u64,
    /// growth per second worth an alert, e.g. 1K (default 64 bytes/s)
    #[argh(option, default = "Policy::MIN_RATE as u64", from_str_fn(parse_size))]
    pub min_rate: u64,
    /// time between reminders while an entry stays suspect: minutes, or 90s, 1h (default 30)
    #[argh(option, default = "Policy::REMIND_SECS", from_str_fn(parse_minutes))]
    pub remind: f64,
    /// alert lines per sample at most, the rest summed up as "+N more" (default 4)
    #[argh(option, default = "4")]
    pub max_alerts: usize,
    /// stop at the first suspect leak and exit with code 1
    #[argh(switch)]
    pub exit_on_leak: bool,
    /// root: confirm a reclaimable suspect by writing 2 to /proc/sys/vm/drop_caches
    #[argh(switch)]
    pub check_reclaim: bool,
    /// also run the kmemleak scan dance every S seconds; print leaks not seen before
    #[argh(option, from_str_fn(parse_duration))]
    pub kmemleak_every: Option<f64>,
}

impl WatchArgs {
    /// The alert policy these arguments ask for.
    pub fn policy(&self) -> Policy {
        Policy::new(self.window, self.min_growth, self.min_rate, self.remind)
    }
}

impl Default for WatchArgs {
    fn default() -> Self {
        WatchArgs {
            interval: 5.0,
            count: None,
            window: Policy::WINDOW_SECS,
            min_growth: Policy::MIN_GROWTH,
            min_rate: Policy::MIN_RATE as u64,
            remind: Policy::REMIND_SECS,
            max_alerts: 4,
            exit_on_leak: false,
            check_reclaim: false,
            kmemleak_every: None,
        }
    }
}

/// Movers shown per line at most (the line's width usually allows fewer).
const MOVERS: usize = 4;

/// The meminfo figures a watch line follows: (label, meminfo key).
const FIGURES: [(&str, &str); 3] = [("slab", "Slab"), ("unrecl", "SUnreclaim"), ("unacct", UNACCOUNTED)];

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
        };
        let (t, root) = (&w.sampler.tables, w.sampler.root());
        w.verdicts.update(t, Some(root), t.times.cur, &mut |_: &Alert| {});
        w
    }

    /// Takes a sample at monotonic time `now`, prints its line and then its alerts.
    pub fn step(&mut self, out: &mut Out, now: f64) -> Result<(), Closed> {
        self.sampler.sample(now);
        report_status(&mut self.sampler);
        self.line(out)?;
        self.judge(out, now)
    }

    /// Judges the latest sample and prints its alerts: every one in JSON; on a console the
    /// `max_alerts` most severe, and "+N more" for the rest.
    pub fn judge(&mut self, out: &mut Out, now: f64) -> Result<(), Closed> {
        let Watch { sampler, verdicts, batch, leak_seen, .. } = self;
        let mut r = Ok(());
        verdicts.update(&sampler.tables, Some(sampler.root()), now, &mut |a: &Alert| {
            *leak_seen |= a.is_leak();
            r = r.and(batch.add(out, a));
        });
        r?;
        if let Some(e) = verdicts.reclaim_error.filter(|_| !self.reclaim_error_told) {
            self.reclaim_error_told = true;
            note(format_args!("--check-reclaim: writing /proc/sys/vm/drop_caches failed: {e}; not checking again"));
        }
        self.batch.flush(out, kmemleak_groups_for)
    }

    /// Prints the line for the latest sample.
    pub fn line(&self, out: &mut Out) -> Result<(), Closed> {
        let t = &self.sampler.tables;
        let movers = movers(t);
        if out.style.json {
            return sample_json(out, t, &movers);
        }
        let h = out.style.human;
        let width = out.style.width;
        let _ = write!(out.line(), "{:>6}", Dur(t.times.elapsed()));
        for (label, key) in FIGURES {
            if let Some(g) = t.meminfo.get(key) {
                let _ = write!(out.line(), " {label} {} {}", Size::of(g.cur, h), Size::delta(g.cur - g.prev, h));
            }
        }
        let mut sep = " |";
        for &i in &movers {
            let e = &t.slab.entries()[i as usize];
            let before = out.line().len();
            let _ = write!(out.line(), "{sep} {} ", Size::delta(delta(e), h));
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
                j.u64("alerts_suspect", v.suspect as u64)
                    .u64("alerts_reminder", v.reminder as u64)
                    .u64("alerts_recovered", v.recovered as u64)
                    .u64("leaks", v.leaks as u64);
                for (_, key) in FIGURES {
                    if let Some(g) = t.meminfo.get(key) {
                        j.i64(key, g.cur).i64(summary_delta_key(key), g.cur - g.base);
                    }
                }
            });
        }
        let h = out.style.human;
        let _ = write!(out.line(), "kleak watch: {} samples over {}; since start:", t.samples, Dur(t.times.elapsed()));
        for (label, key) in FIGURES {
            if let Some(g) = t.meminfo.get(key) {
                let _ = write!(out.line(), " {label} {}", Size::delta(g.cur - g.base, h));
            }
        }
        out.emit()?;
        let v = self.verdicts.tally;
        if v.suspect + v.recovered > 0 {
            outln!(
                out,
                "alerts: {} suspect ({} leaks), {} reminders, {} recovered",
                v.suspect,
                v.leaks,
                v.reminder,
                v.recovered
            )?;
        }
        let grown = crate::cmd::top::top_growers(t, 5, Span::SinceStart);
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

/// Hook for `--kmemleak-every` (the kmemleak issue): called behind every alert line the
/// console shows. When a slab cache is a suspect leak (`a.source == Source::Slab &&
/// a.is_leak()`), the kmemleak groups whose objects live in it belong on the lines below
/// it: `a.objsize` is the cache's object size, the kmemleak side maps an object size to its
/// groups (`figures::kmalloc_class` names the size class). Prints nothing until that lands.
pub fn kmemleak_groups_for(_out: &mut Out, a: &Alert) -> Result<(), Closed> {
    let _suspect_cache = a.source == Source::Slab && a.is_leak();
    Ok(())
}

fn summary_delta_key(key: &str) -> &'static str {
    match key {
        "Slab" => "d_Slab",
        "SUnreclaim" => "d_SUnreclaim",
        _ => "d_Unaccounted",
    }
}

fn delta(e: &SlabEntry) -> i64 {
    e.cur.bytes() as i64 - e.prev.bytes() as i64
}

/// The caches that changed most since the sample before, either way.
fn movers(t: &Tables) -> heapless::Vec<u16, MOVERS> {
    let mut best: heapless::Vec<u16, MOVERS> = heapless::Vec::new();
    let entries = t.slab.entries();
    for (i, e) in entries.iter().enumerate() {
        let d = delta(e).unsigned_abs();
        if d == 0 || !e.shown {
            continue;
        }
        // Keep the MOVERS largest, sorted, by insertion.
        let pos = best.iter().position(|&j| delta(&entries[j as usize]).unsigned_abs() < d).unwrap_or(best.len());
        if pos < MOVERS {
            if best.is_full() {
                best.pop();
            }
            let _ = best.insert(pos, i as u16);
        }
    }
    best
}

fn sample_json(out: &mut Out, t: &Tables, movers: &[u16]) -> Result<(), Closed> {
    let mut j = out.line().json("sample");
    j.u64("seq", t.samples as u64).f64("elapsed_secs", t.times.elapsed());
    for (_, key) in FIGURES {
        if let Some(g) = t.meminfo.get(key) {
            j.i64(key, g.cur).i64(summary_delta_key(key), g.cur - g.prev);
        }
    }
    j.open("movers");
    for &i in movers {
        let e = &t.slab.entries()[i as usize];
        j.i64(e.name.as_str(), delta(e));
    }
    j.close().end();
    out.emit()
}

/// Checks the verdict options: one line naming the bad one.
pub fn check_args(args: &WatchArgs, live: bool) -> Result<(), Error> {
    if args.window < 1.0 {
        return Err(Error::usage("--window must be at least 1s"));
    }
    if args.max_alerts == 0 || args.max_alerts > MAX_ALERTS_SHOWN {
        return Err(Error::usage(format_args!("--max-alerts must be 1 to {MAX_ALERTS_SHOWN}")));
    }
    if args.check_reclaim && live && sys::euid() != 0 {
        return Err(Error::env("--check-reclaim writes /proc/sys/vm/drop_caches: run kleak as root"));
    }
    Ok(())
}

/// Runs `kleak watch`.
pub fn run(ctx: &mut Ctx, args: &WatchArgs) -> Result<Exit, Error> {
    check_args(args, ctx.root.is_live())?;
    if args.interval > 0.0 && args.window / args.interval < MIN_POINTS as f64 {
        note(format_args!(
            "--window {} holds fewer than {MIN_POINTS} samples at --interval {}: no verdict can be reached",
            Dur(args.window),
            Dur(args.interval)
        ));
    }
    let s = start(ctx)?;
    let mut kl = args.kmemleak_every.map(|every| crate::cmd::leaks::LeakWatch::open(ctx, every)).transpose()?;
    let mut w = Watch::with_policy(s, args.policy(), args.check_reclaim);
    w.batch.max = args.max_alerts;
    let out = &mut ctx.out;
    let r = (|| -> Result<(), Closed> {
        if !out.style.json {
            let t = &w.sampler.tables;
            let caches = t.slab.entries().iter().filter(|e| e.presence.now && e.shown).count();
            outln!(out, "kleak watch: every {}, {caches} caches; Ctrl-C or SIGTERM stops", Dur(args.interval))?;
            outln!(out, "columns: elapsed, Slab, SUnreclaim, {UNACCOUNTED} (+change), biggest movers")?;
            let h = out.style.human;
            outln!(
                out,
                "verdicts: steady growth over {} of {} or more, {}/s or more",
                Dur(args.window),
                Size::of(args.min_growth as i64, h),
                Size::of(args.min_rate as i64, h)
            )?;
        }
        w.line(out)?;
        let mut n = 1;
        loop {
            if let Some(k) = kl.as_mut() {
                k.poll(out, w.sampler.tables.times.elapsed(), sys::monotonic_secs())?;
            }
            if args.exit_on_leak && w.leak_seen {
                break;
            }
            if args.count.is_some_and(|c| n >= c) || !sys::sleep(args.interval) {
                break;
            }
            w.step(out, sys::monotonic_secs())?;
            n += 1;
        }
        w.summary(out)
    })();
    if let Some(k) = kl.as_mut() {
        k.end();
    }
    if !out.style.json {
        report_skipped(&w.sampler.tables);
    }
    match r {
        Ok(()) | Err(Closed) if args.exit_on_leak && w.leak_seen => Ok(Exit::Leak),
        Ok(()) | Err(Closed) => Ok(Exit::Ok),
    }
}

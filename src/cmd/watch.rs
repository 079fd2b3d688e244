//! `kleak watch`: sample until stopped, one compact line per sample, a summary at the end.
//!
//! [`Watch`] is the loop's body, separate from sleeping and signals, so tests and
//! benchmarks drive it sample by sample.

use super::{report_skipped, report_status, start, summary};
use crate::cli::{parse_duration, Ctx};
use crate::figures::UNACCOUNTED;
use crate::out::fmt::{Dur, Fit, Size};
use crate::out::view::{self, Span};
use crate::out::{Closed, Out};
use crate::outln;
use crate::sample::{Root, Sampler, Tables};
use crate::table::SlabEntry;
use crate::{sys, Error, Exit};
use argh::FromArgs;
use core::fmt::Write;

/// sample until stopped (Ctrl-C), one line per sample; the default command
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "watch",
    example = "one line every 10 s for an hour:\n  $ kleak watch --interval 10 --count 360"
)]
pub struct WatchArgs {
    /// seconds between samples (fractions allowed; 0 = back to back; default 5)
    #[argh(option, default = "5.0", from_str_fn(parse_duration))]
    pub interval: f64,
    /// stop after N samples (default: until Ctrl-C or SIGTERM)
    #[argh(option)]
    pub count: Option<u64>,
    /// also run the kmemleak scan dance every S seconds; print leaks not seen before
    #[argh(option, from_str_fn(parse_duration))]
    pub kmemleak_every: Option<f64>,
}

impl Default for WatchArgs {
    fn default() -> Self {
        WatchArgs { interval: 5.0, count: None, kmemleak_every: None }
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
}

impl<R: Root> Watch<R> {
    /// A watch over a sampler that has taken its first sample.
    pub fn new(sampler: Sampler<R>) -> Self {
        Watch { sampler }
    }

    /// Takes a sample at monotonic time `now` and prints its line.
    pub fn step(&mut self, out: &mut Out, now: f64) -> Result<(), Closed> {
        self.sampler.sample(now);
        report_status(&mut self.sampler);
        self.line(out)
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
            return summary(out, "watch", t, |j| {
                j.f64("elapsed_secs", t.times.elapsed());
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
        let grown = crate::cmd::top::top_growers(t, 5, Span::SinceStart);
        if !grown.is_empty() {
            outln!(out, "grew most since start:")?;
            view::delta_header(out, false)?;
            for &i in &grown {
                view::delta_row(out, &t.slab.entries()[i as usize], Span::SinceStart, 0.0)?;
            }
        }
        Ok(())
    }
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
        if d == 0 {
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

/// Runs `kleak watch`.
pub fn run(ctx: &mut Ctx, args: &WatchArgs) -> Result<Exit, Error> {
    let s = start(ctx)?;
    let mut kl = args.kmemleak_every.map(|every| crate::cmd::leaks::LeakWatch::open(ctx, every)).transpose()?;
    let mut w = Watch::new(s);
    let out = &mut ctx.out;
    let r = (|| -> Result<(), Closed> {
        if !out.style.json {
            let t = &w.sampler.tables;
            let caches = t.slab.entries().iter().filter(|e| e.presence.now).count();
            outln!(out, "kleak watch: every {}, {caches} caches; Ctrl-C or SIGTERM stops", Dur(args.interval))?;
            outln!(out, "columns: elapsed, Slab, SUnreclaim, {UNACCOUNTED} (+change), biggest movers")?;
        }
        w.line(out)?;
        let mut n = 1;
        loop {
            if let Some(k) = kl.as_mut() {
                k.poll(out, w.sampler.tables.times.elapsed(), sys::monotonic_secs())?;
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
        Ok(()) | Err(Closed) => Ok(Exit::Ok),
    }
}

//! The engine of `kleak run -- CMD`: the kmemleak documentation's "test a section"
//! flow, automated.
//!
//! 1. Sample slabinfo, vmstat and meminfo (the base), pause kmemleak's scan thread and
//!    `clear` its report, so only objects leaked from now on are reported.
//! 2. Run CMD N times (fork/exec, sharing kleak's terminal; stop at the first failure).
//!    With kmemleak, poll /proc/modules meanwhile and keep the symbols of every module
//!    that appears ([`crate::modsyms`]): kmemleak names frames when its report is read,
//!    and prints an unloaded module's as raw addresses.
//! 3. Wait `--settle` seconds for deferred frees (RCU, workqueues), sample again.
//! 4. Run the scan dance ([`crate::kmemleak::Dance`]) for the objects allocated up to the
//!    end of CMD, read and group the report (naming raw frames from the kept symbols),
//!    restart the scan thread.
//! 5. Report the new kmemleak groups, the slab caches and meminfo figures that grew (a
//!    cache that appeared counts as grown from zero), and CMD's exit status.
//!
//! The verdict (the exit code): CMD failed or could not start → 4; else kmemleak reported
//! objects → 1; else a signal cut the dance short → 5 (unknown, not clean); else 0. Growth of slab caches is reported but not judged: caches grow and
//! shrink with any file or network activity, so growth over one short run says little on
//! its own (`kleak watch` judges growth over time). Without kmemleak the growth is all
//! there is, and kleak says kmemleak was unavailable and why.

use super::{report_skipped, report_status, start};
use crate::arg::Arg;
use crate::cli::Ctx;
use crate::engine::leaks::read_with;
use crate::engine::watch::open_log;
use crate::figures::{grown_caches, Span};
use crate::kmemleak::{self, Command, Control, Dance, Unavailable};
use crate::kmsg::Kmsg;
use crate::leaks::Groups;
use crate::limits::KMSG_MAX_READS;
use crate::modsyms::ModSyms;
use crate::out::fmt::Dur;
use crate::out::leaks::{group_json, notes, scans, show, show_pairs};
use crate::out::ringlog::{LogOpts, RingLog};
use crate::out::{note, Closed, Line, Out};
use crate::outln;
use crate::ring::Kind;
use crate::sample::{FsRoot, Sampler};
use crate::sys::{self, ChildExit, Errno};
use crate::tables::Tables;
use crate::{Error, Exit};
use core::fmt::Write;

/// What `kleak run` was asked to do.
pub struct Plan<'a> {
    /// The command and its arguments.
    pub cmd: &'a [Arg],
    /// Times to run it (`--repeat`).
    pub repeat: u32,
    /// Seconds to wait after it (`--settle`).
    pub settle: f64,
    /// The verdict as KTAP (`--ktap`).
    pub ktap: bool,
    /// kmemleak groups split by contents checksum too (`--by-crc`).
    pub by_crc: bool,
    /// Mount debugfs if it is not mounted (`--mount`).
    pub mount: bool,
    /// The ring log (`--log`).
    pub log: Option<LogOpts>,
}

/// How often /proc/modules is read while CMD runs: `insmod x; rmmod x` in a shell leaves
/// the module loaded for 40–70 ms under QEMU, less on a board.
const MODULE_POLL_SECS: f64 = 0.002;

/// How often `kleak run --log` looks at the kernel log and the clock when no module
/// poll sets a shorter period.
const LOG_POLL_SECS: f64 = 0.1;

/// What happened, for the report.
struct Report<'a> {
    cmd: &'a [crate::arg::Arg],
    runs: u32,
    status: Result<ChildExit, Errno>,
    secs: f64,
    settle: f64,
    kmemleak: Result<(), Unavailable>,
    dance: Option<Dance>,
    groups: Groups,
    /// Groups and the slab caches that grew by about their objects.
    pairs: heapless::Vec<crate::leaks::Pair, { crate::limits::MAX_PAIRS }>,
    interrupted: bool,
    /// The stop signal kleak passed on to CMD's process group, if any.
    forwarded: Option<i32>,
    exit: Exit,
}

/// Runs `kleak run` as `args` plans it: the command between two samples, then kmemleak's
/// scans; the report; the exit code of the verdict.
pub fn run(ctx: &mut Ctx, args: &Plan<'_>) -> Result<Exit, Error> {
    let mut s = start(ctx)?;
    let mut log = match args.log.clone() {
        Some(o) => Some(Logged::open(ctx, o, args, &s)?),
        None => None,
    };
    let mut km = kmemleak::session(&ctx.root, args.mount);
    if let Ok(k) = km.as_mut() {
        if let Err(e) = k.ctl.command(Command::CLEAR) {
            km = Err(Unavailable::from_errno(e));
        }
    }
    if let Err(e) = &km {
        note(format_args!("kmemleak unavailable: {e}; reporting slab growth only"));
    }

    let mut mods = ModSyms::new();
    if let Ok(k) = km.as_mut() {
        mods.baseline(&ctx.root, &mut k.buf);
    }
    let t0 = sys::monotonic_secs();
    let (mut runs, mut status) = (0, Ok(ChildExit::Code(0)));
    let mut forwarded = None;
    for _ in 0..args.repeat {
        // Between looks at CMD: the modules it loads (for their symbols) and the ring log.
        let every = match (&km, &log) {
            (Ok(_), _) => MODULE_POLL_SECS,
            (Err(_), Some(_)) => LOG_POLL_SECS,
            (Err(_), None) => 0.0,
        };
        status = sys::run_child_polling(args.cmd, every, &mut || {
            if let Ok(k) = km.as_mut() {
                mods.poll(&ctx.root, &mut k.buf);
            }
            if let Some(l) = log.as_mut() {
                l.tick(&mut s);
            }
        })
        .map(|r| {
            if r.forwarded != 0 {
                forwarded = Some(r);
            }
            r.exit
        });
        runs += 1;
        if let Some(f) = forwarded {
            let killed = if f.killed { "; it outlived the grace time and was killed (SIGKILL)" } else { "" };
            note(format_args!(
                "{} passed on to {}'s process group{killed}",
                sys::signal_name(f.forwarded),
                args.cmd[0]
            ));
        }
        if let Err(e) = status {
            // As a shell says it; the command never ran (exit 4 below).
            note(format_args!("cannot run {}: {}", args.cmd[0], e.name()));
        }
        if status != Ok(ChildExit::Code(0)) || sys::stop_requested() {
            break;
        }
    }
    let ended = sys::monotonic_secs();
    let mut interrupted = !sys::sleep(args.settle);
    s.sample(sys::monotonic_secs());
    report_status(&mut s);

    let mut groups = Groups::default();
    groups.by_crc = args.by_crc;
    groups.matcher = ctx.matcher.clone();
    let mut dance = None;
    let kmemleak = match km.as_mut() {
        Err(e) => Err(*e),
        Ok(k) => {
            let mut d = Dance::new(ended, k.min_unref_scans);
            let r = match d.run(&mut k.ctl, &mut k.buf) {
                Ok(true) if d.found > 0 => {
                    read_with(&mut k.ctl, &mut k.buf, &mut groups, Some(&mods)).map_err(Unavailable::from_errno)
                }
                Ok(done) => {
                    interrupted |= !done;
                    Ok(())
                }
                Err(e) => Err(e),
            };
            k.end();
            dance = Some(d);
            r
        }
    };
    // A command ended by the stop signal kleak passed on did not fail: it was interrupted.
    let exit = if status != Ok(ChildExit::Code(0)) && forwarded.is_none() {
        Exit::CmdFailed
    } else if groups.objects() > 0 || groups.untracked_objects > 0 {
        Exit::Leak
    } else if forwarded.is_some() || (interrupted && kmemleak.is_ok()) {
        Exit::Interrupted
    } else {
        Exit::Ok
    };
    let r = Report {
        cmd: args.cmd,
        runs,
        status,
        secs: ended - t0,
        settle: args.settle,
        kmemleak,
        dance,
        pairs: crate::leaks::pair(&groups, grown_caches(&s.tables.slab)),
        groups,
        interrupted,
        forwarded: forwarded.map(|f| f.forwarded),
        exit,
    };
    if let Some(l) = log.as_mut() {
        l.end(&s, &r);
    }
    let out = &mut ctx.out;
    let t = &s.tables;
    let printed = if args.ktap { ktap(out, t, &r) } else { report(out, t, &r) };
    if !out.style.json {
        notes(&r.groups);
        report_skipped(t);
        if mods.dropped > 0 {
            note(format_args!(
                "{} module(s) loaded by the command not kept: table full (src/limits.rs); their frames may stay raw addresses",
                mods.dropped
            ));
        }
    }
    Ok(printed.map_or(Exit::Ok, |()| r.exit))
}

impl Report<'_> {
    /// The verdict's word and why.
    fn verdict(&self) -> (&'static str, &'static str) {
        match self.exit {
            Exit::CmdFailed => ("failed", "the command failed"),
            Exit::Leak => ("leak", "kmemleak reported objects"),
            Exit::Interrupted => ("unknown", "interrupted before kmemleak's scans completed"),
            _ if self.kmemleak.is_err() => ("unknown", "kmemleak unavailable, slab changes below"),
            _ => ("clean", "kmemleak reported nothing new"),
        }
    }

    /// The `run` JSON object (for `--json` and the ring log).
    fn json(&self, line: &mut Line) {
        let mut why = Line::default();
        if let Err(e) = self.kmemleak {
            let _ = write!(why, "{e}");
        }
        let mut j = line.json("run");
        match self.status {
            Ok(ChildExit::Code(c)) => j.i64("exit_status", c as i64),
            Ok(ChildExit::Signal(s)) => j.i64("signal", s as i64),
            Err(e) => j.str("start_error", e.name()),
        };
        j.u64("runs", self.runs as u64).f64("elapsed_secs", self.secs);
        j.bool("kmemleak", self.kmemleak.is_ok()).str("kmemleak_error", why.as_str());
        j.u64("objects", self.groups.objects()).u64("groups", self.groups.all().len() as u64);
        if let Some(d) = &self.dance {
            j.u64("scans", d.scan_secs.len() as u64).f64("scan_secs_max", d.longest_scan());
        }
        j.bool("interrupted", self.interrupted).str("verdict", self.verdict().0).end();
    }
}

/// `run --log`: the ring log, samples while CMD runs, the kernel log watched for an OOM
/// report (the test that brings a board down is the one whose log matters).
struct Logged {
    log: RingLog,
    kmsg: Option<Kmsg>,
}

impl Logged {
    fn open(ctx: &Ctx, opts: LogOpts, args: &Plan<'_>, s: &Sampler<FsRoot>) -> Result<Logged, Error> {
        let now = sys::monotonic_secs();
        let mut log = open_log(opts, now)?;
        let mut cmd = Line::default();
        for (i, a) in args.cmd.iter().enumerate() {
            let _ = write!(cmd, "{}{a}", if i > 0 { " " } else { "" });
        }
        log.json(Kind::Start, "start", now, &mut |j| {
            j.str("command", "run")
                .str("version", env!("CARGO_PKG_VERSION"))
                .str("root", &String::from_utf8_lossy(ctx.root.prefix()));
            j.str("cmd", cmd.as_str()).u64("repeat", args.repeat as u64).u64("pid", std::process::id() as u64);
        });
        log.sample(&s.tables, now, &mut |_| {});
        log.sync(now);
        let kmsg = Kmsg::open(ctx.root.prefix())
            .map_err(|e| note(format_args!("/dev/kmsg: {e}: no OOM last gasp in the log")))
            .ok();
        Ok(Logged { log, kmsg })
    }

    /// One look while CMD runs: a sample into the log every `--log-every`, and at once
    /// when the kernel prints an OOM report (copied as it comes).
    fn tick(&mut self, s: &mut Sampler<FsRoot>) {
        let now = sys::monotonic_secs();
        let oom = self.kmsg.as_mut().is_some_and(|k| {
            self.log
                .kernel(now, |f| {
                    k.drain(KMSG_MAX_READS, f);
                })
                .new_report
        });
        if oom || self.log.sample_due(now) {
            s.sample(now);
            report_status(s);
            self.log.sample(&s.tables, now, &mut |_| {});
        }
        self.log.end_sample(now);
    }

    /// The end of the run: its groups, the `run` object, a sample, the stop, a flush.
    fn end(&mut self, s: &Sampler<FsRoot>, r: &Report<'_>) {
        let now = sys::monotonic_secs();
        for (rank, &i) in r.groups.ranked().iter().enumerate() {
            let mut l = Line::default();
            let pair = r.pairs.iter().find(|p| p.group == i);
            group_json(&mut l, &r.groups.all()[i as usize], rank + 1, s.tables.page_size, pair);
            self.log.append(Kind::Group, l.as_bytes(), now);
        }
        let mut l = Line::default();
        r.json(&mut l);
        self.log.append(Kind::Note, l.as_bytes(), now);
        self.log.sample(&s.tables, now, &mut |_| {});
        let lost = self.log.lost;
        self.log.json(Kind::Stop, "stop", now, &mut |j| {
            j.str("reason", "done").u64("exit", r.exit as u64).u64("records_lost", lost);
        });
        self.log.sync(now);
    }
}

/// `sh -c 'x'` as one line (quoted where an argument holds a space).
fn command_line(out: &mut Out, cmd: &[crate::arg::Arg]) {
    for a in cmd {
        let q = if a.as_bytes().contains(&b' ') { "'" } else { "" };
        let _ = write!(out.line(), " {q}{a}{q}");
    }
}

fn status_text(out: &mut Out, r: &Report<'_>) {
    let _ = match r.status {
        Ok(ChildExit::Signal(s)) if r.forwarded == Some(s) => {
            write!(out.line(), "ended by {} (passed on by kleak)", sys::signal_name(s))
        }
        Ok(ChildExit::Code(c)) => write!(out.line(), "exit {c}"),
        Ok(ChildExit::Signal(s)) => write!(out.line(), "killed by signal {s}"),
        Err(e) => write!(out.line(), "could not start: {}", e.name()),
    };
}

/// The report: the command, the scans, the kmemleak groups, what changed since the base
/// sample (`diff`'s tables over the whole run: caches that appeared are `(new)`, grown
/// from zero), and the verdict. In JSON: `kmemleak-scans`, `leak-group`s, one `run`
/// object, then `diff`'s objects and the summary.
fn report(out: &mut Out, t: &Tables, r: &Report<'_>) -> Result<(), Closed> {
    let json = out.style.json;
    if !json {
        let _ = write!(out.line(), "kleak run:");
        command_line(out, r.cmd);
        let _ = write!(out.line(), ": ");
        status_text(out, r);
        outln!(out, ", {} run(s) in {}, settled {}", r.runs, Dur(r.secs), Dur(r.settle))?;
    }
    if let Some(d) = &r.dance {
        scans(out, d)?;
    }
    match r.kmemleak {
        Err(e) if !json => outln!(out, "kmemleak: unavailable: {e}")?,
        _ => show(out, &r.groups, t.page_size, &r.pairs)?,
    }
    let (verdict, why) = r.verdict();
    if json {
        r.json(out.line());
        out.emit()?;
    }
    crate::out::view::changes(out, t, Span::SinceStart, "run", false)?;
    show_pairs(out, &r.groups, &r.pairs)?;
    if !json {
        let interrupted =
            if r.interrupted && r.exit != Exit::Interrupted { " (interrupted: scans not completed)" } else { "" };
        outln!(out, "verdict: {verdict}: {why}{interrupted} (exit {})", r.exit as i32)?;
    }
    Ok(())
}

/// KTAP (Documentation/dev-tools/ktap.rst): two test points, `command` and `kmemleak`,
/// and the whole text report as `# ` diagnostic lines.
fn ktap(out: &mut Out, t: &Tables, r: &Report<'_>) -> Result<(), Closed> {
    outln!(out, "KTAP version 1")?;
    outln!(out, "1..2")?;
    out.style.prefix = "# ";
    report(out, t, r)?;
    out.style.prefix = "";
    let _ = match (r.forwarded, r.status) {
        (Some(sig), _) => write!(out.line(), "ok 1 command # SKIP interrupted ({})", sys::signal_name(sig)),
        (None, Ok(ChildExit::Code(0))) => write!(out.line(), "ok 1 command"),
        (None, Ok(ChildExit::Code(c))) => write!(out.line(), "not ok 1 command # exit={c}"),
        (None, Ok(ChildExit::Signal(s))) => write!(out.line(), "not ok 1 command # signal={s}"),
        (None, Err(e)) => write!(out.line(), "not ok 1 command # cannot start: {}", e.name()),
    };
    out.emit()?;
    match r.kmemleak {
        Err(e) => outln!(out, "ok 2 kmemleak # SKIP {e}"),
        Ok(()) if r.groups.objects() > 0 || r.groups.untracked_objects > 0 => outln!(out, "not ok 2 kmemleak"),
        Ok(()) if r.exit == Exit::Interrupted => outln!(out, "not ok 2 kmemleak # interrupted"),
        Ok(()) => outln!(out, "ok 2 kmemleak"),
    }
}

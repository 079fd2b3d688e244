//! `kleak watch`: sample until stopped, one compact line per sample, leak alerts between
//! the lines, a summary at the end. The loop is [`crate::engine::watch::Watch`].

use crate::arg::Arg;
use crate::cli::{parse_duration, parse_minutes, parse_size, Ctx};
use crate::engine::leaks::LeakWatch;
use crate::engine::start;
use crate::engine::watch::{open_log, Pace, Watch};
use crate::kmsg::Kmsg;
use crate::limits::{MAX_PROCS_SHOWN, MAX_WATCH_PIDS};
use crate::out::export::PromFile;
use crate::out::fmt::Dur;
use crate::out::http::{parse_listen, Addr, Server};
use crate::out::ringlog::LogOpts;
use crate::out::{note, Out, Target};
use crate::procs::{Event as ProcEvent, Procs};
use crate::ring::Kind;
use crate::sample::Root;
use crate::trend::MIN_POINTS;
use crate::{sys, Error, Exit};
use argh::FromArgs;

command_args! {
/// sample until stopped (Ctrl-C), one line per sample; the default command
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "watch",
    example = "one line every 10 s for an hour:\n  $ kleak watch --interval 10 --count 360",
    example = "stop with exit code 1 at the first suspect leak:\n  $ kleak watch --window 5m --exit-on-leak",
    example = "keep a log that survives power cuts; read it later:\n  $ kleak watch --log /data/kleak.ring\n  $ kleak log /data/kleak.ring",
    example = "a daemon's memory too, and the 3 processes that grew most:\n  $ kleak watch --pid $(pidof netd) --procs 3",
    note = "Alert lines start with `kleak: LEAK` (memory the kernel keeps) or\n`kleak: GROW` (reclaimable memory); the README documents their format."
)]
pub struct WatchArgs {
    /// seconds between samples (fractions allowed; 0 = back to back; default 5)
    #[argh(option, default = "5.0", from_str_fn(parse_duration))]
    pub interval: f64,
    /// stop after N samples (default: until Ctrl-C or SIGTERM)
    #[argh(option)]
    pub count: Option<u64>,
    verdict_options!("alert lines per sample at most, the rest summed up as \"+N more\" (default 4)"),
    /// stop at the first suspect leak and exit with code 1
    #[argh(switch)]
    pub exit_on_leak: bool,
    /// root: confirm a reclaimable suspect by writing 2 to /proc/sys/vm/drop_caches
    #[argh(switch)]
    pub check_reclaim: bool,
    /// also run the kmemleak scan dance every S seconds; print leaks not seen before
    #[argh(option, from_str_fn(parse_duration))]
    pub kmemleak_every: Option<f64>,
    log_options!("seconds between samples kept in the log (default 60; 0: every sample)"),
    /// print CSV rows instead of lines (other lines go to stderr)
    #[argh(switch)]
    pub csv: bool,
    /// rewrite FILE each sample for node_exporter's textfile collector
    #[argh(option, arg_name = "FILE")]
    pub prom: Option<Arg>,
    /// follow process PID's memory too (RSS, data, VmSize); repeatable
    #[argh(option, arg_name = "PID")]
    pub pid: Vec<u32>,
    /// follow every user process; show the N whose RSS grew most
    #[argh(option, arg_name = "N")]
    pub procs: Option<usize>,
    /// serve GET /metrics for Prometheus on [ADDR:]PORT (PORT alone: 127.0.0.1)
    #[argh(option, arg_name = "[ADDR:]PORT", from_str_fn(parse_listen))]
    pub listen: Option<std::net::SocketAddr>,
}
}

impl Default for WatchArgs {
    /// `kleak` alone: watch with every default, as argh gives them (written once, above).
    fn default() -> Self {
        WatchArgs::from_args(&["watch"], &[]).expect("watch takes no required argument")
    }
}

/// Checks the options: one line naming the bad one. The ring log's options if `--log`.
pub fn check_args(args: &WatchArgs, live: bool, json: bool) -> Result<Option<LogOpts>, Error> {
    if args.count == Some(0) {
        return Err(Error::usage("--count must be at least 1 (without it, watch samples until stopped)"));
    }
    args.verdict().check()?;
    if args.check_reclaim && live && sys::euid() != 0 {
        return Err(Error::env("--check-reclaim writes /proc/sys/vm/drop_caches: run kleak as root"));
    }
    if args.csv && json {
        return Err(Error::usage("--csv or --json, not both"));
    }
    if !args.pid.is_empty() && args.procs.is_some() {
        return Err(Error::usage("--pid or --procs, not both"));
    }
    if args.pid.len() > MAX_WATCH_PIDS {
        return Err(Error::usage(format_args!("--pid: {MAX_WATCH_PIDS} processes at most")));
    }
    if args.procs.is_some_and(|n| n == 0 || n > MAX_PROCS_SHOWN) {
        return Err(Error::usage(format_args!("--procs must be 1 to {MAX_PROCS_SHOWN}")));
    }
    args.log().check()
}

/// Runs `kleak watch`.
pub fn run(ctx: &mut Ctx, args: &WatchArgs) -> Result<Exit, Error> {
    let log_opts = check_args(args, ctx.root.is_live(), ctx.out.style.json)?;
    if args.interval > 0.0 && args.window / args.interval < MIN_POINTS as f64 {
        note(format_args!(
            "--window {} holds fewer than {MIN_POINTS} samples at --interval {}: no verdict can be reached",
            Dur(args.window),
            Dur(args.interval)
        ));
    }
    let s = start(ctx)?;
    let kmemleak = args.kmemleak_every.map(|every| LeakWatch::open(ctx, every)).transpose()?;
    let mut w = Watch::with_policy(s, args.verdict().policy(), args.check_reclaim);
    w.kmemleak = kmemleak;
    w.batch.max = args.max_alerts;
    if !args.pid.is_empty() || args.procs.is_some() {
        w.follow(Procs::new(ctx.root.clone(), &args.pid), args.procs.unwrap_or(MAX_PROCS_SHOWN));
        let p = w.procs.as_ref().map(|p| (p.events(), p.entries().iter().any(|e| e.alive)));
        if let Some((events, any)) = p {
            for ev in events {
                if let ProcEvent::NotFound { pid } = ev {
                    note(format_args!("--pid {pid}: no such process (or a kernel thread); not followed"));
                }
            }
            if !args.pid.is_empty() && !any {
                return Err(Error::env("--pid: none of the processes is running"));
            }
        }
    }
    let now = sys::monotonic_secs();
    if let Some(opts) = log_opts {
        let mut log = open_log(opts, now)?;
        log.json(Kind::Start, "start", now, &mut |j| {
            j.str("command", "watch")
                .str("version", env!("CARGO_PKG_VERSION"))
                .str("root", &String::from_utf8_lossy(ctx.root.prefix()));
            j.f64("interval_secs", args.interval).f64("window_secs", args.window);
            j.f64("log_every_secs", args.log_every).u64("pid", std::process::id() as u64);
        });
        w.log = Some(log);
        match Kmsg::open(ctx.root.prefix()) {
            Ok(k) => w.kmsg = Some(k),
            Err(e) => note(format_args!("/dev/kmsg: {e}: no OOM last gasp in the log")),
        }
    }
    w.prom = args.prom.as_ref().map(PromFile::new);
    if let Some(addr) = args.listen {
        let s = Server::bind(addr).map_err(|e| Error::env(format_args!("--listen {}: {e}", Addr(addr))))?;
        note(format_args!("serving http://{}/metrics", Addr(s.addr)));
        w.server = Some(s);
    }
    if args.csv {
        // CSV on standard output; everything else on standard error.
        let text = Out::new(Target::Fd(2), ctx.out.style);
        w.csv = Some(core::mem::replace(&mut ctx.out, text));
    }
    let pace = Pace { interval: args.interval, count: args.count, exit_on_leak: args.exit_on_leak };
    let _ = w.run(&mut ctx.out, pace);
    // CSV rows went to stdout through their own Out (the text went to stderr).
    if let Some(csv) = &w.csv {
        csv.finish()?;
    }
    Ok(if args.exit_on_leak && w.leak_seen { Exit::Leak } else { Exit::Ok })
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::trend::Policy;

    #[test]
    fn the_defaults_are_argh_s() {
        let d = WatchArgs::default();
        assert_eq!((d.interval, d.window, d.remind), (5.0, Policy::WINDOW_SECS, Policy::REMIND_SECS));
        assert_eq!((d.min_growth, d.min_rate, d.max_alerts), (Policy::MIN_GROWTH, Policy::MIN_RATE as u64, 4));
        assert_eq!((d.log_size, d.log_every, d.sync_secs), (LogOpts::SIZE, LogOpts::EVERY_SECS, LogOpts::SYNC_SECS));
        assert!(d.log.is_none() && d.count.is_none() && !d.csv && d.pid.is_empty());
    }
}

//! `kleak trace`: a program's heap, by call site, through the preload tracer
//! (`libkleak_trace.so`, built from `trace/`). The argh structs, one call into the engine
//! ([`crate::trace`]) per form, the printing, and the exit code.
//!
//! - `kleak trace [--interval S] [-o DIR] [--events FILE] -- CMD [ARGS...]` starts CMD
//!   with the library preloaded, waits for it, and reports its last dump.
//! - `kleak trace report DUMP [DUMP2]` names the call sites of a dump (`function+0x1c
//!   file.c:LINE (library)`) and prints those holding most bytes; with two dumps, those
//!   that grew. `report --events FILE [--ptr 0x…]` prints the allocation log.
//! - `kleak trace list [-o DIR]` shows the traced processes found in a dump directory.
//! - `kleak trace on|off|dump PID` starts or stops recording in a running traced process,
//!   or asks it for a dump.

use crate::arg::Arg;
use crate::cli::{parse_duration, Ctx};
use crate::limits::{READ_BUF_BYTES, TRACE_MAX_PROCS, TRACE_MAX_SHOWN, TRACE_MAX_SITES};
use crate::out::fmt::{Dur, Fit, Size};
use crate::out::{note, Closed, Out};
use crate::sys::ChildExit;
use crate::table::sort_by_key;
use crate::trace::control::{self, Ask};
use crate::trace::dump::{self, compare, latest_dump, load, Dump, Modules, Row, DUMP_SUFFIX, NO_MODULE};
use crate::trace::events::{self, Event};
use crate::trace::program::{absolute, Traced, DEFAULT_DIR};
use crate::trace::symbols::{resolve, Named, Notes};
use crate::{outln, Error, Exit};
use argh::FromArgs;
use core::fmt::Write;

/// trace a program's heap allocations by call site (LD_PRELOAD); report, list dumps
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "trace",
    example = "run a program under the tracer, dump every 10 s, report at its exit:\n  $ kleak trace --interval 10 -- ./mydaemon --foreground",
    example = "which call sites grew between two dumps:\n  $ cd /tmp/kleak-trace\n  $ kleak trace report 412.98113.0.kleak-trace 412.98113.5.kleak-trace",
    example = "log every call, then follow one block through its reallocs to its free:\n  $ kleak trace --events /tmp/ev -- ./prog\n  $ kleak trace report --events /tmp/ev --ptr 0x55d0c2a012a0",
    example = "a running traced process: stop recording, dump now, list:\n  $ kleak trace off 912 && kleak trace dump 912 && kleak trace list",
    note = "Forms: kleak trace [--interval S] [-o DIR] [--events FILE] -- CMD [ARGS...]\n       kleak trace report [-n N] [--debug-dir DIR] DUMP [DUMP2]\n       kleak trace report --events FILE [--ptr 0x...] [DUMP]\n       kleak trace list [-o DIR]\n       kleak trace on|off|dump PID\nThe library is found beside kleak, in ../lib/kleak, /usr/local/lib/kleak or\n/usr/lib/kleak, or where KLEAK_TRACE_LIB says. Statically linked programs\ncannot be traced: use `kleak watch --pid PID`."
)]
pub struct TraceArgs {
    /// seconds between dumps while CMD runs (fractions and units allowed; 0 = only at exit
    /// and on SIGUSR2; default 30)
    #[argh(option, default = "30.0", from_str_fn(parse_duration))]
    pub interval: f64,
    /// dump directory (default /tmp/kleak-trace)
    #[argh(option, short = 'o', arg_name = "DIR")]
    pub output: Option<Arg>,
    /// call sites a report shows (default 20)
    #[argh(option, short = 'n', default = "20")]
    pub n: usize,
    /// the allocation log: written while CMD runs, read by `report`
    #[argh(option, arg_name = "FILE")]
    pub events: Option<Arg>,
    /// with `report --events`: follow this block through its reallocs to its free
    #[argh(option, arg_name = "0xADDR")]
    pub ptr: Option<String>,
    /// where unstripped copies of the traced files are (found by build-id; repeatable)
    #[argh(option, arg_name = "DIR")]
    pub debug_dir: Vec<Arg>,
    /// what to do: `-- CMD [ARGS...]`, `report DUMP [DUMP2]`, `list`, `on|off|dump PID`
    #[argh(positional)]
    pub args: Vec<Arg>,
}

/// Runs `kleak trace`.
pub fn run(ctx: &mut Ctx, a: &TraceArgs) -> Result<Exit, Error> {
    let dir = || a.output.clone().unwrap_or_else(|| Arg::from(DEFAULT_DIR));
    match a.args.first().map(Arg::as_bytes) {
        None => Err(Error::usage(
            "trace: give a command (`kleak trace -- CMD`), `report DUMP`, `list` or `on|off|dump PID`",
        )),
        Some(b"report") => match &a.events {
            Some(log) => report_events(ctx, a, log),
            None if a.ptr.is_some() => Err(Error::usage("trace report: --ptr follows a block through --events FILE")),
            None => report(ctx, &a.args[1..], a),
        },
        Some(b"list") => list(ctx, &dir()),
        Some(w @ (b"on" | b"off" | b"dump")) => {
            let ask = match w {
                b"on" => Ask::On,
                b"off" => Ask::Off,
                _ => Ask::Dump,
            };
            let pid = match &a.args[1..] {
                [p] => p.to_string().parse::<u32>().ok().filter(|&p| p > 0),
                _ => None,
            }
            .ok_or_else(|| Error::usage("trace on|off|dump: give one PID"))?;
            let dump = control::ask(&ctx.root, pid, ask)?;
            match ask {
                Ask::On => note(format_args!("pid {pid}: recording on; its dump: {dump}")),
                Ask::Off => note(format_args!("pid {pid}: recording off (frees still matched); its dump: {dump}")),
                Ask::Dump => {
                    note(format_args!("pid {pid}: dumped to {dump}"));
                    return report(ctx, core::slice::from_ref(&dump), a);
                }
            }
            Ok(Exit::Ok)
        }
        Some(_) => start(ctx, a),
    }
}

// ---- starting a program under the tracer ----

fn start(ctx: &mut Ctx, a: &TraceArgs) -> Result<Exit, Error> {
    let cmd = &a.args[0];
    let dir = absolute(a.output.as_ref().map_or(DEFAULT_DIR.as_bytes(), Arg::as_bytes));
    let events = a.events.as_ref().map(|e| absolute(e.as_bytes()));
    let traced = Traced::start(&a.args, &dir, a.interval, events.as_ref())?;
    let pid = traced.pid;
    note(format_args!("tracing {cmd} (pid {pid}); dumps in {dir}"));
    note(format_args!("`kleak trace dump {pid}` dumps now, `kleak trace off {pid}` stops recording"));
    let ended = traced.wait()?;
    match latest_dump(&dir, pid as u32, None) {
        Some(dump) => {
            note(format_args!("{cmd} ended; its last dump: {dump}"));
            report(ctx, core::slice::from_ref(&dump), a)?;
        }
        None => note(format_args!(
            "no dump from pid {pid} in {dir}: it ended without exit() (killed, _exit) before an interval passed"
        )),
    }
    if let Some(e) = &events {
        note(format_args!("its allocation log: {e} (`kleak trace report --events {e}`)"));
    }
    match ended {
        ChildExit::Code(0) => Ok(Exit::Ok),
        ChildExit::Code(c) => {
            note(format_args!("{cmd} exited with status {c}"));
            Ok(Exit::CmdFailed)
        }
        ChildExit::Signal(s) => {
            note(format_args!("{cmd} was killed by signal {s}"));
            Ok(Exit::CmdFailed)
        }
    }
}

// ---- kleak trace report ----

fn report(ctx: &mut Ctx, files: &[Arg], a: &TraceArgs) -> Result<Exit, Error> {
    if files.is_empty() || files.len() > 2 {
        return Err(Error::usage("trace report: give one dump, or two of the same program to compare"));
    }
    let n = a.n.clamp(1, TRACE_MAX_SHOWN);
    let mut modules = Modules::new();
    let mut buf = vec![0u8; READ_BUF_BYTES];
    let last = load(&files[files.len() - 1], &mut modules, &mut buf, false)?;
    let first = if files.len() == 2 { Some(load(&files[0], &mut modules, &mut buf, false)?) } else { None };
    let mut rows = compare(&last, first.as_ref());
    let grown = rows.len();
    rows.truncate(n);
    let sites: Vec<(u16, u64)> = rows.iter().map(|r| (r.site.module, r.site.off)).collect();
    let mut notes = Notes::default();
    let names = resolve(&sites, &modules, ctx.root.prefix(), &a.debug_dir, &mut buf, &mut notes);
    let out = &mut ctx.out;
    let r = if out.style.json {
        report_json(out, &last, first.as_ref(), &rows, &names, &modules, grown)
    } else {
        report_text(out, &last, first.as_ref(), &rows, &names, &modules, grown)
    };
    for d in first.iter().chain(Some(&last)) {
        warn_about(d, files.len() == 2);
    }
    warn_names(&notes);
    super::quiet(r.map(|_| Exit::Ok))
}

/// Notes about names: files without line tables, malformed ones.
fn warn_names(n: &Notes) {
    if n.no_lines > 0 {
        note(format_args!(
            "{} file(s) without line tables: built without -g, or stripped (give the unstripped copies with --debug-dir DIR)",
            n.no_lines
        ));
    }
    if n.bad_units > 0 {
        note(format_args!("{} line-table units skipped: malformed or of a DWARF version not read", n.bad_units));
    }
}

/// Notes about a dump that make its numbers less than the whole truth.
fn warn_about(d: &Dump, both: bool) {
    let h = &d.h;
    let mut why = String::new();
    let mut add = |cond: bool, text: core::fmt::Arguments<'_>| {
        if cond {
            let _ = write!(why, "{}{text}", if why.is_empty() { "" } else { "; " });
        }
    };
    add(
        h.untracked_allocs() > 0,
        format_args!(
            "{} allocations ({} bytes) not tracked: the table ({} slots) was full, raise KLEAK_TRACE_SLOTS",
            h.untracked_allocs(),
            h.untracked_bytes(),
            h.slots()
        ),
    );
    add(h.sites_folded() > 0, format_args!("{} call sites folded into the 0x0 line", h.sites_folded()));
    add(d.sites_dropped > 0, format_args!("{} call sites over {TRACE_MAX_SITES} not read", d.sites_dropped));
    add(h.inexact_shards() > 0, format_args!("written from a signal while threads allocated: slightly inexact"));
    add(!h.tracing, format_args!("recording was off (SIGUSR1)"));
    add(!d.complete, format_args!("cut short (no `--- end`)"));
    add(d.malformed > 0, format_args!("{} malformed lines skipped", d.malformed));
    if !why.is_empty() {
        match both {
            true => note(format_args!("dump {} of pid {}: {why}", h.seq(), h.pid())),
            false => note(format_args!("{why}")),
        }
    }
}

/// `function+0x1c (file)`, `0x2a3c (file)` without a symbol, or the raw address.
fn site_text(row: &Row, name: &Named, modules: &Modules) -> String {
    let s = &row.site;
    if s.rec.addr == 0 {
        return "(sites folded together: the tracer's site table was full)".into();
    }
    if s.module == NO_MODULE {
        return format!("{:#x} (no file)", s.rec.addr);
    }
    let path = modules.path(s.module);
    let file = &path[path.bytes().rposition(|b| b == b'/').map_or(0, |i| i + 1)..];
    place_text(name, s.off, file)
}

/// `function+0x1c leaky.c:37 (file)`, `function+0x1c (file)` without a line table, or
/// `0x2a3c (file)` without a symbol.
fn place_text(name: &Named, off: u64, file: &str) -> String {
    let mut t = match name.found {
        true => format!("{}+{:#x}", name.func, name.off),
        false => format!("{off:#x}"),
    };
    let line = name.file_line();
    if !line.is_empty() {
        t.push(' ');
        t.push_str(&line);
    }
    t.push_str(&format!(" ({file})"));
    t
}

fn report_text(
    out: &mut Out,
    last: &Dump,
    first: Option<&Dump>,
    rows: &[Row],
    names: &[Named],
    modules: &Modules,
    grown: usize,
) -> Result<(), Closed> {
    let h = &last.h;
    let hu = out.style.human;
    let width = out.style.width;
    outln!(out, "pid {}: {}", h.pid(), Fit::cut(h.command(), width.saturating_sub(12)))?;
    match first {
        None => {
            outln!(
                out,
                "dump {} ({}): {} allocations, {} outstanding in {} call sites",
                h.seq(),
                h.reason.as_str(),
                h.live_allocs(),
                Size::of(h.live_bytes() as i64, hu),
                last.sites.len()
            )?;
            outln!(out, "   COUNT    BYTES   OLDEST SITE")?;
        }
        Some(f) => {
            let g = &f.h;
            let secs = h.realtime() - g.realtime();
            outln!(
                out,
                "dump {} -> {} over {}: outstanding {} ({} -> {}), {grown} sites grew",
                g.seq(),
                h.seq(),
                Dur(secs),
                Size::delta(h.live_bytes() as i64 - g.live_bytes() as i64, hu),
                Size::of(g.live_bytes() as i64, hu),
                Size::of(h.live_bytes() as i64, hu)
            )?;
            outln!(out, "  +COUNT   +BYTES    COUNT    BYTES SITE")?;
        }
    }
    for (row, name) in rows.iter().zip(names) {
        let r = &row.site.rec;
        let line = out.line();
        if first.is_some() {
            let mut count: heapless::String<24> = heapless::String::new();
            let _ = write!(count, "{:+}", row.d_count);
            let _ = write!(line, "{:>8} {:>8} ", count.as_str(), Size::delta(row.d_bytes, hu));
        }
        let _ = write!(line, "{:>8} {:>8} ", r.count, Size::of(r.bytes as i64, hu));
        if first.is_none() {
            let _ = write!(line, "{:>8} ", Dur(r.oldest_ms as f64 / 1000.0));
        }
        let mut text = site_text(row, name, modules);
        if row.new {
            text.push_str(" (new)");
        }
        let room = width.saturating_sub(line.len());
        let _ = write!(line, "{}", Fit::cut(&text, room.max(20)));
        out.emit()?;
    }
    if rows.is_empty() {
        outln!(out, "{}", if first.is_some() { "(no call site grew)" } else { "(nothing outstanding)" })?;
    }
    Ok(())
}

fn report_json(
    out: &mut Out,
    last: &Dump,
    first: Option<&Dump>,
    rows: &[Row],
    names: &[Named],
    modules: &Modules,
    grown: usize,
) -> Result<(), Closed> {
    for (row, name) in rows.iter().zip(names) {
        let r = &row.site.rec;
        let mut addr: heapless::String<24> = heapless::String::new();
        let _ = write!(addr, "{:#x}", r.addr);
        let mut j = out.line().json("trace_site");
        j.str("site", &addr);
        if name.found {
            j.str("function", &name.func).u64("offset", name.off);
        }
        if name.line > 0 {
            j.str("source", &name.source).u64("line", name.line as u64);
        }
        if row.site.module != NO_MODULE {
            j.str("file", modules.path(row.site.module)).u64("file_offset", row.site.off);
        }
        j.u64("count", r.count).u64("bytes", r.bytes).f64("oldest_secs", r.oldest_ms as f64 / 1000.0);
        if first.is_some() {
            j.i64("d_count", row.d_count).i64("d_bytes", row.d_bytes).bool("new", row.new);
        }
        j.end();
        out.emit()?;
    }
    let h = &last.h;
    let mut j = out.line().json("summary");
    j.str("command", "trace report")
        .u64("pid", h.pid() as u64)
        .str("cmdline", h.command())
        .u64("seq", h.seq())
        .str("reason", h.reason.as_str())
        .u64("live_allocs", h.live_allocs())
        .u64("live_bytes", h.live_bytes())
        .u64("sites", last.sites.len() as u64)
        .u64("untracked_allocs", h.untracked_allocs())
        .u64("untracked_bytes", h.untracked_bytes())
        .u64("unknown_frees", h.unknown_frees())
        .bool("complete", last.complete);
    if let Some(f) = first {
        j.i64("d_live_bytes", h.live_bytes() as i64 - f.h.live_bytes() as i64)
            .f64("interval_secs", h.realtime() - f.h.realtime())
            .u64("sites_grown", grown as u64);
    }
    j.end();
    out.emit()
}

// ---- kleak trace report --events ----

/// Distinct call sites of an events report named at most; later ones print as addresses.
const EVENT_SITES: usize = TRACE_MAX_SITES;

fn report_events(ctx: &mut Ctx, a: &TraceArgs, path: &Arg) -> Result<Exit, Error> {
    let ptr = match &a.ptr {
        None => None,
        Some(p) => Some(
            u64::from_str_radix(p.trim_start_matches("0x"), 16)
                .map_err(|_| Error::usage(format_args!("--ptr {p}: give a pointer in hex, as the log prints it")))?,
        ),
    };
    let log = events::open(path)?;
    let h = &log.h;
    // The maps that place call sites in files: the dump given, else the process's newest.
    let mut modules = Modules::new();
    let mut buf = vec![0u8; READ_BUF_BYTES];
    let dump_path = match &a.args[1..] {
        [d] => Some(d.clone()),
        [] => latest_dump(&h.dir, h.pid, Some(h.instance)),
        _ => return Err(Error::usage("trace report --events FILE: give at most one dump (its maps name the callers)")),
    };
    let dump = match &dump_path {
        Some(p) => Some(load(p, &mut modules, &mut buf, false)?),
        None => {
            note(format_args!("no dump of pid {} in {}: callers print as addresses", h.pid, h.dir));
            None
        }
    };
    let sel = events::select(&log, ptr, EVENT_SITES);
    let (shown, sites, chain) = (&sel.events, &sel.sites, &sel.chain);
    let placed: Vec<(u16, u64)> = sites.iter().map(|&s| dump.as_ref().map_or((NO_MODULE, s), |d| d.place(s))).collect();
    let mut notes = Notes::default();
    let names = resolve(&placed, &modules, ctx.root.prefix(), &a.debug_dir, &mut buf, &mut notes);
    let text = |site: u64| -> String {
        let Ok(i) = sites.binary_search(&site) else { return format!("{site:#x}") };
        match placed[i] {
            (NO_MODULE, _) => format!("{site:#x}"),
            (m, off) => {
                let path = modules.path(m);
                place_text(&names[i], off, &path[path.rfind('/').map_or(0, |i| i + 1)..])
            }
        }
    };
    let out = &mut ctx.out;
    let hu = out.style.human;
    let r = (|| -> Result<(), Closed> {
        if !out.style.json {
            let lost = h.head.saturating_sub(h.capacity);
            outln!(
                out,
                "pid {}: {} events logged, the last {} kept ({lost} overwritten){}",
                h.pid,
                h.head,
                h.head.min(h.capacity),
                ptr.map_or(String::new(), |p| format!("; block {p:#x}: {} events", shown.len()))
            )?;
        }
        for e in shown {
            event_line(out, e, &text(e.site), hu)?;
        }
        Ok(())
    })();
    if sel.skipped > 0 {
        note(format_args!("{} records skipped: being written while read (a live process)", sel.skipped));
    }
    if let (Some(p), Some(c)) = (ptr, chain) {
        if !c.seen() {
            note(format_args!("block {p:#x} is not in the log (overwritten, or never allocated while logging)"));
        } else if !c.freed() {
            note(format_args!("block {p:#x}: not freed by the end of the log"));
        }
    }
    warn_names(&notes);
    super::quiet(r.map(|_| Exit::Ok))
}

/// `MALLOC 06:57:11.204 100B 0x55d0c2a012a0 leak_malloc+0x1a leaky.c:37 (leaky)`.
fn event_line(out: &mut Out, e: &Event, site: &str, hu: bool) -> Result<(), Closed> {
    let kind = events::kind_name(e.kind);
    if out.style.json {
        let mut j = out.line().json("trace_event");
        j.str("event", kind).u64("time_ms", e.time_ms).u64("size", e.size);
        j.str("ptr", &format!("{:#x}", e.ptr)).str("prev", &format!("{:#x}", e.prev)).str("caller", site);
        j.end();
        return out.emit();
    }
    let s = e.time_ms / 1000 % 86400;
    let line = out.line();
    let _ = write!(line, "{kind} {:02}:{:02}:{:02}.{:03} ", s / 3600, s / 60 % 60, s % 60, e.time_ms % 1000);
    if e.kind != events::FREE {
        let _ = write!(line, "{} ", Size::of(e.size as i64, hu));
    }
    if e.kind == events::REALLOC {
        let _ = write!(line, "{:#x} -> ", e.prev);
    }
    let _ = write!(line, "{:#x} {site}", e.ptr);
    out.emit()
}

// ---- kleak trace list ----

fn list(ctx: &mut Ctx, dir: &Arg) -> Result<Exit, Error> {
    let (mut procs, untracked) = dump::scan(dir)
        .map_err(|e| Error::env(format_args!("{dir}: {e} (no dumps there yet? `kleak trace -o {dir} -- CMD`)")))?;
    // Oldest first: instances are the tracer's start times.
    sort_by_key(&mut procs, |p| p.instance);
    let mut modules = Modules::new();
    let mut buf = vec![0u8; READ_BUF_BYTES];
    let out = &mut ctx.out;
    let hu = out.style.human;
    let width = out.style.width;
    let r = (|| -> Result<(), Closed> {
        if !out.style.json {
            outln!(out, "{} traced processes in {dir}", procs.len())?;
            outln!(out, "    PID STATE   TRACING DUMPS OUTSTANDING COMMAND")?;
        }
        for p in &procs {
            let path = dir.with_suffix(&format!("/{}.{}.{}{DUMP_SUFFIX}", p.pid, p.instance, p.last_seq));
            let Ok(d) = load(&path, &mut modules, &mut buf, true) else { continue };
            let replaced = procs.iter().any(|q| q.pid == p.pid && q.instance > p.instance);
            let state = dump::state(&ctx.root, &d.h, replaced);
            // Recording as the last dump found it (`trace on|off` dump at once); a
            // process that is gone records nothing.
            let tracing = match (state, d.h.tracing) {
                ("alive", true) => "on",
                ("alive", false) => "off",
                _ => "-",
            };
            if out.style.json {
                let mut j = out.line().json("trace_process");
                j.u64("pid", p.pid as u64)
                    .str("state", state)
                    .bool("tracing", d.h.tracing && state == "alive")
                    .u64("dumps", p.dumps as u64)
                    .u64("live_bytes", d.h.live_bytes())
                    .u64("live_allocs", d.h.live_allocs())
                    .str("cmdline", d.h.command())
                    .str("last_dump", &path.to_string());
                j.end();
                out.emit()?;
                continue;
            }
            let line = out.line();
            let bytes = Size::of(d.h.live_bytes() as i64, hu);
            let _ = write!(line, "{:>7} {:<7} {:<7} {:>5} {:>11} ", p.pid, state, tracing, p.dumps, bytes);
            let room = width.saturating_sub(line.len());
            let _ = write!(line, "{}", Fit::cut(d.h.command(), room.max(10)));
            out.emit()?;
        }
        if out.style.json {
            let mut j = out.line().json("summary");
            j.str("command", "trace list").str("dir", &dir.to_string()).u64("processes", procs.len() as u64);
            j.end();
            out.emit()?;
        }
        Ok(())
    })();
    if untracked > 0 {
        note(format_args!("{untracked} dumps of more processes not listed: more than {TRACE_MAX_PROCS}"));
    }
    super::quiet(r.map(|_| Exit::Ok))
}

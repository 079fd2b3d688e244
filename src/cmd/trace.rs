//! `kleak trace`: a program's heap, by call site, through the preload tracer
//! (`libkleak_trace.so`, built from `trace/`).
//!
//! - `kleak trace [--interval S] [-o DIR] -- CMD [ARGS...]` starts CMD with the library
//!   preloaded, waits for it, and reports its last dump.
//! - `kleak trace report DUMP [DUMP2]` resolves the call sites of a dump to
//!   `function+offset (library)` from the ELF symbol tables of the files it had mapped,
//!   and prints the sites holding most bytes; with two dumps, the sites that grew.
//! - `kleak trace list [-o DIR]` shows the traced processes found in a dump directory.
//!
//! Dumps flow like /proc files do: `sys` reads → [`crate::parse::tracedump`] yields
//! records borrowing the read buffer → fixed tables here → [`crate::elf`] names the few
//! sites shown → `out`.

use crate::arg::Arg;
use crate::cli::{parse_duration, Ctx};
use crate::elf::{self, Elf, ElfError};
use crate::limits::{
    READ_BUF_BYTES, TRACE_MAX_MAPS, TRACE_MAX_MODULES, TRACE_MAX_PROCS, TRACE_MAX_SHOWN, TRACE_MAX_SITES,
    TRACE_PATH_BYTES,
};
use crate::out::fmt::{Dur, Fit, Size};
use crate::out::{note, Closed, Out};
use crate::parse::parse_u64;
use crate::parse::tracedump::{DumpError, DumpLine, DumpParser, SiteRecord};
use crate::sample::{read_lines, Root};
use crate::sys::{self, ChildExit, Errno, Mode};
use crate::table::{sort_by, sort_by_key, Name};
use crate::{outln, Error, Exit};
use argh::FromArgs;
use core::fmt::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// The dump directory when `-o` is not given (the library's default too).
pub const DEFAULT_DIR: &str = "/tmp/kleak-trace";
/// The library's file name; `-musl` before `.so` for the musl build when both are shipped.
pub const LIB_NAME: &str = "libkleak_trace.so";
const LIB_NAME_MUSL: &str = "libkleak_trace-musl.so";
/// Where the library is looked for besides the kleak binary's own directory.
const LIB_DIRS: [&str; 3] = ["../lib/kleak", "/usr/local/lib/kleak", "/usr/lib/kleak"];
/// Suffix of dump files: `<pid>.<instance>.<seq>.kleak-trace`.
const DUMP_SUFFIX: &str = ".kleak-trace";

/// trace a program's heap allocations by call site (LD_PRELOAD); report, list dumps
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "trace",
    example = "run a program under the tracer, dump every 10 s, report at its exit:\n  $ kleak trace --interval 10 -- ./mydaemon --foreground",
    example = "which call sites grew between two dumps:\n  $ cd /tmp/kleak-trace\n  $ kleak trace report 412.98113.0.kleak-trace 412.98113.5.kleak-trace",
    example = "the traced processes and their dumps:\n  $ kleak trace list",
    note = "Forms: kleak trace [--interval S] [-o DIR] -- CMD [ARGS...]\n       kleak trace report [-n N] DUMP [DUMP2]\n       kleak trace list [-o DIR]\nA running traced process dumps on SIGUSR2; SIGUSR1 turns recording off and on.\nThe library is found beside kleak, in ../lib/kleak, /usr/local/lib/kleak or\n/usr/lib/kleak, or where KLEAK_TRACE_LIB says. Statically linked programs\ncannot be traced: use `kleak watch --pid PID`."
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
    /// what to do: `-- CMD [ARGS...]`, `report DUMP [DUMP2]` or `list`
    #[argh(positional)]
    pub args: Vec<Arg>,
}

/// Runs `kleak trace`.
pub fn run(ctx: &mut Ctx, a: &TraceArgs) -> Result<Exit, Error> {
    match a.args.first().map(Arg::as_bytes) {
        None => Err(Error::usage("trace: give a command (`kleak trace -- CMD`), `report DUMP` or `list`")),
        Some(b"report") => report(ctx, &a.args[1..], a.n),
        Some(b"list") => list(ctx, &a.output.clone().unwrap_or_else(|| Arg::from(DEFAULT_DIR))),
        Some(_) => start(ctx, a),
    }
}

// ---- starting a program under the tracer ----

/// What kleak needs to know about the program before preloading into it.
struct Program {
    path: Arg,
    machine: u16,
    musl: bool,
}

fn start(ctx: &mut Ctx, a: &TraceArgs) -> Result<Exit, Error> {
    let cmd = &a.args[0];
    let path = find_program(cmd)?;
    let prog = inspect(cmd, &path, 0)?;
    let lib = find_library(&prog)?;
    let dir = absolute(a.output.as_ref().map_or(DEFAULT_DIR.as_bytes(), Arg::as_bytes));
    sys::mkdirs(dir.as_bytes()).map_err(|e| Error::env(format_args!("{dir}: {e}")))?;
    // The tracer writes its dumps there: a file or a directory it cannot write would only
    // show at the end, as a dump that never came.
    match sys::file_type(&[dir.as_bytes()]) {
        Ok(sys::FileType::Dir) => {}
        Ok(t) => return Err(Error::env(format_args!("-o {dir}: {}, not a directory for the dumps", t.name()))),
        Err(e) => return Err(Error::env(format_args!("-o {dir}: {e}"))),
    }
    sys::writable_dir(&[dir.as_bytes()])
        .map_err(|e| Error::env(format_args!("-o {dir}: the dumps cannot be written there: {e}")))?;
    let preload = match std::env::var_os("LD_PRELOAD") {
        Some(old) if !old.is_empty() => [lib.as_bytes(), b":", old.as_encoded_bytes()].concat(),
        _ => lib.as_bytes().to_vec(),
    };
    let interval = crate::out::fmt::Fixed(a.interval, 3).to_string();
    let env = [
        ("LD_PRELOAD", preload.as_slice()),
        ("KLEAK_TRACE_DIR", dir.as_bytes()),
        ("KLEAK_TRACE_INTERVAL", interval.as_bytes()),
    ];
    let pid =
        sys::spawn(path.as_bytes(), &a.args[1..], &env, false).map_err(|e| Error::env(format_args!("{cmd}: {e}")))?;
    note(format_args!("tracing {cmd} (pid {pid}); dumps in {dir}"));
    note(format_args!("`kill -USR2 {pid}` dumps now, `kill -USR1 {pid}` pauses recording"));
    let mut forwarded = false;
    let ended = loop {
        match sys::wait(pid) {
            Ok(x) => break x,
            Err(Errno::EINTR) => {
                // Ctrl-C reaches the whole process group; SIGTERM may reach only kleak.
                if sys::stop_requested() && !forwarded {
                    let _ = sys::kill(pid, sys::stop_signal());
                    forwarded = true;
                }
            }
            Err(e) => return Err(Error::env(format_args!("waiting for {cmd}: {e}"))),
        }
    };
    match latest_dump(&dir, pid as u32) {
        Some(dump) => {
            note(format_args!("{cmd} ended; its last dump: {dump}"));
            report(ctx, core::slice::from_ref(&dump), a.n)?;
        }
        None => note(format_args!(
            "no dump from pid {pid} in {dir}: it ended without exit() (killed, _exit) before an interval passed"
        )),
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

/// `cmd` as given if it has a slash, else the first match in `PATH`.
fn find_program(cmd: &Arg) -> Result<Arg, Error> {
    if cmd.as_bytes().contains(&b'/') {
        return Ok(cmd.clone());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    path.as_encoded_bytes()
        .split(|&b| b == b':')
        .map(|d| {
            Arg(std::ffi::OsString::from_vec([if d.is_empty() { b"." } else { d }, b"/", cmd.as_bytes()].concat()))
        })
        .find(|p| sys::exists(&[p.as_bytes()]))
        .ok_or_else(|| Error::env(format_args!("{cmd}: command not found in PATH")))
}

/// Reads the program's ELF headers: its architecture, its libc, and whether it can be
/// preloaded at all (a script is judged by its interpreter).
fn inspect(cmd: &Arg, path: &Arg, depth: u32) -> Result<Program, Error> {
    let head = script_interpreter(path);
    if let (Some(interp), true) = (head, depth == 0) {
        return inspect(cmd, &interp, depth + 1).map(|p| Program { path: path.clone(), ..p });
    }
    let elf = Elf::open(&[path.as_bytes()]).map_err(|e| match e {
        ElfError::Unsupported => Error::env(format_args!(
            "{path} is a 32-bit or big-endian program; the tracer is built for 64-bit x86_64 and aarch64 programs"
        )),
        e if cmd == path => Error::env(format_args!("{path}: {e}")),
        e => Error::env(format_args!("{cmd} ({path}): {e}")),
    })?;
    if !elf.is_dynamic() {
        return Err(Error::env(format_args!(
            "{path} is statically linked, so LD_PRELOAD cannot reach its malloc; follow its memory from outside with `kleak watch --pid PID`"
        )));
    }
    let mut buf = [0u8; 256];
    let musl = elf.interp(&mut buf).is_some_and(|i| i.windows(7).any(|w| w == b"ld-musl"));
    Ok(Program { path: path.clone(), machine: elf.machine, musl })
}

/// The interpreter of a `#!` script.
fn script_interpreter(path: &Arg) -> Option<Arg> {
    let f = sys::File::open(&[path.as_bytes()], Mode::Read).ok()?;
    let mut buf = [0u8; 256];
    let n = f.pread(&mut buf, 0).ok()?;
    let line = buf[..n].strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let first = crate::parse::Tokens::new(line).next()?;
    Some(Arg(std::ffi::OsString::from_vec(first.to_vec())))
}

/// The tracer library for `prog`: `KLEAK_TRACE_LIB`, else beside kleak or in the library
/// directories, built for the program's architecture.
fn find_library(prog: &Program) -> Result<String, Error> {
    let arch = elf::machine_name(prog.machine);
    let fits = |lib: &str| Elf::open(&[lib.as_bytes()]).map(|e| e.machine == prog.machine);
    if let Ok(lib) = std::env::var("KLEAK_TRACE_LIB") {
        return match fits(&lib) {
            Ok(true) => Ok(absolute(lib.as_bytes()).to_string()),
            Ok(false) => {
                Err(Error::env(format_args!("KLEAK_TRACE_LIB={lib} is not built for {arch}, as {} is", prog.path)))
            }
            Err(e) => Err(Error::env(format_args!("KLEAK_TRACE_LIB={lib}: {e}"))),
        };
    }
    let exe = std::env::current_exe().ok();
    let exe_dir = exe.as_deref().and_then(|p| p.parent()).and_then(|d| d.to_str()).unwrap_or("/nonexistent");
    let names: &[&str] = if prog.musl { &[LIB_NAME_MUSL, LIB_NAME] } else { &[LIB_NAME] };
    // Beside kleak first, then the library directories (relative ones beside kleak too).
    for d in core::iter::once("").chain(LIB_DIRS) {
        for n in names {
            let lib = match (d.is_empty(), d.starts_with('/')) {
                (true, _) => format!("{exe_dir}/{n}"),
                (false, true) => format!("{d}/{n}"),
                (false, false) => format!("{exe_dir}/{d}/{n}"),
            };
            if let Ok(true) = fits(&lib) {
                return Ok(absolute(lib.as_bytes()).to_string());
            }
        }
    }
    Err(Error::env(format_args!(
        "no {LIB_NAME} for {arch} found beside kleak or in {}: copy it there or name it with KLEAK_TRACE_LIB (build: trace/build.sh)",
        LIB_DIRS[1..].join(", ")
    )))
}

/// `p` made absolute against the current directory (the traced program may `chdir`).
fn absolute(p: &[u8]) -> Arg {
    let bytes = match std::env::current_dir() {
        Ok(d) if !p.starts_with(b"/") => [d.as_os_str().as_bytes(), b"/", p.strip_prefix(b"./").unwrap_or(p)].concat(),
        _ => p.to_vec(),
    };
    Arg(std::ffi::OsString::from_vec(bytes))
}

// ---- dump files and their names ----

/// `<pid>.<instance>.<seq>.kleak-trace` → (pid, instance, seq).
fn parse_dump_name(name: &[u8]) -> Option<(u32, u64, u64)> {
    let stem = name.strip_suffix(DUMP_SUFFIX.as_bytes())?;
    let mut it = stem.split(|&b| b == b'.');
    let pid = parse_u64(it.next()?)?;
    let instance = parse_u64(it.next()?)?;
    let seq = parse_u64(it.next()?)?;
    (it.next().is_none() && pid <= u32::MAX as u64).then_some((pid as u32, instance, seq))
}

/// The newest dump of `pid` in `dir` (latest instance, then highest number).
fn latest_dump(dir: &Arg, pid: u32) -> Option<Arg> {
    let mut best: Option<(u64, u64)> = None;
    sys::read_dir(&[dir.as_bytes()], |name, _| {
        if let Some((p, inst, seq)) = parse_dump_name(name) {
            if p == pid && best.is_none_or(|b| (inst, seq) > b) {
                best = Some((inst, seq));
            }
        }
        true
    })
    .ok()?;
    best.map(|(inst, seq)| dir.with_suffix(&format!("/{pid}.{inst}.{seq}{DUMP_SUFFIX}")))
}

/// The numeric header keys kleak reads, in the order of [`Header::num`].
const NUM_KEYS: [&[u8]; 13] = [
    b"pid",
    b"instance",
    b"seq",
    b"starttime",
    b"slots",
    b"live_allocs",
    b"live_bytes",
    b"untracked_allocs",
    b"untracked_bytes",
    b"unknown_frees",
    b"sites_folded",
    b"inexact_shards",
    b"realtime",
];

/// A dump's header, as far as kleak uses it.
#[derive(Clone, Copy)]
struct Header {
    /// The values of [`NUM_KEYS`] (`realtime` in milliseconds).
    num: [u64; 13],
    reason: Name<16>,
    exe: Name<TRACE_PATH_BYTES>,
    cmdline: Name<TRACE_PATH_BYTES>,
    tracing: bool,
}

impl Default for Header {
    fn default() -> Self {
        let empty = Name::new(b"").0;
        Header { num: [0; 13], reason: Name::new(b"").0, exe: empty, cmdline: empty, tracing: false }
    }
}

impl Header {
    fn set(&mut self, key: &[u8], v: &[u8]) {
        match key {
            b"reason" => self.reason = Name::new(v).0,
            b"exe" => self.exe = Name::new(v).0,
            b"cmdline" => self.cmdline = Name::new(v).0,
            b"tracing" => self.tracing = v == b"on",
            b"realtime" => self.num[12] = crate::parse::tracedump::parse_millis(v).unwrap_or(0),
            // Keys a newer library may add are ignored.
            _ => {
                if let Some(i) = NUM_KEYS.iter().position(|k| *k == key) {
                    self.num[i] = parse_u64(v).unwrap_or(0);
                }
            }
        }
    }

    fn pid(&self) -> u32 {
        self.num[0] as u32
    }
    fn seq(&self) -> u64 {
        self.num[2]
    }
    fn starttime(&self) -> u64 {
        self.num[3]
    }
    fn slots(&self) -> u64 {
        self.num[4]
    }
    fn live_allocs(&self) -> u64 {
        self.num[5]
    }
    fn live_bytes(&self) -> u64 {
        self.num[6]
    }
    fn untracked_allocs(&self) -> u64 {
        self.num[7]
    }
    fn untracked_bytes(&self) -> u64 {
        self.num[8]
    }
    fn unknown_frees(&self) -> u64 {
        self.num[9]
    }
    fn sites_folded(&self) -> u64 {
        self.num[10]
    }
    fn inexact_shards(&self) -> u64 {
        self.num[11]
    }
    /// Wall time of the dump, seconds.
    fn realtime(&self) -> f64 {
        self.num[12] as f64 / 1000.0
    }

    /// What the process was: its command line, or its executable.
    fn command(&self) -> &str {
        if self.cmdline.as_bytes().is_empty() {
            self.exe.as_str()
        } else {
            self.cmdline.as_str()
        }
    }
}

/// No module: an address outside every mapped file.
const NO_MODULE: u16 = u16::MAX;

/// The files mapped by the processes of one report, each stored once.
struct Modules {
    paths: Vec<Name<TRACE_PATH_BYTES>>,
}

impl Modules {
    fn new() -> Self {
        Modules { paths: Vec::with_capacity(TRACE_MAX_MODULES) }
    }

    fn intern(&mut self, path: &[u8]) -> u16 {
        if let Some(i) = self.paths.iter().position(|p| p.matches(path)) {
            return i as u16;
        }
        if self.paths.len() == TRACE_MAX_MODULES {
            return NO_MODULE;
        }
        self.paths.push(Name::new(path).0);
        (self.paths.len() - 1) as u16
    }

    fn path(&self, m: u16) -> &str {
        self.paths.get(m as usize).map_or("?", |p| p.as_str())
    }
}

#[derive(Clone, Copy)]
struct Map {
    start: u64,
    end: u64,
    offset: u64,
    module: u16,
}

/// A call site, placed in its file: (module, file offset) stays the same across runs of
/// the same binaries, where the address does not (ASLR).
#[derive(Clone, Copy, Default)]
struct Site {
    rec: SiteRecord,
    module: u16,
    /// Offset in the module's file, or the raw address when there is no module.
    off: u64,
}

impl Site {
    /// (module, offset) as one number, to sort and match by.
    fn sort_key(&self) -> u64 {
        // Offsets and user-space addresses fit in 48 bits (x86_64, aarch64).
        (self.module as u64) << 48 | (self.off & ((1 << 48) - 1))
    }
}

/// One dump, loaded into fixed tables.
struct Dump {
    h: Header,
    sites: Vec<Site>,
    sites_dropped: u64,
    complete: bool,
    malformed: u32,
}

/// Reads the dump at `path`: header, sites, and the executable file mappings, which place
/// each site in a file (interned in `modules`).
fn load(path: &Arg, modules: &mut Modules, buf: &mut [u8], header_only: bool) -> Result<Dump, Error> {
    let mut f = sys::File::open(&[path.as_bytes()], Mode::Read).map_err(|e| Error::env(format_args!("{path}: {e}")))?;
    let mut p = DumpParser::new();
    let mut d = Dump {
        h: Header::default(),
        sites: Vec::with_capacity(if header_only { 0 } else { TRACE_MAX_SITES }),
        sites_dropped: 0,
        complete: false,
        malformed: 0,
    };
    let mut maps: Vec<Map> = Vec::with_capacity(if header_only { 0 } else { TRACE_MAX_MAPS });
    read_lines(&mut f, buf, |line: &[u8]| match p.line(line) {
        Some(DumpLine::Header { key, value }) => d.h.set(key, value),
        Some(DumpLine::Site(rec)) if !header_only => {
            if d.sites.len() < TRACE_MAX_SITES {
                d.sites.push(Site { rec, module: NO_MODULE, off: rec.addr });
            } else {
                d.sites_dropped += 1;
            }
        }
        Some(DumpLine::Map(m)) if !header_only && m.exec && m.path.starts_with(b"/") && maps.len() < TRACE_MAX_MAPS => {
            maps.push(Map { start: m.start, end: m.end, offset: m.offset, module: modules.intern(m.path) });
        }
        _ => {}
    })
    .map_err(|e| Error::env(format_args!("{path}: {e}")))?;
    match p.error {
        Some(DumpError::NotADump) => {
            return Err(Error::usage(format_args!("{path}: not a kleak trace dump (no `# kleak-trace dump` line)")))
        }
        Some(DumpError::Version(v)) => {
            return Err(Error::usage(format_args!("{path}: dump format {v} is newer than this kleak reads")))
        }
        None => {}
    }
    d.complete = p.complete();
    d.malformed = p.stats.malformed;
    sort_by_key(&mut maps, |m| m.start);
    for s in &mut d.sites {
        let a = s.rec.addr;
        let i = maps.partition_point(|m| m.start <= a);
        if let Some(m) = i.checked_sub(1).map(|i| &maps[i]).filter(|m| a < m.end && m.module != NO_MODULE) {
            s.module = m.module;
            s.off = a - m.start + m.offset;
        }
    }
    Ok(d)
}

// ---- kleak trace report ----

/// One line of a report.
#[derive(Clone, Copy, Default)]
struct Row {
    site: Site,
    /// Growth since the first dump (two-dump reports).
    d_count: i64,
    d_bytes: i64,
    new: bool,
}

/// A site's name: `function+0x1c` and its file.
struct Named {
    func: heapless::String<160>,
    off: u64,
    found: bool,
}

fn report(ctx: &mut Ctx, files: &[Arg], n: usize) -> Result<Exit, Error> {
    if files.is_empty() || files.len() > 2 {
        return Err(Error::usage("trace report: give one dump, or two of the same program to compare"));
    }
    let n = n.clamp(1, TRACE_MAX_SHOWN);
    let mut modules = Modules::new();
    let mut buf = vec![0u8; READ_BUF_BYTES];
    let last = load(&files[files.len() - 1], &mut modules, &mut buf, false)?;
    let first = if files.len() == 2 { Some(load(&files[0], &mut modules, &mut buf, false)?) } else { None };
    let mut rows: Vec<Row> = Vec::with_capacity(TRACE_MAX_SITES);
    match &first {
        None => {
            rows.extend(last.sites.iter().map(|&site| Row { site, ..Row::default() }));
            sort_by(&mut rows, |a, b| a.site.rec.bytes > b.site.rec.bytes);
        }
        Some(f) => {
            let mut before: Vec<Site> = f.sites.clone();
            sort_by_key(&mut before, Site::sort_key);
            for &s in &last.sites {
                let old = before.binary_search_by_key(&s.sort_key(), Site::sort_key).ok().map(|i| before[i].rec);
                let (c0, b0) = old.map_or((0, 0), |o| (o.count, o.bytes));
                let d_bytes = s.rec.bytes as i64 - b0 as i64;
                if d_bytes > 0 {
                    rows.push(Row { site: s, d_count: s.rec.count as i64 - c0 as i64, d_bytes, new: old.is_none() });
                }
            }
            sort_by(&mut rows, |a, b| a.d_bytes > b.d_bytes);
        }
    }
    let grown = rows.len();
    rows.truncate(n);
    let names = resolve(&rows, &modules, ctx.root.prefix(), &mut buf);
    let out = &mut ctx.out;
    let r = if out.style.json {
        report_json(out, &last, first.as_ref(), &rows, &names, &modules, grown)
    } else {
        report_text(out, &last, first.as_ref(), &rows, &names, &modules, grown)
    };
    for d in first.iter().chain(Some(&last)) {
        warn_about(d, files.len() == 2);
    }
    super::quiet(r.map(|_| Exit::Ok))
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

/// Names the sites of `rows`: one pass over each file's symbol tables for all its sites.
fn resolve(rows: &[Row], modules: &Modules, prefix: &[u8], buf: &mut [u8]) -> Vec<Named> {
    let mut names: Vec<Named> =
        rows.iter().map(|_| Named { func: heapless::String::new(), off: 0, found: false }).collect();
    // Per file: the rows in it, their ELF addresses and the symbols found.
    let mut members = [0usize; TRACE_MAX_SHOWN];
    let mut vaddrs = [0u64; TRACE_MAX_SHOWN];
    let mut hits = [None; TRACE_MAX_SHOWN];
    for i in 0..rows.len() {
        let m = rows[i].site.module;
        if m == NO_MODULE || rows[..i].iter().any(|r| r.site.module == m) {
            continue;
        }
        let Ok(elf) = Elf::open(&[prefix, modules.path(m).as_bytes()]) else { continue };
        let mut n = 0;
        for (j, r) in rows.iter().enumerate().skip(i).filter(|(_, r)| r.site.module == m) {
            members[n] = j;
            // A return address may sit just past the end of its function (a call that
            // never returns): look up the address before it.
            vaddrs[n] = elf.vaddr(r.site.off).unwrap_or(0).saturating_sub(1);
            hits[n] = None;
            n += 1;
        }
        if elf.symbolize(&vaddrs[..n], &mut hits[..n], buf).is_err() {
            continue;
        }
        for k in 0..n {
            if let (Some(sym), true) = (hits[k], vaddrs[k] > 0) {
                let mut raw = [0u8; 512];
                let named = &mut names[members[k]];
                // Names print as the symbol table has them (C++ and Rust names mangled: a
                // demangler costs the 512 KiB board binary 2 KB).
                let name = core::str::from_utf8(elf.name(&sym, &mut raw)).unwrap_or("?");
                let _ = named.func.push_str(crate::parse::str_prefix(name, named.func.capacity()));
                named.off = vaddrs[k] + 1 - sym.value;
                named.found = true;
            }
        }
    }
    names
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
    if name.found {
        format!("{}+{:#x} ({file})", name.func, name.off)
    } else {
        format!("{:#x} ({file})", s.off)
    }
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

// ---- kleak trace list ----

/// A traced process (one exec of one PID) seen in the dump directory.
#[derive(Clone, Copy)]
struct Traced {
    pid: u32,
    instance: u64,
    dumps: u32,
    last_seq: u64,
}

fn list(ctx: &mut Ctx, dir: &Arg) -> Result<Exit, Error> {
    let mut procs: Vec<Traced> = Vec::with_capacity(TRACE_MAX_PROCS);
    let mut untracked = 0u32;
    sys::read_dir(&[dir.as_bytes()], |name, _| {
        let Some((pid, instance, seq)) = parse_dump_name(name) else { return true };
        match procs.iter().position(|p| p.pid == pid && p.instance == instance) {
            Some(i) => {
                let p = &mut procs[i];
                p.dumps += 1;
                p.last_seq = p.last_seq.max(seq);
            }
            None if procs.len() < TRACE_MAX_PROCS => procs.push(Traced { pid, instance, dumps: 1, last_seq: seq }),
            None => untracked += 1,
        }
        true
    })
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
            outln!(out, "    PID STATE   DUMPS OUTSTANDING COMMAND")?;
        }
        for p in &procs {
            let path = dir.with_suffix(&format!("/{}.{}.{}{DUMP_SUFFIX}", p.pid, p.instance, p.last_seq));
            let Ok(d) = load(&path, &mut modules, &mut buf, true) else { continue };
            let replaced = procs.iter().any(|q| q.pid == p.pid && q.instance > p.instance);
            let state = state(&ctx.root, &d.h, replaced);
            if out.style.json {
                let mut j = out.line().json("trace_process");
                j.u64("pid", p.pid as u64)
                    .str("state", state)
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
            let _ =
                write!(line, "{:>7} {:<7} {:>5} {:>11} ", p.pid, state, p.dumps, Size::of(d.h.live_bytes() as i64, hu));
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

/// `alive`, `exited` (wrote its exit dump), `exec'd` (replaced by a newer program in the
/// same process), or `died` (gone without an exit dump: killed, crashed, `_exit`).
fn state<R: Root>(root: &R, h: &Header, replaced: bool) -> &'static str {
    if h.reason.as_str() == "exit" {
        return "exited";
    }
    let mut buf = [0u8; 1024];
    let same = root.open(&format!("/proc/{}/stat", h.pid())).ok().and_then(|mut f| {
        let n = crate::sample::ReadAt::read_at(&mut f, &mut buf, 0).ok()?;
        stat_starttime(&buf[..n])
    }) == Some(h.starttime());
    let same = same && !stat_dead(&buf);
    match (same, replaced) {
        (true, true) => "exec'd",
        (true, false) => "alive",
        (false, _) => "died",
    }
}

/// True if /proc/PID/stat says zombie (`Z`) or dead (`X`): ended, not yet reaped.
fn stat_dead(stat: &[u8]) -> bool {
    let Some(close) = stat.iter().rposition(|&b| b == b')') else { return false };
    matches!(crate::parse::Tokens::new(&stat[close + 1..]).next(), Some(b"Z" | b"X"))
}

/// Field 22 of /proc/PID/stat (start time in clock ticks after boot): the 20th field after
/// the `)` that closes the command name, which may itself hold spaces and parentheses.
fn stat_starttime(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    crate::parse::Tokens::new(&stat[close + 1..]).nth(19).and_then(parse_u64)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn dump_names_carry_pid_instance_and_number() {
        assert_eq!(parse_dump_name(b"4242.3119104173.12.kleak-trace"), Some((4242, 3_119_104_173, 12)));
        assert_eq!(parse_dump_name(b"4242.3119104173.12.kleak-trace.tmp"), None);
        assert_eq!(parse_dump_name(b"4242.x.12.kleak-trace"), None);
        assert_eq!(parse_dump_name(b"1.2.3.4.kleak-trace"), None);
    }

    #[test]
    fn starttime_survives_odd_command_names() {
        let stat = b"4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(stat_starttime(stat), Some(987654));
        assert_eq!(stat_starttime(b"4242 (x"), None);
        assert!(stat_dead(b"4242 (a b) Z 1 2") && !stat_dead(b"4242 (a) S 1 2"));
    }

    #[test]
    fn sites_are_placed_in_their_file() {
        let dump = "# kleak-trace dump 1\npid 7\nreason exit\nlive_bytes 300\n\
                    --- sites address count bytes oldest_secs\n0x5000 1 100 1.0\n0x7f0000001010 2 200 2.0\n0x9 1 1 0\n\
                    --- maps\n4000-6000 r-xp 00001000 fe:00 1 /bin/prog\n7f0000000000-7f0000002000 r-xp 00000000 fe:00 2 /lib/libc.so\n\
                    --- end\n";
        let dir = crate::tempdir::TempDir::new("trace-sites");
        let path = dir.join("7.1.0.kleak-trace");
        std::fs::write(&path, dump).unwrap();
        let mut m = Modules::new();
        let mut buf = vec![0u8; 4096];
        let d = load(&Arg::from(path.to_str().unwrap()), &mut m, &mut buf, false).unwrap();
        assert!(d.complete);
        assert_eq!((m.path(d.sites[0].module), d.sites[0].off), ("/bin/prog", 0x2000));
        assert_eq!((m.path(d.sites[1].module), d.sites[1].off), ("/lib/libc.so", 0x1010));
        assert_eq!((d.sites[2].module, d.sites[2].off), (NO_MODULE, 0x9));
        assert_eq!(d.h.pid(), 7);
    }
}

//! Tracer dumps on disk: their names (`<pid>.<instance>.<seq>.kleak-trace`), their
//! headers, and loading one into fixed tables with each call site placed in the file it
//! was mapped from. [`crate::parse::tracedump`] parses the lines; this module keeps what
//! a report needs.

use crate::arg::Arg;
use crate::limits::{TRACE_MAX_MAPS, TRACE_MAX_MODULES, TRACE_MAX_PROCS, TRACE_MAX_SITES, TRACE_PATH_BYTES};
use crate::parse::parse_u64;
use crate::parse::proc_pid;
use crate::parse::tracedump::{DumpError, DumpLine, DumpParser, SiteRecord};
use crate::sample::{read_lines, Root};
use crate::sys::{self, Mode};
use crate::table::{sort_by, sort_by_key, Name};
use crate::Error;

/// Suffix of dump files: `<pid>.<instance>.<seq>.kleak-trace`.
pub(crate) const DUMP_SUFFIX: &str = ".kleak-trace";

/// `<pid>.<instance>.<seq>.kleak-trace` → (pid, instance, seq).
pub(crate) fn parse_dump_name(name: &[u8]) -> Option<(u32, u64, u64)> {
    let stem = name.strip_suffix(DUMP_SUFFIX.as_bytes())?;
    let mut it = stem.split(|&b| b == b'.');
    let pid = parse_u64(it.next()?)?;
    let instance = parse_u64(it.next()?)?;
    let seq = parse_u64(it.next()?)?;
    (it.next().is_none() && pid <= u32::MAX as u64).then_some((pid as u32, instance, seq))
}

/// The newest dump of `pid` in `dir` (of its exec `instance` if given; else the latest
/// instance), by highest number.
pub(crate) fn latest_dump(dir: &Arg, pid: u32, instance: Option<u64>) -> Option<Arg> {
    let mut best: Option<(u64, u64)> = None;
    sys::read_dir(&[dir.as_bytes()], |name, _| {
        if let Some((p, inst, seq)) = parse_dump_name(name) {
            if p == pid && instance.is_none_or(|i| i == inst) && best.is_none_or(|b| (inst, seq) > b) {
                best = Some((inst, seq));
            }
        }
        true
    })
    .ok()?;
    best.map(|(inst, seq)| dir.with_suffix(&format!("/{pid}.{inst}.{seq}{DUMP_SUFFIX}")))
}

/// A traced process (one exec of one PID) seen in a dump directory.
#[derive(Clone, Copy)]
pub(crate) struct Process {
    pub(crate) pid: u32,
    pub(crate) instance: u64,
    pub(crate) dumps: u32,
    pub(crate) last_seq: u64,
}

/// The traced processes whose dumps are in `dir`, and how many more did not fit
/// ([`TRACE_MAX_PROCS`]).
pub(crate) fn scan(dir: &Arg) -> Result<(Vec<Process>, u32), sys::Errno> {
    let mut procs: Vec<Process> = Vec::with_capacity(TRACE_MAX_PROCS);
    let mut untracked = 0u32;
    sys::read_dir(&[dir.as_bytes()], |name, _| {
        let Some((pid, instance, seq)) = parse_dump_name(name) else { return true };
        match procs.iter().position(|p| p.pid == pid && p.instance == instance) {
            Some(i) => {
                let p = &mut procs[i];
                p.dumps += 1;
                p.last_seq = p.last_seq.max(seq);
            }
            None if procs.len() < TRACE_MAX_PROCS => procs.push(Process { pid, instance, dumps: 1, last_seq: seq }),
            None => untracked += 1,
        }
        true
    })?;
    Ok((procs, untracked))
}

/// The numeric header keys kleak reads, in the order of [`Header::num`].
pub(crate) const NUM_KEYS: [&[u8]; 13] = [
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
pub(crate) struct Header {
    /// The values of [`NUM_KEYS`] (`realtime` in milliseconds).
    pub(crate) num: [u64; 13],
    pub(crate) reason: Name<16>,
    pub(crate) exe: Name<TRACE_PATH_BYTES>,
    pub(crate) cmdline: Name<TRACE_PATH_BYTES>,
    pub(crate) tracing: bool,
}

impl Default for Header {
    fn default() -> Self {
        let empty = Name::new(b"").0;
        Header { num: [0; 13], reason: Name::new(b"").0, exe: empty, cmdline: empty, tracing: false }
    }
}

impl Header {
    pub(crate) fn set(&mut self, key: &[u8], v: &[u8]) {
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

    pub(crate) fn pid(&self) -> u32 {
        self.num[0] as u32
    }
    pub(crate) fn seq(&self) -> u64 {
        self.num[2]
    }
    pub(crate) fn starttime(&self) -> u64 {
        self.num[3]
    }
    pub(crate) fn slots(&self) -> u64 {
        self.num[4]
    }
    pub(crate) fn live_allocs(&self) -> u64 {
        self.num[5]
    }
    pub(crate) fn live_bytes(&self) -> u64 {
        self.num[6]
    }
    pub(crate) fn untracked_allocs(&self) -> u64 {
        self.num[7]
    }
    pub(crate) fn untracked_bytes(&self) -> u64 {
        self.num[8]
    }
    pub(crate) fn unknown_frees(&self) -> u64 {
        self.num[9]
    }
    pub(crate) fn sites_folded(&self) -> u64 {
        self.num[10]
    }
    pub(crate) fn inexact_shards(&self) -> u64 {
        self.num[11]
    }
    /// Wall time of the dump, seconds.
    pub(crate) fn realtime(&self) -> f64 {
        self.num[12] as f64 / 1000.0
    }

    /// What the process was: its command line, or its executable.
    pub(crate) fn command(&self) -> &str {
        if self.cmdline.as_bytes().is_empty() {
            self.exe.as_str()
        } else {
            self.cmdline.as_str()
        }
    }
}

/// No module: an address outside every mapped file.
pub(crate) const NO_MODULE: u16 = u16::MAX;

/// The files mapped by the processes of one report, each stored once.
pub(crate) struct Modules {
    pub(crate) paths: Vec<Name<TRACE_PATH_BYTES>>,
}

impl Modules {
    pub(crate) fn new() -> Self {
        Modules { paths: Vec::with_capacity(TRACE_MAX_MODULES) }
    }

    pub(crate) fn intern(&mut self, path: &[u8]) -> u16 {
        if let Some(i) = self.paths.iter().position(|p| p.matches(path)) {
            return i as u16;
        }
        if self.paths.len() == TRACE_MAX_MODULES {
            return NO_MODULE;
        }
        self.paths.push(Name::new(path).0);
        (self.paths.len() - 1) as u16
    }

    pub(crate) fn path(&self, m: u16) -> &str {
        self.paths.get(m as usize).map_or("?", |p| p.as_str())
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Map {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) offset: u64,
    pub(crate) module: u16,
}

/// A call site, placed in its file: (module, file offset) stays the same across runs of
/// the same binaries, where the address does not (ASLR).
#[derive(Clone, Copy, Default)]
pub(crate) struct Site {
    pub(crate) rec: SiteRecord,
    pub(crate) module: u16,
    /// Offset in the module's file, or the raw address when there is no module.
    pub(crate) off: u64,
}

impl Site {
    /// (module, offset) as one number, to sort and match by.
    pub(crate) fn sort_key(&self) -> u64 {
        // Offsets and user-space addresses fit in 48 bits (x86_64, aarch64).
        (self.module as u64) << 48 | (self.off & ((1 << 48) - 1))
    }
}

/// One dump, loaded into fixed tables.
pub(crate) struct Dump {
    pub(crate) h: Header,
    pub(crate) sites: Vec<Site>,
    pub(crate) sites_dropped: u64,
    pub(crate) complete: bool,
    pub(crate) malformed: u32,
    /// The executable mappings, by start address.
    pub(crate) maps: Vec<Map>,
}

impl Dump {
    /// An address placed in its file: (module, file offset), or ([`NO_MODULE`], address).
    pub(crate) fn place(&self, a: u64) -> (u16, u64) {
        let i = self.maps.partition_point(|m| m.start <= a);
        match i.checked_sub(1).map(|i| &self.maps[i]).filter(|m| a < m.end && m.module != NO_MODULE) {
            Some(m) => (m.module, a - m.start + m.offset),
            None => (NO_MODULE, a),
        }
    }
}

/// Reads the dump at `path`: header, sites, and the executable file mappings, which place
/// each site in a file (interned in `modules`).
pub(crate) fn load(path: &Arg, modules: &mut Modules, buf: &mut [u8], header_only: bool) -> Result<Dump, Error> {
    let mut f = sys::File::open(&[path.as_bytes()], Mode::Read).map_err(|e| Error::env(format_args!("{path}: {e}")))?;
    let mut p = DumpParser::new();
    let mut d = Dump {
        h: Header::default(),
        sites: Vec::with_capacity(if header_only { 0 } else { TRACE_MAX_SITES }),
        sites_dropped: 0,
        complete: false,
        malformed: 0,
        maps: Vec::new(),
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
    d.maps = maps;
    for i in 0..d.sites.len() {
        let (module, off) = d.place(d.sites[i].rec.addr);
        d.sites[i].module = module;
        d.sites[i].off = off;
    }
    Ok(d)
}

/// One line of a report: a site, and with two dumps its growth since the first.
#[derive(Clone, Copy, Default)]
pub(crate) struct Row {
    pub(crate) site: Site,
    pub(crate) d_count: i64,
    pub(crate) d_bytes: i64,
    /// The first dump did not have the site.
    pub(crate) new: bool,
}

/// The rows of a report: `last`'s sites by bytes; with a `first` dump, the sites that grew
/// since it, by growth. Sites are matched by (file, offset), so two runs compare.
pub(crate) fn compare(last: &Dump, first: Option<&Dump>) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::with_capacity(TRACE_MAX_SITES);
    match first {
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
    rows
}

/// `alive`, `exited` (wrote its exit dump), `exec'd` (replaced by a newer program in the
/// same process), or `died` (gone without an exit dump: killed, crashed, `_exit`).
pub(crate) fn state<R: Root>(root: &R, h: &Header, replaced: bool) -> &'static str {
    if h.reason.as_str() == "exit" {
        return "exited";
    }
    let mut buf = [0u8; 1024];
    let n = root
        .open(&format!("/proc/{}/stat", h.pid()))
        .ok()
        .and_then(|mut f| crate::sample::ReadAt::read_at(&mut f, &mut buf, 0).ok())
        .unwrap_or(0);
    // The same process only if its start time is the dump's; ended (zombie, dead) is not.
    let same =
        proc_pid::stat(&buf[..n]).is_some_and(|s| s.starttime == h.starttime() && !matches!(s.state, b'Z' | b'X'));
    match (same, replaced) {
        (true, true) => "exec'd",
        (true, false) => "alive",
        (false, _) => "died",
    }
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
    #[cfg_attr(miri, ignore = "writes a dump file, which miri's isolation refuses")]
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

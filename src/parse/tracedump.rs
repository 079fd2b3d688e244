//! A dump of kleak's preload tracer (`libkleak_trace.so`), the format in the README:
//!
//! ```text
//! # kleak-trace dump 1
//! pid 4242                                   header: `key value`, one per line
//! ...
//! --- sites address count bytes oldest_secs
//! 0x55d0c0a01234 100 10000 12.345            one line per call site
//! --- maps
//! 55d0c0a00000-55d0c0a02000 r-xp 00001000 fe:00 123  /usr/bin/x   (/proc/PID/maps)
//! --- end
//! ```
//!
//! The parser is told one line at a time and yields a record that borrows the line. It
//! knows which section it is in; a line that makes no sense there is counted, never a
//! panic. A dump without `--- end` was cut short (the writer renames a dump into place
//! only when it is complete, so that only happens to a copy).

use super::{parse_hex, parse_u64, trim, LineStats, Tokens};

/// One line of a dump, as understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpLine<'a> {
    /// `key value` from the header (the value trimmed; may be empty).
    Header {
        /// The key, e.g. `live_bytes`.
        key: &'a [u8],
        /// The rest of the line.
        value: &'a [u8],
    },
    /// A call site's outstanding allocations.
    Site(SiteRecord),
    /// A line of the process's memory map.
    Map(MapRecord<'a>),
    /// `--- end`: the dump is complete.
    End,
}

/// Outstanding allocations of one call site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SiteRecord {
    /// The return address in the allocating function (0: sites the tracer folded together
    /// because its grouping table was full).
    pub addr: u64,
    /// Live allocations.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Age of the oldest, in milliseconds.
    pub oldest_ms: u64,
}

/// One mapping from the dump's copy of /proc/PID/maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRecord<'a> {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Executable (`x` in the permissions)?
    pub exec: bool,
    /// Offset in the file of `start`.
    pub offset: u64,
    /// The file (`/usr/lib/libc.so.6`), a pseudo name (`[heap]`), or empty; a
    /// ` (deleted)` suffix is removed.
    pub path: &'a [u8],
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Section {
    #[default]
    Start,
    Header,
    Sites,
    Maps,
    Done,
}

/// The dump format versions this parser reads.
pub const VERSION: u64 = 1;

/// What went wrong with a dump as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpError {
    /// The first line is not `# kleak-trace dump N`.
    NotADump,
    /// A version this kleak does not know.
    Version(u64),
}

/// Line-by-line reader of a dump.
#[derive(Debug, Default)]
pub struct DumpParser {
    section: Section,
    /// Lines seen and skipped.
    pub stats: LineStats,
    /// Set when the first line says this is no dump (or a newer one).
    pub error: Option<DumpError>,
}

impl DumpParser {
    /// A parser at the start of a dump.
    pub fn new() -> Self {
        DumpParser::default()
    }

    /// True once `--- end` was seen.
    pub fn complete(&self) -> bool {
        self.section == Section::Done
    }

    /// Parses one line (without its newline).
    pub fn line<'a>(&mut self, raw: &'a [u8]) -> Option<DumpLine<'a>> {
        self.stats.lines += 1;
        let line = trim(raw);
        if self.section == Section::Start {
            let mut t = Tokens::new(line);
            let ok = t.next() == Some(b"#") && t.next() == Some(b"kleak-trace") && t.next() == Some(b"dump");
            match (ok, t.next().and_then(parse_u64)) {
                (true, Some(VERSION)) => self.section = Section::Header,
                (true, Some(v)) => self.error = Some(DumpError::Version(v)),
                _ => self.error = Some(DumpError::NotADump),
            }
            if self.error.is_some() {
                self.section = Section::Done;
            }
            return None;
        }
        if self.error.is_some() {
            return None;
        }
        if let Some(heading) = line.strip_prefix(b"--- ") {
            let next = match Tokens::new(heading).next() {
                Some(b"sites") => Section::Sites,
                Some(b"maps") => Section::Maps,
                Some(b"end") => Section::Done,
                _ => {
                    self.stats.malformed();
                    return None;
                }
            };
            self.section = next;
            return (next == Section::Done).then_some(DumpLine::End);
        }
        let rec = match self.section {
            Section::Header => header(line),
            Section::Sites => site(line).map(DumpLine::Site),
            // Anonymous mappings are lines too: keep them (as records with no path).
            Section::Maps => map(raw).map(DumpLine::Map),
            Section::Start | Section::Done => None,
        };
        if rec.is_none() && !line.is_empty() {
            self.stats.malformed();
        }
        rec
    }
}

fn header(line: &[u8]) -> Option<DumpLine<'_>> {
    let mut t = Tokens::new(line);
    let key = t.next()?;
    Some(DumpLine::Header { key, value: t.rest() })
}

/// `0x55d0c0a01234 100 10000 12.345`
fn site(line: &[u8]) -> Option<SiteRecord> {
    let mut t = Tokens::new(line);
    let addr = parse_hex(t.next()?.strip_prefix(b"0x")?)?;
    let count = parse_u64(t.next()?)?;
    let bytes = parse_u64(t.next()?)?;
    let oldest_ms = parse_millis(t.next()?)?;
    Some(SiteRecord { addr, count, bytes, oldest_ms })
}

/// `start-end perms offset dev inode [path]`; the path may hold spaces.
fn map(raw: &[u8]) -> Option<MapRecord<'_>> {
    let mut t = Tokens::new(raw);
    let range = t.next()?;
    let dash = range.iter().position(|&b| b == b'-')?;
    let start = parse_hex(&range[..dash])?;
    let end = parse_hex(&range[dash + 1..])?;
    let perms = t.next()?;
    let offset = parse_hex(t.next()?)?;
    let _dev = t.next()?;
    let _inode = parse_u64(t.next()?)?;
    let mut path = trim(t.rest());
    if let Some(p) = path.strip_suffix(b" (deleted)") {
        path = p;
    }
    Some(MapRecord { start, end, exec: perms.get(2) == Some(&b'x'), offset, path })
}

/// `12.345` seconds → 12345 ms (more decimals are cut, fewer are fine).
pub fn parse_millis(tok: &[u8]) -> Option<u64> {
    let (int, frac) = match tok.iter().position(|&b| b == b'.') {
        Some(p) => (&tok[..p], &tok[p + 1..]),
        None => (tok, &[][..]),
    };
    let mut ms = parse_u64(int)?.checked_mul(1000)?;
    let mut scale = 100;
    for &b in frac.iter().take(3) {
        ms = ms.checked_add(b.is_ascii_digit().then(|| (b - b'0') as u64)? * scale)?;
        scale /= 10;
    }
    Some(ms)
}

#[cfg(test)]
mod test {
    use super::*;

    /// A dump as the x86_64 library wrote it for tests/fixtures/trace/leaky.c (shortened).
    const DUMP: &str = "# kleak-trace dump 1
pid 14349
instance 3119104173
seq 0
reason exit
exe /tmp/kt/leaky
cmdline ./kt/leaky leaks
starttime 311910
realtime 1795319585.935
monotonic 3119.100
tracing on
slots 262144
slot_bytes 32
live_allocs 20
live_bytes 5480
untracked_allocs 0
untracked_bytes 0
unknown_frees 0
sites 2
sites_folded 0
inexact_shards 0
--- sites address count bytes oldest_secs
0x55ebb7bf43f1 10 4480 0.000
0x55ebb7bf42d1 10 1000 12.5
--- maps
55ebb7bf3000-55ebb7bf4000 r--p 00000000 fe:00 10010723                   /tmp/kt/leaky
55ebb7bf4000-55ebb7bf5000 r-xp 00001000 fe:00 10010723                   /tmp/kt/leaky
55ebd2fd8000-55ebd2ff9000 rw-p 00000000 00:00 0                          [heap]
7f27a44e3000-7f27a44e6000 rw-p 00000000 00:00 0 
7f27a4600000-7f27a4628000 r-xp 00028000 fe:00 1234   /opt/my app/lib x.so (deleted)
--- end
";

    fn parse(text: &str) -> (Vec<DumpLine<'_>>, DumpParser) {
        let mut p = DumpParser::new();
        let v = text.lines().filter_map(|l| p.line(l.as_bytes())).collect();
        (v, p)
    }

    #[test]
    fn millis_near_the_top_of_u64_do_not_overflow() {
        // Found by fuzzing (tests/fuzz-regressions/trace_dump/).
        assert_eq!(parse_millis(b"18446744073709551.615"), Some(u64::MAX));
        assert_eq!(parse_millis(b"18446744073709551.999"), None);
        assert_eq!(parse_millis(b"12.345"), Some(12345));
        // A non-digit after the point (then_some evaluated b - b'0' first and underflowed).
        assert_eq!(parse_millis(b"1.+"), None);
    }

    #[test]
    fn a_whole_dump_parses_into_header_sites_and_maps() {
        let (v, p) = parse(DUMP);
        assert!(p.complete() && p.error.is_none() && p.stats.malformed == 0);
        assert_eq!(v[0], DumpLine::Header { key: b"pid", value: b"14349" });
        assert!(v.contains(&DumpLine::Header { key: b"cmdline", value: b"./kt/leaky leaks" }));
        let sites: Vec<_> = v.iter().filter_map(|l| if let DumpLine::Site(s) = l { Some(*s) } else { None }).collect();
        assert_eq!(sites[0], SiteRecord { addr: 0x55eb_b7bf_43f1, count: 10, bytes: 4480, oldest_ms: 0 });
        assert_eq!(sites[1].oldest_ms, 12_500);
        let maps: Vec<_> = v.iter().filter_map(|l| if let DumpLine::Map(m) = l { Some(*m) } else { None }).collect();
        assert_eq!(maps.len(), 5);
        assert_eq!(
            maps[1],
            MapRecord {
                start: 0x55eb_b7bf_4000,
                end: 0x55eb_b7bf_5000,
                exec: true,
                offset: 0x1000,
                path: b"/tmp/kt/leaky"
            }
        );
        assert_eq!(maps[2].path, b"[heap]");
        assert_eq!(maps[3].path, b"");
        assert_eq!(maps[4].path, b"/opt/my app/lib x.so");
        assert_eq!(v.last(), Some(&DumpLine::End));
    }

    #[test]
    fn a_dump_cut_short_is_incomplete_but_keeps_what_it_had() {
        let cut = &DUMP[..DUMP.find("--- maps").unwrap()];
        let (v, p) = parse(cut);
        assert!(!p.complete());
        assert_eq!(v.iter().filter(|l| matches!(l, DumpLine::Site(_))).count(), 2);
    }

    #[test]
    fn other_files_and_newer_versions_are_refused() {
        assert_eq!(parse("slabinfo - version: 2.1\n").1.error, Some(DumpError::NotADump));
        assert_eq!(parse("# kleak-trace dump 2\npid 1\n").1.error, Some(DumpError::Version(2)));
        assert!(parse("# kleak-trace dump 2\npid 1\n").0.is_empty());
    }

    #[test]
    fn garbage_lines_are_counted_not_fatal() {
        let text = "# kleak-trace dump 1\npid 1\n--- sites address count bytes oldest_secs\nzzz\n0x10 1 2\n0x20 1 8 0.5\n--- bogus\n--- end\n";
        let (v, p) = parse(text);
        assert_eq!(p.stats.malformed, 3);
        assert!(v.contains(&DumpLine::Site(SiteRecord { addr: 0x20, count: 1, bytes: 8, oldest_ms: 500 })));
    }

    #[test]
    fn numbers_in_dumps() {
        assert_eq!(parse_hex(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_hex(b"1ffffffffffffffff"), None);
        assert_eq!(parse_hex(b"xyz"), None);
        assert_eq!(parse_millis(b"3.5"), Some(3500));
        assert_eq!(parse_millis(b"3.14159"), Some(3141));
        assert_eq!(parse_millis(b"7"), Some(7000));
        assert_eq!(parse_millis(b"a.1"), None);
    }
}

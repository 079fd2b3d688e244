//! `/proc/slabinfo`, every version real kernels printed.
//!
//! | header                      | kernels         | row                                                      |
//! |-----------------------------|-----------------|----------------------------------------------------------|
//! | `1.1`, `1.1 (SMP)`, `1.1 (statistics)` | 2.4  | `name active num objsize active_slabs num_slabs pages [: …]` |
//! | `2.0`                       | 2.6.0–2.6.9     | as 2.1 (its header swaps the tunables labels; values are not) |
//! | `2.1`                       | 2.6.10–today    | `name active num objsize objperslab pages : tunables l b s : slabdata a n s` |
//! | `2.1 (statistics)`          | SLAB + DEBUG_SLAB | 2.1 plus `: globalstat …` and `: cpustat …`            |
//!
//! The meaning of the first columns is read from the `# name` header where there is one,
//! so a future extra column does not shift the rest; sections after `:` are found by their
//! label. Rows a mail client wrapped in two are joined again; U+00A0 padding is whitespace.

use super::{parse_u64, trim, LineStats, Tokens};
use crate::limits::WRAPPED_ROW_BYTES;

/// One cache row, borrowing its name from the line it came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlabRecord<'a> {
    /// Cache name (may contain `:` and, in theory, spaces).
    pub name: &'a [u8],
    /// Objects in use (SLUB also counts objects in per-CPU slabs as active).
    pub active_objs: u64,
    /// Objects allocated in slabs, used or free.
    pub num_objs: u64,
    /// Bytes per object, including allocator metadata.
    pub objsize: u64,
    /// Objects per slab.
    pub objperslab: u64,
    /// Pages per slab (SLUB: the preferred order).
    pub pagesperslab: u64,
    /// Slabs holding at least one object in use.
    pub active_slabs: u64,
    /// Slabs allocated.
    pub num_slabs: u64,
    /// The layout the row was read with ([`SlabinfoParser::layout`]).
    pub layout: u64,
}

/// Bytes of one cache (objects or slabs) above which a row is impossible, not big: 1 PiB,
/// beyond any machine's memory. Below it, sums over [`crate::limits::MAX_CACHES`] caches
/// fit a u64 and every figure fits an i64 (deltas are signed).
pub const MAX_CACHE_BYTES: u64 = 1 << 50;

/// Largest page kleak assumes when it bounds a row's slab memory (arm64's 64 KiB).
const MAX_PAGE_BYTES: u64 = 64 * 1024;

impl SlabRecord<'_> {
    /// False for a row no kernel prints: more objects (or slabs) in use than allocated,
    /// or a size past [`MAX_CACHE_BYTES`] (u64::MAX and overflowing products included).
    /// Such a row is skipped and counted, never shown as a negative or wrapped number.
    pub fn possible(&self) -> bool {
        let bytes = |n: u64, size: u64| n.checked_mul(size).is_some_and(|b| b <= MAX_CACHE_BYTES);
        self.active_objs <= self.num_objs
            && self.active_slabs <= self.num_slabs
            && bytes(self.num_objs, self.objsize)
            && self.num_slabs.checked_mul(self.pagesperslab).is_some_and(|p| bytes(p, MAX_PAGE_BYTES))
    }
}

/// The version line of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// 1 (2.4 kernels) or 2 (2.6 onwards).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// `(statistics)`: SLAB with CONFIG_DEBUG_SLAB, or 2.4 with STATS.
    pub statistics: bool,
    /// `(SMP)` (2.4 only).
    pub smp: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    ActiveObjs,
    NumObjs,
    ObjSize,
    ObjPerSlab,
    PagesPerSlab,
    ActiveSlabs,
    NumSlabs,
    Ignore,
}

/// Columns before the first `:` that kleak maps (more are tolerated and ignored).
const MAX_BASE: usize = 8;

const V2_BASE: [Field; 5] = [Field::ActiveObjs, Field::NumObjs, Field::ObjSize, Field::ObjPerSlab, Field::PagesPerSlab];
const V1_BASE: [Field; 6] =
    [Field::ActiveObjs, Field::NumObjs, Field::ObjSize, Field::ActiveSlabs, Field::NumSlabs, Field::PagesPerSlab];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Slabdata,
    Tunables,
    Other,
}

enum Row<'a> {
    Ok(SlabRecord<'a>),
    /// Everything so far was valid but required fields are missing: the line may have been
    /// wrapped.
    Incomplete,
    Bad,
}

/// Push parser for /proc/slabinfo; see the module docs.
pub struct SlabinfoParser {
    /// Line counts and the first malformed line.
    pub stats: LineStats,
    /// Rows parsed.
    pub rows: u32,
    /// Rows with impossible numbers ([`SlabRecord::possible`]), skipped (and counted as
    /// malformed).
    pub impossible: u32,
    /// Rows rebuilt from two or more wrapped lines.
    pub joined: u32,
    /// The version line, once seen.
    pub version: Option<Version>,
    /// True once a row showed non-zero tunables: the SLAB allocator (SLUB prints zeros).
    pub slab_allocator: bool,
    base: [Field; MAX_BASE],
    n_base: usize,
    layout: u64,
    header_labels: bool,
    in_header: bool,
    header_colon: bool,
    pending: heapless::Vec<u8, WRAPPED_ROW_BYTES>,
    pending_line: u32,
}

impl Default for SlabinfoParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SlabinfoParser {
    /// A parser expecting any version (2.1 until a version line says otherwise).
    pub fn new() -> Self {
        let mut p = SlabinfoParser {
            stats: LineStats::default(),
            rows: 0,
            impossible: 0,
            joined: 0,
            version: None,
            slab_allocator: false,
            base: [Field::Ignore; MAX_BASE],
            n_base: 0,
            layout: 0,
            header_labels: false,
            in_header: false,
            header_colon: false,
            pending: heapless::Vec::new(),
            pending_line: 0,
        };
        p.set_base(&V2_BASE);
        p
    }

    /// Forgets per-file state before a new read of the file (counters are kept).
    pub fn restart(&mut self) {
        let mut stats = self.stats;
        stats.restart();
        *self = SlabinfoParser { stats, ..SlabinfoParser::new() };
    }

    fn set_base(&mut self, fields: &[Field]) {
        self.base = [Field::Ignore; MAX_BASE];
        self.base[..fields.len()].copy_from_slice(fields);
        self.n_base = fields.len();
        self.relayout();
    }

    /// What a row's bytes mean here: the version's major number and the header's columns,
    /// as a number that changes when they do. A row is only as unchanged as the bytes *and*
    /// the layout it was read with ([`crate::table::SlabTable::known`]).
    #[inline]
    pub fn layout(&self) -> u64 {
        self.layout
    }

    fn relayout(&mut self) {
        let mut h = self.is_v1() as u64 + 1;
        for f in &self.base[..self.n_base] {
            h = h.wrapping_mul(0x100_0000_01b3) ^ (*f as u64 + 1);
        }
        self.layout = h.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ self.n_base as u64;
    }

    fn is_v1(&self) -> bool {
        matches!(self.version, Some(Version { major: 1, .. }))
    }

    /// True when the next line can only be a cache row: the version is known, no header is
    /// being read and no wrapped row waits for its second half.
    #[inline]
    pub fn at_rows(&self) -> bool {
        self.version.is_some() && !self.in_header && self.pending.is_empty()
    }

    /// Feeds one line (without its newline); calls `emit` for a cache row.
    pub fn line(&mut self, line: &[u8], emit: &mut dyn FnMut(&SlabRecord<'_>)) {
        self.stats.lines += 1;
        let t = trim(line);
        if t.is_empty() {
            self.flush_pending(emit);
            self.in_header = false;
            return;
        }
        if let Some(v) = t.strip_prefix(b"slabinfo - version:") {
            self.flush_pending(emit);
            self.version(v);
            return;
        }
        if t[0] == b'#' {
            self.flush_pending(emit);
            let mut toks = Tokens::new(&t[1..]);
            if toks.next() == Some(b"name") {
                self.header_start();
                self.header_labels(toks);
            }
            return;
        }
        if self.in_header {
            let first = Tokens::new(t).next().unwrap_or(b"");
            if first.first() == Some(&b'<') || is_section(first) || first == b":" {
                self.header_labels(Tokens::new(t));
                return;
            }
            self.in_header = false;
        }
        self.row(t, emit);
    }

    /// Ends the input: a row still waiting for its wrapped half is parsed as it is.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&SlabRecord<'_>)) {
        self.flush_pending(emit);
    }

    fn version(&mut self, v: &[u8]) {
        let mut toks = Tokens::new(v);
        let num = toks.next().unwrap_or(b"");
        let (major, minor) = match num.iter().position(|&b| b == b'.') {
            Some(p) => (parse_u64(&num[..p]), parse_u64(&num[p + 1..])),
            None => (parse_u64(num), Some(0)),
        };
        let rest = toks.rest();
        let has = |w: &[u8]| rest.windows(w.len()).any(|x| x == w);
        let version = Version {
            major: major.unwrap_or(2).min(255) as u8,
            minor: minor.unwrap_or(0).min(255) as u8,
            statistics: has(b"statistics"),
            smp: has(b"SMP"),
        };
        if major.is_none() {
            self.stats.malformed();
        }
        self.version = Some(version);
        self.header_labels = false;
        if version.major == 1 {
            // 2.4 kernels had only the SLAB allocator.
            self.slab_allocator = true;
            self.set_base(&V1_BASE);
        } else {
            self.set_base(&V2_BASE);
        }
    }

    fn header_start(&mut self) {
        self.in_header = true;
        self.header_colon = false;
        self.header_labels = false;
        self.n_base = 0;
        self.base = [Field::Ignore; MAX_BASE];
        self.relayout();
    }

    fn header_labels(&mut self, toks: Tokens<'_>) {
        for tok in toks {
            if tok == b":" {
                self.header_colon = true;
            }
            if self.header_colon || tok.first() != Some(&b'<') {
                continue;
            }
            let field = match tok {
                b"<active_objs>" => Field::ActiveObjs,
                b"<num_objs>" => Field::NumObjs,
                b"<objsize>" => Field::ObjSize,
                b"<objperslab>" => Field::ObjPerSlab,
                b"<pagesperslab>" => Field::PagesPerSlab,
                _ => Field::Ignore,
            };
            if self.n_base < MAX_BASE {
                self.base[self.n_base] = field;
                self.n_base += 1;
            }
            self.header_labels = true;
        }
        self.relayout();
        if !self.header_labels && self.header_colon {
            // A header without column labels: keep the version's default layout.
            self.set_base(if self.is_v1() { &V1_BASE } else { &V2_BASE });
        }
    }

    fn row(&mut self, t: &[u8], emit: &mut dyn FnMut(&SlabRecord<'_>)) {
        if !self.pending.is_empty() {
            let mut joined = [0u8; 2 * WRAPPED_ROW_BYTES];
            let (p, n) = (self.pending.len(), t.len());
            if p + 1 + n <= joined.len() {
                joined[..p].copy_from_slice(&self.pending);
                joined[p] = b' ';
                joined[p + 1..p + 1 + n].copy_from_slice(t);
                let joined = &joined[..p + 1 + n];
                match self.parse_row(joined, false) {
                    Row::Ok(rec) => {
                        self.pending.clear();
                        self.joined += 1;
                        self.accept(&rec, emit);
                        return;
                    }
                    Row::Incomplete if joined.len() <= WRAPPED_ROW_BYTES => {
                        self.pending.clear();
                        let _ = self.pending.extend_from_slice(joined);
                        return;
                    }
                    _ => {}
                }
            }
            self.flush_pending(emit);
        }
        match self.parse_row(t, false) {
            Row::Ok(rec) => self.accept(&rec, emit),
            Row::Incomplete if t.len() <= WRAPPED_ROW_BYTES => {
                let _ = self.pending.extend_from_slice(t);
                self.pending_line = self.stats.lines;
            }
            _ => self.stats.malformed(),
        }
    }

    /// A wrapped row that found no continuation: take it if it is complete enough alone.
    fn flush_pending(&mut self, emit: &mut dyn FnMut(&SlabRecord<'_>)) {
        if self.pending.is_empty() {
            return;
        }
        let pending = core::mem::take(&mut self.pending);
        match self.parse_row(&pending, true) {
            Row::Ok(rec) => self.accept(&rec, emit),
            _ => {
                // Attribute the failure to the line where the row started.
                let lines = self.stats.lines;
                self.stats.lines = self.pending_line;
                self.stats.malformed();
                self.stats.lines = lines;
            }
        }
    }

    fn accept(&mut self, rec: &SlabRecord<'_>, emit: &mut dyn FnMut(&SlabRecord<'_>)) {
        if !rec.possible() {
            self.impossible += 1;
            self.stats.malformed();
            return;
        }
        self.rows += 1;
        emit(rec);
    }

    /// Parses one (possibly re-joined) row. `last`: no continuation can follow.
    fn parse_row<'a>(&mut self, t: &'a [u8], last: bool) -> Row<'a> {
        let v1 = self.is_v1();
        let mut toks = Tokens::new(t);
        let Some(first) = toks.next() else { return Row::Bad };
        if first == b":" || first.first() == Some(&b'<') {
            return Row::Bad;
        }
        // The name runs until the first number (names with spaces are tolerated).
        let mut name_end = first.len();
        let mut rec = SlabRecord { layout: self.layout, ..SlabRecord::default() };
        let mut n_base = 0;
        let mut saw_colon = false;
        while let Some(tok) = toks.next() {
            if tok == b":" {
                saw_colon = true;
                break;
            }
            let Some(v) = parse_u64(tok) else {
                if n_base == 0 {
                    name_end = toks.offset();
                    continue;
                }
                return Row::Bad;
            };
            if n_base < self.n_base {
                set_field(&mut rec, self.base[n_base], v);
            }
            n_base += 1;
        }
        rec.name = &t[..name_end];
        let required = self.n_base.min(if v1 { V1_BASE.len() } else { V2_BASE.len() });
        if n_base < required {
            return if saw_colon || last { Row::Bad } else { Row::Incomplete };
        }
        // Sections: `: label n n n` (2.x) or `: n n` (1.x, unlabelled).
        let mut section = Section::Other;
        let mut label_next = saw_colon;
        let mut slabdata = 0;
        for tok in toks {
            if tok == b":" {
                label_next = true;
                section = Section::Other;
                continue;
            }
            let num = parse_u64(tok);
            if label_next {
                label_next = false;
                if num.is_none() {
                    section = match tok {
                        b"slabdata" => Section::Slabdata,
                        b"tunables" => Section::Tunables,
                        _ => Section::Other,
                    };
                    continue;
                }
            }
            let Some(v) = num else { return Row::Bad };
            match section {
                Section::Slabdata => {
                    match slabdata {
                        0 => rec.active_slabs = v,
                        1 => rec.num_slabs = v,
                        _ => {}
                    }
                    slabdata += 1;
                }
                Section::Tunables if v != 0 => self.slab_allocator = true,
                _ => {}
            }
        }
        if v1 {
            rec.objperslab = rec.num_objs.checked_div(rec.num_slabs).unwrap_or(0);
        } else if slabdata < 3 && !(last && slabdata == 2) {
            return if last { Row::Bad } else { Row::Incomplete };
        }
        Row::Ok(rec)
    }
}

fn set_field(rec: &mut SlabRecord<'_>, f: Field, v: u64) {
    match f {
        Field::ActiveObjs => rec.active_objs = v,
        Field::NumObjs => rec.num_objs = v,
        Field::ObjSize => rec.objsize = v,
        Field::ObjPerSlab => rec.objperslab = v,
        Field::PagesPerSlab => rec.pagesperslab = v,
        Field::ActiveSlabs => rec.active_slabs = v,
        Field::NumSlabs => rec.num_slabs = v,
        Field::Ignore => {}
    }
}

fn is_section(tok: &[u8]) -> bool {
    matches!(tok, b"tunables" | b"slabdata" | b"globalstat" | b"cpustat")
}

#[cfg(test)]
mod test {
    use super::*;

    fn parse(text: &str) -> (Vec<(String, [u64; 7])>, SlabinfoParser) {
        let mut p = SlabinfoParser::new();
        let mut out = Vec::new();
        let mut emit = |r: &SlabRecord<'_>| {
            out.push((
                String::from_utf8_lossy(r.name).into_owned(),
                [r.active_objs, r.num_objs, r.objsize, r.objperslab, r.pagesperslab, r.active_slabs, r.num_slabs],
            ))
        };
        for l in text.split('\n') {
            p.line(l.as_bytes(), &mut emit);
        }
        p.finish(&mut emit);
        (out, p)
    }

    // Lines below are taken from tests/corpus/slabinfo (file named in each test).

    #[test]
    fn v2_1_slub_row() {
        // procfs_1.txt
        let (rows, p) = parse(
            "slabinfo - version: 2.1\n\
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n\
iwl_cmd_pool:0000:04:00.0      0      0    320   25    2 : tunables    0    0    0 : slabdata      0      0      0\n\
kmalloc-8k           224    224   8192    4    8 : tunables    0    0    0 : slabdata     56     56      0",
        );
        assert_eq!(p.stats.malformed, 0);
        assert_eq!(rows[0].0, "iwl_cmd_pool:0000:04:00.0");
        assert_eq!(rows[1], ("kmalloc-8k".into(), [224, 224, 8192, 4, 8, 56, 56]));
        assert!(!p.slab_allocator);
    }

    #[test]
    fn v2_1_slab_with_tunables_and_sharedavail() {
        // innofirmware-zynq_1.txt
        let (rows, p) = parse(
            "slabinfo - version: 2.1\n\
eventpoll_pwq         39     72     56   72    1 : tunables  120   60    8 : slabdata      1      1     18",
        );
        assert_eq!(rows[0].1, [39, 72, 56, 72, 1, 1, 1]);
        assert!(p.slab_allocator);
    }

    #[test]
    fn v2_0_swapped_tunables_labels_do_not_shift_values() {
        // lkml2004_1.txt
        let (rows, _) = parse(
            "slabinfo - version: 2.0\n\
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <batchcount> <limit> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n\
biovec-BIO_MAX_PAGES    256    256   3072    2    2 : tunables   24   12    8 : slabdata    128    128      0",
        );
        assert_eq!(rows[0], ("biovec-BIO_MAX_PAGES".into(), [256, 256, 3072, 2, 2, 128, 128]));
    }

    #[test]
    fn v1_1_plain_smp_and_statistics() {
        // lkml2004_2.txt, lkml2003_1.txt, lkml2002_1.txt
        let (rows, p) = parse("slabinfo - version: 1.1\ninode_cache       369522 491666    512 70238  70238    1");
        assert_eq!(rows[0].1, [369522, 491666, 512, 491666 / 70238, 1, 70238, 70238]);
        assert_eq!(p.version.map(|v| v.major), Some(1));
        let (rows, p) =
            parse("slabinfo - version: 1.1 (SMP)\nkmem_cache            80     80    244    5    5    1 :  252  126");
        assert_eq!(rows[0].1, [80, 80, 244, 16, 1, 5, 5]);
        assert!(p.version.unwrap().smp);
        let (rows, p) = parse(
            "slabinfo - version: 1.1 (statistics)\nkmem_cache            58     84    136    3    3    1 :     58      58     3    0    0",
        );
        assert_eq!(rows[0].1, [58, 84, 136, 28, 1, 3, 3]);
        assert!(p.version.unwrap().statistics);
    }

    #[test]
    fn v2_1_statistics_tab_indented_with_wrapped_header() {
        // ruijie-blog_1.txt
        let (rows, p) = parse(
            "\tslabinfo - version: 2.1 (statistics)\n\
\t# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail> : \n\
\tglobalstat <listallocs> <maxobjs> <grown> <reaped> <error> <maxfreeable> <nodeallocs> <remotefrees> <alienoverflow> : cpustat <allochit> <allocmiss> <freehit> <freemiss>\n\
\ttask_struct           88     98   1088    7    2 : tunables   24   12    0 : slabdata     14     14      0 : globalstat     133     98    17    3    0    0    0    0    0 : cpustat   7597     19   7534      1",
        );
        assert_eq!(p.stats.malformed, 0);
        assert_eq!(rows, vec![("task_struct".into(), [88, 98, 1088, 7, 2, 14, 14])]);
    }

    #[test]
    fn mail_wrapped_rows_are_joined() {
        // lkml-xfs_2.txt: header in three lines, every row in two
        let (rows, p) = parse(
            "slabinfo - version: 2.1\n\
# name            <active_objs> <num_objs> <objsize> <objperslab>\n\
<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> :\n\
slabdata <active_slabs> <num_slabs> <sharedavail>\n\
nf_conntrack       15716  20349    320   51    4 : tunables    0    0\n\
  0 : slabdata    399    399      0\n\
au_finfo               0      0    192   42    2 : tunables    0    0\n\
  0 : slabdata      0      0      0",
        );
        assert_eq!(p.stats.malformed, 0);
        assert_eq!(p.joined, 2);
        assert_eq!(rows[0], ("nf_conntrack".into(), [15716, 20349, 320, 51, 4, 399, 399]));
        assert_eq!(rows[1].0, "au_finfo");
    }

    #[test]
    fn nbsp_padding_is_whitespace() {
        // lkml-xfs_3.txt
        let (rows, p) = parse(
            "slabinfo - version: 2.1\n\
nf_conntrack \u{a0} \u{a0} \u{a0} 15716 \u{a0}20349 \u{a0} \u{a0}320 \u{a0} 51 \u{a0} \u{a0}4 : tunables \u{a0} \u{a0}0 \u{a0} \u{a0}0 \u{a0} \u{a0}0 : slabdata \u{a0} \u{a0}399 \u{a0} \u{a0}399 \u{a0} \u{a0} \u{a0}0",
        );
        assert_eq!(p.stats.malformed, 0);
        assert_eq!(rows[0].1, [15716, 20349, 320, 51, 4, 399, 399]);
    }

    #[test]
    fn truncated_paste_marker_is_counted_not_fatal() {
        // android-blog_1.txt ends with a line "..."
        let (rows, p) = parse(
            "slabinfo - version: 2.1\n\
ashmem_area_cache      0      0    296   27    2 : tunables    0    0    0 : slabdata      0      0      0\n\
...",
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(p.stats.malformed, 1);
        assert_eq!(p.stats.first_malformed, 3);
    }

    #[test]
    fn extra_header_column_is_read_by_label() {
        // A proposed 2.2 layout with a column before <objsize>: the mapping follows the header.
        let (rows, p) = parse(
            "slabinfo - version: 2.2\n\
# name <active_objs> <num_objs> <flags> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n\
foo 10 20 99 64 64 1 : tunables 0 0 0 : slabdata 1 1 0",
        );
        assert_eq!(p.stats.malformed, 0);
        assert_eq!(rows[0].1, [10, 20, 64, 64, 1, 1, 1]);
    }

    #[test]
    fn garbage_lines_are_counted() {
        let (rows, p) = parse("slabinfo - version: 2.1\nfoo bar baz\nx 1 2 3 4 5 : tunables 0 0 0 : slabdata 1 z 0\n");
        assert!(rows.is_empty());
        assert_eq!(p.stats.malformed, 2);
    }
}

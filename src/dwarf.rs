//! DWARF line tables (`.debug_line`, versions 2 to 5): which source file and line an
//! address of a program came from, for `kleak trace report`.
//!
//! The reader walks each unit's line program once for all the addresses asked about,
//! through a [`Bytes`] source read in small windows (a file section read with `pread`, or
//! a decompressed section held by the caller), so memory is a few hundred bytes whatever
//! the section's size. Nothing is kept per row: a row answers every asked address that
//! falls between it and the next row of its sequence. A hit keeps the unit's offset and
//! the file's index; the file's name is read afterwards ([`file_name`]) from the unit's
//! header, with v5's `DW_FORM_line_strp` / `DW_FORM_strp` names from `.debug_line_str` /
//! `.debug_str`.
//!
//! Every malformed input is a counted error ([`Stats`]), never a panic: a unit whose
//! header makes no sense is skipped by its length; a program that runs off its unit ends
//! there. The `dwarf_lines` fuzz target holds it to that.

use crate::limits::DWARF_MAX_QUERIES;

/// A source of section bytes, read at an offset.
pub trait Bytes {
    /// Copies bytes at `off` into `buf`; the count copied (0 past the end or on error).
    fn read_at(&self, off: u64, buf: &mut [u8]) -> usize;
    /// The section's length.
    fn size(&self) -> u64;
}

impl Bytes for &[u8] {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> usize {
        let Some(rest) = usize::try_from(off).ok().and_then(|o| self.get(o..)) else { return 0 };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        n
    }
    fn size(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
}

impl Bytes for Vec<u8> {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> usize {
        self.as_slice().read_at(off, buf)
    }
    fn size(&self) -> u64 {
        self.as_slice().len() as u64
    }
}

/// What a walk over a line table met.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Units read.
    pub units: u32,
    /// Units skipped or cut short: a header or program that makes no sense.
    pub malformed: u32,
    /// Units of a version this reader does not know (not 2–5).
    pub unknown_version: u32,
}

/// Where an address came from: a line of a file of one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The line (1-based; 0: the compiler gave none).
    pub line: u32,
    /// The unit's offset in `.debug_line` (its header holds the file table).
    pub unit: u64,
    /// The file's index as the program used it (1-based before v5, 0-based from v5).
    pub file: u64,
}

/// Why a unit was given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bad {
    /// Ran past the unit or the section.
    End,
    /// A field with a value no unit may hold.
    Header,
    /// A version other than 2–5.
    Version,
}

/// A cursor over `[pos, end)` of a [`Bytes`], read through a small window.
struct Cur<'a> {
    src: &'a dyn Bytes,
    pos: u64,
    end: u64,
    win: [u8; 256],
    win_at: u64,
    win_len: usize,
}

impl<'a> Cur<'a> {
    fn new(src: &'a dyn Bytes, pos: u64, end: u64) -> Self {
        Cur { src, pos, end: end.min(src.size()), win: [0; 256], win_at: 0, win_len: 0 }
    }

    fn u8(&mut self) -> Result<u8, Bad> {
        if self.pos >= self.end {
            return Err(Bad::End);
        }
        let i = self.pos.wrapping_sub(self.win_at);
        if self.pos < self.win_at || i >= self.win_len as u64 {
            let want = (self.end - self.pos).min(self.win.len() as u64) as usize;
            self.win_len = self.src.read_at(self.pos, &mut self.win[..want]);
            self.win_at = self.pos;
            if self.win_len == 0 {
                return Err(Bad::End);
            }
        }
        let b = self.win[(self.pos - self.win_at) as usize];
        self.pos += 1;
        Ok(b)
    }

    /// A little-endian number of `n` bytes (n ≤ 8).
    fn uint(&mut self, n: u32) -> Result<u64, Bad> {
        let mut v = 0u64;
        for i in 0..n {
            v |= (self.u8()? as u64) << (8 * i);
        }
        Ok(v)
    }

    fn uleb(&mut self) -> Result<u64, Bad> {
        let (mut v, mut shift) = (0u64, 0u32);
        loop {
            let b = self.u8()?;
            if shift < 64 {
                v |= ((b & 0x7f) as u64) << shift;
            }
            shift = shift.saturating_add(7);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
    }

    fn sleb(&mut self) -> Result<i64, Bad> {
        let (mut v, mut shift) = (0i64, 0u32);
        loop {
            let b = self.u8()?;
            if shift < 64 {
                v |= ((b & 0x7f) as i64) << shift;
            }
            shift = shift.saturating_add(7);
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return Ok(v);
            }
        }
    }

    /// Skips a NUL-terminated string; true if it was empty.
    fn skip_cstr(&mut self) -> Result<bool, Bad> {
        let mut empty = true;
        while self.u8()? != 0 {
            empty = false;
        }
        Ok(empty)
    }

    /// Copies a NUL-terminated string into `out` (cut at its length); the length kept.
    fn cstr(&mut self, out: &mut [u8]) -> Result<usize, Bad> {
        let mut n = 0;
        loop {
            let b = self.u8()?;
            if b == 0 {
                return Ok(n);
            }
            if n < out.len() {
                out[n] = b;
                n += 1;
            }
        }
    }

    fn skip(&mut self, n: u64) -> Result<(), Bad> {
        match self.pos.checked_add(n) {
            Some(p) if p <= self.end => {
                self.pos = p;
                Ok(())
            }
            _ => Err(Bad::End),
        }
    }
}

/// `DW_FORM_*` values that file and directory tables use (DWARF 5, 7.5.6).
mod form {
    pub const BLOCK2: u64 = 0x03;
    pub const BLOCK4: u64 = 0x04;
    pub const DATA2: u64 = 0x05;
    pub const DATA4: u64 = 0x06;
    pub const DATA8: u64 = 0x07;
    pub const STRING: u64 = 0x08;
    pub const BLOCK: u64 = 0x09;
    pub const BLOCK1: u64 = 0x0a;
    pub const DATA1: u64 = 0x0b;
    pub const FLAG: u64 = 0x0c;
    pub const SDATA: u64 = 0x0d;
    pub const STRP: u64 = 0x0e;
    pub const UDATA: u64 = 0x0f;
    pub const SEC_OFFSET: u64 = 0x17;
    pub const STRX: u64 = 0x1a;
    pub const DATA16: u64 = 0x1e;
    pub const LINE_STRP: u64 = 0x1f;
    pub const STRX1: u64 = 0x25;
    pub const STRX2: u64 = 0x26;
    pub const STRX3: u64 = 0x27;
    pub const STRX4: u64 = 0x28;
}

/// `DW_LNCT_path`: the content type of a v5 entry's name.
const LNCT_PATH: u64 = 1;
/// Entry formats a v5 table may list (real ones list 1–4).
const MAX_FORMATS: usize = 8;

/// A v5 attribute value as far as names need it.
enum Value {
    /// An inline string starts at this offset of `.debug_line`.
    Inline(u64),
    /// An offset into `.debug_line_str`.
    LineStr(u64),
    /// An offset into `.debug_str`.
    Str(u64),
    /// Anything else (a number, a block, a `strx` index this reader cannot follow).
    Other,
}

/// Reads (or skips) one value of `form`; `offset_bytes` is 4 (32-bit DWARF) or 8.
fn value(c: &mut Cur<'_>, f: u64, offset_bytes: u32) -> Result<Value, Bad> {
    Ok(match f {
        form::STRING => {
            let at = c.pos;
            c.skip_cstr()?;
            Value::Inline(at)
        }
        form::LINE_STRP => Value::LineStr(c.uint(offset_bytes)?),
        form::STRP => Value::Str(c.uint(offset_bytes)?),
        _ => {
            let n = match f {
                form::DATA1 | form::FLAG | form::STRX1 => 1,
                form::DATA2 | form::STRX2 => 2,
                form::STRX3 => 3,
                form::DATA4 | form::STRX4 => 4,
                form::DATA8 => 8,
                form::DATA16 => 16,
                form::SEC_OFFSET => offset_bytes as u64,
                form::UDATA | form::STRX => {
                    c.uleb()?;
                    0
                }
                form::SDATA => {
                    c.sleb()?;
                    0
                }
                form::BLOCK1 => c.uint(1)?,
                form::BLOCK2 => c.uint(2)?,
                form::BLOCK4 => c.uint(4)?,
                form::BLOCK => c.uleb()?,
                _ => return Err(Bad::Header),
            };
            c.skip(n)?;
            Value::Other
        }
    })
}

/// A unit's header, read up to its file table.
struct Header {
    /// Where the unit ends (the next one starts).
    end: u64,
    /// Where its line program starts.
    program: u64,
    version: u16,
    offset_bytes: u32,
    min_inst: u8,
    max_ops: u8,
    default_is_stmt: bool,
    line_base: i8,
    line_range: u8,
    opcode_base: u8,
    /// Offset of `standard_opcode_lengths`.
    opcode_lengths: u64,
    /// Offset of the directory table (v2–4: include_directories; v5: its format count).
    tables: u64,
}

fn header(src: &dyn Bytes, at: u64) -> Result<Header, Bad> {
    let mut c = Cur::new(src, at, u64::MAX);
    let (len, offset_bytes) = match c.uint(4)? {
        0xffff_ffff => (c.uint(8)?, 8),
        n if n >= 0xffff_fff0 => return Err(Bad::Header),
        n => (n, 4),
    };
    let end = c.pos.checked_add(len).ok_or(Bad::Header)?;
    if end > src.size() {
        return Err(Bad::End);
    }
    c.end = end;
    let version = c.uint(2)? as u16;
    if !(2..=5).contains(&version) {
        return Err(Bad::Version);
    }
    if version >= 5 {
        let _address_size = c.u8()?;
        let _segment_selector_size = c.u8()?;
    }
    let header_len = c.uint(offset_bytes)?;
    let program = c.pos.checked_add(header_len).filter(|&p| p <= end).ok_or(Bad::Header)?;
    let min_inst = c.u8()?;
    let max_ops = if version >= 4 { c.u8()? } else { 1 };
    let default_is_stmt = c.u8()? != 0;
    let line_base = c.u8()? as i8;
    let line_range = c.u8()?;
    let opcode_base = c.u8()?;
    if line_range == 0 || opcode_base == 0 {
        return Err(Bad::Header);
    }
    let opcode_lengths = c.pos;
    c.skip(opcode_base as u64 - 1)?;
    Ok(Header {
        end,
        program,
        version,
        offset_bytes,
        min_inst,
        max_ops: max_ops.max(1),
        default_is_stmt,
        line_base,
        line_range,
        opcode_base,
        opcode_lengths,
        tables: c.pos,
    })
}

/// Walks the file table of the unit `h`, calling `each(index, name)` for each file until
/// it returns true; `name` is where the name's bytes are.
fn files(src: &dyn Bytes, h: &Header, mut each: impl FnMut(u64, Value) -> bool) -> Result<(), Bad> {
    let mut c = Cur::new(src, h.tables, h.program);
    if h.version < 5 {
        while !c.skip_cstr()? {}
        let mut i = 1;
        loop {
            let at = c.pos;
            if c.skip_cstr()? {
                return Ok(());
            }
            c.uleb()?;
            c.uleb()?;
            c.uleb()?;
            if each(i, Value::Inline(at)) {
                return Ok(());
            }
            i += 1;
        }
    }
    let mut formats = [(0u64, 0u64); MAX_FORMATS];
    for table in 0..2 {
        let n = c.u8()? as usize;
        if n > MAX_FORMATS {
            return Err(Bad::Header);
        }
        for f in formats.iter_mut().take(n) {
            *f = (c.uleb()?, c.uleb()?);
        }
        let count = c.uleb()?;
        for i in 0..count {
            let mut name = Value::Other;
            for &(kind, f) in &formats[..n] {
                let v = value(&mut c, f, h.offset_bytes)?;
                if kind == LNCT_PATH {
                    name = v;
                }
            }
            if table == 1 && each(i, name) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The rows of a line program, as far as lookups need them.
#[derive(Clone, Copy)]
struct Row {
    addr: u64,
    file: u64,
    line: u64,
}

/// Finds, for each address of `addrs`, the line it came from, into `hits` (left alone for
/// an address no sequence covers). Only the first [`DWARF_MAX_QUERIES`] addresses are
/// looked up: callers ask in batches.
pub fn lookup(src: &dyn Bytes, addrs: &[u64], hits: &mut [Option<Hit>], stats: &mut Stats) {
    let n = addrs.len().min(hits.len()).min(DWARF_MAX_QUERIES);
    // Addresses sorted (by index), so each row range finds its addresses by bisection.
    let mut order = [0u16; DWARF_MAX_QUERIES];
    for (i, o) in order.iter_mut().enumerate().take(n) {
        *o = i as u16;
    }
    let order = &mut order[..n];
    crate::table::sort_by_key(order, |&i| addrs[i as usize]);
    let mut at = 0u64;
    while at < src.size() {
        stats.units += 1;
        let h = match header(src, at) {
            Ok(h) => h,
            Err(e) => {
                match e {
                    Bad::Version => stats.unknown_version += 1,
                    _ => stats.malformed += 1,
                }
                // A length that can be trusted lets the next unit be read; else stop.
                match unit_end(src, at) {
                    Some(end) => {
                        at = end;
                        continue;
                    }
                    None => return,
                }
            }
        };
        if run(src, &h, at, addrs, order, hits).is_err() {
            stats.malformed += 1;
        }
        at = h.end;
    }
}

/// The end of the unit at `at` from its length alone.
fn unit_end(src: &dyn Bytes, at: u64) -> Option<u64> {
    let mut c = Cur::new(src, at, u64::MAX);
    let end = match c.uint(4).ok()? {
        0xffff_ffff => c.uint(8).ok()?.checked_add(at + 12)?,
        n if n >= 0xffff_fff0 => return None,
        n => at + 4 + n,
    };
    (end <= src.size()).then_some(end)
}

/// Runs the line program of the unit `h` (at `unit`), filling `hits`.
fn run(
    src: &dyn Bytes,
    h: &Header,
    unit: u64,
    addrs: &[u64],
    order: &[u16],
    hits: &mut [Option<Hit>],
) -> Result<(), Bad> {
    let mut lengths = [0u8; 256];
    let nstd = h.opcode_base as usize - 1;
    Cur::new(src, h.opcode_lengths, h.end).cstr_exact(&mut lengths[1..=nstd])?;
    let mut c = Cur::new(src, h.program, h.end);
    let fresh = Row { addr: 0, file: 1, line: 1 };
    let (mut row, mut op_index) = (fresh, 0u64);
    // The previous row of this sequence, and whether the sequence is real (a sequence
    // of code the linker dropped starts at address 0).
    let mut prev: Option<Row> = None;
    let mut live = false;
    let min_inst = h.min_inst as u64;
    let max_ops = h.max_ops as u64;
    let advance = |row: &mut Row, op_index: &mut u64, adv: u64| {
        if max_ops == 1 {
            row.addr = row.addr.wrapping_add(min_inst.wrapping_mul(adv));
        } else {
            let t = op_index.wrapping_add(adv);
            row.addr = row.addr.wrapping_add(min_inst.wrapping_mul(t / max_ops));
            *op_index = t % max_ops;
        }
    };
    let mut emit = |row: Row, prev: &mut Option<Row>, live: &mut bool, end: bool| {
        if prev.is_none() {
            *live = row.addr != 0;
        }
        if let (Some(p), true) = (*prev, *live) {
            if p.addr < row.addr {
                let from = order.partition_point(|&i| addrs[i as usize] < p.addr);
                for &i in &order[from..] {
                    if addrs[i as usize] >= row.addr {
                        break;
                    }
                    let hit = &mut hits[i as usize];
                    if hit.is_none() {
                        *hit = Some(Hit { line: p.line.min(u32::MAX as u64) as u32, unit, file: p.file });
                    }
                }
            }
        }
        *prev = if end { None } else { Some(row) };
    };
    let _ = h.default_is_stmt;
    while c.pos < c.end {
        let op = c.u8()?;
        if op >= h.opcode_base {
            let adj = (op - h.opcode_base) as u64;
            advance(&mut row, &mut op_index, adj / h.line_range as u64);
            let dl = h.line_base as i64 + (adj % h.line_range as u64) as i64;
            row.line = row.line.wrapping_add(dl as u64);
            emit(row, &mut prev, &mut live, false);
            continue;
        }
        match op {
            0 => {
                let len = c.uleb()?;
                let start = c.pos;
                let next = start.checked_add(len).filter(|&e| e <= c.end).ok_or(Bad::End)?;
                if len == 0 {
                    continue;
                }
                match c.u8()? {
                    1 => {
                        emit(row, &mut prev, &mut live, true);
                        row = fresh;
                        op_index = 0;
                    }
                    2 => {
                        let n = (len - 1).min(8) as u32;
                        row.addr = c.uint(n)?;
                        op_index = 0;
                    }
                    _ => {}
                }
                c.pos = next;
            }
            1 => emit(row, &mut prev, &mut live, false),
            2 => {
                let adv = c.uleb()?;
                advance(&mut row, &mut op_index, adv);
            }
            3 => row.line = row.line.wrapping_add(c.sleb()? as u64),
            4 => row.file = c.uleb()?,
            5 | 12 => {
                c.uleb()?;
            }
            8 => {
                let adv = (255 - h.opcode_base) as u64 / h.line_range as u64;
                advance(&mut row, &mut op_index, adv);
            }
            9 => {
                row.addr = row.addr.wrapping_add(c.uint(2)?);
                op_index = 0;
            }
            6 | 7 | 10 | 11 => {}
            _ => {
                for _ in 0..lengths[op as usize] {
                    c.uleb()?;
                }
            }
        }
    }
    Ok(())
}

impl Cur<'_> {
    /// Fills `out` exactly.
    fn cstr_exact(&mut self, out: &mut [u8]) -> Result<(), Bad> {
        for b in out {
            *b = self.u8()?;
        }
        Ok(())
    }
}

/// The sections a file name may live in: `.debug_line` itself (inline names),
/// `.debug_line_str` and `.debug_str` (v5 offsets).
pub struct Strings<'a> {
    /// `.debug_line`.
    pub line: &'a dyn Bytes,
    /// `.debug_line_str`, if the file has one.
    pub line_str: Option<&'a dyn Bytes>,
    /// `.debug_str`, if the file has one.
    pub str: Option<&'a dyn Bytes>,
}

/// The name of the file of `hit` into `out` (cut at its length), as the table has it (a
/// path relative to the unit's directory, or absolute). `None` if the table does not
/// name it (a `strx` form, a file index past the table, a malformed header).
pub fn file_name<'o>(s: &Strings<'_>, hit: &Hit, out: &'o mut [u8]) -> Option<&'o [u8]> {
    let h = header(s.line, hit.unit).ok()?;
    let mut found = None;
    files(s.line, &h, |i, v| {
        if i == hit.file {
            found = Some(v);
            return true;
        }
        false
    })
    .ok()?;
    let (src, at) = match found? {
        Value::Inline(at) => (s.line, at),
        Value::LineStr(at) => (s.line_str?, at),
        Value::Str(at) => (s.str?, at),
        Value::Other => return None,
    };
    let n = Cur::new(src, at, u64::MAX).cstr(out).ok()?;
    (n > 0).then_some(&out[..n])
}

#[cfg(test)]
mod test {
    use super::*;

    /// A v4 unit by hand: one file `a.c`, rows 0x1000 line 10, 0x1010 line 12, end 0x1020.
    fn v4_unit() -> Vec<u8> {
        let mut body = vec![];
        body.extend_from_slice(&4u16.to_le_bytes());
        let mut hdr = vec![1, 1, 1, (-5i8) as u8, 14, 13];
        hdr.extend_from_slice(&[0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1]);
        hdr.push(0); // no include directories
        hdr.extend_from_slice(b"a.c\0\0\0\0");
        hdr.push(0);
        body.extend_from_slice(&(hdr.len() as u32).to_le_bytes());
        body.extend_from_slice(&hdr);
        // set_address 0x1000; advance_line 9; copy; advance_pc 0x10; advance_line 2; copy;
        // advance_pc 0x10; end_sequence.
        body.extend_from_slice(&[0, 9, 2]);
        body.extend_from_slice(&0x1000u64.to_le_bytes());
        body.extend_from_slice(&[3, 9, 1, 2, 0x10, 3, 2, 1, 2, 0x10, 0, 1, 1]);
        let mut unit = (body.len() as u32).to_le_bytes().to_vec();
        unit.extend_from_slice(&body);
        unit
    }

    #[test]
    fn a_v4_program_answers_addresses_between_its_rows() {
        let sec = v4_unit();
        let addrs = [0x1004, 0x1010, 0x101f, 0x1020, 0xfff];
        let mut hits = [None; 5];
        let mut st = Stats::default();
        lookup(&sec, &addrs, &mut hits, &mut st);
        assert_eq!(st, Stats { units: 1, malformed: 0, unknown_version: 0 });
        let lines: Vec<_> = hits.iter().map(|h| h.map(|h| h.line)).collect();
        assert_eq!(lines, [Some(10), Some(12), Some(12), None, None]);
        let mut name = [0u8; 64];
        let s = Strings { line: &sec, line_str: None, str: None };
        assert_eq!(file_name(&s, &hits[0].unwrap(), &mut name), Some(&b"a.c"[..]));
    }

    #[test]
    fn every_cut_of_a_unit_is_an_error_not_a_panic() {
        let sec = v4_unit();
        for n in 0..sec.len() {
            let mut hits = [None; 1];
            let mut st = Stats::default();
            lookup(&&sec[..n], &[0x1004], &mut hits, &mut st);
            assert!(st.malformed + st.unknown_version > 0 || n == 0, "cut at {n}");
        }
    }

    #[test]
    fn an_unknown_version_is_skipped_by_its_length() {
        let mut sec = v4_unit();
        sec[4] = 9;
        sec.extend_from_slice(&v4_unit());
        let mut hits = [None; 1];
        let mut st = Stats::default();
        lookup(&sec, &[0x1004], &mut hits, &mut st);
        assert_eq!((st.unknown_version, hits[0].map(|h| h.line)), (1, Some(10)));
    }

    /// Real line tables of tests/fixtures/trace/leaky.c from gcc 12 (the program and its
    /// C runtime's units), and an address inside `leak_malloc`'s line 41 in each.
    const REAL: [(&[u8], u64); 4] = [
        (include_bytes!("../tests/fixtures/dwarf/gcc12-x86_64-dwarf5.debug_line"), 0x12c8),
        (include_bytes!("../tests/fixtures/dwarf/gcc12-x86_64-dwarf4.debug_line"), 0x12c8),
        (include_bytes!("../tests/fixtures/dwarf/gcc12-x86_64-dwarf3.debug_line"), 0x12c8),
        (include_bytes!("../tests/fixtures/dwarf/gcc12-aarch64-dwarf2.debug_line"), 0xf36),
    ];
    const LINE_STR5: &[u8] = include_bytes!("../tests/fixtures/dwarf/gcc12-x86_64-dwarf5.debug_line_str");

    #[test]
    fn gcc_tables_of_every_version_name_the_line_and_file() {
        for (i, (sec, addr)) in REAL.iter().enumerate() {
            let mut hits = [None; 2];
            let mut st = Stats::default();
            lookup(sec, &[*addr, 0x10], &mut hits, &mut st);
            assert_eq!(st.malformed + st.unknown_version, 0, "table {i}");
            let hit = hits[0].unwrap_or_else(|| panic!("table {i}: no row for {addr:#x}"));
            assert_eq!((hit.line, hits[1]), (41, None), "table {i}");
            let s = Strings { line: sec, line_str: Some(&LINE_STR5), str: None };
            let mut name = [0u8; 128];
            let got = file_name(&s, &hit, &mut name).unwrap_or_else(|| panic!("table {i}: no file name"));
            assert!(got.ends_with(b"leaky.c"), "table {i}: {:?}", String::from_utf8_lossy(got));
        }
    }

    #[test]
    fn v5_names_need_their_string_section() {
        let (sec, addr) = REAL[0];
        let mut hits = [None];
        lookup(&sec, &[addr], &mut hits, &mut Stats::default());
        let s = Strings { line: &sec, line_str: None, str: None };
        assert_eq!(file_name(&s, &hits[0].unwrap(), &mut [0u8; 64]), None);
    }

    #[test]
    #[cfg_attr(miri, ignore = "slow under miri; the hand-made unit's cuts run the same code")]
    fn a_cut_real_table_never_answers_a_wrong_line() {
        for (sec, addr) in REAL {
            for n in (0..sec.len()).step_by(7) {
                let mut hits = [None];
                let mut st = Stats::default();
                lookup(&&sec[..n], &[addr], &mut hits, &mut st);
                assert!(hits[0].is_none_or(|h| h.line == 41), "cut at {n}");
                assert!(n == 0 || st.units > 0, "cut at {n}: nothing read");
            }
        }
    }
}

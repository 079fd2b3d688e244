//! Parsers: bytes in the read buffer → records that borrow from them.
//!
//! Every parser is line-oriented and push-based: the reader hands it one line at a time
//! (without its newline) and the parser calls back with a record, or counts the line as
//! skipped. Nothing here allocates, reads files or knows about tables.
//!
//! What every parser tolerates, because real captures contain it: leading indentation
//! (tab-indented pastes), `\r` line ends, and U+00A0 no-break spaces that mail clients put
//! in place of padding. A line that still makes no sense is skipped and counted in
//! [`LineStats`], never a panic.

pub mod kmemleak;
pub mod meminfo;
pub mod proc_pid;
pub mod slabinfo;
pub mod tracedump;
pub mod vmstat;

/// How many lines a parser saw and skipped, and where the first bad one was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineStats {
    /// Lines of the current read of the file.
    pub lines: u32,
    /// Lines that made no sense and were skipped, over all reads.
    pub malformed: u32,
    /// Line number (in its read) of the first malformed line ever seen (0 = none).
    pub first_malformed: u32,
}

impl LineStats {
    /// Starts a new read of the file.
    pub fn restart(&mut self) {
        self.lines = 0;
    }

    /// Counts one malformed line.
    pub fn malformed(&mut self) {
        self.malformed += 1;
        if self.first_malformed == 0 {
            self.first_malformed = self.lines;
        }
    }
}

/// True for the bytes kleak treats as field separators.
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// Splits a line on whitespace, where whitespace includes U+00A0 (bytes C2 A0).
#[derive(Clone)]
pub struct Tokens<'a> {
    line: &'a [u8],
    pos: usize,
}

impl<'a> Tokens<'a> {
    /// Tokens of `line`.
    pub fn new(line: &'a [u8]) -> Self {
        Tokens { line, pos: 0 }
    }

    /// Position of the first byte at or after `i` that is not a separator.
    #[inline]
    fn skip_seps(&self, mut i: usize) -> usize {
        let l = self.line;
        while i < l.len() {
            let b = l[i];
            if b == b' ' || b == b'\t' || (b < 0x80 && is_space(b)) {
                i += 1;
            } else if b == 0xc2 && l.get(i + 1) == Some(&0xa0) {
                i += 2;
            } else {
                break;
            }
        }
        i
    }

    /// The rest of the line after the last token returned, with leading separators removed.
    pub fn rest(&self) -> &'a [u8] {
        &self.line[self.skip_seps(self.pos)..]
    }

    /// Byte offset of the next position in the line.
    pub fn offset(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let l = self.line;
        let start = self.skip_seps(self.pos);
        if start >= l.len() {
            self.pos = l.len();
            return None;
        }
        let mut i = start;
        while i < l.len() {
            let b = l[i];
            // The common case, printable ASCII, in one comparison.
            if b.wrapping_sub(b'!') < 0x5e {
                i += 1;
            } else if is_space(b) || (b == 0xc2 && l.get(i + 1) == Some(&0xa0)) {
                break;
            } else {
                i += 1;
            }
        }
        self.pos = i;
        Some(&l[start..i])
    }
}

/// Parses an unsigned decimal number; `None` on anything else or on overflow.
#[inline]
pub fn parse_u64(tok: &[u8]) -> Option<u64> {
    if tok.is_empty() || tok.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in tok {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(d as u64)?;
    }
    Some(v)
}

/// Parses a hexadecimal number (up to 64 bits), with or without `0x`.
pub fn parse_hex(tok: &[u8]) -> Option<u64> {
    let tok = tok.strip_prefix(b"0x").unwrap_or(tok);
    if tok.is_empty() || tok.len() > 16 {
        return None;
    }
    tok.iter().try_fold(0u64, |v, &b| Some(v << 4 | (b as char).to_digit(16)? as u64))
}

/// Parses a signed decimal number.
pub fn parse_i64(tok: &[u8]) -> Option<i64> {
    match tok.split_first() {
        Some((b'-', rest)) => parse_u64(rest).and_then(|v| i64::try_from(v).ok()).map(|v| -v),
        Some((b'+', rest)) => parse_u64(rest).and_then(|v| i64::try_from(v).ok()),
        _ => parse_u64(tok).and_then(|v| i64::try_from(v).ok()),
    }
}

/// Parses a non-negative decimal with an optional fraction (`12345.67`), as in
/// /proc/uptime.
pub fn parse_f64(tok: &[u8]) -> Option<f64> {
    let (int, frac) = match tok.iter().position(|&b| b == b'.') {
        Some(p) => (&tok[..p], &tok[p + 1..]),
        None => (tok, &[][..]),
    };
    if int.is_empty() && frac.is_empty() || tok.iter().filter(|&&b| b == b'.').count() > 1 {
        return None;
    }
    let mut v = if int.is_empty() { 0.0 } else { parse_u64(int)? as f64 };
    if !frac.is_empty() {
        // Divide by an exact power of ten (powi's rounding is not guaranteed); digits past
        // the 19th add nothing an f64 can hold.
        let frac = &frac[..frac.len().min(19)];
        v += parse_u64(frac)? as f64 / 10u64.pow(frac.len() as u32) as f64;
    }
    Some(v)
}

/// `line` without leading and trailing whitespace (including U+00A0).
pub fn trim(line: &[u8]) -> &[u8] {
    let start = Tokens::new(line).rest();
    let mut end = start.len();
    while end > 0 {
        if is_space(start[end - 1]) {
            end -= 1;
        } else if end >= 2 && start[end - 2] == 0xc2 && start[end - 1] == 0xa0 {
            end -= 2;
        } else {
            break;
        }
    }
    &start[..end]
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn str_prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn tokens_split_on_nbsp_and_tabs() {
        let line = "nf_conntrack \u{a0}  \u{a0} 15716\t20349".as_bytes();
        let toks: Vec<&[u8]> = Tokens::new(line).collect();
        assert_eq!(toks, vec![&b"nf_conntrack"[..], b"15716", b"20349"]);
    }

    #[test]
    fn numbers_reject_garbage_and_overflow() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_i64(b"-5"), Some(-5));
        assert_eq!(parse_f64(b"350735.47"), Some(350735.47));
        assert_eq!(parse_f64(b".5"), Some(0.5));
        assert_eq!(parse_f64(b"5."), Some(5.0));
        assert_eq!(parse_f64(b"."), None);
        assert_eq!(parse_f64(b"1.2.3"), None);
    }

    #[test]
    fn str_prefix_never_splits_a_character() {
        assert_eq!(str_prefix("ab\u{e9}", 3), "ab");
        assert_eq!(str_prefix("abc", 10), "abc");
    }

    #[test]
    fn trim_removes_nbsp_padding() {
        assert_eq!(trim("\t a b \u{a0}".as_bytes()), b"a b");
        assert_eq!(trim(b"   "), b"");
    }
}

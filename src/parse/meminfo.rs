//! `/proc/meminfo`: `Key:   value kB` per line (a few keys have no unit, e.g.
//! `HugePages_Total`). 2.4 kernels print three summary lines first (`total: used: …`,
//! `Mem: …`, `Swap: …`) that repeat figures in bytes; they are recognised and passed over.

use super::{parse_u64, trim, LineStats, Tokens};

/// One `Key: value [kB]` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeminfoRecord<'a> {
    /// The key without its colon, e.g. `SUnreclaim` or `Active(anon)`.
    pub key: &'a [u8],
    /// The number as printed.
    pub value: u64,
    /// True if the value is in kB (`kB` unit); false for plain counts.
    pub kib: bool,
}

impl MeminfoRecord<'_> {
    /// The value in bytes for kB values, or the plain count.
    pub fn amount(&self) -> u64 {
        if self.kib {
            self.value.saturating_mul(1024)
        } else {
            self.value
        }
    }
}

/// Largest value a meminfo line can hold: 2^53 kB is 8 EiB, half the 64-bit address space
/// (x86's `VmallocTotal` is 2^45 kB), the most a signed byte count holds. More (u64::MAX,
/// garbage) is counted as malformed, never shown as a wrapped or negative size.
pub const MAX_VALUE: u64 = (1 << 53) - 1;

/// Push parser for /proc/meminfo.
#[derive(Default)]
pub struct MeminfoParser {
    /// Line counts and the first malformed line.
    pub stats: LineStats,
}

impl MeminfoParser {
    /// Feeds one line; returns the record it holds, if any.
    pub fn line<'a>(&mut self, line: &'a [u8]) -> Option<MeminfoRecord<'a>> {
        self.stats.lines += 1;
        let t = trim(line);
        if t.is_empty() {
            return None;
        }
        let Some(colon) = t.iter().position(|&b| b == b':') else {
            self.stats.malformed();
            return None;
        };
        let key = trim(&t[..colon]);
        let mut toks = Tokens::new(&t[colon + 1..]);
        let value = toks.next();
        let unit = toks.next();
        let extra = toks.next();
        if is_legacy_summary(key, value, extra) {
            return None;
        }
        let kib = match unit {
            None => false,
            Some(b"kB") | Some(b"KB") | Some(b"kb") => true,
            Some(_) => {
                self.stats.malformed();
                return None;
            }
        };
        match value.and_then(parse_u64) {
            // Past MAX_VALUE is impossible, not big: skipped and counted.
            Some(value)
                if value <= MAX_VALUE
                    && !key.is_empty()
                    && extra.is_none()
                    && key.iter().all(|&b| b.is_ascii_graphic()) =>
            {
                Some(MeminfoRecord { key, value, kib })
            }
            _ => {
                self.stats.malformed();
                None
            }
        }
    }
}

/// 2.4's `total: used: free: …` column header and its `Mem:`/`Swap:` rows of byte counts.
fn is_legacy_summary(key: &[u8], value: Option<&[u8]>, extra: Option<&[u8]>) -> bool {
    match key {
        b"total" => value.is_some_and(|v| parse_u64(v).is_none()),
        b"Mem" | b"Swap" => extra.is_some_and(|v| parse_u64(v).is_some()),
        _ => false,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn kb_and_plain_values() {
        let mut p = MeminfoParser::default();
        let r = p.line(b"SUnreclaim:        36824 kB").unwrap();
        assert_eq!((r.key, r.amount()), (&b"SUnreclaim"[..], 36824 * 1024));
        let r = p.line(b"HugePages_Total:       0").unwrap();
        assert_eq!((r.key, r.value, r.kib), (&b"HugePages_Total"[..], 0, false));
        let r = p.line(b"Active(anon):     123 kB").unwrap();
        assert_eq!(r.key, b"Active(anon)");
        assert_eq!(p.stats.malformed, 0);
    }

    #[test]
    fn linux_2_4_summary_lines_are_passed_over() {
        // lkml2003_1.txt
        let mut p = MeminfoParser::default();
        assert_eq!(p.line(b"        total:    used:    free:  shared: buffers:  cached:"), None);
        assert_eq!(p.line(b"Mem:  1058336768 860172288 198164480        0 59092992 614592512"), None);
        assert_eq!(p.line(b"Swap: 509956096 12288000 497668096"), None);
        assert!(p.line(b"MemTotal:      1033532 kB").is_some());
        assert_eq!(p.stats.malformed, 0);
    }

    #[test]
    fn garbage_is_counted() {
        let mut p = MeminfoParser::default();
        assert_eq!(p.line(b"no colon here"), None);
        assert_eq!(p.line(b"Key: twelve kB"), None);
        assert_eq!(p.line(b"Key: 12 MB"), None);
        assert_eq!(p.stats.malformed, 3);
    }
}

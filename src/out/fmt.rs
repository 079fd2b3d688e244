//! Number and name formatting for tables and alert lines, without allocation.

use core::fmt::{self, Display, Formatter, Write};

/// A float with a fixed number of decimals (at most 6), formatted with integer arithmetic:
/// core's float formatting costs ~15 KB of binary on a board.
pub struct Fixed(pub f64, pub usize);

impl Display for Fixed {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut s = Small::new();
        let (x, dec) = (self.0, self.1.min(6));
        if x.is_nan() {
            return f.pad("NaN");
        }
        let scale = 10u64.pow(dec as u32);
        // Saturates for huge values (never seen: kleak's floats are rates and seconds).
        let v = (x.abs() * scale as f64 + 0.5) as u64;
        if x < 0.0 && v > 0 {
            let _ = s.write_char('-');
        }
        let _ = write!(s, "{}", v / scale);
        if dec > 0 {
            let _ = write!(s, ".{:0width$}", v % scale, width = dec);
        }
        f.pad(s.as_str())
    }
}

/// A size in bytes: human (`512B`, `1.5K`, `12K`, `3.0M`, `1.2G`) or exact, optionally with
/// a sign (`+1.5K`, `-12K`, `0`). Right-aligns to the formatter's width.
#[derive(Clone, Copy)]
pub struct Size {
    /// Bytes.
    pub bytes: i64,
    /// K/M/G instead of exact bytes.
    pub human: bool,
    /// Print `+` for positive values.
    pub signed: bool,
}

impl Size {
    /// A size as it stands.
    pub fn of(bytes: i64, human: bool) -> Size {
        Size { bytes, human, signed: false }
    }
    /// A change in size, signed.
    pub fn delta(bytes: i64, human: bool) -> Size {
        Size { bytes, human, signed: true }
    }
}

/// Writes into a small stack buffer so the result can be padded as one piece.
struct Small {
    buf: [u8; 40],
    len: usize,
}

impl Small {
    fn new() -> Self {
        Small { buf: [0; 40], len: 0 }
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

impl Write for Small {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl Display for Size {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut s = Small::new();
        let v = self.bytes;
        let sign = if v < 0 {
            "-"
        } else if self.signed && v > 0 {
            "+"
        } else {
            ""
        };
        let a = v.unsigned_abs();
        let _ = s.write_str(sign);
        if !self.human {
            let _ = write!(s, "{a}");
        } else if a < 1024 {
            if a == 0 {
                let _ = s.write_str("0");
            } else {
                let _ = write!(s, "{a}B");
            }
        } else {
            const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
            let (a, mut div, mut u) = (a as u128, 1024u128, 0);
            while a >= div * 1024 && u + 1 < UNITS.len() {
                div *= 1024;
                u += 1;
            }
            // One decimal below 10 (1.5K), whole numbers above (12K), rounded.
            let tenths = (a * 10 + div / 2) / div;
            if tenths < 100 {
                let _ = write!(s, "{}.{}{}", tenths / 10, tenths % 10, UNITS[u]);
            } else {
                let _ = write!(s, "{}{}", (a + div / 2) / div, UNITS[u]);
            }
        }
        // Use `{:>N}` to right-align in a column.
        f.pad(s.as_str())
    }
}

/// A count with thousands separators (`24,310`), optionally signed.
#[derive(Clone, Copy)]
pub struct Count {
    /// The number.
    pub n: i64,
    /// Print `+` for positive values.
    pub signed: bool,
}

impl Display for Count {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut digits = Small::new();
        let _ = write!(digits, "{}", self.n.unsigned_abs());
        let d = digits.as_str().as_bytes();
        let mut s = Small::new();
        if self.n < 0 {
            let _ = s.write_str("-");
        } else if self.signed && self.n > 0 {
            let _ = s.write_str("+");
        }
        for (i, &c) in d.iter().enumerate() {
            if i > 0 && (d.len() - i) % 3 == 0 {
                let _ = s.write_char(',');
            }
            let _ = s.write_char(c as char);
        }
        f.pad(s.as_str())
    }
}

/// How [`Fit`] fills its column.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pad {
    /// Pad on the right.
    Left,
    /// Pad on the left.
    Right,
    /// Do not pad (a last column).
    None,
}

/// A name fitted to `width` columns: shortened visibly with a trailing `~`, and padded as
/// `pad` says. Names are ASCII, so a byte is a column.
pub struct Fit<'a> {
    /// The text.
    pub s: &'a str,
    /// Columns at most (0 = no limit).
    pub width: usize,
    /// Padding.
    pub pad: Pad,
}

impl<'a> Fit<'a> {
    /// Left-aligned in exactly `width` columns.
    pub fn left(s: &'a str, width: usize) -> Self {
        Fit { s, width, pad: Pad::Left }
    }
    /// At most `width` columns, not padded.
    pub fn cut(s: &'a str, width: usize) -> Self {
        Fit { s, width, pad: Pad::None }
    }
}

/// Cuts a line being written to `width` columns (characters), marking the cut with `~`
/// as [`Fit`] does (0 = no limit).
pub fn cut_line(l: &mut super::Line, width: usize) {
    let s = l.as_str();
    if width == 0 || s.chars().count() <= width {
        return;
    }
    let cut = s.char_indices().nth(width - 1).map_or(s.len(), |(i, _)| i);
    l.truncate(cut);
    let _ = l.write_str("~");
}

impl Display for Fit<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let w = self.width;
        if w == 0 {
            return f.write_str(self.s);
        }
        let s = self.s;
        if s.len() > w {
            // Cut at a character boundary (names are ASCII, but be safe).
            let mut cut = w.saturating_sub(1);
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            f.write_str(&s[..cut])?;
            return f.write_str("~");
        }
        let pad = w - s.len();
        if self.pad == Pad::Right {
            for _ in 0..pad {
                f.write_char(' ')?;
            }
        }
        f.write_str(s)?;
        if self.pad == Pad::Left {
            for _ in 0..pad {
                f.write_char(' ')?;
            }
        }
        Ok(())
    }
}

/// A duration in seconds as `45s`, `12m`, `3h10m`, `2d4h`.
pub struct Dur(pub f64);

impl Display for Dur {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut s = Small::new();
        let t = self.0.max(0.0);
        if t < 10.0 && t.fract() != 0.0 {
            let _ = write!(s, "{}s", Fixed(t, 1));
        } else {
            let t = t.round() as u64;
            let _ = match t {
                0..=119 => write!(s, "{t}s"),
                120..=3599 => write!(s, "{}m", t / 60),
                3600..=86399 => write!(s, "{}h{}m", t / 3600, t % 3600 / 60),
                _ => write!(s, "{}d{}h", t / 86400, t % 86400 / 3600),
            };
        }
        f.pad(s.as_str())
    }
}

/// A wall-clock time (seconds since the epoch) as UTC `2026-11-22 03:01:02`. Boards
/// without an RTC say 1970; that is shown as it is.
pub struct Utc(pub u64);

impl Display for Utc {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let (days, secs) = ((self.0 / 86400) as i64, self.0 % 86400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + (month <= 2) as i64;
        write!(f, "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn s(v: impl Display) -> String {
        format!("{v}")
    }

    #[test]
    fn human_sizes() {
        assert_eq!(s(Size::of(0, true)), "0");
        assert_eq!(s(Size::of(512, true)), "512B");
        assert_eq!(s(Size::of(1536, true)), "1.5K");
        assert_eq!(s(Size::of(12 * 1024 + 1, true)), "12K");
        assert_eq!(s(Size::of(3 * 1024 * 1024, true)), "3.0M");
        assert_eq!(s(Size::delta(-12 * 1024, true)), "-12K");
        assert_eq!(s(Size::delta(2048, true)), "+2.0K");
        assert_eq!(s(Size::delta(2048, false)), "+2048");
        assert_eq!(format!("{:>7}", Size::of(1536, true)), "   1.5K");
    }

    #[test]
    fn fixed_decimals_without_float_formatting() {
        assert_eq!(s(Fixed(1.5, 3)), "1.500");
        assert_eq!(s(Fixed(-0.25, 1)), "-0.3");
        assert_eq!(s(Fixed(-0.01, 1)), "0.0");
        assert_eq!(s(Fixed(2409.94, 1)), "2409.9");
        assert_eq!(s(Fixed(7.0, 0)), "7");
        assert_eq!(format!("{:>8}", Fixed(12.345_6, 2)), "   12.35");
        assert_eq!(s(Size::of(10 * 1024 - 1, true)), "10K");
        // 9.98K rounds up to 10K, not "10.0K".
        assert_eq!(s(Size::of(9 * 1024 + 1000, true)), "10K");
    }

    #[test]
    fn counts_with_separators() {
        assert_eq!(s(Count { n: 24310, signed: true }), "+24,310");
        assert_eq!(s(Count { n: -1234567, signed: true }), "-1,234,567");
        assert_eq!(s(Count { n: 999, signed: false }), "999");
    }

    #[test]
    fn names_fit_their_column() {
        assert_eq!(s(Fit::left("kmalloc-128", 14)), "kmalloc-128   ");
        assert_eq!(s(Fit::left("nf_conntrack_ffff88042bc32240", 14)), "nf_conntrack_~");
        assert_eq!(s(Fit::cut("dentry", 14)), "dentry");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(s(Utc(0)), "1970-01-01 00:00:00");
        assert_eq!(s(Utc(1_795_318_306)), "2026-11-22 03:31:46");
        assert_eq!(s(Utc(951_782_400)), "2000-02-29 00:00:00");
    }

    #[test]
    fn durations() {
        assert_eq!(s(Dur(45.0)), "45s");
        assert_eq!(s(Dur(600.0)), "10m");
        assert_eq!(s(Dur(3700.0)), "1h1m");
        assert_eq!(s(Dur(0.5)), "0.5s");
    }
}

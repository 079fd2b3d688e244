//! Text in fixed buffers: paths and dump lines are built with `core::fmt`, never on the heap.

use core::ffi::CStr;
use core::fmt::{self, Write};

/// A fixed buffer that text is written into; what does not fit is cut (and remembered).
pub struct Buf<const N: usize> {
    bytes: [u8; N],
    len: usize,
    /// True once something did not fit.
    pub cut: bool,
}

impl<const N: usize> Default for Buf<N> {
    fn default() -> Self {
        Buf::new()
    }
}

impl<const N: usize> Buf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Buf { bytes: [0; N], len: 0, cut: false }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Appends raw bytes (one byte stays free for a NUL).
    pub fn push(&mut self, b: &[u8]) {
        let n = b.len().min(N - 1 - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
        self.cut |= n < b.len();
    }

    /// Cuts back to `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// The text as a NUL-terminated string (for system calls). A NUL inside the text ends it
    /// early, which is safe: the call then sees a shorter path.
    pub fn as_cstr(&mut self) -> &CStr {
        self.bytes[self.len] = 0;
        match CStr::from_bytes_until_nul(&self.bytes[..=self.len]) {
            Ok(c) => c,
            Err(_) => c"",
        }
    }
}

impl<const N: usize> Write for Buf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

/// Milliseconds shown as seconds with three decimals (`12.345`).
pub struct Millis(pub u64);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// Parses a decimal number of seconds (`30`, `0.5`) into milliseconds.
pub fn parse_secs_ms(s: &[u8]) -> Option<u64> {
    let mut whole: u64 = 0;
    let mut frac_ms: u64 = 0;
    let mut scale = 100;
    let mut seen_dot = false;
    let mut digits = 0;
    for &b in s {
        match b {
            b'0'..=b'9' if !seen_dot => whole = whole.checked_mul(10)?.checked_add((b - b'0') as u64)?,
            b'0'..=b'9' => {
                frac_ms += (b - b'0') as u64 * scale;
                scale /= 10;
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return None,
        }
        digits += 1;
    }
    if digits == 0 {
        return None;
    }
    whole.checked_mul(1000)?.checked_add(frac_ms)
}

/// Parses a plain unsigned decimal.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(
        0u64,
        |acc, &b| {
            if b.is_ascii_digit() {
                acc.checked_mul(10)?.checked_add((b - b'0') as u64)
            } else {
                None
            }
        },
    )
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn seconds_parse_to_millis() {
        assert_eq!(parse_secs_ms(b"30"), Some(30_000));
        assert_eq!(parse_secs_ms(b"0.5"), Some(500));
        assert_eq!(parse_secs_ms(b"1.2345"), Some(1234));
        assert_eq!(parse_secs_ms(b""), None);
        assert_eq!(parse_secs_ms(b"5s"), None);
        assert_eq!(parse_u64(b"4096"), Some(4096));
        assert_eq!(parse_u64(b"-1"), None);
    }

    #[test]
    fn buffers_cut_instead_of_overflowing() {
        let mut b: Buf<8> = Buf::default();
        let _ = write!(b, "{}", 123456789);
        assert_eq!(b.as_bytes(), b"1234567");
        assert!(b.cut);
        assert_eq!(b.as_cstr().to_bytes(), b"1234567");
        let mut m: Buf<16> = Buf::default();
        let _ = write!(m, "{}", Millis(12_034));
        assert_eq!(m.as_bytes(), b"12.034");
    }
}

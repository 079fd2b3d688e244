//! Arguments are bytes: a path or a command's argument may hold any byte but NUL, and kleak
//! passes it on unchanged, from `argv` to `open(2)` and `posix_spawn(3)`.
//!
//! argh parses `&[&str]`. So each argument that is not UTF-8 is handed to argh as a
//! stand-in ([`stand_in`]): a NUL (which no real argument can hold) followed by its bytes
//! in hex. A path or command field is an [`Arg`], whose `FromStr` decodes the stand-in back
//! exactly; a field that must be text ([`text`], numbers, durations) refuses it with the
//! usual usage error, in which [`Decoded`] prints the stand-in as the bytes it stands for.
//! Everything kleak prints of an argument goes through [`Shown`]: other bytes as `\xNN`.

use core::fmt;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// A path or command argument as the command line gave it (any bytes but NUL).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Arg(pub OsString);

impl fmt::Debug for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl Arg {
    /// Its bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Its bytes as an `OsStr`.
    pub fn as_os_str(&self) -> &OsStr {
        &self.0
    }

    /// It, and then `suffix` (`FILE.tmp`).
    pub fn with_suffix(&self, suffix: &str) -> Arg {
        let mut s = self.0.clone();
        s.push(suffix);
        Arg(s)
    }
}

impl core::str::FromStr for Arg {
    type Err = String;
    /// Decodes a value argh hands over: itself, or the bytes a stand-in stands for.
    fn from_str(value: &str) -> Result<Arg, String> {
        let Some(hex) = value.strip_prefix('\0') else {
            return Ok(Arg(OsString::from(value)));
        };
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let pair = |p: &[u8]| Some(digit(p[0])? << 4 | digit(*p.get(1)?)?);
        let bytes: Option<Vec<u8>> = hex.as_bytes().chunks(2).map(pair).collect();
        bytes.map(|b| Arg(OsString::from_vec(b))).ok_or_else(|| String::from("not an argument kleak was given"))
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg(OsString::from(s))
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg(OsString::from(s))
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Arg {
        Arg(OsString::from(s))
    }
}

impl From<&Arg> for Arg {
    fn from(a: &Arg) -> Arg {
        a.clone()
    }
}

impl AsRef<[u8]> for Arg {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Display for Arg {
    /// As [`Shown`]; an empty argument as `""`, so a message still names it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("\"\"");
        }
        Shown(self.as_bytes()).fmt(f)
    }
}

/// The stand-in argh sees for `arg`: itself if it is UTF-8, else NUL and its bytes in hex.
pub fn stand_in(arg: &OsStr) -> String {
    match arg.to_str() {
        Some(s) => s.to_string(),
        None => {
            let mut s = String::with_capacity(1 + 2 * arg.len());
            s.push('\0');
            for &b in arg.as_bytes() {
                s.push(HEX[(b >> 4) as usize] as char);
                s.push(HEX[(b & 15) as usize] as char);
            }
            s
        }
    }
}

/// A value that must be text (argh's `from_str_fn` for patterns and words).
pub fn text(value: &str) -> Result<String, String> {
    if value.starts_with('\0') {
        return Err(String::from("not valid UTF-8 text"));
    }
    Ok(value.to_string())
}

/// A message from argh with each stand-in in it written as the bytes it stands for.
pub struct Decoded<'a>(pub &'a str);

impl fmt::Display for Decoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find('\0') {
            f.write_str(&rest[..at])?;
            let hex = &rest[at + 1..];
            let end = hex.bytes().position(|b| !b.is_ascii_hexdigit()).unwrap_or(hex.len());
            match rest[at..at + 1 + end].parse::<Arg>() {
                Ok(arg) => Shown(arg.as_bytes()).fmt(f)?,
                Err(_) => f.write_str(&hex[..end])?,
            }
            rest = &hex[end..];
        }
        f.write_str(rest)
    }
}

/// Bytes for a message: UTF-8 as it is, any other byte and any control character as
/// `\xNN`, so a message stays one line whatever a path holds.
pub struct Shown<'a>(pub &'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            let s = chunk.valid();
            let mut from = 0;
            for (i, c) in s.char_indices().filter(|(_, c)| c.is_control()) {
                f.write_str(&s[from..i])?;
                from = i + c.len_utf8();
                s[i..from].bytes().try_for_each(|b| escape(f, b))?;
            }
            f.write_str(&s[from..])?;
            chunk.invalid().iter().try_for_each(|&b| escape(f, b))?;
        }
        Ok(())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `\xNN` for byte `b`.
fn escape(f: &mut fmt::Formatter<'_>, b: u8) -> fmt::Result {
    let text = [b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]];
    f.write_str(core::str::from_utf8(&text).unwrap_or("?"))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_stand_in_decodes_to_the_same_bytes() {
        let raw = OsString::from_vec(vec![b'/', 0xff, b'x', 0x80]);
        let s = stand_in(&raw);
        assert_eq!(s, "\u{0}2fff7880");
        assert_eq!(s.parse::<Arg>().unwrap().0, raw);
        assert_eq!("plain".parse::<Arg>().unwrap().0, OsString::from("plain"));
        assert!("\0f".parse::<Arg>().is_err());
    }

    #[test]
    fn messages_show_other_bytes_as_escapes() {
        let raw = OsString::from_vec(vec![b'a', 0xff, b'\n', b'b']);
        let msg = format!("Unrecognized argument: {}", stand_in(&raw));
        assert_eq!(Decoded(&msg).to_string(), "Unrecognized argument: a\\xff\\x0ab");
        assert_eq!(Decoded("no stand-in").to_string(), "no stand-in");
        assert_eq!(Shown("é…".as_bytes()).to_string(), "é…");
        assert_eq!(Arg::from("").to_string(), "\"\"");
    }

    #[test]
    fn text_refuses_a_stand_in() {
        assert_eq!(text("kmalloc-*"), Ok(String::from("kmalloc-*")));
        assert!(text(&stand_in(&OsString::from_vec(vec![0xfe]))).is_err());
    }
}

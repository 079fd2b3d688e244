//! Output: lines built in a fixed buffer and written whole with one `write(2)`.
//!
//! Every line goes out as soon as it is complete, so a serial log holds everything up to
//! the moment a board dies. Nothing here allocates: numbers are formatted by `core::fmt`
//! into [`Line`], and JSON objects are written field by field with [`Json`].

pub mod alert;
pub mod export;
pub mod fmt;
pub mod http;
pub mod jsonread;
pub mod leaks;
pub mod ringlog;
pub mod svg;
pub mod view;

use crate::limits::LINE_BYTES;
use crate::sys;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

/// One output line under construction; text past [`LINE_BYTES`] is cut, never a panic.
pub struct Line {
    buf: [u8; LINE_BYTES],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Line { buf: [0; LINE_BYTES], len: 0 }
    }
}

impl Line {
    /// The text so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The text so far as a string (empty if it is not UTF-8, which kleak never writes).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// Empties the line.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Starts a JSON object `{"kind":"<kind>"`; finish it with [`Json::end`].
    pub fn json(&mut self, kind: &str) -> Json<'_> {
        let _ = self.write_str("{");
        let mut j = Json { line: self, first: true };
        j.key("kind");
        j.string(kind);
        j
    }

    /// Cuts the line back to `len` bytes (to undo a piece that did not fit).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // One byte stays free for the newline `Out::emit` adds.
        let room = LINE_BYTES - 1 - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Writes the fields of one JSON object into a [`Line`].
pub struct Json<'a> {
    line: &'a mut Line,
    first: bool,
}

impl Json<'_> {
    fn string(&mut self, s: &str) {
        let l = &mut *self.line;
        let _ = l.write_char('"');
        for c in s.chars() {
            let _ = match c {
                '"' => l.write_str("\\\""),
                '\\' => l.write_str("\\\\"),
                '\n' => l.write_str("\\n"),
                '\t' => l.write_str("\\t"),
                c if (c as u32) < 0x20 => write!(l, "\\u{:04x}", c as u32),
                c => l.write_char(c),
            };
        }
        let _ = l.write_char('"');
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            let _ = self.line.write_char(',');
        }
        self.first = false;
        self.string(k);
        let _ = self.line.write_char(':');
    }

    /// A string field.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        self.string(v);
        self
    }

    /// An unsigned number field.
    pub fn u64(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k);
        let _ = write!(self.line, "{v}");
        self
    }

    /// A signed number field.
    pub fn i64(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        let _ = write!(self.line, "{v}");
        self
    }

    /// A number field with fractions (`null` if not finite).
    pub fn f64(&mut self, k: &str, v: f64) -> &mut Self {
        self.key(k);
        if v.is_finite() {
            let _ = write!(self.line, "{}", fmt::Fixed(v, 3));
        } else {
            let _ = self.line.write_str("null");
        }
        self
    }

    /// A boolean field.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        let _ = self.line.write_str(if v { "true" } else { "false" });
        self
    }

    /// A field holding `json`, a JSON value written as it is (kleak's own JSON only).
    pub fn raw(&mut self, k: &str, json: &str) -> &mut Self {
        self.key(k);
        let _ = self.line.write_str(json);
        self
    }

    /// A field only if `v` is `Some`.
    pub fn opt_i64(&mut self, k: &str, v: Option<i64>) -> &mut Self {
        if let Some(v) = v {
            self.i64(k, v);
        }
        self
    }

    /// Opens a nested object under `k`; close it with [`Json::close`].
    pub fn open(&mut self, k: &str) -> &mut Self {
        self.key(k);
        let _ = self.line.write_char('{');
        self.first = true;
        self
    }

    /// Opens a list under `k`; add [`Json::item_str`] / [`Json::item_u64`], then
    /// [`Json::close_list`].
    pub fn list(&mut self, k: &str) -> &mut Self {
        self.key(k);
        let _ = self.line.write_char('[');
        self.first = true;
        self
    }

    fn item(&mut self) {
        if !self.first {
            let _ = self.line.write_char(',');
        }
        self.first = false;
    }

    /// A string in a list.
    pub fn item_str(&mut self, v: &str) -> &mut Self {
        self.item();
        self.string(v);
        self
    }

    /// A number in a list.
    pub fn item_u64(&mut self, v: u64) -> &mut Self {
        self.item();
        let _ = write!(self.line, "{v}");
        self
    }

    /// Closes a list.
    pub fn close_list(&mut self) -> &mut Self {
        let _ = self.line.write_char(']');
        self.first = false;
        self
    }

    /// Closes a nested object.
    pub fn close(&mut self) -> &mut Self {
        let _ = self.line.write_char('}');
        self.first = false;
        self
    }

    /// Closes the object.
    pub fn end(&mut self) {
        let _ = self.line.write_char('}');
    }
}

/// The output cannot be written any more: the reader went away (EPIPE, e.g. `kleak all |
/// head -1`), or another write error ([`Out::error`] says which). Stop writing; the
/// command ends and [`Out::finish`] tells which it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Closed;

/// Where lines go.
pub enum Target {
    /// A file descriptor (stdout).
    Fd(i32),
    /// Memory, for tests.
    Memory(Vec<u8>),
    /// Nowhere; lines are only counted (benchmarks, allocation tests).
    Null,
}

/// How tables and numbers are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// JSON lines instead of text.
    pub json: bool,
    /// Sizes as K/M/G instead of exact bytes.
    pub human: bool,
    /// Columns a text line may use.
    pub width: usize,
    /// ANSI colour (only when stdout is a terminal and NO_COLOR is unset).
    pub color: bool,
    /// Written at the start of every line (`# `: text as KTAP diagnostics).
    pub prefix: &'static str,
    /// Plain ASCII sparklines (the locale is not UTF-8, or `--ascii`).
    pub ascii: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style { json: false, human: true, width: 80, color: false, prefix: "", ascii: false }
    }
}

/// Columns a text line may use with `--wide`.
pub const WIDE: usize = 200;

/// True when colour is wanted: stdout is a terminal, `NO_COLOR` is not set
/// (<https://no-color.org>) and the terminal is not `dumb`.
pub fn want_color() -> bool {
    sys::isatty(1) && std::env::var_os("NO_COLOR").is_none() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// ANSI colours, written only when [`Style::color`] is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    /// Problems: a leak, something missing.
    Red,
    /// Warnings.
    Yellow,
    /// Fine.
    Green,
}

/// `text` in `color` if the style allows colour.
pub struct Paint<'a>(pub &'a str, pub Color, pub bool);

impl core::fmt::Display for Paint<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if !self.2 {
            return f.pad(self.0);
        }
        let code = match self.1 {
            Color::Red => "31",
            Color::Yellow => "33",
            Color::Green => "32",
        };
        write!(f, "\x1b[{code}m")?;
        f.pad(self.0)?;
        f.write_str("\x1b[0m")
    }
}

/// The output stream of a command.
pub struct Out {
    target: Target,
    line: Line,
    /// How to show things.
    pub style: Style,
    /// Lines written.
    pub lines: u64,
    /// The first write error (EPIPE included), if a write failed.
    pub error: Option<sys::Errno>,
}

impl Out {
    /// Output to standard output.
    pub fn stdout(style: Style) -> Out {
        Out::new(Target::Fd(1), style)
    }

    /// Output to `target`.
    pub fn new(target: Target, style: Style) -> Out {
        Out { target, line: Line::default(), style, lines: 0, error: None }
    }

    /// The line being built.
    pub fn line(&mut self) -> &mut Line {
        &mut self.line
    }

    /// Writes the line being built, with a newline, and starts a new one.
    pub fn emit(&mut self) -> Result<(), Closed> {
        let prefix = self.style.prefix.as_bytes();
        if !prefix.is_empty() {
            let (p, len) = (prefix.len(), self.line.len.min(LINE_BYTES - 1 - prefix.len()));
            self.line.buf.copy_within(..len, p);
            self.line.buf[..p].copy_from_slice(prefix);
            self.line.len = len + p;
        }
        let len = self.line.len;
        self.line.buf[len] = b'\n';
        let bytes = &self.line.buf[..len + 1];
        let r = match &mut self.target {
            Target::Fd(fd) => sys::File::borrowed(*fd).write_all(bytes).map_err(|e| {
                self.error.get_or_insert(e);
                Closed
            }),
            Target::Memory(v) => {
                v.extend_from_slice(bytes);
                Ok(())
            }
            Target::Null => Ok(()),
        };
        self.line.len = 0;
        self.lines += 1;
        r
    }

    /// The end of a command's output: a reader that went away (EPIPE) is no error; any
    /// other write error is, one line naming the file and the reason (exit 3): a full
    /// disk must not look like an empty, successful report.
    pub fn finish(&self) -> Result<(), crate::Error> {
        let (Some(e), Target::Fd(fd)) = (self.error, &self.target) else { return Ok(()) };
        if e == sys::Errno::EPIPE {
            return Ok(());
        }
        let std = if *fd == 1 { "standard output" } else { "output" };
        let mut path = [0u8; 256];
        let mut fdname = heapless::String::<32>::new();
        let _ = write!(fdname, "/proc/self/fd/{fd}");
        match sys::read_link(&[fdname.as_bytes()], &mut path) {
            Ok(n) => Err(crate::Error::env(format_args!("{std} ({}): {e}", String::from_utf8_lossy(&path[..n])))),
            Err(_) => Err(crate::Error::env(format_args!("{std}: {e}"))),
        }
    }

    /// What was written to a [`Target::Memory`] output.
    pub fn memory(&self) -> &[u8] {
        match &self.target {
            Target::Memory(v) => v,
            _ => &[],
        }
    }
}

/// Writes one formatted line to an [`Out`]: `outln!(out, "x = {}", x)?`.
#[macro_export]
macro_rules! outln {
    ($out:expr, $($arg:tt)*) => {{
        let out: &mut $crate::out::Out = $out;
        let _ = core::fmt::Write::write_fmt(out.line(), format_args!($($arg)*));
        out.emit()
    }};
}

/// True if the locale's character set is UTF-8: the first of `LC_ALL`, `LC_CTYPE`, `LANG`
/// that is set decides, as in C's setlocale. Unset (the C locale) means ASCII.
pub fn utf8_locale() -> bool {
    for key in ["LC_ALL", "LC_CTYPE", "LANG"] {
        if let Some(v) = std::env::var_os(key).filter(|v| !v.is_empty()) {
            let v = v.as_encoded_bytes();
            return v.windows(5).any(|w| w.eq_ignore_ascii_case(b"utf-8"))
                || v.windows(4).any(|w| w.eq_ignore_ascii_case(b"utf8"));
        }
    }
    false
}

/// Columns of standard error: a longer message wraps at a space, its continuation lines
/// indented under its text.
pub const NOTE_COLS: usize = 80;

/// A word of a message (a path, an argument) longer than this many columns is shown
/// elided in the middle, `/aaaa…aaaa/proc`: never cut, the reason after it never lost.
pub const NOTE_WORD_COLS: usize = 60;

const NOTE_INDENT: usize = "kleak: ".len();

/// Messages elide with `...` (the default) instead of `…`; the command line sets it once
/// from the locale, so a message never reads the environment (nor allocates).
static NOTE_ASCII: AtomicBool = AtomicBool::new(true);

/// Chooses `…` (`ascii` false) or `...` for messages, once, at start-up.
pub fn set_ascii_notes(ascii: bool) {
    NOTE_ASCII.store(ascii, Ordering::Relaxed);
}
const HEAD_BYTES: usize = 4 * NOTE_WORD_COLS;
const TAIL_BYTES: usize = 128;

/// Builds one message for standard error in a fixed buffer: words wrapped at
/// [`NOTE_COLS`], each longer than [`NOTE_WORD_COLS`] elided in the middle, however
/// long what it is given.
struct Note {
    out: [u8; 2 * LINE_BYTES],
    len: usize,
    col: usize,
    head: [u8; HEAD_BYTES],
    head_len: usize,
    tail: [u8; TAIL_BYTES],
    word_bytes: usize,
    word_cols: usize,
    ellipsis: &'static str,
    /// The buffer cannot take another word: the rest of the message is left off.
    full: bool,
}

impl Note {
    /// A message, `kleak: ` written.
    fn new() -> Note {
        let mut n = Note {
            out: [0; 2 * LINE_BYTES],
            len: 0,
            col: 0,
            head: [0; HEAD_BYTES],
            head_len: 0,
            tail: [0; TAIL_BYTES],
            word_bytes: 0,
            word_cols: 0,
            ellipsis: if NOTE_ASCII.load(Ordering::Relaxed) { "..." } else { "…" },
            full: false,
        };
        n.push(b"kleak: ");
        n.col = NOTE_INDENT;
        n
    }

    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.out.len() - 1 - self.len);
        self.out[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    fn byte(&mut self, b: u8) {
        if self.head_len < HEAD_BYTES {
            self.head[self.head_len] = b;
            self.head_len += 1;
        }
        self.tail[self.word_bytes % TAIL_BYTES] = b;
        self.word_bytes += 1;
        self.word_cols += (b & 0xc0 != 0x80) as usize;
    }

    /// Places the word just read: on this line if it fits, else on a new indented one.
    fn end_word(&mut self) {
        if self.word_bytes == 0 || self.full {
            (self.head_len, self.word_bytes, self.word_cols) = (0, 0, 0);
            return;
        }
        // Room for the longest word on a new line, the newline that ends the message and a
        // last ellipsis: else the message ends here, at a word's end, never inside one.
        if self.out.len() - self.len < 1 + NOTE_INDENT + HEAD_BYTES + 2 * self.ellipsis.len() + 2 {
            self.push(b" ");
            self.push(self.ellipsis.as_bytes());
            self.full = true;
            return self.end_word();
        }
        let cols = self.word_cols.min(NOTE_WORD_COLS);
        let sep = (self.col > NOTE_INDENT) as usize;
        if self.col + sep + cols > NOTE_COLS && self.col > NOTE_INDENT {
            self.push(b"\n");
            self.push(&[b' '; NOTE_INDENT]);
            self.col = NOTE_INDENT;
        } else if sep == 1 {
            self.push(b" ");
            self.col += 1;
        }
        if self.word_cols <= NOTE_WORD_COLS {
            let head = self.head;
            self.push(&head[..self.word_bytes]);
        } else {
            let dots = self.ellipsis.chars().count();
            let keep = (NOTE_WORD_COLS - dots) / 2;
            let head = self.head;
            let cut = char_start(&head[..self.head_len], keep);
            self.push(&head[..cut]);
            self.push(self.ellipsis.as_bytes());
            // The last bytes in order, from a character's start, then the last `keep` chars.
            let n = self.word_bytes.min(TAIL_BYTES);
            let mut last = [0u8; TAIL_BYTES];
            for (i, b) in last[..n].iter_mut().enumerate() {
                *b = self.tail[(self.word_bytes - n + i) % TAIL_BYTES];
            }
            let mut t = &last[..n];
            while t.first().is_some_and(|b| b & 0xc0 == 0x80) {
                t = &t[1..];
            }
            let chars = t.iter().filter(|&&b| b & 0xc0 != 0x80).count();
            let from = char_start(t, chars.saturating_sub(NOTE_WORD_COLS - dots - keep));
            self.push(&t[from..]);
        }
        self.col += cols;
        (self.head_len, self.word_bytes, self.word_cols) = (0, 0, 0);
    }
}

/// The byte index where character `n` of `s` starts (or its length).
fn char_start(s: &[u8], n: usize) -> usize {
    s.iter().enumerate().filter(|(_, &b)| b & 0xc0 != 0x80).nth(n).map_or(s.len(), |(i, _)| i)
}

impl Write for Note {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            match b {
                b' ' | b'\n' => self.end_word(),
                _ => self.byte(b),
            }
        }
        Ok(())
    }
}

/// Writes `kleak: <message>` to standard error (notes, warnings, errors): one message, in
/// one write, wrapped to [`NOTE_COLS`] columns.
pub fn note(args: core::fmt::Arguments<'_>) {
    let mut n = Note::new();
    let _ = n.write_fmt(args);
    n.end_word();
    n.push(b"\n");
    sys::write_stderr(&n.out[..n.len]);
}

/// The closing `{"kind":"summary",…}` object; `extra` adds command-specific fields.
pub fn summary(
    out: &mut Out,
    command: &str,
    t: &crate::tables::Tables,
    extra: impl FnOnce(&mut Json<'_>),
) -> Result<(), Closed> {
    let present = t.slab.entries().iter().filter(|e| e.presence.now && e.shown).count();
    let mut j = out.line().json("summary");
    j.str("command", command)
        .u64("samples", t.samples as u64)
        .u64("caches", present as u64)
        .u64("caches_untracked", t.slab.overflow.untracked as u64)
        .u64("skipped_lines", t.malformed() as u64)
        .u64("page_size", t.page_size)
        .bool("slabinfo", t.have[0])
        .bool("vmstat", t.have[1])
        .bool("meminfo", t.have[2]);
    extra(&mut j);
    j.end();
    out.emit()
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn json_escapes_and_orders_fields() {
        let mut l = Line::default();
        l.json("slab").str("name", "a\"b\\c\n").u64("n", 3).i64("d", -2).f64("r", 1.5).bool("ok", true);
        let mut j = Json { line: &mut l, first: false };
        j.open("m").i64("x", 1).i64("y", 2).close().open("e").close();
        j.list("l").item_u64(1).item_str("a").close_list().list("z").close_list().end();
        assert_eq!(
            core::str::from_utf8(l.as_bytes()).unwrap(),
            r#"{"kind":"slab","name":"a\"b\\c\n","n":3,"d":-2,"r":1.500,"ok":true,"m":{"x":1,"y":2},"e":{},"l":[1,"a"],"z":[]}"#
        );
    }

    #[test]
    fn notes_wrap_at_a_space_and_elide_long_words_in_the_middle() {
        let mut n = Note::new();
        n.ellipsis = "…";
        let path = format!("/{}/proc/slabinfo", "a".repeat(1000));
        let _ = write!(n, "{path}: no such file or directory; the words after it wrap to the next line");
        n.end_word();
        let text = core::str::from_utf8(&n.out[..n.len]).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("kleak: /{}…{}/proc/slabinfo: no such file", "a".repeat(28), "a".repeat(15)));
        assert_eq!(lines[1], "       or directory; the words after it wrap to the next line");
        assert!(lines.iter().all(|l| l.chars().count() <= NOTE_COLS));
    }

    #[test]
    fn a_message_too_long_for_the_buffer_ends_at_a_word() {
        let mut n = Note::new();
        let _ = write!(n, "{}", "word ".repeat(2000));
        n.end_word();
        let text = core::str::from_utf8(&n.out[..n.len]).unwrap();
        assert!(text.ends_with("word ..."), "{text}");
        let rest = text.strip_prefix("kleak: ").unwrap();
        assert!(rest.lines().all(|l| l.trim_start().split(' ').all(|w| w == "word" || w == "...")), "{text}");
    }

    #[test]
    fn long_lines_are_cut_not_overflowed() {
        let mut out = Out::new(Target::Memory(Vec::new()), Style::default());
        let long = "x".repeat(LINE_BYTES * 2);
        outln!(&mut out, "{long}").unwrap();
        assert_eq!(out.memory().len(), LINE_BYTES);
        assert_eq!(out.memory().last(), Some(&b'\n'));
    }
}

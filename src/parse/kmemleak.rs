//! kmemleak reports: `/sys/kernel/debug/kmemleak`, console logs, mail pastes; every era.
//!
//! | part        | printed as                                          | kernels           |
//! |-------------|-----------------------------------------------------|-------------------|
//! | header      | `unreferenced object 0x%08lx (size %zu):`           | all               |
//! |             | `unreferenced object (percpu) 0x… (size …):`, `(phys)` | 2025+          |
//! | task        | `  comm "%s", pid %d, jiffies %lu (age %d.%03ds)`   | age before 6.8    |
//! | contents    | `  hex dump (first %zu bytes[ on cpu %d]):` + ≤ 2 rows | not the oldest |
//! | backtrace   | `  backtrace:` / `  backtrace (crc %x):`            | crc from 6.8      |
//! | frames      | `    [<%p>] %pS` (hashed, raw, `(____ptrval____)`)  | up to 6.12        |
//! |             | `    %pS`                                           | 6.13+, 6.12.y     |
//!
//! What real pastes add, and what this parser takes in its stride: timestamps and caller
//! ids before a line (`[    5.1][  T1] `), the `kmemleak: ` prefix of the console's verbose
//! mode (also after a syslog prefix), mail quoting (`> `), lost or re-made indentation
//! (tabs, U+00A0), trailing spaces, `BUG: memory leak` and prose between objects, frames
//! run through decode_stacktrace.sh (`func (/path/file.c:123)`) or syzbot's symbolizer
//! (`func file.c:12 [inline]`), and frames a mail client wrapped in two. Lines are told
//! apart by what they say, never by their indentation.
//!
//! The parser is a push parser over lines and keeps no line: it calls back with an
//! [`Event`] that borrows from the line, and the consumer keeps what it needs (see
//! [`crate::leaks`]). A line inside an object that makes no sense is counted in
//! [`LineStats`]; text outside objects is counted as `other_lines`; never a panic.

use super::{parse_hex, parse_u64, LineStats};

/// How kmemleak tracks an object (printed after `object` since 2025).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ObjectKind {
    /// An ordinary (virtual address) object.
    #[default]
    Virtual,
    /// `(percpu)`: a per-CPU allocation.
    Percpu,
    /// `(phys)`: tracked by physical address (memblock).
    Phys,
}

/// `unreferenced object 0x… (size …):`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The object's address (never hashed).
    pub addr: u64,
    /// Its size in bytes (the slab object size, not the size asked for).
    pub size: u64,
    /// Plain, per-CPU or physical.
    pub kind: ObjectKind,
}

/// `comm "…", pid …, jiffies …[ (age …)]`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comm<'a> {
    /// The allocating task's name (`hardirq`/`softirq` from interrupt context).
    pub comm: &'a [u8],
    /// Its pid (0 from interrupt context).
    pub pid: u32,
    /// jiffies at allocation.
    pub jiffies: u64,
    /// Age at the report in milliseconds (kernels before 6.8).
    pub age_ms: Option<u64>,
}

/// One backtrace frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The function without offset and compiler suffix (`foo` of `foo.isra.0+0x1c/0x40`),
    /// or what stands in its place: a raw address (`0xc0a1b2c3`), `(null)`.
    pub func: &'a [u8],
    /// The module in brackets after it (`usbhid`), or empty.
    pub module: &'a [u8],
    /// syzbot's symbolizer marked it `[inline]`.
    pub inline: bool,
    /// The return address's offset in the function (`0x4c` of `foo+0x4c/0xb8`), where
    /// printed: it tells two calls in one function apart.
    pub off: Option<u64>,
}

impl Frame<'_> {
    /// True for the end markers old kernels print after the last real frame (`0xffffffff`,
    /// `0xffffffffffffffff`, `0x0`, `(null)`).
    pub fn is_end_marker(&self) -> bool {
        match self.func {
            b"(null)" | b"0x0" => true,
            f => f.len() > 2 && f[..2] == *b"0x" && f[2..].iter().all(|&b| b == b'f'),
        }
    }
}

/// What a line of a report said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A new object starts.
    Object(Header),
    /// Its allocating task.
    Comm(Comm<'a>),
    /// Its hex dump header (the rows are not reported).
    HexDump,
    /// Its backtrace starts; the crc of its contents from 6.8.
    Backtrace {
        /// `backtrace (crc %x):`
        crc: Option<u32>,
    },
    /// One frame, innermost first.
    Frame(Frame<'a>),
    /// The object ended (a new one, a blank line, other text, or the end of input).
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Outside,
    Object,
    Hex,
    Backtrace,
}

/// Push parser for kmemleak reports; see the module docs.
#[derive(Debug)]
pub struct KmemleakParser {
    /// Lines seen and malformed lines inside objects.
    pub stats: LineStats,
    /// Objects (`unreferenced object` headers).
    pub objects: u32,
    /// Objects with a hex dump.
    pub hex_dumps: u32,
    /// Backtraces with a crc (6.8+).
    pub crcs: u32,
    /// Frames.
    pub frames: u32,
    /// Lines outside objects (prose, prompts, `BUG: memory leak`, test metadata).
    pub other_lines: u32,
    /// Lines taken as the wrapped second half of a frame.
    pub wrapped: u32,
    state: State,
    prev_trailing_space: bool,
}

impl Default for KmemleakParser {
    fn default() -> Self {
        KmemleakParser {
            stats: LineStats::default(),
            objects: 0,
            hex_dumps: 0,
            crcs: 0,
            frames: 0,
            other_lines: 0,
            wrapped: 0,
            state: State::Outside,
            prev_trailing_space: false,
        }
    }
}

impl KmemleakParser {
    /// Feeds one line (without its newline); calls `emit` with what it said.
    pub fn line(&mut self, line: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        self.stats.lines += 1;
        let trailing = matches!(line.last(), Some(b' ' | b'\t' | 0xa0));
        let wrapped_before = core::mem::replace(&mut self.prev_trailing_space, trailing);
        let t = strip(line);
        if t.is_empty() {
            self.end(emit);
            return;
        }
        if self.report_line(t, emit) {
            return;
        }
        if self.state == State::Backtrace && (wrapped_before || is_bracketed_word(t)) {
            // The second half of a frame a mail client wrapped: `[inline]`, `[module]`,
            // `include/linux/kmemleak.h:55 [inline]` after a line that ended in a space.
            self.wrapped += 1;
            return;
        }
        self.end(emit);
        self.other_lines += 1;
    }

    /// Ends the input: an object still open is complete.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        self.end(emit);
    }

    fn end(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        if self.state != State::Outside {
            self.state = State::Outside;
            emit(Event::End);
        }
    }

    /// Handles `t` if it is a line of a report; false if it is not.
    fn report_line(&mut self, t: &[u8], emit: &mut dyn FnMut(Event<'_>)) -> bool {
        let inside = self.state != State::Outside;
        match t[0] {
            b'u' if t.starts_with(b"unreferenced object") => {
                self.end(emit);
                match header(&t[19..]) {
                    Some(h) => {
                        self.objects += 1;
                        self.state = State::Object;
                        emit(Event::Object(h));
                    }
                    None => self.stats.malformed(),
                }
                return true;
            }
            b'c' if t.starts_with(b"comm \"") => {
                match comm(&t[6..]) {
                    Some(c) if inside => emit(Event::Comm(c)),
                    _ => self.stats.malformed(),
                }
                return true;
            }
            b'h' if t.starts_with(b"hex dump (first ") => {
                if inside {
                    self.hex_dumps += 1;
                    self.state = State::Hex;
                    emit(Event::HexDump);
                } else {
                    self.stats.malformed();
                }
                return true;
            }
            b'b' if t.starts_with(b"backtrace") && t.last() == Some(&b':') => {
                let crc = match &t[9..t.len() - 1] {
                    b"" => None,
                    r => match r.strip_prefix(b" (crc ").and_then(|r| r.strip_suffix(b")")) {
                        Some(hex) if parse_hex(hex).is_some() => parse_hex(hex).map(|v| v as u32),
                        _ => {
                            self.stats.malformed();
                            return true;
                        }
                    },
                };
                if inside {
                    self.crcs += crc.is_some() as u32;
                    self.state = State::Backtrace;
                    emit(Event::Backtrace { crc });
                } else {
                    self.stats.malformed();
                }
                return true;
            }
            _ => {}
        }
        match self.state {
            State::Hex if is_hex_row(t) => true,
            State::Backtrace => match frame(t) {
                Some(f) => {
                    self.frames += 1;
                    emit(Event::Frame(f));
                    true
                }
                None => false,
            },
            _ => false,
        }
    }
}

/// True for the bytes between fields: ASCII whitespace and the two bytes of U+00A0.
#[inline]
fn is_pad(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0xc2 | 0xa0)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().position(|&b| !is_pad(b)).unwrap_or(s.len());
    &s[n..]
}

/// Removes what real pastes put around a report line: indentation (spaces, tabs,
/// U+00A0), mail quoting, printk timestamps and caller ids, a syslog or journal prefix
/// (`Jan  1 00:00:42 board kernel: `) before `kmemleak: `, the `kmemleak: ` prefix
/// itself, and trailing whitespace.
fn strip(line: &[u8]) -> &[u8] {
    let mut s = line;
    // Bounded: `> > > [ 1.0][ T1] ` is as deep as it gets.
    for _ in 0..8 {
        s = trim_start(s);
        match s.first() {
            Some(b'>') => s = &s[1..],
            Some(b'[') => match timestamp_len(s) {
                Some(n) => s = &s[n..],
                None => break,
            },
            _ => break,
        }
    }
    // A syslog line starts with a month name; only then is the prefix searched for.
    if s.first().is_some_and(u8::is_ascii_uppercase) {
        if let Some(p) = find(s, b" kmemleak: ") {
            s = &s[p + 1..];
        }
    }
    if let Some(r) = s.strip_prefix(b"kmemleak: ") {
        s = trim_start(r);
    }
    let end = s.iter().rposition(|&b| !is_pad(b)).map_or(0, |p| p + 1);
    &s[..end]
}

/// Length of a leading `[    5.123456]` or `[  T123]`: a bracket that opens on a space
/// or a digit (a frame opens `[<`, a module name or `[inline]` on a letter).
fn timestamp_len(s: &[u8]) -> Option<usize> {
    let ok = matches!(s.get(1), Some(b' ' | b'0'..=b'9'));
    ok.then(|| s.iter().take(40).position(|&b| b == b']').map(|p| p + 1))?
}

/// `[word]` alone on a line: a module name or `[inline]` wrapped off its frame.
fn is_bracketed_word(t: &[u8]) -> bool {
    t.first() == Some(&b'[') && t.last() == Some(&b']') && !t.contains(&b' ')
}

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The decimal number at the start of `s`, and the rest.
fn number(s: &[u8]) -> Option<(u64, &[u8])> {
    let n = s.iter().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
    Some((parse_u64(&s[..n])?, &s[n..]))
}

/// After `unreferenced object`: `[ (percpu)| (phys)] 0x… (size N):`.
fn header(s: &[u8]) -> Option<Header> {
    let mut s = trim_start(s);
    let mut kind = ObjectKind::Virtual;
    if let Some(r) = s.strip_prefix(b"(percpu)") {
        kind = ObjectKind::Percpu;
        s = trim_start(r);
    } else if let Some(r) = s.strip_prefix(b"(phys)") {
        kind = ObjectKind::Phys;
        s = trim_start(r);
    }
    let end = s.iter().position(|&b| b == b' ')?;
    let addr = parse_hex(s[..end].strip_prefix(b"0x")?)?;
    let (size, rest) = number(trim_start(&s[end..]).strip_prefix(b"(size ")?)?;
    rest.starts_with(b")").then_some(Header { addr, size, kind })
}

/// After `comm "`: `name", pid N, jiffies N[ (age S.MMMs)]`.
fn comm(s: &[u8]) -> Option<Comm<'_>> {
    // A task name may itself hold `"` or `, `: the last `", pid ` ends it.
    let q = s.windows(7).rposition(|w| w == b"\", pid ")?;
    let (pid, rest) = number(&s[q + 7..])?;
    let (jiffies, rest) = number(rest.strip_prefix(b", jiffies ")?)?;
    let rest = trim_start(rest);
    let age_ms = match rest.strip_prefix(b"(age ") {
        // `%d.%03ds`: seconds and milliseconds.
        Some(a) => {
            let (secs, a) = number(a)?;
            let (ms, a) = number(a.strip_prefix(b".")?)?;
            a.starts_with(b"s)").then_some(secs.saturating_mul(1000).saturating_add(ms))?;
            Some(secs.saturating_mul(1000).saturating_add(ms))
        }
        None if rest.is_empty() => None,
        None => return None,
    };
    Some(Comm { comm: &s[..q], pid: pid.min(u32::MAX as u64) as u32, jiffies, age_ms })
}

fn is_hex_row(t: &[u8]) -> bool {
    t.len() >= 2 && t[0].is_ascii_hexdigit() && t[1].is_ascii_hexdigit() && t.get(2).is_none_or(|&b| is_pad(b))
}

/// True for bytes of a C symbol (with the `.` of compiler suffixes).
fn is_symbol_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$'
}

/// A source position as syzbot's symbolizer prints it: `drivers/usb/core/urb.c:74`.
fn is_source_pos(tok: &[u8]) -> bool {
    tok.windows(3).any(|w| w[0] == b'.' && w[2] == b':') || find(tok, b".rs:").is_some()
}

/// A frame line: `[<addr>] sym+0x1/0x2 [mod]`, `sym+0x1/0x2 [mod]`, `0xaddr`, `sym (file:line)`,
/// `sym file.c:12 [inline]`. A bare word is not a frame (it is text after the report).
fn frame(t: &[u8]) -> Option<Frame<'_>> {
    let (s, after_addr) = match t.strip_prefix(b"[<") {
        Some(r) => (trim_start(&r[r.iter().position(|&b| b == b']')? + 1..]), true),
        None => (t, false),
    };
    let end = s.iter().position(|&b| matches!(b, b'+' | b' ' | b'\t')).unwrap_or(s.len());
    let tok = &s[..end];
    let rest = &s[end..];
    if !after_addr {
        let raw = tok.len() > 2 && tok[..2] == *b"0x" && tok[2..].iter().all(u8::is_ascii_hexdigit);
        if tok.is_empty() || !tok.iter().all(|&b| is_symbol_byte(b)) {
            return None;
        }
        let next = trim_start(rest);
        let second = &next[..next.iter().position(|&b| b == b' ').unwrap_or(next.len())];
        if !(raw || rest.first() == Some(&b'+') || next.first() == Some(&b'(') || is_source_pos(second)) {
            return None;
        }
    }
    if tok.is_empty() {
        // `[<ffffffff>]` with nothing after it.
        return Some(Frame { func: b"?", module: b"", inline: false, off: None });
    }
    // Compiler suffixes (`.isra.0`, `.cold`, `.constprop.0`) name the same function.
    let func = match tok.iter().position(|&b| b == b'.') {
        Some(p) if p > 0 && !tok.starts_with(b"0x") => &tok[..p],
        _ => tok,
    };
    let (mut module, mut inline) = (&b""[..], false);
    if rest.last() == Some(&b']') {
        if let Some(open) = rest.iter().rposition(|&b| b == b'[') {
            match &rest[open + 1..rest.len() - 1] {
                b"inline" => inline = true,
                m => module = m,
            }
        }
    }
    // `+0x4c/0xb8`: the offset, up to the slash.
    let off = rest.strip_prefix(b"+0x").and_then(|r| {
        let n = r.iter().position(|b| !b.is_ascii_hexdigit()).unwrap_or(r.len());
        parse_hex(&r[..n])
    });
    Some(Frame { func, module, inline, off })
}

#[cfg(test)]
mod test {
    use super::*;

    /// Parses `text` and returns the events as strings, and the parser.
    fn parse(text: &str) -> (Vec<String>, KmemleakParser) {
        let mut p = KmemleakParser::default();
        let mut out = Vec::new();
        let mut emit = |e: Event<'_>| {
            out.push(match e {
                Event::Object(h) => format!("object {:#x} {} {:?}", h.addr, h.size, h.kind),
                Event::Comm(c) => format!("comm {} {} {:?}", String::from_utf8_lossy(c.comm), c.pid, c.age_ms),
                Event::HexDump => "hex".into(),
                Event::Backtrace { crc } => format!("backtrace {crc:x?}"),
                Event::Frame(f) => format!(
                    "frame {}{}{}",
                    String::from_utf8_lossy(f.func),
                    if f.module.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", String::from_utf8_lossy(f.module))
                    },
                    if f.inline { " inline" } else { "" }
                ),
                Event::End => "end".into(),
            })
        };
        for l in text.split('\n') {
            p.line(l.as_bytes(), &mut emit);
        }
        p.finish(&mut emit);
        (out, p)
    }

    // Lines below are taken from tests/corpus/kmemleak (file named in each test).

    #[test]
    fn debugfs_with_age_hex_dump_and_hashed_addresses() {
        // syzkaller-testdata_04.txt (after its timestamped BUG line)
        let (ev, p) = parse(
            "unreferenced object 0xffff88007c996480 (size 96):\n\
  comm \"syz-executor1\", pid 4094, jiffies 4294767514 (age 15.374s)\n\
  hex dump (first 32 bytes):\n\
    a0 ad 58 76 00 88 ff ff b0 ab 58 76 00 88 ff ff  ..Xv......Xv....\n\
    70 05 2e 82 ff ff ff ff dd 00 00 00 21 00 00 00  p...........!...\n\
  backtrace:\n\
    [<000000005b8e4771>] kmem_cache_alloc+0x1c0/0x3c0\n\
    [<0000000075871512>] selinux_inode_alloc_security+0xf9/0x390",
        );
        assert_eq!(
            ev,
            [
                "object 0xffff88007c996480 96 Virtual",
                "comm syz-executor1 4094 Some(15374)",
                "hex",
                "backtrace None",
                "frame kmem_cache_alloc",
                "frame selinux_inode_alloc_security",
                "end"
            ]
        );
        assert_eq!((p.objects, p.hex_dumps, p.frames, p.stats.malformed, p.other_lines), (1, 1, 2, 0, 0));
    }

    #[test]
    fn crc_and_plain_ps_frames_of_6_13() {
        // lkml-patch_08.txt: no hex dump, crc, bare symbol frames, indented two more
        let (ev, p) = parse(
            "  unreferenced object 0xffff0000c92c1480 (size 64):\n\
    comm \"kworker/u16:2\", pid 50, jiffies 4294895789\n\
    backtrace (crc 49d507d0):\n\
      kmemleak_alloc+0x34/0x40\n\
      dwc3_imx8mp_probe+0x228/0x734",
        );
        assert_eq!(ev[1], "comm kworker/u16:2 50 None");
        assert_eq!(ev[2], "backtrace Some(49d507d0)");
        assert_eq!(ev[3..5], ["frame kmemleak_alloc", "frame dwc3_imx8mp_probe"]);
        assert_eq!((p.crcs, p.hex_dumps), (1, 0));
    }

    #[test]
    fn ptrval_addresses() {
        // lkp-tests_1.txt
        let (ev, _) = parse("unreferenced object 0xffff8df92908ff80 (size 128):\n  backtrace:\n    [<(____ptrval____)>] unpack_to_rootfs+0x3d/0x304");
        assert_eq!(ev[2], "frame unpack_to_rootfs");
    }

    #[test]
    fn end_markers_of_old_kernels() {
        // lkml-patch_04.txt (no indentation), lkml-report_10.txt, lkml-patch_05.txt
        let (ev, p) = parse(
            "unreferenced object 0xb8004c40 (size 64):\n\
comm \"swapper\", pid 0, jiffies 4294937303 (age 747.660s)\n\
backtrace:\n\
[<49275eec>] kasprintf+0x30/0x50\n\
[< (null)>] (null)\n\
[<f0763fdf>] 0xffffffff\n\
[<00000000c36ee3dd>] 0xffffffffffffffff",
        );
        assert_eq!(ev[3..7], ["frame kasprintf", "frame (null)", "frame 0xffffffff", "frame 0xffffffffffffffff"]);
        assert_eq!(p.stats.malformed, 0);
        let f = |s: &'static [u8]| Frame { func: s, module: b"", inline: false, off: None }.is_end_marker();
        assert!(f(b"(null)") && f(b"0xffffffff") && f(b"0x0") && !f(b"0xbee4a3d0") && !f(b"kasprintf"));
    }

    #[test]
    fn modules_and_compiler_suffixes() {
        // lkml-report_08.txt (arm64, crc, hardirq)
        let (ev, _) = parse(
            "unreferenced object 0xffff0000e2db5600 (size 192):\n\
  comm \"hardirq\", pid 0, jiffies 4294939685\n\
  backtrace (crc 242ab20e):\n\
    [<ffffd023f573046c>] _base_async_event.isra.0+0x104/0x6a8 [mpt3sas]\n\
    [<ffffd024325db6fc>] __gic_handle_irq_from_irqson.isra.0+0x3cc/0x6d8",
        );
        assert_eq!(ev[3..5], ["frame _base_async_event [mpt3sas]", "frame __gic_handle_irq_from_irqson"]);
    }

    #[test]
    fn syzbot_bug_lines_timestamps_and_inline_frames() {
        // syzkaller-testdata_04.txt, syzkaller-testdata_01.txt
        let (ev, p) = parse(
            "2018/01/09 14:28:48 BUG: memory leak\n\
unreferenced object 0xffff888109e0af00 (size 192):\n\
  backtrace:\n\
    [<0000000070ad19b0>] kmalloc include/linux/slab.h:557 [inline]\n\
    [<0000000070ad19b0>] usb_alloc_urb+0x66/0xe0 drivers/usb/core/urb.c:74\n\
\n\
BUG: memory leak\n\
unreferenced object 0xffff888109e0a300 (size 192):",
        );
        assert_eq!(ev[2..4], ["frame kmalloc inline", "frame usb_alloc_urb"]);
        assert_eq!(p.objects, 2);
        assert_eq!(p.other_lines, 2, "the two BUG lines");
    }

    #[test]
    fn decoded_frames_without_indentation() {
        // lkml-report_03.txt
        let (ev, p) = parse(
            "unreferenced object 0xffff8d49bd92a720 (size 8):\n\
comm \"test_cpuset_prs\", pid 9213, jiffies 4294953562\n\
hex dump (first 8 bytes):\n\
00 00 00 00 00 00 00 00                          ........\n\
backtrace (crc 0):\n\
kmemleak_alloc (/home/marvin/linux/kernel/linux_torvalds/mm/kmemleak.c:1045)\n\
alloc_cpumask_var_node (/home/marvin/linux/kernel/linux_torvalds/lib/cpumask.c:71)",
        );
        assert_eq!(ev[3..6], ["backtrace Some(0)", "frame kmemleak_alloc", "frame alloc_cpumask_var_node"]);
        assert_eq!(p.stats.malformed, 0);
    }

    #[test]
    fn nbsp_indentation_and_a_wrapped_module() {
        // lkml-report_07.txt: U+00A0 indentation; "[dasd_eckd_mod]" wrapped to its own line
        let (ev, p) = parse(
            "unreferenced object 0x0fcee900 (size 256):\n\
\u{a0} comm \"dasdconf.sh\", pid 446, jiffies 4294940081 (age 170.340s)\n\
\u{a0} hex dump (first 32 bytes):\n\
\u{a0} \u{a0} \u{a0} \u{a0} dc 01 01 00 f0 f0 f2 f1 f0 f7 f9 f0 f0 c9 c2 d4\u{a0} \u{a0} ................\n\
\u{a0} backtrace:\n\
\u{a0} \u{a0} \u{a0} \u{a0} [<00000000ce31f195>] dasd_eckd_check_characteristics+0x3cc/0x938\n\
[dasd_eckd_mod]\n\
\u{a0} \u{a0} \u{a0} \u{a0} [<00000000f6f1759b>] dasd_generic_set_online+0x150/0x4c0",
        );
        assert_eq!(ev[1], "comm dasdconf.sh 446 Some(170340)");
        assert_eq!(ev[4..6], ["frame dasd_eckd_check_characteristics", "frame dasd_generic_set_online"]);
        assert_eq!((p.wrapped, p.stats.malformed, p.other_lines), (1, 0, 0));
    }

    #[test]
    fn mail_quoting() {
        // lkml-report_13.txt
        let (ev, _) = parse(
            "> unreferenced object 0xd8366600 (size 64):\n\
>   comm \"swapper/0\", pid 1, jiffies 4294937370 (age 933.220s)\n\
>   backtrace:\n\
>     [<b0402aec>] kasprintf+0x2c/0x54\n\
>     [<ce7b131a>] 0x0",
        );
        assert_eq!(ev[0], "object 0xd8366600 64 Virtual");
        assert_eq!(ev[3..5], ["frame kasprintf", "frame 0x0"]);
    }

    #[test]
    fn tab_indented_reply() {
        // lkml-report_14.txt
        let (ev, p) = parse(
            "    unreferenced object 0xc6d3b7c0 (size 64):\n\
      comm \"mount.nfs\", pid 261, jiffies 4294943450 (age 1385.530s)\n\
      hex dump (first 32 bytes):\n\
\t73 65 72 76 65 72 2d 32 00 00 00 00 00 00 00 00  server-2........\n\
      backtrace:\n\
\t[<7849dbd6>] slab_post_alloc_hook.constprop.0+0x9c/0xac",
        );
        assert_eq!(ev[4], "frame slab_post_alloc_hook");
        assert_eq!(p.stats.malformed, 0);
    }

    #[test]
    fn flowed_mail_wraps_long_frames() {
        // syzbot-email-flowed-raw_01.txt: the broken line ends in a space
        let (ev, p) = parse(
            "unreferenced object 0xffff888123ccbc00 (size 224):\n\
   backtrace:\n\
     [<00000000600479ed>] kmemleak_alloc_recursive  \n\
include/linux/kmemleak.h:55 [inline]\n\
     [<0000000074e70f06>] bt_skb_alloc include/net/bluetooth/bluetooth.h:339  \n\
[inline]\n\
     [<0000000074e70f06>] bcsp_recv+0x1c3/0x540  \n\
drivers/bluetooth/hci_bcsp.c:685",
        );
        assert_eq!(ev[2..5], ["frame kmemleak_alloc_recursive", "frame bt_skb_alloc", "frame bcsp_recv"]);
        assert_eq!((p.wrapped, p.other_lines, p.stats.malformed), (3, 0, 0));
    }

    #[test]
    fn console_lines_with_timestamps_and_the_kmemleak_prefix() {
        // The verbose console form (kmemleak.verbose=1) of an arm64 report; prefixes are
        // the kernel's own: printk time, caller id, pr_fmt "kmemleak: ".
        let (ev, p) = parse(
            "[   42.123456][  T812] kmemleak: unreferenced object 0xffff0000c92c1480 (size 64):\n\
[   42.123460][  T812] kmemleak:   comm \"kworker/u16:2\", pid 50, jiffies 4294895789\n\
[   42.123462][  T812] kmemleak:   backtrace (crc 49d507d0):\n\
[   42.123470][  T812] kmemleak:     kmemleak_alloc+0x34/0x40\n\
Jan  1 00:00:42 board kernel: kmemleak:     of_device_alloc+0xec/0x26c",
        );
        assert_eq!(ev[3..5], ["frame kmemleak_alloc", "frame of_device_alloc"]);
        assert_eq!((p.objects, p.stats.malformed, p.other_lines), (1, 0, 0));
    }

    #[test]
    fn percpu_and_phys_objects() {
        // mm/kmemleak.c since 2025: "unreferenced object%s 0x%08lx (size %zu):"
        let (ev, _) = parse(
            "unreferenced object (percpu) 0x3c4e0 (size 8):\n  hex dump (first 8 bytes on cpu 1):\nunreferenced object (phys) 0x80000000 (size 4096):",
        );
        assert_eq!(ev[0], "object 0x3c4e0 8 Percpu");
        assert_eq!(ev[1], "hex");
        assert_eq!(ev[3], "object 0x80000000 4096 Phys");
    }

    #[test]
    fn prose_prompts_and_elisions_end_objects_and_are_counted() {
        // lkml-attachment_1.txt (xfstests prose), lkml-report_02.txt (". " elisions),
        // lkml-report_01.txt (shell prompt), syzkaller-testdata_14.txt (separator)
        let (ev, p) = parse(
            "EXPERIMENTAL kmemleak reported some memory leaks!  Due to the way kmemleak\n\
unreferenced object 0xffff909698ff9280 (size 64):\n\
  backtrace:\n\
    [<ffffffffb3023903>] device_release_driver_internal+0xc3/0x140\n\
.\n\
root@hostname:/home/username#\n\
<<<<<<<<<<<<<<< tail report >>>>>>>>>>>>>>>",
        );
        assert_eq!(ev.last().unwrap(), "end");
        assert_eq!(ev.iter().filter(|e| *e == "end").count(), 1);
        assert_eq!((p.objects, p.other_lines, p.stats.malformed), (1, 4, 0));
    }

    #[test]
    fn trailing_spaces_everywhere() {
        // syzkaller-testdata_10.txt
        let (ev, p) = parse(
            "unreferenced object 0xffff8800342540c0 (size 1864): \n\
  comm \"a.out\", pid 24109, jiffies 4299060398 (age 27.984s) \n\
  backtrace: \n\
    [<ffffffff85c73a22>] kmemleak_alloc+0x72/0xc0 mm/kmemleak.c:915 ",
        );
        assert_eq!(ev[1], "comm a.out 24109 Some(27984)");
        assert_eq!(ev[3], "frame kmemleak_alloc");
        assert_eq!(p.stats.malformed, 0);
    }

    #[test]
    fn signature_glued_to_the_last_frame() {
        // lkml-report_06.txt: "system_call+0x6e/0x90--"
        let (ev, _) = parse(
            "unreferenced object 0x990d0000 (size 12288):\n  backtrace (crc 9893fb1d):\n    system_call+0x6e/0x90--",
        );
        assert_eq!(ev[2], "frame system_call");
    }

    #[test]
    fn control_commands_in_a_fake_file_are_text_not_frames() {
        // A regular file standing in for debugfs collects the commands written to it.
        let (ev, p) = parse(
            "scan=off\nclear\nunreferenced object 0x1 (size 8):\n  backtrace:\n    a_leak+0x1/0x2 [leaky]\nscan\nscan",
        );
        assert_eq!(ev, ["object 0x1 8 Virtual", "backtrace None", "frame a_leak [leaky]", "end"]);
        assert_eq!((p.other_lines, p.stats.malformed), (4, 0));
    }

    #[test]
    fn malformed_lines_inside_objects_are_counted_never_fatal() {
        let (ev, p) = parse(
            "unreferenced object 0xzz (size 1):\n\
unreferenced object 0x10 (size 8):\n\
  comm \"x\", pid nope, jiffies 1\n\
  backtrace (crc zz):\n\
  comm \"late\", pid 1, jiffies 2 (age 1.500s)\n\
  hex dump (first 8 bytes):\n\
\u{0}\u{ff}\u{7f}",
        );
        assert_eq!(ev[0], "object 0x10 8 Virtual");
        assert_eq!(ev[1], "comm late 1 Some(1500)");
        assert_eq!(p.stats.malformed, 3);
        assert_eq!(p.stats.first_malformed, 1);
        assert_eq!(p.objects, 1);
    }
}

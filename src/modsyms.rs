//! The symbols of modules that `kleak run`'s command loads, kept for after it unloads them.
//!
//! kmemleak stores a backtrace as addresses and names the frames when its report is
//! *read*. After `modprobe foo; test; modprobe -r foo` the report is read with `foo` gone,
//! so its frames print as raw addresses (`[<(____ptrval____)>] 0xffffffc0001e02c0`, or
//! plain `0xffffffc0001e02c0` from 6.13) and the leak names nobody. So while the command
//! runs, `kleak run` polls `/proc/modules` every few milliseconds ([`ModSyms::poll`]); when
//! a module appears it copies that module's text symbols from `/proc/kallsyms` into a table
//! of fixed capacity. Frames that are raw addresses inside a kept module are named from the
//! table before they are grouped ([`ModSyms::resolve`]): `leaky_cache_leak+0x64/0xe8
//! [leaky]`, as kmemleak would have printed them while the module was loaded.
//!
//! **Reading in time.** `insmod x.ko; rmmod x` leaves a module loaded for 40–70 ms under
//! QEMU (less on a board), and /proc/kallsyms lists every kernel symbol before the first
//! module symbol: reading it whole takes 50–70 ms there for 13,500 symbols. So the read is
//! prepared before a module appears ([`ModSyms::baseline`]): one read finds where the
//! module symbols start (the kernel's own symbols do not change), and a second open file
//! is read up to a few pages before that point and left open. /proc/kallsyms is a
//! seq_file: it keeps its place between reads, and it builds a module's symbols only when
//! a read reaches them, from the modules loaded *then* (the newest listed first). When a
//! module appears, the rest of that file is read: a few hundred symbols, a few
//! milliseconds. It is then prepared again for the next module; a prepared read that
//! finds nothing falls back to reading the file whole.
//!
//! Only root sees addresses in both files (others read zeros, and nothing is kept). A
//! module's range is its `/proc/modules` base and size; a symbol's size runs to the next
//! text symbol or to the end of that range. A module's init code is named only when its
//! symbols were read while it initialised (kallsyms drops them once it is loaded, and
//! the range shrinks to what stays at the next poll). What it cannot do: name a module
//! loaded and unloaded between two polls, or unloaded before its symbols were read; keep
//! modules loaded before the command started (their names are only remembered).

use crate::limits::{MAX_KEPT_MODULES, MAX_MODULES_SEEN, MAX_MODULE_SYMBOLS, MODULE_SYMBOL_BYTES, NAME_BYTES};
use crate::parse::parse_hex;
use crate::parse::parse_u64;
use crate::sample::{read_retry, ReadAt, Root};
use crate::sys::Errno;
use crate::table::Name;

const KALLSYMS: &str = "/proc/kallsyms";

/// One text symbol of a kept module.
#[derive(Clone, Copy, Debug)]
struct Sym {
    addr: u64,
    /// Its name: `names[at..at + len]`.
    at: u32,
    len: u8,
    /// Index in `modules`.
    module: u8,
}

/// A kept module: its name and address range, from `/proc/modules`.
#[derive(Clone, Copy, Debug)]
struct Module {
    name: Name<NAME_BYTES>,
    base: u64,
    end: u64,
}

/// A raw address, named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The function.
    pub func: &'a [u8],
    /// Its module.
    pub module: &'a [u8],
    /// The address's offset in the function.
    pub off: u64,
    /// The function's size (up to the next symbol).
    pub size: u64,
}

impl core::fmt::Display for Resolved<'_> {
    /// As kmemleak prints a frame: `func+0x64/0xe8 [module]`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = |b| core::str::from_utf8(b).unwrap_or("?");
        write!(f, "{}+{:#x}/{:#x} [{}]", s(self.func), self.off, self.size, s(self.module))
    }
}

/// The table. Its symbol storage is allocated when the first module is kept, once, at its
/// capacity ([`MAX_MODULE_SYMBOLS`], [`MODULE_SYMBOL_BYTES`]), and never grows. `F` is an
/// open file of the root it reads (the prepared /proc/kallsyms).
#[derive(Debug)]
pub struct ModSyms<F> {
    /// Modules seen in /proc/modules (a hash of name and base), kept or not.
    seen: heapless::Vec<u64, MAX_MODULES_SEEN>,
    modules: heapless::Vec<Module, MAX_KEPT_MODULES>,
    syms: Vec<Sym>,
    names: Vec<u8>,
    /// Where the first module symbol of /proc/kallsyms starts (the kernel's own symbols
    /// end), or its size when no module is loaded.
    core_end: u64,
    /// /proc/kallsyms, read up to a little before `core_end`, and where it stands.
    ahead: Option<(F, u64)>,
    /// Modules that appeared but could not be kept: a table was full.
    pub dropped: u32,
    /// Modules kept from a prepared read (the rest needed a whole read).
    pub prepared_reads: u32,
}

impl<F> Default for ModSyms<F> {
    fn default() -> Self {
        ModSyms {
            seen: heapless::Vec::new(),
            modules: heapless::Vec::new(),
            syms: Vec::new(),
            names: Vec::new(),
            core_end: 0,
            ahead: None,
            dropped: 0,
            prepared_reads: 0,
        }
    }
}

/// What a read of /proc/modules is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Remember the modules loaded before the command.
    Baseline,
    /// Find the modules that appeared.
    Poll,
    /// Only update the sizes of kept modules.
    Sizes,
}

/// A module that appeared since the last poll.
#[derive(Clone, Copy)]
struct New {
    name: Name<NAME_BYTES>,
    base: u64,
    end: u64,
}

fn key(name: &[u8], base: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in name.iter().chain(&base.to_le_bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// `name size refs deps state 0xbase ...`: name, base, size. `None` for a line without
/// an address (or a zero one: not root).
fn module_line(line: &[u8]) -> Option<(&[u8], u64, u64)> {
    let mut f: [&[u8]; 6] = [b""; 6];
    let mut rest = line;
    for field in f.iter_mut() {
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        *field = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or(b"");
    }
    let (size, base) = (parse_u64(f[1])?, parse_hex(f[5].strip_prefix(b"0x")?)?);
    (base != 0 && size != 0).then_some((f[0], base, size))
}

/// `ffffffc0001e02c0 t leaky_cache_leak\t[leaky]`: address, type, name, module.
fn kallsyms_line(line: &[u8]) -> Option<(u64, u8, &[u8], &[u8])> {
    let module = line.strip_suffix(b"]")?;
    let open = module.iter().rposition(|&b| b == b'[')?;
    let (head, module) = (&module[..open], &module[open + 1..]);
    let head = head.strip_suffix(b"\t").unwrap_or(head);
    let sp = head.iter().position(|&b| b == b' ')?;
    let addr = parse_hex(&head[..sp])?;
    let rest = &head[sp + 1..];
    let (&kind, name) = (rest.first()?, rest.get(2..)?);
    Some((addr, kind, name, module))
}

/// Reads the lines of `f` from offset `off` through `buf` (a partial line is carried to
/// the next read), until the end of the file, until `end` is reached, or until `line`
/// returns false. `line` gets each line and its offset. Returns the offset reached.
fn lines_from<F: ReadAt>(
    f: &mut F,
    mut off: u64,
    end: u64,
    buf: &mut [u8],
    line: &mut dyn FnMut(&[u8], u64) -> bool,
) -> Result<u64, Errno> {
    let (mut fill, mut at) = (0, off);
    let mut retries = 0;
    while off < end {
        let room = (buf.len() - fill).min((end - off).min(usize::MAX as u64) as usize);
        let n = read_retry(f, &mut buf[fill..fill + room], off, &mut retries)?;
        if n == 0 {
            if fill > 0 {
                line(&buf[..fill], at);
            }
            break;
        }
        off += n as u64;
        let total = fill + n;
        let mut start = 0;
        while let Some(p) = buf[start..total].iter().position(|&b| b == b'\n') {
            if !line(&buf[start..start + p], at + start as u64) {
                return Ok(off);
            }
            start += p + 1;
        }
        if start == 0 && total == buf.len() {
            // A line longer than the buffer: not a kallsyms line; skip what was read.
            (fill, at) = (0, off);
            continue;
        }
        buf.copy_within(start..total, 0);
        (fill, at) = (total - start, at + start as u64);
    }
    Ok(off)
}

impl<F: ReadAt> ModSyms<F> {
    /// An empty table (a few KiB; symbol storage comes with the first kept module).
    pub fn new() -> Self {
        ModSyms::default()
    }

    /// Modules kept.
    pub fn kept(&self) -> usize {
        self.modules.len()
    }

    /// Remembers the modules loaded now without keeping their symbols (the command's own
    /// modules are the ones that appear later), and prepares the read of /proc/kallsyms.
    pub fn baseline<R: Root<File = F>>(&mut self, root: &R, buf: &mut [u8]) {
        let _ = self.read_modules(root, buf, Read::Baseline);
        // No addresses (not root): nothing will be kept, nothing to prepare.
        let Ok(mut f) = root.open(KALLSYMS) else { return };
        let mut zero = false;
        let end = lines_from(&mut f, 0, u64::MAX, buf, &mut |l, at| {
            if l.last() == Some(&b']') {
                self.core_end = at;
                return false;
            }
            zero = zero || l.starts_with(b"0000000000000000 ");
            true
        });
        if let Ok(end) = end {
            if self.core_end == 0 && !zero {
                self.core_end = end;
            }
        }
        self.prepare(root, buf);
    }

    /// Opens /proc/kallsyms and reads it up to a few pages before the first module
    /// symbol: the kernel builds a page of lines ahead of a reader (a seq_file's buffer,
    /// and one line more), and must not reach the module symbols before one appears.
    fn prepare<R: Root<File = F>>(&mut self, root: &R, buf: &mut [u8]) {
        self.ahead = None;
        let stop = self.core_end.saturating_sub(3 * crate::sys::page_size());
        if stop == 0 {
            return;
        }
        if let Ok(mut f) = root.open(KALLSYMS) {
            if let Ok(at) = lines_from(&mut f, 0, stop, buf, &mut |_, _| true) {
                self.ahead = Some((f, at));
            }
        }
    }

    /// Reads /proc/modules; copies the symbols of the modules that appeared since the
    /// last call from /proc/kallsyms. Errors are ignored: a poll that fails keeps nothing.
    pub fn poll<R: Root<File = F>>(&mut self, root: &R, buf: &mut [u8]) {
        let new = self.read_modules(root, buf, Read::Poll);
        if !new.is_empty() {
            self.keep(root, buf, &new);
        }
    }

    fn read_modules<R: Root<File = F>>(&mut self, root: &R, buf: &mut [u8], how: Read) -> heapless::Vec<New, 4> {
        let mut new = heapless::Vec::new();
        let Ok(mut f) = root.open("/proc/modules") else { return new };
        let (seen, modules) = (&mut self.seen, &mut self.modules);
        let _ = lines_from(&mut f, 0, u64::MAX, buf, &mut |line, _| {
            let Some((name, base, size)) = module_line(line) else { return true };
            // A kept module's range is the smallest size seen (see `poll`).
            if let Some(m) = modules.iter_mut().rev().find(|m| m.base == base && m.name.matches(name)) {
                m.end = m.end.min(base.saturating_add(size));
            }
            let k = key(name, base);
            if how == Read::Sizes || seen.contains(&k) {
                return true;
            }
            // A module that finds no room in `seen` is never kept: it would look new at
            // every poll, and each would read all of /proc/kallsyms.
            if seen.push(k).is_err() {
                return true;
            }
            if how == Read::Poll {
                let n = New { name: Name::new(name).0, base, end: base.saturating_add(size) };
                if new.push(n).is_err() {
                    // Kept at the next poll.
                    let _ = seen.pop();
                }
            }
            true
        });
        new
    }

    /// Copies the text symbols of `new` modules from /proc/kallsyms: the rest of the
    /// prepared read, else (or when that found nothing) the whole file.
    fn keep<R: Root<File = F>>(&mut self, root: &R, buf: &mut [u8], new: &[New]) {
        let first = self.modules.len();
        for n in new {
            if self.modules.push(Module { name: n.name, base: n.base, end: n.end }).is_err() {
                self.dropped += 1;
            }
        }
        if first == self.modules.len() {
            return;
        }
        if self.syms.capacity() == 0 {
            self.syms = Vec::with_capacity(MAX_MODULE_SYMBOLS);
            self.names = Vec::with_capacity(MODULE_SYMBOL_BYTES);
        }
        let mut full = [false; MAX_KEPT_MODULES];
        let found = |m: &Self, i: usize| m.syms.iter().any(|s| s.module as usize == i);
        let mut ok = false;
        if let Some((mut f, at)) = self.ahead.take() {
            ok = self.copy(&mut f, at, buf, first, &mut full);
            ok &= (first..self.modules.len()).all(|i| found(self, i));
            self.prepared_reads += ok as u32;
        }
        if !ok {
            let i = first as u8;
            self.syms.retain(|s| s.module < i);
            full = [false; MAX_KEPT_MODULES];
            ok = root.open(KALLSYMS).is_ok_and(|mut f| self.copy(&mut f, 0, buf, first, &mut full));
        }
        // While a module initialises, its /proc/modules size counts its init code too
        // (freed next, wherever it was): once it is done, the size shrinks to what stays,
        // in the same step that takes the init symbols out of /proc/kallsyms. Read after
        // kallsyms, the size matches the symbols read.
        let _ = self.read_modules(root, buf, Read::Sizes);
        // A module whose symbols did not all fit (or could not be read) is not kept: a
        // missing symbol would name its neighbour.
        for i in (first..self.modules.len()).rev() {
            if full[i] || !ok || !found(self, i) {
                self.forget(i);
                self.dropped += 1;
            }
        }
        self.prepare(root, buf);
    }

    /// Copies the symbols of modules `first..` from `f`, read from `at`. Stops at the
    /// first line of another module once each of them has a symbol (a module's lines
    /// come together). False if a read failed.
    fn copy(&mut self, f: &mut F, at: u64, buf: &mut [u8], first: usize, full: &mut [bool]) -> bool {
        let kept = &self.modules[first..];
        let (syms, names) = (&mut self.syms, &mut self.names);
        let mut have = [false; MAX_KEPT_MODULES];
        lines_from(f, at, u64::MAX, buf, &mut |line, _| {
            let Some((addr, kind, name, module)) = kallsyms_line(line) else { return true };
            let Some(i) = kept.iter().position(|m| m.name.matches(module)) else {
                return !have[..kept.len()].iter().all(|&h| h);
            };
            have[i] = true;
            let m = &kept[i];
            // Text only; `$x`/`$d` are arm64 mapping symbols, not functions.
            let bad = !matches!(kind, b't' | b'T') || name.first() == Some(&b'$');
            if bad || addr < m.base || addr >= m.end || full[first + i] {
                return true;
            }
            let name = &name[..name.len().min(crate::limits::FRAME_BYTES)];
            if syms.len() == syms.capacity() || names.len() + name.len() > names.capacity() {
                full[first + i] = true;
                return true;
            }
            let at = names.len() as u32;
            names.extend_from_slice(name);
            syms.push(Sym { addr, at, len: name.len() as u8, module: (first + i) as u8 });
            true
        })
        .is_ok()
    }

    /// Removes module `i` and its symbols. Their names stay in the name store, unused: it
    /// is filled once, never compacted (a module is dropped only when a table is full).
    fn forget(&mut self, i: usize) {
        self.syms.retain(|s| s.module as usize != i);
        for s in self.syms.iter_mut().filter(|s| s.module as usize > i) {
            s.module -= 1;
        }
        self.modules.remove(i);
    }
}

/// What names raw addresses (for [`crate::leaks::Groups`], which does not care where the
/// names come from).
pub trait Resolve {
    /// Names a frame that kmemleak printed as a raw address (`0xffffffc0001e02c0`).
    fn resolve(&self, func: &[u8]) -> Option<Resolved<'_>>;
}

impl<F> Resolve for ModSyms<F> {
    /// The kept module holding the address, if one does. The latest wins (a module
    /// loaded again may sit where another was).
    fn resolve(&self, func: &[u8]) -> Option<Resolved<'_>> {
        let addr = parse_hex(func.strip_prefix(b"0x")?)?;
        let i = self.modules.iter().rposition(|m| m.base <= addr && addr < m.end)?;
        let (mut best, mut next) = (None::<&Sym>, self.modules[i].end);
        for s in self.syms.iter().filter(|s| s.module as usize == i) {
            if s.addr <= addr {
                if best.is_none_or(|b| s.addr > b.addr) {
                    best = Some(s);
                }
            } else {
                next = next.min(s.addr);
            }
        }
        let s = best?;
        Some(Resolved {
            func: &self.names[s.at as usize..s.at as usize + s.len as usize],
            module: self.modules[i].name.as_bytes(),
            off: addr - s.addr,
            size: next - s.addr,
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::fake::FakeRoot;

    const MODULES: &str = "kmemleak_test 16384 0 - Live 0xffffffc000200000\n";
    const LEAKY: &str = "leaky 16384 0 - Live 0xffffffc0001e0000 (O)\n";
    const KALLSYMS: &str = "ffffffc008010000 T _stext\n\
ffffffc0001e0000 t $x\t[leaky]\n\
ffffffc0001e0000 t leaky_fill\t[leaky]\n\
ffffffc0001e0070 t leaky_rate_work\t[leaky]\n\
ffffffc0001e025c T leaky_cache_leak\t[leaky]\n\
ffffffc0001e0344 T leaky_heap_leak\t[leaky]\n\
ffffffc0001e1000 d leaky_lock\t[leaky]\n\
ffffffc0001e5000 t leaky_init\t[leaky]\n\
ffffffc000200000 t kmemleak_test_init\t[kmemleak_test]\n";

    fn root(modules: &str) -> FakeRoot {
        let r = FakeRoot::new();
        r.set("/proc/modules", modules.as_bytes());
        r.set("/proc/kallsyms", KALLSYMS.as_bytes());
        r
    }

    #[test]
    fn a_module_that_appears_is_kept_and_names_raw_frames() {
        let r = root(MODULES);
        let mut buf = [0u8; 256];
        let mut m = ModSyms::new();
        m.baseline(&r, &mut buf);
        m.poll(&r, &mut buf);
        assert_eq!(m.kept(), 0, "loaded before the command: remembered, not kept");
        r.set("/proc/modules", format!("{LEAKY}{MODULES}").as_bytes());
        m.poll(&r, &mut buf);
        m.poll(&r, &mut buf);
        assert_eq!((m.kept(), m.dropped), (1, 0));
        let name = |a: &str| m.resolve(a.as_bytes()).map(|r| r.to_string());
        assert_eq!(name("0xffffffc0001e02c0").as_deref(), Some("leaky_cache_leak+0x64/0xe8 [leaky]"));
        assert_eq!(name("0xffffffc0001e0000").as_deref(), Some("leaky_fill+0x0/0x70 [leaky]"));
        assert_eq!(name("0xffffffc0001e0490").as_deref(), Some("leaky_heap_leak+0x14c/0x3cbc [leaky]"));
        assert_eq!(name("0xffffffc0001e5110"), None, "init code lies outside the module's range");
        assert_eq!(name("0xffffffc000200010"), None, "a module loaded before the command");
        assert_eq!(name("leaky_cache_leak"), None);
        assert_eq!(name("0xffffffffffffffff"), None);
    }

    /// A kallsyms with 3,000 kernel symbols (30 bytes a line: 90,000 bytes), then `mods`.
    fn big_kallsyms(bogus: bool, mods: &str) -> String {
        let mut t = String::new();
        for i in 0..3000 {
            if bogus && i == 10 {
                // Same length as a kernel line, in leaky's range: seen only by a whole read.
                t += "ffffffc0001e0000 t wrong\t[leaky]\n";
                continue;
            }
            t += &format!("{:016x} T core_{i:05}\n", 0xffff_ffc0_0801_0000_u64 + i as u64 * 64);
        }
        t + mods
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads a 90 KB kallsyms a page at a time, twice: minutes under miri; run natively")]
    fn a_prepared_read_reads_on_from_where_it_stopped() {
        let test_mod = "ffffffc000200000 t kmemleak_test_init\t[kmemleak_test]\n";
        let leaky_syms: String =
            KALLSYMS.lines().filter(|l| l.ends_with("[leaky]")).map(|l| format!("{l}\n")).collect();
        let r = root(MODULES);
        r.set("/proc/kallsyms", big_kallsyms(false, test_mod).as_bytes());
        let mut buf = [0u8; 4096];
        let mut m = ModSyms::new();
        m.baseline(&r, &mut buf);
        assert_eq!(m.core_end, 90_000, "the first module line");
        let at = m.ahead.as_ref().map(|a| a.1).unwrap();
        let stop = 90_000 - 3 * crate::sys::page_size();
        assert!((stop..stop + buf.len() as u64).contains(&at), "stopped {at}, a read past {stop}");
        // leaky loads: the newest module's symbols come first. The part already read
        // changed (it cannot, in a kernel): a prepared read does not see it.
        r.set("/proc/kallsyms", big_kallsyms(true, &(leaky_syms.clone() + test_mod)).as_bytes());
        r.set("/proc/modules", format!("{LEAKY}{MODULES}").as_bytes());
        m.poll(&r, &mut buf);
        assert_eq!((m.kept(), m.prepared_reads), (1, 1));
        assert_eq!(
            m.resolve(b"0xffffffc0001e0010").map(|r| r.to_string()).as_deref(),
            Some("leaky_fill+0x10/0x70 [leaky]")
        );
        assert!(m.ahead.is_some(), "prepared again for the next module");
        // A module whose lines sit only where the prepared read already was: the whole
        // file is read after all.
        let other = "ffffffc000300000 t other_fn\t[other]\n";
        let early = big_kallsyms(false, "").replacen(
            &format!("{:016x} T core_00011\n", 0xffff_ffc0_0801_0000_u64 + 11 * 64),
            other,
            1,
        );
        r.set("/proc/kallsyms", (early + &leaky_syms + test_mod).as_bytes());
        r.set("/proc/modules", format!("other 4096 0 - Live 0xffffffc000300000\n{LEAKY}{MODULES}").as_bytes());
        m.poll(&r, &mut buf);
        assert_eq!((m.kept(), m.prepared_reads), (2, 1), "kept by a whole read");
        assert_eq!(
            m.resolve(b"0xffffffc000300004").map(|r| r.to_string()).as_deref(),
            Some("other_fn+0x4/0x1000 [other]")
        );
    }

    #[test]
    fn init_code_is_not_named_after_the_function_before_it() {
        // Seen while it initialised: the size counts its init code (which sits after
        // it here, at 0x...5000), but /proc/kallsyms was read after init was done.
        let r = root(MODULES);
        r.set("/proc/kallsyms", KALLSYMS.replace("ffffffc0001e5000 t leaky_init\t[leaky]\n", "").as_bytes());
        let mut buf = [0u8; 256];
        let mut m = ModSyms::new();
        m.baseline(&r, &mut buf);
        r.set("/proc/modules", b"leaky 24576 0 - Loading 0xffffffc0001e0000 (O)\n");
        m.poll(&r, &mut buf);
        assert!(m.resolve(b"0xffffffc0001e5110").is_some(), "the fake cannot change between two reads");
        r.set("/proc/modules", LEAKY.as_bytes());
        m.poll(&r, &mut buf);
        assert_eq!(m.resolve(b"0xffffffc0001e5110"), None, "the range shrank to what stays");
        assert!(m.resolve(b"0xffffffc0001e02c0").is_some());
    }

    #[test]
    fn zero_addresses_keep_nothing() {
        // What a user (or root under kptr_restrict=2) reads.
        let r = root("");
        let mut buf = [0u8; 256];
        let mut m = ModSyms::new();
        m.baseline(&r, &mut buf);
        r.set("/proc/modules", b"leaky 16384 0 - Live 0x0000000000000000 (O)\n");
        m.poll(&r, &mut buf);
        assert_eq!((m.kept(), m.syms.capacity()), (0, 0), "nothing kept, nothing allocated");
    }

    #[test]
    #[cfg_attr(miri, ignore = "re-reads a kallsyms larger than the table at every poll: minutes under miri")]
    fn the_tables_are_bounded() {
        let r = FakeRoot::new();
        let mut buf = [0u8; 256];
        let mut m = ModSyms::new();
        m.baseline(&r, &mut buf);
        // A module with more symbols than the table holds, then more modules than can
        // be kept, each with two symbols.
        let big = 0xffff_ffc0_0800_0000_u64;
        let mut mods = format!("big 1048576 0 - Live {big:#x}\n");
        let mut syms = String::new();
        for j in 0..MAX_MODULE_SYMBOLS + 1 {
            syms += &format!("{:016x} t s{j}\t[big]\n", big + j as u64 * 16);
        }
        for i in 0..MAX_KEPT_MODULES + 3 {
            let base = 0xffff_ffc0_0100_0000_u64 + (i as u64) * 0x10000;
            mods += &format!("m{i} 4096 0 - Live {base:#x}\n");
            syms += &format!("{base:016x} t f{i}\t[m{i}]\n{:016x} t g{i}\t[m{i}]\n", base + 0x100);
        }
        r.set("/proc/kallsyms", syms.as_bytes());
        // Modules appear one poll after another, the big one first, then three at a time.
        let lines: Vec<&str> = mods.lines().collect();
        for n in [1].into_iter().chain((4..=lines.len() + 2).step_by(3)) {
            r.set("/proc/modules", lines[..n.min(lines.len())].join("\n").as_bytes());
            m.poll(&r, &mut buf);
        }
        assert_eq!(m.kept(), MAX_KEPT_MODULES);
        assert_eq!(m.dropped, 4, "one had too many symbols, three found no room");
        assert!(m.resolve(format!("{:#x}", 0xffff_ffc0_0100_0000_u64).as_bytes()).is_some(), "m0 was kept");
        assert_eq!(m.syms.capacity(), MAX_MODULE_SYMBOLS, "allocated once, never grown");
        assert!(m.syms.len() <= MAX_MODULE_SYMBOLS && m.names.len() <= MODULE_SYMBOL_BYTES);
        assert_eq!(m.resolve(format!("{:#x}", big + 32).as_bytes()), None, "not kept: no wrong names");
        let last = 0xffff_ffc0_0100_0000_u64 + (MAX_KEPT_MODULES as u64 - 1) * 0x10000;
        let r = m.resolve(format!("{:#x}", last + 0x104).as_bytes()).unwrap();
        assert_eq!(r.to_string(), format!("g{}+0x4/0xf00 [m{}]", MAX_KEPT_MODULES - 1, MAX_KEPT_MODULES - 1));
    }

    #[test]
    fn groups_name_the_frames_of_an_unloaded_module() {
        // The lab's kmemleak report after `rmmod leaky` (arm64, 6.1): raw addresses where
        // the same objects printed `leaky_cache_leak+0x64/0xe8 [leaky]` while it was loaded.
        let obj = |n: u32, size: u32, alloc: &str, at: &str| {
            format!(
                "unreferenced object 0xffffff80017770{n:02x} (size {size}):\n  comm \"insmod\", pid 70, jiffies 4294894177\n  backtrace:\n    [<(____ptrval____)>] slab_post_alloc_hook.constprop.0+0x84/0x8c\n    [<(____ptrval____)>] {alloc}\n    [<(____ptrval____)>] {at}\n    [<(____ptrval____)>] 0xffffffc0001e5110\n    [<(____ptrval____)>] do_one_initcall+0x6c/0x150\n"
            )
        };
        let report = obj(0, 200, "kmem_cache_alloc+0xd4/0x12c", "0xffffffc0001e02c0")
            + &obj(1, 200, "kmem_cache_alloc+0xd4/0x12c", "0xffffffc0001e02c0")
            + &obj(2, 128, "__kmalloc+0x74/0x78", "0xffffffc0001e0490");
        let r = root(LEAKY);
        let mut buf = [0u8; 256];
        let mut m = ModSyms::new();
        let mut raw = crate::leaks::Groups::default();
        let mut named = crate::leaks::Groups::default();
        m.poll(&r, &mut buf);
        for l in report.lines() {
            raw.line(l.as_bytes());
            named.line_with(l.as_bytes(), Some(&m));
        }
        raw.finish();
        named.finish();
        let frames =
            |g: &crate::leaks::Group| g.from_site().iter().map(|f| f.name.as_str().to_string()).collect::<Vec<_>>();
        assert_eq!(frames(&raw.all()[0])[..2], ["0xffffffc0001e02c0", "0xffffffc0001e5110"]);
        assert!(!raw.all()[0].unloaded);
        let (a, b) = (&named.all()[0], &named.all()[1]);
        assert_eq!(frames(a)[..3], ["leaky_cache_leak [leaky]", "0xffffffc0001e5110", "do_one_initcall"]);
        assert_eq!((a.objects, a.unloaded), (2, true));
        assert_eq!((b.site(), b.objects, b.unloaded), ("leaky_heap_leak [leaky]", 1, true));
    }
}

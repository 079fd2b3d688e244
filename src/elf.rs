//! Just enough ELF to symbolize a call site and to tell a static program from a dynamic
//! one: the file header, program headers (`PT_LOAD`, `PT_INTERP`) and the symbol tables
//! (`.symtab`, and `.dynsym` for what a stripped library still exports).
//!
//! Everything is read with `pread` into fixed buffers; nothing is mapped or held whole.
//! Symbol tables are scanned once per library for all the sites that fall in it, in
//! pieces of the caller's buffer, so a 10 MB `.symtab` costs a read, not memory. Only
//! 64-bit little-endian ELF (x86_64, aarch64) is understood; anything else is an
//! [`ElfError`], never a panic.

use crate::dwarf::Bytes;
use crate::limits::{DWARF_MAX_INFLATED, ELF_MAX_LOADS, ELF_MAX_SYMBOLS};
use crate::sys::{self, Errno, Mode};

/// Why a file could not be read as ELF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The file could not be opened or read.
    Io(Errno),
    /// Not an ELF file.
    NotElf,
    /// ELF, but not 64-bit little-endian.
    Unsupported,
}

impl core::fmt::Display for ElfError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ElfError::Io(e) => write!(f, "{e}"),
            ElfError::NotElf => f.write_str("not an ELF file"),
            ElfError::Unsupported => f.write_str("not a 64-bit little-endian ELF file"),
        }
    }
}

/// `e_machine` of x86_64.
pub const EM_X86_64: u16 = 62;
/// `e_machine` of aarch64.
pub const EM_AARCH64: u16 = 183;

/// The name of an `e_machine` value.
pub fn machine_name(m: u16) -> &'static str {
    match m {
        EM_X86_64 => "x86_64",
        EM_AARCH64 => "aarch64",
        40 => "arm",
        3 => "i386",
        243 => "riscv",
        _ => "another architecture",
    }
}

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const SHT_SYMTAB: u32 = 2;
const SHT_DYNSYM: u32 = 11;
const SHT_NOBITS: u32 = 8;
const SHF_COMPRESSED: u64 = 0x800;
const ELFCOMPRESS_ZLIB: u32 = 1;
const NT_GNU_BUILD_ID: u32 = 3;
const STT_FUNC: u8 = 2;
const STT_GNU_IFUNC: u8 = 10;
const SYM_BYTES: usize = 24;

#[derive(Clone, Copy, Debug)]
struct Load {
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

#[derive(Clone, Copy, Debug)]
struct SymTab {
    offset: u64,
    count: u64,
    strtab: u64,
    strsize: u64,
}

/// The sections kleak reads besides the symbol tables, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sec {
    /// `.debug_line`: the line tables.
    Line,
    /// `.debug_line_str`: DWARF 5 file and directory names.
    LineStr,
    /// `.debug_str`.
    Str,
    /// `.note.gnu.build-id`: the build's identity, shared by a program and its debug file.
    BuildId,
    /// `.gnu_debuglink`: the debug file's name and CRC-32 (toolchains without build-ids).
    DebugLink,
}

const SECTION_NAMES: [&[u8]; 5] =
    [b".debug_line", b".debug_line_str", b".debug_str", b".note.gnu.build-id", b".gnu_debuglink"];

#[derive(Clone, Copy, Debug)]
struct Section {
    offset: u64,
    size: u64,
    compressed: bool,
}

/// A section's bytes: read from the file in pieces, or inflated (a compressed section).
pub enum SectionData<'a> {
    /// `size` bytes at `offset` of the file.
    File {
        /// The file.
        file: &'a sys::File,
        /// Where the section starts.
        offset: u64,
        /// Its length.
        size: u64,
    },
    /// A decompressed section.
    Inflated(Vec<u8>),
}

impl Bytes for SectionData<'_> {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> usize {
        match self {
            SectionData::File { file, offset, size } => {
                let n = (size.saturating_sub(off)).min(buf.len() as u64) as usize;
                read_exact(file, &mut buf[..n], offset + off).unwrap_or(0)
            }
            SectionData::Inflated(v) => v.read_at(off, buf),
        }
    }
    fn size(&self) -> u64 {
        match self {
            SectionData::File { size, .. } => *size,
            SectionData::Inflated(v) => v.len() as u64,
        }
    }
}

/// A function symbol found for an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sym {
    /// Its start address (ELF virtual address).
    pub value: u64,
    /// Its size (0: unknown).
    pub size: u64,
    /// Where its name is in the file.
    name_at: u64,
    name_max: u64,
}

/// An open ELF file.
pub struct Elf {
    file: sys::File,
    /// `e_machine`.
    pub machine: u16,
    /// The program interpreter (`PT_INTERP`), if any: a dynamically linked program.
    interp: Option<(u64, u64)>,
    loads: heapless::Vec<Load, ELF_MAX_LOADS>,
    tabs: heapless::Vec<SymTab, 2>,
    secs: [Option<Section>; 5],
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
/// The little-endian u32 at `b[i..]` (ELF and the tracer's event log are read the same way).
pub(crate) fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}
/// The little-endian u64 at `b[i..]`.
pub(crate) fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

impl Elf {
    /// Opens the file made of `parts` (a `--root` prefix and a path) and reads its headers.
    pub fn open(parts: &[&[u8]]) -> Result<Elf, ElfError> {
        let file = sys::File::open(parts, Mode::Read).map_err(ElfError::Io)?;
        let mut h = [0u8; 64];
        if read_exact(&file, &mut h, 0)? < 20 || &h[..4] != b"\x7fELF" {
            return Err(ElfError::NotElf);
        }
        if h[4] != 2 || h[5] != 1 {
            return Err(ElfError::Unsupported);
        }
        let machine = u16_at(&h, 18);
        let (phoff, phentsize, phnum) = (u64_at(&h, 32), u16_at(&h, 54) as u64, u16_at(&h, 56) as u64);
        let (shoff, shentsize, shnum) = (u64_at(&h, 40), u16_at(&h, 58) as u64, u16_at(&h, 60) as u64);
        let shstrndx = u16_at(&h, 62) as u64;
        let mut elf = Elf {
            file,
            machine,
            interp: None,
            loads: heapless::Vec::new(),
            tabs: heapless::Vec::new(),
            secs: [None; 5],
        };
        let mut ph = [0u8; 56];
        for i in 0..phnum.min(256) {
            if phentsize < 56 || read_exact(&elf.file, &mut ph, phoff + i * phentsize)? < 56 {
                break;
            }
            match u32_at(&ph, 0) {
                PT_LOAD => {
                    let _ = elf.loads.push(Load {
                        offset: u64_at(&ph, 8),
                        vaddr: u64_at(&ph, 16),
                        filesz: u64_at(&ph, 32),
                    });
                }
                PT_INTERP => elf.interp = Some((u64_at(&ph, 8), u64_at(&ph, 32))),
                _ => {}
            }
        }
        // Symbol tables: .symtab first (every function), then .dynsym (exports only).
        let mut sh = [0u8; 64];
        let mut found: [Option<SymTab>; 2] = [None, None];
        // Section names: offsets into the section-name string table.
        let mut names_at = None;
        if shentsize >= 64 && shstrndx < shnum && read_exact(&elf.file, &mut sh, shoff + shstrndx * shentsize)? == 64 {
            names_at = Some((u64_at(&sh, 24), u64_at(&sh, 32)));
        }
        for i in 0..shnum.min(4096) {
            if shentsize < 64 || read_exact(&elf.file, &mut sh, shoff + i * shentsize)? < 64 {
                break;
            }
            let kind = u32_at(&sh, 4);
            if let Some((at, size)) = names_at.filter(|_| kind != SHT_NOBITS) {
                let name_off = u32_at(&sh, 0) as u64;
                let mut name = [0u8; 20];
                let n = (size.saturating_sub(name_off)).min(name.len() as u64) as usize;
                let n = read_exact(&elf.file, &mut name[..n], at + name_off)?;
                let name = &name[..n];
                let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(n)];
                if let Some(k) = SECTION_NAMES.iter().position(|w| *w == name) {
                    let flags = u64_at(&sh, 8);
                    elf.secs[k] = Some(Section {
                        offset: u64_at(&sh, 24),
                        size: u64_at(&sh, 32),
                        compressed: flags & SHF_COMPRESSED != 0,
                    });
                }
            }
            let slot = match kind {
                SHT_SYMTAB => 0,
                SHT_DYNSYM => 1,
                _ => continue,
            };
            let (offset, size, link) = (u64_at(&sh, 24), u64_at(&sh, 32), u32_at(&sh, 40) as u64);
            let mut strh = [0u8; 64];
            if link >= shnum || read_exact(&elf.file, &mut strh, shoff + link * shentsize)? < 64 {
                continue;
            }
            found[slot] = Some(SymTab {
                offset,
                count: (size / SYM_BYTES as u64).min(ELF_MAX_SYMBOLS),
                strtab: u64_at(&strh, 24),
                strsize: u64_at(&strh, 32),
            });
        }
        for t in found.into_iter().flatten() {
            let _ = elf.tabs.push(t);
        }
        Ok(elf)
    }

    /// True for a program with a `PT_INTERP` (dynamically linked: `LD_PRELOAD` works).
    pub fn is_dynamic(&self) -> bool {
        self.interp.is_some()
    }

    /// The program interpreter's path (`/lib/ld-musl-aarch64.so.1`) into `buf`.
    pub fn interp<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let (off, len) = self.interp?;
        let n = (len as usize).min(buf.len());
        let got = read_exact(&self.file, &mut buf[..n], off).ok()?;
        let s = &buf[..got];
        Some(&s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())])
    }

    /// The ELF virtual address of a file offset (through the `PT_LOAD` that holds it).
    pub fn vaddr(&self, file_offset: u64) -> Option<u64> {
        self.loads
            .iter()
            .find(|l| file_offset >= l.offset && file_offset < l.offset + l.filesz.max(1))
            .map(|l| file_offset - l.offset + l.vaddr)
    }

    /// Finds the function holding each address of `addrs` (ELF virtual addresses) into
    /// `hits`: a symbol whose range holds it, else the nearest function before it whose
    /// size is unknown. `buf` is scratch for reading the tables in pieces.
    pub fn symbolize(&self, addrs: &[u64], hits: &mut [Option<Sym>], buf: &mut [u8]) -> Result<(), ElfError> {
        let per = buf.len() / SYM_BYTES;
        for tab in &self.tabs {
            let mut i = 0u64;
            while i < tab.count && per > 0 {
                let n = (per as u64).min(tab.count - i) as usize;
                let got = read_exact(&self.file, &mut buf[..n * SYM_BYTES], tab.offset + i * SYM_BYTES as u64)?;
                for s in buf[..got].chunks_exact(SYM_BYTES) {
                    let kind = s[4] & 0xf;
                    let (shndx, value, size) = (u16_at(s, 6), u64_at(s, 8), u64_at(s, 16));
                    if !(kind == STT_FUNC || kind == STT_GNU_IFUNC) || shndx == 0 || value == 0 {
                        continue;
                    }
                    let name = u32_at(s, 0) as u64;
                    if name >= tab.strsize {
                        continue;
                    }
                    let sym = Sym { value, size, name_at: tab.strtab + name, name_max: tab.strsize - name };
                    for (a, hit) in addrs.iter().zip(hits.iter_mut()) {
                        if better(&sym, *a, hit.as_ref()) {
                            *hit = Some(sym);
                        }
                    }
                }
                if got < n * SYM_BYTES {
                    break;
                }
                i += n as u64;
            }
        }
        Ok(())
    }

    /// True if the file has a section of that kind.
    pub fn has(&self, which: Sec) -> bool {
        self.secs[which as usize].is_some()
    }

    /// The bytes of a section: read from the file in pieces, or inflated whole when it
    /// is compressed (zlib; at most [`DWARF_MAX_INFLATED`] bytes). `None` if the file has
    /// no such section or it cannot be decompressed (zstd, damaged, too large).
    pub fn section(&self, which: Sec) -> Option<SectionData<'_>> {
        let s = self.secs[which as usize]?;
        if !s.compressed {
            return Some(SectionData::File { file: &self.file, offset: s.offset, size: s.size });
        }
        // Elf64_Chdr: ch_type, ch_reserved, ch_size, ch_addralign; then the stream.
        let mut ch = [0u8; 24];
        if s.size < 24 || read_exact(&self.file, &mut ch, s.offset).ok()? < 24 || u32_at(&ch, 0) != ELFCOMPRESS_ZLIB {
            return None;
        }
        let (packed, unpacked) = (s.size - 24, u64_at(&ch, 8));
        if packed > DWARF_MAX_INFLATED || unpacked > DWARF_MAX_INFLATED {
            return None;
        }
        let mut z = vec![0u8; packed as usize];
        if read_exact(&self.file, &mut z, s.offset + 24).ok()? < z.len() {
            return None;
        }
        let mut out = Vec::with_capacity(unpacked as usize);
        crate::inflate::unzlib(&z, unpacked, &mut |p| out.extend_from_slice(p)).ok()?;
        Some(SectionData::Inflated(out))
    }

    /// The GNU build-id (`NT_GNU_BUILD_ID` note) into `buf`: what ties a stripped file to
    /// its separate debug file.
    pub fn build_id<'b>(&self, buf: &'b mut [u8; 64]) -> Option<&'b [u8]> {
        let s = self.secs[Sec::BuildId as usize]?;
        let mut note = [0u8; 16 + 64];
        let n = read_exact(&self.file, &mut note[..(s.size as usize).min(80)], s.offset).ok()?;
        if n < 16 || u32_at(&note, 8) != NT_GNU_BUILD_ID || u32_at(&note, 0) != 4 || &note[12..16] != b"GNU\0" {
            return None;
        }
        let len = (u32_at(&note, 4) as usize).min(64).min(n - 16);
        buf[..len].copy_from_slice(&note[16..16 + len]);
        (len > 0).then_some(&buf[..len])
    }

    /// The `.gnu_debuglink` of a stripped file: the debug file's name (into `buf`) and the
    /// CRC-32 of its contents.
    pub fn debug_link<'b>(&self, buf: &'b mut [u8; 256]) -> Option<(&'b [u8], u32)> {
        let s = self.secs[Sec::DebugLink as usize]?;
        let n = read_exact(&self.file, &mut buf[..(s.size as usize).min(256)], s.offset).ok()?;
        let name_len = buf[..n].iter().position(|&b| b == 0)?;
        // The CRC follows the name's NUL, padded to 4 bytes.
        let at = (name_len + 4) & !3;
        let crc = buf.get(at..at + 4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))?;
        (name_len > 0).then_some((&buf[..name_len], crc))
    }

    /// The CRC-32 of the whole file (what a `.gnu_debuglink` names its debug file by).
    pub fn file_crc(&self, buf: &mut [u8]) -> Option<u32> {
        let (mut crc, mut off) = (0u32, 0u64);
        loop {
            let n = read_exact(&self.file, buf, off).ok()?;
            crc = crate::ring::crc32_update(crc, &buf[..n]);
            off += n as u64;
            if n < buf.len() || n == 0 {
                return Some(crc);
            }
        }
    }

    /// The name of `sym` into `buf` (cut at the buffer's length).
    pub fn name<'b>(&self, sym: &Sym, buf: &'b mut [u8]) -> &'b [u8] {
        let n = (sym.name_max as usize).min(buf.len());
        let got = read_exact(&self.file, &mut buf[..n], sym.name_at).unwrap_or(0);
        let s = &buf[..got];
        &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())]
    }
}

/// Is `sym` a better answer for address `a` than `cur`? A sized symbol that holds `a`
/// beats everything; else the closest unsized one at or before `a`.
fn better(sym: &Sym, a: u64, cur: Option<&Sym>) -> bool {
    if sym.value > a {
        return false;
    }
    let holds = |s: &Sym| s.size > 0 && a < s.value + s.size;
    match cur {
        None => holds(sym) || sym.size == 0,
        Some(c) if holds(c) => holds(sym) && sym.value > c.value,
        Some(c) => holds(sym) || (sym.size == 0 && sym.value > c.value),
    }
}

/// Reads up to `buf.len()` bytes at `off`, retrying short reads; the count read.
fn read_exact(f: &sys::File, buf: &mut [u8], off: u64) -> Result<usize, ElfError> {
    let mut got = 0;
    while got < buf.len() {
        match f.pread(&mut buf[got..], off + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(ElfError::Io(e)),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_sized_symbol_holding_the_address_wins() {
        let s = |value, size| Sym { value, size, name_at: 0, name_max: 1 };
        assert!(better(&s(0x100, 0x20), 0x110, None));
        assert!(!better(&s(0x100, 0x20), 0x130, Some(&s(0x120, 0x40))));
        assert!(better(&s(0x120, 0x40), 0x130, Some(&s(0x100, 0))));
        assert!(!better(&s(0x128, 0), 0x130, Some(&s(0x120, 0x40))));
        assert!(better(&s(0x128, 0), 0x130, Some(&s(0x100, 0))));
        assert!(!better(&s(0x200, 0), 0x130, None));
    }

    #[test]
    fn the_test_binary_itself_symbolizes_and_is_told_dynamic_or_static() {
        let exe = std::env::current_exe().unwrap();
        let elf = Elf::open(&[exe.to_str().unwrap().as_bytes()]).unwrap();
        assert!(elf.machine == EM_X86_64 || elf.machine == EM_AARCH64);
        let mut buf = [0u8; 256];
        // Host builds are dynamic (glibc: an interpreter), musl builds static (none).
        assert_eq!(elf.is_dynamic(), cfg!(target_env = "gnu"));
        let interp = elf.interp(&mut buf);
        assert_eq!(interp.is_some(), elf.is_dynamic());
        if let Some(interp) = interp {
            assert!(interp.starts_with(b"/lib") && interp.windows(3).any(|w| w == b"ld-"), "{interp:?}");
        }
        assert_eq!(Elf::open(&[b"/proc/self/status"]).err(), Some(ElfError::NotElf));
        assert!(matches!(Elf::open(&[b"/nonexistent"]), Err(ElfError::Io(_))));
    }
}

//! Naming call sites: `function+0x1c` from the ELF symbol tables and `file.c:LINE` from
//! the DWARF line tables of the files a traced process had mapped.
//!
//! A board's files are usually stripped. When a file has no line table, its unstripped
//! twin is looked for the way gdb does: by GNU build-id, `DIR/.build-id/ab/cdef….debug`
//! under each debug directory (`--debug-dir`, then `/usr/lib/debug` under `--root`), then
//! any file directly in a `--debug-dir` whose build-id is the same (a build directory);
//! for a file without a build-id (some musl toolchains link without one), by the name and
//! CRC-32 in its `.gnu_debuglink`, in each `--debug-dir`, beside the file and in its
//! `.debug/`. The twin then gives both the symbols and the lines; addresses agree because
//! it is the same link.

use super::dump::{Modules, NO_MODULE};
use crate::arg::Arg;
use crate::dwarf::{self, Hit};
use crate::elf::{Elf, Sec, Sym};
use crate::limits::{DWARF_MAX_QUERIES, TRACE_MAX_SHOWN};
use crate::sys;

/// Where the distributions put separate debug files (`--root` applies).
const SYSTEM_DEBUG_DIR: &str = "/usr/lib/debug";
/// Entries of a `--debug-dir` read at most when looking for a build-id by content.
const MAX_DIR_ENTRIES: usize = 4096;

/// A call site's names.
#[derive(Clone, Default)]
pub(crate) struct Named {
    /// The function (as the symbol table has it: C++ and Rust names stay mangled).
    pub(crate) func: heapless::String<160>,
    /// Bytes into the function.
    pub(crate) off: u64,
    /// A symbol was found.
    pub(crate) found: bool,
    /// The source file as the line table names it (relative or absolute), if known.
    pub(crate) source: heapless::String<160>,
    /// Its line (0: unknown).
    pub(crate) line: u32,
}

impl Named {
    /// The source file's last component and line: `leaky.c:37`; empty if unknown.
    pub(crate) fn file_line(&self) -> String {
        if self.line == 0 {
            return String::new();
        }
        let s = self.source.as_str();
        format!("{}:{}", &s[s.rfind('/').map_or(0, |i| i + 1)..], self.line)
    }
}

/// What resolving met that a user should hear about.
#[derive(Default)]
pub(crate) struct Notes {
    /// Files with neither a line table nor a debug file found for them.
    pub(crate) no_lines: u32,
    /// Debug files used (found by build-id).
    pub(crate) debug_files: u32,
    /// Line-table units skipped as malformed or of an unknown version.
    pub(crate) bad_units: u32,
}

/// Names the call sites `sites` ((module, file offset) pairs): one pass over each file's
/// symbol tables and line table for all its sites. `debug_dirs` are `--debug-dir`s.
pub(crate) fn resolve(
    sites: &[(u16, u64)],
    modules: &Modules,
    prefix: &[u8],
    debug_dirs: &[Arg],
    buf: &mut [u8],
    notes: &mut Notes,
) -> Vec<Named> {
    let mut names: Vec<Named> = vec![Named::default(); sites.len()];
    let mut members = [0usize; TRACE_MAX_SHOWN];
    let mut vaddrs = [0u64; TRACE_MAX_SHOWN];
    let mut hits = [None; TRACE_MAX_SHOWN];
    let mut lines: [Option<Hit>; TRACE_MAX_SHOWN] = [None; TRACE_MAX_SHOWN];
    const _: () = assert!(TRACE_MAX_SHOWN <= DWARF_MAX_QUERIES);
    let mut done = vec![false; sites.len()];
    for i in 0..sites.len() {
        let m = sites[i].0;
        if m == NO_MODULE || done[i] {
            continue;
        }
        let Ok(elf) = Elf::open(&[prefix, modules.path(m).as_bytes()]) else { continue };
        let debug = match elf.has(Sec::Line) {
            true => None,
            false => find_debug_file(&elf, prefix, debug_dirs)
                .or_else(|| find_linked_file(&elf, modules.path(m), prefix, debug_dirs, buf)),
        };
        notes.debug_files += debug.is_some() as u32;
        // The sites of this file, in batches the arrays hold.
        let mut j = i;
        while j < sites.len() {
            let mut n = 0;
            while j < sites.len() && n < TRACE_MAX_SHOWN {
                if sites[j].0 == m && !done[j] {
                    done[j] = true;
                    members[n] = j;
                    // A return address may sit just past the end of its function (a call
                    // that never returns), and its line is the call's: look up the byte
                    // before it.
                    vaddrs[n] = elf.vaddr(sites[j].1).unwrap_or(0).saturating_sub(1);
                    n += 1;
                }
                j += 1;
            }
            // Symbols: the debug file's full .symtab first, the file's own for the rest.
            for f in debug.iter().chain(Some(&elf)) {
                hits[..n].fill(None);
                if f.symbolize(&vaddrs[..n], &mut hits[..n], buf).is_err() {
                    continue;
                }
                for k in 0..n {
                    if let (Some(sym), true) = (hits[k], vaddrs[k] > 0) {
                        name_symbol(&mut names[members[k]], f, &sym, vaddrs[k]);
                    }
                }
            }
            let lined = debug.as_ref().unwrap_or(&elf);
            lines[..n].fill(None);
            let Some(line_sec) = lined.section(Sec::Line) else {
                notes.no_lines += 1;
                continue;
            };
            let mut stats = dwarf::Stats::default();
            dwarf::lookup(&line_sec, &vaddrs[..n], &mut lines[..n], &mut stats);
            notes.bad_units += stats.malformed + stats.unknown_version;
            let (ls, st) = (lined.section(Sec::LineStr), lined.section(Sec::Str));
            let strings = dwarf::Strings {
                line: &line_sec,
                line_str: ls.as_ref().map(|s| s as &dyn dwarf::Bytes),
                str: st.as_ref().map(|s| s as &dyn dwarf::Bytes),
            };
            for k in 0..n {
                let (Some(hit), true) = (lines[k], vaddrs[k] > 0) else { continue };
                let mut raw = [0u8; 512];
                if let Some(file) = dwarf::file_name(&strings, &hit, &mut raw) {
                    let named = &mut names[members[k]];
                    let file = String::from_utf8_lossy(file);
                    let _ = named.source.push_str(crate::parse::str_prefix(&file, named.source.capacity()));
                    named.line = hit.line;
                }
            }
        }
    }
    names
}

/// Sets `named`'s function from `sym` of file `f`, unless a symbol was found already.
fn name_symbol(named: &mut Named, f: &Elf, sym: &Sym, vaddr: u64) {
    if named.found {
        return;
    }
    let mut raw = [0u8; 512];
    // Names print as the symbol table has them (C++ and Rust names mangled: a demangler
    // costs the 512 KiB board binary 2 KB).
    let name = core::str::from_utf8(f.name(sym, &mut raw)).unwrap_or("?");
    let _ = named.func.push_str(crate::parse::str_prefix(name, named.func.capacity()));
    named.off = vaddr + 1 - sym.value;
    named.found = true;
}

/// The separate debug file of `elf`, found by build-id (see the module documentation).
fn find_debug_file(elf: &Elf, prefix: &[u8], debug_dirs: &[Arg]) -> Option<Elf> {
    let mut idb = [0u8; 64];
    let id = elf.build_id(&mut idb)?;
    let mut hex = String::with_capacity(2 * id.len() + 16);
    for b in id {
        hex.push_str(&format!("{b:02x}"));
    }
    let same = |e: &Elf| {
        let mut b = [0u8; 64];
        e.build_id(&mut b) == Some(id) && e.has(Sec::Line)
    };
    let by_id = format!("/.build-id/{}/{}.debug", &hex[..2], &hex[2..]);
    for d in debug_dirs {
        if let Some(e) = Elf::open(&[d.as_bytes(), by_id.as_bytes()]).ok().filter(same) {
            return Some(e);
        }
    }
    if let Some(e) = Elf::open(&[prefix, SYSTEM_DEBUG_DIR.as_bytes(), by_id.as_bytes()]).ok().filter(same) {
        return Some(e);
    }
    // A build directory: any file in it with the same build-id.
    for d in debug_dirs {
        let mut found = None;
        let mut seen = 0;
        let _ = sys::read_dir(&[d.as_bytes()], |name, symlink| {
            seen += 1;
            if !symlink {
                found = Elf::open(&[d.as_bytes(), b"/", name]).ok().filter(same);
            }
            found.is_none() && seen < MAX_DIR_ENTRIES
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The debug file named by `elf`'s `.gnu_debuglink` (its CRC must match), `elf` being
/// the file at `path`.
fn find_linked_file(elf: &Elf, path: &str, prefix: &[u8], debug_dirs: &[Arg], buf: &mut [u8]) -> Option<Elf> {
    let mut lb = [0u8; 256];
    let (name, crc) = elf.debug_link(&mut lb)?;
    let dir = path.as_bytes();
    let dir = &dir[..dir.iter().rposition(|&b| b == b'/').unwrap_or(0)];
    let mut tries: Vec<Vec<&[u8]>> = Vec::new();
    for d in debug_dirs {
        tries.push(vec![d.as_bytes(), b"/", name]);
        tries.push(vec![d.as_bytes(), dir, b"/", name]);
    }
    tries.push(vec![prefix, dir, b"/", name]);
    tries.push(vec![prefix, dir, b"/.debug/", name]);
    tries.push(vec![prefix, SYSTEM_DEBUG_DIR.as_bytes(), dir, b"/", name]);
    tries.into_iter().find_map(|parts| {
        let e = Elf::open(&parts).ok()?;
        (e.has(Sec::Line) && e.file_crc(buf) == Some(crc)).then_some(e)
    })
}

//! Snapshot files: the raw /proc files as read, behind a few header lines that say where
//! and when they were read. People can read them; `kleak diff` and `kleak replay` load them.
//!
//! ```text
//! # kleak snapshot 1
//! # time: 1763780000.123
//! # uptime: 12345.67
//! # release: 6.1.0-rockchip
//! # machine: aarch64
//! # page_size: 4096
//! --- /proc/slabinfo
//! slabinfo - version: 2.1
//! …
//! --- /proc/vmstat
//! …
//! --- /proc/meminfo
//! …
//! ```
//!
//! A header line is `# key: value`; unknown keys are ignored, so later versions can add
//! some. A plain copy of one /proc file (`cat /proc/slabinfo > before`) loads too.

use crate::arg::Arg;
use crate::parse::{parse_f64, parse_u64, str_prefix, trim};
use crate::sample::{read_lines, Host, ReadAt, Root, Sampler};
use crate::sys::{self, Errno};
use crate::tables::{PageSizeFrom, Source, Tables};
use crate::Error;
use core::fmt::Display;

/// First line of every snapshot.
pub const MAGIC: &str = "# kleak snapshot";
/// Format version kleak writes.
pub const VERSION: u64 = 1;

/// What a loaded file said about itself.
#[derive(Clone, Debug, Default)]
pub struct Header {
    /// Format version (0 for a plain /proc file).
    pub version: u64,
    /// Wall-clock seconds when taken, if known.
    pub time: Option<f64>,
    /// Seconds since boot when taken, if known.
    pub uptime: Option<f64>,
    /// Kernel release.
    pub release: heapless::String<64>,
    /// Machine (`uname -m`).
    pub machine: heapless::String<32>,
    /// Page size, if given.
    pub page_size: Option<u64>,
    /// Sources the file held.
    pub sources: [bool; 3],
}

impl Header {
    /// The time to order and space samples by: uptime, else wall-clock time.
    pub fn t(&self) -> Option<f64> {
        self.uptime.or(self.time)
    }
}

/// Writes a snapshot of the sampler's files through `w`.
pub fn write<R: Root>(
    sampler: &mut Sampler<R>,
    host: &Host,
    mut w: impl FnMut(&[u8]) -> Result<(), Errno>,
) -> Result<(), Errno> {
    use crate::out::fmt::Fixed;
    use core::fmt::Write;
    let mut head = heapless::String::<512>::new();
    let _ = writeln!(head, "{MAGIC} {VERSION}\n# tool: kleak {}", env!("CARGO_PKG_VERSION"));
    if sampler.root().is_live() {
        let _ = writeln!(head, "# time: {}", Fixed(sys::realtime_secs(), 3));
        let _ = writeln!(head, "# machine: {}", std::env::consts::ARCH);
    }
    if host.uptime > 0.0 {
        let _ = writeln!(head, "# uptime: {}", Fixed(host.uptime, 2));
    }
    if !host.release.is_empty() {
        let _ = writeln!(head, "# release: {}", host.release);
    }
    if sampler.tables.page_size_from != PageSizeFrom::Assumed {
        let _ = writeln!(head, "# page_size: {}", sampler.tables.page_size);
    }
    for src in Source::ALL {
        if let Some(why) = sampler.status[src.index()].explain(src) {
            let _ = writeln!(head, "# unavailable: {} ({why})", src.path());
        }
    }
    w(head.as_bytes())?;
    for src in Source::ALL {
        let mut started = false;
        let mut section = |bytes: &[u8]| -> Result<(), Errno> {
            if !started {
                started = true;
                w(b"--- ")?;
                w(src.path().as_bytes())?;
                w(b"\n")?;
            }
            w(bytes)
        };
        sampler.copy_raw(src, &mut section)?;
    }
    Ok(())
}

/// Loads the file `path` (a snapshot or a plain copy of one /proc file, as the command
/// line named it) into `tables` as one sample. `buf` is the read buffer.
pub fn load(path: &Arg, tables: &mut Tables, buf: &mut [u8]) -> Result<Header, Error> {
    let file = crate::sys::File::open(&[path.as_bytes()], crate::sys::Mode::Read).map_err(|e| match e {
        Errno::ENOENT => Error::env(format_args!("{path}: no such file")),
        e => Error::env(format_args!("{path}: {e}")),
    })?;
    read(file, path, tables, buf)
}

/// [`load`] from an open file; `path` names it in messages.
pub fn read<F: ReadAt>(mut file: F, path: &dyn Display, tables: &mut Tables, buf: &mut [u8]) -> Result<Header, Error> {
    let mut records = 0u64;
    let mut header = Header::default();
    let mut current: Option<Source> = None;
    let mut sniffed = false;
    let mut snapshot = false;
    tables.begin();
    let result = read_lines(&mut file, buf, |line: &[u8]| {
        if !sniffed {
            let t = trim(line);
            if t.is_empty() {
                return;
            }
            sniffed = true;
            if t.starts_with(MAGIC.as_bytes()) {
                snapshot = true;
                header.version = parse_u64(trim(&t[MAGIC.len()..])).unwrap_or(0);
                return;
            }
            current = Some(sniff(t));
        }
        if snapshot {
            if let Some(p) = line.strip_prefix(b"--- ") {
                if let Some(src) = current.take() {
                    tables.end_source(src, true);
                }
                current = Source::from_path(trim(p));
                if let Some(src) = current {
                    header.sources[src.index()] = true;
                }
                return;
            }
            if current.is_none() {
                header_line(&mut header, line);
                return;
            }
        }
        if let Some(src) = current {
            header.sources[src.index()] = true;
            records += tables.line(src, line) as u64;
        }
    });
    if let Err(e) = result {
        return Err(Error::env(format_args!("{path}: read failed: {e}")));
    }
    if let Some(src) = current {
        tables.end_source(src, true);
    }
    for src in Source::ALL {
        if !header.sources[src.index()] {
            tables.end_source(src, false);
        }
    }
    if let Some(p) = header.page_size {
        tables.page_size = p;
        tables.page_size_from = PageSizeFrom::Snapshot;
    }
    tables.end(header.t().unwrap_or(0.0));
    if records == 0 {
        // No line of any known format (a C file, a log): refused, not shown as all new.
        return Err(Error::env(format_args!(
            "{path}: not a kleak snapshot or a copy of /proc/slabinfo, /proc/vmstat or /proc/meminfo"
        )));
    }
    Ok(header)
}

/// Which /proc file a plain copy is, from its first line.
fn sniff(first: &[u8]) -> Source {
    if first.starts_with(b"slabinfo - version") {
        Source::Slabinfo
    } else if first.contains(&b':') {
        Source::Meminfo
    } else {
        Source::Vmstat
    }
}

fn header_line(h: &mut Header, line: &[u8]) {
    let Some(kv) = line.strip_prefix(b"#") else { return };
    let Some(colon) = kv.iter().position(|&b| b == b':') else { return };
    let key = trim(&kv[..colon]);
    let val = trim(&kv[colon + 1..]);
    let text = core::str::from_utf8(val).unwrap_or("");
    match key {
        b"time" => h.time = parse_f64(val),
        b"uptime" => h.uptime = parse_f64(val),
        b"page_size" => h.page_size = parse_u64(val).filter(|p| p.is_power_of_two() && *p >= 1024),
        b"release" => {
            let _ = h.release.push_str(str_prefix(text, 64));
        }
        b"machine" => {
            let _ = h.machine.push_str(str_prefix(text, 32));
        }
        _ => {}
    }
}

//! Exports: Prometheus textfile-collector files and CSV rows, from the tables.
//!
//! The Prometheus file is written whole to `FILE.tmp` and renamed over `FILE` each sample,
//! so node_exporter's textfile collector never reads half a file. A cache name the kernel
//! repeats gets a label `n="2"`, `n="3"`… on its later copies, so every series is unique.

use super::{Closed, Out};
use crate::arg::Arg;
use crate::sample::Tables;
use crate::sys::{self, Errno, File, Mode};
use crate::table::Unit;
use core::fmt::Write;

/// Bytes of the buffer a Prometheus file is built in before each write.
const PROM_BUF: usize = 64 * 1024;

/// A Prometheus textfile, rewritten atomically each sample.
pub struct PromFile {
    path: Arg,
    tmp: Arg,
    buf: Box<[u8]>,
    len: usize,
    file: Option<File>,
    err: Option<Errno>,
}

impl Write for PromFile {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut s = s.as_bytes();
        while !s.is_empty() {
            if self.len == self.buf.len() {
                self.flush();
            }
            let n = s.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
            self.len += n;
            s = &s[n..];
        }
        Ok(())
    }
}

/// Writes a Prometheus label value, escaped.
struct Label<'a>(&'a str);

impl core::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

impl PromFile {
    /// A writer for `path` (nothing is written until [`PromFile::write`]).
    pub fn new(path: impl Into<Arg>) -> Self {
        let path = path.into();
        PromFile {
            tmp: path.with_suffix(".tmp"),
            path,
            buf: vec![0u8; PROM_BUF].into_boxed_slice(),
            len: 0,
            file: None,
            err: None,
        }
    }

    fn flush(&mut self) {
        if let (Some(f), None) = (&self.file, self.err) {
            if let Err(e) = f.write_all(&self.buf[..self.len]) {
                self.err = Some(e);
            }
        }
        self.len = 0;
    }

    /// Writes every figure of `t`, and `suspects` (source, name) as kleak_leak_suspect,
    /// to the file. Errors (ENOSPC, EROFS…) are returned; the next sample tries again.
    pub fn write<'a>(&mut self, t: &Tables, suspects: impl Iterator<Item = (&'a str, &'a str)>) -> Result<(), Errno> {
        self.err = None;
        self.file = Some(File::open(&[self.tmp.as_bytes()], Mode::CreateTruncate)?);
        self.render(t, suspects);
        self.flush();
        self.file = None;
        if let Some(e) = self.err {
            return Err(e);
        }
        sys::rename(&[self.tmp.as_bytes()], &[self.path.as_bytes()])
    }

    fn render<'a>(&mut self, t: &Tables, suspects: impl Iterator<Item = (&'a str, &'a str)>) {
        let entries = t.slab.entries();
        for (metric, help) in [
            ("kleak_slab_bytes", "Memory held by a slab cache's objects (num_objs x objsize), bytes."),
            ("kleak_slab_objects", "Objects allocated in a slab cache (num_objs)."),
        ] {
            let _ = write!(self, "# HELP {metric} {help}\n# TYPE {metric} gauge\n");
            for (i, e) in entries.iter().enumerate().filter(|(_, e)| e.presence.now && e.shown) {
                let v = if metric == "kleak_slab_bytes" { e.cur.bytes() } else { e.cur.num_objs };
                // The n-th cache of a repeated name gets n="n".
                let n = 1 + entries[..i].iter().filter(|o| o.presence.now && o.shown && o.name == e.name).count();
                let _ = write!(self, "{metric}{{cache=\"{}\"", Label(e.name.as_str()));
                if n > 1 {
                    let _ = write!(self, ",n=\"{n}\"");
                }
                let _ = writeln!(self, "}} {v}");
            }
        }
        let _ = write!(
            self,
            "# HELP kleak_vmstat A /proc/vmstat amount (nr_*: pages, nr_kernel_stack: kB).\n# TYPE kleak_vmstat gauge\n"
        );
        for g in t.vmstat.entries().iter().filter(|g| g.presence.now && !g.is_counter()) {
            let _ = writeln!(self, "kleak_vmstat{{name=\"{}\"}} {}", Label(g.name.as_str()), g.cur);
        }
        let _ = write!(
            self,
            "# HELP kleak_vmstat_events_total A /proc/vmstat event counter.\n# TYPE kleak_vmstat_events_total counter\n"
        );
        for g in t.vmstat.entries().iter().filter(|g| g.presence.now && g.is_counter()) {
            let _ = writeln!(self, "kleak_vmstat_events_total{{name=\"{}\"}} {}", Label(g.name.as_str()), g.cur);
        }
        let _ = write!(
            self,
            "# HELP kleak_meminfo_bytes A /proc/meminfo figure in bytes, and kleak's Unaccounted.\n# TYPE kleak_meminfo_bytes gauge\n"
        );
        for g in t.meminfo.entries().iter().filter(|g| g.presence.now && g.unit == Unit::Bytes) {
            let _ = writeln!(self, "kleak_meminfo_bytes{{name=\"{}\"}} {}", Label(g.name.as_str()), g.cur);
        }
        let _ = write!(
            self,
            "# HELP kleak_leak_suspect 1 while kleak judges the entry a suspect leak.\n# TYPE kleak_leak_suspect gauge\n"
        );
        for (source, name) in suspects {
            let _ = writeln!(self, "kleak_leak_suspect{{source=\"{}\",name=\"{}\"}} 1", Label(source), Label(name));
        }
    }
}

/// The CSV header (`kleak watch --csv`).
pub fn csv_header(out: &mut Out) -> Result<(), Closed> {
    crate::outln!(out, "elapsed_secs,source,name,value,bytes")
}

/// One CSV row per figure of the latest sample: slab caches (value: objects), meminfo
/// (bytes) and vmstat gauges (value: pages or kB; bytes where it is memory). Long format,
/// so caches that come and go keep their own rows: `grep ',kmalloc-128,'` gives one series.
pub fn csv_sample(out: &mut Out, t: &Tables) -> Result<(), Closed> {
    let secs = super::fmt::Fixed(t.times.elapsed(), 3);
    for e in t.slab.entries().iter().filter(|e| e.presence.now && e.shown) {
        crate::outln!(out, "{secs},slab,{},{},{}", Csv(e.name.as_str()), e.cur.num_objs, e.cur.bytes())?;
    }
    for g in t.meminfo.entries().iter().filter(|g| g.presence.now && g.unit == Unit::Bytes) {
        crate::outln!(out, "{secs},meminfo,{},{},{}", Csv(g.name.as_str()), g.cur, g.cur)?;
    }
    for g in t.vmstat.entries().iter().filter(|g| g.presence.now && !g.is_counter()) {
        let _ = write!(out.line(), "{secs},vmstat,{},{},", Csv(g.name.as_str()), g.cur);
        if let Some(b) = g.bytes(g.cur, t.page_size) {
            let _ = write!(out.line(), "{b}");
        }
        out.emit()?;
    }
    Ok(())
}

/// Three CSV rows for a process (`watch --pid`, `--procs`): source `process`, name
/// `comm[pid] rss` (and `data`, `vm`, as alerts name them), value and bytes its bytes.
pub fn csv_process<F>(out: &mut Out, elapsed: f64, p: &crate::procs::Proc<F>) -> Result<(), Closed> {
    let secs = super::fmt::Fixed(elapsed, 3);
    let label = p.label();
    for (f, name) in crate::verdict::PROC_FIGURES.iter().enumerate() {
        let b = crate::verdict::proc_figure(&p.cur, f);
        crate::outln!(out, "{secs},process,{} {name},{b},{b}", Csv(label.as_str()))?;
    }
    Ok(())
}

/// A CSV field, quoted when it must be (RFC 4180).
struct Csv<'a>(&'a str);

impl core::fmt::Display for Csv<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if !self.0.contains([',', '"', '\n']) {
            return f.write_str(self.0);
        }
        f.write_char('"')?;
        for c in self.0.chars() {
            if c == '"' {
                f.write_char('"')?;
            }
            f.write_char(c)?;
        }
        f.write_char('"')
    }
}

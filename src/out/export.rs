//! Exports: Prometheus metrics (textfile-collector files, and the body `watch --listen`
//! serves) and CSV rows, from the tables.
//!
//! The Prometheus file is written whole to `FILE.tmp` and renamed over `FILE` each sample,
//! so node_exporter's textfile collector never reads half a file. A cache name the kernel
//! repeats gets a label `n="2"`, `n="3"`… on its later copies, so every series is unique.

use super::{Closed, Out};
use crate::arg::Arg;
use crate::leaks::Groups;
use crate::limits::PROM_BUF_BYTES as PROM_BUF;
use crate::sys::{self, Errno, File, Mode};
use crate::table::Unit;
use crate::tables::Tables;
use core::fmt::Write;

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

    /// Writes the metrics that `render` writes to the file. Errors (ENOSPC, EROFS…) are
    /// returned; the next sample tries again.
    pub fn write(&mut self, render: impl FnOnce(&mut Self)) -> Result<(), Errno> {
        self.err = None;
        self.file = Some(File::open(&[self.tmp.as_bytes()], Mode::CreateTruncate)?);
        render(self);
        self.flush();
        self.file = None;
        if let Some(e) = self.err {
            return Err(e);
        }
        sys::rename(&[self.tmp.as_bytes()], &[self.path.as_bytes()])
    }
}

/// What a Prometheus body shows besides the tables: the verdicts' suspects (source,
/// name), kmemleak's groups (`watch --kmemleak-every`), and how long the sample took.
pub struct Extra<'a, I> {
    /// (source, name) of each entry judged a suspect leak now.
    pub suspects: I,
    /// The groups of kmemleak's latest report.
    pub kmemleak: Option<&'a Groups>,
    /// Seconds the latest sample took to read, parse and judge.
    pub sample_secs: f64,
}

/// The metrics of the latest sample in Prometheus text format 0.0.4: what `--prom` files
/// hold and what `--listen` serves, written by this one function.
pub fn prometheus<'a>(w: &mut impl Write, t: &Tables, x: Extra<'a, impl Iterator<Item = (&'a str, &'a str)>>) {
    let _ = write!(
        w,
        "# HELP kleak_build_info kleak's version and target architecture.\n# TYPE kleak_build_info gauge\n\
         kleak_build_info{{version=\"{}\",arch=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    let _ = write!(
        w,
        "# HELP kleak_up 1 when the latest sample read at least one of slabinfo, vmstat, meminfo.\n# TYPE kleak_up gauge\nkleak_up {}\n",
        u8::from(t.have.iter().any(|&h| h))
    );
    let _ = write!(
        w,
        "# HELP kleak_source_up 1 when the latest sample read this /proc file.\n# TYPE kleak_source_up gauge\n"
    );
    for (src, have) in crate::tables::Source::ALL.iter().zip(t.have) {
        let _ = writeln!(w, "kleak_source_up{{file=\"{}\"}} {}", src.path(), u8::from(have));
    }
    let _ = write!(
        w,
        "# HELP kleak_samples_total Samples taken since kleak started.\n# TYPE kleak_samples_total counter\nkleak_samples_total {}\n",
        t.samples
    );
    let _ = write!(
        w,
        "# HELP kleak_sample_seconds Time the latest sample took to read, parse and judge.\n# TYPE kleak_sample_seconds gauge\nkleak_sample_seconds {}\n",
        super::fmt::Fixed(x.sample_secs, 6)
    );
    let entries = t.slab.entries();
    for (metric, help) in [
        ("kleak_slab_bytes", "Memory held by a slab cache's objects (num_objs x objsize), bytes."),
        ("kleak_slab_objects", "Objects allocated in a slab cache (num_objs)."),
    ] {
        let _ = write!(w, "# HELP {metric} {help}\n# TYPE {metric} gauge\n");
        for (i, e) in entries.iter().enumerate().filter(|(_, e)| e.presence.now && e.shown) {
            let v = if metric == "kleak_slab_bytes" { e.cur.bytes() } else { e.cur.num_objs };
            // The n-th cache of a repeated name gets n="n".
            let n = 1 + entries[..i].iter().filter(|o| o.presence.now && o.shown && o.name == e.name).count();
            let _ = write!(w, "{metric}{{cache=\"{}\"", Label(e.name.as_str()));
            if n > 1 {
                let _ = write!(w, ",n=\"{n}\"");
            }
            let _ = writeln!(w, "}} {v}");
        }
    }
    let _ = write!(
        w,
        "# HELP kleak_vmstat A /proc/vmstat amount (nr_*: pages, nr_kernel_stack: kB).\n# TYPE kleak_vmstat gauge\n"
    );
    for g in t.vmstat.entries().iter().filter(|g| g.presence.now && !g.is_counter()) {
        let _ = writeln!(w, "kleak_vmstat{{name=\"{}\"}} {}", Label(g.name.as_str()), g.cur);
    }
    let _ = write!(
        w,
        "# HELP kleak_vmstat_events_total A /proc/vmstat event counter.\n# TYPE kleak_vmstat_events_total counter\n"
    );
    for g in t.vmstat.entries().iter().filter(|g| g.presence.now && g.is_counter()) {
        let _ = writeln!(w, "kleak_vmstat_events_total{{name=\"{}\"}} {}", Label(g.name.as_str()), g.cur);
    }
    let _ = write!(
        w,
        "# HELP kleak_meminfo_bytes A /proc/meminfo figure in bytes, and kleak's Unaccounted.\n# TYPE kleak_meminfo_bytes gauge\n"
    );
    for g in t.meminfo.entries().iter().filter(|g| g.presence.now && g.unit == Unit::Bytes) {
        let _ = writeln!(w, "kleak_meminfo_bytes{{name=\"{}\"}} {}", Label(g.name.as_str()), g.cur);
    }
    let _ = write!(
        w,
        "# HELP kleak_leak_suspect 1 while kleak judges the entry a suspect leak.\n# TYPE kleak_leak_suspect gauge\n"
    );
    for (source, name) in x.suspects {
        let _ = writeln!(w, "kleak_leak_suspect{{source=\"{}\",name=\"{}\"}} 1", Label(source), Label(name));
    }
    let Some(groups) = x.kmemleak else { return };
    for (metric, help) in [
        ("kleak_kmemleak_objects", "Unreferenced objects kmemleak reports, per backtrace group."),
        ("kleak_kmemleak_bytes", "Bytes of those objects, per backtrace group."),
    ] {
        let _ = write!(w, "# HELP {metric} {help}\n# TYPE {metric} gauge\n");
        for g in groups.all() {
            let mut cache: heapless::String<32> = heapless::String::new();
            let _ = write!(cache, "{}", g.cache(g.size_min, t.page_size));
            let v = if metric == "kleak_kmemleak_objects" { g.objects as u64 } else { g.bytes };
            let _ = writeln!(
                w,
                "{metric}{{fingerprint=\"{:016x}\",site=\"{}\",cache=\"{}\"}} {v}",
                g.key,
                Label(g.site()),
                Label(cache.as_str())
            );
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

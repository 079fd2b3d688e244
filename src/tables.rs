//! Everything sampled so far, as the parsers left it: the slab, vmstat and meminfo
//! tables of one run with their parsers, sample times and page size. No I/O: the sampler
//! ([`crate::sample`]) and snapshots ([`crate::snapshot`]) feed it lines; verdicts, views
//! and exports read it.

use crate::figures;
use crate::limits::{MAX_MEMINFO, MAX_VMSTAT};
use crate::parse::meminfo::MeminfoParser;
use crate::parse::slabinfo::SlabinfoParser;
use crate::parse::vmstat::{self, VmstatParser};
use crate::table::{GaugeTable, SlabTable, Unit};

/// The files a sample reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// /proc/slabinfo
    Slabinfo,
    /// /proc/vmstat
    Vmstat,
    /// /proc/meminfo
    Meminfo,
}

impl Source {
    /// All sources, in the order a sample reads them.
    pub const ALL: [Source; 3] = [Source::Slabinfo, Source::Vmstat, Source::Meminfo];

    /// The file's path.
    pub fn path(self) -> &'static str {
        match self {
            Source::Slabinfo => "/proc/slabinfo",
            Source::Vmstat => "/proc/vmstat",
            Source::Meminfo => "/proc/meminfo",
        }
    }

    /// Index for per-source arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The source whose path is `path`.
    pub fn from_path(path: &[u8]) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.path().as_bytes() == path)
    }
}

/// Monotonic times of the samples, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Times {
    /// The first sample.
    pub first: f64,
    /// The sample before the latest.
    pub prev: f64,
    /// The latest sample.
    pub cur: f64,
}

impl Times {
    /// Seconds between the last two samples.
    pub fn interval(&self) -> f64 {
        self.cur - self.prev
    }
    /// Seconds since the first sample.
    pub fn elapsed(&self) -> f64 {
        self.cur - self.first
    }
}

/// Where the page size came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSizeFrom {
    /// Not known yet (4096 assumed).
    Assumed,
    /// `sysconf(_SC_PAGESIZE)` on the live system.
    System,
    /// A snapshot header.
    Snapshot,
    /// `MemFree / nr_free_pages` of a captured tree.
    Derived,
}

/// Everything sampled so far, updated in place; no I/O.
pub struct Tables {
    /// Slab caches.
    pub slab: SlabTable,
    /// /proc/vmstat values.
    pub vmstat: GaugeTable<MAX_VMSTAT>,
    /// /proc/meminfo values (bytes) and `Unaccounted`.
    pub meminfo: GaugeTable<MAX_MEMINFO>,
    /// slabinfo parser (version, rows, malformed lines).
    pub slabinfo_parser: SlabinfoParser,
    /// vmstat parser.
    pub vmstat_parser: VmstatParser,
    /// meminfo parser.
    pub meminfo_parser: MeminfoParser,
    /// Samples completed.
    pub samples: u32,
    /// Sample times.
    pub times: Times,
    /// Page size in bytes.
    pub page_size: u64,
    /// Where [`Tables::page_size`] came from.
    pub page_size_from: PageSizeFrom,
    /// Whether each source held data in the latest sample.
    pub have: [bool; 3],
}

impl Default for Tables {
    fn default() -> Self {
        Tables {
            slab: SlabTable::default(),
            vmstat: GaugeTable::default(),
            meminfo: GaugeTable::default(),
            slabinfo_parser: SlabinfoParser::new(),
            vmstat_parser: VmstatParser::default(),
            meminfo_parser: MeminfoParser::default(),
            samples: 0,
            times: Times::default(),
            page_size: 4096,
            page_size_from: PageSizeFrom::Assumed,
            have: [false; 3],
        }
    }
}

impl Tables {
    /// Starts a sample.
    pub fn begin(&mut self) {
        let n = self.samples;
        self.slab.begin(n);
        self.vmstat.begin(n);
        self.meminfo.begin(n);
        self.slabinfo_parser.restart();
        self.vmstat_parser.stats.restart();
        self.meminfo_parser.stats.restart();
    }

    /// If `unread` starts with the line the next entry of `src` was parsed from in the
    /// sample before, counts it and returns its length with the newline; else 0. This is
    /// the diff in place, at the bytes: an unchanged line is compared once, never parsed.
    pub fn known(&mut self, src: Source, unread: &[u8]) -> usize {
        let (n, stats) = match src {
            Source::Slabinfo if self.slabinfo_parser.at_rows() => {
                (self.slab.known(unread, self.slabinfo_parser.layout()), &mut self.slabinfo_parser.stats)
            }
            Source::Slabinfo => return 0,
            Source::Vmstat => (self.vmstat.known(unread), &mut self.vmstat_parser.stats),
            Source::Meminfo => (self.meminfo.known(unread), &mut self.meminfo_parser.stats),
        };
        stats.lines += (n > 0) as u32;
        n
    }

    /// Feeds one line of `src`.
    pub fn line(&mut self, src: Source, line: &[u8]) -> bool {
        match src {
            Source::Slabinfo => {
                let slab = &mut self.slab;
                let mut record = false;
                // A row re-joined from wrapped lines does not start this line: nothing kept.
                self.slabinfo_parser.line(line, &mut |r| {
                    record = true;
                    slab.update(r, Some(line))
                });
                record
            }
            Source::Vmstat => {
                let Some(r) = self.vmstat_parser.line(line) else { return false };
                let unit = match vmstat::kind(r.name) {
                    vmstat::Kind::Pages => Unit::Pages,
                    vmstat::Kind::KiB => Unit::KiB,
                    vmstat::Kind::Count => Unit::Count,
                    vmstat::Kind::Counter => Unit::Counter,
                };
                self.vmstat.update(r.name, unit, clamp(r.value), Some(line));
                true
            }
            Source::Meminfo => {
                let Some(r) = self.meminfo_parser.line(line) else { return false };
                let unit = if r.kib { Unit::Bytes } else { Unit::Count };
                self.meminfo.update(r.key, unit, clamp(r.amount()), Some(line));
                true
            }
        }
    }

    /// Ends `src` for this sample. `complete`: it was read to its end.
    pub fn end_source(&mut self, src: Source, complete: bool) {
        match src {
            Source::Slabinfo => {
                let slab = &mut self.slab;
                self.slabinfo_parser.finish(&mut |r| slab.update(r, None));
                slab.end(complete);
                self.have[0] = self.slab.entries().iter().any(|e| e.presence.now);
            }
            Source::Vmstat => {
                self.vmstat.end(complete);
                self.have[1] = self.vmstat.entries().iter().any(|e| e.presence.now);
            }
            Source::Meminfo => {
                self.meminfo.end(complete);
                let u = figures::unaccounted(&self.meminfo);
                self.meminfo.set_derived(figures::UNACCOUNTED, Unit::Bytes, u);
                self.have[2] = self.meminfo.entries().iter().any(|e| e.presence.now);
            }
        }
    }

    /// Ends the sample taken at monotonic time `now` (seconds).
    pub fn end(&mut self, now: f64) {
        if self.samples == 0 {
            self.times = Times { first: now, prev: now, cur: now };
        } else {
            self.times.prev = self.times.cur;
            self.times.cur = now;
        }
        if self.page_size_from == PageSizeFrom::Assumed {
            if let Some(p) = figures::page_size_from(&self.meminfo, &self.vmstat) {
                self.page_size = p;
                self.page_size_from = PageSizeFrom::Derived;
            }
        }
        self.samples += 1;
    }

    /// Lines skipped as malformed, over all sources, since start.
    pub fn malformed(&self) -> u32 {
        self.slabinfo_parser.stats.malformed + self.vmstat_parser.stats.malformed + self.meminfo_parser.stats.malformed
    }
}

fn clamp(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

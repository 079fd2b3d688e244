//! Leak verdicts: what kleak judges, how a judgement becomes an [`Alert`], and which memory
//! the kernel can take back.
//!
//! [`Verdicts`] adapts the tables to the trend engine ([`crate::trend`]), which knows
//! nothing about slab: per sample it feeds each slab cache as the bytes of its objects in
//! use (`active_objs × objsize`) and each judged meminfo/vmstat figure as bytes, and
//! turns the engine's events into alerts for a caller's closure (print them, store them in
//! a ring log). Nothing here allocates once the engines exist.
//!
//! # What is judged
//! - every slab cache, by the bytes of its objects in use (`active_objs × objsize`): they
//!   grow only when the object count grows, so a cache that only moved to bigger slabs
//!   (`num_objs` up, `active_objs` flat) is not a leak;
//! - meminfo figures of kernel memory the kernel does not give back on demand
//!   ([`JUDGED`]): `SUnreclaim`, `KernelStack`, `PageTables`, `SecPageTables`,
//!   `VmallocUsed`, `Percpu` and kleak's `Unaccounted` (page-allocator leaks);
//! - `SReclaimable` and the vmstat gauges meminfo does not print (`nr_iommu_pages`,
//!   `nr_kernel_misc_reclaimable`). Gauges meminfo prints too are judged once, as meminfo.
//!
//! Not judged: page cache, anonymous and shared memory (`Cached`, `AnonPages`, `Shmem`,
//! ...: user data, not kernel leaks), event counters (they only grow).
//!
//! # Reclaim awareness
//! Caches created with `SLAB_RECLAIM_ACCOUNT` (dentries, inodes, ...) and `SReclaimable`
//! grow whenever files are used and shrink under memory pressure: their growth is
//! reported as `GROW` (severity `reclaimable`), not `LEAK`, and does not make `watch
//! --exit-on-leak` exit. A cache is reclaimable if `/sys/kernel/slab/<cache>/reclaim_account`
//! says 1 (root only); without that file, [`is_reclaimable_name`] decides from the name.
//! With `--check-reclaim`, a reclaimable suspect is tested: kleak writes 2 to
//! `/proc/sys/vm/drop_caches` and looks at the next sample. If the cache gave back at
//! least half of its growth it was reclaimable (`recovered`); if not, it is a leak after all
//! (`LEAK ... kept`).

use crate::limits::{MAX_PROCS, NAME_BYTES, SPARK_COLS, TREND_SLOTS};
use crate::procs::{Footprint, Proc};
use crate::table::Name;
use crate::tables::Tables;
use crate::trend::{Change, Engine, Event, Policy, State};

/// Where an alert's amount comes from (the JSON `source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A slab cache.
    Slab,
    /// A /proc/meminfo figure (or `Unaccounted`).
    Meminfo,
    /// A /proc/vmstat gauge.
    Vmstat,
    /// A process's footprint (`watch --pid`, `--procs`).
    Process,
}

impl Source {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Slab => "slab",
            Source::Meminfo => "meminfo",
            Source::Vmstat => "vmstat",
            Source::Process => "process",
        }
    }
}

/// How bad a growth is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Memory the kernel does not give back: a suspect leak (`LEAK`).
    Leak,
    /// Memory the kernel reclaims under pressure (`GROW`).
    Reclaimable,
}

impl Severity {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Leak => "leak",
            Severity::Reclaimable => "reclaimable",
        }
    }
}

/// The JSON spelling of an alert state.
pub fn state_str(c: Change) -> &'static str {
    match c {
        Change::Suspect => "suspect",
        Change::Reminder => "reminder",
        Change::Recovered => "recovered",
    }
}

/// What `--check-reclaim` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reclaim {
    /// Not checked.
    Unchecked,
    /// drop_caches freed this many bytes of it: reclaimable.
    Freed(i64),
    /// It kept this many bytes through drop_caches: a leak after all.
    Kept(i64),
}

/// A sparkline: the window's low-water marks as levels 0..=7, at most [`SPARK_COLS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spark {
    /// Levels, oldest first.
    pub levels: [u8; SPARK_COLS],
    /// How many levels are used.
    pub len: u8,
}

impl Spark {
    /// No shape.
    pub const EMPTY: Spark = Spark { levels: [0; SPARK_COLS], len: 0 };

    /// The shape of `xs` in at most `cols` columns: each column is the lowest of its
    /// points (the same low-water reading as the verdict), scaled between the lowest and
    /// the highest column.
    pub fn of(xs: &[i64], cols: usize) -> Spark {
        let cols = cols.min(SPARK_COLS).min(xs.len());
        let mut col = [0i64; SPARK_COLS];
        for (c, v) in col.iter_mut().enumerate().take(cols) {
            let (a, b) = (c * xs.len() / cols, ((c + 1) * xs.len() / cols).max(c * xs.len() / cols + 1));
            *v = xs[a..b].iter().copied().min().unwrap_or(0);
        }
        let col = &col[..cols];
        let lo = col.iter().copied().min().unwrap_or(0);
        let hi = col.iter().copied().max().unwrap_or(0);
        let mut s = Spark::EMPTY;
        for (l, &v) in s.levels.iter_mut().zip(col) {
            let (d, r) = (v.wrapping_sub(lo) as u64 as f64, hi.wrapping_sub(lo) as u64 as f64);
            *l = if r > 0.0 { (d * 7.0 / r + 0.5) as u8 } else { 0 };
        }
        s.len = cols as u8;
        s
    }

    /// The levels in use.
    pub fn levels(&self) -> &[u8] {
        &self.levels[..self.len as usize]
    }
}

/// One alert: everything its text line and its JSON object say. Plain data, `Copy`, so a
/// ring log can keep it; render it with [`crate::out::alert`].
#[derive(Clone, Copy, Debug)]
pub struct Alert {
    /// Where the amount comes from.
    pub source: Source,
    /// The cache, figure or process.
    pub name: Name<NAME_BYTES>,
    /// suspect, reminder or recovered.
    pub state: Change,
    /// leak or reclaimable.
    pub severity: Severity,
    /// The entry is reclaimable memory (even when `--check-reclaim` found it a leak).
    pub reclaimable: bool,
    /// Growth over the window, bytes (low-water marks, last − first).
    pub growth_bytes: i64,
    /// Theil–Sen rate over the window, bytes per second.
    pub rate_bytes_per_s: f64,
    /// The configured window, seconds.
    pub window_secs: f64,
    /// Seconds the window's samples actually span.
    pub span_secs: f64,
    /// Growth of the object count over the window (slab caches: growth / objsize).
    pub growth_objs: Option<i64>,
    /// The judged amount now, bytes (slab caches: of the objects in use).
    pub bytes: i64,
    /// Bytes per object (slab caches; 0 otherwise): names the kmalloc size class.
    pub objsize: u32,
    /// Mann–Kendall z of the window.
    pub z: f64,
    /// Seconds the entry has been suspect.
    pub suspect_secs: f64,
    /// Seconds since kleak started judging (the alert's time).
    pub elapsed_secs: f64,
    /// The entry vanished (a destroyed cache, an exited process).
    pub gone: bool,
    /// What `--check-reclaim` found.
    pub reclaim: Reclaim,
    /// The window's shape.
    pub spark: Spark,
}

impl Alert {
    /// True for a suspect leak of unreclaimable memory: what `--exit-on-leak` stops on.
    pub fn is_leak(&self) -> bool {
        self.state == Change::Suspect && self.severity == Severity::Leak
    }

    /// Order for a console that shows only a few: leaks before growth, new suspects before
    /// reminders before recoveries, larger growth first. Smaller sorts first.
    pub fn rank(&self) -> (Severity, u8, i64) {
        let state = match self.state {
            Change::Suspect => 0,
            Change::Reminder => 1,
            Change::Recovered => 2,
        };
        (self.severity, state, -self.growth_bytes.max(0))
    }
}

/// One judged meminfo or vmstat figure.
#[derive(Clone, Copy, Debug)]
pub struct Judged {
    /// meminfo or vmstat.
    pub source: Source,
    /// Key as the kernel prints it.
    pub name: &'static str,
    /// How bad its growth is.
    pub severity: Severity,
}

const fn judged(source: Source, name: &'static str, severity: Severity) -> Judged {
    Judged { source, name, severity }
}

/// The meminfo and vmstat figures kleak judges (see the module documentation).
pub const JUDGED: [Judged; 10] = [
    judged(Source::Meminfo, "SUnreclaim", Severity::Leak),
    judged(Source::Meminfo, "KernelStack", Severity::Leak),
    judged(Source::Meminfo, "PageTables", Severity::Leak),
    judged(Source::Meminfo, "SecPageTables", Severity::Leak),
    judged(Source::Meminfo, "VmallocUsed", Severity::Leak),
    judged(Source::Meminfo, "Percpu", Severity::Leak),
    judged(Source::Meminfo, crate::figures::UNACCOUNTED, Severity::Leak),
    judged(Source::Meminfo, "SReclaimable", Severity::Reclaimable),
    judged(Source::Vmstat, "nr_iommu_pages", Severity::Leak),
    judged(Source::Vmstat, "nr_kernel_misc_reclaimable", Severity::Reclaimable),
];

/// The footprint figures judged per process, in the order they may become suspect: one
/// figure of a process is suspect at a time, so a heap leak (RSS, data and VmSize grow
/// together) gets one line, `rss` when the leaked memory is touched, `data` when it is
/// only reserved, `vm` for mappings.
pub const PROC_FIGURES: [&str; 3] = ["rss", "data", "vm"];

/// The bytes of figure `f` (an index into [`PROC_FIGURES`]) of a footprint.
pub fn proc_figure(fp: &Footprint, f: usize) -> i64 {
    match f {
        0 => fp.rss,
        1 => fp.data,
        _ => fp.vm,
    }
}

/// Caches that are reclaimable whatever their name says elsewhere in the rules below
/// (created with `SLAB_RECLAIM_ACCOUNT` on 6.x kernels).
const RECLAIMABLE_NAMES: [&str; 15] = [
    "dentry",
    "btrfs_inode",
    "xfs_inode",
    "fuse_inode",
    "ovl_inode",
    "erofs_inode",
    "inode_cache",
    "radix_tree_node",
    "buffer_head",
    "extent_status",
    "jbd2_journal_head",
    "mb_cache_entry",
    "dquot",
    "xfs_ili",
    "xfs_buf",
];

/// `*_inode_cache` caches that are not reclaimable: their inodes live as long as their
/// files (tmpfs, hugetlbfs, POSIX message queues) or their owner (LSM blobs).
const UNRECLAIMABLE_INODE_CACHES: [&str; 4] =
    ["shmem_inode_cache", "hugetlbfs_inode_cache", "mqueue_inode_cache", "lsm_inode_cache"];

/// The name rule used when `/sys/kernel/slab/<cache>/reclaim_account` cannot be read:
/// [`RECLAIMABLE_NAMES`], `kmalloc-rcl-*`, file system inode caches (`*_inode_cache` but
/// not tmpfs/hugetlbfs/mqueue/LSM ones). Checked against 6.18's reclaim_account flags.
pub fn is_reclaimable_name(name: &str) -> bool {
    RECLAIMABLE_NAMES.contains(&name)
        || name.starts_with("kmalloc-rcl-")
        || (name.ends_with("_inode_cache") && !UNRECLAIMABLE_INODE_CACHES.contains(&name))
}

/// Whether a cache is reclaimable: its `reclaim_account` flag as the sampler read it,
/// else [`is_reclaimable_name`].
pub fn is_reclaimable(e: &crate::table::SlabEntry) -> bool {
    e.reclaim_account.unwrap_or_else(|| is_reclaimable_name(e.name.as_str()))
}

/// Tag bits the slab adapter keeps per cache in the engine.
const TAG_RECLAIMABLE: u8 = 1;
/// drop_caches did not shrink it: judged as a leak from now on.
const TAG_KEPT: u8 = 2;

/// What `--check-reclaim` waits for: the next sample's bytes of one entry.
#[derive(Clone, Copy, Debug)]
struct Pending {
    source: Source,
    index: usize,
    bytes_before: i64,
    growth: i64,
}

/// How the judging went so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Alerts of each state: suspect, reminder, recovered.
    pub suspect: u32,
    /// Reminders.
    pub reminder: u32,
    /// Recoveries.
    pub recovered: u32,
    /// Suspect leaks of unreclaimable memory.
    pub leaks: u32,
    /// drop_caches writes.
    pub reclaim_checks: u32,
}

/// The verdicts of one run: engines for slab caches and for the judged gauges.
pub struct Verdicts {
    /// The alert policy.
    pub policy: Policy,
    slab: Engine,
    gauges: Engine,
    /// Processes' footprints: [`PROC_FIGURES`] entries per process table slot (empty until
    /// [`Verdicts::follow_processes`]).
    procs: Engine,
    /// Table index of each [`JUDGED`] figure, once found.
    gauge_index: [Option<u16>; JUDGED.len()],
    /// Table lengths when the figures were last looked for.
    looked: (usize, usize),
    check_reclaim: bool,
    pending: Option<Pending>,
    /// A drop_caches write asked for by the latest [`Verdicts::update`], and when.
    request: Option<(Pending, f64)>,
    last_check: Option<f64>,
    start: Option<f64>,
    /// Counts since start.
    pub tally: Tally,
    /// A drop_caches write failed (the error), reported once by the caller.
    pub reclaim_error: Option<crate::sys::Errno>,
}

impl Verdicts {
    /// Verdicts with `policy`; `check_reclaim` confirms reclaimable suspects with
    /// drop_caches. Allocates the trend state for every cache and figure, once.
    pub fn new(policy: Policy, check_reclaim: bool) -> Self {
        Verdicts {
            policy,
            slab: Engine::new(crate::limits::MAX_CACHES, policy),
            gauges: Engine::new(JUDGED.len(), policy),
            procs: Engine::new(0, policy),
            gauge_index: [None; JUDGED.len()],
            looked: (usize::MAX, usize::MAX),
            check_reclaim,
            pending: None,
            request: None,
            last_check: None,
            start: None,
            tally: Tally::default(),
            reclaim_error: None,
        }
    }

    /// The slab caches' engine (for sparklines).
    pub fn slab_engine(&self) -> &Engine {
        &self.slab
    }

    /// Judges processes too: allocates their trend state, once.
    pub fn follow_processes(&mut self) {
        self.procs = Engine::new(MAX_PROCS * PROC_FIGURES.len(), self.policy);
    }

    /// The entries suspect now, as (source, name): slab caches and judged figures.
    pub fn suspects<'a>(&'a self, t: &'a Tables) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
        let slab = (0..self.slab.len())
            .filter(|&i| self.slab.state(i) == State::Suspect)
            .filter_map(|i| t.slab.entries().get(i))
            .map(|e| (Source::Slab.as_str(), e.name.as_str()));
        let gauges = (0..self.gauges.len())
            .filter(|&k| self.gauges.state(k) == State::Suspect)
            .map(|k| (JUDGED[k].source.as_str(), JUDGED[k].name));
        slab.chain(gauges)
    }

    /// The process figures suspect now, as (process table slot, index into
    /// [`PROC_FIGURES`]).
    pub fn process_suspects(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let n = PROC_FIGURES.len();
        (0..self.procs.len()).filter(|&i| self.procs.state(i) == State::Suspect).map(move |i| (i / n, i % n))
    }

    /// Judges the processes' footprints sampled at `now` (after [`Verdicts::update`] for
    /// the same sample); `latest` is the number of that sample in the process table
    /// (a slot whose process first showed in it starts a new history).
    pub fn update_procs<F>(&mut self, procs: &[Proc<F>], latest: u32, now: f64, sink: &mut dyn FnMut(&Alert)) {
        let elapsed = now - self.start.unwrap_or(now);
        let n = PROC_FIGURES.len();
        if self.procs.begin(now) {
            for i in 0..self.procs.len() {
                let Some(ev) = self.procs.judge(i) else { continue };
                // One suspect figure per process: the first in PROC_FIGURES' order wins.
                let first = i - i % n;
                let other = (first..first + n).any(|k| k != i && self.procs.state(k) == State::Suspect);
                if ev.change == Change::Suspect && other {
                    self.procs.clear_suspect(i);
                    continue;
                }
                let a = proc_alert(&self.procs, procs, &ev, elapsed);
                self.emit(&a, sink);
            }
        }
        self.procs.advance();
        for (k, p) in procs.iter().enumerate() {
            for f in 0..n {
                let i = k * n + f;
                if p.alive {
                    // A slot a new process took (a reused PID) starts over, without a word:
                    // the process event says what happened.
                    let fresh = p.first_sample == latest || self.procs.state(i) == State::Idle;
                    self.procs.feed(i, proc_figure(&p.cur, f), fresh);
                } else if self.procs.state(i) != State::Idle {
                    if let Some(ev) = self.procs.gone(i) {
                        let a = proc_alert(&self.procs, procs, &ev, elapsed);
                        self.emit(&a, sink);
                    }
                }
            }
        }
    }

    /// Forgets all history (the tables start over, e.g. after a reboot in a replay).
    pub fn restart(&mut self) {
        self.slab.restart();
        self.gauges.restart();
        self.gauge_index = [None; JUDGED.len()];
        self.looked = (usize::MAX, usize::MAX);
        self.pending = None;
        self.request = None;
        self.start = None;
    }

    #[inline(never)]
    /// Judges the sample the tables hold, taken at `now` (seconds); calls `sink` with each
    /// alert. Nothing is read or written here: a reclaimable suspect under
    /// `--check-reclaim` is a request ([`Verdicts::drop_caches_wanted`]) that the caller
    /// carries out and answers with [`Verdicts::drop_caches_done`]; unanswered, it lapses.
    pub fn update(&mut self, t: &Tables, now: f64, sink: &mut dyn FnMut(&Alert)) {
        self.request = None;
        let start = *self.start.get_or_insert(now);
        let elapsed = now - start;
        if let Some(p) = self.pending.take() {
            self.finish_check(t, p, elapsed, sink);
        }
        let closing = self.slab.begin(now);
        self.gauges.begin(now);
        if closing {
            for i in 0..self.slab.len() {
                if let Some(ev) = self.slab.judge(i) {
                    let a = self.slab_alert(t, &ev, elapsed);
                    self.emit(&a, sink);
                    if a.state != Change::Recovered && a.severity == Severity::Reclaimable {
                        self.start_check(Source::Slab, i, a.bytes, a.growth_bytes, now);
                    }
                }
            }
            for k in 0..self.gauges.len() {
                if let Some(ev) = self.gauges.judge(k) {
                    let a = self.gauge_alert(t, &ev, elapsed);
                    self.emit(&a, sink);
                    if a.state != Change::Recovered && a.severity == Severity::Reclaimable {
                        self.start_check(Source::Meminfo, k, a.bytes, a.growth_bytes, now);
                    }
                }
            }
        }
        self.slab.advance();
        self.gauges.advance();
        self.feed_slab(t, elapsed, sink);
        self.feed_gauges(t, elapsed, sink);
    }

    fn emit(&mut self, a: &Alert, sink: &mut dyn FnMut(&Alert)) {
        match a.state {
            Change::Suspect => self.tally.suspect += 1,
            Change::Reminder => self.tally.reminder += 1,
            Change::Recovered => self.tally.recovered += 1,
        }
        if a.is_leak() {
            self.tally.leaks += 1;
        }
        sink(a);
    }

    fn feed_slab(&mut self, t: &Tables, elapsed: f64, sink: &mut dyn FnMut(&Alert)) {
        for (i, e) in t.slab.entries().iter().enumerate().filter(|(_, e)| e.shown) {
            let p = e.presence;
            if p.now {
                let fresh = p.appeared() || self.slab.state(i) == crate::trend::State::Idle;
                self.slab.feed(i, e.cur.active_bytes() as i64, fresh);
                if fresh {
                    let tag = if is_reclaimable(e) { TAG_RECLAIMABLE } else { 0 };
                    self.slab.set_tag(i, tag);
                }
            } else if p.before {
                if let Some(ev) = self.slab.gone(i) {
                    let a = self.slab_alert(t, &ev, elapsed);
                    self.emit(&a, sink);
                }
            }
        }
    }

    fn feed_gauges(&mut self, t: &Tables, elapsed: f64, sink: &mut dyn FnMut(&Alert)) {
        let lens = (t.meminfo.entries().len(), t.vmstat.entries().len());
        if lens != self.looked {
            self.looked = lens;
            for (k, j) in JUDGED.iter().enumerate() {
                if self.gauge_index[k].is_none() {
                    let entries = if j.source == Source::Meminfo { t.meminfo.entries() } else { t.vmstat.entries() };
                    self.gauge_index[k] =
                        entries.iter().position(|g| g.name.as_bytes() == j.name.as_bytes()).map(|p| p as u16);
                }
            }
        }
        for k in 0..JUDGED.len() {
            let Some(g) = gauge(t, k, self.gauge_index[k]) else { continue };
            let p = g.presence;
            match g.bytes(g.cur, t.page_size) {
                Some(bytes) if p.now => {
                    let fresh = p.appeared() || self.gauges.state(k) == crate::trend::State::Idle;
                    self.gauges.feed(k, bytes, fresh);
                }
                _ if p.before => {
                    if let Some(ev) = self.gauges.gone(k) {
                        let a = self.gauge_alert(t, &ev, elapsed);
                        self.emit(&a, sink);
                    }
                }
                _ => {}
            }
        }
    }

    fn slab_alert(&self, t: &Tables, ev: &Event, elapsed: f64) -> Alert {
        let e = &t.slab.entries()[ev.index];
        let reclaimable = ev.tag & TAG_RECLAIMABLE != 0;
        let severity = if reclaimable && ev.tag & TAG_KEPT == 0 { Severity::Reclaimable } else { Severity::Leak };
        let cur = if e.presence.now { e.cur } else { e.prev };
        let mut a = alert(&self.slab, ev, Source::Slab, e.name.as_bytes(), severity, elapsed);
        a.reclaimable = reclaimable;
        a.growth_objs = (cur.objsize > 0).then(|| ev.j.growth / cur.objsize as i64);
        a.bytes = cur.active_bytes() as i64;
        a.objsize = cur.objsize;
        a
    }

    fn gauge_alert(&self, t: &Tables, ev: &Event, elapsed: f64) -> Alert {
        let j = &JUDGED[ev.index];
        let mut a = alert(&self.gauges, ev, j.source, j.name.as_bytes(), j.severity, elapsed);
        a.reclaimable = j.severity == Severity::Reclaimable;
        if let Some(g) = gauge(t, ev.index, self.gauge_index[ev.index]) {
            a.bytes = g.bytes(g.cur, t.page_size).unwrap_or(0);
        }
        a
    }

    /// Asks for a drop_caches write for a reclaimable suspect, at most once per window.
    fn start_check(&mut self, source: Source, index: usize, bytes: i64, growth: i64, now: f64) {
        if !self.check_reclaim || self.pending.is_some() || self.request.is_some() || self.reclaim_error.is_some() {
            return;
        }
        if self.last_check.is_some_and(|t| now - t < self.policy.window_secs) {
            return;
        }
        self.request = Some((Pending { source, index, bytes_before: bytes, growth }, now));
    }

    /// True when the latest [`Verdicts::update`] asks for `2` to be written to
    /// `/proc/sys/vm/drop_caches` (`--check-reclaim`); the next sample tells what it freed.
    pub fn drop_caches_wanted(&self) -> bool {
        self.request.is_some()
    }

    /// How the drop_caches write that was asked for went: the next sample is judged
    /// against it, or (an error) no check is asked for again.
    pub fn drop_caches_done(&mut self, r: Result<(), crate::sys::Errno>) {
        let Some((p, at)) = self.request.take() else { return };
        self.last_check = Some(at);
        match r {
            Ok(()) => {
                self.tally.reclaim_checks += 1;
                self.pending = Some(p);
            }
            Err(e) => self.reclaim_error = Some(e),
        }
    }

    /// The sample after drop_caches: did the suspect shrink?
    fn finish_check(&mut self, t: &Tables, p: Pending, elapsed: f64, sink: &mut dyn FnMut(&Alert)) {
        let (engine, now_bytes) = match p.source {
            Source::Slab => {
                let Some(e) = t.slab.entries().get(p.index).filter(|e| e.presence.now) else { return };
                (&mut self.slab, e.cur.active_bytes() as i64)
            }
            _ => {
                let Some(g) = gauge(t, p.index, self.gauge_index[p.index]) else { return };
                (&mut self.gauges, g.bytes(g.cur, t.page_size).unwrap_or(0))
            }
        };
        if engine.state(p.index) != crate::trend::State::Suspect {
            return;
        }
        let freed = p.bytes_before - now_bytes;
        let tag = engine.tag(p.index);
        let ev = Event {
            index: p.index,
            change: Change::Suspect,
            j: engine.judgement(p.index),
            suspect_secs: 0.0,
            gone: false,
            tag,
        };
        let mut a = if freed.saturating_mul(2) >= p.growth.max(1) {
            engine.clear_suspect(p.index);
            let mut a = if p.source == Source::Slab {
                self.slab_alert(t, &ev, elapsed)
            } else {
                self.gauge_alert(t, &ev, elapsed)
            };
            a.state = Change::Recovered;
            a.reclaim = Reclaim::Freed(freed);
            a
        } else {
            engine.set_tag(p.index, tag | TAG_KEPT);
            let ev = Event { tag: tag | TAG_KEPT, ..ev };
            let mut a = if p.source == Source::Slab {
                self.slab_alert(t, &ev, elapsed)
            } else {
                self.gauge_alert(t, &ev, elapsed)
            };
            a.severity = Severity::Leak;
            a.reclaim = Reclaim::Kept(now_bytes);
            a
        };
        a.bytes = now_bytes;
        self.emit(&a, sink);
    }
}

fn gauge(t: &Tables, k: usize, index: Option<u16>) -> Option<&crate::table::Gauge> {
    let entries = if JUDGED[k].source == Source::Meminfo { t.meminfo.entries() } else { t.vmstat.entries() };
    entries.get(index? as usize)
}

/// A process figure's alert, named `comm[pid] figure`.
fn proc_alert<F>(engine: &Engine, procs: &[Proc<F>], ev: &Event, elapsed: f64) -> Alert {
    let n = PROC_FIGURES.len();
    let p = &procs[ev.index / n];
    let mut name = p.label();
    let _ = name.push(' ');
    let _ = name.push_str(PROC_FIGURES[ev.index % n]);
    let mut a = alert(engine, ev, Source::Process, name.as_bytes(), Severity::Leak, elapsed);
    a.bytes = proc_figure(&p.cur, ev.index % n);
    a
}

/// The parts of an alert every source shares.
fn alert(engine: &Engine, ev: &Event, source: Source, name: &[u8], severity: Severity, elapsed: f64) -> Alert {
    let mut xs = [0i64; TREND_SLOTS];
    let n = engine.window(ev.index, &mut xs);
    Alert {
        source,
        name: Name::new(name).0,
        state: ev.change,
        severity,
        reclaimable: false,
        growth_bytes: ev.j.growth,
        rate_bytes_per_s: ev.j.rate,
        window_secs: engine.policy.window_secs,
        span_secs: ev.j.span_secs,
        growth_objs: None,
        bytes: ev.j.last,
        objsize: 0,
        z: ev.j.z,
        suspect_secs: ev.suspect_secs,
        elapsed_secs: elapsed,
        gone: ev.gone,
        reclaim: Reclaim::Unchecked,
        spark: Spark::of(&xs[..n], SPARK_COLS),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn reclaimable_names_follow_the_kernels_flags() {
        for n in ["dentry", "inode_cache", "ext4_inode_cache", "proc_inode_cache", "sock_inode_cache", "btrfs_inode"] {
            assert!(is_reclaimable_name(n), "{n}");
        }
        for n in ["kmalloc-rcl-128", "radix_tree_node", "buffer_head", "xfs_inode"] {
            assert!(is_reclaimable_name(n), "{n}");
        }
        for n in ["shmem_inode_cache", "kmalloc-128", "task_struct", "jbd2_inode", "inotify_inode_mark", "filp"] {
            assert!(!is_reclaimable_name(n), "{n}");
        }
    }

    #[test]
    fn sparkline_takes_the_lowest_of_each_column() {
        let xs: Vec<i64> = (0..32).collect();
        let s = Spark::of(&xs, 8);
        assert_eq!(s.levels(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        let flat = [9i64; 5];
        assert_eq!(Spark::of(&flat, 8).levels(), &[0, 0, 0, 0, 0]);
        assert_eq!(Spark::of(&[], 8).len, 0);
    }
}

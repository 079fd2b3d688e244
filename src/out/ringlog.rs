//! What `watch --log FILE` and `run --log FILE` keep in the ring log (the file format is
//! [`crate::ring`]'s): one JSON object per record, as `--json` would print it.
//!
//! - `start` and `stop`, every alert, kmemleak groups, process events;
//! - a compact `sample` every `--log-every` seconds: the totals a watch line shows, their
//!   change since the sample logged before, and the caches that moved most in that time;
//! - `oom`: the kernel's out-of-memory report, copied from /dev/kmsg as it is printed, then
//!   a sample — the board may be dead a second later.
//!
//! Flash wears, so the log is flushed (`fdatasync`) after a sample's alerts, after each
//! piece of an OOM report and at the stop, and otherwise at most every `--sync-secs` when
//! something was written — never per sample. A storage fault (ENOSPC, EIO, EROFS, EDQUOT)
//! is told once on stderr; alerts go on on the console; each later record tries again,
//! a log that could not be opened is tried again every `--sync-secs`, and the first record
//! that gets through is a note saying how many were lost.

use super::{jsonread, note, Json, Line};
use crate::figures::{movers, FIGURES};
use crate::kmsg;
use crate::limits::{MAX_CACHES, OOM_MAX_LINES, OOM_RECORD_BYTES};
use crate::ring::{Kind, Ring};
use crate::sys::Errno;
use crate::tables::Tables;
use crate::verdict::Alert;

/// What `--log`, `--log-size`, `--log-every` and `--sync-secs` ask for.
#[derive(Clone, Debug, PartialEq)]
pub struct LogOpts {
    /// The ring file.
    pub path: crate::arg::Arg,
    /// Its size when kleak creates it.
    pub size: u64,
    /// Seconds between logged samples (0: every sample).
    pub every_secs: f64,
    /// Seconds between flushes at most, when only samples were written.
    pub sync_secs: f64,
}

impl LogOpts {
    /// Default size: 256 KiB hold about 800 samples (13 hours at the default pace).
    pub const SIZE: u64 = 256 * 1024;
    /// Default pace of logged samples: once a minute.
    pub const EVERY_SECS: f64 = 60.0;
    /// Default time between flushes of samples: 5 minutes (12 an hour).
    pub const SYNC_SECS: f64 = 300.0;
}

/// Seconds after an OOM line in which the kernel's next lines still belong to its report.
const OOM_QUIET_SECS: f64 = 2.0;

/// True for the errors of storage that may come back: kleak waits and tries again.
pub fn is_storage_fault(e: Errno) -> bool {
    matches!(e.0, libc::ENOSPC | libc::EIO | libc::EROFS | libc::EDQUOT)
}

/// The ring log of one command.
pub struct RingLog {
    opts: LogOpts,
    ring: Option<Ring>,
    retry_at: f64,
    fault: Option<Errno>,
    /// Records lost to storage faults since the log was opened (the one count stderr, the
    /// summary, the `stop` record and `kleak log` all give).
    pub lost: u64,
    /// [`RingLog::lost`] when the current fault began.
    lost_before_fault: u64,
    sync_now: bool,
    dirty: bool,
    synced_at: f64,
    next_sample: f64,
    /// Bytes of each cache when the latest sample was logged.
    logged: Vec<i64>,
    logged_totals: [i64; FIGURES.len()],
    logged_at: f64,
    /// Samples taken when the latest sample was logged (0: none logged yet).
    logged_samples: u32,
    oom_until: f64,
    oom_lines: u32,
    oom_buf: heapless::Vec<u8, OOM_RECORD_BYTES>,
    /// Records written.
    pub records: u64,
    /// Flushes done.
    pub syncs: u64,
    /// OOM reports copied.
    pub ooms: u32,
}

/// What one look at the kernel log found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelLines {
    /// Lines of OOM reports copied into the log.
    pub copied: u32,
    /// A new OOM report began.
    pub new_report: bool,
}

impl RingLog {
    /// Opens (or creates) the ring. A storage fault is told and tried again later; other
    /// errors (no such directory, permission, a file that is not a ring) are returned.
    pub fn open(opts: LogOpts, now: f64) -> Result<RingLog, Errno> {
        let mut log = RingLog {
            ring: None,
            retry_at: now + opts.sync_secs,
            fault: None,
            lost: 0,
            lost_before_fault: 0,
            sync_now: false,
            dirty: false,
            synced_at: now,
            next_sample: now,
            logged: vec![0; MAX_CACHES],
            logged_totals: [0; FIGURES.len()],
            logged_at: now,
            logged_samples: 0,
            oom_until: f64::NEG_INFINITY,
            oom_lines: 0,
            oom_buf: heapless::Vec::new(),
            records: 0,
            syncs: 0,
            ooms: 0,
            opts,
        };
        match Ring::open(&log.opts.path, log.opts.size) {
            Ok(r) => {
                if r.size() != log.opts.size.max(crate::ring::MIN_SIZE) {
                    note(format_args!(
                        "log {}: continuing a ring of {} bytes (--log-size is for new files)",
                        log.opts.path,
                        r.size()
                    ));
                }
                log.ring = Some(r);
            }
            Err(e) if is_storage_fault(e) => log.fail(e),
            Err(e) => return Err(e),
        }
        Ok(log)
    }

    /// The options it was opened with.
    pub fn opts(&self) -> &LogOpts {
        &self.opts
    }

    fn fail(&mut self, e: Errno) {
        if self.fault.is_none() {
            self.lost_before_fault = self.lost;
            note(format_args!("log {}: {e}; alerts stay on the console, the log is tried again later", self.opts.path));
        }
        self.fault = Some(e);
    }

    /// Appends one record; on a storage fault the record is counted as lost.
    pub fn append(&mut self, kind: Kind, payload: &[u8], now: f64) {
        if self.ring.is_none() {
            if now < self.retry_at {
                self.lost += 1;
                return;
            }
            self.retry_at = now + self.opts.sync_secs;
            match Ring::open(&self.opts.path, self.opts.size) {
                Ok(r) => self.ring = Some(r),
                Err(e) => {
                    self.fail(e);
                    self.lost += 1;
                    return;
                }
            }
        }
        let Some(ring) = self.ring.as_mut() else { return };
        let mut r = Ok(0);
        if let Some(e) = self.fault {
            // After a fault, the first record that gets through says what was lost.
            let lost = self.lost - self.lost_before_fault;
            let mut l = Line::default();
            l.json("note").str("note", "storage fault").str("error", e.name()).u64("records_lost", lost).end();
            r = ring.append(Kind::Note, l.as_bytes());
            if r.is_ok() {
                note(format_args!("log {}: writing again; {lost} records lost", self.opts.path));
                self.fault = None;
                self.records += 1;
            }
        }
        if let Err(e) = r.and_then(|_| ring.append(kind, payload)) {
            self.fail(e);
            self.lost += 1;
            return;
        }
        self.records += 1;
        self.dirty = true;
    }

    /// Appends a record whose JSON object `f` fills in after `{"kind":"<name>"`.
    pub fn json(&mut self, kind: Kind, name: &str, now: f64, f: &mut dyn FnMut(&mut Json<'_>)) {
        let mut l = Line::default();
        let mut j = l.json(name);
        f(&mut j);
        j.end();
        self.append(kind, l.as_bytes(), now);
    }

    /// Appends an alert (its JSON object); the log is flushed at the end of the sample.
    pub fn alert(&mut self, a: &Alert, now: f64) {
        let mut l = Line::default();
        super::alert::json(a, &mut l);
        self.append(Kind::Alert, l.as_bytes(), now);
        self.sync_now = true;
    }

    /// Flushes the log if alerts were written, or `--sync-secs` passed since the last
    /// flush and something was written. Call once per sample.
    pub fn end_sample(&mut self, now: f64) {
        if self.sync_now || (self.dirty && now - self.synced_at >= self.opts.sync_secs) {
            self.sync(now);
        }
    }

    /// Flushes what was written (`fdatasync`).
    pub fn sync(&mut self, now: f64) {
        self.sync_now = false;
        let Some(ring) = self.ring.as_mut().filter(|_| self.dirty) else { return };
        self.synced_at = now;
        match ring.sync() {
            Ok(()) => {
                self.dirty = false;
                self.syncs += 1;
            }
            Err(e) => self.fail(e),
        }
    }

    /// True when a sample is due in the log (`--log-every`).
    pub fn sample_due(&self, now: f64) -> bool {
        now >= self.next_sample
    }

    /// Logs a compact sample of `t` taken at `now`: the watch line's totals (and
    /// `MemAvailable`), their change since the sample logged before (since start for the
    /// first), the caches that moved most in that time; `extra` adds fields (processes).
    #[inline(never)]
    pub fn sample(&mut self, t: &Tables, now: f64, extra: &mut dyn FnMut(&mut Json<'_>)) {
        self.next_sample = now + self.opts.every_secs;
        let first = self.logged_samples == 0;
        let entries = t.slab.entries();
        let before = |i: usize, logged: &[i64]| {
            let e = &entries[i];
            if first || e.presence.first_sample >= self.logged_samples {
                e.base.bytes() as i64
            } else {
                logged[i]
            }
        };
        let movers = movers(entries.len(), |i| entries[i].cur.bytes() as i64 - before(i, &self.logged));
        let mut l = Line::default();
        let mut j = l.json("sample");
        j.u64("seq", t.samples as u64).f64("elapsed_secs", t.times.elapsed()).f64("span_secs", now - self.logged_at);
        for (k, (_, key, dkey)) in FIGURES.iter().enumerate() {
            if let Some(g) = t.meminfo.get(key) {
                let was = if first { g.base } else { self.logged_totals[k] };
                j.i64(key, g.cur).i64(dkey, g.cur - was);
                self.logged_totals[k] = g.cur;
            }
        }
        j.open("movers");
        for &(i, d) in &movers {
            j.i64(entries[i as usize].name.as_str(), d);
        }
        j.close();
        extra(&mut j);
        j.end();
        for (slot, e) in self.logged.iter_mut().zip(entries) {
            *slot = e.cur.bytes() as i64;
        }
        self.logged_at = now;
        self.logged_samples = t.samples;
        self.append(Kind::Sample, l.as_bytes(), now);
    }

    /// Takes what the kernel logged since the last look: `drain` hands each line's text
    /// to the function it is given (the engine reads /dev/kmsg: [`Kmsg::drain`]). An OOM
    /// report (from its first line to [`OOM_MAX_LINES`] or two quiet seconds) is copied
    /// into the log as it comes and flushed at once; the caller then logs a sample
    /// (`new_report`).
    ///
    /// [`Kmsg::drain`]: crate::kmsg::Kmsg::drain
    pub fn kernel(&mut self, now: f64, drain: impl FnOnce(&mut dyn FnMut(&[u8]))) -> KernelLines {
        let mut found = KernelLines::default();
        drain(&mut |text| {
            let in_report = now < self.oom_until;
            if !in_report && !kmsg::is_oom(text) {
                return;
            }
            if !in_report {
                self.ooms += 1;
                self.oom_lines = 0;
                found.new_report = true;
                note(format_args!("kernel out-of-memory report: copying it to the log {}", self.opts.path));
            }
            self.oom_until = now + OOM_QUIET_SECS;
            if self.oom_lines >= OOM_MAX_LINES {
                return;
            }
            self.oom_lines += 1;
            found.copied += 1;
            let text = &text[..text.len().min(OOM_RECORD_BYTES - 1)];
            if self.oom_buf.len() + text.len() + 1 > OOM_RECORD_BYTES {
                self.oom_record(now);
            }
            let _ = self.oom_buf.extend_from_slice(text);
            let _ = self.oom_buf.push(b'\n');
        });
        if found.copied > 0 {
            self.oom_record(now);
            self.sync_now = true;
        }
        found
    }

    /// Writes the kernel lines gathered so far as one `oom` record.
    fn oom_record(&mut self, now: f64) {
        if self.oom_buf.is_empty() {
            return;
        }
        let mut l = Line::default();
        let mut j = l.json("oom");
        j.u64("report", self.ooms as u64).list("lines");
        for line in self.oom_buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            j.item_str(core::str::from_utf8(line).unwrap_or("(not UTF-8)"));
        }
        j.close_list().end();
        self.oom_buf.clear();
        self.append(Kind::Oom, l.as_bytes(), now);
    }
}

/// A logged sample read back: what [`RingLog::sample`] wrote.
#[derive(Clone, Copy, Debug)]
pub struct LoggedSample<'a> {
    json: &'a str,
}

impl<'a> LoggedSample<'a> {
    /// The sample in a `sample` record's payload.
    pub fn new(json: &'a str) -> Self {
        LoggedSample { json }
    }

    /// Seconds since the run started.
    pub fn elapsed_secs(&self) -> f64 {
        jsonread::num(self.json, "elapsed_secs")
    }

    /// Seconds since the sample logged before.
    pub fn span_secs(&self) -> f64 {
        jsonread::num(self.json, "span_secs")
    }

    /// A meminfo figure of [`FIGURES`] by its key: its value and its change since the
    /// sample logged before, if the sample holds it.
    pub fn figure(&self, key: &str, delta_key: &str) -> Option<(i64, i64)> {
        Some((self.value(key)?, jsonread::num(self.json, delta_key) as i64))
    }

    /// A meminfo figure's value by its key, if the sample holds it.
    pub fn value(&self, key: &str) -> Option<i64> {
        jsonread::field(self.json, key)?;
        Some(jsonread::num(self.json, key) as i64)
    }

    /// The caches that moved most (name, change in bytes).
    pub fn movers(&self) -> impl Iterator<Item = (&'a str, i64)> {
        named(self.json, "movers")
    }

    /// The shown processes' RSS (`comm[pid]`, bytes), if any were logged.
    pub fn rss(&self) -> impl Iterator<Item = (&'a str, i64)> {
        named(self.json, "rss")
    }
}

/// The `"name":bytes` members of `key`'s object.
fn named<'a>(json: &'a str, key: &str) -> impl Iterator<Item = (&'a str, i64)> {
    jsonread::members(json, key).map(|m| {
        let (name, v) = m.rsplit_once(':').unwrap_or((m, "0"));
        (name.trim_matches('"'), crate::parse::parse_i64(v.as_bytes()).unwrap_or(0))
    })
}

/// An `oom` record read back: the report's number and its kernel lines, raw (JSON
/// strings: [`unescape`] shows one).
pub fn oom_record(json: &str) -> (&str, impl Iterator<Item = &str>) {
    (jsonread::text(json, "report"), jsonread::members(json, "lines"))
}

/// One kernel line of an `oom` record as it was printed.
pub fn unescape(raw: &str, w: &mut impl core::fmt::Write) {
    let mut esc = false;
    for c in raw.trim_matches('"').chars() {
        if !core::mem::take(&mut esc) && c == '\\' {
            esc = true;
        } else {
            let _ = w.write_char(c);
        }
    }
}

/// Records a `note` record says the writer lost to storage faults (0 for other notes).
pub fn lost_records(note: &str) -> u64 {
    if note.contains("\"storage fault\"") {
        jsonread::num(note, "records_lost") as u64
    } else {
        0
    }
}

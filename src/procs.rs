//! Processes: the memory footprint of user processes over time, sampled like the slab
//! caches — a fixed table, base/prev/cur per entry — so a growing daemon is judged by the
//! same engine as a growing cache.
//!
//! Two ways to choose processes: named PIDs (`--pid`), or every user process found by
//! listing /proc (getdents64) each sample (`--procs N` shows the N that grew most). Each
//! tracked process keeps its `/proc/PID/statm` open and is re-read with `pread`. Kernel
//! threads are skipped (PF_KTHREAD). A process that exits is reported once; a PID that a
//! new process reuses is told apart by its start time (`/proc/PID/stat` field 22). A named
//! PID also keeps `/proc/PID/comm` open: its name follows `exec` ("pid 1234 is now
//! python3"), one more `pread` per named process and sample.

use crate::limits::{MAX_KTHREADS, MAX_PIDS_LISTED, MAX_PROCS, MAX_WATCH_PIDS, PROC_EVENTS, PROC_READ_BYTES};
use crate::parse::parse_u64;
use crate::parse::proc_pid::{self, Statm};
use crate::sample::{ReadAt, Root};
use crate::sys::Errno;
use crate::table::Name;
use core::fmt::Write;

/// A process's footprint in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Resident set (statm `resident`, VmRSS).
    pub rss: i64,
    /// Virtual size (statm `size`, VmSize).
    pub vm: i64,
    /// Data and stack (statm `data`, VmData + VmStk).
    pub data: i64,
}

impl Footprint {
    fn from(s: &Statm, page_size: u64) -> Self {
        let b = |pages: u64| pages.saturating_mul(page_size).min(i64::MAX as u64) as i64;
        Footprint { rss: b(s.resident), vm: b(s.size), data: b(s.data) }
    }
}

/// One tracked process.
#[derive(Debug)]
pub struct Proc<F> {
    /// Process id.
    pub pid: u32,
    /// Start time (clock ticks since boot): tells a reused PID from the process before.
    pub start: u64,
    /// Command name.
    pub comm: Name<16>,
    /// Footprint when first seen.
    pub base: Footprint,
    /// Footprint one sample before.
    pub prev: Footprint,
    /// Latest footprint.
    pub cur: Footprint,
    /// Number of the sample that first showed it.
    pub first_sample: u32,
    /// Still running (as of the latest sample).
    pub alive: bool,
    statm: Option<F>,
    /// `/proc/PID/comm`, held open for named PIDs (their name follows `exec`).
    comm_file: Option<F>,
    seen: bool,
}

impl<F> Proc<F> {
    /// `comm[pid]`, how a process is named in lines and alerts.
    pub fn label(&self) -> heapless::String<40> {
        let mut s = heapless::String::new();
        let _ = write!(s, "{}[{}]", self.comm.as_str(), self.pid);
        s
    }
}

/// Something worth one line: reported once, when it happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A tracked process exited.
    Exited {
        /// Its PID.
        pid: u32,
        /// Its command name.
        comm: Name<16>,
    },
    /// A PID kleak tracked now belongs to a new process.
    Reused {
        /// The PID.
        pid: u32,
        /// The process that had it.
        old: Name<16>,
        /// The process that has it now.
        new: Name<16>,
    },
    /// A named process ran `exec`: same PID and start time, a new program.
    Renamed {
        /// The PID.
        pid: u32,
        /// Its name before.
        old: Name<16>,
        /// Its name now.
        new: Name<16>,
    },
    /// A PID named with `--pid` does not exist (or is a kernel thread).
    NotFound {
        /// The PID.
        pid: u32,
    },
}

/// The table of tracked processes.
pub struct Procs<R: Root> {
    root: R,
    entries: Vec<Proc<R::File>>,
    wanted: heapless::Vec<u32, MAX_WATCH_PIDS>,
    kthreads: heapless::Vec<u32, MAX_KTHREADS>,
    missing_reported: heapless::Vec<u32, MAX_WATCH_PIDS>,
    sample: u32,
    buf: [u8; PROC_READ_BYTES],
    /// Events of the latest sample (drain them with [`Procs::take_events`]).
    events: heapless::Vec<Event, PROC_EVENTS>,
    /// Events that did not fit in one sample.
    pub events_dropped: u32,
    /// User processes found but not tracked in the latest sample: table full.
    pub untracked: u32,
    /// PIDs of the latest scan of /proc past [`MAX_PIDS_LISTED`]: not looked at (the
    /// processes already tracked are still read).
    pub unlisted: u32,
}

impl<R: Root> Procs<R> {
    /// Tracks the processes `pids`, or every user process when `pids` is empty.
    pub fn new(root: R, pids: &[u32]) -> Self {
        let mut wanted = heapless::Vec::new();
        for &p in pids.iter().take(MAX_WATCH_PIDS) {
            let _ = wanted.push(p);
        }
        Procs {
            root,
            entries: Vec::with_capacity(MAX_PROCS),
            wanted,
            kthreads: heapless::Vec::new(),
            missing_reported: heapless::Vec::new(),
            sample: 0,
            buf: [0; 1024],
            events: heapless::Vec::new(),
            events_dropped: 0,
            untracked: 0,
            unlisted: 0,
        }
    }

    /// The tracked processes (running and exited).
    pub fn entries(&self) -> &[Proc<R::File>] {
        &self.entries
    }

    /// Samples taken so far; the latest is number `samples() - 1`
    /// ([`Proc::first_sample`] counts the same way).
    pub fn samples(&self) -> u32 {
        self.sample
    }

    /// True when following named PIDs, false when scanning every user process.
    pub fn named(&self) -> bool {
        !self.wanted.is_empty()
    }

    /// The events of the latest sample, oldest first.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    fn event(&mut self, e: Event) {
        if self.events.push(e).is_err() {
            self.events_dropped += 1;
        }
    }

    /// Takes a sample: re-reads every tracked process, finds new ones, notices exits.
    pub fn sample(&mut self, page_size: u64) {
        self.events.clear();
        self.untracked = 0;
        self.unlisted = 0;
        for e in self.entries.iter_mut() {
            e.prev = e.cur;
            e.seen = false;
        }
        if self.wanted.is_empty() {
            self.scan(page_size);
        } else {
            for i in 0..self.wanted.len() {
                let pid = self.wanted[i];
                self.visit(pid, page_size);
            }
        }
        // Tracked processes not seen this sample have exited.
        for i in 0..self.entries.len() {
            let e = &mut self.entries[i];
            if e.alive && !e.seen {
                e.alive = false;
                e.statm = None;
                e.comm_file = None;
                let ev = Event::Exited { pid: e.pid, comm: e.comm };
                self.event(ev);
            }
        }
        self.sample += 1;
    }

    fn scan(&mut self, page_size: u64) {
        let mut pids: heapless::Vec<u32, MAX_PIDS_LISTED> = heapless::Vec::new();
        let mut unlisted = 0;
        let _ = self.root.list("/proc", &mut |name| {
            if let Some(pid) = parse_u64(name).and_then(|p| u32::try_from(p).ok()) {
                if pids.push(pid).is_err() {
                    unlisted += 1;
                }
            }
        });
        // Forget kernel threads that are gone, so a new process with their PID is seen.
        self.kthreads.retain(|k| pids.contains(k));
        for &pid in &pids {
            if !self.kthreads.contains(&pid) {
                self.visit(pid, page_size);
            }
        }
        self.unlisted = unlisted;
        if unlisted > 0 {
            // The list was cut: a tracked process past it has not exited.
            for i in 0..self.entries.len() {
                let (pid, look) = (self.entries[i].pid, self.entries[i].alive && !self.entries[i].seen);
                if look {
                    self.visit(pid, page_size);
                }
            }
        }
    }

    /// Reads process `pid`: through its open statm if tracked, else starts tracking it.
    fn visit(&mut self, pid: u32, page_size: u64) {
        if let Some(i) = self.entries.iter().position(|e| e.pid == pid && e.alive) {
            if let Some(s) = self.read_statm(i) {
                // A statm that still reads could belong to a new process only if the old
                // one exited and its PID was reused between two samples; the start time
                // tells (checked when the read fails or when the footprint drops to zero).
                let e = &mut self.entries[i];
                e.cur = Footprint::from(&s, page_size);
                e.seen = true;
                self.check_name(i);
                return;
            }
            // The open statm no longer reads: the process exited. A process now using the
            // PID (read below) is a new one.
        }
        self.track(pid, page_size);
    }

    /// A named process's name, re-read through its open `comm`: an `exec` changes it.
    fn check_name(&mut self, i: usize) {
        let Some(f) = self.entries[i].comm_file.as_mut() else { return };
        let Ok(n) = f.read_at(&mut self.buf, 0) else { return };
        let name = crate::parse::trim(&self.buf[..n]);
        let e = &mut self.entries[i];
        if name.is_empty() || e.comm.matches(name) {
            return;
        }
        let (pid, old, new) = (e.pid, e.comm, Name::new(name).0);
        e.comm = new;
        self.event(Event::Renamed { pid, old, new });
    }

    fn read_statm(&mut self, i: usize) -> Option<Statm> {
        let f = self.entries[i].statm.as_mut()?;
        let n = f.read_at(&mut self.buf, 0).ok()?;
        let s = proc_pid::statm(crate::parse::trim(&self.buf[..n]))?;
        // A zombie (or a kernel thread) has no memory left.
        (s.size > 0).then_some(s)
    }

    fn track(&mut self, pid: u32, page_size: u64) {
        let mut path: heapless::String<32> = heapless::String::new();
        let _ = write!(path, "/proc/{pid}/stat");
        let Ok(n) = crate::sample::read_small(&self.root, &path, &mut self.buf) else {
            self.not_found(pid);
            return;
        };
        let Some(st) = proc_pid::stat(&self.buf[..n]) else {
            self.not_found(pid);
            return;
        };
        let (start, kthread) = (st.starttime, st.kernel_thread());
        let (comm, _) = Name::<16>::new(st.comm);
        if kthread {
            let _ = self.kthreads.push(pid);
            self.not_found(pid);
            return;
        }
        path.clear();
        let _ = write!(path, "/proc/{pid}/statm");
        let statm = match self.root.open(&path) {
            Ok(f) => f,
            Err(Errno::ENOENT) | Err(Errno::ESRCH) => return self.not_found(pid),
            Err(_) => return,
        };
        if let Some(i) = self.entries.iter().position(|e| e.pid == pid && e.alive) {
            if self.entries[i].start == start {
                // The same process; its statm did not read once: take the new descriptor.
                self.entries[i].statm = Some(statm);
                if let Some(s) = self.read_statm(i) {
                    self.entries[i].cur = Footprint::from(&s, page_size);
                    self.entries[i].seen = true;
                }
                return;
            }
            // A new process has the PID: the one kleak tracked exited in between.
            let old = self.entries[i].comm;
            self.entries[i].alive = false;
            self.entries[i].statm = None;
            self.entries[i].comm_file = None;
            self.event(Event::Reused { pid, old, new: comm });
        }
        let Some(slot) = self.slot(pid) else {
            self.untracked += 1;
            return;
        };
        let comm_file = match self.wanted.contains(&pid) {
            true => {
                path.clear();
                let _ = write!(path, "/proc/{pid}/comm");
                self.root.open(&path).ok()
            }
            false => None,
        };
        self.entries[slot] = Proc {
            pid,
            start,
            comm,
            base: Footprint::default(),
            prev: Footprint::default(),
            cur: Footprint::default(),
            first_sample: self.sample,
            alive: true,
            statm: Some(statm),
            comm_file,
            seen: true,
        };
        match self.read_statm(slot) {
            Some(s) => {
                let e = &mut self.entries[slot];
                e.cur = Footprint::from(&s, page_size);
                e.base = e.cur;
                e.prev = e.cur;
            }
            None => {
                let e = &mut self.entries[slot];
                e.alive = false;
                e.statm = None;
            }
        }
    }

    /// A slot for a new process: the old entry of the same PID, a new entry, or the entry
    /// of a process whose exit was already reported (table full).
    fn slot(&mut self, pid: u32) -> Option<usize> {
        if let Some(i) = self.entries.iter().position(|e| e.pid == pid && !e.alive) {
            return Some(i);
        }
        if self.entries.len() < MAX_PROCS {
            self.entries.push(Proc {
                pid,
                start: 0,
                comm: Name::new(b"").0,
                base: Footprint::default(),
                prev: Footprint::default(),
                cur: Footprint::default(),
                first_sample: self.sample,
                alive: false,
                statm: None,
                comm_file: None,
                seen: false,
            });
            return Some(self.entries.len() - 1);
        }
        self.entries.iter().position(|e| !e.alive && !e.seen)
    }

    /// A named PID that kleak never tracked (a tracked one that vanishes has exited).
    fn not_found(&mut self, pid: u32) {
        let known = self.entries.iter().any(|e| e.pid == pid);
        if !known && self.wanted.contains(&pid) && !self.missing_reported.contains(&pid) {
            let _ = self.missing_reported.push(pid);
            self.event(Event::NotFound { pid });
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::fake::FakeRoot;

    fn spawn(root: &FakeRoot, pid: u32, comm: &str, start: u64, rss_pages: u64) {
        let stat = format!("{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0");
        root.set(&format!("/proc/{pid}/stat"), stat.as_bytes());
        root.set(
            &format!("/proc/{pid}/statm"),
            format!("{} {rss_pages} 10 5 0 {} 0", rss_pages * 2, rss_pages).as_bytes(),
        );
    }

    fn kill(root: &FakeRoot, pid: u32) {
        root.file(&format!("/proc/{pid}/statm")).borrow_mut().faults.read_error = Some(Errno::ESRCH);
        root.remove(&format!("/proc/{pid}/stat"));
        root.remove(&format!("/proc/{pid}/statm"));
    }

    #[test]
    fn tracks_footprints_exits_and_reused_pids() {
        let root = FakeRoot::new();
        spawn(&root, 100, "sshd", 50, 10);
        spawn(&root, 200, "leaky daemon", 60, 20);
        root.set("/proc/2/stat", b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0");
        root.set("/proc/2/statm", b"0 0 0 0 0 0 0");
        root.set("/proc/meminfo", b"MemTotal: 1 kB\n");
        let mut p = Procs::new(root.clone(), &[]);
        p.sample(4096);
        assert_eq!(p.entries().len(), 2, "the kernel thread is skipped");
        let d = p.entries().iter().find(|e| e.pid == 200).unwrap();
        assert_eq!((d.comm.as_str(), d.cur.rss), ("leaky daemon", 20 * 4096));
        // The daemon grows; sshd exits.
        spawn(&root, 200, "leaky daemon", 60, 30);
        kill(&root, 100);
        p.sample(4096);
        let d = p.entries().iter().find(|e| e.pid == 200).unwrap();
        assert_eq!((d.base.rss, d.prev.rss, d.cur.rss), (20 * 4096, 20 * 4096, 30 * 4096));
        assert_eq!(p.events(), &[Event::Exited { pid: 100, comm: Name::new(b"sshd").0 }]);
        p.sample(4096);
        assert!(p.events().is_empty(), "an exit is reported once");
        // PID 200 dies and a new process gets PID 200 between two samples.
        kill(&root, 200);
        spawn(&root, 200, "newcomer", 99, 5);
        p.sample(4096);
        let ev = p.events();
        assert!(
            ev.contains(&Event::Reused { pid: 200, old: Name::new(b"leaky daemon").0, new: Name::new(b"newcomer").0 }),
            "{ev:?}"
        );
        let n = p.entries().iter().find(|e| e.pid == 200 && e.alive).unwrap();
        assert_eq!((n.comm.as_str(), n.base.rss), ("newcomer", 5 * 4096));
    }

    #[test]
    fn a_named_process_that_runs_exec_is_renamed_once() {
        let root = FakeRoot::new();
        spawn(&root, 15837, "sh", 40, 3);
        root.set("/proc/15837/comm", b"sh\n");
        let mut p = Procs::new(root.clone(), &[15837]);
        p.sample(4096);
        assert!(p.events().is_empty());
        // exec: same PID, same start time; the kernel changes comm.
        spawn(&root, 15837, "python3", 40, 900);
        root.set("/proc/15837/comm", b"python3\n");
        p.sample(4096);
        let (old, new) = (Name::new(b"sh").0, Name::new(b"python3").0);
        assert_eq!(p.events(), &[Event::Renamed { pid: 15837, old, new }]);
        let e = &p.entries()[0];
        assert_eq!((e.label().as_str(), e.alive, e.base.rss), ("python3[15837]", true, 3 * 4096));
        p.sample(4096);
        assert!(p.events().is_empty(), "renamed once");
    }

    #[test]
    fn named_pids_that_do_not_exist_are_reported_once() {
        let root = FakeRoot::new();
        spawn(&root, 7, "init", 1, 3);
        let mut p = Procs::new(root, &[7, 99999]);
        p.sample(4096);
        assert_eq!(p.events(), &[Event::NotFound { pid: 99999 }]);
        assert_eq!(p.entries().len(), 1);
        p.sample(4096);
        assert!(p.events().is_empty());
    }
}

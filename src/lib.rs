//! kleak finds kernel memory leaks from user space, on a board with a serial console.
//!
//! # How bytes flow
//!
//! ```text
//!  /proc/slabinfo ─┐                                     ┌─ tables (all, diff, top)
//!  /proc/vmstat   ─┼─ sys ─ sample ─ parse ─ table ──────┼─ watch lines, JSON
//!  /proc/meminfo  ─┘  pread   read_lines  records  base/ │
//!                                           prev/cur   trend ─ verdict ─ alerts
//! ```
//!
//! - [`sys`] is the only module that talks to the kernel and the only `unsafe` code: open
//!   once, `pread` from offset 0 into a caller's buffer, clocks, signals, writes.
//! - [`sample`] re-reads each file into one fixed buffer, piece by piece, and hands whole
//!   lines to the parsers; [`sample::Root`] is where files come from (the live system, a
//!   `--root` tree, a fault injector in tests).
//! - [`parse`] turns a line into a record that borrows from the buffer; a line that makes
//!   no sense is counted, never a panic.
//! - [`table`] holds fixed-capacity tables; each entry keeps its first, previous and
//!   current values, so a diff is a subtraction and needs no second copy.
//! - [`trend`] keeps, per entry, a bounded ring of low-water marks over the window and
//!   judges it (Mann–Kendall, Theil–Sen, churn guards, hysteresis); it knows nothing of slab.
//! - [`verdict`] feeds it slab caches and kernel-memory figures, knows what is reclaimable,
//!   and turns its events into [`verdict::Alert`]s ([`out::alert`] renders them).
//! - [`figures`] defines every derived figure once (cache bytes, slab memory, the
//!   `Unaccounted` remainder of meminfo).
//! - [`out`] formats lines into a fixed buffer and writes each one whole; its exports
//!   ([`out::export`]: CSV rows, the Prometheus textfile) and the ring log's records
//!   ([`out::ringlog`]) are built the same way. `watch --listen` serves that Prometheus body
//!   over HTTP ([`out::http`]: no thread; the wait between samples is one `poll` on the
//!   socket and the kernel log), and [`out::svg`] draws a ring log for `kleak plot`.
//!
//! Processes take the same road as caches: [`procs`] keeps each followed process's
//! `/proc/PID/statm` open and re-reads it with `pread` ([`parse::proc_pid`] parses it),
//! and [`verdict`] judges RSS, data and VmSize with a third trend engine. The ring log is
//! [`ring`] (the power-cut-safe file: whole records, CRC, scan) under [`out::ringlog`]
//! (what is kept, when it is flushed, storage faults); while logging, [`kmsg`] reads
//! /dev/kmsg without blocking so an OOM report reaches the ring at once.
//!
//! kmemleak's report takes the same road: [`kmemleak`] is its control file (commands, the
//! errors that mean "not mounted", "not built", "disabled", "not root") and the scan dance;
//! [`parse::kmemleak`] turns report lines into events that borrow the buffer; [`leaks`]
//! groups objects by allocation site in a fixed table ([`allocator`] says which frames
//! are the kernel's allocator, dropped before the site); [`modsyms`] names the raw
//! frames of modules that `kleak run`'s command loaded and unloaded.
//! `kleak doctor` also reads what the kernel was built with before debugfs is mounted:
//! [`kconfig`] takes /proc/config.gz, decoded by [`inflate`] (gzip in fixed memory), and
//! /proc/kallsyms.
//! - [`cmd`] holds one module per subcommand; [`cli`] parses arguments, which are bytes
//!   ([`arg`]: a path or a command's argument need not be UTF-8).
//!
//! `kleak trace` follows the same flow for a user-space program's heap: the preload
//! library (`trace/`, a second crate) writes text dumps and, when asked, a ring of every
//! call; [`parse::tracedump`] reads dumps line by line like a /proc file; [`trace`] is the
//! engine (finding the program and library, loading dumps, reading the allocation log,
//! signalling a running process); [`elf`] names the call sites from the symbol tables of
//! the files the process had mapped and [`dwarf`] gives their source lines, both read in
//! pieces; [`cmd::trace`] prints them.
//!
//! A module never reaches back up the chain. Capacities live in [`limits`]. Nothing
//! allocates once sampling has started: tables and the read buffer are allocated once.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod allocator;
pub mod arg;
pub mod cli;
pub mod cmd;
pub mod dwarf;
pub mod elf;
pub mod fake;
pub mod figures;
pub mod harness;
pub mod inflate;
pub mod kconfig;
pub mod kmemleak;
pub mod kmsg;
pub mod leaks;
pub mod limits;
pub mod matcher;
pub mod modsyms;
pub mod out;
pub mod parse;
pub mod procs;
pub mod ring;
pub mod sample;
pub mod snapshot;
pub mod sys;
pub mod table;
pub mod trace;
pub mod trend;
pub mod verdict;

/// One test's own temporary directory, removed on drop: the integration tests' helper.
#[cfg(test)]
#[path = "../tests/common/tempdir.rs"]
#[allow(dead_code)]
pub(crate) mod tempdir;

use core::fmt;

/// kleak's exit codes, documented in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Exit {
    /// Done, nothing found.
    Ok = 0,
    /// A judgement found a leak or crossed a threshold.
    Leak = 1,
    /// Bad command line.
    Usage = 2,
    /// The environment lacks something kleak needs (file, kernel option, permission).
    Env = 3,
    /// The command `kleak run` ran failed.
    CmdFailed = 4,
    /// `kleak run` was stopped (SIGINT, SIGTERM) before kmemleak's scans completed and
    /// nothing was found: the answer is unknown, not clean.
    Interrupted = 5,
}

/// An error that ends a command: what to print, and the exit code.
#[derive(Debug)]
pub struct Error {
    /// Exit code.
    pub exit: Exit,
    /// One line for the user, naming the problem and, where there is one, the fix.
    pub msg: String,
}

impl Error {
    /// A usage error (exit 2).
    pub fn usage(msg: impl fmt::Display) -> Error {
        Error { exit: Exit::Usage, msg: msg.to_string() }
    }
    /// An environment error (exit 3).
    pub fn env(msg: impl fmt::Display) -> Error {
        Error { exit: Exit::Env, msg: msg.to_string() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

//! kleak finds kernel memory leaks from user space, on a board with a serial console.
//!
//! # The layers
//!
//! Each layer uses only the layers above it; nothing reaches back up.
//!
//! ```text
//!  sys            sys.rs (the only unsafe) · arg.rs · sample.rs (Root, read_lines, Sampler)
//!   │             procs.rs · kmsg.rs · kmemleak.rs · ring.rs · snapshot.rs · fake.rs
//!   ▼
//!  parse          parse/ (slabinfo, vmstat, meminfo, proc_pid, kmemleak, tracedump)
//!   │             inflate.rs · kconfig.rs · elf.rs · dwarf.rs · modsyms.rs
//!   ▼
//!  table+figures  table.rs · tables.rs (Tables) · figures.rs (every derived figure once)
//!   │             matcher.rs · allocator.rs · leaks.rs (kmemleak groups)
//!   ▼
//!  trend/verdict  trend.rs · verdict.rs — pure: values in, alerts and requests out
//!   ▼
//!  engines        engine/ (watch, run, leaks): own the loop, do the I/O verdicts request;
//!   │             trace/ (kleak trace: program, dumps, allocation log, symbols, control)
//!   ▼
//!  out            out/ (lines, JSON, views, alerts, kmemleak groups, CSV and Prometheus,
//!   │             the ring log's records, HTTP, SVG)
//!   ▼
//!  cmd            cli.rs · cmd/: argh structs, a call into an engine, an exit code
//! ```
//!
//! - **sys**: [`sys`] talks to the kernel (open once, `pread` from offset 0 into a
//!   caller's buffer, clocks, signals, writes). [`sample`] re-reads each /proc file into
//!   one fixed buffer and hands whole lines on; [`sample::Root`] is where files come from
//!   (the live system, a `--root` tree, [`fake`]'s fault injector). [`procs`] keeps each
//!   followed process's statm open; [`kmsg`] reads /dev/kmsg without blocking;
//!   [`kmemleak`] is its control file and scan dance; [`ring`] is the power-cut-safe file
//!   of the ring log; [`snapshot`] the snapshot file.
//! - **parse**: [`parse`] turns a line into a record that borrows from the buffer; a line
//!   that makes no sense is counted, never a panic. [`inflate`] and [`kconfig`] read
//!   /proc/config.gz, [`elf`] symbol tables and [`dwarf`] line tables (`kleak trace`),
//!   [`modsyms`] the symbols of modules `kleak run`'s command loaded.
//! - **table + figures**: [`table`] holds fixed-capacity tables whose entries keep first,
//!   previous and current values, so a diff is a subtraction; [`tables::Tables`] holds one
//!   run's tables. [`figures`] defines every derived figure once (cache bytes, growth,
//!   movers, `Unaccounted`). [`leaks`] groups kmemleak's objects by allocation site
//!   ([`allocator`] says which frames are the allocator's); [`matcher`] is `--match`.
//! - **trend/verdict**: [`trend`] keeps a bounded ring of low-water marks per entry and
//!   judges it (Mann–Kendall, Theil–Sen, churn guards, hysteresis); [`verdict`] feeds it
//!   caches, kernel-memory figures and processes and turns its events into
//!   [`verdict::Alert`]s. Neither does I/O: the reclaimable flag comes in with the table
//!   entry, and `--check-reclaim`'s drop_caches is a request the engine carries out.
//! - **engines**: [`engine::watch::Watch`] samples, judges, prints, logs, exports and
//!   serves; [`engine::run`] runs a command between samples and kmemleak's scans;
//!   [`engine::leaks::LeakWatch`] paces kmemleak's scans inside a watch.
//! - **out**: [`out`] formats lines into a fixed buffer and writes each one whole;
//!   [`out::alert`], [`out::view`], [`out::leaks`], [`out::export`] (CSV, Prometheus),
//!   [`out::ringlog`] (what the ring log keeps), [`out::http`] (`watch --listen`),
//!   [`out::svg`] (`kleak plot`).
//! - **cmd**: [`cli`] parses arguments (bytes: [`arg`]); each [`cmd`] module is an argh
//!   struct, its checks, a call and an exit code. No command imports another.
//!
//! # One sample, from `pread` to an alert line
//!
//! 1. [`engine::watch::Watch::step`] calls [`sample::Sampler::sample`], which for each
//!    file calls [`sample::read_lines`]: [`sys::File::pread`] fills the buffer from offset
//!    0, and each whole line goes to [`tables::Tables::known`] (a line unchanged since the
//!    sample before is skipped at the bytes by [`table::SlabTable::known`]) or
//!    [`tables::Tables::line`].
//! 2. [`tables::Tables::line`] hands the line to [`parse::slabinfo::SlabinfoParser::line`],
//!    whose record goes to [`table::SlabTable::update`]: `prev` ← `cur`, `cur` ← record.
//!    Then [`table::SlabTable::read_flags`] reads a new cache's sysfs reclaim flag once
//!    ([`sample::reclaim_account`]), and [`tables::Tables::end`] closes the sample.
//! 3. [`engine::watch::Watch::line`] prints the sample's line: [`figures::FIGURES`] from
//!    meminfo and the caches [`figures::movers`] picks, through [`out::Out::emit`].
//! 4. [`engine::watch::Watch::judge`] calls [`verdict::Verdicts::update`]: each cache's
//!    active bytes go to [`trend::Engine::feed`]; when a window closes,
//!    [`trend::Engine::judge`] returns an event that the verdicts turn into a
//!    [`verdict::Alert`] (reclaimable or not from [`verdict::is_reclaimable`]).
//! 5. The alert goes to [`out::alert::Batch::add`] and the ring log; the watch writes
//!    drop_caches if [`verdict::Verdicts::drop_caches_wanted`] says so; then
//!    [`out::alert::Batch::flush`] formats the alert line ([`out::alert::text`]) and
//!    [`out::Out::emit`] writes it whole with one `write(2)`.
//!
//! `kleak trace` follows the same flow for a user-space program's heap: the preload
//! library (`trace/`, a second crate) writes text dumps and, when asked, a ring of every
//! call; [`parse::tracedump`] reads dumps line by line like a /proc file; [`trace`] is the
//! engine (finding the program and library, loading dumps, reading the allocation log,
//! signalling a running process); [`elf`] names the call sites from the symbol tables of
//! the files the process had mapped and [`dwarf`] gives their source lines, both read in
//! pieces; [`cmd::trace`] prints them.
//!
//! Capacities live in [`limits`]. Nothing allocates once sampling has started: tables and
//! the read buffer are allocated once.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod allocator;
pub mod arg;
pub mod cli;
pub mod cmd;
pub mod dwarf;
pub mod elf;
pub mod engine;
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
pub mod tables;
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

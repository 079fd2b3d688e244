//! One module per subcommand: its argh struct, its checks, a call into an engine
//! ([`crate::engine`]) or the tables, and its exit code. No command imports another; what
//! several share (option groups and their checks) is here.

pub mod all;
pub mod diff;
pub mod doctor;
pub mod kmemleak;
pub mod leaks;
pub mod log;
pub mod plot;
pub mod replay;
pub mod run;
pub mod snapshot;
pub mod top;
pub mod trace;
pub mod watch;

use crate::arg::Arg;
use crate::limits::MAX_ALERTS_SHOWN;
use crate::out::ringlog::LogOpts;
use crate::out::Closed;
use crate::trend::Policy;
use crate::{sys, Error};

/// The verdict options `watch` and `replay` share (`--window`, `--min-growth`,
/// `--min-rate`, `--remind`, `--max-alerts`), gathered from a command's arguments after
/// parsing (argh has no flatten) and checked here, once.
pub struct VerdictOpts {
    /// `--window`: history a verdict looks at, in seconds.
    pub window: f64,
    /// `--min-growth`: bytes over the window worth an alert.
    pub min_growth: u64,
    /// `--min-rate`: bytes per second worth an alert.
    pub min_rate: u64,
    /// `--remind`: seconds between reminders.
    pub remind: f64,
    /// `--max-alerts`: alert lines per sample at most.
    pub max_alerts: usize,
}

impl VerdictOpts {
    /// Checks the options (one line naming the bad one) and returns the alert policy.
    pub fn check(&self) -> Result<Policy, Error> {
        if self.window < 1.0 {
            return Err(Error::usage("--window must be at least 1s"));
        }
        if self.max_alerts == 0 || self.max_alerts > MAX_ALERTS_SHOWN {
            return Err(Error::usage(format_args!("--max-alerts must be 1 to {MAX_ALERTS_SHOWN}")));
        }
        Ok(self.policy())
    }

    /// The alert policy these options ask for.
    pub fn policy(&self) -> Policy {
        Policy::new(self.window, self.min_growth, self.min_rate, self.remind)
    }
}

/// The ring log options `watch` and `run` share (`--log`, `--log-size`, `--log-every`,
/// `--sync-secs`), gathered after parsing and checked here, once.
pub struct LogArgs<'a> {
    /// `--log FILE`.
    pub log: &'a Option<Arg>,
    /// `--log-size`.
    pub size: u64,
    /// `--log-every`.
    pub every: f64,
    /// `--sync-secs`.
    pub sync: f64,
}

impl LogArgs<'_> {
    /// Checks the options (one line naming the bad one); the log's options if `--log` was
    /// given.
    pub fn check(&self) -> Result<Option<LogOpts>, Error> {
        let (size, every, sync) = (self.size, self.every, self.sync);
        if self.log.is_none() && (size, every, sync) != (LogOpts::SIZE, LogOpts::EVERY_SECS, LogOpts::SYNC_SECS) {
            return Err(Error::usage("--log-size, --log-every and --sync-secs need --log FILE"));
        }
        if !(crate::ring::MIN_SIZE..=1 << 30).contains(&size) {
            return Err(Error::usage("--log-size must be 4K to 1G"));
        }
        // The ring is a file kleak seeks in: a FIFO cannot hold one (a device may: a partition).
        let Some(path) = self.log else { return Ok(None) };
        let what = match sys::file_type(&[path.as_bytes()]) {
            Ok(t @ (sys::FileType::Fifo | sys::FileType::Dir)) => t.name(),
            _ => return Ok(Some(LogOpts { path: path.clone(), size, every_secs: every, sync_secs: sync })),
        };
        Err(Error::env(format_args!("--log {path}: {what}, not a file; the ring log needs a regular file")))
    }
}

/// Runs a command body that may find its output closed: a closed stdout ends it quietly.
pub fn quiet(r: Result<crate::Exit, Closed>) -> Result<crate::Exit, Error> {
    Ok(r.unwrap_or(crate::Exit::Ok))
}

//! One module per subcommand: its argh struct, its checks, a call into an engine
//! ([`crate::engine`]) or the tables, and its exit code. No command imports another; what
//! several share (option groups and their checks) is here.

/// Declares a command's argh struct with the option groups it shares with other commands,
/// written once here since argh has no flatten. In the struct's body, where the group's
/// options go in `--help`:
/// - `verdict_options!("help of --max-alerts"),`: `--window`, `--min-growth`,
///   `--min-rate`, `--remind`, `--max-alerts`, and `fn verdict(&self) -> VerdictOpts`;
/// - `log_options!("help of --log-every"),`: `--log`, `--log-size`, `--log-every`,
///   `--sync-secs`, and `fn log(&self) -> LogArgs`.
macro_rules! command_args {
    (@munch $meta:tt $name:ident [$($fields:tt)*] [$($impls:tt)*]) => {
        command_args!(@emit $meta $name [$($fields)*] [$($impls)*]);
    };
    (@munch $meta:tt $name:ident [$($fields:tt)*] [$($impls:tt)*] verdict_options!($max_alerts:literal), $($rest:tt)*) => {
        command_args!(@munch $meta $name [$($fields)*
            /// history a verdict looks at: 90s, 10m, 1h or plain seconds (default 10m)
            #[argh(option, default = "crate::trend::Policy::WINDOW_SECS", from_str_fn(parse_duration))]
            pub window: f64,
            /// growth over the window worth an alert: 256K, 4M or plain bytes (default 256K)
            #[argh(option, default = "crate::trend::Policy::MIN_GROWTH", from_str_fn(parse_size))]
            pub min_growth: u64,
            /// growth per second worth an alert, e.g. 1K (default 64 bytes/s)
            #[argh(option, default = "crate::trend::Policy::MIN_RATE as u64", from_str_fn(parse_size))]
            pub min_rate: u64,
            /// time between reminders while an entry stays suspect: minutes, or 90s, 1h (default 30)
            #[argh(option, default = "crate::trend::Policy::REMIND_SECS", from_str_fn(parse_minutes))]
            pub remind: f64,
            #[doc = $max_alerts]
            #[argh(option, default = "4")]
            pub max_alerts: usize,
        ] [$($impls)*
            /// The verdict options.
            pub fn verdict(&self) -> $crate::cmd::VerdictOpts {
                $crate::cmd::VerdictOpts {
                    window: self.window,
                    min_growth: self.min_growth,
                    min_rate: self.min_rate,
                    remind: self.remind,
                    max_alerts: self.max_alerts,
                }
            }
        ] $($rest)*);
    };
    (@munch $meta:tt $name:ident [$($fields:tt)*] [$($impls:tt)*] log_options!($log_every:literal), $($rest:tt)*) => {
        command_args!(@munch $meta $name [$($fields)*
            /// keep a ring log in FILE that survives power cuts (read it: kleak log FILE)
            #[argh(option, arg_name = "FILE")]
            pub log: Option<$crate::arg::Arg>,
            /// size of a new ring log, e.g. 1M (default 256K); it never grows
            #[argh(option, default = "crate::out::ringlog::LogOpts::SIZE", from_str_fn(parse_size))]
            pub log_size: u64,
            #[doc = $log_every]
            #[argh(option, default = "crate::out::ringlog::LogOpts::EVERY_SECS", from_str_fn(parse_duration))]
            pub log_every: f64,
            /// seconds between flushes of logged samples to storage (default 300)
            #[argh(option, default = "crate::out::ringlog::LogOpts::SYNC_SECS", from_str_fn(parse_duration))]
            pub sync_secs: f64,
        ] [$($impls)*
            /// The ring log options.
            pub fn log(&self) -> $crate::cmd::LogArgs<'_> {
                $crate::cmd::LogArgs { log: &self.log, size: self.log_size, every: self.log_every, sync: self.sync_secs }
            }
        ] $($rest)*);
    };
    // A field's type is matched by its tokens, not as a `ty` fragment: argh reads the
    // type (`bool`, `Option<_>`, `Vec<_>`) to know a switch, an optional or a repeated
    // option, and cannot see into an opaque fragment.
    (@munch $meta:tt $name:ident [$($fields:tt)*] [$($impls:tt)*] $(#[$fmeta:meta])* pub $field:ident : $ty:ident, $($rest:tt)*) => {
        command_args!(@munch $meta $name [$($fields)* $(#[$fmeta])* pub $field: $ty,] [$($impls)*] $($rest)*);
    };
    (@munch $meta:tt $name:ident [$($fields:tt)*] [$($impls:tt)*] $(#[$fmeta:meta])* pub $field:ident : $w:ident<$($inner:ident)::+>, $($rest:tt)*) => {
        command_args!(@munch $meta $name [$($fields)* $(#[$fmeta])* pub $field: $w<$($inner)::+>,] [$($impls)*] $($rest)*);
    };
    (@emit [$(#[$meta:meta])*] $name:ident [$($fields:tt)*] [$($impls:tt)*]) => {
        $(#[$meta])*
        pub struct $name {
            $($fields)*
        }

        impl $name {
            $($impls)*
        }
    };
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        command_args!(@munch [$(#[$meta])*] $name [] [] $($body)*);
    };
}

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

//! Settings from `KLEAK_TRACE_*` environment variables, read once at start-up.

use crate::fmt::{parse_secs_ms, parse_u64, Buf};
use crate::sys;
use crate::table::MIN_SLOTS;

/// Where dumps go unless `KLEAK_TRACE_DIR` says otherwise (also `kleak trace`'s default).
pub const DEFAULT_DIR: &[u8] = b"/tmp/kleak-trace";
/// Seconds between dumps unless `KLEAK_TRACE_INTERVAL` says otherwise.
pub const DEFAULT_INTERVAL_MS: u64 = 30_000;
/// Table slots unless `KLEAK_TRACE_SLOTS` says otherwise: 8 MiB, room for 196,608 live
/// allocations (a shard takes at most three quarters of its slots).
pub const DEFAULT_SLOTS: usize = 1 << 18;
/// The largest table accepted (2 GiB of slots).
pub const MAX_SLOTS: usize = 1 << 26;
/// Dumps kept per traced process unless `KLEAK_TRACE_KEEP` says otherwise.
pub const DEFAULT_KEEP: u64 = 50;
/// Bytes of the dump directory's path.
pub const DIR_BYTES: usize = 200;

/// What the environment asked for.
pub struct Config {
    /// `KLEAK_TRACE_DIR`: where dumps are written (created if missing).
    pub dir: Buf<DIR_BYTES>,
    /// `KLEAK_TRACE_INTERVAL` (seconds, fractions allowed): time between dumps; 0 = none.
    pub interval_ms: u64,
    /// `KLEAK_TRACE_ENABLE` (1/0): record from the start, or wait for SIGUSR1.
    pub enabled: bool,
    /// `KLEAK_TRACE_SLOTS`: table slots, rounded up to a power of two.
    pub slots: usize,
    /// `KLEAK_TRACE_KEEP`: dumps kept per process (older ones are removed); 0 = all.
    pub keep: u64,
    /// `KLEAK_TRACE_SIGNALS` (1/0): install the SIGUSR1/SIGUSR2 handlers.
    pub signals: bool,
    /// `KLEAK_TRACE_EVENTS`: the allocation log's file (empty: no log).
    pub events: Buf<DIR_BYTES>,
    /// `KLEAK_TRACE_EVENTS_SIZE`: records in the log's ring.
    pub events_records: usize,
}

impl Config {
    /// The defaults, before the environment is read.
    pub const fn default() -> Config {
        Config {
            dir: Buf::new(),
            interval_ms: DEFAULT_INTERVAL_MS,
            enabled: true,
            slots: DEFAULT_SLOTS,
            keep: DEFAULT_KEEP,
            signals: true,
            events: Buf::new(),
            events_records: crate::events::DEFAULT_RECORDS,
        }
    }

    /// Reads the environment (values that make no sense keep their default).
    pub fn from_env(&mut self) {
        self.dir.push(sys::getenv(c"KLEAK_TRACE_DIR").filter(|d| !d.is_empty()).unwrap_or(DEFAULT_DIR));
        if let Some(ms) = sys::getenv(c"KLEAK_TRACE_INTERVAL").and_then(parse_secs_ms) {
            self.interval_ms = ms;
        }
        if let Some(v) = sys::getenv(c"KLEAK_TRACE_ENABLE") {
            self.enabled = v != b"0";
        }
        if let Some(v) = sys::getenv(c"KLEAK_TRACE_SIGNALS") {
            self.signals = v != b"0";
        }
        if let Some(n) = sys::getenv(c"KLEAK_TRACE_SLOTS").and_then(parse_u64) {
            self.slots = slots(n);
        }
        if let Some(n) = sys::getenv(c"KLEAK_TRACE_KEEP").and_then(parse_u64) {
            self.keep = n;
        }
        if let Some(f) = sys::getenv(c"KLEAK_TRACE_EVENTS") {
            self.events.push(f);
        }
        if let Some(n) = sys::getenv(c"KLEAK_TRACE_EVENTS_SIZE").and_then(parse_u64) {
            self.events_records = n.min(usize::MAX as u64) as usize;
        }
    }
}

/// A slot count as asked, rounded up to a power of two within [MIN_SLOTS, MAX_SLOTS].
pub fn slots(asked: u64) -> usize {
    (asked.min(MAX_SLOTS as u64) as usize).max(MIN_SLOTS).next_power_of_two()
}

#[cfg(test)]
mod test {
    #[test]
    fn slot_counts_round_to_powers_of_two() {
        assert_eq!(super::slots(0), super::MIN_SLOTS);
        assert_eq!(super::slots(100_000), 131_072);
        assert_eq!(super::slots(u64::MAX), super::MAX_SLOTS);
    }
}

//! `/proc/vmstat`: `name value` per line. The set of names differs per kernel and config,
//! so values are matched by name, never by position.
//!
//! Two kinds of value live in this file. `nr_*` names are gauges: amounts that go up and
//! down (in pages, except the few in kB). Nearly everything else (`pgfault`, `pgalloc_*`)
//! is an event counter that only grows since boot; kleak shows counters as rates and never
//! calls their growth a leak. [`kind`] is the one place that tells them apart.

use super::{parse_u64, trim, LineStats, Tokens};

/// One `name value` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmstatRecord<'a> {
    /// The name, e.g. `nr_slab_unreclaimable`.
    pub name: &'a [u8],
    /// The value as printed.
    pub value: u64,
}

/// What a vmstat value measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A gauge in pages.
    Pages,
    /// A gauge in kB (`nr_kernel_stack`, `nr_shadow_call_stack` since 4.9).
    KiB,
    /// A gauge that is not an amount of memory (thresholds in huge pages, node counts).
    Count,
    /// An event counter: only grows; shown as a rate.
    Counter,
}

/// Tells a gauge from an event counter by its name.
pub fn kind(name: &[u8]) -> Kind {
    match name {
        b"nr_kernel_stack" | b"nr_shadow_call_stack" => Kind::KiB,
        // nr_* names that count events rather than hold amounts.
        b"nr_dirtied"
        | b"nr_written"
        | b"nr_throttled_written"
        | b"nr_vmscan_write"
        | b"nr_vmscan_immediate_reclaim"
        | b"nr_tlb_remote_flush"
        | b"nr_tlb_remote_flush_received"
        | b"nr_tlb_local_flush_all"
        | b"nr_tlb_local_flush_one"
        | b"nr_foll_pin_acquired"
        | b"nr_foll_pin_released" => Kind::Counter,
        b"workingset_nodes" => Kind::Count,
        _ if name.starts_with(b"nr_") && name.ends_with(b"hugepages") => Kind::Count,
        _ if name.starts_with(b"nr_") && name.ends_with(b"pmdmapped") => Kind::Count,
        _ if name.starts_with(b"nr_") => Kind::Pages,
        _ => Kind::Counter,
    }
}

/// Largest possible value of `name`: 2^38 pages (1 PiB of 4 KiB pages) for a page
/// count, 2^62 for an event counter. More is garbage (u64::MAX), skipped and counted.
fn max_value(name: &[u8]) -> u64 {
    match kind(name) {
        Kind::Pages | Kind::KiB => 1 << 38,
        Kind::Count | Kind::Counter => 1 << 62,
    }
}

/// Push parser for /proc/vmstat.
#[derive(Default)]
pub struct VmstatParser {
    /// Line counts and the first malformed line.
    pub stats: LineStats,
}

impl VmstatParser {
    /// Feeds one line; returns the record it holds, if any.
    pub fn line<'a>(&mut self, line: &'a [u8]) -> Option<VmstatRecord<'a>> {
        self.stats.lines += 1;
        let t = trim(line);
        if t.is_empty() {
            return None;
        }
        let mut toks = Tokens::new(t);
        let (Some(name), Some(value), None) = (toks.next(), toks.next(), toks.next()) else {
            self.stats.malformed();
            return None;
        };
        match parse_u64(value) {
            Some(value) if value <= max_value(name) && name.iter().all(|&b| b.is_ascii_graphic()) => {
                Some(VmstatRecord { name, value })
            }
            _ => {
                self.stats.malformed();
                None
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn gauges_and_counters_are_told_apart() {
        assert_eq!(kind(b"nr_slab_unreclaimable"), Kind::Pages);
        assert_eq!(kind(b"nr_kernel_stack"), Kind::KiB);
        assert_eq!(kind(b"nr_dirtied"), Kind::Counter);
        assert_eq!(kind(b"pgfault"), Kind::Counter);
        assert_eq!(kind(b"nr_anon_transparent_hugepages"), Kind::Count);
    }

    #[test]
    fn lines_parse_and_garbage_is_counted() {
        let mut p = VmstatParser::default();
        // d2000-arm720t_1.txt (2.6.16: no nr_free_pages, starts with nr_dirty)
        assert_eq!(p.line(b"nr_dirty 0"), Some(VmstatRecord { name: b"nr_dirty", value: 0 }));
        assert_eq!(p.line(b"pgpgin 5217"), Some(VmstatRecord { name: b"pgpgin", value: 5217 }));
        assert_eq!(p.line(b"nr_bogus"), None);
        assert_eq!(p.line(b"nr_x -1"), None);
        assert_eq!(p.line(b""), None);
        assert_eq!(p.stats.malformed, 2);
        assert_eq!(p.stats.first_malformed, 3);
    }
}

//! Every fixed capacity in kleak, in one place.
//!
//! kleak never grows a table while it samples: each limit below is allocated once at
//! start-up. When a limit is reached kleak counts what it could not keep, says so in its
//! output ("12 caches not tracked: table full (1024)"), and carries on. Raise a limit here
//! and nowhere else.

/// Bytes of the one read buffer every /proc file is read through, in pieces. A line longer
/// than this is skipped and counted (no real /proc line comes close: slabinfo rows with
/// statistics are ~250 bytes).
pub const READ_BUF_BYTES: usize = 64 * 1024;

/// Slab caches tracked at once. Real machines show 45 (a minimal board) to ~300 (a
/// desktop with many drivers); per-netns caches can push a busy server past 500.
pub const MAX_CACHES: usize = 1024;

/// Bytes of a stored cache name. Longest seen in real captures: 29; procps allows 128.
/// Longer names are shortened (and still told apart by their order in the file).
pub const NAME_BYTES: usize = 64;

/// Bytes of a slabinfo row kept after the cache name, to recognise an unchanged row next
/// sample without parsing it (a SLUB row is ~100 bytes; longer rows are parsed every time).
pub const SLAB_TAIL_BYTES: usize = 128;

/// Bytes of a vmstat or meminfo line kept after its key, for the same purpose.
pub const GAUGE_TAIL_BYTES: usize = 32;

/// /proc/vmstat keys tracked. 6.x kernels print ~200.
pub const MAX_VMSTAT: usize = 384;

/// /proc/meminfo keys tracked (plus kleak's own `Unaccounted`). 6.x kernels print ~60.
pub const MAX_MEMINFO: usize = 128;

/// Bytes of a vmstat or meminfo key. Longest real key: ~40 (`nr_zone_write_pending`...).
pub const KEY_BYTES: usize = 48;

/// Bytes of a slabinfo row held while waiting for the rest of a line a mail client
/// wrapped in two.
pub const WRAPPED_ROW_BYTES: usize = 512;

/// Bytes of one output line before it is cut (tables, alerts, JSON objects).
pub const LINE_BYTES: usize = 1024;

/// Bytes of a path kleak builds (a `--root` prefix plus a /proc or /sys path).
pub const PATH_BYTES: usize = 1024;

// ---- kleak trace (the preload tracer's dumps) ----

/// Call sites read from one tracer dump. The library groups at most 6,144 distinct sites
/// per dump (three quarters of its 8,192-entry table) plus one line for the rest.
pub const TRACE_MAX_SITES: usize = 8192;

/// Executable file mappings kept from one dump's memory map (a big program maps ~200).
pub const TRACE_MAX_MAPS: usize = 1024;

/// Distinct mapped files across the dumps of one report.
pub const TRACE_MAX_MODULES: usize = 512;

/// Bytes of a stored path (exe, mapped file, dump directory entry).
pub const TRACE_PATH_BYTES: usize = 255;

/// Sites a report resolves to names and prints at most (`-n`).
pub const TRACE_MAX_SHOWN: usize = 200;

/// Traced processes (PID and exec instance) `kleak trace list` tells apart in a directory.
pub const TRACE_MAX_PROCS: usize = 512;

/// `PT_LOAD` segments kept per ELF file (real files have 2–6).
pub const ELF_MAX_LOADS: usize = 16;

/// Symbols scanned per ELF symbol table at most (a debug build of a large C++ program
/// has ~1M).
pub const ELF_MAX_SYMBOLS: u64 = 1 << 22;

//! Every fixed capacity in kleak, in one place.
//!
//! kleak never grows a table while it samples: each limit below is allocated once at
//! start-up. When a limit is reached kleak counts what it could not keep, says so in its
//! output ("12 caches not tracked: table full (1024)"), and carries on. Raise a limit here
//! and nowhere else.

/// Bytes of the one read buffer every /proc file is read through, in pieces. A line longer
/// than this is skipped and counted (no real /proc line comes close: slabinfo rows with
/// statistics are ~250 bytes).
/// 32 KiB holds this machine's slabinfo (235 caches, 26 KB) in one read; a 1024-cache one
/// is read in four, and the 32 KiB saved keep 1024 caches and their trend state in 1 MiB.
pub const READ_BUF_BYTES: usize = 32 * 1024;

/// Bytes of one file kleak reads at most per sample (or per report, or per saved file):
/// the rest is not read, and the read says `EFBIG`. Far above any real file: a
/// 1024-cache slabinfo is ~250 KB, a kmemleak report of 100,000 objects ~60 MB. It bounds
/// the time a read can take whatever the file (a --root tree's 10 GB file).
pub const READ_FILE_MAX_BYTES: u64 = 256 << 20;

/// Kernel lines of one OOM report copied into a ring log at most. A report on a small
/// board is 60–150 lines (the task list grows it by one line per process).
pub const OOM_MAX_LINES: u32 = 256;

/// Slab caches tracked at once. Real machines show 45 (a minimal board) to ~300 (a
/// desktop with many drivers); per-netns caches can push a busy server past 500.
pub const MAX_CACHES: usize = 1024;

/// Bytes of a stored cache name. Longest seen in real captures: 29; procps allows 128.
/// Longer names are shortened (and still told apart by their order in the file).
pub const NAME_BYTES: usize = 64;

/// Longest slabinfo row tail (after the cache name) remembered, as a hash, to recognise an
/// unchanged row next sample without parsing it (a SLUB row is ~100 bytes; longer rows are
/// parsed every time).
pub const SLAB_TAIL_BYTES: usize = 128;

/// Longest vmstat or meminfo line tail remembered (as a hash), for the same purpose.
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

/// Processes tracked at once (each holds its /proc/PID/statm open; the default limit of
/// open files is 1024). A board runs ~100 user processes, a desktop a few hundred.
pub const MAX_PROCS: usize = 256;

/// Processes a watch line shows at most (`--procs N`, or every `--pid`).
pub const MAX_PROCS_SHOWN: usize = 32;

/// Processes named with `--pid` at most.
pub const MAX_WATCH_PIDS: usize = 32;

/// Kernel threads remembered between scans so their stat is not read again.
pub const MAX_KTHREADS: usize = 1024;

/// PIDs one scan of /proc lists (`watch --procs`). A board runs a few hundred processes
/// and kernel threads; PIDs past this are counted ("N processes not looked at") and
/// looked at in no later scan either while the list stays full.
pub const MAX_PIDS_LISTED: usize = 4096;

/// Process events (exits, reused PIDs, PIDs not found) kept per sample; the rest are
/// counted.
pub const PROC_EVENTS: usize = 32;

/// Bytes of the buffer a process's `/proc/PID/statm` and `stat` are read into.
pub const PROC_READ_BYTES: usize = 1024;

/// Bytes of the buffer /dev/kmsg is read into: the kernel refuses (EINVAL) a read too
/// small for a record, and its records are at most 8 KiB (`CONSOLE_EXT_LOG_MAX`) with
/// their dictionary.
pub const KMSG_BUF_BYTES: usize = 8192;

/// Reads of /dev/kmsg per look at most: a kernel that logs without pause must not keep
/// kleak there.
pub const KMSG_MAX_READS: u32 = 64;

/// Bytes of the buffer a Prometheus textfile (`--prom`) is built in before each write.
pub const PROM_BUF_BYTES: usize = 64 * 1024;

/// Largest payload of one ring log record; a longer one is cut.
pub const RING_PAYLOAD_BYTES: usize = 4096;

/// Raw bytes of kernel lines one `oom` ring record carries (escaped, they fit one line).
pub const OOM_RECORD_BYTES: usize = 800;

/// Bytes `kleak doctor` reads of a small file (a sysfs flag, a boot command line).
pub const DOCTOR_FILE_BYTES: usize = 4096;

/// kmemleak groups (distinct backtrace fingerprints) kept from one report. A board after
/// boot shows a few dozen; syzbot's largest reports ~20. Objects of groups beyond this are
/// counted ("N objects in groups not tracked: table full") and skipped.
pub const MAX_LEAK_GROUPS: usize = 256;

/// Bytes of /proc/config.gz read at most (`kleak doctor`). Kernels' are 20–60 KB.
pub const CONFIG_GZ_BYTES: usize = 256 * 1024;

/// Bytes of the decoded kernel config taken at most (a distribution's is ~300 KB).
pub const CONFIG_TEXT_BYTES: u64 = 4 << 20;

/// Bytes of one config line kept; longer lines are skipped and counted (real ones are
/// under 100 bytes).
pub const CONFIG_LINE_BYTES: usize = 256;

/// Frames of a kmemleak group's key, from its site (the first frame outside the
/// allocator) on; netdev CI fingerprints the first five. A text report shows as many.
pub const GROUP_FRAMES: usize = 5;

/// Frames of a kmemleak backtrace kept per group (allocator frames included; JSON
/// `frames` has them all). kmemleak records 16 (`MAX_TRACE` in mm/kmemleak.c).
pub const BACKTRACE_FRAMES: usize = 16;

/// Groups `kleak run` and `watch --kmemleak-every` pair with a slab cache that grew by
/// about their objects ("kmalloc-128 +995 objs ≈ group #2").
pub const MAX_PAIRS: usize = 32;

/// Bytes of one kept frame (`function [module]`). Longest kernel symbols are ~60 bytes.
pub const FRAME_BYTES: usize = 64;

/// Distinct object sizes a kmemleak group lists (more are folded into its min..max).
pub const GROUP_SIZES: usize = 4;

/// Distinct contents checksums (`crc`) a kmemleak group counts before saying "8+".
pub const GROUP_CRCS: usize = 8;

/// Fingerprints `watch --kmemleak-every` remembers as already printed. When full, the
/// oldest is forgotten (and would be printed again if it is still reported).
pub const MAX_SEEN_GROUPS: usize = 1024;

/// Scan durations a kmemleak scan dance records (it needs 2–4 scans; more only with a
/// large `min_unref_scans`).
pub const MAX_DANCE_SCANS: usize = 8;

/// Slots a trend window is cut into: per entry, one low-water mark per slot (2 bytes
/// each). 32 points give Mann–Kendall a z of up to 8 for a clean trend and cost 96 bytes
/// per entry with the rest of its state (src/trend.rs).
pub const TREND_SLOTS: usize = 32;

/// Columns of a sparkline at most.
pub const SPARK_COLS: usize = 16;

/// Alerts of one sample kept for the console, most severe first; the rest are counted
/// ("+N more"). `--max-alerts` chooses how many of these are printed.
pub const MAX_ALERTS_SHOWN: usize = 16;

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

/// Addresses one walk over a DWARF line table looks up at once (callers ask in batches).
pub const DWARF_MAX_QUERIES: usize = 256;

/// Bytes a compressed debug section may inflate to (a `.debug_line` of a large program
/// is a few MiB); a bigger one is refused and its file's lines not shown.
pub const DWARF_MAX_INFLATED: u64 = 64 << 20;

/// `--match` patterns of each kind (including, `!`excluding) at most.
pub const MAX_MATCH_PATTERNS: usize = 16;

// ---- kleak run: the symbols of modules its command loads (src/modsyms.rs) ----

/// Modules `kleak run` remembers as seen in /proc/modules (a board loads ~100). One that
/// finds no room is never kept.
pub const MAX_MODULES_SEEN: usize = 512;

/// Modules whose symbols `kleak run` keeps (those its command loads).
pub const MAX_KEPT_MODULES: usize = 16;

/// Text symbols kept over all of them (16 bytes each; allocated with the first kept
/// module). A test driver has tens; a large one (a GPU or Wi-Fi driver) a few thousand.
pub const MAX_MODULE_SYMBOLS: usize = 4096;

/// Bytes of their names (functions average ~20 bytes; each is cut at [`FRAME_BYTES`]).
pub const MODULE_SYMBOL_BYTES: usize = 64 * 1024;

// ---- watch --listen: the metrics endpoint (src/out/http.rs) ----

/// Connections served at once. Prometheus scrapes one at a time (an HA pair: two); a
/// connection past this gets a `503` at once and is closed.
pub const HTTP_MAX_CONNS: usize = 8;

/// Bytes of a request's line and headers. Prometheus sends ~300, a browser ~1,000; a
/// request that does not end within this gets `431` and is closed.
pub const HTTP_REQUEST_BYTES: usize = 4096;

/// Seconds a connection may take from accept to the last byte of its reply; a slower one
/// (a slowloris, a stalled reader) is closed.
pub const HTTP_DEADLINE_SECS: f64 = 3.0;

/// Bytes of the metrics body, rendered once per sample at the first scrape. 235 caches
/// make ~40 KB; 1,024 caches with 64-byte names ~230 KB. A body past this is cut at a
/// line, and kleak says so once.
pub const HTTP_BODY_BYTES: usize = 256 * 1024;

/// kmemleak groups `watch --kmemleak-every` keeps (the newest) to name under a leak alert
/// of the slab cache that holds their objects.
pub const LEAK_GROUPS_KEPT: usize = 16;

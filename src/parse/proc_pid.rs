//! `/proc/PID/statm`, `/proc/PID/stat` and `/proc/PID/status`: a process's memory
//! footprint, its identity (start time) and whether it is a kernel thread.
//!
//! - statm: `size resident shared text lib data dt`, in pages; kernel threads print zeros.
//! - stat: `pid (comm) state ppid …`; `comm` may hold spaces and parentheses, so it runs
//!   to the *last* `)`. Field 9 is `flags` (PF_KTHREAD), field 22 `starttime` in clock
//!   ticks since boot: a PID reused by a new process has a new start time.
//! - status: `Key:\tvalue` lines; `VmRSS:`, `VmSize:`, `VmData:` in kB (absent for kernel
//!   threads), `Name:`.

use super::{parse_u64, trim, Tokens};

/// One statm line, in pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statm {
    /// Total program size (VmSize).
    pub size: u64,
    /// Resident set (VmRSS).
    pub resident: u64,
    /// Resident shared pages (file-backed and shmem).
    pub shared: u64,
    /// Text (code).
    pub text: u64,
    /// Data + stack (VmData + VmStk).
    pub data: u64,
}

/// Parses a statm line: seven numbers (the `lib` and `dt` columns are always 0 since 2.6).
pub fn statm(line: &[u8]) -> Option<Statm> {
    let mut t = Tokens::new(line);
    let mut v = [0u64; 7];
    for slot in v.iter_mut() {
        *slot = parse_u64(t.next()?)?;
    }
    if t.next().is_some() {
        return None;
    }
    Some(Statm { size: v[0], resident: v[1], shared: v[2], text: v[3], data: v[5] })
}

/// What kleak needs from a stat line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat<'a> {
    /// Process id.
    pub pid: u32,
    /// Command name (up to 15 bytes in the kernel; may contain spaces and parentheses).
    pub comm: &'a [u8],
    /// State letter (R, S, D, Z, …).
    pub state: u8,
    /// Parent process id.
    pub ppid: u32,
    /// Kernel task flags.
    pub flags: u64,
    /// Start time in clock ticks since boot.
    pub starttime: u64,
}

/// PF_KTHREAD in `flags`: a kernel thread.
pub const PF_KTHREAD: u64 = 0x0020_0000;

impl Stat<'_> {
    /// True for a kernel thread (no user memory to watch).
    pub fn kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Parses a stat line.
pub fn stat(line: &[u8]) -> Option<Stat<'_>> {
    let open = line.iter().position(|&b| b == b'(')?;
    let close = line.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let pid = parse_u64(trim(&line[..open]))?;
    let mut t = Tokens::new(&line[close + 1..]);
    // Fields after comm, numbered from 3 (state) as in proc(5).
    let state = *t.next()?.first()?;
    let ppid = parse_u64(t.next()?)?;
    let mut t = t.skip(4); // 5 pgrp, 6 session, 7 tty_nr, 8 tpgid
    let flags = parse_u64(t.next()?)?;
    let starttime = parse_u64(t.nth(12)?)?; // 10..21 skipped, 22 starttime
    Some(Stat {
        pid: u32::try_from(pid).ok()?,
        comm: &line[open + 1..close],
        state,
        ppid: u32::try_from(ppid).ok()?,
        flags,
        starttime,
    })
}

/// The value of `key:` in a status line, as bytes for kB values (`VmRSS:  540 kB`) or as
/// the number itself; `None` if the line is another key or not a number.
pub fn status_value(line: &[u8], key: &str) -> Option<u64> {
    let colon = line.iter().position(|&b| b == b':')?;
    if trim(&line[..colon]) != key.as_bytes() {
        return None;
    }
    let mut t = Tokens::new(&line[colon + 1..]);
    let v = parse_u64(t.next()?)?;
    match t.next() {
        Some(b"kB") => Some(v.saturating_mul(1024)),
        None => Some(v),
        Some(_) => None,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn statm_lines() {
        // procfs-statm_1.txt: a fixture with 2^64-1 in `shared`.
        let s = statm(b"149919 12547 18446744073709551615 19864 0 14531 0").unwrap();
        assert_eq!((s.size, s.resident, s.shared, s.data), (149919, 12547, u64::MAX, 14531));
        // pcp-k2.6.32-statm_2.txt: a kernel thread.
        assert_eq!(statm(b"0 0 0 0 0 0 0"), Some(Statm::default()));
        assert_eq!(statm(b"1 2 3"), None);
        assert_eq!(statm(b"1 2 3 4 5 6 7 8"), None);
    }

    #[test]
    fn stat_comm_with_spaces_and_parens() {
        let line = b"4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 123 0 0 0 5 3 0 0 20 0 1 0 98765 1234567 89 18446744073709551615";
        let s = stat(line).unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(s.comm, b"my (odd) name");
        assert_eq!((s.state, s.ppid, s.flags, s.starttime), (b'S', 1, 4194560, 98765));
        assert!(!s.kernel_thread());
        let k = stat(b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0 18446744073709551615").unwrap();
        assert!(k.kernel_thread());
        assert_eq!(stat(b"12 (x"), None);
        assert_eq!(stat(b"12 (x) S"), None);
    }

    #[test]
    fn status_values() {
        // sysstat-status_1.txt and procfs-status_2.txt (spaces instead of the kernel's tab).
        assert_eq!(status_value(b"VmRSS:\t  540 kB", "VmRSS"), Some(540 * 1024));
        assert_eq!(status_value(b"VmRSS:     540 kB", "VmRSS"), Some(540 * 1024));
        assert_eq!(status_value(b"Tgid:\t26231", "Tgid"), Some(26231));
        assert_eq!(status_value(b"VmRSS:\t540 kB", "VmSize"), None);
        assert_eq!(status_value(b"Uid:\t1000\t1000\t1000\t0", "Uid"), None);
    }
}

//! Turning recording on and off in a running traced process, and asking it for a dump:
//! `kleak trace on|off|dump PID`.
//!
//! The library listens on SIGUSR1 (a plain one toggles recording; one sent with
//! `sigqueue` and the value 1 or 2 sets it on or off and then dumps) and SIGUSR2 (dump).
//! Those signals end a process that does not handle them, so kleak first checks that the
//! PID has the library mapped and catches both signals; then it signals and waits for the
//! new dump to appear in the process's dump directory (its `KLEAK_TRACE_DIR`).

use super::dump::latest_dump;
use crate::arg::Arg;
use crate::sample::{read_lines, ReadAt, Root};
use crate::sys;
use crate::Error;

/// What to ask a traced process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Record from now on (then dump).
    On,
    /// Stop recording new allocations; frees are still matched (then dump).
    Off,
    /// Write a dump now.
    Dump,
}

/// `sigqueue` values the library's SIGUSR1 handler knows (trace/src/lib.rs).
const SIGNAL_ON: usize = 1;
const SIGNAL_OFF: usize = 2;
/// How long a dump may take to appear.
const WAIT_SECS: f64 = 5.0;

/// Asks process `pid` for `ask` and waits for the dump it writes; the dump's path.
pub fn ask<R: Root>(root: &R, pid: u32, ask: Ask) -> Result<Arg, Error> {
    let mut buf = vec![0u8; 64 * 1024];
    let proc_dir = format!("/proc/{pid}");
    let mut maps = root.open(&format!("{proc_dir}/maps")).map_err(|e| Error::env(format_args!("pid {pid}: {e}")))?;
    let mut traced = false;
    let _ = read_lines(&mut maps, &mut buf, |l: &[u8]| traced |= l.windows(14).any(|w| w == b"libkleak_trace"));
    if !traced {
        return Err(Error::env(format_args!(
            "pid {pid} is not traced: no libkleak_trace in its maps (start it with `kleak trace -- CMD` or LD_PRELOAD)"
        )));
    }
    // SigCgt: the signals the process catches, a hex mask; SIGUSR1 is bit 9, SIGUSR2 bit 11.
    let mut caught = 0u64;
    let mut status =
        root.open(&format!("{proc_dir}/status")).map_err(|e| Error::env(format_args!("pid {pid}: {e}")))?;
    let _ = read_lines(&mut status, &mut buf, |l: &[u8]| {
        if let Some(v) = l.strip_prefix(b"SigCgt:") {
            let hex = crate::parse::trim(v);
            caught = core::str::from_utf8(hex).ok().and_then(|h| u64::from_str_radix(h, 16).ok()).unwrap_or(0);
        }
    });
    let sig_bit = |s: i32| 1u64 << (s - 1);
    if caught & sig_bit(libc::SIGUSR1) == 0 || caught & sig_bit(libc::SIGUSR2) == 0 {
        return Err(Error::env(format_args!(
            "pid {pid} does not catch SIGUSR1 and SIGUSR2: its tracer runs with KLEAK_TRACE_SIGNALS=0 or the program handles them itself"
        )));
    }
    let dir = dump_dir(root, pid, &mut buf);
    let before = latest_dump(&dir, pid, None);
    let sent = match ask {
        Ask::On => sys::sigqueue(pid as i32, libc::SIGUSR1, SIGNAL_ON),
        Ask::Off => sys::sigqueue(pid as i32, libc::SIGUSR1, SIGNAL_OFF),
        Ask::Dump => sys::kill(pid as i32, libc::SIGUSR2),
    };
    sent.map_err(|e| match e {
        sys::Errno::EPERM => Error::env(format_args!("pid {pid}: not allowed to signal it: needs root or its user")),
        e => Error::env(format_args!("pid {pid}: {e}")),
    })?;
    let start = sys::monotonic_secs();
    loop {
        match latest_dump(&dir, pid, None) {
            Some(d) if Some(&d) != before.as_ref() => return Ok(d),
            _ if sys::monotonic_secs() - start > WAIT_SECS => {
                return Err(Error::env(format_args!(
                    "pid {pid} was signalled but wrote no dump in {dir} within {WAIT_SECS} s (a full disk, another directory?)"
                )))
            }
            _ => {
                sys::sleep(0.02);
            }
        }
    }
}

/// The process's dump directory: its `KLEAK_TRACE_DIR`, else the library's default.
fn dump_dir<R: Root>(root: &R, pid: u32, buf: &mut [u8]) -> Arg {
    let mut dir = Arg::from(super::program::DEFAULT_DIR);
    if let Ok(mut f) = root.open(&format!("/proc/{pid}/environ")) {
        let n = f.read_at(buf, 0).unwrap_or(0);
        for var in buf[..n].split(|&b| b == 0) {
            if let Some(d) = var.strip_prefix(b"KLEAK_TRACE_DIR=").filter(|d| !d.is_empty()) {
                dir = Arg(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(d).to_owned());
            }
        }
    }
    dir
}

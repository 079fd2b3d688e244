//! `/dev/kmsg`, the kernel log: the one place kleak opens it, reads it without blocking,
//! and picks the text out of its records.
//!
//! Two users: `kleak kmemleak dump=ADDR` shows the records its command added, and
//! `watch --log` / `run --log` watch for the kernel's OOM report (the last gasp, see
//! [`crate::out::ringlog`]). Both open the log at its end, so only new records are read.
//!
//! A read of the real `/dev/kmsg` returns one whole record, `prio,seq,usecs,flags;text\n`,
//! maybe followed by ` KEY=value` dictionary lines; EAGAIN when no record is left, EPIPE
//! when records were overwritten before they were read (reading goes on with the next).
//! A test's stand-in (a regular file or a FIFO under `--root DIR/dev/kmsg`) returns any
//! number of lines, maybe cut in the middle, and end of file instead of EAGAIN: lines are
//! carried over between reads, and [`Kmsg::at_eof`] says that poll(2) would not wait.

use crate::limits::KMSG_BUF_BYTES;
use crate::sys::{Errno, File, Mode};

/// The kernel log, opened at its end.
pub struct Kmsg {
    file: File,
    buf: Box<[u8]>,
    fill: usize,
    /// The latest read found end of file: a stand-in file, not the kernel's log, so
    /// waiting for it to become readable would not wait.
    pub at_eof: bool,
}

impl Kmsg {
    /// Opens `prefix/dev/kmsg` without blocking, positioned after the records logged so
    /// far.
    pub fn open(prefix: impl AsRef<[u8]>) -> Result<Kmsg, Errno> {
        let file = File::open(&[prefix.as_ref(), b"/dev/kmsg"], Mode::ReadNonBlock)?;
        match file.seek_end() {
            // A FIFO standing in for the log cannot seek; it holds only new lines anyway.
            Ok(()) | Err(Errno(libc::ESPIPE)) => {}
            Err(e) => return Err(e),
        }
        Ok(Kmsg { file, buf: vec![0u8; KMSG_BUF_BYTES].into_boxed_slice(), fill: 0, at_eof: false })
    }

    /// The open log, to wait on with [`crate::sys::poll`].
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Calls `f` with the text of each record logged since the last call, reading at most
    /// `max_reads` times (a kernel that logs without pause must not keep kleak here);
    /// returns the number of records.
    pub fn drain(&mut self, max_reads: u32, mut f: impl FnMut(&[u8])) -> u32 {
        let mut records = 0;
        self.at_eof = false;
        for _ in 0..max_reads {
            let n = match self.file.read(&mut self.buf[self.fill..]) {
                Ok(0) => {
                    self.at_eof = true;
                    break;
                }
                Ok(n) => n,
                // Records overwritten before they were read: go on with the next.
                Err(Errno::EPIPE) => continue,
                // EAGAIN: nothing more now; anything else: try again next time.
                Err(_) => break,
            };
            let end = self.fill + n;
            let mut start = 0;
            while let Some(p) = self.buf[start..end].iter().position(|&b| b == b'\n') {
                let line = &self.buf[start..start + p];
                // ` KEY=value` lines belong to the record before.
                if !line.is_empty() && line[0] != b' ' {
                    f(text(line));
                    records += 1;
                }
                start += p + 1;
            }
            self.buf.copy_within(start..end, 0);
            self.fill = end - start;
            if self.fill == self.buf.len() {
                // No newline in a full buffer: not a log; drop it.
                self.fill = 0;
            }
        }
        records
    }
}

/// The text of one record: what follows `prio,seq,usecs,flags;` (a line without that
/// prefix, as a stand-in file may hold, is all text), up to the end of its line.
pub fn text(record: &[u8]) -> &[u8] {
    let end = record.iter().position(|&b| b == b'\n').unwrap_or(record.len());
    let line = &record[..end];
    match line.iter().position(|&b| b == b';') {
        Some(p) if p > 0 && line[..p].iter().all(|&b| b.is_ascii_digit() || b",-+c".contains(&b)) => &line[p + 1..],
        _ => line,
    }
}

/// True for the lines that open the kernel's out-of-memory report, or say what it did:
/// `... invoked oom-killer: gfp_mask=...`, `Out of memory: Killed process ...` (and
/// older kernels' `Kill process`, a memory cgroup's `Memory cgroup out of memory: ...`),
/// and `Unreclaimable slab info:` (the slab caches, printed when slab holds most memory).
pub fn is_oom(text: &[u8]) -> bool {
    const MARKS: [&[u8]; 4] =
        [b"invoked oom-killer", b"Out of memory", b"out of memory: Kill", b"Unreclaimable slab info:"];
    MARKS.iter().any(|m| text.windows(m.len()).any(|w| w == *m))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn records_give_their_text() {
        assert_eq!(
            text(b"6,1234,5678901,-;kmemleak: Object 0xffff0000c0a1b200 (size 64):\n"),
            b"kmemleak: Object 0xffff0000c0a1b200 (size 64):"
        );
        assert_eq!(
            text(b"4,99,1,-;kmemleak: Unknown object at 0x1\n SUBSYSTEM=x\n"),
            b"kmemleak: Unknown object at 0x1"
        );
        // Continuation records (flags `c`) and a plain line holding a `;` of its own.
        assert_eq!(text(b"4,100,2,c;more"), b"more");
        assert_eq!(text(b"Out of memory: Killed process 42 (a;b)"), b"Out of memory: Killed process 42 (a;b)");
    }

    #[test]
    fn oom_reports_are_recognised_by_their_own_lines() {
        // From a 6.1 arm64 kernel and a 4.19 one.
        for l in [
            "leaky invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0",
            "Out of memory: Killed process 153 (leaky) total-vm:489124kB, anon-rss:484272kB, file-rss:4kB, shmem-rss:0kB, UID:0 pgtables:996kB oom_score_adj:0",
            "Out of memory: Kill process 812 (java) score 941 or sacrifice child",
            "Memory cgroup out of memory: Killed process 77 (stress) total-vm:1000kB",
            "Unreclaimable slab info:",
        ] {
            assert!(is_oom(l.as_bytes()), "{l}");
        }
        for l in ["oom_reaper: reaped process 153 (leaky)", "kmemleak: 3 new suspected memory leaks"] {
            assert!(!is_oom(l.as_bytes()), "{l}");
        }
    }

    #[test]
    fn a_stand_in_file_gives_its_lines_whole_across_reads() {
        let dir = crate::tempdir::TempDir::new("kmsg");
        std::fs::create_dir_all(dir.join("dev")).unwrap();
        let log = dir.join("dev/kmsg");
        std::fs::write(&log, "6,1,1,-;before kleak\n").unwrap();
        let mut k = Kmsg::open(dir.str()).unwrap();
        let mut got = Vec::new();
        assert_eq!(k.drain(8, |t| got.push(t.to_vec())), 0, "opened at the end");
        assert!(k.at_eof);
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(b"6,2,2,-;first\n SUBSYSTEM=x\n6,3,3,-;sec").unwrap();
        assert_eq!(k.drain(8, |t| got.push(t.to_vec())), 1);
        f.write_all(b"ond\n").unwrap();
        assert_eq!(k.drain(8, |t| got.push(t.to_vec())), 1);
        assert_eq!(got, [b"first".to_vec(), b"second".to_vec()]);
    }
}

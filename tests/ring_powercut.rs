//! Power cuts: a ring writer is killed with SIGKILL at random points, 120 times; the reader
//! never fails, and every record the writer finished before the kill is still there.
//!
//! The writer is this test binary itself, started again with KLEAK_RING_WRITER set.

mod common;

use kleak::ring::{self, Kind, Ring};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// The writer: appends records of varied sizes forever, printing each sequence number
/// once its write has returned. Not a test: [`writer`] runs it (ignored, so a plain run
/// does not count it as passed).
#[test]
#[ignore = "the writer process every_record_written_before_a_kill_survives starts, with KLEAK_RING_WRITER set"]
fn ring_writer_child() {
    let Ok(path) = std::env::var("KLEAK_RING_WRITER") else {
        return common::skip(
            "ring_powercut::ring_writer_child",
            "a helper process, not a test: KLEAK_RING_WRITER is unset",
        );
    };
    let size: u64 = std::env::var("KLEAK_RING_SIZE").unwrap().parse().unwrap();
    let mut r = Ring::open(&path, size).unwrap();
    let out = std::io::stdout();
    let mut i = 0u64;
    loop {
        let payload = format!("{{\"kind\":\"alert\",\"n\":{i},\"pad\":\"{}\"}}", "x".repeat((i * 37 % 300) as usize));
        let seq = r.append(Kind::Alert, payload.as_bytes()).unwrap();
        if i % 16 == 0 {
            r.sync().unwrap();
        }
        let mut o = out.lock();
        writeln!(o, "{seq}").unwrap();
        o.flush().unwrap();
        i += 1;
    }
}

fn writer(path: &str, size: u64) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut c = common::reexec(&exe);
    c.args(["--exact", "ring_writer_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env("KLEAK_RING_WRITER", path)
        .env("KLEAK_RING_SIZE", size.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    c
}

#[test]
fn every_record_written_before_a_kill_survives() {
    let dir = common::TempDir::new("powercut");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut wrapped_trials = 0;
    for trial in 0..120 {
        // Small rings wrap (often mid-trial), large ones do not.
        let size = if trial % 3 == 0 { 8192 } else { 1 << 20 };
        let path = dir.join(format!("ring{trial}"));
        let path = path.to_str().unwrap().to_string();
        // A ring that already holds records from an earlier life, for some trials.
        if trial % 4 == 1 {
            let mut r = Ring::open(&path, size).unwrap();
            for _ in 0..rand() % 20 {
                r.append(Kind::Note, b"{\"kind\":\"note\",\"earlier\":true}").unwrap();
            }
        }
        let before = ring::scan(&path).map(|s| s.records.last().map_or(0, |r| r.seq)).unwrap_or(0);
        let mut child = writer(&path, size).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let stop_after = 1 + rand() % 400;
        let mut last = 0u64;
        // (libtest's own banner lines are on stdout too: only numbers count.)
        let mut read = 0;
        while read < stop_after {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Ok(seq) = l.trim().parse() {
                        last = seq;
                        read += 1;
                    }
                }
                _ => break,
            }
        }
        // SIGKILL, possibly in the middle of the next write.
        child.kill().unwrap();
        child.wait().unwrap();
        // Whatever the writer printed after our last read is also done: take it too.
        for l in lines.map_while(Result::ok) {
            last = l.trim().parse().unwrap_or(last);
        }
        let s = ring::scan(&path).expect("the reader never fails");
        let seqs: Vec<u64> = s.records.iter().map(|r| r.seq).collect();
        assert!(last > before, "trial {trial}: the writer wrote");
        let max = *seqs.last().unwrap();
        assert!(max >= last, "trial {trial}: newest record {max} older than the last finished {last}");
        if seqs[0] == 1 {
            // Never wrapped: every record ever written is there.
            assert_eq!(seqs, (1..=max).collect::<Vec<_>>(), "trial {trial}: torn {}", s.torn);
        } else {
            // Wrapped: the newest records form one unbroken run down from the newest (older,
            // stale ones may survive in the tail the last pass did not reach). The run holds
            // every finished record a ring of this size can hold.
            wrapped_trials += 1;
            let mut run = max;
            while run > 1 && seqs.contains(&(run - 1)) {
                run -= 1;
            }
            assert!(run <= last, "trial {trial}: the run {run}..={max} misses finished records up to {last}");
            assert!(max - run + 1 >= size / 400, "trial {trial}: only {} records kept", max - run + 1);
        }
        std::fs::remove_file(&path).unwrap();
    }
    assert!(wrapped_trials >= 10, "the trials exercised the wrap: {wrapped_trials}");
}

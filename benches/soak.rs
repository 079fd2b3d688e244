//! Soak: 1,000,000 samples of watch's loop against a churning fake proc root, back to back.
//! Caches change, appear and vanish, meminfo drifts; RSS and open file descriptors must be
//! identical from sample 1,000 to the end. Fails (exit 1) if they are not.
//!
//! `cargo bench --bench soak` (`-- N` for another number of samples).

use kleak::engine::watch::Watch;
use kleak::fake::FakeRoot;
use kleak::out::{Out, Style, Target};
use kleak::sample::Sampler;
use kleak::sys;
use kleak::tables::Source;

/// A `Vm…:` figure of /proc/self/status in KiB, read without allocating (the measurement
/// must not touch new memory itself).
fn status_kib(status: &sys::File, key: &str) -> u64 {
    let mut buf = [0u8; 4096];
    let n = status.pread(&mut buf, 0).unwrap_or(0);
    let text = std::str::from_utf8(&buf[..n]).unwrap_or("");
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Open file descriptors, counted without allocating.
fn open_fds() -> usize {
    let mut n = 0;
    let _ = sys::read_dir(&[b"/proc/self/fd"], |_, _| {
        n += 1;
        true
    });
    n
}

/// Bumps the last digit of every `every`-th line, in place (no allocation).
fn churn(data: &mut [u8], every: usize, round: usize) {
    let mut line = 0;
    let mut last_digit = None;
    for i in 0..data.len() {
        if data[i].is_ascii_digit() {
            last_digit = Some(i);
        }
        if data[i] == b'\n' {
            if (line + round) % every == 0 {
                if let Some(d) = last_digit {
                    data[d] = b'0' + (data[d] - b'0' + 1) % 10;
                }
            }
            line += 1;
            last_digit = None;
        }
    }
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/host-x86_64-6.18/proc");
    let root = FakeRoot::new();
    let mut texts = Vec::new();
    for src in Source::ALL {
        let text = std::fs::read(format!("{fixtures}/{}", src.path().trim_start_matches("/proc/"))).unwrap();
        root.set(src.path(), &text);
        texts.push(text);
    }
    // A second slabinfo with one cache more, swapped in now and then (appear / vanish).
    let mut with_extra = texts[0].clone();
    with_extra.extend_from_slice(
        b"soak_appearing_cache   10   20   64   64    1 : tunables    0    0    0 : slabdata      1      1      0\n",
    );
    let slab = root.file("/proc/slabinfo");
    slab.borrow_mut().data.reserve(with_extra.len());
    let status = sys::File::open(&[b"/proc/self/status"], sys::Mode::Read).unwrap();
    let mut s = Sampler::new(root.clone());
    s.sample(0.0);
    let mut w = Watch::new(s);
    let mut out = Out::new(Target::Null, Style::default());
    let (mut rss_at_1000, mut fds_at_1000) = (0, 0);
    let t = sys::process_cpu_secs();
    for i in 1..n {
        {
            let mut f = slab.borrow_mut();
            // First at 500: the entry it needs is touched before sample 1000; it is reused after.
            if i % 500 == 0 {
                let next = if f.data.len() == texts[0].len() { &with_extra } else { &texts[0] };
                f.data.clear();
                f.data.extend_from_slice(next);
            }
            churn(&mut f.data, 17, i);
        }
        churn(&mut root.file("/proc/meminfo").borrow_mut().data, 5, i);
        churn(&mut root.file("/proc/vmstat").borrow_mut().data, 3, i);
        w.step(&mut out, i as f64).unwrap();
        if i == 1000 {
            rss_at_1000 = status_kib(&status, "VmRSS:");
            fds_at_1000 = open_fds();
        }
    }
    let secs = sys::process_cpu_secs() - t;
    let (rss_end, fds_end, hwm) = (status_kib(&status, "VmRSS:"), open_fds(), status_kib(&status, "VmHWM:"));
    println!("soak: {n} samples in {secs:.1} s CPU ({:.1} us per sample)", secs / n as f64 * 1e6);
    println!("soak: RSS {rss_at_1000} KiB at sample 1000, {rss_end} KiB at the end (peak {hwm} KiB)");
    println!("soak: open fds {fds_at_1000} at sample 1000, {fds_end} at the end");
    println!("soak: {} lines written, {} caches tracked", out.lines, w.sampler.tables.slab.entries().len());
    if rss_end != rss_at_1000 || fds_end != fds_at_1000 {
        eprintln!("soak: FAILED: RSS or descriptors changed");
        std::process::exit(1);
    }
}

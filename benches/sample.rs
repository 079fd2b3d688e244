//! Per-sample CPU cost of kleak's loop (read, parse, update the tables, format the watch
//! line) over the cost of a bare loop that only preads the same three files. The kernel
//! producing the files is the floor; the ratio says what kleak adds on top.
//!
//! Rounds alternate the two loops so drift (other load, frequency) hits both alike; the
//! median ratio is reported. Then the cost of `--log` (at its defaults) and `--procs` over
//! the plain loop. Run: `cargo bench --bench sample` (as root for slabinfo).

#[path = "../tests/common/mod.rs"]
mod common;

use kleak::engine::watch::Watch;
use kleak::fake::FakeRoot;
use kleak::kmsg::Kmsg;
use kleak::out::ringlog::{LogOpts, RingLog};
use kleak::out::{Out, Style, Target};
use kleak::procs::Procs;
use kleak::sample::{FsRoot, Sampler};
use kleak::sys::{self, File, Mode};
use kleak::tables::Source;

const ROUNDS: usize = 9;

/// (user, system) CPU seconds of this process.
fn rusage() -> (f64, f64) {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
    (t(ru.ru_utime), t(ru.ru_stime))
}
const SAMPLES: usize = 300;

fn bare(files: &[File], buf: &mut [u8]) -> f64 {
    let t = sys::process_cpu_secs();
    for _ in 0..SAMPLES {
        for f in files {
            let mut off = 0;
            loop {
                let n = f.pread(buf, off).unwrap();
                if n == 0 {
                    break;
                }
                off += n as u64;
            }
        }
    }
    sys::process_cpu_secs() - t
}

fn kleak_loop(w: &mut Watch<FsRoot>, out: &mut Out) -> f64 {
    let t = sys::process_cpu_secs();
    for i in 0..SAMPLES {
        w.step(out, i as f64).unwrap();
    }
    sys::process_cpu_secs() - t
}

fn main() {
    let files: Vec<File> =
        Source::ALL.iter().filter_map(|s| File::open(&[s.path().as_bytes()], Mode::Read).ok()).collect();
    let mut buf = vec![0u8; kleak::limits::READ_BUF_BYTES];
    let mut s = Sampler::new(FsRoot::live());
    s.sample(0.0);
    let caches = s.tables.slab.entries().len();
    let mut w = Watch::new(s);
    let mut out = Out::new(Target::Null, Style::default());
    let mut ratios = Vec::new();
    let (mut tb, mut tk) = (0.0, 0.0);
    let (mut ub, mut sb, mut uk, mut sk) = (0.0, 0.0, 0.0, 0.0);
    for _ in 0..ROUNDS {
        let r0 = rusage();
        let b = bare(&files, &mut buf);
        let r1 = rusage();
        let k = kleak_loop(&mut w, &mut out);
        let r2 = rusage();
        ub += r1.0 - r0.0;
        sb += r1.1 - r0.1;
        uk += r2.0 - r1.0;
        sk += r2.1 - r1.1;
        ratios.push(k / b);
        tb += b;
        tk += k;
    }
    ratios.sort_by(f64::total_cmp);

    if std::env::var_os("KLEAK_BENCH_STEADY_ONLY").is_some() {
        // For profiling the steady state alone.
        println!("kleak/bare {:.3}", ratios[ROUNDS / 2]);
        return;
    }
    // Worst case: every line differs from the sample before, so every line is parsed. Two
    // versions of the live files alternate in memory; the kernel's cost is the bare loop's.
    let fake = FakeRoot::new();
    let mut versions: Vec<Vec<(String, Vec<u8>)>> = vec![Vec::new(), Vec::new()];
    for src in Source::ALL {
        let Ok(text) = std::fs::read(src.path()) else { continue };
        let bumped: Vec<u8> = text
            .split(|&b| b == b'\n')
            .flat_map(|l| {
                let mut l = l.to_vec();
                // Change the last digit of the line (1 <-> 2, else 7): same shape, new value.
                if let Some(d) = l.iter().rposition(u8::is_ascii_digit) {
                    l[d] = if l[d] == b'1' { b'2' } else { b'1' };
                }
                l.push(b'\n');
                l
            })
            .collect();
        versions[0].push((src.path().to_string(), text));
        versions[1].push((src.path().to_string(), bumped));
    }
    for (p, d) in &versions[0] {
        fake.set(p, d);
    }
    let mut fs = Sampler::new(fake.clone());
    fs.sample(0.0);
    let mut fw = Watch::new(fs);
    let t = sys::process_cpu_secs();
    for i in 0..ROUNDS * SAMPLES {
        for (p, d) in &versions[(i + 1) % 2] {
            fake.set(p, d);
        }
        fw.step(&mut out, i as f64).unwrap();
    }
    let parse_all = (sys::process_cpu_secs() - t) / (ROUNDS * SAMPLES) as f64;

    // watch --log at its defaults (a record a minute, so per sample: one look at
    // /dev/kmsg), and watch --procs (every user process's statm, and the /proc scan),
    // alternated with the plain loop like the bare one above.
    let dir = common::TempDir::new("bench-sample");
    let opts = LogOpts {
        path: dir.join("ring").to_str().unwrap().into(),
        size: LogOpts::SIZE,
        every_secs: LogOpts::EVERY_SECS,
        sync_secs: LogOpts::SYNC_SECS,
    };
    let mut s = Sampler::new(FsRoot::live());
    s.sample(0.0);
    let mut lw = Watch::new(s);
    lw.log = Some(RingLog::open(opts, 0.0).unwrap());
    lw.kmsg = Kmsg::open("").ok();
    let mut s = Sampler::new(FsRoot::live());
    s.sample(0.0);
    let mut pw = Watch::new(s);
    pw.follow(Procs::new(FsRoot::live(), &[]), 5);
    let (mut log_ratios, mut procs_us) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let k = kleak_loop(&mut w, &mut out);
        let l = kleak_loop(&mut lw, &mut out);
        let p = kleak_loop(&mut pw, &mut out);
        log_ratios.push(l / k);
        procs_us.push((p - k) / SAMPLES as f64 * 1e6);
    }
    log_ratios.sort_by(f64::total_cmp);
    procs_us.sort_by(f64::total_cmp);
    let procs = pw.procs.as_ref().map_or(0, |p| p.entries().iter().filter(|e| e.alive).count());
    drop(dir);
    let n = (ROUNDS * SAMPLES) as f64;
    println!("files read per sample: {} (slabinfo with {caches} caches: {})", files.len(), files.len() == 3);
    println!(
        "kleak sampling loop / bare pread loop, CPU per sample: {:.3} (median of {ROUNDS} rounds; min {:.3}, max {:.3})",
        ratios[ROUNDS / 2],
        ratios[0],
        ratios[ROUNDS - 1]
    );
    println!("kleak adds {:.1}% of the kernel's own cost of producing the files", (tk / tb - 1.0) * 100.0);
    println!(
        "worst case, every line changed: kleak parses each sample in {:.1} us; (kernel + that) / kernel = {:.3}",
        parse_all * 1e6,
        (tb / n + parse_all) / (tb / n)
    );
    println!("(this run: {:.1} us bare, {:.1} us kleak per sample)", tb / n * 1e6, tk / n * 1e6);
    println!(
        "watch --log (defaults, /dev/kmsg {}) / plain watch loop: {:.3} (median of {ROUNDS})",
        if lw.kmsg.is_some() { "read" } else { "unavailable" },
        log_ratios[ROUNDS / 2]
    );
    println!("watch --procs: +{:.1} us per sample for {procs} processes (median of {ROUNDS})", procs_us[ROUNDS / 2]);
    println!(
        "(user/system per sample: bare {:.1}/{:.1} us, kleak {:.1}/{:.1} us)",
        ub / n * 1e6,
        sb / n * 1e6,
        uk / n * 1e6,
        sk / n * 1e6
    );
}

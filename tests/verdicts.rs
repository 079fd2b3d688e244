//! The verdict's evaluation suite: labelled series, each with the verdict it must get, and
//! a property: a stationary series is never flagged.
//!
//! Each series is fed through the real tables (slabinfo and meminfo lines, parsed as from
//! /proc) into [`Verdicts`], sample by sample, with the default policy (10 min window,
//! 256 KiB, 64 B/s) and a sample every 5 s unless said otherwise. `cargo test --test
//! verdicts -- --nocapture eval_table` prints the README's evaluation table.

use kleak::tables::{Source, Tables};
use kleak::trend::{Change, Policy};
use kleak::verdict::{Alert, Severity, Verdicts};
use proptest::prelude::*;
use std::fmt::Write;

/// One cache in one sample: (name, active_objs, num_objs, objsize).
type Cache<'a> = (&'a str, u64, u64, u32);

/// A run of samples through the tables and the verdicts.
struct Sim {
    tables: Tables,
    verdicts: Verdicts,
    samples: u32,
    text: String,
    /// (sample number, alert)
    alerts: Vec<(u32, Alert)>,
}

impl Sim {
    fn new(policy: Policy) -> Self {
        Sim {
            tables: Tables::default(),
            verdicts: Verdicts::new(policy, false),
            samples: 0,
            text: String::new(),
            alerts: vec![],
        }
    }

    fn sample(&mut self, t: f64, caches: &[Cache<'_>], meminfo_kib: &[(&str, i64)]) {
        let tb = &mut self.tables;
        tb.begin();
        self.text.clear();
        self.text.push_str("slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n");
        for &(name, active, num, size) in caches {
            let per = (4096 / size.max(1)).max(1) as u64;
            let slabs = num.div_ceil(per);
            let _ = writeln!(
                self.text,
                "{name:<17} {active:6} {num:6} {size:6} {per:4} {:4} : tunables    0    0    0 : slabdata {slabs:6} {slabs:6}      0",
                1
            );
        }
        for l in self.text.lines() {
            tb.line(Source::Slabinfo, l.as_bytes());
        }
        tb.end_source(Source::Slabinfo, true);
        tb.end_source(Source::Vmstat, false);
        self.text.clear();
        for (k, v) in meminfo_kib {
            let _ = writeln!(self.text, "{k}: {v} kB");
        }
        for l in self.text.lines() {
            tb.line(Source::Meminfo, l.as_bytes());
        }
        tb.end_source(Source::Meminfo, true);
        tb.end(t);
        let n = self.samples;
        let alerts = &mut self.alerts;
        self.verdicts.update(&self.tables, t, &mut |a: &Alert| alerts.push((n, *a)));
        self.samples += 1;
    }

    fn of(&self, name: &str) -> Vec<(u32, Alert)> {
        self.alerts.iter().filter(|(_, a)| a.name.as_str() == name).copied().collect()
    }

    fn states(&self, name: &str) -> Vec<Change> {
        self.of(name).iter().map(|(_, a)| a.state).filter(|s| *s != Change::Reminder).collect()
    }
}

/// A small deterministic generator (xorshift), so series are the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [-a, a].
    fn noise(&mut self, a: i64) -> i64 {
        if a == 0 {
            return 0;
        }
        (self.next() % (2 * a as u64 + 1)) as i64 - a
    }
}

/// `base` moved by `noise`, never below 0.
fn jit(base: u64, noise: i64) -> u64 {
    base.saturating_add_signed(noise)
}

const DT: f64 = 5.0;
const WINDOW_SAMPLES: u32 = 120; // 10 min at 5 s

/// Caches that are always there and only wobble: none of them may ever be flagged.
fn background(rng: &mut Rng, out: &mut Vec<(String, u64, u64, u32)>) {
    for (name, base, size, wobble) in [
        ("kmalloc-64", 20_000u64, 64u32, 300i64),
        ("kmalloc-256", 4_000, 256, 50),
        ("filp", 3_000, 256, 400),
        ("vm_area_struct", 9_000, 184, 700),
        ("task_struct", 300, 5_888, 20),
        ("anon_vma", 2_000, 104, 100),
    ] {
        let n = (base as i64 + rng.noise(wobble)) as u64;
        out.push((name.to_string(), n, n + 32, size));
    }
}

/// meminfo of a 64 GiB machine whose `Unaccounted` is `unacct_kib`.
fn meminfo(unacct_kib: i64, sunreclaim_kib: i64) -> [(&'static str, i64); 6] {
    let total = 64 << 20;
    let free = total - 600_000 - unacct_kib - sunreclaim_kib;
    [
        ("MemTotal", total),
        ("MemFree", free),
        ("Cached", 400_000),
        ("AnonPages", 200_000),
        ("Slab", sunreclaim_kib),
        ("SUnreclaim", sunreclaim_kib),
    ]
}

/// Runs `n` samples; `f(i, rng, caches)` adds the series' own caches for sample i and
/// returns the Unaccounted remainder in KiB (None: a quiet 50 MiB).
fn run(
    n: u32,
    seed: u64,
    policy: Policy,
    mut f: impl FnMut(u32, &mut Rng, &mut Vec<(String, u64, u64, u32)>) -> Option<i64>,
) -> Sim {
    let mut sim = Sim::new(policy);
    let mut rng = Rng(seed);
    let mut caches = Vec::new();
    for i in 0..n {
        caches.clear();
        background(&mut rng, &mut caches);
        let unacct = f(i, &mut rng, &mut caches).unwrap_or(50_000 + rng.noise(200));
        let slab: u64 = caches.iter().map(|c| c.2 * c.3 as u64).sum();
        let rows: Vec<Cache<'_>> = caches.iter().map(|c| (c.0.as_str(), c.1, c.2, c.3)).collect();
        sim.sample(i as f64 * DT, &rows, &meminfo(unacct, (slab / 1024) as i64));
    }
    sim
}

/// The result of one labelled series, for the table.
struct Row {
    series: &'static str,
    expected: &'static str,
    got: String,
    until: String,
}

fn got(sim: &Sim, name: &str) -> String {
    let v: Vec<String> = sim
        .of(name)
        .iter()
        .filter(|(_, a)| a.state != Change::Reminder)
        .map(|(_, a)| format!("{} {}", a.severity.as_str(), kleak::verdict::state_str(a.state)))
        .collect();
    if v.is_empty() {
        "no alert".into()
    } else {
        v.join(", ")
    }
}

/// Alerts about anything but `name` (and the SUnreclaim total that follows slab caches).
fn others(sim: &Sim, names: &[&str]) -> Vec<String> {
    sim.alerts
        .iter()
        .filter(|(_, a)| !names.contains(&a.name.as_str()))
        .map(|(i, a)| format!("#{i} {} {}", a.name.as_str(), kleak::verdict::state_str(a.state)))
        .collect()
}

fn first_suspect(sim: &Sim, name: &str) -> Option<u32> {
    sim.of(name).iter().find(|(_, a)| a.state == Change::Suspect).map(|(i, _)| *i)
}

fn steady_linear_leak() -> Row {
    // kmalloc-128 leaks 40 objects a second (5 KiB/s): from the first sample.
    let sim = run(2 * WINDOW_SAMPLES, 1, Policy::default(), |i, _, c| {
        let n = 1_000 + 40 * 5 * i as u64;
        c.push(("kmalloc-128".into(), n, n + 20, 128));
        None
    });
    let at = first_suspect(&sim, "kmalloc-128").expect("flagged");
    assert!(at <= WINDOW_SAMPLES + 4, "flagged at sample {at}");
    assert_eq!(sim.states("kmalloc-128"), [Change::Suspect]);
    let a = sim.of("kmalloc-128")[0].1;
    assert_eq!(a.severity, Severity::Leak);
    let objs = a.growth_objs.unwrap() as f64;
    assert!((objs * 128.0 / a.growth_bytes as f64 - 1.0).abs() < 0.25, "{objs} objs, {} bytes", a.growth_bytes);
    assert!((a.rate_bytes_per_s - 5120.0).abs() < 300.0, "{}", a.rate_bytes_per_s);
    assert_eq!(others(&sim, &["kmalloc-128", "SUnreclaim"]), Vec::<String>::new());
    Row {
        series: "steady linear leak (5 KiB/s)",
        expected: "leak suspect",
        got: got(&sim, "kmalloc-128"),
        until: at.to_string(),
    }
}

fn slow_leak_in_noise() -> Row {
    // 600 B/s (350 KiB in 10 min) under ±96 KiB of noise on every sample: each sample's
    // change is mostly noise (the leak adds 3 KiB per sample).
    let sim = run(3 * WINDOW_SAMPLES, 2, Policy::default(), |i, rng, c| {
        let bytes = 2_000_000 + 600 * 5 * i as i64 + rng.noise(96 * 1024);
        let n = (bytes / 192) as u64;
        c.push(("kmalloc-192".into(), n, n + 10, 192));
        None
    });
    let at = first_suspect(&sim, "kmalloc-192").expect("flagged");
    assert!(at <= WINDOW_SAMPLES + 4, "flagged at sample {at}");
    assert_eq!(others(&sim, &["kmalloc-192", "SUnreclaim"]), Vec::<String>::new());
    Row {
        series: "slow leak in noise (600 B/s, ±96 KiB)",
        expected: "leak suspect",
        got: got(&sim, "kmalloc-192"),
        until: at.to_string(),
    }
}

fn step_then_flat() -> Row {
    // A module allocates 8 MiB once, at minute 5, and keeps it.
    let sim = run(3 * WINDOW_SAMPLES, 3, Policy::default(), |i, rng, c| {
        let n = jit(if i < 60 { 10_000 } else { 10_000 + 8 * 1024 * 1024 / 512 }, rng.noise(20));
        c.push(("kmalloc-512".into(), n, n + 8, 512));
        None
    });
    assert_eq!(got(&sim, "kmalloc-512"), "no alert");
    assert_eq!(others(&sim, &["kmalloc-512"]), Vec::<String>::new());
    Row {
        series: "step then flat (8 MiB once)",
        expected: "no alert",
        got: got(&sim, "kmalloc-512"),
        until: "—".into(),
    }
}

fn saw_tooth_churn() -> Row {
    // Caches that fill and empty: periods from 40 s to 5 min (half the window), ramps and
    // triangles, 2 to 24 MiB deep, plus noise.
    let mut all = Vec::new();
    for (k, period) in [8u32, 24, 36, 60].into_iter().enumerate() {
        let sim = run(4 * WINDOW_SAMPLES, 10 + k as u64, Policy::default(), |i, rng, c| {
            let phase = (i + 7 * k as u32) % period;
            let ramp = (phase as u64 * 1_000) / period as u64; // 0..1000
            let tri = if phase < period / 2 { 2 * ramp } else { 2 * (1000 - ramp) };
            let depth = 24 * 1024 * 1024 / 192 / 1000;
            let n = jit(5_000 + ramp * depth * (k as u64 + 1) / 4, rng.noise(200));
            c.push(("dentry".into(), n, n + 40, 192));
            let m = 1_000 + tri * 2 * 1024 * 1024 / 1000 / 64;
            c.push(("kmalloc-rnd-01-64".into(), m, m + 60, 64));
            None
        });
        all.extend(others(&sim, &[]));
    }
    assert_eq!(all, Vec::<String>::new());
    Row {
        series: "saw-tooth churn (4 periods 40 s–5 min, 2–24 MiB)",
        expected: "no alert",
        got: "no alert".into(),
        until: "—".into(),
    }
}

fn growth_then_reclaim() -> Row {
    // dentries pile up for 15 min (30 KiB/s), then memory pressure takes them back.
    let sim = run(4 * WINDOW_SAMPLES, 4, Policy::default(), |i, _, c| {
        let n = if i < 180 { 50_000 + 160 * 5 * i as u64 } else { 50_000 };
        c.push(("dentry".into(), n, n + 21, 192));
        None
    });
    assert_eq!(sim.states("dentry"), [Change::Suspect, Change::Recovered]);
    assert!(sim.of("dentry").iter().all(|(_, a)| a.severity == Severity::Reclaimable));
    let at = first_suspect(&sim, "dentry").unwrap();
    assert!(at <= WINDOW_SAMPLES + 4);
    assert_eq!(others(&sim, &["dentry", "SUnreclaim"]), Vec::<String>::new());
    Row {
        series: "growth then reclaim (dentry, 15 min)",
        expected: "GROW suspect, recovered",
        got: got(&sim, "dentry"),
        until: at.to_string(),
    }
}

fn destroyed_and_recreated() -> Row {
    // A module's cache lives 4 min, grows 3 MiB in that time, is destroyed, comes back
    // empty 20 s later: each life is shorter than the window, and coming back from
    // nothing is not growth.
    let sim = run(6 * WINDOW_SAMPLES, 5, Policy::default(), |i, _, c| {
        let life = i % 52;
        if life < 48 {
            let n = 100 + life as u64 * 3 * 1024 * 1024 / 48 / 256;
            c.push(("leaky_cache".into(), n, n + 8, 256));
        }
        None
    });
    assert_eq!(got(&sim, "leaky_cache"), "no alert");
    // A cache that leaks, is flagged, and is destroyed: one "gone" line.
    let sim2 = run(3 * WINDOW_SAMPLES, 6, Policy::default(), |i, _, c| {
        if i < 200 {
            let n = 100 + 40 * i as u64;
            c.push(("leaky_cache".into(), n, n + 8, 256));
        }
        None
    });
    assert_eq!(sim2.states("leaky_cache"), [Change::Suspect, Change::Recovered]);
    assert!(sim2.of("leaky_cache")[1].1.gone);
    Row {
        series: "cache destroyed and recreated (4 min lives; then one that leaks)",
        expected: "no alert; leaking one: suspect, gone",
        got: format!("{}; leaking one: {}", got(&sim, "leaky_cache"), got(&sim2, "leaky_cache")),
        until: first_suspect(&sim2, "leaky_cache").unwrap().to_string(),
    }
}

fn counter_reset() -> Row {
    // Unaccounted grows 20 KiB/s (a page-allocator leak), the driver is reloaded and gives
    // everything back at once (the figure falls to where it started), and it leaks again.
    let sim = run(5 * WINDOW_SAMPLES, 7, Policy::default(), |i, rng, _| {
        let t = if i < 200 { i } else { i - 200 } as i64;
        Some(50_000 + 100 * t + rng.noise(64))
    });
    assert_eq!(sim.states("Unaccounted"), [Change::Suspect, Change::Recovered, Change::Suspect]);
    let v = sim.of("Unaccounted");
    let again = v.iter().filter(|(_, a)| a.state == Change::Suspect).nth(1).unwrap().0;
    assert!(again - 200 <= WINDOW_SAMPLES + 4, "flagged again {} samples after the reset", again - 200);
    assert_eq!(others(&sim, &["Unaccounted"]), Vec::<String>::new());
    Row {
        series: "reset (Unaccounted leaks, falls back, leaks again)",
        expected: "suspect, recovered, suspect",
        got: got(&sim, "Unaccounted"),
        until: format!("{} / {}", first_suspect(&sim, "Unaccounted").unwrap(), again - 200),
    }
}

fn slab_order_change() -> Row {
    // The cache moves to bigger slabs: num_objs doubles, active objects stay. Not a leak.
    let sim = run(3 * WINDOW_SAMPLES, 8, Policy::default(), |i, rng, c| {
        let active = jit(30_000, rng.noise(30));
        let num = 32_000 + (i as u64 * 32_000 / 360);
        c.push(("kmalloc-1k".into(), active, num, 1024));
        None
    });
    assert_eq!(got(&sim, "kmalloc-1k"), "no alert");
    Row {
        series: "slab order change (num_objs +100 %, active flat)",
        expected: "no alert",
        got: got(&sim, "kmalloc-1k"),
        until: "—".into(),
    }
}

fn very_long_run() -> Row {
    // 24 hours at 5 s: churn and noise wrap the ring 540 times; at hour 23 a leak of
    // 2 KiB/s starts in a big cache (4 GiB of objects).
    let n = 24 * 720;
    let start = 23 * 720;
    let sim = run(n, 9, Policy::default(), |i, rng, c| {
        let churn = jit(2_000 + (i % 40) as u64 * 300, rng.noise(50));
        c.push(("dentry".into(), churn, churn + 30, 192));
        let leak = if i > start { (i - start) as u64 * 10 * 5 } else { 0 };
        let n = jit(4 * 1024 * 1024 + leak, rng.noise(5));
        c.push(("kmalloc-1k".into(), n, n + 16, 1024));
        Some(50_000 + rng.noise(300) + if i % 100 < 50 { 0 } else { 2_000 })
    });
    let flagged = sim.of("kmalloc-1k");
    assert!(flagged.iter().all(|(i, _)| *i > start), "{:?}", flagged.first().map(|f| f.0));
    let at = first_suspect(&sim, "kmalloc-1k").expect("flagged") - start;
    assert!(at <= WINDOW_SAMPLES + 4, "flagged {at} samples after the start");
    assert_eq!(others(&sim, &["kmalloc-1k", "SUnreclaim"]), Vec::<String>::new());
    Row {
        series: "very long run (24 h, ring wraps 540×; leak from hour 23)",
        expected: "leak suspect after hour 23 only",
        got: got(&sim, "kmalloc-1k"),
        until: at.to_string(),
    }
}

#[test]
fn eval_table() {
    let rows = [
        steady_linear_leak(),
        slow_leak_in_noise(),
        step_then_flat(),
        saw_tooth_churn(),
        growth_then_reclaim(),
        destroyed_and_recreated(),
        counter_reset(),
        slab_order_change(),
        very_long_run(),
    ];
    println!("| series | expected | got | samples until flagged |\n|---|---|---|---|");
    for r in rows {
        println!("| {} | {} | {} | {} |", r.series, r.expected, r.got, r.until);
    }
}

/// A stationary series: level + i.i.d. noise, a saw-tooth or square wave of period at most
/// half the window, an AR(1) wander; any amplitude.
#[derive(Clone, Debug)]
enum Stationary {
    Noise { level: i64, amp: i64 },
    Saw { level: i64, amp: i64, period: u32, phase: u32, noise: i64 },
    Square { level: i64, amp: i64, period: u32, phase: u32 },
    Ar1 { level: i64, amp: i64, phi_pct: u32 },
}

fn stationary() -> impl Strategy<Value = Stationary> {
    let level = 0i64..(1i64 << 36);
    let amp = prop_oneof![0i64..4096, 0i64..(1 << 20), 0i64..(1 << 30)];
    let period = 2u32..=WINDOW_SAMPLES / 2;
    prop_oneof![
        (level.clone(), amp.clone()).prop_map(|(level, amp)| Stationary::Noise { level, amp }),
        (level.clone(), amp.clone(), period.clone(), 0u32..60, 0i64..(1 << 16))
            .prop_map(|(level, amp, period, phase, noise)| Stationary::Saw { level, amp, period, phase, noise }),
        (level.clone(), amp.clone(), period, 0u32..60).prop_map(|(level, amp, period, phase)| Stationary::Square {
            level,
            amp,
            period,
            phase
        }),
        (level, amp, 0u32..=70).prop_map(|(level, amp, phi_pct)| Stationary::Ar1 { level, amp, phi_pct }),
    ]
}

proptest! {
    // 64 cases from a fixed seed, so CI is repeatable (PROPTEST_CASES and PROPTEST_RNG_SEED
    // choose others). AR(1) wanders stop at phi 0.7 per sample: a wander with a longer
    // memory is flagged now and then; `false_alarm_rates` measures how often (README).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("PROPTEST_RNG_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x6b6c65616b),
        ),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_stationary_series_is_never_flagged(s in stationary(), seed in 1u64..u64::MAX) {
        let flagged = flags(&s, seed);
        prop_assert!(flagged.is_empty(), "{:?} flagged: {:?}", s, flagged);
    }
}

/// Every alert a stationary series `s` raises (with background caches from `seed`).
fn flags(s: &Stationary, seed: u64) -> Vec<String> {
    let s = s.clone();
    let mut rng = Rng(seed);
    let mut ar = 0f64;
    let sim = run(3 * WINDOW_SAMPLES, seed, Policy::default(), |i, _, c| {
        let v = match s {
            Stationary::Noise { level, amp } => level + rng.noise(amp),
            Stationary::Saw { level, amp, period, phase, noise } => {
                level + amp * ((i + phase) % period) as i64 / period as i64 + rng.noise(noise)
            }
            Stationary::Square { level, amp, period, phase } => {
                level + if (i + phase) % period < period / 2 { 0 } else { amp }
            }
            Stationary::Ar1 { level, amp, phi_pct } => {
                let phi = phi_pct as f64 / 100.0;
                ar = phi * ar + (1.0 - phi * phi).sqrt() * rng.noise(amp) as f64;
                level + ar as i64
            }
        };
        let n = (v.max(0) / 64) as u64;
        c.push(("kmalloc-64-under-test".into(), n, n, 64));
        Some(50_000 + (v.max(0) >> 12))
    });
    others(&sim, &[])
}

/// The false-alarm rate per kind of stationary series, over 1,000 runs of 30 minutes each,
/// held to what the README promises (Verdicts: "What it cannot tell apart"):
/// `cargo test --release --test verdicts -- --ignored --nocapture false_alarm_rates`.
#[test]
#[ignore = "7,000 half-hour series: minutes in a debug build; run by hand in --release"]
fn false_alarm_rates() {
    let ar = |phi_pct| move |_| Stationary::Ar1 { level: 1 << 30, amp: 1 << 20, phi_pct };
    type Make = Box<dyn Fn(u64) -> Stationary>;
    // (class, its series, the most runs in 1,000 the README allows to be flagged)
    let classes: [(&str, Make, u32); 7] = [
        ("i.i.d. noise, 1-8 MiB", Box::new(|k| Stationary::Noise { level: 1 << 30, amp: (1 << 20) << (k % 4) }), 0),
        (
            "saw-tooth, 8 MiB, periods 10 s-5 min",
            Box::new(|k| Stationary::Saw {
                level: 1 << 30,
                amp: 8 << 20,
                period: 2 + (k % 59) as u32,
                phase: (k % 60) as u32,
                noise: 1 << 16,
            }),
            0,
        ),
        ("AR(1) phi 0.5", Box::new(ar(50)), 0),
        ("AR(1) phi 0.7", Box::new(ar(70)), 0),
        ("AR(1) phi 0.8", Box::new(ar(80)), 1),
        ("AR(1) phi 0.9", Box::new(ar(90)), 14),
        ("AR(1) phi 0.95", Box::new(ar(95)), 64),
    ];
    let mut over = Vec::new();
    for (name, mk, allowed) in classes.iter() {
        let mut flagged = 0;
        let n = 1000u64;
        for k in 1..=n {
            let seed = k.wrapping_mul(0x9E3779B97F4A7C15) | 1;
            if !flags(&mk(k), seed).is_empty() {
                flagged += 1;
            }
        }
        println!("{name}: {flagged} of {n} runs flagged (README: {allowed})");
        if flagged > *allowed {
            over.push(format!("{name}: {flagged} > {allowed}"));
        }
    }
    assert!(over.is_empty(), "more false alarms than the README states: {over:?}");
}

//! `kleak plot FILE`: a ring log as one SVG picture: Slab, SUnreclaim and Unaccounted over
//! time, the slab caches that grew most, and a marker at every alert, OOM report and
//! restart. What a user attaches to a bug report.

use crate::cli::Ctx;
use crate::out::fmt::{Dur, Size};
use crate::out::jsonread::{num, text};
use crate::out::ringlog::LoggedSample;
use crate::out::svg::{chart, Marker, Panel, Series};
use crate::ring::{self, Kind};
use crate::sys::{self, Errno, File, Mode};
use crate::{Error, Exit};
use argh::FromArgs;

/// draw a ring log as one SVG picture (to standard output)
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "plot",
    example = "the last day of a soak, for a bug report:\n  $ kleak plot /data/kleak.ring > soak.svg"
)]
pub struct PlotArgs {
    /// the ring log file (written by `kleak watch --log FILE`)
    #[argh(positional)]
    pub file: String,
}

/// Slab caches drawn at most: those that grew most over the log.
const TOP_CACHES: usize = 6;
/// Points per line at most (a day at one sample a minute is 1,440).
const MAX_POINTS: usize = 2000;
/// The meminfo figures of the first panel.
const TOTALS: [&str; 3] = ["Slab", "SUnreclaim", "Unaccounted"];

/// The colour of an OOM report's marker.
const OOM: &str = "#000000";

/// What a ring log holds, as lines and markers.
#[derive(Default)]
pub struct Soak {
    /// Seconds of the last record, from the first.
    pub x_max: f64,
    /// Slab, SUnreclaim, Unaccounted.
    pub totals: Vec<Series>,
    /// The caches that grew most: their growth since the log began (sum of the moves the
    /// log kept: it keeps the largest few per sample).
    pub caches: Vec<Series>,
    /// Alerts, OOM reports, restarts.
    pub markers: Vec<Marker>,
    /// Samples read.
    pub samples: usize,
    /// Suspect alerts read.
    pub alerts: usize,
}

/// Reads the records of the ring log at `path` into lines and markers.
pub fn read(path: &str) -> Result<Soak, Errno> {
    let scan = ring::scan(path)?;
    let file = File::open(&[path.as_bytes()], Mode::Read)?;
    let mut buf = vec![0u8; ring::HEADER + ring::MAX_PAYLOAD];
    let series = |name: &str| Series { name: name.to_string(), legend: String::new(), points: vec![] };
    let mut soak = Soak { totals: TOTALS.iter().map(|n| series(n)).collect(), ..Soak::default() };
    // Every cache's growth since the first sample, after each sample that moved it.
    let mut moved: Vec<Series> = Vec::new();
    // Time is the samples' and alerts' elapsed seconds; a restart of kleak (a new run in
    // the same file) carries on from where the run before it ended.
    let (mut base, mut x, mut started) = (0.0, 0.0f64, false);
    for rec in &scan.records {
        let Ok(payload) = ring::payload(&file, rec, &mut buf) else { continue };
        let json = core::str::from_utf8(payload).unwrap_or("");
        if rec.kind == Kind::Start && core::mem::replace(&mut started, true) {
            base = x;
        }
        if matches!(rec.kind, Kind::Sample | Kind::Alert) {
            x = x.max(base + num(json, "elapsed_secs"));
        }
        soak.x_max = soak.x_max.max(x);
        match rec.kind {
            Kind::Sample => {
                soak.samples += 1;
                let sample = LoggedSample::new(json);
                for (s, key) in soak.totals.iter_mut().zip(TOTALS) {
                    if let Some(v) = sample.value(key) {
                        s.points.push((x, v));
                    }
                }
                for (name, d) in sample.movers() {
                    let i = moved.iter().position(|c| c.name == name).unwrap_or_else(|| {
                        moved.push(Series { points: vec![(0.0, 0)], ..series(name) });
                        moved.len() - 1
                    });
                    let c = &mut moved[i].points;
                    let grown = c[c.len() - 1].1 + d;
                    c.push((x, grown));
                }
            }
            Kind::Alert if text(json, "state") == "suspect" => {
                soak.alerts += 1;
                let leak = text(json, "severity") == "leak";
                let mut label = format!("{} {}", if leak { "LEAK" } else { "GROW" }, text(json, "name"));
                label.push_str(&format!(" +{}", Size::of(num(json, "growth_bytes") as i64, true)));
                soak.markers.push(Marker { x, label, color: if leak { "#d62728" } else { "#ff7f0e" } });
            }
            Kind::Alert if text(json, "state") == "recovered" => {
                let label = format!("recovered {}", text(json, "name"));
                soak.markers.push(Marker { x, label, color: "#2ca02c" });
            }
            // One marker per report, not one per record of it.
            Kind::Oom if !soak.markers.last().is_some_and(|m| m.color == OOM && x - m.x < 10.0) => {
                soak.markers.push(Marker { x, label: "kernel OOM report".into(), color: OOM });
            }
            Kind::Start if base > 0.0 => {
                soak.markers.push(Marker { x, label: "kleak started".into(), color: "#7f7f7f" });
            }
            _ => {}
        }
    }
    // The caches that grew most, drawn over the whole time (flat where nothing was kept).
    let grown = |c: &Series| c.points.last().map_or(0, |p| p.1);
    crate::table::sort_by_key(&mut moved, |c| -grown(c));
    for mut c in moved.into_iter().filter(|c| grown(c) > 0).take(TOP_CACHES) {
        let total = grown(&c);
        c.points.push((soak.x_max, total));
        c.legend = format!("{} {}", c.name, Size { bytes: total, human: true, signed: true });
        c.points = steps(core::mem::take(&mut c.points));
        soak.caches.push(c);
    }
    // The totals as their change since the first sample: a leak of a few MiB shows
    // beside hundreds; the legend says where they stand.
    for s in soak.totals.iter_mut() {
        let (Some(&(_, first)), Some(&(_, last))) = (s.points.first(), s.points.last()) else { continue };
        s.legend = format!(
            "{} {} ({})",
            s.name,
            Size::of(last, true),
            Size { bytes: last - first, human: true, signed: true }
        );
        for p in s.points.iter_mut() {
            p.1 -= first;
        }
    }
    for s in soak.totals.iter_mut().chain(soak.caches.iter_mut()) {
        thin(&mut s.points);
    }
    soak.totals.retain(|s| !s.points.is_empty());
    Ok(soak)
}

/// A value that holds until the next point, drawn as steps.
fn steps(points: Vec<(f64, i64)>) -> Vec<(f64, i64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (x, y) in points {
        if let Some(&(_, prev)) = out.last() {
            out.push((x, prev));
        }
        out.push((x, y));
    }
    out
}

/// Keeps at most [`MAX_POINTS`], evenly spaced, the last one always.
fn thin(points: &mut Vec<(f64, i64)>) {
    if points.len() <= MAX_POINTS {
        return;
    }
    let every = points.len().div_ceil(MAX_POINTS);
    let last = points[points.len() - 1];
    let mut i = 0;
    points.retain(|_| {
        i += 1;
        (i - 1) % every == 0
    });
    points.push(last);
}

/// Runs `kleak plot`.
pub fn run(_ctx: &mut Ctx, args: &PlotArgs) -> Result<Exit, Error> {
    if sys::isatty(1) {
        return Err(Error::usage("kleak plot writes SVG: send it to a file (kleak plot FILE > soak.svg)"));
    }
    let path = &args.file;
    let soak = read(path).map_err(|e| match e {
        Errno::ENOENT => Error::env(format_args!("{path}: no such file")),
        e => Error::env(format_args!("{path}: {e}")),
    })?;
    if soak.samples == 0 {
        return Err(Error::env(format_args!("{path}: no logged sample to draw (a ring log of kleak watch --log?)")));
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let title = format!("kleak: {name}");
    let subtitle = format!("{} samples over {}, {} suspect alerts", soak.samples, Dur(soak.x_max), soak.alerts);
    let panels = [
        Panel {
            title: "Kernel memory: change since the log began (Slab, SUnreclaim, Unaccounted)".into(),
            series: soak.totals,
        },
        Panel {
            title: format!("Slab caches that grew most (growth since the log began, top {TOP_CACHES})"),
            series: soak.caches,
        },
    ];
    let mut svg = String::new();
    let _ = chart(&mut svg, &title, &subtitle, soak.x_max, &panels, &soak.markers);
    sys::write_stdout(svg.as_bytes()).map_err(|e| Error::env(format_args!("standard output: {e}")))?;
    Ok(Exit::Ok)
}

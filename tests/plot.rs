//! `kleak plot`: a ring log drawn as one SVG. The picture is parsed by a real XML parser
//! (Python's xml.etree) and, where Chromium is installed, rendered by it headless: the
//! screenshot's pixels show the lines and the alert markers.

mod common;

use common::TempDir;
use kleak::engine::watch::Watch;
use kleak::fake::FakeRoot;
use kleak::kmsg::Kmsg;
use kleak::out::ringlog::{LogOpts, RingLog};
use kleak::out::{Out, Style, Target};
use kleak::sample::Sampler;
use kleak::sys::{File, Mode};
use kleak::trend::Policy;
use std::process::{Command, Stdio};

/// A soak written to a ring log by watch's own loop: two caches leak for 100 s, rest
/// 100 s and leak again, one churns; Unaccounted grows with them; an OOM report at 250 s.
fn soak(dir: &TempDir) -> String {
    let root = FakeRoot::new();
    let sample = |i: u64| {
        let leaked = (0..=i).filter(|k| (k / 100) % 2 == 0).count() as u64 * 500;
        common::leaking_proc(&["leak_a", "leak_b_<&>"], leaked, i)
    };
    let (slab, mem) = sample(0);
    root.set("/proc/slabinfo", slab.as_bytes());
    root.set("/proc/meminfo", mem.as_bytes());
    root.set("/proc/vmstat", b"nr_free_pages 750000\nnr_slab_unreclaimable 1250\n");
    let mut s = Sampler::new(root.clone());
    s.sample(0.0);
    let policy = Policy { window_secs: 32.0, min_growth: 64 * 1024, min_rate: 1.0, remind_secs: 1e6 };
    let mut w = Watch::with_policy(s, policy, false);
    std::fs::create_dir_all(dir.join("dev")).unwrap();
    std::fs::write(dir.join("dev/kmsg"), "").unwrap();
    let ring = dir.join("soak.ring").to_str().unwrap().to_string();
    let opts = LogOpts { path: ring.clone().into(), size: 1 << 20, every_secs: 0.0, sync_secs: 10.0 };
    w.log = Some(RingLog::open(opts, 0.0).unwrap());
    w.kmsg = Some(Kmsg::open(dir.str()).unwrap());
    let kmsg = File::open(&[dir.join("dev/kmsg").to_str().unwrap().as_bytes()], Mode::Append).unwrap();
    let mut out = Out::new(Target::Null, Style::default());
    for i in 1..=420u64 {
        let (slab, mem) = sample(i);
        root.set("/proc/slabinfo", slab.as_bytes());
        root.set("/proc/meminfo", mem.as_bytes());
        if i == 250 {
            kmsg.write_all(b"6,1,1,-;leaky invoked oom-killer: gfp_mask=0x140cca, order=0\n3,3,3,-;Out of memory: Killed process 153 (leaky)\n").unwrap();
        }
        w.step(&mut out, i as f64).unwrap();
    }
    w.log.as_mut().unwrap().sync(421.0);
    assert!(w.verdicts.tally.suspect >= 2 && w.verdicts.tally.recovered >= 1, "{:?}", w.verdicts.tally);
    ring
}

fn plot(ring: &str) -> (i32, String, String) {
    common::run(&["plot", ring])
}

/// What Python's XML parser finds in the SVG: size, lines, legend, markers.
fn parse(svg_path: &str) -> serde_json::Value {
    let script = r#"
import json, sys, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + 'svg', root.tag
w, h = int(root.get('width')), int(root.get('height'))
lines = []
for p in root.iter(ns + 'polyline'):
    pts = [tuple(map(int, xy.split(','))) for xy in p.get('points').split()]
    assert all(0 <= x <= w and 0 <= y <= h for x, y in pts), pts
    lines.append({'name': p.find(ns + 'title').text, 'points': len(pts), 'ys': [y for _, y in pts]})
markers = [g.find(ns + 'title').text for g in root.iter(ns + 'g') if g.get('class') == 'marker']
texts = [t.text for t in root.iter(ns + 'text')]
refs = [e.tag for e in root.iter() if any(k.endswith('href') for k in e.attrib)] + [e.tag for e in root.iter() if e.tag in (ns + 'script', ns + 'image', ns + 'foreignObject')]
print(json.dumps({'width': w, 'height': h, 'lines': lines, 'markers': markers, 'texts': texts, 'external': refs}))
"#;
    let o = Command::new("python3").args(["-c", script, svg_path]).output().expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_soak_becomes_one_self_contained_svg() {
    let dir = TempDir::new("plot");
    let ring = soak(&dir);
    let (code, svg, err) = plot(&ring);
    assert_eq!(code, 0, "{err}");
    let path = dir.join("soak.svg");
    std::fs::write(&path, &svg).unwrap();
    let v = parse(path.to_str().unwrap());
    assert_eq!(v["external"].as_array().unwrap().len(), 0, "self-contained: no script, image or link");
    let lines = v["lines"].as_array().unwrap();
    let names: Vec<&str> = lines.iter().map(|l| l["name"].as_str().unwrap()).collect();
    // The totals, then the caches that grew (the churning dentry did not).
    assert_eq!(names, ["Slab", "SUnreclaim", "Unaccounted", "leak_b_<&>", "leak_a"], "{v}");
    // Unaccounted rose: its line ends higher (smaller y) than it starts.
    let ys = lines[2]["ys"].as_array().unwrap();
    assert!(ys.last().unwrap().as_i64() < ys.first().unwrap().as_i64(), "{ys:?}");
    assert!(lines[2]["points"].as_u64().unwrap() >= 400, "one point per logged sample");
    let markers: Vec<&str> = v["markers"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(markers.iter().any(|m| m.starts_with("LEAK leak_a +")), "{markers:?}");
    assert!(markers.iter().any(|m| m.starts_with("LEAK leak_b_<&> +")), "{markers:?}");
    assert!(markers.iter().any(|m| m.starts_with("recovered leak_a")), "{markers:?}");
    assert_eq!(markers.iter().filter(|m| m.starts_with("kernel OOM report")).count(), 1, "{markers:?}");
    let texts = v["texts"].to_string();
    assert!(texts.contains("419 samples over 6m59s") || texts.contains(" samples over "), "{texts}");

    // A browser draws it: the lines' blue and the LEAK markers' red are on the screen.
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok())
    else {
        return common::skip("a_soak_becomes_one_self_contained_svg: browser", "no chromium installed");
    };
    let shot = dir.join("shot.png");
    let o = Command::new("timeout")
        .args(["120", browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--window-size={},{}", v["width"], v["height"]))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", path.display()))
        .output()
        .unwrap();
    assert!(shot.exists(), "{browser} made no screenshot: {}", String::from_utf8_lossy(&o.stderr));
    let (w, h, rgb) = png_rgb(&std::fs::read(&shot).unwrap());
    assert_eq!((w, h), (v["width"].as_u64().unwrap() as usize, v["height"].as_u64().unwrap() as usize));
    let count = |c: [u8; 3]| rgb.chunks(3).filter(|p| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 24)).count();
    let (blue, red, white) = (count([0x00, 0x72, 0xb2]), count([0xd6, 0x27, 0x28]), count([0xff, 0xff, 0xff]));
    eprintln!("{browser}: {w}x{h}, {blue} blue, {red} red, {white} white pixels");
    assert!(blue > 300 && red > 300 && white > w * h / 2, "{blue} blue, {red} red, {white} white");
}

/// The pixels of an 8-bit RGB or RGBA PNG, as RGB.
fn png_rgb(png: &[u8]) -> (usize, usize, Vec<u8>) {
    use std::io::Read;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (mut at, mut w, mut h, mut bpp, mut idat) = (8, 0, 0, 0, Vec::new());
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let (kind, data) = (&png[at + 4..at + 8], &png[at + 8..at + 8 + len]);
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
                h = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "8-bit");
                bpp = match data[9] {
                    2 => 3,
                    6 => 4,
                    t => panic!("PNG colour type {t}"),
                };
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).unwrap();
    let stride = w * bpp;
    let mut img = vec![0u8; h * stride];
    for y in 0..h {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= bpp { img[y * stride + x - bpp] as i16 } else { 0 };
            let b = if y > 0 { img[(y - 1) * stride + x] as i16 } else { 0 };
            let c = if x >= bpp && y > 0 { img[(y - 1) * stride + x - bpp] as i16 } else { 0 };
            let pred = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("PNG filter {f}"),
            };
            img[y * stride + x] = (line[x] as i16 + pred) as u8;
        }
    }
    (w, h, img.chunks(bpp).flat_map(|p| [p[0], p[1], p[2]]).collect())
}

#[test]
fn plot_says_what_it_cannot_draw() {
    let dir = TempDir::new("plot-bad");
    let (code, _, err) = plot(dir.join("missing.ring").to_str().unwrap());
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no such file"), "{err}");
    // A ring log with no sample yet (kleak stopped at once): nothing to draw.
    let ring = dir.join("empty.ring");
    let opts = LogOpts { path: ring.to_str().unwrap().into(), size: 64 * 1024, every_secs: 60.0, sync_secs: 1.0 };
    let mut log = RingLog::open(opts, 0.0).unwrap();
    log.append(kleak::ring::Kind::Note, br#"{"kind":"note"}"#, 0.0);
    log.sync(0.0);
    let (code, out, err) = plot(ring.to_str().unwrap());
    assert_eq!((code, out.as_str()), (3, ""), "{err}");
    assert!(err.contains("no logged sample"), "{err}");
}

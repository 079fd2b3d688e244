//! `watch --listen`: the metrics endpoint, checked from outside like Prometheus sees it.
//! The body is parsed by the Python prometheus_client parser and checked by `promtool`;
//! bad requests (1 MB of header, POST, `/../`, a slowloris, more connections than slots)
//! are refused while sampling goes on; 1,000 scrapes leave kleak's RSS flat.

mod common;

use common::{kleak, LiveTree, TempDir};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `kleak watch --listen 127.0.0.1:0` running on a tree; JSON lines go to a file.
struct Served {
    child: Child,
    addr: SocketAddr,
    stdout: std::path::PathBuf,
    _dir: TempDir,
}

impl Served {
    fn start(name: &str, root: &str, extra: &[&str]) -> Served {
        let dir = TempDir::new(name);
        let stdout = dir.join("stdout");
        let mut child = kleak()
            .args(["--root", root, "--json", "watch", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // kleak tells where it listens, on stderr, before its first sample line.
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "kleak ended before listening");
            if let Some(rest) = line.strip_prefix("kleak: serving http://") {
                break rest.trim_end().strip_suffix("/metrics").unwrap().parse().unwrap();
            }
        };
        // Keep draining stderr so kleak never blocks on it.
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Served { child, addr, stdout, _dir: dir }
    }

    /// Sends `request` on a new connection; the reply's status and body (status 0 when the
    /// connection was reset or closed without a reply).
    fn ask(&self, request: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = s.write_all(request);
        let mut reply = Vec::new();
        let _ = s.read_to_end(&mut reply);
        let text = String::from_utf8_lossy(&reply).into_owned();
        let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
        (status, body)
    }

    fn scrape(&self) -> String {
        let (status, body) = self.ask(b"GET /metrics HTTP/1.1\r\nHost: kleak\r\nAccept: text/plain\r\n\r\n");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Stops kleak with SIGTERM; its JSON lines.
    fn stop(mut self) -> Vec<serde_json::Value> {
        unsafe_kill(self.child.id() as i32, 15);
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), Some(0));
        common::json_lines(&std::fs::read_to_string(&self.stdout).unwrap())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: i32, sig: i32) {
    Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap();
}

/// The value of the series `name{labels}` (labels as written by kleak), if present.
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn samples(body: &str) -> f64 {
    value(body, "kleak_samples_total").expect("kleak_samples_total")
}

#[test]
fn scrapes_parse_and_name_the_leaking_cache() {
    let tree = LiveTree::new("listen", "leaky_cache", |i, _| 1000 + 300 * i);
    let k = Served::start("listen-parse", tree.root(), &["--interval", "0.05", "--window", "2s"]);
    assert_eq!(k.addr.ip().to_string(), "127.0.0.1");
    // Scrape until the verdict shows (2 s of window, plus emulation's slowness).
    let started = Instant::now();
    let suspect = r#"kleak_leak_suspect{source="slab",name="leaky_cache"}"#;
    let body = loop {
        let body = k.scrape();
        if value(&body, suspect) == Some(1.0) {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no suspect after 60 s:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let dir = TempDir::new("listen-parse-body");
    let path = dir.join("metrics");
    std::fs::write(&path, &body).unwrap();
    let check = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    assert fam.documentation, fam.name
    for s in fam.samples:
        print(fam.type, s.name, dict(sorted(s.labels.items())), float(s.value))
"#;
    let o = Command::new("python3").args(["-c", check, path.to_str().unwrap()]).output().expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let parsed = String::from_utf8(o.stdout).unwrap();
    for want in [
        "gauge kleak_up {} 1.0",
        "counter kleak_samples_total {}",
        "gauge kleak_sample_seconds {}",
        "gauge kleak_build_info {'arch': ",
        "gauge kleak_slab_bytes {'cache': 'leaky_cache'}",
        "gauge kleak_leak_suspect {'name': 'leaky_cache', 'source': 'slab'} 1.0",
        "gauge kleak_meminfo_bytes {'name': 'Unaccounted'}",
    ] {
        assert!(parsed.contains(want), "{want} not in:\n{parsed}");
    }
    // The next scrape is a later sample.
    let before = samples(&body);
    let started = Instant::now();
    while samples(&k.scrape()) <= before {
        assert!(started.elapsed() < Duration::from_secs(30), "sampling stopped");
        std::thread::sleep(Duration::from_millis(50));
    }
    match Command::new("promtool").args(["check", "metrics"]).stdin(std::fs::File::open(&path).unwrap()).output() {
        Ok(o) => assert!(
            o.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) => common::skip("promtool check metrics", "promtool not installed (tests/deps.sh installs it)"),
    }
    let lines = k.stop();
    let summary = lines.iter().find(|l| l["kind"] == "summary").unwrap();
    assert!(summary["scrapes"].as_u64().unwrap() >= 2, "{summary}");
}

#[test]
fn bad_requests_are_refused_while_sampling_goes_on() {
    let tree = LiveTree::new("listen-bad", "leaky_cache", |i, _| 1000 + i);
    let k = Served::start("listen-bad", tree.root(), &["--interval", "0.05"]);
    let before = samples(&k.scrape());
    // 1 MB of header: refused once the request buffer is full (or reset while sending).
    let mut huge = b"GET /metrics HTTP/1.1\r\nX-Big: ".to_vec();
    huge.resize(1 << 20, b'a');
    let (status, _) = k.ask(&huge);
    assert!(status == 431 || status == 0, "1 MB header: {status}");
    assert_eq!(k.ask(b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1").0, 405);
    assert_eq!(k.ask(b"GET /../metrics HTTP/1.1\r\n\r\n").0, 404);
    assert_eq!(k.ask(b"GET /metrics/../../etc/passwd HTTP/1.1\r\n\r\n").0, 404);
    assert_eq!(k.ask(b"GET / HTTP/1.1\r\n\r\n").0, 404);
    assert_eq!(k.ask(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n").0, 400, "a TLS hello");

    // A slowloris, a header line now and then, never done: closed at its deadline (3 s,
    // HTTP_DEADLINE_SECS), while a normal scrape is served meanwhile.
    let opened = Instant::now();
    let mut slow = TcpStream::connect(k.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
    let mut served_meanwhile = false;
    let closed_after = loop {
        let mut b = [0u8; 256];
        match slow.read(&mut b) {
            Ok(_) => break opened.elapsed(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break opened.elapsed(),
        }
        if slow.write_all(b"X-Slow: 1\r\n").is_err() {
            break opened.elapsed();
        }
        if !served_meanwhile {
            k.scrape();
            served_meanwhile = true;
        }
        assert!(opened.elapsed() < Duration::from_secs(30), "the slowloris was never closed");
    };
    assert!(served_meanwhile);
    assert!(closed_after >= Duration::from_secs(3), "closed after {closed_after:?}, before its deadline");

    // Every slot taken by a silent connection: the next one gets a 503, at once.
    let idle: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(k.addr).unwrap()).collect();
    let t = Instant::now();
    let mut status = 0;
    while status != 503 {
        // A slot is only taken once kleak has accepted the connection: try again.
        status = k.ask(b"GET /metrics HTTP/1.1\r\n\r\n").0;
        assert!(t.elapsed() < Duration::from_secs(20), "no 503 with every slot taken: {status}");
    }
    // Their deadline frees the slots.
    let t = Instant::now();
    while k.ask(b"GET /metrics HTTP/1.1\r\n\r\n").0 != 200 {
        assert!(t.elapsed() < Duration::from_secs(30), "slots never freed");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(idle);
    let after = samples(&k.scrape());
    assert!(after > before + 10.0, "sampling went on: {before} -> {after} samples");
    let lines = k.stop();
    let summary = lines.iter().find(|l| l["kind"] == "summary").unwrap();
    assert!(summary["scrapes_refused"].as_u64().unwrap() >= 6, "{summary}");
    assert!(summary["scrapes_dropped"].as_u64().unwrap() >= 9, "{summary}");
    assert_eq!(lines.iter().filter(|l| l["kind"] == "sample").count() as f64, summary["samples"].as_f64().unwrap());
}

/// Resident set of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_thousand_scrapes_keep_rss_flat() {
    // A cache that only churns: no alert path runs for the first time in the middle (its
    // first use touches pages and, under qemu-user, translates code).
    let tree = LiveTree::new("listen-rss", "churning_cache", |i, _| 1000 + i % 7);
    let k = Served::start("listen-rss", tree.root(), &["--interval", "0.02", "--window", "2s"]);
    for _ in 0..200 {
        k.scrape();
    }
    let before = rss_kib(k.child.id());
    for _ in 0..1000 {
        k.scrape();
    }
    let after = rss_kib(k.child.id());
    eprintln!("RSS after 200 scrapes {before} KiB, after 1,200 {after} KiB");
    // No allocation per request (tests/no_alloc.rs counts); under qemu-user the process
    // is the emulator too, whose translated code grows a little.
    assert!(after <= before + 64, "RSS grew from {before} to {after} KiB over 1,000 scrapes");
    let lines = k.stop();
    let summary = lines.iter().find(|l| l["kind"] == "summary").unwrap();
    assert_eq!(summary["scrapes"].as_u64(), Some(1200), "{summary}");
}

#[test]
fn listen_works_with_log_procs_and_kmemleak_groups_are_metrics() {
    // A tree with a real kmemleak report in a regular file standing in for debugfs.
    let tree = LiveTree::new("listen-km", "leaky_cache", |i, _| 1000 + i);
    let debug = tree.dir.join("sys/kernel/debug");
    std::fs::create_dir_all(&debug).unwrap();
    std::fs::copy(common::corpus().join("kmemleak/syzbot-email_10.txt"), debug.join("kmemleak")).unwrap();
    let log = tree.dir.join("ring");
    let k = Served::start(
        "listen-km",
        tree.root(),
        &["--interval", "0.05", "--kmemleak-every", "1", "--procs", "3", "--log", log.to_str().unwrap()],
    );
    let t = Instant::now();
    let body = loop {
        let body = k.scrape();
        if body.contains("kleak_kmemleak_objects{") {
            break body;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "no kmemleak groups:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let groups: Vec<&str> = body.lines().filter(|l| l.starts_with("kleak_kmemleak_objects{fingerprint=\"")).collect();
    assert!(groups.len() >= 2, "{body}");
    assert!(body.contains("# TYPE kleak_kmemleak_bytes gauge\n"));
    let objects: f64 = groups.iter().map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap()).sum();
    assert_eq!(objects, 21.0, "the report's 21 objects");
    k.stop();
    assert!(std::fs::metadata(&log).unwrap().len() > 0);
}

#[test]
fn a_leaking_process_is_a_metric_with_pid() {
    // --pid on a tree: process 4242's statm is rewritten in place, its RSS growing 64 KiB
    // (16 pages) every 10 ms; the suspect shows as `comm[pid] rss`, as alerts name it.
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    let tree = LiveTree::new("listen-pid", "steady_cache", |_, _| 1000);
    let dir = tree.dir.join("proc/4242");
    std::fs::create_dir_all(&dir).unwrap();
    let stat = "4242 (leakyd) S 1 4242 4242 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0";
    std::fs::write(dir.join("stat"), stat).unwrap();
    let statm = |pages: u64| format!("{:>12} {:>12} 10 5 0 {:>12} 0", pages * 2, pages, pages);
    std::fs::write(dir.join("statm"), statm(1000)).unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let grower = {
        let (stop, f) = (stop.clone(), std::fs::OpenOptions::new().write(true).open(dir.join("statm")).unwrap());
        std::thread::spawn(move || {
            let mut pages = 1000;
            while !stop.load(Ordering::Relaxed) {
                pages += 16;
                f.write_all_at(statm(pages).as_bytes(), 0).unwrap();
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let k = Served::start("listen-pid", tree.root(), &["--interval", "0.05", "--window", "2s", "--pid", "4242"]);
    let t = Instant::now();
    let suspect = r#"kleak_leak_suspect{source="process",name="leakyd[4242] rss"}"#;
    loop {
        let body = k.scrape();
        if value(&body, suspect) == Some(1.0) {
            assert!(!body.contains(r#"name="steady_cache""#), "{body}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "no process suspect:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    k.stop();
    stop.store(true, Ordering::Relaxed);
    grower.join().unwrap();
}

#[test]
fn listen_binds_only_where_told() {
    // A port alone is loopback; `:PORT` is refused (write 0.0.0.0:PORT), like a bad port.
    let (code, _, err) = common::run(&["watch", "--listen", ":9447", "--count", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("0.0.0.0:9447"), "{err}");
    let (code, _, err) = common::run(&["watch", "--listen", "localhost:80", "--count", "1"]);
    assert_eq!(code, 2, "{err}");
    // A port in use is an environment error, named.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let tree = common::fixtures().join("host-x86_64-6.18");
    let (code, _, err) = common::run(&["--root", tree.to_str().unwrap(), "watch", "--listen", &port, "--count", "1"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains(&format!("--listen 127.0.0.1:{port}: ")), "{err}");
}

// ---- The farm: board-scripts/prometheus/ and a real Prometheus ----

fn farm() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("board-scripts/prometheus")
}

/// Runs a tool in board-scripts/prometheus; None when it is not installed.
fn tool(program: &str, args: &[&str]) -> Option<std::process::Output> {
    Command::new(program).args(args).current_dir(farm()).output().ok()
}

#[test]
fn the_rules_and_the_example_config_pass_promtool() {
    let Some(o) = tool("promtool", &["check", "rules", "kleak.rules.yml"]) else {
        return common::skip("promtool checks", "promtool not installed (tests/deps.sh installs Debian's prometheus)");
    };
    let text = |o: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    assert!(o.status.success() && text(&o).contains("SUCCESS: 4 rules found"), "{}", text(&o));
    // The rules' own unit tests: each alert fires when it should, and not before.
    let o = tool("promtool", &["test", "rules", "kleak.rules.test.yml"]).unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = tool("promtool", &["check", "config", "prometheus.yml"]).unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// The PromQL expressions of the dashboard: every panel's targets and the annotations,
/// with Grafana's variables given values Prometheus takes.
fn dashboard_exprs() -> Vec<String> {
    let d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(farm().join("kleak-dashboard.json")).unwrap()).unwrap();
    let mut exprs = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    for a in d["annotations"]["list"].as_array().unwrap() {
        exprs.push(a["expr"].as_str().unwrap().to_string());
    }
    exprs.iter().map(|e| e.replace("$instance", ".*").replace("$__range", "5m")).collect()
}

/// `GET path` over HTTP/1.0 (no chunked replies); status and body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(addr) else { return (0, String::new()) };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string())
}

/// Prometheus's instant query API: the result vector.
fn query(addr: SocketAddr, promql: &str) -> Vec<serde_json::Value> {
    let mut q = String::new();
    for b in promql.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' => q.push(b as char),
            _ => q.push_str(&format!("%{b:02X}")),
        }
    }
    let (status, body) = get(addr, &format!("/api/v1/query?query={q}"));
    assert_eq!(status, 200, "{promql}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{promql}: {body}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_kleak_and_sees_the_leak() {
    if Command::new("prometheus").arg("--version").output().is_err() {
        return common::skip(
            "a_real_prometheus_scrapes_kleak_and_sees_the_leak",
            "no prometheus binary (tests/deps.sh installs Debian's prometheus)",
        );
    }
    // A leaking tree with a kmemleak report, so every metric the dashboard uses exists.
    let tree = LiveTree::new("prometheus", "leaky_cache", |i, _| 1000 + 300 * i);
    let debug = tree.dir.join("sys/kernel/debug");
    std::fs::create_dir_all(&debug).unwrap();
    std::fs::copy(common::corpus().join("kmemleak/syzbot-email_10.txt"), debug.join("kmemleak")).unwrap();
    let k = Served::start(
        "prometheus-kleak",
        tree.root(),
        &["--interval", "0.05", "--window", "2s", "--kmemleak-every", "1"],
    );
    let dir = TempDir::new("prometheus");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let prom: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: kleak\n    static_configs:\n      - targets: ['{}']\n",
        farm().join("kleak.rules.yml").display(),
        k.addr
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let _p = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={prom}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let prom_log = || std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
    while get(prom, "/-/ready").0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(60), "Prometheus never ready:\n{}", prom_log());
        std::thread::sleep(Duration::from_millis(200));
    }
    // Two scrapes, and the leak judged: the suspect is in Prometheus.
    let suspects = loop {
        let scrapes = query(prom, "count_over_time(kleak_samples_total[10m])");
        let scraped = scrapes.first().and_then(|r| r["value"][1].as_str()?.parse::<u32>().ok()).unwrap_or(0);
        let suspects = query(prom, "kleak_leak_suspect");
        if scraped >= 2 && suspects.iter().any(|s| s["metric"]["name"] == "leaky_cache") {
            break suspects;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{scraped} scrapes, suspects {suspects:?}\n{}",
            prom_log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let s = suspects.iter().find(|s| s["metric"]["name"] == "leaky_cache").unwrap();
    assert_eq!(
        (&s["metric"]["source"], &s["metric"]["job"], &s["value"][1]),
        (&"slab".into(), &"kleak".into(), &"1".into())
    );
    assert_eq!(query(prom, "kleak_up")[0]["value"][1], "1");
    // The dashboard asks only for metrics kleak serves, in PromQL Prometheus accepts.
    let body = loop {
        let body = k.scrape();
        if body.contains("# TYPE kleak_kmemleak_objects ") {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "no kmemleak groups:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let served: std::collections::HashSet<&str> =
        body.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next()).collect();
    for e in dashboard_exprs() {
        for name in e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with("kleak_")) {
            assert!(served.contains(name), "the dashboard's {name} is not served:\n{e}");
        }
        query(prom, &e);
    }
    // The rules loaded, and none fails to evaluate.
    let (_, rules) = get(prom, "/api/v1/rules");
    let rules: serde_json::Value = serde_json::from_str(&rules).unwrap();
    let names: Vec<&str> =
        rules["data"]["groups"][0]["rules"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["KleakSuspectLeak", "KleakUnaccountedRising", "KleakKmemleakObjects", "KleakDown"]);
    for r in rules["data"]["groups"][0]["rules"].as_array().unwrap() {
        assert_ne!(r["health"], "err", "{r}");
    }
    k.stop();
}

#[test]
fn the_prom_file_and_the_endpoint_hold_the_same_metrics() {
    // One renderer for both: after a sample, the --prom file and a scrape are byte for byte
    // the same (driven in process, so both see the very same sample).
    use kleak::engine::watch::Watch;
    use kleak::out::export::PromFile;
    use kleak::sample::{FsRoot, Sampler};
    let dir = TempDir::new("listen-same");
    let tree = common::fixtures().join("host-x86_64-6.18");
    let mut s = Sampler::new(FsRoot::tree(tree.to_str().unwrap()));
    s.sample(0.0);
    let mut w = Watch::new(s);
    let prom = dir.join("kleak.prom");
    w.prom = Some(PromFile::new(prom.to_str().unwrap()));
    w.server = Some(kleak::out::http::Server::bind("127.0.0.1:0".parse().unwrap()).unwrap());
    let addr = w.server.as_ref().unwrap().addr;
    let mut out = kleak::out::Out::new(kleak::out::Target::Null, kleak::out::Style::default());
    w.step(&mut out, 1.0).unwrap();
    let client = std::thread::spawn(move || get(addr, "/metrics"));
    while !client.is_finished() {
        w.rest(0.01);
    }
    let (status, body) = client.join().unwrap();
    assert_eq!(status, 200);
    let file = std::fs::read_to_string(&prom).unwrap();
    assert!(body.contains("kleak_slab_bytes{cache=\"dentry\"}") && body.contains("kleak_samples_total 2\n"));
    assert_eq!(body, file);
}

//! `watch --listen`: the metrics of the latest sample over HTTP, for Prometheus.
//!
//! No threads and no blocking call: the watch loop waits on [`Server::fds`] together with
//! the kernel log (`sys::poll`, until the next sample or a connection's deadline), then
//! [`Server::serve`] does only what is ready. One request per connection: `GET /metrics`
//! (or `HEAD`) gets the body [`super::export::prometheus`] renders, the same one `--prom`
//! files hold; anything else gets a short 4xx and the connection is closed. Nothing but
//! reading the latest sample is reachable from the socket.
//!
//! Every buffer is allocated in [`Server::bind`]: connection slots with their request
//! buffers ([`HTTP_MAX_CONNS`] × [`HTTP_REQUEST_BYTES`]) and the body
//! ([`HTTP_BODY_BYTES`]). The body is rendered at the first scrape after a sample and then
//! served as it is; it is never rewritten while a reply is still sending it.

use crate::limits::{HTTP_BODY_BYTES, HTTP_DEADLINE_SECS, HTTP_MAX_CONNS, HTTP_REQUEST_BYTES};
use crate::sys::{Errno, File, Listener, PollFd, POLLIN, POLLOUT};
use core::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The port `--listen` binds when given none, and the address when given only a port.
pub const DEFAULT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9447);

/// Parses `--listen [ADDR:]PORT`: `9447` is `127.0.0.1:9447`; every other address is
/// written out (`0.0.0.0:9447`, `[::]:9447`), so kleak never listens beyond the board by
/// accident.
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::new(DEFAULT.ip(), port));
    }
    if s.starts_with(':') {
        return Err(format!("`{s}`: write the address to listen on (0.0.0.0{s} for every one, or just the port)"));
    }
    s.parse::<SocketAddr>().map_err(|_| format!("`{s}` is not PORT or ADDR:PORT (e.g. 9447, 0.0.0.0:9447, [::1]:9447)"))
}

/// An address as `--listen` and its messages write it: `127.0.0.1:9447`, `[0:0:0:0:0:0:0:1]:9447`
/// (IPv6 uncompressed: core's formatting of it costs the board binary ~3 KB).
pub struct Addr(pub SocketAddr);

impl core::fmt::Display for Addr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0.ip() {
            IpAddr::V4(ip) => {
                let [a, b, c, d] = ip.octets();
                write!(f, "{a}.{b}.{c}.{d}")?;
            }
            IpAddr::V6(ip) => {
                for (i, g) in ip.segments().iter().enumerate() {
                    f.write_str(if i == 0 { "[" } else { ":" })?;
                    write!(f, "{g:x}")?;
                }
                f.write_str("]")?;
            }
        }
        write!(f, ":{}", self.0.port())
    }
}

/// A byte buffer that text is formatted into; what does not fit is dropped and remembered.
pub struct Buf<'a> {
    buf: &'a mut [u8],
    len: usize,
    /// Something did not fit.
    pub cut: bool,
}

impl<'a> Buf<'a> {
    /// An empty buffer over `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Buf { buf, len: 0, cut: false }
    }

    /// Bytes written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            self.cut = true;
        }
        Ok(())
    }
}

/// What the server has done since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Metrics replies sent whole.
    pub served: u64,
    /// Requests answered with a 4xx (bad method, path, version; too long).
    pub refused: u64,
    /// Connections turned away with a 503: every slot was taken.
    pub busy: u64,
    /// Connections closed at their deadline, or by an error.
    pub dropped: u64,
    /// Metrics bodies cut at [`HTTP_BODY_BYTES`].
    pub cut: u64,
}

/// A connection slot.
struct Conn {
    file: Option<File>,
    deadline: f64,
    /// The request as read; then the reply's head (and the whole reply, for an error).
    buf: Box<[u8; HTTP_REQUEST_BYTES]>,
    len: usize,
    reply: Option<Reply>,
}

/// A reply on its way out: the head in the slot's buffer, then the body if `body`.
#[derive(Clone, Copy)]
struct Reply {
    head: usize,
    body: bool,
    sent: usize,
    ok: bool,
}

/// The metrics endpoint.
pub struct Server {
    listener: Listener,
    /// The address bound (with the kernel's port when port 0 was asked for).
    pub addr: SocketAddr,
    conns: Box<[Conn]>,
    body: Box<[u8]>,
    body_len: usize,
    /// The sample the body was rendered from.
    body_sample: Option<u32>,
    /// accept(2) failed (EMFILE…): the listener is not waited on until then, or the wait
    /// would return at once, again and again.
    accept_paused_until: f64,
    /// What was served and refused.
    pub stats: Stats,
}

impl Server {
    /// Binds `addr` and allocates every buffer the server will use.
    pub fn bind(addr: SocketAddr) -> Result<Server, Errno> {
        let listener = Listener::bind(addr, 2 * HTTP_MAX_CONNS as i32)?;
        let addr = SocketAddr::new(addr.ip(), listener.port()?);
        let conns = (0..HTTP_MAX_CONNS)
            .map(|_| Conn { file: None, deadline: 0.0, buf: Box::new([0; HTTP_REQUEST_BYTES]), len: 0, reply: None })
            .collect();
        Ok(Server {
            listener,
            addr,
            conns,
            body: vec![0; HTTP_BODY_BYTES].into_boxed_slice(),
            body_len: 0,
            body_sample: None,
            accept_paused_until: 0.0,
            stats: Stats::default(),
        })
    }

    /// Adds what to wait for to `fds`: new connections, requests to read, replies to send.
    pub fn fds<const N: usize>(&self, fds: &mut heapless::Vec<PollFd, N>, now: f64) {
        if now >= self.accept_paused_until {
            let _ = fds.push(PollFd { fd: self.listener.fd(), events: POLLIN, revents: 0 });
        }
        for c in self.conns.iter() {
            if let Some(f) = &c.file {
                let events = if c.reply.is_some() { POLLOUT } else { POLLIN };
                let _ = fds.push(PollFd { fd: f.fd(), events, revents: 0 });
            }
        }
    }

    /// The earliest deadline of an open connection (or of a pause in accepting): the
    /// loop's wait ends there.
    pub fn next_deadline(&self) -> Option<f64> {
        let conns = self.conns.iter().filter(|c| c.file.is_some()).map(|c| c.deadline);
        conns.chain(Some(self.accept_paused_until).filter(|&t| t > 0.0)).reduce(f64::min)
    }

    /// Does what `fds` (after `sys::poll`) say is ready, and closes connections past their
    /// deadline. `sample` numbers the latest sample; `render` writes its metrics, and is
    /// called at most once, when a reply needs a body newer than the one kept.
    pub fn serve(&mut self, fds: &[PollFd], now: f64, sample: u32, mut render: impl FnMut(&mut Buf)) {
        if now >= self.accept_paused_until {
            self.accept_paused_until = 0.0;
        }
        for c in self.conns.iter_mut().filter(|c| c.file.is_some() && c.deadline <= now) {
            if c.reply.is_none() {
                // A request still coming in: tell it, if the socket takes it at once.
                let head = error_head(&mut c.buf[..], 408);
                let _ = c.file.as_ref().map(|f| f.send(&c.buf[..head]));
            }
            self.stats.dropped += 1;
            c.close();
        }
        for p in fds.iter().filter(|p| p.revents != 0) {
            if p.fd == self.listener.fd() {
                self.accept(now);
                continue;
            }
            let Some(i) = self.conns.iter().position(|c| c.file.as_ref().is_some_and(|f| f.fd() == p.fd)) else {
                continue;
            };
            if self.conns[i].reply.is_none() {
                self.read(i, sample, &mut render);
            }
            if self.conns[i].reply.is_some() {
                self.send(i);
            }
        }
    }

    /// Takes the waiting connections: into a free slot, or a 503 when there is none.
    fn accept(&mut self, now: f64) {
        // Bounded: a flood waits in the backlog for the next round.
        for _ in 0..2 * HTTP_MAX_CONNS {
            let file = match self.listener.accept() {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(_) => {
                    // Out of descriptors or memory: look again in a second.
                    self.accept_paused_until = now + 1.0;
                    return;
                }
            };
            let Some(c) = self.conns.iter_mut().find(|c| c.file.is_none()) else {
                let mut head = [0u8; 160];
                let n = error_head(&mut head, 503);
                let _ = file.send(&head[..n]);
                self.stats.busy += 1;
                continue;
            };
            c.file = Some(file);
            c.deadline = now + HTTP_DEADLINE_SECS;
        }
    }

    /// Reads what came of connection `i`'s request; answers it once it is whole.
    fn read(&mut self, i: usize, sample: u32, render: &mut impl FnMut(&mut Buf)) {
        let c = &mut self.conns[i];
        let Some(f) = c.file.as_ref() else { return };
        match f.read(&mut c.buf[c.len..]) {
            Ok(0) => {
                // The peer closed before asking anything.
                self.stats.dropped += 1;
                return c.close();
            }
            Ok(n) => c.len += n,
            Err(e) if e == Errno::EAGAIN || e == Errno::EINTR => return,
            Err(_) => {
                self.stats.dropped += 1;
                return c.close();
            }
        }
        let req = &c.buf[..c.len];
        let whole = req.windows(4).any(|w| w == b"\r\n\r\n") || req.windows(2).any(|w| w == b"\n\n");
        let status = match (whole, c.len == HTTP_REQUEST_BYTES) {
            (true, _) => judge(req),
            (false, true) => 431,
            (false, false) => return,
        };
        let head_only = req.starts_with(b"HEAD ");
        if status != 200 {
            let head = error_head(&mut c.buf[..], status);
            c.reply = Some(Reply { head, body: false, sent: 0, ok: false });
            return;
        }
        // The body of the latest sample, unless a reply is still sending the one kept.
        let sending = self.conns.iter().any(|c| c.reply.is_some_and(|r| r.body && r.sent > 0));
        if self.body_sample != Some(sample) && !sending {
            let mut b = Buf::new(&mut self.body);
            render(&mut b);
            let mut len = b.len();
            if b.cut {
                // Whole lines only.
                len = self.body[..len].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
                self.stats.cut += 1;
            }
            self.body_len = len;
            self.body_sample = Some(sample);
        }
        let c = &mut self.conns[i];
        let mut w = Buf::new(&mut c.buf[..]);
        let _ = write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body_len
        );
        c.reply = Some(Reply { head: w.len(), body: !head_only, sent: 0, ok: true });
    }

    /// Sends what the socket takes of connection `i`'s reply; closes it once sent.
    fn send(&mut self, i: usize) {
        let c = &mut self.conns[i];
        let (Some(f), Some(mut r)) = (c.file.as_ref(), c.reply) else { return };
        let body = if r.body { &self.body[..self.body_len] } else { &[][..] };
        while r.sent < r.head + body.len() {
            let part = if r.sent < r.head { &c.buf[r.sent..r.head] } else { &body[r.sent - r.head..] };
            match f.send(part) {
                Ok(n) => r.sent += n,
                Err(e) if e == Errno::EINTR => continue,
                Err(e) if e == Errno::EAGAIN => {
                    c.reply = Some(r);
                    return;
                }
                Err(_) => {
                    self.stats.dropped += 1;
                    return c.close();
                }
            }
        }
        if r.ok {
            self.stats.served += 1;
        } else {
            self.stats.refused += 1;
        }
        c.close();
    }
}

impl Conn {
    fn close(&mut self) {
        self.file = None;
        self.reply = None;
        self.len = 0;
    }
}

/// The status a whole request gets: 200 for `GET /metrics` (or `HEAD`, or with a query).
fn judge(req: &[u8]) -> u16 {
    let line = req.split(|&b| b == b'\n').next().unwrap_or(b"");
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return 400;
    };
    if !version.starts_with(b"HTTP/1.") {
        return 400;
    }
    if method != b"GET" && method != b"HEAD" {
        return 405;
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or(b"");
    if path != b"/metrics" {
        return 404;
    }
    200
}

/// Writes a whole error reply for `status` into `buf`; its length.
fn error_head(buf: &mut [u8], status: u16) -> usize {
    let (reason, text) = match status {
        400 => ("Bad Request", "bad request\n"),
        404 => ("Not Found", "kleak serves GET /metrics only\n"),
        405 => ("Method Not Allowed", "GET /metrics only\n"),
        408 => ("Request Timeout", "too slow\n"),
        431 => ("Request Header Fields Too Large", "request too long\n"),
        _ => ("Service Unavailable", "busy\n"),
    };
    let allow = if status == 405 { "Allow: GET, HEAD\r\n" } else { "" };
    let mut w = Buf::new(buf);
    let _ = write!(
        w,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         {allow}Connection: close\r\n\r\n{text}",
        text.len()
    );
    w.len()
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn only_get_metrics_is_served() {
        assert_eq!(judge(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
        assert_eq!(judge(b"HEAD /metrics HTTP/1.0\n\n"), 200);
        assert_eq!(judge(b"GET /metrics?name[]=up HTTP/1.1\r\n\r\n"), 200);
        assert_eq!(judge(b"POST /metrics HTTP/1.1\r\n\r\n"), 405);
        assert_eq!(judge(b"GET /../metrics HTTP/1.1\r\n\r\n"), 404);
        assert_eq!(judge(b"GET /metrics/../etc/passwd HTTP/1.1\r\n\r\n"), 404);
        assert_eq!(judge(b"GET / HTTP/1.1\r\n\r\n"), 404);
        assert_eq!(judge(b"GET /metrics\r\n\r\n"), 400);
        assert_eq!(judge(b"GET /metrics SPDY/3\r\n\r\n"), 400);
        assert_eq!(judge(b"GET  /metrics HTTP/1.1\r\n\r\n"), 400);
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen("9447"), Ok("127.0.0.1:9447".parse().unwrap()));
        assert_eq!(parse_listen("0.0.0.0:9100"), Ok("0.0.0.0:9100".parse().unwrap()));
        assert_eq!(parse_listen("[::1]:0"), Ok("[::1]:0".parse().unwrap()));
        assert!(parse_listen(":9447").unwrap_err().contains("0.0.0.0:9447"));
        assert!(parse_listen("localhost:9447").is_err());
        assert!(parse_listen("70000").is_err());
        let shown = |s: &str| Addr(parse_listen(s).unwrap()).to_string();
        assert_eq!(shown("9447"), "127.0.0.1:9447");
        assert_eq!(shown("[::1]:80"), "[0:0:0:0:0:0:0:1]:80");
        assert_eq!(shown("[fe80::1:ab]:0"), "[fe80:0:0:0:0:0:1:ab]:0");
    }

    #[test]
    fn an_error_reply_fits_its_slot_and_a_small_buffer() {
        for status in [400, 404, 405, 408, 431, 503] {
            let mut b = [0u8; 160];
            let n = error_head(&mut b, status);
            let text = core::str::from_utf8(&b[..n]).unwrap();
            assert!(text.starts_with(&format!("HTTP/1.1 {status} ")) && text.ends_with('\n'), "{text}");
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(head.contains(&format!("Content-Length: {}", body.len())), "{text}");
        }
    }
}

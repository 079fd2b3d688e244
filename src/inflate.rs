//! gzip (RFC 1952) and DEFLATE (RFC 1951) decoding, for /proc/config.gz.
//!
//! A small decoder in the manner of zlib's `contrib/puff`: canonical Huffman codes
//! decoded from per-length counts, one bit at a time. It reads a whole compressed input
//! that the caller holds and hands the output to a callback in pieces, keeping only
//! DEFLATE's 32 KiB window: memory is fixed (a little over 34 KiB, on the stack), whatever
//! the input. Every input is either decoded or refused with an [`Error`]; nothing panics
//! (the `inflate` fuzz target and the tests below hold it to that). The output is capped
//! at a caller's limit, so a small input that would expand without end is refused too.
//! The gzip trailer's CRC-32 and length are checked.

use crate::ring::crc32_update;

/// Why an input was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Not gzip (magic, method or reserved flags).
    NotGzip,
    /// The input ended inside the stream.
    Truncated,
    /// A block type 3, a stored block whose length check fails, or a bad code table.
    BadBlock,
    /// A code that no table holds, or a length/distance symbol out of range.
    BadCode,
    /// A distance further back than the output so far.
    BadDistance,
    /// The output would pass the caller's limit.
    TooLong,
    /// The trailer's CRC-32 or length does not match the output.
    BadTrailer,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Error::NotGzip => "not gzip (or zlib) data",
            Error::Truncated => "truncated gzip data",
            Error::BadBlock => "bad deflate block",
            Error::BadCode => "bad deflate code",
            Error::BadDistance => "deflate distance too far back",
            Error::TooLong => "output larger than allowed",
            Error::BadTrailer => "gzip checksum or length mismatch",
        })
    }
}

const MAX_BITS: usize = 15;
const WINDOW: usize = 32 * 1024;
const OUT_CHUNK: usize = 2048;

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u32,
    cnt: u32,
}

impl Bits<'_> {
    fn bits(&mut self, need: u32) -> Result<u32, Error> {
        let mut v = self.buf as u64;
        while self.cnt < need {
            let b = *self.data.get(self.pos).ok_or(Error::Truncated)?;
            self.pos += 1;
            v |= (b as u64) << self.cnt;
            self.cnt += 8;
        }
        self.buf = (v >> need) as u32;
        self.cnt -= need;
        Ok((v & ((1u64 << need) - 1)) as u32)
    }

    /// Drops the bits left in the current byte (before a stored block).
    fn align(&mut self) {
        self.buf = 0;
        self.cnt = 0;
    }
}

/// Symbols of the largest code (literals and lengths).
const MAX_SYMBOLS: usize = 288;

/// A canonical Huffman code: how many codes of each length, and the symbols in order.
/// One type for the three codes (not one per size: the board binary is small).
struct Huffman {
    count: [u16; MAX_BITS + 1],
    symbol: [u16; MAX_SYMBOLS],
}

impl Huffman {
    /// Builds the code from a length per symbol. An over-subscribed set of lengths is
    /// refused; an incomplete one is allowed (RFC 1951 permits a single distance code).
    fn new(lengths: &[u8]) -> Result<Self, Error> {
        let mut h = Huffman { count: [0; MAX_BITS + 1], symbol: [0; MAX_SYMBOLS] };
        if lengths.len() > MAX_SYMBOLS {
            return Err(Error::BadBlock);
        }
        for &l in lengths {
            h.count[l as usize] += 1;
        }
        if h.count[0] as usize == lengths.len() {
            return Ok(h);
        }
        let mut left: i32 = 1;
        for len in 1..=MAX_BITS {
            left <<= 1;
            left -= h.count[len] as i32;
            if left < 0 {
                return Err(Error::BadBlock);
            }
        }
        let mut offs = [0u16; MAX_BITS + 1];
        for len in 1..MAX_BITS {
            offs[len + 1] = offs[len] + h.count[len];
        }
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                h.symbol[offs[l as usize] as usize] = sym as u16;
                offs[l as usize] += 1;
            }
        }
        Ok(h)
    }

    fn decode(&self, b: &mut Bits<'_>) -> Result<u16, Error> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..=MAX_BITS {
            code |= b.bits(1)? as i32;
            let count = self.count[len] as i32;
            if code - count < first {
                return self.symbol.get((index + code - first) as usize).copied().ok_or(Error::BadCode);
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(Error::BadCode)
    }
}

const LEN_BASE: [u16; 29] =
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] =
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/// The output side: the window, a chunk for the callback, the running CRC and length.
struct Output<'f> {
    window: [u8; WINDOW],
    total: u64,
    limit: u64,
    chunk: [u8; OUT_CHUNK],
    used: usize,
    crc: u32,
    sink: &'f mut dyn FnMut(&[u8]),
}

impl Output<'_> {
    fn put(&mut self, b: u8) -> Result<(), Error> {
        if self.total >= self.limit {
            return Err(Error::TooLong);
        }
        self.window[(self.total % WINDOW as u64) as usize] = b;
        self.total += 1;
        self.chunk[self.used] = b;
        self.used += 1;
        if self.used == OUT_CHUNK {
            self.flush();
        }
        Ok(())
    }

    fn copy(&mut self, dist: u64, len: u16) -> Result<(), Error> {
        if dist > self.total || dist > WINDOW as u64 {
            return Err(Error::BadDistance);
        }
        for _ in 0..len {
            let b = self.window[((self.total - dist) % WINDOW as u64) as usize];
            self.put(b)?;
        }
        Ok(())
    }

    fn flush(&mut self) {
        if self.used > 0 {
            self.crc = crc32_update(self.crc, &self.chunk[..self.used]);
            (self.sink)(&self.chunk[..self.used]);
            self.used = 0;
        }
    }
}

fn codes(b: &mut Bits<'_>, out: &mut Output<'_>, lit: &Huffman, dist: &Huffman) -> Result<(), Error> {
    loop {
        let sym = lit.decode(b)?;
        match sym {
            0..=255 => out.put(sym as u8)?,
            256 => return Ok(()),
            _ => {
                let i = (sym - 257) as usize;
                let len = LEN_BASE.get(i).ok_or(Error::BadCode)? + b.bits(LEN_EXTRA[i] as u32)? as u16;
                let d = dist.decode(b)? as usize;
                let dist = *DIST_BASE.get(d).ok_or(Error::BadCode)? as u64 + b.bits(DIST_EXTRA[d] as u32)? as u64;
                out.copy(dist, len)?;
            }
        }
    }
}

fn fixed(b: &mut Bits<'_>, out: &mut Output<'_>) -> Result<(), Error> {
    let mut l = [0u8; 288];
    for (i, v) in l.iter_mut().enumerate() {
        *v = match i {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
    }
    let lit = Huffman::new(&l)?;
    let dist = Huffman::new(&[5; 30])?;
    codes(b, out, &lit, &dist)
}

fn dynamic(b: &mut Bits<'_>, out: &mut Output<'_>) -> Result<(), Error> {
    const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
    let nlen = b.bits(5)? as usize + 257;
    let ndist = b.bits(5)? as usize + 1;
    let ncode = b.bits(4)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return Err(Error::BadBlock);
    }
    let mut lengths = [0u8; 320];
    for &o in ORDER.iter().take(ncode) {
        lengths[o] = b.bits(3)? as u8;
    }
    let lencode = Huffman::new(&lengths[..19])?;
    let mut i = 0;
    while i < nlen + ndist {
        let sym = lencode.decode(b)?;
        if sym < 16 {
            lengths[i] = sym as u8;
            i += 1;
            continue;
        }
        let (value, repeat) = match sym {
            16 if i == 0 => return Err(Error::BadBlock),
            16 => (lengths[i - 1], 3 + b.bits(2)? as usize),
            17 => (0, 3 + b.bits(3)? as usize),
            _ => (0, 11 + b.bits(7)? as usize),
        };
        if i + repeat > nlen + ndist {
            return Err(Error::BadBlock);
        }
        lengths[i..i + repeat].fill(value);
        i += repeat;
    }
    if lengths[256] == 0 {
        return Err(Error::BadBlock);
    }
    let lit = Huffman::new(&lengths[..nlen])?;
    let dist = Huffman::new(&lengths[nlen..nlen + ndist])?;
    codes(b, out, &lit, &dist)
}

fn stored(b: &mut Bits<'_>, out: &mut Output<'_>) -> Result<(), Error> {
    b.align();
    let hdr = b.data.get(b.pos..b.pos + 4).ok_or(Error::Truncated)?;
    let len = u16::from_le_bytes([hdr[0], hdr[1]]);
    if len != !u16::from_le_bytes([hdr[2], hdr[3]]) {
        return Err(Error::BadBlock);
    }
    b.pos += 4;
    let body = b.data.get(b.pos..b.pos + len as usize).ok_or(Error::Truncated)?;
    b.pos += len as usize;
    for &x in body {
        out.put(x)?;
    }
    Ok(())
}

/// Decodes a raw DEFLATE stream; returns the input bytes it used.
fn deflate(data: &[u8], out: &mut Output<'_>) -> Result<usize, Error> {
    let mut b = Bits { data, pos: 0, buf: 0, cnt: 0 };
    loop {
        let last = b.bits(1)?;
        match b.bits(2)? {
            0 => stored(&mut b, out)?,
            1 => fixed(&mut b, out)?,
            2 => dynamic(&mut b, out)?,
            _ => return Err(Error::BadBlock),
        }
        if last == 1 {
            return Ok(b.pos);
        }
    }
}

/// Decodes one gzip member from `data`, calling `sink` with the output in pieces, at
/// most `limit` bytes of it. Returns the output's length.
pub fn gunzip(data: &[u8], limit: u64, sink: &mut dyn FnMut(&[u8])) -> Result<u64, Error> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let h = data.get(..10).ok_or(Error::NotGzip)?;
    if h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || h[3] & 0xe0 != 0 {
        return Err(Error::NotGzip);
    }
    let flags = h[3];
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let x = data.get(pos..pos + 2).ok_or(Error::Truncated)?;
        pos += 2 + u16::from_le_bytes([x[0], x[1]]) as usize;
    }
    for f in [FNAME, FCOMMENT] {
        if flags & f != 0 {
            let rest = data.get(pos..).ok_or(Error::Truncated)?;
            pos += rest.iter().position(|&c| c == 0).ok_or(Error::Truncated)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    let body = data.get(pos..).ok_or(Error::Truncated)?;
    let mut out = Output { window: [0; WINDOW], total: 0, limit, chunk: [0; OUT_CHUNK], used: 0, crc: 0, sink };
    let used = deflate(body, &mut out)?;
    out.flush();
    let t = body.get(used..used + 8).ok_or(Error::Truncated)?;
    let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
    if crc != out.crc || isize != out.total as u32 {
        return Err(Error::BadTrailer);
    }
    Ok(out.total)
}

/// Decodes one zlib stream (RFC 1950: what an ELF section compressed with
/// `ELFCOMPRESS_ZLIB` holds), like [`gunzip`]. The Adler-32 trailer is not checked.
pub fn unzlib(data: &[u8], limit: u64, sink: &mut dyn FnMut(&[u8])) -> Result<u64, Error> {
    let h = data.get(..2).ok_or(Error::Truncated)?;
    // Method 8 (deflate), a window of at most 32 KiB, no preset dictionary, header check.
    if h[0] & 0x0f != 8 || h[0] >> 4 > 7 || h[1] & 0x20 != 0 || (h[0] as u16 * 256 + h[1] as u16) % 31 != 0 {
        return Err(Error::NotGzip);
    }
    let mut out = Output { window: [0; WINDOW], total: 0, limit, chunk: [0; OUT_CHUNK], used: 0, crc: 0, sink };
    deflate(&data[2..], &mut out)?;
    out.flush();
    Ok(out.total)
}

#[cfg(test)]
mod test {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_zlib_stream_decodes() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&data).unwrap();
        let z = e.finish().unwrap();
        let mut v = Vec::new();
        assert_eq!(unzlib(&z, 1 << 20, &mut |p| v.extend_from_slice(p)), Ok(5000));
        assert_eq!(v, data);
        assert_eq!(unzlib(&z[1..], 1 << 20, &mut |_| {}), Err(Error::NotGzip));
        assert_eq!(unzlib(&z, 100, &mut |_| {}), Err(Error::TooLong));
    }

    fn gz(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn run(data: &[u8], limit: u64) -> Result<Vec<u8>, Error> {
        let mut v = Vec::new();
        gunzip(data, limit, &mut |p| v.extend_from_slice(p)).map(|n| {
            assert_eq!(n as usize, v.len());
            v
        })
    }

    /// Text like a kernel config: long runs of repeats, far back references.
    fn config_like() -> Vec<u8> {
        let mut t = Vec::new();
        for i in 0..6000 {
            writeln!(t, "CONFIG_OPTION_{i}=y\n# CONFIG_OTHER_{} is not set", i * 7919 % 10007).unwrap();
        }
        t
    }

    #[test]
    #[cfg_attr(miri, ignore = "compresses and inflates ~280 KB with flate2: too slow under miri; run natively")]
    fn round_trips_every_block_type() {
        let text = config_like();
        // Level 0: stored blocks; 1: fixed codes for short inputs; 9: dynamic codes.
        for level in [0, 1, 6, 9] {
            assert_eq!(run(&gz(&text, level), u64::MAX).unwrap(), text, "level {level}");
        }
        assert_eq!(run(&gz(b"short", 9), u64::MAX).unwrap(), b"short");
        assert_eq!(run(&gz(b"", 9), u64::MAX).unwrap(), b"");
        // Bytes that do not compress: long literal runs.
        let noise: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert_eq!(run(&gz(&noise, 6), u64::MAX).unwrap(), noise);
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads /proc/config.gz, which miri's isolation refuses")]
    fn this_hosts_proc_config_gz_when_there_is_one() {
        let Ok(data) = std::fs::read("/proc/config.gz") else { return };
        let mut d = flate2::read::GzDecoder::new(&data[..]);
        let mut want = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut want).unwrap();
        assert_eq!(run(&data, u64::MAX).unwrap(), want);
    }

    #[test]
    fn header_fields_are_skipped() {
        let mut e = flate2::GzBuilder::new()
            .filename("config")
            .comment("kernel")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), flate2::Compression::default());
        e.write_all(b"CONFIG_X=y\n").unwrap();
        let data = e.finish().unwrap();
        assert_eq!(run(&data, u64::MAX).unwrap(), b"CONFIG_X=y\n");
    }

    #[test]
    #[cfg_attr(miri, ignore = "inflates hundreds of cut and corrupted streams: too slow under miri; run natively")]
    fn bad_input_is_refused_never_a_panic() {
        let good = gz(&config_like(), 9);
        assert_eq!(run(b"", 100), Err(Error::NotGzip));
        assert_eq!(run(b"CONFIG_X=y", 100), Err(Error::NotGzip));
        assert_eq!(run(&good[..good.len() / 2], u64::MAX), Err(Error::Truncated));
        assert_eq!(run(&good[..good.len() - 4], u64::MAX), Err(Error::Truncated));
        assert_eq!(run(&good, 1000), Err(Error::TooLong), "the limit holds");
        let mut crc = good.clone();
        let n = crc.len();
        crc[n - 8] ^= 1;
        assert_eq!(run(&crc, u64::MAX), Err(Error::BadTrailer));
        // Block type 3.
        assert_eq!(run(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x07], 100), Err(Error::BadBlock));
        // A fixed block whose first code is a distance back before the start.
        assert_eq!(run(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x03, 0x02, 0x00, 0], 100), Err(Error::BadDistance));
        // Every corruption of one byte, and every cut: an answer, never a panic.
        let small = gz(b"CONFIG_DEBUG_KMEMLEAK=y\n# CONFIG_DEBUG_KMEMLEAK_TEST is not set\n", 9);
        for i in 0..small.len() {
            for bit in 0..8 {
                let mut d = small.clone();
                d[i] ^= 1 << bit;
                let _ = run(&d, 1 << 20);
            }
            let _ = run(&small[..i], 1 << 20);
        }
    }
}

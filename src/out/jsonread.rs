//! Reading back the JSON objects kleak writes (ring log records, `--json` lines): the raw
//! value of a key, without a JSON library. Only for kleak's own output, whose strings never
//! hold an unescaped `"`.

/// Where the value of the first `"key":` starts in one of kleak's own objects (strings
/// never hold an unescaped `"`, so `"key":` cannot be found inside one).
pub fn value_at(json: &str, key: &str) -> Option<usize> {
    let (j, k) = (json.as_bytes(), key.as_bytes());
    let n = k.len() + 3;
    let at = j.windows(n).position(|w| w[0] == b'"' && &w[1..n - 2] == k && &w[n - 2..] == b"\":")?;
    Some(at + n)
}

/// Position of the first of `set` in `s` (bytes: core's pattern search is large).
fn find_any(s: &str, set: &[u8]) -> Option<usize> {
    s.bytes().position(|b| set.contains(&b))
}

/// The raw JSON value of `key`: a number, `true`, or a string with its quotes.
pub fn field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let rest = &json[value_at(json, key)?..];
    let end = match rest.strip_prefix('"') {
        Some(s) => find_any(s, b"\"").map_or(rest.len(), |p| p + 2),
        None => find_any(rest, b",}]").unwrap_or(rest.len()),
    };
    Some(&rest[..end])
}

/// The number that is `key`'s value (0 when missing).
pub fn num(json: &str, key: &str) -> f64 {
    let v = field(json, key).unwrap_or("0");
    let m = crate::parse::parse_f64(v.trim_start_matches('-').as_bytes()).unwrap_or(0.0);
    if v.starts_with('-') {
        -m
    } else {
        m
    }
}

/// The string that is `key`'s value, without its quotes (empty when missing).
pub fn text<'a>(json: &'a str, key: &str) -> &'a str {
    field(json, key).unwrap_or("").trim_matches('"')
}

/// The items of the list or object that is `key`'s value, raw: `"string"` or
/// `"name":value`.
pub fn members<'a>(json: &'a str, key: &str) -> impl Iterator<Item = &'a str> {
    let mut rest = value_at(json, key).map_or("", |i| &json[i + 1..]);
    core::iter::from_fn(move || {
        rest = rest.trim_start_matches(',');
        let b = rest.as_bytes();
        if b.first() != Some(&b'"') {
            return None;
        }
        let mut i = 1;
        while i < b.len() && b[i] != b'"' {
            i += 1 + (b[i] == b'\\') as usize;
        }
        let end = (i + 1).min(b.len());
        let end = find_any(&rest[end..], b",}]").map_or(rest.len(), |p| end + p);
        let (item, tail) = rest.split_at(end);
        rest = tail;
        Some(item)
    })
}

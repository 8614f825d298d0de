//! JSON for values: a writer, base64 for bytes, and a small reader for the dead-letter
//! files batchrow writes itself.

use std::fmt::Write;

use super::Value;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends `bytes` in base64 (standard alphabet, padded).
pub(crate) fn base64_encode(bytes: &[u8], out: &mut String) {
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(c.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(c.get(2).copied().unwrap_or(0));
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                out.push(char::from(B64[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
}

/// Decodes base64 (standard alphabet, padding optional); `None` when it is not base64.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits).to_le_bytes()[0]);
        }
    }
    Some(out)
}

/// Appends `s` as a JSON string.
pub(crate) fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_list<'a>(items: impl Iterator<Item = &'a Value>, out: &mut String) {
    out.push('[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_value(v, out);
    }
    out.push(']');
}

pub(super) fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::UInt(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) if f.is_nan() => out.push_str("\"NaN\""),
        Value::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "\"inf\"" } else { "\"-inf\"" });
        }
        Value::Float(f) => {
            // `Debug` is the shortest text that reads back to the same float, and is a
            // JSON number (`1.0`, `1e300`, `-2.5e-8`).
            let _ = write!(out, "{f:?}");
        }
        Value::Bytes(b) => {
            out.push('"');
            base64_encode(b, out);
            out.push('"');
        }
        Value::Ip(ip) => write_str(&ip.to_string(), out),
        Value::String(s)
        | Value::Decimal(s)
        | Value::Date(s)
        | Value::DateTime(s)
        | Value::Uuid(s)
        | Value::Enum(s)
        | Value::Json(s) => write_str(s, out),
        Value::Array(items) | Value::Tuple(items) => write_list(items.iter(), out),
        Value::Map(entries) => {
            out.push('[');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('[');
                write_value(k, out);
                out.push(',');
                write_value(v, out);
                out.push(']');
            }
            out.push(']');
        }
    }
}

/// Reads the top-level members of one JSON object, keeping each value as its raw text;
/// strings can then be read with [`Reader::string`]. Enough for the dead-letter lines
/// batchrow writes, and strict about their syntax.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    /// The members of the object `text`, as `(key, raw value)`.
    pub(crate) fn object(text: &'a str) -> Result<Vec<(String, &'a str)>, String> {
        let mut r = Reader { text, pos: 0 };
        r.ws();
        r.expect(b'{')?;
        let mut members = Vec::new();
        r.ws();
        if r.peek() == Some(b'}') {
            r.pos += 1;
        } else {
            loop {
                r.ws();
                let key = r.string_value()?;
                r.ws();
                r.expect(b':')?;
                r.ws();
                let start = r.pos;
                r.skip_value()?;
                members.push((key, &text[start..r.pos]));
                r.ws();
                match r.next() {
                    Some(b',') => {}
                    Some(b'}') => break,
                    _ => return Err(r.error("expected `,` or `}`")),
                }
            }
        }
        r.ws();
        if r.pos != text.len() {
            return Err(r.error("text after the object"));
        }
        Ok(members)
    }

    /// The string a raw JSON value holds, or `None` when it is not a string.
    pub(crate) fn string(raw: &str) -> Option<String> {
        let mut r = Reader { text: raw, pos: 0 };
        let s = r.string_value().ok()?;
        (r.pos == raw.len()).then_some(s)
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.next() == Some(b) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", char::from(b))))
        }
    }

    fn string_value(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(i) = rest.find(['"', '\\']) else {
                return Err(self.error("unterminated string"));
            };
            out.push_str(&rest[..i]);
            self.pos += i;
            if self.next() == Some(b'"') {
                return Ok(out);
            }
            match self.next() {
                Some(b'"') => out.push('"'),
                Some(b'\\') => out.push('\\'),
                Some(b'/') => out.push('/'),
                Some(b'n') => out.push('\n'),
                Some(b'r') => out.push('\r'),
                Some(b't') => out.push('\t'),
                Some(b'b') => out.push('\u{8}'),
                Some(b'f') => out.push('\u{c}'),
                Some(b'u') => {
                    let hex = self
                        .text
                        .get(self.pos..self.pos + 4)
                        .ok_or_else(|| self.error("short \\u escape"))?;
                    let unit =
                        u32::from_str_radix(hex, 16).map_err(|_| self.error("bad \\u escape"))?;
                    self.pos += 4;
                    // Surrogate pairs are not written by batchrow; refuse them.
                    out.push(char::from_u32(unit).ok_or_else(|| self.error("bad \\u escape"))?);
                }
                _ => return Err(self.error("bad escape")),
            }
        }
    }

    fn skip_value(&mut self) -> Result<(), String> {
        match self.peek() {
            Some(b'"') => self.string_value().map(drop),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                loop {
                    match self.peek() {
                        Some(b'"') => {
                            self.string_value()?;
                            continue;
                        }
                        Some(b'{' | b'[') => depth += 1,
                        Some(b'}' | b']') => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return Ok(());
                            }
                        }
                        Some(_) => {}
                        None => return Err(self.error("unterminated value")),
                    }
                    self.pos += 1;
                }
            }
            Some(_) => {
                let rest = &self.text[self.pos..];
                let len = rest
                    .find([',', '}', ']', ' ', '\t', '\n', '\r'])
                    .unwrap_or(rest.len());
                if len == 0 {
                    return Err(self.error("expected a value"));
                }
                self.pos += len;
                Ok(())
            }
            None => Err(self.error("expected a value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len)
                .map(|i: u32| (i * 37 + 11).to_le_bytes()[0])
                .collect();
            let mut s = String::new();
            base64_encode(&bytes, &mut s);
            assert_eq!(s.len() % 4, 0);
            assert_eq!(base64_decode(&s).unwrap(), bytes);
        }
        let mut s = String::new();
        base64_encode(b"Man", &mut s);
        assert_eq!(s, "TWFu");
        s.clear();
        base64_encode(b"Ma", &mut s);
        assert_eq!(s, "TWE=");
        assert!(base64_decode("ab$d").is_none());
    }

    #[test]
    fn reader_keeps_raw_members() {
        let line = r#" {"a":1, "b" : "x\"y\u0001", "c":[1,{"d":"]"}],"e":null} "#;
        let m = Reader::object(line).unwrap();
        let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", "e"]);
        assert_eq!(m[0].1, "1");
        assert_eq!(Reader::string(m[1].1).unwrap(), "x\"y\u{1}");
        assert_eq!(m[2].1, r#"[1,{"d":"]"}]"#);
        assert_eq!(Reader::string(m[3].1), None);
        assert!(Reader::object(r#"{"a":1"#).is_err());
        assert!(Reader::object(r#"{"a":1} x"#).is_err());
        let mut s = String::new();
        write_str("q\"\\\n\u{7}é", &mut s);
        assert_eq!(Reader::string(&s).unwrap(), "q\"\\\n\u{7}é");
    }
}

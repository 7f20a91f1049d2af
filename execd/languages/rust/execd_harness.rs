//! Function mode's fixed part for Rust, precompiled in the image (libexecd_harness.rlib, with
//! the flags of language.json's compile command): a reader of the JSON arguments into the
//! signature's types, their JSON writer, and the reply on fd 3. harness.py writes the rest (the
//! decode of this signature's arguments, the call and main) after the player's code.
#![allow(dead_code)]
use std::io::Write as _;
use std::os::unix::io::FromRawFd as _;

pub struct Reader { s: Vec<u8>, i: usize }

impl Reader {
    /// The test's input (the arguments without their brackets) as one JSON array to read.
    pub fn of_arguments(input: &[u8]) -> Reader {
        let mut s = Vec::with_capacity(input.len() + 2);
        s.push(b'[');
        s.extend_from_slice(input);
        s.push(b']');
        Reader { s, i: 0 }
    }

    /// Expect ',' unless at the end of the array; then the next value.
    pub fn next<T: Json>(&mut self, first: bool) -> Result<T, Bad> {
        if !first { self.expect(b',')?; }
        T::read(self)
    }
}

pub struct Bad;

impl Reader {
    pub fn ws(&mut self) { while self.i < self.s.len() && b" \t\r\n".contains(&self.s[self.i]) { self.i += 1; } }
    pub fn at(&mut self, c: u8) -> bool { self.ws(); self.i < self.s.len() && self.s[self.i] == c }
    pub fn expect(&mut self, c: u8) -> Result<(), Bad> { if self.at(c) { self.i += 1; Ok(()) } else { Err(Bad) } }
    pub fn token(&mut self) -> Result<String, Bad> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && b"+-0123456789.eE".contains(&self.s[self.i]) { self.i += 1; }
        if start == self.i { return Err(Bad); }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    pub fn integer(&mut self, low: i64, high: i64) -> Result<i64, Bad> {
        let t = self.token()?;
        let v = if t.contains(|c| c == '.' || c == 'e' || c == 'E') {
            let d: f64 = t.parse().map_err(|_| Bad)?;
            if d.fract() != 0.0 || d < -9.3e18 || d > 9.3e18 { return Err(Bad); }
            d as i64
        } else {
            t.parse::<i64>().map_err(|_| Bad)?
        };
        if v < low || v > high { Err(Bad) } else { Ok(v) }
    }
    pub fn hex4(&mut self) -> Result<u32, Bad> {
        if self.i + 4 > self.s.len() { return Err(Bad); }
        let text = std::str::from_utf8(&self.s[self.i..self.i + 4]).map_err(|_| Bad)?;
        self.i += 4;
        u32::from_str_radix(text, 16).map_err(|_| Bad)
    }
    pub fn string(&mut self) -> Result<String, Bad> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            if self.i >= self.s.len() { return Err(Bad); }
            let c = self.s[self.i];
            self.i += 1;
            if c == b'"' { return String::from_utf8(out).map_err(|_| Bad); }
            if c != b'\\' { out.push(c); continue; }
            if self.i >= self.s.len() { return Err(Bad); }
            let e = self.s[self.i];
            self.i += 1;
            match e {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'u' => {
                    let mut u = self.hex4()?;
                    if (0xD800..0xDC00).contains(&u) && self.s[self.i..].starts_with(b"\\u") {
                        self.i += 2;
                        u = 0x10000 + ((u - 0xD800) << 10) + (self.hex4()?.wrapping_sub(0xDC00) & 0x3FF);
                    }
                    let ch = char::from_u32(u).unwrap_or('\u{FFFD}');
                    out.extend_from_slice(ch.encode_utf8(&mut [0u8; 4]).as_bytes());
                }
                other => out.push(other),
            }
        }
    }
}

pub trait Json: Sized {
    fn read(r: &mut Reader) -> Result<Self, Bad>;
    fn write(&self, out: &mut String) -> Result<(), String>;
}

impl Json for i32 {
    fn read(r: &mut Reader) -> Result<Self, Bad> { Ok(r.integer(i32::MIN as i64, i32::MAX as i64)? as i32) }
    fn write(&self, out: &mut String) -> Result<(), String> { out.push_str(&self.to_string()); Ok(()) }
}
impl Json for i64 {
    fn read(r: &mut Reader) -> Result<Self, Bad> { r.integer(i64::MIN, i64::MAX) }
    fn write(&self, out: &mut String) -> Result<(), String> { out.push_str(&self.to_string()); Ok(()) }
}
impl Json for f64 {
    fn read(r: &mut Reader) -> Result<Self, Bad> { r.token()?.parse().map_err(|_| Bad) }
    fn write(&self, out: &mut String) -> Result<(), String> {
        if !self.is_finite() { return Err("the return value is not a finite number".into()); }
        out.push_str(&self.to_string());  // the shortest text that reads back the same
        Ok(())
    }
}
impl Json for bool {
    fn read(r: &mut Reader) -> Result<Self, Bad> {
        r.ws();
        if r.s[r.i..].starts_with(b"true") { r.i += 4; Ok(true) }
        else if r.s[r.i..].starts_with(b"false") { r.i += 5; Ok(false) }
        else { Err(Bad) }
    }
    fn write(&self, out: &mut String) -> Result<(), String> { out.push_str(if *self { "true" } else { "false" }); Ok(()) }
}
impl Json for String {
    fn read(r: &mut Reader) -> Result<Self, Bad> { r.string() }
    fn write(&self, out: &mut String) -> Result<(), String> { quote(out, self); Ok(()) }
}
impl<T: Json> Json for Vec<T> {
    fn read(r: &mut Reader) -> Result<Self, Bad> {
        r.expect(b'[')?;
        let mut items = Vec::new();
        if !r.at(b']') {
            loop {
                items.push(T::read(r)?);
                if r.at(b',') { r.i += 1; } else { break; }
            }
        }
        r.expect(b']')?;
        Ok(items)
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        out.push('[');
        for (k, item) in self.iter().enumerate() {
            if k > 0 { out.push(','); }
            Json::write(item, out)?;
        }
        out.push(']');
        Ok(())
    }
}

pub fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

pub fn reply(ok: bool, text: &str) {
    let mut b = String::from(if ok { "{\"ok\":true,\"output\":" } else { "{\"ok\":false,\"error\":" });
    let text: String = if ok { text.to_string() } else { text.chars().take(1000).collect() };
    quote(&mut b, &text);
    b.push('}');
    let _ = std::io::stdout().flush();
    // fd 3 is the reply channel the runner handed over; nothing else in this process owns it.
    let mut channel = unsafe { std::fs::File::from_raw_fd(3) };
    let _ = channel.write_all(b.as_bytes());
}

pub fn fail(message: &str) -> ! {
    reply(false, message);
    std::process::exit(1)
}

/// A panic's message, as `panicked: <message>` reports it.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload.downcast_ref::<&str>().map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

/// The call's value as the reply: its JSON, or why it has none.
pub fn answer<T: Json>(value: T) {
    let mut out = String::new();
    match Json::write(&value, &mut out) {
        Ok(()) => reply(true, &out),
        Err(message) => fail(&message),
    }
}

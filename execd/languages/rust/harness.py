"""Function mode for Rust: main.rs is the submission, then (in a module of its own, so its
`use`s and names never meet the player's) a reader of the JSON arguments into the signature's
types (`Vec<i32>`, `i64`, `String`...), and main(). The entry point is an associated function of
`impl Solution` when the submission has one (the harness declares `struct Solution` unless the
submission does), else a free `fn`; arguments are passed by value, as the platforms do. A panic
is reported with its message, after Rust's own report on stderr, and the program exits 101."""
import re

RUST_TYPES = {"int": "i32", "long": "i64", "float": "f64", "bool": "bool", "string": "String"}

MAIN = r'''
#[allow(dead_code, unused_imports)]
mod execd_harness {
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::os::unix::io::FromRawFd as _;

    pub struct Reader { s: Vec<u8>, i: usize }

    pub struct Bad;

    impl Reader {
        fn ws(&mut self) { while self.i < self.s.len() && b" \t\r\n".contains(&self.s[self.i]) { self.i += 1; } }
        fn at(&mut self, c: u8) -> bool { self.ws(); self.i < self.s.len() && self.s[self.i] == c }
        fn expect(&mut self, c: u8) -> Result<(), Bad> { if self.at(c) { self.i += 1; Ok(()) } else { Err(Bad) } }
        fn token(&mut self) -> Result<String, Bad> {
            self.ws();
            let start = self.i;
            while self.i < self.s.len() && b"+-0123456789.eE".contains(&self.s[self.i]) { self.i += 1; }
            if start == self.i { return Err(Bad); }
            Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
        }
        fn integer(&mut self, low: i64, high: i64) -> Result<i64, Bad> {
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
        fn hex4(&mut self) -> Result<u32, Bad> {
            if self.i + 4 > self.s.len() { return Err(Bad); }
            let text = std::str::from_utf8(&self.s[self.i..self.i + 4]).map_err(|_| Bad)?;
            self.i += 4;
            u32::from_str_radix(text, 16).map_err(|_| Bad)
        }
        fn string(&mut self) -> Result<String, Bad> {
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

    fn quote(out: &mut String, s: &str) {
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

    fn reply(ok: bool, text: &str) {
        let mut b = String::from(if ok { "{\"ok\":true,\"output\":" } else { "{\"ok\":false,\"error\":" });
        let text: String = if ok { text.to_string() } else { text.chars().take(1000).collect() };
        quote(&mut b, &text);
        b.push('}');
        let _ = std::io::stdout().flush();
        // fd 3 is the reply channel the runner handed over; nothing else in this process owns it.
        let mut channel = unsafe { std::fs::File::from_raw_fd(3) };
        let _ = channel.write_all(b.as_bytes());
    }

    fn fail(message: &str) -> ! {
        reply(false, message);
        std::process::exit(1)
    }

    pub fn run() {
        let mut input = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut input);
        let mut wrapped = vec![b'['];
        wrapped.extend_from_slice(&input);
        wrapped.push(b']');
        let mut r = Reader { s: wrapped, i: 0 };
        let parsed = (|| -> Result<_, Bad> {
            r.expect(b'[')?;
%(decode)s
            r.expect(b']')?;
            Ok((%(tuple)s))
        })();
        let (%(tuple)s) = match parsed { Ok(args) => args, Err(Bad) => fail("the arguments do not match the signature") };
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || -> %(returns)s { %(call)s }));
        match called {
            Ok(value) => {
                let mut out = String::new();
                match Json::write(&value, &mut out) {
                    Ok(()) => reply(true, &out),
                    Err(message) => fail(&message),
                }
            }
            Err(payload) => {
                let message = payload.downcast_ref::<&str>().map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_string());
                reply(false, &format!("panicked: {}", message));
                std::process::exit(101);
            }
        }
    }
}

fn main() {
    execd_harness::run()
}
'''


def rust_type(kind):
    text = RUST_TYPES[kind.scalar]
    for _ in range(kind.depth):
        text = "Vec<%s>" % text
    return text


def wrap(code, entry_point, signature):
    decode = "\n".join(("            r.expect(b',')?;\n" if i else "")
                       + "            let a%d: %s = Json::read(&mut r)?;" % (i, rust_type(t))
                       for i, t in enumerate(signature.params))
    names = ["a%d" % i for i in range(len(signature.params))]
    # One name is a plain pattern, not a tuple: (a0) is a0 and a one-element tuple is (a0,).
    tuple_text = ", ".join(names) + ("," if len(names) == 1 else "")
    uses_impl = re.search(r"\bimpl\s+Solution\b", code) is not None
    target = "Solution::" if uses_impl else ""
    declare = ""
    if uses_impl and not re.search(r"\bstruct\s+Solution\b", code):
        declare = "\n#[allow(dead_code)]\npub struct Solution;\n"
    code = code if code.endswith("\n") else code + "\n"
    return code + declare + MAIN % {
        "decode": decode, "tuple": tuple_text, "returns": rust_type(signature.returns),
        "call": "%s%s(%s)" % (target, entry_point, ", ".join(names))}

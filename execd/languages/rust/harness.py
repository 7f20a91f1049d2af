"""Function mode for Rust: main.rs is the submission, then (in a module of its own, so its
`use`s and names never meet the player's) the decode of the JSON arguments into the
signature's types (`Vec<i32>`, `i64`, `String`...) and main(). The fixed part, the JSON reader
and writer and the reply on fd 3, is execd_harness.rs, precompiled in the image: that halves
the compile. The entry point is an associated function of
`impl Solution` when the submission has one (the harness declares `struct Solution` unless the
submission does), else a free `fn`; arguments are passed by value, as the platforms do. A panic
is reported with its message, after Rust's own report on stderr, and the program exits 101."""
import re

RUST_TYPES = {"int": "i32", "long": "i64", "float": "f64", "bool": "bool", "string": "String"}

MAIN = r'''
extern crate execd_harness;

#[allow(dead_code, unused_imports)]
mod execd_main {
    use super::*;
    use execd_harness::{answer, fail, panic_message, reply, Bad, Json, Reader};
    use std::io::Read as _;

    pub fn run() {
        let mut input = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut input);
        let mut r = Reader::of_arguments(&input);
        let parsed = (|| -> Result<_, Bad> {
            r.expect(b'[')?;
%(decode)s
            r.expect(b']')?;
            Ok((%(tuple)s))
        })();
        let (%(tuple)s) = match parsed { Ok(args) => args, Err(Bad) => fail("the arguments do not match the signature") };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || -> %(returns)s { %(call)s })) {
            Ok(value) => answer(value),
            Err(payload) => {
                reply(false, &format!("panicked: {}", panic_message(&*payload)));
                std::process::exit(101);
            }
        }
    }
}

fn main() {
    execd_main::run()
}
'''


def rust_type(kind):
    text = RUST_TYPES[kind.scalar]
    for _ in range(kind.depth):
        text = "Vec<%s>" % text
    return text


def wrap(code, entry_point, signature):
    decode = "\n".join("            let a%d: %s = r.next(%s)?;" % (i, rust_type(t), "true" if i == 0 else "false")
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

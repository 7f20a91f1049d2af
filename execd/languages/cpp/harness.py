"""Function mode for C++: main.cpp is the prelude the coding platforms give (prelude.h: the
common standard headers and `using namespace std;`, precompiled in the image with the
harness's own header), the submission (with `#line` so diagnostics name the player's own
lines), then main(). The harness's fixed part (harness.h, harness.cpp: a JSON reader and
writer, the reply on fd 3) is a library built in the image; main() reads the JSON arguments from stdin into the
signature's types (`vector<int>`, `long long`, `string`...), calls the entry point (a member
of `class Solution` when the submission has one, else a free function), and writes the reply
({"ok", "output"} or {"ok": false, "error"}) to fd 3.

The arguments are lvalues, so `vector<int>& nums`, `const vector<int>&` and by-value
parameters all bind; the result is converted to the declared return type, so a mismatch is a
compile error. An exception is reported with its type and what(), then the program exits 1;
std::bad_alloc is rethrown, so running out of memory still dies as the out-of-memory case."""
import re

CPP_TYPES = {"int": "int", "long": "long long", "float": "double", "bool": "bool", "string": "std::string"}

PRELUDE = '#include <execd/prelude.h>\n#line 1 "solution.cpp"\n'


MAIN = r'''
int main() {
    execd::Reader in(execd::arguments_from_stdin());
%(declare)s
    try {
        in.expect('[');
%(decode)s
        in.expect(']');
    } catch (const std::exception &) {
        execd::reply(false, "the arguments do not match the signature");
        return 1;
    } catch (const execd::Bad &) {
        execd::reply(false, "the arguments do not match the signature");
        return 1;
    }
    std::string out;
    try {
        const %(returns)s execd_result = %(call)s;
        execd::write(out, execd_result);
    } catch (const std::bad_alloc &) {
        throw;  // dies as the out-of-memory case: std::terminate prints std::bad_alloc
    } catch (const execd::NotFinite &) {
        execd::reply(false, "the return value is not a finite number");
        return 1;
    } catch (const std::exception &e) {
        execd::reply(false, execd::type_name(typeid(e)) + ": " + e.what());
        return 1;
    } catch (...) {
        execd::reply(false, "an exception that is not a std::exception");
        return 1;
    }
    execd::reply(true, out);
    return 0;
}
'''


def cpp_type(kind):
    text = CPP_TYPES[kind.scalar]
    for _ in range(kind.depth):
        text = "std::vector<%s>" % text
    return text


def has_solution_class(code):
    return re.search(r"\b(class|struct)\s+Solution\b", code) is not None


def wrap(code, entry_point, signature):
    declare = "\n".join("    %s a%d{};" % (cpp_type(t), i) for i, t in enumerate(signature.params))
    decode = "\n".join(("        in.expect(',');\n" if i else "") + "        in.read(a%d);" % i
                       for i in range(len(signature.params)))
    args = ", ".join("a%d" % i for i in range(len(signature.params)))
    target = "Solution()." if has_solution_class(code) else ""
    harness = MAIN % {"declare": declare, "decode": decode, "returns": cpp_type(signature.returns),
                      "call": "%s%s(%s)" % (target, entry_point, args)}
    code = code if code.endswith("\n") else code + "\n"
    # The compiler quotes source lines from the files #line names: those files are written too.
    return {"main.cpp": PRELUDE + code + '#line 1 "execd_main.cpp"\n' + harness,
            "solution.cpp": code, "execd_main.cpp": harness}

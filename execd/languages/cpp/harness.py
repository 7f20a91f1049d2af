"""Function mode for C++: main.cpp is the prelude the coding platforms give (prelude.h: the
common standard headers and `using namespace std;`, precompiled in the image), the submission (with `#line` so diagnostics name the
player's own lines), then main(). main() reads the JSON arguments from stdin into the
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
extern "C" long execd_sys_write(int fd, const void *buf, unsigned long n) __asm__("write");

namespace execd {

struct Bad {};

struct Reader {
    std::string s;
    size_t i = 0;
    void ws() { while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++; }
    bool at(char c) { ws(); return i < s.size() && s[i] == c; }
    void expect(char c) { if (!at(c)) throw Bad(); i++; }
    std::string token() {
        ws();
        size_t start = i;
        while (i < s.size() && std::strchr("+-0123456789.eE", s[i]) != nullptr) i++;
        if (start == i) throw Bad();
        return s.substr(start, i - start);
    }
    long long integer(long long low, long long high) {
        std::string t = token();
        long long v;
        if (t.find_first_of(".eE") != std::string::npos) {
            double d = std::strtod(t.c_str(), nullptr);
            v = (long long) d;
            if ((double) v != d) throw Bad();
        } else {
            v = std::strtoll(t.c_str(), nullptr, 10);
        }
        if (v < low || v > high) throw Bad();
        return v;
    }
    unsigned hex4() {
        if (i + 4 > s.size()) throw Bad();
        unsigned v = (unsigned) std::stoul(s.substr(i, 4), nullptr, 16);
        i += 4;
        return v;
    }
    void utf8(std::string &out, unsigned u) {
        if (u < 0x80) out += (char) u;
        else if (u < 0x800) { out += (char) (0xC0 | (u >> 6)); out += (char) (0x80 | (u & 0x3F)); }
        else if (u < 0x10000) { out += (char) (0xE0 | (u >> 12)); out += (char) (0x80 | ((u >> 6) & 0x3F)); out += (char) (0x80 | (u & 0x3F)); }
        else { out += (char) (0xF0 | (u >> 18)); out += (char) (0x80 | ((u >> 12) & 0x3F)); out += (char) (0x80 | ((u >> 6) & 0x3F)); out += (char) (0x80 | (u & 0x3F)); }
    }
    void read(int &v) { v = (int) integer(INT_MIN, INT_MAX); }
    void read(long long &v) { v = integer(LLONG_MIN, LLONG_MAX); }
    void read(double &v) { v = std::strtod(token().c_str(), nullptr); }
    void read(bool &v) {
        ws();
        if (s.compare(i, 4, "true") == 0) { i += 4; v = true; }
        else if (s.compare(i, 5, "false") == 0) { i += 5; v = false; }
        else throw Bad();
    }
    void read(std::string &v) {
        expect('"');
        v.clear();
        for (;;) {
            if (i >= s.size()) throw Bad();
            char c = s[i++];
            if (c == '"') return;
            if (c != '\\') { v += c; continue; }
            if (i >= s.size()) throw Bad();
            char e = s[i++];
            switch (e) {
                case 'n': v += '\n'; break;
                case 't': v += '\t'; break;
                case 'r': v += '\r'; break;
                case 'b': v += '\b'; break;
                case 'f': v += '\f'; break;
                case 'u': {
                    unsigned u = hex4();
                    if (u >= 0xD800 && u < 0xDC00 && s.compare(i, 2, "\\u") == 0) {
                        i += 2;
                        u = 0x10000 + ((u - 0xD800) << 10) + (hex4() - 0xDC00);
                    }
                    utf8(v, u);
                    break;
                }
                default: v += e;
            }
        }
    }
    template <class T> void read(std::vector<T> &v) {
        expect('[');
        v.clear();
        if (!at(']')) {
            do { T item; read(item); v.push_back(item); } while (at(',') && ++i);
        }
        expect(']');
    }
};

inline void quote(std::string &out, const std::string &s) {
    out += '"';
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') { out += '\\'; out += (char) c; }
        else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%%04x", c); out += b; }
        else out += (char) c;
    }
    out += '"';
}

struct NotFinite {};

inline void write(std::string &out, int v) { out += std::to_string(v); }
inline void write(std::string &out, long long v) { out += std::to_string(v); }
inline void write(std::string &out, bool v) { out += v ? "true" : "false"; }
inline void write(std::string &out, const std::string &v) { quote(out, v); }
inline void write(std::string &out, double v) {
    if (!std::isfinite(v)) throw NotFinite();
    char b[40];
    for (int precision = 15; precision <= 17; precision++) {  // the shortest text that reads back the same
        std::snprintf(b, sizeof b, "%%.*g", precision, v);
        if (std::strtod(b, nullptr) == v) break;
    }
    out += b;
}
template <class T> void write(std::string &out, const std::vector<T> &v) {
    out += '[';
    for (size_t k = 0; k < v.size(); k++) {
        if (k > 0) out += ',';
        write(out, (T) v[k]);
    }
    out += ']';
}

inline void reply(bool ok, const std::string &text) {
    std::string b = ok ? "{\"ok\":true,\"output\":" : "{\"ok\":false,\"error\":";
    quote(b, ok || text.size() <= 1000 ? text : text.substr(0, 1000));
    b += '}';
    std::fflush(stdout);
    std::cout.flush();
    const char *p = b.data();
    size_t n = b.size();
    while (n > 0) {
        long w = execd_sys_write(3, p, n);
        if (w <= 0) return;
        p += w;
        n -= (size_t) w;
    }
}

inline std::string type_name(const std::type_info &type) {
    int status = 0;
    char *name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
    std::string text = status == 0 && name != nullptr ? name : type.name();
    std::free(name);
    return text;
}

}  // namespace execd

int main() {
    execd::Reader in;
    in.s = "[" + std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()) + "]";
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

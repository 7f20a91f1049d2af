// The non-template part of harness.h, compiled into libexecd_harness.a in the image with the
// flags of language.json's compile command.
#include <execd/harness.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <iostream>
#include <iterator>

extern "C" long execd_sys_write(int fd, const void *buf, unsigned long n) __asm__("write");

namespace execd {

void Reader::ws() { while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++; }
bool Reader::at(char c) { ws(); return i < s.size() && s[i] == c; }
void Reader::expect(char c) { if (!at(c)) throw Bad(); i++; }
std::string Reader::token() {
    ws();
    size_t start = i;
    while (i < s.size() && std::strchr("+-0123456789.eE", s[i]) != nullptr) i++;
    if (start == i) throw Bad();
    return s.substr(start, i - start);
}
long long Reader::integer(long long low, long long high) {
    std::string t = token();
    long long v;
    if (t.find_first_of(".eE") != std::string::npos) {
        double d = std::strtod(t.c_str(), nullptr);
        if (!(d >= -9.3e18 && d <= 9.3e18)) throw Bad();
        v = (long long) d;
        if ((double) v != d) throw Bad();
    } else {
        errno = 0;
        v = std::strtoll(t.c_str(), nullptr, 10);
        if (errno == ERANGE) throw Bad();
    }
    if (v < low || v > high) throw Bad();
    return v;
}
unsigned Reader::hex4() {
    if (i + 4 > s.size()) throw Bad();
    for (size_t k = i; k < i + 4; k++) if (!std::isxdigit((unsigned char) s[k])) throw Bad();
    unsigned v = (unsigned) std::stoul(s.substr(i, 4), nullptr, 16);
    i += 4;
    return v;
}

static void utf8(std::string &out, unsigned u) {
    if (u < 0x80) out += (char) u;
    else if (u < 0x800) { out += (char) (0xC0 | (u >> 6)); out += (char) (0x80 | (u & 0x3F)); }
    else if (u < 0x10000) { out += (char) (0xE0 | (u >> 12)); out += (char) (0x80 | ((u >> 6) & 0x3F)); out += (char) (0x80 | (u & 0x3F)); }
    else { out += (char) (0xF0 | (u >> 18)); out += (char) (0x80 | ((u >> 12) & 0x3F)); out += (char) (0x80 | ((u >> 6) & 0x3F)); out += (char) (0x80 | (u & 0x3F)); }
}

void Reader::read(int &v) { v = (int) integer(INT_MIN, INT_MAX); }
void Reader::read(long long &v) { v = integer(LLONG_MIN, LLONG_MAX); }
void Reader::read(double &v) {
    std::string t = token();
    char *end = nullptr;
    v = std::strtod(t.c_str(), &end);
    if (end == t.c_str() || *end != 0) throw Bad();
}
void Reader::read(bool &v) {
    ws();
    if (s.compare(i, 4, "true") == 0) { i += 4; v = true; }
    else if (s.compare(i, 5, "false") == 0) { i += 5; v = false; }
    else throw Bad();
}
void Reader::read(std::string &v) {
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
                    u = 0x10000 + ((u - 0xD800) << 10) + ((hex4() - 0xDC00) & 0x3FF);
                }
                utf8(v, u);
                break;
            }
            default: v += e;
        }
    }
}

std::string arguments_from_stdin() {
    return "[" + std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()) + "]";
}

void quote(std::string &out, const std::string &s) {
    out += '"';
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') { out += '\\'; out += (char) c; }
        else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
        else out += (char) c;
    }
    out += '"';
}

void write(std::string &out, int v) { out += std::to_string(v); }
void write(std::string &out, long long v) { out += std::to_string(v); }
void write(std::string &out, bool v) { out += v ? "true" : "false"; }
void write(std::string &out, const std::string &v) { quote(out, v); }
void write(std::string &out, double v) {
    if (!std::isfinite(v)) throw NotFinite();
    char b[40];
    for (int precision = 15; precision <= 17; precision++) {  // the shortest text that reads back the same
        std::snprintf(b, sizeof b, "%.*g", precision, v);
        if (std::strtod(b, nullptr) == v) break;
    }
    out += b;
}

void reply(bool ok, const std::string &text) {
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

std::string type_name(const std::type_info &type) {
    int status = 0;
    char *name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
    std::string text = status == 0 && name != nullptr ? name : type.name();
    std::free(name);
    return text;
}

}  // namespace execd

// Function mode's fixed part for C++: the JSON reader and writer and the reply on fd 3.
// prelude.h includes this header (so it is precompiled with it); what is not a template is in
// harness.cpp, built into libexecd_harness.a in the image and linked by the compile command.
#ifndef EXECD_HARNESS_H
#define EXECD_HARNESS_H
#include <string>
#include <typeinfo>
#include <vector>

namespace execd {

struct Bad {};        // the arguments are not of the signature's types
struct NotFinite {};  // a returned float is NaN or infinite

struct Reader {
    std::string s;
    size_t i = 0;
    explicit Reader(std::string text) : s(std::move(text)) {}
    void ws();
    bool at(char c);
    void expect(char c);
    std::string token();
    long long integer(long long low, long long high);
    unsigned hex4();
    void read(int &v);
    void read(long long &v);
    void read(double &v);
    void read(bool &v);
    void read(std::string &v);
    template <class T> void read(std::vector<T> &v) {
        expect('[');
        v.clear();
        if (!at(']')) {
            do { T item; read(item); v.push_back(item); } while (at(',') && ++i);
        }
        expect(']');
    }
};

std::string arguments_from_stdin();  // the test's input, wrapped in [ ] as one JSON array
void quote(std::string &out, const std::string &s);
void write(std::string &out, int v);
void write(std::string &out, long long v);
void write(std::string &out, bool v);
void write(std::string &out, double v);
void write(std::string &out, const std::string &v);
template <class T> void write(std::string &out, const std::vector<T> &v) {
    out += '[';
    for (size_t k = 0; k < v.size(); k++) {
        if (k > 0) out += ',';
        write(out, (T) v[k]);
    }
    out += ']';
}
void reply(bool ok, const std::string &text);
std::string type_name(const std::type_info &type);

}  // namespace execd
#endif

"""Function mode for C: main.c is a small prelude, the submission (with `#line` so diagnostics
name the player's own lines), then main(). main() reads the JSON arguments from stdin into the
signature's C types, calls the entry point the way the coding platforms do (an array is a
pointer and its length: `int* nums, int numsSize`; a returned array sets `int* returnSize`),
and writes the reply ({"ok", "output"} or {"ok": false, "error"}) to fd 3.

The call comes after the submission's own definition, so the compiler checks it against the
player's prototype: a missing function, a wrong parameter count or an incompatible type is a
compile error, never a call through the wrong types."""

C_TYPES = {"int": "int", "long": "long long", "float": "double", "bool": "bool", "string": "char*"}

PRELUDE = r'''#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#line 1 "solution.c"
'''

MAIN = r'''
/* Only the prelude's standard headers: POSIX's would put read(), write() and the like beside
   the player's own names. The reply channel is fd 3, reached through libc's write() under a
   name of the harness's own. */
extern long execd_sys_write(int fd, const void *buf, unsigned long n) __asm__("write");

static const char *execd_in;
static size_t execd_at;
static char *execd_out;
static size_t execd_out_len, execd_out_cap;

static void execd_put(const char *s, size_t n) {
    if (execd_out_len + n + 1 > execd_out_cap) {
        execd_out_cap = (execd_out_len + n + 1) * 2;
        execd_out = realloc(execd_out, execd_out_cap);
        if (execd_out == NULL) abort();
    }
    memcpy(execd_out + execd_out_len, s, n);
    execd_out_len += n;
    execd_out[execd_out_len] = 0;
}

static void execd_puts(const char *s) { execd_put(s, strlen(s)); }

static void execd_quote(const char *s) {
    char esc[8];
    execd_put("\"", 1);
    for (; s != NULL && *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char) c; execd_put(esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%%04x", c); execd_puts(esc); }
        else execd_put((const char *) &c, 1);
    }
    execd_put("\"", 1);
}

static void execd_reply_raw(const char *s, size_t n) {
    while (n > 0) {
        long w = execd_sys_write(3, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t) w;
    }
}

static void execd_fail(const char *message) {
    execd_out_len = 0;
    execd_puts("{\"ok\":false,\"error\":");
    execd_quote(message);
    execd_puts("}");
    execd_reply_raw(execd_out, execd_out_len);
    exit(1);
}

static void execd_ws(void) { while (execd_in[execd_at] == ' ' || execd_in[execd_at] == '\t' || execd_in[execd_at] == '\n' || execd_in[execd_at] == '\r') execd_at++; }

static bool execd_at_char(char c) { execd_ws(); return execd_in[execd_at] == c; }

static void execd_expect(char c) {
    if (!execd_at_char(c)) execd_fail("the arguments do not match the signature");
    execd_at++;
}

static long long execd_integer(long long low, long long high) {
    execd_ws();
    const char *start = execd_in + execd_at;
    char *end;
    size_t span = strspn(start, "+-0123456789.eE");
    if (span == 0) execd_fail("the arguments do not match the signature");
    long long v;
    if (strcspn(start, ".eE") < span) {
        double d = strtod(start, &end);
        v = (long long) d;
        if ((double) v != d) execd_fail("the arguments do not match the signature");
    } else {
        v = strtoll(start, &end, 10);
    }
    if (v < low || v > high) execd_fail("the arguments do not match the signature");
    execd_at += (size_t) (end - start);
    return v;
}

static double execd_number(void) {
    execd_ws();
    const char *start = execd_in + execd_at;
    char *end;
    double d = strtod(start, &end);
    if (end == start) execd_fail("the arguments do not match the signature");
    execd_at += (size_t) (end - start);
    return d;
}

static bool execd_bool(void) {
    execd_ws();
    if (strncmp(execd_in + execd_at, "true", 4) == 0) { execd_at += 4; return true; }
    if (strncmp(execd_in + execd_at, "false", 5) == 0) { execd_at += 5; return false; }
    execd_fail("the arguments do not match the signature");
    return false;
}

static unsigned execd_hex4(void) {
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = execd_in[execd_at++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned) (c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned) (c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned) (c - 'A' + 10);
        else execd_fail("the arguments do not match the signature");
    }
    return v;
}

static char *execd_string(void) {
    execd_expect('"');
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    for (;;) {
        if (s == NULL) abort();
        if (n + 5 > cap) { cap *= 2; s = realloc(s, cap); continue; }
        char c = execd_in[execd_at++];
        if (c == 0) execd_fail("the arguments do not match the signature");
        if (c == '"') { s[n] = 0; return s; }
        if (c != '\\') { s[n++] = c; continue; }
        char e = execd_in[execd_at++];
        unsigned u;
        switch (e) {
            case 'n': s[n++] = '\n'; break;
            case 't': s[n++] = '\t'; break;
            case 'r': s[n++] = '\r'; break;
            case 'b': s[n++] = '\b'; break;
            case 'f': s[n++] = '\f'; break;
            case 'u':
                u = execd_hex4();
                if (u >= 0xD800 && u < 0xDC00 && execd_in[execd_at] == '\\' && execd_in[execd_at + 1] == 'u') {
                    execd_at += 2;
                    u = 0x10000 + ((u - 0xD800) << 10) + (execd_hex4() - 0xDC00);
                }
                if (u < 0x80) s[n++] = (char) u;
                else if (u < 0x800) { s[n++] = (char) (0xC0 | (u >> 6)); s[n++] = (char) (0x80 | (u & 0x3F)); }
                else if (u < 0x10000) { s[n++] = (char) (0xE0 | (u >> 12)); s[n++] = (char) (0x80 | ((u >> 6) & 0x3F)); s[n++] = (char) (0x80 | (u & 0x3F)); }
                else { s[n++] = (char) (0xF0 | (u >> 18)); s[n++] = (char) (0x80 | ((u >> 12) & 0x3F)); s[n++] = (char) (0x80 | ((u >> 6) & 0x3F)); s[n++] = (char) (0x80 | (u & 0x3F)); }
                break;
            default: s[n++] = e;
        }
    }
}

static void execd_rd_int(void *slot) { *(int *) slot = (int) execd_integer(-2147483648LL, 2147483647LL); }
static void execd_rd_long(void *slot) { *(long long *) slot = execd_integer(-9223372036854775807LL - 1, 9223372036854775807LL); }
static void execd_rd_float(void *slot) { *(double *) slot = execd_number(); }
static void execd_rd_bool(void *slot) { *(bool *) slot = execd_bool(); }
static void execd_rd_string(void *slot) { *(char **) slot = execd_string(); }

/* A JSON array into a fresh C array; its length into *size. Never NULL, even when empty. */
static void *execd_array(int *size, size_t width, void (*read)(void *)) {
    size_t cap = 8, n = 0;
    char *items = malloc(cap * width);
    execd_expect('[');
    if (!execd_at_char(']')) {
        do {
            if (n == cap) { cap *= 2; items = realloc(items, cap * width); }
            if (items == NULL) abort();
            read(items + n * width);
            n++;
        } while (execd_at_char(',') && ++execd_at);
    }
    execd_expect(']');
    *size = (int) n;
    return items;
}

static void execd_wr_int(const void *v) { char b[32]; snprintf(b, sizeof b, "%%d", *(const int *) v); execd_puts(b); }
static void execd_wr_long(const void *v) { char b[32]; snprintf(b, sizeof b, "%%lld", *(const long long *) v); execd_puts(b); }
static void execd_wr_bool(const void *v) { execd_puts(*(const bool *) v ? "true" : "false"); }
static void execd_wr_string(const void *v) { if (*(char *const *) v == NULL) execd_puts("null"); else execd_quote(*(char *const *) v); }
static void execd_wr_float(const void *v) {
    double d = *(const double *) v;
    char b[40];
    if (!__builtin_isfinite(d)) execd_fail("the return value is not a finite number");
    for (int precision = 15; precision <= 17; precision++) {  /* the shortest text that reads back the same */
        snprintf(b, sizeof b, "%%.*g", precision, d);
        if (strtod(b, NULL) == d) break;
    }
    execd_puts(b);
}

static void execd_wr_array(const void *items, int size, size_t width, void (*write)(const void *)) {
    if (items == NULL) { execd_puts(size > 0 ? "null" : "[]"); return; }
    execd_put("[", 1);
    for (int k = 0; k < size; k++) {
        if (k > 0) execd_put(",", 1);
        write((const char *) items + (size_t) k * width);
    }
    execd_put("]", 1);
}

int main(void) {
    size_t cap = 4096, n = 0;
    char *text = malloc(cap);
    for (;;) {
        if (text == NULL) abort();
        size_t got = fread(text + n, 1, cap - n - 1, stdin);
        if (got == 0) break;
        n += got;
        if (n + 1 == cap) { cap *= 2; text = realloc(text, cap); }
    }
    text[n] = 0;
    char *wrapped = malloc(n + 3);
    if (wrapped == NULL) abort();
    wrapped[0] = '[';
    memcpy(wrapped + 1, text, n);
    wrapped[n + 1] = ']';
    wrapped[n + 2] = 0;
    execd_in = wrapped;
    execd_expect('[');
%(decode)s
    execd_expect(']');
%(call)s
    execd_out_len = 0;
    execd_puts("{\"ok\":true,\"output\":");
    size_t value_at = execd_out_len;
%(encode)s
    /* the value as a JSON string: quote the text written after "output": */
    char *value = malloc(execd_out_len - value_at + 1);
    if (value == NULL) abort();
    memcpy(value, execd_out + value_at, execd_out_len - value_at + 1);
    execd_out_len = value_at;
    execd_quote(value);
    execd_puts("}");
    fflush(stdout);
    execd_reply_raw(execd_out, execd_out_len);
    return 0;
}
'''

ELEMENT_READER = {"int": "execd_rd_int", "long": "execd_rd_long", "float": "execd_rd_float",
                  "bool": "execd_rd_bool", "string": "execd_rd_string"}
ELEMENT_WRITER = {"int": "execd_wr_int", "long": "execd_wr_long", "float": "execd_wr_float",
                  "bool": "execd_wr_bool", "string": "execd_wr_string"}


def check(signature):
    """C passes arrays as a pointer and a length, one level deep (the contract's convention)."""
    for kind in signature.params + (signature.returns,):
        if kind.depth > 1:
            raise ValueError("c takes arrays one level deep in function mode (T* a, int aSize); %s is not" % kind)


def wrap(code, entry_point, signature):
    decode, args = [], []
    for i, kind in enumerate(signature.params):
        c_type = C_TYPES[kind.scalar]
        if i:
            decode.append("    execd_expect(',');")
        if kind.depth:
            decode.append("    int a%dSize;\n    %s *a%d = execd_array(&a%dSize, sizeof(%s), %s);"
                          % (i, c_type, i, i, c_type, ELEMENT_READER[kind.scalar]))
            args += ["a%d" % i, "a%dSize" % i]
        else:
            decode.append("    %s a%d;\n    %s(&a%d);" % (c_type, i, ELEMENT_READER[kind.scalar], i))
            args.append("a%d" % i)
    ret = signature.returns
    ret_type = C_TYPES[ret.scalar]
    if ret.depth:
        call = ("    int execd_return_size = 0;\n    %s *execd_result = %s(%s);"
                % (ret_type, entry_point, ", ".join(args + ["&execd_return_size"])))
        encode = ("    execd_wr_array(execd_result, execd_return_size, sizeof(%s), %s);"
                  % (ret_type, ELEMENT_WRITER[ret.scalar]))
    else:
        call = "    %s execd_result = %s(%s);" % (ret_type, entry_point, ", ".join(args))
        encode = "    %s(&execd_result);" % ELEMENT_WRITER[ret.scalar]
    harness = MAIN % {"decode": "\n".join(decode), "call": call, "encode": encode}
    code = code if code.endswith("\n") else code + "\n"
    # The compiler quotes source lines from the files #line names: those files are written too.
    return {"main.c": PRELUDE + code + '#line 1 "execd_main.c"\n' + harness, "solution.c": code, "execd_main.c": harness}

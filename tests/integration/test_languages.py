"""Every language through the engine: the shared language examples, then per language a
pass, a wrong answer, a runtime error, a timeout, a memory exhaustion, a stack overflow and
(compiled ones) a compile error, in stdio mode, and function mode with every type of the
contract in the typed languages."""
import json

import pytest

from execd import languages
from tests.conftest import ROOT

pytestmark = pytest.mark.docker

EXAMPLES = ROOT.parent / "shared" / "spec" / "examples" / "languages.jsonl"
RECORDS = [json.loads(line) for line in EXAMPLES.read_text("utf-8").splitlines() if line.strip()] \
    if EXAMPLES.exists() else [None]

# Per language, stdio programs: (what they do, code, expected status).
# "double" prints twice the number read; "wrong" prints thrice; "crash" exits non-zero
# (or throws); "spin" never ends; "hog" allocates and touches memory without end.
PROGRAMS = {
    "c": {
        "wrong": '#include <stdio.h>\nint main(void){int n;scanf("%d",&n);printf("%d\\n",n*3);return 0;}\n',
        "crash": '#include <stdlib.h>\nint main(void){int *p=0;return *p;}\n',
        "spin": 'int main(void){volatile unsigned long i=0;for(;;)i++;}\n',
        "hog": '#include <stdlib.h>\n#include <string.h>\nint main(void){for(;;){char*p=malloc(1<<20);if(p)memset(p,1,1<<20);}}\n',
        "broken": 'int main(void){ return 0 }\n',
    },
    "cpp": {
        "wrong": '#include <iostream>\nint main(){int n;std::cin>>n;std::cout<<n*3<<"\\n";}\n',
        "crash": '#include <stdexcept>\nint main(){throw std::runtime_error("boom");}\n',
        "spin": 'int main(){volatile unsigned long i=0;for(;;)i++;}\n',
        "hog": '#include <vector>\nint main(){std::vector<std::vector<char>> v;for(;;)v.emplace_back(1<<20,1);}\n',
        "broken": 'int main() { return 0 }\n',
    },
    "go": {
        "wrong": 'package main\n\nimport "fmt"\n\nfunc main() {\n\tvar n int\n\tfmt.Scan(&n)\n\tfmt.Println(n * 3)\n}\n',
        "crash": 'package main\n\nfunc main() {\n\tpanic("boom")\n}\n',
        "spin": 'package main\n\nfunc main() {\n\tfor {\n\t}\n}\n',
        "hog": 'package main\n\nfunc main() {\n\tvar keep [][]byte\n\tfor {\n\t\tb := make([]byte, 1<<20)\n'
               '\t\tfor i := range b {\n\t\t\tb[i] = 1\n\t\t}\n\t\tkeep = append(keep, b)\n\t}\n}\n',
        "broken": 'package main\n\nfunc main() {\n\tx := 1\n}\n',
    },
    "rust": {
        "wrong": 'use std::io::Read;\nfn main(){let mut s=String::new();std::io::stdin().read_to_string(&mut s).unwrap();'
                 'let n:i64=s.trim().parse().unwrap();println!("{}",n*3);}\n',
        "crash": 'fn main(){ panic!("boom"); }\n',
        "spin": 'fn main(){ let mut i: u64 = 0; loop { i = i.wrapping_add(1); if i == u64::MAX { println!("{}", i); } } }\n',
        "hog": 'fn main(){ let mut v: Vec<Vec<u8>> = Vec::new(); loop { v.push(vec![1u8; 1 << 20]); } }\n',
        "broken": 'fn main() { let x: i32 = "no"; }\n',
    },
    "java": {
        "wrong": 'import java.util.Scanner;\npublic class Main { public static void main(String[] a) '
                 '{ int n = new Scanner(System.in).nextInt(); System.out.println(n * 3); } }\n',
        "crash": 'public class Main { public static void main(String[] a) { throw new RuntimeException("boom"); } }\n',
        "spin": 'public class Main { public static void main(String[] a) { long i = 0; while (true) { i++; } } }\n',
        "hog": 'import java.util.*;\npublic class Main { public static void main(String[] a) '
               '{ List<byte[]> k = new ArrayList<>(); while (true) k.add(new byte[1 << 20]); } }\n',
        "broken": 'public class Main { public static void main(String[] a) { int x = "no"; } }\n',
    },
    "ruby": {
        "wrong": 'n = STDIN.read.to_i\nputs n * 3\n',
        "crash": 'raise "boom"\n',
        "spin": 'loop { }\n',
        "hog": 'keep = []\nloop { keep << ("x" * (1 << 20)) }\n',
    },
    "php": {
        "wrong": '<?php\n$n = (int) trim(stream_get_contents(STDIN));\necho $n * 3, "\\n";\n',
        "crash": '<?php\nthrow new Exception("boom");\n',
        "spin": '<?php\nwhile (true) {}\n',
        "hog": '<?php\n$keep = [];\nwhile (true) { $keep[] = str_repeat("x", 1 << 20); }\n',
    },
    "typescript": {
        "wrong": 'const n: number = Number(require("fs").readFileSync(0, "utf8"));\nconsole.log(n * 3);\n',
        "crash": 'throw new Error("boom");\n',
        "spin": 'for (;;) {}\n',
        "hog": 'const keep: string[] = [];\nfor (;;) keep.push("x".repeat(1 << 20) + keep.length);\n',
        "broken": 'const x: number = ;\n',
    },
}
EXPECTED = {"wrong": "failed", "crash": "runtime_error", "spin": "timeout", "hog": "memory_limit"}
NEW = sorted(PROGRAMS)


def stdio_job(language, code, time_limit_ms=3000, memory_mb=128):
    return {"language": language, "mode": "stdio", "code": code, "timeLimitMs": time_limit_ms,
            "memoryLimitMb": memory_mb, "testCases": [{"input": "21\n", "expectedOutput": "42"}]}


@pytest.mark.parametrize("rec", RECORDS, ids=[r["name"] if r else "missing" for r in RECORDS])
def test_language_example(rec, run_job):
    assert rec is not None, "language examples not found at %s" % EXAMPLES
    job = rec["job"]
    lang = languages.resolve(job["language"])
    assert lang is not None, "%s is not a language here" % job["language"]
    assert job.get("mode", "function") in lang.modes
    res = run_job(job)
    exp = rec["expect"]
    assert res["status"] == exp["status"] and res["verdict"] == exp["verdict"], res
    for got, want in zip(res["results"], exp["results"], strict=True):
        for key, value in want.items():
            assert got[key] == value, (key, got)


@pytest.mark.parametrize("language", sorted(languages.LANGUAGES))
def test_the_sample_passes(language, run_job):
    res = run_job(languages.LANGUAGES[language].doctor_job())
    assert res["status"] == "completed" and res["verdict"] == "pass", res


@pytest.mark.parametrize("language,kind", [(lang, kind) for lang in NEW for kind in sorted(EXPECTED)])
def test_each_failure_has_its_verdict(language, kind, run_job):
    res = run_job(stdio_job(language, PROGRAMS[language][kind], time_limit_ms=2000 if kind == "spin" else 8000))
    assert res["status"] == "completed", res
    assert res["results"][0]["status"] == EXPECTED[kind], res


@pytest.mark.parametrize("language", [lang for lang in NEW if languages.LANGUAGES[lang].compiled])
def test_a_compile_error_skips_every_test(language, run_job):
    job = stdio_job(language, PROGRAMS[language]["broken"])
    job["testCases"] = job["testCases"] * 2
    res = run_job(job)
    assert res["status"] == "completed" and res["verdict"] == "compile_error", res
    assert res["compileOutput"].strip(), res
    assert [t["status"] for t in res["results"]] == ["skipped", "skipped"]


@pytest.mark.parametrize("language", [lang for lang in NEW if languages.LANGUAGES[lang].compiled])
def test_a_compiled_job_reports_its_compile_time_apart(language, run_job):
    res = run_job(dict(languages.LANGUAGES[language].doctor_job()))
    assert res["verdict"] == "pass", res
    assert isinstance(res["compileTime"], int) and res["compileTime"] > 0
    assert res["totalTime"] == sum(t["executionTime"] for t in res["results"])


FUNCTION_ERRORS = {
    "ruby": "def solution(n)\n  raise ArgumentError, 'bad'\nend\n",
    "php": "<?php\nfunction solution($n) { throw new InvalidArgumentException('bad'); }\n",
    "typescript": "function solution(n: number): number { throw new RangeError('bad'); }\n",
}


@pytest.mark.parametrize("language", sorted(FUNCTION_ERRORS))
def test_function_mode_of_a_dynamic_language(language, run_job):
    ok = run_job({"language": language, "code": languages.LANGUAGES[language].sample,
                  "testCases": [{"input": "21", "expectedOutput": "42"}, {"input": "2.5", "expectedOutput": "5"}]})
    assert ok["verdict"] == "pass", ok
    assert ok["results"][0]["output"] == "42"
    bad = run_job({"language": language, "code": FUNCTION_ERRORS[language], "testCases": [{"input": "1"}]})
    assert bad["results"][0]["status"] == "runtime_error" and "bad" in bad["results"][0]["error"], bad


GO_FUNCTIONS = [
    ("func solution(nums []int) int {\n\tbest := nums[0]\n\tfor _, n := range nums {\n\t\tif n > best {\n"
     "\t\t\tbest = n\n\t\t}\n\t}\n\treturn best\n}\n",
     {"params": ["int[]"], "returns": "int"}, "[3, 9, 2]", "9"),
    ("package main\n\nimport \"strings\"\n\nfunc solution(s string, n int64, f float64, b bool) []string {\n"
     "\tif !b {\n\t\treturn nil\n\t}\n\treturn []string{strings.ToUpper(s), \"x\"}\n}\n",
     {"params": ["string", "long", "float", "bool"], "returns": "string[]"}, '"ab", 9007199254740993, 1.5, true',
     '["AB","x"]'),
    ("func solution(g [][]int) [][]int { return nil }\n", {"params": ["int[][]"], "returns": "int[][]"},
     "[[1, 2], [3]]", "[]"),
]


@pytest.mark.parametrize("code,signature,args,expected", GO_FUNCTIONS)
def test_function_mode_in_go_decodes_the_signature_types(code, signature, args, expected, run_job):
    res = run_job({"language": "go", "code": code, "signature": signature,
                   "testCases": [{"input": args, "expectedOutput": expected}]})
    assert res["verdict"] == "pass", res
    assert res["results"][0]["output"] == json.dumps(json.loads(expected), separators=(",", ":"))


def test_a_go_panic_in_function_mode_is_a_runtime_error(run_job):
    res = run_job({"language": "go", "code": "func solution(n int) int { var a []int; return a[n] }\n",
                   "signature": {"params": ["int"], "returns": "int"}, "testCases": [{"input": "3"}]})
    assert res["results"][0]["status"] == "runtime_error", res
    assert "index out of range" in res["results"][0]["error"], res


# The hostile suite's fork bomb and 100 MB output flood, in the compiled languages (their memory
# bombs and endless loops are "hog" and "spin" above). Afterwards the engine still runs a job.
HOSTILE = {
    "c": {
        "forkbomb": '#include <unistd.h>\nint main(void){for(;;)fork();}\n',
        "flood": '#include <stdio.h>\n#include <string.h>\nint main(void){static char b[65536];memset(b,\'y\',sizeof b);'
                 'for(int i=0;i<1600;i++)fwrite(b,1,sizeof b,stdout);return 0;}\n',
    },
    "java": {
        "forkbomb": 'public class Main { public static void main(String[] a) throws Exception { while (true) {'
                    ' try { new ProcessBuilder("/usr/bin/java", "-cp", "/box", "Main").start(); }'
                    ' catch (Exception e) { } } } }\n',
        "flood": 'public class Main { public static void main(String[] a) { byte[] b = new byte[65536];'
                 ' java.util.Arrays.fill(b, (byte) 121); for (int i = 0; i < 1600; i++) System.out.write(b, 0, b.length);'
                 ' System.out.flush(); } }\n',
    },
    "go": {
        "forkbomb": 'package main\n\nimport "os/exec"\n\nfunc main() {\n\tfor {\n'
                    '\t\t_ = exec.Command("/box/main").Start()\n\t}\n}\n',
        "flood": 'package main\n\nimport (\n\t"bytes"\n\t"os"\n)\n\nfunc main() {\n\tb := bytes.Repeat([]byte("y"), 65536)\n'
                 '\tfor i := 0; i < 1600; i++ {\n\t\tos.Stdout.Write(b)\n\t}\n}\n',
    },
    "rust": {
        "forkbomb": 'fn main(){ loop { let _ = std::process::Command::new("/box/main").spawn(); } }\n',
        "flood": 'use std::io::Write;\nfn main(){ let b = vec![b\'y\'; 65536]; let mut o = std::io::stdout().lock();'
                 ' for _ in 0..1600 { if o.write_all(&b).is_err() { break; } } }\n',
    },
}


@pytest.mark.parametrize("language", sorted(HOSTILE))
def test_a_fork_bomb_in_a_compiled_language(language, run_job):
    res = run_job(stdio_job(language, HOSTILE[language]["forkbomb"], time_limit_ms=1500))
    assert res["status"] == "completed", res
    assert res["results"][0]["status"] in ("timeout", "runtime_error", "memory_limit"), res
    assert run_job(languages.LANGUAGES[language].doctor_job())["verdict"] == "pass"


@pytest.mark.parametrize("language", sorted(HOSTILE))
def test_an_output_flood_in_a_compiled_language(language, run_job, settings):
    job = stdio_job(language, HOSTILE[language]["flood"], time_limit_ms=8000)
    job["testCases"] = [{"input": "", "expectedOutput": "y"}]
    res = run_job(job)
    test = res["results"][0]
    assert test["status"] in ("failed", "runtime_error") and test["truncated"] is True, res
    assert len(test["output"].encode()) <= settings.max_output_bytes
    assert len(test["stdout"].encode()) <= settings.max_output_bytes


JAVA_FUNCTIONS = [
    ("class Solution {\n    public int solution(int[] nums) { int b = nums[0]; for (int x : nums) b = Math.max(b, x);"
     " return b; }\n}\n", {"params": ["int[]"], "returns": "int"}, "[3, 9, 2]", "9"),
    ("import java.util.*;\nclass Solution {\n    static String[] solution(String s, long n, double f, boolean b) {\n"
     "        return new String[] {s.toUpperCase() + \"\\u00e9\\\"\", Long.toString(n + 1), Double.toString(f), "
     "String.valueOf(b)};\n    }\n}\n",
     {"params": ["string", "long", "float", "bool"], "returns": "string[]"}, '"ab", 9007199254740993, 1.5, true',
     '["AB\\u00e9\\"", "9007199254740994", "1.5", "true"]'),
    ("class Solution {\n    int[][] solution(int[][] g) { return new int[][] { g[1], {} }; }\n}\n",
     {"params": ["int[][]"], "returns": "int[][]"}, "[[1, 2], [3]]", "[[3], []]"),
    ("class Solution {\n    double solution(double[] xs) { double s = 0; for (double x : xs) s += x; return s; }\n}\n",
     {"params": ["float[]"], "returns": "float"}, "[0.5, 1.5, 1]", "3.0"),
]


@pytest.mark.parametrize("code,signature,args,expected", JAVA_FUNCTIONS)
def test_function_mode_in_java_decodes_the_signature_types(code, signature, args, expected, run_job):
    res = run_job({"language": "java", "code": code, "signature": signature,
                   "testCases": [{"input": args, "expectedOutput": expected}]})
    assert res["verdict"] == "pass", res


@pytest.mark.parametrize("code,status,error", [
    ("class Solution { int solution(int n) { throw new IllegalStateException(\"bad\"); } }\n", "runtime_error",
     "IllegalStateException: bad"),
    ("class Solution { int solution(int n) { return solution(n + 1) + 1; } }\n", "runtime_error", "StackOverflowError"),
    ("import java.util.*;\nclass Solution { int solution(int n) { List<long[]> k = new ArrayList<>();"
     " while (true) k.add(new long[1 << 17]); } }\n", "memory_limit", None),
    ("class Solution { int other(int n) { return n; } }\n", "runtime_error", "NoSuchMethodError"),
])
def test_java_function_mode_failures(code, status, error, run_job):
    res = run_job({"language": "java", "code": code, "signature": {"params": ["int"], "returns": "int"},
                   "timeLimitMs": 5000, "testCases": [{"input": "1"}]})
    test = res["results"][0]
    assert test["status"] == status, res
    if error:
        assert error in test["error"], res


# A runaway recursion in each language, written so that no optimiser can turn it into a loop.
STACK_OVERFLOW = {
    "python": "def f(n):\n    return f(n + 1) + 1\nprint(f(0))\n",
    "javascript": "function f(n) { return f(n + 1) + 1; }\nconsole.log(f(0));\n",
    "typescript": "function f(n: number): number { return f(n + 1) + 1; }\nconsole.log(f(0));\n",
    "ruby": "def f(n)\n  f(n + 1) + 1\nend\nputs f(0)\n",
    "php": "<?php\nfunction f($n) { return f($n + 1) + 1; }\necho f(0);\n",
    "go": "package main\n\nimport \"fmt\"\n\nfunc f(n int) int {\n\tvar pad [64]int\n\tpad[n%64] = n\n"
          "\treturn f(n+1) + pad[(n+1)%64]\n}\n\nfunc main() {\n\tfmt.Println(f(0))\n}\n",
    "java": "public class Main { static int f(int n) { return f(n + 1) + 1; }"
            " public static void main(String[] a) { System.out.println(f(0)); } }\n",
    "c": "#include <stdio.h>\nint f(int n) { volatile char pad[256]; pad[n % 256] = (char) n;"
         " return f(n + 1) + pad[(n + 7) % 256]; }\nint main(void) { printf(\"%d\\n\", f(0)); return 0; }\n",
    "cpp": "#include <iostream>\nint f(int n) { volatile char pad[256]; pad[n % 256] = (char) n;"
           " return f(n + 1) + pad[(n + 7) % 256]; }\nint main() { std::cout << f(0) << std::endl; }\n",
    "rust": "fn f(n: usize) -> usize { let mut pad = [0u8; 256]; pad[n % 256] = n as u8; let r = f(n + 1);"
            " let x = unsafe { std::ptr::read_volatile(&pad[r % 256]) }; x as usize + r }\n"
            "fn main() { println!(\"{}\", f(0)); }\n",
}
# PHP 8.2 keeps its call frames on the heap and has no stack limit (zend.max_allowed_stack_size
# is PHP 8.3): a runaway recursion there is a memory exhaustion, and reported as one.
STACK_VERDICT = {"php": "memory_limit"}


@pytest.mark.parametrize("language", sorted(STACK_OVERFLOW))
def test_a_stack_overflow_is_a_runtime_error(language, run_job):
    assert set(STACK_OVERFLOW) == set(languages.LANGUAGES)
    res = run_job(dict(stdio_job(language, STACK_OVERFLOW[language], time_limit_ms=8000),
                       testCases=[{"input": ""}]))
    assert res["status"] == "completed", res
    assert res["results"][0]["status"] == STACK_VERDICT.get(language, "runtime_error"), res


# Function mode of C, C++ and Rust: (language, code, signature, arguments, expected output).
ALL_TYPES = {"params": ["string", "long", "float", "bool"], "returns": "string[]"}
NATIVE_FUNCTIONS = [
    ("c", "int solution(int* nums, int numsSize) {\n    int best = nums[0];\n"
          "    for (int i = 1; i < numsSize; i++) if (nums[i] > best) best = nums[i];\n    return best;\n}\n",
     {"params": ["int[]"], "returns": "int"}, "[3, 9, 2]", "9"),
    ("c", "#include <ctype.h>\nchar** solution(char* s, long long n, double f, bool b, int* returnSize) {\n"
          "    static char *out[3];\n    static char num[32];\n    for (char *p = s; *p; p++) *p = (char) toupper(*p);\n"
          "    snprintf(num, sizeof num, \"%lld\", n + 1);\n    out[0] = s; out[1] = num; out[2] = \"q\\\"\";\n"
          "    *returnSize = b && f == 1.5 ? 3 : 0;\n    return out;\n}\n",
     ALL_TYPES, '"ab\\u00e9", 9007199254740993, 1.5, true', '["AB\\u00e9", "9007199254740994", "q\\""]'),
    ("c", "double* solution(double* xs, int n, bool* flags, int m, int* returnSize) {\n"
          "    *returnSize = n;\n    for (int i = 0; i < n; i++) xs[i] = flags[i % m] ? xs[i] / 4 : -xs[i];\n"
          "    return xs;\n}\n",
     {"params": ["float[]", "bool[]"], "returns": "float[]"}, "[1, 2.5, 3.0], [true, false]", "[0.25, -2.5, 0.75]"),
    ("c", "int* solution(int n, int* returnSize) { *returnSize = 0; return NULL; }\n",
     {"params": ["int"], "returns": "int[]"}, "4", "[]"),
    ("cpp", "class Solution {\npublic:\n    int solution(vector<int>& nums) { return *max_element(nums.begin(), nums.end()); }\n};\n",
     {"params": ["int[]"], "returns": "int"}, "[3, 9, 2]", "9"),
    ("cpp", "vector<string> solution(const string& s, long long n, double f, bool b) {\n"
            "    if (!b || f != 1.5) return {};\n    string u = s;\n    for (auto& c : u) c = toupper(c);\n"
            "    return {u, to_string(n + 1), \"q\\\"\"};\n}\n",
     ALL_TYPES, '"ab\\u00e9", 9007199254740993, 1.5, true', '["AB\\u00e9", "9007199254740994", "q\\""]'),
    ("cpp", "struct Solution {\n    static vector<vector<int>> solution(vector<vector<int>> g) { return {g[1], {}}; }\n};\n",
     {"params": ["int[][]"], "returns": "int[][]"}, "[[1, 2], [3]]", "[[3], []]"),
    ("cpp", "class Solution {\npublic:\n    vector<bool> solution(vector<double>& xs, vector<vector<string>>& names) {\n"
            "        return {accumulate(xs.begin(), xs.end(), 0.0) == 3.0, names[0][1] == \"b\"};\n    }\n};\n",
     {"params": ["float[]", "string[][]"], "returns": "bool[]"}, '[0.5, 1.5, 1], [["a", "b"]]', "[true, true]"),
    ("rust", "impl Solution {\n    pub fn solution(nums: Vec<i32>) -> i32 {\n        *nums.iter().max().unwrap()\n    }\n}\n",
     {"params": ["int[]"], "returns": "int"}, "[3, 9, 2]", "9"),
    ("rust", "fn solution(s: String, n: i64, f: f64, b: bool) -> Vec<String> {\n"
             "    if !b || f != 1.5 { return vec![]; }\n    vec![s.to_uppercase(), (n + 1).to_string(), \"q\\\"\".to_string()]\n}\n",
     ALL_TYPES, '"ab\\u00e9", 9007199254740993, 1.5, true', '["AB\\u00c9", "9007199254740994", "q\\""]'),
    ("rust", "pub struct Solution;\nimpl Solution {\n    pub fn solution(g: Vec<Vec<i64>>, x: Vec<f64>) -> Vec<Vec<i64>> {\n"
             "        vec![g[1].clone(), vec![x.len() as i64]]\n    }\n}\n",
     {"params": ["long[][]", "float[]"], "returns": "long[][]"}, "[[1, 2], [3]], [0.5]", "[[3], [1]]"),
    ("rust", "fn solution(words: Vec<String>, flags: Vec<Vec<bool>>) -> f64 {\n"
             "    (words.len() + flags[0].len()) as f64 / 4.0\n}\n",
     {"params": ["string[]", "bool[][]"], "returns": "float"}, '["a", "b"], [[true]]', "0.75"),
]


@pytest.mark.parametrize("language,code,signature,args,expected", NATIVE_FUNCTIONS)
def test_function_mode_in_c_cpp_and_rust_decodes_the_signature_types(language, code, signature, args, expected,
                                                                    run_job):
    res = run_job({"language": language, "code": code, "signature": signature,
                   "testCases": [{"input": args, "expectedOutput": expected}]})
    assert res["verdict"] == "pass", res
    got, want = json.loads(res["results"][0]["output"]), json.loads(expected)
    assert got == (pytest.approx(want) if signature["returns"] == "float[]" else want)


INT_TO_INT = {"params": ["int"], "returns": "int"}


@pytest.mark.parametrize("language,code,status,error", [
    ("c", "int solution(int n) { int *p = 0; return p[n]; }\n", "runtime_error", "SIGSEGV"),
    ("cpp", "int solution(int n) { throw invalid_argument(\"bad\"); }\n", "runtime_error",
     "std::invalid_argument: bad"),
    ("cpp", "int solution(int n) { vector<vector<char>> keep; for (;;) keep.emplace_back(1 << 20, 1); }\n",
     "memory_limit", None),
    ("rust", "fn solution(n: i32) -> i32 { let v: Vec<i32> = Vec::new(); v[n as usize] }\n", "runtime_error",
     "panicked: index out of bounds"),
    ("rust", "fn solution(n: i32) -> i32 { let mut keep = Vec::new(); loop { keep.push(vec![1u8; 1 << 20]); } }\n",
     "memory_limit", None),
])
def test_native_function_mode_failures(language, code, status, error, run_job):
    # The memory hogs get 128 MB to reach the limit soon; the others room for the compiler under gVisor.
    res = run_job({"language": language, "code": code, "signature": INT_TO_INT, "timeLimitMs": 5000,
                   "memoryLimitMb": 128 if status == "memory_limit" else 256, "testCases": [{"input": "3"}]})
    test = res["results"][0]
    assert test["status"] == status, res
    if error:
        assert error in test["error"], res


@pytest.mark.parametrize("language,code,diagnostic", [
    ("c", "int other(int n) { return n; }\n", "solution"),
    ("c", "int solution(int a, int b) { return a + b; }\n", "too few arguments"),
    ("cpp", "class Solution { public: int other(int n) { return n; } };\n", "no member named"),
    ("cpp", "string solution(int n) { return \"x\"; }\n", "execd_main.cpp"),
    ("rust", "fn other(n: i32) -> i32 { n }\n", "cannot find function"),
    ("rust", "fn solution(n: String) -> i32 { 1 }\n", "mismatched types"),
])
def test_a_function_that_does_not_fit_the_signature_is_a_compile_error(language, code, diagnostic, run_job):
    res = run_job({"language": language, "code": code, "signature": INT_TO_INT, "testCases": [{"input": "3"}]})
    assert res["verdict"] == "compile_error", res
    assert diagnostic in res["compileOutput"], res


def test_compile_errors_quote_the_players_own_lines(run_job):
    code = "class Solution {\npublic:\n    int solution(int n) {\n        return n +;\n    }\n};\n"
    res = run_job({"language": "cpp", "code": code, "signature": INT_TO_INT, "testCases": [{"input": "3"}]})
    assert res["verdict"] == "compile_error", res
    assert "solution.cpp:4:" in res["compileOutput"] and "return n +;" in res["compileOutput"], res

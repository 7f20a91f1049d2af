"""The function-mode harnesses as text: what each language's main file is made of. Whether the
programs compile and run is the integration suite's part (test_languages.py)."""
from execd import jobs, languages
from execd.config import load_settings

SETTINGS = load_settings(None, environ={})


def files_for(language, code, params=("int",), returns="int", mode="function", args="1"):
    raw = {"language": language, "code": code, "mode": mode, "testCases": [{"input": args}]}
    if mode == "function":
        raw["signature"] = {"params": list(params), "returns": returns}
    job = jobs.validate(raw, SETTINGS)
    return languages.LANGUAGES[language].files(job)


def test_c_and_cpp_keep_the_players_lines_under_their_own_file_name():
    for language, name in (("c", "solution.c"), ("cpp", "solution.cpp")):
        code = "int solution(int n) { return n; }"
        made = files_for(language, code)
        main = made[languages.LANGUAGES[language].source]
        # The compiler quotes line N of the file that #line names: it must hold the player's code.
        assert '#line 1 "%s"\n%s\n' % (name, code) in main
        assert made[name] == code + "\n"


def test_cpp_calls_a_member_of_solution_only_when_there_is_a_class():
    assert "Solution().solution(a0)" in files_for("cpp", "class Solution { public: int solution(int n) { return n; } };")["main.cpp"]
    assert " solution(a0)" in files_for("cpp", "int solution(int n) { return n; }")["main.cpp"]


def test_rust_declares_solution_only_when_the_player_did_not():
    declared = "pub struct Solution;"
    bare = files_for("rust", "impl Solution { pub fn solution(n: i32) -> i32 { n } }")["main.rs"]
    assert declared in bare and "Solution::solution(a0)" in bare
    own = files_for("rust", "struct Solution;\nimpl Solution { pub fn solution(n: i32) -> i32 { n } }")["main.rs"]
    assert declared not in own
    free = files_for("rust", "fn solution(n: i32) -> i32 { n }")["main.rs"]
    assert declared not in free and "Solution::" not in free


def test_c_passes_an_array_as_pointer_and_length_and_a_returned_one_by_return_size():
    main = files_for("c", "int* solution(int* a, int n, int k, int* r) { *r = 0; return a; }",
                     params=("int[]", "int"), returns="int[]", args="[1], 2")["main.c"]
    assert "solution(a0, a0Size, a1, &execd_return_size)" in main


def test_go_caps_its_stack_in_both_modes():
    for mode in ("function", "stdio"):
        code = "func solution(n int) int { return n }" if mode == "function" else "package main\nfunc main() {}"
        assert "SetMaxStack" in files_for("go", code, mode=mode)["execd_stack.go"]

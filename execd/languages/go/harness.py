"""Function mode for Go: the submission stays main.go (a `package main` line is added when it
has none); a second file, execd_main.go, holds main(): it decodes the JSON arguments from stdin
into the signature's types with encoding/json, calls the entry point, and writes the reply
({"ok", "output"} or {"ok": false, "error"}) to fd 3. A panic is reported, then re-raised."""
import re

GO_TYPES = {"int": "int", "long": "int64", "float": "float64", "bool": "bool", "string": "string"}

MAIN = r'''package main

import (
	execdjson "encoding/json"
	execdfmt "fmt"
	execdio "io"
	execdos "os"
)

func execdReply(v map[string]interface{}) {
	b, _ := execdjson.Marshal(v)
	execdos.NewFile(3, "reply").Write(b)
}

func execdFail(msg string) {
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	execdReply(map[string]interface{}{"ok": false, "error": msg})
	execdos.Exit(1)
}

func main() {
	defer func() {
		if r := recover(); r != nil {
			execdReply(map[string]interface{}{"ok": false, "error": execdfmt.Sprintf("panic: %%v", r)})
			panic(r)
		}
	}()
	data, _ := execdio.ReadAll(execdos.Stdin)
	var raw []execdjson.RawMessage
	if err := execdjson.Unmarshal(append(append([]byte("["), data...), ']'), &raw); err != nil || len(raw) != %(count)d {
		execdFail("the arguments do not match the signature")
	}
%(decode)s
	result := %(entry)s(%(args)s)
	out, err := execdjson.Marshal(result)
	if err != nil {
		execdFail("the return value cannot be written as JSON: " + err.Error())
	}
%(nil_slice)s	execdReply(map[string]interface{}{"ok": true, "output": string(out)})
}
'''


# Go lets a goroutine's stack grow to 1 GB, so a runaway recursion would exhaust the memory
# limit first; this file, beside the program in every mode, caps it at the runner's {stackMb}.
STACK_CAP = '''package main

import (
	execddebug "runtime/debug"
	execdos "os"
	execdstrconv "strconv"
)

func init() {
	if mb, err := execdstrconv.Atoi(execdos.Getenv("EXECD_STACK_MB")); err == nil && mb > 0 {
		execddebug.SetMaxStack(mb << 20)
	}
}
'''


def support_files(job):
    """Files beside the program in every mode."""
    return {"execd_stack.go": STACK_CAP}


def go_type(kind):
    return "[]" * kind.depth + GO_TYPES[kind.scalar]


def wrap(code, entry_point, signature):
    if not re.search(r"^\s*package\s+\w+", code, re.MULTILINE):
        code = "package main\n\n" + code
    decode = "\n".join(
        "\tvar a%d %s\n\tif err := execdjson.Unmarshal(raw[%d], &a%d); err != nil {\n"
        "\t\texecdFail(\"argument %d: \" + err.Error())\n\t}" % (i, go_type(t), i, i, i + 1)
        for i, t in enumerate(signature.params))
    args = ", ".join("a%d" % i for i in range(len(signature.params)))
    # A nil slice is Go's empty one; JSON calls it null, the test means [].
    nil_slice = '\tif string(out) == "null" {\n\t\tout = []byte("[]")\n\t}\n' if signature.returns.depth else ""
    return {"main.go": code,
            "execd_main.go": MAIN % {"count": len(signature.params), "decode": decode, "entry": entry_point,
                                     "args": args, "nil_slice": nil_slice}}

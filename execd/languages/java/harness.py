"""Function mode for Java: the submission is Solution.java (`class Solution` with the entry point
as an instance or static method); Main.java hands it to ExecdHarness (compiled in the image,
on the compile and run class paths), which reads the JSON arguments from stdin into the
signature's Java types, calls the method by reflection, and writes the reply to fd 3."""

JAVA_TYPES = {"int": "int", "long": "long", "float": "double", "bool": "boolean", "string": "String"}

MAIN = r'''public class Main {
    public static void main(String[] argv) throws Exception {
        ExecdHarness.run(Solution.class, "%(entry)s", new String[] {%(types)s});
    }
}
'''


def wrap(code, entry_point, signature):
    types = ", ".join('"%s"' % t for t in signature.params)
    return {"Solution.java": code, "Main.java": MAIN % {"types": types, "entry": entry_point}}

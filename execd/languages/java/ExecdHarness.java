import java.io.*;
import java.lang.reflect.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

/** Function mode's fixed part, compiled into the image: reads the JSON arguments into the
 * signature's Java types, calls the entry point by reflection and writes the reply to fd 3.
 * The Main.java that harness.py writes beside the submission only calls run(). */
public final class ExecdHarness {
    private ExecdHarness() {}

    static final class Json {
        final String s; int i;
        Json(String s) { this.s = s; }
        void ws() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }
        boolean at(char c) { ws(); return i < s.length() && s.charAt(i) == c; }
        void expect(char c) {
            if (!at(c)) throw new IllegalArgumentException("expected '" + c + "' at " + i);
            i++;
        }
        String number() {
            ws(); int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            if (start == i) throw new IllegalArgumentException("expected a number at " + start);
            return s.substring(start, i);
        }
        long integer() {
            String t = number();
            return (t.indexOf('.') >= 0 || t.indexOf('e') >= 0 || t.indexOf('E') >= 0)
                ? (long) Double.parseDouble(t) : Long.parseLong(t);
        }
        boolean bool() {
            ws();
            if (s.startsWith("true", i)) { i += 4; return true; }
            if (s.startsWith("false", i)) { i += 5; return false; }
            throw new IllegalArgumentException("expected a boolean at " + i);
        }
        String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            for (;;) {
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c != '\\') { b.append(c); continue; }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n': b.append('\n'); break;
                    case 't': b.append('\t'); break;
                    case 'r': b.append('\r'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                    default: b.append(e);
                }
            }
        }
        Object value(String type) {
            if (type.endsWith("[]")) {
                String inner = type.substring(0, type.length() - 2);
                List<Object> items = new ArrayList<>();
                expect('[');
                if (!at(']')) {
                    do { items.add(value(inner)); } while (at(',') && ++i > 0);
                }
                expect(']');
                Object array = Array.newInstance(classOf(inner), items.size());
                for (int k = 0; k < items.size(); k++) Array.set(array, k, items.get(k));
                return array;
            }
            switch (type) {
                case "int": return (int) integer();
                case "long": return integer();
                case "float": return Double.parseDouble(number());
                case "bool": return bool();
                default: return string();
            }
        }
    }

    static Class<?> classOf(String type) {
        if (type.endsWith("[]")) return Array.newInstance(classOf(type.substring(0, type.length() - 2)), 0).getClass();
        switch (type) {
            case "int": return int.class;
            case "long": return long.class;
            case "float": return double.class;
            case "bool": return boolean.class;
            default: return String.class;
        }
    }

    static void write(StringBuilder b, Object v) {
        if (v == null) { b.append("null"); return; }
        if (v.getClass().isArray()) {
            b.append('[');
            for (int k = 0; k < Array.getLength(v); k++) { if (k > 0) b.append(','); write(b, Array.get(v, k)); }
            b.append(']');
        } else if (v instanceof List) {
            b.append('[');
            int k = 0;
            for (Object o : (List<?>) v) { if (k++ > 0) b.append(','); write(b, o); }
            b.append(']');
        } else if (v instanceof String || v instanceof Character) {
            quote(b, v.toString());
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) throw new ArithmeticException("the return value is not a finite number");
            b.append(d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d));
        } else {
            b.append(v.toString());
        }
    }

    static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        b.append('"');
    }

    static void reply(boolean ok, String field, String text) throws IOException {
        StringBuilder b = new StringBuilder("{\"ok\":").append(ok).append(",\"").append(field).append("\":");
        quote(b, text.length() > 1000 && !ok ? text.substring(0, 1000) : text);
        b.append('}');
        try (FileOutputStream out = new FileOutputStream(replyChannel())) {
            out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    // fd 3 itself, not a reopen through /proc/self/fd/3: under gVisor the pipe belongs to the
    // runner's uid, and reopening it is refused (java.io is opened for this in the run command).
    static FileDescriptor replyChannel() throws IOException {
        try {
            FileDescriptor fd = new FileDescriptor();
            Field field = FileDescriptor.class.getDeclaredField("fd");
            field.setAccessible(true);
            field.setInt(fd, 3);
            return fd;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IOException("cannot reach the reply channel: " + e);
        }
    }

    public static void run(Class<?> solution, String entry, String[] types) throws Exception {
        Object[] args = new Object[types.length];
        try {
            Json json = new Json("[" + new String(System.in.readAllBytes(), StandardCharsets.UTF_8) + "]");
            json.expect('[');
            for (int k = 0; k < types.length; k++) {
                if (k > 0) json.expect(',');
                args[k] = json.value(types[k]);
            }
        } catch (RuntimeException e) {
            reply(false, "error", "the arguments do not match the signature: " + e.getMessage());
            System.exit(1);
        }
        Method method = null;
        for (Method m : solution.getDeclaredMethods()) {
            if (m.getName().equals(entry) && m.getParameterCount() == types.length) method = m;
        }
        if (method == null) {
            reply(false, "error", "NoSuchMethodError: Solution." + entry + " with " + types.length + " parameters");
            System.exit(1);
        }
        method.setAccessible(true);
        Object value;
        try {
            Object target = null;
            if (!Modifier.isStatic(method.getModifiers())) {
                Constructor<?> make = solution.getDeclaredConstructor();
                make.setAccessible(true);
                target = make.newInstance();
            }
            value = method.invoke(target, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            reply(false, "error", cause.getClass().getName() + (cause.getMessage() != null ? ": " + cause.getMessage() : ""));
            System.out.flush();
            if (cause instanceof Error) throw (Error) cause;  // OutOfMemoryError, StackOverflowError: the JVM's own report
            cause.printStackTrace();
            System.exit(1);
            return;
        }
        StringBuilder out = new StringBuilder();
        write(out, value);
        System.out.flush();
        reply(true, "output", out.toString());
    }
}

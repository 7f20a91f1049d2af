"""Function mode for TypeScript: the submission, then a call of its entry point (a function in
module scope or an export) with the JSON arguments read from stdin; the reply goes to fd 3.
esbuild strips the types; the harness is plain JavaScript, which is TypeScript too."""

HARNESS = r'''

// -- execd function-mode harness ----------------------------------------------
;(async () => {
  const __execdFs = require('fs');
  const reply = (obj: any) => __execdFs.writeSync(3, JSON.stringify(obj));
  try {
    const args = JSON.parse('[' + __execdFs.readFileSync(0, 'utf8') + ']');
    const exported = (typeof module === 'object' && module.exports) || {};
    const fn: any = typeof %(entry)s === 'function' ? %(entry)s : exported['%(entry)s'];
    if (typeof fn !== 'function') throw new ReferenceError("entry point '%(entry)s' is not a function");
    let value = fn(...args);
    if (value && typeof value.then === 'function') value = await value;
    const output = JSON.stringify(value === undefined ? null : value);
    reply({ ok: true, output: output === undefined ? 'null' : output });
  } catch (e: any) {
    const name = (e && e.name) || 'Error';
    reply({ ok: false, error: (e && e.message ? name + ': ' + e.message : String(e)).slice(0, 1000) });
    process.stderr.write(((e && e.stack) || String(e)) + '\n');
    process.exitCode = 1;
  }
})();
'''


def wrap(code, entry_point, signature=None):
    return code + HARNESS % {"entry": entry_point}

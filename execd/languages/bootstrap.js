'use strict';
// In-sandbox node worker, started by runner.py before a job arrives.
// fd 3: control lines from the runner; fd 4: one 'R' when loaded, then JSON
// result lines (a call's reply echoes the call's nonce). fds 1 and 2 are the submission's stdout and stderr, which are
// synchronous pipes on Linux, so a test's prints are in the pipe before its
// result line is written.
const fs = require('fs');
const vm = require('vm');
const Module = require('module');

const CTL = 3;
const RES = 4;
const FILENAME = '/tmp/solution.js'; // a name for stack traces; never written
const DIRNAME = '/tmp';

function writeAll(fd, text) {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

function send(obj) {
  writeAll(RES, JSON.stringify(obj) + '\n');
}

let pending = Buffer.alloc(0);
const chunk = Buffer.alloc(65536);
function readLine() {
  for (;;) {
    const i = pending.indexOf(10);
    if (i >= 0) {
      const line = pending.subarray(0, i).toString('utf8');
      pending = pending.subarray(i + 1);
      return line;
    }
    let n;
    try {
      n = fs.readSync(CTL, chunk, 0, chunk.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      throw e;
    }
    if (n === 0) return null;
    pending = Buffer.concat([pending, chunk.subarray(0, n)]);
  }
}

function summary(e) {
  if (e instanceof Error || (e && typeof e === 'object' && 'message' in e)) {
    const name = e.name || 'Error';
    return (e.message ? `${name}: ${e.message}` : name).slice(0, 1000);
  }
  let text;
  try { text = String(e); } catch (_) { text = 'a non-Error value'; }
  return `Uncaught ${text}`.slice(0, 1000);
}

function stackOf(e) {
  if (e && typeof e.stack === 'string') {
    // Drop this bootstrap's frames: they say nothing about the submission.
    return e.stack.split('\n').filter((l) => !l.includes('bootstrap.js') && !l.includes('node:internal')).join('\n');
  }
  return summary(e);
}

function compileError(e) {
  // vm puts "file:line\n source\n ^^^\n\n" before the message.
  const stack = typeof e.stack === 'string' ? e.stack : String(e);
  const lines = stack.split('\n');
  const cut = lines.findIndex((l) => /^\s+at /.test(l));
  return (cut >= 0 ? lines.slice(0, cut) : lines).join('\n').trim();
}

function compile(code, entry, mode) {
  // entry is validated on the host as a plain identifier.
  const footer = mode === 'function'
    ? `\n;module.__execdEntry = (typeof ${entry} === 'function') ? ${entry} : undefined;`
    : '\n';
  return new vm.Script(Module.wrap(code + footer), { filename: FILENAME });
}

function instantiate(script) {
  const m = new Module(FILENAME, null);
  m.filename = FILENAME;
  m.paths = Module._nodeModulePaths(DIRNAME);
  const fn = script.runInThisContext({ displayErrors: true });
  fn.call(m.exports, m.exports, Module.createRequire(FILENAME), m, FILENAME, DIRNAME);
  return m;
}

function entryOf(m, entry) {
  if (typeof m.__execdEntry === 'function') return m.__execdEntry;
  const ex = m.exports;
  if (ex && typeof ex[entry] === 'function') return ex[entry];
  if (typeof ex === 'function') return ex;
  return undefined;
}

async function call(script, entry, input) {
  try {
    const m = instantiate(script);
    const fn = entryOf(m, entry);
    if (typeof fn !== 'function') throw new ReferenceError(`entry point '${entry}' is not a function`);
    const args = JSON.parse(`[${input}]`);
    let value = fn(...args);
    if (value && typeof value.then === 'function') value = await value;
    const output = JSON.stringify(value === undefined ? null : value);
    return { ok: true, output: output === undefined ? 'null' : output };
  } catch (e) {
    try { process.stderr.write(stackOf(e) + '\n'); } catch (_) { /* stderr closed */ }
    return { ok: false, error: summary(e) };
  }
}

function failStdio(e) {
  try { process.stderr.write(stackOf(e) + '\n'); } catch (_) { /* stderr closed */ }
  try { send({ ok: false, error: summary(e) }); } catch (_) { /* channel closed */ }
  process.exit(1);
}

async function main() {
  writeAll(RES, 'R');
  const first = readLine();
  if (first === null) return;
  const load = JSON.parse(first);
  let script;
  try {
    script = compile(load.code, load.entryPoint, load.mode);
  } catch (e) {
    send({ ok: false, compileError: compileError(e) });
    process.exit(0);
  }
  send({ ok: true, loaded: true });
  if (load.mode === 'stdio') {
    if (readLine() === null) return;
    process.on('uncaughtException', failStdio);
    process.on('unhandledRejection', failStdio);
    try {
      instantiate(script);
    } catch (e) {
      failStdio(e);
    }
    return; // node exits when the program's event loop is empty
  }
  for (;;) {
    const line = readLine();
    if (line === null) break;
    let msg;
    try { msg = JSON.parse(line); } catch (_) { continue; }
    // Only the runner's calls; anything else on fd 3 was written by the submission.
    if (!msg || msg.type !== 'call' || typeof msg.nonce !== 'string') continue;
    const reply = await call(script, load.entryPoint, msg.input);
    // The runner takes a reply only with the nonce of the call it answers.
    reply.nonce = msg.nonce;
    send(reply);
  }
  process.exit(0);
}

main().catch((e) => {
  try { process.stderr.write(`execd bootstrap: ${stackOf(e)}\n`); } catch (_) { /* ignore */ }
  process.exit(70);
});

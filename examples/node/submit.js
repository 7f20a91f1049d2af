#!/usr/bin/env node
'use strict';
/**
 * Submit one job to execd over RabbitMQ and print its result as JSON.
 *
 *   node submit.js job.json [--url amqp://...] [--queue name] [--timeout-ms N] [--pretty]
 *
 * `job.json` may be `-` for standard input. Exit codes, as `execd run`'s:
 *   0  completed, verdict pass
 *   1  completed with another verdict
 *   2  refused or errored (status "error"), timed out, or could not be submitted
 */
const fs = require('node:fs');
const { ExecdClient, ExecdError, DEFAULT_QUEUE, DEFAULT_TIMEOUT_MS } = require('./execd-client');

const EXIT_PASS = 0;
const EXIT_NOT_PASSED = 1;
const EXIT_ERROR = 2;

const USAGE = 'usage: node submit.js JOB.json|- [--url AMQP_URL] [--queue NAME] [--timeout-ms N] [--pretty]';

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = {
    url: process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/%2F',
    queue: process.env.EXECUTION_QUEUE || DEFAULT_QUEUE,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    pretty: false,
    jobFile: null,
  };
  const valued = { '--url': 'url', '--queue': 'queue', '--timeout-ms': 'timeoutMs' };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(EXIT_PASS);
    } else if (arg === '--pretty') {
      opts.pretty = true;
    } else if (arg in valued) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
        value = argv[++i];
      }
      opts[valued[arg]] = value;
    } else if (arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}`);
    } else if (opts.jobFile === null) {
      opts.jobFile = arg;
    } else {
      throw new UsageError(`unexpected argument ${arg}`);
    }
  }
  if (opts.jobFile === null) throw new UsageError('give the job file (or - for standard input)');
  const ms = Number(opts.timeoutMs);
  if (!Number.isInteger(ms) || ms <= 0) throw new UsageError(`--timeout-ms must be a positive integer, not ${opts.timeoutMs}`);
  opts.timeoutMs = ms;
  return opts;
}

function readJob(file) {
  const text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${err.message}`);
  }
}

async function main(argv) {
  let opts;
  let job;
  try {
    opts = parseArgs(argv);
    job = readJob(opts.jobFile);
  } catch (err) {
    process.stderr.write(`submit: ${err.message}\n${err instanceof UsageError ? USAGE + '\n' : ''}`);
    return EXIT_ERROR;
  }

  let client;
  try {
    client = await ExecdClient.connect(opts.url, { queue: opts.queue, timeoutMs: opts.timeoutMs });
    const result = await client.execute(job);
    process.stdout.write(JSON.stringify(result, null, opts.pretty ? 2 : undefined) + '\n');
    if (result.status !== 'completed') return EXIT_ERROR;
    return result.verdict === 'pass' ? EXIT_PASS : EXIT_NOT_PASSED;
  } catch (err) {
    const kind = err instanceof ExecdError ? err.name : 'error';
    process.stderr.write(`submit: ${kind}: ${err.message}\n`);
    return EXIT_ERROR;
  } finally {
    if (client) await client.close();
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

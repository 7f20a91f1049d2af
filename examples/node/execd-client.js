'use strict';
/**
 * A small RPC client for execd over RabbitMQ, meant to be copied into a
 * producer (a battle service, say).
 *
 * One connection, one confirm channel, one exclusive reply queue. Each
 * `execute()` publishes the job (persistent, mandatory, with `replyTo` and a
 * fresh `correlationId`), waits for the broker's confirm, and resolves with the
 * result whose `correlationId` matches. Replies nobody waits for any more (the
 * late answers of calls that timed out) are dropped.
 *
 * A result with `status: "error"` (a refused job: `invalid_job`,
 * `unsupported_language`, ...) is an answer and resolves like any other; only
 * a missing answer rejects: ExecdTimeoutError, ExecdConnectionError,
 * ExecdPublishError.
 *
 * execd delivers at least once: a job may run (and be answered) twice. Every
 * job carries an `id` (one is generated when it has none; the result echoes it),
 * so callers can deduplicate and retry a timed-out job under the same id.
 */
const crypto = require('node:crypto');
const amqp = require('amqplib');

const DEFAULT_QUEUE = 'execution_queue';
const DEFAULT_TIMEOUT_MS = 70000; // execd's MAX_JOB_TIME (60 s) plus queueing slack

/** Base class of the errors this client rejects with. */
class ExecdError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * No result arrived in time. The job may still be queued or running, and its
 * result may arrive later (it is then dropped): retry with the same `jobId`.
 */
class ExecdTimeoutError extends ExecdError {
  /**
   * @param {string} message
   * @param {{jobId: string, correlationId: string, timeoutMs: number, confirmed: boolean}} info
   */
  constructor(message, info) {
    super(message);
    /** the job's id (the caller's, or the generated one) */
    this.jobId = info.jobId;
    this.correlationId = info.correlationId;
    this.timeoutMs = info.timeoutMs;
    /** whether the broker had confirmed the job into the queue */
    this.confirmed = info.confirmed;
  }
}

/** The connection or channel closed (or was closed) before the result came. */
class ExecdConnectionError extends ExecdError {}

/** The broker did not take the job: no queue by that name (unroutable), or it nacked the publish. */
class ExecdPublishError extends ExecdError {}

class ExecdClient {
  /**
   * Connect, open a confirm channel and start consuming a private reply queue.
   *
   * @param {string} url an AMQP URL, e.g. `amqp://guest:guest@127.0.0.1:5672/%2F`
   * @param {import('./index').ConnectOptions} [options]
   *   `queue`: execd's execution queue; `timeoutMs`: default per-call timeout
   * @returns {Promise<ExecdClient>}
   */
  static async connect(url, { queue = DEFAULT_QUEUE, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const connection = await amqp.connect(url, { clientProperties: { connection_name: 'execd-client' } });
    connection.on('error', () => {}); // until the client listens: the rejection below reports it
    try {
      const channel = await connection.createConfirmChannel();
      const client = new ExecdClient(connection, channel, { queue, timeoutMs });
      // Server-named, exclusive, auto-delete: it lives exactly as long as this
      // connection, and no one else can read our results.
      const { queue: replyQueue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      client.replyQueue = replyQueue;
      await channel.consume(replyQueue, (msg) => client._onReply(msg), { noAck: true });
      return client;
    } catch (err) {
      await connection.close().catch(() => {});
      throw err;
    }
  }

  /** Use ExecdClient.connect(). */
  constructor(connection, channel, { queue, timeoutMs }) {
    this.connection = connection;
    this.channel = channel;
    this.queue = queue;
    this.timeoutMs = timeoutMs;
    /** @type {string | null} */
    this.replyQueue = null;
    /** correlationId -> pending call */
    this._pending = new Map();
    /** @type {ExecdConnectionError | null} why the client is unusable, once it is */
    this._closed = null;
    /** @type {Promise<void> | null} */
    this._closing = null;
    this._connectionClosed = false;

    // Without 'error' listeners an AMQP error would crash the process. The
    // 'close' that always follows is where the pending calls are failed, with
    // the error as the cause. (Heartbeats, at the broker's suggested interval
    // unless the URL sets ?heartbeat=N, notice a silently dead peer.)
    let cause = null;
    connection.on('error', (err) => { cause = err; });
    channel.on('error', (err) => { cause = err; });
    connection.on('close', (err) => {
      this._connectionClosed = true;
      this._fail('connection to RabbitMQ closed', err || cause);
    });
    channel.on('close', () => {
      this._fail('AMQP channel closed', cause);
      // A client without its channel is of no use. Not synchronously: the
      // channel may be closing as part of the connection's own close.
      setImmediate(() => this._shutdown());
    });
    // A mandatory publish that no queue took comes back here, before its confirm.
    channel.on('return', (msg) => {
      const call = this._take(msg.properties.correlationId);
      if (call) {
        call.reject(new ExecdPublishError(
          `job ${call.jobId} was not routed to a queue named "${msg.fields.routingKey}" ` +
          `(${msg.fields.replyCode} ${msg.fields.replyText}); is execd running with EXECUTION_QUEUE=${msg.fields.routingKey}?`));
      }
    });
  }

  /**
   * Run one job and resolve with its result (any status, any verdict).
   *
   * @param {import('./index').Job} job a contract job; not modified (an `id` is added to the published copy when absent)
   * @param {import('./index').ExecuteOptions} [options] `timeoutMs` overrides the client's default
   * @returns {Promise<import('./index').Result>} the result
   */
  execute(job, { timeoutMs = this.timeoutMs } = {}) {
    if (this._closed) return Promise.reject(this._closed);
    if (job === null || typeof job !== 'object' || Array.isArray(job)) {
      return Promise.reject(new TypeError('job must be an object'));
    }
    const body = job.id == null ? { ...job, id: crypto.randomUUID() } : job;
    let payload;
    try {
      payload = Buffer.from(JSON.stringify(body));
    } catch (err) { // a cycle, a BigInt...
      return Promise.reject(new TypeError(`job is not serialisable as JSON: ${err.message}`));
    }
    const correlationId = crypto.randomUUID();
    return new Promise((resolve, reject) => {
      const call = { jobId: String(body.id), resolve, reject, confirmed: false, timer: null };
      call.timer = setTimeout(() => {
        this._take(correlationId);
        reject(new ExecdTimeoutError(
          `no result for job ${call.jobId} within ${timeoutMs} ms` +
          (call.confirmed ? ' (the broker had queued it; it may still run)' : ' (the broker had not confirmed it)'),
          { jobId: call.jobId, correlationId, timeoutMs, confirmed: call.confirmed }));
      }, timeoutMs);
      this._pending.set(correlationId, call);
      const options = {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        replyTo: this.replyQueue,
        correlationId,
        messageId: call.jobId,
        timestamp: Math.floor(Date.now() / 1000),
      };
      try {
        this.channel.publish('', this.queue, payload, options, (err) => {
          if (!err) {
            call.confirmed = true;
            return;
          }
          const pending = this._take(correlationId);
          if (!pending) return; // already settled (returned, timed out, closed)
          pending.reject(err.message === 'message nacked'
            ? new ExecdPublishError(`the broker refused job ${call.jobId} (nack)`)
            : new ExecdConnectionError(`job ${call.jobId} was not confirmed: ${err.message}`, { cause: err }));
        });
      } catch (err) { // the channel closed under us
        this._take(correlationId);
        reject(this._closed || new ExecdConnectionError(`could not publish job ${call.jobId}: ${err.message}`, { cause: err }));
      }
    });
  }

  /** Close the connection; pending calls reject with ExecdConnectionError. Idempotent. */
  close() {
    this._fail('client closed');
    return this._shutdown();
  }

  _onReply(msg) {
    if (msg === null) { // the broker cancelled our consumer (the reply queue was deleted)
      this._fail('the reply queue was deleted');
      this._shutdown();
      return;
    }
    const call = this._take(msg.properties.correlationId);
    if (!call) return; // a late answer of a call that timed out, or not ours
    let result;
    try {
      result = JSON.parse(msg.content.toString('utf8'));
    } catch (err) {
      call.reject(new ExecdError(`the reply to job ${call.jobId} is not JSON: ${err.message}`));
      return;
    }
    call.resolve(result);
  }

  /** Remove and return the pending call of a correlation id, its timer stopped. */
  _take(correlationId) {
    const call = this._pending.get(correlationId);
    if (!call) return undefined;
    this._pending.delete(correlationId);
    clearTimeout(call.timer);
    return call;
  }

  /** Close the connection once; resolves when it is closed (or was already). */
  _shutdown() {
    if (!this._closing) {
      this._closing = this._connectionClosed ? Promise.resolve() : new Promise((resolve) => {
        this.connection.once('close', () => resolve());
        this.connection.close().then(resolve, () => resolve()); // rejects when closed or closing already
      });
    }
    return this._closing;
  }

  /** Make the client unusable and reject every pending call. */
  _fail(reason, cause) {
    const why = cause ? `${reason} (${cause.message})` : reason;
    const options = cause ? { cause } : undefined;
    if (!this._closed) this._closed = new ExecdConnectionError(why, options);
    for (const correlationId of [...this._pending.keys()]) {
      const call = this._take(correlationId);
      call.reject(new ExecdConnectionError(`${why} before the result of job ${call.jobId} arrived`, options));
    }
  }
}

module.exports = {
  ExecdClient,
  ExecdError,
  ExecdTimeoutError,
  ExecdConnectionError,
  ExecdPublishError,
  DEFAULT_QUEUE,
  DEFAULT_TIMEOUT_MS,
};

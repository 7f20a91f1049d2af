// Types of execd-client.js, for TypeScript producers. The shapes follow the
// execd wire contract (v1.1): jobs and results are camelCase JSON.

export type Scalar = 'int' | 'long' | 'float' | 'bool' | 'string';
export type ValueType = Scalar | `${Scalar}[]` | `${Scalar}[][]`;

export interface TestCase {
  /** function mode: the argument list as JSON without brackets; stdio mode: standard input */
  input: string;
  /** absent: the test is run and reported with `passed: null` */
  expectedOutput?: string;
}

export interface Job {
  /** 1-128 chars of [A-Za-z0-9._:-]; the client generates a UUID when absent. Deduplicate results by it. */
  id?: string;
  language: string;
  code: string;
  mode?: 'function' | 'stdio';
  entryPoint?: string;
  testCases: TestCase[];
  timeLimitMs?: number;
  memoryLimitMb?: number;
  /** typed languages in function mode */
  signature?: { params: ValueType[]; returns: ValueType };
}

export type Verdict = 'pass' | 'fail' | 'compile_error' | 'timeout' | 'memory_limit' | 'runtime_error';
export type TestStatus = 'passed' | 'failed' | 'timeout' | 'memory_limit' | 'runtime_error' | 'skipped';
export type ErrorCode =
  | 'invalid_job' | 'unsupported_language' | 'code_too_large' | 'too_many_tests' | 'input_too_large'
  | 'limit_exceeded' | 'unauthorized' | 'overloaded' | 'sandbox_unavailable' | 'internal_error';

export interface TestResult {
  passed: boolean | null;
  status: TestStatus;
  output: string;
  /** milliseconds, measured inside the sandbox */
  executionTime: number;
  memoryKb?: number | null;
  stdout: string;
  stderr: string;
  /** runtime_error tests: the exception or signal, short */
  error?: string;
  truncated?: boolean;
}

interface ResultBase {
  id: string;
  language?: string;
}

export interface CompletedResult extends ResultBase {
  status: 'completed';
  verdict: Verdict;
  results: TestResult[];
  totalTime: number;
  compileTime?: number;
  compileOutput?: string;
  truncated?: boolean;
}

/** The service refused or could not run the job: an answer, not an exception. */
export interface ErrorResult extends ResultBase {
  status: 'error';
  error: { code: ErrorCode | string; message: string };
  results: [];
}

export type Result = CompletedResult | ErrorResult;

export interface ConnectOptions {
  /** execd's execution queue; default 'execution_queue' */
  queue?: string;
  /** default per-call timeout in ms; default 70000 */
  timeoutMs?: number;
}

export interface ExecuteOptions {
  timeoutMs?: number;
}

export declare class ExecdClient {
  static connect(url: string, options?: ConnectOptions): Promise<ExecdClient>;
  readonly queue: string;
  readonly timeoutMs: number;
  /** the server-named reply queue of this connection */
  readonly replyQueue: string;
  /**
   * Publish the job (confirmed, persistent, mandatory) and resolve with its result, whatever its status.
   * Rejects with ExecdTimeoutError, ExecdConnectionError or ExecdPublishError when no result can come.
   */
  execute(job: Job, options?: ExecuteOptions): Promise<Result>;
  /** Close the connection; pending calls reject with ExecdConnectionError. Idempotent. */
  close(): Promise<void>;
}

export declare class ExecdError extends Error {}

export declare class ExecdTimeoutError extends ExecdError {
  readonly jobId: string;
  readonly correlationId: string;
  readonly timeoutMs: number;
  /** whether the broker had confirmed the job into the queue (it may then still run) */
  readonly confirmed: boolean;
}

export declare class ExecdConnectionError extends ExecdError {}

export declare class ExecdPublishError extends ExecdError {}

export declare const DEFAULT_QUEUE: string;
export declare const DEFAULT_TIMEOUT_MS: number;

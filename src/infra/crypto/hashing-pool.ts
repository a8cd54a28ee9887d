import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * How much lower than the event loop a hashing thread runs (Linux `nice`, per thread). At 10 the
 * scheduler gives a busy event loop about nine tenths of a shared core against one hash (weights
 * 1024 vs 110), and the hash everything the event loop leaves idle: a login storm slows logins,
 * not the verification of tokens already issued.
 */
export const HASHING_THREAD_NICE = 10;

export type HashingTask = { op: 'hash'; password: string } | { op: 'verify'; hash: string; password: string };

/** Every thread is busy and `maxWaiting` tasks already wait: the caller should shed the request. */
export class HashingQueueFull extends Error {
  constructor(waiting: number) {
    super(`${waiting} password hashes already waiting`);
    this.name = 'HashingQueueFull';
  }
}

interface Pending {
  task: HashingTask;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** The hashing library refused the task itself (a malformed stored hash): not a pool failure. */
export class HashingTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HashingTaskError';
  }
}

/** The pool could not run the task (closed, or its thread died): the caller should answer 503. */
export class HashingUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HashingUnavailable';
  }
}

/**
 * The worker's whole program (CommonJS, evaluated): lower its own thread's priority by `nice`
 * relative to the process (setpriority on "0" is the calling thread on Linux), then hash
 * synchronously on that thread, one task at a time. It makes no asynchronous call, so it never
 * starts threads of its own that would inherit the lower priority. It reports its kernel thread id
 * (from /proc/thread-self, for tests) and whether the priority was lowered.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
const { getPriority, setPriority } = require('node:os');
const argon2 = require(workerData.argon2);
let tid = null;
let niced = false;
try {
  setPriority(0, Math.min(19, getPriority(0) + workerData.nice));
  niced = true;
} catch (e) {}
try {
  tid = Number(readlinkSync('/proc/thread-self').split('/').pop()) || null;
} catch (e) {}
parentPort.postMessage({ ready: true, tid, niced });
parentPort.on('message', ({ id, task }) => {
  try {
    const value = task.op === 'hash' ? argon2.hashSync(task.password, workerData.params) : argon2.verifySync(task.hash, task.password);
    parentPort.postMessage({ id, ok: true, value });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: String(e && e.message || e) });
  }
});
`;

class HashingThread {
  readonly worker: Worker;
  /** The kernel thread id of a thread whose priority was lowered, or null. */
  readonly ready: Promise<number | null>;
  /** After an error or exit: never given another task. */
  dead = false;
  private current?: { id: number; pending: Pending };
  private nextId = 0;

  constructor(params: object, nice: number, onIdle: (thread: HashingThread) => void, onExit: (thread: HashingThread) => void) {
    const argon2 = createRequire(import.meta.url).resolve('@node-rs/argon2');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { argon2, params, nice }, name: 'argon2' });
    this.worker.unref();
    this.ready = new Promise((resolve) => {
      this.worker.once('message', (m: { tid: number | null; niced: boolean }) => resolve(m.niced ? m.tid : null));
      this.worker.once('exit', () => resolve(null));
    });
    this.worker.on('message', (m: { id?: number; ok?: boolean; value?: unknown; error?: string }) => {
      if (m.id === undefined || !this.current || m.id !== this.current.id) return;
      const { pending } = this.current;
      this.current = undefined;
      if (m.ok) pending.resolve(m.value);
      else pending.reject(new HashingTaskError(m.error ?? 'hashing failed'));
      onIdle(this);
    });
    this.worker.on('error', (e) => {
      this.dead = true;
      this.fail(new HashingUnavailable(`hashing thread failed: ${e.message}`));
    });
    this.worker.on('exit', (code) => {
      this.dead = true;
      this.fail(new HashingUnavailable(`hashing thread exited (${code})`));
      onExit(this);
    });
  }

  get busy(): boolean {
    return this.dead || this.current !== undefined;
  }

  start(pending: Pending): void {
    const id = ++this.nextId;
    this.current = { id, pending };
    this.worker.postMessage({ id, task: pending.task });
  }

  private fail(error: Error): void {
    const current = this.current;
    this.current = undefined;
    current?.pending.reject(error);
  }
}

/**
 * At most `size` password hashes at a time (about one per core), each on its own worker thread at
 * a lower scheduling priority than the event loop; up to `maxWaiting` more wait in line, first come
 * first served, and past that `run` fails at once with HashingQueueFull rather than queue without
 * end. Threads start on first use and do not keep the process alive.
 */
export class HashingPool {
  private readonly threads: HashingThread[] = [];
  private readonly queue: Pending[] = [];
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly params: object,
    private readonly maxWaiting: number,
    private readonly nice = HASHING_THREAD_NICE,
  ) {}

  run<T>(task: HashingTask): Promise<T> {
    if (this.closed) return Promise.reject(new HashingUnavailable('hashing pool closed'));
    // dispatch() leaves nothing queued that a thread could take, so the queue is exactly the waiting.
    if (this.queue.length >= this.maxWaiting) return Promise.reject(new HashingQueueFull(this.queue.length));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ task, resolve: resolve as (v: unknown) => void, reject });
      this.dispatch();
    });
  }

  /** Tasks waiting for a thread (not counting those running). */
  get waiting(): number {
    return this.queue.length;
  }

  /** The kernel thread ids of the started threads whose priority was lowered (for tests). */
  async nicedThreadIds(): Promise<number[]> {
    const ids = await Promise.all(this.threads.map((t) => t.ready));
    return ids.filter((id): id is number => id !== null);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new HashingUnavailable('hashing pool closed'));
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length) {
      let thread = this.threads.find((t) => !t.busy);
      if (!thread && this.threads.length < this.size) {
        thread = new HashingThread(this.params, this.nice, () => this.dispatch(), (dead) => this.forget(dead));
        this.threads.push(thread);
      }
      if (!thread) return;
      thread.start(this.queue.shift()!);
    }
  }

  private forget(dead: HashingThread): void {
    const i = this.threads.indexOf(dead);
    if (i >= 0) this.threads.splice(i, 1);
    if (!this.closed) this.dispatch();
  }
}

import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BatchRequest, WorkerEvent, WorkerSetup } from './off-thread-protocol.js';
import type { TextModel } from './text-model.js';

export interface OffThreadModelOptions {
  /**
   * Module (path or URL) loaded inside the worker. It must export a factory
   * `(modelOptions) => TextModel | Promise<TextModel>` - e.g. one that opens an ONNX or
   * transformers.js model folder.
   */
  module: string | URL;
  /** Name of the factory export. Default "createTextModel". */
  exportName?: string;
  /** Passed to the factory (structured-cloned). */
  modelOptions?: unknown;
  /** Most texts sent to the worker in one message. Default 64. */
  maxBatch?: number;
  /** Recent texts whose probability is remembered (LRU). Default 10,000. */
  cacheSize?: number;
  /** Distinct texts waiting for the worker beyond which predictions are refused. Default 10,000. */
  maxPending?: number;
  /** A batch not answered within this time fails its predictions. Default 10,000 ms. */
  timeoutMs?: number;
}

export interface OffThreadModelStats {
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly cacheEvictions: number;
  readonly batches: number;
  readonly largestBatch: number;
  readonly pending: number;
  readonly refusedOverload: number;
  readonly timedOut: number;
}

interface Waiter {
  readonly promise: Promise<number>;
  resolve(p: number): void;
  reject(e: Error): void;
}

function waiter(): Waiter {
  let resolve!: (p: number) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<number>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller that dropped the promise must not crash the process with an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function startWorker(workerData: WorkerSetup): Worker {
  const compiled = new URL('./off-thread-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled, { workerData });
  // Running from the TypeScript sources (tsx): Node 20 workers do not inherit `--import tsx`,
  // so the worker registers tsx itself before loading the .ts entry.
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./off-thread-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/**
 * Runs a slow text model on a worker thread so the event loop stays free. Texts arriving while a
 * batch is in flight are collected into the next batch; answers are kept in an LRU cache, and a
 * cached text is answered synchronously. Refusals (overload, timeout, worker failure) reject the
 * promise, which the governance runner turns into a fail-closed refusal.
 */
export class OffThreadModel implements TextModel {
  readonly name: string;
  private readonly cache = new Map<string, number>();
  private readonly waiting = new Map<string, Waiter>();
  private queue: string[] = [];
  private readonly inFlight = new Map<number, { texts: readonly string[]; timer: NodeJS.Timeout }>();
  private nextBatchId = 1;
  private flushScheduled = false;
  private failure: string | undefined;
  private closed = false;
  private readonly counters = { cacheHits: 0, cacheMisses: 0, cacheEvictions: 0, batches: 0, largestBatch: 0, refusedOverload: 0, timedOut: 0 };

  private constructor(
    private readonly worker: Worker,
    name: string,
    private readonly maxBatch: number,
    private readonly cacheSize: number,
    private readonly maxPending: number,
    private readonly timeoutMs: number,
  ) {
    this.name = name;
    worker.on('message', (event: WorkerEvent) => this.onWorkerEvent(event));
    worker.on('error', (error) => this.fail(`worker error: ${error.message}`));
    worker.on('exit', (code) => this.fail(`worker exited with code ${code}`));
    worker.unref();
  }

  /** Starts the worker and waits until the backend has loaded. */
  static async start(options: OffThreadModelOptions): Promise<OffThreadModel> {
    const moduleUrl = options.module instanceof URL ? options.module.href : options.module.startsWith('file:') ? options.module : pathToFileURL(options.module).href;
    const setup: WorkerSetup = { moduleUrl, exportName: options.exportName ?? 'createTextModel', modelOptions: options.modelOptions };
    const worker = startWorker(setup);
    let onMessage: ((event: WorkerEvent) => void) | undefined;
    let onError: ((error: Error) => void) | undefined;
    const name = await new Promise<string>((resolve, reject) => {
      onMessage = (event) => {
        if (event.type === 'ready') resolve(event.name);
        else if (event.type === 'failed') reject(new Error(`off-thread model failed to load: ${event.error}`));
      };
      onError = reject;
      worker.on('message', onMessage);
      worker.once('error', onError);
    })
      .catch(async (error: unknown) => {
        await worker.terminate();
        throw error;
      })
      .finally(() => {
        // Only our own listeners: the Worker keeps internal ones.
        worker.off('message', onMessage!);
        worker.off('error', onError!);
      });
    return new OffThreadModel(worker, `off-thread:${name}`, options.maxBatch ?? 64, options.cacheSize ?? 10_000, options.maxPending ?? 10_000, options.timeoutMs ?? 10_000);
  }

  predict(text: string): number | Promise<number> {
    const cached = this.cache.get(text);
    if (cached !== undefined) {
      this.counters.cacheHits++;
      this.cache.delete(text);
      this.cache.set(text, cached);
      return cached;
    }
    this.counters.cacheMisses++;
    const existing = this.waiting.get(text);
    if (existing !== undefined) return existing.promise;
    if (this.failure !== undefined) return Promise.reject(new Error(`off-thread model unavailable: ${this.failure}`));
    if (this.waiting.size >= this.maxPending) {
      this.counters.refusedOverload++;
      return Promise.reject(new Error(`off-thread model overloaded: ${this.waiting.size} texts pending`));
    }
    const w = waiter();
    this.waiting.set(text, w);
    this.queue.push(text);
    if (this.waiting.size === 1) this.worker.ref();
    this.scheduleFlush();
    return w.promise;
  }

  stats(): OffThreadModelStats {
    return { ...this.counters, pending: this.waiting.size };
  }

  /** Stops the worker; pending predictions are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail('closed');
    await this.worker.terminate();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After the current turn, so texts arriving together travel together.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    // One batch in flight at a time: while the worker is busy, arrivals accumulate into the next batch.
    if (this.inFlight.size > 0 || this.queue.length === 0 || this.failure !== undefined) return;
    const texts = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
    this.queue = this.queue.length <= this.maxBatch ? [] : this.queue.slice(this.maxBatch);
    const id = this.nextBatchId++;
    const timer = setTimeout(() => this.onTimeout(id), this.timeoutMs);
    timer.unref();
    this.inFlight.set(id, { texts, timer });
    this.counters.batches++;
    if (texts.length > this.counters.largestBatch) this.counters.largestBatch = texts.length;
    const request: BatchRequest = { id, texts };
    this.worker.postMessage(request);
  }

  private onWorkerEvent(event: WorkerEvent): void {
    if (event.type !== 'batch') return;
    const batch = this.inFlight.get(event.id);
    if (batch === undefined) return; // timed out earlier
    clearTimeout(batch.timer);
    this.inFlight.delete(event.id);
    for (let i = 0; i < batch.texts.length; i++) {
      const text = batch.texts[i]!;
      const w = this.waiting.get(text);
      this.waiting.delete(text);
      if (event.results !== undefined) {
        const p = event.results[i]!;
        this.remember(text, p);
        w?.resolve(p);
      } else {
        w?.reject(new Error(`off-thread model failed: ${event.error}`));
      }
    }
    this.afterSettle();
    this.flush();
  }

  private onTimeout(id: number): void {
    const batch = this.inFlight.get(id);
    if (batch === undefined) return;
    this.inFlight.delete(id);
    this.counters.timedOut += batch.texts.length;
    for (const text of batch.texts) {
      const w = this.waiting.get(text);
      this.waiting.delete(text);
      w?.reject(new Error(`off-thread model did not answer within ${this.timeoutMs} ms`));
    }
    this.afterSettle();
    this.flush();
  }

  private remember(text: string, p: number): void {
    if (this.cacheSize <= 0) return;
    if (this.cache.size >= this.cacheSize) {
      this.cache.delete(this.cache.keys().next().value as string);
      this.counters.cacheEvictions++;
    }
    this.cache.set(text, p);
  }

  private afterSettle(): void {
    if (this.waiting.size === 0) this.worker.unref();
  }

  private fail(reason: string): void {
    if (this.failure === undefined) this.failure = reason;
    for (const [, batch] of this.inFlight) clearTimeout(batch.timer);
    this.inFlight.clear();
    this.queue = [];
    for (const [, w] of this.waiting) w.reject(new Error(`off-thread model unavailable: ${reason}`));
    this.waiting.clear();
    this.worker.unref();
  }
}

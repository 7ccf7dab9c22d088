import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromSealWorker, ToSealWorker } from './seal-protocol.js';
import { RecordHasher, type EncodedRecords, type HashedBatch, type SealJob } from './sealer.js';

/**
 * Where a journal's batches are hashed (record digests, leaves, Merkle root): the heavy part of
 * sealing. The journal links the hashed batches into its chain itself, in order.
 */
export interface SealBackend {
  /** Hashes a batch. The inline backend answers synchronously; the worker answers in call order. */
  seal(job: SealJob): HashedBatch | Promise<HashedBatch>;
  /** Resolves once batches are sealed without a start-up delay (the worker thread has loaded). */
  ready(): Promise<void>;
  /** Releases the backend (after the last seal settled). */
  release(): void;
}

export const Sealing = {
  /** On a worker thread shared by every journal of the process (default). */
  WORKER: 'worker',
  /** On the journal's own thread, synchronously when a batch is sealed. */
  INLINE: 'inline',
} as const;
export type Sealing = (typeof Sealing)[keyof typeof Sealing];

export class InlineSealBackend implements SealBackend {
  private readonly hasher = new RecordHasher();

  seal(job: SealJob): HashedBatch {
    return this.hasher.hash(job);
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  release(): void {}
}

/** The encoders' buffers own their ArrayBuffer: moved, not copied (a pooled Buffer is copied). */
function transferable(records: readonly EncodedRecords[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const add = (part: Uint8Array | Int32Array): void => {
    const owned = part.byteOffset === 0 && part.byteLength === part.buffer.byteLength && part.buffer instanceof ArrayBuffer;
    if (owned && !out.includes(part.buffer)) out.push(part.buffer);
  };
  for (const part of records) {
    if (part instanceof Uint8Array) {
      add(part);
    } else {
      add(part.tape);
      add(part.bytes);
    }
  }
  return out;
}

/** An idle worker (no journal open) is stopped after this long. */
const WORKER_IDLE_MS = 2000;

interface Waiting {
  resolve(batch: HashedBatch): void;
  reject(error: Error): void;
}

function startWorker(): Worker {
  const compiled = new URL('./seal-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled);
  // Running from the TypeScript sources (tsx): Node 20 workers do not inherit `--import tsx`,
  // so the worker registers tsx itself before loading the .ts entry.
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./seal-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/**
 * One worker thread that seals for every open journal of the process. It keeps the process alive
 * only while a batch is in flight, and stops once no journal has used it for WORKER_IDLE_MS.
 */
class SealWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private journals = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private loaded = false;
  private readonly whenLoaded: Promise<void>;
  private settleLoaded!: (error?: Error) => void;
  failure: Error | null = null;

  constructor(private readonly onGone: (worker: SealWorker) => void) {
    this.whenLoaded = new Promise<void>((resolve, reject) => {
      this.settleLoaded = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.whenLoaded.catch(() => undefined);
    // Referenced until it has loaded (someone awaits it), then only while a batch is in flight.
    this.worker = startWorker();
    this.worker.on('message', (reply: FromSealWorker) => this.answer(reply));
    this.worker.on('error', (error: Error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`journal seal worker exited (code ${code})`)));
  }

  open(): void {
    this.journals++;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  close(): void {
    this.journals--;
    if (this.failure !== null) return;
    if (this.journals === 0) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        if (this.journals === 0) this.stop();
      }, WORKER_IDLE_MS);
      this.idleTimer.unref();
    }
  }

  ready(): Promise<void> {
    return this.whenLoaded;
  }

  seal(job: SealJob): Promise<HashedBatch> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<HashedBatch>((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ op: 'seal', id, job } satisfies ToSealWorker, transferable(job.records));
    });
  }

  private answer(reply: FromSealWorker): void {
    if ('ready' in reply) {
      this.loaded = true;
      if (this.waiting.size === 0) this.worker.unref();
      this.settleLoaded();
      return;
    }
    const waiting = this.waiting.get(reply.id);
    if (waiting === undefined) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0 && this.loaded) this.worker.unref();
    if ('error' in reply) waiting.reject(new Error(`journal seal worker: ${reply.error}`));
    else waiting.resolve(reply.batch);
  }

  private stop(): void {
    this.failure = new Error('journal seal worker stopped');
    this.settleLoaded(this.failure);
    this.onGone(this);
    void this.worker.terminate();
  }

  private fail(error: Error): void {
    if (this.failure !== null) return;
    this.failure = error;
    this.settleLoaded(error);
    this.onGone(this);
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
    void this.worker.terminate();
  }
}

let shared: SealWorker | null = null;

export class WorkerSealBackend implements SealBackend {
  private readonly worker: SealWorker;
  private released = false;

  constructor() {
    shared ??= new SealWorker((gone) => {
      if (shared === gone) shared = null;
    });
    this.worker = shared;
    this.worker.open();
  }

  seal(job: SealJob): Promise<HashedBatch> {
    return this.worker.seal(job);
  }

  ready(): Promise<void> {
    return this.worker.ready();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.worker.close();
  }
}

export function createSealBackend(sealing: Sealing): SealBackend {
  return sealing === Sealing.INLINE ? new InlineSealBackend() : new WorkerSealBackend();
}

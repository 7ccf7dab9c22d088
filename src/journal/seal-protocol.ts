import type { HashedBatch, SealJob } from './sealer.js';

/** Messages from a journal to the seal worker. The worker holds no chain: any journal's batches, in any order. */
export type ToSealWorker = { op: 'seal'; id: number; job: SealJob };

/** The worker's answer to one 'seal' message, in the order the jobs were sent; `ready` once, when it has loaded. */
export type FromSealWorker = { id: number; batch: HashedBatch } | { id: number; error: string } | { ready: true };

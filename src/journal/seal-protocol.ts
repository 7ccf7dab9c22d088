import type { SealHead, SealJob } from './sealer.js';
import type { Seal } from './types.js';

/** Messages from a journal to the seal worker. Each journal has its own chain state there. */
export type ToSealWorker =
  | { op: 'open'; journal: number; head: SealHead }
  | { op: 'seal'; journal: number; id: number; job: SealJob }
  | { op: 'close'; journal: number };

/** The worker's answer to one 'seal' message, in the order the jobs were sent; `ready` once, when it has loaded. */
export type FromSealWorker = { id: number; chunk: Uint8Array; seal: Seal } | { id: number; error: string } | { ready: true };

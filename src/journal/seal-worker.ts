/**
 * Worker side of the journal's off-thread sealing (./seal-backend.ts): one BatchSealer per open
 * journal; batches are sealed in arrival order and the bytes are transferred back, not copied.
 */
import { parentPort } from 'node:worker_threads';
import type { FromSealWorker, ToSealWorker } from './seal-protocol.js';
import { BatchSealer } from './sealer.js';

const port = parentPort;
if (port === null) throw new Error('seal-worker must run in a worker thread');

const sealers = new Map<number, BatchSealer>();

port.on('message', (message: ToSealWorker) => {
  switch (message.op) {
    case 'open':
      sealers.set(message.journal, new BatchSealer(message.head));
      return;
    case 'close':
      sealers.delete(message.journal);
      return;
    case 'seal': {
      let reply: FromSealWorker;
      try {
        const sealer = sealers.get(message.journal);
        if (sealer === undefined) throw new Error(`journal ${message.journal} is not open in the seal worker`);
        const sealed = sealer.seal(message.job);
        reply = { id: message.id, chunk: sealed.chunk, seal: sealed.seal };
        port.postMessage(reply, [sealed.chunk.buffer as ArrayBuffer]);
      } catch (error) {
        reply = { id: message.id, error: error instanceof Error ? error.message : String(error) };
        port.postMessage(reply);
      }
    }
  }
});

// Loading the worker (and, from the TypeScript sources, tsx) takes a while: journals wait for this.
port.postMessage({ ready: true } satisfies FromSealWorker);

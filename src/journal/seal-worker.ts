/**
 * Worker side of the journal's off-thread sealing (./seal-backend.ts): assembles the record lines
 * of the batches it is sent (./tape.ts), hashes them, in arrival order, and transfers the bytes
 * back — with the encoded pieces' buffers, for the journal to write again — not copied. It holds
 * no chain state: the journals link the seals on their own thread.
 */
import { parentPort } from 'node:worker_threads';
import type { FromSealWorker, ToSealWorker } from './seal-protocol.js';
import { RecordHasher } from './sealer.js';

const port = parentPort;
if (port === null) throw new Error('seal-worker must run in a worker thread');

const hasher = new RecordHasher();

port.on('message', (message: ToSealWorker) => {
  let reply: FromSealWorker;
  try {
    const batch = hasher.hash(message.job);
    reply = { id: message.id, batch };
    // The records' buffers go back too, to be written again by the journal's encoder.
    const transfer = [batch.chunk.buffer as ArrayBuffer];
    for (const piece of batch.spent) transfer.push(piece.tape.buffer as ArrayBuffer, piece.bytes.buffer as ArrayBuffer);
    port.postMessage(reply, transfer);
  } catch (error) {
    reply = { id: message.id, error: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
});

// Loading the worker (and, from the TypeScript sources, tsx) takes a while: journals wait for this.
port.postMessage({ ready: true } satisfies FromSealWorker);

/**
 * Worker side of OffThreadModel: builds the backend from the configured module, then answers
 * batches of texts with a Float64Array of probabilities.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TextModel } from './text-model.js';
import type { BatchReply, BatchRequest, WorkerSetup } from './off-thread-protocol.js';

const port = parentPort;
if (port === null) throw new Error('off-thread-worker must run in a worker thread');
const setup = workerData as WorkerSetup;

async function start(): Promise<void> {
  let model: TextModel;
  try {
    const imported = (await import(setup.moduleUrl)) as Record<string, unknown>;
    const factory = imported[setup.exportName];
    if (typeof factory !== 'function') throw new Error(`${setup.moduleUrl} does not export a function ${setup.exportName}`);
    model = (await (factory as (options: unknown) => TextModel | Promise<TextModel>)(setup.modelOptions)) as TextModel;
  } catch (error) {
    port!.postMessage({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
    return;
  }
  port!.on('message', (request: BatchRequest) => {
    void answer(model, request);
  });
  port!.postMessage({ type: 'ready', name: model.name });
}

async function answer(model: TextModel, request: BatchRequest): Promise<void> {
  const results = new Float64Array(request.texts.length);
  try {
    for (let i = 0; i < request.texts.length; i++) {
      const p = model.predict(request.texts[i]!);
      results[i] = typeof p === 'number' ? p : await p;
    }
    const reply: BatchReply = { type: 'batch', id: request.id, results };
    port!.postMessage(reply, [results.buffer]);
  } catch (error) {
    const reply: BatchReply = { type: 'batch', id: request.id, error: error instanceof Error ? error.message : String(error) };
    port!.postMessage(reply);
  }
}

void start();

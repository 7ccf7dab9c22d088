import { FileSink } from './file-sink.js';
import type { JournalRecord } from './types.js';

/** The last `n` records of a journal directory, oldest first, without opening it for writing. */
export async function readJournalTail(dir: string, n: number): Promise<JournalRecord[]> {
  const lines = await new FileSink({ dir }).readTail(n);
  return lines.map((line) => JSON.parse(line) as JournalRecord);
}

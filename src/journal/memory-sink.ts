import type { JournalSink, SealedBatch, SinkRecovery, SinkStats } from './sink.js';

/** Keeps the journal text in memory; for tests and for embedding without a disk. Unbounded by design: tests only. */
export class MemorySink implements JournalSink {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  readonly batches: SealedBatch[] = [];

  async open(): Promise<SinkRecovery> {
    return { created: true, headSealLine: null, unsealedLines: [], tornBytes: 0, tornFile: null, savedTo: null, staleLock: false };
  }

  async write(chunk: Uint8Array, batch: SealedBatch): Promise<void> {
    this.chunks.push(chunk);
    this.batches.push(batch);
    this.bytes += chunk.length;
  }

  async sync(): Promise<void> {}

  async close(): Promise<void> {}

  async readTail(n: number): Promise<string[]> {
    const records = this.lines().filter((line) => line.startsWith('{"seq":'));
    return n <= 0 ? [] : records.slice(-n);
  }

  stats(): SinkStats {
    return { bytesWritten: this.bytes, fsyncs: 0, location: 'memory' };
  }

  /** Everything written, as one JSONL text. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  lines(): string[] {
    const text = this.text();
    return text.length === 0 ? [] : text.slice(0, -1).split('\n');
  }
}

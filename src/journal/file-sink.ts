import { mkdir, open, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BusError, ErrorCode } from '../errors.js';
import { parseLine } from './format.js';
import { journalFileName, listJournalFiles, readLinesBackward } from './files.js';
import type { JournalSink, SealedBatch, SinkRecovery, SinkStats } from './sink.js';
import { FsyncPolicy } from './types.js';

export interface FileSinkOptions {
  dir: string;
  /** Start a new file before a batch that would make the current one larger. Default 64 MiB. */
  maxFileBytes?: number;
  /** Default 'interval'. */
  fsync?: FsyncPolicy;
  /** With fsync 'interval': at most one fsync per this many ms. Default 1000. */
  fsyncIntervalMs?: number;
}

export const FILE_SINK_DEFAULTS = {
  maxFileBytes: 64 * 1024 * 1024,
  fsync: FsyncPolicy.INTERVAL,
  fsyncIntervalMs: 1000,
} as const;

const LOCK_FILE = 'journal.lock';

interface TailScan {
  /** Last seal line in the file, and the offset just past its newline. */
  sealLine: string | null;
  sealEnd: number;
  /** Complete lines after the seal, oldest first. */
  after: string[];
  tornBytes: number;
}

/** Reads a file backwards until its last seal line. */
async function scanTail(path: string): Promise<TailScan> {
  const after: string[] = [];
  let tornBytes = 0;
  for await (const line of readLinesBackward(path)) {
    if (!line.terminated) {
      tornBytes = line.bytes.length;
      continue;
    }
    const text = line.bytes.toString('utf8');
    if (parseLine(text).kind === 'seal') return { sealLine: text, sealEnd: line.offset + line.bytes.length + 1, after: after.reverse(), tornBytes };
    after.push(text);
  }
  return { sealLine: null, sealEnd: 0, after: after.reverse(), tornBytes };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What is left of `buffers` after the first `written` bytes. */
function remainderOf(buffers: readonly Uint8Array[], written: number): Uint8Array[] {
  let skip = written;
  let i = 0;
  while (skip >= buffers[i]!.length) skip -= buffers[i++]!.length;
  return [buffers[i]!.subarray(skip), ...buffers.slice(i + 1)];
}

/**
 * JSONL files `journal-000001.jsonl`, `journal-000002.jsonl`, ... in one directory, one writer
 * (a `journal.lock` file with the writer's pid). A batch is never split across files.
 */
export class FileSink implements JournalSink {
  private readonly dir: string;
  private readonly maxFileBytes: number;
  private readonly fsyncPolicy: FsyncPolicy;
  private readonly fsyncIntervalMs: number;
  private handle: FileHandle | null = null;
  private fileIndex = 0;
  private size = 0;
  private dirty = false;
  private syncTimer: NodeJS.Timeout | null = null;
  /** Serialises writes, timed fsyncs, rotation and close on the one file handle. */
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  private closing: Promise<void> | null = null;
  private bytesWritten = 0;
  private fsyncs = 0;

  constructor(options: FileSinkOptions) {
    this.dir = options.dir;
    this.maxFileBytes = options.maxFileBytes ?? FILE_SINK_DEFAULTS.maxFileBytes;
    this.fsyncPolicy = options.fsync ?? FILE_SINK_DEFAULTS.fsync;
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? FILE_SINK_DEFAULTS.fsyncIntervalMs;
  }

  async open(): Promise<SinkRecovery> {
    await mkdir(this.dir, { recursive: true });
    const staleLock = await this.lock();
    try {
      return await this.recover(staleLock);
    } catch (error) {
      await rm(join(this.dir, LOCK_FILE), { force: true });
      throw error;
    }
  }

  private async recover(staleLock: boolean): Promise<SinkRecovery> {
    const files = await listJournalFiles(this.dir);
    const last = files.at(-1);
    if (last === undefined) {
      await this.openFile(1);
      return { created: true, headSealLine: null, unsealedLines: [], tornBytes: 0, tornFile: null, savedTo: null, staleLock };
    }
    const lastPath = join(this.dir, last.name);
    const scan = await scanTail(lastPath);
    let headSealLine = scan.sealLine;
    if (headSealLine === null) {
      // The newest file has no seal yet: the head is the last seal of the file before it, which
      // must end exactly at that seal (batches never span files).
      for (let i = files.length - 2; i >= 0 && headSealLine === null; i--) {
        const earlier = await scanTail(join(this.dir, files[i]!.name));
        if (earlier.after.length > 0 || earlier.tornBytes > 0) {
          throw new BusError(ErrorCode.CONFLICT, `journal file ${files[i]!.name} has unsealed data but is not the newest file; run "agent-bus audit verify"`);
        }
        headSealLine = earlier.sealLine;
      }
    }
    const fileSize = (await stat(lastPath)).size;
    const cutFrom = scan.sealLine === null ? 0 : scan.sealEnd;
    let savedTo: string | null = null;
    if (fileSize > cutFrom) {
      // Never silently dropped: the cut bytes are kept next to the journal for inspection.
      savedTo = `${last.name}.torn-${Date.now()}`;
      const handle = await open(lastPath, 'r+');
      try {
        const cut = Buffer.alloc(fileSize - cutFrom);
        await handle.read(cut, 0, cut.length, cutFrom);
        const saved = await open(join(this.dir, savedTo), 'wx');
        try {
          await saved.writeFile(cut);
          // The copy must be durable before the original bytes are cut.
          if (this.fsyncPolicy !== FsyncPolicy.NEVER) await this.countSync(saved);
        } finally {
          await saved.close();
        }
        await handle.truncate(cutFrom);
        if (this.fsyncPolicy !== FsyncPolicy.NEVER) await this.countSync(handle);
      } finally {
        await handle.close();
      }
    }
    await this.openFile(last.index);
    return {
      created: false,
      headSealLine,
      unsealedLines: scan.after,
      tornBytes: scan.tornBytes,
      tornFile: savedTo === null ? null : last.name,
      savedTo,
      staleLock,
    };
  }

  /** Takes the directory lock; returns true when it replaced the lock of a dead process. */
  private async lock(): Promise<boolean> {
    const path = join(this.dir, LOCK_FILE);
    try {
      await writeFile(path, String(process.pid), { flag: 'wx' });
      return false;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(path, 'utf8')).trim());
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
      throw new BusError(ErrorCode.CONFLICT, `journal ${this.dir} is already open by process ${owner}`);
    }
    await writeFile(path, String(process.pid));
    return true;
  }

  private async openFile(index: number): Promise<void> {
    const path = join(this.dir, journalFileName(index));
    const handle = await open(path, 'a');
    this.size = (await handle.stat()).size;
    this.handle = handle;
    this.fileIndex = index;
    if (this.fsyncPolicy !== FsyncPolicy.NEVER) await this.syncDirectory();
  }

  // A new file's directory entry is only durable once the directory itself is synced.
  private async syncDirectory(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await this.countSync(handle);
    } finally {
      await handle.close();
    }
  }

  private async countSync(handle: FileHandle): Promise<void> {
    await handle.sync();
    this.fsyncs++;
  }

  write(chunk: Uint8Array, _batch: SealedBatch): Promise<void> {
    return this.enqueue(() => this.writeNow([chunk]));
  }

  /** Consecutive batches in as few writes as rotation allows (one writev each). */
  writeBatches(chunks: readonly Uint8Array[], _batches: readonly SealedBatch[]): Promise<void> {
    return this.enqueue(() => this.writeNow(chunks));
  }

  private enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(() => {
      if (this.failure !== null) throw this.failure;
      return operation();
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async writeNow(chunks: readonly Uint8Array[]): Promise<void> {
    try {
      if (this.fsyncPolicy === FsyncPolicy.ALWAYS) {
        // One fsync per batch, before it counts as written (the documented meaning of 'always').
        for (const chunk of chunks) {
          const handle = await this.fileFor(chunk.length);
          await this.writeRun(handle, [chunk], chunk.length);
          await this.countSync(handle);
        }
        return;
      }
      let start = 0;
      while (start < chunks.length) {
        const handle = await this.fileFor(chunks[start]!.length);
        // The run of batches that fits in this file (a batch is never split across files).
        let bytes = chunks[start]!.length;
        let end = start + 1;
        while (end < chunks.length && this.size + bytes + chunks[end]!.length <= this.maxFileBytes) bytes += chunks[end++]!.length;
        await this.writeRun(handle, chunks.slice(start, end), bytes);
        start = end;
      }
      if (this.fsyncPolicy === FsyncPolicy.INTERVAL) this.scheduleSync();
    } catch (error) {
      // A partial batch may be on disk: stop here; the next open cuts it off as a torn tail.
      this.failure = error instanceof Error ? error : new Error(String(error));
      throw this.failure;
    }
  }

  /** The open file, rotated first when a batch of `bytes` would make it larger than maxFileBytes. */
  private async fileFor(bytes: number): Promise<FileHandle> {
    if (this.size > 0 && this.size + bytes > this.maxFileBytes) await this.rotate();
    if (this.handle === null) throw new Error('journal file sink is not open');
    return this.handle;
  }

  /** Writes `run` (`bytes` in all) at the end of the file, continuing after short writes. */
  private async writeRun(handle: FileHandle, run: readonly Uint8Array[], bytes: number): Promise<void> {
    let left = run;
    let remaining = bytes;
    while (remaining > 0) {
      const { bytesWritten } = left.length === 1 ? await handle.write(left[0]!, 0, left[0]!.length, null) : await handle.writev(left as Uint8Array[]);
      this.size += bytesWritten;
      this.bytesWritten += bytesWritten;
      remaining -= bytesWritten;
      if (remaining > 0) left = remainderOf(left, bytesWritten);
    }
  }

  private scheduleSync(): void {
    this.dirty = true;
    if (this.syncTimer !== null) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      this.enqueue(() => this.syncNow()).catch(() => undefined);
    }, this.fsyncIntervalMs);
    // Unsynced data sits in the OS page cache, which survives a process exit; only an OS crash loses it.
    this.syncTimer.unref();
  }

  private async syncNow(): Promise<void> {
    if (!this.dirty || this.handle === null) return;
    this.dirty = false;
    try {
      await this.countSync(this.handle);
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      throw this.failure;
    }
  }

  private async rotate(): Promise<void> {
    const old = this.handle;
    if (old !== null) {
      if (this.dirty) await this.countSync(old);
      this.dirty = false;
      await old.close();
    }
    this.handle = null;
    await this.openFile(this.fileIndex + 1);
  }

  sync(): Promise<void> {
    this.dirty = true;
    return this.enqueue(() => this.syncNow());
  }

  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    await this.queue;
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    const handle = this.handle;
    this.handle = null;
    try {
      if (handle !== null) {
        if (this.fsyncPolicy !== FsyncPolicy.NEVER && this.dirty && this.failure === null) await this.countSync(handle);
        await handle.close();
      }
    } finally {
      await rm(join(this.dir, LOCK_FILE), { force: true });
    }
  }

  async readTail(n: number): Promise<string[]> {
    const out: string[] = [];
    if (n <= 0) return out;
    const files = await listJournalFiles(this.dir);
    for (let i = files.length - 1; i >= 0 && out.length < n; i--) {
      for await (const line of readLinesBackward(join(this.dir, files[i]!.name))) {
        if (!line.terminated) continue;
        const text = line.bytes.toString('utf8');
        if (parseLine(text).kind !== 'record') continue;
        out.push(text);
        if (out.length >= n) break;
      }
    }
    return out.reverse();
  }

  stats(): SinkStats {
    return { bytesWritten: this.bytesWritten, fsyncs: this.fsyncs, location: this.fileIndex === 0 ? null : join(this.dir, journalFileName(this.fileIndex)) };
  }
}

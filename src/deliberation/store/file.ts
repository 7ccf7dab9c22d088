import fs from 'node:fs';
import path from 'node:path';
import type { DeliberationItem } from '../types.js';
import type { DeliberationStore } from './types.js';

export interface FileStoreOptions {
  /**
   * 'none' (default): a write that returned is in the kernel's page cache — it survives a crash or
   * SIGKILL of the process, not a power loss or kernel crash. 'always': fdatasync after every
   * write — survives a power loss on hardware that honours flushes, at the cost of one disk flush
   * per state change.
   */
  readonly fsync?: 'none' | 'always';
  /** Compact when the log holds more than `compactRatio` × live items lines and at least `compactMinLines`. */
  readonly compactRatio?: number;
  readonly compactMinLines?: number;
}

const LOG = 'items.log';
const LOCK = 'LOCK';
const READ_CHUNK = 4 * 1024 * 1024;

/**
 * Append-only log of item states in a data directory: one JSON line per write (the whole item at
 * its new version); on open the last line of each id wins. Compaction rewrites the live items to
 * a temporary file, fsyncs it and renames it over the log, so a crash during compaction leaves
 * either the old or the new log, never a mix. One process at a time: a LOCK file holds the pid.
 */
export class FileDeliberationStore implements DeliberationStore {
  readonly kind = 'file';
  readonly shared = false;
  private fd: number;
  private lines: number;
  private readonly versions: Map<string, number>;
  private writes = 0;
  private conflicts = 0;
  private compactions = 0;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly options: Required<FileStoreOptions>,
    private loaded: DeliberationItem[],
    readonly skippedLines: number,
  ) {
    this.versions = new Map();
    for (const item of loaded) this.versions.set(item.id, item.version);
    this.lines = loaded.length + skippedLines;
    this.fd = fs.openSync(path.join(dir, LOG), 'a');
  }

  static open(dir: string, options: FileStoreOptions = {}): FileDeliberationStore {
    fs.mkdirSync(dir, { recursive: true });
    acquireLock(dir);
    try {
      const { items, skipped } = readLog(path.join(dir, LOG));
      return new FileDeliberationStore(
        dir,
        { fsync: options.fsync ?? 'none', compactRatio: options.compactRatio ?? 4, compactMinLines: options.compactMinLines ?? 10_000 },
        items,
        skipped,
      );
    } catch (err) {
      releaseLock(dir);
      throw err;
    }
  }

  async load(): Promise<DeliberationItem[]> {
    const items = this.loaded;
    this.loaded = [];
    return items;
  }

  write(item: DeliberationItem): boolean {
    if (this.closed) throw new Error('file deliberation store is closed');
    if ((this.versions.get(item.id) ?? 0) !== item.version - 1) {
      this.conflicts++;
      return false;
    }
    fs.writeSync(this.fd, JSON.stringify(item) + '\n');
    if (this.options.fsync === 'always') fs.fdatasyncSync(this.fd);
    this.versions.set(item.id, item.version);
    this.lines++;
    this.writes++;
    return true;
  }

  needsCompaction(liveItems: number): boolean {
    return this.lines >= this.options.compactMinLines && this.lines > liveItems * this.options.compactRatio;
  }

  /** Rewrites the log with exactly `items` (the service passes its live and retained items). */
  compact(items: Iterable<DeliberationItem>): void {
    const tmp = path.join(this.dir, LOG + '.tmp');
    const fd = fs.openSync(tmp, 'w');
    const versions = new Map<string, number>();
    try {
      let buf = '';
      for (const item of items) {
        buf += JSON.stringify(item) + '\n';
        versions.set(item.id, item.version);
        if (buf.length > READ_CHUNK) {
          fs.writeSync(fd, buf);
          buf = '';
        }
      }
      if (buf.length > 0) fs.writeSync(fd, buf);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(this.dir, LOG));
    syncDir(this.dir);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(path.join(this.dir, LOG), 'a');
    this.versions.clear();
    for (const [id, v] of versions) this.versions.set(id, v);
    this.lines = versions.size;
    this.compactions++;
  }

  stats(): Record<string, number | string | boolean> {
    return {
      kind: this.kind,
      fsync: this.options.fsync,
      items: this.versions.size,
      logLines: this.lines,
      writes: this.writes,
      conflicts: this.conflicts,
      compactions: this.compactions,
      skippedLines: this.skippedLines,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    releaseLock(this.dir);
  }
}

/**
 * Reads the log in chunks (a log may exceed the largest string V8 allows). A torn last line —
 * possible only after a power loss without fsync — is skipped, counted and cut off so the next
 * append starts on a fresh line.
 */
function readLog(file: string): { items: DeliberationItem[]; skipped: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { items: [], skipped: 0 };
    throw err;
  }
  const latest = new Map<string, DeliberationItem>();
  let skipped = 0;
  let goodEnd = 0;
  let offset = 0;
  try {
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    let carry: Buffer = Buffer.alloc(0);
    while (true) {
      const n = fs.readSync(fd, chunk, 0, READ_CHUNK, offset);
      if (n === 0) break;
      offset += n;
      const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      let nl = data.indexOf(10, start);
      while (nl >= 0) {
        if (nl > start) {
          try {
            const item = JSON.parse(data.toString('utf8', start, nl)) as DeliberationItem;
            const prev = latest.get(item.id);
            if (prev === undefined || prev.version < item.version) latest.set(item.id, item);
          } catch {
            skipped++;
          }
        }
        start = nl + 1;
        nl = data.indexOf(10, start);
      }
      goodEnd = offset - (data.length - start);
      carry = Buffer.from(data.subarray(start));
    }
    if (carry.length > 0) {
      skipped++;
      fs.ftruncateSync(fd, goodEnd);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { items: [...latest.values()], skipped };
}

function acquireLock(dir: string): void {
  const lock = path.join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(fs.readFileSync(lock, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new Error(`deliberation store ${dir} is in use by process ${pid}`, { cause: err });
      }
      if (pid === process.pid) throw new Error(`deliberation store ${dir} is already open in this process`, { cause: err });
      fs.rmSync(lock, { force: true }); // left behind by a process that died
    }
  }
  throw new Error(`could not lock deliberation store ${dir}`);
}

function releaseLock(dir: string): void {
  fs.rmSync(path.join(dir, LOCK), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // some platforms cannot fsync a directory; the rename is still atomic
  }
}

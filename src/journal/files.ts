import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';

const FILE_PATTERN = /^journal-(\d{6,})\.jsonl$/;

export function journalFileName(index: number): string {
  return `journal-${String(index).padStart(6, '0')}.jsonl`;
}

export interface JournalFile {
  name: string;
  index: number;
}

/** The journal files of a directory, in chain order. Other files (e.g. `.torn-*`) are ignored. */
export async function listJournalFiles(dir: string): Promise<JournalFile[]> {
  const names = await readdir(dir);
  const files: JournalFile[] = [];
  for (const name of names) {
    const match = FILE_PATTERN.exec(name);
    if (match) files.push({ name, index: Number(match[1]) });
  }
  return files.sort((a, b) => a.index - b.index);
}

export interface LineChunk {
  /** The line's bytes, without the newline. */
  bytes: Buffer;
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** False for a last line that has no newline (an incomplete write). */
  terminated: boolean;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * Lines of a file from first to last, streamed. Splits on the newline byte itself rather than
 * through readline so that each line's hash is over the exact bytes on disk, even when they are
 * not valid UTF-8.
 */
export async function* readLinesForward(path: string): AsyncGenerator<LineChunk & { lineNo: number }> {
  let carry: Buffer = Buffer.alloc(0);
  let carryOffset = 0;
  let lineNo = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) {
    const data: Buffer = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      yield { bytes: data.subarray(start, nl), offset: carryOffset + start, terminated: true, lineNo: ++lineNo };
      start = nl + 1;
    }
    carryOffset += start;
    carry = Buffer.from(data.subarray(start));
  }
  if (carry.length > 0) yield { bytes: carry, offset: carryOffset, terminated: false, lineNo: lineNo + 1 };
}

/**
 * Lines of a file from last to first, reading fixed-size blocks from the end, so that finding the
 * chain head or the last N records does not read a whole 64 MiB file.
 */
export async function* readLinesBackward(path: string): AsyncGenerator<LineChunk> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    let position = size;
    let carry: Buffer = Buffer.alloc(0);
    let atEnd = true;
    while (position > 0) {
      const length = Math.min(CHUNK_BYTES, position);
      position -= length;
      const block = Buffer.allocUnsafe(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(block, read, length - read, position + read);
        if (bytesRead === 0) throw new Error(`${path}: file shrank while reading`);
        read += bytesRead;
      }
      const data = carry.length > 0 ? Buffer.concat([block, carry]) : block;
      let end = data.length;
      for (let nl = end > 0 ? data.lastIndexOf(10, end - 1) : -1; nl !== -1; nl = end > 0 ? data.lastIndexOf(10, end - 1) : -1) {
        if (atEnd) {
          atEnd = false;
          if (end > nl + 1) yield { bytes: Buffer.from(data.subarray(nl + 1, end)), offset: position + nl + 1, terminated: false };
        } else {
          yield { bytes: Buffer.from(data.subarray(nl + 1, end)), offset: position + nl + 1, terminated: true };
        }
        end = nl;
      }
      carry = Buffer.from(data.subarray(0, end));
    }
    if (!atEnd) yield { bytes: carry, offset: 0, terminated: true };
    else if (carry.length > 0) yield { bytes: carry, offset: 0, terminated: false };
  } finally {
    await handle.close();
  }
}

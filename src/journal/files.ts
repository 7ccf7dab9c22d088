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
 * not valid UTF-8. A line longer than a chunk is kept as its pieces and joined once, at its end:
 * reading stays linear in the line's length.
 */
export async function* readLinesForward(path: string, chunkBytes = CHUNK_BYTES): AsyncGenerator<LineChunk & { lineNo: number }> {
  /** The current line's bytes from earlier chunks. */
  let pieces: Buffer[] = [];
  let lineOffset = 0;
  let chunkOffset = 0;
  let lineNo = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const bytes = pieces.length === 0 ? chunk.subarray(start, nl) : Buffer.concat([...pieces, chunk.subarray(start, nl)]);
      pieces = [];
      yield { bytes, offset: lineOffset, terminated: true, lineNo: ++lineNo };
      start = nl + 1;
      lineOffset = chunkOffset + start;
    }
    if (start < chunk.length) pieces.push(chunk.subarray(start));
    chunkOffset += chunk.length;
  }
  if (pieces.length > 0) yield { bytes: Buffer.concat(pieces), offset: lineOffset, terminated: false, lineNo: lineNo + 1 };
}

/**
 * Lines of a file from last to first, reading fixed-size blocks from the end, so that finding the
 * chain head or the last N records does not read a whole 64 MiB file. As forward, a long line is
 * kept as its pieces until its start is found.
 */
export async function* readLinesBackward(path: string, chunkBytes = CHUNK_BYTES): AsyncGenerator<LineChunk> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    let position = size;
    /** The current line's bytes from later blocks, last piece first. */
    let pieces: Buffer[] = [];
    let atEnd = true;
    while (position > 0) {
      const length = Math.min(chunkBytes, position);
      position -= length;
      const block = Buffer.allocUnsafe(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(block, read, length - read, position + read);
        if (bytesRead === 0) throw new Error(`${path}: file shrank while reading`);
        read += bytesRead;
      }
      let end = length;
      for (let nl = end > 0 ? block.lastIndexOf(10, end - 1) : -1; nl !== -1; nl = end > 0 ? block.lastIndexOf(10, end - 1) : -1) {
        const bytes = Buffer.concat([block.subarray(nl + 1, end), ...pieces.reverse()]);
        pieces = [];
        // The bytes after the file's last newline are an unterminated line; nothing there, no line.
        if (!atEnd || bytes.length > 0) yield { bytes, offset: position + nl + 1, terminated: !atEnd };
        atEnd = false;
        end = nl;
      }
      if (end > 0) pieces.push(block.subarray(0, end));
    }
    if (pieces.length > 0 || !atEnd) yield { bytes: Buffer.concat(pieces.reverse()), offset: 0, terminated: !atEnd };
  } finally {
    await handle.close();
  }
}

import assert from 'node:assert/strict';
import { appendFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { openJournal, readJournalTail, verifyJournal } from '../../src/journal/index.js';
import { readLinesBackward, readLinesForward, type LineChunk } from '../../src/journal/files.js';
import { tempDir, writeJournal } from './helpers.js';

interface Line {
  /** Hex. */
  bytes: string;
  offset: number;
  terminated: boolean;
}

/** What a file of these bytes holds, by definition: split on the newline byte, a last line without one is not terminated. */
function expectedLines(file: Buffer): Line[] {
  const lines: Line[] = [];
  let start = 0;
  for (let nl = file.indexOf(10); nl !== -1; nl = file.indexOf(10, start)) {
    lines.push({ bytes: file.subarray(start, nl).toString('hex'), offset: start, terminated: true });
    start = nl + 1;
  }
  if (start < file.length) lines.push({ bytes: file.subarray(start).toString('hex'), offset: start, terminated: false });
  return lines;
}

const plain = (line: LineChunk): Line => ({ bytes: line.bytes.toString('hex'), offset: line.offset, terminated: line.terminated });

async function readBoth(file: string, chunkBytes?: number): Promise<{ forward: Line[]; lineNos: number[]; backward: Line[] }> {
  const forward: Line[] = [];
  const lineNos: number[] = [];
  for await (const line of readLinesForward(file, chunkBytes)) {
    forward.push(plain(line));
    lineNos.push(line.lineNo);
  }
  const backward: Line[] = [];
  for await (const line of readLinesBackward(file, chunkBytes)) backward.push(plain(line));
  return { forward, lineNos, backward: backward.reverse() };
}

async function assertLines(file: string, bytes: Buffer, chunkBytes?: number): Promise<void> {
  await writeFile(file, bytes);
  const expected = expectedLines(bytes);
  const { forward, lineNos, backward } = await readBoth(file, chunkBytes);
  assert.deepEqual(forward, expected, 'forward');
  assert.deepEqual(lineNos, expected.map((_, i) => i + 1));
  assert.deepEqual(backward, expected, 'backward');
}

const MIB = 1 << 20;

describe('journal files: reading lines', () => {
  it('splits lines at any chunk size: empty lines, CR bytes, bytes that are not UTF-8, lines longer than many chunks', async (t) => {
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const file = path.join(dir, 'lines');
    const lineArb = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((bytes) => bytes.filter((b) => b !== 10)),
      fc.integer({ min: 0, max: 700 }).map((n) => new Uint8Array(n).fill(0x78)),
      fc.constantFrom(Uint8Array.of(13), Uint8Array.of(0x7b, 0x7d, 13), Uint8Array.of(0xff, 0xfe, 0xc3)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(lineArb, { maxLength: 30 }), fc.boolean(), fc.integer({ min: 1, max: 256 }), async (lines, terminated, chunkBytes) => {
        const parts = lines.map((line) => Buffer.concat([line, Buffer.of(10)]));
        const bytes = Buffer.concat(parts);
        await assertLines(file, terminated || bytes.length === 0 ? bytes : bytes.subarray(0, -1), chunkBytes);
      }),
      { numRuns: 150 },
    );
  });

  it('lines that end at, just before and just after the 64 KiB read boundaries (default chunk size), CRLF kept as bytes', async (t) => {
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const file = path.join(dir, 'lines');
    const K = 64 * 1024;
    const line = (n: number, end = '\n'): Buffer => Buffer.concat([Buffer.alloc(n, 0x61), Buffer.from(end)]);
    const cases: Buffer[] = [
      line(K - 1),
      line(K),
      line(K - 2, '\r\n'),
      line(K - 1, '\r\n'),
      Buffer.concat([line(K - 1), line(K - 1), line(0), line(K)]),
      Buffer.concat([line(10), line(K - 12), line(3 * K + 5, '\r\n'), line(K - 1, '')]),
      Buffer.concat([Buffer.from('\n'), line(2 * K, '')]),
      Buffer.concat([line(K - 2), Buffer.alloc(3, 10)]),
      line(5 * K, ''),
    ];
    for (const bytes of cases) await assertLines(file, bytes);
  });

  it('reads a line much longer than its chunks in time linear in its length', async (t) => {
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const file = path.join(dir, 'long');
    // 4 096 chunks of 4 KiB: joining the partial line again at every chunk copied 32 GiB.
    await writeFile(file, Buffer.concat([Buffer.from('{"seq":1}\n'), Buffer.alloc(16 * MIB, 0x7a), Buffer.from('\n{"seq":2}')]));
    const started = performance.now();
    const forward: Array<[number, number, boolean]> = [];
    for await (const line of readLinesForward(file, 4096)) forward.push([line.bytes.length, line.offset, line.terminated]);
    const backward: Array<[number, number, boolean]> = [];
    for await (const line of readLinesBackward(file, 4096)) backward.unshift([line.bytes.length, line.offset, line.terminated]);
    const ms = performance.now() - started;
    assert.deepEqual(forward, [[9, 0, true], [16 * MIB, 10, true], [9, 16 * MIB + 11, false]]);
    assert.deepEqual(backward, forward);
    assert.ok(ms < 5_000, `read in ${Math.round(ms)} ms`);
  });

  for (const terminated of [false, true]) {
    it(`a journal with a 20 MiB garbage last line${terminated ? ' (newline-terminated)' : ''} is verified, tailed and recovered in linear time`, async (t) => {
      const { dir, cleanup } = await tempDir();
      t.after(cleanup);
      await writeJournal(dir, 10);
      const file = path.join(dir, 'journal-000001.jsonl');
      const intact = await verifyJournal(dir);
      const garbage = 20 * MIB;
      await appendFile(file, Buffer.concat([Buffer.alloc(garbage, 0x67), Buffer.from(terminated ? '\n' : '')]));

      // Reading the 20 MiB line took about 2.5 s per call when each chunk joined and rescanned the partial line.
      const took: string[] = [];
      let spent = 0;
      const timed = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
        const started = performance.now();
        const result = await run();
        const ms = performance.now() - started;
        spent += ms;
        took.push(`${what} ${Math.round(ms)} ms`);
        return result;
      };
      const report = await timed('verifyJournal', () => verifyJournal(dir));
      assert.equal(report.ok, false);
      assert.deepEqual({ records: report.records, seals: report.seals, head: report.head }, { records: terminated ? 11 : 10, seals: intact.seals, head: intact.head });
      assert.deepEqual(
        report.issues.map(({ kind, line, detail }) => ({ kind, line, detail })),
        [
          terminated
            ? { kind: 'truncated', line: 14, detail: '1 record(s) after the last seal are not sealed (the seal is missing: crash not yet recovered, or the tail was cut)' }
            : { kind: 'torn_tail', line: 14, detail: `${garbage} bytes at the end of the file without a newline (an interrupted write)` },
        ],
      );

      const tail = await timed('readJournalTail', () => readJournalTail(dir, 3));
      assert.deepEqual(tail.map((r) => r.seq), [8, 9, 10]);

      const journal = await timed('openJournal', () => openJournal({ dir }));
      const { tornTail, unsealed, savedTo } = journal.openReport;
      assert.deepEqual(tornTail, terminated ? null : { file: 'journal-000001.jsonl', bytes: garbage });
      assert.deepEqual(unsealed, { resealed: 0, discarded: terminated ? 1 : 0, firstSeq: null, lastSeq: null });
      assert.ok(savedTo !== null && (await readdir(dir)).includes(savedTo));
      await journal.close();
      assert.ok(spent < 5_000, took.join(', '));
      const after = await verifyJournal(dir);
      assert.equal(after.ok, true, JSON.stringify(after.issues));
      assert.equal(after.records, 11, 'the 10 records and the journal.recovered record');
    });
  }
});

import assert from 'node:assert/strict';
import { appendFile, readdir, rm, truncate, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { auditVerify } from '../../src/cli/audit.js';
import { canonicalJson } from '../../src/message/canonical.js';
import { inclusionProof, merkleRoot, verifyInclusion, verifyJournal, type VerifyIssue, type VerifyReport } from '../../src/journal/index.js';
import { sha256 } from '../../src/journal/hash.js';
import { readLines, tempDir, writeJournal, writeLines } from './helpers.js';

const FILE = 'journal-000001.jsonl';

/**
 * 20 records in 5 batches of 4: batch k has records at 0-based lines 5(k-1)..5(k-1)+3 and its seal
 * at 5(k-1)+4, so 0-based line 5 is seq 5 (reported as line 6), line 9 is the seal of batch 2.
 */
async function tamper(change: (lines: string[]) => string[] | void): Promise<VerifyReport> {
  const { dir, cleanup } = await tempDir();
  try {
    await writeJournal(dir, 20);
    const file = path.join(dir, FILE);
    const lines = await readLines(file);
    assert.equal(lines.length, 25);
    await writeLines(file, change(lines) ?? lines);
    return await verifyJournal(dir);
  } finally {
    await cleanup();
  }
}

function pick(report: VerifyReport): Array<Pick<VerifyIssue, 'kind' | 'target' | 'line' | 'seq' | 'batch'>> {
  return report.issues.map(({ kind, target, line, seq, batch }) => ({ kind, target, line, seq, batch }));
}

function resealed(line: string, change: (seal: Record<string, unknown>) => void): string {
  const seal = JSON.parse(line) as Record<string, unknown>;
  change(seal);
  delete seal['hash'];
  seal['hash'] = sha256(canonicalJson(seal));
  return canonicalJson(seal);
}

describe('verifyJournal: tampering is detected and located', () => {
  it('an intact journal verifies', async () => {
    const report = await tamper(() => undefined);
    assert.equal(report.ok, true);
    assert.deepEqual(report.issues, []);
    assert.equal(report.records, 20);
    assert.equal(report.seals, 5);
    assert.deepEqual(report.files, [{ name: FILE, records: 20, seals: 5, bytes: report.files[0]!.bytes }]);
  });

  it('a modified record', async () => {
    const report = await tamper((lines) => {
      lines[6] = lines[6]!.replace('"executor"', '"attacker"');
    });
    assert.equal(report.ok, false);
    assert.deepEqual(pick(report), [{ kind: 'modified', target: 'record', line: 7, seq: 6, batch: 2 }]);
  });

  it('a record whose seq was changed is reported as modified at its place', async () => {
    const report = await tamper((lines) => {
      lines[5] = lines[5]!.replace('"seq":5,', '"seq":9,');
    });
    assert.deepEqual(pick(report), [{ kind: 'modified', target: 'record', line: 6, seq: 5, batch: 2 }]);
  });

  it('a deleted record', async () => {
    const report = await tamper((lines) => lines.filter((_, i) => i !== 6));
    assert.deepEqual(pick(report), [{ kind: 'deleted', target: 'record', line: 7, seq: 6, batch: 2 }]);
  });

  it('two reordered records', async () => {
    const report = await tamper((lines) => {
      [lines[5], lines[6]] = [lines[6]!, lines[5]!];
    });
    assert.equal(report.ok, false);
    assert.equal(report.issues.length, 1);
    const [issue] = report.issues;
    assert.equal(issue!.kind, 'reordered');
    assert.equal(issue!.batch, 2);
    assert.ok([6, 7].includes(issue!.line!) && [6, 7].includes(issue!.seq!), JSON.stringify(issue));
  });

  it('an inserted forged record', async () => {
    const report = await tamper((lines) => {
      const forged = lines[6]!.replace('"type":"message.delivered"', '"type":"message.approved"');
      lines.splice(7, 0, forged);
    });
    assert.deepEqual(pick(report), [{ kind: 'inserted', target: 'record', line: 8, seq: 6, batch: 2 }]);
  });

  it('a modified seal (hash left as it was)', async () => {
    const report = await tamper((lines) => {
      lines[9] = lines[9]!.replace('"count":4', '"count":5');
    });
    assert.deepEqual(pick(report), [{ kind: 'bad_seal', target: 'seal', line: 10, seq: undefined, batch: 2 }]);
  });

  it('a modified seal with a recomputed hash breaks the chain at the next seal', async () => {
    const report = await tamper((lines) => {
      lines[9] = resealed(lines[9]!, (seal) => (seal['at'] = 1));
    });
    assert.deepEqual(pick(report), [{ kind: 'chain_break', target: 'seal', line: 15, seq: undefined, batch: 3 }]);
  });

  it('forged records with a forged seal that matches them still break the chain', async () => {
    const report = await tamper((lines) => {
      lines[5] = lines[5]!.replace('"executor"', '"attacker"');
      const leaves = lines.slice(5, 9).map((line) => sha256(line));
      lines[9] = resealed(lines[9]!, (seal) => {
        seal['root'] = merkleRoot(leaves);
        seal['leaves'] = Buffer.from(leaves.map((l) => l.slice(0, 16)).join(''), 'hex').toString('base64');
      });
    });
    assert.deepEqual(pick(report), [{ kind: 'chain_break', target: 'seal', line: 15, seq: undefined, batch: 3 }]);
  });

  it('a deleted seal', async () => {
    const report = await tamper((lines) => lines.filter((_, i) => i !== 9));
    assert.deepEqual(pick(report), [
      { kind: 'chain_break', target: 'seal', line: 14, seq: undefined, batch: 3 },
      { kind: 'deleted', target: 'seal', line: 6, seq: 5, batch: 2 },
    ]);
  });

  it('a deleted batch (records and seal)', async () => {
    const report = await tamper((lines) => lines.filter((_, i) => i < 5 || i > 9));
    assert.deepEqual(pick(report), [
      { kind: 'chain_break', target: 'seal', line: 10, seq: undefined, batch: 3 },
      { kind: 'deleted', target: 'batch', line: 10, seq: 5, batch: 2 },
    ]);
  });

  it('a truncated tail: records after the last seal', async () => {
    const report = await tamper((lines) => lines.slice(0, 22));
    assert.deepEqual(pick(report), [{ kind: 'truncated', target: 'record', line: 21, seq: 17, batch: 5 }]);
  });

  it('a torn tail: a partial last line', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeJournal(dir, 20);
      const file = path.join(dir, FILE);
      await truncate(file, (await stat(file)).size - 30);
      const report = await verifyJournal(dir);
      assert.deepEqual(
        pick(report).map((i) => i.kind),
        ['torn_tail', 'truncated'],
      );
      assert.equal(report.issues[0]!.line, 25);
    } finally {
      await cleanup();
    }
  });

  it('a tail cut exactly after a seal is only visible against an exported head', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const journal = await writeJournal(dir, 20);
      const head = journal.stats().head;
      const file = path.join(dir, FILE);
      await writeLines(file, (await readLines(file)).slice(0, 20));
      assert.equal((await verifyJournal(dir)).ok, true, 'looks complete on its own');
      const report = await verifyJournal(dir, { expectHead: { hash: head.hash, seq: head.seq } });
      assert.equal(report.ok, false);
      assert.deepEqual(pick(report), [{ kind: 'truncated', target: 'seal', line: undefined, seq: undefined, batch: undefined }]);
      assert.match(report.issues[0]!.detail, /ends at seq 16 but the exported head is at seq 20/);
    } finally {
      await cleanup();
    }
  });

  it('stopAtSeq verifies a journal up to a head while later bytes are still being written', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const journal = await writeJournal(dir, 20);
      const head = journal.stats().head;
      await appendFile(path.join(dir, FILE), '{"seq":21,"type":"message.deliv');
      assert.equal((await verifyJournal(dir)).ok, false, 'a write in progress looks like a torn tail');
      const report = await verifyJournal(dir, { stopAtSeq: head.seq, expectHead: head });
      assert.equal(report.ok, true, JSON.stringify(report.issues));
      assert.deepEqual(report.head, head);
    } finally {
      await cleanup();
    }
  });

  it('a deleted file in the middle', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeJournal(dir, 60, { maxFileBytes: 3000 });
      const files = (await readdir(dir)).filter((name) => name.endsWith('.jsonl')).sort();
      assert.ok(files.length >= 3);
      assert.equal((await verifyJournal(dir)).ok, true);
      await rm(path.join(dir, files[1]!));
      const report = await verifyJournal(dir);
      assert.equal(report.ok, false);
      const kinds = report.issues.map((i) => `${i.kind}/${i.target}/${i.file}`);
      assert.ok(kinds.includes(`deleted/file/${files[1]}`), kinds.join(' '));
      assert.ok(kinds.includes(`chain_break/seal/${files[2]}`), kinds.join(' '));
      assert.ok(kinds.includes(`deleted/batch/${files[2]}`), kinds.join(' '));
    } finally {
      await cleanup();
    }
  });
});

describe('auditVerify (agent-bus audit verify)', () => {
  it('exit code 0 and a human report for an intact journal, 1 with located issues when tampered', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeJournal(dir, 8);
      const intact = await auditVerify(dir, { json: false });
      assert.equal(intact.exitCode, 0);
      assert.match(intact.output, /^INTACT /);
      assert.match(intact.output, /records 8, seals 2/);

      const file = path.join(dir, FILE);
      const lines = await readLines(file);
      lines[1] = lines[1]!.replace('"planner"', '"mallory"');
      await writeLines(file, lines);
      const tampered = await auditVerify(dir, { json: false });
      assert.equal(tampered.exitCode, 1);
      assert.match(tampered.output, /^TAMPERED /);
      assert.match(tampered.output, /modified\s+record journal-000001\.jsonl:2, seq 2, batch 1/);

      const json = await auditVerify(dir, { json: true });
      assert.equal(json.exitCode, 1);
      const parsed = JSON.parse(json.output) as VerifyReport;
      assert.equal(parsed.ok, false);
      assert.equal(parsed.issues[0]!.kind, 'modified');
    } finally {
      await cleanup();
    }
  });

  it('exit code 2 when the directory is missing or holds no journal', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const missing = await auditVerify(path.join(dir, 'nope'), { json: true });
      assert.equal(missing.exitCode, 2);
      assert.equal((JSON.parse(missing.output) as VerifyReport).readable, false);
      const empty = await auditVerify(dir, { json: false });
      assert.equal(empty.exitCode, 2);
      assert.match(empty.output, /^UNREADABLE .*no journal files/);
    } finally {
      await cleanup();
    }
  });
});

describe('Merkle inclusion proofs', () => {
  it('prove every leaf of odd-sized trees and reject a wrong leaf', () => {
    for (const count of [1, 2, 15, 16, 17, 37, 300]) {
      const leaves = Array.from({ length: count }, (_, i) => sha256(`leaf ${i}`));
      const root = merkleRoot(leaves);
      for (let i = 0; i < count; i++) {
        const proof = inclusionProof(leaves, i)!;
        assert.equal(verifyInclusion(leaves[i]!, proof, root), true, `leaf ${i} of ${count}`);
        assert.equal(verifyInclusion(sha256('other'), proof, root), false);
      }
    }
    assert.equal(inclusionProof([sha256('x')], 1), null);
  });
});

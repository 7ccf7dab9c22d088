import { intOption, positionalCount, stringOption, UsageError, type CliCommand } from './command.js';

export const audit: CliCommand = {
  name: 'audit',
  summary: 'Verify the hash chain and seals of a journal directory',
  usage: `agent-bus audit verify <journal-dir> [--expect-head HASH [--expect-seq N]] [--json]

Reads every journal file in the directory and checks each record's hash chain link, each seal's
Merkle root and the seal chain. Works on a copy or on the directory of a stopped server
(for a running server: GET /v1/journal/verify, or the Verify button on the dashboard).
The default server keeps its journal in ./data/runtime/journal.

Options:
  --expect-head HASH  the chain head you recorded earlier (e.g. from /v1/journal/stats): detects a
                      truncated journal whose remaining records are still consistent
  --expect-seq N      the sequence number of that head
  --json              print the full verification report as JSON

Exit codes: 0 intact, 1 tampered or incomplete, 2 unreadable (no journal there, or I/O error),
64 usage error, 70 internal error.

Examples:
  agent-bus audit verify ./data/runtime/journal
  agent-bus audit verify /backup/journal --expect-head 30097b13… --json`,
  allowPositionals: true,
  options: {
    'expect-head': { type: 'string' },
    'expect-seq': { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const [sub, ...rest] = positionals;
    if (sub !== 'verify') throw new UsageError(sub === undefined ? 'expected a subcommand: verify' : `unknown subcommand ${JSON.stringify(sub)} (expected verify)`);
    positionalCount(rest, 1, 'one journal directory: agent-bus audit verify <journal-dir>');
    const hash = stringOption(values, 'expect-head');
    const seq = intOption(values, 'expect-seq', 0, Number.MAX_SAFE_INTEGER);
    if (seq !== undefined && hash === undefined) throw new UsageError('--expect-seq needs --expect-head');
    if (hash !== undefined && !/^[0-9a-f]{64}$/i.test(hash)) throw new UsageError('--expect-head: expected a 64-digit hex SHA-256');
    // Loaded here so that the other commands do not pay for the journal module at start-up.
    const { auditVerify } = await import('./audit.js');
    const expectHead = hash === undefined ? undefined : { hash: hash.toLowerCase(), ...(seq === undefined ? {} : { seq }) };
    const result = await auditVerify(rest[0]!, { json: values.json === true, ...(expectHead === undefined ? {} : { expectHead }) });
    io.out(result.output);
    return result.exitCode;
  },
};

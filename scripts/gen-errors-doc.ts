// Regenerates the code tables of docs/errors.md from src/errors.ts:  npx tsx scripts/gen-errors-doc.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { ERROR_INFO, REJECTION_INFO } from '../src/errors.js';

const path = new URL('../docs/errors.md', import.meta.url);
const text = readFileSync(path, 'utf8');
const table = (info: Record<string, { httpStatus: number; description: string }>) =>
  '| Code | HTTP | Meaning |\n|---|---|---|\n' + Object.entries(info).map(([code, i]) => `| \`${code}\` | ${i.httpStatus} | ${i.description} |`).join('\n') + '\n';
const replace = (src: string, marker: string, body: string) =>
  src.replace(new RegExp(`(<!-- ${marker}:start -->\\n)[\\s\\S]*?(<!-- ${marker}:end -->)`), `$1${body}$2`);
writeFileSync(path, replace(replace(text, 'rejection-codes', table(REJECTION_INFO)), 'error-codes', table(ERROR_INFO)));

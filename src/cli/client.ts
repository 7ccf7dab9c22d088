import { ExitCode, stringOption, UsageError, type CliIO, type OptionValues } from './command.js';

/** Options every client command accepts (the server to talk to and the credential). */
export const CLIENT_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  token: { type: 'string' },
  'timeout-ms': { type: 'string' },
} as const;

export const CLIENT_OPTION_NAMES = Object.keys(CLIENT_OPTIONS);

export const CLIENT_HELP = `Server and credential:
  --url URL         server base URL (default $AGENT_BUS_URL or http://127.0.0.1:8080)
  --api-key KEY     API key, sent as X-API-Key (default $AGENT_BUS_API_KEY)
  --token JWT       bearer token (JWT or API key), sent as Authorization: Bearer (default $AGENT_BUS_TOKEN)
  --timeout-ms N    give up on the server after N ms (default 30000)`;

export const CLIENT_EXIT_CODES = `Exit codes: 0 ok, 1 refused by the server (the error code is printed), 64 usage error,
69 server unreachable or unavailable (503), 70 internal error (server 5xx or unexpected answer).`;

/** An answer from the server: the HTTP status and the parsed JSON body. */
export interface ApiAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

export class ServerUnreachableError extends Error {}

export interface ApiClient {
  readonly baseUrl: string;
  request(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
}

export function clientFromOptions(values: OptionValues, env: NodeJS.ProcessEnv): ApiClient {
  const fromEnv = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const raw = stringOption(values, 'url') ?? fromEnv('AGENT_BUS_URL') ?? 'http://127.0.0.1:8080';
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw new UsageError(`--url: not a URL: ${JSON.stringify(raw)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new UsageError(`--url: expected http:// or https://, got ${base.protocol}`);
  const apiKey = stringOption(values, 'api-key') ?? fromEnv('AGENT_BUS_API_KEY');
  const token = stringOption(values, 'token') ?? fromEnv('AGENT_BUS_TOKEN');
  const timeoutText = stringOption(values, 'timeout-ms');
  const timeoutMs = timeoutText === undefined ? 30_000 : Number(timeoutText);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new UsageError(`--timeout-ms: expected a positive integer, got ${JSON.stringify(timeoutText)}`);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (apiKey !== undefined && apiKey !== '') headers['x-api-key'] = apiKey;
  if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
  const baseUrl = base.href.replace(/\/+$/, '');

  return {
    baseUrl,
    async request(method, path, body) {
      const init: RequestInit = { method, headers: { ...headers }, signal: AbortSignal.timeout(timeoutMs) };
      if (body !== undefined) {
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      let response: Response;
      try {
        response = await fetch(baseUrl + path, init);
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const why = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (error as Error).message);
        throw new ServerUnreachableError(`cannot reach the server at ${baseUrl} (${why})`);
      }
      const text = await response.text();
      let parsed: unknown = text;
      if (text !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
  };
}

/** The `{ error: { code, message } }` of an error answer, when it has one. */
export function errorOf(answer: ApiAnswer): { code: string; message: string } {
  const e = (answer.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (e !== undefined && typeof e.code === 'string') return { code: e.code, message: typeof e.message === 'string' ? e.message : '' };
  return { code: `HTTP_${answer.status}`, message: typeof answer.body === 'string' ? answer.body.slice(0, 200) : '' };
}

/** The exit code for a non-2xx answer: refusals 1, unavailable 69, server faults 70. */
export function exitCodeOfStatus(status: number): number {
  if (status < 300) return ExitCode.OK;
  if (status === 503) return ExitCode.UNAVAILABLE;
  if (status >= 500) return ExitCode.SOFTWARE;
  return ExitCode.REFUSED;
}

/**
 * Reports an error answer (stderr, or the body on stdout with --json) and returns its exit code.
 * A 429 also prints how long to wait.
 */
export function reportFailure(command: string, answer: ApiAnswer, json: boolean, io: CliIO): number {
  if (json) io.out(JSON.stringify({ status: answer.status, ...(typeof answer.body === 'object' && answer.body !== null ? answer.body : { body: answer.body }) }) + '\n');
  else {
    const { code, message } = errorOf(answer);
    const retry = answer.headers.get('retry-after');
    io.err(`agent-bus ${command}: refused (${answer.status} ${code})${message === '' ? '' : `: ${message}`}${retry === null ? '' : ` — retry after ${retry} s`}\n`);
  }
  return exitCodeOfStatus(answer.status);
}

/** Runs a client command body, turning an unreachable server into exit code 69. */
export async function withServer(command: string, io: CliIO, json: boolean, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof ServerUnreachableError)) throw error;
    if (json) io.out(JSON.stringify({ error: { code: 'UNREACHABLE', message: error.message } }) + '\n');
    else io.err(`agent-bus ${command}: ${error.message}\n`);
    return ExitCode.UNAVAILABLE;
  }
}

export function encode(segment: string): string {
  return encodeURIComponent(segment);
}

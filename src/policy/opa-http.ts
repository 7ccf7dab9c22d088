import http from 'node:http';
import https from 'node:https';
import { BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll, type CircuitBreakerPolicy } from 'cockatiel';
import { BusError, ErrorCode } from '../errors.js';
import { PolicyEngineError, PolicyFailureKind, type PolicyDecision, type PolicyEngine, type PolicyRequest } from './types.js';

/**
 * Adapter for an external OPA server through its Data API: `POST /v1/data/<path>` with
 * `{ "input": … }`. The result may be a boolean or `{ allow, reason?, policyIds? }`; an absent
 * `result` (undefined document) is a denial. Connections are kept alive in a bounded pool; each call
 * has a deadline computed once as a timestamp; calls go through a consecutive-failure circuit breaker.
 */

export interface OpaHttpEngineOptions {
  /** Base URL of the OPA server, e.g. 'http://127.0.0.1:8181'. */
  url: string;
  /** Document path: 'eab/policy/decision' or 'data.eab.policy.decision'. */
  path: string;
  /** Default 'opa'. */
  name?: string;
  /** Identifies the policy bundle loaded in OPA (stamped on decisions and part of cache keys). Default ''. */
  bundleHash?: string;
  /** Per-call deadline (default 100 ms). */
  timeoutMs?: number;
  /** Keep-alive pool size (default 16). */
  maxSockets?: number;
  /** Consecutive failures that open the breaker (default 5), and how long it stays open (default 30,000 ms). */
  breaker?: { failMax?: number; resetMs?: number };
  /** Extra request headers (e.g. Authorization: Bearer … for OPA's token authentication). */
  headers?: Readonly<Record<string, string>>;
  /** Maps the request to OPA's `input` (default: the PolicyRequest as is). */
  inputOf?: (req: PolicyRequest) => unknown;
  /** Whether the Rego policy may look at agent ids (default true: ids are part of cache keys). */
  usesEntityIds?: boolean;
  /** Larger responses are refused (default 1 MiB). */
  maxResponseBytes?: number;
}

export interface OpaHttpStats {
  calls: number;
  errors: number;
  deadlines: number;
  breakerRejections: number;
  breakerState: 'closed' | 'open' | 'half-open' | 'isolated';
}

const STATE_NAMES: Record<CircuitState, OpaHttpStats['breakerState']> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

export function dataApiPath(path: string): string {
  const trimmed = path.replace(/^data\./, '').replace(/^\/+|\/+$/g, '');
  return '/v1/data/' + trimmed.split(/[./]/).map(encodeURIComponent).join('/');
}

export class OpaHttpEngine implements PolicyEngine {
  readonly name: string;
  readonly bundleHash: string;
  readonly synchronous = false;
  readonly usesEntityIds: boolean;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly requestPath: string;
  private readonly hostname: string;
  private readonly port: number | undefined;
  private readonly baseHeaders: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly inputOf: (req: PolicyRequest) => unknown;
  private readonly policyPath: string;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly counters = { calls: 0, errors: 0, deadlines: 0, breakerRejections: 0 };

  constructor(options: OpaHttpEngineOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new BusError(ErrorCode.INVALID_OPTIONS, `opa url is not a URL: ${options.url}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new BusError(ErrorCode.INVALID_OPTIONS, 'opa url must be http(s)');
    if (options.path.trim() === '') throw new BusError(ErrorCode.INVALID_OPTIONS, 'opa path is empty');
    this.name = options.name ?? 'opa';
    this.bundleHash = options.bundleHash ?? '';
    this.usesEntityIds = options.usesEntityIds ?? true;
    this.timeoutMs = options.timeoutMs ?? 100;
    this.maxResponseBytes = options.maxResponseBytes ?? 1 << 20;
    this.inputOf = options.inputOf ?? ((req) => req);
    this.policyPath = options.path;
    this.transport = base.protocol === 'https:' ? https : http;
    const maxSockets = options.maxSockets ?? 16;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets });
    this.hostname = base.hostname.replace(/^\[|\]$/g, '');
    this.port = base.port === '' ? undefined : Number(base.port);
    this.requestPath = base.pathname.replace(/\/+$/, '') + dataApiPath(options.path);
    this.baseHeaders = { 'content-type': 'application/json', accept: 'application/json', ...options.headers };
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: options.breaker?.resetMs ?? 30_000,
      breaker: new ConsecutiveBreaker(options.breaker?.failMax ?? 5),
    });
  }

  evaluate(req: PolicyRequest): Promise<PolicyDecision> {
    const start = performance.now();
    const deadline = start + this.timeoutMs;
    const body = JSON.stringify({ input: this.inputOf(req) });
    this.counters.calls++;
    return this.breaker.execute(() => this.post(body, deadline).then((answer) => this.decisionOf(answer, start))).catch(
      (error: unknown) => {
        if (error instanceof BrokenCircuitError) {
          this.counters.breakerRejections++;
          throw new PolicyEngineError(PolicyFailureKind.BREAKER_OPEN, 'opa: circuit breaker open', { cause: error });
        }
        if (error instanceof PolicyEngineError) {
          if (error.kind === PolicyFailureKind.DEADLINE) this.counters.deadlines++;
          else this.counters.errors++;
          throw error;
        }
        this.counters.errors++;
        throw new PolicyEngineError(PolicyFailureKind.ERROR, `opa: ${(error as Error).message}`, { cause: error });
      },
    );
  }

  get breakerState(): OpaHttpStats['breakerState'] {
    return STATE_NAMES[this.breaker.state];
  }

  stats(): OpaHttpStats {
    return { ...this.counters, breakerState: this.breakerState };
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  /** One Data API call; resolves with the parsed response body. */
  private post(body: string, deadline: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        reject(new PolicyEngineError(PolicyFailureKind.DEADLINE, 'opa: deadline passed before the call'));
        return;
      }
      const request = this.transport.request(
        {
          agent: this.agent,
          method: 'POST',
          hostname: this.hostname,
          port: this.port,
          path: this.requestPath,
          headers: { ...this.baseHeaders, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxResponseBytes) {
              request.destroy(new PolicyEngineError(PolicyFailureKind.ERROR, `opa: response larger than ${this.maxResponseBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            if (performance.now() > deadline) {
              reject(new PolicyEngineError(PolicyFailureKind.DEADLINE, `opa: answer arrived after the ${this.timeoutMs} ms deadline`));
              return;
            }
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              parsed = undefined;
            }
            const status = res.statusCode ?? 0;
            if (status !== 200) {
              const e = (parsed ?? {}) as { code?: unknown; message?: unknown };
              const detail = typeof e.code === 'string' ? `${e.code}${typeof e.message === 'string' ? ': ' + e.message : ''}` : 'no error body';
              reject(new PolicyEngineError(PolicyFailureKind.ERROR, `opa: HTTP ${status} (${detail})`));
              return;
            }
            if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
              reject(new PolicyEngineError(PolicyFailureKind.ERROR, 'opa: response is not a JSON object'));
              return;
            }
            resolve(parsed as Record<string, unknown>);
          });
        },
      );
      request.setTimeout(remaining, () => {
        request.destroy(new PolicyEngineError(PolicyFailureKind.DEADLINE, `opa: no answer within the ${this.timeoutMs} ms deadline`));
      });
      request.on('error', reject);
      request.end(body);
    });
  }

  private decisionOf(answer: Record<string, unknown>, start: number): PolicyDecision {
    const decision = (allow: boolean, policyIds: readonly string[], diagnostics: readonly string[]): PolicyDecision =>
      Object.freeze({
        allow,
        policyIds: Object.freeze(policyIds),
        diagnostics: Object.freeze(diagnostics),
        engine: this.name,
        latencyUs: (performance.now() - start) * 1000,
        bundleHash: this.bundleHash,
      });
    if (!('result' in answer)) {
      return decision(false, [], [`opa: document ${this.policyPath} is undefined (no rule matched, or the path is wrong)`]);
    }
    const result = answer['result'];
    if (typeof result === 'boolean') return decision(result, [this.policyPath], []);
    if (typeof result === 'object' && result !== null && !Array.isArray(result)) {
      const r = result as Record<string, unknown>;
      const ids = r['policyIds'] ?? r['policy_ids'];
      const policyIds = Array.isArray(ids) && ids.every((x) => typeof x === 'string') ? (ids as string[]) : [this.policyPath];
      const notes: string[] = [];
      if (typeof r['reason'] === 'string') notes.push(r['reason']);
      if (typeof r['allow'] !== 'boolean') notes.push('opa: result has no boolean "allow"; denied');
      return decision(r['allow'] === true, policyIds, notes);
    }
    throw new PolicyEngineError(PolicyFailureKind.ERROR, `opa: unexpected result type ${Array.isArray(result) ? 'array' : typeof result}`);
  }
}

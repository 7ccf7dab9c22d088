import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  createPolicyStage,
  dataApiPath,
  OpaHttpEngine,
  PolicyEngineError,
  PolicyFailureKind,
  type FailOpenEvent,
  type PolicyAnnotation,
  type PolicyRequest,
} from '../../src/policy/index.js';
import { agent, context, message } from './helpers.js';

/**
 * A stand-in for an OPA server (OPA cannot run on these machines). It follows OPA's documented Data
 * API: POST /v1/data/{path} with {"input": …} answers 200 {"result": …}, or 200 {} when the document
 * is undefined; errors are {"code", "message"} with 400 (invalid_parameter) or 500 (internal_error).
 */
type Mode = 'bool' | 'object' | 'undefined' | 'error500' | 'error400' | 'hang' | 'array';

describe('OpaHttpEngine against a fake OPA Data API server', () => {
  let server: http.Server;
  let url: string;
  let mode: Mode = 'bool';
  let requests: { method: string; path: string; contentType: string; body: unknown }[] = [];
  let connections = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as { input?: PolicyRequest };
        requests.push({ method: req.method!, path: req.url!, contentType: req.headers['content-type'] ?? '', body });
        const reply = (status: number, value: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(value));
        };
        if (req.method !== 'POST' || req.url !== '/v1/data/eab/policy/decision') return reply(404, { code: 'resource_not_found', message: 'x' });
        const roles = body.input?.principal.roles ?? [];
        switch (mode) {
          case 'bool':
            return reply(200, { result: !roles.includes('blocked') });
          case 'object':
            return reply(200, { result: { allow: false, reason: 'blocked by rego', policyIds: ['eab.rbac.deny_blocked'] }, decision_id: 'd1' });
          case 'undefined':
            return reply(200, {});
          case 'array':
            return reply(200, { result: [1, 2] });
          case 'error400':
            return reply(400, { code: 'invalid_parameter', message: 'error(s) occurred while parsing input' });
          case 'error500':
            return reply(500, { code: 'internal_error', message: 'eval_conflict_error: complete rules must not produce multiple outputs' });
          case 'hang':
            return; // never answers
        }
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    mode = 'bool';
    requests = [];
    connections = 0;
  });

  const a = agent('a', { roles: ['reader'] });
  const b = agent('b');
  const request = (roles: string[] = []): PolicyRequest => ({
    principal: { id: 'a', agentType: 'worker', tenant: 'acme', roles },
    action: 'command',
    resource: { kind: 'agent', id: 'b', tenant: 'acme', agentType: 'worker', roles: [], capabilities: [] },
    context: { priority: 1, sizeClass: 'small', hour: 10, weekday: 3, labels: [], constitutionalHash: 'cdd01ef066bc6cf2', hashAccepted: true },
  });

  it('maps the policy path to the Data API', () => {
    assert.equal(dataApiPath('data.eab.policy.decision'), '/v1/data/eab/policy/decision');
    assert.equal(dataApiPath('eab/policy/decision'), '/v1/data/eab/policy/decision');
  });

  it('POSTs {input} and reads a boolean result, over one kept-alive connection', async () => {
    const engine = new OpaHttpEngine({ url, path: 'data.eab.policy.decision', bundleHash: 'rego-v1' });
    const allowed = await engine.evaluate(request());
    const denied = await engine.evaluate(request(['blocked']));
    await engine.evaluate(request());
    assert.equal(allowed.allow, true);
    assert.equal(denied.allow, false);
    assert.deepEqual(allowed.policyIds, ['data.eab.policy.decision']);
    assert.equal(allowed.engine, 'opa');
    assert.equal(allowed.bundleHash, 'rego-v1');
    assert.equal(requests.length, 3);
    assert.equal(requests[0]!.method, 'POST');
    assert.equal(requests[0]!.contentType, 'application/json');
    assert.deepEqual(requests[0]!.body, { input: request() });
    assert.equal(connections, 1, 'keep-alive reuses the connection');
    await engine.close();
  });

  it('reads an {allow, reason, policyIds} result', async () => {
    mode = 'object';
    const engine = new OpaHttpEngine({ url, path: 'eab/policy/decision' });
    const d = await engine.evaluate(request());
    assert.equal(d.allow, false);
    assert.deepEqual(d.policyIds, ['eab.rbac.deny_blocked']);
    assert.deepEqual(d.diagnostics, ['blocked by rego']);
    await engine.close();
  });

  it('an undefined document (no result) is a denial, not an error', async () => {
    mode = 'undefined';
    const engine = new OpaHttpEngine({ url, path: 'eab/policy/decision' });
    const d = await engine.evaluate(request());
    assert.equal(d.allow, false);
    assert.match(d.diagnostics[0]!, /undefined/);
    await engine.close();
  });

  for (const [m, pattern] of [
    ['error500', /HTTP 500 \(internal_error: eval_conflict_error/],
    ['error400', /HTTP 400 \(invalid_parameter/],
    ['array', /unexpected result type array/],
  ] as const) {
    it(`fails (error) on ${m}`, async () => {
      mode = m;
      const engine = new OpaHttpEngine({ url, path: 'eab/policy/decision' });
      await assert.rejects(engine.evaluate(request()), (e: unknown) => e instanceof PolicyEngineError && e.kind === PolicyFailureKind.ERROR && pattern.test(e.message));
      await engine.close();
    });
  }

  it('a hanging server hits the deadline', async () => {
    mode = 'hang';
    const engine = new OpaHttpEngine({ url, path: 'eab/policy/decision', timeoutMs: 40 });
    const t0 = performance.now();
    await assert.rejects(engine.evaluate(request()), (e: unknown) => e instanceof PolicyEngineError && e.kind === PolicyFailureKind.DEADLINE);
    assert.ok(performance.now() - t0 < 1_000);
    assert.equal(engine.stats().deadlines, 1);
    await engine.close();
  });

  it('opens the breaker after failMax consecutive failures, and closes it after a good half-open call', async () => {
    mode = 'error500';
    const engine = new OpaHttpEngine({ url, path: 'eab/policy/decision', breaker: { failMax: 3, resetMs: 80 } });
    for (let i = 0; i < 3; i++) await assert.rejects(engine.evaluate(request()));
    assert.equal(engine.breakerState, 'open');
    await assert.rejects(engine.evaluate(request()), (e: unknown) => e instanceof PolicyEngineError && e.kind === PolicyFailureKind.BREAKER_OPEN);
    assert.equal(requests.length, 3, 'an open breaker does not call the server');
    mode = 'bool';
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await engine.evaluate(request())).allow, true);
    assert.equal(engine.breakerState, 'closed');
    assert.deepEqual(
      { ...engine.stats(), calls: engine.stats().calls },
      { calls: 5, errors: 3, deadlines: 0, breakerRejections: 1, breakerState: 'closed' },
    );
    await engine.close();
  });

  describe('through the policy stage', () => {
    it('fails closed: engine error → POLICY_UNAVAILABLE', async () => {
      mode = 'error500';
      const engine = new OpaHttpEngine({ url, path: 'eab/policy/decision' });
      const stage = createPolicyStage({ engine });
      const ctx = context(a, b);
      const verdict = await stage.evaluate(message(a, { to: b }), ctx);
      assert.equal(verdict.kind, 'reject');
      assert.ok(verdict.kind === 'reject');
      assert.equal(verdict.code, 'POLICY_UNAVAILABLE');
      assert.equal((ctx.annotations['policy'] as PolicyAnnotation).failure!.kind, 'error');
      assert.equal(stage.stats().unavailable, 1);
      assert.equal(stage.cache!.size, 0, 'failures are not cached');
      await stage.close();
      await engine.close();
    });

    it('fails closed on the deadline and on an open breaker', async () => {
      mode = 'hang';
      const engine = new OpaHttpEngine({ url, path: 'eab/policy/decision', timeoutMs: 30, breaker: { failMax: 1, resetMs: 60_000 } });
      const stage = createPolicyStage({ engine, cache: false });
      const first = await stage.evaluate(message(a, { to: b }), context(a, b));
      assert.ok(first.kind === 'reject' && first.code === 'POLICY_UNAVAILABLE' && /deadline/.test(first.reason), JSON.stringify(first));
      const second = await stage.evaluate(message(a, { to: b }), context(a, b));
      assert.ok(second.kind === 'reject' && second.code === 'POLICY_UNAVAILABLE' && /breaker_open/.test(second.reason), JSON.stringify(second));
      await stage.close();
      await engine.close();
    });

    it('fail-open only when asked, and then every pass is annotated, counted and reported', async () => {
      mode = 'error500';
      const engine = new OpaHttpEngine({ url, path: 'eab/policy/decision' });
      const events: FailOpenEvent[] = [];
      const stage = createPolicyStage({ engine, failMode: 'open', onFailOpen: (e) => events.push(e) });
      const msg = message(a, { to: b });
      const ctx = context(a, b);
      const verdict = await stage.evaluate(msg, ctx);
      assert.equal(verdict.kind, 'proceed');
      const annotation = ctx.annotations['policy'] as PolicyAnnotation;
      assert.equal(annotation.failOpen, true);
      assert.equal(annotation.decision, undefined);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.messageId, msg.messageId);
      assert.equal(events[0]!.engine, 'opa');
      assert.equal(events[0]!.kind, 'error');
      assert.equal(stage.stats().failOpen, 1);
      // A real denial is still enforced in fail-open mode.
      mode = 'bool';
      const blocked = agent('z', { roles: ['blocked'] });
      assert.equal((await stage.evaluate(message(blocked, { to: b }), context(blocked, b))).kind, 'reject');
      await stage.close();
      await engine.close();
    });

    it('caches OPA decisions (second call does not reach the server)', async () => {
      const engine = new OpaHttpEngine({ url, path: 'eab/policy/decision' });
      const stage = createPolicyStage({ engine });
      await stage.evaluate(message(a, { to: b }), context(a, b));
      const second = stage.evaluate(message(a, { to: b }), context(a, b));
      assert.ok(!(second instanceof Promise), 'a cache hit is synchronous');
      assert.equal(requests.length, 1);
      await stage.close();
      await engine.close();
    });
  });
});

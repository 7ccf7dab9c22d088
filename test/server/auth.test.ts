import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Authenticator, sha256Hex, signJwtHs256, verifyJwtHs256 } from '../../src/server/index.js';
import { JWT_SECRET, KEYS, apiKey, authConfig, deliberatingBus, harness, jwtFor, message, type Harness } from './helpers.js';

const OPTS = { clockSkewSec: 30, maxLifetimeSec: 86_400 };
const SECRET = Buffer.from(JWT_SECRET);

describe('JWT HS256 verification', () => {
  const now = Math.floor(Date.now() / 1000);

  it('accepts a well-formed token and returns its claims', () => {
    const token = signJwtHs256({ sub: 'alice', exp: now + 60, iat: now }, SECRET);
    const r = verifyJwtHs256(token, SECRET, OPTS);
    assert.ok(r.ok);
    assert.equal(r.claims.sub, 'alice');
  });

  it('refuses a wrong alg, alg none, a bad signature, expiry, nbf, future iat, excessive lifetime, iss and aud', () => {
    const cases: Array<[string, string, Partial<typeof OPTS & { issuer: string; audience: string }>?]> = [
      [signJwtHs256({ exp: now + 60 }, SECRET, { alg: 'HS512', typ: 'JWT' }), 'unsupported alg'],
      [signJwtHs256({ exp: now + 60 }, SECRET, { alg: 'none' }), 'unsupported alg'],
      [signJwtHs256({ exp: now + 60 }, SECRET, { alg: 'RS256' }), 'unsupported alg'],
      [signJwtHs256({ exp: now + 60 }, 'another-secret-another-secret-0000'), 'bad signature'],
      [signJwtHs256({ exp: now - 31 }, SECRET), 'token expired'],
      [signJwtHs256({ exp: now + 600, nbf: now + 100 }, SECRET), 'token not yet valid'],
      [signJwtHs256({ exp: now + 600, iat: now + 100 }, SECRET), 'token issued in the future'],
      [signJwtHs256({ iat: now }, SECRET), 'token has no exp'],
      [signJwtHs256({ exp: now + 200_000, iat: now }, SECRET), 'token lifetime exceeds the allowed maximum'],
      [signJwtHs256({ exp: now + 60, iss: 'x' }, SECRET), 'wrong issuer', { issuer: 'y' }],
      [signJwtHs256({ exp: now + 60, aud: ['a', 'b'] }, SECRET), 'wrong audience', { audience: 'c' }],
      [`${signJwtHs256({ exp: now + 60 }, SECRET).split('.').slice(0, 2).join('.')}.`, 'bad signature'],
      ['a.b', 'malformed token'],
    ];
    for (const [token, reason, extra] of cases) {
      const r = verifyJwtHs256(token, SECRET, { ...OPTS, ...extra });
      assert.equal(r.ok, false, reason);
      assert.equal(!r.ok && r.reason.startsWith(reason), true, `${reason}: got ${!r.ok ? r.reason : 'ok'}`);
    }
    // Within the skew an expired token still passes.
    assert.ok(verifyJwtHs256(signJwtHs256({ exp: now - 10 }, SECRET), SECRET, OPTS).ok);
  });

  it('property: changing any character of a valid token makes it fail', () => {
    const token = signJwtHs256({ sub: 'alice', exp: now + 60, tenant_id: 'acme' }, SECRET);
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.constantFrom(...'ABCDEFabcdef0123456789-_.x'), (i, ch) => {
        fc.pre(token[i] !== ch);
        const tampered = token.slice(0, i) + ch + token.slice(i + 1);
        const r = verifyJwtHs256(tampered, SECRET, OPTS);
        // Base64url's last character may carry padding bits the decoder ignores; a forgery then is the same token.
        if (r.ok) assert.equal(Buffer.from(tampered.split('.')[2]!, 'base64url').equals(Buffer.from(token.split('.')[2]!, 'base64url')), true);
      }),
      { numRuns: 300 },
    );
  });

  it('property: arbitrary strings never verify and never throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        assert.equal(verifyJwtHs256(s, SECRET, OPTS).ok, false);
      }),
      { numRuns: 500 },
    );
  });

  it('property: a token signed with the right secret verifies iff it is unexpired', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.string({ minLength: 1, maxLength: 20 }), (offset, sub) => {
        const token = signJwtHs256({ sub, exp: now + offset }, SECRET);
        assert.equal(verifyJwtHs256(token, SECRET, { ...OPTS, nowSec: now }).ok, offset + 30 >= 0);
      }),
    );
  });
});

describe('Authenticator', () => {
  it('holds API keys as SHA-256 digests and accepts the configured digest form', () => {
    const auth = new Authenticator({ apiKeys: [{ sha256: sha256Hex('s3cret-key-0123456789'), agentId: 'a', tenantId: 'acme' }] });
    const p = auth.authenticateApiKey('s3cret-key-0123456789');
    assert.ok(!('status' in p));
    assert.equal(p.agentId, 'a');
    assert.equal('status' in auth.authenticateApiKey('s3cret-key-012345678X'), true);
  });

  it('one-time jti for WebSocket authentication; replays refused until the token expires', () => {
    const auth = new Authenticator({ apiKeys: [], jwt: { secret: JWT_SECRET, clockSkewSec: 0, maxLifetimeSec: 3600, oneTimeJti: 'websocket', maxTrackedJti: 4 } });
    const token = jwtFor({ sub: 'alice', tenant_id: 'acme', jti: 'once', iss: undefined, aud: undefined });
    assert.ok(!('status' in auth.authenticateJwt(token, 'websocket')));
    const again = auth.authenticateJwt(token, 'websocket');
    assert.ok('status' in again && again.status === 401);
    assert.match(('status' in again && again.body.error.message) || '', /replay/);
    // Over HTTP the same bearer token may be used repeatedly.
    assert.ok(!('status' in auth.authenticateJwt(token, 'http')));
    assert.equal(auth.stats().replayed, 1);
  });
});

describe('HTTP authentication and authorisation', () => {
  let h: Harness;
  let held: Awaited<ReturnType<typeof deliberatingBus>>;
  before(async () => {
    const d = await deliberatingBus();
    held = d;
    h = await harness(authConfig(), d);
  });
  after(async () => h.close());

  const send = (headers: Record<string, string>, payload: Record<string, unknown>) => h.app.inject({ method: 'POST', url: '/v1/messages', headers, payload });

  it('requires a credential (401 UNAUTHENTICATED) except on open routes', async () => {
    const res = await send({}, message());
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'UNAUTHENTICATED');
    assert.equal((await send(apiKey('wrong-key-0123456789'), message())).statusCode, 401);
    assert.equal((await send({ authorization: 'Basic abc' }, message())).statusCode, 401);
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) assert.equal((await h.app.inject({ method: 'GET', url })).statusCode, 200, url);
  });

  it('an agent sends as itself; fromAgent and tenantId default to the credential', async () => {
    const res = await send(apiKey(KEYS.alice), { toAgent: 'bob', constitutionalHash: message().constitutionalHash, content: { hi: 1 } });
    assert.equal(res.statusCode, 200, res.body);
    const bearer = await send({ authorization: `Bearer ${KEYS.alice}` }, message());
    assert.equal(bearer.statusCode, 200);
    const jwt = await send({ authorization: `Bearer ${jwtFor({ sub: 'alice', tenant_id: 'acme' })}` }, message());
    assert.equal(jwt.statusCode, 200, jwt.body);
  });

  it('forged identity: sending as another agent is 403 IDENTITY_MISMATCH', async () => {
    const res = await send(apiKey(KEYS.alice), message({ fromAgent: 'bob', toAgent: 'alice' }));
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'IDENTITY_MISMATCH');
    const snake = await send(apiKey(KEYS.alice), { from_agent: 'bob', to_agent: 'alice', tenant_id: 'acme', constitutional_hash: message().constitutionalHash, content: {} });
    assert.equal(snake.json().error.code, 'IDENTITY_MISMATCH');
    const viaJwt = await send({ authorization: `Bearer ${jwtFor({ sub: 'mallory', tenant_id: 'evil' })}` }, message());
    assert.equal(viaJwt.statusCode, 403);
  });

  it('cross-tenant: a message into another tenant is refused; other tenants are invisible', async () => {
    const res = await send(apiKey(KEYS.mallory), message({ fromAgent: 'mallory', tenantId: 'acme', toAgent: 'bob' }));
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'TENANT_MISMATCH');
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/agents/bob', headers: apiKey(KEYS.mallory) })).statusCode, 404);
    const list = await h.app.inject({ method: 'GET', url: '/v1/agents', headers: apiKey(KEYS.mallory) });
    assert.deepEqual(
      list.json().agents.map((a: { agentId: string }) => a.agentId),
      ['mallory'],
    );
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/agents?tenantId=acme', headers: apiKey(KEYS.mallory) })).statusCode, 403);
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/agents/bob/messages', headers: apiKey(KEYS.mallory) })).json().error.code, 'IDENTITY_MISMATCH');
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/agents/bob/messages', headers: apiKey(KEYS.alice) })).statusCode, 403);
    const admin = await h.app.inject({ method: 'GET', url: '/v1/agents', headers: apiKey(KEYS.root) });
    assert.equal(admin.json().agents.length, 3);
  });

  it('registry changes need the admin role or the agent itself; configuration needs admin', async () => {
    const bySelf = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.alice), payload: { capabilities: ['x'] } });
    assert.equal(bySelf.statusCode, 201, bySelf.body);
    assert.equal(bySelf.json().agent.agentId, 'alice');
    const other = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.alice), payload: { agentId: 'zed', tenantId: 'acme' } });
    assert.equal(other.statusCode, 403);
    const byAdmin = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.admin), payload: { agentId: 'zed', tenantId: 'acme' } });
    assert.equal(byAdmin.statusCode, 201);
    const adminOtherTenant = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.admin), payload: { agentId: 'zz', tenantId: 'evil' } });
    assert.equal(adminOtherTenant.statusCode, 403);
    const hijack = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.root), payload: { agentId: 'mallory', tenantId: 'acme' } });
    assert.equal(hijack.statusCode, 201, 'root (every tenant) may move an agent');
    await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.root), payload: { agentId: 'mallory', tenantId: 'evil' } });
    const steal = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.admin), payload: { agentId: 'mallory', tenantId: 'acme' } });
    assert.equal(steal.statusCode, 409, 'an id taken in another tenant');
    assert.equal((await h.app.inject({ method: 'DELETE', url: '/v1/agents/zed', headers: apiKey(KEYS.bob) })).statusCode, 403);
    assert.equal((await h.app.inject({ method: 'DELETE', url: '/v1/agents/zed', headers: apiKey(KEYS.admin) })).statusCode, 200);
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/config', headers: apiKey(KEYS.alice) })).statusCode, 403);
    // The configuration (and the journal) span every tenant: a tenant's admin may not read them.
    const scoped = await h.app.inject({ method: 'GET', url: '/v1/config', headers: apiKey(KEYS.admin) });
    assert.equal(scoped.statusCode, 403);
    assert.match(scoped.body, /every tenant/);
    const cfg = await h.app.inject({ method: 'GET', url: '/v1/config', headers: apiKey(KEYS.root) });
    assert.equal(cfg.statusCode, 200);
    assert.doesNotMatch(cfg.body, new RegExp(JWT_SECRET));
    assert.doesNotMatch(cfg.body, new RegExp(KEYS.alice));
  });

  it('expired, badly signed and wrong-alg tokens are 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const tokens = [
      jwtFor({ sub: 'alice', tenant_id: 'acme', iat: now - 1000, exp: now - 100 }),
      jwtFor({ sub: 'alice', tenant_id: 'acme' }, 'not-the-secret-not-the-secret-0000'),
      signJwtHs256({ sub: 'alice', tenant_id: 'acme', exp: now + 60, iss: 'test-issuer', aud: 'agent-bus' }, JWT_SECRET, { alg: 'HS384' }),
      jwtFor({ sub: 'alice', tenant_id: 'acme', aud: 'someone-else' }),
      jwtFor({ sub: 'alice', tenant_id: 'acme', iss: 'someone-else' }),
      jwtFor({ sub: 'alice' }),
    ];
    for (const token of tokens) {
      const res = await send({ authorization: `Bearer ${token}` }, message());
      assert.equal(res.statusCode, 401, token);
      assert.equal(res.json().error.code, 'UNAUTHENTICATED');
    }
    // A hand-made token with a valid signature for different header bytes.
    const [h64, p64] = jwtFor({ sub: 'alice', tenant_id: 'acme' }).split('.');
    const forged = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p64}.${createHmac('sha256', JWT_SECRET).update(`${h64}.${p64}`).digest('base64url')}`;
    assert.equal((await send({ authorization: `Bearer ${forged}` }, message())).statusCode, 401);
  });

  it('deliberation: reviewers of the tenant list and decide; agents and other tenants cannot', async () => {
    const sent = await send(apiKey(KEYS.alice), message({ content: { highImpact: true } }));
    assert.equal(sent.statusCode, 202, sent.body);
    const id = sent.json().deliberationId as string;

    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/deliberations', headers: apiKey(KEYS.alice) })).statusCode, 403);
    const list = await h.app.inject({ method: 'GET', url: '/v1/deliberations', headers: apiKey(KEYS.reviewer) });
    assert.equal(list.statusCode, 200);
    assert.ok(list.json().items.some((i: { id: string }) => i.id === id));
    const theirs = await h.app.inject({ method: 'GET', url: '/v1/deliberations', headers: apiKey(KEYS.otherReviewer) });
    assert.equal(theirs.json().items.length, 0);
    assert.equal((await h.app.inject({ method: 'GET', url: `/v1/deliberations/${id}`, headers: apiKey(KEYS.otherReviewer) })).statusCode, 404);
    const got = await h.app.inject({ method: 'GET', url: `/v1/deliberations/${id}`, headers: apiKey(KEYS.reviewer) });
    assert.equal(got.json().item.status, 'pending');

    const crossApprove = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${id}/approve`, headers: apiKey(KEYS.otherReviewer), payload: { reason: 'sure' } });
    assert.equal(crossApprove.statusCode, 404);
    const agentApprove = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${id}/approve`, headers: apiKey(KEYS.bob), payload: { reason: 'sure' } });
    assert.equal(agentApprove.statusCode, 403);
    assert.equal(agentApprove.json().error.code, 'FORBIDDEN');
    const wrongDigest = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${id}/approve`, headers: apiKey(KEYS.reviewer), payload: { reason: 'ok', messageDigest: 'ab'.repeat(32) } });
    assert.equal(wrongDigest.statusCode, 409);
    assert.equal(wrongDigest.json().error.code, 'DIGEST_MISMATCH');
    const voteNoElection = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${id}/vote`, headers: apiKey(KEYS.bob), payload: { vote: 'approve' } });
    assert.equal(voteNoElection.json().error.code, 'NO_ELECTION');

    const approved = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${id}/approve`, headers: apiKey(KEYS.reviewer), payload: { reason: 'looks fine' } });
    assert.equal(approved.statusCode, 200, approved.body);
    assert.equal(approved.json().item.decisions[0].reviewerId, 'rita');
    const twice = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${id}/reject`, headers: apiKey(KEYS.reviewer), payload: { reason: 'changed my mind' } });
    assert.equal(twice.statusCode, 409);

    // Handed back to the bus exactly once (by whichever release handler the bus wires), and never
    // delivered twice. Whether bob receives it is the bus's release(); see the report.
    for (let i = 0; i < 200 && held.deliberation.get(id)!.status !== 'released'; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((held.deliberation.stats() as { released: number }).released, 1);
    const pulled = (await h.app.inject({ method: 'GET', url: '/v1/agents/bob/messages?max=1000', headers: apiKey(KEYS.bob) })).json().deliveries as Array<{ message: { content: { highImpact?: boolean } } }>;
    assert.ok(pulled.filter((d) => d.message.content.highImpact === true).length <= 1);
    assert.equal(held.deliberation.get(id)!.status, 'released');

    const rejectedSend = await send(apiKey(KEYS.alice), message({ content: { highImpact: true, n: 2 } }));
    const rid = rejectedSend.json().deliberationId as string;
    const rejected = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${rid}/reject`, headers: apiKey(KEYS.root), payload: { reason: 'no' } });
    assert.equal(rejected.statusCode, 200);
    assert.equal(rejected.json().item.status, 'rejected');
    assert.equal((await h.app.inject({ method: 'POST', url: '/v1/deliberations/none/approve', headers: apiKey(KEYS.reviewer), payload: { reason: 'x' } })).statusCode, 404);
  });
});

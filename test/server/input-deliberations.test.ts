/** Deliberation routes: a missing reason, a bad cursor and bad queries; the CLI's decision options. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { deliberations } from '../../src/cli/deliberations.js';
import { config, deliberatingBus, harness, message, type Harness } from './helpers.js';

describe('deliberation routes (dev mode)', () => {
  let h: Harness;
  let ids: string[];
  before(async () => {
    const d = await deliberatingBus();
    h = await harness(config(), d);
    ids = [];
    for (let n = 0; n < 3; n++) {
      const sent = await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message({ content: { highImpact: true, n } }) });
      assert.equal(sent.statusCode, 202, sent.body);
      ids.push(sent.json().deliberationId as string);
    }
  });
  after(async () => h.close());

  for (const kind of ['approve', 'reject'] as const) {
    it(`${kind} without a reason, or with a blank one, answers 400 REASON_REQUIRED as the library does`, async () => {
      for (const payload of [{}, { reason: '' }, { reason: '   ' }]) {
        const res = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${ids[0]}/${kind}`, payload });
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.equal(res.json().error.code, 'REASON_REQUIRED', res.body);
      }
      const noBody = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${ids[0]}/${kind}` });
      assert.equal(noBody.statusCode, 400, 'no body at all');
      assert.equal(noBody.json().error.code, 'REASON_REQUIRED', noBody.body);
      const wrongType = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${ids[0]}/${kind}`, payload: { reason: 5 } });
      assert.equal(wrongType.statusCode, 400);
      assert.equal(wrongType.json().error.message, 'body.reason must be a string');
    });
  }

  it('decision bodies: both spellings of the digest must agree', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${ids[0]}/approve`, payload: { reason: 'ok', messageDigest: 'a'.repeat(64), message_digest: 'b'.repeat(64) } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'INVALID_ARGUMENT');
    assert.match(res.json().error.message, /body\.messageDigest and body\.message_digest/);
  });

  it('pages through the list with nextCursor', async () => {
    const first = await h.app.inject({ method: 'GET', url: '/v1/deliberations?limit=2' });
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json().items.length, 2);
    const cursor = first.json().nextCursor as string;
    const second = await h.app.inject({ method: 'GET', url: `/v1/deliberations?limit=2&cursor=${encodeURIComponent(cursor)}` });
    assert.equal(second.statusCode, 200, second.body);
    assert.deepEqual(
      [...first.json().items, ...second.json().items].map((i: { id: string }) => i.id).sort(),
      [...ids].sort(),
    );
  });

  it('an invalid cursor answers 400 INVALID_ARGUMENT instead of starting again at page 1', async () => {
    for (const bad of ['', 'nope', 'garbage!', Buffer.from('no-colon').toString('base64url'), Buffer.from('abc:id').toString('base64url')]) {
      const res = await h.app.inject({ method: 'GET', url: `/v1/deliberations?limit=2&cursor=${encodeURIComponent(bad)}` });
      assert.equal(res.statusCode, 400, `${bad}: ${res.body}`);
      assert.equal(res.json().error.code, 'INVALID_ARGUMENT');
      assert.match(res.json().error.message, /cursor/);
    }
  });

  it('query errors name the parameter in plain words', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/deliberations?status=bogus' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'INVALID_ARGUMENT');
    assert.match(res.json().error.message, /^query\.status must be one of pending, under_review, /);
    const vote = await h.app.inject({ method: 'POST', url: `/v1/deliberations/${ids[0]}/vote`, payload: { vote: 'maybe', agentId: 'bob' } });
    assert.equal(vote.json().error.message, 'body.vote must be one of approve, reject, abstain');
  });
});

describe('agent-bus deliberations: --roles on approve and reject', () => {
  it('the usage lists --roles for both decisions, and docs/cli.md says the same', () => {
    const line = (sub: string, text: string) => text.split('\n').find((l) => l.startsWith(`agent-bus deliberations ${sub} `)) ?? '';
    const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    for (const sub of ['approve', 'reject']) {
      assert.match(line(sub, deliberations.usage), /\[--roles r1,r2\]/, `usage of ${sub}`);
      assert.equal(line(sub, doc), line(sub, deliberations.usage), `docs/cli.md line of ${sub}`);
    }
  });
});

/**
 * The reviewer dashboard in real Chromium (Debian `chromium`, driven by playwright-core) against a
 * server with the embedded defaults: policy, impact scoring, file journal and file-backed
 * deliberation. A CRITICAL message is held (impact 0.9 → the default `critical_deployment` policy:
 * three approvals covering engineering_lead, security_team and on_call), approved in the page by
 * three reviewers and delivered exactly once; another is rejected in the page and never delivered.
 * A second server with API keys checks the token prompt and a credential-bound decision.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AgentBus } from '../../src/bus.js';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import { Journal, verifyJournal } from '../../src/journal/index.js';
import { journalPort, loadServerConfig, startServer, type RunningServer } from '../../src/server/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts');
const silent = pino({ level: 'silent' });

interface Delivery {
  deliveryId: number;
  attempt: number;
  message: { messageId: string; content: Record<string, unknown> };
}

async function call(base: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(base + url, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * Sends an ordinary message, retrying while the bus sheds load (503 BACKPRESSURE, "retry later"):
 * the shared test machine is often loaded enough for the bus's event-loop-lag shedding to start.
 */
async function sendAccepted(base: string, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  for (let attempt = 0; ; attempt++) {
    const r = await call(base, 'POST', '/v1/messages', body);
    const code = (r.body.error as { code?: string } | undefined)?.code;
    if (r.status !== 503 || code !== 'BACKPRESSURE' || attempt >= 50) return r;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Pulls everything that arrives for `agentId` within waitMs, acknowledging it. */
async function drain(base: string, agentId: string, waitMs: number, headers: Record<string, string> = {}): Promise<Delivery[]> {
  const got: Delivery[] = [];
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    const pull = await call(base, 'GET', `/v1/agents/${agentId}/messages?max=50&waitMs=${Math.max(50, until - Date.now())}&leaseMs=60000`, undefined, headers);
    assert.equal(pull.status, 200, JSON.stringify(pull.body));
    const deliveries = pull.body.deliveries as Delivery[];
    if (deliveries.length === 0) continue;
    got.push(...deliveries);
    const ack = await call(base, 'POST', `/v1/agents/${agentId}/acks`, { deliveryIds: deliveries.map((d) => d.deliveryId) }, headers);
    assert.equal(ack.status, 200);
  }
  return got;
}

/** chromium.launch gives every run a fresh temporary user-data-dir (removed on close). */
function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install the Debian package (apt-get install -y chromium) or set CHROMIUM_PATH. The dashboard end-to-end test needs a real browser and is never skipped.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Console errors and uncaught exceptions of a page. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

async function decide(page: Page, itemId: string, kind: 'Approve' | 'Reject', reason: string, reviewer?: { name: string; roles: string }): Promise<void> {
  if (reviewer !== undefined) {
    await page.getByLabel('Reviewer name (dev mode)').fill(reviewer.name);
    await page.getByLabel('Approver roles, comma-separated (dev mode)').fill(reviewer.roles);
  }
  const item = page.locator(`li[data-item-id="${itemId}"]`);
  await item.getByLabel('Reason (required)').fill(reason);
  await item.getByRole('button', { name: kind, exact: true }).click();
}

const held = (content: Record<string, unknown>) => ({ fromAgent: 'planner', toAgent: 'worker', tenantId: 'acme', constitutionalHash: CONSTITUTIONAL_HASH, priority: 'CRITICAL', content });

describe('reviewer dashboard in Chromium', () => {
  let browser: Browser;

  before(async () => {
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
  });

  it('dev mode: three reviewers approve a held CRITICAL message in the page (delivered once); a rejected one is never delivered', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'agent-bus-e2e-'));
    let server: RunningServer | undefined;
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    context.setDefaultTimeout(10_000);
    try {
      server = await startServer({ config: loadServerConfig({ overrides: { port: 0, dataDir, logLevel: 'silent' } }), handleSignals: false, logger: silent, announce: () => undefined });
      const base = server.url;
      for (const agentId of ['planner', 'worker']) assert.equal((await call(base, 'POST', '/v1/agents', { agentId, tenantId: 'acme' })).status, 201);
      assert.deepEqual(await drain(base, 'worker', 100), []); // opens the worker's delivery session
      const normal = await sendAccepted(base, { ...held({ text: 'status report' }), priority: 'NORMAL' });
      assert.equal(normal.body.status, 'delivered');
      assert.deepEqual((await drain(base, 'worker', 300)).map((d) => d.message.messageId), [normal.body.messageId]);

      const page = await context.newPage();
      const errors = watchErrors(page);
      await page.goto(base + '/');
      await page.getByRole('status').filter({ hasText: 'Live' }).waitFor({ timeout: 10_000 });
      await page.getByText('Dev mode: no authentication').waitFor();

      // Some ordinary traffic, spread over a couple of seconds, for the rates, the chart and the sampled latency.
      const burst: string[] = [];
      for (let i = 0; i < 64; i++) {
        const r = await sendAccepted(base, { ...held({ text: `progress ${i}` }), priority: 'NORMAL' });
        assert.equal(r.body.status, 'delivered', JSON.stringify(r.body));
        burst.push(r.body.messageId as string);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.deepEqual((await drain(base, 'worker', 300)).map((d) => d.message.messageId), burst);
      await page.locator('#lat-p50').filter({ hasNotText: '–' }).waitFor();
      await page.locator('#total-delivered').getByText('65 total').waitFor();

      const approveMe = await call(base, 'POST', '/v1/messages', held({ action: 'deploy payments-api v2.4.1 to production', ticket: 'CHG-1042' }));
      const rejectMe = await call(base, 'POST', '/v1/messages', held({ action: 'delete the production customer database', ticket: 'CHG-1043' }));
      assert.equal(approveMe.status, 202, JSON.stringify(approveMe.body));
      assert.equal(rejectMe.status, 202, JSON.stringify(rejectMe.body));
      const approveId = approveMe.body.deliberationId as string;
      const rejectId = rejectMe.body.deliberationId as string;
      const approveItem = page.locator(`li[data-item-id="${approveId}"]`);
      const rejectItem = page.locator(`li[data-item-id="${rejectId}"]`);
      await approveItem.waitFor({ timeout: 10_000 });
      await rejectItem.waitFor();

      // What a reviewer needs to decide: impact score and factors, policy decision, requirements, content.
      await assert.doesNotReject(approveItem.getByText('critical_deployment').waitFor());
      assert.match(await approveItem.locator('.score-value').innerText(), /^0\.9\d$/);
      for (const factor of ['semantic', 'priority', 'permission']) assert.equal(await approveItem.getByRole('rowheader', { name: factor }).count(), 1);
      assert.match(await approveItem.locator('.policy').innerText(), /permit/i);
      assert.match(await approveItem.locator('pre.content').innerText(), /payments-api v2\.4\.1/);
      assert.match(await page.locator('#tenants').innerText(), /acme/);

      // No reason, no decision.
      await approveItem.getByRole('button', { name: 'Approve', exact: true }).click();
      await approveItem.getByText('A reason is required').waitFor();
      assert.equal(((await call(base, 'GET', `/v1/deliberations/${approveId}`)).body.item as { decisions: unknown[] }).decisions.length, 0);

      await decide(page, approveId, 'Approve', 'Change CHG-1042 reviewed, rollback plan attached', { name: 'erin', roles: 'engineering_lead' });
      await approveItem.getByText('1 of 3 approvals so far').waitFor();
      await page.screenshot({ path: path.join(artifactsDir(), 'dashboard.png'), fullPage: true });

      await decide(page, approveId, 'Approve', 'No security concerns in the diff', { name: 'sam', roles: 'security_team' });
      await approveItem.getByText('2 of 3 approvals so far').waitFor();
      // Still held: nothing delivered before the third approval.
      assert.deepEqual(await drain(base, 'worker', 200), []);
      await decide(page, approveId, 'Approve', 'On call is aware and watching', { name: 'otto', roles: 'on_call' });
      await approveItem.waitFor({ state: 'detached', timeout: 10_000 });

      const delivered = await drain(base, 'worker', 2500);
      const approvedMessageId = approveMe.body.messageId as string;
      assert.equal(delivered.filter((d) => d.message.messageId === approvedMessageId).length, 1, 'the approved message is delivered exactly once');
      assert.equal(delivered.length, 1);
      assert.equal(delivered[0]!.attempt, 1);
      const approved = (await call(base, 'GET', `/v1/deliberations/${approveId}`)).body.item as { status: string; decisions: Array<{ reviewerId: string }> };
      assert.equal(approved.status, 'released');
      assert.deepEqual(approved.decisions.map((d) => d.reviewerId).sort(), ['erin', 'otto', 'sam']);

      await decide(page, rejectId, 'Reject', 'Deleting production data is not allowed', { name: 'sam', roles: 'security_team' });
      await rejectItem.waitFor({ state: 'detached', timeout: 10_000 });
      const rejected = (await call(base, 'GET', `/v1/deliberations/${rejectId}`)).body.item as { status: string };
      assert.equal(rejected.status, 'rejected');
      await page.locator('#queue-status').getByText('No messages are waiting for a decision.').waitFor();
      await page.locator('#activity').getByText('rejected', { exact: false }).first().waitFor();

      // Live metrics reached the page.
      await page.locator('#total-held').getByText('2 total').waitFor();
      assert.match(await page.locator('#health-ready').innerText(), /ready/);

      await page.getByRole('button', { name: 'Verify journal' }).click();
      await page.locator('#journal-result').getByText(/^Intact: /).waitFor({ timeout: 10_000 });

      assert.deepEqual(await drain(base, 'worker', 1000), [], 'nothing more arrives: no redelivery, no rejected message');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await server?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('with API keys: the page asks for a token, streams with the bearer header, and records the decision under the credential', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'agent-bus-e2e-auth-'));
    const keys = { planner: 'planner-key-0123456789abcdef', worker: 'worker-key-0123456789abcdef0', reviewer: 'reviewer-key-0123456789abcd', admin: 'admin-key-0123456789abcdef00' };
    const config = loadServerConfig({
      overrides: {
        port: 0,
        dataDir,
        logLevel: 'silent',
        auth: {
          apiKeys: [
            { key: keys.planner, agentId: 'planner', tenantId: 'acme', roles: ['agent'] },
            { key: keys.worker, agentId: 'worker', tenantId: 'acme', roles: ['agent'] },
            { key: keys.reviewer, name: 'rita', tenantId: 'acme', roles: ['reviewer'], approverRoles: ['security_team'] },
            { key: keys.admin, name: 'ops', tenantId: '*', roles: ['admin'] },
          ],
        },
      },
    });
    // The embedded defaults, except that critical_deployment needs one security_team approval here.
    const components = async () => {
      const bus = new AgentBus({ dataDir, deliberation: { policies: [{ id: 'critical_deployment', requiredRoles: ['security_team'], minApprovers: 1 }] } });
      await bus.start();
      assert.ok(bus.journal instanceof Journal);
      return { bus, deliberation: bus.deliberation, journal: journalPort(bus.journal, path.join(dataDir, 'journal'), verifyJournal) };
    };
    let server: RunningServer | undefined;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(10_000);
    try {
      server = await startServer({ config, components, handleSignals: false, logger: silent, announce: () => undefined });
      const base = server.url;
      const as = (key: string) => ({ 'x-api-key': key });
      assert.equal((await call(base, 'POST', '/v1/agents', { agentId: 'planner', tenantId: 'acme' }, as(keys.admin))).status, 201);
      assert.equal((await call(base, 'POST', '/v1/agents', { agentId: 'worker', tenantId: 'acme' }, as(keys.admin))).status, 201);
      assert.deepEqual(await drain(base, 'worker', 100, as(keys.worker)), []);

      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(base + '/');
      await page.getByRole('status').filter({ hasText: 'Not signed in' }).waitFor({ timeout: 10_000 });
      await page.getByRole('alert').getByText('requires authentication').waitFor();

      await page.getByLabel('Access token (API key or JWT)').fill('not-a-valid-key-0000000000');
      await page.getByRole('button', { name: 'Use token' }).click();
      await page.getByRole('alert').getByText('The token was refused').waitFor();

      await page.getByLabel('Access token (API key or JWT)').fill(keys.reviewer);
      await page.getByRole('button', { name: 'Use token' }).click();
      await page.getByRole('status').filter({ hasText: 'Live' }).waitFor({ timeout: 10_000 });
      await page.getByText('Signed in as rita').waitFor();
      assert.equal(await page.getByLabel('Reviewer name (dev mode)').isVisible(), false);

      const sent = await call(base, 'POST', '/v1/messages', held({ action: 'rotate the production signing keys' }), as(keys.planner));
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const itemId = sent.body.deliberationId as string;
      await page.locator(`li[data-item-id="${itemId}"]`).waitFor({ timeout: 10_000 });
      await decide(page, itemId, 'Approve', 'Key rotation scheduled and announced');
      await page.locator(`li[data-item-id="${itemId}"]`).waitFor({ state: 'detached', timeout: 10_000 });

      const delivered = await drain(base, 'worker', 2000, as(keys.worker));
      assert.deepEqual(delivered.map((d) => d.message.messageId), [sent.body.messageId]);
      const item = (await call(base, 'GET', `/v1/deliberations/${itemId}`, undefined, as(keys.reviewer))).body.item as { decisions: Array<{ reviewerId: string; roles: string[] }> };
      assert.deepEqual(item.decisions.map((d) => [d.reviewerId, d.roles]), [['rita', ['security_team']]]);
      assert.equal(await page.locator('#journal-state').innerText(), 'Needs the admin role');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await server?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

function artifactsDir(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

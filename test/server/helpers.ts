import { WebSocket } from 'ws';
import pino from 'pino';
import { AgentBus } from '../../src/bus.js';
import { DeliberationService, MemoryDeliberationStore } from '../../src/deliberation/index.js';
import { hold, PROCEED } from '../../src/governance/verdict.js';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import type { AgentMessage } from '../../src/message/schema.js';
import { buildServer, loadServerConfig, signJwtHs256, type AgentBusServer, type ServerConfig } from '../../src/server/index.js';

export const HASH = CONSTITUTIONAL_HASH;
export const JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';
export const silent = pino({ level: 'silent' });

/** Keys used by the authenticated fixtures (plain text here; the config holds them hashed). */
export const KEYS = {
  alice: 'alice-key-0123456789abcdef',
  bob: 'bob-key-0123456789abcdef00',
  mallory: 'mallory-key-0123456789abcd',
  reviewer: 'reviewer-key-0123456789abc',
  otherReviewer: 'other-reviewer-key-012345',
  admin: 'admin-key-0123456789abcdef',
  root: 'root-key-0123456789abcdef0',
} as const;

export function config(overrides: Record<string, unknown> = {}): ServerConfig {
  return loadServerConfig({ overrides: { logLevel: 'silent', ...overrides } });
}

export function authConfig(overrides: Record<string, unknown> = {}): ServerConfig {
  return config({
    auth: {
      apiKeys: [
        { key: KEYS.alice, agentId: 'alice', tenantId: 'acme', roles: ['agent'] },
        { key: KEYS.bob, agentId: 'bob', tenantId: 'acme', roles: ['agent'] },
        { key: KEYS.mallory, agentId: 'mallory', tenantId: 'evil', roles: ['agent'] },
        { key: KEYS.reviewer, name: 'rita', tenantId: 'acme', roles: ['reviewer'] },
        { key: KEYS.otherReviewer, name: 'eve', tenantId: 'evil', roles: ['reviewer'] },
        { key: KEYS.admin, name: 'acme-admin', tenantId: 'acme', roles: ['admin'] },
        { key: KEYS.root, name: 'root', tenantId: '*', roles: ['admin', 'reviewer'] },
      ],
      jwt: { secret: JWT_SECRET, issuer: 'test-issuer', audience: 'agent-bus' },
    },
    ...overrides,
  });
}

export function jwtFor(claims: Record<string, unknown>, secret = JWT_SECRET): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwtHs256({ iss: 'test-issuer', aud: 'agent-bus', iat: now, exp: now + 300, ...claims }, secret);
}

export function message(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { fromAgent: 'alice', toAgent: 'bob', tenantId: 'acme', constitutionalHash: HASH, content: { text: 'hello' }, ...fields };
}

/** A bus whose messages with content.highImpact are held for deliberation (policy "one": one approval). */
export async function deliberatingBus(): Promise<{ bus: AgentBus; deliberation: DeliberationService; released: AgentMessage[] }> {
  const deliberation = await DeliberationService.open({ store: new MemoryDeliberationStore(), policies: [{ id: 'one', requiredRoles: [], minApprovers: 1 }] });
  const bus = new AgentBus({
    deliberation,
    stages: [{ name: 'impact-test', evaluate: (m) => (m.content.highImpact === true ? hold('high impact', { approvalPolicy: 'one' }) : PROCEED) }],
  });
  const released: AgentMessage[] = [];
  deliberation.onRelease(async (item) => {
    released.push(item.message);
    await bus.release(item.message);
  });
  return { bus, deliberation, released };
}

export interface Harness {
  app: AgentBusServer;
  bus: AgentBus;
  close(): Promise<void>;
}

/** A server around a fresh bus with alice, bob (acme) and mallory (evil) registered. */
export async function harness(cfg: ServerConfig = config(), extra: { bus?: AgentBus; deliberation?: DeliberationService } = {}): Promise<Harness> {
  const bus = extra.bus ?? new AgentBus();
  await bus.start();
  await bus.registerAgent({ agentId: 'alice', tenantId: 'acme' });
  await bus.registerAgent({ agentId: 'bob', tenantId: 'acme', capabilities: ['summarise'] });
  await bus.registerAgent({ agentId: 'mallory', tenantId: 'evil' });
  const app = await buildServer({ config: cfg, bus, logger: silent, deliberation: extra.deliberation });
  return {
    app,
    bus,
    async close() {
      await app.close();
      await bus.stop();
      app.busContext.sessions.closeAll();
      await extra.deliberation?.close();
    },
  };
}

export function apiKey(key: string): Record<string, string> {
  return { 'x-api-key': key };
}

// ---- WebSocket client helpers ------------------------------------------------------------

export interface WsClient {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  next(predicate?: (f: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(frame: Record<string, unknown>): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export function connect(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const ws = new WebSocket(url, { headers });
  const frames: Record<string, unknown>[] = [];
  const waiters: Array<{ predicate: (f: Record<string, unknown>) => boolean; resolve: (f: Record<string, unknown>) => void }> = [];
  let consumed = 0;
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Record<string, unknown>;
    frames.push(frame);
    for (let i = 0; i < waiters.length; i++) {
      if (waiters[i]!.predicate(frame)) {
        const [w] = waiters.splice(i, 1);
        w!.resolve(frame);
        return;
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const client: WsClient = {
    ws,
    frames,
    next(predicate = () => true, timeoutMs = 3000) {
      for (let i = consumed; i < frames.length; i++) {
        if (predicate(frames[i]!)) {
          const f = frames[i]!;
          frames.splice(i, 1);
          return Promise.resolve(f);
        }
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`)), timeoutMs);
        waiters.push({
          predicate,
          resolve: (f) => {
            clearTimeout(timer);
            const i = frames.indexOf(f);
            if (i >= 0) frames.splice(i, 1);
            resolve(f);
          },
        });
      });
    },
    send(frame) {
      ws.send(JSON.stringify(frame));
    },
    closed,
    async close() {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
      await closed;
    },
  };
  consumed = 0;
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

export const type = (t: string) => (f: Record<string, unknown>) => f.type === t;

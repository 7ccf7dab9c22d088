import { lookup } from 'node:dns/promises';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { AgentBus } from '../bus.js';
import { ErrorCode, isBusError } from '../errors.js';
import { Journal, verifyJournal } from '../journal/index.js';
import type { AgentMessage } from '../message/schema.js';
import { buildServer, type AgentBusServer } from './app.js';
import { isLoopback, type ServerConfig } from './config.js';
import type { DeliberationPort, JournalPort } from './ports.js';

/** What the serve command runs: the bus and the optional components the lead wires in. */
export interface ServeComponents {
  bus: AgentBus;
  deliberation?: DeliberationPort;
  journal?: JournalPort;
  /** Called after the bus stopped (flush and close the journal, the deliberation store...). */
  close?: () => Promise<void>;
}

export interface ServeOptions {
  config: ServerConfig;
  /** Builds the components; default: an AgentBus with the embedded defaults from config.bus. */
  components?: (config: ServerConfig, log: Logger) => Promise<ServeComponents>;
  logger?: Logger;
  /** Handle SIGTERM / SIGINT (default true). */
  handleSignals?: boolean;
  /** Where the startup line goes (default stdout). */
  announce?: (line: string, info: { url: string; auth: boolean; dataDir: string }) => void;
}

export interface RunningServer {
  app: AgentBusServer;
  url: string;
  /** Stops accepting, drains, writes what was not delivered, closes the components. Idempotent. */
  stop(reason?: string): Promise<ShutdownReport>;
}

export interface ShutdownReport {
  /**
   * Messages accepted but never acknowledged: kept in the delivery ledger (delivered again after
   * the next start) when the bus has one, otherwise written to `spoolFile`.
   */
  undelivered: number;
  spoolFile: string | undefined;
  /** True when the bus had a delivery ledger: nothing was spooled. */
  ledger: boolean;
}

/**
 * The server did not start, for a reason its message says in one line: the configuration's fault
 * (`config`: agent-bus serve exits 78) or the system's (`unavailable`, e.g. the port is taken: 69).
 */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly kind: 'config' | 'unavailable',
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StartupError';
  }
}

export class BindRefusedError extends StartupError {
  constructor(host: string) {
    super(
      `refusing to serve ${host} without authentication: configure auth.apiKeys or auth.jwt, bind to 127.0.0.1, or start with --insecure (anyone who can reach ${host} could then act as any agent)`,
      'config',
    );
    this.name = 'BindRefusedError';
  }
}

/** `::1` → `[::1]:8080`, as a URL writes it. */
function hostAndPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Why a host cannot be listened on, by error code (from the DNS lookup or listen()). */
const LISTEN_FAILURES: Readonly<Record<string, string>> = Object.freeze({
  EADDRINUSE: 'another process already listens on that address and port',
  EACCES: 'permission denied, ports below 1024 need privileges',
  EADDRNOTAVAIL: 'the address is not one of this machine\'s',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved: temporary DNS failure',
  EAI_FAIL: 'the host name could not be resolved: DNS failure',
});

/** A StartupError for a known listen or lookup failure on `address`; the error itself otherwise. */
function listenFailure(error: unknown, address: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const why = code === undefined ? undefined : LISTEN_FAILURES[code];
  return why === undefined ? error : new StartupError(`cannot listen on ${address}: ${why} (${code})`, 'unavailable', { cause: error });
}

/** Fails before anything is started or written when the host name does not resolve. */
async function resolveHost(host: string): Promise<void> {
  try {
    await lookup(host);
  } catch (error) {
    throw listenFailure(error, host);
  }
}

/** A data directory that cannot be created is the configuration's fault. */
function prepareDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw dataDirFailure(error, dataDir) ?? error;
  }
}

/** Why the data directory, or a file or directory the components make in it, cannot be used. */
const DATA_DIR_FAILURES: Readonly<Record<string, string>> = Object.freeze({
  EEXIST: 'it exists and is not a directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
});

/** A configuration StartupError for a file-system error on a path in `dataDir`; undefined for any other error. */
function dataDirFailure(error: unknown, dataDir: string): StartupError | undefined {
  const { code, path: where } = (error ?? {}) as NodeJS.ErrnoException;
  const why = code === undefined ? undefined : DATA_DIR_FAILURES[code];
  if (why === undefined) return undefined;
  const inDataDir = where === undefined || where === dataDir || where.startsWith(dataDir + path.sep);
  if (!inDataDir) return undefined;
  const subject = where === undefined || where === dataDir ? '' : ` (${JSON.stringify(where)})`;
  return new StartupError(`dataDir ${JSON.stringify(dataDir)} cannot be used${subject}: ${why} (${code})`, 'config', { cause: error });
}

/**
 * Starts the components. A CONFLICT from the bus is a StartupError: the journal in the data
 * directory is held by another running server, or needs repair first (the message says which);
 * so is a file-system error on a path in the data directory (a file where a directory belongs,
 * no permission): the configuration's fault.
 */
async function startComponents(options: ServeOptions, log: Logger, dataDir: string): Promise<ServeComponents> {
  try {
    return await (options.components ?? defaultComponents)(options.config, log);
  } catch (error) {
    if (isBusError(error) && error.code === ErrorCode.CONFLICT) throw new StartupError(`cannot start the bus: ${error.message}`, 'unavailable', { cause: error });
    throw dataDirFailure(error, dataDir) ?? error;
  }
}

/**
 * The embedded defaults: the bus with its default governance (default constitution, fastText
 * impact scoring), the file journal, the file-backed deliberation store and (unless
 * `delivery.ledger` is false) the delivery ledger under the data directory.
 */
export async function defaultComponents(config: ServerConfig): Promise<ServeComponents> {
  const dataDir = path.resolve(config.dataDir);
  const bus = new AgentBus({
    inboxCapacity: config.bus.inboxCapacity,
    drainTimeoutMs: config.bus.drainTimeoutMs,
    requestTimeoutMs: config.bus.requestTimeoutMs,
    maxAgents: config.bus.maxAgents,
    dataDir,
    deliveryLedger: config.delivery.ledger ? {} : false,
    chaos: config.chaos.enabled ? { enabled: true, allowInProduction: config.chaos.allowInProduction, maxDurationMs: config.chaos.maxDurationMs } : undefined,
  });
  await bus.start();
  const journal = bus.journal;
  return {
    bus,
    deliberation: bus.deliberation,
    journal: journal instanceof Journal ? fileJournalPort(journal, path.join(dataDir, 'journal')) : undefined,
  };
}

/** Verifies up to the head sealed by a flush, so a batch written during the read is not taken for a torn tail. */
function fileJournalPort(journal: Journal, dir: string): JournalPort {
  return {
    stats: () => journal.stats() as unknown as Record<string, unknown>,
    tail: async (n) => (await journal.tail(n)) as unknown as ReadonlyArray<Record<string, unknown>>,
    verify: async () => {
      await journal.flush();
      const head = journal.stats().head;
      return (await verifyJournal(dir, { stopAtSeq: head.seq, expectHead: head })) as unknown as { ok: boolean } & Record<string, unknown>;
    },
  };
}

/**
 * Starts the server: refuses an unauthenticated non-loopback bind (unless `insecure`), listens,
 * prints where the API and the dashboard are, and handles SIGTERM/SIGINT with an orderly stop:
 * stop accepting (listener closed, long polls answered, WebSockets closed with 1001, in-flight
 * requests finished), bus.stop() (in-flight sends and handlers drained, metering and journal
 * flushed), then every message still held for an agent is counted in the log and either left in
 * the delivery ledger (delivered again after the next start) or, without a ledger, written to
 * `<dataDir>/undelivered-<time>.jsonl`; the process exits 0.
 *
 * A start that fails for a reason the operator can fix (bind refused, host name that does not
 * resolve, unusable or busy data directory, address in use) throws a StartupError, after
 * stopping whatever had started.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { config } = options;
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'agent-bus' } }, pino.destination(2));
  const authConfigured = config.auth.apiKeys.length > 0 || config.auth.jwt !== undefined;
  if (!authConfigured && !isLoopback(config.host) && !config.insecure) throw new BindRefusedError(config.host);
  await resolveHost(config.host);

  const dataDir = path.resolve(config.dataDir);
  prepareDataDir(dataDir);
  const components = await startComponents(options, log, dataDir);
  let app: AgentBusServer;
  try {
    app = await buildServer({ config, bus: components.bus, deliberation: components.deliberation, journal: components.journal, logger: log });
  } catch (error) {
    // Releases what the components hold (the journal lock, the ledger) before the error is reported.
    try {
      await components.bus.stop();
      await components.close?.();
    } catch (stopError) {
      log.error({ err: stopError }, 'stopping after a failed start failed');
    }
    throw error;
  }
  let stopping: Promise<ShutdownReport> | undefined;
  // Silenced when a failed start is undone: its one-line error is the whole report.
  let lifecycle: Logger = log;
  const stop = (reason = 'stop requested'): Promise<ShutdownReport> => {
    stopping ??= (async () => {
      lifecycle.info({ reason }, 'server stopping');
      const ctx = app.busContext;
      const ledger = components.bus.deliveryLedger() !== undefined;
      ctx.state.shuttingDown = true;
      await app.close();
      await components.bus.stop();
      // Settles nothing: with a ledger, what the sessions held stays open in it.
      const left = ctx.sessions.closeAll();
      if (ledger) {
        let undelivered = left.reduce((n, a) => n + a.messages.length, 0);
        for (const agent of await components.bus.listAgents()) undelivered += components.bus.pending(agent.agentId);
        if (undelivered > 0) log.warn({ undelivered }, 'messages accepted but not acknowledged stay in the delivery ledger; they are delivered again when their agents return after a restart');
        await components.close?.();
        lifecycle.info({ undelivered }, 'server stopped');
        log.flush?.();
        return { undelivered, spoolFile: undefined, ledger };
      }
      for (const agent of await components.bus.listAgents()) {
        if (ctx.sessions.get(agent.agentId) !== undefined || components.bus.pending(agent.agentId) === 0) continue;
        const messages: AgentMessage[] = [];
        let m: AgentMessage | null;
        while ((m = await components.bus.receive(agent.agentId)) !== null) messages.push(m);
        if (messages.length > 0) left.push({ agentId: agent.agentId, tenantId: agent.tenantId, messages });
      }
      const undelivered = left.reduce((n, a) => n + a.messages.length, 0);
      let spoolFile: string | undefined;
      if (undelivered > 0) {
        spoolFile = path.join(dataDir, `undelivered-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
        const lines = left.flatMap((a) => a.messages.map((message) => JSON.stringify({ agentId: a.agentId, tenantId: a.tenantId, message })));
        writeFileSync(spoolFile, lines.join('\n') + '\n');
        log.warn({ undelivered, spoolFile }, 'messages accepted but not acknowledged were written to the spool file');
      }
      await components.close?.();
      lifecycle.info({ undelivered }, 'server stopped');
      log.flush?.();
      return { undelivered, spoolFile, ledger };
    })();
    return stopping;
  };

  const removeSignalHandlers = options.handleSignals === false ? () => undefined : stopOnSignals(stop, log);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    removeSignalHandlers();
    lifecycle = log.child({}, { level: 'warn' });
    // Releases what the components hold (the journal lock, the ledger) before the error is reported.
    await stop('cannot listen').catch((stopError: unknown) => log.error({ err: stopError }, 'stopping after a failed listen failed'));
    throw listenFailure(error, hostAndPort(config.host, config.port));
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${hostAndPort(config.host, port)}`;
  const mode = authConfigured ? 'authentication on' : config.insecure && !isLoopback(config.host) ? 'INSECURE: no authentication on a non-loopback address' : 'dev mode: no authentication, identities are taken from requests as stated';
  (options.announce ?? ((line) => process.stdout.write(line + '\n')))(
    `agent-bus listening on ${url} — API ${url}/v1 (OpenAPI ${url}/openapi.json), dashboard ${url}/, metrics ${url}/metrics — ${mode}`,
    { url, auth: authConfigured, dataDir },
  );
  log.info({ url, dataDir, auth: authConfigured, insecure: config.insecure }, 'server started');

  return { app, url, stop };
}

/** SIGTERM / SIGINT stop the server and exit; returns a function that removes the handlers. */
function stopOnSignals(stop: (reason: string) => Promise<ShutdownReport>, log: Logger): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        log.fatal({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

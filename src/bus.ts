import { BusError, ErrorCode, errorText, RejectionCode } from './errors.js';
import path from 'node:path';
import { DeliveryLedger, type DeliveryLedgerStats } from './delivery/ledger.js';
import { DeliveryManager } from './delivery/manager.js';
import type { DeliveryOutcome, MessageHandler, SubscribeOptions } from './delivery/mailbox.js';
import { StaticHashAuthority, type HashAuthority } from './governance/hash-authority.js';
import { GovernancePipeline } from './governance/pipeline.js';
import type { GovernanceContext, GovernanceStage } from './governance/stage.js';
import { DuplicateWindow, FreshnessStage, type DuplicateWindowOptions } from './governance/stages/freshness.js';
import { checkPin } from './governance/stages/pin.js';
import { DEFAULT_SCREEN_PATTERNS, ScreenStage, type ScreenPattern } from './governance/stages/screen.js';
import { TenantStage } from './governance/stages/tenant.js';
import { isThenable, reject, type Hold, type Reject, type Verdict } from './governance/verdict.js';
import { assembleGovernance, checkGovernanceOptions, type Governance, type GovernanceOptions } from './assembly.js';
import type { DeliberationItem, DeliberationService } from './deliberation/index.js';
import type { ConstitutionManager } from './policy/index.js';
import { exactContentBytes } from './message/content.js';
import { CONSTITUTIONAL_HASH, DEFAULT_LIMITS, type MessageLimits } from './message/constants.js';
import type { AgentMessage, MessageInput } from './message/schema.js';
import { normalizeTenantId } from './message/tenant.js';
import { MessageBuilder } from './message/validate.js';
import { MetricsCollector, type BusMetrics } from './metrics/collector.js';
import { LatencyHistogram, nowNs } from './metrics/latency.js';
import { checkMeteringOptions, MeteringQueue, type MeteringOptions } from './metering/queue.js';
import { MeteredOperation, type MeteringSink } from './metering/types.js';
import { UsageAggregator, type UsageBucket } from './metering/usage-sink.js';
import { InMemoryAgentRegistry } from './registry/memory.js';
import type { AgentRegistry } from './registry/registry.js';
import type { AgentQuery, AgentRecord, AgentRegistration } from './registry/types.js';
import { ReplyTracker, type PendingReply, type ReplyEnd } from './routing/replies.js';
import { Router, type BroadcastFilter } from './routing/router.js';
import { Priority } from './message/constants.js';
import type { ChaosOptions } from './resilience/chaos.js';
import { Resilience, type HealthReport, type ResilienceOptions } from './resilience/resilience.js';
import type { LoadShedder, ShedDecision } from './resilience/shedding.js';

export type SendStatus = 'delivered' | 'rejected' | 'held';

export interface SendResult {
  /** True when the message was delivered (or held) and no recipient failed. */
  ok: boolean;
  status: SendStatus;
  /**
   * The message's id (generated when the input had none). A message refused before it was built
   * (bad pin, schema, stopping bus) keeps the input's messageId when that was a string of at most
   * 128 characters, else has ''.
   */
  messageId: string;
  code?: RejectionCode;
  reason?: string;
  /** Agents the message was handed to. */
  recipients: string[];
  lane?: 'fast' | 'deliberation';
  deliberationId?: string;
  /** Recipients whose delivery failed (BACKPRESSURE, HANDLER_FAILED, TIMEOUT, ...). */
  failures?: DeliveryOutcome[];
  /** On request(): the response whose correlationId matched. */
  reply?: AgentMessage;
  /** Facts stages left (impact score, policy decision, matched pattern, ...). */
  details?: Record<string, unknown>;
}

export interface SendOptions {
  /**
   * Wait until every push recipient's handler settled and report HANDLER_FAILED / TIMEOUT per
   * recipient. Default false: the result is ready when the message is in every recipient's
   * mailbox or handler (handler failures are then counted, journaled and reported to
   * onDeliveryFailure listeners).
   */
  awaitDelivery?: boolean;
}

/** A decision record the bus hands to the journal. */
export interface DecisionRecord {
  /** 'message.delivered' | 'message.rejected' | 'message.held' | 'message.released' | 'delivery.failed' | 'deliberation.<event>' */
  type: string;
  at: number;
  messageId?: string;
  tenantId?: string;
  fromAgent?: string;
  toAgent?: string;
  recipients?: string[];
  code?: string;
  reason?: string;
  constitutionalHash?: string;
  /**
   * Read-only: the same frozen object is handed out for every message a cached policy decision
   * allowed (and the journal encodes it once). A sink that needs to change it copies it first.
   */
  details?: Readonly<Record<string, unknown>>;
  message?: AgentMessage;
}

/** Where decisions are recorded (the governance journal implements this). */
export interface DecisionSink {
  /** Synchronous and cheap; false when the sink cannot take more right now. */
  append(record: DecisionRecord): boolean;
  readonly writable?: boolean;
  flush?(): Promise<void>;
}

/** Receives held messages (the deliberation service implements this). */
export interface HoldHandler {
  hold(request: { message: AgentMessage; reason: string; details?: Record<string, unknown>; annotations: Record<string, unknown> }): { deliberationId: string } | Promise<{ deliberationId: string }>;
}

export interface AgentBusOptions extends GovernanceOptions {
  /** The active constitutional hash (default cdd01ef066bc6cf2). */
  constitutionalHash?: string;
  /** Further hashes accepted during a rotation. */
  acceptedHashes?: readonly string[];
  /** Replaces the two options above (e.g. a constitution manager with rotation windows). */
  hashAuthority?: HashAuthority;
  limits?: Partial<MessageLimits>;
  registry?: AgentRegistry;
  /** With the built-in registry: most agents kept, the stalest evicted beyond (default unbounded). */
  maxAgents?: number;
  /** Extra governance stages, run in order after the built-in ones (pin, schema, freshness, tenant, screen) and before policy and impact. */
  stages?: readonly GovernanceStage[];
  /** The content screen: on by default; false turns it off; or custom patterns. */
  screen?: boolean | { patterns: readonly ScreenPattern[] };
  duplicateWindow?: DuplicateWindowOptions;
  /** Messages one agent's inbox holds before BACKPRESSURE (default 10,000). */
  inboxCapacity?: number;
  /** An async handler that has not settled after this long is timed out (default 30,000 ms). */
  handlerTimeoutMs?: number;
  /** request() deadline when the call names none (default 30,000 ms). */
  requestTimeoutMs?: number;
  /** Metering: on by default with an in-memory per-tenant hourly usage sink; false turns it off. */
  metering?: false | (Partial<Omit<MeteringOptions, 'sink'>> & { sink?: MeteringSink });
  /** Time one message in N for per-stage latency (default 16; 1 times every message). */
  timingSampleEvery?: number;
  /** How long stop() waits for in-flight sends and handlers (default 5,000 ms). */
  drainTimeoutMs?: number;
  /**
   * Breakers, health, recovery, load shedding and chaos: a Resilience you built (to wrap your own
   * dependencies with it first), options for the bus's own, or false for none (default: on).
   */
  resilience?: Resilience | ResilienceOptions | false;
  /** Fault injection (shorthand for resilience.chaos); refused unless { enabled: true }. */
  chaos?: ChaosOptions;
  /**
   * Crash safety for accepted messages: a write-ahead delivery ledger in `dir` (default
   * `<dataDir>/delivery`). After a SIGKILL, messages accepted but not yet handled (or taken, or
   * settled by an explicit-settle subscriber) go back into their agent's mailbox when the agent's
   * mailbox is next opened. The file is compacted after `compactAfterBytes` (default 64 MiB) of
   * appended lines. Default off.
   */
  deliveryLedger?: false | { dir?: string; compactAfterBytes?: number };
  clock?: () => number;
}

type DeliveryFailureListener = (event: { agentId: string; message: AgentMessage; code: RejectionCode; reason: string }) => void;

interface ProcessRequest {
  mode: 'send' | 'broadcast';
  filter: BroadcastFilter | undefined;
  awaitDelivery: boolean;
  replyTimeoutMs: number;
  /** A message released by deliberation: its id is already in the duplicate window since it was held. */
  released: boolean;
}

const SEND: ProcessRequest = { mode: 'send', filter: undefined, awaitDelivery: false, replyTimeoutMs: 0, released: false };
const SEND_AWAIT: ProcessRequest = { mode: 'send', filter: undefined, awaitDelivery: true, replyTimeoutMs: 0, released: false };

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw invalidOption(`${name} must be a positive integer (got ${String(value)})`);
  return v;
}

/**
 * The governed agent bus. Every message passes the pin check, the schema, then the governance
 * stages (freshness, tenant, screen, and any added ones such as policy and impact); a message that
 * proceeds is routed and handed to its recipients' mailboxes, a held one goes to deliberation, a
 * refused one comes back as a result with a stable code. The send path is synchronous until a
 * stage or a handler is really asynchronous.
 */
export class AgentBus {
  readonly registry: AgentRegistry;
  private authority: HashAuthority;
  private readonly explicitAuthority: boolean;
  private readonly builder: MessageBuilder;
  private pipeline: GovernancePipeline;
  private readonly coreStages: readonly GovernanceStage[];
  private readonly governanceOptions: GovernanceOptions;
  private governance: Governance | undefined;
  private readonly seen: DuplicateWindow;
  private readonly delivery: DeliveryManager;
  private readonly replies = new ReplyTracker();
  private readonly router: Router;
  private readonly metricsCollector = new MetricsCollector();
  private readonly metering: MeteringQueue | undefined;
  private readonly usageSink: UsageAggregator | undefined;
  private journalSink: DecisionSink | undefined;
  private holdHandler: HoldHandler | undefined;
  private readonly clock: () => number;
  private readonly timingMask: number;
  private readonly requestTimeoutMs: number;
  private readonly drainTimeoutMs: number;
  private readonly failureListeners: DeliveryFailureListener[] = [];
  private readonly resilienceKit: Resilience | undefined;
  private readonly ledgerDir: string | undefined;
  private readonly ledgerCompactAfterBytes: number | undefined;
  private readonly shedder: LoadShedder | undefined;
  private sequence = 0;
  private running = false;
  private stopping = false;
  private startedAt: number | undefined;
  private asyncInFlight = 0;
  private stopPromise: Promise<void> | undefined;
  private startPromise: Promise<void> | undefined;

  constructor(options: AgentBusOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidOption('options must be an object');
    if (options.clock !== undefined && typeof options.clock !== 'function') throw invalidOption('clock must be a function returning epoch milliseconds');
    this.clock = options.clock ?? Date.now;
    if (options.constitutionalHash !== undefined && (typeof options.constitutionalHash !== 'string' || options.constitutionalHash === '')) {
      throw invalidOption('constitutionalHash must be a non-empty string');
    }
    if (options.acceptedHashes !== undefined && (!Array.isArray(options.acceptedHashes) || !options.acceptedHashes.every((h) => typeof h === 'string' && h !== ''))) {
      throw invalidOption('acceptedHashes must be an array of non-empty strings');
    }
    this.explicitAuthority = options.hashAuthority !== undefined || options.constitutionalHash !== undefined || options.acceptedHashes !== undefined;
    this.authority = options.hashAuthority ?? new StaticHashAuthority(options.constitutionalHash ?? CONSTITUTIONAL_HASH, options.acceptedHashes ?? []);
    if (typeof this.authority.accepts !== 'function' || typeof this.authority.activeHash !== 'string') {
      throw invalidOption('hashAuthority must have activeHash and accepts(hash, now)');
    }
    const limits: MessageLimits = { ...DEFAULT_LIMITS, ...options.limits };
    for (const [name, value] of Object.entries(limits)) positiveInt(`limits.${name}`, value as number, 1);
    this.builder = new MessageBuilder(limits);
    this.registry = options.registry ?? new InMemoryAgentRegistry({ maxAgents: options.maxAgents ?? 0, clock: this.clock });
    try {
      this.seen = new DuplicateWindow(options.duplicateWindow, this.clock());
    } catch (error) {
      throw invalidOption((error as Error).message);
    }
    this.resilienceKit = createResilience(options);
    const ledger = options.deliveryLedger;
    if (ledger !== undefined && ledger !== false) {
      if (typeof ledger !== 'object' || ledger === null) throw invalidOption('deliveryLedger must be false or { dir }');
      const dir = ledger.dir ?? (options.dataDir === undefined ? undefined : path.join(options.dataDir, 'delivery'));
      if (typeof dir !== 'string' || dir === '') throw invalidOption('deliveryLedger needs a dir (or dataDir)');
      const compact = ledger.compactAfterBytes;
      if (compact !== undefined && (!Number.isInteger(compact) || compact < 4096)) throw invalidOption('deliveryLedger.compactAfterBytes must be an integer >= 4096');
      this.ledgerDir = dir;
      this.ledgerCompactAfterBytes = compact;
    }
    this.shedder = this.resilienceKit?.shedder;
    this.delivery = new DeliveryManager({
      inboxCapacity: positiveInt('inboxCapacity', options.inboxCapacity, 10_000),
      handlerTimeoutMs: positiveInt('handlerTimeoutMs', options.handlerTimeoutMs, 30_000),
      onFailure: (agentId, message, code, reason) => this.handleDeliveryFailure(agentId, message, code, reason),
      breakers: this.resilienceKit?.breakers,
      subscriberBreaker: this.resilienceKit?.subscriberBreaker,
      chaos: this.resilienceKit?.chaos,
      inboxWatermarks: this.shedder?.inboxWatermarks,
    });
    this.router = new Router(this.registry, this.replies);
    this.requestTimeoutMs = positiveInt('requestTimeoutMs', options.requestTimeoutMs, 30_000);
    this.drainTimeoutMs = positiveInt('drainTimeoutMs', options.drainTimeoutMs, 5_000);
    let sampleEvery = 1;
    while (sampleEvery < positiveInt('timingSampleEvery', options.timingSampleEvery, 16)) sampleEvery <<= 1;
    this.timingMask = sampleEvery - 1;

    const stages: GovernanceStage[] = [new FreshnessStage(this.seen), new TenantStage(this.registry)];
    let bundleScreen: ScreenStage | undefined;
    if (options.screen !== false) {
      try {
        const screen = new ScreenStage(typeof options.screen === 'object' && options.screen !== null ? options.screen.patterns : DEFAULT_SCREEN_PATTERNS, limits.maxDepth + 1);
        // Without a screen option the constitution's `screen` setting turns the default screen on and off.
        if (options.screen === undefined) bundleScreen = screen;
        stages.push(screen);
      } catch (error) {
        throw invalidOption(`screen: ${(error as Error).message}`);
      }
    }
    if (options.stages !== undefined && !Array.isArray(options.stages)) throw invalidOption('stages must be an array');
    this.coreStages = [...stages, ...(options.stages ?? [])];
    try {
      this.pipeline = new GovernancePipeline(this.coreStages);
    } catch (error) {
      throw invalidOption((error as Error).message);
    }
    checkGovernanceOptions(options);
    this.governanceOptions = { policy: options.policy, impact: options.impact, journal: options.journal, deliberation: options.deliberation, dataDir: options.dataDir, clock: options.clock, bundleScreen };

    if (options.metering !== false) {
      // Without a sink, usage is aggregated in memory on the spot; a sink gets events through the
      // fire-and-forget queue.
      const metering = options.metering ?? {};
      checkMeteringOptions(metering);
      if (metering.sink === undefined) this.usageSink = new UsageAggregator();
      else this.metering = new MeteringQueue({ ...metering, sink: metering.sink });
    }
    this.registry.onRemove((agentId) => {
      this.delivery.remove(agentId);
      this.replies.closeWhere((entry) => entry.requester === agentId, 'left');
    });
  }

  get isRunning(): boolean {
    return this.running;
  }

  get constitutionalHash(): string {
    return this.authority.activeHash;
  }

  get stageNames(): readonly string[] {
    return ['pin', 'schema', ...this.pipeline.stages.map((s) => s.name)];
  }

  /**
   * Starts the bus (idempotent): opens the policy engine, the impact model, the journal and the
   * deliberation service as configured, and builds the pipeline. Concurrent calls share one start.
   */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.startPromise ??= this.startup().finally(() => {
      this.startPromise = undefined;
    });
    return this.startPromise;
  }

  private async startup(): Promise<void> {
    const governance = await assembleGovernance(this.governanceOptions);
    this.governance = governance;
    const kit = this.resilienceKit;
    const stages = kit === undefined ? governance.stages : governance.stages.map((stage) => (stage === governance.policyStage ? kit.policyStage(stage) : stage));
    this.pipeline = new GovernancePipeline([...this.coreStages, ...stages]);
    if (!this.explicitAuthority && governance.constitution !== undefined) this.authority = governance.constitution;
    this.journalSink = kit === undefined || governance.journal === undefined ? governance.journal : kit.journal(governance.journal);
    if (this.ledgerDir !== undefined && this.delivery.ledger === undefined) {
      try {
        this.delivery.ledger = DeliveryLedger.open(this.ledgerDir, { compactAfterBytes: this.ledgerCompactAfterBytes });
      } catch (error) {
        // What assembly opened (the journal and its lock, the deliberation store) is closed again.
        this.journalSink = undefined;
        this.governance = undefined;
        await governance.close().catch(() => undefined); // the ledger's error is the one to report
        throw error;
      }
    }
    kit?.start();
    this.holdHandler = governance.deliberation;
    if (governance.deliberationService !== undefined) this.wireDeliberation(governance.deliberationService);
    this.running = true;
    this.stopping = false;
    this.startedAt = this.clock();
    this.metering?.start();
  }

  /** Approved items are delivered through release(); refusals and every state change are journaled. */
  private wireDeliberation(service: DeliberationService): void {
    service.onRelease((item: DeliberationItem) => {
      if (!this.running) throw new BusError(ErrorCode.BUS_NOT_STARTED, 'the bus is not running; the release will be retried');
      const settle = (result: SendResult) => {
        // A full inbox is transient: throwing makes the service retry with backoff. Any other refusal is final (and journaled).
        if (result.code === RejectionCode.BACKPRESSURE && result.recipients.length === 0) throw new Error(result.reason);
      };
      const result = this.release(item.message);
      return isThenable(result) ? result.then(settle) : settle(result);
    });
    service.onRefuse((item: DeliberationItem, code) => {
      this.metricsCollector.countFailure(code);
      this.metricsCollector.tenant(item.message.tenantId).rejected++;
    });
    service.onEvent((event) => {
      this.journalSink?.append({
        type: `deliberation.${event.type}`,
        at: event.at,
        messageId: event.messageId,
        tenantId: event.tenantId,
        details: { deliberationId: event.itemId, ...event.details },
      });
    });
  }

  /** The built-in deliberation service (list, get, approve, reject, vote), when the bus runs one. */
  get deliberation(): DeliberationService | undefined {
    return this.governance?.deliberationService;
  }

  /** The decision journal, when the bus has one. */
  get journal(): DecisionSink | undefined {
    return this.governance?.journal;
  }

  /** The constitution manager (active hash, rotation, bundle loading), when the policy stage uses one. */
  get constitution(): ConstitutionManager | undefined {
    return this.governance?.constitution;
  }

  /** Breakers, health score and status, recovery, shedding and chaos (the bus's resilience), when on. */
  get resilience(): Resilience | undefined {
    return this.resilienceKit;
  }

  /**
   * Health over every dependency breaker (closed 1, half-open 0.5, open 0): HEALTHY ≥ 0.7 >
   * DEGRADED ≥ 0.5 > CRITICAL, with the breakers, paused subscribers, shedding and recovery state.
   * Without resilience: HEALTHY with no breakers.
   */
  health(): HealthReport | { status: 'HEALTHY'; score: 1; breakers: 0 } {
    return this.resilienceKit?.report() ?? { status: 'HEALTHY', score: 1, breakers: 0 };
  }

  /** Statistics of the policy and impact stages, when configured. */
  governanceStats(): { policy?: unknown; impact?: unknown; impactModelFallback?: string } {
    const g = this.governance;
    return { policy: g?.policyStage?.stats(), impact: g?.impactStage?.scorer.stats(), impactModelFallback: g?.impactModelFallback };
  }

  /**
   * Stops accepting messages, ends pending requests, waits for in-flight sends and handlers (at
   * most drainTimeoutMs), then flushes metering and the journal. Idempotent; concurrent calls
   * share one stop.
   */
  stop(): Promise<void> {
    if (!this.running) {
      // A stop asked for while starting applies once the start is done (a failed start left nothing running).
      return this.startPromise === undefined ? Promise.resolve() : this.startPromise.then(() => this.stop(), () => undefined);
    }
    this.stopPromise ??= this.shutdown().finally(() => {
      this.stopPromise = undefined;
    });
    return this.stopPromise;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.replies.closeWhere(() => true, 'stopped');
    const end = Date.now() + this.drainTimeoutMs;
    while (this.asyncInFlight > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
    await this.delivery.idle(Math.max(0, end - Date.now()));
    await this.metering?.stop();
    await this.journalSink?.flush?.();
    await this.resilienceKit?.stop();
    this.delivery.ledger?.close();
    this.delivery.ledger = undefined;
    await this.governance?.close();
    this.running = false;
    this.stopping = false;
  }

  // ---- agents -------------------------------------------------------------------------------

  async registerAgent(registration: AgentRegistration): Promise<AgentRecord> {
    return this.registry.register(registration);
  }

  async unregisterAgent(agentId: string): Promise<boolean> {
    return this.registry.unregister(agentId);
  }

  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return this.registry.get(agentId);
  }

  async listAgents(query: AgentQuery = {}): Promise<AgentRecord[]> {
    return this.registry.list(query);
  }

  async heartbeat(agentId: string): Promise<AgentRecord | undefined> {
    return this.registry.heartbeat(agentId);
  }

  // ---- delivery -----------------------------------------------------------------------------

  /**
   * Push delivery: `handler` receives this agent's messages. Returns the unsubscribe function.
   * With `settle: 'explicit'` the subscriber takes each message over and reports when it is done
   * with it through `ctx.settle(messageId)` (the delivery ledger keeps it until then).
   */
  subscribe(agentId: string, handler: MessageHandler, options: SubscribeOptions = {}): () => boolean {
    if (typeof handler !== 'function') throw new BusError(ErrorCode.INVALID_ARGUMENT, 'handler must be a function');
    const agent = this.requireAgent(agentId);
    return this.delivery.subscribe(agent.agentId, agent.tenantId, handler, options);
  }

  /** Pull delivery: the agent's next message by priority then arrival, or null after timeoutMs. */
  async receive(agentId: string, options: { timeoutMs?: number } = {}): Promise<AgentMessage | null> {
    const agent = this.requireAgent(agentId);
    const timeoutMs = options.timeoutMs ?? 0;
    if (!(timeoutMs >= 0) || timeoutMs > 2_147_483_647) throw new BusError(ErrorCode.INVALID_ARGUMENT, 'timeoutMs must be between 0 and 2147483647');
    const mailbox = this.delivery.mailbox(agent.agentId, agent.tenantId);
    if (mailbox.subscribed) throw new BusError(ErrorCode.AGENT_SUBSCRIBED, `agent ${agentId} has a push subscriber; pull receive is not available`);
    return mailbox.receive(timeoutMs);
  }

  /** Pending messages in an agent's inbox. */
  pending(agentId: string): number {
    return this.delivery.existing(agentId)?.size ?? 0;
  }

  /** The delivery ledger's figures while it is open (between start and stop), when configured. */
  deliveryLedger(): DeliveryLedgerStats | undefined {
    return this.delivery.ledger?.stats();
  }

  /** Listens to failures after acceptance (handler threw or timed out). */
  onDeliveryFailure(listener: DeliveryFailureListener): () => void {
    this.failureListeners.push(listener);
    return () => {
      const i = this.failureListeners.indexOf(listener);
      if (i >= 0) this.failureListeners.splice(i, 1);
    };
  }

  // ---- messaging ----------------------------------------------------------------------------

  /** Sends one message to `toAgent`, or to one agent having `requiredCapabilities`. */
  send(input: MessageInput, options?: SendOptions): Promise<SendResult> {
    try {
      return settled(this.sendImmediate(input, options));
    } catch (error) {
      // Not running, or hostile options (a throwing getter): the input's own reads are refusals.
      return Promise.reject(error);
    }
  }

  /**
   * send() for edges that answer many messages in one turn (the server's WebSocket): the result
   * itself when the pipeline decided synchronously (the fast lane, and every refusal), a promise
   * only when a stage or the delivery took time — no promise and no microtask per message
   * otherwise. Throws (BUS_NOT_STARTED) where send() rejects.
   */
  sendImmediate(input: MessageInput, options?: SendOptions): SendResult | Promise<SendResult> {
    this.requireRunning('send');
    return this.process(input, options?.awaitDelivery === true ? SEND_AWAIT : SEND);
  }

  /** Sends one message to every agent of the tenant (optionally of a type or with a capability), sender excluded. */
  broadcast(input: MessageInput, filter: BroadcastFilter & SendOptions = {}): Promise<SendResult> {
    try {
      return settled(this.broadcastImmediate(input, filter));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** broadcast() answering as sendImmediate() does. */
  broadcastImmediate(input: MessageInput, filter: BroadcastFilter & SendOptions = {}): SendResult | Promise<SendResult> {
    this.requireRunning('broadcast');
    const { awaitDelivery, ...rest } = filter;
    return this.process(input, { mode: 'broadcast', filter: rest, awaitDelivery: awaitDelivery === true, replyTimeoutMs: 0, released: false });
  }

  /** Sends a message and waits for the response whose correlationId is this message's id. */
  async request(input: MessageInput, options: { timeoutMs?: number } = {}): Promise<SendResult> {
    this.requireRunning('request');
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    if (!(timeoutMs > 0) || timeoutMs > 2_147_483_647) throw new BusError(ErrorCode.INVALID_ARGUMENT, 'timeoutMs must be between 1 and 2147483647');
    return this.process(input, { mode: 'send', filter: undefined, awaitDelivery: false, replyTimeoutMs: timeoutMs, released: false });
  }

  /**
   * Delivers a message that deliberation approved. Governance already ran; the sender and the
   * recipients are checked again (they may have left or moved while the message was held).
   */
  release(message: AgentMessage, mode: 'send' | 'broadcast' = 'send'): SendResult | Promise<SendResult> {
    this.requireRunning('release');
    const bytes = exactContentBytes(message.content, message.payload, message.metadata);
    const ctx = this.newContext(this.clock(), bytes, bytes, false);
    ctx.contentBytesExact = true;
    const sender = this.registry.lookup(message.fromAgent);
    if (sender === undefined || sender.tenantId !== message.tenantId) {
      return this.refuse(message.messageId, message, reject(RejectionCode.UNKNOWN_SENDER, `sender ${message.fromAgent} is no longer registered in tenant ${message.tenantId}`), ctx);
    }
    ctx.sender = sender;
    if (message.toAgent !== undefined) {
      const recipient = this.registry.lookup(message.toAgent);
      if (recipient !== undefined && recipient.tenantId !== message.tenantId) {
        return this.refuse(message.messageId, message, reject(RejectionCode.TENANT_MISMATCH, `recipient ${message.toAgent} is not in tenant ${message.tenantId}`), ctx);
      }
      ctx.recipient = recipient;
    }
    return this.dispatch(message, ctx, { mode, filter: undefined, awaitDelivery: false, replyTimeoutMs: 0, released: true }, 'message.released');
  }

  metrics(): BusMetrics {
    const m = this.metricsCollector;
    const stages: BusMetrics['stages'] = {};
    this.pipeline.stages.forEach((stage, i) => {
      stages[stage.name] = this.pipeline.timers[i]!.percentilesMicros();
    });
    return {
      startedAt: this.startedAt,
      running: this.running,
      constitutionalHash: this.authority.activeHash,
      sent: m.sent,
      delivered: m.delivered,
      held: m.held,
      rejected: m.rejected,
      recipientDeliveries: m.recipientDeliveries,
      deliveryFailures: m.deliveryFailures,
      byCode: m.codes(),
      stages: { pin: this.pinTimer.percentilesMicros(), schema: this.schemaTimer.percentilesMicros(), ...stages },
      sendLatency: m.sendLatency.percentilesMicros(),
      tenants: m.tenantSnapshot(),
      otherTenants: m.otherSnapshot(),
      agents: this.registry.size,
      registry: { ...this.registry.stats() },
      delivery: { ...this.delivery.stats(), pendingReplies: this.replies.size },
      metering: this.metering !== undefined ? { ...this.metering.stats() } : this.usageSink !== undefined ? this.usageSink.stats() : undefined,
      duplicateWindow: { size: this.seen.size, evictedEarly: this.seen.evictedEarly },
    };
  }

  /** Per-tenant hourly usage from the built-in metering sink (empty when a custom sink is used). */
  usage(tenantId?: string): UsageBucket[] {
    const tenant = tenantId === undefined ? undefined : normalizeTenantId(tenantId);
    if (tenantId !== undefined && tenant === undefined) return [];
    return this.usageSink?.usage(tenant) ?? [];
  }

  /** Flushes the metering queue now (it also flushes on its timer and on stop). */
  async flushMetering(): Promise<void> {
    await this.metering?.flush();
  }

  // ---- the send path ------------------------------------------------------------------------

  private readonly pinTimer = new LatencyHistogram();
  private readonly schemaTimer = new LatencyHistogram();

  private process(input: MessageInput, request: ProcessRequest): SendResult | Promise<SendResult> {
    const timed = (++this.sequence & this.timingMask) === 0;
    const t0 = timed ? nowNs() : 0;
    const now = this.clock();
    this.metricsCollector.sent++;
    if (this.stopping) return this.refuse(idOf(input), undefined, reject(RejectionCode.BUS_STOPPING, 'the bus is stopping'), undefined);

    let built: AgentMessage | Reject;
    try {
      const pinned = checkPin(input, this.authority, now);
      const t1 = timed ? nowNs() : 0;
      if (timed) this.pinTimer.record(t1 - t0);
      if (pinned !== undefined) return this.refuse(idOf(input), undefined, pinned, undefined);
      built = this.builder.build(input, now);
      if (timed) this.schemaTimer.record(nowNs() - t1);
    } catch (error) {
      // Reading the input ran the caller's code (a getter or proxy) and it threw: a refusal, not an exception.
      return this.refuse(idOf(input), undefined, reject(RejectionCode.INVALID_MESSAGE, `the message could not be read: ${errorText(error).slice(0, 200)}`), undefined);
    }
    if ('kind' in built) return this.refuse(idOf(input), undefined, built, undefined);
    const message = built;
    const ctx = this.newContext(now, this.builder.contentBytes, this.builder.contentChars, this.builder.idGenerated);
    if (this.builder.contentBytesExact) ctx.contentBytesExact = true;
    this.metricsCollector.tenant(message.tenantId).sent++;

    const shedder = this.shedder;
    // Bulkhead: only consulted once the bus-wide count of messages in async stages reaches the per-tenant cap.
    if (shedder !== undefined && shedder.tenantCap > 0 && shedder.asyncInFlight >= shedder.tenantCap && message.priority < Priority.CRITICAL && !request.released && shedder.overTenantCap(message.tenantId)) {
      return this.shed(message, ctx, shedder.bulkheadShed(message.priority));
    }
    const verdict = this.pipeline.run(message, ctx, timed);
    if (isThenable(verdict)) {
      this.asyncInFlight++;
      shedder?.enterAsync(message.tenantId);
      return verdict.then(
        (v) => {
          this.asyncInFlight--;
          shedder?.leaveAsync(message.tenantId);
          return this.decide(message, ctx, v, request, timed ? t0 : 0);
        },
        (error: unknown) => {
          this.asyncInFlight--;
          shedder?.leaveAsync(message.tenantId);
          return this.refuse(message.messageId, message, reject(RejectionCode.STAGE_FAILED, String(error)), ctx);
        },
      );
    }
    return this.decide(message, ctx, verdict, request, timed ? t0 : 0);
  }

  private decide(message: AgentMessage, ctx: GovernanceContext, verdict: Verdict, request: ProcessRequest, t0: number): SendResult | Promise<SendResult> {
    let result: SendResult | Promise<SendResult>;
    if (verdict.kind === 'reject') result = this.refuse(message.messageId, message, verdict, ctx);
    else if (verdict.kind === 'hold') result = this.hold(message, ctx, verdict);
    else result = this.dispatch(message, ctx, request, 'message.delivered');
    if (t0 !== 0) this.metricsCollector.sendLatency.record(nowNs() - t0);
    return result;
  }

  private dispatch(message: AgentMessage, ctx: GovernanceContext, request: ProcessRequest, recordType: DecisionRecord['type']): SendResult | Promise<SendResult> {
    if (this.journalSink !== undefined && this.journalSink.writable === false) {
      return this.refuse(message.messageId, message, reject(RejectionCode.BACKPRESSURE, 'the decision journal is not keeping up; retry later'), ctx);
    }
    const shedder = this.shedder;
    if (shedder !== undefined && shedder.level !== 0 && !request.released) {
      const shed = shedder.admit(message.priority, message.tenantId);
      if (shed !== undefined) return this.shed(message, ctx, shed);
    }
    if (request.mode === 'broadcast') return this.deliverBroadcast(message, ctx, request, recordType);

    const route = this.router.route(message, ctx);
    if ('kind' in route) return this.refuse(message.messageId, message, route, ctx);
    if ('requester' in route) return this.completeReply(message, ctx, route, recordType);
    const recipient = route;
    if (recipient.tenantId !== message.tenantId) {
      return this.refuse(message.messageId, message, reject(RejectionCode.TENANT_MISMATCH, `recipient ${recipient.agentId} is not in tenant ${message.tenantId}`), ctx);
    }
    if (!request.released && !this.seen.add(message.messageId, ctx.now, ctx.idGenerated)) {
      return this.refuse(message.messageId, message, reject(RejectionCode.DUPLICATE, `messageId ${message.messageId} was already accepted`), ctx);
    }
    const replyPromise = request.replyTimeoutMs > 0 ? this.replies.expect(message.messageId, message.fromAgent, message.tenantId, [recipient.agentId], request.replyTimeoutMs) : undefined;

    let settled: Promise<DeliveryOutcome> | undefined;
    let settle: ((o: DeliveryOutcome) => void) | undefined;
    if (request.awaitDelivery) settled = new Promise((resolve) => (settle = resolve));
    const mailbox = this.delivery.mailbox(recipient.agentId, recipient.tenantId);
    const refused = mailbox.offer(message, settle);
    if (refused !== undefined) {
      if (replyPromise !== undefined) this.replies.cancel(message.messageId);
      if (!request.released) this.seen.forget(message.messageId);
      if (mailbox.size < mailbox.capacity && shedder !== undefined) {
        const decision = shedder.watermarkShed(message.priority);
        return this.refuse(message.messageId, message, reject(refused, `shed: the inbox of ${recipient.agentId} keeps its remaining room for higher priorities (${mailbox.size} of ${mailbox.capacity})`, { shed: decision }), ctx);
      }
      return this.refuse(message.messageId, message, reject(refused, `the inbox of ${recipient.agentId} is full (${mailbox.capacity} messages)`), ctx);
    }
    const base = this.accepted(message, ctx, [recipient.agentId], recordType);
    if (replyPromise !== undefined) return this.awaitReply(base, replyPromise, message);
    if (settled !== undefined) return settled.then((outcome) => withFailures(base, outcome.ok ? [] : [outcome]));
    return base;
  }

  private deliverBroadcast(message: AgentMessage, ctx: GovernanceContext, request: ProcessRequest, recordType: DecisionRecord['type']): SendResult | Promise<SendResult> {
    if (message.toAgent !== undefined) {
      return this.refuse(message.messageId, message, reject(RejectionCode.INVALID_MESSAGE, 'a broadcast must not name toAgent'), ctx);
    }
    if (!request.released && !this.seen.add(message.messageId, ctx.now, ctx.idGenerated)) {
      return this.refuse(message.messageId, message, reject(RejectionCode.DUPLICATE, `messageId ${message.messageId} was already accepted`), ctx);
    }
    const targets = this.router.broadcast(message, request.filter ?? {});
    const recipients: string[] = [];
    const failures: DeliveryOutcome[] = [];
    const waits: Promise<DeliveryOutcome>[] = [];
    for (const agent of targets) {
      if (agent.tenantId !== message.tenantId) continue;
      let settle: ((o: DeliveryOutcome) => void) | undefined;
      if (request.awaitDelivery) waits.push(new Promise((resolve) => (settle = resolve)));
      const refused = this.delivery.mailbox(agent.agentId, agent.tenantId).offer(message, settle);
      if (refused === undefined) {
        recipients.push(agent.agentId);
      } else {
        if (request.awaitDelivery) waits.pop();
        failures.push({ agentId: agent.agentId, ok: false, code: refused, reason: `the inbox of ${agent.agentId} is full` });
        this.metricsCollector.countFailure(refused);
      }
    }
    if (recipients.length === 0 && failures.length > 0) {
      // Nobody took it: not accepted, so a retry with the same id is not a duplicate.
      if (!request.released) this.seen.forget(message.messageId);
      return this.refuse(message.messageId, message, reject(failures[0]!.code!, `all ${failures.length} recipients refused the message`, { failures }), ctx);
    }
    const base = this.accepted(message, ctx, recipients, recordType);
    if (failures.length > 0) {
      base.ok = false;
      base.failures = failures;
      base.code = failures[0]!.code!;
      base.reason = `${failures.length} of ${targets.length} recipients refused the message`;
    }
    if (waits.length === 0) return base;
    return Promise.all(waits).then((outcomes) => withFailures(base, [...failures, ...outcomes.filter((o) => !o.ok)]));
  }

  /** A message shed under load: BACKPRESSURE (HTTP 503), journaled with the rule that shed it. */
  private shed(message: AgentMessage, ctx: GovernanceContext, decision: ShedDecision): SendResult {
    return this.refuse(message.messageId, message, reject(RejectionCode.BACKPRESSURE, `shed under load (${decision.rule}, level ${decision.level}); retry later`, { shed: decision }), ctx);
  }

  private completeReply(message: AgentMessage, ctx: GovernanceContext, pending: PendingReply, recordType: DecisionRecord['type']): SendResult {
    if (!this.seen.add(message.messageId, ctx.now, ctx.idGenerated)) {
      return this.refuse(message.messageId, message, reject(RejectionCode.DUPLICATE, `messageId ${message.messageId} was already accepted`), ctx);
    }
    const result = this.accepted(message, ctx, [pending.requester], recordType);
    pending.resolve(message);
    return result;
  }

  private async awaitReply(base: SendResult, replyPromise: Promise<{ reply: AgentMessage | undefined; why?: ReplyEnd }>, message: AgentMessage): Promise<SendResult> {
    this.asyncInFlight++;
    try {
      const { reply, why } = await replyPromise;
      if (reply !== undefined) return { ...base, reply };
      const code = why === 'timeout' ? RejectionCode.TIMEOUT : why === 'left' ? RejectionCode.UNKNOWN_SENDER : RejectionCode.BUS_STOPPING;
      this.metricsCollector.countFailure(code);
      const reason =
        why === 'timeout'
          ? `no reply to ${message.messageId} within the deadline`
          : why === 'left'
            ? `the requester ${message.fromAgent} left before a reply arrived`
            : 'the bus stopped before a reply arrived';
      return { ...base, ok: false, code, reason };
    } finally {
      this.asyncInFlight--;
    }
  }

  private hold(message: AgentMessage, ctx: GovernanceContext, verdict: Hold): SendResult | Promise<SendResult> {
    if (this.holdHandler === undefined) {
      return this.refuse(message.messageId, message, reject(RejectionCode.DELIBERATION_REJECTED, `the message must be deliberated (${verdict.reason}) but the bus has no deliberation service; refused (fail-closed)`), ctx);
    }
    if (!this.seen.add(message.messageId, ctx.now, ctx.idGenerated)) {
      return this.refuse(message.messageId, message, reject(RejectionCode.DUPLICATE, `messageId ${message.messageId} was already accepted`), ctx);
    }
    const finish = (held: { deliberationId: string }): SendResult => {
      this.metricsCollector.held++;
      this.metricsCollector.tenant(message.tenantId).held++;
      this.journalSink?.append({
        type: 'message.held',
        at: ctx.now,
        messageId: message.messageId,
        tenantId: message.tenantId,
        fromAgent: message.fromAgent,
        toAgent: message.toAgent,
        reason: verdict.reason,
        constitutionalHash: message.constitutionalHash,
        details: { deliberationId: held.deliberationId, ...ctx.annotations },
        message,
      });
      this.meter(message, 'held', undefined, 0, MeteredOperation.DELIBERATION_REQUEST, meteredBytes(ctx), ctx.now);
      const result: SendResult = { ok: true, status: 'held', messageId: message.messageId, recipients: [], lane: 'deliberation', deliberationId: held.deliberationId, reason: verdict.reason };
      if (hasAnnotations(ctx)) result.details = ctx.annotations;
      return result;
    };
    const failed = (error: unknown): SendResult => {
      this.seen.forget(message.messageId);
      return this.refuse(message.messageId, message, reject(RejectionCode.STAGE_FAILED, `the deliberation service could not hold the message: ${String(error)}`), ctx);
    };
    try {
      const held = this.holdHandler.hold({ message, reason: verdict.reason, details: verdict.details as Record<string, unknown> | undefined, annotations: ctx.annotations });
      if (!isThenable(held)) return finish(held);
      this.asyncInFlight++;
      return Promise.resolve(held).then(
        (h) => {
          this.asyncInFlight--;
          return finish(h);
        },
        (error: unknown) => {
          this.asyncInFlight--;
          return failed(error);
        },
      );
    } catch (error) {
      return failed(error);
    }
  }

  /** Counts, journals and meters an accepted message; returns its result (with the stages' annotations). */
  private accepted(message: AgentMessage, ctx: GovernanceContext, recipients: string[], recordType: DecisionRecord['type']): SendResult {
    const annotated = hasAnnotations(ctx);
    const m = this.metricsCollector;
    m.delivered++;
    m.recipientDeliveries += recipients.length;
    m.tenant(message.tenantId).delivered++;
    this.journalSink?.append({
      type: recordType,
      at: ctx.now,
      messageId: message.messageId,
      tenantId: message.tenantId,
      fromAgent: message.fromAgent,
      toAgent: message.toAgent,
      recipients,
      constitutionalHash: message.constitutionalHash,
      details: annotated ? journalDetails(ctx.annotations) : undefined,
      message,
    });
    this.meter(message, 'delivered', undefined, recipients.length, MeteredOperation.AGENT_MESSAGE, meteredBytes(ctx), ctx.now);
    // Two literals rather than adding `details` afterwards (a shape change per message).
    return annotated
      ? { ok: true, status: 'delivered', messageId: message.messageId, recipients, lane: 'fast', details: ctx.annotations }
      : { ok: true, status: 'delivered', messageId: message.messageId, recipients, lane: 'fast' };
  }

  private refuse(messageId: string, message: AgentMessage | undefined, verdict: Reject, ctx: GovernanceContext | undefined): SendResult {
    const tenantId = message?.tenantId;
    this.metricsCollector.countRejection(verdict.code, tenantId);
    const at = ctx?.now ?? this.clock();
    this.journalSink?.append({
      type: 'message.rejected',
      at,
      messageId: messageId === '' ? undefined : messageId,
      tenantId,
      fromAgent: message?.fromAgent,
      toAgent: message?.toAgent,
      code: verdict.code,
      reason: verdict.reason,
      constitutionalHash: message?.constitutionalHash,
      details: verdict.details === undefined && (ctx === undefined || !hasAnnotations(ctx)) ? undefined : { ...ctx?.annotations, ...verdict.details },
      message,
    });
    if (message !== undefined) this.meter(message, 'rejected', verdict.code, 0, MeteredOperation.AGENT_MESSAGE, ctx === undefined ? 0 : meteredBytes(ctx), at);
    const result: SendResult = { ok: false, status: 'rejected', messageId, code: verdict.code, reason: verdict.reason, recipients: [] };
    if (verdict.details !== undefined) result.details = { ...verdict.details };
    if (ctx !== undefined && hasAnnotations(ctx)) result.details = { ...ctx.annotations, ...result.details };
    return result;
  }

  private meter(message: AgentMessage, outcome: string, code: string | undefined, recipients: number, operation: MeteredOperation, bytes: number, at: number): void {
    if (this.usageSink !== undefined) {
      this.usageSink.record(message.tenantId, outcome, recipients, bytes, at);
      return;
    }
    this.metering?.enqueue({
      tenantId: message.tenantId,
      operation,
      agentId: message.fromAgent,
      messageType: message.messageType,
      outcome,
      code,
      recipients,
      bytes,
      at,
    });
  }

  private handleDeliveryFailure(agentId: string, message: AgentMessage, code: RejectionCode, reason: string): void {
    this.metricsCollector.countFailure(code);
    this.journalSink?.append({
      type: 'delivery.failed',
      at: this.clock(),
      messageId: message.messageId,
      tenantId: message.tenantId,
      fromAgent: message.fromAgent,
      toAgent: agentId,
      code,
      reason,
    });
    for (const listener of this.failureListeners) {
      try {
        listener({ agentId, message, code, reason });
      } catch {
        // Listener errors are the listener's own; delivery continues.
      }
    }
  }

  private newContext(now: number, contentBytes: number, contentChars: number, idGenerated: boolean): GovernanceContext {
    return { now, idGenerated, contentBytes, contentChars, sender: undefined, recipient: undefined, annotations: {} };
  }

  private requireRunning(operation: string): void {
    if (!this.running) throw notStarted(operation);
  }

  private requireAgent(agentId: string): AgentRecord {
    const agent = typeof agentId === 'string' ? this.registry.lookup(agentId) : undefined;
    if (agent === undefined) throw new BusError(ErrorCode.UNKNOWN_AGENT, `agent ${String(agentId)} is not registered`);
    return agent;
  }
}

function createResilience(options: AgentBusOptions): Resilience | undefined {
  const r = options.resilience;
  if (r === false) {
    if (options.chaos?.enabled === true) throw invalidOption('chaos needs resilience (resilience: false turns both off)');
    return undefined;
  }
  if (r instanceof Resilience) {
    if (options.chaos !== undefined) throw invalidOption('pass chaos options to the Resilience you built, not to the bus');
    return r;
  }
  if (r !== undefined && (typeof r !== 'object' || r === null)) throw invalidOption('resilience must be a Resilience, options, or false');
  if (options.chaos !== undefined && (typeof options.chaos !== 'object' || options.chaos === null)) throw invalidOption('chaos must be an object');
  try {
    return new Resilience({ clock: options.clock, ...r, chaos: { ...r?.chaos, ...options.chaos } });
  } catch (error) {
    if (error instanceof BusError) throw error;
    throw invalidOption((error as Error).message);
  }
}

function invalidOption(message: string): BusError {
  return new BusError(ErrorCode.INVALID_OPTIONS, message);
}

/** A result, or its promise, as a promise. */
function settled<T>(result: T | Promise<T>): Promise<T> {
  return isThenable(result) ? (result as Promise<T>) : Promise.resolve(result);
}

function notStarted(operation: string): BusError {
  return new BusError(ErrorCode.BUS_NOT_STARTED, `${operation}() called before start() or after stop()`);
}

function idOf(input: unknown): string {
  try {
    const id = typeof input === 'object' && input !== null ? (input as { messageId?: unknown }).messageId : undefined;
    return typeof id === 'string' && id.length <= 128 ? id : '';
  } catch {
    return '';
  }
}

/**
 * What the journal keeps of a delivered message's annotations: the deciding facts (policy ids,
 * cached or not, the bundle; the impact score and lane), not the diagnostics and per-factor
 * breakdown, which refusals and holds keep in full. Every delivered message is journaled, so
 * its record is kept small; other stages' annotations are kept as they are.
 */
function journalDetails(annotations: Record<string, unknown>): Readonly<Record<string, unknown>> {
  let policyAndImpactOnly = true;
  for (const key in annotations) {
    if (key !== 'policy' && key !== 'impact') {
      policyAndImpactOnly = false;
      break;
    }
  }
  const policy = annotations.policy as Record<string, unknown> | undefined;
  const impact = annotations.impact as Record<string, unknown> | undefined;
  if (policyAndImpactOnly && policy !== undefined && Object.isFrozen(policy)) {
    // A cached decision and (when scored) an agent's unchanged score: shared frozen details.
    if (impact === undefined) return sharedPolicy(policy).details;
    if (Object.isFrozen(impact)) return sharedPolicy(policy).withImpact(impact);
  }
  const out: Record<string, unknown> = {};
  for (const key in annotations) {
    const value = annotations[key] as Record<string, unknown> | undefined;
    if (key === 'policy' && value !== undefined) {
      // A shared (frozen) annotation gets its shared frozen view; a per-message one a plain object
      // (freezing it would only make the journal keep bytes for an object never seen again).
      out.policy = Object.isFrozen(value) ? sharedPolicy(value).view : policyView(value);
    } else if (key === 'impact' && value !== undefined) {
      out.impact = impactView(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/**
 * A shared (frozen) policy annotation — a cached decision's — has one frozen view, one frozen
 * details object for messages with no other annotation, and one per shared impact annotation
 * (an agent's unchanged score): no allocation per message, and the journal encodes them once
 * (TapeEncoder keeps the text of deeply frozen values).
 */
class SharedPolicyDetails {
  readonly view: Readonly<Record<string, unknown>>;
  readonly details: Readonly<Record<string, unknown>>;
  /** With a shared (frozen) impact annotation — an agent's repeated score: the details of messages that have both. */
  private readonly byImpact = new WeakMap<object, Readonly<Record<string, unknown>>>();

  constructor(annotation: Record<string, unknown>) {
    this.view = Object.freeze(policyView(annotation));
    this.details = Object.freeze({ policy: this.view });
  }

  withImpact(impact: Record<string, unknown>): Readonly<Record<string, unknown>> {
    let details = this.byImpact.get(impact);
    if (details === undefined) this.byImpact.set(impact, (details = Object.freeze({ policy: this.view, impact: Object.freeze(impactView(impact)) })));
    return details;
  }
}

const sharedPolicies = new WeakMap<object, SharedPolicyDetails>();

function sharedPolicy(annotation: Record<string, unknown>): SharedPolicyDetails {
  let shared = sharedPolicies.get(annotation);
  if (shared === undefined) sharedPolicies.set(annotation, (shared = new SharedPolicyDetails(annotation)));
  return shared;
}

function impactView(annotation: Record<string, unknown>): Record<string, unknown> {
  return { score: annotation.score, lane: annotation.lane };
}

function policyView(annotation: Record<string, unknown>): Record<string, unknown> {
  const decision = annotation.decision as { allow?: boolean; policyIds?: readonly string[]; bundleHash?: string } | undefined;
  return { allow: decision?.allow, policyIds: decision?.policyIds, bundleHash: decision?.bundleHash, cached: annotation.cached, failOpen: annotation.failOpen };
}

/** The message's size as metering counts it: exact when measured, else its JSON length in characters (exact for ASCII with nothing escaped). */
function meteredBytes(ctx: GovernanceContext): number {
  return ctx.contentBytesExact === true ? ctx.contentBytes : (ctx.contentChars ?? ctx.contentBytes);
}

function hasAnnotations(ctx: GovernanceContext): boolean {
  for (const _ in ctx.annotations) return true;
  return false;
}

function withFailures(base: SendResult, failures: DeliveryOutcome[]): SendResult {
  if (failures.length === 0) return base;
  return { ...base, ok: false, failures, code: failures[0]!.code!, reason: failures[0]!.reason! };
}

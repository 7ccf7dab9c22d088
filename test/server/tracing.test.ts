import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { trace, type Attributes, type AttributeValue, type Span, type SpanStatus, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { config, harness, message, type Harness } from './helpers.js';

/** A minimal recording tracer: what an OpenTelemetry SDK would receive. */
interface Recorded {
  name: string;
  /** What the span was started with: what a sampler and span processors see. */
  startAttributes: Attributes;
  attributes: Attributes;
  status?: SpanStatus;
  ended: boolean;
}

const recorded: Recorded[] = [];

function recordingSpan(name: string, startAttributes: Attributes = {}): Span {
  const r: Recorded = { name, startAttributes: { ...startAttributes }, attributes: { ...startAttributes }, ended: false };
  recorded.push(r);
  const span: Span = {
    spanContext: () => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 }),
    setAttribute: (key: string, value: AttributeValue) => ((r.attributes[key] = value), span),
    setAttributes: (attributes: Attributes) => (Object.assign(r.attributes, attributes), span),
    addEvent: () => span,
    addLink: () => span,
    addLinks: () => span,
    setStatus: (status: SpanStatus) => ((r.status = status), span),
    updateName: () => span,
    end: () => void (r.ended = true),
    isRecording: () => true,
    recordException: () => undefined,
  };
  return span;
}

const tracer = { startSpan: (name: string, options?: { attributes?: Attributes }) => recordingSpan(name, options?.attributes), startActiveSpan: () => undefined } as unknown as Tracer;
const provider: TracerProvider = { getTracer: () => tracer };

describe('OpenTelemetry spans around sends (with an SDK registered)', () => {
  let h: Harness;
  before(async () => {
    trace.setGlobalTracerProvider(provider);
    h = await harness(config());
  });
  after(async () => {
    await h.close();
    trace.disable();
  });

  it('a delivered send and a refused one each end a span with the tenant, sender, message id and status', async () => {
    const ok = await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message() });
    assert.equal(ok.statusCode, 200);
    const refused = await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message({ toAgent: 'nobody' }) });
    assert.equal(refused.statusCode, 404);
    const sends = recorded.filter((r) => r.name === 'agent_bus.send');
    assert.equal(sends.length, 2);
    assert.ok(sends.every((s) => s.ended));
    assert.equal(sends[0]!.startAttributes['agent_bus.tenant'], 'acme', 'the tenant is known when the span starts (samplers see it)');
    assert.equal(typeof sends[0]!.startAttributes['agent_bus.from_agent'], 'string');
    assert.equal(sends[0]!.attributes['agent_bus.tenant'], 'acme');
    assert.equal(sends[0]!.attributes['agent_bus.status'], 'delivered');
    assert.equal(sends[0]!.attributes['agent_bus.message_id'], ok.json().messageId);
    assert.equal(sends[1]!.attributes['agent_bus.code'], 'UNKNOWN_RECIPIENT');
    assert.equal(sends[1]!.status?.code, 2);
  });
});

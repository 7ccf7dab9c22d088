/** Operations the bus meters, as in the original. */
export const MeteredOperation = {
  AGENT_MESSAGE: 'agent_message',
  CONSTITUTIONAL_VALIDATION: 'constitutional_validation',
  POLICY_EVALUATION: 'policy_evaluation',
  DELIBERATION_REQUEST: 'deliberation_request',
  HITL_APPROVAL: 'hitl_approval',
} as const;
export type MeteredOperation = (typeof MeteredOperation)[keyof typeof MeteredOperation];

export interface MeteringEvent {
  readonly tenantId: string;
  readonly operation: MeteredOperation;
  readonly agentId: string;
  readonly messageType: string;
  /** 'delivered' | 'held' | 'rejected' */
  readonly outcome: string;
  readonly code: string | undefined;
  readonly recipients: number;
  /** JSON size of content + payload + metadata: exact for ASCII with nothing escaped; a multi-byte or escaped character counts as one. */
  readonly bytes: number;
  readonly at: number;
}

/** Where metering batches go. A sink may be async; its failures are counted, never thrown to senders. */
export interface MeteringSink {
  write(batch: readonly MeteringEvent[]): void | Promise<void>;
  close?(): void | Promise<void>;
}

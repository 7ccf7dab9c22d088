/** What reviewers are told about. Built from an item; carries no message payload beyond a short preview. */
export interface Notification {
  readonly kind: 'held' | 'escalated' | 'decided';
  readonly itemId: string;
  readonly tenantId: string;
  readonly messageId: string;
  readonly fromAgent: string;
  readonly toAgent: string | undefined;
  readonly messageType: string;
  readonly status: string;
  readonly policyId: string;
  readonly requiredRoles: readonly string[];
  readonly impactScore: number | undefined;
  readonly reason: string;
  readonly escalationLevel: number;
  readonly deadlineAt: number;
  /** First 100 characters of the content as JSON. */
  readonly preview: string;
}

export interface NotificationChannel {
  readonly name: string;
  /** Resolves when delivered; rejects (or throws) to ask for a retry. */
  send(notification: Notification, signal: AbortSignal): Promise<void>;
}

import type { Notification, NotificationChannel } from './types.js';

export interface WebhookOptions {
  readonly url: string;
  readonly name?: string;
  readonly headers?: Record<string, string>;
  /** Per attempt. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Body to POST; default the notification itself. */
  readonly build?: (n: Notification) => unknown;
}

/** POSTs JSON to a URL; any non-2xx answer or network error is a failed attempt. */
export class WebhookChannel implements NotificationChannel {
  readonly name: string;

  constructor(private readonly options: WebhookOptions) {
    this.name = options.name ?? 'webhook';
    new URL(options.url); // fail at configuration time, not on first send
  }

  async send(notification: Notification, signal: AbortSignal): Promise<void> {
    const body = this.options.build === undefined ? notification : this.options.build(notification);
    const res = await fetch(this.options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.options.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs ?? 5000)]),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`${this.name}: HTTP ${res.status}`);
  }
}

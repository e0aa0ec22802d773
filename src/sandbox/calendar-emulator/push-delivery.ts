/**
 * Delivers push notifications like Google: `POST address` with an empty body (yet a JSON content type) and the
 * X-Goog-* headers, asynchronously, in order per channel, retried with a short backoff on 5xx and connection
 * errors. Failures are logged, never thrown. close() cancels everything pending.
 */
import { Agent, request } from 'undici';
import { formatHttpDate } from './time';
import type { EmulatorLogger } from './types';

export interface PushMessage {
  channelId: string;
  token?: string;
  expiration: number;
  messageNumber: number;
  resourceId: string;
  resourceUri: string;
  state: 'sync' | 'exists';
  address: string;
}

const USER_AGENT = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';
const RETRY_DELAYS_MS = [100, 400, 1500];
const TIMEOUT_MS = 5000;

export function pushHeaders(message: PushMessage): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json; utf-8',
    'content-length': '0',
    'user-agent': USER_AGENT,
    'x-goog-channel-id': message.channelId,
    'x-goog-channel-expiration': formatHttpDate(message.expiration),
    'x-goog-message-number': String(message.messageNumber),
    'x-goog-resource-id': message.resourceId,
    'x-goog-resource-state': message.state,
    'x-goog-resource-uri': message.resourceUri,
  };
  if (message.token !== undefined) headers['x-goog-channel-token'] = message.token;
  return headers;
}

export class PushDelivery {
  /** Notifications that reached the receiver (any HTTP answer that is not retried). */
  sent = 0;
  private dropping = false;
  private closed = false;
  private readonly queues = new Map<string, Promise<void>>();
  private abort = new AbortController();
  private agent = PushDelivery.newAgent();

  constructor(private readonly logger?: EmulatorLogger) {}

  /** While true, notifications are silently lost (message numbers still advance, as at Google). */
  drop(drop: boolean): void {
    this.dropping = drop;
  }

  /** Queues a message behind the channel's earlier ones; returns at once. */
  send(message: PushMessage): void {
    if (this.closed) return;
    if (this.dropping) {
      this.logger?.debug?.({ channelId: message.channelId, state: message.state }, 'push notification dropped');
      return;
    }
    const previous = this.queues.get(message.channelId) ?? Promise.resolve();
    const next = previous.then(() => this.deliver(message));
    this.queues.set(message.channelId, next);
    void next.finally(() => {
      if (this.queues.get(message.channelId) === next) this.queues.delete(message.channelId);
    });
  }

  /** Resolves when every queued notification has been delivered or given up (for tests). */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all(this.queues.values());
  }

  /** Delivers again after close() (the emulator listens again). */
  reopen(): void {
    if (!this.closed) return;
    this.closed = false;
    this.abort = new AbortController();
    this.agent = PushDelivery.newAgent();
  }

  private static newAgent(): Agent {
    return new Agent({ keepAliveTimeout: 1000, connect: { timeout: TIMEOUT_MS } });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await Promise.allSettled(this.queues.values());
    await this.agent.destroy();
  }

  private async deliver(message: PushMessage): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      const outcome = await this.attempt(message);
      if (outcome === 'done') return;
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined) {
        this.logger?.warn({ channelId: message.channelId, address: message.address, state: message.state }, 'push notification given up after retries');
        return;
      }
      await this.sleep(delay);
    }
  }

  private async attempt(message: PushMessage): Promise<'done' | 'retry'> {
    try {
      const res = await request(message.address, {
        method: 'POST',
        headers: pushHeaders(message),
        body: '',
        dispatcher: this.agent,
        signal: this.abort.signal,
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      });
      await res.body.dump();
      if (res.statusCode >= 500) {
        this.logger?.debug?.({ channelId: message.channelId, status: res.statusCode }, 'push notification refused');
        return 'retry';
      }
      this.sent += 1;
      return 'done';
    } catch (err) {
      if (this.closed) return 'done';
      this.logger?.debug?.({ channelId: message.channelId, address: message.address, err: String(err) }, 'push notification failed');
      return 'retry';
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }
}

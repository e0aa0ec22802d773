/**
 * POSTs change and lifecycle notifications like Graph: JSON `{"value":[…]}`, asynchronously, in order per URL; an
 * answer other than 2xx within 3 s (Graph's limit) is retried a few times with short delays (Graph retries for up
 * to 4 hours), then dropped. Every attempt is recorded. close() cancels everything pending.
 */
import { Agent, request } from 'undici';
import type { EmulatorLogger, NotificationRecord } from './types';

const ANSWER_WITHIN_MS = 3000;
const RETRY_DELAYS_MS = [200, 1000, 3000];

export class NotificationDelivery {
  readonly records: NotificationRecord[] = [];
  private readonly queues = new Map<string, Promise<void>>();
  private abort = new AbortController();
  private closed = false;
  private agent: Agent;

  constructor(
    private readonly now: () => number,
    private readonly ca: string[] | undefined,
    private readonly logger?: EmulatorLogger,
  ) {
    this.agent = this.newAgent();
  }

  send(url: string, body: { value: Array<Record<string, unknown>> }): void {
    if (this.closed) return;
    const previous = this.queues.get(url) ?? Promise.resolve();
    const next = previous.then(() => this.deliver(url, body));
    this.queues.set(url, next);
    void next.finally(() => {
      if (this.queues.get(url) === next) this.queues.delete(url);
    });
  }

  /** Resolves once every queued notification was delivered or given up. */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all(this.queues.values());
  }

  reopen(): void {
    if (!this.closed) return;
    this.closed = false;
    this.abort = new AbortController();
    this.agent = this.newAgent();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await Promise.allSettled(this.queues.values());
    await this.agent.destroy();
  }

  /** An agent for Graph's own outbound calls (handshakes share it). */
  get dispatcher(): Agent {
    return this.agent;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  private newAgent(): Agent {
    return new Agent({ keepAliveTimeout: 1000, connect: { timeout: ANSWER_WITHIN_MS, ...(this.ca && { ca: this.ca }) } });
  }

  private async deliver(url: string, body: { value: Array<Record<string, unknown>> }): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      const status = await this.attempt(url, body);
      this.records.push({ url, body: structuredClone(body), status, at: this.now() });
      if (typeof status === 'number' && status >= 200 && status < 300) return;
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined || this.closed) {
        this.logger?.warn({ url, status }, 'graph emulator: notification dropped after retries');
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
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

  private async attempt(url: string, body: object): Promise<number | 'error'> {
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(body),
        dispatcher: this.agent,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(ANSWER_WITHIN_MS)]),
      });
      await res.body.dump();
      return res.statusCode;
    } catch (err) {
      this.logger?.debug?.({ url, err: String(err) }, 'graph emulator: notification failed');
      return 'error';
    }
  }
}

import { request, type Dispatcher } from 'undici';
import type { AttemptResult } from './delivery-policy';
import type { ConcurrencyLimit } from '../lib/concurrency-limit';
import { WebhookSigner, webhookHeaders } from './webhook-signer';

/** One delivery's message: its Standard Webhooks id (the same on every retry) and the exact JSON body. */
export interface WebhookMessage {
  id: string;
  body: string;
}

/**
 * The port: one attempt to deliver the resolution webhook that triggers the fix. It never throws for what the
 * receiver did (an answer, a refused connection, a timeout); the delivery policy decides what happens next.
 */
export interface ResolutionSender {
  /** The receiver (its send slots are paced per URL, see WebhookPacer). */
  readonly url: string;
  send(message: WebhookMessage): Promise<AttemptResult>;
}

export interface HttpResolutionSenderOptions {
  url: string;
  /** `whsec_…`: every attempt is signed (Standard Webhooks). Unset: id and timestamp headers only. */
  secret?: string;
  /** The whole attempt (connect, headers, body) is abandoned after this long. Default 30 s. */
  timeoutMs?: number;
  /** Wall clock for `webhook-timestamp` (receivers compare it with theirs). */
  now?: () => number;
  /** The outbound proxy's dispatcher (see outbound-proxy); none: direct. */
  dispatcher?: Dispatcher;
  /**
   * RESOLUTION_WEBHOOK_HEADERS (validated lower-case names, see webhook-headers.ts): sent with every attempt. They
   * may hold the receiver's credential, so they are never logged; they cannot replace the daemon's own headers.
   */
  extraHeaders?: Readonly<Record<string, string>>;
  /** WEBHOOK_CONCURRENCY: requests in flight in this daemon, shared by every sender given the same limit. */
  concurrency?: ConcurrencyLimit;
}

/** Receivers' answers are read and discarded up to this size. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** POSTs the body with Standard Webhooks headers over undici; sends exactly the bytes it signs. */
export class HttpResolutionSender implements ResolutionSender {
  private readonly signer?: WebhookSigner;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: HttpResolutionSenderOptions) {
    this.signer = opts.secret ? new WebhookSigner(opts.secret) : undefined;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  get url(): string {
    return this.opts.url;
  }

  send(message: WebhookMessage): Promise<AttemptResult> {
    return this.opts.concurrency ? this.opts.concurrency.run(() => this.post(message)) : this.post(message);
  }

  private async post(message: WebhookMessage): Promise<AttemptResult> {
    const body = Buffer.from(message.body, 'utf8');
    const timestamp = Math.floor(this.now() / 1000);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      const res = await request(this.opts.url, {
        method: 'POST',
        headers: {
          ...this.opts.extraHeaders,
          'content-type': 'application/json',
          'user-agent': 'maintenance-windows/0.1',
          ...webhookHeaders(message.id, timestamp, body, this.signer),
        },
        body,
        signal: abort.signal,
        dispatcher: this.opts.dispatcher,
      });
      await res.body.dump({ limit: MAX_ANSWER_BYTES }).catch(() => undefined);
      const retryAfter = res.headers['retry-after'];
      return { kind: 'answered', status: res.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter };
    } catch (err) {
      if (abort.signal.aborted) return { kind: 'no_answer', error: `no answer within ${this.timeoutMs / 1000} s (timed out)` };
      return { kind: 'no_answer', error: `receiver unreachable: ${describeNetworkError(err)}` };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** "connect ECONNREFUSED 127.0.0.1:1234" rather than undici's generic "fetch failed". */
function describeNetworkError(err: unknown): string {
  const e = err as { message?: string; code?: string; cause?: { message?: string; code?: string } };
  const inner = e.cause?.message ?? e.message ?? String(err);
  const code = e.cause?.code ?? e.code;
  return code && !inner.includes(code) ? `${inner} (${code})` : inner;
}

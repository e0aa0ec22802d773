import { request, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { RequestLimiter } from '../google/request-rate-limiter';
import { GraphRequestError } from './graph-request-error';
import type { GraphTokenProvider } from './graph-token-provider';
import { MailboxSemaphore } from './mailbox-semaphore';

/**
 * Every Graph request goes through here: a token, the shared request budget, at most 4 requests in flight per
 * mailbox, a per-request timeout, `Prefer: IdType="ImmutableId"` (ids that survive an event's move between
 * folders) with times in UTC and text bodies, and retries: a 429 or 503 waits for its `Retry-After`, other 5xx,
 * timeouts and network errors back off with full jitter, a 401 gets a fresh token once.
 */

export const PREFER = 'IdType="ImmutableId", outlook.timezone="UTC", outlook.body-content-type="text"';

export interface GraphRetryOptions {
  /** Attempts in all (default 5). */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The longest Retry-After honoured as given (longer ones are capped). Default 120 s. */
  maxRetryAfterMs?: number;
}

export interface GraphClientOptions {
  /** With a trailing slash; requests go under `${graphUrl}v1.0/`. */
  graphUrl: string;
  tokens: GraphTokenProvider;
  dispatcher?: Dispatcher;
  limiter?: RequestLimiter;
  timeoutMs?: number;
  retry?: GraphRetryOptions;
  logger?: Logger;
  onCall?: (operation: string, status: number) => void;
  /** Told of every success (readiness). */
  onSuccess?: () => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface GraphRequest {
  /** What it is, for logs and metrics: `events.create`, `calendar.getSchedule`… */
  operation: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** A path under v1.0/ (`users/x/events`), or a whole URL Graph gave (nextLink, deltaLink). */
  path: string;
  /** The mailbox it concerns (the per-mailbox concurrency limit). */
  mailbox?: string;
  body?: unknown;
  /** Items per page of a listing (`Prefer: odata.maxpagesize`). */
  maxPageSize?: number;
  /** One attempt within this time instead of the retries (calls made while a lock is held). */
  onceWithinMs?: number;
}

const RETRYABLE = new Set([0, 500, 502, 503, 504]);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class GraphClient {
  private readonly semaphore = new MailboxSemaphore(4);
  private readonly root: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: GraphClientOptions) {
    this.root = `${o.graphUrl}v1.0/`;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.attempts = Math.max(1, o.retry?.attempts ?? 5);
    this.baseDelayMs = o.retry?.baseDelayMs ?? 500;
    this.maxDelayMs = o.retry?.maxDelayMs ?? 16_000;
    this.maxRetryAfterMs = o.retry?.maxRetryAfterMs ?? 120_000;
    this.sleep = o.sleep ?? defaultSleep;
  }

  /** The JSON answer (undefined for 204), or a GraphRequestError once retries are spent or the error is final. */
  async send<T>(req: GraphRequest): Promise<T> {
    const attempts = req.onceWithinMs !== undefined ? 1 : this.attempts;
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt<T>(req, refreshed && attempt > 1);
      } catch (err) {
        if (!(err instanceof GraphRequestError)) throw err;
        if (err.status === 401 && !refreshed) {
          refreshed = true; // a revoked or expired token: one retry with a fresh one, outside the attempt count
          attempt--;
          continue;
        }
        const retryable = err.status === 429 || RETRYABLE.has(err.status);
        if (!retryable || attempt >= attempts) throw err;
        const delay =
          err.retryAfterMs !== undefined
            ? Math.min(err.retryAfterMs, this.maxRetryAfterMs)
            : Math.floor(Math.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
        this.o.logger?.debug({ operation: req.operation, mailbox: req.mailbox, status: err.status, graphCode: err.graphCode, attempt, delayMs: delay }, 'Graph request retried');
        await this.sleep(delay);
      }
    }
  }

  private async attempt<T>(req: GraphRequest, freshToken: boolean): Promise<T> {
    const token = await this.o.tokens.token(freshToken);
    await this.o.limiter?.acquire();
    const call = () => this.http<T>(req, token);
    return req.mailbox ? this.semaphore.run(req.mailbox, call) : call();
  }

  private async http<T>(req: GraphRequest, token: string): Promise<T> {
    const url = /^https?:\/\//.test(req.path) ? req.path : `${this.root}${req.path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, prefer: req.maxPageSize ? `${PREFER}, odata.maxpagesize=${req.maxPageSize}` : PREFER, accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    let status = 0;
    try {
      const res = await request(url, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        dispatcher: this.o.dispatcher,
        signal: AbortSignal.timeout(req.onceWithinMs ?? this.timeoutMs),
      });
      status = res.statusCode;
      const text = await res.body.text();
      if (status >= 200 && status < 300) {
        this.o.onSuccess?.();
        return (text === '' ? undefined : JSON.parse(text)) as T;
      }
      let code: string | undefined;
      let message = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
        code = parsed.error?.code;
        message = parsed.error?.message ?? message;
      } catch {
        // not JSON (a proxy's page): the text is the message
      }
      const retryAfter = Number(headerOf(res.headers['retry-after']));
      throw new GraphRequestError(req.operation, status, code, message, Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined);
    } catch (err) {
      if (err instanceof GraphRequestError) throw err;
      const e = err as Error & { code?: string };
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      throw new GraphRequestError(req.operation, 0, timedOut ? 'Timeout' : (e.code ?? e.name), timedOut ? `no answer within ${req.onceWithinMs ?? this.timeoutMs} ms` : e.message);
    } finally {
      this.o.onCall?.(req.operation, status);
    }
  }
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

import type { LifecycleEvent, LifecycleEventType } from '../domain/lifecycle-event';
import { DEFAULT_BACKOFF, describeResult, nextStep } from '../webhook/delivery-policy';
import type { ResolutionSender } from '../webhook/resolution-webhook';
import type { ServiceDeps } from './ports';

/** A lifecycle webhook job's data: the event, and its delivery so far. */
export interface LifecycleDelivery {
  event: LifecycleEvent;
  /** Epoch ms of the first attempt: the retry budget counts from it. */
  firstAttemptAt?: number;
  attempts?: number;
}

export interface LifecycleWebhookSettings {
  /** LIFECYCLE_WEBHOOK_URL; unset: no lifecycle webhooks. */
  url?: string;
  /** LIFECYCLE_WEBHOOK_EVENTS; null: every type. */
  types: ReadonlySet<LifecycleEventType> | null;
  /** How long one event is retried from its first attempt. */
  retryBudgetSeconds: number;
  random?: () => number;
}

export type LifecycleOutcome =
  | { kind: 'delivered' }
  | { kind: 'failed'; error: string }
  | { kind: 'retry'; delayMs: number; data: LifecycleDelivery };

/** Where the dispatcher keeps its place in the feed (Redis in production). */
export interface FeedCursorStore {
  cursor(): Promise<string | null>;
  /** Sets it only where none is kept yet: the first start with a URL begins at "now". */
  initCursor(value: string): Promise<void>;
  setCursor(value: string): Promise<void>;
}

/** What the dispatcher asks of the job system. */
export interface LifecycleJobs {
  enqueueLifecycleWebhooks(events: LifecycleEvent[]): Promise<void>;
}

const DISPATCH_BATCH = 500;

/**
 * Lifecycle webhooks read the events the lifecycle stored (the global feed), never re-derive them: a dispatcher
 * follows the feed from a cursor kept in Redis and turns each event of a wanted type into a delivery job whose id
 * is the event's (a dispatch repeated after a crash adds nothing), then moves the cursor. Each job POSTs
 * `{"type","timestamp","data":<event>}` signed the Standard Webhooks way with `webhook-id` = the event's id, and
 * is retried like resolution webhooks (Retry-After, full-jitter backoff, a budget).
 */
export class LifecycleWebhookService {
  private readonly random: () => number;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly cursor: FeedCursorStore,
    private readonly jobs: LifecycleJobs,
    private readonly sender: ResolutionSender | null,
    private readonly settings: LifecycleWebhookSettings,
  ) {
    this.random = settings.random ?? Math.random;
  }

  get enabled(): boolean {
    return this.sender !== null && this.settings.url !== undefined;
  }

  /** At start: the first daemon with a URL starts the feed's cursor at its newest event ("from now on"). */
  async init(): Promise<void> {
    if (!this.enabled) return;
    await this.cursor.initCursor((await this.deps.store.feedHead()) ?? '0-0');
  }

  /** Turns the feed's new events into delivery jobs; returns how many. Runs on one daemon at a time. */
  async dispatch(): Promise<number> {
    if (!this.enabled) return 0;
    const { store } = this.deps;
    return store.withOwnerLock('lifecycle-dispatch', async () => {
      let queued = 0;
      const start = await this.cursor.cursor();
      if (start && (await store.feedPosition(start)) === 'trimmed') {
        this.deps.logger.error(
          { cursor: start },
          'lifecycle webhooks lost: the event feed was trimmed past the dispatcher’s place (raise EVENT_FEED_MAX_LENGTH)',
        );
      }
      for (;;) {
        const after = (await this.cursor.cursor()) ?? undefined;
        const page = await store.readFeed({ after, limit: DISPATCH_BATCH });
        const wanted = page.events.filter((e) => this.settings.types === null || this.settings.types.has(e.type));
        await this.jobs.enqueueLifecycleWebhooks(wanted);
        queued += wanted.length;
        if (page.next === null || page.next === after) return queued;
        await this.cursor.setCursor(page.next);
        if (page.events.length < DISPATCH_BATCH) return queued;
      }
    });
  }

  /** One attempt of one event's webhook. */
  async attempt(d: LifecycleDelivery): Promise<LifecycleOutcome> {
    const { clock, logger } = this.deps;
    if (!this.sender) return { kind: 'failed', error: 'no LIFECYCLE_WEBHOOK_URL' };
    const now = clock.now();
    const first = d.firstAttemptAt ?? now;
    const attempt = (d.attempts ?? 0) + 1;
    const e = d.event;
    const body = JSON.stringify({ type: e.type, timestamp: e.occurred_at, data: e });
    const result = await this.sender.send({ id: e.id, body });
    const step = nextStep({
      result,
      attempt,
      now: clock.now(),
      deadline: first + this.settings.retryBudgetSeconds * 1000,
      random: this.random,
      backoff: DEFAULT_BACKOFF,
    });
    const who = { remediation: e.remediation_id, event: e.type, webhookId: e.id, attempt };
    this.deps.telemetry?.deliveryAttempt('lifecycle', step.kind === 'delivered' ? 'delivered' : step.kind === 'give_up' ? 'failed' : 'retry');
    if (step.kind === 'delivered') {
      logger.debug(who, 'lifecycle webhook delivered');
      return { kind: 'delivered' };
    }
    if (step.kind === 'give_up') {
      logger.error({ ...who, err: step.error }, 'lifecycle webhook not delivered: given up');
      return { kind: 'failed', error: step.error };
    }
    logger.warn({ ...who, err: describeResult(result), retryInMs: step.delayMs }, 'lifecycle webhook failed: will retry');
    return { kind: 'retry', delayMs: step.delayMs, data: { event: e, firstAttemptAt: first, attempts: attempt } };
  }
}

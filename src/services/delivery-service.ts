import { webhookIdFor, type Delivery, type DeliveryPart, type Remediation } from '../domain/remediation';
import { DEFAULT_BACKOFF, deliveryDeadline, describeResult, nextStep, type AttemptResult, type BackoffOptions, type NextStep } from '../webhook/delivery-policy';
import { lockNameFor, type DeliveryRef, type ServiceDeps } from './ports';
import type { TransitionRunner } from './transition-runner';

export type { DeliveryRef } from './ports';

export interface DeliverySettings {
  /** WEBHOOK_RETRY_BUDGET_SECONDS; unset: until the window ends + 30 min (see deliveryDeadline). */
  retryBudgetSeconds?: number;
  backoff?: BackoffOptions;
  random?: () => number;
}

/** What the job system does next with the delivery's job. */
export type DeliveryOutcome =
  | { kind: 'delivered' }
  /** Back to wait `delayMs`; `data`: merged into the job's data (what it has done so far). */
  | { kind: 'retry'; delayMs: number; data?: object }
  | { kind: 'failed' }
  | { kind: 'skipped'; why: string };

/** An attempt sent (not yet stored): the receiver's answer and what the delivery policy makes of it. */
export interface SentAttempt {
  result: AttemptResult;
  step: NextStep;
}

/** A send slot this close is waited for in the worker; a later one sends the job back to the delayed set. */
const HOLD_PACED_MS = 50;

export type RedeliverResult =
  | { kind: 'accepted'; webhookId: string; deliveryNumber: number }
  | { kind: 'not_found' }
  | { kind: 'nothing_to_redeliver'; reason: string };

/**
 * Delivers the resolution webhook: one attempt per call, the same `webhook-id` and body bytes on every attempt
 * of a delivery. The delivery policy says whether to retry (and when) or to stop; 2xx → `fired`, given up →
 * `delivery_failed` with the last error. Every state change happens under the owner's lock; the HTTP call
 * happens outside it.
 */
export class DeliveryService {
  private readonly random: () => number;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly runner: TransitionRunner,
    private readonly settings: DeliverySettings = {},
  ) {
    this.random = settings.random ?? Math.random;
  }

  /** A new delivery of `body` for r (the caller saves it). */
  newDelivery(r: Remediation, number: number, body: string): Delivery {
    const now = this.deps.clock.now();
    const windowEnd = r.end ? Date.parse(r.end) : undefined;
    const deadline = deliveryDeadline({ firstAttemptAt: now, windowEnd: number === 1 ? windowEnd : undefined, budgetSeconds: this.settings.retryBudgetSeconds });
    return { number, webhookId: webhookIdFor(r, number), body, attempts: 0, createdAt: new Date(now).toISOString(), deadline: new Date(deadline).toISOString() };
  }

  /**
   * One attempt of the delivery; a crashed attempt is simply attempted again (same id: receivers de-duplicate).
   * The first attempt of a redelivery also starts it (see redeliver): the job is the only record of the request.
   */
  async attempt(ref: DeliveryRef): Promise<DeliveryOutcome> {
    const { logger } = this.deps;
    if (this.deps.pacer && !ref.paced) {
      // WEBHOOK_MAX_PER_SECOND: the send slot first; a long wait is spent in the delayed set, not a worker slot.
      const waitMs = await this.takeSendSlot(ref);
      if (waitMs > HOLD_PACED_MS) {
        logger.debug({ remediation: ref.remediationId, delivery: ref.deliveryNumber, waitMs }, 'resolution webhook paced: waiting for its send slot');
        return { kind: 'retry', delayMs: waitMs, data: { paced: true } };
      }
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
    // The first attempt of a redelivery starts it (fired / delivery_failed → firing), then every attempt counts.
    if (ref.deliveryNumber > 1) {
      const started = await this.runner.apply(ref.remediationId, (r) =>
        this.startsRedelivery(r, ref) ? { type: 'redelivery_started', delivery: this.nextDelivery(r, ref.deliveryNumber), actor: 'admin' } : null,
      );
      if (started.kind === 'applied') logger.info({ remediation: ref.remediationId, webhookId: started.after.delivery?.webhookId }, 'redelivery started');
    }
    const counted = await this.runner.apply(ref.remediationId, { type: 'delivery_attempted', number: ref.deliveryNumber });
    if (counted.kind !== 'applied') {
      const why = counted.kind === 'refused' ? counted.reason : 'remediation not found';
      logger.debug({ remediation: ref.remediationId, delivery: ref.deliveryNumber, why }, 'delivery attempt skipped');
      return { kind: 'skipped', why };
    }
    return this.record(ref, counted.after, await this.send(counted.after));
  }

  /**
   * Sends the attempt of r's current delivery that was just counted (one request, or one per part) and says what
   * the delivery policy makes of the answer. Nothing is stored: `record` (or `recordDelivered`) does that.
   */
  async send(r: Remediation): Promise<SentAttempt> {
    const { sender, clock } = this.deps;
    const d = r.delivery as Delivery;
    const result = d.parts && d.parts.length > 0 ? await this.sendParts(d.parts) : await sender.send({ id: d.webhookId, body: d.body });
    const step = nextStep({ result, attempt: d.attempts, now: clock.now(), deadline: Date.parse(d.deadline), random: this.random, backoff: this.settings.backoff ?? DEFAULT_BACKOFF });
    this.deps.telemetry?.deliveryAttempt('resolution', step.kind === 'delivered' ? 'delivered' : step.kind === 'give_up' ? 'failed' : 'retry');
    return { result, step };
  }

  /** Stores the outcome of a sent attempt of r (counted before it was sent) and says what its job does next. */
  async record(ref: DeliveryRef, r: Remediation, sent: SentAttempt): Promise<DeliveryOutcome> {
    const { clock, logger } = this.deps;
    const { result, step } = sent;
    const d = r.delivery as Delivery;
    const who = { remediation: r.id, host: r.host.id, owner: r.email, webhookId: d.webhookId, attempt: d.attempts };
    const status = result.kind === 'answered' ? result.status : undefined;
    if (step.kind === 'delivered') {
      await this.runner.apply(ref.remediationId, { type: 'delivery_succeeded', number: ref.deliveryNumber, status });
      this.logDelivered(ref, r, status);
      return { kind: 'delivered' };
    }
    if (step.kind === 'give_up') {
      await this.runner.apply(ref.remediationId, { type: 'delivery_failed', number: ref.deliveryNumber, status, error: step.error });
      logger.error({ ...who, status, err: step.error }, 'resolution webhook not delivered: delivery_failed');
      return { kind: 'failed' };
    }
    const nextAttemptAt = new Date(clock.now() + step.delayMs).toISOString();
    const retrying = await this.runner.apply(ref.remediationId, { type: 'delivery_retrying', number: ref.deliveryNumber, status, error: step.error, nextAttemptAt });
    if (retrying.kind !== 'applied' || retrying.after.status !== 'firing') {
      logger.info({ ...who, err: step.error }, 'resolution webhook failed and the remediation is no longer firing: not retried');
      return { kind: 'skipped', why: 'no longer firing' };
    }
    logger.warn({ ...who, status, err: describeResult(result), retryInMs: step.delayMs }, 'resolution webhook failed: will retry');
    // A retry is new traffic for the receiver: it takes a new send slot.
    return { kind: 'retry', delayMs: step.delayMs, ...(ref.paced ? { data: { paced: false } } : {}) };
  }

  /** Stores many delivered attempts of delivery 1 in one go (a burst of windows): each as `record` would. */
  async recordDelivered(items: Array<{ r: Remediation; sent: SentAttempt }>): Promise<void> {
    const status = (sent: SentAttempt) => (sent.result.kind === 'answered' ? sent.result.status : undefined);
    const number = (r: Remediation) => (r.delivery as Delivery).number;
    await this.runner.applyMany(
      items.map(({ r, sent }) => ({ id: r.id, lockName: lockNameFor(r), happening: { type: 'delivery_succeeded', number: number(r), status: status(sent) } })),
    );
    for (const { r, sent } of items) this.logDelivered({ remediationId: r.id, deliveryNumber: number(r) }, r, status(sent));
  }

  private logDelivered(ref: DeliveryRef, r: Remediation, status: number | undefined): void {
    const d = r.delivery as Delivery;
    // Delivery 1 of a window: how late after the start the receiver accepted it.
    const lateMs = ref.deliveryNumber === 1 && r.start ? this.deps.clock.now() - Date.parse(r.start) : undefined;
    if (lateMs !== undefined) this.deps.telemetry?.resolutionLateness?.(lateMs);
    this.deps.logger.info({ remediation: r.id, host: r.host.id, owner: r.email, webhookId: d.webhookId, attempt: d.attempts, status, lateMs }, 'resolution webhook delivered');
  }

  /**
   * `POST /v1/remediations/:id/redeliver`: a fired or delivery_failed remediation sends its payload again (the same
   * bytes) as a new delivery with a new `webhook-id`, retried like the first.
   *
   * Only the delivery job is written here; its first attempt moves the remediation to `firing` (startRedelivery).
   * So a daemon killed at any moment leaves either no request (the caller saw no 202) or a job that carries it
   * out, never a remediation stuck `firing` with nothing to fire it. The job id is the delivery number: repeating
   * the request before the job has started is the same redelivery.
   */
  async redeliver(id: string): Promise<RedeliverResult> {
    const { logger } = this.deps;
    const checked = await this.read(id, (r) => {
      const previous = r.delivery;
      if (!previous) return { kind: 'nothing_to_redeliver', reason: `remediation ${id} has not fired (${r.status}): nothing to redeliver` } as const;
      if (r.status !== 'fired' && r.status !== 'delivery_failed') {
        const why = r.status === 'firing' ? `delivery ${previous.webhookId} is in progress` : `remediation ${id} is ${r.status}`;
        return { kind: 'nothing_to_redeliver', reason: why } as const;
      }
      return { kind: 'ok', r, previous } as const;
    });
    if (!checked) return { kind: 'not_found' };
    if (checked.kind !== 'ok') return checked;
    const { r, previous } = checked;
    const ref = { remediationId: id, deliveryNumber: previous.number + 1 };
    await this.deps.scheduler.enqueueDelivery(ref);
    const webhookId = webhookIdFor(r, ref.deliveryNumber);
    logger.info(
      { remediation: id, host: r.host.id, owner: r.email, webhookId, previous: previous.webhookId, was: r.status },
      'resolution webhook redelivery requested',
    );
    return { kind: 'accepted', webhookId, deliveryNumber: ref.deliveryNumber };
  }

  /**
   * Takes the next send slot of every receiver this attempt goes to (one, or one per part): the ms to wait for the
   * latest. Nothing to send (the remediation is not firing, and this is no redelivery's start): no slot taken.
   */
  private async takeSendSlot(ref: DeliveryRef): Promise<number> {
    const { store, pacer, sender } = this.deps;
    const r = await store.get(ref.remediationId);
    if (!r || !pacer || !(r.status === 'firing' || this.startsRedelivery(r, ref))) return 0;
    const parts = r.delivery?.parts;
    const urls = parts && parts.length > 0 ? [...new Set(parts.map((p) => p.url))] : [sender.url];
    const waits = await Promise.all(urls.map((url) => pacer.reserve(url)));
    return Math.max(0, ...waits);
  }

  /** The job of the redelivery that follows r's last finished delivery. */
  private startsRedelivery(r: Remediation, ref: DeliveryRef): boolean {
    return ref.deliveryNumber > 1 && r.delivery?.number === ref.deliveryNumber - 1 && (r.status === 'fired' || r.status === 'delivery_failed');
  }

  /** The delivery that follows r's last one: the same body bytes (and parts) under new webhook-ids. */
  private nextDelivery(r: Remediation, number: number): Delivery {
    const previous = r.delivery as Delivery;
    const next = this.newDelivery(r, number, previous.body);
    return previous.parts ? { ...next, parts: partsOf(next.webhookId, previous.parts) } : next;
  }

  /** Every part, one after another; the first that is not a 2xx answer is the attempt's result (retried whole). */
  private async sendParts(parts: DeliveryPart[]): Promise<AttemptResult> {
    let last: AttemptResult | undefined;
    let failed: AttemptResult | undefined;
    for (const part of parts) {
      const sender = this.deps.senderFor?.(part.url);
      last = sender ? await sender.send({ id: part.webhookId, body: part.body }) : { kind: 'no_answer', error: `no sender for ${part.url}` };
      if (!(last.kind === 'answered' && last.status >= 200 && last.status < 300)) failed ??= last;
    }
    return (failed ?? last) as AttemptResult;
  }

  /**
   * The delivery's job itself failed for good (Redis or the daemon, not the receiver, e.g. a long Redis outage):
   * `delivery_failed` with the reason, so the API shows it and a redelivery can be asked for. Only a delivery
   * still in progress: one that ended meanwhile (delivered, say) keeps its outcome.
   */
  async giveUp(ref: DeliveryRef, error: string): Promise<boolean> {
    const applied = await this.runner.apply(ref.remediationId, { type: 'delivery_failed', number: ref.deliveryNumber, error, onlyIfFiring: true });
    const gaveUp = applied.kind === 'applied';
    if (gaveUp) this.deps.logger.error({ remediation: ref.remediationId, delivery: ref.deliveryNumber, err: error }, 'delivery given up: delivery_failed');
    return gaveUp;
  }

  /** Runs fn on the remediation as stored now; null when it does not exist. */
  private async read<T>(id: string, fn: (r: Remediation) => T): Promise<T | null> {
    const r = await this.deps.store.get(id);
    return r ? fn(r) : null;
  }
}

/** The parts of a delivery under its webhook-id: `<id>_u1`, `<id>_u2`, … (same URLs and bodies). */
export function partsOf(webhookId: string, parts: Array<Pick<DeliveryPart, 'url' | 'body'>>): DeliveryPart[] {
  return parts.map((p, i) => ({ url: p.url, body: p.body, webhookId: `${webhookId}_u${i + 1}` }));
}

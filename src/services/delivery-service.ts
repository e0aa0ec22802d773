import { webhookIdFor, type Delivery, type Remediation } from '../domain/remediation';
import { DEFAULT_BACKOFF, deliveryDeadline, describeResult, nextStep, type BackoffOptions } from '../webhook/delivery-policy';
import { lockNameFor, type DeliveryRef, type ServiceDeps } from './ports';

export type { DeliveryRef } from './ports';
import type { RemediationService } from './remediation-service';

export interface DeliverySettings {
  /** WEBHOOK_RETRY_BUDGET_SECONDS; unset: until the window ends + 30 min (see deliveryDeadline). */
  retryBudgetSeconds?: number;
  backoff?: BackoffOptions;
  random?: () => number;
}

/** What the job system does next with the delivery's job. */
export type DeliveryOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; delayMs: number }
  | { kind: 'failed' }
  | { kind: 'skipped'; why: string };

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
    private readonly remediations: RemediationService,
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
    const { sender, clock, logger } = this.deps;
    const started = await this.underLock(ref.remediationId, async (r) => {
      if (this.startsRedelivery(r, ref)) this.startRedelivery(r, ref.deliveryNumber);
      const d = r.delivery;
      if (!d || d.number !== ref.deliveryNumber) return { skip: `delivery ${ref.deliveryNumber} is not current` } as const;
      if (r.status !== 'firing') return { skip: `remediation is ${r.status}` } as const;
      d.attempts += 1;
      d.lastAttemptAt = new Date(clock.now()).toISOString();
      d.nextAttemptAt = undefined;
      await this.deps.store.save(r);
      return { r, d } as const;
    });
    if (!started || 'skip' in started) {
      const why = started?.skip ?? 'remediation not found';
      logger.debug({ remediation: ref.remediationId, delivery: ref.deliveryNumber, why }, 'delivery attempt skipped');
      return { kind: 'skipped', why };
    }
    const { r, d } = started;
    const result = await sender.send({ id: d.webhookId, body: d.body });
    const step = nextStep({ result, attempt: d.attempts, now: clock.now(), deadline: Date.parse(d.deadline), random: this.random, backoff: this.settings.backoff ?? DEFAULT_BACKOFF });
    const who = { remediation: r.id, host: r.host.id, owner: r.email, webhookId: d.webhookId, attempt: d.attempts };
    const status = result.kind === 'answered' ? result.status : undefined;
    if (step.kind === 'delivered') {
      await this.finish(ref, 'fired', (cur) => {
        cur.deliveredAt = new Date(clock.now()).toISOString();
        cur.lastStatus = status;
        cur.lastError = undefined;
      });
      logger.info({ ...who, status }, 'resolution webhook delivered');
      return { kind: 'delivered' };
    }
    if (step.kind === 'give_up') {
      await this.finish(ref, 'delivery_failed', (cur) => {
        cur.failedAt = new Date(clock.now()).toISOString();
        cur.lastStatus = status;
        cur.lastError = step.error;
      });
      logger.error({ ...who, status, err: step.error }, 'resolution webhook not delivered: delivery_failed');
      return { kind: 'failed' };
    }
    const stillFiring = await this.underLock(ref.remediationId, async (cur) => {
      const dc = cur.delivery;
      if (!dc || dc.number !== ref.deliveryNumber) return false;
      dc.lastStatus = status;
      dc.lastError = step.error;
      dc.nextAttemptAt = new Date(clock.now() + step.delayMs).toISOString();
      await this.deps.store.save(cur);
      return cur.status === 'firing';
    });
    if (!stillFiring) {
      logger.info({ ...who, err: step.error }, 'resolution webhook failed and the remediation is no longer firing: not retried');
      return { kind: 'skipped', why: 'no longer firing' };
    }
    logger.warn({ ...who, status, err: describeResult(result), retryInMs: step.delayMs }, 'resolution webhook failed: will retry');
    return { kind: 'retry', delayMs: step.delayMs };
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
    const checked = await this.underLock(id, async (r) => {
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

  /** The job of the redelivery that follows r's last finished delivery. */
  private startsRedelivery(r: Remediation, ref: DeliveryRef): boolean {
    return ref.deliveryNumber > 1 && r.delivery?.number === ref.deliveryNumber - 1 && (r.status === 'fired' || r.status === 'delivery_failed');
  }

  /** fired / delivery_failed → firing with a new delivery of the same body (the caller saves it). */
  private startRedelivery(r: Remediation, number: number): void {
    const previous = r.delivery as Delivery;
    r.delivery = this.newDelivery(r, number, previous.body);
    r.status = 'firing';
    r.reason = undefined;
    r.updatedAt = new Date(this.deps.clock.now()).toISOString();
  }

  /**
   * The delivery's job itself failed for good (Redis or the daemon, not the receiver, e.g. a long Redis outage):
   * `delivery_failed` with the reason, so the API shows it and a redelivery can be asked for.
   */
  async giveUp(ref: DeliveryRef, error: string): Promise<boolean> {
    const now = new Date(this.deps.clock.now()).toISOString();
    const record = (d: Delivery) => {
      d.failedAt = now;
      d.lastError = error;
    };
    // Only a delivery still in progress: one that ended meanwhile (delivered, say) keeps its outcome.
    const gaveUp = await this.finish(ref, 'delivery_failed', record, { onlyIfFiring: true });
    if (gaveUp) this.deps.logger.error({ remediation: ref.remediationId, delivery: ref.deliveryNumber, err: error }, 'delivery given up: delivery_failed');
    return gaveUp;
  }

  /** Records the delivery's end and closes the remediation (a remediation resolved meanwhile stays resolved). */
  private async finish(
    ref: DeliveryRef,
    status: 'fired' | 'delivery_failed',
    record: (d: Delivery) => void,
    opts: { onlyIfFiring?: boolean } = {},
  ): Promise<boolean> {
    const done = await this.underLock(ref.remediationId, async (r) => {
      if (!r.delivery || r.delivery.number !== ref.deliveryNumber) return false;
      if (opts.onlyIfFiring && r.status !== 'firing') return false;
      record(r.delivery);
      r.delivery.nextAttemptAt = undefined;
      if (r.status !== 'firing') {
        await this.deps.store.save(r);
        return true;
      }
      const reason = status === 'delivery_failed' ? `resolution webhook not delivered: ${r.delivery.lastError ?? 'unknown error'}` : undefined;
      await this.remediations.close(r, status, reason);
      return true;
    });
    return done === true;
  }

  /** Runs fn on the freshly read remediation under its owner's lock; null when it does not exist. */
  private async underLock<T>(id: string, fn: (r: Remediation) => Promise<T>): Promise<T | null> {
    const { store } = this.deps;
    const r = await store.get(id);
    if (!r) return null;
    return store.withOwnerLock(lockNameFor(r), async () => {
      const current = await store.get(id);
      return current ? fn(current) : null;
    });
  }
}

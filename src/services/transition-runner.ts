import { decide, type Happening, type Transition } from '../domain/remediation-lifecycle';
import type { LifecycleEvent } from '../domain/lifecycle-event';
import type { Remediation, RemediationStatus } from '../domain/remediation';
import type { StateWrite } from './ports';
import { lockNameFor, type ServiceDeps } from './ports';

/** What applying a happening came to. */
export type Applied =
  | {
      kind: 'applied';
      before: Remediation | null;
      after: Remediation;
      events: LifecycleEvent[];
      /** The owner's next host, handed over in the same transaction (hand-over rule). */
      handedOver: Remediation | null;
    }
  | { kind: 'unchanged'; current: Remediation }
  /** The lifecycle refused it in the remediation's current state. */
  | { kind: 'refused'; current: Remediation; status: RemediationStatus | null; reason: string }
  /** The caller's view was stale (the happening factory said so), or no such remediation. */
  | { kind: 'skipped'; current: Remediation | null };

export interface ApplyOptions {
  /**
   * Runs after the decision and before it is stored, under the lock: jobs that must exist before the state that
   * needs them (a fire job before the booking, an event withdrawal before the change that gives the event up).
   */
  before?: (t: Transition, current: Remediation | null) => Promise<void>;
}

/** The happening for the current state, or null when the caller's view is stale (nothing to do). */
export type HappeningFor = Happening | ((current: Remediation) => Happening | null);

/**
 * Applies the lifecycle's decisions: reads the remediation under its owner's lock, asks `decide`, stores the new
 * state with its events (and the owner's hand-over) in one transaction. Services never assign a status; they say
 * what happened here.
 */
export class TransitionRunner {
  constructor(private readonly deps: ServiceDeps) {}

  /**
   * Applies a happening to remediation `id` under the lock that guards it (its owner's, or its host's while it has
   * none). If that lock changed between the read and taking it (the owner was assigned or lost meanwhile), the lock
   * is released and the right one taken: never two remediation locks held at once.
   */
  async apply(id: string, happening: HappeningFor, opts: ApplyOptions = {}): Promise<Applied> {
    const { store } = this.deps;
    for (let tries = 0; ; tries++) {
      const seen = await store.get(id);
      if (!seen) return { kind: 'skipped', current: null };
      const lock = lockNameFor(seen);
      const outcome = await store.withOwnerLock(lock, async () => {
        const current = await store.get(id);
        if (!current) return { kind: 'skipped', current: null } as const;
        if (lockNameFor(current) !== lock) return 'relock' as const;
        return this.applyLocked(current, happening, opts);
      });
      if (outcome !== 'relock') return outcome;
      if (tries >= 5) throw new Error(`remediation ${id} kept changing hands while being updated`);
    }
  }

  /** Applies a happening to `current` (null: a new remediation); the caller holds the lock that guards it. */
  async applyLocked(current: Remediation | null, happening: HappeningFor, opts: ApplyOptions = {}): Promise<Applied> {
    const { store, clock } = this.deps;
    const h = typeof happening === 'function' ? (current ? happening(current) : null) : happening;
    if (!h) return { kind: 'skipped', current };
    const now = clock.now();
    const decision = decide(current, h, { now });
    if (!decision.ok) {
      if (!current) return { kind: 'skipped', current: null };
      return { kind: 'refused', current, status: decision.status, reason: decision.reason };
    }
    if (decision.unchanged) return { kind: 'unchanged', current: decision.remediation };
    if (opts.before) await opts.before(decision, current);
    const writes: StateWrite[] = [
      {
        remediation: decision.remediation,
        index: { ...decision.index },
        events: decision.events,
        previousStatus: current?.status ?? null,
        owner: current?.email ?? undefined,
      },
    ];
    // Pointers are cleared only where they still name this remediation (a firing one's host may have a newer one).
    if (decision.index.openForHost === false && (await store.openIdForHost(decision.remediation.host.id)) !== decision.remediation.id) {
      delete writes[0].index!.openForHost;
    }
    let handedOver: Remediation | null = null;
    const ownerOf = decision.remediation.email ?? current?.email ?? null;
    if (ownerOf && decision.index.activeForOwner === false) {
      // Only the owner's actual active remediation frees them: a pointer naming another one is not ours to clear.
      // A missing pointer (older data) still lets the queue move on.
      const active = await store.activeForOwner(ownerOf);
      if (active !== null && active !== decision.remediation.id) delete writes[0].index!.activeForOwner;
      else if (decision.releasesOwner) {
        const next = await this.nextWaiting(ownerOf, now);
        if (next) {
          writes.push(next.write);
          handedOver = next.write.remediation;
        }
      }
    }
    const events = await store.commit(writes, now);
    await this.afterCommit(events, handedOver);
    return { kind: 'applied', before: current, after: decision.remediation, events, handedOver };
  }

  /** Hand-over: the owner's next queued remediation (lowest host id) made pending; stale queue entries dropped. */
  private async nextWaiting(email: string, now: number): Promise<{ write: StateWrite } | null> {
    const { store } = this.deps;
    for (;;) {
      const nextId = await store.firstWaiting(email);
      if (!nextId) return null;
      const next = await store.get(nextId);
      const decision = next && next.email === email ? decide(next, { type: 'owner_freed' }, { now }) : null;
      if (!decision || !decision.ok || decision.unchanged) {
        await store.removeWaiting(email, nextId);
        continue;
      }
      return { write: { remediation: decision.remediation, index: decision.index, events: decision.events, previousStatus: 'queued' } };
    }
  }

  private async afterCommit(events: LifecycleEvent[], handedOver: Remediation | null): Promise<void> {
    const { scheduler, logger } = this.deps;
    for (const e of events) {
      logger.info(
        { remediation: e.remediation_id, host: e.host_id, owner: e.email, actor: e.actor, event: e.type, ...eventLogFields(e) },
        `lifecycle: ${e.type}`,
      );
    }
    this.deps.telemetry?.events(events);
    if (events.length > 0) await scheduler.requestLifecycleDispatch();
    if (handedOver) {
      logger.info({ remediation: handedOver.id, host: handedOver.host.id, owner: handedOver.email }, 'owner free: next host handed over for booking');
      await scheduler.requestBooking();
    }
  }
}

/** A few telling fields of an event for its log line (never the whole data: it may hold texts). */
function eventLogFields(e: LifecycleEvent): Record<string, unknown> {
  const d = e.data;
  const pick = ['status', 'previous_status', 'start', 'previous_start', 'reason', 'webhook_id', 'http_status', 'booking_number'];
  return Object.fromEntries(pick.filter((k) => d[k] !== undefined).map((k) => [k, d[k]]));
}

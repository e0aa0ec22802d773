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
  /**
   * The instant the lifecycle decides as of, if not now: windows claimed just ahead of their start (FireBurst)
   * start at their start (firedAt, updatedAt, late_ms). The change is stored now: its events occur now, and the
   * indexes (a handed-over host's place in the booking queue, say) are as of now.
   */
  at?: number;
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
    const now = clock.now();
    const decided = this.decideFor(current, happening, opts.at ?? now);
    if (decided.kind !== 'transition') return decided.applied;
    if (opts.before) await opts.before(decided.transition, current);
    const prepared = await this.prepare(decided.transition, current, now);
    const events = await store.commit(prepared.writes, now);
    await this.afterCommit(events, prepared.handedOver ? [prepared.handedOver] : []);
    return { kind: 'applied', before: current, after: decided.transition.remediation, events, handedOver: prepared.handedOver };
  }

  /**
   * Applies happenings to many remediations of different owners at once (a burst of windows starting together):
   * the locks taken in one round trip, the remediations read in one, every change and its events stored in one
   * transaction. Each item comes out as `apply` would have answered it. An item whose lock is busy, or whose owner
   * has another item in the batch, is applied on its own afterwards (waiting for its lock as `apply` does).
   * `before` runs once, under the locks, with every transition about to be stored.
   */
  async applyMany(
    items: Array<{ id: string; happening: HappeningFor; /** The lock the caller saw guarding it (checked under it). */ lockName?: string }>,
    opts: { before?: (transitions: Transition[]) => Promise<void>; at?: ApplyOptions['at'] } = {},
  ): Promise<Applied[]> {
    const { store, clock } = this.deps;
    const results: Array<Applied | undefined> = new Array(items.length);
    // The locks to take: named by the caller, or read from the remediations as they are now.
    const unnamed = items.filter((i) => i.lockName === undefined).map((i) => i.id);
    const seen = new Map((unnamed.length > 0 ? await store.getMany(unnamed) : []).map((r) => [r.id, r]));
    const byLock = new Map<string, number>();
    const alone: number[] = [];
    items.forEach((item, i) => {
      const r = seen.get(item.id);
      const name = item.lockName ?? (r ? lockNameFor(r) : undefined);
      if (name === undefined) results[i] = { kind: 'skipped', current: null };
      else if (byLock.has(name)) alone.push(i);
      else byLock.set(name, i);
    });
    await store.withOwnerLocks([...byLock.keys()], async (held) => {
      const locked: Array<[string, number]> = [];
      for (const [name, i] of byLock) {
        if (held.has(name)) locked.push([name, i]);
        else alone.push(i);
      }
      const current = new Map((await store.getMany(locked.map(([, i]) => items[i].id))).map((r) => [r.id, r]));
      const now = clock.now();
      const batch: Array<{ i: number; t: Transition; current: Remediation }> = [];
      for (const [name, i] of locked) {
        const cur = current.get(items[i].id);
        if (!cur) results[i] = { kind: 'skipped', current: null };
        else if (lockNameFor(cur) !== name) alone.push(i);
        else {
          const decided = this.decideFor(cur, items[i].happening, opts.at ?? now);
          if (decided.kind === 'transition') batch.push({ i, t: decided.transition, current: cur });
          else results[i] = decided.applied;
        }
      }
      if (batch.length === 0) return;
      if (opts.before) await opts.before(batch.map((b) => b.t));
      const prepared = await Promise.all(batch.map((b) => this.prepare(b.t, b.current, now)));
      const events = await store.commit(prepared.flatMap((p) => p.writes), now);
      // commit answers the stored events in the order of the writes and their drafts.
      let at = 0;
      batch.forEach((b, k) => {
        const count = prepared[k].writes.reduce((n, w) => n + (w.events?.length ?? 0), 0);
        const own = events.slice(at, at + count);
        at += count;
        results[b.i] = { kind: 'applied', before: b.current, after: b.t.remediation, events: own, handedOver: prepared[k].handedOver };
      });
      await this.afterCommit(events, prepared.map((p) => p.handedOver).filter((r): r is Remediation => r !== null));
    });
    for (const i of alone) results[i] = await this.apply(items[i].id, items[i].happening, { at: opts.at });
    return results as Applied[];
  }

  /** The lifecycle's answer to a happening: a transition to store, or what applying it came to without one. */
  private decideFor(current: Remediation | null, happening: HappeningFor, now: number): { kind: 'transition'; transition: Transition } | { kind: 'done'; applied: Applied } {
    const h = typeof happening === 'function' ? (current ? happening(current) : null) : happening;
    if (!h) return { kind: 'done', applied: { kind: 'skipped', current } };
    const decision = decide(current, h, { now });
    if (!decision.ok) {
      if (!current) return { kind: 'done', applied: { kind: 'skipped', current: null } };
      return { kind: 'done', applied: { kind: 'refused', current, status: decision.status, reason: decision.reason } };
    }
    if (decision.unchanged) return { kind: 'done', applied: { kind: 'unchanged', current: decision.remediation } };
    return { kind: 'transition', transition: decision };
  }

  /** The writes of a transition: its state, the pointers it still owns, and the owner's next host (hand-over). */
  private async prepare(decision: Transition, current: Remediation | null, now: number): Promise<{ writes: StateWrite[]; handedOver: Remediation | null }> {
    const { store } = this.deps;
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
    return { writes, handedOver };
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

  private async afterCommit(events: LifecycleEvent[], handedOver: Remediation[]): Promise<void> {
    const { scheduler, logger } = this.deps;
    for (const e of events) {
      logger.info(
        { remediation: e.remediation_id, host: e.host_id, owner: e.email, actor: e.actor, event: e.type, ...eventLogFields(e) },
        `lifecycle: ${e.type}`,
      );
    }
    this.deps.telemetry?.events(events);
    if (events.length > 0) await scheduler.requestLifecycleDispatch();
    for (const r of handedOver) logger.info({ remediation: r.id, host: r.host.id, owner: r.email }, 'owner free: next host handed over for booking');
    if (handedOver.length > 0) await scheduler.requestBooking();
  }
}

/** A few telling fields of an event for its log line (never the whole data: it may hold texts). */
function eventLogFields(e: LifecycleEvent): Record<string, unknown> {
  const d = e.data;
  const pick = ['status', 'previous_status', 'start', 'previous_start', 'reason', 'webhook_id', 'http_status', 'booking_number', 'late_ms'];
  return Object.fromEntries(pick.filter((k) => d[k] !== undefined).map((k) => [k, d[k]]));
}

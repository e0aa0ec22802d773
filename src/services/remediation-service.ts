import { chooseOwnerEmail, type OwnerChoice } from '../domain/owner-email';
import { buildEventDescription } from '../domain/event-text';
import {
  isOpen,
  mergeFailingPolicy,
  takesNewFailures,
  removePassingPolicy,
  type FailingPolicy,
  type HostInfo,
  type Remediation,
} from '../domain/remediation';
import { FleetHostNotFoundError } from '../fleet/fleet-client';
import type { PolicyEvent } from '../ingest/policy-event';
import type { IndexChanges } from '../store/remediation-store';
import { lockNameFor, type EventWithdrawal, type ServiceDeps } from './ports';

/** How long the time of a host+policy's last event is remembered for ordering (longer than any retry). */
const EVENT_ORDER_TTL_SECONDS = 30 * 86_400;

/**
 * Applies policy events to remediations: opens one per failing host, merges further failing policies into it,
 * resolves it when every policy passes, and hands the owner over to their next failing host.
 * Every state change happens under the owner's lock; calendar I/O happens outside it.
 */
export class RemediationService {
  constructor(private readonly deps: ServiceDeps) {}

  async handle(event: PolicyEvent): Promise<void> {
    const occurredAt = Date.parse(event.occurred_at);
    if (!(await this.deps.store.markLatestEvent(event.host.id, event.policy.id, occurredAt, EVENT_ORDER_TTL_SECONDS))) {
      this.deps.logger.info(
        { host: event.host.id, policy: event.policy.id, type: event.type, occurredAt: event.occurred_at },
        'event older than one already applied for this host and policy: ignored',
      );
      return;
    }
    if (event.type === 'policy_failing') await this.onFailing(event);
    else await this.onPassing(event);
  }

  private async onFailing(event: PolicyEvent): Promise<void> {
    const { store, logger } = this.deps;
    const policy = toFailingPolicy(event);
    // An assigned, not yet firing remediation of the host takes the new failure; otherwise one is (re)opened.
    const joinable = (r: Remediation) => r.status !== 'unassigned' && takesNewFailures(r);
    const open = await store.openForHost(event.host.id);
    if (open && joinable(open)) {
      await this.mergeInto(open, policy, event);
      return;
    }
    const owner = await this.resolveOwner(event);
    // The host's lock always (two events for one host, one naming an owner and one not, must not both open a
    // remediation), then the owner's, which guards every later change. Always in this order: no deadlock.
    const hostLock = `host:${event.host.id}`;
    const underLocks = <T>(fn: () => Promise<T>): Promise<T> =>
      store.withOwnerLock(hostLock, () => (owner.choice.email ? store.withOwnerLock(`owner:${owner.choice.email}`, fn) : fn()));
    const created = await underLocks(async () => {
      const open = await store.openForHost(event.host.id);
      if (open && joinable(open)) return { merge: open, saved: open, isNew: false };
      // An unassigned remediation is taken up again; a firing one is left to finish (the host's next one starts).
      const current = open?.status === 'unassigned' ? open : null;
      const now = new Date(this.deps.clock.now()).toISOString();
      const r: Remediation = current
        ? { ...current, host: owner.host, updatedAt: now }
        : {
            id: await store.nextId(event.host.id),
            host: owner.host,
            email: null,
            status: 'unassigned',
            policies: [],
            bookingNumber: 0,
            rebookCount: 0,
            createdAt: now,
            updatedAt: now,
          };
      r.policies = mergeFailingPolicy(r.policies, policy).policies;
      const choice = owner.choice;
      if (choice.email === null) {
        r.status = 'unassigned';
        r.reason = choice.reason;
        await store.save(r, { openForHost: true });
      } else await this.assign(r, choice.email, { openForHost: true });
      return { merge: null, saved: r, isNew: !current };
    });
    if (created.merge) {
      await this.mergeInto(created.merge, policy, event);
      return;
    }
    const r = created.saved;
    logger.info(
      { remediation: r.id, host: r.host.id, owner: r.email, status: r.status, policy: policy.id, reason: r.reason },
      r.status === 'unassigned' ? 'remediation kept unassigned: no usable owner' : `remediation ${created.isNew ? 'opened' : 'assigned'} (${r.status})`,
    );
    // The owner lookup failed for now (Fleet down): the event's job is retried and assigns it then.
    if (owner.retry) throw owner.retry;
    if (r.status === 'pending') await this.deps.scheduler.requestBooking();
  }

  /** A further failing policy for a host that already has an open remediation. */
  private async mergeInto(open: Remediation, policy: FailingPolicy, event: PolicyEvent): Promise<void> {
    const { store, logger } = this.deps;
    const updated = await store.withOwnerLock(lockNameFor(open), async () => {
      const r = await store.get(open.id);
      if (!r || !takesNewFailures(r)) return null;
      const merged = mergeFailingPolicy(r.policies, policy);
      if (!merged.changed) return { r, changed: false };
      r.policies = merged.policies;
      if (event.host.display_name) r.host.displayName = event.host.display_name;
      r.updatedAt = new Date(this.deps.clock.now()).toISOString();
      await store.save(r);
      return { r, changed: true };
    });
    if (!updated) {
      // Closed between the read and the lock (fired or resolved): this failing event starts a new cycle.
      await this.onFailing(event);
      return;
    }
    logger.info(
      { remediation: updated.r.id, host: updated.r.host.id, owner: updated.r.email, policy: policy.id, changed: updated.changed },
      updated.changed ? 'failing policy added to open remediation' : 'failing policy already known',
    );
    if (updated.changed) await this.refreshEventText(updated.r);
  }

  /**
   * Gives an ownerless remediation its owner: it is booked now, or waits while the owner has another host.
   * The remediation and every pointer to it are written in one transaction (`also`: the caller's own changes).
   */
  private async assign(r: Remediation, email: string, also: IndexChanges): Promise<void> {
    const { store } = this.deps;
    r.email = email;
    const activeId = await store.activeForOwner(email);
    const active = activeId && activeId !== r.id ? await store.get(activeId) : null;
    if (active && isOpen(active)) {
      r.status = 'queued';
      r.reason = `waiting: ${email} already has a maintenance window for host ${active.host.displayName} (${active.host.id})`;
      await store.save(r, { ...also, waiting: true });
    } else {
      r.status = 'pending';
      r.reason = undefined;
      await store.save(r, { ...also, activeForOwner: true, pendingSince: this.deps.clock.now() });
    }
  }

  private async onPassing(event: PolicyEvent): Promise<void> {
    const { store, logger } = this.deps;
    const open = await store.openForHost(event.host.id);
    if (!open) {
      logger.debug({ host: event.host.id, policy: event.policy.id }, 'policy passing for a host without open remediation');
      return;
    }
    const outcome = await store.withOwnerLock(lockNameFor(open), async () => {
      const r = await store.get(open.id);
      if (!r || !isOpen(r)) return null;
      const remaining = removePassingPolicy(r.policies, event.policy.id);
      if (remaining.length === r.policies.length) return { r, resolved: false, changed: false };
      r.updatedAt = new Date(this.deps.clock.now()).toISOString();
      if (remaining.length > 0) {
        r.policies = remaining;
        await store.save(r);
        return { r, resolved: false, changed: true };
      }
      const before = { status: r.status, eventId: r.calendarEventId, start: r.start };
      const withdraw = r.status === 'booked' && r.calendarEventId && r.email && Date.parse(r.start ?? '') > this.deps.clock.now();
      if (withdraw) await this.deps.scheduler.withdrawEvent({ remediationId: r.id, owner: r.email as string, eventId: r.calendarEventId as string });
      await this.close(r, 'resolved');
      return { r, resolved: true, changed: true, before };
    });
    if (!outcome) return;
    const { r } = outcome;
    if (!outcome.resolved) {
      logger.info({ remediation: r.id, host: r.host.id, owner: r.email, policy: event.policy.id, remaining: r.policies.length }, 'policy passing');
      if (outcome.changed) await this.refreshEventText(r);
      return;
    }
    logger.info({ remediation: r.id, host: r.host.id, owner: r.email, was: outcome.before?.status }, 'every policy passes: remediation resolved');
  }

  /**
   * The job that takes one of our events off the calendar. It waits (fails, and is retried) while the
   * remediation still holds the event as its booking: the change that gives it up is not saved yet. A change
   * that was never saved (the daemon died) leaves the event where it belongs once the retries run out.
   */
  async withdrawEvent(w: EventWithdrawal): Promise<void> {
    const { store, calendar, logger } = this.deps;
    const r = await store.get(w.remediationId);
    if (r && r.status === 'booked' && r.calendarEventId === w.eventId) {
      throw new Error(`event ${w.eventId} is still the booking of ${w.remediationId}: not withdrawn yet`);
    }
    await calendar.deleteEvent(w.owner, w.eventId);
    logger.info({ remediation: w.remediationId, owner: w.owner, event: w.eventId, status: r?.status }, 'maintenance event withdrawn from the calendar');
  }

  /**
   * Takes a remediation off its owner's hands and frees the owner for their next host. `resolved`, `fired` and
   * `delivery_failed` end it; `unassigned` (the owner's calendar cannot be used) keeps it open for its host, so a
   * later event naming a usable owner picks it up again. Must run under the remediation's lock.
   */
  async close(r: Remediation, status: 'resolved' | 'fired' | 'delivery_failed' | 'unassigned', reason?: string): Promise<void> {
    const { store, clock } = this.deps;
    const previous = r.status;
    const now = new Date(clock.now()).toISOString();
    r.status = status;
    r.reason = reason;
    r.updatedAt = now;
    if (status === 'resolved') r.resolvedAt = now;
    // Off every queue and pointer in the same transaction as the new status (and the owner's hand-over).
    const changes: IndexChanges = { pending: false, waiting: false };
    if (status !== 'unassigned' && (await store.openForHost(r.host.id))?.id === r.id) changes.openForHost = false;
    await this.saveAndHandOver(r, changes);
    if (previous === 'booked' || previous === 'firing') await this.deps.scheduler.requestChannelMaintenance();
  }

  /**
   * Saves r with its pointer changes and, if r was its owner's active remediation, hands the owner over to their
   * next waiting host (lowest host id first) IN THE SAME TRANSACTION: a daemon killed at any moment never leaves
   * an owner free with hosts still queued. Runs under the owner's lock.
   */
  async saveAndHandOver(r: Remediation, changes: IndexChanges): Promise<void> {
    const { store, clock, logger, scheduler } = this.deps;
    const wasActive = r.email !== null && (await store.activeForOwner(r.email)) === r.id;
    if (!wasActive || !r.email) {
      await store.save(r, changes);
      return;
    }
    const next = await this.nextWaiting(r.email);
    const writes: Array<[Remediation, IndexChanges]> = [[r, { ...changes, activeForOwner: false }]];
    if (next) writes.push([next, { waiting: false, activeForOwner: true, pendingSince: clock.now() }]);
    await store.saveAll(writes);
    if (!next) return;
    logger.info({ remediation: next.id, host: next.host.id, owner: r.email }, 'owner free: next host handed over for booking');
    await scheduler.requestBooking();
  }

  /** The owner's next queued remediation, made pending (not saved); stale queue entries are dropped on the way. */
  private async nextWaiting(email: string): Promise<Remediation | null> {
    const { store, clock } = this.deps;
    for (;;) {
      const nextId = await store.firstWaiting(email);
      if (!nextId) return null;
      const next = await store.get(nextId);
      if (!next || next.status !== 'queued' || next.email !== email) {
        await store.removeWaiting(email, nextId);
        continue;
      }
      next.status = 'pending';
      next.reason = undefined;
      next.updatedAt = new Date(clock.now()).toISOString();
      return next;
    }
  }

  /** When the failing policies or their texts change, the booked event gets the new description. */
  private async refreshEventText(r: Remediation): Promise<void> {
    if (r.status !== 'booked' || !r.email || !r.calendarEventId) return;
    try {
      await this.deps.calendar.patchEvent(r.email, r.calendarEventId, {
        description: buildEventDescription({
          orgName: this.deps.settings.orgName,
          hostDisplayName: r.host.displayName,
          policies: r.policies,
          onlyTimeLeft: r.onlyTimeLeft ?? false,
        }),
      });
      this.deps.logger.info({ remediation: r.id, owner: r.email, event: r.calendarEventId }, 'event description updated');
    } catch (err) {
      this.deps.logger.warn({ remediation: r.id, owner: r.email, err }, 'could not update the event description');
    }
  }

  /** Host details and owner: from the event itself, or from the Fleet API when the event names no emails. */
  private async resolveOwner(event: PolicyEvent): Promise<{ host: HostInfo; choice: OwnerChoice; retry?: Error }> {
    const { hosts, settings, logger } = this.deps;
    const fromEvent: HostInfo = {
      id: event.host.id,
      displayName: event.host.display_name || event.host.hostname || `host ${event.host.id}`,
      serialNumber: event.host.serial_number ?? '',
      teamId: event.host.team_id ?? null,
    };
    if (event.host.emails) {
      return { host: fromEvent, choice: chooseOwnerEmail(event.host.emails.map((email) => ({ email, source: 'event' })), settings.domain) };
    }
    if (!hosts) return { host: fromEvent, choice: { email: null, reason: 'event names no owner email and no Fleet API is configured' } };
    try {
      const h = await hosts.lookupHost(event.host.id);
      return {
        host: { id: h.id, displayName: h.displayName, serialNumber: h.serialNumber, teamId: h.teamId },
        choice: chooseOwnerEmail(h.emails, settings.domain),
      };
    } catch (err) {
      if (err instanceof FleetHostNotFoundError) {
        logger.warn({ host: event.host.id }, 'host not found in Fleet');
        return { host: fromEvent, choice: { email: null, reason: err.message } };
      }
      // Fleet unavailable: kept unassigned with the reason (visible, not dropped), and the job is retried.
      const message = (err as Error).message;
      return { host: fromEvent, choice: { email: null, reason: `owner not known yet: ${message}; retrying` }, retry: err as Error };
    }
  }
}

function toFailingPolicy(event: PolicyEvent): FailingPolicy {
  return {
    id: event.policy.id,
    name: event.policy.name,
    description: event.policy.description ?? null,
    resolution: event.policy.resolution ?? null,
  };
}

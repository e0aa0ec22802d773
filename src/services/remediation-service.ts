import { chooseOwnerEmail, type OwnerChoice } from '../domain/owner-email';
import { buildEventDescription } from '../domain/event-text';
import type { Actor } from '../domain/lifecycle-event';
import { takesNewFailures, type OwnerLookup } from '../domain/remediation-lifecycle';
import { isOpen, type FailingPolicy, type HostInfo, type Remediation } from '../domain/remediation';
import { FleetHostNotFoundError } from '../fleet/fleet-client';
import type { PolicyEvent } from '../ingest/policy-event';
import { type EventWithdrawal, type ServiceDeps } from './ports';
import type { TransitionRunner } from './transition-runner';

/** How long the time of a host+policy's last event is remembered for ordering (longer than any retry). */
const EVENT_ORDER_TTL_SECONDS = 30 * 86_400;

/**
 * Applies policy events to remediations: opens one per failing host, merges further failing policies into it,
 * resolves it when every policy passes. What each of these does to the remediation is the lifecycle's decision
 * (remediation-lifecycle.ts); this service finds the owner, takes the locks and runs the calendar side effects.
 */
export class RemediationService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly runner: TransitionRunner,
  ) {}

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
    const actor = actorOf(event);
    // An assigned, not yet firing remediation of the host takes the new failure; otherwise one is (re)opened.
    const open = await store.openForHost(event.host.id);
    if (open && takesNewFailures(open) && (await this.mergeInto(open, policy, event))) return;
    const owner = await this.resolveOwner(event);
    // The host's lock always (two events for one host, one naming an owner and one not, must not both open a
    // remediation), then the owner's, which guards every later change. Always in this order: no deadlock.
    const hostLock = `host:${event.host.id}`;
    const underLocks = <T>(fn: () => Promise<T>): Promise<T> =>
      store.withOwnerLock(hostLock, () => (owner.choice.email ? store.withOwnerLock(`owner:${owner.choice.email}`, fn) : fn()));
    const outcome = await underLocks(async () => {
      const open = await store.openForHost(event.host.id);
      if (open && takesNewFailures(open)) return { kind: 'merge', merge: open } as const;
      // An unassigned remediation is taken up again; a firing one is left to finish (the host's next one starts).
      const current = open?.status === 'unassigned' ? open : null;
      const id = current ? current.id : await store.nextId(event.host.id);
      const lookup = await this.ownerLookup(owner.choice, id);
      const applied = await this.runner.applyLocked(current, { type: 'policy_failing', id, host: owner.host, policy, owner: lookup, actor });
      return { kind: 'applied', applied } as const;
    });
    if (outcome.kind === 'merge') {
      if (!(await this.mergeInto(outcome.merge, policy, event))) await this.onFailing(event);
      return;
    }
    const applied = outcome.applied;
    if (applied.kind === 'applied') {
      const r = applied.after;
      logger.info(
        { remediation: r.id, host: r.host.id, owner: r.email, status: r.status, policy: policy.id, reason: r.reason },
        r.status === 'unassigned' ? 'remediation kept unassigned: no usable owner' : `remediation ${applied.before ? 'assigned' : 'opened'} (${r.status})`,
      );
      if (r.status === 'pending') await this.deps.scheduler.requestBooking();
    }
    // The owner lookup failed for now (Fleet down): the event's job is retried and assigns it then.
    if (owner.retry) throw owner.retry;
  }

  /** One host per owner: whom the owner is busy with (their active, open remediation), as the lifecycle asks. */
  private async ownerLookup(choice: OwnerChoice, remediationId: string): Promise<OwnerLookup> {
    if (choice.email === null) return { email: null, reason: choice.reason };
    const { store } = this.deps;
    const activeId = await store.activeForOwner(choice.email);
    const active = activeId && activeId !== remediationId ? await store.get(activeId) : null;
    const busyWith = active && isOpen(active) ? { remediationId: active.id, hostId: active.host.id, hostName: active.host.displayName } : null;
    return { email: choice.email, busyWith };
  }

  /**
   * A further failing policy for a host that already has an open remediation. False when that remediation was
   * closed between the read and the lock (fired or resolved): the failing event then starts a new cycle.
   */
  private async mergeInto(open: Remediation, policy: FailingPolicy, event: PolicyEvent): Promise<boolean> {
    const { logger } = this.deps;
    const host: HostInfo = { ...open.host, displayName: event.host.display_name ?? '' };
    const applied = await this.runner.apply(open.id, (cur) =>
      takesNewFailures(cur) ? { type: 'policy_failing', host, policy, actor: actorOf(event) } : null,
    );
    if (applied.kind === 'skipped' || applied.kind === 'refused') return false;
    const changed = applied.kind === 'applied';
    const r = changed ? applied.after : applied.current;
    logger.info(
      { remediation: r.id, host: r.host.id, owner: r.email, policy: policy.id, changed },
      changed ? 'failing policy added to open remediation' : 'failing policy already known',
    );
    if (changed) await this.refreshEventText(r);
    return true;
  }

  private async onPassing(event: PolicyEvent): Promise<void> {
    const { store, logger } = this.deps;
    const open = await store.openForHost(event.host.id);
    if (!open) {
      logger.debug({ host: event.host.id, policy: event.policy.id }, 'policy passing for a host without open remediation');
      return;
    }
    await this.passPolicy(open.id, event.policy.id, actorOf(event));
  }

  /**
   * A policy of remediation `id` passes (an ingested event, or Fleet's own results: actor `fleet`): it leaves the
   * remediation; the last one resolves it, its future event is withdrawn and the owner's next host booked.
   * Returns the remediation as it is now (null: nothing applied).
   */
  async passPolicy(id: string, policyId: number, actor: Actor): Promise<Remediation | null> {
    const { logger, scheduler, clock } = this.deps;
    const applied = await this.runner.apply(
      id,
      (cur) => (isOpen(cur) ? { type: 'policy_passing', policyId, actor } : null),
      {
        // The resolved host's future event goes: a job added before the resolution is saved.
        before: async (t, cur) => {
          if (t.remediation.status === 'resolved' && cur) await this.withdrawFutureEvent(cur, clock.now());
        },
      },
    );
    if (applied.kind !== 'applied') return null;
    const r = applied.after;
    if (r.status !== 'resolved') {
      logger.info({ remediation: r.id, host: r.host.id, owner: r.email, policy: policyId, remaining: r.policies.length, actor }, 'policy passing');
      await this.refreshEventText(r);
      return r;
    }
    logger.info({ remediation: r.id, host: r.host.id, owner: r.email, was: applied.before?.status, actor }, 'every policy passes: remediation resolved');
    if (applied.before?.status === 'booked' || applied.before?.status === 'firing') await scheduler.requestChannelMaintenance();
    return r;
  }

  /** A booked window that has not started yet leaves the calendar (a job: see withdrawEvent). */
  async withdrawFutureEvent(r: Remediation, now: number): Promise<boolean> {
    if (r.status !== 'booked' || !r.calendarEventId || !r.email || !(Date.parse(r.start ?? '') > now)) return false;
    await this.deps.scheduler.withdrawEvent({ remediationId: r.id, owner: r.email, eventId: r.calendarEventId });
    return true;
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

  /** When the failing policies or their texts change, the booked event gets the new description. */
  private async refreshEventText(r: Remediation): Promise<void> {
    if (r.status !== 'booked' || !r.email || !r.calendarEventId) return;
    try {
      await this.deps.calendar.updateEvent(r.email, r.calendarEventId, {
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

/** `fleet` for an event that came through Fleet's webhook route, `producer` for any other ingested event. */
function actorOf(event: PolicyEvent): Actor {
  return event.source === 'fleet' ? 'fleet' : 'producer';
}

function toFailingPolicy(event: PolicyEvent): FailingPolicy {
  return {
    id: event.policy.id,
    name: event.policy.name,
    description: event.policy.description ?? null,
    resolution: event.policy.resolution ?? null,
  };
}

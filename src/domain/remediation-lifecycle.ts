/**
 * The remediation lifecycle: the ONE place that decides every change of a remediation's status, and says which
 * domain events each change produced. Pure and clock-injected: given a remediation, what happened and `now`, it
 * returns the new remediation (a new object), its events and the index changes; services only apply the answer
 * (store it with its events in one transaction, run the side effects). No other code assigns `status`.
 *
 *                      remediation.created
 *                             │
 *                             ▼
 *   ┌──────────── unassigned ─┴─ remediation.assigned ─┬──────────────────────────────┐
 *   │   ▲                                              │ owner busy: remediation.queued│ owner free
 *   │   │ remediation.unassigned                       ▼                               ▼
 *   │   │ (owner's calendar unusable)               queued ── remediation.assigned ──▶ pending ◀── window.rebooked ──┐
 *   │   └──────────────────────────────────────────────────────────────(hand-over)────┘  │                          │
 *   │                                                                                     │ window.booked            │
 *   │                                                                                     ▼                          │
 *   │                                     window.moved (owner / admin) ┌──────────────▶ booked ── (deleted, moved into
 *   │                                     window.upcoming              └────────────────┘  │      the past, all-day) ─┘
 *   │                                                                                     │ window.started
 *   │                                                                                     ▼
 *   │                                delivery.started (redelivery) ──────────────────▶ firing ── delivery.succeeded ──▶ fired
 *   │                                      ▲                                              │                         (window.ended)
 *   │                                      └───────────── fired / delivery_failed ◀───────┴── delivery.failed ──▶ delivery_failed
 *   │
 *   └─ every open status: remediation.resolved (every policy passes) → resolved;
 *      remediation.cancelled (admin) → cancelled (not while firing)
 *
 * Rules, each in one named function below: openRemediation / assignOwner (one host per owner), mergeFailingPolicy,
 * resolveOnPassing (resolve), handOver, bookWindow, followMove, rebookLostWindow (rebook after delete, move into the
 * past, all-day), startWindow (fire), recordDelivery*, startRedelivery, cancel, announceUpcoming, announceEnded;
 * Fleet as the source of truth: noteFleetUnreachable / clearFleetUnreachable, holdForOfflineHost, rebookOfflineHost
 * (FLEET_REQUIRE_ONLINE), followUpFiredWindow (REBOOK_AFTER_FIRE_MINUTES); a policy Fleet reports passing is
 * resolveOnPassing with actor fleet.
 */
import type { Actor, EventDraft } from './lifecycle-event';
import {
  isOpen,
  mergeFailingPolicy as mergePolicyList,
  removePassingPolicy,
  type Delivery,
  type FailingPolicy,
  type HostInfo,
  type Remediation,
  type RemediationStatus,
} from './remediation';

/**
 * Pointer and index changes that belong to one transition, written in the same transaction as the remediation.
 * `true` points the index at this remediation (adds it), `false` removes it; absent leaves it alone.
 */
export interface IndexChanges {
  /** The host's open remediation. */
  openForHost?: boolean;
  /** The owner's active remediation (one host per owner). */
  activeForOwner?: boolean;
  /** The owner's queue of waiting hosts. */
  waiting?: boolean;
  /** Waiting for a slot since this instant (epoch ms), unless it waits already. */
  pendingSince?: number;
  /** `false` takes it off the booking queue. */
  pending?: false;
}

/** The owner of a host as the service found it: usable (and whether busy with another host), or not. */
export type OwnerLookup =
  | { email: string; busyWith: { remediationId: string; hostId: number; hostName: string } | null }
  | { email: null; reason: string };

/** Everything that can happen to a remediation. */
export type Happening =
  /** A policy of the host fails. `id` for a new remediation; `owner` when the owner was looked up. */
  | { type: 'policy_failing'; id?: string; host: HostInfo; policy: FailingPolicy; owner?: OwnerLookup; actor: Actor }
  | { type: 'policy_passing'; policyId: number; actor: Actor }
  /** The owner's active remediation has left: this queued one is next (hand-over). */
  | { type: 'owner_freed' }
  /** The owner's calendar cannot be used (token refused, user gone). */
  | { type: 'owner_unavailable'; reason: string }
  | {
      type: 'window_booked';
      start: string;
      end: string;
      eventId: string;
      timeZone: string;
      onlyTimeLeft: boolean;
      date: string;
      /** Maintenance policies in force for this booking (MAINTENANCE_CONFIG_FILE only): deadline (ISO) and deferral cap. */
      policy?: { deadline: string | null; maxDeferrals: number | null };
    }
  /** No slot this time (calendar error, unknown free/busy): tried again later. */
  | { type: 'booking_deferred'; reason: string }
  /** The event id of this booking belongs to an event the owner deleted: book under the next one. */
  | { type: 'event_id_spent' }
  | { type: 'window_moved'; start: string; end: string; actor: Actor; reason?: string; /** Maintenance policies: deferrals used with this move. */ deferralsUsed?: number }
  | {
      type: 'window_lost';
      reason: 'deleted' | 'moved_to_past' | 'all_day';
      /** Maintenance policies: deferrals used with this loss (a delete counts one). */
      deferralsUsed?: number;
      /** Beyond max_deferrals: rebooked at the earliest allowed slot, not on the rebook day; `note` says why. */
      earliest?: { note: string };
    }
  /** Beyond max_deferrals the owner's move later was undone: the event is patched back to the accepted time. */
  | { type: 'move_undone'; ownerStart: string; ownerEnd: string; reason: string }
  | { type: 'window_upcoming'; start: string; minutesBefore: number }
  /**
   * The window starts (at its start; or now, by an admin: `window` is then the window as it happens). `attempting`:
   * delivery 1's first attempt starts at once and is counted with the start (a burst of windows claimed together).
   */
  | { type: 'window_started'; delivery: Delivery; actor: Actor; window?: { start: string; end: string }; attempting?: boolean }
  | { type: 'window_ended'; start: string }
  | { type: 'delivery_attempted'; number: number }
  | { type: 'delivery_retrying'; number: number; status?: number; error: string; nextAttemptAt: string }
  | { type: 'delivery_succeeded'; number: number; status?: number }
  | { type: 'delivery_failed'; number: number; status?: number; error: string; onlyIfFiring?: boolean }
  | { type: 'redelivery_started'; delivery: Delivery; actor: Actor }
  | { type: 'cancelled'; reason: string; actor: Actor }
  // ─── Fleet as the source of truth (FleetSyncService, the check before firing) ───
  /** Fleet could not be asked (down, 5xx, rate-limited): nothing changes on a guess; the reason says so. */
  | { type: 'fleet_unreachable'; reason: string }
  /** Fleet answered again: a reason set by fleet_unreachable goes (the one before it comes back). */
  | { type: 'fleet_reachable' }
  /** FLEET_REQUIRE_ONLINE: the host is offline at the window's start; it is held (re-checked) until `until`. */
  | { type: 'host_offline'; until: string }
  /** FLEET_REQUIRE_ONLINE: the host stayed offline through its window: a new window on the next allowed day. */
  | { type: 'host_offline_rebook' }
  /** REBOOK_AFTER_FIRE_MINUTES after a fired window's end, Fleet was asked which policies still fail (done once). */
  | { type: 'fleet_followed_up'; stillFailing: number[] };

export interface LifecycleContext {
  now: number;
}

/** A change to apply: the new remediation, what happened, and the index changes. */
export interface Transition {
  ok: true;
  remediation: Remediation;
  events: EventDraft[];
  index: IndexChanges;
  /** The owner is free again: the caller hands over to their next waiting host in the same transaction. */
  releasesOwner: boolean;
  /** Nothing changed at all (a repeat): nothing to store. */
  unchanged: boolean;
}

/** The happening is not allowed in the remediation's state. */
export interface Refusal {
  ok: false;
  status: RemediationStatus | null;
  reason: string;
}

export type Decision = Transition | Refusal;

/** The statuses in which the owner is held by this remediation (one host per owner). */
const HOLDS_OWNER: ReadonlySet<RemediationStatus> = new Set(['pending', 'booked']);

/** Statuses an admin may cancel: open and not firing (a firing window's webhook is already going out). */
export const CANCELLABLE: ReadonlySet<RemediationStatus> = new Set(['unassigned', 'queued', 'pending', 'booked']);

/** Decides what `happening` does to `r` (null: no remediation yet) at `ctx.now`. */
export function decide(r: Remediation | null, happening: Happening, ctx: LifecycleContext): Decision {
  if (r === null) {
    if (happening.type === 'policy_failing') return openRemediation(happening, ctx);
    return refuse(null, `${happening.type} needs an existing remediation`);
  }
  switch (happening.type) {
    case 'policy_failing':
      return r.status === 'unassigned' && happening.owner ? retakeUnassigned(r, happening, ctx) : mergeFailingPolicy(r, happening, ctx);
    case 'policy_passing':
      return resolveOnPassing(r, happening, ctx);
    case 'owner_freed':
      return handOver(r, ctx);
    case 'owner_unavailable':
      return loseOwner(r, happening.reason, ctx);
    case 'window_booked':
      return bookWindow(r, happening, ctx);
    case 'booking_deferred':
      return r.status !== 'pending' ? refuse(r, 'only a pending booking is deferred') : change(r, { reason: happening.reason }, ctx, []);
    case 'event_id_spent':
      return r.status !== 'pending' ? refuse(r, 'only a pending booking takes a new event id') : change(r, { bookingNumber: r.bookingNumber + 1 }, ctx, []);
    case 'window_moved':
      return followMove(r, happening, ctx);
    case 'window_lost':
      return rebookLostWindow(r, happening.reason, ctx, happening);
    case 'move_undone':
      return undoMove(r, happening, ctx);
    case 'window_upcoming':
      return announceUpcoming(r, happening, ctx);
    case 'window_started':
      return startWindow(r, happening, ctx);
    case 'window_ended':
      return announceEnded(r, happening, ctx);
    case 'delivery_attempted':
    case 'delivery_retrying':
    case 'delivery_succeeded':
    case 'delivery_failed':
      return recordDelivery(r, happening, ctx);
    case 'redelivery_started':
      return startRedelivery(r, happening, ctx);
    case 'cancelled':
      return cancel(r, happening, ctx);
    case 'fleet_unreachable':
      return noteFleetUnreachable(r, happening.reason, ctx);
    case 'fleet_reachable':
      return clearFleetUnreachable(r, ctx);
    case 'host_offline':
      return holdForOfflineHost(r, happening, ctx);
    case 'host_offline_rebook':
      return rebookOfflineHost(r, ctx);
    case 'fleet_followed_up':
      return followUpFiredWindow(r, happening, ctx);
  }
}

// ─── rules ────────────────────────────────────────────────────────────────────────────────────────────────────

/** A host's first failing policy: a new remediation, assigned to its owner (or kept unassigned). */
function openRemediation(h: Extract<Happening, { type: 'policy_failing' }>, ctx: LifecycleContext): Decision {
  if (!h.id) return refuse(null, 'a new remediation needs an id');
  const at = iso(ctx.now);
  const r: Remediation = {
    id: h.id,
    host: h.host,
    email: null,
    status: 'unassigned',
    policies: [h.policy],
    bookingNumber: 0,
    rebookCount: 0,
    createdAt: at,
    updatedAt: at,
  };
  const data = { policies: policyRefs(r.policies), host_display_name: r.host.displayName, team_id: r.host.teamId };
  if (!h.owner || h.owner.email === null) {
    const reason = h.owner?.email === null ? h.owner.reason : 'owner not looked up yet';
    const created: EventDraft = { type: 'remediation.created', actor: h.actor, data: { ...data, reason, status: 'unassigned' } };
    return transition(r, { ...r, reason }, [created], { openForHost: true });
  }
  return assignOwner(r, h.owner, ctx, [{ type: 'remediation.created', actor: h.actor, data }], { openForHost: true });
}

/**
 * One host per owner: a found owner gets this host now (pending) unless they already have a window for
 * another host (queued, booked later by handOver). No usable owner: unassigned, with the reason.
 */
function assignOwner(r: Remediation, owner: Extract<OwnerLookup, { email: string }>, ctx: LifecycleContext, events: EventDraft[], index: IndexChanges): Decision {
  const email = owner.email;
  if (owner.busyWith && owner.busyWith.remediationId !== r.id) {
    const b = owner.busyWith;
    const reason = `waiting: ${email} already has a maintenance window for host ${b.hostName} (${b.hostId})`;
    const next = { ...r, email, status: 'queued' as const, reason, updatedAt: iso(ctx.now) };
    const assigned = statusEvent('remediation.assigned', 'system', r.status, 'queued', { owner: email });
    const queued = statusEvent('remediation.queued', 'system', r.status, 'queued', {
      waiting_for: { remediation_id: b.remediationId, host_id: b.hostId, host_display_name: b.hostName },
    });
    return transition(r, next, [...events, assigned, queued], { ...index, waiting: true });
  }
  const next = { ...r, email, status: 'pending' as const, reason: undefined, updatedAt: iso(ctx.now) };
  const assigned = statusEvent('remediation.assigned', 'system', r.status, 'pending', { owner: email });
  return transition(r, next, [...events, assigned], { ...index, activeForOwner: true, pendingSince: ctx.now });
}

/** An unassigned remediation's host fails again and this time an owner was looked up: it is taken up again. */
function retakeUnassigned(r: Remediation, h: Extract<Happening, { type: 'policy_failing' }>, ctx: LifecycleContext): Decision {
  const policies = mergePolicyList(r.policies, h.policy).policies;
  const base = { ...r, host: h.host, policies };
  if (!h.owner || h.owner.email === null) {
    const reason = h.owner?.email === null ? h.owner.reason : r.reason;
    const changedPolicies = policies.length !== r.policies.length;
    const events = changedPolicies ? [policiesEvent(r, policies, h.actor)] : [];
    return transition(r, { ...base, reason, updatedAt: iso(ctx.now) }, events, { openForHost: true });
  }
  return assignOwner(base, h.owner, ctx, [], { openForHost: true });
}

/** A further failing policy joins the open remediation; its texts refresh the event's description. */
function mergeFailingPolicy(r: Remediation, h: Extract<Happening, { type: 'policy_failing' }>, ctx: LifecycleContext): Decision {
  if (!takesNewFailures(r)) return refuse(r, `a ${r.status} remediation takes no new failing policy`);
  const merged = mergePolicyList(r.policies, h.policy);
  if (!merged.changed) return unchanged(r);
  const displayName = h.host.displayName || r.host.displayName;
  const next = { ...r, policies: merged.policies, host: { ...r.host, displayName }, updatedAt: iso(ctx.now) };
  return transition(r, next, [policiesEvent(r, merged.policies, h.actor)], {});
}

/** Whether a newly failing policy joins r: open, assigned and not firing (a firing one's payload is fixed). */
export function takesNewFailures(r: Remediation): boolean {
  return isOpen(r) && r.status !== 'firing' && r.status !== 'unassigned';
}

/** Resolve: when every failing policy passes, the remediation is resolved and the owner freed. */
function resolveOnPassing(r: Remediation, h: Extract<Happening, { type: 'policy_passing' }>, ctx: LifecycleContext): Decision {
  if (!isOpen(r)) return refuse(r, `a ${r.status} remediation is closed`);
  const remaining = removePassingPolicy(r.policies, h.policyId);
  if (remaining.length === r.policies.length) return unchanged(r);
  if (remaining.length > 0) {
    const next = { ...r, policies: remaining, updatedAt: iso(ctx.now) };
    return transition(r, next, [policiesEvent(r, remaining, h.actor)], {});
  }
  const at = iso(ctx.now);
  const next = { ...r, status: 'resolved' as const, reason: undefined, resolvedAt: at, updatedAt: at };
  const event = statusEvent('remediation.resolved', h.actor, r.status, 'resolved', { policy_id: h.policyId, ...windowRef(r) });
  return transition(r, next, [event], closeIndex(r));
}

/** Hand-over: the owner's active remediation has left; their next waiting host (lowest id) is booked now. */
function handOver(r: Remediation, ctx: LifecycleContext): Decision {
  if (r.status !== 'queued') return refuse(r, 'only a queued remediation is handed the owner');
  const next = { ...r, status: 'pending' as const, reason: undefined, updatedAt: iso(ctx.now) };
  const event = statusEvent('remediation.assigned', 'system', 'queued', 'pending', { owner: r.email, via: 'hand_over' });
  return transition(r, next, [event], { waiting: false, activeForOwner: true, pendingSince: ctx.now });
}

/** The owner's calendar cannot be used: unassigned, the owner freed (their other hosts meet the same error). */
function loseOwner(r: Remediation, reason: string, ctx: LifecycleContext): Decision {
  if (r.status !== 'pending') return refuse(r, 'only a pending booking loses its owner');
  // Ownerless again: guarded by its host's lock from now on, like any unassigned remediation.
  const next = { ...r, email: null, status: 'unassigned' as const, reason, updatedAt: iso(ctx.now) };
  const event = statusEvent('remediation.unassigned', 'system', 'pending', 'unassigned', { reason, previous_owner: r.email });
  return transition(r, next, [event], { pending: false, waiting: false, activeForOwner: false });
}

function bookWindow(r: Remediation, h: Extract<Happening, { type: 'window_booked' }>, ctx: LifecycleContext): Decision {
  if (r.status !== 'pending') return refuse(r, 'only a pending remediation is booked');
  const next: Remediation = {
    ...r,
    status: 'booked',
    reason: h.onlyTimeLeft ? 'the day was full: booked in the last slot' : undefined,
    start: h.start,
    end: h.end,
    timeZone: h.timeZone,
    calendarEventId: h.eventId,
    onlyTimeLeft: h.onlyTimeLeft,
    originalDate: r.originalDate ?? h.date,
    updatedAt: iso(ctx.now),
    ...(h.policy ? { ...policyFields(h.policy), rebookEarliest: undefined } : {}),
  };
  const event = statusEvent('window.booked', 'system', 'pending', 'booked', {
    start: h.start,
    end: h.end,
    time_zone: h.timeZone,
    booking_number: r.bookingNumber,
    calendar_event_id: h.eventId,
    only_time_left: h.onlyTimeLeft,
    rebook_count: r.rebookCount,
  });
  return transition(r, next, [event], { pending: false });
}

/** The maintenance-policy fields of a booked remediation (unset when null: no deadline, no limit). */
function policyFields(p: { deadline: string | null; maxDeferrals: number | null }): Partial<Remediation> {
  return { deadline: p.deadline ?? undefined, maxDeferrals: p.maxDeferrals ?? undefined };
}

/** The window moved to another future start (the owner on the calendar, or an admin): followed. */
function followMove(r: Remediation, h: Extract<Happening, { type: 'window_moved' }>, ctx: LifecycleContext): Decision {
  if (r.status !== 'booked') return refuse(r, 'only a booked window moves');
  if (!(Date.parse(h.start) > ctx.now)) return refuse(r, 'a window moves only to a future start');
  if (Date.parse(h.end) <= Date.parse(h.start)) return refuse(r, 'a window ends after it starts');
  if (h.start === r.start && h.end === r.end) return unchanged(r);
  const next = { ...r, start: h.start, end: h.end, updatedAt: iso(ctx.now), ...(h.deferralsUsed !== undefined ? { deferralsUsed: h.deferralsUsed } : {}) };
  const event: EventDraft = {
    type: 'window.moved',
    actor: h.actor,
    data: { previous_start: r.start, previous_end: r.end, start: h.start, end: h.end, booking_number: r.bookingNumber, ...(h.reason ? { reason: h.reason } : {}) },
  };
  return transition(r, next, [event], {});
}

/**
 * Beyond max_deferrals the owner moved the window later: the event was patched back to the accepted time, which
 * stays the window (start and end unchanged). One window.moved event by the system, from the owner's time back,
 * with the reason; from now on the event text says it can no longer be moved.
 */
function undoMove(r: Remediation, h: Extract<Happening, { type: 'move_undone' }>, ctx: LifecycleContext): Decision {
  if (r.status !== 'booked') return refuse(r, 'only a booked window is put back');
  const next: Remediation = { ...r, deferralsExhausted: h.reason, updatedAt: iso(ctx.now) };
  const event: EventDraft = {
    type: 'window.moved',
    actor: 'system',
    data: { previous_start: h.ownerStart, previous_end: h.ownerEnd, start: r.start, end: r.end, booking_number: r.bookingNumber, reason: h.reason },
  };
  return transition(r, next, [event], {});
}

/** Rebook: deleted, moved into the past or made all-day → back to pending for a new window (next business day). */
function rebookLostWindow(
  r: Remediation,
  reason: 'deleted' | 'moved_to_past' | 'all_day',
  ctx: LifecycleContext,
  h: { deferralsUsed?: number; earliest?: { note: string } } = {},
): Decision {
  if (r.status !== 'booked') return refuse(r, 'only a booked window is rebooked');
  const next: Remediation = {
    ...r,
    status: 'pending',
    reason: `owner ${reason.replace(/_/g, ' ')} the window: rebooking`,
    bookingNumber: r.bookingNumber + 1,
    rebookCount: r.rebookCount + 1,
    start: undefined,
    end: undefined,
    calendarEventId: undefined,
    onlyTimeLeft: undefined,
    updatedAt: iso(ctx.now),
    ...(h.deferralsUsed !== undefined ? { deferralsUsed: h.deferralsUsed } : {}),
    ...(h.earliest ? { rebookEarliest: true, deferralsExhausted: h.earliest.note } : {}),
  };
  const event = statusEvent('window.rebooked', 'owner', 'booked', 'pending', {
    reason,
    previous_start: r.start,
    previous_end: r.end,
    previous_event_id: r.calendarEventId,
    rebook_count: next.rebookCount,
    ...(h.earliest ? { earliest: true, note: h.earliest.note } : {}),
  });
  return transition(r, next, [event], { pendingSince: ctx.now });
}

/** `window.upcoming`, once per window start, while it is still booked at that start. */
function announceUpcoming(r: Remediation, h: Extract<Happening, { type: 'window_upcoming' }>, ctx: LifecycleContext): Decision {
  if (r.status !== 'booked' || r.start !== h.start) return refuse(r, 'the window is no longer booked at that start');
  // A notice that comes only after the start (a daemon down, a clock moved on) would announce the past.
  if (Date.parse(h.start) <= ctx.now) return refuse(r, 'the window has already started: no upcoming notice');
  if (r.notified?.upcoming === h.start) return unchanged(r);
  const next = { ...r, notified: { ...r.notified, upcoming: h.start } };
  const event: EventDraft = { type: 'window.upcoming', actor: 'system', data: { start: r.start, end: r.end, minutes_before: h.minutesBefore } };
  return transition(r, next, [event], {});
}

/** The window starts: booked → firing with delivery 1 (payload fixed), the owner handed over right away. */
function startWindow(r: Remediation, h: Extract<Happening, { type: 'window_started' }>, ctx: LifecycleContext): Decision {
  if (r.status !== 'booked') return refuse(r, 'only a booked window starts');
  const at = iso(ctx.now);
  const start = h.window?.start ?? r.start;
  const end = h.window?.end ?? r.end;
  const delivery = h.attempting ? { ...h.delivery, attempts: h.delivery.attempts + 1, lastAttemptAt: at } : h.delivery;
  const next: Remediation = { ...r, status: 'firing', start, end, firedAt: at, updatedAt: at, reason: undefined, delivery };
  const event = statusEvent('window.started', h.actor, 'booked', 'firing', {
    start,
    end,
    ...(h.window ? { booked_start: r.start, booked_end: r.end } : { late_ms: r.start ? ctx.now - Date.parse(r.start) : null }),
    webhook_id: h.delivery.webhookId,
    policies: policyRefs(r.policies),
  });
  return transition(r, next, [event], { activeForOwner: false }, true);
}

/** `window.ended`, once, when the end of a window that started has passed. */
function announceEnded(r: Remediation, h: Extract<Happening, { type: 'window_ended' }>, ctx: LifecycleContext): Decision {
  if (!r.firedAt || r.start !== h.start) return refuse(r, 'that window did not start');
  if (r.notified?.ended === h.start) return unchanged(r);
  if (r.end && Date.parse(r.end) > ctx.now) return refuse(r, 'the window has not ended yet');
  const next = { ...r, notified: { ...r.notified, ended: h.start } };
  return transition(r, next, [{ type: 'window.ended', actor: 'system', data: { start: r.start, end: r.end } }], {});
}

/** A delivery's progress: attempts (no event), then delivered → fired or given up → delivery_failed. */
function recordDelivery(
  r: Remediation,
  h: Extract<Happening, { type: 'delivery_attempted' | 'delivery_retrying' | 'delivery_succeeded' | 'delivery_failed' }>,
  ctx: LifecycleContext,
): Decision {
  const d = r.delivery;
  if (!d || d.number !== h.number) return refuse(r, `delivery ${h.number} is not current`);
  const at = iso(ctx.now);
  if (h.type === 'delivery_attempted') {
    if (r.status !== 'firing') return refuse(r, `remediation is ${r.status}`);
    return transition(r, { ...r, delivery: { ...d, attempts: d.attempts + 1, lastAttemptAt: at, nextAttemptAt: undefined } }, [], {});
  }
  if (h.type === 'delivery_retrying') {
    const delivery = { ...d, lastStatus: h.status, lastError: h.error, nextAttemptAt: h.nextAttemptAt };
    return transition(r, { ...r, delivery }, [], {});
  }
  if (h.type === 'delivery_failed' && h.onlyIfFiring && r.status !== 'firing') return refuse(r, `remediation is ${r.status}`);
  const succeeded = h.type === 'delivery_succeeded';
  const delivery: Delivery = succeeded
    ? { ...d, deliveredAt: at, lastStatus: h.status, lastError: undefined, nextAttemptAt: undefined }
    : { ...d, failedAt: at, lastStatus: h.status, lastError: h.error, nextAttemptAt: undefined };
  const data = {
    delivery_number: d.number,
    webhook_id: d.webhookId,
    http_status: delivery.lastStatus ?? null,
    attempts: d.attempts,
    ...(succeeded ? {} : { error: delivery.lastError }),
  };
  // Resolved (or cancelled) while delivering: the outcome is recorded and the status stays.
  if (r.status !== 'firing') {
    return transition(r, { ...r, delivery }, [{ type: succeeded ? 'delivery.succeeded' : 'delivery.failed', actor: 'system', data }], {});
  }
  const status = succeeded ? ('fired' as const) : ('delivery_failed' as const);
  const reason = succeeded ? undefined : `resolution webhook not delivered: ${delivery.lastError ?? 'unknown error'}`;
  const next = { ...r, status, reason, delivery, updatedAt: at };
  const event = statusEvent(succeeded ? 'delivery.succeeded' : 'delivery.failed', 'system', 'firing', status, data);
  return transition(r, next, [event], closeIndex(r));
}

/** A redelivery: fired / delivery_failed → firing with a new delivery of the same body. */
function startRedelivery(r: Remediation, h: Extract<Happening, { type: 'redelivery_started' }>, ctx: LifecycleContext): Decision {
  if (r.status !== 'fired' && r.status !== 'delivery_failed') return refuse(r, `a ${r.status} remediation has nothing to redeliver`);
  if (!r.delivery || h.delivery.number !== r.delivery.number + 1) return refuse(r, `delivery ${h.delivery.number} does not follow the last one`);
  const next = { ...r, status: 'firing' as const, reason: undefined, delivery: h.delivery, updatedAt: iso(ctx.now) };
  const event = statusEvent('delivery.started', h.actor, r.status, 'firing', { delivery_number: h.delivery.number, webhook_id: h.delivery.webhookId });
  return transition(r, next, [event], {});
}

/** An admin cancels: the remediation ends, its future event goes, the owner's next host is booked. */
function cancel(r: Remediation, h: Extract<Happening, { type: 'cancelled' }>, ctx: LifecycleContext): Decision {
  if (!CANCELLABLE.has(r.status)) return refuse(r, `a ${r.status} remediation cannot be cancelled`);
  const at = iso(ctx.now);
  const next = { ...r, status: 'cancelled' as const, reason: h.reason, cancelledAt: at, updatedAt: at };
  const event = statusEvent('remediation.cancelled', h.actor, r.status, 'cancelled', { reason: h.reason, ...windowRef(r) });
  return transition(r, next, [event], closeIndex(r));
}

// ─── Fleet as the source of truth ─────────────────────────────────────────────────────────────────────────────

/** Every reason set because Fleet could not be asked starts with this. */
export const FLEET_UNREACHABLE_PREFIX = 'Fleet not reachable';
/** The reason of a window held or rebooked because its host is offline (FLEET_REQUIRE_ONLINE). */
export const HOST_OFFLINE_REASON = 'host offline';

/**
 * Fleet down: nothing is resolved, fired-as-passed or rebooked on a guess. The remediation keeps its status; its
 * reason says Fleet could not be asked (the reason it had is kept aside and comes back when Fleet answers).
 */
function noteFleetUnreachable(r: Remediation, reason: string, ctx: LifecycleContext): Decision {
  if (!isOpen(r)) return refuse(r, `a ${r.status} remediation is closed`);
  if (!reason.startsWith(FLEET_UNREACHABLE_PREFIX)) return refuse(r, `a Fleet reason starts with "${FLEET_UNREACHABLE_PREFIX}"`);
  if (r.reason === reason) return unchanged(r);
  const kept = isFleetReason(r.reason) ? r.reasonBeforeFleet : r.reason;
  return change(r, { reason, reasonBeforeFleet: kept }, ctx, []);
}

/** Fleet answered again: the reason set while it could not be asked goes. */
function clearFleetUnreachable(r: Remediation, ctx: LifecycleContext): Decision {
  if (!isFleetReason(r.reason)) return unchanged(r);
  return change(r, { reason: r.reasonBeforeFleet, reasonBeforeFleet: undefined }, ctx, []);
}

function isFleetReason(reason: string | undefined): boolean {
  return reason?.startsWith(FLEET_UNREACHABLE_PREFIX) ?? false;
}

/** FLEET_REQUIRE_ONLINE and the host is offline at the start: the window waits (booked) for it, until its end. */
function holdForOfflineHost(r: Remediation, h: Extract<Happening, { type: 'host_offline' }>, ctx: LifecycleContext): Decision {
  if (r.status !== 'booked') return refuse(r, 'only a booked window waits for its host');
  if (r.start && Date.parse(r.start) > ctx.now) return refuse(r, 'the window has not started yet');
  const reason = `${HOST_OFFLINE_REASON}: the window fires when it comes online (re-checked every minute until ${h.until})`;
  if (r.reason === reason) return unchanged(r);
  return change(r, { reason }, ctx, []);
}

/**
 * FLEET_REQUIRE_ONLINE and the host stayed offline through its window: booked → pending for a new window on the
 * next allowed day (the rebook rule: a business day after the original date), reason "host offline".
 */
function rebookOfflineHost(r: Remediation, ctx: LifecycleContext): Decision {
  if (r.status !== 'booked') return refuse(r, 'only a booked window is rebooked');
  if (!r.end || Date.parse(r.end) > ctx.now) return refuse(r, 'the window has not ended yet');
  const next: Remediation = {
    ...r,
    status: 'pending',
    reason: `${HOST_OFFLINE_REASON} through the window: rebooking`,
    bookingNumber: r.bookingNumber + 1,
    rebookCount: r.rebookCount + 1,
    start: undefined,
    end: undefined,
    calendarEventId: undefined,
    onlyTimeLeft: undefined,
    updatedAt: iso(ctx.now),
  };
  const event = statusEvent('window.rebooked', 'fleet', 'booked', 'pending', {
    reason: HOST_OFFLINE_REASON,
    previous_start: r.start,
    previous_end: r.end,
    previous_event_id: r.calendarEventId,
    rebook_count: next.rebookCount,
  });
  return transition(r, next, [event], { pendingSince: ctx.now });
}

/**
 * A fired window's follow-up, once: Fleet was asked which of its policies still fail (each one that does opens the
 * host's next remediation, `remediation.created` by actor fleet). Recorded so it is asked only once.
 */
function followUpFiredWindow(r: Remediation, h: Extract<Happening, { type: 'fleet_followed_up' }>, ctx: LifecycleContext): Decision {
  if (!r.firedAt || !['firing', 'fired', 'delivery_failed'].includes(r.status)) return refuse(r, 'only a window that fired is followed up');
  if (r.fleetFollowedUpAt) return unchanged(r);
  const reason = h.stillFailing.length > 0 ? `still failing after the window (policies ${h.stillFailing.join(', ')}): a new remediation follows` : r.reason;
  return transition(r, { ...r, reason, fleetFollowedUpAt: iso(ctx.now) }, [], {});
}

// ─── helpers ──────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Off every queue and pointer: a remediation that ends. (Whether the host's and owner's pointers still name it is
 * the store's to know: the transition runner keeps a pointer that names another remediation.)
 */
function closeIndex(r: Remediation): IndexChanges {
  const index: IndexChanges = { pending: false, waiting: false, openForHost: false };
  if (HOLDS_OWNER.has(r.status)) index.activeForOwner = false;
  return index;
}

function transition(before: Remediation, after: Remediation, events: EventDraft[], index: IndexChanges, releases?: boolean): Transition {
  const releasesOwner = releases ?? (HOLDS_OWNER.has(before.status) && !HOLDS_OWNER.has(after.status));
  return { ok: true, remediation: after, events, index, releasesOwner, unchanged: false };
}

/** A change of fields only: no status change, no event. */
function change(r: Remediation, patch: Partial<Remediation>, ctx: LifecycleContext, events: EventDraft[]): Transition {
  return transition(r, { ...r, ...patch, updatedAt: iso(ctx.now) }, events, {});
}

function unchanged(r: Remediation): Transition {
  return { ok: true, remediation: r, events: [], index: {}, releasesOwner: false, unchanged: true };
}

function refuse(r: Remediation | null, reason: string): Refusal {
  return { ok: false, status: r?.status ?? null, reason };
}

function statusEvent(
  type: EventDraft['type'],
  actor: Actor,
  from: RemediationStatus,
  to: RemediationStatus,
  data: Record<string, unknown>,
): EventDraft {
  return { type, actor, data: { ...data, previous_status: from, status: to } };
}

function policiesEvent(r: Remediation, policies: FailingPolicy[], actor: Actor): EventDraft {
  const before = new Set(r.policies.map((p) => p.id));
  const after = new Set(policies.map((p) => p.id));
  return {
    type: 'remediation.updated',
    actor,
    data: {
      policies: policyRefs(policies),
      policies_added: [...after].filter((id) => !before.has(id)),
      policies_removed: [...before].filter((id) => !after.has(id)),
    },
  };
}

function windowRef(r: Remediation): Record<string, unknown> {
  return r.status === 'booked' ? { start: r.start, end: r.end, calendar_event_id: r.calendarEventId } : {};
}

function policyRefs(policies: FailingPolicy[]): Array<{ id: number; name: string }> {
  return policies.map(({ id, name }) => ({ id, name }));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The status a remediation's history ends in (the last event that changed it): for audits and the chaos test. */
export function statusFromHistory(events: Array<{ data: Record<string, unknown> }>): RemediationStatus | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const s = events[i].data.status;
    if (typeof s === 'string') return s as RemediationStatus;
  }
  return null;
}

/**
 * A remediation: one host's failing policies, on its way to a maintenance window on the owner's calendar.
 * Its statuses and every change between them are decided in one place: remediation-lifecycle.ts (the diagram
 * with the events on its arrows is there and in the README). This module holds the types and pure helpers.
 */

export type RemediationStatus =
  | 'unassigned'
  | 'queued'
  | 'pending'
  | 'booked'
  | 'firing'
  | 'fired'
  | 'delivery_failed'
  | 'resolved'
  | 'cancelled';

export const REMEDIATION_STATUSES: readonly RemediationStatus[] = [
  'unassigned',
  'queued',
  'pending',
  'booked',
  'firing',
  'fired',
  'delivery_failed',
  'resolved',
  'cancelled',
];

/** Statuses in which the remediation is still open for its host (new failing events merge into it). */
export const OPEN_STATUSES: ReadonlySet<RemediationStatus> = new Set(['unassigned', 'queued', 'pending', 'booked', 'firing']);

export interface FailingPolicy {
  id: number;
  name: string;
  description?: string | null;
  resolution?: string | null;
}

export interface HostInfo {
  id: number;
  displayName: string;
  serialNumber: string;
  teamId: number | null;
}

export interface Remediation {
  id: string;
  host: HostInfo;
  /** The owner whose calendar gets the window; null while unassigned. */
  email: string | null;
  readonly status: RemediationStatus;
  /** Why the remediation is unassigned, waiting, or what last went wrong. */
  reason?: string;
  /** Policies of the host still failing. */
  policies: FailingPolicy[];
  timeZone?: string;
  /** Increments with every (re)booking; the calendar event id derives from (id, bookingNumber). */
  bookingNumber: number;
  /** yyyy-MM-dd (owner's zone) of the first booking: rebooks count business days from it. */
  originalDate?: string;
  /** How many times the window was rebooked after the owner deleted it or moved it into the past. */
  rebookCount: number;
  start?: string;
  end?: string;
  calendarEventId?: string;
  onlyTimeLeft?: boolean;
  createdAt: string;
  updatedAt: string;
  firedAt?: string;
  resolvedAt?: string;
  cancelledAt?: string;
  /** Once-only notifications already recorded, each for the window start it was about. */
  notified?: { upcoming?: string; ended?: string };
  /** The current (latest) resolution webhook delivery, once the window has fired. */
  delivery?: Delivery;
  /** Set once Fleet was asked, REBOOK_AFTER_FIRE_MINUTES after a fired window's end, which policies still fail. */
  fleetFollowedUpAt?: string;
  /** The reason the remediation had before Fleet became unreachable (restored when Fleet answers again). */
  reasonBeforeFleet?: string;
  /**
   * Maintenance policies (MAINTENANCE_CONFIG_FILE), as of the latest booking: no window ends after `deadline`
   * (ISO instant, exclusive; unset = none); `maxDeferrals` owner moves-later and deletes are followed (unset = no
   * limit); `deferralsUsed` so far. Unset without a file.
   */
  deadline?: string;
  maxDeferrals?: number;
  deferralsUsed?: number;
  /** Beyond max_deferrals (set once a move was undone or a delete rebooked early): why it can no longer be moved. */
  deferralsExhausted?: string;
  /** The pending rebook goes to the earliest allowed slot (a delete beyond max_deferrals), not the rebook day. */
  rebookEarliest?: boolean;
}

/**
 * One delivery of the resolution webhook: the window's firing is delivery 1, each redelivery the next number.
 * Every attempt of a delivery sends the same `webhook-id` and the same body bytes, so receivers de-duplicate;
 * a redelivery sends the same body under a new id.
 */
export interface Delivery {
  number: number;
  /** Standard Webhooks `webhook-id`: see webhookIdFor. */
  webhookId: string;
  /** The exact JSON body sent (Fleet's payload, fixed when the window fired). */
  body: string;
  /**
   * Maintenance policies whose `resolution_webhook_url` differ: one request per URL, each Fleet's exact payload with
   * its own policies, under its own webhook-id. Every attempt sends every part (receivers de-duplicate on the id);
   * the delivery succeeds when all parts are answered 2xx. Unset: one request of `body` to RESOLUTION_WEBHOOK_URL.
   */
  parts?: DeliveryPart[];
  /** Attempts started so far (one lost to a crash counts). */
  attempts: number;
  createdAt: string;
  /** No retry starts after this instant. */
  deadline: string;
  lastAttemptAt?: string;
  nextAttemptAt?: string;
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: string;
  failedAt?: string;
}

/**
 * Stable across retries of one delivery, distinct per remediation, booking and delivery number. The creation time
 * (base 36 ms) keeps ids unique even when remediation ids start over (a flushed Redis, a new key prefix), so a
 * receiver that de-duplicates on webhook-id never drops a new delivery as a repeat of an old one.
 */
export function webhookIdFor(r: Pick<Remediation, 'id' | 'bookingNumber' | 'createdAt'>, deliveryNumber: number): string {
  return `msg_${r.id}_${Date.parse(r.createdAt).toString(36)}_b${r.bookingNumber}_d${deliveryNumber}`;
}

export interface DeliveryPart {
  url: string;
  webhookId: string;
  body: string;
}

/** The public view of a remediation (GET /v1/remediations). */
export interface RemediationView {
  id: string;
  host_id: number;
  host_display_name: string;
  email: string | null;
  status: RemediationStatus;
  reason: string | null;
  start: string | null;
  end: string | null;
  time_zone: string | null;
  calendar_event_id: string | null;
  policies: Array<{ id: number; name: string }>;
  created_at: string;
  updated_at: string;
  /** The latest resolution webhook delivery; null until the window fires. */
  delivery: DeliveryView | null;
  /** Maintenance policies: no window ends after this instant (null: no deadline). */
  deadline: string | null;
  /** Owner moves-later and deletes followed so far. */
  deferrals_used: number;
  /** How many are followed (null: no limit). */
  max_deferrals: number | null;
}

export interface DeliveryView {
  webhook_id: string;
  number: number;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  failed_at: string | null;
  deadline: string;
}

export function toView(r: Remediation): RemediationView {
  return {
    id: r.id,
    host_id: r.host.id,
    host_display_name: r.host.displayName,
    email: r.email,
    status: r.status,
    reason: r.reason ?? null,
    start: r.start ?? null,
    end: r.end ?? null,
    time_zone: r.timeZone ?? null,
    calendar_event_id: r.calendarEventId ?? null,
    policies: r.policies.map(({ id, name }) => ({ id, name })),
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    delivery: r.delivery ? toDeliveryView(r.delivery) : null,
    deadline: r.deadline ?? null,
    deferrals_used: r.deferralsUsed ?? 0,
    max_deferrals: r.maxDeferrals ?? null,
  };
}

function toDeliveryView(d: Delivery): DeliveryView {
  return {
    webhook_id: d.webhookId,
    number: d.number,
    attempts: d.attempts,
    last_status: d.lastStatus ?? null,
    last_error: d.lastError ?? null,
    created_at: d.createdAt,
    last_attempt_at: d.lastAttemptAt ?? null,
    next_attempt_at: d.nextAttemptAt ?? null,
    delivered_at: d.deliveredAt ?? null,
    failed_at: d.failedAt ?? null,
    deadline: d.deadline,
  };
}

export function isOpen(r: Remediation): boolean {
  return OPEN_STATUSES.has(r.status);
}

/**
 * Whether a newly failing policy of the host joins this remediation. A firing one does not: its window has
 * passed and its payload is fixed, so the failure starts the host's next remediation (and window).
 */
export function takesNewFailures(r: Remediation): boolean {
  return isOpen(r) && r.status !== 'firing';
}

/**
 * Merge a failing policy into the set. Returns the new list and whether anything the owner sees changed
 * (a new policy, or new description/resolution texts → the event description is refreshed).
 */
export function mergeFailingPolicy(
  policies: FailingPolicy[],
  policy: FailingPolicy,
): { policies: FailingPolicy[]; changed: boolean } {
  const existing = policies.find((p) => p.id === policy.id);
  if (!existing) {
    return { policies: [...policies, policy].sort((a, b) => a.id - b.id), changed: true };
  }
  const merged: FailingPolicy = {
    id: policy.id,
    name: policy.name || existing.name,
    description: policy.description ?? existing.description,
    resolution: policy.resolution ?? existing.resolution,
  };
  const changed =
    merged.name !== existing.name || merged.description !== existing.description || merged.resolution !== existing.resolution;
  return { policies: policies.map((p) => (p.id === policy.id ? merged : p)), changed };
}

export function removePassingPolicy(policies: FailingPolicy[], policyId: number): FailingPolicy[] {
  return policies.filter((p) => p.id !== policyId);
}

/** The resolution webhook body, exactly Fleet's field names (Tines stories are built on them). */
export interface ResolutionPayload {
  timestamp: string;
  host_id: number;
  host_display_name: string;
  host_serial_number: string;
  failing_policies: Array<{ id: number; name: string }>;
}

export function resolutionPayload(r: Remediation, timestamp: string): ResolutionPayload {
  return {
    timestamp,
    host_id: r.host.id,
    host_display_name: r.host.displayName,
    host_serial_number: r.host.serialNumber,
    failing_policies: r.policies.map(({ id, name }) => ({ id, name })),
  };
}

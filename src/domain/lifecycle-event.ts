/**
 * Domain events: what happened to a remediation, as the lifecycle module (remediation-lifecycle.ts) reports it.
 * They are stored with the state change that produced them (same Redis transaction), listed as a remediation's
 * history and in the global feed (`GET /v1/events`), and sent as lifecycle webhooks. Nothing re-derives them.
 */

export const LIFECYCLE_EVENT_TYPES = [
  'remediation.created',
  'remediation.assigned',
  'remediation.queued',
  'remediation.updated',
  'remediation.unassigned',
  'window.booked',
  'window.moved',
  'window.rebooked',
  'window.upcoming',
  'window.started',
  'window.ended',
  'delivery.started',
  'delivery.succeeded',
  'delivery.failed',
  'remediation.resolved',
  'remediation.cancelled',
] as const;

export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

/**
 * Who caused it: `system` (the daemon's own decision), `owner` (seen on the owner's calendar), `producer` (an
 * ingested policy event), `fleet` (one that came through Fleet's webhook route) or `admin` (an admin action).
 */
export type Actor = 'system' | 'owner' | 'producer' | 'fleet' | 'admin';

/** An event as the lifecycle module produces it: identity and time are added when it is stored. */
export interface EventDraft {
  type: LifecycleEventType;
  actor: Actor;
  data: Record<string, unknown>;
}

/** A stored event, exactly as the API and lifecycle webhooks show it. */
export interface LifecycleEvent {
  id: string;
  type: LifecycleEventType;
  occurred_at: string;
  remediation_id: string;
  host_id: number;
  email: string | null;
  actor: Actor;
  data: Record<string, unknown>;
}

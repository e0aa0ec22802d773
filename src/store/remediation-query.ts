import { randomBytes } from 'node:crypto';
import type { Actor, EventDraft, LifecycleEvent, LifecycleEventType } from '../domain/lifecycle-event';
import { compactKeys, expandKeys } from './compact-keys';
import type { Remediation } from '../domain/remediation';
import type { FeedQuery, ListFilter } from './remediation-store';

/**
 * The pure half of reading remediations and events: filters, order, cursors and the stored event's shape. The
 * Redis store uses it, and so does the in-memory store of the service tests, so both answer alike.
 */

/** Orders Redis stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

export function matchesFeed(e: LifecycleEvent, q: FeedQuery): boolean {
  return (
    (q.type === undefined || e.type === q.type) &&
    (q.hostId === undefined || e.host_id === q.hostId) &&
    (q.email === undefined || e.email === q.email.toLowerCase())
  );
}

/** Random bytes drawn 4 KB at a time: a burst of events costs one call into the CSPRNG per 512 ids, not one each. */
let pool = Buffer.alloc(0);
let poolAt = 0;
function randomHex8(): string {
  if (poolAt + 8 > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  poolAt += 8;
  return pool.toString('hex', poolAt - 8, poolAt);
}

/** An event as stored: its id and time given, its remediation's identity copied in. */
export function toStoredEvent(r: Remediation, draft: EventDraft, occurredAt: number): LifecycleEvent {
  return {
    id: `evt_${occurredAt.toString(36)}${randomHex8()}`,
    type: draft.type,
    occurred_at: new Date(occurredAt).toISOString(),
    remediation_id: r.id,
    host_id: r.host.id,
    email: r.email,
    actor: draft.actor,
    data: draft.data,
  };
}

/**
 * The codes history entries store for event types and actors: their place here. APPEND ONLY, as compact-keys.ts's
 * dictionary (a code, once written, keeps meaning the same name); a type or actor not here is stored by name. A copy
 * of LIFECYCLE_EVENT_TYPES as of 2026-12 on purpose: reordering the domain's list must not change what stored codes
 * mean (a unit test checks every type has a code).
 */
export const STORED_EVENT_TYPES: readonly LifecycleEventType[] = [
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
];
export const STORED_ACTORS: readonly Actor[] = ['system', 'owner', 'producer', 'fleet', 'admin'];

/**
 * An event as its remediation's history holds it: a JSON array `[id, type, host_id, email, actor, data]`, the type
 * and actor as codes (STORED_EVENT_TYPES, STORED_ACTORS), the host id null when it is the one in the remediation's
 * id (`h<host>-<n>`), the data's property names as codes (compact-keys.ts): about 200 bytes less than the event's
 * JSON object. The remediation id is the history's; `occurred_at` is the time in the id (toStoredEvent), else (an
 * id made otherwise) kept as a seventh element.
 */
export function encodeHistoryEntry(e: LifecycleEvent): string {
  const type = STORED_EVENT_TYPES.indexOf(e.type);
  const actor = STORED_ACTORS.indexOf(e.actor);
  const host = e.host_id === hostOfId(e.remediation_id) ? null : e.host_id;
  const entry: unknown[] = [e.id, type >= 0 ? type : e.type, host, e.email, actor >= 0 ? actor : e.actor, compactKeys(e.data)];
  if (occurredAtOfId(e.id) !== e.occurred_at) entry.push(e.occurred_at);
  return JSON.stringify(entry);
}

/** An entry of `remediationId`'s history: the array form (with or without codes), or the event's JSON object (written before 2026-12). */
export function decodeHistoryEntry(raw: string, remediationId: string): LifecycleEvent {
  const parsed = JSON.parse(raw) as unknown;
  if (!Array.isArray(parsed)) return parsed as LifecycleEvent;
  const [id, type, host, email, actor, data, occurredAt] = parsed as [string, LifecycleEventType | number, number | null, string | null, Actor | number, Record<string, unknown>, string?];
  return {
    id,
    type: typeof type === 'number' ? STORED_EVENT_TYPES[type] : type,
    occurred_at: occurredAt ?? occurredAtOfId(id) ?? '',
    remediation_id: remediationId,
    host_id: host ?? (hostOfId(remediationId) as number),
    email,
    actor: typeof actor === 'number' ? STORED_ACTORS[actor] : actor,
    data: expandKeys(data) as Record<string, unknown>,
  };
}

/** `h<host>-<n>` → the host id (null for another shape). */
function hostOfId(remediationId: string): number | null {
  const m = /^h(\d+)-\d+$/.exec(remediationId);
  return m ? Number(m[1]) : null;
}

/** `evt_<ms in base 36><16 hex>` → the ms as ISO-8601 (null for another shape). */
function occurredAtOfId(id: string): string | null {
  const m = /^evt_([0-9a-z]+)[0-9a-f]{16}$/.exec(id);
  if (!m) return null;
  const ms = parseInt(m[1], 36);
  return Number.isSafeInteger(ms) ? new Date(ms).toISOString() : null;
}

export function matchesList(r: Remediation, f: ListFilter): boolean {
  if (f.hostId !== undefined && r.host.id !== f.hostId) return false;
  if (f.email !== undefined && r.email !== f.email.toLowerCase()) return false;
  if (f.status !== undefined && r.status !== f.status) return false;
  if (f.teamId !== undefined && r.host.teamId !== f.teamId) return false;
  if (f.policyId !== undefined && !r.policies.some((p) => p.id === f.policyId)) return false;
  if (f.from !== undefined || f.to !== undefined) {
    if (!r.start) return false;
    const start = Date.parse(r.start);
    if (f.from !== undefined && start < f.from) return false;
    if (f.to !== undefined && start >= f.to) return false;
  }
  return true;
}

/** Newest first: creation time, then id (byte order), both descending. */
export function newestFirst(a: Remediation, b: Remediation): number {
  const byTime = Date.parse(b.createdAt) - Date.parse(a.createdAt);
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export interface ListCursor {
  createdMs: number;
  id: string;
}

export function isAfter(r: Remediation, c: ListCursor): boolean {
  const t = Date.parse(r.createdAt);
  return t < c.createdMs || (t === c.createdMs && r.id < c.id);
}

/** The cursor that continues after `r` (or after a raw index entry: its creation time and id). */
export function encodeListCursor(at: Remediation | ListCursor): string {
  const c = 'createdMs' in at ? at : { createdMs: Date.parse(at.createdAt), id: at.id };
  return Buffer.from(`${c.createdMs}|${c.id}`).toString('base64url');
}

/** Throws InvalidCursorError on anything that is not one of our cursors. */
export function decodeListCursor(cursor: string): ListCursor {
  const [ms, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdMs = Number(ms);
  if (!Number.isSafeInteger(createdMs) || !id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new InvalidCursorError();
  return { createdMs, id };
}

export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR';
  constructor() {
    super('is not a cursor this API returned');
    this.name = 'InvalidCursorError';
  }
}

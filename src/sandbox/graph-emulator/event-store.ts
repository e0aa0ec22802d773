/**
 * One mailbox's calendar: events with two ids each (the default REST id and the immutable id; both address the
 * event), transactionId de-duplication, change keys, and a change sequence (with tombstones of deleted events)
 * that delta tokens and change notifications read.
 *
 * transactionId: a create repeating a live event's transactionId with the same content answers that event (201,
 * no second event); with different content it is refused (ErrorDuplicateTransactionId, seen in alcionai/corso
 * issue #2490). How long Exchange remembers a transactionId, and whether it outlives the event, is undocumented:
 * here it is forgotten when the event is deleted (VERIFY).
 */
import { createHash, randomBytes } from 'node:crypto';
import { checkTimes, type EventFields } from './event-body';
import { duplicateTransactionId, invalidRequest, itemNotFound } from './graph-errors';
import type { FreeBusyStatus } from './types';

export interface StoredEvent {
  restId: string;
  immutableId: string;
  iCalUId: string;
  transactionId: string | null;
  /** Hash of the create body that used transactionId (a retry must repeat it). */
  transactionFingerprint: string | null;
  createdMs: number;
  modifiedMs: number;
  changeKey: string;
  /** The mailbox's change sequence number of this event's last change. */
  seq: number;
  deleted: boolean;
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  startMs: number;
  endMs: number;
  startZone: string;
  endZone: string;
  isAllDay: boolean;
  isCancelled: boolean;
  showAs: FreeBusyStatus;
  sensitivity: 'normal' | 'personal' | 'private' | 'confidential';
  importance: 'low' | 'normal' | 'high';
  categories: string[];
  isReminderOn: boolean;
  reminderMinutesBeforeStart: number;
  /** Single-value extended properties by lower-cased id. */
  extended: Map<string, { id: string; value: string }>;
  /** Set by the owner's own changes (test helpers), not by the API. */
  byOwner: boolean;
}

export type ChangeType = 'created' | 'updated' | 'deleted';

/** Exchange-looking ids: base64 with the usual prefixes ("AAMkA…" REST ids, "AAkALg…" immutable ids). */
const restId = () => `AAMkA${randomBytes(96).toString('base64').replace(/\//g, '-').replace(/\+/g, '_').replace(/=+$/, '')}AAA=`;
const immutableId = () => `AAkALg${randomBytes(96).toString('base64').replace(/\//g, '-').replace(/\+/g, '_').replace(/=+$/, '')}AAA=`;
const changeKey = () => randomBytes(24).toString('base64');

const clone = (e: StoredEvent): StoredEvent => ({ ...e, body: { ...e.body }, categories: [...e.categories], extended: new Map(e.extended) });

export class EventStore {
  private readonly events: StoredEvent[] = [];
  private seq = 0;

  constructor(
    private readonly now: () => number,
    private readonly onChange: (event: StoredEvent, change: ChangeType) => void,
  ) {}

  /** The sequence number of the latest change (0 = none yet). */
  get changeSeq(): number {
    return this.seq;
  }

  /** Creates the event, or answers the live event created with the same transactionId and content. */
  create(fields: EventFields, byOwner = false): { event: StoredEvent; created: boolean } {
    const fingerprint = fields.transactionId === undefined ? null : fingerprintOf(fields);
    if (fields.transactionId !== undefined) {
      const existing = this.events.find((e) => !e.deleted && e.transactionId === fields.transactionId);
      if (existing) {
        if (existing.transactionFingerprint !== fingerprint) throw duplicateTransactionId();
        return { event: clone(existing), created: false };
      }
    }
    if (!fields.start || !fields.end) throw invalidRequest('The start and end of the event are required.');
    const isAllDay = fields.isAllDay ?? false;
    checkTimes(fields.start.ms, fields.end.ms, isAllDay, fields.start.zone);
    const now = this.now();
    const event: StoredEvent = {
      restId: restId(),
      immutableId: immutableId(),
      iCalUId: `040000008200E00074C5B7101A82E008000000${randomBytes(16).toString('hex').toUpperCase()}`,
      transactionId: fields.transactionId ?? null,
      transactionFingerprint: fingerprint,
      createdMs: now,
      modifiedMs: now,
      changeKey: changeKey(),
      seq: 0,
      deleted: false,
      subject: fields.subject ?? '',
      body: fields.body ?? { contentType: 'text', content: '' },
      startMs: fields.start.ms,
      endMs: fields.end.ms,
      startZone: fields.start.zone,
      endZone: fields.end.zone,
      isAllDay,
      isCancelled: fields.isCancelled ?? false,
      showAs: fields.showAs ?? 'busy',
      sensitivity: fields.sensitivity ?? 'normal',
      importance: fields.importance ?? 'normal',
      categories: fields.categories ?? [],
      isReminderOn: fields.isReminderOn ?? true,
      reminderMinutesBeforeStart: fields.reminderMinutesBeforeStart ?? 15,
      extended: new Map((fields.extendedProperties ?? []).map((p) => [p.id.toLowerCase(), p])),
      byOwner,
    };
    this.events.push(event);
    this.changed(event, 'created');
    return { event: clone(event), created: true };
  }

  /** The live event with this REST or immutable id; 404 ErrorItemNotFound otherwise (deleted ones too). */
  get(id: string): StoredEvent {
    return clone(this.find(id));
  }

  update(id: string, fields: EventFields, byOwner = false): StoredEvent {
    const event = this.find(id);
    const next = { ...event };
    if (fields.start) [next.startMs, next.startZone] = [fields.start.ms, fields.start.zone];
    if (fields.end) [next.endMs, next.endZone] = [fields.end.ms, fields.end.zone];
    if (fields.isAllDay !== undefined) next.isAllDay = fields.isAllDay;
    checkTimes(next.startMs, next.endMs, next.isAllDay, next.startZone);
    Object.assign(event, {
      startMs: next.startMs,
      endMs: next.endMs,
      startZone: next.startZone,
      endZone: next.endZone,
      isAllDay: next.isAllDay,
      ...(fields.subject !== undefined && { subject: fields.subject }),
      ...(fields.body !== undefined && { body: fields.body }),
      ...(fields.showAs !== undefined && { showAs: fields.showAs }),
      ...(fields.sensitivity !== undefined && { sensitivity: fields.sensitivity }),
      ...(fields.importance !== undefined && { importance: fields.importance }),
      ...(fields.categories !== undefined && { categories: fields.categories }),
      ...(fields.isReminderOn !== undefined && { isReminderOn: fields.isReminderOn }),
      ...(fields.reminderMinutesBeforeStart !== undefined && { reminderMinutesBeforeStart: fields.reminderMinutesBeforeStart }),
      ...(fields.isCancelled !== undefined && { isCancelled: fields.isCancelled }),
    });
    for (const p of fields.extendedProperties ?? []) event.extended.set(p.id.toLowerCase(), p);
    event.modifiedMs = this.now();
    event.changeKey = changeKey();
    event.byOwner = byOwner;
    this.changed(event, 'updated');
    return clone(event);
  }

  /** Deletes the event: later GET/PATCH/DELETE answer 404 ErrorItemNotFound; delta reports it @removed. */
  delete(id: string, byOwner = false): void {
    const event = this.find(id);
    event.deleted = true;
    event.byOwner = byOwner;
    event.modifiedMs = this.now();
    this.changed(event, 'deleted');
  }

  /**
   * Gives the event a new REST id, as Exchange does when an item moves (between folders, or in a mailbox move);
   * the immutable id stays. The old REST id answers 404 from now on. Not a change the calendar reports.
   */
  reassignRestId(id: string): StoredEvent {
    const event = this.find(id);
    event.restId = restId();
    return clone(event);
  }

  /** Copies of the live events. */
  live(): StoredEvent[] {
    return this.events.filter((e) => !e.deleted).map(clone);
  }

  /** Copies of every event changed after `seq` (deleted ones included), in change order. */
  changedSince(seq: number): StoredEvent[] {
    return this.events.filter((e) => e.seq > seq).sort((a, b) => a.seq - b.seq).map(clone);
  }

  private find(id: string): StoredEvent {
    const event = this.events.find((e) => !e.deleted && (e.restId === id || e.immutableId === id));
    if (!event) throw itemNotFound();
    return event;
  }

  private changed(event: StoredEvent, change: ChangeType): void {
    this.seq += 1;
    event.seq = this.seq;
    this.onChange(clone(event), change);
  }
}

function fingerprintOf(fields: EventFields): string {
  const canonical = JSON.stringify({ ...fields, extendedProperties: fields.extendedProperties?.map((p) => [p.id.toLowerCase(), p.value]) });
  return createHash('sha256').update(canonical).digest('hex');
}

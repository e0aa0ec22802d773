/**
 * One calendar's events: insert/get/patch/update/delete with Google's rules (client ids, 409 on reuse even after
 * deletion, 410 on deleting twice, If-Match), etags, and a change sequence that sync tokens point into.
 */
import { conditionNotMet, deleted, duplicate, invalid, notFound } from './google-errors';
import {
  fieldsOf,
  generateEventId,
  isValidEventId,
  mergePatch,
  normalizeTimes,
  sameTimes,
  type EventBody,
  type EventFields,
} from './event-resource';
import { formatUtcMillis } from './time';
import type { GoogleEventResource } from './types';

export interface StoredEvent {
  resource: GoogleEventResource;
  /** The calendar's change sequence number of this event's last write. */
  changeSeq: number;
}

export interface CalendarIdentity {
  readonly email: string;
  readonly timeZone: string;
}

const clone = <T>(value: T): T => structuredClone(value);

export class EventStore {
  private readonly byId = new Map<string, StoredEvent>();
  private seq = 0;
  private etagCounter = 0;

  constructor(
    private readonly calendar: CalendarIdentity,
    private readonly now: () => number,
    private readonly onChange: () => void,
  ) {}

  /** The sequence number of the latest change (0 = none yet). */
  get changeSeq(): number {
    return this.seq;
  }

  /** The `updated` time of the latest change, or null. */
  get lastUpdated(): string | null {
    let latest: string | null = null;
    for (const e of this.byId.values()) if (latest === null || e.resource.updated > latest) latest = e.resource.updated;
    return latest;
  }

  insert(body: EventBody): GoogleEventResource {
    const id = body.id ?? generateEventId();
    if (!isValidEventId(id)) throw invalid('Invalid resource id value.');
    if (this.byId.has(id)) throw duplicate();
    const fields = fieldsOf(body);
    const times = normalizeTimes(fields, this.calendar.timeZone);
    const at = formatUtcMillis(this.now());
    const email = this.calendar.email;
    const resource = this.compose(fields, times, {
      id,
      created: at,
      htmlLink: `https://www.google.com/calendar/event?eid=${Buffer.from(`${id} ${email}`).toString('base64url')}`,
      iCalUID: `${id}@google.com`,
      sequence: 0,
    });
    return this.write(resource);
  }

  /** The event (a copy), cancelled ones included; 404 if it never existed. */
  get(id: string): GoogleEventResource {
    return clone(this.find(id).resource);
  }

  patch(id: string, body: EventBody, ifMatch?: string): GoogleEventResource {
    const current = this.checked(id, ifMatch);
    return this.rewrite(current, mergePatch(fieldsOfResource(current), body));
  }

  update(id: string, body: EventBody, ifMatch?: string): GoogleEventResource {
    const current = this.checked(id, ifMatch);
    const fields = fieldsOf(body);
    fields.status ??= 'confirmed';
    return this.rewrite(current, fields);
  }

  /** Cancels the event (it stays known: get answers it cancelled, its id cannot be reused). */
  delete(id: string, ifMatch?: string): void {
    const current = this.checked(id, ifMatch);
    if (current.status === 'cancelled') throw deleted();
    this.write({ ...clone(current), status: 'cancelled' });
  }

  /** Copies of all events, cancelled ones included, with their change sequence numbers. */
  all(): StoredEvent[] {
    return [...this.byId.values()].map(clone);
  }

  private find(id: string): StoredEvent {
    const stored = this.byId.get(id);
    if (!stored) throw notFound();
    return stored;
  }

  private checked(id: string, ifMatch: string | undefined): GoogleEventResource {
    const { resource } = this.find(id);
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== resource.etag) throw conditionNotMet();
    return resource;
  }

  private rewrite(current: GoogleEventResource, fields: EventFields): GoogleEventResource {
    const times = normalizeTimes(fields, this.calendar.timeZone);
    const moved = !sameTimes(current, times);
    return this.write(
      this.compose(fields, times, {
        id: current.id,
        created: current.created,
        htmlLink: current.htmlLink,
        iCalUID: current.iCalUID,
        sequence: current.sequence + (moved ? 1 : 0),
      }),
    );
  }

  private compose(
    fields: EventFields,
    times: Pick<GoogleEventResource, 'start' | 'end'>,
    identity: Pick<GoogleEventResource, 'id' | 'created' | 'htmlLink' | 'iCalUID' | 'sequence'>,
  ): GoogleEventResource {
    const owner = { email: this.calendar.email, self: true };
    const resource: GoogleEventResource = {
      kind: 'calendar#event',
      etag: '',
      id: identity.id,
      status: fields.status ?? 'confirmed',
      htmlLink: identity.htmlLink,
      created: identity.created,
      updated: '',
      ...(fields.summary !== undefined && { summary: fields.summary }),
      ...(fields.description !== undefined && { description: fields.description }),
      ...(fields.location !== undefined && { location: fields.location }),
      creator: owner,
      organizer: { ...owner },
      start: times.start,
      end: times.end,
      ...(fields.transparency !== undefined && { transparency: fields.transparency }),
      iCalUID: identity.iCalUID,
      sequence: identity.sequence,
      ...(fields.attendees !== undefined && { attendees: clone(fields.attendees) }),
      ...(fields.extendedProperties !== undefined && { extendedProperties: clone(fields.extendedProperties) }),
      reminders: fields.reminders ?? { useDefault: true },
      eventType: fields.eventType ?? 'default',
    };
    return resource;
  }

  /** Stamps etag/updated, records the change and tells the listeners. */
  private write(resource: GoogleEventResource): GoogleEventResource {
    const now = this.now();
    this.etagCounter = (this.etagCounter + 1) % 1000;
    this.seq += 1;
    const stamped: GoogleEventResource = { ...resource, etag: `"${now * 1000 + this.etagCounter}"`, updated: formatUtcMillis(now) };
    this.byId.set(stamped.id, { resource: stamped, changeSeq: this.seq });
    this.onChange();
    return clone(stamped);
  }
}

/** The writable fields of a stored resource (the base a patch is merged onto). */
function fieldsOfResource(r: GoogleEventResource): EventFields {
  const fields: EventFields = {
    status: r.status,
    start: clone(r.start),
    end: clone(r.end),
    reminders: clone(r.reminders),
    eventType: r.eventType,
  };
  if (r.summary !== undefined) fields.summary = r.summary;
  if (r.description !== undefined) fields.description = r.description;
  if (r.location !== undefined) fields.location = r.location;
  if (r.transparency !== undefined) fields.transparency = r.transparency;
  if (r.attendees !== undefined) fields.attendees = clone(r.attendees);
  if (r.extendedProperties !== undefined) fields.extendedProperties = clone(r.extendedProperties);
  return fields;
}

/**
 * events.list: full listing with Google's filters (timeMin is exclusive on END, timeMax exclusive on START),
 * paging, and incremental sync with sync tokens (cancelled events included).
 */
import { eventInterval } from './event-resource';
import type { StoredEvent } from './event-store';
import { fullSyncRequired, invalid, timeRangeEmpty } from './google-errors';
import { booleanParam, integerParam, multiple, single, timeParam, type Query } from './query-params';
import type { PageTokens, PageState, SyncTokens } from './sync-tokens';
import { formatUtcMillis } from './time';
import type { GoogleEventResource } from './types';
import type { UserCalendar } from './user-directory';

export interface EventsListResponse {
  kind: 'calendar#events';
  etag: string;
  summary: string;
  updated: string;
  timeZone: string;
  accessRole: 'owner';
  defaultReminders: never[];
  nextPageToken?: string;
  nextSyncToken?: string;
  items: GoogleEventResource[];
}

const DEFAULT_PAGE = 250;
const MAX_PAGE = 2500;
/** Parameters that would make a sync token's result inconsistent (Google refuses them together). */
const NOT_WITH_SYNC_TOKEN = ['timeMin', 'timeMax', 'orderBy', 'privateExtendedProperty', 'sharedExtendedProperty', 'q', 'updatedMin', 'iCalUID'];

export class EventLister {
  constructor(
    private readonly syncTokens: SyncTokens,
    private readonly pageTokens: PageTokens,
  ) {}

  list(calendar: UserCalendar, query: Query): EventsListResponse {
    const pageSize = Math.min(integerParam(query, 'maxResults', 1) ?? DEFAULT_PAGE, MAX_PAGE);
    const pageToken = single(query, 'pageToken');
    let state: PageState;
    if (pageToken !== undefined) {
      const saved = this.pageTokens.get(pageToken, calendar.email);
      if (!saved) throw invalid('Invalid page token value.');
      state = saved;
    } else {
      state = { calendar: calendar.email, items: this.select(calendar, query), offset: 0, syncSeq: calendar.events.changeSeq };
    }
    const items = state.items.slice(state.offset, state.offset + pageSize);
    const more = state.offset + pageSize < state.items.length;
    const response: EventsListResponse = {
      kind: 'calendar#events',
      etag: `"p${calendar.events.changeSeq.toString(32).padStart(8, '0')}"`,
      summary: calendar.email,
      updated: calendar.events.lastUpdated ?? formatUtcMillis(0),
      timeZone: calendar.timeZone,
      accessRole: 'owner',
      defaultReminders: [],
      items,
    };
    if (more) response.nextPageToken = this.pageTokens.save({ ...state, offset: state.offset + pageSize });
    else response.nextSyncToken = this.syncTokens.issue(calendar.email, state.syncSeq);
    return response;
  }

  /** The whole result of a first page request, in order. */
  private select(calendar: UserCalendar, query: Query): GoogleEventResource[] {
    const syncToken = single(query, 'syncToken');
    const all = calendar.events.all();
    if (syncToken !== undefined) {
      const restricted = NOT_WITH_SYNC_TOKEN.filter((name) => query[name] !== undefined);
      if (restricted.length > 0) throw invalid(`Sync token cannot be used with other request restrictions: ${restricted.join(', ')}.`);
      const point = this.syncTokens.resolve(syncToken, calendar.email);
      if (!point) throw fullSyncRequired();
      return all.filter((e) => e.changeSeq > point.seq).sort((a, b) => a.changeSeq - b.changeSeq).map((e) => e.resource);
    }
    const filter = fullListFilter(calendar, query);
    const orderBy = single(query, 'orderBy');
    if (orderBy !== undefined && orderBy !== 'startTime' && orderBy !== 'updated') throw invalid(`Invalid value for: orderBy`);
    if (orderBy === 'startTime' && !booleanParam(query, 'singleEvents')) {
      throw invalid('The requested ordering is not available for the particular query.');
    }
    const selected = all.filter(filter);
    const startOf = (e: StoredEvent) => eventInterval(e.resource, calendar.timeZone).startMs;
    const byId = (a: StoredEvent, b: StoredEvent) => (a.resource.id < b.resource.id ? -1 : a.resource.id > b.resource.id ? 1 : 0);
    selected.sort(
      orderBy === 'updated'
        ? (a, b) => a.resource.updated.localeCompare(b.resource.updated) || byId(a, b)
        : (a, b) => startOf(a) - startOf(b) || byId(a, b),
    );
    return selected.map((e) => e.resource);
  }
}

/** The predicate of a full (non-sync) list request. */
function fullListFilter(calendar: UserCalendar, query: Query): (e: StoredEvent) => boolean {
  const timeMin = timeParam(single(query, 'timeMin'));
  const timeMax = timeParam(single(query, 'timeMax'));
  if (timeMin !== undefined && timeMax !== undefined && timeMax <= timeMin) throw timeRangeEmpty();
  const updatedMin = timeParam(single(query, 'updatedMin'));
  const showDeleted = booleanParam(query, 'showDeleted');
  booleanParam(query, 'singleEvents'); // accepted (no recurring events are stored)
  const privateProps = propertyFilters(query, 'privateExtendedProperty');
  const sharedProps = propertyFilters(query, 'sharedExtendedProperty');
  const q = single(query, 'q')?.toLowerCase();
  const iCalUID = single(query, 'iCalUID');
  // eventTypes=outOfOffice (repeatable): only events of these types; unset = every type.
  const eventTypes = multiple(query, 'eventTypes');

  return ({ resource: e }) => {
    if (eventTypes.length > 0 && !eventTypes.includes(e.eventType ?? 'default')) return false;
    const updated = Date.parse(e.updated);
    if (e.status === 'cancelled' && !showDeleted && !(updatedMin !== undefined && updated >= updatedMin)) return false;
    if (updatedMin !== undefined && updated < updatedMin) return false;
    if (timeMin !== undefined || timeMax !== undefined) {
      const { startMs, endMs } = eventInterval(e, calendar.timeZone);
      if (timeMin !== undefined && !(endMs > timeMin)) return false;
      if (timeMax !== undefined && !(startMs < timeMax)) return false;
    }
    if (!privateProps.every(([k, v]) => e.extendedProperties?.private?.[k] === v)) return false;
    if (!sharedProps.every(([k, v]) => e.extendedProperties?.shared?.[k] === v)) return false;
    if (iCalUID !== undefined && e.iCalUID !== iCalUID) return false;
    if (q !== undefined) {
      const text = [e.summary, e.description, e.location, ...(e.attendees ?? []).map((a) => a.email)].join('\n').toLowerCase();
      if (!text.includes(q)) return false;
    }
    return true;
  };
}

function propertyFilters(query: Query, name: string): Array<[string, string]> {
  return multiple(query, name).map((constraint) => {
    const at = constraint.indexOf('=');
    if (at <= 0) throw invalid(`Invalid value for: ${name}`);
    return [constraint.slice(0, at), constraint.slice(at + 1)];
  });
}

/**
 * GET /users/{id}/calendarView?startDateTime&endDateTime: the events overlapping the window, ordered by start, in
 * pages of `$top` (default 10, at most 1000; `Prefer: odata.maxpagesize` when no $top) with an `@odata.nextLink`
 * that carries `$skip`, plus `$filter` / `$expand` on single-value extended properties.
 */
import { eventFilter, expandedPropertyIds } from './extended-properties';
import { renderEvent, type RenderOptions } from './event-resource';
import { invalidParameter, timeWindowRequired } from './graph-errors';
import { parseQueryTime } from './graph-time';
import type { Mailbox } from './mailbox-directory';
import type { Query } from './query';
import { single } from './query';

const DEFAULT_PAGE = 10;
const MAX_PAGE = 1000;

export interface ViewContext {
  /** The emulator's base URL ("https://127.0.0.1:port/"), for the links. */
  baseUrl: string;
  /** The user segment as the client wrote it (address or object id). */
  userPath: string;
  render: Omit<RenderOptions, 'expand'>;
  maxPageSize?: number;
}

export function calendarView(mailbox: Mailbox, query: Query, ctx: ViewContext): object {
  const start = parseQueryTime(single(query, 'startDateTime') ?? single(query, 'startdatetime'));
  const end = parseQueryTime(single(query, 'endDateTime') ?? single(query, 'enddatetime'));
  if (start === undefined || end === undefined) throw timeWindowRequired();
  const top = integer(query, '$top') ?? Math.min(ctx.maxPageSize ?? DEFAULT_PAGE, MAX_PAGE);
  if (top < 1 || top > MAX_PAGE) throw invalidParameter(`Invalid value '${top}' for $top: it must be between 1 and ${MAX_PAGE}.`);
  const skip = integer(query, '$skip') ?? 0;
  const filter = eventFilter(single(query, '$filter'));
  const expand = expandedPropertyIds(single(query, '$expand'));
  const all = mailbox.events
    .live()
    .filter((e) => e.startMs < end && (e.endMs > start || (e.endMs === e.startMs && e.startMs >= start)))
    .filter((e) => !filter || filter(e))
    .sort((a, b) => a.startMs - b.startMs || a.createdMs - b.createdMs || a.restId.localeCompare(b.restId));
  const page = all.slice(skip, skip + top);
  const organizer = { address: mailbox.address, displayName: mailbox.displayName };
  const response: Record<string, unknown> = {
    '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${encodeURIComponent(mailbox.address)}')/calendarView`,
    value: page.map((e) => renderEvent(e, organizer, { ...ctx.render, expand })),
  };
  if (skip + top < all.length) {
    const next = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (name !== '$skip' && value !== undefined) next.set(name, Array.isArray(value) ? value[0] : value);
    next.set('$top', String(top));
    next.set('$skip', String(skip + top));
    response['@odata.nextLink'] = `${ctx.baseUrl}v1.0/users/${encodeURIComponent(ctx.userPath)}/calendarView?${next.toString().replace(/%24/g, '$')}`;
  }
  return response;
}

/**
 * GET /users/{id}/events: the mailbox's events (no time window; recurring masters are not expanded), newest
 * created first as Graph's default order is unspecified, in pages of `$top` (default 10), with `$filter` /
 * `$expand` on single-value extended properties (how an app finds its own events by their marker).
 */
export function eventList(mailbox: Mailbox, query: Query, ctx: ViewContext): object {
  const top = integer(query, '$top') ?? Math.min(ctx.maxPageSize ?? DEFAULT_PAGE, MAX_PAGE);
  if (top < 1 || top > MAX_PAGE) throw invalidParameter(`Invalid value '${top}' for $top: it must be between 1 and ${MAX_PAGE}.`);
  const skip = integer(query, '$skip') ?? 0;
  const filter = eventFilter(single(query, '$filter'));
  const expand = expandedPropertyIds(single(query, '$expand'));
  const all = mailbox.events
    .live()
    .filter((e) => !filter || filter(e))
    .sort((a, b) => b.createdMs - a.createdMs || a.restId.localeCompare(b.restId));
  const page = all.slice(skip, skip + top);
  const organizer = { address: mailbox.address, displayName: mailbox.displayName };
  const response: Record<string, unknown> = {
    '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${encodeURIComponent(mailbox.address)}')/events`,
    value: page.map((e) => renderEvent(e, organizer, { ...ctx.render, expand })),
  };
  if (skip + top < all.length) {
    const next = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (name !== '$skip' && value !== undefined) next.set(name, Array.isArray(value) ? value[0] : value);
    next.set('$top', String(top));
    next.set('$skip', String(skip + top));
    response['@odata.nextLink'] = `${ctx.baseUrl}v1.0/users/${encodeURIComponent(ctx.userPath)}/events?${next.toString().replace(/%24/g, '$')}`;
  }
  return response;
}

function integer(query: Query, name: string): number | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw invalidParameter(`Invalid value '${v}' for ${name}.`);
  return Number(v);
}

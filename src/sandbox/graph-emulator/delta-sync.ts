/**
 * GET /users/{id}/calendarView/delta: a first round over the window (startDateTime/endDateTime, only in the first
 * call) in pages linked by `@odata.nextLink` ($skiptoken), ending with an `@odata.deltaLink` ($deltatoken). Following
 * the deltaLink answers what changed since: events now in the window in full; events deleted, or changed outside
 * the window, as `{"@odata.type":"#microsoft.graph.event","id","@removed":{"reason":"deleted"}}` (Graph reports
 * both that way). Unknown, expired or foreign tokens answer 410 SyncStateNotFound (microsoft-graph-docs #2350).
 * $filter, $expand, $select, $orderby and $search are refused (delta does not support them).
 */
import { randomBytes } from 'node:crypto';
import { eventId, renderEvent, type RenderOptions } from './event-resource';
import type { StoredEvent } from './event-store';
import { GraphError, syncStateNotFound, timeWindowRequired } from './graph-errors';
import { parseQueryTime } from './graph-time';
import type { Mailbox } from './mailbox-directory';
import { single, type Query } from './query';

const DEFAULT_PAGE = 10;
const NOT_SUPPORTED = ['$filter', '$expand', '$select', '$orderby', '$search'];

interface DeltaState {
  mailbox: string;
  startMs: number;
  endMs: number;
  /** The change sequence point the next deltaLink will continue from. */
  seq: number;
  /** Remaining items of a round (skip tokens only). */
  items?: Array<{ event: StoredEvent; removed: boolean }>;
  generation: number;
}

export interface DeltaContext {
  baseUrl: string;
  userPath: string;
  render: RenderOptions;
  maxPageSize?: number;
}

export class DeltaSync {
  private readonly states = new Map<string, DeltaState>();
  private generation = 0;

  delta(mailbox: Mailbox, query: Query, ctx: DeltaContext): object {
    const skipToken = single(query, '$skiptoken');
    const deltaToken = single(query, '$deltatoken');
    let state: DeltaState;
    if (skipToken !== undefined || deltaToken !== undefined) {
      const found = this.states.get((skipToken ?? deltaToken) as string);
      if (!found || found.mailbox !== mailbox.address || (skipToken !== undefined) !== (found.items !== undefined)) {
        throw syncStateNotFound(Math.max(0, this.generation - 8), this.generation);
      }
      state = skipToken !== undefined ? found : { ...found, items: this.changes(mailbox, found), seq: mailbox.events.changeSeq };
    } else {
      const refused = NOT_SUPPORTED.filter((name) => query[name] !== undefined);
      if (refused.length > 0) {
        throw new GraphError(400, 'ErrorInvalidUrlQuery', `The following parameters are not supported with change tracking over the 'CalendarView' resource: '${refused.join(', ')}'.`);
      }
      const startMs = parseQueryTime(single(query, 'startDateTime') ?? single(query, 'startdatetime'));
      const endMs = parseQueryTime(single(query, 'endDateTime') ?? single(query, 'enddatetime'));
      if (startMs === undefined || endMs === undefined) throw timeWindowRequired();
      const items = mailbox.events
        .live()
        .filter((e) => inWindow(e, startMs, endMs))
        .sort((a, b) => a.startMs - b.startMs)
        .map((event) => ({ event, removed: false }));
      state = { mailbox: mailbox.address, startMs, endMs, seq: mailbox.events.changeSeq, items, generation: 0 };
    }
    const pageSize = ctx.maxPageSize ?? DEFAULT_PAGE;
    const items = state.items ?? [];
    const page = items.slice(0, pageSize);
    const rest = items.slice(pageSize);
    const organizer = { address: mailbox.address, displayName: mailbox.displayName };
    const link = `${ctx.baseUrl}v1.0/users/${encodeURIComponent(ctx.userPath)}/calendarView/delta?`;
    const response: Record<string, unknown> = {
      '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Collection(event)',
      value: page.map(({ event, removed }) =>
        removed
          ? { '@odata.type': '#microsoft.graph.event', id: eventId(event, ctx.render.immutableIds), '@removed': { reason: 'deleted' } }
          : renderEvent(event, organizer, ctx.render),
      ),
    };
    if (rest.length > 0) response['@odata.nextLink'] = `${link}$skiptoken=${this.save({ ...state, items: rest })}`;
    else response['@odata.deltaLink'] = `${link}$deltatoken=${this.save({ ...state, items: undefined })}`;
    return response;
  }

  /** Forgets the tokens of one mailbox (or all): their holders get 410 SyncStateNotFound and must start over. */
  expire(mailbox?: string): void {
    for (const [token, state] of this.states) if (mailbox === undefined || state.mailbox === mailbox) this.states.delete(token);
  }

  private changes(mailbox: Mailbox, from: DeltaState): Array<{ event: StoredEvent; removed: boolean }> {
    return mailbox.events.changedSince(from.seq).map((event) => ({ event, removed: event.deleted || !inWindow(event, from.startMs, from.endMs) }));
  }

  private save(state: DeltaState): string {
    this.generation += 1;
    const token = randomBytes(48).toString('base64url');
    this.states.set(token, { ...state, generation: this.generation });
    while (this.states.size > 50_000) this.states.delete(this.states.keys().next().value as string);
    return token;
  }
}

function inWindow(e: StoredEvent, startMs: number, endMs: number): boolean {
  return e.startMs < endMs && e.endMs > startMs;
}

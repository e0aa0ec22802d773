import {
  CalendarApiError,
  ChangeCursorExpiredError,
  type CalendarChanges,
  type CalendarEvent,
  type CalendarSubscription,
  type ChangeFeed,
  type SubscribeRequest,
} from '../ports/calendar';
import type { GraphClient } from './graph-client';
import { hasGraphStatus, toPortError, GraphRequestError } from './graph-request-error';
import { toCalendarEvent, type GraphEventJson } from './graph-event-mapping';

/**
 * Graph's change feed of a mailbox's calendar:
 * - changes: `calendarView/delta` over [now − 1 day, now + 400 days) (Graph needs a window; our windows are never
 *   further out). The first read follows `@odata.nextLink` pages to an `@odata.deltaLink`, which is the cursor;
 *   the next read follows the deltaLink. Deleted events come as `@removed`. A delta item cannot carry extended
 *   properties ($expand is not supported on delta), so our events are recognised by the `transactionId` we set at
 *   creation (graph-event-mapping.ts). A 410 (SyncStateNotFound) or a resync code → ChangeCursorExpiredError.
 * - subscribe: a subscription on `users/{owner}/events` for created, updated and deleted, with our lifecycle URL
 *   and clientState; its lifetime is what we ask (at most 10,079 minutes), shortened when Graph refuses it.
 * - renew: PATCH expirationDateTime; stop: DELETE (an unknown subscription is fine).
 */

/** Graph's longest lifetime for event subscriptions is 10,080 minutes; a minute less leaves room for clock skew. */
export const MAX_SUBSCRIPTION_MINUTES = 10_079;
const RANGE_BEFORE_MS = 86_400_000;
const RANGE_AFTER_MS = 400 * 86_400_000;
const EXPIRED_CODES = new Set(['syncstatenotfound', 'resyncrequired', 'syncstateinvalid', 'resyncapplicationrequired']);
const PAGE_SIZE = 100;

interface DeltaPage {
  value?: GraphEventJson[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

interface SubscriptionJson {
  id: string;
  resource?: string;
  expirationDateTime: string;
}

export class GraphChangeFeed implements ChangeFeed {
  constructor(
    private readonly graph: GraphClient,
    private readonly now: () => number,
  ) {}

  async changes(owner: string, cursor: string | null, keep: (e: CalendarEvent) => boolean = () => true): Promise<CalendarChanges> {
    const now = this.now();
    let link: string =
      cursor ??
      `users/${encodeURIComponent(owner)}/calendarView/delta?startDateTime=${iso(now - RANGE_BEFORE_MS)}&endDateTime=${iso(now + RANGE_AFTER_MS)}`;
    const events: CalendarEvent[] = [];
    let listed = 0;
    for (;;) {
      let page: DeltaPage;
      try {
        page = await this.graph.send<DeltaPage>({ operation: 'calendarView.delta', method: 'GET', path: link, mailbox: owner, maxPageSize: PAGE_SIZE });
      } catch (err) {
        if (cursor !== null && isExpired(err)) throw new ChangeCursorExpiredError(owner);
        throw toPortError(err, owner);
      }
      for (const item of page.value ?? []) {
        listed++;
        const event = toCalendarEvent(item);
        if (keep(event)) events.push(event);
      }
      if (page['@odata.nextLink']) link = page['@odata.nextLink'];
      else if (page['@odata.deltaLink']) return { events, listed, cursor: page['@odata.deltaLink'] };
      else throw new CalendarApiError(`calendarView.delta for ${owner}: a page with neither nextLink nor deltaLink`);
    }
  }

  async subscribe(owner: string, request: SubscribeRequest): Promise<CalendarSubscription> {
    let minutes = Math.max(1, Math.min(MAX_SUBSCRIPTION_MINUTES, Math.floor(request.ttlSeconds / 60)));
    for (let tries = 0; ; tries++) {
      try {
        const created = await this.graph.send<SubscriptionJson>({
          operation: 'subscriptions.create',
          method: 'POST',
          path: 'subscriptions',
          mailbox: owner,
          body: {
            changeType: 'created,updated,deleted',
            notificationUrl: request.address,
            ...(request.lifecycleAddress ? { lifecycleNotificationUrl: request.lifecycleAddress } : {}),
            resource: `users/${owner}/events`,
            expirationDateTime: iso(this.now() + minutes * 60_000),
            clientState: request.secret,
          },
        });
        return toSubscription(created);
      } catch (err) {
        // "Subscription expiration can only be N minutes in the future." (tenants differ: 4,230 or 10,080)
        const allowed = err instanceof GraphRequestError && err.status === 400 ? /can only be (\d+) minutes/.exec(err.message)?.[1] : undefined;
        if (allowed !== undefined && tries === 0 && Number(allowed) > 1) {
          minutes = Math.min(minutes, Number(allowed) - 1);
          continue;
        }
        throw toPortError(err, owner);
      }
    }
  }

  async renew(owner: string, subscription: CalendarSubscription, ttlSeconds: number): Promise<CalendarSubscription> {
    const minutes = Math.max(1, Math.min(MAX_SUBSCRIPTION_MINUTES, Math.floor(ttlSeconds / 60)));
    try {
      const renewed = await this.graph.send<SubscriptionJson>({
        operation: 'subscriptions.update',
        method: 'PATCH',
        path: `subscriptions/${encodeURIComponent(subscription.id)}`,
        mailbox: owner,
        body: { expirationDateTime: iso(this.now() + minutes * 60_000) },
      });
      return toSubscription(renewed, subscription.resource);
    } catch (err) {
      throw toPortError(err, undefined);
    }
  }

  async stop(owner: string, subscription: CalendarSubscription): Promise<void> {
    try {
      await this.graph.send({ operation: 'subscriptions.delete', method: 'DELETE', path: `subscriptions/${encodeURIComponent(subscription.id)}`, mailbox: owner });
    } catch (err) {
      if (hasGraphStatus(err, 404)) return;
      throw toPortError(err, undefined);
    }
  }
}

function toSubscription(s: SubscriptionJson, resource?: string): CalendarSubscription {
  const expiration = Date.parse(s.expirationDateTime);
  if (!s.id || Number.isNaN(expiration)) throw new CalendarApiError('Graph answered a subscription without id or expirationDateTime');
  return { id: s.id, resource: s.resource ?? resource ?? '', expiration };
}

function isExpired(err: unknown): boolean {
  if (!(err instanceof GraphRequestError)) return false;
  return err.status === 410 || (err.graphCode !== undefined && EXPIRED_CODES.has(err.graphCode.toLowerCase()));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}


import { randomBytes } from 'node:crypto';
import type { calendar_v3 } from '@googleapis/calendar';
import {
  CalendarApiError,
  ChangeCursorExpiredError,
  type CalendarChanges,
  type CalendarEvent,
  type CalendarSubscription,
  type ChangeFeed,
  type SubscribeRequest,
} from '../ports/calendar';
import { hasApiStatus, type GoogleCaller } from './google-call';
import { toCalendarEvent } from './google-event-mapping';

const PAGE_SIZE = 2500;
const PRIMARY = 'primary';

/**
 * Google's change feed of an owner's primary calendar: events.list with sync tokens (the cursor), push channels
 * (events.watch / channels.stop) as subscriptions. Google cannot extend a channel: there is no `renew`, a new
 * channel replaces the old one before it expires.
 */
export class GoogleChangeFeed implements ChangeFeed {
  constructor(
    private readonly api: calendar_v3.Calendar,
    private readonly call: GoogleCaller,
  ) {}

  async changes(owner: string, cursor: string | null, keep: (e: CalendarEvent) => boolean = () => true): Promise<CalendarChanges> {
    // A full sync whose nextSyncToken is reused must be a plain list: no time range, query or property filter.
    const mode: calendar_v3.Params$Resource$Events$List = cursor ? { syncToken: cursor } : { showDeleted: false };
    const events: CalendarEvent[] = [];
    let listed = 0;
    let pageToken: string | undefined;
    let nextSyncToken: string | undefined;
    let timeZone: string | undefined;
    try {
      do {
        const page = await this.call(owner, 'events.list', (p, o) =>
          this.api.events.list({ ...p, ...mode, calendarId: PRIMARY, maxResults: PAGE_SIZE, pageToken }, o),
        );
        for (const item of page.items ?? []) {
          listed += 1;
          const event = toCalendarEvent(item);
          if (keep(event)) events.push(event);
        }
        // Every page carries the calendar's own zone (IANA).
        timeZone = page.timeZone ?? timeZone;
        pageToken = page.nextPageToken ?? undefined;
        nextSyncToken = page.nextSyncToken ?? undefined;
      } while (pageToken);
    } catch (err) {
      if (cursor && hasApiStatus(err, 410)) throw new ChangeCursorExpiredError(owner);
      throw err;
    }
    if (!nextSyncToken) throw new CalendarApiError(`events.list for ${owner} ended without a nextSyncToken`);
    return { events, listed, cursor: nextSyncToken, ...(timeZone ? { timeZone } : {}) };
  }

  /** events.watch with a channel id we choose (`mw-` and 128 random bits, base64url); the secret travels as the channel token. */
  async subscribe(owner: string, request: SubscribeRequest): Promise<CalendarSubscription> {
    const channelId = `mw-${randomBytes(16).toString('base64url')}`;
    const channel = await this.call(owner, 'events.watch', (p, o) =>
      this.api.events.watch(
        {
          ...p,
          calendarId: PRIMARY,
          requestBody: {
            id: channelId,
            type: 'web_hook',
            address: request.address,
            token: request.secret,
            params: { ttl: String(request.ttlSeconds) },
          },
        },
        o,
      ),
    );
    if (!channel.resourceId || !channel.expiration) {
      throw new CalendarApiError(`events.watch for ${owner} answered without resourceId or expiration`);
    }
    return { id: channel.id ?? channelId, resource: channel.resourceId, expiration: Number(channel.expiration) };
  }

  /** channels.stop; a channel Google no longer knows (404) is not an error. */
  async stop(owner: string, subscription: CalendarSubscription): Promise<void> {
    try {
      await this.call(owner, 'channels.stop', (p, o) =>
        this.api.channels.stop({ ...p, requestBody: { id: subscription.id, resourceId: subscription.resource } }, o),
      );
    } catch (err) {
      if (!hasApiStatus(err, 404)) throw err;
    }
  }
}

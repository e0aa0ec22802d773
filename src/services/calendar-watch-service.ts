import { randomBytes } from 'node:crypto';
import { sameSecret } from '../lib/secrets';
import {
  ChangeCursorExpiredError,
  type CalendarChanges,
  type CalendarEvent,
  type CalendarNotification,
  type CalendarSubscription,
} from '../ports/calendar';
import type { ChannelRecord, ServiceDeps, WatchRepository } from './ports';
import type { RescheduleService } from './reschedule-service';
import { ConcurrencyLimit } from '../lib/concurrency-limit';
import { onlyOwnEchoes, type EchoLedger } from './own-write-echoes';


/** Channel calls (open, renew, stop) of one maintenance round in flight at once, each for another owner. */
const CHANNEL_CALLS_IN_FLIGHT = 8;
/** Booked windows read per page by the poll. */
const POLL_PAGE = 1000;
/** Owners, and channels, a channel round takes on at a time. */
const ROUND_PAGE = 1000;
/**
 * What became of a notification: a sync requested; a lifecycle notification handled (the subscription renewed, or
 * replaced by a new one, or forgotten and subscribed again, or only forgotten); or ignored, and why.
 */
export type NotificationVerdict =
  | { kind: 'sync'; owner: string }
  | { kind: 'handled'; action: 'renewal requested' | 'forgotten'; owner: string }
  | { kind: 'ignored'; reason: string; owner?: string };

export interface ChannelRound {
  opened: number;
  renewed: number;
  stopped: number;
}

/**
 * Watches the calendars of owners with a booked window, whatever the provider: one subscription ("push channel") per
 * owner calendar (not per event) through the calendar's change feed, incremental sync from a cursor, a poll for
 * windows beyond the push horizon and a slow safety sync for the rest. Changes to our events go to the
 * RescheduleService. A subscription is renewed before it expires when the provider can (Graph), else a new one
 * replaces it (Google).
 */
export class CalendarWatchService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly watch: WatchRepository,
    private readonly reschedule: RescheduleService,
    /** Our own writes' echoes (see own-write-echoes.ts); unset: every notification lists. */
    private readonly echoes?: EchoLedger,
  ) {}

  /** A sync that must list, whatever the echo counts say (poll, renewal, missed notifications, first sync). */
  private async fullSyncSoon(owner: string): Promise<void> {
    await this.echoes?.fullSyncNeeded(owner);
    await this.deps.scheduler.requestSync(owner);
  }

  private get settings() {
    return this.deps.settings.watch;
  }

  /**
   * A notification, as a provider's route parsed it: checked against the subscriptions we hold (forged or unknown
   * ones change nothing), then by kind: a change (or missed notifications) requests a sync of the owner's calendar (a
   * burst of them becomes one sync); the handshake of a new channel is ignored; a reauthorization renews the
   * subscription now (or replaces it); a removed subscription is forgotten and the calendar subscribed again.
   */
  async acceptNotification(n: CalendarNotification): Promise<NotificationVerdict> {
    const checked = await this.verifyNotification(n);
    const verdict = checked.kind === 'valid' ? await this.act(n.kind, checked.channel) : checked;
    this.deps.telemetry?.notification(verdict.kind === 'sync' ? 'accepted' : verdict.kind === 'handled' ? verdict.action : verdict.reason);
    return verdict;
  }

  /**
   * Checks a notification against the subscriptions we hold: a known subscription id, its secret (compared in
   * constant time), and the resource when both name one.
   */
  async verifyNotification(n: CalendarNotification): Promise<{ kind: 'valid'; channel: ChannelRecord } | { kind: 'ignored'; reason: string; owner?: string }> {
    if (!n.subscriptionId) return { kind: 'ignored', reason: 'no channel id' };
    const channel = await this.watch.channel(n.subscriptionId);
    if (!channel) return { kind: 'ignored', reason: 'unknown channel' };
    if (!n.secret || !sameSecret(n.secret, channel.token)) return { kind: 'ignored', reason: 'wrong channel token', owner: channel.owner };
    if (n.resource && channel.resource && n.resource !== channel.resource) return { kind: 'ignored', reason: 'wrong resource id', owner: channel.owner };
    return { kind: 'valid', channel };
  }

  private async act(kind: CalendarNotification['kind'], channel: ChannelRecord): Promise<NotificationVerdict> {
    const { owner } = channel;
    switch (kind) {
      case 'handshake':
        return { kind: 'ignored', reason: 'sync message', owner };
      case 'missed':
        this.deps.logger.info({ owner, channel: channel.channelId }, 'notifications were missed: syncing the calendar');
        await this.fullSyncSoon(owner);
        return { kind: 'sync', owner };
      case 'changed':
        await this.echoes?.notification(owner);
        await this.deps.scheduler.requestSync(owner);
        return { kind: 'sync', owner };
      case 'reauthorize':
        return this.reauthorize(channel);
      case 'removed':
        return this.resubscribe(channel);
    }
  }

  /**
   * The provider asks for a renewal now (Graph's reauthorizationRequired; its notifications pause until then). The
   * notification must be answered within seconds, so the channel is only marked: the next channel round (requested
   * now) renews it, or replaces it when the provider cannot renew, and syncs the calendar for what the pause hid.
   */
  private async reauthorize(channel: ChannelRecord): Promise<NotificationVerdict> {
    const { owner } = channel;
    const current = await this.watch.currentChannel(owner);
    // A channel already replaced is stopped by the next maintenance round: nothing to renew.
    if (current?.channelId !== channel.channelId) return { kind: 'ignored', reason: 'superseded channel', owner };
    await this.watch.saveChannel({ ...current, renewRequested: true });
    await this.deps.scheduler.requestChannelMaintenance();
    return { kind: 'handled', action: 'renewal requested', owner };
  }

  /**
   * The provider removed the subscription (Graph's subscriptionRemoved): our record goes now (nothing to stop), and
   * the next channel round (requested now) subscribes the calendar again if the owner still has a window to watch.
   */
  private async resubscribe(channel: ChannelRecord): Promise<NotificationVerdict> {
    const { owner } = channel;
    await this.watch.removeChannel(channel);
    this.deps.logger.info({ owner, channel: channel.channelId, why: 'removed by the provider' }, 'push channel closed');
    await this.deps.scheduler.requestChannelMaintenance();
    return { kind: 'handled', action: 'forgotten', owner };
  }

  /**
   * Opens a channel for every owner with a window inside the push horizon, renews it before it expires (or opens a
   * new one when the provider cannot renew), and stops the channels nobody needs any more.
   */
  async maintainChannels(): Promise<ChannelRound> {
    const { clock } = this.deps;
    const now = clock.now();
    const round: ChannelRound = { opened: 0, renewed: 0, stopped: 0 };
    const needed = this.settings.push ? await this.ownersBookedUntil(now + this.settings.pushHorizonMs) : new Set<string>();
    const fresh = (c: ChannelRecord | null) => this.isFresh(c, now);
    // Each owner under their own channel lock: CHANNEL_CALLS_IN_FLIGHT owners at a time (2,000 owners booked in a
    // minute are watched within seconds, not after one call each in turn).
    const calls = new ConcurrencyLimit(CHANNEL_CALLS_IN_FLIGHT);
    // A page at a time, so a round over 100,000 owners holds a thousand pending calls, not 100,000.
    // Each page's channels are read at once; only the owners whose channel is missing or due go on, one by one.
    const owners = [...needed];
    for (let i = 0; i < owners.length; i += ROUND_PAGE) {
      const slice = owners.slice(i, i + ROUND_PAGE);
      const current = await this.watch.currentChannels(slice);
      await Promise.all(slice.map((owner, k) => (fresh(current[k]) ? undefined : calls.run(() => this.keepChannel(owner, fresh, round)))));
    }
    for (let offset = 0; ; ) {
      const page = await this.watch.channelPage(offset, ROUND_PAGE);
      // Until a page comes back empty: a short page is not the end when a listed channel's record is missing.
      if (page.length === 0) break;
      const currentIds = await this.watch.currentChannelIds(page.map((channel) => channel.owner));
      const stopped = await Promise.all(
        page.map((channel, k) => {
          const superseded = currentIds[k] !== null && currentIds[k] !== channel.channelId;
          if (needed.has(channel.owner) && !superseded && channel.expiration > now) return false;
          return calls.run(() => this.stopIfUnneeded(channel, now));
        }),
      );
      const gone = stopped.filter(Boolean).length;
      round.stopped += gone;
      // The stopped ones left the list: the next page starts that many earlier (one stopped by another replica
      // meanwhile may make this round pass over a channel; the next round sees it).
      offset += page.length - gone;
    }
    return round;
  }

  /** A channel the round leaves as it is for an owner who needs one: not due for renewal, no renewal asked for. */
  private isFresh(c: ChannelRecord | null, now: number): c is ChannelRecord {
    const renewBefore = Math.min(3600_000, (this.settings.channelTtlSeconds * 1000) / 4);
    return c !== null && !c.renewRequested && c.expiration - now > renewBefore;
  }

  /**
   * A window was just booked on the owner's calendar (first booking, hand-over, rebook). A channel round (which
   * reads every booked window: O(owners)) is asked for only if it has something to do for this owner: open a
   * channel, renew it, or stop it because the window lies beyond the push horizon. An owner whose fresh channel
   * stays open across the booking costs nothing: 1,000 rebooks a minute over 5,000 owners asked for back-to-back
   * rounds before, and kept the daemon busy reading windows.
   */
  async afterBooking(owner: string, start: string): Promise<void> {
    const now = this.deps.clock.now();
    if (this.settings.push && Date.parse(start) <= now + this.settings.pushHorizonMs && this.isFresh(await this.watch.currentChannel(owner), now)) return;
    await this.deps.scheduler.requestChannelMaintenance();
  }

  /**
   * Stops a channel nobody seems to need any more (expired, replaced, or its owner has no window to watch), deciding
   * again under the owner's channel lock: another replica may have booked a window and opened it meanwhile. True if
   * it stopped it.
   */
  private async stopIfUnneeded(channel: ChannelRecord, now: number): Promise<boolean> {
    return this.withChannelLock(channel.owner, async () => {
      // The stored record: another replica may also have renewed it meanwhile.
      const stored = await this.watch.channel(channel.channelId);
      if (!stored) return false;
      const latest = await this.watch.currentChannel(channel.owner);
      const replaced = latest !== null && latest.channelId !== stored.channelId;
      const why = stored.expiration <= now ? 'expired' : replaced ? 'replaced' : !(await this.needsChannel(stored.owner, now)) ? 'no window to watch' : null;
      if (why) await this.stopChannel(stored, why);
      return why !== null;
    });
  }

  /**
   * The owners of windows starting by `until`, read a page of booked windows at a time (earliest first): the round
   * keeps their emails, not 100,000 remediations at once. A window that moves while the pages are read may be
   * missed by this round; the next one (every watch tick, and after each booking) sees it.
   */
  private async ownersBookedUntil(until: number): Promise<Set<string>> {
    const owners = new Set<string>();
    for (let offset = 0; ; offset += POLL_PAGE) {
      const page = await this.deps.store.bookedPage(offset, POLL_PAGE);
      for (const r of page) if (r.email && r.start && Date.parse(r.start) <= until) owners.add(r.email);
      const last = page.at(-1);
      if (page.length < POLL_PAGE || !last?.start || Date.parse(last.start) > until) return owners;
    }
  }

  /** Opens or renews one owner's channel unless it is fresh (under the owner's channel lock). */
  private async keepChannel(owner: string, fresh: (c: ChannelRecord | null) => boolean, round: ChannelRound): Promise<void> {
    const { logger } = this.deps;
    try {
      // Replicas maintain channels at the same time: under the owner's channel lock, only one opens it.
      const opened = await this.withChannelLock(owner, async () => {
        const current = await this.watch.currentChannel(owner);
        if (fresh(current)) return null;
        if (current && (await this.renewChannel(current))) return 'renewed';
        await this.openChannel(owner);
        // The provider paused the old channel's notifications until a renewal: read what they would have said.
        if (current?.renewRequested) await this.fullSyncSoon(owner);
        return current ? 'renewed' : 'opened';
      });
      if (opened) round[opened]++;
    } catch (err) {
      logger.warn({ owner, err: (err as Error).message }, 'could not open a push channel: the poll covers this calendar');
    }
  }

  /** Serialises opening and stopping one owner's channels across replicas. */
  private withChannelLock<T>(owner: string, fn: () => Promise<T>): Promise<T> {
    const { store } = this.deps;
    return store.withOwnerLock(`channel:${owner}`, fn);
  }

  /**
   * The owner's current window is booked and starts within the push horizon — or the owner's current remediation
   * waits for its booking (a hand-over to the owner's next host, a rebook): the channel and its cursor stay open
   * across it instead of being stopped and opened again a moment later (each costs a call, and a new channel a read).
   * The first round after that booking stops it if the new window is beyond the horizon.
   */
  private async needsChannel(owner: string, now: number): Promise<boolean> {
    const { store } = this.deps;
    const activeId = await store.activeForOwner(owner);
    const r = activeId ? await store.get(activeId) : null;
    if (!this.settings.push || r === null) return false;
    if (r.status === 'pending') return true;
    return r.status === 'booked' && Date.parse(r.start ?? '') <= now + this.settings.pushHorizonMs;
  }

  /**
   * Before the first booking on a calendar we have never read: reads it in full once and keeps the cursor, so the
   * subscription that follows the booking needs no read of its own; when the provider's listing carries the
   * calendar's time zone (Google's events.list does), that read also answers the zone and saves the separate call.
   * Returns the zone, or null when the provider's listing has none or the calendar was read before.
   */
  async readBeforeFirstBooking(owner: string): Promise<string | null> {
    if (await this.watch.syncToken(owner)) return null;
    const changes = await this.deps.calendar.changeFeed.changes(owner, null, mayBeOurs);
    await this.watch.setSyncToken(owner, changes.cursor);
    await this.watch.markSynced(owner, this.deps.clock.now());
    return changes.timeZone ?? null;
  }

  private async openChannel(owner: string): Promise<ChannelRecord> {
    const { calendar, clock, logger } = this.deps;
    // 128 random bits (2^128 guesses; 256 before): out of reach either way, and 21 bytes less per channel in Redis.
    const token = randomBytes(16).toString('base64url');
    const opened = await calendar.changeFeed.subscribe(owner, {
      address: this.settings.notificationUrl,
      ...(this.settings.lifecycleNotificationUrl ? { lifecycleAddress: this.settings.lifecycleNotificationUrl } : {}),
      secret: token,
      ttlSeconds: this.settings.channelTtlSeconds,
    });
    const record: ChannelRecord = { channelId: opened.id, resource: opened.resource, owner, token, expiration: opened.expiration };
    await this.watch.saveChannel(record);
    logger.info({ owner, channel: opened.id, expiresInS: Math.round((opened.expiration - clock.now()) / 1000) }, 'push channel opened');
    // A channel only reports changes: make sure we hold a sync token to read them with.
    if (!(await this.watch.syncToken(owner))) await this.fullSyncSoon(owner);
    return record;
  }

  /**
   * Extends a live channel when the provider can (Graph); false when it cannot (Google), when the channel has
   * expired already, or when the renewal failed (the caller then opens a new one).
   */
  private async renewChannel(channel: ChannelRecord): Promise<boolean> {
    const { calendar, clock, logger } = this.deps;
    const feed = calendar.changeFeed;
    if (!feed.renew || channel.expiration <= clock.now()) return false;
    try {
      const renewed = await feed.renew(channel.owner, subscriptionOf(channel), this.settings.channelTtlSeconds);
      const { renewRequested, ...rest } = channel;
      await this.watch.saveChannel({ ...rest, resource: renewed.resource || channel.resource, expiration: renewed.expiration });
      // Asked for by the provider: its notifications were paused until now, so read what they would have said.
      if (renewRequested) await this.fullSyncSoon(channel.owner);
      logger.info({ owner: channel.owner, channel: channel.channelId, expiresInS: Math.round((renewed.expiration - clock.now()) / 1000) }, 'push channel renewed');
      return true;
    } catch (err) {
      logger.warn({ owner: channel.owner, channel: channel.channelId, err: (err as Error).message }, 'could not renew a push channel: opening a new one');
      return false;
    }
  }

  private async stopChannel(channel: ChannelRecord, why: string): Promise<void> {
    const { calendar, logger } = this.deps;
    if (why !== 'expired') {
      try {
        await calendar.changeFeed.stop(channel.owner, subscriptionOf(channel));
      } catch (err) {
        logger.warn({ owner: channel.owner, channel: channel.channelId, err: (err as Error).message }, 'could not stop a push channel');
      }
    }
    await this.watch.removeChannel(channel);
    logger.info({ owner: channel.owner, channel: channel.channelId, why }, 'push channel closed');
  }

  /**
   * The poll: every owner with a booked window is synced once per poll interval — the only watch for windows
   * beyond the push horizon, and the safety net for push-watched calendars (Google: push is not 100 % reliable).
   * One read of the change feed from the cursor per calendar (Google: one events.list with the sync token).
   */
  async pollDue(): Promise<string[]> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const due = new Set<string>();
    // A page of booked windows at a time (100,000 are never held at once); their owners' last syncs read together.
    for (let offset = 0; ; offset += POLL_PAGE) {
      const page = await store.bookedPage(offset, POLL_PAGE);
      const owners = [...new Set(page.map((r) => r.email).filter((e): e is string => !!e && !due.has(e)))];
      const synced = await Promise.all(owners.map((owner) => this.watch.lastSync(owner)));
      // A little slack so a sync that ran a moment early in the last round is not skipped for a whole period.
      owners.forEach((owner, i) => {
        if (now - synced[i] >= this.settings.pollIntervalMs * 0.9) due.add(owner);
      });
      if (page.length < POLL_PAGE) break;
    }
    for (const owner of due) await this.fullSyncSoon(owner);
    return [...due];
  }

  /** Reads what changed on the owner's calendar since the last sync and applies the rules to our window. */
  async syncOwner(owner: string): Promise<{ changes: number; verdict: string }> {
    const { store, calendar, logger, clock } = this.deps;
    const token = await this.watch.syncToken(owner);
    const echoes = this.echoes ? await this.echoes.take(owner) : null;
    if (token && echoes && onlyOwnEchoes(echoes)) {
      logger.debug({ owner, ...echoes }, 'sync skipped: the notifications were the echoes of our own writes');
      return { changes: 0, verdict: 'own writes only' };
    }
    let changes: CalendarChanges;
    let full = token === null;
    try {
      changes = await calendar.changeFeed.changes(owner, token, mayBeOurs);
    } catch (err) {
      if (!(err instanceof ChangeCursorExpiredError)) throw err;
      logger.info({ owner }, 'sync token expired: full sync');
      full = true;
      changes = await calendar.changeFeed.changes(owner, null, mayBeOurs);
    }
    await this.watch.setSyncToken(owner, changes.cursor);
    await this.watch.markSynced(owner, clock.now());

    const activeId = await store.activeForOwner(owner);
    const r = activeId ? await store.get(activeId) : null;
    if (!r || r.status !== 'booked' || !r.calendarEventId) return { changes: changes.listed, verdict: 'no window' };
    let observed: CalendarEvent | null | undefined = changes.events.find((e) => e.id === r.calendarEventId);
    if (observed === undefined) {
      // Incremental: our event did not change. Full: it is missing (deleted events are not listed) — ask for it.
      if (!full) return { changes: changes.listed, verdict: 'unchanged' };
      observed = await calendar.getEvent(owner, r.calendarEventId);
    }
    const verdict = await this.reschedule.apply(r, observed);
    return { changes: changes.listed, verdict: verdict.kind };
  }
}

/**
 * What a sync holds on to: our events (they carry our marker) and cancellations (a cancelled or removed event may
 * come with its id only). Everything else on the owner's calendar is counted and dropped.
 */
function mayBeOurs(e: CalendarEvent): boolean {
  return e.cancelled || e.remediationId !== undefined;
}

function subscriptionOf(channel: ChannelRecord): CalendarSubscription {
  return { id: channel.channelId, resource: channel.resource, expiration: channel.expiration };
}

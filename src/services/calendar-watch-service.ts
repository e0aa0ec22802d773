import { randomBytes } from 'node:crypto';
import { OWNED_BY_PROPERTY } from '../domain/event-id';
import { sameSecret } from '../lib/secrets';
import { SyncTokenExpiredError, type CalendarEvent, type EventChanges } from '../ports/calendar';
import type { ChannelRecord, ServiceDeps, WatchRepository } from './ports';
import type { RescheduleService } from './reschedule-service';

/** The headers of a Google push notification, as received. */
export interface PushNotification {
  channelId?: string;
  token?: string;
  resourceId?: string;
  resourceState?: string;
  messageNumber?: string;
}

export type NotificationVerdict = { kind: 'sync'; owner: string } | { kind: 'ignored'; reason: string; owner?: string };

export interface ChannelRound {
  opened: number;
  renewed: number;
  stopped: number;
}

/**
 * Watches the calendars of owners with a booked window: one push channel per owner calendar (not per event),
 * incremental sync with sync tokens, a poll for windows beyond the push horizon and a slow safety sync for the
 * rest. Changes to our events go to the RescheduleService.
 */
export class CalendarWatchService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly watch: WatchRepository,
    private readonly reschedule: RescheduleService,
  ) {}

  private get settings() {
    return this.deps.settings.watch;
  }

  /** A push notification: verified, then the owner's calendar is synced (a burst of them becomes one sync). */
  async acceptNotification(n: PushNotification): Promise<NotificationVerdict> {
    const verdict = await this.verifyNotification(n);
    this.deps.telemetry?.notification(verdict.kind === 'sync' ? 'accepted' : verdict.reason);
    if (verdict.kind === 'sync') await this.deps.scheduler.requestSync(verdict.owner);
    return verdict;
  }

  /** Checks a notification against the channels we opened. Forged or unknown ones change nothing. */
  async verifyNotification(n: PushNotification): Promise<NotificationVerdict> {
    if (!n.channelId) return { kind: 'ignored', reason: 'no channel id' };
    const channel = await this.watch.channel(n.channelId);
    if (!channel) return { kind: 'ignored', reason: 'unknown channel' };
    if (!n.token || !sameSecret(n.token, channel.token)) return { kind: 'ignored', reason: 'wrong channel token', owner: channel.owner };
    if (n.resourceId && n.resourceId !== channel.resourceId) return { kind: 'ignored', reason: 'wrong resource id', owner: channel.owner };
    if (n.resourceState === 'sync') return { kind: 'ignored', reason: 'sync message', owner: channel.owner };
    return { kind: 'sync', owner: channel.owner };
  }

  /**
   * Opens a channel for every owner with a window inside the push horizon, opens a new one before the current one
   * expires, and stops the channels nobody needs any more.
   */
  async maintainChannels(): Promise<ChannelRound> {
    const { store, clock, logger } = this.deps;
    const now = clock.now();
    const round: ChannelRound = { opened: 0, renewed: 0, stopped: 0 };
    const needed = new Set(
      this.settings.push
        ? (await store.bookedUntil(now + this.settings.pushHorizonMs)).map((r) => r.email).filter((e): e is string => !!e)
        : [],
    );
    const renewBefore = Math.min(3600_000, (this.settings.channelTtlSeconds * 1000) / 4);
    const fresh = (c: ChannelRecord | null) => c !== null && c.expiration - now > renewBefore;
    for (const owner of needed) {
      if (fresh(await this.watch.currentChannel(owner))) continue;
      try {
        // Replicas maintain channels at the same time: under the owner's channel lock, only one opens it.
        const opened = await this.withChannelLock(owner, async () => {
          const current = await this.watch.currentChannel(owner);
          if (fresh(current)) return null;
          await this.openChannel(owner);
          return current ? 'renewed' : 'opened';
        });
        if (opened) round[opened]++;
      } catch (err) {
        logger.warn({ owner, err: (err as Error).message }, 'could not open a push channel: the poll covers this calendar');
      }
    }
    for (const channel of await this.watch.allChannels()) {
      const current = await this.watch.currentChannel(channel.owner);
      const superseded = current !== null && current.channelId !== channel.channelId;
      if (needed.has(channel.owner) && !superseded && channel.expiration > now) continue;
      // Decided again under the lock: another replica may have booked a window and opened this channel meanwhile.
      const stopped = await this.withChannelLock(channel.owner, async () => {
        if (!(await this.watch.channel(channel.channelId))) return false;
        const latest = await this.watch.currentChannel(channel.owner);
        const replaced = latest !== null && latest.channelId !== channel.channelId;
        const why = channel.expiration <= now ? 'expired' : replaced ? 'replaced' : !(await this.needsChannel(channel.owner, now)) ? 'no window to watch' : null;
        if (why) await this.stopChannel(channel, why);
        return why !== null;
      });
      if (stopped) round.stopped++;
    }
    return round;
  }

  /** Serialises opening and stopping one owner's channels across replicas. */
  private withChannelLock<T>(owner: string, fn: () => Promise<T>): Promise<T> {
    const { store } = this.deps;
    return store.withOwnerLock(`channel:${owner}`, fn);
  }

  /** The owner's current window is booked and starts within the push horizon. */
  private async needsChannel(owner: string, now: number): Promise<boolean> {
    const { store } = this.deps;
    const activeId = await store.activeForOwner(owner);
    const r = activeId ? await store.get(activeId) : null;
    return this.settings.push && r !== null && r.status === 'booked' && Date.parse(r.start ?? '') <= now + this.settings.pushHorizonMs;
  }

  private async openChannel(owner: string): Promise<ChannelRecord> {
    const { calendar, clock, logger } = this.deps;
    const channelId = `mw-${randomBytes(16).toString('hex')}`;
    const token = randomBytes(32).toString('hex');
    const opened = await calendar.watchEvents(owner, {
      channelId,
      address: this.settings.notificationUrl,
      token,
      ttlSeconds: this.settings.channelTtlSeconds,
    });
    const record: ChannelRecord = { channelId, resourceId: opened.resourceId, owner, token, expiration: opened.expiration };
    await this.watch.saveChannel(record);
    logger.info({ owner, channel: channelId, expiresInS: Math.round((opened.expiration - clock.now()) / 1000) }, 'push channel opened');
    // A channel only reports changes: make sure we hold a sync token to read them with.
    if (!(await this.watch.syncToken(owner))) await this.deps.scheduler.requestSync(owner);
    return record;
  }

  private async stopChannel(channel: ChannelRecord, why: string): Promise<void> {
    const { calendar, logger } = this.deps;
    if (why !== 'expired') {
      try {
        await calendar.stopChannel(channel.owner, { channelId: channel.channelId, resourceId: channel.resourceId });
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
   * One events.list call with the sync token per calendar.
   */
  async pollDue(): Promise<string[]> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const owners = [...new Set((await store.allBooked()).map((r) => r.email).filter((e): e is string => !!e))];
    const due: string[] = [];
    for (const owner of owners) {
      // A little slack so a sync that ran a moment early in the last round is not skipped for a whole period.
      if (now - (await this.watch.lastSync(owner)) >= this.settings.pollIntervalMs * 0.9) due.push(owner);
    }
    for (const owner of due) await this.deps.scheduler.requestSync(owner);
    return due;
  }

  /** Reads what changed on the owner's calendar since the last sync and applies the rules to our window. */
  async syncOwner(owner: string): Promise<{ changes: number; verdict: string }> {
    const { store, calendar, logger, clock } = this.deps;
    const token = await this.watch.syncToken(owner);
    let changes: EventChanges;
    let full = token === null;
    try {
      changes = await calendar.listChanges(owner, token, mayBeOurs);
    } catch (err) {
      if (!(err instanceof SyncTokenExpiredError)) throw err;
      logger.info({ owner }, 'sync token expired: full sync');
      full = true;
      changes = await calendar.listChanges(owner, null, mayBeOurs);
    }
    await this.watch.setSyncToken(owner, changes.nextSyncToken);
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
 * What a sync holds on to: our events (marked with the private property) and cancellations (Google lists a
 * cancelled event with its id and status only). Everything else on the owner's calendar is counted and dropped.
 */
function mayBeOurs(e: CalendarEvent): boolean {
  return e.status === 'cancelled' || e.privateProperties?.[OWNED_BY_PROPERTY] !== undefined;
}

import type { CalendarEvent, CalendarPort, CallLimits, EventPatch, NewWindowEvent } from '../ports/calendar';
import type { Logger } from '../lib/logger';

/**
 * The rule "our own writes' echoes are not synced". A provider notifies us of every change to a watched calendar,
 * our own included: a hand-over (delete the old window, create the next) would cost a listing per echo. So each
 * write of ours is counted per owner as it goes out (the provider may notify us before it answers; a write that
 * fails is taken back), and so is each change notification; a sync requested only by
 * notifications, no more of them than our writes since the last sync, skips the listing. Anything else lists: a
 * poll, a renewal, missed notifications, a first sync (they mark the calendar "full"), or more notifications than
 * writes (the owner changed something too).
 *
 * The risk it takes, knowingly: an owner's change whose notification lands in the same coalesced sync as the echo
 * of a write of ours that never produced one (a delete of an event already gone) is read at the next notification,
 * poll, or the last look before the window fires, not at once. Likewise an owner's change landing in a sync while
 * a write of ours is still on its way: that write's echo, arriving after the sync took the counts, makes the next
 * sync list. The counts live two minutes.
 */
export interface EchoLedger {
  /** One of our writes to the owner's calendar is going out: one echo to expect, if the calendar is watched. */
  ownWrite(owner: string): Promise<void>;
  /** That write failed: its echo is no longer expected (never below none). */
  ownWriteFailed(owner: string): Promise<void>;
  /** A change notification arrived for the owner's calendar. */
  notification(owner: string): Promise<void>;
  /** The next sync must list whatever the counts say (poll, renewal, missed notifications, first sync). */
  fullSyncNeeded(owner: string): Promise<void>;
  /** The counts since the last sync, cleared. */
  take(owner: string): Promise<EchoCounts>;
}

export interface EchoCounts {
  writes: number;
  notifications: number;
  full: boolean;
  /** A sync took the counts in the last two minutes: a notification that asked for this sync may have been read by it. */
  takenBefore?: boolean;
}

/**
 * Whether a sync with these counts would only read back our own writes: its notifications are no more than our
 * writes; or it has none of its own because the sync before it took them (two echoes of a hand-over arriving
 * further apart than the coalescing window each ask for a sync; the first takes both counts).
 */
export function onlyOwnEchoes(c: EchoCounts): boolean {
  if (c.full) return false;
  if (c.notifications > 0) return c.notifications <= c.writes;
  return c.takenBefore === true;
}

/**
 * The calendar port with every write counted in the ledger before it goes out, and taken back if it fails (a count
 * that cannot be made is logged, not thrown: the sync then lists, the safe side).
 */
export function countingOwnWrites(calendar: CalendarPort, ledger: EchoLedger, logger: Logger): CalendarPort {
  const note = (owner: string, count: Promise<void>) =>
    count.catch((err: Error) => logger.warn({ owner, err: err.message }, 'could not count our write to the calendar'));
  const counted = async <T>(owner: string, write: () => Promise<T>): Promise<T> => {
    await note(owner, ledger.ownWrite(owner));
    try {
      return await write();
    } catch (err) {
      await note(owner, ledger.ownWriteFailed(owner));
      throw err;
    }
  };
  const port: CalendarPort = {
    provider: calendar.provider,
    maxOwnersPerFreeBusy: calendar.maxOwnersPerFreeBusy,
    changeFeed: calendar.changeFeed,
    timeZone: (owner) => calendar.timeZone(owner),
    freeBusy: (owners, timeMin, timeMax) => calendar.freeBusy(owners, timeMin, timeMax),
    createEvent: (owner: string, event: NewWindowEvent): Promise<CalendarEvent> => counted(owner, () => calendar.createEvent(owner, event)),
    getEvent: (owner, eventId, limits) => calendar.getEvent(owner, eventId, limits),
    updateEvent: (owner: string, eventId: string, patch: EventPatch, limits?: CallLimits) => counted(owner, () => calendar.updateEvent(owner, eventId, patch, limits)),
    deleteEvent: (owner: string, eventId: string) => counted(owner, () => calendar.deleteEvent(owner, eventId)),
  };
  if (calendar.outOfOffice) port.outOfOffice = calendar.outOfOffice.bind(calendar);
  return port;
}

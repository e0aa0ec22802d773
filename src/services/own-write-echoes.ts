import type { CalendarEvent, CalendarPort, CallLimits, EventPatch, NewWindowEvent } from '../ports/calendar';
import type { Logger } from '../lib/logger';

/**
 * The rule "our own writes' echoes are not synced". A provider notifies us of every change to a watched calendar,
 * our own included: a hand-over (delete the old window, create the next) would cost a listing per echo. So each
 * successful write of ours is counted per owner, and so is each change notification; a sync requested only by
 * notifications, no more of them than our writes since the last sync, skips the listing. Anything else lists: a
 * poll, a renewal, missed notifications, a first sync (they mark the calendar "full"), or more notifications than
 * writes (the owner changed something too).
 *
 * The risk it takes, knowingly: an owner's change whose notification lands in the same coalesced sync as the echo
 * of a write of ours that never produced one (a delete of an event already gone) is read at the next notification,
 * poll, or the last look before the window fires, not at once. The counts live two minutes.
 */
export interface EchoLedger {
  /** One of our writes to the owner's calendar succeeded: one echo to expect, if the calendar is watched. */
  ownWrite(owner: string): Promise<void>;
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
}

/** Whether a sync with these counts would only read back our own writes. */
export function onlyOwnEchoes(c: EchoCounts): boolean {
  return !c.full && c.notifications > 0 && c.notifications <= c.writes;
}

/** The calendar port with every successful write counted in the ledger (a failed count is logged, not thrown). */
export function countingOwnWrites(calendar: CalendarPort, ledger: EchoLedger, logger: Logger): CalendarPort {
  const counted = async <T>(owner: string, write: Promise<T>): Promise<T> => {
    const result = await write;
    await ledger.ownWrite(owner).catch((err: Error) => logger.warn({ owner, err: err.message }, 'could not count our write to the calendar'));
    return result;
  };
  const port: CalendarPort = {
    provider: calendar.provider,
    maxOwnersPerFreeBusy: calendar.maxOwnersPerFreeBusy,
    changeFeed: calendar.changeFeed,
    timeZone: (owner) => calendar.timeZone(owner),
    freeBusy: (owners, timeMin, timeMax) => calendar.freeBusy(owners, timeMin, timeMax),
    createEvent: (owner: string, event: NewWindowEvent): Promise<CalendarEvent> => counted(owner, calendar.createEvent(owner, event)),
    getEvent: (owner, eventId, limits) => calendar.getEvent(owner, eventId, limits),
    updateEvent: (owner: string, eventId: string, patch: EventPatch, limits?: CallLimits) => counted(owner, calendar.updateEvent(owner, eventId, patch, limits)),
    deleteEvent: (owner: string, eventId: string) => counted(owner, calendar.deleteEvent(owner, eventId)),
  };
  if (calendar.outOfOffice) port.outOfOffice = calendar.outOfOffice.bind(calendar);
  return port;
}

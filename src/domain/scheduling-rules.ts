/**
 * When maintenance windows may be booked. Today one rule set for everyone (config/scheduling.ts);
 * later per team and policy (RFC 5545 RRULEs), which is why slot search takes the rules as a value.
 */
export interface SchedulingRules {
  /** ISO weekday of the booking day: 1 = Monday … 7 = Sunday (2 = Tuesday). */
  weekday: number;
  /** Local wall-clock start of the working window, "HH:mm". */
  dayStart: string;
  /** Local wall-clock end of the working window, "HH:mm" (the last slot ends here). */
  dayEnd: string;
  /** Slot length in minutes; slots start on multiples of this from dayStart (30 → :00/:30). */
  slotMinutes: number;
  /** IANA zone used when an owner's calendar time zone cannot be read or is invalid. */
  fallbackTimeZone: string;
}

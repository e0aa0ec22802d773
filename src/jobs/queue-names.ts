/** BullMQ queue names. `policy-events` is a public interface: other producers may enqueue to it directly. */
export const QUEUE = {
  policyEvents: 'policy-events',
  bookings: 'bookings',
  fires: 'fires',
  calendarSync: 'calendar-sync',
  calendarWatch: 'calendar-watch',
  /** window.upcoming / window.ended notices, the lifecycle feed's dispatch, lifecycle webhook deliveries. */
  lifecycle: 'lifecycle',
  /** The Fleet sync (FLEET_SYNC_INTERVAL_SECONDS): Fleet's policy results re-read for every open remediation. */
  fleetSync: 'fleet-sync',
} as const;

/** A backoff type of ours (BullMQ's exponential has no cap): 1 s doubling per attempt, at most 5 minutes, jittered. */
export const CAPPED_EXPONENTIAL = 'capped-exponential';

export function cappedExponentialDelay(attemptsMade: number, random: () => number = Math.random): number {
  const ceiling = Math.min(5 * 60_000, 1000 * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

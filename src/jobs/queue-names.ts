/** BullMQ queue names. `policy-events` is a public interface: other producers may enqueue to it directly. */
export const QUEUE = {
  policyEvents: 'policy-events',
  bookings: 'bookings',
  fires: 'fires',
  calendarSync: 'calendar-sync',
  calendarWatch: 'calendar-watch',
} as const;

export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

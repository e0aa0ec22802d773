import type { RedisClient } from '../lib/redis-connection';

/**
 * A booked window's jobs (its fire job's last look, its window.upcoming notice) are due hours or days after the
 * booking. Until TIMER_HORIZON_MS before they are due they wait in one sorted set — one member of about 150 bytes
 * a window — instead of as BullMQ delayed jobs (about 1 KB each with their place in the delayed set). Each daemon's
 * WindowTimerLoop takes the timers coming due and adds their jobs (with the delay left), so near the start a
 * window has the same job it always had.
 *
 * A timer is taken under a lease: the take moves it to a second set with the time it may be taken again, and
 * only a done (its job added) removes it there. A daemon that dies between the two leaves the timer to be taken
 * again after TIMER_LEASE_MS; adding the job twice is harmless (jobs are keyed by window).
 */
export const TIMER_HORIZON_MS = 120_000;
export const TIMER_LEASE_MS = 30_000;

export type WindowTimer =
  /** The window's fire job: `dueMs` is when its last look runs (start − look-ahead). */
  | { kind: 'fire'; remediationId: string; bookingNumber: number; start: string; dueMs: number }
  /** The window.upcoming notice: `dueMs` is start − minutesBefore. */
  | { kind: 'upcoming'; remediationId: string; bookingNumber: number; start: string; minutesBefore: number; dueMs: number }
  /**
   * Both, while the notice is far off (one member, not two): `dueMs` is the notice's. Taken, it adds the notice's
   * job and leaves the fire timer (or job) behind it.
   */
  | { kind: 'window'; remediationId: string; bookingNumber: number; start: string; minutesBefore: number; dueMs: number };

export type FireTimer = Extract<WindowTimer, { kind: 'fire' }>;
export type UpcomingTimer = Extract<WindowTimer, { kind: 'upcoming' }>;

/** A taken timer: done() with it once its job exists. */
export interface TakenTimer {
  timer: WindowTimer;
  /** Its entry in the taken set. */
  ref: string;
}

/**
 * KEYS[1] timers, KEYS[2] taken; ARGV[1] now, ARGV[2] horizon, ARGV[3] lease, ARGV[4] limit. Timers whose lease
 * ran out go back first; then up to `limit` timers due by now + horizon move to the taken set, leased until
 * now + lease, as `member#score`. Returns member, score pairs.
 */
const TAKE_TIMERS = `
local now = tonumber(ARGV[1])
local expired = redis.call('zrangebyscore', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, ref in ipairs(expired) do
  local at = string.find(ref, '#', 1, true)
  if at then redis.call('zadd', KEYS[1], 'NX', string.sub(ref, at + 1), string.sub(ref, 1, at - 1)) end
  redis.call('zrem', KEYS[2], ref)
end
local due = redis.call('zrangebyscore', KEYS[1], '-inf', now + tonumber(ARGV[2]), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[4]))
for i = 1, #due, 2 do
  redis.call('zrem', KEYS[1], due[i])
  redis.call('zadd', KEYS[2], now + tonumber(ARGV[3]), due[i] .. '#' .. due[i + 1])
end
return due`;

/** The sorted sets of window timers under one key prefix. */
export class WindowTimers {
  private readonly timersKey: string;
  private readonly takenKey: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.timersKey = `${prefix}:window-timers`;
    this.takenKey = `${prefix}:window-timers:taken`;
  }

  /** Sets each timer (a timer of the same window, kind and start is replaced: its due time may have changed). */
  async add(timers: WindowTimer[]): Promise<void> {
    if (timers.length === 0) return;
    await this.redis.zadd(this.timersKey, ...timers.flatMap((t) => [t.dueMs, timerMember(t)]));
  }

  /** For each timer: whether it waits (in either set). */
  async waiting(timers: WindowTimer[]): Promise<boolean[]> {
    if (timers.length === 0) return [];
    const scores = await this.redis.zmscore(this.timersKey, ...timers.map(timerMember));
    return scores.map((s) => s !== null);
  }

  /** Takes up to `limit` timers due by `now + TIMER_HORIZON_MS` (and those whose lease ran out). */
  async take(now: number, limit: number): Promise<TakenTimer[]> {
    const flat = (await this.redis.eval(TAKE_TIMERS, 2, this.timersKey, this.takenKey, now, TIMER_HORIZON_MS, TIMER_LEASE_MS, limit)) as string[];
    const taken: TakenTimer[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const timer = parseTimerMember(flat[i], Number(flat[i + 1]));
      const ref = `${flat[i]}#${flat[i + 1]}`;
      if (timer) taken.push({ timer, ref });
      else await this.done([ref]); // not ours (a hand-written member): dropped
    }
    return taken;
  }

  /** Their jobs exist: the taken timers go. */
  async done(refs: string[]): Promise<void> {
    if (refs.length > 0) await this.redis.zrem(this.takenKey, ...refs);
  }

  /** How many timers wait (metrics, tests). */
  count(): Promise<number> {
    return this.redis.zcard(this.timersKey);
  }
}

/**
 * `f|<remediation>|<booking>|<start>`, `u|<remediation>|<booking>|<start>|<minutes before>` or the same with `w|`
 * (both); the start as the remediation holds it (with its offset: the fire and notice jobs compare it with the
 * booked start).
 */
export function timerMember(t: WindowTimer): string {
  const base = `${t.remediationId}|${t.bookingNumber}|${t.start}`;
  return t.kind === 'fire' ? `f|${base}` : `${t.kind === 'upcoming' ? 'u' : 'w'}|${base}|${t.minutesBefore}`;
}

export function parseTimerMember(member: string, dueMs: number): WindowTimer | null {
  const [kind, remediationId, booking, start, minutes] = member.split('|');
  const bookingNumber = Number(booking);
  if (!remediationId || !Number.isInteger(bookingNumber) || !start || Number.isNaN(Date.parse(start)) || !Number.isFinite(dueMs)) return null;
  if (kind === 'f') return { kind: 'fire', remediationId, bookingNumber, start, dueMs };
  const minutesBefore = Number(minutes);
  if (!(minutesBefore > 0)) return null;
  if (kind === 'u') return { kind: 'upcoming', remediationId, bookingNumber, start, minutesBefore, dueMs };
  if (kind === 'w') return { kind: 'window', remediationId, bookingNumber, start, minutesBefore, dueMs };
  return null;
}

import type { ChainableCommander, Redis } from 'ioredis';
import type { Remediation, RemediationStatus } from '../domain/remediation';
import { RedisLock } from './redis-lock';

/** KEYS[1] pending zset; ARGV: due-by score, limit, lease key prefix, lease ms. Skips leased ids, leases the rest. */
const CLAIM_PENDING = `
local limit = tonumber(ARGV[2])
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit * 20)
local ids = {}
for _, id in ipairs(due) do
  if #ids >= limit then break end
  if redis.call('set', ARGV[3] .. id, '1', 'PX', ARGV[4], 'NX') then table.insert(ids, id) end
end
return ids`;

/** KEYS[1] the host+policy's last applied event time; ARGV: this event's time (ms), TTL (s). 1 = apply it. */
const MARK_LATEST = `
local last = redis.call('get', KEYS[1])
if last and tonumber(last) > tonumber(ARGV[1]) then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1`;

/**
 * Pointer and index changes that belong to one state transition, written in the same MULTI as the remediation.
 * `true` points the index at this remediation (adds it), `false` removes it; absent leaves it alone.
 */
export interface IndexChanges {
  /** {mw}:host:<hostId>:open */
  openForHost?: boolean;
  /** {mw}:owner:<email>:active */
  activeForOwner?: boolean;
  /** {mw}:owner:<email>:waiting */
  waiting?: boolean;
  /** Adds it to {mw}:booking:pending with this score (epoch ms), unless it is there already. */
  pendingSince?: number;
  /** `false` takes it off {mw}:booking:pending. */
  pending?: false;
}

/**
 * Where remediations and their indexes live. Every key starts with one prefix holding a Redis Cluster hash tag
 * (default "{mw}") so multi-key transactions stay on one slot.
 *
 *   {mw}:rem:<id>                 remediation JSON
 *   {mw}:rems                     zset of every remediation id, by creation time
 *   {mw}:host:<hostId>:open       id of the host's open remediation
 *   {mw}:host:<hostId>:rems       set of the host's remediation ids      {mw}:host:<hostId>:seq  id counter
 *   {mw}:owner:<email>:active     id of the owner's remediation being booked/booked/firing (one host at a time)
 *   {mw}:owner:<email>:waiting    zset of queued remediation ids, scored by host id (lowest first)
 *   {mw}:owner:<email>:rems       set of the owner's remediation ids
 *   {mw}:booking:pending          zset of remediation ids waiting for a slot, by enqueue time
 *   {mw}:booking:lease:<id>       a replica is booking it right now (PX lease)
 *   {mw}:booked                   zset of booked remediation ids, by window start (what the watcher watches)
 *   {mw}:firing                   zset of firing remediation ids, by fire time (what the stuck-delivery sweep checks)
 *   {mw}:seen:<event key>         ingest de-duplication marker (TTL)
 *   {mw}:host:<hostId>:policy:<policyId>:at   time of the last event applied for it (TTL; ordering)
 *   {mw}:tz:<email>               cached calendar time zone (TTL)
 *   {mw}:lock:<name>              short locks
 */
export class RemediationStore {
  readonly lock: RedisLock;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {
    this.lock = new RedisLock(redis);
  }

  key(...parts: Array<string | number>): string {
    return [this.prefix, ...parts].join(':');
  }

  /** Runs fn while holding the lock of one owner (or of an ownerless host): all their state changes go through it. */
  withOwnerLock<T>(lockName: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.withLock(this.key('lock', lockName), fn);
  }

  async get(id: string): Promise<Remediation | null> {
    const raw = await this.redis.get(this.key('rem', id));
    return raw ? (JSON.parse(raw) as Remediation) : null;
  }

  async getMany(ids: string[]): Promise<Remediation[]> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.key('rem', id)));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Remediation);
  }

  async nextId(hostId: number): Promise<string> {
    const seq = await this.redis.incr(this.key('host', hostId, 'seq'));
    return `h${hostId}-${seq}`;
  }

  /**
   * Saves the remediation, keeps the host/owner indexes true and applies the given pointer changes, all in one
   * MULTI: a daemon killed at any moment leaves either the old state or the new one, never half of a transition
   * (a retried job then finds a consistent state to continue from). Callers hold the owner's lock.
   */
  async save(r: Remediation, changes: IndexChanges = {}): Promise<void> {
    await this.saveAll([[r, changes]]);
  }

  /** Several remediations and their pointer changes in one MULTI (e.g. a close and the owner's hand-over). */
  async saveAll(writes: Array<[Remediation, IndexChanges]>): Promise<void> {
    const m = this.redis.multi();
    for (const [r, changes] of writes) this.queueSave(m, r, changes);
    const results = await m.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  private queueSave(m: ChainableCommander, r: Remediation, changes: IndexChanges): void {
    m.set(this.key('rem', r.id), JSON.stringify(r));
    m.zadd(this.key('rems'), Date.parse(r.createdAt), r.id);
    m.sadd(this.key('host', r.host.id, 'rems'), r.id);
    if (r.email) m.sadd(this.key('owner', r.email, 'rems'), r.id);
    if (r.status === 'booked' && r.start) m.zadd(this.key('booked'), Date.parse(r.start), r.id);
    else m.zrem(this.key('booked'), r.id);
    if (r.status === 'firing') m.zadd(this.key('firing'), Date.parse(r.firedAt ?? r.updatedAt), r.id);
    else m.zrem(this.key('firing'), r.id);
    if (changes.openForHost === true) m.set(this.key('host', r.host.id, 'open'), r.id);
    if (changes.openForHost === false) m.del(this.key('host', r.host.id, 'open'));
    if (r.email && changes.activeForOwner === true) m.set(this.key('owner', r.email, 'active'), r.id);
    if (r.email && changes.activeForOwner === false) m.del(this.key('owner', r.email, 'active'));
    if (r.email && changes.waiting === true) m.zadd(this.key('owner', r.email, 'waiting'), r.host.id, r.id);
    if (r.email && changes.waiting === false) m.zrem(this.key('owner', r.email, 'waiting'), r.id);
    if (changes.pendingSince !== undefined) m.zadd(this.key('booking', 'pending'), 'NX', changes.pendingSince, r.id);
    if (changes.pending === false) m.zrem(this.key('booking', 'pending'), r.id);
  }

  /** Booked remediations whose window starts up to `until` (epoch ms), earliest first. */
  async bookedUntil(until: number): Promise<Remediation[]> {
    return this.getMany(await this.redis.zrangebyscore(this.key('booked'), '-inf', until));
  }

  /** Every remediation whose webhook is being delivered. */
  async allFiring(): Promise<Remediation[]> {
    return this.getMany(await this.redis.zrange(this.key('firing'), '0', '-1'));
  }

  /** Every booked remediation, earliest first. */
  async allBooked(): Promise<Remediation[]> {
    return this.getMany(await this.redis.zrange(this.key('booked'), '0', '-1'));
  }

  async openForHost(hostId: number): Promise<Remediation | null> {
    const id = await this.redis.get(this.key('host', hostId, 'open'));
    return id ? this.get(id) : null;
  }

  async activeForOwner(email: string): Promise<string | null> {
    return this.redis.get(this.key('owner', email, 'active'));
  }

  async removeWaiting(email: string, id: string): Promise<void> {
    await this.redis.zrem(this.key('owner', email, 'waiting'), id);
  }

  /** The owner's next queued remediation (lowest host id); it stays queued until saved with `waiting: false`. */
  async firstWaiting(email: string): Promise<string | null> {
    const [first] = await this.redis.zrange(this.key('owner', email, 'waiting'), '0', '0');
    return first ?? null;
  }

  /**
   * Takes up to `limit` pending bookings due by `notAfter` (oldest first) for one booking round, each with a lease
   * ({mw}:booking:lease:<id>, `leaseMs`) in the same script, so other replicas skip it while this one books it.
   * Booked → removed; failed → deferred; the holder died → the lease runs out and it is next in line again.
   */
  async claimPendingBookings(limit: number, notAfter: number, leaseMs: number): Promise<string[]> {
    const leasePrefix = `${this.key('booking', 'lease')}:`;
    return (await this.redis.eval(CLAIM_PENDING, 1, this.key('booking', 'pending'), notAfter, limit, leasePrefix, leaseMs)) as string[];
  }

  /** Ends this round's lease early (the booking was made, deferred or dropped). */
  async releaseBookingLeases(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.del(...ids.map((id) => this.key('booking', 'lease', id)));
  }

  /** Puts a pending booking back to be retried no earlier than `at`. */
  async deferPendingBooking(id: string, at: number): Promise<void> {
    await this.redis.zadd(this.key('booking', 'pending'), 'XX', at, id);
  }

  async removePendingBooking(id: string): Promise<void> {
    await this.redis.zrem(this.key('booking', 'pending'), id);
  }

  async countPendingBookings(): Promise<number> {
    return this.redis.zcard(this.key('booking', 'pending'));
  }

  /**
   * Events of one host and policy are applied in the order they happened, whatever order the workers take them
   * in: true (and recorded) unless a later event for them was applied already.
   */
  async markLatestEvent(hostId: number, policyId: number, occurredAt: number, ttlSeconds: number): Promise<boolean> {
    const key = this.key('host', hostId, 'policy', policyId, 'at');
    return (await this.redis.eval(MARK_LATEST, 1, key, occurredAt, ttlSeconds)) === 1;
  }

  /** True the first time a key is seen within the TTL (ingest idempotency). */
  async markSeen(eventKey: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(this.key('seen', eventKey), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  async forgetSeen(eventKey: string): Promise<void> {
    await this.redis.del(this.key('seen', eventKey));
  }

  async cachedTimeZone(email: string): Promise<string | null> {
    return this.redis.get(this.key('tz', email));
  }

  async cacheTimeZone(email: string, zone: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key('tz', email), zone, 'EX', ttlSeconds);
  }

  /** Remediations filtered by host, owner and status, newest first. */
  async list(filter: { hostId?: number; email?: string; status?: RemediationStatus; limit?: number }): Promise<Remediation[]> {
    let ids: string[];
    if (filter.hostId !== undefined) ids = await this.redis.smembers(this.key('host', filter.hostId, 'rems'));
    else if (filter.email !== undefined) ids = await this.redis.smembers(this.key('owner', filter.email.toLowerCase(), 'rems'));
    else ids = await this.redis.zrevrange(this.key('rems'), 0, -1);
    const all = await this.getMany(ids);
    return all
      .filter((r) => filter.hostId === undefined || r.host.id === filter.hostId)
      .filter((r) => filter.email === undefined || r.email === filter.email.toLowerCase())
      .filter((r) => filter.status === undefined || r.status === filter.status)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id))
      .slice(0, filter.limit ?? 1000);
  }
}

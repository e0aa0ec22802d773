import type { ChainableCommander } from 'ioredis';
import type { RedisClient as Redis } from '../lib/redis-connection';
import type { EventDraft, LifecycleEvent } from '../domain/lifecycle-event';
import type { IndexChanges } from '../domain/remediation-lifecycle';
import { isOpen, OPEN_STATUSES, type Remediation, type RemediationStatus } from '../domain/remediation';
import type { RemediationRepository } from '../services/ports';
import { randomUUID } from 'node:crypto';
import { RedisLock } from './redis-lock';
import { compactKeys, expandKeys } from './compact-keys';
import { movedField } from './moved-field';
import { packJson, unpackJson } from './packed-json';
import { compareStreamIds, decodeHistoryEntry, decodeListCursor, encodeHistoryEntry, encodeListCursor, isAfter, matchesFeed, matchesList, newestFirst, toStoredEvent, type ListCursor } from './remediation-query';

export { compareStreamIds, decodeListCursor, InvalidCursorError } from './remediation-query';

export type { IndexChanges } from '../domain/remediation-lifecycle';

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

/** KEYS[1] armed windows zset; ARGV: due-by score, limit. Takes (removes and returns) the due ones, earliest first. */
const TAKE_DUE = `
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('zrem', KEYS[1], unpack(due)) end
return due`;

/**
 * KEYS[1] the global feed, KEYS[2..] each event's remediation history; ARGV[1] feed max length, then per event its
 * JSON and remediation id. Each event is kept once, in its history; its feed entry points at it (id + index).
 */
const APPEND_EVENTS = `
for k = 2, #KEYS do
  local n = redis.call('rpush', KEYS[k], ARGV[2 * k - 2])
  redis.call('xadd', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'r', ARGV[2 * k - 1], 'i', n - 1)
end
return #KEYS - 1`;

/** KEYS the lock keys; ARGV: token, TTL ms. Takes every free one; answers 1 (taken) or 0 per key. */
const TAKE_LOCKS = `
local taken = {}
for i, key in ipairs(KEYS) do
  if redis.call('set', key, ARGV[1], 'PX', ARGV[2], 'NX') then taken[i] = 1 else taken[i] = 0 end
end
return taken`;

/** KEYS the lock keys; ARGV: token. Releases the ones this token holds. */
const RELEASE_LOCKS = `
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then released = released + redis.call('del', key) end
end
return released`;

/**
 * KEYS[1] the host's hash, KEYS[2] the older layout's key of this host+policy; ARGV: the field ("at:<policyId>"),
 * this event's time (ms), now (ms), the time the record expires (ms). The field holds "<time>|<expires>".
 * 1 = apply it (and recorded): no later event of this host and policy was applied (within the record's life).
 */
const MARK_LATEST = `
local v = redis.call('hget', KEYS[1], ARGV[1])
local last, expires
if v then
  local bar = string.find(v, '|', 1, true)
  last = tonumber(string.sub(v, 1, bar - 1))
  expires = tonumber(string.sub(v, bar + 1))
else
  last = tonumber(redis.call('get', KEYS[2]) or '')
  expires = tonumber(ARGV[3]) + 1
end
if last and expires > tonumber(ARGV[3]) and last > tonumber(ARGV[2]) then return 0 end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[4])
redis.call('del', KEYS[2])
return 1`;

/**
 * KEYS[1] the owner's hash, KEYS[2] the owner's sorted set of ids · ARGV[1] a remediation id, ARGV[2] its creation
 * time, ARGV[3] OWNER_IDS_MAX. The owner's remediation ids live in the hash's `ids` field (space-separated)
 * while they fit in a compact hash value (Redis keeps a hash compact only while every value is at most 64 bytes);
 * the ones that do not fit go to the sorted set.
 */
const ADD_OWNER_ID = `
local ids = redis.call('hget', KEYS[1], 'ids')
if ids and string.find(' ' .. ids .. ' ', ' ' .. ARGV[1] .. ' ', 1, true) then return 0 end
local joined = ids and (ids .. ' ' .. ARGV[1]) or ARGV[1]
if #joined <= tonumber(ARGV[3]) then
  redis.call('hset', KEYS[1], 'ids', joined)
  return 1
end
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
return 2`;

/** KEYS[1] the host's hash, KEYS[2] the older layout's id counter: continued from, then removed. Returns the next. */
const NEXT_HOST_SEQ = `
local old = redis.call('get', KEYS[2])
if old then
  if tonumber(old) > tonumber(redis.call('hget', KEYS[1], 'seq') or '0') then redis.call('hset', KEYS[1], 'seq', old) end
  redis.call('del', KEYS[2])
end
return redis.call('hincrby', KEYS[1], 'seq', 1)`;

/** Longest `ids` field of an owner's hash (see ADD_OWNER_ID). */
const OWNER_IDS_MAX = 64;

/** TTL of a lock taken by withOwnerLocks (as RedisLock's): bounds the damage of a crashed holder. */
const LOCK_TTL_MS = 30_000;

/** A window ready to fire at its start: the remediation's booking and start it was looked at for. */
export interface ArmedWindow {
  remediationId: string;
  bookingNumber: number;
  start: string;
}

export function armedMember(w: ArmedWindow): string {
  return `${w.remediationId}|${w.bookingNumber}|${w.start}`;
}

export function parseArmedMember(member: string): ArmedWindow | null {
  const [remediationId, bookingNumber, start] = member.split('|');
  if (!remediationId || !start || !/^\d+$/.test(bookingNumber ?? '')) return null;
  return { remediationId, bookingNumber: Number(bookingNumber), start };
}

/** The default bound of the global feed (EVENT_FEED_MAX_LENGTH). */
export const DEFAULT_FEED_MAX_LENGTH = 100_000;

/** One remediation's new state, its pointer changes and the events its transition produced. */
export interface StateWrite {
  remediation: Remediation;
  /** The owner whose pointers the index changes are about, when the new state names none (an owner lost). */
  owner?: string;
  /** The status before this change (null: new): keeps the per-status counts true. */
  previousStatus?: RemediationStatus | null;
  index?: IndexChanges;
  events?: EventDraft[];
}

export interface FeedQuery {
  after?: string;
  limit: number;
  type?: string;
  hostId?: number;
  email?: string;
  /** Most entries read in one call (default: 10 × limit, at least 1000). */
  scan?: number;
}

/**
 * Where remediations and their indexes live. Every key starts with one prefix holding a Redis Cluster hash tag
 * (default "{mw}") so multi-key transactions stay on one slot.
 *
 *   {mw}:rem:<id>                 remediation JSON, property names as short codes (compact-keys.ts), packed
 *                                 (packed-json.ts: deflated against a preset dictionary, ~60 % smaller) except
 *                                 while firing (rewritten once delivered); records written before 2026-12 are
 *                                 plain JSON, some with the full names: read as they are
 *   {mw}:rems                     zset of the closed remediations' ids, by creation time (the open ones are in
 *                                 `{mw}:open`: listing every remediation reads both; a daemon before 2026-12 kept
 *                                 every id here, so an open one may be in both)
 *   {mw}:host:<hostId>            hash of the host's small state: `open` (id of its open remediation), `seq` (id
 *                                 counter), `at:<policyId>` (time of the last event applied for that policy)
 *                                 The host's remediation ids are `h<hostId>-1` … `h<hostId>-<seq>`: listing a host
 *                                 reads them from the counter. Daemons before 2026-12 also kept them in a set
 *                                 (`{mw}:host:<hostId>:rems`), then a sorted set (`…:rem-ids`): both still read.
 *   {mw}:owner:<email>            hash of the owner's small state: `active` (id of the remediation being
 *                                 booked/booked/firing: one host at a time), `tz` ("<zone>|<cached until, ms>"),
 *                                 `ids` (their first remediations' ids, space-separated), and
 *                                 the watch store's fields (watch-store.ts)
 *   {mw}:owner:<email>:waiting    zset of queued remediation ids, scored by host id (lowest first)
 *   {mw}:owner:<email>:rem-ids    zset of the owner's remediation ids that do not fit in the hash's `ids` field
 *                                 (space-separated, at most 64 bytes: see ADD_OWNER_ID); a daemon before 2026-12
 *                                 kept them all here, or in a set `…:rems`: both still read
 *   {mw}:booking:pending          zset of remediation ids waiting for a slot, by enqueue time
 *   {mw}:booking:lease:<id>       a replica is booking it right now (PX lease)
 *   {mw}:booked                   zset of booked remediation ids, by window start (what the watcher watches)
 *   {mw}:fire:armed               zset of windows whose last look is done, by start: "<id>|<bookingNumber>|<start>"
 *                                 (the fire loop takes the due ones and claims them together, see FireService)
 *   {mw}:fire:rank:<startMs>      counter of the windows booked at that start (spreads their last looks; expires)
 *   {mw}:firing                   zset of firing remediation ids, by fire time (what the stuck-delivery sweep checks)
 *   {mw}:open                     zset of open remediation ids, by creation time (what the Fleet sync re-checks)
 *   {mw}:fired-unchecked          zset of windows that fired and were not followed up in Fleet yet, by window end
 *                                 (kept only with FLEET_URL: REBOOK_AFTER_FIRE_MINUTES after the end, Fleet is asked)
 *   {mw}:rem:<id>:history         list of the remediation's events, oldest first (JSON arrays, see
 *                                 encodeHistoryEntry, packed as the record; entries written before 2026-12 are
 *                                 plain JSON: arrays, or the events' JSON objects)
 *   {mw}:status-counts            hash: remediations per status (for metrics)
 *   {mw}:events                   stream of every event, the global feed, trimmed to a length: each entry points at
 *                                 the event in its remediation's history (fields "r": id, "i": index), so every
 *                                 event is kept once (entries written before hold the JSON itself, field "e")
 *   {mw}:host:<hostId>:policy:<policyId>:at   time of the last event applied for it (TTL; ordering)
 *   {mw}:tz:<email>               cached calendar time zone (TTL)
 *   {mw}:lock:<name>              short locks
 */
/** A remediation as Redis keeps it: JSON with the recurring property names as codes (see compact-keys.ts). */
export function encodeRemediation(r: Remediation): string {
  return JSON.stringify(compactKeys(r));
}

export function decodeRemediation(raw: string): Remediation {
  return expandKeys(JSON.parse(raw)) as Remediation;
}

/** A remediation's value in Redis: its record packed (packed-json.ts), or plain JSON while firing. */
export function storedRemediation(r: Remediation): Buffer | string {
  const json = encodeRemediation(r);
  // A firing record lives until its delivery's outcome is stored (seconds, at worst the window's end) and is
  // rewritten then: packing it would put ~14 µs per window on the path to a burst's last webhook for nothing kept.
  return r.status === 'firing' ? json : packJson(json);
}

/** The remediation of a value in Redis: packed, or plain JSON (with or without property codes). */
export function readStoredRemediation(stored: Buffer | string): Remediation {
  return decodeRemediation(unpackJson(stored));
}

/** An event of `remediationId`'s history as Redis holds it: packed, or plain JSON (see decodeHistoryEntry). */
export function readStoredHistoryEntry(stored: Buffer | string, remediationId: string): LifecycleEvent {
  return decodeHistoryEntry(unpackJson(stored), remediationId);
}

export class RemediationStore implements RemediationRepository {
  readonly lock: RedisLock;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    /** The global feed keeps about this many events (XADD MAXLEN ~): see EVENT_FEED_MAX_LENGTH. */
    readonly feedMaxLength = DEFAULT_FEED_MAX_LENGTH,
    /** Keep {mw}:fired-unchecked (windows to follow up in Fleet after they fired): only when Fleet is configured. */
    readonly followUpFired = false,
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

  /**
   * Takes every lock of `lockNames` that is free right now (none is waited for), runs fn with the ones it holds,
   * then releases them: a burst of changes to many owners in one round trip instead of one lock each.
   */
  async withOwnerLocks<T>(lockNames: string[], fn: (held: ReadonlySet<string>) => Promise<T>): Promise<T> {
    const token = randomUUID();
    const names = [...new Set(lockNames)];
    if (names.length === 0) return fn(new Set());
    const keys = names.map((n) => this.key('lock', n));
    const taken = (await this.redis.eval(TAKE_LOCKS, keys.length, ...keys, token, LOCK_TTL_MS)) as number[];
    const held = new Set(names.filter((_, i) => taken[i] === 1));
    try {
      return await fn(held);
    } finally {
      const heldKeys = keys.filter((_, i) => taken[i] === 1);
      if (heldKeys.length > 0) await this.redis.eval(RELEASE_LOCKS, heldKeys.length, ...heldKeys, token);
    }
  }

  /** A window whose last look is done: the fire loop claims it at its start (with others starting then). */
  async armWindow(w: ArmedWindow): Promise<void> {
    await this.redis.zadd(this.key('fire', 'armed'), Date.parse(w.start), armedMember(w));
  }

  /** Takes (removes) up to `limit` armed windows starting by `dueBy`, earliest first: no other daemon gets them. */
  async takeArmedWindows(dueBy: number, limit: number): Promise<ArmedWindow[]> {
    const members = (await this.redis.eval(TAKE_DUE, 1, this.key('fire', 'armed'), dueBy, limit)) as string[];
    return members.map(parseArmedMember).filter((w): w is ArmedWindow => w !== null);
  }

  /**
   * The window's place among those booked to start at `startMs` (0 for the first): a counter per start, so windows
   * booked at the same moment get different places. It is not taken back when a window moves away (the places only
   * spread the last looks) and expires a day after the start.
   */
  async nextRankAt(startMs: number): Promise<number> {
    const key = this.key('fire', 'rank', startMs);
    // Kept until a day after the start (a day at least: a test or demo clock may run behind the start).
    const ttlMs = Math.max(0, startMs - Date.now()) + 86_400_000;
    const results = await this.redis.multi().incr(key).pexpire(key, ttlMs).exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
    return Number(results?.[0]?.[1]) - 1;
  }

  async get(id: string): Promise<Remediation | null> {
    const raw = await this.redis.getBuffer(this.key('rem', id));
    return raw ? readStoredRemediation(raw) : null;
  }

  async getMany(ids: string[]): Promise<Remediation[]> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mgetBuffer(ids.map((id) => this.key('rem', id)));
    return raws.filter((r): r is Buffer => r !== null).map(readStoredRemediation);
  }

  async nextId(hostId: number): Promise<string> {
    const seq = await this.nextHostSeq(hostId);
    return `h${hostId}-${seq}`;
  }

  /**
   * Saves remediations with their pointer changes AND appends the events their transitions produced (to each
   * remediation's history and to the global feed), all in one MULTI: a daemon killed at any moment leaves either
   * the old state or the new one with its events, never state and history disagreeing. Callers hold the owner's
   * lock. Returns the stored events.
   */
  async commit(writes: StateWrite[], occurredAt: number): Promise<LifecycleEvent[]> {
    const m = this.redis.multi();
    const stored: LifecycleEvent[] = [];
    const counts = new Map<RemediationStatus, number>();
    const histories: string[] = [];
    const appended: Array<Buffer | string> = [];
    for (const w of writes) {
      this.queueSave(m, w.remediation, w.index ?? {}, w.owner, w.previousStatus);
      if (w.previousStatus !== undefined && w.previousStatus !== w.remediation.status) {
        if (w.previousStatus) counts.set(w.previousStatus, (counts.get(w.previousStatus) ?? 0) - 1);
        counts.set(w.remediation.status, (counts.get(w.remediation.status) ?? 0) + 1);
      }
      for (const draft of w.events ?? []) {
        const event = toStoredEvent(w.remediation, draft, occurredAt);
        histories.push(this.key('rem', w.remediation.id, 'history'));
        appended.push(packJson(encodeHistoryEntry(event)), w.remediation.id);
        stored.push(event);
      }
    }
    for (const [status, delta] of counts) if (delta !== 0) m.hincrby(this.key('status-counts'), status, delta);
    if (histories.length > 0) m.eval(APPEND_EVENTS, histories.length + 1, this.key('events'), ...histories, this.feedMaxLength, ...appended);
    const results = await m.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
    return stored;
  }

  /** How many remediations are in each status (kept by commit; rebuilt by recountStatuses). */
  async statusCounts(): Promise<Partial<Record<RemediationStatus, number>>> {
    const raw = await this.redis.hgetall(this.key('status-counts'));
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }

  /**
   * Counts every remediation by status into {mw}:status-counts when that hash is missing (data written before the
   * counts existed). Run at start; commits made during the count may be off by their own change.
   */
  async recountStatusesIfMissing(): Promise<boolean> {
    if ((await this.redis.exists(this.key('status-counts'))) === 1) return false;
    const counts = new Map<string, number>();
    const count = async (ids: string[]) => {
      for (const r of await this.getMany(ids)) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    };
    let ids: string[] = [];
    for await (const entry of this.idsNewestFirst('+inf', 500)) {
      ids.push(entry.id);
      if (ids.length === 500) {
        await count(ids);
        ids = [];
      }
    }
    await count(ids);
    if (counts.size === 0) return false;
    await this.redis.hset(this.key('status-counts'), Object.fromEntries(counts));
    return true;
  }

  /** A remediation's events, oldest first. */
  async history(id: string): Promise<LifecycleEvent[]> {
    const raws = await this.redis.lrangeBuffer(this.key('rem', id, 'history'), 0, -1);
    return raws.map((raw) => readStoredHistoryEntry(raw, id));
  }

  /**
   * The global feed after `after` (a cursor from an earlier page; none = from the oldest kept), in order. Filters
   * are applied while reading; at most `scan` entries are read per call, so a rare filter answers fewer (even no)
   * events with a `next` cursor past what was read: following `next` never skips nor repeats an event.
   */
  async readFeed(opts: FeedQuery): Promise<{ events: LifecycleEvent[]; next: string | null }> {
    const scan = opts.scan ?? Math.max(1000, opts.limit * 10);
    const events: LifecycleEvent[] = [];
    let cursor = opts.after ?? null;
    let read = 0;
    while (events.length < opts.limit && read < scan) {
      const batch = Math.min(scan - read, Math.max(100, opts.limit));
      const start = cursor ? `(${cursor}` : '-';
      const entries = (await this.redis.xrange(this.key('events'), start, '+', 'COUNT', batch)) as Array<[string, string[]]>;
      if (entries.length === 0) break;
      const jsons = await this.feedEventJsons(entries.map(([, fields]) => fields));
      for (let k = 0; k < entries.length; k++) {
        read++;
        cursor = entries[k][0];
        // A reference whose history is gone (removed by hand) is passed over.
        const json = jsons[k];
        const event = json ? readStoredHistoryEntry(json.raw, json.remediationId) : null;
        if (event && matchesFeed(event, opts)) events.push(event);
        if (events.length >= opts.limit) break;
      }
      if (entries.length < batch) break;
    }
    return { events, next: cursor };
  }

  /** The events of feed entries: a reference ("r", "i") read from its remediation's history; older entries hold the JSON ("e"). */
  private async feedEventJsons(entries: string[][]): Promise<Array<{ raw: Buffer | string; remediationId: string } | null>> {
    const field = (fields: string[], name: string) => {
      for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
      return undefined;
    };
    const p = this.redis.pipeline();
    const pending: number[] = [];
    const refs: string[] = [];
    const out: Array<{ raw: Buffer | string; remediationId: string } | null> = entries.map((fields, k) => {
      const inline = field(fields, 'e');
      if (inline !== undefined) return { raw: inline, remediationId: '' };
      const r = field(fields, 'r');
      const i = field(fields, 'i');
      if (r === undefined || i === undefined) return null;
      p.lindexBuffer(this.key('rem', r, 'history'), Number(i));
      pending.push(k);
      refs.push(r);
      return null;
    });
    if (pending.length === 0) return out;
    const results = (await p.exec()) ?? [];
    pending.forEach((k, j) => {
      const [err, value] = results[j] ?? [];
      if (err) throw err;
      out[k] = value ? { raw: value as Buffer, remediationId: refs[j] } : null;
    });
    return out;
  }

  async feedPosition(cursor: string): Promise<'within' | 'trimmed' | 'ahead'> {
    const head = await this.feedHead();
    if (head !== null && compareStreamIds(cursor, head) > 0) return 'ahead';
    const [first] = (await this.redis.xrange(this.key('events'), '-', '+', 'COUNT', 1)) as Array<[string, string[]]>;
    // Older than the oldest kept: the events between it and the oldest were trimmed away.
    if (first && cursor !== '0-0' && compareStreamIds(cursor, first[0]) < 0) return 'trimmed';
    return 'within';
  }

  /** The cursor of the newest feed entry (null: empty), e.g. to start a consumer at "now". */
  async feedHead(): Promise<string | null> {
    const [last] = (await this.redis.xrevrange(this.key('events'), '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    return last ? last[0] : null;
  }

  /**
   * The remediation and the indexes its new state changes. With its previous status known (null: new), only the
   * indexes that status change can touch are written; unknown (undefined): every index, as for a new one.
   */
  private queueSave(m: ChainableCommander, r: Remediation, changes: IndexChanges, formerOwner?: string, previous?: RemediationStatus | null): void {
    const owner = r.email ?? formerOwner;
    const fresh = previous === undefined || previous === null;
    const was = (status: RemediationStatus) => previous === undefined || previous === status;
    const wasOpen = previous === undefined || (previous !== null && OPEN_STATUSES.has(previous));
    m.set(this.key('rem', r.id), storedRemediation(r));
    if (r.email && (fresh || formerOwner !== r.email)) m.eval(ADD_OWNER_ID, 2, this.key('owner', r.email), this.key('owner', r.email, 'rem-ids'), r.id, Date.parse(r.createdAt), OWNER_IDS_MAX);
    if (r.status === 'booked' && r.start) m.zadd(this.key('booked'), Date.parse(r.start), r.id);
    else if (was('booked')) m.zrem(this.key('booked'), r.id);
    if (r.status === 'firing') {
      if (previous !== 'firing') m.zadd(this.key('firing'), Date.parse(r.firedAt ?? r.updatedAt), r.id);
    } else if (was('firing')) m.zrem(this.key('firing'), r.id);
    // An open remediation is listed in `open`, a closed one in `rems` (see the layout above).
    const wasClosed = previous === undefined || (previous !== null && !OPEN_STATUSES.has(previous));
    if (isOpen(r)) {
      if (fresh || !wasOpen) m.zadd(this.key('open'), Date.parse(r.createdAt), r.id);
      if (wasClosed) m.zrem(this.key('rems'), r.id);
    } else {
      if (wasOpen) m.zrem(this.key('open'), r.id);
      if (fresh || wasOpen) m.zadd(this.key('rems'), Date.parse(r.createdAt), r.id);
    }
    if (this.followUpFired) {
      const unchecked = r.firedAt && r.end && !r.fleetFollowedUpAt && (r.status === 'firing' || r.status === 'fired' || r.status === 'delivery_failed');
      if (unchecked) m.zadd(this.key('fired-unchecked'), Date.parse(r.end as string), r.id);
      else m.zrem(this.key('fired-unchecked'), r.id);
    }
    // The pointers live in the host's and owner's hashes; the older layout's key (`…:open`, `…:active`) goes with
    // any change.
    if (changes.openForHost === true) m.hset(this.key('host', r.host.id), 'open', r.id).del(this.key('host', r.host.id, 'open'));
    if (changes.openForHost === false) m.hdel(this.key('host', r.host.id), 'open').del(this.key('host', r.host.id, 'open'));
    if (owner && changes.activeForOwner === true) m.hset(this.key('owner', owner), 'active', r.id).del(this.key('owner', owner, 'active'));
    if (owner && changes.activeForOwner === false) m.hdel(this.key('owner', owner), 'active').del(this.key('owner', owner, 'active'));
    if (owner && changes.waiting === true) m.zadd(this.key('owner', owner, 'waiting'), r.host.id, r.id);
    if (owner && changes.waiting === false) m.zrem(this.key('owner', owner, 'waiting'), r.id);
    if (changes.pendingSince !== undefined) m.zadd(this.key('booking', 'pending'), 'NX', changes.pendingSince, r.id);
    if (changes.pending === false) m.zrem(this.key('booking', 'pending'), r.id);
  }

  /**
   * Puts the open remediations stored before {mw}:open existed into it (once per key prefix: a marker key says it
   * was done). Returns how many were added.
   */
  async indexOpenRemediations(chunk = 500): Promise<number> {
    const marker = this.key('open', 'indexed');
    if (await this.redis.exists(marker)) return 0;
    let added = 0;
    for (let offset = 0; ; offset += chunk) {
      const ids = await this.redis.zrange(this.key('rems'), String(offset), String(offset + chunk - 1));
      if (ids.length === 0) break;
      const open = (await this.getMany(ids)).filter(isOpen);
      if (open.length > 0) added += await this.redis.zadd(this.key('open'), 'NX', ...open.flatMap((r) => [String(Date.parse(r.createdAt)), r.id]));
    }
    await this.redis.set(marker, new Date().toISOString());
    return added;
  }

  /**
   * Every remediation's id and creation time from `max` (a score, inclusive) down, newest first (creation time,
   * then id, both descending): the open ones (`open`) and the closed ones (`rems`) merged, each read `chunk` at a
   * time. An id in both (an older daemon kept every id in `rems`) comes once. Like any paging over a changing set, one
   * created or closed meanwhile may be missed or seen twice.
   */
  private async *idsNewestFirst(max: string, chunk: number): AsyncGenerator<ListCursor> {
    const closed = this.zsetNewestFirst(this.key('rems'), max, chunk);
    const open = this.zsetNewestFirst(this.key('open'), max, chunk);
    let a = await closed.next();
    let b = await open.next();
    let last: string | null = null;
    while (!a.done || !b.done) {
      let entry: ListCursor;
      if (b.done || (!a.done && (a.value.createdMs > b.value.createdMs || (a.value.createdMs === b.value.createdMs && a.value.id >= b.value.id)))) {
        entry = a.value as ListCursor;
        a = await closed.next();
      } else {
        entry = b.value;
        b = await open.next();
      }
      if (entry.id === last) continue;
      last = entry.id;
      yield entry;
    }
  }

  private async *zsetNewestFirst(key: string, max: string, chunk: number): AsyncGenerator<ListCursor> {
    for (let offset = 0; ; offset += chunk) {
      const raw = await this.redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', offset, chunk);
      for (let i = 0; i < raw.length; i += 2) yield { id: raw[i], createdMs: Number(raw[i + 1]) };
      if (raw.length < chunk * 2) return;
    }
  }

  /** Ids of every open remediation, oldest first (the Fleet sync's work list). */
  async openIds(): Promise<string[]> {
    return this.redis.zrange(this.key('open'), '0', '-1');
  }

  /** Windows that fired, ended by `endedBy` (epoch ms) and were not followed up in Fleet yet, earliest end first. */
  async firedUnchecked(endedBy: number, limit: number): Promise<Remediation[]> {
    return this.getMany(await this.redis.zrangebyscore(this.key('fired-unchecked'), '-inf', endedBy, 'LIMIT', 0, limit));
  }

  /** Every remediation whose webhook is being delivered. */
  async allFiring(): Promise<Remediation[]> {
    return this.getMany(await this.redis.zrange(this.key('firing'), '0', '-1'));
  }

  /**
   * A page of booked remediations, earliest first: `offset` counts from the first (a pass over them all goes page
   * by page, so 100,000 windows are never held at once; one booked or closed meanwhile may be missed or seen twice).
   */
  async bookedPage(offset: number, limit: number): Promise<Remediation[]> {
    return this.getMany(await this.redis.zrange(this.key('booked'), String(offset), String(offset + limit - 1)));
  }

  async openForHost(hostId: number): Promise<Remediation | null> {
    const id = await this.openIdForHost(hostId);
    return id ? this.get(id) : null;
  }

  async openIdForHost(hostId: number): Promise<string | null> {
    return movedField(this.redis, this.key('host', hostId), 'open', this.key('host', hostId, 'open'));
  }

  async activeForOwner(email: string): Promise<string | null> {
    return movedField(this.redis, this.key('owner', email), 'active', this.key('owner', email, 'active'));
  }

  /** Every id the host's counter has given (a remediation never saved, or removed, is simply not found). */
  private async hostRemediationIds(hostId: number): Promise<string[]> {
    const seq = Number((await this.redis.hget(this.key('host', hostId), 'seq')) ?? 0);
    return Array.from({ length: seq }, (_, i) => `h${hostId}-${i + 1}`);
  }

  /** The owner's remediation ids kept in their hash (the rest are in `…:rem-ids`, see ADD_OWNER_ID). */
  private async ownerRemediationIds(email: string): Promise<string[]> {
    const ids = await this.redis.hget(this.key('owner', email), 'ids');
    return ids ? ids.split(' ') : [];
  }

  /** The host's id counter (a daemon before 2026-12 kept it in `{mw}:host:<id>:seq`: it continues from there). */
  private async nextHostSeq(hostId: number): Promise<number> {
    return Number(await this.redis.eval(NEXT_HOST_SEQ, 2, this.key('host', hostId), this.key('host', hostId, 'seq')));
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
    const keys = [this.key('host', hostId), this.key('host', hostId, 'policy', policyId, 'at')];
    const now = Date.now();
    return (await this.redis.eval(MARK_LATEST, 2, ...keys, `at:${policyId}`, occurredAt, now, now + ttlSeconds * 1000)) === 1;
  }

  async cachedTimeZone(email: string): Promise<string | null> {
    const cached = await this.redis.hget(this.key('owner', email), 'tz');
    const at = cached?.lastIndexOf('|') ?? -1;
    if (!cached || at < 0) return null;
    return Number(cached.slice(at + 1)) > Date.now() ? cached.slice(0, at) : null;
  }

  async cacheTimeZone(email: string, zone: string, ttlSeconds: number): Promise<void> {
    await this.redis.hset(this.key('owner', email), 'tz', `${zone}|${Date.now() + ttlSeconds * 1000}`);
  }

  /**
   * Remediations filtered by host, owner, status, team, policy and window start, newest first (creation time, then
   * id), a page at a time: `cursor` continues after the last one of the previous page; `next` is null at the end.
   */
  async list(filter: ListFilter): Promise<{ remediations: Remediation[]; next: string | null }> {
    const limit = filter.limit ?? 100;
    const after = filter.cursor ? decodeListCursor(filter.cursor) : null;
    const keep = (r: Remediation) => matchesList(r, filter) && (!after || isAfter(r, after));
    let page: Remediation[];
    if (filter.hostId !== undefined || filter.email !== undefined) {
      const at = filter.hostId !== undefined ? ['host', filter.hostId] : ['owner', filter.email!.toLowerCase()];
      // An owner's ids are in their hash (ADD_OWNER_ID: those that do not fit, in `…:rem-ids`); a host's are its
      // counter's (h<host>-1 … h<host>-<seq>). Older daemons kept sets (`…:rems`), then sorted sets (`…:rem-ids`).
      const [ids, legacy, own] = await Promise.all([
        this.redis.zrange(this.key(...at, 'rem-ids'), '0', '-1'),
        this.redis.smembers(this.key(...at, 'rems')),
        filter.hostId !== undefined ? this.hostRemediationIds(filter.hostId) : this.ownerRemediationIds(filter.email!.toLowerCase()),
      ]);
      page = (await this.getMany([...new Set([...own, ...ids, ...legacy])])).filter(keep).sort(newestFirst).slice(0, limit + 1);
    } else {
      // Newest first from the cursor, a chunk at a time; a rare filter stops after `maxScan` entries and answers
      // what it found with a cursor past what it read, so no page costs a scan of every remediation.
      page = [];
      const chunk = Math.max(200, limit * 2);
      const maxScan = Math.max(5000, limit * 10);
      const entries = this.idsNewestFirst(after ? String(after.createdMs) : '+inf', chunk)[Symbol.asyncIterator]();
      let scanned = 0;
      let lastScanned: ListCursor | null = null;
      let exhausted = false;
      while (!exhausted && page.length <= limit && scanned < maxScan) {
        const ids: string[] = [];
        while (ids.length < chunk) {
          const next = await entries.next();
          if (next.done) {
            exhausted = true;
            break;
          }
          const entry = next.value;
          ids.push(entry.id);
          // Entries at or before the cursor (same time, higher id) were on earlier pages.
          if (!after || entry.createdMs < after.createdMs || entry.id < after.id) lastScanned = entry;
        }
        scanned += ids.length;
        page.push(...(await this.getMany(ids)).filter(keep));
      }
      if (exhausted) lastScanned = null;
      page = page.sort(newestFirst).slice(0, limit + 1);
      if (page.length <= limit && lastScanned) {
        // Scanned as far as allowed without filling the page: continue from the last entry read.
        return { remediations: page, next: encodeListCursor(lastScanned) };
      }
    }
    const more = page.length > limit;
    const remediations = page.slice(0, limit);
    const last = remediations[remediations.length - 1];
    return { remediations, next: more && last ? encodeListCursor(last) : null };
  }
}

export interface ListFilter {
  hostId?: number;
  email?: string;
  status?: RemediationStatus;
  teamId?: number;
  policyId?: number;
  /** Windows starting at or after (epoch ms). */
  from?: number;
  /** Windows starting before (epoch ms). */
  to?: number;
  limit?: number;
  cursor?: string;
}


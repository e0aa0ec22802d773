import type { WatchRepository } from '../services/ports';
import type { EchoCounts, EchoLedger } from '../services/own-write-echoes';
import type { RedisClient as Redis } from '../lib/redis-connection';
import { movedField, movedFields } from './moved-field';

/** A subscription ("push channel") we opened on one owner's calendar. */
export interface ChannelRecord {
  /** The subscription's id (Google: the channel id the adapter chose; Graph: the subscription id). */
  channelId: string;
  /** What it watches, as the provider names it (Google: the resource id). */
  resource: string;
  owner: string;
  /** Random secret every notification must carry (X-Goog-Channel-Token; Graph: clientState). */
  token: string;
  /** Epoch ms. */
  expiration: number;
  /** The provider asked for a renewal (Graph's reauthorizationRequired): the next channel round renews it now. */
  renewRequested?: boolean;
}

/** How long the echo counts of one calendar live without a sync taking them. */
const ECHO_TTL_MS = 120_000;

/**
 * KEYS[1] the owner's echo counts · ARGV[1] ttl ms · Returns [writes, notifications, full, taken] and clears them,
 * leaving the mark `taken` (for ttl): a later sync whose notification these counts held knows it was read.
 */
const TAKE_ECHOES = `
local v = redis.call('HMGET', KEYS[1], 'writes', 'notifications', 'full', 'taken')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'taken', 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return {tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0}
`;

/**
 * KEYS[1] the owner's echo counts · KEYS[2] the owner's hash · KEYS[3] the older layout's channel pointer ·
 * ARGV[1] ttl ms. A write is an echo to expect only while the calendar is watched: without a channel nothing is
 * notified.
 */
const OWN_WRITE = `
if redis.call('HEXISTS', KEYS[2], 'channel') == 0 and redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'writes', 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
`;

/** KEYS[1] the owner's echo counts · One write fewer, never below none. */
const OWN_WRITE_FAILED = `
local writes = tonumber(redis.call('HGET', KEYS[1], 'writes') or '0')
if writes > 0 then redis.call('HINCRBY', KEYS[1], 'writes', -1) end
return writes
`;

/**
 * A channel as Redis keeps it: `[channelId, resource, owner, token, expiration]`, and 1 when a renewal was asked for
 * (one per watched owner: the property names were a third of it).
 */
export function encodeChannelRecord(c: ChannelRecord): string {
  return JSON.stringify([c.channelId, c.resource, c.owner, c.token, c.expiration, ...(c.renewRequested ? [1] : [])]);
}

/**
 * A stored channel: the array form, or the JSON object daemons before 2026-12 wrote. Records written before the port
 * was provider-neutral name the resource `resourceId`: they are read as `resource`, so an upgraded daemon keeps
 * verifying, renewing and stopping the channels it opened.
 */
export function parseChannelRecord(raw: string): ChannelRecord {
  const stored = JSON.parse(raw) as unknown;
  if (Array.isArray(stored)) {
    const [channelId, resource, owner, token, expiration, renew] = stored as [string, string, string, string, number, number?];
    return { channelId, resource, owner, token, expiration, ...(renew ? { renewRequested: true } : {}) };
  }
  const { resourceId, ...record } = stored as ChannelRecord & { resourceId?: string };
  return { ...record, resource: record.resource ?? resourceId ?? '' };
}

/**
 * Calendar-watching state, under the same prefix as the remediations:
 *
 *   {mw}:channel:<channelId>          the channel (encodeChannelRecord; every channel we opened and have not stopped)
 *   {mw}:channels                     zset of channel ids by expiration
 *   {mw}:owner:<email>                the owner's hash (shared with the remediation store): `channel` (id of the
 *                                     owner's current channel, the newest), `sync` (the calendar's incremental-sync
 *                                     token), `synced` (epoch ms of the last sync). A daemon before 2026-12 kept
 *                                     each in a key of its own (`…:channel`, `…:sync-token`, `…:synced-at`): read
 *                                     while the hash has none, removed when the field is written.
 *   {mw}:owner:<email>:echoes         our writes and the notifications since the last sync (own-write-echoes.ts;
 *                                     hash of writes, notifications, full, and `taken` once a sync took them; two
 *                                     minutes)
 *
 * It survives restarts: a restarted daemon keeps verifying and renewing the channels it opened.
 */
export class WatchStore implements WatchRepository, EchoLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  async saveChannel(c: ChannelRecord): Promise<void> {
    await this.redis
      .multi()
      .set(this.key('channel', c.channelId), encodeChannelRecord(c))
      .zadd(this.key('channels'), c.expiration, c.channelId)
      .hset(this.key('owner', c.owner), 'channel', c.channelId)
      .del(this.key('owner', c.owner, 'channel'))
      .exec();
  }

  async channel(channelId: string): Promise<ChannelRecord | null> {
    const raw = await this.redis.get(this.key('channel', channelId));
    return raw ? parseChannelRecord(raw) : null;
  }

  async currentChannel(owner: string): Promise<ChannelRecord | null> {
    const [current] = await this.currentChannels([owner]);
    return current;
  }

  async currentChannels(owners: string[]): Promise<Array<ChannelRecord | null>> {
    const ids = await this.currentChannelIds(owners);
    const wanted = ids.filter((id): id is string => id !== null);
    if (wanted.length === 0) return ids.map(() => null);
    const raws = await this.redis.mget(wanted.map((id) => this.key('channel', id)));
    const records = new Map(wanted.map((id, i) => [id, raws[i]]));
    return ids.map((id) => {
      const raw = id === null ? null : records.get(id);
      return raw ? parseChannelRecord(raw) : null;
    });
  }

  /** One pipeline for all the owners: their hash's `channel` field, or the older layout's key (as ownerField). */
  currentChannelIds(owners: string[]): Promise<Array<string | null>> {
    return movedFields(this.redis, owners.map((o) => this.key('owner', o)), 'channel', owners.map((o) => this.key('owner', o, 'channel')));
  }

  /** Forgets a channel (after channels.stop, or once expired); the owner's pointer only if it still names it. */
  async removeChannel(c: ChannelRecord): Promise<void> {
    await this.redis.multi().del(this.key('channel', c.channelId)).zrem(this.key('channels'), c.channelId).exec();
    const current = await this.ownerField(c.owner, 'channel', 'channel');
    if (current === c.channelId) await this.redis.multi().hdel(this.key('owner', c.owner), 'channel').del(this.key('owner', c.owner, 'channel')).exec();
  }

  async channelPage(offset: number, limit: number): Promise<ChannelRecord[]> {
    const ids = await this.redis.zrange(this.key('channels'), String(offset), String(offset + limit - 1));
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.key('channel', id)));
    return raws.filter((r): r is string => r !== null).map(parseChannelRecord);
  }

  async syncToken(owner: string): Promise<string | null> {
    return this.ownerField(owner, 'sync', 'sync-token');
  }

  async setSyncToken(owner: string, token: string | null): Promise<void> {
    const m = this.redis.multi();
    if (token) m.hset(this.key('owner', owner), 'sync', token);
    else m.hdel(this.key('owner', owner), 'sync');
    await m.del(this.key('owner', owner, 'sync-token')).exec();
  }

  async lastSync(owner: string): Promise<number> {
    return Number((await this.ownerField(owner, 'synced', 'synced-at')) ?? 0);
  }

  async markSynced(owner: string, at: number): Promise<void> {
    await this.redis.multi().hset(this.key('owner', owner), 'synced', String(at)).del(this.key('owner', owner, 'synced-at')).exec();
  }

  /** A field of the owner's hash, or (not moved yet) the older layout's key `{mw}:owner:<email>:<legacySuffix>`. */
  private ownerField(owner: string, field: string, legacySuffix: string): Promise<string | null> {
    return movedField(this.redis, this.key('owner', owner), field, this.key('owner', owner, legacySuffix));
  }

  async ownWrite(owner: string): Promise<void> {
    await this.redis.eval(OWN_WRITE, 3, this.key('owner', owner, 'echoes'), this.key('owner', owner), this.key('owner', owner, 'channel'), ECHO_TTL_MS);
  }

  async ownWriteFailed(owner: string): Promise<void> {
    await this.redis.eval(OWN_WRITE_FAILED, 1, this.key('owner', owner, 'echoes'));
  }

  notification(owner: string): Promise<void> {
    return this.bumpEchoes(owner, 'notifications');
  }

  fullSyncNeeded(owner: string): Promise<void> {
    return this.bumpEchoes(owner, 'full');
  }

  async take(owner: string): Promise<EchoCounts> {
    const [writes, notifications, full, taken] = (await this.redis.eval(TAKE_ECHOES, 1, this.key('owner', owner, 'echoes'), ECHO_TTL_MS)) as number[];
    return { writes, notifications, full: full > 0, takenBefore: taken > 0 };
  }

  private async bumpEchoes(owner: string, field: string): Promise<void> {
    const key = this.key('owner', owner, 'echoes');
    await this.redis.multi().hincrby(key, field, 1).pexpire(key, ECHO_TTL_MS).exec();
  }
}

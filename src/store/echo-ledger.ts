import type { RedisClient as Redis } from '../lib/redis-connection';
import type { EchoCounts, EchoLedger } from '../services/own-write-echoes';

/** How long the counts of one calendar live without a sync taking them. */
const TTL_MS = 120_000;

/** KEYS[1] the owner's counts · Returns [writes, notifications, full] and deletes them. */
const TAKE = `
local v = redis.call('HMGET', KEYS[1], 'writes', 'notifications', 'full')
redis.call('DEL', KEYS[1])
return {tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0}
`;

/**
 * KEYS[1] the owner's counts · KEYS[2] the owner's channel pointer (WatchStore) · ARGV[1] ttl ms.
 * A write is an echo to expect only while the calendar is watched: without a channel nothing is notified.
 */
const OWN_WRITE = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'writes', 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
`;

/** `{mw}:owner:<email>:echoes`: a hash of writes, notifications and full (see own-write-echoes.ts). */
export class RedisEchoLedger implements EchoLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(owner: string): string {
    return `${this.prefix}:owner:${owner}:echoes`;
  }

  private async bump(owner: string, field: string): Promise<void> {
    await this.redis.multi().hincrby(this.key(owner), field, 1).pexpire(this.key(owner), TTL_MS).exec();
  }

  async ownWrite(owner: string): Promise<void> {
    await this.redis.eval(OWN_WRITE, 2, this.key(owner), `${this.prefix}:owner:${owner}:channel`, TTL_MS);
  }

  notification(owner: string): Promise<void> {
    return this.bump(owner, 'notifications');
  }

  fullSyncNeeded(owner: string): Promise<void> {
    return this.bump(owner, 'full');
  }

  async take(owner: string): Promise<EchoCounts> {
    const [writes, notifications, full] = (await this.redis.eval(TAKE, 1, this.key(owner))) as number[];
    return { writes, notifications, full: full > 0 };
  }
}

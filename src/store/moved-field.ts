import type { RedisClient as Redis } from '../lib/redis-connection';

/**
 * A field of an owner's or host's hash. A daemon before 2026-12 kept it in a key of its own (`legacyKey`): that
 * key is read while the hash has no such field (the field's next write moves it and deletes the key). One round
 * trip on an auto-pipelined connection.
 */
export async function movedField(redis: Redis, hashKey: string, field: string, legacyKey: string): Promise<string | null> {
  const [value, legacy] = await Promise.all([redis.hget(hashKey, field), redis.get(legacyKey)]);
  return value ?? legacy;
}

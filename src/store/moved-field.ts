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

/** movedField for many at once (`hashKeys[i]` with `legacyKeys[i]`): one pipeline, answers in the same order. */
export async function movedFields(redis: Redis, hashKeys: string[], field: string, legacyKeys: string[]): Promise<Array<string | null>> {
  if (hashKeys.length === 0) return [];
  const p = redis.pipeline();
  hashKeys.forEach((key, i) => p.hget(key, field).get(legacyKeys[i]));
  const results = (await p.exec()) ?? [];
  return hashKeys.map((_, i) => {
    const [hashErr, value] = results[2 * i] ?? [null, null];
    const [legacyErr, legacy] = results[2 * i + 1] ?? [null, null];
    if (hashErr || legacyErr) throw hashErr ?? legacyErr;
    return ((value ?? legacy) as string | null) ?? null;
  });
}

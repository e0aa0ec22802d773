import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Every key under a prefix with a digest of its value (Redis DUMP): two equal snapshots = nothing changed. */
export type RedisSnapshot = Map<string, string>;

export async function snapshotPrefix(redis: Redis, prefix: string): Promise<RedisSnapshot> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.dumpBuffer(key);
  const dumps = (await pipeline.exec()) ?? [];
  const snapshot: RedisSnapshot = new Map();
  keys.forEach((key, i) => {
    const value = dumps[i]?.[1] as Buffer | null;
    if (value) snapshot.set(key, createHash('sha256').update(value).digest('hex'));
  });
  return snapshot;
}

/** The keys added, removed or changed between two snapshots (empty: the state is the same). */
export function changedKeys(before: RedisSnapshot, after: RedisSnapshot): string[] {
  const changed = [...after].filter(([key, digest]) => before.get(key) !== digest).map(([key]) => key);
  const removed = [...before.keys()].filter((key) => !after.has(key));
  return [...changed, ...removed].sort();
}

/** Deletes the keys under a prefix (e.g. one queue's, to start the next fuzz run from an empty queue). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

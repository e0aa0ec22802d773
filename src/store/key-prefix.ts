import { Cluster } from 'ioredis';
import type { RedisClient as Redis } from '../lib/redis-connection';

/**
 * Deletes every key under `<prefix>:` (SCAN + UNLINK, in batches); returns how many went. On a Cluster every
 * primary is scanned (SCAN sees one node's keys); the prefix's hash tag keeps each batch on one slot.
 */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<number> {
  if (redis instanceof Cluster) {
    let removed = 0;
    for (const node of redis.nodes('master')) removed += await deleteKeysUnder(node, prefix);
    return removed;
  }
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysUnder } from '../../src/store/key-prefix';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** A key prefix no other test (or daemon) uses; the hash tag keeps it Cluster-safe like production. */
export function uniquePrefix(label: string): string {
  return `{mwt-${label}-${randomBytes(4).toString('hex')}}`;
}

/** Deletes every key under the prefix (tests clean up after themselves). */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    await deleteKeysUnder(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

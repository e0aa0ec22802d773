import type { Redis } from 'ioredis';

export interface PrefixMemory {
  keys: number;
  bytes: number;
  /** Bytes and key counts by key shape (ids replaced by `*`), largest first. */
  byShape: { shape: string; keys: number; bytes: number }[];
}

/** Every key under `<prefix>:` with its MEMORY USAGE (SAMPLES 0: every element counted), grouped by shape. */
export async function prefixMemory(redis: Redis, prefix: string): Promise<PrefixMemory> {
  const keys: string[] = [];
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 2000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const shapes = new Map<string, { keys: number; bytes: number }>();
  let bytes = 0;
  for (let i = 0; i < keys.length; i += 1000) {
    const slice = keys.slice(i, i + 1000);
    const pipeline = redis.pipeline();
    for (const k of slice) pipeline.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    const results = (await pipeline.exec()) ?? [];
    slice.forEach((k, j) => {
      const used = Number(results[j]?.[1] ?? 0);
      bytes += used;
      const shape = shapeOf(k.slice(prefix.length + 1));
      const s = shapes.get(shape) ?? { keys: 0, bytes: 0 };
      s.keys++;
      s.bytes += used;
      shapes.set(shape, s);
    });
  }
  const byShape = [...shapes].map(([shape, s]) => ({ shape, ...s })).sort((a, b) => b.bytes - a.bytes);
  return { keys: keys.length, bytes, byShape };
}

/** `rem:h42-1:history` → `rem:*:history`; BullMQ job hashes `fires:fire-…` → `fires:*`. */
function shapeOf(rest: string): string {
  return rest
    .split(':')
    .map((part) => (/^\d+$/.test(part) || (/\d/.test(part) && part.length > 3) || part.includes('@') ? '*' : part))
    .join(':');
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

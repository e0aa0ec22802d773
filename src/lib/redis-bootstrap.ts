import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from './logger';

/** Redis is needed and none could be found or started; the message says what to do. */
export class RedisUnavailableError extends Error {
  readonly code = 'REDIS_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * For the out-of-the-box experience: when REDIS_URL is unset and nothing answers on 127.0.0.1:6379, start
 * `redis-server` from PATH with its data in ./.data/redis (append-only file, so state survives restarts).
 * Returns the child process (stopped with the daemon), or null when a Redis already answers.
 */
export async function ensureLocalRedis(url: string, logger: Logger, dataDir = resolve('.data/redis')): Promise<ChildProcess | null> {
  if (await redisAnswers(url)) return null;
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) {
    throw new RedisUnavailableError(
      `no Redis answers at ${url} and redis-server is not on PATH: install Redis 6.2+ (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL`,
    );
  }
  const port = new URL(url).port || '6379';
  mkdirSync(dataDir, { recursive: true });
  logger.info({ port, dataDir }, 'no Redis answered: starting redis-server');
  const child = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes', '--save', ''], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(url, 300)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new RedisUnavailableError(`started redis-server on port ${port} but it does not answer`);
}
